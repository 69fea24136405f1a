/*
 * The group table: groups of kind all, select, indirect and fast-failover,
 * their buckets as op programs (ops.ts), bucket liveness, and the table's
 * invariants. The control plane's checks and replies (group-mod errors,
 * group stats) live above, in src/openflow/ofproto/group-mods.ts.
 *
 * What
 *   add(spec, now) / modify(spec)  install or replace a group (DpError on an
 *                          existing/unknown id, capacity, an unknown watch
 *                          group, or a loop)
 *   remove(id) / removeAll()  delete (DpFault.GroupChained while another
 *                          group sends to it); the caller deletes the rules
 *                          that used the removed ids
 *   refreshLiveness(live)  recomputes, from port liveness, each group's live
 *                          buckets: the fast-failover choice and the select
 *                          weights over live buckets
 *   chooseSelect(g, hash)  the select bucket for a flow hash (hot path)
 *
 * Design
 *   - A group lives in a slot (bySlot[slot]); rule and bucket programs name
 *     groups by slot, stable while the group exists. Deleting a group deletes
 *     the rules that use it and is refused while another group's bucket
 *     sends to it, so no program ever names a dead slot.
 *   - Bucket programs run as ordered lists, as in Open vSwitch.
 *   - Liveness: a bucket is live when its watch port is live (or PORT_ANY)
 *     and its watch group is live (or GROUP_ANY); a group is live when one of
 *     its buckets is. Select groups pick among live buckets with weight > 0
 *     by weighted hash; fast-failover groups use the first live bucket.
 *
 * Invariants
 * - bySlot[g.slot] === g and get(g.id) === g for every group (slot-table.ts).
 * - No chain of group references (group ops, watch groups) loops.
 * - chooseSelect allocates nothing; everything else is the slow path.
 */

import { DpError, DpFault, GROUP_ANY, PORT_ANY } from './rule.js';
import { SlotTable } from './slot-table.js';

export const DEFAULT_MAX_GROUPS = 65536;

/** How a group uses its buckets. */
export const enum GroupKind {
  /** Every bucket (flooding, multicast). */
  All = 0,
  /** One live bucket, chosen by weighted flow hash. */
  Select = 1,
  /** The one bucket. */
  Indirect = 2,
  /** The first live bucket. */
  FastFailover = 3,
}

/** One bucket to install. */
export interface BucketSpec {
  readonly program: Int32Array;
  /** Select groups: relative share (0 = never chosen). */
  readonly weight: number;
  /** PORT_ANY: none. */
  readonly watchPort: number;
  /** GROUP_ANY: none. */
  readonly watchGroup: number;
  /** Group ids the program sends to. */
  readonly groups: readonly number[];
}

/** One group to install. */
export interface GroupSpec {
  readonly id: number;
  readonly kind: GroupKind;
  readonly buckets: readonly BucketSpec[];
  /** The control plane's own form of the group; the datapath never reads it. */
  readonly origin: unknown;
}

export class Group {
  kind!: GroupKind;
  /** Bucket programs. */
  code!: Int32Array[];
  weights!: Int32Array;
  watchPorts!: Uint32Array;
  watchGroups!: Uint32Array;
  /** Group ids the buckets send to or watch. */
  references!: number[];
  /** Group ids the buckets send to. */
  chained!: number[];
  origin!: unknown;
  /** [packets, bytes] */
  readonly counters = new Float64Array(2);
  /** [packets, bytes] per bucket. */
  bucketCounters!: Float64Array;
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
    spec: GroupSpec,
    readonly createdMs: number,
  ) {
    this.replace(spec);
  }

  /** Replaces kind and buckets (modify); bucket counters restart, group counters go on. */
  replace(spec: GroupSpec): void {
    this.kind = spec.kind;
    this.code = spec.buckets.map((b) => b.program);
    this.weights = Int32Array.from(spec.buckets, (b) => b.weight);
    this.watchPorts = Uint32Array.from(spec.buckets, (b) => b.watchPort);
    this.watchGroups = Uint32Array.from(spec.buckets, (b) => b.watchGroup);
    this.references = referencesOf(spec);
    this.chained = spec.buckets.flatMap((b) => b.groups);
    this.origin = spec.origin;
    this.bucketCounters = new Float64Array(2 * spec.buckets.length);
  }

  get bucketCount(): number {
    return this.code.length;
  }
}

/** Group ids a group's buckets refer to (group ops and watch groups). */
function referencesOf(spec: GroupSpec): number[] {
  const out: number[] = [];
  for (const b of spec.buckets) {
    if (b.watchGroup !== GROUP_ANY) out.push(b.watchGroup);
    for (const g of b.groups) out.push(g);
  }
  return out;
}

