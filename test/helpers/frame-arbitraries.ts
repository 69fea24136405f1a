/*
 * fast-check generators of structured, mostly well-formed Ethernet frames
 * for the frame fuzzer: Ethernet with 0-2 VLAN tags (802.1Q / 802.1ad), then
 * IPv4 (random IHL and options, total length right or wrong, fragments),
 * IPv6 (extension header chains, jumbo-ish payload lengths), ARP, MPLS label
 * stacks over IP or garbage, PBB, or an unknown ethertype; at L4 TCP (random
 * data offset), UDP, ICMP, SCTP, ICMPv6 (neighbour discovery with options)
 * or an unknown protocol. Field values are random within their width; then a
 * mutation: none, truncation at a random byte, trailing garbage, or a few
 * bytes overwritten. Checksums are not computed (the parser does not check
 * them; the pipeline's rewrites must cope with wrong ones).
 */

import fc from 'fast-check';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (max: number) => fc.uint8Array({ maxLength: max });
/** Host MACs the fuzz rigs know, broadcast, multicast, or anything. */
const mac = fc.oneof(
  fc.constantFrom(0x020000000001, 0x020000000002, 0x020000000003, 0xffffffffffff, 0x01005e000001, 0x333300000001),
  fc.integer({ min: 0, max: 2 ** 48 - 1 }),
);

class Writer {
  readonly out: number[] = [];
  u8(v: number): this {
    this.out.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v >>> 8).u8(v);
  }
  u32(v: number): this {
    return this.u16(v >>> 16).u16(v & 0xffff);
  }
  mac(v: number): this {
    return this.u16(Math.floor(v / 2 ** 32)).u32(v % 2 ** 32);
  }
  bytes(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.out.push(b[i] & 0xff);
    return this;
  }
}

const build = (f: (w: Writer) => void): number[] => {
  const w = new Writer();
  f(w);
  return w.out;
};

/* ------------------------------------------------------------------ L4 */

const tcp = fc.record({ sport: u16, dport: fc.oneof(fc.constantFrom(80, 443, 22), u16), seq: u32, ack: u32, off: fc.oneof(fc.constant(5), fc.integer({ min: 0, max: 15 })), flags: u8, win: u16, opts: bytes(40), data: bytes(64) })
  .map((t) => build((w) => w.u16(t.sport).u16(t.dport).u32(t.seq).u32(t.ack).u8(t.off << 4).u8(t.flags).u16(t.win).u32(0).bytes(t.opts.subarray(0, Math.max(0, t.off * 4 - 20))).bytes(t.data)));

const udp = fc.record({ sport: u16, dport: fc.oneof(fc.constantFrom(53, 67, 4789), u16), len: fc.option(u16), data: bytes(64) })
  .map((t) => build((w) => w.u16(t.sport).u16(t.dport).u16(t.len ?? 8 + t.data.length).u16(0).bytes(t.data)));

const icmp = fc.record({ type: fc.oneof(fc.constantFrom(0, 3, 8, 11), u8), code: u8, rest: bytes(32) }).map((t) => build((w) => w.u8(t.type).u8(t.code).u16(0).bytes(t.rest)));

const sctp = fc.record({ sport: u16, dport: u16, vtag: u32, data: bytes(48) }).map((t) => build((w) => w.u16(t.sport).u16(t.dport).u32(t.vtag).u32(0).bytes(t.data)));

const ndOption = fc.record({ type: fc.oneof(fc.constantFrom(1, 2), u8), len: fc.integer({ min: 0, max: 3 }), data: bytes(22) })
  .map((o) => build((w) => w.u8(o.type).u8(o.len).bytes(Array.from({ length: Math.max(0, o.len * 8 - 2) }, (_, i) => o.data[i] ?? 0))));
const icmpv6 = fc.record({ type: fc.oneof(fc.constantFrom(128, 129, 133, 134, 135, 136), u8), code: u8, target: fc.uint8Array({ minLength: 16, maxLength: 16 }), opts: fc.array(ndOption, { maxLength: 3 }), cut: fc.boolean() })
  .map((t) => build((w) => {
    w.u8(t.type).u8(t.code).u16(0).u32(0);
    if (!t.cut) w.bytes(t.target);
    for (const o of t.opts) w.bytes(o);
  }));

