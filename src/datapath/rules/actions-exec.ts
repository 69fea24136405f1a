/*
 * ActionExecutor: runs compiled op streams (ops.ts) on one frame at a
 * time: outputs, set-field, tags, TTLs, groups, meters, punts, counters.
 *
 * What
 *   begin(...)            a new frame: its slot, in port, original key row,
 *                         L3/L4 offsets; pipeline fields from the key
 *   run(code, pc, end)    runs ops [pc, end); false when the frame stopped
 *                         (meter drop, invalid TTL, table miss, no slot for a
 *                         copy); `outputs` counts where it went
 *
 * Design
 *   - The frame state (a FrameCursor: slot, l3, l4, eth type, ip proto,
 *     metadata, tunnel id; frame-cursor.ts) lives in plain fields; edits go
 *     through set-field.ts, ip-ttl-tos.ts and frame-tags.ts. Before any
 *     edit, writable() makes a copy if the slot is frozen (already queued
 *     for tx, or shared with a group bucket), so an output sends the bytes
 *     as they were when it ran.
 *   - Group buckets run on the same executor: the frame state is saved on an
 *     Int32Array stack, the original slot frozen, the bucket run, the state
 *     restored (a bucket edits a copy, never the frame the caller goes on
 *     with). Chains deeper than MAX_GROUP_DEPTH are cut (counted).
 *   - Where the pipeline is involved (punt, output:TABLE, port lookup)
 *     the executor calls its ExecHost.
 *   - set-queue is recorded (`queue`) but queues map to nothing yet: there
 *     are no port queues in this switch.
 *
 * Invariants
 * - run() allocates nothing and never throws; a punt (ExecHost) is the
 *   slow path and may allocate.
 * - Offsets l3/l4 always describe the current slot's bytes (push/pop move
 *   them; pop MPLS and pop PBB re-parse).
 */

import { PortStat } from '../port-counters.js';
import { hashFinish, hashMix } from './classifier.js';
import type { Datapath, DpPort } from '../datapath.js';
import { ETH_TYPE_PBB, K, KEY_WORDS } from '../../flow/key.js';
import { TableCounter, type FlowTable } from './flow-table.js';
import { copyTtlIn, copyTtlOut, decMplsTtl, popMpls, popVlan, pushMpls, pushVlan, setMplsTtl, TAG_BAD_TTL, TAG_NO_COPY, TAG_NO_ROOM, TAG_OK } from './frame-tags.js';
import { GroupKind, type GroupTable } from './groups.js';
import { popPbb, pushPbb } from './pbb-tags.js';
import { METER_DROP, METER_PASS, type MeterTable } from './meters.js';
import type { NormalSwitch } from '../learning/normal.js';
import { Op } from './ops.js';
import { PuntReason } from './punt.js';
import { PORT_LOCAL } from './rule.js';
import { ParsedBatch } from '../parse/parse.js';
import { FrameCursor } from './frame-cursor.js';
import { ipTtl, remarkDscp, setIpTtl } from './ip-ttl-tos.js';
import { execSetField, setFieldReparses } from './set-field.js';

/** Chained groups deeper than this are not followed. */
export const MAX_GROUP_DEPTH = 16;
const STATE_WORDS = 10;

/** Pipeline counters (indexes into RulePipeline.stats); drop reasons never overlap. */
export const enum PipelineStat {
  /** EMC misses that walked the tables. */
  Walks = 0,
  /** Resolved path programs built (new paths). */
  ProgramsBuilt = 1,
  /** Walks whose result could not be cached (re-parse needed, malformed frame...). */
  Uncacheable = 2,
  TableMissDrops = 3,
  MeterDrops = 4,
  InvalidTtlDrops = 5,
  /** No free slot for a copy-on-write copy. */
  NoSlotDrops = 6,
  /** A push found no headroom left. */
  NoHeadroom = 7,
  /** Output to the local port when the switch has none (no --local-port). */
  LocalDrops = 8,
  /** Output to a port number that does not exist (any more). */
  NoSuchPort = 9,
  PacketIns = 10,
  /** Punts cut by the punt meters (PuntMeters). */
  PacketInMetered = 11,
  /** Punts not sent: punting disabled on the in port, or no punt sink. */
  PacketInBlocked = 12,
  GroupTooDeep = 13,
  /** IP fragments dropped (fragment handling "drop"). */
  FragDrops = 14,
  /** Output to the in port by number (only the InPort op may send a frame back). */
  InPortDrops = 15,
  COUNT = 16,
}

