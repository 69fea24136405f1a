import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FLOW_KEY_LAYOUT_VERSION, K, KEY_WORDS } from '../../src/flow/key.js';
import { ParsedBatch, parseFrame } from '../../src/datapath/parse/parse.js';
import { DecodeError } from '../../src/openflow/codec/decode-error.js';
import { OFPBMC, OFPET } from '../../src/openflow/codec/v13/enums.js';
import { MATCH_LAYOUT_VERSION, compileMatch, matchToRows } from '../../src/openflow/ofproto/match.js';
import { matchFromRows, rowsMatch } from '../helpers/match-rows.js';
import { OXM, type Match, type Oxm, validateMatch } from '../../src/openflow/codec/v13/oxm.js';
import { ethFrame, macNum, udpFrame } from '../helpers/frames.js';

const IPV4: Oxm = { field: 'eth_type', value: 0x0800 };
const IPV6: Oxm = { field: 'eth_type', value: 0x86dd };
const ARP: Oxm = { field: 'eth_type', value: 0x0806 };
const MPLS: Oxm = { field: 'eth_type', value: 0x8847 };
const proto = (p: number): Oxm => ({ field: 'ip_proto', value: p });
const ICMP6 = [IPV6, proto(58)];

function rows(m: Match): { key: Uint32Array; mask: Uint32Array } {
  const r = compileMatch(m);
  if (r instanceof DecodeError) throw new Error(r.toString());
  return r;
}

function sortCanonical(m: Match): Match {
  return [...m].sort((a, b) => OXM[a.field] - OXM[b.field]);
}

/** Every field the key carries, alone or with its prerequisites, unmasked and (where maskable) masked; canonical order. */
const EVERY_FIELD: Match[] = [
  [{ field: 'in_port', value: 0xfffffffe }],
  [{ field: 'metadata', value: 0x0123456789abcdefn }],
  [{ field: 'metadata', value: 0x8000000000000000n, mask: 0xc000000000000001n }],
  [{ field: 'eth_dst', value: 0xf0e0d0c0b0a0 }],
  [{ field: 'eth_dst', value: 0x010000000000, mask: 0x010000000000 }],
  [{ field: 'eth_src', value: 0x020000000001 }],
  [{ field: 'eth_src', value: 0x000000ff0000, mask: 0xff00ffff0000 }],
  [{ field: 'eth_type', value: 0x88cc }],
  [{ field: 'vlan_vid', value: 0 }],
  [{ field: 'vlan_vid', value: 0x1000, mask: 0x1000 }],
  [{ field: 'vlan_vid', value: 0x1fff }],
  [{ field: 'vlan_vid', value: 0x1000 | 100 }, { field: 'vlan_pcp', value: 7 }],
  [IPV4, { field: 'ip_dscp', value: 46 }],
  [IPV6, { field: 'ip_ecn', value: 3 }],
  [IPV4, proto(47)],
  [IPV4, { field: 'ipv4_src', value: 0xc0a80001 }],
  [IPV4, { field: 'ipv4_dst', value: 0x0a000000, mask: 0xff000000 }],
  [IPV4, proto(6), { field: 'tcp_src', value: 0xffff }],
  [IPV6, proto(6), { field: 'tcp_dst', value: 443 }],
  [IPV4, proto(17), { field: 'udp_src', value: 68 }],
  [IPV4, proto(17), { field: 'udp_dst', value: 53 }],
  [IPV4, proto(132), { field: 'sctp_src', value: 9 }],
  [IPV6, proto(132), { field: 'sctp_dst', value: 36412 }],
  [IPV4, proto(1), { field: 'icmpv4_type', value: 8 }],
  [IPV4, proto(1), { field: 'icmpv4_code', value: 3 }],
  [ARP, { field: 'arp_op', value: 2 }],
  [ARP, { field: 'arp_spa', value: 0x0a000001 }],
  [ARP, { field: 'arp_tpa', value: 0x0a000000, mask: 0xffffff00 }],
  [ARP, { field: 'arp_sha', value: 0x020000000003 }],
  [ARP, { field: 'arp_tha', value: 0xffffffffff00, mask: 0xffffffffff00 }],
  [IPV6, { field: 'ipv6_src', value: 0xfe800000000000000000000000000001n }],
  [IPV6, { field: 'ipv6_dst', value: 0x20010db8000000000000000000000000n, mask: 0xffffffff000000000000000000000000n }],
  [IPV6, { field: 'ipv6_flabel', value: 0xfffff }],
  [IPV6, { field: 'ipv6_flabel', value: 0x10000, mask: 0xf0000 }],
  [...ICMP6, { field: 'icmpv6_type', value: 128 }],
  [...ICMP6, { field: 'icmpv6_code', value: 1 }],
  [...ICMP6, { field: 'icmpv6_type', value: 135 }, { field: 'ipv6_nd_target', value: 0xfe80000000000000000000000000beefn }],
  [...ICMP6, { field: 'icmpv6_type', value: 135 }, { field: 'ipv6_nd_sll', value: 0x0a0b0c0d0e0f }],
  [...ICMP6, { field: 'icmpv6_type', value: 136 }, { field: 'ipv6_nd_tll', value: 0x0a0b0c0d0e0f }],
  [MPLS, { field: 'mpls_label', value: 0xfffff }],
  [MPLS, { field: 'mpls_tc', value: 5 }],
  [{ field: 'eth_type', value: 0x8848 }, { field: 'mpls_bos', value: 1 }],
  [{ field: 'tunnel_id', value: 0xffffffffffffffffn }],
  [{ field: 'tunnel_id', value: 0x100000000n, mask: 0x1ffffffffn }],
  [IPV6, { field: 'ipv6_exthdr', value: 0x41 }],
  [IPV6, { field: 'ipv6_exthdr', value: 0x10, mask: 0x30 }],
  [{ field: 'eth_type', value: 0x88e7 }, { field: 'pbb_isid', value: 0xabcdef }],
  [{ field: 'eth_type', value: 0x88e7 }, { field: 'pbb_isid', value: 0x001200, mask: 0x00ff00 }],
];

