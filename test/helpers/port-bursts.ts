/*
 * One-frame bursts through a PacketPort for the integration tests of its I/O
 * modes (packet-rings, packet-xdp): send a broadcast frame, drain what was
 * received, receive a VLAN-tagged frame sent from inside a namespace, and
 * check that a burst refused while the link is down is neither counted nor
 * sent later. Each asserts as it goes (vitest's expect).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { PacketPool } from '../../src/packet/pool.js';
import { VNET_HDR_LEN } from '../../src/packet/vnet.js';
import type { PacketPort } from '../../src/ports/packet-port.js';
import { startFlood } from './flood.js';
import { linkStats, sh } from './netns.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Send one 60-byte broadcast frame (EtherType 0x88b5) through `port`; what txBurst returned. */
export function sendBroadcast(port: PacketPort, pool: PacketPool): number {
  const slots = new Int32Array(1);
  expect(pool.allocBurst(slots, 1)).toBe(1);
  const off = pool.dataOff[slots[0]];
  pool.bytes.fill(0, off - VNET_HDR_LEN, off + 60);
  pool.bytes.fill(0xff, off, off + 6);
  pool.bytes.set([0x02, 0, 0, 0, 0, 0x77, 0x88, 0xb5], off + 6);
  pool.len[slots[0]] = 60;
  const r = port.txBurst(pool, slots, 1);
  pool.releaseBurst(slots, 0, 1);
  return r;
}

/** The frames `port` has received so far (up to 8); `check(off)` runs on each frame's data offset in the pool. */
export function drainFrames(port: PacketPort, pool: PacketPool, check?: (off: number) => void): Uint8Array[] {
  const slots = new Int32Array(8);
  expect(pool.allocBurst(slots, 8)).toBe(8);
  const got = port.rxBurst(pool, slots, 8);
  const frames: Uint8Array[] = [];
  for (let i = 0; i < got; i++) {
    const off = pool.dataOff[slots[i]];
    check?.(off);
    frames.push(pool.bytes.slice(off, off + pool.len[slots[i]]));
  }
  pool.releaseBurst(slots, 0, 8);
  return frames;
}

/**
 * Send a 64-byte broadcast frame tagged VLAN 10 (TPID 0x8100, EtherType 0x88b5 inside) from `inner` in `ns`
 * and expect `drain` to return it with its tag in place, whole.
 */
export async function expectTaggedFrameReceived(ns: string, inner: string, drain: () => Uint8Array[]): Promise<void> {
  drain();
  const frame = new Uint8Array(64);
  frame.fill(0xff, 0, 6);
  frame.set([0x02, 0, 0, 0, 0, 0x42, 0x81, 0x00, 0x00, 0x0a, 0x88, 0xb5], 6);
  const dir = mkdtempSync(join(tmpdir(), 'linc-port-vlan-'));
  try {
    expect(await startFlood(ns, inner, frame, { dir, count: 1 }).done).toBe(1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  let tagged: Uint8Array | undefined;
  for (let i = 0; i < 40 && tagged === undefined; i++) {
    await sleep(50);
    tagged = drain().find((f) => f[12] === 0x81 && f[13] === 0x00);
  }
  expect(tagged).toBeDefined();
  expect(((tagged![14] << 8) | tagged![15]) & 0xfff).toBe(10);
  expect((tagged![16] << 8) | tagged![17]).toBe(0x88b5);
  expect(tagged!.length).toBe(64);
}

/** `send()` sends exactly one frame and it arrives at `inner` in `ns` (polled up to 2 s). */
export async function expectOneFrameArrives(ns: string, inner: string, send: () => number): Promise<void> {
  const rx0 = linkStats(ns, inner).rxPackets;
  expect(send()).toBe(1);
  for (let i = 0; i < 40 && linkStats(ns, inner).rxPackets === rx0; i++) await sleep(50);
  expect(linkStats(ns, inner).rxPackets).toBe(rx0 + 1);
}

/**
 * With `out` (the port's end of a veth whose other end is `inner` in `ns`) down, a send is refused (as sendmmsg
 * would: nothing sent, the error returned); once the carrier is back, exactly the next frame arrives: the refused
 * one was taken back, not sent late.
 */
export async function expectRefusedWhileDownNotSent(ns: string, out: string, inner: string, send: () => number): Promise<void> {
  sh(`ip link set ${out} down`);
  expect(send()).toBeLessThan(0);
  sh(`ip link set ${out} up`);
  const carrier = () => sh(`cat /sys/class/net/${out}/carrier`).trim() === '1';
  for (let i = 0; i < 40 && !carrier(); i++) await sleep(50);
  const rx1 = linkStats(ns, inner).rxPackets;
  expect(send()).toBe(1);
  await sleep(300);
  expect(linkStats(ns, inner).rxPackets).toBe(rx1 + 1);
}
