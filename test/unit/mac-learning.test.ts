import { PerformanceObserver, performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAC_AGING_SEC,
  DEFAULT_MAC_MAX_ENTRIES,
  LEARN_IGNORED,
  LEARN_MOVED,
  LEARN_NEW,
  LEARN_REFRESHED,
  MAC_REFRESH_GRANULARITY_MS,
  MacLearningTable,
  type MacLearningEntry,
} from '../../src/datapath/learning/mac-learning.js';
import { obtainGc } from '../helpers/gc.js';

const MAC_A = 0x00163e000001;
const MAC_B = 0x00163e000002;
const MAC_C = 0x00163e000003;
const MAC_D = 0x00163e000004;
const MAC_E = 0x00163e000005;
const BROADCAST = 0xffffffffffff;
const IPV4_MCAST = 0x01005e000001;
const SEC = 1000;

describe('MacLearningTable basics', () => {
  it('uses the documented defaults and a power-of-two capacity of at least twice maxEntries', () => {
    const t = new MacLearningTable();
    expect(t.maxEntries).toBe(DEFAULT_MAC_MAX_ENTRIES);
    expect(t.agingSec).toBe(DEFAULT_MAC_AGING_SEC);
    expect(t.size).toBe(0);
    const small = new MacLearningTable({ maxEntries: 100, agingSec: 10 });
    expect(small.capacity).toBe(256);
    expect(small.capacity & (small.capacity - 1)).toBe(0);
  });

  it('rejects bad options and aging times', () => {
    expect(() => new MacLearningTable({ maxEntries: 0 })).toThrow(RangeError);
    expect(() => new MacLearningTable({ maxEntries: 1.5 })).toThrow(RangeError);
    expect(() => new MacLearningTable({ agingSec: 0 })).toThrow(RangeError);
    const t = new MacLearningTable();
    expect(() => {
      t.agingSec = Number.NaN;
    }).toThrow(RangeError);
    expect(t.agingSec).toBe(DEFAULT_MAC_AGING_SEC);
  });

  it('learns new, refreshes, moves, and ignores multicast and broadcast sources', () => {
    const t = new MacLearningTable();
    expect(t.learn(10, MAC_A, 1, 0)).toBe(LEARN_NEW);
    expect(t.lookup(10, MAC_A, 0)).toBe(1);
    expect(t.learn(10, MAC_A, 1, 5 * SEC)).toBe(LEARN_REFRESHED);
    expect(t.learn(10, MAC_A, 2, 6 * SEC)).toBe(LEARN_MOVED);
    expect(t.lookup(10, MAC_A, 6 * SEC)).toBe(2);
    expect(t.learn(10, BROADCAST, 3, 0)).toBe(LEARN_IGNORED);
    expect(t.learn(10, IPV4_MCAST, 3, 0)).toBe(LEARN_IGNORED);
    expect(t.lookup(10, BROADCAST, 0)).toBe(-1);
    expect(t.lookup(10, IPV4_MCAST, 0)).toBe(-1);
    // Locally administered unicast (bit 1 set, bit 0 clear) is learned.
    expect(t.learn(10, 0x020000000001, 4, 0)).toBe(LEARN_NEW);
    expect(t.size).toBe(2);
    expect(t.stats).toEqual({ learned: 2, moved: 1, evicted: 0, expired: 0 });
  });

  it('keeps full 32-bit OpenFlow port numbers (LOCAL = 0xfffffffe)', () => {
    const t = new MacLearningTable();
    t.learn(0, MAC_A, 0xfffffffe, 0);
    expect(t.lookup(0, MAC_A, 0)).toBe(0xfffffffe);
  });

  it('separates VLANs: one MAC on two VLANs is two entries', () => {
    const t = new MacLearningTable();
    expect(t.learn(1, MAC_A, 5, 0)).toBe(LEARN_NEW);
    expect(t.learn(4095, MAC_A, 7, 0)).toBe(LEARN_NEW);
    expect(t.size).toBe(2);
    expect(t.lookup(1, MAC_A, 0)).toBe(5);
    expect(t.lookup(4095, MAC_A, 0)).toBe(7);
    expect(t.lookup(0, MAC_A, 0)).toBe(-1);
    // MACs that share the low 32 bits are different keys too.
    expect(t.learn(1, MAC_A + 0x020000000000, 9, 0)).toBe(LEARN_NEW);
    expect(t.lookup(1, MAC_A, 0)).toBe(5);
  });

  it('ages out exactly at agingSec without expire, and expire then removes it', () => {
    const t = new MacLearningTable({ agingSec: 300 });
    const t0 = 12_345.5;
    t.learn(3, MAC_A, 4, t0);
    expect(t.lookup(3, MAC_A, t0 + 300 * SEC - 0.001)).toBe(4);
    expect(t.expire(t0 + 300 * SEC - 0.001)).toBe(0);
    expect(t.lookup(3, MAC_A, t0 + 300 * SEC)).toBe(-1);
    expect(t.entries(t0 + 300 * SEC)).toEqual([]);
    expect(t.size).toBe(1);
    expect(t.expire(t0 + 300 * SEC)).toBe(1);
    expect(t.size).toBe(0);
    expect(t.stats.expired).toBe(1);
  });

  it('re-learns a dead entry that was not swept yet as new', () => {
    const t = new MacLearningTable({ agingSec: 10 });
    t.learn(0, MAC_A, 1, 0);
    expect(t.learn(0, MAC_A, 2, 10 * SEC)).toBe(LEARN_NEW);
    expect(t.lookup(0, MAC_A, 10 * SEC)).toBe(2);
    expect(t.size).toBe(1);
    expect(t.stats).toEqual({ learned: 2, moved: 0, evicted: 0, expired: 1 });
  });

  it('applies a changed agingSec to existing entries', () => {
    const t = new MacLearningTable({ agingSec: 300 });
    t.learn(0, MAC_A, 1, 0);
    t.agingSec = 5;
    expect(t.lookup(0, MAC_A, 4 * SEC)).toBe(1);
    expect(t.lookup(0, MAC_A, 5 * SEC)).toBe(-1);
    t.agingSec = 60;
    expect(t.lookup(0, MAC_A, 5 * SEC)).toBe(1);
  });

  it('evicts the least recently refreshed entry when full, never a refreshed one', () => {
    const t = new MacLearningTable({ maxEntries: 4 });
    t.learn(0, MAC_A, 1, 0 * SEC);
    t.learn(0, MAC_B, 1, 1 * SEC);
    t.learn(0, MAC_C, 1, 2 * SEC);
    t.learn(0, MAC_D, 1, 3 * SEC);
    expect(t.learn(0, MAC_A, 1, 5 * SEC)).toBe(LEARN_REFRESHED);
    expect(t.learn(0, MAC_B, 2, 5 * SEC)).toBe(LEARN_MOVED);
    expect(t.learn(0, MAC_E, 1, 6 * SEC)).toBe(LEARN_NEW);
    expect(t.size).toBe(4);
    expect(t.lookup(0, MAC_C, 6 * SEC)).toBe(-1);
    expect(t.lookup(0, MAC_A, 6 * SEC)).toBe(1);
    expect(t.lookup(0, MAC_B, 6 * SEC)).toBe(2);
    expect(t.lookup(0, MAC_D, 6 * SEC)).toBe(1);
    expect(t.lookup(0, MAC_E, 6 * SEC)).toBe(1);
    expect(t.stats.evicted).toBe(1);
    expect(t.entries(6 * SEC).map((e) => e.mac)).toEqual([MAC_D, MAC_A, MAC_B, MAC_E]);
  });

  it('coalesces refreshes closer than the refresh granularity (no LRU move)', () => {
    const t = new MacLearningTable({ maxEntries: 2 });
    t.learn(0, MAC_A, 1, 0);
    t.learn(0, MAC_B, 1, 100);
    expect(t.learn(0, MAC_A, 1, MAC_REFRESH_GRANULARITY_MS - 1)).toBe(LEARN_REFRESHED);
    t.learn(0, MAC_C, 1, MAC_REFRESH_GRANULARITY_MS - 1);
    expect(t.lookup(0, MAC_A, MAC_REFRESH_GRANULARITY_MS)).toBe(-1);
    expect(t.lookup(0, MAC_B, MAC_REFRESH_GRANULARITY_MS)).toBe(1);
  });

  it('flushes one port and keeps the others; flushAll empties the table', () => {
    const t = new MacLearningTable({ maxEntries: 64 });
    for (let i = 0; i < 40; i++) t.learn(i % 3, MAC_A + i, 1 + (i % 4), i);
    expect(t.size).toBe(40);
    expect(t.flushPort(2)).toBe(10);
    expect(t.size).toBe(30);
    for (let i = 0; i < 40; i++) {
      expect(t.lookup(i % 3, MAC_A + i, 40)).toBe(1 + (i % 4) === 2 ? -1 : 1 + (i % 4));
    }
    expect(t.flushPort(2)).toBe(0);
    t.flushAll();
    expect(t.size).toBe(0);
    expect(t.lookup(0, MAC_A, 40)).toBe(-1);
    expect(t.entries(40)).toEqual([]);
    expect(t.learn(0, MAC_A, 1, 50)).toBe(LEARN_NEW);
  });

  it('reports entries oldest first with whole-second ages', () => {
    const t = new MacLearningTable();
    t.learn(7, MAC_B, 2, 0);
    t.learn(8, MAC_A, 1, 2500);
    expect(t.entries(4000)).toEqual([
      { vlan: 7, mac: MAC_B, port: 2, ageSec: 4 },
      { vlan: 8, mac: MAC_A, port: 1, ageSec: 1 },
    ]);
  });
});

