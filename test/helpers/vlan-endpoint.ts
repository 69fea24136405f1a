/*
 * 802.1Q endpoints in userspace, for VLAN tests on kernels built without
 * 802.1Q sub-interfaces (CONFIG_VLAN_8021Q unset: `ip link add ... type
 * vlan` fails with "Unknown device type"). A python3 program on an AF_PACKET
 * socket inside a namespace the test created plays one host per VLAN behind
 * a trunk: it answers ARP and ICMP echo requests for its address on each VLAN
 * with frames tagged for that VLAN, and counts the UDP datagrams to port 9 it
 * receives per VLAN ("untagged" for frames without a tag) into a JSON file.
 *
 * The kernel moves a received tag into packet metadata before AF_PACKET sees
 * the frame; the program reads it back from PACKET_AUXDATA (tp_vlan_tci),
 * and from the frame bytes when it is still there.
 */

import { existsSync, readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { pythonIn } from './traffic.js';

const ENDPOINT = `
import json, os, socket, struct, sys
ifname, outfile, vlans = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
SOL_PACKET, PACKET_AUXDATA, TP_STATUS_VLAN_VALID, PACKET_OUTGOING = 263, 8, 0x10, 4
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((ifname, 0))
s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE: a flood waits here while this loop writes its counts
s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
mac = s.getsockname()[4]
ips = {int(v): socket.inet_aton(a) for v, a in vlans.items()}
counts = {}

def csum(b):
    if len(b) % 2:
        b += b"\\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t > 0xffff:
        t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff

def send(vid, dst, etype, payload):
    s.send(dst + mac + struct.pack("!HHH", 0x8100, vid, etype) + payload)

def save():
    with open(outfile + ".tmp", "w") as f:
        json.dump(counts, f)
    os.rename(outfile + ".tmp", outfile)

save()
print("ready", flush=True)
while True:
    data, anc, _, addr = s.recvmsg(65536, socket.CMSG_SPACE(20))
    if addr[2] == PACKET_OUTGOING or len(data) < 14:
        continue
    vid = None
    for level, kind, d in anc:
        if level == SOL_PACKET and kind == PACKET_AUXDATA and len(d) >= 20:
            status, _, _, _, _, tci, _ = struct.unpack("IIIHHHH", d[:20])
            if status & TP_STATUS_VLAN_VALID:
                vid = tci & 0xfff
    if vid is None and data[12:14] == b"\\x81\\x00":
        vid = struct.unpack("!H", data[14:16])[0] & 0xfff
        data = data[:12] + data[16:]
    etype = struct.unpack("!H", data[12:14])[0]
    p = data[14:]
    if etype == 0x0800 and len(p) >= 28 and p[9] == 17 and struct.unpack("!H", p[22:24])[0] == 9:
        key = "untagged" if vid is None else str(vid)
        counts[key] = counts.get(key, 0) + 1
        save()
    if vid not in ips:
        continue
    me = ips[vid]
    if etype == 0x0806 and len(p) >= 28 and p[6:8] == b"\\0\\1" and p[24:28] == me:
        send(vid, p[8:14], 0x0806, p[0:6] + b"\\0\\2" + mac + me + p[8:14] + p[14:18])
    elif etype == 0x0800 and len(p) >= 28 and p[9] == 1 and p[16:20] == me:
        hl = (p[0] & 0xf) * 4
        icmp = p[hl:]
        if icmp[0] == 8:
            ip = bytearray(p[:hl])
            ip[12:16], ip[16:20] = p[16:20], p[12:16]
            ip[8] = 64
            ip[10:12] = b"\\0\\0"
            ip[10:12] = struct.pack("!H", csum(bytes(ip)))
            reply = bytearray(icmp)
            reply[0] = 0
            reply[2:4] = b"\\0\\0"
            reply[2:4] = struct.pack("!H", csum(bytes(reply)))
            send(vid, data[6:12], 0x0800, bytes(ip) + bytes(reply))
`;

const TAGGED_SENDER = `
import socket, struct, sys
ifname, vid, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((ifname, 0))
mac = s.getsockname()[4]
udp = struct.pack("!HHHH", 4000, 9, 8 + 18, 0) + b"t" * 18
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes(4), b"\\xff" * 4)
for i in range(count):
    s.send(b"\\xff" * 6 + mac + struct.pack("!HHH", 0x8100, vid, 0x0800) + ip + udp)
`;

export interface VlanEndpoint {
  /** UDP datagrams to port 9 received so far, by VLAN id ("untagged" without a tag). */
  counts(): Record<string, number>;
  stop(): void;
}

/** Starts the endpoint on `ifname` in `ns`: one address per VLAN id; counts go to `file`. */
export async function startVlanEndpoint(ns: string, ifname: string, vlans: Record<number, string>, file: string): Promise<VlanEndpoint> {
  const p: ChildProcess = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', ENDPOINT, ifname, file, JSON.stringify(vlans)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  await new Promise<void>((resolve, reject) => {
    p.stdout!.setEncoding('utf8').on('data', (d: string) => {
      if (d.includes('ready')) resolve();
    });
    p.once('exit', (code) => reject(new Error(`VLAN endpoint in ${ns} exited ${code}: ${err}`)));
  });
  return {
    counts: () => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>) : {}),
    stop: () => {
      p.kill('SIGKILL');
    },
  };
}

/** Sends `count` broadcast UDP datagrams to port 9 tagged with VLAN `vid` from `ifname` in `ns` (a raw socket). */
export function sendTagged(ns: string, ifname: string, vid: number, count: number): Promise<string> {
  return pythonIn(ns, TAGGED_SENDER, [ifname, String(vid), String(count)]).done;
}
