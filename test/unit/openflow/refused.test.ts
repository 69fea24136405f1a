/*
 * Messages that decode but that the switch must refuse (issue 10's group
 * weights and role order, issue 12's bad messages), end to end: the bytes
 * of each fixture in test/fixtures/of13/refused/ (the hex as sent,
 * or hand-made with python struct; each `# spec:` line names the 1.3.5
 * section the answer rests on) go over a channel to a real OfSwitch with
 * three memory ports. Each is answered with exactly the OFPT_ERROR of its
 * `# expect:` line (or none for `expect: accepted`), the switch's state
 * (flows, groups, meters, config, frames sent) is unchanged by a refusal, and
 * the connection stays up (a barrier after it is answered).
 *
 * Roles (1.3.5 6.3.5): from a slave, every write (packet-out, flow-, group-,
 * meter-, port-, table-mod, a table-features set) gets OFPBRC_IS_SLAVE before
 * any other check, also when its content is wrong or it does not decode
 * (the decode-error fixtures of test/fixtures/of13/bad/ of those types).
 */

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ControllerManager } from '../../../src/openflow/transport/controller-manager.js';
import type { OfChannel } from '../../../src/openflow/transport/channel.js';
import { isSlaveDenied } from '../../../src/openflow/transport/slave-writes.js';
import { encodeMessage, errorName, OFPCR_ROLE, OFPG, OFPGT, OFPM, OFPP, OFPT, OFPTT, type ErrorMsg, type OfpMessage } from '../../../src/openflow/codec/wire.js';
import { flush, helloChannel, PeerController } from '../../helpers/fake-of-switch.js';
import { apply, out, setup, type Harness } from '../../helpers/of-harness.js';
import { FIXTURE_DIR, parseHexFixture, type HexFixture } from './fixtures.js';

function load(dir: string): HexFixture[] {
  const d = join(FIXTURE_DIR, dir);
  return readdirSync(d)
    .filter((f) => f.endsWith('.hex'))
    .sort()
    .map((f) => parseHexFixture(f.replace(/\.hex$/, ''), readFileSync(join(d, f), 'utf8')));
}

const refused = load('refused');
const expectOf = (fx: HexFixture): string => fx.comments.find((c) => c.startsWith('expect: '))!.slice('expect: '.length);

let managers: ControllerManager[] = [];
afterEach(() => {
  for (const m of managers) m.close();
  managers = [];
});

interface Rig {
  h: Harness;
  ch: OfChannel;
  peer: PeerController;
}

/**
 * A switch with ports 1..3, a flow in tables 0 and 1 that every fixture's
 * modify would hit (priority 7, empty match), group 1 and meter 1; and one
 * connection to it that finished the hello.
 */
async function rig(): Promise<Rig> {
  const h = setup(3);
  h.flow({ tableId: 0, priority: 7, instructions: [apply(out(2))] });
  h.flow({ tableId: 1, priority: 7, instructions: [apply(out(3))] });
  expect(h.sw.groupMod({ type: 'group_mod', xid: 0, command: 0, groupType: OFPGT.ALL, groupId: 1, buckets: [{ weight: 0, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [out(2)] }] })).toBeNull();
  expect(h.sw.meterMod({ type: 'meter_mod', xid: 0, command: 0, flags: 1, meterId: 1, bands: [{ type: 'drop', rate: 1000, burstSize: 0 }] })).toBeNull();
  const mgr = new ControllerManager({ sw: h.sw, log: pino({ level: 'silent' }), inactivityProbeMs: 0 });
  managers.push(mgr);
  const { ch, peer } = await helloChannel(mgr);
  peer.drain();
  return { h, ch, peer };
}

/** Everything a refused message must leave as it was. */
function state(h: Harness): unknown {
  const flows = h.sw.multipart({ type: 'flow', tableId: OFPTT.ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: 0n, cookieMask: 0n, match: [] });
  return {
    flows,
    groups: h.sw.multipart({ type: 'group_desc' }),
    meters: h.sw.multipart({ type: 'meter_config', meterId: OFPM.ALL }),
    config: h.sw.getConfig(),
    sent: h.taken(),
  };
}

/** Sends `bytes` then a barrier; returns what came back before the barrier reply (which must come: the connection lives). */
async function exchange(r: Rig, bytes: Uint8Array): Promise<OfpMessage[]> {
  r.peer.sendRaw(bytes);
  r.peer.send({ type: 'barrier_request', xid: 0xbabe });
  await flush();
  const got = r.peer.drain();
  expect(r.ch.state).toBe('up');
  expect(got.at(-1)).toEqual({ type: 'barrier_reply', xid: 0xbabe });
  return got.slice(0, -1);
}

