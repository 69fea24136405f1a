/*
 * In-place header edits for the OpenFlow set-field action (and the IP TTL
 * and DSCP edits that TTL actions and meter remark bands need), on the frame
 * a FrameCursor points at.
 *
 * What
 *   execSetField(x, fid, w0..w3)  one set-field (value words as of-ops.ts)
 *   ipTtl / setIpTtl / remarkDscp  IPv4 TTL or IPv6 hop limit, DSCP drop precedence
 *   crc32c(...)                    SCTP's checksum
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
 *     ICMPv4 checksum for type/code; SCTP's CRC32c is recomputed. A frame
 *     whose vnet header says NEEDS_CSUM carries in its L4 checksum field only
 *     the pseudo-header sum (CHECKSUM_PARTIAL): address edits patch that sum
 *     (uncomplemented), edits of covered data leave it alone (the sum is
 *     completed later over the new bytes). A UDP checksum of 0 ("none") stays 0.
 *   - x.writable() is called only once the field is known to apply: it may
 *     move the cursor to a copy of the frame (copy-on-write), so offsets are
 *     read after it.
 *
 * Invariants
 * - No allocation, no throw; returns false only when writable() failed (no
 *   free slot for the copy), and the caller stops the frame.
 */

import { csumReplace16, csumReplace32 } from '../../packet/checksum.js';
import { ETH_TYPE_ARP, ETH_TYPE_IPV4, ETH_TYPE_IPV6, ETH_TYPE_MPLS, ETH_TYPE_MPLS_MC, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, isVlanTpid } from '../../flow/key.js';
import { rd16, rd32, wr16, wr32 } from '../../packet/frame-bytes.js';
import { Fid } from './fid.js';
import type { PacketPool } from '../../packet/pool.js';
import { VNET_F_NEEDS_CSUM, VNET_HDR_LEN } from '../../packet/vnet.js';

/** The state of the frame being processed, as set-field reads and moves it. */
export interface FrameCursor {
  readonly pool: PacketPool;
  /** Slot of the frame (changes when writable() copies it). */
  cur: number;
  /** Offsets from the frame start: L3 header (0 = none), L4 header (0 = none). */
  l3: number;
  l4: number;
  /** eth_type of the header at l3 and ip_proto (for IP) as the pipeline knows them. */
  ethType: number;
  proto: number;
  metaHi: number;
  metaLo: number;
  tunHi: number;
  tunLo: number;
  /** Makes the frame's bytes editable (a copy if they are frozen); false when no slot was free. */
  writable(): boolean;
}

const ND_NS = 135;
const ND_NA = 136;
const ND_OPT_SLL = 1;
const ND_OPT_TLL = 2;


/** Replaces a 16-bit word of a header covered by the checksum at `at` (a UDP checksum of 0 stays 0). */
function fixData16(b: Uint8Array, at: number, udp: boolean, oldW: number, newW: number): void {
  const c = rd16(b, at);
  if (udp && c === 0) return;
  let n = csumReplace16(c, oldW, newW);
  if (udp && n === 0) n = 0xffff;
  wr16(b, at, n);
}

/** Replaces a 32-bit pseudo-header word under the L4 checksum at `at`; `partial`: the field holds the uncomplemented pseudo sum. */
function fixPseudo32(b: Uint8Array, at: number, udp: boolean, partial: boolean, oldV: number, newV: number): void {
  const c = rd16(b, at);
  if (partial) {
    wr16(b, at, ~csumReplace32(~c & 0xffff, oldV, newV) & 0xffff);
    return;
  }
  if (udp && c === 0) return;
  let n = csumReplace32(c, oldV, newV);
  if (udp && n === 0) n = 0xffff;
  wr16(b, at, n);
}

function isPartial(b: Uint8Array, o: number): boolean {
  return (b[o - VNET_HDR_LEN] & VNET_F_NEEDS_CSUM) !== 0;
}

function ipv4At(x: FrameCursor, len: number): boolean {
  return x.ethType === ETH_TYPE_IPV4 && x.l3 !== 0 && x.l3 + 20 <= len;
}