describe('match <-> rows', () => {
  it('is pinned to the flow-key layout it was written for', () => {
    expect(MATCH_LAYOUT_VERSION).toBe(FLOW_KEY_LAYOUT_VERSION);
  });

  it('round-trips every field: OXM -> rows -> OXM', () => {
    const covered = new Set<string>();
    for (const m of EVERY_FIELD) {
      expect(validateMatch(m)).toBeNull();
      const { key, mask } = rows(m);
      expect(matchFromRows(key, 0, mask, 0)).toEqual(m);
      for (const x of m) covered.add(x.field);
    }
    const missing = Object.keys(OXM).filter((f) => !covered.has(f) && f !== 'in_phy_port');
    expect(missing).toEqual([]);
  });

  it('places fields on the documented words and bits', () => {
    const cases: [Match, Partial<Record<number, [number, number]>>][] = [
      [[{ field: 'eth_dst', value: 0x0102030405 * 256 + 6 }], { [K.EthDstHi]: [0x01020304, 0xffffffff], [K.EthDstLoSrcHi]: [0x05060000, 0xffff0000] }],
      [[{ field: 'eth_src', value: 0x0102030405 * 256 + 6 }], { [K.EthDstLoSrcHi]: [0x0102, 0xffff], [K.EthSrcLo]: [0x03040506, 0xffffffff] }],
      [[{ field: 'vlan_vid', value: 0x1000, mask: 0x1000 }], { [K.EthTypeVlan]: [0x1000, 0x1000] }],
      [[{ field: 'vlan_vid', value: 0 }], { [K.EthTypeVlan]: [0, 0x1fff] }],
      [[{ field: 'vlan_vid', value: 0x1005 }, { field: 'vlan_pcp', value: 5 }], { [K.EthTypeVlan]: [0xa000 | 0x1005, 0xffff] }],
      [[IPV4, proto(6), { field: 'ip_dscp', value: 46 }, { field: 'ip_ecn', value: 2 }, { field: 'tcp_src', value: 1 }, { field: 'tcp_dst', value: 80 }],
        { [K.EthTypeVlan]: [0x08000000, 0xffff0000], [K.IpProtoTosTtlFrag]: [0x06000000 | (46 << 18) | (2 << 16), 0xffff0000], [K.TpSrcDst]: [0x10050, 0xffffffff] }],
      [[IPV4, proto(1), { field: 'icmpv4_type', value: 3 }, { field: 'icmpv4_code', value: 4 }],
        { [K.EthTypeVlan]: [0x08000000, 0xffff0000], [K.IpProtoTosTtlFrag]: [0x01000000, 0xff000000], [K.TpSrcDst]: [0x30004, 0xff00ff] }],
      [[ARP, { field: 'arp_op', value: 1 }, { field: 'arp_sha', value: 0x0a0b0c0d0e0f }, { field: 'arp_tha', value: 0x010203040506 }],
        { [K.EthTypeVlan]: [0x08060000, 0xffff0000], [K.IpProtoTosTtlFrag]: [1, 0xffff], [K.ArpShaHi]: [0x0a0b0c0d, 0xffffffff],
          [K.ArpShaLoThaHi]: [0x0e0f0102, 0xffffffff], [K.ArpThaLo]: [0x03040506, 0xffffffff] }],
      [[MPLS, { field: 'mpls_label', value: 0x12345 }, { field: 'mpls_tc', value: 6 }, { field: 'mpls_bos', value: 1 }],
        { [K.EthTypeVlan]: [0x88470000, 0xffff0000], [K.MplsLse]: [0x12345000 | (6 << 9) | (1 << 8), 0xffffff00] }],
      [[IPV6, { field: 'ipv6_flabel', value: 0x12345 }, { field: 'ipv6_exthdr', value: 0x48 }],
        { [K.EthTypeVlan]: [0x86dd0000, 0xffff0000], [K.Ipv6LabelExt]: [0x24012345, 0xff8fffff] }],
      [[{ field: 'metadata', value: 0x0102030405060708n }, { field: 'tunnel_id', value: 0x1n, mask: 0x100000001n }],
        { [K.MetadataHi]: [0x01020304, 0xffffffff], [K.MetadataLo]: [0x05060708, 0xffffffff], [K.TunnelHi]: [0, 1], [K.TunnelLo]: [1, 1] }],
    ];
    for (const [m, words] of cases) {
      const { key, mask } = rows(m);
      const expKey = new Uint32Array(KEY_WORDS);
      const expMask = new Uint32Array(KEY_WORDS);
      for (const [w, [k, mk]] of Object.entries(words) as [string, [number, number]][]) {
        expKey[Number(w)] = k;
        expMask[Number(w)] = mk;
      }
      expect([...mask].map((x) => x.toString(16))).toEqual([...expMask].map((x) => x.toString(16)));
      expect([...key].map((x) => x.toString(16))).toEqual([...expKey].map((x) => x.toString(16)));
    }
  });

  it('round-trips random canonical matches', () => {
    fc.assert(
      fc.property(matchArb, (m) => {
        expect(validateMatch(m)).toBeNull();
        const { key, mask } = rows(m);
        for (let w = 0; w < KEY_WORDS; w++) expect((key[w] & ~mask[w]) >>> 0).toBe(0);
        expect(matchFromRows(key, 0, mask, 0)).toEqual(m);
      }),
      { numRuns: 500 },
    );
  });

  it('reports all-ones masks unmasked and leaves all-zero masks out', () => {
    const { key, mask } = rows([IPV4, { field: 'ipv4_src', value: 0x0a000001, mask: 0xffffffff }, { field: 'ipv4_dst', value: 0, mask: 0 }]);
    expect(matchFromRows(key, 0, mask, 0)).toEqual([IPV4, { field: 'ipv4_src', value: 0x0a000001 }]);
  });
});