async function becomeSlave(r: Rig): Promise<void> {
  r.peer.send({ type: 'role_request', xid: 0x5e, role: OFPCR_ROLE.SLAVE, generationId: 1n });
  await flush();
  expect(r.peer.drain()).toEqual([{ type: 'role_reply', xid: 0x5e, role: OFPCR_ROLE.SLAVE, generationId: 1n }]);
}

describe('refused messages (test/fixtures/of13/refused)', () => {
  it('has the cases the issues name, each with its expectation and spec section', () => {
    expect(refused.map((f) => f.name)).toEqual(expect.arrayContaining([
      'flow_modify_table_all', 'flow_modify_strict_table_all', 'flow_modify_strict_bad_flags', 'set_config_flags_4',
      'packet_out_in_port_any', 'packet_out_in_port_missing', 'meter_add_no_bands', 'group_all_weight', 'group_indirect_weight', 'group_select_weight_0',
    ]));
    for (const fx of refused) {
      expect(fx.comments.some((c) => c.startsWith('expect: ')), fx.name).toBe(true);
      expect(fx.comments.some((c) => c.startsWith('spec: 1.3.5 ')), fx.name).toBe(true);
    }
    // Issue 12's bytes, exactly as reported.
    const hex = (n: string) => refused.find((f) => f.name === n)!.bytes.toString('hex');
    expect(hex('flow_modify_table_all')).toBe('040e00507f00002400000000000000000000000000000000ff01000000000007ffffffffffffffffffffffff00000000000100040000000000040018000000000000001000000001ffff000000000000');
    expect(hex('flow_modify_strict_bad_flags')).toBe('040e00387f000021000000000000000000000000000000000002000000000007ffffffffffffffffffffffff245d00000001000400000000');
    expect(hex('set_config_flags_4')).toBe('0409000c7f00002400040080');
  });

  describe.each(refused.filter((f) => expectOf(f) !== 'accepted'))('$name', (fx) => {
    it(`is answered with ${expectOf(fx)}, changes nothing, and the connection stays up`, async () => {
      const r = await rig();
      const before = state(r.h);
      const got = (await exchange(r, fx.bytes)) as ErrorMsg[];
      expect(got.map((e) => [e.type, e.xid, errorName(e.errType, e.code)])).toEqual([['error', fx.bytes.readUInt32BE(4), expectOf(fx)]]);
      expect(Buffer.from(got[0].data)).toEqual(fx.bytes.subarray(0, 64));
      expect(state(r.h)).toEqual(before);
    });

    it('from a slave: OFPBRC_IS_SLAVE first (SET_CONFIG: a slave sets only its own miss_send_len)', async () => {
      const r = await rig();
      await becomeSlave(r);
      const before = state(r.h);
      const got = (await exchange(r, fx.bytes)) as ErrorMsg[];
      if (fx.bytes[1] === OFPT.SET_CONFIG) expect(got).toEqual([]);
      else expect(got.map((e) => errorName(e.errType, e.code))).toEqual(['OFPET_BAD_REQUEST/OFPBRC_IS_SLAVE']);
      expect(state(r.h)).toEqual(before);
    });
  });

  it('meter_add_no_bands is accepted (1.3.5 A.3.4.4: any number of bands; 5.7.1: none applies), counts packets and never drops', async () => {
    const fx = refused.find((f) => f.name === 'meter_add_no_bands')!;
    expect(expectOf(fx)).toBe('accepted');
    const r = await rig();
    expect(await exchange(r, fx.bytes)).toEqual([]);
    expect(r.h.sw.multipart({ type: 'meter_config', meterId: 5 })).toEqual([{ type: 'meter_config', entries: [{ flags: 1 | 8, meterId: 5, bands: [] }] }]);
    r.h.flow({ tableId: 2, priority: 1, match: [{ field: 'in_port', value: 1 }], instructions: [{ type: 'meter', meterId: 5 }, apply(out(3))] });
    r.h.flow({ tableId: 0, priority: 100, match: [{ field: 'in_port', value: 1 }], instructions: [{ type: 'goto_table', tableId: 2 }] });
    const frame = Buffer.from('ffffffffffff020000000001' + '88b5' + '00'.repeat(46), 'hex');
    r.h.send(0, ...Array.from({ length: 20 }, () => frame));
    expect(r.h.taken()[2]).toHaveLength(20);
    const [stats] = r.h.sw.multipart({ type: 'meter', meterId: 5 }) as unknown as [{ entries: { packetInCount: bigint }[] }];
    expect(stats.entries[0].packetInCount).toBe(20n);
  });

  it('packet-out in_port: a port of the switch, LOCAL only if the switch has it, CONTROLLER; nothing else (1.3.5 A.3.7)', async () => {
    const r = await rig();
    const frame = Buffer.from('ffffffffffff020000000001' + '88b5' + '00'.repeat(46), 'hex');
    const po = (inPort: number) => r.h.sw.packetOut({ type: 'packet_out', xid: 0, bufferId: 0xffffffff, inPort, actions: [out(1)], data: frame });
    for (const ok of [2, 3, OFPP.CONTROLLER]) expect(po(ok)).toBeNull();
    expect(r.h.taken()[0]).toHaveLength(3);
    for (const bad of [0, 4, 9, OFPP.MAX, OFPP.ANY, OFPP.LOCAL, OFPP.ALL, OFPP.FLOOD, OFPP.TABLE, OFPP.IN_PORT, OFPP.NORMAL]) {
      expect(po(bad)?.code, `in_port 0x${(bad >>> 0).toString(16)}`).toBe(11); // OFPBRC_BAD_PORT
    }
    expect(r.h.taken()[0]).toHaveLength(0);
  });
});

