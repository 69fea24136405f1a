/*
 * Peers with limits, against the real linc-ts process on loopback, with
 * frames from a namespace host on one of its TAPs (every frame a table-miss
 * packet-in to the controller):
 * - a controller that stops reading while the switch floods it with
 *   packet-ins: the switch's unsent bytes stay under the 1 MiB bound (and
 *   its RSS does not grow with what was offered), the drops are counted in
 *   /metrics with reason "queue", and once the controller reads again every
 *   packet-in is accounted for: received + dropped = made by the pipeline;
 * - the hello deadline: a TCP client that sends nothing, and one trickling
 *   a hello byte by byte, are closed after --handshake-timeout, counted;
 * - the connection cap: with --listen-max-connections 3, the 4th and 5th
 *   connections are closed at accept (counted, logged once) while the first
 *   three are still served (echo);
 * - the packet-in rate limit: --controller-rate-limit 100 with a burst of 20
 *   lets about that many through, the rest counted with reason "rate".
 */

import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage, makeHello, OFP_NO_BUFFER, OFPCML, OFPP, type OfpMessage } from '../../src/openflow/codec/wire.js';
import { PeerController } from '../helpers/fake-of-switch.js';
import { SwitchProcess, Topology } from '../helpers/netns.js';
import { missing, netns, tool } from '../helpers/requirements.js';
import { pythonIn } from '../helpers/traffic.js';

/** Sends N broadcast frames of SIZE bytes on DEV (ethertype 0x88b5), pacing a little; prints how many went out. */
const SENDER = `
import socket, sys, time
dev, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((dev, 0))
frame = b"\\xff" * 6 + b"\\x02\\x00\\x00\\x00\\x00\\x01" + b"\\x88\\xb5" + bytes(size - 14)
sent = 0
for i in range(n):
    try:
        s.send(frame)
        sent += 1
    except OSError:
        time.sleep(0.002)
    if i % 256 == 255:
        time.sleep(0.002)
print(sent)
`;

/** The value of one series in a /metrics text (0 if absent). */
function metric(text: string, series: string): number {
  const esc = series.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^${esc} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

async function scrape(url: string): Promise<string> {
  return (await fetch(url)).text();
}

async function until(pred: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!(await pred())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A controller on loopback: accepts the switch and says hello at once (before the switch's deadline), installs the table-miss flow to the controller. */
class TestController {
  readonly server: Server;
  peer: PeerController | null = null;
  socket: Socket | null = null;

  constructor() {
    this.server = createServer((s) => {
      this.socket = s;
      this.peer = new PeerController(s);
      this.peer.send(makeHello(1));
    });
  }

  async listen(): Promise<number> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as AddressInfo).port;
  }

  /** Waits for the switch's hello and installs priority 0 -> CONTROLLER (whole frames). */
  async takeControl(): Promise<PeerController> {
    await until(() => this.peer !== null, 20_000, 'the switch to connect');
    const peer = this.peer!;
    await peer.waitFor((m) => m.type === 'hello', 10_000);
    peer.send({
      type: 'flow_mod', xid: 2, cookie: 0n, cookieMask: 0n, tableId: 0, command: 0, idleTimeout: 0, hardTimeout: 0, priority: 0,
      bufferId: OFP_NO_BUFFER, outPort: OFPP.ANY, outGroup: 0xffffffff, flags: 0, match: [],
      instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: OFPP.CONTROLLER, maxLen: OFPCML.NO_BUFFER }] }],
    });
    peer.send({ type: 'barrier_request', xid: 3 });
    await peer.waitFor((m) => m.type === 'barrier_reply' && m.xid === 3, 10_000);
    expect(peer.ofType('error')).toEqual([]);
    return peer;
  }

  close(): void {
    this.socket?.destroy();
    this.server.close();
  }
}

const packetIns = (peer: PeerController) => peer.received.filter((m: OfpMessage) => m.type === 'packet_in').length;

