/*
 * TapPort: a port backed by a Linux TAP device (/dev/net/tun, IFF_TAP).
 *
 * What: opens (creates, or attaches to a persistent) TAP through the native
 * addon, and moves bursts of frames between it and the PacketPool with one
 * native call per burst. With vnetHdr (the default) every frame carries its
 * virtio_net_hdr, and with offloads the kernel hands over partial-checksum
 * frames and GSO super-frames (up to 64 KiB) and takes the same back.
 *
 * Invariants
 * - The burst arrays (rxOff/rxLen/rxTci/txOff/txLen/status) are allocated
 *   once, sized to `burst`, and shared with the native Io: rxBurst/txBurst
 *   allocate nothing and never throw.
 * - After rxBurst, each slot's frame starts at pool.dataOff[slot]; the
 *   VNET_HDR_LEN bytes before it hold the kernel's vnet header, or zeros when
 *   the port has none (so the datapath always sees valid offload state).
 * - A TAP moved into another network namespace (`ip link set tap0 netns ns1`,
 *   the usual way to attach a namespace) keeps forwarding: the fd still
 *   works, and link() reports it up while the fd is open, because then the
 *   TAP's carrier is ours.
 * - close() closes the fd: a TAP this port created disappears with it; a
 *   pre-existing persistent TAP stays.
 */

import type { PacketPool } from '../datapath/pool.js';
import { VNET_HDR_LEN } from '../datapath/vnet.js';
import {
  ERRNO_EINVAL,
  IO_KIND_TAP,
  loadNative,
  STATUS_LAST_ERRNO,
  STATUS_LEN,
  STATUS_RX_TRUNCATED,
  STATUS_TX_REJECTED,
  STATUS_TX_STOPPED,
  type NativeBinding,
  type NativeIo,
  type NativeTapInfo,
} from './native.js';
import { checkIfName, describeOpenError } from './open-errors.js';
import type { LinkInfo, Port } from './port.js';

/** Ethernet header plus one VLAN tag: what a frame may add to the MTU. */
const L2_OVERHEAD = 18;
export const MAX_BURST = 1024;

export interface TapPortOptions {
  /** TAP name (at most 15 bytes); created if missing. */
  name: string;
  ofPort: number;
  pool: PacketPool;
  /** Most frames per rxBurst/txBurst native call. */
  burst: number;
  /** Frames carry a virtio_net_hdr (default true). */
  vnetHdr?: boolean;
  /** Ask the kernel for checksum/TSO offloads (default true; needs vnetHdr). */
  offloads?: boolean;
}

export function checkBurst(burst: number): void {
  if (!Number.isInteger(burst) || burst < 1 || burst > MAX_BURST) {
    throw new RangeError(`burst must be an integer in 1..${MAX_BURST}, got ${burst}`);
  }
}

export class TapPort implements Port {
  readonly kind = 'tap' as const;
  /** The TAP's name as the kernel reports it when opened. */
  readonly name: string;
  readonly ofPort: number;
  readonly vnetHdr: boolean;
  readonly offloads: boolean;
  /** True when this port created the TAP (it goes away on close). */
  readonly created: boolean;
  readonly burst: number;
  /** Largest non-GSO frame accepted on tx: last known MTU + Ethernet header + one VLAN tag. */
  maxFrame: number;

  private readonly native: NativeBinding;
  private readonly pool: PacketPool;
  private readonly fd: number;
  private readonly io: NativeIo;
  private readonly hdr: number;
  private readonly rxOff: Uint32Array;
  private readonly rxLen: Uint32Array;
  private readonly rxTci: Uint32Array;
  private readonly txOff: Uint32Array;
  private readonly txLen: Uint32Array;
  private readonly status: Int32Array;
  private closed = false;
  private lastMtu = 1500;
  private lastMac = 0;
  private lastIfindex = 0;

