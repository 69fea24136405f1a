/*
 * RulePipeline: the rule pipeline as a datapath Pipeline (the tables a control
 * plane programs; OpenFlow drives it through src/openflow/ofproto/). Per
 * frame: a cache lookup (pipeline-caches.ts: the megaflow cache, by
 * default, with the exact-match cache (EMC) behind it for the keys it
 * refuses; or the EMC alone); a hit runs the cached program; a miss walks
 * the tables from table 0 and caches what it resolved. Below, "EMC" stands
 * for whichever cache is in use.
 *
 * Design
 *   - Batch per flow (segment(), fast-path.ts; OVS dpif-netdev's per-flow
 *     batches): a burst is looked up in the EMC frame by frame until the
 *     first frame that is not a call-out-free program; those frames are
 *     grouped by program, each group's leading counter ops applied once
 *     with its totals (table counters: once per table vector, fast-path.ts),
 *     then the frames run the rest of their programs in burst order (a
 *     single-port output directly, by the program's route), so every port
 *     sends in the per-frame order.
 *   - Misses as a batch (miss-batch.ts; OVS fast_path_processing): the
 *     first EMC miss of a burst dry-walks, on the keys alone, every distinct
 *     key of the burst that misses from there on, one batched classifier
 *     pass per table. A miss whose dry walk is batchable (plain entries
 *     only: the live walk would surely complete and be cached) becomes its
 *     path's program right there, at its place in the burst, counted as a
 *     walk and inserted in the EMC as the walk would have, and joins the
 *     segment's groups. Any other frame (an unbatchable miss, an unclean or
 *     short frame, a program that calls out) ends the segment and goes
 *     alone, and the next segment starts after it: EMC lookups, inserts
 *     and walks happen in the per-frame order, so caches, counters and
 *     punts match the per-frame path.
 *   - Programs are compiled by the control plane when a rule changes (a
 *     RuleProgram, ops.ts); the pipeline binds one to its rule's counters
 *     (EntryProgram, kept on the entry, reset when the rule's actions change).
 *   - The walk (EMC miss): per table, classifier lookup on a working copy of
 *     the key (the table counts lookup/matched), the rule's counters, its
 *     meter, its apply ops run on the frame, clear/write ops into the action
 *     set (action-set.ts: SetSlot order, stamped, nothing cleared per frame),
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
import type { ExactMatchCache } from './emc.js';
import { ETH_TYPE_IPV4, ETH_TYPE_IPV6, FRAG_ANY, K, KEY_WORDS } from '../../flow/key.js';
import type { FlowEntry } from './flow-table.js';
import type { GroupTable } from './groups.js';
import { patchKey } from './key-patch.js';
import type { MeterTable } from './meters.js';
import type { NormalSwitch } from '../learning/normal.js';
import { EntryProgram } from './ops.js';
import { WalkActionSet } from './action-set.js';
import type { Punt, PuntMeters } from './punt.js';
import { puntFrame } from './punt-frame.js';
import { ParsedBatch, PARSE_TOO_SHORT, parseFrame } from '../parse/parse.js';
import { PathCache } from './path-cache.js';
import { BatchGroups, type BatchPlan, Program, resolvePath, ROUTE_CALLS_OUT } from './fast-path.js';
import type { PipelineTables } from './pipeline-tables.js';
import { MissBatch, type MissHost } from './miss-batch.js';
import type { MegaflowCache } from './megaflow.js';
import { PipelineCaches } from './pipeline-caches.js';
import { PipelinePorts, PORT_TABLE_SIZE } from './pipeline-ports.js';

export interface RulePipelineOptions {
  datapath: Datapath;
  normal: NormalSwitch;
  tables: PipelineTables;
  groups: GroupTable;
  meters: MeterTable;
  /** EMC insertion knob (emc.ts): 1 = always (default), 0 = cache off. */
  emcInsertInvProb?: number;
  /** Look frames up in the megaflow cache (default MEGAFLOW_DEFAULT), else in the EMC alone. */
  megaflow?: boolean;
  /** Time source overriding the datapath's (tests: meters with a fake clock). */
  clock?: () => number;
}

export class RulePipeline implements Pipeline, ExecHost, MissHost {
  readonly dp: Datapath;
  readonly normal: NormalSwitch;
  readonly tables: PipelineTables;
  readonly groups: GroupTable;
  readonly meters: MeterTable;
  readonly emc: ExactMatchCache;
  /** The megaflow cache (megaflow.ts), in front of the EMC while `megaflowOn` (the default). */
  readonly megaflow: MegaflowCache;
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
  /** The batch fast path (segment()); false: every frame alone through processFrame (tests compare the two). */
  batching = true;