export class GroupTable extends SlotTable<Group> {
  readonly maxGroups: number;

  constructor(opts: { maxGroups?: number } = {}) {
    super();
    this.maxGroups = opts.maxGroups ?? DEFAULT_MAX_GROUPS;
  }

  /** How many other groups send to or watch `id`. */
  referencesTo(id: number): number {
    let n = 0;
    for (const g of this.list()) if (g.id !== id && g.references.includes(id)) n++;
    return n;
  }

  /** A group (other than `id`) whose buckets send to `id`, or undefined. */
  chainedFrom(id: number): Group | undefined {
    for (const g of this.list()) if (g.id !== id && g.chained.includes(id)) return g;
    return undefined;
  }

  /** The first reference of `spec` that leads back to `spec.id`, or -1. */
  loopIn(spec: GroupSpec): number {
    for (const r of referencesOf(spec)) if (r === spec.id || this.reaches(r, spec.id, new Set())) return r;
    return -1;
  }

  /** The first watch group of `spec` that does not exist, or -1. */
  unknownWatch(spec: GroupSpec): number {
    for (const b of spec.buckets) if (b.watchGroup !== GROUP_ANY && b.watchGroup !== spec.id && !this.has(b.watchGroup)) return b.watchGroup;
    return -1;
  }

  /** Does group `from` (through its references) reach group `to`? */
  private reaches(from: number, to: number, seen: Set<number>): boolean {
    if (from === to) return true;
    if (seen.has(from)) return false;
    seen.add(from);
    const g = this.get(from);
    if (!g) return false;
    for (const r of g.references) if (this.reaches(r, to, seen)) return true;
    return false;
  }

  /** The faults installing `spec` would hit (shared by add and modify). */
  private refuse(spec: GroupSpec): DpError | null {
    const w = this.unknownWatch(spec);
    if (w >= 0) return new DpError(DpFault.UnknownWatchGroup, `watch group ${w} does not exist`);
    const r = this.loopIn(spec);
    if (r >= 0) return new DpError(DpFault.GroupLoop, `group ${r} leads back to group ${spec.id}`);
    return null;
  }

  /** Installs a new group. */
  add(spec: GroupSpec, nowMs: number): DpError | null {
    if (this.has(spec.id)) return new DpError(DpFault.GroupExists, `group ${spec.id} exists`);
    if (this.size >= this.maxGroups) return new DpError(DpFault.OutOfGroups, `${this.maxGroups} groups`);
    const bad = this.refuse(spec);
    if (bad) return bad;
    this.put(new Group(spec.id, this.nextSlot(), spec, nowMs));
    return null;
  }

  /** Replaces an existing group's kind and buckets. */
  modify(spec: GroupSpec): DpError | null {
    const g = this.get(spec.id);
    if (g === undefined) return new DpError(DpFault.UnknownGroup, `group ${spec.id} does not exist`);
    const bad = this.refuse(spec);
    if (bad) return bad;
    g.replace(spec);
    return null;
  }

  /** Deletes group `id` (nothing when it does not exist). Returns the ids deleted, or the fault. */
  remove(id: number): number[] | DpError {
    const from = this.chainedFrom(id);
    if (from !== undefined) return new DpError(DpFault.GroupChained, `group ${from.id} sends to group ${id}`);
    return this.drop(id);
  }

  /** Deletes every group; returns their ids. */
  removeAll(): number[] {
    return this.dropAll();
  }

  /** Recomputes bucket liveness from `portLive` (slow path: port or group changes). */
  refreshLiveness(portLive: (port: number) => boolean): void {
    const memo = new Map<number, boolean>();
    const groupLive = (id: number, depth: number): boolean => {
      const known = memo.get(id);
      if (known !== undefined) return known;
      const g = this.get(id);
      if (!g || depth > 64) return false;
      let live = false;
      for (let b = 0; b < g.bucketCount && !live; b++) live = bucketLive(g, b, depth);
      memo.set(id, live);
      return live;
    };
    const bucketLive = (g: Group, b: number, depth: number): boolean =>
      (g.watchPorts[b] === PORT_ANY || portLive(g.watchPorts[b])) && (g.watchGroups[b] === GROUP_ANY || groupLive(g.watchGroups[b], depth + 1));
    for (const g of this.list()) {
      g.live = groupLive(g.id, 0);
      g.ffBucket = -1;
      const idx: number[] = [];
      const cum: number[] = [];
      let total = 0;
      for (let b = 0; b < g.bucketCount; b++) {
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
}
