/*
 * The policy side of `if:NAME,mode=xdp` (the syscalls are src/ports/native/xdp.cc):
 * whether the kernel gives the port an AF_XDP socket, the one notice when it
 * does not, and the socket's kernel drops as deltas.
 *
 * What: openXdpIo asks the addon for an AF_XDP socket in copy mode with its
 * XDP program attached in generic (SKB) mode, the mode every interface
 * (veths included) supports. When the kernel refuses any step (no AF_XDP,
 * no BPF, the attach refused) it returns null after one notice naming the
 * step and errno; the caller goes on with recvmmsg/sendmmsg on the same
 * packet socket, which the addon left as it was. LINC_TEST_XDP_SETUP_FAIL=1
 * asks the kernel for two XDP modes at once, which it refuses with EINVAL at
 * the attach, so tests see that fallback for real.
 *
 * Frames: XDP hands over the frame as it was on the wire (a VLAN tag stays
 * in it) without a vnet header; the port's rx gets VNET_HDR_LEN zero bytes
 * before each frame, as the other modes without a header, and
 * markPartialChecksums restores the one offload state that matters there
 * (a partial checksum from a veth peer, now mostly UDP). A frame larger than an
 * XSK chunk (a GSO super-frame of a peer with TSO/GSO on) and every TCP
 * segment (IPv4/IPv6, untagged or behind one or two VLAN tags: 802.1Q or
 * 802.1ad outside, 802.1Q inside) are passed by the program
 * to the stack and read from the packet socket with their vnet header, in
 * the same rx call: TCP therefore runs at the packet socket's rate, not
 * AF_XDP's. The rx call reads the packet socket first, for a quarter of the
 * burst, while it has frames (and probes it every 8th burst the ring alone
 * would fill), so a flood that keeps the AF_XDP ring full cannot starve it. A TCP flow split between the two sockets (super-frames one way,
 * short segments the other) was reordered between them and its
 * retransmissions lost (iperf3 0.8-2 Gbit/s against ~10 whole). Frames the
 * switch sends with an offload asked for in their vnet header (GSO, partial
 * checksum) leave through the packet socket, which still has PACKET_VNET_HDR.
 *
 * Invariants
 * - A returned XdpIo owns the XDP program (a bpf_link), socket and UMEM; its
 *   close()/releaseFd() detach and free them, and the kernel detaches the
 *   program when the process exits whatever the way (the link is an fd).
 * - XdpDrops reports each kernel drop once (the kernel's counts only grow).
 */

import type { PacketPool } from '../packet/pool.js';
import { VNET_CSUM_OFFSET, VNET_CSUM_START, VNET_F_NEEDS_CSUM, VNET_FLAGS, VNET_GSO_NONE, VNET_GSO_TYPE, VNET_HDR_LEN } from '../packet/vnet.js';
import { isNativeSysError, type NativeBinding, type NativeXdpIo } from './native.js';
import { mmsgFallbackNotice } from './open-errors.js';

/** XDP_FLAGS_SKB_MODE: generic XDP, which any interface runs. */
const XDP_FLAGS_SKB_MODE = 1 << 1;
/** XDP_FLAGS_DRV_MODE: with SKB mode, two modes at once, which the kernel refuses (the test fallback). */
const XDP_FLAGS_DRV_MODE = 1 << 2;

export interface XdpIoArgs {
  fd: number;
  ifindex: number;
  vnetHdr: boolean;
  pool: ArrayBuffer;
  rxCap: number;
  arrays: { rxOff: Uint32Array; rxLen: Uint32Array; rxTci: Uint32Array; txOff: Uint32Array; txLen: Uint32Array; status: Int32Array };
}

/** How long openXdpIo waits, at most, for the kernel to release the queue of an AF_XDP socket just closed on the interface. */
const QUEUE_RELEASE_WAIT_MS = 500;
const QUEUE_RELEASE_STEP_MS = 10;

/** Sleep on this thread (a slow path: the queue of a socket closed a moment ago is released by deferred kernel work). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The AF_XDP Io of a bound packet socket, or null after one notice when the kernel refuses it.
 * A queue still held (EBUSY at the bind: the socket of a port removed a moment ago is released
 * by deferred kernel work) is waited for, up to QUEUE_RELEASE_WAIT_MS.
 */
