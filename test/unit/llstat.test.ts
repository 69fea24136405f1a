/*
 * llstat report math against hand-computed counter histories, the text
 * layout, and windows over a real Datapath with MemoryPorts and a fake clock.
 */

import { describe, expect, it } from 'vitest';
import { Datapath } from '../../src/datapath/datapath.js';
import { NormalSwitch } from '../../src/datapath/learning/normal.js';
import { PacketPool } from '../../src/packet/pool.js';
import { MemoryPort } from '../../src/ports/memory-port.js';
import { formatLlstat, LlstatError, llstatReport, LlstatWindows, samplePort, type CounterSample } from '../../src/stats/llstat.js';
import { BURST_HIST_BUCKETS, histBucket, PortCounters, PortStat } from '../../src/datapath/port-counters.js';
import { udpFrame } from '../helpers/frames.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';

/** A sample with the given counters (others 0) and histogram entries {bucket: count}. */
function sample(tMs: number, c: Partial<Record<PortStat, number>>, rxHist: Record<number, number> = {}, txHist: Record<number, number> = {}): CounterSample {
  const s: CounterSample = { tMs, c: new Float64Array(PortStat.COUNT), rxHist: new Float64Array(BURST_HIST_BUCKETS), txHist: new Float64Array(BURST_HIST_BUCKETS) };
  s.c[PortStat.RxWakeupFramesMin] = Infinity;
  s.c[PortStat.TxKickFramesMin] = Infinity;
  for (const [k, v] of Object.entries(c)) s.c[Number(k)] = v!;
  for (const [k, v] of Object.entries(rxHist)) s.rxHist[Number(k)] = v;
  for (const [k, v] of Object.entries(txHist)) s.txHist[Number(k)] = v;
  return s;
}

