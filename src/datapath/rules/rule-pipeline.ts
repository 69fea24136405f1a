/*
 * RulePipeline: the rule pipeline as a datapath Pipeline (the tables a control
 * plane programs; OpenFlow drives it through src/openflow/ofproto/). Per
 * frame: exact-match cache (EMC) lookup on the full flow key; a hit runs the
 * cached program; a miss walks the tables from table 0 and caches what it
 * resolved.
 *
 * Design
 *   - Programs are compiled by the control plane when a rule changes (a
 *     RuleProgram, ops.ts); the pipeline binds one to its rule's counters
 *     (EntryProgram, kept on the entry, reset when the rule's actions change).
 *   - The walk (EMC miss): per table, classifier lookup on a working copy of
 *     the key (the table counts lookup/matched), the rule's counters, its
 *     meter, its apply ops run on the frame, clear/write ops into the action
 *     set (SetSlot order, stamped so nothing is cleared per frame),
 *     write-metadata into the key, goto-table. Before the next lookup the
 *     key is patched from the ops (key-patch.ts), or the frame re-parsed when
 *     the key alone cannot tell. No rule: drop. At the end the action set
 *     runs: pushes, TTLs, set-fields, queue, then the group, else the output.
 *   - The walk records its path (one word per table: entry program id, or a
 *     miss). A complete walk of a clean frame whose key never had to be
 *     re-parsed is a function of the key alone, so its path is resolved into
 *     one program (table and rule counter ops, meters, the apply ops of each
 *     rule, write-metadata, the final action set) and cached: PathCache maps
 *     the path to the program, the EMC maps the key to it. Programs depend
 *     only on the key: groups, meters, Normal, punts are decided when the
 *     program runs.
 *   - Invalidation: the tables' generation (pipeline-tables.ts) is bumped by
 *     rule changes, timeouts, group and meter changes and port changes; EMC
 *     entries of older generations are dead, and the program list and path
 *     cache are dropped when the generation moves. A walk during which the
 *     generation moved is not cached.
 *   - Punts (punt.ts): the frame cut to the op's byte count, with in port,
 *     metadata and tunnel id, to onPunt; limited by the punt meters (every
 *     punt, and the slow-path ones: invalid TTL).
 *
 * Invariants
 * - processBurst allocates nothing on an EMC hit, nor on a miss over a path
 *   already resolved in this generation; binding and resolving allocate.
 * - Every frame ends sent somewhere (port, control plane) or counted:
 *   FwdDropped on its in port, plus the PipelineStat reason when there is one.
 * - parsed.keys rows are never written (the EMC key must stay the original).
 */

import { PortStat } from '../port-counters.js';
import { ActionExecutor, PipelineStat, type ExecHost } from './actions-exec.js';
import type { Datapath, DpPort, Pipeline } from '../datapath.js';
import { ExactMatchCache } from './emc.js';
import { ETH_TYPE_IPV4, ETH_TYPE_IPV6, FRAG_ANY, K, KEY_WORDS } from '../../flow/key.js';
import type { FlowEntry } from './flow-table.js';
import type { GroupTable } from './groups.js';
import { patchKey } from './key-patch.js';
import { METER_DROP, type MeterTable } from './meters.js';
import type { NormalSwitch } from '../learning/normal.js';
import { cookieFromWords, EntryProgram, Op, OP_LEN, OpWriter, SetSlot } from './ops.js';
import { PuntReason, type Punt, type PuntMeters } from './punt.js';
import { PORT_LOCAL, PORT_MAX } from './rule.js';
import { ParsedBatch, PARSE_TOO_SHORT, parseFrame } from '../parse/parse.js';
import { PathCache } from './path-cache.js';
import type { PipelineTables } from './pipeline-tables.js';

/** Ports with numbers below this are found by array index; others through the datapath's map. */
const PORT_TABLE_SIZE = 1024;

/** A path resolved into one program (see the module comment). */
export class Program {
  constructor(
    readonly code: Int32Array,
    /** Flow entry counters, named by CountFlow ops. */
    readonly flows: Float64Array[],
  ) {}
}

export interface RulePipelineOptions {
  datapath: Datapath;
  normal: NormalSwitch;
  tables: PipelineTables;
  groups: GroupTable;
  meters: MeterTable;
  /** EMC insertion knob (emc.ts): 1 = always (default), 0 = cache off. */
  emcInsertInvProb?: number;
  /** Time source overriding the datapath's (tests: meters with a fake clock). */
  clock?: () => number;
}

