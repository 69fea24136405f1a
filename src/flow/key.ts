/*
 * Flow key layout: the fixed-width Uint32 row that the parser writes for each
 * frame and that caches and classifiers hash and compare.
 *
 * Lowest layer (src/flow, with fields.ts): shared by the datapath and the
 * OpenFlow layer, imports nothing from src. Which match field sits in which
 * word and bits is declared once, in fields.ts.
 *
 * Invariants
 * - A key is KEY_WORDS Uint32 words, ordered metadata -> L2 -> L3 -> L4 so a
 *   staged lookup can stop early (OVS `struct flow`).
 * - A field that the frame does not carry is 0 in every word it owns; a word
 *   is never left with bytes of a previous frame (the parser zeroes the row).
 * - Bytes of addresses are stored big-endian within a word (network order),
 *   so a prefix mask on an address is a mask on the high bits of a word.
 * - Masks are rows of the same shape; a 1 bit means "this bit matters".
 *
 * Changing the layout means bumping FLOW_KEY_LAYOUT_VERSION; every module that
 * walks all fields pins the version it was written for (the OVS FLOW_WC_SEQ
 * trick) and a test fails until it has been revisited.
 */

export const FLOW_KEY_LAYOUT_VERSION = 1;

/** Word indexes into a key row. */
export const enum K {
  /** OpenFlow ingress port number. */
  InPort = 0,
  /** Pipeline metadata, high and low 32 bits (written by the OpenFlow pipeline, 0 from the parser). */
  MetadataHi = 1,
  MetadataLo = 2,
  /** Tunnel id, high and low 32 bits (0 until tunnels exist). */
  TunnelHi = 3,
  TunnelLo = 4,
  /** eth_dst bytes 0..3. */
  EthDstHi = 5,
  /** eth_dst bytes 4..5 in the high half, eth_src bytes 0..1 in the low half. */
  EthDstLoSrcHi = 6,
  /** eth_src bytes 2..5. */
  EthSrcLo = 7,
  /** eth_type (innermost, after VLAN tags) << 16 | outer VLAN TCI in OpenFlow form (see VLAN_* below). */
  EthTypeVlan = 8,
  /** Inner VLAN TCI in OpenFlow form (802.1ad QinQ), else 0. */
  VlanInner = 9,
  /**
   * First MPLS label stack entry as on the wire (label 20 | tc 3 | bos 1 | ttl 8); for eth_type
   * 0x88E7 the PBB I-TAG TCI as on the wire instead (pcp 3 | dei 1 | uca 1 | res 3 | I-SID 24).
   */
  MplsLse = 10,
  /** ip_proto << 24 | ip_tos (dscp << 2 | ecn) << 16 | ip_ttl << 8 | frag flags (FRAG_*). For ARP: arp_op in the low 16 bits. */
  IpProtoTosTtlFrag = 11,
  /** IPv4 src (or ARP spa) in word 0; IPv6 src in words 0..3. */
  IpSrc0 = 12,
  IpSrc1 = 13,
  IpSrc2 = 14,
  IpSrc3 = 15,
  /** IPv4 dst (or ARP tpa) in word 0; IPv6 dst in words 0..3. */
  IpDst0 = 16,
  IpDst1 = 17,
  IpDst2 = 18,
  IpDst3 = 19,
  /** IPv6 flow label (20 bits); bits 23..31: IPv6 extension-header flags (EXTHDR_*, 9 bits from EXTHDR_SHIFT). */
  Ipv6LabelExt = 20,
  /** L4 src << 16 | L4 dst: TCP/UDP/SCTP ports, or ICMP/ICMPv6 type << 16 | code. */
  TpSrcDst = 21,
  /** TCP flags (12 bits). */
  TcpFlags = 22,
  /** ARP sha / ND sll: bytes 0..3, then bytes 4..5 in the high half of the next word with tha/tll bytes 0..1 low. */
  ArpShaHi = 23,
  ArpShaLoThaHi = 24,
  /** ARP tha / ND tll bytes 2..5. */
  ArpThaLo = 25,
  /** IPv6 ND target address, 4 words. */
  NdTarget0 = 26,
  NdTarget1 = 27,
  NdTarget2 = 28,
  NdTarget3 = 29,
}

export const KEY_WORDS = 30;

/** OpenFlow's VLAN form: bit 12 (OFPVID_PRESENT) set when a tag is present, VID in bits 0..11, PCP in bits 13..15. */
export const VLAN_PRESENT = 0x1000;
export const VLAN_VID_MASK = 0x0fff;

/** Fragment flags in the low byte of K.IpProtoTosTtlFrag (OVS nw_frag). */
export const FRAG_ANY = 0x1; // the packet is a fragment
export const FRAG_LATER = 0x2; // and not the first one

/** IPv6 extension-header flags, OpenFlow OFPIEH_* bit values, stored from bit EXTHDR_SHIFT (23..31) of K.Ipv6LabelExt. */
export const EXTHDR_SHIFT = 23;
export const EXTHDR_NONEXT = 1 << 0;
export const EXTHDR_ESP = 1 << 1;
export const EXTHDR_AUTH = 1 << 2;
export const EXTHDR_DEST = 1 << 3;
export const EXTHDR_FRAG = 1 << 4;
export const EXTHDR_ROUTER = 1 << 5;
export const EXTHDR_HOP = 1 << 6;
export const EXTHDR_UNREP = 1 << 7;
export const EXTHDR_UNSEQ = 1 << 8;

export const ETH_TYPE_IPV4 = 0x0800;
export const ETH_TYPE_ARP = 0x0806;
export const ETH_TYPE_VLAN = 0x8100;
export const ETH_TYPE_QINQ = 0x88a8;
export const ETH_TYPE_IPV6 = 0x86dd;
export const ETH_TYPE_MPLS = 0x8847;
export const ETH_TYPE_MPLS_MC = 0x8848;
/** 802.1ah PBB I-TAG (backbone service instance tag). */
export const ETH_TYPE_PBB = 0x88e7;

/** An 802.1Q or 802.1ad tag protocol identifier. */
export function isVlanTpid(type: number): boolean {
  return type === ETH_TYPE_VLAN || type === ETH_TYPE_QINQ;
}

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_SCTP = 132;

/** ICMPv6 neighbour solicitation and advertisement (the types that carry a target and link-layer options). */
export const ICMPV6_ND_NS = 135;
export const ICMPV6_ND_NA = 136;

/** The outer VLAN VID (0..4095) of key row `base`, or 0 when untagged. */
export function keyVlanVid(keys: Uint32Array, base: number): number {
  return keys[base + K.EthTypeVlan] & VLAN_VID_MASK;
}