describe('role check order: a slave is refused before anything else is checked', () => {
  // The negative decode fixtures of write types: as a slave, IS_SLAVE instead of their decode error.
  const badWrites = load('bad').filter((f) => f.bytes.length >= 8 && f.bytes[0] === 4 && isSlaveDenied(f.bytes));

  it('covers every write type among the decode-error fixtures', () => {
    const types = new Set(badWrites.map((f) => f.bytes[1]));
    for (const t of [OFPT.PACKET_OUT, OFPT.FLOW_MOD, OFPT.GROUP_MOD, OFPT.METER_MOD]) expect(types.has(t)).toBe(true);
  });

  it.each(badWrites)('$name: IS_SLAVE from a slave, its decode error from an equal', async (fx) => {
    const r = await rig();
    const [eq] = (await exchange(r, fx.bytes)) as ErrorMsg[];
    const own = fx.comments.find((c) => c.startsWith('expect: '))!.slice('expect: '.length);
    expect(errorName(eq.errType, eq.code)).toBe(own);
    await becomeSlave(r);
    const before = state(r.h);
    const got = (await exchange(r, fx.bytes)) as ErrorMsg[];
    expect(got.map((e) => errorName(e.errType, e.code))).toEqual(['OFPET_BAD_REQUEST/OFPBRC_IS_SLAVE']);
    expect(state(r.h)).toEqual(before);
  });

  it('every write type, valid or not, gets IS_SLAVE; reads, SET_ASYNC and role requests do not', async () => {
    const r = await rig();
    await becomeSlave(r);
    const before = state(r.h);
    const writes: OfpMessage[] = [
      { type: 'packet_out', xid: 1, bufferId: 0xffffffff, inPort: 9, actions: [out(1)], data: Buffer.alloc(60) },
      { type: 'packet_out', xid: 2, bufferId: 0xffffffff, inPort: 1, actions: [out(42)], data: Buffer.alloc(60) },
      { type: 'flow_mod', xid: 3, cookie: 0n, cookieMask: 0n, tableId: 200, command: 0, idleTimeout: 0, hardTimeout: 0, priority: 1, bufferId: 0xffffffff, outPort: OFPP.ANY, outGroup: OFPG.ANY, flags: 0, match: [], instructions: [] },
      { type: 'group_mod', xid: 4, command: 0, groupType: OFPGT.ALL, groupId: 1, buckets: [] },
      { type: 'meter_mod', xid: 5, command: 0, flags: 0, meterId: 0, bands: [] },
      { type: 'port_mod', xid: 6, portNo: 77, hwAddr: 0, config: 0, mask: 0, advertise: 0 },
      { type: 'table_mod', xid: 7, tableId: 250, config: 0 },
      { type: 'multipart_request', xid: 8, flags: 0, body: { type: 'table_features', entries: [{ tableId: 0, name: 't0', metadataMatch: 0n, metadataWrite: 0n, config: 0, maxEntries: 1, properties: [] }] } },
    ] as OfpMessage[];
    for (const m of writes) {
      const got = (await exchange(r, encodeMessage(m))) as ErrorMsg[];
      expect(got.map((e) => [e.xid, errorName(e.errType, e.code)]), m.type).toEqual([[m.xid, 'OFPET_BAD_REQUEST/OFPBRC_IS_SLAVE']]);
    }
    expect(state(r.h)).toEqual(before);
    const reads: OfpMessage[] = [
      { type: 'set_async', xid: 20, packetInMask: [0, 0], portStatusMask: [7, 7], flowRemovedMask: [0, 0] },
      { type: 'multipart_request', xid: 21, flags: 0, body: { type: 'table_features', entries: [] } },
      { type: 'role_request', xid: 22, role: OFPCR_ROLE.NOCHANGE, generationId: 0n },
    ] as OfpMessage[];
    for (const m of reads) {
      const got = await exchange(r, encodeMessage(m));
      expect(got.filter((x) => x.type === 'error'), m.type).toEqual([]);
    }
  });
});
