/*
 * The match fields, declared once: FIELDS has one row per OpenFlow 1.3 OXM
 * field of class OPENFLOW_BASIC, in field-number order. Whatever else knows
 * about a field derives from its row, so a new field is a new row (see
 * docs/ADD-A-MATCH-FIELD.md).
 *
 * A row
 *   id, name      OXM field number (= the datapath's field id, Fid) and name
 *   oxmClass      OPENFLOW_BASIC (0x8000) for all of them
 *   bytes, bits   value width on the wire; significant bits (vlan_vid 13, ...)
 *   maskable      the OXM may carry a mask
 *   prereq        OF 1.3 tables 11/12, spelled out in full (tcp_src names
 *                 eth_type and ip_proto): every entry names a field with a
 *                 smaller id that must be in the match with one of `values`
 *                 (any value when empty), or, with `bitsSet`, with those bits
 *                 1 in value and mask (vlan_pcp: a VLAN tag is present)
 *   key           where the flow key (key.ts) carries it: Place + word, shift,
 *                 bits; or not at all (Place.None), or as in_port's twin
 *   set           how a set-field writes it: the header it edits (SetKind),
 *                 the byte offset there, the sub-field's shift and bits; null
 *                 when not settable
 *
 * What derives from it
 *   openflow/codec/v13/oxm.ts   OXM_FIELDS, OXM, Oxm value types, validateMatch
 *   openflow/ofproto/match.ts   matchToRows (placement); the tests' decoder
 *                               (test/helpers/match-rows.ts) reads rows back
 *   openflow/ofproto/compile.ts fieldWords (from bytes)
 *   openflow/ofproto/validate.ts, replies.ts  settable and matchable field
 *                               lists, set-field prerequisites
 *   datapath/rules/set-field.ts, key-patch.ts  the frame edit and the key
 *                               effect of a set-field (switch on SetKind)
 *
 * pbb_uca is not here: OF 1.3 has it only as an ONF experimenter OXM (EXT-256);
 * OPENFLOW_BASIC field 41 is OF 1.4.
 *
 * Value words of a set-field op (datapath/rules/ops.ts): a field of up to 4
 * bytes is w0; a MAC (6 bytes) is w0 = bytes 0..1, w1 = bytes 2..5; 8 bytes
 * are w0 = high, w1 = low; 16 bytes are w0..w3, most significant first.
 *
 * Invariants (checked at load)
 * - FIELDS[i].id === i, one row for each of the FIELD_COUNT field ids.
 * - A prerequisite names a field with a smaller id (a decoder walking ids in
 *   order has decided it already).
 * - Place.Bits: the key bits are within the field's bits and fit the word;
 *   a set path's bits are within the key bits.
 * - Pinned to flow-key layout 1 (FIELDS_LAYOUT_VERSION).
 *
 * Lowest layer: imports only key.ts. Rows are built once at load; the hot
 * path reads typed-array columns its modules derive from them.
 */

import {
  ETH_TYPE_ARP, ETH_TYPE_IPV4, ETH_TYPE_IPV6, ETH_TYPE_MPLS, ETH_TYPE_MPLS_MC, ETH_TYPE_PBB, FLOW_KEY_LAYOUT_VERSION,
  ICMPV6_ND_NA, ICMPV6_ND_NS, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, K, VLAN_PRESENT,
} from './key.js';

export const FIELDS_LAYOUT_VERSION = 1;
if (FLOW_KEY_LAYOUT_VERSION !== FIELDS_LAYOUT_VERSION) {
  throw new Error(`flow/fields: written for flow-key layout ${FIELDS_LAYOUT_VERSION}, key is ${FLOW_KEY_LAYOUT_VERSION}: revisit it`);
}

/** OFPXMC_OPENFLOW_BASIC. */
export const OXM_CLASS_OPENFLOW_BASIC = 0x8000;

