/*
 * The Prometheus exposition of a datapath driven through MemoryPorts: every
 * family has HELP and TYPE, port series equal the typed-array counters at
 * scrape time, histograms are cumulative with sum/count matching the frame
 * counters, removed ports vanish, and promtool accepts the text. With an
 * OfSwitch on MemoryPorts: per-table entries, lookups and matches, the
 * exact-match cache's hits and misses, table walks, pipeline drops and
 * packet-ins (sent, metered, blocked) follow the traffic that went through.
 */

import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { pino } from 'pino';
import { register as globalRegistry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config.js';
import { Datapath } from '../../src/datapath/datapath.js';
import { NormalSwitch } from '../../src/datapath/learning/normal.js';
import { PacketPool } from '../../src/packet/pool.js';
import { ClsStat } from '../../src/datapath/rules/classifier.js';
import { MF_SUBTABLES } from '../../src/datapath/rules/megaflow.js';
import { OFPFC, OFPM, OFPMC, OFPMF, OFPP } from '../../src/openflow/codec/v13/enums.js';
import { MemoryPort } from '../../src/ports/memory-port.js';
import { createSwitchMetrics } from '../../src/stats/metrics.js';
import { startSwitch } from '../../src/switch.js';
import { startMetricsServer, type MetricsServer } from '../../src/stats/metrics-server.js';
import { BURST_BUCKET_BOUNDS } from '../../src/stats/port-metrics.js';
import { histBucket, PORT_STAT_NAMES, PortStat } from '../../src/datapath/port-counters.js';
import { udpFrame } from '../helpers/frames.js';
import { apply, fm, gotoTable, inPort, out, setup as ofSetup } from '../helpers/of-harness.js';
import { missing, tool } from '../helpers/requirements.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  help: Map<string, string>;
  type: Map<string, string>;
  samples: Sample[];
}

/** A strict reader of the Prometheus text format (0.0.4) as far as these tests need. */
function parseExposition(text: string): Exposition {
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      (m[1] === 'HELP' ? help : type).set(m[2], m[3]);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
  }
  return { help, type, samples };
}

