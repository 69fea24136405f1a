/*
 * The OpenFlow pipeline's compiled form: OpenFlow actions and instructions
 * turned, once per flow change (never per frame), into a compact opcode
 * stream that actions-exec.ts interprets without allocating.
 *
 * What
 *   Op / OP_LEN            opcodes and their fixed lengths (opcode + operands)
 *   compileActions(...)    an action list -> ops (apply-actions, group
 *                          buckets, packet-out)
 *   compileEntry(e, ctx)   a flow entry's instructions -> EntryProgram: the
 *                          apply-actions ops, one op per written action with
 *                          its action-set slot, meter, clear-actions,
 *                          write-metadata and goto-table
 *   SetSlot                the action set's slots, numbered in the order the
 *                          spec executes them (5.10), one per set-field field
 *
 * Design
 *   - An op is [opcode, operands...], OP_LEN[opcode] words long, all int32:
 *     ops are relocatable (no per-program references), so the pipeline builds
 *     a path's whole program by copying fragments end to end.
 *   - Operands carry everything the op needs: port numbers (resolved at run
 *     time, a port may come and go), group and meter slots (stable while the
 *     group/meter exists: deleting one deletes the flows that use it), set-field
 *     values as four words (w0 = the value for fields <= 32 bits; MAC: w0 =
 *     bytes 0..1, w1 = bytes 2..5; 64-bit: hi, lo; 128-bit: four words, most
 *     significant first), cookies as two words.
 *   - Output to a reserved port compiles to its own opcode (InPort, All,
 *     Flood, Normal, Local, Table, Controller); Output is a real port.
 *
 * Invariants
 * - Every op in a stream is complete: walking by OP_LEN visits op starts only.
 * - Fid mirrors the OXM field ids (checked at load).
 * - Compilation never fails: flow-mods, group-mods and packet-outs are
 *   validated first (openflow/of-validate.ts).
 */

import type { Action } from '../../openflow/codec/v13/actions.js';
import { OFPP, OFPR } from '../../openflow/codec/v13/enums.js';
import type { Instruction } from '../../openflow/codec/v13/instructions.js';
import { OXM, type Oxm } from '../../openflow/codec/v13/oxm.js';

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
  /** [op, maxLen, reason, tableId (-1: the table last looked up), cookieHi, cookieLo] */
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
  COUNT = 27,
}

export const OP_LEN = new Uint8Array(Op.COUNT);
for (const [op, len] of [
  [Op.End, 1], [Op.Output, 3], [Op.InPort, 1], [Op.All, 1], [Op.Flood, 1], [Op.Normal, 1], [Op.Local, 1], [Op.Table, 1],
  [Op.Controller, 6], [Op.Group, 2], [Op.SetField, 6], [Op.PushVlan, 2], [Op.PopVlan, 1], [Op.PushMpls, 2], [Op.PopMpls, 2],
  [Op.SetNwTtl, 2], [Op.DecNwTtl, 1], [Op.SetMplsTtl, 2], [Op.DecMplsTtl, 1], [Op.CopyTtlOut, 1], [Op.CopyTtlIn, 1],
  [Op.SetQueue, 2], [Op.WriteMetadata, 5], [Op.Meter, 2], [Op.CountTable, 3], [Op.CountFlow, 2], [Op.MissDrop, 2],
] as const) {
  OP_LEN[op] = len;
}
for (let i = 0; i < Op.COUNT; i++) if (OP_LEN[i] === 0) throw new Error(`of-ops: opcode ${i} has no length`);

