/*
 * Batched misses (miss-batch.ts, classifier-batch.ts): the batched classifier
 * lookup answers as single lookups do (same rules, same probe counts), and the
 * rule pipeline with its misses resolved as a batch gives the same frames on
 * every port in the same order, the same packet-ins and the same flow, table,
 * pipeline, cache and port counters as the frame-at-a-time path, for random
 * flow tables and random bursts.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BatchLookupScratch, countLookup, lookupBatch } from '../../src/datapath/rules/classifier-batch.js';
import { Classifier, ClsStat, NO_RULE } from '../../src/datapath/rules/classifier.js';
import { MissBatchStat } from '../../src/datapath/rules/miss-batch.js';
import { K, KEY_WORDS } from '../../src/flow/key.js';
import { ethFrame, ipv4Udp } from '../helpers/frames.js';
import { apply, gotoTable, heapGrowthForwarding, inPort, out, setup, type Harness } from '../helpers/of-harness.js';
import { burstsArb, forwardingState, installRules, ip4, microflowFrame, ruleArb, udp } from '../helpers/random-flow-table.js';

/** Words the random rules match on, with the masks they may use. */
const FIELDS: [number, number[]][] = [
  [K.InPort, [0xffffffff]],
  [K.IpDst0, [0xffffffff, 0xffffff00, 0xff000000]],
  [K.TpSrcDst, [0xffffffff, 0x0000ffff, 0xffff0000]],
  [K.MetadataLo, [0xff, 0xf]],
];

describe('lookupBatch', () => {
  it('answers every key as a single lookup does, with the same probes', () => {
    const rule = fc.tuple(fc.nat(FIELDS.length - 1), fc.nat(2), fc.nat(7), fc.nat(3), fc.nat(3));
    fc.assert(
      fc.property(fc.array(fc.array(rule, { minLength: 0, maxLength: 3 }), { minLength: 0, maxLength: 40 }), fc.array(fc.tuple(fc.nat(7), fc.nat(7), fc.nat(7), fc.nat(3)), { minLength: 1, maxLength: 40 }), (rules, pkts) => {
        const single = new Classifier();
        const batched = new Classifier();
        for (const [i, words] of rules.entries()) {
          const key = new Uint32Array(KEY_WORDS), mask = new Uint32Array(KEY_WORDS);
          for (const [f, m, v] of words) {
            const [w, masks] = FIELDS[f];
            mask[w] = masks[m % masks.length];
            key[w] = v * 0x01010101;
          }
          const pri = (i * 7) % 5; // ties on purpose
          single.insert(key, 0, mask, 0, pri);
          batched.insert(key, 0, mask, 0, pri);
        }
        const keys = new Uint32Array(pkts.length * KEY_WORDS);
        const bases = Int32Array.from(pkts, (_, i) => i * KEY_WORDS);
        for (const [i, [a, b, c, d]] of pkts.entries()) {
          keys[i * KEY_WORDS + K.InPort] = a * 0x01010101;
          keys[i * KEY_WORDS + K.IpDst0] = b * 0x01010101;
          keys[i * KEY_WORDS + K.TpSrcDst] = c * 0x01010101;
          keys[i * KEY_WORDS + K.MetadataLo] = d * 0x01010101;
        }
        const out = new Int32Array(pkts.length);
        const scratch = new BatchLookupScratch();
        lookupBatch(batched, keys, bases, pkts.length, out, scratch);
        expect(batched.stats[ClsStat.Lookups]).toBe(0); // counted by the caller, when the walk happens
        for (let i = 0; i < pkts.length; i++) {
          const probesBefore = single.stats[ClsStat.Probes];
          expect(out[i]).toBe(single.lookup(keys, i * KEY_WORDS));
          expect(scratch.probes[i]).toBe(single.stats[ClsStat.Probes] - probesBefore);
          countLookup(batched, scratch.probes[i], out[i] !== NO_RULE);
        }
        expect([...batched.stats]).toEqual([...single.stats]);
      }),
      { numRuns: 300 },
    );
  });
});

/** Everything, the table, classifier, pipeline (walk) and EMC counters included: batching must not change any of them. */
function state(h: Harness) {
  const p = h.sw.pipeline;
  return {
    ...forwardingState(h),
    tables: h.sw.tables.tables.slice(0, 4).map((t) => [...t.counters, ...t.classifier.stats]),
    pipeline: [...p.stats],
    emc: [...p.emc.stats],
  };
}

