/*
 * One OpenFlow 1.3 connection (a controller we connected to, or a tool that
 * connected to our listener): the state machine between a byte stream and
 * the switch (switch-api.ts).
 *
 *   connect -> send HELLO (bitmap: 1.3 only)
 *   state 'hello'   first message from the peer must be HELLO:
 *                     offers 1.3 (bitmap bit 4, or no bitmap and version >= 4) -> 'up'
 *                     offers only other versions -> HELLO_FAILED/INCOMPATIBLE, close
 *                     anything else -> close without an error (as OVS's vconn does)
 *   state 'up'      every message is decoded and handled synchronously, in order
 *   state 'closed'  nothing is read or written any more
 *
 * Design
 * - Framing (channel-socket.ts, the base class): MessageFramer cuts the
 *   stream at header lengths; a message that does not decode gets the
 *   OFPT_ERROR its DecodeError names, with the message's first 64 bytes, and
 *   the connection lives on. Only a fatal framing error (header length < 8)
 *   closes, after its error is sent.
 * - Handling is synchronous (the switch answers before returning), so a
 *   barrier reply is ordered after the effects of every earlier message.
 * - Handshake deadline (peer-limits.ts): a peer that has not sent a valid
 *   hello within `handshakeTimeoutMs` is closed; bytes that are not yet a
 *   whole hello do not extend it.
 * - Inactivity probe (OVS rconn): once up, after `inactivityProbeMs` without
 *   receiving a whole message, send an echo request; if no message arrives
 *   within as long again, close. Partial messages are not activity (rconn
 *   counts what vconn_recv returns: complete messages).
 * - Roles: the connection keeps its own role; the election (generation_id,
 *   demoting the old master) belongs to the ChannelHost, which sees every
 *   connection. A slave may not change switch state (OFPBRC_IS_SLAVE, before
 *   any other check, even of a message that does not decode); a
 *   slave's SET_CONFIG only sets this connection's miss_send_len (as OVS).
 * - Async filters (async-config.ts): per connection, [master/equal, slave]
 *   masks for packet-in, port-status and flow-removed reasons, with the
 *   spec's defaults. A service connection (from a listener) gets no
 *   asynchronous message until it sets a nonzero miss_send_len (OVS's rule
 *   for ptcp connections).
 * - Multipart: the switch returns reply bodies; they are split into
 *   messages of at most 65535 bytes, all but the last with REPLY_MORE
 *   (multipart-reply.ts). A request with REQ_MORE is assembled per xid
 *   (table-features only; other types cannot be split: OFPBRC_BAD_MULTIPART).
 *
 * Invariants
 * - Nothing the peer sends can throw out of this module: decode failures are
 *   OFPT_ERRORs, and an exception from the switch is logged and answered
 *   with OFPBRC_EPERM (the switch contract says it never throws).
 * - Bounded memory: packet-ins are dropped (and counted, reason "queue")
 *   while more than ASYNC_TX_LIMIT bytes wait in the socket, and over the
 *   connection's packet-in rate limit (reason "rate"), as OVS drops
 *   packet-ins past its per-connection queue limit. Replies, port-status
 *   and flow-removed are never dropped (a controller that misses them has
 *   a wrong picture of the switch) and keep their order; a peer that lets
 *   more than TX_HARD_LIMIT (channel-socket.ts) bytes pile up is disconnected.
 * - channelDown is called exactly once, after channelUp if that was called.
 */

import type { Duplex } from 'node:stream';
import { DecodeError } from '../codec/decode-error.js';
import {
  decodeMessage, errorName, helloVersions, makeHello, OFP_DEFAULT_MISS_SEND_LEN, OFP_VERSION, OFPBRC, OFPCR_ROLE, OFPET, OFPHFC,
  OFPMPF_REQ_MORE, typeName, type Hello, type MultipartReply, type MultipartRequest, type OfpMessage,
} from '../codec/wire.js';
import type { TableFeatures } from '../codec/v13/msg/mp-table-features.js';
import type { OfError, OpenFlowSwitch } from '../ofproto/switch-api.js';
import { isSlaveDenied } from './slave-writes.js';
import type { Logger } from '../../stats/log.js';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, HANDSHAKE_TIMEOUT_REASON, type PacketInDrops, type TokenBucket } from './peer-limits.js';
import { defaultAsyncConfig, type AsyncConfig, type AsyncKind } from './async-config.js';
import { ChannelSocket } from './channel-socket.js';
import { splitMultipartReply } from './multipart-reply.js';

