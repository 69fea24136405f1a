/*
 * The pipeline's set of rule tables (ids 0 .. nTables-1) and the generation
 * counter that keeps the exact-match cache honest.
 *
 * What
 *   nTables tables (N_TABLES = 64 by default; at most MAX_TABLES).
 *   table(id)            the table, or undefined past the last
 *   expire(now)          timeouts in every table
 *   deleteByGroup/Meter  rules using a deleted group or meter, in every table
 *
 * Generation
 *   generationCell[0] is the current generation, an int in 1 .. 2^30. It is
 *   bumped by every change that can alter a lookup result: the tables bump
 *   it themselves on add/modify/delete/expiry; group, meter and port changes
 *   call bumpGeneration(). The exact-match cache (emc.ts) reads the same
 *   cell: an entry stored under an older generation is dead. On wrap (after
 *   2^30 changes) the generation restarts at 1 and the wrap listeners (the
 *   EMC's clear()) run, so an ancient entry can never look current.
 *
 * Invariants
 * - tables[i].id === i; the array never changes after construction.
 *
 * Concurrency: owned by the datapath on the event loop; not shared.
 */

import { type FlowEntry, FlowTable } from './flow-table.js';

/** Rule tables per switch by default. */
export const N_TABLES = 64;
/** The most tables a pipeline can have (table ids are one byte, 255 reserved). */
export const MAX_TABLES = 255;
/** The generation wraps back to 1 after this value (stays a V8 small integer). */
export const MAX_GENERATION = 0x3fffffff;

export interface PipelineTablesOptions {
  /** Number of tables, 1..MAX_TABLES (default N_TABLES). */
  nTables?: number;
  /** Capacity of each table. */
  maxEntries?: number;
}

export class PipelineTables {
  readonly nTables: number;
  readonly tables: readonly FlowTable[];
  /** [current generation]; shared with the exact-match cache. */
  readonly generationCell = new Int32Array([1]);
  private readonly wrapListeners: (() => void)[] = [];

  constructor(opts: PipelineTablesOptions = {}) {
    const n = opts.nTables ?? N_TABLES;
    if (!Number.isInteger(n) || n < 1 || n > MAX_TABLES) throw new RangeError(`nTables must be 1..${MAX_TABLES}, got ${n}`);
    this.nTables = n;
    const bump = () => this.bumpGeneration();
    const tables: FlowTable[] = [];
    for (let i = 0; i < n; i++) tables.push(new FlowTable(i, { maxEntries: opts.maxEntries, onChange: bump }));
    this.tables = tables;
  }

  get generation(): number {
    return this.generationCell[0];
  }

  /** Invalidates every cached lookup result. */
  bumpGeneration(): void {
    let g = this.generationCell[0] + 1;
    if (g > MAX_GENERATION) {
      g = 1;
      this.generationCell[0] = g;
      for (const fn of this.wrapListeners) fn();
      return;
    }
    this.generationCell[0] = g;
  }

  /** `fn` runs when the generation wraps (register the EMC's clear()). */
  onGenerationWrap(fn: () => void): void {
    this.wrapListeners.push(fn);
  }

  table(id: number): FlowTable | undefined {
    return id >= 0 && id < this.nTables ? this.tables[id] : undefined;
  }

  /** Installed entries over all tables. */
  get flowCount(): number {
    let n = 0;
    for (const t of this.tables) n += t.size;
    return n;
  }

  /** Rules installed in any table since they were made (never decreases). */
  get flowsAdded(): number {
    let n = 0;
    for (const t of this.tables) n += t.added;
    return n;
  }

  /** Removes the entries of every table whose timeouts ran out (removedReason IdleTimeout / HardTimeout). */
  expire(nowMs: number): FlowEntry[] {
    const out: FlowEntry[] = [];
    for (const t of this.tables) for (const e of t.expire(nowMs)) out.push(e);
    return out;
  }

  /** Removes the entries that send to a deleted group (reason GroupDelete). */
  deleteByGroup(groupId: number): FlowEntry[] {
    const out: FlowEntry[] = [];
    for (const t of this.tables) for (const e of t.deleteByGroup(groupId)) out.push(e);
    return out;
  }

  /** Removes the rules that use a deleted meter. */
  deleteByMeter(meterId: number): FlowEntry[] {
    const out: FlowEntry[] = [];
    for (const t of this.tables) for (const e of t.deleteByMeter(meterId)) out.push(e);
    return out;
  }
}
