/*
 * In-process OpenFlow pipeline benchmark: 64-byte UDP frames from a
 * generator MemoryPort through a 2-table OpenFlow pipeline to a sink
 * MemoryPort, burst 32, one core, no syscalls. Table 0 matches in_port,
 * writes metadata and goes to table 1; table 1 matches eth_dst and outputs.
 * 256 distinct microflows (UDP source ports) cycle, so with a cache on every
 * frame after warm-up is a cache hit; with the caches off every frame walks
 * both tables (two classifier lookups) and runs the resolved path. Reports
 * frames/s (median of runs) with the default cache (the megaflow cache, the
 * EMC behind it), the exact-match cache alone (--no-megaflow) and the caches
 * off; and with the default cache per flow count (10, 1,000, 100,000 extra
 * flows in table 1) against the 10-flow switch (issue 11: within 20 %).
 *
 * Flow counts are compared interleaved: this host's speed drifts in phases
 * of seconds (a pinned vCPU, no steal time shown), so blocks of runs one
 * after the other compared the phases, not the switches (at 100,000 flows
 * megaflow 2.4 Mpps against the EMC's 4.2 a few seconds earlier, the two
 * equal when interleaved). Every switch of a comparison is built and warmed
 * in one process first; then rounds run each once (the order rotating per
 * round, a discarded round first), and a ratio is the median of the
 * per-round ratios. The target line (`max/min`) is the largest over the
 * smallest of the per-count median ratios against the 10-flow switch.
 * What the counts differ in besides the table size: at 10 flows the 256
 * microflows run 10 programs (about 10 per-program groups per burst of 32,
 * fast-path.ts), from 256 flows on 256 programs (32 groups per burst). That
 * per-group work, not the table, is what the 10-flow switch saves (this
 * host, 2026-12-04, interleaved, per CPU-second: 1,000 and 100,000 flows with
 * the traffic over 256 of them 0.87x the 10-flow switch, with it over 10 of
 * them 0.98x and 0.99x; with the table counters added once per segment and
 * table vector and the flow counters from one flat list, fast-path.ts
 * countSegment: 0.93x and 0.91x, 1.11x the old code's rate at those counts).
 *
 * Run alone (`node dist/bench/of-pipeline.js --flows N ...`, the A/B
 * script's probe): the EMC alone per flow count, `--megaflow` the megaflow
 * cache too, every switch of every listed count interleaved as above; the
 * line `flows N: megaflow/EMC` gives the median of the per-round ratios of
 * the two caches, `flows N: against flows 10` each cache against its own
 * 10-flow switch (the first count listed when 10 is not).
 */

import { Datapath } from '../src/datapath/datapath.js';
import { NormalSwitch } from '../src/datapath/learning/normal.js';
import { PacketPool } from '../src/packet/pool.js';
import { OFPCML } from '../src/openflow/codec/v13/enums.js';
import type { FlowMod } from '../src/openflow/codec/v13/msg/flow-mod.js';
import { OfSwitch } from '../src/openflow/ofproto/of-switch.js';
import { MemoryPort } from '../src/ports/memory-port.js';
import { fm } from '../test/helpers/of-harness.js';
import { udpTemplate } from './frames.js';
import { buildLearningBench, median } from './inprocess.js';

export interface OfPipelineBenchResult {
  /** Frames/s with the default cache, the megaflow cache (every frame a hit after warm-up). */
  defaultFps: number;
  defaultRuns: number[];
  /** Frames/s with the exact-match cache alone (--no-megaflow; every frame a hit after warm-up). */
  emcFps: number;
  emcRuns: number[];
  /** Frames/s with the caches off (every frame walks the tables). */
  offFps: number;
  offRuns: number[];
  flows: number;
  /** The default cache on cache hits with extra flows in table 1 (build()), the counts interleaved round by round (see the header). */
  byFlows: FlowCountSummary[];
  /** Rounds of byFlows (each flow count ran once per round). */
  flowRounds: number;
  /** The largest over the smallest of byFlows' median per-round ratios against the 10-flow switch (1 = flat): wall clock, and per CPU-second. */
  flowsSpread: number;
  flowsSpreadCpu: number;
}

/** One flow count's switch, run interleaved with the others (summarize()). */
export interface FlowCountSummary {
  flows: number;
  /** Frames/s, median and the runs in round order: over wall time and per CPU-second (user + system). */
  fps: number;
  runs: number[];
  cpuFps: number;
  cpuRuns: number[];
  /** Median of the per-round ratios of this switch's rate to the reference switch's (the 10-flow one) in the same round, and those ratios. */
  ratio: number;
  ratios: number[];
  cpuRatio: number;
}

