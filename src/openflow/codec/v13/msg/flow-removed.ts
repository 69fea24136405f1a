/*
 * OFPT_FLOW_REMOVED (A.4.2): sent when a flow with SEND_FLOW_REM expires or
 * is deleted, with its final counters and match.
 */

import { u16, u32, u64, w16, w32, w64 } from '../../bytes.js';
import { FLOW_REMOVED, MATCH } from '../consts.js';
import { DecodeError, badLen, expectMinLen } from '../../decode-error.js';
import { OFPT } from '../enums.js';
import { headerXid, writeHeader } from '../../header.js';
import type { MessageCodec } from '../message-codec.js';
import { type Match, decodeMatch, encodeMatch, matchSize, matchWireSize } from '../oxm.js';

export interface FlowRemoved {
  type: 'flow_removed';
  xid: number;
  cookie: bigint;
  priority: number;
  /** OFPRR_* */
  reason: number;
  tableId: number;
  durationSec: number;
  durationNsec: number;
  idleTimeout: number;
  hardTimeout: number;
  packetCount: bigint;
  byteCount: bigint;
  match: Match;
}

export function sizeFlowRemoved(m: FlowRemoved): number {
  return FLOW_REMOVED.SIZE + matchSize(m.match);
}

export function encodeFlowRemoved(m: FlowRemoved, b: Buffer, off: number): number {
  const len = sizeFlowRemoved(m);
  writeHeader(b, off, OFPT.FLOW_REMOVED, len, m.xid);
  w64(b, off + FLOW_REMOVED.cookie, m.cookie);
  w16(b, off + FLOW_REMOVED.priority, m.priority);
  b[off + FLOW_REMOVED.reason] = m.reason;
  b[off + FLOW_REMOVED.tableId] = m.tableId;
  w32(b, off + FLOW_REMOVED.durationSec, m.durationSec);
  w32(b, off + FLOW_REMOVED.durationNsec, m.durationNsec);
  w16(b, off + FLOW_REMOVED.idleTimeout, m.idleTimeout);
  w16(b, off + FLOW_REMOVED.hardTimeout, m.hardTimeout);
  w64(b, off + FLOW_REMOVED.packetCount, m.packetCount);
  w64(b, off + FLOW_REMOVED.byteCount, m.byteCount);
  encodeMatch(m.match, b, off + FLOW_REMOVED.SIZE);
  return off + len;
}

export function decodeFlowRemoved(b: Buffer, off: number, len: number): FlowRemoved | DecodeError {
  const short = expectMinLen(off, len, FLOW_REMOVED.SIZE + MATCH.SIZE, 'flow_removed');
  if (short) return short;
  const mo = off + FLOW_REMOVED.SIZE;
  const match = decodeMatch(b, mo, off + len);
  if (match instanceof DecodeError) return match;
  if (mo + matchWireSize(b, mo) !== off + len) return badLen(off + 2, 'flow_removed has bytes after its match');
  return {
    type: 'flow_removed',
    xid: headerXid(b, off),
    cookie: u64(b, off + FLOW_REMOVED.cookie),
    priority: u16(b, off + FLOW_REMOVED.priority),
    reason: b[off + FLOW_REMOVED.reason],
    tableId: b[off + FLOW_REMOVED.tableId],
    durationSec: u32(b, off + FLOW_REMOVED.durationSec),
    durationNsec: u32(b, off + FLOW_REMOVED.durationNsec),
    idleTimeout: u16(b, off + FLOW_REMOVED.idleTimeout),
    hardTimeout: u16(b, off + FLOW_REMOVED.hardTimeout),
    packetCount: u64(b, off + FLOW_REMOVED.packetCount),
    byteCount: u64(b, off + FLOW_REMOVED.byteCount),
    match,
  };
}

export const flowRemovedCodec: MessageCodec<FlowRemoved> = {
  name: 'flow_removed',
  wireType: OFPT.FLOW_REMOVED,
  size: sizeFlowRemoved,
  encode: encodeFlowRemoved,
  decode: decodeFlowRemoved,
};