describe('llstat report math', () => {
  // A 2-second window: 400 wakeups (10 of them empty) read 2000 frames of 100 bytes;
  // 250 kicks handed 2500 frames to txBurst, 2400 sent (120 bytes each), 100 refused (queue full).
  const start = sample(1000, { [PortStat.RxWakeups]: 100, [PortStat.RxFrames]: 500, [PortStat.RxBytes]: 50_000, [PortStat.TxFrames]: 7, [PortStat.TxBytes]: 840, [PortStat.TxKicks]: 7 }, { 0: 50, 2: 50 });
  const end = sample(
    3000,
    {
      [PortStat.RxWakeups]: 500,
      [PortStat.RxFrames]: 2500,
      [PortStat.RxBytes]: 250_000,
      [PortStat.SlotsFreed]: 2000,
      [PortStat.RxWakeupFramesMin]: 1,
      [PortStat.RxWakeupFramesMax]: 32,
      [PortStat.TxFrames]: 2407,
      [PortStat.TxBytes]: 840 + 2400 * 120,
      [PortStat.TxKicks]: 257,
      [PortStat.TxKickFramesMin]: 2,
      [PortStat.TxKickFramesMax]: 16,
      [PortStat.TxDropQueueFull]: 100,
      [PortStat.TxDropMtu]: 4,
      [PortStat.RxMalformed]: 3,
      [PortStat.FwdFlooded]: 9,
    },
    { 0: 50 + 90, 2: 50 + 200, 5: 100 }, // 390 non-empty wakeups in the window
  );
  const r = llstatReport(3, 'tap3', start, end, false);

  it('computes duration, wakeup frequency and period', () => {
    expect(r.durationMs).toBe(2000);
    expect(r.rx.wakeups).toBe(400);
    expect(r.rx.wakeupsPerSec).toBe(200);
    expect(r.rx.wakeupPeriodUs).toBe(5000);
    expect(r.rx.emptyWakeups).toBe(10);
  });

  it('reports frames per wakeup min/avg/max with empty wakeups in the min and the average', () => {
    expect(r.rx.frames).toBe(2000);
    expect(r.rx.framesPerWakeup).toEqual({ min: 0, avg: 5, max: 32 });
    expect(r.rx.slotsFreedPerWakeup).toBe(5);
    // Without empty wakeups the window's own minimum shows.
    const full = sample(3000, { ...Object.fromEntries(end.c.entries()), [PortStat.RxWakeups]: 490 }, { 0: 140, 2: 250, 5: 100 });
    expect(llstatReport(3, 'tap3', start, full, false).rx.framesPerWakeup.min).toBe(1);
  });

  it('reports rates in kpps and Mbps with the average frame size', () => {
    expect(r.rx.kpps).toBe(1); // 2000 frames / 2 s
    expect(r.rx.mbps).toBe(0.8); // 200 000 B * 8 / 2 s
    expect(r.rx.avgFrameBytes).toBe(100);
    expect(r.tx.outputs).toBe(2400);
    expect(r.tx.outputsPerSec).toBe(1200);
    expect(r.tx.outputPeriodUs).toBeCloseTo(833.33, 2);
    expect(r.tx.kpps).toBe(1.2);
    expect(r.tx.mbps).toBeCloseTo(1.152, 10); // 288 000 B * 8 / 2 s
    expect(r.tx.avgFrameBytes).toBe(120);
  });

  it('counts frames per kick as sent plus refused, and drops with their rates', () => {
    expect(r.tx.kicks).toBe(250);
    expect(r.tx.framesPerKick).toEqual({ min: 2, avg: 10, max: 16 }); // (2400 + 100) / 250
    expect(r.tx.drops).toBe(104);
    expect(r.tx.dropQueueFull).toBe(100);
    expect(r.tx.dropMtu).toBe(4);
    expect(r.tx.dropsPerSec).toBe(52);
    expect(r.tx.dropPeriodUs).toBeCloseTo(19230.77, 2);
    expect(r.tx.dropKpps).toBe(0.052);
    expect(r.rx.malformed).toBe(3);
    expect(r.forward.flooded).toBe(9);
    expect(r.counters.rx_frames).toBe(2000);
    expect(r.counters.rx_wakeup_frames_max).toBe(32);
  });

  it('gives null rates and periods, never Infinity or NaN, for an idle or zero-length window', () => {
    const idle = llstatReport(1, 'p', sample(5, {}), sample(5, {}), true);
    expect(idle.rx.wakeupsPerSec).toBeNull();
    expect(idle.rx.wakeupPeriodUs).toBeNull();
    expect(idle.tx.avgFrameBytes).toBeNull();
    expect(idle.rx.framesPerWakeup).toEqual({ min: 0, avg: 0, max: 0 });
    expect(JSON.stringify(idle)).not.toMatch(/Infinity|NaN/);
    const text = formatLlstat(idle);
    expect(text).not.toMatch(/Infinity|NaN/);
    expect(text).toMatch(/period -\)/);
  });

  it('lays the text out like the LINCX llstat notes', () => {
    const text = formatLlstat(r).split('\n');
    expect(text[0]).toBe('port 3 (tap3):');
    expect(text).toContain('Duration: 2000.0ms');
    expect(text).toContain('RX: wakeups: 400 (10 empty) (freq 200.0/s period 5000.0us)');
    expect(text).toContain('RX: frames per wakeup: 0/5.0/32');
    expect(text).toContain('RX: slots freed per wakeup: 5.0');
    expect(text).toContain('RX: rates: 1.0kpps 0.80Mbps avg pkt size 100.0B');
    expect(text).toContain('TX: outputs: 2400 (250 kicks 10.0) (freq 1200.0/s period 833.3us)');
    expect(text).toContain('TX: frames per kick: 2/10.0/16');
    expect(text).toContain('TX: rates: 1.2kpps 1.15Mbps avg pkt size 120.0B');
    expect(text).toContain('TX: drops: 104 (queue full 100, errors 0, mtu 4, gso 0) (freq 52.0/s period 19230.8us)');
    expect(text).toContain('TX: drop rates: 0.1kpps');
    expect(formatLlstat({ ...r, running: true })).toMatch(/^Duration: 2000\.0ms \(running\)$/m);
  });
});

