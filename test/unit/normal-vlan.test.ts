/*
 * The learning switch's VLANs (access and trunk ports, OVS tag/trunks): who
 * receives a frame, in which form (tag pushed or popped), what is dropped and
 * counted, offload state across a push, and no allocation per frame.
 */

import { describe, expect, it } from 'vitest';
import { Datapath } from '../../src/datapath/datapath.js';
import { NormalSwitch } from '../../src/datapath/learning/normal.js';
import { PortVlan, portVlanOf } from '../../src/datapath/learning/vlan.js';
import { PortStat } from '../../src/datapath/port-counters.js';
import { PacketPool } from '../../src/packet/pool.js';
import { VNET_F_NEEDS_CSUM } from '../../src/packet/vnet.js';
import { MemoryPort } from '../../src/ports/memory-port.js';
import { BCAST, udpFrame, udpPseudo } from '../helpers/frames.js';
import { obtainGc } from '../helpers/gc.js';
import { apply, inPort, out, setup as ofSetup } from '../helpers/of-harness.js';
import { OFPP } from '../../src/openflow/codec/v13/enums.js';
import { createSwitchMetrics } from '../../src/stats/metrics.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const C = '02:00:00:00:00:0c';
const D = '02:00:00:00:00:0d';

/** `frame` with an 802.1Q tag (VID, PCP) inserted after the MACs. */
function tagged(frame: Uint8Array, vid: number, pcp = 0): Uint8Array {
  const t = new Uint8Array(frame.length + 4);
  t.set(frame.subarray(0, 12), 0);
  t.set([0x81, 0x00, (pcp << 5) | (vid >> 8), vid & 0xff], 12);
  t.set(frame.subarray(12), 16);
  return t;
}

/** Ports 1..n with the given VLAN configuration (null: none). */
function setup(vlans: Array<PortVlan | null>, opts: { vnet?: boolean[]; slots?: number } = {}) {
  const dp = new Datapath({ pool: new PacketPool({ slots: opts.slots ?? 256 }), burst: 32 });
  const normal = new NormalSwitch();
  dp.pipeline = normal;
  const ports = vlans.map((v, i) => {
    const p = new MemoryPort({ name: `m${i + 1}`, ofPort: i + 1, vnetHdr: opts.vnet?.[i] ?? true });
    dp.addPort(p).vlan = v;
    return p;
  });
  const send = (i: number, frame: Uint8Array, vnet?: Uint8Array) => {
    ports[i].inject(frame, vnet);
    ports[i].wake();
  };
  const taken = () => ports.map((p) => p.sent.splice(0).map((s) => s.frame));
  const counter = (i: number, stat: PortStat) => dp.port(i + 1)!.counters.c[stat];
  return { dp, normal, ports, send, taken, counter };
}

const access = (vid: number) => PortVlan.access(vid);
const trunk = (...vids: number[]) => PortVlan.trunk(vids);

describe('PortVlan', () => {
  it('holds one VLAN for an access port and the listed ones for a trunk', () => {
    expect(access(10).access).toBe(10);
    expect(access(10).vlans()).toEqual([10]);
    expect(trunk(20, 10).access).toBe(-1);
    expect(trunk(20, 10).vlans()).toEqual([10, 20]);
    expect(String(access(10))).toBe('vlan=10');
    expect(String(trunk(20, 10))).toBe('trunks=10,20');
  });

  it('refuses ids outside 1..4094, an empty trunk, and vlan with trunks', () => {
    expect(() => access(0)).toThrow(/1 to 4094/);
    expect(() => access(4095)).toThrow(/1 to 4094/);
    expect(() => trunk()).toThrow(/at least one VLAN/);
    expect(() => portVlanOf({ vlan: 10, trunks: [20] })).toThrow(/not both/);
    expect(portVlanOf({})).toBeNull();
    expect(portVlanOf({ trunks: [5] })!.vlans()).toEqual([5]);
  });
});

