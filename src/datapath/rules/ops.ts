/*
 * The datapath's program vocabulary: the op stream a rule, a group bucket or
 * a packet-out compiles to (the control plane's translation does the
 * compiling, src/openflow/ofproto/compile.ts), interpreted by actions-exec.ts
 * without allocating.
 *
 * What
 *   Op / OP_LEN            opcodes and their fixed lengths (opcode + operands)
 *   SetSlot                the action set's slots, in execution order, one per
 *                          set-field field
 *   RuleProgram            a rule's compiled instructions (apply ops, written
 *                          ops with their slots, meter, clear, goto, metadata)
 *   EntryProgram           a RuleProgram bound to its rule's table and counters
 *   OpWriter               a growable op buffer (compilation, path resolution)
 *
 * Design
 *   - An op is [opcode, operands...], OP_LEN[opcode] words long, all int32:
 *     ops are relocatable (no per-program references), so the pipeline builds
 *     a path's whole program by copying fragments end to end.
 *   - Operands carry everything the op needs: port numbers (resolved at run
 *     time, a port may come and go), group and meter slots (stable while the
 *     group/meter exists: deleting one deletes the rules that use it), set-field
 *     values as four words (w0 = the value for fields <= 32 bits; MAC: w0 =
 *     bytes 0..1, w1 = bytes 2..5; 64-bit: hi, lo; 128-bit: four words, most
 *     significant first), cookies as two words.
 *   - Output to a reserved destination has its own opcode (InPort, All, Flood,
 *     Normal, Local, Table, Controller); Output names a real port.
 *   - Controller ops carry a PuntReason (punt.ts) and a byte count to include
 *     (PUNT_WHOLE_FRAME: all of it).
 *
 * Invariants
 * - Every op in a stream is complete: walking by OP_LEN visits op starts only.
 * - Programs are built once per rule, group or packet-out change, never per frame.
 * - A set-field op names its field by Fid (src/flow/fields.ts), the OXM field id.
 */

export const enum Op {
  /** [op] */
  End = 0,
  /** [op, port, maxLen]: a physical port number. */
  Output = 1,
  InPort = 2,
  All = 3,
  Flood = 4,
  Normal = 5,
  Local = 6,
  /** packet-out only: run the frame through the pipeline. */
  Table = 7,
  /** [op, maxLen (bytes to punt), PuntReason, tableId (-1: the table last looked up), cookieHi, cookieLo] */
  Controller = 8,
  /** [op, groupSlot] */
  Group = 9,
  /** [op, fid, w0, w1, w2, w3] */
  SetField = 10,
  /** [op, tpid] */
  PushVlan = 11,
  PopVlan = 12,
  /** [op, ethertype] */
  PushMpls = 13,
  /** [op, ethertype of the payload] */
  PopMpls = 14,
  /** [op, ttl] */
  SetNwTtl = 15,
  DecNwTtl = 16,
  /** [op, ttl] */
  SetMplsTtl = 17,
  DecMplsTtl = 18,
  CopyTtlOut = 19,
  CopyTtlIn = 20,
  /** [op, queueId] */
  SetQueue = 21,
  /** [op, hi, lo, maskHi, maskLo] */
  WriteMetadata = 22,
  /** [op, meterSlot] */
  Meter = 23,
  /** [op, tableId, matched]: table lookup counters (resolved programs only). */
  CountTable = 24,
  /** [op, flowRef]: flow entry counters (resolved programs only). */
  CountFlow = 25,
  /** [op, tableId]: table miss without a table-miss entry: drop. */
  MissDrop = 26,
  /** [op]: push a PBB I-TAG (ethertype 0x88E7). */
  PushPbb = 27,
  /** [op]: pop the PBB backbone header (the customer frame remains). */
  PopPbb = 28,
  COUNT = 29,
}

export const OP_LEN = new Uint8Array(Op.COUNT);
for (const [op, len] of [
  [Op.End, 1], [Op.Output, 3], [Op.InPort, 1], [Op.All, 1], [Op.Flood, 1], [Op.Normal, 1], [Op.Local, 1], [Op.Table, 1],
  [Op.Controller, 6], [Op.Group, 2], [Op.SetField, 6], [Op.PushVlan, 2], [Op.PopVlan, 1], [Op.PushMpls, 2], [Op.PopMpls, 2],
  [Op.SetNwTtl, 2], [Op.DecNwTtl, 1], [Op.SetMplsTtl, 2], [Op.DecMplsTtl, 1], [Op.CopyTtlOut, 1], [Op.CopyTtlIn, 1],
  [Op.SetQueue, 2], [Op.WriteMetadata, 5], [Op.Meter, 2], [Op.CountTable, 3], [Op.CountFlow, 2], [Op.MissDrop, 2],
  [Op.PushPbb, 1], [Op.PopPbb, 1],
] as const) {
  OP_LEN[op] = len;
}
for (let i = 0; i < Op.COUNT; i++) if (OP_LEN[i] === 0) throw new Error(`datapath/ops: opcode ${i} has no length`);

