/*
 * OpenFlow 1.3 actions (A.2.5): every action type, encoded and decoded side
 * by side, as lists (apply/write-actions, buckets, packet-out).
 *
 * Errors (OFPET_BAD_ACTION), checked in this order for each action:
 * - OFPBAC_BAD_LEN: len < 8, not a multiple of 8, past the list end, or not
 *   the fixed size of a known type;
 * - OFPBAC_BAD_TYPE: a type OF 1.3 does not define (an unknown type is an
 *   error answer, never a crash: LINC-Switch issue #231);
 * - set-field: OFPBAC_BAD_SET_TYPE (unknown OXM class/field),
 *   OFPBAC_BAD_SET_LEN (OXM length), OFPBAC_BAD_SET_ARGUMENT (a mask).
 * Experimenter actions decode to { experimenter, data }; whether one is
 * supported (OFPBAC_BAD_EXPERIMENTER) is the pipeline's call.
 *
 * Invariants
 * - Encoders compute `len` and zero every pad byte; a set-field is padded
 *   to 8 after its OXM; experimenter data is padded to 8 with zeros.
 */

import { pad8, u16, u32, u8, w16, w32 } from '../bytes.js';
import {
  ACTION_EXPERIMENTER, ACTION_GROUP, ACTION_HEADER, ACTION_MPLS_TTL, ACTION_NW_TTL, ACTION_OUTPUT, ACTION_POP_MPLS,
  ACTION_PUSH, ACTION_SET_FIELD, ACTION_SET_QUEUE,
} from './consts.js';
import { DecodeError } from '../decode-error.js';
import { OFPAT, OFPBAC, OFPET } from './enums.js';
import { type Oxm, OxmFailure, oxmSize, readOxm, writeOxm } from './oxm.js';

export interface ActionOutput { type: 'output'; port: number; maxLen: number }
export interface ActionCopyTtlOut { type: 'copy_ttl_out' }
export interface ActionCopyTtlIn { type: 'copy_ttl_in' }
export interface ActionSetMplsTtl { type: 'set_mpls_ttl'; mplsTtl: number }
export interface ActionDecMplsTtl { type: 'dec_mpls_ttl' }
export interface ActionPushVlan { type: 'push_vlan'; ethertype: number }
export interface ActionPopVlan { type: 'pop_vlan' }
export interface ActionPushMpls { type: 'push_mpls'; ethertype: number }
export interface ActionPopMpls { type: 'pop_mpls'; ethertype: number }
export interface ActionSetQueue { type: 'set_queue'; queueId: number }
export interface ActionGroup { type: 'group'; groupId: number }
export interface ActionSetNwTtl { type: 'set_nw_ttl'; nwTtl: number }
export interface ActionDecNwTtl { type: 'dec_nw_ttl' }
export interface ActionSetField { type: 'set_field'; field: Oxm }
export interface ActionPushPbb { type: 'push_pbb'; ethertype: number }
export interface ActionPopPbb { type: 'pop_pbb' }
/** `data` is everything after the experimenter id, padding included. */
export interface ActionExperimenter { type: 'experimenter'; experimenter: number; data: Buffer }

export type Action =
  | ActionOutput | ActionCopyTtlOut | ActionCopyTtlIn | ActionSetMplsTtl | ActionDecMplsTtl | ActionPushVlan
  | ActionPopVlan | ActionPushMpls | ActionPopMpls | ActionSetQueue | ActionGroup | ActionSetNwTtl | ActionDecNwTtl
  | ActionSetField | ActionPushPbb | ActionPopPbb | ActionExperimenter;

export type ActionType = Action['type'];

/** Wire type of each action kind. */
export const ACTION_TYPE: Readonly<Record<ActionType, number>> = {
  output: OFPAT.OUTPUT,
  copy_ttl_out: OFPAT.COPY_TTL_OUT,
  copy_ttl_in: OFPAT.COPY_TTL_IN,
  set_mpls_ttl: OFPAT.SET_MPLS_TTL,
  dec_mpls_ttl: OFPAT.DEC_MPLS_TTL,
  push_vlan: OFPAT.PUSH_VLAN,
  pop_vlan: OFPAT.POP_VLAN,
  push_mpls: OFPAT.PUSH_MPLS,
  pop_mpls: OFPAT.POP_MPLS,
  set_queue: OFPAT.SET_QUEUE,
  group: OFPAT.GROUP,
  set_nw_ttl: OFPAT.SET_NW_TTL,
  dec_nw_ttl: OFPAT.DEC_NW_TTL,
  set_field: OFPAT.SET_FIELD,
  push_pbb: OFPAT.PUSH_PBB,
  pop_pbb: OFPAT.POP_PBB,
  experimenter: OFPAT.EXPERIMENTER,
};

