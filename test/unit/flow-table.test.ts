import { describe, expect, it } from 'vitest';
import { K, KEY_WORDS } from '../../src/flow/key.js';
import { FlowCounter, FlowTable, type FlowTableOptions, TableCounter } from '../../src/datapath/rules/flow-table.js';
import { EntryProgram } from '../../src/datapath/rules/ops.js';
import { N_TABLES, PipelineTables, type PipelineTablesOptions } from '../../src/datapath/rules/pipeline-tables.js';
import { RemovedReason } from '../../src/datapath/rules/rule.js';
import type { CompileContext } from '../../src/openflow/ofproto/compile.js';
import { flowRemovedOf, OfFlowTable, OfFlowTables, originOf, type OfFlowTablesOptions, type TableFlowMod } from '../../src/openflow/ofproto/flow-mods.js';
import type { OfError } from '../../src/openflow/ofproto/switch-api.js';
import { OFPBIC, OFPBMC, OFPBRC, OFPET, OFPFC, OFPFF, OFPFMFC, OFPG, OFPP, OFPRR, OFPTT } from '../../src/openflow/codec/v13/enums.js';
import type { Instruction } from '../../src/openflow/codec/v13/instructions.js';
import type { FlowStatsFilter } from '../../src/openflow/codec/v13/msg/mp-flow.js';
import type { Match, Oxm } from '../../src/openflow/codec/v13/oxm.js';

const IPV4: Oxm = { field: 'eth_type', value: 0x0800 };
const TCP: Oxm = { field: 'ip_proto', value: 6 };
const inPort = (p: number): Oxm => ({ field: 'in_port', value: p });
const ipDst = (v: number, mask?: number): Oxm => (mask === undefined ? { field: 'ipv4_dst', value: v } : { field: 'ipv4_dst', value: v, mask });
const tcpDst = (p: number): Oxm => ({ field: 'tcp_dst', value: p });
const output = (port: number): Instruction[] => [{ type: 'apply_actions', actions: [{ type: 'output', port, maxLen: 0 }] }];
const toGroup = (g: number): Instruction[] => [{ type: 'write_actions', actions: [{ type: 'group', groupId: g }] }];

function fm(over: Partial<TableFlowMod> = {}): TableFlowMod {
  return {
    command: OFPFC.ADD, tableId: 0, cookie: 0n, cookieMask: 0n, priority: 0x8000, idleTimeout: 0, hardTimeout: 0, flags: 0,
    outPort: OFPP.ANY, outGroup: OFPG.ANY, match: [], instructions: [], ...over,
  };
}

function statsFilter(over: Partial<FlowStatsFilter> = {}): FlowStatsFilter {
  return { tableId: OFPTT.ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: 0n, cookieMask: 0n, match: [], ...over };
}

/** A TCP/IPv4 packet key row. */
function pkt(p: { port?: number; dst?: number; dport?: number } = {}): Uint32Array {
  const k = new Uint32Array(KEY_WORDS);
  k[K.InPort] = p.port ?? 1;
  k[K.EthTypeVlan] = 0x0800 << 16;
  k[K.IpProtoTosTtlFrag] = (6 << 24) | (64 << 8);
  k[K.IpSrc0] = 0x0a000001;
  k[K.IpDst0] = p.dst ?? 0x0a000002;
  k[K.TpSrcDst] = (40000 << 16) | (p.dport ?? 80);
  return k;
}

/** These tables hold no groups or meters: programs that name one get slot -1 (never run here). */
const ctx: CompileContext = { groupSlot: () => -1, meterSlot: () => -1 };

/** One OpenFlow table over a datapath rule table. */
function newTable(id = 0, opts: FlowTableOptions = {}): OfFlowTable {
  return new OfFlowTable(new FlowTable(id, opts), ctx);
}

/** Every OpenFlow table over the datapath's rule tables. */
function newTables(opts: PipelineTablesOptions = {}, validateInstructions?: OfFlowTablesOptions['validateInstructions']): OfFlowTables {
  return new OfFlowTables(new PipelineTables(opts), ctx, { validateInstructions });
}

