/*
 * Property tests (fast-check): random valid messages survive
 * encode -> decode unchanged and re-encode to the same bytes; random,
 * truncated and mutated bytes never make decodeMessage throw, and every
 * failure is a DecodeError naming a real OFPT_ERROR type.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, messageSize } from '../../../src/openflow/codec/codec.js';
import { DecodeError } from '../../../src/openflow/codec/decode-error.js';
import { OFPET } from '../../../src/openflow/codec/v13/enums.js';
import { errorFor } from '../../../src/openflow/codec/v13/msg/error.js';
import { message } from './arbitraries.js';
import { fixtureNames, readHexFixture } from './fixtures.js';

const ERROR_TYPES = new Set<number>(Object.values(OFPET));
const fixtures = fixtureNames().map((n) => readHexFixture(n).bytes);

/** decodeMessage must return, never throw; a failure must name a real error type; a success must re-encode. */
function checkTotal(bytes: Uint8Array): void {
  const r = decodeMessage(bytes);
  if (r instanceof DecodeError) {
    expect(ERROR_TYPES.has(r.type)).toBe(true);
    expect(r.offset).toBeGreaterThanOrEqual(0);
    const reply = errorFor(r, bytes);
    expect(reply.data.length).toBe(Math.min(64, bytes.length));
  } else {
    expect(r.ok.type).toBeTypeOf('string');
    encodeMessage(r.ok);
  }
}

describe('round trip', () => {
  it('decode(encode(m)) deep-equals m, and re-encoding gives the same bytes', () => {
    fc.assert(
      fc.property(message, (m) => {
        const size = messageSize(m);
        fc.pre(size <= 0xffff);
        const bytes = encodeMessage(m);
        expect(bytes.length).toBe(size);
        expect(bytes.readUInt16BE(2)).toBe(size);
        const r = decodeMessage(bytes);
        if (r instanceof DecodeError) throw new Error(`${m.type}: ${r.toString()}`);
        expect(r.ok).toEqual(m);
        expect(encodeMessage(r.ok).equals(bytes)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('decodeMessage is total', () => {
  it('never throws on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => checkTotal(b)), { numRuns: 3000 });
  });

  it('never throws on random bodies behind a plausible header', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 31 }), fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 0xffffffff }), (type, body, x) => {
        const b = Buffer.alloc(8 + body.length);
        b[0] = 4;
        b[1] = type;
        b.writeUInt16BE(b.length, 2);
        b.writeUInt32BE(x, 4);
        b.set(body, 8);
        checkTotal(b);
      }),
      { numRuns: 5000 },
    );
  });

  it('never throws on mutated or truncated fixtures', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: fixtures.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        fc.nat(),
        (i, flips, truncate, cut) => {
          const b = Buffer.from(fixtures[i]);
          for (const [at, v] of flips) b[at % b.length] = v;
          if (truncate) {
            const n = cut % (b.length + 1);
            const t = b.subarray(0, n);
            if (n >= 4) t.writeUInt16BE(Math.max(n, 0), 2); // keep the header honest so the body decoders run
            checkTotal(t);
          } else {
            checkTotal(b);
          }
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('never throws on random valid messages with one length field bumped', () => {
    fc.assert(
      fc.property(message, fc.nat(), fc.integer({ min: -16, max: 16 }), (m, at, delta) => {
        const b = encodeMessage(m);
        fc.pre(b.length >= 10);
        const o = 8 + (at % (b.length - 9));
        b.writeUInt16BE((b.readUInt16BE(o) + delta) & 0xffff, o);
        checkTotal(b);
      }),
      { numRuns: 3000 },
    );
  });
});
