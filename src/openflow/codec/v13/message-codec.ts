/*
 * The contract every message family implements (one MessageCodec per OFPT_*
 * type, registered in registry.ts), and the codec of header-only messages.
 *
 * Contract of a MessageCodec:
 * - size(m): the whole message length, header included;
 * - encode(m, b, off): writes the whole message (header with the computed
 *   length, every pad byte zeroed) at off; returns the end offset;
 * - decode(b, off, len): decodes the message at [off, off+len). The caller has
 *   checked the header (version, type, and that len >= 8 and fits in b).
 *   Returns the message or a DecodeError; never throws.
 */

import { DecodeError, expectLen } from '../decode-error.js';
import { headerXid, writeHeader } from '../header.js';
import type { OFPT } from './enums.js';

/** What every message object carries. */
export interface MessageBase {
  type: string;
  xid: number;
}

export interface MessageCodec<M extends MessageBase = MessageBase> {
  readonly name: M['type'];
  readonly wireType: (typeof OFPT)[keyof typeof OFPT];
  size(m: M): number;
  encode(m: M, b: Buffer, off: number): number;
  decode(b: Buffer, off: number, len: number): M | DecodeError;
}

/** A message that is just the header (features request, barrier, ...). */
export interface HeaderOnly<T extends string> {
  type: T;
  xid: number;
}

/** The codec of a header-only message type: any body is OFPBRC_BAD_LEN. */
export function headerOnlyCodec<M extends HeaderOnly<string>>(
  name: M['type'],
  wireType: (typeof OFPT)[keyof typeof OFPT],
): MessageCodec<M> {
  return {
    name,
    wireType,
    size: () => 8,
    encode: (m, b, off) => {
      writeHeader(b, off, wireType, 8, m.xid);
      return off + 8;
    },
    decode: (b, off, len) => expectLen(off, len, 8, name) ?? ({ type: name, xid: headerXid(b, off) } as unknown as M),
  };
}
