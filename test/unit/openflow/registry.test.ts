/*
 * The tables the codec is built on: one codec per OFPT_* type (duplicates
 * refused), one body family per OFPMP_* type, struct sizes as the spec
 * gives them, and error names for logs.
 */

import { describe, expect, it } from 'vitest';
import * as C from '../../../src/openflow/codec/v13/consts.js';
import { decodeMessage, encodeMessage, encodeMessageInto } from '../../../src/openflow/codec/codec.js';
import { errorName, OFPBAC, OFPBRC, OFPET, OFPMP, OFPT, typeName } from '../../../src/openflow/codec/v13/enums.js';
import { flowModCodec } from '../../../src/openflow/codec/v13/msg/flow-mod.js';
import { descBody } from '../../../src/openflow/codec/v13/msg/mp-stats.js';
import { registerMultipartBody } from '../../../src/openflow/codec/v13/msg/multipart.js';
import { helloVersions, makeHello, versionBitmap } from '../../../src/openflow/codec/v13/msg/hello.js';
import { OXM, OXM_FIELDS } from '../../../src/openflow/codec/v13/oxm.js';
import { codecForName, codecForWireType, registerMessage, registeredNames } from '../../../src/openflow/codec/v13/registry.js';

describe('message registry', () => {
  it('has exactly one codec for every OF 1.3 message type', () => {
    for (const [name, wire] of Object.entries(OFPT)) {
      const c = codecForWireType(wire);
      expect(c, name).toBeDefined();
      expect(c!.wireType).toBe(wire);
      expect(c!.name).toBe(name.toLowerCase());
      expect(codecForName(c!.name)).toBe(c);
    }
    expect(registeredNames().length).toBe(Object.keys(OFPT).length);
    expect(codecForWireType(30)).toBeUndefined();
  });

  it('refuses a second codec for a type or a name', () => {
    expect(() => registerMessage(flowModCodec)).toThrow(/registered twice/);
    expect(() => registerMessage({ ...flowModCodec, wireType: 30 as never })).toThrow(/registered twice/);
    expect(() => registerMultipartBody(descBody)).toThrow(/registered twice/);
  });

  it('decodes every OFPMP type it registers and no other', () => {
    for (const [name, mp] of Object.entries(OFPMP)) {
      const b = Buffer.from('0412001000000001000000000000000000', 'hex').subarray(0, 16);
      b.writeUInt16BE(mp, 8);
      const r = decodeMessage(b);
      // Empty bodies are valid for some types; for the others the error is about the body, never the type.
      if ('ok' in r) expect(r.ok).toMatchObject({ type: 'multipart_request', body: { type: name.toLowerCase() } });
      else expect(errorName(r.type, r.code), name).not.toBe('OFPET_BAD_REQUEST/OFPBRC_BAD_MULTIPART');
    }
  });
});

describe('struct sizes', () => {
  it('match the OpenFlow 1.3.5 specification', () => {
    const sizes: [keyof typeof C, number][] = [
      ['HEADER', 8], ['PORT', 64], ['SWITCH_FEATURES', 32], ['SWITCH_CONFIG', 12], ['TABLE_MOD', 16], ['PORT_MOD', 40],
      ['GROUP_MOD', 16], ['BUCKET', 16], ['METER_MOD', 16], ['MULTIPART', 16], ['DESC', 1056], ['PORT_STATS', 112],
      ['QUEUE_STATS', 40], ['GROUP_STATS', 40], ['METER_STATS', 40], ['TABLE_FEATURES', 64], ['PACKET_OUT', 24],
      ['ROLE_REQUEST', 24], ['ASYNC_CONFIG', 32], ['PORT_STATUS', 80], ['ERROR_MSG', 12], ['EXPERIMENTER', 16],
      ['ACTION_OUTPUT', 16], ['INSTRUCTION_WRITE_METADATA', 24], ['GROUP_FEATURES', 40], ['METER_FEATURES', 16],
    ];
    for (const [k, n] of sizes) expect((C[k] as { SIZE: number }).SIZE, k).toBe(n);
    expect(C.FLOW_MOD.SIZE + C.MATCH.SIZE).toBe(56);
    expect(C.PACKET_IN.SIZE + C.MATCH.SIZE).toBe(32);
    expect(C.FLOW_STATS.SIZE + C.MATCH.SIZE).toBe(56);
  });

  it('lays fields out at the spec offsets', () => {
    expect(C.FLOW_MOD.priority).toBe(30);
    expect(C.FLOW_MOD.outGroup).toBe(40);
    expect(C.PORT.name).toBe(16);
    expect(C.PORT.maxSpeed).toBe(60);
    expect(C.SWITCH_FEATURES.capabilities).toBe(24);
    expect(C.FLOW_STATS.cookie).toBe(24);
  });
});

