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
 *   - EMC_ENTRIES = 2^EMC_SHIFT = 8192 entries in two arrays: key rows
 *     (Uint32Array, ROW words per entry), and per entry in one 16-byte cell
 *     the generation it was stored in, a 30-bit hash and the program id (a
 *     probe reads one meta line, then one key line).
 *   - Populated words only (OVS hashes and compares a miniflow's populated
 *     words): a key is of kind IPv4 when its eth_type is IPv4 and the 19
 *     words a received IPv4 frame never populates (IPV4_ZERO: metadata and
 *     tunnel id, the MPLS word, the rest of the IPv6 addresses, flow label,
 *     ARP/ND words) are all 0, as the parser leaves them (checked on the
 *     frame's own row, just written, so cheap); else generic. The kind is
 *     bit 29 of the hash. An IPv4 key is hashed over, stored as and compared
 *     on its 11 populated words (IPV4_WORDS, packed at the head of the row),
 *     a generic key over all KEY_WORDS. Equal hashes imply equal kinds, and
 *     two IPv4-kind keys equal on their 11 words are equal on all 30 (the
 *     other 19 are 0 in both): a hit is still an exact whole-key match.
 *   - A key hashes (multiply-rotate over those words in two lanes, murmur3
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
 * - A hit means: stored gen === current gen, stored hash === hash (so the
 *   same kind), and the kind's words equal: the whole keys are equal. No
 *   other state is trusted.
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

/** The words an IPv4 key can populate, in row order: metadata..L2, the L3 header word, IPv4 src/dst, L4 ports, TCP flags. */
const IPV4_WORDS = [K.InPort, K.EthDstHi, K.EthDstLoSrcHi, K.EthSrcLo, K.EthTypeVlan, K.VlanInner, K.IpProtoTosTtlFrag, K.IpSrc0, K.IpDst0, K.TpSrcDst, K.TcpFlags];
/** The others: 0 in every IPv4 key the parser builds (checked per key: see ipv4Clean). */
const IPV4_ZERO = Array.from({ length: KEY_WORDS }, (_, w) => w).filter((w) => !IPV4_WORDS.includes(w));
if (IPV4_WORDS.join() !== '0,5,6,7,8,9,11,12,16,21,22' || IPV4_ZERO.join() !== '1,2,3,4,10,13,14,15,17,18,19,20,23,24,25,26,27,28,29') {
  throw new Error('datapath/emc: the IPv4 word lists no longer match the unrolled code');
}
/** Entry row stride in words (the IPv4 words packed first). */
const ROW = 32;
/** Words per entry in `meta`, and their places (the generation is word 0). */
const META = 4;
const M_HASH = 1;
const M_PROG = 2;
/** Hash bit 29: the key is of kind IPv4. */
const KIND_IPV4 = 1 << 29;

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
  /** Entry key rows, ROW words each: an IPv4-kind key's IPV4_WORDS packed, else the whole row (read them with keyOf). */
  private readonly keys = new Uint32Array(EMC_ENTRIES * ROW);
  /** Per entry META words: the generation it was stored in, its hash, its program (one probe reads one line). */
  private readonly meta = new Int32Array(EMC_ENTRIES * META);
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
    for (let s = 0; s < EMC_ENTRIES; s++) this.meta[s * META + M_PROG] = NO_PROGRAM;
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
   * 30-bit hash of key row keys[base..]: its kind in bit 29 (module
   * comment), over the kind's words two independent multiply-rotate lanes
   * on alternate words (halves the multiply dependency chain), then the
   * murmur3 finaliser for avalanche, in bits 0..28.
   */
  hash(keys: Uint32Array, base: number): number {
    if (keys[base + K.EthTypeVlan] >>> 16 === ETH_TYPE_IPV4 && ipv4Clean(keys, base)) return this.hashIpv4(keys, base) | KIND_IPV4;
    let a = this.seed;
    let b = LANE_B_BASIS;
    let w = 0;
    for (; w + 1 < KEY_WORDS; w += 2) {
      a = Math.imul(((a << 5) | (a >>> 27)) ^ keys[base + w], 0x9e3779b1);
      b = Math.imul(((b << 5) | (b >>> 27)) ^ keys[base + w + 1], 0x85ebca77);
    }
    if (w < KEY_WORDS) a = Math.imul(((a << 5) | (a >>> 27)) ^ keys[base + w], 0x9e3779b1);
    return hashFinish(a ^ Math.imul(b, 0x27d4eb2f), KEY_WORDS) >>> 3;
  }

  /** Bits 0..28 of hash() of an IPv4-kind key: over IPV4_WORDS (0,5,6,7,8,9,11,12,16,21,22), unrolled. */
  private hashIpv4(keys: Uint32Array, base: number): number {
    let a = this.seed;
    let b = LANE_B_BASIS;
    a = Math.imul(((a << 5) | (a >>> 27)) ^ keys[base], 0x9e3779b1);
    b = Math.imul(((b << 5) | (b >>> 27)) ^ keys[base + 5], 0x85ebca77);
    a = Math.imul(((a << 5) | (a >>> 27)) ^ keys[base + 6], 0x9e3779b1);
    b = Math.imul(((b << 5) | (b >>> 27)) ^ keys[base + 7], 0x85ebca77);
    a = Math.imul(((a << 5) | (a >>> 27)) ^ keys[base + 8], 0x9e3779b1);
    b = Math.imul(((b << 5) | (b >>> 27)) ^ keys[base + 9], 0x85ebca77);
    a = Math.imul(((a << 5) | (a >>> 27)) ^ keys[base + 11], 0x9e3779b1);
    b = Math.imul(((b << 5) | (b >>> 27)) ^ keys[base + 12], 0x85ebca77);
    a = Math.imul(((a << 5) | (a >>> 27)) ^ keys[base + 16], 0x9e3779b1);
    b = Math.imul(((b << 5) | (b >>> 27)) ^ keys[base + 21], 0x85ebca77);
    a = Math.imul(((a << 5) | (a >>> 27)) ^ keys[base + 22], 0x9e3779b1);
    return hashFinish(a ^ Math.imul(b, 0x27d4eb2f), 11) >>> 3;
  }

  /** Program id cached for key row keys[base..], or NO_PROGRAM. Counts a hit or a miss. */
  lookup(keys: Uint32Array, base: number): number {
    return this.lookupHashed(keys, base, this.hash(keys, base));
  }

  /** lookup() with the hash already computed (the pipeline reuses it for insert). */
  lookupHashed(keys: Uint32Array, base: number, h: number): number {
    const gen = this.generation[0], meta = this.meta;
    let s = h & EMC_MASK;
    if (meta[s * META] === gen && meta[s * META + M_HASH] === h && this.sameKey(s, keys, base, h)) {
      this.stats[EmcStat.Hits] += 1;
      return meta[s * META + M_PROG];
    }
    s = (h >>> EMC_SHIFT) & EMC_MASK;
    if (meta[s * META] === gen && meta[s * META + M_HASH] === h && this.sameKey(s, keys, base, h)) {
      this.stats[EmcStat.Hits] += 1;
      return meta[s * META + M_PROG];
    }
    this.stats[EmcStat.Misses] += 1;
    return NO_PROGRAM;
  }

  /** lookupHashed() that counts nothing (the batched miss scan looks ahead). */
  probe(keys: Uint32Array, base: number, h: number): number {
    const gen = this.generation[0], meta = this.meta;
    let s = h & EMC_MASK;
    if (meta[s * META] === gen && meta[s * META + M_HASH] === h && this.sameKey(s, keys, base, h)) return meta[s * META + M_PROG];
    s = (h >>> EMC_SHIFT) & EMC_MASK;
    if (meta[s * META] === gen && meta[s * META + M_HASH] === h && this.sameKey(s, keys, base, h)) return meta[s * META + M_PROG];
    return NO_PROGRAM;
  }

  /** Caches `program` for key row keys[base..] (subject to the insertion knob). */
  insert(keys: Uint32Array, base: number, program: number): void {
    this.insertHashed(keys, base, this.hash(keys, base), program);
  }

  insertHashed(keys: Uint32Array, base: number, h: number, program: number): void {
    if (this.threshold !== 0xffffffff && !this.sample()) return;
    const gen = this.generation[0];
    const meta = this.meta;
    const s1 = h & EMC_MASK;
    const s2 = (h >>> EMC_SHIFT) & EMC_MASK;
    let s: number;
    if (meta[s1 * META + M_HASH] === h && this.sameKey(s1, keys, base, h)) s = s1;
    else if (meta[s2 * META + M_HASH] === h && this.sameKey(s2, keys, base, h)) s = s2;
    else {
      if (meta[s1 * META] !== gen) s = s1;
      else if (meta[s2 * META] !== gen) s = s2;
      else s = meta[s1 * META + M_HASH] <= meta[s2 * META + M_HASH] ? s1 : s2;
      if (meta[s * META] === gen) this.stats[EmcStat.Evictions] += 1;
      const ek = this.keys;
      const o = s * ROW;
      if ((h & KIND_IPV4) !== 0) for (let i = 0; i < IPV4_WORDS.length; i++) ek[o + i] = keys[base + IPV4_WORDS[i]];
      else for (let w = 0; w < KEY_WORDS; w++) ek[o + w] = keys[base + w];
      meta[s * META + M_HASH] = h;
    }
    meta[s * META + M_PROG] = program;
    meta[s * META] = gen;
    this.stats[EmcStat.Inserts] += 1;
  }

  /** Forgets every entry (the generation wrapped, or a test wants a cold cache). */
  clear(): void {
    for (let s = 0; s < EMC_ENTRIES; s++) {
      this.meta[s * META] = 0;
      this.meta[s * META + M_PROG] = NO_PROGRAM;
    }
  }

  /** Live entries (diagnostics; O(EMC_ENTRIES)). */
  liveEntries(): number {
    const gen = this.generation[0];
    let n = 0;
    for (let s = 0; s < EMC_ENTRIES; s++) if (this.meta[s * META] === gen) n++;
    return n;
  }

  /** The program cached for key row keys[base..], or NO_PROGRAM; counts nothing (diagnostics: traces). */
  peek(keys: Uint32Array, base: number): number {
    const h = this.hash(keys, base), gen = this.generation[0];
    for (const s of [h & EMC_MASK, (h >>> EMC_SHIFT) & EMC_MASK]) {
      if (this.meta[s * META] === gen && this.meta[s * META + M_HASH] === h && this.sameKey(s, keys, base, h)) return this.meta[s * META + M_PROG];
    }
    return NO_PROGRAM;
  }

  /** Slots of the live entries, in slot order (diagnostics: dump-cache; O(EMC_ENTRIES), allocates). */
  liveSlots(): number[] {
    const gen = this.generation[0];
    const out: number[] = [];
    for (let s = 0; s < EMC_ENTRIES; s++) if (this.meta[s * META] === gen) out.push(s);
    return out;
  }

  /** The program stored in slot s (live or not; diagnostics). */
  programOf(s: number): number {
    return this.meta[s * META + M_PROG];
  }

  /** Per slot: the generation it was stored in (a copy; diagnostics and tests). */
  get gens(): Int32Array {
    return Int32Array.from({ length: EMC_ENTRIES }, (_, s) => this.meta[s * META]);
  }

  /** Per slot: its program (a copy; diagnostics and tests). */
  get programs(): Int32Array {
    return Int32Array.from({ length: EMC_ENTRIES }, (_, s) => this.meta[s * META + M_PROG]);
  }

  /** Key row of slot s, unpacked to KEY_WORDS words (diagnostics: dump-cache; allocates). */
  keyOf(s: number): Uint32Array {
    const row = new Uint32Array(KEY_WORDS), o = s * ROW;
    if ((this.meta[s * META + M_HASH] & KIND_IPV4) !== 0) for (let i = 0; i < IPV4_WORDS.length; i++) row[IPV4_WORDS[i]] = this.keys[o + i];
    else for (let w = 0; w < KEY_WORDS; w++) row[w] = this.keys[o + w];
    return row;
  }

  /**
   * Key compare of slot s (whose hash equals h, so of h's kind; called only
   * when the 30-bit hashes agree, so almost always equal) without a branch
   * per word: an IPv4-kind key on its 11 packed words, unrolled in three
   * lanes; else the whole row in three lanes (KEY_WORDS is a multiple of 3).
   */
  private sameKey(s: number, keys: Uint32Array, base: number, h: number): boolean {
    const ek = this.keys;
    const o = s * ROW;
    if ((h & KIND_IPV4) !== 0) {
      const d = (ek[o] ^ keys[base]) | (ek[o + 3] ^ keys[base + 7]) | (ek[o + 6] ^ keys[base + 11]) | (ek[o + 9] ^ keys[base + 21]);
      const y = (ek[o + 1] ^ keys[base + 5]) | (ek[o + 4] ^ keys[base + 8]) | (ek[o + 7] ^ keys[base + 12]) | (ek[o + 10] ^ keys[base + 22]);
      const z = (ek[o + 2] ^ keys[base + 6]) | (ek[o + 5] ^ keys[base + 9]) | (ek[o + 8] ^ keys[base + 16]);
      return (d | y | z) === 0;
    }
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

/** An IPv4 key's IPV4_ZERO words are all 0 (the parser's invariant for IPv4 frames; any row may be looked up). */
function ipv4Clean(keys: Uint32Array, base: number): boolean {
  return (keys[base + 1] | keys[base + 2] | keys[base + 3] | keys[base + 4] | keys[base + 10] | keys[base + 13] | keys[base + 14]
    | keys[base + 15] | keys[base + 17] | keys[base + 18] | keys[base + 19] | keys[base + 20] | keys[base + 23] | keys[base + 24]
    | keys[base + 25] | keys[base + 26] | keys[base + 27] | keys[base + 28] | keys[base + 29]) === 0;
}
