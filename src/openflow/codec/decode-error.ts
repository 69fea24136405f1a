/*
 * The typed result of a failed decode (after Ryu's OFPTruncatedMessage and
 * the "one error table" rule): every way a message can be malformed maps to
 * the OFPT_ERROR (type, code) the switch must answer with.
 *
 * Invariants
 * - Decoders never throw on input bytes; they return a DecodeError instead.
 * - `offset` is the byte offset, within the buffer handed to the decoder, of
 *   the field found wrong (a length, a type...), so tests and logs can point
 *   at it. Validators working on decoded objects use -1.
 * - A DecodeError is not an Error: no stack is captured (decoding garbage is
 *   an expected event on a controller connection, not a bug).
 */

import { errorName, OFPBRC, OFPET } from './v13/enums.js';

export class DecodeError {
  constructor(
    /** OFPET_* error type to answer with. */
    readonly type: number,
    /** Code within that type (OFPBRC_*, OFPBAC_*, ...). */
    readonly code: number,
    /** Byte offset of the offending field, or -1 when not from bytes. */
    readonly offset: number,
    /** What was wrong, for logs. */
    readonly message: string,
  ) {}

  toString(): string {
    return `${errorName(this.type, this.code)} at ${this.offset}: ${this.message}`;
  }
}

export function isDecodeError(x: unknown): x is DecodeError {
  return x instanceof DecodeError;
}

/** OFPET_BAD_REQUEST/OFPBRC_BAD_LEN: the usual answer to a length that does not add up. */
export function badLen(offset: number, message: string): DecodeError {
  return new DecodeError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, offset, message);
}

/** BAD_LEN unless a fixed-size message is exactly `size` bytes. */
export function expectLen(off: number, len: number, size: number, what: string): DecodeError | null {
  return len === size ? null : badLen(off + 2, `${what} must be ${size} bytes, not ${len}`);
}

/** BAD_LEN when a message is shorter than its fixed part. */
export function expectMinLen(off: number, len: number, size: number, what: string): DecodeError | null {
  return len >= size ? null : badLen(off + 2, `${what} needs at least ${size} bytes, got ${len}`);
}
