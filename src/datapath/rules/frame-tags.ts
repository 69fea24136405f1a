/*
 * Tag actions on the frame a FrameCursor points at: push/pop VLAN, push/pop
 * MPLS, and the MPLS TTL actions (set, decrement, copy in/out).
 *
 * Design
 *   - A push moves the bytes before the new tag (the MACs for VLAN; the whole
 *     L2 header with its tags for MPLS) back by 4 into the slot's headroom and
 *     moves dataOff back; a pop moves them forward. The 10-byte vnet header
 *     before dataOff moves with them, and its csum_start (and hdr_len of a GSO
 *     frame) follows the L4 header, so offload state stays right.
 *   - VLAN: the new tag goes right after the MACs (outermost); its VID and
 *     PCP are copied from the tag it covers, or 0 (spec table "push tag
 *     fields"). MPLS: the label stack entry goes between the L2 header (VLAN
 *     tags included, the OpenFlow 1.1/1.2 and OVS placement) and L3; the new
 *     entry copies the entry it covers with BOS cleared, or is label 0, TC 0,
 *     BOS 1 with the IP TTL (0 for non-IP). LLC/SNAP frames keep a right
 *     802.3 length.
 *   - Only the cursor's l3/l4/ethType are updated; after pop MPLS the caller
 *     re-parses (the payload type is known only from the bytes).
 *
 * Invariants
 * - No allocation, no throw, nothing read or written past the frame end or
 *   before the slot start. Results: TAG_OK (done or not applicable),
 *   TAG_NO_COPY (writable() failed), TAG_NO_ROOM (headroom used up),
 *   TAG_BAD_TTL (a decrement found TTL <= 1: the caller drops the frame).
 */

import { ETH_TYPE_MPLS, ETH_TYPE_MPLS_MC, isVlanTpid } from '../../flow/key.js';
import { rd16, wr16 } from '../../packet/frame-bytes.js';
import type { FrameCursor } from './frame-cursor.js';
import { ipTtl } from './ip-ttl-tos.js';
import { csumReplace16 } from '../../packet/checksum.js';
import { VNET_CSUM_START, VNET_F_NEEDS_CSUM, VNET_GSO_NONE, VNET_GSO_TYPE, VNET_HDR_LEN, VNET_HDR_LEN_OFF } from '../../packet/vnet.js';

export const TAG_OK = 0;
export const TAG_NO_COPY = 1;
export const TAG_NO_ROOM = 2;
export const TAG_BAD_TTL = 3;

const TAG = 4;


export function isMplsType(t: number): boolean {
  return t === ETH_TYPE_MPLS || t === ETH_TYPE_MPLS_MC;
}

/** Moves csum_start (and a GSO frame's hdr_len) of the vnet header before `o` by `delta`. */
function shiftVnet(b: Uint8Array, o: number, delta: number): void {
  const v = o - VNET_HDR_LEN;
  if ((b[v] & VNET_F_NEEDS_CSUM) !== 0) {
    const s = b[v + VNET_CSUM_START] | (b[v + VNET_CSUM_START + 1] << 8);
    const n = s + delta;
    b[v + VNET_CSUM_START] = n & 0xff;
    b[v + VNET_CSUM_START + 1] = (n >>> 8) & 0xff;
  }
  if (b[v + VNET_GSO_TYPE] !== VNET_GSO_NONE) {
    const h = b[v + VNET_HDR_LEN_OFF] | (b[v + VNET_HDR_LEN_OFF + 1] << 8);
    const n = h + delta;
    b[v + VNET_HDR_LEN_OFF] = n & 0xff;
    b[v + VNET_HDR_LEN_OFF + 1] = (n >>> 8) & 0xff;
  }
}

/** Fixes the 802.3 length field (if the frame is 802.3, found after its VLAN tags) by `delta`. */
function fix8023Length(b: Uint8Array, n: number, l3: number, delta: number): void {
  let p = 12;
  while (p + 4 <= l3 && isVlanTpid(rd16(b, n + p))) p += 4;
  const t = rd16(b, n + p);
  if (t < 0x0600) wr16(b, n + p, t + delta);
}

