/*
 * Exact-match cache (EMC) in front of the whole rule pipeline, after OVS
 * lib/dpif-netdev-dfc.h: a full flow-key row -> the integer id of the action
 * program the pipeline resolved for it.
 *
 * What
 *   lookup(keys, base)           -> program id, or NO_PROGRAM on a miss
 *   insert(keys, base, program)  after the pipeline resolved a miss
 *   peek / liveSlots             read-only views for traces and dump-cache
 *   The program id means whatever the pipeline says (an index into its
 *   program table); the cache never interprets it.
 *
 * Design
 *   - EMC_ENTRIES = 2^EMC_SHIFT = 8192 entries, struct of arrays: key rows
 *     (Uint32Array, KEY_WORDS per entry), a 30-bit hash, the program id and
 *     the generation the entry was stored in.
 *   - A key hashes (multiply-rotate over its populated key words in two lanes, murmur3
 *     finaliser, a per-cache random seed so crafted frames cannot aim at
 *     chosen slots) to two candidate slots: hash bits 0..12 and 13..25 (OVS
 *     EM_FLOW_HASH_SEGS = 2).
 *   - Invalidation by generation: the pipeline owns one Int32Array cell with
 *     the current generation (pipeline-tables.ts) and bumps it on every change
 *     that can alter a lookup result (flow-mod, group-mod, meter-mod, port
 *     change, timeout). An entry is alive only while its stored generation
 *     equals the cell: one bump invalidates the whole cache in O(1), with no
 *     reference counts and no sweep. When the generation wraps, the owner
 *     calls clear().
 *   - Insertion: an entry holding the same key is overwritten in place;
 *     otherwise a dead (stale or empty) candidate is used, else the candidate
 *     with the smaller hash is evicted (OVS's rule).
 *   - Probabilistic insertion knob `insertInvProb`: insert on 1 miss in N.
 *     OVS defaults to N = 100 so that a flood of one-packet flows (scans,
 *     many parallel connections) cannot thrash the cache. Our default is
 *     N = 1 (always insert): linc-ts mostly bridges a few VMs with few, long
 *     flows, where every miss is worth caching and thrash is not a risk. Set
 *     100 for many-flow traffic, 0 to turn the cache off.
 *
 * Invariants
 * - Generation 0 is never current (the pipeline starts at 1), so a cleared or
 *   never-written entry (gen 0) never hits.
 * - A hit means: stored gen === current gen, stored hash === hash, and all
 *   KEY_WORDS words equal. No other state is trusted.
 * - Hashes are 30-bit non-negative integers so that they stay small integers
 *   (V8 Smis) when passed between functions: no boxing.
 * - lookup / insert allocate nothing, build no strings and never throw.
 *
 * Concurrency: owned by the datapath on the event loop; not shared.
 */

import { hashFinish } from './classifier.js';
import { ETH_TYPE_IPV4, FLOW_KEY_LAYOUT_VERSION, K, KEY_WORDS } from '../../flow/key.js';

/** The key layout hashIpv4 was written for (see flow/key.ts). */
const EMC_LAYOUT_VERSION = 1;
if (FLOW_KEY_LAYOUT_VERSION !== EMC_LAYOUT_VERSION) {
  throw new Error(`datapath/emc: written for flow-key layout ${EMC_LAYOUT_VERSION}, key is ${FLOW_KEY_LAYOUT_VERSION}: revisit it`);
}
if (KEY_WORDS % 3 !== 0) throw new Error('datapath/emc: sameKey compares in 3 lanes: KEY_WORDS must be a multiple of 3');

export const EMC_SHIFT = 13;
export const EMC_ENTRIES = 1 << EMC_SHIFT;
const EMC_MASK = EMC_ENTRIES - 1;
const LANE_B_BASIS = 0x1b873593;
/** A lookup miss. */
export const NO_PROGRAM = -1;
/** Default insertion knob: insert every miss (see the module comment). */
export const DEFAULT_EMC_INSERT_INV_PROB = 1;

/** EMC counters (indexes into ExactMatchCache.stats). Hits + Misses = lookups. */
export const enum EmcStat {
  Hits = 0,
  Misses = 1,
  Inserts = 2,
  /** An insert displaced a live entry holding another key. */
  Evictions = 3,
}

export interface EmcOptions {
  /** The generation cell (index 0) shared with the pipeline tables. */
  generation: Int32Array;
  /** Insert on 1 miss in N; 1 = always (default), 0 = cache disabled. */
  insertInvProb?: number;
  /** Hash seed; random by default. */
  seed?: number;
}

