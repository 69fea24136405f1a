/*
 * PacketPool: every frame the switch holds lives in one slot of one
 * preallocated ArrayBuffer (Snabb's packet freelist, OVS's dp_packet).
 *
 *   slot i:  [ headroom ........ | vnet hdr (10) | frame bytes ...... | spare ]
 *            ^ i * slotSize                      ^ dataOff[i]          len[i]
 *
 * Invariants
 * - A slot index is in exactly one place: the free stack, or held by one owner
 *   (an rx burst in flight, a port's in-memory queue, a pending packet-out).
 * - dataOff[i] is the absolute byte offset of the frame's first byte (the
 *   Ethernet destination) in `bytes`; the VNET_HDR_LEN bytes before it hold
 *   the frame's virtio_net_hdr. Pushing a tag moves dataOff back (headroom),
 *   popping one moves it forward; `alloc` resets it to the slot's default.
 * - len[i] counts frame bytes only, never the vnet header.
 * - Nothing here allocates after construction: alloc/free are stack ops on an
 *   Int32Array.
 */

import { VNET_HDR_LEN } from './vnet.js';

/** Bytes before the frame: the vnet header plus room to push VLAN/MPLS tags in place. */
const DEFAULT_HEADROOM = 128;
/** Largest standard frame: 1500 MTU + Ethernet header + two VLAN tags + FCS-free spare. */
export const STANDARD_FRAME_CAPACITY = 1536;
/** Largest GSO super-frame a TAP or packet socket hands over (64 KiB IP packet + L2 headers). */
export const GSO_FRAME_CAPACITY = 65536 + 512;
const DEFAULT_POOL_SLOTS = 1024;

export interface PacketPoolOptions {
  /** Number of slots (default 1024). */
  slots?: number;
  /** Largest frame a slot holds, headroom excluded. */
  frameCapacity?: number;
  headroom?: number;
}

export class PacketPool {
  readonly slots: number;
  readonly slotSize: number;
  readonly headroom: number;
  /** Largest frame (without vnet header) a slot can receive. */
  readonly frameCapacity: number;
  readonly buffer: ArrayBuffer;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** Absolute offset of each slot's frame in `bytes`. */
  readonly dataOff: Uint32Array;
  /** Frame length in bytes of each slot. */
  readonly len: Uint32Array;
  /** OpenFlow port number the frame came in on. */
  readonly inPort: Uint32Array;
  private readonly freeStack: Int32Array;
  private nFree: number;

  constructor(opts: PacketPoolOptions = {}) {
    const slots = opts.slots ?? DEFAULT_POOL_SLOTS;
    const headroom = opts.headroom ?? DEFAULT_HEADROOM;
    const frameCapacity = opts.frameCapacity ?? STANDARD_FRAME_CAPACITY;
    if (!Number.isInteger(slots) || slots < 64) throw new RangeError(`pool slots must be an integer >= 64, got ${slots}`);
    if (headroom < VNET_HDR_LEN + 32) throw new RangeError(`pool headroom must be >= ${VNET_HDR_LEN + 32}`);
    if (!Number.isInteger(frameCapacity) || frameCapacity < 64 || frameCapacity > GSO_FRAME_CAPACITY) {
      throw new RangeError(`frame capacity must be an integer in 64..${GSO_FRAME_CAPACITY}, got ${frameCapacity}`);
    }
    this.slots = slots;
    this.headroom = headroom;
    this.frameCapacity = frameCapacity;
    // Round the stride up to 64 bytes (a cache line) and add one line so that
    // large power-of-two strides do not alias in the cache.
    this.slotSize = (Math.ceil((headroom + frameCapacity) / 64) + 1) * 64;
    this.buffer = new ArrayBuffer(this.slotSize * slots);
    this.bytes = new Uint8Array(this.buffer);
    this.view = new DataView(this.buffer);
    this.dataOff = new Uint32Array(slots);
    this.len = new Uint32Array(slots);
    this.inPort = new Uint32Array(slots);
    this.freeStack = new Int32Array(slots);
    // Lowest slots on top, so a lightly used switch touches few pages.
    for (let i = 0; i < slots; i++) this.freeStack[i] = slots - 1 - i;
    this.nFree = slots;
    for (let i = 0; i < slots; i++) this.dataOff[i] = i * this.slotSize + headroom;
  }

  get free(): number {
    return this.nFree;
  }

  get inUse(): number {
    return this.slots - this.nFree;
  }

  /** Take one slot; -1 when the pool is empty. */
  alloc(): number {
    if (this.nFree === 0) return -1;
    const slot = this.freeStack[--this.nFree];
    this.dataOff[slot] = slot * this.slotSize + this.headroom;
    this.len[slot] = 0;
    return slot;
  }

  /** Take up to `n` slots into out[0..); returns how many were taken. */
  allocBurst(out: Int32Array, n: number): number {
    const take = n < this.nFree ? n : this.nFree;
    const stride = this.slotSize;
    const head = this.headroom;
    for (let i = 0; i < take; i++) {
      const slot = this.freeStack[--this.nFree];
      this.dataOff[slot] = slot * stride + head;
      this.len[slot] = 0;
      out[i] = slot;
    }
    return take;
  }

  /** Give one slot back. */
  release(slot: number): void {
    this.freeStack[this.nFree++] = slot;
  }

  /** Give slots idx[from..to) back. */
  releaseBurst(idx: Int32Array, from: number, to: number): void {
    for (let i = from; i < to; i++) this.freeStack[this.nFree++] = idx[i];
  }

  /** Start of the slot's vnet header in `bytes`. */
  vnetOff(slot: number): number {
    return this.dataOff[slot] - VNET_HDR_LEN;
  }

  /** Copy `frame` into a slot (slow path and tests); clears the vnet header. */
  write(slot: number, frame: Uint8Array): void {
    if (frame.length > this.frameCapacity) throw new RangeError(`frame of ${frame.length} bytes exceeds slot capacity ${this.frameCapacity}`);
    const off = this.dataOff[slot];
    this.bytes.fill(0, off - VNET_HDR_LEN, off);
    this.bytes.set(frame, off);
    this.len[slot] = frame.length;
  }

  /** A copy of the slot's frame bytes (slow path and tests only). */
  copyOut(slot: number): Uint8Array {
    const off = this.dataOff[slot];
    return this.bytes.slice(off, off + this.len[slot]);
  }

  /** A view of the slot's frame bytes (slow path and tests only: it allocates a view). */
  frame(slot: number): Uint8Array {
    const off = this.dataOff[slot];
    return this.bytes.subarray(off, off + this.len[slot]);
  }
}
