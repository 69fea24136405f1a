/*
 * One OpenFlow 1.3 flow table: its flow entries, the flow-mod operations
 * with their OpenFlow semantics (spec 6.4), timeouts, and the statistics
 * views. Matching is delegated to a Classifier (classifier.ts).
 *
 * What
 *   add(fm, now)                 OFPFC_ADD: replaces an entry with identical match
 *                                and priority (keeping its counters unless
 *                                RESET_COUNTS), CHECK_OVERLAP -> OFPFMFC_OVERLAP
 *   modify(fm, strict, now)      OFPFC_MODIFY[_STRICT]: cookie/cookie_mask filter;
 *                                replaces instructions; counters kept unless
 *                                RESET_COUNTS; cookie, timeouts, flags and duration
 *                                unchanged (1.3: no match -> nothing, no add)
 *   delete(fm, strict)           OFPFC_DELETE[_STRICT]: cookie/mask, out_port and
 *                                out_group filters; returns the removed entries
 *   expire(now)                  idle/hard timeouts; returns the removed entries
 *                                (a scan of the table, skipped while no entry has
 *                                a timeout; the pipeline calls it about once a second)
 *   lookup(keys, base)           the entry a packet hits, or null (hot path)
 *   flowStats / aggregate        OFPMP_FLOW / OFPMP_AGGREGATE with the same filters
 *   Strict = identical match and priority; non-strict = every entry whose
 *   match is equal to or more specific than the request's (priority ignored).
 *
 * Entries
 *   A FlowEntry holds its match twice: as the controller sent it (`match`,
 *   reported back verbatim in stats and flow-removed) and as key/mask rows
 *   (what the classifier and the filters use). Counters are a Float64Array
 *   [packets, bytes, lastHitMs] that the pipeline bumps in the hot path
 *   (`e.counters[FlowCounter.Packets] += 1`, no allocation). Counting is
 *   always on: NO_PKT_COUNTS / NO_BYT_COUNTS are kept and reported but, as
 *   the spec allows ("does not need to keep track"), the real counts are
 *   still returned. `program` is the pipeline's compiled form of the
 *   instructions: reset to null whenever the instructions change.
 *
 * Invariants
 * - At most one entry per (match rows, priority): add replaces.
 * - `entries` is dense; entries[i].index === i; byHandle[e.handle] === e for
 *   every live entry; a removed entry has handle -1 and removedReason set.
 * - Every change that can alter what lookup() returns, or the instructions
 *   of what it returns, calls onChange() (the pipeline bumps its generation).
 * - lookup() allocates nothing; everything else is the slow path.
 *
 * Concurrency: owned by the datapath on the event loop; not shared.
 */

import { DecodeError } from '../../openflow/codec/decode-error.js';
import { OFPET, OFPFF, OFPFMFC, OFPG, OFPP, OFPRR } from '../../openflow/codec/v13/enums.js';
import type { Instruction } from '../../openflow/codec/v13/instructions.js';
import { matchToRows } from '../../openflow/ofproto/match.js';
import type { FlowMod } from '../../openflow/codec/v13/msg/flow-mod.js';
import type { FlowRemoved } from '../../openflow/codec/v13/msg/flow-removed.js';
import type { FlowStats, FlowStatsFilter } from '../../openflow/codec/v13/msg/mp-flow.js';
import type { Match } from '../../openflow/codec/v13/oxm.js';
import { Classifier, NO_RULE } from './classifier.js';
import { KEY_WORDS } from '../../flow/key.js';

/** Default per-table capacity (advertised as max_entries). */
export const DEFAULT_MAX_ENTRIES = 1 << 20;
/** Every OFPFF_* bit OpenFlow 1.3 defines. */
export const OFPFF_ALL = OFPFF.SEND_FLOW_REM | OFPFF.CHECK_OVERLAP | OFPFF.RESET_COUNTS | OFPFF.NO_PKT_COUNTS | OFPFF.NO_BYT_COUNTS;

