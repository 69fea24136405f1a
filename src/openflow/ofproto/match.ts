/*
 * OXM match -> flow-key rows: turns a controller's ofp_match (an ordered
 * Oxm[], oxm.ts) into a key row and a mask row over the flow-key layout
 * (src/flow/key.ts). Rules keep the controller's own match for stats and
 * flow-removed replies, so nothing here goes back from rows to a match (the
 * tests' reference decoder, test/helpers/match-rows.ts, does, to check the
 * placement).
 *
 * What
 *   matchToRows(match, key, kOff, mask, mOff) -> null | DecodeError
 *   compileMatch(match)                       -> fresh rows, or the error
 *
 * Field placement: each field's row in src/flow/fields.ts says where the key
 * carries it (Place.Bits: word, shift, bits; MacA/MacB: a MAC over two words;
 * U64/U128). Nothing here is per field.
 *
 * Fields the key does not carry
 *   Place.SameAsInPort (in_phy_port): we have no logical ports, so it always
 *     equals in_port. The match must give the same value as its in_port
 *     (validateMatch already requires in_port): it then adds nothing; a
 *     different value could never match and is refused with
 *     OFPBMC_BAD_VALUE.
 *   Place.None (no field today) -> OFPBMC_BAD_FIELD.
 *   Field bits above the key bits (no field has any today; ipv6_exthdr
 *     carries all 9 OFPIEH_* bits): the parser would never set them, so "=0"
 *     always holds and they are dropped from the mask; asking for 1 could
 *     never match -> OFPBMC_BAD_VALUE.
 *
 * Invariants
 * - A match accepted by matchToRows passed validateMatch (the codec's checks:
 *   DUP_FIELD, BAD_VALUE, BAD_MASK, BAD_WILDCARDS, BAD_PREREQ). OpenFlow
 *   requires prerequisites to be explicit in the match (tcp_dst needs
 *   eth_type 0x0800/0x86dd and ip_proto 6 present), so their mask bits are
 *   always set in the rows: fields sharing words (tcp vs udp ports, arp_op
 *   vs ttl/frag, arp_spa vs ipv4_src, arp_sha vs nd_sll) never alias.
 * - key = key & mask in every word written (a rule row is normalised).
 * - Written for one flow-key layout: pinned to MATCH_LAYOUT_VERSION.
 *
 * Slow path only (flow-mods, stats): may allocate.
 */

import { FLOW_KEY_LAYOUT_VERSION, KEY_WORDS } from '../../flow/key.js';
import { Place } from '../../flow/fields.js';
import { DecodeError } from '../codec/decode-error.js';
import { OFPBMC, OFPET } from '../codec/v13/enums.js';
import { OXM, OXM_FIELDS, type Oxm, validateMatch } from '../codec/v13/oxm.js';

/** The flow-key layout this module was written for (the OVS FLOW_WC_SEQ trick). */
export const MATCH_LAYOUT_VERSION = 1;
if (FLOW_KEY_LAYOUT_VERSION !== MATCH_LAYOUT_VERSION) {
  throw new Error(`openflow/match: written for flow-key layout ${MATCH_LAYOUT_VERSION}, key is ${FLOW_KEY_LAYOUT_VERSION}: revisit it`);
}

const TWO32 = 0x100000000;
const MAC_ALL = 0xffffffffffff;
const U64_ALL = (1n << 64n) - 1n;
const U128_ALL = (1n << 128n) - 1n;

function badValue(field: string, message: string): DecodeError {
  return new DecodeError(OFPET.BAD_MATCH, OFPBMC.BAD_VALUE, -1, `${field}: ${message}`);
}

/** Row writer: key and mask rows at fixed offsets. */
class RowWriter {
  constructor(
    readonly key: Uint32Array,
    readonly kOff: number,
    readonly mask: Uint32Array,
    readonly mOff: number,
  ) {}

  /** ORs `value` (under `bits`) into word `w` at `shift`. `bits` is the field mask, already shifted down. */
  bits(w: number, shift: number, value: number, bits: number): void {
    const m = (bits << shift) >>> 0;
    this.mask[this.mOff + w] |= m;
    this.key[this.kOff + w] |= (value << shift) & m;
  }

