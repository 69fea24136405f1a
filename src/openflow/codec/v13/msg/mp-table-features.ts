/*
 * Multipart body TABLE_FEATURES (A.3.5.5): per-table capabilities as a list
 * of properties. A request with no entries queries; a request with entries
 * sets the tables' features. The reply lists the tables.
 *
 * Wire rules (OF 1.3.5, as OVS reads them)
 * - An entry is >= 64 bytes, its length a multiple of 8.
 * - A property is type, length (excluding padding), payload, zero padding to
 *   8 bytes.
 * - Instruction and action ids are 4-byte (type, len=4) TLVs packed with no
 *   padding between them; experimenter ids are 8 bytes (type 0xffff, len=8,
 *   experimenter id).
 * - OXM ids are 4-byte OXM headers; experimenter-class ids add a 4-byte
 *   experimenter id.
 * Errors: OFPET_TABLE_FEATURES_FAILED with BAD_LEN (any length that does not
 * add up) or BAD_TYPE (unknown property type).
 */

import { pad8, readString, u16, u32, u64, w16, w32, w64, writeString } from '../../bytes.js';
import { OFP_MAX_TABLE_NAME_LEN, TABLE_FEATURES, TABLE_FEATURE_PROP_EXPERIMENTER, TABLE_FEATURE_PROP_HEADER } from '../consts.js';
import { DecodeError } from '../../decode-error.js';
import { OFPET, OFPMP, OFPTFFC, OFPTFPT, OFPXMC } from '../enums.js';
import type { MpBodyCodec } from './mp-body.js';

/** An instruction or action id: its type; experimenter ids also carry the experimenter. */
export interface FeatureId {
  type: number;
  experimenter?: number;
}

/** An OXM id (an OXM header without payload). */
export interface OxmId {
  oxmClass: number;
  field: number;
  hasMask: boolean;
  /** Payload length the header announces. */
  length: number;
  /** Only for class OFPXMC_EXPERIMENTER. */
  experimenter?: number;
}

export type TableFeatureProp =
  | { type: 'instructions' | 'instructions_miss'; instructionIds: FeatureId[] }
  | { type: 'next_tables' | 'next_tables_miss'; tableIds: number[] }
  | { type: 'write_actions' | 'write_actions_miss' | 'apply_actions' | 'apply_actions_miss'; actionIds: FeatureId[] }
  | {
      type: 'match' | 'wildcards' | 'write_setfield' | 'write_setfield_miss' | 'apply_setfield' | 'apply_setfield_miss';
      oxmIds: OxmId[];
    }
  | { type: 'experimenter' | 'experimenter_miss'; experimenter: number; expType: number; data: Uint8Array };

export type TableFeaturePropType = TableFeatureProp['type'];

export interface TableFeatures {
  tableId: number;
  name: string;
  /** Bits of metadata the table can match. */
  metadataMatch: bigint;
  /** Bits of metadata the table can write. */
  metadataWrite: bigint;
  config: number;
  maxEntries: number;
  properties: TableFeatureProp[];
}

export interface TableFeaturesRequest { type: 'table_features'; entries: TableFeatures[] }
export interface TableFeaturesReply { type: 'table_features'; entries: TableFeatures[] }

const PROP_TYPE: Readonly<Record<TableFeaturePropType, number>> = {
  instructions: OFPTFPT.INSTRUCTIONS,
  instructions_miss: OFPTFPT.INSTRUCTIONS_MISS,
  next_tables: OFPTFPT.NEXT_TABLES,
  next_tables_miss: OFPTFPT.NEXT_TABLES_MISS,
  write_actions: OFPTFPT.WRITE_ACTIONS,
  write_actions_miss: OFPTFPT.WRITE_ACTIONS_MISS,
  apply_actions: OFPTFPT.APPLY_ACTIONS,
  apply_actions_miss: OFPTFPT.APPLY_ACTIONS_MISS,
  match: OFPTFPT.MATCH,
  wildcards: OFPTFPT.WILDCARDS,
  write_setfield: OFPTFPT.WRITE_SETFIELD,
  write_setfield_miss: OFPTFPT.WRITE_SETFIELD_MISS,
  apply_setfield: OFPTFPT.APPLY_SETFIELD,
  apply_setfield_miss: OFPTFPT.APPLY_SETFIELD_MISS,
  experimenter: OFPTFPT.EXPERIMENTER,
  experimenter_miss: OFPTFPT.EXPERIMENTER_MISS,
};
const PROP_NAME = new Map<number, TableFeaturePropType>(
  (Object.entries(PROP_TYPE) as [TableFeaturePropType, number][]).map(([k, v]) => [v, k]),
);

const EXPERIMENTER_ID_TYPE = 0xffff;

function tfError(code: number, offset: number, message: string): DecodeError {
  return new DecodeError(OFPET.TABLE_FEATURES_FAILED, code, offset, message);
}

function featureIdSize(id: FeatureId): number {
  return id.type === EXPERIMENTER_ID_TYPE ? 8 : 4;
}

