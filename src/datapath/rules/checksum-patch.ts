/*
 * Incremental checksum patching (RFC 1624) for the in-place header edits of
 * set-field.ts: the TCP/UDP/ICMPv6 checksum under a changed pseudo-header word
 * or covered data word, and SCTP's CRC32c recomputed (it has no pseudo-header,
 * so address edits leave it alone).
 *
 * Invariants
 * - A UDP checksum of 0 ("none") stays 0; a patched UDP sum of 0 is written 0xffff.
 * - A frame whose vnet header says NEEDS_CSUM (CHECKSUM_PARTIAL) holds only the
 *   pseudo-header sum in its L4 checksum field: pseudo-header edits patch that
 *   sum uncomplemented, edits of covered data leave it alone (the sum is
 *   completed later over the new bytes), and SCTP is completed at output.
 * - Nothing reads or writes at or past the frame end; no allocation, no throw.
 */

import { csumReplace16, csumReplace32, writeSctpChecksum } from '../../packet/checksum.js';
import { IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from '../../flow/key.js';
import { rd16, wr16 } from '../../packet/frame-bytes.js';
import { VNET_F_NEEDS_CSUM, VNET_HDR_LEN } from '../../packet/vnet.js';
import { ipEnd, type FrameCursor } from './frame-cursor.js';

/** Replaces a 16-bit word of a header covered by the checksum at `at` (a UDP checksum of 0 stays 0). */
export function fixData16(b: Uint8Array, at: number, udp: boolean, oldW: number, newW: number): void {
  const c = rd16(b, at);
  if (udp && c === 0) return;
  let n = csumReplace16(c, oldW, newW);
  if (udp && n === 0) n = 0xffff;
  wr16(b, at, n);
}

/** Replaces a 32-bit pseudo-header word under the L4 checksum at `at`; `partial`: the field holds the uncomplemented pseudo sum. */
export function fixPseudo32(b: Uint8Array, at: number, udp: boolean, partial: boolean, oldV: number, newV: number): void {
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

export function isPartial(b: Uint8Array, o: number): boolean {
  return (b[o - VNET_HDR_LEN] & VNET_F_NEEDS_CSUM) !== 0;
}

/** Absolute offset of the L4 checksum that covers the IP pseudo-header (TCP, UDP, ICMPv6), or -1. */
export function pseudoCsumAt(x: FrameCursor, o: number, len: number, isV6: boolean): number {
  const l4 = x.l4;
  if (l4 === 0) return -1;
  switch (x.proto) {
    case IPPROTO_TCP: return l4 + 18 <= len ? o + l4 + 16 : -1;
    case IPPROTO_UDP: return l4 + 8 <= len ? o + l4 + 6 : -1;
    case IPPROTO_ICMPV6: return isV6 && l4 + 4 <= len ? o + l4 + 2 : -1;
    default: return -1;
  }
}

/** Recomputes the SCTP checksum of the frame at `o` (CRC32c over the SCTP packet; no pseudo-header). A CHECKSUM_PARTIAL frame is completed at output. */
export function fixSctp(b: Uint8Array, o: number, x: FrameCursor, len: number): void {
  if (isPartial(b, o)) return;
  const s = o + x.l4;
  const end = o + ipEnd(b, o, x, len);
  if (end >= s + 12) writeSctpChecksum(b, s, end);
}
