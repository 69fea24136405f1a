/*
 * In-place header edits for the OpenFlow set-field action, on the frame a
 * FrameCursor (frame-cursor.ts) points at.
 *
 * What
 *   execSetField(x, fid, w0..w3)  one set-field (value words as ops.ts)
 *   setFieldReparses(fid)          eth_type and ip_proto change how the bytes read:
 *                                  the executor re-parses after them
 *   (TTL and TOS edits live in ip-ttl-tos.ts, the L4 checksum patching in
 *   checksum-patch.ts.)
 *
 * Design
 *   - A field applies only when the frame carries its header, judged from the
 *     cursor (eth type and ip proto as the pipeline last saw them, L3/L4
 *     offsets) and the frame length: an edit never reads or writes at or past
 *     the frame end. A field that does not apply is skipped, like OVS does
 *     when prerequisites fail at run time.
 *   - Checksums are patched incrementally (RFC 1624): the IPv4 header
 *     checksum for every IPv4 header edit; the TCP/UDP/ICMPv6 checksum for
 *     pseudo-header fields (addresses) and for the L4 fields they cover; the
 *     ICMPv4 checksum for type/code; SCTP's CRC32c is recomputed after a port
 *     edit. How each sum is patched (UDP's 0, CHECKSUM_PARTIAL frames) is
 *     checksum-patch.ts's.
 *   - x.writable() is called only once the field is known to apply: it may
 *     move the cursor to a copy of the frame (copy-on-write), so offsets are
 *     read after it.
 *   - Nothing here is per field: execSetField switches on the header a field
 *     lives in (its SetKind in src/flow/fields.ts) and reads the byte offset,
 *     sub-field bits and protocol from typed-array columns of that table. The
 *     switch stays because headers differ in when they apply and which
 *     checksums they feed.
 *
 * Invariants
 * - No allocation, no throw; returns false only when writable() failed (no
 *   free slot for the copy), and the caller stops the frame.
 */

import { csumReplace16, csumReplace32 } from '../../packet/checksum.js';
import {
  ETH_TYPE_ARP, ETH_TYPE_IPV4, ETH_TYPE_IPV6, ETH_TYPE_MPLS, ETH_TYPE_MPLS_MC, ETH_TYPE_PBB, ICMPV6_ND_NA, ICMPV6_ND_NS, IPPROTO_ICMP, IPPROTO_ICMPV6,
  IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, isVlanTpid,
} from '../../flow/key.js';
import { Fid, FIELDS, requiredValue, SetKind } from '../../flow/fields.js';
import { ETH_TYPE_NONE } from '../parse/parse.js';
import { rd16, rd32, wr16, wr32 } from '../../packet/frame-bytes.js';
import { fixData16, fixPseudo32, fixSctp, isPartial, pseudoCsumAt } from './checksum-patch.js';
import { ipEnd, ipv4At, ipv6At, type FrameCursor } from './frame-cursor.js';
import { setTos } from './ip-ttl-tos.js';

/** Columns of the field table (src/flow/fields.ts), indexed by field id, for the per-frame switch. */
const SET_KIND = Int32Array.from(FIELDS, (f) => f.set?.kind ?? SetKind.None);
const SET_AT = Int32Array.from(FIELDS, (f) => f.set?.at ?? 0);
const SET_SHIFT = Int32Array.from(FIELDS, (f) => f.set?.shift ?? 0);
const SET_BITS = Int32Array.from(FIELDS, (f) => f.set?.bits ?? 0);
const SET_BYTES = Int32Array.from(FIELDS, (f) => f.bytes);
/** The ip_proto whose header holds the field (L4Port, Icmp), from its prerequisites; -1 for the others. */
const SET_PROTO = Int32Array.from(FIELDS, (f) => requiredValue(f, Fid.IpProto));

/** Writes field `fid`'s bits (SET_SHIFT, SET_BITS) into the 32-bit word at L3; false when no slot was free for a copy. */
function setBits32AtL3(x: FrameCursor, fid: number, w: number): boolean {
  if (!x.writable()) return false;
  const b = x.pool.bytes, at = x.pool.dataOff[x.cur] + x.l3;
  const s = SET_SHIFT[fid], m = SET_BITS[fid];
  wr32(b, at, ((rd32(b, at) & ~(m << s)) | ((w & m) << s)) >>> 0);
  return true;
}

function isMpls(t: number): boolean {
  return t === ETH_TYPE_MPLS || t === ETH_TYPE_MPLS_MC;
}


function writeMac(b: Uint8Array, at: number, hi16: number, lo32: number): void {
  b[at] = (hi16 >>> 8) & 0xff;
  b[at + 1] = hi16 & 0xff;
  wr32(b, at + 2, lo32);
}