/** Field ids (the OXM field numbers), as a const enum for the hot path. */
export const enum Fid {
  InPort = 0, InPhyPort = 1, Metadata = 2, EthDst = 3, EthSrc = 4, EthType = 5, VlanVid = 6, VlanPcp = 7,
  IpDscp = 8, IpEcn = 9, IpProto = 10, Ipv4Src = 11, Ipv4Dst = 12, TcpSrc = 13, TcpDst = 14, UdpSrc = 15,
  UdpDst = 16, SctpSrc = 17, SctpDst = 18, Icmpv4Type = 19, Icmpv4Code = 20, ArpOp = 21, ArpSpa = 22,
  ArpTpa = 23, ArpSha = 24, ArpTha = 25, Ipv6Src = 26, Ipv6Dst = 27, Ipv6Flabel = 28, Icmpv6Type = 29,
  Icmpv6Code = 30, Ipv6NdTarget = 31, Ipv6NdSll = 32, Ipv6NdTll = 33, MplsLabel = 34, MplsTc = 35,
  MplsBos = 36, PbbIsid = 37, TunnelId = 38, Ipv6Exthdr = 39,
}
/** Number of field ids (one more than the last Fid). */
export const FIELD_COUNT = 40;

/** How the flow key carries a field. */
export const enum Place {
  /** Not carried: a match on it is refused (OFPBMC_BAD_FIELD). */
  None = 0,
  /** `bits` (unshifted) at `shift` in `word`; bits of the field above `bits` are never set by the parser. */
  Bits = 1,
  /** A MAC: bytes 0..3 in `word`, bytes 4..5 in the high half of word + 1. */
  MacA = 2,
  /** A MAC: bytes 0..1 in the low half of `word`, bytes 2..5 in word + 1. */
  MacB = 3,
  /** 64 bits in word, word + 1 (high first). */
  U64 = 4,
  /** 128 bits in word .. word + 3 (most significant first). */
  U128 = 5,
  /** Not carried, always equal to in_port (no logical ports): a match must repeat in_port's value. */
  SameAsInPort = 6,
}

export interface KeyPlace {
  readonly kind: Place;
  readonly word: number;
  readonly shift: number;
  readonly bits: number;
}

/** The header a set-field edits, which decides when it applies and which checksums it feeds. */
export const enum SetKind {
  /** Not settable (OFPBAC_BAD_SET_TYPE). */
  None = 0,
  /** Pipeline metadata, not frame bytes. */
  Metadata = 1,
  /** Tunnel id, not frame bytes. */
  TunnelId = 2,
  /** A MAC at byte `at` of the Ethernet header. */
  EthAddr = 3,
  /** `bits` at `shift` of the outer VLAN tag's TCI (skipped when untagged). */
  VlanTci = 4,
  /** `bits` at `shift` of the IPv4 TOS / IPv6 traffic class byte (IPv4 checksum). */
  IpTos = 5,
  /** The IPv4 address at byte `at` of the header (IPv4 and L4 pseudo-header checksums). */
  Ipv4Addr = 6,
  /** The IPv6 address at byte `at` of the header (L4 pseudo-header checksum). */
  Ipv6Addr = 7,
  /** `bits` at `shift` of the IPv6 header's first 32-bit word. */
  Ipv6Word0 = 8,
  /** The 16-bit port at byte `at` of the L4 header of the row's ip_proto (TCP/UDP checksum, SCTP CRC32c). */
  L4Port = 9,
  /** ICMP type (`at` 0) or code (`at` 1), ICMPv4 or ICMPv6 by the row's ip_proto (ICMP checksum). */
  Icmp = 10,
  /** ARP (Ethernet/IPv4) field of `bytes` at byte `at` of the ARP header. */
  Arp = 11,
  /** ND target address at byte `at` of an ICMPv6 NS/NA (ICMPv6 checksum). */
  NdTarget = 12,
  /** Link-layer address of the ND option of type `at` (ICMPv6 checksum). */
  NdOption = 13,
  /** `bits` at `shift` of the top MPLS label stack entry. */
  MplsLse = 14,
  /** The ethertype after the VLAN tags (the key's eth_type); the frame is re-parsed after it. */
  EthType = 15,
  /** IPv4 protocol (IPv4 checksum) / the IPv6 next header naming the upper layer; L4 bytes untouched, the frame is re-parsed after it. */
  IpProto = 16,
  /** `bits` at `shift` of the outer PBB I-TAG's 32-bit TCI (eth_type 0x88E7). */
  PbbItag = 17,
}

