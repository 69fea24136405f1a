/*
 * End-to-end benchmark: two namespace hosts, A and B, joined by a forwarder,
 * measured in one run for each forwarder on the same topology:
 *
 *   tap:    A[tap] <-fd-> forwarder <-fd-> [tap]B     linc-ts | C poll+read/write
 *   veth:   A[veth]--[veth] forwarder [veth]--[veth]B  linc-ts | C recvmmsg/sendmmsg | Linux bridge
 *
 * Per forwarder: 64-byte UDP frames from trafgen (one core) in A, delivered
 * pps counted by B's interface, offered pps and loss; iperf3 TCP Gbit/s with
 * the hosts' default offloads; ping p50 latency; the forwarder's RSS under
 * load. Each figure is the median of `runs` runs. Only namespaces, TAPs and
 * veths made here carry traffic, and all of them are removed at the end.
 */

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, linkMac, linkStats, repoRoot, sh, Topology } from '../test/helpers/netns.js';
import { type Iperf3Json, udpFlood } from '../test/helpers/traffic.js';
import { median } from './inprocess.js';
import { trafgenConfig, udpTemplate } from './frames.js';

export type Forwarder = 'linc-ts' | 'linc-ts busy-poll' | 'c-fwd' | 'bridge';
export type Link = 'tap' | 'veth';

export interface E2eResult {
  link: Link;
  forwarder: Forwarder;
  offeredKpps: number;
  deliveredKpps: number;
  lossPct: number;
  /** Loss of BELOW_KNEE_DATAGRAMS paced datagrams, below every forwarder's knee. */
  lossBelowKneePct: number;
  tcpGbps: number;
  pingP50Us: number;
  rssMB: number;
}

/**
 * The below-the-knee loss figure: datagrams from a paced sender (bursts of
 * 32, then 1 ms of sleep: tens of kpps) counted by a receiving socket.
 * trafgen's own rate limit (-b) sends in ring-sized bursts that overflow a
 * TAP's queue whatever forwards it, so it cannot measure this.
 */
export const BELOW_KNEE_DATAGRAMS = 50_000;

const fwdBin = join(repoRoot, 'bench', 'baseline', 'fwd');

function buildBaseline(): void {
  const src = join(repoRoot, 'bench', 'baseline', 'fwd.c');
  execFileSync('cc', ['-O2', '-Wall', '-o', fwdBin, src], { stdio: 'inherit' });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor(proc: ChildProcess, text: string, timeoutMs = 15_000): Promise<void> {
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`forwarder did not print "${text}": ${seen.slice(-500)}`)), timeoutMs);
    const on = (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(text)) {
        clearTimeout(t);
        resolve();
      }
    };
    proc.stdout?.on('data', on);
    proc.stderr?.on('data', on);
    proc.once('exit', (code) => reject(new Error(`forwarder exited ${code}: ${seen.slice(-500)}`)));
  });
}

function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

export async function stopProc(p: ChildProcess | null, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise((r) => p.once('exit', r));
  p.kill(signal);
  const t = setTimeout(() => p.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(t);
}

/** SIGINT to a process group we started (trafgen and its worker), then SIGKILL if it lingers. */
async function stopGroup(p: ChildProcess): Promise<void> {
  const pgid = p.pid!;
  const done = p.exitCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r));
  try {
    process.kill(-pgid, 'SIGINT');
  } catch {
    return;
  }
  const t = setTimeout(() => {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }, 5000);
  await done;
  clearTimeout(t);
  // The worker may outlive the parent by a moment: wait until the group is empty.
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return;
    }
    await sleep(100);
  }
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

function isLinc(fwd: Forwarder): boolean {
  return fwd === 'linc-ts' || fwd === 'linc-ts busy-poll';
}

/** Flags for a linc-ts run in the benchmark: no servers (nothing else listens), busy-poll when asked. */
function lincArgs(fwd: Forwarder): string[] {
  return ['--metrics', 'off', '--admin-socket', 'off', ...(fwd === 'linc-ts busy-poll' ? ['--busy-poll'] : [])];
}

