/*
 * TapPort: a port backed by a Linux TAP device (/dev/net/tun, IFF_TAP);
 * port kind `tap` (its registry row: src/ports/kinds/tap.ts).
 *
 * What: opens (creates, or attaches to a persistent) TAP through the native
 * addon, and moves bursts of frames between it and the PacketPool with one
 * native call per burst. With vnetHdr (the default) every frame carries its
 * virtio_net_hdr, and with offloads the kernel hands over partial-checksum
 * frames and GSO super-frames (up to 64 KiB) and takes the same back.
 *
 * Invariants (and those of NativePort: burst arrays, no allocation)
 * - A TAP moved into another network namespace (`ip link set tap0 netns ns1`,
 *   the usual way to attach a namespace) keeps forwarding: the fd still
 *   works. Its link state is read in that namespace (the fd names it,
 *   TUNGETDEVNETNS; the addon reads the flags there), so a TAP set down
 *   there reads down (presence 'elsewhere'). When the kernel does not let us
 *   read it (no CAP_SYS_ADMIN, or a kernel without TUNGETDEVNETNS), link()
 *   reports it up while the fd is open, because then the TAP's carrier is
 *   ours (presence 'unseen'). Notifications of our namespace do not speak
 *   of it there, so watchName() is null: the datapath re-reads it on
 *   notifications from other namespaces (when the kernel sends them) and
 *   polls it every tick.
 * - A TAP deleted under the port (`ip link del`) reads down (presence
 *   'gone') until the port is removed; the switch does not re-create it.
 * - close() closes the fd: a TAP this port created disappears with it; a
 *   pre-existing persistent TAP stays.
 * - Bursts go through an io_uring or a read/write loop (`io`, chosen once at
 *   open by decideTapIo, src/ports/tap-io.ts); both keep the same counts,
 *   status and slot ownership (when rxBurst/txBurst return, the kernel
 *   holds no request on the pool).
 * - Kernel drops are the TAP's tx_dropped (src/ports/kernel-drops.ts) since
 *   the port opened it, wherever the TAP lives.
 */

import type { PacketPool } from '../packet/pool.js';
import { IFF_RUNNING, IFF_UP } from './link-events.js';
import { loadNative, type NativeBinding, type NativeTapInfo } from './native.js';
import { CumulativeDrops, netDevTxDropped } from './kernel-drops.js';
import { IO_KIND_TAP } from './native-layout.js';
import { checkBurst, L2_OVERHEAD, NativePort } from './native-port.js';
import { checkIfName, describeOpenError, PortOpenError, type DeviceWords } from './open-errors.js';
import type { LinkInfo, Port } from './port.js';
import { decideTapIo, errnoName, type TapIoInUse, type TapIoMode } from './tap-io.js';

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
  /** io_uring or read/write (default auto: io_uring when available). */
  io?: TapIoMode;
}

/** How open errors speak of a TAP. */
/** Fewest reads an io_uring burst submits first. */
const URING_MIN_READS = 4;

const TAP_WORDS: DeviceWords = { noun: 'TAP', privileges: 'root or CAP_NET_ADMIN', enoentIsMissing: false };

export class TapPort extends NativePort implements Port {
  readonly kind = 'tap' as const;
  /** The TAP's name as the kernel reports it when opened. */
  readonly name: string;
  readonly offloads: boolean;
  /** True when this port created the TAP (it goes away on close). */
  readonly created: boolean;
  /** How bursts move: one io_uring_enter per burst, or one read/write per frame. */
  readonly ioMode: TapIoInUse;
  /** Why `auto` chose rw (null when it did not have to). */
  readonly ioFallback: string | null;
  private lastIfindex = 0;
  /** The TAP's name in this namespace, or null while it lives in another one (or is gone). */
  private hereAs: string | null;
  private readonly txDropped = new CumulativeDrops();
  /** io_uring: reads the next burst submits first (see rxBurst). */
  private rxWant: number;

