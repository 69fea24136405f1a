import { describe, expect, it } from 'vitest';
import { EMC_ENTRIES, EMC_SHIFT, EmcStat, ExactMatchCache, NO_PROGRAM } from '../../src/datapath/rules/emc.js';
import { K, KEY_WORDS } from '../../src/flow/key.js';
import { MAX_GENERATION, PipelineTables } from '../../src/datapath/rules/pipeline-tables.js';
import { obtainGc } from '../helpers/gc.js';

/** n distinct key rows (in_port, IPv4 dst, ports vary; high bits set in some words). */
function keyRows(n: number, salt = 0): Uint32Array {
  const keys = new Uint32Array(n * KEY_WORDS);
  for (let i = 0; i < n; i++) {
    const b = i * KEY_WORDS;
    keys[b + K.InPort] = 1 + (i & 3);
    keys[b + K.EthDstHi] = 0x02000000;
    keys[b + K.EthTypeVlan] = 0x08000000;
    keys[b + K.IpDst0] = (0xc0a80000 + i + salt * 0x10000) >>> 0;
    keys[b + K.TpSrcDst] = ((i * 7919) ^ 0x80000000) >>> 0;
  }
  return keys;
}

function cache(opts: { insertInvProb?: number; seed?: number } = {}) {
  const generation = new Int32Array([1]);
  const emc = new ExactMatchCache({ generation, seed: opts.seed ?? 12345, insertInvProb: opts.insertInvProb });
  return { emc, generation };
}