function isOfError(x: unknown): x is OfError {
  return typeof x === 'object' && x !== null && 'code' in x && 'type' in x;
}

function ok(err: OfError | null): void {
  if (err) throw new Error(`${err.type}/${err.code}: ${err.reason}`);
}

function errCode(err: unknown): [number, number] | null {
  return isOfError(err) ? [err.type, err.code] : null;
}

function lookupPriority(t: OfFlowTable, key: Uint32Array): number | null {
  return t.table.lookup(key, 0)?.priority ?? null;
}

describe('FlowTable add and lookup', () => {
  it('finds the highest-priority matching entry; the table-miss entry catches the rest', () => {
    const t = newTable(0);
    ok(t.add(fm({ priority: 0, instructions: output(OFPP.CONTROLLER) }), 0));
    ok(t.add(fm({ priority: 10, match: [inPort(1)], instructions: output(2) }), 0));
    ok(t.add(fm({ priority: 20, match: [IPV4, ipDst(0x0a000000, 0xff000000)], instructions: output(3) }), 0));
    expect(lookupPriority(t, pkt({ port: 1, dst: 0x0a000009 }))).toBe(20);
    expect(lookupPriority(t, pkt({ port: 1, dst: 0x0b000009 }))).toBe(10);
    expect(lookupPriority(t, pkt({ port: 2, dst: 0x0b000009 }))).toBe(0);
    expect(t.table.list().filter((e) => e.isTableMiss).map((e) => e.priority)).toEqual([0]);
    expect(t.table.counters[TableCounter.Lookups]).toBe(3);
    expect(t.table.counters[TableCounter.Matched]).toBe(3);
  });

  it('without a table-miss entry a miss returns null and is not counted as matched', () => {
    const t = newTable(0);
    ok(t.add(fm({ match: [inPort(1)] }), 0));
    expect(t.table.lookup(pkt({ port: 9 }), 0)).toBeNull();
    expect(t.table.counters[TableCounter.Matched]).toBe(0);
  });

  it('replaces an entry with identical match and priority, keeping counters unless RESET_COUNTS', () => {
    const t = newTable(0);
    ok(t.add(fm({ match: [inPort(1)], cookie: 1n, instructions: output(2) }), 1000));
    const first = t.table.lookup(pkt(), 0)!;
    first.counters[FlowCounter.Packets] = 5;
    first.counters[FlowCounter.Bytes] = 500;
    ok(t.add(fm({ match: [inPort(1)], cookie: 2n, instructions: output(3) }), 5000));
    expect(t.size).toBe(1);
    const second = t.table.lookup(pkt(), 0)!;
    expect(second).not.toBe(first);
    expect(second.cookie).toBe(2n);
    expect(originOf(second).instructions).toEqual(output(3));
    expect(second.installMs).toBe(5000);
    expect([second.packetCount, second.byteCount]).toEqual([5, 500]);
    expect(first.handle).toBe(-1);
    ok(t.add(fm({ match: [inPort(1)], flags: OFPFF.RESET_COUNTS }), 6000));
    expect(t.table.lookup(pkt(), 0)!.packetCount).toBe(0);
    // A different priority is a different entry.
    ok(t.add(fm({ match: [inPort(1)], priority: 1 }), 6000));
    expect(t.size).toBe(2);
  });

  it('CHECK_OVERLAP refuses an overlapping entry of the same priority (OFPFMFC_OVERLAP)', () => {
    const t = newTable(0);
    ok(t.add(fm({ priority: 100, match: [inPort(1)] }), 0));
    const overlap = [OFPET.FLOW_MOD_FAILED, OFPFMFC.OVERLAP];
    expect(errCode(t.add(fm({ priority: 100, flags: OFPFF.CHECK_OVERLAP, match: [IPV4, ipDst(1)] }), 0))).toEqual(overlap);
    expect(errCode(t.add(fm({ priority: 100, flags: OFPFF.CHECK_OVERLAP, match: [inPort(1)] }), 0))).toEqual(overlap);
    expect(errCode(t.add(fm({ priority: 100, flags: OFPFF.CHECK_OVERLAP, match: [inPort(1), IPV4] }), 0))).toEqual(overlap);
    expect(t.size).toBe(1);
    ok(t.add(fm({ priority: 100, flags: OFPFF.CHECK_OVERLAP, match: [inPort(2), IPV4] }), 0));
    ok(t.add(fm({ priority: 101, flags: OFPFF.CHECK_OVERLAP, match: [inPort(1)] }), 0));
    ok(t.add(fm({ priority: 50, flags: OFPFF.CHECK_OVERLAP, match: [IPV4, ipDst(0x0a000000, 0xff000000)] }), 0));
    expect(errCode(t.add(fm({ priority: 50, flags: OFPFF.CHECK_OVERLAP, match: [IPV4, ipDst(0x0a010000, 0xffff0000)] }), 0))).toEqual(overlap);
    ok(t.add(fm({ priority: 50, flags: OFPFF.CHECK_OVERLAP, match: [IPV4, ipDst(0x0b010000, 0xffff0000)] }), 0));
    expect(t.size).toBe(5);
  });

  it('refuses unknown flags, bad matches and adds past capacity', () => {
    const t = newTable(0, { maxEntries: 2 });
    expect(errCode(t.add(fm({ flags: 1 << 7 }), 0))).toEqual([OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_FLAGS]);
    expect(errCode(t.add(fm({ match: [tcpDst(80)] }), 0))).toEqual([OFPET.BAD_MATCH, OFPBMC.BAD_PREREQ]);
    ok(t.add(fm({ match: [inPort(1)] }), 0));
    ok(t.add(fm({ match: [inPort(2)] }), 0));
    expect(errCode(t.add(fm({ match: [inPort(3)] }), 0))).toEqual([OFPET.FLOW_MOD_FAILED, OFPFMFC.TABLE_FULL]);
    ok(t.add(fm({ match: [inPort(2)], instructions: output(1) }), 0)); // a replacement still fits
    expect(t.size).toBe(2);
  });
});

