/*
 * `npm run bench`: runs the in-process benchmark and, as root with the tools
 * installed, the end-to-end one; prints a table and appends dated rows to
 * BENCHMARKS.md. Figures are medians; ratios compare forwarders measured in
 * the same run on the same topology.
 *
 *   npm run bench                      everything
 *   npm run bench -- --quick           shorter runs (a smoke check, not for the record)
 *   npm run bench -- --only inprocess  or --only tap, --only veth, --only counters, --only classifier,
 *                                      --only ofpipeline, --only churn, --only crc32c,
 *                                      --only isolation, --only memory, --only rings (repeatable)
 *   npm run bench -- --only soak [--soak-seconds N]   the soak (600 s by default; not part of "everything")
 *   npm run bench -- --only latency    UDP RTT and idle CPU per receive mode (bench/latency.ts; not in the default set)
 *   npm run bench -- --only tapio      TAP -> TAP with io=uring vs io=rw, pinned, interleaved (not in the default set)
 *   npm run bench -- --no-record       print the figures, append nothing to BENCHMARKS.md
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
import { runOfPipelineBench } from './of-pipeline.js';
import { formatChurn, runChurn } from './churn.js';
import { formatCrc32cBench, runCrc32cBench } from './crc32c.js';
import { formatIsolation, runIsolation } from './isolation.js';
import { formatMemoryBench, runMemoryBench } from './memory.js';
import { formatSoak, runSoak } from './soak.js';
import { formatLatency, LATENCY_TABLE_HEADER, runLatency } from './latency.js';
import { formatRingBench, runRingBench } from './rings.js';
import { formatTapIo, runTapIo } from './tap-io.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    runs: { type: 'string' },
    'no-record': { type: 'boolean', default: false },
    'soak-seconds': { type: 'string' },
  },
});

const only = values.only ?? ['inprocess', 'counters', 'classifier', 'ofpipeline', 'tap', 'veth', 'churn', 'crc32c', 'isolation', 'memory'];
const quick = values.quick;
const runs = values.runs ? Number(values.runs) : quick ? 1 : 3;
const date = new Date().toISOString().slice(0, 10);
const command = `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`;
const rows: string[] = [];
const e2eRows: string[] = [];
const counterRows: string[] = [];
const classifierRows: string[] = [];
const ofPipelineRows: string[] = [];
const churnRows: string[] = [];
const crcRows: string[] = [];
const isolationRows: string[] = [];
const memoryRows: string[] = [];
const soakRows: string[] = [];
const latencyRows: string[] = [];
const ringRows: string[] = [];

if (only.includes('inprocess')) {
  const r = runInProcess(quick ? { runs: 3, framesPerRun: 1_000_000, heapFrames: 5_000_000 } : {});
  const line = `in-process | parse + learn + forward, 64 B, burst 32, 1 core | ${r.mppsMedian.toFixed(2)} Mpps (runs ${r.mppsRuns.map((x) => x.toFixed(2)).join(', ')}) | heap ${r.heapBeforeMB.toFixed(1)} -> ${r.heapAfterMB.toFixed(1)} MB over ${(r.heapFrames / 1e6).toFixed(0)}M frames`;
  console.log(line);
  rows.push(`| learning switch, MemoryPort -> MemoryPort, 64 B, burst 32, 1 core | ${r.mppsMedian.toFixed(2)} Mpps | ${r.heapBeforeMB.toFixed(1)} -> ${r.heapAfterMB.toFixed(1)} MB over ${(r.heapFrames / 1e6).toFixed(0)}M frames |`);
}

if (only.includes('counters')) {
  const r = await runCounters(quick ? { pairs: 5, framesPerRun: 500_000, scrapes: 30 } : {});
  const overhead = `counters on ${r.onMpps.toFixed(2)} Mpps, compiled out ${r.offMpps.toFixed(2)} Mpps: overhead ${r.overheadPct.toFixed(1)} % (median of ${r.pairs} alternating pairs; ${r.removedStatements} statements compiled out; target <= 3 %)`;
  const flowsK = `${(r.scrapeFlows / 1000).toFixed(0)}k`;
  const scrape = `one scrape of ${r.scrapePorts} MemoryPorts and ${flowsK} flows (${r.scrapeFlowsTable0} in table 0, ${r.scrapeFlows - r.scrapeFlowsTable0} in table 1; installed in ${r.installSec.toFixed(1)} s; ${r.scrapeFrames} frames forwarded through the tables first): median ${r.scrapeMsMedian.toFixed(2)} ms, p95 ${r.scrapeMsP95.toFixed(2)} ms, max ${r.scrapeMsMax.toFixed(2)} ms over ${r.scrapes} scrapes (${(r.scrapeBytes / 1024).toFixed(0)} KiB with the default process metrics and the OpenFlow families of all 64 tables; target < 50 ms)`;
  console.log(overhead);
  console.log(scrape);
  counterRows.push(`| llstat counters, learning switch MemoryPort -> MemoryPort, 64 B, burst 32 | ${r.onMpps.toFixed(2)} Mpps on, ${r.offMpps.toFixed(2)} Mpps compiled out (per CPU second; medians of ${r.pairs} alternating pairs) | ${r.overheadPct.toFixed(1)} % overhead (target <= 3 %) |`);
  counterRows.push(`| Prometheus scrape, ${r.scrapePorts} MemoryPorts, ${flowsK} flows in the OpenFlow tables, default process metrics | median ${r.scrapeMsMedian.toFixed(2)} ms, p95 ${r.scrapeMsP95.toFixed(2)} ms, max ${r.scrapeMsMax.toFixed(2)} ms (${r.scrapes} scrapes, ${(r.scrapeBytes / 1024).toFixed(0)} KiB) | target < 50 ms: ${r.scrapeMsP95 < 50 ? 'met' : 'missed'} |`);
}

if (only.includes('classifier')) {
  for (const line of formatClassifierBench(runClassifierBench({ quick }))) {
    console.log(line);
    classifierRows.push(`| ${line} |`);
  }
}

if (only.includes('ofpipeline')) {
  const r = runOfPipelineBench(quick ? { runs: 1, framesPerRun: 500_000 } : {});
  const mpps = (fps: number) => (fps / 1e6).toFixed(2);
  const runsOf = (xs: number[]) => xs.map(mpps).join(', ');
  const setting = `2 tables, ${r.flows} flows, MemoryPort -> MemoryPort, 64 B, burst 32, 1 core`;
  console.log(`OpenFlow pipeline | ${setting} | EMC on ${mpps(r.emcOnFps)} Mpps (runs ${runsOf(r.emcOnRuns)}) | EMC off ${mpps(r.emcOffFps)} Mpps (runs ${runsOf(r.emcOffRuns)})`);
  ofPipelineRows.push(`| exact-match cache on (every frame a hit after warm-up) | ${setting} | ${mpps(r.emcOnFps)} Mpps | runs ${runsOf(r.emcOnRuns)} |`);
  ofPipelineRows.push(`| exact-match cache off (every frame walks both tables) | ${setting} | ${mpps(r.emcOffFps)} Mpps | runs ${runsOf(r.emcOffRuns)} |`);
}

if (only.includes('crc32c')) {
  for (const line of formatCrc32cBench(runCrc32cBench(quick ? { runs: 1, bytesPerRun: 20_000_000 } : { runs }))) {
    console.log(line);
    crcRows.push(`| ${line} |`);
  }
}

const e2eLinks = only.filter((o): o is Link => o === 'tap' || o === 'veth');
if (e2eLinks.length > 0) {
  const missing = ['trafgen', 'iperf3', 'ip', 'cc', 'taskset', 'ovsdb-server', 'ovs-vswitchd', 'ovs-vsctl', 'ovs-ofctl'].filter((c) => !hasCommand(c));
  if (!isRoot || missing.length > 0) {
    console.log(`end-to-end: skipped (${!isRoot ? 'needs root and /dev/net/tun' : 'missing ' + missing.join(', ') + ': run scripts/install-test-deps.sh'})`);
  } else {
    const results = await runE2e({ runs, seconds: quick ? 2 : 3, only: e2eLinks });
    const on = (r: E2eResult, f: E2eResult['forwarder']) => results.find((x) => x.link === r.link && x.forwarder === f);
    const ratio = (r: E2eResult, f: E2eResult['forwarder'], v: (x: E2eResult) => number = (x) => x.deliveredKpps) => {
      const b = on(r, f);
      return b && Number.isFinite(v(r)) && v(b) > 0 ? (v(r) / v(b)).toFixed(2) : '-';
    };
    const fixed = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : '-');
    console.log(`\nlink | forwarder | offered kpps | delivered kpps, median (min-max) | loss % | vs C poll | vs OVS in_port | vs OVS NORMAL | loss % paced (${BELOW_KNEE_DATAGRAMS / 1e3}k) | TCP Gbit/s | TCP vs C | ping p50/p99 us | RSS MB | forwarder CPU us/frame (share of its core)`);
    for (const r of results) {
      const cells = [r.link, r.forwarder, r.offeredKpps.toFixed(0), `${r.deliveredKpps.toFixed(0)} (${r.deliveredMinKpps.toFixed(0)}-${r.deliveredMaxKpps.toFixed(0)})`, r.lossPct.toFixed(1), ratio(r, 'c-fwd'), ratio(r, 'ovs in_port'), ratio(r, 'ovs NORMAL'), r.lossBelowKneePct.toFixed(2), fixed(r.tcpGbps, 2), ratio(r, 'c-fwd', (x) => x.tcpGbps), `${fixed(r.pingP50Us, 0)}/${fixed(r.pingP99Us, 0)}`, r.rssMB ? r.rssMB.toFixed(0) : '-', Number.isFinite(r.cpuUsPerFrame) ? `${r.cpuUsPerFrame.toFixed(2)} (${(r.coreShare * 100).toFixed(0)} %)` : '-'];
      console.log(cells.join(' | '));
      e2eRows.push(`| ${cells.join(' | ')} |`);
    }
  }
}

if (only.includes('churn')) {
  const missing = ['trafgen', 'ip', 'python3'].filter((c) => !hasCommand(c));
  if (!isRoot || missing.length > 0) {
    console.log(`port churn: skipped (${!isRoot ? 'needs root and /dev/net/tun' : 'missing ' + missing.join(', ') + ': run scripts/install-test-deps.sh'})`);
  } else {
    const r = await runChurn(quick ? { rounds: 2, seconds: 2, recreations: 2 } : { rounds: runs < 5 ? 5 : runs });
    console.log('\nport changes | adds + removes | delivered, 64 B UDP at full speed | vs quiet | loss of 50k paced datagrams');
    for (const row of formatChurn(r)) {
      console.log(row);
      churnRows.push(row);
    }
  }
}

if (only.includes('isolation')) {
  const missing = ['trafgen', 'ip', 'ping', 'taskset'].filter((c) => !hasCommand(c));
  if (!isRoot || missing.length > 0 || cpus().length < 2) {
    console.log(`isolation: skipped (${!isRoot ? 'needs root and /dev/net/tun' : missing.length > 0 ? 'missing ' + missing.join(', ') + ': run scripts/install-test-deps.sh' : 'needs 2 cores'})`);
  } else {
    const r = await runIsolation(quick ? { runs: 1, pings: 200 } : { runs });
    console.log('\nping 3 -> 4 during | loss | p50 | p99 | max | target (loss < 1 %, p99 < 5 ms)');
    for (const row of formatIsolation(r)) {
      console.log(row);
      isolationRows.push(row);
    }
  }
}

if (only.includes('memory')) {
  const r = runMemoryBench(quick ? { sizes: [10_000, 100_000], quietSec: 3 } : {});
  console.log('\nflows | heap + array buffers per flow | RSS per flow | after GC');
  for (const row of formatMemoryBench(r)) {
    console.log(row);
    memoryRows.push(row);
  }
}

if (only.includes('soak')) {
  const seconds = values['soak-seconds'] ? Number(values['soak-seconds']) : quick ? 30 : 600;
  const r = await runSoak({ seconds, log: (line) => console.log(line) });
  console.log('\nsoak | throughput | outcome');
  for (const row of formatSoak(r)) {
    console.log(row);
    soakRows.push(row);
  }
}

if (only.includes('latency')) {
  const missing = ['ip', 'ping', 'taskset', 'cc'].filter((c) => !hasCommand(c));
  if (!isRoot || missing.length > 0 || cpus().length < 2) {
    console.log(`latency: skipped (${!isRoot ? 'needs root and /dev/net/tun' : missing.length > 0 ? 'missing ' + missing.join(', ') : 'needs 2 cores'})`);
  } else {
    latencyRows.push(...formatLatency(await runLatency(quick ? { rounds: 1, b2b: 1000, paced: 200, idleSeconds: 3 } : { rounds: runs })));
    console.log(`\n${LATENCY_TABLE_HEADER}\n${latencyRows.join('\n')}`);
  }
}

if (only.includes('rings')) {
  const missing = ['trafgen', 'ip', 'ping', 'taskset', 'cc'].filter((c) => !hasCommand(c));
  if (!isRoot || missing.length > 0 || cpus().length < 2) {
    console.log(`rings: skipped (${!isRoot ? 'needs root' : missing.length > 0 ? 'missing ' + missing.join(', ') + ': run scripts/install-test-deps.sh' : 'needs 2 cores'})`);
  } else {
    const r = await runRingBench(quick ? { rounds: 1, seconds: 2 } : { rounds: runs < 5 ? 5 : runs });
    console.log('\nforwarder | delivered kpps, median (min..max) | vs C | vs mmsg | ping p50 us');
    for (const row of formatRingBench(r)) {
      console.log(row);
      ringRows.push(row);
    }
  }
}

if (only.includes('tapio')) {
  if (!isRoot || !hasCommand('trafgen') || !hasCommand('taskset') || cpus().length < 2) {
    console.log('tapio: skipped (needs root, trafgen, taskset and 2 cores)');
  } else {
    const r = await runTapIo({ rounds: Math.max(runs, 3), seconds: quick ? 2 : 5, log: (s) => console.log(s) });
    console.log('\nTAP I/O | mode | offered kpps | delivered kpps (min-max) | vs io=rw');
    for (const row of formatTapIo(r)) console.log(row);
  }
}

if (!values['no-record'] && !quick && rows.length + e2eRows.length + counterRows.length + classifierRows.length + ofPipelineRows.length + churnRows.length + crcRows.length + isolationRows.length + memoryRows.length + soakRows.length + latencyRows.length + ringRows.length > 0) {
  const file = join(repoRoot, 'BENCHMARKS.md');
  if (!existsSync(file)) writeFileSync(file, '# Benchmarks\n\nSections are appended by `npm run bench` (see README); each says when, how and on what it ran.\n');
  let text = `\n## ${date}: \`${command}\`\n\n${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, medians of ${runs} runs.\n`;
  if (rows.length) text += `\n| in-process | throughput | heap before -> after |\n| --- | --- | --- |\n${rows.join('\n')}\n`;
  if (counterRows.length) text += `\n| counters and scrape | figure | result |\n| --- | --- | --- |\n${counterRows.join('\n')}\n`;
  if (e2eRows.length) {
    text += `\nEnd-to-end: ${FWD_CPU === undefined ? 'unpinned (1 core)' : `forwarder alone on CPU ${FWD_CPU}, generator and hosts on CPU ${HOST_CPU}`}; ${runs} interleaved rounds; c-fwd is poll + read/write (tap) or recvmmsg/sendmmsg (veth), c-uring io_uring, c-ring TPACKET_V3 rings; ovs is Open vSwitch ovs-vswitchd, datapath_type=netdev.\n`;
    text += `\n| link | forwarder | offered kpps | delivered kpps, median (min-max) | loss % | vs C poll | vs OVS in_port | vs OVS NORMAL | loss % paced (${BELOW_KNEE_DATAGRAMS / 1e3}k) | TCP Gbit/s | TCP vs C | ping p50/p99 us | RSS MB | forwarder CPU us/frame (share of its core) |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n${e2eRows.join('\n')}\n`;
  }
  if (classifierRows.length) {
    text += `\n| stage | setting | throughput | detail |\n| --- | --- | --- | --- |\n${classifierRows.join('\n')}\n`;
  }
  if (ofPipelineRows.length) {
    text += `\n| OpenFlow pipeline | setting | throughput (wall clock) | detail |\n| --- | --- | --- | --- |\n${ofPipelineRows.join('\n')}\n`;
  }
  if (churnRows.length) {
    text += `\n| port changes (if: ports 1 and 2 on veths; TAP ports added and removed through the admin socket) | adds + removes | delivered A -> B, 64 B UDP at full speed (trafgen), median (rounds) | vs quiet (median of per-round ratios) | loss of 50k paced datagrams |\n| --- | --- | --- | --- | --- |\n${churnRows.join('\n')}\n`;
  }
  if (crcRows.length) text += `\n| SCTP checksum (CRC32c, field counted as zero), one core | previous byte table, ns/packet | @node-rs/crc32, ns/packet | speed-up |\n| --- | --- | --- | --- |\n${crcRows.join('\n')}\n`;
  if (isolationRows.length) {
    text += `\n| isolation (if: ports 1..4 on veths; switch on core 0, trafgen and ping on core 1; 1000 pings 5 ms apart, 3 -> 4) | ping loss, median | p50 RTT | p99 RTT | max RTT | target |\n| --- | --- | --- | --- | --- | --- |\n${isolationRows.join('\n')}\n`;
  }
  if (memoryRows.length) {
    text += `\n| memory (each line a fresh node process; per flow = growth after a forced GC / flows; target <= 1 KiB at 100k) | figure | figure | detail |\n| --- | --- | --- | --- |\n${memoryRows.join('\n')}\n`;
  }
  if (soakRows.length) text += `\n| soak | figures | outcome |\n| --- | --- | --- |\n${soakRows.join('\n')}\n`;
  if (latencyRows.length) text += `\n${LATENCY_TABLE_HEADER}\n${latencyRows.join('\n')}\n`;
  if (ringRows.length) {
    text += `\n| veth -> veth, 64 B UDP, if: port I/O modes (forwarder on core 1, trafgen on core 0; rounds interleaved) | delivered kpps, median (min..max) | vs C (per-round ratios) | vs linc-ts mmsg | ping p50 us |\n| --- | --- | --- | --- | --- |\n${ringRows.join('\n')}\n`;
  }
  appendFileSync(file, text);
  console.log(`\nappended the figures to BENCHMARKS.md`);
}