/** Indexes into FlowEntry.counters. */
export const enum FlowCounter {
  Packets = 0,
  Bytes = 1,
  /** performance.now()-style ms of the last hit; install time until the first hit. */
  LastHitMs = 2,
}

/** Indexes into FlowTable.counters (OFPMP_TABLE). */
export const enum TableCounter {
  Lookups = 0,
  Matched = 1,
}

/** The parts of a flow-mod a table acts on (the codec's FlowMod has them all). */
export type FlowModSpec = Pick<
  FlowMod,
  'cookie' | 'cookieMask' | 'priority' | 'idleTimeout' | 'hardTimeout' | 'flags' | 'outPort' | 'outGroup' | 'match' | 'instructions'
>;

export class FlowEntry {
  readonly tableId: number;
  readonly priority: number;
  /** The match as the controller sent it. */
  readonly match: Match;
  readonly key: Uint32Array;
  readonly mask: Uint32Array;
  cookie: bigint;
  /** OFPFF_* as installed. */
  flags: number;
  idleTimeout: number;
  hardTimeout: number;
  installMs: number;
  instructions: Instruction[];
  /** [packets, bytes, lastHitMs]: see FlowCounter. */
  readonly counters = new Float64Array(3);
  /** The pipeline's compiled instructions; null until compiled or after a change. */
  program: unknown = null;
  /** Classifier handle while installed, -1 after removal. */
  handle = -1;
  /** Position in the table's entry list while installed. */
  index = -1;
  /** Table-local insertion order (stable stats order). */
  seq = 0;
  /** OFPRR_* once removed, -1 while installed. */
  removedReason = -1;

  constructor(tableId: number, fm: FlowModSpec, key: Uint32Array, mask: Uint32Array, nowMs: number) {
    this.tableId = tableId;
    this.priority = fm.priority;
    this.match = fm.match;
    this.key = key;
    this.mask = mask;
    this.cookie = fm.cookie;
    this.flags = fm.flags;
    this.idleTimeout = fm.idleTimeout;
    this.hardTimeout = fm.hardTimeout;
    this.installMs = nowMs;
    this.instructions = fm.instructions;
    this.counters[FlowCounter.LastHitMs] = nowMs;
  }

  get packetCount(): number {
    return this.counters[FlowCounter.Packets];
  }

  get byteCount(): number {
    return this.counters[FlowCounter.Bytes];
  }

  /** Priority 0 with an empty match: the table-miss entry. */
  get isTableMiss(): boolean {
    if (this.priority !== 0) return false;
    for (let w = 0; w < KEY_WORDS; w++) if (this.mask[w] !== 0) return false;
    return true;
  }

  /** Does any apply/write-actions instruction output to `port`? */
  outputsTo(port: number): boolean {
    for (const i of this.instructions) {
      if (i.type !== 'apply_actions' && i.type !== 'write_actions') continue;
      for (const a of i.actions) if (a.type === 'output' && a.port === port) return true;
    }
    return false;
  }

  /** Does any apply/write-actions instruction send to group `group`? */
  usesGroup(group: number): boolean {
    for (const i of this.instructions) {
      if (i.type !== 'apply_actions' && i.type !== 'write_actions') continue;
      for (const a of i.actions) if (a.type === 'group' && a.groupId === group) return true;
    }
    return false;
  }
}

/** Which entries an operation or a stats request applies to. */
export interface FlowSelector {
  match: Match;
  cookie: bigint;
  cookieMask: bigint;
  /** OFPP_ANY: no filter. */
  outPort: number;
  /** OFPG_ANY: no filter. */
  outGroup: number;
  /** Strict only: the exact priority. */
  priority: number;
  strict: boolean;
}

export interface FlowTableOptions {
  maxEntries?: number;
  /** Called after every change that can alter lookup results (bump the generation). */
  onChange?: () => void;
}

export interface AggregateCounts {
  packetCount: number;
  byteCount: number;
  flowCount: number;
}