/** Room for `bytes` more bytes (and the vnet header) before the frame, inside its slot. */
export function hasRoom(x: FrameCursor, bytes: number): boolean {
  return x.pool.dataOff[x.cur] - bytes - VNET_HDR_LEN >= x.cur * x.pool.slotSize;
}

/**
 * Moves the frame's start `grow` bytes earlier (negative: later): the vnet header moves
 * to just before the new start, length and csum_start follow. Returns the new start.
 * A push calls it before moving its headers down, a pop after moving them up.
 */
export function moveFront(x: FrameCursor, grow: number): number {
  const pool = x.pool, b = pool.bytes, o = pool.dataOff[x.cur], n = o - grow;
  b.copyWithin(n - VNET_HDR_LEN, o - VNET_HDR_LEN, o);
  pool.dataOff[x.cur] = n;
  pool.len[x.cur] += grow;
  shiftVnet(b, n, grow);
  return n;
}

/** push_vlan with TPID `tpid` (0x8100 or 0x88a8). */
export function pushVlan(x: FrameCursor, tpid: number): number {
  if (x.pool.len[x.cur] < 14) return TAG_OK; // no Ethernet header to tag
  if (!x.writable()) return TAG_NO_COPY;
  if (!hasRoom(x, TAG)) return TAG_NO_ROOM;
  const pool = x.pool, b = pool.bytes, o = pool.dataOff[x.cur], len = pool.len[x.cur];
  const tci = len >= 18 && isVlanTpid(rd16(b, o + 12)) ? rd16(b, o + 14) & 0xefff : 0;
  const n = moveFront(x, TAG);
  b.copyWithin(n, o, o + 12);
  wr16(b, n + 12, tpid);
  wr16(b, n + 14, tci);
  if (x.l3 !== 0) x.l3 += TAG;
  if (x.l4 !== 0) x.l4 += TAG;
  return TAG_OK;
}

/** pop_vlan: removes the outer tag, if any. */
export function popVlan(x: FrameCursor): number {
  const pool = x.pool;
  if (pool.len[x.cur] < 18 || !isVlanTpid(rd16(pool.bytes, pool.dataOff[x.cur] + 12))) return TAG_OK;
  if (!x.writable()) return TAG_NO_COPY;
  const b = pool.bytes, o = pool.dataOff[x.cur];
  b.copyWithin(o + TAG, o, o + 12);
  moveFront(x, -TAG);
  if (x.l3 !== 0) x.l3 -= TAG;
  if (x.l4 !== 0) x.l4 -= TAG;
  return TAG_OK;
}

/** push_mpls with ethertype 0x8847/0x8848: a new label stack entry at L3. */
export function pushMpls(x: FrameCursor, ethertype: number): number {
  const l3 = x.l3;
  if (l3 < 14 || l3 > x.pool.len[x.cur]) return TAG_OK;
  let lse: number;
  if (isMplsType(x.ethType) && l3 + 4 <= x.pool.len[x.cur]) {
    const b = x.pool.bytes, p = x.pool.dataOff[x.cur] + l3;
    lse = ((b[p] << 24) | (b[p + 1] << 16) | ((b[p + 2] & 0xfe) << 8) | b[p + 3]) >>> 0;
  } else {
    const ttl = ipTtl(x);
    lse = 0x100 | (ttl < 0 ? 0 : ttl);
  }
  if (!x.writable()) return TAG_NO_COPY;
  if (!hasRoom(x, TAG)) return TAG_NO_ROOM;
  const b = x.pool.bytes, o = x.pool.dataOff[x.cur];
  const n = moveFront(x, TAG);
  b.copyWithin(n, o, o + l3);
  wr16(b, n + l3 - 2, ethertype);
  b[n + l3] = lse >>> 24;
  b[n + l3 + 1] = (lse >>> 16) & 0xff;
  b[n + l3 + 2] = (lse >>> 8) & 0xff;
  b[n + l3 + 3] = lse & 0xff;
  fix8023Length(b, n, l3, TAG);
  x.ethType = ethertype;
  x.l4 = 0;
  return TAG_OK;
}

