/*
 * Checksum tests. The reference is the wire: the TCP/UDP/ICMP frames in
 * test/fixtures/frames were captured with every offload off, so their
 * checksums are complete (tshark checked them: tshark-fields.txt). Each one is
 * turned back into what a CHECKSUM_PARTIAL sender hands over (field = folded
 * pseudo-header sum, vnet NEEDS_CSUM with csum_start/csum_offset) and must come
 * out byte-identical. Plus a plain reference implementation for random data,
 * the IPv4 header checksum, and RFC 1624 incremental updates.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  crc32cOf, needsSctpChecksum, sctpChecksumOk, sctpCrc32c, writeSctpChecksum,
  completeChecksum, csumReplace16, csumReplace32, internetChecksum, ipv4HeaderChecksum, isGso, needsChecksum, onesComplementSum,
} from '../../src/packet/checksum.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, K } from '../../src/flow/key.js';
import { ParsedBatch, parseFrame } from '../../src/datapath/parse/parse.js';
import { PacketPool } from '../../src/packet/pool.js';
import {
  VNET_CSUM_OFFSET, VNET_CSUM_START, VNET_F_DATA_VALID, VNET_F_NEEDS_CSUM, VNET_FLAGS, VNET_GSO_ECN, VNET_GSO_NONE, VNET_GSO_TCPV4,
  VNET_GSO_TCPV6, VNET_GSO_TYPE, VNET_GSO_UDP_L4,
} from '../../src/packet/vnet.js';

const FRAMES_DIR = fileURLToPath(new URL('../fixtures/frames/', import.meta.url));

function loadFixture(name: string): Uint8Array {
  const text = readFileSync(join(FRAMES_DIR, `${name}.hex`), 'utf8');
  const hex = text.split('\n').filter((l) => !l.startsWith('#')).join('').replace(/\s+/g, '');
  return Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
}

/** The plain reference: 16-bit big-endian words, end-around carry after every add. */
function refSum(bytes: ArrayLike<number>, off = 0, len = bytes.length - off, initial = 0): number {
  let sum = initial;
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  for (let i = 0; i < len; i += 2) {
    const w = (bytes[off + i] << 8) | (i + 1 < len ? bytes[off + i + 1] : 0);
    sum += w;
    if (sum > 0xffff) sum -= 0xffff;
  }
  return sum;
}

const be16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
const put16 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = v >> 8;
  b[o + 1] = v & 0xff;
};

interface L4Info {
  l3: number;
  l4: number;
  proto: number;
  ipv6: boolean;
  /** Bytes from the L4 header to the end of the IP payload. */
  l4Len: number;
}
function l4Info(frame: Uint8Array): L4Info {
  const out = new ParsedBatch(1);
  expect(parseFrame(frame, 0, frame.length, 1, out, 0)).toBe(0);
  const l3 = out.l3[0];
  const l4 = out.l4[0];
  const ipv6 = out.keys[K.EthTypeVlan] >>> 16 === 0x86dd;
  const ipEnd = ipv6 ? l3 + 40 + be16(frame, l3 + 4) : l3 + be16(frame, l3 + 2);
  return { l3, l4, proto: out.keys[K.IpProtoTosTtlFrag] >>> 24, ipv6, l4Len: ipEnd - l4 };
}

/** What the kernel leaves in the field for CHECKSUM_PARTIAL: the folded pseudo-header sum, not complemented. */
function pseudoHeaderSum(frame: Uint8Array, info: L4Info): number {
  const addrs = info.ipv6 ? frame.subarray(info.l3 + 8, info.l3 + 40) : frame.subarray(info.l3 + 12, info.l3 + 20);
  return refSum(addrs, 0, addrs.length, info.proto + (info.l4Len >>> 16) + (info.l4Len & 0xffff));
}

const CSUM_FIELD: Record<number, number> = { [IPPROTO_TCP]: 16, [IPPROTO_UDP]: 6, [IPPROTO_ICMP]: 2, [IPPROTO_ICMPV6]: 2 };

function setVnet(pool: PacketPool, slot: number, flags: number, start: number, offset: number, gsoType = VNET_GSO_NONE): void {
  const v = pool.vnetOff(slot);
  const b = pool.bytes;
  b[v + VNET_FLAGS] = flags;
  b[v + VNET_GSO_TYPE] = gsoType;
  b[v + VNET_CSUM_START] = start & 0xff;
  b[v + VNET_CSUM_START + 1] = start >> 8;
  b[v + VNET_CSUM_OFFSET] = offset & 0xff;
  b[v + VNET_CSUM_OFFSET + 1] = offset >> 8;
}

