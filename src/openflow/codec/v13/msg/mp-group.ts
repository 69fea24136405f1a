/*
 * Multipart bodies for groups: GROUP (statistics, A.3.5.9), GROUP_DESC
 * (A.3.5.10) and GROUP_FEATURES (A.3.5.11).
 */

import { u16, u32, u64, w16, w32, w64 } from '../../bytes.js';
import { BUCKET_COUNTER, GROUP_DESC, GROUP_FEATURES, GROUP_STATS, GROUP_STATS_REQUEST } from '../consts.js';
import { DecodeError, badLen } from '../../decode-error.js';
import { OFPMP } from '../enums.js';
import { type Bucket, bucketsSize, decodeBuckets, encodeBuckets } from './group-mod.js';
import { type MpBodyCodec, emptyRequest, expectBody } from './mp-body.js';

// GROUP
export interface GroupStatsRequest { type: 'group'; groupId: number }
export interface BucketCounter { packetCount: bigint; byteCount: bigint }
export interface GroupStats {
  groupId: number;
  refCount: number;
  packetCount: bigint;
  byteCount: bigint;
  durationSec: number;
  durationNsec: number;
  bucketStats: BucketCounter[];
}
export interface GroupStatsReply { type: 'group'; entries: GroupStats[] }

export const groupBody: MpBodyCodec<GroupStatsRequest, GroupStatsReply> = {
  mpType: OFPMP.GROUP,
  name: 'group',
  requestSize: () => GROUP_STATS_REQUEST.SIZE,
  encodeRequest: (q, b, o) => {
    w32(b, o + GROUP_STATS_REQUEST.groupId, q.groupId);
    w32(b, o + GROUP_STATS_REQUEST.pad, 0);
    return o + GROUP_STATS_REQUEST.SIZE;
  },
  decodeRequest: (b, o, end) =>
    expectBody(o, end, GROUP_STATS_REQUEST.SIZE, 'group request') ?? { type: 'group', groupId: u32(b, o + GROUP_STATS_REQUEST.groupId) },
  replySize: (r) => {
    let n = 0;
    for (const e of r.entries) n += GROUP_STATS.SIZE + BUCKET_COUNTER.SIZE * e.bucketStats.length;
    return n;
  },
  encodeReply: (r, b, o) => {
    for (const e of r.entries) {
      const len = GROUP_STATS.SIZE + BUCKET_COUNTER.SIZE * e.bucketStats.length;
      b.fill(0, o, o + GROUP_STATS.SIZE);
      w16(b, o + GROUP_STATS.length, len);
      w32(b, o + GROUP_STATS.groupId, e.groupId);
      w32(b, o + GROUP_STATS.refCount, e.refCount);
      w64(b, o + GROUP_STATS.packetCount, e.packetCount);
      w64(b, o + GROUP_STATS.byteCount, e.byteCount);
      w32(b, o + GROUP_STATS.durationSec, e.durationSec);
      w32(b, o + GROUP_STATS.durationNsec, e.durationNsec);
      let c = o + GROUP_STATS.SIZE;
      for (const k of e.bucketStats) {
        w64(b, c + BUCKET_COUNTER.packetCount, k.packetCount);
        w64(b, c + BUCKET_COUNTER.byteCount, k.byteCount);
        c += BUCKET_COUNTER.SIZE;
      }
      o += len;
    }
    return o;
  },
  decodeReply: (b, o, end) => {
    const entries: GroupStats[] = [];
    while (o < end) {
      const len = end - o >= 2 ? u16(b, o + GROUP_STATS.length) : 0;
      if (len < GROUP_STATS.SIZE || (len - GROUP_STATS.SIZE) % BUCKET_COUNTER.SIZE !== 0 || o + len > end) {
        return badLen(o, `group stats entry length ${len}`);
      }
      const bucketStats: BucketCounter[] = [];
      for (let c = o + GROUP_STATS.SIZE; c < o + len; c += BUCKET_COUNTER.SIZE) {
        bucketStats.push({ packetCount: u64(b, c + BUCKET_COUNTER.packetCount), byteCount: u64(b, c + BUCKET_COUNTER.byteCount) });
      }
      entries.push({
        groupId: u32(b, o + GROUP_STATS.groupId),
        refCount: u32(b, o + GROUP_STATS.refCount),
        packetCount: u64(b, o + GROUP_STATS.packetCount),
        byteCount: u64(b, o + GROUP_STATS.byteCount),
        durationSec: u32(b, o + GROUP_STATS.durationSec),
        durationNsec: u32(b, o + GROUP_STATS.durationNsec),
        bucketStats,
      });
      o += len;
    }
    return { type: 'group', entries };
  },
};

