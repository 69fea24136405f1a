/*
 * OpenFlow connections: target parsing (tcp:/ptcp:, IPv4/IPv6/host names,
 * the 127.0.0.1 default), the backoff sequence, the active client's retry
 * timings under fake timers (refused, hanging, dropped before and after the
 * handshake), the passive listener and the manager over real loopback TCP
 * (counting controllers for fail mode, metrics), the manager over the real
 * OfSwitch and memory ports (fail mode, packet-in, port-status). The
 * OpenFlow config keys are tested with the others in config.test.ts.
 */

import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect as netConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ControllerManager } from '../../src/openflow/transport/controller-manager.js';
import {
  Backoff, parseControllerTarget, parseListenTarget, PassiveListener, type ConnectFn, type ControllerTarget,
} from '../../src/openflow/transport/connections.js';
import { makeHello, OFP_NO_BUFFER, OFPCML, OFPCR_ROLE, OFPP, OFPPR, OFPR } from '../../src/openflow/codec/wire.js';
import { OfSwitch } from '../../src/openflow/ofproto/of-switch.js';
import { Datapath } from '../../src/datapath/datapath.js';
import { NormalSwitch } from '../../src/datapath/learning/normal.js';
import { PacketPool } from '../../src/packet/pool.js';
import { MemoryPort } from '../../src/ports/memory-port.js';
import { udpFrame } from '../helpers/frames.js';
import { createSwitchMetrics } from '../../src/stats/metrics.js';
import { addControllerMetrics } from '../../src/stats/controller-metrics.js';
import { duplexPair, FakeOfSwitch, flush, PeerController, listenTarget as listen } from '../helpers/fake-of-switch.js';
import { missing, tool } from '../helpers/requirements.js';

const silent = pino({ level: 'silent' });
const managers: ControllerManager[] = [];
afterEach(() => {
  for (const m of managers.splice(0)) m.close();
  vi.useRealTimers();
});

function controller(s: string): ControllerTarget {
  const t = parseControllerTarget(s);
  if (typeof t === 'string') throw new Error(t);
  return t;
}

describe('targets', () => {
  it('parses controller targets: IPv4, host names, bracketed IPv6, default port 6653', () => {
    expect(parseControllerTarget('tcp:192.0.2.7:6633')).toEqual({ spec: 'tcp:192.0.2.7:6633', host: '192.0.2.7', port: 6633 });
    expect(parseControllerTarget('tcp:ctl.example.org')).toEqual({ spec: 'tcp:ctl.example.org:6653', host: 'ctl.example.org', port: 6653 });
    expect(parseControllerTarget(' tcp:[::1]:6654 ')).toEqual({ spec: 'tcp:[::1]:6654', host: '::1', port: 6654 });
    for (const bad of ['192.0.2.7:6653', 'tcp:', 'tcp:::1:6653', 'tcp:[192.0.2.1]:6653', 'tcp:host_name:1', 'tcp:[::1]:x']) {
      expect(typeof parseControllerTarget(bad), bad).toBe('string');
    }
    expect(parseControllerTarget('tcp:1.2.3.4:0')).toMatch(/from 1 to 65535/);
    expect(parseControllerTarget('tcp:1.2.3.4:65536')).toMatch(/from 1 to 65535/);
  });

  it('parses listen targets, bound to 127.0.0.1 unless an address is given', () => {
    expect(parseListenTarget('ptcp:6634')).toEqual({ spec: 'ptcp:6634:127.0.0.1', host: '127.0.0.1', port: 6634 });
    expect(parseListenTarget('ptcp:')).toEqual({ spec: 'ptcp:6653:127.0.0.1', host: '127.0.0.1', port: 6653 });
    expect(parseListenTarget('ptcp:0:0.0.0.0')).toEqual({ spec: 'ptcp:0:0.0.0.0', host: '0.0.0.0', port: 0 });
    expect(parseListenTarget('ptcp:6653:[::1]')).toEqual({ spec: 'ptcp:6653:[::1]', host: '::1', port: 6653 });
    expect(parseListenTarget('ptcp:6653:::')).toEqual({ spec: 'ptcp:6653:[::]', host: '::', port: 6653 });
    for (const bad of ['ptcp', 'tcp:6653', 'ptcp:abc', 'ptcp:70000', 'ptcp:6653:localhost', 'ptcp:6653:1.2.3']) {
      expect(typeof parseListenTarget(bad), bad).toBe('string');
    }
  });
});

