/*
 * The inspection routes of the admin socket (src/inspect-routes.ts) over a
 * switch with MemoryPorts: the MAC table listing (port, VLAN, MAC, age),
 * the exact-match cache dump after traffic, the status (forwarding mode,
 * ports with link state and counters), and the trace route's answers to bad
 * input. And the CLI's text for status and fdb (src/inspect-cli.ts).
 */

import { describe, expect, it } from 'vitest';
import { formatFdb, formatStatus } from '../../src/inspect-cli.js';
import { inspectRoutes, inspectStatus, type FdbAnswer, type InspectTarget } from '../../src/inspect-routes.js';
import { OFPP, OFPPC } from '../../src/openflow/codec/v13/enums.js';
import type { CacheReport, TraceReport } from '../../src/openflow/ofproto/trace-format.js';
import { formatCache } from '../../src/openflow/ofproto/trace-format.js';
import { handleAdminRequest, type AdminContext, type AdminStatus } from '../../src/stats/admin.js';
import { LlstatWindows } from '../../src/stats/llstat.js';
import { udpFrame } from '../helpers/frames.js';
import { apply, gotoTable, inPort, macNum, out, setField, setup, type Harness } from '../helpers/of-harness.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const C = '02:00:00:00:00:0c';

function admin(h: Harness): { ctx: AdminContext; t: InspectTarget } {
  const t: InspectTarget = { datapath: h.dp, normal: h.normal, ofSwitch: h.sw, datapathId: 0xabcn, version: '9.9.9', openflow: () => null };
  const ctx: AdminContext = { llstat: new LlstatWindows(h.dp), status: () => inspectStatus(t, performance.now() - 65_000), routes: inspectRoutes(t) };
  return { ctx, t };
}

