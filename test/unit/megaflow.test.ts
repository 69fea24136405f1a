/*
 * The megaflow cache (megaflow.ts; RulePipeline.setMegaflow): for random flow
 * tables (several tables, priorities, overlapping masks, metadata, set-field
 * before goto, punts) and random bursts with flow-mods mid-run, the pipeline
 * looking frames up in the megaflow cache, batched or frame at a time, sends
 * the same frames in the same order, the same packet-ins and the same flow,
 * table, port and drop counters as the frame-at-a-time exact-match-cache path.
 * Walk counts differ by design (one walk covers every key of a megaflow).
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dumpCache } from '../../src/datapath/rules/cache-dump.js';
import { MfStat } from '../../src/datapath/rules/megaflow.js';
import { K } from '../../src/flow/key.js';
import { cacheReport, formatCache } from '../../src/openflow/ofproto/trace-format.js';
import { resolveConfig } from '../../src/config.js';
import { startSwitch } from '../../src/switch.js';
import { pino } from 'pino';
import { PipelineStat } from '../../src/datapath/rules/actions-exec.js';
import { OFPP } from '../../src/openflow/codec/v13/enums.js';
import type { Action } from '../../src/openflow/codec/v13/actions.js';
import type { Instruction } from '../../src/openflow/codec/v13/instructions.js';
import type { Oxm } from '../../src/openflow/codec/v13/oxm.js';
import { ethFrame, ipv4Udp } from '../helpers/frames.js';
import { apply, gotoTable, inPort, out, setField, setup, write, type Harness } from '../helpers/of-harness.js';

const ip4 = { field: 'eth_type', value: 0x0800 } as const;
const udp = { field: 'ip_proto', value: 17 } as const;

/** A UDP frame of microflow `flow` carrying `seq` in its payload. */
function frame(flow: number, seq: number): Uint8Array {
  const data = new Uint8Array(22);
  data[0] = seq >> 8;
  data[1] = seq & 0xff;
  return ethFrame('02:00:00:00:00:0b', `02:00:00:00:00:0${(flow >> 4) & 1 ? 'a' : 'c'}`, 0x0800, ipv4Udp(`10.0.0.${1 + (flow & 3)}`, `10.0.1.${(flow >> 2) & 7}`, 4000 + (flow & 1), 5000 + (flow % 3), data));
}

const ruleArb = fc.record({
  table: fc.nat(3),
  priority: fc.nat(3),
  match: fc.subarray(['in_port', 'eth_src', 'ipv4_src', 'ipv4_dst', 'ipv4_dst/24', 'udp_dst', 'udp_src', 'metadata'] as const),
  values: fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3), fc.nat(2), fc.nat(2)),
  actions: fc.array(fc.constantFrom('out2', 'out3', 'out4', 'controller', 'set_dst', 'write_out3', 'meta'), { maxLength: 3 }),
  goto: fc.nat(3),
});

type Rule = typeof ruleArb extends fc.Arbitrary<infer R> ? R : never;

