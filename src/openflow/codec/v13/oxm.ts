/*
 * OXM match fields (A.2.3.7) and ofp_match: every OF 1.3 OPENFLOW_BASIC
 * field, with masks, encoded and decoded side by side, plus a validator for
 * the checks the spec attaches to a whole match.
 *
 * Representation
 * - A match is an ordered list of `{ field, value, mask? }`: order is kept so
 *   a decoded match re-encodes to the same bytes. `mask` is present exactly
 *   when the OXM had its has-mask bit set.
 * - Values up to 48 bits (ports, MACs, IPv4 addresses, VLAN...) are numbers
 *   (a MAC is the 48-bit big-endian number, as in ports/port.ts); 64- and
 *   128-bit values (metadata, tunnel_id, IPv6 addresses) are bigints.
 *
 * Invariants
 * - OXM_FIELDS is indexed by the OXM field id; `bytes` is the value width on
 *   the wire, `bits` the significant bits the spec allows (vlan_vid 13, ...).
 *   It is the field table of src/flow/fields.ts (one row per field, with the
 *   prerequisites validateMatch checks): nothing here is per field.
 * - Decoding checks structure only: class, field, length, mask allowed.
 *   Values, duplicates and prerequisites are checked by validateMatch(),
 *   which the pipeline calls (a set-field target is validated differently).
 * - A match on the wire is padded to 8 bytes; the `length` field excludes
 *   the padding. matchSize() includes it.
 */

import { pad8, u128, u16, u24, u32, u48, u64, u8, w128, w16, w24, w32, w48, w64, w8 } from '../bytes.js';
import { MATCH, MATCH_HEADER_LEN, OXM_HEADER_LEN } from './consts.js';
import { DecodeError } from '../decode-error.js';
import { OFPBMC, OFPET, OFPMT, OFPXMC } from './enums.js';
import { FIELD_ID, FIELDS, OXM_CLASS_OPENFLOW_BASIC, prereqMet, type BigFieldName, type FieldDef, type FieldName } from '../../../flow/fields.js';

/** Every OF 1.3 OPENFLOW_BASIC field, indexed by OXM field id (OXM_OF_*): the rows of src/flow/fields.ts. */
export const OXM_FIELDS: readonly FieldDef[] = FIELDS;
if (OXM_CLASS_OPENFLOW_BASIC !== OFPXMC.OPENFLOW_BASIC) throw new Error('openflow/oxm: flow/fields disagrees on OFPXMC_OPENFLOW_BASIC');

/** Field ids by name (OXM_OF_*). */
export const OXM = FIELD_ID;

export type OxmFieldName = FieldName;
export type OxmBigField = BigFieldName;
export type OxmNumberField = Exclude<OxmFieldName, OxmBigField>;

export interface OxmNumber {
  field: OxmNumberField;
  value: number;
  mask?: number;
}
export interface OxmBig {
  field: OxmBigField;
  value: bigint;
  mask?: bigint;
}
/** One OXM TLV of class OPENFLOW_BASIC. */
export type Oxm = OxmNumber | OxmBig;
/** An ofp_match of type OXM: its fields in wire order. */
export type Match = Oxm[];

/** The 32-bit OXM header of an OPENFLOW_BASIC field (class, field, has-mask, length). */
export function oxmHeader(id: number, hasMask: boolean): number {
  const def = OXM_FIELDS[id];
  return ((def.oxmClass << 16) | (id << 9) | (hasMask ? 0x100 : 0) | (hasMask ? 2 * def.bytes : def.bytes)) >>> 0;
}

/** Why readOxm refused a TLV (callers map it to their error type). */
export const enum OxmFailure {
  /** The TLV (header or payload) runs past the end of its container. */
  Truncated = 1,
  /** Class is not OPENFLOW_BASIC, or the field id is unknown. */
  UnknownField = 2,
  /** The length does not match the field width (and the has-mask bit). */
  BadLength = 3,
  /** Has-mask on a field that is not maskable. */
  MaskNotAllowed = 4,
}

function readValue(b: Uint8Array, o: number, bytes: number): number | bigint {
  switch (bytes) {
    case 1: return u8(b, o);
    case 2: return u16(b, o);
    case 3: return u24(b, o);
    case 4: return u32(b, o);
    case 6: return u48(b, o);
    case 8: return u64(b, o);
    default: return u128(b, o);
  }
}

function writeValue(b: Uint8Array, o: number, bytes: number, v: number | bigint): void {
  switch (bytes) {
    case 1: w8(b, o, Number(v)); break;
    case 2: w16(b, o, Number(v)); break;
    case 3: w24(b, o, Number(v)); break;
    case 4: w32(b, o, Number(v)); break;
    case 6: w48(b, o, Number(v)); break;
    case 8: w64(b, o, BigInt(v)); break;
    default: w128(b, o, BigInt(v));
  }
}

