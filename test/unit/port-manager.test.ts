/*
 * PortManager over a datapath with in-process ports (the open function and
 * the locks are injected, so no root is needed): specs parsed as --port
 * parses them, the lowest free number, refusals that change nothing (bad
 * spec, name or number in use, interface locked, open failure), removal by
 * name or number, start-up all or nothing, a reload's added / removed /
 * changed ports, the state and why of `port list`; the admin routes and the
 * CLI's table over the same manager. Real interface locks (flock) in a
 * temporary directory.
 */

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Datapath } from '../../src/datapath/datapath.js';
import { PacketPool } from '../../src/packet/pool.js';
import { formatPortTable } from '../../src/port-cli.js';
import { PortManager, PortRefusal } from '../../src/port-manager.js';
import { portRoutes } from '../../src/port-routes.js';
import { InterfaceLockError, lockInterface, type InterfaceLock } from '../../src/ports/interface-lock.js';
import { MemoryPort } from '../../src/ports/memory-port.js';
import { PortOpenError } from '../../src/ports/open-errors.js';
import type { PortSpec } from '../../src/ports/port-kind.js';
import { handleAdminRequest, type AdminContext } from '../../src/stats/admin.js';
import { LlstatWindows } from '../../src/stats/llstat.js';
import { createLogger } from '../../src/stats/log.js';

const lockDir = mkdtempSync(join(tmpdir(), 'linc-locks-'));
afterAll(() => rmSync(lockDir, { recursive: true, force: true }));

function setup(opts: { refuseOpen?: string; lockedByOther?: string } = {}) {
  const dp = new Datapath({ pool: new PacketPool({ slots: 256 }), burst: 8 });
  const ports = new Map<string, MemoryPort>();
  const locks = new Set<string>();
  const removed: number[] = [];
  const mgr = new PortManager({
    datapath: dp,
    log: createLogger('silent'),
    open: (spec: PortSpec) => {
      if (spec.name === opts.refuseOpen) return new PortOpenError(`cannot open TAP ${spec.name}: it is in use by another process (EBUSY)`, 'EBUSY', 16, 'TUNSETIFF', spec.name);
      const p = new MemoryPort({ name: spec.name, ofPort: spec.ofPort });
      ports.set(spec.name, p);
      return p;
    },
    lock: (name): InterfaceLock => {
      if (name === opts.lockedByOther) throw new InterfaceLockError(`interface ${name} is in use by another linc-ts switch (pid 4242)`, { pid: 4242, adminSocket: null });
      locks.add(name);
      return { interfaceName: name, path: `/x/${name}`, release: () => locks.delete(name) };
    },
    onRemoved: (d) => removed.push(d.ofPort),
  });
  return { dp, mgr, ports, locks, removed };
}

const refusal = (fn: () => unknown): PortRefusal => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PortRefusal);
    return e as PortRefusal;
  }
  throw new Error('not refused');
};

