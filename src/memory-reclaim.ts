/*
 * Gives memory back after a flow storm: V8 keeps the heap it grew for a
 * large flow table (and the pages of its garbage) after the flows are
 * deleted, so an idle switch would hold that RSS for ever. The housekeeping
 * tick calls tick(); when the flow count has dropped by at least `minDrop`
 * flows and to at most half of its high-water mark, and then neither the
 * count nor the number of flows ever installed has moved for `quietTicks`
 * ticks (no flow-mods: the switch is idle, steady churn never counts), one
 * reclaim runs.
 *
 * A reclaim is the addon's reclaimMemory() (src/ports/native/memory.cc:
 * critical memory pressure to V8, a full GC that also shrinks the young
 * generation and releases pooled pages, then glibc's malloc_trim). Without
 * the addon it is a plain full GC: global.gc under --expose-gc, else one
 * obtained through v8.setFlagsFromString (no launcher flag needed); that
 * frees the heap but V8 and glibc keep more of the pages. Measured by
 * `npm run bench -- --only memory` (BENCHMARKS.md). Nothing here runs on the
 * packet path; a reclaim costs one full GC (tens of ms for a large heap), at
 * most once per drop.
 *
 * The high-water mark is the highest count a tick saw, or, when the tables
 * say how many flows they ever installed (`flowsAdded`), the count at the
 * last reclaim plus the flows installed since, whichever is higher: a storm
 * added and deleted between two ticks is not missed. (After slow churn that
 * bound exceeds the real peak, so a reclaim may also follow the first quiet
 * spell after many flows came and went: one GC.)
 *
 * Invariants: high-water >= the last count seen; after a reclaim the
 * high-water mark restarts at the current count, so one drop reclaims once.
 */

import v8 from 'node:v8';
import vm from 'node:vm';
import { loadNative } from './ports/native.js';

/** What one reclaim did, for the log. */
export interface Reclaim {
  flows: number;
  /** The flow count's high-water mark before the drop. */
  highWater: number;
  rssBeforeMB: number;
  rssAfterMB: number;
  /** 'native': reclaimMemory() of the addon; 'gc': a plain full GC. */
  how: 'native' | 'gc';
}

export interface MemoryReclaimerOptions {
  /** Flows installed now (every table). */
  flowCount: () => number;
  /** Flows ever installed (every table; never decreases), if known. */
  flowsAdded?: () => number;
  /** Off: count only (for comparisons). Default on. */
  enabled?: boolean;
  /** The smallest drop in flows worth a GC. Default 10,000. */
  minDrop?: number;
  /** Ticks the count must stay unchanged after the drop. Default 2. */
  quietTicks?: number;
  /** The reclaim (tests); default the addon's reclaimMemory, else a full GC. */
  reclaim?: () => void;
  /** Told after each reclaim. */
  onReclaim?: (r: Reclaim) => void;
}

function obtainGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

export class MemoryReclaimer {
  /** Full GCs run so far. */
  reclaims = 0;
  private readonly flowCount: () => number;
  private readonly flowsAdded: () => number;
  /** The count and flowsAdded() at the start or the last reclaim. */
  private baseCount: number;
  private baseAdded: number;
  private readonly enabled: boolean;
  private readonly minDrop: number;
  private readonly quietTicks: number;
  private reclaim: (() => void) | null;
  private how: Reclaim['how'] = 'gc';
  private readonly onReclaim: ((r: Reclaim) => void) | null;
  private highWater = 0;
  private last = -1;
  private lastAdded = -1;
  private quiet = 0;

  constructor(opts: MemoryReclaimerOptions) {
    this.flowCount = opts.flowCount;
    this.flowsAdded = opts.flowsAdded ?? (() => 0);
    this.baseCount = opts.flowCount();
    this.baseAdded = this.flowsAdded();
    this.enabled = opts.enabled ?? true;
    this.minDrop = opts.minDrop ?? 10_000;
    this.quietTicks = opts.quietTicks ?? 2;
    this.reclaim = opts.reclaim ?? null;
    this.onReclaim = opts.onReclaim ?? null;
  }

  private obtainReclaim(): () => void {
    try {
      const native = loadNative();
      this.how = 'native';
      return () => native.reclaimMemory();
    } catch {
      return obtainGc();
    }
  }

  /** One housekeeping tick: true when it ran a GC. */
  tick(): boolean {
    const n = this.flowCount();
    const added = this.flowsAdded();
    // Quiet: neither the count nor the installs moved (steady churn keeps the count but not the installs).
    if (n !== this.last || added !== this.lastAdded) {
      this.last = n;
      this.lastAdded = added;
      this.quiet = 0;
    } else {
      this.quiet++;
    }
    this.highWater = Math.max(this.highWater, n, this.baseCount + added - this.baseAdded);
    const dropped = this.highWater - n >= this.minDrop && n * 2 <= this.highWater;
    if (!dropped || this.quiet < this.quietTicks) return false;
    const highWater = this.highWater;
    this.highWater = n;
    this.baseCount = n;
    this.baseAdded = added;
    if (!this.enabled) return false;
    this.reclaim ??= this.obtainReclaim();
    const rssBefore = process.memoryUsage.rss();
    this.reclaim();
    this.reclaims++;
    this.onReclaim?.({ flows: n, highWater, rssBeforeMB: rssBefore / 2 ** 20, rssAfterMB: process.memoryUsage.rss() / 2 ** 20, how: this.how });
    return true;
  }
}
