/*
 * Prometheus metrics: a prom-client Registry of its own (never the global
 * one) with the default process/Node.js metrics and the switch's families,
 * plus the `/metrics` HTTP server.
 *
 * Every switch value is read at scrape time, in collect(), from the typed
 * arrays the datapath increments (port-counters.ts, the flow tables'
 * TableCounter, the classifiers' ClsStat, the exact-match cache's EmcStat,
 * the megaflow cache's MfStat,
 * the OpenFlow pipeline's PipelineStat) and from the MAC table; nothing in
 * prom-client is touched per frame.
 *
 * Families
 *   ports (counters, burst histograms, linc_port_up and linc_port_info from
 *     the link state the datapath last read, DpPort.link), the learning
 *     switch (NORMAL), the switch itself: always;
 *   OpenFlow pipeline (MetricsSource.openflow, the OfSwitch): flow tables
 *     (linc_flow_table_*{table}), megaflow cache (linc_datapath_megaflow_*),
 *     exact-match cache (linc_datapath_cache_*),
 *     table walks and pipeline drops (linc_datapath_*), packet-ins
 *     (linc_openflow_packet_ins_*), groups, meters, which pipeline forwards;
 *   OpenFlow connections: addControllerMetrics() (linc_controller_connected
 *     {target}, linc_controller_role{target,role}, linc_openflow_connections
 *     {kind}, linc_openflow_errors_sent_total, linc_openflow_async_dropped_total,
 *     and the peer limits: linc_controller_packet_ins_dropped_total{target,reason},
 *     linc_openflow_connections_refused_total{listen},
 *     linc_openflow_handshake_timeouts_total, linc_openflow_tx_queued_bytes).
 * Extension point: a later subsystem adds its families to
 * `SwitchMetrics.registry` the same way, a Counter/Gauge with a collect()
 * reading its own state.
 *
 * Invariants
 * - Label sets: every port series carries {port="<OpenFlow number>", name="<ifname>"};
 *   the local port (--local-port) is port="LOCAL".
 * - A port removed from the switch disappears from the next scrape (collect()
 *   rebuilds the series from Datapath.portList).
 * - Burst histograms come from the log2 bucket arrays: bucket b holds bursts
 *   of 2^b .. 2^(b+1)-1 frames, so the cumulative bounds are le = 1, 3, 7, 15,
 *   ..., 511, +Inf.
 * - Every flow table (0 .. nTables-1) has its series, empty or not, so a
 *   table's counters never appear mid-way; a scrape costs the same with 10
 *   or 100k flows (sizes and counters are O(1) reads per table).
 */

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
import { PipelineStat } from '../datapath/rules/actions-exec.js';
import { ClsStat } from '../datapath/rules/classifier.js';
import type { Datapath, DpPort } from '../datapath/datapath.js';
import { EmcStat } from '../datapath/rules/emc.js';
import { MfStat } from '../datapath/rules/megaflow.js';
import { TableCounter } from '../datapath/rules/flow-table.js';
import { PORT_LOCAL } from '../datapath/rules/rule.js';
import type { NormalSwitch } from '../datapath/learning/normal.js';
import type { GroupTable } from '../datapath/rules/groups.js';
import type { MeterTable } from '../datapath/rules/meters.js';
import type { RulePipeline } from '../datapath/rules/rule-pipeline.js';
import type { PipelineTables } from '../datapath/rules/pipeline-tables.js';
import { BURST_HIST_BUCKETS, PortStat } from '../datapath/port-counters.js';
import type { Logger } from './log.js';

export interface MetricsSource {
  datapath: Pick<Datapath, 'portList'>;
  /** The learning switch, when it is the pipeline (or NORMAL is available). */
  normal?: NormalSwitch | null;
  datapathId: bigint;
  version: string;
  /** The OpenFlow side (flow tables, cache, pipeline, groups, meters): its families are added when given. */
  openflow?: OpenFlowMetricsSource | null;
}

