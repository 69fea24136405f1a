import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Classifier, ClsStat, NO_RULE } from '../../src/datapath/rules/classifier.js';
import { K, KEY_WORDS } from '../../src/flow/key.js';
import { ReferenceClassifier } from '../helpers/reference-classifier.js';
import { obtainGc } from '../helpers/gc.js';

type Words = Partial<Record<number, number>>;

function row(words: Words): Uint32Array {
  const r = new Uint32Array(KEY_WORDS);
  for (const [w, v] of Object.entries(words)) r[Number(w)] = v!;
  return r;
}

describe('Classifier basics', () => {
  it('returns NO_RULE when empty and when nothing matches', () => {
    const c = new Classifier();
    expect(c.lookup(row({ [K.InPort]: 1 }), 0)).toBe(NO_RULE);
    c.insert(row({ [K.InPort]: 2 }), 0, row({ [K.InPort]: 0xffffffff }), 0, 10);
    expect(c.lookup(row({ [K.InPort]: 1 }), 0)).toBe(NO_RULE);
  });

  it('picks the highest priority among matching rules in different subtables', () => {
    const c = new Classifier();
    const any = c.insert(row({}), 0, row({}), 0, 0);
    const port = c.insert(row({ [K.InPort]: 3 }), 0, row({ [K.InPort]: 0xffffffff }), 0, 100);
    const dst = c.insert(row({ [K.IpDst0]: 0x0a000000 }), 0, row({ [K.IpDst0]: 0xff000000 }), 0, 200);
    expect(c.subtableCount).toBe(3);
    expect(c.lookup(row({ [K.InPort]: 3, [K.IpDst0]: 0x0a010203 }), 0)).toBe(dst);
    expect(c.lookup(row({ [K.InPort]: 3, [K.IpDst0]: 0x0b010203 }), 0)).toBe(port);
    expect(c.lookup(row({ [K.InPort]: 4 }), 0)).toBe(any);
    c.remove(dst);
    expect(c.lookup(row({ [K.InPort]: 3, [K.IpDst0]: 0x0a010203 }), 0)).toBe(port);
    expect(c.subtableCount).toBe(2);
  });

  it('masks the key on insert and compares words with the high bit set', () => {
    const c = new Classifier();
    const h = c.insert(row({ [K.EthDstHi]: 0xffffffff, [K.TpSrcDst]: 0x8000abcd }), 0, row({ [K.EthDstHi]: 0xff000000, [K.TpSrcDst]: 0xffff0000 }), 0, 5);
    expect(c.lookup(row({ [K.EthDstHi]: 0xff123456, [K.TpSrcDst]: 0x80000001 }), 0)).toBe(h);
    expect(c.lookup(row({ [K.EthDstHi]: 0xfe123456, [K.TpSrcDst]: 0x80000001 }), 0)).toBe(NO_RULE);
    expect(c.lookup(row({ [K.EthDstHi]: 0xff123456, [K.TpSrcDst]: 0x7fff0001 }), 0)).toBe(NO_RULE);
  });

  it('breaks ties between equal priorities in favour of the older rule, across and within subtables', () => {
    const c = new Classifier();
    const byPort = c.insert(row({ [K.InPort]: 1 }), 0, row({ [K.InPort]: 0xffffffff }), 0, 7);
    const byDst = c.insert(row({ [K.IpDst0]: 9 }), 0, row({ [K.IpDst0]: 0xffffffff }), 0, 7);
    const pkt = row({ [K.InPort]: 1, [K.IpDst0]: 9 });
    expect(c.lookup(pkt, 0)).toBe(byPort);
    c.remove(byPort);
    expect(c.lookup(pkt, 0)).toBe(byDst);
    const again = c.insert(row({ [K.InPort]: 1 }), 0, row({ [K.InPort]: 0xffffffff }), 0, 7);
    expect(c.lookup(pkt, 0)).toBe(byDst);
    // Same mask, same key, same priority: the bucket keeps insertion order.
    const twin = c.insert(row({ [K.IpDst0]: 9 }), 0, row({ [K.IpDst0]: 0xffffffff }), 0, 7);
    expect(c.lookup(pkt, 0)).toBe(byDst);
    c.remove(byDst);
    expect(c.lookup(pkt, 0)).toBe(again);
    c.remove(again);
    expect(c.lookup(pkt, 0)).toBe(twin);
  });

  it('stops probing once the next subtable cannot beat the best match', () => {
    const c = new Classifier();
    c.insert(row({ [K.InPort]: 1 }), 0, row({ [K.InPort]: 0xffffffff }), 0, 300);
    c.insert(row({ [K.IpDst0]: 2 }), 0, row({ [K.IpDst0]: 0xffffffff }), 0, 200);
    c.insert(row({}), 0, row({}), 0, 0);
    expect(c.subtables().map((s) => s.maxPriority)).toEqual([300, 200, 0]);
    const before = c.stats[ClsStat.Probes];
    c.lookup(row({ [K.InPort]: 1 }), 0);
    expect(c.stats[ClsStat.Probes] - before).toBe(1);
    c.lookup(row({ [K.InPort]: 5, [K.IpDst0]: 2 }), 0);
    expect(c.stats[ClsStat.Probes] - before).toBe(3);
    c.lookup(row({ [K.InPort]: 5 }), 0);
    expect(c.stats[ClsStat.Probes] - before).toBe(6);
  });

  it('skips an equal-priority subtable whose rules are all newer than the match', () => {
    const c = new Classifier();
    c.insert(row({ [K.InPort]: 1 }), 0, row({ [K.InPort]: 0xffffffff }), 0, 50);
    c.insert(row({ [K.IpDst0]: 2 }), 0, row({ [K.IpDst0]: 0xffffffff }), 0, 50);
    const before = c.stats[ClsStat.Probes];
    c.lookup(row({ [K.InPort]: 1, [K.IpDst0]: 2 }), 0);
    expect(c.stats[ClsStat.Probes] - before).toBe(1);
  });

  it('re-sorts subtables when the max priority of one drops', () => {
    const c = new Classifier();
    const hi = c.insert(row({ [K.InPort]: 1 }), 0, row({ [K.InPort]: 0xffffffff }), 0, 500);
    const lo = c.insert(row({ [K.InPort]: 2 }), 0, row({ [K.InPort]: 0xffffffff }), 0, 10);
    const mid = c.insert(row({ [K.IpDst0]: 2 }), 0, row({ [K.IpDst0]: 0xffffffff }), 0, 100);
    expect(c.subtables().map((s) => s.maxPriority)).toEqual([500, 100]);
    c.remove(hi);
    expect(c.subtables().map((s) => s.maxPriority)).toEqual([100, 10]);
    expect(c.lookup(row({ [K.InPort]: 2, [K.IpDst0]: 2 }), 0)).toBe(mid);
    expect(c.lookup(row({ [K.InPort]: 2 }), 0)).toBe(lo);
  });

  it('holds 20k rules in one subtable through growth and removal', () => {
    const c = new Classifier();
    const mask = row({ [K.IpDst0]: 0xffffffff, [K.TpSrcDst]: 0xffff });
    const handles: number[] = [];
    for (let i = 0; i < 20_000; i++) handles.push(c.insert(row({ [K.IpDst0]: 0x0a000000 + i, [K.TpSrcDst]: i & 0xffff }), 0, mask, 0, 1 + (i % 5)));
    expect(c.size).toBe(20_000);
    for (let i = 0; i < 20_000; i += 997) expect(c.lookup(row({ [K.IpDst0]: 0x0a000000 + i, [K.TpSrcDst]: i }), 0)).toBe(handles[i]);
    for (let i = 0; i < 20_000; i += 2) c.remove(handles[i]);
    for (let i = 0; i < 20_000; i += 499) {
      expect(c.lookup(row({ [K.IpDst0]: 0x0a000000 + i, [K.TpSrcDst]: i }), 0)).toBe(i % 2 === 0 ? NO_RULE : handles[i]);
    }
    for (let i = 1; i < 20_000; i += 2) c.remove(handles[i]);
    expect(c.size).toBe(0);
    expect(c.subtableCount).toBe(0);
  });

  it('findExact needs the same rows and priority', () => {
    const c = new Classifier();
    const mask = row({ [K.InPort]: 0xffffffff });
    const h = c.insert(row({ [K.InPort]: 4 }), 0, mask, 0, 9);
    expect(c.findExact(row({ [K.InPort]: 4 }), 0, mask, 0, 9)).toBe(h);
    expect(c.findExact(row({ [K.InPort]: 4 }), 0, mask, 0, 8)).toBe(NO_RULE);
    expect(c.findExact(row({ [K.InPort]: 5 }), 0, mask, 0, 9)).toBe(NO_RULE);
    expect(c.findExact(row({ [K.InPort]: 4 }), 0, row({ [K.InPort]: 0xfffffffe }), 0, 9)).toBe(NO_RULE);
  });

  it('findOverlap finds same-priority rules a packet could match together with a new one', () => {
    const c = new Classifier();
    const port1 = c.insert(row({ [K.InPort]: 1 }), 0, row({ [K.InPort]: 0xffffffff }), 0, 10);
    c.insert(row({ [K.IpDst0]: 0x0a000000 }), 0, row({ [K.IpDst0]: 0xff000000 }), 0, 20);
    // Covered subtable (mask in_port is inside the new mask): one probe.
    expect(c.findOverlap(row({ [K.InPort]: 1, [K.IpDst0]: 7 }), 0, row({ [K.InPort]: 0xffffffff, [K.IpDst0]: 0xffffffff }), 0, 10)).toBe(port1);
    expect(c.findOverlap(row({ [K.InPort]: 2, [K.IpDst0]: 7 }), 0, row({ [K.InPort]: 0xffffffff, [K.IpDst0]: 0xffffffff }), 0, 10)).toBe(NO_RULE);
    // Not covered (new rule wildcards in_port): a scan; any in_port overlaps.
    expect(c.findOverlap(row({ [K.IpDst0]: 7 }), 0, row({ [K.IpDst0]: 0xffffffff }), 0, 10)).toBe(port1);
    // Different priority never overlaps.
    expect(c.findOverlap(row({ [K.IpDst0]: 7 }), 0, row({ [K.IpDst0]: 0xffffffff }), 0, 11)).toBe(NO_RULE);
    // Partial masks: 10.0.0.0/8 vs 11.0.0.0/16 are disjoint; vs 10.1.0.0/16 overlap.
    expect(c.findOverlap(row({ [K.IpDst0]: 0x0b000000 }), 0, row({ [K.IpDst0]: 0xffff0000 }), 0, 20)).toBe(NO_RULE);
    expect(c.findOverlap(row({ [K.IpDst0]: 0x0a010000 }), 0, row({ [K.IpDst0]: 0xffff0000 }), 0, 20)).not.toBe(NO_RULE);
  });

  it('rejects priorities outside 0..65535', () => {
    const c = new Classifier();
    expect(() => c.insert(row({}), 0, row({}), 0, 70000)).toThrow(RangeError);
    expect(() => c.insert(row({}), 0, row({}), 0, -1)).toThrow(RangeError);
  });
});

