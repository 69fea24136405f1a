/*
 * OfSwitch: the OpenFlowSwitch (switch-api.ts) over the datapath: its rule
 * tables (PipelineTables), groups, meters, the rule pipeline (RulePipeline)
 * and the standalone learning switch (NormalSwitch). The OpenFlow meaning of
 * flow-mods, group-mods and meter-mods is in flow-mods.ts, group-mods.ts and
 * meter-mods.ts; punts become packet-ins in packet-in.ts.
 *
 * What
 *   - Which pipeline forwards: the OpenFlow tables while a controller is
 *     connected or in fail mode secure; the learning switch in fail mode
 *     standalone with no controller (OVS's fail modes).
 *   - The controller-to-switch requests of the contract: flow-mod, group-mod,
 *     meter-mod, port-mod, table-mod, packet-out, config, multipart, queue
 *     config, each answered synchronously with null or an OfError.
 *   - Events to the sink: packet-in (from the pipeline), flow-removed
 *     (deletes and timeouts of SEND_FLOW_REM entries, and flows removed with
 *     their group or meter), port-status (port added, removed, link or config
 *     changed).
 *   - tick(now): flow timeouts, about once a second (switch.ts calls it).
 *     Port changes arrive from the datapath as they happen: ports added and
 *     removed (onPortAdded/onPortRemoved) and link changes (onLinkChange),
 *     each sent as port-status at once. Flows naming a removed port stay
 *     (OpenFlow semantics); their output to it drops, counted as
 *     PipelineStat.NoSuchPort.
 *
 * Invariants
 * - No method throws on controller input (errors come back as OfError).
 * - A failed request changes nothing.
 * - Every change that can alter forwarding bumps the tables' generation, so
 *   no cached decision survives it: flow-mods and timeouts (the tables do
 *   it), group-mods, meter-mods, port-mods and port changes (here).
 * - Time is performance.now() milliseconds (or the injected clock), the
 *   datapath's time base, so flow idle times and durations agree.
 */

import type { Datapath, DpPort } from '../../datapath/datapath.js';
import { readLink } from '../../datapath/port-table.js';
import { GroupTable } from '../../datapath/rules/groups.js';
import { MeterTable } from '../../datapath/rules/meters.js';
import type { NormalSwitch } from '../../datapath/learning/normal.js';
import { RulePipeline } from '../../datapath/rules/rule-pipeline.js';
import { compileActions, puntLenOf, type CompileContext } from './compile.js';
import type { FlowEntry } from '../../datapath/rules/flow-table.js';
import { N_TABLES, PipelineTables } from '../../datapath/rules/pipeline-tables.js';
import { RuleFlag } from '../../datapath/rules/rule.js';
import {
  OFP_DEFAULT_MISS_SEND_LEN, OFP_NO_BUFFER, OFPBRC, OFPC, OFPC_FRAG, OFPET, OFPFC, OFPGC, OFPM, OFPP, OFPPC, OFPPMFC, OFPPR,
  OFPQ_ALL, OFPQOFC, OFPSCFC, OFPTC_DEPRECATED_MASK, OFPTFFC, OFPTMFC, OFPTT,
} from '../codec/v13/enums.js';
import type { FlowMod } from '../codec/v13/msg/flow-mod.js';
import type { GroupMod } from '../codec/v13/msg/group-mod.js';
import type { MeterMod } from '../codec/v13/msg/meter-mod.js';
import { flowBody } from '../codec/v13/msg/mp-flow.js';
import { groupBody, groupDescBody } from '../codec/v13/msg/mp-group.js';
import { meterBody, meterConfigBody } from '../codec/v13/msg/mp-meter.js';
import type { DescReply } from '../codec/v13/msg/mp-stats.js';
import { tableFeaturesBody } from '../codec/v13/msg/mp-table-features.js';
import type { MultipartReplyBody, MultipartRequestBody } from '../codec/v13/msg/multipart.js';
import type { PacketOut } from '../codec/v13/msg/packet-out.js';
import type { PortMod } from '../codec/v13/msg/port-mod.js';
import type { QueueGetConfigReply } from '../codec/v13/msg/queue-config.js';
import type { TableMod } from '../codec/v13/msg/table-mod.js';
import { chunkBySize, dpPortNo, PORT_CONFIG_BITS, portDescOf, portStatsOf, tableFeaturesOf } from './replies.js';
import { validateActions, validateInstructions, type ValidateContext } from './validate.js';
import { validateMatch } from '../codec/v13/oxm.js';
import { flowRemovedOf, OfFlowTables } from './flow-mods.js';
import { OfGroups } from './group-mods.js';
import { OfMeters } from './meter-mods.js';
import { packetInOf } from './packet-in.js';
import type { FailMode, OfError, OpenFlowSwitch, SwitchEventSink } from './switch-api.js';

