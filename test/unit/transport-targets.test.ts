/*
 * OpenFlow targets beyond plain TCP (src/openflow/transport/connections.ts):
 * ssl:HOST[:PORT] for controllers, pssl:[PORT][:ADDR] and punix:PATH for
 * listeners; and the punix: socket file (src/openflow/transport/streams.ts):
 * mode 0600, a stale file replaced, a live one or a non-socket left alone,
 * the file gone once the listener closes; a pssl: listener's connection
 * cap counts TLS handshakes under way.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { parseControllerTarget, parseListenTarget, PassiveListener } from '../../src/openflow/transport/connections.js';
import { addressText } from '../../src/openflow/transport/streams.js';
import { loadTlsCredentials } from '../../src/openflow/transport/tls-credentials.js';
import { listenTarget as listen } from '../helpers/fake-of-switch.js';
import { missing, tool } from '../helpers/requirements.js';
import { Pki } from '../helpers/tls-certs.js';

const silent = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'linc-punix-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ssl:, pssl: and punix: targets', () => {
  it('parses ssl: controller targets like tcp: ones, marked tls', () => {
    expect(parseControllerTarget('ssl:192.0.2.7:6633')).toEqual({ spec: 'ssl:192.0.2.7:6633', host: '192.0.2.7', port: 6633, tls: true });
    expect(parseControllerTarget('ssl:ctl.example.org')).toEqual({ spec: 'ssl:ctl.example.org:6653', host: 'ctl.example.org', port: 6653, tls: true });
    expect(parseControllerTarget('ssl:[::1]:6654')).toEqual({ spec: 'ssl:[::1]:6654', host: '::1', port: 6654, tls: true });
    expect(parseControllerTarget('tcp:192.0.2.7:6633')).not.toHaveProperty('tls');
    for (const bad of ['ssl:', 'ssl:::1', 'tls:1.2.3.4:6653', 'pssl:6653', 'ssl:host_name:1', 'unix:/tmp/x']) {
      expect(parseControllerTarget(bad), bad).toMatch(/is not a controller target: use tcp:HOST:PORT or ssl:HOST:PORT/);
    }
    expect(parseControllerTarget('ssl:1.2.3.4:0')).toMatch(/from 1 to 65535/);
  });

  it('parses pssl: listen targets like ptcp: ones (127.0.0.1 unless given), marked tls', () => {
    expect(parseListenTarget('pssl:6634')).toEqual({ spec: 'pssl:6634:127.0.0.1', host: '127.0.0.1', port: 6634, tls: true });
    expect(parseListenTarget('pssl:')).toEqual({ spec: 'pssl:6653:127.0.0.1', host: '127.0.0.1', port: 6653, tls: true });
    expect(parseListenTarget('pssl:0:[::]')).toEqual({ spec: 'pssl:0:[::]', host: '::', port: 0, tls: true });
    expect(parseListenTarget('pssl:70000')).toMatch(/listen port "70000" must be a number from 0 to 65535/);
    expect(parseListenTarget('pssl:6653:nowhere')).toMatch(/listen address "nowhere" must be an IPv4 or IPv6 address/);
    expect(parseListenTarget('ssl:6653')).toMatch(/use ptcp:PORT\[:ADDR\], pssl:PORT\[:ADDR\] or punix:PATH/);
  });

  it('parses punix:PATH; an empty or too long path is refused', () => {
    expect(parseListenTarget('punix:/run/linc-ts/of.sock')).toEqual({ spec: 'punix:/run/linc-ts/of.sock', host: '', port: 0, path: '/run/linc-ts/of.sock' });
    expect(parseListenTarget(' punix:rel.sock ')).toEqual({ spec: 'punix:rel.sock', host: '', port: 0, path: 'rel.sock' });
    expect(parseListenTarget('punix:')).toMatch(/punix: needs the path of the socket file/);
    expect(parseListenTarget(`punix:/${'x'.repeat(107)}`)).toMatch(/longer than 107 bytes/);
    expect(typeof parseListenTarget(`punix:/${'x'.repeat(106)}`)).toBe('object');
    expect(parseListenTarget('unix:/tmp/x')).toMatch(/is not a listen target/);
  });
});

function serve(path: string): Promise<Server> {
  return new Promise((resolve) => {
    const s = createServer(() => undefined);
    s.listen(path, () => resolve(s));
  });
}

function connects(path: string): Promise<Socket | null> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => resolve(c));
    c.once('error', () => resolve(null));
  });
}

describe('punix: listener', () => {
  it('makes its socket file 0600, accepts on it, and removes it when closed', async () => {
    const path = join(dir, 'a.sock');
    const accepted: Socket[] = [];
    const l = new PassiveListener({ target: listen(`punix:${path}`), log: silent, accept: (s) => accepted.push(s) });
    const bound = await l.listen();
    expect(bound).toEqual({ address: path, family: 'unix', port: 0 });
    expect(addressText(bound)).toBe(path);
    const st = statSync(path);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    const c = await connects(path);
    expect(c).not.toBeNull();
    for (let i = 0; i < 100 && accepted.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(accepted).toHaveLength(1);
    c!.destroy();
    accepted[0].destroy();
    l.close();
    expect(existsSync(path)).toBe(false);
  });

  it('replaces a stale socket file (nothing answers on it)', async () => {
    const path = join(dir, 'stale.sock');
    // What a killed switch leaves behind: the socket file, with nobody listening on it.
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(statSync(path).isSocket()).toBe(true);
    expect(await connects(path)).toBeNull();
    const l = new PassiveListener({ target: listen(`punix:${path}`), log: silent, accept: (s) => s.destroy() });
    await l.listen();
    const c = await connects(path);
    expect(c).not.toBeNull();
    c!.destroy();
    l.close();
  });

  it('leaves a live socket and a file that is not a socket alone, and does not listen', async () => {
    const live = join(dir, 'live.sock');
    const other = await serve(live);
    const l1 = new PassiveListener({ target: listen(`punix:${live}`), log: silent, accept: (s) => s.destroy() });
    await expect(l1.listen()).rejects.toMatchObject({ code: 'EADDRINUSE', message: `${live} is in use (something answers on it)` });
    const c = await connects(live);
    expect(c).not.toBeNull();
    c!.destroy();
    await new Promise<void>((r) => other.close(() => r()));

    const plain = join(dir, 'plain.txt');
    writeFileSync(plain, 'keep me');
    const l2 = new PassiveListener({ target: listen(`punix:${plain}`), log: silent, accept: (s) => s.destroy() });
    await expect(l2.listen()).rejects.toMatchObject({ code: 'EEXIST', message: `${plain} exists and is not a socket; not touching it` });
    expect(statSync(plain).isFile()).toBe(true);
  });
});

describe.skipIf(missing(tool('openssl')))('pssl: listener connection cap', () => {
  let pki: Pki;
  afterAll(() => pki?.remove());

  it('counts TLS handshakes under way against the cap: one over it is closed and refused', async () => {
    pki = new Pki();
    const ca = pki.ca('ca');
    const sw = pki.issue(ca, 'switch');
    const tls = loadTlsCredentials({ privateKey: sw.key, certificate: sw.cert, caCert: ca.cert });
    let refusals = 0;
    const l = new PassiveListener({ target: listen('pssl:0'), log: silent, tls, maxConnections: 2, refuse: () => refusals++, accept: (s) => s.destroy() });
    const { port } = await l.listen();
    // Plain TCP connections that never start the TLS handshake.
    const open = (): Promise<Socket> =>
      new Promise((resolve) => {
        const c = createConnection({ host: '127.0.0.1', port }, () => resolve(c));
        c.on('error', () => undefined);
      });
    const held = [await open(), await open()];
    const third = await open();
    const closed = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 5000);
      third.once('close', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    third.destroy();
    expect(closed).toBe(true);
    expect(refusals).toBe(1);
    expect(l.refused).toBe(1);
    for (const c of held) expect(c.destroyed).toBe(false);
    for (const c of held) c.destroy();
    l.close();
  }, 15_000);
});
