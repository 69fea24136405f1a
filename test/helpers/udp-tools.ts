/*
 * Small traffic tools for integration tests, run inside namespaces the test
 * created (python3 through `ip netns exec`, which execs python in place, so
 * the child's PID is python's and signals reach it):
 * - PyService: a python program that prints "ready" once set up, runs until
 *   SIGTERM, then prints its result line; stop() sends SIGTERM by PID;
 * - UdpSink: a PyService counting datagrams to ADDR:PORT (count and last
 *   payload);
 * - udpSend: sends COUNT datagrams, paced in bursts of 64, and resolves
 *   when the last one is written.
 */

import { spawn, type ChildProcess } from 'node:child_process';

const SINK = `
import signal, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind((sys.argv[1], int(sys.argv[2])))
n = 0
last = b""
def done(*_):
    print(n, last.hex(), flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
print("ready", flush=True)
while True:
    last = s.recv(65536)
    n += 1
`;

const SEND = `
import socket, sys, time
dst, port, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(count):
    p = ("%d " % i).encode()
    s.sendto(p + bytes(max(0, size - len(p))), (dst, port))
    if i % 64 == 63:
        time.sleep(0.001)
print(count)
`;

function runIn(ns: string, program: string, args: string[]): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, 'python3', '-c', program, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A python program in `ns` that prints "ready", then its result line when it gets SIGTERM. */
export class PyService {
  private readonly proc: ChildProcess;
  private out = '';
  private err = '';
  private readonly exited: Promise<number | null>;

  constructor(
    readonly ns: string,
    program: string,
    args: string[],
  ) {
    this.proc = runIn(ns, program, args);
    this.proc.stdout!.setEncoding('utf8').on('data', (d: string) => (this.out += d));
    this.proc.stderr!.setEncoding('utf8').on('data', (d: string) => (this.err += d));
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
  }

  /** Resolves when the program printed "ready". */
  async ready(timeoutMs = 10_000): Promise<void> {
    const t0 = Date.now();
    while (!this.out.startsWith('ready\n')) {
      if (this.proc.exitCode !== null) throw new Error(`python in ${this.ns} exited ${this.proc.exitCode}: ${this.err}`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`python in ${this.ns} not ready: ${this.err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Waits `quietMs` (for frames still in flight), SIGTERMs the program; its last output line, split on spaces. */
  async stop(quietMs = 300): Promise<string[]> {
    await new Promise((r) => setTimeout(r, quietMs));
    if (this.proc.exitCode === null) this.proc.kill('SIGTERM');
    const kill = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(kill);
    const lines = this.out.trim().split('\n');
    if (lines.length < 2) throw new Error(`python in ${this.ns} printed no result: ${this.out} ${this.err}`);
    return lines[lines.length - 1].trim().split(' ');
  }

  /** Kills the program if it is still running (cleanup). */
  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}

/** Starts a python service and waits until it is ready. */
export async function pyService(ns: string, program: string, args: string[]): Promise<PyService> {
  const s = new PyService(ns, program, args);
  try {
    await s.ready();
  } catch (e) {
    s.kill();
    throw e;
  }
  return s;
}

export class UdpSink {
  constructor(private readonly svc: PyService) {}

  /** Waits `quietMs`, stops the sink; how many datagrams it received and the last one. */
  async stop(quietMs = 300): Promise<{ count: number; last: Buffer }> {
    const [n, last] = await this.svc.stop(quietMs);
    return { count: Number(n), last: Buffer.from(last ?? '', 'hex') };
  }

  kill(): void {
    this.svc.kill();
  }
}

/** A UDP sink bound to addr:port in `ns`, ready when this resolves. */
export async function udpSink(ns: string, addr: string, port: number): Promise<UdpSink> {
  return new UdpSink(await pyService(ns, SINK, [addr, String(port)]));
}

/** Sends `count` datagrams of `size` bytes ("<i> " then zeros) from `ns` to dst:port. */
export function udpSend(ns: string, dst: string, port: number, count: number, size = 100): Promise<void> {
  const p = runIn(ns, SEND, [dst, String(port), String(count), String(size)]);
  let err = '';
  p.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.once('exit', (code) => {
      clearTimeout(t);
      if (code === 0) resolve();
      else reject(new Error(`udp sender in ${ns} exited ${code}: ${err}`));
    });
  });
}
