/*
 * OpenFlow over TLS and Unix sockets, with real peers on loopback and
 * certificates made here with openssl (a CA, keys it signs, and a second
 * "rogue" CA whose certificates must be refused), removed afterwards:
 *
 * - `--listen pssl:0:0.0.0.0` (client certificates required): Debian's
 *   `ovs-ofctl -O OpenFlow13 --private-key --certificate --ca-cert` over
 *   ssl: adds a flow and dumps it back; a client whose certificate comes
 *   from the rogue CA is refused and the switch logs `TLS peer refused`.
 * - `--listen punix:PATH`: ovs-ofctl dump-flows over unix: sees the same
 *   flow; the socket file is mode 0600 and gone after the switch exits.
 * - `--controller ssl:...`: osken-manager with --ctl-privkey, --ctl-cert,
 *   --ca-certs (the learning switch app of the Mininet test) accepts the
 *   switch, and the table-miss flow the app installs shows in dump-flows;
 *   a second controller target serving a rogue-CA certificate (a Node TLS
 *   server) is refused, logged with its target.
 * - Safe exposure: the TLS switch (pssl: on 0.0.0.0, metrics on 127.0.0.1)
 *   logs no exposure warning; a switch with ptcp: and metrics on 0.0.0.0
 *   logs one for each; its admin socket is mode 0600. Only loopback
 *   traffic is sent.
 */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, sh, SwitchProcess, Topology, type LogLine } from '../helpers/netns.js';
import { freeTcpPort } from '../helpers/ovs-ofctl.js';
import { missing, netns, tool } from '../helpers/requirements.js';
import { Pki, type KeyAndCert } from '../helpers/tls-certs.js';