/** What the OpenFlow families read: the datapath's rule tables, pipeline, groups and meters. */
export interface OpenFlowMetricsSource {
  readonly datapath: Datapath;
  readonly tables: PipelineTables;
  readonly pipeline: RulePipeline;
  readonly groups: GroupTable;
  readonly meters: MeterTable;
}

export interface SwitchMetrics {
  registry: Registry;
  /** The exposition text of one scrape. */
  scrape(): Promise<string>;
}

type PortLabels = 'port' | 'name';

/** Default prom-client metrics that break the Prometheus naming rules (gauges named *_total). */
const PROMTOOL_REFUSED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

interface PortCounterSpec {
  name: string;
  help: string;
  stat: PortStat;
  /** Counted by the port itself: read into the counters at scrape time (DpPort.syncPortCounts). */
  sync?: boolean;
}

/** One Prometheus counter per PortStat counter that means something on its own. */
const PORT_COUNTERS: PortCounterSpec[] = [
  { name: 'linc_port_rx_wakeups_total', help: 'Wakeups of the port\'s poll handle (llstat "interrupts"); each drains up to a few bursts.', stat: PortStat.RxWakeups },
  { name: 'linc_port_rx_empty_polls_total', help: 'Polls of the port without a wakeup (busy-poll, --rx-usecs / --adaptive-rx windows) that found nothing.', stat: PortStat.RxEmptyPolls },
  { name: 'linc_port_rx_bursts_total', help: 'rxBurst calls that returned at least one frame.', stat: PortStat.RxBursts },
  { name: 'linc_port_rx_packets_total', help: 'Frames received on the port.', stat: PortStat.RxFrames },
  { name: 'linc_port_rx_bytes_total', help: 'Bytes of the frames received on the port (Ethernet header and payload, no FCS).', stat: PortStat.RxBytes },
  { name: 'linc_port_rx_errors_total', help: 'rxBurst calls that failed with an error other than EAGAIN.', stat: PortStat.RxErrors },
  { name: 'linc_port_rx_malformed_total', help: 'Frames received with a malformed or truncated header.', stat: PortStat.RxMalformed },
  { name: 'linc_port_tx_packets_total', help: 'Frames sent on the port (llstat "outputs").', stat: PortStat.TxFrames },
  { name: 'linc_port_tx_bytes_total', help: 'Bytes of the frames sent on the port (Ethernet header and payload, no FCS).', stat: PortStat.TxBytes },
  { name: 'linc_port_tx_kicks_total', help: 'txBurst calls on the port (llstat "kicks"); frames per kick = tx_burst_frames.', stat: PortStat.TxKicks },
  { name: 'linc_port_tx_kick_retries_total', help: 'Kicks of the port\'s tx ring by its own re-kick timer, for frames a full send buffer left in the ring (mode=ring).', stat: PortStat.TxKickRetries, sync: true },
  { name: 'linc_port_tx_errors_total', help: 'Frames lost to a send error other than a full queue.', stat: PortStat.TxErrors },
  { name: 'linc_port_tx_checksum_completed_total', help: 'Partial checksums completed in software because the egress port takes no offload metadata.', stat: PortStat.TxCsumSoftware },
  { name: 'linc_port_slots_freed_total', help: 'Packet pool slots given back after the frames received on the port were forwarded.', stat: PortStat.SlotsFreed },
  { name: 'linc_port_forward_dropped_total', help: 'Frames received on the port that the forwarding decision dropped (e.g. destination is the in port, port not forwarding).', stat: PortStat.FwdDropped },
  { name: 'linc_port_flooded_total', help: 'Frames received on the port that were flooded to every other port.', stat: PortStat.FwdFlooded },
  { name: 'linc_port_vlan_dropped_total', help: 'Frames received on the port that its VLAN configuration refused (learning switch): tagged on an access port, or in a VLAN the trunk does not carry.', stat: PortStat.VlanDropped },
];

