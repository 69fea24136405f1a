/*
 * The codec entry points: one whole OpenFlow message <-> a typed message
 * object (after of_protocol's ofp_v4 encode/decode surface).
 *
 * decodeMessage(buf)
 * - decodes the message at the start of `buf` (exactly `length` bytes, as
 *   the header says; the framer hands over whole messages);
 * - never throws on any input: it returns { ok: message } or a DecodeError
 *   whose (type, code) is the OFPT_ERROR to answer with (see errorFor);
 * - checks, in order: at least 8 bytes and length >= 8 (OFPBRC_BAD_LEN),
 *   length within the buffer (OFPBRC_BAD_LEN), a version of versions.ts
 *   except for HELLO and ERROR (OFPBRC_BAD_VERSION), a type that version
 *   defines (OFPBRC_BAD_TYPE), then the body (the family's own errors).
 * - messages are encoded as OpenFlow 1.3 (the one version today).
 * - payloads in the result are views into `buf`: copy them to keep them
 *   after `buf` is reused.
 *
 * encodeMessage(msg) / encodeMessageInto(msg, buf, off)
 * - compute every length and pad; a message over 65535 bytes cannot be
 *   framed and throws RangeError (a caller bug: split multipart replies).
 */

import { OFP_HEADER_LEN, OFP_MAX_MESSAGE_LEN } from './v13/consts.js';
import { DecodeError, badLen } from './decode-error.js';
import { OFPBRC, OFPET, OFPT } from './v13/enums.js';
import { headerLength, headerType, headerVersion } from './header.js';
import type { OfpMessage } from './v13/message.js';
import { OPENFLOW_13 } from './v13/version.js';
import { wireVersion } from './versions.js';

export type DecodeResult = { ok: OfpMessage } | DecodeError;

function asBuffer(buf: Uint8Array): Buffer {
  return Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Decodes the message at the start of `buf`; never throws. */
export function decodeMessage(buf: Uint8Array): DecodeResult {
  const b = asBuffer(buf);
  if (b.length < OFP_HEADER_LEN) return badLen(0, `${b.length} bytes is shorter than a header`);
  const len = headerLength(b, 0);
  if (len < OFP_HEADER_LEN) return badLen(2, `header length ${len} < 8`);
  if (len > b.length) return badLen(2, `header length ${len} exceeds the ${b.length} bytes received`);
  const type = headerType(b, 0);
  const version = headerVersion(b, 0);
  const wv = wireVersion(version);
  if (wv === undefined && type !== OFPT.HELLO && type !== OFPT.ERROR) {
    return new DecodeError(OFPET.BAD_REQUEST, OFPBRC.BAD_VERSION, 0, `version 0x${version.toString(16)} is not one we speak`);
  }
  // HELLO and ERROR of any version are read with the 1.3 layout (the same since 1.0 for what we read).
  const codec = (wv ?? OPENFLOW_13).codecForWireType(type);
  if (codec === undefined) return new DecodeError(OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE, 1, `unknown message type ${type}`);
  const m = codec.decode(b, 0, len);
  return m instanceof DecodeError ? m : { ok: m as OfpMessage };
}

function codecOf(msg: OfpMessage) {
  const codec = OPENFLOW_13.codecForName(msg.type);
  if (codec === undefined) throw new TypeError(`openflow/codec: unknown message type ${String(msg.type)}`);
  return codec;
}

/** Length of `msg` on the wire, header included. */
export function messageSize(msg: OfpMessage): number {
  return codecOf(msg).size(msg);
}

/** Writes `msg` at `off` of `buf` (which must have messageSize(msg) bytes free); returns the end offset. */
export function encodeMessageInto(msg: OfpMessage, buf: Buffer, off: number): number {
  const codec = codecOf(msg);
  const len = codec.size(msg);
  if (len > OFP_MAX_MESSAGE_LEN) throw new RangeError(`openflow/codec: ${msg.type} of ${len} bytes exceeds 65535`);
  if (off + len > buf.length) throw new RangeError(`openflow/codec: ${len} bytes do not fit at ${off} of ${buf.length}`);
  return codec.encode(msg, buf, off);
}

/** A new Buffer holding `msg` on the wire. */
export function encodeMessage(msg: OfpMessage): Buffer {
  const codec = codecOf(msg);
  const len = codec.size(msg);
  if (len > OFP_MAX_MESSAGE_LEN) throw new RangeError(`openflow/codec: ${msg.type} of ${len} bytes exceeds 65535`);
  const buf = Buffer.allocUnsafe(len);
  codec.encode(msg, buf, 0);
  return buf;
}
