/*
 * PBB (IEEE 802.1ah) on real frames: linc-ts carries two namespace hosts'
 * traffic across a "backbone" wire inside PBB I-TAGs.
 *
 * Ports: 1 and 2 are TAPs to hosts h1 and h2; 3 and 4 are the two ends of
 * one veth pair (both in the root namespace, `if:` ports), so what the
 * switch sends on port 3 comes back in on port 4 and the other way round.
 * A scripted controller (the project's codec; Debian's ovs-ofctl 3.1 knows
 * neither push_pbb nor pbb_isid) installs:
 *   in_port=1                              push_pbb, pbb_isid=ISID_A, backbone MACs, output:3
 *   in_port=4, eth_type=0x88e7, ISID_A     pop_pbb, output:2
 *   in_port=2                              push_pbb, pbb_isid=ISID_B, output:4 (MACs copied)
 *   in_port=3, eth_type=0x88e7, ISID_B     pop_pbb, output:1
 * Then: h1 pings h2 (ARP and ICMP both ways, all of it through PBB); a raw
 * frame h1 sends with AF_PACKET arrives byte for byte at h2; a TCP transfer
 * with checksum offload (no TSO: see the case) arrives intact; tshark, capturing
 * on the backbone wire, decodes every frame there as 802.1ah with the
 * I-SID and customer addresses the flows say, none malformed; flow stats
 * count the frames; `linc-ts trace` names the PBB actions.
 */

import { spawnSync, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHello, type OfpMessage } from '../../src/openflow/codec/wire.js';
import type { Action } from '../../src/openflow/codec/v13/actions.js';
import type { FlowStatsReply } from '../../src/openflow/codec/v13/msg/mp-flow.js';
import type { Oxm } from '../../src/openflow/codec/v13/oxm.js';
import { PeerController } from '../helpers/fake-of-switch.js';
import { ethFrame, ipv4Udp, macNum } from '../helpers/frames.js';
import { cliPath, linkMac, sh, SwitchProcess, Topology } from '../helpers/netns.js';
import { apply, fm, inPort, out, setField } from '../helpers/of-harness.js';
import { freeTcpPort } from '../helpers/ovs-ofctl.js';
import { pythonIn, tcpTransfer } from '../helpers/traffic.js';
import { missing, netns, tool } from '../helpers/requirements.js';
import { TsharkCapture } from '../helpers/tshark.js';

const NET = '10.219.0';
const TRANSFER_BYTES = 4 << 20;
const ISID_A = 0x01e240;
const ISID_B = 0x00abcd;
const B_DA = '02:bb:00:00:00:02';
const B_SA = '02:bb:00:00:00:01';
const PBB: Oxm = { field: 'eth_type', value: 0x88e7 };
const PUSH: Action = { type: 'push_pbb', ethertype: 0x88e7 };
const POP: Action = { type: 'pop_pbb' };

/** Prints (hex) the first frame received on argv[1] whose bytes contain argv[2] (hex); exits 3 after argv[3] seconds. */
const RAW_RECV = `
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
marker = bytes.fromhex(sys.argv[2])
print("ready", flush=True)
end = time.time() + float(sys.argv[3])
while time.time() < end:
    s.settimeout(max(0.05, end - time.time()))
    try:
        f, addr = s.recvfrom(65536)
    except socket.timeout:
        break
    if addr[2] != socket.PACKET_OUTGOING and marker in f:
        print(f.hex(), flush=True)
        sys.exit(0)
sys.exit(3)
`;

/** Sends the frame argv[2] (hex) on argv[1]. */
const RAW_SEND = `
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
s.send(bytes.fromhex(sys.argv[2]))
`;