export interface Setup {
  topo: Topology;
  nsA: string;
  nsB: string;
  devA: string;
  devB: string;
  proc: ChildProcess | null;
}

async function setUp(link: Link, fwd: Forwarder): Promise<Setup> {
  const topo = new Topology();
  const nsA = topo.addNamespace('A');
  const nsB = topo.addNamespace('B');
  let proc: ChildProcess | null = null;
  let devA: string;
  let devB: string;
  if (link === 'tap') {
    devA = topo.ifname('ta');
    devB = topo.ifname('tb');
    proc = isLinc(fwd)
      ? spawn(process.execPath, [cliPath, 'run', ...lincArgs(fwd), '--port', `tap:${devA}=1`, '--port', `tap:${devB}=2`, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(fwdBin, ['tap', devA, devB, '--vnet'], { stdio: ['ignore', 'pipe', 'pipe'] });
    if (isLinc(fwd)) {
      // --log-level warn prints nothing when all is well: wait for both TAPs to exist instead.
      for (let i = 0; i < 100 && !(existsSync(`/sys/class/net/${devA}`) && existsSync(`/sys/class/net/${devB}`)); i++) await sleep(100);
    } else {
      await waitFor(proc, 'ready');
    }
    topo.attach(devA, nsA, '10.77.0.1/24');
    topo.attach(devB, nsB, '10.77.0.2/24');
  } else {
    devA = topo.ifname('ia');
    devB = topo.ifname('ib');
    const outA = topo.ifname('oa');
    const outB = topo.ifname('ob');
    topo.veth(devA, outA, nsA, '10.77.0.1/24');
    topo.veth(devB, outB, nsB, '10.77.0.2/24');
    if (fwd === 'bridge') {
      const br = topo.ifname('br');
      sh(`ip link add ${br} type bridge`);
      topo.rootLinks.push(br);
      sh(`sysctl -qw net.ipv6.conf.${br}.disable_ipv6=1`);
      sh(`ip link set ${outA} master ${br} && ip link set ${outB} master ${br} && ip link set ${br} up`);
    } else if (isLinc(fwd)) {
      proc = spawn(process.execPath, [cliPath, 'run', ...lincArgs(fwd), '--port', `if:${outA}=1`, '--port', `if:${outB}=2`], { stdio: ['ignore', 'pipe', 'pipe'] });
      await waitFor(proc, 'switch running');
    } else {
      proc = spawn(fwdBin, ['packet', outA, outB, '--vnet'], { stdio: ['ignore', 'pipe', 'pipe'] });
      await waitFor(proc, 'ready');
    }
  }
  // Warm up: ARP and MAC learning in both directions.
  topo.exec(nsA, 'ping -c 2 -i 0.2 -W 2 10.77.0.2');
  return { topo, nsA, nsB, devA, devB, proc };
}

/** 64-byte UDP frames from trafgen in A to B for `seconds`, at full speed. */
export async function udpPps(s: Setup, seconds: number, dir: string): Promise<{ offered: number; delivered: number; rss: number }> {
  const frame = udpTemplate(parseInt(linkMac(s.nsB, s.devB).replaceAll(':', ''), 16), parseInt(linkMac(s.nsA, s.devA).replaceAll(':', ''), 16), 60, 0x0a4d0001, 0x0a4d0002);
  const cfg = join(dir, 'udp64.cfg');
  writeFileSync(cfg, trafgenConfig(frame));
  const a0 = linkStats(s.nsA, s.devA);
  const b0 = linkStats(s.nsB, s.devB);
  // -P 1: one generator process; -Q: leave IRQ affinity alone (inside a namespace it cannot change socket memory limits).
  // trafgen forks its generator; it runs in a process group of its own so that ^C reaches both.
  const gen = spawn('ip', ['netns', 'exec', s.nsA, 'trafgen', '-o', s.devA, '-i', cfg, '-P', '1', '-Q', '-C', '-q'], { stdio: 'ignore', detached: true });
  let rss = 0;
  try {
    await sleep(seconds * 500);
    rss = s.proc ? rssMB(s.proc.pid!) : 0;
    await sleep(seconds * 500);
  } finally {
    await stopGroup(gen);
  }
  await sleep(300);
  const a1 = linkStats(s.nsA, s.devA);
  const b1 = linkStats(s.nsB, s.devB);
  // What A's interface took (sent or dropped at its queue) is what was offered.
  const offered = a1.txPackets - a0.txPackets + (a1.txDropped - a0.txDropped);
  const delivered = b1.rxPackets - b0.rxPackets;
  return { offered: offered / seconds, delivered: delivered / seconds, rss };
}

async function tcpGbps(s: Setup, seconds: number): Promise<number> {
  const server = spawn('ip', ['netns', 'exec', s.nsB, 'iperf3', '-s', '-1', '-B', '10.77.0.2'], { stdio: 'ignore' });
  try {
    await sleep(400);
    const out = JSON.parse(s.topo.exec(s.nsA, `iperf3 -J -c 10.77.0.2 -t ${seconds}`, { timeoutMs: (seconds + 30) * 1000 })) as Iperf3Json;
    return out.end.sum_received.bits_per_second / 1e9;
  } finally {
    await stopProc(server);
  }
}

function pingP50Us(s: Setup): number {
  const out = s.topo.exec(s.nsA, 'ping -c 200 -i 0.005 -W 1 10.77.0.2', { timeoutMs: 30_000 });
  const times = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]) * 1000);
  return times.length ? median(times) : NaN;
}

