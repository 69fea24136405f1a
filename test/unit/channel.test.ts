/*
 * The OpenFlow channel over in-memory Duplex pairs, with the controller
 * manager as its host and a fake switch behind it: hello negotiation
 * (including incompatible peers and a non-hello first message), framing
 * (coalesced and fragmented), malformed input answered with the right error
 * while the connection lives on, echo and the inactivity probe (fake
 * timers), features/config/barrier ordering, roles and generation ids,
 * async filters, multipart splitting and REQ_MORE assembly.
 */

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ControllerManager } from '../../src/openflow/transport/controller-manager.js';
import { defaultAsyncConfig } from '../../src/openflow/transport/async-config.js';
import type { ChannelKind, OfChannel } from '../../src/openflow/transport/channel.js';
import { splitMultipartReply } from '../../src/openflow/transport/multipart-reply.js';
import {
  encodeMessage, errorName, makeHello, messageSize, OFP_NO_BUFFER, OFPBAC, OFPBRC, OFPCR_ROLE, OFPET, OFPHFC, OFPMPF_REPLY_MORE,
  OFPMPF_REQ_MORE, OFPPR, OFPR, OFPRR, OFPRRFC, type ErrorMsg, type OfpMessage,
} from '../../src/openflow/codec/wire.js';
import type { FlowMod } from '../../src/openflow/codec/v13/msg/flow-mod.js';
import type { MultipartReply } from '../../src/openflow/codec/v13/msg/multipart.js';
import type { PortStats } from '../../src/openflow/codec/v13/msg/mp-stats.js';
import type { TableFeatures } from '../../src/openflow/codec/v13/msg/mp-table-features.js';
import { captureLogger, duplexPair, FakeOfSwitch, flush, PeerController, type LogRecord } from '../helpers/fake-of-switch.js';
import { FIXTURE_DIR, readHexFixture } from './openflow/fixtures.js';

interface Rig {
  sw: FakeOfSwitch;
  mgr: ControllerManager;
  lines: LogRecord[];
  connect(kind?: ChannelKind): { ch: OfChannel; peer: PeerController };
}

let managers: ControllerManager[] = [];
afterEach(() => {
  for (const m of managers) m.close();
  managers = [];
  vi.useRealTimers();
});

function rig(inactivityProbeMs = 0): Rig {
  const sw = new FakeOfSwitch();
  const { log, lines } = captureLogger();
  const mgr = new ControllerManager({ sw, log, inactivityProbeMs });
  sw.setEventSink(mgr);
  managers.push(mgr);
  let n = 0;
  return {
    sw,
    mgr,
    lines,
    connect(kind: ChannelKind = 'controller') {
      const [a, b] = duplexPair();
      const ch = mgr.attach(a, kind, `tcp:127.0.0.1:${6000 + n++}`);
      return { ch, peer: new PeerController(b) };
    },
  };
}

/** A connection that finished the hello exchange, with the switch's hello drained. */
async function up(r: Rig, kind: ChannelKind = 'controller'): Promise<{ ch: OfChannel; peer: PeerController }> {
  const c = r.connect(kind);
  c.peer.send(makeHello(1));
  await flush();
  expect(c.ch.state).toBe('up');
  c.peer.drain();
  return c;
}

function flowMod(xid: number, over: Partial<FlowMod> = {}): FlowMod {
  return {
    type: 'flow_mod', xid, cookie: 0x11n, cookieMask: 0n, tableId: 0, command: 0, idleTimeout: 0, hardTimeout: 0, priority: 100,
    bufferId: OFP_NO_BUFFER, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0, match: [], instructions: [], ...over,
  };
}

function errors(peer: PeerController): ErrorMsg[] {
  return peer.ofType('error');
}

