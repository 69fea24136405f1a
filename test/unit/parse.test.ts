/*
 * Parser tests against real frames: test/fixtures/frames/*.hex were captured
 * by test/fixtures/capture-frames.sh in network namespaces, and the expected
 * values below are what tshark (an independent decoder) read from the same
 * bytes (frames/tshark-fields.txt). Then: truncation at every length, frames
 * made malformed on purpose, never reading past off+len, random input, and no
 * allocation in parseBurst.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EXTHDR_AUTH, EXTHDR_DEST, EXTHDR_ESP, EXTHDR_FRAG, EXTHDR_HOP, EXTHDR_NONEXT, EXTHDR_ROUTER, EXTHDR_SHIFT, EXTHDR_UNREP, EXTHDR_UNSEQ,
  FLOW_KEY_LAYOUT_VERSION, FRAG_ANY, FRAG_LATER, K, KEY_WORDS, VLAN_PRESENT,
} from '../../src/flow/key.js';
import { ETH_TYPE_NONE, PARSE_FLAG_MASK, PARSE_MALFORMED, PARSE_TOO_SHORT, ParsedBatch, parseBurst, parseFrame } from '../../src/datapath/parse/parse.js';
import { PacketPool } from '../../src/packet/pool.js';
import { obtainGc } from '../helpers/gc.js';

// ---------------------------------------------------------------------------
// What tshark 4.0 decoded from each fixture (copied from tshark-fields.txt).
// For ICMP errors only the outer headers are listed: the parser does not read
// the quoted packet. Under MPLS tshark also decodes the IPv4 packet, which the
// parser leaves alone by design (first LSE only).
const TSHARK: Record<string, Record<string, string>> = {
  'arp-reply': {
    'eth.dst': '02:11:22:33:44:55', 'eth.src': '06:a1:b2:c3:d4:e5', 'eth.type': '0x0806', 'arp.opcode': '2',
    'arp.src.hw_mac': '06:a1:b2:c3:d4:e5', 'arp.src.proto_ipv4': '192.0.2.2', 'arp.dst.hw_mac': '02:11:22:33:44:55',
    'arp.dst.proto_ipv4': '192.0.2.1',
  },
  'arp-request': {
    'eth.dst': 'ff:ff:ff:ff:ff:ff', 'eth.src': '02:11:22:33:44:55', 'eth.type': '0x0806', 'arp.opcode': '1',
    'arp.src.hw_mac': '02:11:22:33:44:55', 'arp.src.proto_ipv4': '192.0.2.1', 'arp.dst.hw_mac': '00:00:00:00:00:00',
    'arp.dst.proto_ipv4': '192.0.2.2',
  },
  'icmp4-echo-reply': {
    'eth.dst': '02:11:22:33:44:55', 'eth.src': '06:a1:b2:c3:d4:e5', 'eth.type': '0x0800', 'ip.hdr_len': '20',
    'ip.len': '84', 'ip.dsfield.dscp': '46', 'ip.dsfield.ecn': '1', 'ip.ttl': '64', 'ip.proto': '1',
    'ip.flags.mf': '0', 'ip.frag_offset': '0', 'ip.src': '192.0.2.2', 'ip.dst': '192.0.2.1', 'icmp.type': '0',
    'icmp.code': '0',
  },
  'icmp4-echo-request': {
    'eth.dst': '06:a1:b2:c3:d4:e5', 'eth.src': '02:11:22:33:44:55', 'eth.type': '0x0800', 'ip.hdr_len': '20',
    'ip.len': '84', 'ip.dsfield.dscp': '46', 'ip.dsfield.ecn': '1', 'ip.ttl': '33', 'ip.proto': '1',
    'ip.flags.mf': '0', 'ip.frag_offset': '0', 'ip.src': '192.0.2.1', 'ip.dst': '192.0.2.2', 'icmp.type': '8',
    'icmp.code': '0',
  },
  'icmp4-port-unreach': {
    'eth.dst': '02:11:22:33:44:55', 'eth.src': '06:a1:b2:c3:d4:e5', 'eth.type': '0x0800', 'ip.hdr_len': '20',
    'ip.len': '73', 'ip.dsfield.dscp': '50', 'ip.dsfield.ecn': '2', 'ip.ttl': '64', 'ip.proto': '1',
    'ip.flags.mf': '0', 'ip.frag_offset': '0', 'ip.src': '192.0.2.2', 'ip.dst': '192.0.2.1', 'icmp.type': '3',
    'icmp.code': '3',
  },
  'icmp4-proto-unreach': {
    'eth.dst': '02:11:22:33:44:55', 'eth.src': '06:a1:b2:c3:d4:e5', 'eth.type': '0x0800', 'ip.hdr_len': '20',
    'ip.len': '80', 'ip.dsfield.dscp': '48', 'ip.dsfield.ecn': '0', 'ip.ttl': '64', 'ip.proto': '1',
    'ip.flags.mf': '0', 'ip.frag_offset': '0', 'ip.src': '192.0.2.2', 'ip.dst': '192.0.2.1', 'icmp.type': '3',
    'icmp.code': '2',
  },
  'icmp6-echo-reply': {
    'eth.dst': '02:11:22:33:44:55', 'eth.src': '06:a1:b2:c3:d4:e5', 'eth.type': '0x86dd', 'ipv6.tclass': '0x00000029',
    'ipv6.flow': '0x026bca', 'ipv6.plen': '64', 'ipv6.nxt': '58', 'ipv6.hlim': '64', 'ipv6.src': '2001:db8::2',
    'ipv6.dst': '2001:db8::1', 'icmpv6.type': '129', 'icmpv6.code': '0',
  },
  'icmp6-echo-request': {
    'eth.dst': '06:a1:b2:c3:d4:e5', 'eth.src': '02:11:22:33:44:55', 'eth.type': '0x86dd', 'ipv6.tclass': '0x00000029',
    'ipv6.flow': '0x0f60f4', 'ipv6.plen': '64', 'ipv6.nxt': '58', 'ipv6.hlim': '17', 'ipv6.src': '2001:db8::1',
    'ipv6.dst': '2001:db8::2', 'icmpv6.type': '128', 'icmpv6.code': '0',
  },
  'icmp6-port-unreach': {
    'eth.dst': '02:11:22:33:44:55', 'eth.src': '06:a1:b2:c3:d4:e5', 'eth.type': '0x86dd', 'ipv6.tclass': '0x00000000',
    'ipv6.flow': '0x044ef3', 'ipv6.plen': '101', 'ipv6.nxt': '58', 'ipv6.hlim': '64', 'ipv6.src': '2001:db8::2',
    'ipv6.dst': '2001:db8::1', 'icmpv6.type': '1', 'icmpv6.code': '4',
  },
  'ip4-frag-first': {
    'eth.dst': '06:a1:b2:c3:d4:e5', 'eth.src': '02:11:22:33:44:55', 'eth.type': '0x0800', 'ip.hdr_len': '20',
    'ip.len': '1500', 'ip.dsfield.dscp': '0', 'ip.dsfield.ecn': '0', 'ip.ttl': '64', 'ip.proto': '1',
    'ip.flags.mf': '1', 'ip.frag_offset': '0', 'ip.src': '192.0.2.1', 'ip.dst': '192.0.2.2', 'icmp.type': '8',
    'icmp.code': '0',
  },
  'ip4-frag-last': {
    'eth.dst': '06:a1:b2:c3:d4:e5', 'eth.src': '02:11:22:33:44:55', 'eth.type': '0x0800', 'ip.hdr_len': '20',
    'ip.len': '68', 'ip.dsfield.dscp': '0', 'ip.dsfield.ecn': '0', 'ip.ttl': '64', 'ip.proto': '1',
    'ip.flags.mf': '0', 'ip.frag_offset': '370', 'ip.src': '192.0.2.1', 'ip.dst': '192.0.2.2',
  },
  'ip4-frag-later': {
    'eth.dst': '06:a1:b2:c3:d4:e5', 'eth.src': '02:11:22:33:44:55', 'eth.type': '0x0800', 'ip.hdr_len': '20',
    'ip.len': '1500', 'ip.dsfield.dscp': '0', 'ip.dsfield.ecn': '0', 'ip.ttl': '64', 'ip.proto': '1',
    'ip.flags.mf': '1', 'ip.frag_offset': '185', 'ip.src': '192.0.2.1', 'ip.dst': '192.0.2.2',
  },
  'ip6-frag-first': {
    'eth.dst': '06:a1:b2:c3:d4:e5', 'eth.src': '02:11:22:33:44:55', 'eth.type': '0x86dd', 'ipv6.tclass': '0x00000000',
    'ipv6.flow': '0x0f60f4', 'ipv6.plen': '1456', 'ipv6.nxt': '44', 'ipv6.hlim': '64', 'ipv6.src': '2001:db8::1',
    'ipv6.dst': '2001:db8::2', 'ipv6.fraghdr.nxt': '58', 'ipv6.fraghdr.offset': '0', 'ipv6.fraghdr.more': '1',
    'icmpv6.type': '128', 'icmpv6.code': '0',
  },
  'ip6-frag-later': {
    'eth.dst': '06:a1:b2:c3:d4:e5', 'eth.src': '02:11:22:33:44:55', 'eth.type': '0x86dd', 'ipv6.tclass': '0x00000000',
    'ipv6.flow': '0x0f60f4', 'ipv6.plen': '1456', 'ipv6.nxt': '44', 'ipv6.hlim': '64', 'ipv6.src': '2001:db8::1',
    'ipv6.dst': '2001:db8::2', 'ipv6.fraghdr.nxt': '58', 'ipv6.fraghdr.offset': '181', 'ipv6.fraghdr.more': '1',
  },
  'mld-report': {
    'eth.dst': '33:33:00:00:00:16', 'eth.src': '02:11:22:33:44:55', 'eth.type': '0x86dd', 'ipv6.tclass': '0x00000000',
    'ipv6.flow': '0x000000', 'ipv6.plen': '76', 'ipv6.nxt': '0', 'ipv6.hlim': '1',
    'ipv6.src': 'fe80::11:22ff:fe33:4455', 'ipv6.dst': 'ff02::16', 'ipv6.hopopts.nxt': '58',
    'ipv6.hopopts.len_oct': '8', 'icmpv6.type': '143', 'icmpv6.code': '0',
  },
  'mpls-udp4': {
    'eth.dst': '06:a1:b2:c3:d4:e5', 'eth.src': '02:11:22:33:44:55', 'eth.type': '0x8847', 'mpls.label': '77,1234',
    'mpls.exp': '2,5', 'mpls.bottom': '0,1', 'mpls.ttl': '64,9', 'ip.hdr_len': '20', 'ip.len': '45',
    'ip.dsfield.dscp': '10', 'ip.dsfield.ecn': '2', 'ip.ttl': '7', 'ip.proto': '17', 'ip.flags.mf': '0',
    'ip.frag_offset': '0', 'ip.src': '192.0.2.1', 'ip.dst': '192.0.2.2', 'udp.srcport': '12345',
    'udp.dstport': '54321',
  },
  'nd-na': {
    'eth.dst': '02:11:22:33:44:55', 'eth.src': '06:a1:b2:c3:d4:e5', 'eth.type': '0x86dd', 'ipv6.tclass': '0x00000000',
    'ipv6.flow': '0x000000', 'ipv6.plen': '32', 'ipv6.nxt': '58', 'ipv6.hlim': '255', 'ipv6.src': '2001:db8::2',
    'ipv6.dst': '2001:db8::1', 'icmpv6.type': '136', 'icmpv6.code': '0', 'icmpv6.nd.na.target_address': '2001:db8::2',
    'icmpv6.opt.type': '2', 'icmpv6.opt.linkaddr': '06:a1:b2:c3:d4:e5',
  },
  'nd-ns': {
    'eth.dst': '33:33:ff:00:00:02', 'eth.src': '02:11:22:33:44:55', 'eth.type': '0x86dd', 'ipv6.tclass': '0x00000000',
    'ipv6.flow': '0x000000', 'ipv6.plen': '32', 'ipv6.nxt': '58', 'ipv6.hlim': '255', 'ipv6.src': '2001:db8::1',
    'ipv6.dst': 'ff02::1:ff00:2', 'icmpv6.type': '135', 'icmpv6.code': '0',
    'icmpv6.nd.ns.target_address': '2001:db8::2', 'icmpv6.opt.type': '1', 'icmpv6.opt.linkaddr': '02:11:22:33:44:55',
  },
  'qinq-icmp4': {
    'eth.dst': '06:a1:b2:c3:d4:e5', 'eth.src': '02:11:22:33:44:55', 'eth.type': '0x88a8', 'ieee8021ad.priority': '3',
    'ieee8021ad.dei': '1', 'ieee8021ad.id': '200', 'vlan.etype': '0x0800', 'vlan.priority': '6', 'vlan.dei': '0',
    'vlan.id': '300', 'ip.hdr_len': '20', 'ip.len': '84', 'ip.dsfield.dscp': '46', 'ip.dsfield.ecn': '1',
    'ip.ttl': '33', 'ip.proto': '1', 'ip.flags.mf': '0', 'ip.frag_offset': '0', 'ip.src': '192.0.2.1',
    'ip.dst': '192.0.2.2', 'icmp.type': '8', 'icmp.code': '0',
  },
  'sctp4': {
    'eth.dst': '06:a1:b2:c3:d4:e5', 'eth.src': '02:11:22:33:44:55', 'eth.type': '0x0800', 'ip.hdr_len': '20',
    'ip.len': '52', 'ip.dsfield.dscp': '0', 'ip.dsfield.ecn': '0', 'ip.ttl': '64', 'ip.proto': '132',
    'ip.flags.mf': '0', 'ip.frag_offset': '0', 'ip.src': '192.0.2.1', 'ip.dst': '192.0.2.2', 'sctp.srcport': '3868',
    'sctp.dstport': '2905',
  },
  'tcp4-data': {
    'eth.dst': '06:a1:b2:c3:d4:e5', 'eth.src': '02:11:22:33:44:55', 'eth.type': '0x0800', 'ip.hdr_len': '20',
    'ip.len': '75', 'ip.dsfield.dscp': '0', 'ip.dsfield.ecn': '0', 'ip.ttl': '64', 'ip.proto': '6',
    'ip.flags.mf': '0', 'ip.frag_offset': '0', 'ip.src': '192.0.2.1', 'ip.dst': '192.0.2.2', 'tcp.srcport': '43210',
    'tcp.dstport': '8080', 'tcp.flags': '0x0018', 'tcp.hdr_len': '32',
  },
  'tcp4-syn': {
    'eth.dst': '06:a1:b2:c3:d4:e5', 'eth.src': '02:11:22:33:44:55', 'eth.type': '0x0800', 'ip.hdr_len': '20',
    'ip.len': '60', 'ip.dsfield.dscp': '0', 'ip.dsfield.ecn': '0', 'ip.ttl': '64', 'ip.proto': '6',
    'ip.flags.mf': '0', 'ip.frag_offset': '0', 'ip.src': '192.0.2.1', 'ip.dst': '192.0.2.2', 'tcp.srcport': '43210',
    'tcp.dstport': '8080', 'tcp.flags': '0x0002', 'tcp.hdr_len': '40',
  },
  'tcp4-synack': {
    'eth.dst': '02:11:22:33:44:55', 'eth.src': '06:a1:b2:c3:d4:e5', 'eth.type': '0x0800', 'ip.hdr_len': '20',
    'ip.len': '60', 'ip.dsfield.dscp': '0', 'ip.dsfield.ecn': '0', 'ip.ttl': '64', 'ip.proto': '6',
    'ip.flags.mf': '0', 'ip.frag_offset': '0', 'ip.src': '192.0.2.2', 'ip.dst': '192.0.2.1', 'tcp.srcport': '8080',
    'tcp.dstport': '43210', 'tcp.flags': '0x0012', 'tcp.hdr_len': '40',
  },
  'tcp6-data': {
    'eth.dst': '06:a1:b2:c3:d4:e5', 'eth.src': '02:11:22:33:44:55', 'eth.type': '0x86dd', 'ipv6.tclass': '0x00000000',
    'ipv6.flow': '0x07a4f6', 'ipv6.plen': '56', 'ipv6.nxt': '6', 'ipv6.hlim': '64', 'ipv6.src': '2001:db8::1',
    'ipv6.dst': '2001:db8::2', 'tcp.srcport': '43211', 'tcp.dstport': '8080', 'tcp.flags': '0x0018',
    'tcp.hdr_len': '32',
  },
  'tcp6-syn': {
    'eth.dst': '06:a1:b2:c3:d4:e5', 'eth.src': '02:11:22:33:44:55', 'eth.type': '0x86dd', 'ipv6.tclass': '0x00000000',
    'ipv6.flow': '0x07a4f6', 'ipv6.plen': '40', 'ipv6.nxt': '6', 'ipv6.hlim': '64', 'ipv6.src': '2001:db8::1',
    'ipv6.dst': '2001:db8::2', 'tcp.srcport': '43211', 'tcp.dstport': '8080', 'tcp.flags': '0x0002',
    'tcp.hdr_len': '40',
  },
  'udp4': {
    'eth.dst': '06:a1:b2:c3:d4:e5', 'eth.src': '02:11:22:33:44:55', 'eth.type': '0x0800', 'ip.hdr_len': '20',
    'ip.len': '45', 'ip.dsfield.dscp': '10', 'ip.dsfield.ecn': '2', 'ip.ttl': '7', 'ip.proto': '17',
    'ip.flags.mf': '0', 'ip.frag_offset': '0', 'ip.src': '192.0.2.1', 'ip.dst': '192.0.2.2', 'udp.srcport': '12345',
    'udp.dstport': '54321',
  },
  'udp6-hbh-dst': {
    'eth.dst': '06:a1:b2:c3:d4:e5', 'eth.src': '02:11:22:33:44:55', 'eth.type': '0x86dd', 'ipv6.tclass': '0x00000000',
    'ipv6.flow': '0x0e861c', 'ipv6.plen': '53', 'ipv6.nxt': '0', 'ipv6.hlim': '64', 'ipv6.src': '2001:db8::1',
    'ipv6.dst': '2001:db8::2', 'ipv6.hopopts.nxt': '60', 'ipv6.hopopts.len_oct': '8', 'ipv6.dstopts.nxt': '17',
    'ipv6.dstopts.len_oct': '8', 'udp.srcport': '23456', 'udp.dstport': '54322',
  },
  'vlan-icmp4': {
    'eth.dst': '06:a1:b2:c3:d4:e5', 'eth.src': '02:11:22:33:44:55', 'eth.type': '0x8100', 'vlan.etype': '0x0800',
    'vlan.priority': '5', 'vlan.dei': '0', 'vlan.id': '100', 'ip.hdr_len': '20', 'ip.len': '84',
    'ip.dsfield.dscp': '46', 'ip.dsfield.ecn': '1', 'ip.ttl': '33', 'ip.proto': '1', 'ip.flags.mf': '0',
    'ip.frag_offset': '0', 'ip.src': '192.0.2.1', 'ip.dst': '192.0.2.2', 'icmp.type': '8', 'icmp.code': '0',
  },
  'vlan-tcp6': {
    'eth.dst': '06:a1:b2:c3:d4:e5', 'eth.src': '02:11:22:33:44:55', 'eth.type': '0x8100', 'vlan.etype': '0x86dd',
    'vlan.priority': '0', 'vlan.dei': '0', 'vlan.id': '4094', 'ipv6.tclass': '0x00000000', 'ipv6.flow': '0x07a4f6',
    'ipv6.plen': '40', 'ipv6.nxt': '6', 'ipv6.hlim': '64', 'ipv6.src': '2001:db8::1', 'ipv6.dst': '2001:db8::2',
    'tcp.srcport': '43211', 'tcp.dstport': '8080', 'tcp.flags': '0x0002', 'tcp.hdr_len': '40',
  },
};

// ---------------------------------------------------------------------------
// Fixtures and the expected key built from tshark's values.

/** Key words in layout order, with names for readable diffs. Pinned to layout version 1. */
const WORDS: ReadonlyArray<readonly [string, number]> = [
  ['InPort', K.InPort], ['MetadataHi', K.MetadataHi], ['MetadataLo', K.MetadataLo], ['TunnelHi', K.TunnelHi],
  ['TunnelLo', K.TunnelLo], ['EthDstHi', K.EthDstHi], ['EthDstLoSrcHi', K.EthDstLoSrcHi], ['EthSrcLo', K.EthSrcLo],
  ['EthTypeVlan', K.EthTypeVlan], ['VlanInner', K.VlanInner], ['MplsLse', K.MplsLse],
  ['IpProtoTosTtlFrag', K.IpProtoTosTtlFrag], ['IpSrc0', K.IpSrc0], ['IpSrc1', K.IpSrc1], ['IpSrc2', K.IpSrc2],
  ['IpSrc3', K.IpSrc3], ['IpDst0', K.IpDst0], ['IpDst1', K.IpDst1], ['IpDst2', K.IpDst2], ['IpDst3', K.IpDst3],
  ['Ipv6LabelExt', K.Ipv6LabelExt], ['TpSrcDst', K.TpSrcDst], ['TcpFlags', K.TcpFlags], ['ArpShaHi', K.ArpShaHi],
  ['ArpShaLoThaHi', K.ArpShaLoThaHi], ['ArpThaLo', K.ArpThaLo], ['NdTarget0', K.NdTarget0],
  ['NdTarget1', K.NdTarget1], ['NdTarget2', K.NdTarget2], ['NdTarget3', K.NdTarget3],
];