describe('completeChecksum on captured frames', () => {
  const names = [
    'tcp4-syn', 'tcp4-synack', 'tcp4-data', 'udp4', 'tcp6-syn', 'tcp6-data', 'udp6-hbh-dst', 'vlan-tcp6',
    'icmp4-echo-request', 'icmp4-port-unreach', 'icmp6-echo-request', 'nd-ns', 'nd-na', 'mld-report',
  ];
  for (const name of names) {
    it(`${name}: CHECKSUM_PARTIAL completed to the captured bytes`, () => {
      const wire = loadFixture(name);
      const info = l4Info(wire);
      const fieldOff = CSUM_FIELD[info.proto];
      expect(fieldOff, `${name} has a checksummed L4`).toBeDefined();
      const field = info.l4 + fieldOff;
      // The capture itself is consistent with the reference: summing over a correct checksum gives 0xffff.
      const seed = info.proto === IPPROTO_ICMP ? 0 : pseudoHeaderSum(wire, info);
      expect(refSum(wire, info.l4, info.l4Len, seed)).toBe(0xffff);

      const pool = new PacketPool({ slots: 64 });
      const slot = pool.alloc();
      pool.write(slot, wire);
      const off = pool.dataOff[slot];
      put16(pool.bytes, off + field, seed);
      setVnet(pool, slot, VNET_F_NEEDS_CSUM, info.l4, fieldOff);
      expect(needsChecksum(pool, slot)).toBe(true);

      expect(completeChecksum(pool, slot)).toBe(true);
      expect(pool.copyOut(slot)).toEqual(wire);
      expect(pool.bytes[pool.vnetOff(slot) + VNET_FLAGS]).toBe(VNET_F_DATA_VALID);
      expect(needsChecksum(pool, slot)).toBe(false);
      expect(completeChecksum(pool, slot)).toBe(false);
      expect(pool.copyOut(slot)).toEqual(wire);
    });
  }

  it('leaves a frame alone when nothing is asked or the header points outside it', () => {
    const wire = loadFixture('tcp4-data');
    const pool = new PacketPool({ slots: 64 });
    const slot = pool.alloc();
    const cases: Array<[number, number, number]> = [
      [0, 34, 16], // no NEEDS_CSUM
      [VNET_F_NEEDS_CSUM, wire.length, 0], // start at the end
      [VNET_F_NEEDS_CSUM, 0xffff, 16], // start far outside
      [VNET_F_NEEDS_CSUM, 34, wire.length - 34 - 1], // field's second byte past the end
    ];
    for (const [flags, start, offset] of cases) {
      pool.write(slot, wire);
      setVnet(pool, slot, flags, start, offset);
      expect(completeChecksum(pool, slot), `${flags} ${start} ${offset}`).toBe(false);
      expect(pool.copyOut(slot)).toEqual(wire);
      expect(pool.bytes[pool.vnetOff(slot) + VNET_FLAGS]).toBe(flags);
    }
    // The last two bytes of the frame as the field is still inside.
    pool.write(slot, wire);
    setVnet(pool, slot, VNET_F_NEEDS_CSUM, 34, wire.length - 34 - 2);
    expect(completeChecksum(pool, slot)).toBe(true);
  });

  it('stores a computed 0 as 0xffff, like the kernel', () => {
    const pool = new PacketPool({ slots: 64 });
    const slot = pool.alloc();
    // Data whose sum is 0xffff, field at the start seeded with 0: checksum ~0xffff = 0.
    const frame = new Uint8Array(64);
    put16(frame, 20, 0x1234);
    put16(frame, 22, 0xffff - 0x1234);
    pool.write(slot, frame);
    setVnet(pool, slot, VNET_F_NEEDS_CSUM, 18, 0);
    expect(completeChecksum(pool, slot)).toBe(true);
    expect(be16(pool.bytes, pool.dataOff[slot] + 18)).toBe(0xffff);
  });
});