/** The flow counts of the flow-count variant. */
const BENCH_FLOW_COUNTS = [10, 1_000, 100_000];

/** A flow-mod at priority 100, every other field as test/helpers/of-harness.ts fm() defaults it. */
const flowMod = (spec: Partial<FlowMod>): FlowMod => fm({ priority: 100, ...spec });

/** A ipv4_src for flow k of the flow-count variant. */
const flowSrc = (k: number) => (0x0b000000 + k) >>> 0;

/**
 * The bench switch. flows = 0: the 4-flow tables above, 256 microflows on one
 * path. flows = N: table 1 also holds N flows (ipv4_src = flowSrc(k) -> port 2,
 * above the eth_dst flow) and the 256 microflows spread over min(N, 256) of
 * them (every burst of 32 then meets up to 32 different programs).
 */
function build(emcInsertInvProb: number, burst: number, flows = 0, megaflow?: boolean) {
  const dp = new Datapath({ pool: new PacketPool({ slots: 1024 }), burst });
  const src = new MemoryPort({ name: 'gen', ofPort: 1, capture: false });
  const sink = new MemoryPort({ name: 'sink', ofPort: 2, capture: false });
  dp.addPort(src);
  dp.addPort(sink);
  const sw = new OfSwitch({ datapath: dp, normal: new NormalSwitch(), datapathId: 1n, failMode: 'secure', emcInsertInvProb, megaflow });
  const sinkMac = 0x020000000002;
  const ok = [
    sw.flowMod(flowMod({
      tableId: 0, match: [{ field: 'in_port', value: 1 }],
      instructions: [{ type: 'write_metadata', metadata: 0x10n, metadataMask: 0xffn }, { type: 'goto_table', tableId: 1 }],
    })),
    sw.flowMod(flowMod({
      tableId: 1, match: [{ field: 'eth_dst', value: sinkMac }],
      instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: 2, maxLen: OFPCML.NO_BUFFER }] }],
    })),
    // A few unrelated flows so the tables hold more than one subtable.
    sw.flowMod(flowMod({ tableId: 0, priority: 50, match: [{ field: 'eth_type', value: 0x0806 }], instructions: [] })),
    sw.flowMod(flowMod({ tableId: 1, priority: 10, match: [{ field: 'eth_type', value: 0x86dd }], instructions: [] })),
  ];
  for (let k = 0; k < flows; k++) {
    ok.push(sw.flowMod(flowMod({
      tableId: 1, priority: 200, match: [{ field: 'eth_type', value: 0x0800 }, { field: 'ipv4_src', value: flowSrc(k) }],
      instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: 2, maxLen: OFPCML.NO_BUFFER }] }],
    })));
  }
  if (ok.some((e) => e !== null)) throw new Error('benchmark flows refused');
  const srcIp = (i: number) => (flows === 0 ? 0x0a4d0001 : flowSrc(flows >= 256 ? Math.floor((i * flows) / 256) : i % flows));
  src.setGenerator(Array.from({ length: 256 }, (_, i) => udpTemplate(sinkMac, 0x020000001000, 64, srcIp(i), 0x0a4d0002, 1024 + i, 9)));
  const srcPort = dp.port(1)!;
  const pump = (frames: number) => {
    for (let sent = 0; sent < frames; sent += burst) {
      src.offer(burst);
      dp.pollPort(srcPort);
    }
  };
  return { pump, sink, sw };
}

interface Runs { wall: number[]; cpu: number[] }

/**
 * A built and warmed bench switch (build()); run() pumps framesPerRun frames (rounded up to whole bursts) and
 * records frames/s over wall time and over this process's CPU time (user + system).
 */
function warmed(emcInsertInvProb: number, frames: number, burst: number, flows: number, megaflow?: boolean): Runs & { run(record?: boolean): void } {
  const framesPerRun = Math.ceil(frames / burst) * burst;
  const { pump, sink } = build(emcInsertInvProb, burst, flows, megaflow);
  pump(Math.min(framesPerRun, 500_000)); // warm-up: JIT, caches
  const wall: number[] = [];
  const cpu: number[] = [];
  const run = (record = true) => {
    const before = sink.txFrames;
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    pump(framesPerRun);
    const ns = Number(process.hrtime.bigint() - t0);
    const c = process.cpuUsage(c0);
    const sent = sink.txFrames - before;
    if (sent !== framesPerRun) throw new Error(`benchmark lost frames: ${sent} of ${framesPerRun}`);
    if (!record) return;
    wall.push((sent / ns) * 1e9);
    cpu.push((sent / (c.user + c.system)) * 1e6);
  };
  return { wall, cpu, run };
}

