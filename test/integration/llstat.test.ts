/*
 * `linc-ts llstat` against a running switch: the real CLI finds a switch on
 * the default admin socket with no flags (in a private mount namespace with
 * its own /run, so other switches on this machine do not interfere), and
 * during a steady trafgen flood between two namespace hosts it reports
 * wakeups, frames per wakeup > 1 and a kpps rate within 5 % of what the
 * kernel's TAP counters saw over the same window.
 */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient } from '../../src/stats/admin.js';
import type { LlstatReport } from '../../src/stats/llstat.js';
import { trafgenConfig, udpTemplate } from '../../bench/frames.js';
import { cliPath, linkMac, linkStats, SwitchProcess, Topology, uniq } from '../helpers/netns.js';
import { missing, netns, root, tool } from '../helpers/requirements.js';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const macNum = (m: string) => parseInt(m.replaceAll(':', ''), 16);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(missing(root, tool('ip'), tool('unshare'), tool('nsenter')))('llstat with no flags: the default admin socket', () => {
  let proc: ChildProcess | undefined;

  afterAll(async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await new Promise((r) => proc!.once('exit', r));
    }
  });

  it('finds the one running switch on the default socket', async () => {
    const tap = `lld${uniq()}`;
    // A private mount namespace with an empty /run: the switch's default socket (/run/linc-ts.sock for root) is ours alone.
    proc = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount -t tmpfs linc-test-run /run && exec "$0" "$@"', process.execPath, cliPath, 'run', '--port', `tap:${tap}=1`, '--metrics', 'off'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const t0 = Date.now();
    while (!out.includes('"switch running"')) {
      if (proc.exitCode !== null || Date.now() - t0 > 20_000) throw new Error(`switch did not start: ${out}`);
      await sleep(50);
    }
    const running = JSON.parse(out.split('\n').find((l) => l.includes('"switch running"'))!) as { adminSocket: string };
    expect(running.adminSocket).toBe('/run/linc-ts.sock');
    const inNs = (...args: string[]) => {
      const r = spawnSync('nsenter', ['-t', String(proc!.pid), '-m', '--', process.execPath, cliPath, ...args], { encoding: 'utf8', timeout: 30_000 });
      return { code: r.status, out: r.stdout, err: r.stderr };
    };
    const none = inNs('llstat', 'show');
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/^linc-ts: no llstat window is open/);
    const started = inNs('llstat', 'start', 'all');
    expect(started.err).toBe('');
    expect(started.out).toBe('llstat window started on port 1\n');
    const shown = inNs('llstat', 'show');
    expect(shown.code).toBe(0);
    expect(shown.out).toMatch(new RegExp(`^port 1 \\(${tap}\\):\\nDuration: [\\d.]+ms \\(running\\)\\nRX: wakeups: `));
    expect(inNs('llstat', 'stop').out).toBe('llstat window stopped on port 1\n');
    expect(inNs('llstat', 'show', '--json').out).toMatch(/"running": false/);
    // The CLI ran synchronously: give the switch's log lines a moment to arrive.
    for (let i = 0; i < 50 && !out.includes('"llstat window stopped"'); i++) await sleep(100);
    expect(out).toMatch(/"ports":\[1\],"msg":"llstat window started"/);
    expect(out).toMatch(/"ports":\[1\],"msg":"llstat window stopped"/);
  });
});

