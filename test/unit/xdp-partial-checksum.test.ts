/*
 * markPartialChecksums (src/ports/xdp-io.ts): frames an AF_XDP socket
 * received from a veth peer with tx offloads on carry only the pseudo-header
 * sum in their TCP/UDP checksum; the port marks them NEEDS_CSUM in the vnet
 * header bytes, and completeChecksum then writes the checksum the frame
 * would have had. Complete frames, other protocols, fragments and frames
 * with offload flags already set are left alone.
 */

import { describe, expect, it } from 'vitest';
import { completeChecksum, internetChecksum } from '../../src/packet/checksum.js';
import { PacketPool } from '../../src/packet/pool.js';
import { VNET_CSUM_OFFSET, VNET_CSUM_START, VNET_F_NEEDS_CSUM, VNET_FLAGS, VNET_HDR_LEN } from '../../src/packet/vnet.js';
import { markPartialChecksums } from '../../src/ports/xdp-io.js';
import { BCAST, ethFrame, ipv4Udp, udpPseudo } from '../helpers/frames.js';

const pool = new PacketPool({ slots: 64 });

/** Put `frame` into a fresh slot with a zero vnet header (as the xdp rx does); the slot. */
function load(frame: Uint8Array): Int32Array {
  const slots = new Int32Array(1);
  expect(pool.allocBurst(slots, 1)).toBe(1);
  const off = pool.dataOff[slots[0]];
  pool.bytes.fill(0, off - VNET_HDR_LEN, off);
  pool.bytes.set(frame, off);
  pool.len[slots[0]] = frame.length;
  return slots;
}
const vnet = (slot: number, at: number) => pool.bytes[pool.dataOff[slot] - VNET_HDR_LEN + at];
const bytesOf = (slot: number) => pool.bytes.slice(pool.dataOff[slot], pool.dataOff[slot] + pool.len[slot]);

/** A UDP frame (optionally tagged) whose checksum field holds the pseudo-header sum only, and the complete one. */
function partialUdp(vlan?: number): { partial: Uint8Array; complete: Uint8Array } {
  const ip = ipv4Udp('10.0.0.1', '10.0.0.2', 4000, 5000, new Uint8Array(100).map((_, i) => i * 7));
  const complete = ethFrame(BCAST, '02:00:00:00:00:01', 0x0800, ip, vlan);
  const partial = complete.slice();
  const at = complete.length - ip.length + 26;
  const seed = udpPseudo(ip);
  partial[at] = seed >> 8;
  partial[at + 1] = seed & 0xff;
  return { partial, complete };
}

describe('markPartialChecksums', () => {
  for (const vlan of [undefined, 10]) {
    it(`marks a partial UDP checksum NEEDS_CSUM${vlan === undefined ? '' : ' behind a VLAN tag'}, and completing it gives the real checksum`, () => {
      const { partial, complete } = partialUdp(vlan);
      const slots = load(partial);
      markPartialChecksums(pool, slots, 1);
      const l4 = 14 + (vlan === undefined ? 0 : 4) + 20;
      expect(vnet(slots[0], VNET_FLAGS)).toBe(VNET_F_NEEDS_CSUM);
      expect(vnet(slots[0], VNET_CSUM_START) | (vnet(slots[0], VNET_CSUM_START + 1) << 8)).toBe(l4);
      expect(vnet(slots[0], VNET_CSUM_OFFSET)).toBe(6);
      expect(completeChecksum(pool, slots[0])).toBe(true);
      expect(bytesOf(slots[0])).toEqual(complete);
      pool.releaseBurst(slots, 0, 1);
    });
  }

  it('leaves a complete frame, a fragment and a frame already flagged alone', () => {
    const { partial, complete } = partialUdp();
    const fragment = partial.slice();
    fragment[14 + 6] |= 0x20; // more fragments
    for (const frame of [complete, fragment]) {
      const slots = load(frame);
      markPartialChecksums(pool, slots, 1);
      expect(vnet(slots[0], VNET_FLAGS)).toBe(0);
      pool.releaseBurst(slots, 0, 1);
    }
    const slots = load(partial);
    pool.bytes[pool.dataOff[slots[0]] - VNET_HDR_LEN + VNET_FLAGS] = 2; // DATA_VALID from the kernel
    markPartialChecksums(pool, slots, 1);
    expect(vnet(slots[0], VNET_FLAGS)).toBe(2);
    pool.releaseBurst(slots, 0, 1);
  });

  it('a complete frame whose checksum equals its pseudo-header sum is completed to the same bytes', () => {
    // Find a payload whose real UDP checksum equals the pseudo-header sum (one in ~65536: search the last two bytes).
    let found: Uint8Array | undefined;
    for (let x = 0; x < 0x10000 && found === undefined; x++) {
      const ip = ipv4Udp('10.0.0.1', '10.0.0.2', 4000, 5000, Uint8Array.of(1, 2, 3, 4, x >> 8, x & 0xff));
      if (((ip[26] << 8) | ip[27]) === udpPseudo(ip)) found = ethFrame(BCAST, '02:00:00:00:00:01', 0x0800, ip);
    }
    expect(found).toBeDefined();
    const slots = load(found!);
    markPartialChecksums(pool, slots, 1);
    expect(vnet(slots[0], VNET_FLAGS)).toBe(VNET_F_NEEDS_CSUM);
    completeChecksum(pool, slots[0]);
    expect(bytesOf(slots[0])).toEqual(found);
    expect(internetChecksum(pool.bytes, pool.dataOff[slots[0]] + 34, found!.length - 34, udpPseudo(found!.subarray(14)))).toBe(0);
    pool.releaseBurst(slots, 0, 1);
  });
});
