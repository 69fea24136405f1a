/*
 * The per-port families of the switch's registry: one counter per PortStat
 * counter that means something on its own (PORT_COUNTERS), the drop
 * families by reason (DROP_FAMILIES), the rx/tx burst histograms
 * (PortBurstHistogram), and the gauges of each port's link state and
 * description (linc_port_up, linc_port_info, linc_port_io_info, from the
 * link state the datapath last read, DpPort.link).
 *
 * Invariants
 * - Label sets: every port series carries {port="<OpenFlow number>", name="<ifname>"};
 *   the local port (--local-port) is port="LOCAL".
 * - A port removed from the switch disappears from the next scrape (collect()
 *   rebuilds the series from Datapath.portList).
 * - Burst histograms come from the log2 bucket arrays: bucket b holds bursts
 *   of 2^b .. 2^(b+1)-1 frames, so the cumulative bounds are le = 1, 3, 7, 15,
 *   ..., 511, +Inf.
 * - Counters the port keeps itself (kernel drops, tx re-kicks) are read from
 *   it at scrape time first (DpPort.syncPortCounts).
 */

import { Counter, Gauge, type Metric, type Registry } from 'prom-client';
import type { Datapath, DpPort } from '../datapath/datapath.js';
import { PORT_LOCAL } from '../datapath/rules/rule.js';
import { BURST_HIST_BUCKETS, PortStat } from '../datapath/port-counters.js';

type PortLabels = 'port' | 'name';

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

/** The port counter, drop and burst histogram families, each series per port. */
export function addPortCounterFamilies(registry: Registry, dp: Pick<Datapath, 'portList'>): void {
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
}

/** The link state and description gauges, one series per port. */
export function addPortStateFamilies(registry: Registry, dp: Pick<Datapath, 'portList'>): void {
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
}
