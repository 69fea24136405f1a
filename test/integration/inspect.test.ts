/*
 * The management CLI against a running switch (the real `linc-ts` binary,
 * its admin socket in a private directory), with namespace hosts on its
 * TAP ports:
 *
 *   standalone   `fdb show` after h1 and h2 pinged each other; `status`
 *                (ports, link, counters, mode); `trace` naming the learned
 *                port or a flood, sending nothing; one line and exit 1 when
 *                no switch answers, exit 2 for a flow that does not parse
 *   secure       a multi-table flow set (goto_table, write_metadata,
 *                set_field, a group, a controller miss rule) installed
 *                with the real `ovs-ofctl -O OpenFlow13` through --listen;
 *                `trace` output checked table by table, rule by rule, output
 *                by output, with no counter, flow statistic, cache entry or
 *                host interface moved by it; `status` with an unreachable
 *                controller backing off and no ovs-ofctl left connected;
 *                `dump-cache` after real traffic
 *   controller   a controller (written here with the codec) connected as
 *                master: `status` says so, and a trace's punt is one it
 *                would get (yet it gets nothing); `dump-cache` with the
 *                megaflow cache (the default) lists its entries after
 *                pings over the controller's flows
 *
 *   h1 (10.214.0.1) -- tap port 1 --+
 *   h2 (10.214.0.2) -- tap port 2 --+-- linc-ts   (admin socket, --listen for ovs-ofctl)
 *   h3 (10.214.0.3) -- tap port 3 --+
 */

import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHello, OFPCR_ROLE } from '../../src/openflow/codec/wire.js';
import { PeerController } from '../helpers/fake-of-switch.js';
import { cliPath, linkMac, linkStats, SwitchProcess, Topology } from '../helpers/netns.js';
import { missing, root, tool } from '../helpers/requirements.js';
import { dumpFlows, freeTcpPort, ofctl } from '../helpers/ovs-ofctl.js';

