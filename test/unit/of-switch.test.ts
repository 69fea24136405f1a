/*
 * OfSwitch, the contract the control channel calls: flow-mod errors and
 * flow-removed, packet-out (ports, IN_PORT, TABLE), port-mod bits and
 * port-status, table-mod, switch config, every multipart body (encoded with
 * the codec to prove it fits the wire), queue config.
 */

import { describe, expect, it } from 'vitest';
import { PipelineStat } from '../../src/datapath/rules/actions-exec.js';
import type { Action } from '../../src/openflow/codec/v13/actions.js';
import {
  OFPBAC, OFPBIC, OFPBMC, OFPBRC, OFPC, OFPET, OFPFC, OFPFF, OFPFMFC, OFPG, OFPM, OFPMMFC, OFPP, OFPPC, OFPPMFC, OFPPR, OFPPS, OFPQOFC,
  OFPRR, OFPSCFC, OFPTFFC, OFPTMFC, OFPTT,
} from '../../src/openflow/codec/v13/enums.js';
import type { AggregateStatsReply, FlowStatsReply } from '../../src/openflow/codec/v13/msg/mp-flow.js';
import type { PortDescReply, PortStatsReply, TableStatsReply } from '../../src/openflow/codec/v13/msg/mp-stats.js';
import type { TableFeaturesReply } from '../../src/openflow/codec/v13/msg/mp-table-features.js';
import type { MultipartReplyBody, MultipartRequestBody } from '../../src/openflow/codec/v13/msg/multipart.js';
import type { PacketOut } from '../../src/openflow/codec/v13/msg/packet-out.js';
import type { PortMod } from '../../src/openflow/codec/v13/msg/port-mod.js';
import { decodeMessage, encodeMessage } from '../../src/openflow/codec/wire.js';
import { MemoryPort } from '../../src/ports/memory-port.js';
import { PortStat } from '../../src/datapath/port-counters.js';
import { BCAST, udpFrame } from '../helpers/frames.js';
import { apply, fm, gotoTable, inPort, macNum, out, setField, setup } from '../helpers/of-harness.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';

function po(actions: Action[], data: Uint8Array, inPortNo: number = OFPP.CONTROLLER, bufferId = 0xffffffff): PacketOut {
  return { type: 'packet_out', xid: 0, bufferId, inPort: inPortNo, actions, data };
}

function pm(portNo: number, config: number, mask: number, hwAddr = 0): PortMod {
  return { type: 'port_mod', xid: 0, portNo, hwAddr, config, mask, advertise: 0 };
}

/** Every body encodes to a valid multipart reply message and decodes back to the same body. */
function roundTrip(bodies: MultipartReplyBody[]): void {
  for (const body of bodies) {
    const buf = encodeMessage({ type: 'multipart_reply', xid: 1, flags: 0, body });
    expect(buf.length).toBeLessThanOrEqual(0xffff);
    const back = decodeMessage(buf);
    expect('ok' in back).toBe(true);
  }
}

function mp(h: ReturnType<typeof setup>, req: MultipartRequestBody): MultipartReplyBody[] {
  const r = h.sw.multipart(req);
  if (!Array.isArray(r)) throw new Error(`multipart refused: ${r.type}/${r.code}`);
  roundTrip(r);
  return r;
}

describe('features', () => {
  it('advertises the real table count, no buffers, and its capabilities', () => {
    const h = setup();
    expect(h.sw.nTables).toBe(64);
    expect(h.sw.datapathId).toBe(0xabcn);
    expect(h.sw.capabilities).toBe(OFPC.FLOW_STATS | OFPC.TABLE_STATS | OFPC.PORT_STATS | OFPC.GROUP_STATS | OFPC.QUEUE_STATS);
  });
});

