/*
 * The npm package outside its checkout: `npm pack` (the prepare script builds
 * dist/), the packed file list (only what the installed CLI needs), then
 * `npm install -g --prefix TMP ./linc-ts-*.tgz` into an empty prefix (the
 * addon compiles from the packed sources with node-gyp; only npm dependencies
 * are fetched), and the installed `linc-ts`: --version, --help, and a real
 * switch between two TAPs moved into namespaces (ping), started with the
 * shipped example config. The shipped systemd unit is checked against the
 * installed path with `systemd-analyze verify`.
 *
 * Everything lives in a temporary directory removed afterwards; the switch is
 * stopped by its PID; namespaces and TAPs carry a random suffix.
 */

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, Topology, type LogLine } from '../helpers/netns.js';
import { missing, netns, tool } from '../helpers/requirements.js';

/** The environment for child npm runs: none of the npm_* variables `npm test` sets for the checkout. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'INIT_CWD') env[k] = v;
  return env;
}

/** Runs npm outside the checkout's environment (asynchronously: the test worker stays responsive); rejects with its output on failure. */
function npm(args: string[], cwd: string, timeoutMs: number): Promise<{ stdout: string; all: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn('npm', args, { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let all = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => ((stdout += d), (all += d)));
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (all += d));
    const timer = setTimeout(() => proc.kill('SIGTERM'), timeoutMs);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, all });
      else reject(new Error(`npm ${args.join(' ')} failed (${code ?? signal}):\n${all.slice(-4000)}`));
    });
  });
}

interface PackResult {
  filename: string;
  version: string;
  files: Array<{ path: string }>;
}

/** binding.gyp is JSON with # comments: the sources node-gyp compiles. */
function gypSources(): string[] {
  const text = readFileSync(join(repoRoot, 'binding.gyp'), 'utf8')
    .split('\n')
    .filter((l) => !l.trim().startsWith('#'))
    .join('\n');
  const gyp = JSON.parse(text) as { targets: Array<{ sources: string[] }> };
  return gyp.targets.flatMap((t) => t.sources);
}

