/*
 * The transport side of OpenFlow connections: controller and listener
 * targets (parsing), the active client that keeps one controller connected
 * with exponential backoff, and the passive listener for tools.
 *
 *   tcp:HOST[:PORT]     active: HOST is an IPv4 address, a host name or a
 *                       bracketed IPv6 address ([::1]); PORT defaults to 6653
 *   ptcp:[PORT][:ADDR]  passive: ADDR defaults to 127.0.0.1 (loopback only
 *                       unless the operator says otherwise); port 0 picks one
 *   ssl:HOST[:PORT], pssl:[PORT][:ADDR]  the same over TLS (streams.ts)
 *   punix:PATH          passive, a Unix socket file (mode 0600)
 *
 * Backoff (after OVS rconn): the first attempt is immediate; after a failed
 * attempt or a lost connection wait `backoff`, which starts at 1 s and
 * doubles up to `maxBackoffMs` (8 s by default). A connection that completed
 * the OpenFlow handshake resets it, so a controller restart costs 1 s, while
 * a controller that accepts and drops (or refuses our version) is retried
 * ever more slowly. A TCP connect that hangs is abandoned after
 * max(1 s, current backoff).
 *
 * Invariants
 * - An ActiveConnection has at most one socket and one timer at a time;
 *   close() cancels both and nothing reconnects afterwards.
 * - The listener hands each accepted socket to `accept` and keeps no other
 *   state about it but the count of open ones: over `maxConnections` a new
 *   socket is destroyed at once and `refuse` told (peer-limits.ts); on a
 *   pssl: listener TLS handshakes under way count too; close() stops
 *   accepting (the owner closes the channels).
 */