  private readonly exec: ActionExecutor;
  private readonly ports: PipelinePorts;
  private readonly clock: (() => number) | null;
  /** The megaflow cache and the EMC (pipeline-caches.ts). */
  readonly caches: PipelineCaches;
  private programs: Program[] = [];
  private readonly paths = new PathCache();
  private programsGen = -1;
  // Walk scratch.
  private readonly work = new Uint32Array(KEY_WORDS);
  private readonly path: Int32Array;
  private readonly pathFrags: (EntryProgram | null)[];
  private readonly actionSet = new WalkActionSet();
  private readonly tableParsed = new ParsedBatch(1);
  private readonly batch = new BatchGroups();
  /** The EMC misses of the current burst, resolved as a batch (resolvedMiss). */
  private readonly misses: MissBatch;

  constructor(opts: RulePipelineOptions) {
    this.dp = opts.datapath;
    this.normal = opts.normal;
    this.tables = opts.tables;
    this.groups = opts.groups;
    this.meters = opts.meters;
    this.clock = opts.clock ?? null;
    this.caches = new PipelineCaches(this.tables, opts.emcInsertInvProb, opts.megaflow);
    this.emc = this.caches.emc;
    this.megaflow = this.caches.megaflow;
    this.exec = new ActionExecutor(this.dp, this.tables.tables, this.groups, this.meters, this.normal, this, this.stats);
    this.ports = new PipelinePorts(this.dp, this.tables, new ActionExecutor(this.dp, this.tables.tables, this.groups, this.meters, this.normal, this, this.stats), this.stats);
    this.path = new Int32Array(this.tables.nTables + 1);
    this.pathFrags = new Array<EntryProgram | null>(this.tables.nTables + 1).fill(null);
    this.misses = new MissBatch(this);
  }

  /** EMC insertion knob; 0 turns the caches off, the megaflow cache too (every frame walks the tables). */
  setEmcInsertInvProb(n: number): void {
    this.caches.setEmcInsertInvProb(n);
  }

  /** true: the megaflow cache (megaflow.ts) in front of the EMC (the default); false: the EMC alone. */
  setMegaflow(on: boolean): void {
    this.caches.mfOn = on;
    this.misses.newBurst();
  }

  get megaflowOn(): boolean {
    return this.caches.mfOn;
  }

  /** The program cached for a clean key row, or -1 (MissHost: the caches in use, counting nothing; h: its EMC hash). */
  cacheProbe(keys: Uint32Array, base: number, h: number): number {
    return this.caches.probe(keys, base, h);
  }

  /** Resolved programs of the current generation (diagnostics). */
  get programCount(): number {
    return this.programs.length;
  }

  /** Counters of the batched miss resolution (miss-batch.ts MissBatchStat). */
  get missBatchStats(): Float64Array {
    return this.misses.stats;
  }

  /** The resolved program an EMC entry of the current generation names (diagnostics: dump-cache); undefined when stale. */
  cachedProgram(pid: number): Program | undefined {
    return this.programsGen === this.tables.generation ? this.programs[pid] : undefined;
  }

  processBurst(dp: Datapath, inPort: DpPort, slots: Int32Array, parsed: ParsedBatch, n: number, nowMs: number): void {
    this.ports.sync();
    const now = this.clock === null ? nowMs : this.clock();
    if (!this.caches.cachesOn || !this.batching) {
      for (let i = 0; i < n; i++) this.oneFrame(inPort, slots, parsed, i, now);
      return;
    }
    this.misses.newBurst();
    for (let i = 0; i < n; ) i = this.segment(inPort, slots, parsed, i, n, now);
    if (this.misses.count > 0) this.misses.release();
  }

  /**
   * Frame i of the burst missed the EMC: its program when its key's dry walk
   * (miss-batch.ts) is batchable, resolved and cached as the live walk would
   * have (a walk counted, the EMC insert); else -1 (it walks the tables itself).
   */
  private resolvedMiss(keys: Uint32Array, flags: Uint8Array, i: number, n: number, h: number): number {
    const mb = this.misses, d = mb.batchableMiss(keys, flags, i, n);
    if (d < 0) return -1;
    this.stats[PipelineStat.Walks] += 1;
    if (this.programsGen !== this.tables.generation) this.resetPrograms(this.tables.generation);
    const len = mb.copyPath(d, this.path, this.pathFrags);
    let pid = this.paths.lookup(this.path, len);
    if (pid < 0) pid = this.buildProgram(len, mb.missTable[d]);
    this.caches.insert(keys, i * KEY_WORDS, h, this.path, this.pathFrags, len, pid);
    for (let k = 0; k < len; k++) this.pathFrags[k] = null;
    return pid;
  }

