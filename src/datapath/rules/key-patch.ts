/*
 * Symbolic key patching: what an op stream does to a frame's flow key row,
 * computed on the key alone, so that the OpenFlow pipeline can look up the
 * next table (and cache the whole path) without re-parsing the frame.
 *
 * What
 *   patchKey(code, pc, end, key, kb) -> true when key row key[kb..] now equals
 *   what the parser would produce from the frame after those ops, false when
 *   the key alone cannot tell (the caller then re-parses the real frame and
 *   the path is not cached).
 *
 * Design
 *   Every op here mirrors an executor op (set-field.ts, frame-tags.ts) and
 *   uses the same applicability rules, read from the key instead of the
 *   frame: eth_type, VLAN presence, ip_proto, "later fragment". For a frame
 *   the parser read without PARSE_MALFORMED the two agree; a property test
 *   (test/unit/actions-exec.test.ts) checks parse(exec(frame)) against
 *   patchKey(parse(frame)). Unknown: pop_mpls (the payload type is in the
 *   bytes), ARP and ND link-layer set-fields (presence of the header/option is
 *   not in the key), ICMPv6 type/code around neighbour discovery, copy TTL,
 *   a third VLAN tag.
 *
 * Invariants
 * - No allocation; pinned to flow-key layout 1 (KEY_PATCH_LAYOUT_VERSION).
 */

import {
  ETH_TYPE_ARP, ETH_TYPE_IPV4, ETH_TYPE_IPV6, ETH_TYPE_MPLS, ETH_TYPE_MPLS_MC, ETH_TYPE_QINQ, ETH_TYPE_VLAN,
  FLOW_KEY_LAYOUT_VERSION, FRAG_LATER, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, K,
  VLAN_PRESENT,
} from '../../flow/key.js';
import { Fid } from './fid.js';
import { Op, OP_LEN } from './ops.js';

export const KEY_PATCH_LAYOUT_VERSION = 1;
if (FLOW_KEY_LAYOUT_VERSION !== KEY_PATCH_LAYOUT_VERSION) {
  throw new Error(`datapath/key-patch: written for flow-key layout ${KEY_PATCH_LAYOUT_VERSION}, key is ${FLOW_KEY_LAYOUT_VERSION}: revisit it`);
}

const ND_NS = 135;
const ND_NA = 136;

function ethTypeOf(key: Uint32Array, kb: number): number {
  return key[kb + K.EthTypeVlan] >>> 16;
}

function isIp(t: number): boolean {
  return t === ETH_TYPE_IPV4 || t === ETH_TYPE_IPV6;
}

function isMpls(t: number): boolean {
  return t === ETH_TYPE_MPLS || t === ETH_TYPE_MPLS_MC;
}

/** L4 fields of protocol `proto` are in the key (IP, that protocol, not a later fragment). */
function l4Of(key: Uint32Array, kb: number, proto: number, v: number): boolean {
  const t = ethTypeOf(key, kb);
  const w = key[kb + K.IpProtoTosTtlFrag];
  if (w >>> 24 !== proto || (w & FRAG_LATER) !== 0) return false;
  return v === 4 ? t === ETH_TYPE_IPV4 : v === 6 ? t === ETH_TYPE_IPV6 : isIp(t);
}

function setBits(key: Uint32Array, at: number, mask: number, value: number): void {
  key[at] = (key[at] & ~mask) | (value & mask);
}

