/*
 * Compilation of OpenFlow actions and instructions into the datapath's op
 * programs (src/datapath/rules/ops.ts), once per flow, group or packet-out
 * change, never per frame.
 *
 * What
 *   compileActions(...)    an action list -> ops (apply-actions, group
 *                          buckets, packet-out)
 *   ruleRefs / actionRefs  the ports, groups and meters they name (the
 *                          datapath's selectors and cascading deletes use them)
 *   puntLenOf(maxLen)      OpenFlow max_len -> punt byte count
 *   compileRule(e, ctx)    a rule's instructions -> RuleProgram: the
 *                          apply-actions ops, one op per written action with
 *                          its action-set slot, meter, clear-actions,
 *                          write-metadata and goto-table
 *
 * Invariants
 * - Compilation never fails: flow-mods, group-mods and packet-outs are
 *   validated first (validate.ts).
 * - A set-field op carries the OXM field id, which is the datapath's field
 *   id (both are the rows of src/flow/fields.ts).
 */

import type { Action } from '../codec/v13/actions.js';
import { OFPCML, OFPP } from '../codec/v13/enums.js';
import type { Instruction } from '../codec/v13/instructions.js';
import { OXM, OXM_FIELDS, type Oxm } from '../codec/v13/oxm.js';
import { Op, OpWriter, RuleProgram, SetSlot } from '../../datapath/rules/ops.js';
import { PUNT_WHOLE_FRAME, PuntReason } from '../../datapath/rules/punt.js';
import type { RuleRefs } from '../../datapath/rules/rule.js';

/** Splits a 64-bit cookie into two int32 words (hi, lo). */
export function cookieWords(c: bigint): [number, number] {
  return [Number((c >> 32n) & 0xffffffffn) | 0, Number(c & 0xffffffffn) | 0];
}

/** The four value words of a set-field, by the field's width (the layout src/flow/fields.ts documents). */
export function fieldWords(x: Oxm): [number, number, number, number] {
  const v = x.value;
  switch (OXM_FIELDS[OXM[x.field]].bytes) {
    case 16: {
      const b = v as bigint;
      const w = (shift: bigint): number => Number((b >> shift) & 0xffffffffn) | 0;
      return [w(96n), w(64n), w(32n), w(0n)];
    }
    case 8: {
      const b = v as bigint;
      return [Number(b >> 32n) | 0, Number(b & 0xffffffffn) | 0, 0, 0];
    }
    case 6: {
      const n = v as number;
      return [Math.floor(n / 0x100000000) | 0, n % 0x100000000 | 0, 0, 0];
    }
    default:
      return [(v as number) | 0, 0, 0, 0];
  }
}

/** Where an action goes in the action set. */
export function setSlotOf(a: Action): number {
  switch (a.type) {
    case 'copy_ttl_in': return SetSlot.CopyTtlIn;
    case 'pop_vlan': return SetSlot.PopVlan;
    case 'pop_mpls': return SetSlot.PopMpls;
    case 'pop_pbb': return SetSlot.PopPbb;
    case 'push_mpls': return SetSlot.PushMpls;
    case 'push_pbb': return SetSlot.PushPbb;
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
export const LABEL_NO_FLOW: ControllerLabel = { reason: PuntReason.Action, tableId: -1, cookie: 0xffffffffffffffffn };

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
          w.push(Op.Controller, puntLenOf(a.maxLen), label.reason, label.tableId, hi, lo);
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
    case 'push_pbb': w.push(Op.PushPbb); break; // ethertype 0x88E7, checked by validation
    case 'pop_pbb': w.push(Op.PopPbb); break;
    default: break; // experimenter: refused by validation
  }
}

/** An action list as one op stream (group buckets, packet-out). */
export function compileActions(actions: readonly Action[], ctx: CompileContext, label: ControllerLabel = LABEL_NO_FLOW): Int32Array {
  const w = new OpWriter();
  for (const a of actions) compileAction(a, w, ctx, label);
  return w.finish();
}

/** What a rule's compilation depends on besides its instructions. */
export interface CompilableRule {
  readonly tableId: number;
  readonly cookie: bigint;
  /** Priority 0 with an empty match: its controller outputs are NoMatch punts. */
  readonly isTableMiss: boolean;
  readonly instructions: readonly Instruction[];
}

/** Compiles a validated rule. Instructions run in the spec's order whatever their order in the list. */
export function compileRule(e: CompilableRule, ctx: CompileContext): RuleProgram {
  const w = new OpWriter();
  const reason = e.isTableMiss ? PuntReason.NoMatch : PuntReason.Action;
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
  return new RuleProgram(
    w.finish(), applyEnd, Int32Array.from(slots), Int32Array.from(pcs), clear, meterSlot, gotoTable,
    writesMetadata, metaHi, metaLo, maskHi, maskLo,
  );
}

/** What an action list refers to: output ports (reserved ones included) and groups. */
export function actionRefs(actions: readonly Action[]): { outPorts: number[]; groups: number[] } {
  const outPorts: number[] = [];
  const groups: number[] = [];
  for (const a of actions) {
    if (a.type === 'output') outPorts.push(a.port);
    else if (a.type === 'group') groups.push(a.groupId);
  }
  return { outPorts, groups };
}

/** What a rule's instructions refer to (apply and write actions, the meter). */
export function ruleRefs(instructions: readonly Instruction[]): RuleRefs {
  const outPorts: number[] = [];
  const groups: number[] = [];
  const meters: number[] = [];
  for (const i of instructions) {
    if (i.type === 'meter') meters.push(i.meterId);
    if (i.type !== 'apply_actions' && i.type !== 'write_actions') continue;
    const r = actionRefs(i.actions);
    outPorts.push(...r.outPorts);
    groups.push(...r.groups);
  }
  return { outPorts, groups, meters };
}

/** An OpenFlow max_len (output:CONTROLLER, miss_send_len) as a punt byte count. */
export function puntLenOf(maxLen: number): number {
  return maxLen > OFPCML.MAX ? PUNT_WHOLE_FRAME : maxLen;
}
