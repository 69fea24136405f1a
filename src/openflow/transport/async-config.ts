/*
 * The asynchronous-message filters of one OpenFlow connection (OFPT_SET_ASYNC /
 * GET_ASYNC): which packet-in, port-status and flow-removed reasons a
 * connection takes, per role.
 *
 * Invariants
 * - Each mask pair is [master/equal, slave]; bit n set means reason n is sent.
 * - defaultAsyncConfig() returns a fresh object each call (a channel's
 *   SET_ASYNC replaces its own copy, never a shared one).
 */

import { OFPPR, OFPR, OFPRR } from '../codec/wire.js';
import type { RoleMasks } from '../codec/v13/msg/async.js';

export type AsyncKind = 'packetIn' | 'portStatus' | 'flowRemoved';

export interface AsyncConfig {
  packetIn: RoleMasks;
  portStatus: RoleMasks;
  flowRemoved: RoleMasks;
}

/** The spec's defaults (A.3.10; as OVS): master/equal get table-miss and action packet-ins, every port-status and flow-removed; slaves only port-status. */
export function defaultAsyncConfig(): AsyncConfig {
  const allPortReasons = (1 << OFPPR.ADD) | (1 << OFPPR.DELETE) | (1 << OFPPR.MODIFY);
  const allRemovedReasons = (1 << OFPRR.IDLE_TIMEOUT) | (1 << OFPRR.HARD_TIMEOUT) | (1 << OFPRR.DELETE) | (1 << OFPRR.GROUP_DELETE);
  return {
    packetIn: [(1 << OFPR.NO_MATCH) | (1 << OFPR.ACTION), 0],
    portStatus: [allPortReasons, allPortReasons],
    flowRemoved: [allRemovedReasons, 0],
  };
}
