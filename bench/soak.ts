/*
 * Soak benchmark (`npm run bench -- --only soak [--soak-seconds N]`, 600 s
 * by default): flow churn and traffic together for a long time, in process,
 * with RSS and heap sampled every second; the question is whether anything
 * grows without bound or stops working.
 *
 *   controller (PeerController over an in-memory connection)
 *        | flow-mods, flow stats, barriers: through the codec and the channel
 *   ControllerManager -> OfSwitch -> Datapath, 4 MemoryPorts
 *        ^ 64-byte UDP frames from ports 1 and 3, as fast as the loop runs
 *
 * Churn, every CHURN_MS: ADD a batch of BATCH flows (table 0, ipv4_dst from a
 * sliding window, output to port 2 or 4; every fourth batch with an idle
 * timeout of 2 s, so timeouts expire flows too), DELETE_STRICT the batch
 * added WINDOW batches earlier, MODIFY one batch's actions; every 10th round
 * a flow-stats request and a barrier; every 200th round a DELETE of every
 * flow (a small storm's end) and the window starts again. Table 0's miss
 * entry sends to NORMAL. The traffic's destinations cycle over the window,
 * so frames hit installed flows, recently deleted ones and misses.
 * Housekeeping (timeouts, the memory reclaimer) runs every second as in
 * switch.ts.
 *
 * Figures: frames forwarded per second, flow-mods per second, errors the
 * controller got (must be 0), flows installed (min / max), RSS and heap:
 * first sample after warm-up, maximum, last, and the growth between the
 * first and last minute's medians.
 */

import { pino } from 'pino';
import { Datapath } from '../src/datapath/datapath.js';
import { NormalSwitch } from '../src/datapath/learning/normal.js';
import { PacketPool } from '../src/packet/pool.js';
import { makeHello, type OfpMessage } from '../src/openflow/codec/wire.js';
import { OFPCML, OFPFC, OFPG, OFPP, OFPTT } from '../src/openflow/codec/v13/enums.js';
import type { FlowMod } from '../src/openflow/codec/v13/msg/flow-mod.js';
import { OfSwitch } from '../src/openflow/ofproto/of-switch.js';
import { ControllerManager } from '../src/openflow/transport/controller-manager.js';
import { MemoryPort } from '../src/ports/memory-port.js';
import { MemoryReclaimer } from '../src/memory-reclaim.js';
import { duplexPair, PeerController } from '../test/helpers/fake-of-switch.js';
import { fm } from '../test/helpers/of-harness.js';
import { udpTemplate } from './frames.js';
import { median } from './inprocess.js';

const CHURN_MS = 50;
const BATCH = 200;
const WINDOW = 40; // batches alive at once: up to 8,000 flows
const STORM_EVERY = 200;
const IP_BASE = 0x0a100000;
const MB = 1024 * 1024;

export interface SoakResult {
  seconds: number;
  framesPerSec: number;
  flowModsPerSec: number;
  flowMods: number;
  errors: number;
  statsReplies: number;
  barriers: number;
  flowsMin: number;
  flowsMax: number;
  reclaims: number;
  rssFirstMB: number;
  rssMaxMB: number;
  rssLastMB: number;
  heapFirstMB: number;
  heapMaxMB: number;
  heapLastMB: number;
  /** Median RSS of the last minute minus that of the first minute after warm-up (MB). */
  rssGrowthMB: number;
  heapGrowthMB: number;
}

/** A flow-mod at priority 100, every other field as test/helpers/of-harness.ts fm() defaults it. */
const flowMod = (spec: Partial<FlowMod>): FlowMod => fm({ priority: 100, ...spec });

const ipMatch = (ip: number) => [{ field: 'eth_type' as const, value: 0x0800 }, { field: 'ipv4_dst' as const, value: ip }];
const outTo = (port: number) => [{ type: 'apply_actions' as const, actions: [{ type: 'output' as const, port, maxLen: OFPCML.NO_BUFFER }] }];