describe('flow-mod errors', () => {
  const cases: [string, Partial<Parameters<typeof fm>[0]>, number, number][] = [
    ['output to a port that does not exist', { instructions: [apply(out(9))] }, OFPET.BAD_ACTION, OFPBAC.BAD_OUT_PORT],
    ['output to port 0', { instructions: [apply(out(0))] }, OFPET.BAD_ACTION, OFPBAC.BAD_OUT_PORT],
    ['output:TABLE in a flow', { instructions: [apply(out(OFPP.TABLE))] }, OFPET.BAD_ACTION, OFPBAC.BAD_OUT_PORT],
    ['output:ANY', { instructions: [write(out(OFPP.ANY))] }, OFPET.BAD_ACTION, OFPBAC.BAD_OUT_PORT],
    ['a group that does not exist', { instructions: [apply({ type: 'group', groupId: 3 })] }, OFPET.BAD_ACTION, OFPBAC.BAD_OUT_GROUP],
    ['goto a table that does not exist', { instructions: [gotoTable(64)] }, OFPET.BAD_INSTRUCTION, OFPBIC.BAD_TABLE_ID],
    ['goto backwards', { tableId: 5, instructions: [gotoTable(2)] }, OFPET.BAD_INSTRUCTION, OFPBIC.BAD_TABLE_ID],
    ['a table that does not exist', { tableId: 200 }, OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_TABLE_ID],
    ['a meter that does not exist', { instructions: [{ type: 'meter', meterId: 1 }] }, OFPET.METER_MOD_FAILED, OFPMMFC.UNKNOWN_METER],
    ['set_field of a read-only field', { match: [{ field: 'eth_type', value: 0x86dd }], instructions: [apply(setField({ field: 'ipv6_exthdr', value: 1 }))] }, OFPET.BAD_ACTION, OFPBAC.BAD_SET_TYPE],
    ['set_field of ip_proto without IP in the match', { instructions: [apply(setField({ field: 'ip_proto', value: 6 }))] }, OFPET.BAD_ACTION, OFPBAC.MATCH_INCONSISTENT],
    ['set_field of IPv4 after set_field eth_type to IPv6', { match: [{ field: 'eth_type', value: 0x800 }], instructions: [apply(setField({ field: 'eth_type', value: 0x86dd }), setField({ field: 'ipv4_src', value: 1 }))] }, OFPET.BAD_ACTION, OFPBAC.MATCH_INCONSISTENT],
    ['set_field with a mask', { instructions: [apply(setField({ field: 'eth_dst', value: 1, mask: 1 }))] }, OFPET.BAD_ACTION, OFPBAC.BAD_SET_ARGUMENT],
    ['set_field out of range', { instructions: [apply(setField({ field: 'vlan_pcp', value: 9 }))] }, OFPET.BAD_ACTION, OFPBAC.BAD_SET_ARGUMENT],
    ['set_field without its prerequisite', { instructions: [apply(setField({ field: 'ipv4_src', value: 1 }))] }, OFPET.BAD_ACTION, OFPBAC.MATCH_INCONSISTENT],
    ['set_field of IP after push_mpls', { match: [{ field: 'eth_type', value: 0x800 }], instructions: [apply({ type: 'push_mpls', ethertype: 0x8847 }, setField({ field: 'ipv4_src', value: 1 }))] }, OFPET.BAD_ACTION, OFPBAC.MATCH_INCONSISTENT],
    ['push_vlan with a bad ethertype', { instructions: [apply({ type: 'push_vlan', ethertype: 0x0800 })] }, OFPET.BAD_ACTION, OFPBAC.BAD_ARGUMENT],
    ['push_mpls with a bad ethertype', { instructions: [apply({ type: 'push_mpls', ethertype: 0x0800 })] }, OFPET.BAD_ACTION, OFPBAC.BAD_ARGUMENT],
    ['push_pbb with a bad ethertype', { instructions: [apply({ type: 'push_pbb', ethertype: 0x8100 })] }, OFPET.BAD_ACTION, OFPBAC.BAD_ARGUMENT],
    ['set_field of IP after push_pbb', { match: [{ field: 'eth_type', value: 0x800 }], instructions: [apply({ type: 'push_pbb', ethertype: 0x88e7 }, setField({ field: 'ipv4_src', value: 1 }))] }, OFPET.BAD_ACTION, OFPBAC.MATCH_INCONSISTENT],
    ['set_field of pbb_isid after pop_pbb', { match: [{ field: 'eth_type', value: 0x88e7 }], instructions: [apply({ type: 'pop_pbb' }, setField({ field: 'pbb_isid', value: 1 }))] }, OFPET.BAD_ACTION, OFPBAC.MATCH_INCONSISTENT],
    ['set_field of pbb_isid on a non-PBB match', { match: [{ field: 'eth_type', value: 0x800 }], instructions: [apply(setField({ field: 'pbb_isid', value: 1 }))] }, OFPET.BAD_ACTION, OFPBAC.MATCH_INCONSISTENT],
    ['an experimenter action', { instructions: [apply({ type: 'experimenter', experimenter: 0x2320, data: Buffer.alloc(8) })] }, OFPET.BAD_ACTION, OFPBAC.BAD_EXPERIMENTER],
    ['an experimenter instruction', { instructions: [{ type: 'experimenter', experimenter: 0x2320, data: Buffer.alloc(0) }] }, OFPET.BAD_INSTRUCTION, OFPBIC.BAD_EXPERIMENTER],
    ['an instruction twice', { instructions: [apply(out(1)), apply(out(2))] }, OFPET.BAD_INSTRUCTION, OFPBIC.UNSUP_INST],
    ['a match without its prerequisite', { match: [{ field: 'tcp_dst', value: 80 }] }, OFPET.BAD_MATCH, OFPBMC.BAD_PREREQ],
    ['unknown flags', { flags: 0x100 }, OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_FLAGS],
    ['an unknown command', { command: 9 }, OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_COMMAND],
  ];
  it.each(cases)('%s', (_name, spec, type, code) => {
    const h = setup();
    const e = h.sw.flowMod(fm(spec));
    expect(e && [e.type, e.code]).toEqual([type, code]);
    expect(h.sw.tables.flowCount).toBe(0);
  });

  it('a buffer id is refused after the flow is installed (this switch buffers nothing)', () => {
    const h = setup();
    const e = h.sw.flowMod(fm({ bufferId: 7, instructions: [apply(out(2))] }));
    expect(e && [e.type, e.code]).toEqual([OFPET.BAD_REQUEST, OFPBRC.BUFFER_UNKNOWN]);
    expect(h.sw.tables.flowCount).toBe(1);
  });

  it('CHECK_OVERLAP refuses an overlapping flow of the same priority', () => {
    const h = setup();
    h.flow({ match: [inPort(1)], instructions: [apply(out(2))] });
    const e = h.sw.flowMod(fm({ match: [{ field: 'eth_dst', value: macNum(B) }], flags: OFPFF.CHECK_OVERLAP }));
    expect(e && [e.type, e.code]).toEqual([OFPET.FLOW_MOD_FAILED, OFPFMFC.OVERLAP]);
  });
});

