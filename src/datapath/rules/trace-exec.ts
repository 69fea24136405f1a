/*
 * The trace's op interpreter and table walk (see trace.ts): ActionExecutor
 * and RulePipeline.walk, step for step, on the trace's own pool slots, with
 * outputs and punts recorded as events instead of queued or handed on, and
 * groups, meters and the MAC table only read (trace-peek.ts).
 *
 * Invariants
 * - Mirrors actions-exec.ts (run, group buckets, outputs through
 *   Datapath.output's checks) and rule-pipeline.ts (walk, the action set):
 *   a change there is mirrored here (test/unit/trace.test.ts compares both
 *   on the same frames).
 * - Writes only its own fields, its own pool and its event list.
 */

import type { Datapath, DpPort } from '../datapath.js';
import { ETH_TYPE_IPV4, ETH_TYPE_IPV6, ETH_TYPE_PBB, ETH_TYPE_VLAN, FRAG_ANY, K, KEY_WORDS, VLAN_PRESENT } from '../../flow/key.js';
import { copyTtlIn, copyTtlOut, decMplsTtl, popMpls, popVlan, pushMpls, pushVlan, setMplsTtl, TAG_BAD_TTL, TAG_NO_COPY, TAG_NO_ROOM, TAG_OK } from './frame-tags.js';
import type { FlowEntry } from './flow-table.js';
import { GroupKind } from './groups.js';
import { popPbb, pushPbb } from './pbb-tags.js';
import { hashFinish, hashMix } from './classifier.js';
import { MAX_GROUP_DEPTH } from './actions-exec.js';
import { meterVerdict, normalVerdict, quietLookup } from './trace-peek.js';
import { cookieFromWords, Op, OP_LEN, SetSlot } from './ops.js';
import { PacketPool, STANDARD_FRAME_CAPACITY } from '../../packet/pool.js';
import { ParsedBatch, parseFrame } from '../parse/parse.js';
import { patchKey } from './key-patch.js';
import { PuntReason } from './punt.js';
import { PORT_LOCAL, PORT_MAX } from './rule.js';
import type { RulePipeline } from './rule-pipeline.js';
import type { TraceDropReason, TraceEvent, TraceStage } from './trace-events.js';
import { FrameCursor } from './frame-cursor.js';
import { ipTtl, remarkDscp, setIpTtl } from './ip-ttl-tos.js';
import { execSetField, setFieldReparses } from './set-field.js';
import { VNET_HDR_LEN } from '../../packet/vnet.js';

/** Scratch slots: the frame, copies for group buckets (copy-on-write), one per output. */
const SCRATCH_SLOTS = 64;
const STATE_WORDS = 9;

/** Interprets ops on the trace's own copy of the frame (see the module comment). */
export class TraceExecutor extends FrameCursor {
  modified = 0;
  tableId = 0;
  outputs = 0;
  drops = 0;
  readonly events: TraceEvent[] = [];
  /** The frame's flow key as parsed on arrival (row 0). */
  readonly key: Uint32Array;
  readonly parseFlags: number;
  private readonly frozen = new Uint8Array(SCRATCH_SLOTS);
  private readonly parsed = new ParsedBatch(1);
  private readonly scratch = new ParsedBatch(1);
  private readonly stack = new Int32Array(MAX_GROUP_DEPTH * STATE_WORDS);
  private depth = 0;

  constructor(
    private readonly dp: Datapath,
    private readonly rules: RulePipeline,
    private readonly inPort: DpPort,
    frame: Uint8Array,
    private readonly now: number,
  ) {
    super(new PacketPool({ slots: SCRATCH_SLOTS, frameCapacity: Math.max(STANDARD_FRAME_CAPACITY, frame.length) }));
    const slot = this.pool.alloc();
    this.pool.write(slot, frame);
    this.pool.inPort[slot] = inPort.ofPort;
    this.cur = slot;
    const p = this.parsed;
    this.parseFlags = parseFrame(this.pool.bytes, this.pool.dataOff[slot], frame.length, inPort.ofPort, p, 0);
    this.key = p.keys;
    this.l3 = p.l3[0];
    this.l4 = p.l4[0];
    this.ethType = this.key[K.EthTypeVlan] >>> 16;
    this.proto = this.key[K.IpProtoTosTtlFrag] >>> 24;
  }

