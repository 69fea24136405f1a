/*
 * Kernel link notifications: what rtnetlink tells every listener of the
 * RTMGRP_LINK group about the interfaces of this network namespace
 * (RTM_NEWLINK: appeared, renamed, went up or down, changed MTU or MAC;
 * RTM_DELLINK: deleted, or moved into another namespace), and, where the
 * kernel lets us listen there, about the namespaces with an id here (where
 * our TAPs were moved). The addon's NETLINK_ROUTE socket (native/netlink.cc)
 * hands over the raw datagrams, each after a header (length, namespace id);
 * parseLinkDatagrams reads them (nlmsghdr, ifinfomsg, the IFLA_IFNAME,
 * IFLA_MTU and IFLA_ADDRESS attributes) and LinkMonitor delivers them.
 *
 * Invariants
 * - Parsing never throws: a truncated or malformed message ends the batch
 *   (what came before it is kept); messages of other types are skipped.
 * - Lost notifications (the socket's queue overran) are reported as `null`
 *   instead of a batch: the listener must re-read every link it cares for.
 * - Slow path only; one read buffer per monitor, allocated once.
 */

import { endianness } from 'node:os';
import { loadNative, type NativeNetlinkSocket } from './native.js';
import { ERRNO_ENOBUFS } from './native-layout.js';

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
/** struct nlmsghdr: len u32, type u16, flags u16, seq u32, pid u32. */
const NLMSG_HDRLEN = 16;
/** struct ifinfomsg: family u8, pad u8, type u16, index s32, flags u32, change u32. */
const IFINFOMSG_LEN = 16;
/** struct rtattr: len u16, type u16. */
const RTA_HDRLEN = 4;
const NLA_TYPE_MASK = 0x3fff;
const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const ETH_ALEN = 6;
/** Interface flags (linux/if.h): administratively up; operationally up (carrier). */
export const IFF_UP = 0x1;
export const IFF_RUNNING = 0x40;

/** One interface as a notification describes it. */
export interface LinkEvent {
  /** 'new': exists (appeared or changed); 'del': gone from this namespace. */
  readonly type: 'new' | 'del';
  readonly ifindex: number;
  /** '' when the message carried no name. */
  readonly name: string;
  /** IFF_* flags (IFF_UP, IFF_RUNNING, IFF_LOWER_UP, ...). */
  readonly flags: number;
  /** 0 when not carried. */
  readonly mtu: number;
  /** 48-bit MAC as a number, 0 when not carried or not Ethernet-sized. */
  readonly mac: number;
  /** The id, in this namespace, of the namespace the interface is in; null: this one. */
  readonly nsid: number | null;
}

const align4 = (n: number) => (n + 3) & ~3;
const LITTLE = endianness() === 'LE';

/** Header before each datagram in the addon's read buffer: its length (u32), the namespace id (i32, -1: this one). */
const DATAGRAM_HEADER = 8;

/** The notifications of the addon's read buffer buf[0, len): datagrams, each after its header. */
export function parseLinkDatagrams(buf: Uint8Array, len: number): LinkEvent[] {
  const view = new DataView(buf.buffer, buf.byteOffset, Math.min(len, buf.byteLength));
  const events: LinkEvent[] = [];
  let off = 0;
  while (off + DATAGRAM_HEADER <= view.byteLength) {
    const dLen = view.getUint32(off, LITTLE);
    const nsid = view.getInt32(off + 4, LITTLE);
    const start = off + DATAGRAM_HEADER;
    if (start + dLen > view.byteLength) break;
    events.push(...parseLinkMessages(buf.subarray(start, start + dLen), dLen, nsid < 0 ? null : nsid));
    off = start + align4(dLen);
  }
  return events;
}

/** The link notifications in buf[0, len): netlink messages in host byte order (one or more datagrams' worth). */
export function parseLinkMessages(buf: Uint8Array, len: number, nsid: number | null = null): LinkEvent[] {
  const view = new DataView(buf.buffer, buf.byteOffset, Math.min(len, buf.byteLength));
  const end = view.byteLength;
  const events: LinkEvent[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= end) {
    const msgLen = view.getUint32(off, LITTLE);
    const type = view.getUint16(off + 4, LITTLE);
    if (msgLen < NLMSG_HDRLEN || off + msgLen > end) break;
    if ((type === RTM_NEWLINK || type === RTM_DELLINK) && msgLen >= NLMSG_HDRLEN + IFINFOMSG_LEN) {
      const body = off + NLMSG_HDRLEN;
      const ifindex = view.getInt32(body + 4, LITTLE);
      const flags = view.getUint32(body + 8, LITTLE);
      let name = '';
      let mtu = 0;
      let mac = 0;
      let a = body + IFINFOMSG_LEN;
      const msgEnd = off + msgLen;
      while (a + RTA_HDRLEN <= msgEnd) {
        const aLen = view.getUint16(a, LITTLE);
        const aType = view.getUint16(a + 2, LITTLE) & NLA_TYPE_MASK;
        if (aLen < RTA_HDRLEN || a + aLen > msgEnd) break;
        const data = a + RTA_HDRLEN;
        const dLen = aLen - RTA_HDRLEN;
        if (aType === IFLA_IFNAME) {
          let e = data;
          while (e < data + dLen && buf[e] !== 0) e++;
          name = Buffer.from(buf.buffer, buf.byteOffset + data, e - data).toString('utf8');
        } else if (aType === IFLA_MTU && dLen >= 4) {
          mtu = view.getUint32(data, LITTLE);
        } else if (aType === IFLA_ADDRESS && dLen === ETH_ALEN) {
          for (let i = 0; i < ETH_ALEN; i++) mac = mac * 256 + buf[data + i];
        }
        a += align4(aLen);
      }
      events.push({ type: type === RTM_NEWLINK ? 'new' : 'del', ifindex, name, flags, mtu, mac, nsid });
    }
    off += align4(msgLen);
  }
  return events;
}

/** Told of each batch of notifications, or of `null`: some were lost, re-read every link. */
export type LinkEventsListener = (events: readonly LinkEvent[] | null) => void;

/** Bytes read per read() call: room for thousands of notifications. */
const READ_BUFFER_BYTES = 256 * 1024;

/** The kernel's link notifications of this network namespace, delivered in batches. */
export class LinkMonitor {
  private readonly buf = new Uint8Array(READ_BUFFER_BYTES);
  private closed = false;

  private constructor(private readonly socket: NativeNetlinkSocket) {}

  /** Open the notification socket; throws (a NativeSysError) when the kernel refuses it. */
  static open(): LinkMonitor {
    return new LinkMonitor(loadNative().openLinkEvents());
  }

  /** Deliver every batch to `listener` from now on (on the event loop, one call per wakeup). */
  start(listener: LinkEventsListener): void {
    this.socket.startPoll(() => {
      const events: LinkEvent[] = [];
      let lost = false;
      for (;;) {
        const n = this.socket.read(this.buf);
        if (n === -ERRNO_ENOBUFS) {
          lost = true;
          continue; // the queue overran: drain the rest before reporting it
        }
        if (n < 0) break; // closed
        if (n === 0) break;
        events.push(...parseLinkDatagrams(this.buf, n));
      }
      if (lost) listener(null);
      else if (events.length > 0) listener(events);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}