function write(...actions: Action[]) {
  return { type: 'write_actions' as const, actions };
}

describe('flow-removed', () => {
  it('on delete only for flows with SEND_FLOW_REM, with their counters', () => {
    const h = setup();
    h.flow({ match: [inPort(1)], cookie: 1n, flags: OFPFF.SEND_FLOW_REM, instructions: [apply(out(2))] });
    h.flow({ match: [inPort(2)], cookie: 2n, instructions: [apply(out(1))] });
    h.send(0, udpFrame(B, A, { size: 80 }), udpFrame(B, A, { size: 80 }));
    h.clock.now += 1500;
    expect(h.sw.flowMod(fm({ command: OFPFC.DELETE, tableId: OFPTT.ALL }))).toBeNull();
    expect(h.sw.tables.flowCount).toBe(0);
    expect(h.events.flowRemoved).toHaveLength(1);
    expect(h.events.flowRemoved[0]).toMatchObject({ cookie: 1n, reason: OFPRR.DELETE, packetCount: 2n, byteCount: 160n, durationSec: 1, tableId: 0 });
    expect(h.events.flowRemoved[0].match).toEqual([inPort(1)]);
  });

  it('on idle and hard timeouts, from tick()', () => {
    const h = setup();
    h.flow({ match: [inPort(1)], cookie: 10n, idleTimeout: 2, flags: OFPFF.SEND_FLOW_REM, instructions: [apply(out(2))] });
    h.flow({ match: [inPort(2)], cookie: 11n, hardTimeout: 3, idleTimeout: 0, flags: OFPFF.SEND_FLOW_REM, instructions: [apply(out(1))] });
    const start = h.clock.now;
    h.clock.now = start + 1500;
    h.send(0, udpFrame(B, A)); // keeps the idle flow alive
    h.send(1, udpFrame(A, B));
    h.clock.now = start + 3000;
    h.tick();
    expect(h.events.flowRemoved.map((r) => [r.cookie, r.reason])).toEqual([[11n, OFPRR.HARD_TIMEOUT]]);
    h.clock.now = start + 3600;
    h.tick();
    expect(h.events.flowRemoved.map((r) => [r.cookie, r.reason])).toEqual([[11n, OFPRR.HARD_TIMEOUT], [10n, OFPRR.IDLE_TIMEOUT]]);
    expect(h.events.flowRemoved[1].packetCount).toBe(1n);
    expect(h.sw.tables.flowCount).toBe(0);
  });
});

