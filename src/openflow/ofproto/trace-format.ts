/*
 * The OpenFlow reading of a datapath trace (src/datapath/rules/trace.ts, trace-events.ts) and
 * of the caches (cache-dump.ts: the megaflow cache, the exact-match cache), for `linc-ts trace` and
 * `linc-ts dump-cache`: each rule met is shown as the controller installed
 * it (its match and instructions, kept as the rule's origin), each op as
 * the action it came from, flow keys in ovs-ofctl's notation.
 *
 * What
 *   traceReport(trace, ctx) -> TraceReport   plain JSON (the admin answer, --json)
 *   formatTrace(report)     -> text          what a person reads
 *   cacheReport(dump, ctx)  -> CacheReport, formatCache(report) -> text
 *
 * Invariants
 * - Reports are plain JSON values (no bigint, no typed arrays): the admin
 *   socket sends them as they are, and the CLI renders the same object it
 *   prints with --json.
 * - A rule without an OpenFlow origin (installed below this layer) is shown
 *   by priority and cookie only.
 */

import type { CacheDump, CacheEntryDump, CacheTotals } from '../../datapath/rules/cache-dump.js';
import type { FlowEntry } from '../../datapath/rules/flow-table.js';
import { PuntReason } from '../../datapath/rules/punt.js';
import type { DatapathTrace, TraceEvent, TracePunt } from '../../datapath/rules/trace-events.js';
import type { FlowOrigin } from './flow-mods.js';
import { instructionsText, keyText, matchText, megaflowText, opText } from './flow-text.js';

/** A rule as a trace or dump shows it. */
export interface RuleReport {
  table: number;
  priority: number;
  cookie: string;
  /** The controller's match and instructions, ovs-ofctl style (null: the rule has no OpenFlow form). */
  match: string | null;
  actions: string | null;
  packets: number;
}

export type TraceOutputReport =
  | { kind: 'port'; port: number; name: string; flow: string; frame: string }
  | { kind: 'controller'; reason: 'no_match' | 'action' | 'invalid_ttl'; table: number; cookie: string; bytes: number; heldBack: string | null };

export interface TraceReport {
  /** Which pipeline decides now, and why (fail mode, controllers). */
  mode: 'openflow' | 'standalone' | 'none';
  why: string;
  inPort: { port: number; name: string };
  flow: string;
  frameLength: number;
  /** The parser found a malformed header (the frame is still switched, never cached). */
  malformed: boolean;
  /** OpenFlow mode: would a cache serve this flow now ("hit"), not yet ("miss"), or are the caches off. */
  cache: 'hit' | 'miss' | 'off' | null;
  /** OpenFlow mode with the caches on: the cache that would answer (megaflow, emc), or none (a miss: the tables walked). */
  cacheBy: 'megaflow' | 'emc' | 'none' | null;
  /** The tables visited, in order, and the rule hit in each (null on a miss). */
  tables: Array<{ table: number; rule: RuleReport | null }>;
  /** Every step, indented under the one that caused it. */
  steps: Array<{ indent: number; text: string }>;
  outputs: TraceOutputReport[];
  drops: Array<{ reason: string; detail: string }>;
  /** One line: where the frame goes. */
  verdict: string;
}

export interface TraceContext {
  why: string;
  /** Port name by number ("" when unknown). */
  portName(port: number): string;
  /** Why a packet-in with this reason would reach no connection now (null: some connection wants it). */
  puntHeldBack?(reason: 'no_match' | 'action' | 'invalid_ttl'): string | null;
}

const hex = (n: bigint | number) => `0x${n.toString(16)}`;

export function ruleReport(e: FlowEntry): RuleReport {
  const o = e.origin as Partial<FlowOrigin> | null | undefined;
  const known = o !== null && o !== undefined && Array.isArray(o.match) && Array.isArray(o.instructions);
  return {
    table: e.tableId,
    priority: e.priority,
    cookie: hex(e.cookie),
    match: known ? matchText(o.match) : null,
    actions: known ? instructionsText(o.instructions) : null,
    packets: e.packetCount,
  };
}

