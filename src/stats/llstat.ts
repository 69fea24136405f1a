/*
 * llstat: collection windows over the per-port counters and their report,
 * after LINCX's `ling:experimental(llstat, N | stop | [])` (see
 * reference/lincx-llstat-notes.txt). A window samples a port's counters when
 * it starts (and opens a new min/max window on them); a report is the
 * difference between that sample and either the live counters (window
 * running) or the sample taken when it stopped.
 *
 * Invariants
 * - Slow path only: sampling copies a port's typed arrays; nothing here runs
 *   per frame and the datapath never calls into this module.
 * - Report math is a pure function of two samples (llstatReport), so it can be
 *   checked against hand-computed counter histories.
 * - A port has at most one window; starting it again replaces it.
 * - Rates and periods of an empty count are null (JSON) and "-" (text), never
 *   Infinity or NaN.
 * - Every sample first adds what the port counts itself since the last read
 *   (kernel drops, tx ring re-kicks: DpPort.syncPortCounts), so a window sees
 *   them up to its ends.
 */

import type { DpPort } from '../datapath/datapath.js';
import { BURST_HIST_BUCKETS, PORT_STAT_NAMES, PortStat, type PortCounters } from '../datapath/port-counters.js';

/** One reading of a port's counters at `tMs` (a monotonic clock, ms). */
export interface CounterSample {
  tMs: number;
  c: Float64Array;
  rxHist: Float64Array;
  txHist: Float64Array;
}

export function samplePort(pc: PortCounters, tMs: number): CounterSample {
  return { tMs, c: pc.c.slice(), rxHist: pc.rxWakeupHist.slice(), txHist: pc.txKickHist.slice() };
}

export interface MinAvgMax {
  min: number;
  avg: number;
  max: number;
}

export interface LlstatReport {
  port: number;
  name: string;
  /** The window is still open: the end of the report is "now". */
  running: boolean;
  durationMs: number;
  rx: {
    /** Wakeups of the port's poll handle ("interrupts"). */
    wakeups: number;
    wakeupsPerSec: number | null;
    wakeupPeriodUs: number | null;
    /** Wakeups that found nothing to read. */
    emptyWakeups: number;
    /** Polls without a wakeup (busy-poll, receive moderation windows) that found nothing. */
    emptyPolls: number;
    frames: number;
    bytes: number;
    /** Frames per wakeup; the average counts empty wakeups, like min (0 when any was empty). */
    framesPerWakeup: MinAvgMax;
    /** Pool slots given back per wakeup (average). */
    slotsFreedPerWakeup: number;
    kpps: number;
    mbps: number;
    avgFrameBytes: number | null;
    /** Frames the kernel dropped for us: the port's fd queue was full (src/ports/kernel-drops.ts). */
    kernel: number;
    /** Wakeups that found no free pool slot (the frames stayed in the kernel's queue). */
    noSlot: number;
    errors: number;
    malformed: number;
  };
  tx: {
    /** Frames sent ("outputs"). */
    outputs: number;
    outputsPerSec: number | null;
    outputPeriodUs: number | null;
    /** txBurst calls. */
    kicks: number;
    /** Frames handed to each txBurst call (sent or not). */
    framesPerKick: MinAvgMax;
    bytes: number;
    kpps: number;
    mbps: number;
    avgFrameBytes: number | null;
    drops: number;
    dropsPerSec: number | null;
    dropPeriodUs: number | null;
    dropKpps: number;
    dropQueueFull: number;
    dropMtu: number;
    dropGso: number;
    errors: number;
    csumSoftware: number;
    /** Kicks of the tx ring by the port's re-kick timer (ring ports whose send buffer was full). */
    kickRetries: number;
  };
  forward: { dropped: number; flooded: number };
  /** Every counter's change over the window, by its snake_case name (min/max fields hold the window's values). */
  counters: Record<string, number>;
}

function perSec(n: number, ms: number): number | null {
  return ms > 0 ? (n * 1000) / ms : null;
}

function periodUs(n: number, ms: number): number | null {
  return n > 0 ? (ms * 1000) / n : null;
}

function sum(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < BURST_HIST_BUCKETS; i++) s += a[i] - b[i];
  return s;
}

/** A window's min field: Infinity (nothing seen yet) reads 0. */
function finite(x: number): number {
  return Number.isFinite(x) ? x : 0;
}

