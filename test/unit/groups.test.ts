/*
 * Groups through the switch: every type, bucket isolation, select spread
 * and stability, fast-failover liveness from link and port-mod, chaining,
 * the group-mod errors, deleting a group with its flows, and the stats.
 */

import { describe, expect, it } from 'vitest';
import type { Action } from '../../src/openflow/codec/v13/actions.js';
import { OFPBAC, OFPET, OFPFF, OFPG, OFPGC, OFPGMFC, OFPGT, OFPP, OFPPC, OFPRR } from '../../src/openflow/codec/v13/enums.js';
import type { Bucket, GroupMod } from '../../src/openflow/codec/v13/msg/group-mod.js';
import type { GroupStatsReply } from '../../src/openflow/codec/v13/msg/mp-group.js';
import { udpFrame } from '../helpers/frames.js';
import { apply, inPort, macNum, out, setField, setup } from '../helpers/of-harness.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';

function bucket(actions: Action[], o: Partial<Bucket> = {}): Bucket {
  return { weight: 0, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions, ...o };
}

function gm(groupId: number, groupType: number, buckets: Bucket[], command: number = OFPGC.ADD): GroupMod {
  return { type: 'group_mod', xid: 0, command, groupType, groupId, buckets };
}

const group = (groupId: number): Action => ({ type: 'group', groupId });

