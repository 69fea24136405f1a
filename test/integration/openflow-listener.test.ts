/*
 * The linc-ts process with two TAP ports and OpenFlow connections, against
 * real peers on loopback:
 * - passive: `--listen ptcp:0` (a free port, read from the log), Debian's
 *   `ovs-ofctl -O OpenFlow13` show (features, port-desc, get-config),
 *   dump-ports-desc, dump-tables, dump-table-features (a reply long enough
 *   to need REPLY_MORE), add-flow then dump-flows; and a malformed message
 *   answered with an error while the connection lives on;
 * - active: `--controller tcp:127.0.0.1:PORT` to a tiny controller written
 *   here with the codec: hello and features, the switch's inactivity probe
 *   (echo requests; an unanswered one disconnects), and reconnects with
 *   the backoff after the controller drops or goes away.
 */

import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHello, OFPBRC, OFPET } from '../../src/openflow/codec/wire.js';
import { PeerController } from '../helpers/fake-of-switch.js';
import { SwitchProcess, Topology, type LogLine } from '../helpers/netns.js';
import { missing, netns, tool } from '../helpers/requirements.js';

const DPID = '00000000000000a1';

function ofctl(port: number, ...args: string[]): string {
  return execFileSync('ovs-ofctl', ['-O', 'OpenFlow13', ...args.slice(0, 1), `tcp:127.0.0.1:${port}`, ...args.slice(1)], {
    encoding: 'utf8',
    timeout: 15_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe.skipIf(missing(netns, tool('ovs-ofctl')))('OpenFlow listener with ovs-ofctl', () => {
  const topo = new Topology();
  const tapA = topo.ifname('oa');
  const tapB = topo.ifname('ob');
  let sw: SwitchProcess;
  let port: number;

  beforeAll(async () => {
    sw = await SwitchProcess.start([
      'run', '--port', `tap:${tapA}=1`, '--port', `tap:${tapB}=2`, '--listen', 'ptcp:0', '--datapath-id', `0x${DPID}`,
      '--metrics', 'off', '--admin-socket', 'off',
    ]);
    const l = await sw.waitForLog((x) => x.msg === 'openflow listener listening');
    expect(l.address).toBe('127.0.0.1');
    port = l.port as number;
  });

  afterAll(async () => {
    await sw?.stop();
    topo.cleanup();
  });

  it('answers ovs-ofctl show: datapath id, no buffers, both ports, the config', () => {
    const out = ofctl(port, 'show');
    expect(out).toMatch(new RegExp(`OFPT_FEATURES_REPLY \\(OF1\\.3\\) \\(xid=0x[0-9a-f]+\\): dpid:${DPID}`));
    expect(out).toMatch(/n_tables:\d+, n_buffers:0/);
    expect(out).toMatch(new RegExp(`\\n 1\\(${tapA}\\): addr:[0-9a-f:]{17}`));
    expect(out).toMatch(new RegExp(`\\n 2\\(${tapB}\\): addr:[0-9a-f:]{17}`));
    expect(out).toMatch(/OFPT_GET_CONFIG_REPLY \(OF1\.3\) \(xid=0x[0-9a-f]+\): frags=normal miss_send_len=\d+/);
    expect(out).not.toMatch(/OFPT_ERROR/);
  });

  it('answers dump-ports-desc, dump-tables and dump-table-features for every table', () => {
    const n = Number(/n_tables:(\d+)/.exec(ofctl(port, 'show'))![1]);
    expect(n).toBeGreaterThanOrEqual(64);
    const desc = ofctl(port, 'dump-ports-desc');
    expect(desc).toMatch(/OFPST_PORT_DESC reply \(OF1\.3\)/);
    expect(desc).toMatch(new RegExp(`\\n 1\\(${tapA}\\): addr:`));
    expect(desc).toMatch(new RegExp(`\\n 2\\(${tapB}\\): addr:`));
    const tables = ofctl(port, 'dump-tables');
    expect(tables).toMatch(/OFPST_TABLE reply \(OF1\.3\)/);
    expect(tables).toMatch(/table 0:\n\s+active=0, lookup=\d+, matched=\d+/);
    expect(tables).toMatch(new RegExp(`tables 1\\.\\.\\.${n - 1}: ditto`));
    // Table features for every table do not fit in one 64 KiB message: ovs-ofctl must see them all.
    const features = ofctl(port, 'dump-table-features');
    const ids = [...features.matchAll(/^ {2}table (\d+)/gm)].map((m) => Number(m[1]));
    expect(ids).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('installs a flow with add-flow and shows it in dump-flows', () => {
    expect(ofctl(port, 'dump-flows')).not.toMatch(/priority=/);
    ofctl(port, 'add-flow', 'table=0,priority=10,in_port=1,actions=output:2');
    const flows = ofctl(port, 'dump-flows');
    expect(flows).toMatch(/OFPST_FLOW reply \(OF1\.3\)/);
    expect(flows).toMatch(/ cookie=0x0, duration=[\d.]+s, table=0, n_packets=\d+, n_bytes=\d+, priority=10,in_port=1 actions=output:2/);
    ofctl(port, 'del-flows');
    expect(ofctl(port, 'dump-flows')).not.toMatch(/priority=/);
  });

  it('keeps a connection after a malformed message, and does not count it as a controller', async () => {
    const sock = connect(port, '127.0.0.1');
    await once(sock, 'connect');
    const peer = new PeerController(sock);
    try {
      peer.send(makeHello(1));
      peer.sendRaw(Buffer.from('04c8000c0000002a00000000', 'hex')); // type 200: no such message
      peer.send({ type: 'echo_request', xid: 43, data: Buffer.from('still there') });
      const reply = await peer.waitFor((m) => m.type === 'echo_reply');
      expect(reply).toEqual({ type: 'echo_reply', xid: 43, data: Buffer.from('still there') });
      const [err] = peer.ofType('error');
      expect([err.xid, err.errType, err.code]).toEqual([42, OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE]);
      expect(Buffer.from(err.data).toString('hex')).toBe('04c8000c0000002a00000000');
      expect(sw.logs.some((l) => l.msg === 'controller connected')).toBe(false);
    } finally {
      peer.close();
    }
  });
});

/** A controller on 127.0.0.1 that records every connection the switch makes to it. */
class TinyController {
  readonly server: Server;
  readonly conns: Array<{ at: number; sock: Socket; peer: PeerController }> = [];
  port = 0;

  constructor() {
    this.server = createServer((sock) => this.conns.push({ at: Date.now(), sock, peer: new PeerController(sock) }));
  }

  async listen(port = 0): Promise<void> {
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
  }

  async waitForConnection(n: number, timeoutMs = 10_000): Promise<{ at: number; sock: Socket; peer: PeerController }> {
    const t0 = Date.now();
    while (this.conns.length < n) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`no connection #${n} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.conns[n - 1];
  }

  close(): void {
    this.server.close();
    for (const c of this.conns) c.sock.destroy();
  }
}

describe.skipIf(missing(netns))('active connection to a controller', () => {
  const topo = new Topology();
  const ctl = new TinyController();
  let sw: SwitchProcess;

  beforeAll(async () => {
    await ctl.listen();
    sw = await SwitchProcess.start([
      'run', '--port', `tap:${topo.ifname('ca')}=1`, '--port', `tap:${topo.ifname('cb')}=2`, '--datapath-id', `0x${DPID}`,
      '--controller', `tcp:127.0.0.1:${ctl.port}`, '--inactivity-probe', '1', '--max-backoff', '2', '--metrics', 'off', '--admin-socket', 'off',
    ]);
  });

  afterAll(async () => {
    await sw?.stop();
    ctl.close();
    topo.cleanup();
  });

  it('says hello, answers features, probes a silent controller and drops it when the probe goes unanswered', async () => {
    const c1 = await ctl.waitForConnection(1);
    const hello = await c1.peer.waitFor((m) => m.type === 'hello');
    expect(hello).toMatchObject({ version: 4, elements: [{ type: 'versionbitmap', bitmaps: [0x10] }] });
    c1.peer.send(makeHello(1));
    c1.peer.send({ type: 'features_request', xid: 2 });
    const fr = await c1.peer.waitFor((m) => m.type === 'features_reply');
    expect(fr).toMatchObject({ xid: 2, datapathId: BigInt(`0x${DPID}`), nBuffers: 0, auxiliaryId: 0 });
    await sw.waitForLog((l) => l.msg === 'controller connected' && l.target === `tcp:127.0.0.1:${ctl.port}`);

    // 1 s of silence: an echo request; answer it, then stay silent.
    const t0 = Date.now();
    const probe = await c1.peer.waitFor((m) => m.type === 'echo_request', 3000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(800);
    c1.peer.send({ type: 'echo_reply', xid: probe.xid, data: Buffer.alloc(0) });
    const down = await sw.waitForLog((l) => l.msg === 'controller disconnected', 6000);
    expect(down.reason).toMatch(/inactivity probe/);
    expect(c1.peer.ofType('echo_request').length).toBe(2);
  });

  it('reconnects 1 s after losing a controller that had completed the handshake', async () => {
    const before = sw.logs.filter((l) => l.msg === 'controller disconnected').length;
    const c2 = await ctl.waitForConnection(2, 5000);
    c2.peer.send(makeHello(1));
    await sw.waitForLog((l) => l.msg === 'controller connected' && sw.logs.filter((x) => x.msg === 'controller connected').length >= 2);
    const dropped = Date.now();
    c2.sock.destroy(); // the controller goes away
    const c3 = await ctl.waitForConnection(3, 5000);
    expect(c3.at - dropped).toBeGreaterThanOrEqual(800);
    expect(c3.at - dropped).toBeLessThan(2500);
    expect(sw.logs.filter((l) => l.msg === 'controller disconnected').length).toBe(before + 1);
  });

  it('backs off 1, 2, 2 s (--max-backoff 2) while the controller is gone, and comes back when it returns', async () => {
    const port = ctl.port;
    const retriesBefore = sw.logs.filter((l) => l.msg === 'controller connection down, retrying').length;
    const c3 = await ctl.waitForConnection(3);
    c3.peer.send(makeHello(1));
    await new Promise((r) => setTimeout(r, 200));
    ctl.close(); // refuse everything from now on
    const retries = async (n: number): Promise<LogLine[]> => {
      const t0 = Date.now();
      for (;;) {
        const r = sw.logs.filter((l) => l.msg === 'controller connection down, retrying').slice(retriesBefore);
        if (r.length >= n) return r;
        if (Date.now() - t0 > 10_000) throw new Error(`only ${r.length} retries logged`);
        await new Promise((res) => setTimeout(res, 50));
      }
    };
    const r = await retries(3);
    expect(r.slice(0, 3).map((l) => l.retryInSec)).toEqual([1, 2, 2]);
    expect(r[1].reason).toMatch(/ECONNREFUSED/);

    const back = new TinyController();
    try {
      await back.listen(port);
      const c = await back.waitForConnection(1, 5000);
      await c.peer.waitFor((m) => m.type === 'hello');
    } finally {
      back.close();
    }
  });
});