/* Differential test: a small palette of masks over a few words and a small value domain make collisions, ties and hits frequent. */
const MASKS: Words[] = [
  {},
  { [K.InPort]: 0xffffffff },
  { [K.InPort]: 0xffffffff, [K.EthTypeVlan]: 0xffff0000 },
  { [K.EthTypeVlan]: 0xffff0000, [K.IpDst0]: 0xffffff00 },
  { [K.EthTypeVlan]: 0xffff0000, [K.IpProtoTosTtlFrag]: 0xff000000, [K.TpSrcDst]: 0x0000ffff },
  { [K.EthDstHi]: 0x80000001 },
  { [K.InPort]: 0xffffffff, [K.IpDst0]: 0xffffffff, [K.TpSrcDst]: 0xffffffff },
];
const WORDS = [K.InPort, K.EthDstHi, K.EthTypeVlan, K.IpProtoTosTtlFrag, K.IpDst0, K.TpSrcDst];
const VALUES = [0, 1, 0x80000001, 0xffffffff, 0x08000000, 0x0a000001];
const keyArb = fc.array(fc.constantFrom(...VALUES), { minLength: WORDS.length, maxLength: WORDS.length }).map((vals) => {
  const r = new Uint32Array(KEY_WORDS);
  WORDS.forEach((w, i) => (r[w] = vals[i]));
  return r;
});
type Op = { kind: 'insert'; mask: number; key: Uint32Array; priority: number } | { kind: 'remove'; pick: number };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('insert' as const), mask: fc.nat(MASKS.length - 1), key: keyArb, priority: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat(1000) }) },
);

