/*
 * Meter-mods and meter statistics: OpenFlow 1.3's meter table semantics
 * (spec 5.7, 7.3.4.4) translated onto the datapath's MeterTable, including
 * the reserved meters OFPM_CONTROLLER and OFPM_SLOWPATH that limit
 * packet-ins (as Faucet uses them; the pipeline's punt meters).
 *
 * What
 *   check(mm)            the OFPMMFC checks of a meter-mod
 *   apply(mm, now)       its effect (OFPMF_* -> unit and burst, bands ->
 *                        MeterBandSpec, the OpenFlow flags and bands kept as
 *                        the meter's origin); returns the ids of deleted
 *                        meters (their flows must go)
 *   stats / config / features   the multipart bodies
 */

import { MAX_BANDS, MeterBandKind, type Meter, type MeterSpec, type MeterTable } from '../../datapath/rules/meters.js';
import { OFPET, OFPM, OFPMBT, OFPMC, OFPMF, OFPMMFC } from '../codec/v13/enums.js';
import type { MeterBand, MeterMod } from '../codec/v13/msg/meter-mod.js';
import type { MeterConfig, MeterFeaturesReply, MeterStats } from '../codec/v13/msg/mp-meter.js';
import { counterPairs, durationOf } from './replies.js';
import type { OfError } from './switch-api.js';

const ALL_FLAGS = OFPMF.KBPS | OFPMF.PKTPS | OFPMF.BURST | OFPMF.STATS;

function err(code: number, reason: string): OfError {
  return { type: OFPET.METER_MOD_FAILED, code, reason };
}

/** A meter's OpenFlow form, kept as its origin. */
interface MeterOrigin {
  readonly flags: number;
  readonly bands: MeterBand[];
}

function originOf(m: Meter): MeterOrigin {
  return m.origin as MeterOrigin;
}

function specOf(mm: MeterMod): MeterSpec {
  return {
    id: mm.meterId,
    pktps: (mm.flags & OFPMF.PKTPS) !== 0,
    burst: (mm.flags & OFPMF.BURST) !== 0,
    bands: mm.bands.map((b) => ({
      kind: b.type === 'dscp_remark' ? MeterBandKind.DscpRemark : MeterBandKind.Drop,
      rate: b.rate,
      burstSize: b.burstSize,
      precLevel: b.type === 'dscp_remark' ? b.precLevel : 0,
    })),
    origin: { flags: mm.flags, bands: mm.bands } satisfies MeterOrigin,
  };
}

export class OfMeters {
  constructor(readonly table: MeterTable) {}

  get size(): number {
    return this.table.size;
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
    const t = this.table;
    const exists = t.has(id);
    if (mm.command === OFPMC.ADD && exists) return err(OFPMMFC.METER_EXISTS, `meter ${id} exists`);
    if (mm.command === OFPMC.MODIFY && !exists) return err(OFPMMFC.UNKNOWN_METER, `meter ${id} does not exist`);
    if (mm.command === OFPMC.ADD && t.size >= t.maxMeters) return err(OFPMMFC.OUT_OF_METERS, `${t.maxMeters} meters`);
    const unit = mm.flags & (OFPMF.KBPS | OFPMF.PKTPS);
    if ((mm.flags & ~ALL_FLAGS) !== 0 || unit === 0 || unit === (OFPMF.KBPS | OFPMF.PKTPS)) {
      return err(OFPMMFC.BAD_FLAGS, `meter flags 0x${mm.flags.toString(16)} need exactly one of KBPS, PKTPS`);
    }
    // No bands is a valid meter: the band list "can contain any number of
    // bands" (1.3.5 A.3.4.4) and below every band's rate no band applies
    // (5.7.1), so a band-less meter measures and counts but never acts.
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
    const t = this.table;
    if (mm.command === OFPMC.ADD) {
      t.add(specOf(mm), nowMs);
      return [];
    }
    if (mm.command === OFPMC.MODIFY) {
      t.modify(specOf(mm), nowMs);
      return [];
    }
    return mm.meterId === OFPM.ALL ? t.removeAll() : t.remove(mm.meterId);
  }

  /** OFPMP_METER entries (all for OFPM_ALL); `flowCount` counts the flows using each meter. */
  stats(meterId: number, nowMs: number, flowCount: (id: number) => number): MeterStats[] {
    return this.select(meterId).map((m) => {
      const d = durationOf(m.createdMs, nowMs);
      return {
        meterId: m.id,
        flowCount: flowCount(m.id),
        packetInCount: BigInt(m.counters[0]),
        byteInCount: BigInt(m.counters[1]),
        durationSec: d.sec,
        durationNsec: d.nsec,
        bandStats: counterPairs(m.bandCounters, m.bandCount, (packetBandCount, byteBandCount) => ({ packetBandCount, byteBandCount })),
      };
    });
  }

  /** OFPMP_METER_CONFIG entries. */
  config(meterId: number): MeterConfig[] {
    return this.select(meterId).map((m) => ({ flags: originOf(m).flags, meterId: m.id, bands: originOf(m).bands }));
  }

  /** OFPMP_METER_FEATURES. */
  features(): Omit<MeterFeaturesReply, 'type'> {
    return {
      maxMeter: this.table.maxMeters,
      bandTypes: (1 << OFPMBT.DROP) | (1 << OFPMBT.DSCP_REMARK),
      capabilities: OFPMF.KBPS | OFPMF.PKTPS | OFPMF.BURST | OFPMF.STATS,
      maxBands: MAX_BANDS,
      maxColor: 0,
    };
  }

  private select(meterId: number): Meter[] {
    if (meterId === OFPM.ALL) return this.table.list();
    const m = this.table.get(meterId);
    return m ? [m] : [];
  }
}
