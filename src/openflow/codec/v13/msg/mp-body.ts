/*
 * The contract of a multipart body family (one per OFPMP_* type): request
 * and reply bodies encoded and decoded side by side, and helpers for the
 * shapes most bodies share (empty request, list of fixed-size entries).
 *
 * Contract
 * - Offsets are absolute in the message buffer; a body spans [o, end), the
 *   bytes after the 16-byte multipart header.
 * - requestSize/replySize give the body length only; encoders write the body
 *   at `o` and return its end offset; decoders never throw.
 */

import { DecodeError, badLen } from '../../decode-error.js';

export interface MpBodyCodec<Q extends { type: string }, R extends { type: string }> {
  readonly mpType: number;
  readonly name: Q['type'];
  requestSize(q: Q): number;
  encodeRequest(q: Q, b: Buffer, o: number): number;
  decodeRequest(b: Buffer, o: number, end: number): Q | DecodeError;
  replySize(r: R): number;
  encodeReply(r: R, b: Buffer, o: number): number;
  decodeReply(b: Buffer, o: number, end: number): R | DecodeError;
}

/** Request side of a type whose request has no body. */
export function emptyRequest<T extends string>(name: T): Pick<MpBodyCodec<{ type: T }, { type: T }>, 'requestSize' | 'encodeRequest' | 'decodeRequest'> {
  return {
    requestSize: () => 0,
    encodeRequest: (_q, _b, o) => o,
    decodeRequest: (_b, o, end) => (o === end ? { type: name } : badLen(o, `${name} request has a ${end - o}-byte body`)),
  };
}

/** Decodes [o, end) as consecutive `size`-byte entries (BAD_LEN when it does not divide). */
export function decodeFixedEntries<E>(b: Buffer, o: number, end: number, size: number, what: string, read: (b: Buffer, o: number) => E): E[] | DecodeError {
  if ((end - o) % size !== 0) return badLen(o, `${what} body of ${end - o} bytes is not a multiple of ${size}`);
  const out: E[] = [];
  for (; o < end; o += size) out.push(read(b, o));
  return out;
}

/** BAD_LEN unless [o, end) is exactly `size` bytes. */
export function expectBody(o: number, end: number, size: number, what: string): DecodeError | null {
  return end - o === size ? null : badLen(o, `${what} body must be ${size} bytes, not ${end - o}`);
}
