/*
 * Memory per installed flow, and memory after a flow-mod storm
 * (`npm run bench -- --only memory`).
 *
 * Each measurement runs in its own node process (this file run as a script,
 * `--expose-gc`), so one size's garbage or retained pages never count in
 * another's figure.
 *
 * 1. Bytes per flow at 10k / 100k / 1M flows: an OfSwitch over a Datapath
 *    (fail mode secure, 4 MemoryPorts); every flow arrives as an encoded
 *    OFPT_FLOW_MOD (ADD, table 0, priority 100, match eth_type=IPv4 +
 *    ipv4_dst = 10.0.0.0 + i, instruction apply_actions(output:(i % 4) + 1)),
 *    is decoded by the codec and applied by OfSwitch.flowMod, as a
 *    controller's would be; the wire bytes are not kept. After a forced GC:
 *    (heapUsed + arrayBuffers) and RSS, minus the same figures of the empty
 *    switch, divided by the flow count.
 * 2. The storm: RSS of the empty switch; after 100,002 flow-mods (adds, as
 *    above); after one DELETE (all tables) and a quiet period in which the
 *    switch's own memory reclaimer (src/memory-reclaim.ts, driven by its
 *    housekeeping tick as switch.ts runs it) may act; the bench itself never
 *    forces a GC in this part. The same run with the reclaimer off is the
 *    comparison.
 */

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Datapath } from '../src/datapath/datapath.js';
import { NormalSwitch } from '../src/datapath/learning/normal.js';
import { PacketPool } from '../src/packet/pool.js';
import { decodeMessage, encodeMessage } from '../src/openflow/codec/wire.js';
import { OFP_NO_BUFFER, OFPCML, OFPFC, OFPG, OFPP, OFPTT } from '../src/openflow/codec/v13/enums.js';
import type { FlowMod } from '../src/openflow/codec/v13/msg/flow-mod.js';
import { OfSwitch } from '../src/openflow/ofproto/of-switch.js';
import { MemoryPort } from '../src/ports/memory-port.js';
import { MemoryReclaimer } from '../src/memory-reclaim.js';

const MB = 1024 * 1024;
const FLOW_IP_BASE = 0x0a000000;

export interface FlowMemoryResult {
  flows: number;
  /** (heapUsed + arrayBuffers) growth per flow, bytes. */
  heapBytesPerFlow: number;
  /** RSS growth per flow, bytes. */
  rssBytesPerFlow: number;
  /** CPU seconds the flow-mods took (encode, decode, install). */
  installSec: number;
  heapMB: number;
  rssMB: number;
}

export interface StormResult {
  flowMods: number;
  reclaim: boolean;
  rssBeforeMB: number;
  rssAfterStormMB: number;
  rssAfterDeleteMB: number;
  heapAfterDeleteMB: number;
  /** The heap V8 holds (used or not) after the delete and the quiet. */
  heapTotalAfterDeleteMB: number;
  /** Seconds of quiet waited after the delete. */
  quietSec: number;
  /** GCs the reclaimer ran. */
  reclaims: number;
}

function flowModOf(i: number, command: number = OFPFC.ADD): FlowMod {
  return {
    type: 'flow_mod', xid: i, cookie: 0n, cookieMask: 0n, tableId: command === OFPFC.DELETE ? OFPTT.ALL : 0, command, idleTimeout: 0,
    hardTimeout: 0, priority: 100, bufferId: OFP_NO_BUFFER, outPort: OFPP.ANY, outGroup: OFPG.ANY, flags: 0,
    match: command === OFPFC.DELETE ? [] : [{ field: 'eth_type', value: 0x0800 }, { field: 'ipv4_dst', value: FLOW_IP_BASE + i }],
    instructions: command === OFPFC.DELETE ? [] : [{ type: 'apply_actions', actions: [{ type: 'output', port: (i % 4) + 1, maxLen: OFPCML.NO_BUFFER }] }],
  };
}

function emptySwitch(): OfSwitch {
  const dp = new Datapath({ pool: new PacketPool({ slots: 1024 }), burst: 32 });
  for (let i = 0; i < 4; i++) dp.addPort(new MemoryPort({ name: `m${i + 1}`, ofPort: i + 1, capture: false }));
  return new OfSwitch({ datapath: dp, normal: new NormalSwitch(), datapathId: 1n, failMode: 'secure' });
}

/** One flow-mod through the codec and the switch, as a controller connection delivers it. */
function apply(sw: OfSwitch, wire: Uint8Array): void {
  const m = decodeMessage(wire);
  if (!('ok' in m) || m.ok.type !== 'flow_mod') throw new Error('benchmark flow-mod did not decode');
  const e = sw.flowMod(m.ok);
  if (e !== null) throw new Error(`benchmark flow refused: ${e.reason}`);
}

/** Installs `flows` flows; the CPU seconds it took (user + system: the machine may be shared). */
function install(sw: OfSwitch, flows: number): number {
  const c0 = process.cpuUsage();
  for (let i = 0; i < flows; i++) apply(sw, encodeMessage(flowModOf(i)));
  if (sw.tables.flowCount !== flows) throw new Error(`${sw.tables.flowCount} flows installed, wanted ${flows}`);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('run with node --expose-gc');
  g();
  g();
}

