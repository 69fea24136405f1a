/*
 * Latency benchmark (`npm run bench -- --only latency`): UDP request/response
 * round-trip times between two namespace hosts joined through two TAPs by a
 * forwarder, and the forwarder's CPU time while idle, for linc-ts in each
 * receive mode (default: adaptive receive moderation; --no-adaptive-rx: sleep
 * until a port is readable; --busy-poll), and the anchors: the C poll
 * forwarder (bench/baseline/fwd.c), Open vSwitch's userspace datapath
 * (bench/ovs.ts: ovs-vswitchd, datapath_type=netdev, its own TAPs, in_port
 * flows) and a direct veth pair between the hosts (no forwarder: the floor).
 * The rows are LATENCY_FORWARDERS; --forwarder NAME picks some and
 * --base-tree DIR adds another tree's linc-ts beside each linc-ts row (A/B),
 * with the end-to-end benches' selection (e2e-forwarders.ts selectRows).
 *
 * Pinned: the forwarder on core 1, both hosts (udp-rtt client and server) on
 * core 0. Forwarders are interleaved round by round (every forwarder once
 * per round); figures are medians over rounds, ratios the median of the
 * per-round ratios. Two patterns: back to back
 * (the next request as soon as the reply is in, netperf UDP_RR style) and
 * paced (1 ms between a reply and the next request: a sleeping forwarder
 * wakes for every frame). Idle CPU: utime + stime from /proc/PID/stat over
 * IDLE_SECONDS with no traffic, after a second to settle.
 *
 * Two floors. "veth direct" keeps both hosts on core 0: a request and its
 * reply never leave the core (the client sleeps, the server runs on the same
 * core, no inter-processor wakeup at all), so it is the cost of the kernel's
 * UDP and veth path alone. Every forwarder row crosses cores twice per
 * direction (client on 0 -> forwarder on 1 -> server on 0, and back), and a
 * cross-core wakeup of a sleeping task costs tens of us. "veth direct, two
 * cores" is the same veth pair with the server host on core 1, where the
 * forwarders run: one cross-core wakeup per direction, the floor a path
 * between two cores can reach; the "vs veth" ratios use it (the one-core row
 * stays as a reference).
 */

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, sh, Topology } from '../test/helpers/netns.js';
import { median } from './inprocess.js';
import { buildBaseline, fwdBin, lincArgv, sleep, stopProc, waitFor } from './e2e.js';
import { PrivateOvs } from './ovs.js';
import { type LincStart, selectRows } from './e2e-forwarders.js';

/** How a row starts: linc-ts (flags, TAP port options, another tree's CLI), the C poll forwarder, OVS netdev, or none (a veth pair, the server host on `serverCpu`). */
type LatencyStart = { readonly linc: LincStart } | { readonly c: 'tap' } | { readonly ovs: 'in_port' } | { readonly veth: { readonly serverCpu: string } };

export interface LatencyRow {
  readonly name: string;
  readonly start: LatencyStart;
}

const FORWARDER_CPU = '1';
const HOST_CPU = '0';
const IDLE_SECONDS = 10;
const RTT_PORT = 7777;
/** The row the "vs veth" ratios use, and the one-core reference. */
const VETH_FLOOR = 'veth direct, two cores';

/** Every row, in the order each round runs them. */
export const LATENCY_FORWARDERS: readonly LatencyRow[] = [
  { name: 'linc-ts', start: { linc: {} } },
  { name: 'linc-ts --no-adaptive-rx', start: { linc: { flags: ['--no-adaptive-rx'] } } },
  { name: 'linc-ts --busy-poll', start: { linc: { flags: ['--busy-poll'] } } },
  { name: 'c-fwd', start: { c: 'tap' } },
  { name: 'ovs in_port', start: { ovs: 'in_port' } },
  { name: 'veth direct', start: { veth: { serverCpu: HOST_CPU } } },
  { name: VETH_FLOOR, start: { veth: { serverCpu: FORWARDER_CPU } } },
];

const baseline = join(repoRoot, 'bench', 'baseline');
const rttBin = join(baseline, 'udp-rtt');

export interface LatencySample {
  b2bP50: number;
  b2bP99: number;
  pacedP50: number;
  pacedP99: number;
  lost: number;
  idleCpuPct: number;
}

export interface LatencyResult extends LatencySample {
  /** The row's name. */
  forwarder: string;
  rounds: LatencySample[];
}