/** The report for one port between two samples; min/max come from `end` (the window fields). */
export function llstatReport(port: number, name: string, start: CounterSample, end: CounterSample, running: boolean): LlstatReport {
  const d = (s: PortStat) => end.c[s] - start.c[s];
  const ms = end.tMs - start.tMs;
  const sec = ms / 1000;

  const wakeups = d(PortStat.RxWakeups);
  const rxFrames = d(PortStat.RxFrames);
  const rxBytes = d(PortStat.RxBytes);
  const busyWakeups = sum(end.rxHist, start.rxHist);
  const emptyWakeups = Math.max(0, wakeups - busyWakeups);

  const outputs = d(PortStat.TxFrames);
  const txBytes = d(PortStat.TxBytes);
  const kicks = d(PortStat.TxKicks);
  const dropQueueFull = d(PortStat.TxDropQueueFull);
  const txErrors = d(PortStat.TxErrors);
  const dropMtu = d(PortStat.TxDropMtu);
  const dropGso = d(PortStat.TxDropGso);
  const drops = dropQueueFull + txErrors + dropMtu + dropGso;
  // Every frame handed to a kick is either sent or counted as queue-full / error (port-counters.ts).
  const kicked = outputs + dropQueueFull + txErrors;

  const counters: Record<string, number> = {};
  for (let i = 0; i < PORT_STAT_NAMES.length; i++) {
    const windowField = i === PortStat.RxWakeupFramesMin || i === PortStat.RxWakeupFramesMax || i === PortStat.TxKickFramesMin || i === PortStat.TxKickFramesMax;
    counters[PORT_STAT_NAMES[i]] = windowField ? finite(end.c[i]) : end.c[i] - start.c[i];
  }

  return {
    port,
    name,
    running,
    durationMs: ms,
    rx: {
      wakeups,
      wakeupsPerSec: perSec(wakeups, ms),
      wakeupPeriodUs: periodUs(wakeups, ms),
      emptyWakeups,
      emptyPolls: d(PortStat.RxEmptyPolls),
      frames: rxFrames,
      bytes: rxBytes,
      framesPerWakeup: {
        min: emptyWakeups > 0 || busyWakeups === 0 ? 0 : finite(end.c[PortStat.RxWakeupFramesMin]),
        avg: wakeups > 0 ? rxFrames / wakeups : 0,
        max: end.c[PortStat.RxWakeupFramesMax],
      },
      slotsFreedPerWakeup: wakeups > 0 ? d(PortStat.SlotsFreed) / wakeups : 0,
      kpps: sec > 0 ? rxFrames / sec / 1e3 : 0,
      mbps: sec > 0 ? (rxBytes * 8) / sec / 1e6 : 0,
      avgFrameBytes: rxFrames > 0 ? rxBytes / rxFrames : null,
      kernel: d(PortStat.RxDropKernel),
      noSlot: d(PortStat.RxDropNoSlot),
      errors: d(PortStat.RxErrors),
      malformed: d(PortStat.RxMalformed),
    },
    tx: {
      outputs,
      outputsPerSec: perSec(outputs, ms),
      outputPeriodUs: periodUs(outputs, ms),
      kicks,
      framesPerKick: {
        min: kicks > 0 ? finite(end.c[PortStat.TxKickFramesMin]) : 0,
        avg: kicks > 0 ? kicked / kicks : 0,
        max: end.c[PortStat.TxKickFramesMax],
      },
      bytes: txBytes,
      kpps: sec > 0 ? outputs / sec / 1e3 : 0,
      mbps: sec > 0 ? (txBytes * 8) / sec / 1e6 : 0,
      avgFrameBytes: outputs > 0 ? txBytes / outputs : null,
      drops,
      dropsPerSec: perSec(drops, ms),
      dropPeriodUs: periodUs(drops, ms),
      dropKpps: sec > 0 ? drops / sec / 1e3 : 0,
      dropQueueFull,
      dropMtu,
      dropGso,
      errors: txErrors,
      csumSoftware: d(PortStat.TxCsumSoftware),
      kickRetries: d(PortStat.TxKickRetries),
    },
    forward: { dropped: d(PortStat.FwdDropped), flooded: d(PortStat.FwdFlooded) },
    counters,
  };
}

const f1 = (x: number) => x.toFixed(1);
const freq = (perS: number | null, us: number | null) => `(freq ${perS === null ? '-' : f1(perS)}/s period ${us === null ? '-' : f1(us) + 'us'})`;
const size = (b: number | null) => (b === null ? '-' : f1(b) + 'B');
const mam = (m: MinAvgMax) => `${m.min}/${f1(m.avg)}/${m.max}`;

/** The text report of one port, laid out like the LINCX llstat output. */
export function formatLlstat(r: LlstatReport): string {
  const { rx, tx } = r;
  const lines = [
    `port ${r.port} (${r.name}):`,
    `Duration: ${f1(r.durationMs)}ms${r.running ? ' (running)' : ''}`,
    `RX: wakeups: ${rx.wakeups} (${rx.emptyWakeups} empty) ${freq(rx.wakeupsPerSec, rx.wakeupPeriodUs)}`,
    `RX: frames per wakeup: ${mam(rx.framesPerWakeup)}`,
    `RX: slots freed per wakeup: ${f1(rx.slotsFreedPerWakeup)}`,
    `RX: rates: ${f1(rx.kpps)}kpps ${rx.mbps.toFixed(2)}Mbps avg pkt size ${size(rx.avgFrameBytes)}`,
    `RX: drops: kernel ${rx.kernel}, no free slot ${rx.noSlot}, errors ${rx.errors}, malformed ${rx.malformed}`,
    `TX: outputs: ${tx.outputs} (${tx.kicks} kicks ${f1(tx.framesPerKick.avg)}) ${freq(tx.outputsPerSec, tx.outputPeriodUs)}`,
    `TX: frames per kick: ${mam(tx.framesPerKick)}`,
    `TX: rates: ${f1(tx.kpps)}kpps ${tx.mbps.toFixed(2)}Mbps avg pkt size ${size(tx.avgFrameBytes)}`,
    `TX: drops: ${tx.drops} (queue full ${tx.dropQueueFull}, errors ${tx.errors}, mtu ${tx.dropMtu}, gso ${tx.dropGso}) ${freq(tx.dropsPerSec, tx.dropPeriodUs)}`,
  ];
  // Only polling modes (busy-poll, --rx-usecs, --adaptive-rx) poll without a wakeup.
  if (rx.emptyPolls > 0) lines.splice(4, 0, `RX: empty polls: ${rx.emptyPolls} ${freq(perSec(rx.emptyPolls, r.durationMs), periodUs(rx.emptyPolls, r.durationMs))}`);
  if (tx.drops > 0) lines.push(`TX: drop rates: ${f1(tx.dropKpps)}kpps`);
  // Only ring ports re-kick their tx ring on a timer.
  if (tx.kickRetries > 0) lines.push(`TX: ring re-kicks: ${tx.kickRetries}`);
  lines.push(`FWD: dropped ${r.forward.dropped}, flooded ${r.forward.flooded}, checksums completed ${tx.csumSoftware}`);
  return lines.join('\n');
}

