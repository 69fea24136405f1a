/*
 * Frame edits of the OpenFlow actions, on captured frames (complete
 * checksums). Each set-field is checked against an independent reference:
 * the same bytes edited by hand at the offsets the protocol headers define,
 * then every checksum recomputed from scratch; the switch's incremental
 * fix-ups must give the very same frame. Plus VLAN and MPLS push/pop, TTLs,
 * offload state kept in step, copy-on-write, and the key patch used for
 * later tables agreeing with a re-parse.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Action } from '../../src/openflow/codec/v13/actions.js';
import { ActionExecutor, PipelineStat, type ExecHost } from '../../src/datapath/rules/actions-exec.js';
import { Datapath } from '../../src/datapath/datapath.js';
import { K, KEY_WORDS } from '../../src/flow/key.js';
import { GroupTable } from '../../src/datapath/rules/groups.js';
import { patchKey } from '../../src/datapath/rules/key-patch.js';
import { MeterTable } from '../../src/datapath/rules/meters.js';
import { NormalSwitch } from '../../src/datapath/learning/normal.js';
import { compileActions } from '../../src/openflow/ofproto/compile.js';
import { ParsedBatch, parseFrame } from '../../src/datapath/parse/parse.js';
import { PipelineTables } from '../../src/datapath/rules/pipeline-tables.js';
import { PacketPool } from '../../src/packet/pool.js';
import { VNET_F_NEEDS_CSUM } from '../../src/packet/vnet.js';
import { OFPP, OFPR } from '../../src/openflow/codec/v13/enums.js';
import type { Oxm } from '../../src/openflow/codec/v13/oxm.js';
import { apply, badChecksums, gotoTable, crc32cRef, inPort, ip4Num, ipSpan, layout, loadFrame, macNum, out, refSum, setField, setup } from '../helpers/of-harness.js';

const be16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
const put16 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = (v >> 8) & 0xff;
  b[o + 1] = v & 0xff;
};
const put32 = (b: Uint8Array, o: number, v: number): void => {
  put16(b, o, v >>> 16);
  put16(b, o + 2, v & 0xffff);
};
const putMac = (b: Uint8Array, o: number, v: number): void => {
  put16(b, o, Math.floor(v / 2 ** 32));
  put32(b, o + 2, v % 2 ** 32);
};
const put128 = (b: Uint8Array, o: number, v: bigint): void => {
  for (let i = 0; i < 16; i++) b[o + i] = Number((v >> BigInt(8 * (15 - i))) & 0xffn);
};

/** Recomputes every checksum of a frame from scratch (the reference for incremental updates). */
function recomputeChecksums(f: Uint8Array): Uint8Array {
  const { l3, l4, ethType, proto } = layout(f);
  if (ethType !== 0x0800 && ethType !== 0x86dd) return f;
  const v6 = ethType === 0x86dd;
  if (!v6) {
    put16(f, l3 + 10, 0);
    put16(f, l3 + 10, ~refSum(f, l3, (f[l3] & 0x0f) * 4) & 0xffff);
  }
  const { ipEnd, pseudo } = ipSpan(f, l3, l4, proto, v6);
  if (l4 === 0) return f;
  const at = proto === 6 ? 16 : proto === 17 ? 6 : proto === 1 || proto === 58 ? 2 : -1;
  if (at >= 0) {
    if (proto === 17 && be16(f, l4 + 6) === 0) return f;
    put16(f, l4 + at, 0);
    let c = ~refSum(f, l4, ipEnd - l4, proto === 1 ? 0 : pseudo) & 0xffff;
    if (proto === 17 && c === 0) c = 0xffff;
    put16(f, l4 + at, c);
  } else if (proto === 132) {
    f.fill(0, l4 + 8, l4 + 12);
    const crc = crc32cRef(f, l4, ipEnd);
    f[l4 + 8] = crc & 0xff;
    f[l4 + 9] = (crc >>> 8) & 0xff;
    f[l4 + 10] = (crc >>> 16) & 0xff;
    f[l4 + 11] = crc >>> 24;
  }
  return f;
}

interface Case {
  name: string;
  frame: string;
  match: Oxm[];
  field: Oxm;
  /** The reference edit, by hand (l3/l4 from the parser of the original frame). */
  edit: (f: Uint8Array, l3: number, l4: number) => void;
}

const ETH = (t: number): Oxm => ({ field: 'eth_type', value: t });
const PROTO = (p: number): Oxm => ({ field: 'ip_proto', value: p });
const V6A = 0x20010db8_00000000_00000000_0000beefn;

function ndOpt(f: Uint8Array, l4: number, type: number): number {
  for (let p = l4 + 24; p + 8 <= f.length; p += f[p + 1] * 8) if (f[p] === type && f[p + 1] === 1) return p + 2;
  throw new Error('no such ND option');
}

