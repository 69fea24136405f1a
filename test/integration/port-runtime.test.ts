/*
 * Ports that come and go while the switch runs, on real interfaces: two
 * namespace hosts behind veths (if: ports 1 and 2) and TAPs the switch
 * creates for the ports added at run time.
 *
 * - `linc-ts port add/list/del` as a user runs them, output checked line by
 *   line; clashes and unknown ports refused with one line and exit 1.
 * - 50 ports added and removed through the admin socket while the hosts
 *   ping each other every 10 ms: not one ping lost.
 * - Real `ovs-ofctl monitor` on --listen sees port-status ADD, MODIFY (link
 *   down, link up) and DELETE as they happen.
 * - /metrics: linc_port_up follows the link, linc_port_info describes ports.
 * - A second switch asking for an interface the first holds is refused
 *   with one line naming the holder (the interface lock).
 * - SIGHUP re-reads the config file: ports added, removed and changed;
 *   settings that need a restart are named; a bad file changes nothing; the
 *   switch never stops.
 */

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PortListAnswer } from '../../src/port-routes.js';
import { adminRequest } from '../../src/stats/admin.js';
import { cliPath, linkMac, sh, SwitchProcess, Topology, uniq, type LogLine } from '../helpers/netns.js';
import { missing, root, tool } from '../helpers/requirements.js';
import { freeTcpPort } from '../helpers/ovs-ofctl.js';
import { backgroundPing } from '../helpers/ping.js';

