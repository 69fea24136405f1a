/*
 * The controller manager: owns every OpenFlow connection of the switch (the
 * active controller connections and whatever connects to the listeners),
 * and is the switch's one event sink.
 *
 *   OfSwitch --packetIn/flowRemoved/portStatus--> ControllerManager
 *        encode once (xid 0) -> each up channel whose role/async masks want it
 *   OfChannel --channelUp/Down, requestRole--> ControllerManager
 *        counts controller connections -> sw.controllersConnected(n)
 *
 * Design
 * - Roles are an election across all connections (spec 6.3.5): the manager
 *   keeps the one generation_id; a MASTER or SLAVE request whose
 *   generation_id is older (as a signed 64-bit distance) than the last seen
 *   is OFPRRFC_STALE; a new master demotes every other master to slave.
 * - Fail mode (OVS): only controller connections (active, `--controller`)
 *   that finished the hello exchange count; connections to the listeners
 *   are service connections (ovs-ofctl) and never change the fail mode.
 *   `controllersConnected(n)` is called whenever n changes.
 * - Peer limits (peer-limits.ts): every channel gets the handshake deadline
 *   and its own packet-in token bucket; each listener its connection cap.
 *   Packet-in drops are counted per target (a controller's spec, or the
 *   listener's spec for all its connections: bounded label sets). Refused
 *   connections and missed handshakes are logged once per burst.
 * - Status (read-only, for `linc-ts status` and traces): controllerStates()
 *   per configured controller (connected, negotiating, connecting, backing
 *   off; role, attempts, since when, the last error), serviceConnections(),
 *   wantsPacketIn(reason). The manager follows each connect attempt's
 *   socket for this; it never changes what ActiveConnection does.
 *
 * Invariants
 * - Every channel is in `channels` from construction until channelDown.
 * - An asynchronous message is encoded at most once, and only if some
 *   connection wants it; one that cannot be encoded is logged and dropped.
 * - close() stops listeners and reconnects, closes every channel and
 *   detaches from the switch; it is idempotent.
 */

import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AsyncKind } from './async-config.js';
import { OfChannel, type ChannelHost, type ChannelKind } from './channel.js';
import {
  ActiveConnection, DEFAULT_INACTIVITY_PROBE_MS, DEFAULT_MAX_BACKOFF_MS, PassiveListener, type ConnectFn, type ControllerTarget, type ListenTarget,
} from './connections.js';
import { connectedEvent, peerName, streamConnector } from './streams.js';
import type { TlsCredentials } from './tls-credentials.js';
import { encodeMessage, OFPCR_ROLE, OFPET, OFPRRFC, type OfpMessage } from '../codec/wire.js';
import type { FlowRemoved } from '../codec/v13/msg/flow-removed.js';
import type { PacketIn } from '../codec/v13/msg/packet-in.js';
import type { PortStatus } from '../codec/v13/msg/port-status.js';
import type { OfError, OpenFlowSwitch, SwitchEventSink } from '../ofproto/switch-api.js';
import type { Logger } from '../../stats/log.js';
import {
  BURST_LOG_WINDOW_MS, BurstLog, DEFAULT_PEER_LIMITS, defaultBurstLimit, HANDSHAKE_TIMEOUT_REASON, TokenBucket, type PacketInDrops, type PeerLimits,
} from './peer-limits.js';

type Body<M> = Omit<M, 'type' | 'xid'>;

export type RoleName = 'equal' | 'master' | 'slave';

export function roleName(role: number): RoleName {
  return role === OFPCR_ROLE.MASTER ? 'master' : role === OFPCR_ROLE.SLAVE ? 'slave' : 'equal';
}

export interface ControllerStatus {
  target: string;
  connected: boolean;
  role: RoleName;
}

