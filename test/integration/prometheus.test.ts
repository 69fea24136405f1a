/*
 * A real Prometheus server (the Debian `prometheus` package) scrapes the
 * switch every second: after a bounded UDP flood between two namespace hosts
 * through the switch, its query API returns port packet counters equal to
 * what the kernel's TAP interfaces counted, and `promtool check metrics`
 * accepts the /metrics text. Prometheus listens on loopback on a free port,
 * keeps its data in a temp dir, and is stopped by PID.
 */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkStats, repoRoot, SwitchProcess, Topology } from '../helpers/netns.js';
import { udpFlood } from '../helpers/traffic.js';
import { missing, netns, tool } from '../helpers/requirements.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface PromVector {
  metric: Record<string, string>;
  value: [number, string];
}

describe.skipIf(missing(netns, tool('prometheus'), tool('promtool')))('Prometheus scraping the switch', () => {
  const topo = new Topology();
  const dir = mkdtempSync(join(tmpdir(), 'linc-prom-'));
  const tapA = topo.ifname('pa');
  const tapB = topo.ifname('pb');
  let sw: SwitchProcess;
  let prom: ChildProcess | undefined;
  let promLog = '';
  let promUrl = '';
  let metricsUrl = '';
  let nsA: string;
  let nsB: string;

  async function query(expr: string): Promise<PromVector[]> {
    const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await r.json()) as { status: string; data: { resultType: string; result: PromVector[] } };
    expect(body.status).toBe('success');
    return body.data.result;
  }

  beforeAll(async () => {
    sw = await SwitchProcess.start(['run', '--port', `tap:${tapA}=1`, '--port', `tap:${tapB}=2`, '--metrics', '127.0.0.1:0', '--admin-socket', 'off']);
    metricsUrl = sw.logs.find((l) => l.msg === 'switch running')!.metrics as string;
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    [nsA, nsB] = topo.tapHosts(tapA, tapB, '10.204.0');

    const target = new URL(metricsUrl).host;
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      ['global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', 'scrape_configs:', '  - job_name: linc-ts', '    static_configs:', `      - targets: ['${target}']`, ''].join('\n'),
    );
    prom = spawn(
      'prometheus',
      [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prom.stdout!.setEncoding('utf8').on('data', (d: string) => (promLog += d));
    prom.stderr!.setEncoding('utf8').on('data', (d: string) => (promLog += d));
    const t0 = Date.now();
    for (;;) {
      if (prom.exitCode !== null) throw new Error(`prometheus exited ${prom.exitCode}: ${promLog}`);
      try {
        if ((await fetch(`${promUrl}/-/ready`)).ok) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() - t0 > 60_000) throw new Error(`prometheus not ready: ${promLog}`);
      await sleep(250);
    }
  });

  afterAll(async () => {
    if (prom && prom.exitCode === null && prom.signalCode === null) {
      const exited = new Promise((r) => prom!.once('exit', r));
      prom.kill('SIGTERM');
      const t = setTimeout(() => prom!.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    await sw?.stop();
    topo.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('scrapes the switch as a healthy target', async () => {
    const t0 = Date.now();
    let up: PromVector[] = [];
    while (Date.now() - t0 < 30_000) {
      up = await query('up{job="linc-ts"}');
      if (up.length === 1 && up[0].value[1] === '1') break;
      await sleep(500);
    }
    expect(up.map((u) => u.value[1])).toEqual(['1']);
  });

  it('returns rx/tx packet counters equal to the kernel TAP counters after a bounded flood', async () => {
    const n = 20_000;
    const received = await udpFlood(nsA, nsB, '10.204.0.2', n, 200);
    // Delivery itself is switch-tap.test.ts's subject; here the counters must agree whatever was lost.
    expect(received).toBeGreaterThan(n * 0.95);
    const byPort = (v: PromVector[]) => Object.fromEntries(v.map((x) => [x.metric.port, Number(x.value[1])]));
    let last = '';
    const t0 = Date.now();
    for (;;) {
      // Re-read both sides each time: a late ARP frame moves the kernel and the switch counters together.
      const a = linkStats(nsA, tapA);
      const b = linkStats(nsB, tapB);
      const rx = byPort(await query('linc_port_rx_packets_total{job="linc-ts"}'));
      const tx = byPort(await query('linc_port_tx_packets_total{job="linc-ts"}'));
      // TAP tx in a host's namespace is what the switch read from that port; TAP rx is what it sent there.
      const want = { rx: { 1: a.txPackets, 2: b.txPackets }, tx: { 1: a.rxPackets, 2: b.rxPackets } };
      const got = { rx: { 1: rx['1'], 2: rx['2'] }, tx: { 1: tx['1'], 2: tx['2'] } };
      last = `prometheus ${JSON.stringify(got)} kernel ${JSON.stringify(want)}`;
      if (JSON.stringify(got) === JSON.stringify(want)) break;
      if (Date.now() - t0 > 20_000) throw new Error(`counters never matched: ${last}`);
      await sleep(500);
    }
    console.log(`after a flood of ${n} frames: ${last}`);
    const rx = byPort(await query('linc_port_rx_packets_total'));
    expect(rx['1']).toBeGreaterThanOrEqual(received);
    const names = (await query('linc_port_rx_packets_total')).map((v) => v.metric.name).sort();
    expect(names).toEqual([tapA, tapB].sort());
    // The dashboard's histogram queries work on what was scraped.
    const count = await query('sum(linc_port_rx_burst_frames_count{port="1"})');
    expect(Number(count[0].value[1])).toBeGreaterThan(0);
    const p50 = await query('histogram_quantile(0.5, sum by (le) (rate(linc_port_rx_burst_frames_bucket{port="1"}[1m])))');
    // Prometheus interpolates inside a bucket, and the first bucket is (0, 1]: with most bursts of one
    // frame the median reads below 1. Bursts hold 1..32 frames (--burst 32), whose buckets end at 63.
    expect(Number(p50[0].value[1])).toBeGreaterThan(0);
    expect(Number(p50[0].value[1])).toBeLessThanOrEqual(63);
  });

  it('answers every query of the example Grafana dashboard, and promtool accepts the example scrape config', async () => {
    const dash = JSON.parse(readFileSync(join(repoRoot, 'examples', 'grafana-dashboard.json'), 'utf8')) as { panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })));
    expect(exprs.length).toBeGreaterThan(10);
    let withData = 0;
    for (const { title, expr } of exprs) {
      // Grafana's variables as a user with "All" selected would send them.
      const q = expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', '.*').replaceAll('$port', '.*');
      const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await r.json()) as { status: string; error?: string; data?: { result: unknown[] } };
      expect(body.status, `${title}: ${q}: ${body.error ?? ''}`).toBe('success');
      if ((body.data?.result.length ?? 0) > 0) withData++;
    }
    // Drop panels filter on "> 0" and may be empty after a loss-free flood; the traffic and batching panels are not.
    expect(withData).toBeGreaterThanOrEqual(8);
    const cfg = spawnSync('promtool', ['check', 'config', join(repoRoot, 'examples', 'prometheus.yml')], { encoding: 'utf8' });
    expect(cfg.status, cfg.stdout + cfg.stderr).toBe(0);
  });

  it('serves /metrics that promtool check metrics accepts', async () => {
    const text = await (await fetch(metricsUrl)).text();
    expect(text).toMatch(/^# HELP linc_port_rx_packets_total /m);
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