/** What the executor needs from the pipeline. */
export interface ExecHost {
  /** The port with this number, or null. */
  portByNo(no: number): DpPort | null;
  /** Hands the executor's frame to the control plane (slow path); reason is a PuntReason. */
  punt(ex: ActionExecutor, reason: number, maxLen: number, tableId: number, cookieHi: number, cookieLo: number): void;
  /** output:TABLE (packet-out): runs the executor's frame through the tables. */
  resubmit(ex: ActionExecutor): void;
  /** Bytes of a slow-path (invalid TTL) punt. */
  readonly missSendLen: number;
}

export class ActionExecutor extends FrameCursor {
  /** The frame's bytes changed since begin() (NORMAL then re-parses). */
  modified = 0;
  /** Outputs and punts so far. */
  outputs = 0;
  queue = 0;
  /** The table last looked up (a punt's table). */
  tableId = 0;
  /** Frame length when it entered (flow, group and meter byte counts). */
  len0 = 0;
  // Frame context.
  inPort: DpPort | null = null;
  inPortNo = 0;
  keys: Uint32Array;
  base = 0;
  now = 0;
  /** Flow counters a resolved program's CountFlow ops name. */
  flows: Float64Array[] = [];
  private depth = 0;
  private readonly stack = new Int32Array(MAX_GROUP_DEPTH * STATE_WORDS);
  private readonly scratch = new ParsedBatch(1);

  constructor(
    readonly dp: Datapath,
    readonly tables: readonly FlowTable[],
    readonly groups: GroupTable,
    readonly meters: MeterTable,
    readonly normal: NormalSwitch,
    readonly host: ExecHost,
    /** PipelineStat counters (shared with the pipeline). */
    readonly stats: Float64Array,
  ) {
    super(dp.pool);
    this.keys = this.scratch.keys;
  }

  /** Starts a frame: `slot` received on `inPort` (null for a packet-out from the controller), key row keys[base..]. */
  begin(inPort: DpPort | null, inPortNo: number, slot: number, keys: Uint32Array, base: number, l3: number, l4: number, now: number): void {
    this.inPort = inPort;
    this.inPortNo = inPortNo;
    this.cur = slot;
    this.keys = keys;
    this.base = base;
    this.l3 = l3;
    this.l4 = l4;
    this.now = now;
    this.ethType = keys[base + K.EthTypeVlan] >>> 16;
    this.proto = keys[base + K.IpProtoTosTtlFrag] >>> 24;
    this.stateFromKey(keys, base);
    this.modified = 0;
    this.outputs = 0;
    this.queue = 0;
    this.tableId = 0;
    this.depth = 0;
    this.len0 = this.pool.len[slot];
  }

  writable(): boolean {
    const frozen = this.dp.frozen;
    if (frozen[this.cur] !== 0) {
      const copy = this.dp.cloneSlot(this.cur);
      if (copy < 0) return false;
      this.cur = copy;
    }
    this.modified = 1;
    return true;
  }

  /** Re-parses the current frame into the executor's scratch row (after pop MPLS; for NORMAL after edits). */
  reparse(): Uint32Array {
    return this.reparseInto(this.scratch, this.inPortNo);
  }