describe('access ports', () => {
  it('forward between ports of one VLAN untagged; another VLAN sees neither unicast nor broadcast', () => {
    const { send, taken } = setup([access(10), access(10), access(20)]);
    send(0, udpFrame(BCAST, A));
    expect(taken()).toEqual([[], [udpFrame(BCAST, A)], []]);
    send(1, udpFrame(A, B)); // A known on port 1 in VLAN 10
    expect(taken()).toEqual([[udpFrame(A, B)], [], []]);
    send(2, udpFrame(BCAST, C));
    expect(taken()).toEqual([[], [], []]);
    send(2, udpFrame(A, C)); // A is not known in VLAN 20: flooded there, to no one
    expect(taken()).toEqual([[], [], []]);
  });

  it('drop a frame tagged with a VLAN and count it', () => {
    const { send, taken, counter } = setup([access(10), access(10)]);
    send(0, udpFrame(BCAST, A, { vlan: 10 }));
    send(0, udpFrame(BCAST, A, { vlan: 20 }));
    expect(taken()).toEqual([[], []]);
    expect(counter(0, PortStat.VlanDropped)).toBe(2);
    expect(counter(0, PortStat.FwdFlooded)).toBe(0);
  });

  it('take a priority-tagged frame (VID 0) into their VLAN, the PCP kept towards a trunk', () => {
    const { send, taken, counter } = setup([access(10), access(10), trunk(10)]);
    const plain = udpFrame(BCAST, A);
    send(0, tagged(plain, 0, 5));
    const got = taken();
    expect(got[1]).toEqual([plain]);
    expect(got[2]).toEqual([tagged(plain, 10, 5)]);
    expect(counter(0, PortStat.VlanDropped)).toBe(0);
  });
});

describe('trunk ports', () => {
  it('pop the tag towards an access port of the frame VLAN and keep it towards trunks', () => {
    const { send, taken } = setup([trunk(10, 20), access(10), access(20), trunk(10), null]);
    const plain = udpFrame(BCAST, A);
    send(0, tagged(plain, 10, 3));
    expect(taken()).toEqual([[], [plain], [], [tagged(plain, 10, 3)], [tagged(plain, 10, 3)]]);
    send(0, tagged(plain, 20));
    expect(taken()).toEqual([[], [], [plain], [], [tagged(plain, 20)]]);
  });

  it('drop untagged frames and VLANs they do not carry, counted (also in /metrics)', async () => {
    const { send, taken, counter, dp, normal } = setup([trunk(10, 20), access(30), null]);
    send(0, udpFrame(BCAST, A));
    send(0, udpFrame(BCAST, A, { vlan: 30 }));
    expect(taken()).toEqual([[], [], []]);
    expect(counter(0, PortStat.VlanDropped)).toBe(2);
    const text = await createSwitchMetrics({ datapath: dp, normal, datapathId: 1n, version: 'test' }).scrape();
    expect(text).toContain('linc_port_vlan_dropped_total{port="1",name="m1"} 2\n');
    expect(text).toContain('linc_port_vlan_dropped_total{port="2",name="m2"} 0\n');
  });

  it('get frames from an access port tagged with its VLAN', () => {
    const { send, taken } = setup([access(10), trunk(10, 20), null, access(10)]);
    const plain = udpFrame(BCAST, A);
    send(0, plain);
    // One copy for both tagged outputs; the access port gets the frame as received.
    expect(taken()).toEqual([[], [tagged(plain, 10)], [tagged(plain, 10)], [plain]]);
  });

  it('learn per VLAN: a MAC known in VLAN 10 is unknown in VLAN 20', () => {
    const { send, taken, normal } = setup([trunk(10, 20), access(10), access(20)]);
    send(1, udpFrame(BCAST, B)); // B learned on port 2, VLAN 10
    taken();
    send(0, tagged(udpFrame(B, A), 10));
    expect(taken()).toEqual([[], [udpFrame(B, A)], []]);
    send(0, tagged(udpFrame(B, A), 20));
    expect(taken()).toEqual([[], [], [udpFrame(B, A)]]); // flooded in VLAN 20
    const vlans = normal.macs.entries(performance.now()).map((e) => [e.vlan, e.port]);
    expect(vlans).toContainEqual([10, 2]);
    expect(vlans).toContainEqual([10, 1]);
    expect(vlans).toContainEqual([20, 1]);
  });

  it('send known unicast from an access port to a trunk with the tag pushed', () => {
    const { send, taken } = setup([access(10), trunk(10), access(10)]);
    send(1, tagged(udpFrame(BCAST, B), 10)); // B on the trunk, VLAN 10
    taken();
    send(0, udpFrame(B, A));
    expect(taken()).toEqual([[], [tagged(udpFrame(B, A), 10)], []]);
  });
});

