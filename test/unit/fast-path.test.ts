/*
 * The batch-per-flow fast path (RulePipeline.segment, fast-path.ts) against
 * the per-frame path (RulePipeline.batching = false) on whole bursts: the
 * same frames on every port in the same order, the same packet-ins, exact
 * flow, table, pipeline, cache and port counters. Bursts interleave frames of
 * several flows (outputs-only programs, set-field, several ports, a meter,
 * CONTROLLER, a group, table misses) with cache misses in the middle; and
 * bursts of up to 32 flows over three table paths, every flow and table
 * counter against a count frame by frame (the per-segment sums).
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PipelineStat } from '../../src/datapath/rules/actions-exec.js';
import { EmcStat } from '../../src/datapath/rules/emc.js';
import { planProgram } from '../../src/datapath/rules/fast-path.js';
import { TableCounter } from '../../src/datapath/rules/flow-table.js';
import { Op } from '../../src/datapath/rules/ops.js';
import { OFPP } from '../../src/openflow/codec/v13/enums.js';
import { rd16 } from '../../src/packet/frame-bytes.js';
import type { Oxm } from '../../src/openflow/codec/v13/oxm.js';
import { ethFrame, ipv4Udp } from '../helpers/frames.js';
import { apply, gotoTable, heapGrowthForwarding, inPort, layout, loadFrame, out, setField, setup, write, type Harness } from '../helpers/of-harness.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const ip4 = { field: 'eth_type', value: 0x0800 } as const;
const udp = { field: 'ip_proto', value: 17 } as const;
const udpDst = (port: number): Oxm[] => [ip4, udp, { field: 'udp_dst', value: port }];

/** A UDP frame to `dport` whose payload carries `seq` (not part of the flow key: same microflow for every seq). */
function frame(dport: number, seq: number, sport = 4000): Uint8Array {
  const data = new Uint8Array(22);
  data[0] = seq >> 8;
  data[1] = seq & 0xff;
  return ethFrame(B, A, 0x0800, ipv4Udp('10.0.0.1', '10.0.0.2', sport, dport, data));
}
const seqOf = (f: Uint8Array) => (f[14 + 28] << 8) | f[14 + 28 + 1];

/** Table 0 -> table 1 by in_port; table 1 decides by udp_dst; no table-miss entry (misses drop). */
function tables(h: Harness): void {
  expect(h.sw.meterMod({ type: 'meter_mod', xid: 0, command: 0, flags: 2 | 4, meterId: 1, bands: [{ type: 'drop', rate: 1, burstSize: 3 }] })).toBeNull();
  h.flow({ tableId: 0, match: [inPort(1)], instructions: [{ type: 'write_metadata', metadata: 1n, metadataMask: 1n }, gotoTable(1)] });
  h.flow({ tableId: 1, cookie: 5001n, match: udpDst(5001), instructions: [apply(setField({ field: 'ipv4_dst', value: 0x0a000063 }), out(2))] });
  h.flow({ tableId: 1, cookie: 5002n, match: udpDst(5002), instructions: [apply(out(2), out(3))] });
  h.flow({ tableId: 1, cookie: 5003n, match: udpDst(5003), instructions: [apply(out(3))] });
  h.flow({ tableId: 1, cookie: 5004n, match: udpDst(5004), instructions: [apply(setField({ field: 'eth_dst', value: 0x020000000044 }), out(3)), write(out(4))] });
  h.flow({ tableId: 1, cookie: 5005n, match: udpDst(5005), instructions: [apply(out(OFPP.CONTROLLER, 64), out(4))] });
  h.flow({ tableId: 1, cookie: 5006n, match: udpDst(5006), instructions: [{ type: 'meter', meterId: 1 }, apply(out(4))] });
}

function pipelineOf(h: Harness) {
  return h.sw.pipeline;
}

/** Everything the two paths must agree on. */
function state(h: Harness) {
  const p = pipelineOf(h);
  return {
    taken: h.taken(),
    packetIns: h.events.packetIns.splice(0),
    flows: h.sw.tables.tables.slice(0, 3).map((t) => t.list().map((e) => [e.packetCount, e.byteCount])),
    tables: h.sw.tables.tables.slice(0, 3).map((t) => [...t.counters]),
    pipeline: [...p.stats],
    emc: [...p.emc.stats],
    ports: h.dp.portList.map((d) => [...d.counters.c]),
    inUse: h.dp.pool.inUse,
  };
}