/** 'controller': we connected to it (counts for fail mode); 'service': it connected to our listener. */
export type ChannelKind = 'controller' | 'service';

/** Packet-ins are dropped while more than this many bytes wait to be written. */
export const ASYNC_TX_LIMIT = 1 << 20;
/** At most this many multipart requests (REQ_MORE) assembled at once, of at most this many bytes in all. */
export const MP_ASSEMBLY_MAX_REQUESTS = 4;
export const MP_ASSEMBLY_MAX_BYTES = 1 << 20;
/** How long a closing connection may take to flush before it is destroyed. */
const CLOSE_LINGER_MS = 2000;

/** What a channel needs from the connection manager that owns it. */
export interface ChannelHost {
  readonly sw: OpenFlowSwitch;
  /** The hello exchange succeeded. */
  channelUp(ch: OfChannel): void;
  /** The connection is gone (called once). */
  channelDown(ch: OfChannel, reason: string, wasUp: boolean): void;
  /** A role request (OFPCR_ROLE_*): the reply's role and generation id, or the error to send. */
  requestRole(ch: OfChannel, role: number, generationId: bigint): { role: number; generationId: bigint } | OfError;
}

export interface ChannelOptions {
  kind: ChannelKind;
  /** For logs and metrics: "tcp:HOST:PORT" of the peer. */
  target: string;
  /** Silence before an echo request, and then before giving up; 0 disables the probe. */
  inactivityProbeMs: number;
  /** Close the connection if the peer's hello has not arrived by then. Default 5 s. */
  handshakeTimeoutMs?: number;
  /** The packet-in rate limit of this connection, or null (none). */
  packetInRate?: TokenBucket | null;
  /** Where packet-in drops are counted (shared by the connections of one target). */
  packetInDrops?: PacketInDrops;
  log: Logger;
  /** Also told when the connection is gone (the active connection schedules its reconnect). */
  onDown?: (reason: string, wasUp: boolean) => void;
}

export function isOfError(x: unknown): x is OfError {
  return typeof x === 'object' && x !== null && typeof (x as OfError).code === 'number' && typeof (x as OfError).type === 'number';
}

/** Does a hello offer OpenFlow 1.3? With a bitmap, bit 4; without, the smaller of both versions is used (spec 6.3.1). */
export function helloOffers13(h: Hello): boolean {
  if (h.elements.some((e) => e.type === 'versionbitmap')) return helloVersions(h).includes(OFP_VERSION);
  return h.version >= OFP_VERSION;
}

function hex2(v: number): string {
  return '0x' + v.toString(16).padStart(2, '0');
}

interface PendingMultipart {
  entries: TableFeatures[];
  bytes: number;
}

export class OfChannel extends ChannelSocket {
  readonly kind: ChannelKind;
  /** OFPCR_ROLE_EQUAL, _MASTER or _SLAVE. */
  role: number = OFPCR_ROLE.EQUAL;
  asyncConfig: AsyncConfig = defaultAsyncConfig();
  /** This connection's miss_send_len (gates async messages on service connections). */
  missSendLen: number;

  private readonly probeMs: number;
  private probeTimer: ReturnType<typeof setTimeout> | null = null;
  private probing = false;
  /** Date.now() of the last whole message received, and of the last probe sent. */
  private lastRxMs = 0;
  private probeSentMs = 0;
  private readonly handshakeMs: number;
  private handshakeTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly packetInRate: TokenBucket | null;
  private readonly packetInDrops: PacketInDrops;
  private readonly pendingMp = new Map<number, PendingMultipart>();
  private readonly onDown: ((reason: string, wasUp: boolean) => void) | undefined;

