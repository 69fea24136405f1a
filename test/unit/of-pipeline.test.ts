/*
 * The OpenFlow pipeline over MemoryPorts: frames go exactly where the
 * installed flows say (priorities, goto-table, metadata, the action set and
 * its order, clear-actions), the exact-match cache never outlives a change,
 * counters are right on cache hits too, and the forwarding path does not
 * allocate.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PipelineStat } from '../../src/datapath/rules/actions-exec.js';
import { EmcStat } from '../../src/datapath/rules/emc.js';
import { FlowCounter, TableCounter } from '../../src/datapath/rules/flow-table.js';
import { OFPFC, OFPP, OFPR } from '../../src/openflow/codec/v13/enums.js';
import { PortStat } from '../../src/datapath/port-counters.js';
import { BCAST, udpFrame } from '../helpers/frames.js';
import { apply, fm, gotoTable, heapGrowthForwarding, inPort, layout, loadFrame, macNum, out, setField, setup, write, type Harness } from '../helpers/of-harness.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const C = '02:00:00:00:00:0c';

describe('flow tables decide', () => {
  it('drops everything with no flows (OpenFlow 1.3 table miss) and counts it', () => {
    const h = setup();
    h.send(0, udpFrame(B, A), udpFrame(B, A, { sport: 7 }));
    expect(h.taken()).toEqual([[], [], []]);
    expect(h.sw.pipeline.stats[PipelineStat.TableMissDrops]).toBe(2);
    expect(h.dp.port(1)!.counters.c[PortStat.FwdDropped]).toBe(2);
    expect(h.sw.tables.tables[0].counters[TableCounter.Lookups]).toBe(2);
    expect(h.sw.tables.tables[0].counters[TableCounter.Matched]).toBe(0);
  });

  it('sends frames where the highest-priority matching flow says', () => {
    const h = setup();
    h.flow({ priority: 10, match: [inPort(1)], instructions: [apply(out(2))] });
    h.flow({ priority: 20, match: [inPort(1), { field: 'eth_dst', value: macNum(C) }], instructions: [apply(out(3))] });
    const toB = udpFrame(B, A);
    const toC = udpFrame(C, A);
    h.send(0, toB, toC, toB);
    expect(h.taken()).toEqual([[], [toB, toB], [toC]]);
    h.send(1, toB); // no flow for in_port 2
    expect(h.taken()).toEqual([[], [], []]);
  });

  it('walks goto-table with metadata written on the way and matched later', () => {
    const h = setup(3, { megaflow: false });
    h.flow({ tableId: 0, match: [inPort(1)], instructions: [{ type: 'write_metadata', metadata: 0x1234n, metadataMask: 0xffffn }, gotoTable(3)] });
    h.flow({ tableId: 0, match: [inPort(2)], instructions: [{ type: 'write_metadata', metadata: 0x9999n, metadataMask: 0xffffn }, gotoTable(3)] });
    h.flow({ tableId: 3, match: [{ field: 'metadata', value: 0x1234n }], instructions: [apply(out(3))] });
    h.flow({ tableId: 3, match: [{ field: 'metadata', value: 0x9999n }], instructions: [apply(out(1))] });
    const f = udpFrame(B, A);
    for (let round = 0; round < 2; round++) {
      // The second round is served by the exact-match cache: same answer.
      h.send(0, f);
      h.send(1, f);
      expect(h.taken()).toEqual([[f], [], [f]]);
    }
    expect(h.sw.pipeline.emc.stats[EmcStat.Hits]).toBe(2);
    expect(h.sw.tables.tables[3].counters[TableCounter.Matched]).toBe(4);
  });

  it('runs the action set in the spec order at the end, and only if nothing cleared it', () => {
    const h = setup();
    // Written in reverse order: output first, then set-field, then push_vlan. The set runs push, set, output.
    h.flow({
      tableId: 0, match: [inPort(1)],
      instructions: [write(out(2), setField({ field: 'vlan_vid', value: 0x1000 | 42 }), { type: 'push_vlan', ethertype: 0x8100 }), gotoTable(1)],
    });
    h.flow({ tableId: 1, match: [], priority: 0, instructions: [apply(out(3))] });
    const f = udpFrame(B, A);
    h.send(0, f);
    const got = h.taken();
    expect(got[2]).toEqual([f]); // apply-actions of table 1 runs on the untagged frame
    expect(got[1]).toHaveLength(1);
    const tagged = got[1][0];
    expect(tagged.length).toBe(f.length + 4);
    expect([...tagged.subarray(12, 16)]).toEqual([0x81, 0x00, 0x00, 42]);
    expect(tagged.subarray(16)).toEqual(f.subarray(12));
  });

  it('clear-actions empties the action set written by earlier tables', () => {
    const h = setup();
    h.flow({ tableId: 0, match: [inPort(1)], instructions: [write(out(2)), gotoTable(1)] });
    h.flow({ tableId: 1, match: [{ field: 'eth_dst', value: macNum(C) }], instructions: [{ type: 'clear_actions' }, write(out(3))] });
    h.flow({ tableId: 1, match: [], priority: 0, instructions: [] });
    const toC = udpFrame(C, A);
    const toB = udpFrame(B, A);
    h.send(0, toC, toB);
    expect(h.taken()).toEqual([[], [toB], [toC]]);
  });

  it('a group in the action set wins over its output', () => {
    const h = setup();
    expect(h.sw.groupMod({ type: 'group_mod', xid: 0, command: 0, groupType: 0, groupId: 5, buckets: [{ weight: 0, watchPort: OFPP.ANY, watchGroup: 0xffffffff, actions: [out(3)] }] })).toBeNull();
    h.flow({ match: [inPort(1)], instructions: [write(out(2), { type: 'group', groupId: 5 })] });
    const f = udpFrame(B, A);
    h.send(0, f);
    expect(h.taken()).toEqual([[], [], [f]]);
  });

  it('counts packets and bytes per flow and per table on cache hits as on walks', () => {
    const h = setup(3, { megaflow: false });
    h.flow({ tableId: 0, match: [inPort(1)], instructions: [gotoTable(1)] });
    h.flow({ tableId: 1, match: [], priority: 0, instructions: [apply(out(2))] });
    const f = udpFrame(B, A, { size: 100 });
    h.clock.now = 5000;
    h.send(0, f, f, f, f);
    const [e0] = h.sw.tables.tables[0].list();
    const [e1] = h.sw.tables.tables[1].list();
    expect(e0.counters[FlowCounter.Packets]).toBe(4);
    expect(e0.counters[FlowCounter.Bytes]).toBe(400);
    expect(e1.counters[FlowCounter.Packets]).toBe(4);
    expect(e1.counters[FlowCounter.LastHitMs]).toBe(5000);
    expect(h.sw.tables.tables[1].counters[TableCounter.Lookups]).toBe(4);
    expect(h.sw.pipeline.emc.stats[EmcStat.Hits]).toBe(3);
    expect(h.sw.pipeline.stats[PipelineStat.Walks]).toBe(1);
  });

  it('never lets a cached decision survive a flow-mod, a delete, a group change or a timeout', () => {
    const h = setup();
    const f = udpFrame(B, A);
    h.flow({ match: [inPort(1)], instructions: [apply(out(2))] });
    h.send(0, f, f);
    expect(h.taken()[1]).toHaveLength(2);
    // A higher-priority flow: the very next frame must follow it.
    h.flow({ priority: 0x9000, match: [inPort(1)], instructions: [apply(out(3))] });
    h.send(0, f);
    expect(h.taken()).toEqual([[], [], [f]]);
    // Modify the instructions of the flow that wins.
    expect(h.sw.flowMod(fm({ command: OFPFC.MODIFY_STRICT, priority: 0x9000, match: [inPort(1)], instructions: [apply(out(2), out(3))] }))).toBeNull();
    h.send(0, f);
    expect(h.taken()).toEqual([[], [f], [f]]);
    // Delete it: back to the lower-priority flow.
    expect(h.sw.flowMod(fm({ command: OFPFC.DELETE_STRICT, priority: 0x9000, match: [inPort(1)] }))).toBeNull();
    h.send(0, f);
    expect(h.taken()).toEqual([[], [f], []]);
    // Hard timeout.
    h.flow({ priority: 0x9000, match: [inPort(1)], hardTimeout: 1, instructions: [apply(out(3))] });
    h.send(0, f);
    expect(h.taken()[2]).toHaveLength(1);
    h.clock.now += 1500;
    h.sw.tick();
    h.send(0, f);
    expect(h.taken()).toEqual([[], [f], []]);
  });

  it('caches one program per path, not per microflow', () => {
    const h = setup(3, { megaflow: false });
    h.flow({ tableId: 0, match: [inPort(1)], instructions: [gotoTable(1)] });
    h.flow({ tableId: 1, match: [], priority: 0, instructions: [apply(out(2))] });
    h.send(0, ...Array.from({ length: 20 }, (_, i) => udpFrame(B, A, { sport: 1000 + i })));
    expect(h.taken()[1]).toHaveLength(20);
    expect(h.sw.pipeline.stats[PipelineStat.Walks]).toBe(20);
    expect(h.sw.pipeline.programCount).toBe(1);
  });

  it('works the same with the exact-match cache off', () => {
    const h = setup(3, { emc: 0 });
    h.flow({ tableId: 0, match: [inPort(1)], instructions: [{ type: 'write_metadata', metadata: 7n, metadataMask: 0xffn }, gotoTable(2)] });
    h.flow({ tableId: 2, match: [{ field: 'metadata', value: 7n, mask: 0xffn }], instructions: [apply(out(3))] });
    const f = udpFrame(B, A);
    h.send(0, f, f, f);
    expect(h.taken()[2]).toEqual([f, f, f]);
    expect(h.sw.pipeline.emc.stats[EmcStat.Hits] + h.sw.pipeline.emc.stats[EmcStat.Misses]).toBe(0);
    expect(h.sw.pipeline.stats[PipelineStat.Walks]).toBe(3);
  });

  it('re-parses the frame for later tables when an earlier table rewrote it', () => {
    const h = setup(3, { megaflow: false });
    // Table 0 tags with VLAN 7 and goes to table 1, which matches on that VLAN.
    h.flow({ tableId: 0, match: [inPort(1)], instructions: [apply({ type: 'push_vlan', ethertype: 0x8100 }, setField({ field: 'vlan_vid', value: 0x1007 })), gotoTable(1)] });
    h.flow({ tableId: 1, match: [{ field: 'vlan_vid', value: 0x1007 }], instructions: [apply(out(2))] });
    h.flow({ tableId: 1, match: [], priority: 0, instructions: [apply(out(3))] });
    const f = udpFrame(B, A);
    h.send(0, f, f);
    const got = h.taken();
    expect(got[2]).toHaveLength(0);
    expect(got[1]).toHaveLength(2);
    expect(layout(got[1][0]).keys[8] & 0x1fff).toBe(0x1007);
    expect(h.sw.pipeline.emc.stats[EmcStat.Hits]).toBe(1); // the key patch was exact: the path was cached
  });
});

describe('reserved ports', () => {
  it('FLOOD and ALL go everywhere but the in port; IN_PORT goes back', () => {
    const h = setup(4);
    h.flow({ match: [inPort(1)], instructions: [apply(out(OFPP.FLOOD))] });
    h.flow({ match: [inPort(2)], instructions: [apply(out(OFPP.ALL))] });
    h.flow({ match: [inPort(3)], instructions: [apply(out(OFPP.IN_PORT))] });
    h.flow({ match: [inPort(4)], instructions: [apply(out(4))] }); // output:<in port> by number is dropped (OpenFlow needs IN_PORT)
    const f = udpFrame(BCAST, A);
    h.send(0, f);
    expect(h.taken()).toEqual([[], [f], [f], [f]]);
    h.send(1, f);
    expect(h.taken()).toEqual([[f], [], [f], [f]]);
    h.send(2, f);
    expect(h.taken()).toEqual([[], [], [f], []]);
    h.send(3, f);
    expect(h.taken()).toEqual([[], [], [], []]);
    expect(h.sw.pipeline.stats[PipelineStat.InPortDrops]).toBe(1);
  });

  it('NORMAL is the learning switch', () => {
    const h = setup();
    h.flow({ match: [], priority: 0, instructions: [apply(out(OFPP.NORMAL))] });
    const ab = udpFrame(B, A);
    h.send(0, ab);
    expect(h.taken()).toEqual([[], [ab], [ab]]); // unknown B: flooded
    const ba = udpFrame(A, B);
    h.send(1, ba);
    expect(h.taken()).toEqual([[ba], [], []]); // A learned on port 1
    h.send(0, ab);
    expect(h.taken()).toEqual([[], [ab], []]); // B learned on port 2
  });

  it('NORMAL after a rewrite decides on the rewritten frame', () => {
    const h = setup();
    h.flow({ match: [inPort(2)], priority: 0, instructions: [apply(out(OFPP.NORMAL))] });
    h.send(1, udpFrame(BCAST, C)); // C learned on port 2
    h.taken();
    h.flow({ match: [inPort(1)], instructions: [apply(setField({ field: 'eth_dst', value: macNum(C) }), out(OFPP.NORMAL))] });
    h.send(0, udpFrame(B, A));
    const got = h.taken();
    expect(got[2]).toHaveLength(0);
    expect(got[1]).toHaveLength(1);
    expect([...got[1][0].subarray(0, 6)]).toEqual([2, 0, 0, 0, 0, 0x0c]);
  });

  it('LOCAL is counted and dropped (no local port)', () => {
    const h = setup();
    h.flow({ match: [], priority: 0, instructions: [apply(out(OFPP.LOCAL))] });
    h.send(0, udpFrame(B, A));
    expect(h.taken()).toEqual([[], [], []]);
    expect(h.sw.pipeline.stats[PipelineStat.LocalDrops]).toBe(1);
    expect(h.dp.port(1)!.counters.c[PortStat.FwdDropped]).toBe(1);
  });
});

describe('packet-in', () => {
  it('table-miss to the controller: reason NO_MATCH, in_port in the match, full frame with NO_BUFFER max_len', () => {
    const h = setup();
    h.flow({ priority: 0, match: [], cookie: 0x55n, instructions: [apply(out(OFPP.CONTROLLER))] });
    const f = udpFrame(B, A, { size: 300 });
    h.send(1, f);
    expect(h.events.packetIns).toHaveLength(1);
    const pi = h.events.packetIns[0];
    expect(pi.reason).toBe(OFPR.NO_MATCH);
    expect(pi.bufferId).toBe(0xffffffff);
    expect(pi.tableId).toBe(0);
    expect(pi.cookie).toBe(0x55n);
    expect(pi.match).toEqual([{ field: 'in_port', value: 2 }]);
    expect(pi.totalLen).toBe(300);
    expect(pi.data).toEqual(f);
  });

  it('an action output:CONTROLLER truncates to max_len, carries metadata and the flow cookie, reason ACTION', () => {
    const h = setup();
    h.flow({ tableId: 0, match: [inPort(1)], instructions: [{ type: 'write_metadata', metadata: 0xabcdef0123n, metadataMask: ~0n & 0xffffffffffffffffn }, gotoTable(4)] });
    h.flow({ tableId: 4, priority: 5, cookie: 0x1122334455667788n, match: [], instructions: [apply(out(OFPP.CONTROLLER, 64), out(2))] });
    const f = udpFrame(B, A, { size: 200 });
    h.send(0, f, f);
    expect(h.taken()[1]).toEqual([f, f]);
    expect(h.events.packetIns).toHaveLength(2);
    for (const pi of h.events.packetIns) {
      expect(pi.reason).toBe(OFPR.ACTION);
      expect(pi.tableId).toBe(4);
      expect(pi.cookie).toBe(0x1122334455667788n);
      expect(pi.match).toEqual([{ field: 'in_port', value: 1 }, { field: 'metadata', value: 0xabcdef0123n }]);
      expect(pi.totalLen).toBe(200);
      expect(pi.data).toEqual(f.subarray(0, 64));
    }
  });

  it('output:CONTROLLER from the action set carries cookie -1', () => {
    const h = setup();
    h.flow({ cookie: 9n, match: [], priority: 1, instructions: [write(out(OFPP.CONTROLLER, 0xffff))] });
    h.send(0, udpFrame(B, A));
    expect(h.events.packetIns[0].cookie).toBe(0xffffffffffffffffn);
  });

  it('the reserved meter OFPM_CONTROLLER limits packet-ins', () => {
    const h = setup();
    expect(h.sw.meterMod({ type: 'meter_mod', xid: 0, command: 0, flags: 2 | 4, meterId: 0xfffffffe, bands: [{ type: 'drop', rate: 10, burstSize: 5 }] })).toBeNull();
    h.flow({ priority: 0, match: [], instructions: [apply(out(OFPP.CONTROLLER))] });
    h.send(0, ...Array.from({ length: 20 }, (_, i) => udpFrame(B, A, { sport: i })));
    expect(h.events.packetIns).toHaveLength(5);
    h.clock.now += 1000; // 10 more tokens a second, capped at the burst of 5
    h.send(0, ...Array.from({ length: 20 }, (_, i) => udpFrame(B, A, { sport: i })));
    expect(h.events.packetIns).toHaveLength(10);
    expect(h.sw.pipeline.stats[PipelineStat.PacketInMetered]).toBe(30);
  });
});

describe('fail modes', () => {
  it('standalone without a controller forwards as a learning switch; with one, the tables decide', () => {
    const h = setup(3, { failMode: 'standalone' });
    const f = udpFrame(B, A);
    h.send(0, f);
    expect(h.taken()).toEqual([[], [f], [f]]);
    h.sw.controllersConnected(1);
    h.send(0, f);
    expect(h.taken()).toEqual([[], [], []]);
    h.flow({ match: [], priority: 0, instructions: [apply(out(3))] });
    h.send(0, f);
    expect(h.taken()).toEqual([[], [], [f]]);
    h.sw.controllersConnected(0);
    h.send(0, f);
    expect(h.taken()).toEqual([[], [f], [f]]);
  });

  it('secure mode uses the tables even with no controller', () => {
    const h = setup(3, { failMode: 'secure' });
    h.send(0, udpFrame(B, A));
    expect(h.taken()).toEqual([[], [], []]);
  });
});

/** A multi-table pipeline with edits between tables, groups, metadata and the action set. */
function richPipeline(h: Harness): void {
  const ip4 = { field: 'eth_type', value: 0x0800 } as const;
  expect(h.sw.groupMod({ type: 'group_mod', xid: 0, command: 0, groupType: 1, groupId: 1, buckets: [
    { weight: 1, watchPort: OFPP.ANY, watchGroup: 0xffffffff, actions: [out(2)] },
    { weight: 2, watchPort: OFPP.ANY, watchGroup: 0xffffffff, actions: [setField({ field: 'eth_dst', value: 0x02000000beef }), out(3)] },
  ] })).toBeNull();
  h.flow({ tableId: 0, priority: 30, match: [inPort(1), { field: 'vlan_vid', value: 0x1000, mask: 0x1000 }], instructions: [apply({ type: 'pop_vlan' }), gotoTable(1)] });
  h.flow({ tableId: 0, priority: 20, match: [inPort(1), ip4], instructions: [apply(setField({ field: 'ip_dscp', value: 5 }), { type: 'push_vlan', ethertype: 0x8100 }, setField({ field: 'vlan_vid', value: 0x1000 | 100 })), { type: 'write_metadata', metadata: 1n, metadataMask: 1n }, gotoTable(1)] });
  h.flow({ tableId: 0, priority: 10, match: [{ field: 'eth_type', value: 0x86dd }], instructions: [write(out(3)), gotoTable(2)] });
  h.flow({ tableId: 0, priority: 0, match: [], instructions: [gotoTable(1)] });
  h.flow({ tableId: 1, priority: 20, match: [{ field: 'vlan_vid', value: 0x1000 | 100 }], instructions: [apply(setField({ field: 'eth_src', value: 0x020000000077 }), out(2)), gotoTable(2)] });
  h.flow({ tableId: 1, priority: 10, match: [{ field: 'metadata', value: 1n, mask: 1n }], instructions: [apply(out(3))] });
  h.flow({ tableId: 1, priority: 0, match: [], instructions: [{ type: 'clear_actions' }, apply(out(OFPP.CONTROLLER, 40))] });
  h.flow({ tableId: 2, priority: 20, match: [ip4, { field: 'ip_proto', value: 6 }], instructions: [apply(setField({ field: 'tcp_dst', value: 99 }), { type: 'dec_nw_ttl' }, out(2))] });
  h.flow({ tableId: 2, priority: 0, match: [], instructions: [write({ type: 'group', groupId: 1 })] });
}

