/*
 * Dry-run traces (src/datapath/rules/trace.ts) over the OpenFlow pipeline
 * and the learning switch with MemoryPorts: each frame is traced first, then
 * really sent, and the trace must name exactly where it really went (the
 * same ports with the same bytes, the same packet-ins, the same drops); the
 * trace itself must change nothing: no counter of a port, table, rule,
 * classifier, group, meter or the pipeline, no EMC entry, no MAC entry, no
 * pool slot, no frame sent.
 */

import { describe, expect, it } from 'vitest';
import { portVlanOf } from '../../src/datapath/learning/vlan.js';
import { traceFrame } from '../../src/datapath/rules/trace.js';
import { MF_SUBTABLES } from '../../src/datapath/rules/megaflow.js';
import type { DatapathTrace } from '../../src/datapath/rules/trace-events.js';
import type { Action } from '../../src/openflow/codec/v13/actions.js';
import { OFPCML, OFPG, OFPGT, OFPMC, OFPMF, OFPP, OFPR } from '../../src/openflow/codec/v13/enums.js';
import { traceReport, formatTrace } from '../../src/openflow/ofproto/trace-format.js';
import { parseTraceFlow } from '../../src/openflow/ofproto/trace-flow.js';
import { apply, gotoTable, inPort, macNum, out, setField, setup, write, type Harness } from '../helpers/of-harness.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const C = '02:00:00:00:00:0c';

/** Everything a trace must leave as it was. */
function state(h: Harness): unknown {
  const sw = h.sw, p = sw.pipeline;
  return {
    ports: h.dp.portList.map((d) => [...d.counters.c, d.txn, d.ofPort]),
    sent: h.ports.map((m) => m.sent.length),
    tables: sw.tables.tables.map((t) => [...t.counters, ...t.classifier.stats, ...t.list().flatMap((e) => [...e.counters])]),
    generation: sw.tables.generation,
    groups: sw.groups.list().map((g) => [...g.counters, ...g.bucketCounters]),
    meters: sw.meters.list().map((m) => [...m.counters, ...m.tokens, ...m.bandCounters, m.last[0]]),
    pipeline: [...p.stats, p.programCount],
    emc: [[...p.emc.stats], Array.from(p.emc.gens), Array.from(p.emc.programs)],
    megaflow: [[...p.megaflow.stats], p.megaflow.liveEntries(), p.megaflow.masks()],
    macs: [h.normal.macs.entries(h.clock.now), h.normal.macs.size, { ...h.normal.macs.stats }],
    pool: h.dp.pool.free,
    packetIns: h.events.packetIns.length,
  };
}

/** Traces `flow` (ovs-ofctl syntax), checks nothing changed, then sends it for real; returns the trace and what really happened. */
function traceThenSend(h: Harness, flow: string) {
  const { inPort: ip, frame } = parseTraceFlow(flow);
  const inPortNo = Number(ip);
  const before = state(h);
  const trace = traceFrame(h.dp, h.sw.pipeline, inPortNo, frame, h.clock.now);
  expect(state(h), 'the trace changed something').toEqual(before);
  const pis = h.events.packetIns.length;
  h.send(inPortNo - 1, frame);
  const sent = h.taken();
  const packetIns = h.events.packetIns.slice(pis);
  return { trace, sent, packetIns, frame };
}

/** The trace's port outputs as [port, bytes] pairs, and what the ports really sent, in the same form. */
function compareOutputs(trace: DatapathTrace, sent: Uint8Array[][]): void {
  const traced = trace.outputs.flatMap((o) => (o.kind === 'output' ? [[o.port, Array.from(o.frame)]] : []));
  const real = sent.flatMap((frames, i) => frames.map((f) => [i + 1, Array.from(f)]));
  const order = (a: unknown[], b: unknown[]) => JSON.stringify(a).localeCompare(JSON.stringify(b));
  expect(traced.sort(order)).toEqual(real.sort(order));
}

const group = (groupId: number): Action => ({ type: 'group', groupId });

