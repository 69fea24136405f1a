/*
 * Debian's `ovs-ofctl -O OpenFlow13` programs the real linc-ts CLI through
 * its passive listener (`--listen ptcp:PORT`, `--fail-mode secure`: no flow,
 * no forwarding), and frames between three namespace hosts follow exactly
 * the flows it installed:
 *
 *   h1 (10.211.0.1) -- tap port 1 --+
 *   h2 (10.211.0.2) -- tap port 2 --+-- linc-ts <-- ovs-ofctl tcp:127.0.0.1:PORT
 *   h3 (10.211.0.3) -- tap port 3 --+
 *
 * Every flow a test adds is read back with dump-flows and compared field by
 * field (as ovs-ofctl prints what the switch returned); counts come from the
 * receivers' sockets, the kernel's interface counters and the switch's own
 * flow, group, meter and port statistics, which must agree. Hosts know each
 * other's MACs (permanent neighbour entries) except where a test wants ARP
 * to cross, so no stray frame spoils a count.
 *
 * Covered: show, dump-ports(-desc), dump-tables, dump-table-features;
 * add-flow / mod-flows / del-flows (--strict) / add-flows / dump-flows with
 * in_port, dl_src/dl_dst (and a masked dl_dst), dl_vlan, arp (arp_tpa), ip
 * (nw_src/nw_dst with masks), tcp/udp tp_dst, ipv6/icmp6 (masked
 * ipv6_src), metadata; actions output, drop, mod_vlan_vid, strip_vlan,
 * set_field, dec_ttl, group, goto_table, write_metadata, meter;
 * add-group / dump-groups / dump-group-stats; add-meter / dump-meters /
 * meter-stats; packet-out (to a port and to TABLE). ovs-ofctl follows each
 * flow-mod with a barrier request and reports errors that arrive before the
 * barrier reply: a refused flow-mod in a batch is reported (exit 1).
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ethFrame, ipv4Udp } from '../helpers/frames.js';
import { linkMac, linkStats, SwitchProcess, Topology } from '../helpers/netns.js';
import { missing, netns, tool } from '../helpers/requirements.js';
import { dumpFlows, freeTcpPort, ofctl, ofctlRun, type DumpedFlow } from '../helpers/ovs-ofctl.js';
import { pythonIn, tcpTransfer } from '../helpers/traffic.js';
import { pyService, udpSend, udpSink, type PyService, type UdpSink } from '../helpers/udp-tools.js';

const NET = '10.211.0';
const ip = (i: number) => `${NET}.${i}`;
/** Bytes of one frame udpSend sends (100-byte payload): Ethernet, IPv4, UDP headers and payload. */
const FRAME = 14 + 20 + 8 + 100;

/*
 * In h3: a reflector for 802.1Q-tagged UDP. The kernel here has no 802.1Q
 * support, so h3's stack drops tagged frames; an AF_PACKET socket still sees
 * them (the tag in PACKET_AUXDATA, or in-band). Each IPv4/UDP datagram to
 * PORT tagged with VID goes back to its sender, tagged with VID, addresses
 * swapped, to REPLY_PORT, UDP checksum 0 (the original may carry a partial one).
 * Prints how many tagged and how many untagged datagrams to PORT it saw.
 */
const VLAN_REFLECTOR = `
import signal, socket, struct, sys
ifname, vid, port, reply_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
SOL_PACKET, PACKET_AUXDATA, TP_STATUS_VLAN_VALID = 263, 8, 1 << 4
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((ifname, 0))
s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
tagged = untagged = 0
def done(*_):
    print(tagged, untagged, flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
print("ready", flush=True)
while True:
    data, anc, _flags, addr = s.recvmsg(65536, socket.CMSG_SPACE(32))
    if addr[2] == socket.PACKET_OUTGOING:
        continue
    tag = None
    for level, kind, d in anc:
        if level == SOL_PACKET and kind == PACKET_AUXDATA:
            status, _l, _s, _m, _n, tci = struct.unpack_from("IIIHHH", d)
            if status & TP_STATUS_VLAN_VALID:
                tag = tci & 0xfff
    if tag is None and data[12:14] == b"\\x81\\x00":
        tag = struct.unpack_from("!H", data, 14)[0] & 0xfff
        data = data[:12] + data[16:]
    if data[12:14] != b"\\x08\\x00" or data[23] != 17:
        continue
    ihl = (data[14] & 15) * 4
    total = struct.unpack_from("!H", data, 16)[0]
    u = 14 + ihl
    sport, dport = struct.unpack_from("!HH", data, u)
    if dport != port:
        continue
    if tag != vid:
        untagged += 1
        continue
    tagged += 1
    iph = bytearray(data[14:u])
    iph[12:16], iph[16:20] = data[30:34], data[26:30]
    udp = bytearray(data[u:14 + total])
    udp[0:4] = struct.pack("!HH", dport, reply_port)
    udp[6:8] = b"\\0\\0"
    eth = data[6:12] + data[0:6] + b"\\x81\\x00" + struct.pack("!H", vid) + b"\\x08\\x00"
    s.send(eth + bytes(iph) + bytes(udp))
`;