describe('changing a port\'s VLANs', () => {
  it('forgets the MACs learned on the port, and only when the membership changes', () => {
    const { dp, send, taken, normal } = setup([access(10), access(10), access(20)]);
    send(1, udpFrame(BCAST, B));
    taken();
    normal.setPortVlan(dp.port(2)!, access(10)); // the same: B stays known
    send(0, udpFrame(B, A));
    expect(taken()).toEqual([[], [udpFrame(B, A)], []]);
    normal.setPortVlan(dp.port(2)!, access(20));
    expect(dp.port(2)!.vlan!.access).toBe(20);
    expect(normal.macs.entries(performance.now()).map((e) => e.port)).toEqual([1]); // B forgotten, A kept
    send(0, udpFrame(B, A)); // unknown now, and port 2 is no longer in VLAN 10
    expect(taken()).toEqual([[], [], []]);
    normal.setPortVlan(dp.port(2)!, null);
    expect(dp.port(2)!.vlan).toBeNull();
  });
});

describe('ports without VLAN configuration', () => {
  it('forward every frame with the tags it has (the behaviour before VLANs)', () => {
    const { send, taken, counter } = setup([null, null, null]);
    const f10 = udpFrame(BCAST, A, { vlan: 10 });
    send(0, f10);
    send(0, udpFrame(BCAST, A));
    expect(taken()).toEqual([[], [f10, udpFrame(BCAST, A)], [f10, udpFrame(BCAST, A)]]);
    expect(counter(0, PortStat.VlanDropped)).toBe(0);
  });

  it('reach an access port only for frames tagged with its VLAN, popped', () => {
    const { send, taken } = setup([null, access(10), access(20)]);
    const plain = udpFrame(BCAST, A);
    send(0, plain); // VLAN 0: no access port is in it
    send(0, tagged(plain, 10));
    expect(taken()).toEqual([[], [plain], []]);
  });
});

describe('offload state across a tag push', () => {
  function partialUdp(): { frame: Uint8Array; vnet: Uint8Array; good: Uint8Array } {
    const good = udpFrame(BCAST, A, { size: 200 });
    const frame = good.slice();
    const ps = udpPseudo(frame.subarray(14));
    frame[14 + 26] = ps >> 8;
    frame[14 + 27] = ps & 0xff;
    const vnet = new Uint8Array(10);
    vnet[0] = VNET_F_NEEDS_CSUM;
    vnet[6] = 34; // csum_start: the UDP header
    vnet[8] = 6; // csum_offset
    return { frame, vnet, good };
  }

  it('moves csum_start with the tag towards a vnet trunk', () => {
    const { ports, send } = setup([access(10), trunk(10)]);
    const { frame, vnet } = partialUdp();
    send(0, frame, vnet);
    const got = ports[1].sent[0];
    expect(got.frame).toEqual(tagged(frame, 10));
    expect(got.vnet[0] & VNET_F_NEEDS_CSUM).toBe(VNET_F_NEEDS_CSUM);
    expect(got.vnet[6] | (got.vnet[7] << 8)).toBe(38);
    expect(got.vnet[8]).toBe(6);
  });

  it('completes the checksum of a tagged frame for a trunk without offload', () => {
    const { ports, send, dp } = setup([access(10), trunk(10)], { vnet: [true, false] });
    const { frame, vnet, good } = partialUdp();
    send(0, frame, vnet);
    expect(ports[1].sent[0].frame).toEqual(tagged(good, 10));
    expect(dp.port(2)!.counters.c[PortStat.TxCsumSoftware]).toBe(1);
  });

  it('moves csum_start back with a pop', () => {
    const { ports, send } = setup([trunk(10), access(10)]);
    const { frame, vnet } = partialUdp();
    const v = vnet.slice();
    v[6] = 38;
    send(0, tagged(frame, 10), v);
    expect(ports[1].sent[0].frame).toEqual(frame);
    expect(ports[1].sent[0].vnet[6]).toBe(34);
  });
});

