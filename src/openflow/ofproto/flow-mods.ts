/*
 * Flow-mods and flow statistics: OpenFlow 1.3's flow table semantics
 * (spec 6.4) translated onto the datapath's rule tables.
 *
 * What
 *   OfFlowTable    one table: add / modify / delete with their OpenFlow rules,
 *                  flow and aggregate stats. A flow-mod becomes a RuleSpec
 *                  (match -> key/mask rows, instructions -> RuleProgram,
 *                  OFPFF_* -> RuleFlag, the match and instructions kept as
 *                  the rule's origin so stats report them verbatim).
 *                  Rules that agree share their mask row, program,
 *                  references and instruction list (flow-store.ts).
 *   OfFlowTables   every table: command dispatch (OFPTT_ALL only for
 *                  DELETE*, spec A.3.4.1: ADD and MODIFY* with it get
 *                  OFPFMFC_BAD_TABLE_ID), goto-table checks, table stats,
 *                  timeouts
 *   flowStatsOf / flowRemovedOf  a rule as OFPMP_FLOW entry / OFPT_FLOW_REMOVED
 *
 * OpenFlow rules kept here
 *   ADD replaces an entry with identical match and priority (keeping its
 *   counters unless RESET_COUNTS), CHECK_OVERLAP -> OFPFMFC_OVERLAP, unknown
 *   flags -> OFPFMFC_BAD_FLAGS (ADD and MODIFY*, even when MODIFY selects
 *   nothing). MODIFY[_STRICT] filters on cookie/cookie_mask,
 *   replaces instructions, keeps cookie, timeouts, flags and duration (1.3: no
 *   match -> nothing, no add); its out_port/out_group are ignored. DELETE[_STRICT]
 *   filters on cookie, out_port and out_group. Strict = identical match and
 *   priority; non-strict = every entry whose match is equal to or more
 *   specific than the request's (priority ignored).
 *
 * Invariants
 * - Instructions are checked before any table changes: goto_table must name a
 *   later, existing table (OFPBIC_BAD_TABLE_ID); the optional
 *   validateInstructions hook runs next. A failed flow-mod changes nothing.
 * - A rule's program depends on its table, cookie and table-miss-ness (the
 *   labels of its controller outputs), so MODIFY compiles once per entry.
 *
 * Slow path only: may allocate.
 */

import { KEY_WORDS } from '../../flow/key.js';
import { FlowCounter, type AggregateCounts, type FlowEntry, type FlowTable, TableCounter } from '../../datapath/rules/flow-table.js';
import type { PipelineTables } from '../../datapath/rules/pipeline-tables.js';
import { GROUP_ANY, PORT_ANY, RemovedReason, RuleFlag, type RuleActions, type RuleSelector } from '../../datapath/rules/rule.js';
import type { DecodeError } from '../codec/decode-error.js';
import { OFPBIC, OFPBRC, OFPET, OFPFC, OFPFF, OFPFMFC, OFPG, OFPP, OFPRR, OFPTT } from '../codec/v13/enums.js';
import type { Instruction } from '../codec/v13/instructions.js';
import type { FlowMod } from '../codec/v13/msg/flow-mod.js';
import type { FlowRemoved } from '../codec/v13/msg/flow-removed.js';
import type { FlowStats, FlowStatsFilter } from '../codec/v13/msg/mp-flow.js';
import type { TableStats } from '../codec/v13/msg/mp-stats.js';
import type { Match } from '../codec/v13/oxm.js';
import type { CompileContext } from './compile.js';
import { ofErrorOf } from './faults.js';
import { FlowStore } from './flow-store.js';
import { compileMatch } from './match.js';
import { durationOf } from './replies.js';
import type { OfError } from './switch-api.js';

/** Every OFPFF_* bit OpenFlow 1.3 defines. */
export const OFPFF_ALL = OFPFF.SEND_FLOW_REM | OFPFF.CHECK_OVERLAP | OFPFF.RESET_COUNTS | OFPFF.NO_PKT_COUNTS | OFPFF.NO_BYT_COUNTS;

/** OFPFF_* bits and the RuleFlag each one is. */
const FLAG_PAIRS: readonly (readonly [number, RuleFlag])[] = [
  [OFPFF.SEND_FLOW_REM, RuleFlag.SendRemoved],
  [OFPFF.CHECK_OVERLAP, RuleFlag.CheckOverlap],
  [OFPFF.RESET_COUNTS, RuleFlag.ResetCounts],
  [OFPFF.NO_PKT_COUNTS, RuleFlag.NoPacketCounts],
  [OFPFF.NO_BYT_COUNTS, RuleFlag.NoByteCounts],
];

function ruleFlagsOf(ofpff: number): number {
  let f = 0;
  for (const [of, rf] of FLAG_PAIRS) if ((ofpff & of) !== 0) f |= rf;
  return f;
}

