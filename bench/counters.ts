/*
 * What the llstat counters cost, and what one Prometheus scrape costs.
 *
 * 1. Counter overhead: the in-process forwarding benchmark (MemoryPort ->
 *    learning switch -> MemoryPort, 64 B, burst 32) run with the datapath as
 *    built, and with a copy of it whose counter updates are compiled out:
 *    the compiled datapath.js is rewritten through the TypeScript AST
 *    (statements that only write counters removed, then the locals, loops and
 *    branches that only fed them). The copy is checked to forward the same
 *    frames and to leave every counter at zero. Runs alternate on/off so that
 *    both see the same machine; the overhead is the median of the pairs.
 *    Rates are frames per CPU second of this process (one core), so other
 *    load on the machine does not count against either side.
 * 2. Scrape duration (the issue's target: 64 ports and 100k flows, < 50 ms):
 *    createSwitchMetrics() with the OpenFlow families over a datapath with
 *    64 MemoryPorts and an OfSwitch (fail mode secure: the tables forward)
 *    holding 100k flows: table 0 matches ipv4_dst (exact) and outputs, or
 *    goes to table 1 on a miss, which matches eth_dst; every port then sends
 *    frames through the tables (cache hits and misses, table lookups), and
 *    registry.metrics() is timed (default process metrics included, all 64
 *    tables' series).
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { Datapath } from '../src/datapath/datapath.js';
import { NormalSwitch } from '../src/datapath/learning/normal.js';
import { PacketPool } from '../src/packet/pool.js';
import { OFPCML } from '../src/openflow/codec/v13/enums.js';
import type { FlowMod } from '../src/openflow/codec/v13/msg/flow-mod.js';
import { OfSwitch } from '../src/openflow/ofproto/of-switch.js';
import { MemoryPort } from '../src/ports/memory-port.js';
import { createSwitchMetrics } from '../src/stats/metrics.js';
import { PortStat } from '../src/datapath/port-counters.js';
import { fm } from '../test/helpers/of-harness.js';
import { udpTemplate } from './frames.js';
import { buildLearningBench, median } from './inprocess.js';

/* ------------------------------------------------ compiling the counters out */

const COUNTER_ARRAY = /(^c$)|(\bcounters\.(c|rxWakeupHist|txKickHist)$)/;

function isCounterWrite(e: ts.Expression): e is ts.BinaryExpression {
  return (
    ts.isBinaryExpression(e) &&
    e.operatorToken.kind >= ts.SyntaxKind.FirstAssignment &&
    e.operatorToken.kind <= ts.SyntaxKind.LastAssignment &&
    ts.isElementAccessExpression(e.left) &&
    COUNTER_ARRAY.test(e.left.expression.getText())
  );
}

function hasCall(n: ts.Node): boolean {
  if (ts.isCallExpression(n) || ts.isNewExpression(n)) return true;
  return ts.forEachChild(n, hasCall) === true;
}

function isEmpty(s: ts.Statement | undefined): boolean {
  return s === undefined || ts.isEmptyStatement(s) || (ts.isBlock(s) && s.statements.length === 0);
}

function isAssignment(e: ts.Node): e is ts.BinaryExpression {
  return ts.isBinaryExpression(e) && e.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && e.operatorToken.kind <= ts.SyntaxKind.LastAssignment;
}

