/*
 * Set-field and pop_mpls results on the wire, judged by tshark (an
 * independent decoder with its checksum validation on):
 *
 *   h1 -- veth -- if port 1 --+-- linc-ts (AF_PACKET ports) <-- ovs-ofctl, a scripted controller
 *   h2 -- veth -- if port 2 --+
 *
 * h1 sends hand-built frames with an AF_PACKET socket; tshark captures what
 * reaches h2, and decodes the packet-in bytes the controller received.
 * - SCTP: set_field sctp_dst (pushed with ovs-ofctl): the frame arrives with
 *   the new port and a right CRC32c (sctp.checksum.status good with
 *   `-o sctp.checksum:CRC-32C`).
 * - eth_type, ip_proto, mpls_bos (pushed by the scripted controller: Open
 *   vSwitch's ovs-ofctl refuses to encode set-fields of fields Open vSwitch
 *   cannot write): new ethertype, new IPv4 protocol with a right header
 *   checksum, the top MPLS label's S bit set.
 * - pop_mpls:0x0800 then, in table 1, an ICMPv4 match and set_field
 *   icmpv4_code, output:2 and output:CONTROLLER (pushed with ovs-ofctl): both
 *   copies decode as IPv4/ICMP with right checksums and no malformed or
 *   expert error note.
 */

import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHello, OFPR, type OfpMessage } from '../../src/openflow/codec/wire.js';
import type { Oxm } from '../../src/openflow/codec/v13/oxm.js';
import { PeerController } from '../helpers/fake-of-switch.js';
import { linkMac, SwitchProcess, Topology } from '../helpers/netns.js';
import { missing, netns, tool } from '../helpers/requirements.js';
import { freeTcpPort, ofctl } from '../helpers/ovs-ofctl.js';
import { pythonIn } from '../helpers/traffic.js';
import { TsharkCapture } from '../helpers/tshark.js';
import { apply, crc32cRef, fm, out, refSum, setField } from '../helpers/of-harness.js';

const NET = '10.214.0';

/** Sends each hex frame given on the command line on IFNAME (first argument), 20 ms apart. */
const SEND_FRAMES = `
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
for h in sys.argv[2:]:
    s.send(bytes.fromhex(h))
    time.sleep(0.02)
`;

const macBytes = (m: string): number[] => m.split(':').map((h) => parseInt(h, 16));
const ipBytes = (a: string): number[] => a.split('.').map(Number);
const be16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];
const be32 = (v: number): number[] => [...be16(v >>> 16), ...be16(v & 0xffff)];

function ipv4(proto: number, payload: number[]): number[] {
  const h = [0x45, 0, ...be16(20 + payload.length), 0x12, 0x34, 0x40, 0, 64, proto, 0, 0, ...ipBytes(`${NET}.1`), ...ipBytes(`${NET}.2`)];
  const c = ~refSum(h, 0, 20) & 0xffff;
  h[10] = c >> 8;
  h[11] = c & 0xff;
  return [...h, ...payload];
}

function sctp(sport: number, dport: number): number[] {
  const data = Array.from(new TextEncoder().encode('linc-ts sctp set-field'));
  while (data.length % 4 !== 0) data.push(0);
  // Common header (checksum 0 for now), one DATA chunk: flags B|E, TSN 1, stream 0, seq 0, PPID 0.
  const p = [...be16(sport), ...be16(dport), ...be32(0x01020304), 0, 0, 0, 0, 0, 0x03, ...be16(16 + data.length), ...be32(1), 0, 0, 0, 0, ...be32(0), ...data];
  const crc = crc32cRef(Uint8Array.from(p), 0, p.length);
  p[8] = crc & 0xff;
  p[9] = (crc >>> 8) & 0xff;
  p[10] = (crc >>> 16) & 0xff;
  p[11] = crc >>> 24;
  return p;
}

function udp(sport: number, dport: number): number[] {
  return [...be16(sport), ...be16(dport), ...be16(8 + 16), 0, 0, ...Array.from(new TextEncoder().encode('linc-ts udp data'))];
}

function icmpEcho(): number[] {
  const p = [8, 0, 0, 0, ...be16(0x4c54), ...be16(1), ...Array.from({ length: 32 }, (_, i) => 0x61 + (i % 23))];
  const c = ~refSum(p, 0, p.length) & 0xffff;
  p[2] = c >> 8;
  p[3] = c & 0xff;
  return p;
}

/** An MPLS label stack entry. */
const lse = (label: number, bos: number, ttl: number): number[] => be32(((label << 12) | (bos << 8) | ttl) >>> 0);

const hex = (b: number[]): string => Buffer.from(b).toString('hex');

/** A one-record-per-frame pcap (Ethernet link type) of `frames`. */
function writePcap(file: string, frames: Uint8Array[]): void {
  const parts: Buffer[] = [];
  const g = Buffer.alloc(24);
  g.writeUInt32LE(0xa1b2c3d4, 0);
  g.writeUInt16LE(2, 4);
  g.writeUInt16LE(4, 6);
  g.writeUInt32LE(65535, 16);
  g.writeUInt32LE(1, 20);
  parts.push(g);
  for (const f of frames) {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    parts.push(r, Buffer.from(f));
  }
  writeFileSync(file, Buffer.concat(parts));
}

