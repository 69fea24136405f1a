/*
 * Multipart bodies for flow statistics: FLOW (individual flows, A.3.5.2) and
 * AGGREGATE (A.3.5.3). Both requests share one layout: table, out_port,
 * out_group, cookie/cookie_mask and a match.
 */

import { u16, u32, u64, w16, w32, w64 } from '../../bytes.js';
import { AGGREGATE_STATS_REPLY, FLOW_STATS, FLOW_STATS_REQUEST, MATCH } from '../consts.js';
import { DecodeError, badLen } from '../../decode-error.js';
import { OFPMP } from '../enums.js';
import { type Instruction, decodeInstructions, encodeInstructions, instructionsSize } from '../instructions.js';
import { type Match, decodeMatch, encodeMatch, matchSize, matchWireSize } from '../oxm.js';
import { type MpBodyCodec, expectBody } from './mp-body.js';

/** The filter of a FLOW or AGGREGATE request. */
export interface FlowStatsFilter {
  /** A table id or OFPTT_ALL. */
  tableId: number;
  /** OFPP_ANY for no filter. */
  outPort: number;
  /** OFPG_ANY for no filter. */
  outGroup: number;
  cookie: bigint;
  cookieMask: bigint;
  match: Match;
}
export interface FlowStatsRequest extends FlowStatsFilter { type: 'flow' }
export interface AggregateStatsRequest extends FlowStatsFilter { type: 'aggregate' }

export interface FlowStats {
  tableId: number;
  durationSec: number;
  durationNsec: number;
  priority: number;
  idleTimeout: number;
  hardTimeout: number;
  /** OFPFF_* */
  flags: number;
  cookie: bigint;
  packetCount: bigint;
  byteCount: bigint;
  match: Match;
  instructions: Instruction[];
}
export interface FlowStatsReply { type: 'flow'; entries: FlowStats[] }
export interface AggregateStatsReply { type: 'aggregate'; packetCount: bigint; byteCount: bigint; flowCount: number }

function filterSize(q: FlowStatsFilter): number {
  return FLOW_STATS_REQUEST.SIZE + matchSize(q.match);
}

function encodeFilter(q: FlowStatsFilter, b: Buffer, o: number): number {
  b.fill(0, o, o + FLOW_STATS_REQUEST.SIZE);
  b[o + FLOW_STATS_REQUEST.tableId] = q.tableId;
  w32(b, o + FLOW_STATS_REQUEST.outPort, q.outPort);
  w32(b, o + FLOW_STATS_REQUEST.outGroup, q.outGroup);
  w64(b, o + FLOW_STATS_REQUEST.cookie, q.cookie);
  w64(b, o + FLOW_STATS_REQUEST.cookieMask, q.cookieMask);
  return encodeMatch(q.match, b, o + FLOW_STATS_REQUEST.SIZE);
}

function decodeFilter<T extends 'flow' | 'aggregate'>(type: T, b: Buffer, o: number, end: number): (FlowStatsFilter & { type: T }) | DecodeError {
  if (end - o < FLOW_STATS_REQUEST.SIZE + MATCH.SIZE) return badLen(o, `${type} request body shorter than 40 bytes`);
  const mo = o + FLOW_STATS_REQUEST.SIZE;
  const match = decodeMatch(b, mo, end);
  if (match instanceof DecodeError) return match;
  if (mo + matchWireSize(b, mo) !== end) return badLen(o, `${type} request has bytes after its match`);
  return {
    type,
    tableId: b[o + FLOW_STATS_REQUEST.tableId],
    outPort: u32(b, o + FLOW_STATS_REQUEST.outPort),
    outGroup: u32(b, o + FLOW_STATS_REQUEST.outGroup),
    cookie: u64(b, o + FLOW_STATS_REQUEST.cookie),
    cookieMask: u64(b, o + FLOW_STATS_REQUEST.cookieMask),
    match,
  };
}

function flowStatsSize(e: FlowStats): number {
  return FLOW_STATS.SIZE + matchSize(e.match) + instructionsSize(e.instructions);
}

