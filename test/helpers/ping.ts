/*
 * A ping running in the background inside a namespace the test created
 * (`ping -D`: every reply with its wall-clock time), for tests that change
 * the switch under traffic: how many were sent and answered, and when each
 * answer came.
 */

import { spawn } from 'node:child_process';

export interface PingResult {
  transmitted: number;
  received: number;
  /** Wall-clock time (ms since the epoch) of every reply, in order. */
  replyTimesMs: number[];
  /** icmp_seq of every reply. */
  replySeqs: number[];
}

export interface BackgroundPing {
  /** Resolves when ping exits (its count reached, or stop()). */
  readonly done: Promise<PingResult>;
  /** Ends it as ^C does (ping prints its summary). */
  stop(): void;
  /** Still running. */
  running(): boolean;
}

/** `ping -D -i intervalS [-c count] dst` in `ns`. */
export function backgroundPing(ns: string, dst: string, opts: { intervalS: number; count?: number; waitS?: number }): BackgroundPing {
  const args = ['netns', 'exec', ns, 'ping', '-D', '-n', '-i', String(opts.intervalS), '-W', String(opts.waitS ?? 1)];
  if (opts.count !== undefined) args.push('-c', String(opts.count));
  args.push(dst);
  const p = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let exited = false;
  p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const done = new Promise<PingResult>((resolve, reject) => {
    p.once('exit', () => {
      exited = true;
      const sum = /(\d+) packets transmitted, (\d+) received/.exec(out);
      if (!sum) {
        reject(new Error(`ping in ${ns} printed no summary: ${err}${out.slice(-500)}`));
        return;
      }
      const replyTimesMs: number[] = [];
      const replySeqs: number[] = [];
      for (const m of out.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from [^:]+: icmp_seq=(\d+)/gm)) {
        replyTimesMs.push(Number(m[1]) * 1000);
        replySeqs.push(Number(m[2]));
      }
      resolve({ transmitted: Number(sum[1]), received: Number(sum[2]), replyTimesMs, replySeqs });
    });
  });
  return { done, stop: () => p.kill('SIGINT'), running: () => !exited };
}
