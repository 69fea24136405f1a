/*
 * if: ports in both I/O modes (src/ports/packet-port.ts): the kernel's
 * TPACKET_V2 rings (mode=ring, the default) and recvmmsg/sendmmsg
 * (mode=mmsg), each through the switch on veths between two namespace hosts:
 * ping, a bounded UDP flood, and a TCP transfer with the hosts' offloads on
 * (GSO frames with vnet headers, larger than a ring slot, cross the ring
 * whole). Without mode= the ports use the rings, and a lone ping with no
 * other traffic is answered. Then: the ring setup forced to fail
 * (LINC_TEST_RING_SETUP_FAIL=1) logs one line and the port still forwards
 * with mmsg; kernel drops are counted in ring mode under a trafgen flood
 * (the ring holding its 4096 frames while the switch is stopped);
 * and a PacketPort in ring mode re-binds to a re-created veth and sends
 * through its new ring, receives a VLAN-tagged frame with its tag in place,
 * hands a lone frame over by itself (its poll callback fires), receives a
 * jumbo frame larger than a ring slot whole (TP_STATUS_COPY), and neither
 * counts nor later sends a burst refused while its link is down; and frames
 * a full send buffer left in its tx ring (a slow qdisc) leave by themselves,
 * and its timer's kicks show in llstat and Prometheus.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Datapath } from '../../src/datapath/datapath.js';
import { NormalSwitch } from '../../src/datapath/learning/normal.js';
import { PacketPool } from '../../src/packet/pool.js';
import { VNET_HDR_LEN } from '../../src/packet/vnet.js';
import { ERRNO_EAGAIN, ERRNO_ENOBUFS } from '../../src/ports/native-layout.js';
import { PacketPort } from '../../src/ports/packet-port.js';
import { formatLlstat, LlstatWindows } from '../../src/stats/llstat.js';
import { createSwitchMetrics } from '../../src/stats/metrics.js';
import { metricValue, rawFrame, startFlood } from '../helpers/flood.js';
import { linkMac, linkStats, sh, SwitchProcess, Topology } from '../helpers/netns.js';
import { drainFrames, expectOneFrameArrives, expectRefusedWhileDownNotSent, expectTaggedFrameReceived, sendBroadcast } from '../helpers/port-bursts.js';
import { missing, netns, tool } from '../helpers/requirements.js';
import { pythonIn, tcpTransfer, udpFlood } from '../helpers/traffic.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Two hosts behind veths, their outer ends the switch's if: ports with `opts` (e.g. ',mode=ring'). */
async function twoHosts(topo: Topology, subnet: number, opts: string, extraArgs: string[] = []) {
  const { nsA, nsB, outA, outB } = topo.vethHosts(`10.${subnet}.0`);
  const sw = await SwitchProcess.start(['run', '--port', `if:${outA}=1${opts}`, '--port', `if:${outB}=2${opts}`, '--admin-socket', 'off', ...extraArgs]);
  return { nsA, nsB, outA, outB, sw, dst: `10.${subnet}.0.2` };
}

