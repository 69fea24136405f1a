/*
 * The field table (src/flow/fields.ts) is consistent with itself and with
 * everything derived from it: one row per OXM id, widths and bits as the
 * codec encodes and validates them, every key-carried field round-tripping
 * through match rows, every settable field having a set-field path whose key
 * effect lands where the match placement reads it, and the table-features
 * lists. Written from the table, so a new row is covered without new cases.
 */

import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/openflow/codec/decode-error.js';
import { OFPBMC, OFPXMC } from '../../src/openflow/codec/v13/enums.js';
import {
  OXM, OXM_FIELDS, oxmHeader, oxmSize, readOxm, validateMatch, writeOxm, type Match, type Oxm, type OxmFieldName,
} from '../../src/openflow/codec/v13/oxm.js';
import { compileMatch } from '../../src/openflow/ofproto/match.js';
import { matchFromRows } from '../helpers/match-rows.js';
import { fieldWords } from '../../src/openflow/ofproto/compile.js';
import { tableFeaturesOf } from '../../src/openflow/ofproto/replies.js';
import { patchKey } from '../../src/datapath/rules/key-patch.js';
import { Op } from '../../src/datapath/rules/ops.js';
import {
  Fid, FIELD_COUNT, FIELDS, FIELDS_LAYOUT_VERSION, MATCHABLE_FIELDS, Place, requiredValue, SETTABLE_FIELDS, SetKind, type FieldDef,
} from '../../src/flow/fields.js';
import { FLOW_KEY_LAYOUT_VERSION, IPPROTO_ICMP, IPPROTO_ICMPV6, VLAN_PRESENT } from '../../src/flow/key.js';

const PATTERN_A = 0x5a5a5a5a5a5an;
const PATTERN_B = 0xa5c3a5c3a5c3a5c3a5c3a5c3a5c3a5c3n;
const MASK_PATTERN = 0xf0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0n;

/** The bits a value of `def` may use and the key can hold. */
function usable(def: FieldDef): bigint {
  const all = (1n << BigInt(def.bits)) - 1n;
  return def.key.kind === Place.Bits ? all & BigInt(def.key.bits) : all;
}

function oxmOf(def: FieldDef, value: bigint, mask?: bigint): Oxm {
  const big = def.bytes >= 8;
  const v = big ? value : Number(value);
  if (mask === undefined) return { field: def.name as OxmFieldName, value: v } as Oxm;
  return { field: def.name as OxmFieldName, value: v, mask: big ? mask : Number(mask) } as Oxm;
}

/** The fields `def`'s prerequisites need, as a match (the first allowed value of each). */
function prereqMatch(def: FieldDef): Match {
  return def.prereq.map((p) => {
    const pre = OXM_FIELDS[p.field];
    const value = p.bitsSet !== 0 ? p.bitsSet | 5 : p.values.length > 0 ? p.values[0] : 7;
    return { field: pre.name, value } as Oxm;
  });
}

const canonical = (m: Match): Match => [...m].sort((a, b) => OXM[a.field] - OXM[b.field]);

function rows(m: Match): { key: Uint32Array; mask: Uint32Array } {
  const r = compileMatch(m);
  if (r instanceof DecodeError) throw new Error(r.toString());
  return r;
}

