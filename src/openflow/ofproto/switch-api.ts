/*
 * The contract between the OpenFlow control channel (connections, roles,
 * async filters, barriers: src/openflow/transport/) and the switch it
 * programs (tables, groups, meters, ports: src/openflow/ofproto/of-switch.ts over the
 * datapath). The channel decodes and validates framing, then calls these
 * methods; the switch answers synchronously, so a barrier reply sent after
 * them is ordered after their effects.
 *
 * Invariants
 * - No method throws on controller input: a request the switch cannot honour
 *   comes back as an OfError (ofp_error type and code), which the channel
 *   sends with the first 64 bytes of the offending message.
 * - Events (packet-in, flow-removed, port-status) are emitted to one sink, the
 *   controller manager, which applies each connection's role and async config.
 */

import type { FlowMod } from '../codec/v13/msg/flow-mod.js';
import type { FlowRemoved } from '../codec/v13/msg/flow-removed.js';
import type { GroupMod } from '../codec/v13/msg/group-mod.js';
import type { MeterMod } from '../codec/v13/msg/meter-mod.js';
import type { MultipartReplyBody, MultipartRequestBody } from '../codec/v13/msg/multipart.js';
import type { PacketIn } from '../codec/v13/msg/packet-in.js';
import type { PacketOut } from '../codec/v13/msg/packet-out.js';
import type { PortMod } from '../codec/v13/msg/port-mod.js';
import type { PortStatus } from '../codec/v13/msg/port-status.js';
import type { QueueGetConfigReply } from '../codec/v13/msg/queue-config.js';
import type { TableMod } from '../codec/v13/msg/table-mod.js';

/** An OFPT_ERROR to send: ofp_error_type and code (see enums.ts); `reason` only for logs. */
export interface OfError {
  readonly type: number;
  readonly code: number;
  readonly reason?: string;
}

type Body<M> = Omit<M, 'type' | 'xid'>;

/** Where the switch sends asynchronous messages; the channel stamps xids and filters per connection. */
export interface SwitchEventSink {
  packetIn(pi: Body<PacketIn>): void;
  flowRemoved(fr: Body<FlowRemoved>): void;
  portStatus(ps: Body<PortStatus>): void;
}

export type FailMode = 'standalone' | 'secure';

export interface OpenFlowSwitch {
  readonly datapathId: bigint;
  /** Tables in the pipeline (features reply n_tables). */
  readonly nTables: number;
  /** ofp_capabilities bits for the features reply. */
  readonly capabilities: number;

  /** Set the one event sink (the controller manager). */
  setEventSink(sink: SwitchEventSink | null): void;
  /**
   * How many controller connections are up. With fail mode standalone and
   * none connected the switch forwards as a learning switch (NORMAL); with
   * one or more, or in secure mode, the OpenFlow tables decide.
   */
  controllersConnected(n: number): void;

  flowMod(fm: FlowMod): OfError | null;
  groupMod(gm: GroupMod): OfError | null;
  meterMod(mm: MeterMod): OfError | null;
  portMod(pm: PortMod): OfError | null;
  tableMod(tm: TableMod): OfError | null;
  packetOut(po: PacketOut): OfError | null;

  getConfig(): { flags: number; missSendLen: number };
  setConfig(flags: number, missSendLen: number): OfError | null;

  /** One multipart request's reply bodies (the channel splits them into messages with OFPMPF_REPLY_MORE). */
  multipart(req: MultipartRequestBody): MultipartReplyBody[] | OfError;
  queueGetConfig(port: number): Body<QueueGetConfigReply> | OfError;
}