/**
 * Reads one OXM TLV at `o` that must end by `limit`. Returns the field, or
 * an OxmFailure number (no allocation on failure).
 */
export function readOxm(b: Uint8Array, o: number, limit: number): Oxm | OxmFailure {
  if (o + OXM_HEADER_LEN > limit) return OxmFailure.Truncated;
  const cls = u16(b, o);
  const id = b[o + 2] >>> 1;
  const hasMask = (b[o + 2] & 1) === 1;
  const len = b[o + 3];
  if (o + OXM_HEADER_LEN + len > limit) return OxmFailure.Truncated;
  if (id >= OXM_FIELDS.length || cls !== OXM_FIELDS[id].oxmClass) return OxmFailure.UnknownField;
  const def = OXM_FIELDS[id];
  if (hasMask && !def.maskable) return OxmFailure.MaskNotAllowed;
  if (len !== (hasMask ? 2 * def.bytes : def.bytes)) return OxmFailure.BadLength;
  const v = o + OXM_HEADER_LEN;
  if (hasMask) {
    return { field: def.name, value: readValue(b, v, def.bytes), mask: readValue(b, v + def.bytes, def.bytes) } as Oxm;
  }
  return { field: def.name, value: readValue(b, v, def.bytes) } as Oxm;
}

function fieldDef(x: Oxm): FieldDef {
  const id = OXM[x.field];
  if (id === undefined) throw new TypeError(`openflow/oxm: unknown OXM field ${String(x.field)}`);
  return OXM_FIELDS[id];
}

/** Wire length of one OXM TLV, header included. */
export function oxmSize(x: Oxm): number {
  const def = fieldDef(x);
  return OXM_HEADER_LEN + (x.mask !== undefined ? 2 * def.bytes : def.bytes);
}

/** Writes one OXM TLV at `o`; returns the end offset. */
export function writeOxm(x: Oxm, b: Uint8Array, o: number): number {
  const def = fieldDef(x);
  const id = OXM[x.field];
  const hasMask = x.mask !== undefined;
  w32(b, o, oxmHeader(id, hasMask));
  writeValue(b, o + OXM_HEADER_LEN, def.bytes, x.value);
  if (hasMask) writeValue(b, o + OXM_HEADER_LEN + def.bytes, def.bytes, x.mask as number | bigint);
  return o + OXM_HEADER_LEN + (hasMask ? 2 * def.bytes : def.bytes);
}

function matchError(code: number, offset: number, message: string): DecodeError {
  return new DecodeError(OFPET.BAD_MATCH, code, offset, message);
}

/** Bytes an ofp_match at `off` takes on the wire, padding included (needs 4 readable bytes). */
export function matchWireSize(b: Uint8Array, off: number): number {
  return pad8(u16(b, off + MATCH.length));
}

/**
 * Decodes the ofp_match at `off`, which with its padding must end by `end`.
 * Errors: OFPET_BAD_MATCH with BAD_TYPE (not an OXM match), BAD_LEN (match or
 * TLV length), BAD_FIELD (unknown class/field), BAD_MASK (mask on a field
 * that has none).
 */
export function decodeMatch(b: Uint8Array, off: number, end: number): Match | DecodeError {
  if (off + MATCH.SIZE > end) return matchError(OFPBMC.BAD_LEN, off, 'match header truncated');
  const type = u16(b, off + MATCH.type);
  if (type !== OFPMT.OXM) return matchError(OFPBMC.BAD_TYPE, off + MATCH.type, `match type ${type} is not OXM`);
  const len = u16(b, off + MATCH.length);
  if (len < MATCH_HEADER_LEN) return matchError(OFPBMC.BAD_LEN, off + MATCH.length, `match length ${len} < 4`);
  if (off + pad8(len) > end) return matchError(OFPBMC.BAD_LEN, off + MATCH.length, `match length ${len} runs past its container`);
  const limit = off + len;
  const out: Match = [];
  for (let o = off + MATCH_HEADER_LEN; o < limit; ) {
    const x = readOxm(b, o, limit);
    if (typeof x === 'number') {
      switch (x) {
        case OxmFailure.UnknownField:
          return matchError(OFPBMC.BAD_FIELD, o, `OXM class 0x${u16(b, o).toString(16)} field ${b[o + 2] >>> 1} unknown`);
        case OxmFailure.MaskNotAllowed:
          return matchError(OFPBMC.BAD_MASK, o, `OXM field ${OXM_FIELDS[b[o + 2] >>> 1].name} is not maskable`);
        case OxmFailure.BadLength:
          return matchError(OFPBMC.BAD_LEN, o + 3, `OXM field ${OXM_FIELDS[b[o + 2] >>> 1].name} has length ${b[o + 3]}`);
        default:
          return matchError(OFPBMC.BAD_LEN, o, 'OXM runs past the match length');
      }
    }
    out.push(x);
    o += OXM_HEADER_LEN + b[o + 3];
  }
  return out;
}

