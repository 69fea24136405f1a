/*
 * Per-port low-level counters (the llstat view): one Float64Array per port,
 * indexed by PortStat. The datapath only does `c[PortStat.X] += n`; readers
 * (llstat reports, Prometheus collect()) copy the array when they need it.
 *
 * Invariants
 * - Counters only grow (monotone) except the *Min/*Max window fields, which a
 *   reader resets when it opens a collection window.
 * - Drop reasons never overlap: a frame lost on tx is counted in exactly one
 *   of TxDropQueueFull, TxErrors, TxDropMtu, TxDropGso.
 * - Float64 holds integers exactly up to 2^53: centuries at line rate.
 * - Drops before a frame is received are counted once too: RxDropKernel
 *   (the kernel dropped it for us: our fd's queue was full) or, when the
 *   kernel never tells (frames left in its queue), not here at all;
 *   RxDropNoSlot counts receive attempts, not frames.
 */

export const enum PortStat {
  /** Wakeups of the port's poll handle (the "interrupts" of llstat). */
  RxWakeups,
  /** rxBurst calls that returned frames. */
  RxBursts,
  RxFrames,
  RxBytes,
  /** Frames we could not read because the pool had no free slot. */
  RxDropNoSlot,
  /** rxBurst calls that failed with a real error (not EAGAIN). */
  RxErrors,
  /** Frames shorter than an Ethernet header or with a malformed header (still forwarded at L2 when possible). */
  RxMalformed,
  /** Frames per wakeup over the current window: min and max. */
  RxWakeupFramesMin,
  RxWakeupFramesMax,
  /** Frames sent by txBurst (llstat "outputs"). */
  TxFrames,
  TxBytes,
  /** txBurst calls (llstat "kicks"). */
  TxKicks,
  /** Frames per kick over the current window: min and max. */
  TxKickFramesMin,
  TxKickFramesMax,
  /** Frames the kernel refused with EAGAIN/ENOBUFS (queue full). */
  TxDropQueueFull,
  /** Frames lost to another send error. */
  TxErrors,
  /** Frames longer than the port takes (no GSO to carry them). */
  TxDropMtu,
  /** GSO super-frames to a port that cannot take offload metadata. */
  TxDropGso,
  /** Partial checksums completed in software because the egress port has no offload. */
  TxCsumSoftware,
  /** Pool slots given back after the wakeup's bursts were flushed ("tx buf freed per int"). */
  SlotsFreed,
  /** Frames dropped by the forwarding decision (e.g. destination is the in port). */
  FwdDropped,
  /** Frames flooded (sent to every other port). */
  FwdFlooded,
  /** Frames the port's VLAN configuration refused on receive (learning switch): a tagged frame on an access port, a VLAN a trunk does not carry. */
  VlanDropped,
  /** Frames the kernel dropped on their way to the port's fd because its queue was full (read, not incremented per frame: DpPort.syncPortCounts). */
  RxDropKernel,
  /** Polls that found nothing: busy-poll passes, and passes of a receive moderation window (--rx-usecs, --adaptive-rx). */
  RxEmptyPolls,
  /** Kicks of the port's tx ring made by its own re-kick timer, for frames a full send buffer left in the ring (mode=ring; read, not incremented per frame: DpPort.syncPortCounts). */
  TxKickRetries,
  COUNT,
}

/** snake_case names of the PortStat counters, in enum order (reports, logs, JSON). */
export const PORT_STAT_NAMES = [
  'rx_wakeups', 'rx_bursts', 'rx_frames', 'rx_bytes', 'rx_drop_no_slot', 'rx_errors', 'rx_malformed',
  'rx_wakeup_frames_min', 'rx_wakeup_frames_max',
  'tx_frames', 'tx_bytes', 'tx_kicks', 'tx_kick_frames_min', 'tx_kick_frames_max',
  'tx_drop_queue_full', 'tx_errors', 'tx_drop_mtu', 'tx_drop_gso', 'tx_csum_software',
  'slots_freed', 'fwd_dropped', 'fwd_flooded', 'vlan_dropped', 'rx_drop_kernel',
  'rx_empty_polls', 'tx_kick_retries',
] as const;

/** Frames-per-burst histogram buckets: [1], [2,3], [4,7], ... [256, inf): index = 31 - clz32(n), capped. */
export const BURST_HIST_BUCKETS = 10;

if (PORT_STAT_NAMES.length !== PortStat.COUNT) throw new Error('PORT_STAT_NAMES does not match PortStat');

export class PortCounters {
  readonly c = new Float64Array(PortStat.COUNT);
  /** Histogram of frames per wakeup, log2 buckets. */
  readonly rxWakeupHist = new Float64Array(BURST_HIST_BUCKETS);
  /** Histogram of frames per tx kick, log2 buckets. */
  readonly txKickHist = new Float64Array(BURST_HIST_BUCKETS);

  constructor() {
    this.resetWindow();
  }

  /** Start a new min/max window (llstat start). */
  resetWindow(): void {
    this.c[PortStat.RxWakeupFramesMin] = Infinity;
    this.c[PortStat.RxWakeupFramesMax] = 0;
    this.c[PortStat.TxKickFramesMin] = Infinity;
    this.c[PortStat.TxKickFramesMax] = 0;
  }

  snapshot(): Float64Array {
    return this.c.slice();
  }

  /** The counters by name (slow path: logs, JSON reports). An empty window's min reads 0. */
  toJSON(): Record<(typeof PORT_STAT_NAMES)[number], number> {
    const out = {} as Record<(typeof PORT_STAT_NAMES)[number], number>;
    for (let i = 0; i < PORT_STAT_NAMES.length; i++) out[PORT_STAT_NAMES[i]] = Number.isFinite(this.c[i]) ? this.c[i] : 0;
    return out;
  }
}

export function histBucket(n: number): number {
  const b = 31 - Math.clz32(n);
  return b < BURST_HIST_BUCKETS ? b : BURST_HIST_BUCKETS - 1;
}
