/*
 * Resolved programs and their batch plans: what the batch-per-flow fast
 * path (RulePipeline.processBurst, after OVS dpif-netdev's per-flow batches)
 * may do once per group of frames instead of once per frame.
 *
 * What
 *   Program              a walk's path resolved into one op stream (table and
 *                        rule counters, meters, apply ops, write-metadata, the
 *                        final action set) with the rule counters it names
 *   resolvePath(...)     builds one from the entries a walk met (slow path)
 *   BatchGroups          the segment's scratch: per frame its program, per
 *                        program its group (stamped, so nothing is cleared);
 *                        per program what the batch path reads of it, in
 *                        typed arrays (route, table vector, flow counters)
 *   countSegment(...)    the segment's hoisted counters, added once per group
 *                        (flows) and once per table vector (tables)
 *   BatchPlan            a resolved program split for batching: the counter
 *                        ops that may be hoisted out of the per-frame run
 *                        (applied once per group, with the group's frame
 *                        and byte totals), the ops left to run per frame,
 *                        and, when those are plain outputs, the ports
 *   planProgram(code)    builds it (slow path: once per resolved program)
 *
 * Design
 *   - Hoisted counters: the CountTable / CountFlow ops that come before any
 *     op that may stop a frame (meter, tag and TTL ops, set-field, group,
 *     miss). Every frame that runs the program reaches them, so adding
 *     `frames` and `bytes` once per group equals adding 1 and the frame's
 *     entry length per frame (the program's counters precede its edits, so
 *     the entry length is the received length).
 *   - Per-group fixed cost is what a burst of many flows pays (32 groups
 *     when its 32 frames are 32 flows): the table counters are the same
 *     for every program whose path crosses the same tables (one "table
 *     vector", interned per generation), so they are added once per
 *     vector and segment; a group adds only its flow counters, read from
 *     one flat list (no walk through Program and BatchPlan objects).
 *   - `rest`: the program without the hoisted counters, run per frame by the
 *     executor, starting with tableId = restTableId (the last hoisted
 *     CountTable's table, as the full program would have left it).
 *   - `calloutFree`: the program never calls out of the datapath (punts,
 *     output:TABLE, NORMAL, groups whose buckets may punt, TTL ops whose
 *     expiry punts). Only such programs are batched: nothing outside can
 *     observe (or change: a punt sink may edit the tables) the pipeline
 *     while a batch is under way, so batching cannot change what it sees.
 *   - `outputsOnly`: `rest` holds nothing but outputs to port numbers, a
 *     trailing table miss, and ops with no effect on those (write-metadata,
 *     set-queue): each frame then costs one dp.output per port.
 *
 * Invariants
 * - Running the hoisted counters once per group (frames, bytes) then `rest`
 *   per frame has the same effect as running `code` per frame.
 * - Plans are immutable and built only with their program.
 * - countSegment adds, per counter, exactly what running each group's
 *   hoisted counters once with its totals would (sums regrouped by table
 *   vector: each frame's lookups/matched counted once, in its segment).
 */

import { type FlowTable, TableCounter } from './flow-table.js';
import { type EntryProgram, Op, OP_LEN, OpWriter, SetSlot } from './ops.js';

export class BatchPlan {
  constructor(
    /** Hoisted CountTable ops: [tableId, matched] pairs. */
    readonly tables: Int32Array,
    /** Hoisted CountFlow ops: flow refs (indexes into Program.flows). */
    readonly flows: Int32Array,
    /** The ops to run per frame (ends with Op.End). */
    readonly rest: Int32Array,
    readonly restTableId: number,
    readonly calloutFree: boolean,
    readonly outputsOnly: boolean,
    /** outputsOnly: the port numbers output to, in program order. */
    readonly outPorts: Int32Array,
    /** outputsOnly: the program ends in a table miss (counted per frame). */
    readonly missDrop: boolean,
  ) {}
}

/** May stop a frame (the ops after it may not run). */
function stops(op: number): boolean {
  switch (op) {
    case Op.CountTable: case Op.CountFlow: case Op.WriteMetadata: case Op.SetQueue: case Op.Output: case Op.InPort:
    case Op.All: case Op.Flood: case Op.Local: case Op.Normal: case Op.Controller: case Op.Table: case Op.End:
      return false;
    default:
      return true;
  }
}

/** Hands the frame, or control, to something outside the datapath (see the module comment). */
function callsOut(op: number): boolean {
  switch (op) {
    case Op.Controller: case Op.Table: case Op.Normal: case Op.Group: case Op.DecNwTtl: case Op.DecMplsTtl:
    case Op.SetMplsTtl: case Op.CopyTtlOut: case Op.CopyTtlIn:
      return true;
    default:
      return false;
  }
}