export const flowBody: MpBodyCodec<FlowStatsRequest, FlowStatsReply> = {
  mpType: OFPMP.FLOW,
  name: 'flow',
  requestSize: filterSize,
  encodeRequest: encodeFilter,
  decodeRequest: (b, o, end) => decodeFilter('flow', b, o, end),
  replySize: (r) => {
    let n = 0;
    for (const e of r.entries) n += flowStatsSize(e);
    return n;
  },
  encodeReply: (r, b, o) => {
    for (const e of r.entries) {
      const len = flowStatsSize(e);
      b.fill(0, o, o + FLOW_STATS.SIZE);
      w16(b, o + FLOW_STATS.length, len);
      b[o + FLOW_STATS.tableId] = e.tableId;
      w32(b, o + FLOW_STATS.durationSec, e.durationSec);
      w32(b, o + FLOW_STATS.durationNsec, e.durationNsec);
      w16(b, o + FLOW_STATS.priority, e.priority);
      w16(b, o + FLOW_STATS.idleTimeout, e.idleTimeout);
      w16(b, o + FLOW_STATS.hardTimeout, e.hardTimeout);
      w16(b, o + FLOW_STATS.flags, e.flags);
      w64(b, o + FLOW_STATS.cookie, e.cookie);
      w64(b, o + FLOW_STATS.packetCount, e.packetCount);
      w64(b, o + FLOW_STATS.byteCount, e.byteCount);
      const io = encodeMatch(e.match, b, o + FLOW_STATS.SIZE);
      encodeInstructions(e.instructions, b, io);
      o += len;
    }
    return o;
  },
  decodeReply: (b, o, end) => {
    const entries: FlowStats[] = [];
    while (o < end) {
      const len = end - o >= 2 ? u16(b, o + FLOW_STATS.length) : 0;
      if (len < FLOW_STATS.SIZE + MATCH.SIZE || o + len > end) return badLen(o, `flow stats entry length ${len}`);
      const mo = o + FLOW_STATS.SIZE;
      const match = decodeMatch(b, mo, o + len);
      if (match instanceof DecodeError) return match;
      const instructions = decodeInstructions(b, mo + matchWireSize(b, mo), o + len);
      if (instructions instanceof DecodeError) return instructions;
      entries.push({
        tableId: b[o + FLOW_STATS.tableId],
        durationSec: u32(b, o + FLOW_STATS.durationSec),
        durationNsec: u32(b, o + FLOW_STATS.durationNsec),
        priority: u16(b, o + FLOW_STATS.priority),
        idleTimeout: u16(b, o + FLOW_STATS.idleTimeout),
        hardTimeout: u16(b, o + FLOW_STATS.hardTimeout),
        flags: u16(b, o + FLOW_STATS.flags),
        cookie: u64(b, o + FLOW_STATS.cookie),
        packetCount: u64(b, o + FLOW_STATS.packetCount),
        byteCount: u64(b, o + FLOW_STATS.byteCount),
        match,
        instructions,
      });
      o += len;
    }
    return { type: 'flow', entries };
  },
};

export const aggregateBody: MpBodyCodec<AggregateStatsRequest, AggregateStatsReply> = {
  mpType: OFPMP.AGGREGATE,
  name: 'aggregate',
  requestSize: filterSize,
  encodeRequest: encodeFilter,
  decodeRequest: (b, o, end) => decodeFilter('aggregate', b, o, end),
  replySize: () => AGGREGATE_STATS_REPLY.SIZE,
  encodeReply: (r, b, o) => {
    w64(b, o + AGGREGATE_STATS_REPLY.packetCount, r.packetCount);
    w64(b, o + AGGREGATE_STATS_REPLY.byteCount, r.byteCount);
    w32(b, o + AGGREGATE_STATS_REPLY.flowCount, r.flowCount);
    w32(b, o + AGGREGATE_STATS_REPLY.pad, 0);
    return o + AGGREGATE_STATS_REPLY.SIZE;
  },
  decodeReply: (b, o, end) =>
    expectBody(o, end, AGGREGATE_STATS_REPLY.SIZE, 'aggregate reply') ?? {
      type: 'aggregate',
      packetCount: u64(b, o + AGGREGATE_STATS_REPLY.packetCount),
      byteCount: u64(b, o + AGGREGATE_STATS_REPLY.byteCount),
      flowCount: u32(b, o + AGGREGATE_STATS_REPLY.flowCount),
    },
};
