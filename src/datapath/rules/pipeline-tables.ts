/*
 * The OpenFlow pipeline's set of flow tables (ids 0 .. nTables-1), the
 * dispatch of flow-mods and flow statistics over them, and the generation
 * counter that keeps the exact-match cache honest.
 *
 * What
 *   N_TABLES = 64 tables by default (what features-reply n_tables and
 *   table-features advertise: `nTables`, the real number). Table ids >=
 *   nTables are refused with OFPFMFC_BAD_TABLE_ID / OFPBRC_BAD_TABLE_ID.
 *   flowMod(fm, now)     dispatches OFPFC_*; DELETE*, and MODIFY* as OVS and
 *                        ovs-ofctl expect, accept OFPTT_ALL (every table);
 *                        ADD needs a real table id.
 *   expire(now)          timeouts in every table
 *   flowStats / aggregateStats / tableStats   OFPMP_FLOW / AGGREGATE / TABLE
 *
 * Generation
 *   generationCell[0] is the current generation, an int in 1 .. 2^30. It is
 *   bumped by every change that can alter a lookup result: the tables bump
 *   it themselves on add/modify/delete/expiry; group-mod, meter-mod and port
 *   changes call bumpGeneration(). The exact-match cache (emc.ts) reads the
 *   same cell: an entry stored under an older generation is dead. On wrap
 *   (after 2^30 changes) the generation restarts at 1 and the wrap listeners
 *   (the EMC's clear()) run, so an ancient entry can never look current.
 *
 * Invariants
 * - tables[i].id === i; the array never changes after construction.
 * - Instructions are checked before any table changes: goto_table must name
 *   a later, existing table (OFPBIC_BAD_TABLE_ID); the optional
 *   validateInstructions hook (the pipeline: unsupported instructions,
 *   unknown ports/groups/meters) runs next. A failed flow-mod changes nothing.
 *
 * Concurrency: owned by the datapath on the event loop; not shared.
 */

import { DecodeError } from '../../openflow/codec/decode-error.js';
import { OFPBIC, OFPBRC, OFPET, OFPFC, OFPFMFC, OFPG, OFPP, OFPTT } from '../../openflow/codec/v13/enums.js';
import type { Instruction } from '../../openflow/codec/v13/instructions.js';
import type { FlowStats, FlowStatsFilter } from '../../openflow/codec/v13/msg/mp-flow.js';
import type { TableStats } from '../../openflow/codec/v13/msg/mp-stats.js';
import { type FlowEntry, type FlowModSpec, FlowTable, TableCounter } from './flow-table.js';

/** Flow tables per switch by default (the issue asks for at least 64). */
export const N_TABLES = 64;
/** The generation wraps back to 1 after this value (stays a V8 small integer). */
export const MAX_GENERATION = 0x3fffffff;

/** A flow-mod as the tables take it: the codec's FlowMod carries all of this. */
export interface TableFlowMod extends FlowModSpec {
  /** OFPFC_* */
  command: number;
  tableId: number;
}

export interface FlowModOutcome {
  /** The OFPT_ERROR to answer with, or null. */
  error: DecodeError | null;
  /** Entries a DELETE removed (reason OFPRR_DELETE); flow-removed goes out for those with SEND_FLOW_REM. */
  removed: FlowEntry[];
}

export interface PipelineTablesOptions {
  /** Number of tables, 1..255 (ids up to OFPTT_MAX; default N_TABLES). */
  nTables?: number;
  /** Capacity of each table. */
  maxEntries?: number;
  /** Extra instruction checks before an add/modify touches a table. */
  validateInstructions?: (tableId: number, instructions: readonly Instruction[]) => DecodeError | null;
}

export interface AggregateStats {
  packetCount: bigint;
  byteCount: bigint;
  flowCount: number;
}

export class PipelineTables {
  readonly nTables: number;
  readonly tables: readonly FlowTable[];
  /** [current generation]; shared with the exact-match cache. */
  readonly generationCell = new Int32Array([1]);
  private readonly wrapListeners: (() => void)[] = [];
  private readonly validateHook: PipelineTablesOptions['validateInstructions'];