  word(w: number, value: number, mask: number): void {
    this.mask[this.mOff + w] |= mask;
    this.key[this.kOff + w] |= value & mask;
  }

  /** MAC A: word0 = bytes 0..3, word1 high half = bytes 4..5. */
  macA(w0: number, v: number, m: number): void {
    this.word(w0, Math.floor(v / 0x10000), Math.floor(m / 0x10000));
    this.bits(w0 + 1, 16, v % 0x10000, m % 0x10000);
  }

  /** MAC B: word0 low half = bytes 0..1, word1 = bytes 2..5. */
  macB(w0: number, v: number, m: number): void {
    this.bits(w0, 0, Math.floor(v / TWO32), Math.floor(m / TWO32));
    this.word(w0 + 1, v % TWO32, m % TWO32);
  }

  u64(w0: number, v: bigint, m: bigint): void {
    this.word(w0, Number(v >> 32n), Number(m >> 32n));
    this.word(w0 + 1, Number(v & 0xffffffffn), Number(m & 0xffffffffn));
  }

  u128(w0: number, v: bigint, m: bigint): void {
    for (let i = 0; i < 4; i++) {
      const s = BigInt(96 - 32 * i);
      this.word(w0 + i, Number((v >> s) & 0xffffffffn), Number((m >> s) & 0xffffffffn));
    }
  }
}

/**
 * Writes `match` as a key row at key[kOff..] and a mask row at mask[mOff..]
 * (both zeroed first). Returns null, or the OFPET_BAD_MATCH error to answer
 * with (the rows are then unspecified).
 */
export function matchToRows(match: readonly Oxm[], key: Uint32Array, kOff: number, mask: Uint32Array, mOff: number): DecodeError | null {
  const invalid = validateMatch(match);
  if (invalid) return invalid;
  key.fill(0, kOff, kOff + KEY_WORDS);
  mask.fill(0, mOff, mOff + KEY_WORDS);
  const r = new RowWriter(key, kOff, mask, mOff);
  let inPort = -1;
  for (const x of match) if (x.field === 'in_port') inPort = x.value;
  for (const x of match) {
    const def = OXM_FIELDS[OXM[x.field]];
    const p = def.key;
    switch (p.kind) {
      case Place.Bits: {
        const v = x.value as number;
        const m = (x.mask as number | undefined) ?? 2 ** def.bits - 1;
        // Field bits the key does not hold are never set by the parser: =1 there could never match.
        if ((v & m & ~p.bits) !== 0) {
          return badValue(def.name, `bits 0x${(v & m & ~p.bits).toString(16)} are never set by this switch's parser, so they could never match`);
        }
        r.bits(p.word, p.shift, v, (m & p.bits) >>> 0);
        break;
      }
      case Place.MacA: r.macA(p.word, x.value as number, (x.mask as number | undefined) ?? MAC_ALL); break;
      case Place.MacB: r.macB(p.word, x.value as number, (x.mask as number | undefined) ?? MAC_ALL); break;
      case Place.U64: r.u64(p.word, x.value as bigint, (x.mask as bigint | undefined) ?? U64_ALL); break;
      case Place.U128: r.u128(p.word, x.value as bigint, (x.mask as bigint | undefined) ?? U128_ALL); break;
      case Place.SameAsInPort:
        if (x.value !== inPort) return badValue(def.name, `${x.value} differs from in_port ${inPort}; this switch has no logical ports`);
        break;
      default:
        return new DecodeError(OFPET.BAD_MATCH, OFPBMC.BAD_FIELD, -1, `${def.name}: this switch does not parse it`);
    }
  }
  return null;
}

/** Convenience: a new key row and mask row for `match`, or the error. */
export function compileMatch(match: readonly Oxm[]): { key: Uint32Array; mask: Uint32Array } | DecodeError {
  const key = new Uint32Array(KEY_WORDS);
  const mask = new Uint32Array(KEY_WORDS);
  const err = matchToRows(match, key, 0, mask, 0);
  return err ?? { key, mask };
}
