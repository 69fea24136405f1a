/*
 * `npm run bench -- --only rings`: the two I/O modes of if: ports side by
 * side, veth -> veth, with the C recvmmsg/sendmmsg forwarder
 * (bench/baseline/fwd.c, `packet` mode) as the anchor:
 *
 *   A[veth]--[veth] forwarder [veth]--[veth]B
 *   forwarders: linc-ts mode=ring | mode=mmsg | mode=xdp (AF_XDP, copy
 *   mode, generic XDP) | C recvmmsg/sendmmsg
 *               | Open vSwitch netdev (AF_PACKET ports, in_port flows; when installed)
 *
 * Pinned: the forwarder under test on core 1 (taskset), the generator
 * (trafgen, 64-byte UDP, one process) on core 0. Interleaved: every round
 * runs each forwarder once on a fresh topology, in the same order, so slow
 * phases of a shared machine hit them alike. Per forwarder: the median of
 * the rounds' delivered rates (frames B's interface received per second),
 * their spread, the ratio to the C forwarder (median of per-round ratios),
 * the ping p50 through it (idle, 100 pings 10 ms apart, before the flood), and
 * its resident memory in the middle of the flood (for linc-ts: what the
 * rings cost per port shows as the ring row's RSS above the mmsg row's).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, linkMac, linkStats, sh, Topology } from '../test/helpers/netns.js';
import { buildBaseline, fwdBin, rssMB, sleep, stopProc, waitFor } from './e2e.js';
import { trafgenConfig, udpTemplate } from './frames.js';
import { median } from './inprocess.js';
import { PrivateOvs } from './ovs.js';

export type RingForwarder = 'linc-ts ring' | 'linc-ts mmsg' | 'linc-ts xdp' | 'C recvmmsg/sendmmsg' | 'OVS netdev in_port';
const OVS = 'OVS netdev in_port';

function ovsInstalled(): boolean {
  try {
    sh('command -v ovs-vswitchd ovsdb-server ovs-vsctl ovs-ofctl');
    return true;
  } catch {
    return false;
  }
}

export interface RingBenchRow {
  forwarder: RingForwarder;
  /** Delivered kpps of each round, in round order. */
  roundsKpps: number[];
  medianKpps: number;
  /** Median over rounds of this forwarder's rate / the C forwarder's rate in the same round. */
  vsC: number;
  /** Median over rounds of this forwarder's rate / linc-ts mmsg's rate in the same round. */
  vsMmsg: number;
  /** Median over rounds of this forwarder's rate / OVS's rate in the same round (NaN without OVS). */
  vsOvs: number;
  pingP50Us: number;
  /** Median resident memory of the forwarding process during the flood, MB. */
  rssMB: number;
}

const FORWARDER_CPU = 1;
const GENERATOR_CPU = 0;

export async function startForwarder(fwd: RingForwarder, outA: string, outB: string): Promise<ChildProcess> {
  if (fwd === OVS) throw new Error('OVS is started by oneRound');
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

interface RoundSample {
  kpps: number;
  p50: number;
  rss: number;
}

/** One forwarder, one round: delivered kpps of 64-byte UDP at full speed for `seconds`, the idle ping p50, the forwarder's RSS. */
async function oneRound(fwd: RingForwarder, seconds: number, dir: string): Promise<RoundSample> {
  const topo = new Topology();
  let proc: ChildProcess | null = null;
  let ovs: PrivateOvs | null = null;
  try {
    const { nsA, nsB, inA: devA, inB: devB, outA, outB } = topo.vethHosts('10.78.0');
    if (fwd === OVS) {
      ovs = PrivateOvs.start(topo.ifname('ovs'), { cpu: FORWARDER_CPU, dbCpu: GENERATOR_CPU });
      ovs.addPort(outA, 'system', 1);
      ovs.addPort(outB, 'system', 2);
      await ovs.setFlows('in_port');
    } else {
      proc = await startForwarder(fwd, outA, outB);
    }
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
    await sleep(seconds * 500);
    const rss = ovs ? ovs.rssMB() : rssMB(proc!.pid!);
    await sleep(seconds * 500);
    const b1 = linkStats(nsB, devB).rxPackets;
    const t1 = process.hrtime.bigint();
    await stopGroup(gen);
    return { kpps: (b1 - b0) / (Number(t1 - t0) / 1e9) / 1e3, p50: times.length ? median(times) : NaN, rss };
  } finally {
    await stopProc(proc);
    await ovs?.stop();
    topo.cleanup();
  }
}

/**
 * OVS's round, tried twice: a private OVS with the netdev datapath cannot
 * start while another one runs on the host (another bench; they share the
 * datapath's device name). A round it could not run is NaN, left out below.
 */
async function ovsRound(seconds: number, dir: string, log: (s: string) => void): Promise<RoundSample> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await oneRound(OVS, seconds, dir);
    } catch (e) {
      log(`  rings: OVS round failed (${(e as Error).message.split('\n')[0]}), attempt ${attempt}/2`);
      if (attempt === 2) return { kpps: NaN, p50: NaN, rss: NaN };
      await sleep(5000);
    }
  }
}

