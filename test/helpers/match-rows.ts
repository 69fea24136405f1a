/*
 * The tests' reference decoder for match rows: key/mask rows back to the
 * match they stand for (in OXM id order), and a rule-rows hit test. The
 * switch never needs rows -> match (rules keep the controller's own match);
 * the tests use it to check that matchToRows (src/openflow/ofproto/match.ts)
 * places every field of src/flow/fields.ts where its row says.
 *
 * Invariants
 * - matchFromRows(matchToRows(m)) equals m for a match in canonical form:
 *   fields in OXM id order, no all-ones masks (those come back unmasked), no
 *   all-zero masks (those come back absent), no in_phy_port.
 * - A field is decoded only when the fields already decoded meet its
 *   prerequisites (they have smaller ids), so fields sharing words never alias.
 */

import { KEY_WORDS } from '../../src/flow/key.js';
import { FIELDS, Place, prereqMet, type FieldDef } from '../../src/flow/fields.js';
import type { Match, Oxm, OxmFieldName } from '../../src/openflow/codec/v13/oxm.js';

const TWO32 = 0x100000000;
const MAC_ALL = 0xffffffffffff;
const U64_ALL = (1n << 64n) - 1n;
const U128_ALL = (1n << 128n) - 1n;

/** True when packet key row `keys[base..]` is matched by the rule rows (key & mask compare over every word). */
export function rowsMatch(keys: Uint32Array, base: number, key: Uint32Array, kOff: number, mask: Uint32Array, mOff: number): boolean {
  for (let w = 0; w < KEY_WORDS; w++) {
    if (((keys[base + w] & mask[mOff + w]) ^ key[kOff + w]) !== 0) return false;
  }
  return true;
}

/** Row reader for matchFromRows. */
class RowReader {
  readonly out: Match = [];
  /** Index in `out` of each field id decoded so far, or -1. */
  readonly at = new Int16Array(FIELDS.length).fill(-1);
  constructor(
    readonly key: Uint32Array,
    readonly kOff: number,
    readonly mask: Uint32Array,
    readonly mOff: number,
  ) {}

  k(w: number): number {
    return this.key[this.kOff + w];
  }

  m(w: number): number {
    return this.mask[this.mOff + w];
  }

  /** Do the fields decoded so far meet `def`'s prerequisites? */
  prereqsMet(def: FieldDef): boolean {
    for (const p of def.prereq) {
      const j = this.at[p.field];
      if (j < 0) return false;
      const y = this.out[j];
      if (!prereqMet(p, y.value as number, y.mask as number | undefined)) return false;
    }
    return true;
  }

  /** Emits `def` from the rows when any of its mask bits is set; without a mask when all are (or it is not maskable). */
  read(def: FieldDef): void {
    const p = def.key;
    switch (p.kind) {
      case Place.Bits: {
        const m = ((this.m(p.word) >>> p.shift) & p.bits) >>> 0;
        if (m === 0) return;
        this.push(def, ((this.k(p.word) >>> p.shift) & m) >>> 0, def.maskable && m !== p.bits ? m : undefined);
        return;
      }
      case Place.MacA:
        this.mac(def, this.k(p.word) * 0x10000 + (this.k(p.word + 1) >>> 16), this.m(p.word) * 0x10000 + (this.m(p.word + 1) >>> 16));
        return;
      case Place.MacB:
        this.mac(def, (this.k(p.word) & 0xffff) * TWO32 + this.k(p.word + 1), (this.m(p.word) & 0xffff) * TWO32 + this.m(p.word + 1));
        return;
      case Place.U64: this.big(def, p.word, 2); return;
      case Place.U128: this.big(def, p.word, 4); return;
      default: return; // not in the key
    }
  }

  private mac(def: FieldDef, v: number, m: number): void {
    if (m === 0) return;
    this.push(def, v, def.maskable && m !== MAC_ALL ? m : undefined);
  }

  private big(def: FieldDef, w0: number, words: number): void {
    let v = 0n, m = 0n;
    for (let i = 0; i < words; i++) {
      v = (v << 32n) | BigInt(this.k(w0 + i));
      m = (m << 32n) | BigInt(this.m(w0 + i));
    }
    if (m === 0n) return;
    const all = words === 2 ? U64_ALL : U128_ALL;
    this.push(def, v & m, def.maskable && m !== all ? m : undefined);
  }

  private push(def: FieldDef, value: number | bigint, mask: number | bigint | undefined): void {
    const field = def.name as OxmFieldName;
    this.at[def.id] = this.out.length;
    this.out.push((mask === undefined ? { field, value } : { field, value, mask }) as Oxm);
  }
}

/**
 * The match a key/mask row pair stands for, in OXM id order (canonical
 * form, see the module comment). Which field a shared word means is decided
 * by the prerequisites (masked eth_type, ip_proto, ...), which a valid match
 * always carries.
 */
export function matchFromRows(key: Uint32Array, kOff: number, mask: Uint32Array, mOff: number): Match {
  const r = new RowReader(key, kOff, mask, mOff);
  for (const def of FIELDS) if (r.prereqsMet(def)) r.read(def);
  return r.out;
}