function ipv6At(x: FrameCursor, len: number): boolean {
  return x.ethType === ETH_TYPE_IPV6 && x.l3 !== 0 && x.l3 + 40 <= len;
}

function isMpls(t: number): boolean {
  return t === ETH_TYPE_MPLS || t === ETH_TYPE_MPLS_MC;
}

/** Absolute offset of the L4 checksum that covers the IP pseudo-header (TCP, UDP, ICMPv6), or -1. */
function pseudoCsumAt(x: FrameCursor, o: number, len: number, isV6: boolean): number {
  const l4 = x.l4;
  if (l4 === 0) return -1;
  switch (x.proto) {
    case IPPROTO_TCP: return l4 + 18 <= len ? o + l4 + 16 : -1;
    case IPPROTO_UDP: return l4 + 8 <= len ? o + l4 + 6 : -1;
    case IPPROTO_ICMPV6: return isV6 && l4 + 4 <= len ? o + l4 + 2 : -1;
    default: return -1;
  }
}

/** End of the IP payload (bounded by the frame). */
function ipEnd(b: Uint8Array, o: number, x: FrameCursor, len: number): number {
  let end = len;
  if (x.ethType === ETH_TYPE_IPV4) {
    const tot = rd16(b, o + x.l3 + 2);
    if (tot !== 0 && x.l3 + tot < end) end = x.l3 + tot;
  } else {
    const pl = rd16(b, o + x.l3 + 4);
    if (pl !== 0 && x.l3 + 40 + pl < end) end = x.l3 + 40 + pl;
  }
  return end;
}

const CRC32C_TABLE = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  CRC32C_TABLE[i] = c >>> 0;
}