function oxmIdSize(id: OxmId): number {
  return id.oxmClass === OFPXMC.EXPERIMENTER ? 8 : 4;
}

/** Property length without its padding. */
function propLength(p: TableFeatureProp): number {
  let n = TABLE_FEATURE_PROP_HEADER.SIZE;
  switch (p.type) {
    case 'instructions': case 'instructions_miss':
      for (const id of p.instructionIds) n += featureIdSize(id);
      return n;
    case 'next_tables': case 'next_tables_miss':
      return n + p.tableIds.length;
    case 'write_actions': case 'write_actions_miss': case 'apply_actions': case 'apply_actions_miss':
      for (const id of p.actionIds) n += featureIdSize(id);
      return n;
    case 'experimenter': case 'experimenter_miss':
      return TABLE_FEATURE_PROP_EXPERIMENTER.SIZE + p.data.length;
    default:
      for (const id of p.oxmIds) n += oxmIdSize(id);
      return n;
  }
}

function entrySize(e: TableFeatures): number {
  let n = TABLE_FEATURES.SIZE;
  for (const p of e.properties) n += pad8(propLength(p));
  return n;
}

function writeFeatureIds(ids: readonly FeatureId[], b: Buffer, o: number): number {
  for (const id of ids) {
    const len = featureIdSize(id);
    w16(b, o, id.type);
    w16(b, o + 2, len);
    if (len === 8) w32(b, o + 4, id.experimenter ?? 0);
    o += len;
  }
  return o;
}

function writeOxmIds(ids: readonly OxmId[], b: Buffer, o: number): number {
  for (const id of ids) {
    w16(b, o, id.oxmClass);
    b[o + 2] = (id.field << 1) | (id.hasMask ? 1 : 0);
    b[o + 3] = id.length;
    if (id.oxmClass === OFPXMC.EXPERIMENTER) w32(b, o + 4, id.experimenter ?? 0);
    o += oxmIdSize(id);
  }
  return o;
}

function encodeEntries(entries: readonly TableFeatures[], b: Buffer, o: number): number {
  for (const e of entries) {
    const len = entrySize(e);
    b.fill(0, o, o + len);
    w16(b, o + TABLE_FEATURES.length, len);
    b[o + TABLE_FEATURES.tableId] = e.tableId;
    writeString(b, o + TABLE_FEATURES.name, OFP_MAX_TABLE_NAME_LEN, e.name);
    w64(b, o + TABLE_FEATURES.metadataMatch, e.metadataMatch);
    w64(b, o + TABLE_FEATURES.metadataWrite, e.metadataWrite);
    w32(b, o + TABLE_FEATURES.config, e.config);
    w32(b, o + TABLE_FEATURES.maxEntries, e.maxEntries);
    let p = o + TABLE_FEATURES.SIZE;
    for (const prop of e.properties) {
      const plen = propLength(prop);
      w16(b, p + TABLE_FEATURE_PROP_HEADER.type, PROP_TYPE[prop.type]);
      w16(b, p + TABLE_FEATURE_PROP_HEADER.length, plen);
      const q = p + TABLE_FEATURE_PROP_HEADER.SIZE;
      switch (prop.type) {
        case 'instructions': case 'instructions_miss': writeFeatureIds(prop.instructionIds, b, q); break;
        case 'next_tables': case 'next_tables_miss': b.set(prop.tableIds, q); break;
        case 'write_actions': case 'write_actions_miss': case 'apply_actions': case 'apply_actions_miss':
          writeFeatureIds(prop.actionIds, b, q);
          break;
        case 'experimenter': case 'experimenter_miss':
          w32(b, p + TABLE_FEATURE_PROP_EXPERIMENTER.experimenter, prop.experimenter);
          w32(b, p + TABLE_FEATURE_PROP_EXPERIMENTER.expType, prop.expType);
          b.set(prop.data, p + TABLE_FEATURE_PROP_EXPERIMENTER.SIZE);
          break;
        default: writeOxmIds(prop.oxmIds, b, q);
      }
      p += pad8(plen);
    }
    o += len;
  }
  return o;
}

function readFeatureIds(b: Buffer, o: number, end: number): FeatureId[] | DecodeError {
  const out: FeatureId[] = [];
  while (o < end) {
    if (o + 4 > end) return tfError(OFPTFFC.BAD_LEN, o, 'id truncated');
    const type = u16(b, o);
    const len = u16(b, o + 2);
    const want = type === EXPERIMENTER_ID_TYPE ? 8 : 4;
    if (len !== want || o + len > end) return tfError(OFPTFFC.BAD_LEN, o + 2, `id of type ${type} has length ${len}`);
    out.push(type === EXPERIMENTER_ID_TYPE ? { type, experimenter: u32(b, o + 4) } : { type });
    o += len;
  }
  return out;
}

