/*
 * Fixture tests: every test/fixtures/of13/<name>.hex decodes to exactly
 * <name>.json, and <name>.json encodes to exactly the fixture bytes (the
 * first differing offset is reported). The JSON has no length fields, so the
 * byte equality also proves that encoders compute every length and pad.
 */

import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, messageSize } from '../../../src/openflow/codec/codec.js';
import { DecodeError } from '../../../src/openflow/codec/decode-error.js';
import type { OfpMessage } from '../../../src/openflow/codec/v13/message.js';
import { firstDifference, fixtureNames, readHexFixture, readJsonFixture } from './fixtures.js';

const names = fixtureNames();

describe('OpenFlow 1.3 fixtures', () => {
  it('has the fixtures the suite is built on', () => {
    expect(names.length).toBeGreaterThanOrEqual(90);
    for (const n of ['flow_add_l2', 'packet_out', 'group_add_ff', 'meter_add_two_bands', 'mp_table_features_set', 'packet_in']) {
      expect(names).toContain(n);
    }
  });

  describe.each(names)('%s', (name) => {
    const fx = readHexFixture(name);
    const expected = readJsonFixture(name) as OfpMessage;

    it('decodes to the expected object', () => {
      const r = decodeMessage(fx.bytes);
      if (r instanceof DecodeError) throw new Error(`decode failed: ${r.toString()}`);
      expect(r.ok).toEqual(expected);
    });

    it('encodes to the fixture bytes', () => {
      expect(messageSize(expected)).toBe(fx.bytes.length);
      const out = encodeMessage(expected);
      const at = firstDifference(out, fx.bytes);
      expect(at, `first difference at byte ${at}: got ${out.subarray(at, at + 8).toString('hex')}, want ${fx.bytes.subarray(at, at + 8).toString('hex')}`).toBe(-1);
    });
  });
});
