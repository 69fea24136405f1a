/*
 * Megaflow cache: wildcarded entries in front of the rule pipeline, after
 * OVS dpif-netdev's dpcls (a tuple-space cache of datapath flows): one
 * subtable per distinct mask, each mapping a masked key to the integer id of
 * the program the pipeline resolved for it. The pipeline's default lookup
 * (MEGAFLOW_DEFAULT; RulePipeline.setMegaflow), the exact-match cache
 * behind it for what it refuses: a lookup hashes and compares
 * only the words its masks cover (a 2-table in_port/eth_dst pipeline: 4
 * words instead of the EMC's 11 plus its 19-word kind check).
 *
 * What
 *   lookup(keys, base)              -> program id, or NO_PROGRAM (counted)
 *   probe(keys, base)               the same, counting nothing
 *   insert(mask, keys, base, prog)  after a walk resolved the key (the pipeline
 *                                   chooses the mask: megaflow-mask.ts)
 *   masks / entries / liveEntries   read-only views for dump-cache
 *
 * Design
 *   - Correctness rests on the mask the pipeline passes: every key bit the
 *     walk's result depended on is in it, so every key equal to this one under
 *     the mask resolves to the same program. Entries may then overlap (two
 *     subtables may both match a key): they name the same program, so the
 *     first found is right and no priorities are needed.
 *   - At most MF_SUBTABLES masks per generation; an insert needing another is
 *     refused (counted; insert returns false and the pipeline caches the
 *     exact key in the EMC instead). Per subtable MF_SLOTS entries, two candidate slots per
 *     hash (bits 0..11 and 12..23), the older-generation or smaller-hash
 *     candidate evicted, as in the EMC. Masks of up to 6 non-zero words
 *     are hashed and compared unrolled.
 *   - Per subtable the slot of the last hit is compared first, without
 *     hashing: consecutive frames of one megaflow (a burst of one connection,
 *     or microflows differing only in unmatched fields) cost one compare.
 *     A live entry whose masked key equals the frame's is a hit wherever it sits.
 *   - Invalidation by generation (the pipeline's cell, as the EMC): entries
 *     carry the generation they were stored in; when the cell moves, the
 *     subtables are forgotten at the next lookup or insert (masks depend on
 *     the tables; their storage is kept for reuse when a mask comes back, so
 *     flow-mods do not reallocate it). The owner calls clear() when the
 *     generation wraps.
 *
 * Invariants
 * - Generation 0 is never current, so never-written entries never hit.
 * - lookup / probe allocate nothing and never throw; insert allocates only
 *   when it creates a subtable (slow path: after a walk).
 */

import { hashFinish } from './classifier.js';
import { KEY_WORDS } from '../../flow/key.js';

/** Whether a rule pipeline looks frames up in the megaflow cache when not told (the switch's default too). */
export const MEGAFLOW_DEFAULT = true;

export const MF_SUBTABLES = 8;
const MF_SHIFT = 12;
export const MF_SLOTS = 1 << MF_SHIFT;
const MF_MASK = MF_SLOTS - 1;
/** Per entry in `meta`: generation, hash, program. */
const META = 4;
const NO_PROGRAM = -1;

/** Megaflow counters (indexes into MegaflowCache.stats). */
export const enum MfStat {
  Hits = 0,
  Misses = 1,
  Inserts = 2,
  /** Inserts refused: every subtable was taken by other masks (the pipeline puts the key in the EMC instead). */
  Refused = 3,
}

/** One live entry (MegaflowCache.entries()). */
export interface MegaflowEntry {
  /** Its subtable: the index of its mask in masks(). */
  subtable: number;
  slot: number;
  /** The key under the mask (bits outside it 0), KEY_WORDS words. */
  key: Uint32Array;
  program: number;
}

/** Masks of at most this many non-zero words take the unrolled probe (padded with word 0 under mask 0). */
const NARROW = 6;

/** The entries under one mask. */
class MfSubtable {
  /** The non-zero mask words: their indexes and masks (a narrow mask: padded to NARROW). */
  readonly words: Int32Array;
  readonly masks: Int32Array;
  readonly narrow: boolean;
  private readonly w0: number;
  private readonly w1: number;
  private readonly w2: number;
  private readonly w3: number;
  private readonly w4: number;
  private readonly w5: number;
  private readonly m0: number;
  private readonly m1: number;
  private readonly m2: number;
  private readonly m3: number;
  private readonly m4: number;
  private readonly m5: number;
  readonly keys: Uint32Array;
  readonly meta = new Int32Array(MF_SLOTS * META);
  /** The slot of the last hit (bursts often carry one megaflow's frames back to back). */
  private last = 0;

