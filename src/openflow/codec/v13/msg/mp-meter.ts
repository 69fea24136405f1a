/*
 * Multipart bodies for meters: METER (statistics, A.3.5.12), METER_CONFIG
 * (A.3.5.13) and METER_FEATURES (A.3.5.14).
 */

import { u16, u32, u64, w16, w32, w64 } from '../../bytes.js';
import { METER_BAND_STATS, METER_CONFIG, METER_FEATURES, METER_MULTIPART_REQUEST, METER_STATS } from '../consts.js';
import { DecodeError, badLen } from '../../decode-error.js';
import { OFPMP } from '../enums.js';
import { type MeterBand, bandsSize, decodeBands, encodeBands } from './meter-mod.js';
import { type MpBodyCodec, emptyRequest, expectBody } from './mp-body.js';

function meterRequest<T extends 'meter' | 'meter_config'>(name: T): Pick<MpBodyCodec<{ type: T; meterId: number }, { type: T }>, 'requestSize' | 'encodeRequest' | 'decodeRequest'> {
  return {
    requestSize: () => METER_MULTIPART_REQUEST.SIZE,
    encodeRequest: (q, b, o) => {
      w32(b, o + METER_MULTIPART_REQUEST.meterId, q.meterId);
      w32(b, o + METER_MULTIPART_REQUEST.pad, 0);
      return o + METER_MULTIPART_REQUEST.SIZE;
    },
    decodeRequest: (b, o, end) =>
      expectBody(o, end, METER_MULTIPART_REQUEST.SIZE, `${name} request`) ?? { type: name, meterId: u32(b, o + METER_MULTIPART_REQUEST.meterId) },
  };
}

// METER
export interface MeterStatsRequest { type: 'meter'; meterId: number }
export interface MeterBandStats { packetBandCount: bigint; byteBandCount: bigint }
export interface MeterStats {
  meterId: number;
  flowCount: number;
  packetInCount: bigint;
  byteInCount: bigint;
  durationSec: number;
  durationNsec: number;
  bandStats: MeterBandStats[];
}
export interface MeterStatsReply { type: 'meter'; entries: MeterStats[] }

export const meterBody: MpBodyCodec<MeterStatsRequest, MeterStatsReply> = {
  mpType: OFPMP.METER,
  name: 'meter',
  ...meterRequest('meter'),
  replySize: (r) => {
    let n = 0;
    for (const e of r.entries) n += METER_STATS.SIZE + METER_BAND_STATS.SIZE * e.bandStats.length;
    return n;
  },
  encodeReply: (r, b, o) => {
    for (const e of r.entries) {
      const len = METER_STATS.SIZE + METER_BAND_STATS.SIZE * e.bandStats.length;
      b.fill(0, o, o + METER_STATS.SIZE);
      w32(b, o + METER_STATS.meterId, e.meterId);
      w16(b, o + METER_STATS.len, len);
      w32(b, o + METER_STATS.flowCount, e.flowCount);
      w64(b, o + METER_STATS.packetInCount, e.packetInCount);
      w64(b, o + METER_STATS.byteInCount, e.byteInCount);
      w32(b, o + METER_STATS.durationSec, e.durationSec);
      w32(b, o + METER_STATS.durationNsec, e.durationNsec);
      let c = o + METER_STATS.SIZE;
      for (const s of e.bandStats) {
        w64(b, c + METER_BAND_STATS.packetBandCount, s.packetBandCount);
        w64(b, c + METER_BAND_STATS.byteBandCount, s.byteBandCount);
        c += METER_BAND_STATS.SIZE;
      }
      o += len;
    }
    return o;
  },
  decodeReply: (b, o, end) => {
    const entries: MeterStats[] = [];
    while (o < end) {
      const len = end - o >= METER_STATS.len + 2 ? u16(b, o + METER_STATS.len) : 0;
      if (len < METER_STATS.SIZE || (len - METER_STATS.SIZE) % METER_BAND_STATS.SIZE !== 0 || o + len > end) {
        return badLen(o, `meter stats entry length ${len}`);
      }
      const bandStats: MeterBandStats[] = [];
      for (let c = o + METER_STATS.SIZE; c < o + len; c += METER_BAND_STATS.SIZE) {
        bandStats.push({
          packetBandCount: u64(b, c + METER_BAND_STATS.packetBandCount),
          byteBandCount: u64(b, c + METER_BAND_STATS.byteBandCount),
        });
      }
      entries.push({
        meterId: u32(b, o + METER_STATS.meterId),
        flowCount: u32(b, o + METER_STATS.flowCount),
        packetInCount: u64(b, o + METER_STATS.packetInCount),
        byteInCount: u64(b, o + METER_STATS.byteInCount),
        durationSec: u32(b, o + METER_STATS.durationSec),
        durationNsec: u32(b, o + METER_STATS.durationNsec),
        bandStats,
      });
      o += len;
    }
    return { type: 'meter', entries };
  },
};

