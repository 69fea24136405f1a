/*
 * `npm run bench`: runs the benchmarks named with --only (or the default set),
 * prints their figures and appends one dated section to BENCHMARKS.md.
 * Figures are medians; ratios compare forwarders measured in the same run on
 * the same topology.
 *
 * One row per benchmark in BENCHES: its names for --only, whether it is in
 * the default set, what it needs (root, programs, cores; missing ones skip
 * it with one line saying what to install), and run(), which prints as it
 * goes and returns the tables it adds to BENCHMARKS.md.
 *
 *   npm run bench                      the default set (BENCHES rows with inDefault)
 *   npm run bench -- --quick           shorter runs (a smoke check, not for the record)
 *   npm run bench -- --only NAME       one benchmark (repeatable); the names are listed by --only help
 *   npm run bench -- --only soak [--soak-seconds N]   the soak (600 s by default)
 *   npm run bench -- --no-record       print the figures, append nothing to BENCHMARKS.md
 *   npm run bench -- --only tap --forwarder linc-ts --forwarder c-fwd [--base-tree /work/main]
 *                                      end-to-end: only the named forwarders (bench/e2e-forwarders.ts), and with
 *                                      --base-tree (a checkout with dist/ built) its linc-ts beside ours, A/B
 *   npm run bench -- --only latency --forwarder linc-ts --forwarder 'veth direct, two cores' [--base-tree DIR]
 *                                      the same for the latency rows (bench/latency.ts LATENCY_FORWARDERS)
 */

import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hasCommand, isRoot, repoRoot } from '../test/helpers/netns.js';
import { BELOW_KNEE_DATAGRAMS, FWD_CPU, HOST_CPU, runE2e, type E2eResult, type Link } from './e2e.js';
import { runInProcess } from './inprocess.js';
import { runCounters } from './counters.js';
import { formatClassifierBench, runClassifierBench } from './classifier.js';
import { runOfPipelineBench, type OfPipelineBenchResult } from './of-pipeline.js';
import { formatChurn, runChurn } from './churn.js';
import { formatCrc32cBench, runCrc32cBench } from './crc32c.js';
import { formatIsolation, runIsolation } from './isolation.js';
import { formatMemoryBench, runMemoryBench } from './memory.js';
import { formatSoak, runSoak } from './soak.js';
import { formatLatency, LATENCY_TABLE_HEADER, runLatency } from './latency.js';
import { formatRingLatency, RING_LATENCY_HEADER, runRingLatency } from './ring-latency.js';
import { formatRingBench, RING_BENCH_HEADER, runRingBench } from './rings.js';
import { formatTapIo, runTapIo } from './tap-io.js';

/** A table for BENCHMARKS.md: an optional sentence, the header row (cells between pipes) and the rows. */
interface Table {
  preface?: string;
  header: string;
  rows: string[];
}

interface RunContext {
  quick: boolean;
  runs: number;
  /** The names of this row that were asked for (the end-to-end row has two: tap and veth). */
  selected: string[];
  soakSeconds: number | undefined;
  /** End-to-end and latency: only these forwarders (--forwarder), and another tree's linc-ts beside ours (--base-tree). */
  forwarders?: string[];
  baseTree?: string;
}

interface Bench {
  names: string[];
  inDefault: boolean;
  needs?: { root?: boolean; commands?: string[]; cores?: number };
  run(ctx: RunContext): Table[] | Promise<Table[]>;
}

/** Print each line and keep it as a table row. */
function printed(rows: string[]): string[] {
  for (const row of rows) console.log(row);
  return rows;
}