  drop(indent: number, reason: TraceDropReason, detail: string): false {
    this.events.push({ kind: 'drop', indent, reason, detail });
    this.drops++;
    return false;
  }

  writable(): boolean {
    if (this.frozen[this.cur] !== 0) {
      const pool = this.pool;
      const copy = pool.alloc();
      if (copy < 0) return false;
      const from = pool.dataOff[this.cur];
      const len = pool.len[this.cur];
      pool.bytes.copyWithin(pool.dataOff[copy] - VNET_HDR_LEN, from - VNET_HDR_LEN, from + len);
      pool.len[copy] = len;
      pool.inPort[copy] = pool.inPort[this.cur];
      this.cur = copy;
    }
    this.modified = 1;
    return true;
  }

  private reparse(): Uint32Array {
    return this.reparseInto(this.scratch, this.inPort.ofPort);
  }

  /* ---------------------------------------------------------- the walk */

  /** RulePipeline.walk, recorded. */
  walk(): void {
    const rules = this.rules;
    const key = this.key;
    if (rules.fragDrop) {
      const t = key[K.EthTypeVlan] >>> 16;
      if ((t === ETH_TYPE_IPV4 || t === ETH_TYPE_IPV6) && (key[K.IpProtoTosTtlFrag] & FRAG_ANY) !== 0) {
        this.drop(0, 'fragment', 'IP fragments are dropped (fragment handling "drop")');
        return;
      }
    }
    this.stateFromKey(key, 0);
    const work = key.slice(0, KEY_WORDS);
    let cacheable = this.parseFlags === 0 && rules.emc.insertProbabilityInverse !== 0;
    const set: Array<{ e: FlowEntry; pc: number } | null> = new Array<{ e: FlowEntry; pc: number } | null>(SetSlot.COUNT).fill(null);
    const tables = rules.tables.tables;
    for (let t = 0, visited = 0; visited <= tables.length; visited++) {
      const e = quietLookup(tables[t], work);
      this.tableId = t;
      this.events.push({ kind: 'table', indent: 0, table: t, entry: e });
      if (e === null) {
        this.drop(1, 'table-miss', `no rule in table ${t} matches and it has no table-miss rule`);
        return;
      }
      const p = e.actions;
      let reparse = false;
      if (p.meterSlot >= 0) {
        const m = rules.meters.bySlot[p.meterSlot];
        if (m !== null && m !== undefined) {
          const v = meterVerdict(m, this.pool.len[this.cur], this.now);
          this.events.push({ kind: 'meter', indent: 1, meterId: m.id, verdict: v });
          if (v.kind === 'drop') {
            this.drop(2, 'meter', `meter ${m.id} is over its band ${v.band} rate now`);
            return;
          }
          if (v.kind === 'remark') {
            if (!remarkDscp(this, v.precLevel)) {
              this.drop(2, 'no-slot', 'no scratch slot for a copy');
              return;
            }
          }
          if (m.hasRemark) reparse = true;
        }
      }
      if (p.applyEnd > 0 && !this.run(p.code, 0, p.applyEnd, 'apply', 1)) return;
      if (p.clearActions) {
        set.fill(null);
        this.events.push({ kind: 'clear-actions', indent: 1 });
      }
      for (let i = 0; i < p.writeSlots.length; i++) set[p.writeSlots[i]] = { e, pc: p.writePcs[i] };
      if (p.writesMetadata) {
        this.writeMetadata(p.metaHi, p.metaLo, p.metaMaskHi, p.metaMaskLo);
        this.events.push({
          kind: 'write-metadata', indent: 1, value: cookieFromWords(p.metaHi, p.metaLo), mask: cookieFromWords(p.metaMaskHi, p.metaMaskLo),
          metadata: cookieFromWords(this.metaHi, this.metaLo),
        });
      }
      if (p.gotoTable < 0) {
        this.runActionSet(set);
        return;
      }
      this.events.push({ kind: 'goto', indent: 1, table: p.gotoTable });
      if (p.applyEdits && !reparse) reparse = !cacheable || !patchKey(p.code, 0, p.applyEnd, work, 0);
      if (reparse) {
        work.set(this.reparse());
        cacheable = false;
      }
      this.keyTakesState(work);
      t = p.gotoTable;
    }
  }

