/*
 * fast-check generators of valid OpenFlow 1.3 messages: random field values
 * within each field's range, every message, action, instruction, OXM field,
 * multipart body and table-feature property kind. Byte payloads are Buffers
 * (what the decoder returns) and experimenter data is a multiple of 8 bytes
 * where the wire pads it, so a decoded message deep-equals its source.
 */

import fc from 'fast-check';
import type { Action } from '../../../src/openflow/codec/v13/actions.js';
import type { Instruction } from '../../../src/openflow/codec/v13/instructions.js';
import type { OfpMessage } from '../../../src/openflow/codec/v13/message.js';
import type { MeterBand } from '../../../src/openflow/codec/v13/msg/meter-mod.js';
import type { MultipartReplyBody, MultipartRequestBody } from '../../../src/openflow/codec/v13/msg/multipart.js';
import type { Bucket } from '../../../src/openflow/codec/v13/msg/group-mod.js';
import type { PortDesc } from '../../../src/openflow/codec/v13/msg/port-status.js';
import type { TableFeatureProp, TableFeatures } from '../../../src/openflow/codec/v13/msg/mp-table-features.js';
import type { QueueProp } from '../../../src/openflow/codec/v13/msg/queue-config.js';
import { OXM_FIELDS, type Oxm } from '../../../src/openflow/codec/v13/oxm.js';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u48 = fc.integer({ min: 0, max: 2 ** 48 - 1 });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const u128 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });
const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));
/** Payloads the wire pads to 8: generate whole multiples of 8 so they survive a round trip. */
const padded = fc.integer({ min: 0, max: 3 }).chain((n) => fc.uint8Array({ minLength: 8 * n, maxLength: 8 * n })).map((a) => Buffer.from(a));
const name = (max: number) => fc.stringMatching(new RegExp(`^[a-zA-Z0-9._-]{0,${max}}$`));
const xid = u32;

function oxmValue(bytes: number): fc.Arbitrary<number | bigint> {
  switch (bytes) {
    case 1: return u8;
    case 2: return u16;
    case 3: return fc.integer({ min: 0, max: 0xffffff });
    case 4: return u32;
    case 6: return u48;
    case 8: return u64;
    default: return u128;
  }
}

const oxm: fc.Arbitrary<Oxm> = fc.constantFrom(...OXM_FIELDS).chain((def) => {
  const v = oxmValue(def.bytes);
  return def.maskable
    ? fc.oneof(fc.record({ field: fc.constant(def.name), value: v }), fc.record({ field: fc.constant(def.name), value: v, mask: v }))
    : fc.record({ field: fc.constant(def.name), value: v });
}) as fc.Arbitrary<Oxm>;

const unmaskedOxm: fc.Arbitrary<Oxm> = fc.constantFrom(...OXM_FIELDS).chain((def) =>
  fc.record({ field: fc.constant(def.name), value: oxmValue(def.bytes) }),
) as fc.Arbitrary<Oxm>;

const match = fc.array(oxm, { maxLength: 6 });

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ type: fc.constant('output' as const), port: u32, maxLen: u16 }),
  fc.constantFrom<Action>({ type: 'copy_ttl_out' }, { type: 'copy_ttl_in' }, { type: 'dec_mpls_ttl' }, { type: 'pop_vlan' }, { type: 'dec_nw_ttl' }, { type: 'pop_pbb' }),
  fc.record({ type: fc.constant('set_mpls_ttl' as const), mplsTtl: u8 }),
  fc.record({ type: fc.constant('set_nw_ttl' as const), nwTtl: u8 }),
  fc.record({ type: fc.constantFrom('push_vlan' as const, 'push_mpls' as const, 'pop_mpls' as const, 'push_pbb' as const), ethertype: u16 }),
  fc.record({ type: fc.constant('set_queue' as const), queueId: u32 }),
  fc.record({ type: fc.constant('group' as const), groupId: u32 }),
  fc.record({ type: fc.constant('set_field' as const), field: unmaskedOxm }),
  fc.record({ type: fc.constant('experimenter' as const), experimenter: u32, data: padded }),
);

const actions = fc.array(action, { maxLength: 5 });

const instruction: fc.Arbitrary<Instruction> = fc.oneof(
  fc.record({ type: fc.constant('goto_table' as const), tableId: u8 }),
  fc.record({ type: fc.constant('write_metadata' as const), metadata: u64, metadataMask: u64 }),
  fc.record({ type: fc.constantFrom('write_actions' as const, 'apply_actions' as const), actions }),
  fc.constant({ type: 'clear_actions' as const }),
  fc.record({ type: fc.constant('meter' as const), meterId: u32 }),
  fc.record({ type: fc.constant('experimenter' as const), experimenter: u32, data: padded }),
);