/** The OFPFF_* bits of a rule. */
export function ofpffOf(ruleFlags: number): number {
  let f = 0;
  for (const [of, rf] of FLAG_PAIRS) if ((ruleFlags & rf) !== 0) f |= of;
  return f;
}

/** OFPRR_* of a removed rule (OpenFlow 1.3 has no METER_DELETE: such flows are deleted). */
function ofprrOf(reason: number): number {
  switch (reason) {
    case RemovedReason.IdleTimeout: return OFPRR.IDLE_TIMEOUT;
    case RemovedReason.HardTimeout: return OFPRR.HARD_TIMEOUT;
    case RemovedReason.GroupDelete: return OFPRR.GROUP_DELETE;
    default: return OFPRR.DELETE;
  }
}

/** The parts of a flow-mod a table acts on (the codec's FlowMod has them all). */
export type FlowModSpec = Pick<
  FlowMod,
  'cookie' | 'cookieMask' | 'priority' | 'idleTimeout' | 'hardTimeout' | 'flags' | 'outPort' | 'outGroup' | 'match' | 'instructions'
>;

/** A flow-mod as the tables take it. */
export interface TableFlowMod extends FlowModSpec {
  /** OFPFC_* */
  command: number;
  tableId: number;
}

/** A rule's OpenFlow form, kept as its origin: reported back verbatim. */
export interface FlowOrigin {
  readonly match: Match;
  readonly instructions: Instruction[];
}

/** The OpenFlow match and instructions of a rule installed through this layer. */
export function originOf(e: FlowEntry): FlowOrigin {
  return e.origin as FlowOrigin;
}

export interface FlowModOutcome {
  /** The OFPT_ERROR to answer with, or null. */
  error: OfError | null;
  /** Entries a DELETE removed; flow-removed goes out for those with SEND_FLOW_REM. */
  removed: FlowEntry[];
}

function toOfError(e: DecodeError): OfError {
  return { type: e.type, code: e.code, reason: e.message };
}

function isTableMiss(priority: number, mask: Uint32Array): boolean {
  if (priority !== 0) return false;
  for (let w = 0; w < KEY_WORDS; w++) if (mask[w] !== 0) return false;
  return true;
}

/** The rows and filters of a request, or the match's error. */
function selectorOf(
  q: { match: Match; cookie: bigint; cookieMask: bigint; priority: number },
  strict: boolean,
  outPort: number,
  outGroup: number,
): RuleSelector | OfError {
  const rows = compileMatch(q.match);
  if ('type' in rows) return toOfError(rows);
  return {
    key: rows.key, mask: rows.mask, strict, priority: q.priority, cookie: q.cookie, cookieMask: q.cookieMask,
    outPort: outPort === OFPP.ANY ? PORT_ANY : outPort, outGroup: outGroup === OFPG.ANY ? GROUP_ANY : outGroup,
  };
}

function isOfError(x: object): x is OfError {
  return 'code' in x && 'type' in x && typeof (x as OfError).type === 'number';
}

/** One OpenFlow flow table over a datapath rule table. */
export class OfFlowTable {
  private readonly store: FlowStore;

  constructor(
    readonly table: FlowTable,
    /** A store shared by the tables of one switch, or a compile context for a store of this table's own. */
    storeOrCtx: FlowStore | CompileContext,
  ) {
    this.store = storeOrCtx instanceof FlowStore ? storeOrCtx : new FlowStore(storeOrCtx);
  }

  get id(): number {
    return this.table.id;
  }

  get size(): number {
    return this.table.size;
  }

  /** OFPFC_ADD. Returns null or the error to answer with. */
  add(fm: FlowModSpec, nowMs: number): OfError | null {
    if ((fm.flags & ~OFPFF_ALL) !== 0) {
      return { type: OFPET.FLOW_MOD_FAILED, code: OFPFMFC.BAD_FLAGS, reason: `flags 0x${fm.flags.toString(16)} has unknown bits` };
    }
    const rows = compileMatch(fm.match);
    if ('type' in rows) return toOfError(rows);
    // Shared with other flows where they agree (flow-store.ts): the mask, the program and its instructions.
    const a = this.store.actions({ tableId: this.id, cookie: fm.cookie, isTableMiss: isTableMiss(fm.priority, rows.mask), instructions: fm.instructions });
    const err = this.table.add({
      key: this.store.key(rows.key), mask: this.store.mask(rows.mask), priority: fm.priority, cookie: fm.cookie, idleTimeout: fm.idleTimeout,
      hardTimeout: fm.hardTimeout, flags: ruleFlagsOf(fm.flags), program: a.program, refs: a.refs,
      origin: { match: fm.match, instructions: a.instructions } satisfies FlowOrigin,
    }, nowMs);
    return err === null ? null : ofErrorOf(err);
  }

