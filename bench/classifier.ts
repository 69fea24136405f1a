/*
 * Classifier and exact-match-cache benchmark: lookups per second on one flow
 * table holding 1, 100 and 10k flows installed through FlowTable.add from
 * OpenFlow matches with a realistic mix of masks (L2 learning, L3 prefixes
 * of three lengths, a TCP ACL, ARP to the controller, table-miss: 7 masks),
 * then the EMC in front of the 10k-flow table with a working set that fits
 * the cache and one that does not (inserting every miss, and 1 in 100 as
 * OVS does by default).
 *
 *   runClassifierBench({ quick })  -> figures (medians of `runs` runs)
 *   node dist/bench/classifier.js [--quick]  prints them
 *
 * Figures are in-process, one core, no I/O: they bound the lookup stage only.
 */

import { pathToFileURL } from 'node:url';
import { ClsStat } from '../src/datapath/rules/classifier.js';
import { ExactMatchCache, EmcStat, NO_PROGRAM } from '../src/datapath/rules/emc.js';
import { K, KEY_WORDS } from '../src/flow/key.js';
import { FlowTable } from '../src/datapath/rules/flow-table.js';
import { OFPG, OFPP } from '../src/openflow/codec/v13/enums.js';
import type { Match } from '../src/openflow/codec/v13/oxm.js';
import { OfFlowTable } from '../src/openflow/ofproto/flow-mods.js';
import { median } from './inprocess.js';

export interface ClassifierBenchRow {
  rules: number;
  subtables: number;
  mlookupsPerSec: number;
  nsPerLookup: number;
  /** Subtables hashed per lookup (1 = stopped at the first). */
  probesPerLookup: number;
  /** Lookups that hit a rule other than table-miss. */
  matchedPct: number;
}

export interface EmcBenchRow {
  /** Distinct flow keys cycled through. */
  flows: number;
  /** The EMC insertion knob (1 = insert every miss). */
  insertInvProb: number;
  hitRatePct: number;
  /** EMC lookup, classifier on a miss, insert: the whole lookup stage. */
  mlookupsPerSec: number;
  nsPerLookup: number;
}

export interface ClassifierBenchResult {
  classifier: ClassifierBenchRow[];
  /** Cost of one EMC hit (hash + probe + 30-word compare). */
  emcHitNs: number;
  emc: EmcBenchRow[];
}

export interface ClassifierBenchOptions {
  quick?: boolean;
  /** Lookups per timed run. */
  lookups?: number;
  runs?: number;
}

const PACKETS = 4096;
const RULE_COUNTS = [1, 100, 10_000];

