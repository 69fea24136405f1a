/*
 * Structured fuzzing of the OpenFlow channel in front of the real switch
 * (OfSwitch over a Datapath with MemoryPorts, behind the ControllerManager,
 * over an in-memory connection). Every OpenFlow 1.3 message type in the
 * codec registry is generated with random field values
 * (test/unit/openflow/arbitraries.ts), plus well-formed-ish flow-mods,
 * group-mods, meter-mods and packet-outs whose matches and set-fields come
 * from the field table (src/flow/fields.ts: prerequisites met, values within
 * each field's bits) so they reach the tables; then each message is sent
 * as is, truncated, extended with garbage, with body bytes overwritten, or
 * retyped as another registered message (lengths in the header kept
 * consistent with what is sent).
 *
 * Invariants: the switch never throws (no error-level log from the
 * channel's catch-all); every message that does not decode is answered with
 * OFPT_ERROR carrying its xid; every request is answered with its reply or
 * an OFPT_ERROR; nothing else is sent but those and asynchronous messages;
 * afterwards the connection is up and answers a barrier, an echo and a
 * features request in order.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FIELDS, MATCHABLE_FIELDS, SETTABLE_FIELDS, type FieldDef } from '../../src/flow/fields.js';
import { decodeMessage, encodeMessage, isDecodeError, OFPMPF_REQ_MORE, type OfpMessage } from '../../src/openflow/codec/wire.js';
import type { Action } from '../../src/openflow/codec/v13/actions.js';
import type { Instruction } from '../../src/openflow/codec/v13/instructions.js';
import { codecForName, registeredNames } from '../../src/openflow/codec/v13/registry.js';
import type { Oxm } from '../../src/openflow/codec/v13/oxm.js';
import { OFPP } from '../../src/openflow/codec/v13/enums.js';
import { ControllerManager } from '../../src/openflow/transport/controller-manager.js';
import { captureLogger, flush, helloChannel } from '../helpers/fake-of-switch.js';
import { frame } from '../helpers/frame-arbitraries.js';
import { setup } from '../helpers/of-harness.js';
import { message as anyMessage } from './openflow/arbitraries.js';

/* ------------------------------------------- what each message must get */

type Answer = 'reply' | 'error' | 'error-or-nothing' | 'nothing';
/** For every registered message: what the switch answers when it decodes (a reply type, or one of the others). */
const ANSWERS: Record<string, { answer: Answer; reply?: string }> = {
  hello: { answer: 'nothing' }, error: { answer: 'nothing' }, echo_reply: { answer: 'nothing' }, set_async: { answer: 'nothing' },
  echo_request: { answer: 'reply', reply: 'echo_reply' }, features_request: { answer: 'reply', reply: 'features_reply' },
  get_config_request: { answer: 'reply', reply: 'get_config_reply' }, barrier_request: { answer: 'reply', reply: 'barrier_reply' },
  multipart_request: { answer: 'reply', reply: 'multipart_reply' }, queue_get_config_request: { answer: 'reply', reply: 'queue_get_config_reply' },
  role_request: { answer: 'reply', reply: 'role_reply' }, get_async_request: { answer: 'reply', reply: 'get_async_reply' },
  set_config: { answer: 'error-or-nothing' }, packet_out: { answer: 'error-or-nothing' }, flow_mod: { answer: 'error-or-nothing' },
  group_mod: { answer: 'error-or-nothing' }, port_mod: { answer: 'error-or-nothing' }, table_mod: { answer: 'error-or-nothing' },
  meter_mod: { answer: 'error-or-nothing' },
  experimenter: { answer: 'error' }, features_reply: { answer: 'error' }, get_config_reply: { answer: 'error' }, packet_in: { answer: 'error' },
  flow_removed: { answer: 'error' }, port_status: { answer: 'error' }, multipart_reply: { answer: 'error' }, barrier_reply: { answer: 'error' },
  queue_get_config_reply: { answer: 'error' }, role_reply: { answer: 'error' }, get_async_reply: { answer: 'error' },
};
const ASYNC = new Set(['packet_in', 'port_status', 'flow_removed']);
const WIRE_TYPES = registeredNames().map((n) => codecForName(n)!.wireType);

/* ------------------------------- well-formed-ish messages from the field table */

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

/** A value of `def`'s width (number up to 6 bytes, bigint above), within its significant bits. */
function fieldValue(def: FieldDef): fc.Arbitrary<number | bigint> {
  if (def.bytes > 6) return fc.bigInt({ min: 0n, max: (1n << BigInt(def.bits)) - 1n });
  return fc.integer({ min: 0, max: 2 ** def.bits - 1 });
}