function install(h: Harness, rules: Rule[]): void {
  h.flow({ tableId: 0, priority: 1, match: [], instructions: [{ type: 'write_metadata', metadata: 1n, metadataMask: 0xffn }, gotoTable(1)] });
  for (const r of rules) {
    const match: Oxm[] = [];
    const [a, b, c, d, e] = r.values;
    if (r.match.includes('in_port')) match.push(inPort(1 + (a % 2)));
    if (r.match.includes('eth_src')) match.push({ field: 'eth_src', value: a % 2 === 0 ? 0x02000000000a : 0x02000000000c });
    if (r.match.some((m) => m !== 'in_port' && m !== 'metadata' && m !== 'eth_src')) match.push(ip4);
    if (r.match.includes('ipv4_src')) match.push({ field: 'ipv4_src', value: (0x0a000001 + b) >>> 0 });
    if (r.match.includes('ipv4_dst')) match.push({ field: 'ipv4_dst', value: (0x0a000100 + c) >>> 0 });
    else if (r.match.includes('ipv4_dst/24')) match.push({ field: 'ipv4_dst', value: 0x0a000100, mask: 0xffffff00 });
    if (r.match.includes('udp_dst') || r.match.includes('udp_src')) match.push(udp);
    if (r.match.includes('udp_dst')) match.push({ field: 'udp_dst', value: 5000 + d });
    if (r.match.includes('udp_src')) match.push({ field: 'udp_src', value: 4000 + (d % 2) });
    if (r.match.includes('metadata')) match.push({ field: 'metadata', value: BigInt(e) });
    const applied: Action[] = [];
    const instructions: Instruction[] = [];
    for (const act of r.actions) {
      if (act === 'out2') applied.push(out(2));
      else if (act === 'out3') applied.push(out(3));
      else if (act === 'out4') applied.push(out(4));
      else if (act === 'controller') applied.push(out(OFPP.CONTROLLER, 64));
      else if (act === 'set_dst' && r.match.some((m) => m !== 'in_port' && m !== 'metadata' && m !== 'eth_src')) applied.push(setField({ field: 'ipv4_dst', value: 0x0a000102 }));
      else if (act === 'write_out3') instructions.push(write(out(3)));
      else if (act === 'meta') instructions.push({ type: 'write_metadata', metadata: BigInt(e), metadataMask: 0xffn });
    }
    if (applied.length > 0) instructions.unshift(apply(...applied));
    if (r.table + 1 + r.goto <= 3 && r.goto < 2) instructions.push(gotoTable(r.table + 1 + r.goto));
    try {
      h.flow({ tableId: r.table, priority: 10 + r.priority, match, instructions });
    } catch {
      // refused (duplicate write_actions or the like): skipped on every side alike
    }
  }
}

/** Everything but the walk, cache and classifier counters (which a megaflow changes by design). */
function state(h: Harness) {
  const p = h.sw.pipeline;
  return {
    taken: h.taken(),
    packetIns: h.events.packetIns.splice(0),
    flows: h.sw.tables.tables.slice(0, 4).map((t) => t.list().map((e) => [e.cookie, e.packetCount, e.byteCount])),
    tables: h.sw.tables.tables.slice(0, 4).map((t) => [...t.counters]),
    pipeline: [...p.stats].slice(PipelineStat.TableMissDrops),
    ports: h.dp.portList.map((d) => [...d.counters.c]),
    inUse: h.dp.pool.inUse,
  };
}

