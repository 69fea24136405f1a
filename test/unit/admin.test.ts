/*
 * The admin endpoint: request routing, and the real Unix-socket server and
 * client (mode 0600, stale sockets replaced, live ones and non-sockets left
 * alone, the file removed on close). No root needed: sockets live in a temp
 * directory of this test.
 */

import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config.js';
import { Datapath } from '../../src/datapath/datapath.js';
import { NormalSwitch } from '../../src/datapath/learning/normal.js';
import { PacketPool } from '../../src/packet/pool.js';
import { MemoryPort } from '../../src/ports/memory-port.js';
import {
  adminClient,
  adminRequest,
  AdminRequestError,
  AdminSocketError,
  AdminUnreachableError,
  defaultAdminSocketPath,
  handleAdminRequest,
  startAdminServer,
  type AdminContext,
} from '../../src/stats/admin.js';
import { LlstatWindows } from '../../src/stats/llstat.js';
import { udpFrame } from '../helpers/frames.js';

const dir = mkdtempSync(join(tmpdir(), 'linc-admin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function context(): { ctx: AdminContext; a: MemoryPort; tick: (ms: number) => void } {
  let now = 0;
  const dp = new Datapath({ pool: new PacketPool({ slots: 256 }), burst: 8 });
  dp.pipeline = new NormalSwitch();
  const a = new MemoryPort({ name: 'ma', ofPort: 1 });
  dp.addPort(a);
  dp.addPort(new MemoryPort({ name: 'mb', ofPort: 2 }));
  const ctx: AdminContext = {
    llstat: new LlstatWindows(dp, () => now),
    status: () => ({ datapathId: '0x01', ports: dp.portList.map((p) => ({ port: p.ofPort, name: p.port.name, kind: p.port.kind })) }),
  };
  return { ctx, a, tick: (ms) => (now += ms) };
}

describe('admin request routing', () => {
  it('starts, shows and stops llstat windows', () => {
    const { ctx, a, tick } = context();
    expect(handleAdminRequest(ctx, 'GET', '/v1/llstat').status).toBe(404); // no window yet
    expect(handleAdminRequest(ctx, 'POST', '/v1/llstat/start?port=all')).toEqual({ status: 200, body: { started: [1, 2] } });
    for (let i = 0; i < 4; i++) a.inject(udpFrame('ff:ff:ff:ff:ff:ff', '02:00:00:00:00:01'));
    a.wake();
    tick(250);
    const shown = handleAdminRequest(ctx, 'GET', '/v1/llstat?port=ma');
    expect(shown.status).toBe(200);
    const reports = (shown.body as { reports: Array<{ port: number; rx: { frames: number }; durationMs: number }> }).reports;
    expect(reports.map((r) => [r.port, r.rx.frames, r.durationMs])).toEqual([[1, 4, 250]]);
    expect(handleAdminRequest(ctx, 'POST', '/v1/llstat/stop?port=2')).toEqual({ status: 200, body: { stopped: [2] } });
    expect(handleAdminRequest(ctx, 'POST', '/v1/llstat/stop')).toEqual({ status: 200, body: { stopped: [1] } });
    const status = handleAdminRequest(ctx, 'GET', '/v1/status').body as { pid: number; windows: unknown };
    expect(status.pid).toBe(process.pid);
    expect(status.windows).toEqual([
      { port: 1, name: 'ma', running: false },
      { port: 2, name: 'mb', running: false },
    ]);
  });

  it('answers bad requests with 4xx and a sentence', () => {
    const { ctx } = context();
    expect(handleAdminRequest(ctx, 'POST', '/v1/llstat/start')).toEqual({ status: 400, body: { error: 'llstat start needs a port: PORT or all' } });
    expect(handleAdminRequest(ctx, 'POST', '/v1/llstat/start?port=9')).toMatchObject({ status: 404, body: { error: expect.stringMatching(/^no port 9/) as string } });
    expect(handleAdminRequest(ctx, 'GET', '/v1/llstat/start?port=1').status).toBe(405);
    expect(handleAdminRequest(ctx, 'GET', '/v2/whatever').status).toBe(404);
  });
});

describe('admin socket server and client', () => {
  it('listens with mode 0600, serves the client, and removes its socket on close', async () => {
    const { ctx } = context();
    const path = join(dir, 'sub', 'a.sock');
    const server = await startAdminServer(path, ctx);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'sub')).mode & 0o077).toBe(0); // the parent it created is private
    const st = await adminClient.status(path);
    expect(st.ports.map((p) => p.name)).toEqual(['ma', 'mb']);
    expect(await adminClient.llstatStart(path, 'mb')).toEqual({ started: [2] });
    const shown = await adminClient.llstatShow(path);
    expect(shown.reports.map((r) => r.port)).toEqual([2]);
    await expect(adminClient.llstatShow(path, '1')).rejects.toThrow(AdminRequestError);
    await expect(adminClient.llstatShow(path, '1')).rejects.toThrow(/no llstat window on port 1/);
    expect(await adminClient.llstatStop(path)).toEqual({ stopped: [2] });
    await server.close();
    expect(existsSync(path)).toBe(false);
    await expect(adminClient.status(path)).rejects.toThrow(AdminUnreachableError);
  });

  it('replaces a stale socket but leaves a live one and a regular file alone', async () => {
    const { ctx } = context();
    // Stale: a socket file whose listener is gone (as after a SIGKILL).
    const stale = join(dir, 'stale.sock');
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(statSync(stale).isSocket()).toBe(true);
    await expect(adminClient.status(stale)).rejects.toThrow(/stale socket/);
    const s1 = await startAdminServer(stale, ctx);
    expect((await adminClient.status(stale)).pid).toBe(process.pid);

    // Live: a second switch on the same path is refused and the first keeps serving.
    await expect(startAdminServer(stale, ctx)).rejects.toThrow(AdminSocketError);
    await expect(startAdminServer(stale, ctx)).rejects.toThrow(/in use by another switch/);
    expect((await adminClient.status(stale)).pid).toBe(process.pid);
    await s1.close();

    const file = join(dir, 'not-a-socket');
    writeFileSync(file, 'keep me');
    await expect(startAdminServer(file, ctx)).rejects.toThrow(/is not a socket/);
    expect(existsSync(file)).toBe(true);
  });

  it('serves the routes the switch adds, with JSON request bodies; a body that is not JSON is a 400', async () => {
    const { ctx } = context();
    const seen: unknown[] = [];
    const routed: AdminContext = {
      ...ctx,
      routes: [
        { method: 'POST', path: '/v1/echo', handle: (q, body) => (seen.push(body), { status: 200, body: { got: body, q: q.get('x') } }) },
        { method: 'GET', path: '/v1/thing', handle: () => ({ status: 200, body: { thing: 1 } }) },
      ],
    };
    expect(handleAdminRequest(routed, 'GET', '/v1/echo')).toEqual({ status: 405, body: { error: 'GET is not allowed on /v1/echo' } });
    expect(handleAdminRequest(routed, 'GET', '/v1/nothing').status).toBe(404);
    const path = join(dir, 'routes.sock');
    const server = await startAdminServer(path, routed);
    try {
      expect(await adminRequest(path, 'POST', '/v1/echo?x=7', { spec: 'tap:t0' })).toEqual({ got: { spec: 'tap:t0' }, q: '7' });
      expect(await adminRequest(path, 'GET', '/v1/thing')).toEqual({ thing: 1 });
      expect(seen).toEqual([{ spec: 'tap:t0' }]);
      const raw = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request({ socketPath: path, method: 'POST', path: '/v1/echo', headers: { 'content-length': 5 } }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.once('error', reject);
        req.end('{nope');
      });
      expect(raw).toEqual({ status: 400, text: JSON.stringify({ error: 'request body is not JSON' }) });
      expect(seen).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('is configured by --admin-socket / admin-socket, off disables it', () => {
    expect(resolveConfig({}).adminSocket).toBe(defaultAdminSocketPath());
    expect(resolveConfig({ adminSocket: '/tmp/x.sock' }).adminSocket).toBe('/tmp/x.sock');
    expect(resolveConfig({ adminSocket: 'off' }).adminSocket).toBeNull();
    expect(resolveConfig({}, { 'admin-socket': null }).adminSocket).toBeNull();
    expect(() => resolveConfig({ adminSocket: 'x'.repeat(200) })).toThrow(/admin-socket: must be at most 100 characters/);
  });

  it('picks /run for root, XDG_RUNTIME_DIR otherwise, then the temp dir', () => {
    expect(defaultAdminSocketPath(0, {})).toBe('/run/linc-ts.sock');
    expect(defaultAdminSocketPath(1000, { XDG_RUNTIME_DIR: '/run/user/1000' })).toBe('/run/user/1000/linc-ts.sock');
    expect(defaultAdminSocketPath(1000, {})).toBe(join(tmpdir(), 'linc-ts-1000.sock'));
  });
});