/**
 * The drop families, each counted by `reason` label: rx (no_slot counts receive attempts, kernel counts
 * frames; read from the kernel first, `syncKernel`) and tx (non-overlapping reasons, port-counters.ts).
 */
const DROP_FAMILIES: Array<{ name: string; help: string; reasons: Array<[string, PortStat]>; syncKernel: boolean }> = [
  {
    name: 'linc_port_rx_dropped_total',
    help: 'Receive-side drops, by reason: no_slot (receive attempts abandoned because the packet pool had no free slot; the frames stay in the kernel queue), kernel (frames the kernel dropped because the port\'s socket or TAP queue was full: PACKET_STATISTICS, the TAP\'s tx_dropped).',
    reasons: [
      ['no_slot', PortStat.RxDropNoSlot],
      ['kernel', PortStat.RxDropKernel],
    ],
    syncKernel: true,
  },
  {
    name: 'linc_port_tx_dropped_total',
    help: 'Frames not sent on the port, by reason: queue_full (EAGAIN/ENOBUFS), mtu (longer than the port takes), gso (offload frame to a port without offload).',
    reasons: [
      ['queue_full', PortStat.TxDropQueueFull],
      ['mtu', PortStat.TxDropMtu],
      ['gso', PortStat.TxDropGso],
    ],
    syncKernel: false,
  },
];

function portLabels(p: DpPort): Record<PortLabels, string> {
  return { port: p.ofPort === PORT_LOCAL ? 'LOCAL' : String(p.ofPort), name: p.port.name };
}

/** Upper bounds of the log2 burst buckets: 1, 3, 7, ..., 2^(B-1)-1, then +Inf. */
export const BURST_BUCKET_BOUNDS: readonly string[] = Array.from({ length: BURST_HIST_BUCKETS }, (_, b) => (b === BURST_HIST_BUCKETS - 1 ? '+Inf' : String(2 ** (b + 1) - 1)));

interface HistValue {
  metricName: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A histogram whose buckets are kept elsewhere (the datapath's Float64Arrays):
 * prom-client's Histogram can only observe(), so this object gives the
 * registry the same shape (get() -> {name, help, type, values}) from the
 * arrays at scrape time.
 */
class PortBurstHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly dp: Pick<Datapath, 'portList'>,
    private readonly hist: (p: DpPort) => Float64Array,
    /** Sum of the frames of every burst counted in the buckets. */
    private readonly frames: (p: DpPort) => number,
  ) {}

  get(): { name: string; help: string; type: string; aggregator: string; values: HistValue[] } {
    const values: HistValue[] = [];
    for (const p of this.dp.portList) {
      const labels = portLabels(p);
      const h = this.hist(p);
      let cum = 0;
      for (let b = 0; b < BURST_HIST_BUCKETS; b++) {
        cum += h[b];
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: BURST_BUCKET_BOUNDS[b] }, value: cum });
      }
      values.push({ metricName: `${this.name}_sum`, labels, value: this.frames(p) });
      values.push({ metricName: `${this.name}_count`, labels, value: cum });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    /* the arrays belong to the datapath */
  }
}