/** Where a configured controller connection stands (`linc-ts status`). */
export interface ControllerState {
  target: string;
  /** connected: the hello exchange is done; negotiating: TCP is up, hello pending; connecting: a TCP connect is under way; backing-off: waiting to retry. */
  state: 'connected' | 'negotiating' | 'connecting' | 'backing-off';
  role: RoleName;
  /** Connection attempts so far. */
  attempts: number;
  /** Milliseconds (performance.now) when it entered this state. */
  sinceMs: number;
  /** Why the last attempt or connection ended, null before any did. */
  lastError: string | null;
}

/** A connection to a listener (ovs-ofctl, a controller that connects to us). */
export interface ServiceConnectionState {
  peer: string;
  up: boolean;
  role: RoleName;
}

export interface ListenerStatus {
  spec: string;
  /** Null until bound (or when binding failed). */
  address: AddressInfo | null;
}

export interface ControllerManagerOptions {
  sw: OpenFlowSwitch;
  log: Logger;
  controllers?: readonly ControllerTarget[];
  listen?: readonly ListenTarget[];
  /** Echo after this much silence, disconnect after as long again; 0 disables. Default 5 s. */
  inactivityProbeMs?: number;
  /** Reconnect backoff ceiling. Default 8 s. */
  maxBackoffMs?: number;
  /** Handshake deadline, connection cap per listener, packet-in rate limit. Defaults: DEFAULT_PEER_LIMITS. */
  limits?: Partial<PeerLimits>;
  /** For tests: how active connections open sockets. */
  connect?: ConnectFn;
  /** The switch's key, certificate and CA, for ssl: and pssl: targets. */
  tls?: TlsCredentials | null;
}

export class ControllerManager implements SwitchEventSink, ChannelHost {
  readonly sw: OpenFlowSwitch;
  private readonly log: Logger;
  private readonly probeMs: number;
  private readonly channels = new Set<OfChannel>();
  private readonly active: ActiveConnection[] = [];
  private readonly listeners: PassiveListener[] = [];
  /** The last generation_id of a MASTER/SLAVE request, or null before the first. */
  private generationId: bigint | null = null;
  private upControllers = 0;
  private closed = false;
  /** OFPT_ERRORs sent on connections that are gone (live ones count in their own stats). */
  private errorsSentClosed = 0;
  private asyncDroppedClosed = 0;
  private asyncEncodeFailures = 0;
  /** Per active connection: what `controllerStates()` reports beyond its own fields. */
  private readonly tracked = new Map<ActiveConnection, { connecting: boolean; sinceMs: number; lastError: string | null }>();
  private readonly limits: PeerLimits;
  /** Packet-in drops by target (controller spec, or listener spec for its connections). */
  private readonly packetInDropsByTarget = new Map<string, PacketInDrops>();
  private handshakeTimeoutCount = 0;
  private readonly handshakeLog: BurstLog;
  private readonly refusalLogs: BurstLog[] = [];