/** Reference model: a Map in LRU order (first = oldest), same aging and refresh rules. */
class ReferenceMacTable {
  readonly map = new Map<string, { vlan: number; mac: number; port: number; seen: number }>();
  readonly stats = { learned: 0, moved: 0, evicted: 0, expired: 0 };
  constructor(
    readonly maxEntries: number,
    public agingMs: number,
  ) {}

  learn(vlan: number, mac: number, port: number, now: number): number {
    if (Math.floor(mac / 2 ** 40) % 2 === 1) return LEARN_IGNORED;
    const key = `${vlan}/${mac}`;
    const e = this.map.get(key);
    if (e) {
      if (now - e.seen >= this.agingMs) {
        this.map.delete(key);
        this.map.set(key, { vlan, mac, port, seen: now });
        this.stats.expired++;
        this.stats.learned++;
        return LEARN_NEW;
      }
      let result = LEARN_REFRESHED;
      if (e.port !== port) {
        e.port = port;
        this.stats.moved++;
        result = LEARN_MOVED;
      }
      if (now - e.seen >= MAC_REFRESH_GRANULARITY_MS) {
        this.map.delete(key);
        e.seen = now;
        this.map.set(key, e);
      }
      return result;
    }
    if (this.map.size >= this.maxEntries) {
      const [oldestKey, oldest] = this.map.entries().next().value!;
      if (now - oldest.seen >= this.agingMs) this.stats.expired++;
      else this.stats.evicted++;
      this.map.delete(oldestKey);
    }
    this.map.set(key, { vlan, mac, port, seen: now });
    this.stats.learned++;
    return LEARN_NEW;
  }