const instructions = fc.array(instruction, { maxLength: 4 });

const portDesc: fc.Arbitrary<PortDesc> = fc.record({
  portNo: u32, hwAddr: u48, name: name(15), config: u32, state: u32, curr: u32, advertised: u32, supported: u32, peer: u32,
  currSpeed: u32, maxSpeed: u32,
});

const bucket: fc.Arbitrary<Bucket> = fc.record({ weight: u16, watchPort: u32, watchGroup: u32, actions });

const band: fc.Arbitrary<MeterBand> = fc.oneof(
  fc.record({ type: fc.constant('drop' as const), rate: u32, burstSize: u32 }),
  fc.record({ type: fc.constant('dscp_remark' as const), rate: u32, burstSize: u32, precLevel: u8 }),
  fc.record({ type: fc.constant('experimenter' as const), rate: u32, burstSize: u32, experimenter: u32, data: padded }),
);

const featureId = fc.oneof(fc.record({ type: fc.integer({ min: 0, max: 0xfffe }) }), fc.record({ type: fc.constant(0xffff), experimenter: u32 }));
const oxmId = fc.oneof(
  fc.record({ oxmClass: fc.integer({ min: 0, max: 0xfffe }), field: fc.integer({ min: 0, max: 127 }), hasMask: fc.boolean(), length: u8 }),
  fc.record({ oxmClass: fc.constant(0xffff), field: fc.integer({ min: 0, max: 127 }), hasMask: fc.boolean(), length: u8, experimenter: u32 }),
);
const tableFeatureProp: fc.Arbitrary<TableFeatureProp> = fc.oneof(
  fc.record({ type: fc.constantFrom('instructions' as const, 'instructions_miss' as const), instructionIds: fc.array(featureId, { maxLength: 6 }) }),
  fc.record({ type: fc.constantFrom('next_tables' as const, 'next_tables_miss' as const), tableIds: fc.array(u8, { maxLength: 10 }) }),
  fc.record({
    type: fc.constantFrom('write_actions' as const, 'write_actions_miss' as const, 'apply_actions' as const, 'apply_actions_miss' as const),
    actionIds: fc.array(featureId, { maxLength: 6 }),
  }),
  fc.record({
    type: fc.constantFrom('match' as const, 'wildcards' as const, 'write_setfield' as const, 'write_setfield_miss' as const, 'apply_setfield' as const, 'apply_setfield_miss' as const),
    oxmIds: fc.array(oxmId, { maxLength: 6 }),
  }),
  fc.record({ type: fc.constantFrom('experimenter' as const, 'experimenter_miss' as const), experimenter: u32, expType: u32, data: bytes(12) }),
);
const tableFeatures: fc.Arbitrary<TableFeatures> = fc.record({
  tableId: u8, name: name(31), metadataMatch: u64, metadataWrite: u64, config: u32, maxEntries: u32,
  properties: fc.array(tableFeatureProp, { maxLength: 5 }),
});

const flowFilter = { tableId: u8, outPort: u32, outGroup: u32, cookie: u64, cookieMask: u64, match };

const multipartRequestBody: fc.Arbitrary<MultipartRequestBody> = fc.oneof(
  fc.constantFrom<MultipartRequestBody>(
    { type: 'desc' }, { type: 'table' }, { type: 'group_desc' }, { type: 'group_features' }, { type: 'meter_features' }, { type: 'port_desc' },
  ),
  fc.record({ type: fc.constant('flow' as const), ...flowFilter }),
  fc.record({ type: fc.constant('aggregate' as const), ...flowFilter }),
  fc.record({ type: fc.constant('port_stats' as const), portNo: u32 }),
  fc.record({ type: fc.constant('queue' as const), portNo: u32, queueId: u32 }),
  fc.record({ type: fc.constant('group' as const), groupId: u32 }),
  fc.record({ type: fc.constantFrom('meter' as const, 'meter_config' as const), meterId: u32 }),
  fc.record({ type: fc.constant('table_features' as const), entries: fc.array(tableFeatures, { maxLength: 2 }) }),
  fc.record({ type: fc.constant('experimenter' as const), experimenter: u32, expType: u32, data: bytes(24) }),
);

const counters = <K extends string>(keys: readonly K[]) => fc.record(Object.fromEntries(keys.map((k) => [k, u64])));

