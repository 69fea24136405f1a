import { describe, expect, it } from 'vitest';
import { Datapath } from '../../src/datapath/datapath.js';
import { NormalSwitch } from '../../src/datapath/learning/normal.js';
import { PacketPool } from '../../src/packet/pool.js';
import { VNET_F_DATA_VALID, VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4 } from '../../src/packet/vnet.js';
import { MemoryPort } from '../../src/ports/memory-port.js';
import { PortStat } from '../../src/datapath/port-counters.js';
import { BCAST, udpFrame, udpPseudo } from '../helpers/frames.js';
import { obtainGc } from '../helpers/gc.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const C = '02:00:00:00:00:0c';

function setup(n = 3, opts: { vnet?: boolean[]; agingSec?: number } = {}) {
  const dp = new Datapath({ pool: new PacketPool({ slots: 256 }), burst: 32 });
  const normal = new NormalSwitch({ agingSec: opts.agingSec ?? 300 });
  dp.pipeline = normal;
  const ports: MemoryPort[] = [];
  for (let i = 0; i < n; i++) {
    const p = new MemoryPort({ name: `m${i + 1}`, ofPort: i + 1, vnetHdr: opts.vnet?.[i] ?? true });
    dp.addPort(p);
    ports.push(p);
  }
  const send = (i: number, ...frames: Uint8Array[]) => {
    for (const f of frames) ports[i].inject(f);
    ports[i].wake();
  };
  const taken = () => ports.map((p) => p.sent.splice(0).map((s) => s.frame));
  return { dp, normal, ports, send, taken };
}

describe('standalone learning switch', () => {
  it('floods unknown unicast to every other port, then sends known unicast only to its port', () => {
    const { send, taken, ports, dp } = setup();
    const ab = udpFrame(B, A);
    send(0, ab);
    let out = taken();
    expect(out[0]).toHaveLength(0); // never back out of the in port
    expect(out[1]).toEqual([ab]);
    expect(out[2]).toEqual([ab]);

    const ba = udpFrame(A, B);
    send(1, ba);
    out = taken();
    expect(out).toEqual([[ba], [], []]); // A was learned on port 1

    send(0, ab);
    out = taken();
    expect(out).toEqual([[], [ab], []]); // B was learned on port 2; the third host sees nothing
    expect(dp.port(3)!.counters.c[PortStat.TxFrames]).toBe(1); // only the first flood
    expect(ports[2].txFrames).toBe(1);
  });

  it('floods broadcast and multicast even when the source is known', () => {
    const { send, taken } = setup(4);
    const bc = udpFrame(BCAST, A);
    const mc = udpFrame('01:00:5e:00:00:fb', A);
    send(0, bc, mc);
    expect(taken()).toEqual([[], [bc, mc], [bc, mc], [bc, mc]]);
  });

  it('drops a frame whose destination was learned on its in port', () => {
    const { send, taken, dp } = setup();
    send(0, udpFrame(BCAST, A), udpFrame(BCAST, B)); // A and B both behind port 1
    taken();
    send(0, udpFrame(B, A));
    expect(taken()).toEqual([[], [], []]);
    expect(dp.port(1)!.counters.c[PortStat.FwdDropped]).toBe(1);
  });

  it('follows a MAC that moves to another port', () => {
    const { send, taken } = setup();
    send(0, udpFrame(BCAST, A));
    send(2, udpFrame(BCAST, A)); // A moved to port 3
    taken();
    const ba = udpFrame(A, B);
    send(1, ba);
    expect(taken()).toEqual([[], [], [ba]]);
  });

  it('learns per VLAN', () => {
    const { send, taken } = setup();
    send(0, udpFrame(BCAST, A, { vlan: 10 }));
    taken();
    const to10 = udpFrame(A, B, { vlan: 10 });
    const to20 = udpFrame(A, B, { vlan: 20 });
    send(1, to10, to20);
    expect(taken()).toEqual([[to10, to20], [], [to20]]);
  });

  it('forgets a MAC after aging and floods again', () => {
    const { send, taken, dp, normal } = setup(3, { agingSec: 1 });
    send(0, udpFrame(BCAST, A));
    taken();
    expect(normal.macs.size).toBe(1);
    dp.tick(performance.now() + 1500);
    expect(normal.macs.size).toBe(0);
    const ba = udpFrame(A, B);
    send(1, ba);
    expect(taken()).toEqual([[ba], [], [ba]]);
  });

  it('decides every frame of a burst by its own header when the frames before it share theirs', () => {
    const { send, taken, normal } = setup();
    send(1, udpFrame(BCAST, B), udpFrame(BCAST, B, { vlan: 10 })); // B behind port 2, untagged and in VLAN 10
    send(2, udpFrame(BCAST, C)); // C behind port 3
    taken();
    const ab = udpFrame(B, A);
    const ac = udpFrame(C, A);
    const db = udpFrame(B, '02:00:00:00:00:0d'); // another source, same destination
    const ab20 = udpFrame(B, A, { vlan: 20 }); // same MACs, a VLAN where B is unknown
    const ab10 = udpFrame(B, A, { vlan: 10 });
    send(0, ab, ab, ac, ac, ab, db, db, ab20, ab20, ab10, ab10);
    expect(taken()).toEqual([[], [ab, ab, ab, db, db, ab20, ab20, ab10, ab10], [ac, ac, ab20, ab20]]);
    const now = performance.now();
    expect(normal.macs.size).toBe(7); // B (VLANs 0 and 10), C, and on port 1: A (VLANs 0, 20, 10) and D
    for (const [vlan, mac] of [[0, 0x02000000000a], [20, 0x02000000000a], [10, 0x02000000000a], [0, 0x02000000000d]]) {
      expect(normal.macs.lookup(vlan, mac, now)).toBe(1);
    }
  });

  it('forgets the MACs of a removed port', () => {
    const { send, taken, dp, normal } = setup();
    send(2, udpFrame(BCAST, C));
    taken();
    dp.removePort(3);
    expect(normal.macs.size).toBe(0);
    const ac = udpFrame(C, A);
    send(0, ac);
    expect(taken()).toEqual([[], [ac], []]);
  });
});

