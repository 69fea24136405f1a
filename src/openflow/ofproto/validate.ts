/*
 * What the switch accepts in flow-mods, group buckets and packet-outs,
 * beyond what the codec checks: the OpenFlow errors for instructions and
 * actions this switch cannot honour (spec 6.4, 7.5.4).
 *
 *   validateInstructions(list, match, ctx)  OFPET_BAD_INSTRUCTION / BAD_ACTION /
 *                                           METER_MOD_FAILED
 *   validateActions(list, where, ctx, m)    OFPET_BAD_ACTION
 *
 * Rules
 * - Instructions: each kind at most once (OFPBIC_UNSUP_INST otherwise),
 *   experimenter ones refused (OFPBIC_BAD_EXPERIMENTER), a meter must exist
 *   (OFPMMFC_UNKNOWN_METER). goto-table targets are the tables' check.
 * - output: a port of this switch (OFPBAC_BAD_OUT_PORT for 0, OFPP_ANY, a
 *   number no port has, or OFPP_TABLE outside packet-out); IN_PORT, NORMAL,
 *   FLOOD, ALL, CONTROLLER, LOCAL are fine.
 * - group: must exist (OFPBAC_BAD_OUT_GROUP). set_queue: any queue (recorded
 *   only). push_vlan 0x8100/0x88a8, push_mpls 0x8847/0x8848 and push_pbb
 *   0x88e7, else OFPBAC_BAD_ARGUMENT. Experimenter actions:
 *   OFPBAC_BAD_EXPERIMENTER. After pop_pbb the eth_type is unknown (a
 *   set-field with an eth_type prerequisite is then inconsistent).
 * - set_field: writable fields only (OFPBAC_BAD_SET_TYPE), value within the
 *   field (OFPBAC_BAD_SET_ARGUMENT), and, in a flow entry, prerequisites the
 *   match (followed through the pushes and pops before it) establishes:
 *   OFPBAC_MATCH_INCONSISTENT otherwise, as Open vSwitch answers.
 *
 * Slow path; no state.
 */

import type { Action } from '../codec/v13/actions.js';
import { OFPBAC, OFPBIC, OFPET, OFPMMFC, OFPP } from '../codec/v13/enums.js';
import type { Instruction } from '../codec/v13/instructions.js';
import { OXM, OXM_FIELDS, type Oxm } from '../codec/v13/oxm.js';
import { Fid, SETTABLE_FIELDS } from '../../flow/fields.js';
import type { OfError } from './switch-api.js';

export interface ValidateContext {
  portExists(port: number): boolean;
  groupExists(group: number): boolean;
  meterExists(meter: number): boolean;
}

export type ActionsWhere = 'flow' | 'group' | 'packet_out';

function actionErr(code: number, reason: string): OfError {
  return { type: OFPET.BAD_ACTION, code, reason };
}

/** What the packet is known to be at a point of an action list (from the match, then pushes and pops). */
interface Known {
  ethType: number;
  ipProto: number;
  icmpType: number;
}

function knownFromMatch(match: readonly Oxm[]): Known {
  const k: Known = { ethType: -1, ipProto: -1, icmpType: -1 };
  for (const x of match) {
    if (x.field === 'eth_type') k.ethType = x.value;
    else if (x.field === 'ip_proto') k.ipProto = x.value;
    else if (x.field === 'icmpv6_type') k.icmpType = x.value;
  }
  return k;
}

const MPLS = 0x8847, MPLS_MC = 0x8848, PBB = 0x88e7;

/**
 * Does `k` establish the prerequisites of set-field `field`? Those of its row
 * in src/flow/fields.ts that `k` follows (eth_type, ip_proto, icmpv6_type).
 */
function prereqsMet(field: Oxm['field'], k: Known): boolean {
  for (const p of OXM_FIELDS[OXM[field]].prereq) {
    const v = p.field === Fid.EthType ? k.ethType : p.field === Fid.IpProto ? k.ipProto : p.field === Fid.Icmpv6Type ? k.icmpType : null;
    if (v !== null && !p.values.includes(v)) return false;
  }
  return true;
}

/** The actions that change eth_type, in action-set order (spec 5.10). */
const ETH_TYPE_TAG_ORDER: readonly Action['type'][] = ['pop_mpls', 'pop_pbb', 'push_mpls', 'push_pbb'];

function fits(v: number | bigint, bits: number): boolean {
  return typeof v === 'bigint' ? v >= 0n && v < 1n << BigInt(bits) : Number.isInteger(v) && v >= 0 && v < 2 ** bits;
}

/**
 * Checks an action list. `known` (flows only) follows the packet through the
 * list for set-field prerequisites; it is updated in place.
 */