export interface OfSwitchOptions {
  datapath: Datapath;
  normal: NormalSwitch;
  datapathId: bigint;
  failMode?: FailMode;
  nTables?: number;
  /** Capacity of each flow table. */
  maxEntries?: number;
  /** EMC insertion knob (1 = always, 0 = off). */
  emcInsertInvProb?: number;
  /** Look frames up in the megaflow cache (RulePipelineOptions.megaflow; default on). */
  megaflow?: boolean;
  /** Time source (ms); performance.now by default. */
  clock?: () => number;
  /** OFPMP_DESC strings. */
  desc?: Partial<Omit<DescReply, 'type'>>;
}

const SWITCH_CAPABILITIES = OFPC.FLOW_STATS | OFPC.TABLE_STATS | OFPC.PORT_STATS | OFPC.GROUP_STATS | OFPC.QUEUE_STATS;

function toOfError(e: { type: number; code: number; message: string }): OfError {
  return { type: e.type, code: e.code, reason: e.message };
}

function badRequest(code: number, reason: string): OfError {
  return { type: OFPET.BAD_REQUEST, code, reason };
}

interface PortInfo {
  dp: DpPort;
  addedMs: number;
  config: number;
}

type Body<M> = Omit<M, 'type' | 'xid'>;

export class OfSwitch implements OpenFlowSwitch {
  readonly datapathId: bigint;
  readonly nTables: number;
  readonly capabilities = SWITCH_CAPABILITIES;
  readonly failMode: FailMode;
  readonly datapath: Datapath;
  readonly normal: NormalSwitch;
  /** The datapath's rule tables, groups and meters (what the pipeline runs). */
  readonly tables: PipelineTables;
  readonly groups = new GroupTable();
  readonly meters = new MeterTable();
  /** Their OpenFlow faces: flow-mods, group-mods, meter-mods and their stats. */
  readonly flows: OfFlowTables;
  readonly ofGroups: OfGroups;
  readonly ofMeters: OfMeters;
  readonly pipeline: RulePipeline;
  private readonly clock: () => number;
  private readonly desc: Omit<DescReply, 'type'>;
  private sink: SwitchEventSink | null = null;
  private connected = 0;
  private configFlags: number = OFPC_FRAG.NORMAL;
  /** miss_send_len as the controller set it (the pipeline holds it as a punt length). */
  private missSendLen: number;
  private readonly ports = new Map<number, PortInfo>();
  private readonly validateCtx: ValidateContext;
  private readonly compileCtx: CompileContext;