/** The switch's registry: default process metrics plus the port, MAC-table and switch families. */
export function createSwitchMetrics(src: MetricsSource): SwitchMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // prom-client names three gauges *_total, which Prometheus reserves for counters (promtool check metrics
  // refuses them); their per-type siblings (nodejs_active_handles{type}, ...) carry the same numbers.
  for (const name of PROMTOOL_REFUSED_DEFAULTS) registry.removeSingleMetric(name);
  const dp = src.datapath;

  for (const spec of PORT_COUNTERS) {
    new Counter<PortLabels>({
      name: spec.name,
      help: spec.help,
      labelNames: ['port', 'name'],
      registers: [registry],
      collect() {
        this.reset();
        for (const p of dp.portList) {
          if (spec.sync === true) p.syncPortCounts();
          this.inc(portLabels(p), p.counters.c[spec.stat]);
        }
      },
    });
  }

  for (const f of DROP_FAMILIES) {
    new Counter<PortLabels | 'reason'>({
      name: f.name,
      help: f.help,
      labelNames: ['port', 'name', 'reason'],
      registers: [registry],
      collect() {
        this.reset();
        for (const p of dp.portList) {
          if (f.syncKernel) p.syncPortCounts();
          for (const [reason, stat] of f.reasons) this.inc({ ...portLabels(p), reason }, p.counters.c[stat]);
        }
      },
    });
  }

  const rxHist = new PortBurstHistogram(
    'linc_port_rx_burst_frames',
    'Frames read per wakeup of the port (wakeups that read nothing are not counted).',
    dp,
    (p) => p.counters.rxWakeupHist,
    (p) => p.counters.c[PortStat.RxFrames],
  );
  const txHist = new PortBurstHistogram(
    'linc_port_tx_burst_frames',
    'Frames handed to each txBurst call (kick) of the port, sent or dropped.',
    dp,
    (p) => p.counters.txKickHist,
    // Every frame handed to a kick is sent, or dropped as queue-full or error (port-counters.ts).
    (p) => p.counters.c[PortStat.TxFrames] + p.counters.c[PortStat.TxDropQueueFull] + p.counters.c[PortStat.TxErrors],
  );
  registry.registerMetric(rxHist as unknown as Metric);
  registry.registerMetric(txHist as unknown as Metric);

  if (src.normal) {
    const macs = src.normal.macs;
    new Gauge({
      name: 'linc_mac_table_entries',
      help: 'Entries in the MAC learning table of the standalone switch (NORMAL), aged ones included until swept.',
      registers: [registry],
      collect() {
        this.set(macs.size);
      },
    });
    const macCounters: Array<[string, string, keyof typeof macs.stats]> = [
      ['linc_mac_learned_total', 'MAC addresses learned (new entries).', 'learned'],
      ['linc_mac_moved_total', 'Known MAC addresses seen on another port.', 'moved'],
      ['linc_mac_evicted_total', 'Live entries pushed out of the full MAC table.', 'evicted'],
      ['linc_mac_expired_total', 'MAC entries that aged out.', 'expired'],
    ];
    for (const [name, help, key] of macCounters) {
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(macs.stats[key]);
        },
      });
    }
  }

  new Gauge<'datapath_id' | 'version'>({
    name: 'linc_switch_info',
    help: 'Always 1; labels describe the switch.',
    labelNames: ['datapath_id', 'version'],
    registers: [registry],
    collect() {
      this.reset();
      this.set({ datapath_id: '0x' + src.datapathId.toString(16).padStart(16, '0'), version: src.version }, 1);
    },
  });
  new Gauge({
    name: 'linc_ports',
    help: 'Ports attached to the switch.',
    registers: [registry],
    collect() {
      this.set(dp.portList.length);
    },
  });
  new Gauge<PortLabels>({
    name: 'linc_port_up',
    help: 'Link state of each port as the switch last saw it: 1 when its interface is administratively up and has carrier, 0 otherwise (down, no carrier, or an if: port waiting for its interface).',
    labelNames: ['port', 'name'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of dp.portList) this.set(portLabels(p), p.link.adminUp && p.link.carrier ? 1 : 0);
    },
  });
  new Gauge<PortLabels | 'kind' | 'ifindex'>({
    name: 'linc_port_info',
    help: 'Always 1 per port; labels describe it: kind (tap, if) and the ifindex of its interface (0 while an if: port waits for its interface).',
    labelNames: ['port', 'name', 'kind', 'ifindex'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of dp.portList) this.set({ ...portLabels(p), kind: p.port.kind, ifindex: String(p.link.ifindex) }, 1);
    },
  });

  new Gauge<PortLabels | 'io'>({
    name: 'linc_port_io_info',
    help: 'Always 1 per port that has a choice of kernel I/O; the io label says which it uses: uring (one io_uring_enter per burst) or rw (one read/write per frame), for TAPs; ring (kernel rings) or mmsg (recvmmsg/sendmmsg), for if: ports.',
    labelNames: ['port', 'name', 'io'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of dp.portList) if (p.port.ioMode !== undefined) this.set({ ...portLabels(p), io: p.port.ioMode }, 1);
    },
  });

  if (src.openflow) addOpenFlowFamilies(registry, src.openflow);

  return { registry, scrape: () => registry.metrics() };
}

