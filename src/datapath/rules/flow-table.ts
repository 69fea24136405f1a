/*
 * One rule table: its rules, the operations on them (add with replace and
 * overlap check, modify, delete by selector, cascading deletes when a group
 * or meter goes, timeouts), and the lookup. Matching is delegated to a
 * Classifier (classifier.ts). The control plane's semantics (which table, which
 * command, which error) live above, in src/openflow/ofproto/flow-mods.ts.
 *
 * What
 *   add(spec, now)             replaces a rule with identical rows and priority
 *                              (keeping its counters unless ResetCounts);
 *                              CheckOverlap -> DpFault.Overlap; full -> TableFull
 *   modify(sel, actionsFor, reset) new program for every rule the selector picks;
 *                              counters kept unless `reset`; cookie, timeouts,
 *                              flags and install time unchanged
 *   delete(sel)                removes what the selector picks (RemovedReason.Delete)
 *   deleteByGroup / deleteByMeter  rules whose program uses a deleted group/meter
 *   expire(now)                idle/hard timeouts (a scan, skipped while no rule
 *                              has a timeout; the pipeline calls it about once a second)
 *   lookup(keys, base)         the rule a packet hits, or null (hot path)
 *   select(sel) / aggregate    what a selector picks (stats)
 *   Strict = identical rows and priority; non-strict = every rule whose rows
 *   are equal to or more specific than the selector's (priority ignored).
 *
 * Entries
 *   A FlowEntry holds its rows (what the classifier and the selectors use), its
 *   RuleProgram and references, and `origin`: the control plane's own form of
 *   the rule, handed back verbatim. Counters are a Float64Array [packets,
 *   bytes, lastHitMs] that the pipeline bumps in the hot path. `program` is
 *   the pipeline's bound form (EntryProgram): reset to null whenever the rule's
 *   actions change.
 *
 * Invariants
 * - At most one entry per (rows, priority): add replaces.
 * - `entries` is dense; entries[i].index === i; byHandle[e.handle] === e for
 *   every live entry; a removed entry has handle -1 and removedReason set.
 * - Every change that can alter what lookup() returns, or the program of what
 *   it returns, calls onChange() (the pipeline bumps its generation).
 * - lookup() allocates nothing; everything else is the slow path.
 *
 * Concurrency: owned by the datapath on the event loop; not shared.
 */

import { Classifier, NO_RULE } from './classifier.js';
import { Float64Rows } from './row-slab.js';
import { KEY_WORDS } from '../../flow/key.js';
import type { EntryProgram, RuleProgram } from './ops.js';
import { DpError, DpFault, GROUP_ANY, PORT_ANY, RemovedReason, RuleFlag, type RuleActions, type RuleRefs, type RuleSelector, type RuleSpec } from './rule.js';

/** Default per-table capacity. */
export const DEFAULT_MAX_ENTRIES = 1 << 20;

/** Indexes into FlowEntry.counters. */
export const enum FlowCounter {
  Packets = 0,
  Bytes = 1,
  /** performance.now()-style ms of the last hit; install time until the first hit. */
  LastHitMs = 2,
}

/** Every entry's counters: views of shared chunks (row-slab.ts), not an ArrayBuffer each. */
const counterRows = new Float64Rows(3);

/** Indexes into FlowTable.counters. */
export const enum TableCounter {
  Lookups = 0,
  Matched = 1,
}

export class FlowEntry {
  readonly tableId: number;
  readonly priority: number;
  readonly key: Uint32Array;
  readonly mask: Uint32Array;
  cookie: bigint;
  /** RuleFlag bits as installed. */
  flags: number;
  idleTimeout: number;
  hardTimeout: number;
  installMs: number;
  /** The compiled instructions (replaced by modify). */
  actions: RuleProgram;
  refs: RuleRefs;
  /** The control plane's own form of the rule (see RuleSpec.origin). */
  origin: unknown;
  /** [packets, bytes, lastHitMs]: see FlowCounter. */
  readonly counters = counterRows.take();
  /** The pipeline's bound program; null until bound or after a change. */
  program: EntryProgram | null = null;
  /** Classifier handle while installed, -1 after removal. */
  handle = -1;
  /** Position in the table's entry list while installed. */
  index = -1;
  /** Table-local insertion order (stable stats order). */
  seq = 0;
  /** RemovedReason once removed, -1 while installed. */
  removedReason = -1;