  /** The action set in SetSlot order; a group takes precedence over the output. */
  private runActionSet(set: Array<{ e: FlowEntry; pc: number } | null>): void {
    const hasGroup = set[SetSlot.Group] !== null;
    const n = set.filter((s, i) => s !== null && !(i === SetSlot.Output && hasGroup)).length;
    this.events.push({ kind: 'action-set', indent: 0, size: n });
    for (let s = 0; s < SetSlot.COUNT; s++) {
      const w = set[s];
      if (w === null || (s === SetSlot.Output && hasGroup)) continue;
      const code = w.e.actions.code;
      if (!this.run(code, w.pc, w.pc + OP_LEN[code[w.pc]], 'action-set', 1)) return;
    }
  }

  /* ------------------------------------------------------------- ops */

  /** ActionExecutor.run, recorded. False when the frame was stopped. */
  private run(code: Int32Array, pc: number, end: number, stage: TraceStage, indent: number): boolean {
    const rules = this.rules;
    while (pc < end) {
      const op = code[pc];
      if (op === Op.End) return true;
      const len = OP_LEN[op];
      const args = Array.from(code.subarray(pc + 1, pc + len));
      const groupSlot = op === Op.Group ? code[pc + 1] : -1;
      const meterSlot = op === Op.Meter ? code[pc + 1] : -1;
      this.events.push({
        kind: 'op', indent, stage, op, args,
        groupId: groupSlot >= 0 ? (rules.groups.bySlot[groupSlot]?.id ?? -1) : -1,
        meterId: meterSlot >= 0 ? (rules.meters.bySlot[meterSlot]?.id ?? -1) : -1,
      });
      const sub = indent + 1;
      switch (op) {
        case Op.Output: {
          const no = code[pc + 1] >>> 0;
          const p = no <= PORT_MAX ? this.dp.port(no) : undefined;
          if (p === undefined) this.drop(sub, 'no-such-port', `there is no port ${no}`);
          else if (p === this.inPort) this.drop(sub, 'in-port', `port ${no} is the in port (only output:IN_PORT sends a frame back)`);
          else this.deliver(p, sub);
          break;
        }
        case Op.InPort:
          this.deliver(this.inPort, sub);
          break;
        case Op.All:
        case Op.Flood:
          this.flood(sub);
          break;
        case Op.Normal:
          this.normal(sub);
          break;
        case Op.Local: {
          const p = this.dp.port(PORT_LOCAL);
          if (p === undefined) this.drop(sub, 'no-local-port', 'the switch has no local port (--local-port)');
          else if (p === this.inPort) this.drop(sub, 'in-port', 'the local port is the in port (only output:IN_PORT sends a frame back)');
          else this.deliver(p, sub);
          break;
        }
        case Op.Table:
          this.drop(sub, 'no-output', 'output:TABLE is for packet-outs only');
          break;
        case Op.Controller:
          this.punt(code[pc + 2], code[pc + 1], code[pc + 3] < 0 ? this.tableId : code[pc + 3], code[pc + 4], code[pc + 5], sub);
          break;
        case Op.Group:
          if (!this.group(code[pc + 1], sub)) return false;
          break;
        case Op.SetField:
          if (!execSetField(this, code[pc + 1], code[pc + 2], code[pc + 3], code[pc + 4], code[pc + 5])) return this.drop(sub, 'no-slot', 'no scratch slot for a copy');
          if (setFieldReparses(code[pc + 1])) this.reparse();
          break;
        case Op.PushVlan:
          if (!this.tagResult(pushVlan(this, code[pc + 1]), sub)) return false;
          break;
        case Op.PopVlan:
          if (!this.tagResult(popVlan(this), sub)) return false;
          break;
        case Op.PushMpls:
          if (!this.tagResult(pushMpls(this, code[pc + 1]), sub)) return false;
          break;
        case Op.PopMpls: {
          const was = this.ethType;
          if (!this.tagResult(popMpls(this, code[pc + 1]), sub)) return false;
          if (was !== this.ethType) this.reparse();
          break;
        }
        case Op.SetNwTtl:
          if (!setIpTtl(this, code[pc + 1])) return this.drop(sub, 'no-slot', 'no scratch slot for a copy');
          break;
        case Op.DecNwTtl: {
          const ttl = ipTtl(this);
          if (ttl >= 0) {
            if (ttl <= 1) return this.invalidTtl(sub);
            if (!setIpTtl(this, ttl - 1)) return this.drop(sub, 'no-slot', 'no scratch slot for a copy');
          }
          break;
        }
        case Op.SetMplsTtl:
          if (!this.tagResult(setMplsTtl(this, code[pc + 1]), sub)) return false;
          break;
        case Op.DecMplsTtl:
          if (!this.tagResult(decMplsTtl(this), sub)) return false;
          break;
        case Op.CopyTtlOut:
          if (!this.tagResult(copyTtlOut(this), sub)) return false;
          break;
        case Op.CopyTtlIn:
          if (!this.tagResult(copyTtlIn(this), sub)) return false;
          break;
        case Op.WriteMetadata:
          this.writeMetadata(code[pc + 1], code[pc + 2], code[pc + 3], code[pc + 4]);
          break;
        case Op.Meter: {
          const m = rules.meters.bySlot[code[pc + 1]];
          if (m !== null && m !== undefined) {
            const v = meterVerdict(m, this.pool.len[this.cur], this.now);
            this.events.push({ kind: 'meter', indent: sub, meterId: m.id, verdict: v });
            if (v.kind === 'drop') return this.drop(sub + 1, 'meter', `meter ${m.id} is over its band ${v.band} rate now`);
            if (v.kind === 'remark' && !remarkDscp(this, v.precLevel)) return this.drop(sub, 'no-slot', 'no scratch slot for a copy');
          }
          break;
        }
        case Op.MissDrop:
          return this.drop(sub, 'table-miss', `no rule in table ${code[pc + 1]} matches and it has no table-miss rule`);
        case Op.PushPbb:
          if (!this.tagResult(pushPbb(this), sub)) return false;
          break;
        case Op.PopPbb: {
          const was = this.ethType;
          if (!this.tagResult(popPbb(this), sub)) return false;
          if (was === ETH_TYPE_PBB) this.reparse();
          break;
        }
        default:
          break; // SetQueue (recorded only), CountTable, CountFlow: no effect on where the frame goes
      }
      pc += len;
    }
    return true;
  }