const FRAMES_DIR = fileURLToPath(new URL('../fixtures/frames/', import.meta.url));
const IN_PORT = 0x1234567;

function loadFixture(name: string): Uint8Array {
  const text = readFileSync(join(FRAMES_DIR, `${name}.hex`), 'utf8');
  const lines = text.split('\n');
  if (!lines[0].startsWith(`# ${name}: `)) throw new Error(`${name}.hex must start with a '# ${name}: ...' comment`);
  const hex = lines.filter((l) => !l.startsWith('#')).join('').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})+$/.test(hex)) throw new Error(`${name}.hex holds something other than hex bytes`);
  return Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
}

const int = (s: string): number => (s.startsWith('0x') ? parseInt(s.slice(2), 16) : parseInt(s, 10));
const word = (b: ArrayLike<number>, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
const mac = (s: string): number[] => s.split(':').map((x) => parseInt(x, 16));
const ipv4 = (s: string): number => word(s.split('.').map(Number), 0);

/** Textual IPv6 address (with '::') to 16 bytes. */
function ipv6(s: string): number[] {
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]);
}

/** OpenFlow VLAN form from tshark's priority and id. */
const ofVlan = (pcp: string, vid: string): number => (int(pcp) << 13) | VLAN_PRESENT | int(vid);

interface Expected {
  row: Uint32Array;
  l3: number;
  l4: number;
  /** Header ends and the words each one owns, for the truncation test. */
  layers: Layer[];
}
interface Layer {
  name: string;
  /** The header is wholly present once the frame has this many bytes. */
  need: number;
  words: number[];
  /** Bits of each word that belong to this header. */
  mask: number;
  /** Before `need`, those bits must be 0 (the header is used whole or not at all). */
  zeroBefore: boolean;
}