describe('packet-out', () => {
  it('sends the given frame through its actions; FLOOD from the controller reaches every port', () => {
    const h = setup();
    const f = udpFrame(B, A);
    expect(h.sw.packetOut(po([out(2)], f))).toBeNull();
    expect(h.taken()).toEqual([[], [f], []]);
    expect(h.sw.packetOut(po([out(OFPP.FLOOD)], f))).toBeNull();
    expect(h.taken()).toEqual([[f], [f], [f]]);
    expect(h.sw.packetOut(po([out(OFPP.FLOOD)], f, 2))).toBeNull(); // in_port 2 is left out
    expect(h.taken()).toEqual([[f], [], [f]]);
    expect(h.sw.packetOut(po([out(OFPP.IN_PORT)], f, 3))).toBeNull();
    expect(h.taken()).toEqual([[], [], [f]]);
    expect(h.sw.packetOut(po([setField({ field: 'eth_dst', value: macNum(BCAST) }), out(1)], f))).toBeNull();
    expect([...h.taken()[0][0].subarray(0, 6)]).toEqual([255, 255, 255, 255, 255, 255]);
    expect(h.dp.pool.inUse).toBe(0);
  });

  it('output:TABLE runs the pipeline with the packet-out in_port', () => {
    const h = setup();
    h.flow({ match: [inPort(3)], instructions: [apply(out(1))] });
    h.flow({ match: [{ field: 'in_port', value: OFPP.CONTROLLER }], instructions: [apply(out(2))] });
    const f = udpFrame(B, A);
    expect(h.sw.packetOut(po([out(OFPP.TABLE)], f, 3))).toBeNull();
    expect(h.taken()).toEqual([[f], [], []]);
    expect(h.sw.packetOut(po([out(OFPP.TABLE)], f))).toBeNull();
    expect(h.taken()).toEqual([[], [f], []]);
    expect(h.sw.tables.tables[0].list().map((e) => e.packetCount)).toEqual([1, 1]);
  });

  it('refuses buffers, bad in_ports and bad actions', () => {
    const h = setup();
    const f = udpFrame(B, A);
    const err = (p: PacketOut) => {
      const e = h.sw.packetOut(p);
      return e && [e.type, e.code];
    };
    expect(err(po([out(2)], f, OFPP.CONTROLLER, 5))).toEqual([OFPET.BAD_REQUEST, OFPBRC.BUFFER_UNKNOWN]);
    expect(err(po([out(2)], f, 0))).toEqual([OFPET.BAD_REQUEST, OFPBRC.BAD_PORT]);
    expect(err(po([out(2)], f, OFPP.FLOOD))).toEqual([OFPET.BAD_REQUEST, OFPBRC.BAD_PORT]);
    expect(err(po([out(7)], f))).toEqual([OFPET.BAD_ACTION, OFPBAC.BAD_OUT_PORT]);
    expect(err(po([{ type: 'group', groupId: 1 }], f))).toEqual([OFPET.BAD_ACTION, OFPBAC.BAD_OUT_GROUP]);
    expect(err(po([out(2)], new Uint8Array(5000)))).toEqual([OFPET.BAD_REQUEST, OFPBRC.BAD_PACKET]);
    expect(h.taken()).toEqual([[], [], []]);
  });
});

