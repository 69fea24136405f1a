/*
 * Standalone VLANs with real hosts: four namespaces behind TAPs the switch
 * creates. h1 and h2 are access ports of VLAN 10, h3 an access port of VLAN
 * 20 that also holds an address in VLAN 10's subnet (so only the switch can
 * keep it apart), h4 a trunk of VLANs 10 and 20. h1 reaches h2; h3 reaches
 * neither and receives none of their broadcasts; h4 answers on VLAN 10 to h1
 * and on VLAN 20 to h3, and nothing else. A tagged frame on an access port and
 * an untagged one on the trunk are dropped and counted in /metrics.
 *
 * The trunk end: this test machine's kernel has no 802.1Q sub-interfaces
 * (CONFIG_VLAN_8021Q unset), so h4's two VLAN hosts are a userspace 802.1Q
 * endpoint on the trunk TAP (test/helpers/vlan-endpoint.ts: ARP and ICMP
 * echo per VLAN, tagged replies, per-VLAN receive counts). h1, h2 and h3 are
 * the kernel's own stacks.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkStats, SwitchProcess, Topology } from '../helpers/netns.js';
import { missing, root, tool } from '../helpers/requirements.js';
import { pythonIn } from '../helpers/traffic.js';
import { sendTagged, startVlanEndpoint, type VlanEndpoint } from '../helpers/vlan-endpoint.js';

const BROADCASTS = 200;

/** Send BROADCASTS UDP datagrams to port 9 of `dst` (a broadcast address) from `ns`. */
function broadcast(ns: string, dst: string): Promise<string> {
  const program = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
for i in range(int(sys.argv[2])):
    s.sendto(b"v" * 64, (sys.argv[1], 9))
`;
  return pythonIn(ns, program, [dst, String(BROADCASTS)]).done;
}

/** ping's summary line, whether ping succeeded or not. */
function ping(topo: Topology, ns: string, dst: string): string {
  try {
    return topo.exec(ns, `ping -c 3 -i 0.2 -W 1 ${dst}`);
  } catch (e) {
    return (e as { stdout?: string }).stdout ?? '';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(missing(root, tool('ip'), tool('ping'), tool('python3')))('standalone VLANs: access and trunk ports', () => {
  const topo = new Topology();
  let sw: SwitchProcess;
  let metricsUrl = '';
  const taps = ['v1', 'v2', 'v3', 'v4'].map((t) => topo.ifname(t));
  const ns: string[] = [];
  const host = (i: number) => ns[i - 1];
  const tap = (i: number) => taps[i - 1];
  const dir = mkdtempSync(join(tmpdir(), 'linc-vlan-'));
  let trunkHost: VlanEndpoint | undefined;
  const trunkCount = (vlan: string) => trunkHost!.counts()[vlan] ?? 0;
  /**
   * Lets a flood land: 300 ms, then until the trunk host's counts (a python
   * loop that rewrites its file per datagram, slow on a loaded machine) stop
   * moving for 400 ms (at most ~10 s). The assertions stay exact.
   */
  async function settle(): Promise<void> {
    await sleep(300);
    let last = JSON.stringify(trunkHost!.counts());
    for (let i = 0; i < 25; i++) {
      await sleep(400);
      const now = JSON.stringify(trunkHost!.counts());
      if (now === last) return;
      last = now;
    }
  }

  async function vlanDropped(port: number): Promise<number> {
    const text = await (await fetch(metricsUrl)).text();
    const m = new RegExp(`^linc_port_vlan_dropped_total\\{port="${port}",name="${tap(port)}"\\} (\\d+)$`, 'm').exec(text);
    if (!m) throw new Error(`no linc_port_vlan_dropped_total for port ${port} in /metrics`);
    return Number(m[1]);
  }

  beforeAll(async () => {
    sw = await SwitchProcess.start([
      'run',
      '--port', `tap:${tap(1)}=1,vlan=10`,
      '--port', `tap:${tap(2)}=2,vlan=10`,
      '--port', `tap:${tap(3)}=3,vlan=20`,
      '--port', `tap:${tap(4)}=4,trunks=10,20`,
      '--metrics', '127.0.0.1:0', '--admin-socket', 'off',
    ]);
    metricsUrl = sw.logs.find((l) => l.msg === 'switch running')!.metrics as string;
    for (const i of [1, 2, 3, 4]) ns.push(topo.addNamespace(`v${i}`));
    topo.attach(tap(1), host(1), '10.210.10.1/24');
    topo.attach(tap(2), host(2), '10.210.10.2/24');
    topo.attach(tap(3), host(3), '10.210.20.3/24');
    topo.exec(host(3), `ip addr add 10.210.10.3/24 dev ${tap(3)}`); // VLAN 10's subnet, on VLAN 20
    // The trunk host: an untagged address (for the drop test) and the 802.1Q endpoint for VLANs 10 and 20.
    topo.attach(tap(4), host(4), '10.210.30.4/24');
    trunkHost = await startVlanEndpoint(host(4), tap(4), { 10: '10.210.10.4', 20: '10.210.20.4' }, join(dir, 'counts.json'));
  }, 60_000);

  afterAll(async () => {
    trunkHost?.stop();
    await sw?.stop();
    topo.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs each port with its VLAN configuration', () => {
    const running = sw.logs.find((l) => l.msg === 'switch running')!;
    expect(running.ports).toEqual([`tap:${tap(1)}=1,vlan=10`, `tap:${tap(2)}=2,vlan=10`, `tap:${tap(3)}=3,vlan=20`, `tap:${tap(4)}=4,trunks=10,20`]);
    const added = sw.logs.filter((l) => l.msg === 'port added').map((l) => [l.port, l.vlan]);
    expect(added).toEqual([[1, 'vlan=10'], [2, 'vlan=10'], [3, 'vlan=20'], [4, 'trunks=10,20']]);
  });

  it('carries VLAN 10 between its access ports', () => {
    expect(topo.exec(host(1), 'ping -c 3 -i 0.2 -W 2 10.210.10.2')).toMatch(/3 received/);
  });

  it('keeps the VLAN 20 host away from VLAN 10 although it has an address in its subnet', () => {
    expect(ping(topo, host(3), '10.210.10.1')).toMatch(/3 packets transmitted, 0 received/);
    expect(ping(topo, host(3), '10.210.10.4')).toMatch(/3 packets transmitted, 0 received/); // the trunk's VLAN 10 host
    expect(topo.exec(host(1), 'ip neigh show 10.210.10.3')).not.toMatch(/lladdr/); // h3's ARP requests never reached h1
  });

  it('floods VLAN 10 broadcasts to its access ports and, tagged 10, to the trunk; never to the VLAN 20 host', async () => {
    const rx2 = linkStats(host(2), tap(2)).rxPackets;
    const rx3 = linkStats(host(3), tap(3)).rxPackets;
    const [t10, t20, untagged] = [trunkCount('10'), trunkCount('20'), trunkCount('untagged')];
    await broadcast(host(1), '10.210.10.255');
    await settle();
    expect(linkStats(host(2), tap(2)).rxPackets - rx2).toBeGreaterThanOrEqual(BROADCASTS);
    expect(trunkCount('10') - t10).toBe(BROADCASTS);
    expect(trunkCount('20') - t20).toBe(0);
    expect(trunkCount('untagged') - untagged).toBe(0);
    expect(linkStats(host(3), tap(3)).rxPackets - rx3).toBe(0);
  });

  it('floods VLAN 20 broadcasts to the trunk only, tagged 20, not to the VLAN 10 hosts', async () => {
    const rx1 = linkStats(host(1), tap(1)).rxPackets;
    const rx2 = linkStats(host(2), tap(2)).rxPackets;
    const [t10, t20] = [trunkCount('10'), trunkCount('20')];
    await broadcast(host(3), '10.210.20.255');
    await settle();
    expect(trunkCount('20') - t20).toBe(BROADCASTS);
    expect(trunkCount('10') - t10).toBe(0);
    expect(linkStats(host(1), tap(1)).rxPackets - rx1).toBe(0);
    expect(linkStats(host(2), tap(2)).rxPackets - rx2).toBe(0);
  });

  it('connects the trunk to h1 on VLAN 10 and to h3 on VLAN 20', () => {
    expect(ping(topo, host(1), '10.210.10.4')).toMatch(/3 packets transmitted, 3 received/);
    expect(ping(topo, host(2), '10.210.10.4')).toMatch(/3 packets transmitted, 3 received/);
    expect(ping(topo, host(3), '10.210.20.4')).toMatch(/3 packets transmitted, 3 received/);
    // h1 learned the trunk's VLAN 10 host; the replies came back untagged on h1's access port.
    expect(topo.exec(host(1), 'ip neigh show 10.210.10.4')).toMatch(/lladdr/);
  });

  it('drops and counts a tagged frame on an access port and an untagged frame on the trunk', async () => {
    const before1 = await vlanDropped(1);
    const before4 = await vlanDropped(4);
    const rx2 = linkStats(host(2), tap(2)).rxPackets;
    const rx3 = linkStats(host(3), tap(3)).rxPackets;
    const [t10, t20] = [trunkCount('10'), trunkCount('20')];
    await sendTagged(host(1), tap(1), 20, BROADCASTS); // tagged on an access port
    await broadcast(host(4), '10.210.30.255'); // untagged on the trunk
    await settle();
    expect((await vlanDropped(1)) - before1).toBe(BROADCASTS);
    expect((await vlanDropped(4)) - before4).toBe(BROADCASTS);
    expect(linkStats(host(2), tap(2)).rxPackets - rx2).toBe(0);
    expect(linkStats(host(3), tap(3)).rxPackets - rx3).toBe(0);
    expect([trunkCount('10') - t10, trunkCount('20') - t20]).toEqual([0, 0]);
  });
});
