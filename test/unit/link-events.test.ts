/*
 * Kernel link notifications: the rtnetlink parser on messages built here
 * byte by byte (nlmsghdr, ifinfomsg, IFLA_* attributes, 4-byte alignment),
 * and the datapath's use of them: a notification naming a port's interface
 * (or the ifindex it last had) re-binds and re-reads that port and only
 * that one; lost notifications re-read every port; the tick's poll then
 * reads only the ports no notification speaks of. A real NETLINK_ROUTE
 * socket is covered by test/integration/port-lifecycle.test.ts.
 */

import { describe, expect, it } from 'vitest';
import { Datapath, type DpPort } from '../../src/datapath/datapath.js';
import type { LinkWatch } from '../../src/datapath/port-table.js';
import { PacketPool } from '../../src/packet/pool.js';
import { parseLinkDatagrams, parseLinkMessages, RTM_DELLINK, RTM_NEWLINK, type LinkEvent, type LinkEventsListener } from '../../src/ports/link-events.js';
import { MemoryPort } from '../../src/ports/memory-port.js';
import type { LinkInfo } from '../../src/ports/port.js';

interface Attr {
  type: number;
  data: Uint8Array;
}

const u32 = (v: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
};
const cstr = (s: string) => Uint8Array.from([...Buffer.from(s, 'utf8'), 0]);

/** One netlink message of `type` with an ifinfomsg and attributes (little-endian, as on this machine). */
function linkMessage(type: number, ifindex: number, flags: number, attrs: Attr[]): Uint8Array {
  const parts: number[] = [];
  const push = (bytes: ArrayLike<number>) => {
    for (let i = 0; i < bytes.length; i++) parts.push(bytes[i]);
  };
  const ifinfo = new Uint8Array(16);
  const iv = new DataView(ifinfo.buffer);
  iv.setUint8(0, 0); // AF_UNSPEC
  iv.setUint16(2, 1, true); // ARPHRD_ETHER
  iv.setInt32(4, ifindex, true);
  iv.setUint32(8, flags, true);
  iv.setUint32(12, 0xffffffff, true);
  push(ifinfo);
  for (const a of attrs) {
    const len = 4 + a.data.length;
    const h = new Uint8Array(4);
    new DataView(h.buffer).setUint16(0, len, true);
    new DataView(h.buffer).setUint16(2, a.type, true);
    push(h);
    push(a.data);
    while (parts.length % 4 !== 0) parts.push(0);
  }
  const hdr = new Uint8Array(16);
  const hv = new DataView(hdr.buffer);
  hv.setUint32(0, 16 + parts.length, true);
  hv.setUint16(4, type, true);
  return Uint8Array.from([...hdr, ...parts]);
}

const concat = (...m: Uint8Array[]) => Uint8Array.from(m.flatMap((x) => [...x]));

/** The addon's read buffer: each datagram after its header (length, namespace id; -1 this one), 4-byte aligned. */
function framed(...datagrams: Array<[Uint8Array, number]>): Uint8Array {
  const out: number[] = [];
  for (const [d, nsid] of datagrams) {
    const h = new Uint8Array(8);
    new DataView(h.buffer).setUint32(0, d.length, true);
    new DataView(h.buffer).setInt32(4, nsid, true);
    out.push(...h, ...d);
    while (out.length % 4 !== 0) out.push(0);
  }
  return Uint8Array.from(out);
}

