/*
 * OFPT_MULTIPART_REQUEST / OFPT_MULTIPART_REPLY (A.3.5): the 16-byte
 * multipart header (type, flags) and a body of the family that type names.
 * The body families live in mp-*.ts; this module registers them by OFPMP_*
 * type, refusing duplicates at load.
 *
 * Errors: OFPBRC_BAD_LEN (message shorter than 16), OFPBRC_BAD_MULTIPART (a
 * type OF 1.3 does not define), then the body's own errors.
 *
 * Invariants
 * - `flags` is OFPMPF_REQ_MORE / OFPMPF_REPLY_MORE; splitting a long reply
 *   into several messages (each <= 65535 bytes) is the sender's job.
 */

import { u16, w16, w32 } from '../../bytes.js';
import { MULTIPART } from '../consts.js';
import { DecodeError, expectMinLen } from '../../decode-error.js';
import { OFPBRC, OFPET, OFPT } from '../enums.js';
import { headerXid, writeHeader } from '../../header.js';
import type { MessageCodec } from '../message-codec.js';
import type { MpBodyCodec } from './mp-body.js';
import { type AggregateStatsReply, type AggregateStatsRequest, type FlowStatsReply, type FlowStatsRequest, aggregateBody, flowBody } from './mp-flow.js';
import {
  type GroupDescReply, type GroupDescRequest, type GroupFeaturesReply, type GroupFeaturesRequest, type GroupStatsReply,
  type GroupStatsRequest, groupBody, groupDescBody, groupFeaturesBody,
} from './mp-group.js';
import {
  type MeterConfigReply, type MeterConfigRequest, type MeterFeaturesReply, type MeterFeaturesRequest, type MeterStatsReply,
  type MeterStatsRequest, meterBody, meterConfigBody, meterFeaturesBody,
} from './mp-meter.js';
import {
  type DescReply, type DescRequest, type ExperimenterMultipart, type PortDescReply, type PortDescRequest, type PortStatsReply,
  type PortStatsRequest, type QueueStatsReply, type QueueStatsRequest, type TableStatsReply, type TableStatsRequest, descBody,
  experimenterBody, portDescBody, portStatsBody, queueBody, tableBody,
} from './mp-stats.js';
import { type TableFeaturesReply, type TableFeaturesRequest, tableFeaturesBody } from './mp-table-features.js';

export type MultipartRequestBody =
  | DescRequest | FlowStatsRequest | AggregateStatsRequest | TableStatsRequest | PortStatsRequest | QueueStatsRequest
  | GroupStatsRequest | GroupDescRequest | GroupFeaturesRequest | MeterStatsRequest | MeterConfigRequest
  | MeterFeaturesRequest | TableFeaturesRequest | PortDescRequest | ExperimenterMultipart;

export type MultipartReplyBody =
  | DescReply | FlowStatsReply | AggregateStatsReply | TableStatsReply | PortStatsReply | QueueStatsReply | GroupStatsReply
  | GroupDescReply | GroupFeaturesReply | MeterStatsReply | MeterConfigReply | MeterFeaturesReply | TableFeaturesReply
  | PortDescReply | ExperimenterMultipart;

export type MultipartType = MultipartRequestBody['type'];

export interface MultipartRequest {
  type: 'multipart_request';
  xid: number;
  /** OFPMPF_REQ_MORE */
  flags: number;
  body: MultipartRequestBody;
}

export interface MultipartReply {
  type: 'multipart_reply';
  xid: number;
  /** OFPMPF_REPLY_MORE */
  flags: number;
  body: MultipartReplyBody;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyBody = MpBodyCodec<any, any>;
const byType = new Map<number, AnyBody>();
const byName = new Map<string, AnyBody>();

/** Registers a body family; a second family for the same type or name is a programming error. */
export function registerMultipartBody(c: AnyBody): void {
  const name = c.name as string;
  if (byType.has(c.mpType) || byName.has(name)) throw new Error(`openflow/multipart: body ${name} (${c.mpType}) registered twice`);
  byType.set(c.mpType, c);
  byName.set(name, c);
}

for (const c of [
  descBody, flowBody, aggregateBody, tableBody, portStatsBody, queueBody, groupBody, groupDescBody, groupFeaturesBody,
  meterBody, meterConfigBody, meterFeaturesBody, tableFeaturesBody, portDescBody, experimenterBody,
]) {
  registerMultipartBody(c as AnyBody);
}

function bodyCodec(name: string): AnyBody {
  const c = byName.get(name);
  if (!c) throw new TypeError(`openflow/multipart: unknown multipart type ${name}`);
  return c;
}

function writeMultipartHeader(b: Buffer, off: number, wireType: number, len: number, xid: number, mpType: number, flags: number): number {
  writeHeader(b, off, wireType, len, xid);
  w16(b, off + MULTIPART.type, mpType);
  w16(b, off + MULTIPART.flags, flags);
  w32(b, off + MULTIPART.pad, 0);
  return off + MULTIPART.SIZE;
}

function decodeHead(b: Buffer, off: number, len: number, what: string): AnyBody | DecodeError {
  const short = expectMinLen(off, len, MULTIPART.SIZE, what);
  if (short) return short;
  const mpType = u16(b, off + MULTIPART.type);
  const c = byType.get(mpType);
  if (!c) return new DecodeError(OFPET.BAD_REQUEST, OFPBRC.BAD_MULTIPART, off + MULTIPART.type, `unknown multipart type ${mpType}`);
  return c;
}

export const multipartRequestCodec: MessageCodec<MultipartRequest> = {
  name: 'multipart_request',
  wireType: OFPT.MULTIPART_REQUEST,
  size: (m) => MULTIPART.SIZE + bodyCodec(m.body.type).requestSize(m.body),
  encode: (m, b, off) => {
    const c = bodyCodec(m.body.type);
    const len = MULTIPART.SIZE + c.requestSize(m.body);
    c.encodeRequest(m.body, b, writeMultipartHeader(b, off, OFPT.MULTIPART_REQUEST, len, m.xid, c.mpType, m.flags));
    return off + len;
  },
  decode: (b, off, len) => {
    const c = decodeHead(b, off, len, 'multipart_request');
    if (c instanceof DecodeError) return c;
    const body = c.decodeRequest(b, off + MULTIPART.SIZE, off + len) as MultipartRequestBody | DecodeError;
    if (body instanceof DecodeError) return body;
    return { type: 'multipart_request', xid: headerXid(b, off), flags: u16(b, off + MULTIPART.flags), body };
  },
};

export const multipartReplyCodec: MessageCodec<MultipartReply> = {
  name: 'multipart_reply',
  wireType: OFPT.MULTIPART_REPLY,
  size: (m) => MULTIPART.SIZE + bodyCodec(m.body.type).replySize(m.body),
  encode: (m, b, off) => {
    const c = bodyCodec(m.body.type);
    const len = MULTIPART.SIZE + c.replySize(m.body);
    c.encodeReply(m.body, b, writeMultipartHeader(b, off, OFPT.MULTIPART_REPLY, len, m.xid, c.mpType, m.flags));
    return off + len;
  },
  decode: (b, off, len) => {
    const c = decodeHead(b, off, len, 'multipart_reply');
    if (c instanceof DecodeError) return c;
    const body = c.decodeReply(b, off + MULTIPART.SIZE, off + len) as MultipartReplyBody | DecodeError;
    if (body instanceof DecodeError) return body;
    return { type: 'multipart_reply', xid: headerXid(b, off), flags: u16(b, off + MULTIPART.flags), body };
  },
};
