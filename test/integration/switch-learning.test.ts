/*
 * Three namespace hosts on TAP ports: once addresses are learned, unicast
 * reaches only its destination (the third host's counters do not move) and
 * broadcast reaches every host.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkStats, SwitchProcess, Topology } from '../helpers/netns.js';
import { missing, netns, tool } from '../helpers/requirements.js';
import { pythonIn, udpFlood } from '../helpers/traffic.js';

describe.skipIf(missing(netns, tool('ping'), tool('python3')))('learning with three hosts', () => {
  const topo = new Topology();
  let sw: SwitchProcess;
  const ns: string[] = [];
  const taps = ['t1', 't2', 't3'].map((t) => topo.ifname(t));

  beforeAll(async () => {
    sw = await SwitchProcess.start(['run', ...taps.flatMap((t, i) => ['--port', `tap:${t}=${i + 1}`])]);
    for (let i = 0; i < 3; i++) {
      ns.push(topo.addNamespace(`h${i + 1}`));
      topo.attach(taps[i], ns[i], `10.203.0.${i + 1}/24`);
    }
    // Learn every host: each pings the others once.
    topo.exec(ns[0], 'ping -c 1 -W 2 10.203.0.2');
    topo.exec(ns[0], 'ping -c 1 -W 2 10.203.0.3');
    topo.exec(ns[1], 'ping -c 1 -W 2 10.203.0.3');
  });

  afterAll(async () => {
    await sw?.stop();
    topo.cleanup();
  });

  it('sends learned unicast only to its destination', async () => {
    const before = linkStats(ns[2], taps[2]);
    const got = await udpFlood(ns[0], ns[1], '10.203.0.2', 5000, 100);
    const after = linkStats(ns[2], taps[2]);
    expect(got).toBe(5000);
    expect(after.rxPackets - before.rxPackets).toBe(0);
  });

  it('floods broadcast to every other host', async () => {
    const b1 = linkStats(ns[1], taps[1]);
    const b2 = linkStats(ns[2], taps[2]);
    const send = `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
for i in range(300):
    s.sendto(b"x" * 64, ("10.203.0.255", 9))
`;
    await pythonIn(ns[0], send).done;
    await new Promise((r) => setTimeout(r, 300));
    expect(linkStats(ns[1], taps[1]).rxPackets - b1.rxPackets).toBeGreaterThanOrEqual(300);
    expect(linkStats(ns[2], taps[2]).rxPackets - b2.rxPackets).toBeGreaterThanOrEqual(300);
  });
});
