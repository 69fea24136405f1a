/*
 * The 8-byte OpenFlow header (A.1): version, type, length, xid.
 *
 * Invariants
 * - `length` counts the whole message, header included, so it is >= 8 and
 *   <= 65535; the framer and decodeMessage check it before any body decoder
 *   runs, so a body decoder may trust [off, off + length) to be in the buffer.
 * - Encoders write the header with the final length: every message encoder
 *   has a size function, so the size is known before the first byte.
 */

import { u16, u32, w16, w32 } from './bytes.js';
import { HEADER } from './v13/consts.js';
import { OFP_VERSION } from './v13/enums.js';

export function headerVersion(b: Uint8Array, off: number): number {
  return b[off + HEADER.version];
}

export function headerType(b: Uint8Array, off: number): number {
  return b[off + HEADER.type];
}

export function headerLength(b: Uint8Array, off: number): number {
  return u16(b, off + HEADER.length);
}

export function headerXid(b: Uint8Array, off: number): number {
  return u32(b, off + HEADER.xid);
}

/** Writes an OpenFlow header at `off`; returns the offset of the body. */
export function writeHeader(b: Uint8Array, off: number, type: number, length: number, xid: number, version = OFP_VERSION): number {
  b[off + HEADER.version] = version;
  b[off + HEADER.type] = type;
  w16(b, off + HEADER.length, length);
  w32(b, off + HEADER.xid, xid);
  return off + HEADER.SIZE;
}