describe('the megaflow cache in the rule pipeline', () => {
  it('gives the same outputs, packet-ins and counters as the frame-at-a-time EMC path for random tables, bursts and flow-mods', () => {
    let hits = 0;
    fc.assert(
      fc.property(
        fc.array(ruleArb, { minLength: 1, maxLength: 20 }),
        fc.array(fc.tuple(fc.nat(1), fc.array(fc.nat(31), { minLength: 1, maxLength: 48 })), { minLength: 1, maxLength: 4 }),
        fc.array(ruleArb, { maxLength: 3 }),
        (rules, bursts, later) => {
          const reference = setup(4);
          reference.sw.pipeline.batching = false;
          const batched = setup(4);
          batched.sw.pipeline.setMegaflow(true);
          const perFrame = setup(4);
          perFrame.sw.pipeline.setMegaflow(true);
          perFrame.sw.pipeline.batching = false;
          const all = [reference, batched, perFrame];
          for (const h of all) install(h, rules);
          let seq = 0;
          const rounds = [...bursts, ...bursts, ...bursts];
          for (const [round, [port, flows]] of rounds.entries()) {
            if (round % bursts.length === 0 && round > 0) {
              const mod = later.slice(0, round / bursts.length === 1 ? 1 : 3);
              for (const h of all) install(h, mod);
            }
            const frames = flows.map((f) => frame(f, seq++));
            for (const h of all) h.send(port, ...frames);
          }
          const want = state(reference);
          expect(state(batched)).toEqual(want);
          expect(state(perFrame)).toEqual(want);
          expect(want.inUse).toBe(0);
          hits += batched.sw.pipeline.megaflow.stats[MfStat.Hits];
        },
      ),
      { numRuns: 150 },
    );
    expect(hits).toBeGreaterThan(1000); // the megaflow cache did answer
  });

  it('covers microflows that differ only in unmatched fields with one walk', () => {
    const h = setup(3);
    h.sw.pipeline.setMegaflow(true);
    h.flow({ tableId: 0, priority: 10, match: [inPort(1)], instructions: [gotoTable(1)] });
    h.flow({ tableId: 1, priority: 10, match: [ip4, { field: 'ipv4_dst', value: 0x0a000100 }], instructions: [apply(out(2))] });
    h.send(0, ...Array.from({ length: 32 }, (_, i) => frame(i & 3, i))); // four microflows, one ipv4_dst (10.0.1.0)
    expect(h.taken()[1]).toHaveLength(32);
    expect(h.sw.pipeline.stats[PipelineStat.Walks]).toBe(1);
    expect(h.sw.pipeline.megaflow.stats[MfStat.Hits]).toBe(31);
    h.flow({ tableId: 1, priority: 20, match: [ip4, { field: 'ipv4_src', value: 0x0a000002 }], instructions: [apply(out(3))] });
    h.send(0, ...Array.from({ length: 8 }, (_, i) => frame(i & 3, i)));
    const taken = h.taken();
    expect(taken[1]).toHaveLength(6); // the flow-mod moved 10.0.0.2 to port 3
    expect(taken[2]).toHaveLength(2);
  });
});

describe('dump-cache with the megaflow cache', () => {
  it('reports its totals and masks, and nothing of it while it is off', () => {
    const h = setup(3);
    h.flow({ tableId: 0, priority: 10, match: [inPort(1)], instructions: [gotoTable(1)] });
    h.flow({ tableId: 1, priority: 10, match: [ip4, { field: 'ipv4_dst', value: 0x0a000100 }], instructions: [apply(out(2))] });
    h.send(0, frame(0, 0));
    expect(cacheReport(dumpCache(h.sw.pipeline)).megaflow).toBeUndefined();
    h.sw.pipeline.setMegaflow(true);
    h.send(0, ...Array.from({ length: 8 }, (_, i) => frame(i & 3, i)));
    const r = cacheReport(dumpCache(h.sw.pipeline));
    expect(r.megaflow).toMatchObject({ live: 1, hits: 7, misses: 1, inserts: 1, dropped: 0 });
    expect(r.megaflow!.masks).toHaveLength(1);
    // in_port, eth_type (the upper half of its word) and ipv4_dst: the words the two tables' masks cover
    expect(r.megaflow!.masks[0]).toBe(`${K.InPort}:ffffffff ${K.EthTypeVlan}:ffff0000 ${K.IpDst0}:ffffffff`);
    expect(formatCache(r, 'openflow')).toMatch(/megaflow cache \(in use instead\): 1 entries live in 1 subtables; 7 hits, 1 misses, 1 inserts, 0 dropped\n {4}mask /);
  });
});

describe('the megaflow setting', () => {
  it('is off unless --megaflow (or megaflow: true) asks for it', () => {
    expect(resolveConfig({}).megaflow).toBe(false);
    expect(resolveConfig({ megaflow: true }).megaflow).toBe(true);
  });

  it('puts a started switch\'s OpenFlow pipeline on the megaflow cache', () => {
    for (const megaflow of [false, true]) {
      const sw = startSwitch(resolveConfig({ megaflow, metrics: 'off', adminSocket: 'off' }), pino({ level: 'silent' }));
      try {
        expect(sw.ofSwitch.pipeline.megaflowOn).toBe(megaflow);
      } finally {
        sw.close();
      }
    }
  });
});