/** Locals (one let/const per statement) never read, only assigned in statements: their declarations and those statements. */
function deadLocals(sf: ts.SourceFile): { decls: Set<ts.Node>; writes: Set<ts.Node> } {
  const decls = new Set<ts.Node>();
  const writes = new Set<ts.Node>();
  const visit = (n: ts.Node): void => {
    if (ts.isVariableStatement(n) && n.declarationList.declarations.length === 1) {
      const d = n.declarationList.declarations[0];
      const fn = ts.findAncestor(n.parent, (a) => ts.isFunctionLike(a));
      if (ts.isIdentifier(d.name) && fn) {
        const name = d.name.text;
        let reads = 0;
        const assigned: ts.Node[] = [];
        const scan = (m: ts.Node): void => {
          if (ts.isIdentifier(m) && m.text === name && m !== d.name && !(ts.isPropertyAccessExpression(m.parent) && m.parent.name === m)) {
            const p = m.parent;
            if (isAssignment(p) && p.left === m && ts.isExpressionStatement(p.parent)) assigned.push(p.parent);
            else reads++;
          }
          ts.forEachChild(m, scan);
        };
        scan(fn);
        if (reads === 0) {
          decls.add(n);
          for (const w of assigned) writes.add(w);
        }
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return { decls, writes };
}

/** One pass: drop counter writes, dead locals and the empty branches/loops they leave. Returns the new text and how many statements went. */
function stripPass(text: string): { text: string; removed: number } {
  const sf = ts.createSourceFile('datapath.js', text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const dead = deadLocals(sf);
  let removed = 0;
  const f = ts.factory;
  /** Keep an expression's calls (side effects), drop the rest. */
  const keepCalls = (e: ts.Expression | undefined): ts.Statement => (e !== undefined && hasCall(e) ? f.createExpressionStatement(e) : f.createEmptyStatement());
  const transformer: ts.TransformerFactory<ts.SourceFile> = (ctx) => {
    const visit = (node: ts.Node): ts.Node => {
      // Removals are decided on the original nodes (positions, text).
      if (ts.isExpressionStatement(node) && (isCounterWrite(node.expression) || dead.writes.has(node))) {
        removed++;
        return keepCalls((node.expression as ts.BinaryExpression).right);
      }
      if (dead.decls.has(node)) {
        removed++;
        return keepCalls((node as ts.VariableStatement).declarationList.declarations[0].initializer);
      }
      const n = ts.visitEachChild(node, visit, ctx);
      if (ts.isIfStatement(n) && isEmpty(n.thenStatement) && isEmpty(n.elseStatement)) {
        removed++;
        return keepCalls(n.expression);
      }
      if (ts.isForStatement(n) && isEmpty(n.statement) && !hasCall(n)) {
        removed++;
        return f.createEmptyStatement();
      }
      if (ts.isBlock(n)) return f.updateBlock(n, n.statements.filter((s) => !ts.isEmptyStatement(s)));
      return n;
    };
    return (root) => ts.visitEachChild(root, visit, ctx);
  };
  const out = ts.transform(sf, [transformer]).transformed[0];
  return { text: ts.createPrinter().printFile(out), removed };
}

export interface StrippedDatapath {
  Datapath: typeof Datapath;
  /** Statements removed from the compiled datapath. */
  removed: number;
  /** Where the stripped copy was written (removed again by cleanup()). */
  cleanup(): void;
}

/** Load a copy of the compiled datapath with every counter update compiled out. */
async function loadDatapathWithoutCounters(opts: { keep?: boolean } = {}): Promise<StrippedDatapath & { text: string }> {
  const srcFile = fileURLToPath(new URL('../src/datapath/datapath.js', import.meta.url));
  let text = readFileSync(srcFile, 'utf8');
  let removed = 0;
  for (let i = 0; i < 10; i++) {
    const r = stripPass(text);
    removed += r.removed;
    if (r.text === text || r.removed === 0) break;
    text = r.text;
  }
  // Imports point back at the compiled modules, so the copy shares PacketPool, parse and the counters' classes.
  const base = pathToFileURL(srcFile);
  text = text.replace(/from (['"])(\.\.?\/[^'"]+)\1/g, (_m, q: string, spec: string) => `from ${q}${new URL(spec, base).href}${q}`);
  const dir = mkdtempSync(join(tmpdir(), 'linc-bench-'));
  const file = join(dir, 'datapath-no-counters.js');
  writeFileSync(file, text);
  const mod = (await import(pathToFileURL(file).href)) as { Datapath: typeof Datapath };
  return { Datapath: mod.Datapath, removed, text, cleanup: () => (opts.keep ? undefined : rmSync(dir, { recursive: true, force: true })) };
}

/* ------------------------------------------------------------- throughput */


/**
 * Frames per second of this process's CPU time (user + system), not wall
 * time: on a shared machine, time spent descheduled is not the datapath's.
 */
function mpps(run: ReturnType<typeof buildLearningBench>, frames: number): number {
  const before = run.sink.txFrames;
  const c0 = process.cpuUsage();
  run.pump(frames);
  const c = process.cpuUsage(c0);
  return (run.sink.txFrames - before) / (c.user + c.system);
}

export interface CountersResult {
  onMpps: number;
  offMpps: number;
  /** Median over the pairs of 1 - on/off, in percent (negative: noise in favour of counters). */
  overheadPct: number;
  pairs: number;
  removedStatements: number;
  scrapePorts: number;
  /** Flows installed in the OpenFlow tables of the scraped switch. */
  scrapeFlows: number;
  /** Of those, in table 0 (the rest in table 1). */
  scrapeFlowsTable0: number;
  /** Seconds the flow-mods took to install them (not part of the scrape). */
  installSec: number;
  /** Frames the ports sent through the tables before the scrapes (all forwarded). */
  scrapeFrames: number;
  scrapeMsMedian: number;
  scrapeMsP95: number;
  scrapeMsMax: number;
  scrapeBytes: number;
  scrapes: number;
}

/** A flow-mod at priority 100, every other field as test/helpers/of-harness.ts fm() defaults it. */
const flowMod = (spec: Partial<FlowMod>): FlowMod => fm({ priority: 100, ...spec });

const FLOW_IP_BASE = 0x0a000000; // 10.0.0.0: table 0 flow i matches ipv4_dst 10.0.0.0 + i
const FLOW_MAC_BASE = 0x020000100000; // table 1 flow j matches eth_dst FLOW_MAC_BASE + j

/**
 * A switch with `ports` MemoryPorts and `flows` flows in its OpenFlow tables
 * (about 99 % in table 0, the rest in table 1), that forwarded `framesPerPort`
 * frames from every port through the tables; its metrics with the OpenFlow families.
 */
function scrapeSetup(ports: number, flows: number, framesPerPort: number) {
  const dp = new Datapath({ pool: new PacketPool({ slots: 1024 }), burst: 32 });
  const normal = new NormalSwitch();
  const list: MemoryPort[] = [];
  for (let i = 0; i < ports; i++) {
    const p = new MemoryPort({ name: `vif${i + 1}.0`, ofPort: i + 1, capture: false });
    dp.addPort(p);
    list.push(p);
  }
  const sw = new OfSwitch({ datapath: dp, normal, datapathId: 1n, failMode: 'secure' });
  const t1Flows = Math.max(1, Math.floor(flows / 100));
  const t0Flows = flows - t1Flows - 1; // and one table-miss entry in table 0
  const outTo = (i: number) => ({ type: 'apply_actions' as const, actions: [{ type: 'output' as const, port: (i % ports) + 1, maxLen: OFPCML.NO_BUFFER }] });
  const t0 = process.hrtime.bigint();
  const add = (fm: FlowMod) => {
    const e = sw.flowMod(fm);
    if (e !== null) throw new Error(`benchmark flow refused: ${e.reason}`);
  };
  for (let i = 0; i < t0Flows; i++) {
    add(flowMod({ tableId: 0, match: [{ field: 'eth_type', value: 0x0800 }, { field: 'ipv4_dst', value: FLOW_IP_BASE + i }], instructions: [outTo(i)] }));
  }
  add(flowMod({ tableId: 0, priority: 0, instructions: [{ type: 'goto_table', tableId: 1 }] }));
  for (let j = 0; j < t1Flows; j++) add(flowMod({ tableId: 1, match: [{ field: 'eth_dst', value: FLOW_MAC_BASE + j }], instructions: [outTo(j)] }));
  const installSec = Number(process.hrtime.bigint() - t0) / 1e9;
  if (sw.tables.flowCount !== flows) throw new Error(`${sw.tables.flowCount} flows installed, wanted ${flows}`);
  // Each port: frames to a table-0 flow (ipv4_dst) and frames only table 1 knows (eth_dst, an ipv4_dst no
  // table-0 flow has), both picked among the flows that output to the next port (flow i outputs to i % ports + 1).
  if (t1Flows < ports || t0Flows < ports) throw new Error(`${flows} flows are too few for ${ports} ports`);
  const perPort = Math.floor(t0Flows / ports);
  for (let i = 0; i < ports; i++) {
    const src = 0x020000000000 + i;
    const next = (i + 1) % ports;
    list[i].setGenerator([
      udpTemplate(0x02ffffffffff, src, 64, 0x0a4d0001, FLOW_IP_BASE + next + ports * ((i * 1543) % perPort)),
      udpTemplate(FLOW_MAC_BASE + next, src, 64, 0x0a4d0001, 0xc0a80001),
    ]);
  }
  for (const p of list) {
    for (let sent = 0; sent < framesPerPort; sent += 32) {
      p.offer(Math.min(32, framesPerPort - sent));
      dp.pollPort(dp.port(p.ofPort)!);
    }
  }
  const forwarded = list.reduce((n, p) => n + p.txFrames, 0);
  if (forwarded !== ports * framesPerPort) throw new Error(`the tables forwarded ${forwarded} of ${ports * framesPerPort} frames`);
  return { metrics: createSwitchMetrics({ datapath: dp, normal, datapathId: 1n, version: 'bench', openflow: sw }), installSec, t0Flows: t0Flows + 1, frames: forwarded };
}

export async function runCounters(opts: { pairs?: number; framesPerRun?: number; scrapes?: number; ports?: number; flows?: number } = {}): Promise<CountersResult> {
  // Short runs in many alternating pairs: each pair sees the same machine, drift cancels in the ratio.
  const pairs = opts.pairs ?? 15;
  const framesPerRun = opts.framesPerRun ?? 1_000_000;
  const stripped = await loadDatapathWithoutCounters();
  try {
    const on = buildLearningBench(Datapath, 32);
    const off = buildLearningBench(stripped.Datapath, 32);
    // The copy must forward like the original and count nothing.
    on.pump(320_000);
    off.pump(320_000);
    if (on.sink.txFrames !== off.sink.txFrames) throw new Error(`datapath without counters forwarded ${off.sink.txFrames} frames, the original ${on.sink.txFrames}`);
    const offCounters = off.dp.portList.flatMap((p) => [...p.counters.c].filter((_, i) => i !== PortStat.RxWakeupFramesMin && i !== PortStat.TxKickFramesMin));
    if (offCounters.some((x) => x !== 0)) throw new Error('datapath without counters still counts');
    if (on.dp.port(1)!.counters.c[PortStat.RxFrames] < 320_000) throw new Error('the original datapath does not count');
    on.pump(1_000_000); // JIT warm-up for both
    off.pump(1_000_000);
    const onRuns: number[] = [];
    const offRuns: number[] = [];
    const ratios: number[] = [];
    for (let i = 0; i < pairs; i++) {
      let onM: number;
      let offM: number;
      if (i % 2 === 0) {
        onM = mpps(on, framesPerRun);
        offM = mpps(off, framesPerRun);
      } else {
        offM = mpps(off, framesPerRun);
        onM = mpps(on, framesPerRun);
      }
      onRuns.push(onM);
      offRuns.push(offM);
      ratios.push(1 - onM / offM);
    }

    const scrapePorts = opts.ports ?? 64;
    const scrapeFlows = opts.flows ?? 100_000;
    const scrapes = opts.scrapes ?? 100;
    const { metrics, installSec, t0Flows, frames } = scrapeSetup(scrapePorts, scrapeFlows, 64);
    let bytes = 0;
    for (let i = 0; i < 10; i++) bytes = (await metrics.scrape()).length;
    const ms: number[] = [];
    for (let i = 0; i < scrapes; i++) {
      const t0 = process.hrtime.bigint();
      await metrics.scrape();
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return {
      onMpps: median(onRuns),
      offMpps: median(offRuns),
      overheadPct: median(ratios) * 100,
      pairs,
      removedStatements: stripped.removed,
      scrapePorts,
      scrapeFlows,
      scrapeFlowsTable0: t0Flows,
      installSec,
      scrapeFrames: frames,
      scrapeMsMedian: median(ms),
      scrapeMsP95: [...ms].sort((a, b) => a - b)[Math.floor(ms.length * 0.95)],
      scrapeMsMax: Math.max(...ms),
      scrapeBytes: bytes,
      scrapes,
    };
  } finally {
    stripped.cleanup();
  }
}