export interface SetPath {
  readonly kind: SetKind;
  /** Byte offset in the header (EthAddr, Ipv4Addr, Ipv6Addr, L4Port, Icmp, Arp, NdTarget) or ND option type. */
  readonly at: number;
  /** Sub-field within a header word (VlanTci, IpTos, Ipv6Word0, MplsLse); 0 otherwise. */
  readonly shift: number;
  readonly bits: number;
}

export interface Prereq {
  /** The field that must be in the match (its id is smaller than the dependent's). */
  readonly field: Fid;
  /** Its value must be one of these; empty: any value. */
  readonly values: readonly number[];
  /** When not 0: these bits must be 1 in its value and (if masked) its mask, instead of `values`. */
  readonly bitsSet: number;
}

export interface FieldDef<N extends string = string, B extends number = number> {
  readonly id: Fid;
  readonly name: N;
  readonly oxmClass: number;
  readonly bytes: B;
  readonly bits: number;
  readonly maskable: boolean;
  readonly prereq: readonly Prereq[];
  readonly key: KeyPlace;
  readonly set: SetPath | null;
}

function field<N extends string, B extends number>(
  id: Fid, name: N, bytes: B, bits: number, maskable: boolean, prereq: readonly Prereq[], key: KeyPlace, set: SetPath | null,
): FieldDef<N, B> {
  return { id, name, oxmClass: OXM_CLASS_OPENFLOW_BASIC, bytes, bits, maskable, prereq, key, set };
}

const MASK = true;
const EXACT = false;

// Prerequisites.
const eq = (f: Fid, ...values: number[]): Prereq => ({ field: f, values, bitsSet: 0 });
const NONE: readonly Prereq[] = [];
const IP = eq(Fid.EthType, ETH_TYPE_IPV4, ETH_TYPE_IPV6);
const IPV4 = eq(Fid.EthType, ETH_TYPE_IPV4);
const IPV6 = eq(Fid.EthType, ETH_TYPE_IPV6);
const ARP = eq(Fid.EthType, ETH_TYPE_ARP);
const MPLS = eq(Fid.EthType, ETH_TYPE_MPLS, ETH_TYPE_MPLS_MC);
const TCP = [IP, eq(Fid.IpProto, IPPROTO_TCP)];
const UDP = [IP, eq(Fid.IpProto, IPPROTO_UDP)];
const SCTP = [IP, eq(Fid.IpProto, IPPROTO_SCTP)];
const ICMP4 = [IPV4, eq(Fid.IpProto, IPPROTO_ICMP)];
const ICMP6 = [IPV6, eq(Fid.IpProto, IPPROTO_ICMPV6)];
const VLAN_TAGGED: Prereq = { field: Fid.VlanVid, values: [], bitsSet: VLAN_PRESENT };

// Key placements.
const bitsAt = (word: K, shift: number, bits: number): KeyPlace => ({ kind: Place.Bits, word, shift, bits });
const wordAt = (word: K): KeyPlace => bitsAt(word, 0, 0xffffffff);
const placed = (kind: Place, word: number): KeyPlace => ({ kind, word, shift: 0, bits: 0 });

// Set-field paths.
const setAt = (kind: SetKind, at: number): SetPath => ({ kind, at, shift: 0, bits: 0 });
const setBits = (kind: SetKind, shift: number, bits: number): SetPath => ({ kind, at: 0, shift, bits });

