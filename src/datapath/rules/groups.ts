/*
 * The OpenFlow group table: groups of type all, select, indirect and
 * fast-failover, their buckets compiled to op streams (of-ops.ts), bucket
 * liveness, and the group-mod rules and statistics.
 *
 * What
 *   check(gm)              group-mod checks that need the table (ids, type,
 *                          weights, watches, chaining loops); action checks
 *                          are the caller's (openflow/of-validate.ts)
 *   apply(gm, code, now)   add / modify / delete after the checks passed
 *   refreshLiveness(live)  recomputes, from port liveness, each group's live
 *                          buckets: the fast-failover choice and the select
 *                          weights over live buckets
 *   chooseSelect(g, hash)  the select bucket for a flow hash (hot path)
 *
 * Design
 *   - A group lives in a slot (bySlot[slot]); flow and bucket programs name
 *     groups by slot, stable while the group exists. Deleting a group deletes
 *     the flows that use it (the caller does that with the ids returned) and is
 *     refused with OFPGMFC_CHAINED_GROUP while another group's bucket sends to
 *     it, so no program ever names a dead slot.
 *   - Bucket actions run as an ordered list, as in Open vSwitch (the spec
 *     calls them an action set; with at most one action of each kind the two
 *     agree).
 *   - Liveness (spec 6.5): a bucket is live when its watch port is live (or
 *     ANY) and its watch group is live (or ANY); a group is live when one of
 *     its buckets is. Select groups pick among live buckets with weight > 0
 *     by weighted hash; fast-failover groups use the first live bucket.
 *
 * Invariants
 * - bySlot[g.slot] === g and byId.get(g.id) === g for every group.
 * - No chain of group references (group actions, watch groups) loops.
 * - chooseSelect allocates nothing; everything else is the slow path.
 */

import { OFPAT, OFPET, OFPG, OFPGC, OFPGFC, OFPGMFC, OFPGT, OFPP } from '../../openflow/codec/v13/enums.js';
import type { Bucket, GroupMod } from '../../openflow/codec/v13/msg/group-mod.js';
import type { GroupDesc, GroupFeaturesReply, GroupStats } from '../../openflow/codec/v13/msg/mp-group.js';
import type { OfError } from '../../openflow/ofproto/switch-api.js';

export const DEFAULT_MAX_GROUPS = 65536;

/** Action types a bucket may hold (group features). */
export const GROUP_ACTION_BITS =
  (1 << OFPAT.OUTPUT) | (1 << OFPAT.COPY_TTL_OUT) | (1 << OFPAT.COPY_TTL_IN) | (1 << OFPAT.SET_MPLS_TTL) |
  (1 << OFPAT.DEC_MPLS_TTL) | (1 << OFPAT.PUSH_VLAN) | (1 << OFPAT.POP_VLAN) | (1 << OFPAT.PUSH_MPLS) |
  (1 << OFPAT.POP_MPLS) | (1 << OFPAT.SET_QUEUE) | (1 << OFPAT.GROUP) | (1 << OFPAT.SET_NW_TTL) |
  (1 << OFPAT.DEC_NW_TTL) | (1 << OFPAT.SET_FIELD);

function err(code: number, reason: string): OfError {
  return { type: OFPET.GROUP_MOD_FAILED, code, reason };
}

export class Group {
  type: number;
  buckets: Bucket[];
  /** Compiled bucket actions. */
  code: Int32Array[];
  weights: Int32Array;
  watchPorts: Uint32Array;
  watchGroups: Uint32Array;
  /** [packets, bytes] */
  readonly counters = new Float64Array(2);
  /** [packets, bytes] per bucket. */
  bucketCounters: Float64Array;
  /** Fast-failover: the first live bucket, -1 when none. */
  ffBucket = -1;
  /** Select: live buckets with weight > 0 and their cumulative weights. */
  liveIdx = new Int32Array(0);
  liveCum = new Int32Array(0);
  liveTotal = 0;
  live = true;

