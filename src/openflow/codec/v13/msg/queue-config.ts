/*
 * OFPT_QUEUE_GET_CONFIG_REQUEST / _REPLY (A.3.6): the queues of a port and
 * their properties (min rate, max rate in 1/10 %, experimenter).
 *
 * Errors: OFPBRC_BAD_LEN for any length that does not add up (message,
 * ofp_packet_queue, property). Unknown property types are kept as
 * { type: 'unknown' } (a controller-side reader should skip them).
 */

import { u16, u32, w16, w32, pad8 } from '../../bytes.js';
import { PACKET_QUEUE, QUEUE_GET_CONFIG_REPLY, QUEUE_GET_CONFIG_REQUEST, QUEUE_PROP_EXPERIMENTER, QUEUE_PROP_HEADER, QUEUE_PROP_RATE } from '../consts.js';
import { DecodeError, badLen, expectLen, expectMinLen } from '../../decode-error.js';
import { OFPQT, OFPT } from '../enums.js';
import { headerXid, writeHeader } from '../../header.js';
import type { MessageCodec } from '../message-codec.js';

export type QueueProp =
  | { type: 'min_rate'; rate: number }
  | { type: 'max_rate'; rate: number }
  | { type: 'experimenter'; experimenter: number; data: Uint8Array }
  | { type: 'unknown'; property: number; data: Uint8Array };

export interface PacketQueue {
  queueId: number;
  port: number;
  properties: QueueProp[];
}

export interface QueueGetConfigRequest {
  type: 'queue_get_config_request';
  xid: number;
  /** A port number or OFPP_ANY. */
  port: number;
}

export interface QueueGetConfigReply {
  type: 'queue_get_config_reply';
  xid: number;
  port: number;
  queues: PacketQueue[];
}

export const queueGetConfigRequestCodec: MessageCodec<QueueGetConfigRequest> = {
  name: 'queue_get_config_request',
  wireType: OFPT.QUEUE_GET_CONFIG_REQUEST,
  size: () => QUEUE_GET_CONFIG_REQUEST.SIZE,
  encode: (m, b, off) => {
    writeHeader(b, off, OFPT.QUEUE_GET_CONFIG_REQUEST, QUEUE_GET_CONFIG_REQUEST.SIZE, m.xid);
    w32(b, off + QUEUE_GET_CONFIG_REQUEST.port, m.port);
    w32(b, off + QUEUE_GET_CONFIG_REQUEST.pad, 0);
    return off + QUEUE_GET_CONFIG_REQUEST.SIZE;
  },
  decode: (b, off, len) =>
    expectLen(off, len, QUEUE_GET_CONFIG_REQUEST.SIZE, 'queue_get_config_request') ?? {
      type: 'queue_get_config_request',
      xid: headerXid(b, off),
      port: u32(b, off + QUEUE_GET_CONFIG_REQUEST.port),
    },
};

function propSize(p: QueueProp): number {
  return p.type === 'min_rate' || p.type === 'max_rate'
    ? QUEUE_PROP_RATE.SIZE
    : p.type === 'experimenter'
      ? pad8(QUEUE_PROP_EXPERIMENTER.SIZE + p.data.length)
      : pad8(QUEUE_PROP_HEADER.SIZE + p.data.length);
}

function queueSize(q: PacketQueue): number {
  let n = PACKET_QUEUE.SIZE;
  for (const p of q.properties) n += propSize(p);
  return n;
}

export function sizeQueueGetConfigReply(m: QueueGetConfigReply): number {
  let n = QUEUE_GET_CONFIG_REPLY.SIZE;
  for (const q of m.queues) n += queueSize(q);
  return n;
}

