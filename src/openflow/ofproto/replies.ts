/*
 * Multipart reply bodies of the OpenFlow switch that are built from the
 * datapath's own state: port descriptions and counters, table features, and
 * the splitting of long lists into bodies that each fit one message.
 *
 * Port counters come from the DpPort llstat counters: rx/tx packets and
 * bytes; rx_dropped = frames lost for want of a pool slot plus those the
 * kernel dropped on the port's full queue (RxDropKernel); tx_dropped =
 * queue-full, over-MTU and GSO drops; rx/tx errors = failed syscalls. Frames
 * a forwarding decision dropped are not port drops (they are FwdDropped in
 * llstat and per-reason pipeline counters).
 *
 * Slow path only.
 */

import type { DpPort } from '../../datapath/datapath.js';
import { MATCHABLE_FIELDS, SETTABLE_FIELDS } from '../../flow/fields.js';
import type { LinkInfo } from '../../ports/port.js';
import { PortStat } from '../../datapath/port-counters.js';
import { PORT_LOCAL } from '../../datapath/rules/rule.js';
import { OFPAT, OFPIT, OFPP, OFPPC, OFPPF, OFPPS, OFPXMC } from '../codec/v13/enums.js';
import type { PortStats } from '../codec/v13/msg/mp-stats.js';
import type { FeatureId, OxmId, TableFeatures } from '../codec/v13/msg/mp-table-features.js';
import type { PortDesc } from '../codec/v13/msg/port-status.js';
import { OXM_FIELDS } from '../codec/v13/oxm.js';

/** Bytes of one reply body at most (a message is <= 65535 bytes with its 16-byte multipart header). */
export const MAX_BODY_BYTES = 60_000;

/** Speed every port reports (kbit/s): TAP and veth devices have none; OVS reports 10 Gbit/s for them too. */
export const PORT_SPEED_KBPS = 10_000_000;

/** Action types the pipeline executes (table features, group features). */
export const SUPPORTED_ACTIONS: readonly number[] = [
  OFPAT.OUTPUT, OFPAT.COPY_TTL_OUT, OFPAT.COPY_TTL_IN, OFPAT.SET_MPLS_TTL, OFPAT.DEC_MPLS_TTL, OFPAT.PUSH_VLAN,
  OFPAT.POP_VLAN, OFPAT.PUSH_MPLS, OFPAT.POP_MPLS, OFPAT.SET_QUEUE, OFPAT.GROUP, OFPAT.SET_NW_TTL, OFPAT.DEC_NW_TTL,
  OFPAT.SET_FIELD, OFPAT.PUSH_PBB, OFPAT.POP_PBB,
];

/** Config bits a port-mod may set. */
export const PORT_CONFIG_BITS = OFPPC.PORT_DOWN | OFPPC.NO_RECV | OFPPC.NO_FWD | OFPPC.NO_PACKET_IN;

/** Splits `entries` into runs whose summed size stays under MAX_BODY_BYTES (at least one entry per run). */
export function chunkBySize<T>(entries: readonly T[], sizeOf: (e: T) => number, limit = MAX_BODY_BYTES): T[][] {
  const out: T[][] = [];
  let run: T[] = [];
  let bytes = 0;
  for (const e of entries) {
    const n = sizeOf(e);
    if (run.length > 0 && bytes + n > limit) {
      out.push(run);
      run = [];
      bytes = 0;
    }
    run.push(e);
    bytes += n;
  }
  if (run.length > 0 || out.length === 0) out.push(run);
  return out;
}

/** OpenFlow's number for datapath port `no`: the switch's local port is OFPP_LOCAL, the others keep theirs. */
export function ofPortNo(no: number): number {
  return no === PORT_LOCAL ? OFPP.LOCAL : no;
}

/** The datapath's number for OpenFlow port `no` (OFPP_LOCAL is the local port). */
export function dpPortNo(no: number): number {
  return no >>> 0 === OFPP.LOCAL ? PORT_LOCAL : no;
}

/** ofp_port for a datapath port. */
export function portDescOf(dp: DpPort, config: number, link: LinkInfo, live: boolean): PortDesc {
  const features = OFPPF['10GB_FD'] | OFPPF.COPPER;
  return {
    portNo: ofPortNo(dp.ofPort),
    hwAddr: link.mac,
    name: dp.port.name,
    config,
    state: (link.carrier && link.adminUp ? 0 : OFPPS.LINK_DOWN) | (live ? OFPPS.LIVE : 0),
    curr: features,
    advertised: 0,
    supported: features,
    peer: 0,
    currSpeed: PORT_SPEED_KBPS,
    maxSpeed: PORT_SPEED_KBPS,
  };
}

function big(n: number): bigint {
  return BigInt(Math.floor(n));
}