  /** Open (or create) the TAP; throws a PortOpenError with a sentence naming it. */
  static open(opts: TapPortOptions): TapPort {
    checkBurst(opts.burst);
    const bad = checkIfName(TAP_WORDS, opts.name);
    if (bad !== null) throw bad;
    const vnetHdr = opts.vnetHdr ?? true;
    const offloads = vnetHdr && (opts.offloads ?? true);
    const native = loadNative();
    let opened: { fd: number; name: string; created: boolean };
    try {
      opened = native.openTap(opts.name, { vnetHdr, offloads });
    } catch (e) {
      throw describeOpenError(TAP_WORDS, opts.name, e);
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
    super(native, IO_KIND_TAP, opened.fd, opts, vnetHdr);
    const io = decideTapIo(opts.io ?? 'auto', () => this.io.useUring());
    if ('error' in io) {
      this.io.releaseFd(); // the caller (open) closes the fd
      throw new PortOpenError(`cannot open TAP ${opts.name}: ${io.error}`, errnoName(io.errno), io.errno, 'io_uring_setup', opts.name);
    }
    this.ioMode = io.use;
    this.rxWant = opts.burst;
    this.ioFallback = io.fallback;
    this.name = opened.name;
    this.offloads = offloads;
    this.created = opened.created;
    this.hereAs = opened.name;
    this.link();
    this.readKernelDrops(); // the baseline: drops from before we opened it are not ours
  }

  readKernelDrops(): number {
    if (this.closed || !this.attached) return 0;
    let dev;
    try {
      dev = this.native.tapDevStats(this.fd);
    } catch {
      return 0;
    }
    return dev === null ? 0 : this.txDropped.advance(netDevTxDropped(dev.text, dev.name));
  }

  watchName(): string | null {
    return this.hereAs;
  }

  /**
   * With io_uring every read submitted costs a little even when no frame
   * waits (it completes with EAGAIN in the same io_uring_enter), so a burst
   * first asks for as many reads as the last one found frames (at least
   * URING_MIN_READS), and for the rest only when those all got one; a full
   * burst asks for the whole burst next time. rw stops at the first EAGAIN
   * by itself.
   */
  rxBurst(pool: PacketPool, slots: Int32Array, n: number): number {
    if (this.ioMode !== 'uring') return this.receive(pool, slots, n);
    const first = n < this.rxWant ? n : this.rxWant;
    let got = this.receive(pool, slots, first);
    if (got === first && first < n) {
      const more = this.receive(pool, slots, n - first, first);
      if (more > 0) got += more;
    }
    this.rxWant = got >= n ? this.burst : Math.max(URING_MIN_READS, got + 1);
    return got;
  }

  link(): LinkInfo {
    if (this.closed) return this.remembered(false, 'gone');
    let tap: NativeTapInfo | null | undefined;
    try {
      tap = this.native.tapInfo(this.fd);
    } catch {
      tap = undefined; // the kernel cannot tell: fall back to the name
    }
    if (tap === null) {
      this.hereAs = null;
      return this.remembered(false, 'gone');
    }
    if (tap !== undefined && tap.sameNetns === false) {
      // Moved into another namespace: still ours, still forwarding; its state as read there, if we may.
      this.hereAs = null;
      if (tap.flags === null) return this.remembered(true, 'unseen');
      if (tap.mtu !== null) this.setMtu(tap.mtu);
      const up = (tap.flags & IFF_UP) !== 0;
      return { adminUp: up, carrier: up && (tap.flags & IFF_RUNNING) !== 0, mtu: this.lastMtu, mac: this.lastMac, ifindex: this.lastIfindex, presence: 'elsewhere' };
    }
    const name = tap?.name ?? this.name;
    const info = this.native.linkInfo(name);
    if (info === null) {
      this.hereAs = null;
      return this.remembered(true, 'unseen');
    }
    this.hereAs = name;
    this.lastMac = info.mac;
    this.lastIfindex = info.ifindex;
    this.setMtu(info.mtu);
    return info;
  }

  private setMtu(mtu: number): void {
    this.lastMtu = mtu;
    this.maxFrame = mtu + L2_OVERHEAD;
  }

  private remembered(up: boolean, presence: LinkInfo['presence']): LinkInfo {
    return { adminUp: up, carrier: up, mtu: this.lastMtu, mac: this.lastMac, ifindex: this.lastIfindex, presence };
  }
}