describe('llstat windows over a datapath', () => {
  function setup() {
    let now = 0;
    const dp = new Datapath({ pool: new PacketPool({ slots: 256 }), burst: 8 });
    dp.pipeline = new NormalSwitch();
    const a = new MemoryPort({ name: 'ma', ofPort: 1 });
    const b = new MemoryPort({ name: 'mb', ofPort: 2 });
    dp.addPort(a);
    dp.addPort(b);
    const win = new LlstatWindows(dp, () => now);
    const burst = (port: MemoryPort, n: number, frame: Uint8Array) => {
      for (let i = 0; i < n; i++) port.inject(frame);
      port.wake();
    };
    // Teach the switch both MACs so A->B is unicast (one kick per round on port 2).
    burst(b, 1, udpFrame(A, B));
    burst(a, 1, udpFrame(B, A));
    return { dp, a, b, win, burst, tick: (ms: number) => (now += ms) };
  }

  it('reports the deltas since start, with min/max of the window only', () => {
    const { dp, a, win, burst, tick } = setup();
    burst(a, 8, udpFrame(B, A)); // before the window: a wakeup of 8 must not show in the window's max
    win.start('1');
    const ab = udpFrame(B, A, { size: 100 });
    burst(a, 3, ab);
    burst(a, 5, ab);
    dp.pollPort(dp.port(1)!); // an empty wakeup
    tick(500);
    const [r] = win.show('1');
    expect(r.running).toBe(true);
    expect(r.durationMs).toBe(500);
    expect(r.rx.wakeups).toBe(3);
    expect(r.rx.emptyWakeups).toBe(1);
    expect(r.rx.frames).toBe(8);
    expect(r.rx.bytes).toBe(800);
    expect(r.rx.framesPerWakeup).toEqual({ min: 0, avg: 8 / 3, max: 5 });
    expect(r.rx.kpps).toBe(8 / 0.5 / 1000);
    expect(r.tx.outputs).toBe(0);
  });

  it('freezes a stopped window and counts tx kicks, frames per kick and queue-full drops', () => {
    const { b, win, burst, tick } = setup();
    b.txLimit = 3;
    win.start('all');
    burst(win.resolve('1')[0].port as MemoryPort, 5, udpFrame(B, A, { size: 64 }));
    tick(1000);
    expect(win.stop()).toEqual([1, 2]);
    const frozen = win.show('mb');
    burst(win.resolve('1')[0].port as MemoryPort, 5, udpFrame(B, A, { size: 64 }));
    tick(1000);
    const [r] = win.show('2');
    expect(r).toEqual(frozen[0]);
    expect(r.running).toBe(false);
    expect(r.durationMs).toBe(1000);
    expect(r.tx.kicks).toBe(1);
    expect(r.tx.outputs).toBe(3);
    expect(r.tx.dropQueueFull).toBe(2);
    expect(r.tx.framesPerKick).toEqual({ min: 5, avg: 5, max: 5 });
    expect(r.tx.avgFrameBytes).toBe(64);
    expect(win.show().map((x) => x.port)).toEqual([1, 2]);
  });

  it('reads the kernel\'s drops at each end of a window: before the start they are not the window\'s', () => {
    const { a, win, tick } = setup();
    a.kernelDrops = 7; // dropped before the window
    win.start('1');
    a.kernelDrops = 40;
    tick(1000);
    const [running] = win.show('1');
    expect(running.rx.kernel).toBe(40);
    expect(running.counters.rx_drop_kernel).toBe(40);
    expect(formatLlstat(running).split('\n')).toContain('RX: drops: kernel 40, no free slot 0, errors 0, malformed 0');
    a.kernelDrops = 2;
    win.stop('1');
    a.kernelDrops = 100; // after the stop: not in the frozen window
    expect(win.show('1')[0].rx.kernel).toBe(42);
  });

  it('reports the tx ring\'s timer kicks of the window (counters.tx_kick_retries, a text line only when there were some)', () => {
    const { a, win, tick } = setup();
    let pending = 3; // re-kicks before the window
    Object.assign(a, {
      readTxKickRetries: () => {
        const n = pending;
        pending = 0;
        return n;
      },
    });
    win.start('all');
    pending = 5;
    tick(1000);
    const [ra, rb] = win.show();
    expect(ra.tx.kickRetries).toBe(5);
    expect(ra.counters.tx_kick_retries).toBe(5);
    expect(formatLlstat(ra).split('\n')).toContain('TX: ring re-kicks: 5');
    expect(rb.counters.tx_kick_retries).toBe(0);
    expect(formatLlstat(rb)).not.toMatch(/re-kicks/);
    pending = 1;
    win.stop('1');
    pending = 9; // after the stop: not in the frozen window
    expect(win.show('1')[0].tx.kickRetries).toBe(6);
  });

  it('refuses unknown ports and shows nothing before a start', () => {
    const { win } = setup();
    expect(() => win.show()).toThrow(LlstatError);
    expect(() => win.start('9')).toThrow(/no port 9 \(ports: 1 ma, 2 mb\)/);
    expect(() => win.start('eth9')).toThrow(/no port named eth9/);
    win.start('ma');
    expect(() => win.show('2')).toThrow(/no llstat window on port 2 \(mb\)/);
    expect(win.list()).toEqual([{ port: 1, name: 'ma', running: true }]);
  });

  it('samples are copies: later traffic does not change a start sample', () => {
    const pc = new PortCounters();
    pc.c[PortStat.RxFrames] = 5;
    pc.rxWakeupHist[histBucket(5)] = 1;
    const s = samplePort(pc, 0);
    pc.c[PortStat.RxFrames] = 9;
    pc.rxWakeupHist[histBucket(5)] = 2;
    expect(s.c[PortStat.RxFrames]).toBe(5);
    expect(s.rxHist[2]).toBe(1);
  });
});
