/*
 * What the caches hold (the datapath half of `linc-ts dump-cache`, after
 * OVS's dpif-netdev/dump-flows): which cache is in use, and of each cache
 * its live entries (the exact-match cache: each one's full flow key; the
 * megaflow cache: each one's mask and key under it), the resolved program
 * each names, and that program read back as the path it stands for (the rule
 * hit in each table, or the miss) and the ops it runs.
 *
 * Per-entry hit counts are not kept: counting them would add a store to
 * every cache hit, the hottest line of the switch. The caches' own totals
 * (hits, misses, inserts, evictions) and the pipeline's walk counters are
 * reported instead; each rule's packet counter says how much used a path.
 *
 * While the megaflow cache is in use (the default), its totals, masks and
 * entries are reported first; the EMC then holds only the keys whose masks
 * it refused.
 *
 * Invariants
 * - Read-only: no counter, entry or program changes. Slow path.
 * - An entry whose program is gone (a generation moved since) is reported
 *   with path null; live entries of the current generation always resolve.
 */

import { PipelineStat } from './actions-exec.js';
import { EMC_ENTRIES, EmcStat } from './emc.js';
import { MF_SLOTS, MF_SUBTABLES, MfStat } from './megaflow.js';
import type { FlowEntry } from './flow-table.js';
import { Op, OP_LEN } from './ops.js';
import type { RulePipeline } from './rule-pipeline.js';

/** One table of a cached path: the rule hit, or null for a miss (the frame is dropped there). */
export interface CachePathStep {
  table: number;
  entry: FlowEntry | null;
}

/** One op of a resolved program, with the group or meter id its slot names (-1: none). */
export interface CacheProgramOp {
  op: Op;
  args: number[];
  groupId: number;
  meterId: number;
}

export interface CacheEntryDump {
  /** Where the entry sits in the cache. */
  slot: number;
  key: Uint32Array;
  /** The resolved program's id (shared by every key that walked the same path). */
  program: number;
  path: CachePathStep[] | null;
  /** The program's ops other than counting and the end. */
  ops: CacheProgramOp[];
}

/** The cache's size and totals (also the totals of the control plane's report of it). */
export interface CacheTotals {
  capacity: number;
  /** Live entries (all of them, whatever `limit` cut). */
  live: number;
  generation: number;
  /** Insert on 1 miss in N (0: the cache is off). */
  insertInvProb: number;
  hits: number;
  misses: number;
  inserts: number;
  evictions: number;
  /** EMC misses that walked the tables; resolved programs built; walks that could not be cached. */
  walks: number;
  programsBuilt: number;
  uncacheable: number;
  /** The cache frames are looked up in: the megaflow cache (the EMC behind it), the EMC alone, or none. */
  inUse: 'megaflow' | 'emc' | 'off';
  /** Present while the megaflow cache is in use (megaflow.ts): its totals and masks. */
  megaflow?: MegaflowTotals;
}

/** A live megaflow cache entry: its subtable (the index of its mask in MegaflowTotals.masks), the key under that mask, its program. */
export interface MegaflowEntryDump extends CacheEntryDump {
  subtable: number;
  mask: Uint32Array;
}

export interface MegaflowTotals {
  /** Entries it can hold: MF_SLOTS per subtable, MF_SUBTABLES subtables. */
  capacity: number;
  live: number;
  hits: number;
  misses: number;
  inserts: number;
  /** Inserts refused for want of a subtable (those keys went to the EMC). */
  refused: number;
  /** One mask row (KEY_WORDS words) per subtable of the current generation. */
  masks: Uint32Array[];
  /** Its live entries (at most `limit` of them), subtable by subtable in slot order. */
  entries: MegaflowEntryDump[];
}

export interface CacheDump extends CacheTotals {
  entries: CacheEntryDump[];
}

/** What program `pid` of `rules` stands for: the path of rules and the ops (path null: the program is gone). */
type ProgramDump = Pick<CacheEntryDump, 'path' | 'ops'>;

/**
 * The live entries of both caches of `rules` (at most `limit` of each, in
 * slot order; the megaflow cache's while it is in use) and their totals.
 */
export function dumpCache(rules: RulePipeline, limit = EMC_ENTRIES): CacheDump {
  const emc = rules.emc;
  const slots = emc.liveSlots();
  const byCounters = new Map<Float64Array, FlowEntry>();
  for (const t of rules.tables.tables) for (const e of t.list()) byCounters.set(e.counters, e);
  const entries: CacheEntryDump[] = slots.slice(0, Math.max(0, limit)).map((s) => {
    const pid = emc.programOf(s);
    return { slot: s, key: emc.keyOf(s), program: pid, ...programDump(rules, pid, byCounters) };
  });
  const st = emc.stats, ps = rules.stats;
  return {
    capacity: EMC_ENTRIES,
    live: slots.length,
    generation: rules.tables.generation,
    insertInvProb: emc.insertProbabilityInverse,
    hits: st[EmcStat.Hits],
    misses: st[EmcStat.Misses],
    inserts: st[EmcStat.Inserts],
    evictions: st[EmcStat.Evictions],
    walks: ps[PipelineStat.Walks],
    programsBuilt: ps[PipelineStat.ProgramsBuilt],
    uncacheable: ps[PipelineStat.Uncacheable],
    inUse: !rules.caches.cachesOn ? 'off' : rules.megaflowOn ? 'megaflow' : 'emc',
    ...(rules.megaflowOn ? { megaflow: megaflowDump(rules, limit, byCounters) } : {}),
    entries,
  };
}

function megaflowDump(rules: RulePipeline, limit: number, byCounters: ReadonlyMap<Float64Array, FlowEntry>): MegaflowTotals {
  const mf = rules.megaflow, st = mf.stats, masks = mf.masks(), live = mf.entries();
  return {
    capacity: MF_SUBTABLES * MF_SLOTS,
    live: live.length,
    hits: st[MfStat.Hits],
    misses: st[MfStat.Misses],
    inserts: st[MfStat.Inserts],
    refused: st[MfStat.Refused],
    masks,
    entries: live.slice(0, Math.max(0, limit)).map((e) => ({ ...e, mask: masks[e.subtable], ...programDump(rules, e.program, byCounters) })),
  };
}

function programDump(rules: RulePipeline, pid: number, byCounters: ReadonlyMap<Float64Array, FlowEntry>): ProgramDump {
  const prog = rules.cachedProgram(pid);
  if (prog === undefined) return { path: null, ops: [] };
  const path: CachePathStep[] = [];
  const ops: CacheProgramOp[] = [];
  const code = prog.code;
  for (let pc = 0; pc < code.length; pc += OP_LEN[code[pc]]) {
    const op = code[pc];
    if (op === Op.End) break;
    if (op === Op.CountTable) {
      if (code[pc + 2] === 0) path.push({ table: code[pc + 1], entry: null });
      continue;
    }
    if (op === Op.CountFlow) {
      const e = byCounters.get(prog.flows[code[pc + 1]]);
      path.push({ table: e?.tableId ?? -1, entry: e ?? null });
      continue;
    }
    if (op === Op.MissDrop) continue;
    ops.push({
      op,
      args: Array.from(code.subarray(pc + 1, pc + OP_LEN[op])),
      groupId: op === Op.Group ? (rules.groups.bySlot[code[pc + 1]]?.id ?? -1) : -1,
      meterId: op === Op.Meter ? (rules.meters.bySlot[code[pc + 1]]?.id ?? -1) : -1,
    });
  }
  return { path, ops };
}
