/*
 * Isolation under overload: four namespace hosts on if: ports 1..4 (veths),
 * the switch pinned to core 0, trafgen and the pinging host pinned to core 1.
 * Per run: ping 3 -> 4 on a quiet switch, then the same ping while trafgen
 * floods 1 -> 2 with 64-byte frames at its full rate (MACs learned, so the
 * flood is unicast to port 2 and never reaches 3 or 4). Figures: ping loss,
 * p50/p99/max RTT, and what the flood did (offered, forwarded, dropped by the
 * kernel on port 1's socket, per second). Target: loss < 1 %, p99 < 5 ms.
 * Only namespaces and veths made here carry traffic; all are removed at the end.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metricValue, pingRtts, quantile, rawFrame, startFlood, type PingRtts } from '../test/helpers/flood.js';
import { linkMac, linkStats, sh, SwitchProcess, Topology } from '../test/helpers/netns.js';
import { median } from './inprocess.js';

export interface IsolationRun {
  flood: boolean;
  lossPct: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Flood only (else 0): frames per second trafgen sent, R received, and the kernel dropped on port 1's socket. */
  offeredKpps: number;
  forwardedKpps: number;
  kernelDropKpps: number;
}

const SWITCH_CPU = 0;
const HOST_CPU = 1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function summary(p: PingRtts): Pick<IsolationRun, 'lossPct' | 'p50Ms' | 'p99Ms' | 'maxMs'> {
  return {
    lossPct: (100 * (p.transmitted - p.received)) / p.transmitted,
    p50Ms: quantile(p.rttsMs, 0.5),
    p99Ms: quantile(p.rttsMs, 0.99),
    maxMs: quantile(p.rttsMs, 1),
  };
}

/** `runs` pairs of (quiet, flood) measurements of `pings` pings `intervalS` apart. */
export async function runIsolation(opts: { runs?: number; pings?: number; intervalS?: number; log?: (s: string) => void } = {}): Promise<IsolationRun[]> {
  const runs = opts.runs ?? 3;
  const pings = opts.pings ?? 1000;
  const intervalS = opts.intervalS ?? 0.005;
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const topo = new Topology();
  const dir = mkdtempSync(join(tmpdir(), 'linc-isolation-'));
  let sw: SwitchProcess | null = null;
  const out: IsolationRun[] = [];
  try {
    const ns: string[] = [];
    const inner = [1, 2, 3, 4].map((i) => topo.ifname(`i${i}`));
    const outer = [1, 2, 3, 4].map((i) => topo.ifname(`o${i}`));
    for (let i = 0; i < 4; i++) {
      ns.push(topo.addNamespace(`b${i + 1}`));
      topo.veth(inner[i], outer[i], ns[i], `10.216.0.${i + 1}/24`);
    }
    sw = await SwitchProcess.start(['run', ...outer.flatMap((o, i) => ['--port', `if:${o}=${i + 1}`]), '--metrics', '127.0.0.1:0', '--admin-socket', 'off']);
    sh(`taskset -a -pc ${SWITCH_CPU} ${sw.pid}`);
    const metricsUrl = sw.logs.find((l) => l.msg === 'switch running')!.metrics as string;
    const kernelDrops = async () => metricValue(await (await fetch(metricsUrl)).text(), 'linc_port_rx_dropped_total', { port: '1', reason: 'kernel' });
    topo.exec(ns[0], 'ping -c 2 -i 0.2 -W 2 10.216.0.2');
    topo.exec(ns[2], 'ping -c 2 -i 0.2 -W 2 10.216.0.4');
    const frame = rawFrame(linkMac(ns[1], inner[1]), linkMac(ns[0], inner[0]));
    for (let run = 0; run < runs; run++) {
      const quiet = await pingRtts(ns[2], '10.216.0.4', { count: pings, intervalS, cpu: HOST_CPU });
      out.push({ flood: false, ...summary(quiet), offeredKpps: 0, forwardedKpps: 0, kernelDropKpps: 0 });
      const d0 = await kernelDrops();
      const r0 = linkStats(ns[1], inner[1]).rxPackets;
      const t0 = performance.now();
      const flood = startFlood(ns[0], inner[0], frame, { dir, cpu: HOST_CPU });
      let loaded: PingRtts;
      let sent = 0;
      try {
        await sleep(300);
        loaded = await pingRtts(ns[2], '10.216.0.4', { count: pings, intervalS, cpu: HOST_CPU });
      } finally {
        sent = await flood.stop();
      }
      const sec = (performance.now() - t0) / 1000;
      await sleep(300);
      const kpps = (n: number) => n / sec / 1000;
      const r: IsolationRun = {
        flood: true,
        ...summary(loaded),
        offeredKpps: kpps(sent),
        forwardedKpps: kpps(linkStats(ns[1], inner[1]).rxPackets - r0),
        kernelDropKpps: kpps((await kernelDrops()) - d0),
      };
      out.push(r);
      log(`isolation run ${run + 1}/${runs}: quiet loss ${out.at(-2)!.lossPct.toFixed(1)} % p99 ${out.at(-2)!.p99Ms} ms; flood loss ${r.lossPct.toFixed(1)} % p50 ${r.p50Ms} p99 ${r.p99Ms} max ${r.maxMs} ms (offered ${r.offeredKpps.toFixed(0)} kpps, forwarded ${r.forwardedKpps.toFixed(0)}, kernel drops ${r.kernelDropKpps.toFixed(0)})`);
    }
  } finally {
    await sw?.stop();
    topo.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

/** Table rows (median over the runs, and the worst run) for quiet and flood. */
export function formatIsolation(rs: IsolationRun[]): string[] {
  const rows: string[] = [];
  for (const flood of [false, true]) {
    const xs = rs.filter((r) => r.flood === flood);
    if (xs.length === 0) continue;
    const med = (f: (r: IsolationRun) => number) => median(xs.map(f));
    const worst = (f: (r: IsolationRun) => number) => Math.max(...xs.map(f));
    const load = flood ? `trafgen 1 -> 2 at full rate: offered ${med((r) => r.offeredKpps).toFixed(0)} kpps, forwarded ${med((r) => r.forwardedKpps).toFixed(0)} kpps, kernel drops on port 1 ${med((r) => r.kernelDropKpps).toFixed(0)} kpps` : 'none';
    rows.push(`| ${load} | ${med((r) => r.lossPct).toFixed(2)} % (worst ${worst((r) => r.lossPct).toFixed(2)} %) | ${med((r) => r.p50Ms).toFixed(3)} ms | ${med((r) => r.p99Ms).toFixed(3)} ms (worst ${worst((r) => r.p99Ms).toFixed(3)}) | ${med((r) => r.maxMs).toFixed(3)} ms | ${flood ? (med((r) => r.lossPct) < 1 && med((r) => r.p99Ms) < 5 ? 'met' : 'missed') : '-'} |`);
  }
  return rows;
}