function expectedFor(name: string, frameLen: number): Expected {
  const t = TSHARK[name];
  const row = new Uint32Array(KEY_WORDS);
  const layers: Layer[] = [];
  row[K.InPort] = IN_PORT;
  const dst = mac(t['eth.dst']);
  const src = mac(t['eth.src']);
  row[K.EthDstHi] = word(dst, 0);
  row[K.EthDstLoSrcHi] = word([dst[4], dst[5], src[0], src[1]], 0);
  row[K.EthSrcLo] = word(src, 2);
  layers.push({ name: 'ethernet', need: 14, words: [K.EthDstHi, K.EthDstLoSrcHi, K.EthSrcLo], mask: 0xffffffff, zeroBefore: true });

  let l3 = 14;
  let ethType = int(t['eth.type']);
  if (t['ieee8021ad.id'] !== undefined) {
    row[K.EthTypeVlan] = ofVlan(t['ieee8021ad.priority'], t['ieee8021ad.id']);
    row[K.VlanInner] = ofVlan(t['vlan.priority'], t['vlan.id']);
    ethType = int(t['vlan.etype']);
    l3 += 8;
  } else if (t['vlan.id'] !== undefined) {
    row[K.EthTypeVlan] = ofVlan(t['vlan.priority'], t['vlan.id']);
    ethType = int(t['vlan.etype']);
    l3 += 4;
  }
  row[K.EthTypeVlan] = (row[K.EthTypeVlan] | (ethType << 16)) >>> 0;
  layers.push({ name: 'vlan/eth_type', need: l3, words: [K.EthTypeVlan, K.VlanInner], mask: 0xffffffff, zeroBefore: false });

  let l4 = 0;
  if (t['mpls.label'] !== undefined) {
    const first = (f: string): number => int(t[f].split(',')[0]);
    row[K.MplsLse] = ((first('mpls.label') << 12) | (first('mpls.exp') << 9) | (first('mpls.bottom') << 8) | first('mpls.ttl')) >>> 0;
    layers.push({ name: 'mpls', need: l3 + 4, words: [K.MplsLse], mask: 0xffffffff, zeroBefore: true });
    return { row, l3, l4, layers };
  }
  if (t['arp.opcode'] !== undefined) {
    const sha = mac(t['arp.src.hw_mac']);
    const tha = mac(t['arp.dst.hw_mac']);
    row[K.IpProtoTosTtlFrag] = int(t['arp.opcode']);
    row[K.IpSrc0] = ipv4(t['arp.src.proto_ipv4']);
    row[K.IpDst0] = ipv4(t['arp.dst.proto_ipv4']);
    row[K.ArpShaHi] = word(sha, 0);
    row[K.ArpShaLoThaHi] = word([sha[4], sha[5], tha[0], tha[1]], 0);
    row[K.ArpThaLo] = word(tha, 2);
    const words = [K.IpProtoTosTtlFrag, K.IpSrc0, K.IpDst0, K.ArpShaHi, K.ArpShaLoThaHi, K.ArpThaLo];
    layers.push({ name: 'arp', need: l3 + 28, words, mask: 0xffffffff, zeroBefore: true });
    return { row, l3, l4, layers };
  }

  let proto: number;
  let later = false;
  if (t['ip.src'] !== undefined) {
    proto = int(t['ip.proto']);
    const offset = int(t['ip.frag_offset']);
    const frag = int(t['ip.flags.mf']) !== 0 || offset !== 0 ? FRAG_ANY | (offset !== 0 ? FRAG_LATER : 0) : 0;
    later = offset !== 0;
    const tos = (int(t['ip.dsfield.dscp']) << 2) | int(t['ip.dsfield.ecn']);
    row[K.IpProtoTosTtlFrag] = ((proto << 24) | (tos << 16) | (int(t['ip.ttl']) << 8) | frag) >>> 0;
    row[K.IpSrc0] = ipv4(t['ip.src']);
    row[K.IpDst0] = ipv4(t['ip.dst']);
    const hdrLen = int(t['ip.hdr_len']);
    layers.push({ name: 'ipv4', need: l3 + hdrLen, words: [K.IpProtoTosTtlFrag, K.IpSrc0, K.IpDst0], mask: 0xffffffff, zeroBefore: true });
    if (!later) l4 = l3 + hdrLen;
  } else {
    const s6 = ipv6(t['ipv6.src']);
    const d6 = ipv6(t['ipv6.dst']);
    for (let w = 0; w < 4; w++) {
      row[K.IpSrc0 + w] = word(s6, 4 * w);
      row[K.IpDst0 + w] = word(d6, 4 * w);
    }
    // Walk the chain the way tshark reported it.
    proto = int(t['ipv6.nxt']);
    let ext = 0;
    let extLen = 0;
    let frag = 0;
    for (;;) {
      if (proto === 0) {
        ext |= EXTHDR_HOP;
        extLen += int(t['ipv6.hopopts.len_oct']);
        proto = int(t['ipv6.hopopts.nxt']);
      } else if (proto === 60) {
        ext |= EXTHDR_DEST;
        extLen += int(t['ipv6.dstopts.len_oct']);
        proto = int(t['ipv6.dstopts.nxt']);
      } else if (proto === 44) {
        ext |= EXTHDR_FRAG;
        extLen += 8;
        proto = int(t['ipv6.fraghdr.nxt']);
        const offset = int(t['ipv6.fraghdr.offset']);
        if (offset !== 0 || int(t['ipv6.fraghdr.more']) !== 0) frag = FRAG_ANY;
        if (offset !== 0) {
          frag |= FRAG_LATER;
          later = true;
          break;
        }
      } else {
        break;
      }
    }
    row[K.IpProtoTosTtlFrag] = ((proto << 24) | (int(t['ipv6.tclass']) << 16) | (int(t['ipv6.hlim']) << 8) | frag) >>> 0;
    row[K.Ipv6LabelExt] = ((ext << EXTHDR_SHIFT) | int(t['ipv6.flow'])) >>> 0;
    const addrWords = [K.IpSrc0, K.IpSrc1, K.IpSrc2, K.IpSrc3, K.IpDst0, K.IpDst1, K.IpDst2, K.IpDst3];
    layers.push({ name: 'ipv6', need: l3 + 40, words: addrWords, mask: 0xffffffff, zeroBefore: true });
    layers.push({ name: 'ipv6 tclass/hlim', need: l3 + 40, words: [K.IpProtoTosTtlFrag], mask: 0x00ffff00, zeroBefore: true });
    layers.push({ name: 'ipv6 label', need: l3 + 40, words: [K.Ipv6LabelExt], mask: 0x000fffff, zeroBefore: true });
    layers.push({ name: 'ipv6 chain', need: l3 + 40 + extLen, words: [K.IpProtoTosTtlFrag, K.Ipv6LabelExt], mask: 0xffffffff, zeroBefore: false });
    if (!later) l4 = l3 + 40 + extLen;
  }
  if (later) return { row, l3, l4, layers };

  const l4Layer = (name: string, need: number, words: number[]): void => {
    layers.push({ name, need: l4 + need, words, mask: 0xffffffff, zeroBefore: true });
  };
  if (t['tcp.srcport'] !== undefined) {
    row[K.TpSrcDst] = ((int(t['tcp.srcport']) << 16) | int(t['tcp.dstport'])) >>> 0;
    row[K.TcpFlags] = int(t['tcp.flags']);
    l4Layer('tcp', 20, [K.TpSrcDst, K.TcpFlags]);
  } else if (t['udp.srcport'] !== undefined) {
    row[K.TpSrcDst] = ((int(t['udp.srcport']) << 16) | int(t['udp.dstport'])) >>> 0;
    l4Layer('udp', 8, [K.TpSrcDst]);
  } else if (t['sctp.srcport'] !== undefined) {
    row[K.TpSrcDst] = ((int(t['sctp.srcport']) << 16) | int(t['sctp.dstport'])) >>> 0;
    l4Layer('sctp', 12, [K.TpSrcDst]);
  } else if (t['icmp.type'] !== undefined) {
    row[K.TpSrcDst] = ((int(t['icmp.type']) << 16) | int(t['icmp.code'])) >>> 0;
    l4Layer('icmp', 4, [K.TpSrcDst]);
  } else if (t['icmpv6.type'] !== undefined) {
    row[K.TpSrcDst] = ((int(t['icmpv6.type']) << 16) | int(t['icmpv6.code'])) >>> 0;
    l4Layer('icmpv6', 4, [K.TpSrcDst]);
    const target = t['icmpv6.nd.ns.target_address'] ?? t['icmpv6.nd.na.target_address'];
    if (target !== undefined) {
      const a = ipv6(target);
      for (let w = 0; w < 4; w++) row[K.NdTarget0 + w] = word(a, 4 * w);
      l4Layer('nd target', 24, [K.NdTarget0, K.NdTarget1, K.NdTarget2, K.NdTarget3]);
      const ll = t['icmpv6.opt.linkaddr'] !== undefined ? mac(t['icmpv6.opt.linkaddr']) : undefined;
      if (ll && t['icmpv6.opt.type'] === '1') {
        row[K.ArpShaHi] = word(ll, 0);
        row[K.ArpShaLoThaHi] = ((ll[4] << 24) | (ll[5] << 16)) >>> 0;
      } else if (ll && t['icmpv6.opt.type'] === '2') {
        row[K.ArpShaLoThaHi] = (ll[0] << 8) | ll[1];
        row[K.ArpThaLo] = word(ll, 2);
      }
      // The options end the frame: they are whole only in the whole frame.
      layers.push({ name: 'nd options', need: frameLen, words: [K.ArpShaHi, K.ArpShaLoThaHi, K.ArpThaLo], mask: 0xffffffff, zeroBefore: true });
    }
  }
  return { row, l3, l4, layers };
}