  private tagResult(r: number, indent: number): boolean {
    if (r === TAG_OK) return true;
    if (r === TAG_NO_ROOM) {
      this.events.push({ kind: 'note', indent, text: 'no headroom left for the tag: it is not pushed (the frame goes on)' });
      return true;
    }
    if (r === TAG_NO_COPY) return this.drop(indent, 'no-slot', 'no scratch slot for a copy');
    if (r === TAG_BAD_TTL) return this.invalidTtl(indent);
    return true;
  }

  private invalidTtl(indent: number): false {
    this.punt(PuntReason.InvalidTtl, this.rules.missSendLen, this.tableId, -1, -1, indent);
    return this.drop(indent, 'invalid-ttl', 'the TTL would expire (the frame goes to the control plane as "invalid TTL", if it wants it)');
  }

  /** Datapath.output's checks, then the output recorded with the bytes as they would leave. */
  private deliver(p: DpPort, indent: number, retag = 0): void {
    const pool = this.pool, len = pool.len[this.cur] + (retag > 0 ? 4 : retag < 0 ? -4 : 0);
    if (!p.forwarding || !p.txEnabled) {
      this.drop(indent, 'port-down', `port ${p.ofPort} (${p.port.name}) does not forward (port down, no_fwd or link down)`);
      return;
    }
    if (len > p.port.maxFrame) {
      this.drop(indent, 'mtu', `a ${len}-byte frame is longer than port ${p.ofPort} (${p.port.name}) takes (${p.port.maxFrame})`);
      return;
    }
    const frame = retagged(pool.copyOut(this.cur), retag);
    const parsed = new ParsedBatch(1);
    parseFrame(frame, 0, frame.length, p.ofPort, parsed, 0);
    this.events.push({ kind: 'output', indent, port: p.ofPort, name: p.port.name, frame, key: parsed.keys });
    this.frozen[this.cur] = 1;
    this.outputs++;
  }