const heapOf = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function measureFlows(flows: number): FlowMemoryResult {
  const sw = emptySwitch();
  gc();
  const heap0 = heapOf();
  const rss0 = process.memoryUsage.rss();
  const installSec = install(sw, flows);
  gc();
  const heap1 = heapOf();
  const rss1 = process.memoryUsage.rss();
  if (sw.tables.flowCount !== flows) throw new Error('flows lost');
  return {
    flows, installSec, heapBytesPerFlow: (heap1 - heap0) / flows, rssBytesPerFlow: (rss1 - rss0) / flows,
    heapMB: heap1 / MB, rssMB: rss1 / MB,
  };
}

async function measureStorm(flowMods: number, reclaim: boolean, quietSec: number): Promise<StormResult> {
  const sw = emptySwitch();
  const reclaimer = new MemoryReclaimer({ flowCount: () => sw.tables.flowCount, flowsAdded: () => sw.tables.flowsAdded, enabled: reclaim });
  // The switch's housekeeping tick (switch.ts), here every 200 ms instead of 1 s to keep the run short.
  const tick = setInterval(() => {
    sw.tick();
    reclaimer.tick();
  }, 200);
  await sleep(1000);
  const rssBeforeMB = process.memoryUsage.rss() / MB;
  // The storm arrives in bursts between event-loop turns, as from a socket.
  for (let i = 0; i < flowMods; ) {
    const end = Math.min(flowMods, i + 2000);
    for (; i < end; i++) apply(sw, encodeMessage(flowModOf(i)));
    await sleep(0);
  }
  const rssAfterStormMB = process.memoryUsage.rss() / MB;
  apply(sw, encodeMessage(flowModOf(0, OFPFC.DELETE)));
  if (sw.tables.flowCount !== 0) throw new Error('the delete left flows');
  await sleep(quietSec * 1000);
  clearInterval(tick);
  const m = process.memoryUsage();
  return {
    flowMods, reclaim, rssBeforeMB, rssAfterStormMB, rssAfterDeleteMB: m.rss / MB, heapAfterDeleteMB: m.heapUsed / MB,
    heapTotalAfterDeleteMB: m.heapTotal / MB, quietSec,
    reclaims: reclaimer.reclaims,
  };
}

function child(args: string[]): unknown {
  const out = execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop()!);
}

export interface MemoryBenchResult {
  sizes: FlowMemoryResult[];
  storms: StormResult[];
}

/** Every measurement, each in a fresh process. */
export function runMemoryBench(opts: { sizes?: number[]; stormFlowMods?: number; quietSec?: number } = {}): MemoryBenchResult {
  const sizes = (opts.sizes ?? [10_000, 100_000, 1_000_000]).map((n) => child(['--flows', String(n)]) as FlowMemoryResult);
  const storm = String(opts.stormFlowMods ?? 100_002);
  const quiet = String(opts.quietSec ?? 5);
  const storms = [true, false].map((on) => child(['--storm', storm, '--quiet', quiet, ...(on ? [] : ['--no-reclaim'])]) as StormResult);
  return { sizes, storms };
}

export function formatMemoryBench(r: MemoryBenchResult): string[] {
  const rows = r.sizes.map(
    (s) =>
      `| ${s.flows.toLocaleString('en')} flows installed through FLOW_MOD decode + OfSwitch.flowMod (${s.installSec.toFixed(1)} CPU s) | ${s.heapBytesPerFlow.toFixed(0)} B/flow heap + array buffers | ${s.rssBytesPerFlow.toFixed(0)} B/flow RSS | heap ${s.heapMB.toFixed(0)} MB, RSS ${s.rssMB.toFixed(0)} MB after GC |`,
  );
  for (const s of r.storms) {
    rows.push(
      `| storm of ${s.flowMods.toLocaleString('en')} flow-mods, then DELETE all + ${s.quietSec} s quiet, reclaimer ${s.reclaim ? 'on' : 'off'} | RSS ${s.rssBeforeMB.toFixed(0)} MB before -> ${s.rssAfterStormMB.toFixed(0)} MB after the storm | ${s.rssAfterDeleteMB.toFixed(0)} MB after delete + quiet (heap ${s.heapAfterDeleteMB.toFixed(0)} MB) | ${s.reclaims} reclaim GC(s) |`,
    );
  }
  return rows;
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const argv = process.argv.slice(2);
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i < 0 ? undefined : argv[i + 1];
  };
  if (arg('--flows') !== undefined) {
    console.log(JSON.stringify(measureFlows(Number(arg('--flows')))));
  } else if (arg('--storm') !== undefined) {
    console.log(JSON.stringify(await measureStorm(Number(arg('--storm')), !argv.includes('--no-reclaim'), Number(arg('--quiet') ?? 5))));
  } else {
    for (const row of formatMemoryBench(runMemoryBench())) console.log(row);
  }
}
