/*
 * OFPT_ECHO_REQUEST / OFPT_ECHO_REPLY (A.5.2, A.5.3): an arbitrary payload
 * the reply must echo unchanged.
 */

import { DecodeError } from '../../decode-error.js';
import { OFPT } from '../enums.js';
import { headerXid, writeHeader } from '../../header.js';
import type { MessageCodec } from '../message-codec.js';

export interface EchoRequest {
  type: 'echo_request';
  xid: number;
  data: Uint8Array;
}
export interface EchoReply {
  type: 'echo_reply';
  xid: number;
  data: Uint8Array;
}

function echoCodec<M extends EchoRequest | EchoReply>(name: M['type'], wireType: typeof OFPT.ECHO_REQUEST | typeof OFPT.ECHO_REPLY): MessageCodec<M> {
  return {
    name,
    wireType,
    size: (m) => 8 + m.data.length,
    encode: (m, b, off) => {
      writeHeader(b, off, wireType, 8 + m.data.length, m.xid);
      b.set(m.data, off + 8);
      return off + 8 + m.data.length;
    },
    decode: (b, off, len): M | DecodeError => ({ type: name, xid: headerXid(b, off), data: b.subarray(off + 8, off + len) }) as unknown as M,
  };
}

export const echoRequestCodec = echoCodec<EchoRequest>('echo_request', OFPT.ECHO_REQUEST);
export const echoReplyCodec = echoCodec<EchoReply>('echo_reply', OFPT.ECHO_REPLY);

/** The reply to an echo request: same xid, same payload. */
export function echoReplyFor(req: EchoRequest): EchoReply {
  return { type: 'echo_reply', xid: req.xid, data: req.data };
}
