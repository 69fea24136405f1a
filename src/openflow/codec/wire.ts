/*
 * The public surface of the OpenFlow 1.3 wire codec, for the channel, the
 * connection layer and the pipeline handler:
 *
 *   framer.push(chunk, onMessage)   TCP chunks -> whole messages (framing.ts)
 *   decodeMessage(bytes)            -> { ok: message } | DecodeError (codec.ts)
 *   errorFor(decodeError, bytes)    -> the OFPT_ERROR to send back (msg/error.ts)
 *   encodeMessage(message)          -> Buffer; encodeMessageInto for a caller buffer
 *   validateMatch(match)            -> null | DecodeError (OFPBMC_* checks)
 *
 * Everything here is re-exported from the family modules; nothing is defined here.
 */

export * from './v13/enums.js';
export { DecodeError, isDecodeError } from './decode-error.js';
export { decodeMessage, encodeMessage, encodeMessageInto, messageSize, type DecodeResult } from './codec.js';
export { MessageFramer, type MessageSink } from './framing.js';
export type { OfpMessage, OfpMessageType } from './v13/message.js';
export { OXM, OXM_FIELDS, validateMatch, type Match, type Oxm, type OxmFieldName } from './v13/oxm.js';
export type { Action, ActionType } from './v13/actions.js';
export type { Instruction, InstructionType } from './v13/instructions.js';
export { errorFor, type ErrorMsg } from './v13/msg/error.js';
export { helloVersions, makeHello, versionBitmap, type Hello, type HelloElement } from './v13/msg/hello.js';
export { echoReplyFor, type EchoReply, type EchoRequest } from './v13/msg/echo.js';
export type { Experimenter } from './v13/msg/experimenter.js';
export type { FeaturesReply, FeaturesRequest } from './v13/msg/features.js';
export type { GetConfigReply, GetConfigRequest, SetConfig } from './v13/msg/config.js';
export type { PacketIn } from './v13/msg/packet-in.js';
export type { FlowRemoved } from './v13/msg/flow-removed.js';
export type { PortDesc, PortStatus } from './v13/msg/port-status.js';
export type { PacketOut } from './v13/msg/packet-out.js';
export type { FlowMod } from './v13/msg/flow-mod.js';
export type { Bucket, GroupMod } from './v13/msg/group-mod.js';
export type { PortMod } from './v13/msg/port-mod.js';
export type { TableMod } from './v13/msg/table-mod.js';
export type { MeterBand, MeterMod } from './v13/msg/meter-mod.js';
export type { MultipartReply, MultipartReplyBody, MultipartRequest, MultipartRequestBody, MultipartType } from './v13/msg/multipart.js';
export type { FlowStats, FlowStatsFilter } from './v13/msg/mp-flow.js';
export type { PortStats, QueueStats, TableStats } from './v13/msg/mp-stats.js';
export type { BucketCounter, GroupDesc, GroupStats } from './v13/msg/mp-group.js';
export type { MeterBandStats, MeterConfig, MeterStats } from './v13/msg/mp-meter.js';
export type { FeatureId, OxmId, TableFeatureProp, TableFeatures } from './v13/msg/mp-table-features.js';
export type { BarrierReply, BarrierRequest } from './v13/msg/barrier.js';
export type { PacketQueue, QueueGetConfigReply, QueueGetConfigRequest, QueueProp } from './v13/msg/queue-config.js';
export type { RoleReply, RoleRequest } from './v13/msg/role.js';
export type { GetAsyncReply, GetAsyncRequest, RoleMasks, SetAsync } from './v13/msg/async.js';