function checkActions(list: readonly Action[], where: ActionsWhere, ctx: ValidateContext, known: Known | null): OfError | null {
  for (const a of list) {
    switch (a.type) {
      case 'output': {
        const p = a.port;
        if (p === OFPP.TABLE) {
          if (where !== 'packet_out') return actionErr(OFPBAC.BAD_OUT_PORT, 'output:TABLE is only valid in a packet-out');
          break;
        }
        if (p === OFPP.IN_PORT || p === OFPP.NORMAL || p === OFPP.FLOOD || p === OFPP.ALL || p === OFPP.CONTROLLER || p === OFPP.LOCAL) break;
        if (p === 0 || p > OFPP.MAX || !ctx.portExists(p)) return actionErr(OFPBAC.BAD_OUT_PORT, `no port ${p >>> 0}`);
        break;
      }
      case 'group':
        if (!ctx.groupExists(a.groupId)) return actionErr(OFPBAC.BAD_OUT_GROUP, `no group ${a.groupId}`);
        break;
      case 'push_vlan':
        if (a.ethertype !== 0x8100 && a.ethertype !== 0x88a8) return actionErr(OFPBAC.BAD_ARGUMENT, `push_vlan ethertype 0x${a.ethertype.toString(16)}`);
        break;
      case 'push_mpls':
        if (a.ethertype !== MPLS && a.ethertype !== MPLS_MC) return actionErr(OFPBAC.BAD_ARGUMENT, `push_mpls ethertype 0x${a.ethertype.toString(16)}`);
        if (known) {
          known.ethType = a.ethertype;
          known.ipProto = -1;
        }
        break;
      case 'pop_mpls':
        if (known) {
          known.ethType = a.ethertype;
          known.ipProto = -1;
        }
        break;
      case 'set_field': {
        const x = a.field;
        const id = OXM[x.field];
        if (id === undefined || !SETTABLE_FIELDS.has(id)) return actionErr(OFPBAC.BAD_SET_TYPE, `set_field ${String(x.field)} is not writable`);
        if (x.mask !== undefined) return actionErr(OFPBAC.BAD_SET_ARGUMENT, `set_field ${x.field} with a mask`);
        // vlan_vid may carry OFPVID_PRESENT (13 bits); everything else must fit its field.
        if (!fits(x.value, OXM_FIELDS[id].bits)) return actionErr(OFPBAC.BAD_SET_ARGUMENT, `set_field ${x.field} value out of range`);
        if (known && !prereqsMet(x.field, known)) {
          return actionErr(OFPBAC.MATCH_INCONSISTENT, `set_field ${x.field}: the match does not establish its prerequisites`);
        }
        if (known && x.field === 'eth_type') {
          known.ethType = Number(x.value);
          known.ipProto = -1;
        } else if (known && x.field === 'ip_proto') known.ipProto = Number(x.value);
        break;
      }
      case 'push_pbb':
        if (a.ethertype !== PBB) return actionErr(OFPBAC.BAD_ARGUMENT, `push_pbb ethertype 0x${a.ethertype.toString(16)}`);
        if (known) {
          known.ethType = PBB;
          known.ipProto = -1;
        }
        break;
      case 'pop_pbb':
        if (known) {
          known.ethType = -1; // the customer frame's type is in the bytes only
          known.ipProto = -1;
        }
        break;
      case 'experimenter':
        return actionErr(OFPBAC.BAD_EXPERIMENTER, `experimenter action 0x${a.experimenter.toString(16)}`);
      default:
        break; // pop_vlan, TTL actions, set_queue
    }
  }
  return null;
}

/** Checks an action list of a group bucket or a packet-out. */
export function validateActions(list: readonly Action[], where: ActionsWhere, ctx: ValidateContext): OfError | null {
  return checkActions(list, where, ctx, null);
}

/** Checks a flow-mod's instructions against what this switch supports, with its match for set-field prerequisites. */
export function validateInstructions(list: readonly Instruction[], match: readonly Oxm[], ctx: ValidateContext): OfError | null {
  const seen = new Set<string>();
  for (const i of list) {
    if (seen.has(i.type)) return { type: OFPET.BAD_INSTRUCTION, code: OFPBIC.UNSUP_INST, reason: `${i.type} appears twice` };
    seen.add(i.type);
    if (i.type === 'experimenter') {
      return { type: OFPET.BAD_INSTRUCTION, code: OFPBIC.BAD_EXPERIMENTER, reason: `experimenter instruction 0x${i.experimenter.toString(16)}` };
    }
    if (i.type === 'meter' && !ctx.meterExists(i.meterId)) {
      return { type: OFPET.METER_MOD_FAILED, code: OFPMMFC.UNKNOWN_METER, reason: `no meter ${i.meterId}` };
    }
  }
  const known = knownFromMatch(match);
  for (const i of list) {
    if (i.type !== 'apply_actions') continue;
    const bad = checkActions(i.actions, 'flow', ctx, known);
    if (bad) return bad;
  }
  for (const i of list) {
    if (i.type !== 'write_actions') continue;
    // The action set runs pops, then push MPLS, then push PBB, before set-fields, whatever the list order.
    const tags = ETH_TYPE_TAG_ORDER.flatMap((t) => i.actions.filter((a) => a.type === t));
    const rest = i.actions.filter((a) => !ETH_TYPE_TAG_ORDER.includes(a.type));
    const bad = checkActions(tags, 'flow', ctx, known) ?? checkActions(rest, 'flow', ctx, known);
    if (bad) return bad;
  }
  return null;
}