  private flood(indent: number, vlan = -1, tagged = false): void {
    for (const p of this.dp.portList) if (p !== this.inPort) this.deliverOnVlan(p, indent, vlan, tagged);
  }

  /** A learning-switch output on VLAN `vlan` (-1: an OpenFlow flood, no VLAN rules): skipped off the VLAN, retagged as the port wants. */
  private deliverOnVlan(p: DpPort, indent: number, vlan: number, tagged: boolean): void {
    if (vlan < 0) {
      this.deliver(p, indent);
      return;
    }
    const form = this.rules.normal.egressOf(p, vlan, tagged);
    if (form === 'skip') return;
    if (form === 'as-is') {
      this.deliver(p, indent);
      return;
    }
    this.events.push({ kind: 'note', indent, text: form === 'pop' ? `port ${p.ofPort} takes VLAN ${vlan} untagged: the tag is popped` : `port ${p.ofPort} takes VLAN ${vlan} tagged: a tag is pushed` });
    this.deliver(p, indent, form === 'pop' ? -1 : vlan);
  }

  /** NORMAL (and the standalone switch): the learning switch's decision, looked up without learning. */
  normal(indent: number): void {
    const key = this.modified !== 0 ? this.reparse() : this.key;
    const v = normalVerdict(this.rules.normal, this.inPort, key, 0, this.now);
    this.events.push({ kind: 'normal', indent, verdict: v });
    const tagged = (key[K.EthTypeVlan] & VLAN_PRESENT) !== 0;
    if (v.decision === 'flood') this.flood(indent + 1, v.vlan, tagged);
    else if (v.why === 'vlan-refused') this.drop(indent + 1, 'vlan', `port ${this.inPort.ofPort} does not carry this frame's VLAN (${v.vlan})`);
    else if (v.decision === 'drop') this.drop(indent + 1, 'dst-is-in-port', `the destination MAC was learned on the in port (${this.inPort.ofPort})`);
    else {
      const out = this.dp.port(v.port);
      if (out === undefined || this.rules.normal.egressOf(out, v.vlan, tagged) === 'skip') this.flood(indent + 1, v.vlan, tagged);
      else this.deliverOnVlan(out, indent + 1, v.vlan, tagged);
    }
  }