describe('hello and version negotiation', () => {
  it('sends a hello offering only 1.3 at once, then answers features with the switch identity', async () => {
    const r = rig();
    const { ch, peer } = r.connect();
    await flush();
    const hello = peer.received[0];
    expect(hello).toEqual({ type: 'hello', version: 4, xid: expect.any(Number) as number, elements: [{ type: 'versionbitmap', bitmaps: [0x10] }] });
    expect(ch.state).toBe('hello');
    peer.send(makeHello(7));
    peer.send({ type: 'features_request', xid: 8 });
    await flush();
    expect(ch.state).toBe('up');
    expect(peer.ofType('features_reply')).toEqual([
      { type: 'features_reply', xid: 8, datapathId: 0xabcdn, nBuffers: 0, nTables: 64, auxiliaryId: 0, capabilities: r.sw.capabilities, reserved: 0 },
    ]);
    expect(r.sw.connectedCalls).toEqual([1]);
  });

  it('accepts a peer offering 1.3 among others, and a bitmap-less hello of a later version', async () => {
    const r = rig();
    const a = r.connect();
    a.peer.send({ type: 'hello', version: 6, xid: 1, elements: [{ type: 'versionbitmap', bitmaps: [(1 << 1) | (1 << 4) | (1 << 6)] }] });
    const b = r.connect();
    b.peer.send({ type: 'hello', version: 5, xid: 1, elements: [] });
    await flush();
    expect(a.ch.state).toBe('up');
    expect(b.ch.state).toBe('up');
    expect(r.sw.connectedCalls).toEqual([1, 2]);
  });

  it.each([
    ['an OpenFlow 1.0 hello without bitmap', { type: 'hello', version: 1, xid: 3, elements: [] }],
    ['a bitmap offering 1.0 and 1.4 only', { type: 'hello', version: 5, xid: 3, elements: [{ type: 'versionbitmap', bitmaps: [(1 << 1) | (1 << 5)] }] }],
  ] as const)('answers %s with HELLO_FAILED/INCOMPATIBLE and closes', async (_what, hello) => {
    const r = rig();
    const { ch, peer } = r.connect();
    peer.send(hello as unknown as OfpMessage);
    await flush();
    const [err] = errors(peer);
    expect(errorName(err.errType, err.code)).toBe(errorName(OFPET.HELLO_FAILED, OFPHFC.INCOMPATIBLE));
    expect(err.xid).toBe(3);
    expect(Buffer.from(err.data).toString('ascii')).toMatch(/0x04.*no common versions/);
    expect(ch.state).toBe('closed');
    expect(peer.ended).toBe(true);
    expect(r.sw.connectedCalls).toEqual([]);
    expect(r.lines.some((l) => l.msg === 'openflow version negotiation failed')).toBe(true);
  });

  it('closes without an error when the first message is not a hello (as OVS)', async () => {
    const r = rig();
    const { ch, peer } = r.connect();
    peer.send({ type: 'features_request', xid: 9 });
    await flush();
    expect(ch.state).toBe('closed');
    expect(peer.ended).toBe(true);
    expect(peer.received.map((m) => m.type)).toEqual(['hello']);
    expect(r.mgr.channelList()).toEqual([]);
  });

  it('does not count service (listener) connections for fail mode', async () => {
    const r = rig();
    const s = await up(r, 'service');
    expect(r.sw.connectedCalls).toEqual([]);
    const c = await up(r, 'controller');
    expect(r.sw.connectedCalls).toEqual([1]);
    s.ch.close('test');
    c.peer.close();
    await flush();
    expect(r.sw.connectedCalls).toEqual([1, 0]);
    expect(r.lines.some((l) => l.msg === 'controller disconnected' && l.target === c.ch.target)).toBe(true);
  });
});