function measure(emcInsertInvProb: number, runs: number, framesPerRun: number, burst: number, flows = 0, megaflow?: boolean): number[] {
  const w = warmed(emcInsertInvProb, framesPerRun, burst, flows, megaflow);
  for (let r = 0; r < runs; r++) w.run();
  return w.wall;
}

/**
 * Runs already built and warmed switches round by round: one discarded round
 * (every switch's code and caches warm again after the others ran), then
 * `rounds` rounds in which each runs once, the starting switch rotating so
 * no switch always runs first or after the same one.
 */
function interleave(switches: ReadonlyArray<{ run(record?: boolean): void }>, rounds: number): void {
  const n = switches.length;
  for (const s of switches) s.run(false);
  for (let r = 0; r < rounds; r++) for (let i = 0; i < n; i++) switches[(i + r) % n].run();
}

/** Each round's run of `xs` over the same round's run of `base` (the runs interleaved, in round order). */
const perRound = (xs: number[], base: number[]) => xs.map((x, i) => x / base[i]);

/** Per switch of one interleaved comparison: its medians and its per-round ratios against `ref` (one of them). */
function summarize(byFlows: ReadonlyArray<Runs & { flows: number }>, ref: Runs): FlowCountSummary[] {
  return byFlows.map((f) => {
    const ratios = perRound(f.wall, ref.wall);
    return {
      flows: f.flows, fps: median(f.wall), runs: f.wall, cpuFps: median(f.cpu), cpuRuns: f.cpu,
      ratio: median(ratios), ratios, cpuRatio: median(perRound(f.cpu, ref.cpu)),
    };
  });
}

/** max/min over per-count ratios against one of them (that one's own ratio is 1). */
const spreadOf = (ratios: number[]) => Math.max(...ratios) / Math.min(...ratios);

/** The reference of the flow-count comparison: the 10-flow switch, or the first count when 10 is not among them. */
const refIndex = (counts: readonly number[]) => Math.max(0, counts.indexOf(10));

/**
 * Frames/s through a 2-table OpenFlow pipeline: the default cache (megaflow), the EMC alone, the
 * caches off; then the default cache per flow count (BENCH_FLOW_COUNTS, built up front and run
 * interleaved: `flowRuns` rounds of `flowFrames` frames per switch).
 */
export function runOfPipelineBench(opts: { runs?: number; framesPerRun?: number; burst?: number; flowRuns?: number; flowFrames?: number } = {}): OfPipelineBenchResult {
  const runs = opts.runs ?? 5;
  const framesPerRun = opts.framesPerRun ?? 2_000_000;
  const burst = opts.burst ?? 32;
  const defaultRuns = measure(1, runs, framesPerRun, burst);
  const emcRuns = measure(1, runs, framesPerRun, burst, 0, false);
  const offRuns = measure(0, runs, framesPerRun, burst);
  const flowRounds = opts.flowRuns ?? 9;
  const switches = BENCH_FLOW_COUNTS.map((flows) => ({ flows, ...warmed(1, opts.flowFrames ?? 500_000, burst, flows) }));
  interleave(switches, flowRounds);
  const byFlows = summarize(switches, switches[refIndex(BENCH_FLOW_COUNTS)]);
  return {
    defaultFps: median(defaultRuns), defaultRuns, emcFps: median(emcRuns), emcRuns, offFps: median(offRuns), offRuns, flows: 4,
    byFlows, flowRounds, flowsSpread: spreadOf(byFlows.map((f) => f.ratio)), flowsSpreadCpu: spreadOf(byFlows.map((f) => f.cpuRatio)),
  };
}

/**
 * Frames/s (wall and CPU time) on cache hits with each of `counts` extra flows in table 1 (see build()): the EMC
 * alone, and with `megaflow` the megaflow cache too; every switch built first, then all run interleaved (see the header).
 */
