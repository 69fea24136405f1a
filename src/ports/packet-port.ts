/*
 * PacketPort: a port on an existing Linux interface (veth, NIC, vif) through
 * an AF_PACKET raw socket bound to it, in promiscuous mode; port kind `if`
 * (its registry row: src/ports/kinds/if.ts).
 *
 * What: moves one burst per native call, in one of three I/O modes (per port,
 * `if:NAME,mode=ring|mmsg|xdp`):
 * - mmsg: one recvmmsg and one sendmmsg per burst (io.cc).
 * - ring: the kernel's TPACKET_V2 rx and tx rings (ring.cc): rx is a walk
 *   over the slots the kernel handed over (each as soon as its frame is
 *   written, so a lone frame waits for nothing) with one copy per frame
 *   into the pool and no syscall; tx copies the burst into the tx ring and
 *   kicks it with one send(). When the kernel refuses the rings (an old kernel, a
 *   limit on locked memory), the port logs one line and uses mmsg on the
 *   same socket. The environment variable LINC_TEST_RING_SETUP_FAIL=1 makes
 *   the ring setup ask the kernel for an invalid block size, so tests can
 *   see that fallback for real. Frames a kick leaves in the tx ring (the
 *   socket's send buffer is full) are kicked again on a timer, 1 ms then
 *   doubling up to 64 ms, at most TX_KICK_MAX_TRIES times, until none waits,
 *   so they leave on a port that then goes idle; txKickRetries counts those
 *   kicks. LINC_TEST_RING_SNDBUF=BYTES gives the ring socket that send
 *   buffer (SO_SNDBUF), so tests can fill it for real.
 * - xdp: an AF_XDP socket in copy mode fed by an XDP program in generic mode
 *   (src/ports/xdp-io.ts, xdp.cc); no vnet header and no VLAN stripping on
 *   rx; the same one-line fallback to mmsg when the kernel refuses it.
 * The socket never re-receives its own transmitted frames
 * (PACKET_IGNORE_OUTGOING). With vnetHdr (the default) frames carry their
 * virtio_net_hdr (PACKET_VNET_HDR), so partial checksums and GSO frames from
 * a veth peer cross the switch intact.
 *
 * VLAN tags: the kernel strips the outer 802.1Q/802.1ad tag into metadata
 * before a packet socket sees the frame, and reports it in PACKET_AUXDATA.
 * rxBurst puts it back where it was: the 12 MAC bytes (and the vnet header)
 * move 4 bytes into the headroom, the TPID and TCI go after them, and a
 * NEEDS_CSUM csum_start (and a GSO hdr_len) grows by 4.
 *
 * Interfaces that come and go (a VM's vif across reboots): opened with
 * waitForInterface, a port whose interface does not exist is kept detached
 * (link down, presence 'missing'); rebind() binds it when an interface of
 * its name appears, and binds again when the interface is deleted and
 * re-created under the same name (a new ifindex). The datapath calls
 * rebind() when the kernel announces a change of that name.
 *
 * Invariants
 * - Burst arrays are allocated once (sized to `burst`) and shared with the
 *   native Io; rxBurst/txBurst allocate nothing and never throw.
 * - While bound, the socket is bound to `ifindex`; link() reports the port
 *   down as soon as that ifindex no longer carries the port's name.
 * - After rxBurst, each slot's frame starts at pool.dataOff[slot] with the
 *   vnet header (or VNET_HDR_LEN zero bytes without one) right before it.
 * - close() closes the socket; the interface itself is left as it is.
 * - Kernel drops (PACKET_STATISTICS, src/ports/kernel-drops.ts) of a socket
 *   given up by rebind() are read first and reported by the next
 *   readKernelDrops(), so none is lost with the old socket.
 */

import type { PacketPool } from '../packet/pool.js';
import { VNET_CSUM_START, VNET_F_NEEDS_CSUM, VNET_FLAGS, VNET_GSO_NONE, VNET_GSO_TYPE, VNET_HDR_LEN, VNET_HDR_LEN_OFF } from '../packet/vnet.js';
import { isNativeSysError, loadNative, type NativeBinding, type NativeIo, type NativeRingIo } from './native.js';
import { ERRNO_EAGAIN, ERRNO_ENOBUFS, IO_KIND_PACKET, RX_TCI_TPID_8021AD } from './native-layout.js';
import { checkBurst, L2_OVERHEAD, NativePort } from './native-port.js';
import { markPartialChecksums, openXdpIo, XdpDrops } from './xdp-io.js';
import { checkIfName, describeOpenError, mmsgFallbackNotice, type DeviceWords } from './open-errors.js';
import type { LinkInfo, Port } from './port.js';

/** How open errors speak of an interface opened with a packet socket. */
const INTERFACE_WORDS: DeviceWords = { noun: 'interface', privileges: 'root or CAP_NET_RAW and CAP_NET_ADMIN', enoentIsMissing: true };