/** A 6-byte address covered by the ICMPv6 checksum at `csumAt` (ND target link-layer options). */
function writeMacCsum(b: Uint8Array, at: number, csumAt: number, partial: boolean, hi16: number, lo32: number): void {
  if (!partial) {
    let c = rd16(b, csumAt);
    c = csumReplace16(c, rd16(b, at), hi16 & 0xffff);
    c = csumReplace32(c, rd32(b, at + 2), lo32 >>> 0);
    wr16(b, csumAt, c);
  }
  writeMac(b, at, hi16, lo32);
}

/** Offset (absolute) of the MAC inside the first 8-byte ND option of `type`, or -1. */
function ndOption(b: Uint8Array, o: number, x: FrameCursor, len: number, type: number): number {
  const end = o + ipEnd(b, o, x, len);
  let p = o + x.l4 + 24;
  while (p + 2 <= end) {
    const l = b[p + 1] << 3;
    if (l === 0 || p + l > end) return -1;
    if (l === 8 && b[p] === type) return p + 2;
    p += l;
  }
  return -1;
}

function icmpv6NdAt(x: FrameCursor, b: Uint8Array, o: number, len: number): boolean {
  if (!ipv6At(x, len) || x.proto !== IPPROTO_ICMPV6 || x.l4 === 0 || x.l4 + 24 > len) return false;
  const t = b[o + x.l4];
  return (t === ICMPV6_ND_NS || t === ICMPV6_ND_NA) && b[o + x.l4 + 1] === 0;
}

function arpAt(x: FrameCursor, b: Uint8Array, o: number, len: number): boolean {
  if (x.ethType !== ETH_TYPE_ARP || x.l3 === 0 || x.l3 + 28 > len) return false;
  const p = o + x.l3;
  return b[p] === 0 && b[p + 1] === 1 && b[p + 2] === 0x08 && b[p + 3] === 0 && b[p + 4] === 6 && b[p + 5] === 4;
}

function hasOuterVlan(b: Uint8Array, o: number, len: number): boolean {
  if (len < 18) return false;
  return isVlanTpid(rd16(b, o + 12));
}

/** Sets an IPv4 address word at L3 offset `field` (12 src, 16 dst) with IP and L4 checksum fix-ups. */
function setIpv4Addr(x: FrameCursor, field: number, v: number): boolean {
  if (!x.writable()) return false;
  const b = x.pool.bytes, o = x.pool.dataOff[x.cur], len = x.pool.len[x.cur];
  const at = o + x.l3 + field;
  const old = rd32(b, at);
  const nv = v >>> 0;
  if (old === nv) return true;
  wr32(b, at, nv);
  const ipc = o + x.l3 + 10;
  wr16(b, ipc, csumReplace32(rd16(b, ipc), old, nv));
  const c = pseudoCsumAt(x, o, len, false);
  if (c >= 0) fixPseudo32(b, c, x.proto === IPPROTO_UDP, isPartial(b, o), old, nv);
  return true;
}

/** Sets an IPv6 address at L3 offset `field` (8 src, 24 dst) with the L4 checksum fix-up. */
function setIpv6Addr(x: FrameCursor, field: number, w0: number, w1: number, w2: number, w3: number): boolean {
  if (!x.writable()) return false;
  const b = x.pool.bytes, o = x.pool.dataOff[x.cur], len = x.pool.len[x.cur];
  const at = o + x.l3 + field;
  const c = pseudoCsumAt(x, o, len, true);
  const udp = x.proto === IPPROTO_UDP;
  const partial = isPartial(b, o);
  for (let i = 0; i < 4; i++) {
    const nv = (i === 0 ? w0 : i === 1 ? w1 : i === 2 ? w2 : w3) >>> 0;
    const old = rd32(b, at + 4 * i);
    if (old === nv) continue;
    wr32(b, at + 4 * i, nv);
    if (c >= 0) fixPseudo32(b, c, udp, partial, old, nv);
  }
  return true;
}

/** Sets the 16-bit L4 word at L4 offset `field` (0 src port, 2 dst port) of protocol `proto` (TCP, UDP or SCTP). */
function setL4Port(x: FrameCursor, proto: number, field: number, v: number): boolean {
  const pool = x.pool;
  const len = pool.len[x.cur];
  if (x.proto !== proto || x.l4 === 0 || (x.ethType !== ETH_TYPE_IPV4 && x.ethType !== ETH_TYPE_IPV6)) return true;
  const need = proto === IPPROTO_TCP ? 18 : proto === IPPROTO_UDP ? 8 : 12;
  if (x.l4 + need > len) return true;
  if (!x.writable()) return false;
  const b = pool.bytes, o = pool.dataOff[x.cur];
  const at = o + x.l4 + field;
  const old = rd16(b, at);
  const nv = v & 0xffff;
  if (old === nv) return true;
  wr16(b, at, nv);
  if (proto === IPPROTO_SCTP) fixSctp(b, o, x, len);
  else if (!isPartial(b, o)) fixData16(b, o + x.l4 + (proto === IPPROTO_TCP ? 16 : 6), proto === IPPROTO_UDP, old, nv);
  return true;
}

