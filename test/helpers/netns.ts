/*
 * Test and benchmark topologies on this machine only: network namespaces,
 * veth pairs and TAPs that the caller creates, with unique names, and removes
 * again even when the test fails (Topology.cleanup in afterAll / finally).
 * Also: kernel interface counters, and the linc-ts CLI as a child process.
 */

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const isRoot = process.getuid?.() === 0 && existsSync('/dev/net/tun');

/** The repository root (works from test/helpers and from dist/test/helpers). */
export const repoRoot = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json')) || !existsSync(join(d, 'binding.gyp'))) {
    const up = dirname(d);
    if (up === d) throw new Error('cannot find the linc-ts repository root');
    d = up;
  }
  return d;
})();

export const cliPath = join(repoRoot, 'dist', 'src', 'cli.js');

export function sh(cmd: string, opts: { timeoutMs?: number } = {}): string {
  return execFileSync('sh', ['-c', cmd], { encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function shQuiet(cmd: string): void {
  try {
    sh(cmd);
  } catch {
    /* cleanup: the object may already be gone */
  }
}

export function uniq(): string {
  return randomBytes(3).toString('hex');
}

/** Whether a process of this PID exists (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function hasCommand(cmd: string): boolean {
  try {
    sh(`command -v ${cmd}`);
    return true;
  } catch {
    return false;
  }
}

export interface LinkStats {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
  rxDropped: number;
  txDropped: number;
}

/** The part of `ip -j [-s] link show` output the tests read (stats64 only with -s). */
interface IpLinkJson {
  address: string;
  stats64: Record<'rx' | 'tx', { packets: number; bytes: number; dropped: number }>;
}

export function linkStats(ns: string | null, dev: string): LinkStats {
  const out = sh(`ip ${ns ? `-n ${ns} ` : ''}-j -s link show dev ${dev}`);
  const s = (JSON.parse(out) as IpLinkJson[])[0].stats64;
  return {
    rxPackets: s.rx.packets,
    txPackets: s.tx.packets,
    rxBytes: s.rx.bytes,
    txBytes: s.tx.bytes,
    rxDropped: s.rx.dropped,
    txDropped: s.tx.dropped,
  };
}

export function linkMac(ns: string | null, dev: string): string {
  return (JSON.parse(sh(`ip ${ns ? `-n ${ns} ` : ''}-j link show dev ${dev}`)) as IpLinkJson[])[0].address;
}

/** Namespaces and root-namespace links created by one test; cleanup() removes them all. */
export class Topology {
  readonly id = uniq();
  readonly namespaces: string[] = [];
  readonly rootLinks: string[] = [];

  /** A namespace with loopback up and IPv6 off (so hosts send only the traffic a test makes). */
  addNamespace(tag: string): string {
    const ns = `lt${tag}${this.id}`;
    sh(`ip netns add ${ns}`);
    this.namespaces.push(ns);
    sh(`ip -n ${ns} link set lo up`);
    sh(`ip netns exec ${ns} sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1`);
    return ns;
  }

  /** Name for an interface of this topology (<= 15 characters). */
  ifname(tag: string): string {
    return `l${tag}${this.id}`.slice(0, 15);
  }

  /** Move an existing interface (e.g. a TAP the switch created) into `ns`, address it and bring it up. */
  attach(dev: string, ns: string, cidr: string): void {
    sh(`ip link set ${dev} netns ${ns}`);
    sh(`ip -n ${ns} addr add ${cidr} dev ${dev}`);
    sh(`ip -n ${ns} link set ${dev} up`);
  }

  /** Hosts `a` and `b` (new namespaces) on the switch's TAPs `devA` and `devB`, at `${net}.1/24` and `${net}.2/24`; returns their namespaces. */
  tapHosts(devA: string, devB: string, net: string): [string, string] {
    const a = this.addNamespace('a');
    const b = this.addNamespace('b');
    this.attach(devA, a, `${net}.1/24`);
    this.attach(devB, b, `${net}.2/24`);
    return [a, b];
  }

  /** A veth pair: `inside` goes into `ns` with `cidr`, `outside` stays in the root namespace, up, IPv6 off. */
  veth(inside: string, outside: string, ns: string, cidr: string): void {
    sh(`ip link add ${outside} type veth peer name ${inside}`);
    this.rootLinks.push(outside);
    sh(`sysctl -qw net.ipv6.conf.${outside}.disable_ipv6=1`);
    sh(`ip link set ${outside} up`);
    this.attach(inside, ns, cidr);
  }

  /**
   * One host (a new namespace named after `tag`) behind a veth at `cidr`: its inner end `ifname('i' + tag)`,
   * the outer end `ifname('o' + tag)` in the root namespace (a port's link).
   */
  vethHost(tag: string, cidr: string): { ns: string; inner: string; out: string } {
    const ns = this.addNamespace(tag);
    const [inner, out] = [this.ifname(`i${tag}`), this.ifname(`o${tag}`)];
    this.veth(inner, out, ns, cidr);
    return { ns, inner, out };
  }

  /**
   * Hosts `a` and `b` (new namespaces) behind veths, at `${net}.1/24` and `${net}.2/24`: their inner ends inA/inB,
   * the outer ends outA/outB in the root namespace (a switch's or forwarder's ports).
   */
  vethHosts(net: string): { nsA: string; nsB: string; inA: string; inB: string; outA: string; outB: string } {
    const nsA = this.addNamespace('a');
    const nsB = this.addNamespace('b');
    const [inA, inB, outA, outB] = [this.ifname('ia'), this.ifname('ib'), this.ifname('oa'), this.ifname('ob')];
    this.veth(inA, outA, nsA, `${net}.1/24`);
    this.veth(inB, outB, nsB, `${net}.2/24`);
    return { nsA, nsB, inA, inB, outA, outB };
  }

  exec(ns: string, cmd: string, opts: { timeoutMs?: number } = {}): string {
    return sh(`ip netns exec ${ns} ${cmd}`, opts);
  }

  cleanup(): void {
    for (const l of this.rootLinks) shQuiet(`ip link del ${l}`);
    for (const ns of this.namespaces) shQuiet(`ip netns del ${ns}`);
    this.rootLinks.length = 0;
    this.namespaces.length = 0;
  }
}

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** The linc-ts CLI as a child process with its JSON log lines collected. */
export class SwitchProcess {
  readonly proc: ChildProcess;
  readonly logs: LogLine[] = [];
  stderr = '';
  private exited: Promise<number | null>;

  constructor(args: string[]) {
    this.proc = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    this.proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.logs.push({ level: 0, msg: line });
        }
      }
    });
    this.proc.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
  }

  static async start(args: string[], timeoutMs = 20_000): Promise<SwitchProcess> {
    const sw = new SwitchProcess(args);
    await sw.waitForLog((l) => l.msg === 'switch running', timeoutMs);
    return sw;
  }

  async waitForLog(pred: (l: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    const t0 = Date.now();
    for (;;) {
      const hit = this.logs.find(pred);
      if (hit) return hit;
      if (this.proc.exitCode !== null) throw new Error(`linc-ts exited with ${this.proc.exitCode}: ${this.stderr}`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for a log line; stderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM and wait for the exit code. */
  async stop(timeoutMs = 10_000): Promise<number | null> {
    if (this.proc.exitCode !== null) return this.proc.exitCode;
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }

  get pid(): number {
    return this.proc.pid!;
  }
}