  constructor(
    socket: Duplex,
    private readonly host: ChannelHost,
    opts: ChannelOptions,
  ) {
    super(socket, opts.target, opts.log);
    this.kind = opts.kind;
    this.probeMs = opts.inactivityProbeMs;
    this.onDown = opts.onDown;
    this.handshakeMs = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    this.packetInRate = opts.packetInRate ?? null;
    this.packetInDrops = opts.packetInDrops ?? { queue: 0, rate: 0 };
    this.missSendLen = opts.kind === 'controller' ? OFP_DEFAULT_MISS_SEND_LEN : 0;
    socket.on('data', this.onData);
    socket.on('end', () => this.close('connection closed by peer'));
    socket.on('close', () => this.close('connection closed'));
    socket.on('error', (e: NodeJS.ErrnoException) => this.close(`socket error: ${e.code ?? e.message}`));
    this.send(makeHello(this.xid()));
    if (this.handshakeMs > 0 && this.state === 'hello') this.handshakeTimer = setTimeout(this.onHandshakeTimeout, this.handshakeMs);
  }

  get isUp(): boolean {
    return this.state === 'up';
  }

  /** Would this connection take an asynchronous message of `kind` with `reason`? */
  wantsAsync(kind: AsyncKind, reason: number): boolean {
    if (this.state !== 'up' || reason > 31) return false;
    if (this.kind === 'service' && this.missSendLen === 0) return false;
    const mask = this.asyncConfig[kind][this.role === OFPCR_ROLE.SLAVE ? 1 : 0];
    return ((mask >>> reason) & 1) === 1;
  }

  /**
   * Writes an encoded asynchronous message (xid 0, shared by every
   * connection); false if dropped. Only packet-ins are dropped: while the
   * send queue is over ASYNC_TX_LIMIT, or over the rate limit.
   */
  sendAsync(buf: Buffer, kind: AsyncKind = 'packetIn'): boolean {
    if (this.state !== 'up') return false;
    if (kind === 'packetIn') {
      if (this.socket.writableLength > ASYNC_TX_LIMIT) {
        this.stats.asyncDropped++;
        this.packetInDrops.queue++;
        return false;
      }
      if (this.packetInRate !== null && !this.packetInRate.take()) {
        this.stats.packetInRateDropped++;
        this.packetInDrops.rate++;
        return false;
      }
    }
    this.write(buf);
    return true;
  }