function actionError(code: number, offset: number, message: string): DecodeError {
  return new DecodeError(OFPET.BAD_ACTION, code, offset, message);
}

/** Wire size of one action. */
export function actionSize(a: Action): number {
  switch (a.type) {
    case 'output': return ACTION_OUTPUT.SIZE;
    case 'set_field': return pad8(ACTION_SET_FIELD.field + oxmSize(a.field));
    case 'experimenter': return pad8(ACTION_EXPERIMENTER.SIZE + a.data.length);
    default: return ACTION_HEADER.SIZE;
  }
}

/** Wire size of a list of actions. */
export function actionsSize(list: readonly Action[]): number {
  let n = 0;
  for (let i = 0; i < list.length; i++) n += actionSize(list[i]);
  return n;
}

/** Writes one action at `o`; returns the end offset. */
export function encodeAction(a: Action, b: Buffer, o: number): number {
  const len = actionSize(a);
  const wireType = ACTION_TYPE[a.type];
  if (wireType === undefined) throw new TypeError(`openflow/actions: unknown action ${String(a.type)}`);
  b.fill(0, o, o + len);
  w16(b, o + ACTION_HEADER.type, wireType);
  w16(b, o + ACTION_HEADER.len, len);
  switch (a.type) {
    case 'output':
      w32(b, o + ACTION_OUTPUT.port, a.port);
      w16(b, o + ACTION_OUTPUT.maxLen, a.maxLen);
      break;
    case 'set_mpls_ttl': b[o + ACTION_MPLS_TTL.mplsTtl] = a.mplsTtl; break;
    case 'set_nw_ttl': b[o + ACTION_NW_TTL.nwTtl] = a.nwTtl; break;
    case 'push_vlan': case 'push_mpls': case 'push_pbb': w16(b, o + ACTION_PUSH.ethertype, a.ethertype); break;
    case 'pop_mpls': w16(b, o + ACTION_POP_MPLS.ethertype, a.ethertype); break;
    case 'set_queue': w32(b, o + ACTION_SET_QUEUE.queueId, a.queueId); break;
    case 'group': w32(b, o + ACTION_GROUP.groupId, a.groupId); break;
    case 'set_field': writeOxm(a.field, b, o + ACTION_SET_FIELD.field); break;
    case 'experimenter':
      w32(b, o + ACTION_EXPERIMENTER.experimenter, a.experimenter);
      b.set(a.data, o + ACTION_EXPERIMENTER.SIZE);
      break;
    default: break; // header-only actions
  }
  return o + len;
}

/** Writes a list of actions at `o`; returns the end offset. */
export function encodeActions(list: readonly Action[], b: Buffer, o: number): number {
  for (let i = 0; i < list.length; i++) o = encodeAction(list[i], b, o);
  return o;
}

/** Fixed wire length of each non-variable action type, indexed by wire type (0 = unknown or variable). */
const FIXED_LEN = new Uint8Array(28);
FIXED_LEN[OFPAT.OUTPUT] = ACTION_OUTPUT.SIZE;
for (const t of [
  OFPAT.COPY_TTL_OUT, OFPAT.COPY_TTL_IN, OFPAT.SET_MPLS_TTL, OFPAT.DEC_MPLS_TTL, OFPAT.PUSH_VLAN, OFPAT.POP_VLAN,
  OFPAT.PUSH_MPLS, OFPAT.POP_MPLS, OFPAT.SET_QUEUE, OFPAT.GROUP, OFPAT.SET_NW_TTL, OFPAT.DEC_NW_TTL, OFPAT.PUSH_PBB,
  OFPAT.POP_PBB,
]) {
  FIXED_LEN[t] = ACTION_HEADER.SIZE;
}