describe('framing and malformed input', () => {
  it('handles several messages in one segment, in order', async () => {
    const r = rig();
    const { peer } = r.connect();
    const all = Buffer.concat([
      encodeMessage(makeHello(1)),
      encodeMessage({ type: 'echo_request', xid: 2, data: Buffer.from('ab') }),
      encodeMessage({ type: 'features_request', xid: 3 }),
      encodeMessage({ type: 'barrier_request', xid: 4 }),
    ]);
    peer.sendRaw(all);
    await flush();
    expect(peer.received.slice(1).map((m) => [m.type, m.xid])).toEqual([
      ['echo_reply', 2],
      ['features_reply', 3],
      ['barrier_reply', 4],
    ]);
  });

  it('reassembles messages split across segments, down to single bytes', async () => {
    const r = rig();
    const { peer } = await up(r);
    const bytes = Buffer.concat([encodeMessage(flowMod(5)), encodeMessage({ type: 'echo_request', xid: 6, data: Buffer.from('xyz') })]);
    for (let i = 0; i < bytes.length; i++) peer.sendRaw(bytes.subarray(i, i + 1));
    await flush(40);
    expect(r.sw.calls.map((c) => c.kind)).toEqual(['flowMod']);
    expect(peer.received).toEqual([{ type: 'echo_reply', xid: 6, data: Buffer.from('xyz') }]);
  });

  const STREAM_ONLY = new Set(['length_below_header', 'length_beyond_buffer', 'too_short']);
  const badFixtures = readdirSync(join(FIXTURE_DIR, 'bad'))
    .filter((f) => f.endsWith('.hex'))
    .map((f) => f.slice(0, -4))
    .filter((n) => !STREAM_ONLY.has(n));

  it(`answers each of ${badFixtures.length} malformed messages with its error and the first 64 bytes, and lives on`, async () => {
    const r = rig();
    const { ch, peer } = await up(r);
    for (const name of badFixtures) {
      const fx = readHexFixture(`bad/${name}`);
      const expected = fx.comments.find((c) => c.startsWith('expect: '))!.slice('expect: '.length);
      peer.sendRaw(fx.bytes);
      peer.send({ type: 'echo_request', xid: 0xeeee, data: Buffer.alloc(0) });
      await flush();
      const got = peer.drain();
      expect(got.map((m) => m.type), name).toEqual(['error', 'echo_reply']);
      const err = got[0] as ErrorMsg;
      expect(errorName(err.errType, err.code), name).toBe(expected);
      expect(err.xid, name).toBe(fx.bytes.readUInt32BE(4));
      expect(Buffer.from(err.data).equals(fx.bytes.subarray(0, 64)), name).toBe(true);
    }
    expect(ch.state).toBe('up');
    expect(r.sw.calls).toEqual([]);
  });

  it('answers a header length below 8 with BAD_LEN carrying that header, then closes', async () => {
    const r = rig();
    const { ch, peer } = await up(r);
    const fx = readHexFixture('bad/length_below_header');
    peer.sendRaw(Buffer.concat([fx.bytes, Buffer.alloc(16, 0x04)]));
    await flush();
    const [err] = errors(peer);
    expect(errorName(err.errType, err.code)).toBe(errorName(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN));
    expect(Buffer.from(err.data).equals(fx.bytes)).toBe(true);
    expect(ch.state).toBe('closed');
    expect(peer.ended).toBe(true);
  });

  it('refuses experimenter messages and messages only a switch sends, and keeps going', async () => {
    const r = rig();
    const { peer } = await up(r);
    peer.send({ type: 'experimenter', xid: 1, experimenter: 0x2320, expType: 7, data: Buffer.from([1, 2, 3, 4]) });
    peer.send({ type: 'barrier_reply', xid: 2 });
    peer.send({ type: 'packet_in', xid: 3, bufferId: OFP_NO_BUFFER, totalLen: 0, reason: 0, tableId: 0, cookie: 0n, match: [], data: Buffer.alloc(0) });
    peer.send({ type: 'barrier_request', xid: 4 });
    await flush();
    const got = peer.drain();
    expect(got.map((m) => (m.type === 'error' ? errorName(m.errType, m.code) : m.type))).toEqual([
      errorName(OFPET.BAD_REQUEST, OFPBRC.BAD_EXPERIMENTER),
      errorName(OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE),
      errorName(OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE),
      'barrier_reply',
    ]);
    expect(got.map((m) => m.xid)).toEqual([1, 2, 3, 4]);
  });
});

