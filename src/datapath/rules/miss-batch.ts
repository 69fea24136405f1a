/*
 * The exact-match-cache misses of a burst resolved together (after OVS
 * dpif-netdev's fast_path_processing: the missed keys of a batch go through
 * dpcls as one batch): each distinct missed key is walked through the tables
 * on the key alone ("dry": no frame, no counters), table by table, all keys
 * at the same table looked up in one batched classifier pass
 * (classifier-batch.ts). The pipeline then turns a finished path into its
 * program and runs the frame with the burst's hits, grouped by program.
 *
 * What
 *   begin(nTables, maxKeys)        a new set of misses
 *   add(keys, base, hash) -> d     a missed key row; the same key twice
 *                                  (same hash, same words) gives the same d
 *   resolve(tables, fragmentOf)    the dry walks: status[d] is Batchable
 *                                  (path[d * stride .. + pathLen[d]), frags,
 *                                  missTable[d]) or Live
 *   copyPath(d, path, frags)       the path into the pipeline's walk scratch
 *
 * Design
 *   - A dry walk follows the live walk (rule-pipeline.ts walk()) step for
 *     step on a working copy of the key: lookup, entry, apply-op key patch
 *     (key-patch.ts) before the next lookup, write-metadata into the key,
 *     goto-table; a table with no matching rule ends the path in a miss.
 *   - Batchable only when the live walk would surely complete and cache the
 *     path, whatever the frame: every entry met is plain (fast-path.ts
 *     entryPlain: no meter, no op that may stop the frame or call out) and
 *     every key patch succeeded. Then running the path's program equals the
 *     walk (the exact-match cache relies on the same equivalence). Anything
 *     else is Live: the frame walks the tables itself, in burst order.
 *   - Goto-table only goes forward, so taking the lowest table any pending
 *     key waits for, every key reaches each table once and a walk takes at
 *     most nTables rounds.
 *
 * Invariants
 * - resolve() counts nothing in the flow tables (the program counts when it
 *   runs) nor in the classifiers (copyPath counts a path's lookups when the
 *   walk it stands for happens, so their totals match the per-frame path).
 * - No allocation once the scratch has grown to the burst and table count,
 *   except fragmentOf compiling a rule's program the first time it is met.
 */

import { K, KEY_WORDS } from '../../flow/key.js';
import { BatchLookupScratch, countLookup, lookupBatch } from './classifier-batch.js';
import { NO_RULE } from './classifier.js';
import { entryPlain } from './fast-path.js';
import type { FlowEntry, FlowTable } from './flow-table.js';
import { patchKey } from './key-patch.js';
import type { EntryProgram } from './ops.js';
import type { ExactMatchCache } from './emc.js';
import type { PipelineTables } from './pipeline-tables.js';

/** What the batch needs from the pipeline (RulePipeline). */
export interface MissHost {
  readonly emc: ExactMatchCache;
  readonly tables: PipelineTables;
  /** The frame with key row keys[base..] is a fragment the pipeline drops (never looked up). */
  dropsFragment(keys: Uint32Array, base: number): boolean;
  fragmentOf(e: FlowEntry): EntryProgram;
  /** The program the cache in use (EMC or megaflow) holds for a clean key row (EMC hash h), or -1; counts nothing. */
  cacheProbe(keys: Uint32Array, base: number, h: number): number;
}

export const enum MissStatus {
  /** Still walking. */
  Pending = 0,
  /** The walk ended (a table with no goto, or a table miss) and may run as a program. */
  Batchable = 1,
  /** The frame must walk the tables itself. */
  Live = 2,
}

/** MissBatch counters (indexes into MissBatch.stats; diagnostics and tests). */
export const enum MissBatchStat {
  /** Distinct missed keys dry-walked. */
  Keys = 0,
  /** Of those, found batchable. */
  Batchable = 1,
  /** Batched classifier lookups (one per table per resolve round). */
  Lookups = 2,
}

