/*
 * OFPT_METER_MOD (A.3.4.4) and the meter bands (drop, dscp_remark,
 * experimenter), which METER_CONFIG replies reuse.
 *
 * Errors: OFPBRC_BAD_LEN (message shorter than 16), OFPMMFC_BAD_COMMAND,
 * OFPMMFC_BAD_BAND (a band whose len is < 16, not a multiple of 8, past the
 * end, not 16 for drop/dscp_remark, or whose type is unknown). Rates, burst
 * and flags consistency are the pipeline's checks.
 */

import { pad8, u16, u32, w16, w32 } from '../../bytes.js';
import { METER_BAND_DSCP_REMARK, METER_BAND_EXPERIMENTER, METER_BAND_HEADER, METER_MOD } from '../consts.js';
import { DecodeError, expectMinLen } from '../../decode-error.js';
import { OFPET, OFPMBT, OFPMC, OFPMMFC, OFPT } from '../enums.js';
import { headerXid, writeHeader } from '../../header.js';
import type { MessageCodec } from '../message-codec.js';

export interface MeterBandDrop { type: 'drop'; rate: number; burstSize: number }
export interface MeterBandDscpRemark { type: 'dscp_remark'; rate: number; burstSize: number; precLevel: number }
/** `data` is everything after the experimenter id, padding included. */
export interface MeterBandExperimenter { type: 'experimenter'; rate: number; burstSize: number; experimenter: number; data: Uint8Array }
export type MeterBand = MeterBandDrop | MeterBandDscpRemark | MeterBandExperimenter;

function bandSize(band: MeterBand): number {
  return band.type === 'experimenter' ? pad8(METER_BAND_EXPERIMENTER.SIZE + band.data.length) : METER_BAND_HEADER.SIZE + 4;
}

export function bandsSize(list: readonly MeterBand[]): number {
  let n = 0;
  for (let i = 0; i < list.length; i++) n += bandSize(list[i]);
  return n;
}

export function encodeBands(list: readonly MeterBand[], b: Buffer, o: number): number {
  for (let i = 0; i < list.length; i++) {
    const band = list[i];
    const len = bandSize(band);
    b.fill(0, o, o + len);
    w16(b, o + METER_BAND_HEADER.type, band.type === 'drop' ? OFPMBT.DROP : band.type === 'dscp_remark' ? OFPMBT.DSCP_REMARK : OFPMBT.EXPERIMENTER);
    w16(b, o + METER_BAND_HEADER.len, len);
    w32(b, o + METER_BAND_HEADER.rate, band.rate);
    w32(b, o + METER_BAND_HEADER.burstSize, band.burstSize);
    if (band.type === 'dscp_remark') b[o + METER_BAND_DSCP_REMARK.precLevel] = band.precLevel;
    if (band.type === 'experimenter') {
      w32(b, o + METER_BAND_EXPERIMENTER.experimenter, band.experimenter);
      b.set(band.data, o + METER_BAND_EXPERIMENTER.SIZE);
    }
    o += len;
  }
  return o;
}

function badBand(offset: number, message: string): DecodeError {
  return new DecodeError(OFPET.METER_MOD_FAILED, OFPMMFC.BAD_BAND, offset, message);
}

/** Decodes the bands in [off, end); experimenter data are views into `b`. */
export function decodeBands(b: Buffer, off: number, end: number): MeterBand[] | DecodeError {
  const out: MeterBand[] = [];
  for (let o = off; o < end; ) {
    const len = o + 4 <= end ? u16(b, o + METER_BAND_HEADER.len) : 0;
    if (len < 16 || len % 8 !== 0 || o + len > end) return badBand(o + METER_BAND_HEADER.len, `meter band length ${len}`);
    const type = u16(b, o + METER_BAND_HEADER.type);
    const rate = u32(b, o + METER_BAND_HEADER.rate);
    const burstSize = u32(b, o + METER_BAND_HEADER.burstSize);
    switch (type) {
      case OFPMBT.DROP:
        if (len !== 16) return badBand(o + METER_BAND_HEADER.len, `drop band length ${len}`);
        out.push({ type: 'drop', rate, burstSize });
        break;
      case OFPMBT.DSCP_REMARK:
        if (len !== 16) return badBand(o + METER_BAND_HEADER.len, `dscp_remark band length ${len}`);
        out.push({ type: 'dscp_remark', rate, burstSize, precLevel: b[o + METER_BAND_DSCP_REMARK.precLevel] });
        break;
      case OFPMBT.EXPERIMENTER:
        out.push({
          type: 'experimenter',
          rate,
          burstSize,
          experimenter: u32(b, o + METER_BAND_EXPERIMENTER.experimenter),
          data: b.subarray(o + METER_BAND_EXPERIMENTER.SIZE, o + len),
        });
        break;
      default:
        return badBand(o + METER_BAND_HEADER.type, `unknown meter band type ${type}`);
    }
    o += len;
  }
  return out;
}

export interface MeterMod {
  type: 'meter_mod';
  xid: number;
  /** OFPMC_* */
  command: number;
  /** OFPMF_* */
  flags: number;
  meterId: number;
  bands: MeterBand[];
}

export function sizeMeterMod(m: MeterMod): number {
  return METER_MOD.SIZE + bandsSize(m.bands);
}

export function encodeMeterMod(m: MeterMod, b: Buffer, off: number): number {
  const len = sizeMeterMod(m);
  writeHeader(b, off, OFPT.METER_MOD, len, m.xid);
  w16(b, off + METER_MOD.command, m.command);
  w16(b, off + METER_MOD.flags, m.flags);
  w32(b, off + METER_MOD.meterId, m.meterId);
  encodeBands(m.bands, b, off + METER_MOD.SIZE);
  return off + len;
}

export function decodeMeterMod(b: Buffer, off: number, len: number): MeterMod | DecodeError {
  const short = expectMinLen(off, len, METER_MOD.SIZE, 'meter_mod');
  if (short) return short;
  const command = u16(b, off + METER_MOD.command);
  if (command > OFPMC.DELETE) {
    return new DecodeError(OFPET.METER_MOD_FAILED, OFPMMFC.BAD_COMMAND, off + METER_MOD.command, `meter_mod command ${command}`);
  }
  const bands = decodeBands(b, off + METER_MOD.SIZE, off + len);
  if (bands instanceof DecodeError) return bands;
  return {
    type: 'meter_mod',
    xid: headerXid(b, off),
    command,
    flags: u16(b, off + METER_MOD.flags),
    meterId: u32(b, off + METER_MOD.meterId),
    bands,
  };
}

export const meterModCodec: MessageCodec<MeterMod> = {
  name: 'meter_mod',
  wireType: OFPT.METER_MOD,
  size: sizeMeterMod,
  encode: encodeMeterMod,
  decode: decodeMeterMod,
};