describe.skipIf(missing(netns, tool('npm'), tool('ping')))('npm package: pack, global install into a clean prefix, run', () => {
  const topo = new Topology();
  const tapA = topo.ifname('pa');
  const tapB = topo.ifname('pb');
  let tmp = '';
  let prefix = '';
  let pack: PackResult;
  let installLog = '';
  let sw: ChildProcess | null = null;
  const logs: LogLine[] = [];
  const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

  beforeAll(async () => {
    tmp = mkdtempSync('/tmp/linc-pack-');
    prefix = join(tmp, 'prefix');
    // Real pack (the file list npm pack --dry-run --json would print, and the tarball it describes).
    const packed = (await npm(['pack', '--json', '--pack-destination', tmp], repoRoot, 300_000)).stdout;
    // The JSON array follows whatever the prepare script printed.
    pack = (JSON.parse(packed.slice(packed.search(/^\[/m))) as PackResult[])[0];
    // From the tarball alone, in a directory that is not the checkout.
    installLog = (await npm(['install', '-g', '--prefix', prefix, '--foreground-scripts', '--no-audit', '--no-fund', join(tmp, pack.filename)], tmp, 600_000)).all;
  }, 900_000);

  afterAll(async () => {
    if (sw !== null && sw.exitCode === null && sw.signalCode === null) {
      sw.kill('SIGKILL');
      await new Promise((r) => sw!.once('exit', r));
    }
    topo.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('packs only what the installed CLI needs', () => {
    const files = pack.files.map((f) => f.path).sort();
    expect(pack.version).toBe(version);
    // To build the addon on install: binding.gyp and every native source it names, with the headers.
    for (const need of ['package.json', 'binding.gyp', ...gypSources(), 'src/ports/native/sys.h', 'dist/src/cli.js', 'dist/src/switch.js', 'README.md']) {
      expect(files).toContain(need);
    }
    // Every compiled module the CLI may import is there.
    expect(files.filter((f) => f.startsWith('dist/src/') && f.endsWith('.js')).length).toBeGreaterThan(20);
    // Nothing else: no tests, benchmarks, fixtures, TypeScript sources, source maps or build output.
    const stray = files.filter(
      (f) =>
        /^(test|bench|dist\/test|dist\/bench|build|node_modules|scripts|\.ci)\//.test(f) ||
        f.includes('fixtures') ||
        (f.endsWith('.ts') && !f.endsWith('.d.ts')) ||
        f.endsWith('.map') ||
        f.endsWith('.node') ||
        f.endsWith('.tgz'),
    );
    expect(stray).toEqual([]);
  });

  it('installs into an empty prefix, compiling the addon there without downloading headers', () => {
    const pkgDir = join(prefix, 'lib', 'node_modules', 'linc-ts');
    expect(existsSync(join(pkgDir, 'build', 'Release', 'linc_native.node'))).toBe(true);
    // node-gyp ran (the install script) against the headers of the node on this machine
    // (npm's nodedir), not a header tarball downloaded into its cache.
    expect(installLog).toMatch(/gyp info ok/);
    expect(installLog).not.toMatch(/gyp http GET/);
    const nodeRoot = /-Dnode_root_dir=([^'\s]+)/.exec(installLog)?.[1];
    expect(nodeRoot).toBeDefined();
    expect(nodeRoot).not.toMatch(/node-gyp/);
    expect(existsSync(join(nodeRoot!, 'include', 'node', 'node_api.h'))).toBe(true);
    // The bin link points into the prefix, not at the checkout.
    const bin = realpathSync(join(prefix, 'bin', 'linc-ts'));
    expect(bin).toBe(join(pkgDir, 'dist', 'src', 'cli.js'));
    expect(bin.startsWith(repoRoot)).toBe(false);
  });

  it('the installed linc-ts answers --version and --help', () => {
    const run = (args: string[]) => execFileSync(join(prefix, 'bin', 'linc-ts'), args, { cwd: tmp, env: cleanEnv(), encoding: 'utf8', timeout: 30_000 });
    expect(run(['--version']).trim()).toBe(version);
    const help = run(['--help']);
    expect(help).toMatch(/Usage: linc-ts/);
    expect(help).toMatch(/\brun\b/);
    expect(help).toMatch(/\bllstat\b/);
    expect(run(['run', '--help'])).toMatch(/--port <spec>/);
  });

  it('the installed linc-ts switches between two TAPs (shipped example config, ports from the command line)', async () => {
    const config = join(prefix, 'lib', 'node_modules', 'linc-ts', 'examples', 'linc-ts.yaml');
    expect(existsSync(config)).toBe(true);
    sw = spawn(join(prefix, 'bin', 'linc-ts'), ['run', '--config', config, '--port', `tap:${tapA}=1`, '--port', `tap:${tapB}=2`, '--metrics', 'off', '--admin-socket', 'off'], {
      cwd: tmp,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let buf = '';
    sw.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    sw.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('{')) logs.push(JSON.parse(line) as LogLine);
      }
    });
    const exited = new Promise<number | null>((r) => sw!.once('exit', (code) => r(code)));
    const t0 = Date.now();
    while (!logs.some((l) => l.msg === 'switch running')) {
      if (sw.exitCode !== null) throw new Error(`installed linc-ts exited with ${sw.exitCode}: ${stderr}`);
      if (Date.now() - t0 > 20_000) throw new Error(`installed linc-ts did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const running = logs.find((l) => l.msg === 'switch running')!;
    // The datapath id comes from the example config; the ports from the command line.
    expect(running.datapathId).toBe('0x0000000000000001');
    expect(running.ports).toEqual([`tap:${tapA}=1`, `tap:${tapB}=2`]);

    const nsA = topo.addNamespace('pa');
    const nsB = topo.addNamespace('pb');
    topo.attach(tapA, nsA, '10.203.0.1/24');
    topo.attach(tapB, nsB, '10.203.0.2/24');
    expect(topo.exec(nsA, 'ping -c 3 -i 0.2 -W 2 10.203.0.2')).toMatch(/3 received/);

    sw.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(logs.some((l) => l.msg === 'port removed' && l.port === 1)).toBe(true);
  });

  it.skipIf(missing(tool('systemd-analyze')))('the shipped systemd unit verifies with the installed CLI path', () => {
    const pkgDir = join(prefix, 'lib', 'node_modules', 'linc-ts');
    const unit = readFileSync(join(pkgDir, 'examples', 'linc-ts.service'), 'utf8');
    const exec = /^ExecStart=(\S+) run --config (\S+)$/m.exec(unit);
    expect(exec).not.toBeNull();
    // The same unit, pointed at this prefix instead of /usr/bin.
    const path = join(tmp, 'linc-ts.service');
    writeFileSync(path, unit.replace(exec![1], join(prefix, 'bin', 'linc-ts')));
    const out = execFileSync('sh', ['-c', `systemd-analyze verify ${path} 2>&1; echo "rc=$?"`], { encoding: 'utf8', timeout: 60_000 });
    expect(out.split('\n').filter((l) => l.includes('linc-ts.service'))).toEqual([]);
    expect(out.trim().split('\n').pop()).toBe('rc=0');
  });
});