const multipartReplyBody: fc.Arbitrary<MultipartReplyBody> = fc.oneof(
  fc.record({ type: fc.constant('desc' as const), mfrDesc: name(255), hwDesc: name(40), swDesc: name(40), serialNum: name(31), dpDesc: name(40) }),
  fc.record({
    type: fc.constant('flow' as const),
    entries: fc.array(
      fc.record({
        tableId: u8, durationSec: u32, durationNsec: u32, priority: u16, idleTimeout: u16, hardTimeout: u16, flags: u16, cookie: u64,
        packetCount: u64, byteCount: u64, match, instructions,
      }),
      { maxLength: 3 },
    ),
  }),
  fc.record({ type: fc.constant('aggregate' as const), packetCount: u64, byteCount: u64, flowCount: u32 }),
  fc.record({ type: fc.constant('table' as const), entries: fc.array(fc.record({ tableId: u8, activeCount: u32, lookupCount: u64, matchedCount: u64 }), { maxLength: 4 }) }),
  fc.record({
    type: fc.constant('port_stats' as const),
    entries: fc.array(
      fc.tuple(
        fc.record({ portNo: u32, durationSec: u32, durationNsec: u32 }),
        counters(['rxPackets', 'txPackets', 'rxBytes', 'txBytes', 'rxDropped', 'txDropped', 'rxErrors', 'txErrors', 'rxFrameErr', 'rxOverErr', 'rxCrcErr', 'collisions'] as const),
      ).map(([a, b]) => ({ ...a, ...b })),
      { maxLength: 3 },
    ),
  }),
  fc.record({
    type: fc.constant('queue' as const),
    entries: fc.array(fc.record({ portNo: u32, queueId: u32, txBytes: u64, txPackets: u64, txErrors: u64, durationSec: u32, durationNsec: u32 }), { maxLength: 3 }),
  }),
  fc.record({
    type: fc.constant('group' as const),
    entries: fc.array(
      fc.record({
        groupId: u32, refCount: u32, packetCount: u64, byteCount: u64, durationSec: u32, durationNsec: u32,
        bucketStats: fc.array(fc.record({ packetCount: u64, byteCount: u64 }), { maxLength: 3 }),
      }),
      { maxLength: 3 },
    ),
  }),
  fc.record({ type: fc.constant('group_desc' as const), entries: fc.array(fc.record({ groupType: u8, groupId: u32, buckets: fc.array(bucket, { maxLength: 3 }) }), { maxLength: 3 }) }),
  fc.record({
    type: fc.constant('group_features' as const), types: u32, capabilities: u32,
    maxGroups: fc.tuple(u32, u32, u32, u32), actions: fc.tuple(u32, u32, u32, u32),
  }),
  fc.record({
    type: fc.constant('meter' as const),
    entries: fc.array(
      fc.record({
        meterId: u32, flowCount: u32, packetInCount: u64, byteInCount: u64, durationSec: u32, durationNsec: u32,
        bandStats: fc.array(fc.record({ packetBandCount: u64, byteBandCount: u64 }), { maxLength: 3 }),
      }),
      { maxLength: 3 },
    ),
  }),
  fc.record({ type: fc.constant('meter_config' as const), entries: fc.array(fc.record({ flags: u16, meterId: u32, bands: fc.array(band, { maxLength: 3 }) }), { maxLength: 3 }) }),
  fc.record({ type: fc.constant('meter_features' as const), maxMeter: u32, bandTypes: u32, capabilities: u32, maxBands: u8, maxColor: u8 }),
  fc.record({ type: fc.constant('table_features' as const), entries: fc.array(tableFeatures, { maxLength: 2 }) }),
  fc.record({ type: fc.constant('port_desc' as const), ports: fc.array(portDesc, { maxLength: 4 }) }),
  fc.record({ type: fc.constant('experimenter' as const), experimenter: u32, expType: u32, data: bytes(24) }),
) as fc.Arbitrary<MultipartReplyBody>;

const queueProp: fc.Arbitrary<QueueProp> = fc.oneof(
  fc.record({ type: fc.constantFrom('min_rate' as const, 'max_rate' as const), rate: u16 }),
  fc.record({ type: fc.constant('experimenter' as const), experimenter: u32, data: padded }),
  fc.record({ type: fc.constant('unknown' as const), property: fc.integer({ min: 3, max: 0xfffe }), data: padded }),
);

const roleMasks = fc.tuple(u32, u32);

