/*
 * The contract every message family implements, and the union of all
 * OpenFlow 1.3 messages.
 *
 * A message is a plain object: `type` (the discriminant, the snake_case name
 * of OFPT_*), `xid`, then its fields in camelCase. 64-bit fields (cookies,
 * metadata, datapath id, counters) are bigints. Byte payloads are Buffers;
 * decoded ones are views into the decoded buffer (no copy), valid as long as
 * that buffer is.
 *
 * Contract of a MessageCodec (one per OFPT_* type, registered in registry.ts):
 * - size(m): the whole message length, header included;
 * - encode(m, b, off): writes the whole message (header with the computed
 *   length, every pad byte zeroed) at off; returns the end offset;
 * - decode(b, off, len): decodes the message at [off, off+len). The caller has
 *   checked the header (version, type, and that len >= 8 and fits in b).
 *   Returns the message or a DecodeError; never throws.
 */

import { DecodeError, expectLen } from './decode-error.js';
import { headerXid, writeHeader } from './header.js';
import type { OFPT } from './enums.js';
import type { Hello } from './msg/hello.js';
import type { ErrorMsg } from './msg/error.js';
import type { EchoReply, EchoRequest } from './msg/echo.js';
import type { Experimenter } from './msg/experimenter.js';
import type { FeaturesReply, FeaturesRequest } from './msg/features.js';
import type { GetConfigReply, GetConfigRequest, SetConfig } from './msg/config.js';
import type { PacketIn } from './msg/packet-in.js';
import type { FlowRemoved } from './msg/flow-removed.js';
import type { PortStatus } from './msg/port-status.js';
import type { PacketOut } from './msg/packet-out.js';
import type { FlowMod } from './msg/flow-mod.js';
import type { GroupMod } from './msg/group-mod.js';
import type { PortMod } from './msg/port-mod.js';
import type { TableMod } from './msg/table-mod.js';
import type { MultipartReply, MultipartRequest } from './msg/multipart.js';
import type { BarrierReply, BarrierRequest } from './msg/barrier.js';
import type { QueueGetConfigReply, QueueGetConfigRequest } from './msg/queue-config.js';
import type { RoleReply, RoleRequest } from './msg/role.js';
import type { GetAsyncReply, GetAsyncRequest, SetAsync } from './msg/async.js';
import type { MeterMod } from './msg/meter-mod.js';

export type OfpMessage =
  | Hello | ErrorMsg | EchoRequest | EchoReply | Experimenter | FeaturesRequest | FeaturesReply | GetConfigRequest
  | GetConfigReply | SetConfig | PacketIn | FlowRemoved | PortStatus | PacketOut | FlowMod | GroupMod | PortMod
  | TableMod | MultipartRequest | MultipartReply | BarrierRequest | BarrierReply | QueueGetConfigRequest
  | QueueGetConfigReply | RoleRequest | RoleReply | GetAsyncRequest | GetAsyncReply | SetAsync | MeterMod;

export type OfpMessageType = OfpMessage['type'];

export interface MessageCodec<M extends OfpMessage = OfpMessage> {
  readonly name: M['type'];
  readonly wireType: (typeof OFPT)[keyof typeof OFPT];
  size(m: M): number;
  encode(m: M, b: Buffer, off: number): number;
  decode(b: Buffer, off: number, len: number): M | DecodeError;
}

/** A message that is just the header (features request, barrier, ...). */
export interface HeaderOnly<T extends string> {
  type: T;
  xid: number;
}

/** The codec of a header-only message type: any body is OFPBRC_BAD_LEN. */
export function headerOnlyCodec<M extends OfpMessage & HeaderOnly<string>>(
  name: M['type'],
  wireType: (typeof OFPT)[keyof typeof OFPT],
): MessageCodec<M> {
  return {
    name,
    wireType,
    size: () => 8,
    encode: (m, b, off) => {
      writeHeader(b, off, wireType, 8, m.xid);
      return off + 8;
    },
    decode: (b, off, len) => expectLen(off, len, 8, name) ?? ({ type: name, xid: headerXid(b, off) } as unknown as M),
  };
}
