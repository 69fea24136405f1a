/*
 * Prometheus metrics: a prom-client Registry of its own (never the global
 * one) with the default process/Node.js metrics (only when /metrics is
 * served: MetricsSource.processMetrics) and the switch's families.
 * This module wires the registry (createSwitchMetrics) and owns the switch's
 * own families (linc_switch_info, linc_ports) and the learning switch's
 * (NORMAL: linc_mac_*); the rest come from
 *   port-metrics.ts        ports: counters, drops by reason, burst
 *                          histograms, link state and description;
 *   openflow-metrics.ts    the OpenFlow pipeline (MetricsSource.openflow, the
 *                          OfSwitch): flow tables, megaflow and exact-match
 *                          caches, table walks, pipeline drops, packet-ins,
 *                          groups, meters, which pipeline forwards;
 *   controller-metrics.ts  OpenFlow connections and peer limits
 *                          (addControllerMetrics, once the switch has them);
 *   metrics-server.ts      the `/metrics` HTTP server.
 * Extension point: a later subsystem adds its families to
 * `SwitchMetrics.registry` the same way, a Counter/Gauge with a collect()
 * reading its own state.
 *
 * Invariants
 * - Every switch value is read at scrape time, in collect(), from the typed
 *   arrays the datapath increments (port-counters.ts, the flow tables'
 *   TableCounter, the classifiers' ClsStat, the exact-match cache's EmcStat,
 *   the megaflow cache's MfStat, the OpenFlow pipeline's PipelineStat) and
 *   from the MAC table; nothing in prom-client is touched per frame.
 * - The default metrics promtool refuses (gauges named *_total) are removed.
 * - No steady timer unless the default metrics are on: prom-client's
 *   event-loop lag monitor (nodejs_eventloop_lag_*) wakes the event loop
 *   once per sample (EVENT_LOOP_SAMPLE_MS; at prom-client's 10 ms that was
 *   about half an idle switch's CPU).
 */

import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Datapath } from '../datapath/datapath.js';
import type { NormalSwitch } from '../datapath/learning/normal.js';
import { addPortCounterFamilies, addPortStateFamilies } from './port-metrics.js';
import { addOpenFlowFamilies, type OpenFlowMetricsSource } from './openflow-metrics.js';

export interface MetricsSource {
  datapath: Pick<Datapath, 'portList'>;
  /** The learning switch, when it is the pipeline (or NORMAL is available). */
  normal?: NormalSwitch | null;
  datapathId: bigint;
  version: string;
  /**
   * prom-client's default process/Node.js metrics (CPU, memory, GC, event-loop lag); default true.
   * The switch turns them off when nothing serves /metrics (`--metrics off`): nobody could read them,
   * and their event-loop lag monitor would still wake the idle switch.
   */
  processMetrics?: boolean;
  /** The OpenFlow side (flow tables, cache, pipeline, groups, meters): its families are added when given. */
  openflow?: OpenFlowMetricsSource | null;
}

export interface SwitchMetrics {
  registry: Registry;
  /** The exposition text of one scrape. */
  scrape(): Promise<string>;
}

/** Default prom-client metrics that break the Prometheus naming rules (gauges named *_total). */
const PROMTOOL_REFUSED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** How often the nodejs_eventloop_lag_* histogram samples the event loop's delay, in ms. */
const EVENT_LOOP_SAMPLE_MS = 100;

/** The switch's registry: default process metrics plus the port, MAC-table and switch families. */
export function createSwitchMetrics(src: MetricsSource): SwitchMetrics {
  const registry = new Registry();
  if (src.processMetrics ?? true) {
    // The event-loop delay histogram samples every EVENT_LOOP_SAMPLE_MS, not prom-client's 10 ms:
    // each sample is a timer wakeup, and at 10 ms they were half of an idle switch's CPU.
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    // prom-client names three gauges *_total, which Prometheus reserves for counters (promtool check metrics
    // refuses them); their per-type siblings (nodejs_active_handles{type}, ...) carry the same numbers.
    for (const name of PROMTOOL_REFUSED_DEFAULTS) registry.removeSingleMetric(name);
  }
  const dp = src.datapath;

  addPortCounterFamilies(registry, dp);

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
  addPortStateFamilies(registry, dp);

  if (src.openflow) addOpenFlowFamilies(registry, src.openflow);

  return { registry, scrape: () => registry.metrics() };
}
