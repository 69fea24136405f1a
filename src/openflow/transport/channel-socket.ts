/*
 * The byte side of one OpenFlow connection (channel.ts is its state
 * machine): the socket, the framing of what arrives into whole messages,
 * transaction ids, and what is written back, OFPT_ERRORs included.
 *
 * Invariants
 * - Nothing is written once the state is 'closed'; a destroyed socket is
 *   never written.
 * - Only a fatal framing error (header length < 8) ends the connection from
 *   here, after its OFPT_ERROR is sent; every whole message goes to
 *   onMessage in order.
 * - A peer that leaves more than TX_HARD_LIMIT bytes unread is disconnected.
 * - OFPT_ERRORs sent are all counted; at most ERROR_LOG_BURST of them are
 *   logged per ERROR_LOG_WINDOW_MS, the rest summarised.
 */

import type { Duplex } from 'node:stream';
import { OFP_ERROR_DATA_LEN } from '../codec/v13/consts.js';
import { DecodeError } from '../codec/decode-error.js';
import { encodeMessage, errorFor, errorName, MessageFramer, typeName, type OfpMessage } from '../codec/wire.js';
import type { Logger } from '../../stats/log.js';

export type ChannelState = 'hello' | 'up' | 'closed';

/** A peer that leaves more than this many bytes unread is disconnected. */
export const TX_HARD_LIMIT = 64 << 20;
/** OFPT_ERRORs logged per connection per window; the rest are counted and summarised. */
const ERROR_LOG_BURST = 10;
const ERROR_LOG_WINDOW_MS = 10_000;

/** A connection's socket and framing; the subclass (OfChannel) handles each whole message and closes. */
export abstract class ChannelSocket {
  state: ChannelState = 'hello';
  /** Counters for logs and metrics. */
  readonly stats = { rxMessages: 0, txMessages: 0, errorsSent: 0, asyncDropped: 0, packetInRateDropped: 0 };

  private readonly framer = new MessageFramer();
  private nextXid = 1;
  private errorLogWindowStart = 0;
  private errorLogCount = 0;
  private errorLogSuppressed = 0;

  constructor(
    protected readonly socket: Duplex,
    readonly target: string,
    readonly log: Logger,
  ) {}

  /** Handles one whole message from the peer, in order of arrival. */
  protected abstract readonly onMessage: (raw: Buffer) => void;

  /** Ends the connection (idempotent). */
  abstract close(reason: string): void;

  /** Bytes written to the socket that the peer has not taken yet. */
  get queuedBytes(): number {
    return this.socket.writableLength;
  }

  /* ------------------------------------------------------------ input */

  protected readonly onData = (chunk: Buffer): void => {
    if (this.state === 'closed') return;
    const fatal = this.framer.push(chunk, this.onMessage);
    if (fatal !== null && (this.state as ChannelState) !== 'closed') {
      this.sendError(fatal.type, fatal.code, this.framer.badHeader ?? Buffer.alloc(0), fatal.message);
      this.close(`framing error: ${fatal.message}`);
    }
  };

  /* ----------------------------------------------------------- output */

  protected xid(): number {
    const x = this.nextXid;
    this.nextXid = this.nextXid >= 0xffffffff ? 1 : this.nextXid + 1;
    return x;
  }

  protected write(buf: Buffer): void {
    if (this.socket.destroyed) return;
    this.stats.txMessages++;
    this.socket.write(buf);
    if (this.socket.writableLength > TX_HARD_LIMIT) this.close(`peer not reading (${this.socket.writableLength} bytes queued)`);
  }

  protected send(m: OfpMessage): void {
    if (this.state === 'closed') return;
    this.write(encodeMessage(m));
  }

  /** OFPT_ERROR (type, code) answering `raw` (same xid, its first 64 bytes), logged with a rate limit. */
  sendError(type: number, code: number, raw: Uint8Array, reason: string): void {
    if (this.state === 'closed') return;
    const err = errorFor(new DecodeError(type, code, -1, reason), raw.subarray(0, OFP_ERROR_DATA_LEN));
    this.send(err);
    this.stats.errorsSent++;
    const now = Date.now();
    if (now - this.errorLogWindowStart >= ERROR_LOG_WINDOW_MS) {
      if (this.errorLogSuppressed > 0) this.log.info({ target: this.target, suppressed: this.errorLogSuppressed }, 'openflow errors sent (not logged)');
      this.errorLogWindowStart = now;
      this.errorLogCount = 0;
      this.errorLogSuppressed = 0;
    }
    if (this.errorLogCount++ < ERROR_LOG_BURST) {
      this.log.debug({ target: this.target, error: errorName(type, code), xid: err.xid, msgType: raw.length > 1 ? typeName(raw[1]) : undefined, reason }, 'openflow error sent');
    } else {
      this.errorLogSuppressed++;
    }
  }
}