describe.skipIf(missing(netns, tool('ping'), tool('trafgen')))('if: ports with kernel rings and with recvmmsg/sendmmsg', () => {
  const topos: Topology[] = [];
  const switches: SwitchProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'linc-rings-'));

  afterAll(async () => {
    for (const sw of switches) await sw.stop();
    for (const t of topos) t.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [mode, subnet] of [['ring', 231], ['mmsg', 232]] as const) {
    it(`mode=${mode}: ping, a UDP flood and a 16 MiB TCP transfer with offloads on`, async () => {
      const topo = new Topology();
      topos.push(topo);
      const h = await twoHosts(topo, subnet, `,mode=${mode}`, ['--metrics', '127.0.0.1:0']);
      switches.push(h.sw);
      // No fallback notice: the mode asked for is the one in use.
      expect(h.sw.logs.filter((l) => /kernel rings unavailable/.test(l.msg))).toEqual([]);
      expect(topo.exec(h.nsA, `ping -c 3 -i 0.2 -W 2 ${h.dst}`)).toMatch(/3 received/);
      const url = h.sw.logs.find((l) => l.msg === 'switch running')!.metrics as string;
      const kernelDrops = async () => metricValue(await (await fetch(url)).text(), 'linc_port_rx_dropped_total', { port: '1', reason: 'kernel' });
      const k0 = await kernelDrops();
      const got = await udpFlood(h.nsA, h.nsB, h.dst, 20_000, 200);
      const lost = (await kernelDrops()) - k0;
      // Every datagram crossed, or was counted where it was lost (port 1's receive ring or socket buffer full while the switch was not scheduled).
      expect(got + lost, `${got} received, ${lost} counted as kernel drops on port 1`).toBeGreaterThanOrEqual(20_000);
      expect(got, `${lost} counted as kernel drops on port 1`).toBe(20_000);
      const inB = topo.ifname('ib');
      const b0 = linkStats(h.nsB, inB);
      const r = await tcpTransfer(h.nsA, h.nsB, h.dst, 16 << 20);
      expect(r.receivedBytes).toBe(16 << 20);
      expect(r.receivedSha).toBe(r.sentSha);
      // GSO super-frames (far larger than a 2 KiB ring slot) reached B whole: more bytes per frame than a slot holds.
      const b1 = linkStats(h.nsB, inB);
      expect((b1.rxBytes - b0.rxBytes) / (b1.rxPackets - b0.rxPackets)).toBeGreaterThan(2048);
      expect(await h.sw.stop()).toBe(0);
      // The flood and the transfer came in on port 1 (host A's side) and left through port 2.
      const stats = (port: number) => h.sw.logs.find((l) => l.msg === 'port removed' && l.port === port)!.stats as Record<string, number>;
      expect(stats(1).rx_frames).toBeGreaterThan(20_000);
      expect(stats(2).tx_frames).toBeGreaterThan(20_000);
    }, 60_000);
  }

  it('without mode= uses the rings, and answers a lone ping while no other traffic flows', async () => {
    const topo = new Topology();
    topos.push(topo);
    const h = await twoHosts(topo, 236, '', ['--metrics', '127.0.0.1:0']);
    switches.push(h.sw);
    const url = h.sw.logs.find((l) => l.msg === 'switch running')!.metrics as string;
    const m = await (await fetch(url)).text();
    expect(metricValue(m, 'linc_port_io_info', { port: '1', io: 'ring' })).toBe(1);
    expect(metricValue(m, 'linc_port_io_info', { port: '2', io: 'ring' })).toBe(1);
    // One echo (and the ARP before it): every frame a lone one, handed over by itself.
    expect(topo.exec(h.nsA, `ping -c 1 -W 5 ${h.dst}`)).toMatch(/1 received/);
    // And again later, with the ARP entries in place: the echo and its reply alone.
    await sleep(500);
    expect(topo.exec(h.nsA, `ping -c 1 -W 5 ${h.dst}`)).toMatch(/1 received/);
  }, 60_000);

  it('falls back to recvmmsg/sendmmsg with one log line when the kernel refuses the rings, and forwards', async () => {
    const topo = new Topology();
    topos.push(topo);
    process.env.LINC_TEST_RING_SETUP_FAIL = '1';
    let h;
    try {
      h = await twoHosts(topo, 233, ',mode=ring');
    } finally {
      delete process.env.LINC_TEST_RING_SETUP_FAIL;
    }
    switches.push(h.sw);
    const notices = h.sw.logs.filter((l) => /kernel rings unavailable/.test(l.msg));
    // One line per port, naming the step the kernel refused.
    expect(notices.map((l) => l.msg).sort()).toEqual([
      `port ${h.outA}: kernel rings unavailable (PACKET_RX_RING: EINVAL): using recvmmsg/sendmmsg`,
      `port ${h.outB}: kernel rings unavailable (PACKET_RX_RING: EINVAL): using recvmmsg/sendmmsg`,
    ].sort());
    expect(topo.exec(h.nsA, `ping -c 3 -i 0.2 -W 2 ${h.dst}`)).toMatch(/3 received/);
    expect(await udpFlood(h.nsA, h.nsB, h.dst, 5_000, 200)).toBe(5_000);
  }, 60_000);

  it('counts kernel drops in ring mode under a flood', async () => {
    const topo = new Topology();
    topos.push(topo);
    const h = await twoHosts(topo, 234, ',mode=ring', ['--metrics', '127.0.0.1:0']);
    switches.push(h.sw);
    const url = h.sw.logs.find((l) => l.msg === 'switch running')!.metrics as string;
    const scrape = async () => (await fetch(url)).text();
    expect(topo.exec(h.nsA, `ping -c 2 -i 0.2 -W 2 ${h.dst}`)).toMatch(/2 received/);
    const frame = rawFrame(linkMac(h.nsB, topo.ifname('ib')), linkMac(h.nsA, topo.ifname('ia')));
    const m0 = await scrape();
    const o1 = linkStats(null, h.outA).rxPackets;
    // Stop the switch reading for a moment (SIGSTOP) so the ring fills whatever the machine's speed.
    process.kill(h.sw.pid, 'SIGSTOP');
    let sent: number;
    try {
      sent = await startFlood(h.nsA, topo.ifname('ia'), frame, { dir, count: 200_000 }).done;
    } finally {
      process.kill(h.sw.pid, 'SIGCONT');
    }
    const d = (m: string, name: string, labels: Record<string, string>) => metricValue(m, name, labels) - metricValue(m0, name, labels);
    let m1 = '';
    let rx = 0;
    let drops = 0;
    const vethRx = linkStats(null, h.outA).rxPackets - o1;
    for (let i = 0; i < 80; i++) {
      await sleep(250);
      m1 = await scrape();
      rx = d(m1, 'linc_port_rx_packets_total', { port: '1' });
      drops = d(m1, 'linc_port_rx_dropped_total', { port: '1', reason: 'kernel' });
      if (rx + drops >= vethRx) break;
    }
    expect(sent).toBe(200_000);
    // The ring held a few thousand frames; the kernel dropped the rest for us, and the switch counted them.
    expect(drops).toBeGreaterThan(0);
    // What the ring holds while the switch is not scheduled (4096 slots; mmsg's socket buffer holds ~6500 such frames).
    expect(rx).toBeGreaterThanOrEqual(4000);
    // Every frame the veth received reached the switch or was counted as a kernel drop.
    expect(rx + drops).toBe(vethRx);
  }, 60_000);
});