  /** Runs ops code[pc, end). False when the frame was stopped. */
  run(code: Int32Array, pc: number, end: number): boolean {
    while (pc < end) {
      switch (code[pc]) {
        case Op.Output: {
          const p = this.host.portByNo(code[pc + 1] >>> 0);
          if (p === null) this.stats[PipelineStat.NoSuchPort] += 1;
          else if (p === this.inPort) this.stats[PipelineStat.InPortDrops] += 1;
          else {
            this.dp.output(this.cur, p);
            this.outputs++;
          }
          pc += 3;
          break;
        }
        case Op.InPort:
          if (this.inPort !== null) {
            this.dp.output(this.cur, this.inPort);
            this.outputs++;
          }
          pc += 1;
          break;
        case Op.All:
        case Op.Flood:
          this.flood();
          pc += 1;
          break;
        case Op.Normal:
          this.normalOutput();
          pc += 1;
          break;
        case Op.Local: {
          const p = this.host.portByNo(PORT_LOCAL);
          if (p === null) this.stats[PipelineStat.LocalDrops] += 1;
          else if (p === this.inPort) this.stats[PipelineStat.InPortDrops] += 1;
          else {
            this.dp.output(this.cur, p);
            this.outputs++;
          }
          pc += 1;
          break;
        }
        case Op.Table:
          this.dp.frozen[this.cur] = 1; // the tables work on a copy if they edit
          this.host.resubmit(this);
          this.outputs++;
          pc += 1;
          break;
        case Op.Controller:
          this.host.punt(this, code[pc + 2], code[pc + 1], code[pc + 3] < 0 ? this.tableId : code[pc + 3], code[pc + 4], code[pc + 5]);
          this.outputs++;
          pc += 6;
          break;
        case Op.Group:
          if (!this.group(code[pc + 1])) return false;
          pc += 2;
          break;
        case Op.SetField:
          if (!execSetField(this, code[pc + 1], code[pc + 2], code[pc + 3], code[pc + 4], code[pc + 5])) return this.noSlot();
          if (setFieldReparses(code[pc + 1])) this.reparse();
          pc += 6;
          break;
        case Op.PushVlan:
          if (!this.tagResult(pushVlan(this, code[pc + 1]))) return false;
          pc += 2;
          break;
        case Op.PopVlan:
          if (!this.tagResult(popVlan(this))) return false;
          pc += 1;
          break;
        case Op.PushMpls:
          if (!this.tagResult(pushMpls(this, code[pc + 1]))) return false;
          pc += 2;
          break;
        case Op.PopMpls: {
          const was = this.ethType;
          if (!this.tagResult(popMpls(this, code[pc + 1]))) return false;
          if (was !== this.ethType) this.reparse();
          pc += 2;
          break;
        }
        case Op.SetNwTtl:
          if (!setIpTtl(this, code[pc + 1])) return this.noSlot();
          pc += 2;
          break;
        case Op.DecNwTtl: {
          const ttl = ipTtl(this);
          if (ttl >= 0) {
            if (ttl <= 1) return this.invalidTtl();
            if (!setIpTtl(this, ttl - 1)) return this.noSlot();
          }
          pc += 1;
          break;
        }
        case Op.SetMplsTtl:
          if (!this.tagResult(setMplsTtl(this, code[pc + 1]))) return false;
          pc += 2;
          break;
        case Op.DecMplsTtl:
          if (!this.tagResult(decMplsTtl(this))) return false;
          pc += 1;
          break;
        case Op.CopyTtlOut:
          if (!this.tagResult(copyTtlOut(this))) return false;
          pc += 1;
          break;
        case Op.CopyTtlIn:
          if (!this.tagResult(copyTtlIn(this))) return false;
          pc += 1;
          break;
        case Op.SetQueue:
          this.queue = code[pc + 1];
          pc += 2;
          break;
        case Op.WriteMetadata:
          this.writeMetadata(code[pc + 1], code[pc + 2], code[pc + 3], code[pc + 4]);
          pc += 5;
          break;
        case Op.Meter:
          if (!this.meter(code[pc + 1])) return false;
          pc += 2;
          break;
        case Op.CountTable: {
          const c = this.tables[code[pc + 1]].counters;
          c[TableCounter.Lookups] += 1;
          if (code[pc + 2] !== 0) c[TableCounter.Matched] += 1;
          this.tableId = code[pc + 1];
          pc += 3;
          break;
        }
        case Op.CountFlow: {
          const c = this.flows[code[pc + 1]];
          c[0] += 1;
          c[1] += this.len0;
          c[2] = this.now;
          pc += 2;
          break;
        }
        case Op.MissDrop:
          this.stats[PipelineStat.TableMissDrops] += 1;
          return false;
        case Op.PushPbb:
          if (!this.tagResult(pushPbb(this))) return false;
          pc += 1;
          break;
        case Op.PopPbb: {
          const was = this.ethType;
          if (!this.tagResult(popPbb(this))) return false;
          if (was === ETH_TYPE_PBB) this.reparse();
          pc += 1;
          break;
        }
        default:
          return true; // Op.End
      }
    }
    return true;
  }

  /** One frame through meter `slot`: false when it drops the frame. Remarks DSCP for a remark band. */
  meter(slot: number): boolean {
    const r = this.meters.run(slot, this.pool.len[this.cur], this.now);
    if (r === METER_PASS) return true;
    if (r === METER_DROP) {
      this.stats[PipelineStat.MeterDrops] += 1;
      return false;
    }
    return remarkDscp(this, r) || this.noSlot();
  }