  constructor(
    readonly id: number,
    readonly slot: number,
    gm: GroupMod,
    code: Int32Array[],
    readonly createdMs: number,
  ) {
    this.type = gm.groupType;
    this.buckets = gm.buckets;
    this.code = code;
    this.weights = Int32Array.from(gm.buckets, (b) => b.weight);
    this.watchPorts = Uint32Array.from(gm.buckets, (b) => b.watchPort);
    this.watchGroups = Uint32Array.from(gm.buckets, (b) => b.watchGroup);
    this.bucketCounters = new Float64Array(2 * gm.buckets.length);
  }

  /** Replaces type and buckets (group-mod MODIFY); bucket counters restart, group counters go on. */
  replace(gm: GroupMod, code: Int32Array[]): void {
    this.type = gm.groupType;
    this.buckets = gm.buckets;
    this.code = code;
    this.weights = Int32Array.from(gm.buckets, (b) => b.weight);
    this.watchPorts = Uint32Array.from(gm.buckets, (b) => b.watchPort);
    this.watchGroups = Uint32Array.from(gm.buckets, (b) => b.watchGroup);
    this.bucketCounters = new Float64Array(2 * gm.buckets.length);
  }

  /** Groups this one sends to (group actions in its buckets). */
  chained(): number[] {
    const out: number[] = [];
    for (const b of this.buckets) for (const a of b.actions) if (a.type === 'group') out.push(a.groupId);
    return out;
  }
}

/** Group ids a group-mod's buckets refer to (group actions and watch groups). */
function referencesOf(buckets: readonly Bucket[]): number[] {
  const out: number[] = [];
  for (const b of buckets) {
    if (b.watchGroup !== OFPG.ANY) out.push(b.watchGroup);
    for (const a of b.actions) if (a.type === 'group') out.push(a.groupId);
  }
  return out;
}

export interface GroupModOutcome {
  error: OfError | null;
  /** Ids of the groups deleted (their flows must go). */
  deleted: number[];
}

export class GroupTable {
  readonly bySlot: (Group | null)[] = [];
  private readonly byId = new Map<number, Group>();
  private readonly freeSlots: number[] = [];
  readonly maxGroups: number;

  constructor(opts: { maxGroups?: number } = {}) {
    this.maxGroups = opts.maxGroups ?? DEFAULT_MAX_GROUPS;
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: number): Group | undefined {
    return this.byId.get(id);
  }

  /** Slot of group `id`, -1 if it does not exist. */
  slotOf(id: number): number {
    return this.byId.get(id)?.slot ?? -1;
  }