function pair(build: (h: Harness) => void, nPorts = 4, megaflow?: boolean): { batched: Harness; perFrame: Harness } {
  const batched = setup(nPorts, { megaflow });
  const perFrame = setup(nPorts, { megaflow });
  pipelineOf(perFrame).batching = false;
  build(batched);
  build(perFrame);
  return { batched, perFrame };
}

describe('batch plans', () => {
  it('hoists the counters before the first op that may stop a frame, keeps the rest per frame', () => {
    const code = Int32Array.from([Op.CountTable, 0, 1, Op.CountFlow, 0, Op.WriteMetadata, 1, 1, 1, 1, Op.CountTable, 1, 1, Op.CountFlow, 1, Op.Output, 2, 0, Op.End]);
    const p = planProgram(code);
    expect([...p.tables]).toEqual([0, 1, 1, 1]);
    expect([...p.flows]).toEqual([0, 1]);
    expect([...p.rest]).toEqual([Op.WriteMetadata, 1, 1, 1, 1, Op.Output, 2, 0, Op.End]);
    expect(p.restTableId).toBe(1);
    expect(p.outputsOnly && p.calloutFree).toBe(true);
    expect([...p.outPorts]).toEqual([2]);
    const metered = planProgram(Int32Array.from([Op.CountTable, 0, 1, Op.CountFlow, 0, Op.Meter, 3, Op.CountTable, 1, 1, Op.CountFlow, 1, Op.Output, 2, 0, Op.End]));
    expect([...metered.tables]).toEqual([0, 1]); // table 1 is counted only for frames the meter passes
    expect([...metered.rest]).toEqual([Op.Meter, 3, Op.CountTable, 1, 1, Op.CountFlow, 1, Op.Output, 2, 0, Op.End]);
    expect(metered.outputsOnly).toBe(false);
    const punting = planProgram(Int32Array.from([Op.CountTable, 0, 1, Op.CountFlow, 0, Op.Controller, 64, 1, -1, 0, 0, Op.End]));
    expect(punting.calloutFree).toBe(false);
    const miss = planProgram(Int32Array.from([Op.CountTable, 0, 1, Op.CountFlow, 0, Op.Output, 3, 0, Op.CountTable, 1, 0, Op.MissDrop, 1, Op.End]));
    expect([...miss.tables]).toEqual([0, 1, 1, 0]);
    expect(miss.outputsOnly && miss.missDrop).toBe(true);
  });
});