describe('Backoff', () => {
  it('doubles from 1 s up to the maximum and starts over after reset', () => {
    const b = new Backoff();
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([1000, 2000, 4000, 8000, 8000]);
    b.reset();
    expect(b.next()).toBe(1000);
    const c = new Backoff(1000, 3000);
    expect([c.next(), c.next(), c.next(), c.next()]).toEqual([1000, 2000, 3000, 3000]);
  });
});

type Behaviour = 'refuse' | 'hang' | 'accept';

/** A ConnectFn over in-memory pairs whose outcome the test scripts. */
function scriptedConnect() {
  const attempts: Array<{ at: number; host: string; port: number; peer: PeerController | null }> = [];
  const state = { next: 'refuse' as Behaviour };
  const connect: ConnectFn = (host, port) => {
    const [near, far] = duplexPair();
    const rec = { at: Date.now(), host, port, peer: null as PeerController | null };
    attempts.push(rec);
    if (state.next === 'refuse') {
      queueMicrotask(() => near.emit('error', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })));
    } else if (state.next === 'accept') {
      rec.peer = new PeerController(far);
      queueMicrotask(() => near.emit('connect'));
    }
    return near;
  };
  return { attempts, state, connect };
}

describe('active connections (fake timers)', () => {
  function start(connect: ConnectFn, maxBackoffMs?: number) {
    const sw = new FakeOfSwitch();
    const mgr = new ControllerManager({ sw, log: silent, controllers: [controller('tcp:192.0.2.1:6653')], connect, inactivityProbeMs: 0, maxBackoffMs });
    managers.push(mgr);
    void mgr.start();
    return { sw, mgr };
  }

  it('retries a refusing controller after 1, 2, 4, 8, 8 s; resets after a good connection; backs off again on early drops', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const t0 = Date.now();
    const s = scriptedConnect();
    const { sw, mgr } = start(s.connect);
    await vi.advanceTimersByTimeAsync(23_500);
    expect(s.attempts.map((a) => a.at - t0)).toEqual([0, 1000, 3000, 7000, 15000, 23000]);
    expect(s.attempts[0]).toMatchObject({ host: '192.0.2.1', port: 6653 });

    s.state.next = 'accept';
    await vi.advanceTimersByTimeAsync(8000); // t = 31.5 s: the 7th attempt (at 31 s) connected
    expect(s.attempts.map((a) => a.at - t0).at(-1)).toBe(31000);
    const peer = s.attempts.at(-1)!.peer!;
    expect(peer.ofType('hello')).toHaveLength(1);
    peer.send(makeHello(1));
    await flush();
    expect(sw.connectedCalls).toEqual([1]);
    expect(mgr.controllers()).toEqual([{ target: 'tcp:192.0.2.1:6653', connected: true, role: 'equal' }]);

    peer.close(); // the controller goes away after a good session: back in 1 s
    await flush();
    expect(sw.connectedCalls).toEqual([1, 0]);
    expect(mgr.controllers()[0].connected).toBe(false);
    await vi.advanceTimersByTimeAsync(999);
    expect(s.attempts).toHaveLength(7);
    await vi.advanceTimersByTimeAsync(2); // t = 32.5 s
    expect(s.attempts).toHaveLength(8);

    s.attempts.at(-1)!.peer!.close(); // accepted, then dropped before any hello: the backoff keeps growing
    await flush();
    await vi.advanceTimersByTimeAsync(1999);
    expect(s.attempts).toHaveLength(8);
    await vi.advanceTimersByTimeAsync(2);
    expect(s.attempts).toHaveLength(9);
  });

  it('gives up on a connect that hangs after max(1 s, backoff), honouring --max-backoff', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const t0 = Date.now();
    const s = scriptedConnect();
    s.state.next = 'hang';
    const { mgr } = start(s.connect, 2000);
    await vi.advanceTimersByTimeAsync(12_500);
    // timeouts 1, 2, 2, 2 s; waits 1, 2, 2, 2 s
    expect(s.attempts.map((a) => a.at - t0)).toEqual([0, 2000, 6000, 10000]);
    mgr.close();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(s.attempts).toHaveLength(4);
  });
});