describe('match errors', () => {
  const code = (m: Match) => {
    const r = compileMatch(m);
    return r instanceof DecodeError ? [r.type, r.code] : null;
  };

  it('refuses matches without their prerequisites (OFPBMC_BAD_PREREQ)', () => {
    const prereq = [OFPET.BAD_MATCH, OFPBMC.BAD_PREREQ];
    expect(code([{ field: 'tcp_dst', value: 80 }])).toEqual(prereq);
    expect(code([IPV4, { field: 'tcp_dst', value: 80 }])).toEqual(prereq);
    expect(code([IPV4, proto(17), { field: 'tcp_dst', value: 80 }])).toEqual(prereq);
    expect(code([{ field: 'ipv4_src', value: 1 }])).toEqual(prereq);
    expect(code([IPV6, { field: 'ipv4_src', value: 1 }])).toEqual(prereq);
    expect(code([{ field: 'vlan_pcp', value: 1 }])).toEqual(prereq);
    expect(code([{ field: 'vlan_vid', value: 0 }, { field: 'vlan_pcp', value: 1 }])).toEqual(prereq);
    expect(code([IPV4, { field: 'arp_op', value: 1 }])).toEqual(prereq);
    expect(code([...ICMP6, { field: 'icmpv6_type', value: 136 }, { field: 'ipv6_nd_sll', value: 1 }])).toEqual(prereq);
    expect(code([IPV4, proto(6), { field: 'tcp_dst', value: 80 }])).toBeNull();
  });

  it('passes on the other validateMatch errors', () => {
    expect(code([IPV4, IPV4])).toEqual([OFPET.BAD_MATCH, OFPBMC.DUP_FIELD]);
    expect(code([{ field: 'vlan_vid', value: 0x1000 }, { field: 'vlan_pcp', value: 8 }])).toEqual([OFPET.BAD_MATCH, OFPBMC.BAD_VALUE]);
    expect(code([IPV4, { field: 'ipv4_src', value: 0x0a000001, mask: 0xff000000 }])).toEqual([OFPET.BAD_MATCH, OFPBMC.BAD_WILDCARDS]);
  });

  it('accepts pbb_isid (eth_type 0x88e7 only); accepts in_phy_port equal to in_port only', () => {
    expect(code([{ field: 'eth_type', value: 0x88e7 }, { field: 'pbb_isid', value: 5 }])).toBeNull();
    expect(code([{ field: 'eth_type', value: 0x8847 }, { field: 'pbb_isid', value: 5 }])).toEqual([OFPET.BAD_MATCH, OFPBMC.BAD_PREREQ]);
    expect(code([{ field: 'in_port', value: 3 }, { field: 'in_phy_port', value: 4 }])).toEqual([OFPET.BAD_MATCH, OFPBMC.BAD_VALUE]);
    const same = rows([{ field: 'in_port', value: 3 }, { field: 'in_phy_port', value: 3 }]);
    const plain = rows([{ field: 'in_port', value: 3 }]);
    expect(same).toEqual(plain);
  });

  it('carries all nine OFPIEH_* bits, UNSEQ included', () => {
    const unseq = rows([IPV6, { field: 'ipv6_exthdr', value: 0x100, mask: 0x100 }]);
    expect([unseq.key[K.Ipv6LabelExt], unseq.mask[K.Ipv6LabelExt]]).toEqual([0x80000000, 0x80000000]);
    expect(matchFromRows(unseq.key, 0, unseq.mask, 0)).toEqual([IPV6, { field: 'ipv6_exthdr', value: 0x100, mask: 0x100 }]);
    const full = rows([IPV6, { field: 'ipv6_exthdr', value: 0x41, mask: 0x1ff }]);
    expect(full.mask[K.Ipv6LabelExt] >>> 23).toBe(0x1ff);
    expect(matchFromRows(full.key, 0, full.mask, 0)).toEqual([IPV6, { field: 'ipv6_exthdr', value: 0x41 }]);
  });

  it('writes rows at any offset and zeroes them first', () => {
    const key = new Uint32Array(KEY_WORDS * 3).fill(0xdeadbeef);
    const mask = new Uint32Array(KEY_WORDS * 3).fill(0xdeadbeef);
    expect(matchToRows([{ field: 'in_port', value: 7 }], key, KEY_WORDS, mask, 2 * KEY_WORDS)).toBeNull();
    expect(key[KEY_WORDS + K.InPort]).toBe(7);
    expect(key[KEY_WORDS + K.EthDstHi]).toBe(0);
    expect(mask[2 * KEY_WORDS + K.InPort]).toBe(0xffffffff);
    expect(mask[2 * KEY_WORDS + K.TpSrcDst]).toBe(0);
    expect(key[0]).toBe(0xdeadbeef);
    expect(matchFromRows(key, KEY_WORDS, mask, 2 * KEY_WORDS)).toEqual([{ field: 'in_port', value: 7 }]);
  });
});

