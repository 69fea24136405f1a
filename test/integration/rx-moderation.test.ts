/*
 * Receive moderation on real TAPs (the default: adaptive; --adaptive-rx,
 * --rx-usecs): traffic
 * between two namespace hosts is forwarded (ping, a paced UDP burst all
 * delivered), llstat shows frames per wakeup and the windows' empty polls,
 * and an idle switch sleeps (its CPU time over 5 s stays far below a core:
 * a generous bound, the machine is shared).
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient } from '../../src/stats/admin.js';
import { cliPath, SwitchProcess, Topology } from '../helpers/netns.js';
import { udpFlood } from '../helpers/traffic.js';
import { missing, netns, tool } from '../helpers/requirements.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** utime + stime of a process, in clock ticks (USER_HZ, 100 on Linux). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

const MODES: Array<{ name: string; flags: string[]; subnet: number }> = [
  { name: 'default (adaptive)', flags: [], subnet: 213 },
  { name: '--adaptive-rx', flags: ['--adaptive-rx'], subnet: 211 },
  { name: '--rx-usecs 50', flags: ['--rx-usecs', '50'], subnet: 212 },
];

describe('receive moderation flags', () => {
  it('refuses bad values with one linc-ts: line and exit code 2', () => {
    const bad: Array<[string[], string]> = [
      [['--rx-usecs', 'soon'], 'linc-ts: option --rx-usecs: "soon" is not a whole number'],
      [['--rx-usecs', '20000'], 'linc-ts: option rx-usecs: must be at most 10000 (for more, use busy-poll)'],
      [['--busy-poll', '--adaptive-rx'], 'linc-ts: busy-poll polls all the time: rx-usecs and adaptive-rx (a polling window after each wakeup) do not go with it'],
      [['--busy-poll', '--rx-usecs', '20'], 'linc-ts: busy-poll polls all the time: rx-usecs and adaptive-rx (a polling window after each wakeup) do not go with it'],
      [['--no-adaptive-rx', '--rx-usecs', 'soon'], 'linc-ts: option --rx-usecs: "soon" is not a whole number'],
    ];
    for (const [args, line] of bad) {
      const r = spawnSync(process.execPath, [cliPath, 'run', ...args, '--port', 'tap:never0', '--metrics', 'off', '--admin-socket', 'off'], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toBe(line + '\n');
    }
  });
});

describe.skipIf(missing(netns, tool('ping'), tool('python3')))('receive moderation on TAPs', () => {
  describe.each(MODES)('$name', ({ flags, subnet }) => {
    const topo = new Topology();
    const dir = mkdtempSync(join(tmpdir(), 'linc-rxmod-'));
    const socket = join(dir, 'admin.sock');
    const a = topo.ifname('ma');
    const b = topo.ifname('mb');
    let sw: SwitchProcess;
    let nsA: string;
    let nsB: string;

    beforeAll(async () => {
      sw = await SwitchProcess.start(['run', ...flags, '--port', `tap:${a}=1`, '--port', `tap:${b}=2`, '--metrics', 'off', '--admin-socket', socket]);
      [nsA, nsB] = topo.tapHosts(a, b, `10.${subnet}.0`);
    });

    afterAll(async () => {
      await sw?.stop();
      topo.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    it('forwards ping and a UDP burst, and llstat shows frames per wakeup and empty polls', async () => {
      await adminClient.llstatStart(socket, 'all');
      expect(topo.exec(nsA, `ping -c 20 -i 0.01 -W 2 10.${subnet}.0.2`)).toMatch(/20 received/);
      const sent = 3000;
      const received = await udpFlood(nsA, nsB, `10.${subnet}.0.2`, sent, 64);
      expect(received).toBe(sent);
      await adminClient.llstatStop(socket);

      const reports = (await adminClient.llstatShow(socket)).reports;
      const [p1, p2] = reports;
      console.log(
        `${flags.join(' ') || 'default'}: port 1 ${p1.rx.frames} frames in ${p1.rx.wakeups} wakeups (${p1.rx.framesPerWakeup.avg.toFixed(2)} per wakeup), ${p1.rx.emptyPolls} empty polls; ` +
          `port 2 ${p2.rx.frames} frames in ${p2.rx.wakeups} wakeups, ${p2.rx.emptyPolls} empty polls`,
      );
      expect(p1.rx.frames).toBeGreaterThanOrEqual(sent + 20);
      expect(p2.rx.frames).toBeGreaterThanOrEqual(20); // the echo replies
      expect(p1.rx.wakeups).toBeGreaterThan(0);
      expect(p1.rx.framesPerWakeup.avg).toBeGreaterThan(0);
      expect(p1.rx.framesPerWakeup.max).toBeGreaterThanOrEqual(1);
      // Each window ends with polls that found nothing, on every port.
      expect(p1.rx.emptyPolls).toBeGreaterThan(0);
      expect(p2.rx.emptyPolls).toBeGreaterThan(0);
      expect(p1.counters.rx_empty_polls).toBe(p1.rx.emptyPolls);

      const text = spawnSync(process.execPath, [cliPath, 'llstat', 'show', '1', '--admin-socket', socket], { encoding: 'utf8', timeout: 30_000 }).stdout;
      expect(text).toMatch(/^RX: frames per wakeup: \d+\/[\d.]+\/\d+$/m);
      expect(text).toMatch(/^RX: empty polls: [1-9]\d* \(freq [\d.]+\/s period [\d.]+us\)$/m);
    });

    it('sleeps when idle: well under a core over 5 s, and no empty polls', async () => {
      await sleep(500); // any window still open closes (they last at most 100 us after the last frame)
      await adminClient.llstatStart(socket, 'all');
      const t0 = cpuTicks(sw.pid);
      const w0 = performance.now();
      await sleep(5000);
      const ticks = cpuTicks(sw.pid) - t0;
      const sec = (performance.now() - w0) / 1000;
      await adminClient.llstatStop(socket);
      const cpuPct = (ticks / 100 / sec) * 100;
      console.log(`${flags.join(' ') || 'default'}: idle CPU ${cpuPct.toFixed(2)} % over ${sec.toFixed(1)} s`);
      expect(cpuPct).toBeLessThan(5);
      const reports = (await adminClient.llstatShow(socket)).reports;
      // Windows open only after a wakeup that found frames (the hosts may send a stray frame now and then): none, no polls.
      for (const r of reports) if (r.rx.wakeups === 0) expect(r.rx.emptyPolls).toBe(0);
      expect(await sw.stop()).toBe(0);
    });
  });
});
