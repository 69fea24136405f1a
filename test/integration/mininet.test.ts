/*
 * linc-ts as every switch of a Mininet network (examples/mininet/linc_ts.py):
 * a tree of depth 2 and fanout 2 (3 switches, 4 hosts), driven through
 * Mininet's Python API by test/integration/mininet/tree.py, which tears the
 * network down itself and never calls Mininet's cleanup (`mn -c` kills
 * processes by name machine-wide).
 *
 * The switches run in fail-mode secure under the OpenFlow 1.3 learning
 * switch in test/integration/mininet/ (os-ken, on loopback), each also
 * listening for ovs-ofctl as `mn` sets it up: the controller's learned flows
 * must carry the TCP transfer through all three switches (dump-flows). Every
 * switch is its own linc-ts
 * with AF_PACKET ports on its sN-ethM interfaces and its own datapath id,
 * pingAll loses nothing, a 32 MiB TCP transfer between the farthest hosts
 * (default offloads on) arrives intact, and teardown leaves no process and no
 * interface behind.
 *
 * Every name carries a random suffix; afterAll stops any process the driver
 * reported (by PID) and deletes any interface with the suffix, in case the
 * driver itself failed.
 */

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, repoRoot, sh, shQuiet, uniq } from '../helpers/netns.js';
import { missing, python3Module, root, tool } from '../helpers/requirements.js';

const DRIVER = join(repoRoot, 'test', 'integration', 'mininet', 'tree.py');
const PYTHON = '/usr/bin/python3'; // Debian's, where python3-mininet and python3-os-ken live
const TRANSFER_BYTES = 32 << 20;

interface TcpResult {
  sentBytes: number;
  sentSha: string;
  receivedBytes: number;
  receivedSha: string;
  seconds: number;
}

interface TreeResult {
  switches: string[];
  started: string[];
  dpids: string[];
  ports: Record<string, Array<[string, number]>>;
  usesController: boolean;
  connected: string[];
  controllerSaw: string[];
  controllerFlows?: Record<string, number>;
  controllerErrors?: Record<string, string[]>;
  listeners?: Record<string, string>;
  flows?: Record<string, string[]>;
  pingLoss: number;
  from: string;
  to: string;
  offloads: Record<string, string>;
  tcp: TcpResult;
}

interface DriverRun {
  code: number | null;
  pids: Array<{ pid: number; what: string }>;
  result?: TreeResult;
  stopped: boolean;
  output: string;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** `count` consecutive free TCP ports on loopback (Mininet numbers the switches' listeners from a base). */
async function freeTcpPorts(count: number): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await portFree(base + i);
    if (ok) return base;
  }
  throw new Error('no free TCP ports on 127.0.0.1');
}

function runDriver(args: string[], timeoutMs: number): Promise<DriverRun> {
  return new Promise((resolve) => {
    const run: DriverRun = { code: null, pids: [], stopped: false, output: '' };
    // No __pycache__ in the checkout (the driver, the switch class and the os-ken app are all loaded from it).
    const proc = spawn(PYTHON, [DRIVER, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
    let buf = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      run.output += d;
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.startsWith('LINCTS-MN ')) continue;
        const ev = JSON.parse(line.slice('LINCTS-MN '.length)) as { pid?: number; what?: string; result?: TreeResult; stopped?: boolean };
        if (ev.pid !== undefined) run.pids.push({ pid: ev.pid, what: ev.what ?? '' });
        if (ev.result !== undefined) run.result = ev.result;
        if (ev.stopped) run.stopped = true;
      }
    });
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (run.output += d));
    // SIGTERM runs the driver's own teardown; SIGKILL only if that hangs.
    const term = setTimeout(() => proc.kill('SIGTERM'), timeoutMs);
    const kill = setTimeout(() => proc.kill('SIGKILL'), timeoutMs + 30_000);
    proc.once('exit', (code) => {
      clearTimeout(term);
      clearTimeout(kill);
      run.code = code;
      resolve(run);
    });
  });
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

function linksWith(suffix: string): string[] {
  const links = JSON.parse(sh('ip -j link show')) as Array<{ ifname: string }>;
  return links.map((l) => l.ifname).filter((n) => n.includes(suffix));
}

