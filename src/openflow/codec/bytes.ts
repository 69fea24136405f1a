/*
 * Big-endian field access for the OpenFlow codec.
 *
 * Invariants
 * - Readers never throw: the number readers index bytes directly (an index
 *   past the end reads as 0), so callers check bounds before reading and a
 *   missed check yields garbage values, never an exception. The bigint
 *   readers check their own bounds and return 0n past the end.
 * - Writers wrap out-of-range values to the field width (two's complement
 *   truncation, like a C store); they never throw for a value, only a
 *   too-small buffer is the caller's bug.
 * - Offsets are absolute indexes into the given Buffer; no reader assumes
 *   byteOffset 0 of the underlying ArrayBuffer.
 */

export function u8(b: Uint8Array, o: number): number {
  return b[o] | 0;
}

export function u16(b: Uint8Array, o: number): number {
  return ((b[o] << 8) | b[o + 1]) & 0xffff;
}

export function u24(b: Uint8Array, o: number): number {
  return ((b[o] << 16) | (b[o + 1] << 8) | b[o + 2]) & 0xffffff;
}

export function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** A 48-bit field (MAC address) as an exact JS number. */
export function u48(b: Uint8Array, o: number): number {
  return u16(b, o) * 0x100000000 + u32(b, o + 2);
}

export function u64(b: Uint8Array, o: number): bigint {
  if (o < 0 || o + 8 > b.length) return 0n;
  return (BigInt(u32(b, o)) << 32n) | BigInt(u32(b, o + 4));
}

export function u128(b: Uint8Array, o: number): bigint {
  return (u64(b, o) << 64n) | u64(b, o + 8);
}

export function w8(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
}

export function w16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

export function w24(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 16;
  b[o + 1] = v >>> 8;
  b[o + 2] = v;
}

export function w32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

export function w48(b: Uint8Array, o: number, v: number): void {
  w16(b, o, Math.floor(v / 0x100000000));
  w32(b, o + 2, v % 0x100000000);
}

export function w64(b: Uint8Array, o: number, v: bigint): void {
  const x = BigInt.asUintN(64, v);
  w32(b, o, Number(x >> 32n));
  w32(b, o + 4, Number(x & 0xffffffffn));
}

export function w128(b: Uint8Array, o: number, v: bigint): void {
  const x = BigInt.asUintN(128, v);
  w64(b, o, x >> 64n);
  w64(b, o + 8, x);
}

/** Rounds a length up to a multiple of 8 (OpenFlow's alignment). */
export function pad8(n: number): number {
  return (n + 7) & ~7;
}

/** A NUL-padded fixed-width string field: the bytes up to the first NUL, as UTF-8. */
export function readString(b: Buffer, o: number, n: number): string {
  let end = o;
  const max = Math.min(o + n, b.length);
  while (end < max && b[end] !== 0) end++;
  return b.toString('utf8', o, end);
}

/** Writes `s` as UTF-8 into a fixed-width field, truncated to n-1 bytes so a NUL always ends it. */
export function writeString(b: Buffer, o: number, n: number, s: string): void {
  b.fill(0, o, o + n);
  const bytes = Buffer.from(s, 'utf8');
  bytes.copy(b, o, 0, Math.min(bytes.length, n - 1));
}