  constructor(opts: ControllerManagerOptions) {
    this.sw = opts.sw;
    this.log = opts.log;
    this.probeMs = opts.inactivityProbeMs ?? DEFAULT_INACTIVITY_PROBE_MS;
    this.limits = { ...DEFAULT_PEER_LIMITS, ...opts.limits };
    this.handshakeLog = new BurstLog(
      BURST_LOG_WINDOW_MS,
      () => this.log.warn({ timeoutSec: this.limits.handshakeTimeoutMs / 1000 }, 'openflow handshake timed out: connection closed (more in this burst are summarised)'),
      (more) => this.log.warn({ more, windowSec: BURST_LOG_WINDOW_MS / 1000 }, 'openflow handshakes timed out'),
    );
    for (const target of opts.controllers ?? []) {
      const track = { connecting: false, sinceMs: performance.now(), lastError: null as string | null };
      const connect = opts.connect ?? streamConnector(target, opts.tls ?? null, opts.log);
      const a = new ActiveConnection({
        target,
        log: opts.log,
        maxBackoffMs: opts.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS,
        connect: (host, port) => this.trackConnect(track, connect(host, port)),
        open: (socket, onDown) =>
          this.attach(socket, 'controller', target.spec, (reason, wasUp) => {
            Object.assign(track, { sinceMs: performance.now(), lastError: reason });
            onDown?.(reason, wasUp);
          }),
      });
      this.active.push(a);
      this.tracked.set(a, track);
    }
    for (const target of opts.listen ?? []) {
      const max = this.limits.maxConnectionsPerListener;
      const refusals = new BurstLog(
        BURST_LOG_WINDOW_MS,
        () => this.log.warn({ listen: target.spec, maxConnections: max }, 'openflow listener full: connection refused (more in this burst are summarised)'),
        (more) => this.log.warn({ listen: target.spec, maxConnections: max, more, windowSec: BURST_LOG_WINDOW_MS / 1000 }, 'openflow listener full: connections refused'),
      );
      this.refusalLogs.push(refusals);
      this.listeners.push(
        new PassiveListener({
          target,
          log: opts.log,
          maxConnections: max,
          refuse: () => refusals.hit(),
          tls: opts.tls,
          accept: (s: Socket) => {
            if (this.closed) {
              s.destroy();
              return;
            }
            const peer = peerName(s, target);
            this.log.debug({ listen: target.spec, peer }, 'openflow connection accepted');
            this.attach(s, 'service', peer, undefined, target.spec);
          },
        }),
      );
    }
  }

  /**
   * Becomes the switch's event sink, starts connecting to the controllers
   * and binds the listeners. Resolves once every listener is bound or has
   * failed (logged; the switch runs on without it).
   */
  async start(): Promise<void> {
    this.sw.setEventSink(this);
    for (const a of this.active) a.start();
    await Promise.all(
      this.listeners.map((l) =>
        l.listen().then(
          (a) => this.log.info({ listen: l.target.spec, address: a.address, port: a.port }, 'openflow listener listening'),
          (e: NodeJS.ErrnoException) => this.log.error({ listen: l.target.spec, code: e.code }, `openflow listener not started: ${e.message}`),
        ),
      ),
    );
  }

  /**
   * Runs an OpenFlow channel over a connected socket (the listener and
   * active connections call this; tests too). `dropsTarget`: what its
   * packet-in drops are counted under (default `target`).
   */
  attach(socket: Duplex, kind: ChannelKind, target: string, onDown?: (reason: string, wasUp: boolean) => void, dropsTarget = target): OfChannel {
    let packetInDrops = this.packetInDropsByTarget.get(dropsTarget);
    if (packetInDrops === undefined) this.packetInDropsByTarget.set(dropsTarget, (packetInDrops = { queue: 0, rate: 0 }));
    const { handshakeTimeoutMs, controllerRateLimit: rate, controllerBurstLimit: burst } = this.limits;
    const packetInRate = rate > 0 ? new TokenBucket(rate, burst > 0 ? burst : defaultBurstLimit(rate)) : null;
    const ch = new OfChannel(socket, this, { kind, target, inactivityProbeMs: this.probeMs, handshakeTimeoutMs, packetInRate, packetInDrops, log: this.log, onDown });
    this.channels.add(ch);
    return ch;
  }