export function openXdpIo(native: NativeBinding, args: XdpIoArgs, portName: string, notice: (message: string) => void): NativeXdpIo | null {
  const a = args.arrays;
  const linkFlags = process.env.LINC_TEST_XDP_SETUP_FAIL === '1' ? XDP_FLAGS_SKB_MODE | XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
  for (let waited = 0; ; waited += QUEUE_RELEASE_STEP_MS) {
    try {
      return native.createXdpIo(args.fd, args.pool, a.rxOff, args.rxCap, a.rxLen, a.rxTci, a.txOff, a.txLen, a.status, {
        ifindex: args.ifindex,
        vnetHdr: args.vnetHdr,
        linkFlags,
      });
    } catch (e) {
      const busy = isNativeSysError(e) && e.code === 'EBUSY' && e.syscall === 'bind AF_XDP';
      if (busy && waited < QUEUE_RELEASE_WAIT_MS) {
        sleepSync(QUEUE_RELEASE_STEP_MS);
        continue;
      }
      notice(mmsgFallbackNotice(portName, 'AF_XDP', e));
      return null;
    }
  }
}

/** The kernel drops of one AF_XDP socket as deltas (its counters are cumulative). */
export class XdpDrops {
  private seen = 0;
  constructor(private readonly io: NativeXdpIo) {}
  /** Drops since the last call (0 when the kernel cannot say). */
  take(): number {
    const now = this.io.kernelDrops();
    if (now < this.seen) return 0;
    const d = now - this.seen;
    this.seen = now;
    return d;
  }
}

const ETH_P_IPV4 = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

/** 16-bit big-endian words of bytes[from .. from+len) summed (len even), unfolded. */
function wordSum(b: Uint8Array, from: number, len: number): number {
  let s = 0;
  for (let i = from; i < from + len; i += 2) s += (b[i] << 8) | b[i + 1];
  return s;
}

/**
 * Frames from a veth peer with its tx offloads on (the default) are
 * CHECKSUM_PARTIAL: their TCP/UDP checksum field holds only the
 * pseudo-header sum, and XDP hands them over without saying so (no vnet
 * header). For each received frame without offload flags that is IPv4 or
 * IPv6 (behind any VLAN tags, unfragmented) TCP or UDP, whose checksum
 * field equals its folded pseudo-header sum, set NEEDS_CSUM in the vnet
 * header bytes before the frame (csum_start = the L4 header, csum_offset =
 * the field), as the kernel reports such a frame to a packet socket; the
 * datapath then completes it or leaves it to an egress with offloads.
 * A complete frame whose checksum happens to equal that sum is summed again
 * to the same value (the field is part of the sum), so marking it is harmless.
 * No allocation.
 */
export function markPartialChecksums(pool: PacketPool, slots: Int32Array, n: number): void {
  const b = pool.bytes;
  for (let i = 0; i < n; i++) {
    const slot = slots[i];
    const off = pool.dataOff[slot];
    const end = off + pool.len[slot];
    const v = off - VNET_HDR_LEN;
    if (b[v + VNET_FLAGS] !== 0 || b[v + VNET_GSO_TYPE] !== VNET_GSO_NONE) continue;
    let p = off + 12;
    if (p + 2 > end) continue;
    let type = (b[p] << 8) | b[p + 1];
    while ((type === 0x8100 || type === 0x88a8) && p + 6 <= end) {
      p += 4;
      type = (b[p] << 8) | b[p + 1];
    }
    p += 2;
    let l4: number;
    let l4len: number;
    let proto: number;
    let sum: number;
    if (type === ETH_P_IPV4 && p + 20 <= end && b[p] >> 4 === 4) {
      if ((((b[p + 6] << 8) | b[p + 7]) & 0x3fff) !== 0) continue; // a fragment
      const ihl = (b[p] & 15) * 4;
      proto = b[p + 9];
      l4 = p + ihl;
      l4len = ((b[p + 2] << 8) | b[p + 3]) - ihl;
      sum = wordSum(b, p + 12, 8);
    } else if (type === ETH_P_IPV6 && p + 40 <= end) {
      proto = b[p + 6];
      l4 = p + 40;
      l4len = (b[p + 4] << 8) | b[p + 5];
      sum = wordSum(b, p + 8, 32);
    } else {
      continue;
    }
    const field = proto === IPPROTO_TCP ? 16 : proto === IPPROTO_UDP ? 6 : -1;
    if (field < 0 || l4len < field + 2 || l4 + l4len > end) continue;
    sum += proto + l4len;
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    if (((b[l4 + field] << 8) | b[l4 + field + 1]) !== sum) continue;
    const start = l4 - off;
    b[v + VNET_FLAGS] = VNET_F_NEEDS_CSUM;
    b[v + VNET_CSUM_START] = start & 0xff;
    b[v + VNET_CSUM_START + 1] = start >>> 8;
    b[v + VNET_CSUM_OFFSET] = field;
    b[v + VNET_CSUM_OFFSET + 1] = 0;
  }
}
