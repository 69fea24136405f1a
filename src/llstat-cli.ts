/*
 * `linc-ts llstat`: start, stop and show llstat windows of a running switch
 * through its admin socket (src/stats/admin.ts). With no --admin-socket it
 * talks to the default socket, which is where a switch started without the
 * flag listens, so with one switch running no flag is needed.
 *
 *   linc-ts llstat start PORT|all
 *   linc-ts llstat stop [PORT]
 *   linc-ts llstat show [PORT] [--watch SECONDS] [--json]
 *
 * Exit codes: 0 done, 1 the switch cannot be reached or refused the request
 * (one line on stderr), 2 usage error.
 */

import { Command } from 'commander';
import { adminClient, AdminRequestError, AdminUnreachableError, defaultAdminSocketPath } from './stats/admin.js';
import { formatLlstat, type LlstatReport } from './stats/llstat.js';

interface CommonOpts {
  adminSocket?: string;
}

function socketOf(opts: CommonOpts): string {
  return opts.adminSocket ?? defaultAdminSocketPath();
}

function fail(message: string, code: number): never {
  process.stderr.write(`linc-ts: ${message}\n`);
  process.exit(code);
}

/** Run one client call; expected failures become one line and exit code 1. */
async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof AdminUnreachableError) fail(`${e.message} (is \`linc-ts run\` running? --admin-socket selects another switch)`, 1);
    if (e instanceof AdminRequestError) fail(e.message, 1);
    throw e;
  }
}

function renderReports(reports: LlstatReport[]): string {
  return reports.map(formatLlstat).join('\n\n') + '\n';
}

function socketOption(cmd: Command): Command {
  return cmd.option('-s, --admin-socket <path>', `the switch's admin socket (default ${defaultAdminSocketPath()})`);
}

export function addLlstatCommand(program: Command): void {
  const llstat = program
    .command('llstat')
    .description('Low-level port counters of a running switch over a collection window: wakeups, frames per wakeup, kicks, rates, drops.');

  socketOption(
    llstat
      .command('start')
      .argument('<port>', 'an OpenFlow port number, a port name, or all')
      .description('open a window on a port (or all ports); a running window on the same port starts over'),
  ).action(async (port: string, opts: CommonOpts) => {
    const r = await call(() => adminClient.llstatStart(socketOf(opts), port));
    process.stdout.write(`llstat window started on port${r.started.length === 1 ? '' : 's'} ${r.started.join(', ') || '(none)'}\n`);
  });

  socketOption(
    llstat
      .command('stop')
      .argument('[port]', 'an OpenFlow port number or a port name (default: every window)')
      .description('stop the running windows; show keeps reporting them as they were at the stop'),
  ).action(async (port: string | undefined, opts: CommonOpts) => {
    const r = await call(() => adminClient.llstatStop(socketOf(opts), port));
    process.stdout.write(r.stopped.length ? `llstat window stopped on port${r.stopped.length === 1 ? '' : 's'} ${r.stopped.join(', ')}\n` : 'no running llstat window\n');
  });

  socketOption(
    llstat
      .command('show')
      .argument('[port]', 'an OpenFlow port number or a port name (default: every window)')
      .option('-w, --watch <seconds>', 'refresh every SECONDS until interrupted')
      .option('--json', 'print the reports as JSON (one line per refresh with --watch)')
      .description('report each window: since its start (running) or between start and stop'),
  ).action(async (port: string | undefined, opts: CommonOpts & { watch?: string; json?: boolean }) => {
    const socket = socketOf(opts);
    const render = (reports: LlstatReport[]) => (opts.json ? JSON.stringify(reports) + '\n' : renderReports(reports));
    if (opts.watch === undefined) {
      const r = await call(() => adminClient.llstatShow(socket, port));
      process.stdout.write(opts.json ? JSON.stringify(r.reports, null, 2) + '\n' : renderReports(r.reports));
      return;
    }
    const seconds = Number(opts.watch);
    if (!Number.isFinite(seconds) || seconds <= 0) fail(`option --watch: "${opts.watch}" is not a positive number of seconds`, 2);
    const inPlace = process.stdout.isTTY === true && !opts.json;
    process.once('SIGINT', () => process.exit(0));
    for (;;) {
      const r = await call(() => adminClient.llstatShow(socket, port));
      // On a terminal: cursor home + clear, so the report refreshes in place; otherwise one report after another.
      process.stdout.write((inPlace ? '\x1b[H\x1b[2J' : '') + render(r.reports) + (inPlace || opts.json ? '' : '\n'));
      await new Promise((res) => setTimeout(res, seconds * 1000));
    }
  });
}