/** Every OF 1.3 OPENFLOW_BASIC field, indexed by field id. */
export const FIELDS = [
  field(Fid.InPort, 'in_port', 4, 32, EXACT, NONE, wordAt(K.InPort), null),
  field(Fid.InPhyPort, 'in_phy_port', 4, 32, EXACT, [eq(Fid.InPort)], placed(Place.SameAsInPort, 0), null),
  field(Fid.Metadata, 'metadata', 8, 64, MASK, NONE, placed(Place.U64, K.MetadataHi), setAt(SetKind.Metadata, 0)),
  field(Fid.EthDst, 'eth_dst', 6, 48, MASK, NONE, placed(Place.MacA, K.EthDstHi), setAt(SetKind.EthAddr, 0)),
  field(Fid.EthSrc, 'eth_src', 6, 48, MASK, NONE, placed(Place.MacB, K.EthDstLoSrcHi), setAt(SetKind.EthAddr, 6)),
  field(Fid.EthType, 'eth_type', 2, 16, EXACT, NONE, bitsAt(K.EthTypeVlan, 16, 0xffff), setAt(SetKind.EthType, 0)),
  // 13 bits: VID and OFPVID_PRESENT; a set-field writes the VID only.
  field(Fid.VlanVid, 'vlan_vid', 2, 13, MASK, NONE, bitsAt(K.EthTypeVlan, 0, 0x1fff), setBits(SetKind.VlanTci, 0, 0x0fff)),
  field(Fid.VlanPcp, 'vlan_pcp', 1, 3, EXACT, [VLAN_TAGGED], bitsAt(K.EthTypeVlan, 13, 0x7), setBits(SetKind.VlanTci, 13, 0x7)),
  field(Fid.IpDscp, 'ip_dscp', 1, 6, EXACT, [IP], bitsAt(K.IpProtoTosTtlFrag, 18, 0x3f), setBits(SetKind.IpTos, 2, 0x3f)),
  field(Fid.IpEcn, 'ip_ecn', 1, 2, EXACT, [IP], bitsAt(K.IpProtoTosTtlFrag, 16, 0x3), setBits(SetKind.IpTos, 0, 0x3)),
  field(Fid.IpProto, 'ip_proto', 1, 8, EXACT, [IP], bitsAt(K.IpProtoTosTtlFrag, 24, 0xff), setAt(SetKind.IpProto, 0)),
  field(Fid.Ipv4Src, 'ipv4_src', 4, 32, MASK, [IPV4], wordAt(K.IpSrc0), setAt(SetKind.Ipv4Addr, 12)),
  field(Fid.Ipv4Dst, 'ipv4_dst', 4, 32, MASK, [IPV4], wordAt(K.IpDst0), setAt(SetKind.Ipv4Addr, 16)),
  field(Fid.TcpSrc, 'tcp_src', 2, 16, EXACT, TCP, bitsAt(K.TpSrcDst, 16, 0xffff), setAt(SetKind.L4Port, 0)),
  field(Fid.TcpDst, 'tcp_dst', 2, 16, EXACT, TCP, bitsAt(K.TpSrcDst, 0, 0xffff), setAt(SetKind.L4Port, 2)),
  field(Fid.UdpSrc, 'udp_src', 2, 16, EXACT, UDP, bitsAt(K.TpSrcDst, 16, 0xffff), setAt(SetKind.L4Port, 0)),
  field(Fid.UdpDst, 'udp_dst', 2, 16, EXACT, UDP, bitsAt(K.TpSrcDst, 0, 0xffff), setAt(SetKind.L4Port, 2)),
  field(Fid.SctpSrc, 'sctp_src', 2, 16, EXACT, SCTP, bitsAt(K.TpSrcDst, 16, 0xffff), setAt(SetKind.L4Port, 0)),
  field(Fid.SctpDst, 'sctp_dst', 2, 16, EXACT, SCTP, bitsAt(K.TpSrcDst, 0, 0xffff), setAt(SetKind.L4Port, 2)),
  field(Fid.Icmpv4Type, 'icmpv4_type', 1, 8, EXACT, ICMP4, bitsAt(K.TpSrcDst, 16, 0xff), setAt(SetKind.Icmp, 0)),
  field(Fid.Icmpv4Code, 'icmpv4_code', 1, 8, EXACT, ICMP4, bitsAt(K.TpSrcDst, 0, 0xff), setAt(SetKind.Icmp, 1)),
  field(Fid.ArpOp, 'arp_op', 2, 16, EXACT, [ARP], bitsAt(K.IpProtoTosTtlFrag, 0, 0xffff), setAt(SetKind.Arp, 6)),
  field(Fid.ArpSpa, 'arp_spa', 4, 32, MASK, [ARP], wordAt(K.IpSrc0), setAt(SetKind.Arp, 14)),
  field(Fid.ArpTpa, 'arp_tpa', 4, 32, MASK, [ARP], wordAt(K.IpDst0), setAt(SetKind.Arp, 24)),
  field(Fid.ArpSha, 'arp_sha', 6, 48, MASK, [ARP], placed(Place.MacA, K.ArpShaHi), setAt(SetKind.Arp, 8)),
  field(Fid.ArpTha, 'arp_tha', 6, 48, MASK, [ARP], placed(Place.MacB, K.ArpShaLoThaHi), setAt(SetKind.Arp, 18)),
  field(Fid.Ipv6Src, 'ipv6_src', 16, 128, MASK, [IPV6], placed(Place.U128, K.IpSrc0), setAt(SetKind.Ipv6Addr, 8)),
  field(Fid.Ipv6Dst, 'ipv6_dst', 16, 128, MASK, [IPV6], placed(Place.U128, K.IpDst0), setAt(SetKind.Ipv6Addr, 24)),
  field(Fid.Ipv6Flabel, 'ipv6_flabel', 4, 20, MASK, [IPV6], bitsAt(K.Ipv6LabelExt, 0, 0xfffff), setBits(SetKind.Ipv6Word0, 0, 0xfffff)),
  field(Fid.Icmpv6Type, 'icmpv6_type', 1, 8, EXACT, ICMP6, bitsAt(K.TpSrcDst, 16, 0xff), setAt(SetKind.Icmp, 0)),
  field(Fid.Icmpv6Code, 'icmpv6_code', 1, 8, EXACT, ICMP6, bitsAt(K.TpSrcDst, 0, 0xff), setAt(SetKind.Icmp, 1)),
  field(Fid.Ipv6NdTarget, 'ipv6_nd_target', 16, 128, EXACT, [...ICMP6, eq(Fid.Icmpv6Type, ICMPV6_ND_NS, ICMPV6_ND_NA)],
    placed(Place.U128, K.NdTarget0), setAt(SetKind.NdTarget, 8)),
  field(Fid.Ipv6NdSll, 'ipv6_nd_sll', 6, 48, EXACT, [...ICMP6, eq(Fid.Icmpv6Type, ICMPV6_ND_NS)],
    placed(Place.MacA, K.ArpShaHi), setAt(SetKind.NdOption, 1)),
  field(Fid.Ipv6NdTll, 'ipv6_nd_tll', 6, 48, EXACT, [...ICMP6, eq(Fid.Icmpv6Type, ICMPV6_ND_NA)],
    placed(Place.MacB, K.ArpShaLoThaHi), setAt(SetKind.NdOption, 2)),
  field(Fid.MplsLabel, 'mpls_label', 4, 20, EXACT, [MPLS], bitsAt(K.MplsLse, 12, 0xfffff), setBits(SetKind.MplsLse, 12, 0xfffff)),
  field(Fid.MplsTc, 'mpls_tc', 1, 3, EXACT, [MPLS], bitsAt(K.MplsLse, 9, 0x7), setBits(SetKind.MplsLse, 9, 0x7)),
  field(Fid.MplsBos, 'mpls_bos', 1, 1, EXACT, [MPLS], bitsAt(K.MplsLse, 8, 0x1), setBits(SetKind.MplsLse, 8, 0x1)),
  // The I-TAG TCI shares the MPLS word: eth_type 0x88E7 and 0x8847/0x8848 exclude each other.
  field(Fid.PbbIsid, 'pbb_isid', 3, 24, MASK, [eq(Fid.EthType, ETH_TYPE_PBB)], bitsAt(K.MplsLse, 0, 0xffffff), setBits(SetKind.PbbItag, 0, 0xffffff)),
  field(Fid.TunnelId, 'tunnel_id', 8, 64, MASK, NONE, placed(Place.U64, K.TunnelHi), setAt(SetKind.TunnelId, 0)),
  // OFPIEH_* bits 0..8, UNSEQ included, in bits 23..31 (EXTHDR_SHIFT).
  field(Fid.Ipv6Exthdr, 'ipv6_exthdr', 2, 9, MASK, [IPV6], bitsAt(K.Ipv6LabelExt, 23, 0x1ff), null),
] as const;

