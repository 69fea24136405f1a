/*
 * --busy-poll: the switch polls its ports in a loop instead of sleeping; it
 * must still forward (ping, TCP) and still serve its event loop (a clean
 * SIGTERM shutdown).
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SwitchProcess, Topology } from '../helpers/netns.js';
import { tcpTransfer } from '../helpers/traffic.js';
import { missing, netns, tool } from '../helpers/requirements.js';

describe.skipIf(missing(netns, tool('ping')))('busy-poll mode', () => {
  const topo = new Topology();
  let sw: SwitchProcess;
  let nsA: string;
  let nsB: string;

  beforeAll(async () => {
    const a = topo.ifname('pa');
    const b = topo.ifname('pb');
    sw = await SwitchProcess.start(['run', '--busy-poll', '--port', `tap:${a}=1`, '--port', `tap:${b}=2`, '--metrics', 'off', '--admin-socket', 'off']);
    [nsA, nsB] = topo.tapHosts(a, b, '10.204.0');
  });

  afterAll(async () => {
    await sw?.stop();
    topo.cleanup();
  });

  it('forwards ping and a TCP transfer, then stops cleanly', async () => {
    expect(topo.exec(nsA, 'ping -c 5 -i 0.1 -W 2 10.204.0.2')).toMatch(/5 received/);
    const r = await tcpTransfer(nsA, nsB, '10.204.0.2', 16 << 20);
    expect(r.receivedSha).toBe(r.sentSha);
    expect(await sw.stop()).toBe(0);
  });
});
