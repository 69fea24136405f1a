/*
 * PacketPort following its interface by name, on a real veth (no switch):
 * opened while the interface does not exist it is detached (down, presence
 * 'missing'; sends fail with ENODEV); rebind() binds it when the interface
 * appears, and again after it is deleted and re-created (new ifindex). A
 * socket bound while its interface was still down sends its very first
 * frame, and a send after a link flap is not lost to the ENETDOWN the flap
 * left pending on the socket. closeOffThread() closes it off the event loop.
 */

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { PacketPool } from '../../src/packet/pool.js';
import { VNET_HDR_LEN } from '../../src/packet/vnet.js';
import { ERRNO_ENODEV } from '../../src/ports/native-layout.js';
import { PacketPort } from '../../src/ports/packet-port.js';
import { uniq } from '../helpers/netns.js';
import { missing, root, tool } from '../helpers/requirements.js';

const SFX = uniq();
const NS = `ltrb${SFX}`;
const VIF = `ltrb${SFX}`;
const PEER = 'e0';

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
const ipQuiet = (...args: string[]) => {
  try {
    ip(...args);
  } catch {
    /* already gone */
  }
};

/** The peer's received frame count, inside the namespace. */
function peerRx(): number {
  const j = JSON.parse(ip('-n', NS, '-j', '-s', 'link', 'show', 'dev', PEER)) as Array<{ stats64: { rx: { packets: number } } }>;
  return j[0].stats64.rx.packets;
}

/** Send one broadcast ARP-typed frame through `port`; returns what txBurst returned. */
function sendOne(port: PacketPort, pool: PacketPool): number {
  const slots = new Int32Array(1);
  expect(pool.allocBurst(slots, 1)).toBe(1);
  const s = slots[0];
  const off = pool.dataOff[s];
  pool.bytes.fill(0, off - VNET_HDR_LEN, off + 60);
  pool.bytes.fill(0xff, off, off + 6);
  pool.bytes.set([0x02, 0, 0, 0, 0, 0x77, 0x08, 0x06], off + 6);
  pool.len[s] = 60;
  const r = port.txBurst(pool, slots, 1);
  pool.releaseBurst(slots, 0, 1);
  return r;
}

function createVif(): void {
  // Left down: rebind() binds while it is down, then raises it (as the switch does with every if: port).
  ip('link', 'add', VIF, 'type', 'veth', 'peer', 'name', PEER, 'netns', NS);
  // No IPv6 on our end: its router solicitations and MLD reports would count as frames the peer received.
  writeFileSync(`/proc/sys/net/ipv6/conf/${VIF}/disable_ipv6`, '1');
  ip('-n', NS, 'link', 'set', PEER, 'up');
}

describe.skipIf(missing(root, tool('ip')))('PacketPort follows its interface by name', () => {
  const pool = new PacketPool({ slots: 64 });
  let port: PacketPort | undefined;

  afterAll(() => {
    port?.close();
    ipQuiet('link', 'del', VIF);
    ipQuiet('netns', 'del', NS);
  });

  it('waits detached for a missing interface, binds when it appears, sends at once, and re-binds after re-creation', async () => {
    ip('netns', 'add', NS);
    expect(() => PacketPort.open({ name: VIF, ofPort: 1, pool, burst: 8 })).toThrow(/no such interface/);
    port = PacketPort.open({ name: VIF, ofPort: 1, pool, burst: 8, waitForInterface: true });
    expect(port.attached).toBe(false);
    expect(port.ifindex).toBe(0);
    expect(port.link()).toMatchObject({ adminUp: false, carrier: false, ifindex: 0, presence: 'missing' });
    expect(port.rxBurst(pool, new Int32Array(8), 8)).toBe(0);
    expect(sendOne(port, pool)).toBe(-ERRNO_ENODEV);
    expect(port.lastErrno).toBe(ERRNO_ENODEV);
    expect(port.rebind()).toBe(false); // still nothing to bind to

    createVif();
    expect(port.rebind()).toBe(true);
    const first = port.ifindex;
    expect(first).toBeGreaterThan(0);
    expect(port.link()).toMatchObject({ adminUp: true, ifindex: first });
    expect(port.link().presence).toBeUndefined();
    expect(port.rebind()).toBe(false); // the same interface: nothing to do
    const rx0 = peerRx();
    expect(sendOne(port, pool)).toBe(1); // no ENETDOWN left over from binding while it was down
    expect(peerRx()).toBe(rx0 + 1);

    ip('link', 'set', VIF, 'down');
    ip('link', 'set', VIF, 'up');
    expect(sendOne(port, pool)).toBe(1); // the flap's pending ENETDOWN does not cost a frame
    expect(peerRx()).toBe(rx0 + 2);

    ip('link', 'del', VIF);
    expect(port.link()).toMatchObject({ adminUp: false, presence: 'missing' });
    expect(port.rebind()).toBe(true);
    expect(port.attached).toBe(false);
    createVif();
    expect(port.rebind()).toBe(true);
    expect(port.ifindex).not.toBe(first);
    expect(sendOne(port, pool)).toBe(1);
    expect(peerRx()).toBe(1);

    await port.closeOffThread();
    expect(port.isClosed).toBe(true);
    expect(port.rebind()).toBe(false);
    expect(sendOne(port, pool)).toBe(-ERRNO_ENODEV);
  });
});
