/*
 * OXM match <-> flow-key rows: turns a controller's ofp_match (an ordered
 * Oxm[], oxm.ts) into a key row and a mask row over the datapath's flow-key
 * layout (src/datapath/flow-key.ts), and back, for flow stats and
 * flow-removed replies.
 *
 * What
 *   matchToRows(match, key, kOff, mask, mOff) -> null | DecodeError
 *   matchFromRows(key, kOff, mask, mOff)      -> Match (canonical order)
 *   rowsMatch(keys, base, key, mask)          -> does a packet key hit a rule
 *
 * Field placement (words of K, bits within them; see flow-key.ts):
 *   in_port            InPort (32)            metadata / tunnel_id   Hi/Lo pairs (64)
 *   eth_dst, arp_sha,  "MAC A": word0 = bytes 0..3, word1 bits 16..31 = bytes 4..5
 *   ipv6_nd_sll        (EthDstHi+EthDstLoSrcHi, ArpShaHi+ArpShaLoThaHi)
 *   eth_src, arp_tha,  "MAC B": word0 bits 0..15 = bytes 0..1, word1 = bytes 2..5
 *   ipv6_nd_tll        (EthDstLoSrcHi+EthSrcLo, ArpShaLoThaHi+ArpThaLo)
 *   eth_type           EthTypeVlan 16..31     vlan_vid (13 bits, OFPVID_PRESENT = bit 12) 0..12
 *   vlan_pcp           EthTypeVlan 13..15     ip_proto / dscp / ecn  IpProtoTosTtlFrag 24..31 / 18..23 / 16..17
 *   arp_op             IpProtoTosTtlFrag 0..15
 *   ipv4_src, arp_spa  IpSrc0                 ipv4_dst, arp_tpa      IpDst0
 *   ipv6_src / _dst    IpSrc0..3 / IpDst0..3  ipv6_nd_target         NdTarget0..3
 *   ipv6_flabel        Ipv6LabelExt 0..19     ipv6_exthdr            Ipv6LabelExt 24..31 (OFPIEH bits 0..7)
 *   tcp/udp/sctp src   TpSrcDst 16..31        ... dst                TpSrcDst 0..15
 *   icmpv4/v6 type     TpSrcDst 16..23        ... code               TpSrcDst 0..7
 *   mpls_label/tc/bos  MplsLse 12..31 / 9..11 / 8
 *
 * Fields the key does not carry
 *   in_phy_port: we have no logical ports, so it always equals in_port. The
 *     match must give the same value as its in_port (validateMatch already
 *     requires in_port): it then adds nothing; a different value could never
 *     match and is refused with OFPBMC_BAD_VALUE. It does not come back from
 *     matchFromRows.
 *   pbb_isid: no PBB parsing -> OFPBMC_BAD_FIELD.
 *   ipv6_exthdr OFPIEH_UNSEQ (bit 8): the parser never sets it, so "UNSEQ=0"
 *     always holds and the bit is dropped from the mask; asking for UNSEQ=1
 *     could never match -> OFPBMC_BAD_VALUE. matchFromRows reports a fully
 *     masked exthdr byte as an unmasked field.
 *
 * Invariants
 * - A match accepted by matchToRows passed validateMatch (the codec's checks:
 *   DUP_FIELD, BAD_VALUE, BAD_MASK, BAD_WILDCARDS, BAD_PREREQ). OpenFlow
 *   requires prerequisites to be explicit in the match (tcp_dst needs
 *   eth_type 0x0800/0x86dd and ip_proto 6 present), so their mask bits are
 *   always set in the rows: fields sharing words (tcp vs udp ports, arp_op
 *   vs ttl/frag, arp_spa vs ipv4_src, arp_sha vs nd_sll) never alias.
 * - key = key & mask in every word written (a rule row is normalised).
 * - matchFromRows(matchToRows(m)) equals m for a match in canonical form:
 *   fields in OXM id order, no all-ones masks (those come back unmasked), no
 *   all-zero masks (those come back absent), no in_phy_port. Everything else
 *   is equivalent but not identical, so flow entries also keep the
 *   controller's own Match for stats replies.
 * - Walks every field of the flow key: pinned to MATCH_LAYOUT_VERSION.
 *
 * Slow path only (flow-mods, stats): may allocate.
 */

import { FLOW_KEY_LAYOUT_VERSION, K, KEY_WORDS } from '../../flow/key.js';
import { DecodeError } from '../codec/decode-error.js';
import { OFPBMC, OFPET, OFPIEH } from '../codec/v13/enums.js';
import { type Match, type Oxm, type OxmFieldName, validateMatch } from '../codec/v13/oxm.js';