describe('FlowTable modify', () => {
  function table() {
    const t = newTable(0);
    ok(t.add(fm({ priority: 10, cookie: 0x11n, match: [inPort(1)], instructions: output(1), idleTimeout: 7 }), 0));
    ok(t.add(fm({ priority: 20, cookie: 0x12n, match: [inPort(1), IPV4], instructions: output(1) }), 0));
    ok(t.add(fm({ priority: 30, cookie: 0x21n, match: [inPort(2)], instructions: output(1) }), 0));
    for (const e of t.table.list()) e.counters[FlowCounter.Packets] = 3;
    return t;
  }
  const instr = (t: OfFlowTable) => t.table.list().sort((a, b) => a.priority - b.priority).map((e) => (originOf(e).instructions[0] as { actions: { port: number }[] }).actions[0].port);

  it('non-strict modifies every entry at least as specific, any priority; keeps cookie, timeouts and counters', () => {
    const t = table();
    const e = t.table.list().find((x) => x.priority === 10)!;
    e.program = new EntryProgram(e.tableId, e.counters, e.actions);
    ok(t.modify(fm({ match: [inPort(1)], priority: 999, cookie: 0xffn, idleTimeout: 1, instructions: output(9) }), false));
    expect(instr(t)).toEqual([9, 9, 1]);
    expect(e.cookie).toBe(0x11n);
    expect(e.idleTimeout).toBe(7);
    expect(e.packetCount).toBe(3);
    expect(e.program).toBeNull();
  });

  it('strict modifies only the entry with identical match and priority', () => {
    const t = table();
    ok(t.modify(fm({ match: [inPort(1)], priority: 20, instructions: output(9) }), true));
    expect(instr(t)).toEqual([1, 1, 1]);
    ok(t.modify(fm({ match: [inPort(1)], priority: 10, instructions: output(9) }), true));
    expect(instr(t)).toEqual([9, 1, 1]);
  });

  it('filters by cookie under cookie_mask, resets counters with RESET_COUNTS, and never adds', () => {
    const t = table();
    ok(t.modify(fm({ cookie: 0x10n, cookieMask: 0xf0n, flags: OFPFF.RESET_COUNTS, instructions: output(8) }), false));
    expect(instr(t)).toEqual([8, 8, 1]);
    expect(t.table.list().sort((a, b) => a.priority - b.priority).map((e) => e.packetCount)).toEqual([0, 0, 3]);
    ok(t.modify(fm({ match: [inPort(7)], instructions: output(8) }), false));
    expect(t.size).toBe(3);
  });
});