describe('group types', () => {
  it('ALL: every bucket gets its own copy; bucket edits reach neither each other nor the actions after the group', () => {
    const h = setup(4);
    expect(h.sw.groupMod(gm(1, OFPGT.ALL, [
      bucket([setField({ field: 'eth_dst', value: macNum('02:00:00:00:00:99') }), out(2)]),
      bucket([{ type: 'push_vlan', ethertype: 0x8100 }, out(3)]),
    ]))).toBeNull();
    h.flow({ match: [inPort(1)], instructions: [apply(group(1), out(4))] });
    const f = udpFrame(B, A);
    h.send(0, f, f);
    const got = h.taken();
    expect(got[1]).toHaveLength(2);
    expect([...got[1][0].subarray(0, 6)]).toEqual([2, 0, 0, 0, 0, 0x99]);
    expect(got[1][0].subarray(6)).toEqual(f.subarray(6));
    expect(got[2].map((x) => x.length)).toEqual([f.length + 4, f.length + 4]);
    expect(got[2][0].subarray(0, 12)).toEqual(f.subarray(0, 12)); // not the other bucket's eth_dst
    expect(got[3]).toEqual([f, f]);
  });

  it('SELECT: weighted spread over flows, the same flow always to the same bucket, only live buckets', () => {
    const h = setup(4);
    expect(h.sw.groupMod(gm(2, OFPGT.SELECT, [bucket([out(2)], { weight: 1 }), bucket([out(3)], { weight: 3 })]))).toBeNull();
    h.flow({ match: [inPort(1)], instructions: [apply(group(2))] });
    const flows = Array.from({ length: 2000 }, (_, i) => udpFrame(B, A, { sport: 1000 + i }));
    h.send(0, ...flows);
    let got = h.taken();
    expect(got[3]).toHaveLength(0); // no bucket outputs to port 4
    expect(got[1].length + got[2].length).toBe(2000);
    expect(got[2].length / 2000).toBeGreaterThan(0.68);
    expect(got[2].length / 2000).toBeLessThan(0.82);
    const firstPick = new Map<number, number>();
    got[1].forEach((x) => firstPick.set((x[34] << 8) | x[35], 2));
    got[2].forEach((x) => firstPick.set((x[34] << 8) | x[35], 3));
    h.send(0, ...flows);
    got = h.taken();
    for (const x of got[1]) expect(firstPick.get((x[34] << 8) | x[35])).toBe(2);
    for (const x of got[2]) expect(firstPick.get((x[34] << 8) | x[35])).toBe(3);
    // Watch port 3 in the heavy bucket, then bring port 3 down: everything goes to port 2.
    expect(h.sw.groupMod(gm(2, OFPGT.SELECT, [bucket([out(2)], { weight: 1 }), bucket([out(3)], { weight: 3, watchPort: 3 })], OFPGC.MODIFY))).toBeNull();
    h.ports[2].linkUp = false;
    h.tick(); // the link poll notices the change
    h.send(0, ...flows.slice(0, 100));
    got = h.taken();
    expect(got[1]).toHaveLength(100);
    expect(got[2]).toHaveLength(0);
  });

  it('INDIRECT: one bucket; a group-mod MODIFY redirects the very next frame', () => {
    const h = setup(3);
    expect(h.sw.groupMod(gm(3, OFPGT.INDIRECT, [bucket([out(2)])]))).toBeNull();
    h.flow({ match: [inPort(1)], instructions: [apply(group(3))] });
    const f = udpFrame(B, A);
    h.send(0, f, f);
    expect(h.taken()).toEqual([[], [f, f], []]);
    expect(h.sw.groupMod(gm(3, OFPGT.INDIRECT, [bucket([out(3)])], OFPGC.MODIFY))).toBeNull();
    h.send(0, f);
    expect(h.taken()).toEqual([[], [], [f]]);
  });

  it('FAST-FAILOVER: the first bucket whose watch port is live, following link state and PORT_DOWN', () => {
    const h = setup(4);
    expect(h.sw.groupMod(gm(4, OFPGT.FF, [bucket([out(2)], { watchPort: 2 }), bucket([out(3)], { watchPort: 3 })]))).toBeNull();
    h.flow({ match: [inPort(1)], instructions: [apply(group(4))] });
    const f = udpFrame(B, A);
    h.send(0, f);
    expect(h.taken()).toEqual([[], [f], [], []]);
    h.ports[1].linkUp = false;
    h.tick(); // the link poll notices the change
    h.send(0, f);
    expect(h.taken()).toEqual([[], [], [f], []]);
    expect(h.sw.portMod({ type: 'port_mod', xid: 0, portNo: 3, hwAddr: 0, config: OFPPC.PORT_DOWN, mask: OFPPC.PORT_DOWN, advertise: 0 })).toBeNull();
    h.send(0, f);
    expect(h.taken()).toEqual([[], [], [], []]); // no live bucket: dropped
    h.ports[1].linkUp = true;
    h.tick();
    h.send(0, f);
    expect(h.taken()).toEqual([[], [f], [], []]);
  });

  it('FAST-FAILOVER on a watched group; chaining ALL -> INDIRECT', () => {
    const h = setup(4);
    expect(h.sw.groupMod(gm(10, OFPGT.FF, [bucket([out(4)], { watchPort: 4 })]))).toBeNull();
    expect(h.sw.groupMod(gm(11, OFPGT.FF, [bucket([group(10)], { watchGroup: 10 }), bucket([out(3)], { watchPort: 3 })]))).toBeNull();
    expect(h.sw.groupMod(gm(12, OFPGT.ALL, [bucket([group(11)]), bucket([out(2)])]))).toBeNull();
    h.flow({ match: [inPort(1)], instructions: [apply(group(12))] });
    const f = udpFrame(B, A);
    h.send(0, f);
    expect(h.taken()).toEqual([[], [f], [], [f]]);
    h.ports[3].linkUp = false;
    h.tick(); // the link poll notices the change
    h.send(0, f);
    expect(h.taken()).toEqual([[], [f], [f], []]);
  });
});

