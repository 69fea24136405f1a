/*
 * The idle-latency half of `npm run bench -- --only rings`: ping through
 * linc-ts with mode=ring, linc-ts with mode=mmsg and the C recvmmsg/sendmmsg
 * forwarder, each on its own veth topology (as in rings.ts), all three
 * running at once and pinned to core 1, with nothing else flowing. Paired:
 * the pings go in short batches, one batch per forwarder in turn (the order
 * rotating), so a slow phase of the shared machine hits all three alike.
 * Per forwarder: p50 and p99 of every reply's RTT, the median over batches
 * of its batch p50 / mmsg's batch p50 in the same turn, and replies/sent.
 */

import type { ChildProcess } from 'node:child_process';
import { Topology } from '../test/helpers/netns.js';
import { buildBaseline, stopProc } from './e2e.js';
import { median } from './inprocess.js';
import { type RingForwarder, startForwarder } from './rings.js';

const FORWARDERS: readonly RingForwarder[] = ['linc-ts ring', 'linc-ts mmsg', 'C recvmmsg/sendmmsg'];

export interface RingLatencyRow {
  forwarder: RingForwarder;
  p50Us: number;
  p99Us: number;
  /** Median over batches of this forwarder's batch p50 / linc-ts mmsg's batch p50 in the same turn. */
  vsMmsgP50: number;
  replies: number;
  sent: number;
}

function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

interface Path {
  fwd: RingForwarder;
  topo: Topology;
  nsA: string;
  dst: string;
  proc: ChildProcess | null;
}

export async function runRingLatency(opts: { batches?: number; pingsPerBatch?: number; log?: (s: string) => void } = {}): Promise<RingLatencyRow[]> {
  const batches = opts.batches ?? 30;
  const per = opts.pingsPerBatch ?? 20;
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  buildBaseline();
  const paths: Path[] = [];
  try {
    for (const [i, fwd] of FORWARDERS.entries()) {
      const topo = new Topology();
      const path: Path = { fwd, topo, nsA: topo.addNamespace('A'), dst: `10.79.${i}.2`, proc: null };
      paths.push(path);
      const nsB = topo.addNamespace('B');
      const outA = topo.ifname('oa');
      const outB = topo.ifname('ob');
      topo.veth(topo.ifname('ia'), outA, path.nsA, `10.79.${i}.1/24`);
      topo.veth(topo.ifname('ib'), outB, nsB, `10.79.${i}.2/24`);
      path.proc = await startForwarder(fwd, outA, outB);
      topo.exec(path.nsA, `ping -c 2 -i 0.2 -W 2 ${path.dst}`);
    }
    const rtts = new Map<RingForwarder, number[]>(FORWARDERS.map((f) => [f, []]));
    const batchP50 = new Map<RingForwarder, number[]>(FORWARDERS.map((f) => [f, []]));
    for (let b = 0; b < batches; b++) {
      for (let k = 0; k < paths.length; k++) {
        const p = paths[(b + k) % paths.length];
        // `|| true`: a lost reply is counted below (replies / sent), not an error.
        const out = p.topo.exec(p.nsA, `ping -c ${per} -i 0.01 -W 1 ${p.dst} || true`, { timeoutMs: 30_000 });
        const times = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]) * 1000);
        rtts.get(p.fwd)!.push(...times);
        batchP50.get(p.fwd)!.push(times.length ? median(times) : NaN);
      }
      if ((b + 1) % 10 === 0) log(`  ring latency: ${b + 1}/${batches} batches`);
    }
    const mmsg = batchP50.get('linc-ts mmsg')!;
    return FORWARDERS.map((fwd) => {
      const all = rtts.get(fwd)!;
      const bp = batchP50.get(fwd)!;
      return {
        forwarder: fwd,
        p50Us: quantile(all, 0.5),
        p99Us: quantile(all, 0.99),
        vsMmsgP50: median(bp.map((x, i) => x / mmsg[i]).filter((x) => Number.isFinite(x))),
        replies: all.length,
        sent: batches * per,
      };
    });
  } finally {
    for (const p of paths) await stopProc(p.proc);
    for (const p of paths) p.topo.cleanup();
  }
}

export const RING_LATENCY_HEADER = '| idle ping through the forwarder, veth -> veth (all three running, pinned to core 1; batches of 20 pings 10 ms apart, taking turns) | RTT p50 us | RTT p99 us | batch p50 vs linc-ts mmsg (median) | replies / sent |';

export function formatRingLatency(rows: readonly RingLatencyRow[]): string[] {
  return rows.map((r) => `| ${r.forwarder} | ${r.p50Us.toFixed(0)} | ${r.p99Us.toFixed(0)} | ${r.vsMmsgP50.toFixed(2)} | ${r.replies} / ${r.sent} |`);
}