  constructor(readonly mask: Uint32Array) {
    const ws: number[] = [];
    for (let w = 0; w < KEY_WORDS; w++) if (mask[w] !== 0) ws.push(w);
    this.narrow = ws.length <= NARROW;
    const ms = ws.map((w) => mask[w] | 0);
    while (this.narrow && ws.length < NARROW) {
      ws.push(0);
      ms.push(0);
    }
    this.words = Int32Array.from(ws);
    this.masks = Int32Array.from(ms);
    [this.w0, this.w1, this.w2, this.w3, this.w4, this.w5] = this.narrow ? ws : [0, 0, 0, 0, 0, 0];
    [this.m0, this.m1, this.m2, this.m3, this.m4, this.m5] = this.narrow ? ms : [0, 0, 0, 0, 0, 0];
    this.keys = new Uint32Array(MF_SLOTS * ws.length);
  }

  hash(keys: Uint32Array, base: number, seed: number): number {
    let a = seed;
    if (this.narrow) {
      let b = 0x1b873593; // two lanes on alternate words: half the multiply chain
      a = Math.imul(((a << 5) | (a >>> 27)) ^ (keys[base + this.w0] & this.m0), 0x9e3779b1);
      b = Math.imul(((b << 5) | (b >>> 27)) ^ (keys[base + this.w1] & this.m1), 0x85ebca77);
      a = Math.imul(((a << 5) | (a >>> 27)) ^ (keys[base + this.w2] & this.m2), 0x9e3779b1);
      b = Math.imul(((b << 5) | (b >>> 27)) ^ (keys[base + this.w3] & this.m3), 0x85ebca77);
      a = Math.imul(((a << 5) | (a >>> 27)) ^ (keys[base + this.w4] & this.m4), 0x9e3779b1);
      b = Math.imul(((b << 5) | (b >>> 27)) ^ (keys[base + this.w5] & this.m5), 0x85ebca77);
      return hashFinish(a ^ Math.imul(b, 0x27d4eb2f), NARROW) >>> 2;
    }
    const words = this.words, masks = this.masks;
    for (let i = 0; i < words.length; i++) a = Math.imul(((a << 5) | (a >>> 27)) ^ (keys[base + words[i]] & masks[i]), 0x9e3779b1);
    return hashFinish(a, words.length) >>> 2;
  }

  same(s: number, keys: Uint32Array, base: number): boolean {
    const ek = this.keys;
    if (this.narrow) {
      const o = s * NARROW;
      return ((ek[o] ^ (keys[base + this.w0] & this.m0)) | (ek[o + 1] ^ (keys[base + this.w1] & this.m1))
        | (ek[o + 2] ^ (keys[base + this.w2] & this.m2)) | (ek[o + 3] ^ (keys[base + this.w3] & this.m3))
        | (ek[o + 4] ^ (keys[base + this.w4] & this.m4)) | (ek[o + 5] ^ (keys[base + this.w5] & this.m5))) === 0;
    }
    const words = this.words, masks = this.masks, nw = words.length, o = s * nw;
    let d = 0;
    for (let i = 0; i < nw; i++) d |= ek[o + i] ^ (keys[base + words[i]] & masks[i]);
    return d === 0;
  }

  /** The live entry's program for the key, or NO_PROGRAM. The last slot hit is tried first, without hashing. */
  find(keys: Uint32Array, base: number, seed: number, gen: number): number {
    const meta = this.meta;
    let s = this.last;
    if (meta[s * META] === gen && this.same(s, keys, base)) return meta[s * META + 2];
    const h = this.hash(keys, base, seed);
    s = h & MF_MASK;
    if (meta[s * META] !== gen || meta[s * META + 1] !== h || !this.same(s, keys, base)) {
      s = (h >>> MF_SHIFT) & MF_MASK;
      if (meta[s * META] !== gen || meta[s * META + 1] !== h || !this.same(s, keys, base)) return NO_PROGRAM;
    }
    this.last = s;
    return meta[s * META + 2];
  }

  /** The masked key stored in slot s, unpacked to KEY_WORDS words (diagnostics; allocates). */
  keyOf(s: number): Uint32Array {
    const row = new Uint32Array(KEY_WORDS), words = this.words, nw = words.length, o = s * nw;
    for (let i = 0; i < nw; i++) row[words[i]] |= this.keys[o + i]; // |=: a narrow mask's padding names word 0 with mask 0
    return row;
  }