/** The flow-key layout this module was written for (the OVS FLOW_WC_SEQ trick). */
export const MATCH_LAYOUT_VERSION = 1;
if (FLOW_KEY_LAYOUT_VERSION !== MATCH_LAYOUT_VERSION) {
  throw new Error(`openflow/match: written for flow-key layout ${MATCH_LAYOUT_VERSION}, key is ${FLOW_KEY_LAYOUT_VERSION}: revisit it`);
}

const ETH_IPV4 = 0x0800;
const ETH_ARP = 0x0806;
const ETH_IPV6 = 0x86dd;
const ETH_MPLS = 0x8847;
const ETH_MPLS_MC = 0x8848;
const PROTO_ICMP = 1;
const PROTO_TCP = 6;
const PROTO_UDP = 17;
const PROTO_ICMPV6 = 58;
const PROTO_SCTP = 132;

const TWO32 = 0x100000000;
const MAC_ALL = 0xffffffffffff;
const U64_ALL = (1n << 64n) - 1n;
const U128_ALL = (1n << 128n) - 1n;

/** Bits of each sub-word field (shift and width), shared by both directions. */
const ETH_TYPE_SHIFT = 16;
const VLAN_VID_BITS = 0x1fff; // VID + OFPVID_PRESENT, in OpenFlow form
const VLAN_PCP_SHIFT = 13;
const PROTO_SHIFT = 24;
const DSCP_SHIFT = 18;
const ECN_SHIFT = 16;
const TP_SRC_SHIFT = 16;
const FLABEL_BITS = 0xfffff;
const EXTHDR_SHIFT = 24;
const EXTHDR_KEY_BITS = 0xff;
const MPLS_LABEL_SHIFT = 12;
const MPLS_TC_SHIFT = 9;
const MPLS_BOS_SHIFT = 8;

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
  macA(w0: number, w1: number, v: number, m: number): void {
    this.word(w0, Math.floor(v / 0x10000), Math.floor(m / 0x10000));
    this.bits(w1, 16, v % 0x10000, m % 0x10000);
  }

  /** MAC B: word0 low half = bytes 0..1, word1 = bytes 2..5. */
  macB(w0: number, w1: number, v: number, m: number): void {
    this.bits(w0, 0, Math.floor(v / TWO32), Math.floor(m / TWO32));
    this.word(w1, v % TWO32, m % TWO32);
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
    if (typeof x.value === 'bigint') {
      const v = x.value;
      switch (x.field) {
        case 'metadata': r.u64(K.MetadataHi, v, (x.mask as bigint | undefined) ?? U64_ALL); break;
        case 'tunnel_id': r.u64(K.TunnelHi, v, (x.mask as bigint | undefined) ?? U64_ALL); break;
        case 'ipv6_src': r.u128(K.IpSrc0, v, (x.mask as bigint | undefined) ?? U128_ALL); break;
        case 'ipv6_dst': r.u128(K.IpDst0, v, (x.mask as bigint | undefined) ?? U128_ALL); break;
        case 'ipv6_nd_target': r.u128(K.NdTarget0, v, U128_ALL); break;
      }
      continue;
    }
    const v = x.value;
    const m = x.mask as number | undefined;
    switch (x.field) {
      case 'in_port': r.word(K.InPort, v, 0xffffffff); break;
      case 'in_phy_port':
        if (v !== inPort) return badValue('in_phy_port', `${v} differs from in_port ${inPort}; this switch has no logical ports`);
        break;
      case 'eth_dst': r.macA(K.EthDstHi, K.EthDstLoSrcHi, v, m ?? MAC_ALL); break;
      case 'eth_src': r.macB(K.EthDstLoSrcHi, K.EthSrcLo, v, m ?? MAC_ALL); break;
      case 'eth_type': r.bits(K.EthTypeVlan, ETH_TYPE_SHIFT, v, 0xffff); break;
      case 'vlan_vid': r.bits(K.EthTypeVlan, 0, v, (m ?? VLAN_VID_BITS) & VLAN_VID_BITS); break;
      case 'vlan_pcp': r.bits(K.EthTypeVlan, VLAN_PCP_SHIFT, v, 0x7); break;
      case 'ip_dscp': r.bits(K.IpProtoTosTtlFrag, DSCP_SHIFT, v, 0x3f); break;
      case 'ip_ecn': r.bits(K.IpProtoTosTtlFrag, ECN_SHIFT, v, 0x3); break;
      case 'ip_proto': r.bits(K.IpProtoTosTtlFrag, PROTO_SHIFT, v, 0xff); break;
      case 'ipv4_src': case 'arp_spa': r.word(K.IpSrc0, v, m ?? 0xffffffff); break;
      case 'ipv4_dst': case 'arp_tpa': r.word(K.IpDst0, v, m ?? 0xffffffff); break;
      case 'tcp_src': case 'udp_src': case 'sctp_src': r.bits(K.TpSrcDst, TP_SRC_SHIFT, v, 0xffff); break;
      case 'tcp_dst': case 'udp_dst': case 'sctp_dst': r.bits(K.TpSrcDst, 0, v, 0xffff); break;
      case 'icmpv4_type': case 'icmpv6_type': r.bits(K.TpSrcDst, TP_SRC_SHIFT, v, 0xff); break;
      case 'icmpv4_code': case 'icmpv6_code': r.bits(K.TpSrcDst, 0, v, 0xff); break;
      case 'arp_op': r.bits(K.IpProtoTosTtlFrag, 0, v, 0xffff); break;
      case 'arp_sha': case 'ipv6_nd_sll': r.macA(K.ArpShaHi, K.ArpShaLoThaHi, v, m ?? MAC_ALL); break;
      case 'arp_tha': case 'ipv6_nd_tll': r.macB(K.ArpShaLoThaHi, K.ArpThaLo, v, m ?? MAC_ALL); break;
      case 'ipv6_flabel': r.bits(K.Ipv6LabelExt, 0, v, (m ?? FLABEL_BITS) & FLABEL_BITS); break;
      case 'mpls_label': r.bits(K.MplsLse, MPLS_LABEL_SHIFT, v, 0xfffff); break;
      case 'mpls_tc': r.bits(K.MplsLse, MPLS_TC_SHIFT, v, 0x7); break;
      case 'mpls_bos': r.bits(K.MplsLse, MPLS_BOS_SHIFT, v, 0x1); break;
      case 'ipv6_exthdr': {
        const full = m ?? 0x1ff;
        if ((full & OFPIEH.UNSEQ) !== 0 && (v & OFPIEH.UNSEQ) !== 0) {
          return badValue('ipv6_exthdr', 'OFPIEH_UNSEQ is never detected by this switch, so =1 could never match');
        }
        r.bits(K.Ipv6LabelExt, EXTHDR_SHIFT, v & EXTHDR_KEY_BITS, full & EXTHDR_KEY_BITS);
        break;
      }
      case 'pbb_isid':
        return new DecodeError(OFPET.BAD_MATCH, OFPBMC.BAD_FIELD, -1, 'pbb_isid: this switch does not parse PBB');
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

  /** A sub-word field: emitted when any of its mask bits is set; without a mask when all are. */
  bits(field: OxmFieldName, w: number, shift: number, bits: number, maskable: boolean): void {
    const m = (this.m(w) >>> shift) & bits;
    if (m === 0) return;
    const v = (this.k(w) >>> shift) & m;
    this.push(field, v, maskable && m !== bits ? m : undefined);
  }

  word(field: OxmFieldName, w: number): void {
    const m = this.m(w);
    if (m === 0) return;
    this.push(field, (this.k(w) & m) >>> 0, m !== 0xffffffff ? m : undefined);
  }

  macA(field: OxmFieldName, w0: number, w1: number): void {
    this.mac(field, this.k(w0) * 0x10000 + (this.k(w1) >>> 16), this.m(w0) * 0x10000 + (this.m(w1) >>> 16));
  }

  macB(field: OxmFieldName, w0: number, w1: number): void {
    this.mac(field, (this.k(w0) & 0xffff) * TWO32 + this.k(w1), (this.m(w0) & 0xffff) * TWO32 + this.m(w1));
  }

  private mac(field: OxmFieldName, v: number, m: number): void {
    if (m === 0) return;
    this.push(field, v, m !== MAC_ALL ? m : undefined);
  }

  big(field: OxmFieldName, w0: number, words: number, maskable: boolean): void {
    let v = 0n, m = 0n;
    for (let i = 0; i < words; i++) {
      v = (v << 32n) | BigInt(this.k(w0 + i));
      m = (m << 32n) | BigInt(this.m(w0 + i));
    }
    if (m === 0n) return;
    const all = words === 2 ? U64_ALL : U128_ALL;
    this.push(field, v & m, maskable && m !== all ? m : undefined);
  }

  push(field: OxmFieldName, value: number | bigint, mask: number | bigint | undefined): void {
    const x = (mask === undefined ? { field, value } : { field, value, mask }) as Oxm;
    this.out.push(x);
  }
}

/**
 * The match a key/mask row pair stands for, in OXM id order (canonical
 * form, see the module comment). Which field a shared word means is decided
 * by the masked eth_type and ip_proto, which a valid match always carries.
 */
export function matchFromRows(key: Uint32Array, kOff: number, mask: Uint32Array, mOff: number): Match {
  const r = new RowReader(key, kOff, mask, mOff);
  const typeKnown = (r.m(K.EthTypeVlan) >>> ETH_TYPE_SHIFT) === 0xffff;
  const ethType = typeKnown ? r.k(K.EthTypeVlan) >>> ETH_TYPE_SHIFT : -1;
  const protoKnown = (r.m(K.IpProtoTosTtlFrag) >>> PROTO_SHIFT) === 0xff;
  const proto = protoKnown ? r.k(K.IpProtoTosTtlFrag) >>> PROTO_SHIFT : -1;
  const ip = ethType === ETH_IPV4 || ethType === ETH_IPV6;

  r.word('in_port', K.InPort);
  r.big('metadata', K.MetadataHi, 2, true);
  r.macA('eth_dst', K.EthDstHi, K.EthDstLoSrcHi);
  r.macB('eth_src', K.EthDstLoSrcHi, K.EthSrcLo);
  r.bits('eth_type', K.EthTypeVlan, ETH_TYPE_SHIFT, 0xffff, false);
  r.bits('vlan_vid', K.EthTypeVlan, 0, VLAN_VID_BITS, true);
  r.bits('vlan_pcp', K.EthTypeVlan, VLAN_PCP_SHIFT, 0x7, false);
  if (ip) {
    r.bits('ip_dscp', K.IpProtoTosTtlFrag, DSCP_SHIFT, 0x3f, false);
    r.bits('ip_ecn', K.IpProtoTosTtlFrag, ECN_SHIFT, 0x3, false);
    r.bits('ip_proto', K.IpProtoTosTtlFrag, PROTO_SHIFT, 0xff, false);
  }
  if (ethType === ETH_IPV4) {
    r.word('ipv4_src', K.IpSrc0);
    r.word('ipv4_dst', K.IpDst0);
  }
  if (ip) {
    switch (proto) {
      case PROTO_TCP:
        r.bits('tcp_src', K.TpSrcDst, TP_SRC_SHIFT, 0xffff, false);
        r.bits('tcp_dst', K.TpSrcDst, 0, 0xffff, false);
        break;
      case PROTO_UDP:
        r.bits('udp_src', K.TpSrcDst, TP_SRC_SHIFT, 0xffff, false);
        r.bits('udp_dst', K.TpSrcDst, 0, 0xffff, false);
        break;
      case PROTO_SCTP:
        r.bits('sctp_src', K.TpSrcDst, TP_SRC_SHIFT, 0xffff, false);
        r.bits('sctp_dst', K.TpSrcDst, 0, 0xffff, false);
        break;
      case PROTO_ICMP:
        if (ethType === ETH_IPV4) {
          r.bits('icmpv4_type', K.TpSrcDst, TP_SRC_SHIFT, 0xff, false);
          r.bits('icmpv4_code', K.TpSrcDst, 0, 0xff, false);
        }
        break;
    }
  }
  if (ethType === ETH_ARP) {
    r.bits('arp_op', K.IpProtoTosTtlFrag, 0, 0xffff, false);
    r.word('arp_spa', K.IpSrc0);
    r.word('arp_tpa', K.IpDst0);
    r.macA('arp_sha', K.ArpShaHi, K.ArpShaLoThaHi);
    r.macB('arp_tha', K.ArpShaLoThaHi, K.ArpThaLo);
  }
  if (ethType === ETH_IPV6) {
    r.big('ipv6_src', K.IpSrc0, 4, true);
    r.big('ipv6_dst', K.IpDst0, 4, true);
    r.bits('ipv6_flabel', K.Ipv6LabelExt, 0, FLABEL_BITS, true);
    if (proto === PROTO_ICMPV6) {
      r.bits('icmpv6_type', K.TpSrcDst, TP_SRC_SHIFT, 0xff, false);
      r.bits('icmpv6_code', K.TpSrcDst, 0, 0xff, false);
      r.big('ipv6_nd_target', K.NdTarget0, 4, false);
      r.macA('ipv6_nd_sll', K.ArpShaHi, K.ArpShaLoThaHi);
      r.macB('ipv6_nd_tll', K.ArpShaLoThaHi, K.ArpThaLo);
    }
  }
  if (ethType === ETH_MPLS || ethType === ETH_MPLS_MC) {
    r.bits('mpls_label', K.MplsLse, MPLS_LABEL_SHIFT, 0xfffff, false);
    r.bits('mpls_tc', K.MplsLse, MPLS_TC_SHIFT, 0x7, false);
    r.bits('mpls_bos', K.MplsLse, MPLS_BOS_SHIFT, 0x1, false);
  }
  r.big('tunnel_id', K.TunnelHi, 2, true);
  if (ethType === ETH_IPV6) {
    // Stored mask 0xff is the whole field as far as this switch can tell (UNSEQ is never set): report it unmasked.
    const m = (r.m(K.Ipv6LabelExt) >>> EXTHDR_SHIFT) & EXTHDR_KEY_BITS;
    if (m !== 0) r.push('ipv6_exthdr', (r.k(K.Ipv6LabelExt) >>> EXTHDR_SHIFT) & m, m === EXTHDR_KEY_BITS ? undefined : m);
  }
  return r.out;
}
