/*
 * OFPT_PACKET_OUT (A.3.7): the controller injects a frame (or a buffered
 * one, by buffer_id) through an action list, as if received on in_port.
 *
 * Invariants
 * - actions_len is computed on encode; on decode it must fit in the message
 *   (OFPBRC_BAD_LEN) and the actions in it must be valid (OFPET_BAD_ACTION).
 * - `data` is everything after the actions (a view into the message).
 */

import { u16, u32, w16, w32 } from '../../bytes.js';
import { type Action, actionsSize, decodeActions, encodeActions } from '../actions.js';
import { PACKET_OUT } from '../consts.js';
import { DecodeError, badLen, expectMinLen } from '../../decode-error.js';
import { OFPT } from '../enums.js';
import { headerXid, writeHeader } from '../../header.js';
import type { MessageCodec } from '../message-codec.js';

export interface PacketOut {
  type: 'packet_out';
  xid: number;
  /** OFP_NO_BUFFER when the frame is in `data`. */
  bufferId: number;
  /** Ingress port for the pipeline (OFPP_CONTROLLER when none). */
  inPort: number;
  actions: Action[];
  data: Uint8Array;
}

export function sizePacketOut(m: PacketOut): number {
  return PACKET_OUT.SIZE + actionsSize(m.actions) + m.data.length;
}

export function encodePacketOut(m: PacketOut, b: Buffer, off: number): number {
  const len = sizePacketOut(m);
  writeHeader(b, off, OFPT.PACKET_OUT, len, m.xid);
  w32(b, off + PACKET_OUT.bufferId, m.bufferId);
  w32(b, off + PACKET_OUT.inPort, m.inPort);
  b.fill(0, off + PACKET_OUT.pad, off + PACKET_OUT.SIZE);
  const o = encodeActions(m.actions, b, off + PACKET_OUT.SIZE);
  w16(b, off + PACKET_OUT.actionsLen, o - off - PACKET_OUT.SIZE);
  b.set(m.data, o);
  return off + len;
}

export function decodePacketOut(b: Buffer, off: number, len: number): PacketOut | DecodeError {
  const short = expectMinLen(off, len, PACKET_OUT.SIZE, 'packet_out');
  if (short) return short;
  const actionsLen = u16(b, off + PACKET_OUT.actionsLen);
  const ao = off + PACKET_OUT.SIZE;
  if (PACKET_OUT.SIZE + actionsLen > len) return badLen(off + PACKET_OUT.actionsLen, `actions_len ${actionsLen} runs past the message`);
  const actions = decodeActions(b, ao, ao + actionsLen);
  if (actions instanceof DecodeError) return actions;
  return {
    type: 'packet_out',
    xid: headerXid(b, off),
    bufferId: u32(b, off + PACKET_OUT.bufferId),
    inPort: u32(b, off + PACKET_OUT.inPort),
    actions,
    data: b.subarray(ao + actionsLen, off + len),
  };
}

export const packetOutCodec: MessageCodec<PacketOut> = {
  name: 'packet_out',
  wireType: OFPT.PACKET_OUT,
  size: sizePacketOut,
  encode: encodePacketOut,
  decode: decodePacketOut,
};