const dir = mkdtempSync(join(tmpdir(), 'linc-inspect-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Runs a CLI command that must succeed; returns its stdout. */
function ok(...args: string[]): string {
  const r = cli(...args);
  if (r.code !== 0) throw new Error(`linc-ts ${args.join(' ')} exited ${r.code}: ${r.err}`);
  return r.out;
}

interface Hosts {
  topo: Topology;
  taps: string[];
  ns: string[];
  macs: string[];
}

/** A namespace host on each of the switch's TAPs (created by the switch), addresses 10.<net>.0.i/24. */
function hosts(topo: Topology, taps: string[], net: number): Hosts {
  const ns: string[] = [];
  const macs: string[] = [];
  taps.forEach((t, i) => {
    ns.push(topo.addNamespace(`i${i + 1}`));
    topo.attach(t, ns[i], `10.${net}.0.${i + 1}/24`);
    macs.push(linkMac(ns[i], t));
  });
  return { topo, taps, ns, macs };
}

/** Every host knows every other's MAC: no ARP, so the switch sees only what a test sends. */
function staticNeighbours(h: Hosts, net: number): void {
  for (let a = 0; a < h.ns.length; a++) {
    for (let b = 0; b < h.ns.length; b++) if (a !== b) h.topo.exec(h.ns[a], `ip neigh replace 10.${net}.0.${b + 1} lladdr ${h.macs[b]} dev ${h.taps[a]} nud permanent`);
  }
}

const rxOf = (h: Hosts) => h.ns.map((n, i) => linkStats(n, h.taps[i]).rxPackets);

describe.skipIf(missing(root, tool('ip'), tool('ping')))('linc-ts status / fdb show / trace on a standalone switch', () => {
  const topo = new Topology();
  const taps = [1, 2, 3].map((i) => topo.ifname(`s${i}`));
  const socket = join(dir, 'standalone.sock');
  let sw: SwitchProcess;
  let h: Hosts;

  beforeAll(async () => {
    sw = await SwitchProcess.start(['run', ...taps.flatMap((t, i) => ['--port', `tap:${t}=${i + 1}`]), '--metrics', 'off', '--admin-socket', socket]);
    h = hosts(topo, taps, 213);
    staticNeighbours(h, 213); // no ARP: nothing but what a test sends crosses the switch
    topo.exec(h.ns[0], 'ping -c 2 -i 0.2 -W 2 10.213.0.2');
  }, 60_000);

  afterAll(async () => {
    await sw?.stop();
    topo.cleanup();
  });

  it('fdb show lists h1 on port 1 and h2 on port 2 (VLAN 0) after h1 pinged h2', () => {
    const text = ok('fdb', 'show', '-s', socket);
    expect(text).toMatch(/^ port\s+NAME\s+VLAN\s+MAC\s+Age\n/);
    expect(text).toMatch(new RegExp(`\\n\\s+1\\s+${taps[0]}\\s+0\\s+${h.macs[0]}\\s+\\d+\\n`));
    expect(text).toMatch(new RegExp(`\\n\\s+2\\s+${taps[1]}\\s+0\\s+${h.macs[1]}\\s+\\d+\\n`));
    const json = JSON.parse(ok('fdb', 'show', '--json', '-s', socket)) as { entries: Array<{ port: number; vlan: number; mac: string; ageSec: number }> };
    const byMac = new Map(json.entries.map((e) => [e.mac, e]));
    expect(byMac.get(h.macs[0])).toMatchObject({ port: 1, vlan: 0 });
    expect(byMac.get(h.macs[1])).toMatchObject({ port: 2, vlan: 0 });
    for (const e of json.entries) expect(e.ageSec).toBeLessThan(60);
  });

  it('status shows the standalone mode, the ports with link up and the ping counted', () => {
    const text = ok('status', '-s', socket);
    expect(text).toMatch(/^linc-ts \S+ datapath 0x[0-9a-f]{16}, pid \d+, up \d+s\n/);
    expect(text).toContain('forwarding: standalone learning switch (fail mode standalone, no controller connected)');
    expect(text).toContain('controllers: none configured');
    for (let i = 0; i < 3; i++) expect(text).toMatch(new RegExp(`\\n\\s+${i + 1}\\s+${taps[i]}\\s+tap\\s+up\\s+1500\\s+`));
    const st = JSON.parse(ok('status', '--json', '-s', socket)) as { pid: number; ports: Array<{ port: number; link: { up: boolean }; rx: { frames: number }; tx: { frames: number } }> };
    expect(st.pid).toBe(sw.pid);
    expect(st.ports.map((p) => p.link.up)).toEqual([true, true, true]);
    expect(st.ports[0].rx.frames).toBeGreaterThanOrEqual(2); // two echo requests at least
    expect(st.ports[1].tx.frames).toBeGreaterThanOrEqual(2);
  });

  it('trace names the learned port, or a flood for an unknown MAC, and sends nothing', async () => {
    await new Promise((r) => setTimeout(r, 300));
    const rx0 = rxOf(h);
    const fdb0 = JSON.parse(ok('fdb', 'show', '--json', '-s', socket)) as { entries: Array<{ mac: string; port: number }> };
    const counters0 = (JSON.parse(ok('status', '--json', '-s', socket)) as { ports: unknown[] }).ports;
    const known = ok('trace', '-s', socket, `in_port=1,dl_src=${h.macs[0]},dl_dst=${h.macs[1]},ip,nw_src=10.213.0.1,nw_dst=10.213.0.2`);
    expect(known).toContain('Mode:    standalone learning switch (fail mode standalone, no controller connected)');
    expect(known).toContain(`NORMAL (learning switch, VLAN 0): source refreshed; destination learned on port 2 -> port 2`);
    expect(known).toMatch(new RegExp(`Final: +port 2 \\(${taps[1]}\\)\\n$`));
    const unknown = ok('trace', '-s', socket, `in_port=2,dl_src=${h.macs[1]},dl_dst=02:99:99:99:99:99,udp`);
    expect(unknown).toContain('destination not learned -> flood');
    expect(unknown).toMatch(new RegExp(`Final: +port 1 \\(${taps[0]}\\), port 3 \\(${taps[2]}\\)\\n$`));
    // A new source MAC: the trace says it would be learned, and does not learn it.
    const fresh = ok('trace', '-s', socket, 'in_port=3,dl_src=02:77:77:77:77:77,dl_dst=ff:ff:ff:ff:ff:ff,arp');
    expect(fresh).toContain('source learned (new entry); destination a group address -> flood');
    await new Promise((r) => setTimeout(r, 300));
    expect(rxOf(h)).toEqual(rx0);
    const fdb1 = JSON.parse(ok('fdb', 'show', '--json', '-s', socket)) as { entries: Array<{ mac: string; port: number }> };
    expect(fdb1.entries.map((e) => [e.mac, e.port])).toEqual(fdb0.entries.map((e) => [e.mac, e.port]));
    expect((JSON.parse(ok('status', '--json', '-s', socket)) as { ports: unknown[] }).ports).toEqual(counters0);
  });

  it('no switch on the socket: one line, exit 1; a flow that does not parse: one line, exit 2', () => {
    for (const args of [['status'], ['fdb', 'show'], ['dump-cache'], ['trace', 'in_port=1,ip']]) {
      const r = cli(...args, '-s', join(dir, 'nobody.sock'));
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err).toMatch(/^linc-ts: no linc-ts switch at .*nobody\.sock: no such socket \(is `linc-ts run` running\?.*\)\n$/);
    }
    const bad = cli('trace', '-s', socket, 'in_port=1,tcp,tp_dts=80');
    expect(bad.code).toBe(2);
    expect(bad.err).toBe('linc-ts: trace: unknown field "tp_dts" (did you mean tp_dst?)\n');
    const noPort = cli('trace', '-s', socket, 'in_port=9,ip');
    expect(noPort.code).toBe(1);
    expect(noPort.err).toBe('linc-ts: no port 9\n');
  });
});

describe.skipIf(missing(root, tool('ovs-ofctl'), tool('ip'), tool('ping')))('linc-ts trace / status / dump-cache with flows from ovs-ofctl (fail-mode secure)', () => {
  const topo = new Topology();
  const taps = [1, 2, 3].map((i) => topo.ifname(`o${i}`));
  const socket = join(dir, 'secure.sock');
  let sw: SwitchProcess;
  let h: Hosts;
  let port: number;
  let deadController: number;

  beforeAll(async () => {
    port = await freeTcpPort();
    deadController = await freeTcpPort();
    sw = await SwitchProcess.start([
      'run', ...taps.flatMap((t, i) => ['--port', `tap:${t}=${i + 1}`]), '--listen', `ptcp:${port}`, '--fail-mode', 'secure',
      '--controller', `tcp:127.0.0.1:${deadController}`, '--datapath-id', '0x1a5ec', '--metrics', 'off', '--admin-socket', socket,
      '--no-megaflow', // the exact-match cache alone: dump-cache lists its entries, full flows (the megaflow cache is the default)
    ]);
    await sw.waitForLog((l) => l.msg === 'openflow listener listening' && l.port === port);
    h = hosts(topo, taps, 214);
    staticNeighbours(h, 214);
    const [m1, m2, m3] = h.macs;
    ofctl(port, 'add-group', [`group_id=1,type=all,bucket=output:2,bucket=set_field:${m3}->eth_dst,set_field:10.214.0.3->ip_dst,output:3`]);
    ofctl(port, 'add-flows', ['-'], {
      input: [
        'table=0,priority=100,in_port=1,ip,actions=write_metadata:0x1/0xff,goto_table:1',
        'table=0,priority=100,in_port=2,ip,actions=write_metadata:0x2/0xff,goto_table:1',
        'table=0,priority=0,actions=CONTROLLER:128',
        'table=1,priority=10,metadata=0x1/0xff,ip,nw_dst=10.214.0.2,actions=goto_table:2',
        'table=1,priority=20,metadata=0x1/0xff,udp,tp_dst=9999,actions=group:1',
        'table=1,priority=10,metadata=0x2/0xff,ip,nw_dst=10.214.0.1,actions=output:1',
        `table=2,cookie=0x2a,priority=5,ip,actions=set_field:${m2}->eth_dst,dec_ttl,output:2`,
      ].join('\n') + '\n',
    });
    expect(dumpFlows(port)).toHaveLength(7);
    void m1;
  }, 60_000);

  afterAll(async () => {
    await sw?.stop();
    topo.cleanup();
  });

  /** What a trace must not move: flow and table statistics, the cache, port counters, the hosts' interfaces. */
  const observe = () => ({
    flows: dumpFlows(port).map((f) => [f.table, f.priority, f.nPackets, f.nBytes]),
    tables: ofctl(port, 'dump-tables').replace(/\s+/g, ' '),
    cache: (({ live, hits, misses, inserts, walks }: Record<string, number>) => ({ live, hits, misses, inserts, walks }))(JSON.parse(ok('dump-cache', '--json', '-s', socket)) as Record<string, number>),
    ports: (JSON.parse(ok('status', '--json', '-s', socket)) as { ports: unknown[] }).ports,
    rx: rxOf(h),
  });

  it('trace walks the tables as the flows say: each rule as ovs-ofctl installed it, the actions, the outputs; and moves nothing', async () => {
    const [m1, m2, m3] = h.macs;
    const before = observe();
    const icmp = ok('trace', '-s', socket, `in_port=1,dl_src=${m1},dl_dst=${m2},icmp,nw_src=10.214.0.1,nw_dst=10.214.0.2,icmp_type=8`);
    expect(icmp).toContain(`Flow:    icmp,in_port=1,dl_src=${m1},dl_dst=${m2},nw_tos=0,nw_ecn=0,nw_src=10.214.0.1,nw_dst=10.214.0.2,icmp_type=8,icmp_code=0,nw_ttl=64`);
    expect(icmp).toContain('Mode:    OpenFlow tables (fail mode secure, no controller connected)');
    expect(icmp).toMatch(/Cache: +(miss|hit)/);
    const steps = icmp.slice(icmp.indexOf('\n\n') + 2, icmp.indexOf('\n\nFinal:')).split('\n');
    expect(steps).toEqual([
      'table 0: priority=100,ip,in_port=1 cookie=0x0 actions=write_metadata:0x1/0xff,goto_table:1',
      '    write_metadata:0x1/0xff -> metadata=0x1',
      '    goto_table:1',
      'table 1: priority=10,ip,metadata=0x1/0xff,nw_dst=10.214.0.2 cookie=0x0 actions=goto_table:2',
      '    goto_table:2',
      `table 2: priority=5,ip cookie=0x2a actions=set_field:${m2}->eth_dst,dec_ttl,output:2`,
      `    set_field:${m2}->eth_dst`,
      '    dec_ttl',
      '    output:2',
      `        -> port 2 (${taps[1]}): icmp,dl_src=${m1},dl_dst=${m2},nw_tos=0,nw_ecn=0,nw_src=10.214.0.1,nw_dst=10.214.0.2,icmp_type=8,icmp_code=0,nw_ttl=63`,
      'action set: empty',
    ]);
    expect(icmp).toMatch(new RegExp(`\\nFinal: +port 2 \\(${taps[1]}\\)\\n$`));

    // UDP to 9999: group 1, all buckets: port 2 as is, port 3 rewritten to h3.
    const udp = JSON.parse(ok('trace', '--json', '-s', socket, `in_port=1,dl_src=${m1},dl_dst=${m2},udp,nw_src=10.214.0.1,nw_dst=10.214.0.2,tp_dst=9999`)) as {
      tables: Array<{ table: number; rule: { priority: number; match: string; actions: string } | null }>;
      outputs: Array<{ kind: string; port: number; flow: string }>;
      steps: Array<{ indent: number; text: string }>;
    };
    expect(udp.tables.map((t) => [t.table, t.rule?.priority, t.rule?.actions])).toEqual([[0, 100, 'write_metadata:0x1/0xff,goto_table:1'], [1, 20, 'group:1']]);
    expect(udp.outputs.map((o) => [o.kind, o.port])).toEqual([['port', 2], ['port', 3]]);
    expect(udp.outputs[1].flow).toMatch(new RegExp(`dl_dst=${m3},.*nw_dst=10\\.214\\.0\\.3,`));
    expect(udp.steps.map((s) => s.text)).toEqual(expect.arrayContaining(['group:1', 'group 1: bucket 0 (of 2)', 'group 1: bucket 1 (of 2)', 'set_field:10.214.0.3->ipv4_dst']));

    // ARP is no IP: the table-miss rule of table 0 sends it to the controller; no connection wants it.
    const arp = ok('trace', '-s', socket, `in_port=1,arp,dl_src=${m1},arp_tpa=10.214.0.2`);
    expect(arp).toContain('table 0: priority=0 cookie=0x0 actions=CONTROLLER:128');
    expect(arp).toMatch(/-> controller \(reason no_match, table 0, cookie 0x0, 60 bytes\), held back: no OpenFlow connection wants it now/);
    // From port 3 nothing but the miss rule matches IP either; from port 2 to an address no rule names, table 1 misses.
    expect(ok('trace', '-s', socket, 'in_port=3,ip')).toMatch(/Final: +controller \(no_match, held back\)/);
    const miss = ok('trace', '-s', socket, 'in_port=2,ip,nw_dst=10.214.0.3');
    expect(miss).toContain('table 1: no rule matches');
    expect(miss).toMatch(/drop: no rule in table 1 matches and it has no table-miss rule\n\nFinal: +drop \(table-miss\)/);

    // A frame given as bytes: the same walk as the flow it spells.
    const frame = JSON.parse(ok('trace', '--json', '-s', socket, `in_port=1,dl_src=${m1},dl_dst=${m2},udp,nw_src=10.214.0.1,nw_dst=10.214.0.2,tp_dst=9999`)) as { outputs: Array<{ frame: string }> };
    const viaHex = JSON.parse(ok('trace', '--json', '-s', socket, 'in_port=1', '--frame', frame.outputs[0].frame)) as { outputs: Array<{ port: number }> };
    expect(viaHex.outputs.map((o) => o.port)).toEqual([2, 3]);

    await new Promise((r) => setTimeout(r, 300));
    expect(observe()).toEqual(before);
  });

  it('status: OpenFlow tables, the unreachable controller backing off, the listener, no ovs-ofctl left connected', () => {
    const text = ok('status', '-s', socket);
    expect(text).toMatch(/^linc-ts \S+ datapath 0x000000000001a5ec, pid \d+, up \d+/);
    expect(text).toContain('forwarding: OpenFlow tables (fail mode secure, no controller connected)');
    expect(text).toContain('tables: 7 flows, 1 group, 0 meters; MAC table: 0 entries');
    expect(text).toMatch(new RegExp(`controllers:\\n  tcp:127\\.0\\.0\\.1:${deadController}  (backing-off|connecting) for \\d+s, role equal, \\d+ attempts?, last: connection failed: ECONNREFUSED\\n`));
    expect(text).toContain(`listeners:\n  ptcp:${port}:127.0.0.1  127.0.0.1:${port}\nports:`);
    expect(text).not.toContain('connection from');
    for (let i = 0; i < 3; i++) expect(text).toMatch(new RegExp(`\\n\\s+${i + 1}\\s+${taps[i]}\\s+tap\\s+up\\s+`));
  });

  it('dump-cache after real traffic: the cached flows, the rules each stands for, the totals', () => {
    h.topo.exec(h.ns[0], 'ping -c 3 -i 0.2 -W 2 10.214.0.2');
    const r = JSON.parse(ok('dump-cache', '--json', '-s', socket)) as {
      live: number; hits: number; hitCounts: string;
      entries: Array<{ flow: string; actions: string; path: Array<{ table: number; rule: { cookie: string; priority: number; packets: number } | null }> }>;
    };
    const echo = r.entries.find((e) => e.flow.startsWith('icmp,in_port=1,') && e.flow.includes('nw_dst=10.214.0.2') && e.flow.includes('icmp_type=8'));
    expect(echo, JSON.stringify(r.entries.map((e) => e.flow))).toBeDefined();
    expect(echo!.path.map((p) => [p.table, p.rule?.priority, p.rule?.cookie])).toEqual([[0, 100, '0x0'], [1, 10, '0x0'], [2, 5, '0x2a']]);
    expect(echo!.path[2].rule!.packets).toBeGreaterThanOrEqual(3);
    expect(echo!.actions).toBe(`write_metadata:0x1/0xff,set_field:${h.macs[1]}->eth_dst,dec_ttl,output:2`);
    const reply = r.entries.find((e) => e.flow.startsWith('icmp,in_port=2,') && e.flow.includes('icmp_type=0'));
    expect(reply?.path.map((p) => p.table)).toEqual([0, 1]);
    expect(r.hits).toBeGreaterThanOrEqual(2); // echo requests 2 and 3, replies 2 and 3
    expect(r.hitCounts).toMatch(/not kept/);
    const text = ok('dump-cache', '-s', socket);
    expect(text).toMatch(/^cache in use: the exact-match cache alone \(megaflow cache off\) \(forwarding: OpenFlow tables\)\nexact-match cache: \d+ of 8192 entries live \(generation \d+, insert 1 miss in 1\)\n/);
    expect(text).toMatch(/\ntotals: \d+ hits, \d+ misses, \d+ inserts, \d+ evictions; \d+ table walks, \d+ programs built, \d+ uncacheable walks\n/);
    expect(text).toMatch(/table 0 priority=100 cookie=0x0 n_packets=\d+ -> table 1 priority=10 cookie=0x0 n_packets=\d+ -> table 2 priority=5 cookie=0x2a n_packets=\d+/);
  });
});

describe.skipIf(missing(root, tool('ip'), tool('ping')))('linc-ts status and trace with a controller connected', () => {
  const topo = new Topology();
  const taps = [1, 2].map((i) => topo.ifname(`c${i}`));
  const socket = join(dir, 'controller.sock');
  const peers: PeerController[] = [];
  const server = createServer((s) => peers.push(new PeerController(s)));
  let sw: SwitchProcess;
  let ctlPort: number;
  let h: Hosts;

  beforeAll(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    ctlPort = (server.address() as AddressInfo).port;
    sw = await SwitchProcess.start([
      'run', ...taps.flatMap((t, i) => ['--port', `tap:${t}=${i + 1}`]), '--controller', `tcp:127.0.0.1:${ctlPort}`, '--inactivity-probe', '0',
      '--metrics', 'off', '--admin-socket', socket,
    ]);
    const t0 = Date.now();
    while (peers.length === 0 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
    const peer = peers[0];
    await peer.waitFor((m) => m.type === 'hello');
    peer.send(makeHello(1));
    peer.send({ type: 'role_request', xid: 2, role: OFPCR_ROLE.MASTER, generationId: 1n });
    await peer.waitFor((m) => m.type === 'role_reply');
    await sw.waitForLog((l) => l.msg === 'controller connected');
    h = hosts(topo, taps, 215);
    staticNeighbours(h, 215); // no ARP: the only IPv4 frames are the dump-cache test's pings
  }, 60_000);

  afterAll(async () => {
    await sw?.stop();
    server.close();
    for (const p of peers) p.socket.destroy();
    topo.cleanup();
  });

  it('status: the controller connected as master, the OpenFlow tables forwarding because of it', () => {
    const text = ok('status', '-s', socket);
    expect(text).toContain('forwarding: OpenFlow tables (1 controller connected)');
    expect(text).toMatch(new RegExp(`controllers:\\n  tcp:127\\.0\\.0\\.1:${ctlPort}  connected for \\d+s, role master, 1 attempt\\n`));
    expect(text).toContain('listeners: none');
    const st = JSON.parse(ok('status', '--json', '-s', socket)) as { controllers: Array<{ state: string; role: string; lastError: string | null }> };
    expect(st.controllers).toMatchObject([{ state: 'connected', role: 'master', lastError: null }]);
  });

  it('trace: a punt the connected master would get is not held back; with no flow, a table miss', async () => {
    expect(ok('trace', '-s', socket, 'in_port=1,udp')).toMatch(/table 0: no rule matches\n\s+drop: no rule in table 0 matches and it has no table-miss rule\n\nFinal: +drop \(table-miss\)\n$/);
    peers[0].send({
      type: 'flow_mod', xid: 3, cookie: 0x5n, cookieMask: 0n, tableId: 0, command: 0, idleTimeout: 0, hardTimeout: 0, priority: 0, bufferId: 0xffffffff,
      outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0, match: [], instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: 0xfffffffd, maxLen: 0xffff }] }],
    });
    peers[0].send({ type: 'barrier_request', xid: 4 });
    await peers[0].waitFor((m) => m.type === 'barrier_reply');
    const punt = ok('trace', '-s', socket, 'in_port=2,udp');
    expect(punt).toContain('table 0: priority=0 cookie=0x5 actions=CONTROLLER:65535');
    expect(punt).toMatch(/-> controller \(reason no_match, table 0, cookie 0x5, 60 bytes\)\n/);
    expect(punt).toMatch(/Final: +controller \(no_match\)\n$/);
    // The trace sent nothing to the controller either (IPv6 chatter of the TAPs may come: no IPv4 frame does).
    expect(peers[0].ofType('packet_in').filter((pi) => pi.data[12] === 0x08 && pi.data[13] === 0x00)).toEqual([]);
  });

  it('dump-cache: the megaflow cache (the default) in use, the exact-match cache behind it; its entries after real traffic', async () => {
    expect(ok('dump-cache', '-s', socket)).toMatch(/^cache in use: the megaflow cache, the exact-match cache behind it for the keys whose masks it refuses \(forwarding: OpenFlow tables\)\nmegaflow cache: \d+ entries live in \d+ subtables; \d+ hits, \d+ misses, \d+ inserts, 0 refused\n/);
    expect(JSON.parse(ok('dump-cache', '--json', '-s', socket))).toMatchObject({ inUse: 'megaflow', megaflow: { refused: 0 } });
    // IPv4 between ports 1 and 2 (cookie 0x6), over the controller punt rule of the trace test
    for (const [xid, from, to] of [[5, 1, 2], [6, 2, 1]]) {
      peers[0].send({
        type: 'flow_mod', xid, cookie: 0x6n, cookieMask: 0n, tableId: 0, command: 0, idleTimeout: 0, hardTimeout: 0, priority: 10, bufferId: 0xffffffff,
        outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0, match: [{ field: 'in_port', value: from }, { field: 'eth_type', value: 0x0800 }],
        instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: to, maxLen: 0xffff }] }],
      });
    }
    peers[0].send({ type: 'barrier_request', xid: 7 });
    await peers[0].waitFor((m) => m.type === 'barrier_reply' && m.xid === 7);
    h.topo.exec(h.ns[0], 'ping -c 3 -i 0.2 -W 2 10.215.0.2');
    const r = JSON.parse(ok('dump-cache', '--json', '-s', socket)) as {
      megaflow: {
        live: number; hits: number; masks: string[];
        entries: Array<{ subtable: number; mask: string; slot: number; program: number; flow: string; actions: string; path: Array<{ table: number; rule: { cookie: string; priority: number; packets: number } | null }> }>;
      };
    };
    const mf = r.megaflow;
    // in_port and eth_type: what table 0's rules match (the punt rule matches nothing)
    const ipMask = mf.masks.find((m) => /^0:ffffffff \d+:ffff0000$/.test(m));
    expect(ipMask, JSON.stringify(mf.masks)).toBeDefined();
    const request = mf.entries.find((e) => e.flow === 'ip,in_port=1');
    const reply = mf.entries.find((e) => e.flow === 'ip,in_port=2');
    expect(request, JSON.stringify(mf.entries.map((e) => e.flow))).toMatchObject({ mask: ipMask, actions: 'output:2', subtable: mf.masks.indexOf(ipMask!) });
    expect(reply).toMatchObject({ mask: ipMask, actions: 'output:1' });
    expect(request!.path.map((p) => [p.table, p.rule?.priority, p.rule?.cookie])).toEqual([[0, 10, '0x6']]);
    expect(request!.path[0].rule!.packets).toBeGreaterThanOrEqual(3);
    expect(mf.live).toBeGreaterThanOrEqual(mf.entries.length);
    expect(mf.hits).toBeGreaterThanOrEqual(4); // echo requests and replies 2 and 3: one megaflow each way
    const text = ok('dump-cache', '-s', socket);
    expect(text).toContain(`\nip,in_port=1 actions:output:2\n    subtable ${request!.subtable} (mask ${ipMask}), slot ${request!.slot}, program ${request!.program}: table 0 priority=10 cookie=0x6 n_packets=`);
    expect(ok('dump-cache', '--limit', '0', '-s', socket)).toContain(`\nshowing 0 of ${mf.live} megaflow entries\n`);
  });
});