describe('random, truncated and mutated streams (property)', () => {
  const valid = [
    encodeMessage(flowMod(1)),
    readHexFixture('flow_add_l2').bytes,
    readHexFixture('mp_table_features_set').bytes,
    encodeMessage({ type: 'role_request', xid: 2, role: OFPCR_ROLE.MASTER, generationId: 9n }),
    encodeMessage({ type: 'multipart_request', xid: 3, flags: 0, body: { type: 'port_stats', portNo: 0xffffffff } }),
    encodeMessage({ type: 'set_async', xid: 4, packetInMask: [1, 0], portStatusMask: [7, 7], flowRemovedMask: [15, 0] }),
  ];
  const mutated = fc
    .tuple(fc.constantFrom(...valid), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.option(fc.nat()))
    .map(([msg, edits, cut]) => {
      const b = Buffer.from(msg);
      for (const [at, v] of edits) b[at % b.length] = v;
      return cut === null ? b : b.subarray(0, cut % (b.length + 1));
    });
  const chunk = fc.oneof(fc.uint8Array({ maxLength: 96 }), mutated);

  it('never throws, answers only with well-formed messages (or closes), and leaves other connections alone', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(chunk, { maxLength: 8 }), async (chunks) => {
        const r = rig();
        const a = await up(r);
        const b = await up(r);
        for (const c of chunks) a.peer.sendRaw(c);
        await flush();
        // PeerController throws on any message that does not decode; here only look at kinds and liveness.
        expect(a.ch.state === 'up' || (a.ch.state === 'closed' && a.peer.ended)).toBe(true);
        for (const m of a.peer.received) expect(['error', 'echo_reply', 'multipart_reply', 'barrier_reply', 'role_reply', 'get_async_reply', 'get_config_reply', 'features_reply', 'queue_get_config_reply']).toContain(m.type);
        b.peer.send({ type: 'echo_request', xid: 5, data: Buffer.from('b') });
        await flush();
        expect(b.peer.drain()).toEqual([{ type: 'echo_reply', xid: 5, data: Buffer.from('b') }]);
        for (const m of managers.splice(0)) m.close();
      }),
      { numRuns: 150 },
    );
  });
});

describe('requests the switch answers', () => {
  it('forwards errors from the switch with the offending message, ordered before a later barrier reply', async () => {
    const r = rig();
    const { peer } = await up(r);
    r.sw.nextError.set('flowMod', { type: OFPET.BAD_ACTION, code: OFPBAC.BAD_OUT_PORT });
    const fm = flowMod(21, { priority: 7 });
    peer.send(fm);
    peer.send(flowMod(22));
    peer.send(flowMod(23));
    peer.send({ type: 'barrier_request', xid: 24 });
    await flush();
    expect(r.sw.calls.map((c) => c.kind === 'flowMod' && c.msg.xid)).toEqual([21, 22, 23]);
    const got = peer.drain();
    expect(got.map((m) => [m.type, m.xid])).toEqual([
      ['error', 21],
      ['barrier_reply', 24],
    ]);
    const err = got[0] as ErrorMsg;
    expect(errorName(err.errType, err.code)).toBe(errorName(OFPET.BAD_ACTION, OFPBAC.BAD_OUT_PORT));
    expect(Buffer.from(err.data).equals(encodeMessage(fm).subarray(0, Math.min(64, messageSize(fm))))).toBe(true);
  });

  it('gets and sets the switch config, and answers queue-get-config', async () => {
    const r = rig();
    const { peer } = await up(r);
    peer.send({ type: 'set_config', xid: 1, flags: 1, missSendLen: 0xffff });
    peer.send({ type: 'get_config_request', xid: 2 });
    peer.send({ type: 'queue_get_config_request', xid: 3, port: 2 });
    await flush();
    expect(peer.drain()).toEqual([
      { type: 'get_config_reply', xid: 2, flags: 1, missSendLen: 0xffff },
      { type: 'queue_get_config_reply', xid: 3, port: 2, queues: [] },
    ]);
  });
});