/* --------------------------------------------------- the OpenFlow pipeline */

type TableLabels = 'table';

interface TableFamilySpec {
  name: string;
  help: string;
  kind: 'counter' | 'gauge';
  read: (t: OpenFlowMetricsSource['tables']['tables'][number]) => number;
}

/** Per-table families: label table="<id>", one series per table. */
const TABLE_FAMILIES: TableFamilySpec[] = [
  { name: 'linc_flow_table_active_entries', kind: 'gauge', help: 'Flow entries installed in the OpenFlow table (OFPMP_TABLE active_count).', read: (t) => t.size },
  {
    name: 'linc_flow_table_lookups_total', kind: 'counter',
    help: 'Packets looked up in the OpenFlow table, answered by a cache (megaflow or exact-match) or by the classifier (OFPMP_TABLE lookup_count).',
    read: (t) => t.counters[TableCounter.Lookups],
  },
  {
    name: 'linc_flow_table_matched_total', kind: 'counter',
    help: 'Lookups in the OpenFlow table that hit a flow entry (OFPMP_TABLE matched_count); lookups minus matched went to no entry and were dropped.',
    read: (t) => t.counters[TableCounter.Matched],
  },
  {
    name: 'linc_flow_table_classifier_lookups_total', kind: 'counter',
    help: 'Lookups in the OpenFlow table that searched its classifier (cache misses walking the tables).',
    read: (t) => t.classifier.stats[ClsStat.Lookups],
  },
  {
    name: 'linc_flow_table_subtables_probed_total', kind: 'counter',
    help: 'Classifier subtables (one per distinct match mask) hashed and probed by the table\'s classifier lookups; per lookup this is the tuple-space search cost.',
    read: (t) => t.classifier.stats[ClsStat.Probes],
  },
  { name: 'linc_flow_table_subtables', kind: 'gauge', help: 'Classifier subtables (distinct match masks) of the OpenFlow table.', read: (t) => t.classifier.subtableCount },
];

interface ScalarSpec {
  name: string;
  help: string;
  read: () => number;
}

/** Frames (or copies of them) the OpenFlow pipeline dropped, as the `reason` label of linc_datapath_dropped_total. */
const PIPELINE_DROP_REASONS: Array<[string, PipelineStat]> = [
  ['table_miss', PipelineStat.TableMissDrops],
  ['meter', PipelineStat.MeterDrops],
  ['invalid_ttl', PipelineStat.InvalidTtlDrops],
  ['no_slot', PipelineStat.NoSlotDrops],
  ['no_headroom', PipelineStat.NoHeadroom],
  ['local_port', PipelineStat.LocalDrops],
  ['no_such_port', PipelineStat.NoSuchPort],
  ['in_port', PipelineStat.InPortDrops],
  ['group_too_deep', PipelineStat.GroupTooDeep],
  ['fragment', PipelineStat.FragDrops],
];