  /** Frame i of a burst through processFrame (or dropped when too short). */
  private oneFrame(inPort: DpPort, slots: Int32Array, parsed: ParsedBatch, i: number, now: number): void {
    const f = parsed.flags[i];
    if ((f & PARSE_TOO_SHORT) !== 0) inPort.counters.c[PortStat.FwdDropped] += 1;
    else this.processFrame(inPort, inPort.ofPort, slots[i], parsed.keys, i * KEY_WORDS, f, parsed.l3[i], parsed.l4[i], now);
  }

  /**
   * The batch fast path over frames [from, n): the frames from `from` on
   * whose program (an EMC hit, or a batchable miss: resolvedMiss) is
   * call-out-free are grouped by program, each group's hoisted counters
   * added once, then the frames run in burst order (so every port sends them
   * in the per-frame order). The first frame that is anything else (an
   * unbatchable miss, an unclean or short frame, a fragment to drop, a
   * program that calls out) ends the segment and goes through the per-frame
   * path after it. Returns the index of the next frame to process.
   */
  private segment(inPort: DpPort, slots: Int32Array, parsed: ParsedBatch, from: number, n: number, now: number): number {
    const keys = parsed.keys, flags = parsed.flags, caches = this.caches;
    let programs = this.programs;
    const len = this.dp.pool.len;
    const bg = this.batch;
    if (bg.pid.length < n) bg.pid = new Int32Array(n);
    bg.fit(programs.length + n - from); // a miss resolved below may add a program: no regrowth mid-segment
    const segPid = bg.pid, gStamp = bg.stamp, gFrames = bg.frames, gBytes = bg.bytes, gList = bg.list, route = bg.route;
    const stamp = bg.nextStamp();
    let ng = 0;
    let end = from;
    let h = -1, pid = -1;
    for (; end < n; end++) {
      h = -1;
      if (flags[end] !== 0 || (this.fragDrop && this.isFragment(keys, end * KEY_WORDS))) break;
      pid = caches.lookup(keys, end * KEY_WORDS);
      h = caches.hash;
      if (pid < 0) {
        pid = this.resolvedMiss(keys, flags, end, n, h);
        if (pid < 0) break;
        programs = this.programs;
      }
      if (route[pid] === ROUTE_CALLS_OUT) break;
      segPid[end] = pid;
      if (gStamp[pid] !== stamp) {
        gStamp[pid] = stamp;
        gList[ng++] = pid;
        gFrames[pid] = 0;
        gBytes[pid] = 0;
      }
      gFrames[pid] += 1;
      gBytes[pid] += len[slots[end]];
    }
    bg.countSegment(ng, stamp, this.tables.tables, now);
    const ex = this.exec, inPortNo = inPort.ofPort, fwd = inPort.counters.c, portTable = this.ports.table, dp = this.dp;
    for (let i = from; i < end; i++) {
      const pid = segPid[i], to = route[pid];
      if (to >= 0) { // outputs to one port, nothing else (what Op.Output does)
        const p = portTable[to];
        if (p !== null && p !== inPort) {
          dp.output(slots[i], p);
          continue;
        }
        this.stats[p === null ? PipelineStat.NoSuchPort : PipelineStat.InPortDrops] += 1;
        fwd[PortStat.FwdDropped] += 1;
        continue;
      }
      const prog = programs[pid], plan = prog.plan;
      let outs = 0;
      if (plan.outputsOnly) {
        outs = this.outputAll(plan, slots[i], inPort);
        if (plan.missDrop) this.stats[PipelineStat.TableMissDrops] += 1;
      } else {
        ex.begin(inPort, inPortNo, slots[i], keys, i * KEY_WORDS, parsed.l3[i], parsed.l4[i], now);
        ex.flows = prog.flows;
        ex.tableId = plan.restTableId;
        ex.run(plan.rest, 0, plan.rest.length);
        outs = ex.outputs;
      }
      if (outs === 0) fwd[PortStat.FwdDropped] += 1;
    }
    if (end === n) return n;
    if (h === -1) {
      this.oneFrame(inPort, slots, parsed, end, now); // unclean, short or a fragment: no lookup was made
    } else if (pid < 0) {
      this.walk(inPort, inPortNo, slots[end], keys, end * KEY_WORDS, 0, parsed.l3[end], parsed.l4[end], now, h);
      if (ex.outputs === 0) fwd[PortStat.FwdDropped] += 1;
    } else {
      const prog = programs[pid];
      ex.begin(inPort, inPortNo, slots[end], keys, end * KEY_WORDS, parsed.l3[end], parsed.l4[end], now);
      ex.flows = prog.flows;
      ex.run(prog.code, 0, prog.code.length);
      if (ex.outputs === 0) fwd[PortStat.FwdDropped] += 1;
    }
    return end + 1;
  }