export function encodeQueueGetConfigReply(m: QueueGetConfigReply, b: Buffer, off: number): number {
  const len = sizeQueueGetConfigReply(m);
  writeHeader(b, off, OFPT.QUEUE_GET_CONFIG_REPLY, len, m.xid);
  w32(b, off + QUEUE_GET_CONFIG_REPLY.port, m.port);
  w32(b, off + QUEUE_GET_CONFIG_REPLY.pad, 0);
  let o = off + QUEUE_GET_CONFIG_REPLY.SIZE;
  for (const q of m.queues) {
    b.fill(0, o, o + PACKET_QUEUE.SIZE);
    w32(b, o + PACKET_QUEUE.queueId, q.queueId);
    w32(b, o + PACKET_QUEUE.port, q.port);
    w16(b, o + PACKET_QUEUE.len, queueSize(q));
    o += PACKET_QUEUE.SIZE;
    for (const p of q.properties) {
      const plen = propSize(p);
      b.fill(0, o, o + plen);
      w16(b, o + QUEUE_PROP_HEADER.len, plen);
      switch (p.type) {
        case 'min_rate': case 'max_rate':
          w16(b, o + QUEUE_PROP_HEADER.property, p.type === 'min_rate' ? OFPQT.MIN_RATE : OFPQT.MAX_RATE);
          w16(b, o + QUEUE_PROP_RATE.rate, p.rate);
          break;
        case 'experimenter':
          w16(b, o + QUEUE_PROP_HEADER.property, OFPQT.EXPERIMENTER);
          w32(b, o + QUEUE_PROP_EXPERIMENTER.experimenter, p.experimenter);
          b.set(p.data, o + QUEUE_PROP_EXPERIMENTER.SIZE);
          break;
        case 'unknown':
          w16(b, o + QUEUE_PROP_HEADER.property, p.property);
          b.set(p.data, o + QUEUE_PROP_HEADER.SIZE);
          break;
      }
      o += plen;
    }
  }
  return off + len;
}

function decodeProps(b: Buffer, off: number, end: number): QueueProp[] | DecodeError {
  const out: QueueProp[] = [];
  for (let o = off; o < end; ) {
    const len = o + QUEUE_PROP_HEADER.SIZE <= end ? u16(b, o + QUEUE_PROP_HEADER.len) : 0;
    if (len < QUEUE_PROP_HEADER.SIZE || len % 8 !== 0 || o + len > end) return badLen(o + QUEUE_PROP_HEADER.len, `queue property length ${len}`);
    const property = u16(b, o + QUEUE_PROP_HEADER.property);
    if (property === OFPQT.MIN_RATE || property === OFPQT.MAX_RATE) {
      if (len !== QUEUE_PROP_RATE.SIZE) return badLen(o + QUEUE_PROP_HEADER.len, `rate property length ${len}`);
      out.push({ type: property === OFPQT.MIN_RATE ? 'min_rate' : 'max_rate', rate: u16(b, o + QUEUE_PROP_RATE.rate) });
    } else if (property === OFPQT.EXPERIMENTER) {
      if (len < QUEUE_PROP_EXPERIMENTER.SIZE) return badLen(o + QUEUE_PROP_HEADER.len, `experimenter property length ${len}`);
      out.push({
        type: 'experimenter',
        experimenter: u32(b, o + QUEUE_PROP_EXPERIMENTER.experimenter),
        data: b.subarray(o + QUEUE_PROP_EXPERIMENTER.SIZE, o + len),
      });
    } else {
      out.push({ type: 'unknown', property, data: b.subarray(o + QUEUE_PROP_HEADER.SIZE, o + len) });
    }
    o += len;
  }
  return out;
}

export function decodeQueueGetConfigReply(b: Buffer, off: number, len: number): QueueGetConfigReply | DecodeError {
  const short = expectMinLen(off, len, QUEUE_GET_CONFIG_REPLY.SIZE, 'queue_get_config_reply');
  if (short) return short;
  const end = off + len;
  const queues: PacketQueue[] = [];
  for (let o = off + QUEUE_GET_CONFIG_REPLY.SIZE; o < end; ) {
    const qlen = o + PACKET_QUEUE.SIZE <= end ? u16(b, o + PACKET_QUEUE.len) : 0;
    if (qlen < PACKET_QUEUE.SIZE || o + qlen > end) return badLen(o + PACKET_QUEUE.len, `packet_queue length ${qlen}`);
    const properties = decodeProps(b, o + PACKET_QUEUE.SIZE, o + qlen);
    if (properties instanceof DecodeError) return properties;
    queues.push({ queueId: u32(b, o + PACKET_QUEUE.queueId), port: u32(b, o + PACKET_QUEUE.port), properties });
    o += qlen;
  }
  return { type: 'queue_get_config_reply', xid: headerXid(b, off), port: u32(b, off + QUEUE_GET_CONFIG_REPLY.port), queues };
}

export const queueGetConfigReplyCodec: MessageCodec<QueueGetConfigReply> = {
  name: 'queue_get_config_reply',
  wireType: OFPT.QUEUE_GET_CONFIG_REPLY,
  size: sizeQueueGetConfigReply,
  encode: encodeQueueGetConfigReply,
  decode: decodeQueueGetConfigReply,
};