  lookup(vlan: number, mac: number, now: number): number {
    const e = this.map.get(`${vlan}/${mac}`);
    return e && now - e.seen < this.agingMs ? e.port : -1;
  }

  expire(now: number): number {
    let n = 0;
    for (const [k, e] of this.map) {
      if (now - e.seen >= this.agingMs) {
        this.map.delete(k);
        n++;
      }
    }
    this.stats.expired += n;
    return n;
  }

  flushPort(port: number): number {
    let n = 0;
    for (const [k, e] of this.map) {
      if (e.port === port) {
        this.map.delete(k);
        n++;
      }
    }
    return n;
  }

  entries(now: number): MacLearningEntry[] {
    const out: MacLearningEntry[] = [];
    for (const e of this.map.values()) {
      if (now - e.seen < this.agingMs) out.push({ vlan: e.vlan, mac: e.mac, port: e.port, ageSec: Math.floor((now - e.seen) / 1000) });
    }
    return out;
  }
}

const MODEL_VLANS = [0, 1, 4095];
const MODEL_MACS = [
  0x000000000001, 0x000000000002, 0x123400000001, 0x00163e00aa01, 0x020000000003, 0xfeffffffffff,
  0x010000000001, BROADCAST,
];
const MODEL_PORTS = [1, 2, 3, 0xfffffffe];