describe('frames and counters', () => {
  it('forwards the original bytes, whatever their length, and counts them', () => {
    const { send, taken, dp } = setup(2);
    const frames = [60, 64, 65, 128, 1514].map((size, i) => udpFrame(B, A, { size, sport: i }));
    send(0, ...frames);
    const out = taken();
    expect(out[1]).toEqual(frames);
    const rx = dp.port(1)!.counters.c;
    const tx = dp.port(2)!.counters.c;
    const bytes = frames.reduce((a, f) => a + f.length, 0);
    expect(rx[PortStat.RxFrames]).toBe(5);
    expect(rx[PortStat.RxBytes]).toBe(bytes);
    expect(rx[PortStat.RxWakeups]).toBe(1);
    expect(tx[PortStat.TxFrames]).toBe(5);
    expect(tx[PortStat.TxBytes]).toBe(bytes);
    expect(tx[PortStat.TxKicks]).toBe(1);
    expect(tx[PortStat.TxKickFramesMax]).toBe(5);
  });

  it('drains several bursts per wakeup and records frames per wakeup', () => {
    const { send, taken, dp } = setup(2);
    const frames = Array.from({ length: 100 }, (_, i) => udpFrame(B, A, { sport: i }));
    send(0, ...frames);
    expect(taken()[1]).toHaveLength(100);
    const c = dp.port(1)!.counters.c;
    expect(c[PortStat.RxWakeups]).toBe(1);
    expect(c[PortStat.RxBursts]).toBe(4); // 32 + 32 + 32 + 4
    expect(c[PortStat.RxWakeupFramesMax]).toBe(100);
    expect(c[PortStat.SlotsFreed]).toBe(100);
    expect(dp.pool.inUse).toBe(0);
  });

  it('counts and drops frames too short for Ethernet, keeps forwarding the rest', () => {
    const { send, taken, dp } = setup(2);
    const ok = udpFrame(B, A);
    send(0, new Uint8Array(3), ok, new Uint8Array(13));
    expect(taken()).toEqual([[], [ok]]);
    const c = dp.port(1)!.counters.c;
    expect(c[PortStat.RxMalformed]).toBe(2);
    expect(c[PortStat.FwdDropped]).toBe(2);
  });

  it('counts frames the egress queue refused as queue-full drops', () => {
    const { ports, send, dp } = setup(2);
    ports[1].txLimit = 3;
    send(0, ...Array.from({ length: 10 }, (_, i) => udpFrame(B, A, { sport: i })));
    const c = dp.port(2)!.counters.c;
    expect(c[PortStat.TxFrames]).toBe(3);
    expect(c[PortStat.TxDropQueueFull]).toBe(7);
    expect(dp.pool.inUse).toBe(0);
  });
});

