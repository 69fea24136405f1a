/*
 * Wire layouts of the OpenFlow 1.3 fixed structures: field offsets and sizes.
 *
 * Design (after Ryu's `assert calcsize(PACK_STR) == SIZE`): every struct is
 * declared once as an ordered list of [field, width] pairs; `struct()` turns
 * it into an offsets object and checks at module load that the widths add up
 * to the size the specification gives (openflow.h, OF 1.3.5). A wrong layout
 * fails when the codec loads, not on the wire. Codec modules read
 * `o + FLOW_MOD.cookie` instead of scattering literal offsets.
 *
 * Invariants
 * - Offsets are relative to the start of the struct (for messages: the start
 *   of the OpenFlow header). `SIZE` is the fixed part only; variable parts
 *   (match, lists, data) follow it.
 * - Pad fields are named `pad*` and are written as zeros and ignored on read.
 */

type Fields = readonly (readonly [string, number])[];
type Layout<F extends Fields> = { readonly [K in F[number][0]]: number } & { readonly SIZE: number };

function struct<const F extends Fields>(name: string, size: number, fields: F): Layout<F> {
  const out: Record<string, number> = {};
  let off = 0;
  for (const [field, width] of fields) {
    out[field] = off;
    off += width;
  }
  if (off !== size) throw new Error(`openflow/consts: ${name} adds up to ${off} bytes, the spec says ${size}`);
  out.SIZE = size;
  return Object.freeze(out) as Layout<F>;
}

/** sizeof(struct ofp_header). */
export const OFP_HEADER_LEN = 8;
/** Largest message the 16-bit length field can describe. */
export const OFP_MAX_MESSAGE_LEN = 0xffff;
/** Bytes of the offending message an OFPT_ERROR carries (OF1.3: "at least 64"). */
export const OFP_ERROR_DATA_LEN = 64;

export const OFP_ETH_ALEN = 6;
export const OFP_MAX_PORT_NAME_LEN = 16;
export const OFP_MAX_TABLE_NAME_LEN = 32;
export const DESC_STR_LEN = 256;
export const SERIAL_NUM_LEN = 32;

export const HEADER = struct('ofp_header', 8, [['version', 1], ['type', 1], ['length', 2], ['xid', 4]]);

// A.1 / A.5.1 Hello.
export const HELLO_ELEM = struct('ofp_hello_elem_header', 4, [['type', 2], ['length', 2]]);

// A.2.1 Port structure.
export const PORT = struct('ofp_port', 64, [
  ['portNo', 4], ['pad0', 4], ['hwAddr', 6], ['pad1', 2], ['name', 16], ['config', 4], ['state', 4],
  ['curr', 4], ['advertised', 4], ['supported', 4], ['peer', 4], ['currSpeed', 4], ['maxSpeed', 4],
]);

// A.2.2 Queue structures.
export const PACKET_QUEUE = struct('ofp_packet_queue', 16, [['queueId', 4], ['port', 4], ['len', 2], ['pad', 6]]);
export const QUEUE_PROP_HEADER = struct('ofp_queue_prop_header', 8, [['property', 2], ['len', 2], ['pad', 4]]);
export const QUEUE_PROP_RATE = struct('ofp_queue_prop_min_rate', 16, [['header', 8], ['rate', 2], ['pad', 6]]);
export const QUEUE_PROP_EXPERIMENTER = struct('ofp_queue_prop_experimenter', 16, [
  ['header', 8], ['experimenter', 4], ['pad', 4],
]);

// A.2.3 Flow match.
export const MATCH = struct('ofp_match', 8, [['type', 2], ['length', 2], ['oxmFields', 4]]);
/** The match header before the OXM TLVs (type, length). */
export const MATCH_HEADER_LEN = 4;
export const OXM_HEADER_LEN = 4;

// A.2.4 Instructions.
export const INSTRUCTION_HEADER = struct('ofp_instruction', 4, [['type', 2], ['len', 2]]);
export const INSTRUCTION_GOTO_TABLE = struct('ofp_instruction_goto_table', 8, [['type', 2], ['len', 2], ['tableId', 1], ['pad', 3]]);
export const INSTRUCTION_WRITE_METADATA = struct('ofp_instruction_write_metadata', 24, [
  ['type', 2], ['len', 2], ['pad', 4], ['metadata', 8], ['metadataMask', 8],
]);
export const INSTRUCTION_ACTIONS = struct('ofp_instruction_actions', 8, [['type', 2], ['len', 2], ['pad', 4]]);
export const INSTRUCTION_METER = struct('ofp_instruction_meter', 8, [['type', 2], ['len', 2], ['meterId', 4]]);
export const INSTRUCTION_EXPERIMENTER = struct('ofp_instruction_experimenter', 8, [['type', 2], ['len', 2], ['experimenter', 4]]);

