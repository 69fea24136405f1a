/*
 * Peer limits (src/openflow/transport/peer-limits.ts and their use by the
 * channel and the controller manager): the token bucket and the burst log
 * on a fake clock; the handshake deadline and message-based liveness with
 * fake timers over in-memory streams; the packet-in queue bound over a
 * socket the peer never reads (replies and port-status still sent, in
 * order); the packet-in rate limit; the listener's connection cap over real
 * loopback sockets; and the metrics families that count all of it.
 */

import { once } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ASYNC_TX_LIMIT } from '../../src/openflow/transport/channel.js';
import { ControllerManager } from '../../src/openflow/transport/controller-manager.js';
import type { ListenTarget } from '../../src/openflow/transport/connections.js';
import { BurstLog, defaultBurstLimit, TokenBucket, type PeerLimits } from '../../src/openflow/transport/peer-limits.js';
import { encodeMessage, makeHello, OFP_NO_BUFFER, OFPPR, OFPR } from '../../src/openflow/codec/wire.js';
import { createSwitchMetrics } from '../../src/stats/metrics.js';
import { addControllerMetrics } from '../../src/stats/controller-metrics.js';
import { captureLogger, duplexPair, FakeOfSwitch, flush, helloChannel, PeerController, listenTarget as listen } from '../helpers/fake-of-switch.js';

let managers: ControllerManager[] = [];
afterEach(() => {
  for (const m of managers) m.close();
  managers = [];
  vi.useRealTimers();
});

function manager(limits: Partial<PeerLimits> = {}, extra: { listen?: ListenTarget[]; inactivityProbeMs?: number } = {}) {
  const sw = new FakeOfSwitch();
  const { log, lines } = captureLogger();
  const mgr = new ControllerManager({ sw, log, inactivityProbeMs: extra.inactivityProbeMs ?? 0, listen: extra.listen, limits });
  sw.setEventSink(mgr);
  managers.push(mgr);
  const metrics = createSwitchMetrics({ datapath: { portList: [] }, datapathId: 1n, version: 'test' });
  addControllerMetrics(metrics, mgr);
  return { sw, mgr, lines, metrics };
}

const pktIn = (size: number) => ({ bufferId: OFP_NO_BUFFER, totalLen: size, reason: OFPR.NO_MATCH, tableId: 0, cookie: 0n, match: [], data: Buffer.alloc(size, 7) });
const portStatus = () => ({
  reason: OFPPR.MODIFY,
  desc: { portNo: 1, hwAddr: 0x020000000001, name: 'p1', config: 0, state: 0, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0 },
});

describe('TokenBucket', () => {
  it('lets a burst through at once, then refills at the rate, never above the burst', () => {
    const clock = { now: 1000 };
    const b = new TokenBucket(100, 5, () => clock.now);
    const takeAll = () => {
      let n = 0;
      while (b.take()) n++;
      return n;
    };
    expect(takeAll()).toBe(5);
    clock.now += 50; // 100/s for 50 ms: 5 tokens
    expect(takeAll()).toBe(5);
    clock.now += 25;
    expect(takeAll()).toBe(2); // 2.5 tokens: two whole ones, the half stays
    clock.now += 5;
    expect(takeAll()).toBe(1); // the half plus another half
    clock.now += 60_000; // a long quiet time fills it only to the burst
    expect(takeAll()).toBe(5);
  });

  it('defaults the burst to a quarter of the rate, at least 1 (as OVS)', () => {
    expect(defaultBurstLimit(1000)).toBe(250);
    expect(defaultBurstLimit(101)).toBe(25);
    expect(defaultBurstLimit(3)).toBe(1);
  });
});

describe('BurstLog', () => {
  it('logs the first event of a burst at once and the rest in one summary when the window ends', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const out: string[] = [];
    const log = new BurstLog(1000, () => out.push('first'), (n) => out.push(`more ${n}`));
    for (let i = 0; i < 50; i++) log.hit();
    expect(out).toEqual(['first']);
    vi.advanceTimersByTime(1000);
    expect(out).toEqual(['first', 'more 49']);
    log.hit(); // a new burst
    vi.advanceTimersByTime(1000);
    expect(out).toEqual(['first', 'more 49', 'first']); // a burst of one has no summary
  });
});

