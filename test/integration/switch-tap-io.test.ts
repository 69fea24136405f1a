/*
 * TAP ports with each kernel I/O mode, forced by the port option io=:
 * io=uring (one io_uring_enter per burst, src/ports/native/uring.cc) and
 * io=rw (the read/write fallback). Each mode carries ping, a bounded UDP
 * flood and a TCP transfer checked end to end between two namespaces, and
 * the admin status route names the mode each port uses.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRequest, type AdminSwitchStatus } from '../../src/stats/admin.js';
import { SwitchProcess, Topology } from '../helpers/netns.js';
import { missing, netns, tool } from '../helpers/requirements.js';
import { tcpTransfer, udpFlood } from '../helpers/traffic.js';

describe.skipIf(missing(netns, tool('ping')))('TAP ports with io=uring and io=rw', () => {
  describe.each([
    ['uring', 'rw'],
    ['rw', 'uring'],
  ] as const)('port 1 io=%s, port 2 io=%s', (ioA, ioB) => {
    const topo = new Topology();
    const dir = mkdtempSync(join(tmpdir(), 'linc-tapio-'));
    const socket = join(dir, 'admin.sock');
    let sw: SwitchProcess;
    let nsA: string;
    let nsB: string;
    const tapA = topo.ifname('ia');
    const tapB = topo.ifname('ib');

    beforeAll(async () => {
      sw = await SwitchProcess.start(['run', '--port', `tap:${tapA}=1,io=${ioA}`, '--port', `tap:${tapB}=2,io=${ioB}`, '--metrics', 'off', '--admin-socket', socket]);
      [nsA, nsB] = topo.tapHosts(tapA, tapB, '10.203.0');
    });

    afterAll(async () => {
      await sw?.stop();
      topo.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    it('names each port\'s I/O mode in the status route', async () => {
      const status = await adminRequest<AdminSwitchStatus>(socket, 'GET', '/v1/status');
      expect(status.ports.find((p) => p.port === 1)?.io).toBe(ioA);
      expect(status.ports.find((p) => p.port === 2)?.io).toBe(ioB);
    });

    it('carries ping, a bounded UDP flood and a TCP transfer intact', async () => {
      // Errors from here on: a frame the switch forwarded while the hosts' set-up moved a TAP into its
      // namespace (the TAP down for a moment) may fail with EIO before the test's traffic starts.
      const errors = (st: AdminSwitchStatus) =>
        st.ports.filter((p) => p.port === 1 || p.port === 2).reduce((n, p) => n + p.rx!.errors + p.tx!.errors, 0);
      const errors0 = errors(await adminRequest<AdminSwitchStatus>(socket, 'GET', '/v1/status'));
      expect(topo.exec(nsA, 'ping -c 3 -i 0.2 -W 2 10.203.0.2')).toMatch(/3 received/);
      expect(await udpFlood(nsA, nsB, '10.203.0.2', 5_000, 200)).toBe(5_000);
      const r = await tcpTransfer(nsA, nsB, '10.203.0.2', 16 << 20);
      expect(r.receivedBytes).toBe(16 << 20);
      expect(r.receivedSha).toBe(r.sentSha);
      const status = await adminRequest<AdminSwitchStatus>(socket, 'GET', '/v1/status');
      const p1 = status.ports.find((p) => p.port === 1)!;
      const p2 = status.ports.find((p) => p.port === 2)!;
      expect(p1.rx!.frames).toBeGreaterThan(5_000);
      expect(p2.tx!.frames).toBeGreaterThan(5_000);
      expect(errors(status) - errors0).toBe(0);
    });
  });
});