const dir = mkdtempSync(join(tmpdir(), 'linc-ports-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `fn` every 50 ms until it returns true or `ms` passed; returns its last answer. */
async function until(fn: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const t0 = Date.now();
  for (;;) {
    if (await fn()) return true;
    if (Date.now() - t0 > ms) return false;
    await sleep(50);
  }
}

describe.skipIf(missing(root, tool('ip'), tool('ping')))('ports added and removed at run time', () => {
  const topo = new Topology();
  const outA = topo.ifname('ra');
  const outB = topo.ifname('rb');
  const sock = join(dir, 'rt.sock');
  let nsA: string;
  let nsB: string;
  let sw: SwitchProcess;
  let ofPort: number;
  let metricsUrl: string;
  const ports = () => adminRequest<PortListAnswer>(sock, 'GET', '/v1/ports').then((r) => r.ports);

  beforeAll(async () => {
    nsA = topo.addNamespace('ra');
    nsB = topo.addNamespace('rb');
    topo.veth(topo.ifname('ia'), outA, nsA, '10.203.0.1/24');
    topo.veth(topo.ifname('ib'), outB, nsB, '10.203.0.2/24');
    ofPort = await freeTcpPort();
    sw = await SwitchProcess.start([
      'run', '--port', `if:${outA}=1`, '--port', `if:${outB}=2`, '--admin-socket', sock, '--listen', `ptcp:${ofPort}`, '--metrics', '127.0.0.1:0',
    ]);
    metricsUrl = sw.logs.find((l) => l.msg === 'switch running')!.metrics as string;
    expect(topo.exec(nsA, 'ping -c 2 -i 0.2 -W 2 10.203.0.2')).toMatch(/2 received/);
  }, 60_000);

  afterAll(async () => {
    await sw?.stop();
    topo.cleanup();
  });

  it('linc-ts port add, list and del: one line each, refusals with one line and exit 1', () => {
    const t = `lpc${uniq()}`;
    const add = cli('port', 'add', `tap:${t}`, '-s', sock);
    expect(add).toEqual({ code: 0, out: `added port 3: tap:${t}=3 (up)\n`, err: '' });
    const clash = cli('port', 'add', `tap:${t}x=3`, '-s', sock);
    expect(clash).toEqual({ code: 1, out: '', err: `linc-ts: OpenFlow port number 3 is already used by ${t} (tap:${t}=3)\n` });
    const twice = cli('port', 'add', `if:${t}`, '-s', sock);
    expect(twice).toEqual({ code: 1, out: '', err: `linc-ts: port ${t} already exists (tap:${t}=3)\n` });
    const bad = cli('port', 'add', 'eth0', '-s', sock);
    expect(bad).toEqual({ code: 1, out: '', err: 'linc-ts: "eth0" is not a port spec: use tap:NAME[=OFPORT] or if:NAME[=OFPORT]\n' });
    const list = cli('port', 'list', '-s', sock);
    expect(list.code).toBe(0);
    expect(list.out.split('\n')).toEqual([
      expect.stringMatching(/^PORT {2}NAME +KIND {2}STATE$/),
      expect.stringMatching(new RegExp(`^ {3}1 {2}${outA} +if {4}up$`)),
      expect.stringMatching(new RegExp(`^ {3}2 {2}${outB} +if {4}up$`)),
      expect.stringMatching(new RegExp(`^ {3}3 {2}${t} +tap {3}up$`)),
      '',
    ]);
    const json = JSON.parse(cli('port', 'list', '--json', '-s', sock).out) as Array<{ port: number; kind: string; ifindex: number; mac: string }>;
    expect(json.map((p) => [p.port, p.kind])).toEqual([[1, 'if'], [2, 'if'], [3, 'tap']]);
    expect(json[0].mac).toBe(linkMac(null, outA));
    expect(cli('port', 'del', t, '-s', sock)).toEqual({ code: 0, out: `removed port 3: tap:${t}=3\n`, err: '' });
    expect(() => sh(`ip link show ${t}`)).toThrow(); // the TAP it created is gone with the port
    const gone = cli('port', 'del', '3', '-s', sock);
    expect(gone).toEqual({ code: 1, out: '', err: `linc-ts: no port 3 (ports: 1 ${outA}, 2 ${outB})\n` });
    const noSwitch = cli('port', 'list', '-s', join(dir, 'nobody.sock'));
    expect(noSwitch.code).toBe(1);
    expect(noSwitch.err).toMatch(/^linc-ts: no linc-ts switch at .*nobody\.sock: no such socket/);
  });

  it('loses no ping between two ports while 50 other ports are added and removed', async () => {
    const tag = uniq();
    const ping = backgroundPing(nsA, '10.203.0.2', { intervalS: 0.01, count: 600 });
    await sleep(300);
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) await adminRequest(sock, 'POST', '/v1/ports', { spec: `tap:lch${tag}${i}` });
    expect((await ports()).length).toBe(52);
    for (let i = 0; i < 50; i++) await adminRequest(sock, 'POST', '/v1/ports/delete', { port: `lch${tag}${i}` });
    const churnMs = performance.now() - t0;
    expect(ping.running()).toBe(true); // the churn happened while the ping ran
    const r = await ping.done;
    console.log(`50 ports added and removed in ${churnMs.toFixed(0)} ms; ping ${r.received}/${r.transmitted}`);
    expect(r.transmitted).toBe(600);
    expect(r.received).toBe(600);
    expect((await ports()).map((p) => p.port)).toEqual([1, 2]);
    expect(sw.logs.filter((l) => l.msg === 'port added' && String(l.ifname).startsWith(`lch${tag}`))).toHaveLength(50);
  }, 60_000);

  it.skipIf(missing(tool('ovs-ofctl')))('ovs-ofctl monitor sees port-status ADD, MODIFY on link down and up, and DELETE', async () => {
    const t = `lpm${uniq()}`;
    const rundir = mkdtempSync(join(dir, 'ovs-'));
    // A service connection gets asynchronous messages once it sets a miss_send_len (the 128).
    const mon = spawn('ovs-ofctl', ['-O', 'OpenFlow13', 'monitor', `tcp:127.0.0.1:${ofPort}`, '128'], { env: { ...process.env, OVS_RUNDIR: rundir }, stdio: ['ignore', 'pipe', 'pipe'] });
    // It prints the messages it receives on stderr (stdout stays empty): read both.
    let out = '';
    mon.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    mon.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    try {
      await sleep(800);
      const seen = (re: RegExp) => until(() => re.test(out), 3000);
      await adminRequest(sock, 'POST', '/v1/ports', { spec: `tap:${t}=40` });
      expect(await seen(new RegExp(`OFPT_PORT_STATUS \\(OF1\\.3\\) \\(xid=0x0\\): ADD: 40\\(${t}\\)`)), `ovs-ofctl monitor printed: ${out}`).toBe(true);
      sh(`ip link set ${t} down`);
      expect(await seen(new RegExp(`MOD: 40\\(${t}\\)[^]*?state: +LINK_DOWN`))).toBe(true);
      sh(`ip link set ${t} up`);
      expect(await seen(new RegExp(`MOD: 40\\(${t}\\)[^]*?state: +LINK_DOWN[^]*?MOD: 40\\(${t}\\)[^]*?state: +LIVE`))).toBe(true);
      await adminRequest(sock, 'POST', '/v1/ports/delete', { port: 40 });
      expect(await seen(new RegExp(`DEL: 40\\(${t}\\)`))).toBe(true);
      const reasons = [...out.matchAll(new RegExp(`\\): (ADD|MOD|DEL): 40\\(${t}\\)`, 'g'))].map((m) => m[1]);
      expect(reasons).toEqual(['ADD', 'MOD', 'MOD', 'DEL']);
    } finally {
      mon.kill('SIGTERM');
    }
  }, 30_000);

  it('exports linc_port_up (following the link) and linc_port_info in /metrics', async () => {
    const scrape = async () => (await fetch(metricsUrl)).text();
    const sample = (text: string, name: string, labels: string) => new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm').exec(text)?.[1];
    const ifindex = (JSON.parse(sh(`ip -j link show ${outB}`)) as Array<{ ifindex: number }>)[0].ifindex;
    let text = await scrape();
    expect(sample(text, 'linc_port_up', `port="2",name="${outB}"`)).toBe('1');
    expect(sample(text, 'linc_port_info', `port="2",name="${outB}",kind="if",ifindex="${ifindex}"`)).toBe('1');
    sh(`ip link set ${outB} down`);
    try {
      expect(await until(async () => sample(await scrape(), 'linc_port_up', `port="2",name="${outB}"`) === '0', 2000)).toBe(true);
      text = await scrape();
      expect(sample(text, 'linc_port_up', `port="1",name="${outA}"`)).toBe('1');
    } finally {
      sh(`ip link set ${outB} up`);
    }
    expect(await until(async () => sample(await scrape(), 'linc_port_up', `port="2",name="${outB}"`) === '1', 2000)).toBe(true);
  });

  it('refuses a second switch on an interface the first holds, naming the holder', () => {
    const r = cli('run', '--port', `if:${outA}`, '--admin-socket', 'off', '--metrics', 'off');
    expect(r.code).toBe(1);
    expect(r.err).toBe(`linc-ts: cannot open port if:${outA}: interface ${outA} is in use by another linc-ts switch (pid ${sw.pid}, admin socket ${sock})\n`);
    // The first switch still has the interface and forwards.
    expect(topo.exec(nsA, 'ping -c 1 -W 2 10.203.0.2')).toMatch(/1 received/);
  });
});

describe.skipIf(missing(root, tool('ip'), tool('ping')))('SIGHUP reloads the config file', () => {
  const sock = join(dir, 'hup.sock');
  const cfg = join(dir, 'hup.yaml');
  const tag = uniq();
  const t = (i: number) => `lhu${tag}${i}`;
  let sw: SwitchProcess;
  const names = async () => (await adminRequest<PortListAnswer>(sock, 'GET', '/v1/ports')).ports.map((p) => p.spec);
  const reloaded = async (n: number): Promise<LogLine> => {
    sw.proc.kill('SIGHUP');
    await sw.waitForLog((l) => l.msg === 'config reloaded' && sw.logs.filter((x) => x.msg === 'config reloaded').length >= n, 5000);
    return sw.logs.filter((x) => x.msg === 'config reloaded')[n - 1];
  };

  afterAll(async () => {
    await sw?.stop();
  });

  it('adds, removes and changes ports; names what needs a restart; a bad file changes nothing; the switch keeps running', async () => {
    writeFileSync(cfg, `ports:\n  - tap:${t(1)}=1\n  - tap:${t(2)}=2\n  - tap:${t(3)}=3\nburst: 32\n`);
    sw = await SwitchProcess.start(['run', '--config', cfg, '--admin-socket', sock, '--metrics', 'off']);
    writeFileSync(cfg, `ports:\n  - tap:${t(1)}=1\n  - tap:${t(3)}=7\n  - tap:${t(4)}\nburst: 16\n`);
    const r1 = await reloaded(1);
    expect(r1).toMatchObject({ added: [`tap:${t(4)}=2`], removed: [`tap:${t(2)}=2`], changed: [`tap:${t(3)}=7`], failed: 0, needsRestart: ['burst'] });
    expect(sw.logs.some((l) => l.msg === 'config reload: burst changed; needs a restart (kept as running)')).toBe(true);
    expect(await names()).toEqual([`tap:${t(1)}=1`, `tap:${t(4)}=2`, `tap:${t(3)}=7`]);
    expect(() => sh(`ip link show ${t(2)}`)).toThrow();

    writeFileSync(cfg, 'ports: [tap:a=1, tap:b=1]\n');
    sw.proc.kill('SIGHUP');
    await sw.waitForLog((l) => l.msg.startsWith('config reload refused, nothing changed: '), 5000);
    expect(sw.logs.find((l) => l.msg.startsWith('config reload refused'))!.msg).toMatch(/OpenFlow port number 1 is given to two ports/);
    expect(await names()).toEqual([`tap:${t(1)}=1`, `tap:${t(4)}=2`, `tap:${t(3)}=7`]);
    expect(sw.proc.exitCode).toBeNull();
    expect(await sw.stop()).toBe(0);
  }, 30_000);

  it('without --config, SIGHUP says there is nothing to re-read and the switch keeps running', async () => {
    const s = await SwitchProcess.start(['run', '--port', `tap:${t(9)}`, '--admin-socket', 'off', '--metrics', 'off']);
    try {
      s.proc.kill('SIGHUP');
      await s.waitForLog((l) => l.msg === 'reload asked (SIGHUP) but the switch was started without --config: nothing to re-read', 5000);
      await sleep(200);
      expect(s.proc.exitCode).toBeNull();
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });
});