// METER_CONFIG
export interface MeterConfigRequest { type: 'meter_config'; meterId: number }
export interface MeterConfig {
  /** OFPMF_* */
  flags: number;
  meterId: number;
  bands: MeterBand[];
}
export interface MeterConfigReply { type: 'meter_config'; entries: MeterConfig[] }

export const meterConfigBody: MpBodyCodec<MeterConfigRequest, MeterConfigReply> = {
  mpType: OFPMP.METER_CONFIG,
  name: 'meter_config',
  ...meterRequest('meter_config'),
  replySize: (r) => {
    let n = 0;
    for (const e of r.entries) n += METER_CONFIG.SIZE + bandsSize(e.bands);
    return n;
  },
  encodeReply: (r, b, o) => {
    for (const e of r.entries) {
      const end = encodeBands(e.bands, b, o + METER_CONFIG.SIZE);
      w16(b, o + METER_CONFIG.length, end - o);
      w16(b, o + METER_CONFIG.flags, e.flags);
      w32(b, o + METER_CONFIG.meterId, e.meterId);
      o = end;
    }
    return o;
  },
  decodeReply: (b, o, end) => {
    const entries: MeterConfig[] = [];
    while (o < end) {
      const len = end - o >= 2 ? u16(b, o + METER_CONFIG.length) : 0;
      if (len < METER_CONFIG.SIZE || o + len > end) return badLen(o, `meter config entry length ${len}`);
      const bands = decodeBands(b, o + METER_CONFIG.SIZE, o + len);
      if (bands instanceof DecodeError) return bands;
      entries.push({ flags: u16(b, o + METER_CONFIG.flags), meterId: u32(b, o + METER_CONFIG.meterId), bands });
      o += len;
    }
    return { type: 'meter_config', entries };
  },
};

// METER_FEATURES
export interface MeterFeaturesRequest { type: 'meter_features' }
export interface MeterFeaturesReply {
  type: 'meter_features';
  maxMeter: number;
  /** Bitmap of OFPMBT_* supported (bit n = band type n). */
  bandTypes: number;
  /** OFPMF_* */
  capabilities: number;
  maxBands: number;
  maxColor: number;
}

export const meterFeaturesBody: MpBodyCodec<MeterFeaturesRequest, MeterFeaturesReply> = {
  mpType: OFPMP.METER_FEATURES,
  name: 'meter_features',
  ...emptyRequest('meter_features'),
  replySize: () => METER_FEATURES.SIZE,
  encodeReply: (r, b, o) => {
    w32(b, o + METER_FEATURES.maxMeter, r.maxMeter);
    w32(b, o + METER_FEATURES.bandTypes, r.bandTypes);
    w32(b, o + METER_FEATURES.capabilities, r.capabilities);
    b[o + METER_FEATURES.maxBands] = r.maxBands;
    b[o + METER_FEATURES.maxColor] = r.maxColor;
    w16(b, o + METER_FEATURES.pad, 0);
    return o + METER_FEATURES.SIZE;
  },
  decodeReply: (b, o, end) =>
    expectBody(o, end, METER_FEATURES.SIZE, 'meter_features reply') ?? {
      type: 'meter_features',
      maxMeter: u32(b, o + METER_FEATURES.maxMeter),
      bandTypes: u32(b, o + METER_FEATURES.bandTypes),
      capabilities: u32(b, o + METER_FEATURES.capabilities),
      maxBands: b[o + METER_FEATURES.maxBands],
      maxColor: b[o + METER_FEATURES.maxColor],
    },
};