const CASES: Case[] = [
  { name: 'eth_dst', frame: 'udp4', match: [], field: { field: 'eth_dst', value: macNum('0a:0b:0c:0d:0e:0f') }, edit: (f) => putMac(f, 0, macNum('0a:0b:0c:0d:0e:0f')) },
  { name: 'eth_src', frame: 'tcp6-data', match: [], field: { field: 'eth_src', value: macNum('02:aa:bb:cc:dd:ee') }, edit: (f) => putMac(f, 6, macNum('02:aa:bb:cc:dd:ee')) },
  { name: 'vlan_vid', frame: 'vlan-icmp4', match: [], field: { field: 'vlan_vid', value: 0x1000 | 999 }, edit: (f) => put16(f, 14, (be16(f, 14) & 0xf000) | 999) },
  { name: 'vlan_pcp', frame: 'vlan-tcp6', match: [{ field: 'vlan_vid', value: 0x1000, mask: 0x1000 }], field: { field: 'vlan_pcp', value: 5 }, edit: (f) => put16(f, 14, (be16(f, 14) & 0x1fff) | (5 << 13)) },
  { name: 'ip_dscp v4', frame: 'tcp4-data', match: [ETH(0x800)], field: { field: 'ip_dscp', value: 46 }, edit: (f, l3) => (f[l3 + 1] = (46 << 2) | (f[l3 + 1] & 3)) },
  { name: 'ip_ecn v4', frame: 'udp4', match: [ETH(0x800)], field: { field: 'ip_ecn', value: 3 }, edit: (f, l3) => (f[l3 + 1] = (f[l3 + 1] & 0xfc) | 3) },
  {
    name: 'ip_dscp v6', frame: 'udp6-hbh-dst', match: [ETH(0x86dd)], field: { field: 'ip_dscp', value: 10 },
    edit: (f, l3) => {
      const tc = (10 << 2) | ((((f[l3] & 0x0f) << 4) | (f[l3 + 1] >> 4)) & 3);
      f[l3] = (f[l3] & 0xf0) | (tc >> 4);
      f[l3 + 1] = (f[l3 + 1] & 0x0f) | ((tc & 0xf) << 4);
    },
  },
  { name: 'ipv4_src tcp', frame: 'tcp4-data', match: [ETH(0x800)], field: { field: 'ipv4_src', value: ip4Num('10.9.8.7') }, edit: (f, l3) => put32(f, l3 + 12, ip4Num('10.9.8.7')) },
  { name: 'ipv4_dst udp', frame: 'udp4', match: [ETH(0x800)], field: { field: 'ipv4_dst', value: ip4Num('172.16.0.99') }, edit: (f, l3) => put32(f, l3 + 16, ip4Num('172.16.0.99')) },
  { name: 'ipv4_src icmp', frame: 'icmp4-echo-request', match: [ETH(0x800)], field: { field: 'ipv4_src', value: ip4Num('1.2.3.4') }, edit: (f, l3) => put32(f, l3 + 12, ip4Num('1.2.3.4')) },
  { name: 'ipv4_dst sctp', frame: 'sctp4', match: [ETH(0x800)], field: { field: 'ipv4_dst', value: ip4Num('198.51.100.1') }, edit: (f, l3) => put32(f, l3 + 16, ip4Num('198.51.100.1')) },
  { name: 'ipv6_src tcp', frame: 'tcp6-data', match: [ETH(0x86dd)], field: { field: 'ipv6_src', value: V6A }, edit: (f, l3) => put128(f, l3 + 8, V6A) },
  { name: 'ipv6_dst udp ext hdrs', frame: 'udp6-hbh-dst', match: [ETH(0x86dd)], field: { field: 'ipv6_dst', value: V6A }, edit: (f, l3) => put128(f, l3 + 24, V6A) },
  { name: 'ipv6_src icmpv6', frame: 'icmp6-echo-request', match: [ETH(0x86dd)], field: { field: 'ipv6_src', value: V6A }, edit: (f, l3) => put128(f, l3 + 8, V6A) },
  {
    name: 'ipv6_flabel', frame: 'tcp6-data', match: [ETH(0x86dd)], field: { field: 'ipv6_flabel', value: 0xabcde },
    edit: (f, l3) => {
      f[l3 + 1] = (f[l3 + 1] & 0xf0) | 0xa;
      f[l3 + 2] = 0xbc;
      f[l3 + 3] = 0xde;
    },
  },
  { name: 'tcp_src', frame: 'tcp4-data', match: [ETH(0x800), PROTO(6)], field: { field: 'tcp_src', value: 443 }, edit: (f, _l3, l4) => put16(f, l4, 443) },
  { name: 'tcp_dst v6', frame: 'tcp6-data', match: [ETH(0x86dd), PROTO(6)], field: { field: 'tcp_dst', value: 8443 }, edit: (f, _l3, l4) => put16(f, l4 + 2, 8443) },
  { name: 'udp_src', frame: 'udp4', match: [ETH(0x800), PROTO(17)], field: { field: 'udp_src', value: 53 }, edit: (f, _l3, l4) => put16(f, l4, 53) },
  { name: 'udp_dst v6', frame: 'udp6-hbh-dst', match: [ETH(0x86dd), PROTO(17)], field: { field: 'udp_dst', value: 4789 }, edit: (f, _l3, l4) => put16(f, l4 + 2, 4789) },
  { name: 'sctp_src', frame: 'sctp4', match: [ETH(0x800), PROTO(132)], field: { field: 'sctp_src', value: 2905 }, edit: (f, _l3, l4) => put16(f, l4, 2905) },
  { name: 'sctp_dst', frame: 'sctp4', match: [ETH(0x800), PROTO(132)], field: { field: 'sctp_dst', value: 36412 }, edit: (f, _l3, l4) => put16(f, l4 + 2, 36412) },
  { name: 'icmpv4_type', frame: 'icmp4-echo-request', match: [ETH(0x800), PROTO(1)], field: { field: 'icmpv4_type', value: 0 }, edit: (f, _l3, l4) => (f[l4] = 0) },
  { name: 'icmpv4_code', frame: 'icmp4-port-unreach', match: [ETH(0x800), PROTO(1)], field: { field: 'icmpv4_code', value: 1 }, edit: (f, _l3, l4) => (f[l4 + 1] = 1) },
  { name: 'icmpv6_type', frame: 'icmp6-echo-request', match: [ETH(0x86dd), PROTO(58)], field: { field: 'icmpv6_type', value: 129 }, edit: (f, _l3, l4) => (f[l4] = 129) },
  { name: 'icmpv6_code', frame: 'icmp6-port-unreach', match: [ETH(0x86dd), PROTO(58)], field: { field: 'icmpv6_code', value: 3 }, edit: (f, _l3, l4) => (f[l4 + 1] = 3) },
  { name: 'arp_op', frame: 'arp-request', match: [ETH(0x806)], field: { field: 'arp_op', value: 2 }, edit: (f, l3) => put16(f, l3 + 6, 2) },
  { name: 'arp_spa', frame: 'arp-request', match: [ETH(0x806)], field: { field: 'arp_spa', value: ip4Num('192.0.2.77') }, edit: (f, l3) => put32(f, l3 + 14, ip4Num('192.0.2.77')) },
  { name: 'arp_tpa', frame: 'arp-reply', match: [ETH(0x806)], field: { field: 'arp_tpa', value: ip4Num('192.0.2.78') }, edit: (f, l3) => put32(f, l3 + 24, ip4Num('192.0.2.78')) },
  { name: 'arp_sha', frame: 'arp-reply', match: [ETH(0x806)], field: { field: 'arp_sha', value: macNum('02:01:02:03:04:05') }, edit: (f, l3) => putMac(f, l3 + 8, macNum('02:01:02:03:04:05')) },
  { name: 'arp_tha', frame: 'arp-request', match: [ETH(0x806)], field: { field: 'arp_tha', value: macNum('02:06:07:08:09:0a') }, edit: (f, l3) => putMac(f, l3 + 18, macNum('02:06:07:08:09:0a')) },
  {
    name: 'ipv6_nd_target', frame: 'nd-ns', match: [ETH(0x86dd), PROTO(58), { field: 'icmpv6_type', value: 135 }],
    field: { field: 'ipv6_nd_target', value: V6A }, edit: (f, _l3, l4) => put128(f, l4 + 8, V6A),
  },
  {
    name: 'ipv6_nd_sll', frame: 'nd-ns', match: [ETH(0x86dd), PROTO(58), { field: 'icmpv6_type', value: 135 }],
    field: { field: 'ipv6_nd_sll', value: macNum('02:de:ad:be:ef:01') }, edit: (f, _l3, l4) => putMac(f, ndOpt(f, l4, 1), macNum('02:de:ad:be:ef:01')),
  },
  {
    name: 'ipv6_nd_tll', frame: 'nd-na', match: [ETH(0x86dd), PROTO(58), { field: 'icmpv6_type', value: 136 }],
    field: { field: 'ipv6_nd_tll', value: macNum('02:de:ad:be:ef:02') }, edit: (f, _l3, l4) => putMac(f, ndOpt(f, l4, 2), macNum('02:de:ad:be:ef:02')),
  },
  { name: 'mpls_label', frame: 'mpls-udp4', match: [ETH(0x8847)], field: { field: 'mpls_label', value: 0xabcde }, edit: (f, l3) => put32(f, l3, ((0xabcde << 12) | (be16(f, l3 + 2) & 0xfff)) >>> 0) },
  { name: 'mpls_tc', frame: 'mpls-udp4', match: [ETH(0x8847)], field: { field: 'mpls_tc', value: 6 }, edit: (f, l3) => (f[l3 + 2] = (f[l3 + 2] & 0xf1) | (6 << 1)) },
  { name: 'mpls_bos', frame: 'mpls-udp4', match: [ETH(0x8847)], field: { field: 'mpls_bos', value: 1 }, edit: (f, l3) => (f[l3 + 2] |= 1) },
  // eth_type: the ethertype after the VLAN tag (the one the key reads), not the TPID.
  { name: 'eth_type under a VLAN tag', frame: 'vlan-icmp4', match: [], field: { field: 'eth_type', value: 0x88b5 }, edit: (f) => put16(f, 16, 0x88b5) },
  { name: 'eth_type', frame: 'arp-request', match: [], field: { field: 'eth_type', value: 0x88b6 }, edit: (f) => put16(f, 12, 0x88b6) },
  // ip_proto: the IPv4 protocol with its header checksum; L4 bytes as they were.
  { name: 'ip_proto v4', frame: 'udp4', match: [ETH(0x800)], field: { field: 'ip_proto', value: 253 }, edit: (f, l3) => (f[l3 + 9] = 253) },
  // IPv6: the next header of the last extension header (hop-by-hop, then destination options, then UDP).
  { name: 'ip_proto v6 after extension headers', frame: 'udp6-hbh-dst', match: [ETH(0x86dd)], field: { field: 'ip_proto', value: 254 }, edit: (f, l3) => {
    expect([f[l3 + 6], f[l3 + 40]]).toEqual([0, 60]);
    f[l3 + 40 + (f[l3 + 41] + 1) * 8] = 254;
  } },
];