describe.skipIf(missing(netns, tool('trafgen')))('llstat during a flood', () => {
  const topo = new Topology();
  const dir = mkdtempSync(join(tmpdir(), 'linc-llstat-'));
  const socket = join(dir, 'admin.sock');
  const tapA = topo.ifname('la');
  const tapB = topo.ifname('lb');
  let sw: SwitchProcess;
  let nsA: string;
  let nsB: string;
  let gen: ChildProcess | undefined;

  beforeAll(async () => {
    // Wakeups only (no receive moderation window, whose empty polls add a line): the layout checked below.
    sw = await SwitchProcess.start(['run', '--no-adaptive-rx', '--port', `tap:${tapA}=1`, '--port', `tap:${tapB}=2`, '--metrics', 'off', '--admin-socket', socket]);
    [nsA, nsB] = topo.tapHosts(tapA, tapB, '10.203.0');
  });

  afterAll(async () => {
    if (gen && gen.exitCode === null && gen.signalCode === null) {
      gen.kill('SIGKILL');
      await new Promise((r) => gen!.once('exit', r));
    }
    await sw?.stop();
    topo.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an unknown port with one line and exit code 1', () => {
    const r = cli('llstat', 'start', '9', '--admin-socket', socket);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`linc-ts: no port 9 (ports: 1 ${tapA}, 2 ${tapB})\n`);
    const gone = cli('llstat', 'show', '--admin-socket', join(dir, 'nobody.sock'));
    expect(gone.code).toBe(1);
    expect(gone.err).toMatch(/^linc-ts: no linc-ts switch at .*nobody\.sock: no such socket/);
  });

  it('reports wakeups, frames per wakeup > 1 and the kernel\'s rate within 5 %', async () => {
    // 64-byte UDP frames from A's MAC to B's, to an address nobody owns (B drops them without answering).
    const frame = udpTemplate(macNum(linkMac(nsB, tapB)), macNum(linkMac(nsA, tapA)), 60);
    const cfg = join(dir, 'flood.cfg');
    writeFileSync(cfg, trafgenConfig(frame));
    // Faster than the switch drains one wakeup: frames queue up in the TAP between wakeups. Bounded by -n and killed at the end.
    gen = spawn('ip', ['netns', 'exec', nsA, 'trafgen', '-o', tapA, '-i', cfg, '-P', '1', '-Q', '-C', '-b', '200000pps', '-n', '3000000'], { stdio: 'ignore' });
    await sleep(1000);

    // The window and the kernel readings bracket the same interval: start, read; wait; read, stop.
    await adminClient.llstatStart(socket, 'all');
    const a1 = linkStats(nsA, tapA);
    const b1 = linkStats(nsB, tapB);
    const t1 = performance.now();
    await sleep(3000);
    const a2 = linkStats(nsA, tapA);
    const b2 = linkStats(nsB, tapB);
    const t2 = performance.now();
    await adminClient.llstatStop(socket);
    gen.kill('SIGKILL');

    const shown = cli('llstat', 'show', '--json', '--admin-socket', socket);
    expect(shown.err).toBe('');
    const reports = JSON.parse(shown.out) as LlstatReport[];
    const [p1, p2] = reports;
    expect(reports.map((r) => [r.port, r.name, r.running])).toEqual([
      [1, tapA, false],
      [2, tapB, false],
    ]);
    const sec = (t2 - t1) / 1000;
    // TAP tx in A's namespace = what the switch read from port 1; TAP rx in B's = what it sent on port 2.
    const kernelRxKpps = (a2.txPackets - a1.txPackets) / sec / 1e3;
    const kernelTxKpps = (b2.rxPackets - b1.rxPackets) / sec / 1e3;
    console.log(
      `llstat: port 1 ${p1.rx.kpps.toFixed(1)} kpps in (kernel ${kernelRxKpps.toFixed(1)}), ${p1.rx.framesPerWakeup.avg.toFixed(1)} frames/wakeup; ` +
        `port 2 ${p2.tx.kpps.toFixed(1)} kpps out (kernel ${kernelTxKpps.toFixed(1)}), ${p2.tx.framesPerKick.avg.toFixed(1)} frames/kick`,
    );
    expect(p1.rx.wakeups).toBeGreaterThan(0);
    expect(p1.rx.framesPerWakeup.avg).toBeGreaterThan(1);
    expect(p1.rx.framesPerWakeup.max).toBeGreaterThan(1);
    expect(p1.rx.avgFrameBytes).toBe(60);
    expect(kernelRxKpps).toBeGreaterThan(1);
    expect(Math.abs(p1.rx.kpps - kernelRxKpps) / kernelRxKpps).toBeLessThan(0.05);
    expect(Math.abs(p2.tx.kpps - kernelTxKpps) / kernelTxKpps).toBeLessThan(0.05);
    expect(p2.tx.kicks).toBeGreaterThan(0);
    expect(p2.tx.framesPerKick.avg).toBeGreaterThan(1);

    const text = cli('llstat', 'show', '1', '--admin-socket', socket).out;
    console.log(text);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe(`port 1 (${tapA}):`);
    expect(lines.slice(1).map((l) => l.replace(/:.*/, ''))).toEqual([
      'Duration',
      'RX',
      'RX',
      'RX',
      'RX',
      'RX',
      'TX',
      'TX',
      'TX',
      'TX',
      'FWD',
    ]);
    expect(text).toMatch(/^RX: wakeups: \d+ \(\d+ empty\) \(freq [\d.]+\/s period [\d.]+us\)$/m);
    expect(text).toMatch(/^RX: frames per wakeup: \d+\/[\d.]+\/\d+$/m);
    expect(text).toMatch(/^RX: rates: [\d.]+kpps [\d.]+Mbps avg pkt size 60\.0B$/m);
  });

  it('refreshes with --watch until interrupted', async () => {
    await adminClient.llstatStart(socket, '2');
    const w = spawn(process.execPath, [cliPath, 'llstat', 'show', '2', '--watch', '0.2', '--json', '--admin-socket', socket], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    w.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const t0 = Date.now();
    while (out.split('\n').length < 4 && Date.now() - t0 < 15_000) await sleep(100);
    w.kill('SIGINT');
    const code = await new Promise((r) => w.once('exit', (c) => r(c)));
    expect(code).toBe(0);
    const refreshes = out.trim().split('\n').map((l) => JSON.parse(l) as LlstatReport[]);
    expect(refreshes.length).toBeGreaterThanOrEqual(3);
    const durations = refreshes.map((r) => r[0].durationMs);
    for (let i = 1; i < durations.length; i++) expect(durations[i]).toBeGreaterThan(durations[i - 1]);
    expect(refreshes.every((r) => r.length === 1 && r[0].port === 2 && r[0].running)).toBe(true);
  });
});
