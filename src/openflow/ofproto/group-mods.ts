/*
 * Group-mods and group statistics: OpenFlow 1.3's group table semantics
 * (spec 5.6, 7.3.4.2) translated onto the datapath's GroupTable.
 *
 * What
 *   check(gm)            the group-mod checks, in the order the switch has
 *                        always answered them: command, reserved id,
 *                        exists/unknown, capacity, type, bucket count,
 *                        weights (INVALID_GROUP outside select and for a
 *                        select weight of 0), watches, loops (OFPGMFC_*); action checks
 *                        are the caller's (validate.ts)
 *   apply(gm, now)       add / modify / delete after the checks passed: the
 *                        buckets compiled to programs, OFPGT_* -> GroupKind,
 *                        the OpenFlow buckets kept as the group's origin
 *   stats / desc / features   the multipart bodies
 *
 * Invariants
 * - A group-mod that fails check() changes nothing; apply() of one that
 *   passed cannot fail (the datapath's own refusals map through faults.ts).
 */

import { GroupKind, type BucketSpec, type Group, type GroupSpec, type GroupTable } from '../../datapath/rules/groups.js';
import { GROUP_ANY, PORT_ANY } from '../../datapath/rules/rule.js';
import { OFPAT, OFPET, OFPG, OFPGC, OFPGFC, OFPGMFC, OFPGT, OFPP } from '../codec/v13/enums.js';
import type { Bucket, GroupMod } from '../codec/v13/msg/group-mod.js';
import type { GroupDesc, GroupFeaturesReply, GroupStats } from '../codec/v13/msg/mp-group.js';
import { actionRefs, compileActions, type CompileContext } from './compile.js';
import { ofErrorOf } from './faults.js';
import { counterPairs, durationOf } from './replies.js';
import type { OfError } from './switch-api.js';

/** Action types a bucket may hold (group features). */
export const GROUP_ACTION_BITS =
  (1 << OFPAT.OUTPUT) | (1 << OFPAT.COPY_TTL_OUT) | (1 << OFPAT.COPY_TTL_IN) | (1 << OFPAT.SET_MPLS_TTL) |
  (1 << OFPAT.DEC_MPLS_TTL) | (1 << OFPAT.PUSH_VLAN) | (1 << OFPAT.POP_VLAN) | (1 << OFPAT.PUSH_MPLS) |
  (1 << OFPAT.POP_MPLS) | (1 << OFPAT.SET_QUEUE) | (1 << OFPAT.GROUP) | (1 << OFPAT.SET_NW_TTL) |
  (1 << OFPAT.DEC_NW_TTL) | (1 << OFPAT.SET_FIELD) | (1 << OFPAT.PUSH_PBB) | (1 << OFPAT.POP_PBB);

function err(code: number, reason: string): OfError {
  return { type: OFPET.GROUP_MOD_FAILED, code, reason };
}

function groupTypeName(groupType: number): string {
  return groupType === OFPGT.ALL ? 'all' : groupType === OFPGT.INDIRECT ? 'indirect' : groupType === OFPGT.FF ? 'fast-failover' : 'select';
}

function kindOf(groupType: number): GroupKind {
  switch (groupType) {
    case OFPGT.ALL: return GroupKind.All;
    case OFPGT.SELECT: return GroupKind.Select;
    case OFPGT.INDIRECT: return GroupKind.Indirect;
    default: return GroupKind.FastFailover;
  }
}

/** A group's OpenFlow form, kept as its origin. */
interface GroupOrigin {
  readonly groupType: number;
  readonly buckets: Bucket[];
}

function originOf(g: Group): GroupOrigin {
  return g.origin as GroupOrigin;
}

export interface GroupModOutcome {
  error: OfError | null;
  /** Ids of the groups deleted (their flows must go). */
  deleted: number[];
}

export class OfGroups {
  constructor(
    readonly table: GroupTable,
    private readonly ctx: CompileContext,
  ) {}

  get size(): number {
    return this.table.size;
  }

  /** Group `id` as the controller installed it, or undefined. */
  get(id: number): GroupDesc | undefined {
    const g = this.table.get(id);
    return g === undefined ? undefined : descOf(g);
  }

