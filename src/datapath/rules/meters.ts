/*
 * The meter table: per-rule rate limiters with drop and DSCP-remark bands,
 * measured in kbit/s or packets/s. The control plane's checks and replies
 * (meter-mod errors, meter stats) live above, in src/openflow/ofproto/meter-mods.ts;
 * which meters limit punts is the pipeline's PuntMeters setting.
 *
 * What
 *   add / modify / remove     install, reconfigure, delete (the caller deletes
 *                             the rules that used the removed ids)
 *   run(slot, bytes, now)     one frame through a meter: METER_PASS,
 *                             METER_DROP, or a DSCP precedence increase (> 0)
 *
 * Design
 *   - One token bucket per band, refilled lazily on use from the elapsed
 *     time (no timers). Units: kbps bands count bits and refill `rate` bits
 *     per ms; pktps bands count milli-packets and refill `rate` per ms, a
 *     frame costing 1000. Bucket depth is the band's burst size (kbits or
 *     packets) when the meter uses bursts, else one second at the band's
 *     rate; buckets start full.
 *   - A frame takes tokens from every band that has enough; the bands that
 *     had too few are exceeded, and the exceeded band with the highest rate
 *     applies (the band whose rate is just below the measured rate).
 *   - Meters live in slots like groups: a rule's program names the slot, and
 *     deleting a meter deletes the rules that use it (as Open vSwitch does).
 *
 * Invariants
 * - bySlot[m.slot] === m and get(m.id) === m for every meter (slot-table.ts).
 * - run() allocates nothing and never throws; it is told the time.
 */

import { DpError, DpFault } from './rule.js';
import { SlotTable } from './slot-table.js';

export const METER_PASS = 0;
export const METER_DROP = -1;
export const DEFAULT_MAX_METERS = 65536;
/** The most bands a meter may have. */
export const MAX_BANDS = 16;

/** What a band does to a frame over its rate. */
export const enum MeterBandKind {
  Drop = 1,
  /** Raises the DSCP drop precedence by precLevel. */
  DscpRemark = 2,
}

export interface MeterBandSpec {
  readonly kind: MeterBandKind;
  /** kbit/s or packets/s (the meter's unit). */
  readonly rate: number;
  /** kbits or packets; used when the meter uses bursts. */
  readonly burstSize: number;
  /** DscpRemark only. */
  readonly precLevel: number;
}

/** One meter to install. */
export interface MeterSpec {
  readonly id: number;
  /** Rates in packets/s (else kbit/s). */
  readonly pktps: boolean;
  /** Bucket depths from the bands' burst sizes (else one second at the rate). */
  readonly burst: boolean;
  readonly bands: readonly MeterBandSpec[];
  /** The control plane's own form of the meter; the datapath never reads it. */
  readonly origin: unknown;
}

const PACKET_COST = 1000;

export class Meter {
  origin: unknown = null;
  pktps = false;
  /** Per band: kind (MeterBandKind), precedence increase, refill per ms, depth, tokens. */
  kind = new Uint8Array(0);
  prec = new Uint8Array(0);
  ratePerMs = new Float64Array(0);
  depth = new Float64Array(0);
  tokens = new Float64Array(0);
  /** [packets, bytes] per band. */
  bandCounters = new Float64Array(0);
  /** [packets in, bytes in] */
  readonly counters = new Float64Array(2);
  /** [time of the last refill] */
  readonly last = new Float64Array(1);
  hasRemark = false;

  constructor(
    readonly id: number,
    readonly slot: number,
    readonly createdMs: number,
  ) {}

  get bandCount(): number {
    return this.kind.length;
  }

  /** (Re)configures the bands; buckets start full, band counters restart. */
  configure(spec: MeterSpec, nowMs: number): void {
    this.origin = spec.origin;
    this.pktps = spec.pktps;
    const n = spec.bands.length;
    this.kind = new Uint8Array(n);
    this.prec = new Uint8Array(n);
    this.ratePerMs = new Float64Array(n);
    this.depth = new Float64Array(n);
    this.tokens = new Float64Array(n);
    this.bandCounters = new Float64Array(2 * n);
    this.hasRemark = false;
    for (let i = 0; i < n; i++) {
      const b = spec.bands[i];
      this.kind[i] = b.kind;
      if (b.kind === MeterBandKind.DscpRemark) {
        this.prec[i] = b.precLevel;
        this.hasRemark = true;
      }
      this.ratePerMs[i] = b.rate;
      this.depth[i] = (spec.burst ? b.burstSize : b.rate) * 1000;
      this.tokens[i] = this.depth[i];
    }
    this.last[0] = nowMs;
  }
}

export class MeterTable extends SlotTable<Meter> {
  readonly maxMeters: number;

  constructor(opts: { maxMeters?: number } = {}) {
    super();
    this.maxMeters = opts.maxMeters ?? DEFAULT_MAX_METERS;
  }

  add(spec: MeterSpec, nowMs: number): DpError | null {
    if (this.has(spec.id)) return new DpError(DpFault.MeterExists, `meter ${spec.id} exists`);
    if (this.size >= this.maxMeters) return new DpError(DpFault.OutOfMeters, `${this.maxMeters} meters`);
    const m = new Meter(spec.id, this.nextSlot(), nowMs);
    m.configure(spec, nowMs);
    this.put(m);
    return null;
  }

  modify(spec: MeterSpec, nowMs: number): DpError | null {
    const m = this.get(spec.id);
    if (m === undefined) return new DpError(DpFault.UnknownMeter, `meter ${spec.id} does not exist`);
    m.configure(spec, nowMs);
    return null;
  }

  /** Deletes meter `id` (nothing when it does not exist); returns the ids deleted. */
  remove(id: number): number[] {
    return this.drop(id);
  }

  /** Deletes every meter; returns their ids. */
  removeAll(): number[] {
    return this.dropAll();
  }

  /**
   * One frame of `bytes` through the meter in `slot` at time `nowMs`:
   * METER_PASS, METER_DROP, or the DSCP drop-precedence increase of the
   * remark band that applies. Hot path.
   */
  run(slot: number, bytes: number, nowMs: number): number {
    const m = this.bySlot[slot];
    if (m === null || m === undefined) return METER_PASS;
    m.counters[0] += 1;
    m.counters[1] += bytes;
    const n = m.kind.length;
    if (n === 0) return METER_PASS;
    const tokens = m.tokens, depth = m.depth, rate = m.ratePerMs;
    const elapsed = nowMs - m.last[0];
    if (elapsed > 0) {
      for (let i = 0; i < n; i++) {
        const t = tokens[i] + elapsed * rate[i];
        tokens[i] = t > depth[i] ? depth[i] : t;
      }
      m.last[0] = nowMs;
    }
    const cost = m.pktps ? PACKET_COST : bytes * 8;
    let band = -1;
    let bandRate = -1;
    for (let i = 0; i < n; i++) {
      if (tokens[i] >= cost) tokens[i] -= cost;
      else if (rate[i] > bandRate) {
        band = i;
        bandRate = rate[i];
      }
    }
    if (band < 0) return METER_PASS;
    m.bandCounters[2 * band] += 1;
    m.bandCounters[2 * band + 1] += bytes;
    return m.kind[band] === MeterBandKind.Drop ? METER_DROP : m.prec[band];
  }
}