export type FieldName = (typeof FIELDS)[number]['name'];
/** Fields whose values are bigints (8 and 16 bytes); the others are numbers (a MAC is its 48-bit number). */
export type BigFieldName = Extract<(typeof FIELDS)[number], { readonly bytes: 8 | 16 }>['name'];

/** Field ids by name. */
export const FIELD_ID = Object.fromEntries(FIELDS.map((f) => [f.name, f.id])) as { readonly [N in FieldName]: number };

/** Fields a set-field action may write (the others are refused with OFPBAC_BAD_SET_TYPE). */
export const SETTABLE_FIELDS: ReadonlySet<number> = new Set(FIELDS.filter((f) => f.set !== null).map((f) => f.id));

/** Fields a match may use (the others are refused with OFPBMC_BAD_FIELD). */
export const MATCHABLE_FIELDS: ReadonlySet<number> = new Set(FIELDS.filter((f) => f.key.kind !== Place.None).map((f) => f.id));

/** Does a match field with `value` (and `mask`, if masked) meet prerequisite `p`? Slow path. */
export function prereqMet(p: Prereq, value: number, mask: number | undefined): boolean {
  if (p.bitsSet !== 0) return (value & p.bitsSet) !== 0 && (mask === undefined || (mask & p.bitsSet) !== 0);
  return p.values.length === 0 || p.values.includes(value);
}