describe('batch-per-flow fast path', () => {
  it('keeps each port in the per-frame order with interleaved flows, set-fields, several ports and misses in the middle; counters exact', () => {
    const { batched, perFrame } = pair(tables, 4, false);
    const dports = [5001, 5002, 5003, 5004, 5005, 5006, 5999];
    // Warm-up: one frame of each microflow, so the next burst hits the cache.
    for (const h of [batched, perFrame]) h.send(0, ...dports.map((d, i) => frame(d, 1000 + i)));
    expect(state(batched)).toEqual(state(perFrame));
    // One burst of 32: flows interleaved; seq 9 and 20 are new microflows (cache misses, walked in the middle).
    const pattern = [5001, 5002, 5003, 5004, 5001, 5001, 5003, 5002, 5004, -5003, 5003, 5001, 5999, 5002, 5005, 5006,
      5006, 5006, 5006, 5003, -5002, 5004, 5001, 5002, 5999, 5003, 5003, 5005, 5004, 5001, 5002, 5003];
    expect(pattern.length).toBe(32);
    const burst = pattern.map((d, seq) => (d < 0 ? frame(-d, seq, 4001) : frame(d, seq)));
    for (const h of [batched, perFrame]) h.send(0, ...burst);
    const b = state(batched);
    expect(b).toEqual(state(perFrame));
    // Independently of the reference: each port's frames in burst order, exactly the ones their flows send there.
    const expectOn = (...flows: number[]) => pattern.map((d, seq) => [Math.abs(d), seq]).filter(([d]) => flows.includes(d)).map(([, seq]) => seq);
    const metered = pattern.map((d, seq) => [d, seq]).filter(([d]) => d === 5006).map(([, seq]) => seq);
    expect(b.taken[1].map(seqOf)).toEqual(expectOn(5001, 5002));
    expect(b.taken[2].map(seqOf)).toEqual(expectOn(5002, 5003, 5004));
    const on4 = b.taken[3].map(seqOf);
    expect(on4.filter((s) => !metered.includes(s))).toEqual(expectOn(5004, 5005));
    expect(on4.filter((s) => metered.includes(s)).length).toBeLessThan(metered.length); // the meter (burst 3, 1 pkt/s) dropped some
    for (const f of b.taken[1]) if (seqOf(f) !== 0 && pattern[seqOf(f)] === 5001) expect(layout(f).keys[16]).toBe(0x0a000063); // set-field ran per frame
    expect(b.packetIns.length).toBe(2);
    // Counts: every frame counted once in table 0, table 1 matched all but the udp_dst 5999 frames.
    const n = pattern.length + dports.length;
    expect(batched.sw.tables.tables[0].counters[TableCounter.Lookups]).toBe(n);
    expect(batched.sw.tables.tables[1].counters[TableCounter.Lookups]).toBe(n);
    expect(batched.sw.tables.tables[1].counters[TableCounter.Matched]).toBe(n - 3);
    const entry = (d: number) => batched.sw.tables.tables[1].list().find((e) => e.cookie === BigInt(d))!;
    for (const d of [5001, 5002, 5003, 5004, 5005, 5006]) {
      const frames = 1 + pattern.filter((x) => Math.abs(x) === d).length;
      expect(entry(d).packetCount).toBe(frames);
      expect(entry(d).byteCount).toBe(frames * burst[0].length);
    }
    expect(pipelineOf(batched).stats[PipelineStat.TableMissDrops]).toBe(3);
    expect(pipelineOf(batched).emc.stats[EmcStat.Misses]).toBe(dports.length + 2);
    expect(pipelineOf(batched).emc.stats[EmcStat.Hits]).toBe(pattern.length - 2);
  });

  it('agrees with the per-frame path on random bursts over a rich pipeline', () => {
    const fixtures = ['udp4', 'tcp4-data', 'tcp6-data', 'icmp4-echo-request', 'arp-request', 'vlan-icmp4', 'ip4-frag-later'].map(loadFrame);
    const rich = (h: Harness) => {
      tables(h);
      expect(h.sw.groupMod({ type: 'group_mod', xid: 0, command: 0, groupType: 0, groupId: 1, buckets: [
        { weight: 0, watchPort: OFPP.ANY, watchGroup: 0xffffffff, actions: [out(2)] },
        { weight: 0, watchPort: OFPP.ANY, watchGroup: 0xffffffff, actions: [setField({ field: 'eth_dst', value: 0x02000000beef }), out(3)] },
      ] })).toBeNull();
      h.flow({ tableId: 0, priority: 10, match: [inPort(2)], instructions: [gotoTable(2)] });
      h.flow({ tableId: 0, priority: 5, match: [{ field: 'eth_type', value: 0x86dd }], instructions: [write(out(3)), gotoTable(2)] });
      h.flow({ tableId: 1, priority: 0, match: [], instructions: [apply(out(OFPP.CONTROLLER, 40))] });
      h.flow({ tableId: 2, priority: 20, match: [ip4, { field: 'ip_proto', value: 6 }], instructions: [apply(setField({ field: 'tcp_dst', value: 99 }), { type: 'dec_nw_ttl' }, out(4))] });
      h.flow({ tableId: 2, priority: 10, match: udpDst(5003), instructions: [apply(out(1), out(4))] });
      h.flow({ tableId: 2, priority: 0, match: [], instructions: [write({ type: 'group', groupId: 1 })] });
    };
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(1), fc.array(fc.tuple(fc.nat(fixtures.length + 6), fc.nat(2)), { minLength: 1, maxLength: 70 })), { minLength: 1, maxLength: 4 }),
        (bursts) => {
          const { batched, perFrame } = pair(rich);
          let seq = 0;
          for (let round = 0; round < 2; round++) {
            for (const [port, specs] of bursts) {
              const frames = specs.map(([f, sport]) => (f < fixtures.length ? fixtures[f] : frame(5001 + f - fixtures.length, seq++, 4000 + sport)));
              batched.send(port, ...frames);
              perFrame.send(port, ...frames);
            }
          }
          const b = state(batched);
          expect(b).toEqual(state(perFrame));
          expect(b.inUse).toBe(0);
        },
      ),
      { numRuns: 120 },
    );
  });
});

