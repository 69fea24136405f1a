/*
 * Frame parser, L4 part: TCP, UDP, SCTP ports; TCP flags; ICMPv4 and ICMPv6
 * type/code; IPv6 neighbour discovery target and link-layer address options.
 * Called with q at the L4 header and `lim` at the end of the IP payload (the
 * smaller of the IP length and the frame end); reads nothing at or past lim,
 * allocates nothing. Also home of PARSE_MALFORMED, the one flag every layer
 * can return (parse.ts re-exports it).
 */

import { K, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../../flow/key.js';

/** Some header after L2 was truncated or invalid; the key holds every field up to it. */
export const PARSE_MALFORMED = 2;

const TCP_MIN_HEADER = 20;
const UDP_HEADER = 8;
const SCTP_COMMON_HEADER = 12;
/** type, code, checksum: what every ICMP and ICMPv6 message starts with. */
const ICMP_COMMON_HEADER = 4;
/** ICMPv6 header (4) + reserved/flags (4) + target address (16). */
const ND_FIXED = 24;
const ND_NEIGHBOR_SOLICIT = 135;
const ND_NEIGHBOR_ADVERT = 136;
const ND_OPT_SOURCE_LL = 1;
const ND_OPT_TARGET_LL = 2;

/**
 * Fill the L4 words for ip_proto `proto`. TCP with a data offset below 5 is
 * rejected whole; a data offset past the end keeps ports and flags with
 * MALFORMED. ICMP type/code is read only for ICMP over IPv4 and ICMPv6 over
 * IPv6, as OpenFlow's prerequisites say. Other protocols: nothing, flags 0.
 */
export function parseL4(b: Uint8Array, q: number, lim: number, proto: number, isIpv6: boolean, keys: Uint32Array, base: number): number {
  switch (proto) {
    case IPPROTO_TCP: {
      if (q + TCP_MIN_HEADER > lim) return PARSE_MALFORMED;
      const dataOff = (b[q + 12] >> 4) << 2;
      if (dataOff < TCP_MIN_HEADER) return PARSE_MALFORMED;
      keys[base + K.TpSrcDst] = (b[q] << 24) | (b[q + 1] << 16) | (b[q + 2] << 8) | b[q + 3];
      keys[base + K.TcpFlags] = ((b[q + 12] & 0x0f) << 8) | b[q + 13];
      return q + dataOff > lim ? PARSE_MALFORMED : 0;
    }
    case IPPROTO_UDP:
      if (q + UDP_HEADER > lim) return PARSE_MALFORMED;
      keys[base + K.TpSrcDst] = (b[q] << 24) | (b[q + 1] << 16) | (b[q + 2] << 8) | b[q + 3];
      return 0;
    case IPPROTO_SCTP:
      if (q + SCTP_COMMON_HEADER > lim) return PARSE_MALFORMED;
      keys[base + K.TpSrcDst] = (b[q] << 24) | (b[q + 1] << 16) | (b[q + 2] << 8) | b[q + 3];
      return 0;
    case IPPROTO_ICMP:
      if (isIpv6) return 0;
      if (q + ICMP_COMMON_HEADER > lim) return PARSE_MALFORMED;
      keys[base + K.TpSrcDst] = (b[q] << 16) | b[q + 1];
      return 0;
    case IPPROTO_ICMPV6: {
      if (!isIpv6) return 0;
      if (q + ICMP_COMMON_HEADER > lim) return PARSE_MALFORMED;
      const type = b[q];
      keys[base + K.TpSrcDst] = (type << 16) | b[q + 1];
      if ((type === ND_NEIGHBOR_SOLICIT || type === ND_NEIGHBOR_ADVERT) && b[q + 1] === 0) return parseNd(b, q, lim, keys, base);
      return 0;
    }
    default:
      return 0;
  }
}

/**
 * Neighbour solicitation / advertisement: target address, then the options.
 * A source link-layer option (type 1) goes to the ArpSha words, a target one
 * (type 2) to the ArpTha words, whichever message carries it (like OVS); only
 * 8-byte options (Ethernet addresses) are used, and only the first of a kind.
 * An option of length 0 or running past the end is MALFORMED.
 */
function parseNd(b: Uint8Array, q: number, lim: number, keys: Uint32Array, base: number): number {
  if (q + ND_FIXED > lim) return PARSE_MALFORMED;
  for (let w = 0, s = q + 8; w < 4; w++, s += 4) {
    keys[base + K.NdTarget0 + w] = (b[s] << 24) | (b[s + 1] << 16) | (b[s + 2] << 8) | b[s + 3];
  }
  let haveSll = false;
  let haveTll = false;
  let o = q + ND_FIXED;
  while (o < lim) {
    if (o + 2 > lim) return PARSE_MALFORMED;
    const optType = b[o];
    const optLen = b[o + 1] << 3;
    if (optLen === 0 || o + optLen > lim) return PARSE_MALFORMED;
    if (optLen === 8) {
      if (optType === ND_OPT_SOURCE_LL && !haveSll) {
        haveSll = true;
        keys[base + K.ArpShaHi] = (b[o + 2] << 24) | (b[o + 3] << 16) | (b[o + 4] << 8) | b[o + 5];
        keys[base + K.ArpShaLoThaHi] = (keys[base + K.ArpShaLoThaHi] & 0xffff) | (b[o + 6] << 24) | (b[o + 7] << 16);
      } else if (optType === ND_OPT_TARGET_LL && !haveTll) {
        haveTll = true;
        keys[base + K.ArpShaLoThaHi] = (keys[base + K.ArpShaLoThaHi] & 0xffff0000) | (b[o + 2] << 8) | b[o + 3];
        keys[base + K.ArpThaLo] = (b[o + 4] << 24) | (b[o + 5] << 16) | (b[o + 6] << 8) | b[o + 7];
      }
    }
    o += optLen;
  }
  return 0;
}