/** Median of the finite values (NaN when none). */
function medianOf(xs: readonly number[]): number {
  const f = xs.filter((x) => Number.isFinite(x));
  return f.length ? median(f) : NaN;
}

export async function runRingBench(opts: { rounds?: number; seconds?: number; log?: (s: string) => void } = {}): Promise<RingBenchRow[]> {
  const rounds = opts.rounds ?? 5;
  const seconds = opts.seconds ?? 6;
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  buildBaseline();
  const forwarders: RingForwarder[] = ['linc-ts ring', 'linc-ts mmsg', 'linc-ts xdp', 'C recvmmsg/sendmmsg'];
  if (ovsInstalled()) forwarders.push(OVS);
  const dir = mkdtempSync(join(tmpdir(), 'linc-rings-bench-'));
  const samples = new Map<RingForwarder, RoundSample[]>(forwarders.map((f) => [f, []]));
  try {
    for (let r = 0; r < rounds; r++) {
      for (const fwd of forwarders) {
        const s = fwd === OVS ? await ovsRound(seconds, dir, log) : await oneRound(fwd, seconds, dir);
        samples.get(fwd)!.push(s);
        log(`  rings round ${r + 1}/${rounds} ${fwd}: ${s.kpps.toFixed(0)} kpps delivered, ping p50 ${s.p50.toFixed(0)} us, RSS ${s.rss.toFixed(0)} MB`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const c = samples.get('C recvmmsg/sendmmsg')!;
  const mmsg = samples.get('linc-ts mmsg')!;
  const ovsRounds = samples.get(OVS);
  return forwarders.map((fwd) => {
    const s = samples.get(fwd)!;
    return {
      forwarder: fwd,
      roundsKpps: s.map((x) => x.kpps),
      medianKpps: medianOf(s.map((x) => x.kpps)),
      vsC: medianOf(s.map((x, i) => x.kpps / c[i].kpps)),
      vsMmsg: medianOf(s.map((x, i) => x.kpps / mmsg[i].kpps)),
      vsOvs: ovsRounds ? medianOf(s.map((x, i) => x.kpps / ovsRounds[i].kpps)) : NaN,
      pingP50Us: medianOf(s.map((x) => x.p50)),
      rssMB: medianOf(s.map((x) => x.rss)),
    };
  });
}

/** The table's header line (its columns are formatRingBench's). */
export const RING_BENCH_HEADER =
  '| veth -> veth, 64 B UDP, if: port I/O modes (forwarder on core 1, trafgen on core 0; rounds interleaved) | delivered kpps, median (min..max) | vs C (per-round ratios) | vs linc-ts mmsg | vs OVS netdev | ping p50 us | RSS MB |';

/** Table rows: forwarder | delivered kpps (median, min..max) | vs C | vs mmsg | vs OVS | ping p50 | RSS. */
export function formatRingBench(rows: readonly RingBenchRow[]): string[] {
  return rows.map((r) => {
    const ran = r.roundsKpps.filter((x) => Number.isFinite(x));
    return `| ${r.forwarder} | ${r.medianKpps.toFixed(0)} (${Math.min(...ran).toFixed(0)}..${Math.max(...ran).toFixed(0)}${ran.length < r.roundsKpps.length ? `; ${ran.length} of ${r.roundsKpps.length} rounds ran` : ''}) | ${r.vsC.toFixed(2)} | ${r.vsMmsg.toFixed(2)} | ${Number.isNaN(r.vsOvs) ? '-' : r.vsOvs.toFixed(2)} | ${r.pingP50Us.toFixed(0)} | ${r.rssMB.toFixed(0)} |`;
  });
}
