/*
 * The OpenFlow meter table: per-flow rate limiters with drop and DSCP-remark
 * bands, measured in kbit/s or packets/s, plus the reserved meters
 * OFPM_CONTROLLER and OFPM_SLOWPATH that limit packet-ins (as Faucet uses them).
 *
 * What
 *   check(mm) / apply(mm, now)  meter-mod rules (OFPMMFC_*) and their effect
 *   run(slot, bytes, now)       one frame through a meter: METER_PASS,
 *                               METER_DROP, or a DSCP precedence increase (> 0)
 *   stats / config / features   the multipart bodies
 *
 * Design
 *   - One token bucket per band, refilled lazily on use from the elapsed
 *     time (no timers). Units: kbps bands count bits and refill `rate` bits
 *     per ms; pktps bands count milli-packets and refill `rate` per ms, a
 *     frame costing 1000. Bucket depth is burst_size (kbits or packets) with
 *     OFPMF_BURST, else one second at the band's rate; buckets start full.
 *   - A frame takes tokens from every band that has enough; the bands that
 *     had too few are exceeded, and the exceeded band with the highest rate
 *     applies (spec 5.7.1: the band whose rate is just below the measured rate).
 *   - Meters live in slots like groups: a flow's program names the slot, and
 *     deleting a meter deletes the flows that use it (as Open vSwitch does;
 *     the caller does that with the ids returned).
 *
 * Invariants
 * - bySlot[m.slot] === m and byId.get(m.id) === m for every meter.
 * - run() allocates nothing and never throws; it is told the time.
 */

import { OFPET, OFPM, OFPMBT, OFPMC, OFPMF, OFPMMFC } from '../../openflow/codec/v13/enums.js';
import type { MeterBand, MeterMod } from '../../openflow/codec/v13/msg/meter-mod.js';
import type { MeterConfig, MeterFeaturesReply, MeterStats } from '../../openflow/codec/v13/msg/mp-meter.js';
import type { OfError } from '../../openflow/ofproto/switch-api.js';

export const METER_PASS = 0;
export const METER_DROP = -1;
export const DEFAULT_MAX_METERS = 65536;
export const MAX_BANDS = 16;

const BAND_DROP = 1;
const BAND_REMARK = 2;
const PACKET_COST = 1000;
const ALL_FLAGS = OFPMF.KBPS | OFPMF.PKTPS | OFPMF.BURST | OFPMF.STATS;

function err(code: number, reason: string): OfError {
  return { type: OFPET.METER_MOD_FAILED, code, reason };
}

export class Meter {
  flags = 0;
  bands: MeterBand[] = [];
  pktps = false;
  /** Per band: kind (BAND_*), precedence increase, refill per ms, depth, tokens. */
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

  /** (Re)configures flags and bands; buckets start full, band counters restart. */
  configure(mm: MeterMod, nowMs: number): void {
    this.flags = mm.flags;
    this.bands = mm.bands;
    this.pktps = (mm.flags & OFPMF.PKTPS) !== 0;
    const n = mm.bands.length;
    this.kind = new Uint8Array(n);
    this.prec = new Uint8Array(n);
    this.ratePerMs = new Float64Array(n);
    this.depth = new Float64Array(n);
    this.tokens = new Float64Array(n);
    this.bandCounters = new Float64Array(2 * n);
    this.hasRemark = false;
    const burst = (mm.flags & OFPMF.BURST) !== 0;
    for (let i = 0; i < n; i++) {
      const b = mm.bands[i];
      this.kind[i] = b.type === 'dscp_remark' ? BAND_REMARK : BAND_DROP;
      if (b.type === 'dscp_remark') {
        this.prec[i] = b.precLevel;
        this.hasRemark = true;
      }
      this.ratePerMs[i] = b.rate;
      this.depth[i] = (burst ? b.burstSize : b.rate) * 1000;
      this.tokens[i] = this.depth[i];
    }
    this.last[0] = nowMs;
  }
}

export class MeterTable {
  readonly bySlot: (Meter | null)[] = [];
  private readonly byId = new Map<number, Meter>();
  private readonly freeSlots: number[] = [];
  readonly maxMeters: number;

  constructor(opts: { maxMeters?: number } = {}) {
    this.maxMeters = opts.maxMeters ?? DEFAULT_MAX_METERS;
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: number): Meter | undefined {
    return this.byId.get(id);
  }

  slotOf(id: number): number {
    return this.byId.get(id)?.slot ?? -1;
  }

