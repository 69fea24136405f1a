/*
 * Dry-run traces (the datapath half of `linc-ts trace`, after OVS's
 * ofproto/trace): what the datapath would do with one frame arriving on a
 * port, step by step, without doing any of it.
 *
 * What
 *   traceFrame(dp, rules, inPortNo, frame, nowMs) -> DatapathTrace
 *     Whichever pipeline the datapath runs now decides: the rule pipeline
 *     (every table visited with the FlowEntry hit or the miss, meters, each
 *     op run with its stage, group buckets, the action set) or the learning
 *     switch (flood or the learned port). Every step is an event; the trace
 *     ends with where the frame would go: ports (with the bytes as they
 *     would leave), the control plane (punts, and why one would be held
 *     back), or drops with their reason (the events: trace-events.ts).
 *
 * Design
 *   - The frame is copied into a small pool of the trace's own; a
 *     TraceExecutor (trace-exec.ts) interprets ops as ActionExecutor does but records
 *     outputs and punts instead of queueing them, and edits only its own
 *     slots (set-field.ts, ip-ttl-tos.ts and frame-tags.ts work on any FrameCursor).
 *   - Table lookups go through the real classifier, so a trace cannot
 *     disagree with it; the lookup counters that bumps are put back.
 *     Meters and punt meters are judged on a copy of their token state; the
 *     NORMAL decision looks MACs up without learning (normal-verdict.ts).
 *   - The walk mirrors RulePipeline.walk (meter, apply ops, clear/write into
 *     the action set, write-metadata, goto with the key patched or the frame
 *     re-parsed, the action set at the end) and ActionExecutor.run op by op:
 *     a change to either is mirrored here (test/unit/trace.test.ts runs the
 *     same frames through both and compares where they go).
 *
 * Invariants
 * - Nothing outside the trace's own objects changes: no port, table, rule,
 *   group, meter, classifier or pipeline counter, no cache entry or count, no MAC
 *   entry, no tx queue, no slot of the datapath's pool, no token bucket.
 * - Slow path: allocates freely; never throws on any frame.
 */

import type { Datapath } from '../datapath.js';
import { PARSE_TOO_SHORT } from '../parse/parse.js';
import type { RulePipeline } from './rule-pipeline.js';
import type { DatapathTrace } from './trace-events.js';
import { TraceExecutor } from './trace-exec.js';

/** Why traceFrame refused (bad in port, frame too large): one sentence. */
export class TraceError extends Error {
  readonly code = 'LINC_ERR_TRACE';
}

/**
 * Traces `frame` received on port `inPortNo` through the pipeline the
 * datapath runs now (`rules` is the rule pipeline, whether it runs or not).
 * Throws TraceError when there is no such port or the frame cannot be held.
 */
export function traceFrame(dp: Datapath, rules: RulePipeline, inPortNo: number, frame: Uint8Array, nowMs: number): DatapathTrace {
  const inPort = dp.port(inPortNo);
  if (inPort === undefined) throw new TraceError(`no port ${inPortNo} in the datapath`);
  if (frame.length > dp.pool.frameCapacity) throw new TraceError(`a frame of ${frame.length} bytes is larger than a slot (${dp.pool.frameCapacity})`);
  const pipeline = dp.pipeline === rules ? 'rules' : dp.pipeline === rules.normal ? 'normal' : 'none';
  const ex = new TraceExecutor(dp, rules, inPort, frame, nowMs);
  const trace: DatapathTrace = {
    pipeline, inPort: inPortNo, key: ex.key.slice(), parseFlags: ex.parseFlags, frameLength: frame.length, cached: null,
    events: ex.events, outputs: [], drops: [],
  };
  if ((ex.parseFlags & PARSE_TOO_SHORT) !== 0) ex.drop(0, 'too-short', `a frame of ${frame.length} bytes has no Ethernet header`);
  else if (!inPort.forwarding || !inPort.rxEnabled) ex.drop(0, 'rx-disabled', `port ${inPortNo} does not receive (port down or no_recv)`);
  else if (pipeline === 'none') ex.drop(0, 'no-pipeline', 'the datapath has no pipeline');
  else if (pipeline === 'normal') ex.normal(0);
  else {
    // The caches are asked only about clean frames (RulePipeline.processFrame); others always walk.
    trace.cached = !rules.caches.cachesOn ? null : ex.parseFlags !== 0 ? { cache: 'none', program: -1 } : rules.caches.peek(ex.key, 0);
    ex.walk();
  }
  if (ex.outputs === 0 && ex.drops === 0) ex.drop(0, 'no-output', 'the actions send the frame nowhere');
  for (const e of ex.events) {
    if (e.kind === 'output' || e.kind === 'punt') trace.outputs.push(e);
    else if (e.kind === 'drop') trace.drops.push(e);
  }
  return trace;
}
