/*
 * TAP -> TAP 64-byte UDP through linc-ts with each TAP I/O mode (io=uring:
 * one io_uring_enter per burst; io=rw: one read/write per frame), measured
 * in one run, interleaved round by round, pinned: the switch on core 1, this
 * process (and so trafgen and the namespace hosts it starts) on core 0.
 * Figures are medians over the rounds with their spread; the ratio uring/rw
 * is the result (the machine is shared: absolute rates move between runs).
 */

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, sh, Topology } from '../test/helpers/netns.js';
import { sleep, stopProc, udpPps, type Setup } from './e2e.js';
import { median } from './inprocess.js';

export const TAP_IO_BENCH_MODES = ['uring', 'rw'] as const;
type Mode = (typeof TAP_IO_BENCH_MODES)[number];

export interface TapIoResult {
  mode: Mode;
  deliveredKpps: number[];
  offeredKpps: number[];
}

async function oneRound(mode: Mode, seconds: number, dir: string): Promise<{ offered: number; delivered: number }> {
  const topo = new Topology();
  const nsA = topo.addNamespace('A');
  const nsB = topo.addNamespace('B');
  const devA = topo.ifname('ua');
  const devB = topo.ifname('ub');
  const args = [cliPath, 'run', '--metrics', 'off', '--admin-socket', 'off', '--log-level', 'warn', '--port', `tap:${devA}=1,io=${mode}`, '--port', `tap:${devB}=2,io=${mode}`];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    sh(`taskset -a -pc 1 ${proc.pid}`); // every thread of the switch on core 1
    for (let i = 0; i < 100 && !(existsSync(`/sys/class/net/${devA}`) && existsSync(`/sys/class/net/${devB}`)); i++) await sleep(100);
    topo.attach(devA, nsA, '10.78.0.1/24');
    topo.attach(devB, nsB, '10.78.0.2/24');
    topo.exec(nsA, 'ping -c 2 -i 0.2 -W 2 10.78.0.2');
    const s: Setup = { topo, nsA, nsB, devA, devB, proc };
    return await udpPps(s, seconds, dir);
  } finally {
    await stopProc(proc);
    topo.cleanup();
  }
}

/** `rounds` rounds, each measuring every mode once, alternating which goes first. */
export async function runTapIo(opts: { rounds: number; seconds: number; log?: (s: string) => void }): Promise<TapIoResult[]> {
  sh(`taskset -a -pc 0 ${process.pid}`); // this process, and what it starts from now on (trafgen, ping), on core 0
  const dir = mkdtempSync(join(tmpdir(), 'linc-tapio-bench-'));
  const results = TAP_IO_BENCH_MODES.map((mode): TapIoResult => ({ mode, deliveredKpps: [], offeredKpps: [] }));
  try {
    for (let round = 0; round < opts.rounds; round++) {
      const order = round % 2 === 0 ? results : [...results].reverse();
      for (const r of order) {
        const m = await oneRound(r.mode, opts.seconds, dir);
        r.deliveredKpps.push(m.delivered / 1e3);
        r.offeredKpps.push(m.offered / 1e3);
        opts.log?.(`tapio round ${round + 1} io=${r.mode}: offered ${(m.offered / 1e3).toFixed(0)} kpps, delivered ${(m.delivered / 1e3).toFixed(0)} kpps`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

/** Table rows: mode, offered and delivered kpps (median, min-max), ratio to io=rw. */
export function formatTapIo(results: TapIoResult[]): string[] {
  const rw = median(results.find((r) => r.mode === 'rw')!.deliveredKpps);
  return results.map((r) => {
    const d = median(r.deliveredKpps);
    const spread = `${Math.min(...r.deliveredKpps).toFixed(0)}-${Math.max(...r.deliveredKpps).toFixed(0)}`;
    return `| TAP -> TAP 64 B | io=${r.mode} | ${median(r.offeredKpps).toFixed(0)} | ${d.toFixed(0)} (${spread}) | ${(d / rw).toFixed(2)} |`;
  });
}