/** Deterministic PRNG (xorshift32) so every run builds the same rules and packets. */
function rng(seed: number): () => number {
  let x = seed | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

const mac = (i: number) => 0x020000000000 + i;
const PREFIX_LENGTHS = [16, 24, 32];
const PREFIX_MASKS = [0xffff0000, 0xffffff00, 0xffffffff];
/** Destination of route i: distinct for every i under its own prefix length. */
const routeDst = (i: number) => (0x0a000000 + i * 2 ** (32 - PREFIX_LENGTHS[(i >> 2) % 3])) >>> 0;

/** The i-th rule of a table of n (category by i mod 5, so every size has the mix). */
function ruleMatch(i: number): { match: Match; priority: number } {
  switch (i % 5) {
    case 0:
    case 1: // L2 learning (os-ken simple_switch_13): in_port, eth_dst, eth_src
      return { priority: 1, match: [{ field: 'in_port', value: 1 + (i & 7) }, { field: 'eth_dst', value: mac(i) }, { field: 'eth_src', value: mac(i + 1) }] };
    case 2:
    case 3: { // L3 routes of three prefix lengths, priority by prefix length
      const len = PREFIX_LENGTHS[(i >> 2) % 3];
      const m = PREFIX_MASKS[(i >> 2) % 3];
      return { priority: 100 + len, match: [{ field: 'eth_type', value: 0x0800 }, { field: 'ipv4_dst', value: routeDst(i), mask: m }] };
    }
    default: // TCP ACL: source host and destination port
      return {
        priority: 1000,
        match: [{ field: 'eth_type', value: 0x0800 }, { field: 'ip_proto', value: 6 }, { field: 'ipv4_src', value: 0xc0a80000 + i }, { field: 'tcp_dst', value: 1 + (i % 1024) }],
      };
  }
}

function buildTable(n: number): FlowTable {
  const t = new FlowTable(0);
  const of = new OfFlowTable(t, { groupSlot: () => -1, meterSlot: () => -1 });
  const add = (match: Match, priority: number) => {
    const err = of.add({ cookie: 0n, cookieMask: 0n, priority, idleTimeout: 0, hardTimeout: 0, flags: 0, outPort: OFPP.ANY, outGroup: OFPG.ANY, match, instructions: [] }, 0);
    if (err) throw new Error(err.reason);
  };
  for (let i = 0; i < n; i++) {
    const r = ruleMatch(i);
    add(r.match, r.priority);
  }
  if (n > 1) {
    add([{ field: 'eth_type', value: 0x0806 }], 50);
    add([], 0);
  }
  return t;
}

/** Packet keys: most aimed at one of the n rules (the other fields random), a tenth random. */
function packets(n: number, count: number, seed: number): Uint32Array {
  const r = rng(seed);
  const keys = new Uint32Array(count * KEY_WORDS);
  for (let p = 0; p < count; p++) {
    const b = p * KEY_WORDS;
    const i = r() % n;
    keys[b + K.InPort] = 1 + (r() & 7);
    keys[b + K.EthDstHi] = 0x02000000;
    keys[b + K.EthDstLoSrcHi] = r() << 16;
    keys[b + K.EthSrcLo] = r();
    keys[b + K.EthTypeVlan] = 0x08000000;
    keys[b + K.IpProtoTosTtlFrag] = (6 << 24) | (64 << 8);
    keys[b + K.IpSrc0] = 0x0b000000 + (r() & 0xffff);
    keys[b + K.IpDst0] = 0x0c000000 + (r() & 0xffff);
    keys[b + K.TpSrcDst] = r();
    if (r() % 10 === 0) continue; // random: falls to table-miss
    switch (i % 5) {
      case 0:
      case 1:
        keys[b + K.InPort] = 1 + (i & 7);
        keys[b + K.EthDstHi] = Math.floor(mac(i) / 0x10000);
        keys[b + K.EthDstLoSrcHi] = ((mac(i) & 0xffff) << 16) | Math.floor(mac(i + 1) / 2 ** 32);
        keys[b + K.EthSrcLo] = mac(i + 1) % 2 ** 32;
        break;
      case 2:
      case 3:
        keys[b + K.IpDst0] = routeDst(i) + (r() & 0xff & ~PREFIX_MASKS[(i >> 2) % 3]);
        break;
      default:
        keys[b + K.IpSrc0] = 0xc0a80000 + i;
        keys[b + K.TpSrcDst] = (r() & 0xffff0000) | (1 + (i % 1024));
    }
  }
  return keys;
}

function timeLookups(t: FlowTable, keys: Uint32Array, lookups: number, runs: number): { mlps: number[]; probes: number; matched: number } {
  const cls = t.classifier;
  const mask = PACKETS - 1;
  let matched = 0;
  const mlps: number[] = [];
  for (let i = 0; i < 50_000; i++) cls.lookup(keys, (i & mask) * KEY_WORDS); // warm-up
  const p0 = cls.stats[ClsStat.Probes], l0 = cls.stats[ClsStat.Lookups];
  for (let run = 0; run < runs; run++) {
    const t0 = performance.now();
    for (let i = 0; i < lookups; i++) {
      const h = cls.lookup(keys, (i & mask) * KEY_WORDS);
      if (h >= 0 && cls.priorityOf(h) !== 0) matched++;
    }
    mlps.push(lookups / ((performance.now() - t0) * 1000));
  }
  const probes = (cls.stats[ClsStat.Probes] - p0) / (cls.stats[ClsStat.Lookups] - l0);
  return { mlps, probes, matched: matched / (lookups * runs) };
}

/** The lookup stage as the pipeline will run it: EMC, classifier on a miss, insert. */
function timeEmcStage(t: FlowTable, keys: Uint32Array, flows: number, insertInvProb: number, lookups: number, runs: number): EmcBenchRow {
  const emc = new ExactMatchCache({ generation: new Int32Array([1]), seed: 99, insertInvProb });
  const cls = t.classifier;
  const rows = keys.length / KEY_WORDS;
  const step = 7919; // visit the working set in a scattered order
  const stage = (count: number) => {
    let sum = 0;
    for (let i = 0; i < count; i++) {
      const base = ((i * step) % flows % rows) * KEY_WORDS;
      const h = emc.hash(keys, base);
      let prog = emc.lookupHashed(keys, base, h);
      if (prog === NO_PROGRAM) {
        prog = cls.lookup(keys, base) + 1;
        emc.insertHashed(keys, base, h, prog);
      }
      sum += prog;
    }
    return sum;
  };
  stage(flows * 2); // warm the cache
  const h0 = emc.stats[EmcStat.Hits], m0 = emc.stats[EmcStat.Misses];
  const mlps: number[] = [];
  for (let run = 0; run < runs; run++) {
    const t0 = performance.now();
    stage(lookups);
    mlps.push(lookups / ((performance.now() - t0) * 1000));
  }
  const hits = emc.stats[EmcStat.Hits] - h0, misses = emc.stats[EmcStat.Misses] - m0;
  const m = median(mlps);
  return { flows, insertInvProb, hitRatePct: (100 * hits) / (hits + misses), mlookupsPerSec: m, nsPerLookup: 1000 / m };
}

function timeEmcHit(keys: Uint32Array, lookups: number, runs: number): number {
  const emc = new ExactMatchCache({ generation: new Int32Array([1]), seed: 7 });
  const n = 1024;
  for (let i = 0; i < n; i++) emc.insert(keys, i * KEY_WORDS, i);
  const ns: number[] = [];
  let sum = 0;
  for (let run = 0; run < runs + 1; run++) {
    const t0 = performance.now();
    for (let i = 0; i < lookups; i++) sum += emc.lookup(keys, (i & (n - 1)) * KEY_WORDS);
    if (run > 0) ns.push(((performance.now() - t0) * 1e6) / lookups);
  }
  if (sum < 0) throw new Error('unreachable');
  return median(ns);
}

export function runClassifierBench(opts: ClassifierBenchOptions = {}): ClassifierBenchResult {
  const lookups = opts.lookups ?? (opts.quick ? 300_000 : 2_000_000);
  const runs = opts.runs ?? (opts.quick ? 1 : 3);
  const classifier: ClassifierBenchRow[] = [];
  let big: FlowTable | null = null;
  for (const n of RULE_COUNTS) {
    const t = buildTable(n);
    const keys = packets(n, PACKETS, 0x5eed + n);
    const r = timeLookups(t, keys, lookups, runs);
    const m = median(r.mlps);
    classifier.push({ rules: t.size, subtables: t.classifier.subtableCount, mlookupsPerSec: m, nsPerLookup: 1000 / m, probesPerLookup: r.probes, matchedPct: 100 * r.matched });
    if (n === RULE_COUNTS[RULE_COUNTS.length - 1]) big = t;
  }
  const n = RULE_COUNTS[RULE_COUNTS.length - 1];
  const flowKeys = packets(n, 65_536, 0xf10f);
  const emc = [[1000, 1], [65_536, 1], [65_536, 100]].map(([flows, inv]) => timeEmcStage(big!, flowKeys, flows, inv, lookups, runs));
  return { classifier, emcHitNs: timeEmcHit(flowKeys, lookups, runs), emc };
}

/** One line per figure, for the console and BENCHMARKS.md. */
export function formatClassifierBench(r: ClassifierBenchResult): string[] {
  const lines = r.classifier.map((c) =>
    `classifier | ${c.rules} flows, ${c.subtables} masks | ${c.mlookupsPerSec.toFixed(2)} M lookups/s (${c.nsPerLookup.toFixed(0)} ns) | ${c.probesPerLookup.toFixed(2)} subtables probed/lookup | ${c.matchedPct.toFixed(0)}% non-miss`);
  lines.push(`emc hit | 30-word key | ${r.emcHitNs.toFixed(0)} ns/lookup`);
  for (const e of r.emc) {
    lines.push(`emc (insert 1/${e.insertInvProb}) + classifier (10k flows) | ${e.flows} distinct keys | ${e.mlookupsPerSec.toFixed(2)} M lookups/s (${e.nsPerLookup.toFixed(0)} ns) | hit rate ${e.hitRatePct.toFixed(1)}%`);
  }
  return lines;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const line of formatClassifierBench(runClassifierBench({ quick: process.argv.includes('--quick') }))) console.log(line);
}
