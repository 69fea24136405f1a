/*
 * Internet checksums (RFC 1071) in software: completing a CHECKSUM_PARTIAL
 * frame that arrived with a virtio_net_hdr NEEDS_CSUM flag, the IPv4 header
 * checksum, and incremental updates (RFC 1624) for in-place field rewrites.
 * And SCTP's checksum, which is not an Internet checksum: CRC32c (Castagnoli,
 * RFC 3309, RFC 4960 appendix B) over the whole SCTP packet with its checksum
 * field counted as zero, no pseudo-header, stored least significant byte
 * first. It comes from @node-rs/crc32 (SSE4.2 / ARM CRC instructions, a
 * software fallback elsewhere): slower than the byte table it replaced only
 * for 64 B SCTP packets (by the N-API call), 1.6x faster at 128 B and 11x
 * at 1500 B (BENCHMARKS.md, `npm run bench -- --only crc32c`).
 *
 * Invariants
 * - No allocation; bytes are read with plain indexing.
 * - A "sum" is the folded 16-bit ones' complement sum (0..0xffff); a
 *   "checksum" is its complement, the value a header carries. Partial sums
 *   passed as `initial` may be any non-negative integer below 2^32.
 * - Checksums written into frames follow the kernel's skb_checksum_help: a
 *   computed 0 is stored as 0xffff (the same value in ones' complement; for
 *   UDP, 0 would mean "no checksum").
 */

import { VNET_HDR_LEN, VNET_CSUM_OFFSET, VNET_CSUM_START, VNET_F_DATA_VALID, VNET_F_NEEDS_CSUM, VNET_FLAGS, VNET_GSO_ECN, VNET_GSO_NONE, VNET_GSO_TYPE } from './vnet.js';
import type { PacketPool } from './pool.js';
import { crc32c } from '@node-rs/crc32';

/** Fold a non-negative integer below 2^53 to 16 bits with end-around carry. */
function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The folded 16-bit ones' complement sum of bytes[off .. off+len) (big-endian words, an odd last byte padded with 0), plus `initial`. */
export function onesComplementSum(bytes: Uint8Array, off: number, len: number, initial = 0): number {
  // High and low bytes of the 16-bit words are summed apart: both stay small
  // integers for any frame size (<= 32768 * 255 per 64 KiB).
  let hi = 0;
  let lo = 0;
  let i = off;
  const end8 = off + (len & ~7);
  for (; i < end8; i += 8) {
    hi += bytes[i] + bytes[i + 2] + bytes[i + 4] + bytes[i + 6];
    lo += bytes[i + 1] + bytes[i + 3] + bytes[i + 5] + bytes[i + 7];
  }
  const end2 = off + (len & ~1);
  for (; i < end2; i += 2) {
    hi += bytes[i];
    lo += bytes[i + 1];
  }
  if ((len & 1) !== 0) hi += bytes[i];
  return fold(hi * 256 + lo + initial);
}

/**
 * The Internet checksum of bytes[off .. off+len) with partial sum `initial`
 * (e.g. a pseudo-header sum) added: the complement of the folded ones'
 * complement sum, the value to store in a checksum field that was zero while
 * summing. Over data that includes a correct checksum field it returns 0.
 */
export function internetChecksum(bytes: Uint8Array, off: number, len: number, initial = 0): number {
  return ~onesComplementSum(bytes, off, len, initial) & 0xffff;
}

/** The checksum for the IPv4 header at bytes[ipOff], its own checksum field counted as zero. Length from IHL. */
export function ipv4HeaderChecksum(bytes: Uint8Array, ipOff: number): number {
  const ihl = (bytes[ipOff] & 0x0f) << 2;
  const stored = (bytes[ipOff + 10] << 8) | bytes[ipOff + 11];
  // Summing with the field in place and subtracting it (adding its complement) avoids writing the frame.
  return ~onesComplementSum(bytes, ipOff, ihl, ~stored & 0xffff) & 0xffff;
}

/**
 * RFC 1624 eqn. 3: the checksum after one 16-bit word of the covered data
 * changes from oldWord to newWord, HC' = ~(~HC + ~m + m'). A UDP checksum of
 * 0 ("none") must not be updated: the caller checks that.
 */
export function csumReplace16(oldCsum: number, oldWord: number, newWord: number): number {
  return ~fold((~oldCsum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff)) & 0xffff;
}

/** csumReplace16 for a 32-bit field (an IPv4 address in the IP header or a TCP/UDP pseudo-header). */
export function csumReplace32(oldCsum: number, oldValue: number, newValue: number): number {
  const sum = (~oldCsum & 0xffff) + (~(oldValue >>> 16) & 0xffff) + (~oldValue & 0xffff) + (newValue >>> 16) + (newValue & 0xffff);
  return ~fold(sum) & 0xffff;
}

/** csum_offset of a CHECKSUM_PARTIAL SCTP packet (offsetof(struct sctphdr, checksum)); TCP's is 16, UDP's and DCCP's 6, ICMP's 2. */
export const SCTP_CSUM_OFFSET = 8;

const SCTP_CSUM_END = SCTP_CSUM_OFFSET + 4;

/** CRC32c (Castagnoli) of bytes[from, to): the final, inverted value, e.g. 0xe3069283 for "123456789". */
export function crc32cOf(bytes: Uint8Array, from: number, to: number): number {
  return crc32c(bytes.subarray(from, to)) >>> 0;
}