/** Adds the flow-table, cache, pipeline, packet-in, group and meter families (read at scrape time from `of`). */
function addOpenFlowFamilies(registry: Registry, of: OpenFlowMetricsSource): void {
  const registers = [registry];
  const tables = of.tables.tables;
  // Label objects made once: a scrape allocates no per-table label set.
  const tableLabels = tables.map((t) => ({ table: String(t.id) }));
  for (const spec of TABLE_FAMILIES) {
    const opts = { name: spec.name, help: spec.help, labelNames: ['table'] as const, registers };
    if (spec.kind === 'counter') {
      new Counter<TableLabels>({
        ...opts,
        collect() {
          this.reset();
          for (let i = 0; i < tables.length; i++) this.inc(tableLabels[i], spec.read(tables[i]));
        },
      });
    } else {
      new Gauge<TableLabels>({
        ...opts,
        collect() {
          for (let i = 0; i < tables.length; i++) this.set(tableLabels[i], spec.read(tables[i]));
        },
      });
    }
  }

  const pipe = of.pipeline;
  const emc = pipe.emc.stats;
  const mf = pipe.megaflow.stats;
  const stats = pipe.stats;
  const counters: ScalarSpec[] = [
    { name: 'linc_datapath_megaflow_hits_total', help: 'Frames whose flow key matched a megaflow cache entry (the default cache: one entry per megaflow, the fields the tables match): the cached path ran, no table was searched.', read: () => mf[MfStat.Hits] },
    { name: 'linc_datapath_megaflow_misses_total', help: 'Megaflow cache lookups that found nothing valid: the exact-match cache was asked next if it holds refused keys, else the frame walked the tables.', read: () => mf[MfStat.Misses] },
    { name: 'linc_datapath_megaflow_inserts_total', help: 'Megaflows stored in the megaflow cache after a table walk.', read: () => mf[MfStat.Inserts] },
    { name: 'linc_datapath_megaflow_refused_total', help: 'Megaflow cache inserts refused because every subtable was taken by other masks this generation: the exact flow key went to the exact-match cache instead.', read: () => mf[MfStat.Refused] },
    { name: 'linc_datapath_cache_hits_total', help: 'Frames whose flow key was found in the exact-match cache (behind the megaflow cache, or alone with --no-megaflow): the cached path ran, no table was searched.', read: () => emc[EmcStat.Hits] },
    { name: 'linc_datapath_cache_misses_total', help: 'Exact-match cache lookups that found nothing valid (absent, or stale since the last flow, group, meter or port change): the frame walked the tables.', read: () => emc[EmcStat.Misses] },
    { name: 'linc_datapath_cache_inserts_total', help: 'Flow keys stored in the exact-match cache after a table walk.', read: () => emc[EmcStat.Inserts] },
    { name: 'linc_datapath_cache_evictions_total', help: 'Exact-match cache inserts that displaced a live entry holding another flow key.', read: () => emc[EmcStat.Evictions] },
    { name: 'linc_datapath_table_walks_total', help: 'Frames that walked the flow tables from table 0 (cache misses, and frames the cache does not take).', read: () => stats[PipelineStat.Walks] },
    { name: 'linc_datapath_paths_resolved_total', help: 'Table walks resolved into a new cached program (a path through the tables not seen since the last change).', read: () => stats[PipelineStat.ProgramsBuilt] },
    { name: 'linc_datapath_uncacheable_walks_total', help: 'Complete table walks whose result could not be cached (the key had to be re-parsed between tables).', read: () => stats[PipelineStat.Uncacheable] },
    { name: 'linc_openflow_packet_ins_total', help: 'Packet-ins the pipeline handed to the OpenFlow connections (each connection\'s async config may still filter them).', read: () => stats[PipelineStat.PacketIns] },
  ];
  for (const spec of counters) {
    new Counter({
      name: spec.name,
      help: spec.help,
      registers,
      collect() {
        this.reset();
        this.inc(spec.read());
      },
    });
  }
  new Counter<'reason'>({
    name: 'linc_openflow_packet_ins_dropped_total',
    help: 'Packet-ins not sent, by reason: meter (rate-limited by the reserved meters OFPM_CONTROLLER / OFPM_SLOWPATH), blocked (OFPPC_NO_PACKET_IN on the in port, or no OpenFlow connection to send to).',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      this.inc({ reason: 'meter' }, stats[PipelineStat.PacketInMetered]);
      this.inc({ reason: 'blocked' }, stats[PipelineStat.PacketInBlocked]);
    },
  });
  new Counter<'reason'>({
    name: 'linc_datapath_dropped_total',
    help: 'Frames (or copies of them) the OpenFlow pipeline dropped, by reason: table_miss (no entry and no table-miss flow), meter (band drop), invalid_ttl, no_slot (no pool slot for a copy), no_headroom (no room for a push), local_port (output to LOCAL with no --local-port), no_such_port, in_port (output to the in port by number), group_too_deep, fragment (OFPC_FRAG_DROP).',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, stat] of PIPELINE_DROP_REASONS) this.inc({ reason }, stats[stat]);
    },
  });
  const gauges: ScalarSpec[] = [
    { name: 'linc_datapath_cache_entries', help: 'Live entries of the exact-match cache (valid for the current tables).', read: () => pipe.emc.liveEntries() },
    { name: 'linc_datapath_megaflow_entries', help: 'Live entries of the megaflow cache (valid for the current tables).', read: () => pipe.megaflow.liveEntries() },
    { name: 'linc_group_entries', help: 'OpenFlow groups installed.', read: () => of.groups.size },
    { name: 'linc_meter_entries', help: 'OpenFlow meters installed.', read: () => of.meters.size },
  ];
  for (const spec of gauges) {
    new Gauge({
      name: spec.name,
      help: spec.help,
      registers,
      collect() {
        this.set(spec.read());
      },
    });
  }
  new Gauge<'pipeline'>({
    name: 'linc_switch_pipeline',
    help: 'Which pipeline forwards: 1 on pipeline="openflow" (the flow tables: a controller is connected, or fail mode secure), else 1 on pipeline="normal" (the standalone learning switch).',
    labelNames: ['pipeline'],
    registers,
    collect() {
      const openflow = of.datapath.pipeline === pipe;
      this.set({ pipeline: 'openflow' }, openflow ? 1 : 0);
      this.set({ pipeline: 'normal' }, openflow ? 0 : 1);
    },
  });
}