function tshark(args: string[]): string {
  return execFileSync('tshark', args, { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

const CHECKS = ['-o', 'sctp.checksum:CRC-32C', '-o', 'ip.check_checksum:TRUE'];
const FIELDS = [
  'eth.type', 'mpls.label', 'mpls.bottom', 'ip.proto', 'ip.checksum.status', 'sctp.dstport', 'sctp.checksum.status', 'icmp.type', 'icmp.code',
  'icmp.checksum.status', 'data.len', '_ws.malformed', '_ws.expert.severity', '_ws.expert.message',
];
/** One decoded frame: field name -> tshark's value ('' when absent). */
type Row = Record<string, string>;

/** tshark's reading of every frame of a capture that passes `filter`. */
function decode(file: string, filter: string): Row[] {
  const out = tshark(['-r', file, ...CHECKS, '-Y', filter, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', '-E', 'separator=|', ...FIELDS.flatMap((f) => ['-e', f])]);
  return out.split('\n').filter((l) => l.length > 0).map((l) => Object.fromEntries(l.split('|').map((v, i) => [FIELDS[i], v])));
}

/** Expert notes of warning (0x600000) or error (0x800000) severity. */
const seriousNotes = (r: Row): string[] => r['_ws.expert.severity'].split(',').filter((s) => s !== '' && Number(s) >= 0x600000);

describe.skipIf(missing(netns, tool('tshark'), tool('ovs-ofctl'), tool('python3')))('set-field and pop_mpls results decoded by tshark on the wire', () => {
  const topo = new Topology();
  const dir = mkdtempSync(join(tmpdir(), 'linc-setfield-'));
  const file = join(dir, 'h2.pcap');
  let sw: SwitchProcess;
  let capture: TsharkCapture | null = null;
  let peer: PeerController | null = null;
  let h1Mac = '';
  let h2Mac = '';
  let rows: Row[] = [];
  let packetIns: Extract<OfpMessage, { type: 'packet_in' }>[] = [];

  beforeAll(async () => {
    const h1 = topo.addNamespace('s1');
    const h2 = topo.addNamespace('s2');
    const [i1, o1, i2, o2] = [topo.ifname('a1'), topo.ifname('b1'), topo.ifname('a2'), topo.ifname('b2')];
    topo.veth(i1, o1, h1, `${NET}.1/24`);
    topo.veth(i2, o2, h2, `${NET}.2/24`);
    h1Mac = linkMac(h1, i1);
    h2Mac = linkMac(h2, i2);
    const port = await freeTcpPort();
    sw = await SwitchProcess.start([
      'run', '--port', `if:${o1}=1`, '--port', `if:${o2}=2`, '--listen', `ptcp:${port}`, '--fail-mode', 'secure', '--metrics', 'off', '--admin-socket', 'off',
    ]);
    await sw.waitForLog((l) => l.msg === 'openflow listener listening' && l.port === port);

    // The scripted controller stays connected for the packet-ins, and pushes what ovs-ofctl will not encode.
    const sock = connect(port, '127.0.0.1');
    await once(sock, 'connect');
    peer = new PeerController(sock);
    const p = peer;
    let xid = 1;
    p.send(makeHello(xid++));
    await p.waitFor((m) => m.type === 'hello');
    p.send({ type: 'set_config', xid: xid++, flags: 0, missSendLen: 0xffff });
    const ETH = (t: number): Oxm => ({ field: 'eth_type', value: t });
    const IN1: Oxm = { field: 'in_port', value: 1 };
    const flows: Array<[Oxm[], Oxm]> = [
      [[IN1, ETH(0x8847), { field: 'mpls_label', value: 200 }], { field: 'mpls_bos', value: 1 }],
      [[IN1, ETH(0x800), { field: 'ip_proto', value: 17 }, { field: 'udp_dst', value: 7001 }], { field: 'ip_proto', value: 253 }],
      [[IN1, ETH(0x800), { field: 'ip_proto', value: 17 }, { field: 'udp_dst', value: 7002 }], { field: 'eth_type', value: 0x88b5 }],
    ];
    for (const [match, set] of flows) p.send({ ...fm({ match, instructions: [apply(setField(set), out(2))] }), xid: xid++ });
    const barrier = xid++;
    p.send({ type: 'barrier_request', xid: barrier });
    await p.waitFor((m) => m.type === 'barrier_reply' && m.xid === barrier);
    expect(p.ofType('error')).toEqual([]);

    // ovs-ofctl: SCTP port rewrite, and pop_mpls then ICMP in table 1.
    ofctl(port, 'add-flow', ['table=0,priority=100,in_port=1,sctp,tp_dst=5001,actions=set_field:6001->sctp_dst,output:2']);
    ofctl(port, 'add-flow', ['table=0,priority=100,in_port=1,mpls,mpls_label=100,actions=pop_mpls:0x0800,goto_table:1']);
    ofctl(port, 'add-flow', ['table=1,priority=100,icmp,icmp_type=8,actions=set_field:3->icmp_code,output:2,CONTROLLER:65535']);

    capture = new TsharkCapture(['-i', i2, '-w', file], 500, h2);
    await capture.started();

    const eth = (type: number, payload: number[]): number[] => [...macBytes(h2Mac), ...macBytes(h1Mac), ...be16(type), ...payload];
    const frames = [
      eth(0x0800, ipv4(132, sctp(5000, 5001))),
      eth(0x8847, [...lse(200, 0, 64), ...lse(300, 1, 64), ...ipv4(17, udp(7000, 7000))]),
      eth(0x0800, ipv4(17, udp(7000, 7001))),
      eth(0x0800, ipv4(17, udp(7000, 7002))),
      eth(0x8847, [...lse(100, 1, 64), ...ipv4(1, icmpEcho())]),
    ];
    await pythonIn(h1, SEND_FRAMES, [i1, ...frames.map(hex)]).done;
    await p.waitFor((m) => m.type === 'packet_in' && m.reason === OFPR.ACTION, 10_000);
    await new Promise((r) => setTimeout(r, 1000)); // the output:2 copies are on their way too
    await capture.stop();
    capture = null;
    rows = decode(file, `eth.src == ${h1Mac}`);
    packetIns = p.ofType('packet_in');
  }, 60_000);

  afterAll(async () => {
    if (capture !== null) capture.proc.kill('SIGKILL');
    peer?.close();
    await sw?.stop();
    topo.cleanup();
    if (!process.env.KEEP_PCAP) rmSync(dir, { recursive: true, force: true });
  });

  it('SCTP after set_field sctp_dst: new port, CRC32c validated good', () => {
    const r = rows.filter((x) => x['sctp.dstport'] !== '');
    expect(r).toHaveLength(1);
    expect(r[0]['sctp.dstport']).toBe('6001');
    expect(r[0]['sctp.checksum.status']).toBe('1'); // good
    expect(r[0]['ip.checksum.status']).toBe('1');
    expect(seriousNotes(r[0])).toEqual([]);
  });

  it('mpls_bos: the top label of a two-label stack now says bottom of stack', () => {
    const r = rows.filter((x) => x['mpls.label'].startsWith('200'));
    expect(r).toHaveLength(1);
    // Sent as 200 (S=0), 300 (S=1); with S=1 on the top entry tshark reads no second label.
    expect(r[0]['mpls.label']).toBe('200');
    expect(r[0]['mpls.bottom']).toBe('1');
  });

  it('ip_proto: IPv4 protocol 253 with a right header checksum, the payload kept', () => {
    const r = rows.filter((x) => x['ip.proto'] === '253');
    expect(r).toHaveLength(1);
    expect(r[0]['ip.checksum.status']).toBe('1');
    expect(r[0]['data.len']).toBe('24'); // the former UDP header and data, now opaque
    expect(seriousNotes(r[0])).toEqual([]);
  });

  it('eth_type: the frame leaves with ethertype 0x88b5', () => {
    const r = rows.filter((x) => x['eth.type'] === '0x88b5');
    expect(r).toHaveLength(1);
    expect(r[0]['ip.proto']).toBe(''); // no longer read as IPv4
  });

  it('pop_mpls then set_field icmpv4_code in table 1: output:2 decodes cleanly as IPv4/ICMP', () => {
    const r = rows.filter((x) => x['icmp.type'] !== '');
    expect(r).toHaveLength(1);
    expect(r[0]['eth.type']).toBe('0x0800');
    expect(r[0]['mpls.label']).toBe('');
    expect([r[0]['icmp.type'], r[0]['icmp.code']]).toEqual(['8', '3']);
    expect([r[0]['ip.checksum.status'], r[0]['icmp.checksum.status']]).toEqual(['1', '1']);
    expect(r[0]['_ws.malformed']).toBe('');
    expect(seriousNotes(r[0])).toEqual([]);
  });

  it('pop_mpls then set_field icmpv4_code in table 1: the packet-in bytes decode cleanly too', () => {
    expect(packetIns).toHaveLength(1);
    const pin = packetIns[0];
    expect(pin.totalLen).toBe(pin.data.length);
    const pinFile = join(dir, 'packet-in.pcap');
    writePcap(pinFile, [pin.data]);
    const r = decode(pinFile, 'frame');
    expect(r).toHaveLength(1);
    expect(r[0]['eth.type']).toBe('0x0800');
    expect([r[0]['icmp.type'], r[0]['icmp.code']]).toEqual(['8', '3']);
    expect([r[0]['ip.checksum.status'], r[0]['icmp.checksum.status']]).toEqual(['1', '1']);
    expect(r[0]['_ws.malformed']).toBe('');
    expect(seriousNotes(r[0])).toEqual([]);
  });
});
