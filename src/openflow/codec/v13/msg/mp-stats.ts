/*
 * Multipart bodies for switch description and plain counters: DESC, TABLE,
 * PORT_STATS, QUEUE, PORT_DESC (A.3.5.1, .4, .5, .6, .14) and EXPERIMENTER
 * (A.3.5.15).
 */

import { readString, u32, u64, w32, w64, writeString } from '../../bytes.js';
import {
  DESC, DESC_STR_LEN, EXPERIMENTER_MULTIPART, PORT, PORT_STATS, PORT_STATS_REQUEST, QUEUE_STATS, QUEUE_STATS_REQUEST,
  SERIAL_NUM_LEN, TABLE_STATS,
} from '../consts.js';
import { DecodeError, badLen } from '../../decode-error.js';
import { OFPMP } from '../enums.js';
import { type MpBodyCodec, decodeFixedEntries, emptyRequest, expectBody } from './mp-body.js';
import { type PortDesc, decodePortDesc, encodePortDesc } from './port-status.js';

// DESC
export interface DescRequest { type: 'desc' }
export interface DescReply {
  type: 'desc';
  mfrDesc: string;
  hwDesc: string;
  swDesc: string;
  serialNum: string;
  dpDesc: string;
}

export const descBody: MpBodyCodec<DescRequest, DescReply> = {
  mpType: OFPMP.DESC,
  name: 'desc',
  ...emptyRequest('desc'),
  replySize: () => DESC.SIZE,
  encodeReply: (r, b, o) => {
    writeString(b, o + DESC.mfrDesc, DESC_STR_LEN, r.mfrDesc);
    writeString(b, o + DESC.hwDesc, DESC_STR_LEN, r.hwDesc);
    writeString(b, o + DESC.swDesc, DESC_STR_LEN, r.swDesc);
    writeString(b, o + DESC.serialNum, SERIAL_NUM_LEN, r.serialNum);
    writeString(b, o + DESC.dpDesc, DESC_STR_LEN, r.dpDesc);
    return o + DESC.SIZE;
  },
  decodeReply: (b, o, end) =>
    expectBody(o, end, DESC.SIZE, 'desc') ?? {
      type: 'desc',
      mfrDesc: readString(b, o + DESC.mfrDesc, DESC_STR_LEN),
      hwDesc: readString(b, o + DESC.hwDesc, DESC_STR_LEN),
      swDesc: readString(b, o + DESC.swDesc, DESC_STR_LEN),
      serialNum: readString(b, o + DESC.serialNum, SERIAL_NUM_LEN),
      dpDesc: readString(b, o + DESC.dpDesc, DESC_STR_LEN),
    },
};

// TABLE
export interface TableStatsRequest { type: 'table' }
export interface TableStats {
  tableId: number;
  activeCount: number;
  lookupCount: bigint;
  matchedCount: bigint;
}
export interface TableStatsReply { type: 'table'; entries: TableStats[] }

export const tableBody: MpBodyCodec<TableStatsRequest, TableStatsReply> = {
  mpType: OFPMP.TABLE,
  name: 'table',
  ...emptyRequest('table'),
  replySize: (r) => TABLE_STATS.SIZE * r.entries.length,
  encodeReply: (r, b, o) => {
    for (const e of r.entries) {
      b[o + TABLE_STATS.tableId] = e.tableId;
      b.fill(0, o + TABLE_STATS.pad, o + TABLE_STATS.activeCount);
      w32(b, o + TABLE_STATS.activeCount, e.activeCount);
      w64(b, o + TABLE_STATS.lookupCount, e.lookupCount);
      w64(b, o + TABLE_STATS.matchedCount, e.matchedCount);
      o += TABLE_STATS.SIZE;
    }
    return o;
  },
  decodeReply: (b, o, end) => {
    const entries = decodeFixedEntries(b, o, end, TABLE_STATS.SIZE, 'table stats', (b, o) => ({
      tableId: b[o + TABLE_STATS.tableId],
      activeCount: u32(b, o + TABLE_STATS.activeCount),
      lookupCount: u64(b, o + TABLE_STATS.lookupCount),
      matchedCount: u64(b, o + TABLE_STATS.matchedCount),
    }));
    return entries instanceof DecodeError ? entries : { type: 'table', entries };
  },
};