function named(keys: Uint32Array, base: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, w] of WORDS) out[name] = '0x' + keys[base + w].toString(16).padStart(8, '0');
  return out;
}

const FIXTURES = Object.keys(TSHARK);
const frames = new Map(FIXTURES.map((n) => [n, loadFixture(n)]));
const frameOf = (name: string): Uint8Array => frames.get(name)!;

/** Parse `frame` (or its first `len` bytes) at offset `at` of a buffer filled with `fill`. */
function parseIn(frame: Uint8Array, len = frame.length, opts: { at?: number; fill?: number; out?: ParsedBatch; row?: number } = {}) {
  const at = opts.at ?? 0;
  const buf = new Uint8Array(at + frame.length + 64).fill(opts.fill ?? 0);
  buf.set(frame.subarray(0, len), at);
  const out = opts.out ?? new ParsedBatch(4);
  const i = opts.row ?? 0;
  const flags = parseFrame(buf, at, len, IN_PORT, out, i);
  return { flags, out, i, base: i * KEY_WORDS, row: out.keys.slice(i * KEY_WORDS, (i + 1) * KEY_WORDS) };
}

// ---------------------------------------------------------------------------

describe('flow key contract', () => {
  it('is the layout this parser and these tests were written for', () => {
    expect(FLOW_KEY_LAYOUT_VERSION).toBe(1);
    expect(KEY_WORDS).toBe(WORDS.length);
    expect(WORDS.map(([, w]) => w)).toEqual([...Array(KEY_WORDS).keys()]);
  });
});