/** How a learn/lookup passes the MAC: one number, or split words with the low word as uint32 or int32. */
type MacForm = 'number' | 'wordsUint' | 'wordsInt';

type ModelOp =
  | { op: 'learn'; vlan: number; mac: number; port: number; form: MacForm }
  | { op: 'lookup'; vlan: number; mac: number; form: MacForm }
  | { op: 'expire' }
  | { op: 'flushPort'; port: number }
  | { op: 'flushAll' }
  | { op: 'advance'; ms: number }
  | { op: 'setAging'; sec: number };

const vlanArb = fc.constantFrom(...MODEL_VLANS);
const macArb = fc.constantFrom(...MODEL_MACS);
const portArb = fc.constantFrom(...MODEL_PORTS);
const formArb = fc.constantFrom<MacForm>('number', 'wordsUint', 'wordsInt');
const opArb: fc.Arbitrary<ModelOp> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ op: fc.constant('learn' as const), vlan: vlanArb, mac: macArb, port: portArb, form: formArb }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('lookup' as const), vlan: vlanArb, mac: macArb, form: formArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('expire' as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('flushPort' as const), port: portArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('flushAll' as const) }) },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('advance' as const),
      ms: fc.oneof(fc.constantFrom(0, 1, 999, 1000, 1001), fc.integer({ min: 0, max: 6000 })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('setAging' as const), sec: fc.constantFrom(1, 2, 3.5, 5) }) },
);

function macHiWord(mac: number): number {
  return Math.floor(mac / 2 ** 32);
}

function macLoWord(mac: number, form: MacForm): number {
  const lo = mac % 2 ** 32;
  return form === 'wordsInt' ? lo | 0 : lo;
}

function learnVia(t: MacLearningTable, form: MacForm, vlan: number, mac: number, port: number, now: number): number {
  if (form === 'number') return t.learn(vlan, mac, port, now);
  return t.learnWords(vlan, macHiWord(mac), macLoWord(mac, form), port, now);
}

function lookupVia(t: MacLearningTable, form: MacForm, vlan: number, mac: number, now: number): number {
  if (form === 'number') return t.lookup(vlan, mac, now);
  return t.lookupWords(vlan, macHiWord(mac), macLoWord(mac, form), now);
}