function readOxmIds(b: Buffer, o: number, end: number): OxmId[] | DecodeError {
  const out: OxmId[] = [];
  while (o < end) {
    if (o + 4 > end) return tfError(OFPTFFC.BAD_LEN, o, 'OXM id truncated');
    const oxmClass = u16(b, o);
    const id: OxmId = { oxmClass, field: b[o + 2] >>> 1, hasMask: (b[o + 2] & 1) === 1, length: b[o + 3] };
    if (oxmClass === OFPXMC.EXPERIMENTER) {
      if (o + 8 > end) return tfError(OFPTFFC.BAD_LEN, o, 'experimenter OXM id truncated');
      id.experimenter = u32(b, o + 4);
      o += 8;
    } else {
      o += 4;
    }
    out.push(id);
  }
  return out;
}

function decodeProp(b: Buffer, p: number, plen: number, type: number): TableFeatureProp | DecodeError {
  const name = PROP_NAME.get(type);
  const q = p + TABLE_FEATURE_PROP_HEADER.SIZE;
  const end = p + plen;
  switch (name) {
    case undefined:
      return tfError(OFPTFFC.BAD_TYPE, p, `unknown table feature property ${type}`);
    case 'instructions': case 'instructions_miss': {
      const instructionIds = readFeatureIds(b, q, end);
      return instructionIds instanceof DecodeError ? instructionIds : { type: name, instructionIds };
    }
    case 'next_tables': case 'next_tables_miss':
      return { type: name, tableIds: Array.from(b.subarray(q, end)) };
    case 'write_actions': case 'write_actions_miss': case 'apply_actions': case 'apply_actions_miss': {
      const actionIds = readFeatureIds(b, q, end);
      return actionIds instanceof DecodeError ? actionIds : { type: name, actionIds };
    }
    case 'experimenter': case 'experimenter_miss':
      if (plen < TABLE_FEATURE_PROP_EXPERIMENTER.SIZE) return tfError(OFPTFFC.BAD_LEN, p + 2, `experimenter property length ${plen}`);
      return {
        type: name,
        experimenter: u32(b, p + TABLE_FEATURE_PROP_EXPERIMENTER.experimenter),
        expType: u32(b, p + TABLE_FEATURE_PROP_EXPERIMENTER.expType),
        data: b.subarray(p + TABLE_FEATURE_PROP_EXPERIMENTER.SIZE, end),
      };
    default: {
      const oxmIds = readOxmIds(b, q, end);
      return oxmIds instanceof DecodeError ? oxmIds : { type: name, oxmIds };
    }
  }
}

function decodeEntries(b: Buffer, o: number, end: number): TableFeatures[] | DecodeError {
  const entries: TableFeatures[] = [];
  while (o < end) {
    const len = end - o >= 2 ? u16(b, o + TABLE_FEATURES.length) : 0;
    if (len < TABLE_FEATURES.SIZE || len % 8 !== 0 || o + len > end) return tfError(OFPTFFC.BAD_LEN, o, `table features entry length ${len}`);
    const properties: TableFeatureProp[] = [];
    for (let p = o + TABLE_FEATURES.SIZE; p < o + len; ) {
      if (p + TABLE_FEATURE_PROP_HEADER.SIZE > o + len) return tfError(OFPTFFC.BAD_LEN, p, 'property header truncated');
      const type = u16(b, p + TABLE_FEATURE_PROP_HEADER.type);
      const plen = u16(b, p + TABLE_FEATURE_PROP_HEADER.length);
      if (plen < TABLE_FEATURE_PROP_HEADER.SIZE || p + pad8(plen) > o + len) return tfError(OFPTFFC.BAD_LEN, p + 2, `property length ${plen}`);
      const prop = decodeProp(b, p, plen, type);
      if (prop instanceof DecodeError) return prop;
      properties.push(prop);
      p += pad8(plen);
    }
    entries.push({
      tableId: b[o + TABLE_FEATURES.tableId],
      name: readString(b, o + TABLE_FEATURES.name, OFP_MAX_TABLE_NAME_LEN),
      metadataMatch: u64(b, o + TABLE_FEATURES.metadataMatch),
      metadataWrite: u64(b, o + TABLE_FEATURES.metadataWrite),
      config: u32(b, o + TABLE_FEATURES.config),
      maxEntries: u32(b, o + TABLE_FEATURES.maxEntries),
      properties,
    });
    o += len;
  }
  return entries;
}

function entriesSize(entries: readonly TableFeatures[]): number {
  let n = 0;
  for (const e of entries) n += entrySize(e);
  return n;
}

export const tableFeaturesBody: MpBodyCodec<TableFeaturesRequest, TableFeaturesReply> = {
  mpType: OFPMP.TABLE_FEATURES,
  name: 'table_features',
  requestSize: (q) => entriesSize(q.entries),
  encodeRequest: (q, b, o) => encodeEntries(q.entries, b, o),
  decodeRequest: (b, o, end) => {
    const entries = decodeEntries(b, o, end);
    return entries instanceof DecodeError ? entries : { type: 'table_features', entries };
  },
  replySize: (r) => entriesSize(r.entries),
  encodeReply: (r, b, o) => encodeEntries(r.entries, b, o),
  decodeReply: (b, o, end) => {
    const entries = decodeEntries(b, o, end);
    return entries instanceof DecodeError ? entries : { type: 'table_features', entries };
  },
};