describe('PortManager', () => {
  it('adds ports from specs, numbering them with the lowest free number, and locks their interfaces', () => {
    const { dp, mgr, locks } = setup();
    expect(mgr.add('tap:ta=3')).toMatchObject({ port: 3, name: 'ta', kind: 'tap', spec: 'tap:ta=3', state: 'up', why: null });
    expect(mgr.add('if:vb').port).toBe(1);
    expect(mgr.add({ kind: 'tap', name: 'tc' }).port).toBe(2);
    expect(mgr.add('tap:td').port).toBe(4);
    expect(dp.portList.map((p) => p.ofPort)).toEqual([3, 1, 2, 4]);
    expect(mgr.list().map((v) => v.port)).toEqual([1, 2, 3, 4]);
    expect([...locks].sort()).toEqual(['ta', 'tc', 'td', 'vb']);
  });

  it('refuses, changing nothing: a bad spec, a name or number in use, a locked interface, a port that cannot be opened', () => {
    const { dp, mgr, locks } = setup({ refuseOpen: 'busy0', lockedByOther: 'held0' });
    mgr.add('tap:ta=1');
    const before = dp.portList.length;
    const bad = refusal(() => mgr.add('eth0'));
    expect(bad.status).toBe(400);
    expect(bad.message).toBe('"eth0" is not a port spec: use tap:NAME[=OFPORT] or if:NAME[=OFPORT]');
    expect(refusal(() => mgr.add('tap:ta=2'))).toMatchObject({ status: 409, message: 'port ta already exists (tap:ta=1)' });
    expect(refusal(() => mgr.add('if:vx=1'))).toMatchObject({ status: 409, message: 'OpenFlow port number 1 is already used by ta (tap:ta=1)' });
    expect(refusal(() => mgr.add('tap:a/b')).status).toBe(400);
    expect(refusal(() => mgr.add('if:held0'))).toMatchObject({
      status: 409,
      message: 'cannot open port if:held0: interface held0 is in use by another linc-ts switch (pid 4242)',
    });
    expect(refusal(() => mgr.add('tap:busy0'))).toMatchObject({ status: 409, message: 'cannot open TAP busy0: it is in use by another process (EBUSY)' });
    expect(dp.portList.length).toBe(before);
    expect([...locks]).toEqual(['ta']); // busy0's lock was given back when its open failed
  });

  it('removes by name or number, closing the port and releasing its lock; an unknown port is a 404 listing the ports', () => {
    const { dp, mgr, ports, locks, removed } = setup();
    mgr.add('tap:ta');
    mgr.add('tap:tb');
    expect(mgr.remove('ta')).toMatchObject({ port: 1, name: 'ta' });
    expect(mgr.remove(2).name).toBe('tb');
    expect(dp.portList).toEqual([]);
    expect(removed).toEqual([1, 2]);
    expect(locks.size).toBe(0);
    expect(ports.get('ta')!.rxPending).toBe(0);
    mgr.add('tap:tc=7');
    expect(refusal(() => mgr.remove('nope'))).toMatchObject({ status: 404, message: 'no port named nope (ports: 7 tc)' });
    expect(refusal(() => mgr.remove(3))).toMatchObject({ status: 404, message: 'no port 3 (ports: 7 tc)' });
    // The freed numbers are given again.
    expect(mgr.add('tap:td').port).toBe(1);
  });

  it('closes a removed port off the event loop and releases its lock after; the same name is refused until then', async () => {
    const dp = new Datapath({ pool: new PacketPool({ slots: 256 }), burst: 8 });
    const pending: Array<() => void> = [];
    const released: string[] = [];
    const mgr = new PortManager({
      datapath: dp,
      log: createLogger('silent'),
      open: (spec) => {
        const p = new MemoryPort({ name: spec.name, ofPort: spec.ofPort });
        return Object.assign(p, { closeOffThread: () => new Promise<void>((resolve) => pending.push(resolve)) });
      },
      lock: (name) => ({ interfaceName: name, path: name, release: () => released.push(name) }),
    });
    mgr.add('tap:ta');
    mgr.add('tap:tb');
    mgr.remove('ta');
    mgr.remove('tb');
    expect(dp.portList).toEqual([]);
    expect(released).toEqual([]); // still closing
    expect(refusal(() => mgr.add('tap:ta'))).toMatchObject({
      status: 409,
      message: 'port ta was just removed and its device is still being closed; add it again in a moment',
    });
    pending[1]();
    await new Promise((r) => setImmediate(r));
    expect(released).toEqual(['tb']);
    expect(mgr.add('tap:tb').port).toBe(1);
    mgr.closeAll(); // shutdown: everything closed and released at once
    expect(released).toEqual(['tb', 'tb', 'ta']);
    pending[0]();
    await new Promise((r) => setImmediate(r));
    expect(released).toEqual(['tb', 'tb', 'ta']); // not released twice
  });

  it('opens the start-up ports all or none', () => {
    const { dp, mgr, locks } = setup({ refuseOpen: 'busy0' });
    expect(() => mgr.openAll([{ kind: 'tap', name: 'ta', ofPort: 1 }, { kind: 'tap', name: 'busy0', ofPort: 2 }])).toThrow(PortOpenError);
    expect(dp.portList).toEqual([]);
    expect(locks.size).toBe(0);
    mgr.openAll([{ kind: 'tap', name: 'ta', ofPort: 1 }, { kind: 'if', name: 'vb', ofPort: 5 }]);
    expect(mgr.specs()).toEqual([{ kind: 'tap', name: 'ta', ofPort: 1 }, { kind: 'if', name: 'vb', ofPort: 5 }]);
  });

  it('reloads: removes the ports no longer listed, adds the new ones, re-adds the ones whose kind or number changed', () => {
    const { dp, mgr, ports } = setup({ refuseOpen: 'busy0' });
    mgr.openAll([{ kind: 'tap', name: 'keep', ofPort: 1 }, { kind: 'tap', name: 'drop', ofPort: 2 }, { kind: 'tap', name: 'move', ofPort: 3 }, { kind: 'tap', name: 'kind', ofPort: 4 }]);
    const kept = ports.get('keep')!;
    const r = mgr.reload([
      { kind: 'tap', name: 'keep', ofPort: 1 },
      { kind: 'tap', name: 'move', ofPort: 9 },
      { kind: 'if', name: 'kind', ofPort: 4 },
      { kind: 'tap', name: 'new', ofPort: 5 },
      { kind: 'tap', name: 'busy0', ofPort: 6 },
    ]);
    expect(r).toEqual({
      added: ['tap:new=5'],
      removed: ['tap:drop=2'],
      changed: ['tap:move=9', 'if:kind=4'],
      failed: [{ spec: 'tap:busy0=6', error: 'cannot open TAP busy0: it is in use by another process (EBUSY)' }],
    });
    expect(mgr.list().map((v) => v.spec)).toEqual(['tap:keep=1', 'if:kind=4', 'tap:new=5', 'tap:move=9']);
    expect(dp.port(1)!.port).toBe(kept); // untouched: the same port, its counters and MACs kept
    expect(mgr.reload(mgr.specs().map((s) => ({ ...s, kind: s.kind as 'tap' | 'if' })))).toEqual({ added: [], removed: [], changed: [], failed: [] });
  });

  it('says why a port is down', () => {
    const { dp, mgr, ports } = setup();
    mgr.add('tap:ta');
    ports.get('ta')!.linkUp = false;
    dp.pollLinks();
    expect(mgr.list()[0]).toMatchObject({ state: 'down', why: 'interface is down' });
    ports.get('ta')!.linkUp = true;
    dp.pollLinks();
    dp.port(1)!.forwarding = false;
    expect(mgr.list()[0]).toMatchObject({ state: 'down', why: 'disabled by a controller (port-mod PORT_DOWN)' });
  });
});