describe('set-field on every writable header field', () => {
  it.each(CASES)('$name: the right bytes change and every checksum stays valid', (c) => {
    const h = setup();
    const frame = loadFrame(c.frame);
    expect(badChecksums(frame)).toEqual([]);
    h.flow({ match: [inPort(1), ...c.match], instructions: [apply(setField(c.field), out(2))] });
    h.send(0, frame, frame); // the second one through the exact-match cache
    const got = h.taken()[1];
    expect(got).toHaveLength(2);
    const { l3, l4 } = layout(frame);
    const expected = frame.slice();
    c.edit(expected, l3, l4);
    recomputeChecksums(expected);
    expect(expected).not.toEqual(frame);
    expect(got[0]).toEqual(expected);
    expect(got[1]).toEqual(expected);
    expect(badChecksums(got[0])).toEqual([]);
  });

  it('metadata and tunnel_id are pipeline fields: later tables match them, packet-ins report them', () => {
    const h = setup();
    h.flow({ tableId: 0, match: [inPort(1)], instructions: [apply(setField({ field: 'tunnel_id', value: 0x77n }), setField({ field: 'metadata', value: 0x42n })), { type: 'goto_table', tableId: 1 }] });
    h.flow({ tableId: 1, match: [{ field: 'metadata', value: 0x42n }, { field: 'tunnel_id', value: 0x77n }], instructions: [apply(out(OFPP.CONTROLLER), out(2))] });
    const f = loadFrame('udp4');
    h.send(0, f);
    expect(h.taken()[1]).toEqual([f]);
    expect(h.events.packetIns[0].match).toEqual([
      { field: 'in_port', value: 1 }, { field: 'metadata', value: 0x42n }, { field: 'tunnel_id', value: 0x77n },
    ]);
  });

  it('skips a field the frame does not carry (set tcp_src on UDP does nothing)', () => {
    const h = setup();
    h.flow({ match: [inPort(1), ETH(0x800)], instructions: [apply(setField({ field: 'vlan_vid', value: 0x1005 }), out(2))] });
    const f = loadFrame('udp4');
    h.send(0, f);
    expect(h.taken()[1]).toEqual([f]);
  });

  it('patches a CHECKSUM_PARTIAL pseudo-header sum, so the checksum completed later is right', () => {
    const h = setup(3, { vnet: [true, true, false] });
    const frame = loadFrame('tcp4-data');
    const { l3, l4 } = layout(frame);
    const partial = frame.slice();
    const ipEnd = l3 + be16(frame, l3 + 2);
    put16(partial, l4 + 16, refSum(partial, l3 + 12, 8, 6 + (ipEnd - l4))); // the folded pseudo-header sum, as the kernel leaves it
    const vnet = new Uint8Array(10);
    vnet[0] = VNET_F_NEEDS_CSUM;
    put16(vnet, 6, 0);
    vnet[6] = l4;
    vnet[8] = 16;
    h.flow({ match: [inPort(1), ETH(0x800)], instructions: [apply(setField({ field: 'ipv4_dst', value: ip4Num('203.0.113.9') }), setField({ field: 'ipv4_src', value: ip4Num('203.0.113.8') }), out(3))] });
    h.ports[0].inject(partial, vnet);
    h.ports[0].wake();
    const got = h.ports[2].sent[0].frame; // port 3 takes no offload: the datapath completed the checksum
    const expected = frame.slice();
    put32(expected, l3 + 16, ip4Num('203.0.113.9'));
    put32(expected, l3 + 12, ip4Num('203.0.113.8'));
    recomputeChecksums(expected);
    expect(got).toEqual(expected);
  });

  it('an SCTP CHECKSUM_PARTIAL frame (CRC left to the device) leaves with its CRC32c complete, on ports with and without offload', () => {
    const h = setup(3, { vnet: [true, true, false] });
    const frame = loadFrame('sctp4');
    const { l4 } = layout(frame);
    const partial = frame.slice();
    partial.fill(0, l4 + 8, l4 + 12); // what a CRC-offloading sender leaves in the field
    const vnet = new Uint8Array(10);
    vnet[0] = VNET_F_NEEDS_CSUM;
    vnet[6] = l4;
    vnet[8] = 8; // csum_offset of the SCTP checksum
    h.flow({ match: [inPort(1), ETH(0x800), PROTO(132)], instructions: [apply(setField({ field: 'sctp_dst', value: 36412 }), out(2), out(3))] });
    h.ports[0].inject(partial, vnet);
    h.ports[0].wake();
    const expected = frame.slice();
    put16(expected, l4 + 2, 36412);
    recomputeChecksums(expected);
    expect(badChecksums(expected)).toEqual([]);
    for (const p of [1, 2]) {
      const sent = h.ports[p].sent;
      expect(sent).toHaveLength(1);
      expect(sent[0].frame).toEqual(expected);
      expect(sent[0].vnet[0] & VNET_F_NEEDS_CSUM).toBe(0); // no device left to sum it as an Internet checksum
    }
  });

  it('an IPv4 address rewrite leaves the SCTP checksum alone (SCTP has no pseudo-header); a port rewrite recomputes it', () => {
    const h = setup();
    const frame = loadFrame('sctp4');
    const { l4 } = layout(frame);
    h.flow({ match: [inPort(1), ETH(0x800)], instructions: [apply(setField({ field: 'ipv4_src', value: ip4Num('198.51.100.7') }), out(2))] });
    h.send(0, frame);
    const got = h.taken()[1][0];
    expect(Array.from(got.subarray(l4 + 8, l4 + 12))).toEqual(Array.from(frame.subarray(l4 + 8, l4 + 12)));
    expect(badChecksums(got)).toEqual([]);
    const h2 = setup();
    h2.flow({ match: [inPort(1), ETH(0x800), PROTO(132)], instructions: [apply(setField({ field: 'sctp_src', value: 1 }), out(2))] });
    h2.send(0, frame);
    const got2 = h2.taken()[1][0];
    expect(Array.from(got2.subarray(l4 + 8, l4 + 12))).not.toEqual(Array.from(frame.subarray(l4 + 8, l4 + 12)));
    expect(badChecksums(got2)).toEqual([]);
  });
});