describe('batched misses in the rule pipeline', () => {
  it('give the same outputs, packet-ins and counters as the frame-at-a-time path for random tables and bursts', () => {
    let batchable = 0;
    fc.assert(
      fc.property(
        fc.array(ruleArb, { minLength: 1, maxLength: 20 }),
        burstsArb,
        fc.boolean(),
        (rules, bursts, changeMidway) => {
          const batched = setup(4);
          const perFrame = setup(4);
          perFrame.sw.pipeline.batching = false;
          installRules(batched, rules);
          installRules(perFrame, rules);
          let seq = 0;
          for (const [round, [port, flows]] of [...bursts, ...bursts].entries()) {
            if (changeMidway && round === bursts.length) {
              for (const h of [batched, perFrame]) h.flow({ tableId: 0, priority: 12, match: [inPort(2)], instructions: [apply(out(4))] });
            }
            const frames = flows.map((f) => microflowFrame(f, seq++));
            batched.send(port, ...frames);
            perFrame.send(port, ...frames);
          }
          const b = state(batched);
          expect(b).toEqual(state(perFrame));
          expect(b.inUse).toBe(0);
          batchable += batched.sw.pipeline.missBatchStats[MissBatchStat.Batchable];
        },
      ),
      { numRuns: 150 },
    );
    expect(batchable).toBeGreaterThan(100); // the batched resolution did run, on many keys
  });

  it('resolves the new microflows of a burst in one batch per table and runs them with the hits', () => {
    const h = setup(4, { megaflow: false });
    h.flow({ tableId: 0, match: [inPort(1)], instructions: [{ type: 'write_metadata', metadata: 7n, metadataMask: 0xffn }, gotoTable(1)] });
    h.flow({ tableId: 1, match: [{ field: 'metadata', value: 7n }, ip4, udp, { field: 'udp_dst', value: 5000 }], instructions: [apply(out(2))] });
    h.flow({ tableId: 1, match: [{ field: 'metadata', value: 7n }, ip4, udp, { field: 'udp_dst', value: 5001 }], instructions: [apply(out(3))] });
    const p = h.sw.pipeline;
    const burst = Array.from({ length: 32 }, (_, i) => microflowFrame(i % 8, i)); // 8 new microflows, each 4 times
    h.send(0, ...burst);
    const taken = h.taken();
    const onPort = (dst: number) => burst.map((_, i) => i).filter((i) => (i % 8) % 3 === dst);
    expect(taken[1].map((f) => (f[42] << 8) | f[43])).toEqual(onPort(0));
    expect(taken[2].map((f) => (f[42] << 8) | f[43])).toEqual(onPort(1));
    expect(p.missBatchStats[MissBatchStat.Keys]).toBe(8);
    expect(p.missBatchStats[MissBatchStat.Batchable]).toBe(8);
    expect(p.missBatchStats[MissBatchStat.Lookups]).toBe(2); // table 0 for all eight, then table 1 for all eight
    expect(p.emc.stats[1]).toBe(8); // misses: the first frame of each microflow; the others hit what it cached
    expect(p.emc.stats[0]).toBe(24);
    expect(h.sw.tables.tables[1].list().map((e) => e.packetCount).sort()).toEqual([burst.filter((_, i) => (i % 8) % 3 === 0).length, burst.filter((_, i) => (i % 8) % 3 === 1).length].sort());
  });
});

describe('batched misses: allocation', () => {
  it('resolve 1e6 frames that all miss the cache (more microflows than cache entries, paths already built) with a flat heap', () => {
    const h = setup(3, { megaflow: false, emc: 1 });
    h.flow({ tableId: 0, match: [inPort(1)], instructions: [{ type: 'write_metadata', metadata: 7n, metadataMask: 0xffn }, gotoTable(1)] });
    h.flow({ tableId: 1, match: [{ field: 'metadata', value: 7n }, ip4, udp, { field: 'udp_dst', value: 5000 }], instructions: [apply(out(2))] });
    h.flow({ tableId: 1, match: [{ field: 'metadata', value: 7n }, ip4, udp, { field: 'udp_dst', value: 5001 }], instructions: [apply(out(3))] });
    const src = h.ports[0];
    // 16,384 microflows (two per EMC slot) in a random order: almost every frame misses and is resolved in a batch.
    const order = Array.from({ length: 16_384 }, (_, i) => (i * 7919) % 16_384);
    const data = new Uint8Array(22);
    src.setGenerator(order.map((f) => ethFrame('02:00:00:00:00:0b', '02:00:00:00:00:0a', 0x0800, ipv4Udp('10.0.0.1', '10.0.1.1', 1024 + f, 5000 + (f & 1), data))));
    let keysBefore = 0;
    const grown = heapGrowthForwarding(h, 100_000, 1_000_000, () => (keysBefore = h.sw.pipeline.missBatchStats[MissBatchStat.Batchable]));
    expect(h.ports[1].txFrames + h.ports[2].txFrames).toBe(1_100_000);
    expect(h.sw.pipeline.missBatchStats[MissBatchStat.Batchable] - keysBefore).toBeGreaterThan(500_000);
    expect(grown).toBeLessThan(1024 * 1024);
  });
});