  /** The group-mod's checks that need the table, before its actions are validated. */
  check(gm: GroupMod): OfError | null {
    const t = this.table;
    if (gm.command === OFPGC.DELETE) {
      if (gm.groupId === OFPG.ALL) return null;
      const from = t.chainedFrom(gm.groupId);
      return from === undefined ? null : err(OFPGMFC.CHAINED_GROUP, `group ${from.id} sends to group ${gm.groupId}`);
    }
    if (gm.command !== OFPGC.ADD && gm.command !== OFPGC.MODIFY) return err(OFPGMFC.BAD_COMMAND, `group_mod command ${gm.command}`);
    if (gm.groupId > OFPG.MAX) return err(OFPGMFC.INVALID_GROUP, `group id 0x${gm.groupId.toString(16)} is reserved`);
    const exists = t.has(gm.groupId);
    if (gm.command === OFPGC.ADD && exists) return err(OFPGMFC.GROUP_EXISTS, `group ${gm.groupId} exists`);
    if (gm.command === OFPGC.MODIFY && !exists) return err(OFPGMFC.UNKNOWN_GROUP, `group ${gm.groupId} does not exist`);
    if (gm.command === OFPGC.ADD && t.size >= t.maxGroups) return err(OFPGMFC.OUT_OF_GROUPS, `${t.maxGroups} groups`);
    if (gm.groupType > OFPGT.FF) return err(OFPGMFC.BAD_TYPE, `group type ${gm.groupType}`);
    if (gm.groupType === OFPGT.INDIRECT && gm.buckets.length !== 1) {
      return err(OFPGMFC.INVALID_GROUP, `an indirect group has exactly one bucket, not ${gm.buckets.length}`);
    }
    for (const b of gm.buckets) {
      // 1.3.5 6.5: a field the group type does not define (a weight outside
      // select) makes the group invalid: OFPGMFC_INVALID_GROUP, not
      // WEIGHT_UNSUPPORTED (that one is for switches without unequal weights).
      if (gm.groupType !== OFPGT.SELECT && b.weight !== 0) return err(OFPGMFC.INVALID_GROUP, `a ${groupTypeName(gm.groupType)} bucket has no weight (weight ${b.weight})`);
      // A select bucket's share is its weight over the sum of the weights
      // (7.3.4.2): weight 0 is a bucket that can never be chosen (all zero:
      // 0/0). Refused as an invalid group, as the ONF's OFTest
      // (groups.GroupAddSelectNoWeight) expects.
      if (gm.groupType === OFPGT.SELECT && b.weight === 0) return err(OFPGMFC.INVALID_GROUP, 'a select bucket needs a weight of at least 1');
      if (b.watchPort !== OFPP.ANY && (b.watchPort === 0 || b.watchPort > OFPP.MAX)) {
        return err(OFPGMFC.BAD_WATCH, `watch port 0x${b.watchPort.toString(16)}`);
      }
      if (b.watchGroup !== OFPG.ANY) {
        if (b.watchGroup === gm.groupId) return err(OFPGMFC.LOOP, `group ${gm.groupId} watches itself`);
        if (!t.has(b.watchGroup)) return err(OFPGMFC.BAD_WATCH, `watch group ${b.watchGroup} does not exist`);
      }
      if (gm.groupType === OFPGT.FF && b.watchPort === OFPP.ANY && b.watchGroup === OFPG.ANY) {
        return err(OFPGMFC.BAD_WATCH, 'a fast-failover bucket needs a watch port or group');
      }
    }
    const r = t.loopIn(this.specOf(gm, false));
    if (r >= 0) return err(OFPGMFC.LOOP, `group ${r} leads back to group ${gm.groupId}`);
    return null;
  }

  /** Applies a group-mod that passed check() and action validation. */
  apply(gm: GroupMod, nowMs: number): GroupModOutcome {
    const t = this.table;
    switch (gm.command) {
      case OFPGC.ADD:
      case OFPGC.MODIFY: {
        const spec = this.specOf(gm, true);
        const e = gm.command === OFPGC.ADD ? t.add(spec, nowMs) : t.modify(spec);
        return { error: e === null ? null : ofErrorOf(e), deleted: [] };
      }
      default: {
        if (gm.groupId === OFPG.ALL) return { error: null, deleted: t.removeAll() };
        const r = t.remove(gm.groupId);
        return Array.isArray(r) ? { error: null, deleted: r } : { error: ofErrorOf(r), deleted: [] };
      }
    }
  }

  /** The datapath form of a group-mod's group (programs compiled only when `compile`). */
  private specOf(gm: GroupMod, compile: boolean): GroupSpec {
    const buckets: BucketSpec[] = gm.buckets.map((b) => ({
      program: compile ? compileActions(b.actions, this.ctx) : new Int32Array(0),
      weight: b.weight,
      watchPort: b.watchPort === OFPP.ANY ? PORT_ANY : b.watchPort,
      watchGroup: b.watchGroup === OFPG.ANY ? GROUP_ANY : b.watchGroup,
      groups: actionRefs(b.actions).groups,
    }));
    return { id: gm.groupId, kind: kindOf(gm.groupType), buckets, origin: { groupType: gm.groupType, buckets: gm.buckets } satisfies GroupOrigin };
  }

  /** OFPMP_GROUP entries (all groups for OFPG_ALL); `refCount` counts flows and groups using each. */
  stats(groupId: number, nowMs: number, refCount: (id: number) => number): GroupStats[] {
    const t = this.table;
    const groups = groupId === OFPG.ALL ? t.list() : t.has(groupId) ? [t.get(groupId)!] : [];
    return groups.map((g) => {
      const d = durationOf(g.createdMs, nowMs);
      return {
        groupId: g.id,
        refCount: refCount(g.id),
        packetCount: BigInt(g.counters[0]),
        byteCount: BigInt(g.counters[1]),
        durationSec: d.sec,
        durationNsec: d.nsec,
        bucketStats: counterPairs(g.bucketCounters, g.bucketCount, (packetCount, byteCount) => ({ packetCount, byteCount })),
      };
    });
  }

  /** OFPMP_GROUP_DESC entries. */
  desc(): GroupDesc[] {
    return this.table.list().map(descOf);
  }

  /** OFPMP_GROUP_FEATURES. */
  features(): Omit<GroupFeaturesReply, 'type'> {
    const m = this.table.maxGroups;
    return {
      types: (1 << OFPGT.ALL) | (1 << OFPGT.SELECT) | (1 << OFPGT.INDIRECT) | (1 << OFPGT.FF),
      capabilities: OFPGFC.SELECT_WEIGHT | OFPGFC.SELECT_LIVENESS | OFPGFC.CHAINING | OFPGFC.CHAINING_CHECKS,
      maxGroups: [m, m, m, m],
      actions: [GROUP_ACTION_BITS, GROUP_ACTION_BITS, GROUP_ACTION_BITS, GROUP_ACTION_BITS],
    };
  }
}

function descOf(g: Group): GroupDesc {
  const o = originOf(g);
  return { groupType: o.groupType, groupId: g.id, buckets: o.buckets };
}