const FRAMES = ['udp4', 'tcp4-data', 'tcp6-data', 'udp6-hbh-dst', 'icmp4-echo-request', 'nd-ns', 'arp-request', 'mpls-udp4', 'vlan-icmp4', 'vlan-tcp6', 'qinq-icmp4', 'ip4-frag-later', 'sctp4'].map(loadFrame);

describe('exact-match cache equivalence', () => {
  it('gives the same frames, counters and packet-ins with the cache on as with every frame walking the tables', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(FRAMES.length - 1), fc.nat(2), fc.array(fc.tuple(fc.nat(80), fc.nat(255)), { maxLength: 3 })), { minLength: 1, maxLength: 24 }),
        (specs) => {
          const on = setup(3, { emc: 1 });
          const off = setup(3, { emc: 0 });
          richPipeline(on);
          richPipeline(off);
          const frames = specs.map(([f, port, edits]) => {
            const frame = FRAMES[f].slice();
            for (const [at, v] of edits) if (at < frame.length) frame[at] = v; // mutations, malformed frames included
            return { port, frame };
          });
          for (let round = 0; round < 2; round++) {
            for (const { port, frame } of frames) {
              on.send(port, frame);
              off.send(port, frame);
            }
          }
          expect(on.taken()).toEqual(off.taken());
          expect(on.events.packetIns).toEqual(off.events.packetIns);
          const counts = (h: Harness) => h.sw.tables.tables.slice(0, 3).map((t) => [...t.counters, ...t.list().map((e) => e.packetCount)]);
          expect(counts(on)).toEqual(counts(off));
          expect(on.dp.pool.inUse).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('allocation', () => {
  it('forwards 1e6 frames through a 2-table pipeline with a flat heap', () => {
    const h = setup(2, { megaflow: false, sw: {} });
    const src = h.ports[0], dst = h.ports[1];
    h.flow({ tableId: 0, match: [inPort(1)], instructions: [{ type: 'write_metadata', metadata: 1n, metadataMask: 1n }, gotoTable(1)] });
    h.flow({ tableId: 1, match: [{ field: 'eth_dst', value: macNum(B) }, { field: 'eth_type', value: 0x0800 }], instructions: [apply(setField({ field: 'ip_dscp', value: 10 }), out(2))] });
    src.setGenerator(Array.from({ length: 64 }, (_, i) => udpFrame(B, A, { sport: 2000 + i })));
    const grown = heapGrowthForwarding(h, 100_000, 1_000_000);
    expect(dst.txFrames).toBe(1_100_000);
    expect(grown).toBeLessThan(1024 * 1024);
    expect(h.sw.pipeline.stats[PipelineStat.Walks]).toBe(64);
  });
});
