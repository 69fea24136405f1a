/*
 * Frame parser, L3 part: Ethernet/IPv4 ARP, IPv4 and IPv6 (with its
 * extension-header chain) into a flow key row. Called by parse.ts with p at
 * the first byte after the L2 header; follows the same invariants (no reads at
 * or past `end`, no allocation, a header is used whole or not at all).
 */

import {
  K, EXTHDR_AUTH, EXTHDR_DEST, EXTHDR_ESP, EXTHDR_FRAG, EXTHDR_HOP, EXTHDR_NONEXT, EXTHDR_ROUTER, EXTHDR_SHIFT, EXTHDR_UNREP,
  EXTHDR_UNSEQ, FRAG_ANY, FRAG_LATER,
} from '../../flow/key.js';
import { PARSE_MALFORMED, parseL4 } from './parse-l4.js';
import type { ParsedBatch } from './parsed-batch.js';

const ARP_LEN = 28;
const IPV4_MIN_HEADER = 20;
const IPV6_HEADER = 40;
const IP6_HOPOPTS = 0;
const IP6_ROUTING = 43;
const IP6_FRAGMENT = 44;
const IP6_ESP = 50;
const IP6_AUTH = 51;
const IP6_NONEXT = 59;
const IP6_DSTOPTS = 60;
/** Places in RFC 2460 4.1's preferred order of IPv6 extension headers. */
const RANK_HOP = 0;
const RANK_DEST_FIRST = 1;
const RANK_ROUTER = 2;
const RANK_FRAG = 3;
const RANK_AUTH = 4;
const RANK_ESP = 5;
const RANK_DEST_LAST = 6;
/** l3/l4 offsets are stored in Uint16Array. */
const MAX_OFFSET = 0xffff;

/** ARP for Ethernet/IPv4 (htype 1, ptype 0x0800, hlen 6, plen 4); other ARP kinds are left unparsed (flags 0). */
export function parseArp(b: Uint8Array, p: number, end: number, keys: Uint32Array, base: number): number {
  if (p + 8 > end) return PARSE_MALFORMED;
  if (b[p] !== 0 || b[p + 1] !== 1 || b[p + 2] !== 0x08 || b[p + 3] !== 0x00 || b[p + 4] !== 6 || b[p + 5] !== 4) return 0;
  if (p + ARP_LEN > end) return PARSE_MALFORMED;
  keys[base + K.IpProtoTosTtlFrag] = (b[p + 6] << 8) | b[p + 7];
  keys[base + K.ArpShaHi] = (b[p + 8] << 24) | (b[p + 9] << 16) | (b[p + 10] << 8) | b[p + 11];
  keys[base + K.ArpShaLoThaHi] = (b[p + 12] << 24) | (b[p + 13] << 16) | (b[p + 18] << 8) | b[p + 19];
  keys[base + K.IpSrc0] = (b[p + 14] << 24) | (b[p + 15] << 16) | (b[p + 16] << 8) | b[p + 17];
  keys[base + K.ArpThaLo] = (b[p + 20] << 24) | (b[p + 21] << 16) | (b[p + 22] << 8) | b[p + 23];
  keys[base + K.IpDst0] = (b[p + 24] << 24) | (b[p + 25] << 16) | (b[p + 26] << 8) | b[p + 27];
  return 0;
}

/**
 * IPv4. Rejected whole (no fields, MALFORMED): fewer than 20 bytes, version
 * != 4, IHL < 5, total length < IHL. Kept with MALFORMED: total length past
 * the frame (L4 parsed from what is there), options past the frame (no L4).
 * Total length bounds L4 so Ethernet padding is never read as payload; a total
 * length of 0 on a frame longer than 64 KiB (BIG TCP GSO) means "to the end".
 */
