/*
 * Symbolic key patching: what an op stream does to a frame's flow key row,
 * computed on the key alone, so that the rule pipeline can look up the
 * next table (and cache the whole path) without re-parsing the frame.
 *
 * What
 *   patchKey(code, pc, end, key, kb) -> true when key row key[kb..] now equals
 *   what the parser would produce from the frame after those ops, false when
 *   the key alone cannot tell (the caller then re-parses the real frame and
 *   the path is not cached).
 *
 * Design
 *   Every op here mirrors an executor op (set-field.ts, ip-ttl-tos.ts, frame-tags.ts) and
 *   uses the same applicability rules, read from the key instead of the
 *   frame: eth_type, VLAN presence, ip_proto, "later fragment". For a frame
 *   the parser read without PARSE_MALFORMED the two agree; a property test
 *   (test/unit/actions-exec.test.ts) checks parse(exec(frame)) against
 *   patchKey(parse(frame)). Unknown: pop_mpls and pop_pbb (the payload type
 *   is in the bytes), ARP and ND link-layer set-fields (presence of the header/option is
 *   not in the key), ICMPv6 type/code around neighbour discovery, copy TTL,
 *   a third VLAN tag, eth_type and ip_proto set to a new value (the bytes
 *   above them read differently: the executor re-parses too).
 *   Set-fields are not handled field by field: the field's row in
 *   src/flow/fields.ts gives the header it edits (SetKind: when it applies)
 *   and where the key holds it (Place: the words and bits written).
 *
 * Invariants
 * - No allocation; pinned to flow-key layout 1 (KEY_PATCH_LAYOUT_VERSION).
 */

import {
  ETH_TYPE_ARP, ETH_TYPE_IPV4, ETH_TYPE_IPV6, ETH_TYPE_MPLS, ETH_TYPE_MPLS_MC, ETH_TYPE_PBB, ETH_TYPE_QINQ, ETH_TYPE_VLAN,
  FLOW_KEY_LAYOUT_VERSION, FRAG_LATER, ICMPV6_ND_NA, ICMPV6_ND_NS, IPPROTO_ICMP, IPPROTO_ICMPV6, K, VLAN_PRESENT,
} from '../../flow/key.js';
import { Fid, FIELDS, Place, requiredValue, SetKind } from '../../flow/fields.js';
import { Op, OP_LEN } from './ops.js';
import { PBB_ISID_MASK, pushedPbbTci } from './pbb-tags.js';

export const KEY_PATCH_LAYOUT_VERSION = 1;
if (FLOW_KEY_LAYOUT_VERSION !== KEY_PATCH_LAYOUT_VERSION) {
  throw new Error(`datapath/key-patch: written for flow-key layout ${KEY_PATCH_LAYOUT_VERSION}, key is ${FLOW_KEY_LAYOUT_VERSION}: revisit it`);
}

/** Columns of the field table (src/flow/fields.ts), indexed by field id. */
const SET_KIND = Int32Array.from(FIELDS, (f) => f.set?.kind ?? SetKind.None);
const SET_AT = Int32Array.from(FIELDS, (f) => f.set?.at ?? 0);
/** The ip_proto whose header holds the field (L4Port, Icmp); -1 for the others. */
const SET_PROTO = Int32Array.from(FIELDS, (f) => requiredValue(f, Fid.IpProto));
const KEY_PLACE = Int32Array.from(FIELDS, (f) => f.key.kind);
const KEY_WORD = Int32Array.from(FIELDS, (f) => f.key.word);
const KEY_SHIFT = Int32Array.from(FIELDS, (f) => f.key.shift);
/**
 * Key bits a set-field writes, shifted into place: the set path's sub-field
 * bits (vlan_vid: the VID, not OFPVID_PRESENT), else the key bits.
 */
const PATCH_MASK = Int32Array.from(FIELDS, (f) => (f.set !== null && f.set.bits !== 0 ? f.set.bits : f.key.bits) << f.key.shift);

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

/**
 * The key effect of one set-field. Which header the field lives in (its
 * SetKind) decides whether the key shows the edit applies; where the key
 * holds the field (its Place) decides the words written.
 */