/* --- against the real parser ------------------------------------------------ */

function parsed(frame: Uint8Array, inPort = 1): Uint32Array {
  const out = new ParsedBatch(1);
  parseFrame(frame, 0, frame.length, inPort, out, 0);
  return out.keys.slice(0, KEY_WORDS);
}

function hits(m: Match, key: Uint32Array): boolean {
  const r = rows(m);
  return rowsMatch(key, 0, r.key, 0, r.mask, 0);
}

const b16 = (v: number) => [v >> 8, v & 0xff];
const b32 = (v: number) => [v >>> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
const b48 = (v: number) => [...b16(Math.floor(v / 2 ** 32)), ...b32(v % 2 ** 32)];
const b128 = (v: bigint) => Array.from({ length: 16 }, (_, i) => Number((v >> BigInt(120 - 8 * i)) & 0xffn));
const DST = '02:00:00:00:00:02';
const SRC = '02:00:00:00:00:01';
const V6A = 0xfe800000000000000000000000000001n;
const V6B = 0xff0200000000000000000001ff000002n;

function ipv6Header(tclass: number, flabel: number, nh: number, payloadLen: number): number[] {
  return [0x60 | (tclass >> 4), ((tclass & 0xf) << 4) | (flabel >> 16), (flabel >> 8) & 0xff, flabel & 0xff, ...b16(payloadLen), nh, 255, ...b128(V6A), ...b128(V6B)];
}

/** Each frame with a match naming every field it carries (canonical order). */
const FRAMES: { name: string; frame: Uint8Array; match: Match }[] = [
  {
    name: 'UDP over IPv4 in VLAN 5 pcp 3',
    frame: (() => {
      const f = udpFrame(DST, SRC, { vlan: 5 });
      f[14] |= 3 << 5;
      return f;
    })(),
    match: [
      { field: 'in_port', value: 1 }, { field: 'eth_dst', value: macNum(DST) }, { field: 'eth_src', value: macNum(SRC) }, IPV4,
      { field: 'vlan_vid', value: 0x1005 }, { field: 'vlan_pcp', value: 3 }, { field: 'ip_dscp', value: 0 }, { field: 'ip_ecn', value: 0 }, proto(17),
      { field: 'ipv4_src', value: 0x0a000001 }, { field: 'ipv4_dst', value: 0x0a000002 }, { field: 'udp_src', value: 4000 }, { field: 'udp_dst', value: 5000 },
    ],
  },
  {
    name: 'TCP over IPv4, dscp 46 ecn 1',
    frame: ethFrame(DST, SRC, 0x0800, Uint8Array.from([
      0x45, (46 << 2) | 1, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, ...b32(0xc0a80101), ...b32(0xc0a80202),
      ...b16(33000), ...b16(443), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
    ])),
    match: [
      IPV4, { field: 'vlan_vid', value: 0 }, { field: 'ip_dscp', value: 46 }, { field: 'ip_ecn', value: 1 }, proto(6),
      { field: 'ipv4_src', value: 0xc0a80101 }, { field: 'ipv4_dst', value: 0xc0a80202 }, { field: 'tcp_src', value: 33000 }, { field: 'tcp_dst', value: 443 },
    ],
  },
  {
    name: 'ICMP echo over IPv4',
    frame: ethFrame(DST, SRC, 0x0800, Uint8Array.from([0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, ...b32(0x0a000001), ...b32(0x0a000002), 8, 0, 0, 0, 0, 1, 0, 1])),
    match: [IPV4, proto(1), { field: 'icmpv4_type', value: 8 }, { field: 'icmpv4_code', value: 0 }],
  },
  {
    name: 'ARP request',
    frame: ethFrame('ff:ff:ff:ff:ff:ff', SRC, 0x0806, Uint8Array.from([
      0, 1, 8, 0, 6, 4, 0, 1, ...b48(macNum(SRC)), ...b32(0x0a000001), ...b48(0x0a0b0c0d0e0f), ...b32(0x0a000002),
    ])),
    match: [
      ARP, { field: 'arp_op', value: 1 }, { field: 'arp_spa', value: 0x0a000001 }, { field: 'arp_tpa', value: 0x0a000002 },
      { field: 'arp_sha', value: macNum(SRC) }, { field: 'arp_tha', value: 0x0a0b0c0d0e0f },
    ],
  },
  {
    name: 'ICMPv6 neighbour solicitation after a hop-by-hop header',
    frame: ethFrame(DST, SRC, 0x86dd, Uint8Array.from([
      ...ipv6Header(0xb9, 0xabcde, 0, 8 + 32),
      58, 0, 1, 4, 0, 0, 0, 0,
      135, 0, 0, 0, 0, 0, 0, 0, ...b128(0xfe80000000000000000000000000beefn), 1, 1, ...b48(0x0a0b0c0d0e0f),
    ])),
    match: [
      IPV6, { field: 'ip_dscp', value: 0xb9 >> 2 }, { field: 'ip_ecn', value: 1 }, proto(58), { field: 'ipv6_src', value: V6A }, { field: 'ipv6_dst', value: V6B },
      { field: 'ipv6_flabel', value: 0xabcde }, { field: 'icmpv6_type', value: 135 }, { field: 'icmpv6_code', value: 0 },
      { field: 'ipv6_nd_target', value: 0xfe80000000000000000000000000beefn }, { field: 'ipv6_nd_sll', value: 0x0a0b0c0d0e0f },
      { field: 'ipv6_exthdr', value: 0x40 },
    ],
  },
  {
    name: 'ICMPv6 neighbour advertisement',
    frame: ethFrame(DST, SRC, 0x86dd, Uint8Array.from([
      ...ipv6Header(0, 0, 58, 32),
      136, 0, 0, 0, 0x60, 0, 0, 0, ...b128(V6A), 2, 1, ...b48(0x020304050607),
    ])),
    match: [IPV6, proto(58), { field: 'icmpv6_type', value: 136 }, { field: 'ipv6_nd_target', value: V6A }, { field: 'ipv6_nd_tll', value: 0x020304050607 }],
  },
  {
    name: 'MPLS',
    frame: ethFrame(DST, SRC, 0x8847, Uint8Array.from([...b32((1000 << 12) | (5 << 9) | (1 << 8) | 64), 0x45, 0, 0, 20])),
    match: [MPLS, { field: 'mpls_label', value: 1000 }, { field: 'mpls_tc', value: 5 }, { field: 'mpls_bos', value: 1 }],
  },
];

function flipped(x: Oxm): Oxm {
  if (typeof x.value === 'bigint') return { ...x, value: x.value ^ 1n } as Oxm;
  return { ...x, value: x.value ^ 1 } as Oxm;
}

describe('match rows against keys from the real parser', () => {
  for (const { name, frame, match } of FRAMES) {
    it(`${name}: the full match hits, and flipping any one field misses`, () => {
      const key = parsed(frame);
      expect(hits(match, key)).toBe(true);
      let flips = 0;
      for (let i = 0; i < match.length; i++) {
        const m = match.slice();
        m[i] = flipped(m[i]);
        if (compileMatch(m) instanceof DecodeError) continue; // a prerequisite changed
        flips++;
        expect(hits(m, key), `${m[i].field} flipped`).toBe(false);
      }
      expect(flips).toBeGreaterThan(0);
    });
  }

  it('vlan_vid follows OFPVID_PRESENT semantics', () => {
    const untagged = parsed(udpFrame(DST, SRC));
    const vid5 = parsed(udpFrame(DST, SRC, { vlan: 5 }));
    const vid0 = parsed(udpFrame(DST, SRC, { vlan: 0 }));
    const none: Match = [{ field: 'vlan_vid', value: 0 }];
    const anyTagged: Match = [{ field: 'vlan_vid', value: 0x1000, mask: 0x1000 }];
    const exactly5: Match = [{ field: 'vlan_vid', value: 0x1005 }];
    const absent: Match = [];
    expect([hits(none, untagged), hits(none, vid5), hits(none, vid0)]).toEqual([true, false, false]);
    expect([hits(anyTagged, untagged), hits(anyTagged, vid5), hits(anyTagged, vid0)]).toEqual([false, true, true]);
    expect([hits(exactly5, untagged), hits(exactly5, vid5), hits(exactly5, vid0)]).toEqual([false, true, false]);
    expect([hits(absent, untagged), hits(absent, vid5), hits(absent, vid0)]).toEqual([true, true, true]);
  });

  it('tcp_dst does not hit a UDP packet with the same port (prerequisite bits are in the mask)', () => {
    const udp = parsed(udpFrame(DST, SRC));
    expect(hits([IPV4, proto(17), { field: 'udp_dst', value: 5000 }], udp)).toBe(true);
    expect(hits([IPV4, proto(6), { field: 'tcp_dst', value: 5000 }], udp)).toBe(false);
    expect(hits([IPV6, proto(17), { field: 'udp_dst', value: 5000 }], udp)).toBe(false);
  });
});

/* --- random canonical matches --------------------------------------------------- */

const u = (bits: number) => fc.integer({ min: 0, max: 2 ** bits - 1 });
const ub = (bits: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });

/** A field with an optional non-trivial mask (never 0, never all ones), value inside it. */
function maskedNum(field: Oxm['field'], bits: number): fc.Arbitrary<Oxm> {
  const all = 2 ** bits - 1;
  return fc.oneof(
    u(bits).map((value) => ({ field, value }) as Oxm),
    fc.tuple(u(bits), u(bits).filter((m) => m !== 0 && m !== all)).map(([v, m]) => {
      const value = Number(BigInt(v) & BigInt(m));
      return { field, value, mask: m } as Oxm;
    }),
  );
}
function maskedBig(field: Oxm['field'], bits: number): fc.Arbitrary<Oxm> {
  const all = (1n << BigInt(bits)) - 1n;
  return fc.oneof(
    ub(bits).map((value) => ({ field, value }) as Oxm),
    fc.tuple(ub(bits), ub(bits).filter((m) => m !== 0n && m !== all)).map(([v, m]) => ({ field, value: v & m, mask: m }) as Oxm),
  );
}
const exact = (field: Oxm['field'], bits: number) => u(bits).map((value) => ({ field, value }) as Oxm);
const some = (...arbs: fc.Arbitrary<Oxm>[]) => fc.tuple(...arbs.map((a) => fc.option(a, { nil: undefined })));

const l2 = some(exact('in_port', 32), maskedBig('metadata', 64), maskedNum('eth_dst', 48), maskedNum('eth_src', 48), maskedBig('tunnel_id', 64));
const vlan = fc.oneof(
  fc.constant<Oxm[]>([]),
  fc.constant<Oxm[]>([{ field: 'vlan_vid', value: 0 }]),
  fc.constant<Oxm[]>([{ field: 'vlan_vid', value: 0x1000, mask: 0x1000 }]),
  fc.tuple(u(12), fc.option(u(3), { nil: undefined })).map(([vid, pcp]): Oxm[] =>
    pcp === undefined ? [{ field: 'vlan_vid', value: 0x1000 | vid }] : [{ field: 'vlan_vid', value: 0x1000 | vid }, { field: 'vlan_pcp', value: pcp }]),
);
const l4For = (p: number, v6: boolean): fc.Arbitrary<(Oxm | undefined)[]> => {
  switch (p) {
    case 6: return some(exact('tcp_src', 16), exact('tcp_dst', 16));
    case 17: return some(exact('udp_src', 16), exact('udp_dst', 16));
    case 132: return some(exact('sctp_src', 16), exact('sctp_dst', 16));
    case 1: return v6 ? fc.constant([]) : some(exact('icmpv4_type', 8), exact('icmpv4_code', 8));
    case 58:
      return v6
        ? fc.oneof(
          some(exact('icmpv6_type', 8), exact('icmpv6_code', 8)),
          fc.tuple(fc.constantFrom(135, 136), fc.option(ub(128), { nil: undefined }), fc.option(u(48), { nil: undefined })).map(([t, target, ll]): (Oxm | undefined)[] => [
            { field: 'icmpv6_type', value: t },
            target === undefined ? undefined : { field: 'ipv6_nd_target', value: target },
            ll === undefined ? undefined : { field: t === 135 ? 'ipv6_nd_sll' : 'ipv6_nd_tll', value: ll },
          ]))
        : fc.constant([]);
    default: return fc.constant([]);
  }
};
const ipBranch = (v6: boolean) =>
  fc.tuple(fc.option(fc.constantFrom(1, 6, 17, 58, 132, 47), { nil: undefined }), some(exact('ip_dscp', 6), exact('ip_ecn', 2))).chain(([p, tos]) =>
    fc.tuple(
      p === undefined ? fc.constant([]) : l4For(p, v6),
      v6
        ? some(maskedBig('ipv6_src', 128), maskedBig('ipv6_dst', 128), maskedNum('ipv6_flabel', 20),
          fc.oneof(u(8).map((value): Oxm => ({ field: 'ipv6_exthdr', value })),
            fc.tuple(u(8), u(8).filter((m) => m !== 0 && m !== 0xff)).map(([v, m]): Oxm => ({ field: 'ipv6_exthdr', value: v & m, mask: m }))))
        : some(maskedNum('ipv4_src', 32), maskedNum('ipv4_dst', 32)),
    ).map(([l4, l3]) => [v6 ? IPV6 : IPV4, p === undefined ? undefined : proto(p), ...tos, ...l4, ...l3]),
  );
const branch = fc.oneof(
  fc.constant<(Oxm | undefined)[]>([]),
  u(16).filter((t) => ![0x0800, 0x86dd, 0x0806, 0x8847, 0x8848, 0x88e7].includes(t)).map((value): Oxm[] => [{ field: 'eth_type', value }]),
  ipBranch(false),
  ipBranch(true),
  some(exact('arp_op', 16), maskedNum('arp_spa', 32), maskedNum('arp_tpa', 32), maskedNum('arp_sha', 48), maskedNum('arp_tha', 48)).map((f) => [ARP, ...f]),
  fc.tuple(fc.constantFrom(0x8847, 0x8848), some(exact('mpls_label', 20), exact('mpls_tc', 3), exact('mpls_bos', 1)))
    .map(([t, f]): (Oxm | undefined)[] => [{ field: 'eth_type', value: t }, ...f]),
);
const matchArb: fc.Arbitrary<Match> = fc.tuple(l2, vlan, branch).map(([a, b, c]) =>
  sortCanonical([...a, ...b, ...c].filter((x): x is Oxm => x !== undefined)));