export function runOfPipelineFlowsBench(counts: readonly number[], opts: { runs?: number; framesPerRun?: number; burst?: number; megaflow?: boolean } = {}): { emc: FlowCountSummary[]; megaflow: FlowCountSummary[] | null } {
  const runs = opts.runs ?? 5, framesPerRun = opts.framesPerRun ?? 500_000, burst = opts.burst ?? 32;
  const emc = counts.map((flows) => ({ flows, ...warmed(1, framesPerRun, burst, flows, false) }));
  const mf = opts.megaflow === true ? counts.map((flows) => ({ flows, ...warmed(1, framesPerRun, burst, flows, true) })) : null;
  interleave(mf === null ? emc : emc.flatMap((e, i) => [e, mf[i]]), runs);
  const ref = refIndex(counts);
  return { emc: summarize(emc, emc[ref]), megaflow: mf === null ? null : summarize(mf, mf[ref]) };
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  // node dist/bench/of-pipeline.js [--learning] [--megaflow] [--rounds R] [--frames F] [--flows N ...]: per flow count (the A/B script's probe).
  const at = process.argv.indexOf('--flows');
  if (process.argv.includes('--learning')) {
    // The learning switch (bench/inprocess.ts topology), measured the same way: the target to reach.
    const { pump, sink } = buildLearningBench(Datapath, 32);
    pump(500_000);
    const wall: number[] = [], cpu: number[] = [];
    for (let r = 0; r < 3; r++) {
      const before = sink.txFrames, c0 = process.cpuUsage(), t0 = process.hrtime.bigint();
      pump(1_000_000);
      const ns = Number(process.hrtime.bigint() - t0), c = process.cpuUsage(c0), sent = sink.txFrames - before;
      wall.push((sent / ns) * 1e9);
      cpu.push((sent / (c.user + c.system)) * 1e6);
    }
    console.log(`learning: ${(median(wall) / 1e6).toFixed(3)} Mpps wall, ${(median(cpu) / 1e6).toFixed(3)} Mpps per CPU-second`);
  }
  if (at > 0) {
    const rest = process.argv.slice(at + 1), end = rest.findIndex((a) => a.startsWith('--'));
    const counts = (end < 0 ? rest : rest.slice(0, end)).map(Number);
    const opt = (name: string) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : undefined);
    const { emc, megaflow } = runOfPipelineFlowsBench(counts, { megaflow: process.argv.includes('--megaflow'), runs: opt('--rounds'), framesPerRun: opt('--frames') });
    const fmt = (xs: number[]) => xs.map((x) => (x / 1e6).toFixed(2)).join(', ');
    const ref = counts[refIndex(counts)];
    const caches = megaflow === null ? [['EMC', emc] as const] : [['EMC', emc] as const, ['megaflow', megaflow] as const];
    counts.forEach((n, i) => {
      for (const [name, rows] of caches) {
        const r = rows[i];
        console.log(`flows ${n}: ${name === 'EMC' ? 'EMC on' : name} ${(r.fps / 1e6).toFixed(3)} Mpps wall (${fmt(r.runs)}), ${(r.cpuFps / 1e6).toFixed(3)} Mpps per CPU-second (${fmt(r.cpuRuns)})`);
      }
      if (megaflow !== null) { // the megaflow cache against the EMC, runs interleaved
        const ratios = perRound(megaflow[i].runs, emc[i].runs);
        console.log(`flows ${n}: megaflow/EMC ${median(ratios).toFixed(2)} (median of per-round ratios: ${ratios.map((x) => x.toFixed(2)).join(', ')})`);
      }
      for (const [name, rows] of caches) {
        const r = rows[i];
        console.log(`flows ${n}: against flows ${ref} (${name}) ${r.ratio.toFixed(2)} wall (per round: ${r.ratios.map((x) => x.toFixed(2)).join(', ')}), ${r.cpuRatio.toFixed(2)} per CPU-second`);
      }
    });
    for (const [name, rows] of caches) {
      console.log(`by flow count ${counts.join(', ')} (${name}): max/min ${spreadOf(rows.map((r) => r.ratio)).toFixed(2)} wall, ${spreadOf(rows.map((r) => r.cpuRatio)).toFixed(2)} per CPU-second (median per-round ratios against flows ${ref})`);
    }
  } else {
    const r = runOfPipelineBench({ runs: 3, framesPerRun: 1_000_000 });
    console.log(`OpenFlow 2-table pipeline, 64 B, burst 32: megaflow (default) ${(r.defaultFps / 1e6).toFixed(2)} Mpps, EMC alone ${(r.emcFps / 1e6).toFixed(2)} Mpps, caches off ${(r.offFps / 1e6).toFixed(2)} Mpps; by flows ${r.byFlows.map((f) => `${f.flows}: ${(f.fps / 1e6).toFixed(2)} (x${f.ratio.toFixed(2)})`).join(', ')} Mpps, max/min ${r.flowsSpread.toFixed(2)}`);
  }
}