describe('listener and manager over loopback TCP', () => {
  it('binds the listener to 127.0.0.1 by default', async () => {
    const accepted: Socket[] = [];
    const l = new PassiveListener({ target: listen('ptcp:0'), log: silent, accept: (s) => accepted.push(s) });
    const addr = await l.listen();
    expect(addr.address).toBe('127.0.0.1');
    expect(addr.port).toBeGreaterThan(0);
    const c = netConnect(addr.port, '127.0.0.1');
    await once(c, 'connect');
    await vi.waitFor(() => expect(accepted).toHaveLength(1));
    c.destroy();
    accepted[0].destroy();
    l.close();
  });

  it('serves tools on the listener without changing the fail mode, and reports listen failures', async () => {
    const sw = new FakeOfSwitch();
    const lines: Array<{ msg: string; [k: string]: unknown }> = [];
    const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as { msg: string; [k: string]: unknown }) });
    const mgr = new ControllerManager({ sw, log, listen: [listen('ptcp:0')] });
    managers.push(mgr);
    await mgr.start();
    const { port } = mgr.listenerStatus()[0].address!;
    const sock = netConnect(port, '127.0.0.1');
    await once(sock, 'connect');
    const peer = new PeerController(sock);
    peer.send(makeHello(1));
    peer.send({ type: 'features_request', xid: 2 });
    const fr = await peer.waitFor((m) => m.type === 'features_reply');
    expect(fr.xid).toBe(2);
    expect(mgr.connectionCounts()).toEqual({ controller: 0, service: 1 });
    expect(sw.connectedCalls).toEqual([]);
    peer.close();
    await vi.waitFor(() => expect(mgr.connectionCounts().service).toBe(0));

    const clash = new ControllerManager({ sw: new FakeOfSwitch(), log, listen: [listen(`ptcp:${port}`)] });
    managers.push(clash);
    await clash.start();
    expect(lines.some((l) => l.msg.startsWith('openflow listener not started') && l.code === 'EADDRINUSE')).toBe(true);
  });

  it('connects to a controller, counts it for fail mode and in metrics, and reconnects after it closes', async () => {
    const sockets: Socket[] = [];
    const server: Server = createServer((s) => sockets.push(s));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    try {
      const sw = new FakeOfSwitch();
      const mgr = new ControllerManager({ sw, log: silent, controllers: [controller(`tcp:127.0.0.1:${port}`)] });
      managers.push(mgr);
      const metrics = createSwitchMetrics({ datapath: { portList: [] }, datapathId: 1n, version: 'test' });
      addControllerMetrics(metrics, mgr);
      await mgr.start();
      await vi.waitFor(() => expect(sockets).toHaveLength(1));
      const peer = new PeerController(sockets[0]);
      await peer.waitFor((m) => m.type === 'hello');
      expect(await metrics.scrape()).toContain(`linc_controller_connected{target="tcp:127.0.0.1:${port}"} 0`);
      peer.send(makeHello(1));
      peer.send({ type: 'role_request', xid: 5, role: OFPCR_ROLE.MASTER, generationId: 1n });
      await peer.waitFor((m) => m.type === 'role_reply');
      expect(sw.connectedCalls).toEqual([1]);
      const text = await metrics.scrape();
      expect(text).toContain(`linc_controller_connected{target="tcp:127.0.0.1:${port}"} 1`);
      expect(text).toContain(`linc_controller_role{target="tcp:127.0.0.1:${port}",role="master"} 1`);
      expect(text).toContain(`linc_controller_role{target="tcp:127.0.0.1:${port}",role="equal"} 0`);
      expect(text).toContain('linc_openflow_connections{kind="controller"} 1');
      if (!missing(tool('promtool'))) {
        const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
        expect(check.stdout + check.stderr).toBe('');
        expect(check.status).toBe(0);
      }

      const t = Date.now();
      sockets[0].destroy();
      await vi.waitFor(() => expect(sw.connectedCalls).toEqual([1, 0]));
      await vi.waitFor(() => expect(sockets).toHaveLength(2), { timeout: 3000 });
      const waited = Date.now() - t;
      expect(waited).toBeGreaterThanOrEqual(900);
      expect(waited).toBeLessThan(2500);
      sockets[1].destroy();
    } finally {
      server.close();
    }
  });
});