  /** Ends the connection (idempotent): flush what was written, then close. */
  override close(reason: string): void {
    if (this.state === 'closed') return;
    const wasUp = this.state === 'up';
    this.state = 'closed';
    this.clearProbe();
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    this.pendingMp.clear();
    this.socket.off('data', this.onData);
    if (!this.socket.destroyed) {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), CLOSE_LINGER_MS).unref();
    }
    this.host.channelDown(this, reason, wasUp);
    this.onDown?.(reason, wasUp);
  }

  /* ------------------------------------------------------------ input */

  protected override readonly onMessage = (raw: Buffer): void => {
    if (this.state === 'closed') return;
    this.stats.rxMessages++;
    this.lastRxMs = Date.now();
    const r = decodeMessage(raw);
    if (this.state === 'hello') {
      this.onFirstMessage(r instanceof DecodeError ? null : r.ok, raw);
      return;
    }
    if (r instanceof DecodeError) {
      // A slave's write is refused as such before any check of its content.
      if (!(isSlaveDenied(raw) && this.refuseSlave(raw))) this.sendError(r.type, r.code, raw, r.message);
      return;
    }
    try {
      this.dispatch(r.ok, raw);
    } catch (e) {
      this.log.error({ err: e, msgType: typeName(raw[1]) }, 'openflow message handling failed');
      this.sendError(OFPET.BAD_REQUEST, OFPBRC.EPERM, raw, 'internal error');
    }
  };

  private onFirstMessage(m: OfpMessage | null, raw: Buffer): void {
    if (m === null || m.type !== 'hello') {
      this.log.warn({ target: this.target, msgType: typeName(raw[1]), version: hex2(raw[0]) }, 'openflow: received a message while expecting hello');
      this.close(`${typeName(raw[1])} received before hello`);
      return;
    }
    if (!helloOffers13(m)) {
      const peer = helloVersions(m).map(hex2).join(', ');
      const text = `We support version ${hex2(OFP_VERSION)}, you support ${peer}, no common versions.`;
      this.send({ type: 'error', xid: m.xid, errType: OFPET.HELLO_FAILED, code: OFPHFC.INCOMPATIBLE, data: Buffer.from(text, 'ascii') });
      this.stats.errorsSent++;
      this.log.warn({ target: this.target, peerVersions: peer }, 'openflow version negotiation failed');
      this.close(`version negotiation failed: peer supports ${peer}`);
      return;
    }
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    this.state = 'up';
    this.armProbe();
    this.host.channelUp(this);
  }

  private dispatch(m: OfpMessage, raw: Buffer): void {
    const sw = this.host.sw;
    switch (m.type) {
      case 'hello':
        return; // a repeated hello changes nothing
      case 'error':
        this.log.info({ target: this.target, error: errorName(m.errType, m.code), xid: m.xid }, 'openflow error received from the peer');
        return;
      case 'echo_request':
        this.send({ type: 'echo_reply', xid: m.xid, data: m.data });
        return;
      case 'echo_reply':
        return; // every whole message already counted as activity
      case 'experimenter':
        this.sendError(OFPET.BAD_REQUEST, OFPBRC.BAD_EXPERIMENTER, raw, `experimenter 0x${m.experimenter.toString(16)}`);
        return;
      case 'features_request':
        this.send({
          type: 'features_reply',
          xid: m.xid,
          datapathId: sw.datapathId,
          nBuffers: 0,
          nTables: sw.nTables,
          auxiliaryId: 0,
          capabilities: sw.capabilities,
          reserved: 0,
        });
        return;
      case 'get_config_request': {
        const c = sw.getConfig();
        this.send({ type: 'get_config_reply', xid: m.xid, flags: c.flags, missSendLen: c.missSendLen });
        return;
      }
      case 'set_config':
        this.missSendLen = m.missSendLen;
        if (this.role !== OFPCR_ROLE.SLAVE) this.replyIfError(sw.setConfig(m.flags, m.missSendLen), raw);
        return;
      case 'packet_out':
        if (!this.refuseSlave(raw)) this.replyIfError(sw.packetOut(m), raw);
        return;
      case 'flow_mod':
        if (!this.refuseSlave(raw)) this.replyIfError(sw.flowMod(m), raw);
        return;
      case 'group_mod':
        if (!this.refuseSlave(raw)) this.replyIfError(sw.groupMod(m), raw);
        return;
      case 'port_mod':
        if (!this.refuseSlave(raw)) this.replyIfError(sw.portMod(m), raw);
        return;
      case 'table_mod':
        if (!this.refuseSlave(raw)) this.replyIfError(sw.tableMod(m), raw);
        return;
      case 'meter_mod':
        if (!this.refuseSlave(raw)) this.replyIfError(sw.meterMod(m), raw);
        return;
      case 'multipart_request':
        this.onMultipart(m, raw);
        return;
      case 'barrier_request':
        this.send({ type: 'barrier_reply', xid: m.xid });
        return;
      case 'queue_get_config_request': {
        const r = sw.queueGetConfig(m.port);
        if (isOfError(r)) this.replyIfError(r, raw);
        else this.send({ ...r, type: 'queue_get_config_reply', xid: m.xid });
        return;
      }
      case 'role_request': {
        const r = this.host.requestRole(this, m.role, m.generationId);
        if (isOfError(r)) this.replyIfError(r, raw);
        else this.send({ type: 'role_reply', xid: m.xid, role: r.role, generationId: r.generationId });
        return;
      }
      case 'get_async_request': {
        const a = this.asyncConfig;
        this.send({ type: 'get_async_reply', xid: m.xid, packetInMask: [...a.packetIn], portStatusMask: [...a.portStatus], flowRemovedMask: [...a.flowRemoved] });
        return;
      }
      case 'set_async':
        this.asyncConfig = { packetIn: [...m.packetInMask], portStatus: [...m.portStatusMask], flowRemoved: [...m.flowRemovedMask] };
        return;
      default:
        // Messages only a switch sends (features reply, packet-in, replies...).
        this.sendError(OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE, raw, `${m.type} is not a request a switch accepts`);
    }
  }

  private onMultipart(m: MultipartRequest, raw: Buffer): void {
    const body = m.body;
    if (body.type === 'experimenter') {
      this.pendingMp.delete(m.xid);
      this.sendError(OFPET.BAD_REQUEST, OFPBRC.BAD_EXPERIMENTER, raw, `experimenter multipart 0x${body.experimenter.toString(16)}`);
      return;
    }
    if (body.type === 'table_features' && body.entries.length > 0 && this.refuseSlave(raw)) {
      this.pendingMp.delete(m.xid);
      return;
    }
    let request = body;
    const pending = this.pendingMp.get(m.xid);
    if ((m.flags & OFPMPF_REQ_MORE) !== 0 || pending !== undefined) {
      if (body.type !== 'table_features') {
        this.pendingMp.delete(m.xid);
        this.sendError(OFPET.BAD_REQUEST, OFPBRC.BAD_MULTIPART, raw, `a ${body.type} request cannot span messages (REQ_MORE)`);
        return;
      }
      const acc = pending ?? { entries: [], bytes: 0 };
      acc.entries.push(...body.entries);
      acc.bytes += raw.length;
      if (pending === undefined) this.pendingMp.set(m.xid, acc);
      if (acc.bytes > MP_ASSEMBLY_MAX_BYTES || this.pendingMp.size > MP_ASSEMBLY_MAX_REQUESTS) {
        this.pendingMp.delete(m.xid);
        this.sendError(OFPET.BAD_REQUEST, OFPBRC.MULTIPART_BUFFER_OVERFLOW, raw, 'multipart request too large to assemble');
        return;
      }
      if ((m.flags & OFPMPF_REQ_MORE) !== 0) return; // wait for the rest
      this.pendingMp.delete(m.xid);
      request = { type: 'table_features', entries: acc.entries };
    }
    const r = this.host.sw.multipart(request);
    if (!Array.isArray(r)) {
      this.replyIfError(r, raw);
      return;
    }
    let replies: MultipartReply[];
    try {
      if (r.length === 0) throw new RangeError(`the switch returned no ${request.type} reply body`);
      replies = splitMultipartReply(m.xid, r);
    } catch (e) {
      this.log.warn({ target: this.target, mpType: request.type, err: (e as Error).message }, 'multipart reply cannot be sent');
      this.sendError(OFPET.BAD_REQUEST, OFPBRC.MULTIPART_BUFFER_OVERFLOW, raw, (e as Error).message);
      return;
    }
    for (const reply of replies) this.send(reply);
  }

  /** OFPBRC_IS_SLAVE for a state-changing request from a slave; true if refused. */
  private refuseSlave(raw: Buffer): boolean {
    if (this.role !== OFPCR_ROLE.SLAVE) return false;
    this.sendError(OFPET.BAD_REQUEST, OFPBRC.IS_SLAVE, raw, 'slave connections cannot change the switch');
    return true;
  }

  private replyIfError(e: OfError | null, raw: Buffer): void {
    if (e !== null) this.sendError(e.type, e.code, raw, e.reason ?? '');
  }

  /* ------------------------------------ handshake deadline, inactivity probe */

  private readonly onHandshakeTimeout = (): void => {
    this.handshakeTimer = null;
    if (this.state !== 'hello') return;
    this.close(`${HANDSHAKE_TIMEOUT_REASON}: no hello from the peer within ${this.handshakeMs / 1000} s`);
  };

  private clearProbe(): void {
    if (this.probeTimer !== null) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    this.probing = false;
  }

  /** Starts the probe clock (once up); each whole message received moves lastRxMs, which the timer reads when it fires. */
  private armProbe(): void {
    if (this.probeMs <= 0 || this.state !== 'up') return;
    this.clearProbe();
    this.probeTimer = setTimeout(this.onProbeTimer, this.probeMs);
  }

  private readonly onProbeTimer = (): void => {
    this.probeTimer = null;
    if (this.state !== 'up') return;
    const now = Date.now();
    if (this.probing && this.lastRxMs >= this.probeSentMs) this.probing = false; // a message arrived after the probe
    const idle = now - this.lastRxMs;
    if (!this.probing && idle < this.probeMs) {
      this.probeTimer = setTimeout(this.onProbeTimer, this.probeMs - idle);
    } else if (!this.probing) {
      this.send({ type: 'echo_request', xid: this.xid(), data: Buffer.alloc(0) });
      this.log.debug({ target: this.target, idleSec: idle / 1000 }, 'openflow inactivity probe sent');
      this.probing = true;
      this.probeSentMs = now;
      this.probeTimer = setTimeout(this.onProbeTimer, this.probeMs);
    } else {
      this.close(`no response to the inactivity probe after ${(2 * this.probeMs) / 1000} s`);
    }
  };
}