describe('pool and heap', () => {
  it('gives every clone back: the pool is full again after floods in both forms', () => {
    const { dp, send, taken } = setup([access(10), trunk(10), null, access(10)]);
    const free = dp.pool.free;
    for (let i = 0; i < 50; i++) {
      send(0, udpFrame(BCAST, A));
      send(1, tagged(udpFrame(BCAST, B), 10));
    }
    expect(taken().map((f) => f.length)).toEqual([50, 50, 100, 100]);
    expect(dp.pool.free).toBe(free);
  });

  it('counts a frame it cannot copy for lack of a pool slot as dropped', () => {
    // 64 slots, 63 taken away: rx gets the last one and the flood cannot clone it.
    const { dp, ports, taken, counter } = setup([access(10), trunk(10), access(10)], { slots: 64 });
    const hog = new Int32Array(63);
    expect(dp.pool.allocBurst(hog, 63)).toBe(63);
    ports[0].inject(udpFrame(BCAST, A));
    ports[0].wake();
    const got = taken();
    expect(got[2]).toEqual([udpFrame(BCAST, A)]); // as-is output first
    expect(got[1]).toEqual([]); // the tagged copy had no slot
    expect(counter(0, PortStat.FwdDropped)).toBe(1);
    dp.pool.releaseBurst(hog, 0, 63);
  });

  it('keeps the heap flat while pushing and popping tags', () => {
    const gc = obtainGc();
    const dp = new Datapath({ pool: new PacketPool({ slots: 256 }), burst: 32 });
    dp.pipeline = new NormalSwitch();
    const src = new MemoryPort({ name: 'src', ofPort: 1, capture: false });
    const dst = new MemoryPort({ name: 'dst', ofPort: 2, capture: false });
    dp.addPort(src).vlan = access(10);
    dp.addPort(dst).vlan = trunk(10);
    src.setGenerator(Array.from({ length: 64 }, (_, i) => udpFrame(D, `02:00:00:00:01:${(i + 16).toString(16)}`)));
    dst.setGenerator([tagged(udpFrame('02:00:00:00:01:10', D), 10)]);
    dst.offer(1);
    dp.pollPort(dp.port(2)!);
    const run = (bursts: number) => {
      for (let i = 0; i < bursts; i++) {
        src.offer(32);
        dp.pollPort(dp.port(1)!);
        dst.offer(1);
        dp.pollPort(dp.port(2)!);
      }
    };
    run(5000);
    gc();
    const before = process.memoryUsage().heapUsed;
    run(20000);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(dst.txFrames).toBe(25000 * 32);
    expect(src.txFrames).toBe(25001); // the first reply was flooded back before D was learned
    expect(grown).toBeLessThan(512 * 1024);
  });
});

describe('the NORMAL action of an OpenFlow flow', () => {
  it('applies the VLANs on a copy: the actions after it see the frame unchanged', () => {
    const h = ofSetup(3);
    h.dp.port(1)!.vlan = access(10);
    h.dp.port(2)!.vlan = trunk(10);
    h.dp.port(3)!.vlan = access(20);
    h.flow({ match: [inPort(1)], instructions: [apply(out(OFPP.NORMAL), out(3))] });
    const plain = udpFrame(BCAST, A);
    h.send(0, plain);
    // NORMAL: VLAN 10 only, tagged towards the trunk; output:3 then sends the frame as received.
    expect(h.taken()).toEqual([[], [tagged(plain, 10)], [plain]]);
  });

  it('drops what the in port refuses, counted', () => {
    const h = ofSetup(2);
    h.dp.port(1)!.vlan = access(10);
    h.flow({ match: [inPort(1)], instructions: [apply(out(OFPP.NORMAL))] });
    h.send(0, udpFrame(BCAST, A, { vlan: 30 }));
    expect(h.taken()).toEqual([[], []]);
    expect(h.dp.port(1)!.counters.c[PortStat.VlanDropped]).toBe(1);
  });
});