describe('FlowTable delete', () => {
  function table() {
    const t = newTable(0);
    ok(t.add(fm({ priority: 0, cookie: 0x1n }), 0));
    ok(t.add(fm({ priority: 10, cookie: 0x11n, match: [inPort(1)], instructions: output(5) }), 0));
    ok(t.add(fm({ priority: 20, cookie: 0x12n, match: [inPort(1), IPV4], instructions: toGroup(7) }), 0));
    ok(t.add(fm({ priority: 30, cookie: 0x21n, match: [inPort(2), IPV4, TCP, tcpDst(80)], instructions: [...output(6), ...toGroup(7)] }), 0));
    return t;
  }
  const prios = (entries: { priority: number }[]) => entries.map((e) => e.priority).sort((a, b) => a - b);
  const del = (t: OfFlowTable, over: Partial<TableFlowMod>, strict = false) => {
    const r = t.delete(fm(over), strict);
    if (isOfError(r)) throw new Error(r.reason);
    return r;
  };

  it('non-strict with an empty match removes everything; removed entries carry OFPRR_DELETE', () => {
    const t = table();
    const gone = del(t, {});
    expect(prios(gone)).toEqual([0, 10, 20, 30]);
    expect(gone.every((e) => e.removedReason === RemovedReason.Delete && e.handle === -1)).toBe(true);
    expect(t.size).toBe(0);
    expect(t.table.lookup(pkt(), 0)).toBeNull();
  });

  it('non-strict removes entries at least as specific as the match, regardless of priority', () => {
    const t = table();
    expect(prios(del(t, { match: [inPort(1)], priority: 1 }))).toEqual([10, 20]);
    expect(prios(t.table.list())).toEqual([0, 30]);
    expect(prios(del(t, { match: [IPV4] }))).toEqual([30]);
  });

  it('strict removes only identical match and priority', () => {
    const t = table();
    expect(del(t, { match: [inPort(1)], priority: 20 }, true)).toEqual([]);
    expect(prios(del(t, { match: [inPort(1)], priority: 10 }, true))).toEqual([10]);
    expect(prios(del(t, { match: [], priority: 0 }, true))).toEqual([0]);
    expect(prios(t.table.list())).toEqual([20, 30]);
  });

  it('filters by cookie/cookie_mask, out_port and out_group', () => {
    expect(prios(del(table(), { cookie: 0x10n, cookieMask: 0xf0n }))).toEqual([10, 20]);
    expect(prios(del(table(), { cookie: 0x11n, cookieMask: 0xffn }))).toEqual([10]);
    expect(prios(del(table(), { outPort: 5 }))).toEqual([10]);
    expect(prios(del(table(), { outPort: 6 }))).toEqual([30]);
    expect(prios(del(table(), { outPort: 4 }))).toEqual([]);
    expect(prios(del(table(), { outGroup: 7 }))).toEqual([20, 30]);
    expect(prios(del(table(), { outGroup: 7, outPort: 6 }))).toEqual([30]);
    expect(prios(del(table(), { match: [inPort(2)], priority: 30, outPort: 5 }, true))).toEqual([]);
  });

  it('deleteByGroup removes the entries that send to that group with OFPRR_GROUP_DELETE', () => {
    const t = table();
    const gone = t.table.deleteByGroup(7);
    expect(prios(gone)).toEqual([20, 30]);
    expect(gone.every((e) => e.removedReason === RemovedReason.GroupDelete)).toBe(true);
  });
});