describe('port admin routes and the port table', () => {
  function ctx() {
    const s = setup();
    const c: AdminContext = {
      llstat: new LlstatWindows(s.dp),
      status: () => ({ datapathId: '0x1', ports: [] }),
      routes: portRoutes(s.mgr),
    };
    return { ...s, ctx: c };
  }

  it('adds, lists and deletes through the routes; refusals are {error} with 400, 404 or 409', () => {
    const { ctx: c, dp } = ctx();
    expect(handleAdminRequest(c, 'POST', '/v1/ports', { spec: 'tap:ta=2' })).toMatchObject({ status: 200, body: { added: { port: 2, name: 'ta', state: 'up' } } });
    expect(handleAdminRequest(c, 'POST', '/v1/ports', { spec: 'tap:tb' })).toMatchObject({ status: 200, body: { added: { port: 1 } } });
    expect(handleAdminRequest(c, 'POST', '/v1/ports', { spec: 'tap:tc=2' })).toEqual({ status: 409, body: { error: 'OpenFlow port number 2 is already used by ta (tap:ta=2)' } });
    expect(handleAdminRequest(c, 'POST', '/v1/ports', { spec: 'vxlan:x' }).status).toBe(400);
    expect(handleAdminRequest(c, 'POST', '/v1/ports', {})).toEqual({ status: 400, body: { error: 'port add needs {"spec": "KIND:NAME[=OFPORT]"}' } });
    expect(handleAdminRequest(c, 'POST', '/v1/ports', undefined).status).toBe(400);
    const list = handleAdminRequest(c, 'GET', '/v1/ports');
    expect((list.body as { ports: Array<{ spec: string }> }).ports.map((p) => p.spec)).toEqual(['tap:tb=1', 'tap:ta=2']);
    expect(handleAdminRequest(c, 'POST', '/v1/ports/delete', { port: 2 })).toMatchObject({ status: 200, body: { removed: { name: 'ta' } } });
    expect(handleAdminRequest(c, 'POST', '/v1/ports/delete', { port: 'ta' })).toEqual({ status: 404, body: { error: 'no port named ta (ports: 1 tb)' } });
    expect(handleAdminRequest(c, 'POST', '/v1/ports/delete', { port: '' }).status).toBe(400);
    expect(handleAdminRequest(c, 'GET', '/v1/ports/delete').status).toBe(405);
    expect(dp.portList.map((p) => p.port.name)).toEqual(['tb']);
  });

  it('prints the table with number, name, kind, state and why', () => {
    expect(formatPortTable([])).toBe('no ports\n');
    const table = formatPortTable([
      { port: 1, name: 'tap0', kind: 'tap', spec: 'tap:tap0=1', state: 'up', why: null, ifindex: 5, mac: '02:00:00:00:00:01', mtu: 1500 },
      { port: 12, name: 'vif7.0', kind: 'if', spec: 'if:vif7.0=12', state: 'down', why: 'waiting for interface vif7.0', ifindex: 0, mac: '00:00:00:00:00:00', mtu: 1500 },
    ]);
    expect(table).toBe(
      ['PORT  NAME    KIND  STATE', '   1  tap0    tap   up', '  12  vif7.0  if    down: waiting for interface vif7.0', ''].join('\n'),
    );
  });
});

describe('interface locks', () => {
  it('refuses a second holder of the same interface naming the first, and frees it on release', () => {
    const first = lockInterface('veth9', { pid: 1111, adminSocket: '/run/a.sock' }, lockDir);
    expect(JSON.parse(readFileSync(first.path, 'utf8'))).toEqual({ pid: 1111, adminSocket: '/run/a.sock' });
    // flock conflicts between two open files even in one process: the same as a second switch.
    expect(() => lockInterface('veth9', { pid: 2222, adminSocket: null }, lockDir)).toThrow(
      new InterfaceLockError('interface veth9 is in use by another linc-ts switch (pid 1111, admin socket /run/a.sock)', { pid: 1111, adminSocket: '/run/a.sock' }),
    );
    const other = lockInterface('veth10', { pid: 2222, adminSocket: null }, lockDir);
    first.release();
    first.release();
    const again = lockInterface('veth9', { pid: 3333, adminSocket: null }, lockDir);
    again.release();
    other.release();
    expect(readdirSync(lockDir)).toEqual([]);
  });
});
