/*
 * NativePort: what TapPort and PacketPort share. It owns the native Io of one
 * fd and the burst arrays it exchanges with it, and moves bursts between the
 * fd and the PacketPool with one native call each way.
 *
 * Invariants
 * - The burst arrays (rxOff/rxLen/rxTci/txOff/txLen/status) are allocated
 *   once, sized to `burst`, and shared with the native Io: receive/transmit
 *   allocate nothing and never throw.
 * - After receive, each slot's frame starts at pool.dataOff[slot] and
 *   pool.len[slot] counts frame bytes only; the VNET_HDR_LEN bytes before it
 *   hold the kernel's vnet header, or zeros when the port has none (so the
 *   datapath always sees valid offload state).
 * - Only the pool the port was opened with is accepted (-EINVAL otherwise):
 *   the Io holds raw offsets into that pool's memory.
 * - burst is at most MAX_BURST (native-layout.ts), the addon's limit.
 * - A port may be detached (no fd: its interface does not exist): then rx
 *   finds nothing and tx fails with ENODEV (counted by the datapath as tx
 *   errors); attach() gives it an fd again with the same burst arrays, and
 *   polling resumes if it was started. Whatever the fd, start/stop/close
 *   keep their meaning. An fd given up while running (detach,
 *   closeOffThread) is closed on a worker thread, never on the event loop.
 */

import { close as fsClose } from 'node:fs';
import type { PacketPool } from '../packet/pool.js';
import { VNET_HDR_LEN } from '../packet/vnet.js';
import type { NativeBinding, NativeIo } from './native.js';
import {
  ERRNO_EINVAL,
  ERRNO_ENODEV,
  MAX_BURST,
  STATUS_LAST_ERRNO,
  STATUS_LEN,
  STATUS_RX_TRUNCATED,
  STATUS_TX_REJECTED,
  STATUS_TX_STOPPED,
} from './native-layout.js';

/** Ethernet header plus one VLAN tag: what a frame may add to the MTU. */
export const L2_OVERHEAD = 18;

export function checkBurst(burst: number): void {
  if (!Number.isInteger(burst) || burst < 1 || burst > MAX_BURST) {
    throw new RangeError(`burst must be an integer in 1..${MAX_BURST}, got ${burst}`);
  }
}

/** The Io of a detached port: nothing to receive, every send fails with ENODEV. */
class DetachedIo implements NativeIo {
  constructor(private readonly status: Int32Array) {}
  rx(): number {
    return 0;
  }
  tx(): number {
    this.status[STATUS_LAST_ERRNO] = ERRNO_ENODEV;
    this.status[STATUS_TX_STOPPED] = 1;
    return -ERRNO_ENODEV;
  }
  startPoll(): void {}
  stopPoll(): void {}
  close(): void {}
  releaseFd(): number {
    return -1;
  }
  useUring(): number {
    return ERRNO_ENODEV;
  }
}

/**
 * Close `fd` on a libuv worker thread: closing a TAP the switch created
 * unregisters the device, and closing a packet socket waits for an RCU
 * grace period, each milliseconds the forwarding loop must not wait for.
 */
function closeOffThread(fd: number): Promise<void> {
  if (fd < 0) return Promise.resolve();
  return new Promise((resolve) => fsClose(fd, () => resolve()));
}

export abstract class NativePort {
  readonly ofPort: number;
  readonly vnetHdr: boolean;
  readonly burst: number;
  /** Largest non-GSO frame accepted on tx: last known MTU + Ethernet header + one VLAN tag. */
  maxFrame: number;

  protected readonly native: NativeBinding;
  protected readonly pool: PacketPool;
  /** The fd of the device, or -1 while detached. */
  protected fd = -1;
  protected io: NativeIo;
  private readonly ioKind: number;
  private readonly detachedIo: NativeIo;
  /** The wakeup callback while started (kept across attach/detach). */
  private onReadable: (() => void) | null = null;
  /** vnet header bytes before each frame on the fd: VNET_HDR_LEN or 0. */
  protected readonly hdr: number;
  protected readonly rxTci: Uint32Array;
  private readonly rxOff: Uint32Array;
  private readonly rxLen: Uint32Array;
  private readonly txOff: Uint32Array;
  private readonly txLen: Uint32Array;
  private readonly status: Int32Array;
  protected closed = false;
  protected lastMtu = 1500;
  protected lastMac = 0;

  /** `fd` null: the port starts detached. */
  protected constructor(native: NativeBinding, kind: number, fd: number | null, opts: { ofPort: number; pool: PacketPool; burst: number }, vnetHdr: boolean) {
    this.native = native;
    this.ioKind = kind;
    this.ofPort = opts.ofPort;
    this.pool = opts.pool;
    this.burst = opts.burst;
    this.vnetHdr = vnetHdr;
    this.hdr = vnetHdr ? VNET_HDR_LEN : 0;
    this.rxOff = new Uint32Array(opts.burst);
    this.rxLen = new Uint32Array(opts.burst);
    this.rxTci = new Uint32Array(opts.burst);
    this.txOff = new Uint32Array(opts.burst);
    this.txLen = new Uint32Array(opts.burst);
    this.status = new Int32Array(STATUS_LEN);
    this.maxFrame = this.lastMtu + L2_OVERHEAD;
    this.detachedIo = new DetachedIo(this.status);
    this.io = this.detachedIo;
    if (fd !== null) this.attach(fd);
  }