  private punt(reason: number, maxLen: number, tableId: number, cookieHi: number, cookieLo: number, indent: number): void {
    const rules = this.rules, meters = rules.meters;
    const len = this.pool.len[this.cur];
    let heldBack: string | null = null;
    if (rules.onPunt === null) heldBack = 'no controller connection would get it';
    else if (rules.puntDisabled.has(this.inPort.ofPort)) heldBack = `port ${this.inPort.ofPort} has no_packet_in`;
    else {
      const ids = [rules.puntMeters.all, reason === PuntReason.InvalidTtl ? rules.puntMeters.slowPath : 0];
      for (const id of ids) {
        const m = id === 0 ? undefined : meters.get(id);
        if (m !== undefined && meterVerdict(m, len, this.now).kind === 'drop') heldBack = `the punt meter ${id >>> 0} is over its rate now`;
      }
    }
    this.events.push({
      kind: 'punt', indent, reason, table: tableId & 0xff, cookie: cookieFromWords(cookieHi, cookieLo), bytes: maxLen >= len ? len : maxLen, heldBack,
    });
    this.outputs++;
  }

  /** The group action: its buckets on copies of the frame. False only when a copy could not be made. */
  private group(slot: number, indent: number): boolean {
    const g = this.rules.groups.bySlot[slot];
    if (g === null || g === undefined) return true;
    const n = g.code.length;
    switch (g.kind) {
      case GroupKind.All:
        for (let b = 0; b < n; b++) this.bucket(g.id, g.code[b], b, n, indent);
        return true;
      case GroupKind.Select: {
        const b = this.rules.groups.chooseSelect(g, this.flowHash());
        if (b >= 0) this.bucket(g.id, g.code[b], b, n, indent);
        else this.drop(indent, 'no-live-bucket', `select group ${g.id} has no live bucket with weight`);
        return true;
      }
      case GroupKind.Indirect:
        if (n > 0) this.bucket(g.id, g.code[0], 0, n, indent);
        return true;
      default: {
        const b = g.ffBucket;
        if (b >= 0) this.bucket(g.id, g.code[b], b, n, indent);
        else this.drop(indent, 'no-live-bucket', `fast-failover group ${g.id} has no live bucket`);
        return true;
      }
    }
  }

  private bucket(groupId: number, code: Int32Array, b: number, of: number, indent: number): void {
    this.events.push({ kind: 'bucket', indent, groupId, bucket: b, of });
    if (this.depth >= MAX_GROUP_DEPTH) {
      this.drop(indent + 1, 'group-too-deep', `groups chained deeper than ${MAX_GROUP_DEPTH}`);
      return;
    }
    this.frozen[this.cur] = 1;
    const s = this.stack, o = this.depth * STATE_WORDS;
    s.set([this.cur, this.l3, this.l4, this.ethType, this.proto, this.metaHi, this.metaLo, this.tunHi, this.tunLo], o);
    this.depth++;
    this.run(code, 0, code.length, 'bucket', indent + 1);
    this.depth--;
    [this.cur, this.l3, this.l4, this.ethType, this.proto, this.metaHi, this.metaLo, this.tunHi, this.tunLo] = Array.from(s.subarray(o, o + STATE_WORDS));
  }

  /** ActionExecutor.flowHash: the select-group hash of the original key. */
  private flowHash(): number {
    let h = 0x5bd1e995;
    for (let w = 0; w < KEY_WORDS; w++) h = hashMix(h, this.key[w]);
    return hashFinish(h, KEY_WORDS);
  }
}

/** The frame with its outer tag popped (retag < 0), a tag of VID `retag` pushed (> 0), or as it is (0). */
function retagged(frame: Uint8Array, retag: number): Uint8Array {
  if (retag === 0) return frame;
  if (retag < 0) {
    const out = new Uint8Array(frame.length - 4);
    out.set(frame.subarray(0, 12), 0);
    out.set(frame.subarray(16), 12);
    return out;
  }
  const out = new Uint8Array(frame.length + 4);
  out.set(frame.subarray(0, 12), 0);
  out[12] = ETH_TYPE_VLAN >>> 8;
  out[13] = ETH_TYPE_VLAN & 0xff;
  out[14] = (retag >>> 8) & 0x0f;
  out[15] = retag & 0xff;
  out.set(frame.subarray(12), 16);
  return out;
}