const BROADCAST_20 = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
for i in range(20):
    s.sendto(b"x" * 64, (sys.argv[1], 9))
`;

describe.skipIf(missing(netns, tool('ovs-ofctl'), tool('ethtool'), tool('ping'), tool('python3')))('ovs-ofctl programs linc-ts (fail-mode secure); namespace hosts follow the flows', () => {
  const topo = new Topology();
  const taps = [1, 2, 3].map((i) => topo.ifname(`f${i}`));
  const ns: string[] = [];
  const macs: string[] = [];
  const services: Array<UdpSink | PyService> = [];
  let sw: SwitchProcess;
  let port: number;

  const of = (cmd: string, ...args: string[]) => ofctl(port, cmd, args);
  const addFlow = (flow: string) => of('add-flow', flow);
  const tap = (i: number) => taps[i - 1];
  const host = (i: number) => ns[i - 1];
  const sink = async (i: number, udpPort: number) => {
    const s = await udpSink(host(i), ip(i), udpPort);
    services.push(s);
    return s;
  };
  /** The one flow dump-flows shows for `filter` (an ovs-ofctl flow expression). */
  const theFlow = (filter: string): DumpedFlow => {
    const f = dumpFlows(port, filter);
    expect(f, `dump-flows ${filter}`).toHaveLength(1);
    return f[0];
  };
  const rx = (i: number) => linkStats(host(i), tap(i)).rxPackets;
  const tx = (i: number) => linkStats(host(i), tap(i)).txPackets;
  /**
   * Every host knows every other's MAC (permanent entries): no ARP, so the
   * switch sees only the frames a test sends and counts are exact.
   */
  const staticNeighbours = () => {
    for (const a of [1, 2, 3]) {
      for (const b of [1, 2, 3]) if (a !== b) topo.exec(host(a), `ip neigh replace ${ip(b)} lladdr ${macs[b - 1]} dev ${tap(a)} nud permanent`);
    }
  };
  /** a and b forget each other: their next packets to each other start with ARP. */
  const dynamicNeighbours = (a: number, b: number) => {
    topo.exec(host(a), `ip neigh del ${ip(b)} dev ${tap(a)}`);
    topo.exec(host(b), `ip neigh del ${ip(a)} dev ${tap(b)}`);
  };

  beforeAll(async () => {
    port = await freeTcpPort();
    sw = await SwitchProcess.start([
      'run', ...taps.flatMap((t, i) => ['--port', `tap:${t}=${i + 1}`]), '--listen', `ptcp:${port}`, '--fail-mode', 'secure',
      '--datapath-id', '0xa11ce', '--metrics', 'off', '--admin-socket', 'off',
    ]);
    await sw.waitForLog((l) => l.msg === 'openflow listener listening' && l.port === port);
    for (const i of [1, 2, 3]) {
      ns.push(topo.addNamespace(`o${i}`));
      topo.attach(tap(i), host(i), `${ip(i)}/24`);
      macs.push(linkMac(host(i), tap(i)));
    }
    staticNeighbours();
  }, 60_000);

  afterAll(async () => {
    for (const s of services) s.kill();
    await sw?.stop();
    topo.cleanup();
  });

  it('show, dump-ports-desc, dump-tables and dump-table-features describe the switch', () => {
    const show = of('show');
    expect(show).toMatch(/OFPT_FEATURES_REPLY \(OF1\.3\) \(xid=0x[0-9a-f]+\): dpid:00000000000a11ce\nn_tables:(\d+), n_buffers:0/);
    const nTables = Number(/n_tables:(\d+)/.exec(show)![1]);
    expect(nTables).toBeGreaterThanOrEqual(64);
    for (const i of [1, 2, 3]) expect(show).toContain(`\n ${i}(${tap(i)}): addr:${macs[i - 1]}`);
    expect(show).not.toContain('OFPT_ERROR');
    const desc = of('dump-ports-desc');
    for (const i of [1, 2, 3]) expect(desc).toMatch(new RegExp(` ${i}\\(${tap(i)}\\): addr:${macs[i - 1]}\\n\\s+config:\\s+0\\n\\s+state:\\s+LIVE`));
    const tables = of('dump-tables');
    expect(tables).toMatch(/ table 0:\n\s+active=0, lookup=\d+, matched=0\n/);
    expect(tables).toMatch(new RegExp(`tables \\d+\\.\\.\\.${nTables - 1}: ditto`));
    const features = of('dump-table-features');
    expect([...features.matchAll(/^ {2}table (\d+)/gm)].map((m) => Number(m[1]))).toEqual(Array.from({ length: nTables }, (_, i) => i));
    expect(features).toMatch(/max_entries=\d+/);
  });

  it('with only in_port=1 -> 2 and in_port=2 -> 1, h1 and h2 ping each other and h3 sees nothing', async () => {
    expect(dumpFlows(port)).toEqual([]);
    // Secure mode, no flow: nothing crosses the switch (broadcast UDP: no ARP state left behind).
    const quiet = [rx(2), rx(3)];
    await pythonIn(host(1), BROADCAST_20, [`${NET}.255`]).done;
    await new Promise((r) => setTimeout(r, 200));
    expect([rx(2), rx(3)]).toEqual(quiet);

    // h1 and h2 resolve each other with ARP through the flows.
    dynamicNeighbours(1, 2);
    try {
      await pingThroughInPortFlows(quiet);
    } finally {
      staticNeighbours();
    }
  });

  async function pingThroughInPortFlows(quiet: number[]): Promise<void> {
    const sentBefore = [tx(1), tx(2)];
    addFlow('in_port=1,actions=output:2');
    addFlow('in_port=2,actions=output:1');
    const flows = dumpFlows(port);
    const byInPort = (a: DumpedFlow, b: DumpedFlow) => Number(a.fields.in_port) - Number(b.fields.in_port);
    expect(flows.sort(byInPort).map((f) => [f.table, f.priority, f.fields, f.keywords, f.actions])).toEqual([
      [0, 32768, { in_port: '1' }, [], 'output:2'],
      [0, 32768, { in_port: '2' }, [], 'output:1'],
    ]);
    const out = topo.exec(host(1), `ping -c 3 -i 0.2 -W 2 ${ip(2)}`);
    expect(out).toMatch(/3 packets transmitted, 3 received/);
    // Every frame h1 and h2 sent since (ARP and ICMP) crossed on these two flows, and only to each other.
    const after = dumpFlows(port);
    expect(after.find((f) => f.fields.in_port === '1')!.nPackets).toBe(tx(1) - sentBefore[0]);
    expect(after.find((f) => f.fields.in_port === '2')!.nPackets).toBe(tx(2) - sentBefore[1]);
    expect(rx(2) - quiet[0]).toBe(tx(1) - sentBefore[0]);
    // Even a broadcast from h1 reaches h2 only.
    await pythonIn(host(1), BROADCAST_20, [`${NET}.255`]).done;
    await new Promise((r) => setTimeout(r, 200));
    expect(rx(3)).toBe(quiet[1]);
    expect(rx(2) - quiet[0]).toBe(tx(1) - sentBefore[0]);
  }

  it('mod-flows retargets a flow (counters kept); del-flows --strict removes one flow, del-flows every flow it covers', async () => {
    const s2 = await sink(2, 7001);
    const h3Before = linkStats(host(3), tap(3)).rxPackets;
    const kept = theFlow('in_port=1').nPackets;
    of('mod-flows', 'in_port=1,actions=output:3');
    const modified = theFlow('in_port=1');
    expect([modified.fields, modified.actions]).toEqual([{ in_port: '1' }, 'output:3']);
    expect(modified.nPackets).toBe(kept);
    await udpSend(host(1), ip(2), 7001, 50);
    expect((await s2.stop()).count).toBe(0);
    expect(linkStats(host(3), tap(3)).rxPackets - h3Before).toBe(50);
    expect(theFlow('in_port=1').nPackets).toBe(kept + 50);

    addFlow('priority=10,udp,tp_dst=8000,actions=output:2');
    addFlow('priority=20,udp,nw_dst=10.211.0.0/16,tp_dst=8000,actions=output:3');
    // Strict: only the flow with exactly this match and priority.
    expect(ofctlRun(port, 'del-flows', ['priority=10,udp,tp_dst=8000'], { options: ['--strict'] }).status).toBe(0);
    let udp = dumpFlows(port, 'udp');
    expect(udp.map((f) => [f.priority, f.fields])).toEqual([[20, { nw_dst: '10.211.0.0/16', tp_dst: '8000' }]]);
    // Not strict: every flow the expression covers (the more specific one too), nothing else.
    addFlow('priority=10,udp,tp_dst=8000,actions=output:2');
    of('del-flows', 'udp,tp_dst=8000');
    udp = dumpFlows(port, 'udp');
    expect(udp).toEqual([]);
    expect(dumpFlows(port).map((f) => f.fields.in_port).sort()).toEqual(['1', '2']);
  });

  it('arp by arp_tpa and ip by nw_dst (masked nw_src): h1 reaches h3, h2 sees nothing', () => {
    of('del-flows');
    addFlow(`priority=100,arp,arp_tpa=${ip(3)},actions=output:3`);
    addFlow(`priority=100,arp,arp_tpa=${ip(1)},actions=output:1`);
    addFlow(`priority=100,ip,nw_src=${NET}.0/255.255.255.0,nw_dst=${ip(3)},actions=output:3`);
    addFlow(`priority=100,ip,nw_src=${NET}.0/24,nw_dst=${ip(1)}/255.255.255.255,actions=output:1`);
    const flows = dumpFlows(port);
    expect(flows.map((f) => [f.priority, f.keywords, f.fields, f.actions]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
      [100, ['arp'], { arp_tpa: ip(1) }, 'output:1'],
      [100, ['arp'], { arp_tpa: ip(3) }, 'output:3'],
      [100, ['ip'], { nw_src: `${NET}.0/24`, nw_dst: ip(1) }, 'output:1'],
      [100, ['ip'], { nw_src: `${NET}.0/24`, nw_dst: ip(3) }, 'output:3'],
    ]);
    const h2Before = rx(2);
    dynamicNeighbours(1, 3);
    try {
      expect(topo.exec(host(1), `ping -c 3 -i 0.2 -W 2 ${ip(3)}`)).toMatch(/3 packets transmitted, 3 received/);
    } finally {
      staticNeighbours();
    }
    expect(rx(2)).toBe(h2Before);
    const n = (filter: string) => theFlow(filter).nPackets;
    expect(n(`arp,arp_tpa=${ip(3)}`)).toBeGreaterThanOrEqual(1); // h1's request (h3 may probe h1 later, to port 1)
    expect(n(`ip,nw_dst=${ip(3)}`)).toBe(3);
    expect(n(`ip,nw_dst=${ip(1)}`)).toBe(3);
  });

  it('dl_src/dl_dst: unicast follows the MAC pair, a masked dl_dst sends broadcast to h3 only', async () => {
    of('del-flows');
    const [m1, m2] = macs;
    addFlow(`priority=10,dl_src=${m1},dl_dst=${m2},actions=output:2`);
    addFlow(`priority=10,dl_src=${m2},dl_dst=${m1},actions=output:1`);
    addFlow('priority=5,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=output:3');
    const flows = dumpFlows(port);
    expect(flows.map((f) => [f.priority, f.fields, f.actions]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual(
      [
        [10, { dl_src: m1, dl_dst: m2 }, 'output:2'],
        [10, { dl_src: m2, dl_dst: m1 }, 'output:1'],
        [5, { dl_dst: '01:00:00:00:00:00/01:00:00:00:00:00' }, 'output:3'],
      ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
    const [h2Before, h3Before] = [rx(2), rx(3)];
    expect(topo.exec(host(1), `ping -c 2 -i 0.2 -W 2 ${ip(2)}`)).toMatch(/2 packets transmitted, 2 received/);
    expect(() => topo.exec(host(1), `ping -c 1 -W 1 ${ip(3)}`)).toThrow(); // to h3's MAC: no flow
    await pythonIn(host(1), BROADCAST_20, [`${NET}.255`]).done;
    await new Promise((r) => setTimeout(r, 200));
    expect([rx(2) - h2Before, rx(3) - h3Before]).toEqual([2, 20]);
    expect(theFlow(`dl_src=${m1},dl_dst=${m2}`).nPackets).toBe(2);
    expect(theFlow(`dl_src=${m2},dl_dst=${m1}`).nPackets).toBe(2);
    expect(theFlow('dl_dst=01:00:00:00:00:00/01:00:00:00:00:00').nPackets).toBe(20);
    expect(dumpFlows(port).reduce((n, f) => n + f.nPackets, 0)).toBe(24); // the ping to h3 matched nothing
  });

  it('tcp tp_dst/tp_src: a TCP transfer crosses on two flows and nothing else', async () => {
    of('del-flows');
    addFlow(`priority=10,tcp,nw_dst=${ip(2)},tp_dst=5101,actions=output:2`);
    addFlow(`priority=10,tcp,nw_src=${ip(2)},tp_src=5101,actions=output:1`);
    const there = theFlow('tcp,tp_dst=5101');
    expect([there.keywords, there.fields, there.actions]).toEqual([['tcp'], { nw_dst: ip(2), tp_dst: '5101' }, 'output:2']);
    const back = theFlow('tcp,tp_src=5101');
    expect([back.keywords, back.fields, back.actions]).toEqual([['tcp'], { nw_src: ip(2), tp_src: '5101' }, 'output:1']);
    const r = await tcpTransfer(host(1), host(2), ip(2), 1 << 20, 5101);
    expect([r.receivedBytes, r.receivedSha]).toEqual([1 << 20, r.sentSha]);
    expect(theFlow('tcp,tp_dst=5101').nBytes).toBeGreaterThan(1 << 20);
    expect(theFlow('tcp,tp_src=5101').nPackets).toBeGreaterThan(0);
  });

  it('a drop flow for udp tp_dst=9999 drops exactly those datagrams; n_packets and n_bytes count what was sent', async () => {
    of('del-flows');
    addFlow('priority=100,udp,tp_dst=9999,actions=drop');
    addFlow(`priority=10,ip,nw_dst=${ip(2)},actions=output:2`);
    const drop = theFlow('udp,tp_dst=9999');
    expect([drop.priority, drop.keywords, drop.fields, drop.actions]).toEqual([100, ['udp'], { tp_dst: '9999' }, 'drop']);
    const dropped = await sink(2, 9999);
    const passed = await sink(2, 9998);
    await udpSend(host(1), ip(2), 9999, 300);
    await udpSend(host(1), ip(2), 9998, 300);
    expect((await dropped.stop()).count).toBe(0);
    expect((await passed.stop(0)).count).toBe(300);
    expect([theFlow('udp,tp_dst=9999').nPackets, theFlow('udp,tp_dst=9999').nBytes]).toEqual([300, 300 * FRAME]);
    expect([theFlow(`ip,nw_dst=${ip(2)}`).nPackets, theFlow(`ip,nw_dst=${ip(2)}`).nBytes]).toEqual([300, 300 * FRAME]);
  });

  it('dec_ttl: ping replies arrive with TTL 63 once the flow decrements it (64 before)', () => {
    of('del-flows');
    addFlow('priority=10,in_port=1,ip,actions=output:2');
    addFlow('priority=10,in_port=2,ip,actions=output:1');
    const ttls = (out: string) => [...out.matchAll(/ttl=(\d+)/g)].map((m) => Number(m[1]));
    expect(ttls(topo.exec(host(1), `ping -c 2 -i 0.2 -W 2 ${ip(2)}`))).toEqual([64, 64]);
    of('mod-flows', 'in_port=2,ip,actions=dec_ttl,output:1');
    expect(theFlow('in_port=2').actions).toBe('dec_ttl,output:1');
    // The reply still arrives: dec_ttl fixed the IPv4 header checksum.
    expect(ttls(topo.exec(host(1), `ping -c 2 -i 0.2 -W 2 ${ip(2)}`))).toEqual([63, 63]);
  });

  it('mod_vlan_vid and strip_vlan: datagrams reach h3 tagged with VLAN 10, and its tagged replies reach h1 untagged', async () => {
    of('del-flows');
    addFlow('priority=10,in_port=1,udp,tp_dst=7500,actions=mod_vlan_vid:10,output:3');
    addFlow('priority=10,in_port=3,dl_vlan=10,actions=strip_vlan,output:1');
    // ovs-ofctl writes mod_vlan_vid on untagged frames as OpenFlow 1.3's push_vlan + set_field.
    const push = theFlow('in_port=1');
    expect([push.keywords, push.fields, push.actions]).toEqual([['udp'], { in_port: '1', tp_dst: '7500' }, 'push_vlan:0x8100,set_field:4106->vlan_vid,output:3']);
    const pop = theFlow('in_port=3');
    expect([pop.fields, pop.actions]).toEqual([{ in_port: '3', dl_vlan: '10' }, 'pop_vlan,output:1']);
    const replies = await sink(1, 7501);
    const reflector = await pyService(host(3), VLAN_REFLECTOR, [tap(3), '10', '7500', '7501']);
    services.push(reflector);
    await udpSend(host(1), ip(3), 7500, 100);
    const got = await replies.stop();
    const [tagged, untagged] = await reflector.stop(0);
    expect([Number(tagged), Number(untagged)]).toEqual([100, 0]);
    expect(got.count).toBe(100);
    expect([theFlow('in_port=1').nPackets, theFlow('in_port=3').nPackets]).toEqual([100, 100]);
  });

  it('set_field rewrites the UDP destination port (checksum fixed); write_metadata + goto_table pick a flow by metadata in table 1', async () => {
    of('del-flows');
    addFlow('table=0,priority=10,in_port=1,udp,tp_dst=7100,actions=set_field:7200->udp_dst,output:2');
    addFlow('table=0,priority=10,in_port=1,udp,tp_dst=7300,actions=write_metadata:0xab/0xff,goto_table:1');
    addFlow('table=0,priority=10,in_port=1,udp,tp_dst=7301,actions=write_metadata:0xcd/0xff,goto_table:1');
    addFlow('table=1,priority=10,udp,metadata=0xab/0xff,actions=output:2');
    addFlow('table=1,priority=5,actions=output:3');
    const setField = theFlow('udp,tp_dst=7100');
    expect([setField.table, setField.fields, setField.actions]).toEqual([0, { in_port: '1', tp_dst: '7100' }, 'set_field:7200->udp_dst,output:2']);
    const write = theFlow('udp,tp_dst=7300');
    expect(write.actions).toBe('write_metadata:0xab/0xff,goto_table:1');
    const t1 = dumpFlows(port, 'table=1');
    expect(t1.map((f) => [f.table, f.priority, f.keywords, f.fields, f.actions]).sort()).toEqual([
      [1, 10, ['udp'], { metadata: '0xab/0xff' }, 'output:2'],
      [1, 5, [], {}, 'output:3'],
    ]);
    // h1 computes UDP checksums in software here, so a wrong checksum after the rewrite would be dropped by h2.
    topo.exec(host(1), `ethtool -K ${tap(1)} tx off`);
    try {
      const unchanged = await sink(2, 7100);
      const rewritten = await sink(2, 7200);
      await udpSend(host(1), ip(2), 7100, 100);
      expect((await rewritten.stop()).count).toBe(100);
      expect((await unchanged.stop(0)).count).toBe(0);
    } finally {
      topo.exec(host(1), `ethtool -K ${tap(1)} tx on`);
    }
    const viaMetadata = await sink(2, 7300);
    const h3Before = rx(3);
    await udpSend(host(1), ip(2), 7300, 100);
    await udpSend(host(1), ip(2), 7301, 60);
    expect((await viaMetadata.stop()).count).toBe(100);
    expect(rx(3) - h3Before).toBe(60);
    const after = dumpFlows(port, 'table=1');
    expect(after.find((f) => f.priority === 10)!.nPackets).toBe(100);
    expect(after.find((f) => f.priority === 5)!.nPackets).toBe(60);
    expect(of('dump-tables')).toMatch(/ table 1:\n\s+active=2, lookup=160, matched=160\n/);
  });

  it('ipv6 and icmp6 matches: h1 and h2 ping each other over IPv6, h3 sees nothing', () => {
    of('del-flows');
    addFlow('priority=10,ipv6,in_port=1,actions=output:2');
    addFlow('priority=10,ipv6,in_port=2,actions=output:1');
    addFlow('priority=20,icmp6,in_port=1,ipv6_src=fd11::/64,ipv6_dst=fd11::2,icmp_type=128,actions=output:2');
    const echo = theFlow('icmp6,icmp_type=128');
    expect([echo.keywords, echo.fields]).toEqual([['icmp6'], { in_port: '1', ipv6_src: 'fd11::/64', ipv6_dst: 'fd11::2', icmp_type: '128' }]);
    const h3Before = rx(3);
    const v6 = (i: number, on: boolean) => {
      topo.exec(host(i), `sysctl -qw net.ipv6.conf.${tap(i)}.disable_ipv6=${on ? 0 : 1}`);
      if (on) topo.exec(host(i), `ip -6 addr add fd11::${i}/64 dev ${tap(i)} nodad`);
    };
    try {
      v6(1, true);
      v6(2, true);
      expect(topo.exec(host(1), 'ping -6 -c 3 -i 0.2 -W 2 fd11::2')).toMatch(/3 packets transmitted, 3 received/);
    } finally {
      v6(1, false);
      v6(2, false);
    }
    expect(theFlow('icmp6,icmp_type=128').nPackets).toBe(3);
    expect(theFlow('ipv6,in_port=2').nPackets).toBeGreaterThanOrEqual(4); // neighbour advertisement, 3 echo replies
    expect(rx(3)).toBe(h3Before);
  });

  it('group type=all sends each datagram to h2 and h3; dump-groups, dump-group-stats and dump-ports count them', async () => {
    of('del-flows');
    of('del-groups');
    of('add-group', 'group_id=1,type=all,bucket=output:2,bucket=output:3');
    addFlow('priority=10,in_port=1,udp,tp_dst=7400,actions=group:1');
    expect(of('dump-groups')).toMatch(/\n group_id=1,type=all,bucket=actions=output:2,bucket=actions=output:3\n/);
    expect(theFlow('udp,tp_dst=7400').actions).toBe('group:1');
    const ports = () => {
      const out = of('dump-ports');
      const p: Record<number, { rx: number; tx: number }> = {};
      for (const m of out.matchAll(/port +(\d+): rx pkts=(\d+),[^\n]*\n\s+tx pkts=(\d+)/g)) p[Number(m[1])] = { rx: Number(m[2]), tx: Number(m[3]) };
      return p;
    };
    const before = ports();
    const h3Before = rx(3);
    const s2 = await sink(2, 7400);
    await udpSend(host(1), ip(2), 7400, 200);
    expect((await s2.stop()).count).toBe(200);
    expect(rx(3) - h3Before).toBe(200);
    const stats = of('dump-group-stats');
    const bytes = 200 * FRAME;
    expect(stats).toMatch(
      new RegExp(`group_id=1,duration=[\\d.]+s,ref_count=1,packet_count=200,byte_count=${bytes},bucket0:packet_count=200,byte_count=${bytes},bucket1:packet_count=200,byte_count=${bytes}`),
    );
    const after = ports();
    expect([after[1].rx - before[1].rx, after[2].tx - before[2].tx, after[3].tx - before[3].tx]).toEqual([200, 200, 200]);
  });

  it('a pktps meter drops the excess of a flood; dump-meters and meter-stats show the config and the counts', async () => {
    of('del-flows');
    of('del-meters');
    of('add-meter', 'meter=1,pktps,burst,stats,bands=type=drop,rate=100,burst_size=20');
    expect(of('dump-meters')).toMatch(/\nmeter=1 pktps burst stats bands=\ntype=drop rate=100 burst_size=20\n/);
    addFlow('priority=10,in_port=1,udp,tp_dst=7600,actions=meter:1,output:2');
    expect(theFlow('udp,tp_dst=7600').actions).toBe('meter:1,output:2');
    const s2 = await sink(2, 7600);
    const t0 = performance.now();
    await udpSend(host(1), ip(2), 7600, 2000);
    const seconds = (performance.now() - t0) / 1000;
    const got = (await s2.stop()).count;
    // 100 packets/s plus a burst of 20 over the time the flood took (an upper bound: it includes python's start).
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThanOrEqual(Math.ceil(100 * seconds) + 20 + 10);
    const flow = theFlow('udp,tp_dst=7600');
    expect(flow.nPackets).toBe(2000);
    const stats = of('meter-stats');
    expect(stats).toMatch(new RegExp(`meter:1 flow_count:1 packet_in_count:2000 byte_in_count:${2000 * FRAME} duration:[\\d.]+s bands:\\n0: packet_count:${2000 - got} byte_count:${(2000 - got) * FRAME}\\n`));
  });

  it('packet-out: a frame from the controller reaches h3; with actions=TABLE it goes through the flows', async () => {
    of('del-flows');
    addFlow('priority=10,in_port=1,udp,tp_dst=7701,actions=output:3');
    const s3 = await sink(3, 7700);
    const s3t = await sink(3, 7701);
    const frame = (dport: number, text: string) =>
      Buffer.from(ethFrame(macs[2], macs[0], 0x0800, ipv4Udp(ip(1), ip(3), 5555, dport, Buffer.from(text)))).toString('hex');
    of('packet-out', `in_port=controller packet=${frame(7700, 'packet-out to port 3')} actions=output:3`);
    of('packet-out', `in_port=1 packet=${frame(7701, 'packet-out to TABLE')} actions=TABLE`);
    const direct = await s3.stop();
    const table = await s3t.stop(0);
    expect([direct.count, direct.last.toString()]).toEqual([1, 'packet-out to port 3']);
    expect([table.count, table.last.toString()]).toEqual([1, 'packet-out to TABLE']);
    expect(theFlow('udp,tp_dst=7701').nPackets).toBe(1);
  });

  it('errors arrive before the barrier reply: add-flows stops at a refused flow, the flows before it are installed', () => {
    of('del-flows');
    // ovs-ofctl follows each flow-mod with a barrier request and waits for its reply, so an error
    // is only seen if the switch sends it before that barrier reply; it then stops (no third flow-mod).
    const batch = ['priority=1,udp,tp_dst=1,actions=output:2', 'priority=1,udp,tp_dst=2,actions=output:99', 'priority=1,udp,tp_dst=3,actions=output:3', ''].join('\n');
    const r = ofctlRun(port, 'add-flows', ['-'], { input: batch });
    expect(r.status).not.toBe(0);
    expect(r.stderr + r.stdout).toMatch(/OFPBAC_BAD_OUT_PORT/);
    expect(dumpFlows(port).map((f) => f.fields.tp_dst)).toEqual(['1']);
    expect(ofctlRun(port, 'add-flows', ['-'], { input: batch.split('\n').filter((l) => !l.includes('output:99')).join('\n') }).status).toBe(0);
    expect(dumpFlows(port).map((f) => f.fields.tp_dst).sort()).toEqual(['1', '3']);
    // A missing group or meter is refused the same way.
    expect(ofctlRun(port, 'add-flow', ['priority=1,udp,tp_dst=4,actions=group:4242']).stderr).toMatch(/OFPBAC_BAD_OUT_GROUP/);
    expect(ofctlRun(port, 'add-flow', ['priority=1,udp,tp_dst=5,actions=meter:4242,output:2']).stderr).toMatch(/OFPMMFC_UNKNOWN_METER/);
    expect(dumpFlows(port)).toHaveLength(2);
  });

  it('dump-ports: every counter equals the kernel\'s count on the other side of the TAP', () => {
    const out = of('dump-ports');
    for (const i of [1, 2, 3]) {
      const m = new RegExp(`port +${i}: rx pkts=(\\d+), bytes=(\\d+),[^\\n]*\\n\\s+tx pkts=(\\d+), bytes=(\\d+)`).exec(out)!;
      const k = linkStats(host(i), tap(i));
      expect([Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])]).toEqual([k.txPackets, k.txBytes, k.rxPackets, k.rxBytes]);
    }
  });
});