/* ----------------------------------------------------------- controllers */

/** What the controller manager reports (src/openflow/controller-manager.ts), read at scrape time. */
export interface ControllerMetricsSource {
  /** One entry per configured controller (`--controller`). */
  controllers(): Array<{ target: string; connected: boolean; role: 'equal' | 'master' | 'slave' }>;
  /** Connections that finished the OpenFlow handshake, by kind. */
  connectionCounts(): { controller: number; service: number };
  errorsSent(): number;
  asyncDropped(): number;
  /** Packet-ins not sent, by target (controller spec, or listener spec) and reason. */
  packetInDrops(): Array<{ target: string; reason: 'queue' | 'rate'; count: number }>;
  /** Connections closed at accept because the listener was full, per listener. */
  connectionsRefused(): Array<{ listen: string; count: number }>;
  handshakeTimeouts(): number;
  /** Bytes written to the connections that the peers have not taken yet. */
  txQueuedBytes(): number;
}

const CONTROLLER_ROLES = ['equal', 'master', 'slave'] as const;

/** Adds the OpenFlow connection families to the switch's registry. */
export function addControllerMetrics(metrics: SwitchMetrics, src: ControllerMetricsSource): void {
  const registers = [metrics.registry];
  new Gauge<'target'>({
    name: 'linc_controller_connected',
    help: '1 while the connection to this controller (--controller) is up and past the OpenFlow handshake, else 0.',
    labelNames: ['target'],
    registers,
    collect() {
      this.reset();
      for (const c of src.controllers()) this.set({ target: c.target }, c.connected ? 1 : 0);
    },
  });
  new Gauge<'target' | 'role'>({
    name: 'linc_controller_role',
    help: 'The OpenFlow role of each connected controller: 1 on the series of its current role (equal, master, slave), 0 on the others.',
    labelNames: ['target', 'role'],
    registers,
    collect() {
      this.reset();
      for (const c of src.controllers()) {
        if (!c.connected) continue;
        for (const role of CONTROLLER_ROLES) this.set({ target: c.target, role }, c.role === role ? 1 : 0);
      }
    },
  });
  new Gauge<'kind'>({
    name: 'linc_openflow_connections',
    help: 'OpenFlow connections past the handshake: kind="controller" (--controller, these decide the fail mode) or kind="service" (accepted on --listen).',
    labelNames: ['kind'],
    registers,
    collect() {
      const n = src.connectionCounts();
      this.set({ kind: 'controller' }, n.controller);
      this.set({ kind: 'service' }, n.service);
    },
  });
  new Counter({
    name: 'linc_openflow_errors_sent_total',
    help: 'OFPT_ERROR messages sent on OpenFlow connections (malformed or refused requests).',
    registers,
    collect() {
      this.reset();
      this.inc(src.errorsSent());
    },
  });
  new Counter({
    name: 'linc_openflow_async_dropped_total',
    help: 'Asynchronous messages (packet-in, port-status, flow-removed) dropped because a connection had too much unsent data.',
    registers,
    collect() {
      this.reset();
      this.inc(src.asyncDropped());
    },
  });
  addPeerLimitMetrics(registers, src);
}

