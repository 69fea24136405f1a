/*
 * In-process benchmark (our Snabb basic1): 64-byte UDP frames from a
 * generator MemoryPort through parse + MAC learning + forwarding to a sink
 * MemoryPort, burst 32, one core, no syscalls. Measures frames/s (median of
 * several runs) and the heap before and after a long run.
 */

import { Datapath } from '../src/datapath/datapath.js';
import { NormalSwitch } from '../src/datapath/learning/normal.js';
import { PacketPool } from '../src/packet/pool.js';
import { MemoryPort } from '../src/ports/memory-port.js';
import { udpTemplate } from './frames.js';

export interface InProcessResult {
  mppsRuns: number[];
  mppsMedian: number;
  heapBeforeMB: number;
  heapAfterMB: number;
  heapFrames: number;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The learning-switch bench topology: a generator port (64 sources) and a
 * sink whose MAC is learned, over `DP` (the real Datapath, or a variant the
 * counters bench compiles). pump(n) pushes n frames through, burst by burst.
 */
export function buildLearningBench(DP: typeof Datapath, burst: number) {
  const dp = new DP({ pool: new PacketPool({ slots: 1024 }), burst });
  dp.pipeline = new NormalSwitch();
  const src = new MemoryPort({ name: 'gen', ofPort: 1, capture: false });
  const sink = new MemoryPort({ name: 'sink', ofPort: 2, capture: false });
  dp.addPort(src);
  dp.addPort(sink);
  const sinkMac = 0x020000000002;
  // 64 sources talking to one known destination: every frame is learned (refreshed) and forwarded.
  src.setGenerator(Array.from({ length: 64 }, (_, i) => udpTemplate(sinkMac, 0x020000001000 + i, 64)));
  sink.setGenerator([udpTemplate(0x020000001000, sinkMac, 64)]);
  sink.offer(1);
  dp.pollPort(dp.port(2)!); // the sink's MAC is learned on port 2
  const srcPort = dp.port(1)!;
  const pump = (frames: number) => {
    for (let sent = 0; sent < frames; sent += burst) {
      src.offer(burst);
      dp.pollPort(srcPort);
    }
  };
  return { dp, pump, sink };
}

export function runInProcess(opts: { runs?: number; framesPerRun?: number; heapFrames?: number; burst?: number } = {}): InProcessResult {
  const burst = opts.burst ?? 32;
  const runs = opts.runs ?? 5;
  const framesPerRun = opts.framesPerRun ?? 5_000_000;
  const heapFrames = opts.heapFrames ?? 100_000_000;
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  const { pump, sink } = buildLearningBench(Datapath, burst);
  pump(1_000_000); // warm up: let the JIT settle
  const mppsRuns: number[] = [];
  for (let r = 0; r < runs; r++) {
    const before = sink.txFrames;
    const t0 = process.hrtime.bigint();
    pump(framesPerRun);
    const ns = Number(process.hrtime.bigint() - t0);
    mppsRuns.push(((sink.txFrames - before) / ns) * 1e3);
  }
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  pump(heapFrames);
  gc();
  const heapAfter = process.memoryUsage().heapUsed;
  return {
    mppsRuns,
    mppsMedian: median(mppsRuns),
    heapBeforeMB: heapBefore / 1048576,
    heapAfterMB: heapAfter / 1048576,
    heapFrames,
  };
}
