/*
 * The datapath's faults (src/datapath/rules/rule.ts) as OpenFlow 1.3 errors:
 * one table, so every refusal the datapath can make has exactly one
 * OFPT_ERROR type and code.
 */

import { OFPET, OFPFMFC, OFPGMFC, OFPMMFC } from '../codec/v13/enums.js';
import { DpFault, type DpError } from '../../datapath/rules/rule.js';
import type { OfError } from './switch-api.js';

/** ofp_error_type and code of each fault. */
function errorCodeOf(f: DpFault): [number, number] {
  switch (f) {
    case DpFault.TableFull: return [OFPET.FLOW_MOD_FAILED, OFPFMFC.TABLE_FULL];
    case DpFault.Overlap: return [OFPET.FLOW_MOD_FAILED, OFPFMFC.OVERLAP];
    case DpFault.GroupExists: return [OFPET.GROUP_MOD_FAILED, OFPGMFC.GROUP_EXISTS];
    case DpFault.UnknownGroup: return [OFPET.GROUP_MOD_FAILED, OFPGMFC.UNKNOWN_GROUP];
    case DpFault.OutOfGroups: return [OFPET.GROUP_MOD_FAILED, OFPGMFC.OUT_OF_GROUPS];
    case DpFault.GroupLoop: return [OFPET.GROUP_MOD_FAILED, OFPGMFC.LOOP];
    case DpFault.GroupChained: return [OFPET.GROUP_MOD_FAILED, OFPGMFC.CHAINED_GROUP];
    case DpFault.UnknownWatchGroup: return [OFPET.GROUP_MOD_FAILED, OFPGMFC.BAD_WATCH];
    case DpFault.MeterExists: return [OFPET.METER_MOD_FAILED, OFPMMFC.METER_EXISTS];
    case DpFault.UnknownMeter: return [OFPET.METER_MOD_FAILED, OFPMMFC.UNKNOWN_METER];
    case DpFault.OutOfMeters: return [OFPET.METER_MOD_FAILED, OFPMMFC.OUT_OF_METERS];
  }
}

/** The OFPT_ERROR for a datapath refusal. */
export function ofErrorOf(e: DpError): OfError {
  const [type, code] = errorCodeOf(e.fault);
  return { type, code, reason: e.message };
}