describe('segment counters', () => {
  /** A UDP frame to `dport` from `sport` with a payload of `size` bytes (byte counts differ per frame). */
  const sized = (dport: number, sport: number, size: number) => ethFrame(B, A, 0x0800, ipv4Udp('10.0.0.1', '10.0.0.2', sport, dport, new Uint8Array(size)));
  const T1_FLOWS = 40;
  /** Table 0: udp_dst 7000..7004 output there (one table counted); the rest of in_port 1 goes to table 1: 40 udp_dst flows, 6099 to the controller, any other misses. */
  const many = (h: Harness) => {
    h.flow({ tableId: 0, priority: 100, cookie: 1n, match: [inPort(1)], instructions: [{ type: 'write_metadata', metadata: 1n, metadataMask: 1n }, gotoTable(1)] });
    for (let d = 7000; d < 7005; d++) h.flow({ tableId: 0, priority: 200, cookie: BigInt(d), match: udpDst(d), instructions: [apply(out(3))] });
    for (let d = 6000; d < 6000 + T1_FLOWS; d++) h.flow({ tableId: 1, cookie: BigInt(d), match: udpDst(d), instructions: [apply(out(2 + (d & 1)))] });
    h.flow({ tableId: 1, cookie: 6099n, match: udpDst(6099), instructions: [apply(out(OFPP.CONTROLLER, 64))] });
  };

  it('counts every flow and table exactly when a burst holds many flows over several table paths (against the per-frame path and a count per frame)', () => {
    const { batched, perFrame } = pair(many, 3);
    // The reference count, frame by frame: [table][lookups, matched]; per cookie [packets, bytes].
    const tableRef = [[0, 0], [0, 0]];
    const flowRef = new Map<bigint, [number, number]>();
    const hit = (cookie: number, bytes: number) => {
      const c = flowRef.get(BigInt(cookie)) ?? [0, 0];
      flowRef.set(BigInt(cookie), [c[0] + 1, c[1] + bytes]);
    };
    const countRef = (d: number, bytes: number) => {
      tableRef[0][0] += 1;
      tableRef[0][1] += 1;
      if (d >= 7000) return hit(d, bytes);
      hit(1, bytes);
      tableRef[1][0] += 1;
      if ((d >= 6000 && d < 6000 + T1_FLOWS) || d === 6099) {
        tableRef[1][1] += 1;
        hit(d, bytes);
      }
    };
    const dportOf = (k: number) => (k < T1_FLOWS ? 6000 + k : k < T1_FLOWS + 5 ? 7000 + k - T1_FLOWS : k === T1_FLOWS + 5 ? 6099 : 6500 + k);
    const bursts: Uint8Array[][] = [
      Array.from({ length: 32 }, (_, i) => sized(dportOf(i), 4000, 18 + i)), // 32 flows, one frame each (cache misses)
      Array.from({ length: 32 }, (_, i) => sized(dportOf(i), 4000, 18 + i)), // the same, now cache hits: 32 groups of one
      Array.from({ length: 96 }, (_, i) => sized(dportOf((i * 13 + (i >> 2)) % (T1_FLOWS + 8)), 4000 + (i % 3), 18 + ((i * 7) % 40))), // all paths mixed, punts cutting segments, new microflows
      Array.from({ length: 64 }, (_, i) => sized(dportOf(i % 3), 4000, 30 + (i & 7))), // few groups of many frames
    ];
    const run = () => {
      for (const frames of bursts) {
        for (const h of [batched, perFrame]) h.send(0, ...frames);
        for (const f of frames) countRef(rd16(f, 14 + 20 + 2), f.length); // the UDP destination port
      }
    };
    run();
    for (const h of [batched, perFrame]) h.flow({ tableId: 1, cookie: 6200n, match: udpDst(6200), instructions: [apply(out(2))] }); // a new generation: programs rebuilt
    run();
    const b = state(batched);
    expect(b).toEqual(state(perFrame));
    expect(b.packetIns.length).toBeGreaterThan(0);
    const tables = batched.sw.tables.tables;
    for (const t of [0, 1]) expect([tables[t].counters[TableCounter.Lookups], tables[t].counters[TableCounter.Matched]]).toEqual(tableRef[t]);
    const counted = new Map<bigint, [number, number]>();
    for (const t of [0, 1]) for (const e of tables[t].list()) if (e.packetCount > 0) counted.set(e.cookie, [e.packetCount, e.byteCount]);
    expect(counted).toEqual(flowRef);
  });
});

describe('batch path allocation', () => {
  it('forwards 1e6 frames of 4 interleaved flows (outputs-only and set-field programs) with a flat heap', () => {
    const h = setup(4, { megaflow: false });
    tables(h);
    const src = h.ports[0];
    src.setGenerator([5001, 5002, 5003, 5004].flatMap((d) => [frame(d, 1), frame(d, 2, 4001)]));
    const grown = heapGrowthForwarding(h, 100_000, 1_000_000);
    expect(h.ports[1].txFrames + h.ports[2].txFrames + h.ports[3].txFrames).toBe(1_100_000 * 6 / 4);
    expect(grown).toBeLessThan(1024 * 1024);
    expect(pipelineOf(h).stats[PipelineStat.Walks]).toBe(8);
  });
});