  constructor(opts: PipelineTablesOptions = {}) {
    const n = opts.nTables ?? N_TABLES;
    if (!Number.isInteger(n) || n < 1 || n > OFPTT.MAX + 1) throw new RangeError(`nTables must be 1..${OFPTT.MAX + 1}, got ${n}`);
    this.nTables = n;
    const bump = () => this.bumpGeneration();
    const tables: FlowTable[] = [];
    for (let i = 0; i < n; i++) tables.push(new FlowTable(i, { maxEntries: opts.maxEntries, onChange: bump }));
    this.tables = tables;
    this.validateHook = opts.validateInstructions;
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

  /** Applies one flow-mod. A failed flow-mod changes nothing. */
  flowMod(fm: TableFlowMod, nowMs: number): FlowModOutcome {
    const all = fm.tableId === OFPTT.ALL;
    if (!all && fm.tableId >= this.nTables) return fail(OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_TABLE_ID, `table ${fm.tableId} does not exist (${this.nTables} tables)`);
    const targets = all ? this.tables : [this.tables[fm.tableId]];
    switch (fm.command) {
      case OFPFC.ADD: {
        if (all) return fail(OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_TABLE_ID, 'add needs a table id, not OFPTT_ALL');
        const bad = this.checkInstructions(fm.tableId, fm.instructions);
        if (bad) return { error: bad, removed: [] };
        return { error: targets[0].add(fm, nowMs), removed: [] };
      }
      case OFPFC.MODIFY:
      case OFPFC.MODIFY_STRICT: {
        const strict = fm.command === OFPFC.MODIFY_STRICT;
        // Check against every table the modify would touch before touching any.
        for (const t of targets) {
          const hit = t.select({ ...fm, outPort: OFPP.ANY, outGroup: OFPG.ANY, strict });
          if (hit instanceof DecodeError) return { error: hit, removed: [] };
          if (hit.length === 0 && all) continue;
          const bad = this.checkInstructions(t.id, fm.instructions);
          if (bad) return { error: bad, removed: [] };
        }
        for (const t of targets) {
          const err = t.modify(fm, strict);
          if (err) return { error: err, removed: [] };
        }
        return { error: null, removed: [] };
      }
      case OFPFC.DELETE:
      case OFPFC.DELETE_STRICT: {
        const removed: FlowEntry[] = [];
        for (const t of targets) {
          const r = t.delete(fm, fm.command === OFPFC.DELETE_STRICT);
          if (r instanceof DecodeError) return { error: r, removed };
          for (const e of r) removed.push(e);
        }
        return { error: null, removed };
      }
      default:
        return fail(OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_COMMAND, `flow_mod command ${fm.command}`);
    }
  }

  /** Removes the entries of every table whose timeouts ran out (removedReason IDLE/HARD). */
  expire(nowMs: number): FlowEntry[] {
    const out: FlowEntry[] = [];
    for (const t of this.tables) for (const e of t.expire(nowMs)) out.push(e);
    return out;
  }

  /** Removes the entries that send to a deleted group (reason OFPRR_GROUP_DELETE). */
  deleteByGroup(groupId: number): FlowEntry[] {
    const out: FlowEntry[] = [];
    for (const t of this.tables) for (const e of t.deleteByGroup(groupId)) out.push(e);
    return out;
  }

  /** OFPMP_FLOW: entries of the requested table (or all), table by table. */
  flowStats(filter: FlowStatsFilter, nowMs: number): FlowStats[] | DecodeError {
    const targets = this.statsTargets(filter.tableId);
    if (targets instanceof DecodeError) return targets;
    const out: FlowStats[] = [];
    for (const t of targets) {
      const r = t.flowStats(filter, nowMs);
      if (r instanceof DecodeError) return r;
      for (const s of r) out.push(s);
    }
    return out;
  }

  /** OFPMP_AGGREGATE over the requested table (or all). */
  aggregateStats(filter: FlowStatsFilter): AggregateStats | DecodeError {
    const targets = this.statsTargets(filter.tableId);
    if (targets instanceof DecodeError) return targets;
    let packets = 0, bytes = 0, flows = 0;
    for (const t of targets) {
      const r = t.aggregate(filter);
      if (r instanceof DecodeError) return r;
      packets += r.packetCount;
      bytes += r.byteCount;
      flows += r.flowCount;
    }
    return { packetCount: BigInt(Math.floor(packets)), byteCount: BigInt(Math.floor(bytes)), flowCount: flows };
  }

  /** OFPMP_TABLE: one entry per table. */
  tableStats(): TableStats[] {
    return this.tables.map((t) => ({
      tableId: t.id,
      activeCount: t.size,
      lookupCount: BigInt(t.counters[TableCounter.Lookups]),
      matchedCount: BigInt(t.counters[TableCounter.Matched]),
    }));
  }

  private statsTargets(tableId: number): readonly FlowTable[] | DecodeError {
    if (tableId === OFPTT.ALL) return this.tables;
    if (tableId >= this.nTables) return new DecodeError(OFPET.BAD_REQUEST, OFPBRC.BAD_TABLE_ID, -1, `table ${tableId} does not exist`);
    return [this.tables[tableId]];
  }

  private checkInstructions(tableId: number, instructions: readonly Instruction[]): DecodeError | null {
    for (const i of instructions) {
      if (i.type === 'goto_table' && (i.tableId <= tableId || i.tableId >= this.nTables)) {
        return new DecodeError(OFPET.BAD_INSTRUCTION, OFPBIC.BAD_TABLE_ID, -1, `goto_table ${i.tableId} from table ${tableId}`);
      }
    }
    return this.validateHook ? this.validateHook(tableId, instructions) : null;
  }
}

function fail(type: number, code: number, message: string): FlowModOutcome {
  return { error: new DecodeError(type, code, -1, message), removed: [] };
}