export class RulePipeline implements Pipeline, ExecHost {
  readonly dp: Datapath;
  readonly normal: NormalSwitch;
  readonly tables: PipelineTables;
  readonly groups: GroupTable;
  readonly meters: MeterTable;
  readonly emc: ExactMatchCache;
  /** PipelineStat counters. */
  readonly stats = new Float64Array(PipelineStat.COUNT);
  /** Where punts go (the control plane), null: none (punts are counted as blocked). */
  onPunt: ((p: Punt) => void) | null = null;
  /** Ports whose frames are never punted. */
  readonly puntDisabled = new Set<number>();
  /** Bytes of a slow-path punt (invalid TTL); PUNT_WHOLE_FRAME for all. */
  missSendLen = 128;
  /** Meters that limit punts (meter ids; 0 = none). */
  readonly puntMeters: PuntMeters = { all: 0, slowPath: 0 };
  /** Drop IP fragments. */
  fragDrop = false;

  private readonly exec: ActionExecutor;
  private readonly poExec: ActionExecutor;
  private readonly clock: (() => number) | null;
  private emcOn: boolean;
  private programs: Program[] = [];
  private readonly paths = new PathCache();
  private programsGen = -1;
  private readonly portTable: (DpPort | null)[] = new Array<DpPort | null>(PORT_TABLE_SIZE).fill(null);
  private portsSeen = -1;
  private portsGen = -1;
  // Walk scratch.
  private readonly work = new Uint32Array(KEY_WORDS);
  private readonly path: Int32Array;
  private readonly pathFrags: (EntryProgram | null)[];
  private readonly setFrag: (EntryProgram | null)[] = new Array<EntryProgram | null>(SetSlot.COUNT).fill(null);
  private readonly setPc = new Int32Array(SetSlot.COUNT);
  private readonly setStamp = new Int32Array(SetSlot.COUNT);
  private stamp = 1;
  private readonly poParsed = new ParsedBatch(1);
  private readonly tableParsed = new ParsedBatch(1);

  constructor(opts: RulePipelineOptions) {
    this.dp = opts.datapath;
    this.normal = opts.normal;
    this.tables = opts.tables;
    this.groups = opts.groups;
    this.meters = opts.meters;
    this.clock = opts.clock ?? null;
    this.emc = new ExactMatchCache({ generation: this.tables.generationCell, insertInvProb: opts.emcInsertInvProb });
    this.emcOn = this.emc.insertProbabilityInverse !== 0;
    this.tables.onGenerationWrap(() => this.emc.clear());
    this.exec = new ActionExecutor(this.dp, this.tables.tables, this.groups, this.meters, this.normal, this, this.stats);
    this.poExec = new ActionExecutor(this.dp, this.tables.tables, this.groups, this.meters, this.normal, this, this.stats);
    this.path = new Int32Array(this.tables.nTables + 1);
    this.pathFrags = new Array<EntryProgram | null>(this.tables.nTables + 1).fill(null);
  }

  /** EMC insertion knob; 0 turns the cache off (every frame walks the tables). */
  setEmcInsertInvProb(n: number): void {
    this.emc.setInsertInvProb(n);
    this.emcOn = n !== 0;
  }

  /** Resolved programs of the current generation (diagnostics). */
  get programCount(): number {
    return this.programs.length;
  }

  /** The resolved program an EMC entry of the current generation names (diagnostics: dump-cache); undefined when stale. */
  cachedProgram(pid: number): Program | undefined {
    return this.programsGen === this.tables.generation ? this.programs[pid] : undefined;
  }

  processBurst(dp: Datapath, inPort: DpPort, slots: Int32Array, parsed: ParsedBatch, n: number, nowMs: number): void {
    this.sync();
    const now = this.clock === null ? nowMs : this.clock();
    const flags = parsed.flags;
    for (let i = 0; i < n; i++) {
      if ((flags[i] & PARSE_TOO_SHORT) !== 0) {
        inPort.counters.c[PortStat.FwdDropped] += 1;
        continue;
      }
      this.processFrame(inPort, inPort.ofPort, slots[i], parsed.keys, i * KEY_WORDS, flags[i], parsed.l3[i], parsed.l4[i], now);
    }
  }