describe('the manager over the real OfSwitch (memory ports)', () => {
  it('lets the flow tables forward while a controller is up, sends it packet-ins and port-status, and falls back when it leaves', async () => {
    const dp = new Datapath({ pool: new PacketPool({ slots: 256 }), burst: 32 });
    const normal = new NormalSwitch({ agingSec: 300 });
    dp.pipeline = normal;
    const [p1, p2] = [1, 2].map((n) => new MemoryPort({ name: `m${n}`, ofPort: n }));
    dp.addPort(p1);
    dp.addPort(p2);
    const sw = new OfSwitch({ datapath: dp, normal, datapathId: 7n });
    const mgr = new ControllerManager({ sw, log: silent, inactivityProbeMs: 0 });
    managers.push(mgr);
    await mgr.start();
    expect(dp.pipeline).toBe(normal); // standalone, nobody connected

    const [a, b] = duplexPair();
    mgr.attach(a, 'controller', 'tcp:test:1');
    const peer = new PeerController(b);
    peer.send(makeHello(1));
    peer.send({
      type: 'flow_mod', xid: 2, cookie: 0x5n, cookieMask: 0n, tableId: 0, command: 0, idleTimeout: 0, hardTimeout: 0, priority: 0,
      bufferId: OFP_NO_BUFFER, outPort: OFPP.ANY, outGroup: 0xffffffff, flags: 0, match: [],
      instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: OFPP.CONTROLLER, maxLen: OFPCML.NO_BUFFER }] }],
    });
    peer.send({ type: 'barrier_request', xid: 3 });
    await flush();
    expect(peer.received.map((m) => m.type)).toEqual(['hello', 'barrier_reply']);
    expect(dp.pipeline).toBe(sw.pipeline);

    const frame = udpFrame('02:00:00:00:00:0b', '02:00:00:00:00:0a');
    p1.inject(frame);
    p1.wake();
    await flush();
    const [pi] = peer.ofType('packet_in');
    expect(pi).toMatchObject({ xid: 0, reason: OFPR.NO_MATCH, tableId: 0, cookie: 0x5n, bufferId: OFP_NO_BUFFER, totalLen: frame.length });
    expect(pi.match).toEqual([{ field: 'in_port', value: 1 }]);
    expect(Buffer.from(pi.data).equals(Buffer.from(frame))).toBe(true);
    expect(p2.sent).toHaveLength(0); // the tables decided: to the controller only

    const p3 = new MemoryPort({ name: 'm3', ofPort: 3 });
    dp.addPort(p3);
    sw.tick();
    await flush();
    const [ps] = peer.ofType('port_status');
    expect(ps).toMatchObject({ xid: 0, reason: OFPPR.ADD, desc: { portNo: 3, name: 'm3' } });

    peer.close();
    await flush();
    expect(dp.pipeline).toBe(normal);
    p1.inject(frame);
    p1.wake();
    expect(p2.sent).toHaveLength(1); // flooded by the learning switch again
  });
});
