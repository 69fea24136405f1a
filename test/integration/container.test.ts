/*
 * The container image, really built and run: ../shared/tools/verify-dockerfile.sh
 * (beside the checkout; podman against a locally built Debian + Node 20 base,
 * no Docker engine or registry) builds the Dockerfile and runs the image with
 * --help; the image is kept (DKR_KEEP=1, a tag of this run's own) for a second
 * run that proves it switches: `podman run -d --cap-add NET_ADMIN --cap-add
 * NET_RAW --device /dev/net/tun --network host IMAGE run --port tap:A --port
 * tap:B` (not --rm: the container stays until its exit code and last log
 * lines are read), the two TAPs moved into namespaces, ping between them,
 * `podman stop` of that container id, `podman rm`. The image is removed
 * afterwards (its build-stage layers stay as podman's build cache).
 *
 * Root only; the script installs podman, runc and debootstrap with apt when
 * they are missing (scripts/install-test-deps.sh installs them in CI).
 */

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, sh, Topology, uniq } from '../helpers/netns.js';
import { file, missing, netns, oneOf, tool } from '../helpers/requirements.js';

const VERIFY = resolve(repoRoot, '..', 'shared', 'tools', 'verify-dockerfile.sh');

describe.skipIf(missing(netns, file(VERIFY, 'the container build script'), oneOf(tool('podman'), tool('apt-get')), tool('ping')))('container image: built with podman, run with --help, then as a switch', () => {
  const id = uniq();
  const tag = `localhost/linc-ts-test-${id}:latest`;
  const topo = new Topology();
  const tapA = topo.ifname('ca');
  const tapB = topo.ifname('cb');
  let work = '';
  let env: NodeJS.ProcessEnv = {};
  let verify: { status: number | null; out: string };
  let cid = '';

  /** podman with the runtime settings verify-dockerfile.sh wrote (runc, rlimits this host allows). */
  function podman(args: string[], timeoutMs = 60_000): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync('podman', args, { env, encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  beforeAll(async () => {
    work = mkdtempSync('/tmp/linc-dkr-');
    env = { ...process.env, DKR_KEEP: '1', DKR_TAG: tag, DKR_WORK: work, CONTAINERS_CONF: join(work, 'containers.conf') };
    // First build on a machine: ~45 s for the base image, then the project (~1-2 min on 2 cores).
    // Asynchronous, so the test worker stays responsive meanwhile.
    verify = await new Promise((done) => {
      const proc = spawn('bash', [VERIFY, repoRoot, '--help'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      proc.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
      const timer = setTimeout(() => proc.kill('SIGTERM'), 1_200_000);
      proc.once('exit', (status) => {
        clearTimeout(timer);
        done({ status, out });
      });
    });
  }, 1_300_000);

  afterAll(() => {
    if (cid) podman(['rm', '-f', '-t', '0', cid]);
    topo.cleanup();
    podman(['rmi', '-f', tag]);
    if (work) rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('builds the Dockerfile and runs the image with --help', () => {
    if (verify.status !== 0) throw new Error(`verify-dockerfile.sh failed (${verify.status}):\n${verify.out.slice(-6000)}`);
    expect(verify.out).toMatch(/Usage: linc-ts \[options\] \[command\]/);
    expect(verify.out).toMatch(/\brun \[options\]/);
    expect(verify.out).toMatch(/\bllstat\b/);
    expect(verify.out).toMatch(/run exit code 0/);
  });

  it('runs linc-ts as its entrypoint and carries no compiler, sources or tests', () => {
    const inspect = podman(['image', 'inspect', tag, '--format', '{{json .Config.Entrypoint}} {{json .Config.Cmd}}']);
    expect(inspect.status).toBe(0);
    expect(inspect.stdout.trim()).toBe('["linc-ts"] ["run"]');
    const look = podman([
      'run', '--rm', '--pull=never', '--network=none', '--entrypoint', 'sh', tag, '-c',
      'for c in g++ gcc make python3; do command -v $c; done; ls -A /opt/linc-ts; ls -A /opt/linc-ts/dist',
    ]);
    expect(look.status, look.stderr).toBe(0);
    const lines = look.stdout.trim().split('\n');
    // No build tools on the runtime stage: the lines are the two listings only.
    expect(lines).toEqual(['binding.gyp', 'build', 'dist', 'node_modules', 'package.json', 'src']);
  });

  it('switches between two TAPs it creates on the host network (ping), and stops cleanly on SIGTERM', async () => {
    // Not --rm: the container is kept until its exit code and final log lines are read.
    const run = podman([
      'run', '-d', '--pull=never', '--name', `linc-ts-test-${id}`,
      '--cap-add', 'NET_ADMIN', '--cap-add', 'NET_RAW', '--device', '/dev/net/tun', '--network', 'host',
      tag, 'run', '--port', `tap:${tapA}=1`, '--port', `tap:${tapB}=2`, '--metrics', 'off', '--admin-socket', 'off',
    ]);
    expect(run.status, run.stderr).toBe(0);
    cid = run.stdout.trim().split('\n').pop()!;
    expect(cid).toMatch(/^[0-9a-f]{64}$/);

    const t0 = Date.now();
    while (!podman(['logs', cid]).stdout.includes('"msg":"switch running"')) {
      if (Date.now() - t0 > 30_000) throw new Error(`the container did not start the switch:\n${podman(['logs', cid]).stdout}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // The TAPs were created by the process in the container, on the host's network.
    const nsA = topo.addNamespace('ca');
    const nsB = topo.addNamespace('cb');
    topo.attach(tapA, nsA, '10.204.0.1/24');
    topo.attach(tapB, nsB, '10.204.0.2/24');
    expect(topo.exec(nsA, 'ping -c 3 -i 0.2 -W 2 10.204.0.2')).toMatch(/3 received/);

    // SIGTERM to linc-ts (PID 1 in the container): a clean exit, well before podman's SIGKILL.
    const s0 = Date.now();
    const stop = podman(['stop', '-t', '20', cid], 60_000);
    expect(stop.status, stop.stderr).toBe(0);
    expect(Date.now() - s0).toBeLessThan(15_000);
    expect(podman(['inspect', cid, '--format', '{{.State.ExitCode}}']).stdout.trim()).toBe('0');
    const logs = podman(['logs', cid]).stdout;
    expect(logs).toMatch(/"signal":"SIGTERM","msg":"shutting down"/);
    expect(logs.match(/"msg":"port removed"/g)).toHaveLength(2);
    // Its TAPs went with it.
    expect(() => sh(`ip -n ${nsA} link show ${tapA}`)).toThrow();
    expect(() => sh(`ip -n ${nsB} link show ${tapB}`)).toThrow();
    expect(podman(['rm', cid]).status).toBe(0);
    cid = '';
  });
});