  /** The entries MODIFY[_STRICT] would change (out_port/out_group ignored), or the match's error. */
  selectForModify(fm: FlowModSpec, strict: boolean): FlowEntry[] | OfError {
    const sel = selectorOf(fm, strict, OFPP.ANY, OFPG.ANY);
    return isOfError(sel) ? sel : this.table.select(sel);
  }

  /** OFPFC_MODIFY (strict = MODIFY_STRICT). */
  modify(fm: FlowModSpec, strict: boolean): OfError | null {
    const sel = selectorOf(fm, strict, OFPP.ANY, OFPG.ANY);
    if (isOfError(sel)) return sel;
    const actionsFor = (e: FlowEntry): RuleActions => {
      const a = this.store.actions({ tableId: e.tableId, cookie: e.cookie, isTableMiss: e.isTableMiss, instructions: fm.instructions });
      return { program: a.program, refs: a.refs, origin: { match: originOf(e).match, instructions: a.instructions } satisfies FlowOrigin };
    };
    this.table.modify(sel, actionsFor, (fm.flags & OFPFF.RESET_COUNTS) !== 0);
    return null;
  }

  /** OFPFC_DELETE (strict = DELETE_STRICT). Returns the removed entries or the error. */
  delete(fm: FlowModSpec, strict: boolean): FlowEntry[] | OfError {
    const sel = selectorOf(fm, strict, fm.outPort, fm.outGroup);
    return isOfError(sel) ? sel : this.table.delete(sel);
  }

  /** The entries a stats request selects, in (priority desc, install order) order. */
  selectForStats(filter: FlowStatsFilter): FlowEntry[] | OfError {
    const sel = selectorOf({ ...filter, priority: 0 }, false, filter.outPort, filter.outGroup);
    return isOfError(sel) ? sel : this.table.selectSorted(sel);
  }

  /** OFPMP_FLOW entries for this table. */
  flowStats(filter: FlowStatsFilter, nowMs: number): FlowStats[] | OfError {
    const hit = this.selectForStats(filter);
    return isOfError(hit) ? hit : hit.map((e) => flowStatsOf(e, nowMs));
  }

  /** OFPMP_AGGREGATE counts for this table. */
  aggregate(filter: FlowStatsFilter): AggregateCounts | OfError {
    const sel = selectorOf({ ...filter, priority: 0 }, false, filter.outPort, filter.outGroup);
    return isOfError(sel) ? sel : this.table.aggregate(sel);
  }
}

export interface AggregateStats {
  packetCount: bigint;
  byteCount: bigint;
  flowCount: number;
}

export interface OfFlowTablesOptions {
  /** Extra instruction checks before an add/modify touches a table. */
  validateInstructions?: (tableId: number, instructions: readonly Instruction[]) => OfError | null;
}

/** Every OpenFlow flow table of the pipeline. */
export class OfFlowTables {
  readonly tables: readonly OfFlowTable[];
  private readonly validateHook: OfFlowTablesOptions['validateInstructions'];

  constructor(
    readonly rules: PipelineTables,
    ctx: CompileContext,
    opts: OfFlowTablesOptions = {},
  ) {
    const store = new FlowStore(ctx);
    this.tables = rules.tables.map((t) => new OfFlowTable(t, store));
    this.validateHook = opts.validateInstructions;
  }

  get nTables(): number {
    return this.rules.nTables;
  }

  table(id: number): OfFlowTable | undefined {
    return id >= 0 && id < this.tables.length ? this.tables[id] : undefined;
  }

  /** Applies one flow-mod. A failed flow-mod changes nothing. */
  flowMod(fm: TableFlowMod, nowMs: number): FlowModOutcome {
    const all = fm.tableId === OFPTT.ALL;
    if (!all && fm.tableId >= this.nTables) return fail(OFPFMFC.BAD_TABLE_ID, `table ${fm.tableId} does not exist (${this.nTables} tables)`);
    const targets = all ? this.tables : [this.tables[fm.tableId]];
    switch (fm.command) {
      case OFPFC.ADD: {
        if (all) return fail(OFPFMFC.BAD_TABLE_ID, 'add needs a table id, not OFPTT_ALL');
        const bad = this.checkInstructions(fm.tableId, fm.instructions);
        if (bad) return { error: bad, removed: [] };
        return { error: targets[0].add(fm, nowMs), removed: [] };
      }
      case OFPFC.MODIFY:
      case OFPFC.MODIFY_STRICT: {
        // 1.3.5 A.3.4.1: OFPTT_ALL is only valid for delete requests.
        if (all) return fail(OFPFMFC.BAD_TABLE_ID, 'modify needs a table id; OFPTT_ALL is only valid for delete');
        if ((fm.flags & ~OFPFF_ALL) !== 0) return fail(OFPFMFC.BAD_FLAGS, `flags 0x${fm.flags.toString(16)} has unknown bits`);
        const strict = fm.command === OFPFC.MODIFY_STRICT;
        // Check against every table the modify would touch before touching any.
        for (const t of targets) {
          const hit = t.selectForModify(fm, strict);
          if (isOfError(hit)) return { error: hit, removed: [] };
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
          if (isOfError(r)) return { error: r, removed };
          for (const e of r) removed.push(e);
        }
        return { error: null, removed };
      }
      default:
        return fail(OFPFMFC.BAD_COMMAND, `flow_mod command ${fm.command}`);
    }
  }