describe('FlowTable timeouts (fake clock)', () => {
  it('expires hard timeouts from install time and idle timeouts from the last hit', () => {
    const t = newTable(3);
    ok(t.add(fm({ priority: 1, match: [inPort(1)], hardTimeout: 10, flags: OFPFF.SEND_FLOW_REM }), 1000));
    ok(t.add(fm({ priority: 2, match: [inPort(2)], idleTimeout: 5 }), 1000));
    ok(t.add(fm({ priority: 3, match: [inPort(3)], idleTimeout: 5, hardTimeout: 8 }), 1000));
    ok(t.add(fm({ priority: 4, match: [inPort(4)] }), 1000));
    expect(t.table.expire(5999)).toEqual([]);
    // Traffic on the idle entries at t=5500 keeps them alive.
    for (const p of [2, 3]) {
      const e = t.table.lookup(pkt({ port: p }), 0)!;
      e.counters[FlowCounter.LastHitMs] = 5500;
    }
    expect(t.table.expire(6000)).toEqual([]);
    const hard3 = t.table.expire(9000);
    expect(hard3.map((e) => [e.priority, e.removedReason])).toEqual([[3, RemovedReason.HardTimeout]]);
    const idle2 = t.table.expire(10_500);
    expect(idle2.map((e) => [e.priority, e.removedReason])).toEqual([[2, RemovedReason.IdleTimeout]]);
    const hard1 = t.table.expire(11_000);
    expect(hard1.map((e) => [e.priority, e.removedReason])).toEqual([[1, RemovedReason.HardTimeout]]);
    expect(t.table.expire(1e9)).toEqual([]);
    expect(t.table.list().map((e) => e.priority)).toEqual([4]);
    const fr = flowRemovedOf(hard1[0], 11_000, 77);
    expect(fr).toMatchObject({ type: 'flow_removed', xid: 77, reason: OFPRR.HARD_TIMEOUT, tableId: 3, priority: 1, durationSec: 10, durationNsec: 0, hardTimeout: 10 });
    expect(fr.match).toEqual([inPort(1)]);
  });
});

describe('FlowTable statistics', () => {
  it('reports flows with duration, counters and the controller match, filtered like delete', () => {
    const t = newTable(0);
    const match: Match = [inPort(1), IPV4, TCP, tcpDst(22)];
    ok(t.add(fm({ priority: 5, cookie: 0xabn, match, instructions: output(2), flags: OFPFF.SEND_FLOW_REM | OFPFF.NO_BYT_COUNTS, idleTimeout: 60 }), 1000));
    ok(t.add(fm({ priority: 9, match: [inPort(2)], instructions: output(1) }), 2000));
    const e = t.table.lookup(pkt({ port: 1, dport: 22 }), 0)!;
    e.counters[FlowCounter.Packets] = 2;
    e.counters[FlowCounter.Bytes] = 128;
    const stats = t.flowStats(statsFilter({ match: [inPort(1)] }), 3500.25);
    if (isOfError(stats)) throw new Error(stats.reason);
    expect(stats).toEqual([{
      tableId: 0, durationSec: 2, durationNsec: 500_250_000, priority: 5, idleTimeout: 60, hardTimeout: 0,
      flags: OFPFF.SEND_FLOW_REM | OFPFF.NO_BYT_COUNTS, cookie: 0xabn, packetCount: 2n, byteCount: 128n, match, instructions: output(2),
    }]);
    const all = t.flowStats(statsFilter(), 3000);
    expect((all as { priority: number }[]).map((s) => s.priority)).toEqual([9, 5]);
    expect(t.aggregate(statsFilter({ outPort: 2 }))).toEqual({ packetCount: 2, byteCount: 128, flowCount: 1 });
    expect(t.aggregate(statsFilter({ cookie: 0x10n, cookieMask: 0x10n }))).toEqual({ packetCount: 0, byteCount: 0, flowCount: 0 });
    expect(t.aggregate(statsFilter({ cookie: 0x0bn, cookieMask: 0x0fn }))).toEqual({ packetCount: 2, byteCount: 128, flowCount: 1 });
  });
});