function build(): void {
  buildBaseline();
  if (!existsSync(rttBin)) execFileSync('cc', ['-O2', '-Wall', '-o', rttBin, join(baseline, 'udp-rtt.c')], { stdio: 'inherit' });
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

function startForwarder(start: { linc: LincStart } | { c: 'tap' }, devA: string, devB: string): ChildProcess {
  if ('c' in start) return spawn('taskset', ['-c', FORWARDER_CPU, fwdBin, 'tap', devA, devB, '--vnet'], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (start.linc.flows !== undefined) throw new Error('bench/latency: a linc-ts row with flows has no OpenFlow listener here');
  return spawn('taskset', ['-c', FORWARDER_CPU, process.execPath, ...lincArgv(start.linc, 'tap', devA, devB, '')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function rtt(topo: Topology, ns: string, count: number, gapUs: number): { p50: number; p99: number; lost: number } {
  const out = topo.exec(ns, `taskset -c ${HOST_CPU} ${rttBin} client 10.78.0.2 ${RTT_PORT} ${count} ${gapUs}`, { timeoutMs: 120_000 });
  const m = /sent (\d+) received (\d+) p50 ([\d.]+) p99 ([\d.]+)/.exec(out);
  if (!m) throw new Error(`udp-rtt: ${out}`);
  return { p50: Number(m[3]), p99: Number(m[4]), lost: Number(m[1]) - Number(m[2]) };
}

/** The forwarder between devA and devB (TAPs it makes; a veth pair for a veth row), and its pid for the idle CPU (none for a veth). */
async function setUp(start: LatencyStart, topo: Topology, devA: string, devB: string, made: { proc?: ChildProcess; ovs?: PrivateOvs }): Promise<number | undefined> {
  if ('veth' in start) {
    sh(`ip link add ${devA} type veth peer name ${devB}`);
    topo.rootLinks.push(devA); // gone with its namespace once moved; deleted here if the move failed
    return undefined;
  }
  if ('ovs' in start) {
    const ovs = (made.ovs = PrivateOvs.start(topo.ifname('yo'), { cpu: Number(FORWARDER_CPU), dbCpu: Number(HOST_CPU) }));
    ovs.addPort(devA, 'tap', 1);
    ovs.addPort(devB, 'tap', 2);
    // The bridge's OpenFlow socket and both TAPs come up a little after add-br/add-port return.
    const ready = () => existsSync(join(ovs.dir, `${ovs.bridge}.mgmt`)) && existsSync(`/sys/class/net/${devA}`) && existsSync(`/sys/class/net/${devB}`);
    for (let i = 0; i < 100 && !ready(); i++) await sleep(100);
    await ovs.setFlows(start.ovs);
    return ovs.vswitchdPid;
  }
  const proc = (made.proc = startForwarder(start, devA, devB));
  await waitFor(proc, 'c' in start ? 'ready' : 'switch running');
  return proc.pid;
}

async function measure(start: LatencyStart, opts: { b2b: number; paced: number; idleSeconds: number }): Promise<LatencySample> {
  const topo = new Topology();
  const devA = topo.ifname('ya');
  const devB = topo.ifname('yb');
  const made: { proc?: ChildProcess; ovs?: PrivateOvs } = {};
  let server: ChildProcess | null = null;
  try {
    const pid = await setUp(start, topo, devA, devB, made);
    const nsA = topo.addNamespace('ya');
    const nsB = topo.addNamespace('yb');
    topo.attach(devA, nsA, '10.78.0.1/24');
    topo.attach(devB, nsB, '10.78.0.2/24');
    server = spawn('ip', ['netns', 'exec', nsB, 'taskset', '-c', 'veth' in start ? start.veth.serverCpu : HOST_CPU, rttBin, 'server', '10.78.0.2', String(RTT_PORT)], { stdio: ['ignore', 'pipe', 'pipe'] });
    await waitFor(server, 'ready');
    topo.exec(nsA, 'ping -c 2 -i 0.2 -W 2 10.78.0.2'); // ARP and MAC learning
    rtt(topo, nsA, 200, 0); // warm up
    const b2b = rtt(topo, nsA, opts.b2b, 0);
    const paced = rtt(topo, nsA, opts.paced, 1000);
    let idleCpuPct = NaN;
    if (pid !== undefined) {
      await sleep(1000);
      const t0 = cpuTicks(pid);
      const w0 = performance.now();
      await sleep(opts.idleSeconds * 1000);
      idleCpuPct = ((cpuTicks(pid) - t0) / 100 / ((performance.now() - w0) / 1000)) * 100;
    }
    return { b2bP50: b2b.p50, b2bP99: b2b.p99, pacedP50: paced.p50, pacedP99: paced.p99, lost: b2b.lost + paced.lost, idleCpuPct };
  } finally {
    await stopProc(server);
    await stopProc(made.proc ?? null);
    await made.ovs?.stop();
    topo.cleanup();
  }
}

/** `forwarders`: the names of the rows to run (all by default); `baseTree`: another checkout with dist/ built, whose linc-ts runs beside each linc-ts row. */
export async function runLatency(
  opts: { rounds?: number; b2b?: number; paced?: number; idleSeconds?: number; forwarders?: readonly string[]; baseTree?: string; log?: (s: string) => void } = {},
): Promise<LatencyResult[]> {
  const rows = selectRows(LATENCY_FORWARDERS, opts.forwarders, opts.baseTree === undefined ? undefined : join(opts.baseTree, 'dist', 'src', 'cli.js'));
  const rounds = opts.rounds ?? 3;
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const m = { b2b: opts.b2b ?? 5000, paced: opts.paced ?? 1000, idleSeconds: opts.idleSeconds ?? IDLE_SECONDS };
  build();
  const samples = rows.map((): LatencySample[] => []);
  for (let r = 0; r < rounds; r++) {
    for (const [i, row] of rows.entries()) {
      const s = await measure(row.start, m);
      samples[i].push(s);
      log(
        `  latency round ${r + 1} ${row.name}: back to back p50 ${s.b2bP50.toFixed(0)} / p99 ${s.b2bP99.toFixed(0)} us, paced p50 ${s.pacedP50.toFixed(0)} / p99 ${s.pacedP99.toFixed(0)} us, lost ${s.lost}, idle CPU ${Number.isNaN(s.idleCpuPct) ? '-' : `${s.idleCpuPct.toFixed(2)} %`}`,
      );
    }
  }
  return rows.map((row, i) => {
    const xs = samples[i];
    const med = (k: keyof LatencySample) => median(xs.map((x) => x[k]));
    return { forwarder: row.name, rounds: xs, b2bP50: med('b2bP50'), b2bP99: med('b2bP99'), pacedP50: med('pacedP50'), pacedP99: med('pacedP99'), lost: med('lost'), idleCpuPct: med('idleCpuPct') };
  });
}

/**
 * Table rows: medians, the spread over rounds, each p50 against the C
 * forwarder's and the two-core direct veth's (VETH_FLOOR), each p99 against
 * OVS's (per-round ratios, median); '-' where the reference was not run.
 */
export function formatLatency(results: LatencyResult[]): string[] {
  const by = (f: string) => results.find((r) => r.forwarder === f);
  const [c, ovs, veth] = [by('c-fwd'), by('ovs in_port'), by(VETH_FLOOR)];
  const spread = (r: LatencyResult, k: keyof LatencySample) => `${Math.min(...r.rounds.map((x) => x[k])).toFixed(0)}-${Math.max(...r.rounds.map((x) => x[k])).toFixed(0)}`;
  // Paired: the median over rounds of this round's figure over the reference's in the same round (drift on a shared machine cancels).
  const ratio = (r: LatencyResult, ref: LatencyResult | undefined, k: keyof LatencySample) => (ref ? median(r.rounds.map((x, i) => x[k] / ref.rounds[i][k])).toFixed(2) : '-');
  const pattern = (r: LatencyResult, p50: 'b2bP50' | 'pacedP50', p99: 'b2bP99' | 'pacedP99') =>
    `${r[p50].toFixed(0)} (${spread(r, p50)}) | ${r[p99].toFixed(0)} (${spread(r, p99)}) | ${ratio(r, c, p50)} / ${ratio(r, veth, p50)} | ${ratio(r, ovs, p99)}`;
  return results.map(
    (r) => `| ${r.forwarder} | ${pattern(r, 'b2bP50', 'b2bP99')} | ${pattern(r, 'pacedP50', 'pacedP99')} | ${r.lost} | ${Number.isNaN(r.idleCpuPct) ? '-' : r.idleCpuPct.toFixed(2)} |`,
  );
}

export const LATENCY_TABLE_HEADER =
  `| UDP RTT through TAPs (64 B; forwarder on core 1, hosts on core 0 (veth direct, two cores: server on core 1); interleaved rounds, medians, (min-max)) | back to back p50 us | p99 us | p50 vs C / vs veth (two cores) | p99 vs OVS | paced 1 ms p50 us | p99 us | p50 vs C / vs veth (two cores) | p99 vs OVS | lost | idle CPU % (${IDLE_SECONDS} s) |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`;