describe('set-field eth_type and ip_proto: the next table reads the frame anew', () => {
  it('ip_proto UDP -> SCTP: table 1 sees the same L4 bytes as SCTP ports (the L4 bytes are not touched)', () => {
    const h = setup();
    const frame = loadFrame('udp4');
    const { l3, l4 } = layout(frame);
    const sport = be16(frame, l4), dport = be16(frame, l4 + 2);
    h.flow({ tableId: 0, match: [inPort(1), ETH(0x800), PROTO(17)], instructions: [apply(setField({ field: 'ip_proto', value: 132 })), gotoTable(1)] });
    h.flow({ tableId: 1, match: [ETH(0x800), PROTO(132), { field: 'sctp_src', value: sport }, { field: 'sctp_dst', value: dport }], instructions: [apply(out(2))] });
    h.send(0, frame, frame);
    const got = h.taken()[1];
    expect(got).toHaveLength(2);
    const expected = frame.slice();
    expected[l3 + 9] = 132;
    put16(expected, l3 + 10, 0);
    put16(expected, l3 + 10, ~refSum(expected, l3, 20) & 0xffff);
    expect(got[0]).toEqual(expected);
    expect(got[1]).toEqual(expected);
  });

  it('eth_type IPv4 -> a local type: table 1 matches the new type, and an IPv4 set-field there no longer applies', () => {
    const h = setup();
    const frame = loadFrame('udp4');
    h.flow({ tableId: 0, match: [inPort(1)], instructions: [apply(setField({ field: 'eth_type', value: 0x88b5 })), gotoTable(1)] });
    h.flow({ tableId: 1, match: [ETH(0x88b5)], instructions: [apply(out(2))] });
    h.flow({ tableId: 1, priority: 1, match: [], instructions: [apply(out(3))] });
    h.send(0, frame);
    const expected = frame.slice();
    put16(expected, 12, 0x88b5);
    expect(h.taken()).toEqual([[], [expected], []]);
  });

  it('within one action list: set eth_type, then the executor follows the new type', () => {
    const h = setup();
    const frame = loadFrame('udp4');
    // A group bucket (no prerequisite check there): eth_type to ARP, then ip_dscp, which must find no IPv4 header any more.
    const bucket = { weight: 0, watchPort: OFPP.ANY, watchGroup: 0xffffffff, actions: [setField({ field: 'eth_type', value: 0x0806 }), setField({ field: 'ip_dscp', value: 46 }), out(2)] };
    expect(h.sw.groupMod({ type: 'group_mod', xid: 0, command: 0, groupType: 2, groupId: 1, buckets: [bucket] })).toBeNull();
    h.flow({ match: [inPort(1), ETH(0x800)], instructions: [apply({ type: 'group', groupId: 1 })] });
    h.send(0, frame);
    const expected = frame.slice();
    put16(expected, 12, 0x0806);
    expect(h.taken()[1]).toEqual([expected]); // ip_dscp skipped: no longer IPv4
  });
});