/** Bitwise CRC32c, the reference (no table, no library). */
function crc32cBitwise(b: Uint8Array, from = 0, to = b.length): number {
  let c = 0xffffffff;
  for (let i = from; i < to; i++) {
    c ^= b[i];
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

const hexBytes = (h: string): Uint8Array => Uint8Array.from(h.replace(/\s+/g, '').match(/../g)!.map((x) => parseInt(x, 16)));

describe('CRC32c (SCTP checksum)', () => {
  it('the well-known check value and the RFC 3720 B.4 vectors', () => {
    expect(crc32cOf(new TextEncoder().encode('123456789'), 0, 9)).toBe(0xe3069283);
    const inc = Uint8Array.from({ length: 32 }, (_, i) => i);
    const vectors: Array<[Uint8Array, number]> = [
      [new Uint8Array(32), 0x8a9136aa],
      [new Uint8Array(32).fill(0xff), 0x62a8ab43],
      [inc, 0x46dd794e],
      [inc.slice().reverse(), 0x113fdb5c],
      // An iSCSI read (10) command PDU.
      [hexBytes('01c00000 00000000 00000000 00000000 14000000 00000400 00000014 00000018 28000000 00000000 02000000 00000000'), 0xd9963a56],
    ];
    for (const [data, crc] of vectors) {
      expect(crc32cOf(data, 0, data.length)).toBe(crc);
      expect(crc32cBitwise(data)).toBe(crc); // the reference agrees with the RFC too
    }
  });

  it('agrees with the bitwise reference on random data at random offsets (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 1600 }), fc.nat(), fc.nat(), (data, a, b) => {
        const from = data.length === 0 ? 0 : a % data.length;
        const to = from + (data.length === from ? 0 : b % (data.length - from + 1));
        expect(crc32cOf(data, from, to)).toBe(crc32cBitwise(data, from, to));
      }),
      { numRuns: 300 },
    );
  });

  it('sctpCrc32c counts the checksum field as zero and leaves the bytes as they were', () => {
    const pkt = Uint8Array.from({ length: 100 }, (_, i) => (i * 37 + 11) & 0xff);
    const before = pkt.slice();
    const zeroed = pkt.slice();
    zeroed.fill(0, 8, 12);
    expect(sctpCrc32c(pkt, 0, pkt.length)).toBe(crc32cBitwise(zeroed));
    expect(pkt).toEqual(before);
    expect(sctpChecksumOk(pkt, 0, pkt.length)).toBe(false);
    writeSctpChecksum(pkt, 0, pkt.length);
    const crc = crc32cBitwise(zeroed);
    // Stored least significant byte first (RFC 4960 appendix B; Linux stores cpu_to_le32).
    expect(Array.from(pkt.subarray(8, 12))).toEqual([crc & 0xff, (crc >>> 8) & 0xff, (crc >>> 16) & 0xff, crc >>> 24]);
    expect(sctpChecksumOk(pkt, 0, pkt.length)).toBe(true);
    pkt[50] ^= 1;
    expect(sctpChecksumOk(pkt, 0, pkt.length)).toBe(false);
    expect(sctpChecksumOk(pkt, 0, 11)).toBe(false); // too short to hold a checksum
  });

  it('the captured SCTP frame carries a right checksum; a CHECKSUM_PARTIAL copy completes to the captured bytes', () => {
    const wire = loadFixture('sctp4');
    const l3 = 14;
    const l4 = l3 + (wire[l3] & 0x0f) * 4;
    const end = l3 + be16(wire, l3 + 2);
    expect(wire[l3 + 9]).toBe(132);
    expect(sctpChecksumOk(wire, l4, end)).toBe(true);

    const pool = new PacketPool({ slots: 64 });
    const slot = pool.alloc();
    pool.write(slot, wire);
    pool.bytes.fill(0, pool.dataOff[slot] + l4 + 8, pool.dataOff[slot] + l4 + 12); // what a CRC-offloading sender leaves
    setVnet(pool, slot, VNET_F_NEEDS_CSUM, l4, 8);
    expect(needsSctpChecksum(pool, slot)).toBe(true);
    expect(completeChecksum(pool, slot)).toBe(true);
    expect(pool.copyOut(slot)).toEqual(wire);
    expect(needsSctpChecksum(pool, slot)).toBe(false);
    expect(pool.bytes[pool.vnetOff(slot) + VNET_FLAGS]).toBe(VNET_F_DATA_VALID);
    // A TCP frame asking for its checksum is not an SCTP one.
    pool.write(slot, loadFixture('tcp4-data'));
    setVnet(pool, slot, VNET_F_NEEDS_CSUM, 34, 16);
    expect(needsSctpChecksum(pool, slot)).toBe(false);
  });
});

describe('vnet header predicates', () => {
  it('isGso is true for every GSO type, with or without the ECN bit, and false for none', () => {
    const pool = new PacketPool({ slots: 64 });
    const slot = pool.alloc();
    pool.write(slot, new Uint8Array(60));
    const cases: Array<[number, boolean]> = [
      [VNET_GSO_NONE, false], [VNET_GSO_ECN, false], [VNET_GSO_TCPV4, true], [VNET_GSO_TCPV6 | VNET_GSO_ECN, true], [VNET_GSO_UDP_L4, true],
    ];
    for (const [type, gso] of cases) {
      setVnet(pool, slot, VNET_F_DATA_VALID, 0, 0, type);
      expect(isGso(pool, slot), `gso_type ${type}`).toBe(gso);
      expect(needsChecksum(pool, slot)).toBe(false);
    }
  });
});

