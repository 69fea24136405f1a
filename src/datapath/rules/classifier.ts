/*
 * Classifier: priority-ordered wildcard rules over flow-key rows, by
 * tuple-space search (after OVS lib/classifier.h), for one rule table.
 *
 * What
 *   A rule is (key row, mask row, priority) and is named by an integer handle
 *   the classifier hands out. lookup(keys, base) returns the handle of the
 *   highest-priority rule whose masked key equals the packet's masked key, or
 *   NO_RULE. Ties between equal-priority rules that both match go to the rule
 *   inserted first (lowest insertion sequence number): deterministic, and
 *   what a linear scan in insertion order would answer.
 *
 * Design
 *   - One Subtable per distinct mask. It keeps the indexes of its non-zero
 *     mask words (words / wordMasks), so hashing and comparing a packet touch
 *     only the words that mask cares about (OVS miniflow, dpcls' specialised
 *     probes).
 *   - Inside a subtable, rules with the same masked key share a bucket: the
 *     masked key words (Int32Array, nWords per bucket) and a singly linked
 *     list of rules ordered by (priority desc, sequence asc), so the head is
 *     the bucket's answer. An open-addressing index (linear probing, load <=
 *     1/2, backward-shift deletion, no tombstones) maps the Math.imul hash of
 *     the masked key to the bucket.
 *   - Subtables sit in `ordered`, sorted by their maximum priority. A lookup
 *     walks them and stops at the first subtable whose max priority is below
 *     the best match found so far; a subtable whose max equals it is skipped
 *     when minSeqAtMax (a lower bound on the sequence numbers of its rules
 *     at that priority) shows that none of them can win the tie. A miss costs
 *     one hash probe per subtable; a hit in a high-priority subtable stops
 *     early.
 *   - Rules live in a struct-of-arrays store (priority, sequence, next,
 *     bucket, subtable) indexed by handle; handles are reused after remove.
 *
 * Invariants
 * - A rule's stored key is key & mask (insert normalises it).
 * - Every bucket in a subtable index holds at least one rule; every subtable
 *   in `ordered` holds at least one rule (empty ones are dropped).
 * - `ordered` is sorted by maxPriority, highest first.
 * - maxPriority is the highest priority of a live rule in the subtable and
 *   minSeqAtMax <= the sequence number of every rule at that priority (0
 *   means "unknown": never skip).
 * - An occupied index slot is reachable from its home slot without crossing
 *   an empty slot (kept by backward-shift deletion).
 * - lookup() allocates nothing and never throws; insert/remove (the slow
 *   path: flow-mods) may allocate when tables grow.
 *
 * Concurrency: owned by the datapath on the event loop; not shared.
 */

import { KEY_WORDS } from '../../flow/key.js';

export const NO_RULE = -1;
/** Highest priority accepted (OpenFlow priorities are 16-bit). */
export const MAX_PRIORITY = 0xffff;

const EMPTY = -1;
const INITIAL_INDEX_SLOTS = 8;
const INITIAL_RULES = 64;
const HASH_BASIS = 0x2f1b5a3d;