/** OXM field ids (OXM_OF_*), as a const enum for the hot path. */
export const enum Fid {
  InPort = 0, InPhyPort = 1, Metadata = 2, EthDst = 3, EthSrc = 4, EthType = 5, VlanVid = 6, VlanPcp = 7,
  IpDscp = 8, IpEcn = 9, IpProto = 10, Ipv4Src = 11, Ipv4Dst = 12, TcpSrc = 13, TcpDst = 14, UdpSrc = 15,
  UdpDst = 16, SctpSrc = 17, SctpDst = 18, Icmpv4Type = 19, Icmpv4Code = 20, ArpOp = 21, ArpSpa = 22,
  ArpTpa = 23, ArpSha = 24, ArpTha = 25, Ipv6Src = 26, Ipv6Dst = 27, Ipv6Flabel = 28, Icmpv6Type = 29,
  Icmpv6Code = 30, Ipv6NdTarget = 31, Ipv6NdSll = 32, Ipv6NdTll = 33, MplsLabel = 34, MplsTc = 35,
  MplsBos = 36, PbbIsid = 37, TunnelId = 38, Ipv6Exthdr = 39,
}
const FID_CHECK: readonly [number, number][] = [
  [OXM.in_port, Fid.InPort], [OXM.metadata, Fid.Metadata], [OXM.eth_dst, Fid.EthDst], [OXM.eth_src, Fid.EthSrc],
  [OXM.vlan_vid, Fid.VlanVid], [OXM.vlan_pcp, Fid.VlanPcp], [OXM.ip_dscp, Fid.IpDscp], [OXM.ip_ecn, Fid.IpEcn],
  [OXM.ipv4_src, Fid.Ipv4Src], [OXM.ipv4_dst, Fid.Ipv4Dst], [OXM.tcp_src, Fid.TcpSrc], [OXM.tcp_dst, Fid.TcpDst],
  [OXM.udp_src, Fid.UdpSrc], [OXM.udp_dst, Fid.UdpDst], [OXM.sctp_src, Fid.SctpSrc], [OXM.sctp_dst, Fid.SctpDst],
  [OXM.icmpv4_type, Fid.Icmpv4Type], [OXM.icmpv4_code, Fid.Icmpv4Code], [OXM.arp_op, Fid.ArpOp], [OXM.arp_spa, Fid.ArpSpa],
  [OXM.arp_tpa, Fid.ArpTpa], [OXM.arp_sha, Fid.ArpSha], [OXM.arp_tha, Fid.ArpTha], [OXM.ipv6_src, Fid.Ipv6Src],
  [OXM.ipv6_dst, Fid.Ipv6Dst], [OXM.ipv6_flabel, Fid.Ipv6Flabel], [OXM.icmpv6_type, Fid.Icmpv6Type],
  [OXM.icmpv6_code, Fid.Icmpv6Code], [OXM.ipv6_nd_target, Fid.Ipv6NdTarget], [OXM.ipv6_nd_sll, Fid.Ipv6NdSll],
  [OXM.ipv6_nd_tll, Fid.Ipv6NdTll], [OXM.mpls_label, Fid.MplsLabel], [OXM.mpls_tc, Fid.MplsTc], [OXM.mpls_bos, Fid.MplsBos],
  [OXM.tunnel_id, Fid.TunnelId], [OXM.ipv6_exthdr, Fid.Ipv6Exthdr],
];
for (const [oxm, fid] of FID_CHECK) if (oxm !== fid) throw new Error(`of-ops: Fid ${fid} does not match OXM id ${oxm}`);

/** Fields a set-field action may write (the others are refused with OFPBAC_BAD_SET_TYPE). */
export const SETTABLE_FIELDS: ReadonlySet<number> = new Set([
  Fid.Metadata, Fid.EthDst, Fid.EthSrc, Fid.VlanVid, Fid.VlanPcp, Fid.IpDscp, Fid.IpEcn, Fid.Ipv4Src, Fid.Ipv4Dst,
  Fid.TcpSrc, Fid.TcpDst, Fid.UdpSrc, Fid.UdpDst, Fid.SctpSrc, Fid.SctpDst, Fid.Icmpv4Type, Fid.Icmpv4Code, Fid.ArpOp,
  Fid.ArpSpa, Fid.ArpTpa, Fid.ArpSha, Fid.ArpTha, Fid.Ipv6Src, Fid.Ipv6Dst, Fid.Ipv6Flabel, Fid.Icmpv6Type,
  Fid.Icmpv6Code, Fid.Ipv6NdTarget, Fid.Ipv6NdSll, Fid.Ipv6NdTll, Fid.MplsLabel, Fid.MplsTc, Fid.TunnelId,
]);