function multiTable(h: Harness): void {
  expect(h.sw.groupMod({
    type: 'group_mod', xid: 0, command: 0, groupType: OFPGT.ALL, groupId: 1,
    buckets: [
      { weight: 0, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [out(2)] },
      { weight: 0, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [setField({ field: 'ipv4_dst', value: 0x0a090909 }), out(3)] },
    ],
  })).toBeNull();
  h.flow({ tableId: 0, priority: 100, match: [inPort(1), { field: 'eth_type', value: 0x0800 }], instructions: [{ type: 'write_metadata', metadata: 0x5n, metadataMask: 0xffn }, gotoTable(1)] });
  h.flow({ tableId: 0, priority: 0, cookie: 0x99n, match: [], instructions: [apply(out(OFPP.CONTROLLER, OFPCML.NO_BUFFER))] });
  // UDP: a new eth_dst, then group 1 (all): port 2 as is, port 3 with a new ipv4_dst.
  h.flow({
    tableId: 1, priority: 10, cookie: 0x11n,
    match: [{ field: 'metadata', value: 0x5n, mask: 0xffn }, { field: 'eth_type', value: 0x0800 }, { field: 'ip_proto', value: 17 }],
    instructions: [apply(setField({ field: 'eth_dst', value: macNum(C) }), group(1))],
  });
  // TCP: output:3 written into the action set, then table 2, where nothing matches: the action set never runs.
  h.flow({ tableId: 1, priority: 10, match: [{ field: 'eth_type', value: 0x0800 }, { field: 'ip_proto', value: 6 }], instructions: [write(out(3)), gotoTable(2)] });
  // ICMP: to the controller from table 1 (reason action), and on to port 2 through the action set of table 3.
  h.flow({ tableId: 1, priority: 10, cookie: 0x77n, match: [{ field: 'eth_type', value: 0x0800 }, { field: 'ip_proto', value: 1 }], instructions: [apply(out(OFPP.CONTROLLER, 64)), write(out(2)), gotoTable(3)] });
  h.flow({ tableId: 3, priority: 1, match: [{ field: 'ipv4_dst', value: 0x0a000002 }, { field: 'eth_type', value: 0x0800 }], instructions: [apply({ type: 'dec_nw_ttl' })] });
}

const FLOW = `dl_src=${A},dl_dst=${B},nw_src=10.0.0.1,nw_dst=10.0.0.2`;