  put(keys: Uint32Array, base: number, seed: number, gen: number, program: number): void {
    const h = this.hash(keys, base, seed), meta = this.meta;
    const s1 = h & MF_MASK, s2 = (h >>> MF_SHIFT) & MF_MASK;
    let s: number;
    if (meta[s1 * META] !== gen || (meta[s1 * META + 1] === h && this.same(s1, keys, base))) s = s1;
    else if (meta[s2 * META] !== gen) s = s2;
    else s = meta[s1 * META + 1] <= meta[s2 * META + 1] ? s1 : s2;
    const words = this.words, masks = this.masks, nw = words.length, o = s * nw;
    for (let i = 0; i < nw; i++) this.keys[o + i] = keys[base + words[i]] & masks[i];
    meta[s * META] = gen;
    meta[s * META + 1] = h;
    meta[s * META + 2] = program;
  }
}

export class MegaflowCache {
  readonly stats = new Float64Array(4);
  private subs: MfSubtable[] = [];
  /** Subtables of older generations (all their entries dead), reused when their mask comes back. */
  private spare: MfSubtable[] = [];
  private n = 0;
  private subsGen = 0;
  private readonly seed: number;

  constructor(private readonly generation: Int32Array, seed?: number) {
    this.seed = (seed ?? (Math.random() * 0x100000000) >>> 0) | 0;
  }

  /** Program id cached for key row keys[base..], or NO_PROGRAM. Counts a hit or a miss. */
  lookup(keys: Uint32Array, base: number): number {
    const pid = this.probe(keys, base);
    this.stats[pid < 0 ? MfStat.Misses : MfStat.Hits] += 1;
    return pid;
  }

  /** lookup() that counts nothing. */
  probe(keys: Uint32Array, base: number): number {
    const gen = this.generation[0];
    if (this.subsGen !== gen) return NO_PROGRAM;
    const subs = this.subs;
    for (let i = 0; i < this.n; i++) {
      const pid = subs[i].find(keys, base, this.seed, gen);
      if (pid >= 0) return pid;
    }
    return NO_PROGRAM;
  }

  /** Caches `program` for every key equal to keys[base..] under `mask` (KEY_WORDS words); false: refused (no subtable left for the mask). */
  insert(mask: Uint32Array, keys: Uint32Array, base: number, program: number): boolean {
    const gen = this.generation[0];
    if (this.subsGen !== gen) {
      this.spare = [...this.subs, ...this.spare].slice(0, MF_SUBTABLES);
      this.subs = [];
      this.n = 0;
      this.subsGen = gen;
    }
    let st: MfSubtable | null = null;
    for (let i = 0; i < this.n && st === null; i++) if (sameMask(this.subs[i].mask, mask)) st = this.subs[i];
    if (st === null) {
      if (this.n === MF_SUBTABLES) {
        this.stats[MfStat.Refused] += 1;
        return false;
      }
      const k = this.spare.findIndex((sp) => sameMask(sp.mask, mask));
      st = k >= 0 ? this.spare.splice(k, 1)[0] : new MfSubtable(mask.slice(0, KEY_WORDS));
      this.subs.push(st);
      this.n++;
    }
    st.put(keys, base, this.seed, gen, program);
    this.stats[MfStat.Inserts] += 1;
    return true;
  }

  /** Forgets every entry (the generation wrapped). */
  clear(): void {
    this.spare = [];
    this.subs = [];
    this.n = 0;
    this.subsGen = 0;
  }

  /** The masks of the current generation (diagnostics). */
  masks(): Uint32Array[] {
    return this.subsGen === this.generation[0] ? this.subs.map((s) => s.mask.slice()) : [];
  }

  /**
   * The live entries of the current generation, subtable by subtable (in
   * lookup order, the index into masks()) and slot by slot: the masked key
   * (KEY_WORDS words) and the program (diagnostics: dump-cache; O(subtables x
   * slots), allocates).
   */
  entries(): MegaflowEntry[] {
    const gen = this.generation[0];
    const out: MegaflowEntry[] = [];
    if (this.subsGen !== gen) return out;
    this.subs.forEach((st, subtable) => {
      for (let s = 0; s < MF_SLOTS; s++) if (st.meta[s * META] === gen) out.push({ subtable, slot: s, key: st.keyOf(s), program: st.meta[s * META + 2] });
    });
    return out;
  }

  /** Live entries (diagnostics; O(subtables x slots)). */
  liveEntries(): number {
    const gen = this.generation[0];
    if (this.subsGen !== gen) return 0;
    let live = 0;
    for (const st of this.subs) for (let s = 0; s < MF_SLOTS; s++) if (st.meta[s * META] === gen) live++;
    return live;
  }
}

function sameMask(a: Uint32Array, b: Uint32Array): boolean {
  let w = 0;
  while (w < KEY_WORDS && a[w] === b[w]) w++;
  return w === KEY_WORDS;
}