describe('IPv4 header checksum', () => {
  it('matches the captured header of every IPv4 frame', () => {
    for (const name of ['icmp4-echo-request', 'icmp4-echo-reply', 'ip4-frag-first', 'ip4-frag-later', 'udp4', 'tcp4-syn', 'sctp4', 'vlan-icmp4', 'qinq-icmp4', 'mpls-udp4']) {
      const f = loadFixture(name);
      const l3 = name === 'vlan-icmp4' ? 18 : name === 'qinq-icmp4' || name === 'mpls-udp4' ? 22 : 14;
      expect(f[l3] >> 4, name).toBe(4);
      const stored = be16(f, l3 + 10);
      expect(ipv4HeaderChecksum(f, l3), name).toBe(stored);
      put16(f, l3 + 10, 0);
      expect(ipv4HeaderChecksum(f, l3), `${name} with the field zeroed`).toBe(stored);
      expect(internetChecksum(f, l3, 20), name).toBe(stored);
    }
  });
});

describe('incremental updates (RFC 1624)', () => {
  it('TTL decrement on a captured header', () => {
    const f = loadFixture('icmp4-echo-request');
    const oldWord = be16(f, 22);
    const updated = csumReplace16(be16(f, 24), oldWord, oldWord - 0x100);
    f[22] -= 1;
    expect(updated).toBe(ipv4HeaderChecksum(f, 14));
  });

  it('a rewritten IPv4 source address fixes both the IP and the TCP checksum', () => {
    const f = loadFixture('tcp4-syn');
    const info = l4Info(f);
    const oldAddr = ((f[26] << 24) | (f[27] << 16) | (f[28] << 8) | f[29]) >>> 0;
    const newAddr = 0xc6336401; // 198.51.100.1
    const ipCsum = csumReplace32(be16(f, 24), oldAddr, newAddr);
    const tcpCsum = csumReplace32(be16(f, info.l4 + 16), oldAddr, newAddr);
    f.set([198, 51, 100, 1], 26);
    expect(ipCsum).toBe(ipv4HeaderChecksum(f, 14));
    put16(f, info.l4 + 16, 0);
    expect(tcpCsum).toBe(internetChecksum(f, info.l4, info.l4Len, pseudoHeaderSum(f, info)));
  });

  it('agrees with a full recomputation for random headers and words (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 0xffff }), (hdr, w, value) => {
        if (w === 5) return; // the checksum word itself
        // Version 4, IHL 5 stays: a real header never sums to zero, the one
        // case where +0 and -0 (0x0000 / 0xffff) could come out differently.
        if (w === 0) value = 0x4500 | (value & 0xff);
        hdr[0] = 0x45;
        put16(hdr, 10, ipv4HeaderChecksum(hdr, 0));
        const updated = csumReplace16(be16(hdr, 10), be16(hdr, 2 * w), value);
        put16(hdr, 2 * w, value);
        expect(updated).toBe(ipv4HeaderChecksum(hdr, 0));
        put16(hdr, 10, updated);
        expect(internetChecksum(hdr, 0, 20)).toBe(0);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('onesComplementSum / internetChecksum against the reference', () => {
  it('random data at random offsets, odd and even lengths, with a partial sum (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(7), fc.nat(), fc.integer({ min: 0, max: 0xffffffff }), (data, lead, cut, initial) => {
        const buf = new Uint8Array(lead + data.length + 3).fill(0xee);
        buf.set(data, lead);
        const len = data.length === 0 ? 0 : cut % (data.length + 1);
        const sum = onesComplementSum(buf, lead, len, initial);
        expect(sum).toBe(refSum(data, 0, len, initial));
        expect(internetChecksum(buf, lead, len, initial)).toBe(~sum & 0xffff);
      }),
      { numRuns: 2000 },
    );
  });

  it('a stored checksum verifies to 0 (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 1500 }), (data) => {
        data[0] = 0;
        data[1] = 0;
        put16(data, 0, internetChecksum(data, 0, data.length));
        expect(internetChecksum(data, 0, data.length)).toBe(0);
      }),
      { numRuns: 1000 },
    );
  });

  it('64 KiB of 0xff (the largest sums a GSO frame can produce)', () => {
    for (const len of [65535, 65536, 65536 + 511]) {
      const big = new Uint8Array(len).fill(0xff);
      expect(onesComplementSum(big, 0, len), `${len}`).toBe(refSum(big));
      expect(onesComplementSum(big, 0, len, 0xffffffff), `${len} + initial`).toBe(refSum(big, 0, len, 0xffffffff));
    }
  });
});