export class MissBatch {
  /** MissBatchStat counters. */
  readonly stats = new Float64Array(3);
  /** Distinct missed keys. */
  count = 0;
  /** Path words per key: nTables + 1. */
  stride = 1;
  status = new Int32Array(32);
  pathLen = new Int32Array(32);
  missTable = new Int32Array(32);
  path = new Int32Array(32);
  /** Per path step: the table looked up and the subtables its lookup probed (counted when the path is taken: copyPath). */
  private stepTable = new Int32Array(32);
  private stepProbes = new Int32Array(32);
  frags: (EntryProgram | null)[] = [];
  /** Working key rows, KEY_WORDS per distinct key (the original row first). */
  private work = new Uint32Array(32 * KEY_WORDS);
  private hashes = new Int32Array(32);
  private next = new Int32Array(32);
  private sel = new Int32Array(32);
  private bases = new Int32Array(32);
  private found = new Int32Array(32);
  private readonly scratch = new BatchLookupScratch();
  /** Per frame of the burst: its distinct key, or -1; valid from frame `scanned` on while the generation is `scanGen`. */
  private missOf = new Int32Array(64);
  private scanned = -1;
  private scanGen = -1;
  private readonly fragmentOf: (e: FlowEntry) => EntryProgram;

  constructor(private readonly host: MissHost) {
    this.fragmentOf = (e) => host.fragmentOf(e);
  }

  /** A new burst: nothing scanned yet. */
  newBurst(): void {
    this.scanned = -1;
  }

  /**
   * Frame i of the burst (key rows `keys`, parse flags `flags`, n frames)
   * missed the EMC: its distinct key when that key's dry walk is batchable,
   * else -1. The first miss of a burst scans every frame from it on that
   * misses the cache now and resolves their keys in one batch; later misses
   * reuse that batch while the generation stands.
   */
  batchableMiss(keys: Uint32Array, flags: Uint8Array, i: number, n: number): number {
    const gen = this.host.tables.generation;
    if (this.scanned < 0 || i < this.scanned || this.scanGen !== gen) this.scan(keys, flags, i, n);
    const d = this.missOf[i];
    return d >= 0 && this.status[d] === MissStatus.Batchable ? d : -1;
  }

  private scan(keys: Uint32Array, flags: Uint8Array, i: number, n: number): void {
    const host = this.host, emc = host.emc;
    if (this.missOf.length < n) this.missOf = new Int32Array(n);
    this.begin(host.tables.nTables, n - i);
    for (let j = i; j < n; j++) {
      this.missOf[j] = -1;
      const base = j * KEY_WORDS;
      if (flags[j] !== 0 || host.dropsFragment(keys, base)) continue;
      const h = emc.hash(keys, base);
      if (host.cacheProbe(keys, base, h) < 0) this.missOf[j] = this.add(keys, base, h);
    }
    this.resolve(host.tables.tables, this.fragmentOf);
    this.scanned = i;
    this.scanGen = host.tables.generation;
  }

  /** Room for `maxKeys` distinct keys over `nTables` tables; forgets the previous set. */
  private begin(nTables: number, maxKeys: number): void {
    this.count = 0;
    this.stride = nTables + 1;
    if (this.status.length < maxKeys) {
      const n = Math.max(maxKeys, this.status.length * 2);
      this.status = new Int32Array(n);
      this.pathLen = new Int32Array(n);
      this.missTable = new Int32Array(n);
      this.work = new Uint32Array(n * KEY_WORDS);
      this.hashes = new Int32Array(n);
      this.next = new Int32Array(n);
      this.sel = new Int32Array(n);
      this.bases = new Int32Array(n);
      this.found = new Int32Array(n);
    }
    const words = this.status.length * this.stride;
    if (this.path.length < words) {
      this.path = new Int32Array(words);
      this.stepTable = new Int32Array(words);
      this.stepProbes = new Int32Array(words);
    }
    while (this.frags.length < words) this.frags.push(null);
  }

