/*
 * The rule pipeline's caches (rule-pipeline.ts), as OVS dpif-netdev has
 * them: the megaflow cache (megaflow.ts, its dpcls) always in front when on
 * (the default, MEGAFLOW_DEFAULT), the exact-match cache (emc.ts) behind it
 * for the keys it refuses; with the megaflow cache off the EMC alone.
 *
 * What
 *   lookup(keys, base)            the program of a clean key row, counted (hash: the
 *                                 EMC hash it computed, for the insert after a walk)
 *   probe(keys, base, h)          the same, counting nothing
 *   insert(keys, base, h, ...)    after a walk resolved the key
 *   peek(keys, base)              which cache would answer, and its program (traces)
 *
 * Design
 *   - A megaflow insert is refused when all MF_SUBTABLES masks of this
 *     generation are taken by others; the key's exact row then goes into the
 *     EMC, and the generation is noted: a megaflow miss probes the EMC only
 *     while it holds such keys of the current generation, so with few masks
 *     a miss costs what it did (no EMC hash) and a hit is never slowed.
 *   - Both caches read the tables' generation cell: an entry of an older
 *     generation is dead in either. A key both answer for gets the same
 *     program from each: every live entry is right for every key it matches.
 *
 * Invariants
 * - lookup / probe / insert allocate nothing beyond what the caches' own
 *   inserts do (a new megaflow subtable: slow path after a walk).
 * - cachesOn is false exactly when the EMC's insertion knob is 0: both caches
 *   are then off and every frame walks the tables.
 */

import { ExactMatchCache } from './emc.js';
import { MegaflowCache, MEGAFLOW_DEFAULT } from './megaflow.js';
import { MegaflowMasks } from './megaflow-mask.js';
import type { EntryProgram } from './ops.js';
import type { PipelineTables } from './pipeline-tables.js';

/** Which cache holds a key: the megaflow cache, the EMC, or none (a walk). */
export type CacheName = 'megaflow' | 'emc' | 'none';

export class PipelineCaches {
  readonly emc: ExactMatchCache;
  readonly megaflow: MegaflowCache;
  /** Frames are looked up in a cache at all (the megaflow cache, the EMC or both): false when the EMC knob is 0, which turns both off. */
  cachesOn: boolean;
  /** The megaflow cache is in front. */
  mfOn: boolean;
  private readonly masks: MegaflowMasks;
  /** The generation in which the megaflow cache last refused a key to the EMC. */
  private fallbackGen = -1;
  /** The EMC hash the last lookup computed with the megaflow cache off; 0 with it on (insert hashes only on a refusal). */
  hash = 0;

  constructor(private readonly tables: PipelineTables, emcInsertInvProb: number | undefined, megaflow: boolean | undefined) {
    this.emc = new ExactMatchCache({ generation: tables.generationCell, insertInvProb: emcInsertInvProb });
    this.cachesOn = this.emc.insertProbabilityInverse !== 0;
    this.megaflow = new MegaflowCache(tables.generationCell);
    this.mfOn = megaflow ?? MEGAFLOW_DEFAULT;
    this.masks = new MegaflowMasks(tables);
    tables.onGenerationWrap(() => {
      this.emc.clear();
      this.megaflow.clear();
    });
  }

  setEmcInsertInvProb(n: number): void {
    this.emc.setInsertInvProb(n);
    this.cachesOn = n !== 0;
  }

  /** The EMC holds keys the megaflow cache refused in this generation. */
  get emcFallback(): boolean {
    return this.fallbackGen === this.tables.generation;
  }

  /** The program cached for a clean key row, or -1, counted by the cache that looked; sets `hash`. */
  lookup(keys: Uint32Array, base: number): number {
    if (!this.mfOn) {
      const h = (this.hash = this.emc.hash(keys, base));
      return this.emc.lookupHashed(keys, base, h);
    }
    this.hash = 0;
    const pid = this.megaflow.lookup(keys, base);
    return pid >= 0 || !this.emcFallback ? pid : this.emc.lookupHashed(keys, base, this.emc.hash(keys, base));
  }

  /** The program cached for a clean key row, or -1, counting nothing (h: its EMC hash). */
  probe(keys: Uint32Array, base: number, h: number): number {
    if (!this.mfOn) return this.emc.probe(keys, base, h);
    const pid = this.megaflow.probe(keys, base);
    return pid >= 0 || !this.emcFallback ? pid : this.emc.probe(keys, base, h);
  }

  /**
   * Caches program `pid` for key row keys[base..] after the walk in
   * path[0..n) / frags: in the megaflow cache under its mask
   * (megaflow-mask.ts), or in the EMC when the megaflow cache is off (h: the
   * key's EMC hash) or refuses the mask.
   */
  insert(keys: Uint32Array, base: number, h: number, path: Int32Array, frags: readonly (EntryProgram | null)[], n: number, pid: number): void {
    if (!this.mfOn) {
      this.emc.insertHashed(keys, base, h, pid);
      return;
    }
    if (this.megaflow.insert(this.masks.build(path, frags, n), keys, base, pid)) return;
    this.emc.insertHashed(keys, base, this.emc.hash(keys, base), pid);
    this.fallbackGen = this.tables.generation;
  }

  /** Which cache would answer for a clean key row now, and its program (-1: none); counts nothing (diagnostics: traces). */
  peek(keys: Uint32Array, base: number): { cache: CacheName; program: number } {
    if (this.mfOn) {
      const pid = this.megaflow.probe(keys, base);
      if (pid >= 0) return { cache: 'megaflow', program: pid };
      if (!this.emcFallback) return { cache: 'none', program: -1 };
    }
    const pid = this.emc.peek(keys, base);
    return pid >= 0 ? { cache: 'emc', program: pid } : { cache: 'none', program: -1 };
  }
}