/** The I/O modes of a packet port (the `mode=` option of `if:` ports). */
export const PACKET_IO_MODES = ['ring', 'mmsg', 'xdp'] as const;
export type PacketIoMode = (typeof PACKET_IO_MODES)[number];

/**
 * Bytes per block of the rx ring: a page multiple that holds whole 2 KiB
 * slots (ring.cc: 16 blocks, 8 MiB, 4096 frames: ~130 ms of a 32 kpps burst
 * while the switch is not scheduled). What a port holds while the switch is
 * not scheduled decides its losses on a loaded machine: with the switch
 * stopped, mmsg's socket (4 MiB SO_RCVBUF, open.cc) held 6554 frames of 242
 * bytes and 3641 of 1442; a 2 MiB ring held 1024 of either and lost hundreds
 * of the UDP flood test's 20 000 frames with busy loops on both cores (all
 * counted as kernel drops), where mmsg lost none. 4096 slots hold more
 * full-size frames than mmsg and ~60 % of its small ones.
 */
const RING_BLOCK_SIZE = 1 << 19;
/** What LINC_TEST_RING_SETUP_FAIL=1 asks for instead: not a page multiple, so PACKET_RX_RING fails with EINVAL. */
const RING_BLOCK_SIZE_INVALID = 1000;

/** Re-kicks of frames left in the tx ring (see the module comment): first delay, largest delay (ms), most tries per wait. */
const TX_KICK_FIRST_MS = 1;
const TX_KICK_MAX_MS = 64;
const TX_KICK_MAX_TRIES = 64;

const VLAN_TAG_LEN = 4;
const MAC_BYTES = 12;

export interface PacketPortOptions {
  /** An existing interface in this network namespace. */
  name: string;
  ofPort: number;
  pool: PacketPool;
  /** Most frames per recvmmsg/sendmmsg. */
  burst: number;
  /** Frames carry a virtio_net_hdr (default true). */
  vnetHdr?: boolean;
  /** A missing interface is not an error: the port starts detached and rebind() binds it later (default false). */
  waitForInterface?: boolean;
  /** I/O mode (default 'ring', as for if: ports, kinds/if.ts): see the module comment. */
  mode?: PacketIoMode;
  /** Where the one-line notices go (the ring fallback); default: nowhere. */
  notice?: (message: string) => void;
}

/**
 * Put back the VLAN tag the kernel stripped from the frame in `slot` (`tagInfo`
 * is an rxTci value with RX_TCI_PRESENT set). `hdr` is the vnet header length
 * the port receives (0 or VNET_HDR_LEN); the VNET_HDR_LEN bytes before the
 * frame move with it either way (zeros without a header). Needs 4 bytes of
 * headroom.
 */
export function reinsertVlanTag(pool: PacketPool, slot: number, tagInfo: number, hdr: number): void {
  const bytes = pool.bytes;
  const off = pool.dataOff[slot];
  const len = pool.len[slot];
  if (len < MAC_BYTES) return; // not an Ethernet frame: the parser counts it
  // The vnet header moves with the MACs; without one those bytes are zeros and stay zeros.
  bytes.copyWithin(off - VNET_HDR_LEN - VLAN_TAG_LEN, off - VNET_HDR_LEN, off + MAC_BYTES);
  const tag = off - VLAN_TAG_LEN + MAC_BYTES;
  const tpid = (tagInfo & RX_TCI_TPID_8021AD) !== 0 ? 0x88a8 : 0x8100;
  bytes[tag] = tpid >>> 8;
  bytes[tag + 1] = tpid & 0xff;
  bytes[tag + 2] = (tagInfo >>> 8) & 0xff;
  bytes[tag + 3] = tagInfo & 0xff;
  pool.dataOff[slot] = off - VLAN_TAG_LEN;
  pool.len[slot] = len + VLAN_TAG_LEN;
  if (hdr === 0) return;
  // Offsets in the vnet header count from the frame's first byte: the tag shifted what follows it.
  const v = off - VLAN_TAG_LEN - VNET_HDR_LEN;
  if ((bytes[v + VNET_FLAGS] & VNET_F_NEEDS_CSUM) !== 0) {
    const cs = (bytes[v + VNET_CSUM_START] | (bytes[v + VNET_CSUM_START + 1] << 8)) + VLAN_TAG_LEN;
    bytes[v + VNET_CSUM_START] = cs & 0xff;
    bytes[v + VNET_CSUM_START + 1] = (cs >>> 8) & 0xff;
  }
  if (bytes[v + VNET_GSO_TYPE] !== VNET_GSO_NONE) {
    const hl = bytes[v + VNET_HDR_LEN_OFF] | (bytes[v + VNET_HDR_LEN_OFF + 1] << 8);
    if (hl !== 0) {
      bytes[v + VNET_HDR_LEN_OFF] = (hl + VLAN_TAG_LEN) & 0xff;
      bytes[v + VNET_HDR_LEN_OFF + 1] = ((hl + VLAN_TAG_LEN) >>> 8) & 0xff;
    }
  }
}