/** The one value `def`'s prerequisites require of field `f` (e.g. the ip_proto of tcp_src), or -1. */
export function requiredValue(def: FieldDef, f: Fid): number {
  for (const p of def.prereq) if (p.field === f && p.values.length === 1) return p.values[0];
  return -1;
}

function checkTable(): void {
  if (FIELDS.length !== FIELD_COUNT) throw new Error(`flow/fields: ${FIELDS.length} rows for ${FIELD_COUNT} field ids`);
  const names = new Set<string>();
  for (let i = 0; i < FIELDS.length; i++) {
    const f: FieldDef = FIELDS[i];
    const where = `flow/fields: row ${i} (${f.name})`;
    if (f.id !== i) throw new Error(`${where} has id ${f.id}: rows must be in field-id order`);
    if (names.has(f.name)) throw new Error(`${where}: name used twice`);
    names.add(f.name);
    if (f.bits > 8 * f.bytes) throw new Error(`${where}: ${f.bits} bits do not fit ${f.bytes} bytes`);
    for (const p of f.prereq) if (p.field >= i) throw new Error(`${where}: prerequisite on field ${p.field}, not an earlier one`);
    const k = f.key;
    if (k.kind === Place.Bits) {
      if (f.bits > 32 || k.bits > 2 ** f.bits - 1 || k.bits * 2 ** k.shift > 0xffffffff) throw new Error(`${where}: key bits do not fit`);
      if (f.set !== null && f.set.bits !== 0 && (f.set.bits & ~k.bits) !== 0) throw new Error(`${where}: set bits outside the key bits`);
    }
  }
}
checkTable();
