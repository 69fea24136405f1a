/*
 * End-to-end benchmark: two namespace hosts, A and B, joined by a forwarder,
 * measured in one run for each forwarder on the same topology:
 *
 *   tap:    A[tap] <-fd-> forwarder <-fd-> [tap]B
 *   veth:   A[veth]--[veth] forwarder [veth]--[veth]B
 *
 * The forwarders (linc-ts standalone, busy-poll and OpenFlow with 2 and 1,000
 * flows, the C forwarders, Open vSwitch netdev, the Linux bridge) are the rows
 * of FORWARDERS in bench/e2e-forwarders.ts: name, how to start, which links.
 *
 * On 2+ cores the forwarder under test runs alone on FWD_CPU (taskset) and
 * the generator, iperf3 and ping on HOST_CPU (trafgen's worker pins itself to
 * CPU 0, hence HOST_CPU 0). Rounds are interleaved: each round runs every
 * forwarder once (every other round in reverse order), so drift on a shared
 * machine spreads over all of them.
 * Per forwarder: 64-byte UDP frames from trafgen in A, delivered pps counted
 * by B's interface, offered pps and loss, with two sinks in turn (SINKS: B's
 * own stack, which answers each frame with a route lookup and a rate-limited
 * ICMP port unreachable; and a DROP rule in B's raw PREROUTING table, a
 * generator's receive port; in both, the kernel's delivery into B runs on
 * the forwarder's core, so the first charges every forwarder with B's stack
 * as well); iperf3 TCP Gbit/s with the hosts'
 * default offloads; ping p50/p99 RTT; the forwarder's RSS under load. Each
 * figure is the median over the rounds, with the delivered rate's spread.
 * Only namespaces, TAPs and veths made here carry traffic, and all of them
 * are removed at the end.
 */

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, linkMac, linkStats, repoRoot, sh, Topology } from '../test/helpers/netns.js';
import { type Iperf3Json, udpFlood } from '../test/helpers/traffic.js';
import { cpus } from 'node:os';
import { median } from './inprocess.js';
import { trafgenConfig, udpTemplate } from './frames.js';
import { PrivateOvs } from './ovs.js';
import { type ForwarderRow, type LincStart, type Link, openflowFlows, selectForwarders } from './e2e-forwarders.js';

export type { Link } from './e2e-forwarders.js';

export interface E2eResult {
  link: Link;
  /** The row's name in FORWARDERS. */
  forwarder: string;
  offeredKpps: number;
  deliveredKpps: number;
  /** Lowest and highest delivered rate over the rounds. */
  deliveredMinKpps: number;
  deliveredMaxKpps: number;
  lossPct: number;
  /** Loss of BELOW_KNEE_DATAGRAMS paced datagrams, below every forwarder's knee. */
  lossBelowKneePct: number;
  tcpGbps: number;
  pingP50Us: number;
  pingP99Us: number;
  rssMB: number;
  /** The forwarder process's CPU time (user + system) per delivered frame, and the share of a core it used. */
  cpuUsPerFrame: number;
  coreShare: number;
  /** The same with B dropping the frames in its raw PREROUTING table (the 'drop' sink): delivered rate, its spread, CPU per frame. */
  dropSinkKpps: number;
  dropSinkMinKpps: number;
  dropSinkMaxKpps: number;
  dropSinkCpuUsPerFrame: number;
}

/**
 * Where the 64-byte frames end in B: 'stack', B's IP stack (no listener: a
 * route lookup and a rate-limited ICMP port unreachable per frame); 'drop',
 * an iptables DROP rule in B's raw PREROUTING table, before routing.
 */
export type Sink = 'stack' | 'drop';

/** The forwarder's core and the hosts' (generator, iperf3, ping) core, on 2+ cores; undefined: unpinned. */
export const FWD_CPU = cpus().length >= 2 ? 1 : undefined;
export const HOST_CPU = cpus().length >= 2 ? 0 : undefined;