describe('Classifier vs ReferenceClassifier', () => {
  it('agrees on every lookup after every insert/remove', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), fc.array(keyArb, { minLength: 8, maxLength: 8 }), (ops, probes) => {
        const c = new Classifier();
        const ref = new ReferenceClassifier();
        const live: { h: number; key: Uint32Array }[] = [];
        for (const op of ops) {
          if (op.kind === 'insert') {
            const mask = row(MASKS[op.mask]);
            const h = c.insert(op.key, 0, mask, 0, op.priority);
            ref.insert(h, op.key, mask, op.priority);
            live.push({ h, key: op.key });
          } else if (live.length > 0) {
            const [gone] = live.splice(op.pick % live.length, 1);
            c.remove(gone.h);
            ref.remove(gone.h);
          }
          expect(c.size).toBe(live.length);
          for (const k of probes) expect(c.lookup(k, 0)).toBe(ref.lookup(k, 0));
          for (const { key } of live) expect(c.lookup(key, 0)).toBe(ref.lookup(key, 0));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('Classifier hot path', () => {
  it('does not allocate: 1e6 lookups over 10k rules grow the heap by < 1 MB', () => {
    const c = new Classifier();
    const masks = [
      row({ [K.InPort]: 0xffffffff, [K.EthDstHi]: 0xffffffff, [K.EthDstLoSrcHi]: 0xffff0000 }),
      row({ [K.EthTypeVlan]: 0xffff0000, [K.IpDst0]: 0xffffff00 }),
      row({ [K.EthTypeVlan]: 0xffff0000, [K.IpProtoTosTtlFrag]: 0xff000000, [K.IpDst0]: 0xffffffff, [K.TpSrcDst]: 0xffff }),
      row({}),
    ];
    for (let i = 0; i < 10_000; i++) {
      const m = i % 3;
      const k = row({ [K.InPort]: i & 7, [K.EthDstHi]: 0x02000000 + i, [K.EthTypeVlan]: 0x08000000, [K.IpProtoTosTtlFrag]: 0x06000000, [K.IpDst0]: 0x0a000000 + i * 256, [K.TpSrcDst]: i & 0xffff });
      c.insert(k, 0, masks[m], 0, 100 + m * 10);
    }
    c.insert(row({}), 0, masks[3], 0, 0);
    const n = 1024;
    const keys = new Uint32Array(n * KEY_WORDS);
    for (let i = 0; i < n; i++) {
      const b = i * KEY_WORDS;
      keys[b + K.InPort] = i & 7;
      keys[b + K.EthDstHi] = 0x02000000 + i * 7;
      keys[b + K.EthTypeVlan] = 0x08000000;
      keys[b + K.IpProtoTosTtlFrag] = 0x06000000;
      keys[b + K.IpDst0] = 0x0a000000 + i * 256 * 3;
      keys[b + K.TpSrcDst] = (i * 3) & 0xffff;
    }
    let sum = 0;
    const run = (count: number) => {
      for (let i = 0; i < count; i++) sum += c.lookup(keys, (i & (n - 1)) * KEY_WORDS);
    };
    run(200_000);
    const gc = obtainGc();
    gc();
    const before = process.memoryUsage().heapUsed;
    run(1_000_000);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(sum).toBeGreaterThan(0);
    expect(grown).toBeLessThan(1024 * 1024);
  });
});
