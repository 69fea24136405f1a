/*
 * Stream framing: several messages in one chunk (LINC-Switch #105), one
 * message split into 1-byte chunks, mixed splits; a header length < 8 is a
 * fatal error; buffering stays bounded; random bytes never throw.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../../src/openflow/codec/codec.js';
import { DecodeError } from '../../../src/openflow/codec/decode-error.js';
import { errorName } from '../../../src/openflow/codec/v13/enums.js';
import { MessageFramer } from '../../../src/openflow/codec/framing.js';
import { message } from './arbitraries.js';
import { readHexFixture } from './fixtures.js';

const A = readHexFixture('flow_add_l2').bytes;
const B = readHexFixture('barrier_request').bytes;
const C = readHexFixture('mp_table_features_set').bytes;

function collect(framer: MessageFramer, chunks: Uint8Array[]): { out: Buffer[]; err: DecodeError | null } {
  const out: Buffer[] = [];
  let err: DecodeError | null = null;
  for (const c of chunks) {
    err = framer.push(c, (m) => out.push(Buffer.from(m))) ?? err;
  }
  return { out, err };
}

function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    chunks.push(buf.subarray(prev, p));
    prev = p;
  }
  chunks.push(buf.subarray(prev));
  return chunks;
}

describe('MessageFramer', () => {
  it('delivers three messages from one chunk, in order, as views without copying', () => {
    const chunk = Buffer.concat([A, B, C]);
    const f = new MessageFramer();
    const seen: Buffer[] = [];
    expect(f.push(chunk, (m) => seen.push(m))).toBeNull();
    expect(seen.map((m) => m.length)).toEqual([A.length, B.length, C.length]);
    expect(seen[0].equals(A) && seen[1].equals(B) && seen[2].equals(C)).toBe(true);
    expect(seen[1].buffer).toBe(chunk.buffer); // a view into the chunk
    expect(f.buffered).toBe(0);
  });

  it('reassembles a message fed one byte at a time, delivering it once, on the last byte', () => {
    const f = new MessageFramer();
    const seen: Buffer[] = [];
    for (let i = 0; i < C.length; i++) {
      expect(f.push(C.subarray(i, i + 1), (m) => seen.push(m))).toBeNull();
      expect(seen.length).toBe(i === C.length - 1 ? 1 : 0);
      expect(f.buffered).toBe(i === C.length - 1 ? 0 : i + 1);
    }
    expect(seen[0].equals(C)).toBe(true);
    expect(decodeMessage(seen[0])).toMatchObject({ ok: { type: 'multipart_request' } });
  });

  it('handles mixed splits: a tail, whole messages, and a head in one chunk', () => {
    const stream = Buffer.concat([A, B, C, B, A]);
    const chunks = [stream.subarray(0, 5), stream.subarray(5, A.length + 3), stream.subarray(A.length + 3, A.length + B.length + 200), stream.subarray(A.length + B.length + 200)];
    const { out, err } = collect(new MessageFramer(), chunks);
    expect(err).toBeNull();
    expect(out.map((m) => m.toString('hex'))).toEqual([A, B, C, B, A].map((m) => m.toString('hex')));
  });

  it('never hands out memory it later overwrites', () => {
    const f = new MessageFramer();
    const seen: Buffer[] = [];
    const chunk1 = Buffer.from(A.subarray(0, 20));
    const chunk2 = Buffer.concat([A.subarray(20), B.subarray(0, 3)]);
    f.push(chunk1, (m) => seen.push(m));
    f.push(chunk2, (m) => seen.push(m));
    f.push(B.subarray(3), (m) => seen.push(m));
    chunk1.fill(0xee);
    chunk2.fill(0xee);
    expect(seen[0].equals(A)).toBe(true);
    expect(seen[1].equals(B)).toBe(true);
  });

  it('treats a header length < 8 as fatal and stays failed', () => {
    const f = new MessageFramer();
    const seen: Buffer[] = [];
    const badHeader = Buffer.from('0400000400000009', 'hex');
    const err = f.push(Buffer.concat([B, badHeader, B]), (m) => seen.push(m));
    expect(seen.length).toBe(1); // the message before the bad header still gets through
    expect(err).toBeInstanceOf(DecodeError);
    expect(errorName(err!.type, err!.code)).toBe('OFPET_BAD_REQUEST/OFPBRC_BAD_LEN');
    expect(f.badHeader?.toString('hex')).toBe('0400000400000009');
    expect(f.push(B, (m) => seen.push(m))).toBe(err);
    expect(seen.length).toBe(1);
    f.reset();
    expect(f.push(B, (m) => seen.push(m))).toBeNull();
    expect(seen.length).toBe(2);
  });

  it('detects a bad length in a header split across chunks', () => {
    const f = new MessageFramer();
    expect(f.push(Buffer.from('0400', 'hex'), () => {})).toBeNull();
    expect(f.push(Buffer.from('0000', 'hex'), () => {})).toBeNull();
    expect(f.push(Buffer.from('00000001', 'hex'), () => {})).toBeInstanceOf(DecodeError);
  });

  it('bounds buffering by the configured maximum message length', () => {
    const f = new MessageFramer(C.length - 1);
    expect(f.push(C.subarray(0, 100), () => {})).toBeInstanceOf(DecodeError);
    const g = new MessageFramer(C.length);
    expect(g.push(C.subarray(0, 100), () => {})).toBeNull();
    expect(g.buffered).toBe(100);
    expect(() => new MessageFramer(4)).toThrow(RangeError);
    expect(() => new MessageFramer(70000)).toThrow(RangeError);
  });

  it('delivers the same messages however the stream is cut (property)', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 }), (msgs, cuts) => {
        const encoded = msgs.map((m) => encodeMessage(m));
        const stream = Buffer.concat(encoded);
        const { out, err } = collect(new MessageFramer(), splitAt(stream, cuts));
        expect(err).toBeNull();
        expect(out.map((m) => m.toString('hex'))).toEqual(encoded.map((m) => m.toString('hex')));
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on random byte streams, and never holds more than one message', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (chunks) => {
        const f = new MessageFramer();
        for (const c of chunks) {
          const err = f.push(c, (m) => {
            expect(m.length).toBeGreaterThanOrEqual(8);
            expect(m.readUInt16BE(2)).toBe(m.length);
            decodeMessage(m);
          });
          expect(f.buffered).toBeLessThanOrEqual(0xffff);
          if (err) break;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
