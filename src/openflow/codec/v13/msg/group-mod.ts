/*
 * OFPT_GROUP_MOD (A.3.4.2) and ofp_bucket, which GROUP_DESC replies reuse.
 *
 * Errors: OFPBRC_BAD_LEN (message shorter than 16), OFPGMFC_BAD_COMMAND,
 * OFPGMFC_BAD_TYPE (group type beyond fast-failover), OFPGMFC_BAD_BUCKET (a
 * bucket whose len is < 16, not a multiple of 8 or past the end), then the
 * bucket's actions (OFPET_BAD_ACTION). Weights, watch ports and chaining are
 * the pipeline's checks.
 */

import { type Action, actionsSize, decodeActions, encodeActions } from '../actions.js';
import { u16, u32, w16, w32 } from '../../bytes.js';
import { BUCKET, GROUP_MOD } from '../consts.js';
import { DecodeError, expectMinLen } from '../../decode-error.js';
import { OFPET, OFPGC, OFPGMFC, OFPGT, OFPT } from '../enums.js';
import { headerXid, writeHeader } from '../../header.js';
import type { MessageCodec } from '../message-codec.js';

export interface Bucket {
  /** Relative weight (select groups), else 0. */
  weight: number;
  /** Port whose liveness gates the bucket (fast-failover), else OFPP_ANY. */
  watchPort: number;
  /** Group whose liveness gates the bucket (fast-failover), else OFPG_ANY. */
  watchGroup: number;
  actions: Action[];
}

export function bucketsSize(list: readonly Bucket[]): number {
  let n = 0;
  for (let i = 0; i < list.length; i++) n += BUCKET.SIZE + actionsSize(list[i].actions);
  return n;
}

export function encodeBuckets(list: readonly Bucket[], b: Buffer, o: number): number {
  for (let i = 0; i < list.length; i++) {
    const k = list[i];
    const end = encodeActions(k.actions, b, o + BUCKET.SIZE);
    w16(b, o + BUCKET.len, end - o);
    w16(b, o + BUCKET.weight, k.weight);
    w32(b, o + BUCKET.watchPort, k.watchPort);
    w32(b, o + BUCKET.watchGroup, k.watchGroup);
    w32(b, o + BUCKET.pad, 0);
    o = end;
  }
  return o;
}

/** Decodes the buckets in [off, end); action data are views into `b`. */
export function decodeBuckets(b: Buffer, off: number, end: number): Bucket[] | DecodeError {
  const out: Bucket[] = [];
  for (let o = off; o < end; ) {
    const len = o + BUCKET.SIZE <= end ? u16(b, o + BUCKET.len) : 0;
    if (len < BUCKET.SIZE || len % 8 !== 0 || o + len > end) {
      return new DecodeError(OFPET.GROUP_MOD_FAILED, OFPGMFC.BAD_BUCKET, o + BUCKET.len, `bucket length ${len}`);
    }
    const actions = decodeActions(b, o + BUCKET.SIZE, o + len);
    if (actions instanceof DecodeError) return actions;
    out.push({
      weight: u16(b, o + BUCKET.weight),
      watchPort: u32(b, o + BUCKET.watchPort),
      watchGroup: u32(b, o + BUCKET.watchGroup),
      actions,
    });
    o += len;
  }
  return out;
}

export interface GroupMod {
  type: 'group_mod';
  xid: number;
  /** OFPGC_* */
  command: number;
  /** OFPGT_* */
  groupType: number;
  groupId: number;
  buckets: Bucket[];
}

export function sizeGroupMod(m: GroupMod): number {
  return GROUP_MOD.SIZE + bucketsSize(m.buckets);
}

export function encodeGroupMod(m: GroupMod, b: Buffer, off: number): number {
  const len = sizeGroupMod(m);
  writeHeader(b, off, OFPT.GROUP_MOD, len, m.xid);
  w16(b, off + GROUP_MOD.command, m.command);
  b[off + GROUP_MOD.type] = m.groupType;
  b[off + GROUP_MOD.pad] = 0;
  w32(b, off + GROUP_MOD.groupId, m.groupId);
  encodeBuckets(m.buckets, b, off + GROUP_MOD.SIZE);
  return off + len;
}

export function decodeGroupMod(b: Buffer, off: number, len: number): GroupMod | DecodeError {
  const short = expectMinLen(off, len, GROUP_MOD.SIZE, 'group_mod');
  if (short) return short;
  const command = u16(b, off + GROUP_MOD.command);
  if (command > OFPGC.DELETE) {
    return new DecodeError(OFPET.GROUP_MOD_FAILED, OFPGMFC.BAD_COMMAND, off + GROUP_MOD.command, `group_mod command ${command}`);
  }
  const groupType = b[off + GROUP_MOD.type];
  if (groupType > OFPGT.FF) {
    return new DecodeError(OFPET.GROUP_MOD_FAILED, OFPGMFC.BAD_TYPE, off + GROUP_MOD.type, `group type ${groupType}`);
  }
  const buckets = decodeBuckets(b, off + GROUP_MOD.SIZE, off + len);
  if (buckets instanceof DecodeError) return buckets;
  return { type: 'group_mod', xid: headerXid(b, off), command, groupType, groupId: u32(b, off + GROUP_MOD.groupId), buckets };
}

export const groupModCodec: MessageCodec<GroupMod> = {
  name: 'group_mod',
  wireType: OFPT.GROUP_MOD,
  size: sizeGroupMod,
  encode: encodeGroupMod,
  decode: decodeGroupMod,
};