export class ExactMatchCache {
  readonly keys = new Uint32Array(EMC_ENTRIES * KEY_WORDS);
  readonly hashes = new Int32Array(EMC_ENTRIES);
  readonly programs = new Int32Array(EMC_ENTRIES).fill(NO_PROGRAM);
  readonly gens = new Int32Array(EMC_ENTRIES);
  /** EmcStat counters. */
  readonly stats = new Float64Array(4);
  private readonly generation: Int32Array;
  private readonly seed: number;
  /** xorshift32 state, in a typed array so updates never box. */
  private readonly rng = new Int32Array(1);
  private insertInvProb = DEFAULT_EMC_INSERT_INV_PROB;
  /** Insert when (rng >>> 0) <= threshold (unsigned); -1 = never. */
  private threshold = 0;

  constructor(opts: EmcOptions) {
    this.generation = opts.generation;
    this.seed = (opts.seed ?? (Math.random() * 0x100000000) >>> 0) | 0;
    this.rng[0] = (this.seed ^ 0x6d2b79f5) | 1;
    this.setInsertInvProb(opts.insertInvProb ?? DEFAULT_EMC_INSERT_INV_PROB);
  }

  /** Insert on 1 miss in `n` (1 = always, 0 = never: the cache is then off). */
  setInsertInvProb(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`emc insertInvProb must be a non-negative integer, got ${n}`);
    this.insertInvProb = n;
    this.threshold = n === 0 ? -1 : Math.floor(0x100000000 / n) - 1;
  }

  get insertProbabilityInverse(): number {
    return this.insertInvProb;
  }

  /**
   * 30-bit hash of key row keys[base..]: two independent multiply-rotate
   * lanes over alternate words (halves the multiply dependency chain), then
   * the murmur3 finaliser for avalanche. Only the words the frame's kind can
   * populate are hashed (OVS hashes a miniflow's populated words): for IPv4,
   * metadata..L2, the IPv4 addresses and the L4 words (16 of 30); the others
   * are 0 by the parser's invariant. Skipping words cannot make a lookup
   * wrong, since a hit compares the whole row; it only saves time.
   */
  hash(keys: Uint32Array, base: number): number {
    if (keys[base + K.EthTypeVlan] >>> 16 === ETH_TYPE_IPV4) return this.hashIpv4(keys, base);
    let a = this.seed;
    let b = LANE_B_BASIS;
    let w = 0;
    for (; w + 1 < KEY_WORDS; w += 2) {
      a = Math.imul(((a << 5) | (a >>> 27)) ^ keys[base + w], 0x9e3779b1);
      b = Math.imul(((b << 5) | (b >>> 27)) ^ keys[base + w + 1], 0x85ebca77);
    }
    if (w < KEY_WORDS) a = Math.imul(((a << 5) | (a >>> 27)) ^ keys[base + w], 0x9e3779b1);
    return hashFinish(a ^ Math.imul(b, 0x27d4eb2f), KEY_WORDS) >>> 2;
  }

  /** hash() of an IPv4 key: words 0..K.IpSrc0, K.IpDst0, K.TpSrcDst, K.TcpFlags. */
  private hashIpv4(keys: Uint32Array, base: number): number {
    let a = this.seed;
    let b = LANE_B_BASIS;
    for (let w = 0; w < K.IpSrc0; w += 2) {
      a = Math.imul(((a << 5) | (a >>> 27)) ^ keys[base + w], 0x9e3779b1);
      b = Math.imul(((b << 5) | (b >>> 27)) ^ keys[base + w + 1], 0x85ebca77);
    }
    a = Math.imul(((a << 5) | (a >>> 27)) ^ keys[base + K.IpSrc0], 0x9e3779b1);
    b = Math.imul(((b << 5) | (b >>> 27)) ^ keys[base + K.IpDst0], 0x85ebca77);
    a = Math.imul(((a << 5) | (a >>> 27)) ^ keys[base + K.TpSrcDst], 0x9e3779b1);
    b = Math.imul(((b << 5) | (b >>> 27)) ^ keys[base + K.TcpFlags], 0x85ebca77);
    return hashFinish(a ^ Math.imul(b, 0x27d4eb2f), 16) >>> 2;
  }

  /** Program id cached for key row keys[base..], or NO_PROGRAM. Counts a hit or a miss. */
  lookup(keys: Uint32Array, base: number): number {
    return this.lookupHashed(keys, base, this.hash(keys, base));
  }

  /** lookup() with the hash already computed (the pipeline reuses it for insert). */
  lookupHashed(keys: Uint32Array, base: number, h: number): number {
    const gen = this.generation[0];
    let s = h & EMC_MASK;
    if (this.gens[s] === gen && this.hashes[s] === h && this.sameKey(s, keys, base)) {
      this.stats[EmcStat.Hits] += 1;
      return this.programs[s];
    }
    s = (h >>> EMC_SHIFT) & EMC_MASK;
    if (this.gens[s] === gen && this.hashes[s] === h && this.sameKey(s, keys, base)) {
      this.stats[EmcStat.Hits] += 1;
      return this.programs[s];
    }
    this.stats[EmcStat.Misses] += 1;
    return NO_PROGRAM;
  }

  /** lookupHashed() that counts nothing (the batched miss scan looks ahead). */
  probe(keys: Uint32Array, base: number, h: number): number {
    const gen = this.generation[0];
    let s = h & EMC_MASK;
    if (this.gens[s] === gen && this.hashes[s] === h && this.sameKey(s, keys, base)) return this.programs[s];
    s = (h >>> EMC_SHIFT) & EMC_MASK;
    if (this.gens[s] === gen && this.hashes[s] === h && this.sameKey(s, keys, base)) return this.programs[s];
    return NO_PROGRAM;
  }

  /** Caches `program` for key row keys[base..] (subject to the insertion knob). */
  insert(keys: Uint32Array, base: number, program: number): void {
    this.insertHashed(keys, base, this.hash(keys, base), program);
  }

  insertHashed(keys: Uint32Array, base: number, h: number, program: number): void {
    if (this.threshold !== 0xffffffff && !this.sample()) return;
    const gen = this.generation[0];
    const gens = this.gens, hashes = this.hashes;
    const s1 = h & EMC_MASK;
    const s2 = (h >>> EMC_SHIFT) & EMC_MASK;
    let s: number;
    if (hashes[s1] === h && this.sameKey(s1, keys, base)) s = s1;
    else if (hashes[s2] === h && this.sameKey(s2, keys, base)) s = s2;
    else {
      if (gens[s1] !== gen) s = s1;
      else if (gens[s2] !== gen) s = s2;
      else s = hashes[s1] <= hashes[s2] ? s1 : s2;
      if (gens[s] === gen) this.stats[EmcStat.Evictions] += 1;
      const ek = this.keys;
      const o = s * KEY_WORDS;
      for (let w = 0; w < KEY_WORDS; w++) ek[o + w] = keys[base + w];
      hashes[s] = h;
    }
    this.programs[s] = program;
    gens[s] = gen;
    this.stats[EmcStat.Inserts] += 1;
  }

  /** Forgets every entry (the generation wrapped, or a test wants a cold cache). */
  clear(): void {
    this.gens.fill(0);
    this.programs.fill(NO_PROGRAM);
  }

  /** Live entries (diagnostics; O(EMC_ENTRIES)). */
  liveEntries(): number {
    const gen = this.generation[0];
    let n = 0;
    for (let s = 0; s < EMC_ENTRIES; s++) if (this.gens[s] === gen) n++;
    return n;
  }

  /** The program cached for key row keys[base..], or NO_PROGRAM; counts nothing (diagnostics: traces). */
  peek(keys: Uint32Array, base: number): number {
    const h = this.hash(keys, base), gen = this.generation[0];
    for (const s of [h & EMC_MASK, (h >>> EMC_SHIFT) & EMC_MASK]) {
      if (this.gens[s] === gen && this.hashes[s] === h && this.sameKey(s, keys, base)) return this.programs[s];
    }
    return NO_PROGRAM;
  }

  /** Slots of the live entries, in slot order (diagnostics: dump-cache; O(EMC_ENTRIES), allocates). */
  liveSlots(): number[] {
    const gen = this.generation[0];
    const out: number[] = [];
    for (let s = 0; s < EMC_ENTRIES; s++) if (this.gens[s] === gen) out.push(s);
    return out;
  }

  /**
   * Whole-row compare without a branch per word (called only when the 30-bit
   * hashes agree, so almost always equal), in three independent lanes
   * (KEY_WORDS is a multiple of 3, checked at load).
   */
  private sameKey(s: number, keys: Uint32Array, base: number): boolean {
    const ek = this.keys;
    const o = s * KEY_WORDS;
    let d = 0, y = 0, z = 0;
    for (let w = 0; w < KEY_WORDS; w += 3) {
      d |= ek[o + w] ^ keys[base + w];
      y |= ek[o + w + 1] ^ keys[base + w + 1];
      z |= ek[o + w + 2] ^ keys[base + w + 2];
    }
    return (d | y | z) === 0;
  }

  /** One xorshift32 draw against the threshold. */
  private sample(): boolean {
    if (this.threshold < 0) return false;
    let x = this.rng[0];
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng[0] = x;
    return x >>> 0 <= this.threshold;
  }
}
