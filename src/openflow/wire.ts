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

export * from './enums.js';
export { DecodeError, isDecodeError } from './decode-error.js';
export { decodeMessage, encodeMessage, encodeMessageInto, messageSize, type DecodeResult } from './codec.js';
export { MessageFramer, type MessageSink } from './framing.js';
export type { OfpMessage, OfpMessageType } from './message.js';
export { OXM, OXM_FIELDS, validateMatch, type Match, type Oxm, type OxmFieldName } from './oxm.js';
export type { Action, ActionType } from './actions.js';
export type { Instruction, InstructionType } from './instructions.js';
export { errorFor, type ErrorMsg } from './msg/error.js';
export { helloVersions, makeHello, versionBitmap, type Hello, type HelloElement } from './msg/hello.js';
export { echoReplyFor, type EchoReply, type EchoRequest } from './msg/echo.js';
export type { Experimenter } from './msg/experimenter.js';
export type { FeaturesReply, FeaturesRequest } from './msg/features.js';
export type { GetConfigReply, GetConfigRequest, SetConfig } from './msg/config.js';
export type { PacketIn } from './msg/packet-in.js';
export type { FlowRemoved } from './msg/flow-removed.js';
export type { PortDesc, PortStatus } from './msg/port-status.js';
export type { PacketOut } from './msg/packet-out.js';
export type { FlowMod } from './msg/flow-mod.js';
export type { Bucket, GroupMod } from './msg/group-mod.js';
export type { PortMod } from './msg/port-mod.js';
export type { TableMod } from './msg/table-mod.js';
export type { MeterBand, MeterMod } from './msg/meter-mod.js';
export type { MultipartReply, MultipartReplyBody, MultipartRequest, MultipartRequestBody, MultipartType } from './msg/multipart.js';
export type { FlowStats, FlowStatsFilter } from './msg/mp-flow.js';
export type { PortStats, QueueStats, TableStats } from './msg/mp-stats.js';
export type { BucketCounter, GroupDesc, GroupStats } from './msg/mp-group.js';
export type { MeterBandStats, MeterConfig, MeterStats } from './msg/mp-meter.js';
export type { FeatureId, OxmId, TableFeatureProp, TableFeatures } from './msg/mp-table-features.js';
export type { BarrierReply, BarrierRequest } from './msg/barrier.js';
export type { PacketQueue, QueueGetConfigReply, QueueGetConfigRequest, QueueProp } from './msg/queue-config.js';
export type { RoleReply, RoleRequest } from './msg/role.js';
export type { GetAsyncReply, GetAsyncRequest, RoleMasks, SetAsync } from './msg/async.js';