  constructor(opts: OfSwitchOptions) {
    this.datapath = opts.datapath;
    this.normal = opts.normal;
    this.datapathId = opts.datapathId;
    this.failMode = opts.failMode ?? 'standalone';
    this.clock = opts.clock ?? (() => performance.now());
    this.tables = new PipelineTables({ nTables: opts.nTables ?? N_TABLES, maxEntries: opts.maxEntries });
    this.nTables = this.tables.nTables;
    this.pipeline = new RulePipeline({
      datapath: this.datapath, normal: this.normal, tables: this.tables, groups: this.groups, meters: this.meters,
      emcInsertInvProb: opts.emcInsertInvProb, megaflow: opts.megaflow, clock: opts.clock,
    });
    this.pipeline.missSendLen = puntLenOf(OFP_DEFAULT_MISS_SEND_LEN);
    this.missSendLen = OFP_DEFAULT_MISS_SEND_LEN;
    this.pipeline.puntMeters.all = OFPM.CONTROLLER;
    this.pipeline.puntMeters.slowPath = OFPM.SLOWPATH;
    this.desc = {
      mfrDesc: 'linc-ts',
      hwDesc: 'userspace datapath on Node.js',
      swDesc: 'linc-ts',
      serialNum: 'None',
      dpDesc: `linc-ts datapath 0x${this.datapathId.toString(16).padStart(16, '0')}`,
      ...opts.desc,
    };
    this.validateCtx = {
      portExists: (p) => this.datapath.port(p) !== undefined,
      groupExists: (g) => this.groups.get(g) !== undefined,
      meterExists: (m) => this.meters.get(m) !== undefined,
    };
    this.compileCtx = { groupSlot: (id) => this.groups.slotOf(id), meterSlot: (id) => this.meters.slotOf(id) };
    this.flows = new OfFlowTables(this.tables, this.compileCtx);
    this.ofGroups = new OfGroups(this.groups, this.compileCtx);
    this.ofMeters = new OfMeters(this.meters);
    const now = this.clock();
    for (const dp of this.datapath.portList) this.ports.set(dp.ofPort, { dp, addedMs: now, config: 0 });
    this.datapath.onLinkChange((dp) => {
      if (this.ports.get(dp.ofPort)?.dp === dp) this.portChanged(dp);
    });
    this.datapath.onPortAdded((dp) => this.portAdded(dp));
    this.datapath.onPortRemoved((dp) => {
      if (this.ports.get(dp.ofPort)?.dp === dp) this.portRemoved(dp);
    });
    this.controllersConnected(0);
  }

  setEventSink(sink: SwitchEventSink | null): void {
    this.sink = sink;
    this.pipeline.onPunt = sink === null ? null : (p) => sink.packetIn(packetInOf(p));
  }

  controllersConnected(n: number): void {
    this.connected = n;
    this.datapath.pipeline = n > 0 || this.failMode === 'secure' ? this.pipeline : this.normal;
  }

  /** How many controllers the switch was last told are connected. */
  get controllers(): number {
    return this.connected;
  }

  flowMod(fm: FlowMod): OfError | null {
    const now = this.clock();
    const changes = fm.command === OFPFC.ADD || fm.command === OFPFC.MODIFY || fm.command === OFPFC.MODIFY_STRICT;
    if (changes) {
      const badMatch = validateMatch(fm.match);
      if (badMatch) return toOfError(badMatch);
      const bad = validateInstructions(fm.instructions, fm.match, this.validateCtx);
      if (bad) return bad;
    }
    const out = this.flows.flowMod(fm, now);
    if (out.error) return out.error;
    this.flowsRemoved(out.removed, now);
    if (changes && fm.bufferId !== OFP_NO_BUFFER) return badRequest(OFPBRC.BUFFER_UNKNOWN, `buffer ${fm.bufferId}: this switch buffers nothing`);
    return null;
  }

  groupMod(gm: GroupMod): OfError | null {
    const pre = this.ofGroups.check(gm);
    if (pre) return pre;
    if (gm.command !== OFPGC.DELETE) {
      for (const b of gm.buckets) {
        const bad = validateActions(b.actions, 'group', this.validateCtx);
        if (bad) return bad;
      }
    }
    const now = this.clock();
    const out = this.ofGroups.apply(gm, now);
    if (out.error) return out.error;
    for (const id of out.deleted) this.flowsRemoved(this.tables.deleteByGroup(id), now);
    this.refreshLiveness();
    this.tables.bumpGeneration();
    return null;
  }

  meterMod(mm: MeterMod): OfError | null {
    const pre = this.ofMeters.check(mm);
    if (pre) return pre;
    const now = this.clock();
    for (const id of this.ofMeters.apply(mm, now)) this.flowsRemoved(this.tables.deleteByMeter(id), now);
    this.tables.bumpGeneration();
    return null;
  }