/** One murmur3 round: mixes 32-bit word `w` into running hash `h`. */
export function hashMix(h: number, w: number): number {
  let k = Math.imul(w, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** murmur3 finaliser over `n` mixed words; an int32. */
export function hashFinish(h: number, n: number): number {
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Classifier counters (indexes into Classifier.stats). */
export const enum ClsStat {
  Lookups = 0,
  /** Subtables probed (hashed), summed over lookups. */
  Probes = 1,
  Hits = 2,
}

/** Struct-of-arrays rule storage, indexed by handle. */
class RuleStore {
  pri = new Int32Array(INITIAL_RULES);
  seq = new Float64Array(INITIAL_RULES);
  next = new Int32Array(INITIAL_RULES);
  bucket = new Int32Array(INITIAL_RULES);
  sub: (Subtable | null)[] = new Array<Subtable | null>(INITIAL_RULES).fill(null);
  private free = new Int32Array(INITIAL_RULES);
  private nFree = 0;
  /** Handles below top have been handed out at least once. */
  private top = 0;

  alloc(): number {
    if (this.nFree > 0) return this.free[--this.nFree];
    if (this.top === this.pri.length) this.grow();
    return this.top++;
  }

  release(h: number): void {
    this.sub[h] = null;
    this.free[this.nFree++] = h;
  }

  private grow(): void {
    const n = this.pri.length * 2;
    const g32 = (a: Int32Array) => { const b = new Int32Array(n); b.set(a); return b; };
    this.pri = g32(this.pri);
    this.next = g32(this.next);
    this.bucket = g32(this.bucket);
    this.free = g32(this.free);
    const s = new Float64Array(n);
    s.set(this.seq);
    this.seq = s;
    for (let i = this.sub.length; i < n; i++) this.sub.push(null);
  }
}

/** The rules sharing one mask. */
export class Subtable {
  /** Map key of the mask (slow path only). */
  readonly id: string;
  readonly mask: Uint32Array;
  /** Indexes of the non-zero mask words, and those mask words (as int32). */
  readonly words: Int32Array;
  readonly wordMasks: Int32Array;
  readonly nWords: number;
  maxPriority = -1;
  minSeqAtMax = 0;
  nRules = 0;
  /** Live rules per priority (slow path: recomputing maxPriority). */
  readonly priorityCounts = new Map<number, number>();

  private capMask = INITIAL_INDEX_SLOTS - 1;
  private slotBucket = new Int32Array(INITIAL_INDEX_SLOTS).fill(EMPTY);
  private slotHash = new Int32Array(INITIAL_INDEX_SLOTS);
  private nBuckets = 0;
  /** Bucket storage: masked key words, hash and first rule; a free bucket has head EMPTY. */
  private bucketKeys: Int32Array;
  private bucketHash: Int32Array;
  bucketHead: Int32Array;
  private bucketTop = 0;
  private freeBuckets: number[] = [];

  constructor(id: string, mask: Uint32Array, mOff: number) {
    this.id = id;
    this.mask = mask.slice(mOff, mOff + KEY_WORDS);
    let n = 0;
    for (let w = 0; w < KEY_WORDS; w++) if (this.mask[w] !== 0) n++;
    this.nWords = n;
    this.words = new Int32Array(n);
    this.wordMasks = new Int32Array(n);
    for (let w = 0, i = 0; w < KEY_WORDS; w++) {
      if (this.mask[w] === 0) continue;
      this.words[i] = w;
      this.wordMasks[i++] = this.mask[w] | 0;
    }
    this.bucketKeys = new Int32Array(Math.max(1, n) * 4);
    this.bucketHash = new Int32Array(4);
    this.bucketHead = new Int32Array(4).fill(EMPTY);
  }

  /** Hash of key row keys[base..] under this mask. */
  hash(keys: Uint32Array, base: number): number {
    const words = this.words, wm = this.wordMasks, nw = this.nWords;
    let h = HASH_BASIS;
    for (let i = 0; i < nw; i++) h = hashMix(h, keys[base + words[i]] & wm[i]);
    return hashFinish(h, nw);
  }

  /** The bucket whose masked key equals keys[base..] under this mask, or EMPTY. Hot path. */
  findBucket(keys: Uint32Array, base: number): number {
    const words = this.words, wm = this.wordMasks, nw = this.nWords;
    let h = HASH_BASIS;
    for (let i = 0; i < nw; i++) h = hashMix(h, keys[base + words[i]] & wm[i]);
    h = hashFinish(h, nw);
    const slotBucket = this.slotBucket, slotHash = this.slotHash, capMask = this.capMask, bk = this.bucketKeys;
    for (let s = h & capMask; ; s = (s + 1) & capMask) {
      const b = slotBucket[s];
      if (b === EMPTY) return EMPTY;
      if (slotHash[s] === h) {
        const o = b * nw;
        let i = 0;
        while (i < nw && (keys[base + words[i]] & wm[i]) === bk[o + i]) i++;
        if (i === nw) return b;
      }
    }
  }

  /** Bucket for the masked key keys[base..], created if absent (slow path). */
  bucketFor(keys: Uint32Array, base: number): number {
    const found = this.findBucket(keys, base);
    if (found !== EMPTY) return found;
    const b = this.freeBuckets.length > 0 ? this.freeBuckets.pop()! : this.newBucket();
    const nw = this.nWords;
    for (let i = 0; i < nw; i++) this.bucketKeys[b * nw + i] = keys[base + this.words[i]] & this.wordMasks[i];
    const h = this.hash(keys, base);
    this.bucketHash[b] = h;
    this.nBuckets++;
    this.place(b, h);
    if (this.nBuckets * 2 > this.capMask + 1) this.rehash((this.capMask + 1) * 2);
    return b;
  }

  /** Drops empty bucket `b` from the index (backward-shift deletion). */
  dropBucket(b: number): void {
    const capMask = this.capMask, slotBucket = this.slotBucket, slotHash = this.slotHash;
    let i = this.bucketHash[b] & capMask;
    while (slotBucket[i] !== b) i = (i + 1) & capMask;
    for (let j = (i + 1) & capMask; slotBucket[j] !== EMPTY; j = (j + 1) & capMask) {
      const home = slotHash[j] & capMask;
      // The entry at j may fill the hole at i unless its home lies cyclically in (i, j].
      const inRange = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!inRange) {
        slotBucket[i] = slotBucket[j];
        slotHash[i] = slotHash[j];
        i = j;
      }
    }
    slotBucket[i] = EMPTY;
    this.bucketHead[b] = EMPTY;
    this.freeBuckets.push(b);
    this.nBuckets--;
  }

  /** Calls fn(bucket) for every live bucket (slow path). */
  forEachBucket(fn: (b: number) => boolean | void): boolean {
    for (let b = 0; b < this.bucketTop; b++) {
      if (this.bucketHead[b] !== EMPTY && fn(b) === true) return true;
    }
    return false;
  }

  /** True when bucket b's masked key agrees with key row key[kOff..] on every bit of `mask` (also masked by this subtable). */
  bucketAgrees(b: number, key: Uint32Array, kOff: number, mask: Uint32Array, mOff: number): boolean {
    const nw = this.nWords;
    for (let i = 0; i < nw; i++) {
      const w = this.words[i];
      if (((this.bucketKeys[b * nw + i] ^ key[kOff + w]) & mask[mOff + w] & this.wordMasks[i]) !== 0) return false;
    }
    return true;
  }

  private newBucket(): number {
    if (this.bucketTop === this.bucketHead.length) {
      const n = this.bucketHead.length * 2;
      const keys = new Int32Array(Math.max(1, this.nWords) * n);
      keys.set(this.bucketKeys);
      this.bucketKeys = keys;
      const hash = new Int32Array(n);
      hash.set(this.bucketHash);
      this.bucketHash = hash;
      const head = new Int32Array(n).fill(EMPTY);
      head.set(this.bucketHead);
      this.bucketHead = head;
    }
    return this.bucketTop++;
  }

  private place(b: number, h: number): void {
    const capMask = this.capMask;
    let s = h & capMask;
    while (this.slotBucket[s] !== EMPTY) s = (s + 1) & capMask;
    this.slotBucket[s] = b;
    this.slotHash[s] = h;
  }

  private rehash(slots: number): void {
    const oldBucket = this.slotBucket, oldHash = this.slotHash;
    this.capMask = slots - 1;
    this.slotBucket = new Int32Array(slots).fill(EMPTY);
    this.slotHash = new Int32Array(slots);
    for (let s = 0; s < oldBucket.length; s++) if (oldBucket[s] !== EMPTY) this.place(oldBucket[s], oldHash[s]);
  }
}

function maskId(mask: Uint32Array, mOff: number): string {
  let s = '';
  for (let w = 0; w < KEY_WORDS; w++) s += mask[mOff + w].toString(16) + '.';
  return s;
}

export class Classifier {
  /** Subtables by mask, and sorted by max priority (highest first) for lookup. */
  private readonly byMask = new Map<string, Subtable>();
  private ordered: Subtable[] = [];
  private readonly rules = new RuleStore();
  private nextSeq = 1;
  private count = 0;
  /** ClsStat counters. */
  readonly stats = new Float64Array(3);

  get size(): number {
    return this.count;
  }

  get subtableCount(): number {
    return this.ordered.length;
  }

  /** Subtables in lookup order (for tests and diagnostics). */
  subtables(): readonly Subtable[] {
    return this.ordered;
  }

  priorityOf(h: number): number {
    return this.rules.pri[h];
  }

  /** Insertion sequence number of rule h (the tie-breaker: lower wins). */
  sequenceOf(h: number): number {
    return this.rules.seq[h];
  }

  /**
   * Adds a rule; returns its handle. The key is masked on the way in.
   * Several rules may share mask, key and priority (the flow table prevents it).
   */
  insert(key: Uint32Array, kOff: number, mask: Uint32Array, mOff: number, priority: number): number {
    if (!Number.isInteger(priority) || priority < 0 || priority > MAX_PRIORITY) throw new RangeError(`priority ${priority} outside 0..${MAX_PRIORITY}`);
    const id = maskId(mask, mOff);
    let st = this.byMask.get(id);
    if (st === undefined) {
      st = new Subtable(id, mask, mOff);
      this.byMask.set(id, st);
      this.ordered.push(st);
    }
    const r = this.rules;
    const h = r.alloc();
    const seq = this.nextSeq++;
    r.pri[h] = priority;
    r.seq[h] = seq;
    r.sub[h] = st;
    const b = st.bucketFor(key, kOff);
    r.bucket[h] = b;
    // Link into the bucket list: after every rule with a higher priority, or the same priority (they are older).
    let prev = EMPTY;
    let cur = st.bucketHead[b];
    while (cur !== EMPTY && r.pri[cur] >= priority) {
      prev = cur;
      cur = r.next[cur];
    }
    r.next[h] = cur;
    if (prev === EMPTY) st.bucketHead[b] = h;
    else r.next[prev] = h;

    st.nRules++;
    st.priorityCounts.set(priority, (st.priorityCounts.get(priority) ?? 0) + 1);
    if (priority > st.maxPriority) {
      st.maxPriority = priority;
      st.minSeqAtMax = seq;
      this.reposition(st);
    }
    this.count++;
    return h;
  }

  /** Removes rule h (a handle from insert that was not removed yet). */
  remove(h: number): void {
    const r = this.rules;
    const st = r.sub[h];
    if (st === null) throw new Error(`classifier: rule ${h} is not live`);
    const b = r.bucket[h];
    let prev = EMPTY;
    let cur = st.bucketHead[b];
    while (cur !== h) {
      prev = cur;
      cur = r.next[cur];
    }
    if (prev === EMPTY) st.bucketHead[b] = r.next[h];
    else r.next[prev] = r.next[h];
    if (st.bucketHead[b] === EMPTY) st.dropBucket(b);

    const p = r.pri[h];
    const left = st.priorityCounts.get(p)! - 1;
    if (left > 0) st.priorityCounts.set(p, left);
    else st.priorityCounts.delete(p);
    st.nRules--;
    r.release(h);
    this.count--;
    if (st.nRules === 0) {
      this.byMask.delete(st.id);
      this.ordered.splice(this.ordered.indexOf(st), 1);
    } else if (left === 0 && p === st.maxPriority) {
      let max = -1;
      for (const q of st.priorityCounts.keys()) if (q > max) max = q;
      st.maxPriority = max;
      st.minSeqAtMax = 0;
      this.reposition(st);
    }
  }

  /**
   * The highest-priority rule matching key row keys[base..], or NO_RULE;
   * equal priorities go to the oldest rule. Hot path: no allocation.
   */
  lookup(keys: Uint32Array, base: number): number {
    const list = this.ordered;
    const n = list.length;
    const pri = this.rules.pri;
    const seq = this.rules.seq;
    let best = NO_RULE;
    let bestPri = -1;
    let bestSeq = 0;
    let probes = 0;
    for (let s = 0; s < n; s++) {
      const st = list[s];
      const maxP = st.maxPriority;
      if (maxP < bestPri) break;
      if (maxP === bestPri && st.minSeqAtMax > bestSeq) continue;
      probes++;
      const b = st.findBucket(keys, base);
      if (b === EMPTY) continue;
      const h = st.bucketHead[b];
      const p = pri[h];
      if (p > bestPri || (p === bestPri && seq[h] < bestSeq)) {
        best = h;
        bestPri = p;
        bestSeq = seq[h];
      }
    }
    const stats = this.stats;
    stats[ClsStat.Lookups] += 1;
    stats[ClsStat.Probes] += probes;
    if (best !== NO_RULE) stats[ClsStat.Hits] += 1;
    return best;
  }

  /** The oldest rule with exactly this mask, masked key and priority, or NO_RULE (slow path). */
  findExact(key: Uint32Array, kOff: number, mask: Uint32Array, mOff: number, priority: number): number {
    const st = this.byMask.get(maskId(mask, mOff));
    if (st === undefined) return NO_RULE;
    const b = st.findBucket(key, kOff);
    if (b === EMPTY) return NO_RULE;
    const r = this.rules;
    for (let h = st.bucketHead[b]; h !== EMPTY; h = r.next[h]) if (r.pri[h] === priority) return h;
    return NO_RULE;
  }

  /**
   * A rule of this priority that some packet could match together with the
   * rule (key, mask), or NO_RULE (OpenFlow CHECK_OVERLAP; slow path). One
   * probe per subtable whose mask is covered by `mask`, a bucket scan otherwise.
   */
  findOverlap(key: Uint32Array, kOff: number, mask: Uint32Array, mOff: number, priority: number): number {
    const r = this.rules;
    const atPriority = (b: number, st: Subtable): number => {
      for (let h = st.bucketHead[b]; h !== EMPTY; h = r.next[h]) if (r.pri[h] === priority) return h;
      return NO_RULE;
    };
    for (const st of this.ordered) {
      if (!st.priorityCounts.has(priority)) continue;
      let covered = true;
      for (let w = 0; w < KEY_WORDS && covered; w++) covered = (st.mask[w] & ~mask[mOff + w]) === 0;
      if (covered) {
        // key is normalised under mask, so under st.mask it is the one bucket that can agree.
        const b = st.findBucket(key, kOff);
        const h = b === EMPTY ? NO_RULE : atPriority(b, st);
        if (h !== NO_RULE) return h;
        continue;
      }
      let found = NO_RULE;
      st.forEachBucket((b) => {
        if (!st.bucketAgrees(b, key, kOff, mask, mOff)) return false;
        found = atPriority(b, st);
        return found !== NO_RULE;
      });
      if (found !== NO_RULE) return found;
    }
    return NO_RULE;
  }

  /** Moves st to its place in `ordered` after its maxPriority changed (or it was appended). */
  private reposition(st: Subtable): void {
    const list = this.ordered;
    let i = list.indexOf(st);
    while (i > 0 && list[i - 1].maxPriority < st.maxPriority) {
      list[i] = list[i - 1];
      list[--i] = st;
    }
    while (i < list.length - 1 && list[i + 1].maxPriority > st.maxPriority) {
      list[i] = list[i + 1];
      list[++i] = st;
    }
  }
}