// A.2.5 Actions.
export const ACTION_HEADER = struct('ofp_action_header', 8, [['type', 2], ['len', 2], ['pad', 4]]);
export const ACTION_OUTPUT = struct('ofp_action_output', 16, [['type', 2], ['len', 2], ['port', 4], ['maxLen', 2], ['pad', 6]]);
export const ACTION_GROUP = struct('ofp_action_group', 8, [['type', 2], ['len', 2], ['groupId', 4]]);
export const ACTION_SET_QUEUE = struct('ofp_action_set_queue', 8, [['type', 2], ['len', 2], ['queueId', 4]]);
export const ACTION_MPLS_TTL = struct('ofp_action_mpls_ttl', 8, [['type', 2], ['len', 2], ['mplsTtl', 1], ['pad', 3]]);
export const ACTION_NW_TTL = struct('ofp_action_nw_ttl', 8, [['type', 2], ['len', 2], ['nwTtl', 1], ['pad', 3]]);
export const ACTION_PUSH = struct('ofp_action_push', 8, [['type', 2], ['len', 2], ['ethertype', 2], ['pad', 2]]);
export const ACTION_POP_MPLS = struct('ofp_action_pop_mpls', 8, [['type', 2], ['len', 2], ['ethertype', 2], ['pad', 2]]);
export const ACTION_SET_FIELD = struct('ofp_action_set_field', 8, [['type', 2], ['len', 2], ['field', 4]]);
export const ACTION_EXPERIMENTER = struct('ofp_action_experimenter_header', 8, [['type', 2], ['len', 2], ['experimenter', 4]]);

// A.3.1 Handshake.
export const SWITCH_FEATURES = struct('ofp_switch_features', 32, [
  ['header', 8], ['datapathId', 8], ['nBuffers', 4], ['nTables', 1], ['auxiliaryId', 1], ['pad', 2],
  ['capabilities', 4], ['reserved', 4],
]);

// A.3.2 Switch configuration.
export const SWITCH_CONFIG = struct('ofp_switch_config', 12, [['header', 8], ['flags', 2], ['missSendLen', 2]]);

// A.3.3 Flow table configuration.
export const TABLE_MOD = struct('ofp_table_mod', 16, [['header', 8], ['tableId', 1], ['pad', 3], ['config', 4]]);

// A.3.4.1 Modify flow entry (fixed part before the match; sizeof(ofp_flow_mod) = 56 with an empty match).
export const FLOW_MOD = struct('ofp_flow_mod (before match)', 48, [
  ['header', 8], ['cookie', 8], ['cookieMask', 8], ['tableId', 1], ['command', 1], ['idleTimeout', 2],
  ['hardTimeout', 2], ['priority', 2], ['bufferId', 4], ['outPort', 4], ['outGroup', 4], ['flags', 2], ['pad', 2],
]);

// A.3.4.2 Modify group entry.
export const GROUP_MOD = struct('ofp_group_mod', 16, [['header', 8], ['command', 2], ['type', 1], ['pad', 1], ['groupId', 4]]);
export const BUCKET = struct('ofp_bucket', 16, [['len', 2], ['weight', 2], ['watchPort', 4], ['watchGroup', 4], ['pad', 4]]);

// A.3.4.3 Port modification.
export const PORT_MOD = struct('ofp_port_mod', 40, [
  ['header', 8], ['portNo', 4], ['pad0', 4], ['hwAddr', 6], ['pad1', 2], ['config', 4], ['mask', 4],
  ['advertise', 4], ['pad2', 4],
]);

// A.3.4.4 Meter modification.
export const METER_MOD = struct('ofp_meter_mod', 16, [['header', 8], ['command', 2], ['flags', 2], ['meterId', 4]]);
export const METER_BAND_HEADER = struct('ofp_meter_band_header', 12, [['type', 2], ['len', 2], ['rate', 4], ['burstSize', 4]]);
export const METER_BAND_DROP = struct('ofp_meter_band_drop', 16, [['header', 12], ['pad', 4]]);
export const METER_BAND_DSCP_REMARK = struct('ofp_meter_band_dscp_remark', 16, [['header', 12], ['precLevel', 1], ['pad', 3]]);
export const METER_BAND_EXPERIMENTER = struct('ofp_meter_band_experimenter', 16, [['header', 12], ['experimenter', 4]]);