describe('OXM field table', () => {
  it('lists the 40 OF 1.3 OPENFLOW_BASIC fields by id', () => {
    expect(OXM_FIELDS.length).toBe(40);
    expect(OXM.ipv6_exthdr).toBe(39);
    expect(OXM_FIELDS[OXM.pbb_isid].bytes).toBe(3);
    expect(OXM_FIELDS.filter((f) => f.maskable).map((f) => f.name)).toEqual([
      'metadata', 'eth_dst', 'eth_src', 'vlan_vid', 'ipv4_src', 'ipv4_dst', 'arp_spa', 'arp_tpa', 'arp_sha', 'arp_tha',
      'ipv6_src', 'ipv6_dst', 'ipv6_flabel', 'pbb_isid', 'tunnel_id', 'ipv6_exthdr',
    ]);
  });
});

describe('names and helpers', () => {
  it('names error types and codes', () => {
    expect(errorName(OFPET.BAD_ACTION, OFPBAC.BAD_TYPE)).toBe('OFPET_BAD_ACTION/OFPBAC_BAD_TYPE');
    expect(errorName(OFPET.EXPERIMENTER, 3)).toBe('OFPET_EXPERIMENTER/code 3');
    expect(errorName(99, 1)).toBe('type 99/code 1');
    expect(typeName(OFPT.FLOW_MOD)).toBe('OFPT_FLOW_MOD');
  });

  it('builds and reads version bitmaps', () => {
    expect(versionBitmap([1, 4])).toEqual([0x12]);
    expect(versionBitmap([4, 33])).toEqual([0x10, 0x2]);
    expect(helloVersions(makeHello(9))).toEqual([4]);
    expect(helloVersions({ type: 'hello', version: 5, xid: 1, elements: [] })).toEqual([5]);
    expect(helloVersions({ type: 'hello', version: 6, xid: 1, elements: [{ type: 'versionbitmap', bitmaps: [0x5a] }] })).toEqual([1, 3, 4, 6]);
    expect(encodeMessage(makeHello(1)).toString('hex')).toBe('04000010000000010001000800000010');
  });

  it('encodes into a caller buffer at an offset and refuses what does not fit', () => {
    const buf = Buffer.alloc(40, 0xaa);
    const end = encodeMessageInto({ type: 'barrier_reply', xid: 5 }, buf, 16);
    expect(end).toBe(24);
    expect(buf.subarray(16, 24).toString('hex')).toBe('0415000800000005');
    expect(buf[15]).toBe(0xaa);
    expect(buf[24]).toBe(0xaa);
    expect(() => encodeMessageInto({ type: 'barrier_reply', xid: 5 }, buf, 36)).toThrow(RangeError);
    expect(() => encodeMessage({ type: 'echo_request', xid: 1, data: Buffer.alloc(70000) })).toThrow(RangeError);
  });
});

describe('version axis', () => {
  it('lists OpenFlow 1.3 as the one wire version and decodes by the header version', async () => {
    const { SUPPORTED_VERSIONS, wireVersion } = await import('../../../src/openflow/codec/versions.js');
    expect(SUPPORTED_VERSIONS).toEqual([0x04]);
    expect(wireVersion(0x04)!.name).toBe('OpenFlow 1.3');
    expect(wireVersion(0x04)!.codecForWireType(OFPT.FLOW_MOD)).toBe(flowModCodec);
    expect(wireVersion(0x01)).toBeUndefined();
    // A 1.0 FEATURES_REQUEST (version 1, type 5) is refused with BAD_VERSION; a 1.0 HELLO is read (negotiation).
    const r = decodeMessage(Buffer.from('0105000800000007', 'hex'));
    expect('ok' in r ? null : [r.type, r.code]).toEqual([OFPET.BAD_REQUEST, OFPBRC.BAD_VERSION]);
    const h = decodeMessage(Buffer.from('0100000800000007', 'hex'));
    expect('ok' in h && h.ok.type).toBe('hello');
  });
});