  /** The port has an fd (its device exists and is bound). */
  get attached(): boolean {
    return this.io !== this.detachedIo;
  }

  /** Move bursts through `fd` from now on (closing the one before, if any); polling resumes if started. */
  protected attach(fd: number): void {
    void this.detach();
    this.io = this.createIo(fd);
    this.fd = fd;
    if (this.onReadable !== null) this.io.startPoll(this.onReadable);
  }

  /** The Io that moves bursts through `fd` (subclasses may choose another, e.g. kernel rings). */
  protected createIo(fd: number): NativeIo {
    const pool = this.pool;
    return this.native.createIo(fd, this.ioKind, pool.buffer, this.rxOff, this.rxCap, this.rxLen, this.rxTci, this.txOff, this.txLen, this.status);
  }

  /** The burst arrays and slot capacity an Io shares with this port, for createIo overrides. */
  protected get ioArrays(): { rxOff: Uint32Array; rxLen: Uint32Array; rxTci: Uint32Array; txOff: Uint32Array; txLen: Uint32Array; status: Int32Array } {
    return { rxOff: this.rxOff, rxLen: this.rxLen, rxTci: this.rxTci, txOff: this.txOff, txLen: this.txLen, status: this.status };
  }

  /** Bytes an Io may write per received frame: a pool slot's frame capacity plus the vnet header. */
  protected get rxCap(): number {
    return this.pool.frameCapacity + this.hdr;
  }

  /**
   * Give up the fd (if any): nothing is received, sends fail with ENODEV
   * until attach(). The fd is closed on a worker thread; the promise
   * settles when it is.
   */
  protected detach(): Promise<void> {
    if (!this.attached) return Promise.resolve();
    const fd = this.io.releaseFd();
    this.io = this.detachedIo;
    this.fd = -1;
    return closeOffThread(fd);
  }

  get lastErrno(): number {
    return this.status[STATUS_LAST_ERRNO];
  }

  /** Frames dropped on receive because they did not fit in a slot (cumulative). */
  get rxTruncated(): number {
    return this.status[STATUS_RX_TRUNCATED];
  }

  /** Frames the kernel refused one by one on transmit (cumulative). */
  get txRejected(): number {
    return this.status[STATUS_TX_REJECTED];
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Receive up to n frames into slots[from..] (see Port.rxBurst); rxTci[i] is left for the subclass. */
  protected receive(pool: PacketPool, slots: Int32Array, n: number, from = 0): number {
    if (pool !== this.pool) return -ERRNO_EINVAL;
    if (n > this.burst) n = this.burst;
    if (n <= 0) return 0;
    const dataOff = pool.dataOff;
    const rxOff = this.rxOff;
    const hdr = this.hdr;
    for (let i = 0; i < n; i++) rxOff[i] = dataOff[slots[from + i]] - hdr;
    const got = this.io.rx(n);
    if (got <= 0) return got;
    const len = pool.len;
    const rxLen = this.rxLen;
    for (let i = 0; i < got; i++) {
      const l = rxLen[i];
      len[slots[from + i]] = l > hdr ? l - hdr : 0;
    }
    if (hdr === 0) {
      const bytes = pool.bytes;
      for (let i = 0; i < got; i++) {
        const off = dataOff[slots[from + i]];
        bytes.fill(0, off - VNET_HDR_LEN, off);
      }
    }
    return got;
  }

  txBurst(pool: PacketPool, slots: Int32Array, n: number): number {
    if (pool !== this.pool) return -ERRNO_EINVAL;
    const burst = this.burst;
    const hdr = this.hdr;
    const dataOff = pool.dataOff;
    const len = pool.len;
    const txOff = this.txOff;
    const txLen = this.txLen;
    const status = this.status;
    let sent = 0;
    for (let base = 0; base < n; base += burst) {
      const m = n - base < burst ? n - base : burst;
      for (let j = 0; j < m; j++) {
        const slot = slots[base + j];
        txOff[j] = dataOff[slot] - hdr;
        txLen[j] = len[slot] + hdr;
      }
      const r = this.io.tx(m);
      if (r < 0) return sent > 0 ? sent : r;
      sent += r;
      if (status[STATUS_TX_STOPPED] !== 0) break;
    }
    return sent;
  }

  start(onReadable: () => void): void {
    this.onReadable = onReadable;
    this.io.startPoll(onReadable);
  }

  stop(): void {
    this.onReadable = null;
    this.io.stopPoll();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onReadable = null;
    this.io.close();
    this.io = this.detachedIo;
    this.fd = -1;
  }

  /** close(), with the kernel's teardown on a worker thread; resolves when the fd is closed. */
  closeOffThread(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.onReadable = null;
    return this.detach();
  }
}