// A.3.5 Multipart messages.
export const MULTIPART = struct('ofp_multipart_request', 16, [['header', 8], ['type', 2], ['flags', 2], ['pad', 4]]);
export const DESC = struct('ofp_desc', 1056, [
  ['mfrDesc', DESC_STR_LEN], ['hwDesc', DESC_STR_LEN], ['swDesc', DESC_STR_LEN], ['serialNum', SERIAL_NUM_LEN],
  ['dpDesc', DESC_STR_LEN],
]);
/** ofp_flow_stats_request and ofp_aggregate_stats_request, before the match (40 + 8 with an empty match). */
export const FLOW_STATS_REQUEST = struct('ofp_flow_stats_request (before match)', 32, [
  ['tableId', 1], ['pad0', 3], ['outPort', 4], ['outGroup', 4], ['pad1', 4], ['cookie', 8], ['cookieMask', 8],
]);
/** ofp_flow_stats before the match (56 with an empty match). */
export const FLOW_STATS = struct('ofp_flow_stats (before match)', 48, [
  ['length', 2], ['tableId', 1], ['pad0', 1], ['durationSec', 4], ['durationNsec', 4], ['priority', 2],
  ['idleTimeout', 2], ['hardTimeout', 2], ['flags', 2], ['pad1', 4], ['cookie', 8], ['packetCount', 8], ['byteCount', 8],
]);
export const AGGREGATE_STATS_REPLY = struct('ofp_aggregate_stats_reply', 24, [
  ['packetCount', 8], ['byteCount', 8], ['flowCount', 4], ['pad', 4],
]);
export const TABLE_STATS = struct('ofp_table_stats', 24, [
  ['tableId', 1], ['pad', 3], ['activeCount', 4], ['lookupCount', 8], ['matchedCount', 8],
]);
export const TABLE_FEATURES = struct('ofp_table_features', 64, [
  ['length', 2], ['tableId', 1], ['pad', 5], ['name', OFP_MAX_TABLE_NAME_LEN], ['metadataMatch', 8],
  ['metadataWrite', 8], ['config', 4], ['maxEntries', 4],
]);
export const TABLE_FEATURE_PROP_HEADER = struct('ofp_table_feature_prop_header', 4, [['type', 2], ['length', 2]]);
export const TABLE_FEATURE_PROP_EXPERIMENTER = struct('ofp_table_feature_prop_experimenter', 12, [
  ['type', 2], ['length', 2], ['experimenter', 4], ['expType', 4],
]);
export const PORT_STATS_REQUEST = struct('ofp_port_stats_request', 8, [['portNo', 4], ['pad', 4]]);
export const PORT_STATS = struct('ofp_port_stats', 112, [
  ['portNo', 4], ['pad', 4], ['rxPackets', 8], ['txPackets', 8], ['rxBytes', 8], ['txBytes', 8],
  ['rxDropped', 8], ['txDropped', 8], ['rxErrors', 8], ['txErrors', 8], ['rxFrameErr', 8], ['rxOverErr', 8],
  ['rxCrcErr', 8], ['collisions', 8], ['durationSec', 4], ['durationNsec', 4],
]);
export const QUEUE_STATS_REQUEST = struct('ofp_queue_stats_request', 8, [['portNo', 4], ['queueId', 4]]);
export const QUEUE_STATS = struct('ofp_queue_stats', 40, [
  ['portNo', 4], ['queueId', 4], ['txBytes', 8], ['txPackets', 8], ['txErrors', 8], ['durationSec', 4], ['durationNsec', 4],
]);
export const GROUP_STATS_REQUEST = struct('ofp_group_stats_request', 8, [['groupId', 4], ['pad', 4]]);
export const GROUP_STATS = struct('ofp_group_stats', 40, [
  ['length', 2], ['pad0', 2], ['groupId', 4], ['refCount', 4], ['pad1', 4], ['packetCount', 8], ['byteCount', 8],
  ['durationSec', 4], ['durationNsec', 4],
]);
export const BUCKET_COUNTER = struct('ofp_bucket_counter', 16, [['packetCount', 8], ['byteCount', 8]]);
export const GROUP_DESC = struct('ofp_group_desc', 8, [['length', 2], ['type', 1], ['pad', 1], ['groupId', 4]]);
export const GROUP_FEATURES = struct('ofp_group_features', 40, [
  ['types', 4], ['capabilities', 4], ['maxGroups', 16], ['actions', 16],
]);
export const METER_MULTIPART_REQUEST = struct('ofp_meter_multipart_request', 8, [['meterId', 4], ['pad', 4]]);
export const METER_STATS = struct('ofp_meter_stats', 40, [
  ['meterId', 4], ['len', 2], ['pad', 6], ['flowCount', 4], ['packetInCount', 8], ['byteInCount', 8],
  ['durationSec', 4], ['durationNsec', 4],
]);
export const METER_BAND_STATS = struct('ofp_meter_band_stats', 16, [['packetBandCount', 8], ['byteBandCount', 8]]);
export const METER_CONFIG = struct('ofp_meter_config', 8, [['length', 2], ['flags', 2], ['meterId', 4]]);
export const METER_FEATURES = struct('ofp_meter_features', 16, [
  ['maxMeter', 4], ['bandTypes', 4], ['capabilities', 4], ['maxBands', 1], ['maxColor', 1], ['pad', 2],
]);
export const EXPERIMENTER_MULTIPART = struct('ofp_experimenter_multipart_header', 8, [['experimenter', 4], ['expType', 4]]);

