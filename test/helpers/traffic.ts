/*
 * Traffic for integration tests, generated and checked inside namespaces the
 * test created: a paced, bounded UDP flood with a counting receiver, and a
 * TCP transfer whose SHA-256 is compared on both ends.
 */

import { spawn } from 'node:child_process';
import type { Topology } from './netns.js';

/** Run a python3 program inside `ns` in the background; resolves with its stdout when it exits. */
export function pythonIn(ns: string, program: string, args: string[] = []): { done: Promise<string>; kill: () => void } {
  const p = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', program, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const done = new Promise<string>((resolve, reject) => {
    p.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`python3 in ${ns} exited ${code}: ${err}`))));
  });
  return { done, kill: () => p.kill('SIGKILL') };
}

const UDP_SINK = `
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind((sys.argv[1], int(sys.argv[2])))
print("ready", flush=True)
s.settimeout(float(sys.argv[3]))
n = 0
try:
    while True:
        s.recv(65536)
        n += 1
        s.settimeout(1.0)
except socket.timeout:
    pass
print(n)
`;

const UDP_FLOOD = `
import socket, sys, time
dst, port, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
payload = bytes(size)
for i in range(count):
    s.sendto(payload, (dst, port))
    if i % 32 == 31:
        time.sleep(0.001)
print(count)
`;

/**
 * Send `count` UDP datagrams of `size` bytes from `fromNs` to dst:port, paced
 * in bursts of 32 with 1 ms between them (tens of kpps: a forwarder stalled
 * for a few ms still finds them in a TAP's 500-frame queue); returns how many
 * the sink in `toNs` received.
 */
export async function udpFlood(fromNs: string, toNs: string, dst: string, count: number, size = 200, port = 9999): Promise<number> {
  const sink = pythonIn(toNs, UDP_SINK, [dst, String(port), '10']);
  await new Promise((r) => setTimeout(r, 300));
  await pythonIn(fromNs, UDP_FLOOD, [dst, String(port), String(count), String(size)]).done;
  return Number((await sink.done).trim().split('\n').pop());
}

const TCP_SERVER = `
import socket, sys, hashlib
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
h = hashlib.sha256()
n = 0
while True:
    b = c.recv(1 << 20)
    if not b:
        break
    h.update(b)
    n += len(b)
print(n, h.hexdigest())
`;

const TCP_CLIENT = `
import socket, sys, hashlib, random, time
dst, port, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(1234)
block = bytes(rnd.getrandbits(8) for _ in range(1 << 16))
h = hashlib.sha256()
s = socket.create_connection((dst, port), timeout=30)
t0 = time.time()
sent = 0
while sent < total:
    chunk = block[: min(len(block), total - sent)]
    s.sendall(chunk)
    h.update(chunk)
    sent += len(chunk)
s.shutdown(socket.SHUT_WR)
s.recv(1)
print(sent, h.hexdigest(), time.time() - t0)
`;

export interface TcpResult {
  sentBytes: number;
  receivedBytes: number;
  sentSha: string;
  receivedSha: string;
  seconds: number;
}

/** A TCP transfer of `bytes` from `fromNs` to dst:port in `toNs`; both ends hash what they saw. */
export async function tcpTransfer(fromNs: string, toNs: string, dst: string, bytes: number, port = 5001): Promise<TcpResult> {
  const server = pythonIn(toNs, TCP_SERVER, [dst, String(port)]);
  await new Promise((r) => setTimeout(r, 300));
  const lastLine = (out: string) => out.trim().split('\n').pop()!.trim().split(/\s+/);
  const client = lastLine(await pythonIn(fromNs, TCP_CLIENT, [dst, String(port), String(bytes)]).done);
  const srv = lastLine(await server.done);
  return { sentBytes: Number(client[0]), sentSha: client[1], seconds: Number(client[2]), receivedBytes: Number(srv[0]), receivedSha: srv[1] };
}

/** The part of `iperf3 -J` client output read here. */
export interface Iperf3Json {
  end: { sum_received: { bits_per_second: number } };
}

/** iperf3 TCP throughput in Gbit/s from `fromNs` to a server started in `toNs`. */
export async function iperf3Gbps(topo: Topology, fromNs: string, toNs: string, dst: string, seconds = 3): Promise<number> {
  const server = spawn('ip', ['netns', 'exec', toNs, 'iperf3', '-s', '-1', '-B', dst], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 400));
    const out = JSON.parse(topo.exec(fromNs, `iperf3 -J -c ${dst} -t ${seconds}`, { timeoutMs: (seconds + 20) * 1000 })) as Iperf3Json;
    return out.end.sum_received.bits_per_second / 1e9;
  } finally {
    server.kill('SIGKILL');
  }
}
