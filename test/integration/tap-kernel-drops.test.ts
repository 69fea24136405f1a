/*
 * A TAP's kernel drops as the port reads them: a TapPort that is not polled,
 * moved into a namespace the test created, whose host sends more frames than
 * the TAP's queue to us holds. readKernelDrops() reports what the kernel
 * counted as the TAP's tx_dropped there, once (later reads add only new ones).
 */

import { afterAll, describe, expect, it } from 'vitest';
import { PacketPool } from '../../src/packet/pool.js';
import { TapPort } from '../../src/ports/tap-port.js';
import { linkStats, Topology } from '../helpers/netns.js';
import { missing, netns, tool } from '../helpers/requirements.js';

describe.skipIf(missing(netns, tool('python3')))('TAP kernel drops', () => {
  const topo = new Topology();
  let tap: TapPort | null = null;

  afterAll(() => {
    tap?.close();
    topo.cleanup();
  });

  it('reads the TAP\'s tx_dropped in the namespace it was moved to, as new drops since the last read', () => {
    const ns = topo.addNamespace('t');
    const name = topo.ifname('tp');
    tap = TapPort.open({ name, ofPort: 1, pool: new PacketPool(), burst: 32 });
    topo.attach(name, ns, '10.217.0.1/24');
    topo.exec(ns, `ip neigh add 10.217.0.2 lladdr 02:00:00:00:00:02 dev ${name}`);
    const send = (n: number) =>
      topo.exec(ns, `python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); [s.sendto(b'x' * 20, ('10.217.0.2', 9)) for _ in range(${n})]"`);
    send(10_000); // nobody reads the TAP: its queue (4096 frames) fills, the rest is dropped
    const kernel = linkStats(ns, name).txDropped;
    expect(kernel).toBeGreaterThan(0);
    expect(tap.readKernelDrops()).toBe(kernel);
    expect(tap.readKernelDrops()).toBe(0);
    send(100);
    expect(tap.readKernelDrops()).toBe(linkStats(ns, name).txDropped - kernel);
  });
});