  /** One frame through the pipeline (the EMC, else a walk). */
  private processFrame(inPort: DpPort | null, inPortNo: number, slot: number, keys: Uint32Array, base: number, flags: number, l3: number, l4: number, now: number): void {
    if (this.fragDrop && this.isFragment(keys, base)) {
      this.stats[PipelineStat.FragDrops] += 1;
      if (inPort !== null) inPort.counters.c[PortStat.FwdDropped] += 1;
      return;
    }
    const ex = this.exec;
    let h = -1;
    if (flags === 0 && this.emcOn) {
      h = this.emc.hash(keys, base);
      const pid = this.emc.lookupHashed(keys, base, h);
      if (pid >= 0) {
        const prog = this.programs[pid];
        ex.begin(inPort, inPortNo, slot, keys, base, l3, l4, now);
        ex.flows = prog.flows;
        ex.run(prog.code, 0, prog.code.length);
        if (ex.outputs === 0 && inPort !== null) inPort.counters.c[PortStat.FwdDropped] += 1;
        return;
      }
    }
    this.walk(inPort, inPortNo, slot, keys, base, flags, l3, l4, now, h);
    if (ex.outputs === 0 && inPort !== null) inPort.counters.c[PortStat.FwdDropped] += 1;
  }

  private isFragment(keys: Uint32Array, base: number): boolean {
    const t = keys[base + K.EthTypeVlan] >>> 16;
    return (t === ETH_TYPE_IPV4 || t === ETH_TYPE_IPV6) && (keys[base + K.IpProtoTosTtlFrag] & FRAG_ANY) !== 0;
  }

  private fragmentOf(e: FlowEntry): EntryProgram {
    const p = e.program;
    if (p instanceof EntryProgram) return p;
    const compiled = new EntryProgram(e.tableId, e.counters, e.actions);
    e.program = compiled;
    return compiled;
  }

  /** EMC miss: walk the tables from 0, running what the entries say; cache the path when it may be. */
  private walk(inPort: DpPort | null, inPortNo: number, slot: number, keys: Uint32Array, base: number, flags: number, l3: number, l4: number, now: number, h: number): void {
    const ex = this.exec;
    const stats = this.stats;
    stats[PipelineStat.Walks] += 1;
    ex.begin(inPort, inPortNo, slot, keys, base, l3, l4, now);
    const work = this.work;
    for (let w = 0; w < KEY_WORDS; w++) work[w] = keys[base + w];
    const gen = this.tables.generation;
    let cacheable = flags === 0 && h >= 0;
    const stamp = this.nextStamp();
    let curStamp = stamp;
    const tables = this.tables.tables;
    const path = this.path, frags = this.pathFrags;
    let n = 0;
    let t = 0;
    let complete = false;
    let missTable = -1;
    for (;;) {
      const e = tables[t].lookup(work, 0);
      ex.tableId = t;
      if (e === null) {
        path[n++] = -(t + 1);
        missTable = t;
        complete = true;
        stats[PipelineStat.TableMissDrops] += 1;
        break;
      }
      const frag = this.fragmentOf(e);
      path[n] = frag.id;
      frags[n++] = frag;
      const c = e.counters;
      c[0] += 1;
      c[1] += ex.len0;
      c[2] = now;
      let reparse = false;
      if (frag.meterSlot >= 0) {
        const m = this.meters.bySlot[frag.meterSlot];
        if (!ex.meter(frag.meterSlot)) break;
        if (m !== null && m !== undefined && m.hasRemark) reparse = true; // DSCP may change per frame
      }
      if (frag.applyEnd > 0 && !ex.run(frag.code, 0, frag.applyEnd)) break;
      if (frag.clearActions) curStamp = this.nextStamp();
      const ws = frag.writeSlots;
      for (let i = 0; i < ws.length; i++) {
        const s = ws[i];
        this.setFrag[s] = frag;
        this.setPc[s] = frag.writePcs[i];
        this.setStamp[s] = curStamp;
      }
      if (frag.writesMetadata) ex.writeMetadata(frag.metaHi, frag.metaLo, frag.metaMaskHi, frag.metaMaskLo);
      if (frag.gotoTable < 0) {
        complete = true;
        this.runActionSet(curStamp);
        break;
      }
      if (frag.applyEdits && !reparse) reparse = !cacheable || !patchKey(frag.code, 0, frag.applyEnd, work, 0);
      if (reparse) {
        const k = ex.reparse();
        for (let w = 0; w < KEY_WORDS; w++) work[w] = k[w];
        cacheable = false;
      }
      work[K.MetadataHi] = ex.metaHi;
      work[K.MetadataLo] = ex.metaLo;
      work[K.TunnelHi] = ex.tunHi;
      work[K.TunnelLo] = ex.tunLo;
      t = frag.gotoTable;
    }
    if (complete && cacheable && gen === this.tables.generation) {
      if (this.programsGen !== gen) this.resetPrograms(gen);
      let pid = this.paths.lookup(path, n);
      if (pid < 0) pid = this.buildProgram(n, missTable);
      this.emc.insertHashed(keys, base, h, pid);
    } else if (complete) {
      stats[PipelineStat.Uncacheable] += 1;
    }
    for (let i = 0; i < n; i++) frags[i] = null;
  }