/** Duration of an entry as OpenFlow reports it. */
export function flowDuration(e: FlowEntry, nowMs: number): { sec: number; nsec: number } {
  const ms = Math.max(0, nowMs - e.installMs);
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: Math.min(999_999_999, Math.round((ms - sec * 1000) * 1e6)) };
}

export class FlowTable {
  readonly id: number;
  readonly maxEntries: number;
  /** Lookup counters for table stats: see TableCounter. */
  readonly counters = new Float64Array(2);
  private readonly cls = new Classifier();
  private readonly entries: FlowEntry[] = [];
  private readonly byHandle: (FlowEntry | null)[] = [];
  private readonly onChange: () => void;
  private nextSeq = 1;
  /** Entries with a nonzero idle or hard timeout (expire() skips the scan when 0). */
  private nTimed = 0;

  constructor(id: number, opts: FlowTableOptions = {}) {
    this.id = id;
    this.maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.onChange = opts.onChange ?? (() => {});
  }

  get size(): number {
    return this.entries.length;
  }

  /** The classifier (diagnostics and benchmarks). */
  get classifier(): Classifier {
    return this.cls;
  }

  /** Every installed entry (a snapshot copy, slow path). */
  list(): FlowEntry[] {
    return this.entries.slice();
  }

  /** The entry a packet with key row keys[base..] hits, or null. Counts the lookup. Hot path. */
  lookup(keys: Uint32Array, base: number): FlowEntry | null {
    this.counters[TableCounter.Lookups] += 1;
    const h = this.cls.lookup(keys, base);
    if (h === NO_RULE) return null;
    this.counters[TableCounter.Matched] += 1;
    return this.byHandle[h];
  }

  /** OFPFC_ADD. Returns null or the error to answer with. */
  add(fm: FlowModSpec, nowMs: number): DecodeError | null {
    if ((fm.flags & ~OFPFF_ALL) !== 0) {
      return new DecodeError(OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_FLAGS, -1, `flags 0x${fm.flags.toString(16)} has unknown bits`);
    }
    const key = new Uint32Array(KEY_WORDS);
    const mask = new Uint32Array(KEY_WORDS);
    const bad = matchToRows(fm.match, key, 0, mask, 0);
    if (bad) return bad;
    if ((fm.flags & OFPFF.CHECK_OVERLAP) !== 0 && this.cls.findOverlap(key, 0, mask, 0, fm.priority) !== NO_RULE) {
      return new DecodeError(OFPET.FLOW_MOD_FAILED, OFPFMFC.OVERLAP, -1, `an entry of priority ${fm.priority} overlaps`);
    }
    const h = this.cls.findExact(key, 0, mask, 0, fm.priority);
    const old = h === NO_RULE ? null : this.byHandle[h];
    if (old === null && this.entries.length >= this.maxEntries) {
      return new DecodeError(OFPET.FLOW_MOD_FAILED, OFPFMFC.TABLE_FULL, -1, `table ${this.id} holds ${this.maxEntries} entries`);
    }
    const e = new FlowEntry(this.id, fm, key, mask, nowMs);
    if (old !== null) {
      if ((fm.flags & OFPFF.RESET_COUNTS) === 0) {
        e.counters[FlowCounter.Packets] = old.counters[FlowCounter.Packets];
        e.counters[FlowCounter.Bytes] = old.counters[FlowCounter.Bytes];
      }
      // The replaced entry leaves silently (1.3 sends no flow-removed for it).
      this.unlink(old, OFPRR.DELETE);
    }
    this.link(e);
    this.onChange();
    return null;
  }

  /** OFPFC_MODIFY (strict = MODIFY_STRICT). out_port/out_group are ignored, as the spec says. */
  modify(fm: FlowModSpec, strict: boolean): DecodeError | null {
    const sel = this.selectorOf(fm, strict, OFPP.ANY, OFPG.ANY);
    const hit = this.select(sel);
    if (hit instanceof DecodeError) return hit;
    if (hit.length === 0) return null;
    for (const e of hit) {
      e.instructions = fm.instructions;
      e.program = null;
      if ((fm.flags & OFPFF.RESET_COUNTS) !== 0) {
        e.counters[FlowCounter.Packets] = 0;
        e.counters[FlowCounter.Bytes] = 0;
      }
    }
    this.onChange();
    return null;
  }