  /** An outputs-only plan on one frame (what Op.Output does for each port). Returns the frames sent. */
  private outputAll(plan: BatchPlan, slot: number, inPort: DpPort): number {
    const ports = plan.outPorts;
    let outs = 0;
    for (let k = 0; k < ports.length; k++) {
      const p = this.portByNo(ports[k] >>> 0);
      if (p === null) this.stats[PipelineStat.NoSuchPort] += 1;
      else if (p === inPort) this.stats[PipelineStat.InPortDrops] += 1;
      else {
        this.dp.output(slot, p);
        outs++;
      }
    }
    return outs;
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
    if (flags === 0 && this.caches.cachesOn) {
      const pid = this.caches.lookup(keys, base);
      h = this.caches.hash;
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

  /** The frame with key row keys[base..] is a fragment to drop (MissHost). */
  dropsFragment(keys: Uint32Array, base: number): boolean {
    return this.fragDrop && this.isFragment(keys, base);
  }

  private isFragment(keys: Uint32Array, base: number): boolean {
    const t = keys[base + K.EthTypeVlan] >>> 16;
    return (t === ETH_TYPE_IPV4 || t === ETH_TYPE_IPV6) && (keys[base + K.IpProtoTosTtlFrag] & FRAG_ANY) !== 0;
  }

  /** The entry's program bound to its counters (compiled on first use; MissHost). */
  fragmentOf(e: FlowEntry): EntryProgram {
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
    const actionSet = this.actionSet;
    let curStamp = actionSet.nextStamp();
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
      if (frag.clearActions) curStamp = actionSet.nextStamp();
      actionSet.write(frag, curStamp);
      if (frag.writesMetadata) ex.writeMetadata(frag.metaHi, frag.metaLo, frag.metaMaskHi, frag.metaMaskLo);
      if (frag.gotoTable < 0) {
        complete = true;
        actionSet.run(ex, curStamp);
        break;
      }
      if (frag.applyEdits && !reparse) reparse = !cacheable || !patchKey(frag.code, 0, frag.applyEnd, work, 0);
      if (reparse) {
        const k = ex.reparse();
        for (let w = 0; w < KEY_WORDS; w++) work[w] = k[w];
        cacheable = false;
      }
      ex.keyTakesState(work);
      t = frag.gotoTable;
    }
    if (complete && cacheable && gen === this.tables.generation) {
      if (this.programsGen !== gen) this.resetPrograms(gen);
      let pid = this.paths.lookup(path, n);
      if (pid < 0) pid = this.buildProgram(n, missTable);
      this.caches.insert(keys, base, h, path, frags, n, pid);
    } else if (complete) {
      stats[PipelineStat.Uncacheable] += 1;
    }
    for (let i = 0; i < n; i++) frags[i] = null;
  }

  /** Resolves the walk just done (path[0..n), pathFrags) into one program and stores it under the path. Returns its index. Slow path. */
  private buildProgram(n: number, missTable: number): number {
    const pid = this.programs.length;
    const prog = resolvePath(this.pathFrags, n, missTable);
    this.programs.push(prog);
    this.paths.insert(this.path, n, pid);
    this.stats[PipelineStat.ProgramsBuilt] += 1;
    this.batch.bind(pid, prog, PORT_TABLE_SIZE);
    return pid;
  }

  private resetPrograms(gen: number): void {
    this.programs = [];
    this.paths.clear();
    this.batch.reset();
    this.programsGen = gen;
  }

  portByNo(no: number): DpPort | null {
    return this.ports.portByNo(no);
  }

  punt(ex: ActionExecutor, reason: number, maxLen: number, tableId: number, cookieHi: number, cookieLo: number): void {
    puntFrame(this, ex, reason, maxLen, tableId, cookieHi, cookieLo);
  }

  /** output:TABLE in a packet-out: the frame (as the packet-out's actions left it) goes through the tables. */
  resubmit(ex: ActionExecutor): void {
    const pool = this.dp.pool, slot = ex.cur;
    const p = this.tableParsed;
    const flags = parseFrame(pool.bytes, pool.dataOff[slot], pool.len[slot], ex.inPortNo, p, 0);
    if ((flags & PARSE_TOO_SHORT) !== 0) return;
    this.processFrame(ex.inPort, ex.inPortNo, slot, p.keys, 0, flags, p.l3[0], p.l4[0], ex.now);
  }

  /** Packet-out (pipeline-ports.ts): `code` runs on `data` as received on `inPortNo`. Returns false when no slot was free. */
  packetOut(data: Uint8Array, inPortNo: number, code: Int32Array, nowMs: number): boolean {
    return this.ports.packetOut(data, inPortNo, code, this.clock === null ? nowMs : this.clock());
  }

  tick(nowMs: number): void {
    this.normal.tick(nowMs);
  }

  portRemoved(ofPort: number): void {
    this.normal.portRemoved(ofPort);
    this.tables.bumpGeneration();
  }
}