  private nextStamp(): number {
    if (++this.stamp === 0x7fffffff) {
      this.setStamp.fill(0);
      this.stamp = 1;
    }
    return this.stamp;
  }

  /** The action set of the walk: its slots in order; a group takes precedence over the output. */
  private runActionSet(stamp: number): void {
    const st = this.setStamp, frag = this.setFrag, pcs = this.setPc, ex = this.exec;
    const hasGroup = st[SetSlot.Group] === stamp;
    for (let s = 0; s < SetSlot.COUNT; s++) {
      if (st[s] !== stamp || (s === SetSlot.Output && hasGroup)) continue;
      const f = frag[s]!;
      const pc = pcs[s];
      if (!ex.run(f.code, pc, pc + OP_LEN[f.code[pc]])) return;
    }
  }

  /**
   * Resolves the walk just done (path[0..n), pathFrags) into one program and
   * stores it under the path. Returns its index. Slow path: allocates.
   */
  private buildProgram(n: number, missTable: number): number {
    const path = this.path, frags = this.pathFrags;
    const w = new OpWriter();
    const flows: Float64Array[] = [];
    const setFrag: (EntryProgram | null)[] = new Array<EntryProgram | null>(SetSlot.COUNT).fill(null);
    const setPc = new Int32Array(SetSlot.COUNT);
    for (let i = 0; i < n; i++) {
      if (path[i] < 0) {
        w.push(Op.CountTable, missTable, 0, Op.MissDrop, missTable);
        break;
      }
      const frag = frags[i]!;
      w.push(Op.CountTable, frag.tableId, 1, Op.CountFlow, flows.length);
      flows.push(frag.counters);
      if (frag.meterSlot >= 0) w.push(Op.Meter, frag.meterSlot);
      w.copy(frag.code, 0, frag.applyEnd);
      if (frag.clearActions) setFrag.fill(null);
      for (let k = 0; k < frag.writeSlots.length; k++) {
        setFrag[frag.writeSlots[k]] = frag;
        setPc[frag.writeSlots[k]] = frag.writePcs[k];
      }
      if (frag.writesMetadata) w.push(Op.WriteMetadata, frag.metaHi, frag.metaLo, frag.metaMaskHi, frag.metaMaskLo);
      if (frag.gotoTable < 0) {
        const hasGroup = setFrag[SetSlot.Group] !== null;
        for (let s = 0; s < SetSlot.COUNT; s++) {
          const f = setFrag[s];
          if (f === null || (s === SetSlot.Output && hasGroup)) continue;
          w.copy(f.code, setPc[s], setPc[s] + OP_LEN[f.code[setPc[s]]]);
        }
      }
    }
    w.push(Op.End);
    const pid = this.programs.length;
    this.programs.push(new Program(w.finish(), flows));
    this.paths.insert(path, n, pid);
    this.stats[PipelineStat.ProgramsBuilt] += 1;
    return pid;
  }

  private resetPrograms(gen: number): void {
    this.programs = [];
    this.paths.clear();
    this.programsGen = gen;
  }