  /** OFPFC_DELETE (strict = DELETE_STRICT). Returns the removed entries (reason OFPRR_DELETE) or the error. */
  delete(fm: FlowModSpec, strict: boolean): FlowEntry[] | DecodeError {
    const hit = this.select(this.selectorOf(fm, strict, fm.outPort, fm.outGroup));
    if (hit instanceof DecodeError) return hit;
    for (const e of hit) this.unlink(e, OFPRR.DELETE);
    if (hit.length > 0) this.onChange();
    return hit;
  }

  /** Removes every entry whose output or group actions reference `group` (group deleted). */
  deleteByGroup(group: number): FlowEntry[] {
    const hit = this.entries.filter((e) => e.usesGroup(group));
    for (const e of hit) this.unlink(e, OFPRR.GROUP_DELETE);
    if (hit.length > 0) this.onChange();
    return hit;
  }

  /**
   * Removes the entries whose hard timeout (since install) or idle timeout
   * (since the last hit) has run out at `nowMs`; hard is checked first.
   * Returns them with removedReason OFPRR_HARD_TIMEOUT / OFPRR_IDLE_TIMEOUT.
   */
  expire(nowMs: number): FlowEntry[] {
    if (this.nTimed === 0) return [];
    const out: FlowEntry[] = [];
    for (const e of this.entries) {
      if (e.hardTimeout !== 0 && nowMs - e.installMs >= e.hardTimeout * 1000) {
        e.removedReason = OFPRR.HARD_TIMEOUT;
        out.push(e);
      } else if (e.idleTimeout !== 0 && nowMs - e.counters[FlowCounter.LastHitMs] >= e.idleTimeout * 1000) {
        e.removedReason = OFPRR.IDLE_TIMEOUT;
        out.push(e);
      }
    }
    for (const e of out) this.unlink(e, e.removedReason);
    if (out.length > 0) this.onChange();
    return out;
  }

  /** The entries a stats request selects (non-strict), in (priority desc, install order) order. */
  selectForStats(filter: FlowStatsFilter): FlowEntry[] | DecodeError {
    const hit = this.select({ ...filter, priority: 0, strict: false });
    if (hit instanceof DecodeError) return hit;
    return hit.sort((a, b) => b.priority - a.priority || a.seq - b.seq);
  }

  /** OFPMP_FLOW entries for this table. */
  flowStats(filter: FlowStatsFilter, nowMs: number): FlowStats[] | DecodeError {
    const hit = this.selectForStats(filter);
    if (hit instanceof DecodeError) return hit;
    return hit.map((e) => flowStatsOf(e, nowMs));
  }

  /** OFPMP_AGGREGATE counts for this table. */
  aggregate(filter: FlowStatsFilter): AggregateCounts | DecodeError {
    const hit = this.select({ ...filter, priority: 0, strict: false });
    if (hit instanceof DecodeError) return hit;
    const r: AggregateCounts = { packetCount: 0, byteCount: 0, flowCount: hit.length };
    for (const e of hit) {
      r.packetCount += e.counters[FlowCounter.Packets];
      r.byteCount += e.counters[FlowCounter.Bytes];
    }
    return r;
  }

  /**
   * Entries chosen by `sel`: strict = same rows and priority; non-strict =
   * rows at least as specific as the selector's. Then the cookie and
   * out_port/out_group filters.
   */
  select(sel: FlowSelector): FlowEntry[] | DecodeError {
    const key = new Uint32Array(KEY_WORDS);
    const mask = new Uint32Array(KEY_WORDS);
    const bad = matchToRows(sel.match, key, 0, mask, 0);
    if (bad) return bad;
    const out: FlowEntry[] = [];
    if (sel.strict) {
      const h = this.cls.findExact(key, 0, mask, 0, sel.priority);
      const e = h === NO_RULE ? null : this.byHandle[h];
      if (e !== null && passesFilters(e, sel)) out.push(e);
      return out;
    }
    for (const e of this.entries) {
      if (covers(key, mask, e) && passesFilters(e, sel)) out.push(e);
    }
    return out;
  }