/**
 * An entry program none of whose ops may stop a frame or call out, and with
 * no meter: a walk through it always goes on (miss-batch.ts). Computed once per program.
 */
export function entryPlain(frag: EntryProgram): boolean {
  if (frag.plain < 0) {
    let plain = frag.meterSlot < 0;
    const code = frag.code;
    for (let pc = 0; pc < code.length && plain; pc += OP_LEN[code[pc]]) plain = !stops(code[pc]) && !callsOut(code[pc]);
    frag.plain = plain ? 1 : 0;
  }
  return frag.plain === 1;
}

/** Splits a resolved program for batching (slow path: allocates). */
export function planProgram(code: Int32Array): BatchPlan {
  const tables: number[] = [];
  const flows: number[] = [];
  const rest: number[] = [];
  const outPorts: number[] = [];
  let hoisting = true;
  let restTableId = 0;
  let calloutFree = true;
  let outputsOnly = true;
  let missDrop = false;
  for (let pc = 0; pc < code.length; pc += OP_LEN[code[pc]]) {
    const op = code[pc];
    if (op === Op.End) break;
    if (stops(op)) hoisting = false;
    if (callsOut(op)) calloutFree = false;
    if (hoisting && op === Op.CountTable) {
      tables.push(code[pc + 1], code[pc + 2]);
      restTableId = code[pc + 1];
      continue;
    }
    if (hoisting && op === Op.CountFlow) {
      flows.push(code[pc + 1]);
      continue;
    }
    for (let i = 0; i < OP_LEN[op]; i++) rest.push(code[pc + i]);
    if (op === Op.Output) outPorts.push(code[pc + 1]);
    else if (op === Op.MissDrop && pc + OP_LEN[op] < code.length && code[pc + OP_LEN[op]] === Op.End) missDrop = true;
    else if (op !== Op.WriteMetadata && op !== Op.SetQueue) outputsOnly = false;
  }
  rest.push(Op.End);
  return new BatchPlan(Int32Array.from(tables), Int32Array.from(flows), Int32Array.from(rest), restTableId, calloutFree, outputsOnly, Int32Array.from(outPorts), missDrop);
}

/** A path resolved into one program (rule-pipeline.ts module comment). */
export class Program {
  /** How the batch fast path runs it. */
  readonly plan: BatchPlan;
  constructor(
    readonly code: Int32Array,
    /** Flow entry counters, named by CountFlow ops. */
    readonly flows: Float64Array[],
  ) {
    this.plan = planProgram(code);
  }
}

/**
 * The program of a walk that met frags[0..n) (a null past the last entry:
 * table `missTable` missed). Slow path: allocates.
 */