describe('group-mod errors', () => {
  it('answers each bad group-mod with its code and changes nothing', () => {
    const h = setup(3);
    const err = (m: GroupMod) => {
      const e = h.sw.groupMod(m);
      return e && [e.type, e.code];
    };
    expect(err(gm(1, OFPGT.ALL, [bucket([out(2)])]))).toBeNull();
    expect(err(gm(1, OFPGT.ALL, [bucket([out(3)])]))).toEqual([OFPET.GROUP_MOD_FAILED, OFPGMFC.GROUP_EXISTS]);
    expect(err(gm(9, OFPGT.ALL, [], OFPGC.MODIFY))).toEqual([OFPET.GROUP_MOD_FAILED, OFPGMFC.UNKNOWN_GROUP]);
    expect(err(gm(OFPG.ALL, OFPGT.ALL, []))).toEqual([OFPET.GROUP_MOD_FAILED, OFPGMFC.INVALID_GROUP]);
    expect(err(gm(2, OFPGT.INDIRECT, [bucket([out(2)]), bucket([out(3)])]))).toEqual([OFPET.GROUP_MOD_FAILED, OFPGMFC.INVALID_GROUP]);
    expect(err(gm(2, 7, []))).toEqual([OFPET.GROUP_MOD_FAILED, OFPGMFC.BAD_TYPE]);
    // A weight outside select, or a select weight of 0: an invalid group (1.3.5 6.5).
    expect(err(gm(2, OFPGT.ALL, [bucket([out(2)], { weight: 5 })]))).toEqual([OFPET.GROUP_MOD_FAILED, OFPGMFC.INVALID_GROUP]);
    expect(err(gm(2, OFPGT.INDIRECT, [bucket([out(2)], { weight: 1 })]))).toEqual([OFPET.GROUP_MOD_FAILED, OFPGMFC.INVALID_GROUP]);
    expect(err(gm(2, OFPGT.FF, [bucket([out(2)], { weight: 1, watchPort: 2 })]))).toEqual([OFPET.GROUP_MOD_FAILED, OFPGMFC.INVALID_GROUP]);
    expect(err(gm(2, OFPGT.SELECT, [bucket([out(2)], { weight: 1 }), bucket([out(3)], { weight: 0 })]))).toEqual([OFPET.GROUP_MOD_FAILED, OFPGMFC.INVALID_GROUP]);
    expect(err(gm(2, OFPGT.SELECT, [bucket([out(2)]), bucket([out(3)])]))).toEqual([OFPET.GROUP_MOD_FAILED, OFPGMFC.INVALID_GROUP]);
    expect(h.sw.ofGroups.get(2)).toBeUndefined();
    expect(err(gm(2, OFPGT.FF, [bucket([out(2)])]))).toEqual([OFPET.GROUP_MOD_FAILED, OFPGMFC.BAD_WATCH]);
    expect(err(gm(2, OFPGT.FF, [bucket([out(2)], { watchGroup: 77 })]))).toEqual([OFPET.GROUP_MOD_FAILED, OFPGMFC.BAD_WATCH]);
    expect(err(gm(2, OFPGT.ALL, [bucket([group(77)])]))).toEqual([OFPET.BAD_ACTION, OFPBAC.BAD_OUT_GROUP]);
    expect(err(gm(2, OFPGT.ALL, [bucket([out(42)])]))).toEqual([OFPET.BAD_ACTION, OFPBAC.BAD_OUT_PORT]);
    expect(err(gm(2, OFPGT.ALL, [bucket([out(OFPP.TABLE)])]))).toEqual([OFPET.BAD_ACTION, OFPBAC.BAD_OUT_PORT]);
    expect(err({ ...gm(2, OFPGT.ALL, []), command: 9 })).toEqual([OFPET.GROUP_MOD_FAILED, OFPGMFC.BAD_COMMAND]);
    // Chains: 2 -> 1 is fine, then 1 -> 2 would loop, and 1 cannot go while 2 sends to it.
    expect(err(gm(2, OFPGT.ALL, [bucket([group(1)])]))).toBeNull();
    expect(err(gm(1, OFPGT.ALL, [bucket([group(2)])], OFPGC.MODIFY))).toEqual([OFPET.GROUP_MOD_FAILED, OFPGMFC.LOOP]);
    expect(err(gm(1, OFPGT.ALL, [bucket([group(1)])], OFPGC.MODIFY))).toEqual([OFPET.GROUP_MOD_FAILED, OFPGMFC.LOOP]);
    expect(err(gm(1, OFPGT.ALL, [], OFPGC.DELETE))).toEqual([OFPET.GROUP_MOD_FAILED, OFPGMFC.CHAINED_GROUP]);
    expect(h.sw.groups.size).toBe(2);
    expect(h.sw.ofGroups.get(1)!.buckets[0].actions).toEqual([out(2)]);
    // Deleting a group that does not exist is not an error.
    expect(err(gm(55, OFPGT.ALL, [], OFPGC.DELETE))).toBeNull();
  });

  it('a flow may not use a group that does not exist', () => {
    const h = setup();
    const e = h.sw.flowMod({ ...fmOf([apply(group(8))]) });
    expect(e && [e.type, e.code]).toEqual([OFPET.BAD_ACTION, OFPBAC.BAD_OUT_GROUP]);
  });
});