describe('pop_mpls, then an ICMPv4 match and set-field in the next table', () => {
  // MPLS (label 100, S=1, TTL 64; label 50 above it for the two-label case) over the captured echo request.
  const icmp4 = loadFrame('icmp4-echo-request');
  const mplsIcmp = (opts: { vlan?: boolean; pad?: number; twoLabels?: boolean }): Uint8Array => Uint8Array.from([
    ...icmp4.subarray(0, 12), ...(opts.vlan ? [0x81, 0x00, 0x00, 0x0a] : []), 0x88, 0x47,
    ...(opts.twoLabels ? [0x00, 0x03, 0x20, 0x40] : []), 0x00, 0x06, 0x41, 0x40, ...icmp4.subarray(14), ...new Array<number>(opts.pad ?? 0).fill(0),
  ]);
  const cases: Array<[string, { vlan?: boolean; pad?: number; twoLabels?: boolean }]> = [
    ['plain', {}], ['under a VLAN tag', { vlan: true }], ['with Ethernet padding', { pad: 14 }], ['two labels, popped in two tables', { twoLabels: true }],
  ];
  it.each(cases)('%s: output and packet-in carry the IPv4/ICMP frame, lengths and checksums right', (_name, opts) => {
    const h = setup();
    const pop = (ethertype: number): Action => ({ type: 'pop_mpls', ethertype });
    if (opts.twoLabels) {
      h.flow({ tableId: 0, match: [inPort(1), ETH(0x8847)], instructions: [apply(pop(0x8847)), gotoTable(1)] });
      h.flow({ tableId: 1, match: [ETH(0x8847)], instructions: [apply(pop(0x0800)), gotoTable(2)] });
    } else {
      h.flow({ tableId: 0, match: [inPort(1), ETH(0x8847)], instructions: [apply(pop(0x0800)), gotoTable(2)] });
    }
    h.flow({ tableId: 2, match: [ETH(0x800), PROTO(1), { field: 'icmpv4_type', value: 8 }], instructions: [apply(setField({ field: 'icmpv4_code', value: 3 }), out(2), out(OFPP.CONTROLLER))] });
    const frame = mplsIcmp(opts);
    h.send(0, frame, frame); // the second one after the first walk (nothing on this path is cached)
    // Expected: the echo request with the tag (if any) kept, code 3, ICMP checksum recomputed from scratch, the padding kept.
    const expected = Uint8Array.from([...icmp4.subarray(0, 12), ...(opts.vlan ? [0x81, 0x00, 0x00, 0x0a] : []), ...icmp4.subarray(12), ...new Array<number>(opts.pad ?? 0).fill(0)]);
    const l4 = layout(expected).l4;
    expected[l4 + 1] = 3;
    recomputeChecksums(expected);
    const sent = h.taken()[1];
    expect(sent).toEqual([expected, expected]);
    expect(badChecksums(sent[0])).toEqual([]);
    expect(h.events.packetIns.map((p) => [p.totalLen, Array.from(p.data)])).toEqual([0, 1].map(() => [expected.length, Array.from(expected)]));
  });
  it('the conformance tester\'s own case (os-ken packet library bytes): pop_mpls:0x0800, goto_table:1; icmpv4_type=8 -> output:2 and CONTROLLER', () => {
    // ethernet/mpls(bsb=1, label=100, exp=3, ttl=64)/ipv4(tos=32, proto=1, ttl=64)/icmp echo, serialized by os_ken.lib.packet;
    // the egress is what the tester expects, serialized by the same library.
    const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
    const echo = '0800beae00000000303132333435363738396162636465666768696a6b6c6d6e6f707172737475767778797a4142434445464748494a4b4c';
    const ingress = hex('222222222222121111111111' + '8847' + '00064740' + '4520004c000000004001db22c0a80a0ac0a81414' + echo);
    const egress = hex('222222222222121111111111' + '0800' + '4520004c000000004001db22c0a80a0ac0a81414' + echo);
    const h = setup();
    h.flow({ tableId: 0, match: [ETH(0x8847)], instructions: [apply({ type: 'pop_mpls', ethertype: 0x0800 }), gotoTable(1)] });
    h.flow({ tableId: 1, match: [ETH(0x800), PROTO(1), { field: 'icmpv4_type', value: 8 }], instructions: [apply(out(2), out(OFPP.CONTROLLER))] });
    h.send(0, ingress);
    expect(h.taken()[1]).toEqual([egress]);
    expect(h.events.packetIns.map((p) => Array.from(p.data))).toEqual([Array.from(egress)]);
  });
});