  private selectorOf(fm: FlowModSpec, strict: boolean, outPort: number, outGroup: number): FlowSelector {
    return { match: fm.match, cookie: fm.cookie, cookieMask: fm.cookieMask, outPort, outGroup, priority: fm.priority, strict };
  }

  private link(e: FlowEntry): void {
    e.handle = this.cls.insert(e.key, 0, e.mask, 0, e.priority);
    while (this.byHandle.length <= e.handle) this.byHandle.push(null);
    this.byHandle[e.handle] = e;
    e.index = this.entries.length;
    e.seq = this.nextSeq++;
    this.entries.push(e);
    if (e.idleTimeout !== 0 || e.hardTimeout !== 0) this.nTimed++;
  }

  private unlink(e: FlowEntry, reason: number): void {
    this.cls.remove(e.handle);
    this.byHandle[e.handle] = null;
    e.handle = -1;
    const last = this.entries.pop()!;
    if (last !== e) {
      this.entries[e.index] = last;
      last.index = e.index;
    }
    e.index = -1;
    e.removedReason = reason;
    if (e.idleTimeout !== 0 || e.hardTimeout !== 0) this.nTimed--;
  }
}

/** Entry rows at least as specific as the selector's rows (and agreeing on them). */
function covers(key: Uint32Array, mask: Uint32Array, e: FlowEntry): boolean {
  for (let w = 0; w < KEY_WORDS; w++) {
    const m = mask[w];
    if ((m & ~e.mask[w]) !== 0 || ((e.key[w] & m) ^ key[w]) !== 0) return false;
  }
  return true;
}

function passesFilters(e: FlowEntry, sel: FlowSelector): boolean {
  if ((e.cookie & sel.cookieMask) !== (sel.cookie & sel.cookieMask)) return false;
  if (sel.outPort !== OFPP.ANY && !e.outputsTo(sel.outPort)) return false;
  if (sel.outGroup !== OFPG.ANY && !e.usesGroup(sel.outGroup)) return false;
  return true;
}

/** 2^64 - 1 caps a counter that a double could carry past 64 bits (never in practice). */
function u64(n: number): bigint {
  const b = BigInt(Math.floor(n));
  return b > 0xffffffffffffffffn ? 0xffffffffffffffffn : b;
}

/** One OFPMP_FLOW entry. */
export function flowStatsOf(e: FlowEntry, nowMs: number): FlowStats {
  const d = flowDuration(e, nowMs);
  return {
    tableId: e.tableId,
    durationSec: d.sec,
    durationNsec: d.nsec,
    priority: e.priority,
    idleTimeout: e.idleTimeout,
    hardTimeout: e.hardTimeout,
    flags: e.flags,
    cookie: e.cookie,
    packetCount: u64(e.counters[FlowCounter.Packets]),
    byteCount: u64(e.counters[FlowCounter.Bytes]),
    match: e.match,
    instructions: e.instructions,
  };
}

/** The OFPT_FLOW_REMOVED for a removed entry (its removedReason, its final counters). */
export function flowRemovedOf(e: FlowEntry, nowMs: number, xid = 0): FlowRemoved {
  const d = flowDuration(e, nowMs);
  return {
    type: 'flow_removed',
    xid,
    cookie: e.cookie,
    priority: e.priority,
    reason: e.removedReason,
    tableId: e.tableId,
    durationSec: d.sec,
    durationNsec: d.nsec,
    idleTimeout: e.idleTimeout,
    hardTimeout: e.hardTimeout,
    packetCount: u64(e.counters[FlowCounter.Packets]),
    byteCount: u64(e.counters[FlowCounter.Bytes]),
    match: e.match,
  };
}