/** ICMP type (field 0) or code (field 1), for ICMPv4 over IPv4 or ICMPv6 over IPv6. */
function setIcmp(x: FrameCursor, v6: boolean, field: number, v: number): boolean {
  const pool = x.pool;
  const len = pool.len[x.cur];
  const ok = v6 ? ipv6At(x, len) && x.proto === IPPROTO_ICMPV6 : ipv4At(x, len) && x.proto === IPPROTO_ICMP;
  if (!ok || x.l4 === 0 || x.l4 + 4 > len) return true;
  if (!x.writable()) return false;
  const b = pool.bytes, o = pool.dataOff[x.cur];
  const at = o + x.l4;
  const old = rd16(b, at);
  const nv = field === 0 ? ((v & 0xff) << 8) | (old & 0xff) : (old & 0xff00) | (v & 0xff);
  if (old === nv) return true;
  wr16(b, at, nv);
  if (!isPartial(b, o)) fixData16(b, at + 2, false, old, nv);
  return true;
}

/** eth_type: the ethertype the key reads (after the VLAN tags, or LLC/SNAP's), at l3 - 2; not for a plain 802.3 frame. */
function setEthType(x: FrameCursor, v: number): boolean {
  const len = x.pool.len[x.cur];
  if (x.l3 < 14 || x.l3 > len || x.ethType === ETH_TYPE_NONE) return true;
  if (!x.writable()) return false;
  wr16(x.pool.bytes, x.pool.dataOff[x.cur] + x.l3 - 2, v & 0xffff);
  return true;
}

const IP6_HOPOPTS = 0, IP6_ROUTING = 43, IP6_FRAGMENT = 44, IP6_AUTH = 51, IP6_DSTOPTS = 60;

/**
 * Absolute offset of the IPv6 next-header byte that holds ip_proto: the last
 * one of the extension header chain, walked as the parser walks it (it stops
 * after the fragment header of a later fragment). -1 when the chain leaves the frame.
 */
function ipv6ProtoAt(b: Uint8Array, o: number, x: FrameCursor, len: number): number {
  let at = o + x.l3 + 6;
  let q = x.l3 + 40;
  for (let i = 0; i < 16; i++) {
    const nh = b[at];
    if (nh !== IP6_HOPOPTS && nh !== IP6_ROUTING && nh !== IP6_FRAGMENT && nh !== IP6_AUTH && nh !== IP6_DSTOPTS) return at;
    if (q + 8 > len) return -1;
    const hlen = nh === IP6_FRAGMENT ? 8 : nh === IP6_AUTH ? (b[o + q + 1] + 2) << 2 : (b[o + q + 1] + 1) << 3;
    at = o + q;
    if (nh === IP6_FRAGMENT && (((b[o + q + 2] << 8) | b[o + q + 3]) & 0xfff8) !== 0) return at;
    q += hlen;
  }
  return -1;
}

/**
 * ip_proto: the IPv4 protocol (header checksum patched) or the IPv6 upper-layer
 * next header. The L4 bytes are left as they are: the frame now says they are
 * another protocol's, and the re-parse that follows reads them that way
 * (ofsoftswitch13 re-parses after a set-field too); no L4 checksum is touched.
 */
function setIpProto(x: FrameCursor, v: number): boolean {
  const pool = x.pool, len = pool.len[x.cur];
  const v4 = ipv4At(x, len);
  if (!v4 && !ipv6At(x, len)) return true;
  if (!v4 && ipv6ProtoAt(pool.bytes, pool.dataOff[x.cur], x, len) < 0) return true;
  if (!x.writable()) return false;
  const b = pool.bytes, o = pool.dataOff[x.cur];
  if (v4) {
    const at = o + x.l3 + 8;
    const old = rd16(b, at);
    const nw = (old & 0xff00) | (v & 0xff);
    wr16(b, at, nw);
    wr16(b, o + x.l3 + 10, csumReplace16(rd16(b, o + x.l3 + 10), old, nw));
  } else {
    b[ipv6ProtoAt(b, o, x, len)] = v & 0xff;
  }
  return true;
}

/** Set-fields after which the cursor's view (eth type, ip proto, L3/L4 offsets) must be re-read from the bytes. */
const SET_REPARSE = Uint8Array.from(FIELDS, (f) => (f.set?.kind === SetKind.EthType || f.set?.kind === SetKind.IpProto ? 1 : 0));

/** True when the executor must re-parse the frame after a set-field of `fid` (eth_type, ip_proto). */
export function setFieldReparses(fid: number): boolean {
  return SET_REPARSE[fid] !== 0;
}

