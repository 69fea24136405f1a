/*
 * A datapath punt (src/datapath/rules/punt.ts) as an OpenFlow 1.3 packet-in:
 * in_port always in the match, metadata and tunnel_id when non-zero,
 * buffer_id NO_BUFFER (this switch buffers nothing), the punt's reason,
 * table and cookie.
 */

import { PuntReason, type Punt } from '../../datapath/rules/punt.js';
import { OFP_NO_BUFFER, OFPR } from '../codec/v13/enums.js';
import type { PacketIn } from '../codec/v13/msg/packet-in.js';
import type { Match } from '../codec/v13/oxm.js';

export type PacketInBody = Omit<PacketIn, 'type' | 'xid'>;

function ofprOf(r: PuntReason): number {
  switch (r) {
    case PuntReason.NoMatch: return OFPR.NO_MATCH;
    case PuntReason.InvalidTtl: return OFPR.INVALID_TTL;
    default: return OFPR.ACTION;
  }
}

export function packetInOf(p: Punt): PacketInBody {
  const match: Match = [{ field: 'in_port', value: p.inPort }];
  if (p.metadata !== 0n) match.push({ field: 'metadata', value: p.metadata });
  if (p.tunnelId !== 0n) match.push({ field: 'tunnel_id', value: p.tunnelId });
  return {
    bufferId: OFP_NO_BUFFER,
    totalLen: p.totalLen,
    reason: ofprOf(p.reason),
    tableId: p.tableId,
    cookie: p.cookie,
    match,
    data: p.data,
  };
}