describe.skipIf(missing(netns, tool('ip'), tool('trafgen')))('PacketPort in ring mode: re-binding, VLAN tags, a link down', () => {
  const topo = new Topology();
  const pool = new PacketPool({ slots: 64 });
  let port: PacketPort | undefined;

  afterAll(() => {
    port?.close();
    topo.cleanup();
  });

  /** Send one broadcast frame through the port; what txBurst returned. */
  const sendOne = (p: PacketPort): number => sendBroadcast(p, pool);

  it('re-binds with a new ring after the veth is deleted and re-created, and sends through it', async () => {
    const { ns, out, inner } = topo.vethHost('r', '10.235.0.1/24');
    const notices: string[] = [];
    port = PacketPort.open({ name: out, ofPort: 1, pool, burst: 8, waitForInterface: true, mode: 'ring', notice: (m) => notices.push(m) });
    expect(port.ioMode).toBe('ring');
    await expectOneFrameArrives(ns, inner, () => sendOne(port!));
    const first = port.ifindex;
    sh(`ip link del ${out}`);
    expect(port.rebind()).toBe(true);
    expect(port.attached).toBe(false);
    topo.veth(inner, out, ns, '10.235.0.1/24');
    expect(port.rebind()).toBe(true);
    expect(port.attached).toBe(true);
    expect(port.ifindex).not.toBe(first);
    expect(port.ioMode).toBe('ring');
    await expectOneFrameArrives(ns, inner, () => sendOne(port!));
    expect(notices).toEqual([]);
  });

  it('puts back the VLAN tag the kernel stripped, as in mmsg mode', async () => {
    const ns = topo.namespaces[0];
    const inner = topo.ifname('ir');
    const drain = () => drainFrames(port!, pool);
    await expectTaggedFrameReceived(ns, inner, drain);
  });

  it('hands a lone frame over by itself: the poll callback fires and rxBurst returns it', async () => {
    const ns = topo.namespaces[0];
    const inner = topo.ifname('ir');
    const drain = () => drainFrames(port!, pool);
    drain();
    let wakeups = 0;
    port!.start(() => wakeups++);
    try {
      const frame = new Uint8Array(60);
      frame.fill(0xff, 0, 6);
      frame.set([0x02, 0, 0, 0, 0, 0x43, 0x88, 0xb5, 0xab], 6);
      const dir = mkdtempSync(join(tmpdir(), 'linc-rings-lone-'));
      try {
        expect(await startFlood(ns, inner, frame, { dir, count: 1 }).done).toBe(1);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      for (let i = 0; i < 100 && wakeups === 0; i++) await sleep(50);
      expect(wakeups).toBeGreaterThan(0);
      const got = drain().filter((f) => f[11] === 0x43 && f[14] === 0xab);
      expect(got.length).toBe(1);
    } finally {
      port!.stop();
    }
  });

  it('does not count or later send a burst its kick could not send (link down)', async () => {
    const ns = topo.namespaces[0];
    const out = topo.ifname('or');
    const inner = topo.ifname('ir');
    await expectRefusedWhileDownNotSent(ns, out, inner, () => sendOne(port!));
  });
});

describe.skipIf(missing(netns, tool('ip'), tool('python3')))('PacketPort in ring mode: a frame larger than a ring slot', () => {
  const topo = new Topology();
  const pool = new PacketPool({ slots: 64, frameCapacity: 9216 });
  let port: PacketPort | undefined;

  afterAll(() => {
    port?.close();
    topo.cleanup();
  });

  it('receives a 6000-byte VLAN-tagged frame whole, with its tag, through the socket queue (TP_STATUS_COPY)', async () => {
    const { ns, out, inner } = topo.vethHost('j', '10.237.0.1/24');
    sh(`ip link set ${out} mtu 9000 && ip -n ${ns} link set ${inner} mtu 9000`);
    port = PacketPort.open({ name: out, ofPort: 1, pool, burst: 8, mode: 'ring' });
    expect(port.ioMode).toBe('ring');
    const drain = () => drainFrames(port!, pool);
    drain();
    // Broadcast, VLAN 10, EtherType 0x88b5, then a counting payload; sent from the namespace end.
    const send = `
import socket, sys
f = bytearray(6000)
f[0:6] = b'\\xff' * 6
f[6:12] = bytes([2, 0, 0, 0, 0, 0x44])
f[12:18] = bytes([0x81, 0x00, 0x00, 0x0a, 0x88, 0xb5])
for i in range(18, 6000): f[i] = i & 0xff
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
s.send(bytes(f))
`;
    await pythonIn(ns, send, [inner]).done;
    let big: Uint8Array | undefined;
    for (let i = 0; i < 60 && big === undefined; i++) {
      await sleep(50);
      big = drain().find((f) => f[11] === 0x44);
    }
    expect(big).toBeDefined();
    expect(big!.length).toBe(6000);
    expect([...big!.subarray(12, 18)]).toEqual([0x81, 0x00, 0x00, 0x0a, 0x88, 0xb5]);
    let intact = true;
    for (let i = 18; i < 6000; i++) if (big![i] !== (i & 0xff)) intact = false;
    expect(intact).toBe(true);
    expect(port.rxTruncated).toBe(0);
    // The ring keeps its order after the copy: a small frame after it arrives too.
    await pythonIn(ns, send.replace('bytearray(6000)', 'bytearray(100)').replace('range(18, 6000)', 'range(18, 100)').replace('0x44', '0x45'), [inner]).done;
    let small: Uint8Array | undefined;
    for (let i = 0; i < 60 && small === undefined; i++) {
      await sleep(50);
      small = drain().find((f) => f[11] === 0x45);
    }
    expect(small?.length).toBe(100);
  });
});

describe.skipIf(missing(netns, tool('ip'), tool('tc')))('PacketPort in ring mode: frames a full send buffer left in the tx ring', () => {
  const topo = new Topology();
  const pool = new PacketPool({ slots: 512 });
  const dp = new Datapath({ pool, burst: 32 });
  dp.pipeline = new NormalSwitch();
  let port: PacketPort | undefined;

  afterAll(() => {
    dp.removePort(1);
    port?.close();
    topo.cleanup();
  });

  it('re-kicks them on its own: all leave with no further traffic; llstat and Prometheus count the re-kicks', async () => {
    const { ns, out, inner } = topo.vethHost('k', '10.237.0.1/24');
    // A slow qdisc holds the frames and a small send buffer (64 KiB, ~20 frames) fills, so the kick stops short.
    sh(`tc qdisc replace dev ${out} root tbf rate 40mbit burst 16kb limit 4mb`);
    process.env.LINC_TEST_RING_SNDBUF = String(32 << 10); // the kernel doubles it
    try {
      port = PacketPort.open({ name: out, ofPort: 1, pool, burst: 256, mode: 'ring' });
    } finally {
      delete process.env.LINC_TEST_RING_SNDBUF;
    }
    expect(port.ioMode).toBe('ring');
    dp.addPort(port);
    const llstat = new LlstatWindows(dp);
    llstat.start('1');
    const metrics = createSwitchMetrics({ datapath: dp, datapathId: 1n, version: 'test' });
    const n = 400;
    const slots = new Int32Array(n);
    expect(pool.allocBurst(slots, n)).toBe(n);
    for (let i = 0; i < n; i++) {
      const off = pool.dataOff[slots[i]];
      pool.bytes.fill(0, off - VNET_HDR_LEN, off + 1514);
      pool.bytes.fill(0xff, off, off + 6);
      pool.bytes.set([0x02, 0, 0, 0, 0, 0x78, 0x88, 0xb5], off + 6);
      pool.len[slots[i]] = 1514;
    }
    const rx0 = linkStats(ns, inner).rxPackets;
    expect(port.txBurst(pool, slots, n)).toBe(n);
    pool.releaseBurst(slots, 0, n);
    // The send buffer was full when the burst ended: some frames were still in the ring then.
    expect(port.lastErrno === ERRNO_EAGAIN || port.lastErrno === ERRNO_ENOBUFS).toBe(true);
    // No more txBurst: the port's own re-kicks send the rest.
    for (let i = 0; i < 200 && linkStats(ns, inner).rxPackets < rx0 + n; i++) await sleep(50);
    expect(linkStats(ns, inner).rxPackets).toBe(rx0 + n);
    expect(port.txKickRetries).toBeGreaterThan(0);
    // The port's count reaches the llstat window (JSON counters and text) and the Prometheus series.
    const [report] = llstat.show('1');
    expect(report.counters.tx_kick_retries).toBeGreaterThan(0);
    expect(report.counters.tx_kick_retries).toBe(port.txKickRetries);
    expect(formatLlstat(report)).toContain(`TX: ring re-kicks: ${port.txKickRetries}`);
    const kicks = metricValue(await metrics.scrape(), 'linc_port_tx_kick_retries_total', { port: '1' });
    expect(kicks).toBeGreaterThan(0);
    expect(kicks).toBe(port.txKickRetries);
  }, 30_000);
});
