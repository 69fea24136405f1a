/*
 * Stream framing: TCP chunks in, whole OpenFlow messages out.
 *
 * A TCP read may hold several messages, or a part of one (LINC-Switch #105
 * dropped all but the first message of a segment). The framer cuts the byte
 * stream at the header lengths and hands each whole message to a callback.
 *
 *   chunk:  | msg A | msg B | first half of C |     | rest of C | msg D |
 *   out:    A, B (views into the chunk)             C (its own buffer), D
 *
 * Invariants
 * - Bounded memory: at most one incomplete message is held, in a buffer
 *   allocated when its header is complete and sized to its length
 *   (<= maxMessageLength <= 65535), plus an 8-byte header scratch.
 * - A message contained in one chunk is passed as a view into that chunk (no
 *   copy); a message spanning chunks is passed as the buffer it was
 *   assembled in, which the framer never touches again. The framer keeps no
 *   reference to a chunk after push() returns.
 * - A header whose length is < 8 (or above maxMessageLength) means the
 *   stream is out of sync: push() returns that fatal DecodeError
 *   (OFPBRC_BAD_LEN), stops, and returns the same error on every later push.
 *   The caller answers with an OFPT_ERROR (see `badHeader`) and closes.
 * - Messages are delivered in stream order. onMessage must not throw or call
 *   push() re-entrantly.
 */

import { u16 } from './bytes.js';
import { OFP_HEADER_LEN, OFP_MAX_MESSAGE_LEN } from './v13/consts.js';
import { DecodeError, badLen } from './decode-error.js';

export type MessageSink = (msg: Buffer) => void;

export class MessageFramer {
  /** Header bytes of an incomplete message while fewer than 8 have arrived. */
  private readonly head = Buffer.alloc(OFP_HEADER_LEN);
  /** The incomplete message once its header is complete, else null. */
  private body: Buffer | null = null;
  /** Bytes of the incomplete message received so far (in `head` or `body`). */
  private have = 0;
  private failure: DecodeError | null = null;
  /** The 8 header bytes that caused the fatal error, for the OFPT_ERROR data; null before any. */
  badHeader: Buffer | null = null;

  constructor(readonly maxMessageLength: number = OFP_MAX_MESSAGE_LEN) {
    if (!(maxMessageLength >= OFP_HEADER_LEN && maxMessageLength <= OFP_MAX_MESSAGE_LEN)) {
      throw new RangeError(`openflow/framing: maxMessageLength ${maxMessageLength} outside 8..65535`);
    }
  }

  /** Bytes held for an incomplete message. */
  get buffered(): number {
    return this.have;
  }

  /** The fatal error, once one happened. */
  get error(): DecodeError | null {
    return this.failure;
  }

  /** Drops any incomplete message and a previous failure (e.g. for a new connection). */
  reset(): void {
    this.body = null;
    this.have = 0;
    this.failure = null;
    this.badHeader = null;
  }

  private fail(header: Uint8Array, at: number, len: number): DecodeError {
    this.badHeader = Buffer.from(header.subarray(at, at + OFP_HEADER_LEN));
    this.body = null;
    this.have = 0;
    this.failure = badLen(2, len < OFP_HEADER_LEN ? `header length ${len} < 8` : `header length ${len} > ${this.maxMessageLength}`);
    return this.failure;
  }

  private badLength(len: number): boolean {
    return len < OFP_HEADER_LEN || len > this.maxMessageLength;
  }

  /**
   * Feeds one chunk of the stream; calls onMessage for every message it
   * completes, in order. Returns null, or the fatal framing error.
   */
  push(chunk: Uint8Array, onMessage: MessageSink): DecodeError | null {
    if (this.failure) return this.failure;
    const c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let o = 0;

    // 1. Complete the message a previous chunk left unfinished.
    if (this.have > 0) {
      if (this.body === null) {
        const n = Math.min(OFP_HEADER_LEN - this.have, c.length);
        c.copy(this.head, this.have, 0, n);
        this.have += n;
        o = n;
        if (this.have < OFP_HEADER_LEN) return null;
        const len = u16(this.head, 2);
        if (this.badLength(len)) return this.fail(this.head, 0, len);
        this.body = Buffer.allocUnsafe(len);
        this.head.copy(this.body, 0);
      }
      const body = this.body;
      const n = Math.min(body.length - this.have, c.length - o);
      c.copy(body, this.have, o, o + n);
      this.have += n;
      o += n;
      if (this.have < body.length) return null;
      this.body = null;
      this.have = 0;
      onMessage(body);
    }

    // 2. Whole messages inside this chunk, passed as views.
    while (c.length - o >= OFP_HEADER_LEN) {
      const len = u16(c, o + 2);
      if (this.badLength(len)) return this.fail(c, o, len);
      if (c.length - o < len) break;
      onMessage(c.subarray(o, o + len));
      o += len;
    }

    // 3. Keep the start of an incomplete message.
    const rest = c.length - o;
    if (rest > 0) {
      if (rest < OFP_HEADER_LEN) {
        c.copy(this.head, 0, o);
      } else {
        const body = Buffer.allocUnsafe(u16(c, o + 2));
        c.copy(body, 0, o);
        this.body = body;
      }
      this.have = rest;
    }
    return null;
  }
}