/** argv prefix pinning a command to `cpu` (nothing when unpinned). */
function pin(cpu: number | undefined): string[] {
  return cpu === undefined ? [] : ['taskset', '-c', String(cpu)];
}

/** Spawns `cmd` pinned to FWD_CPU (taskset execs it: the pid is the command's). */
function spawnForwarder(cmd: string, args: string[]): ChildProcess {
  const argv = [...pin(FWD_CPU), cmd, ...args];
  return spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * The below-the-knee loss figure: datagrams from a paced sender (bursts of
 * 32, then 1 ms of sleep: tens of kpps) counted by a receiving socket.
 * trafgen's own rate limit (-b) sends in ring-sized bursts that overflow a
 * TAP's queue whatever forwards it, so it cannot measure this.
 */
export const BELOW_KNEE_DATAGRAMS = 50_000;

/** The C forwarder (bench/baseline/fwd.c and its io_uring / ring modes); built by buildBaseline(). */
export const fwdBin = join(repoRoot, 'bench', 'baseline', 'fwd');

const fwdSources = ['fwd.c', 'fwd-uring.c', 'fwd-ring.c', 'fwd.h'].map((f) => join(repoRoot, 'bench', 'baseline', f));

/** Builds bench/baseline/fwd when it is missing or older than one of its sources. */
export function buildBaseline(): void {
  if (existsSync(fwdBin) && fwdSources.every((f) => statSync(f).mtimeMs <= statSync(fwdBin).mtimeMs)) return;
  execFileSync('cc', ['-O2', '-Wall', '-o', fwdBin, ...fwdSources.filter((f) => f.endsWith('.c')), '-luring'], { stdio: 'inherit' });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves once `proc` prints `text` (stdout or stderr); rejects on timeout or exit first. */
export async function waitFor(proc: ChildProcess, text: string, timeoutMs = 15_000): Promise<void> {
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

/** CPU seconds (user + system, all threads) a process has used so far; NaN when unknown. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime (fields 14, 15) in USER_HZ ticks
  } catch {
    return NaN;
  }
}

export function rssMB(pid: number): number {
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

/** linc-ts's argv for a row: no servers but an OpenFlow listener when the row has flows, its flags, ports 1 and 2 with the row's options. */
export function lincArgv(linc: LincStart, kind: 'tap' | 'if', devA: string, devB: string, ofSocket: string): string[] {
  const port = (dev: string, n: number) => `${kind}:${dev}=${n}${linc.options ? `,${linc.options}` : ''}`;
  const openflow = linc.flows === undefined ? [] : ['--listen', `punix:${ofSocket}`, '--fail-mode', 'secure'];
  return [linc.cli ?? cliPath, 'run', '--metrics', 'off', '--admin-socket', 'off', ...openflow, ...(linc.flags ?? []), '--port', port(devA, 1), '--port', port(devB, 2)];
}

/**
 * Fills a linc-ts OpenFlow row's flow table the way a user would: the flows
 * in a file, `ovs-ofctl -O OpenFlow13 add-flows unix:SOCKET FILE` (on the
 * hosts' core), then checks with dump-aggregate that all of them are there.
 */
async function installFlows(ofSocket: string, count: number, dir: string): Promise<void> {
  for (let i = 0; i < 100 && !existsSync(ofSocket); i++) await sleep(100);
  const lines = openflowFlows(count);
  const file = join(dir, `flows-${count}.txt`);
  writeFileSync(file, lines.join('\n') + '\n');
  const [cmd, ...pre] = [...pin(HOST_CPU), 'ovs-ofctl'];
  const ofctl = (...args: string[]) => execFileSync(cmd, [...pre, '-O', 'OpenFlow13', ...args], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
  ofctl('add-flows', `unix:${ofSocket}`, file);
  const got = /flow_count=(\d+)/.exec(ofctl('dump-aggregate', `unix:${ofSocket}`));
  if (!got || Number(got[1]) !== lines.length) throw new Error(`linc-ts holds ${got?.[1] ?? 'no'} flows after add-flows of ${lines.length}`);
}

export interface Setup {
  topo: Topology;
  nsA: string;
  nsB: string;
  devA: string;
  devB: string;
  proc: ChildProcess | null;
  ovs?: PrivateOvs | null;
}

/** setUp, and on failure everything it made is removed before the error goes on. */
async function setUp(link: Link, row: ForwarderRow, dir: string): Promise<Setup> {
  const made: Partial<Setup> = {};
  try {
    return await buildSetup(link, row, dir, made);
  } catch (e) {
    await stopProc(made.proc ?? null);
    await made.ovs?.stop();
    made.topo?.cleanup();
    throw e;
  }
}

async function buildSetup(link: Link, row: ForwarderRow, dir: string, made: Partial<Setup>): Promise<Setup> {
  const topo = new Topology();
  made.topo = topo;
  const nsA = topo.addNamespace('A');
  const nsB = topo.addNamespace('B');
  const how = row.start;
  const ofSocket = join(dir, `of-${topo.id}.sock`);
  let proc: ChildProcess | null = null;
  let ovs: PrivateOvs | null = null;
  let devA: string;
  let devB: string;
  if ('ovs' in how) made.ovs = ovs = PrivateOvs.start(topo.ifname('ovs'), { cpu: FWD_CPU, dbCpu: HOST_CPU });
  if (link === 'tap') {
    devA = topo.ifname('ta');
    devB = topo.ifname('tb');
    if (ovs) {
      ovs.addPort(devA, 'tap', 1);
      ovs.addPort(devB, 'tap', 2);
    } else if ('linc' in how) {
      made.proc = proc = spawnForwarder(process.execPath, [...lincArgv(how.linc, 'tap', devA, devB, ofSocket), '--log-level', 'warn']);
    } else if ('c' in how) {
      made.proc = proc = spawnForwarder(fwdBin, [how.c.tap!, devA, devB, '--vnet']);
      await waitFor(proc, 'ready');
    } else {
      throw new Error(`${row.name} does not run on TAPs`);
    }
    // linc-ts with --log-level warn prints nothing when all is well: wait for both TAPs to exist instead.
    for (let i = 0; i < 100 && !(existsSync(`/sys/class/net/${devA}`) && existsSync(`/sys/class/net/${devB}`)); i++) await sleep(100);
    topo.attach(devA, nsA, '10.77.0.1/24');
    topo.attach(devB, nsB, '10.77.0.2/24');
  } else {
    devA = topo.ifname('ia');
    devB = topo.ifname('ib');
    const outA = topo.ifname('oa');
    const outB = topo.ifname('ob');
    topo.veth(devA, outA, nsA, '10.77.0.1/24');
    topo.veth(devB, outB, nsB, '10.77.0.2/24');
    if ('bridge' in how) {
      const br = topo.ifname('br');
      sh(`ip link add ${br} type bridge`);
      topo.rootLinks.push(br);
      sh(`sysctl -qw net.ipv6.conf.${br}.disable_ipv6=1`);
      sh(`ip link set ${outA} master ${br} && ip link set ${outB} master ${br} && ip link set ${br} up`);
    } else if (ovs) {
      ovs.addPort(outA, 'system', 1);
      ovs.addPort(outB, 'system', 2);
    } else if ('linc' in how) {
      made.proc = proc = spawnForwarder(process.execPath, lincArgv(how.linc, 'if', outA, outB, ofSocket));
      await waitFor(proc, 'switch running');
    } else if ('c' in how) {
      made.proc = proc = spawnForwarder(fwdBin, [how.c.veth!, outA, outB, '--vnet']);
      await waitFor(proc, 'ready');
    }
  }
  if ('ovs' in how) await ovs!.setFlows(how.ovs);
  if ('linc' in how && how.linc.flows !== undefined) await installFlows(ofSocket, how.linc.flows, dir);
  // Warm up: ARP and MAC learning in both directions.
  topo.exec(nsA, 'ping -c 2 -i 0.2 -W 2 10.77.0.2');
  return { topo, nsA, nsB, devA, devB, proc, ovs };
}

/** One UDP flood (udpPps): offered and delivered frames/s, the forwarder's RSS (MB), its CPU per delivered frame (us) and share of its core. */
export interface UdpRate { offered: number; delivered: number; rss: number; cpuUsPerFrame: number; coreShare: number }

/** 64-byte UDP frames from trafgen in A to B for `seconds`, at full speed, into `sink`. */
export async function udpPps(s: Setup, seconds: number, dir: string, sink: Sink = 'stack'): Promise<UdpRate> {
  const dropRule = `PREROUTING -i ${s.devB} -p udp -j DROP`;
  if (sink === 'drop') s.topo.exec(s.nsB, `iptables -t raw -I ${dropRule}`);
  try {
    return await udpPpsInto(s, seconds, dir);
  } finally {
    if (sink === 'drop') s.topo.exec(s.nsB, `iptables -t raw -D ${dropRule}`);
  }
}

async function udpPpsInto(s: Setup, seconds: number, dir: string): Promise<UdpRate> {
  const frame = udpTemplate(parseInt(linkMac(s.nsB, s.devB).replaceAll(':', ''), 16), parseInt(linkMac(s.nsA, s.devA).replaceAll(':', ''), 16), 60, 0x0a4d0001, 0x0a4d0002);
  const cfg = join(dir, 'udp64.cfg');
  writeFileSync(cfg, trafgenConfig(frame));
  const fwdPid = s.proc?.pid ?? s.ovs?.vswitchdPid;
  const cpu0 = cpuSeconds(fwdPid);
  const a0 = linkStats(s.nsA, s.devA);
  const b0 = linkStats(s.nsB, s.devB);
  // -P 1: one generator process; -Q: leave IRQ affinity alone (inside a namespace it cannot change socket memory limits).
  // trafgen forks its generator; it runs in a process group of its own so that ^C reaches both.
  const gen = spawn('ip', ['netns', 'exec', s.nsA, ...pin(HOST_CPU), 'trafgen', '-o', s.devA, '-i', cfg, '-P', '1', '-Q', '-C', '-q'], { stdio: 'ignore', detached: true });
  let rss = 0;
  try {
    await sleep(seconds * 500);
    rss = s.proc ? rssMB(s.proc.pid!) : s.ovs ? s.ovs.rssMB() : 0;
    await sleep(seconds * 500);
  } finally {
    await stopGroup(gen);
  }
  await sleep(300);
  const cpu1 = cpuSeconds(fwdPid);
  const a1 = linkStats(s.nsA, s.devA);
  const b1 = linkStats(s.nsB, s.devB);
  // What A's interface took (sent or dropped at its queue) is what was offered.
  const offered = a1.txPackets - a0.txPackets + (a1.txDropped - a0.txDropped);
  const delivered = b1.rxPackets - b0.rxPackets;
  // The forwarder's own CPU per delivered frame, and the share of its core it got (others may run there too).
  const cpu = cpu1 - cpu0;
  return { offered: offered / seconds, delivered: delivered / seconds, rss, cpuUsPerFrame: delivered > 0 ? (cpu / delivered) * 1e6 : NaN, coreShare: cpu / seconds };
}

async function tcpGbps(s: Setup, seconds: number): Promise<number> {
  const server = spawn('ip', ['netns', 'exec', s.nsB, ...pin(HOST_CPU), 'iperf3', '-s', '-1', '-B', '10.77.0.2'], { stdio: 'ignore' });
  try {
    await sleep(400);
    const out = JSON.parse(s.topo.exec(s.nsA, `${pin(HOST_CPU).join(' ')} iperf3 -J -c 10.77.0.2 -t ${seconds}`, { timeoutMs: (seconds + 30) * 1000 })) as Iperf3Json;
    return out.end.sum_received.bits_per_second / 1e9;
  } catch {
    return NaN; // iperf3 failed or stalled: no figure rather than no benchmark
  } finally {
    await stopProc(server);
  }
}

/** ICMP echo RTT through the forwarder, p50 and p99 of 200 pings 5 ms apart, in microseconds. */
function pingUs(s: Setup): { p50: number; p99: number } {
  const out = s.topo.exec(s.nsA, `${pin(HOST_CPU).join(' ')} ping -c 200 -i 0.005 -W 1 10.77.0.2`, { timeoutMs: 30_000 });
  const times = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]) * 1000).sort((a, b) => a - b);
  if (!times.length) return { p50: NaN, p99: NaN };
  return { p50: median(times), p99: times[Math.min(times.length - 1, Math.ceil(times.length * 0.99) - 1)] };
}

/** What every round runs, in order: each link's rows, TAP first. */
function planOf(rows: readonly ForwarderRow[], links: readonly Link[] | undefined): Array<readonly [Link, ForwarderRow]> {
  return (['tap', 'veth'] as const).filter((l) => !links || links.includes(l)).flatMap((link) => rows.filter((f) => f.links.includes(link)).map((f) => [link, f] as const));
}

interface Sample {
  offered: number;
  delivered: number;
  rss: number;
  tcp: number;
  p50: number;
  p99: number;
  lossBelow: number;
  cpuUsPerFrame: number;
  coreShare: number;
  dropDelivered: number;
  dropCpuUsPerFrame: number;
}

/**
 * `runs` rounds of every forwarder on the `only` links; `forwarders` names
 * rows of FORWARDERS (all by default); `baseTree`, another checkout with its
 * dist/ built, adds its linc-ts twin after each linc-ts row (A/B).
 */
export async function runE2e(opts: { runs?: number; seconds?: number; only?: Link[]; forwarders?: string[]; baseTree?: string; log?: (s: string) => void } = {}): Promise<E2eResult[]> {
  const runs = opts.runs ?? 3;
  const seconds = opts.seconds ?? 3;
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  buildBaseline();
  const dir = mkdtempSync(join(tmpdir(), 'linc-bench-'));
  const plan = planOf(selectForwarders(opts.forwarders, opts.baseTree === undefined ? undefined : join(opts.baseTree, 'dist', 'src', 'cli.js')), opts.only);
  const samples = new Map<string, Sample[]>(plan.map(([l, f]) => [`${l}/${f.name}`, []]));
  const began = Date.now();
  log(`  end-to-end: ${runs} interleaved rounds of ${plan.length} forwarders; ${FWD_CPU === undefined ? 'unpinned (1 core)' : `forwarder on CPU ${FWD_CPU}, generator and hosts on CPU ${HOST_CPU}`}`);
  try {
    for (let r = 0; r < runs; r++) {
      // Every other round runs the plan backwards: no forwarder always follows the same one.
      for (const [link, row] of r % 2 === 0 ? plan : [...plan].reverse()) {
        const fwd = row.name;
        // A forwarder that fails to start (everything it made is gone again) is tried once more; then it costs its sample, not the run.
        let s: Setup | null = null;
        for (let attempt = 1; attempt <= 2 && s === null; attempt++) {
          try {
            s = await setUp(link, row, dir);
          } catch (e) {
            const err = e as Error & { stderr?: Buffer | string };
            log(`  round ${r + 1} ${link}/${fwd}: setup failed (attempt ${attempt} of 2): ${err.message.split('\n')[0]}${err.stderr ? ` (${String(err.stderr).trim().split('\n').pop()})` : ''}`);
          }
        }
        if (s === null) continue;
        try {
          // The two sinks in turn, the order alternating by round.
          const first: Sink = r % 2 === 0 ? 'stack' : 'drop';
          const one = await udpPps(s, seconds, dir, first);
          const other = await udpPps(s, seconds, dir, first === 'stack' ? 'drop' : 'stack');
          const [u, d] = first === 'stack' ? [one, other] : [other, one];
          const received = await udpFlood(s.nsA, s.nsB, '10.77.0.2', BELOW_KNEE_DATAGRAMS, 64);
          const lossBelow = (1 - received / BELOW_KNEE_DATAGRAMS) * 100;
          const tcp = row.noTcp?.includes(link) ? NaN : await tcpGbps(s, seconds);
          const ping = pingUs(s);
          samples.get(`${link}/${fwd}`)!.push({ ...u, tcp, p50: ping.p50, p99: ping.p99, lossBelow, dropDelivered: d.delivered, dropCpuUsPerFrame: d.cpuUsPerFrame });
          log(`  round ${r + 1} ${link}/${fwd}: offered ${(u.offered / 1e3).toFixed(0)} kpps, delivered ${(u.delivered / 1e3).toFixed(0)} kpps (${u.cpuUsPerFrame.toFixed(2)} us CPU/frame, ${(u.coreShare * 100).toFixed(0)} % of a core), B dropping ${(d.delivered / 1e3).toFixed(0)} kpps (${d.cpuUsPerFrame.toFixed(2)} us CPU/frame), paced loss ${lossBelow.toFixed(2)} %, TCP ${tcp.toFixed(2)} Gbit/s, ping p50/p99 ${ping.p50.toFixed(0)}/${ping.p99.toFixed(0)} us`);
        } finally {
          await stopProc(s.proc);
          await s.ovs?.stop();
          s.topo.cleanup();
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  log(`  end-to-end: ${runs} rounds of ${plan.length} forwarders took ${((Date.now() - began) / 60_000).toFixed(1)} min`);
  return plan.map(([link, row]) => summarise(link, row.name, samples.get(`${link}/${row.name}`)!));
}

function summarise(link: Link, forwarder: string, xs: Sample[]): E2eResult {
  const offered = median(xs.map((x) => x.offered));
  const delivered = kppsSpread(xs.map((x) => x.delivered));
  const dropped = kppsSpread(xs.map((x) => x.dropDelivered));
  return {
    link,
    forwarder,
    offeredKpps: offered / 1e3,
    deliveredKpps: delivered.median,
    deliveredMinKpps: delivered.min,
    deliveredMaxKpps: delivered.max,
    lossPct: offered > 0 ? Math.max(0, (1 - median(xs.map((x) => x.delivered / x.offered))) * 100) : 0,
    lossBelowKneePct: median(xs.map((x) => x.lossBelow)),
    tcpGbps: median(xs.map((x) => x.tcp)),
    pingP50Us: median(xs.map((x) => x.p50)),
    pingP99Us: median(xs.map((x) => x.p99)),
    rssMB: median(xs.map((x) => x.rss)),
    cpuUsPerFrame: median(xs.map((x) => x.cpuUsPerFrame)),
    coreShare: median(xs.map((x) => x.coreShare)),
    dropSinkKpps: dropped.median,
    dropSinkMinKpps: dropped.min,
    dropSinkMaxKpps: dropped.max,
    dropSinkCpuUsPerFrame: median(xs.map((x) => x.dropCpuUsPerFrame)),
  };
}

/** Rates in frames/s as kpps: their median and spread (NaN for no rounds). */
function kppsSpread(pps: number[]): { median: number; min: number; max: number } {
  const xs = pps.length > 0 ? pps : [NaN];
  return { median: median(xs) / 1e3, min: Math.min(...xs) / 1e3, max: Math.max(...xs) / 1e3 };
}