describe('ExactMatchCache', () => {
  it('misses, then hits the program inserted for exactly that key', () => {
    const { emc } = cache();
    const keys = keyRows(3);
    expect(emc.lookup(keys, 0)).toBe(NO_PROGRAM);
    emc.insert(keys, 0, 42);
    emc.insert(keys, KEY_WORDS, 7);
    expect(emc.lookup(keys, 0)).toBe(42);
    expect(emc.lookup(keys, KEY_WORDS)).toBe(7);
    expect(emc.lookup(keys, 2 * KEY_WORDS)).toBe(NO_PROGRAM);
    // Any single word differing is a different key.
    const other = keys.slice(0, KEY_WORDS);
    other[K.NdTarget3] = 1;
    expect(emc.lookup(other, 0)).toBe(NO_PROGRAM);
    expect(emc.stats[EmcStat.Hits]).toBe(2);
    expect(emc.stats[EmcStat.Misses]).toBe(3);
  });

  it('caches IPv4 keys on their populated words and any other row whole, exactly, and gives the rows back', () => {
    const { emc } = cache();
    const clean = keyRows(1);
    const rows = [clean];
    // The same IPv4 key with one word an IPv4 frame never populates set (a generic-kind row), for each such word.
    for (const w of [1, 2, 3, 4, 10, 13, 14, 15, 17, 18, 19, 20, 23, 24, 25, 26, 27, 28, 29]) {
      const r = clean.slice();
      r[w] = 0x80000000 >>> (w & 7);
      rows.push(r);
    }
    const ipv6 = clean.slice();
    ipv6[K.EthTypeVlan] = 0x86dd0000;
    rows.push(ipv6);
    rows.forEach((r, i) => emc.insert(r, 0, 100 + i));
    rows.forEach((r, i) => expect(emc.lookup(r, 0)).toBe(100 + i));
    expect(emc.liveEntries()).toBe(rows.length);
    const stored = emc.liveSlots().map((s) => Array.from(emc.keyOf(s)).join()).sort();
    expect(stored).toEqual(rows.map((r) => Array.from(r).join()).sort());
  });

  it('overwrites the program of a key already cached', () => {
    const { emc } = cache();
    const keys = keyRows(1);
    emc.insert(keys, 0, 1);
    emc.insert(keys, 0, 2);
    expect(emc.lookup(keys, 0)).toBe(2);
    expect(emc.liveEntries()).toBe(1);
  });

  it('forgets everything when the generation moves, and caches again under the new one', () => {
    const { emc, generation } = cache();
    const keys = keyRows(100);
    for (let i = 0; i < 100; i++) emc.insert(keys, i * KEY_WORDS, i);
    expect(emc.lookup(keys, 50 * KEY_WORDS)).toBe(50);
    generation[0]++;
    for (let i = 0; i < 100; i++) expect(emc.lookup(keys, i * KEY_WORDS)).toBe(NO_PROGRAM);
    emc.insert(keys, 3 * KEY_WORDS, 99);
    expect(emc.lookup(keys, 3 * KEY_WORDS)).toBe(99);
    expect(emc.liveEntries()).toBe(1);
  });

  it('uses the second candidate slot when the first is taken', () => {
    const { emc } = cache({ seed: 777 });
    // Find three keys sharing their first slot but not their second.
    const pool = keyRows(50_000, 1);
    const bySlot = new Map<number, number[]>();
    let trio: number[] | undefined;
    for (let i = 0; i < 50_000 && !trio; i++) {
      const h = emc.hash(pool, i * KEY_WORDS);
      const s = h & (EMC_ENTRIES - 1);
      const list = bySlot.get(s) ?? [];
      if (list.every((j) => ((emc.hash(pool, j * KEY_WORDS) >>> EMC_SHIFT) & (EMC_ENTRIES - 1)) !== ((h >>> EMC_SHIFT) & (EMC_ENTRIES - 1)))) list.push(i);
      bySlot.set(s, list);
      if (list.length === 3) trio = list;
    }
    expect(trio).toBeDefined();
    const [a, b, c] = trio!;
    emc.insert(pool, a * KEY_WORDS, 1);
    emc.insert(pool, b * KEY_WORDS, 2);
    expect(emc.lookup(pool, a * KEY_WORDS)).toBe(1);
    expect(emc.lookup(pool, b * KEY_WORDS)).toBe(2);
    emc.insert(pool, c * KEY_WORDS, 3);
    expect(emc.lookup(pool, c * KEY_WORDS)).toBe(3);
    expect(emc.stats[EmcStat.Evictions]).toBe(0);
  });

  it('evicts when full but never holds more than EMC_ENTRIES live entries, and recent keys mostly hit', () => {
    const { emc } = cache();
    const n = 3 * EMC_ENTRIES;
    const keys = keyRows(n, 2);
    for (let i = 0; i < n; i++) emc.insert(keys, i * KEY_WORDS, i);
    expect(emc.liveEntries()).toBeLessThanOrEqual(EMC_ENTRIES);
    expect(emc.stats[EmcStat.Evictions]).toBeGreaterThan(0);
    let hits = 0;
    for (let i = n - 1000; i < n; i++) {
      const p = emc.lookup(keys, i * KEY_WORDS);
      if (p !== NO_PROGRAM) {
        expect(p).toBe(i);
        hits++;
      }
    }
    expect(hits).toBeGreaterThan(700);
  });

  it('insertInvProb 0 turns the cache off; 100 inserts about 1 miss in 100', () => {
    const off = cache({ insertInvProb: 0 }).emc;
    const keys = keyRows(10_000, 3);
    for (let i = 0; i < 10_000; i++) off.insert(keys, i * KEY_WORDS, i);
    expect(off.liveEntries()).toBe(0);
    const rare = cache({ insertInvProb: 100 }).emc;
    for (let i = 0; i < 10_000; i++) rare.insert(keys, i * KEY_WORDS, i);
    expect(rare.stats[EmcStat.Inserts]).toBeGreaterThan(40);
    expect(rare.stats[EmcStat.Inserts]).toBeLessThan(200);
    expect(() => rare.setInsertInvProb(-1)).toThrow(RangeError);
  });

  it('clear() empties the cache; a generation wrap in the pipeline tables clears it', () => {
    const tables = new PipelineTables({ nTables: 1 });
    const emc = new ExactMatchCache({ generation: tables.generationCell, seed: 5 });
    tables.onGenerationWrap(() => emc.clear());
    const keys = keyRows(1);
    emc.insert(keys, 0, 9);
    expect(emc.lookup(keys, 0)).toBe(9);
    emc.clear();
    expect(emc.lookup(keys, 0)).toBe(NO_PROGRAM);
    // An entry stored under generation 1 must not come back when the counter wraps round to 1.
    tables.generationCell[0] = 1;
    emc.insert(keys, 0, 9);
    tables.generationCell[0] = MAX_GENERATION;
    tables.bumpGeneration();
    expect(tables.generation).toBe(1);
    expect(emc.lookup(keys, 0)).toBe(NO_PROGRAM);
  });
});

describe('ExactMatchCache hot path', () => {
  it('does not allocate: 1e6 lookups and inserts grow the heap by < 1 MB', () => {
    const { emc, generation } = cache();
    const n = 4096;
    const keys = keyRows(n, 4);
    let sum = 0;
    const run = (count: number) => {
      for (let i = 0; i < count; i++) {
        const base = ((i * 13) & (n - 1)) * KEY_WORDS;
        const h = emc.hash(keys, base);
        const p = emc.lookupHashed(keys, base, h);
        if (p === NO_PROGRAM) emc.insertHashed(keys, base, h, i & 0xffff);
        else sum += p;
        if ((i & 0xffff) === 0) generation[0]++;
      }
    };
    run(200_000);
    const gc = obtainGc();
    gc();
    const before = process.memoryUsage().heapUsed;
    run(1_000_000);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(sum).toBeGreaterThan(0);
    expect(emc.stats[EmcStat.Hits]).toBeGreaterThan(emc.stats[EmcStat.Misses]);
    expect(grown).toBeLessThan(1024 * 1024);
  });
});