/** Wire size of an ofp_match holding `m`, padding included. */
export function matchSize(m: readonly Oxm[]): number {
  let n = MATCH_HEADER_LEN;
  for (let i = 0; i < m.length; i++) n += oxmSize(m[i]);
  return pad8(n);
}

/** Writes an ofp_match (type OXM, length, TLVs, zero padding) at `off`; returns the end offset (padded). */
export function encodeMatch(m: readonly Oxm[], b: Uint8Array, off: number): number {
  let o = off + MATCH_HEADER_LEN;
  for (let i = 0; i < m.length; i++) o = writeOxm(m[i], b, o);
  w16(b, off + MATCH.type, OFPMT.OXM);
  w16(b, off + MATCH.length, o - off);
  const end = off + pad8(o - off);
  b.fill(0, o, end);
  return end;
}

function fits(v: number | bigint, bits: number): boolean {
  return typeof v === 'bigint' ? v >= 0n && v < 1n << BigInt(bits) : v >= 0 && Number.isInteger(v) && v < 2 ** bits;
}

function outsideMask(v: number | bigint, mask: number | bigint): boolean {
  if (typeof v === 'bigint') return (v & ~BigInt(mask)) !== 0n;
  // Numbers here are at most 48 bits: split to stay exact.
  const m = Number(mask);
  const hiV = Math.floor(v / 0x1000000), hiM = Math.floor(m / 0x1000000);
  return (hiV & ~hiM) !== 0 || (v % 0x1000000 & ~(m % 0x1000000)) !== 0;
}

/**
 * The checks the spec attaches to a whole match (7.2.3.6-8), in this order:
 * OFPBMC_DUP_FIELD (a field twice), OFPBMC_BAD_VALUE (value beyond the
 * field's bits, e.g. vlan_pcp 8), OFPBMC_BAD_MASK (mask beyond them),
 * OFPBMC_BAD_WILDCARDS (value bits set where the mask is 0),
 * OFPBMC_BAD_PREREQ (e.g. tcp_dst without ip_proto=6, ip_proto without
 * eth_type IPv4/IPv6, vlan_pcp without a present VLAN). Returns null when the
 * match is valid. The DecodeError has offset -1 and names the field.
 */
export function validateMatch(m: readonly Oxm[]): DecodeError | null {
  const at = new Int16Array(OXM_FIELDS.length).fill(-1);
  for (let i = 0; i < m.length; i++) {
    const x = m[i];
    const id = OXM[x.field];
    if (id === undefined) return new DecodeError(OFPET.BAD_MATCH, OFPBMC.BAD_FIELD, -1, `unknown field ${String(x.field)}`);
    if (at[id] >= 0) return new DecodeError(OFPET.BAD_MATCH, OFPBMC.DUP_FIELD, -1, `${x.field} appears twice`);
    at[id] = i;
    const def = OXM_FIELDS[id];
    if (!fits(x.value, def.bits)) return new DecodeError(OFPET.BAD_MATCH, OFPBMC.BAD_VALUE, -1, `${x.field} value out of range`);
    if (x.mask !== undefined) {
      if (!def.maskable) return new DecodeError(OFPET.BAD_MATCH, OFPBMC.BAD_MASK, -1, `${x.field} is not maskable`);
      if (!fits(x.mask, def.bits)) return new DecodeError(OFPET.BAD_MATCH, OFPBMC.BAD_MASK, -1, `${x.field} mask out of range`);
      if (outsideMask(x.value, x.mask)) {
        return new DecodeError(OFPET.BAD_MATCH, OFPBMC.BAD_WILDCARDS, -1, `${x.field} value has bits outside its mask`);
      }
    }
  }
  for (let i = 0; i < m.length; i++) {
    for (const p of OXM_FIELDS[OXM[m[i].field]].prereq) {
      const j = at[p.field];
      // Prerequisite fields (eth_type, ip_proto, icmpv6_type, vlan_vid, in_port) are numbers.
      if (j < 0 || !prereqMet(p, m[j].value as number, m[j].mask as number | undefined)) {
        return new DecodeError(OFPET.BAD_MATCH, OFPBMC.BAD_PREREQ, -1, `${m[i].field} lacks its prerequisite`);
      }
    }
  }
  return null;
}
