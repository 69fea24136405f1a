/*
 * The management commands that look inside a running switch through its
 * admin socket (the answers are src/inspect-routes.ts), in the spirit of
 * ovs-appctl:
 *
 *   linc-ts status                  datapath id, forwarding mode, controllers,
 *                                   listeners, uptime, ports with link state and counters
 *   linc-ts fdb show                the MAC learning table: port, VLAN, MAC, age
 *   linc-ts trace FLOW | --frame HEX [in_port=P]
 *                                   what the switch would do with a frame
 *                                   (tables, rules, actions, outputs), sending nothing
 *   linc-ts dump-cache              the caches in use; the megaflow cache's and the exact-match cache's entries and totals
 *
 * Each prints text by default and the switch's JSON answer with --json.
 * Exit codes: 0 done, 1 the switch cannot be reached or refused the request
 * (one line on stderr, `linc-ts:` first), 2 usage error (a flow that does
 * not parse, a bad option value).
 */

import { Command } from 'commander';
import type { FdbAnswer } from './inspect-routes.js';
import { formatCache, formatTrace, type CacheReport, type TraceReport } from './openflow/ofproto/trace-format.js';
import { FlowSyntaxError, inPortOf, parseFrameHex, parseTraceFlow } from './openflow/ofproto/trace-flow.js';
import { adminClient, adminRequest, AdminRequestError, AdminUnreachableError, defaultAdminSocketPath, type AdminStatus } from './stats/admin.js';

interface CommonOpts {
  adminSocket?: string;
  json?: boolean;
}

function fail(message: string, code: number): never {
  process.stderr.write(`linc-ts: ${message}\n`);
  process.exit(code);
}

/** Runs one request; an unreachable switch or a refusal becomes one line and exit code 1. */
async function call<T>(fn: (socket: string) => Promise<T>, opts: CommonOpts): Promise<T> {
  try {
    return await fn(opts.adminSocket ?? defaultAdminSocketPath());
  } catch (e) {
    if (e instanceof AdminUnreachableError) fail(`${e.message} (is \`linc-ts run\` running? --admin-socket selects another switch)`, 1);
    if (e instanceof AdminRequestError) fail(e.message, 1);
    throw e;
  }
}

function print(opts: CommonOpts, answer: unknown, text: () => string): void {
  process.stdout.write(opts.json ? JSON.stringify(answer, null, 2) + '\n' : text());
}