  /** Open (or create) the TAP; throws a PortOpenError with a sentence naming it. */
  static open(opts: TapPortOptions): TapPort {
    checkBurst(opts.burst);
    const bad = checkIfName('tap', opts.name);
    if (bad !== null) throw bad;
    const vnetHdr = opts.vnetHdr ?? true;
    const offloads = vnetHdr && (opts.offloads ?? true);
    const native = loadNative();
    let opened: { fd: number; name: string; created: boolean };
    try {
      opened = native.openTap(opts.name, { vnetHdr, offloads });
    } catch (e) {
      throw describeOpenError('tap', opts.name, e);
    }
    try {
      return new TapPort(native, opts, opened, vnetHdr, offloads);
    } catch (e) {
      native.closeFd(opened.fd);
      throw e;
    }
  }

  private constructor(
    native: NativeBinding,
    opts: TapPortOptions,
    opened: { fd: number; name: string; created: boolean },
    vnetHdr: boolean,
    offloads: boolean,
  ) {
    this.native = native;
    this.name = opened.name;
    this.ofPort = opts.ofPort;
    this.pool = opts.pool;
    this.burst = opts.burst;
    this.vnetHdr = vnetHdr;
    this.offloads = offloads;
    this.created = opened.created;
    this.fd = opened.fd;
    this.hdr = vnetHdr ? VNET_HDR_LEN : 0;
    this.rxOff = new Uint32Array(opts.burst);
    this.rxLen = new Uint32Array(opts.burst);
    this.rxTci = new Uint32Array(opts.burst);
    this.txOff = new Uint32Array(opts.burst);
    this.txLen = new Uint32Array(opts.burst);
    this.status = new Int32Array(STATUS_LEN);
    this.maxFrame = this.lastMtu + L2_OVERHEAD;
    this.io = native.createIo(
      opened.fd,
      IO_KIND_TAP,
      opts.pool.buffer,
      this.rxOff,
      opts.pool.frameCapacity + this.hdr,
      this.rxLen,
      this.rxTci,
      this.txOff,
      this.txLen,
      this.status,
    );
    this.link();
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

  rxBurst(pool: PacketPool, slots: Int32Array, n: number): number {
    if (pool !== this.pool) return -ERRNO_EINVAL;
    if (n > this.burst) n = this.burst;
    if (n <= 0) return 0;
    const dataOff = pool.dataOff;
    const rxOff = this.rxOff;
    const hdr = this.hdr;
    for (let i = 0; i < n; i++) rxOff[i] = dataOff[slots[i]] - hdr;
    const got = this.io.rx(n);
    if (got <= 0) return got;
    const len = pool.len;
    const rxLen = this.rxLen;
    if (hdr !== 0) {
      for (let i = 0; i < got; i++) {
        const l = rxLen[i];
        len[slots[i]] = l > hdr ? l - hdr : 0;
      }
    } else {
      const bytes = pool.bytes;
      for (let i = 0; i < got; i++) {
        const slot = slots[i];
        len[slot] = rxLen[i];
        const off = dataOff[slot];
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
    this.io.startPoll(onReadable);
  }

  stop(): void {
    this.io.stopPoll();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.io.close();
  }

  link(): LinkInfo {
    if (this.closed) return this.remembered(false);
    let tap: NativeTapInfo | null | undefined;
    try {
      tap = this.native.tapInfo(this.fd);
    } catch {
      tap = undefined; // the kernel cannot tell: fall back to the name
    }
    if (tap === null) return this.remembered(false); // the device is gone
    // Moved into another namespace: still ours, still forwarding.
    if (tap !== undefined && tap.sameNetns === false) return this.remembered(true);
    const info = this.native.linkInfo(tap?.name ?? this.name);
    if (info === null) return this.remembered(true);
    this.lastMtu = info.mtu;
    this.lastMac = info.mac;
    this.lastIfindex = info.ifindex;
    this.maxFrame = info.mtu + L2_OVERHEAD;
    return info;
  }

  private remembered(up: boolean): LinkInfo {
    return { adminUp: up, carrier: up, mtu: this.lastMtu, mac: this.lastMac, ifindex: this.lastIfindex };
  }
}