  /** OFPMP_FLOW: entries of the requested table (or all), table by table. */
  flowStats(filter: FlowStatsFilter, nowMs: number): FlowStats[] | OfError {
    const targets = this.statsTargets(filter.tableId);
    if (isOfError(targets)) return targets;
    const out: FlowStats[] = [];
    for (const t of targets) {
      const r = t.flowStats(filter, nowMs);
      if (isOfError(r)) return r;
      for (const s of r) out.push(s);
    }
    return out;
  }

  /** OFPMP_AGGREGATE over the requested table (or all). */
  aggregateStats(filter: FlowStatsFilter): AggregateStats | OfError {
    const targets = this.statsTargets(filter.tableId);
    if (isOfError(targets)) return targets;
    let packets = 0, bytes = 0, flows = 0;
    for (const t of targets) {
      const r = t.aggregate(filter);
      if (isOfError(r)) return r;
      packets += r.packetCount;
      bytes += r.byteCount;
      flows += r.flowCount;
    }
    return { packetCount: BigInt(Math.floor(packets)), byteCount: BigInt(Math.floor(bytes)), flowCount: flows };
  }

  /** OFPMP_TABLE: one entry per table. */
  tableStats(): TableStats[] {
    return this.rules.tables.map((t) => ({
      tableId: t.id,
      activeCount: t.size,
      lookupCount: BigInt(t.counters[TableCounter.Lookups]),
      matchedCount: BigInt(t.counters[TableCounter.Matched]),
    }));
  }

  private statsTargets(tableId: number): readonly OfFlowTable[] | OfError {
    if (tableId === OFPTT.ALL) return this.tables;
    if (tableId >= this.nTables) return { type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_TABLE_ID, reason: `table ${tableId} does not exist` };
    return [this.tables[tableId]];
  }

  private checkInstructions(tableId: number, instructions: readonly Instruction[]): OfError | null {
    for (const i of instructions) {
      if (i.type === 'goto_table' && (i.tableId <= tableId || i.tableId >= this.nTables)) {
        return { type: OFPET.BAD_INSTRUCTION, code: OFPBIC.BAD_TABLE_ID, reason: `goto_table ${i.tableId} from table ${tableId}` };
      }
    }
    return this.validateHook ? this.validateHook(tableId, instructions) : null;
  }
}

function fail(code: number, reason: string): FlowModOutcome {
  return { error: { type: OFPET.FLOW_MOD_FAILED, code, reason }, removed: [] };
}

/** 2^64 - 1 caps a counter that a double could carry past 64 bits (never in practice). */
function u64(n: number): bigint {
  const b = BigInt(Math.floor(n));
  return b > 0xffffffffffffffffn ? 0xffffffffffffffffn : b;
}

/** One OFPMP_FLOW entry. */
export function flowStatsOf(e: FlowEntry, nowMs: number): FlowStats {
  const d = durationOf(e.installMs, nowMs);
  const o = originOf(e);
  return {
    tableId: e.tableId,
    durationSec: d.sec,
    durationNsec: d.nsec,
    priority: e.priority,
    idleTimeout: e.idleTimeout,
    hardTimeout: e.hardTimeout,
    flags: ofpffOf(e.flags),
    cookie: e.cookie,
    packetCount: u64(e.counters[FlowCounter.Packets]),
    byteCount: u64(e.counters[FlowCounter.Bytes]),
    match: o.match,
    instructions: o.instructions,
  };
}

/** The OFPT_FLOW_REMOVED for a removed entry (its removal reason, its final counters). */
export function flowRemovedOf(e: FlowEntry, nowMs: number, xid = 0): FlowRemoved {
  const d = durationOf(e.installMs, nowMs);
  return {
    type: 'flow_removed',
    xid,
    cookie: e.cookie,
    priority: e.priority,
    reason: ofprrOf(e.removedReason),
    tableId: e.tableId,
    durationSec: d.sec,
    durationNsec: d.nsec,
    idleTimeout: e.idleTimeout,
    hardTimeout: e.hardTimeout,
    packetCount: u64(e.counters[FlowCounter.Packets]),
    byteCount: u64(e.counters[FlowCounter.Bytes]),
    match: originOf(e).match,
  };
}
