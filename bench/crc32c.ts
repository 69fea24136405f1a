/*
 * SCTP checksum benchmark: CRC32c over one SCTP packet inside a frame, the
 * way the datapath needs it after a set-field (checksum field read as zero,
 * result stored). Compares the byte-at-a-time table the datapath used to
 * carry (reproduced here as the baseline) with the function it uses now
 * (src/packet/checksum.ts, @node-rs/crc32's SSE4.2/SIMD crc32c, called on a
 * view of the frame), for SCTP packets of 64..1500 bytes. Reports ns per
 * packet (median of runs).
 */

import { sctpCrc32c } from '../src/packet/checksum.js';
import { median } from './inprocess.js';

export interface Crc32cBenchRow {
  bytes: number;
  tableNs: number;
  nativeNs: number;
}

const TABLE = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  TABLE[i] = c >>> 0;
}

/** The previous hand implementation: one table lookup per byte, the checksum field read as 0. */
function tableCrc32c(b: Uint8Array, from: number, to: number): number {
  let c = 0xffffffff;
  const z0 = from + 8, z1 = from + 12;
  for (let i = from; i < to; i++) {
    const byte = i >= z0 && i < z1 ? 0 : b[i];
    c = TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

function nsPer(fn: () => number, iters: number): number {
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) sink ^= fn();
  const ns = Number(process.hrtime.bigint() - t0) / iters;
  if (sink === 0x12345678) console.log(''); // keep the result alive
  return ns;
}

export function runCrc32cBench(opts: { runs?: number; bytesPerRun?: number } = {}): Crc32cBenchRow[] {
  const runs = opts.runs ?? 5;
  const budget = opts.bytesPerRun ?? 200_000_000;
  const frame = new Uint8Array(2048);
  for (let i = 0; i < frame.length; i++) frame[i] = (i * 131 + 7) & 0xff;
  const at = 34; // an SCTP header after Ethernet and IPv4
  const rows: Crc32cBenchRow[] = [];
  for (const bytes of [64, 128, 256, 512, 1024, 1500]) {
    const iters = Math.max(10_000, Math.floor(budget / bytes));
    const end = at + bytes;
    if (tableCrc32c(frame, at, end) !== sctpCrc32c(frame, at, end)) throw new Error('crc32c bench: the two implementations disagree');
    const table: number[] = [];
    const native: number[] = [];
    for (let r = 0; r < runs; r++) {
      table.push(nsPer(() => tableCrc32c(frame, at, end), iters));
      native.push(nsPer(() => sctpCrc32c(frame, at, end), iters));
    }
    rows.push({ bytes, tableNs: median(table), nativeNs: median(native) });
  }
  return rows;
}

export function formatCrc32cBench(rows: Crc32cBenchRow[]): string[] {
  return rows.map((r) => `SCTP packet of ${r.bytes} B | byte table ${r.tableNs.toFixed(0)} ns | @node-rs/crc32 ${r.nativeNs.toFixed(0)} ns | ${(r.tableNs / r.nativeNs).toFixed(1)}x`);
}