export function parseIpv4(b: Uint8Array, p: number, end: number, off: number, out: ParsedBatch, i: number, base: number): number {
  if (p + IPV4_MIN_HEADER > end) return PARSE_MALFORMED;
  const vihl = b[p];
  const ihl = (vihl & 0x0f) << 2;
  if (vihl >> 4 !== 4 || ihl < IPV4_MIN_HEADER) return PARSE_MALFORMED;
  let totLen = (b[p + 2] << 8) | b[p + 3];
  if (totLen === 0 && end - p > 0xffff) totLen = end - p;
  if (totLen < ihl) return PARSE_MALFORMED;

  const keys = out.keys;
  let flags = 0;
  let ipEnd = p + totLen;
  if (ipEnd > end) {
    flags = PARSE_MALFORMED;
    ipEnd = end;
  }
  const fragField = (b[p + 6] << 8) | b[p + 7];
  let frag = 0;
  if ((fragField & 0x3fff) !== 0) {
    // MF set or a nonzero offset (DF alone is not a fragment).
    frag = (fragField & 0x1fff) !== 0 ? FRAG_ANY | FRAG_LATER : FRAG_ANY;
  }
  const proto = b[p + 9];
  keys[base + K.IpProtoTosTtlFrag] = (proto << 24) | (b[p + 1] << 16) | (b[p + 8] << 8) | frag;
  keys[base + K.IpSrc0] = (b[p + 12] << 24) | (b[p + 13] << 16) | (b[p + 14] << 8) | b[p + 15];
  keys[base + K.IpDst0] = (b[p + 16] << 24) | (b[p + 17] << 16) | (b[p + 18] << 8) | b[p + 19];

  const q = p + ihl;
  if (q > ipEnd) return PARSE_MALFORMED;
  if ((frag & FRAG_LATER) !== 0) return flags;
  out.l4[i] = q - off;
  return flags | parseL4(b, q, ipEnd, proto, false, keys, base);
}

/**
 * IPv6 and its extension headers. Rejected whole: fewer than 40 bytes or
 * version != 6. Payload length past the frame: fields kept, MALFORMED, the
 * chain is walked over what is there. Payload length 0 (jumbogram, BIG TCP)
 * means "to the end of the frame".
 *
 * The chain: hop-by-hop, routing, fragment, destination options and AH are
 * walked; ESP and "no next header" stop it. ip_proto is the last next-header
 * value read. A header that runs past the end stops the walk with MALFORMED
 * and ip_proto is the type of that unread header. EXTHDR_* bits are the
 * OpenFlow ipv6_exthdr pseudo-field (OFPIEH_*, 1.3.5 A.2.3.7): a bit for each
 * kind of header present (HOP only for a hop-by-hop header that is the first
 * extension header, as the spec defines it); UNREP for a kind seen twice,
 * except destination options once before and once after a routing header;
 * UNSEQ for headers out of RFC 2460 4.1's preferred order: hop-by-hop,
 * destination options, routing, fragment, authentication, ESP, destination
 * options (a destination-options header takes the earlier of its two places
 * the order still allows). Fragments are flagged
 * like IPv4 (an atomic fragment, offset 0 and M clear, is not a fragment);
 * for a later fragment ip_proto is the fragment header's next header and no
 * L4 is parsed.
 */