  /** Follows one TCP connect of an active connection (for controllerStates). */
  private trackConnect(track: { connecting: boolean; sinceMs: number; lastError: string | null }, socket: Duplex): Duplex {
    Object.assign(track, { connecting: true, sinceMs: performance.now() });
    const ended = (why: string | null) => () => {
      if (!track.connecting) return;
      Object.assign(track, { connecting: false, sinceMs: performance.now() }, why === null ? {} : { lastError: why });
    };
    socket.once(connectedEvent(socket), ended(null));
    socket.once('error', (e: NodeJS.ErrnoException) => ended(`connection failed: ${e.code ?? e.message}`)());
    socket.once('close', ended('connect timed out'));
    return socket;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.listeners) l.close();
    for (const a of this.active) a.close();
    for (const ch of [...this.channels]) ch.close('switch shutting down');
    this.sw.setEventSink(null);
    this.handshakeLog.close();
    for (const r of this.refusalLogs) r.close();
  }

  /* ------------------------------------------------------ ChannelHost */

  channelUp(ch: OfChannel): void {
    if (ch.kind === 'controller') {
      for (const [a, track] of this.tracked) if (a.channel === ch) track.sinceMs = performance.now();
      this.log.info({ target: ch.target }, 'controller connected');
      this.setUpControllers(this.upControllers + 1);
    } else {
      this.log.debug({ peer: ch.target }, 'openflow client connected');
    }
  }

  channelDown(ch: OfChannel, reason: string, wasUp: boolean): void {
    if (!this.channels.delete(ch)) return;
    this.errorsSentClosed += ch.stats.errorsSent;
    this.asyncDroppedClosed += ch.stats.asyncDropped;
    if (reason.startsWith(HANDSHAKE_TIMEOUT_REASON)) {
      this.handshakeTimeoutCount++;
      this.handshakeLog.hit();
    }
    if (ch.kind === 'controller') {
      this.log.info({ target: ch.target, reason, wasUp }, 'controller disconnected');
      if (wasUp) this.setUpControllers(this.upControllers - 1);
    } else {
      this.log.debug({ peer: ch.target, reason, wasUp }, 'openflow client disconnected');
    }
  }

  requestRole(ch: OfChannel, role: number, generationId: bigint): { role: number; generationId: bigint } | OfError {
    if (role === OFPCR_ROLE.NOCHANGE) return { role: ch.role, generationId: this.generationId ?? 0n };
    if (role === OFPCR_ROLE.MASTER || role === OFPCR_ROLE.SLAVE) {
      if (this.generationId !== null && BigInt.asIntN(64, generationId - this.generationId) < 0n) {
        return { type: OFPET.ROLE_REQUEST_FAILED, code: OFPRRFC.STALE, reason: `generation_id ${generationId} is older than ${this.generationId}` };
      }
      this.generationId = generationId;
    }
    if (role === OFPCR_ROLE.MASTER) {
      for (const other of this.channels) {
        if (other !== ch && other.role === OFPCR_ROLE.MASTER) this.changeRole(other, OFPCR_ROLE.SLAVE, 'another connection became master');
      }
    }
    this.changeRole(ch, role, 'role request');
    return { role, generationId: this.generationId ?? 0n };
  }

  private changeRole(ch: OfChannel, role: number, why: string): void {
    if (ch.role === role) return;
    this.log.info({ target: ch.target, from: roleName(ch.role), to: roleName(role), why }, 'controller role changed');
    ch.role = role;
  }

  private setUpControllers(n: number): void {
    if (n === this.upControllers) return;
    this.upControllers = n;
    this.sw.controllersConnected(n);
  }

  /* ------------------------------------------------- SwitchEventSink */

  packetIn(pi: Body<PacketIn>): void {
    this.fanOut('packetIn', pi.reason, () => ({ ...pi, type: 'packet_in', xid: 0 }));
  }

  flowRemoved(fr: Body<FlowRemoved>): void {
    this.fanOut('flowRemoved', fr.reason, () => ({ ...fr, type: 'flow_removed', xid: 0 }));
  }

  portStatus(ps: Body<PortStatus>): void {
    this.fanOut('portStatus', ps.reason, () => ({ ...ps, type: 'port_status', xid: 0 }));
  }

  private fanOut(kind: AsyncKind, reason: number, message: () => OfpMessage): void {
    let buf: Buffer | null = null;
    for (const ch of this.channels) {
      if (!ch.wantsAsync(kind, reason)) continue;
      if (buf === null) {
        try {
          buf = encodeMessage(message());
        } catch (e) {
          if (this.asyncEncodeFailures++ % 100 === 0) this.log.warn({ kind, err: (e as Error).message, failures: this.asyncEncodeFailures }, 'asynchronous message dropped: cannot encode');
          return;
        }
      }
      ch.sendAsync(buf, kind);
    }
  }

  /* --------------------------------------------------------- status */

  /** Controller connections that finished the handshake (what fail mode sees). */
  get connectedControllers(): number {
    return this.upControllers;
  }

  /** One entry per configured controller (`--controller`), for metrics and status. */
  controllers(): ControllerStatus[] {
    return this.active.map((a) => ({
      target: a.target.spec,
      connected: a.channel?.isUp ?? false,
      role: roleName(a.channel?.role ?? OFPCR_ROLE.EQUAL),
    }));
  }

  /** Each configured controller's connection state, read-only (for `linc-ts status`). */
  controllerStates(): ControllerState[] {
    return this.active.map((a) => {
      const t = this.tracked.get(a)!;
      const ch = a.channel;
      const state = ch?.isUp ? 'connected' : ch !== null ? 'negotiating' : t.connecting ? 'connecting' : 'backing-off';
      return { target: a.target.spec, state, role: roleName(ch?.role ?? OFPCR_ROLE.EQUAL), attempts: a.attempts, sinceMs: t.sinceMs, lastError: t.lastError };
    });
  }

  /** The connections to the listeners (ovs-ofctl sessions, controllers that connected to us). */
  serviceConnections(): ServiceConnectionState[] {
    return [...this.channels].filter((ch) => ch.kind === 'service').map((ch) => ({ peer: ch.target, up: ch.isUp, role: roleName(ch.role) }));
  }

  /** Would some connection get a packet-in with this OFPR reason now (its role and async config)? Read-only: traces. */
  wantsPacketIn(reason: number): boolean {
    for (const ch of this.channels) if (ch.wantsAsync('packetIn', reason)) return true;
    return false;
  }

  listenerStatus(): ListenerStatus[] {
    return this.listeners.map((l) => ({ spec: l.target.spec, address: l.address }));
  }

  /** Connections that finished the handshake, by kind. */
  connectionCounts(): { controller: number; service: number } {
    let service = 0;
    for (const ch of this.channels) if (ch.kind === 'service' && ch.isUp) service++;
    return { controller: this.upControllers, service };
  }

  /** OFPT_ERRORs sent on every connection since start. */
  errorsSent(): number {
    let n = this.errorsSentClosed;
    for (const ch of this.channels) n += ch.stats.errorsSent;
    return n;
  }

  /** Asynchronous messages dropped because a connection's send queue was full, since start. */
  asyncDropped(): number {
    let n = this.asyncDroppedClosed;
    for (const ch of this.channels) n += ch.stats.asyncDropped;
    return n;
  }

  /** Packet-ins not sent, by target and reason (queue: the peer is not reading; rate: over the rate limit), since start. */
  packetInDrops(): Array<{ target: string; reason: 'queue' | 'rate'; count: number }> {
    const out: Array<{ target: string; reason: 'queue' | 'rate'; count: number }> = [];
    for (const [target, d] of this.packetInDropsByTarget) {
      out.push({ target, reason: 'queue', count: d.queue }, { target, reason: 'rate', count: d.rate });
    }
    return out;
  }

  /** Connections each listener closed at accept because it was full, since start. */
  connectionsRefused(): Array<{ listen: string; count: number }> {
    return this.listeners.map((l) => ({ listen: l.target.spec, count: l.refused }));
  }

  /** Connections closed because the peer's hello did not come in time, since start. */
  handshakeTimeouts(): number {
    return this.handshakeTimeoutCount;
  }

  /** Bytes written to every connection that the peers have not taken yet. */
  txQueuedBytes(): number {
    let n = 0;
    for (const ch of this.channels) n += ch.queuedBytes;
    return n;
  }

  /** The live channels (for tests and status). */
  channelList(): OfChannel[] {
    return [...this.channels];
  }
}