describe('fixtures', () => {
  it('every captured frame has tshark expectations and every expectation a frame', () => {
    const onDisk = readdirSync(FRAMES_DIR).filter((f) => f.endsWith('.hex')).map((f) => f.slice(0, -4)).sort();
    expect(onDisk).toEqual([...FIXTURES].sort());
    expect(onDisk.length).toBeGreaterThanOrEqual(25);
  });

  it('the expectations here are what tshark-fields.txt recorded for the committed bytes', () => {
    // Guards against a recapture (new flow labels, ports ...) without updating this table.
    const recorded = new Map<string, Map<string, string>>();
    let cur: Map<string, string> | undefined;
    for (const line of readFileSync(join(FRAMES_DIR, 'tshark-fields.txt'), 'utf8').split('\n')) {
      const head = /^== (\S+)/.exec(line);
      if (head) recorded.set(head[1], (cur = new Map<string, string>()));
      else if (line.trim() && cur) cur.set(line.trim().split('=')[0], line.trim().slice(line.trim().indexOf('=') + 1));
    }
    for (const name of FIXTURES) {
      const r = recorded.get(name);
      expect(r, name).toBeDefined();
      for (const [field, value] of Object.entries(TSHARK[name])) {
        // Repeated fields (outer, inner) are listed comma-separated there; this table keeps the outer one.
        const all = r!.get(field);
        expect(all === value || all?.startsWith(value + ','), `${name} ${field}: table ${value}, recorded ${all}`).toBe(true);
      }
    }
  });
});

describe('parseFrame on captured frames, against tshark', () => {
  for (const name of FIXTURES) {
    it(name, () => {
      const frame = frameOf(name);
      const exp = expectedFor(name, frame.length);
      const { flags, out, base } = parseIn(frame, frame.length, { at: 3, row: 2 });
      expect(flags).toBe(0);
      expect(out.flags[2]).toBe(0);
      expect(named(out.keys, base)).toEqual(named(exp.row, 0));
      expect({ l3: out.l3[2], l4: out.l4[2] }).toEqual({ l3: exp.l3, l4: exp.l4 });
    });
  }

  it('covers every layer the brief names', () => {
    const all = FIXTURES.map((n) => expectedFor(n, frameOf(n).length).row);
    const some = (pred: (r: Uint32Array) => boolean): boolean => all.some(pred);
    expect(some((r) => r[K.ArpShaHi] !== 0 && r[K.EthTypeVlan] >>> 16 === 0x0806)).toBe(true);
    expect(some((r) => (r[K.EthTypeVlan] & VLAN_PRESENT) !== 0 && r[K.VlanInner] === 0)).toBe(true);
    expect(some((r) => (r[K.VlanInner] & VLAN_PRESENT) !== 0)).toBe(true);
    expect(some((r) => r[K.MplsLse] !== 0)).toBe(true);
    expect(some((r) => (r[K.IpProtoTosTtlFrag] & FRAG_LATER) !== 0 && r[K.EthTypeVlan] >>> 16 === 0x0800)).toBe(true);
    expect(some((r) => (r[K.IpProtoTosTtlFrag] & FRAG_LATER) !== 0 && r[K.EthTypeVlan] >>> 16 === 0x86dd)).toBe(true);
    expect(some((r) => (r[K.Ipv6LabelExt] >>> EXTHDR_SHIFT & EXTHDR_HOP) !== 0)).toBe(true);
    expect(some((r) => r[K.NdTarget0] !== 0 && r[K.ArpShaHi] !== 0)).toBe(true);
    expect(some((r) => r[K.NdTarget0] !== 0 && r[K.ArpThaLo] !== 0)).toBe(true);
    expect(some((r) => r[K.IpProtoTosTtlFrag] >>> 24 === 132 && r[K.TpSrcDst] !== 0)).toBe(true);
  });
});

describe('truncated captured frames', () => {
  for (const name of FIXTURES) {
    it(`${name}: every length from 0 to full`, () => {
      const frame = frameOf(name);
      const exp = expectedFor(name, frame.length);
      const out = new ParsedBatch(1);
      const complete = exp.row[K.MplsLse] !== 0 ? exp.l3 + 4 : frame.length;
      for (let len = 0; len <= frame.length; len++) {
        const { flags, row } = parseIn(frame, len, { out, fill: 0xa5 });
        const at = `${name} cut at ${len}`;
        expect(flags & ~PARSE_FLAG_MASK, at).toBe(0);
        expect(row[K.InPort], at).toBe(IN_PORT);
        if (len < 14) {
          expect(flags, at).toBe(PARSE_TOO_SHORT);
          expect(row.every((v, w) => w === K.InPort || v === 0), at).toBe(true);
          expect([out.l3[0], out.l4[0]], at).toEqual([0, 0]);
          continue;
        }
        expect(flags, at).toBe(len < complete ? PARSE_MALFORMED : 0);
        for (const layer of exp.layers) {
          for (const w of layer.words) {
            const got = (row[w] & layer.mask) >>> 0;
            if (len >= layer.need) expect(got, `${at}: ${layer.name} word ${w}`).toBe((exp.row[w] & layer.mask) >>> 0);
            else if (layer.zeroBefore) expect(got, `${at}: ${layer.name} word ${w} before its header is whole`).toBe(0);
          }
        }
        expect(out.l3[0], at).toBe(len >= exp.l3 ? exp.l3 : 0);
        expect(out.l4[0], at).toBe(exp.l4 !== 0 && len >= exp.l4 ? exp.l4 : 0);
      }
    });
  }
});

