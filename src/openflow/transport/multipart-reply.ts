/*
 * Multipart reply assembly: the reply bodies the switch returns for one
 * multipart request, cut into OFPT_MULTIPART_REPLY messages that each fit
 * the OpenFlow length field.
 *
 * Invariants
 * - Every message is at most `maxLen` bytes (65535 by default); all but the
 *   last carry OFPMPF_REPLY_MORE, and all carry the request's xid.
 * - A body is split only at its list (entries, or ports for PORT_DESC), in
 *   order; a body with no list, or one entry, that cannot fit is a RangeError
 *   (the channel answers OFPBRC_MULTIPART_BUFFER_OVERFLOW), never a truncation.
 */

import { OFP_MAX_MESSAGE_LEN } from '../codec/v13/consts.js';
import { messageSize, OFPMPF_REPLY_MORE, type MultipartReply, type MultipartReplyBody } from '../codec/wire.js';

/** The list a multipart reply body carries (entries, or ports for PORT_DESC); null for single-structure bodies. */
function bodyList(body: MultipartReplyBody): { key: 'entries' | 'ports'; items: unknown[] } | null {
  if ('entries' in body && Array.isArray(body.entries)) return { key: 'entries', items: body.entries };
  if ('ports' in body && Array.isArray(body.ports)) return { key: 'ports', items: body.ports };
  return null;
}

/**
 * The messages that carry `bodies` (one multipart request's reply): each
 * body whole if it fits in `maxLen` bytes, else its entries cut into as few
 * messages as fit; every message but the last has OFPMPF_REPLY_MORE. Throws
 * RangeError if a single entry cannot fit (the caller answers with
 * OFPBRC_MULTIPART_BUFFER_OVERFLOW).
 */
export function splitMultipartReply(xid: number, bodies: readonly MultipartReplyBody[], maxLen = OFP_MAX_MESSAGE_LEN): MultipartReply[] {
  const out: MultipartReply[] = [];
  const msg = (body: MultipartReplyBody): MultipartReply => ({ type: 'multipart_reply', xid, flags: 0, body });
  for (const body of bodies) {
    const whole = msg(body);
    if (messageSize(whole) <= maxLen) {
      out.push(whole);
      continue;
    }
    const list = bodyList(body);
    if (list === null) throw new RangeError(`multipart ${body.type} reply of ${messageSize(whole)} bytes cannot be split`);
    const withItems = (items: unknown[]) => ({ ...body, [list.key]: items });
    const base = messageSize(msg(withItems([])));
    let chunk: unknown[] = [];
    let size = base;
    for (const item of list.items) {
      const itemSize = messageSize(msg(withItems([item]))) - base;
      if (base + itemSize > maxLen) throw new RangeError(`a multipart ${body.type} entry of ${itemSize} bytes does not fit in a message`);
      if (size + itemSize > maxLen) {
        out.push(msg(withItems(chunk)));
        chunk = [];
        size = base;
      }
      chunk.push(item);
      size += itemSize;
    }
    out.push(msg(withItems(chunk)));
  }
  for (let i = 0; i < out.length - 1; i++) out[i].flags = OFPMPF_REPLY_MORE;
  return out;
}