/**
 * CRC32c of the SCTP packet bytes[from, to) with its checksum field (bytes
 * 8..11) counted as zero; the bytes are as they were on return. The value is
 * the final (inverted) CRC, e.g. 0xe3069283 for "123456789". Needs
 * to - from >= 12. One short-lived view of the packet per call (the native
 * function takes a whole Uint8Array).
 */
export function sctpCrc32c(bytes: Uint8Array, from: number, to: number): number {
  const f = from + SCTP_CSUM_OFFSET;
  const saved = ((bytes[f] << 24) | (bytes[f + 1] << 16) | (bytes[f + 2] << 8) | bytes[f + 3]) >>> 0;
  bytes[f] = bytes[f + 1] = bytes[f + 2] = bytes[f + 3] = 0;
  const crc = crc32cOf(bytes, from, to);
  bytes[f] = saved >>> 24;
  bytes[f + 1] = (saved >>> 16) & 0xff;
  bytes[f + 2] = (saved >>> 8) & 0xff;
  bytes[f + 3] = saved & 0xff;
  return crc;
}

/** Computes and stores the checksum of the SCTP packet bytes[from, to) (needs to - from >= 12). */
export function writeSctpChecksum(bytes: Uint8Array, from: number, to: number): void {
  const f = from + SCTP_CSUM_OFFSET;
  bytes[f] = bytes[f + 1] = bytes[f + 2] = bytes[f + 3] = 0;
  const crc = crc32cOf(bytes, from, to);
  bytes[f] = crc & 0xff;
  bytes[f + 1] = (crc >>> 8) & 0xff;
  bytes[f + 2] = (crc >>> 16) & 0xff;
  bytes[f + 3] = crc >>> 24;
}

/** True when the SCTP packet bytes[from, to) carries a right checksum. */
export function sctpChecksumOk(bytes: Uint8Array, from: number, to: number): boolean {
  if (to - from < SCTP_CSUM_END) return false;
  const f = from + SCTP_CSUM_OFFSET;
  const stored = (bytes[f] | (bytes[f + 1] << 8) | (bytes[f + 2] << 16) | (bytes[f + 3] << 24)) >>> 0;
  return sctpCrc32c(bytes, from, to) === stored;
}

/** True when the slot's vnet header asks for the checksum to be completed. */
export function needsChecksum(pool: PacketPool, slot: number): boolean {
  return (pool.bytes[pool.dataOff[slot] - VNET_HDR_LEN + VNET_FLAGS] & VNET_F_NEEDS_CSUM) !== 0;
}

/** True when the slot's vnet header asks for an SCTP checksum (NEEDS_CSUM at csum_offset 8): a kernel egress would sum it as an Internet checksum. */
export function needsSctpChecksum(pool: PacketPool, slot: number): boolean {
  const v = pool.dataOff[slot] - VNET_HDR_LEN;
  const b = pool.bytes;
  return (b[v + VNET_FLAGS] & VNET_F_NEEDS_CSUM) !== 0 && (b[v + VNET_CSUM_OFFSET] | (b[v + VNET_CSUM_OFFSET + 1] << 8)) === SCTP_CSUM_OFFSET;
}

/** True when the vnet header of the slot marks a GSO super-frame. */
export function isGso(pool: PacketPool, slot: number): boolean {
  return (pool.bytes[pool.dataOff[slot] - VNET_HDR_LEN + VNET_GSO_TYPE] & ~VNET_GSO_ECN) !== VNET_GSO_NONE;
}

/**
 * When the slot's vnet header says NEEDS_CSUM, compute the Internet checksum
 * over frame[csum_start .. len) and store it at csum_start + csum_offset (the
 * field already holds the pseudo-header sum, as CHECKSUM_PARTIAL leaves it),
 * clear NEEDS_CSUM and set DATA_VALID. A csum_offset of 8 is SCTP's (no
 * Internet checksum lives there): the CRC32c of frame[csum_start .. len) is
 * stored instead (the Linux sender's csum_not_inet does not survive the vnet
 * header; the frame may carry Ethernet padding only when it came from a wire,
 * and such a frame is never CHECKSUM_PARTIAL). Returns true if it completed
 * one, false if there was nothing to do; a header pointing outside the frame
 * is left alone and returns false. No allocation for the Internet checksum.
 */
export function completeChecksum(pool: PacketPool, slot: number): boolean {
  const b = pool.bytes;
  const off = pool.dataOff[slot];
  const v = off - VNET_HDR_LEN;
  const vflags = b[v + VNET_FLAGS];
  if ((vflags & VNET_F_NEEDS_CSUM) === 0) return false;
  // vnet header fields are little-endian (host order on every target we build for).
  const start = b[v + VNET_CSUM_START] | (b[v + VNET_CSUM_START + 1] << 8);
  const field = start + (b[v + VNET_CSUM_OFFSET] | (b[v + VNET_CSUM_OFFSET + 1] << 8));
  const len = pool.len[slot];
  if (start >= len || field + 2 > len) return false;
  if (field - start === SCTP_CSUM_OFFSET) {
    if (field + 4 > len) return false;
    writeSctpChecksum(b, off + start, off + len);
    b[v + VNET_FLAGS] = (vflags & ~VNET_F_NEEDS_CSUM) | VNET_F_DATA_VALID;
    return true;
  }
  let csum = internetChecksum(b, off + start, len - start, 0);
  if (csum === 0) csum = 0xffff;
  b[off + field] = csum >> 8;
  b[off + field + 1] = csum & 0xff;
  b[v + VNET_FLAGS] = (vflags & ~VNET_F_NEEDS_CSUM) | VNET_F_DATA_VALID;
  return true;
}