/** Action-set slots in execution order (OpenFlow 1.3 section 5.10). */
export const enum SetSlot {
  CopyTtlIn = 0,
  PopVlan = 1,
  PopMpls = 2,
  PushMpls = 3,
  PushVlan = 4,
  CopyTtlOut = 5,
  DecMplsTtl = 6,
  DecNwTtl = 7,
  SetMplsTtl = 8,
  SetNwTtl = 9,
  /** FieldBase + fid: one slot per set-field field. */
  FieldBase = 10,
  Queue = 50,
  Group = 51,
  Output = 52,
  COUNT = 53,
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

/** Splits a 64-bit cookie into two int32 words (hi, lo). */
export function cookieWords(c: bigint): [number, number] {
  return [Number((c >> 32n) & 0xffffffffn) | 0, Number(c & 0xffffffffn) | 0];
}

export function cookieFromWords(hi: number, lo: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** The four value words of a set-field (see the module comment). */
export function fieldWords(x: Oxm): [number, number, number, number] {
  const v = x.value;
  if (typeof v === 'bigint') {
    if (x.field === 'metadata' || x.field === 'tunnel_id') return [Number(v >> 32n) | 0, Number(v & 0xffffffffn) | 0, 0, 0];
    return [Number((v >> 96n) & 0xffffffffn) | 0, Number((v >> 64n) & 0xffffffffn) | 0, Number((v >> 32n) & 0xffffffffn) | 0, Number(v & 0xffffffffn) | 0];
  }
  switch (x.field) {
    case 'eth_dst': case 'eth_src': case 'arp_sha': case 'arp_tha': case 'ipv6_nd_sll': case 'ipv6_nd_tll':
      return [Math.floor(v / 0x100000000) | 0, v % 0x100000000 | 0, 0, 0];
    default:
      return [v | 0, 0, 0, 0];
  }
}

/** Where an action goes in the action set. */
export function setSlotOf(a: Action): number {
  switch (a.type) {
    case 'copy_ttl_in': return SetSlot.CopyTtlIn;
    case 'pop_vlan': return SetSlot.PopVlan;
    case 'pop_mpls': return SetSlot.PopMpls;
    case 'push_mpls': return SetSlot.PushMpls;
    case 'push_vlan': return SetSlot.PushVlan;
    case 'copy_ttl_out': return SetSlot.CopyTtlOut;
    case 'dec_mpls_ttl': return SetSlot.DecMplsTtl;
    case 'dec_nw_ttl': return SetSlot.DecNwTtl;
    case 'set_mpls_ttl': return SetSlot.SetMplsTtl;
    case 'set_nw_ttl': return SetSlot.SetNwTtl;
    case 'set_field': return SetSlot.FieldBase + OXM[a.field.field];
    case 'set_queue': return SetSlot.Queue;
    case 'group': return SetSlot.Group;
    case 'output': return SetSlot.Output;
    default: return -1; // unsupported kinds never get past validation
  }
}

/** What an action list is compiled for: it decides how output:CONTROLLER is labelled. */
export interface CompileContext {
  /** Slot of an existing group (validation guarantees it exists). */
  groupSlot(groupId: number): number;
  /** Slot of an existing meter. */
  meterSlot(meterId: number): number;
}

/** How packet-ins from output:CONTROLLER ops are labelled. */
export interface ControllerLabel {
  reason: number;
  /** -1: the table last looked up when the op runs. */
  tableId: number;
  cookie: bigint;
}

/** Group buckets, the action set and packet-outs: reason ACTION, cookie -1 (spec 7.4.1), current table. */
export const LABEL_NO_FLOW: ControllerLabel = { reason: OFPR.ACTION, tableId: -1, cookie: 0xffffffffffffffffn };

/** Appends the ops of one action. */
export function compileAction(a: Action, w: OpWriter, ctx: CompileContext, label: ControllerLabel): void {
  switch (a.type) {
    case 'output':
      switch (a.port) {
        case OFPP.IN_PORT: w.push(Op.InPort); break;
        case OFPP.ALL: w.push(Op.All); break;
        case OFPP.FLOOD: w.push(Op.Flood); break;
        case OFPP.NORMAL: w.push(Op.Normal); break;
        case OFPP.LOCAL: w.push(Op.Local); break;
        case OFPP.TABLE: w.push(Op.Table); break;
        case OFPP.CONTROLLER: {
          const [hi, lo] = cookieWords(label.cookie);
          w.push(Op.Controller, a.maxLen, label.reason, label.tableId, hi, lo);
          break;
        }
        default: w.push(Op.Output, a.port, a.maxLen);
      }
      break;
    case 'group': w.push(Op.Group, ctx.groupSlot(a.groupId)); break;
    case 'set_field': w.push(Op.SetField, OXM[a.field.field], ...fieldWords(a.field)); break;
    case 'push_vlan': w.push(Op.PushVlan, a.ethertype); break;
    case 'pop_vlan': w.push(Op.PopVlan); break;
    case 'push_mpls': w.push(Op.PushMpls, a.ethertype); break;
    case 'pop_mpls': w.push(Op.PopMpls, a.ethertype); break;
    case 'set_nw_ttl': w.push(Op.SetNwTtl, a.nwTtl); break;
    case 'dec_nw_ttl': w.push(Op.DecNwTtl); break;
    case 'set_mpls_ttl': w.push(Op.SetMplsTtl, a.mplsTtl); break;
    case 'dec_mpls_ttl': w.push(Op.DecMplsTtl); break;
    case 'copy_ttl_out': w.push(Op.CopyTtlOut); break;
    case 'copy_ttl_in': w.push(Op.CopyTtlIn); break;
    case 'set_queue': w.push(Op.SetQueue, a.queueId); break;
    default: break; // push_pbb, pop_pbb, experimenter: refused by validation
  }
}

/** An action list as one op stream (group buckets, packet-out). */
export function compileActions(actions: readonly Action[], ctx: CompileContext, label: ControllerLabel = LABEL_NO_FLOW): Int32Array {
  const w = new OpWriter();
  for (const a of actions) compileAction(a, w, ctx, label);
  return w.finish();
}

/** True for ops that change frame bytes or key fields (a later table needs the key patched). */
export function opEdits(op: number): boolean {
  switch (op) {
    case Op.SetField: case Op.PushVlan: case Op.PopVlan: case Op.PushMpls: case Op.PopMpls: case Op.SetNwTtl:
    case Op.DecNwTtl: case Op.SetMplsTtl: case Op.DecMplsTtl: case Op.CopyTtlOut: case Op.CopyTtlIn:
      return true;
    default:
      return false;
  }
}

let nextFragmentId = 1;

/** A flow entry's instructions, compiled (the entry's `program`; rebuilt when its instructions change). */
export class EntryProgram {
  /** Unique over the process: names the entry's instructions in path keys. */
  readonly id = nextFragmentId++;
  constructor(
    readonly tableId: number,
    /** The flow entry's counters ([packets, bytes, lastHitMs]). */
    readonly counters: Float64Array,
    /** Apply-actions ops in [0, applyEnd); then one op per written action. */
    readonly code: Int32Array,
    readonly applyEnd: number,
    /** Per written action: its action-set slot and op offset in `code`. */
    readonly writeSlots: Int32Array,
    readonly writePcs: Int32Array,
    readonly clearActions: boolean,
    readonly meterSlot: number,
    /** -1: no goto-table (the action set runs after this entry). */
    readonly gotoTable: number,
    readonly writesMetadata: boolean,
    readonly metaHi: number,
    readonly metaLo: number,
    readonly metaMaskHi: number,
    readonly metaMaskLo: number,
    /** Some apply-actions op edits the frame. */
    readonly applyEdits: boolean,
  ) {}
}

/** The parts of a flow entry compileEntry reads. */
export interface CompilableEntry {
  readonly tableId: number;
  readonly cookie: bigint;
  readonly counters: Float64Array;
  readonly instructions: readonly Instruction[];
  readonly isTableMiss: boolean;
}

/** Compiles a validated flow entry. Instructions run in the spec's order whatever their order in the list. */
export function compileEntry(e: CompilableEntry, ctx: CompileContext): EntryProgram {
  const w = new OpWriter();
  const reason = e.isTableMiss ? OFPR.NO_MATCH : OFPR.ACTION;
  const applyLabel: ControllerLabel = { reason, tableId: e.tableId, cookie: e.cookie };
  const writeLabel: ControllerLabel = { reason, tableId: -1, cookie: 0xffffffffffffffffn };
  let meterSlot = -1, gotoTable = -1, clear = false, writesMetadata = false;
  let metaHi = 0, metaLo = 0, maskHi = 0, maskLo = 0;
  for (const i of e.instructions) if (i.type === 'apply_actions') for (const a of i.actions) compileAction(a, w, ctx, applyLabel);
  const applyEnd = w.n;
  const slots: number[] = [];
  const pcs: number[] = [];
  for (const i of e.instructions) {
    switch (i.type) {
      case 'write_actions':
        for (const a of i.actions) {
          const slot = setSlotOf(a);
          if (slot < 0) continue;
          pcs.push(w.n);
          compileAction(a, w, ctx, writeLabel);
          slots.push(slot);
        }
        break;
      case 'clear_actions': clear = true; break;
      case 'meter': meterSlot = ctx.meterSlot(i.meterId); break;
      case 'goto_table': gotoTable = i.tableId; break;
      case 'write_metadata':
        writesMetadata = true;
        [metaHi, metaLo] = cookieWords(i.metadata);
        [maskHi, maskLo] = cookieWords(i.metadataMask);
        break;
      default: break;
    }
  }
  const code = w.finish();
  let edits = false;
  for (let pc = 0; pc < applyEnd; pc += OP_LEN[code[pc]]) if (opEdits(code[pc])) edits = true;
  return new EntryProgram(
    e.tableId, e.counters, code, applyEnd, Int32Array.from(slots), Int32Array.from(pcs), clear, meterSlot, gotoTable,
    writesMetadata, metaHi, metaLo, maskHi, maskLo, edits,
  );
}
