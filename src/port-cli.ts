/*
 * `linc-ts port`: add, remove and list the ports of a running switch
 * through its admin socket (the routes of src/port-routes.ts).
 *
 *   linc-ts port add SPEC            SPEC: tap:NAME[=OFPORT] or if:NAME[=OFPORT]
 *   linc-ts port del NAME|OFPORT
 *   linc-ts port list [--json]
 *
 * Exit codes: 0 done, 1 the switch cannot be reached or refused the request
 * (one line on stderr naming why), 2 usage error.
 */

import type { Command } from 'commander';
import type { PortView } from './port-manager.js';
import type { PortAddAnswer, PortDeleteAnswer, PortListAnswer } from './port-routes.js';
import { adminRequest, AdminRequestError, AdminUnreachableError, defaultAdminSocketPath } from './stats/admin.js';

interface SocketOpts {
  adminSocket?: string;
}

function fail(message: string, code: number): never {
  process.stderr.write(`linc-ts: ${message}\n`);
  process.exit(code);
}

/** One request; expected failures become one line and exit code 1. */
async function call<T>(opts: SocketOpts, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  try {
    return await adminRequest<T>(opts.adminSocket ?? defaultAdminSocketPath(), method, path, body);
  } catch (e) {
    if (e instanceof AdminUnreachableError) fail(`${e.message} (is \`linc-ts run\` running? --admin-socket selects another switch)`, 1);
    if (e instanceof AdminRequestError) fail(e.message, 1);
    throw e;
  }
}

/** "up", or "down: why" (and "up: where" when a port is up somewhere unusual). */
function stateText(v: PortView): string {
  return v.why === null ? v.state : `${v.state}: ${v.why}`;
}

/** The ports as a table: number, name, kind, state (and why). */
export function formatPortTable(ports: readonly PortView[]): string {
  if (ports.length === 0) return 'no ports\n';
  const rows = ports.map((p) => [String(p.port), p.name, p.kind, stateText(p)]);
  const head = ['PORT', 'NAME', 'KIND', 'STATE'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => [r[0].padStart(width[0]), r[1].padEnd(width[1]), r[2].padEnd(width[2]), r[3]].join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

function socketOption(cmd: Command): Command {
  return cmd.option('-s, --admin-socket <path>', `the switch's admin socket (default ${defaultAdminSocketPath()})`);
}

export function addPortCommand(program: Command): void {
  const port = program.command('port').description('Add, remove and list the ports of a running switch (through its admin socket).');

  socketOption(
    port
      .command('add')
      .argument('<spec>', 'tap:NAME[=OFPORT] or if:NAME[=OFPORT] (the lowest free number when none is given)')
      .description('add a port; an if: port whose interface does not exist yet waits for it'),
  ).action(async (spec: string, opts: SocketOpts) => {
    const r = await call<PortAddAnswer>(opts, 'POST', '/v1/ports', { spec });
    process.stdout.write(`added port ${r.added.port}: ${r.added.spec} (${stateText(r.added)})\n`);
  });

  socketOption(
    port
      .command('del')
      .alias('delete')
      .argument('<port>', 'the port\'s name or OpenFlow number')
      .description('remove a port; flows that name it stay, and what they send to it is dropped and counted'),
  ).action(async (which: string, opts: SocketOpts) => {
    const r = await call<PortDeleteAnswer>(opts, 'POST', '/v1/ports/delete', { port: which });
    process.stdout.write(`removed port ${r.removed.port}: ${r.removed.spec}\n`);
  });

  socketOption(
    port
      .command('list')
      .alias('ls')
      .option('--json', 'print the ports as JSON')
      .description('list the ports: number, name, kind, state and why a port is down'),
  ).action(async (opts: SocketOpts & { json?: boolean }) => {
    const r = await call<PortListAnswer>(opts, 'GET', '/v1/ports');
    process.stdout.write(opts.json ? JSON.stringify(r.ports, null, 2) + '\n' : formatPortTable(r.ports));
  });
}
