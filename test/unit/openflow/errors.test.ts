/*
 * Errors, never crashes: every negative fixture in test/fixtures/of13/bad/
 * (a message with one thing wrong, its `# expect:` line naming the
 * OFPT_ERROR type/code) decodes to exactly that DecodeError, and errorFor()
 * builds the OFPT_ERROR with the offending xid and first 64 bytes.
 */

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../../src/openflow/codec/codec.js';
import { DecodeError } from '../../../src/openflow/codec/decode-error.js';
import { errorName, OFPBMC, OFPET } from '../../../src/openflow/codec/v13/enums.js';
import type { OfpMessage } from '../../../src/openflow/codec/v13/message.js';
import { errorFor } from '../../../src/openflow/codec/v13/msg/error.js';
import { type Oxm, validateMatch } from '../../../src/openflow/codec/v13/oxm.js';
import { FIXTURE_DIR, parseHexFixture, readHexFixture, readJsonFixture } from './fixtures.js';

const BAD_DIR = join(FIXTURE_DIR, 'bad');
const bad = readdirSync(BAD_DIR)
  .filter((f) => f.endsWith('.hex'))
  .map((f) => parseHexFixture(f, readFileSync(join(BAD_DIR, f), 'utf8')));

function expectError(bytes: Uint8Array): DecodeError {
  const r = decodeMessage(bytes);
  if (!(r instanceof DecodeError)) throw new Error(`decoded without error: ${JSON.stringify(r.ok, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
  return r;
}

describe('negative fixtures', () => {
  it('covers the cases the issue names', () => {
    const names = bad.map((b) => b.name.replace(/\.hex$/, ''));
    for (const n of [
      'too_short', 'length_beyond_buffer', 'length_below_header', 'flow_mod_shorter_than_fixed', 'unknown_type',
      'action_unknown_type', 'action_len_not_multiple_of_8', 'instruction_unknown', 'oxm_bad_length', 'oxm_unknown_class',
      'multipart_unknown_type',
    ]) {
      expect(names).toContain(n);
    }
  });

  describe.each(bad)('$name', (fx) => {
    const expectLine = fx.comments.find((c) => c.startsWith('expect: '));

    it('answers with the expected error type and code', () => {
      expect(expectLine).toBeDefined();
      const err = expectError(fx.bytes);
      expect(errorName(err.type, err.code)).toBe(expectLine!.slice('expect: '.length));
      expect(err.offset).toBeGreaterThanOrEqual(0);
      expect(err.offset).toBeLessThan(Math.max(fx.bytes.length, 1));
    });

    it('builds an OFPT_ERROR carrying the xid and the first 64 bytes', () => {
      const err = expectError(fx.bytes);
      const reply = errorFor(err, fx.bytes);
      expect(reply.errType).toBe(err.type);
      expect(reply.code).toBe(err.code);
      expect(reply.xid).toBe(fx.bytes.length >= 8 ? fx.bytes.readUInt32BE(4) : 0);
      expect(Buffer.from(reply.data)).toEqual(fx.bytes.subarray(0, 64));
      // The reply itself must be a well-formed message.
      const back = decodeMessage(encodeMessage(reply));
      expect(back).toEqual({ ok: reply });
    });
  });
});

describe('errorFor', () => {
  it('reproduces the hand-made error_bad_action fixture from the bad flow-mod', () => {
    const offending = bad.find((b) => b.name === 'action_unknown_type.hex')!.bytes;
    const reply = errorFor(expectError(offending), offending);
    expect(reply).toEqual(readJsonFixture('error_bad_action'));
    expect(encodeMessage(reply)).toEqual(readHexFixture('error_bad_action').bytes);
  });

  it('copies the data: reusing the offending buffer does not change the error', () => {
    const offending = Buffer.from(readHexFixture('flow_add_l2').bytes);
    offending[1] = 99;
    const reply = errorFor(expectError(offending), offending);
    offending.fill(0);
    expect(reply.data[1]).toBe(99);
    expect(reply.data.length).toBe(64);
  });

  it('keeps a message shorter than 64 bytes whole', () => {
    const offending = Buffer.from('04c8000800000007', 'hex');
    const reply = errorFor(expectError(offending), offending);
    expect(reply.xid).toBe(7);
    expect(Buffer.from(reply.data).toString('hex')).toBe('04c8000800000007');
  });
});

describe('decode is strict where the layout is fixed', () => {
  it('accepts HELLO and ERROR of any version but nothing else', () => {
    const hello = Buffer.from('0100000800000001', 'hex');
    expect(decodeMessage(hello)).toEqual({ ok: { type: 'hello', version: 1, xid: 1, elements: [] } });
    const error10 = Buffer.from('0101000c000000020000000100', 'hex').subarray(0, 12);
    expect(decodeMessage(error10)).toMatchObject({ ok: { type: 'error', errType: 0, code: 1 } });
    const echo10 = Buffer.from('0102000800000003', 'hex');
    expect(errorName((decodeMessage(echo10) as DecodeError).type, (decodeMessage(echo10) as DecodeError).code)).toBe('OFPET_BAD_REQUEST/OFPBRC_BAD_VERSION');
  });

  it('decodes only the first message of a buffer holding more', () => {
    const two = Buffer.concat([readHexFixture('barrier_request').bytes, readHexFixture('features_request').bytes]);
    expect(decodeMessage(two)).toEqual({ ok: { type: 'barrier_request', xid: 7 } });
  });

  it('accepts a plain Uint8Array at a non-zero byteOffset', () => {
    const backing = new Uint8Array(64);
    backing.set(readHexFixture('echo_request').bytes.subarray(0, 8), 16);
    backing[18] = 0;
    backing[19] = 8;
    expect(decodeMessage(backing.subarray(16, 24))).toEqual({ ok: { type: 'echo_request', xid: 2, data: Buffer.alloc(0) } });
  });
});

describe('validateMatch', () => {
  const ok = (m: Oxm[]) => expect(validateMatch(m)).toBeNull();
  const fails = (m: Oxm[], code: number) => {
    const e = validateMatch(m);
    expect(e).not.toBeNull();
    expect(errorName(e!.type, e!.code)).toBe(errorName(OFPET.BAD_MATCH, code));
  };

  it('accepts every captured flow-mod match', () => {
    for (const n of ['flow_add_l2', 'flow_add_ipv4_masked', 'flow_add_tcp', 'flow_add_udp_controller', 'flow_add_arp', 'flow_add_ipv6', 'flow_add_nd', 'flow_add_icmp', 'flow_add_sctp', 'flow_add_metadata', 'flow_add_pop_mpls']) {
      const fm = readJsonFixture(n) as Extract<OfpMessage, { type: 'flow_mod' }>;
      expect(validateMatch(fm.match), n).toBeNull();
    }
  });

  it('rejects a field given twice (DUP_FIELD)', () => {
    fails([{ field: 'in_port', value: 1 }, { field: 'in_port', value: 2 }], OFPBMC.DUP_FIELD);
  });

  it('rejects values beyond the field (BAD_VALUE) and masks beyond it (BAD_MASK)', () => {
    fails([{ field: 'eth_type', value: 0x0800 }, { field: 'ip_dscp', value: 64 }], OFPBMC.BAD_VALUE);
    fails([{ field: 'vlan_vid', value: 0x2000 }], OFPBMC.BAD_VALUE);
    fails([{ field: 'eth_type', value: 0x8847 }, { field: 'mpls_label', value: 1 << 20 }], OFPBMC.BAD_VALUE);
    fails([{ field: 'vlan_vid', value: 0x1000, mask: 0x3000 }], OFPBMC.BAD_MASK);
    fails([{ field: 'in_port', value: 1, mask: 1 } as unknown as Oxm], OFPBMC.BAD_MASK);
  });

  it('rejects value bits outside the mask (BAD_WILDCARDS)', () => {
    fails([{ field: 'eth_dst', value: 0x010000000001, mask: 0xffffff000000 }], OFPBMC.BAD_WILDCARDS);
    fails([{ field: 'metadata', value: 0x1n, mask: 0xf0n }], OFPBMC.BAD_WILDCARDS);
    ok([{ field: 'eth_dst', value: 0x010000000000, mask: 0xffffff000000 }]);
    ok([{ field: 'metadata', value: 0x10n, mask: 0xf0n }]);
  });

  it('checks prerequisites (BAD_PREREQ)', () => {
    fails([{ field: 'tcp_dst', value: 80 }], OFPBMC.BAD_PREREQ);
    fails([{ field: 'eth_type', value: 0x0800 }, { field: 'tcp_dst', value: 80 }], OFPBMC.BAD_PREREQ);
    fails([{ field: 'eth_type', value: 0x0800 }, { field: 'ip_proto', value: 17 }, { field: 'tcp_dst', value: 80 }], OFPBMC.BAD_PREREQ);
    ok([{ field: 'eth_type', value: 0x86dd }, { field: 'ip_proto', value: 6 }, { field: 'tcp_dst', value: 80 }]);
    fails([{ field: 'ip_proto', value: 6 }], OFPBMC.BAD_PREREQ);
    fails([{ field: 'eth_type', value: 0x0806 }, { field: 'ipv4_src', value: 1 }], OFPBMC.BAD_PREREQ);
    fails([{ field: 'vlan_pcp', value: 3 }], OFPBMC.BAD_PREREQ);
    fails([{ field: 'vlan_vid', value: 0 }, { field: 'vlan_pcp', value: 3 }], OFPBMC.BAD_PREREQ);
    ok([{ field: 'vlan_vid', value: 0x1000, mask: 0x1000 }, { field: 'vlan_pcp', value: 3 }]);
    fails([{ field: 'in_phy_port', value: 3 }], OFPBMC.BAD_PREREQ);
    ok([{ field: 'in_port', value: 3 }, { field: 'in_phy_port', value: 3 }]);
    const nd = [{ field: 'eth_type', value: 0x86dd }, { field: 'ip_proto', value: 58 }] as Oxm[];
    fails([...nd, { field: 'icmpv6_type', value: 136 }, { field: 'ipv6_nd_sll', value: 1 }], OFPBMC.BAD_PREREQ);
    ok([...nd, { field: 'icmpv6_type', value: 136 }, { field: 'ipv6_nd_tll', value: 1 }]);
    fails([{ field: 'eth_type', value: 0x0800 }, { field: 'mpls_tc', value: 1 }], OFPBMC.BAD_PREREQ);
    ok([{ field: 'eth_type', value: 0x8848 }, { field: 'mpls_tc', value: 1 }]);
    fails([{ field: 'eth_type', value: 0x0800 }, { field: 'pbb_isid', value: 1 }], OFPBMC.BAD_PREREQ);
    ok([{ field: 'eth_type', value: 0x88e7 }, { field: 'pbb_isid', value: 0xabcdef }]);
    fails([{ field: 'eth_type', value: 0x0800 }, { field: 'ipv6_exthdr', value: 1 }], OFPBMC.BAD_PREREQ);
    fails([{ field: 'eth_type', value: 0x86dd }, { field: 'ip_proto', value: 1 }, { field: 'icmpv4_type', value: 8 }], OFPBMC.BAD_PREREQ);
  });
});