describe('echo and the inactivity probe', () => {
  it('echoes the payload of an echo request', async () => {
    const r = rig();
    const { peer } = await up(r);
    peer.send({ type: 'echo_request', xid: 77, data: Buffer.from('keepalive') });
    await flush();
    expect(peer.drain()).toEqual([{ type: 'echo_reply', xid: 77, data: Buffer.from('keepalive') }]);
  });

  it('probes after 5 s of silence, stays up when answered, and disconnects 5 s after an unanswered probe', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const r = rig(5000);
    const { ch, peer } = await up(r);
    await vi.advanceTimersByTimeAsync(4900);
    expect(peer.ofType('echo_request')).toEqual([]);
    peer.send({ type: 'barrier_request', xid: 1 }); // activity restarts the clock
    await flush();
    await vi.advanceTimersByTimeAsync(4900);
    expect(peer.ofType('echo_request')).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    const [probe] = peer.ofType('echo_request');
    expect(probe).toBeDefined();
    peer.send({ type: 'echo_reply', xid: probe.xid, data: probe.data });
    await flush();
    await vi.advanceTimersByTimeAsync(4990);
    expect(ch.state).toBe('up');
    peer.drain();
    await vi.advanceTimersByTimeAsync(20); // 5 s since the reply: a second probe
    expect(peer.ofType('echo_request')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(4900); // the second probe went out at most 20 ms ago
    expect(ch.state).toBe('up');
    await vi.advanceTimersByTimeAsync(200);
    expect(ch.state).toBe('closed');
    expect(r.lines.find((l) => l.msg === 'controller disconnected')?.reason).toMatch(/inactivity probe/);
    expect(r.sw.connectedCalls).toEqual([1, 0]);
  });

  it('gives up on a peer that never sends its hello', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const r = rig(5000);
    const { ch } = r.connect();
    await vi.advanceTimersByTimeAsync(5001);
    expect(ch.state).toBe('closed');
  });
});