/** An OXM for `def`: exact, or masked where the field allows it (value within the mask, as the spec requires). */
function oxmOf(def: FieldDef): fc.Arbitrary<Oxm> {
  const v = fieldValue(def);
  const exact = v.map((value) => ({ field: def.name, value }) as Oxm);
  const within = (value: number | bigint, mask: number | bigint) =>
    typeof value === 'bigint' ? value & (mask as bigint) : def.bytes === 6 ? Number(BigInt(value) & BigInt(mask)) : (value & (mask as number)) >>> 0;
  return def.maskable ? fc.oneof(exact, fc.tuple(v, v).map(([value, mask]) => ({ field: def.name, value: within(value, mask), mask }) as Oxm)) : exact;
}

const MATCHABLE = FIELDS.filter((f) => MATCHABLE_FIELDS.has(f.id));
const SETTABLE = FIELDS.filter((f) => SETTABLE_FIELDS.has(f.id));

/**
 * A match on 0-3 chosen fields plus their prerequisites, in field-id order:
 * a field some prerequisite constrains gets a value every such prerequisite
 * allows. A chosen field whose prerequisites conflict with the fields taken
 * before it (udp_dst after tcp_src) is left out.
 */
const match: fc.Arbitrary<Oxm[]> = fc.subarray(MATCHABLE, { maxLength: 3 }).chain((chosen) => {
  const fields = new Set<number>();
  /** Per constrained field: the values allowed (intersection), or bits that must be set. */
  const allowed = new Map<number, number[]>();
  const bitsSet = new Map<number, number>();
  /** Every prerequisite of def, transitively. */
  const prereqs = (def: FieldDef): FieldDef['prereq'][number][] => def.prereq.flatMap((p) => [p, ...prereqs(FIELDS[p.field])]);
  const fits = (def: FieldDef): boolean =>
    prereqs(def).every((p) => p.values.length === 0 || (allowed.get(p.field) ?? p.values).some((v) => p.values.includes(v)));
  for (const def of chosen) {
    if (!fits(def)) continue;
    for (const p of prereqs(def)) {
      fields.add(p.field);
      if (p.bitsSet !== 0) bitsSet.set(p.field, (bitsSet.get(p.field) ?? 0) | p.bitsSet);
      else if (p.values.length > 0) allowed.set(p.field, (allowed.get(p.field) ?? [...p.values]).filter((v) => p.values.includes(v)));
    }
    fields.add(def.id);
  }
  const oxms = [...fields].sort((a, b) => a - b).map((id): fc.Arbitrary<Oxm> => {
    const def = FIELDS[id];
    const values = allowed.get(id);
    if (values !== undefined) return fc.constantFrom(...values).map((value) => ({ field: def.name, value }) as Oxm);
    const bits = bitsSet.get(id);
    if (bits !== undefined) return fieldValue(def).map((x) => ({ field: def.name, value: Number(x) | bits }) as Oxm);
    return oxmOf(def);
  });
  return fc.tuple(...oxms);
});

const port = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 5 }) }, fc.constantFrom(OFPP.IN_PORT, OFPP.FLOOD, OFPP.ALL, OFPP.CONTROLLER, OFPP.LOCAL, OFPP.NORMAL, OFPP.TABLE, OFPP.ANY));
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ type: fc.constant('output' as const), port, maxLen: fc.oneof(fc.constant(0xffff), u16) }) },
  { weight: 2, arbitrary: fc.constantFrom(...SETTABLE).chain((def) => fieldValue(def).map((value) => ({ type: 'set_field' as const, field: { field: def.name, value } as Oxm }))) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('push_vlan' as const), ethertype: fc.constantFrom(0x8100, 0x88a8) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('push_mpls' as const), ethertype: fc.constantFrom(0x8847, 0x8848) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('pop_mpls' as const), ethertype: fc.constantFrom(0x0800, 0x86dd, 0x8847) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('push_pbb' as const), ethertype: fc.constant(0x88e7) }) },
  { weight: 2, arbitrary: fc.constantFrom<Action>({ type: 'pop_vlan' }, { type: 'dec_nw_ttl' }, { type: 'dec_mpls_ttl' }, { type: 'copy_ttl_out' }, { type: 'copy_ttl_in' }, { type: 'pop_pbb' }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('group' as const), groupId: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('set_queue' as const), queueId: fc.integer({ min: 0, max: 3 }) }) },
);
const actions = fc.array(action, { maxLength: 4 });
const instruction: fc.Arbitrary<Instruction> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ type: fc.constantFrom('apply_actions' as const, 'write_actions' as const), actions }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('goto_table' as const), tableId: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('meter' as const), meterId: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('write_metadata' as const), metadata: u64, metadataMask: u64 }) },
  { weight: 1, arbitrary: fc.constant({ type: 'clear_actions' as const }) },
);

