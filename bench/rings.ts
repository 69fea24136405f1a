/*
 * `npm run bench -- --only rings`: the two I/O modes of if: ports side by
 * side, veth -> veth, with the C recvmmsg/sendmmsg forwarder
 * (bench/baseline/fwd.c, `packet` mode) as the anchor:
 *
 *   A[veth]--[veth] forwarder [veth]--[veth]B
 *   forwarders: linc-ts mode=ring | mode=mmsg | mode=xdp (AF_XDP, copy
 *   mode, generic XDP) | C recvmmsg/sendmmsg
 *
 * Pinned: the forwarder under test on core 1 (taskset), the generator
 * (trafgen, 64-byte UDP, one process) on core 0. Interleaved: every round
 * runs each forwarder once on a fresh topology, in the same order, so slow
 * phases of a shared machine hit them alike. Per forwarder: the median of
 * the rounds' delivered rates (frames B's interface received per second),
 * their spread, the ratio to the C forwarder (median of per-round ratios),
 * and the ping p50 through it (idle, 100 pings 10 ms apart).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, linkMac, linkStats, sh, Topology } from '../test/helpers/netns.js';
import { buildBaseline, fwdBin, sleep, stopProc, waitFor } from './e2e.js';
import { trafgenConfig, udpTemplate } from './frames.js';
import { median } from './inprocess.js';

export type RingForwarder = 'linc-ts ring' | 'linc-ts mmsg' | 'linc-ts xdp' | 'C recvmmsg/sendmmsg';
const FORWARDERS: readonly RingForwarder[] = ['linc-ts ring', 'linc-ts mmsg', 'linc-ts xdp', 'C recvmmsg/sendmmsg'];

export interface RingBenchRow {
  forwarder: RingForwarder;
  /** Delivered kpps of each round, in round order. */
  roundsKpps: number[];
  medianKpps: number;
  /** Median over rounds of this forwarder's rate / the C forwarder's rate in the same round. */
  vsC: number;
  /** Median over rounds of this forwarder's rate / linc-ts mmsg's rate in the same round. */
  vsMmsg: number;
  pingP50Us: number;
}

const FORWARDER_CPU = 1;
const GENERATOR_CPU = 0;

async function startForwarder(fwd: RingForwarder, outA: string, outB: string): Promise<ChildProcess> {
  if (fwd === 'C recvmmsg/sendmmsg') {
    const p = spawn(fwdBin, ['packet', outA, outB, '--vnet'], { stdio: ['ignore', 'pipe', 'pipe'] });
    await waitFor(p, 'ready');
    sh(`taskset -a -pc ${FORWARDER_CPU} ${p.pid}`);
    return p;
  }
  const mode = fwd === 'linc-ts ring' ? 'ring' : fwd === 'linc-ts xdp' ? 'xdp' : 'mmsg';
  const args = [cliPath, 'run', '--metrics', 'off', '--admin-socket', 'off', '--port', `if:${outA}=1,mode=${mode}`, '--port', `if:${outB}=2,mode=${mode}`];
  const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  await waitFor(p, 'switch running');
  // Every thread of it (libuv's pool too) on the forwarder's core.
  sh(`taskset -a -pc ${FORWARDER_CPU} ${p.pid}`);
  return p;
}