/** An L4 header and payload for IP protocol `proto`. */
function l4(proto: number): fc.Arbitrary<number[]> {
  switch (proto) {
    case 6: return tcp;
    case 17: return udp;
    case 1: return icmp;
    case 132: return sctp;
    case 58: return icmpv6;
    default: return bytes(40).map((b) => [...b]);
  }
}

const proto = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(6, 17, 1, 132, 58) }, { weight: 1, arbitrary: u8 });

/* ------------------------------------------------------------------ L3 */

const ipv4 = fc.record({
  ihl: fc.oneof({ weight: 4, arbitrary: fc.constant(5) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) }),
  tos: u8, totalLen: fc.option(u16, { freq: 4 }), id: u16,
  frag: fc.oneof(fc.constant(0), fc.constant(0x4000), fc.constant(0x2000), fc.integer({ min: 1, max: 0x1fff }), u16),
  ttl: fc.oneof(fc.constantFrom(0, 1, 64), u8), proto, src: u32, dst: fc.oneof(fc.constantFrom(0x0a000001, 0x0a000002, 0xe0000001, 0xffffffff), u32),
  opts: fc.uint8Array({ minLength: 40, maxLength: 40 }),
}).chain((h) => l4(h.proto).map((payload) => build((w) => {
  const hdr = Math.max(20, h.ihl * 4);
  w.u8(0x40 | h.ihl).u8(h.tos).u16(h.totalLen ?? hdr + payload.length).u16(h.id).u16(h.frag).u8(h.ttl).u8(h.proto).u16(0).u32(h.src).u32(h.dst);
  w.bytes(h.opts.subarray(0, hdr - 20)).bytes(payload);
})));

const extHeader = fc.record({ type: fc.constantFrom(0, 43, 44, 60, 51, 50, 135), len: fc.integer({ min: 0, max: 2 }), data: fc.uint8Array({ minLength: 30, maxLength: 30 }) });
const ipv6 = fc.record({
  tc: u8, flabel: fc.integer({ min: 0, max: 0xfffff }), plen: fc.option(u16, { freq: 4 }), exts: fc.array(extHeader, { maxLength: 3 }),
  last: fc.oneof(proto, fc.constant(59)), hop: u8, src: fc.uint8Array({ minLength: 16, maxLength: 16 }), dst: fc.uint8Array({ minLength: 16, maxLength: 16 }),
}).chain((h) => l4(h.last).map((payload) => {
  const chain = build((w) => {
    h.exts.forEach((x, i) => {
      const next = i + 1 < h.exts.length ? h.exts[i + 1].type : h.last;
      // Fragment headers are 8 bytes; AH counts 4-byte units (+2); the others 8-byte units (+1).
      const size = x.type === 44 ? 8 : x.type === 51 ? (x.len + 2) * 4 : (x.len + 1) * 8;
      w.u8(next).u8(x.len).bytes(Array.from({ length: size - 2 }, (_, k) => x.data[k % 30]));
    });
  });
  return build((w) => {
    w.u32((6 << 28) | (h.tc << 20) | h.flabel).u16(h.plen ?? chain.length + payload.length).u8(h.exts.length > 0 ? h.exts[0].type : h.last).u8(h.hop);
    w.bytes(h.src).bytes(h.dst).bytes(chain).bytes(payload);
  });
}));

const arp = fc.record({ htype: fc.oneof(fc.constant(1), u16), ptype: fc.oneof(fc.constant(0x0800), u16), hlen: fc.oneof(fc.constant(6), u8), plen: fc.oneof(fc.constant(4), u8), op: fc.oneof(fc.constantFrom(1, 2), u16), sha: mac, spa: u32, tha: mac, tpa: u32 })
  .map((a) => build((w) => w.u16(a.htype).u16(a.ptype).u8(a.hlen).u8(a.plen).u16(a.op).mac(a.sha).u32(a.spa).mac(a.tha).u32(a.tpa)));