describe('roles', () => {
  async function roleReq(peer: PeerController, xid: number, role: number, generationId: bigint): Promise<OfpMessage> {
    peer.send({ type: 'role_request', xid, role, generationId });
    await flush();
    return peer.drain().find((m) => m.xid === xid)!;
  }

  it('elects a master by generation id, demotes the old master, refuses stale ids, and keeps slaves read-only', async () => {
    const r = rig();
    const a = await up(r);
    const b = await up(r);
    expect(await roleReq(a.peer, 1, OFPCR_ROLE.MASTER, 5n)).toEqual({ type: 'role_reply', xid: 1, role: OFPCR_ROLE.MASTER, generationId: 5n });
    expect(await roleReq(b.peer, 2, OFPCR_ROLE.MASTER, 6n)).toEqual({ type: 'role_reply', xid: 2, role: OFPCR_ROLE.MASTER, generationId: 6n });
    // a was demoted: NOCHANGE reports slave and the current generation id.
    expect(await roleReq(a.peer, 3, OFPCR_ROLE.NOCHANGE, 0n)).toEqual({ type: 'role_reply', xid: 3, role: OFPCR_ROLE.SLAVE, generationId: 6n });
    const stale = (await roleReq(a.peer, 4, OFPCR_ROLE.MASTER, 4n)) as ErrorMsg;
    expect(errorName(stale.errType, stale.code)).toBe(errorName(OFPET.ROLE_REQUEST_FAILED, OFPRRFC.STALE));
    expect(b.ch.role).toBe(OFPCR_ROLE.MASTER);
    expect(r.lines.some((l) => l.msg === 'controller role changed' && l.target === a.ch.target && l.to === 'slave')).toBe(true);

    // The slave cannot change the switch; the master can.
    const writes: OfpMessage[] = [
      flowMod(10),
      { type: 'packet_out', xid: 11, bufferId: OFP_NO_BUFFER, inPort: 0xfffffffd, actions: [], data: Buffer.alloc(14) },
      { type: 'group_mod', xid: 12, command: 0, groupType: 0, groupId: 1, buckets: [] },
      { type: 'port_mod', xid: 13, portNo: 1, hwAddr: 0x020000000001, config: 0, mask: 0, advertise: 0 },
      { type: 'table_mod', xid: 14, tableId: 0, config: 0 },
      { type: 'meter_mod', xid: 15, command: 0, flags: 1, meterId: 1, bands: [] },
      { type: 'multipart_request', xid: 16, flags: 0, body: { type: 'table_features', entries: [tableFeatures(0)] } },
    ] as OfpMessage[];
    for (const m of writes) a.peer.send(m);
    await flush();
    const refused = a.peer.drain() as ErrorMsg[];
    expect(refused.map((e) => [e.xid, errorName(e.errType, e.code)])).toEqual(writes.map((m) => [m.xid, errorName(OFPET.BAD_REQUEST, OFPBRC.IS_SLAVE)]));
    expect(r.sw.calls).toEqual([]);
    // A slave may still read.
    a.peer.send({ type: 'multipart_request', xid: 17, flags: 0, body: { type: 'desc' } });
    await flush();
    expect(a.peer.drain().map((m) => m.type)).toEqual(['multipart_reply']);
    for (const m of writes) b.peer.send(m);
    await flush();
    expect(b.peer.drain().filter((m) => m.type === 'error')).toEqual([]);
    expect(r.sw.calls.map((c) => c.kind)).toEqual(['multipart', 'flowMod', 'packetOut', 'groupMod', 'portMod', 'tableMod', 'meterMod', 'multipart']);
  });

  it('compares generation ids as a wrapping 64-bit distance, and lets equal ignore them', async () => {
    const r = rig();
    const a = await up(r);
    expect(await roleReq(a.peer, 1, OFPCR_ROLE.SLAVE, 0xffff_ffff_ffff_fff0n)).toMatchObject({ type: 'role_reply', role: OFPCR_ROLE.SLAVE });
    expect(await roleReq(a.peer, 2, OFPCR_ROLE.MASTER, 3n)).toMatchObject({ type: 'role_reply', role: OFPCR_ROLE.MASTER, generationId: 3n });
    const stale = (await roleReq(a.peer, 3, OFPCR_ROLE.SLAVE, 0xffff_ffff_ffff_fff8n)) as ErrorMsg;
    expect(stale.type).toBe('error');
    expect(stale.code).toBe(OFPRRFC.STALE);
    expect(await roleReq(a.peer, 4, OFPCR_ROLE.EQUAL, 0n)).toMatchObject({ type: 'role_reply', role: OFPCR_ROLE.EQUAL, generationId: 3n });
  });

  it('lets a slave set its own miss_send_len without touching the switch config', async () => {
    const r = rig();
    const a = await up(r);
    await roleReq(a.peer, 1, OFPCR_ROLE.SLAVE, 1n);
    a.peer.send({ type: 'set_config', xid: 2, flags: 0, missSendLen: 0 });
    await flush();
    expect(a.peer.drain()).toEqual([]);
    expect(r.sw.calls).toEqual([]);
    expect(a.ch.missSendLen).toBe(0);
  });
});

function tableFeatures(tableId: number): TableFeatures {
  return { tableId, name: `t${tableId}`, metadataMatch: 0n, metadataWrite: 0n, config: 0, maxEntries: 1000, properties: [] };
}