describe('trace over the OpenFlow tables', () => {
  it('goto_table, write_metadata, set_field and a group: the trace names the real outputs, bytes included, and changes nothing', () => {
    const h = setup(3);
    multiTable(h);
    h.sw.setEventSink({ packetIn: (pi) => h.events.packetIns.push(pi), flowRemoved: () => {}, portStatus: () => {} });
    const { trace, sent } = traceThenSend(h, `in_port=1,${FLOW},udp,tp_dst=53`);
    expect(trace.pipeline).toBe('rules');
    expect(trace.events.filter((e) => e.kind === 'table').map((e) => [e.table, e.entry?.cookie])).toEqual([[0, 0n], [1, 0x11n]]);
    expect(trace.events.find((e) => e.kind === 'write-metadata')).toMatchObject({ metadata: 5n });
    expect(trace.events.filter((e) => e.kind === 'bucket').map((e) => e.bucket)).toEqual([0, 1]);
    expect(trace.outputs.map((o) => (o.kind === 'output' ? o.port : -1))).toEqual([2, 3]);
    expect(sent[1]).toHaveLength(1);
    expect(sent[2]).toHaveLength(1);
    compareOutputs(trace, sent);
    expect(trace.drops).toEqual([]);
    expect(trace.cached).toEqual({ cache: 'none', program: -1 }); // first frame of this flow: no cache has an entry yet
    // Sent once: the megaflow cache (the default) now holds it, and a second trace says so, still changing nothing.
    const again = traceThenSend(h, `in_port=1,${FLOW},udp,tp_dst=53`);
    expect(again.trace.cached).toMatchObject({ cache: 'megaflow' });
    expect(again.trace.cached!.program).toBeGreaterThanOrEqual(0);
    compareOutputs(again.trace, again.sent);
  });

  it('names the cache that would answer: megaflow, the exact-match cache (alone, or behind it), none, or off', () => {
    const line = (h: Harness, flow: string) => formatTrace(traceReport(traceThenSend(h, flow).trace, { why: 'test', portName: () => '' })).split('\n').find((l) => l.startsWith('Cache:'));
    const flow = `in_port=1,${FLOW},udp,tp_dst=53`;
    for (const megaflow of [true, false]) {
      const h = setup(3, { megaflow });
      multiTable(h);
      expect(line(h, flow)).toBe('Cache:   miss (no cache holds it: the tables would be walked)');
      expect(line(h, flow)).toBe(`Cache:   hit (the ${megaflow ? 'megaflow' : 'exact-match'} cache would serve it)`);
    }
    // A key whose mask the megaflow cache refused is in the exact-match cache behind it.
    const h = setup(3);
    for (let t = 1; t <= MF_SUBTABLES + 1; t++) {
      h.flow({ tableId: 0, priority: 10, match: [{ field: 'eth_type', value: 0x0800 }, { field: 'ip_proto', value: 17 }, { field: 'udp_src', value: 1000 + t }], instructions: [gotoTable(t)] });
      h.flow({ tableId: t, priority: 10, match: [{ field: 'eth_type', value: 0x0800 }, { field: 'ipv4_dst', value: 0x0a000000, mask: (0xffffffff << (16 - t)) >>> 0 }], instructions: [apply(out(2))] });
    }
    for (let t = 1; t <= MF_SUBTABLES + 1; t++) traceThenSend(h, `in_port=1,${FLOW},udp,tp_src=${1000 + t}`);
    expect(traceThenSend(h, `in_port=1,${FLOW},udp,tp_src=1001`).trace.cached).toMatchObject({ cache: 'megaflow' });
    expect(traceThenSend(h, `in_port=1,${FLOW},udp,tp_src=${1001 + MF_SUBTABLES}`).trace.cached).toMatchObject({ cache: 'emc' });
    const off = setup(3, { emc: 0 });
    multiTable(off);
    traceThenSend(off, flow);
    expect(line(off, flow)).toBe('Cache:   off');
  });

  it('a table miss drops the frame there, action set and all', () => {
    const h = setup(3);
    multiTable(h);
    const { trace, sent } = traceThenSend(h, `in_port=1,${FLOW},tcp,tp_dst=80`);
    expect(trace.events.filter((e) => e.kind === 'table').map((e) => [e.table, e.entry === null])).toEqual([[0, false], [1, false], [2, true]]);
    expect(trace.outputs).toEqual([]);
    expect(trace.drops.map((d) => d.reason)).toEqual(['table-miss']);
    expect(sent).toEqual([[], [], []]);
  });

  it('punts to the controller (reason, table, cookie, length as the packet-in says) and goes on through the action set', () => {
    const h = setup(3);
    multiTable(h);
    const { trace, sent, packetIns } = traceThenSend(h, `in_port=1,${FLOW},icmp,icmp_type=8`);
    const punts = trace.outputs.filter((o) => o.kind === 'punt');
    expect(packetIns).toHaveLength(1);
    expect(punts).toHaveLength(1);
    expect(punts[0]).toMatchObject({ table: packetIns[0].tableId, cookie: packetIns[0].cookie, bytes: packetIns[0].data.length, heldBack: null });
    expect(packetIns[0].reason).toBe(OFPR.ACTION);
    compareOutputs(trace, sent);
    expect(sent[1]).toHaveLength(1); // the action set's output:2 after dec_ttl
    expect(sent[1][0][22]).toBe(63);
    // From another port, no rule of table 0 matches but the table-miss rule: no_match.
    const miss = traceThenSend(h, `in_port=2,${FLOW},udp`);
    expect(miss.trace.outputs).toMatchObject([{ kind: 'punt', cookie: 0x99n, table: 0 }]);
    expect(miss.packetIns[0].reason).toBe(OFPR.NO_MATCH);
  });

  it('edits before goto_table are what the next table matches (set_field, push_vlan), as in the real walk', () => {
    const h = setup(3);
    h.flow({ tableId: 0, priority: 1, match: [inPort(1), { field: 'eth_type', value: 0x0800 }], instructions: [apply(setField({ field: 'ipv4_dst', value: 0x0a090909 }), { type: 'push_vlan', ethertype: 0x8100 }, setField({ field: 'vlan_vid', value: 0x1005 })), gotoTable(4)] });
    h.flow({ tableId: 4, priority: 9, match: [{ field: 'vlan_vid', value: 0x1005 }, { field: 'eth_type', value: 0x0800 }, { field: 'ipv4_dst', value: 0x0a090909 }], instructions: [apply(out(3))] });
    h.flow({ tableId: 4, priority: 1, match: [], instructions: [apply(out(2))] });
    for (let round = 0; round < 2; round++) {
      const { trace, sent } = traceThenSend(h, `in_port=1,${FLOW},udp`);
      expect(trace.events.filter((e) => e.kind === 'table').map((e) => [e.table, e.entry?.priority])).toEqual([[0, 1], [4, 9]]);
      expect(sent.map((x) => x.length)).toEqual([0, 0, 1]);
      compareOutputs(trace, sent);
    }
  });

  it('with no rule at all: a table miss in table 0', () => {
    const h = setup(2);
    const { trace, sent } = traceThenSend(h, `in_port=2,${FLOW},udp`);
    expect(trace.drops).toMatchObject([{ reason: 'table-miss' }]);
    expect(sent).toEqual([[], []]);
  });

  it('meters: a pass now is a pass for the real frame, and the tokens are not spent by the trace', () => {
    const h = setup(2);
    expect(h.sw.meterMod({ type: 'meter_mod', xid: 0, command: OFPMC.ADD, flags: OFPMF.PKTPS | OFPMF.BURST, meterId: 4, bands: [{ type: 'drop', rate: 1, burstSize: 1 }] })).toBeNull();
    h.flow({ priority: 1, match: [], instructions: [{ type: 'meter', meterId: 4 }, apply(out(2))] });
    const first = traceThenSend(h, `in_port=1,${FLOW},udp`);
    expect(first.trace.events.find((e) => e.kind === 'meter')).toMatchObject({ meterId: 4, verdict: { kind: 'pass' } });
    compareOutputs(first.trace, first.sent);
    // The one-packet burst is spent: the next frame (same instant) would be dropped, and is.
    const second = traceThenSend(h, `in_port=1,${FLOW},udp,tp_src=9`);
    expect(second.trace.drops).toMatchObject([{ reason: 'meter' }]);
    expect(second.sent).toEqual([[], []]);
  });

  it('renders as text: the rules as the controller installed them, the actions, the outputs', () => {
    const h = setup(3);
    multiTable(h);
    const { frame } = parseTraceFlow(`in_port=1,${FLOW},udp,tp_dst=53`);
    const tr = traceFrame(h.dp, h.sw.pipeline, 1, frame, h.clock.now);
    const text = formatTrace(traceReport(tr, { why: 'test', portName: (p) => `m${p}` }));
    expect(text).toContain('table 0: priority=100,ip,in_port=1 cookie=0x0 actions=write_metadata:0x5/0xff,goto_table:1');
    expect(text).toContain('table 1: priority=10,udp,metadata=0x5/0xff cookie=0x11 actions=set_field:02:00:00:00:00:0c->eth_dst,group:1');
    expect(text).toMatch(/group 1: bucket 1 \(of 2\)\n\s+set_field:10\.9\.9\.9->ipv4_dst\n\s+output:3\n\s+-> port 3 \(m3\): udp,dl_src=02:00:00:00:00:0a,dl_dst=02:00:00:00:00:0c,.*nw_dst=10\.9\.9\.9/);
    expect(text).toMatch(/Final: +port 2 \(m2\), port 3 \(m3\)/);
  });
});

