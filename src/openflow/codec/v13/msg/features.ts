/*
 * OFPT_FEATURES_REQUEST / OFPT_FEATURES_REPLY (A.3.1): the handshake that
 * gives the controller the datapath id, buffer and table counts and
 * capabilities. OF 1.3 moved the port list to the PORT_DESC multipart.
 */

import { u32, u64, w32, w64 } from '../../bytes.js';
import { SWITCH_FEATURES } from '../consts.js';
import { DecodeError, expectLen } from '../../decode-error.js';
import { OFPT } from '../enums.js';
import { headerXid, writeHeader } from '../../header.js';
import { type HeaderOnly, type MessageCodec, headerOnlyCodec } from '../message-codec.js';

export type FeaturesRequest = HeaderOnly<'features_request'>;

export interface FeaturesReply {
  type: 'features_reply';
  xid: number;
  datapathId: bigint;
  nBuffers: number;
  nTables: number;
  auxiliaryId: number;
  /** OFPC_* bits. */
  capabilities: number;
  reserved: number;
}

export const featuresRequestCodec = headerOnlyCodec<FeaturesRequest>('features_request', OFPT.FEATURES_REQUEST);

export function encodeFeaturesReply(m: FeaturesReply, b: Buffer, off: number): number {
  writeHeader(b, off, OFPT.FEATURES_REPLY, SWITCH_FEATURES.SIZE, m.xid);
  w64(b, off + SWITCH_FEATURES.datapathId, m.datapathId);
  w32(b, off + SWITCH_FEATURES.nBuffers, m.nBuffers);
  b[off + SWITCH_FEATURES.nTables] = m.nTables;
  b[off + SWITCH_FEATURES.auxiliaryId] = m.auxiliaryId;
  b.fill(0, off + SWITCH_FEATURES.pad, off + SWITCH_FEATURES.capabilities);
  w32(b, off + SWITCH_FEATURES.capabilities, m.capabilities);
  w32(b, off + SWITCH_FEATURES.reserved, m.reserved);
  return off + SWITCH_FEATURES.SIZE;
}

export function decodeFeaturesReply(b: Buffer, off: number, len: number): FeaturesReply | DecodeError {
  return expectLen(off, len, SWITCH_FEATURES.SIZE, 'features_reply') ?? {
    type: 'features_reply',
    xid: headerXid(b, off),
    datapathId: u64(b, off + SWITCH_FEATURES.datapathId),
    nBuffers: u32(b, off + SWITCH_FEATURES.nBuffers),
    nTables: b[off + SWITCH_FEATURES.nTables],
    auxiliaryId: b[off + SWITCH_FEATURES.auxiliaryId],
    capabilities: u32(b, off + SWITCH_FEATURES.capabilities),
    reserved: u32(b, off + SWITCH_FEATURES.reserved),
  };
}

export const featuresReplyCodec: MessageCodec<FeaturesReply> = {
  name: 'features_reply',
  wireType: OFPT.FEATURES_REPLY,
  size: () => SWITCH_FEATURES.SIZE,
  encode: encodeFeaturesReply,
  decode: decodeFeaturesReply,
};
