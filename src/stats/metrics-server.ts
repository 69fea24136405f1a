/*
 * The `/metrics` HTTP server: GET (or HEAD) /metrics is one scrape of the
 * switch's registry (SwitchMetrics.scrape), `/` points there, any other path
 * is a 404 and any other method a 405.
 *
 * Invariants: it listens only on the address it is given (the default is
 * loopback, config.ts); a failed scrape is a 500 and a log line, never a
 * crash; close() also ends the connections still open.
 */

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './log.js';
import type { SwitchMetrics } from './metrics.js';

export interface MetricsAddress {
  host: string;
  port: number;
}

export interface MetricsServer {
  /** Where it listens (the real port when 0 was asked). */
  readonly address: MetricsAddress;
  readonly url: string;
  close(): Promise<void>;
}

/** Serve `GET /metrics` (and a pointer at `/`) on host:port. Rejects if it cannot listen. */
export async function startMetricsServer(addr: MetricsAddress, metrics: SwitchMetrics, log?: Logger): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/metrics') {
      metrics.scrape().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (e: Error) => {
          log?.error({ err: e }, 'metrics scrape failed');
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`scrape failed: ${e.message}\n`);
        },
      );
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('linc-ts: metrics at /metrics\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const address = { host: addr.host, port: a.port };
  const url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/metrics`;
  log?.info({ url }, 'metrics server listening');
  return {
    address,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