describe('VLAN tags', () => {
  it('push + set vid, mod vid, pop: round trips to the original bytes', () => {
    const h = setup(4);
    h.flow({ match: [inPort(1)], instructions: [apply({ type: 'push_vlan', ethertype: 0x8100 }, setField({ field: 'vlan_vid', value: 0x1000 | 100 }), out(2))] });
    h.flow({ match: [inPort(2)], instructions: [apply(setField({ field: 'vlan_vid', value: 0x1000 | 200 }), setField({ field: 'vlan_pcp', value: 7 }), out(3))] });
    h.flow({ match: [inPort(3)], instructions: [apply({ type: 'pop_vlan' }, out(4))] });
    const f = loadFrame('tcp4-data');
    h.send(0, f);
    const tagged = h.taken()[1][0];
    expect([...tagged.subarray(12, 16)]).toEqual([0x81, 0x00, 0x00, 100]);
    expect(tagged.subarray(0, 12)).toEqual(f.subarray(0, 12));
    expect(tagged.subarray(16)).toEqual(f.subarray(12));
    h.send(1, tagged);
    const modded = h.taken()[2][0];
    expect([...modded.subarray(12, 16)]).toEqual([0x81, 0x00, 0xe0, 200]);
    h.send(2, modded);
    expect(h.taken()[3]).toEqual([f]);
  });

  it('push over an existing tag copies VID/PCP (802.1ad outside 802.1Q); pop of QinQ leaves the inner tag', () => {
    const h = setup(3);
    h.flow({ match: [inPort(1)], instructions: [apply({ type: 'push_vlan', ethertype: 0x88a8 }, out(2))] });
    h.flow({ match: [inPort(2)], instructions: [apply({ type: 'pop_vlan' }, out(3))] });
    const f = loadFrame('vlan-icmp4');
    h.send(0, f);
    const qinq = h.taken()[1][0];
    expect(be16(qinq, 12)).toBe(0x88a8);
    expect(be16(qinq, 14)).toBe(be16(f, 14) & 0xefff);
    expect(qinq.subarray(16)).toEqual(f.subarray(12));
    h.send(1, loadFrame('qinq-icmp4'));
    const popped = h.taken()[2][0];
    const q = loadFrame('qinq-icmp4');
    expect(popped).toEqual(Uint8Array.from([...q.subarray(0, 12), ...q.subarray(16)]));
  });

  it('keeps the vnet header in step: csum_start follows the L4 header through push and pop', () => {
    const h = setup(3, { vnet: [true, true, false] });
    const frame = loadFrame('udp4');
    const { l3, l4 } = layout(frame);
    const partial = frame.slice();
    put16(partial, l4 + 6, refSum(partial, l3 + 12, 8, 17 + be16(frame, l4 + 4)));
    const vnet = new Uint8Array(10);
    vnet[0] = VNET_F_NEEDS_CSUM;
    vnet[6] = l4;
    vnet[8] = 6;
    h.flow({ match: [inPort(1)], instructions: [apply({ type: 'push_vlan', ethertype: 0x8100 }, out(2), out(3))] });
    h.ports[0].inject(partial, vnet);
    h.ports[0].wake();
    const toVnet = h.ports[1].sent[0];
    expect(toVnet.vnet[6]).toBe(l4 + 4);
    const toPlain = h.ports[2].sent[0].frame;
    expect(badChecksums(Uint8Array.from([...toPlain.subarray(0, 12), ...toPlain.subarray(16)]))).toEqual([]);
    expect(badChecksums(toPlain)).toEqual([]);
  });
});