const BENCHES: Bench[] = [
  {
    names: ['inprocess'],
    inDefault: true,
    run: ({ quick }) => {
      const r = runInProcess(quick ? { runs: 3, framesPerRun: 1_000_000, heapFrames: 5_000_000 } : {});
      console.log(`in-process | parse + learn + forward, 64 B, burst 32, 1 core | ${r.mppsMedian.toFixed(2)} Mpps (runs ${r.mppsRuns.map((x) => x.toFixed(2)).join(', ')}) | heap ${r.heapBeforeMB.toFixed(1)} -> ${r.heapAfterMB.toFixed(1)} MB over ${(r.heapFrames / 1e6).toFixed(0)}M frames`);
      return [{
        header: '| in-process | throughput | heap before -> after |',
        rows: [`| learning switch, MemoryPort -> MemoryPort, 64 B, burst 32, 1 core | ${r.mppsMedian.toFixed(2)} Mpps | ${r.heapBeforeMB.toFixed(1)} -> ${r.heapAfterMB.toFixed(1)} MB over ${(r.heapFrames / 1e6).toFixed(0)}M frames |`],
      }];
    },
  },
  {
    names: ['counters'],
    inDefault: true,
    run: async ({ quick }) => {
      const r = await runCounters(quick ? { pairs: 5, framesPerRun: 500_000, scrapes: 30 } : {});
      const flowsK = `${(r.scrapeFlows / 1000).toFixed(0)}k`;
      console.log(`counters on ${r.onMpps.toFixed(2)} Mpps, compiled out ${r.offMpps.toFixed(2)} Mpps: overhead ${r.overheadPct.toFixed(1)} % (median of ${r.pairs} alternating pairs; ${r.removedStatements} statements compiled out; target <= 3 %)`);
      console.log(`one scrape of ${r.scrapePorts} MemoryPorts and ${flowsK} flows (${r.scrapeFlowsTable0} in table 0, ${r.scrapeFlows - r.scrapeFlowsTable0} in table 1; installed in ${r.installSec.toFixed(1)} s; ${r.scrapeFrames} frames forwarded through the tables first): median ${r.scrapeMsMedian.toFixed(2)} ms, p95 ${r.scrapeMsP95.toFixed(2)} ms, max ${r.scrapeMsMax.toFixed(2)} ms over ${r.scrapes} scrapes (${(r.scrapeBytes / 1024).toFixed(0)} KiB with the default process metrics and the OpenFlow families of all 64 tables; target < 50 ms)`);
      return [{
        header: '| counters and scrape | figure | result |',
        rows: [
          `| llstat counters, learning switch MemoryPort -> MemoryPort, 64 B, burst 32 | ${r.onMpps.toFixed(2)} Mpps on, ${r.offMpps.toFixed(2)} Mpps compiled out (per CPU second; medians of ${r.pairs} alternating pairs) | ${r.overheadPct.toFixed(1)} % overhead (target <= 3 %) |`,
          `| Prometheus scrape, ${r.scrapePorts} MemoryPorts, ${flowsK} flows in the OpenFlow tables, default process metrics | median ${r.scrapeMsMedian.toFixed(2)} ms, p95 ${r.scrapeMsP95.toFixed(2)} ms, max ${r.scrapeMsMax.toFixed(2)} ms (${r.scrapes} scrapes, ${(r.scrapeBytes / 1024).toFixed(0)} KiB) | target < 50 ms: ${r.scrapeMsP95 < 50 ? 'met' : 'missed'} |`,
        ],
      }];
    },
  },
  {
    names: ['classifier'],
    inDefault: true,
    run: ({ quick }) => [{
      header: '| stage | setting | throughput | detail |',
      rows: formatClassifierBench(runClassifierBench({ quick })).map((line) => (console.log(line), `| ${line} |`)),
    }],
  },
  {
    names: ['ofpipeline'],
    inDefault: true,
    run: ({ quick }) => {
      const r = runOfPipelineBench(quick ? { runs: 1, framesPerRun: 500_000, flowRuns: 2, flowFrames: 250_000 } : {});
      const mpps = (fps: number) => (fps / 1e6).toFixed(2);
      const runsOf = (xs: number[]) => xs.map(mpps).join(', ');
      const setting = `2 tables, ${r.flows} flows, MemoryPort -> MemoryPort, 64 B, burst 32, 1 core`;
      const flowsSetting = (n: number) => `2 tables, 4 + ${n.toLocaleString('en-US')} flows (256 microflows over up to 256 of them), MemoryPort -> MemoryPort, 64 B, burst 32, 1 core`;
      const spread = `max/min ${r.flowsSpread.toFixed(2)} wall, ${r.flowsSpreadCpu.toFixed(2)} per CPU-second (median per-round ratios against 10 flows, ${r.flowRounds} interleaved rounds; target: within 20 %, <= 1.20)`;
      const against = (f: OfPipelineBenchResult['byFlows'][number]) => `${f.ratio.toFixed(2)}x 10 flows (per round ${f.ratios.map((x) => x.toFixed(2)).join(', ')}), ${f.cpuRatio.toFixed(2)}x per CPU-second`;
      console.log(`OpenFlow pipeline | ${setting} | megaflow cache (default) ${mpps(r.defaultFps)} Mpps (runs ${runsOf(r.defaultRuns)}) | EMC alone ${mpps(r.emcFps)} Mpps (runs ${runsOf(r.emcRuns)}) | caches off ${mpps(r.offFps)} Mpps (runs ${runsOf(r.offRuns)})`);
      for (const f of r.byFlows) console.log(`OpenFlow pipeline | ${flowsSetting(f.flows)} | megaflow cache (default) ${mpps(f.fps)} Mpps (runs ${runsOf(f.runs)}), ${mpps(f.cpuFps)} Mpps per CPU-second | ${against(f)}`);
      console.log(`OpenFlow pipeline | by flow count ${r.byFlows.map((f) => f.flows).join(', ')} | ${spread}`);
      return [{
        header: '| OpenFlow pipeline | setting | throughput (wall clock) | detail |',
        rows: [
          `| megaflow cache, the default (every frame a hit after warm-up) | ${setting} | ${mpps(r.defaultFps)} Mpps | runs ${runsOf(r.defaultRuns)} |`,
          `| exact-match cache alone, --no-megaflow (every frame a hit after warm-up) | ${setting} | ${mpps(r.emcFps)} Mpps | runs ${runsOf(r.emcRuns)} |`,
          `| caches off (every frame walks both tables) | ${setting} | ${mpps(r.offFps)} Mpps | runs ${runsOf(r.offRuns)} |`,
          ...r.byFlows.map((f, i) => `| megaflow cache, the default (cache hits) | ${flowsSetting(f.flows)} | ${mpps(f.fps)} Mpps | runs ${runsOf(f.runs)}; ${mpps(f.cpuFps)} Mpps per CPU-second; ${against(f)}${i === r.byFlows.length - 1 ? `; ${spread}` : ''} |`),
        ],
      }];
    },
  },
  {
    names: ['crc32c'],
    inDefault: true,
    run: ({ quick, runs }) => [{
      header: '| SCTP checksum (CRC32c, field counted as zero), one core | previous byte table, ns/packet | @node-rs/crc32, ns/packet | speed-up |',
      rows: formatCrc32cBench(runCrc32cBench(quick ? { runs: 1, bytesPerRun: 20_000_000 } : { runs })).map((line) => (console.log(line), `| ${line} |`)),
    }],
  },
  {
    names: ['tap', 'veth'],
    inDefault: true,
    needs: { root: true, commands: ['trafgen', 'iperf3', 'ip', 'cc', 'taskset', 'ovsdb-server', 'ovs-vswitchd', 'ovs-vsctl', 'ovs-ofctl', 'iptables'] },
    run: async ({ quick, runs, selected, forwarders, baseTree }) => {
      const results = await runE2e({ runs, seconds: quick ? 2 : 3, only: selected as Link[], forwarders, baseTree });
      const on = (r: E2eResult, f: E2eResult['forwarder']) => results.find((x) => x.link === r.link && x.forwarder === f);
      const ratio = (r: E2eResult, f: E2eResult['forwarder'], v: (x: E2eResult) => number = (x) => x.deliveredKpps) => {
        const b = on(r, f);
        return b && Number.isFinite(v(r)) && v(b) > 0 ? (v(r) / v(b)).toFixed(2) : '-';
      };
      const fixed = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : '-');
      const header = `link | forwarder | offered kpps | delivered kpps, median (min-max) | loss % | vs linc-ts | vs C poll | vs OVS in_port | vs OVS NORMAL | loss % paced (${BELOW_KNEE_DATAGRAMS / 1e3}k) | TCP Gbit/s | TCP vs C | ping p50/p99 us | RSS MB | forwarder CPU us/frame (share of its core) | CPU/frame vs C poll | B drops at ingress: delivered kpps (min-max) | vs C poll | vs OVS in_port | CPU us/frame`;
      console.log(`\n${header}`);
      const rows = results.map((r) => {
        const cells = [r.link, r.forwarder, r.offeredKpps.toFixed(0), `${r.deliveredKpps.toFixed(0)} (${r.deliveredMinKpps.toFixed(0)}-${r.deliveredMaxKpps.toFixed(0)})`, r.lossPct.toFixed(1), ratio(r, 'linc-ts'), ratio(r, 'c-fwd'), ratio(r, 'ovs in_port'), ratio(r, 'ovs NORMAL'), r.lossBelowKneePct.toFixed(2), fixed(r.tcpGbps, 2), ratio(r, 'c-fwd', (x) => x.tcpGbps), `${fixed(r.pingP50Us, 0)}/${fixed(r.pingP99Us, 0)}`, r.rssMB ? r.rssMB.toFixed(0) : '-', Number.isFinite(r.cpuUsPerFrame) ? `${r.cpuUsPerFrame.toFixed(2)} (${(r.coreShare * 100).toFixed(0)} %)` : '-', ratio(r, 'c-fwd', (x) => x.cpuUsPerFrame),
          `${fixed(r.dropSinkKpps, 0)} (${fixed(r.dropSinkMinKpps, 0)}-${fixed(r.dropSinkMaxKpps, 0)})`, ratio(r, 'c-fwd', (x) => x.dropSinkKpps), ratio(r, 'ovs in_port', (x) => x.dropSinkKpps), fixed(r.dropSinkCpuUsPerFrame, 2)];
        console.log(cells.join(' | '));
        return `| ${cells.join(' | ')} |`;
      });
      return [{
        preface: `End-to-end: ${FWD_CPU === undefined ? 'unpinned (1 core)' : `forwarder alone on CPU ${FWD_CPU}, generator and hosts on CPU ${HOST_CPU}`}; ${runs} interleaved rounds; linc-ts OpenFlow rows: fail-mode secure, flows added by ovs-ofctl -O OpenFlow13 add-flows (in_port 1 <-> 2; the 1000-flow table adds 998 higher-priority nw_dst /32 and eth_dst flows the traffic never matches, and a table-miss drop); c-fwd is poll + read/write (tap) or recvmmsg/sendmmsg (veth), c-uring io_uring, c-ring TPACKET_V3 rings; ovs is Open vSwitch ovs-vswitchd, datapath_type=netdev. The 64 B UDP flood runs twice per round, into B's IP stack (the first columns: B answers each frame with a route lookup and a rate-limited ICMP port unreachable) and into a DROP rule in B's raw PREROUTING table (the last four: a generator's receive port); the kernel's delivery into B runs on the forwarder's core in both.`,
        header: `| ${header} |`,
        rows,
      }];
    },
  },
  {
    names: ['churn'],
    inDefault: true,
    needs: { root: true, commands: ['trafgen', 'ip', 'python3'] },
    run: async ({ quick, runs }) => {
      const r = await runChurn(quick ? { rounds: 2, seconds: 2, recreations: 2 } : { rounds: runs < 5 ? 5 : runs });
      console.log('\nport changes | adds + removes | delivered, 64 B UDP at full speed | vs quiet | loss of 50k paced datagrams');
      return [{
        header: '| port changes (if: ports 1 and 2 on veths; TAP ports added and removed through the admin socket) | adds + removes | delivered A -> B, 64 B UDP at full speed (trafgen), median (rounds) | vs quiet (median of per-round ratios) | loss of 50k paced datagrams |',
        rows: printed(formatChurn(r)),
      }];
    },
  },
  {
    names: ['isolation'],
    inDefault: true,
    needs: { root: true, commands: ['trafgen', 'ip', 'ping', 'taskset'], cores: 2 },
    run: async ({ quick, runs }) => {
      const r = await runIsolation(quick ? { runs: 1, pings: 200 } : { runs });
      console.log('\nping 3 -> 4 during | loss | p50 | p99 | max | target (loss < 1 %, p99 < 5 ms)');
      return [{
        header: '| isolation (if: ports 1..4 on veths; switch on core 0, trafgen and ping on core 1; 1000 pings 5 ms apart, 3 -> 4) | ping loss, median | p50 RTT | p99 RTT | max RTT | target |',
        rows: printed(formatIsolation(r)),
      }];
    },
  },
  {
    names: ['memory'],
    inDefault: true,
    run: ({ quick }) => {
      const r = runMemoryBench(quick ? { sizes: [10_000, 100_000], quietSec: 3 } : {});
      console.log('\nflows | heap + array buffers per flow | RSS per flow | after GC');
      return [{
        header: '| memory (each line a fresh node process; per flow = growth after a forced GC / flows; target <= 1 KiB at 100k) | figure | figure | detail |',
        rows: printed(formatMemoryBench(r)),
      }];
    },
  },
  {
    names: ['soak'],
    inDefault: false,
    run: async ({ quick, soakSeconds }) => {
      const r = await runSoak({ seconds: soakSeconds ?? (quick ? 30 : 600), log: (line) => console.log(line) });
      console.log('\nsoak | throughput | outcome');
      return [{ header: '| soak | figures | outcome |', rows: printed(formatSoak(r)) }];
    },
  },
  {
    names: ['latency'],
    inDefault: false,
    needs: { root: true, commands: ['ip', 'ping', 'taskset', 'cc'], cores: 2 },
    run: async ({ quick, runs, forwarders, baseTree }) => {
      const rows = formatLatency(await runLatency({ ...(quick ? { rounds: 1, b2b: 1000, paced: 200, idleSeconds: 3 } : { rounds: runs }), forwarders, baseTree }));
      const [header] = LATENCY_TABLE_HEADER.split('\n');
      console.log(`\n${LATENCY_TABLE_HEADER}\n${rows.join('\n')}`);
      return [{ header, rows }];
    },
  },
  {
    names: ['rings'],
    inDefault: false,
    needs: { root: true, commands: ['trafgen', 'ip', 'ping', 'taskset', 'cc'], cores: 2 },
    run: async ({ quick, runs }) => {
      const r = await runRingBench(quick ? { rounds: 1, seconds: 2 } : { rounds: runs < 5 ? 5 : runs });
      console.log('\nforwarder | delivered kpps, median (min..max) | vs C | vs mmsg | vs OVS | ping p50 us | RSS MB');
      const lat = await runRingLatency(quick ? { batches: 3 } : {});
      console.log('\nidle ping | RTT p50 us | RTT p99 us | batch p50 vs mmsg | replies / sent');
      return [
        { header: RING_BENCH_HEADER, rows: printed(formatRingBench(r)) },
        { header: RING_LATENCY_HEADER, rows: printed(formatRingLatency(lat)) },
      ];
    },
  },
  {
    names: ['tapio'],
    inDefault: false,
    needs: { root: true, commands: ['trafgen', 'taskset'], cores: 2 },
    run: async ({ quick, runs }) => {
      const r = await runTapIo({ rounds: Math.max(runs, 3), seconds: quick ? 2 : 5, log: (s) => console.log(s) });
      console.log('\nTAP I/O | mode | offered kpps | delivered kpps (min-max) | vs io=rw');
      for (const row of formatTapIo(r)) console.log(row);
      return []; // printed only: its figures are recorded by hand with their context
    },
  },
];