  /** Keeps the port table in step with the datapath (port added or removed, generation moved). */
  private sync(): void {
    const gen = this.tables.generation;
    if (this.portsSeen === this.dp.portList.length && this.portsGen === gen) return;
    this.portTable.fill(null);
    for (const p of this.dp.portList) if (p.ofPort < PORT_TABLE_SIZE) this.portTable[p.ofPort] = p;
    if (this.portsSeen !== this.dp.portList.length && this.portsSeen >= 0) this.tables.bumpGeneration();
    this.portsSeen = this.dp.portList.length;
    this.portsGen = this.tables.generation;
  }

  portByNo(no: number): DpPort | null {
    if (no < PORT_TABLE_SIZE) return this.portTable[no];
    return this.dp.port(no) ?? null;
  }

  punt(ex: ActionExecutor, reason: number, maxLen: number, tableId: number, cookieHi: number, cookieLo: number): void {
    const sink = this.onPunt;
    if (sink === null || (ex.inPort !== null && this.puntDisabled.has(ex.inPortNo))) {
      this.stats[PipelineStat.PacketInBlocked] += 1;
      return;
    }
    const pool = this.dp.pool;
    const len = pool.len[ex.cur];
    const meters = this.meters;
    const all = this.puntMeters.all === 0 ? -1 : meters.slotOf(this.puntMeters.all);
    const slow = reason === PuntReason.InvalidTtl && this.puntMeters.slowPath !== 0 ? meters.slotOf(this.puntMeters.slowPath) : -1;
    if ((all >= 0 && meters.run(all, len, ex.now) === METER_DROP) || (slow >= 0 && meters.run(slow, len, ex.now) === METER_DROP)) {
      this.stats[PipelineStat.PacketInMetered] += 1;
      return;
    }
    const n = maxLen >= len ? len : maxLen;
    const off = pool.dataOff[ex.cur];
    this.stats[PipelineStat.PacketIns] += 1;
    sink({
      reason,
      tableId: tableId & 0xff,
      cookie: cookieFromWords(cookieHi, cookieLo),
      inPort: ex.inPortNo,
      metadata: cookieFromWords(ex.metaHi, ex.metaLo),
      tunnelId: cookieFromWords(ex.tunHi, ex.tunLo),
      totalLen: len,
      data: pool.bytes.slice(off, off + n),
    });
  }

  /** output:TABLE in a packet-out: the frame (as the packet-out's actions left it) goes through the tables. */
  resubmit(ex: ActionExecutor): void {
    const pool = this.dp.pool, slot = ex.cur;
    const p = this.tableParsed;
    const flags = parseFrame(pool.bytes, pool.dataOff[slot], pool.len[slot], ex.inPortNo, p, 0);
    if ((flags & PARSE_TOO_SHORT) !== 0) return;
    this.processFrame(ex.inPort, ex.inPortNo, slot, p.keys, 0, flags, p.l3[0], p.l4[0], ex.now);
  }

  /**
   * Packet-out: the ops `code` (compiled actions) run on `data` as received
   * on `inPortNo` (a port, the local port, or a reserved number above PORT_MAX). Slow path.
   * Returns false when no slot was free.
   */
  packetOut(data: Uint8Array, inPortNo: number, code: Int32Array, nowMs: number): boolean {
    this.sync();
    const dp = this.dp, pool = dp.pool;
    const slot = pool.alloc();
    if (slot < 0) {
      this.stats[PipelineStat.NoSlotDrops] += 1;
      return false;
    }
    pool.write(slot, data);
    pool.inPort[slot] = inPortNo >>> 0;
    dp.frozen[slot] = 0;
    const p = this.poParsed;
    parseFrame(pool.bytes, pool.dataOff[slot], pool.len[slot], inPortNo >>> 0, p, 0);
    const ex = this.poExec;
    ex.begin(inPortNo <= PORT_MAX || inPortNo === PORT_LOCAL ? this.portByNo(inPortNo) : null, inPortNo >>> 0, slot, p.keys, 0, p.l3[0], p.l4[0], this.clock === null ? nowMs : this.clock());
    ex.tableId = 0xff;
    ex.run(code, 0, code.length);
    dp.finishRound();
    pool.release(slot);
    return true;
  }

  tick(nowMs: number): void {
    this.normal.tick(nowMs);
  }

  portRemoved(ofPort: number): void {
    this.normal.portRemoved(ofPort);
    this.tables.bumpGeneration();
  }
}