export async function runE2e(opts: { runs?: number; seconds?: number; only?: Link[]; log?: (s: string) => void } = {}): Promise<E2eResult[]> {
  const runs = opts.runs ?? 3;
  const seconds = opts.seconds ?? 3;
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  if (!existsSync(fwdBin)) buildBaseline();
  const dir = mkdtempSync(join(tmpdir(), 'linc-bench-'));
  const plan: Array<[Link, Forwarder]> = [
    ['tap', 'linc-ts'],
    ['tap', 'linc-ts busy-poll'],
    ['tap', 'c-fwd'],
    ['veth', 'linc-ts'],
    ['veth', 'linc-ts busy-poll'],
    ['veth', 'c-fwd'],
    ['veth', 'bridge'],
  ];
  const results: E2eResult[] = [];
  try {
    for (const [link, fwd] of plan.filter(([l]) => !opts.only || opts.only.includes(l))) {
      const samples: Array<{ offered: number; delivered: number; rss: number; tcp: number; p50: number; lossBelow: number }> = [];
      for (let r = 0; r < runs; r++) {
        const s = await setUp(link, fwd);
        try {
          const u = await udpPps(s, seconds, dir);
          const received = await udpFlood(s.nsA, s.nsB, '10.77.0.2', BELOW_KNEE_DATAGRAMS, 64);
          const lossBelow = (1 - received / BELOW_KNEE_DATAGRAMS) * 100;
          const tcp = await tcpGbps(s, seconds);
          const p50 = pingP50Us(s);
          samples.push({ ...u, tcp, p50, lossBelow });
          log(`  ${link}/${fwd} run ${r + 1}: offered ${(u.offered / 1e3).toFixed(0)} kpps, delivered ${(u.delivered / 1e3).toFixed(0)} kpps, paced loss ${lossBelow.toFixed(2)} %, TCP ${tcp.toFixed(2)} Gbit/s, ping p50 ${p50.toFixed(0)} us`);
        } finally {
          await stopProc(s.proc);
          s.topo.cleanup();
        }
      }
      const offered = median(samples.map((x) => x.offered));
      const delivered = median(samples.map((x) => x.delivered));
      results.push({
        link,
        forwarder: fwd,
        offeredKpps: offered / 1e3,
        deliveredKpps: delivered / 1e3,
        lossPct: offered > 0 ? Math.max(0, (1 - median(samples.map((x) => x.delivered / x.offered))) * 100) : 0,
        lossBelowKneePct: median(samples.map((x) => x.lossBelow)),
        tcpGbps: median(samples.map((x) => x.tcp)),
        pingP50Us: median(samples.map((x) => x.p50)),
        rssMB: median(samples.map((x) => x.rss)),
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