describe.skipIf(missing(netns, tool('python3')))('OpenFlow peers with limits (real sockets, namespace traffic)', () => {
  const topo = new Topology();

  afterAll(() => topo.cleanup());

  describe('a controller that stops reading', () => {
    const tap = topo.ifname('qa');
    const ctl = new TestController();
    let sw: SwitchProcess;
    let metricsUrl = '';
    let target = '';
    let ns = '';

    beforeAll(async () => {
      const port = await ctl.listen();
      target = `tcp:127.0.0.1:${port}`;
      sw = await SwitchProcess.start([
        'run', '--port', `tap:${tap}=1`, '--controller', target, '--fail-mode', 'secure', '--inactivity-probe', '0',
        '--metrics', '127.0.0.1:0', '--admin-socket', 'off', '--log-level', 'info',
      ]);
      metricsUrl = sw.logs.find((l) => l.msg === 'switch running')!.metrics as string;
      ns = topo.addNamespace('qh');
      topo.attach(tap, ns, '10.77.1.1/24');
    });

    afterAll(async () => {
      await sw?.stop();
      ctl.close();
    });

    it('keeps its unsent bytes bounded, counts the dropped packet-ins, and accounts for every one', async () => {
      const peer = await ctl.takeControl();
      ctl.socket!.pause(); // the controller stops reading its socket
      const made = (t: string) => metric(t, 'linc_openflow_packet_ins_total');
      const rss = (t: string) => metric(t, 'process_resident_memory_bytes');
      const frameSize = 1400;
      let text = await scrape(metricsUrl);
      let maxQueued = 0;
      /** Sends rounds of frames until the pipeline has made `bytes` of packet-ins in all. */
      const offerUntil = async (bytes: number) => {
        for (let round = 0; round < 40 && made(text) * frameSize < bytes; round++) {
          await pythonIn(ns, SENDER, [tap, '20000', String(frameSize)]).done;
          text = await scrape(metricsUrl);
          maxQueued = Math.max(maxQueued, metric(text, 'linc_openflow_tx_queued_bytes'));
        }
        expect(made(text) * frameSize).toBeGreaterThanOrEqual(bytes);
      };
      // First more than the kernel's socket buffers hold (the queue is full from then on), then 160 MB more.
      await offerUntil(40e6);
      const warm = { made: made(text), rss: rss(text) };
      await offerUntil(200e6);
      const total = made(text);
      const offeredLate = (total - warm.made) * frameSize;
      const queueDrops = metric(text, `linc_controller_packet_ins_dropped_total{target="${target}",reason="queue"}`);
      expect(queueDrops).toBeGreaterThan(total / 2);
      expect(metric(text, `linc_controller_packet_ins_dropped_total{target="${target}",reason="rate"}`)).toBe(0);
      // 1 MiB plus the message that crossed it (and a hello): never the 200 MB offered.
      expect(maxQueued).toBeGreaterThan(0);
      expect(maxQueued).toBeLessThanOrEqual((1 << 20) + 2 * 65536);
      // Buffering them would have grown the RSS by what was offered; garbage and heap growth stay far below.
      const rssGrowth = rss(text) - warm.rss;
      expect(rssGrowth).toBeLessThan(offeredLate / 2);
      console.log(
        `peer-limits: ${total} packet-ins made (${((total * frameSize) / 1e6).toFixed(0)} MB), ${queueDrops} dropped (queue), ` +
          `max queued ${maxQueued} B, RSS ${(warm.rss / 1e6).toFixed(1)} -> ${(rss(text) / 1e6).toFixed(1)} MB while ${(offeredLate / 1e6).toFixed(0)} MB more were offered`,
      );

      // The controller reads again: it gets every packet-in that was not dropped (frames still in the TAP's
      // queue at the last scrape were made and dropped since), and the connection is still up.
      ctl.socket!.resume();
      const dropsNow = (t: string) => metric(t, `linc_controller_packet_ins_dropped_total{target="${target}",reason="queue"}`);
      let after = '';
      await until(async () => {
        after = await scrape(metricsUrl);
        return metric(after, 'linc_openflow_tx_queued_bytes') === 0 && packetIns(peer) + dropsNow(after) >= made(after);
      }, 30_000, 'the queued packet-ins to arrive');
      expect(packetIns(peer) + dropsNow(after)).toBe(made(after));
      expect(metric(after, `linc_controller_connected{target="${target}"}`)).toBe(1);
      peer.send({ type: 'echo_request', xid: 99, data: Buffer.from('back') });
      await peer.waitFor((m) => m.type === 'echo_reply' && m.xid === 99);
    });
  });

  describe('handshake deadline, connection cap and packet-in rate limit', () => {
    const tap = topo.ifname('ra');
    const ctl = new TestController();
    let sw: SwitchProcess;
    let metricsUrl = '';
    let target = '';
    let listenPort = 0;
    let ns = '';

    beforeAll(async () => {
      const port = await ctl.listen();
      target = `tcp:127.0.0.1:${port}`;
      sw = await SwitchProcess.start([
        'run', '--port', `tap:${tap}=1`, '--controller', target, '--fail-mode', 'secure', '--listen', 'ptcp:0',
        '--handshake-timeout', '1', '--listen-max-connections', '3', '--controller-rate-limit', '100', '--controller-burst-limit', '20',
        '--metrics', '127.0.0.1:0', '--admin-socket', 'off', '--log-level', 'info',
      ]);
      metricsUrl = sw.logs.find((l) => l.msg === 'switch running')!.metrics as string;
      listenPort = (await sw.waitForLog((l) => l.msg === 'openflow listener listening')).port as number;
      ns = topo.addNamespace('rh');
      topo.attach(tap, ns, '10.77.2.1/24');
    });

    afterAll(async () => {
      await sw?.stop();
      ctl.close();
    });

    async function dial(): Promise<{ socket: Socket; closedAt: Promise<number> }> {
      const socket = connect(listenPort, '127.0.0.1');
      socket.on('error', () => {});
      await once(socket, 'connect');
      socket.on('data', () => {});
      const closedAt = new Promise<number>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('the switch did not close the connection within 10 s')), 10_000);
        socket.once('close', () => {
          clearTimeout(t);
          resolve(Date.now());
        });
      });
      return { socket, closedAt };
    }

    it('closes a client that sends nothing, and one that trickles a hello, after the deadline', async () => {
      const t0 = Date.now();
      const quiet = await dial();
      const trickle = await dial();
      const hello = Buffer.alloc(64); // a hello announcing 64 bytes, sent one byte every 100 ms
      encodeMessage(makeHello(1)).copy(hello);
      hello.writeUInt16BE(64, 2);
      let i = 0;
      const timer = setInterval(() => {
        if (!trickle.socket.destroyed && i < hello.length) trickle.socket.write(hello.subarray(i, ++i));
      }, 100);
      const [quietAt, trickleAt] = await Promise.all([quiet.closedAt, trickle.closedAt]);
      clearInterval(timer);
      expect(quietAt - t0).toBeGreaterThanOrEqual(900);
      expect(trickleAt - t0).toBeGreaterThanOrEqual(900);
      expect(i).toBeLessThan(hello.length); // closed before the hello could be whole
      const text = await scrape(metricsUrl);
      expect(metric(text, 'linc_openflow_handshake_timeouts_total')).toBe(2);
      expect(sw.logs.filter((l) => l.msg.startsWith('openflow handshake timed out'))).toHaveLength(1);
    });

    it('refuses the connections over --listen-max-connections at accept and still serves the first ones', async () => {
      const kept: PeerController[] = [];
      const sockets: Socket[] = [];
      for (let n = 0; n < 3; n++) {
        const socket = connect(listenPort, '127.0.0.1');
        await once(socket, 'connect');
        const peer = new PeerController(socket);
        await peer.waitFor((m) => m.type === 'hello');
        peer.send(makeHello(1));
        kept.push(peer);
        sockets.push(socket);
      }
      const over = await Promise.all([dial(), dial()]);
      await Promise.all(over.map((o) => o.closedAt));
      for (const [n, peer] of kept.entries()) {
        peer.send({ type: 'echo_request', xid: 10 + n, data: Buffer.from('served') });
        await peer.waitFor((m) => m.type === 'echo_reply' && m.xid === 10 + n);
      }
      const text = await scrape(metricsUrl);
      expect(metric(text, 'linc_openflow_connections_refused_total{listen="ptcp:0:127.0.0.1"}')).toBe(2);
      expect(metric(text, 'linc_openflow_connections{kind="service"}')).toBe(3);
      expect(sw.logs.filter((l) => l.msg.startsWith('openflow listener full'))).toHaveLength(1);
      for (const s of sockets) s.destroy();
    });

    it('lets packet-ins through at the rate limit and counts the rest with reason rate', async () => {
      const peer = await ctl.takeControl();
      const t0 = Date.now();
      const sent = Number((await pythonIn(ns, SENDER, [tap, '3000', '200']).done).trim());
      expect(sent).toBeGreaterThan(0);
      let text = '';
      let last = -1;
      await until(async () => {
        await new Promise((r) => setTimeout(r, 300)); // quiet: no new packet-in for 300 ms
        text = await scrape(metricsUrl);
        const made = metric(text, 'linc_openflow_packet_ins_total');
        const rate = metric(text, `linc_controller_packet_ins_dropped_total{target="${target}",reason="rate"}`);
        const settled = made === last && packetIns(peer) + rate === made;
        last = made;
        return settled;
      }, 20_000, 'every packet-in to be received or counted');
      console.log(`peer-limits: ${sent} frames sent, ${metric(text, 'linc_openflow_packet_ins_total')} packet-ins made, ${packetIns(peer)} received in ${(Date.now() - t0) / 1000} s`);
      const elapsedSec = (Date.now() - t0) / 1000;
      const made = metric(text, 'linc_openflow_packet_ins_total');
      const rateDrops = metric(text, `linc_controller_packet_ins_dropped_total{target="${target}",reason="rate"}`);
      expect(made).toBeGreaterThan(500);
      expect(rateDrops).toBeGreaterThan(0);
      expect(packetIns(peer)).toBeGreaterThanOrEqual(20);
      expect(packetIns(peer)).toBeLessThanOrEqual(20 + Math.ceil(100 * elapsedSec) + 1);
      expect(metric(text, `linc_controller_packet_ins_dropped_total{target="${target}",reason="queue"}`)).toBe(0);
    });
  });
});