/** Columns padded to their widest cell; numbers right-aligned. */
function table(rows: Array<Array<string | number>>): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows
    .map((r) => r.map((c, i) => (typeof c === 'number' ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join('  ').trimEnd())
    .join('\n') + '\n';
}

function duration(sec: number): string {
  const d = Math.floor(sec / 86400), h = Math.floor((sec % 86400) / 3600), m = Math.floor((sec % 3600) / 60), s = sec % 60;
  return d > 0 ? `${d}d ${h}h ${m}m` : h > 0 ? `${h}h ${m}m ${s}s` : m > 0 ? `${m}m ${s}s` : `${s}s`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function formatStatus(st: AdminStatus): string {
  const out: string[] = [];
  out.push(`linc-ts ${st.version ?? ''} datapath ${st.datapathId}, pid ${st.pid}${st.uptimeSec !== undefined ? `, up ${duration(st.uptimeSec)}` : ''}`.replace('  ', ' '));
  if (st.mode) out.push(`forwarding: ${st.mode.forwarding === 'openflow' ? 'OpenFlow tables' : 'standalone learning switch'} (${st.mode.why})`);
  if (st.tables) out.push(`tables: ${plural(st.tables.flows, 'flow')}, ${plural(st.tables.groups, 'group')}, ${plural(st.tables.meters, 'meter')}; MAC table: ${plural(st.tables.macs, 'entry', 'entries')}`);
  const ctl = st.controllers ?? [];
  out.push(`controllers: ${ctl.length === 0 ? 'none configured' : ''}`.trimEnd());
  for (const c of ctl) {
    const err = c.lastError !== null && c.state !== 'connected' ? `, last: ${c.lastError}` : '';
    out.push(`  ${c.target}  ${c.state} for ${duration(c.forSec)}, role ${c.role}, ${plural(c.attempts, 'attempt')}${err}`);
  }
  const ls = st.listeners ?? [];
  out.push(`listeners: ${ls.length === 0 ? 'none' : ''}`.trimEnd());
  for (const l of ls) out.push(`  ${l.spec}  ${l.address ?? 'not listening'}`);
  for (const c of st.connections ?? []) out.push(`  connection from ${c.peer}: ${c.up ? 'up' : 'negotiating'}, role ${c.role}`);
  out.push('ports:');
  const rows: Array<Array<string | number>> = [['  PORT', 'NAME', 'KIND', 'LINK', 'MTU', 'MAC', 'RX_PKTS', 'RX_BYTES', 'RX_DROP', 'TX_PKTS', 'TX_BYTES', 'TX_DROP', 'FWD_DROP']];
  for (const p of st.ports) {
    const link = p.link === undefined ? '?' : p.link.up ? 'up' : !p.link.adminUp ? 'down' : !p.link.carrier ? 'no-carrier' : 'port-down';
    const cfg = p.config && p.config.length > 0 ? `${link}(${p.config.join(',')})` : link;
    rows.push([
      `  ${p.port}`, p.name, p.kind, cfg, p.link?.mtu ?? '', p.link?.mac ?? '',
      p.rx?.frames ?? '', p.rx?.bytes ?? '', p.rx?.dropped ?? '', p.tx?.frames ?? '', p.tx?.bytes ?? '', p.tx?.dropped ?? '', p.forwarding?.dropped ?? '',
    ]);
  }
  return out.join('\n') + '\n' + table(rows);
}

export function formatFdb(f: FdbAnswer): string {
  const rows: Array<Array<string | number>> = [[' port', 'NAME', 'VLAN', 'MAC', 'Age']];
  for (const e of f.entries) rows.push([e.port, e.name, e.vlan, e.mac, e.ageSec]);
  return table(rows) + `${plural(f.entries.length, 'entry', 'entries')} (at most ${f.maxEntries}, aging ${f.agingSec} s; learned ${f.stats.learned}, moved ${f.stats.moved}, evicted ${f.stats.evicted}, expired ${f.stats.expired})\n`;
}

function socketOption(cmd: Command): Command {
  return cmd
    .option('-s, --admin-socket <path>', `the switch's admin socket (default ${defaultAdminSocketPath()})`)
    .option('--json', 'print the switch\'s answer as JSON');
}

export function addInspectCommands(program: Command): void {
  socketOption(program.command('status').description('Datapath id, forwarding mode, controllers, listeners, uptime, ports with link state and counters.')).action(
    async (opts: CommonOpts) => {
      const st = await call((s) => adminClient.status(s), opts);
      print(opts, st, () => formatStatus(st));
    },
  );

  const fdbCmd = program.command('fdb').description('The MAC learning table of the standalone switch (and of the NORMAL action).');
  socketOption(fdbCmd.command('show').description('port, VLAN, MAC and age in seconds of every learned MAC')).action(async (opts: CommonOpts) => {
    const f = await call((s) => adminRequest<FdbAnswer>(s, 'GET', '/v1/fdb'), opts);
    print(opts, f, () => formatFdb(f));
  });

  socketOption(
    program
      .command('trace')
      .argument('[flow...]', 'in_port=PORT,dl_src=MAC,dl_dst=MAC,dl_vlan=N,ip|ipv6|arp|tcp|udp|icmp,nw_src=IP,nw_dst=IP,nw_proto=N,tp_src=N,tp_dst=N,... (ovs-ofctl flow syntax)')
      .option('--frame <hex>', 'trace these frame bytes instead of building a frame from the flow (the flow then gives only in_port)')
      .description('What the switch would do with a frame arriving on a port: the tables visited, the rule hit in each, the actions run, and where it goes. Sends nothing; changes no counter, cache or MAC entry.'),
  ).action(async (words: string[], opts: CommonOpts & { frame?: string }) => {
    const flow = words.join(',');
    try {
      // Check here, so that a typo is a usage error (exit 2) before the switch is asked.
      if (opts.frame !== undefined) {
        parseFrameHex(opts.frame);
        if (flow !== '') inPortOf(flow);
      } else if (flow === '') fail('trace: give a flow (in_port=1,dl_dst=...,...) or --frame HEX with in_port=PORT', 2);
      else parseTraceFlow(flow);
    } catch (e) {
      if (e instanceof FlowSyntaxError) fail(`trace: ${e.message}`, 2);
      throw e;
    }
    const body = { ...(flow !== '' ? { flow } : {}), ...(opts.frame !== undefined ? { frame: opts.frame } : {}) };
    const r = await call((s) => adminRequest<TraceReport>(s, 'POST', '/v1/trace', body), opts);
    print(opts, r, () => formatTrace(r));
  });

  socketOption(
    program
      .command('dump-cache')
      .option('--limit <n>', 'show at most N entries of each cache (default 1000)')
      .description('The caches in use and their live entries: the megaflow cache\'s (each one\'s mask and the fields it covers, the path of rules it stands for and its actions) and the exact-match cache\'s (the same with the full flow); the totals and masks.'),
  ).action(async (opts: CommonOpts & { limit?: string }) => {
    if (opts.limit !== undefined && !/^\d+$/.test(opts.limit)) fail(`option --limit: "${opts.limit}" is not a whole number`, 2);
    const r = await call((s) => adminRequest<CacheReport & { forwarding: string }>(s, 'GET', `/v1/cache${opts.limit !== undefined ? `?limit=${opts.limit}` : ''}`), opts);
    print(opts, r, () => formatCache(r, r.forwarding === 'openflow' ? 'OpenFlow tables' : 'standalone learning switch (the cache serves the OpenFlow tables only)'));
  });
}