function decodeSetField(b: Buffer, o: number, len: number): Action | DecodeError {
  const x = readOxm(b, o + ACTION_SET_FIELD.field, o + len);
  if (typeof x !== 'number') {
    if (x.mask !== undefined) return actionError(OFPBAC.BAD_SET_ARGUMENT, o + 4, `set_field ${x.field} carries a mask`);
    // The OXM plus the header, padded to 8, must be the whole action.
    if (pad8(ACTION_SET_FIELD.field + oxmSize(x)) !== len) {
      return actionError(OFPBAC.BAD_SET_LEN, o + ACTION_HEADER.len, `set_field length ${len} does not fit its OXM`);
    }
    return { type: 'set_field', field: x };
  }
  switch (x) {
    case OxmFailure.UnknownField: return actionError(OFPBAC.BAD_SET_TYPE, o + 4, 'set_field of an unknown OXM field');
    case OxmFailure.MaskNotAllowed: return actionError(OFPBAC.BAD_SET_ARGUMENT, o + 4, 'set_field carries a mask');
    default: return actionError(OFPBAC.BAD_SET_LEN, o + 4, 'set_field OXM length is wrong');
  }
}

/** Decodes the action at `o` whose len (already checked: >= 8, multiple of 8, within the list) is `len`. */
function decodeOne(b: Buffer, o: number, type: number, len: number): Action | DecodeError {
  switch (type) {
    case OFPAT.OUTPUT: return { type: 'output', port: u32(b, o + ACTION_OUTPUT.port), maxLen: u16(b, o + ACTION_OUTPUT.maxLen) };
    case OFPAT.COPY_TTL_OUT: return { type: 'copy_ttl_out' };
    case OFPAT.COPY_TTL_IN: return { type: 'copy_ttl_in' };
    case OFPAT.SET_MPLS_TTL: return { type: 'set_mpls_ttl', mplsTtl: u8(b, o + ACTION_MPLS_TTL.mplsTtl) };
    case OFPAT.DEC_MPLS_TTL: return { type: 'dec_mpls_ttl' };
    case OFPAT.PUSH_VLAN: return { type: 'push_vlan', ethertype: u16(b, o + ACTION_PUSH.ethertype) };
    case OFPAT.POP_VLAN: return { type: 'pop_vlan' };
    case OFPAT.PUSH_MPLS: return { type: 'push_mpls', ethertype: u16(b, o + ACTION_PUSH.ethertype) };
    case OFPAT.POP_MPLS: return { type: 'pop_mpls', ethertype: u16(b, o + ACTION_POP_MPLS.ethertype) };
    case OFPAT.SET_QUEUE: return { type: 'set_queue', queueId: u32(b, o + ACTION_SET_QUEUE.queueId) };
    case OFPAT.GROUP: return { type: 'group', groupId: u32(b, o + ACTION_GROUP.groupId) };
    case OFPAT.SET_NW_TTL: return { type: 'set_nw_ttl', nwTtl: u8(b, o + ACTION_NW_TTL.nwTtl) };
    case OFPAT.DEC_NW_TTL: return { type: 'dec_nw_ttl' };
    case OFPAT.SET_FIELD: return decodeSetField(b, o, len);
    case OFPAT.PUSH_PBB: return { type: 'push_pbb', ethertype: u16(b, o + ACTION_PUSH.ethertype) };
    case OFPAT.POP_PBB: return { type: 'pop_pbb' };
    case OFPAT.EXPERIMENTER:
      return {
        type: 'experimenter',
        experimenter: u32(b, o + ACTION_EXPERIMENTER.experimenter),
        data: b.subarray(o + ACTION_EXPERIMENTER.SIZE, o + len),
      };
    default:
      return actionError(OFPBAC.BAD_TYPE, o + ACTION_HEADER.type, `unknown action type ${type}`);
  }
}

/**
 * Decodes the action list in [off, end). `data` fields of experimenter
 * actions are views into `b` (no copy).
 */
export function decodeActions(b: Buffer, off: number, end: number): Action[] | DecodeError {
  const out: Action[] = [];
  for (let o = off; o < end; ) {
    if (o + ACTION_HEADER.SIZE > end) return actionError(OFPBAC.BAD_LEN, o, 'action header truncated');
    const type = u16(b, o + ACTION_HEADER.type);
    const len = u16(b, o + ACTION_HEADER.len);
    if (len < ACTION_HEADER.SIZE || len % 8 !== 0 || o + len > end) {
      return actionError(OFPBAC.BAD_LEN, o + ACTION_HEADER.len, `action type ${type} has bad length ${len}`);
    }
    const fixed = type < FIXED_LEN.length ? FIXED_LEN[type] : 0;
    if (fixed !== 0 && len !== fixed) {
      return actionError(OFPBAC.BAD_LEN, o + ACTION_HEADER.len, `action type ${type} must be ${fixed} bytes, not ${len}`);
    }
    const a = decodeOne(b, o, type, len);
    if (a instanceof DecodeError) return a;
    out.push(a);
    o += len;
  }
  return out;
}
