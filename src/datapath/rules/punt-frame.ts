/*
 * A frame punted to the control plane (the ExecHost.punt of the rule
 * pipeline): refused when no sink listens or the in port has punts
 * disabled, limited by the punt meters, else cut to the op's byte count and
 * handed to the sink with its in port, metadata and tunnel id (punt.ts).
 *
 * Invariants
 * - Slow path: allocates the Punt and its bytes; counts PacketIns,
 *   PacketInBlocked or PacketInMetered exactly once per call.
 */

import { type ActionExecutor, PipelineStat } from './actions-exec.js';
import type { Datapath } from '../datapath.js';
import { METER_DROP, type MeterTable } from './meters.js';
import { cookieFromWords } from './ops.js';
import { PuntReason, type Punt, type PuntMeters } from './punt.js';

/** The pipeline state a punt reads (RulePipeline). */
export interface PuntHost {
  readonly onPunt: ((p: Punt) => void) | null;
  readonly puntDisabled: ReadonlySet<number>;
  readonly puntMeters: PuntMeters;
  readonly stats: Float64Array;
  readonly dp: Datapath;
  readonly meters: MeterTable;
}

/** Punts the executor's current frame (see the module comment). */
export function puntFrame(host: PuntHost, ex: ActionExecutor, reason: number, maxLen: number, tableId: number, cookieHi: number, cookieLo: number): void {
  const sink = host.onPunt;
  if (sink === null || (ex.inPort !== null && host.puntDisabled.has(ex.inPortNo))) {
    host.stats[PipelineStat.PacketInBlocked] += 1;
    return;
  }
  const pool = host.dp.pool;
  const len = pool.len[ex.cur];
  const meters = host.meters;
  const all = host.puntMeters.all === 0 ? -1 : meters.slotOf(host.puntMeters.all);
  const slow = reason === PuntReason.InvalidTtl && host.puntMeters.slowPath !== 0 ? meters.slotOf(host.puntMeters.slowPath) : -1;
  if ((all >= 0 && meters.run(all, len, ex.now) === METER_DROP) || (slow >= 0 && meters.run(slow, len, ex.now) === METER_DROP)) {
    host.stats[PipelineStat.PacketInMetered] += 1;
    return;
  }
  const n = maxLen >= len ? len : maxLen;
  const off = pool.dataOff[ex.cur];
  host.stats[PipelineStat.PacketIns] += 1;
  sink({
    reason,
    tableId: tableId & 0xff,
    cookie: cookieFromWords(cookieHi, cookieLo),
    inPort: ex.inPortNo,
    metadata: cookieFromWords(ex.metaHi, ex.metaLo),
    tunnelId: cookieFromWords(ex.tunHi, ex.tunLo),
    totalLen: len,
    data: pool.bytes.slice(off, off + n),
  });
}
