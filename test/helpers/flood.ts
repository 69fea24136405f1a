/*
 * A generator at full rate for overload tests and benchmarks: trafgen
 * (netsniff-ng) sending one frame template on one interface of a namespace
 * the caller created, as fast as it can, for a count or until stopped; and
 * the parts of the switch's /metrics those tests read.
 *
 * trafgen forks its generator, so it runs in a process group of its own and
 * is stopped with SIGINT to the group (it then prints its totals), SIGKILL
 * if it lingers. -P 1: one generator process; --no-sock-mem: leave the system's socket
 * memory settings alone; -Q: leave IRQ affinity alone.
 */

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Flood {
  /** Resolves with the frames trafgen says it sent, when it exits. */
  readonly done: Promise<number>;
  /** Stop it (SIGINT to its group) and wait for its count. */
  stop(): Promise<number>;
}

/** The frame as a trafgen packet configuration. */
function trafgenPacket(frame: Uint8Array): string {
  return `{\n  ${Array.from(frame, (b) => '0x' + b.toString(16).padStart(2, '0')).join(', ')}\n}\n`;
}

/** A 60-byte frame (64 on the wire with the FCS) to dst from src with an experimental EtherType: no host stack answers it. */
export function rawFrame(dstMac: string, srcMac: string, etherType = 0x88b5): Uint8Array {
  const f = new Uint8Array(60);
  f.set(dstMac.split(':').map((h) => parseInt(h, 16)), 0);
  f.set(srcMac.split(':').map((h) => parseInt(h, 16)), 6);
  f[12] = etherType >> 8;
  f[13] = etherType & 0xff;
  return f;
}

/**
 * Start trafgen in `ns` on `dev` sending `frame`: `count` frames, or until
 * stop() when count is 0. `cpu` pins it (taskset). `dir` holds its config.
 */
export function startFlood(ns: string, dev: string, frame: Uint8Array, opts: { dir: string; count?: number; cpu?: number }): Flood {
  const cfg = join(opts.dir, `flood-${dev}.cfg`);
  writeFileSync(cfg, trafgenPacket(frame));
  const argv = ['netns', 'exec', ns];
  if (opts.cpu !== undefined) argv.push('taskset', '-c', String(opts.cpu));
  argv.push('trafgen', '-o', dev, '-i', cfg, '-P', '1', '--no-sock-mem', '-Q');
  if (opts.count) argv.push('-n', String(opts.count));
  const p = spawn('ip', argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  p.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const done = new Promise<number>((resolve, reject) => {
    p.once('exit', () => {
      const m = /(\d+) packets outgoing/.exec(out);
      if (m) resolve(Number(m[1]));
      else reject(new Error(`trafgen in ${ns} printed no count: ${out.trim().slice(-400)}`));
    });
  });
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-p.pid!, sig);
    } catch {
      /* already gone */
    }
  };
  return {
    done,
    async stop() {
      if (p.exitCode === null && p.signalCode === null) {
        signal('SIGINT');
        const t = setTimeout(() => signal('SIGKILL'), 5000);
        try {
          return await done;
        } finally {
          clearTimeout(t);
        }
      }
      return done;
    },
  };
}

/** One sample of a Prometheus exposition: the value of `name` with all of `labels`, or 0 when absent. */
export function metricValue(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{')) continue;
    const body = line.slice(name.length + 1, line.lastIndexOf('}'));
    if (Object.entries(labels).every(([k, v]) => body.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

export interface PingRtts {
  transmitted: number;
  received: number;
  /** Round-trip time of every reply, ms, in order. */
  rttsMs: number[];
}

/** `ping -c count -i intervalS -W 1 dst` in `ns` (pinned to `cpu` when given), without blocking the event loop. */
export function pingRtts(ns: string, dst: string, opts: { count: number; intervalS: number; cpu?: number }): Promise<PingRtts> {
  const argv = ['netns', 'exec', ns];
  if (opts.cpu !== undefined) argv.push('taskset', '-c', String(opts.cpu));
  argv.push('ping', '-n', '-c', String(opts.count), '-i', String(opts.intervalS), '-W', '1', dst);
  const p = spawn('ip', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  p.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  return new Promise((resolve, reject) => {
    p.once('exit', () => {
      const sum = /(\d+) packets transmitted, (\d+) received/.exec(out);
      if (!sum) reject(new Error(`ping in ${ns} printed no summary: ${out.slice(-400)}`));
      else resolve({ transmitted: Number(sum[1]), received: Number(sum[2]), rttsMs: [...out.matchAll(/icmp_seq=\d+ ttl=\d+ time=([\d.]+) ms/g)].map((m) => Number(m[1])) });
    });
  });
}

/** The q-quantile (0..1) of `xs` (nearest rank), NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
