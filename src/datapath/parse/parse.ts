/*
 * Frame parser: one Ethernet frame -> one fixed-width flow key row
 * (src/flow/key.ts, layout version 1) plus the L3/L4 offsets the
 * action code needs to patch headers in place.
 *
 * What it reads: Ethernet II (and 802.3 LLC/SNAP), up to two 802.1Q/802.1ad
 * tags, the first MPLS label stack entry, the PBB I-TAG (its TCI only: the
 * customer frame inside is not parsed, OpenFlow matches the outer headers of
 * a PBB frame), Ethernet/IPv4 ARP, IPv4, IPv6 with
 * its extension-header chain, TCP, UDP, SCTP, ICMPv4, ICMPv6 and IPv6 ND.
 * The L3 and L4 parts live in parse-l3.ts and parse-l4.ts.
 *
 * Invariants
 * - Never throws, never allocates: a frame is bytes[off .. off+len) read with
 *   plain indexing; nothing at or past off+len is read (a pool slot holds
 *   stale bytes there).
 * - The whole key row is zeroed first, so a field the frame does not carry is
 *   0, as the flow-key contract requires.
 * - A header is either used whole or not at all: a header whose fixed part is
 *   cut short, or whose version / length field is impossible, contributes no
 *   field and sets PARSE_MALFORMED; every header before it keeps its fields.
 *   A header whose fixed part is there but whose options or payload run past
 *   the frame keeps its fixed fields and sets PARSE_MALFORMED, and nothing
 *   after it is parsed unless the next header is wholly present.
 * - l3[i] is the offset (from the frame's first byte) of the first byte after
 *   the Ethernet header, its VLAN tags and any LLC/SNAP header: the IPv4/IPv6
 *   header, ARP body, MPLS stack or PBB I-TAG TCI. 0 when the L2 header is incomplete.
 *   l4[i] is the offset where the header named by ip_proto starts (TCP, UDP,
 *   ICMP ..., or ESP for IPv6), 0 for non-IP frames, later fragments, and
 *   when the IP header or extension chain could not be walked to its end.
 */

import { K, KEY_WORDS, VLAN_PRESENT, ETH_TYPE_ARP, ETH_TYPE_IPV4, ETH_TYPE_IPV6, ETH_TYPE_MPLS, ETH_TYPE_MPLS_MC, ETH_TYPE_PBB, isVlanTpid } from '../../flow/key.js';
import { parseArp, parseIpv4, parseIpv6 } from './parse-l3.js';
import { ParsedBatch } from './parsed-batch.js';
import { PARSE_MALFORMED } from './parse-l4.js';
import type { PacketPool } from '../../packet/pool.js';

/** Some header after L2 was truncated or invalid; the key holds every field up to it. */
export { PARSE_MALFORMED } from './parse-l4.js';
export { ParsedBatch } from './parsed-batch.js';

/** Fewer than 14 bytes: no Ethernet header; the key holds only in_port. */
export const PARSE_TOO_SHORT = 1;
/** Every PARSE_* bit the parser can set. */
export const PARSE_FLAG_MASK = PARSE_TOO_SHORT | PARSE_MALFORMED;

/** eth_type of an 802.3 frame without a SNAP header (OpenFlow 1.0's OFP_DL_TYPE_NOT_ETH_TYPE, OVS FLOW_DL_TYPE_NONE). */
export const ETH_TYPE_NONE = 0x05ff;
/** Ethertype values below this are 802.3 length fields. */
const ETH_TYPE_MIN = 0x0600;
const ETH_HEADER_LEN = 14;
/** PBB I-TAG after its TPID: TCI (4) + C-DA (6) + C-SA (6). */
const PBB_ITAG_LEN = 16;

/**
 * Parse one frame at bytes[off .. off+len) into row i of out. Never throws.
 * Returns the PARSE_* flags (0 = clean), also stored in out.flags[i].
 */
export function parseFrame(bytes: Uint8Array, off: number, len: number, inPort: number, out: ParsedBatch, i: number): number {
  const keys = out.keys;
  for (let w = i * KEY_WORDS, e = w + KEY_WORDS; w < e; w++) keys[w] = 0;
  return parseZeroed(bytes, off, len, inPort, out, i);
}

/** parseFrame into row i whose key words are already all 0. */
function parseZeroed(bytes: Uint8Array, off: number, len: number, inPort: number, out: ParsedBatch, i: number): number {
  const keys = out.keys;
  const base = i * KEY_WORDS;
  keys[base + K.InPort] = inPort;
  out.l3[i] = 0;
  out.l4[i] = 0;
  let end = off + len;
  if (end > bytes.length) end = bytes.length;
  const flags = end - off < ETH_HEADER_LEN ? PARSE_TOO_SHORT : parseEthernet(bytes, off, end, out, i, base);
  out.flags[i] = flags;
  return flags;
}

