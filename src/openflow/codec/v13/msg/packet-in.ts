/*
 * OFPT_PACKET_IN (A.4.1): a frame sent to the controller, with the match
 * fields the pipeline knew (at least in_port) and 2 pad bytes before the
 * frame so its IP header lands 32-bit aligned.
 *
 * Hot-ish path: encodePacketIn writes straight into a caller buffer; it
 * allocates nothing beyond what the match list already is.
 */

import { u16, u32, u64, w16, w32, w64 } from '../../bytes.js';
import { MATCH, PACKET_IN, PACKET_IN_PAD } from '../consts.js';
import { DecodeError, badLen, expectMinLen } from '../../decode-error.js';
import { OFPT } from '../enums.js';
import { headerXid, writeHeader } from '../../header.js';
import type { MessageCodec } from '../message-codec.js';
import { type Match, decodeMatch, encodeMatch, matchSize, matchWireSize } from '../oxm.js';

export interface PacketIn {
  type: 'packet_in';
  xid: number;
  /** OFP_NO_BUFFER: this switch never buffers. */
  bufferId: number;
  /** Length of the frame as received (data may be truncated to max_len). */
  totalLen: number;
  /** OFPR_* */
  reason: number;
  tableId: number;
  cookie: bigint;
  match: Match;
  data: Uint8Array;
}

export function sizePacketIn(m: PacketIn): number {
  return PACKET_IN.SIZE + matchSize(m.match) + PACKET_IN_PAD + m.data.length;
}

export function encodePacketIn(m: PacketIn, b: Buffer, off: number): number {
  const len = sizePacketIn(m);
  writeHeader(b, off, OFPT.PACKET_IN, len, m.xid);
  w32(b, off + PACKET_IN.bufferId, m.bufferId);
  w16(b, off + PACKET_IN.totalLen, m.totalLen);
  b[off + PACKET_IN.reason] = m.reason;
  b[off + PACKET_IN.tableId] = m.tableId;
  w64(b, off + PACKET_IN.cookie, m.cookie);
  const o = encodeMatch(m.match, b, off + PACKET_IN.SIZE);
  b[o] = 0;
  b[o + 1] = 0;
  b.set(m.data, o + PACKET_IN_PAD);
  return off + len;
}

export function decodePacketIn(b: Buffer, off: number, len: number): PacketIn | DecodeError {
  const short = expectMinLen(off, len, PACKET_IN.SIZE + MATCH.SIZE + PACKET_IN_PAD, 'packet_in');
  if (short) return short;
  const end = off + len;
  const mo = off + PACKET_IN.SIZE;
  const match = decodeMatch(b, mo, end);
  if (match instanceof DecodeError) return match;
  const data = mo + matchWireSize(b, mo) + PACKET_IN_PAD;
  if (data > end) return badLen(off + 2, 'packet_in has no room for its pad after the match');
  return {
    type: 'packet_in',
    xid: headerXid(b, off),
    bufferId: u32(b, off + PACKET_IN.bufferId),
    totalLen: u16(b, off + PACKET_IN.totalLen),
    reason: b[off + PACKET_IN.reason],
    tableId: b[off + PACKET_IN.tableId],
    cookie: u64(b, off + PACKET_IN.cookie),
    match,
    data: b.subarray(data, end),
  };
}

export const packetInCodec: MessageCodec<PacketIn> = {
  name: 'packet_in',
  wireType: OFPT.PACKET_IN,
  size: sizePacketIn,
  encode: encodePacketIn,
  decode: decodePacketIn,
};