const APP = join(repoRoot, 'test', 'integration', 'mininet', 'learning_switch_13.py');
const DPID = '0000000000007150';
const WARN = 40;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `ovs-ofctl -O OpenFlow13 [tls options] CMD TARGET [args]`, whatever its exit status. */
function ofctl(target: string, cmd: string, args: string[] = [], tls?: { key: string; cert: string; ca: string }): Run {
  const options = tls ? [`--private-key=${tls.key}`, `--certificate=${tls.cert}`, `--ca-cert=${tls.ca}`] : [];
  const r = spawnSync('ovs-ofctl', ['-O', 'OpenFlow13', ...options, cmd, target, ...args], { encoding: 'utf8', timeout: 15_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(r: Run): string {
  if (r.status !== 0) throw new Error(`ovs-ofctl exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** The flow lines of dump-flows, without the statistics that change (duration, counters). */
function flowLines(out: string): string[] {
  return out
    .split('\n')
    .filter((l) => l.includes('actions='))
    .map((l) => l.trim().replace(/^.*?n_bytes=\d+, /, ''));
}

async function until<T>(what: string, fn: () => T | null | undefined, timeoutMs = 15_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v !== null && v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

class OsKenTls {
  readonly proc: ChildProcess;
  log = '';

  constructor(readonly port: number, keys: KeyAndCert, caCert: string) {
    this.proc = spawn(
      'osken-manager',
      ['--ofp-listen-host', '127.0.0.1', '--ofp-ssl-listen-port', String(port), '--ctl-privkey', keys.key, '--ctl-cert', keys.cert, '--ca-certs', caCert, APP],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } },
    );
    this.proc.stdout!.setEncoding('utf8').on('data', (d: string) => (this.log += d));
    this.proc.stderr!.setEncoding('utf8').on('data', (d: string) => (this.log += d));
  }

  async listening(): Promise<void> {
    await until(`osken-manager listening on ${this.port}`, () => {
      if (this.proc.exitCode !== null) throw new Error(`osken-manager exited ${this.proc.exitCode}: ${this.log}`);
      return sh(`ss -Hltn 'sport = :${this.port}'`).trim() !== '' ? true : null;
    }, 20_000);
  }

  /** SIGTERM by PID, SIGKILL after 5 s. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}

describe.skipIf(missing(netns, tool('openssl'), tool('ovs-ofctl'), tool('osken-manager'), tool('python3'), tool('ss')))('OpenFlow over TLS (ssl:, pssl:) and punix:', () => {
  const topo = new Topology();
  const tap = topo.ifname('tl');
  let pki: Pki;
  let ca: KeyAndCert;
  let rogueCa: KeyAndCert;
  let client: { key: string; cert: string; ca: string };
  let rogueClient: { key: string; cert: string; ca: string };
  let osken: OsKenTls;
  let rogueController: TlsServer;
  let rogueSpec: string;
  let sw: SwitchProcess;
  let sslTarget: string;
  let unixPath: string;

  beforeAll(async () => {
    pki = new Pki();
    ca = pki.ca('ca');
    rogueCa = pki.ca('rogue-ca');
    const switchKeys = pki.issue(ca, 'switch');
    const ofctlKeys = pki.issue(ca, 'ofctl');
    const rogueKeys = pki.issue(rogueCa, 'rogue');
    client = { ...ofctlKeys, ca: ca.cert };
    // The rogue client trusts our CA (it would accept the switch); the switch must refuse it.
    rogueClient = { ...rogueKeys, ca: ca.cert };

    osken = new OsKenTls(await freeTcpPort(), pki.issue(ca, 'controller'), ca.cert);
    await osken.listening();
    rogueController = createTlsServer({ key: readFileSync(rogueKeys.key), cert: readFileSync(rogueKeys.cert) }, (s) => s.destroy());
    rogueController.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => rogueController.listen(0, '127.0.0.1', () => r()));
    rogueSpec = `ssl:127.0.0.1:${(rogueController.address() as { port: number }).port}`;

    unixPath = join(pki.dir, 'of.sock');
    sw = await SwitchProcess.start([
      'run', '--port', `tap:${tap}=1`, '--datapath-id', `0x${DPID}`, '--fail-mode', 'secure',
      '--listen', 'pssl:0:0.0.0.0', '--listen', `punix:${unixPath}`,
      '--controller', `ssl:127.0.0.1:${osken.port}`, '--controller', rogueSpec,
      '--private-key', switchKeys.key, '--certificate', switchKeys.cert, '--ca-cert', ca.cert,
      '--metrics', '127.0.0.1:0', '--admin-socket', 'off',
    ]);
    const l = await sw.waitForLog((x) => x.msg === 'openflow listener listening' && String(x.listen).startsWith('pssl:'));
    expect(l.address).toBe('0.0.0.0');
    // Connect over loopback only.
    sslTarget = `ssl:127.0.0.1:${l.port as number}`;
  }, 60_000);

  afterAll(async () => {
    await sw?.stop();
    await osken?.stop();
    rogueController?.close();
    topo.cleanup();
    pki?.remove();
  });

  it('ovs-ofctl over ssl: with a client certificate: add-flow, then dump-flows shows it', () => {
    ok(ofctl(sslTarget, 'add-flow', ['table=1,priority=77,ip,nw_dst=10.77.0.0/16,actions=output:1'], client));
    const flows = flowLines(ok(ofctl(sslTarget, 'dump-flows', ['table=1'], client)));
    expect(flows).toEqual(['priority=77,ip,nw_dst=10.77.0.0/16 actions=output:1']);
  });

  it('ovs-ofctl over punix: sees the same flow; the socket file is mode 0600', () => {
    const st = statSync(unixPath);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    const flows = flowLines(ok(ofctl(`unix:${unixPath}`, 'dump-flows', ['table=1'])));
    expect(flows).toEqual(['priority=77,ip,nw_dst=10.77.0.0/16 actions=output:1']);
  });

  it('osken-manager over ssl: controls the switch: its table-miss flow is in dump-flows', async () => {
    await sw.waitForLog((x) => x.msg === 'controller connected' && x.target === `ssl:127.0.0.1:${osken.port}`, 20_000);
    await until('the app to see the datapath', () => (osken.log.includes(`datapath ${DPID} connected`) ? true : null));
    const flows = await until('the table-miss flow', () => {
      const f = flowLines(ok(ofctl(sslTarget, 'dump-flows', ['table=0'], client)));
      return f.length > 0 ? f : null;
    });
    expect(flows).toEqual(['priority=0 actions=CONTROLLER:65535']);
    expect(osken.log).not.toMatch(/error type \d+ code \d+/);
  });

  it('refuses a client whose certificate another CA signed, and logs it', async () => {
    const r = ofctl(sslTarget, 'dump-flows', [], rogueClient);
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toMatch(/OFPST_FLOW reply/);
    const line = await sw.waitForLog((x) => x.msg === 'TLS peer refused' && x.listen === 'pssl:0:0.0.0.0');
    expect(line.level).toBe(WARN);
    expect(line.peer).toMatch(/^ssl:127\.0\.0\.1:\d+$/);
    expect(line.reason).toMatch(/^the client certificate does not verify against --ca-cert \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/);
  });

  it('refuses plain OpenFlow (no TLS) on the pssl: listener, and logs why', async () => {
    const r = ofctl(sslTarget.replace(/^ssl:/, 'tcp:'), 'dump-flows');
    expect(r.status).not.toBe(0);
    const line = await sw.waitForLog((x) => x.msg === 'TLS peer refused' && x.listen === 'pssl:0:0.0.0.0' && x.code === 'ERR_SSL_WRONG_VERSION_NUMBER');
    expect(line.reason).toBe('TLS handshake failed (wrong version number)');
  });

  it('refuses a controller whose certificate another CA signed, and logs it with the target', async () => {
    const line = await sw.waitForLog((x) => x.msg === 'TLS peer refused' && x.target === rogueSpec, 20_000);
    expect(line.level).toBe(WARN);
    expect(line.reason).toMatch(/^the controller certificate does not verify against --ca-cert \(.+\)$/);
    expect(sw.logs.some((x) => x.msg === 'controller connected' && x.target === rogueSpec)).toBe(false);
  });

  it('no exposure warning: the only listener off loopback is pssl:, metrics is on 127.0.0.1', () => {
    expect(sw.logs.filter((x: LogLine) => x.level === WARN && x.endpoint !== undefined)).toEqual([]);
  });

  it('removes the punix: socket file when the switch exits', async () => {
    expect(await sw.stop()).toBe(0);
    expect(existsSync(unixPath)).toBe(false);
  });
});

describe.skipIf(missing(netns))('safe exposure warnings', () => {
  const topo = new Topology();
  let sw: SwitchProcess;
  let adminSocket: string;

  beforeAll(async () => {
    adminSocket = `/tmp/linc-exposure-${topo.id}.sock`;
    sw = await SwitchProcess.start([
      'run', '--port', `tap:${topo.ifname('xp')}=1`, '--listen', 'ptcp:0:0.0.0.0', '--listen', 'ptcp:0', '--metrics', '0.0.0.0:0', '--admin-socket', adminSocket,
    ]);
  }, 30_000);

  afterAll(async () => {
    await sw?.stop();
    topo.cleanup();
  });

  it('warns once for ptcp: on 0.0.0.0 and once for metrics on 0.0.0.0, not for ptcp: on 127.0.0.1', () => {
    const warnings = sw.logs.filter((x) => x.level === WARN && x.endpoint !== undefined);
    expect(warnings.map((x) => x.endpoint)).toEqual(['ptcp:0:0.0.0.0', '0.0.0.0:0']);
    expect(warnings[0].msg).toMatch(/^OpenFlow listener ptcp:0:0\.0\.0\.0 is open on a non-loopback address without TLS: .*use pssl:/);
    expect(warnings[1].msg).toMatch(/^metrics endpoint 0\.0\.0\.0:0 is open on a non-loopback address without TLS: .*bind it to 127\.0\.0\.1/);
  });

  it('keeps the admin socket at mode 0600', () => {
    const st = statSync(adminSocket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
  });
});