  private noSlot(): boolean {
    this.stats[PipelineStat.NoSlotDrops] += 1;
    return false;
  }

  private tagResult(r: number): boolean {
    if (r === TAG_OK) return true;
    if (r === TAG_NO_ROOM) {
      this.stats[PipelineStat.NoHeadroom] += 1;
      return true;
    }
    if (r === TAG_NO_COPY) return this.noSlot();
    if (r === TAG_BAD_TTL) return this.invalidTtl();
    return true;
  }

  /** TTL would expire: punt with reason InvalidTtl (the control plane filters), then drop. */
  private invalidTtl(): boolean {
    this.stats[PipelineStat.InvalidTtlDrops] += 1;
    this.host.punt(this, PuntReason.InvalidTtl, this.host.missSendLen, this.tableId, -1, -1);
    return false;
  }

  /** All / Flood: every port but the in port (ports with NO_FWD drop in Datapath.output). */
  private flood(): void {
    const list = this.dp.portList;
    const inPort = this.inPort;
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      if (p !== inPort) {
        this.dp.output(this.cur, p);
        this.outputs++;
      }
    }
    if (inPort !== null) inPort.counters.c[PortStat.FwdFlooded] += 1;
  }

  /** Normal: the learning switch decides, on the frame as it is now. */
  private normalOutput(): void {
    const inPort = this.inPort;
    if (inPort === null) {
      this.stats[PipelineStat.NoSuchPort] += 1;
      return;
    }
    if (this.modified !== 0) {
      const k = this.reparse();
      this.normal.forward(this.dp, inPort, this.cur, k, 0, this.now);
    } else {
      this.normal.forward(this.dp, inPort, this.cur, this.keys, this.base, this.now);
    }
    this.outputs++;
  }

  /** The group action. False only when a copy could not be made. */
  private group(slot: number): boolean {
    const g = this.groups.bySlot[slot];
    if (g === null || g === undefined) return true;
    const len = this.pool.len[this.cur];
    g.counters[0] += 1;
    g.counters[1] += len;
    switch (g.kind) {
      case GroupKind.All:
        for (let b = 0; b < g.code.length; b++) this.bucket(g.code[b], g.bucketCounters, b, len);
        return true;
      case GroupKind.Select: {
        const b = this.groups.chooseSelect(g, this.flowHash());
        if (b >= 0) this.bucket(g.code[b], g.bucketCounters, b, len);
        return true;
      }
      case GroupKind.Indirect:
        if (g.code.length > 0) this.bucket(g.code[0], g.bucketCounters, 0, len);
        return true;
      default: {
        const b = g.ffBucket;
        if (b >= 0) this.bucket(g.code[b], g.bucketCounters, b, len);
        return true;
      }
    }
  }

  /** Runs one bucket on the frame; the caller's frame state is kept. */
  private bucket(code: Int32Array, counters: Float64Array, b: number, len: number): void {
    counters[2 * b] += 1;
    counters[2 * b + 1] += len;
    if (this.depth >= MAX_GROUP_DEPTH) {
      this.stats[PipelineStat.GroupTooDeep] += 1;
      return;
    }
    this.dp.frozen[this.cur] = 1;
    const s = this.stack, o = this.depth * STATE_WORDS;
    s[o] = this.cur;
    s[o + 1] = this.l3;
    s[o + 2] = this.l4;
    s[o + 3] = this.ethType;
    s[o + 4] = this.proto;
    s[o + 5] = this.metaHi;
    s[o + 6] = this.metaLo;
    s[o + 7] = this.tunHi;
    s[o + 8] = this.tunLo;
    s[o + 9] = this.queue;
    this.depth++;
    this.run(code, 0, code.length);
    this.depth--;
    this.cur = s[o];
    this.l3 = s[o + 1];
    this.l4 = s[o + 2];
    this.ethType = s[o + 3];
    this.proto = s[o + 4];
    this.metaHi = s[o + 5];
    this.metaLo = s[o + 6];
    this.tunHi = s[o + 7];
    this.tunLo = s[o + 8];
    this.queue = s[o + 9];
  }

  /** Hash of the frame's original flow key (select groups): stable per flow. */
  flowHash(): number {
    const keys = this.keys, base = this.base;
    let h = 0x5bd1e995;
    for (let w = 0; w < KEY_WORDS; w++) h = hashMix(h, keys[base + w]);
    return hashFinish(h, KEY_WORDS);
  }
}

