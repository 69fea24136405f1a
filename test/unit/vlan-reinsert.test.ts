import { describe, expect, it } from 'vitest';
import { PacketPool } from '../../src/packet/pool.js';
import { VNET_F_NEEDS_CSUM, VNET_HDR_LEN } from '../../src/packet/vnet.js';
import { RX_TCI_PRESENT, RX_TCI_TPID_8021AD } from '../../src/ports/native-layout.js';
import { reinsertVlanTag } from '../../src/ports/packet-port.js';
import { udpFrame } from '../helpers/frames.js';

/** A slot as receive() leaves it: frame at dataOff, `vnet` (or zeros) before it, garbage further back. */
function received(pool: PacketPool, frame: Uint8Array, vnet: Uint8Array): number {
  const slot = pool.alloc();
  const off = pool.dataOff[slot];
  pool.bytes.fill(0xee, off - pool.headroom, off);
  pool.bytes.set(vnet, off - VNET_HDR_LEN);
  pool.bytes.set(frame, off);
  pool.len[slot] = frame.length;
  return slot;
}

describe('reinsertVlanTag', () => {
  const frame = udpFrame('02:00:00:00:00:0b', '02:00:00:00:00:0a', { size: 100 });
  const tagged = (tpid: number, tci: number) => {
    const f = new Uint8Array(frame.length + 4);
    f.set(frame.subarray(0, 12), 0);
    f.set([tpid >> 8, tpid & 0xff, tci >> 8, tci & 0xff], 12);
    f.set(frame.subarray(12), 16);
    return f;
  };

  it('puts the tag back and keeps zero offload state in front of the frame when the port has no vnet header', () => {
    const pool = new PacketPool({ slots: 64 });
    const slot = received(pool, frame, new Uint8Array(VNET_HDR_LEN));
    reinsertVlanTag(pool, slot, RX_TCI_PRESENT | 0x2007, 0);
    expect(pool.copyOut(slot)).toEqual(tagged(0x8100, 0x2007));
    const off = pool.dataOff[slot];
    expect(pool.bytes.subarray(off - VNET_HDR_LEN, off)).toEqual(new Uint8Array(VNET_HDR_LEN));
  });

  it('moves the vnet header with the frame and shifts csum_start past the tag', () => {
    const pool = new PacketPool({ slots: 64 });
    const vnet = new Uint8Array(VNET_HDR_LEN);
    vnet[0] = VNET_F_NEEDS_CSUM;
    vnet[6] = 34; // csum_start: the UDP header of the untagged frame
    vnet[8] = 6;
    const slot = received(pool, frame, vnet);
    reinsertVlanTag(pool, slot, RX_TCI_PRESENT | RX_TCI_TPID_8021AD | 0x0064, VNET_HDR_LEN);
    expect(pool.copyOut(slot)).toEqual(tagged(0x88a8, 0x0064));
    const v = pool.bytes.subarray(pool.dataOff[slot] - VNET_HDR_LEN, pool.dataOff[slot]);
    expect([v[0], v[6], v[8]]).toEqual([VNET_F_NEEDS_CSUM, 38, 6]);
  });
});