function fmOf(instructions: ReturnType<typeof apply>[]) {
  return {
    type: 'flow_mod' as const, xid: 0, cookie: 0n, cookieMask: 0n, tableId: 0, command: 0, idleTimeout: 0, hardTimeout: 0,
    priority: 1, bufferId: 0xffffffff, outPort: OFPP.ANY, outGroup: OFPG.ANY, flags: 0, match: [inPort(1)], instructions,
  };
}

describe('group lifecycle and stats', () => {
  it('deleting a group deletes the flows that use it (flow-removed, reason GROUP_DELETE)', () => {
    const h = setup();
    expect(h.sw.groupMod(gm(5, OFPGT.ALL, [bucket([out(2)])]))).toBeNull();
    h.flow({ match: [inPort(1)], cookie: 0x77n, flags: OFPFF.SEND_FLOW_REM, instructions: [apply(group(5))] });
    h.flow({ match: [inPort(2)], instructions: [apply(out(3))] });
    expect(h.sw.groupMod(gm(5, OFPGT.ALL, [], OFPGC.DELETE))).toBeNull();
    expect(h.sw.tables.flowCount).toBe(1);
    expect(h.events.flowRemoved).toHaveLength(1);
    expect(h.events.flowRemoved[0].reason).toBe(OFPRR.GROUP_DELETE);
    expect(h.events.flowRemoved[0].cookie).toBe(0x77n);
    h.send(0, udpFrame(B, A));
    expect(h.taken()).toEqual([[], [], []]);
  });

  it('reports group stats (packets, bytes, per bucket, ref count), desc and features', () => {
    const h = setup(3);
    const buckets = [bucket([out(2)]), bucket([out(3)])];
    expect(h.sw.groupMod(gm(6, OFPGT.ALL, buckets))).toBeNull();
    expect(h.sw.groupMod(gm(7, OFPGT.INDIRECT, [bucket([group(6)])]))).toBeNull();
    h.flow({ match: [inPort(1)], instructions: [apply(group(6))] });
    h.send(0, udpFrame(B, A, { size: 100 }), udpFrame(B, A, { size: 100 }), udpFrame(B, A, { size: 100 }));
    h.clock.now += 2500;
    const stats = h.sw.multipart({ type: 'group', groupId: OFPG.ALL }) as GroupStatsReply[];
    const g6 = stats[0].entries.find((e) => e.groupId === 6)!;
    expect(g6.packetCount).toBe(3n);
    expect(g6.byteCount).toBe(300n);
    expect(g6.refCount).toBe(2); // one flow and group 7
    expect(g6.durationSec).toBe(2);
    expect(g6.bucketStats).toEqual([{ packetCount: 3n, byteCount: 300n }, { packetCount: 3n, byteCount: 300n }]);
    expect(h.sw.multipart({ type: 'group', groupId: 6 })).toEqual([{ type: 'group', entries: [g6] }]);
    expect(h.sw.multipart({ type: 'group_desc' })).toEqual([{
      type: 'group_desc',
      entries: [{ groupType: OFPGT.ALL, groupId: 6, buckets }, { groupType: OFPGT.INDIRECT, groupId: 7, buckets: [bucket([group(6)])] }],
    }]);
    const [features] = h.sw.multipart({ type: 'group_features' }) as { types: number; capabilities: number; actions: number[] }[];
    expect(features.types).toBe(0b1111);
    expect(features.capabilities).toBe(0b1111);
    expect(features.actions[0] & (1 << 0)).toBe(1); // OUTPUT
  });
});