// GROUP_DESC
export interface GroupDescRequest { type: 'group_desc' }
export interface GroupDesc {
  /** OFPGT_* */
  groupType: number;
  groupId: number;
  buckets: Bucket[];
}
export interface GroupDescReply { type: 'group_desc'; entries: GroupDesc[] }

export const groupDescBody: MpBodyCodec<GroupDescRequest, GroupDescReply> = {
  mpType: OFPMP.GROUP_DESC,
  name: 'group_desc',
  ...emptyRequest('group_desc'),
  replySize: (r) => {
    let n = 0;
    for (const e of r.entries) n += GROUP_DESC.SIZE + bucketsSize(e.buckets);
    return n;
  },
  encodeReply: (r, b, o) => {
    for (const e of r.entries) {
      const end = encodeBuckets(e.buckets, b, o + GROUP_DESC.SIZE);
      w16(b, o + GROUP_DESC.length, end - o);
      b[o + GROUP_DESC.type] = e.groupType;
      b[o + GROUP_DESC.pad] = 0;
      w32(b, o + GROUP_DESC.groupId, e.groupId);
      o = end;
    }
    return o;
  },
  decodeReply: (b, o, end) => {
    const entries: GroupDesc[] = [];
    while (o < end) {
      const len = end - o >= 2 ? u16(b, o + GROUP_DESC.length) : 0;
      if (len < GROUP_DESC.SIZE || o + len > end) return badLen(o, `group desc entry length ${len}`);
      const buckets = decodeBuckets(b, o + GROUP_DESC.SIZE, o + len);
      if (buckets instanceof DecodeError) return buckets;
      entries.push({ groupType: b[o + GROUP_DESC.type], groupId: u32(b, o + GROUP_DESC.groupId), buckets });
      o += len;
    }
    return { type: 'group_desc', entries };
  },
};

// GROUP_FEATURES
export interface GroupFeaturesRequest { type: 'group_features' }
export interface GroupFeaturesReply {
  type: 'group_features';
  /** Bitmap of OFPGT_* supported. */
  types: number;
  /** OFPGFC_* */
  capabilities: number;
  /** Max groups of each type: [all, select, indirect, ff]. */
  maxGroups: [number, number, number, number];
  /** Bitmaps of OFPAT_* supported by each type: [all, select, indirect, ff]. */
  actions: [number, number, number, number];
}

export const groupFeaturesBody: MpBodyCodec<GroupFeaturesRequest, GroupFeaturesReply> = {
  mpType: OFPMP.GROUP_FEATURES,
  name: 'group_features',
  ...emptyRequest('group_features'),
  replySize: () => GROUP_FEATURES.SIZE,
  encodeReply: (r, b, o) => {
    w32(b, o + GROUP_FEATURES.types, r.types);
    w32(b, o + GROUP_FEATURES.capabilities, r.capabilities);
    for (let i = 0; i < 4; i++) {
      w32(b, o + GROUP_FEATURES.maxGroups + 4 * i, r.maxGroups[i]);
      w32(b, o + GROUP_FEATURES.actions + 4 * i, r.actions[i]);
    }
    return o + GROUP_FEATURES.SIZE;
  },
  decodeReply: (b, o, end) => {
    const bad = expectBody(o, end, GROUP_FEATURES.SIZE, 'group_features reply');
    if (bad) return bad;
    const q = (base: number): [number, number, number, number] => [u32(b, base), u32(b, base + 4), u32(b, base + 8), u32(b, base + 12)];
    return {
      type: 'group_features',
      types: u32(b, o + GROUP_FEATURES.types),
      capabilities: u32(b, o + GROUP_FEATURES.capabilities),
      maxGroups: q(o + GROUP_FEATURES.maxGroups),
      actions: q(o + GROUP_FEATURES.actions),
    };
  },
};
