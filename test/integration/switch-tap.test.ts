/*
 * The switch process with TAP ports it creates, each moved into a network
 * namespace of its own (the way a VM or container is attached): ping, a
 * bounded UDP flood, a 64 MiB TCP transfer checked end to end with the hosts'
 * default offloads on, and the kernel's interface counters against the
 * switch's own.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkStats, SwitchProcess, Topology, type LinkStats, type LogLine } from '../helpers/netns.js';
import { iperf3Gbps, tcpTransfer, udpFlood } from '../helpers/traffic.js';
import { missing, netns, tool } from '../helpers/requirements.js';

describe.skipIf(missing(netns, tool('ping'), tool('iperf3')))('switch with TAP ports moved into namespaces', () => {
  const topo = new Topology();
  let sw: SwitchProcess;
  let nsA: string;
  let nsB: string;
  const tapA = topo.ifname('ta');
  const tapB = topo.ifname('tb');

  beforeAll(async () => {
    sw = await SwitchProcess.start(['run', '--port', `tap:${tapA}=1`, '--port', `tap:${tapB}=2`]);
    [nsA, nsB] = topo.tapHosts(tapA, tapB, '10.201.0');
  });

  afterAll(async () => {
    await sw?.stop();
    topo.cleanup();
  });

  it('carries ping between the namespaces', () => {
    const out = topo.exec(nsA, 'ping -c 3 -i 0.2 -W 2 10.201.0.2');
    expect(out).toMatch(/3 received/);
  });

  it('delivers a bounded UDP flood', async () => {
    const received = await udpFlood(nsA, nsB, '10.201.0.2', 20_000, 200);
    // Paced well below the knee: nothing may be lost on the way.
    expect(received).toBe(20_000);
  });

  it('carries a 64 MiB TCP transfer intact with offloads on', async () => {
    const r = await tcpTransfer(nsA, nsB, '10.201.0.2', 64 << 20);
    expect(r.receivedBytes).toBe(64 << 20);
    expect(r.receivedSha).toBe(r.sentSha);
    const gbps = await iperf3Gbps(topo, nsA, nsB, '10.201.0.2', 2);
    console.log(`TAP TCP: 64 MiB in ${r.seconds.toFixed(2)} s; iperf3 ${gbps.toFixed(2)} Gbit/s`);
    expect(gbps).toBeGreaterThan(0);
  });

  it('counts exactly what the kernel counted, and removes its TAPs on SIGTERM', async () => {
    await new Promise((r) => setTimeout(r, 500));
    const a: LinkStats = linkStats(nsA, tapA);
    const b: LinkStats = linkStats(nsB, tapB);
    expect(await sw.stop()).toBe(0);
    const removed = (port: number) => sw.logs.find((l: LogLine) => l.msg === 'port removed' && l.port === port)!.stats as Record<string, number>;
    const s1 = removed(1);
    const s2 = removed(2);
    // What host A sent into its TAP is what the switch read from port 1, and so on.
    expect(s1.rx_frames).toBe(a.txPackets);
    expect(s1.rx_bytes).toBe(a.txBytes);
    expect(s1.tx_frames).toBe(a.rxPackets);
    expect(s2.rx_frames).toBe(b.txPackets);
    expect(s2.tx_frames).toBe(b.rxPackets);
    expect(s2.tx_bytes).toBe(b.rxBytes);
    expect(s1.rx_frames).toBeGreaterThan(20_000);
    expect(s1.rx_wakeups).toBeGreaterThan(0);
    // The TAPs were the switch's: they are gone with it.
    expect(() => linkStats(nsA, tapA)).toThrow();
    expect(() => linkStats(nsB, tapB)).toThrow();
  });
});