describe('port-mod and port-status', () => {
  it('PORT_DOWN stops forwarding to and from the port; NO_RECV drops what it receives; NO_FWD what is sent to it', () => {
    const h = setup(3);
    h.flow({ match: [], priority: 0, instructions: [apply(out(OFPP.FLOOD))] });
    const f = udpFrame(BCAST, A);
    expect(h.sw.portMod(pm(2, OFPPC.PORT_DOWN, OFPPC.PORT_DOWN))).toBeNull();
    h.send(0, f);
    h.send(1, f);
    expect(h.taken()).toEqual([[], [], [f]]);
    expect(h.sw.portMod(pm(2, 0, OFPPC.PORT_DOWN))).toBeNull();
    expect(h.sw.portMod(pm(3, OFPPC.NO_FWD, OFPPC.NO_FWD))).toBeNull();
    expect(h.sw.portMod(pm(1, OFPPC.NO_RECV, OFPPC.NO_RECV))).toBeNull();
    h.send(0, f);
    h.send(1, f);
    expect(h.taken()).toEqual([[f], [], []]);
    expect(h.dp.port(1)!.counters.c[PortStat.FwdDropped]).toBeGreaterThan(0);
    expect(h.events.portStatus.map((p) => [p.reason, p.desc.portNo, p.desc.config])).toEqual([
      [OFPPR.MODIFY, 2, OFPPC.PORT_DOWN], [OFPPR.MODIFY, 2, 0], [OFPPR.MODIFY, 3, OFPPC.NO_FWD], [OFPPR.MODIFY, 1, OFPPC.NO_RECV],
    ]);
  });

  it('NO_PACKET_IN silences packet-ins for frames from the port', () => {
    const h = setup();
    h.flow({ match: [], priority: 0, instructions: [apply(out(OFPP.CONTROLLER))] });
    expect(h.sw.portMod(pm(1, OFPPC.NO_PACKET_IN, OFPPC.NO_PACKET_IN))).toBeNull();
    h.send(0, udpFrame(B, A));
    h.send(1, udpFrame(B, A));
    expect(h.events.packetIns.map((p) => p.match)).toEqual([[inPort(2)]]);
    expect(h.sw.pipeline.stats[PipelineStat.PacketInBlocked]).toBe(1);
  });

  it('answers bad port-mods', () => {
    const h = setup();
    const err = (m: PortMod) => {
      const e = h.sw.portMod(m);
      return e && [e.type, e.code];
    };
    expect(err(pm(9, 0, OFPPC.PORT_DOWN))).toEqual([OFPET.PORT_MOD_FAILED, OFPPMFC.BAD_PORT]);
    expect(err(pm(1, 0, OFPPC.PORT_DOWN, 0x020000000001))).toEqual([OFPET.PORT_MOD_FAILED, OFPPMFC.BAD_HW_ADDR]);
    expect(err(pm(1, 1 << 3, 1 << 3))).toEqual([OFPET.PORT_MOD_FAILED, OFPPMFC.BAD_CONFIG]);
  });

  it('emits ADD and DELETE as the datapath gains and loses a port, and MODIFY when the link poll sees a change', () => {
    const h = setup(2);
    const p3 = new MemoryPort({ name: 'm3', ofPort: 3 });
    h.dp.addPort(p3);
    // At once, not at the next tick.
    expect(h.events.portStatus.map((p) => [p.reason, p.desc.portNo])).toEqual([[OFPPR.ADD, 3]]);
    p3.linkUp = false;
    h.tick();
    h.dp.removePort(3);
    expect(h.events.portStatus.map((p) => [p.reason, p.desc.portNo, p.desc.name])).toEqual([
      [OFPPR.ADD, 3, 'm3'], [OFPPR.MODIFY, 3, 'm3'], [OFPPR.DELETE, 3, 'm3'],
    ]);
    expect(h.events.portStatus[0].desc.state).toBe(OFPPS.LIVE);
    expect(h.events.portStatus[1].desc.state).toBe(OFPPS.LINK_DOWN);
    // Nothing more from the tick: each change was sent once.
    h.tick();
    expect(h.events.portStatus).toHaveLength(3);
  });

  it('keeps flows that name a removed port; their output to it drops and is counted, also when another port takes its place in the list', () => {
    const h = setup(3);
    h.flow({ priority: 10, match: [inPort(1)], instructions: [apply(out(3))] });
    const f = udpFrame(B, A);
    h.send(0, f);
    expect(h.taken()).toEqual([[], [], [f]]);
    h.dp.removePort(3);
    const p4 = new MemoryPort({ name: 'm4', ofPort: 4 });
    h.dp.addPort(p4); // the same number of ports as before: a stale port table would still send to m3
    const before = h.sw.pipeline.stats[PipelineStat.NoSuchPort];
    h.send(0, f);
    h.send(0, f);
    expect(h.sw.pipeline.stats[PipelineStat.NoSuchPort]).toBe(before + 2);
    expect(h.ports[2].sent).toHaveLength(0); // m3 got only the frame sent before its removal (taken above)
    expect(p4.sent).toHaveLength(0);
    const [flows] = mp(h, { type: 'flow', tableId: OFPTT.ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: 0n, cookieMask: 0n, match: [] }) as FlowStatsReply[];
    expect(flows.entries).toHaveLength(1);
    expect(flows.entries[0].instructions).toEqual([apply(out(3))]);
  });
});