describe('never reads past off+len', () => {
  it('gives the same key whatever lies before and after the frame, at every length', () => {
    const clean = new ParsedBatch(1);
    const dirty = new ParsedBatch(1);
    for (const name of FIXTURES) {
      const frame = frameOf(name);
      for (let len = 0; len <= frame.length; len++) {
        const a = parseIn(frame, len, { at: 0, fill: 0x00, out: clean });
        const b = parseIn(frame, len, { at: 7, fill: 0xff, out: dirty });
        expect(b.flags, `${name} at ${len}`).toBe(a.flags);
        expect(b.row, `${name} at ${len}`).toEqual(a.row);
        expect([dirty.l3[0], dirty.l4[0]]).toEqual([clean.l3[0], clean.l4[0]]);
      }
    }
  });

  it('treats a frame that claims to run past the buffer as cut at the buffer end', () => {
    const short = frameOf('tcp4-syn').slice(0, 40); // the buffer ends inside the TCP header
    const out = new ParsedBatch(1);
    expect(parseFrame(short, 0, 74, 1, out, 0)).toBe(PARSE_MALFORMED);
    expect(out.keys[K.IpSrc0]).toBe(ipv4('192.0.2.1'));
    expect(out.keys[K.TpSrcDst]).toBe(0);
    const whole = frameOf('tcp4-syn');
    expect(parseFrame(whole, 0, whole.length + 100, 1, out, 0)).toBe(0); // IP total length bounds it
  });
});

