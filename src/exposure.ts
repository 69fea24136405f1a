/*
 * Safe exposure: at start, one warning per endpoint that anyone on the
 * network could reach without TLS — an OpenFlow ptcp: listener (full,
 * unauthenticated control of the switch) or the Prometheus /metrics server
 * bound to a non-loopback address (0.0.0.0, ::, or a specific non-loopback
 * address or a host name). Each warning names the endpoint and what to do.
 *
 * pssl: listeners (TLS with client certificates), punix: sockets (mode
 * 0600) and the admin socket (mode 0600, src/stats/admin.ts) are not
 * exposed and get no warning. Nothing here changes what is bound.
 */

import { BlockList, isIP } from 'node:net';
import type { SwitchConfig } from './config.js';
import { hostSpec } from './openflow/transport/connections.js';
import type { Logger } from './stats/log.js';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8, ::1, ::ffff:127.x.x.x and "localhost"; anything else may be reachable from outside. */
export function isLoopbackHost(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

function hostPort(host: string, port: number): string {
  return `${hostSpec(host)}:${port}`;
}

/** Logs one warning per exposed endpoint of `cfg`; returns how many. */
export function warnExposedEndpoints(cfg: Pick<SwitchConfig, 'listen' | 'metrics'>, log: Logger): number {
  let n = 0;
  for (const t of cfg.listen) {
    if (t.tls || t.path !== undefined || isLoopbackHost(t.host)) continue;
    log.warn(
      { endpoint: t.spec },
      `OpenFlow listener ${t.spec} is open on a non-loopback address without TLS: whoever reaches it controls the switch; use pssl: (with --private-key, --certificate, --ca-cert) or punix:, or bind it to 127.0.0.1`,
    );
    n++;
  }
  const m = cfg.metrics;
  if (m !== null && !isLoopbackHost(m.host)) {
    log.warn(
      { endpoint: hostPort(m.host, m.port) },
      `metrics endpoint ${hostPort(m.host, m.port)} is open on a non-loopback address without TLS: whoever reaches it reads the switch's counters; bind it to 127.0.0.1 (--metrics 127.0.0.1:${m.port}) or serve it through a TLS proxy`,
    );
    n++;
  }
  return n;
}