describe('handshake deadline and liveness', () => {
  it('closes a silent peer and one trickling a hello byte by byte at the deadline, logged once per burst and counted', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { mgr, lines, metrics } = manager({ handshakeTimeoutMs: 2000 });
    const [silentEnd] = duplexPair();
    const silentCh = mgr.attach(silentEnd, 'service', 'tcp:127.0.0.1:1');
    const [trickleEnd, trickleFar] = duplexPair();
    const trickleCh = mgr.attach(trickleEnd, 'service', 'tcp:127.0.0.1:2');
    const hello = Buffer.alloc(64); // a hello whose header announces 64 bytes: 19 of them never make it whole
    encodeMessage(makeHello(1)).copy(hello);
    hello.writeUInt16BE(64, 2);
    for (let i = 0; i < 19; i++) {
      trickleFar.write(hello.subarray(i, i + 1)); // one byte every 100 ms
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(trickleCh.state).toBe('hello');
    expect(silentCh.state).toBe('hello');
    await vi.advanceTimersByTimeAsync(150);
    expect(silentCh.state).toBe('closed');
    expect(trickleCh.state).toBe('closed');
    expect(mgr.handshakeTimeouts()).toBe(2);
    expect(lines.filter((l) => l.msg.startsWith('openflow handshake timed out'))).toHaveLength(1);
    expect(lines.find((l) => l.msg === 'openflow client disconnected')?.reason).toMatch(/^handshake timed out: no hello from the peer within 2 s/);
    expect(await metrics.scrape()).toContain('linc_openflow_handshake_timeouts_total 2');
  });

  it('a peer whose hello arrives in time stays, and the deadline no longer applies', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { mgr } = manager({ handshakeTimeoutMs: 2000 });
    const [a, b] = duplexPair();
    const ch = mgr.attach(a, 'controller', 'tcp:127.0.0.1:3');
    await vi.advanceTimersByTimeAsync(1900);
    new PeerController(b).send(makeHello(1));
    await flush();
    expect(ch.state).toBe('up');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(ch.state).toBe('up'); // probe off in this rig: nothing else closes it
    expect(mgr.handshakeTimeouts()).toBe(0);
  });

  it('after the handshake only whole messages are activity: a message trickled byte by byte does not stop the probe', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { mgr, lines } = manager({}, { inactivityProbeMs: 5000 });
    const { ch, peer } = await helloChannel(mgr, 'tcp:127.0.0.1:4');
    const echo = encodeMessage({ type: 'echo_request', xid: 9, data: Buffer.alloc(200) });
    for (let i = 0; i < 100 && ch.state === 'up'; i++) {
      peer.sendRaw(echo.subarray(i, i + 1)); // one byte every 150 ms: the echo is never whole in this test
      await vi.advanceTimersByTimeAsync(150);
    }
    expect(peer.ofType('echo_request')).toHaveLength(1); // the probe went out after 5 s despite the bytes
    expect(ch.state).toBe('closed');
    expect(lines.find((l) => l.msg === 'controller disconnected')?.reason).toMatch(/no response to the inactivity probe after 10 s/);
  });
});

/** A stream whose peer never reads: every write stays queued (writableLength grows). */
function unreadDuplex(): Duplex {
  return new Duplex({ read() {}, write(_chunk, _enc, _cb) {} });
}