function value(e: Exposition, name: string, labels: Record<string, string>): number | undefined {
  return e.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

function setup() {
  const dp = new Datapath({ pool: new PacketPool({ slots: 256 }), burst: 8 });
  const normal = new NormalSwitch();
  dp.pipeline = normal;
  const a = new MemoryPort({ name: 'tapA', ofPort: 1, capture: false });
  const b = new MemoryPort({ name: 'tapB', ofPort: 7, capture: false, txLimit: 4 });
  dp.addPort(a);
  dp.addPort(b);
  const send = (p: MemoryPort, n: number, f: Uint8Array) => {
    for (let i = 0; i < n; i++) p.inject(f);
    p.wake();
  };
  send(b, 1, udpFrame(A, B)); // B learned on 7
  send(a, 1, udpFrame(B, A)); // A learned on 1, one frame to B
  send(a, 3, udpFrame(B, A, { size: 200 }));
  send(a, 6, udpFrame(B, A, { size: 200 })); // 6 to a port taking 4 per kick: 2 queue-full drops
  const metrics = createSwitchMetrics({ datapath: dp, normal, datapathId: 0xabcn, version: '9.9.9' });
  return { dp, normal, a, b, send, metrics };
}

const C = '02:00:00:00:00:0c';

/**
 * An OfSwitch (fail mode secure: the tables forward) on MemoryPorts 1..3 with
 *   table 0: in_port=1 -> goto 1 (priority 100); table-miss -> CONTROLLER
 *   table 1: eth_dst=B -> output 2
 * and OFPM_CONTROLLER letting a burst of 2 packet-ins through (the clock stands still).
 */
function ofSetup3(megaflow?: boolean) {
  const h = ofSetup(3, { megaflow });
  h.flow({ tableId: 0, priority: 100, match: [inPort(1)], instructions: [gotoTable(1)] });
  h.flow({ tableId: 0, priority: 0, match: [], instructions: [apply(out(OFPP.CONTROLLER))] });
  h.flow({ tableId: 1, priority: 100, match: [{ field: 'eth_dst', value: 0x02000000000b }], instructions: [apply(out(2))] });
  const meter = h.sw.meterMod({ type: 'meter_mod', xid: 0, command: OFPMC.ADD, flags: OFPMF.PKTPS | OFPMF.BURST, meterId: OFPM.CONTROLLER, bands: [{ type: 'drop', rate: 10, burstSize: 2 }] });
  expect(meter).toBeNull();
  const metrics = createSwitchMetrics({ datapath: h.dp, normal: h.normal, datapathId: 0xabcn, version: 't', openflow: h.sw });
  return { h, metrics };
}

describe('Prometheus metrics', () => {
  it('gives every family HELP and TYPE, and port counters equal to the datapath counters', async () => {
    const { dp, metrics } = setup();
    const e = parseExposition(await metrics.scrape());
    const families = new Set(e.samples.map((s) => s.name.replace(/_(bucket|sum|count)$/, '')));
    for (const f of families) {
      const base = e.type.has(f) ? f : f.replace(/_(bucket|sum|count)$/, '');
      expect(e.help.get(base), `HELP of ${f}`).toBeTruthy();
      expect(e.type.get(base), `TYPE of ${f}`).toMatch(/^(counter|gauge|histogram|summary)$/);
    }
    const pairs: Array<[string, PortStat]> = [
      ['linc_port_rx_packets_total', PortStat.RxFrames],
      ['linc_port_rx_bytes_total', PortStat.RxBytes],
      ['linc_port_rx_wakeups_total', PortStat.RxWakeups],
      ['linc_port_rx_empty_polls_total', PortStat.RxEmptyPolls],
      ['linc_port_tx_packets_total', PortStat.TxFrames],
      ['linc_port_tx_bytes_total', PortStat.TxBytes],
      ['linc_port_tx_kicks_total', PortStat.TxKicks],
      ['linc_port_rx_dropped_total', PortStat.RxDropNoSlot],
      ['linc_port_flooded_total', PortStat.FwdFlooded],
    ];
    for (const p of dp.portList) {
      const labels = { port: String(p.ofPort), name: p.port.name };
      for (const [name, stat] of pairs) expect(value(e, name, labels), `${name}${JSON.stringify(labels)}`).toBe(p.counters.c[stat]);
      expect(e.type.get('linc_port_rx_packets_total')).toBe('counter');
    }
    const b = dp.port(7)!.counters.c;
    expect(b[PortStat.TxDropQueueFull]).toBe(2);
    expect(value(e, 'linc_port_tx_dropped_total', { port: '7', reason: 'queue_full' })).toBe(2);
    expect(value(e, 'linc_port_tx_dropped_total', { port: '7', reason: 'mtu' })).toBe(0);
    expect(value(e, 'linc_port_rx_packets_total', { port: '1', name: 'tapA' })).toBe(10);
    expect(value(e, 'linc_mac_table_entries', {})).toBe(2);
    expect(value(e, 'linc_mac_learned_total', {})).toBe(2);
    expect(value(e, 'linc_switch_info', { datapath_id: '0x0000000000000abc', version: '9.9.9' })).toBe(1);
    expect(value(e, 'linc_ports', {})).toBe(2);
    expect(value(e, 'process_cpu_seconds_total', {})).toBeGreaterThan(0);
  });

  it('has the process metrics (and their event-loop lag monitor, a 10 ms timer) only on a switch that serves /metrics', async () => {
    for (const served of [false, true]) {
      const sw = startSwitch(resolveConfig({ metrics: served ? '127.0.0.1:0' : 'off', adminSocket: 'off' }), pino({ level: 'silent' }));
      try {
        await sw.ready;
        expect(sw.metricsServer() !== null, 'served').toBe(served);
        const e = parseExposition(await sw.metrics.scrape());
        expect(e.type.get('linc_switch_info'), 'the switch families either way').toBe('gauge');
        expect(e.type.get('nodejs_eventloop_lag_seconds'), 'event-loop lag').toBe(served ? 'gauge' : undefined);
        expect(value(e, 'process_cpu_seconds_total', {}) !== undefined, 'process CPU').toBe(served);
      } finally {
        sw.close();
      }
    }
  });

  it('reads the kernel\'s drops at scrape time into linc_port_rx_dropped_total{reason="kernel"}, accumulated over scrapes', async () => {
    const { dp, a, metrics } = setup();
    a.kernelDrops = 5;
    let e = parseExposition(await metrics.scrape());
    expect(value(e, 'linc_port_rx_dropped_total', { port: '1', reason: 'kernel' })).toBe(5);
    expect(value(e, 'linc_port_rx_dropped_total', { port: '7', reason: 'kernel' })).toBe(0);
    expect(value(e, 'linc_port_rx_dropped_total', { port: '1', reason: 'no_slot' })).toBe(dp.port(1)!.counters.c[PortStat.RxDropNoSlot]);
    a.kernelDrops = 3; // the kernel zeroes its count on read: the switch keeps the sum
    e = parseExposition(await metrics.scrape());
    expect(value(e, 'linc_port_rx_dropped_total', { port: '1', reason: 'kernel' })).toBe(8);
    expect(dp.port(1)!.counters.c[PortStat.RxDropKernel]).toBe(8);
    expect(e.type.get('linc_port_rx_dropped_total')).toBe('counter');
  });

  it('exports every per-port counter but the window min/max fields in a linc_port_* series of its port', async () => {
    const { dp, metrics } = setup();
    const windowFields = new Set<number>([PortStat.RxWakeupFramesMin, PortStat.RxWakeupFramesMax, PortStat.TxKickFramesMin, PortStat.TxKickFramesMax]);
    const c = dp.port(7)!.counters.c;
    for (let i = 0; i < PortStat.COUNT; i++) if (!windowFields.has(i)) c[i] = 100_000 + 7 * i; // distinct from every other value
    const e = parseExposition(await metrics.scrape());
    const series = e.samples.filter((s) => s.name.startsWith('linc_port_') && !/_(bucket|sum|count)$/.test(s.name) && s.labels.port === '7');
    expect(PORT_STAT_NAMES).toContain('tx_kick_retries');
    for (let i = 0; i < PortStat.COUNT; i++) {
      if (!windowFields.has(i)) expect(series.some((s) => s.value === c[i]), `${PORT_STAT_NAMES[i]} (${c[i]}) in a series of port 7`).toBe(true);
    }
    expect(value(e, 'linc_port_tx_kick_retries_total', { port: '7' })).toBe(c[PortStat.TxKickRetries]);
    expect(e.type.get('linc_port_tx_kick_retries_total')).toBe('counter');
  });

  it('reads the tx ring\'s timer kicks from the port at scrape time into linc_port_tx_kick_retries_total, accumulated over scrapes', async () => {
    const { dp, a, metrics } = setup();
    let pending = 4; // what a ring port's re-kick timer did since the last read
    Object.assign(a, {
      readTxKickRetries: () => {
        const n = pending;
        pending = 0;
        return n;
      },
    });
    let e = parseExposition(await metrics.scrape());
    expect(value(e, 'linc_port_tx_kick_retries_total', { port: '1' })).toBe(4);
    expect(value(e, 'linc_port_tx_kick_retries_total', { port: '7' })).toBe(0);
    pending = 2;
    e = parseExposition(await metrics.scrape());
    expect(value(e, 'linc_port_tx_kick_retries_total', { port: '1' })).toBe(6);
    expect(dp.port(1)!.counters.c[PortStat.TxKickRetries]).toBe(6);
  });

  it('builds burst histograms from the log2 buckets: cumulative, le = 2^(b+1)-1, sum and count from the counters', async () => {
    const { dp, metrics } = setup();
    const e = parseExposition(await metrics.scrape());
    expect(BURST_BUCKET_BOUNDS.slice(0, 4)).toEqual(['1', '3', '7', '15']);
    expect(BURST_BUCKET_BOUNDS.at(-1)).toBe('+Inf');
    expect(e.type.get('linc_port_rx_burst_frames')).toBe('histogram');
    const a = dp.port(1)!.counters;
    // Port 1 woke with 1, 3 and 6 frames: buckets [1], [2,3], [4,7].
    expect([histBucket(1), histBucket(3), histBucket(6)]).toEqual([0, 1, 2]);
    const buckets = BURST_BUCKET_BOUNDS.map((le) => value(e, 'linc_port_rx_burst_frames_bucket', { port: '1', le })!);
    expect(buckets).toEqual([1, 2, 3, 3, 3, 3, 3, 3, 3, 3]);
    expect(value(e, 'linc_port_rx_burst_frames_count', { port: '1' })).toBe(3);
    expect(value(e, 'linc_port_rx_burst_frames_sum', { port: '1' })).toBe(a.c[PortStat.RxFrames]);
    // Port 7 got kicks of 1, 3 and 6 frames (4 sent + 2 refused): the sum counts every frame handed over.
    const txb = BURST_BUCKET_BOUNDS.map((le) => value(e, 'linc_port_tx_burst_frames_bucket', { port: '7', le })!);
    expect(txb).toEqual([1, 2, 3, 3, 3, 3, 3, 3, 3, 3]);
    expect(value(e, 'linc_port_tx_burst_frames_sum', { port: '7' })).toBe(10);
  });

  it('reads the counters at scrape time and drops removed ports', async () => {
    const { dp, a, send, metrics } = setup();
    const before = parseExposition(await metrics.scrape());
    send(a, 2, udpFrame(B, A));
    const after = parseExposition(await metrics.scrape());
    expect(value(after, 'linc_port_rx_packets_total', { port: '1' })).toBe(value(before, 'linc_port_rx_packets_total', { port: '1' })! + 2);
    dp.removePort(7);
    const gone = parseExposition(await metrics.scrape());
    expect(gone.samples.filter((s) => s.labels.port === '7')).toEqual([]);
    expect(value(gone, 'linc_ports', {})).toBe(1);
  });

  it('reports each port\'s link as linc_port_up (1/0) and describes it in linc_port_info, from the link state the datapath last read', async () => {
    const { dp, b, metrics } = setup();
    const e = parseExposition(await metrics.scrape());
    expect(e.type.get('linc_port_up')).toBe('gauge');
    expect(value(e, 'linc_port_up', { port: '1', name: 'tapA' })).toBe(1);
    expect(value(e, 'linc_port_up', { port: '7', name: 'tapB' })).toBe(1);
    expect(value(e, 'linc_port_info', { port: '7', name: 'tapB', kind: 'memory', ifindex: '0' })).toBe(1);
    b.linkUp = false;
    // Read at scrape time from DpPort.link: nothing changes until the datapath reads the link again.
    expect(value(parseExposition(await metrics.scrape()), 'linc_port_up', { port: '7' })).toBe(1);
    dp.pollLinks();
    const down = parseExposition(await metrics.scrape());
    expect(value(down, 'linc_port_up', { port: '7', name: 'tapB' })).toBe(0);
    expect(value(down, 'linc_port_up', { port: '1', name: 'tapA' })).toBe(1);
    dp.removePort(7);
    const gone = parseExposition(await metrics.scrape());
    expect(gone.samples.filter((s) => s.name.startsWith('linc_port_') && s.labels.port === '7')).toEqual([]);
  });

  it('names the kernel I/O of ports that have a choice in linc_port_io_info, and only theirs', async () => {
    const { b, metrics } = setup();
    let e = parseExposition(await metrics.scrape());
    expect(e.type.get('linc_port_io_info')).toBe('gauge');
    expect(e.samples.filter((s) => s.name === 'linc_port_io_info')).toEqual([]); // memory ports: no choice
    Object.assign(b, { ioMode: 'uring' }); // as a TAP port opened with io_uring reports it
    e = parseExposition(await metrics.scrape());
    expect(value(e, 'linc_port_io_info', { port: '7', name: 'tapB', io: 'uring' })).toBe(1);
    expect(e.samples.filter((s) => s.name === 'linc_port_io_info').length).toBe(1);
  });

  it('uses a registry of its own, never the global one', async () => {
    const { metrics } = setup();
    expect(metrics.registry).not.toBe(globalRegistry);
    expect(await globalRegistry.metrics()).not.toMatch(/linc_/);
  });

  it.skipIf(missing(tool('promtool')))('passes promtool check metrics', async () => {
    const { metrics } = setup();
    const r = spawnSync('promtool', ['check', 'metrics'], { input: await metrics.scrape(), encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  describe('the OpenFlow pipeline', () => {
    it('has no OpenFlow families without an OfSwitch', async () => {
      const { metrics } = setup();
      const e = parseExposition(await metrics.scrape());
      expect(e.samples.filter((s) => /^linc_(flow_table|datapath|openflow_packet_ins|switch_pipeline)/.test(s.name))).toEqual([]);
    });

    it('shows per-table entries, lookups and matches, cache hits and misses, drops and packet-ins from the traffic', async () => {
      const { h, metrics } = ofSetup3(false);
      const same = (n: number, f: Uint8Array) => Array.from({ length: n }, () => f);
      h.send(0, ...same(5, udpFrame(B, A))); // table 0 -> table 1 -> port 2: one walk, then 4 cache hits
      h.send(0, ...same(3, udpFrame(C, A))); // table 1 has no entry for C: dropped as a table miss (cached too)
      h.send(1, ...same(4, udpFrame(A, B))); // table-miss entry of table 0 -> CONTROLLER: 2 pass the meter, 2 do not
      expect(h.taken()[1]).toHaveLength(5);
      expect(h.events.packetIns).toHaveLength(2);

      const e = parseExposition(await metrics.scrape());
      for (const f of ['linc_flow_table_active_entries', 'linc_flow_table_lookups_total', 'linc_datapath_cache_hits_total', 'linc_openflow_packet_ins_dropped_total']) {
        expect(e.help.get(f), `HELP of ${f}`).toBeTruthy();
      }
      expect(e.type.get('linc_flow_table_active_entries')).toBe('gauge');
      expect(e.type.get('linc_flow_table_lookups_total')).toBe('counter');
      // Every table has its series, empty or not.
      const entries = e.samples.filter((s) => s.name === 'linc_flow_table_active_entries');
      expect(entries.map((s) => s.labels.table)).toEqual(Array.from({ length: h.sw.nTables }, (_, i) => String(i)));
      expect(entries.slice(0, 3).map((s) => s.value)).toEqual([2, 1, 0]);
      expect(entries.reduce((n, s) => n + s.value, 0)).toBe(3);

      const table = (name: string, t: number) => value(e, name, { table: String(t) });
      // Table 0 sees every frame (12) and always matches (it has a table-miss entry); table 1 sees the 8 from port 1, 5 match.
      expect([table('linc_flow_table_lookups_total', 0), table('linc_flow_table_matched_total', 0)]).toEqual([12, 12]);
      expect([table('linc_flow_table_lookups_total', 1), table('linc_flow_table_matched_total', 1)]).toEqual([8, 5]);
      expect([table('linc_flow_table_lookups_total', 2), table('linc_flow_table_matched_total', 2)]).toEqual([0, 0]);
      // Three distinct flow keys: three walks through the classifiers, everything else from the cache.
      expect(value(e, 'linc_datapath_cache_misses_total', {})).toBe(3);
      expect(value(e, 'linc_datapath_cache_hits_total', {})).toBe(9);
      expect(value(e, 'linc_datapath_cache_inserts_total', {})).toBe(3);
      expect(value(e, 'linc_datapath_cache_entries', {})).toBe(3);
      expect(value(e, 'linc_datapath_table_walks_total', {})).toBe(3);
      expect(value(e, 'linc_datapath_paths_resolved_total', {})).toBe(3);
      expect([table('linc_flow_table_classifier_lookups_total', 0), table('linc_flow_table_classifier_lookups_total', 1)]).toEqual([3, 2]);
      expect([table('linc_flow_table_subtables', 0), table('linc_flow_table_subtables', 1)]).toEqual([2, 1]);
      for (const t of [0, 1]) {
        const probed = table('linc_flow_table_subtables_probed_total', t)!;
        expect(probed).toBe(h.sw.tables.tables[t].classifier.stats[ClsStat.Probes]);
        const lookups = table('linc_flow_table_classifier_lookups_total', t)!;
        expect(probed).toBeGreaterThanOrEqual(lookups);
        expect(probed).toBeLessThanOrEqual(lookups * table('linc_flow_table_subtables', t)!);
      }
      expect(value(e, 'linc_datapath_dropped_total', { reason: 'table_miss' })).toBe(3);
      expect(value(e, 'linc_datapath_dropped_total', { reason: 'meter' })).toBe(0);
      expect(value(e, 'linc_openflow_packet_ins_total', {})).toBe(2);
      expect(value(e, 'linc_openflow_packet_ins_dropped_total', { reason: 'meter' })).toBe(2);
      expect(value(e, 'linc_openflow_packet_ins_dropped_total', { reason: 'blocked' })).toBe(0);
      expect(value(e, 'linc_meter_entries', {})).toBe(1);
      expect(value(e, 'linc_group_entries', {})).toBe(0);
      expect(value(e, 'linc_switch_pipeline', { pipeline: 'openflow' })).toBe(1);
      expect(value(e, 'linc_switch_pipeline', { pipeline: 'normal' })).toBe(0);
      expect(value(e, 'linc_port_tx_packets_total', { port: '2' })).toBe(5);
    });

    it('shows the megaflow cache (the default): hits, misses, inserts, refused inserts and live entries', async () => {
      const { h, metrics } = ofSetup3();
      const microflows = (n: number, from: number) => Array.from({ length: n }, (_, i) => udpFrame(B, A, { sport: from + i }));
      h.send(0, ...microflows(6, 1000)); // six microflows, one megaflow (in_port, eth_dst): one walk, then 5 hits
      h.send(0, udpFrame(C, A)); // a table-1 miss: a second megaflow
      h.send(0, ...microflows(3, 2000)); // three more microflows of the first megaflow: 3 hits
      expect(h.taken()[1]).toHaveLength(9);
      const e = parseExposition(await metrics.scrape());
      for (const f of ['hits', 'misses', 'inserts', 'refused']) {
        expect(e.type.get(`linc_datapath_megaflow_${f}_total`)).toBe('counter');
        expect(e.help.get(`linc_datapath_megaflow_${f}_total`), f).toBeTruthy();
      }
      expect(e.type.get('linc_datapath_megaflow_entries')).toBe('gauge');
      const mf = (n: string, ex = e) => value(ex, `linc_datapath_megaflow_${n}`, {});
      expect([mf('hits_total'), mf('misses_total'), mf('inserts_total'), mf('refused_total'), mf('entries')]).toEqual([8, 2, 2, 0, 2]);
      expect(value(e, 'linc_datapath_table_walks_total', {})).toBe(2);
      // Nothing refused: the exact-match cache behind it is never asked.
      expect([value(e, 'linc_datapath_cache_hits_total', {}), value(e, 'linc_datapath_cache_misses_total', {}), value(e, 'linc_datapath_cache_entries', {})]).toEqual([0, 0, 0]);
      // MF_SUBTABLES + 1 paths with masks of their own (udp_src -> a table matching ipv4_dst under its own prefix): one refused, to the EMC.
      for (let t = 1; t <= MF_SUBTABLES + 1; t++) {
        h.flow({ tableId: 0, priority: 200, match: [{ field: 'eth_type', value: 0x0800 }, { field: 'ip_proto', value: 17 }, { field: 'udp_src', value: 3000 + t }], instructions: [gotoTable(10 + t)] });
        h.flow({ tableId: 10 + t, priority: 10, match: [{ field: 'eth_type', value: 0x0800 }, { field: 'ipv4_dst', value: 0x0a000000, mask: (0xffffffff << (16 - t)) >>> 0 }], instructions: [apply(out(2))] });
      }
      const paths = microflows(MF_SUBTABLES + 1, 3001);
      h.send(0, ...paths);
      h.send(0, ...paths);
      expect(h.taken()[1]).toHaveLength(2 * (MF_SUBTABLES + 1));
      const after = parseExposition(await metrics.scrape());
      expect([mf('inserts_total', after), mf('refused_total', after), mf('entries', after), mf('hits_total', after)]).toEqual([2 + MF_SUBTABLES, 1, MF_SUBTABLES, 8 + MF_SUBTABLES]);
      expect([value(after, 'linc_datapath_cache_inserts_total', {}), value(after, 'linc_datapath_cache_hits_total', {}), value(after, 'linc_datapath_cache_entries', {})]).toEqual([1, 1, 1]);
    });

    it('follows flow-mods and later traffic at the next scrape', async () => {
      const { h, metrics } = ofSetup3(false);
      h.send(0, udpFrame(B, A), udpFrame(B, A));
      const before = parseExposition(await metrics.scrape());
      expect(value(before, 'linc_flow_table_active_entries', { table: '1' })).toBe(1);
      expect(h.sw.flowMod(fm({ tableId: 1, command: OFPFC.DELETE }))).toBeNull();
      // The cached path is stale after the delete: the next frame walks again and now misses in table 1.
      h.send(0, udpFrame(B, A), udpFrame(B, A));
      const after = parseExposition(await metrics.scrape());
      expect(value(after, 'linc_flow_table_active_entries', { table: '1' })).toBe(0);
      expect(value(after, 'linc_flow_table_active_entries', { table: '0' })).toBe(2);
      expect(value(after, 'linc_datapath_cache_misses_total', {})).toBe(value(before, 'linc_datapath_cache_misses_total', {})! + 1);
      expect(value(after, 'linc_datapath_cache_hits_total', {})).toBe(value(before, 'linc_datapath_cache_hits_total', {})! + 1);
      expect(value(after, 'linc_flow_table_lookups_total', { table: '1' })).toBe(4);
      expect(value(after, 'linc_flow_table_matched_total', { table: '1' })).toBe(2);
      expect(value(after, 'linc_datapath_dropped_total', { reason: 'table_miss' })).toBe(2);
      // No connection to send packet-ins to: blocked, not metered.
      h.sw.setEventSink(null);
      h.send(1, udpFrame(A, B, { sport: 1 }), udpFrame(A, B, { sport: 2 }), udpFrame(A, B, { sport: 3 }));
      const blocked = parseExposition(await metrics.scrape());
      expect(value(blocked, 'linc_openflow_packet_ins_dropped_total', { reason: 'blocked' })).toBe(3);
      expect(value(blocked, 'linc_openflow_packet_ins_total', {})).toBe(0);
    });

    it('reports the learning switch as the pipeline in fail mode standalone without a controller', async () => {
      const h = ofSetup(2, { failMode: 'standalone' });
      h.sw.controllersConnected(0);
      const metrics = createSwitchMetrics({ datapath: h.dp, normal: h.normal, datapathId: 1n, version: 't', openflow: h.sw });
      h.send(0, udpFrame(B, A));
      const e = parseExposition(await metrics.scrape());
      expect(value(e, 'linc_switch_pipeline', { pipeline: 'normal' })).toBe(1);
      expect(value(e, 'linc_switch_pipeline', { pipeline: 'openflow' })).toBe(0);
      expect(value(e, 'linc_flow_table_lookups_total', { table: '0' })).toBe(0);
      expect(value(e, 'linc_port_flooded_total', { port: '1' })).toBe(1);
      h.sw.controllersConnected(1);
      expect(value(parseExposition(await metrics.scrape()), 'linc_switch_pipeline', { pipeline: 'openflow' })).toBe(1);
    });

    it.skipIf(missing(tool('promtool')))('passes promtool check metrics with the OpenFlow families', async () => {
      const { h, metrics } = ofSetup3();
      h.send(0, udpFrame(B, A), udpFrame(C, A));
      h.send(1, udpFrame(A, B));
      const r = spawnSync('promtool', ['check', 'metrics'], { input: await metrics.scrape(), encoding: 'utf8' });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    });
  });

  it('is configured by --metrics ADDR:PORT|off, loopback 9091 by default', () => {
    expect(resolveConfig({}).metrics).toEqual({ host: '127.0.0.1', port: 9091 });
    expect(resolveConfig({ metrics: '0.0.0.0:9100' }).metrics).toEqual({ host: '0.0.0.0', port: 9100 });
    expect(resolveConfig({ metrics: '[::1]:0' }).metrics).toEqual({ host: '::1', port: 0 });
    expect(resolveConfig({ metrics: 'off' }).metrics).toBeNull();
    expect(resolveConfig({ metrics: 'off' }, { metrics: { host: 'h', port: 1 } }).metrics).toBeNull(); // the command line wins
    for (const bad of ['9091', 'localhost:99999', 'a b:1', '[zz]:1']) expect(() => resolveConfig({ metrics: bad }), bad).toThrow(/option metrics: .* is not ADDR:PORT or off/);
  });

  describe('the /metrics server', () => {
    let server: MetricsServer;
    afterAll(() => server?.close());

    it('serves /metrics on loopback with the Prometheus content type, 404 elsewhere', async () => {
      const { metrics } = setup();
      server = await startMetricsServer({ host: '127.0.0.1', port: 0 }, metrics);
      expect(server.address.port).toBeGreaterThan(0);
      const get = (path: string) =>
        new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
          request({ host: '127.0.0.1', port: server.address.port, path }, (res) => {
            let body = '';
            res.setEncoding('utf8').on('data', (d: string) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
          })
            .on('error', reject)
            .end();
        });
      const m = await get('/metrics');
      expect(m.status).toBe(200);
      expect(m.type).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(value(parseExposition(m.body), 'linc_port_rx_packets_total', { port: '1' })).toBe(10);
      expect((await get('/nope')).status).toBe(404);
      expect(server.url).toBe(`http://127.0.0.1:${server.address.port}/metrics`);
    });
  });
});