function jsonLines(path: string): Array<Record<string, unknown>> {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe.skipIf(missing(root, tool(PYTHON), python3Module('mininet'), tool('mnexec'), tool('osken-manager'), tool('ovs-ofctl'), tool('ethtool'), tool('ping')))('Mininet: linc-ts as every switch of a tree (depth 2, fanout 2)', () => {
  const suffix = uniq(); // 6 hex digits: s1xxxxxx-eth3 is 13 characters
  let logDir = '';
  let run: DriverRun;
  let result: TreeResult;

  beforeAll(async () => {
    logDir = mkdtempSync('/tmp/linc-mn-');
    // No --linc: the class finds this checkout's dist/src/cli.js next to examples/mininet/ by itself.
    const args = ['--suffix', suffix, '--log-dir', logDir, '--bytes', String(TRANSFER_BYTES)];
    // Each switch also listens for ovs-ofctl on 127.0.0.1, as `mn` sets it up (listenPort).
    args.push('--controller-port', String(await freeTcpPorts(1)), '--listen-base', String(await freeTcpPorts(3)));
    run = await runDriver(args, 180_000);
    if (run.result === undefined) throw new Error(`the Mininet driver failed (exit ${run.code}):\n${run.output.slice(-4000)}`);
    result = run.result;
  }, 300_000);

  afterAll(() => {
    // Only if the driver's own teardown failed: what it started, by PID.
    for (const { pid } of run?.pids ?? []) {
      const cmd = cmdline(pid);
      if (alive(pid) && (cmd.includes(suffix) || cmd.includes('cli.js') || cmd.includes('osken-manager') || cmd.includes('hashlib'))) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone meanwhile */
        }
      }
    }
    for (const l of linksWith(suffix)) shQuiet(`ip link del ${l}`);
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });

  it('runs one linc-ts per switch, with AF_PACKET ports on its interfaces and its own datapath id', () => {
    expect(result.switches).toHaveLength(3);
    expect(result.started).toEqual(result.switches);
    expect(new Set(result.dpids).size).toBe(3);
    const lincPids = run.pids.filter((p) => p.what.startsWith('linc-ts '));
    expect(new Set(lincPids.map((p) => p.pid)).size).toBe(3);
    for (const [i, name] of result.switches.entries()) {
      const logs = jsonLines(join(logDir, `${name}-linc-ts.log`));
      const running = logs.find((l) => l.msg === 'switch running')!;
      expect(running).toBeDefined();
      expect(running.datapathId).toBe('0x' + result.dpids[i]);
      // Every data interface Mininet gave the switch is a port, numbered as Mininet numbers it.
      const expected = result.ports[name].map(([ifname, ofport]) => `if:${ifname}=${ofport}`);
      expect(expected.length).toBeGreaterThanOrEqual(2);
      expect(running.ports).toEqual(expected);
      for (const [ifname] of result.ports[name]) expect(ifname.startsWith(`${name}-eth`)).toBe(true);
    }
  });

  it('is connected to the OpenFlow 1.3 controller, and programmed by it', () => {
    expect(result.usesController).toBe(true);
    // The os-ken app logged each switch's features reply, by datapath id.
    expect(result.controllerSaw).toEqual(result.dpids);
    expect(result.connected).toEqual(result.switches);
    // Each switch answers ovs-ofctl on its Mininet listen port with its own datapath id.
    expect(Object.values(result.listeners!)).toEqual(result.dpids);
    for (const name of result.switches) {
      const running = jsonLines(join(logDir, `${name}-linc-ts.log`)).find((l) => l.msg === 'switch running')!;
      expect(running.mode).toBe('secure');
    }
    // No OpenFlow errors; every switch got learned flows (in_port, eth_src, eth_dst) -> port
    // from the app: in fail-mode secure, what crossed the tree the controller taught it.
    expect(result.controllerErrors).toEqual(Object.fromEntries(result.dpids.map((d) => [d, []])));
    for (const dpid of result.dpids) expect(result.controllerFlows![dpid]).toBeGreaterThan(0);
    // The TCP transfer crossed all three switches (h1 - s2 - s1 - s3 - h4) in the datapath, on
    // the learned flows (ovs-ofctl dump-flows through each switch's listener), not as packet-outs.
    for (const name of result.switches) {
      const flows = result.flows![name];
      expect(flows.some((f) => /priority=0\b.*actions=CONTROLLER/.test(f))).toBe(true);
      const learnedBytes = flows.filter((f) => /priority=1\b/.test(f)).reduce((sum, f) => sum + Number(/n_bytes=(\d+)/.exec(f)?.[1] ?? 0), 0);
      expect(learnedBytes).toBeGreaterThan(TRANSFER_BYTES);
    }
  });

  it('pingAll: every host reaches every other, 0 % loss', () => {
    expect(result.pingLoss).toBe(0);
  });

  it('carries 32 MiB of TCP intact between the farthest hosts with their default offloads on', () => {
    expect(result.from).not.toBe(result.to);
    // Mininet's veths keep the kernel's defaults: checksum offload, TSO and GSO on.
    expect(result.offloads['tx-checksumming']).toBe('on');
    expect(result.offloads['tcp-segmentation-offload']).toBe('on');
    expect(result.tcp.sentBytes).toBe(TRANSFER_BYTES);
    expect(result.tcp.receivedBytes).toBe(TRANSFER_BYTES);
    expect(result.tcp.receivedSha).toBe(result.tcp.sentSha);
    console.log(`Mininet tree (os-ken controller): ${result.from} -> ${result.to} 32 MiB TCP in ${result.tcp.seconds.toFixed(2)} s`);
  });

  it('tears down by itself: every linc-ts stopped by SIGTERM, no interface left', () => {
    expect(run.stopped).toBe(true);
    expect(run.code).toBe(0);
    for (const { pid, what } of run.pids) expect(alive(pid) && cmdline(pid) !== '' ? what : null).toBeNull();
    for (const name of result.switches) {
      const logs = jsonLines(join(logDir, `${name}-linc-ts.log`));
      // Mininet deleted the switch's interfaces before stopping it: linc-ts still shut down cleanly.
      expect(logs.some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM')).toBe(true);
    }
    expect(linksWith(suffix)).toEqual([]);
    expect(readdirSync(logDir).filter((f) => f.endsWith('.sock'))).toEqual([]);
  });
});