/** Why a benchmark cannot run here, or null. */
function missingNeeds(b: Bench): string | null {
  const n = b.needs;
  if (n === undefined) return null;
  if (n.root && !isRoot) return 'needs root and /dev/net/tun';
  const missing = (n.commands ?? []).filter((c) => !hasCommand(c));
  if (missing.length > 0) return `missing ${missing.join(', ')}: run scripts/install-test-deps.sh`;
  if (n.cores !== undefined && cpus().length < n.cores) return `needs ${n.cores} cores`;
  return null;
}

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    runs: { type: 'string' },
    'no-record': { type: 'boolean', default: false },
    'soak-seconds': { type: 'string' },
    forwarder: { type: 'string', multiple: true },
    'base-tree': { type: 'string' },
  },
});

const known = BENCHES.flatMap((b) => b.names);
const asked = values.only ?? BENCHES.filter((b) => b.inDefault).flatMap((b) => b.names);
const unknown = asked.filter((n) => !known.includes(n));
if (unknown.length > 0) {
  console.error(`bench: no benchmark named ${unknown.map((n) => `"${n}"`).join(', ')}; --only takes ${known.join(', ')}`);
  process.exit(2);
}
const quick = values.quick;
const runs = values.runs ? Number(values.runs) : quick ? 1 : 3;
const soakSeconds = values['soak-seconds'] ? Number(values['soak-seconds']) : undefined;
const tables: Table[] = [];
for (const b of BENCHES) {
  const selected = b.names.filter((n) => asked.includes(n));
  if (selected.length === 0) continue;
  const why = missingNeeds(b);
  if (why !== null) {
    console.log(`${selected.join(' + ')}: skipped (${why})`);
    continue;
  }
  tables.push(...(await b.run({ quick, runs, selected, soakSeconds, forwarders: values.forwarder, baseTree: values['base-tree'] })));
}

if (!values['no-record'] && !quick && tables.some((t) => t.rows.length > 0)) {
  const file = join(repoRoot, 'BENCHMARKS.md');
  if (!existsSync(file)) writeFileSync(file, '# Benchmarks\n\nSections are appended by `npm run bench` (see README); each says when, how and on what it ran.\n');
  const date = new Date().toISOString().slice(0, 10);
  const command = `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`;
  let text = `\n## ${date}: \`${command}\`\n\n${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, medians of ${runs} runs unless a table says otherwise.\n`;
  for (const t of tables) {
    if (t.rows.length === 0) continue;
    const cells = t.header.split('|').length - 2;
    text += `${t.preface ? `\n${t.preface}\n` : ''}\n${t.header}\n|${' --- |'.repeat(cells)}\n${t.rows.join('\n')}\n`;
  }
  appendFileSync(file, text);
  console.log(`\nappended the figures to BENCHMARKS.md`);
}