/** The peer limits' families (handshake deadline, connection cap, packet-in queue and rate limit). */
function addPeerLimitMetrics(registers: Registry[], src: ControllerMetricsSource): void {
  new Counter<'target' | 'reason'>({
    name: 'linc_controller_packet_ins_dropped_total',
    help:
      'Packet-ins an OpenFlow connection did not send, by target (the --controller spec, or the --listen spec for the connections it accepted) and reason: ' +
      'queue (more than 1 MiB unsent: the peer is not reading), rate (over --controller-rate-limit). The pipeline\'s own drops are linc_openflow_packet_ins_dropped_total.',
    labelNames: ['target', 'reason'],
    registers,
    collect() {
      this.reset();
      for (const d of src.packetInDrops()) this.inc({ target: d.target, reason: d.reason }, d.count);
    },
  });
  new Counter<'listen'>({
    name: 'linc_openflow_connections_refused_total',
    help: 'Connections an OpenFlow listener closed at accept because it already had --listen-max-connections open.',
    labelNames: ['listen'],
    registers,
    collect() {
      this.reset();
      for (const r of src.connectionsRefused()) this.inc({ listen: r.listen }, r.count);
    },
  });
  new Counter({
    name: 'linc_openflow_handshake_timeouts_total',
    help: 'OpenFlow connections closed because the peer had not completed the hello exchange within --handshake-timeout.',
    registers,
    collect() {
      this.reset();
      this.inc(src.handshakeTimeouts());
    },
  });
  new Gauge({
    name: 'linc_openflow_tx_queued_bytes',
    help: 'Bytes written to OpenFlow connections that the peers have not read yet (packet-ins stop being queued past 1 MiB per connection).',
    registers,
    collect() {
      this.set(src.txQueuedBytes());
    },
  });
}

/* ---------------------------------------------------------------- server */

export interface MetricsAddress {
  host: string;
  port: number;
}

export interface MetricsServer {
  /** Where it listens (the real port when 0 was asked). */
  readonly address: MetricsAddress;
  readonly url: string;
  close(): Promise<void>;
}

/** Serve `GET /metrics` (and a pointer at `/`) on host:port. Rejects if it cannot listen. */
export async function startMetricsServer(addr: MetricsAddress, metrics: SwitchMetrics, log?: Logger): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/metrics') {
      metrics.scrape().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (e: Error) => {
          log?.error({ err: e }, 'metrics scrape failed');
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`scrape failed: ${e.message}\n`);
        },
      );
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('linc-ts: metrics at /metrics\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const address = { host: addr.host, port: a.port };
  const url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/metrics`;
  log?.info({ url }, 'metrics server listening');
  return {
    address,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
