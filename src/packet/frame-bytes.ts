/*
 * Big-endian reads and writes of 16- and 32-bit header fields in frame bytes,
 * for the modules that edit frames in place (set-field, tag push/pop). Plain
 * functions over a Uint8Array: V8 inlines them, nothing allocates. Callers
 * check bounds; these do not.
 */

export function rd16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

export function wr16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

/** An unsigned 32-bit field. */
export function rd32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

export function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