/** pop_mpls: removes the top label stack entry; the payload's type becomes `ethertype`. The caller re-parses. */
export function popMpls(x: FrameCursor, ethertype: number): number {
  const l3 = x.l3;
  if (!isMplsType(x.ethType) || l3 < 14 || l3 + 4 > x.pool.len[x.cur]) return TAG_OK;
  if (!x.writable()) return TAG_NO_COPY;
  const b = x.pool.bytes, o = x.pool.dataOff[x.cur];
  b.copyWithin(o + TAG, o, o + l3);
  const n = moveFront(x, -TAG);
  wr16(b, n + l3 - 2, ethertype);
  fix8023Length(b, n, l3, -TAG);
  x.ethType = ethertype;
  x.l4 = 0;
  return TAG_OK;
}

function topLseAt(x: FrameCursor): number {
  if (!isMplsType(x.ethType) || x.l3 === 0 || x.l3 + 4 > x.pool.len[x.cur]) return -1;
  return x.pool.dataOff[x.cur] + x.l3;
}

/** set_mpls_ttl. */
export function setMplsTtl(x: FrameCursor, ttl: number): number {
  if (topLseAt(x) < 0) return TAG_OK;
  if (!x.writable()) return TAG_NO_COPY;
  x.pool.bytes[topLseAt(x) + 3] = ttl & 0xff;
  return TAG_OK;
}

/** dec_mpls_ttl: TAG_BAD_TTL when the TTL is 0 or 1. */
export function decMplsTtl(x: FrameCursor): number {
  const at = topLseAt(x);
  if (at < 0) return TAG_OK;
  const ttl = x.pool.bytes[at + 3];
  if (ttl <= 1) return TAG_BAD_TTL;
  if (!x.writable()) return TAG_NO_COPY;
  x.pool.bytes[topLseAt(x) + 3] = ttl - 1;
  return TAG_OK;
}

/**
 * Where the TTL below the top label lives: the next label's TTL byte, or the
 * inner IPv4/IPv6 TTL byte (negative: -(offset) - 1 for IPv4, whose header
 * checksum must follow). 0 when there is none.
 */
function innerTtlAt(x: FrameCursor): number {
  const at = topLseAt(x);
  if (at < 0) return 0;
  const b = x.pool.bytes, end = x.pool.dataOff[x.cur] + x.pool.len[x.cur];
  if ((b[at + 2] & 1) === 0) return at + 8 <= end ? at + 7 : 0;
  const ip = at + 4;
  if (ip + 20 <= end && b[ip] >> 4 === 4) return -(ip + 8) - 1;
  if (ip + 40 <= end && b[ip] >> 4 === 6) return ip + 7;
  return 0;
}

/** copy_ttl_out: the TTL below the top MPLS entry is copied to it. */
export function copyTtlOut(x: FrameCursor): number {
  let src = innerTtlAt(x);
  if (src === 0) return TAG_OK;
  if (!x.writable()) return TAG_NO_COPY;
  src = innerTtlAt(x);
  const b = x.pool.bytes;
  b[topLseAt(x) + 3] = b[src < 0 ? -src - 1 : src];
  return TAG_OK;
}

/** copy_ttl_in: the top MPLS entry's TTL is copied to the entry or IP header below it. */
export function copyTtlIn(x: FrameCursor): number {
  if (innerTtlAt(x) === 0) return TAG_OK;
  if (!x.writable()) return TAG_NO_COPY;
  const dst = innerTtlAt(x);
  const b = x.pool.bytes;
  const ttl = b[topLseAt(x) + 3];
  if (dst > 0) {
    b[dst] = ttl;
    return TAG_OK;
  }
  const at = -dst - 1; // IPv4 TTL; the header checksum is at +2 from it
  const old = rd16(b, at);
  const nw = (ttl << 8) | b[at + 1];
  wr16(b, at, nw);
  wr16(b, at + 2, csumReplace16(rd16(b, at + 2), old, nw));
  return TAG_OK;
}