describe('asynchronous messages and their filters', () => {
  const pktIn = (reason: number) => ({ bufferId: OFP_NO_BUFFER, totalLen: 60, reason, tableId: 0, cookie: 0n, match: [], data: Buffer.alloc(60, 1) });
  const portStatus = (reason: number) => ({
    reason,
    desc: { portNo: 1, hwAddr: 0x020000000001, name: 'p1', config: 0, state: 0, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0 },
  });
  const flowRemoved = (reason: number) => ({
    cookie: 1n, priority: 1, reason, tableId: 0, durationSec: 1, durationNsec: 0, idleTimeout: 0, hardTimeout: 0, packetCount: 0n, byteCount: 0n, match: [],
  });

  function emitAll(r: Rig): void {
    for (const reason of [OFPR.NO_MATCH, OFPR.ACTION, OFPR.INVALID_TTL]) r.sw.sink!.packetIn(pktIn(reason));
    for (const reason of [OFPPR.ADD, OFPPR.DELETE, OFPPR.MODIFY]) r.sw.sink!.portStatus(portStatus(reason));
    for (const reason of [OFPRR.IDLE_TIMEOUT, OFPRR.HARD_TIMEOUT, OFPRR.DELETE, OFPRR.GROUP_DELETE]) r.sw.sink!.flowRemoved(flowRemoved(reason));
  }
  const summary = (p: PeerController) => p.drain().map((m) => `${m.type}:${(m as { reason?: number }).reason}:${m.xid}`);

  it('applies the spec defaults per role, and each connection’s own SET_ASYNC masks', async () => {
    const r = rig();
    const eq = await up(r);
    const sl = await up(r);
    const custom = await up(r);
    sl.peer.send({ type: 'role_request', xid: 1, role: OFPCR_ROLE.SLAVE, generationId: 1n });
    custom.peer.send({ type: 'set_async', xid: 2, packetInMask: [1 << OFPR.INVALID_TTL, 0], portStatusMask: [1 << OFPPR.DELETE, 0], flowRemovedMask: [0, 0] });
    custom.peer.send({ type: 'get_async_request', xid: 3 });
    await flush();
    sl.peer.drain();
    expect(custom.peer.drain()).toEqual([
      { type: 'get_async_reply', xid: 3, packetInMask: [1 << OFPR.INVALID_TTL, 0], portStatusMask: [1 << OFPPR.DELETE, 0], flowRemovedMask: [0, 0] },
    ]);
    emitAll(r);
    await flush();
    expect(summary(eq.peer)).toEqual([
      'packet_in:0:0', 'packet_in:1:0', 'port_status:0:0', 'port_status:1:0', 'port_status:2:0',
      'flow_removed:0:0', 'flow_removed:1:0', 'flow_removed:2:0', 'flow_removed:3:0',
    ]);
    expect(summary(sl.peer)).toEqual(['port_status:0:0', 'port_status:1:0', 'port_status:2:0']);
    expect(summary(custom.peer)).toEqual(['packet_in:2:0', 'port_status:1:0']);
    const d = defaultAsyncConfig();
    expect(d.packetIn).toEqual([3, 0]);
  });

  it('sends nothing asynchronous to a listener connection until it sets a nonzero miss_send_len (as OVS)', async () => {
    const r = rig();
    const svc = await up(r, 'service');
    emitAll(r);
    await flush();
    expect(svc.peer.drain()).toEqual([]);
    svc.peer.send({ type: 'set_config', xid: 1, flags: 0, missSendLen: 128 });
    await flush();
    r.sw.sink!.packetIn(pktIn(OFPR.NO_MATCH));
    await flush();
    expect(summary(svc.peer)).toEqual(['packet_in:0:0']);
  });
});