// PORT_STATS
export interface PortStatsRequest { type: 'port_stats'; portNo: number }
export interface PortStats {
  portNo: number;
  rxPackets: bigint;
  txPackets: bigint;
  rxBytes: bigint;
  txBytes: bigint;
  rxDropped: bigint;
  txDropped: bigint;
  rxErrors: bigint;
  txErrors: bigint;
  rxFrameErr: bigint;
  rxOverErr: bigint;
  rxCrcErr: bigint;
  collisions: bigint;
  durationSec: number;
  durationNsec: number;
}
export interface PortStatsReply { type: 'port_stats'; entries: PortStats[] }

const PORT_COUNTERS = [
  'rxPackets', 'txPackets', 'rxBytes', 'txBytes', 'rxDropped', 'txDropped', 'rxErrors', 'txErrors', 'rxFrameErr',
  'rxOverErr', 'rxCrcErr', 'collisions',
] as const;

export const portStatsBody: MpBodyCodec<PortStatsRequest, PortStatsReply> = {
  mpType: OFPMP.PORT_STATS,
  name: 'port_stats',
  requestSize: () => PORT_STATS_REQUEST.SIZE,
  encodeRequest: (q, b, o) => {
    w32(b, o + PORT_STATS_REQUEST.portNo, q.portNo);
    w32(b, o + PORT_STATS_REQUEST.pad, 0);
    return o + PORT_STATS_REQUEST.SIZE;
  },
  decodeRequest: (b, o, end) =>
    expectBody(o, end, PORT_STATS_REQUEST.SIZE, 'port_stats request') ?? { type: 'port_stats', portNo: u32(b, o + PORT_STATS_REQUEST.portNo) },
  replySize: (r) => PORT_STATS.SIZE * r.entries.length,
  encodeReply: (r, b, o) => {
    for (const e of r.entries) {
      w32(b, o + PORT_STATS.portNo, e.portNo);
      w32(b, o + PORT_STATS.pad, 0);
      for (const k of PORT_COUNTERS) w64(b, o + PORT_STATS[k], e[k]);
      w32(b, o + PORT_STATS.durationSec, e.durationSec);
      w32(b, o + PORT_STATS.durationNsec, e.durationNsec);
      o += PORT_STATS.SIZE;
    }
    return o;
  },
  decodeReply: (b, o, end) => {
    const entries = decodeFixedEntries(b, o, end, PORT_STATS.SIZE, 'port stats', (b, o): PortStats => ({
      portNo: u32(b, o + PORT_STATS.portNo),
      rxPackets: u64(b, o + PORT_STATS.rxPackets),
      txPackets: u64(b, o + PORT_STATS.txPackets),
      rxBytes: u64(b, o + PORT_STATS.rxBytes),
      txBytes: u64(b, o + PORT_STATS.txBytes),
      rxDropped: u64(b, o + PORT_STATS.rxDropped),
      txDropped: u64(b, o + PORT_STATS.txDropped),
      rxErrors: u64(b, o + PORT_STATS.rxErrors),
      txErrors: u64(b, o + PORT_STATS.txErrors),
      rxFrameErr: u64(b, o + PORT_STATS.rxFrameErr),
      rxOverErr: u64(b, o + PORT_STATS.rxOverErr),
      rxCrcErr: u64(b, o + PORT_STATS.rxCrcErr),
      collisions: u64(b, o + PORT_STATS.collisions),
      durationSec: u32(b, o + PORT_STATS.durationSec),
      durationNsec: u32(b, o + PORT_STATS.durationNsec),
    }));
    return entries instanceof DecodeError ? entries : { type: 'port_stats', entries };
  },
};

// QUEUE
export interface QueueStatsRequest { type: 'queue'; portNo: number; queueId: number }
export interface QueueStats {
  portNo: number;
  queueId: number;
  txBytes: bigint;
  txPackets: bigint;
  txErrors: bigint;
  durationSec: number;
  durationNsec: number;
}
export interface QueueStatsReply { type: 'queue'; entries: QueueStats[] }