/** CRC32c (Castagnoli) of b[from, to) with bytes [zeroFrom, zeroTo) read as 0; the final, inverted value. */
export function crc32c(b: Uint8Array, from: number, to: number, zeroFrom = 0, zeroTo = 0): number {
  let c = 0xffffffff;
  for (let i = from; i < to; i++) {
    const byte = i >= zeroFrom && i < zeroTo ? 0 : b[i];
    c = CRC32C_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** Recomputes the SCTP checksum of the frame at `o` (stored little-endian, as RFC 4960 appendix B puts it on the wire). */
function fixSctp(b: Uint8Array, o: number, x: FrameCursor, len: number): void {
  if (isPartial(b, o)) return;
  const s = o + x.l4;
  const crc = crc32c(b, s, o + ipEnd(b, o, x, len), s + 8, s + 12);
  b[s + 8] = crc & 0xff;
  b[s + 9] = (crc >>> 8) & 0xff;
  b[s + 10] = (crc >>> 16) & 0xff;
  b[s + 11] = crc >>> 24;
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
  return (t === ND_NS || t === ND_NA) && b[o + x.l4 + 1] === 0;
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

/** Sets the 16-bit L4 word at L4 offset `field` (0 src port, 2 dst port) of protocol `proto`. */
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

/** The IPv4 TTL or IPv6 hop limit, or -1 when the frame is not IP. */
export function ipTtl(x: FrameCursor): number {
  const pool = x.pool, len = pool.len[x.cur];
  const b = pool.bytes, o = pool.dataOff[x.cur];
  if (ipv4At(x, len)) return b[o + x.l3 + 8];
  if (ipv6At(x, len)) return b[o + x.l3 + 7];
  return -1;
}

/** Writes the IPv4 TTL (with checksum) or IPv6 hop limit. False only when writable() failed. */
export function setIpTtl(x: FrameCursor, ttl: number): boolean {
  const len = x.pool.len[x.cur];
  const v4 = ipv4At(x, len);
  if (!v4 && !ipv6At(x, len)) return true;
  if (!x.writable()) return false;
  const b = x.pool.bytes, o = x.pool.dataOff[x.cur];
  if (v4) {
    const at = o + x.l3 + 8;
    const old = rd16(b, at);
    const nv = ((ttl & 0xff) << 8) | b[at + 1];
    wr16(b, at, nv);
    wr16(b, o + x.l3 + 10, csumReplace16(rd16(b, o + x.l3 + 10), old, nv));
  } else {
    b[o + x.l3 + 7] = ttl & 0xff;
  }
  return true;
}

/** Writes DSCP (IPv4 with checksum, IPv6 traffic class); ECN when `ecn` (value in the low 2 bits). */
function setTos(x: FrameCursor, v: number, ecn: boolean): boolean {
  const len = x.pool.len[x.cur];
  const v4 = ipv4At(x, len);
  if (!v4 && !ipv6At(x, len)) return true;
  if (!x.writable()) return false;
  const b = x.pool.bytes, o = x.pool.dataOff[x.cur], p = o + x.l3;
  if (v4) {
    const old = rd16(b, p);
    const tos = b[p + 1];
    const nt = ecn ? (tos & 0xfc) | (v & 3) : ((v & 0x3f) << 2) | (tos & 3);
    const nw = (old & 0xff00) | nt;
    wr16(b, p, nw);
    wr16(b, p + 10, csumReplace16(rd16(b, p + 10), old, nw));
  } else {
    const tc = ((b[p] & 0x0f) << 4) | (b[p + 1] >> 4);
    const nt = ecn ? (tc & 0xfc) | (v & 3) : ((v & 0x3f) << 2) | (tc & 3);
    b[p] = (b[p] & 0xf0) | (nt >> 4);
    b[p + 1] = (b[p + 1] & 0x0f) | ((nt & 0x0f) << 4);
  }
  return true;
}

/** Raises the DSCP drop precedence (bits 1..2 of the AF code point) by `prec`, saturating. */
export function remarkDscp(x: FrameCursor, prec: number): boolean {
  const len = x.pool.len[x.cur];
  const b = x.pool.bytes, o = x.pool.dataOff[x.cur];
  let dscp: number;
  if (ipv4At(x, len)) dscp = b[o + x.l3 + 1] >> 2;
  else if (ipv6At(x, len)) dscp = (((b[o + x.l3] & 0x0f) << 4) | (b[o + x.l3 + 1] >> 4)) >> 2;
  else return true;
  let dp = ((dscp >> 1) & 3) + prec;
  if (dp > 3) dp = 3;
  return setTos(x, (dscp & ~6) | (dp << 1), false);
}

/**
 * One set-field on the cursor's frame. Fields whose header the frame lacks
 * are skipped. Returns false only when the frame could not be made writable.
 */
export function execSetField(x: FrameCursor, fid: number, w0: number, w1: number, w2: number, w3: number): boolean {
  const pool = x.pool;
  switch (fid) {
    case Fid.Metadata:
      x.metaHi = w0;
      x.metaLo = w1;
      return true;
    case Fid.TunnelId:
      x.tunHi = w0;
      x.tunLo = w1;
      return true;
    case Fid.EthDst:
    case Fid.EthSrc: {
      if (pool.len[x.cur] < 14) return true;
      if (!x.writable()) return false;
      writeMac(pool.bytes, pool.dataOff[x.cur] + (fid === Fid.EthDst ? 0 : 6), w0, w1);
      return true;
    }
    case Fid.VlanVid:
    case Fid.VlanPcp: {
      if (!hasOuterVlan(pool.bytes, pool.dataOff[x.cur], pool.len[x.cur])) return true;
      if (!x.writable()) return false;
      const b = pool.bytes, at = pool.dataOff[x.cur] + 14;
      const tci = rd16(b, at);
      wr16(b, at, fid === Fid.VlanVid ? (tci & 0xf000) | (w0 & 0x0fff) : (tci & 0x1fff) | ((w0 & 7) << 13));
      return true;
    }
    case Fid.IpDscp: return setTos(x, w0, false);
    case Fid.IpEcn: return setTos(x, w0, true);
    case Fid.Ipv4Src:
    case Fid.Ipv4Dst:
      if (!ipv4At(x, pool.len[x.cur])) return true;
      return setIpv4Addr(x, fid === Fid.Ipv4Src ? 12 : 16, w0);
    case Fid.Ipv6Src:
    case Fid.Ipv6Dst:
      if (!ipv6At(x, pool.len[x.cur])) return true;
      return setIpv6Addr(x, fid === Fid.Ipv6Src ? 8 : 24, w0, w1, w2, w3);
    case Fid.Ipv6Flabel: {
      if (!ipv6At(x, pool.len[x.cur])) return true;
      if (!x.writable()) return false;
      const b = pool.bytes, p = pool.dataOff[x.cur] + x.l3;
      b[p + 1] = (b[p + 1] & 0xf0) | ((w0 >>> 16) & 0x0f);
      b[p + 2] = (w0 >>> 8) & 0xff;
      b[p + 3] = w0 & 0xff;
      return true;
    }
    case Fid.TcpSrc: return setL4Port(x, IPPROTO_TCP, 0, w0);
    case Fid.TcpDst: return setL4Port(x, IPPROTO_TCP, 2, w0);
    case Fid.UdpSrc: return setL4Port(x, IPPROTO_UDP, 0, w0);
    case Fid.UdpDst: return setL4Port(x, IPPROTO_UDP, 2, w0);
    case Fid.SctpSrc: return setL4Port(x, IPPROTO_SCTP, 0, w0);
    case Fid.SctpDst: return setL4Port(x, IPPROTO_SCTP, 2, w0);
    case Fid.Icmpv4Type: return setIcmp(x, false, 0, w0);
    case Fid.Icmpv4Code: return setIcmp(x, false, 1, w0);
    case Fid.Icmpv6Type: return setIcmp(x, true, 0, w0);
    case Fid.Icmpv6Code: return setIcmp(x, true, 1, w0);
    case Fid.ArpOp:
    case Fid.ArpSpa:
    case Fid.ArpTpa:
    case Fid.ArpSha:
    case Fid.ArpTha: {
      if (!arpAt(x, pool.bytes, pool.dataOff[x.cur], pool.len[x.cur])) return true;
      if (!x.writable()) return false;
      const b = pool.bytes, p = pool.dataOff[x.cur] + x.l3;
      if (fid === Fid.ArpOp) wr16(b, p + 6, w0);
      else if (fid === Fid.ArpSpa) wr32(b, p + 14, w0);
      else if (fid === Fid.ArpTpa) wr32(b, p + 24, w0);
      else writeMac(b, p + (fid === Fid.ArpSha ? 8 : 18), w0, w1);
      return true;
    }
    case Fid.Ipv6NdTarget: {
      if (!icmpv6NdAt(x, pool.bytes, pool.dataOff[x.cur], pool.len[x.cur])) return true;
      if (!x.writable()) return false;
      const b = pool.bytes, o = pool.dataOff[x.cur];
      const at = o + x.l4 + 8;
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
    case Fid.Ipv6NdSll:
    case Fid.Ipv6NdTll: {
      const b0 = pool.bytes, o0 = pool.dataOff[x.cur], len = pool.len[x.cur];
      if (!icmpv6NdAt(x, b0, o0, len)) return true;
      if (ndOption(b0, o0, x, len, fid === Fid.Ipv6NdSll ? ND_OPT_SLL : ND_OPT_TLL) < 0) return true;
      if (!x.writable()) return false;
      const b = pool.bytes, o = pool.dataOff[x.cur];
      const at = ndOption(b, o, x, len, fid === Fid.Ipv6NdSll ? ND_OPT_SLL : ND_OPT_TLL);
      writeMacCsum(b, at, o + x.l4 + 2, isPartial(b, o), w0, w1);
      return true;
    }
    case Fid.MplsLabel:
    case Fid.MplsTc: {
      if (!isMpls(x.ethType) || x.l3 === 0 || x.l3 + 4 > pool.len[x.cur]) return true;
      if (!x.writable()) return false;
      const b = pool.bytes, at = pool.dataOff[x.cur] + x.l3;
      const lse = rd32(b, at);
      wr32(b, at, fid === Fid.MplsLabel ? ((lse & 0xfff) | ((w0 & 0xfffff) << 12)) >>> 0 : ((lse & ~0xe00) | ((w0 & 7) << 9)) >>> 0);
      return true;
    }
    default:
      return true; // not settable: refused at validation
  }
}
