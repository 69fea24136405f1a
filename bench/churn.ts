/*
 * Port churn benchmark (`npm run bench -- --only churn`): what adding and
 * removing ports costs the traffic of the others, and how soon a re-created
 * vif forwards again.
 *
 *   A[veth]--[veth] linc-ts [veth]--[veth]B      ports if:1 and if:2
 *                      + TAP ports added and removed through the admin socket
 *
 * 1. Forwarding rate A -> B in interleaved rounds (each round measures the
 *    three modes, in a rotating order): 64-byte UDP from trafgen at full
 *    speed for `seconds`, delivered pps counted by B's interface, while
 *      quiet      no port changes,
 *      paced      a client adds and removes TAP ports at PACED_OPS_PER_SEC
 *                 (VMs coming and going, busily),
 *      flat out   a client adds and removes TAP ports one request after
 *                 another, as fast as the switch answers.
 *    Also the loss of 50k paced datagrams (below the knee) in each mode.
 *    Medians over the rounds.
 * 2. Re-creation: B's vif is deleted and created again (same name, new
 *    ifindex, the guest's MAC kept) while A sends a datagram every ~0.5 ms;
 *    the time from the moment the new pair is up to the first datagram B
 *    receives. Median and max over `recreations`.
 *
 * Only the namespaces, veths and TAPs made here carry traffic; all are
 * removed at the end.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminRequest } from '../src/stats/admin.js';
import { cliPath, linkMac, sh, Topology, uniq } from '../test/helpers/netns.js';
import { udpFlood } from '../test/helpers/traffic.js';
import { BELOW_KNEE_DATAGRAMS, sleep, stopProc, udpPps, type Setup } from './e2e.js';
import { median } from './inprocess.js';

/** Port adds + removes per second in the paced mode. */
export const PACED_OPS_PER_SEC = 20;

export type ChurnMode = 'quiet' | 'paced' | 'flat out';
const MODES: ChurnMode[] = ['quiet', 'paced', 'flat out'];

export interface ChurnModeResult {
  /** Delivered kpps per round. */
  kpps: number[];
  /** Port adds + removes per second achieved in each round (0 when quiet). */
  opsPerSec: number[];
  /** Loss of the paced datagrams per round, %. */
  pacedLossPct: number[];
}

export interface ChurnResult {
  rounds: number;
  seconds: number;
  modes: Record<ChurnMode, ChurnModeResult>;
  /** Per re-creation: ms from the new vif pair being up to the first datagram delivered. */
  recreateMs: number[];
  /** The same, from the start of `ip link add`. */
  recreateFromAddMs: number[];
}

/**
 * Add and remove TAP ports through the admin socket, one request at a time,
 * `opsPerSec` of them (adds and removes) or as fast as answered (0), until
 * stop(); how many requests were answered.
 */
function churn(sock: string, opsPerSec: number): { stop: () => Promise<number> } {
  const tag = uniq();
  let running = true;
  const t0 = performance.now();
  // A refused request ends the loop; stop() reports it (never an unhandled rejection that skips the clean-up).
  const loop = (async () => {
    let ops = 0;
    for (let i = 0; running; i++) {
      const name = `lbc${tag}${i}`;
      await adminRequest(sock, 'POST', '/v1/ports', { spec: `tap:${name}` });
      await adminRequest(sock, 'POST', '/v1/ports/delete', { port: name });
      ops += 2;
      if (opsPerSec > 0) {
        const due = t0 + (ops / opsPerSec) * 1000;
        while (running && performance.now() < due) await sleep(Math.min(20, due - performance.now()));
      }
    }
    return ops;
  })();
  const settled = loop.then(
    (ops) => ({ ops, error: null }),
    (e: unknown) => ({ ops: 0, error: e instanceof Error ? e : new Error(String(e)) }),
  );
  return {
    stop: async () => {
      running = false;
      const r = await settled;
      if (r.error !== null) throw r.error;
      return r.ops;
    },
  };
}