function patchField(fid: number, w0: number, w1: number, w2: number, w3: number, key: Uint32Array, kb: number): boolean {
  const t = ethTypeOf(key, kb);
  switch (SET_KIND[fid]) {
    case SetKind.Metadata: case SetKind.TunnelId: case SetKind.EthAddr:
      break;
    case SetKind.VlanTci:
      if ((key[kb + K.EthTypeVlan] & VLAN_PRESENT) === 0) return true;
      break;
    case SetKind.IpTos:
      if (!isIp(t)) return true;
      break;
    case SetKind.Ipv4Addr:
      if (t !== ETH_TYPE_IPV4) return true;
      break;
    case SetKind.Ipv6Addr: case SetKind.Ipv6Word0:
      if (t !== ETH_TYPE_IPV6) return true;
      break;
    case SetKind.L4Port:
      if (!l4Of(key, kb, SET_PROTO[fid], 0)) return true;
      break;
    case SetKind.Icmp: {
      const proto = SET_PROTO[fid];
      if (proto === IPPROTO_ICMP) {
        if (!l4Of(key, kb, IPPROTO_ICMP, 4)) return true;
        break;
      }
      if (!l4Of(key, kb, IPPROTO_ICMPV6, 6)) return true;
      // Neighbour discovery fields come and go with type/code: only the bytes can tell. The type is byte 0.
      const type = (key[kb + K.TpSrcDst] >>> 16) & 0xff;
      const setsType = SET_AT[fid] === 0;
      if (type === ICMPV6_ND_NS || type === ICMPV6_ND_NA) return false;
      if (setsType && ((w0 & 0xff) === ICMPV6_ND_NS || (w0 & 0xff) === ICMPV6_ND_NA)) return false;
      break;
    }
    case SetKind.NdTarget: {
      if (!l4Of(key, kb, IPPROTO_ICMPV6, 6)) return true;
      const tp = key[kb + K.TpSrcDst];
      const type = (tp >>> 16) & 0xff;
      if ((type !== ICMPV6_ND_NS && type !== ICMPV6_ND_NA) || (tp & 0xff) !== 0) return true;
      break;
    }
    case SetKind.NdOption:
      return !l4Of(key, kb, IPPROTO_ICMPV6, 6); // the option's presence is not in the key
    case SetKind.Arp:
      return t !== ETH_TYPE_ARP; // a well-formed Ethernet/IPv4 ARP header is not in the key
    case SetKind.MplsLse:
      if (!isMpls(t)) return true;
      break;
    case SetKind.EthType:
      return (w0 & 0xffff) === t; // a new ethertype: the L3/L4 words read anew from the bytes
    case SetKind.IpProto:
      if (!isIp(t)) return true;
      return (w0 & 0xff) === key[kb + K.IpProtoTosTtlFrag] >>> 24; // a new protocol: the L4 words read anew
    case SetKind.PbbItag:
      if (t !== ETH_TYPE_PBB) return true;
      break;
    default:
      return false;
  }
  const at = kb + KEY_WORD[fid];
  switch (KEY_PLACE[fid]) {
    case Place.Bits:
      setBits(key, at, PATCH_MASK[fid], w0 << KEY_SHIFT[fid]);
      return true;
    case Place.MacA:
      key[at] = ((w0 & 0xffff) << 16) | (w1 >>> 16);
      setBits(key, at + 1, 0xffff0000, w1 << 16);
      return true;
    case Place.MacB:
      setBits(key, at, 0xffff, w0);
      key[at + 1] = w1;
      return true;
    case Place.U64:
      key[at] = w0;
      key[at + 1] = w1;
      return true;
    case Place.U128:
      key[at] = w0;
      key[at + 1] = w1;
      key[at + 2] = w2;
      key[at + 3] = w3;
      return true;
    default:
      return false;
  }
}

/** Zeroes the L3/L4 words (the parser stops at an MPLS header or a PBB I-TAG). */
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
      case Op.PushPbb: {
        // The old frame, tags and all, becomes the customer frame: the key sees the MACs, 0x88E7 and the new TCI.
        const ev = key[kb + K.EthTypeVlan];
        const pcp = (ev & VLAN_PRESENT) !== 0 ? (ev >>> 13) & 7 : -1;
        const isid = ev >>> 16 === ETH_TYPE_PBB ? key[kb + K.MplsLse] & PBB_ISID_MASK : -1;
        clearAboveMpls(key, kb);
        key[kb + K.VlanInner] = 0;
        key[kb + K.MplsLse] = pushedPbbTci(pcp, isid);
        key[kb + K.EthTypeVlan] = ETH_TYPE_PBB << 16;
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
        return false; // PopMpls, PopPbb, CopyTtlIn/Out, Table, MissDrop
    }
    pc += OP_LEN[op];
  }
  return true;
}
