/*
 * The local admin endpoint: HTTP/1.1 with JSON bodies over a Unix socket, so
 * only local processes allowed by the socket's mode (0600: the switch's
 * user) can reach it, never another host. `linc-ts llstat` is its client.
 *
 * Protocol (all answers are JSON; errors are {"error": "sentence"} with a
 * 4xx status; a POST may carry a JSON body):
 *   GET  /v1/status                      {pid, datapathId, ports: [{port, name, kind, link, rx, tx...}],
 *                                         mode, controllers, listeners, uptimeSec, windows, ...}
 *   POST /v1/llstat/start?port=P|all     {started: [ofPort...]}
 *   POST /v1/llstat/stop[?port=P]        {stopped: [ofPort...]}
 *   GET  /v1/llstat[?port=P]             {reports: LlstatReport[]}
 *   ... and the routes the switch adds (AdminContext.routes: ports,
 *   MAC table, trace, cache), each documented where it is declared.
 * P is an OpenFlow port number or a port name.
 *
 * Invariants
 * - Slow path only; requests are served between datapath wakeups.
 * - The socket file is created with mode 0600 and a stale socket (nobody
 *   answers) is replaced; a live one (another switch) or a file that is not
 *   a socket is left alone and the endpoint is not started (unix-socket.ts).
 * - close() removes the socket file only if it is still the one we bound.
 */

import { lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { LlstatError, type LlstatReport, type LlstatWindows } from './llstat.js';
import type { Logger } from './log.js';
import { listenUnixSocket, SocketPathTaken } from './unix-socket.js';

/** The admin socket a switch uses when none is configured (and where `linc-ts llstat` looks). */
export function defaultAdminSocketPath(uid = process.getuid?.() ?? 0, env: NodeJS.ProcessEnv = process.env): string {
  if (uid === 0) return '/run/linc-ts.sock';
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'linc-ts.sock');
  return join(tmpdir(), `linc-ts-${uid}.sock`);
}

export interface AdminAnswer {
  status: number;
  body: unknown;
}

/** One more endpoint, served by whoever registers it (the switch: ports, MAC table, trace...). */
export interface AdminRoute {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** `query`: the URL's parameters; `body`: the parsed JSON body (undefined when none). Answers synchronously. */
  handle(query: URLSearchParams, body: unknown): AdminAnswer;
}

/** One port in GET /v1/status: number, name and kind always; link state and counters when the switch reports them. */
export interface AdminPortStatus {
  port: number;
  name: string;
  kind: string;
  /** How the port moves bursts through the kernel, when it has a choice (a TAP: 'uring' or 'rw'). */
  io?: string;
  /** up: administratively up with carrier (and not port-mod PORT_DOWN). */
  link?: { up: boolean; adminUp: boolean; carrier: boolean; mtu: number; mac: string };
  /** OpenFlow port-mod config bits set on it (port_down, no_recv, no_fwd, no_packet_in). */
  config?: string[];
  rx?: { frames: number; bytes: number; dropped: number; errors: number; malformed: number };
  tx?: { frames: number; bytes: number; dropped: number; errors: number };
  /** Frames the forwarding decision dropped, and frames flooded. */
  forwarding?: { dropped: number; flooded: number };
}

/** One configured controller in GET /v1/status. */
export interface AdminControllerStatus {
  target: string;
  state: string;
  role: string;
  attempts: number;
  /** Seconds in this state. */
  forSec: number;
  lastError: string | null;
}

/** What GET /v1/status says about the switch (beyond pid and llstat windows); all but datapathId and ports optional. */
export interface AdminSwitchStatus {
  datapathId: string;
  ports: AdminPortStatus[];
  version?: string;
  uptimeSec?: number;
  /** Which pipeline forwards (the learning switch or the OpenFlow tables), the fail mode, and why. */
  mode?: { forwarding: 'standalone' | 'openflow'; failMode: string; why: string };
  controllers?: AdminControllerStatus[];
  listeners?: Array<{ spec: string; address: string | null }>;
  /** Connections to the listeners (ovs-ofctl, controllers that connected to us). */
  connections?: Array<{ peer: string; up: boolean; role: string }>;
  tables?: { flows: number; groups: number; meters: number; macs: number };
}

/** What the endpoint serves: the llstat windows, a description of the switch, and extra routes. */
export interface AdminContext {
  llstat: LlstatWindows;
  status(): AdminSwitchStatus;
  routes?: readonly AdminRoute[];
  log?: Logger;
}

const BUILT_IN_PATHS = ['/v1/status', '/v1/llstat/start', '/v1/llstat/stop', '/v1/llstat'];

/** One request, routed; pure apart from what its route does. */
export function handleAdminRequest(ctx: AdminContext, method: string, url: string, body?: unknown): AdminAnswer {
  const u = new URL(url, 'http://linc-ts');
  const port = u.searchParams.get('port') ?? undefined;
  const route = `${method} ${u.pathname}`;
  const extra = ctx.routes ?? [];
  try {
    switch (route) {
      case 'GET /v1/status':
        return { status: 200, body: { pid: process.pid, ...ctx.status(), windows: ctx.llstat.list() } };
      case 'POST /v1/llstat/start': {
        if (port === undefined) return { status: 400, body: { error: 'llstat start needs a port: PORT or all' } };
        const started = ctx.llstat.start(port);
        ctx.log?.info({ ports: started }, 'llstat window started');
        return { status: 200, body: { started } };
      }
      case 'POST /v1/llstat/stop': {
        const stopped = ctx.llstat.stop(port);
        ctx.log?.info({ ports: stopped }, 'llstat window stopped');
        return { status: 200, body: { stopped } };
      }
      case 'GET /v1/llstat':
        return { status: 200, body: { reports: ctx.llstat.show(port) } };
      default: {
        const r = extra.find((x) => x.method === method && x.path === u.pathname);
        if (r !== undefined) return r.handle(u.searchParams, body);
        if (BUILT_IN_PATHS.includes(u.pathname) || extra.some((x) => x.path === u.pathname)) {
          return { status: 405, body: { error: `${method} is not allowed on ${u.pathname}` } };
        }
        return { status: 404, body: { error: `no such endpoint: ${u.pathname}` } };
      }
    }
  } catch (e) {
    if (e instanceof LlstatError) return { status: 404, body: { error: e.message } };
    throw e;
  }
}