describe('table-mod and config', () => {
  it('accepts table-mod for existing tables and the deprecated bits only', () => {
    const h = setup();
    expect(h.sw.tableMod({ type: 'table_mod', xid: 0, tableId: 3, config: 3 })).toBeNull();
    expect(h.sw.tableMod({ type: 'table_mod', xid: 0, tableId: OFPTT.ALL, config: 0 })).toBeNull();
    const bad = h.sw.tableMod({ type: 'table_mod', xid: 0, tableId: 100, config: 0 });
    expect(bad && [bad.type, bad.code]).toEqual([OFPET.TABLE_MOD_FAILED, OFPTMFC.BAD_TABLE]);
    const badCfg = h.sw.tableMod({ type: 'table_mod', xid: 0, tableId: 1, config: 8 });
    expect(badCfg && [badCfg.type, badCfg.code]).toEqual([OFPET.TABLE_MOD_FAILED, OFPTMFC.BAD_CONFIG]);
  });

  it('get/set config: miss_send_len, fragment drop; reassembly refused', () => {
    const h = setup();
    expect(h.sw.getConfig()).toEqual({ flags: 0, missSendLen: 128 });
    expect(h.sw.setConfig(1, 200)).toBeNull();
    expect(h.sw.getConfig()).toEqual({ flags: 1, missSendLen: 200 });
    const bad = h.sw.setConfig(2, 200);
    expect(bad && [bad.type, bad.code]).toEqual([OFPET.SWITCH_CONFIG_FAILED, OFPSCFC.BAD_FLAGS]);
    const unknown = h.sw.setConfig(0x80, 200);
    expect(unknown && [unknown.type, unknown.code]).toEqual([OFPET.SWITCH_CONFIG_FAILED, OFPSCFC.BAD_FLAGS]);
    expect(h.sw.getConfig()).toEqual({ flags: 1, missSendLen: 200 }); // refused requests changed nothing
    h.flow({ match: [], priority: 0, instructions: [apply(out(2))] });
    const frag = udpFrame(B, A);
    frag[14 + 6] = 0x20; // MF: a first fragment
    h.send(0, frag, udpFrame(B, A));
    expect(h.taken()[1]).toHaveLength(1);
    expect(h.sw.pipeline.stats[PipelineStat.FragDrops]).toBe(1);
  });
});