/** What the windows need from the datapath: its ports. */
export interface PortSource {
  readonly portList: readonly DpPort[];
  port(ofPort: number): DpPort | undefined;
}

interface Window {
  ofPort: number;
  name: string;
  dp: DpPort;
  counters: PortCounters;
  start: CounterSample;
  end: CounterSample | null;
}

/** Thrown for a request the windows cannot serve (unknown port, no window); the message is for the user. */
export class LlstatError extends Error {
  readonly code = 'LINC_ERR_LLSTAT';
}

/** The llstat windows of one switch. */
export class LlstatWindows {
  private readonly windows = new Map<number, Window>();

  constructor(
    private readonly ports: PortSource,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Resolve "all", an OpenFlow port number or a port name to ports. */
  resolve(which: string): DpPort[] {
    if (which === 'all') return [...this.ports.portList];
    if (/^\d+$/.test(which)) {
      const p = this.ports.port(Number(which));
      if (p) return [p];
      throw new LlstatError(`no port ${which} (ports: ${this.describePorts()})`);
    }
    const p = this.ports.portList.find((x) => x.port.name === which);
    if (p) return [p];
    throw new LlstatError(`no port named ${which} (ports: ${this.describePorts()})`);
  }

  private describePorts(): string {
    return this.ports.portList.map((p) => `${p.ofPort} ${p.port.name}`).join(', ') || 'none';
  }

  /** Open (or reopen) a window on `which` ("all", a number or a name); returns the port numbers. */
  start(which: string): number[] {
    const ports = this.resolve(which);
    const t = this.now();
    for (const p of ports) {
      p.counters.resetWindow();
      p.syncPortCounts();
      this.windows.set(p.ofPort, { ofPort: p.ofPort, name: p.port.name, dp: p, counters: p.counters, start: samplePort(p.counters, t), end: null });
    }
    return ports.map((p) => p.ofPort);
  }

  /** Stop the running windows (all, or the one of `which`); returns the port numbers stopped. */
  stop(which = 'all'): number[] {
    const nums = which === 'all' ? [...this.windows.keys()] : this.resolve(which).map((p) => p.ofPort);
    const t = this.now();
    const stopped: number[] = [];
    for (const n of nums) {
      const w = this.windows.get(n);
      if (!w || w.end !== null) continue;
      w.dp.syncPortCounts();
      w.end = samplePort(w.counters, t);
      stopped.push(n);
    }
    return stopped;
  }

  /** A port left the switch: freeze its window at its last counters. */
  portRemoved(ofPort: number): void {
    const w = this.windows.get(ofPort);
    if (w && w.end === null) w.end = samplePort(w.counters, this.now());
  }

  /** Reports of every window (in port order), or of the window of `which`. */
  show(which?: string): LlstatReport[] {
    if (this.windows.size === 0) throw new LlstatError('no llstat window is open: start one with `linc-ts llstat start PORT|all`');
    let ws: Window[];
    if (which === undefined || which === 'all') {
      ws = [...this.windows.values()].sort((a, b) => a.ofPort - b.ofPort);
    } else {
      ws = this.resolve(which).map((p) => {
        const w = this.windows.get(p.ofPort);
        if (!w) throw new LlstatError(`no llstat window on port ${p.ofPort} (${p.port.name}): start one with \`linc-ts llstat start ${p.ofPort}\``);
        return w;
      });
    }
    const t = this.now();
    for (const w of ws) if (w.end === null) w.dp.syncPortCounts();
    return ws.map((w) => llstatReport(w.ofPort, w.name, w.start, w.end ?? samplePort(w.counters, t), w.end === null));
  }

  /** Port numbers with a window, and whether it runs. */
  list(): Array<{ port: number; name: string; running: boolean }> {
    return [...this.windows.values()].map((w) => ({ port: w.ofPort, name: w.name, running: w.end === null }));
  }
}
