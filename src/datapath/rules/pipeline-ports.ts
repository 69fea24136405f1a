/*
 * The rule pipeline's side of the datapath's ports (rule-pipeline.ts): the
 * port table by OpenFlow number, kept in step with the datapath, and
 * packet-out (a control plane's frame run through compiled actions as if
 * received on a port).
 *
 * Invariants
 * - After sync(), table[n] is the datapath's port numbered n (n below
 *   PORT_TABLE_SIZE) or null; a port added or removed since the last sync
 *   bumps the tables' generation (cached programs name ports by number).
 * - packetOut is the slow path: one pool slot per call, given back before it
 *   returns; no free slot counts NoSlotDrops.
 */

import { type ActionExecutor, PipelineStat } from './actions-exec.js';
import type { Datapath, DpPort } from '../datapath.js';
import { ParsedBatch, parseFrame } from '../parse/parse.js';
import type { PipelineTables } from './pipeline-tables.js';
import { PORT_LOCAL, PORT_MAX } from './rule.js';

/** Ports with numbers below this are found by array index; others through the datapath's map. */
export const PORT_TABLE_SIZE = 1024;

export class PipelinePorts {
  /** Ports by number below PORT_TABLE_SIZE (null: none); valid after sync(). */
  readonly table: (DpPort | null)[] = new Array<DpPort | null>(PORT_TABLE_SIZE).fill(null);
  private portsSeen = -1;
  private portsGen = -1;
  private readonly poParsed = new ParsedBatch(1);

  /** poExec: the executor packet-outs run on (its host is the pipeline); stats: PipelineStat counters. */
  constructor(private readonly dp: Datapath, private readonly tables: PipelineTables, private readonly poExec: ActionExecutor, private readonly stats: Float64Array) {}

  /** Keeps the port table in step with the datapath (port added or removed, generation moved). */
  sync(): void {
    const gen = this.tables.generation;
    if (this.portsSeen === this.dp.portList.length && this.portsGen === gen) return;
    this.table.fill(null);
    for (const p of this.dp.portList) if (p.ofPort < PORT_TABLE_SIZE) this.table[p.ofPort] = p;
    if (this.portsSeen !== this.dp.portList.length && this.portsSeen >= 0) this.tables.bumpGeneration();
    this.portsSeen = this.dp.portList.length;
    this.portsGen = this.tables.generation;
  }

  portByNo(no: number): DpPort | null {
    if (no < PORT_TABLE_SIZE) return this.table[no];
    return this.dp.port(no) ?? null;
  }

  /**
   * Packet-out: the ops `code` (compiled actions) run on `data` as received
   * on `inPortNo` (a port, the local port, or a reserved number above PORT_MAX). Slow path.
   * Returns false when no slot was free.
   */
  packetOut(data: Uint8Array, inPortNo: number, code: Int32Array, now: number): boolean {
    this.sync();
    const dp = this.dp, pool = dp.pool;
    const slot = pool.alloc();
    if (slot < 0) {
      this.stats[PipelineStat.NoSlotDrops] += 1;
      return false;
    }
    pool.write(slot, data);
    pool.inPort[slot] = inPortNo >>> 0;
    dp.frozen[slot] = 0;
    const p = this.poParsed;
    parseFrame(pool.bytes, pool.dataOff[slot], pool.len[slot], inPortNo >>> 0, p, 0);
    const ex = this.poExec;
    ex.begin(inPortNo <= PORT_MAX || inPortNo === PORT_LOCAL ? this.portByNo(inPortNo) : null, inPortNo >>> 0, slot, p.keys, 0, p.l3[0], p.l4[0], now);
    ex.tableId = 0xff;
    ex.run(code, 0, code.length);
    dp.finishRound();
    pool.release(slot);
    return true;
  }
}
