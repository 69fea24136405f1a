/*
 * In-place header edits for the OpenFlow set-field action (and the IP TTL
 * and DSCP edits that TTL actions and meter remark bands need), on the frame
 * a FrameCursor points at.
 *
 * What
 *   execSetField(x, fid, w0..w3)  one set-field (value words as ops.ts)
 *   ipTtl / setIpTtl / remarkDscp  IPv4 TTL or IPv6 hop limit, DSCP drop precedence
 *   setFieldReparses(fid)          eth_type and ip_proto change how the bytes read:
 *                                  the executor re-parses after them
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
 *     ICMPv4 checksum for type/code; SCTP's CRC32c is recomputed (packet/checksum.ts)
 *     after a port edit, and left alone by address edits (it has no pseudo-header). A frame
 *     whose vnet header says NEEDS_CSUM carries in its L4 checksum field only
 *     the pseudo-header sum (CHECKSUM_PARTIAL): address edits patch that sum
 *     (uncomplemented), edits of covered data leave it alone (the sum is
 *     completed later over the new bytes). A UDP checksum of 0 ("none") stays 0.
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

import { csumReplace16, csumReplace32, writeSctpChecksum } from '../../packet/checksum.js';
import {
  ETH_TYPE_ARP, ETH_TYPE_IPV4, ETH_TYPE_IPV6, ETH_TYPE_MPLS, ETH_TYPE_MPLS_MC, ETH_TYPE_PBB, ICMPV6_ND_NA, ICMPV6_ND_NS, IPPROTO_ICMP, IPPROTO_ICMPV6,
  IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, isVlanTpid,
} from '../../flow/key.js';
import { Fid, FIELDS, requiredValue, SetKind } from '../../flow/fields.js';
import { ETH_TYPE_NONE, parseFrame } from '../parse/parse.js';
import type { ParsedBatch } from '../parse/parse.js';
import { K } from '../../flow/key.js';
import { rd16, rd32, wr16, wr32 } from '../../packet/frame-bytes.js';
import type { PacketPool } from '../../packet/pool.js';
import { VNET_F_NEEDS_CSUM, VNET_HDR_LEN } from '../../packet/vnet.js';

/** The state of the frame being processed, as set-field reads and moves it. */
/**
 * The frame state the actions work on: a slot and what the pipeline knows of it. The action
 * executor, the trace executor and NORMAL's tag cursor extend it (the state is declared once).
 */
export abstract class FrameCursor {
  /** Slot of the frame (changes when writable() copies it). */
  cur = 0;
  /** Offsets from the frame start: L3 header (0 = none), L4 header (0 = none). */
  l3 = 0;
  l4 = 0;
  /** eth_type of the header at l3 and ip_proto (for IP) as the pipeline knows them. */
  ethType = 0;
  proto = 0;
  metaHi = 0;
  metaLo = 0;
  tunHi = 0;
  tunLo = 0;
  constructor(readonly pool: PacketPool) {}
  /** Makes the frame's bytes editable (a copy if they are frozen); false when no slot was free. */
  abstract writable(): boolean;

  /** write-metadata: the masked bits of (hi, lo) replace the metadata's. */
  writeMetadata(hi: number, lo: number, maskHi: number, maskLo: number): void {
    this.metaHi = (this.metaHi & ~maskHi) | (hi & maskHi);
    this.metaLo = (this.metaLo & ~maskLo) | (lo & maskLo);
  }

  /** Takes metadata and tunnel id from the frame's flow key at key[kb]. */
  stateFromKey(key: Uint32Array, kb: number): void {
    this.metaHi = key[kb + K.MetadataHi] | 0;
    this.metaLo = key[kb + K.MetadataLo] | 0;
    this.tunHi = key[kb + K.TunnelHi] | 0;
    this.tunLo = key[kb + K.TunnelLo] | 0;
  }

  /**
   * Re-parses the frame into row 0 of `s` (after pop MPLS; for NORMAL after edits): its key keeps
   * metadata and tunnel id, and l3, l4, eth type and proto follow the new headers. Returns the key.
   */
  reparseInto(s: ParsedBatch, inPort: number): Uint32Array {
    const pool = this.pool;
    parseFrame(pool.bytes, pool.dataOff[this.cur], pool.len[this.cur], inPort, s, 0);
    const k = s.keys;
    this.keyTakesState(k);
    this.l3 = s.l3[0];
    this.l4 = s.l4[0];
    this.ethType = k[K.EthTypeVlan] >>> 16;
    this.proto = k[K.IpProtoTosTtlFrag] >>> 24;
    return k;
  }

  /** Copies metadata and tunnel id into a flow key (the next table's lookup key). */
  keyTakesState(key: Uint32Array): void {
    key[K.MetadataHi] = this.metaHi;
    key[K.MetadataLo] = this.metaLo;
    key[K.TunnelHi] = this.tunHi;
    key[K.TunnelLo] = this.tunLo;
  }
}

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

/** Recomputes the SCTP checksum of the frame at `o` (CRC32c over the SCTP packet; no pseudo-header). A CHECKSUM_PARTIAL frame is completed at output. */
function fixSctp(b: Uint8Array, o: number, x: FrameCursor, len: number): void {
  if (isPartial(b, o)) return;
  const s = o + x.l4;
  const end = o + ipEnd(b, o, x, len);
  if (end >= s + 12) writeSctpChecksum(b, s, end);
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

/** Writes `bits` at `shift` of the IPv4 TOS (with checksum) or IPv6 traffic class: DSCP is 0x3f at 2, ECN 0x3 at 0. */
function setTos(x: FrameCursor, shift: number, bits: number, v: number): boolean {
  const len = x.pool.len[x.cur];
  const v4 = ipv4At(x, len);
  if (!v4 && !ipv6At(x, len)) return true;
  if (!x.writable()) return false;
  const b = x.pool.bytes, o = x.pool.dataOff[x.cur], p = o + x.l3;
  const keep = ~(bits << shift) & 0xff;
  const put = (v & bits) << shift;
  if (v4) {
    const old = rd16(b, p);
    const nw = (old & 0xff00) | (b[p + 1] & keep) | put;
    wr16(b, p, nw);
    wr16(b, p + 10, csumReplace16(rd16(b, p + 10), old, nw));
  } else {
    const tc = ((b[p] & 0x0f) << 4) | (b[p + 1] >> 4);
    const nt = (tc & keep) | put;
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
  return setTos(x, 2, 0x3f, (dscp & ~6) | (dp << 1));
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