  portMod(pm: PortMod): OfError | null {
    const info = this.ports.get(dpPortNo(pm.portNo));
    if (info === undefined || this.datapath.port(dpPortNo(pm.portNo)) === undefined) {
      return { type: OFPET.PORT_MOD_FAILED, code: OFPPMFC.BAD_PORT, reason: `no port ${pm.portNo >>> 0}` };
    }
    const link = readLink(info.dp.port);
    if (pm.hwAddr !== link.mac) {
      return { type: OFPET.PORT_MOD_FAILED, code: OFPPMFC.BAD_HW_ADDR, reason: `hw_addr ${pm.hwAddr.toString(16)} is not port ${pm.portNo}'s` };
    }
    if ((pm.mask & ~PORT_CONFIG_BITS) !== 0) {
      return { type: OFPET.PORT_MOD_FAILED, code: OFPPMFC.BAD_CONFIG, reason: `config bits 0x${pm.mask.toString(16)} not supported` };
    }
    const config = (info.config & ~pm.mask) | (pm.config & pm.mask);
    if (config === info.config) return null;
    info.config = config;
    this.applyPortConfig(info);
    this.refreshLiveness();
    this.tables.bumpGeneration();
    this.emitPortStatus(OFPPR.MODIFY, info);
    return null;
  }

  tableMod(tm: TableMod): OfError | null {
    if (tm.tableId !== OFPTT.ALL && tm.tableId >= this.nTables) {
      return { type: OFPET.TABLE_MOD_FAILED, code: OFPTMFC.BAD_TABLE, reason: `no table ${tm.tableId}` };
    }
    if ((tm.config & ~OFPTC_DEPRECATED_MASK) !== 0) {
      return { type: OFPET.TABLE_MOD_FAILED, code: OFPTMFC.BAD_CONFIG, reason: `table config 0x${tm.config.toString(16)}` };
    }
    return null; // OpenFlow 1.3 deprecates the only bits there are
  }

  packetOut(po: PacketOut): OfError | null {
    if (po.bufferId !== OFP_NO_BUFFER) return badRequest(OFPBRC.BUFFER_UNKNOWN, `buffer ${po.bufferId}: this switch buffers nothing`);
    // 1.3.5 A.3.7: in_port "must be set to either a valid standard switch
    // port or OFPP_CONTROLLER"; standard ports are the physical and logical
    // ports and LOCAL if the switch has it (4.1). A port this switch does not
    // have, OFPP_ANY and the other reserved ports: OFPBRC_BAD_PORT.
    const inPort = po.inPort >>> 0;
    const reservedOrZero = (inPort === 0 || inPort > OFPP.MAX) && inPort !== OFPP.LOCAL;
    if (inPort !== OFPP.CONTROLLER && (reservedOrZero || this.datapath.port(dpPortNo(inPort)) === undefined)) {
      return badRequest(OFPBRC.BAD_PORT, `packet-out in_port 0x${inPort.toString(16)} is not a port of this switch nor CONTROLLER`);
    }
    const bad = validateActions(po.actions, 'packet_out', this.validateCtx);
    if (bad) return bad;
    if (po.data.length > this.datapath.pool.frameCapacity) return badRequest(OFPBRC.BAD_PACKET, `packet of ${po.data.length} bytes`);
    const code = compileActions(po.actions, this.compileCtx);
    this.pipeline.packetOut(po.data, dpPortNo(inPort), code, this.clock());
    return null;
  }

  getConfig(): { flags: number; missSendLen: number } {
    return { flags: this.configFlags, missSendLen: this.missSendLen };
  }

  /**
   * Fragment handling NORMAL or DROP (no reassembly: OFPC_IP_REASM is not
   * advertised). OpenFlow 1.3's ofp_config_flags are the two OFPC_FRAG bits
   * only (1.3.5 A.3.2); any other bit, such as 1.1/1.2's
   * OFPC_INVALID_TTL_TO_CONTROLLER (bit 2, gone from 1.3: invalid-TTL
   * packet-ins are chosen by the async filters), is OFPSCFC_BAD_FLAGS.
   */
  setConfig(flags: number, missSendLen: number): OfError | null {
    const frag = flags & OFPC_FRAG.MASK;
    if ((flags & ~OFPC_FRAG.MASK) !== 0 || (frag !== OFPC_FRAG.NORMAL && frag !== OFPC_FRAG.DROP)) {
      return { type: OFPET.SWITCH_CONFIG_FAILED, code: OFPSCFC.BAD_FLAGS, reason: `config flags 0x${flags.toString(16)} (fragments: normal or drop)` };
    }
    this.configFlags = flags;
    this.pipeline.fragDrop = frag === OFPC_FRAG.DROP;
    this.missSendLen = missSendLen;
    this.pipeline.missSendLen = puntLenOf(missSendLen);
    return null;
  }