  /** Every group, by id. */
  list(): Group[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  /** How many other groups send to or watch `id` (part of the group's ref_count). */
  referencesTo(id: number): number {
    let n = 0;
    for (const g of this.byId.values()) if (g.id !== id && referencesOf(g.buckets).includes(id)) n++;
    return n;
  }

  /**
   * The checks of a group-mod that need the table, before its actions are
   * validated: command, id, type, bucket count, weights, watches, loops.
   */
  check(gm: GroupMod): OfError | null {
    if (gm.command === OFPGC.DELETE) {
      if (gm.groupId === OFPG.ALL) return null;
      for (const g of this.byId.values()) {
        if (g.id !== gm.groupId && g.chained().includes(gm.groupId)) {
          return err(OFPGMFC.CHAINED_GROUP, `group ${g.id} sends to group ${gm.groupId}`);
        }
      }
      return null;
    }
    if (gm.command !== OFPGC.ADD && gm.command !== OFPGC.MODIFY) return err(OFPGMFC.BAD_COMMAND, `group_mod command ${gm.command}`);
    if (gm.groupId > OFPG.MAX) return err(OFPGMFC.INVALID_GROUP, `group id 0x${gm.groupId.toString(16)} is reserved`);
    const exists = this.byId.has(gm.groupId);
    if (gm.command === OFPGC.ADD && exists) return err(OFPGMFC.GROUP_EXISTS, `group ${gm.groupId} exists`);
    if (gm.command === OFPGC.MODIFY && !exists) return err(OFPGMFC.UNKNOWN_GROUP, `group ${gm.groupId} does not exist`);
    if (gm.command === OFPGC.ADD && this.byId.size >= this.maxGroups) return err(OFPGMFC.OUT_OF_GROUPS, `${this.maxGroups} groups`);
    if (gm.groupType > OFPGT.FF) return err(OFPGMFC.BAD_TYPE, `group type ${gm.groupType}`);
    if (gm.groupType === OFPGT.INDIRECT && gm.buckets.length !== 1) {
      return err(OFPGMFC.INVALID_GROUP, `an indirect group has exactly one bucket, not ${gm.buckets.length}`);
    }
    for (const b of gm.buckets) {
      if (gm.groupType !== OFPGT.SELECT && b.weight !== 0) return err(OFPGMFC.WEIGHT_UNSUPPORTED, 'only select buckets have weights');
      if (b.watchPort !== OFPP.ANY && (b.watchPort === 0 || b.watchPort > OFPP.MAX)) {
        return err(OFPGMFC.BAD_WATCH, `watch port 0x${b.watchPort.toString(16)}`);
      }
      if (b.watchGroup !== OFPG.ANY) {
        if (b.watchGroup === gm.groupId) return err(OFPGMFC.LOOP, `group ${gm.groupId} watches itself`);
        if (!this.byId.has(b.watchGroup)) return err(OFPGMFC.BAD_WATCH, `watch group ${b.watchGroup} does not exist`);
      }
      if (gm.groupType === OFPGT.FF && b.watchPort === OFPP.ANY && b.watchGroup === OFPG.ANY) {
        return err(OFPGMFC.BAD_WATCH, 'a fast-failover bucket needs a watch port or group');
      }
    }
    for (const r of referencesOf(gm.buckets)) {
      if (r === gm.groupId || this.reaches(r, gm.groupId, new Set())) return err(OFPGMFC.LOOP, `group ${r} leads back to group ${gm.groupId}`);
    }
    return null;
  }

  /** Does group `from` (through its references) reach group `to`? */
  private reaches(from: number, to: number, seen: Set<number>): boolean {
    if (from === to) return true;
    if (seen.has(from)) return false;
    seen.add(from);
    const g = this.byId.get(from);
    if (!g) return false;
    for (const r of referencesOf(g.buckets)) if (this.reaches(r, to, seen)) return true;
    return false;
  }

  /** Applies a group-mod that passed check() and action validation; `code` holds its compiled buckets. */
  apply(gm: GroupMod, code: Int32Array[], nowMs: number): GroupModOutcome {
    switch (gm.command) {
      case OFPGC.ADD: {
        const slot = this.freeSlots.length > 0 ? this.freeSlots.pop()! : this.bySlot.length;
        const g = new Group(gm.groupId, slot, gm, code, nowMs);
        if (slot === this.bySlot.length) this.bySlot.push(g);
        else this.bySlot[slot] = g;
        this.byId.set(g.id, g);
        return { error: null, deleted: [] };
      }
      case OFPGC.MODIFY:
        this.byId.get(gm.groupId)!.replace(gm, code);
        return { error: null, deleted: [] };
      default: {
        const ids = gm.groupId === OFPG.ALL ? [...this.byId.keys()] : this.byId.has(gm.groupId) ? [gm.groupId] : [];
        for (const id of ids) {
          const g = this.byId.get(id)!;
          this.byId.delete(id);
          this.bySlot[g.slot] = null;
          this.freeSlots.push(g.slot);
        }
        return { error: null, deleted: ids };
      }
    }
  }

  /** Recomputes bucket liveness from `portLive` (slow path: port or group changes). */
  refreshLiveness(portLive: (port: number) => boolean): void {
    const memo = new Map<number, boolean>();
    const groupLive = (id: number, depth: number): boolean => {
      const known = memo.get(id);
      if (known !== undefined) return known;
      const g = this.byId.get(id);
      if (!g || depth > 64) return false;
      let live = false;
      for (let b = 0; b < g.buckets.length && !live; b++) live = bucketLive(g, b, depth);
      memo.set(id, live);
      return live;
    };
    const bucketLive = (g: Group, b: number, depth: number): boolean =>
      (g.watchPorts[b] === OFPP.ANY || portLive(g.watchPorts[b])) && (g.watchGroups[b] === OFPG.ANY || groupLive(g.watchGroups[b], depth + 1));
    for (const g of this.byId.values()) {
      g.live = groupLive(g.id, 0);
      g.ffBucket = -1;
      const idx: number[] = [];
      const cum: number[] = [];
      let total = 0;
      for (let b = 0; b < g.buckets.length; b++) {
        if (!bucketLive(g, b, 0)) continue;
        if (g.ffBucket < 0) g.ffBucket = b;
        if (g.weights[b] > 0) {
          total += g.weights[b];
          idx.push(b);
          cum.push(total);
        }
      }
      g.liveIdx = Int32Array.from(idx);
      g.liveCum = Int32Array.from(cum);
      g.liveTotal = total;
    }
  }

  /** The select bucket for flow hash `hash` (weighted over live buckets), or -1. Hot path. */
  chooseSelect(g: Group, hash: number): number {
    const total = g.liveTotal;
    if (total === 0) return -1;
    const r = (hash >>> 0) % total;
    const cum = g.liveCum;
    for (let i = 0; i < cum.length; i++) if (r < cum[i]) return g.liveIdx[i];
    return -1;
  }

  /** OFPMP_GROUP entries (all groups for OFPG_ALL); `refCount` counts flows and groups using each. */
  stats(groupId: number, nowMs: number, refCount: (id: number) => number): GroupStats[] {
    const groups = groupId === OFPG.ALL ? this.list() : this.byId.has(groupId) ? [this.byId.get(groupId)!] : [];
    return groups.map((g) => {
      const ms = Math.max(0, nowMs - g.createdMs);
      const sec = Math.floor(ms / 1000);
      const bucketStats = [];
      for (let b = 0; b < g.buckets.length; b++) {
        bucketStats.push({ packetCount: BigInt(g.bucketCounters[2 * b]), byteCount: BigInt(g.bucketCounters[2 * b + 1]) });
      }
      return {
        groupId: g.id,
        refCount: refCount(g.id),
        packetCount: BigInt(g.counters[0]),
        byteCount: BigInt(g.counters[1]),
        durationSec: sec,
        durationNsec: Math.min(999_999_999, Math.round((ms - sec * 1000) * 1e6)),
        bucketStats,
      };
    });
  }

  /** OFPMP_GROUP_DESC entries. */
  desc(): GroupDesc[] {
    return this.list().map((g) => ({ groupType: g.type, groupId: g.id, buckets: g.buckets }));
  }

  /** OFPMP_GROUP_FEATURES. */
  features(): Omit<GroupFeaturesReply, 'type'> {
    const m = this.maxGroups;
    return {
      types: (1 << OFPGT.ALL) | (1 << OFPGT.SELECT) | (1 << OFPGT.INDIRECT) | (1 << OFPGT.FF),
      capabilities: OFPGFC.SELECT_WEIGHT | OFPGFC.SELECT_LIVENESS | OFPGFC.CHAINING | OFPGFC.CHAINING_CHECKS,
      maxGroups: [m, m, m, m],
      actions: [GROUP_ACTION_BITS, GROUP_ACTION_BITS, GROUP_ACTION_BITS, GROUP_ACTION_BITS],
    };
  }
}