export function parseIpv6(b: Uint8Array, p: number, end: number, off: number, out: ParsedBatch, i: number, base: number): number {
  if (p + IPV6_HEADER > end) return PARSE_MALFORMED;
  if (b[p] >> 4 !== 6) return PARSE_MALFORMED;
  const keys = out.keys;
  const tclass = ((b[p] & 0x0f) << 4) | (b[p + 1] >> 4);
  const label = ((b[p + 1] & 0x0f) << 16) | (b[p + 2] << 8) | b[p + 3];
  const payloadLen = (b[p + 4] << 8) | b[p + 5];
  let nh = b[p + 6];
  const hopLimit = b[p + 7];
  for (let w = 0, s = p + 8; w < 8; w++, s += 4) {
    // IpSrc0..3 then IpDst0..3 are adjacent words, as the addresses are in the header.
    keys[base + K.IpSrc0 + w] = (b[s] << 24) | (b[s + 1] << 16) | (b[s + 2] << 8) | b[s + 3];
  }

  let flags = 0;
  let lim = end;
  if (payloadLen !== 0) {
    lim = p + IPV6_HEADER + payloadLen;
    if (lim > end) {
      flags = PARSE_MALFORMED;
      lim = end;
    }
  }

  let q = p + IPV6_HEADER;
  let ext = 0;
  /** Kinds of header walked (ext reports HOP only when first). */
  let seen = 0;
  /** Rank in the preferred order of the last header walked (-1: none yet). */
  let rank = -1;
  let frag = 0;
  let destBeforeRouter = false;
  let reachedUpper = false;
  for (;;) {
    let bit: number;
    let at: number;
    if (nh === IP6_HOPOPTS) {
      bit = EXTHDR_HOP;
      at = RANK_HOP;
    } else if (nh === IP6_DSTOPTS) {
      bit = EXTHDR_DEST;
      at = rank <= RANK_DEST_FIRST ? RANK_DEST_FIRST : RANK_DEST_LAST;
    } else if (nh === IP6_ROUTING) {
      bit = EXTHDR_ROUTER;
      at = RANK_ROUTER;
    } else if (nh === IP6_FRAGMENT) {
      bit = EXTHDR_FRAG;
      at = RANK_FRAG;
    } else if (nh === IP6_AUTH) {
      bit = EXTHDR_AUTH;
      at = RANK_AUTH;
    } else {
      if (nh === IP6_ESP) {
        ext |= EXTHDR_ESP;
        if (rank > RANK_ESP) ext |= EXTHDR_UNSEQ;
      } else if (nh === IP6_NONEXT) {
        ext |= EXTHDR_NONEXT;
      }
      reachedUpper = true;
      break;
    }
    // Every extension header is at least 8 bytes; its length field is byte 1
    // (8-byte units past the first 8; AH: 4-byte units minus 2; fragment: fixed).
    if (q + 8 > lim) {
      flags |= PARSE_MALFORMED;
      break;
    }
    const hlen = nh === IP6_FRAGMENT ? 8 : nh === IP6_AUTH ? (b[q + 1] + 2) << 2 : (b[q + 1] + 1) << 3;
    if (q + hlen > lim) {
      flags |= PARSE_MALFORMED;
      break;
    }
    if (bit === EXTHDR_DEST) {
      // Destination options may come twice: once before a routing header, once after it.
      if ((seen & EXTHDR_DEST) === 0) destBeforeRouter = (seen & EXTHDR_ROUTER) === 0;
      else if (destBeforeRouter && (seen & EXTHDR_ROUTER) !== 0) destBeforeRouter = false;
      else ext |= EXTHDR_UNREP;
    } else if ((seen & bit) !== 0) {
      ext |= EXTHDR_UNREP;
    }
    if (at < rank || (at === RANK_HOP && rank >= 0)) ext |= EXTHDR_UNSEQ;
    if (at > rank) rank = at;
    if (bit !== EXTHDR_HOP || seen === 0) ext |= bit;
    seen |= bit;
    if (nh === IP6_FRAGMENT) {
      const fragField = (b[q + 2] << 8) | b[q + 3];
      if ((fragField & 0xfff8) !== 0) frag = FRAG_ANY | FRAG_LATER;
      else if ((fragField & 1) !== 0) frag = FRAG_ANY;
      nh = b[q];
      q += 8;
      if ((frag & FRAG_LATER) !== 0) break;
      continue;
    }
    nh = b[q];
    q += hlen;
  }

  keys[base + K.IpProtoTosTtlFrag] = (nh << 24) | (tclass << 16) | (hopLimit << 8) | frag;
  keys[base + K.Ipv6LabelExt] = (ext << EXTHDR_SHIFT) | label;
  if (!reachedUpper) return flags;
  if (q - off > MAX_OFFSET) return flags | PARSE_MALFORMED;
  out.l4[i] = q - off;
  return flags | parseL4(b, q, lim, nh, true, keys, base);
}
