/*
 * The Port provider interface (after OVS netdev-provider.h): what every kind
 * of port (TapPort, PacketPort, MemoryPort) gives the datapath. The kinds
 * themselves (spec syntax, open function, capabilities) are declared once
 * each in the registry, src/ports/kinds.ts.
 *
 * Ownership
 * - rxBurst: the caller owns the pool slots it passes in and keeps owning
 *   them; the port only writes frame bytes, the vnet header and pool.len.
 * - txBurst: the port reads the listed slots and never keeps them; the caller
 *   frees them afterwards, sent or not (a frame not sent is a tx drop).
 * Neither call throws on the hot path: failures come back as counts and
 * errno values in `lastErrno`. MAX_BURST bounds the burst a port is opened
 * with and the datapath's burst.
 * Link state: link() reads it (slow path); watchName() says which kernel
 * link notifications announce its changes, and ports bound to an interface
 * by name follow it through rebind() when it is deleted and re-created.
 */

import type { PacketPool } from '../packet/pool.js';

export { MAX_BURST } from './native-layout.js';

export interface LinkInfo {
  /** Administrative state: the interface is up (IFF_UP). */
  adminUp: boolean;
  /** Carrier / lower layer up (IFF_LOWER_UP or IFF_RUNNING). */
  carrier: boolean;
  mtu: number;
  /** 6-byte MAC as a 48-bit number, 0 when unknown. */
  mac: number;
  ifindex: number;
  /**
   * Where the interface is, when it is not simply here in this network
   * namespace (absent: here, and the fields above were read from it):
   *   'missing'   no interface of the port's name is here: the port binds to one when it appears
   *   'gone'      the device behind the port was deleted: it stays down until the port is removed
   *   'elsewhere' it lives in another network namespace; its state was read there
   *   'unseen'    it lives in another network namespace whose state the kernel does not let
   *               us read: reported up while the port holds its carrier (a TAP's open fd)
   */
  presence?: 'missing' | 'gone' | 'elsewhere' | 'unseen';
}

export interface Port {
  /** The port's kind: its name in the registry (src/ports/kinds.ts), e.g. 'tap'. */
  readonly kind: string;
  /** Interface name as the user gave it (tap0, veth1). */
  readonly name: string;
  /** OpenFlow port number (1..0xffffff00). */
  readonly ofPort: number;
  /**
   * True when frames of this port carry a virtio_net_hdr (VNET_HDR_LEN bytes
   * before pool.dataOff): rx fills it, tx sends it. A port without it cannot
   * take a frame whose checksum is partial or that is a GSO super-frame; the
   * datapath completes the checksum or drops such a frame before txBurst.
   */
  readonly vnetHdr: boolean;
  /** Largest frame (without vnet header) the port accepts on tx; GSO frames may exceed the MTU only when vnetHdr. */
  readonly maxFrame: number;
  /** How the port moves bursts through the kernel when it has a choice: a TAP's 'uring' or 'rw' (src/ports/tap-io.ts). */
  readonly ioMode?: string;
  /** errno of the last failed syscall in rxBurst/txBurst (EAGAIN and ENOBUFS included), 0 if none. */
  readonly lastErrno: number;

  /**
   * Receive up to `n` frames into slots[0..n) (already allocated from `pool`).
   * Returns the number received (frames fill slots[0..k)), 0 when nothing was
   * ready, or -errno on a real error with nothing received.
   */
  rxBurst(pool: PacketPool, slots: Int32Array, n: number): number;

  /**
   * Send the frames in slots[0..n). Returns how many the kernel took; the
   * rest were dropped (EAGAIN/ENOBUFS: queue full, other errno: error; see
   * lastErrno). Returns -errno only when nothing could be sent because of a
   * real error.
   */
  txBurst(pool: PacketPool, slots: Int32Array, n: number): number;

  /** Call `onReadable` once per wakeup while frames may be waiting (level-triggered). */
  start(onReadable: () => void): void;
  /** Stop calling onReadable. */
  stop(): void;
  /** Close the fd; a TAP the switch created goes away with it. Idempotent. */
  close(): void;
  /**
   * close() for a running switch: the kernel's teardown (unregistering a
   * TAP, a packet socket's RCU grace period: milliseconds) runs on a worker
   * thread, so the other ports keep forwarding. Resolves when it is done.
   */
  closeOffThread?(): Promise<void>;
  /** Current link state, read from the kernel (slow path). */
  link(): LinkInfo;
  /**
   * The interface name, in this network namespace, that the kernel's link
   * notifications (src/ports/link-events.ts) speak of when this port's link
   * changes; null when only reading link() can tell (an in-process port, a
   * TAP moved into another namespace): the datapath polls those.
   */
  watchName(): string | null;
  /**
   * Ports bound to an interface by its name: bind again if the name now
   * refers to another interface (it appeared, or was deleted and re-created
   * with a new ifindex), or unbind when it is gone. True when the binding
   * changed. Slow path; never throws.
   */
  rebind?(): boolean;
  /**
   * Frames the kernel dropped on their way to this port's fd since the last
   * call, because we did not read fast enough (an AF_PACKET socket's full
   * receive buffer, a TAP's full queue to us): src/ports/kernel-drops.ts says
   * what each kind can and cannot see. Slow path; never throws (0 when the
   * kernel cannot say). Absent: the port has no kernel queue.
   */
  readKernelDrops?(): number;
  /**
   * Kicks of the port's tx ring its own timer made since the last call (a
   * ring port whose send buffer was full). Slow path; never throws. Absent:
   * the port has no tx ring.
   */
  readTxKickRetries?(): number;
  /** Ports bound by name: why the last bind failed although the interface exists (null when it did not fail). */
  readonly lastBindError?: string | null;
}