describe.skipIf(missing(netns, tool('tshark'), tool('ping'), tool('python3'), tool('ethtool')))('PBB push and pop on real frames', () => {
  const topo = new Topology();
  const taps = [topo.ifname('p1'), topo.ifname('p2')];
  const wire = [topo.ifname('pa'), topo.ifname('pb')];
  const dir = mkdtempSync(join(tmpdir(), 'linc-pbb-'));
  const pcap = join(dir, 'backbone.pcap');
  const adminSocket = join(dir, 'admin.sock');
  let sw: SwitchProcess;
  let peer: PeerController;
  let capture: TsharkCapture;
  let ns: string[] = [];
  let macs: string[] = [];
  let xid = 10;

  beforeAll(async () => {
    sh(`ip link add ${wire[0]} type veth peer name ${wire[1]}`);
    topo.rootLinks.push(wire[0]);
    for (const w of wire) {
      sh(`sysctl -qw net.ipv6.conf.${w}.disable_ipv6=1`);
      sh(`ip link set ${w} mtu 1600 up`); // room for the 18 bytes a push adds
    }
    const port = await freeTcpPort();
    sw = await SwitchProcess.start([
      'run', '--port', `tap:${taps[0]}=1`, '--port', `tap:${taps[1]}=2`, '--port', `if:${wire[0]}=3`, '--port', `if:${wire[1]}=4`,
      '--listen', `ptcp:${port}`, '--fail-mode', 'secure', '--metrics', 'off', '--admin-socket', adminSocket,
    ]);
    await sw.waitForLog((l) => l.msg === 'openflow listener listening' && l.port === port);
    ns = [topo.addNamespace('p1'), topo.addNamespace('p2')];
    topo.attach(taps[0], ns[0], `${NET}.1/24`);
    topo.attach(taps[1], ns[1], `${NET}.2/24`);
    macs = [linkMac(ns[0], taps[0]), linkMac(ns[1], taps[1])];

    const sock = connect(port, '127.0.0.1');
    await once(sock, 'connect');
    peer = new PeerController(sock);
    peer.send(makeHello(xid++));
    await peer.waitFor((m) => m.type === 'hello');
    const flows = [
      fm({ match: [inPort(1)], instructions: [apply(PUSH, setField({ field: 'pbb_isid', value: ISID_A }), setField({ field: 'eth_dst', value: macNum(B_DA) }), setField({ field: 'eth_src', value: macNum(B_SA) }), out(3))] }),
      fm({ match: [inPort(4), PBB, { field: 'pbb_isid', value: ISID_A }], instructions: [apply(POP, out(2))] }),
      fm({ match: [inPort(2)], instructions: [apply(PUSH, setField({ field: 'pbb_isid', value: ISID_B }), out(4))] }),
      fm({ match: [inPort(3), PBB, { field: 'pbb_isid', value: ISID_B }], instructions: [apply(POP, out(1))] }),
    ];
    for (const f of flows) peer.send({ ...f, xid: xid++ });
    const barrier = xid++;
    peer.send({ type: 'barrier_request', xid: barrier });
    await peer.waitFor((m) => m.type === 'barrier_reply' && m.xid === barrier);
    expect(peer.ofType('error')).toEqual([]);

    capture = new TsharkCapture(['-i', wire[0], '-w', pcap], 300);
    await capture.started();
  }, 60_000);

  afterAll(async () => {
    peer?.close();
    await capture?.stop();
    await sw?.stop();
    topo.cleanup();
    if (process.env.KEEP_PCAP !== '1') rmSync(dir, { recursive: true, force: true });
  });

  it('hosts reach each other through push and pop (ARP and ICMP both ways)', () => {
    const r = spawnSync('ip', ['netns', 'exec', ns[0], 'ping', '-c', '3', '-i', '0.2', '-W', '2', `${NET}.2`], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stdout).toMatch(/3 received/);
  });

  it('a frame pushed at port 1 and popped at port 2 arrives unchanged at the far host', async () => {
    const marker = Buffer.from('linc-ts pbb round trip').toString('hex');
    const frame = ethFrame(macs[1], macs[0], 0x0800, ipv4Udp(`${NET}.1`, `${NET}.2`, 4000, 4001, Buffer.from(marker, 'hex')));
    const recv = pythonIn(ns[1], RAW_RECV, [taps[1], marker, '10']);
    // pythonIn's output is only read at exit: give the receiver a moment to bind, then send until it has one.
    await new Promise((r) => setTimeout(r, 500));
    const hex = Buffer.from(frame).toString('hex');
    for (let i = 0; i < 3; i++) await pythonIn(ns[0], RAW_SEND, [taps[0], hex]).done;
    const got = (await recv.done).split('\n').filter((l) => l !== '' && l !== 'ready');
    expect(got[0]).toBe(hex);
  });

  it('a TCP transfer with checksum offload on (checksum-partial frames) crosses the PBB backbone intact', async () => {
    // No TSO/GSO: the kernel cannot segment a GSO frame inside an I-TAG (no GSO handler for 0x88E7), so a
    // super-frame pushed to the veth would be refused on transmit; checksum-partial frames are fine.
    for (let i = 0; i < 2; i++) topo.exec(ns[i], `ethtool -K ${taps[i]} tso off gso off`);
    const r = await tcpTransfer(ns[0], ns[1], `${NET}.2`, TRANSFER_BYTES);
    expect(r.receivedBytes).toBe(TRANSFER_BYTES);
    expect(r.receivedSha).toBe(r.sentSha);
  }, 60_000);

  it('tshark decodes every frame on the backbone wire as 802.1ah with the flows\' I-SIDs and customer addresses', async () => {
    await new Promise((r) => setTimeout(r, 1000)); // dumpcap writes what it has seen with some delay
    await capture.stop();
    const fields = execFileSync('tshark', [
      '-r', pcap, '-T', 'fields', '-E', 'separator=,', '-e', 'eth.dst', '-e', 'eth.src', '-e', 'eth.type', '-e', 'ieee8021ah.isid',
      '-e', 'ieee8021ah.cdst', '-e', 'ieee8021ah.csrc', '-e', 'ieee8021ah.etype', '-e', 'udp.dstport',
    ], { encoding: 'utf8', timeout: 60_000 }).trim().split('\n').filter((l) => l !== '');
    const rows = fields.map((l) => {
      const [dst, src, type, isid, cdst, csrc, ctype, udpDst] = l.split(',');
      return { dst, src, type, isid: Number(isid), cdst, csrc, ctype, udpDst };
    });
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.type).toBe('0x88e7');
    const aToB = rows.filter((r) => r.isid === ISID_A);
    const bToA = rows.filter((r) => r.isid === ISID_B);
    expect(aToB.length + bToA.length).toBe(rows.length);
    // h1 -> h2: backbone MACs set by the flow; the customer frame is h1's (ARP broadcast, then unicast IPv4).
    for (const r of aToB) expect([r.dst, r.src, r.csrc]).toEqual([B_DA, B_SA, macs[0]]);
    expect(aToB.map((r) => r.ctype)).toEqual(expect.arrayContaining(['0x0806', '0x0800']));
    expect(aToB.some((r) => r.cdst === macs[1])).toBe(true);
    expect(aToB.some((r) => r.udpDst === '4001')).toBe(true); // the raw frame of the previous case, decoded inside the I-TAG
    // h2 -> h1: no set-field on the MACs, so the outer ones are copies of the customer's.
    for (const r of bToA) expect([r.dst, r.src]).toEqual([r.cdst, r.csrc]);
    expect(bToA.some((r) => r.csrc === macs[1] && r.cdst === macs[0] && r.ctype === '0x0800')).toBe(true);
    // No malformed frame, no warning but TCP's own analysis of the transfer (a full window is TCP at work).
    const filter = '_ws.malformed || (_ws.expert.severity >= "warning" && !tcp.analysis.flags)';
    const malformed = execFileSync('tshark', ['-r', pcap, '-Y', filter], { encoding: 'utf8', timeout: 60_000 });
    expect(malformed.trim()).toBe('');
  });

  it('flow stats count the frames through each PBB flow', async () => {
    const q = xid++;
    peer.send({
      type: 'multipart_request', xid: q, flags: 0,
      body: { type: 'flow', tableId: 0xff, outPort: 0xffffffff, outGroup: 0xffffffff, cookie: 0n, cookieMask: 0n, match: [] },
    });
    const reply = await peer.waitFor((m): m is Extract<OfpMessage, { type: 'multipart_reply' }> => m.type === 'multipart_reply' && m.xid === q);
    expect(reply.body.type).toBe('flow');
    const entries = (reply.body as FlowStatsReply).entries;
    expect(entries).toHaveLength(4);
    for (const e of entries) expect(e.packetCount).toBeGreaterThanOrEqual(4n); // ARP + 3 pings (+ the raw frame) each way
  });

  it('linc-ts trace names the PBB actions and the pushed frame\'s pbb_isid (a frame as hex; a flow with pbb_isid)', () => {
    const frame = ethFrame(macs[1], macs[0], 0x0800, ipv4Udp(`${NET}.1`, `${NET}.2`, 4000, 4002, new Uint8Array(8)));
    const r = spawnSync(process.execPath, [cliPath, 'trace', '-s', adminSocket, '--frame', Buffer.from(frame).toString('hex'), 'in_port=1'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('push_pbb:0x88e7');
    expect(r.stdout).toContain(`set_field:0x${ISID_A.toString(16)}->pbb_isid`);
    expect(r.stdout).toContain(`pbb_isid=0x${ISID_A.toString(16)}`);
    const p = spawnSync(process.execPath, [cliPath, 'trace', '-s', adminSocket, `in_port=3,dl_src=${macs[1]},dl_dst=${macs[0]},pbb_isid=0x${ISID_B.toString(16)}`], { encoding: 'utf8', timeout: 20_000 });
    expect(p.status, p.stderr).toBe(0);
    expect(p.stdout).toContain('pop_pbb');
    expect(p.stdout).toMatch(/port 1/);
  });
});