const structured: fc.Arbitrary<OfpMessage> = fc.oneof(
  fc.record({
    type: fc.constant('flow_mod' as const), xid: fc.constant(0), cookie: u64, cookieMask: fc.oneof(fc.constant(0n), u64),
    tableId: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 3 }) }, fc.constant(0xff)),
    command: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, fc.integer({ min: 0, max: 4 })),
    idleTimeout: fc.oneof(fc.constant(0), u16), hardTimeout: fc.oneof(fc.constant(0), u16), priority: u16, bufferId: fc.oneof({ weight: 4, arbitrary: fc.constant(0xffffffff) }, u32),
    outPort: fc.oneof(fc.constant(OFPP.ANY), port), outGroup: fc.oneof(fc.constant(0xffffffff), fc.integer({ min: 1, max: 3 })),
    flags: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, fc.integer({ min: 0, max: 0x1f }), u16), match, instructions: fc.array(instruction, { maxLength: 3 }),
  }),
  fc.record({
    type: fc.constant('group_mod' as const), xid: fc.constant(0), command: fc.integer({ min: 0, max: 2 }), groupType: fc.integer({ min: 0, max: 3 }),
    groupId: fc.integer({ min: 1, max: 3 }),
    buckets: fc.array(fc.record({ weight: fc.oneof(fc.constant(0), u16), watchPort: fc.oneof(fc.constant(OFPP.ANY), port), watchGroup: fc.oneof(fc.constant(0xffffffff), fc.integer({ min: 1, max: 3 })), actions }), { maxLength: 3 }),
  }),
  fc.record({
    type: fc.constant('meter_mod' as const), xid: fc.constant(0), command: fc.integer({ min: 0, max: 2 }), flags: fc.integer({ min: 0, max: 0xf }),
    meterId: fc.oneof(fc.integer({ min: 1, max: 3 }), u32),
    bands: fc.array(fc.oneof(
      fc.record({ type: fc.constant('drop' as const), rate: u32, burstSize: u32 }),
      fc.record({ type: fc.constant('dscp_remark' as const), rate: u32, burstSize: u32, precLevel: u8 }),
    ), { maxLength: 2 }),
  }),
  fc.record({
    type: fc.constant('packet_out' as const), xid: fc.constant(0), bufferId: fc.oneof(fc.constant(0xffffffff), u32),
    inPort: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom(OFPP.CONTROLLER, OFPP.ANY, OFPP.LOCAL)), actions, data: frame.map((f) => Buffer.from(f)),
  }),
  fc.record({ type: fc.constant('port_mod' as const), xid: fc.constant(0), portNo: fc.integer({ min: 1, max: 5 }), hwAddr: fc.integer({ min: 0, max: 2 ** 48 - 1 }), config: u32, mask: u32, advertise: u32 }),
);

/* ----------------------------------------------------------- mutations */

type Mutation = { kind: 'none' } | { kind: 'truncate'; at: number } | { kind: 'extend'; tail: Uint8Array } | { kind: 'overwrite'; edits: [number, number][] } | { kind: 'retype'; wire: number };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 2, arbitrary: fc.nat().map((at) => ({ kind: 'truncate' as const, at })) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 48 }).map((tail) => ({ kind: 'extend' as const, tail })) },
  { weight: 2, arbitrary: fc.array(fc.tuple(fc.nat(), u8), { minLength: 1, maxLength: 4 }).map((edits) => ({ kind: 'overwrite' as const, edits })) },
  { weight: 1, arbitrary: fc.constantFrom(...WIRE_TYPES).map((wire) => ({ kind: 'retype' as const, wire })) },
);