  multipart(req: MultipartRequestBody): MultipartReplyBody[] | OfError {
    const now = this.clock();
    switch (req.type) {
      case 'desc':
        return [{ type: 'desc', ...this.desc }];
      case 'flow': {
        const r = this.flows.flowStats(req, now);
        if (!Array.isArray(r)) return r;
        return chunkBySize(r, (e) => flowBody.replySize({ type: 'flow', entries: [e] })).map((entries) => ({ type: 'flow', entries }));
      }
      case 'aggregate': {
        const r = this.flows.aggregateStats(req);
        if ('code' in r) return r;
        return [{ type: 'aggregate', ...r }];
      }
      case 'table':
        return [{ type: 'table', entries: this.flows.tableStats() }];
      case 'port_stats': {
        const infos = req.portNo === OFPP.ANY ? this.livePorts() : this.livePorts().filter((i) => i.dp.ofPort === dpPortNo(req.portNo));
        return [{ type: 'port_stats', entries: infos.map((i) => portStatsOf(i.dp, i.addedMs, now)) }];
      }
      case 'port_desc':
        return chunkBySize(this.livePorts(), () => 64).map((infos) => ({
          type: 'port_desc',
          ports: infos.map((i) => portDescOf(i.dp, i.config, i.dp.link, this.isPortLive(i.dp.ofPort))),
        }));
      case 'queue': {
        if (req.portNo !== OFPP.ANY && this.datapath.port(req.portNo) === undefined) {
          return { type: OFPET.QUEUE_OP_FAILED, code: OFPQOFC.BAD_PORT, reason: `no port ${req.portNo >>> 0}` };
        }
        if (req.queueId !== OFPQ_ALL) return { type: OFPET.QUEUE_OP_FAILED, code: OFPQOFC.BAD_QUEUE, reason: 'this switch has no queues' };
        return [{ type: 'queue', entries: [] }];
      }
      case 'group': {
        const entries = this.ofGroups.stats(req.groupId, now, (id) => this.groupRefCount(id));
        return chunkBySize(entries, (e) => groupBody.replySize({ type: 'group', entries: [e] })).map((es) => ({ type: 'group', entries: es }));
      }
      case 'group_desc': {
        const entries = this.ofGroups.desc();
        return chunkBySize(entries, (e) => groupDescBody.replySize({ type: 'group_desc', entries: [e] })).map((es) => ({ type: 'group_desc', entries: es }));
      }
      case 'group_features':
        return [{ type: 'group_features', ...this.ofGroups.features() }];
      case 'meter': {
        const entries = this.ofMeters.stats(req.meterId, now, (id) => this.meterFlowCount(id));
        return chunkBySize(entries, (e) => meterBody.replySize({ type: 'meter', entries: [e] })).map((es) => ({ type: 'meter', entries: es }));
      }
      case 'meter_config': {
        const entries = this.ofMeters.config(req.meterId);
        return chunkBySize(entries, (e) => meterConfigBody.replySize({ type: 'meter_config', entries: [e] })).map((es) => ({ type: 'meter_config', entries: es }));
      }
      case 'meter_features':
        return [{ type: 'meter_features', ...this.ofMeters.features() }];
      case 'table_features': {
        if (req.entries.length > 0) {
          return { type: OFPET.TABLE_FEATURES_FAILED, code: OFPTFFC.EPERM, reason: 'table features cannot be changed on this switch' };
        }
        const all = this.tables.tables.map((t) => tableFeaturesOf(t.id, this.nTables, t.maxEntries));
        return chunkBySize(all, (e) => tableFeaturesBody.replySize({ type: 'table_features', entries: [e] })).map((entries) => ({ type: 'table_features', entries }));
      }
      case 'experimenter':
        return badRequest(OFPBRC.BAD_EXPERIMENTER, `experimenter 0x${req.experimenter.toString(16)} is not supported`);
      default:
        return badRequest(OFPBRC.BAD_MULTIPART, 'unknown multipart type');
    }
  }

  queueGetConfig(port: number): Body<QueueGetConfigReply> | OfError {
    if (port !== OFPP.ANY && (port === 0 || port > OFPP.MAX || this.datapath.port(port) === undefined)) {
      return { type: OFPET.QUEUE_OP_FAILED, code: OFPQOFC.BAD_PORT, reason: `no port ${port >>> 0}` };
    }
    return { port, queues: [] };
  }