/** A rule on one line, as ovs-ofctl dump-flows would show its identity, match and actions. */
function ruleLine(r: RuleReport): string {
  const head = `priority=${r.priority}${r.match ? `,${r.match}` : ''}`;
  return `${head} cookie=${r.cookie}${r.actions !== null ? ` actions=${r.actions}` : ''}`;
}

function reasonName(r: PuntReason): 'no_match' | 'action' | 'invalid_ttl' {
  return r === PuntReason.NoMatch ? 'no_match' : r === PuntReason.InvalidTtl ? 'invalid_ttl' : 'action';
}

function hexBytes(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** keyText without in_port (to compare a frame as it leaves with the frame as it came). */
function flowWithoutInPort(key: Uint32Array): string {
  return keyText(key).replace(/(^|,)in_port=\d+/, '').replace(/^,/, '');
}

/** Why a punt would not reach the control plane: the datapath's reason, else the connections'. */
function heldBackOf(e: TracePunt, ctx: TraceContext): string | null {
  return e.heldBack ?? ctx.puntHeldBack?.(reasonName(e.reason)) ?? null;
}

function eventText(e: TraceEvent, ctx: TraceContext, inFlow: string): string {
  switch (e.kind) {
    case 'table': return e.entry === null ? `table ${e.table}: no rule matches` : `table ${e.table}: ${ruleLine(ruleReport(e.entry))}`;
    case 'meter':
      return `meter:${e.meterId} -> ${e.verdict.kind === 'pass' ? 'pass' : e.verdict.kind === 'drop' ? `drop (band ${e.verdict.band})` : `remark dscp +${e.verdict.precLevel} (band ${e.verdict.band})`}`;
    case 'op': return opText(e.op, e.args, e.groupId, e.meterId);
    case 'clear-actions': return 'clear_actions';
    case 'write-metadata': return `write_metadata:${hex(e.value)}/${hex(e.mask)} -> metadata=${hex(e.metadata)}`;
    case 'goto': return `goto_table:${e.table}`;
    case 'action-set': return e.size === 0 ? 'action set: empty' : `action set (${e.size}):`;
    case 'bucket': return `group ${e.groupId >>> 0}: bucket ${e.bucket} (of ${e.of})`;
    case 'normal': {
      const v = e.verdict;
      const learn = v.learn === 'ignored' ? 'not learned (group address)' : v.learn === 'new' ? 'learned (new entry)' : v.learn === 'refresh' ? 'refreshed' : `moved from port ${v.srcPort}`;
      const dst = v.why === 'group-destination' ? 'a group address' : v.why === 'unknown-destination' ? 'not learned' : `learned on port ${v.port}`;
      return `NORMAL (learning switch, VLAN ${v.vlan}): source ${learn}; destination ${dst} -> ${v.decision === 'port' ? `port ${v.port}` : v.decision}`;
    }
    case 'output': {
      const out = flowWithoutInPort(e.key);
      return `-> port ${e.port}${e.name ? ` (${e.name})` : ''}${out === inFlow ? '' : `: ${out}`}`;
    }
    case 'punt': {
      const held = heldBackOf(e, ctx);
      return `-> controller (reason ${reasonName(e.reason)}, table ${e.table}, cookie ${hex(e.cookie)}, ${e.bytes} bytes)${held ? `, held back: ${held}` : ''}`;
    }
    case 'drop': return `drop: ${e.detail}`;
    case 'note': return e.text;
    default: {
      const never: never = e;
      return String(never);
    }
  }
}

export function traceReport(trace: DatapathTrace, ctx: TraceContext): TraceReport {
  const inFlow = flowWithoutInPort(trace.key);
  const outputs: TraceOutputReport[] = trace.outputs.map((o) =>
    o.kind === 'output'
      ? { kind: 'port', port: o.port, name: o.name, flow: keyText(o.key), frame: hexBytes(o.frame) }
      : { kind: 'controller', reason: reasonName(o.reason), table: o.table, cookie: hex(o.cookie), bytes: o.bytes, heldBack: heldBackOf(o, ctx) },
  );
  const tables = trace.events.flatMap((e) => (e.kind === 'table' ? [{ table: e.table, rule: e.entry === null ? null : ruleReport(e.entry) }] : []));
  const drops = trace.drops.map((d) => ({ reason: d.reason, detail: d.detail }));
  const sent = outputs.map((o) => (o.kind === 'port' ? `port ${o.port}${o.name ? ` (${o.name})` : ''}` : `controller (${o.reason}${o.heldBack ? ', held back' : ''})`));
  const verdict = sent.length > 0 ? sent.join(', ') : `drop (${drops.map((d) => d.reason).join(', ') || 'no output'})`;
  return {
    mode: trace.pipeline === 'rules' ? 'openflow' : trace.pipeline === 'normal' ? 'standalone' : 'none',
    why: ctx.why,
    inPort: { port: trace.inPort, name: ctx.portName(trace.inPort) },
    flow: keyText(trace.key),
    frameLength: trace.frameLength,
    malformed: trace.parseFlags !== 0,
    cache: trace.pipeline !== 'rules' ? null : trace.cached === null ? 'off' : trace.cached.cache !== 'none' ? 'hit' : 'miss',
    cacheBy: trace.pipeline !== 'rules' || trace.cached === null ? null : trace.cached.cache,
    tables,
    steps: trace.events.map((e) => ({ indent: e.indent, text: eventText(e, ctx, inFlow) })),
    outputs,
    drops,
    verdict,
  };
}

const MODE_NAMES = { openflow: 'OpenFlow tables', standalone: 'standalone learning switch', none: 'none' } as const;
const CACHE_NAMES = { megaflow: 'megaflow cache', emc: 'exact-match cache' } as const;

export function formatTrace(r: TraceReport): string {
  const lines = [
    `Flow:    ${r.flow}`,
    `Frame:   ${r.frameLength} bytes on port ${r.inPort.port}${r.inPort.name ? ` (${r.inPort.name})` : ''}${r.malformed ? ', malformed' : ''}`,
    `Mode:    ${MODE_NAMES[r.mode]} (${r.why})`,
  ];
  if (r.cache !== null) lines.push(`Cache:   ${r.cache === 'hit' ? `hit (the ${CACHE_NAMES[r.cacheBy === 'megaflow' ? 'megaflow' : 'emc']} would serve it)` : r.cache === 'miss' ? 'miss (no cache holds it: the tables would be walked)' : 'off'}`);
  lines.push('');
  for (const s of r.steps) lines.push(`${'    '.repeat(s.indent)}${s.text}`);
  lines.push('', `Final:   ${r.verdict}`);
  return lines.join('\n') + '\n';
}

/* ------------------------------------------------------------ the cache */

/** A cache entry: where it sits, its flow, its program, the path of rules the program stands for (null: gone) and its actions. */
interface CacheEntryReport {
  slot: number;
  program: number;
  flow: string;
  path: Array<{ table: number; rule: RuleReport | null }> | null;
  actions: string;
}

export interface CacheReport extends Omit<CacheTotals, 'megaflow'> {
  /**
   * The megaflow cache, when on: its masks as text (maskText); its entries with
   * their subtable and mask, and as `flow` the fields the mask covers (megaflowText).
   */
  megaflow?: Omit<NonNullable<CacheTotals['megaflow']>, 'masks' | 'entries'> & { masks: string[]; entries: Array<CacheEntryReport & { subtable: number; mask: string }> };
  /** Per-entry hits are not counted (see cache-dump.ts); say so to the reader. */
  hitCounts: string;
  entries: CacheEntryReport[];
}

/** What dump-cache says of the caches in use (CacheTotals.inUse). */
const IN_USE_TEXT = {
  megaflow: 'the megaflow cache, the exact-match cache behind it for the keys whose masks it refuses',
  emc: 'the exact-match cache alone (megaflow cache off)',
  off: 'none, the caches are off (every frame walks the tables)',
} as const;

const HIT_COUNTS_NOTE =
  'per-entry hit counts are not kept: a count on every cache hit would slow the hottest path; the totals and each rule\'s n_packets tell how much a path is used';

/** A megaflow mask as its non-zero flow-key words, `word:mask` in hex (word numbers: flow/key.ts K). */
function maskText(mask: Uint32Array): string {
  const parts: string[] = [];
  for (let w = 0; w < mask.length; w++) if (mask[w] !== 0) parts.push(`${w}:${mask[w].toString(16).padStart(8, '0')}`);
  return parts.join(' ');
}

function entryReport(e: CacheEntryDump, flow: string): CacheEntryReport {
  return {
    slot: e.slot,
    program: e.program,
    flow,
    path: e.path === null ? null : e.path.map((p) => ({ table: p.table, rule: p.entry === null ? null : ruleReport(p.entry) })),
    actions: e.ops.length === 0 ? 'drop' : e.ops.map((o) => opText(o.op, o.args, o.groupId, o.meterId)).join(','),
  };
}

export function cacheReport(dump: CacheDump): CacheReport {
  const { entries, megaflow, ...totals } = dump;
  return {
    ...totals,
    ...(megaflow === undefined ? {} : {
      megaflow: {
        ...megaflow,
        masks: megaflow.masks.map(maskText),
        entries: megaflow.entries.map((e) => ({ subtable: e.subtable, mask: maskText(e.mask), ...entryReport(e, megaflowText(e.key, e.mask)) })),
      },
    }),
    hitCounts: HIT_COUNTS_NOTE,
    entries: entries.map((e) => entryReport(e, keyText(e.key))),
  };
}

/** An entry's flow and actions, then where it sits and the path of rules its program stands for. */
function entryLines(e: CacheEntryReport, where: string): string[] {
  const path = e.path === null
    ? 'stale (its program is gone)'
    : e.path.map((p) => (p.rule === null ? `table ${p.table} miss` : `table ${p.table} priority=${p.rule.priority} cookie=${p.rule.cookie} n_packets=${p.rule.packets}`)).join(' -> ');
  return ['', `${e.flow === '' ? '(any)' : e.flow} actions:${e.actions}`, `    ${where}, program ${e.program}: ${path}`];
}

export function formatCache(r: CacheReport, mode: string): string {
  const lines = [`cache in use: ${IN_USE_TEXT[r.inUse]} (forwarding: ${mode})`];
  if (r.megaflow !== undefined) {
    const m = r.megaflow;
    lines.push(`megaflow cache: ${m.live} entries live in ${m.masks.length} subtables; ${m.hits} hits, ${m.misses} misses, ${m.inserts} inserts, ${m.refused} refused`);
    for (const mask of m.masks) lines.push(`    mask ${mask}`);
    if (m.entries.length < m.live) lines.push(`showing ${m.entries.length} of ${m.live} megaflow entries`);
    for (const e of m.entries) lines.push(...entryLines(e, `subtable ${e.subtable} (mask ${e.mask}), slot ${e.slot}`));
    if (m.entries.length > 0) lines.push('');
  }
  lines.push(
    `exact-match cache: ${r.live} of ${r.capacity} entries live (generation ${r.generation}, ${r.insertInvProb === 0 ? 'off' : `insert 1 miss in ${r.insertInvProb}`})`,
    `totals: ${r.hits} hits, ${r.misses} misses, ${r.inserts} inserts, ${r.evictions} evictions; ${r.walks} table walks, ${r.programsBuilt} programs built, ${r.uncacheable} uncacheable walks`,
    `(${r.hitCounts})`,
  );
  if (r.entries.length < r.live) lines.push(`showing ${r.entries.length} of ${r.live} entries`);
  for (const e of r.entries) lines.push(...entryLines(e, `slot ${e.slot}`));
  return lines.join('\n') + '\n';
}