export interface AdminServer {
  readonly socketPath: string;
  close(): Promise<void>;
}

/** The largest request body the endpoint reads. */
const MAX_BODY_BYTES = 64 * 1024;

/** A request body as JSON: none (undefined), the value, or the sentence saying why not. */
function parseBody(chunks: Buffer[], size: number): { body: unknown } | { error: string } {
  if (size === 0) return { body: undefined };
  if (size > MAX_BODY_BYTES) return { error: `request body of ${size} bytes is over ${MAX_BODY_BYTES}` };
  try {
    return { body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown };
  } catch {
    return { error: 'request body is not JSON' };
  }
}

/** Why the endpoint could not be started (the switch keeps running without it). */
export class AdminSocketError extends Error {
  readonly code = 'LINC_ERR_ADMIN_SOCKET';
}

/** Listen on `socketPath` (mode 0600). Rejects with AdminSocketError when the path is taken or cannot be bound. */
export async function startAdminServer(socketPath: string, ctx: AdminContext): Promise<AdminServer> {
  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o700 });

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size <= MAX_BODY_BYTES) chunks.push(d);
    });
    req.once('end', () => {
      let answer: AdminAnswer;
      try {
        const parsed = parseBody(chunks, size);
        answer = 'error' in parsed ? { status: 400, body: parsed } : handleAdminRequest(ctx, req.method ?? 'GET', req.url ?? '/', parsed.body);
      } catch (e) {
        ctx.log?.error({ err: e }, 'admin request failed');
        answer = { status: 500, body: { error: `internal error: ${(e as Error).message}` } };
      }
      const text = JSON.stringify(answer.body);
      res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  try {
    await listenUnixSocket(server, socketPath);
  } catch (e) {
    if (!(e instanceof SocketPathTaken)) throw new AdminSocketError(`cannot listen on ${socketPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    if (e.code === 'EADDRINUSE') throw new AdminSocketError(`${socketPath} is in use by another switch (choose another with --admin-socket)`);
    throw new AdminSocketError(e.message);
  }
  const ino = lstatSync(socketPath).ino;
  ctx.log?.info({ socket: socketPath }, 'admin endpoint listening');

  let closed = false;
  return {
    socketPath,
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      try {
        if (lstatSync(socketPath).ino === ino) unlinkSync(socketPath);
      } catch {
        /* already gone */
      }
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/* ---------------------------------------------------------------- client */

/** The switch could not be reached on its admin socket (no switch, stale socket, or no permission). */
export class AdminUnreachableError extends Error {
  readonly code = 'LINC_ERR_ADMIN_UNREACHABLE';
}

/** A request the switch refused ({"error"} with a 4xx/5xx status). */
export class AdminRequestError extends Error {
  readonly code = 'LINC_ERR_ADMIN_REQUEST';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** One request to the admin endpoint at `socketPath` (a JSON body when given); resolves with the JSON body of a 2xx answer. */
export function adminRequest<T>(socketPath: string, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 5000): Promise<T> {
  const payload = body === undefined ? '' : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const headers = { 'content-length': Buffer.byteLength(payload), 'content-type': 'application/json' };
    const req = request({ socketPath, method, path, timeout: timeoutMs, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          reject(new AdminRequestError(`the switch answered with something that is not JSON (status ${res.statusCode})`, res.statusCode ?? 0));
          return;
        }
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(body as T);
        else reject(new AdminRequestError((body as { error?: string }).error ?? `status ${status}`, status));
      });
    });
    req.once('timeout', () => req.destroy(new Error('ETIMEDOUT')));
    req.once('error', (e: NodeJS.ErrnoException) => {
      const why =
        e.code === 'ENOENT' ? 'no such socket'
        : e.code === 'ECONNREFUSED' ? 'nothing is listening (stale socket)'
        : e.code === 'EACCES' ? 'permission denied (run as the switch\'s user)'
        : (e.code ?? e.message);
      reject(new AdminUnreachableError(`no linc-ts switch at ${socketPath}: ${why}`));
    });
    req.end(payload);
  });
}

export interface AdminStatus extends AdminSwitchStatus {
  pid: number;
  windows: Array<{ port: number; name: string; running: boolean }>;
}

export const adminClient = {
  status: (socket: string) => adminRequest<AdminStatus>(socket, 'GET', '/v1/status'),
  llstatStart: (socket: string, which: string) => adminRequest<{ started: number[] }>(socket, 'POST', `/v1/llstat/start?port=${encodeURIComponent(which)}`),
  llstatStop: (socket: string, which?: string) =>
    adminRequest<{ stopped: number[] }>(socket, 'POST', `/v1/llstat/stop${which === undefined ? '' : `?port=${encodeURIComponent(which)}`}`),
  llstatShow: (socket: string, which?: string) =>
    adminRequest<{ reports: LlstatReport[] }>(socket, 'GET', `/v1/llstat${which === undefined ? '' : `?port=${encodeURIComponent(which)}`}`),
};