describe('parseLinkMessages', () => {
  it('reads name, ifindex, flags, MTU and MAC of RTM_NEWLINK and RTM_DELLINK, across aligned messages', () => {
    const mac = Uint8Array.from([0x02, 0, 0, 0, 0, 0x0a]);
    const a = linkMessage(RTM_NEWLINK, 7, 0x11043, [{ type: 3, data: cstr('vif1.0') }, { type: 4, data: u32(9000) }, { type: 1, data: mac }]);
    const b = linkMessage(RTM_DELLINK, 8, 0x1002, [{ type: 3, data: cstr('veth12') }]); // 7-byte name: padded to 8
    const buf = concat(a, b);
    expect(parseLinkMessages(buf, buf.length)).toEqual([
      { type: 'new', ifindex: 7, name: 'vif1.0', flags: 0x11043, mtu: 9000, mac: 0x02000000000a, nsid: null },
      { type: 'del', ifindex: 8, name: 'veth12', flags: 0x1002, mtu: 0, mac: 0, nsid: null },
    ]);
  });

  it('reads the addon\'s datagrams with the namespace each speaks of (null: this one)', () => {
    const here = concat(linkMessage(RTM_NEWLINK, 7, 1, [{ type: 3, data: cstr('a') }]), linkMessage(RTM_NEWLINK, 8, 1, [{ type: 3, data: cstr('b') }]));
    const there = linkMessage(RTM_NEWLINK, 7, 0, [{ type: 3, data: cstr('tap0') }]);
    const buf = framed([here, -1], [there, 2]);
    expect(parseLinkDatagrams(buf, buf.length).map((e) => [e.name, e.ifindex, e.nsid])).toEqual([['a', 7, null], ['b', 8, null], ['tap0', 7, 2]]);
    // A datagram longer than what was read ends the batch.
    expect(parseLinkDatagrams(buf, buf.length - 4).map((e) => e.name)).toEqual(['a', 'b']);
  });

  it('skips other message types and unknown or nested attributes', () => {
    const route = linkMessage(24 /* RTM_NEWROUTE */, 1, 0, [{ type: 3, data: cstr('nope') }]);
    const nested = linkMessage(RTM_NEWLINK, 3, 1, [{ type: 0x8000 | 18, data: new Uint8Array(8) }, { type: 3, data: cstr('eth0') }]);
    const buf = concat(route, nested);
    expect(parseLinkMessages(buf, buf.length)).toEqual([{ type: 'new', ifindex: 3, name: 'eth0', flags: 1, mtu: 0, mac: 0, nsid: null }]);
  });

  it('keeps what came before a truncated message and never reads past len', () => {
    const a = linkMessage(RTM_NEWLINK, 1, 1, [{ type: 3, data: cstr('a') }]);
    const b = linkMessage(RTM_NEWLINK, 2, 1, [{ type: 3, data: cstr('bbbbbb') }]);
    const buf = concat(a, b);
    expect(parseLinkMessages(buf, buf.length - 3).map((e) => e.name)).toEqual(['a']);
    expect(parseLinkMessages(buf, a.length).map((e) => e.name)).toEqual(['a']);
    // A length field that lies (smaller than a header) ends the batch instead of looping.
    const bad = concat(a, Uint8Array.from([8, 0, 0, 0, 16, 0, 0, 0, ...new Array<number>(8).fill(0)]));
    expect(parseLinkMessages(bad, bad.length).map((e) => e.name)).toEqual(['a']);
    // An attribute running past its message ends that message's attributes only.
    const broken = linkMessage(RTM_NEWLINK, 5, 1, [{ type: 3, data: cstr('x') }]);
    new DataView(broken.buffer).setUint16(32, 200, true);
    expect(parseLinkMessages(broken, broken.length)).toEqual([{ type: 'new', ifindex: 5, name: '', flags: 1, mtu: 0, mac: 0, nsid: null }]);
  });
});

/** A port bound to an interface by name: link() and rebind() as the test sets them, counted. */
class NamedPort extends MemoryPort {
  state: LinkInfo = { adminUp: true, carrier: true, mtu: 1500, mac: 1, ifindex: 10 };
  rebinds = 0;
  reads = 0;
  constructor(
    name: string,
    ofPort: number,
    private readonly watched: boolean,
  ) {
    super({ name, ofPort });
  }
  override watchName(): string | null {
    return this.watched ? this.name : null;
  }
  rebind(): boolean {
    this.rebinds++;
    return false;
  }
  override link(): LinkInfo {
    this.reads++;
    return { ...this.state };
  }
}

