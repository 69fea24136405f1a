/*
 * PacketPort: a port on an existing Linux interface (veth, NIC, vif) through
 * an AF_PACKET raw socket bound to it, in promiscuous mode; port kind `if`
 * (its registry row: src/ports/kinds/if.ts).
 *
 * What: receives with one recvmmsg and sends with sendmmsg per burst (one
 * native call each). The socket never re-receives its own transmitted frames
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
 * Invariants
 * - Burst arrays are allocated once (sized to `burst`) and shared with the
 *   native Io; rxBurst/txBurst allocate nothing and never throw.
 * - After rxBurst, each slot's frame starts at pool.dataOff[slot] with the
 *   vnet header (or VNET_HDR_LEN zero bytes without one) right before it.
 * - close() closes the socket; the interface itself is left as it is.
 */

import type { PacketPool } from '../packet/pool.js';
import { VNET_CSUM_START, VNET_F_NEEDS_CSUM, VNET_FLAGS, VNET_GSO_NONE, VNET_GSO_TYPE, VNET_HDR_LEN, VNET_HDR_LEN_OFF } from '../packet/vnet.js';
import { loadNative, type NativeBinding } from './native.js';
import { IO_KIND_PACKET, RX_TCI_TPID_8021AD } from './native-layout.js';
import { checkBurst, L2_OVERHEAD, NativePort } from './native-port.js';
import { checkIfName, describeOpenError, type DeviceWords } from './open-errors.js';
import type { LinkInfo, Port } from './port.js';

/** How open errors speak of an interface opened with a packet socket. */
const INTERFACE_WORDS: DeviceWords = { noun: 'interface', privileges: 'root or CAP_NET_RAW and CAP_NET_ADMIN', enoentIsMissing: true };

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

export class PacketPort extends NativePort implements Port {
  readonly kind = 'if' as const;
  readonly name: string;
  /** ifindex the socket is bound to. */
  readonly ifindex: number;

  /** Open a packet socket on the interface; throws a PortOpenError with a sentence naming it. */
  static open(opts: PacketPortOptions): PacketPort {
    checkBurst(opts.burst);
    const bad = checkIfName(INTERFACE_WORDS, opts.name);
    if (bad !== null) throw bad;
    const vnetHdr = opts.vnetHdr ?? true;
    const native = loadNative();
    let opened: { fd: number; ifindex: number };
    try {
      opened = native.openPacket(opts.name, { vnetHdr });
    } catch (e) {
      throw describeOpenError(INTERFACE_WORDS, opts.name, e);
    }
    try {
      return new PacketPort(native, opts, opened, vnetHdr);
    } catch (e) {
      native.closeFd(opened.fd);
      throw e;
    }
  }

  private constructor(native: NativeBinding, opts: PacketPortOptions, opened: { fd: number; ifindex: number }, vnetHdr: boolean) {
    super(native, IO_KIND_PACKET, opened.fd, opts, vnetHdr);
    this.name = opts.name;
    this.ifindex = opened.ifindex;
    this.link();
  }

  rxBurst(pool: PacketPool, slots: Int32Array, n: number): number {
    const got = this.receive(pool, slots, n);
    const rxTci = this.rxTci;
    for (let i = 0; i < got; i++) {
      if (rxTci[i] !== 0) reinsertVlanTag(pool, slots[i], rxTci[i], this.hdr);
    }
    return got;
  }

  link(): LinkInfo {
    const info = this.closed ? null : this.native.linkInfo(this.name);
    if (info === null) {
      return { adminUp: false, carrier: false, mtu: this.lastMtu, mac: this.lastMac, ifindex: this.ifindex };
    }
    this.lastMtu = info.mtu;
    this.lastMac = info.mac;
    this.maxFrame = info.mtu + L2_OVERHEAD;
    return info;
  }
}
