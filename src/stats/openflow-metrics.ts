/*
 * The OpenFlow pipeline's families, added when the switch has an OpenFlow
 * side (MetricsSource.openflow, the OfSwitch): flow tables
 * (linc_flow_table_*{table}), megaflow cache (linc_datapath_megaflow_*),
 * exact-match cache (linc_datapath_cache_*), table walks and pipeline drops
 * (linc_datapath_*), packet-ins (linc_openflow_packet_ins_*), groups, meters,
 * which pipeline forwards (linc_switch_pipeline).
 *
 * Invariants
 * - Read at scrape time from the tables' TableCounter, the classifiers'
 *   ClsStat, the caches' EmcStat and MfStat and the pipeline's PipelineStat;
 *   nothing in prom-client is touched per frame.
 * - Every flow table (0 .. nTables-1) has its series, empty or not, so a
 *   table's counters never appear mid-way; a scrape costs the same with 10
 *   or 100k flows (sizes and counters are O(1) reads per table).
 */

import { Counter, Gauge, type Registry } from 'prom-client';
import { PipelineStat } from '../datapath/rules/actions-exec.js';
import { ClsStat } from '../datapath/rules/classifier.js';
import type { Datapath } from '../datapath/datapath.js';
import { EmcStat } from '../datapath/rules/emc.js';
import { MfStat } from '../datapath/rules/megaflow.js';
import { TableCounter } from '../datapath/rules/flow-table.js';
import type { GroupTable } from '../datapath/rules/groups.js';
import type { MeterTable } from '../datapath/rules/meters.js';
import type { RulePipeline } from '../datapath/rules/rule-pipeline.js';
import type { PipelineTables } from '../datapath/rules/pipeline-tables.js';

/** What the OpenFlow families read: the datapath's rule tables, pipeline, groups and meters. */
export interface OpenFlowMetricsSource {
  readonly datapath: Datapath;
  readonly tables: PipelineTables;
  readonly pipeline: RulePipeline;
  readonly groups: GroupTable;
  readonly meters: MeterTable;
}

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
export function addOpenFlowFamilies(registry: Registry, of: OpenFlowMetricsSource): void {
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