/** Action-set slots in execution order (OpenFlow 1.3 section 5.10). */
export const enum SetSlot {
  CopyTtlIn = 0,
  PopVlan = 1,
  PopMpls = 2,
  PopPbb = 3,
  PushMpls = 4,
  PushPbb = 5,
  PushVlan = 6,
  CopyTtlOut = 7,
  DecMplsTtl = 8,
  DecNwTtl = 9,
  SetMplsTtl = 10,
  SetNwTtl = 11,
  /** FieldBase + fid: one slot per set-field field. */
  FieldBase = 12,
  Queue = 52,
  Group = 53,
  Output = 54,
  COUNT = 55,
}

/** Growable op buffer (slow path: compilation only). */
export class OpWriter {
  private buf = new Int32Array(32);
  n = 0;

  push(...words: number[]): number {
    const at = this.n;
    if (at + words.length > this.buf.length) {
      const b = new Int32Array(Math.max(this.buf.length * 2, at + words.length));
      b.set(this.buf);
      this.buf = b;
    }
    for (let i = 0; i < words.length; i++) this.buf[at + i] = words[i] | 0;
    this.n = at + words.length;
    return at;
  }

  /** Appends code[from, to). */
  copy(code: Int32Array, from: number, to: number): void {
    const words: number[] = [];
    for (let i = from; i < to; i++) words.push(code[i]);
    this.push(...words);
  }

  finish(): Int32Array {
    return this.buf.slice(0, this.n);
  }
}

export function cookieFromWords(hi: number, lo: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** True for ops that change frame bytes or key fields (a later table needs the key patched). */
function opEdits(op: number): boolean {
  switch (op) {
    case Op.SetField: case Op.PushVlan: case Op.PopVlan: case Op.PushMpls: case Op.PopMpls: case Op.SetNwTtl:
    case Op.DecNwTtl: case Op.SetMplsTtl: case Op.DecMplsTtl: case Op.CopyTtlOut: case Op.CopyTtlIn:
    case Op.PushPbb: case Op.PopPbb:
      return true;
    default:
      return false;
  }
}

let nextFragmentId = 1;

/**
 * A rule's compiled instructions, as the control plane's translation builds
 * them: apply ops in [0, applyEnd), then one op per written action (with its
 * action-set slot), the meter, clear/goto/write-metadata.
 */
export class RuleProgram {
  /** Some apply-actions op edits the frame (a later table needs the key patched or re-parsed). */
  readonly applyEdits: boolean;

  constructor(
    /** Apply-actions ops in [0, applyEnd); then one op per written action. */
    readonly code: Int32Array,
    readonly applyEnd: number,
    /** Per written action: its action-set slot and op offset in `code`. */
    readonly writeSlots: Int32Array,
    readonly writePcs: Int32Array,
    readonly clearActions: boolean,
    /** -1: no meter. */
    readonly meterSlot: number,
    /** -1: no goto-table (the action set runs after this rule). */
    readonly gotoTable: number,
    readonly writesMetadata: boolean,
    readonly metaHi: number,
    readonly metaLo: number,
    readonly metaMaskHi: number,
    readonly metaMaskLo: number,
  ) {
    let edits = false;
    for (let pc = 0; pc < applyEnd; pc += OP_LEN[code[pc]]) if (opEdits(code[pc])) edits = true;
    this.applyEdits = edits;
  }
}

/** A rule's program as the pipeline runs it: its table, its counters, a process-unique id. */
export class EntryProgram {
  /** Unique over the process: names the entry's instructions in path keys. */
  readonly id = nextFragmentId++;
  readonly code: Int32Array;
  readonly applyEnd: number;
  readonly writeSlots: Int32Array;
  readonly writePcs: Int32Array;
  readonly clearActions: boolean;
  readonly meterSlot: number;
  readonly gotoTable: number;
  readonly writesMetadata: boolean;
  readonly metaHi: number;
  readonly metaLo: number;
  readonly metaMaskHi: number;
  readonly metaMaskLo: number;
  /** Some apply-actions op edits the frame. */
  readonly applyEdits: boolean;
  /** Batched miss resolution (miss-batch.ts): -1 not yet known, 1 every op runs through, 0 not. */
  plain = -1;

  constructor(
    readonly tableId: number,
    /** The rule's counters ([packets, bytes, lastHitMs]). */
    readonly counters: Float64Array,
    p: RuleProgram,
  ) {
    this.code = p.code;
    this.applyEnd = p.applyEnd;
    this.writeSlots = p.writeSlots;
    this.writePcs = p.writePcs;
    this.clearActions = p.clearActions;
    this.meterSlot = p.meterSlot;
    this.gotoTable = p.gotoTable;
    this.writesMetadata = p.writesMetadata;
    this.metaHi = p.metaHi;
    this.metaLo = p.metaLo;
    this.metaMaskHi = p.metaMaskHi;
    this.metaMaskLo = p.metaMaskLo;
    this.applyEdits = p.applyEdits;
  }
}