class FakeWatch implements LinkWatch {
  listener: LinkEventsListener | null = null;
  closed = false;
  start(l: LinkEventsListener): void {
    this.listener = l;
  }
  close(): void {
    this.closed = true;
  }
}

const ev = (name: string, ifindex: number, type: LinkEvent['type'] = 'new', nsid: number | null = null): LinkEvent => ({ type, ifindex, name, flags: 1, mtu: 1500, mac: 1, nsid });

describe('datapath link state from notifications', () => {
  function setup() {
    const dp = new Datapath({ pool: new PacketPool({ slots: 256 }), burst: 8 });
    const vif = new NamedPort('vif1', 1, true);
    const other = new NamedPort('vif2', 2, true);
    const moved = new NamedPort('tapx', 3, false);
    for (const p of [vif, other, moved]) dp.addPort(p);
    const changes: Array<[number, LinkInfo]> = [];
    dp.onLinkChange((d: DpPort, l) => changes.push([d.ofPort, l]));
    const watch = new FakeWatch();
    dp.watchLinks(watch);
    for (const p of [vif, other, moved]) p.reads = 0;
    return { dp, vif, other, moved, changes, watch };
  }

  it('re-binds and re-reads the port a notification names (by name or by its last ifindex), and only it', () => {
    const { vif, other, moved, changes, watch } = setup();
    vif.state = { ...vif.state, adminUp: false };
    watch.listener!([ev('vif1', 99)]);
    expect([vif.rebinds, other.rebinds, moved.rebinds]).toEqual([1, 0, 0]);
    expect([other.reads, moved.reads]).toEqual([0, 0]);
    expect(changes.map(([n, l]) => [n, l.adminUp])).toEqual([[1, false]]);
    // A deletion names the ifindex the port had (the name may already be someone else's).
    other.state = { ...other.state, adminUp: false, ifindex: 0, presence: 'missing' };
    watch.listener!([ev('renamed', 10, 'del')]);
    expect(changes.map(([n]) => n)).toEqual([1, 2]); // vif1's ifindex was 10 too: re-read, unchanged, not reported again
    expect(changes[1][1]).toMatchObject({ presence: 'missing', ifindex: 0 });
  });

  it('re-reads the ports living elsewhere when another namespace announces a change, whatever its names and ifindexes', () => {
    const { vif, other, moved, watch } = setup();
    watch.listener!([ev('vif1', 10, 'new', 3)]); // the same name and ifindex as vif1 here: not ours
    expect([vif.rebinds, other.rebinds, moved.rebinds]).toEqual([0, 0, 1]);
  });

  it('re-reads every port when notifications were lost', () => {
    const { vif, other, moved, watch } = setup();
    watch.listener!(null);
    expect([vif.rebinds, other.rebinds, moved.rebinds]).toEqual([1, 1, 1]);
  });

  it('polls only the ports no notification speaks of while watching, every port without', () => {
    const { dp, vif, other, moved, watch } = setup();
    dp.tick();
    expect([vif.reads, other.reads, moved.reads]).toEqual([0, 0, 1]);
    dp.stop();
    expect(watch.closed).toBe(true);
    expect(dp.watchingLinks).toBe(false);
    dp.pollLinks();
    expect([vif.reads, other.reads, moved.reads]).toEqual([1, 1, 2]);
  });

  it('tells the port listeners of ports added and removed, right away', () => {
    const dp = new Datapath({ pool: new PacketPool({ slots: 256 }), burst: 8 });
    const seen: string[] = [];
    dp.onPortAdded((d) => seen.push(`+${d.ofPort}`));
    dp.onPortRemoved((d) => seen.push(`-${d.ofPort}`));
    dp.addPort(new MemoryPort({ name: 'a', ofPort: 4 }));
    dp.addPort(new MemoryPort({ name: 'b', ofPort: 5 }));
    dp.removePort(4);
    expect(dp.removePort(4)).toBeUndefined();
    expect(seen).toEqual(['+4', '+5', '-4']);
  });
});