/** The message's bytes with its xid, mutated; the header's length always says what is sent. */
function wire(m: OfpMessage, xid: number, mut: Mutation): Buffer {
  let b = encodeMessage({ ...m, xid });
  switch (mut.kind) {
    case 'truncate': b = b.subarray(0, 8 + (mut.at % (b.length - 7))); break;
    case 'extend': b = Buffer.concat([b, mut.tail]); break;
    case 'overwrite': if (b.length > 8) for (const [at, v] of mut.edits) b[8 + (at % (b.length - 8))] = v; break;
    case 'retype': b[1] = mut.wire; break;
    default: break;
  }
  b = Buffer.from(b.subarray(0, 0xffff));
  b.writeUInt16BE(b.length, 2);
  return b;
}

/* ---------------------------------------------------------------- test */

describe('structured channel fuzzing against the real switch', () => {
  it('classifies every registered message type, and generates each of them', () => {
    expect(Object.keys(ANSWERS).sort()).toEqual(registeredNames().sort());
    const seen = new Set(fc.sample(anyMessage, { numRuns: 3000, seed: 42 }).map((m) => m.type));
    expect([...seen].sort()).toEqual(registeredNames().sort());
  });

  it('never throws, answers every request and every undecodable message, and stays up and in order', async () => {
    const msg = fc.tuple(fc.oneof({ weight: 1, arbitrary: anyMessage }, { weight: 1, arbitrary: structured }), mutation);
    let sent = 0;
    let installed = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(msg, { minLength: 1, maxLength: 8 }), async (msgs) => {
        const h = setup(4, { failMode: 'secure' });
        const { log, lines: logs } = captureLogger();
        const mgr = new ControllerManager({ sw: h.sw, log, inactivityProbeMs: 0 });
        h.sw.setEventSink(mgr);
        try {
          const { ch, peer } = await helloChannel(mgr);
          peer.received.length = 0;
          const expected = new Map<number, { answer: Answer; reply?: string; type: string }>();
          msgs.forEach(([m, mut], i) => {
            const xid = i + 1;
            const bytes = wire(m, xid, mut);
            const r = decodeMessage(bytes);
            if (isDecodeError(r)) expected.set(xid, { answer: 'error', type: `undecodable ${m.type} (${mut.kind})` });
            else {
              const a = ANSWERS[r.ok.type];
              // A table-features request announcing more parts waits for them.
              const waits = r.ok.type === 'multipart_request' && (r.ok.flags & OFPMPF_REQ_MORE) !== 0;
              expected.set(xid, { ...a, answer: waits ? 'error-or-nothing' : a.answer, type: `${r.ok.type} (${mut.kind})` });
            }
            peer.sendRaw(bytes);
            sent++;
          });
          const [BARRIER, ECHO, FEATURES] = [0x7fff0001, 0x7fff0002, 0x7fff0003];
          peer.send({ type: 'barrier_request', xid: BARRIER });
          peer.send({ type: 'echo_request', xid: ECHO, data: Buffer.from('after') });
          peer.send({ type: 'features_request', xid: FEATURES });
          await flush(40);

          expect(logs.filter((l) => l.level >= 50)).toEqual([]);
          expect(ch.state).toBe('up');
          const got = peer.received;
          const tail = got.filter((m) => m.xid >= BARRIER && m.xid <= FEATURES).map((m) => `${m.type}:${m.xid}`);
          expect(tail).toEqual([`barrier_reply:${BARRIER}`, `echo_reply:${ECHO}`, `features_reply:${FEATURES}`]);
          for (const m of got) {
            if (ASYNC.has(m.type) || m.xid >= BARRIER) continue;
            const e = expected.get(m.xid);
            expect(e, `${m.type} with xid ${m.xid} answers nothing that was sent`).toBeDefined();
            if (m.type !== 'error') expect(m.type, `${e!.type} answered`).toBe(e!.reply);
          }
          for (const [xid, e] of expected) {
            const answers = got.filter((m) => m.xid === xid && !ASYNC.has(m.type));
            if (e.answer === 'reply') expect(answers.length, `${e.type} (xid ${xid}) unanswered`).toBeGreaterThan(0);
            if (e.answer === 'error') expect(answers.map((m) => m.type), `${e.type} (xid ${xid})`).toContain('error');
            if (e.answer === 'nothing') expect(answers, `${e.type} (xid ${xid})`).toEqual([]);
          }
          installed += h.sw.tables.flowCount;
        } finally {
          mgr.close();
        }
      }),
      { numRuns: 400 },
    );
    expect(sent).toBeGreaterThan(400);
    // The well-formed-ish flow-mods reach the tables (the run exercised more than the decoder).
    expect(installed).toBeGreaterThan(8);
  });
});