describe('MacLearningTable against a reference model', () => {
  it('agrees on results, contents, LRU order, size and stats over random operation sequences', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom(2, 5),
        fc.array(opArb, { minLength: 1, maxLength: 120 }),
        (maxEntries, agingSec, ops) => {
          const table = new MacLearningTable({ maxEntries, agingSec });
          const ref = new ReferenceMacTable(maxEntries, agingSec * 1000);
          let now = 1_000_000;
          for (const o of ops) {
            switch (o.op) {
              case 'learn':
                expect(learnVia(table, o.form, o.vlan, o.mac, o.port, now)).toBe(ref.learn(o.vlan, o.mac, o.port, now));
                break;
              case 'lookup':
                expect(lookupVia(table, o.form, o.vlan, o.mac, now)).toBe(ref.lookup(o.vlan, o.mac, now));
                break;
              case 'expire':
                expect(table.expire(now)).toBe(ref.expire(now));
                break;
              case 'flushPort':
                expect(table.flushPort(o.port)).toBe(ref.flushPort(o.port));
                break;
              case 'flushAll':
                table.flushAll();
                ref.map.clear();
                break;
              case 'advance':
                now += o.ms;
                break;
              case 'setAging':
                table.agingSec = o.sec;
                ref.agingMs = o.sec * 1000;
                break;
            }
            expect(table.size).toBe(ref.map.size);
            expect(table.size).toBeLessThanOrEqual(maxEntries);
            expect(table.stats).toEqual(ref.stats);
            expect(table.entries(now)).toEqual(ref.entries(now));
            for (const vlan of MODEL_VLANS) {
              for (const mac of MODEL_MACS) expect(table.lookup(vlan, mac, now)).toBe(ref.lookup(vlan, mac, now));
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

const WORKING_SET = 1000;
/** The working set as flow-key words (bytes 0..1, bytes 2..5), as the datapath holds MACs. */
const workingSetWords = new Uint32Array(2 * WORKING_SET);
/** The same MACs as numbers in a plain (tagged) array: already boxed, as a slow-path caller holds them. */
const workingSetMacs: unknown[] = [];
for (let i = 0; i < WORKING_SET; i++) {
  const mac = 0x00163e000000 + i * 0x010203;
  workingSetWords[2 * i] = macHiWord(mac);
  workingSetWords[2 * i + 1] = mac % 2 ** 32;
  workingSetMacs.push(mac);
}
workingSetMacs.push('tagged');

/**
 * One learn+lookup pair per frame over the working set, 4 ms per frame: a hot
 * third (refreshes, LRU moves, a port change every 65536 frames) and a cold
 * rest that keeps evicting and backward-shifting. Returns a checksum.
 */
function churnWords(t: MacLearningTable, from: number, to: number): number {
  let sum = 0;
  for (let n = from; n < to; n++) {
    const idx = n % 3 === 0 ? n % WORKING_SET : n % 300;
    const now = n * 4;
    t.learnWords(idx & 7, workingSetWords[2 * idx], workingSetWords[2 * idx + 1] | 0, 1 + ((idx + (n >> 16)) % 13), now);
    const q = (n * 7) % WORKING_SET;
    sum += t.lookupWords(q & 7, workingSetWords[2 * q], workingSetWords[2 * q + 1] | 0, now);
    if (n % 100_000 === 0) t.expire(now);
  }
  return sum;
}

/** churnWords through learn/lookup with the MAC as one (already boxed) number. */
function churnNumbers(t: MacLearningTable, from: number, to: number): number {
  let sum = 0;
  for (let n = from; n < to; n++) {
    const idx = n % 3 === 0 ? n % WORKING_SET : n % 300;
    const now = n * 4;
    t.learn(idx & 7, workingSetMacs[idx] as number, 1 + ((idx + (n >> 16)) % 13), now);
    const q = (n * 7) % WORKING_SET;
    sum += t.lookup(q & 7, workingSetMacs[q] as number, now);
    if (n % 100_000 === 0) t.expire(now);
  }
  return sum;
}

/** Run 'loop' over 1e6 frames after warm-up; report heap growth and GCs that started during the loop. */
async function measureAllocation(
  t: MacLearningTable,
  loop: (t: MacLearningTable, from: number, to: number) => number,
): Promise<{ grown: number; gcs: number; sum: number }> {
  const gc = obtainGc();
  for (let w = 0; w < 4; w++) loop(t, w * 50_000, (w + 1) * 50_000);
  let gcs = 0;
  let loopStart = Number.POSITIVE_INFINITY;
  let loopEnd = Number.POSITIVE_INFINITY;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.startTime >= loopStart && e.startTime <= loopEnd) gcs++;
  });
  obs.observe({ entryTypes: ['gc'] });
  try {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    const before = process.memoryUsage().heapUsed;
    loopStart = performance.now();
    const sum = loop(t, 200_000, 1_200_000);
    loopEnd = performance.now();
    const grown = process.memoryUsage().heapUsed - before;
    await new Promise((resolve) => setImmediate(resolve));
    return { grown, gcs, sum };
  } finally {
    obs.disconnect();
  }
}

describe('MacLearningTable hot path', () => {
  // maxEntries below the working set: besides refreshes and moves, frames keep evicting and backward-shifting.
  it('learnWords+lookupWords: 1e6 pairs allocate nothing (heap < 1 MB, no GC)', async () => {
    const t = new MacLearningTable({ maxEntries: 768, agingSec: 300 });
    const { grown, gcs, sum } = await measureAllocation(t, churnWords);
    expect(grown).toBeLessThan(1 << 20);
    expect(gcs).toBe(0);
    expect(sum).toBeGreaterThan(0);
    expect(t.size).toBe(768);
    expect(t.stats.evicted).toBeGreaterThan(100_000);
    expect(t.stats.moved).toBeGreaterThan(0);
  });

  it('learn+lookup with boxed MAC numbers: 1e6 pairs allocate nothing (heap < 1 MB, no GC)', async () => {
    const t = new MacLearningTable({ maxEntries: 768, agingSec: 300 });
    const { grown, gcs, sum } = await measureAllocation(t, churnNumbers);
    expect(grown).toBeLessThan(1 << 20);
    expect(gcs).toBe(0);
    expect(sum).toBeGreaterThan(0);
    expect(t.stats.evicted).toBeGreaterThan(100_000);
  });
});