  constructor(tableId: number, spec: RuleSpec, nowMs: number) {
    this.tableId = tableId;
    this.priority = spec.priority;
    this.key = spec.key;
    this.mask = spec.mask;
    this.cookie = spec.cookie;
    this.flags = spec.flags;
    this.idleTimeout = spec.idleTimeout;
    this.hardTimeout = spec.hardTimeout;
    this.installMs = nowMs;
    this.actions = spec.program;
    this.refs = spec.refs;
    this.origin = spec.origin;
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

  /** Does the program output to `port`? */
  outputsTo(port: number): boolean {
    return this.refs.outPorts.includes(port);
  }

  /** Does the program send to group `group`? */
  usesGroup(group: number): boolean {
    return this.refs.groups.includes(group);
  }

  /** Does the program use meter `meter`? */
  usesMeter(meter: number): boolean {
    return this.refs.meters.includes(meter);
  }
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

  /** Rules installed since the table was made (adds and replacements; never decreases). */
  get added(): number {
    return this.nextSeq - 1;
  }

  /** The classifier (diagnostics and benchmarks). */
  get classifier(): Classifier {
    return this.cls;
  }

  /** The entry of classifier rule handle h (batched lookups: miss-batch.ts). Counts nothing. */
  entryOf(h: number): FlowEntry | null {
    return this.byHandle[h];
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

  /** Installs a rule (replacing one with identical rows and priority). Returns null or the fault. */
  add(spec: RuleSpec, nowMs: number): DpError | null {
    const { key, mask, priority } = spec;
    if ((spec.flags & RuleFlag.CheckOverlap) !== 0 && this.cls.findOverlap(key, 0, mask, 0, priority) !== NO_RULE) {
      return new DpError(DpFault.Overlap, `a rule of priority ${priority} overlaps`);
    }
    const h = this.cls.findExact(key, 0, mask, 0, priority);
    const old = h === NO_RULE ? null : this.byHandle[h];
    if (old === null && this.entries.length >= this.maxEntries) {
      return new DpError(DpFault.TableFull, `table ${this.id} holds ${this.maxEntries} rules`);
    }
    const e = new FlowEntry(this.id, spec, nowMs);
    if (old !== null) {
      if ((spec.flags & RuleFlag.ResetCounts) === 0) {
        e.counters[FlowCounter.Packets] = old.counters[FlowCounter.Packets];
        e.counters[FlowCounter.Bytes] = old.counters[FlowCounter.Bytes];
      }
      // The replaced rule leaves silently (no removal report).
      this.unlink(old, RemovedReason.Delete);
    }
    this.link(e);
    this.onChange();
    return null;
  }

  /**
   * Gives every rule `sel` picks new actions (actionsFor(rule): a program may
   * depend on the rule it goes to); counters restart when `resetCounts`.
   * The selector's outPort/outGroup filters apply as given (a caller that
   * ignores them passes PORT_ANY/GROUP_ANY). Returns the rules changed.
   */
  modify(sel: RuleSelector, actionsFor: (e: FlowEntry) => RuleActions, resetCounts: boolean): FlowEntry[] {
    const hit = this.select(sel);
    for (const e of hit) {
      const actions = actionsFor(e);
      e.actions = actions.program;
      e.refs = actions.refs;
      e.origin = actions.origin;
      e.program = null;
      if (resetCounts) {
        e.counters[FlowCounter.Packets] = 0;
        e.counters[FlowCounter.Bytes] = 0;
      }
    }
    if (hit.length > 0) this.onChange();
    return hit;
  }

  /** Removes the rules `sel` picks (reason Delete) and returns them. */
  delete(sel: RuleSelector): FlowEntry[] {
    const hit = this.select(sel);
    for (const e of hit) this.unlink(e, RemovedReason.Delete);
    if (hit.length > 0) this.onChange();
    return hit;
  }

  /** Removes every rule whose program sends to `group` (group deleted). */
  deleteByGroup(group: number): FlowEntry[] {
    return this.deleteWhere((e) => e.usesGroup(group), RemovedReason.GroupDelete);
  }

  /** Removes every rule whose program uses `meter` (meter deleted). */
  deleteByMeter(meter: number): FlowEntry[] {
    return this.deleteWhere((e) => e.usesMeter(meter), RemovedReason.MeterDelete);
  }

  private deleteWhere(pred: (e: FlowEntry) => boolean, reason: RemovedReason): FlowEntry[] {
    const hit = this.entries.filter(pred);
    for (const e of hit) this.unlink(e, reason);
    if (hit.length > 0) this.onChange();
    return hit;
  }

  /**
   * Removes the rules whose hard timeout (since install) or idle timeout
   * (since the last hit) has run out at `nowMs`; hard is checked first.
   * Returns them with removedReason HardTimeout / IdleTimeout.
   */
  expire(nowMs: number): FlowEntry[] {
    if (this.nTimed === 0) return [];
    const out: FlowEntry[] = [];
    for (const e of this.entries) {
      if (e.hardTimeout !== 0 && nowMs - e.installMs >= e.hardTimeout * 1000) {
        e.removedReason = RemovedReason.HardTimeout;
        out.push(e);
      } else if (e.idleTimeout !== 0 && nowMs - e.counters[FlowCounter.LastHitMs] >= e.idleTimeout * 1000) {
        e.removedReason = RemovedReason.IdleTimeout;
        out.push(e);
      }
    }
    for (const e of out) this.unlink(e, e.removedReason);
    if (out.length > 0) this.onChange();
    return out;
  }

  /** The rules a (non-strict) selector picks, in (priority desc, install order) order: stats. */
  selectSorted(sel: RuleSelector): FlowEntry[] {
    return this.select(sel).sort((a, b) => b.priority - a.priority || a.seq - b.seq);
  }

  /** Packet, byte and rule counts over what `sel` picks. */
  aggregate(sel: RuleSelector): AggregateCounts {
    const hit = this.select(sel);
    const r: AggregateCounts = { packetCount: 0, byteCount: 0, flowCount: hit.length };
    for (const e of hit) {
      r.packetCount += e.counters[FlowCounter.Packets];
      r.byteCount += e.counters[FlowCounter.Bytes];
    }
    return r;
  }

  /**
   * Rules chosen by `sel`: strict = same rows and priority; non-strict =
   * rows at least as specific as the selector's. Then the cookie and
   * outPort/outGroup filters.
   */
  select(sel: RuleSelector): FlowEntry[] {
    const out: FlowEntry[] = [];
    if (sel.strict) {
      const h = this.cls.findExact(sel.key, 0, sel.mask, 0, sel.priority);
      const e = h === NO_RULE ? null : this.byHandle[h];
      if (e !== null && passesFilters(e, sel)) out.push(e);
      return out;
    }
    for (const e of this.entries) {
      if (covers(sel.key, sel.mask, e) && passesFilters(e, sel)) out.push(e);
    }
    return out;
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

function passesFilters(e: FlowEntry, sel: RuleSelector): boolean {
  if ((e.cookie & sel.cookieMask) !== (sel.cookie & sel.cookieMask)) return false;
  if (sel.outPort !== PORT_ANY && !e.outputsTo(sel.outPort)) return false;
  if (sel.outGroup !== GROUP_ANY && !e.usesGroup(sel.outGroup)) return false;
  return true;
}