describe('MPLS', () => {
  it('push_mpls puts a label stack entry with the IP TTL between L2 and L3; pop_mpls restores the frame', () => {
    const h = setup(3);
    h.flow({ match: [inPort(1)], instructions: [apply({ type: 'push_mpls', ethertype: 0x8847 }, setField({ field: 'mpls_label', value: 1000 }), out(2))] });
    h.flow({ match: [inPort(2), ETH(0x8847)], instructions: [apply({ type: 'pop_mpls', ethertype: 0x0800 }, out(3))] });
    const f = loadFrame('udp4');
    const { l3 } = layout(f);
    h.send(0, f);
    const m = h.taken()[1][0];
    expect(m.length).toBe(f.length + 4);
    expect(be16(m, l3 - 2)).toBe(0x8847);
    const lse = (be16(m, l3) << 16) | be16(m, l3 + 2);
    expect(lse >>> 12).toBe(1000); // label
    expect((lse >>> 8) & 1).toBe(1); // bottom of stack
    expect(lse & 0xff).toBe(f[l3 + 8]); // TTL from IP
    expect(m.subarray(l3 + 4)).toEqual(f.subarray(l3));
    h.send(1, m);
    expect(h.taken()[2]).toEqual([f]);
  });

  it('pop_mpls of the top of two labels keeps the second; later tables see the new eth_type', () => {
    const h = setup(3);
    h.flow({ tableId: 0, match: [inPort(1)], instructions: [apply({ type: 'pop_mpls', ethertype: 0x8847 }), { type: 'goto_table', tableId: 1 }] });
    h.flow({ tableId: 1, match: [ETH(0x8847), { field: 'mpls_label', value: 1234 }], instructions: [apply({ type: 'pop_mpls', ethertype: 0x0800 }), { type: 'goto_table', tableId: 2 }] });
    h.flow({ tableId: 2, match: [ETH(0x800), PROTO(17)], instructions: [apply(out(3))] });
    const f = loadFrame('mpls-udp4');
    h.send(0, f, f);
    const got = h.taken()[2];
    expect(got).toHaveLength(2);
    expect(got[0]).toEqual(Uint8Array.from([...f.subarray(0, 12), 0x08, 0x00, ...f.subarray(22)]));
    expect(badChecksums(got[0])).toEqual([]);
    expect(h.sw.pipeline.stats[PipelineStat.Uncacheable]).toBe(2); // pop_mpls then a lookup: re-parsed, not cached
  });

  it('set/dec MPLS TTL and copy TTL in/out', () => {
    const h = setup(4);
    h.flow({ match: [inPort(1)], instructions: [apply({ type: 'dec_mpls_ttl' }, out(2))] });
    h.flow({ match: [inPort(2)], instructions: [apply({ type: 'set_mpls_ttl', mplsTtl: 33 }, out(3))] });
    h.flow({ match: [inPort(3)], instructions: [apply({ type: 'copy_ttl_out' }, out(4))] });
    const f = loadFrame('mpls-udp4');
    const l3 = 14;
    h.send(0, f);
    const dec = h.taken()[1][0];
    expect(dec[l3 + 3]).toBe(f[l3 + 3] - 1);
    h.send(1, dec);
    const set = h.taken()[2][0];
    expect(set[l3 + 3]).toBe(33);
    h.send(2, set);
    const copied = h.taken()[3][0];
    expect(copied[l3 + 3]).toBe(f[l3 + 7]); // the second label's TTL (9) copied outwards
    // copy_ttl_in from a single label over IPv4: IP TTL becomes the label's, header checksum fixed.
    const h2 = setup(2);
    h2.flow({ match: [inPort(1)], instructions: [apply({ type: 'push_mpls', ethertype: 0x8847 }, { type: 'set_mpls_ttl', mplsTtl: 17 }, { type: 'copy_ttl_in' }, { type: 'pop_mpls', ethertype: 0x0800 }, out(2))] });
    const u = loadFrame('udp4');
    h2.send(0, u);
    const back = h2.taken()[1][0];
    expect(back[layout(u).l3 + 8]).toBe(17);
    expect(badChecksums(back)).toEqual([]);
  });
});

describe('TTL', () => {
  it('dec_nw_ttl decrements with a valid checksum; TTL 1 goes to the controller as INVALID_TTL and is dropped', () => {
    const h = setup();
    h.flow({ match: [inPort(1), ETH(0x800)], instructions: [apply({ type: 'dec_nw_ttl' }, out(2))] });
    h.flow({ match: [inPort(1), ETH(0x86dd)], instructions: [apply({ type: 'set_nw_ttl', nwTtl: 1 }, { type: 'dec_nw_ttl' }, out(2))] });
    const f = loadFrame('tcp4-data');
    const { l3 } = layout(f);
    h.send(0, f);
    const got = h.taken()[1][0];
    expect(got[l3 + 8]).toBe(f[l3 + 8] - 1);
    expect(badChecksums(got)).toEqual([]);
    expect(h.sw.setConfig(0, 64)).toBeNull();
    h.send(0, loadFrame('tcp6-data'));
    expect(h.taken()[1]).toHaveLength(0);
    expect(h.events.packetIns).toHaveLength(1);
    expect(h.events.packetIns[0].reason).toBe(OFPR.INVALID_TTL);
    expect(h.events.packetIns[0].data.length).toBe(64); // miss_send_len
    expect(h.sw.pipeline.stats[PipelineStat.InvalidTtlDrops]).toBe(1);
  });
});

describe('copy-on-write', () => {
  it('an output sends the bytes as they were, whatever later actions do to the frame', () => {
    const h = setup(4);
    h.flow({
      match: [inPort(1)],
      instructions: [apply(out(2), setField({ field: 'eth_dst', value: macNum('02:00:00:00:00:99') }), out(3), { type: 'push_vlan', ethertype: 0x8100 }, out(4))],
    });
    const f = loadFrame('udp4');
    h.send(0, f, f);
    const got = h.taken();
    expect(got[1]).toEqual([f, f]);
    const changed = f.slice();
    putMac(changed, 0, macNum('02:00:00:00:00:99'));
    expect(got[2]).toEqual([changed, changed]);
    expect(got[3].map((x) => x.length)).toEqual([f.length + 4, f.length + 4]);
    expect(h.dp.pool.inUse).toBe(0); // copies went back to the pool
  });

  it('sends one frame to the same port several times in a round beyond the queue size', () => {
    const h = setup(2);
    h.flow({ match: [inPort(1)], instructions: [apply(out(2), out(2), out(2))] });
    const frames = Array.from({ length: 32 }, (_, i) => loadFrame('udp4').map((b, j) => (j === 60 ? i : b)));
    h.send(0, ...frames);
    expect(h.taken()[1]).toHaveLength(96);
  });
});

/** A standalone executor over one pool, for the key-patch property. */
function bench() {
  const dp = new Datapath({ pool: new PacketPool({ slots: 128 }), burst: 8 });
  const tables = new PipelineTables({ nTables: 2 });
  const stats = new Float64Array(PipelineStat.COUNT);
  const host: ExecHost = { portByNo: () => null, punt: () => {}, resubmit: () => {}, missSendLen: 128 };
  const ex = new ActionExecutor(dp, tables.tables, new GroupTable(), new MeterTable(), new NormalSwitch(), host, stats);
  return { dp, ex };
}

const FIXTURES = ['udp4', 'tcp4-data', 'tcp6-data', 'udp6-hbh-dst', 'icmp4-echo-request', 'icmp6-echo-request', 'nd-ns', 'nd-na', 'arp-request', 'mpls-udp4', 'sctp4', 'vlan-icmp4', 'vlan-tcp6', 'qinq-icmp4', 'ip4-frag-later', 'ip6-frag-later'];