export async function runSoak(opts: { seconds?: number; warmupSec?: number; log?: (line: string) => void } = {}): Promise<SoakResult> {
  const seconds = opts.seconds ?? 600;
  const warmupSec = Math.min(opts.warmupSec ?? 10, Math.max(1, Math.floor(seconds / 6)));
  const dp = new Datapath({ pool: new PacketPool({ slots: 1024 }), burst: 32 });
  const ports: MemoryPort[] = [];
  for (let i = 0; i < 4; i++) {
    const p = new MemoryPort({ name: `soak${i + 1}`, ofPort: i + 1, capture: false });
    dp.addPort(p);
    ports.push(p);
  }
  const sw = new OfSwitch({ datapath: dp, normal: new NormalSwitch(), datapathId: 1n, failMode: 'secure' });
  const mgr = new ControllerManager({ sw, log: pino({ level: 'silent' }), inactivityProbeMs: 0 });
  sw.setEventSink(mgr);
  const [a, b] = duplexPair();
  mgr.attach(a, 'controller', 'tcp:127.0.0.1:6653');
  const peer = new PeerController(b);
  peer.send(makeHello(1));
  const reclaimer = new MemoryReclaimer({ flowCount: () => sw.tables.flowCount, flowsAdded: () => sw.tables.flowsAdded });

  let xid = 1;
  let flowMods = 0;
  const send = (m: OfpMessage) => {
    peer.send({ ...m, xid: xid++ });
    if (m.type === 'flow_mod') flowMods++;
  };
  send(flowMod({ priority: 0, instructions: outTo(OFPP.NORMAL) }));

  // Traffic: destinations cycle over twice the window's addresses (hits, deleted flows, misses).
  const span = WINDOW * BATCH * 2;
  for (const i of [0, 2]) {
    ports[i].setGenerator(Array.from({ length: 512 }, (_, k) => udpTemplate(0x020000000000 + i + 2, 0x020000000000 + i + 1, 64, 0x0a4d0001, IP_BASE + ((k * 7919) % span))));
  }

  let round = 0;
  let windowStart = 0; // batch number of the oldest live batch
  const batchIp = (batch: number) => IP_BASE + ((batch * BATCH) % span);
  const churn = () => {
    const batch = round++;
    for (let k = 0; k < BATCH; k++) {
      send(flowMod({ idleTimeout: batch % 4 === 3 ? 2 : 0, match: ipMatch(batchIp(batch) + k), instructions: outTo(k % 2 === 0 ? 2 : 4) }));
    }
    if (batch - windowStart >= WINDOW) {
      for (let k = 0; k < BATCH; k++) send(flowMod({ command: OFPFC.DELETE_STRICT, match: ipMatch(batchIp(windowStart) + k) }));
      windowStart++;
    }
    const mid = windowStart + ((batch * 13) % Math.max(1, batch - windowStart));
    send(flowMod({ command: OFPFC.MODIFY, match: [{ field: 'eth_type', value: 0x0800 }, { field: 'ipv4_dst', value: (batchIp(mid) & 0xffffff00) >>> 0, mask: 0xffffff00 }], instructions: outTo(batch % 2 === 0 ? 4 : 2) }));
    if (batch % 10 === 0) {
      send({ type: 'multipart_request', xid: 0, flags: 0, body: { type: 'flow', tableId: OFPTT.ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: 0n, cookieMask: 0n, match: ipMatch(batchIp(windowStart)) } });
      send({ type: 'barrier_request', xid: 0 });
    }
    if (batch % STORM_EVERY === STORM_EVERY - 1) {
      send(flowMod({ command: OFPFC.DELETE, tableId: OFPTT.ALL }));
      send(flowMod({ priority: 0, instructions: outTo(OFPP.NORMAL) }));
      windowStart = round;
    }
  };

  const counts = { errors: 0, stats: 0, barriers: 0 };
  /** Counts what the controller got since the last call; it keeps nothing. */
  const countReceived = () => {
    for (const m of peer.received) {
      if (m.type === 'error') {
        if (counts.errors++ === 0) opts.log?.(`soak: first error from the switch: ${JSON.stringify(m, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
      }
      else if (m.type === 'multipart_reply') counts.stats++;
      else if (m.type === 'barrier_reply') counts.barriers++;
    }
    peer.received.length = 0;
    peer.rawReceived.length = 0;
  };
  const samples: { t: number; rss: number; heap: number; flows: number }[] = [];
  let stop = false;
  const t0 = performance.now();
  const churnTimer = setInterval(churn, CHURN_MS);
  const tick = setInterval(() => {
    dp.tick();
    sw.tick();
    reclaimer.tick();
    const m = process.memoryUsage();
    const t = (performance.now() - t0) / 1000;
    samples.push({ t, rss: m.rss / MB, heap: m.heapUsed / MB, flows: sw.tables.flowCount });
    if (opts.log && Math.round(t) % 60 === 0) opts.log(`soak ${t.toFixed(0)} s: RSS ${(m.rss / MB).toFixed(0)} MB, heap ${(m.heapUsed / MB).toFixed(0)} MB, ${sw.tables.flowCount} flows`);
    countReceived();
  }, 1000);
  setTimeout(() => (stop = true), seconds * 1000);
  let framesAtWarmup = 0, flowModsAtWarmup = 0, tWarm = 0;
  const traffic = [dp.port(1)!, dp.port(3)!];
  await new Promise<void>((resolve) => {
    const step = () => {
      for (let r = 0; r < 16; r++) {
        for (let i = 0; i < 2; i++) {
          ports[i * 2].offer(32);
          dp.pollPort(traffic[i]);
        }
      }
      const t = (performance.now() - t0) / 1000;
      if (tWarm === 0 && t >= warmupSec) {
        tWarm = t;
        framesAtWarmup = ports.reduce((n, p) => n + p.txFrames, 0);
        flowModsAtWarmup = flowMods;
      }
      if (stop) resolve();
      else setImmediate(step);
    };
    setImmediate(step);
  });
  clearInterval(churnTimer);
  clearInterval(tick);
  countReceived();
  const elapsed = (performance.now() - t0) / 1000 - tWarm;
  const frames = ports.reduce((n, p) => n + p.txFrames, 0) - framesAtWarmup;
  mgr.close();
  const after = samples.filter((s) => s.t >= warmupSec);
  const first = after.filter((s) => s.t < warmupSec + 60);
  const last = after.filter((s) => s.t >= after[after.length - 1].t - 60);
  const med = (xs: number[]) => (xs.length ? median(xs) : NaN);
  return {
    seconds,
    framesPerSec: frames / elapsed,
    flowModsPerSec: (flowMods - flowModsAtWarmup) / elapsed,
    flowMods,
    errors: counts.errors,
    statsReplies: counts.stats,
    barriers: counts.barriers,
    flowsMin: Math.min(...after.map((s) => s.flows)),
    flowsMax: Math.max(...after.map((s) => s.flows)),
    reclaims: reclaimer.reclaims,
    rssFirstMB: after[0].rss,
    rssMaxMB: Math.max(...after.map((s) => s.rss)),
    rssLastMB: after[after.length - 1].rss,
    heapFirstMB: after[0].heap,
    heapMaxMB: Math.max(...after.map((s) => s.heap)),
    heapLastMB: after[after.length - 1].heap,
    rssGrowthMB: med(last.map((s) => s.rss)) - med(first.map((s) => s.rss)),
    heapGrowthMB: med(last.map((s) => s.heap)) - med(first.map((s) => s.heap)),
  };
}

export function formatSoak(r: SoakResult): string[] {
  return [
    `| soak ${r.seconds} s: flow churn (${(1000 / CHURN_MS) * BATCH} adds/s nominal, strict deletes, modifies, stats, a delete-all every ${(STORM_EVERY * CHURN_MS) / 1000} s) + 64 B traffic from 2 ports, in process | ${(r.framesPerSec / 1e6).toFixed(2)} Mpps sent by the ports (floods count once per port), ${r.flowModsPerSec.toFixed(0)} flow-mods/s (${r.flowMods.toLocaleString('en')} in all) | ${r.errors} errors, ${r.statsReplies} flow-stats replies, ${r.barriers} barriers answered; ${r.flowsMin}-${r.flowsMax} flows; ${r.reclaims} reclaims |`,
    `| soak ${r.seconds} s: memory, sampled every second after warm-up | RSS first ${r.rssFirstMB.toFixed(0)} MB, max ${r.rssMaxMB.toFixed(0)} MB, last ${r.rssLastMB.toFixed(0)} MB; heap first ${r.heapFirstMB.toFixed(0)} MB, max ${r.heapMaxMB.toFixed(0)} MB, last ${r.heapLastMB.toFixed(0)} MB | growth, last minute vs first (medians): RSS ${r.rssGrowthMB >= 0 ? '+' : ''}${r.rssGrowthMB.toFixed(1)} MB, heap ${r.heapGrowthMB >= 0 ? '+' : ''}${r.heapGrowthMB.toFixed(1)} MB |`,
  ];
}