describe('multipart', () => {
  it('desc', () => {
    const h = setup();
    const [d] = mp(h, { type: 'desc' }) as { mfrDesc: string; dpDesc: string }[];
    expect(d.mfrDesc).toBe('linc-ts');
    expect(d.dpDesc).toContain('0000000000000abc');
  });

  it('flow and aggregate with filters; table stats', () => {
    const h = setup();
    h.flow({ match: [inPort(1)], cookie: 0x10n, priority: 7, instructions: [apply(out(2))] });
    h.flow({ match: [inPort(2)], cookie: 0x20n, instructions: [apply(out(3))] });
    h.flow({ tableId: 2, match: [], cookie: 0x11n, priority: 0, instructions: [apply(out(3))] });
    h.send(0, udpFrame(B, A, { size: 70 }), udpFrame(B, A, { size: 70 }));
    const all = { tableId: OFPTT.ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: 0n, cookieMask: 0n, match: [] };
    const [flows] = mp(h, { type: 'flow', ...all }) as FlowStatsReply[];
    expect(flows.entries).toHaveLength(3);
    const e1 = flows.entries.find((e) => e.cookie === 0x10n)!;
    expect(e1).toMatchObject({ tableId: 0, priority: 7, packetCount: 2n, byteCount: 140n, match: [inPort(1)], instructions: [apply(out(2))] });
    const [byCookie] = mp(h, { type: 'flow', ...all, cookie: 0x10n, cookieMask: 0xf0n }) as FlowStatsReply[];
    expect(byCookie.entries.map((e) => e.cookie).sort()).toEqual([0x10n, 0x11n]);
    const [byPort] = mp(h, { type: 'flow', ...all, outPort: 3 }) as FlowStatsReply[];
    expect(byPort.entries.map((e) => e.cookie).sort()).toEqual([0x11n, 0x20n]);
    const [agg] = mp(h, { type: 'aggregate', ...all, tableId: 0 }) as AggregateStatsReply[];
    expect(agg).toEqual({ type: 'aggregate', packetCount: 2n, byteCount: 140n, flowCount: 2 });
    const [tables] = mp(h, { type: 'table' }) as TableStatsReply[];
    expect(tables.entries).toHaveLength(64);
    expect(tables.entries[0]).toEqual({ tableId: 0, activeCount: 2, lookupCount: 2n, matchedCount: 2n });
    expect(tables.entries[2].activeCount).toBe(1);
    const bad = h.sw.multipart({ type: 'flow', ...all, tableId: 99 });
    expect(!Array.isArray(bad) && [bad.type, bad.code]).toEqual([OFPET.BAD_REQUEST, OFPBRC.BAD_TABLE_ID]);
  });

  it('splits a long flow dump into bodies that each fit a message', () => {
    const h = setup();
    for (let i = 0; i < 1500; i++) h.flow({ match: [inPort(1), { field: 'eth_dst', value: 0x020000000000 + i }], instructions: [apply(out(2))] });
    const bodies = mp(h, { type: 'flow', tableId: OFPTT.ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: 0n, cookieMask: 0n, match: [] }) as FlowStatsReply[];
    expect(bodies.length).toBeGreaterThan(1);
    expect(bodies.reduce((n, b) => n + b.entries.length, 0)).toBe(1500);
  });

  it('port stats from the port counters; port desc with config and state', () => {
    const h = setup();
    h.flow({ match: [inPort(1)], instructions: [apply(out(2))] });
    h.send(0, udpFrame(B, A, { size: 90 }), udpFrame(B, A, { size: 90 }), udpFrame(B, A, { size: 90 }));
    h.clock.now += 4200;
    const [ps] = mp(h, { type: 'port_stats', portNo: OFPP.ANY }) as PortStatsReply[];
    expect(ps.entries.map((e) => e.portNo)).toEqual([1, 2, 3]);
    expect(ps.entries[0]).toMatchObject({ rxPackets: 3n, rxBytes: 270n, txPackets: 0n, durationSec: 4 });
    expect(ps.entries[1]).toMatchObject({ rxPackets: 0n, txPackets: 3n, txBytes: 270n });
    const [one] = mp(h, { type: 'port_stats', portNo: 2 }) as PortStatsReply[];
    expect(one.entries.map((e) => e.portNo)).toEqual([2]);
    expect(h.sw.portMod(pm(3, OFPPC.NO_FWD, OFPPC.NO_FWD))).toBeNull();
    const [pd] = mp(h, { type: 'port_desc' }) as PortDescReply[];
    expect(pd.ports.map((p) => [p.portNo, p.name, p.config, p.state])).toEqual([
      [1, 'm1', 0, OFPPS.LIVE], [2, 'm2', 0, OFPPS.LIVE], [3, 'm3', OFPPC.NO_FWD, OFPPS.LIVE],
    ]);
    expect(pd.ports[0].currSpeed).toBeGreaterThan(0);
  });

  it('queue stats are empty (no queues); queue config likewise', () => {
    const h = setup();
    expect(mp(h, { type: 'queue', portNo: OFPP.ANY, queueId: 0xffffffff })).toEqual([{ type: 'queue', entries: [] }]);
    const bad = h.sw.multipart({ type: 'queue', portNo: 9, queueId: 0xffffffff });
    expect(!Array.isArray(bad) && [bad.type, bad.code]).toEqual([OFPET.QUEUE_OP_FAILED, OFPQOFC.BAD_PORT]);
    expect(h.sw.queueGetConfig(1)).toEqual({ port: 1, queues: [] });
    expect(h.sw.queueGetConfig(OFPP.ANY)).toEqual({ port: OFPP.ANY, queues: [] });
    const badQ = h.sw.queueGetConfig(9);
    expect('code' in badQ && [badQ.type, badQ.code]).toEqual([OFPET.QUEUE_OP_FAILED, OFPQOFC.BAD_PORT]);
  });

  it('table features describe what each table really does; setting them is refused', () => {
    const h = setup();
    const bodies = mp(h, { type: 'table_features', entries: [] }) as TableFeaturesReply[];
    const all = bodies.flatMap((b) => b.entries);
    expect(all.map((t) => t.tableId)).toEqual(Array.from({ length: 64 }, (_, i) => i));
    const t0 = all[0];
    const next = t0.properties.find((p) => p.type === 'next_tables') as { tableIds: number[] };
    expect(next.tableIds).toEqual(Array.from({ length: 63 }, (_, i) => i + 1));
    const last = all[63].properties.find((p) => p.type === 'instructions') as { instructionIds: { type: number }[] };
    expect(last.instructionIds.map((i) => i.type)).not.toContain(1); // no goto from the last table
    const m = t0.properties.find((p) => p.type === 'match') as { oxmIds: { field: number; hasMask: boolean }[] };
    expect(m.oxmIds.find((x) => x.field === 11)!.hasMask).toBe(true); // ipv4_src, maskable
    expect(m.oxmIds.find((x) => x.field === 37)!.hasMask).toBe(true); // pbb_isid, maskable
    const acts = t0.properties.find((p) => p.type === 'apply_actions') as { actionIds: { type: number }[] };
    expect(acts.actionIds.map((a) => a.type)).toEqual(expect.arrayContaining([26, 27])); // push_pbb, pop_pbb
    const setFields = t0.properties.find((p) => p.type === 'apply_setfield') as { oxmIds: { field: number }[] };
    expect(setFields.oxmIds.map((x) => x.field)).toContain(37); // set_field pbb_isid
    const setReq = h.sw.multipart({ type: 'table_features', entries: [t0] });
    expect(!Array.isArray(setReq) && [setReq.type, setReq.code]).toEqual([OFPET.TABLE_FEATURES_FAILED, OFPTFFC.EPERM]);
  });

  it('experimenter multipart is refused with BAD_EXPERIMENTER', () => {
    const h = setup();
    const r = h.sw.multipart({ type: 'experimenter', experimenter: 0x2320, expType: 1, data: new Uint8Array(0) });
    expect(!Array.isArray(r) && [r.type, r.code]).toEqual([OFPET.BAD_REQUEST, OFPBRC.BAD_EXPERIMENTER]);
  });

  it('group and meter bodies encode too', () => {
    const h = setup();
    expect(h.sw.meterMod({ type: 'meter_mod', xid: 0, command: 0, flags: 1, meterId: 1, bands: [{ type: 'drop', rate: 5, burstSize: 0 }] })).toBeNull();
    mp(h, { type: 'meter', meterId: OFPM.ALL });
    mp(h, { type: 'meter_config', meterId: OFPM.ALL });
    mp(h, { type: 'meter_features' });
    mp(h, { type: 'group', groupId: OFPG.ALL });
    mp(h, { type: 'group_desc' });
    mp(h, { type: 'group_features' });
  });
});