const fieldArb: fc.Arbitrary<Oxm> = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 48 - 1 }).map((v): Oxm => ({ field: 'eth_dst', value: v })),
  fc.integer({ min: 0, max: 2 ** 48 - 1 }).map((v): Oxm => ({ field: 'eth_src', value: v })),
  fc.integer({ min: 0, max: 0xfff }).map((v): Oxm => ({ field: 'vlan_vid', value: 0x1000 | v })),
  fc.integer({ min: 0, max: 7 }).map((v): Oxm => ({ field: 'vlan_pcp', value: v })),
  fc.integer({ min: 0, max: 63 }).map((v): Oxm => ({ field: 'ip_dscp', value: v })),
  fc.integer({ min: 0, max: 3 }).map((v): Oxm => ({ field: 'ip_ecn', value: v })),
  fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((v): Oxm => ({ field: 'ipv4_src', value: v })),
  fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((v): Oxm => ({ field: 'ipv4_dst', value: v })),
  fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }).map((v): Oxm => ({ field: 'ipv6_src', value: v })),
  fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }).map((v): Oxm => ({ field: 'ipv6_dst', value: v })),
  fc.integer({ min: 0, max: 0xfffff }).map((v): Oxm => ({ field: 'ipv6_flabel', value: v })),
  fc.constantFrom('tcp_src', 'tcp_dst', 'udp_src', 'udp_dst', 'sctp_src', 'sctp_dst').chain((f) => fc.integer({ min: 0, max: 0xffff }).map((v): Oxm => ({ field: f, value: v }))),
  fc.constantFrom('icmpv4_type', 'icmpv4_code', 'icmpv6_type', 'icmpv6_code').chain((f) => fc.integer({ min: 0, max: 255 }).map((v): Oxm => ({ field: f, value: v }))),
  fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }).map((v): Oxm => ({ field: 'ipv6_nd_target', value: v })),
  fc.integer({ min: 0, max: 0xfffff }).map((v): Oxm => ({ field: 'mpls_label', value: v })),
  fc.integer({ min: 0, max: 7 }).map((v): Oxm => ({ field: 'mpls_tc', value: v })),
  fc.integer({ min: 0, max: 1 }).map((v): Oxm => ({ field: 'mpls_bos', value: v })),
  fc.constantFrom(0x0800, 0x86dd, 0x0806, 0x8847, 0x88b5).map((v): Oxm => ({ field: 'eth_type', value: v })),
  fc.constantFrom(1, 6, 17, 58, 132, 253).map((v): Oxm => ({ field: 'ip_proto', value: v })),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v): Oxm => ({ field: 'metadata', value: v })),
  fc.integer({ min: 0, max: 0xffffff }).map((v): Oxm => ({ field: 'pbb_isid', value: v })),
);

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: fieldArb.map((f) => setField(f)) },
  { weight: 1, arbitrary: fc.constantFrom(0x8100, 0x88a8).map((e): Action => ({ type: 'push_vlan', ethertype: e })) },
  { weight: 1, arbitrary: fc.constant<Action>({ type: 'pop_vlan' }) },
  { weight: 1, arbitrary: fc.constantFrom(0x8847, 0x8848).map((e): Action => ({ type: 'push_mpls', ethertype: e })) },
  { weight: 1, arbitrary: fc.constant<Action>({ type: 'dec_nw_ttl' }) },
  { weight: 1, arbitrary: fc.integer({ min: 2, max: 255 }).map((t): Action => ({ type: 'set_nw_ttl', nwTtl: t })) },
  { weight: 1, arbitrary: fc.integer({ min: 2, max: 255 }).map((t): Action => ({ type: 'set_mpls_ttl', mplsTtl: t })) },
  { weight: 1, arbitrary: fc.constant<Action>({ type: 'dec_mpls_ttl' }) },
  { weight: 1, arbitrary: fc.constant<Action>({ type: 'push_pbb', ethertype: 0x88e7 }) },
);

describe('key patch for later tables', () => {
  it('agrees with re-parsing the edited frame whenever it claims to know', () => {
    const { dp, ex } = bench();
    const pool = dp.pool;
    const parsed = new ParsedBatch(1);
    const again = new ParsedBatch(1);
    let known = 0;
    fc.assert(
      fc.property(fc.constantFrom(...FIXTURES), fc.array(actionArb, { minLength: 1, maxLength: 4 }), (name, actions) => {
        const frame = loadFrame(name);
        const slot = pool.alloc();
        pool.write(slot, frame);
        dp.frozen[slot] = 0;
        const flags = parseFrame(pool.bytes, pool.dataOff[slot], pool.len[slot], 1, parsed, 0);
        if (flags !== 0) {
          pool.release(slot);
          return;
        }
        const key = parsed.keys.slice(0, KEY_WORDS);
        const code = compileActions(actions, { groupSlot: () => -1, meterSlot: () => -1 });
        ex.begin(null, 1, slot, parsed.keys, 0, parsed.l3[0], parsed.l4[0], 0);
        const ran = ex.run(code, 0, code.length);
        const ok = patchKey(code, 0, code.length, key, 0);
        if (ran && ok) {
          known++;
          parseFrame(pool.bytes, pool.dataOff[ex.cur], pool.len[ex.cur], 1, again, 0);
          const reparsed = again.keys.slice(0, KEY_WORDS);
          reparsed[K.MetadataHi] = ex.metaHi;
          reparsed[K.MetadataLo] = ex.metaLo;
          expect([...key].map((w) => w >>> 0)).toEqual([...reparsed].map((w) => w >>> 0));
          expect(badChecksums(pool.bytes.slice(pool.dataOff[ex.cur], pool.dataOff[ex.cur] + pool.len[ex.cur]))).toEqual([]);
        }
        dp.finishRound();
        pool.release(slot);
      }),
      { numRuns: 1500 },
    );
    expect(known).toBeGreaterThan(500);
    expect(pool.inUse).toBe(0);
  });
});
