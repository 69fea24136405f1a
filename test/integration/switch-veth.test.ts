/*
 * The switch on existing interfaces (AF_PACKET ports): two namespace hosts
 * behind veth pairs whose outer ends are the switch's ports. Ping, a bounded
 * UDP flood, a 64 MiB TCP transfer with the hosts' default offloads on, and
 * the kernel's counters of the outer veth ends against the switch's.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkStats, SwitchProcess, Topology, type LogLine } from '../helpers/netns.js';
import { iperf3Gbps, tcpTransfer, udpFlood } from '../helpers/traffic.js';
import { missing, netns, tool } from '../helpers/requirements.js';

describe.skipIf(missing(netns, tool('ping'), tool('iperf3')))('switch with AF_PACKET ports on veths', () => {
  const topo = new Topology();
  let sw: SwitchProcess;
  let nsA: string;
  let nsB: string;
  const outA = topo.ifname('oa');
  const outB = topo.ifname('ob');

  beforeAll(async () => {
    nsA = topo.addNamespace('a');
    nsB = topo.addNamespace('b');
    topo.veth(topo.ifname('ia'), outA, nsA, '10.202.0.1/24');
    topo.veth(topo.ifname('ib'), outB, nsB, '10.202.0.2/24');
    sw = await SwitchProcess.start(['run', '--port', `if:${outA}=1`, '--port', `if:${outB}=2`]);
  });

  afterAll(async () => {
    await sw?.stop();
    topo.cleanup();
  });

  it('carries ping', () => {
    expect(topo.exec(nsA, 'ping -c 3 -i 0.2 -W 2 10.202.0.2')).toMatch(/3 received/);
  });

  it('delivers a bounded UDP flood', async () => {
    expect(await udpFlood(nsA, nsB, '10.202.0.2', 20_000, 200)).toBe(20_000);
  });

  it('carries a 64 MiB TCP transfer intact with offloads on', async () => {
    const r = await tcpTransfer(nsA, nsB, '10.202.0.2', 64 << 20);
    expect(r.receivedBytes).toBe(64 << 20);
    expect(r.receivedSha).toBe(r.sentSha);
    const gbps = await iperf3Gbps(topo, nsA, nsB, '10.202.0.2', 2);
    console.log(`veth TCP: 64 MiB in ${r.seconds.toFixed(2)} s; iperf3 ${gbps.toFixed(2)} Gbit/s`);
    expect(gbps).toBeGreaterThan(0);
  });

  it('counts what the kernel counted on the outer veth ends', async () => {
    await new Promise((r) => setTimeout(r, 500));
    const a = linkStats(null, outA);
    const b = linkStats(null, outB);
    expect(await sw.stop()).toBe(0);
    const stats = (port: number) => sw.logs.find((l: LogLine) => l.msg === 'port removed' && l.port === port)!.stats as Record<string, number>;
    const s1 = stats(1);
    const s2 = stats(2);
    // Every frame the outer end received reached the switch; every frame the switch sent left through it.
    expect(s1.rx_frames).toBe(a.rxPackets);
    expect(s2.rx_frames).toBe(b.rxPackets);
    expect(s1.tx_frames).toBe(a.txPackets + a.txDropped);
    expect(s2.tx_frames).toBe(b.txPackets + b.txDropped);
    expect(s1.rx_frames).toBeGreaterThan(20_000);
    // The veths were not the switch's: they are still there.
    expect(linkStats(null, outA).rxPackets).toBeGreaterThanOrEqual(a.rxPackets);
  });
});
