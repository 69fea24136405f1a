/*
 * Which requests a slave connection may not send (1.3.5 6.3.5, controller
 * roles): those that send packets or change the switch's state, answered
 * with OFPBRC_IS_SLAVE before any other check of the message, so a slave
 * learns it is a slave and not that its message was malformed.
 *
 *   isSlaveDenied(raw)   from the header (and the multipart type) alone,
 *                        so it holds for messages that do not decode too
 *
 * Denied: PACKET_OUT, FLOW_MOD, GROUP_MOD, PORT_MOD, TABLE_MOD, METER_MOD,
 * and a TABLE_FEATURES multipart request with a body (a set). Not denied:
 * reads, ROLE_REQUEST, SET_ASYNC (this connection's own filters) and
 * SET_CONFIG (the channel keeps a slave's miss_send_len for its own
 * connection and leaves the switch's flags alone, as Open vSwitch does).
 */

import { MULTIPART } from '../codec/v13/consts.js';
import { OFPMP, OFPT } from '../codec/v13/enums.js';

const DENIED_TYPES: ReadonlySet<number> = new Set([OFPT.PACKET_OUT, OFPT.FLOW_MOD, OFPT.GROUP_MOD, OFPT.PORT_MOD, OFPT.TABLE_MOD, OFPT.METER_MOD]);

/** True if a slave may not send this message (raw: one whole message, header included). */
export function isSlaveDenied(raw: Uint8Array): boolean {
  if (raw.length < 8) return false;
  if (DENIED_TYPES.has(raw[1])) return true;
  if (raw[1] !== OFPT.MULTIPART_REQUEST || raw.length < MULTIPART.SIZE) return false;
  const mpType = (raw[MULTIPART.type] << 8) | raw[MULTIPART.type + 1];
  return mpType === OFPMP.TABLE_FEATURES && raw.length > MULTIPART.SIZE;
}
