/*
 * Batched classifier lookup: many key rows through one Classifier in one
 * pass per subtable (after OVS dpcls_lookup, which probes each subtable for
 * all the keys of a batch still unresolved), for the misses of a burst.
 *
 * What
 *   lookupBatch(cls, keys, bases, n, out, scratch): out[i] = cls.lookup(keys,
 *   bases[i]) for i < n, the same answers (priority, then oldest rule);
 *   scratch.probes[i] = the subtables that single lookup would probe. It
 *   counts nothing in cls.stats: the caller counts a key's lookup
 *   (countLookup) when the walk it stands for happens.
 *
 * Design
 *   Subtables are walked once, in the classifier's order (max priority,
 *   highest first). Per key the best (priority, sequence) so far is kept; a
 *   key stops taking part when the subtable's max priority is below its best
 *   (every later subtable is lower still), and is skipped for one subtable
 *   when the max equals its best and minSeqAtMax shows no rule there can win
 *   the tie: exactly the single lookup's pruning, so the probes are the same.
 *   The pass ends when no key takes part any more.
 *
 * Invariants
 * - Allocates nothing once the scratch holds n keys; never throws.
 */

import { ClsStat, type Classifier, NO_RULE } from './classifier.js';

/** Per-key state of a batched lookup (grown, never shrunk). */
export class BatchLookupScratch {
  bestPri = new Int32Array(32);
  bestSeq = new Float64Array(32);
  /** Keys still taking part, compacted in place as keys drop out. */
  live = new Int32Array(32);
  /** Per key: subtables probed. */
  probes = new Int32Array(32);

  fit(n: number): void {
    if (n <= this.live.length) return;
    const size = Math.max(n, this.live.length * 2);
    this.bestPri = new Int32Array(size);
    this.bestSeq = new Float64Array(size);
    this.live = new Int32Array(size);
    this.probes = new Int32Array(size);
  }
}

/** out[i] = the rule cls.lookup(keys, bases[i]) would return, for i < n (see the module comment). */
export function lookupBatch(cls: Classifier, keys: Uint32Array, bases: Int32Array, n: number, out: Int32Array, scratch: BatchLookupScratch): void {
  scratch.fit(n);
  const bestPri = scratch.bestPri, bestSeq = scratch.bestSeq, live = scratch.live, probes = scratch.probes;
  for (let i = 0; i < n; i++) {
    out[i] = NO_RULE;
    probes[i] = 0;
    bestPri[i] = -1;
    bestSeq[i] = 0;
    live[i] = i;
  }
  const list = cls.subtables();
  let nLive = n;
  for (let s = 0; s < list.length && nLive > 0; s++) {
    const st = list[s];
    const maxP = st.maxPriority, minSeq = st.minSeqAtMax;
    let kept = 0;
    for (let j = 0; j < nLive; j++) {
      const i = live[j];
      const bp = bestPri[i];
      if (maxP < bp) continue; // done: every later subtable is lower
      live[kept++] = i;
      if (maxP === bp && minSeq > bestSeq[i]) continue;
      probes[i]++;
      const b = st.findBucket(keys, bases[i]);
      if (b < 0) continue;
      const h = st.bucketHead[b];
      const p = cls.priorityOf(h), q = cls.sequenceOf(h);
      if (p > bp || (p === bp && q < bestSeq[i])) {
        out[i] = h;
        bestPri[i] = p;
        bestSeq[i] = q;
      }
    }
    nLive = kept;
  }
}

/** Counts one lookup in cls.stats, as Classifier.lookup does: `probes` subtables probed, a rule found or not. */
export function countLookup(cls: Classifier, probes: number, hit: boolean): void {
  const stats = cls.stats;
  stats[ClsStat.Lookups] += 1;
  stats[ClsStat.Probes] += probes;
  if (hit) stats[ClsStat.Hits] += 1;
}