  /**
   * Housekeeping, about once a second: flow timeouts. Port and link changes
   * arrive from the datapath's listeners as they happen, not from here.
   */
  tick(nowMs = this.clock()): void {
    this.flowsRemoved(this.tables.expire(nowMs), nowMs);
  }

  /** A port joined the datapath: port-status ADD. */
  private portAdded(dp: DpPort): void {
    const info: PortInfo = { dp, addedMs: this.clock(), config: 0 };
    this.ports.set(dp.ofPort, info);
    this.applyPortConfig(info);
    this.refreshLiveness();
    this.tables.bumpGeneration();
    this.emitPortStatus(OFPPR.ADD, info);
  }

  /** A port left the datapath (already removed there): port-status DELETE. */
  private portRemoved(dp: DpPort): void {
    const info = this.ports.get(dp.ofPort) ?? { dp, addedMs: this.clock(), config: 0 };
    this.ports.delete(dp.ofPort);
    this.pipeline.puntDisabled.delete(dp.ofPort);
    this.normal.portRemoved(dp.ofPort);
    this.refreshLiveness();
    this.tables.bumpGeneration();
    this.emitPortStatus(OFPPR.DELETE, info);
  }

  /** A port's link state (as the datapath last read it) changed: port-status MODIFY. */
  private portChanged(dp: DpPort): void {
    const info = this.ports.get(dp.ofPort);
    if (info === undefined) {
      this.portAdded(dp);
      return;
    }
    this.refreshLiveness();
    this.tables.bumpGeneration();
    this.emitPortStatus(OFPPR.MODIFY, info);
  }

  /** OFPPC config bits of a port (0 for an unknown port). */
  portConfig(port: number): number {
    return this.ports.get(port)?.config ?? 0;
  }

  /** A port is live (fast-failover, select liveness, OFPPS_LIVE): present, not PORT_DOWN, link up. */
  isPortLive(port: number): boolean {
    const info = this.ports.get(port);
    if (info === undefined || this.datapath.port(port) === undefined) return false;
    return (info.config & OFPPC.PORT_DOWN) === 0 && info.dp.link.adminUp && info.dp.link.carrier;
  }

  private livePorts(): PortInfo[] {
    return [...this.ports.values()].filter((i) => this.datapath.port(i.dp.ofPort) === i.dp).sort((a, b) => a.dp.ofPort - b.dp.ofPort);
  }

  private applyPortConfig(info: PortInfo): void {
    const c = info.config;
    info.dp.forwarding = (c & OFPPC.PORT_DOWN) === 0;
    info.dp.rxEnabled = (c & OFPPC.NO_RECV) === 0;
    info.dp.txEnabled = (c & OFPPC.NO_FWD) === 0;
    if ((c & OFPPC.NO_PACKET_IN) !== 0) this.pipeline.puntDisabled.add(info.dp.ofPort);
    else this.pipeline.puntDisabled.delete(info.dp.ofPort);
  }

  private refreshLiveness(): void {
    this.groups.refreshLiveness((p) => this.isPortLive(p));
  }

  private groupRefCount(id: number): number {
    let n = this.groups.referencesTo(id);
    for (const t of this.tables.tables) for (const e of t.list()) if (e.usesGroup(id)) n++;
    return n;
  }

  private meterFlowCount(id: number): number {
    let n = 0;
    for (const t of this.tables.tables) for (const e of t.list()) if (e.usesMeter(id)) n++;
    return n;
  }

  private flowsRemoved(entries: readonly FlowEntry[], nowMs: number): void {
    const sink = this.sink;
    if (sink === null) return;
    for (const e of entries) {
      if ((e.flags & RuleFlag.SendRemoved) === 0) continue;
      const { type: _type, xid: _xid, ...body } = flowRemovedOf(e, nowMs);
      sink.flowRemoved(body);
    }
  }

  private emitPortStatus(reason: number, info: PortInfo): void {
    this.sink?.portStatus({ reason, desc: portDescOf(info.dp, info.config, info.dp.link, this.isPortLive(info.dp.ofPort)) });
  }
}