/** A copy of a captured frame with edits applied. */
function edited(name: string, edit: (f: Uint8Array) => void): Uint8Array {
  const f = frameOf(name).slice();
  edit(f);
  return f;
}
function concat(...parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('malformed frames made from captured ones', () => {
  const syn = (): Expected => expectedFor('tcp4-syn', frameOf('tcp4-syn').length);

  it('IPv4 with IHL < 5: no IP field, MALFORMED, L2 kept', () => {
    for (const ihl of [0, 1, 4]) {
      const f = edited('tcp4-syn', (b) => { b[14] = 0x40 | ihl; });
      const { flags, row, out } = parseIn(f);
      expect(flags).toBe(PARSE_MALFORMED);
      expect(row[K.EthTypeVlan]).toBe(syn().row[K.EthTypeVlan]);
      expect(row[K.EthSrcLo]).toBe(syn().row[K.EthSrcLo]);
      for (const w of [K.IpProtoTosTtlFrag, K.IpSrc0, K.IpDst0, K.TpSrcDst, K.TcpFlags]) expect(row[w]).toBe(0);
      expect([out.l3[0], out.l4[0]]).toEqual([14, 0]);
    }
  });

  it('IPv4 with a version other than 4, or a total length below the header: no IP field', () => {
    for (const f of [edited('tcp4-syn', (b) => { b[14] = 0x65; }), edited('tcp4-syn', (b) => { b[16] = 0; b[17] = 19; })]) {
      const { flags, row } = parseIn(f);
      expect(flags).toBe(PARSE_MALFORMED);
      expect(row[K.IpSrc0]).toBe(0);
      expect(row[K.TpSrcDst]).toBe(0);
    }
  });

  it('IPv4 total length past the frame: MALFORMED, IP and TCP fields kept', () => {
    const f = edited('tcp4-syn', (b) => { b[17] += 100; });
    const { flags, row, out } = parseIn(f);
    expect(flags).toBe(PARSE_MALFORMED);
    expect(named(row, 0)).toEqual(named(syn().row, 0));
    expect(out.l4[0]).toBe(34);
  });

  it('IPv4 options: L4 found after them; options past the end: IP kept, no L4', () => {
    const echo = frameOf('icmp4-echo-request');
    // Four NOP options: IHL 6, total length + 4.
    const withOpts = concat(echo.subarray(0, 34), [1, 1, 1, 1], echo.subarray(34));
    withOpts[14] = 0x46;
    withOpts[17] += 4;
    withOpts[24] = 0; // the header checksum is not the parser's business, but keep it honest: zero it
    withOpts[25] = 0;
    const ok = parseIn(withOpts);
    expect(ok.flags).toBe(0);
    expect(ok.out.l4[0]).toBe(38);
    expect(ok.row[K.TpSrcDst]).toBe(8 << 16);
    expect(ok.row[K.IpSrc0]).toBe(ipv4('192.0.2.1'));
    const cut = parseIn(withOpts, 36);
    expect(cut.flags).toBe(PARSE_MALFORMED);
    expect(cut.row[K.IpSrc0]).toBe(ipv4('192.0.2.1'));
    expect(cut.out.l4[0]).toBe(0);
  });

  it('a lying TCP data offset', () => {
    // Past the segment: ports and flags kept, MALFORMED.
    const past = parseIn(edited('tcp4-data', (b) => { b[34 + 12] = 0xf0 | (b[34 + 12] & 0x0f); }));
    expect(past.flags).toBe(PARSE_MALFORMED);
    expect(past.row[K.TpSrcDst]).toBe(((43210 << 16) | 8080) >>> 0);
    expect(past.row[K.TcpFlags]).toBe(0x018);
    // Below the minimum header: the TCP header is not used at all.
    for (const doff of [0, 2, 4]) {
      const low = parseIn(edited('tcp4-data', (b) => { b[34 + 12] = (doff << 4) | (b[34 + 12] & 0x0f); }));
      expect(low.flags).toBe(PARSE_MALFORMED);
      expect(low.row[K.TpSrcDst]).toBe(0);
      expect(low.row[K.TcpFlags]).toBe(0);
      expect(low.row[K.IpSrc0]).toBe(ipv4('192.0.2.1'));
    }
  });

  it('IPv6 extension chain running past the end', () => {
    // udp6-hbh-dst: 14 eth + 40 IPv6 + HBH(8) @54 + DEST(8) @62 + UDP @70. Grow DEST to 88 bytes.
    const f = edited('udp6-hbh-dst', (b) => { b[63] = 10; });
    const { flags, row, out } = parseIn(f);
    expect(flags).toBe(PARSE_MALFORMED);
    expect(row[K.IpSrc3]).toBe(1);
    expect(row[K.Ipv6LabelExt] >>> EXTHDR_SHIFT).toBe(EXTHDR_HOP);
    expect(row[K.IpProtoTosTtlFrag] >>> 24).toBe(60);
    expect(row[K.TpSrcDst]).toBe(0);
    expect(out.l4[0]).toBe(0);
    // And a payload length past the frame.
    const plen = parseIn(edited('udp6-hbh-dst', (b) => { b[18] += 1; }));
    expect(plen.flags).toBe(PARSE_MALFORMED);
    expect(plen.row[K.TpSrcDst]).toBe(((23456 << 16) | 54322) >>> 0);
  });

  it('IPv6 with a version other than 6: no IPv6 field', () => {
    const { flags, row } = parseIn(edited('tcp6-syn', (b) => { b[14] = 0x40 | (b[14] & 0x0f); }));
    expect(flags).toBe(PARSE_MALFORMED);
    expect(row.subarray(K.IpProtoTosTtlFrag).every((v) => v === 0)).toBe(true);
  });

  it('ND option with length 0 or past the end: target kept, link-layer address not', () => {
    // nd-ns: ICMPv6 at 54, target at 62, option at 78 (type 1, len 1).
    for (const len of [0, 2]) {
      const { flags, row } = parseIn(edited('nd-ns', (b) => { b[79] = len; }));
      expect(flags).toBe(PARSE_MALFORMED);
      expect(row[K.NdTarget3]).toBe(2);
      expect(row[K.ArpShaHi]).toBe(0);
    }
  });

  it('ARP that is not Ethernet/IPv4 is left unparsed, not malformed', () => {
    const { flags, row } = parseIn(edited('arp-request', (b) => { b[15] = 6; }));
    expect(flags).toBe(0);
    expect(row[K.EthTypeVlan] >>> 16).toBe(0x0806);
    expect(row.subarray(K.IpProtoTosTtlFrag).every((v) => v === 0)).toBe(true);
  });

  it('a truncated VLAN tag keeps the TPID as eth_type', () => {
    const { flags, row, out } = parseIn(frameOf('qinq-icmp4'), 20);
    expect(flags).toBe(PARSE_MALFORMED);
    expect(row[K.EthTypeVlan]).toBe(((0x8100 << 16) | ofVlan('3', '200')) >>> 0);
    expect(row[K.VlanInner]).toBe(0);
    expect(out.l3[0]).toBe(0);
  });
});

describe('other shapes made from captured frames', () => {
  it('Ethernet padding after the IP packet is ignored', () => {
    for (const name of ['arp-request', 'tcp4-syn', 'udp4', 'icmp6-echo-request', 'nd-na']) {
      const frame = frameOf(name);
      const padded = concat(frame, new Uint8Array(Math.max(0, 60 - frame.length) + 18).fill(0x5a));
      const a = parseIn(frame);
      const b = parseIn(padded);
      expect(b.flags, name).toBe(0);
      expect(named(b.row, 0), name).toEqual(named(a.row, 0));
    }
  });

  it('a third VLAN tag is left unparsed: eth_type is its TPID', () => {
    const v = frameOf('vlan-icmp4');
    const f = concat(v.subarray(0, 12), [0x88, 0xa8, 0x00, 0x07, 0x81, 0x00, 0x00, 0x08], v.subarray(12));
    const { flags, row, out } = parseIn(f);
    expect(flags).toBe(0);
    expect(row[K.EthTypeVlan]).toBe(((0x8100 << 16) | VLAN_PRESENT | 7) >>> 0);
    expect(row[K.VlanInner]).toBe(VLAN_PRESENT | 8);
    expect(row[K.IpSrc0]).toBe(0);
    expect(out.l3[0]).toBe(22);
  });

  it('802.3 with LLC/SNAP carries the ethertype; without SNAP eth_type is 0x05ff', () => {
    const echo = frameOf('icmp4-echo-request');
    const ipLen = echo.length - 14;
    const snap = concat(echo.subarray(0, 12), [(ipLen + 8) >> 8, (ipLen + 8) & 0xff, 0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00], echo.subarray(14));
    const s = parseIn(snap);
    expect(s.flags).toBe(0);
    expect(s.out.l3[0]).toBe(22);
    const plain = parseIn(echo);
    for (const [, w] of WORDS) if (w !== K.EthTypeVlan) expect(s.row[w]).toBe(plain.row[w]);
    expect(s.row[K.EthTypeVlan] >>> 16).toBe(0x0800);
    const llc = concat(echo.subarray(0, 12), [0x00, 0x26, 0x42, 0x42, 0x03], new Uint8Array(35));
    const l = parseIn(llc);
    expect(l.flags).toBe(0);
    expect(l.row[K.EthTypeVlan] >>> 16).toBe(ETH_TYPE_NONE);
    expect(l.row[K.IpSrc0]).toBe(0);
  });

  /** udp6-hbh-dst rebuilt with the given extension chain (8-byte headers) before its UDP datagram. */
  function ipv6Chain(chain: number[], fragField = 0): Uint8Array {
    const base = frameOf('udp6-hbh-dst');
    const udp = base.subarray(70);
    const types = [...chain, 17];
    const exts: number[] = [];
    for (let k = 0; k < chain.length; k++) {
      const h = [types[k + 1], 0, 1, 4, 0, 0, 0, 0]; // next header, length 0 (8 bytes), PadN
      if (chain[k] === 44) h.splice(1, 7, 0, fragField >> 8, fragField & 0xff, 0, 0, 0, 1);
      if (chain[k] === 51) h.splice(1, 7, 0, 0, 0, 0, 0, 0, 9); // AH payload length 0 = 8 bytes
      exts.push(...h);
    }
    const f = concat(base.subarray(0, 54), exts, udp);
    f[14 + 6] = types[0];
    const plen = exts.length + udp.length;
    f[18] = plen >> 8;
    f[19] = plen & 0xff;
    return f;
  }
  const extOf = (r: Uint32Array): number => r[K.Ipv6LabelExt] >>> EXTHDR_SHIFT;
  const protoOf = (r: Uint32Array): number => r[K.IpProtoTosTtlFrag] >>> 24;
  const UDP_PORTS = ((23456 << 16) | 54322) >>> 0;

  it('IPv6 extension headers: flags, final ip_proto, repeats', () => {
    const cases: Array<[number[], number]> = [
      [[0, 60, 43, 44, 51], EXTHDR_HOP | EXTHDR_DEST | EXTHDR_ROUTER | EXTHDR_FRAG | EXTHDR_AUTH],
      [[60, 43, 60], EXTHDR_DEST | EXTHDR_ROUTER], // destination options before and after routing: expected
      [[60, 60], EXTHDR_DEST | EXTHDR_UNREP],
      [[43, 60, 60], EXTHDR_DEST | EXTHDR_ROUTER | EXTHDR_UNREP],
      // Hop-by-hop belongs right after the IPv6 header: HOP only for the first
      // extension header (1.3.5 A.2.3.7), UNSEQ anywhere else.
      [[0, 0], EXTHDR_HOP | EXTHDR_UNREP | EXTHDR_UNSEQ],
      [[60, 0, 0, 43, 60], EXTHDR_DEST | EXTHDR_ROUTER | EXTHDR_UNREP | EXTHDR_UNSEQ],
      [[43, 0], EXTHDR_ROUTER | EXTHDR_UNSEQ],
      // RFC 2460 4.1's order: hop-by-hop, dest, routing, fragment, auth, ESP, dest.
      [[0, 43, 60], EXTHDR_HOP | EXTHDR_ROUTER | EXTHDR_DEST],
      [[60, 44], EXTHDR_DEST | EXTHDR_FRAG],
      [[51, 60], EXTHDR_AUTH | EXTHDR_DEST],
      [[44, 43], EXTHDR_FRAG | EXTHDR_ROUTER | EXTHDR_UNSEQ],
      [[51, 44], EXTHDR_AUTH | EXTHDR_FRAG | EXTHDR_UNSEQ],
      [[51, 60, 43], EXTHDR_AUTH | EXTHDR_DEST | EXTHDR_ROUTER | EXTHDR_UNSEQ],
      [[60, 43, 60, 60], EXTHDR_DEST | EXTHDR_ROUTER | EXTHDR_UNREP],
    ];
    for (const [chain, ext] of cases) {
      const f = ipv6Chain(chain);
      const { flags, row, out } = parseIn(f);
      expect(flags, chain.join(',')).toBe(0);
      expect(extOf(row), chain.join(',')).toBe(ext);
      expect(protoOf(row)).toBe(17);
      expect(row[K.TpSrcDst]).toBe(UDP_PORTS);
      expect(out.l4[0]).toBe(54 + 8 * chain.length);
    }
  });

  it('IPv6 ESP and "no next header" stop the walk', () => {
    const esp = parseIn(ipv6Chain([0, 50]));
    expect([esp.flags, extOf(esp.row), protoOf(esp.row), esp.row[K.TpSrcDst]]).toEqual([0, EXTHDR_HOP | EXTHDR_ESP, 50, 0]);
    expect(esp.out.l4[0]).toBe(62);
    const none = parseIn(ipv6Chain([60, 59]));
    expect([none.flags, extOf(none.row), protoOf(none.row), none.row[K.TpSrcDst]]).toEqual([0, EXTHDR_DEST | EXTHDR_NONEXT, 59, 0]);
    // ESP after the final destination options is out of order; before it, in order.
    expect(extOf(parseIn(ipv6Chain([43, 60, 50])).row)).toBe(EXTHDR_ROUTER | EXTHDR_DEST | EXTHDR_ESP | EXTHDR_UNSEQ);
    expect(extOf(parseIn(ipv6Chain([60, 43, 51, 50])).row)).toBe(EXTHDR_DEST | EXTHDR_ROUTER | EXTHDR_AUTH | EXTHDR_ESP);
  });

  it('IPv6 fragments: an atomic fragment is not one; a later one stops the walk', () => {
    const atomic = parseIn(ipv6Chain([44], 0));
    expect([extOf(atomic.row), atomic.row[K.IpProtoTosTtlFrag] & 0xff, atomic.row[K.TpSrcDst]]).toEqual([EXTHDR_FRAG, 0, UDP_PORTS]);
    const first = parseIn(ipv6Chain([44], 1));
    expect([first.row[K.IpProtoTosTtlFrag] & 0xff, first.row[K.TpSrcDst]]).toEqual([FRAG_ANY, UDP_PORTS]);
    const later = parseIn(ipv6Chain([44, 60], 8 << 3));
    expect([later.row[K.IpProtoTosTtlFrag] & 0xff, protoOf(later.row), extOf(later.row), later.row[K.TpSrcDst], later.out.l4[0]])
      .toEqual([FRAG_ANY | FRAG_LATER, 60, EXTHDR_FRAG, 0, 0]);
  });

  it('ICMP type/code only where the IP version matches', () => {
    // ICMPv4 (proto 1) inside IPv6 and ICMPv6 (58) inside IPv4 are not decoded.
    const v6 = parseIn(edited('icmp6-echo-request', (b) => { b[20] = 1; }));
    expect([v6.flags, v6.row[K.TpSrcDst]]).toEqual([0, 0]);
    const v4 = parseIn(edited('icmp4-echo-request', (b) => { b[23] = 58; }));
    expect([v4.flags, v4.row[K.TpSrcDst]]).toEqual([0, 0]);
  });
});

describe('ParsedBatch and parseBurst', () => {
  it('a row is rewritten whole: nothing of the previous frame survives', () => {
    const out = new ParsedBatch(2);
    const nd = frameOf('nd-ns');
    parseFrame(nd, 0, nd.length, 9, out, 1);
    expect(out.keys[KEY_WORDS + K.NdTarget3]).toBe(2);
    expect(parseFrame(nd, 0, 13, 5, out, 1)).toBe(PARSE_TOO_SHORT);
    expect([...out.keys.subarray(KEY_WORDS, 2 * KEY_WORDS)]).toEqual([5, ...new Array<number>(KEY_WORDS - 1).fill(0)]);
    expect([out.flags[1], out.l3[1], out.l4[1]]).toEqual([PARSE_TOO_SHORT, 0, 0]);
    expect(() => new ParsedBatch(0)).toThrow(RangeError);
  });

  function poolWithFixtures(n: number): { pool: PacketPool; slots: Int32Array; names: string[] } {
    const pool = new PacketPool({ slots: 64 });
    const slots = new Int32Array(n);
    expect(pool.allocBurst(slots, n)).toBe(n);
    const names: string[] = [];
    for (let j = 0; j < n; j++) {
      const name = FIXTURES[j % FIXTURES.length];
      names.push(name);
      pool.write(slots[j], frameOf(name));
      pool.inPort[slots[j]] = 100 + j;
    }
    return { pool, slots, names };
  }

  it('parses pool slots into rows and counts the bad frames', () => {
    const { pool, slots, names } = poolWithFixtures(32);
    pool.len[slots[5]] = 10; // too short
    pool.len[slots[6]] = 30; // cut inside L3
    const out = new ParsedBatch(32);
    expect(parseBurst(pool, slots, 32, out)).toBe(2);
    for (let j = 0; j < 32; j++) {
      const base = j * KEY_WORDS;
      expect(out.keys[base + K.InPort]).toBe(100 + j);
      if (j === 5) expect(out.flags[j]).toBe(PARSE_TOO_SHORT);
      else if (j === 6) expect(out.flags[j]).toBe(PARSE_MALFORMED);
      else {
        const exp = expectedFor(names[j], frameOf(names[j]).length);
        exp.row[K.InPort] = 100 + j;
        expect(named(out.keys, base), names[j]).toEqual(named(exp.row, 0));
      }
    }
    expect(() => parseBurst(pool, slots, 33, out)).toThrow(RangeError);
  });

  it('a burst rewrites every row it parses whole: nothing of the burst before survives', () => {
    const out = new ParsedBatch(32);
    const nd = new PacketPool({ slots: 64 });
    const ndSlots = new Int32Array(32);
    nd.allocBurst(ndSlots, 32);
    for (const s of ndSlots) nd.write(s, frameOf('nd-ns'));
    parseBurst(nd, ndSlots, 32, out);
    expect(out.keys[K.NdTarget3]).toBe(2);
    const { pool, slots, names } = poolWithFixtures(32);
    parseBurst(pool, slots, 32, out);
    for (let j = 0; j < 32; j++) {
      const exp = expectedFor(names[j], frameOf(names[j]).length);
      exp.row[K.InPort] = 100 + j;
      expect(named(out.keys, j * KEY_WORDS), names[j]).toEqual(named(exp.row, 0));
    }
  });

  it('does not allocate: 200k bursts of 32 frames after a warm-up', async () => {
    const gc = obtainGc();
    const { pool, slots } = poolWithFixtures(32);
    const out = new ParsedBatch(32);
    let bad = 0;
    for (let k = 0; k < 20_000; k++) bad += parseBurst(pool, slots, 32, out);
    gc();
    // Garbage that dies young never shows as heap growth after a collection, so
    // also count the scavenges the loop causes: 6.4M frames allocating even a
    // few bytes each would fill the young generation many times over.
    let scavenges = 0;
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
    });
    observer.observe({ entryTypes: ['gc'] });
    const before = process.memoryUsage().heapUsed;
    for (let k = 0; k < 200_000; k++) bad += parseBurst(pool, slots, 32, out);
    await new Promise((r) => setTimeout(r, 50)); // gc entries are delivered asynchronously
    observer.disconnect();
    expect(bad).toBe(0);
    expect(scavenges).toBeLessThanOrEqual(2);
    gc();
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(1 << 20);
  });
});