/**
 * One set-field on the cursor's frame. Fields whose header the frame lacks
 * are skipped. Returns false only when the frame could not be made writable.
 */
export function execSetField(x: FrameCursor, fid: number, w0: number, w1: number, w2: number, w3: number): boolean {
  const pool = x.pool;
  switch (SET_KIND[fid]) {
    case SetKind.Metadata:
      x.metaHi = w0;
      x.metaLo = w1;
      return true;
    case SetKind.TunnelId:
      x.tunHi = w0;
      x.tunLo = w1;
      return true;
    case SetKind.EthAddr: {
      if (pool.len[x.cur] < 14) return true;
      if (!x.writable()) return false;
      writeMac(pool.bytes, pool.dataOff[x.cur] + SET_AT[fid], w0, w1);
      return true;
    }
    case SetKind.VlanTci: {
      if (!hasOuterVlan(pool.bytes, pool.dataOff[x.cur], pool.len[x.cur])) return true;
      if (!x.writable()) return false;
      const b = pool.bytes, at = pool.dataOff[x.cur] + 14;
      const s = SET_SHIFT[fid], m = SET_BITS[fid];
      wr16(b, at, (rd16(b, at) & ~(m << s)) | ((w0 & m) << s));
      return true;
    }
    case SetKind.IpTos: return setTos(x, SET_SHIFT[fid], SET_BITS[fid], w0);
    case SetKind.Ipv4Addr:
      if (!ipv4At(x, pool.len[x.cur])) return true;
      return setIpv4Addr(x, SET_AT[fid], w0);
    case SetKind.Ipv6Addr:
      if (!ipv6At(x, pool.len[x.cur])) return true;
      return setIpv6Addr(x, SET_AT[fid], w0, w1, w2, w3);
    case SetKind.Ipv6Word0:
      if (!ipv6At(x, pool.len[x.cur])) return true;
      return setBits32AtL3(x, fid, w0);
    case SetKind.L4Port: return setL4Port(x, SET_PROTO[fid], SET_AT[fid], w0);
    case SetKind.Icmp: return setIcmp(x, SET_PROTO[fid] === IPPROTO_ICMPV6, SET_AT[fid], w0);
    case SetKind.Arp: {
      if (!arpAt(x, pool.bytes, pool.dataOff[x.cur], pool.len[x.cur])) return true;
      if (!x.writable()) return false;
      const b = pool.bytes, p = pool.dataOff[x.cur] + x.l3 + SET_AT[fid];
      switch (SET_BYTES[fid]) {
        case 2: wr16(b, p, w0); break;
        case 4: wr32(b, p, w0); break;
        default: writeMac(b, p, w0, w1);
      }
      return true;
    }
    case SetKind.NdTarget: {
      if (!icmpv6NdAt(x, pool.bytes, pool.dataOff[x.cur], pool.len[x.cur])) return true;
      if (!x.writable()) return false;
      const b = pool.bytes, o = pool.dataOff[x.cur];
      const at = o + x.l4 + SET_AT[fid];
      const c = o + x.l4 + 2;
      const partial = isPartial(b, o);
      for (let i = 0; i < 4; i++) {
        const nv = (i === 0 ? w0 : i === 1 ? w1 : i === 2 ? w2 : w3) >>> 0;
        const old = rd32(b, at + 4 * i);
        wr32(b, at + 4 * i, nv);
        if (!partial) wr16(b, c, csumReplace32(rd16(b, c), old, nv));
      }
      return true;
    }
    case SetKind.NdOption: {
      const b0 = pool.bytes, o0 = pool.dataOff[x.cur], len = pool.len[x.cur];
      if (!icmpv6NdAt(x, b0, o0, len)) return true;
      const type = SET_AT[fid];
      if (ndOption(b0, o0, x, len, type) < 0) return true;
      if (!x.writable()) return false;
      const b = pool.bytes, o = pool.dataOff[x.cur];
      const at = ndOption(b, o, x, len, type);
      writeMacCsum(b, at, o + x.l4 + 2, isPartial(b, o), w0, w1);
      return true;
    }
    case SetKind.MplsLse:
      if (!isMpls(x.ethType) || x.l3 === 0 || x.l3 + 4 > pool.len[x.cur]) return true;
      return setBits32AtL3(x, fid, w0);
    case SetKind.EthType: return setEthType(x, w0);
    case SetKind.IpProto: return setIpProto(x, w0);
    case SetKind.PbbItag:
      if (x.ethType !== ETH_TYPE_PBB || x.l3 === 0 || x.l3 + 4 > pool.len[x.cur]) return true;
      return setBits32AtL3(x, fid, w0);
    default:
      return true; // not settable: refused at validation
  }
}