import { createConnection, isIP, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { OfChannel } from './channel.js';
import { bindStreamServer, connectedEvent, createStreamServer } from './streams.js';
import type { TlsCredentials } from './tls-credentials.js';
import type { Logger } from '../../stats/log.js';

/** IANA's OpenFlow port. */
export const DEFAULT_OPENFLOW_PORT = 6653;
export const DEFAULT_LISTEN_ADDRESS = '127.0.0.1';
export const INITIAL_BACKOFF_MS = 1000;
export const DEFAULT_MAX_BACKOFF_MS = 8000;
/** OVS's default inactivity probe (echo after 5 s of silence, give up 5 s later). */
export const DEFAULT_INACTIVITY_PROBE_MS = 5000;

export interface ControllerTarget {
  /** Normalised spec, e.g. "tcp:127.0.0.1:6653", "tcp:[::1]:6653", "ssl:10.0.0.1:6653". */
  spec: string;
  host: string;
  port: number;
  /** ssl: the connection is TLS (absent for tcp:). */
  tls?: true;
}

export interface ListenTarget {
  /** Normalised spec, e.g. "ptcp:6653:127.0.0.1", "pssl:6653:127.0.0.1", "punix:/run/linc.sock". */
  spec: string;
  /** For punix: "" (and port 0). */
  host: string;
  port: number;
  /** pssl: connections are TLS with client certificates (absent for ptcp:). */
  tls?: true;
  /** punix: the socket file. */
  path?: string;
}

/** Longest punix: path (sun_path holds 108 bytes with the terminating NUL). */
const MAX_UNIX_PATH_BYTES = 107;

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** A host as written in a target spec or ADDR:PORT: an IPv6 address in brackets. */
export function hostSpec(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

function parsePort(s: string | undefined, min: number, dflt: number): number | null {
  if (s === undefined || s === '') return dflt;
  if (!/^\d{1,5}$/.test(s)) return null;
  const n = Number(s);
  return n >= min && n <= 65535 ? n : null;
}

/** Parses tcp:HOST[:PORT] or ssl:HOST[:PORT]; a string is the reason it is not one. */
export function parseControllerTarget(input: string): ControllerTarget | string {
  const s = input.trim();
  const usage = `"${input}" is not a controller target: use tcp:HOST:PORT or ssl:HOST:PORT (e.g. tcp:127.0.0.1:6653, tcp:[::1]:6653, ssl:ctl.example:6653)`;
  const m = /^(tcp|ssl):(?:\[([^\]]*)\]|([^:[\]]*))(?::([^:]*))?$/.exec(s);
  if (!m) return usage;
  const host = m[2] ?? m[3];
  if (m[2] !== undefined ? isIP(host) !== 6 : isIP(host) !== 4 && !HOSTNAME.test(host)) return usage;
  const port = parsePort(m[4], 1, DEFAULT_OPENFLOW_PORT);
  if (port === null) return `"${input}": controller port "${m[4]}" must be a number from 1 to 65535`;
  const target: ControllerTarget = { spec: `${m[1]}:${hostSpec(host)}:${port}`, host, port };
  if (m[1] === 'ssl') target.tls = true;
  return target;
}

/** Parses ptcp:[PORT][:ADDR], pssl:[PORT][:ADDR] or punix:PATH; a string is the reason it is not one. */
export function parseListenTarget(input: string): ListenTarget | string {
  const s = input.trim();
  if (s.startsWith('punix:')) {
    const path = s.slice('punix:'.length);
    if (path === '') return `"${input}": punix: needs the path of the socket file (e.g. punix:/run/linc-ts/openflow.sock)`;
    if (Buffer.byteLength(path) > MAX_UNIX_PATH_BYTES) return `"${input}": the socket path is longer than ${MAX_UNIX_PATH_BYTES} bytes`;
    if (path.includes('\0')) return `"${input}": the socket path contains a NUL character`;
    return { spec: `punix:${path}`, host: '', port: 0, path };
  }
  const m = /^p(tcp|ssl):([^:[]*)(?::(.*))?$/.exec(s);
  if (!m) return `"${input}" is not a listen target: use ptcp:PORT[:ADDR], pssl:PORT[:ADDR] or punix:PATH (e.g. ptcp:6653, pssl:6653:0.0.0.0, ptcp:6653:[::1], punix:/run/linc-ts/openflow.sock)`;
  const port = parsePort(m[2], 0, DEFAULT_OPENFLOW_PORT);
  if (port === null) return `"${input}": listen port "${m[2]}" must be a number from 0 to 65535 (0 picks a free port)`;
  let host = m[3] ?? DEFAULT_LISTEN_ADDRESS;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (isIP(host) === 0) return `"${input}": listen address "${m[3]}" must be an IPv4 or IPv6 address`;
  const target: ListenTarget = { spec: `p${m[1]}:${port}:${hostSpec(host)}`, host, port };
  if (m[1] === 'ssl') target.tls = true;
  return target;
}

/** 1 s, 2 s, 4 s ... up to max; reset() after a good connection. */
export class Backoff {
  private nextMs: number;

  constructor(
    readonly initialMs = INITIAL_BACKOFF_MS,
    readonly maxMs = DEFAULT_MAX_BACKOFF_MS,
  ) {
    this.nextMs = Math.min(initialMs, maxMs);
  }

  /** The delay before the next attempt would be, without using it. */
  get current(): number {
    return this.nextMs;
  }

  /** Returns the delay to wait now and doubles the next one (capped). */
  next(): number {
    const d = this.nextMs;
    this.nextMs = Math.min(this.maxMs, this.nextMs * 2);
    return d;
  }

  reset(): void {
    this.nextMs = Math.min(this.initialMs, this.maxMs);
  }
}

/** Opens a TCP connection; tests inject a fake. The socket emits 'connect' once connected, or 'error'. */
export type ConnectFn = (host: string, port: number) => Duplex;

export const tcpConnect: ConnectFn = (host, port) => {
  const s: Socket = createConnection({ host, port });
  s.setNoDelay(true);
  return s;
};

export interface ActiveConnectionOptions {
  target: ControllerTarget;
  log: Logger;
  maxBackoffMs?: number;
  initialBackoffMs?: number;
  connect?: ConnectFn;
  /**
   * Runs the OpenFlow channel over a connected socket; the channel must call
   * `onDown(wasUp)` once when it ends (wasUp: the handshake had completed).
   */
  open(socket: Duplex, onDown: (reason: string, wasUp: boolean) => void): OfChannel;
}

/** Keeps one controller connection up: connect, and reconnect with backoff whenever it fails or drops. */
export class ActiveConnection {
  readonly target: ControllerTarget;
  readonly backoff: Backoff;
  /** The channel of the current connection, if the TCP connection is up. */
  channel: OfChannel | null = null;
  /** Connection attempts so far. */
  attempts = 0;
  private socket: Duplex | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private readonly connect: ConnectFn;
  private readonly log: Logger;

  constructor(private readonly opts: ActiveConnectionOptions) {
    this.target = opts.target;
    this.backoff = new Backoff(opts.initialBackoffMs ?? INITIAL_BACKOFF_MS, opts.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS);
    this.connect = opts.connect ?? tcpConnect;
    this.log = opts.log;
  }

  start(): void {
    if (!this.closed && this.socket === null && this.timer === null) this.attempt();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const ch = this.channel;
    this.channel = null;
    if (ch !== null) ch.close('switch shutting down');
    else this.socket?.destroy();
    this.socket = null;
  }

  private attempt(): void {
    this.timer = null;
    if (this.closed) return;
    this.attempts++;
    const socket = this.connect(this.opts.target.host, this.opts.target.port);
    this.socket = socket;
    const timeoutMs = Math.max(INITIAL_BACKOFF_MS, this.backoff.current);
    const fail = (e: NodeJS.ErrnoException) => {
      clearTimeout(connectTimer);
      socket.off(connectedEvent(socket), connected);
      socket.destroy();
      if (this.socket !== socket) return;
      this.socket = null;
      this.retry(`connection failed: ${e.code ?? e.message}`, false);
    };
    const connected = () => {
      clearTimeout(connectTimer);
      socket.off('error', fail);
      if (this.closed || this.socket !== socket) {
        socket.destroy();
        return;
      }
      this.channel = this.opts.open(socket, (reason, wasUp) => {
        if (this.socket !== socket) return;
        this.socket = null;
        this.channel = null;
        this.retry(reason, wasUp);
      });
    };
    const connectTimer = setTimeout(() => fail(new Error(`connect timed out after ${timeoutMs} ms`)), timeoutMs);
    socket.once('error', fail);
    socket.once(connectedEvent(socket), connected);
  }

  private retry(reason: string, wasUp: boolean): void {
    if (this.closed) return;
    if (wasUp) this.backoff.reset();
    const delay = this.backoff.next();
    this.log.info({ target: this.target.spec, reason, retryInSec: delay / 1000 }, 'controller connection down, retrying');
    this.timer = setTimeout(() => this.attempt(), delay);
  }
}

export interface ListenerOptions {
  target: ListenTarget;
  log: Logger;
  /** The switch's key, certificate and CA (pssl: targets need them). */
  tls?: TlsCredentials | null;
  /** Each accepted connection. */
  accept(socket: Socket): void;
  /** Connections kept open at once; the next are closed at accept. Default: no cap. */
  maxConnections?: number;
  /** Each connection closed at accept because the listener was full. */
  refuse?(): void;
}

/** A TCP, TLS or Unix-socket listener for OpenFlow tools (ovs-ofctl) and controllers that connect to us. */
export class PassiveListener {
  readonly target: ListenTarget;
  private readonly server: Server;
  private bound: AddressInfo | null = null;
  /** Accepted connections not closed yet, and those refused over the cap since start. */
  private open = 0;
  refused = 0;

  constructor(private readonly opts: ListenerOptions) {
    this.target = opts.target;
    this.server = createStreamServer(opts.target, opts.tls ?? null, opts.log, (s) => {
      if (this.open >= (opts.maxConnections ?? Infinity)) {
        s.destroy();
        this.refused++;
        opts.refuse?.();
        return;
      }
      this.open++;
      s.once('close', () => this.open--);
      s.setNoDelay(true);
      opts.accept(s);
    });
    if (opts.target.tls && opts.maxConnections !== undefined) {
      // pssl: the callback above sees only verified connections; the cap must also bound handshakes under way.
      this.server.maxConnections = opts.maxConnections;
      this.server.on('drop', () => {
        this.refused++;
        opts.refuse?.();
      });
    }
  }

  /** Where it listens (the real port when 0 was asked), once listening. */
  get address(): AddressInfo | null {
    return this.bound;
  }

  /** Binds; rejects with the socket error (EADDRINUSE, EADDRNOTAVAIL...). */
  async listen(): Promise<AddressInfo> {
    const bound = await bindStreamServer(this.server, this.target);
    this.server.on('error', (e) => this.opts.log.error({ listen: this.target.spec, err: e }, 'openflow listener error'));
    this.bound = bound;
    return bound;
  }

  close(): void {
    this.server.close();
  }
}