/** ofp_port_stats for a datapath port, up since `addedMs`. */
export function portStatsOf(dp: DpPort, addedMs: number, nowMs: number): PortStats {
  const c = dp.counters.c;
  const d = durationOf(addedMs, nowMs);
  return {
    portNo: ofPortNo(dp.ofPort),
    rxPackets: big(c[PortStat.RxFrames]),
    txPackets: big(c[PortStat.TxFrames]),
    rxBytes: big(c[PortStat.RxBytes]),
    txBytes: big(c[PortStat.TxBytes]),
    rxDropped: big(c[PortStat.RxDropNoSlot] + c[PortStat.RxDropKernel]),
    txDropped: big(c[PortStat.TxDropQueueFull] + c[PortStat.TxDropMtu] + c[PortStat.TxDropGso]),
    rxErrors: big(c[PortStat.RxErrors]),
    txErrors: big(c[PortStat.TxErrors]),
    rxFrameErr: 0n,
    rxOverErr: 0n,
    rxCrcErr: 0n,
    collisions: 0n,
    durationSec: d.sec,
    durationNsec: d.nsec,
  };
}

function oxmId(field: number, hasMask: boolean): OxmId {
  const bytes = OXM_FIELDS[field].bytes;
  return { oxmClass: OFPXMC.OPENFLOW_BASIC, field, hasMask, length: hasMask ? 2 * bytes : bytes };
}

/** Fields a match may use (the key carries them, src/flow/fields.ts), maskable ones announced with their mask. */
const MATCH_IDS: OxmId[] = OXM_FIELDS.filter((d) => MATCHABLE_FIELDS.has(d.id)).map((d) => oxmId(d.id, d.maskable));
const WILDCARD_IDS: OxmId[] = MATCH_IDS.map((m) => oxmId(m.field, false));
const SETFIELD_IDS: OxmId[] = OXM_FIELDS.filter((d) => SETTABLE_FIELDS.has(d.id)).map((d) => oxmId(d.id, false));
const ACTION_IDS: FeatureId[] = SUPPORTED_ACTIONS.map((type) => ({ type }));

/** The real capabilities of table `id` of `nTables` (OFPMP_TABLE_FEATURES). */
export function tableFeaturesOf(id: number, nTables: number, maxEntries: number): TableFeatures {
  const last = id === nTables - 1;
  const instructionIds: FeatureId[] = [
    ...(last ? [] : [{ type: OFPIT.GOTO_TABLE }]),
    { type: OFPIT.WRITE_METADATA }, { type: OFPIT.WRITE_ACTIONS }, { type: OFPIT.APPLY_ACTIONS },
    { type: OFPIT.CLEAR_ACTIONS }, { type: OFPIT.METER },
  ];
  const tableIds: number[] = [];
  for (let t = id + 1; t < nTables; t++) tableIds.push(t);
  return {
    tableId: id,
    name: `table${id}`,
    metadataMatch: 0xffffffffffffffffn,
    metadataWrite: 0xffffffffffffffffn,
    config: 0,
    maxEntries,
    properties: [
      { type: 'instructions', instructionIds },
      { type: 'instructions_miss', instructionIds },
      { type: 'next_tables', tableIds },
      { type: 'next_tables_miss', tableIds },
      { type: 'write_actions', actionIds: ACTION_IDS },
      { type: 'write_actions_miss', actionIds: ACTION_IDS },
      { type: 'apply_actions', actionIds: ACTION_IDS },
      { type: 'apply_actions_miss', actionIds: ACTION_IDS },
      { type: 'match', oxmIds: MATCH_IDS },
      { type: 'wildcards', oxmIds: WILDCARD_IDS },
      { type: 'write_setfield', oxmIds: SETFIELD_IDS },
      { type: 'write_setfield_miss', oxmIds: SETFIELD_IDS },
      { type: 'apply_setfield', oxmIds: SETFIELD_IDS },
      { type: 'apply_setfield_miss', oxmIds: SETFIELD_IDS },
    ],
  };
}

/** How long since `sinceMs`, as OpenFlow's duration_sec / duration_nsec. */
export function durationOf(sinceMs: number, nowMs: number): { sec: number; nsec: number } {
  const ms = Math.max(0, nowMs - sinceMs);
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: Math.min(999_999_999, Math.round((ms - sec * 1000) * 1e6)) };
}

/** The first `n` (packets, bytes) pairs of a datapath counter array (a group's buckets, a meter's bands) as reply entries. */
export function counterPairs<T>(counters: Float64Array, n: number, entry: (packets: bigint, bytes: bigint) => T): T[] {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(entry(BigInt(counters[2 * i]), BigInt(counters[2 * i + 1])));
  return out;
}