export function resolvePath(frags: readonly (EntryProgram | null)[], n: number, missTable: number): Program {
  const w = new OpWriter();
  const flows: Float64Array[] = [];
  const setFrag: (EntryProgram | null)[] = new Array<EntryProgram | null>(SetSlot.COUNT).fill(null);
  const setPc = new Int32Array(SetSlot.COUNT);
  for (let i = 0; i < n; i++) {
    const frag = frags[i];
    if (frag === null) {
      w.push(Op.CountTable, missTable, 0, Op.MissDrop, missTable);
      break;
    }
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
  return new Program(w.finish(), flows);
}

/**
 * Scratch of the batch path and the per-program facts it reads (typed
 * arrays indexed by program, grown only when programs are built or bursts
 * grow; bind() fills a program's, reset() forgets them with the programs).
 */
export class BatchGroups {
  /** Per frame of the segment: its program. */
  pid = new Int32Array(64);
  /** Per program: the stamp of the segment its group belongs to, its frames and bytes. */
  stamp = new Int32Array(64);
  frames = new Int32Array(64);
  bytes = new Float64Array(64);
  /** The programs of the segment's groups, in order of first frame. */
  list = new Int32Array(64);
  /** Per program, set when it is built (routeOf): not scratch, kept when grown. */
  route = new Int32Array(64);
  /** Per program (bind): its table vector, an index into `vectors`. */
  private vector = new Int32Array(64);
  /** Per program (bind): its hoisted flow counters, flowRefs[flowAt[p] .. flowAt[p] + flowN[p]). */
  private flowAt = new Int32Array(64);
  private flowN = new Int32Array(64);
  private readonly flowRefs: Float64Array[] = [];
  /** The distinct hoisted table counter vectors (BatchPlan.tables) of the bound programs, and their index by text. */
  private readonly vectors: Int32Array[] = [];
  private readonly vectorIds = new Map<string, number>();
  /** Per vector: the stamp of the segment that counts it, its frames there; the vectors of the segment. */
  private vStamp = new Int32Array(64);
  private vFrames = new Float64Array(64);
  private vList = new Int32Array(64);
  private now = 1;

  nextStamp(): number {
    if (++this.now === 0x7fffffff) {
      this.stamp.fill(0);
      this.vStamp.fill(0);
      this.now = 1;
    }
    return this.now;
  }

  /** Room for `programs` programs (and as many table vectors). */
  fit(programs: number): void {
    if (programs <= this.stamp.length) return;
    const size = Math.max(programs, this.stamp.length * 2);
    this.stamp = new Int32Array(size);
    this.frames = new Int32Array(size);
    this.bytes = new Float64Array(size);
    this.list = new Int32Array(size);
    this.vStamp = new Int32Array(size);
    this.vFrames = new Float64Array(size);
    this.vList = new Int32Array(size);
    this.route = grown(this.route, size);
    this.vector = grown(this.vector, size);
    this.flowAt = grown(this.flowAt, size);
    this.flowN = grown(this.flowN, size);
  }

  /** Records what the batch path reads of program `pid`: its route (routeOf), its hoisted counters (slow path: when it is built). */
  bind(pid: number, prog: Program, portLimit: number): void {
    this.fit(pid + 1);
    const plan = prog.plan, text = plan.tables.join(',');
    this.route[pid] = routeOf(plan, portLimit);
    let v = this.vectorIds.get(text);
    if (v === undefined) {
      v = this.vectors.length;
      this.vectors.push(plan.tables);
      this.vectorIds.set(text, v);
    }
    this.vector[pid] = v;
    this.flowAt[pid] = this.flowRefs.length;
    this.flowN[pid] = plan.flows.length;
    for (let k = 0; k < plan.flows.length; k++) this.flowRefs.push(prog.flows[plan.flows[k]]);
  }

  /** Forgets the bound programs (their generation is over). */
  reset(): void {
    this.flowRefs.length = 0;
    this.vectors.length = 0;
    this.vectorIds.clear();
  }

  /**
   * Adds the hoisted counters of the segment's `ng` groups (list[0..ng),
   * stamped `stamp`): each group's flow counters once with its frames and
   * bytes; the table counters once per distinct table vector of the
   * segment, with the frames of all its groups (one vector for every path
   * through the same tables, however many flows).
   */
  countSegment(ng: number, stamp: number, tables: readonly FlowTable[], now: number): void {
    const list = this.list, frames = this.frames, bytes = this.bytes, vector = this.vector, flowAt = this.flowAt, flowN = this.flowN, refs = this.flowRefs;
    const vStamp = this.vStamp, vFrames = this.vFrames, vList = this.vList;
    let nv = 0;
    for (let g = 0; g < ng; g++) {
      const p = list[g], f = frames[p], b = bytes[p], v = vector[p];
      if (vStamp[v] !== stamp) {
        vStamp[v] = stamp;
        vList[nv++] = v;
        vFrames[v] = 0;
      }
      vFrames[v] += f;
      for (let k = flowAt[p], e = k + flowN[p]; k < e; k++) {
        const c = refs[k];
        c[0] += f;
        c[1] += b;
        c[2] = now;
      }
    }
    for (let j = 0; j < nv; j++) {
      const t = this.vectors[vList[j]], f = vFrames[vList[j]];
      for (let k = 0; k < t.length; k += 2) {
        const c = tables[t[k]].counters;
        c[TableCounter.Lookups] += f;
        if (t[k + 1] !== 0) c[TableCounter.Matched] += f;
      }
    }
  }
}

/** `a` copied into a zeroed array of `size` elements. */
function grown(a: Int32Array, size: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(size);
  b.set(a);
  return b;
}

/** routeOf: the program calls out (it runs alone, outside a batch). */
export const ROUTE_CALLS_OUT = -2;
/** routeOf: a call-out-free program run through its plan. */
export const ROUTE_PLAN = -1;

/**
 * How the batch path runs a program, as one integer: a port number below
 * `portLimit` when the plan only outputs to that one port (no table miss
 * after it), else ROUTE_PLAN, or ROUTE_CALLS_OUT.
 */
function routeOf(plan: BatchPlan, portLimit: number): number {
  if (!plan.calloutFree) return ROUTE_CALLS_OUT;
  if (plan.outputsOnly && !plan.missDrop && plan.outPorts.length === 1 && plan.outPorts[0] >= 0 && plan.outPorts[0] < portLimit) return plan.outPorts[0];
  return ROUTE_PLAN;
}
