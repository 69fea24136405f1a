/*
 * The frame the actions work on, and where its headers sit: FrameCursor (a
 * pool slot, its L3/L4 offsets, eth type and ip proto as the pipeline last saw
 * them, the metadata and tunnel id the walk carries) and the checks that an IP
 * header lies whole inside the frame.
 *
 * Invariants
 * - l3/l4 are offsets from the frame start (0 = none); ethType/proto describe
 *   the header at l3 and are only as fresh as the last parse or reparseInto().
 * - cur may change on writable() (copy-on-write): read offsets into the pool
 *   after calling it.
 * - No allocation, no throw.
 */

import { ETH_TYPE_IPV4, ETH_TYPE_IPV6, K } from '../../flow/key.js';
import { parseFrame } from '../parse/parse.js';
import type { ParsedBatch } from '../parse/parse.js';
import { rd16 } from '../../packet/frame-bytes.js';
import type { PacketPool } from '../../packet/pool.js';

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

/** True when the header at l3 is IPv4 and its 20-byte fixed part lies inside the frame (`len` bytes). */
export function ipv4At(x: FrameCursor, len: number): boolean {
  return x.ethType === ETH_TYPE_IPV4 && x.l3 !== 0 && x.l3 + 20 <= len;
}

/** True when the header at l3 is IPv6 and its 40-byte fixed part lies inside the frame (`len` bytes). */
export function ipv6At(x: FrameCursor, len: number): boolean {
  return x.ethType === ETH_TYPE_IPV6 && x.l3 !== 0 && x.l3 + 40 <= len;
}

/** End of the IP payload (bounded by the frame). */
export function ipEnd(b: Uint8Array, o: number, x: FrameCursor, len: number): number {
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