export const queueBody: MpBodyCodec<QueueStatsRequest, QueueStatsReply> = {
  mpType: OFPMP.QUEUE,
  name: 'queue',
  requestSize: () => QUEUE_STATS_REQUEST.SIZE,
  encodeRequest: (q, b, o) => {
    w32(b, o + QUEUE_STATS_REQUEST.portNo, q.portNo);
    w32(b, o + QUEUE_STATS_REQUEST.queueId, q.queueId);
    return o + QUEUE_STATS_REQUEST.SIZE;
  },
  decodeRequest: (b, o, end) =>
    expectBody(o, end, QUEUE_STATS_REQUEST.SIZE, 'queue request') ?? {
      type: 'queue',
      portNo: u32(b, o + QUEUE_STATS_REQUEST.portNo),
      queueId: u32(b, o + QUEUE_STATS_REQUEST.queueId),
    },
  replySize: (r) => QUEUE_STATS.SIZE * r.entries.length,
  encodeReply: (r, b, o) => {
    for (const e of r.entries) {
      w32(b, o + QUEUE_STATS.portNo, e.portNo);
      w32(b, o + QUEUE_STATS.queueId, e.queueId);
      w64(b, o + QUEUE_STATS.txBytes, e.txBytes);
      w64(b, o + QUEUE_STATS.txPackets, e.txPackets);
      w64(b, o + QUEUE_STATS.txErrors, e.txErrors);
      w32(b, o + QUEUE_STATS.durationSec, e.durationSec);
      w32(b, o + QUEUE_STATS.durationNsec, e.durationNsec);
      o += QUEUE_STATS.SIZE;
    }
    return o;
  },
  decodeReply: (b, o, end) => {
    const entries = decodeFixedEntries(b, o, end, QUEUE_STATS.SIZE, 'queue stats', (b, o): QueueStats => ({
      portNo: u32(b, o + QUEUE_STATS.portNo),
      queueId: u32(b, o + QUEUE_STATS.queueId),
      txBytes: u64(b, o + QUEUE_STATS.txBytes),
      txPackets: u64(b, o + QUEUE_STATS.txPackets),
      txErrors: u64(b, o + QUEUE_STATS.txErrors),
      durationSec: u32(b, o + QUEUE_STATS.durationSec),
      durationNsec: u32(b, o + QUEUE_STATS.durationNsec),
    }));
    return entries instanceof DecodeError ? entries : { type: 'queue', entries };
  },
};

// PORT_DESC
export interface PortDescRequest { type: 'port_desc' }
export interface PortDescReply { type: 'port_desc'; ports: PortDesc[] }

export const portDescBody: MpBodyCodec<PortDescRequest, PortDescReply> = {
  mpType: OFPMP.PORT_DESC,
  name: 'port_desc',
  ...emptyRequest('port_desc'),
  replySize: (r) => PORT.SIZE * r.ports.length,
  encodeReply: (r, b, o) => {
    for (const p of r.ports) o = encodePortDesc(p, b, o);
    return o;
  },
  decodeReply: (b, o, end) => {
    const ports = decodeFixedEntries(b, o, end, PORT.SIZE, 'port desc', decodePortDesc);
    return ports instanceof DecodeError ? ports : { type: 'port_desc', ports };
  },
};

// EXPERIMENTER
export interface ExperimenterMultipart {
  type: 'experimenter';
  experimenter: number;
  expType: number;
  data: Uint8Array;
}

function encodeExperimenterBody(x: ExperimenterMultipart, b: Buffer, o: number): number {
  w32(b, o + EXPERIMENTER_MULTIPART.experimenter, x.experimenter);
  w32(b, o + EXPERIMENTER_MULTIPART.expType, x.expType);
  b.set(x.data, o + EXPERIMENTER_MULTIPART.SIZE);
  return o + EXPERIMENTER_MULTIPART.SIZE + x.data.length;
}

function decodeExperimenterBody(b: Buffer, o: number, end: number): ExperimenterMultipart | DecodeError {
  if (end - o < EXPERIMENTER_MULTIPART.SIZE) return badLen(o, 'experimenter multipart body shorter than 8 bytes');
  return {
    type: 'experimenter',
    experimenter: u32(b, o + EXPERIMENTER_MULTIPART.experimenter),
    expType: u32(b, o + EXPERIMENTER_MULTIPART.expType),
    data: b.subarray(o + EXPERIMENTER_MULTIPART.SIZE, end),
  };
}

export const experimenterBody: MpBodyCodec<ExperimenterMultipart, ExperimenterMultipart> = {
  mpType: OFPMP.EXPERIMENTER,
  name: 'experimenter',
  requestSize: (q) => EXPERIMENTER_MULTIPART.SIZE + q.data.length,
  encodeRequest: encodeExperimenterBody,
  decodeRequest: decodeExperimenterBody,
  replySize: (r) => EXPERIMENTER_MULTIPART.SIZE + r.data.length,
  encodeReply: encodeExperimenterBody,
  decodeReply: decodeExperimenterBody,
};