/** An ethertype and the bytes after it. */
type L3 = { ethType: number; bytes: number[] };

const mplsInner = fc.oneof(ipv4, ipv6, bytes(40).map((b) => [...b]));
const mpls: fc.Arbitrary<L3> = fc.record({
  ethType: fc.constantFrom(0x8847, 0x8848),
  labels: fc.array(fc.record({ label: fc.integer({ min: 0, max: 0xfffff }), tc: fc.integer({ min: 0, max: 7 }), ttl: u8 }), { minLength: 1, maxLength: 3 }),
  bos: fc.boolean(), inner: mplsInner,
}).map((m) => ({
  ethType: m.ethType,
  bytes: build((w) => {
    m.labels.forEach((l, i) => w.u32(((l.label << 12) | (l.tc << 9) | (i === m.labels.length - 1 && m.bos ? 0x100 : 0) | l.ttl) >>> 0));
    w.bytes(m.inner);
  }),
}));

const pbb: fc.Arbitrary<L3> = fc.record({ itag: u32, cdst: mac, csrc: mac, inner: fc.oneof(ipv4.map((b) => ({ t: 0x0800, b })), arp.map((b) => ({ t: 0x0806, b }))) })
  .map((p) => ({ ethType: 0x88e7, bytes: build((w) => w.u32(p.itag).mac(p.cdst).mac(p.csrc).u16(p.inner.t).bytes(p.inner.b)) }));

const l3: fc.Arbitrary<L3> = fc.oneof(
  { weight: 4, arbitrary: ipv4.map((bytes) => ({ ethType: 0x0800, bytes })) },
  { weight: 3, arbitrary: ipv6.map((bytes) => ({ ethType: 0x86dd, bytes })) },
  { weight: 2, arbitrary: arp.map((bytes) => ({ ethType: 0x0806, bytes })) },
  { weight: 2, arbitrary: mpls },
  { weight: 1, arbitrary: pbb },
  { weight: 1, arbitrary: fc.record({ ethType: u16, bytes: bytes(60).map((b) => [...b]) }) },
);

/* ------------------------------------------------------------- Ethernet */

const vlanTag = fc.record({ tpid: fc.constantFrom(0x8100, 0x88a8), tci: u16 });

type Mutation = { kind: 'none' } | { kind: 'truncate'; at: number } | { kind: 'garbage'; tail: Uint8Array } | { kind: 'overwrite'; edits: [number, number][] };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 2, arbitrary: fc.nat().map((at) => ({ kind: 'truncate' as const, at })) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((tail) => ({ kind: 'garbage' as const, tail })) },
  { weight: 2, arbitrary: fc.array(fc.tuple(fc.nat(), u8), { minLength: 1, maxLength: 4 }).map((edits) => ({ kind: 'overwrite' as const, edits })) },
);

/** One frame: Ethernet, 0-2 VLAN tags, an L3 payload (see above), then maybe mutated. */
export const frame: fc.Arbitrary<Uint8Array> = fc.record({ dst: mac, src: mac, vlans: fc.array(vlanTag, { maxLength: 2 }), l3, pad: fc.boolean(), m: mutation }).map((f) => {
  const b = build((w) => {
    w.mac(f.dst).mac(f.src);
    for (const v of f.vlans) w.u16(v.tpid).u16(v.tci);
    w.u16(f.l3.ethType).bytes(f.l3.bytes);
    // Ethernet's minimum frame (60 bytes without FCS), as a NIC would pad.
    if (f.pad) while (w.out.length < 60) w.u8(0);
  });
  let out = Uint8Array.from(b);
  switch (f.m.kind) {
    case 'truncate': out = out.subarray(0, f.m.at % (out.length + 1)); break;
    case 'garbage': out = Uint8Array.from([...out, ...f.m.tail]); break;
    case 'overwrite': for (const [at, v] of f.m.edits) out[at % out.length] = v; break;
    default: break;
  }
  return out;
});
