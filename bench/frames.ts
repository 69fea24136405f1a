/*
 * Frame templates for the benchmarks: Ethernet + IPv4 + UDP with correct
 * checksums, as bytes (in-process) or as a trafgen packet config (end-to-end).
 */

import { onesComplementSum as sum16 } from '../src/packet/checksum.js';

function putMac(f: Uint8Array, off: number, mac: number): void {
  for (let i = 5; i >= 0; i--) {
    f[off + i] = mac % 256;
    mac = Math.floor(mac / 256);
  }
}

/** A `size`-byte (without FCS) Ethernet/IPv4/UDP frame from srcMac to dstMac. */
export function udpTemplate(dstMac: number, srcMac: number, size: number, srcIp = 0x0a4d0001, dstIp = 0x0a4d0002, sport = 9, dport = 9): Uint8Array {
  const f = new Uint8Array(Math.max(size, 60));
  putMac(f, 0, dstMac);
  putMac(f, 6, srcMac);
  f[12] = 0x08;
  const ipLen = f.length - 14;
  const udpLen = ipLen - 20;
  f.set([0x45, 0, ipLen >> 8, ipLen & 0xff, 0, 1, 0x40, 0, 64, 17, 0, 0], 14);
  new DataView(f.buffer).setUint32(26, srcIp);
  new DataView(f.buffer).setUint32(30, dstIp);
  const ipc = ~sum16(f, 14, 20) & 0xffff;
  f[24] = ipc >> 8;
  f[25] = ipc & 0xff;
  f.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, udpLen >> 8, udpLen & 0xff, 0, 0], 34);
  const ps = sum16(f, 26, 8) + 17 + udpLen;
  const c = ~sum16(f, 34, udpLen, ps) & 0xffff;
  f[40] = (c || 0xffff) >> 8;
  f[41] = (c || 0xffff) & 0xff;
  return f;
}

/** The same frame as a trafgen packet configuration. */
export function trafgenConfig(frame: Uint8Array): string {
  return `{\n  ${Array.from(frame, (b) => '0x' + b.toString(16).padStart(2, '0')).join(', ')}\n}\n`;
}
