/*
 * The local port (--local-port tap:NAME) with real hosts: the switch's own
 * TAP, moved into a namespace of its own with a private address.
 *
 *   h1 (10.212.0.1) -- tap port 1 ----+
 *                                     +-- linc-ts <-- ovs-ofctl tcp:127.0.0.1:PORT
 *   hl (10.212.0.254) -- local TAP ---+   (LOCAL)
 *
 * With the flow tables (fail mode secure, flows from the real ovs-ofctl):
 * dump-ports-desc lists LOCAL; nothing passes until `in_port=1,actions=LOCAL`
 * and `in_port=LOCAL,actions=output:1` are installed, then h1 reaches the
 * local address and dump-ports LOCAL counts the frames. Standalone: the
 * local port is a member of the learning switch like any port.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkMac, SwitchProcess, Topology } from '../helpers/netns.js';
import { missing, root, tool } from '../helpers/requirements.js';
import { dumpFlows, freeTcpPort, ofctl } from '../helpers/ovs-ofctl.js';

/** ping's output, whether it succeeded or not. */
function ping(topo: Topology, ns: string, dst: string): string {
  try {
    return topo.exec(ns, `ping -c 3 -i 0.2 -W 1 ${dst}`);
  } catch (e) {
    return (e as { stdout?: string }).stdout ?? '';
  }
}

describe.skipIf(missing(root, tool('ovs-ofctl'), tool('ip'), tool('ping')))('local port: output:LOCAL with ovs-ofctl flows', () => {
  const topo = new Topology();
  let sw: SwitchProcess;
  let port = 0;
  const p1 = topo.ifname('p1');
  const local = topo.ifname('lp');
  let h1 = '';
  let hl = '';
  let localMac = '';
  const of = (cmd: string, args: string[] = []) => ofctl(port, cmd, args);

  beforeAll(async () => {
    port = await freeTcpPort();
    sw = await SwitchProcess.start([
      'run', '--port', `tap:${p1}=1`, '--local-port', `tap:${local}`, '--listen', `ptcp:${port}`, '--fail-mode', 'secure',
      '--metrics', 'off', '--admin-socket', 'off',
    ]);
    await sw.waitForLog((l) => l.msg === 'openflow listener listening' && l.port === port);
    h1 = topo.addNamespace('l1');
    hl = topo.addNamespace('ll');
    topo.attach(p1, h1, '10.212.0.1/24');
    topo.attach(local, hl, '10.212.0.254/24');
    localMac = linkMac(hl, local);
  }, 60_000);

  afterAll(async () => {
    await sw?.stop();
    topo.cleanup();
  });

  it('lists the local port as LOCAL in dump-ports-desc', () => {
    const desc = of('dump-ports-desc');
    expect(desc).toMatch(new RegExp(` LOCAL\\(${local}\\): addr:${localMac}\\n\\s+config:\\s+0\\n\\s+state:\\s+LIVE`));
    expect(desc).toMatch(new RegExp(` 1\\(${p1}\\): addr:`));
    expect(sw.logs.find((l) => l.msg === 'port added' && l.ifname === local)).toMatchObject({ port: 0xfffffffe, kind: 'tap' });
    expect(sw.logs.find((l) => l.msg === 'switch running')!.ports).toEqual([`tap:${p1}=1`, `tap:${local}=LOCAL`]);
  });

  it('passes nothing to the local port without a flow', () => {
    expect(ping(topo, h1, '10.212.0.254')).toMatch(/3 packets transmitted, 0 received/);
  });

  it('reaches the local address once in_port=1,actions=LOCAL (and the way back) are installed', () => {
    of('add-flow', ['in_port=1,actions=LOCAL']);
    of('add-flow', ['in_port=LOCAL,actions=output:1']);
    expect(ping(topo, h1, '10.212.0.254')).toMatch(/3 packets transmitted, 3 received/);
    const flows = dumpFlows(port);
    const toLocal = flows.find((f) => f.fields.in_port === '1');
    const fromLocal = flows.find((f) => f.fields.in_port === 'LOCAL');
    expect(toLocal?.actions).toBe('LOCAL');
    expect(fromLocal?.actions).toBe('output:1');
    expect(toLocal!.nPackets).toBeGreaterThanOrEqual(4); // ARP request and three echo requests
    expect(fromLocal!.nPackets).toBeGreaterThanOrEqual(4);
    const stats = of('dump-ports', ['LOCAL']);
    const m = /port LOCAL: rx pkts=(\d+), .*\n\s+tx pkts=(\d+),/.exec(stats);
    expect(m, stats).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(4);
    expect(Number(m![2])).toBeGreaterThanOrEqual(4);
  });
});

describe.skipIf(missing(root, tool('ip'), tool('ping')))('local port: standalone', () => {
  const topo = new Topology();
  let sw: SwitchProcess;
  const p1 = topo.ifname('s1');
  const local = topo.ifname('sl');

  beforeAll(async () => {
    sw = await SwitchProcess.start(['run', '--port', `tap:${p1}=1`, '--local-port', `tap:${local}`, '--metrics', 'off', '--admin-socket', 'off']);
    topo.attach(p1, topo.addNamespace('s1'), '10.213.0.1/24');
    topo.attach(local, topo.addNamespace('sl'), '10.213.0.254/24');
  }, 60_000);

  afterAll(async () => {
    await sw?.stop();
    topo.cleanup();
  });

  it('forwards between a port and the local port like between any two ports', () => {
    expect(ping(topo, topo.namespaces[0], '10.213.0.254')).toMatch(/3 packets transmitted, 3 received/);
    expect(ping(topo, topo.namespaces[1], '10.213.0.1')).toMatch(/3 packets transmitted, 3 received/);
  });
});
