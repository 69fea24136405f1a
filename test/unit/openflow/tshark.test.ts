/*
 * A second independent decoder: Wireshark's OpenFlow 1.3 dissector. Every
 * fixture message, encoded by linc-ts, is written as one TCP segment of a
 * single stream (loopback addresses, port 6653) into a pcap file, and
 * `tshark -V` must dissect each as OpenFlow 1.3 with no malformed-packet
 * report. No traffic is sent: the pcap is a file built in memory.
 *
 * Known, explained exceptions:
 * - error_bad_action: an OFPT_ERROR carries the first 64 bytes of an 88-byte
 *   flow-mod (as the spec says); tshark dissects that data as a message and
 *   reports the truncation as malformed.
 * - mp_experimenter_reply: tshark 4.0 flags every OFPMP_EXPERIMENTER reply
 *   as malformed, even an empty one, while the identical request layout is
 *   fine and `ovs-ofctl ofp-print` decodes the reply (ofp-print.test.ts).
 *
 * Needs /usr/bin/tshark (Debian package tshark); skipped with a warning without it,
 * a failure under CI=true (test/helpers/requirements.ts).
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../../../src/openflow/codec/codec.js';
import type { OfpMessage } from '../../../src/openflow/codec/v13/message.js';
import { fixtureNames, readJsonFixture } from './fixtures.js';
import { missing, tool } from '../../helpers/requirements.js';

const TSHARK = '/usr/bin/tshark';

const MALFORMED_ALLOWED = new Set(['error_bad_action', 'mp_experimenter_reply']);

/** A pcap (Ethernet link type) holding each payload as the next segment of one TCP stream from port 6653. */
function pcapOf(payloads: Buffer[]): Buffer {
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65535, 16);
  global.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  const parts = [global];
  let seq = 1;
  payloads.forEach((p, i) => {
    const eth = Buffer.alloc(14);
    eth.writeUInt16BE(0x0800, 12);
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(40 + p.length, 2);
    ip[8] = 64;
    ip[9] = 6;
    ip.writeUInt32BE(0x7f000001, 12);
    ip.writeUInt32BE(0x7f000001, 16);
    let sum = 0;
    for (let k = 0; k < 20; k += 2) sum += ip.readUInt16BE(k);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    ip.writeUInt16BE(~sum & 0xffff, 10);
    const tcp = Buffer.alloc(20);
    tcp.writeUInt16BE(6653, 0);
    tcp.writeUInt16BE(40000, 2);
    tcp.writeUInt32BE(seq, 4);
    tcp.writeUInt32BE(1, 8);
    tcp[12] = 0x50;
    tcp[13] = 0x18; // PSH ACK
    tcp.writeUInt16BE(65535, 14);
    seq += p.length;
    const frame = Buffer.concat([eth, ip, tcp, p]);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(i + 1, 0);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    parts.push(rec, frame);
  });
  return Buffer.concat(parts);
}

describe.skipIf(missing(tool(TSHARK)))("tshark's OpenFlow dissector reads what linc-ts encodes", () => {
  it('dissects every fixture message as OpenFlow 1.3 without a malformed report', () => {
    const names = fixtureNames();
    const dir = mkdtempSync(join(tmpdir(), 'linc-of13-'));
    try {
      const file = join(dir, 'of13.pcap');
      writeFileSync(file, pcapOf(names.map((n) => encodeMessage(readJsonFixture(n) as OfpMessage))));
      const text = execFileSync(TSHARK, ['-r', file, '-V', '-o', 'tcp.check_checksum:FALSE'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        maxBuffer: 64 * 1024 * 1024,
      });
      const frames = text.split(/^Frame \d+: /m).slice(1);
      expect(frames.length).toBe(names.length);
      frames.forEach((f, i) => {
        expect(f, names[i]).toMatch(/^OpenFlow 1\.3$/m);
        if (!MALFORMED_ALLOWED.has(names[i])) expect(f, names[i]).not.toMatch(/Malformed/);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