describe('PipelineTables', () => {
  it(`has ${N_TABLES} tables and refuses table ids beyond them`, () => {
    const p = newTables();
    expect(p.nTables).toBe(N_TABLES);
    expect(N_TABLES).toBeGreaterThanOrEqual(64);
    expect(p.tables.map((t) => t.id)).toEqual([...Array(N_TABLES).keys()]);
    expect(errCode(p.flowMod(fm({ tableId: N_TABLES }), 0).error)).toEqual([OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_TABLE_ID]);
    expect(errCode(p.flowMod(fm({ tableId: OFPTT.ALL }), 0).error)).toEqual([OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_TABLE_ID]);
    expect(errCode(p.flowMod(fm({ command: 9 }), 0).error)).toEqual([OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_COMMAND]);
    expect(errCode(p.flowStats(statsFilter({ tableId: N_TABLES }), 0))).toEqual([OFPET.BAD_REQUEST, OFPBRC.BAD_TABLE_ID]);
  });

  it('bumps the generation on every change that can alter a lookup, and not on failures or no-ops', () => {
    const p = newTables();
    let g = p.rules.generation;
    const bumped = () => {
      const moved = p.rules.generation !== g;
      g = p.rules.generation;
      return moved;
    };
    ok(p.flowMod(fm({ match: [inPort(1)], idleTimeout: 1 }), 0).error);
    expect(bumped()).toBe(true);
    expect(p.flowMod(fm({ match: [tcpDst(1)] }), 0).error).not.toBeNull();
    expect(bumped()).toBe(false);
    ok(p.flowMod(fm({ command: OFPFC.MODIFY, match: [inPort(1)], instructions: output(3) }), 0).error);
    expect(bumped()).toBe(true);
    ok(p.flowMod(fm({ command: OFPFC.MODIFY, match: [inPort(2)], instructions: output(3) }), 0).error);
    expect(bumped()).toBe(false);
    ok(p.flowMod(fm({ command: OFPFC.DELETE, match: [inPort(2)] }), 0).error);
    expect(bumped()).toBe(false);
    expect(p.rules.expire(500)).toEqual([]);
    expect(bumped()).toBe(false);
    expect(p.rules.expire(1000).length).toBe(1);
    expect(bumped()).toBe(true);
    ok(p.flowMod(fm({ tableId: 5, match: [inPort(1)] }), 0).error);
    expect(bumped()).toBe(true);
    const del = p.flowMod(fm({ command: OFPFC.DELETE_STRICT, tableId: 5, match: [inPort(1)] }), 0);
    expect(del.removed.length).toBe(1);
    expect(bumped()).toBe(true);
    p.rules.bumpGeneration();
    expect(bumped()).toBe(true);
  });

  it('deletes across every table with OFPTT_ALL; modify refuses it (OFPTT_ALL is only for delete, 1.3.5 A.3.4.1)', () => {
    const p = newTables();
    for (const id of [0, 3, 63]) ok(p.flowMod(fm({ tableId: id, match: [inPort(1)], instructions: output(1) }), 0).error);
    ok(p.flowMod(fm({ tableId: 3, match: [inPort(2)] }), 0).error);
    for (const command of [OFPFC.MODIFY, OFPFC.MODIFY_STRICT]) {
      expect(errCode(p.flowMod(fm({ command, tableId: OFPTT.ALL, match: [inPort(1)], instructions: output(4) }), 0).error))
        .toEqual([OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_TABLE_ID]);
    }
    const outs = p.rules.tables.flatMap((t) => t.list()).filter((e) => originOf(e).instructions.length > 0).map((e) => [e.tableId, originOf(e).instructions]);
    expect(outs).toEqual([[0, output(1)], [3, output(1)], [63, output(1)]]);
    const r = p.flowMod(fm({ command: OFPFC.DELETE, tableId: OFPTT.ALL, match: [inPort(1)] }), 0);
    expect(r.removed.map((e) => e.tableId)).toEqual([0, 3, 63]);
    expect(p.rules.flowCount).toBe(1);
  });

  it('checks goto_table before changing anything (OFPBIC_BAD_TABLE_ID), and runs the validation hook', () => {
    const p = newTables({}, (_t, ins) => (ins.some((i) => i.type === 'meter') ? { type: OFPET.BAD_INSTRUCTION, code: OFPBIC.UNSUP_INST, reason: 'no meters' } : null));
    const goto = (tableId: number): Instruction[] => [{ type: 'goto_table', tableId }];
    const bad = [OFPET.BAD_INSTRUCTION, OFPBIC.BAD_TABLE_ID];
    expect(errCode(p.flowMod(fm({ tableId: 2, instructions: goto(2) }), 0).error)).toEqual(bad);
    expect(errCode(p.flowMod(fm({ tableId: 2, instructions: goto(1) }), 0).error)).toEqual(bad);
    expect(errCode(p.flowMod(fm({ tableId: 2, instructions: goto(N_TABLES) }), 0).error)).toEqual(bad);
    ok(p.flowMod(fm({ tableId: 2, match: [inPort(1)], instructions: goto(3) }), 0).error);
    ok(p.flowMod(fm({ tableId: 5, match: [inPort(1)], instructions: output(1) }), 0).error);
    // A modify that would put goto 3 into table 5 fails and changes nothing.
    expect(errCode(p.flowMod(fm({ command: OFPFC.MODIFY, tableId: 5, match: [inPort(1)], instructions: goto(3) }), 0).error)).toEqual(bad);
    expect(originOf(p.rules.table(5)!.list()[0]).instructions).toEqual(output(1));
    expect(originOf(p.rules.table(2)!.list()[0]).instructions).toEqual(goto(3));
    expect(errCode(p.flowMod(fm({ instructions: [{ type: 'meter', meterId: 1 }] }), 0).error)).toEqual([OFPET.BAD_INSTRUCTION, OFPBIC.UNSUP_INST]);
    expect(p.rules.flowCount).toBe(2);
  });

  it('answers flow, aggregate and table stats over one table or all', () => {
    const p = newTables({ nTables: 4 });
    ok(p.flowMod(fm({ tableId: 1, priority: 3, match: [inPort(1)], instructions: output(2) }), 0).error);
    ok(p.flowMod(fm({ tableId: 2, priority: 4, match: [inPort(1)], instructions: output(3) }), 0).error);
    const e = p.rules.table(1)!.lookup(pkt(), 0)!;
    e.counters[FlowCounter.Packets] = 10;
    e.counters[FlowCounter.Bytes] = 1000;
    p.rules.table(1)!.lookup(pkt({ port: 8 }), 0);
    const flows = p.flowStats(statsFilter(), 1000) as { tableId: number }[];
    expect(flows.map((f) => f.tableId)).toEqual([1, 2]);
    expect((p.flowStats(statsFilter({ tableId: 2 }), 1000) as { tableId: number }[]).map((f) => f.tableId)).toEqual([2]);
    expect(p.aggregateStats(statsFilter())).toEqual({ packetCount: 10n, byteCount: 1000n, flowCount: 2 });
    expect(p.aggregateStats(statsFilter({ outPort: 3 }))).toEqual({ packetCount: 0n, byteCount: 0n, flowCount: 1 });
    expect(p.tableStats()).toEqual([
      { tableId: 0, activeCount: 0, lookupCount: 0n, matchedCount: 0n },
      { tableId: 1, activeCount: 1, lookupCount: 2n, matchedCount: 1n },
      { tableId: 2, activeCount: 1, lookupCount: 0n, matchedCount: 0n },
      { tableId: 3, activeCount: 0, lookupCount: 0n, matchedCount: 0n },
    ]);
  });
});