  list(): Meter[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  /** Slot of OFPM_CONTROLLER / OFPM_SLOWPATH, -1 when not configured. */
  reservedSlot(id: number): number {
    return this.slotOf(id);
  }

  /** The OFPMMFC checks of a meter-mod. */
  check(mm: MeterMod): OfError | null {
    const id = mm.meterId;
    const reserved = id === OFPM.CONTROLLER || id === OFPM.SLOWPATH;
    if (mm.command === OFPMC.DELETE) {
      if (id === OFPM.ALL || reserved || (id >= 1 && id <= OFPM.MAX)) return null;
      return err(OFPMMFC.INVALID_METER, `meter id 0x${id.toString(16)}`);
    }
    if (mm.command !== OFPMC.ADD && mm.command !== OFPMC.MODIFY) return err(OFPMMFC.BAD_COMMAND, `meter_mod command ${mm.command}`);
    if (!reserved && (id < 1 || id > OFPM.MAX)) return err(OFPMMFC.INVALID_METER, `meter id 0x${id.toString(16)}`);
    const exists = this.byId.has(id);
    if (mm.command === OFPMC.ADD && exists) return err(OFPMMFC.METER_EXISTS, `meter ${id} exists`);
    if (mm.command === OFPMC.MODIFY && !exists) return err(OFPMMFC.UNKNOWN_METER, `meter ${id} does not exist`);
    if (mm.command === OFPMC.ADD && this.byId.size >= this.maxMeters) return err(OFPMMFC.OUT_OF_METERS, `${this.maxMeters} meters`);
    const unit = mm.flags & (OFPMF.KBPS | OFPMF.PKTPS);
    if ((mm.flags & ~ALL_FLAGS) !== 0 || unit === 0 || unit === (OFPMF.KBPS | OFPMF.PKTPS)) {
      return err(OFPMMFC.BAD_FLAGS, `meter flags 0x${mm.flags.toString(16)} need exactly one of KBPS, PKTPS`);
    }
    if (mm.bands.length > MAX_BANDS) return err(OFPMMFC.OUT_OF_BANDS, `${mm.bands.length} bands > ${MAX_BANDS}`);
    for (const b of mm.bands) {
      if (b.type === 'experimenter') return err(OFPMMFC.BAD_BAND, 'experimenter bands are not supported');
      if (b.rate === 0) return err(OFPMMFC.BAD_RATE, 'band rate 0');
      if ((mm.flags & OFPMF.BURST) !== 0 && b.burstSize === 0) return err(OFPMMFC.BAD_BURST, 'OFPMF_BURST with burst_size 0');
      if (b.type === 'dscp_remark' && b.precLevel === 0) return err(OFPMMFC.BAD_BAND_VALUE, 'dscp_remark prec_level 0');
    }
    return null;
  }

  /** Applies a meter-mod that passed check(); returns the ids of deleted meters (their flows must go). */
  apply(mm: MeterMod, nowMs: number): number[] {
    if (mm.command === OFPMC.ADD) {
      const slot = this.freeSlots.length > 0 ? this.freeSlots.pop()! : this.bySlot.length;
      const m = new Meter(mm.meterId, slot, nowMs);
      m.configure(mm, nowMs);
      if (slot === this.bySlot.length) this.bySlot.push(m);
      else this.bySlot[slot] = m;
      this.byId.set(m.id, m);
      return [];
    }
    if (mm.command === OFPMC.MODIFY) {
      this.byId.get(mm.meterId)!.configure(mm, nowMs);
      return [];
    }
    const ids = mm.meterId === OFPM.ALL ? [...this.byId.keys()] : this.byId.has(mm.meterId) ? [mm.meterId] : [];
    for (const id of ids) {
      const m = this.byId.get(id)!;
      this.byId.delete(id);
      this.bySlot[m.slot] = null;
      this.freeSlots.push(m.slot);
    }
    return ids;
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
    return m.kind[band] === BAND_DROP ? METER_DROP : m.prec[band];
  }

  /** OFPMP_METER entries (all for OFPM_ALL); `flowCount` counts the flows using each meter. */
  stats(meterId: number, nowMs: number, flowCount: (id: number) => number): MeterStats[] {
    return this.select(meterId).map((m) => {
      const ms = Math.max(0, nowMs - m.createdMs);
      const sec = Math.floor(ms / 1000);
      const bandStats = [];
      for (let i = 0; i < m.bands.length; i++) {
        bandStats.push({ packetBandCount: BigInt(m.bandCounters[2 * i]), byteBandCount: BigInt(m.bandCounters[2 * i + 1]) });
      }
      return {
        meterId: m.id,
        flowCount: flowCount(m.id),
        packetInCount: BigInt(m.counters[0]),
        byteInCount: BigInt(m.counters[1]),
        durationSec: sec,
        durationNsec: Math.min(999_999_999, Math.round((ms - sec * 1000) * 1e6)),
        bandStats,
      };
    });
  }

  /** OFPMP_METER_CONFIG entries. */
  config(meterId: number): MeterConfig[] {
    return this.select(meterId).map((m) => ({ flags: m.flags, meterId: m.id, bands: m.bands }));
  }

  /** OFPMP_METER_FEATURES. */
  features(): Omit<MeterFeaturesReply, 'type'> {
    return {
      maxMeter: this.maxMeters,
      bandTypes: (1 << OFPMBT.DROP) | (1 << OFPMBT.DSCP_REMARK),
      capabilities: OFPMF.KBPS | OFPMF.PKTPS | OFPMF.BURST | OFPMF.STATS,
      maxBands: MAX_BANDS,
      maxColor: 0,
    };
  }

  private select(meterId: number): Meter[] {
    if (meterId === OFPM.ALL) return this.list();
    const m = this.byId.get(meterId);
    return m ? [m] : [];
  }
}