describe('random input (fast-check)', () => {
  it('random bytes never throw, set only defined flags, and read nothing past the end', () => {
    const clean = new ParsedBatch(1);
    const dirty = new ParsedBatch(1);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 16 }), (bytes, at) => {
        const a = parseIn(bytes, bytes.length, { out: clean });
        const b = parseIn(bytes, bytes.length, { out: dirty, at, fill: 0xff });
        expect(a.flags & ~PARSE_FLAG_MASK).toBe(0);
        expect(b.flags).toBe(a.flags);
        expect(b.row).toEqual(a.row);
        expect(clean.l3[0]).toBeLessThanOrEqual(bytes.length);
        expect(clean.l4[0]).toBeLessThanOrEqual(bytes.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('captured frames with random bytes changed and a random cut behave the same way', () => {
    const clean = new ParsedBatch(1);
    const dirty = new ParsedBatch(1);
    const pick = fc.constantFrom(...FIXTURES);
    const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 });
    fc.assert(
      fc.property(pick, edits, fc.nat(), (name, changes, cut) => {
        const f = frameOf(name).slice();
        for (const [pos, val] of changes) f[pos % f.length] = val;
        const len = cut % (f.length + 1);
        const a = parseIn(f, len, { out: clean });
        const b = parseIn(f, len, { out: dirty, at: 5, fill: 0xff });
        expect(a.flags & ~PARSE_FLAG_MASK).toBe(0);
        expect(b.flags).toBe(a.flags);
        expect(b.row).toEqual(a.row);
        expect(a.row[K.InPort]).toBe(IN_PORT);
        expect(clean.l4[0] === 0 || clean.l4[0] > clean.l3[0]).toBe(true);
        expect(clean.l4[0]).toBeLessThanOrEqual(len);
      }),
      { numRuns: 3000 },
    );
  });
});
