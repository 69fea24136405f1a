/*
 * OFPT_ERROR (A.4.4), including the experimenter form, and errorFor(): the
 * OFPT_ERROR answering a message that failed to decode.
 *
 * Invariants
 * - Any header version is decoded (a peer may answer our hello with an
 *   error in its own version); the layout is the same in every version.
 * - For OFPET_EXPERIMENTER, `code` holds exp_type and `experimenter` the
 *   experimenter id; otherwise `experimenter` is absent.
 * - errorFor copies at most OFP_ERROR_DATA_LEN (64) bytes of the offending
 *   message: the error never aliases a buffer the caller may reuse.
 */

import { u16, u32, w16, w32 } from '../../bytes.js';
import { ERROR_EXPERIMENTER_MSG, ERROR_MSG, OFP_ERROR_DATA_LEN } from '../consts.js';
import { DecodeError, expectMinLen } from '../../decode-error.js';
import { OFPET, OFPT } from '../enums.js';
import { headerXid, writeHeader } from '../../header.js';
import type { MessageCodec } from '../message-codec.js';

export interface ErrorMsg {
  type: 'error';
  xid: number;
  /** OFPET_* */
  errType: number;
  /** The code within errType (exp_type for OFPET_EXPERIMENTER). */
  code: number;
  /** Only for errType OFPET_EXPERIMENTER. */
  experimenter?: number;
  /** Usually the start of the offending message; ASCII text for HELLO_FAILED. */
  data: Uint8Array;
}

function fixedPart(m: ErrorMsg): number {
  return m.errType === OFPET.EXPERIMENTER ? ERROR_EXPERIMENTER_MSG.SIZE : ERROR_MSG.SIZE;
}

export function sizeErrorMsg(m: ErrorMsg): number {
  return fixedPart(m) + m.data.length;
}

export function encodeErrorMsg(m: ErrorMsg, b: Buffer, off: number): number {
  const len = sizeErrorMsg(m);
  writeHeader(b, off, OFPT.ERROR, len, m.xid);
  w16(b, off + ERROR_MSG.type, m.errType);
  w16(b, off + ERROR_MSG.code, m.code);
  if (m.errType === OFPET.EXPERIMENTER) w32(b, off + ERROR_EXPERIMENTER_MSG.experimenter, m.experimenter ?? 0);
  b.set(m.data, off + fixedPart(m));
  return off + len;
}

export function decodeErrorMsg(b: Buffer, off: number, len: number): ErrorMsg | DecodeError {
  const short = expectMinLen(off, len, ERROR_MSG.SIZE, 'error');
  if (short) return short;
  const errType = u16(b, off + ERROR_MSG.type);
  const code = u16(b, off + ERROR_MSG.code);
  if (errType === OFPET.EXPERIMENTER) {
    const shortExp = expectMinLen(off, len, ERROR_EXPERIMENTER_MSG.SIZE, 'experimenter error');
    if (shortExp) return shortExp;
    return {
      type: 'error',
      xid: headerXid(b, off),
      errType,
      code,
      experimenter: u32(b, off + ERROR_EXPERIMENTER_MSG.experimenter),
      data: b.subarray(off + ERROR_EXPERIMENTER_MSG.SIZE, off + len),
    };
  }
  return { type: 'error', xid: headerXid(b, off), errType, code, data: b.subarray(off + ERROR_MSG.SIZE, off + len) };
}

export const errorCodec: MessageCodec<ErrorMsg> = { name: 'error', wireType: OFPT.ERROR, size: sizeErrorMsg, encode: encodeErrorMsg, decode: decodeErrorMsg };

/**
 * The OFPT_ERROR answering `offending` (the raw bytes of the message that
 * failed, from its header on): same xid, the DecodeError's type and code,
 * and a copy of the first 64 bytes (fewer if the message is shorter).
 */
export function errorFor(err: DecodeError, offending: Uint8Array): ErrorMsg {
  const xid = offending.length >= 8 ? headerXid(offending, 0) : 0;
  const n = Math.min(offending.length, OFP_ERROR_DATA_LEN);
  const data = Buffer.allocUnsafe(n);
  data.set(offending.subarray(0, n));
  return { type: 'error', xid, errType: err.type, code: err.code, data };
}