describe('the field table', () => {
  it('has one row per OXM field id, in order, with the codec naming the same fields', () => {
    expect(FIELDS.length).toBe(FIELD_COUNT);
    expect(FIELD_COUNT).toBe(Fid.Ipv6Exthdr + 1);
    FIELDS.forEach((f, i) => {
      expect(f.id).toBe(i);
      expect(OXM[f.name]).toBe(i);
      expect(OXM_FIELDS[i]).toBe(f);
      expect(f.oxmClass).toBe(OFPXMC.OPENFLOW_BASIC);
    });
    expect(Object.keys(OXM)).toHaveLength(FIELD_COUNT);
    expect(FIELDS_LAYOUT_VERSION).toBe(FLOW_KEY_LAYOUT_VERSION);
  });

  it('declares prerequisites on earlier fields only, with a value to require', () => {
    for (const f of FIELDS) {
      for (const p of f.prereq) {
        expect(p.field, f.name).toBeLessThan(f.id);
        expect(p.bitsSet === 0 || p.values.length === 0, f.name).toBe(true);
      }
    }
  });

  it('gives widths and bits the codec encodes and validates', () => {
    const buf = new Uint8Array(64);
    for (const f of FIELDS) {
      const max = (1n << BigInt(f.bits)) - 1n;
      const x = oxmOf(f, max);
      expect(oxmSize(x), f.name).toBe(4 + f.bytes);
      expect(oxmHeader(f.id, false) & 0xff, f.name).toBe(f.bytes);
      const end = writeOxm(x, buf, 0);
      expect(end).toBe(4 + f.bytes);
      expect(readOxm(buf, 0, end), f.name).toEqual(x);
      expect(typeof (readOxm(buf, 0, end) as Oxm).value, f.name).toBe(f.bytes >= 8 ? 'bigint' : 'number');
      if (f.maskable) expect(oxmSize(oxmOf(f, 0n, max)), f.name).toBe(4 + 2 * f.bytes);
      // In a match with its prerequisites: the top value is valid, one more is BAD_VALUE.
      expect(validateMatch(canonical([...prereqMatch(f), x])), f.name).toBeNull();
      if (f.bits < 8 * f.bytes) {
        const over = validateMatch(canonical([...prereqMatch(f), oxmOf(f, max + 1n)]));
        expect(over?.code, f.name).toBe(OFPBMC.BAD_VALUE);
      }
    }
  });

  it('refuses each field without its prerequisites (OFPBMC_BAD_PREREQ)', () => {
    for (const f of FIELDS) {
      if (f.prereq.length === 0) continue;
      const pre = prereqMatch(f);
      for (let drop = 0; drop < pre.length; drop++) {
        const m = canonical([...pre.filter((_, i) => i !== drop), oxmOf(f, 0n)]);
        expect(validateMatch(m)?.code, `${f.name} without ${pre[drop].field}`).toBe(OFPBMC.BAD_PREREQ);
      }
    }
  });

  it('round-trips every key-carried field through match rows, exact and masked', () => {
    let carried = 0;
    for (const f of FIELDS) {
      if (f.key.kind === Place.None || f.key.kind === Place.SameAsInPort) continue;
      carried++;
      const bits = usable(f);
      const exact = canonical([...prereqMatch(f), oxmOf(f, PATTERN_A & bits)]);
      const r = rows(exact);
      expect(matchFromRows(r.key, 0, r.mask, 0), f.name).toEqual(exact);
      if (f.maskable) {
        const mask = MASK_PATTERN & bits;
        const masked = canonical([...prereqMatch(f), oxmOf(f, PATTERN_A & mask, mask)]);
        const rm = rows(masked);
        expect(matchFromRows(rm.key, 0, rm.mask, 0), f.name).toEqual(masked);
      }
    }
    expect(carried).toBe(MATCHABLE_FIELDS.size - 1); // all but in_phy_port, in_port's twin
  });

  it('gives every settable field a set-field path, whose key effect lands where the match reads the field', () => {
    for (const f of FIELDS) {
      expect(SETTABLE_FIELDS.has(f.id), f.name).toBe(f.set !== null);
      if (f.set === null) continue;
      expect(f.set.kind, f.name).not.toBe(SetKind.None);
      expect(f.key.kind, `${f.name} is settable, so the key must carry it`).not.toBe(Place.None);
      if (f.set.kind === SetKind.L4Port || f.set.kind === SetKind.Icmp) expect(requiredValue(f, Fid.IpProto), f.name).toBeGreaterThan(0);
      if (f.set.kind === SetKind.Icmp) expect([IPPROTO_ICMP, IPPROTO_ICMPV6]).toContain(requiredValue(f, Fid.IpProto));

      // A key where the field's header is present: its prerequisites (plus a VLAN tag for the TCI).
      const base = prereqMatch(f);
      if (f.set.kind === SetKind.VlanTci && !base.some((x) => x.field === 'vlan_vid')) base.push({ field: 'vlan_vid', value: VLAN_PRESENT | 1 });
      const key = rows(canonical(base)).key;
      let value = PATTERN_B & usable(f);
      if (f.id === Fid.VlanVid) value = BigInt(VLAN_PRESENT) | (value & 0xfffn);
      const set = oxmOf(f, value);
      const code = Int32Array.of(Op.SetField, f.id, ...fieldWords(set));
      const known = patchKey(code, 0, code.length, key, 0);
      if (f.set.kind === SetKind.Arp || f.set.kind === SetKind.NdOption) {
        expect(known, `${f.name}: the key cannot tell whether the header is there`).toBe(false);
        continue;
      }
      if (f.set.kind === SetKind.EthType || f.set.kind === SetKind.IpProto) {
        expect(base.some((x) => x.field === f.name && x.value === value), `${f.name}: the value must be a new one`).toBe(false);
        expect(known, `${f.name}: a new value changes how the bytes above it read; the frame is re-parsed`).toBe(false);
        continue;
      }
      expect(known, f.name).toBe(true);
      const expected = canonical([...base.filter((x) => x.field !== f.name), set]);
      const mask = rows(expected).mask;
      const masked = key.map((w, i) => w & mask[i]);
      expect(matchFromRows(masked, 0, mask, 0), f.name).toEqual(expected);
    }
  });

  it('announces the matchable and settable fields in table features', () => {
    const props = tableFeaturesOf(0, 2, 100).properties;
    const ids = (type: string) => {
      const p = props.find((x) => x.type === type) as { oxmIds: { field: number; hasMask: boolean; length: number }[] };
      return p.oxmIds;
    };
    expect(ids('match').map((x) => x.field)).toEqual([...MATCHABLE_FIELDS].sort((a, b) => a - b));
    for (const x of ids('match')) expect(x.length).toBe((x.hasMask ? 2 : 1) * FIELDS[x.field].bytes);
    const maskable = FIELDS.filter((f) => f.maskable && MATCHABLE_FIELDS.has(f.id)).map((f) => f.id);
    expect(ids('match').filter((x) => x.hasMask).map((x) => x.field)).toEqual(maskable);
    expect(ids('apply_setfield').map((x) => x.field)).toEqual([...SETTABLE_FIELDS].sort((a, b) => a - b));
  });
});
