/*
 * Frame builders for tests: Ethernet, 802.1Q, IPv4/UDP with real checksums.
 * Tests that need captured bytes use test/fixtures/frames; these are for
 * datapath behaviour where only addresses matter.
 */

function mac(s: string): Uint8Array {
  return Uint8Array.from(s.split(':').map((h) => parseInt(h, 16)));
}

export function macNum(s: string): number {
  return s.split(':').reduce((a, h) => a * 256 + parseInt(h, 16), 0);
}

export function ethFrame(dst: string, src: string, ethType: number, payload: Uint8Array, vlan?: number): Uint8Array {
  const tag = vlan === undefined ? 0 : 4;
  const f = new Uint8Array(14 + tag + payload.length);
  f.set(mac(dst), 0);
  f.set(mac(src), 6);
  let o = 12;
  if (vlan !== undefined) {
    f[o++] = 0x81;
    f[o++] = 0x00;
    f[o++] = (vlan >> 8) & 0x0f;
    f[o++] = vlan & 0xff;
  }
  f[o++] = ethType >> 8;
  f[o++] = ethType & 0xff;
  f.set(payload, o);
  return f;
}

function sum16(b: Uint8Array, off: number, len: number, init = 0): number {
  let s = init;
  for (let i = 0; i + 1 < len; i += 2) s += (b[off + i] << 8) | b[off + i + 1];
  if (len & 1) s += b[off + len - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function ip4(s: string): number[] {
  return s.split('.').map(Number);
}

/** IPv4/UDP payload (starting at the IP header) with correct header and UDP checksums. */
export function ipv4Udp(src: string, dst: string, sport: number, dport: number, data: Uint8Array): Uint8Array {
  const ulen = 8 + data.length;
  const p = new Uint8Array(20 + ulen);
  p.set([0x45, 0, (20 + ulen) >> 8, (20 + ulen) & 0xff, 0x12, 0x34, 0x40, 0, 64, 17, 0, 0, ...ip4(src), ...ip4(dst)]);
  const ipc = ~sum16(p, 0, 20) & 0xffff;
  p[10] = ipc >> 8;
  p[11] = ipc & 0xff;
  p.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, ulen >> 8, ulen & 0xff, 0, 0], 20);
  p.set(data, 28);
  const c = ~sum16(p, 20, ulen, udpPseudo(p)) & 0xffff;
  p[26] = (c || 0xffff) >> 8;
  p[27] = (c || 0xffff) & 0xff;
  return p;
}

/** The folded pseudo-header sum of an IPv4/UDP packet (what the kernel seeds for CHECKSUM_PARTIAL). */
export function udpPseudo(p: Uint8Array): number {
  const ulen = (p[24] << 8) | p[25];
  let s = sum16(p, 12, 8) + 17 + ulen;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

export function udpFrame(dst: string, src: string, opts: { vlan?: number; size?: number; sport?: number } = {}): Uint8Array {
  const size = opts.size ?? 64;
  const dataLen = Math.max(0, size - 14 - (opts.vlan === undefined ? 0 : 4) - 28);
  const data = new Uint8Array(dataLen).map((_, i) => i & 0xff);
  return ethFrame(dst, src, 0x0800, ipv4Udp('10.0.0.1', '10.0.0.2', opts.sport ?? 4000, 5000, data), opts.vlan);
}

export const BCAST = 'ff:ff:ff:ff:ff:ff';
