/*
 * MemoryPort: an in-process port (OVS netdev-dummy) for tests and the
 * in-process benchmark; port kind `memory` (src/ports/kinds/memory.ts), not
 * offered on the command line. Frames are injected from JS and what the
 * datapath sends is captured (tests) or only counted (benchmarks).
 *
 * Two receive sources, used one at a time:
 * - a queue of injected frames (slow path: tests);
 * - a generator cycling over template frames, `offer(n)` making n more
 *   available, which copies bytes into slots and allocates nothing (bench).
 */

import type { PacketPool } from '../packet/pool.js';
import { VNET_HDR_LEN } from '../packet/vnet.js';
import { ERRNO_EAGAIN } from './native-layout.js';
import type { LinkInfo, Port } from './port.js';

export interface MemoryPortOptions {
  name: string;
  ofPort: number;
  /** Frames carry offload state (default true, like TAP and AF_PACKET ports). */
  vnetHdr?: boolean;
  /** Largest frame accepted on tx (default 1518). */
  maxFrame?: number;
  /** Keep a copy of every frame sent (default true; the benchmark turns it off). */
  capture?: boolean;
  /** Accept at most this many frames per txBurst, dropping the rest with EAGAIN (default unlimited). */
  txLimit?: number;
}

export interface CapturedFrame {
  frame: Uint8Array;
  vnet: Uint8Array;
}

const ZERO_VNET = new Uint8Array(VNET_HDR_LEN);

export class MemoryPort implements Port {
  readonly kind = 'memory' as const;
  readonly name: string;
  readonly ofPort: number;
  readonly vnetHdr: boolean;
  readonly maxFrame: number;
  readonly capture: boolean;
  txLimit: number;
  lastErrno = 0;
  /** Frames captured on tx (capture mode). */
  readonly sent: CapturedFrame[] = [];
  txFrames = 0;
  txBytes = 0;
  linkUp = true;
  /** Frames "the kernel dropped" for this port, as a test sets them; readKernelDrops() reports and clears them (like PACKET_STATISTICS). */
  kernelDrops = 0;
  private readonly queue: CapturedFrame[] = [];
  private templates: Uint8Array[] = [];
  private nextTemplate = 0;
  private pending = 0;
  private onReadable: (() => void) | null = null;
  private closed = false;

  constructor(opts: MemoryPortOptions) {
    this.name = opts.name;
    this.ofPort = opts.ofPort;
    this.vnetHdr = opts.vnetHdr ?? true;
    this.maxFrame = opts.maxFrame ?? 1518;
    this.capture = opts.capture ?? true;
    this.txLimit = opts.txLimit ?? Infinity;
  }

  /** Queue one frame for reception (copied). */
  inject(frame: Uint8Array, vnet: Uint8Array = ZERO_VNET): void {
    this.queue.push({ frame: frame.slice(), vnet: vnet.slice() });
  }

  /** Switch to generator mode: rxBurst cycles over these frames. */
  setGenerator(templates: Uint8Array[]): void {
    // Each template is stored behind a zeroed vnet header: one copy per frame.
    this.templates = templates.map((t) => {
      const withHdr = new Uint8Array(VNET_HDR_LEN + t.length);
      withHdr.set(t, VNET_HDR_LEN);
      return withHdr;
    });
    this.nextTemplate = 0;
    this.pending = 0;
  }

  /** Make `n` more generated frames available. */
  offer(n: number): void {
    this.pending += n;
  }

  get rxPending(): number {
    return this.queue.length + this.pending;
  }

  readKernelDrops(): number {
    const n = this.kernelDrops;
    this.kernelDrops = 0;
    return n;
  }

  /** Call the datapath's readable callback, as a poll wakeup would. */
  wake(): void {
    if (this.onReadable !== null) this.onReadable();
  }

  rxBurst(pool: PacketPool, slots: Int32Array, n: number): number {
    let got = 0;
    const bytes = pool.bytes;
    while (got < n && this.queue.length > 0) {
      const f = this.queue.shift()!;
      const slot = slots[got++];
      const off = pool.dataOff[slot];
      bytes.set(this.vnetHdr ? f.vnet : ZERO_VNET, off - VNET_HDR_LEN);
      bytes.set(f.frame, off);
      pool.len[slot] = f.frame.length;
    }
    const templates = this.templates;
    while (got < n && this.pending > 0) {
      const t = templates[this.nextTemplate];
      this.nextTemplate = this.nextTemplate + 1 === templates.length ? 0 : this.nextTemplate + 1;
      this.pending--;
      const slot = slots[got++];
      bytes.set(t, pool.dataOff[slot] - VNET_HDR_LEN);
      pool.len[slot] = t.length - VNET_HDR_LEN;
    }
    return got;
  }

  txBurst(pool: PacketPool, slots: Int32Array, n: number): number {
    const take = n < this.txLimit ? n : this.txLimit;
    this.lastErrno = take < n ? ERRNO_EAGAIN : 0;
    for (let i = 0; i < take; i++) {
      const slot = slots[i];
      const len = pool.len[slot];
      this.txBytes += len;
      if (this.capture) {
        const off = pool.dataOff[slot];
        this.sent.push({ frame: pool.bytes.slice(off, off + len), vnet: pool.bytes.slice(off - VNET_HDR_LEN, off) });
      }
    }
    this.txFrames += take;
    return take;
  }

  start(onReadable: () => void): void {
    this.onReadable = onReadable;
  }

  stop(): void {
    this.onReadable = null;
  }

  close(): void {
    this.closed = true;
    this.onReadable = null;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** In-process: no kernel notification speaks of it; the datapath polls link(). */
  watchName(): string | null {
    return null;
  }

  link(): LinkInfo {
    return { adminUp: this.linkUp, carrier: this.linkUp, mtu: this.maxFrame - 18, mac: 0, ifindex: 0 };
  }
}