describe('trace over the learning switch (standalone)', () => {
  it('floods an unknown destination, then, once it has been learned, names its port; learns nothing itself', () => {
    const h = setup(3, { failMode: 'standalone' });
    const flood = traceThenSend(h, `in_port=1,dl_src=${A},dl_dst=${B},udp`);
    expect(flood.trace.pipeline).toBe('normal');
    expect(flood.trace.events.find((e) => e.kind === 'normal')).toMatchObject({ verdict: { decision: 'flood', learn: 'new', why: 'unknown-destination' } });
    compareOutputs(flood.trace, flood.sent);
    expect(flood.sent.map((s) => s.length)).toEqual([0, 1, 1]);
    // The real frame taught the switch A on port 1: a frame to A from port 2 goes to port 1 only.
    const learned = traceThenSend(h, `in_port=2,dl_src=${B},dl_dst=${A},udp`);
    expect(learned.trace.events.find((e) => e.kind === 'normal')).toMatchObject({ verdict: { decision: 'port', port: 1, learn: 'new' } });
    compareOutputs(learned.trace, learned.sent);
    expect(learned.sent.map((s) => s.length)).toEqual([1, 0, 0]);
    // A destination learned on the in port: dropped.
    const back = traceThenSend(h, `in_port=1,dl_src=${C},dl_dst=${A},udp`);
    expect(back.trace.drops).toMatchObject([{ reason: 'dst-is-in-port' }]);
    expect(back.sent).toEqual([[], [], []]);
  });

  it('follows the VLAN rules: access ports pop and push, trunks filter, a refused VLAN is a drop; bytes as really sent', () => {
    const h = setup(4, { failMode: 'standalone' });
    h.normal.setPortVlan(h.dp.port(1)!, portVlanOf({ vlan: 10 }));
    h.normal.setPortVlan(h.dp.port(2)!, portVlanOf({ vlan: 10 }));
    h.normal.setPortVlan(h.dp.port(3)!, portVlanOf({ vlan: 20 }));
    h.normal.setPortVlan(h.dp.port(4)!, portVlanOf({ trunks: [10, 20] }));
    // Untagged on access port 1 (VLAN 10): to port 2 untagged, to the trunk tagged 10, never to port 3.
    const flood = traceThenSend(h, `in_port=1,dl_src=${A},dl_dst=${B},udp`);
    compareOutputs(flood.trace, flood.sent);
    expect(flood.sent.map((x) => x.length)).toEqual([0, 1, 0, 1]);
    // Tagged 20 on the trunk: to port 3 only, tag popped.
    const trunk = traceThenSend(h, `in_port=4,dl_vlan=20,dl_src=${C},dl_dst=${B},udp`);
    compareOutputs(trunk.trace, trunk.sent);
    expect(trunk.sent.map((x) => x.length)).toEqual([0, 0, 1, 0]);
    // Tagged 30 on the trunk, and tagged 10 on an access port: refused.
    const refused = traceThenSend(h, `in_port=4,dl_vlan=30,dl_src=${C},dl_dst=${B},udp`);
    expect(refused.trace.drops).toMatchObject([{ reason: 'vlan' }]);
    expect(refused.sent).toEqual([[], [], [], []]);
    const tagged = traceThenSend(h, `in_port=2,dl_vlan=10,dl_src=${B},dl_dst=${A},udp`);
    expect(tagged.trace.drops).toMatchObject([{ reason: 'vlan' }]);
    expect(tagged.sent).toEqual([[], [], [], []]);
    // A learned destination on the same VLAN: that port only.
    const learned = traceThenSend(h, `in_port=2,dl_src=${B},dl_dst=${A},udp`);
    compareOutputs(learned.trace, learned.sent);
    expect(learned.sent.map((x) => x.length)).toEqual([1, 0, 0, 0]);
  });

  it('a frame too short for Ethernet, and a port that does not receive, are drops with their reason', () => {
    const h = setup(2, { failMode: 'standalone' });
    expect(traceFrame(h.dp, h.sw.pipeline, 1, new Uint8Array(10), 0).drops).toMatchObject([{ reason: 'too-short' }]);
    h.dp.port(2)!.rxEnabled = false;
    const { frame } = parseTraceFlow(`dl_src=${A},dl_dst=${B},udp`);
    expect(traceFrame(h.dp, h.sw.pipeline, 2, frame, 0).drops).toMatchObject([{ reason: 'rx-disabled' }]);
    expect(() => traceFrame(h.dp, h.sw.pipeline, 9, frame, 0)).toThrow(/no port 9/);
  });
});