/** L2: addresses, VLAN tags, LLC/SNAP; then hands the payload to the L3 parsers. Needs 14 bytes. */
function parseEthernet(b: Uint8Array, off: number, end: number, out: ParsedBatch, i: number, base: number): number {
  const keys = out.keys;
  keys[base + K.EthDstHi] = (b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3];
  keys[base + K.EthDstLoSrcHi] = (b[off + 4] << 24) | (b[off + 5] << 16) | (b[off + 6] << 8) | b[off + 7];
  keys[base + K.EthSrcLo] = (b[off + 8] << 24) | (b[off + 9] << 16) | (b[off + 10] << 8) | b[off + 11];
  let p = off + 12;
  let type = (b[p] << 8) | b[p + 1];
  p += 2;

  let vlan = 0;
  if (isVlanTpid(type)) {
    if (p + 4 > end) {
      keys[base + K.EthTypeVlan] = type << 16;
      return PARSE_MALFORMED;
    }
    // OpenFlow form: the DEI/CFI bit (bit 12) reads as "present".
    vlan = (b[p] << 8) | b[p + 1] | VLAN_PRESENT;
    type = (b[p + 2] << 8) | b[p + 3];
    p += 4;
    if (isVlanTpid(type)) {
      if (p + 4 > end) {
        keys[base + K.EthTypeVlan] = (type << 16) | vlan;
        return PARSE_MALFORMED;
      }
      keys[base + K.VlanInner] = (b[p] << 8) | b[p + 1] | VLAN_PRESENT;
      type = (b[p + 2] << 8) | b[p + 3];
      p += 4;
      // A third tag is left unparsed: eth_type is its TPID (OVS keeps two as well).
    }
  }

  if (type < ETH_TYPE_MIN) {
    // 802.3: a length, not a type. LLC/SNAP with OUI 0 carries an ethertype.
    if (p + 8 <= end && b[p] === 0xaa && b[p + 1] === 0xaa && b[p + 2] === 0x03 && b[p + 3] === 0 && b[p + 4] === 0 && b[p + 5] === 0) {
      type = (b[p + 6] << 8) | b[p + 7];
      p += 8;
    } else {
      type = ETH_TYPE_NONE;
    }
  }

  keys[base + K.EthTypeVlan] = (type << 16) | vlan;
  out.l3[i] = p - off;
  switch (type) {
    case ETH_TYPE_IPV4:
      return parseIpv4(b, p, end, off, out, i, base);
    case ETH_TYPE_IPV6:
      return parseIpv6(b, p, end, off, out, i, base);
    case ETH_TYPE_ARP:
      return parseArp(b, p, end, keys, base);
    case ETH_TYPE_MPLS:
    case ETH_TYPE_MPLS_MC:
      if (p + 4 > end) return PARSE_MALFORMED;
      keys[base + K.MplsLse] = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
      return 0;
    case ETH_TYPE_PBB:
      // The I-TAG: TCI (4 bytes), then the customer destination and source MACs.
      if (p + PBB_ITAG_LEN > end) return PARSE_MALFORMED;
      keys[base + K.MplsLse] = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
      return 0;
    default:
      return 0;
  }
}

/**
 * Parse pool slots[0..n) (frame at pool.dataOff[slot], pool.len[slot], in_port
 * pool.inPort[slot]) into rows 0..n of out. Returns how many frames had
 * PARSE_TOO_SHORT or PARSE_MALFORMED. Throws only when n exceeds out.capacity
 * (a caller bug, checked once per burst).
 */
export function parseBurst(pool: PacketPool, slots: Int32Array, n: number, out: ParsedBatch): number {
  if (n > out.capacity) throw new RangeError(`burst of ${n} frames exceeds parsed batch capacity ${out.capacity}`);
  const bytes = pool.bytes;
  const dataOff = pool.dataOff;
  const lens = pool.len;
  const inPorts = pool.inPort;
  let bad = 0;
  out.keys.fill(0, 0, n * KEY_WORDS); // every row at once: one fill per burst, not one per frame
  for (let j = 0; j < n; j++) {
    const slot = slots[j];
    if (parseZeroed(bytes, dataOff[slot], lens[slot], inPorts[slot], out, j) !== 0) bad++;
  }
  return bad;
}