describe('checksum and segmentation offload', () => {
  function partialUdp(): { frame: Uint8Array; vnet: Uint8Array; good: Uint8Array } {
    const good = udpFrame(B, A, { size: 200 });
    const frame = good.slice();
    // CHECKSUM_PARTIAL as the kernel hands it over: the field holds the folded pseudo-header sum.
    const ps = udpPseudo(frame.subarray(14));
    frame[14 + 26] = ps >> 8;
    frame[14 + 27] = ps & 0xff;
    const vnet = new Uint8Array(10);
    vnet[0] = VNET_F_NEEDS_CSUM;
    vnet[6] = 34; // csum_start: the UDP header
    vnet[8] = 6; // csum_offset: the UDP checksum field
    return { frame, vnet, good };
  }

  it('passes offload state through to a port that takes it and completes the checksum for one that does not', () => {
    const { ports, dp } = setup(3, { vnet: [true, true, false] });
    const { frame, vnet, good } = partialUdp();
    ports[0].inject(frame, vnet);
    ports[0].wake();
    // Flooded: port 2 (vnet) and port 3 (no vnet). The software checksum is done in place,
    // so whichever is queued after it sees a complete checksum too; both must be valid.
    const toVnet = ports[1].sent[0];
    const toPlain = ports[2].sent[0];
    expect(toPlain.frame).toEqual(good);
    expect(dp.port(3)!.counters.c[PortStat.TxCsumSoftware]).toBe(1);
    if (toVnet.vnet[0] & VNET_F_NEEDS_CSUM) {
      expect(toVnet.frame).toEqual(frame);
      expect(toVnet.vnet).toEqual(vnet);
    } else {
      expect(toVnet.vnet[0] & VNET_F_DATA_VALID).toBe(VNET_F_DATA_VALID);
      expect(toVnet.frame).toEqual(good);
    }
  });

  it('hands a vnet port the untouched partial frame and header', () => {
    const { ports } = setup(2);
    const { frame, vnet } = partialUdp();
    ports[0].inject(frame, vnet);
    ports[0].wake();
    expect(ports[1].sent[0].frame).toEqual(frame);
    expect(ports[1].sent[0].vnet).toEqual(vnet);
  });

  it('drops a GSO super-frame towards a port without offload and counts why', () => {
    const { ports, dp } = setup(3, { vnet: [true, true, false] });
    const big = udpFrame(B, A, { size: 1514 });
    const vnet = new Uint8Array(10);
    vnet[1] = VNET_GSO_TCPV4;
    ports[0].inject(big, vnet);
    ports[0].wake();
    expect(ports[1].sent).toHaveLength(1);
    expect(ports[2].sent).toHaveLength(0);
    expect(dp.port(3)!.counters.c[PortStat.TxDropGso]).toBe(1);
  });

  it('drops frames longer than a port without GSO takes', () => {
    const { ports, dp } = setup(2, { vnet: [true, false] });
    ports[0].inject(new Uint8Array(2000).fill(0xee).map((v, i) => (i < 6 ? 0xff : v)));
    ports[0].wake();
    expect(ports[1].sent).toHaveLength(0);
    expect(dp.port(2)!.counters.c[PortStat.TxDropMtu]).toBe(1);
  });
});

describe('allocation', () => {
  it('keeps the heap flat over many bursts', () => {
    const gc = obtainGc();
    const dp = new Datapath({ pool: new PacketPool({ slots: 256 }), burst: 32 });
    dp.pipeline = new NormalSwitch();
    const src = new MemoryPort({ name: 'src', ofPort: 1, capture: false });
    const dst = new MemoryPort({ name: 'dst', ofPort: 2, capture: false });
    dp.addPort(src);
    dp.addPort(dst);
    src.setGenerator(Array.from({ length: 64 }, (_, i) => udpFrame(B, `02:00:00:00:01:${(i + 16).toString(16)}`)));
    dst.setGenerator([udpFrame('02:00:00:00:01:10', B)]);
    dst.offer(1);
    dp.pollPort(dp.port(2)!);
    const run = (bursts: number) => {
      for (let i = 0; i < bursts; i++) {
        src.offer(32);
        dp.pollPort(dp.port(1)!);
      }
    };
    run(5000);
    gc();
    const before = process.memoryUsage().heapUsed;
    run(20000);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(dst.txFrames).toBe(25000 * 32);
    expect(grown).toBeLessThan(512 * 1024);
  });
});

describe('busy-poll mode', () => {
  it('forwards without wakeups from the ports, counts only polls that found frames, and stops', async () => {
    const dp = new Datapath({ pool: new PacketPool({ slots: 256 }), burst: 32, busyPoll: true });
    dp.pipeline = new NormalSwitch();
    const a = new MemoryPort({ name: 'a', ofPort: 1 });
    const b = new MemoryPort({ name: 'b', ofPort: 2 });
    dp.addPort(a);
    dp.addPort(b);
    const f = udpFrame(B, A);
    a.inject(f); // no wake(): the spin loop must find it
    for (let i = 0; i < 20 && b.sent.length === 0; i++) await new Promise((r) => setImmediate(r));
    expect(b.sent.map((s) => s.frame)).toEqual([f]);
    expect(dp.port(1)!.counters.c[PortStat.RxWakeups]).toBe(1);
    expect(dp.port(2)!.counters.c[PortStat.RxWakeups]).toBe(0);
    dp.stop();
    await new Promise((r) => setImmediate(r));
    a.inject(f);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(b.sent).toHaveLength(1);
  });
});