describe('multipart', () => {
  const portStats = (n: number): PortStats[] =>
    Array.from({ length: n }, (_, i) => ({
      portNo: i + 1, rxPackets: BigInt(i), txPackets: 0n, rxBytes: 0n, txBytes: 0n, rxDropped: 0n, txDropped: 0n, rxErrors: 0n, txErrors: 0n,
      rxFrameErr: 0n, rxOverErr: 0n, rxCrcErr: 0n, collisions: 0n, durationSec: 1, durationNsec: 2,
    }));

  it('splits a long reply into messages of at most 65535 bytes, REPLY_MORE on all but the last', async () => {
    const r = rig();
    const { peer } = await up(r);
    r.sw.multipartAnswer = () => [{ type: 'port_stats', entries: portStats(1500) }];
    peer.send({ type: 'multipart_request', xid: 40, flags: 0, body: { type: 'port_stats', portNo: 0xffffffff } });
    await flush();
    const replies = peer.drain() as MultipartReply[];
    expect(replies.length).toBe(3); // 1500 * 112 bytes = 168000
    expect(replies.map((m) => m.flags)).toEqual([OFPMPF_REPLY_MORE, OFPMPF_REPLY_MORE, 0]);
    expect(replies.every((m) => m.xid === 40)).toBe(true);
    for (const raw of peer.rawReceived.slice(-3)) expect(raw.length).toBeLessThanOrEqual(65535);
    const ports = replies.flatMap((m) => (m.body.type === 'port_stats' ? m.body.entries.map((e) => e.portNo) : []));
    expect(ports).toEqual(portStats(1500).map((e) => e.portNo));
  });

  it('splits port-desc lists too, and sends one message per body when they fit', () => {
    const ports = Array.from({ length: 1100 }, (_, i) => ({
      portNo: i + 1, hwAddr: i, name: `p${i}`, config: 0, state: 0, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0,
    }));
    const msgs = splitMultipartReply(9, [{ type: 'port_desc', ports }]);
    expect(msgs.length).toBe(2);
    expect(msgs.map((m) => (m.body.type === 'port_desc' ? m.body.ports.length : -1)).reduce((a, b) => a + b)).toBe(1100);
    const two = splitMultipartReply(9, [
      { type: 'port_stats', entries: portStats(2) },
      { type: 'port_stats', entries: portStats(3) },
    ]);
    expect(two.map((m) => m.flags)).toEqual([OFPMPF_REPLY_MORE, 0]);
    expect(() => splitMultipartReply(1, [{ type: 'port_stats', entries: portStats(1) }], 100)).toThrow(RangeError);
  });

  it('assembles a table-features request sent with REQ_MORE, and refuses REQ_MORE on other types', async () => {
    const r = rig();
    const { peer } = await up(r);
    r.sw.multipartAnswer = (q) => [{ type: 'table_features', entries: q.type === 'table_features' ? q.entries : [] }];
    peer.send({ type: 'multipart_request', xid: 50, flags: OFPMPF_REQ_MORE, body: { type: 'table_features', entries: [tableFeatures(0), tableFeatures(1)] } });
    peer.send({ type: 'multipart_request', xid: 50, flags: OFPMPF_REQ_MORE, body: { type: 'table_features', entries: [tableFeatures(2)] } });
    await flush();
    expect(r.sw.calls).toEqual([]);
    expect(peer.received).toEqual([]);
    peer.send({ type: 'multipart_request', xid: 50, flags: 0, body: { type: 'table_features', entries: [tableFeatures(3)] } });
    peer.send({ type: 'multipart_request', xid: 51, flags: OFPMPF_REQ_MORE, body: { type: 'desc' } });
    peer.send({ type: 'multipart_request', xid: 52, flags: 0, body: { type: 'experimenter', experimenter: 0x2320, expType: 1, data: Buffer.alloc(0) } });
    await flush();
    expect(r.sw.calls).toHaveLength(1);
    const req = r.sw.calls[0].msg as { type: string; entries: TableFeatures[] };
    expect(req.entries.map((e) => e.tableId)).toEqual([0, 1, 2, 3]);
    const got = peer.drain();
    expect(got.map((m) => (m.type === 'error' ? `${m.xid}:${errorName(m.errType, m.code)}` : `${m.xid}:${m.type}`))).toEqual([
      '50:multipart_reply',
      `51:${errorName(OFPET.BAD_REQUEST, OFPBRC.BAD_MULTIPART)}`,
      `52:${errorName(OFPET.BAD_REQUEST, OFPBRC.BAD_EXPERIMENTER)}`,
    ]);
  });

  it('sends a multipart error from the switch as OFPT_ERROR', async () => {
    const r = rig();
    const { peer } = await up(r);
    r.sw.nextError.set('multipart', { type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_TABLE_ID });
    peer.send({ type: 'multipart_request', xid: 60, flags: 0, body: { type: 'table' } });
    await flush();
    const [err] = peer.drain() as ErrorMsg[];
    expect([err.type, err.xid, errorName(err.errType, err.code)]).toEqual(['error', 60, errorName(OFPET.BAD_REQUEST, OFPBRC.BAD_TABLE_ID)]);
  });
});