describe('packet-in queue bound and rate limit', () => {
  it('drops packet-ins once 1 MiB waits unread, keeps port-status and replies in order, and counts the drops', async () => {
    const { mgr, sw, metrics } = manager();
    const socket = unreadDuplex();
    const ch = mgr.attach(socket, 'controller', 'tcp:192.0.2.9:6653');
    socket.push(encodeMessage(makeHello(1)));
    await flush();
    expect(ch.state).toBe('up');
    const n = 3000;
    for (let i = 0; i < n; i++) sw.sink!.packetIn(pktIn(1400)); // ~4.3 MB offered
    sw.sink!.portStatus(portStatus());
    socket.push(encodeMessage({ type: 'barrier_request', xid: 77 }));
    await flush();
    const sent = ch.stats.txMessages;
    const dropped = mgr.packetInDrops().find((d) => d.target === 'tcp:192.0.2.9:6653' && d.reason === 'queue')!.count;
    // hello + accepted packet-ins + port-status + barrier reply were written; every other packet-in was counted.
    expect(sent - 3 + dropped).toBe(n);
    expect(dropped).toBeGreaterThan(n / 2);
    const oneMessage = encodeMessage({ ...pktIn(1400), type: 'packet_in', xid: 0 }).length;
    expect(mgr.txQueuedBytes()).toBeLessThanOrEqual(ASYNC_TX_LIMIT + 2 * oneMessage + 200);
    expect(mgr.asyncDropped()).toBe(dropped);
    expect(ch.state).toBe('up');
    const text = await metrics.scrape();
    expect(text).toContain(`linc_controller_packet_ins_dropped_total{target="tcp:192.0.2.9:6653",reason="queue"} ${dropped}`);
    expect(text).toContain(`linc_controller_packet_ins_dropped_total{target="tcp:192.0.2.9:6653",reason="rate"} 0`);
    expect(text).toMatch(new RegExp(`linc_openflow_tx_queued_bytes ${mgr.txQueuedBytes()}\\n`));
  });

  it('the queued bytes are the ones the peer has not read: port-status and the barrier reply come after the last packet-in sent', async () => {
    const { mgr, sw } = manager();
    const { peer } = await helloChannel(mgr, 'tcp:192.0.2.10:6653');
    for (let i = 0; i < 5; i++) sw.sink!.packetIn(pktIn(100));
    sw.sink!.portStatus(portStatus());
    peer.send({ type: 'barrier_request', xid: 5 });
    await flush();
    expect(peer.received.map((m) => m.type)).toEqual(['hello', 'packet_in', 'packet_in', 'packet_in', 'packet_in', 'packet_in', 'port_status', 'barrier_reply']);
  });

  it('limits packet-ins per connection to the rate, with the burst at once, and counts the rest as reason rate', async () => {
    const { mgr, sw, metrics } = manager({ controllerRateLimit: 100, controllerBurstLimit: 10 });
    const { ch, peer } = await helloChannel(mgr, 'tcp:192.0.2.11:6653');
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) sw.sink!.packetIn(pktIn(60));
    const elapsedMs = performance.now() - t0;
    await flush();
    const got = peer.ofType('packet_in').length;
    const rate = mgr.packetInDrops().find((d) => d.reason === 'rate' && d.target === 'tcp:192.0.2.11:6653')!.count;
    expect(got + rate).toBe(200);
    expect(got).toBeGreaterThanOrEqual(10);
    expect(got).toBeLessThanOrEqual(10 + Math.ceil((elapsedMs * 100) / 1000) + 1);
    expect(ch.stats.packetInRateDropped).toBe(rate);
    expect(await metrics.scrape()).toContain(`linc_controller_packet_ins_dropped_total{target="tcp:192.0.2.11:6653",reason="rate"} ${rate}`);
  });
});

describe('connection cap per listener', () => {
  async function open(port: number): Promise<{ socket: Socket; peer: PeerController }> {
    const socket = netConnect(port, '127.0.0.1');
    await once(socket, 'connect');
    return { socket, peer: new PeerController(socket) };
  }

  it('refuses connections over the cap at accept, logs once for the burst, counts them, and serves the first ones', async () => {
    const { mgr, lines, metrics } = manager({ maxConnectionsPerListener: 3 }, { listen: [listen('ptcp:0')] });
    await mgr.start();
    const port = mgr.listenerStatus()[0].address!.port;
    const kept = [];
    for (let i = 0; i < 3; i++) {
      const c = await open(port);
      await c.peer.waitFor((m) => m.type === 'hello');
      c.peer.send(makeHello(1));
      kept.push(c);
    }
    const over = await Promise.all([open(port), open(port), open(port), open(port)]);
    await vi.waitFor(() => expect(over.every((c) => c.peer.ended)).toBe(true), { timeout: 5000 });
    expect(over.every((c) => c.peer.received.length === 0)).toBe(true); // closed before any hello
    for (const [i, c] of kept.entries()) {
      c.peer.send({ type: 'echo_request', xid: 100 + i, data: Buffer.from('still here') });
      await c.peer.waitFor((m) => m.type === 'echo_reply' && m.xid === 100 + i);
    }
    const spec = mgr.listenerStatus()[0].spec;
    expect(mgr.connectionsRefused()).toEqual([{ listen: spec, count: 4 }]);
    expect(lines.filter((l) => l.msg.startsWith('openflow listener full'))).toHaveLength(1);
    expect(await metrics.scrape()).toContain(`linc_openflow_connections_refused_total{listen="${spec}"} 4`);
    // A slot freed is a slot to take again.
    kept[0].socket.destroy();
    await vi.waitFor(() => expect(mgr.serviceConnections()).toHaveLength(2), { timeout: 5000 });
    const again = await open(port);
    await again.peer.waitFor((m) => m.type === 'hello');
    for (const c of [...kept, ...over, again]) c.socket.destroy();
  });
});
