/*
 * A real OpenFlow 1.3 controller programs linc-ts: Debian's osken-manager
 * (python3-os-ken) runs the learning switch app of the Mininet test
 * (test/integration/mininet/learning_switch_13.py) on 127.0.0.1; linc-ts
 * connects to it (`--controller tcp:127.0.0.1:PORT --fail-mode secure`)
 * with three namespace hosts on TAP ports, and also listens for ovs-ofctl.
 *
 * In fail-mode secure nothing is forwarded but what the controller
 * decides: every host pings every other (ARP and ICMP go through packet-in
 * and packet-out until the app has learned both ends), then a 16 MiB TCP
 * transfer arrives intact. The app's log shows the packet-ins it answered
 * and the flows it installed, and ovs-ofctl dump-flows shows exactly those
 * flows: the table-miss entry to the controller and one learned flow
 * (in_port, eth_src, eth_dst) -> output per direction, which carried the
 * transfer (their byte counters exceed it).
 *
 * osken-manager is started here and stopped by its PID (SIGTERM, then
 * SIGKILL if it lingers); PYTHONDONTWRITEBYTECODE keeps __pycache__ out of
 * the checkout.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkMac, repoRoot, sh, SwitchProcess, Topology } from '../helpers/netns.js';
import { dumpFlows, freeTcpPort } from '../helpers/ovs-ofctl.js';
import { tcpTransfer } from '../helpers/traffic.js';
import { missing, netns, tool } from '../helpers/requirements.js';

const APP = join(repoRoot, 'test', 'integration', 'mininet', 'learning_switch_13.py');
const NET = '10.212.0';
const TRANSFER_BYTES = 16 << 20;
const DPID = '00000000000051ce';

class OsKen {
  readonly proc: ChildProcess;
  log = '';
  private readonly exited: Promise<number | null>;

  constructor(readonly port: number) {
    this.proc = spawn('osken-manager', ['--ofp-listen-host', '127.0.0.1', '--ofp-tcp-listen-port', String(port), APP], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    });
    this.proc.stdout!.setEncoding('utf8').on('data', (d: string) => (this.log += d));
    this.proc.stderr!.setEncoding('utf8').on('data', (d: string) => (this.log += d));
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
  }

  /** Resolves once its OpenFlow port is in LISTEN state (checked with ss: no connection to it). */
  async listening(timeoutMs = 20_000): Promise<void> {
    const t0 = Date.now();
    for (;;) {
      if (this.proc.exitCode !== null) throw new Error(`osken-manager exited ${this.proc.exitCode}: ${this.log}`);
      if (sh(`ss -Hltn 'sport = :${this.port}'`).trim() !== '') return;
      if (Date.now() - t0 > timeoutMs) throw new Error(`osken-manager not listening on ${this.port}: ${this.log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async waitForLog(re: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
    const t0 = Date.now();
    for (;;) {
      const m = re.exec(this.log);
      if (m) return m;
      if (this.proc.exitCode !== null) throw new Error(`osken-manager exited ${this.proc.exitCode}: ${this.log}`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`osken-manager never logged ${re}: ${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM by PID, SIGKILL after 5 s. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

describe.skipIf(missing(netns, tool('osken-manager'), tool('ovs-ofctl'), tool('ping'), tool('python3'), tool('ss')))('os-ken learning switch app controls linc-ts (fail-mode secure)', () => {
  const topo = new Topology();
  const taps = [1, 2, 3].map((i) => topo.ifname(`k${i}`));
  const ns: string[] = [];
  const macs: string[] = [];
  let osken: OsKen;
  let sw: SwitchProcess;
  let listenPort: number;

  beforeAll(async () => {
    osken = new OsKen(await freeTcpPort());
    await osken.listening();
    listenPort = await freeTcpPort();
    sw = await SwitchProcess.start([
      'run', ...taps.flatMap((t, i) => ['--port', `tap:${t}=${i + 1}`]), '--controller', `tcp:127.0.0.1:${osken.port}`, '--fail-mode', 'secure',
      '--listen', `ptcp:${listenPort}`, '--datapath-id', `0x${DPID}`, '--metrics', 'off', '--admin-socket', 'off',
    ]);
    for (const [i, t] of taps.entries()) {
      ns.push(topo.addNamespace(`k${i + 1}`));
      topo.attach(t, ns[i], `${NET}.${i + 1}/24`);
      macs.push(linkMac(ns[i], t));
    }
    await sw.waitForLog((l) => l.msg === 'controller connected' && l.target === `tcp:127.0.0.1:${osken.port}`);
  }, 60_000);

  afterAll(async () => {
    await sw?.stop();
    await osken?.stop();
    topo.cleanup();
  });

  it('the app sees the datapath and installs its table-miss entry', async () => {
    await osken.waitForLog(new RegExp(`datapath ${DPID} connected`));
    const t0 = Date.now();
    let flows = dumpFlows(listenPort);
    while (flows.length === 0 && Date.now() - t0 < 5000) {
      await new Promise((r) => setTimeout(r, 100));
      flows = dumpFlows(listenPort);
    }
    expect(flows.map((f) => [f.table, f.priority, f.fields, f.actions])).toEqual([[0, 0, {}, 'CONTROLLER:65535']]);
  });

  it('every host pings every other (through packet-ins, then the learned flows)', () => {
    for (const a of [1, 2, 3]) {
      for (const b of [1, 2, 3]) {
        if (a === b) continue;
        const out = topo.exec(ns[a - 1], `ping -c 3 -i 0.2 -W 3 ${NET}.${b}`);
        expect(out, `h${a} -> h${b}`).toMatch(/3 packets transmitted, 3 received/);
      }
    }
  });

  it('carries 16 MiB of TCP intact from h1 to h3', async () => {
    const r = await tcpTransfer(ns[0], ns[2], `${NET}.3`, TRANSFER_BYTES, 5201);
    expect(r.sentBytes).toBe(TRANSFER_BYTES);
    expect(r.receivedBytes).toBe(TRANSFER_BYTES);
    expect(r.receivedSha).toBe(r.sentSha);
    console.log(`os-ken learning switch: 16 MiB TCP h1 -> h3 through linc-ts in ${r.seconds.toFixed(2)} s`);
  });

  it('the app answered packet-ins and its flows are in dump-flows: one per direction, carrying the transfer', () => {
    // The app logs a line for each packet-in it answered with a new flow, and every error the switch sent.
    const learned = [...osken.log.matchAll(new RegExp(`datapath ${DPID} flow ([0-9a-f:]{17}) -> ([0-9a-f:]{17}): port (\\d+)`, 'g'))];
    expect(learned.length).toBeGreaterThanOrEqual(6);
    expect(osken.log).not.toMatch(/error type \d+ code \d+/);
    const pairs = new Set(learned.map((m) => `${m[1]} ${m[2]} ${m[3]}`));
    const expected: string[] = [];
    for (const a of [1, 2, 3]) for (const b of [1, 2, 3]) if (a !== b) expected.push(`${macs[a - 1]} ${macs[b - 1]} ${b}`);
    expect([...pairs].sort()).toEqual(expected.sort());

    const flows = dumpFlows(listenPort);
    const miss = flows.filter((f) => f.priority === 0);
    expect(miss.map((f) => [f.fields, f.actions])).toEqual([[{}, 'CONTROLLER:65535']]);
    expect(miss[0].nPackets).toBeGreaterThan(0); // the packet-ins
    const installed = flows.filter((f) => f.priority === 1);
    const asInstalled = installed.map((f) => `${f.fields.dl_src} ${f.fields.dl_dst} ${f.actions.replace('output:', '')}`);
    expect(asInstalled.sort()).toEqual(expected.sort());
    for (const f of installed) {
      expect(Object.keys(f.fields).sort()).toEqual(['dl_dst', 'dl_src', 'in_port']);
      expect(f.fields.in_port).toBe(String(macs.indexOf(f.fields.dl_src) + 1));
      expect(f.stats.idle_timeout).toBe('60');
    }
    // The transfer went through the flows (datapath), not packet-outs.
    const h1ToH3 = installed.find((f) => f.fields.dl_src === macs[0] && f.fields.dl_dst === macs[2])!;
    expect(h1ToH3.nBytes).toBeGreaterThan(TRANSFER_BYTES);
    expect(flows).toHaveLength(7);
  });
});