function patchField(fid: number, w0: number, w1: number, w2: number, w3: number, key: Uint32Array, kb: number): boolean {
  const t = ethTypeOf(key, kb);
  const ipw = kb + K.IpProtoTosTtlFrag;
  switch (fid) {
    case Fid.Metadata:
      key[kb + K.MetadataHi] = w0;
      key[kb + K.MetadataLo] = w1;
      return true;
    case Fid.TunnelId:
      key[kb + K.TunnelHi] = w0;
      key[kb + K.TunnelLo] = w1;
      return true;
    case Fid.EthDst:
      key[kb + K.EthDstHi] = ((w0 & 0xffff) << 16) | (w1 >>> 16);
      setBits(key, kb + K.EthDstLoSrcHi, 0xffff0000, w1 << 16);
      return true;
    case Fid.EthSrc:
      setBits(key, kb + K.EthDstLoSrcHi, 0xffff, w0);
      key[kb + K.EthSrcLo] = w1;
      return true;
    case Fid.VlanVid:
      if ((key[kb + K.EthTypeVlan] & VLAN_PRESENT) !== 0) setBits(key, kb + K.EthTypeVlan, 0x0fff, w0);
      return true;
    case Fid.VlanPcp:
      if ((key[kb + K.EthTypeVlan] & VLAN_PRESENT) !== 0) setBits(key, kb + K.EthTypeVlan, 0xe000, w0 << 13);
      return true;
    case Fid.IpDscp:
      if (isIp(t)) setBits(key, ipw, 0x3f << 18, w0 << 18);
      return true;
    case Fid.IpEcn:
      if (isIp(t)) setBits(key, ipw, 0x3 << 16, w0 << 16);
      return true;
    case Fid.Ipv4Src:
      if (t === ETH_TYPE_IPV4) key[kb + K.IpSrc0] = w0;
      return true;
    case Fid.Ipv4Dst:
      if (t === ETH_TYPE_IPV4) key[kb + K.IpDst0] = w0;
      return true;
    case Fid.Ipv6Src:
    case Fid.Ipv6Dst: {
      if (t !== ETH_TYPE_IPV6) return true;
      const at = kb + (fid === Fid.Ipv6Src ? K.IpSrc0 : K.IpDst0);
      key[at] = w0;
      key[at + 1] = w1;
      key[at + 2] = w2;
      key[at + 3] = w3;
      return true;
    }
    case Fid.Ipv6Flabel:
      if (t === ETH_TYPE_IPV6) setBits(key, kb + K.Ipv6LabelExt, 0xfffff, w0);
      return true;
    case Fid.TcpSrc: case Fid.UdpSrc: case Fid.SctpSrc: {
      const proto = fid === Fid.TcpSrc ? IPPROTO_TCP : fid === Fid.UdpSrc ? IPPROTO_UDP : IPPROTO_SCTP;
      if (l4Of(key, kb, proto, 0)) setBits(key, kb + K.TpSrcDst, 0xffff0000, w0 << 16);
      return true;
    }
    case Fid.TcpDst: case Fid.UdpDst: case Fid.SctpDst: {
      const proto = fid === Fid.TcpDst ? IPPROTO_TCP : fid === Fid.UdpDst ? IPPROTO_UDP : IPPROTO_SCTP;
      if (l4Of(key, kb, proto, 0)) setBits(key, kb + K.TpSrcDst, 0xffff, w0);
      return true;
    }
    case Fid.Icmpv4Type:
      if (l4Of(key, kb, IPPROTO_ICMP, 4)) setBits(key, kb + K.TpSrcDst, 0xff0000, w0 << 16);
      return true;
    case Fid.Icmpv4Code:
      if (l4Of(key, kb, IPPROTO_ICMP, 4)) setBits(key, kb + K.TpSrcDst, 0xff, w0);
      return true;
    case Fid.Icmpv6Type:
    case Fid.Icmpv6Code: {
      if (!l4Of(key, kb, IPPROTO_ICMPV6, 6)) return true;
      // Neighbour discovery fields come and go with type/code: only the bytes can tell.
      const type = (key[kb + K.TpSrcDst] >>> 16) & 0xff;
      if (type === ND_NS || type === ND_NA || (fid === Fid.Icmpv6Type && ((w0 & 0xff) === ND_NS || (w0 & 0xff) === ND_NA))) return false;
      if (fid === Fid.Icmpv6Type) setBits(key, kb + K.TpSrcDst, 0xff0000, w0 << 16);
      else setBits(key, kb + K.TpSrcDst, 0xff, w0);
      return true;
    }
    case Fid.Ipv6NdTarget: {
      if (!l4Of(key, kb, IPPROTO_ICMPV6, 6)) return true;
      const tp = key[kb + K.TpSrcDst];
      const type = (tp >>> 16) & 0xff;
      if ((type !== ND_NS && type !== ND_NA) || (tp & 0xff) !== 0) return true;
      key[kb + K.NdTarget0] = w0;
      key[kb + K.NdTarget1] = w1;
      key[kb + K.NdTarget2] = w2;
      key[kb + K.NdTarget3] = w3;
      return true;
    }
    case Fid.Ipv6NdSll:
    case Fid.Ipv6NdTll:
      return !l4Of(key, kb, IPPROTO_ICMPV6, 6);
    case Fid.ArpOp: case Fid.ArpSpa: case Fid.ArpTpa: case Fid.ArpSha: case Fid.ArpTha:
      return t !== ETH_TYPE_ARP;
    case Fid.MplsLabel:
      if (isMpls(t)) setBits(key, kb + K.MplsLse, 0xfffff000, w0 << 12);
      return true;
    case Fid.MplsTc:
      if (isMpls(t)) setBits(key, kb + K.MplsLse, 0xe00, w0 << 9);
      return true;
    default:
      return false;
  }
}