/** errno names of an open that found no interface of that name. */
const MISSING_CODES = new Set(['ENODEV', 'ENXIO', 'ENOENT']);

export class PacketPort extends NativePort implements Port {
  readonly kind = 'if' as const;
  readonly name: string;
  private boundIfindex = 0;
  /** Why the last bind attempt failed (the interface exists but could not be opened), or null. */
  private bindError: string | null = null;
  /** Kernel drops read from sockets since given up, not yet reported. */
  private dropsCarried = 0;
  /** The mode asked for. */
  readonly mode: PacketIoMode;
  /** The mode the bound socket uses ('mmsg' after a ring fallback; the asked mode while detached). */
  private activeMode: PacketIoMode;
  private readonly notice: (message: string) => void;
  /** The kernel drops of the AF_XDP socket while mode xdp is in use, else null. */
  private xdpDrops: XdpDrops | null = null;
  /** The ring Io while mode ring is in use, else null. */
  private ringIo: NativeRingIo | null = null;
  /** The pending re-kick of the tx ring, or null. */
  private kickTimer: NodeJS.Timeout | null = null;
  private kickTries = 0;
  /** Kicks of the tx ring made by the timer, not by a txBurst (cumulative). */
  txKickRetries = 0;
  /** txKickRetries as readTxKickRetries() last reported it. */
  private kickRetriesRead = 0;

  /** Open a packet socket on the interface; throws a PortOpenError with a sentence naming it. */
  static open(opts: PacketPortOptions): PacketPort {
    checkBurst(opts.burst);
    const bad = checkIfName(INTERFACE_WORDS, opts.name);
    if (bad !== null) throw bad;
    const vnetHdr = opts.vnetHdr ?? true;
    const native = loadNative();
    let opened: { fd: number; ifindex: number } | null;
    try {
      opened = native.openPacket(opts.name, { vnetHdr });
    } catch (e) {
      if (opts.waitForInterface !== true || !isNativeSysError(e) || !MISSING_CODES.has(e.code)) throw describeOpenError(INTERFACE_WORDS, opts.name, e);
      opened = null;
    }
    try {
      return new PacketPort(native, opts, opened, vnetHdr);
    } catch (e) {
      if (opened !== null) native.closeFd(opened.fd);
      throw e;
    }
  }

  private constructor(native: NativeBinding, opts: PacketPortOptions, opened: { fd: number; ifindex: number } | null, vnetHdr: boolean) {
    super(native, IO_KIND_PACKET, null, opts, vnetHdr);
    this.name = opts.name;
    this.mode = opts.mode ?? 'ring';
    this.activeMode = this.mode;
    this.notice = opts.notice ?? (() => {});
    this.boundIfindex = opened?.ifindex ?? 0;
    if (opened !== null) {
      this.attach(opened.fd);
      this.link();
    }
  }

  /** The I/O mode in use: the one asked for, or 'mmsg' when the kernel refused the rings of the bound socket. */
  get ioMode(): PacketIoMode {
    return this.activeMode;
  }

  /** mode=ring: the ring Io, or (the kernel refused) one notice and the mmsg Io on the same socket. */
  protected override createIo(fd: number): NativeIo {
    this.activeMode = this.mode;
    this.xdpDrops = null;
    this.ringIo = null;
    if (this.mode === 'xdp') {
      const xdp = openXdpIo(this.native, { fd, ifindex: this.boundIfindex, vnetHdr: this.vnetHdr, pool: this.pool.buffer, rxCap: this.rxCap, arrays: this.ioArrays }, this.name, this.notice);
      if (xdp !== null) this.xdpDrops = new XdpDrops(xdp);
      else this.activeMode = 'mmsg';
      return xdp ?? super.createIo(fd);
    }
    if (this.mode !== 'ring') return super.createIo(fd);
    const a = this.ioArrays;
    const blockSize = process.env.LINC_TEST_RING_SETUP_FAIL === '1' ? RING_BLOCK_SIZE_INVALID : RING_BLOCK_SIZE;
    try {
      this.ringIo = this.native.createRingIo(fd, this.pool.buffer, a.rxOff, this.rxCap, a.rxLen, a.rxTci, a.txOff, a.txLen, a.status, {
        ifindex: this.boundIfindex,
        vnetHdr: this.vnetHdr,
        blockSize,
        ...(process.env.LINC_TEST_RING_SNDBUF !== undefined ? { sndBuf: Number(process.env.LINC_TEST_RING_SNDBUF) } : {}),
      });
      return this.ringIo;
    } catch (e) {
      this.notice(mmsgFallbackNotice(this.name, 'kernel rings', e));
      this.activeMode = 'mmsg';
      return super.createIo(fd);
    }
  }