/** Any valid OpenFlow 1.3 message. */
export const message: fc.Arbitrary<OfpMessage> = fc.oneof(
  fc.record({
    type: fc.constant('hello' as const), version: fc.integer({ min: 1, max: 0x7f }), xid,
    elements: fc.array(
      fc.oneof(
        fc.record({ type: fc.constant('versionbitmap' as const), bitmaps: fc.array(u32, { maxLength: 3 }) }),
        fc.record({ type: fc.constant('unknown' as const), elemType: fc.integer({ min: 2, max: 0xffff }), data: fc.constantFrom(4, 12).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })).map((a) => Buffer.from(a)) }),
      ),
      { maxLength: 3 },
    ),
  }),
  fc.record({ type: fc.constant('error' as const), xid, errType: fc.integer({ min: 0, max: 0xfffe }), code: u16, data: bytes(64) }),
  fc.record({ type: fc.constant('error' as const), xid, errType: fc.constant(0xffff), code: u16, experimenter: u32, data: bytes(64) }),
  fc.record({ type: fc.constantFrom('echo_request' as const, 'echo_reply' as const), xid, data: bytes(64) }),
  fc.record({ type: fc.constant('experimenter' as const), xid, experimenter: u32, expType: u32, data: bytes(32) }),
  fc.record({
    type: fc.constantFrom('features_request' as const, 'get_config_request' as const, 'barrier_request' as const, 'barrier_reply' as const, 'get_async_request' as const),
    xid,
  }),
  fc.record({ type: fc.constant('features_reply' as const), xid, datapathId: u64, nBuffers: u32, nTables: u8, auxiliaryId: u8, capabilities: u32, reserved: u32 }),
  fc.record({ type: fc.constantFrom('get_config_reply' as const, 'set_config' as const), xid, flags: u16, missSendLen: u16 }),
  fc.record({ type: fc.constant('packet_in' as const), xid, bufferId: u32, totalLen: u16, reason: u8, tableId: u8, cookie: u64, match, data: bytes(100) }),
  fc.record({
    type: fc.constant('flow_removed' as const), xid, cookie: u64, priority: u16, reason: u8, tableId: u8, durationSec: u32, durationNsec: u32,
    idleTimeout: u16, hardTimeout: u16, packetCount: u64, byteCount: u64, match,
  }),
  fc.record({ type: fc.constant('port_status' as const), xid, reason: u8, desc: portDesc }),
  fc.record({ type: fc.constant('packet_out' as const), xid, bufferId: u32, inPort: u32, actions, data: bytes(100) }),
  fc.record({
    type: fc.constant('flow_mod' as const), xid, cookie: u64, cookieMask: u64, tableId: u8, command: fc.integer({ min: 0, max: 4 }), idleTimeout: u16,
    hardTimeout: u16, priority: u16, bufferId: u32, outPort: u32, outGroup: u32, flags: u16, match, instructions,
  }),
  fc.record({ type: fc.constant('group_mod' as const), xid, command: fc.integer({ min: 0, max: 2 }), groupType: fc.integer({ min: 0, max: 3 }), groupId: u32, buckets: fc.array(bucket, { maxLength: 3 }) }),
  fc.record({ type: fc.constant('port_mod' as const), xid, portNo: u32, hwAddr: u48, config: u32, mask: u32, advertise: u32 }),
  fc.record({ type: fc.constant('table_mod' as const), xid, tableId: u8, config: u32 }),
  fc.record({ type: fc.constant('multipart_request' as const), xid, flags: u16, body: multipartRequestBody }),
  fc.record({ type: fc.constant('multipart_reply' as const), xid, flags: u16, body: multipartReplyBody }),
  fc.record({ type: fc.constant('queue_get_config_request' as const), xid, port: u32 }),
  fc.record({
    type: fc.constant('queue_get_config_reply' as const), xid, port: u32,
    queues: fc.array(fc.record({ queueId: u32, port: u32, properties: fc.array(queueProp, { maxLength: 3 }) }), { maxLength: 3 }),
  }),
  fc.record({ type: fc.constantFrom('role_request' as const, 'role_reply' as const), xid, role: fc.integer({ min: 0, max: 3 }), generationId: u64 }),
  fc.record({ type: fc.constantFrom('get_async_reply' as const, 'set_async' as const), xid, packetInMask: roleMasks, portStatusMask: roleMasks, flowRemovedMask: roleMasks }),
  fc.record({ type: fc.constant('meter_mod' as const), xid, command: fc.integer({ min: 0, max: 2 }), flags: u16, meterId: u32, bands: fc.array(band, { maxLength: 3 }) }),
);