/** SIGINT to trafgen's process group (it forks its generator), then wait for the group to empty. */
async function stopGroup(p: ChildProcess): Promise<void> {
  const done = p.exitCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r));
  try {
    process.kill(-p.pid!, 'SIGINT');
  } catch {
    return;
  }
  await Promise.race([done, sleep(5000)]);
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(-p.pid!, 0);
    } catch {
      return;
    }
    await sleep(100);
  }
  try {
    process.kill(-p.pid!, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/** One forwarder, one round: delivered kpps of 64-byte UDP at full speed for `seconds`, and the idle ping p50. */
async function oneRound(fwd: RingForwarder, seconds: number, dir: string): Promise<{ kpps: number; p50: number }> {
  const topo = new Topology();
  let proc: ChildProcess | null = null;
  try {
    const nsA = topo.addNamespace('A');
    const nsB = topo.addNamespace('B');
    const devA = topo.ifname('ia');
    const devB = topo.ifname('ib');
    const outA = topo.ifname('oa');
    const outB = topo.ifname('ob');
    topo.veth(devA, outA, nsA, '10.78.0.1/24');
    topo.veth(devB, outB, nsB, '10.78.0.2/24');
    proc = await startForwarder(fwd, outA, outB);
    topo.exec(nsA, 'ping -c 2 -i 0.2 -W 2 10.78.0.2');
    const ping = topo.exec(nsA, 'ping -c 100 -i 0.01 -W 1 10.78.0.2', { timeoutMs: 30_000 });
    const times = [...ping.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]) * 1000);
    const frame = udpTemplate(parseInt(linkMac(nsB, devB).replaceAll(':', ''), 16), parseInt(linkMac(nsA, devA).replaceAll(':', ''), 16), 60, 0x0a4e0001, 0x0a4e0002);
    const cfg = join(dir, 'udp64.cfg');
    writeFileSync(cfg, trafgenConfig(frame));
    const gen = spawn('ip', ['netns', 'exec', nsA, 'taskset', '-c', String(GENERATOR_CPU), 'trafgen', '-o', devA, '-i', cfg, '-P', '1', '-Q', '-C', '-q'], { stdio: 'ignore', detached: true });
    // Count from a moment after the start (trafgen's ring warm-up), for `seconds`.
    await sleep(500);
    const b0 = linkStats(nsB, devB).rxPackets;
    const t0 = process.hrtime.bigint();
    await sleep(seconds * 1000);
    const b1 = linkStats(nsB, devB).rxPackets;
    const t1 = process.hrtime.bigint();
    await stopGroup(gen);
    return { kpps: (b1 - b0) / (Number(t1 - t0) / 1e9) / 1e3, p50: times.length ? median(times) : NaN };
  } finally {
    await stopProc(proc);
    topo.cleanup();
  }
}

export async function runRingBench(opts: { rounds?: number; seconds?: number; log?: (s: string) => void } = {}): Promise<RingBenchRow[]> {
  const rounds = opts.rounds ?? 5;
  const seconds = opts.seconds ?? 6;
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  buildBaseline();
  const dir = mkdtempSync(join(tmpdir(), 'linc-rings-bench-'));
  const samples = new Map<RingForwarder, Array<{ kpps: number; p50: number }>>(FORWARDERS.map((f) => [f, []]));
  try {
    for (let r = 0; r < rounds; r++) {
      for (const fwd of FORWARDERS) {
        const s = await oneRound(fwd, seconds, dir);
        samples.get(fwd)!.push(s);
        log(`  rings round ${r + 1}/${rounds} ${fwd}: ${s.kpps.toFixed(0)} kpps delivered, ping p50 ${s.p50.toFixed(0)} us`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const c = samples.get('C recvmmsg/sendmmsg')!;
  const mmsg = samples.get('linc-ts mmsg')!;
  return FORWARDERS.map((fwd) => {
    const s = samples.get(fwd)!;
    return {
      forwarder: fwd,
      roundsKpps: s.map((x) => x.kpps),
      medianKpps: median(s.map((x) => x.kpps)),
      vsC: median(s.map((x, i) => x.kpps / c[i].kpps)),
      vsMmsg: median(s.map((x, i) => x.kpps / mmsg[i].kpps)),
      pingP50Us: median(s.map((x) => x.p50)),
    };
  });
}

/** Table rows: forwarder | delivered kpps (median, min..max) | vs C | vs mmsg | ping p50. */
export function formatRingBench(rows: readonly RingBenchRow[]): string[] {
  return rows.map(
    (r) =>
      `| ${r.forwarder} | ${r.medianKpps.toFixed(0)} (${Math.min(...r.roundsKpps).toFixed(0)}..${Math.max(...r.roundsKpps).toFixed(0)}) | ${r.vsC.toFixed(2)} | ${r.vsMmsg.toFixed(2)} | ${r.pingP50Us.toFixed(0)} |`,
  );
}
