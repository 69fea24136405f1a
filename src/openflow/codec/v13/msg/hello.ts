/*
 * OFPT_HELLO (A.5.1) with its elements; the version bitmap element is what
 * version negotiation reads.
 *
 * Invariants
 * - Any version is decoded (a hello is how a peer says which versions it
 *   speaks); `version` is the header version.
 * - Elements are TLVs padded to 8 bytes; `length` excludes the padding.
 *   Unknown element types are kept as { type: 'unknown' } (the spec says to
 *   ignore them) so they re-encode unchanged.
 * - A hello with no version bitmap offers exactly its header version.
 */

import { pad8, u16, u32, w16, w32 } from '../../bytes.js';
import { HELLO_ELEM } from '../consts.js';
import { DecodeError, badLen } from '../../decode-error.js';
import { OFP_VERSION, OFPHET, OFPT } from '../enums.js';
import { headerVersion, headerXid, writeHeader } from '../../header.js';
import type { MessageCodec } from '../message-codec.js';

export interface HelloElemVersionBitmap {
  type: 'versionbitmap';
  /** 32-bit words; bit v of word w set = version 32*w + v supported. */
  bitmaps: number[];
}
export interface HelloElemUnknown {
  type: 'unknown';
  elemType: number;
  data: Uint8Array;
}
export type HelloElement = HelloElemVersionBitmap | HelloElemUnknown;

export interface Hello {
  type: 'hello';
  version: number;
  xid: number;
  elements: HelloElement[];
}

function elementLength(e: HelloElement): number {
  return HELLO_ELEM.SIZE + (e.type === 'versionbitmap' ? 4 * e.bitmaps.length : e.data.length);
}

export function sizeHello(m: Hello): number {
  let n = 8;
  for (const e of m.elements) n += pad8(elementLength(e));
  return n;
}

export function encodeHello(m: Hello, b: Buffer, off: number): number {
  const len = sizeHello(m);
  let o = writeHeader(b, off, OFPT.HELLO, len, m.xid, m.version);
  for (const e of m.elements) {
    const elen = elementLength(e);
    b.fill(0, o, o + pad8(elen));
    w16(b, o + HELLO_ELEM.type, e.type === 'versionbitmap' ? OFPHET.VERSIONBITMAP : e.elemType);
    w16(b, o + HELLO_ELEM.length, elen);
    if (e.type === 'versionbitmap') {
      for (let i = 0; i < e.bitmaps.length; i++) w32(b, o + HELLO_ELEM.SIZE + 4 * i, e.bitmaps[i]);
    } else {
      b.set(e.data, o + HELLO_ELEM.SIZE);
    }
    o += pad8(elen);
  }
  return off + len;
}

export function decodeHello(b: Buffer, off: number, len: number): Hello | DecodeError {
  const end = off + len;
  const elements: HelloElement[] = [];
  for (let o = off + 8; o < end; ) {
    if (o + HELLO_ELEM.SIZE > end) return badLen(o, 'hello element header truncated');
    const type = u16(b, o + HELLO_ELEM.type);
    const elen = u16(b, o + HELLO_ELEM.length);
    if (elen < HELLO_ELEM.SIZE || o + elen > end) return badLen(o + HELLO_ELEM.length, `hello element length ${elen}`);
    if (type === OFPHET.VERSIONBITMAP) {
      if ((elen - HELLO_ELEM.SIZE) % 4 !== 0) return badLen(o + HELLO_ELEM.length, `version bitmap length ${elen}`);
      const bitmaps: number[] = [];
      for (let p = o + HELLO_ELEM.SIZE; p < o + elen; p += 4) bitmaps.push(u32(b, p));
      elements.push({ type: 'versionbitmap', bitmaps });
    } else {
      elements.push({ type: 'unknown', elemType: type, data: b.subarray(o + HELLO_ELEM.SIZE, o + elen) });
    }
    // The last element's padding may be missing: tolerate a short tail.
    o = Math.min(o + pad8(elen), end);
  }
  return { type: 'hello', version: headerVersion(b, off), xid: headerXid(b, off), elements };
}

export const helloCodec: MessageCodec<Hello> = { name: 'hello', wireType: OFPT.HELLO, size: sizeHello, encode: encodeHello, decode: decodeHello };

/** The versions a hello offers: its bitmap if it has one, else its header version. */
export function helloVersions(h: Hello): number[] {
  for (const e of h.elements) {
    if (e.type !== 'versionbitmap') continue;
    const out: number[] = [];
    for (let w = 0; w < e.bitmaps.length; w++) {
      for (let v = 0; v < 32; v++) if ((e.bitmaps[w] >>> v) & 1) out.push(32 * w + v);
    }
    return out;
  }
  return [h.version];
}

/** Version bitmap words for a list of versions. */
export function versionBitmap(versions: readonly number[]): number[] {
  const words: number[] = [];
  for (const v of versions) {
    const w = v >>> 5;
    while (words.length <= w) words.push(0);
    words[w] = (words[w] | (1 << (v & 31))) >>> 0;
  }
  return words;
}

/** The hello this switch sends: version 1.3, with a bitmap offering only 1.3. */
export function makeHello(xid: number): Hello {
  return { type: 'hello', version: OFP_VERSION, xid, elements: [{ type: 'versionbitmap', bitmaps: versionBitmap([OFP_VERSION]) }] };
}
