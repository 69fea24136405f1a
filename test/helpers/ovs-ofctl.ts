/*
 * Debian's `ovs-ofctl -O OpenFlow13` against a linc-ts listener on
 * 127.0.0.1, for integration tests: run a command (with or without the
 * expectation that it succeeds), parse `dump-flows` lines into their fields,
 * and pick a free TCP port on loopback for a listener or a controller.
 *
 * A dump-flows line, as ovs-ofctl prints it:
 *   ` cookie=0x0, duration=1.5s, table=0, n_packets=4, n_bytes=336, idle_timeout=5, send_flow_rem priority=10,ip,nw_dst=10.0.0.0/8 actions=dec_ttl,output:2`
 * the statistics are ", "-separated key=value pairs; after the last ", "
 * come the flags (space-separated) and the match (","-separated, protocol
 * keywords such as `ip` or `udp` without a value); then ` actions=`.
 */

import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';

export interface OfctlResult {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * `ovs-ofctl -O OpenFlow13 [options] CMD tcp:127.0.0.1:PORT [args]`, whatever its exit status.
 * `input` is written to its stdin (for `add-flows TARGET -`).
 */
export function ofctlRun(port: number, cmd: string, args: string[] = [], opts: { options?: string[]; input?: string; timeoutMs?: number } = {}): OfctlResult {
  const argv = ['-O', 'OpenFlow13', ...(opts.options ?? []), cmd, `tcp:127.0.0.1:${port}`, ...args];
  try {
    const stdout = execFileSync('ovs-ofctl', argv, {
      encoding: 'utf8',
      timeout: opts.timeoutMs ?? 15_000,
      input: opts.input,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    return { status: 0, stdout, stderr: '' };
  } catch (e) {
    const err = e as { status?: number | null; stdout?: string; stderr?: string; signal?: string };
    if (err.status === undefined || err.status === null) throw new Error(`ovs-ofctl ${argv.join(' ')}: ${err.signal ?? String(e)}`);
    return { status: err.status, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** Like ofctlRun, but the command must succeed; returns its stdout. */
export function ofctl(port: number, cmd: string, args: string[] = [], opts: { options?: string[]; input?: string } = {}): string {
  const r = ofctlRun(port, cmd, args, opts);
  if (r.status !== 0) throw new Error(`ovs-ofctl ${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

export interface DumpedFlow {
  /** The statistics part: cookie, duration, table, n_packets, n_bytes, idle_timeout, ... */
  stats: Record<string, string>;
  table: number;
  nPackets: number;
  nBytes: number;
  /** 32768 when ovs-ofctl omits it (the default priority). */
  priority: number;
  /** Flags printed before the match (send_flow_rem, reset_counts, ...). */
  flags: string[];
  /** Match fields with a value (in_port, nw_src, ...), as printed. */
  fields: Record<string, string>;
  /** Match keywords without a value (ip, udp, arp, ipv6, ...). */
  keywords: string[];
  /** Everything after ` actions=`. */
  actions: string;
  line: string;
}

/** The flows of an `ovs-ofctl dump-flows` output (header lines skipped). */
function parseDumpFlows(out: string): DumpedFlow[] {
  const flows: DumpedFlow[] = [];
  for (const raw of out.split('\n')) {
    const line = raw.trim();
    if (!line.startsWith('cookie=')) continue;
    const at = line.indexOf(' actions=');
    if (at < 0) throw new Error(`dump-flows line without actions: ${line}`);
    // An empty match at the default priority leaves "n_bytes=0, actions=...".
    const head = line.slice(0, at).replace(/,$/, '');
    const actions = line.slice(at + ' actions='.length);
    const parts = head.split(', ');
    const last = line.slice(0, at).endsWith(',') ? '' : parts.pop()!;
    const stats: Record<string, string> = {};
    for (const p of parts) {
      const eq = p.indexOf('=');
      stats[p.slice(0, eq)] = p.slice(eq + 1);
    }
    // The last part holds space-separated flags, then the match.
    const words = last === '' ? [] : last.split(' ');
    const matchText = words.pop() ?? '';
    const flags = words;
    const fields: Record<string, string> = {};
    const keywords: string[] = [];
    for (const tok of matchText.split(',').filter((t) => t !== '')) {
      const e = tok.indexOf('=');
      if (e < 0) keywords.push(tok);
      else fields[tok.slice(0, e)] = tok.slice(e + 1);
    }
    const priority = fields.priority === undefined ? 32768 : Number(fields.priority);
    delete fields.priority;
    flows.push({
      stats,
      table: Number(stats.table),
      nPackets: Number(stats.n_packets),
      nBytes: Number(stats.n_bytes),
      priority,
      flags,
      fields,
      keywords,
      actions,
      line,
    });
  }
  return flows;
}

/** The flows of the switch behind `port` (optionally filtered by an ovs-ofctl flow expression). */
export function dumpFlows(port: number, filter?: string): DumpedFlow[] {
  return parseDumpFlows(ofctl(port, 'dump-flows', filter === undefined ? [] : [filter]));
}

/** A TCP port that was free on 127.0.0.1 a moment ago (a server bound to port 0, then closed). */
export async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