/** Zeroes the L3/L4 words (the parser stops at an MPLS header). */
function clearAboveMpls(key: Uint32Array, kb: number): void {
  for (let w = K.IpProtoTosTtlFrag; w <= K.NdTarget3; w++) key[kb + w] = 0;
}

/**
 * Applies the key effect of ops code[pc, end) to key row key[kb..]. Returns
 * false when the result depends on bytes the key does not hold (the row is
 * then unspecified and must be rebuilt by parsing the frame).
 */
export function patchKey(code: Int32Array, pc: number, end: number, key: Uint32Array, kb: number): boolean {
  while (pc < end) {
    const op = code[pc];
    switch (op) {
      case Op.SetField:
        if (!patchField(code[pc + 1], code[pc + 2], code[pc + 3], code[pc + 4], code[pc + 5], key, kb)) return false;
        break;
      case Op.PushVlan: {
        const ev = key[kb + K.EthTypeVlan];
        const outer = ev & 0xffff;
        if ((outer & VLAN_PRESENT) !== 0) {
          if (key[kb + K.VlanInner] !== 0) return false; // a third tag would fall out of the key
          key[kb + K.VlanInner] = outer;
          key[kb + K.EthTypeVlan] = (ev & 0xffff0000) | VLAN_PRESENT | (outer & 0xefff);
        } else {
          key[kb + K.EthTypeVlan] = (ev & 0xffff0000) | VLAN_PRESENT;
        }
        break;
      }
      case Op.PopVlan: {
        const ev = key[kb + K.EthTypeVlan];
        if ((ev & VLAN_PRESENT) === 0) break;
        const t = ev >>> 16;
        if (t === ETH_TYPE_VLAN || t === ETH_TYPE_QINQ) return false; // a third tag comes into view
        key[kb + K.EthTypeVlan] = (ev & 0xffff0000) | key[kb + K.VlanInner];
        key[kb + K.VlanInner] = 0;
        break;
      }
      case Op.PushMpls: {
        const ev = key[kb + K.EthTypeVlan];
        const t = ev >>> 16;
        let lse: number;
        if (isMpls(t)) lse = key[kb + K.MplsLse] & ~0x100;
        else {
          const ttl = isIp(t) ? (key[kb + K.IpProtoTosTtlFrag] >>> 8) & 0xff : 0;
          lse = 0x100 | ttl;
          clearAboveMpls(key, kb);
        }
        key[kb + K.MplsLse] = lse;
        key[kb + K.EthTypeVlan] = ((code[pc + 1] & 0xffff) << 16) | (ev & 0xffff);
        break;
      }
      case Op.SetNwTtl:
        if (isIp(ethTypeOf(key, kb))) setBits(key, kb + K.IpProtoTosTtlFrag, 0xff00, code[pc + 1] << 8);
        break;
      case Op.DecNwTtl: {
        if (!isIp(ethTypeOf(key, kb))) break;
        const ttl = (key[kb + K.IpProtoTosTtlFrag] >>> 8) & 0xff;
        if (ttl > 1) setBits(key, kb + K.IpProtoTosTtlFrag, 0xff00, (ttl - 1) << 8);
        break;
      }
      case Op.SetMplsTtl:
        if (isMpls(ethTypeOf(key, kb))) setBits(key, kb + K.MplsLse, 0xff, code[pc + 1]);
        break;
      case Op.DecMplsTtl: {
        if (!isMpls(ethTypeOf(key, kb))) break;
        const ttl = key[kb + K.MplsLse] & 0xff;
        if (ttl > 1) setBits(key, kb + K.MplsLse, 0xff, ttl - 1);
        break;
      }
      case Op.WriteMetadata: {
        const mh = code[pc + 3], ml = code[pc + 4];
        key[kb + K.MetadataHi] = (key[kb + K.MetadataHi] & ~mh) | (code[pc + 1] & mh);
        key[kb + K.MetadataLo] = (key[kb + K.MetadataLo] & ~ml) | (code[pc + 2] & ml);
        break;
      }
      case Op.Output: case Op.InPort: case Op.All: case Op.Flood: case Op.Normal: case Op.Local: case Op.Controller:
      case Op.Group: case Op.SetQueue: case Op.Meter: case Op.CountTable: case Op.CountFlow: case Op.End:
        break;
      default:
        return false; // PopMpls, CopyTtlIn/Out, Table, MissDrop
    }
    pc += OP_LEN[op];
  }
  return true;
}