describe('GET /v1/fdb', () => {
  it('lists every learned MAC with its port, VLAN and age, sorted by port; nothing when nothing was learned', () => {
    const h = setup(3, { failMode: 'standalone' });
    const { ctx } = admin(h);
    expect((handleAdminRequest(ctx, 'GET', '/v1/fdb').body as FdbAnswer).entries).toEqual([]);
    h.send(1, udpFrame(A, B, { vlan: 20 }));
    h.send(0, udpFrame(B, A));
    h.send(2, udpFrame(A, C));
    const r = handleAdminRequest(ctx, 'GET', '/v1/fdb');
    expect(r.status).toBe(200);
    const f = r.body as FdbAnswer;
    expect(f.entries.map(({ port, name, vlan, mac }) => ({ port, name, vlan, mac }))).toEqual([
      { port: 1, name: 'm1', vlan: 0, mac: A },
      { port: 2, name: 'm2', vlan: 20, mac: B },
      { port: 3, name: 'm3', vlan: 0, mac: C },
    ]);
    for (const e of f.entries) expect(e.ageSec).toBe(0);
    expect(f).toMatchObject({ size: 3, maxEntries: 8192, agingSec: 300, stats: { learned: 3 } });
    const text = formatFdb(f);
    expect(text).toMatch(/^ port\s+NAME\s+VLAN\s+MAC\s+Age\n\s+1\s+m1\s+0\s+02:00:00:00:00:0a\s+0\n\s+2\s+m2\s+20\s+02:00:00:00:00:0b\s+0\n/);
    expect(text).toMatch(/3 entries \(at most 8192, aging 300 s; learned 3/);
  });
});

describe('GET /v1/cache', () => {
  it('lists the cached flows with the rules they stand for, and the totals', () => {
    const h = setup(3, { megaflow: false });
    h.flow({ tableId: 0, priority: 5, cookie: 0xan, match: [inPort(1)], instructions: [gotoTable(1)] });
    h.flow({ tableId: 1, priority: 7, cookie: 0xbn, match: [], instructions: [apply(setField({ field: 'eth_dst', value: macNum(C) }), out(3))] });
    const { ctx } = admin(h);
    expect((handleAdminRequest(ctx, 'GET', '/v1/cache').body as CacheReport).entries).toEqual([]);
    const f = udpFrame(B, A);
    h.send(0, f, f, f);
    h.send(1, udpFrame(A, B)); // no rule for in_port 2: a table miss, cached too
    const r = handleAdminRequest(ctx, 'GET', '/v1/cache').body as CacheReport & { forwarding: string };
    expect(r.forwarding).toBe('openflow');
    expect(r).toMatchObject({ live: 2, hits: 2, misses: 2, inserts: 2, walks: 2, programsBuilt: 2 });
    expect(r.hitCounts).toMatch(/not kept/);
    const fromA = r.entries.find((e) => e.flow.includes('in_port=1'))!;
    expect(fromA.flow).toMatch(/^udp,in_port=1,dl_src=02:00:00:00:00:0a,dl_dst=02:00:00:00:00:0b,/);
    expect(fromA.path).toMatchObject([
      { table: 0, rule: { priority: 5, cookie: '0xa', match: 'in_port=1', actions: 'goto_table:1', packets: 3 } },
      { table: 1, rule: { priority: 7, cookie: '0xb', actions: 'set_field:02:00:00:00:00:0c->eth_dst,output:3', packets: 3 } },
    ]);
    expect(fromA.actions).toBe('set_field:02:00:00:00:00:0c->eth_dst,output:3');
    const fromB = r.entries.find((e) => e.flow.includes('in_port=2'))!;
    expect(fromB.path).toEqual([{ table: 0, rule: null }]);
    expect(fromB.actions).toBe('drop');
    expect(handleAdminRequest(ctx, 'GET', '/v1/cache?limit=1').body).toMatchObject({ live: 2, entries: [{}] });
    expect(handleAdminRequest(ctx, 'GET', '/v1/cache?limit=x')).toEqual({ status: 400, body: { error: 'limit: "x" is not a whole number' } });
    const text = formatCache(r, 'OpenFlow tables');
    expect(text).toMatch(/^cache in use: the exact-match cache alone \(megaflow cache off\) \(forwarding: OpenFlow tables\)\nexact-match cache: 2 of 8192 entries live \(generation \d+, insert 1 miss in 1\)\n/);
    expect(r.inUse).toBe('emc');
    expect(text).toMatch(/totals: 2 hits, 2 misses, 2 inserts, 0 evictions/);
    expect(text).toMatch(/slot \d+, program \d+: table 0 priority=5 cookie=0xa n_packets=3 -> table 1 priority=7 cookie=0xb n_packets=3/);
    // A flow change moves the generation: every entry is dead.
    h.flow({ tableId: 1, priority: 9, match: [], instructions: [] });
    expect(handleAdminRequest(ctx, 'GET', '/v1/cache').body).toMatchObject({ live: 0, entries: [] });
  });
});

describe('GET /v1/status', () => {
  it('says which pipeline forwards and why, and gives each port its link state, config and counters', () => {
    const h = setup(2, { failMode: 'secure' });
    const { ctx } = admin(h);
    h.flow({ match: [], instructions: [apply(out(OFPP.FLOOD))] });
    h.send(0, udpFrame(B, A), udpFrame(B, A));
    h.ports[1].linkUp = false;
    h.tick();
    expect(h.sw.portMod({ type: 'port_mod', xid: 0, portNo: 1, hwAddr: 0, config: OFPPC.NO_PACKET_IN, mask: OFPPC.NO_PACKET_IN, advertise: 0 })).toBeNull();
    const st = handleAdminRequest(ctx, 'GET', '/v1/status').body as AdminStatus;
    expect(st).toMatchObject({
      datapathId: '0x0000000000000abc', version: '9.9.9', uptimeSec: 65, pid: process.pid,
      mode: { forwarding: 'openflow', failMode: 'secure', why: 'fail mode secure, no controller connected' },
      controllers: [], listeners: [], connections: [], tables: { flows: 1, groups: 0, meters: 0, macs: 0 },
    });
    expect(st.ports[0]).toMatchObject({ port: 1, name: 'm1', kind: 'memory', link: { up: true, carrier: true }, config: ['no_packet_in'], rx: { frames: 2 }, tx: { frames: 0 } });
    expect(st.ports[1]).toMatchObject({ port: 2, link: { up: false, carrier: false }, config: [], rx: { frames: 0 }, tx: { frames: 2 }, forwarding: { dropped: 0 } });
    const text = formatStatus(st);
    expect(text).toMatch(/^linc-ts 9\.9\.9 datapath 0x0000000000000abc, pid \d+, up 1m 5s\n/);
    expect(text).toMatch(/forwarding: OpenFlow tables \(fail mode secure, no controller connected\)/);
    expect(text).toMatch(/\n\s+1\s+m1\s+memory\s+up\(no_packet_in\)\s+\d+\s+00:00:00:00:00:00\s+2\s+\d+\s+0\s+0\s+0\s+0\s+0\n/);
    expect(text).toMatch(/\n\s+2\s+m2\s+memory\s+down\s/);
  });

  it('standalone with no controller: the learning switch forwards', () => {
    const h = setup(1, { failMode: 'standalone' });
    expect((handleAdminRequest(admin(h).ctx, 'GET', '/v1/status').body as AdminStatus).mode).toEqual({
      forwarding: 'standalone', failMode: 'standalone', why: 'fail mode standalone, no controller connected',
    });
  });
});

describe('POST /v1/trace', () => {
  it('traces a flow or a frame on a port by number or name; bad input is one sentence', () => {
    const h = setup(2);
    h.flow({ match: [inPort(1)], instructions: [apply(out(2))] });
    const { ctx } = admin(h);
    const ok = handleAdminRequest(ctx, 'POST', '/v1/trace', { flow: `in_port=m1,dl_dst=${B},udp` });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ mode: 'openflow', inPort: { port: 1, name: 'm1' }, verdict: 'port 2 (m2)', cache: 'miss' });
    const f = udpFrame(B, A);
    const hex = Buffer.from(f).toString('hex');
    const byFrame = handleAdminRequest(ctx, 'POST', '/v1/trace', { frame: hex, flow: 'in_port=1' }).body as TraceReport;
    expect(byFrame.outputs).toMatchObject([{ kind: 'port', port: 2, frame: hex }]);
    expect(handleAdminRequest(ctx, 'POST', '/v1/trace', { frame: hex, inPort: 2 }).body).toMatchObject({ verdict: 'drop (table-miss)' });
    const bad: Array<[unknown, number, string | RegExp]> = [
      [undefined, 400, 'trace needs a flow (in_port=1,dl_dst=...) or a frame'],
      [{ flow: 'udp' }, 400, 'trace needs in_port=PORT (a port number or name)'],
      [{ flow: 'in_port=1,udp,tp_dts=1' }, 400, 'unknown field "tp_dts" (did you mean tp_dst?)'],
      [{ flow: 'in_port=7,udp' }, 404, 'no port 7'],
      [{ flow: 'in_port=nope,udp' }, 404, 'no port nope'],
      [{ frame: 'xyz', inPort: 1 }, 400, '--frame: not an even number of hex digits'],
      [{ frame: hex, flow: 'in_port=1,udp' }, 400, 'with a frame, the flow gives only in_port=PORT'],
      [{ frame: hex }, 400, 'trace needs in_port=PORT (a port number or name)'],
      [{ flow: 5 }, 400, 'trace: "flow" must be a string'],
      [{ frame: 'ab'.repeat(20000), inPort: 1 }, 400, /larger than a slot/],
    ];
    for (const [body, status, error] of bad) {
      const r = handleAdminRequest(ctx, 'POST', '/v1/trace', body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect((r.body as { error: string }).error).toMatch(error);
    }
  });
});