  /** ifindex the socket is bound to; 0 while detached. */
  get ifindex(): number {
    return this.boundIfindex;
  }

  /** Why the port is not bound although its interface exists (the last bind failed), or null. */
  get lastBindError(): string | null {
    return this.bindError;
  }

  watchName(): string {
    return this.name;
  }

  rebind(): boolean {
    if (this.closed) return false;
    let now;
    try {
      now = this.native.linkInfo(this.name);
    } catch {
      return false; // the kernel cannot say now: keep what we have
    }
    if (now === null) {
      this.bindError = null;
      if (!this.attached) return false;
      this.dropsCarried += this.socketDrops();
      void this.detach();
      this.boundIfindex = 0;
      return true;
    }
    if (this.attached && now.ifindex === this.boundIfindex) return false;
    const was = this.boundIfindex;
    this.dropsCarried += this.socketDrops();
    void this.detach();
    this.boundIfindex = 0;
    try {
      const opened = this.native.openPacket(this.name, { vnetHdr: this.vnetHdr });
      this.boundIfindex = opened.ifindex;
      this.attach(opened.fd);
      this.bindError = null;
    } catch (e) {
      // Gone again before we could bind: still waiting. Anything else is worth saying.
      this.bindError = isNativeSysError(e) && MISSING_CODES.has(e.code) ? null : describeOpenError(INTERFACE_WORDS, this.name, e).message;
    }
    return this.boundIfindex !== was;
  }

  /** PACKET_STATISTICS tp_drops since the last read of the bound socket (0 while detached or when the kernel cannot say). */
  private socketDrops(): number {
    if (this.closed || !this.attached) return 0;
    const xdp = this.xdpDrops?.take() ?? 0;
    try {
      return xdp + this.native.packetStats(this.fd).drops;
    } catch {
      return xdp;
    }
  }

  readKernelDrops(): number {
    const n = this.dropsCarried + this.socketDrops();
    this.dropsCarried = 0;
    return n;
  }

  readTxKickRetries(): number {
    const n = this.txKickRetries - this.kickRetriesRead;
    this.kickRetriesRead = this.txKickRetries;
    return n;
  }

  rxBurst(pool: PacketPool, slots: Int32Array, n: number): number {
    const got = this.receive(pool, slots, n);
    const rxTci = this.rxTci;
    for (let i = 0; i < got; i++) {
      if (rxTci[i] !== 0) reinsertVlanTag(pool, slots[i], rxTci[i], this.hdr);
    }
    if (this.xdpDrops !== null && got > 0) markPartialChecksums(pool, slots, got);
    return got;
  }

  override txBurst(pool: PacketPool, slots: Int32Array, n: number): number {
    const sent = super.txBurst(pool, slots, n);
    if (this.ringIo !== null) {
      const errno = this.lastErrno;
      if (errno === ERRNO_EAGAIN || errno === ERRNO_ENOBUFS) this.scheduleKick();
    }
    return sent;
  }

  /** Kick the tx ring again soon (a timer, not a loop) unless a kick is already due; the delay starts small each wait. */
  private scheduleKick(): void {
    if (this.kickTimer !== null) return;
    this.kickTries = 0;
    this.armKick(TX_KICK_FIRST_MS);
  }

  private armKick(ms: number): void {
    this.kickTimer = setTimeout(() => {
      this.kickTimer = null;
      const ring = this.ringIo;
      if (ring === null || this.closed || !this.attached) return;
      this.txKickRetries++;
      this.kickTries++;
      if (ring.kick() === 1 && this.kickTries < TX_KICK_MAX_TRIES) this.armKick(Math.min(ms * 2, TX_KICK_MAX_MS));
    }, ms);
    this.kickTimer.unref();
  }

  private cancelKick(): void {
    if (this.kickTimer !== null) clearTimeout(this.kickTimer);
    this.kickTimer = null;
  }

  override close(): void {
    this.cancelKick();
    super.close();
  }

  override closeOffThread(): Promise<void> {
    this.cancelKick();
    return super.closeOffThread();
  }

  link(): LinkInfo {
    const info = this.closed || !this.attached ? null : this.native.linkInfo(this.name);
    // Detached, or bound to an interface that no longer carries the name (deleted, renamed): down until rebind().
    if (info === null || info.ifindex !== this.boundIfindex) {
      return { adminUp: false, carrier: false, mtu: this.lastMtu, mac: this.lastMac, ifindex: this.boundIfindex, presence: 'missing' };
    }
    this.lastMtu = info.mtu;
    this.lastMac = info.mac;
    this.maxFrame = info.mtu + L2_OVERHEAD;
    return info;
  }
}