// A.3.6 Queue configuration.
export const QUEUE_GET_CONFIG_REQUEST = struct('ofp_queue_get_config_request', 16, [['header', 8], ['port', 4], ['pad', 4]]);
export const QUEUE_GET_CONFIG_REPLY = struct('ofp_queue_get_config_reply', 16, [['header', 8], ['port', 4], ['pad', 4]]);

// A.3.7 Packet-out.
export const PACKET_OUT = struct('ofp_packet_out', 24, [
  ['header', 8], ['bufferId', 4], ['inPort', 4], ['actionsLen', 2], ['pad', 6],
]);

// A.3.9 Role request.
export const ROLE_REQUEST = struct('ofp_role_request', 24, [['header', 8], ['role', 4], ['pad', 4], ['generationId', 8]]);

// A.3.10 Asynchronous configuration.
export const ASYNC_CONFIG = struct('ofp_async_config', 32, [
  ['header', 8], ['packetInMask', 8], ['portStatusMask', 8], ['flowRemovedMask', 8],
]);

// A.4.1 Packet-in (fixed part before the match; the match is followed by 2 pad bytes and the frame).
export const PACKET_IN = struct('ofp_packet_in (before match)', 24, [
  ['header', 8], ['bufferId', 4], ['totalLen', 2], ['reason', 1], ['tableId', 1], ['cookie', 8],
]);
export const PACKET_IN_PAD = 2;

// A.4.2 Flow removed (fixed part before the match; 56 with an empty match).
export const FLOW_REMOVED = struct('ofp_flow_removed (before match)', 48, [
  ['header', 8], ['cookie', 8], ['priority', 2], ['reason', 1], ['tableId', 1], ['durationSec', 4],
  ['durationNsec', 4], ['idleTimeout', 2], ['hardTimeout', 2], ['packetCount', 8], ['byteCount', 8],
]);

// A.4.3 Port status.
export const PORT_STATUS = struct('ofp_port_status', 80, [['header', 8], ['reason', 1], ['pad', 7], ['desc', PORT.SIZE]]);

// A.4.4 Error message.
export const ERROR_MSG = struct('ofp_error_msg', 12, [['header', 8], ['type', 2], ['code', 2]]);
export const ERROR_EXPERIMENTER_MSG = struct('ofp_error_experimenter_msg', 16, [
  ['header', 8], ['type', 2], ['expType', 2], ['experimenter', 4],
]);

// A.5.4 Experimenter.
export const EXPERIMENTER = struct('ofp_experimenter_header', 16, [['header', 8], ['experimenter', 4], ['expType', 4]]);

/** Spec sizes of structs whose fixed part above stops before a variable part. */
export const SPEC_SIZES = Object.freeze({
  ofp_flow_mod: 56,
  ofp_packet_in: 32,
  ofp_flow_removed: 56,
  ofp_flow_stats_request: 40,
  ofp_flow_stats: 56,
});
if (FLOW_MOD.SIZE + MATCH.SIZE !== SPEC_SIZES.ofp_flow_mod) throw new Error('openflow/consts: ofp_flow_mod size');
if (PACKET_IN.SIZE + MATCH.SIZE !== SPEC_SIZES.ofp_packet_in) throw new Error('openflow/consts: ofp_packet_in size');
if (FLOW_REMOVED.SIZE + MATCH.SIZE !== SPEC_SIZES.ofp_flow_removed) throw new Error('openflow/consts: ofp_flow_removed size');
if (FLOW_STATS_REQUEST.SIZE + MATCH.SIZE !== SPEC_SIZES.ofp_flow_stats_request) {
  throw new Error('openflow/consts: ofp_flow_stats_request size');
}
if (FLOW_STATS.SIZE + MATCH.SIZE !== SPEC_SIZES.ofp_flow_stats) throw new Error('openflow/consts: ofp_flow_stats size');
