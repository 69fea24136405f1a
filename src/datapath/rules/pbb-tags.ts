/*
 * PBB (IEEE 802.1ah) actions on the frame a FrameCursor points at:
 * push_pbb and pop_pbb, and the I-TAG TCI a push writes (the key patch
 * computes the same value from the key).
 *
 * Frame shapes
 *   customer:  C-DA C-SA [tags] type payload
 *   PBB:       B-DA B-SA [B-TAG] 88E7 TCI(4) C-DA C-SA [tags] type payload
 *   TCI:       PCP 3 | DEI 1 | UCA 1 | reserved 3 | I-SID 24
 *
 * Design
 *   - push_pbb inserts 18 bytes (the TPID, the TCI, a copy of the MACs)
 *     right after the MACs: the whole frame as it was, tags included,
 *     becomes the customer frame. The new outer MACs are copies of the
 *     customer ones (OpenFlow 1.3 "push tag fields": C-DA <- eth_dst,
 *     C-SA <- eth_src, I-PCP <- the outer VLAN PCP, I-SID <- the outer
 *     I-SID of a PBB frame, else 0); DEI and UCA are 0. The MAC copy is the
 *     only byte move: the old MACs stay where they were, as C-DA/C-SA.
 *   - pop_pbb removes the backbone header: everything before the customer
 *     MACs (B-DA, B-SA, any B-TAG, the I-TAG), so push then pop gives back
 *     the frame unchanged. It needs eth_type 0x88E7 at the cursor and a
 *     whole I-TAG plus the customer type; else it does nothing. The caller
 *     re-parses (the customer frame's type is in the bytes).
 *   - The 10-byte vnet header before dataOff moves with the frame, and its
 *     csum_start follows the L4 header (frame-tags.ts moveFront). A GSO
 *     frame stays GSO: Linux cannot segment it inside an I-TAG (no GSO
 *     handler for 0x88E7), so a kernel interface refuses it on transmit.
 *
 * Invariants
 * - No allocation, no throw, nothing read or written past the frame end or
 *   before the slot start. Results as frame-tags.ts (TAG_OK, TAG_NO_COPY,
 *   TAG_NO_ROOM).
 */

import { ETH_TYPE_PBB, isVlanTpid } from '../../flow/key.js';
import { rd16, rd32, wr16, wr32 } from '../../packet/frame-bytes.js';
import { hasRoom, moveFront, TAG_NO_COPY, TAG_NO_ROOM, TAG_OK } from './frame-tags.js';
import type { FrameCursor } from './frame-cursor.js';

/** Bytes push_pbb adds: TPID 2 + TCI 4 + C-DA 6 + C-SA 6. */
export const PBB_PUSH_LEN = 18;
/** I-SID bits of the TCI. */
export const PBB_ISID_MASK = 0xffffff;

/** The TCI push_pbb writes: I-PCP from the outer VLAN PCP (`pcp`, -1: untagged), I-SID from the outer I-TAG (`isid`, -1: none). */
export function pushedPbbTci(pcp: number, isid: number): number {
  return ((pcp < 0 ? 0 : (pcp & 7) << 29) | (isid < 0 ? 0 : isid & PBB_ISID_MASK)) >>> 0;
}

/** Offset (from the frame start) of the outer I-TAG TCI, or -1 when the frame is not PBB as the cursor knows it. */
export function pbbTciAt(x: FrameCursor): number {
  return x.ethType === ETH_TYPE_PBB && x.l3 >= 14 && x.l3 + 4 <= x.pool.len[x.cur] ? x.l3 : -1;
}

/** push_pbb (ethertype 0x88E7, checked by validation). */
export function pushPbb(x: FrameCursor): number {
  const len = x.pool.len[x.cur];
  if (len < 14) return TAG_OK; // no Ethernet header
  const b = x.pool.bytes, o = x.pool.dataOff[x.cur];
  const pcp = len >= 18 && isVlanTpid(rd16(b, o + 12)) ? b[o + 14] >>> 5 : -1;
  const at = pbbTciAt(x);
  const isid = at < 0 ? -1 : rd32(b, o + at) & PBB_ISID_MASK;
  if (!x.writable()) return TAG_NO_COPY;
  if (!hasRoom(x, PBB_PUSH_LEN)) return TAG_NO_ROOM;
  return insertItag(x, pushedPbbTci(pcp, isid));
}

function insertItag(x: FrameCursor, tci: number): number {
  const b = x.pool.bytes, o = x.pool.dataOff[x.cur];
  const n = moveFront(x, PBB_PUSH_LEN);
  b.copyWithin(n, o, o + 12); // B-DA, B-SA; bytes o..o+11 stay as C-DA, C-SA
  wr16(b, n + 12, ETH_TYPE_PBB);
  wr32(b, n + 14, tci);
  x.ethType = ETH_TYPE_PBB;
  x.l3 = 14;
  x.l4 = 0;
  x.proto = 0;
  return TAG_OK;
}

/** pop_pbb: the customer frame inside the outer I-TAG becomes the frame. The caller re-parses. */
export function popPbb(x: FrameCursor): number {
  const at = pbbTciAt(x);
  const cut = at + 4; // customer frame start
  if (at < 0 || cut + 14 > x.pool.len[x.cur]) return TAG_OK;
  if (!x.writable()) return TAG_NO_COPY;
  const n = moveFront(x, -cut);
  x.ethType = rd16(x.pool.bytes, n + 12);
  x.l3 = 0;
  x.l4 = 0;
  return TAG_OK;
}
