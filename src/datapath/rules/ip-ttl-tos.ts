/*
 * IP TTL and TOS edits on the cursor's frame: the IPv4 TTL or IPv6 hop limit
 * (read and written by the TTL actions), the TOS / traffic class bits (set-field
 * ip_dscp and ip_ecn) and the DSCP drop-precedence remark of meter bands.
 *
 * Invariants
 * - An edit applies only when the frame carries a whole IPv4 or IPv6 header
 *   (ipv4At/ipv6At); otherwise it is skipped and reports success.
 * - Every IPv4 header edit patches the header checksum incrementally.
 * - writable() is called only once the edit is known to apply; false is
 *   returned only when it failed (no free slot for the copy).
 * - No allocation, no throw.
 */

import { csumReplace16 } from '../../packet/checksum.js';
import { rd16, wr16 } from '../../packet/frame-bytes.js';
import { ipv4At, ipv6At, type FrameCursor } from './frame-cursor.js';

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
export function setTos(x: FrameCursor, shift: number, bits: number, v: number): boolean {
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