const RESUME_SINK = `
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
print("ready", flush=True)
last = 0.0
while True:
    s.recv(2048)
    now = time.time()
    if now - last > 0.05:
        print("resume %.6f" % now, flush=True)
    last = now
`;

const PACED_SENDER = `
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
while True:
    try:
        s.sendto(b"x" * 32, (sys.argv[1], int(sys.argv[2])))
    except OSError:
        pass
    time.sleep(0.0005)
`;

function python(ns: string, program: string, args: string[]): { proc: ChildProcess; out: () => string } {
  const proc = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', program, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  return { proc, out: () => out };
}

function makeVif(topo: Topology, outside: string, inside: string, ns: string, mac?: string): void {
  sh(`ip link add ${outside} type veth peer name ${inside}${mac ? ` address ${mac}` : ''} netns ${ns}`);
  if (!topo.rootLinks.includes(outside)) topo.rootLinks.push(outside);
  sh(`sysctl -qw net.ipv6.conf.${outside}.disable_ipv6=1`);
  sh(`ip link set ${outside} up`);
  sh(`ip -n ${ns} addr add 10.77.0.2/24 dev ${inside}`);
  sh(`ip -n ${ns} link set ${inside} up`);
}

export async function runChurn(opts: { rounds?: number; seconds?: number; recreations?: number; log?: (s: string) => void } = {}): Promise<ChurnResult> {
  const rounds = opts.rounds ?? 5;
  const seconds = opts.seconds ?? 3;
  const recreations = opts.recreations ?? 5;
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const dir = mkdtempSync(join(tmpdir(), 'linc-churn-'));
  const sock = join(dir, 'admin.sock');
  const topo = new Topology();
  let proc: ChildProcess | null = null;
  const helpers: ChildProcess[] = [];
  const empty = (): ChurnModeResult => ({ kpps: [], opsPerSec: [], pacedLossPct: [] });
  const out: ChurnResult = { rounds, seconds, modes: { quiet: empty(), paced: empty(), 'flat out': empty() }, recreateMs: [], recreateFromAddMs: [] };
  try {
    const nsA = topo.addNamespace('A');
    const nsB = topo.addNamespace('B');
    const devA = topo.ifname('ia');
    const devB = topo.ifname('ib');
    const outA = topo.ifname('oa');
    const vif = topo.ifname('ob');
    topo.veth(devA, outA, nsA, '10.77.0.1/24');
    makeVif(topo, vif, devB, nsB);
    proc = spawn(process.execPath, [cliPath, 'run', '--port', `if:${outA}=1`, '--port', `if:${vif}=2`, '--admin-socket', sock, '--metrics', 'off'], { stdio: 'ignore' });
    for (let i = 0; ; i++) {
      try {
        await adminRequest(sock, 'GET', '/v1/ports');
        break;
      } catch (e) {
        if (i > 100) throw e;
        await sleep(100);
      }
    }
    topo.exec(nsA, 'ping -c 2 -i 0.2 -W 2 10.77.0.2');
    const s: Setup = { topo, nsA, nsB, devA, devB, proc };

    for (let r = 0; r < rounds; r++) {
      for (let m = 0; m < MODES.length; m++) {
        const mode = MODES[(r + m) % MODES.length];
        const rate = mode === 'paced' ? PACED_OPS_PER_SEC : 0;
        const c = mode === 'quiet' ? null : churn(sock, rate);
        const t0 = performance.now();
        let u;
        let ops = 0;
        try {
          u = await udpPps(s, seconds, dir);
        } finally {
          ops = (await c?.stop()) ?? 0; // stopped (and its failure reported) whatever udpPps did
        }
        const opsPerSec = ops / ((performance.now() - t0) / 1000);
        const c2 = mode === 'quiet' ? null : churn(sock, rate);
        let received;
        try {
          received = await udpFlood(nsA, nsB, '10.77.0.2', BELOW_KNEE_DATAGRAMS, 64);
        } finally {
          await c2?.stop();
        }
        const loss = (1 - received / BELOW_KNEE_DATAGRAMS) * 100;
        out.modes[mode].kpps.push(u.delivered / 1e3);
        out.modes[mode].opsPerSec.push(opsPerSec);
        out.modes[mode].pacedLossPct.push(loss);
        log(`  churn round ${r + 1} ${mode}: delivered ${(u.delivered / 1e3).toFixed(0)} kpps (offered ${(u.offered / 1e3).toFixed(0)}), ${opsPerSec.toFixed(0)} port adds+removes/s, paced loss ${loss.toFixed(2)} %`);
      }
    }

    // Re-creation: the guest keeps its MAC and address; A knows it (no ARP on the way).
    const vmMac = linkMac(nsB, devB);
    sh(`ip -n ${nsA} neigh replace 10.77.0.2 lladdr ${vmMac} dev ${devA} nud permanent`);
    const sink = python(nsB, RESUME_SINK, ['9998']);
    helpers.push(sink.proc);
    for (let i = 0; i < 50 && !sink.out().includes('ready'); i++) await sleep(100);
    const sender = python(nsA, PACED_SENDER, ['10.77.0.2', '9998']);
    helpers.push(sender.proc);
    await sleep(500);
    for (let k = 0; k < recreations; k++) {
      sh(`ip link del ${vif}`);
      await sleep(300);
      const addAt = Date.now();
      makeVif(topo, vif, devB, nsB, vmMac);
      const upAt = Date.now();
      await sleep(1000);
      const resumes = [...sink.out().matchAll(/^resume (\d+\.\d+)$/gm)].map((m) => Number(m[1]) * 1000).filter((t) => t > addAt);
      if (resumes.length === 0) throw new Error(`re-creation ${k + 1}: no datagram reached B within 1 s`);
      out.recreateMs.push(Math.max(0, resumes[0] - upAt));
      out.recreateFromAddMs.push(resumes[0] - addAt);
      log(`  re-creation ${k + 1}: first datagram ${(resumes[0] - upAt).toFixed(1)} ms after the vif was up (${(resumes[0] - addAt).toFixed(1)} ms after ip link add)`);
    }
  } finally {
    for (const h of helpers) h.kill('SIGKILL');
    await stopProc(proc);
    topo.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

/** The table rows of a result (BENCHMARKS.md): one per mode, then the re-creation time. */
export function formatChurn(r: ChurnResult): string[] {
  const list = (xs: number[], d = 0) => xs.map((x) => x.toFixed(d)).join(', ');
  const quiet = r.modes.quiet.kpps;
  const rows = MODES.map((mode) => {
    const m = r.modes[mode];
    // Against the quiet measurement of the same round (the machine's load drifts between rounds).
    const ratio = median(m.kpps.map((k, i) => k / quiet[i]));
    const ops = mode === 'quiet' ? 'none' : `${median(m.opsPerSec).toFixed(0)}/s (${mode === 'paced' ? `paced at ${PACED_OPS_PER_SEC}` : 'one request after another'})`;
    return `| ${mode} | ${ops} | ${median(m.kpps).toFixed(0)} kpps (${list(m.kpps)}) | ${ratio.toFixed(2)} | ${median(m.pacedLossPct).toFixed(2)} % (${list(m.pacedLossPct, 2)}) |`;
  });
  rows.push(
    `| vif deleted and re-created (same name and guest MAC, new ifindex) | - | first datagram delivered: median ${median(r.recreateMs).toFixed(1)} ms, max ${Math.max(...r.recreateMs).toFixed(1)} ms after the new pair was up (${list(r.recreateMs, 1)}); ${median(r.recreateFromAddMs).toFixed(1)} ms after \`ip link add\` | - | - |`,
  );
  return rows;
}
