/*
 * The union of all OpenFlow 1.3 messages.
 *
 * A message is a plain object: `type` (the discriminant, the snake_case name
 * of OFPT_*), `xid`, then its fields in camelCase. 64-bit fields (cookies,
 * metadata, datapath id, counters) are bigints. Byte payloads are Buffers;
 * decoded ones are views into the decoded buffer (no copy), valid as long as
 * that buffer is. Each family's codec is a MessageCodec (message-codec.ts).
 */

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