  /** Adds missed key row keys[base..] (EMC hash h); returns its index, shared with an equal key added before. */
  private add(keys: Uint32Array, base: number, h: number): number {
    const work = this.work;
    for (let d = 0; d < this.count; d++) {
      if (this.hashes[d] !== h) continue;
      const o = d * KEY_WORDS;
      let w = 0;
      while (w < KEY_WORDS && work[o + w] === keys[base + w]) w++;
      if (w === KEY_WORDS) return d;
    }
    const d = this.count++;
    this.stats[MissBatchStat.Keys] += 1;
    const o = d * KEY_WORDS;
    for (let w = 0; w < KEY_WORDS; w++) work[o + w] = keys[base + w];
    this.hashes[d] = h;
    this.status[d] = MissStatus.Pending;
    this.pathLen[d] = 0;
    this.missTable[d] = -1;
    this.next[d] = 0;
    return d;
  }

  /** The dry walks of every key added (see the module comment). */
  private resolve(tables: readonly FlowTable[], fragmentOf: (e: FlowEntry) => EntryProgram): void {
    const m = this.count, status = this.status, next = this.next, sel = this.sel, bases = this.bases, found = this.found;
    const work = this.work, path = this.path, frags = this.frags, pathLen = this.pathLen, stride = this.stride;
    for (;;) {
      let t = 0x7fffffff;
      for (let d = 0; d < m; d++) if (status[d] === MissStatus.Pending && next[d] < t) t = next[d];
      if (t === 0x7fffffff) return;
      let k = 0;
      for (let d = 0; d < m; d++) {
        if (status[d] !== MissStatus.Pending || next[d] !== t) continue;
        sel[k] = d;
        bases[k++] = d * KEY_WORDS;
      }
      const table = tables[t];
      lookupBatch(table.classifier, work, bases, k, found, this.scratch);
      this.stats[MissBatchStat.Lookups] += 1;
      const probes = this.scratch.probes;
      for (let j = 0; j < k; j++) {
        const d = sel[j], o = d * KEY_WORDS, at = d * stride + pathLen[d];
        this.stepTable[at] = t;
        this.stepProbes[at] = probes[j];
        if (found[j] === NO_RULE) {
          path[at] = -(t + 1);
          frags[at] = null;
          pathLen[d]++;
          this.missTable[d] = t;
          status[d] = MissStatus.Batchable;
          this.stats[MissBatchStat.Batchable] += 1;
          continue;
        }
        const frag = fragmentOf(table.entryOf(found[j])!);
        path[at] = frag.id;
        frags[at] = frag;
        pathLen[d]++;
        if (!entryPlain(frag)) {
          status[d] = MissStatus.Live;
          continue;
        }
        if (frag.gotoTable < 0) {
          status[d] = MissStatus.Batchable;
          this.stats[MissBatchStat.Batchable] += 1;
          continue;
        }
        // Unreachable today (every key-editing op stops or calls out, so entryPlain
        // rejects it), kept as the guard that keeps the dry walk's key equal to
        // the live walk's should entryPlain ever admit an editing op.
        if (frag.applyEdits && !patchKey(frag.code, 0, frag.applyEnd, work, o)) {
          status[d] = MissStatus.Live;
          continue;
        }
        if (frag.writesMetadata) {
          work[o + K.MetadataHi] = (work[o + K.MetadataHi] & ~frag.metaMaskHi) | (frag.metaHi & frag.metaMaskHi);
          work[o + K.MetadataLo] = (work[o + K.MetadataLo] & ~frag.metaMaskLo) | (frag.metaLo & frag.metaMaskLo);
        }
        next[d] = frag.gotoTable;
      }
    }
  }

  /**
   * Key d's path is taken (the walk it stands for happens): copies it into
   * path[0..) and frags[0..), counts its classifier lookups in the tables'
   * classifiers as the live walk would have; returns its length.
   */
  copyPath(d: number, path: Int32Array, frags: (EntryProgram | null)[]): number {
    const n = this.pathLen[d], o = d * this.stride, tables = this.host.tables.tables;
    for (let i = 0; i < n; i++) {
      path[i] = this.path[o + i];
      frags[i] = this.frags[o + i];
      countLookup(tables[this.stepTable[o + i]].classifier, this.stepProbes[o + i], path[i] >= 0);
    }
    return n;
  }

  /** Drops the references to entry programs (so removed rules can be collected). */
  release(): void {
    const n = this.count * this.stride;
    for (let i = 0; i < n && i < this.frags.length; i++) this.frags[i] = null;
    this.count = 0;
  }
}
