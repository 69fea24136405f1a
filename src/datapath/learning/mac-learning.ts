/*
 * MAC learning table for the standalone L2 switch (OpenFlow NORMAL), in the
 * spirit of OVS lib/mac-learning.c, over typed arrays.
 *
 * What
 *   (VLAN VID 0..4095, 48-bit MAC) -> OpenFlow port number, with aging, a hard
 *   bound on the number of entries (the oldest is evicted when full), MAC
 *   moves, and flushes by port or of everything. Learning and lookup run for
 *   every frame: O(1) expected, no allocation, no strings, no Map.
 *
 *   The hot path should call `learnWords` / `lookupWords` with the MAC as the
 *   two words the flow key already holds (bytes 0..1, bytes 2..5). `learn` /
 *   `lookup` take the MAC as one 48-bit number: that number is a double, and
 *   V8 allocates a heap box for a double argument on every call it does not
 *   inline, so they only stay allocation-free when inlined or handed an
 *   already boxed value. Time: pass one `nowMs` per batch, not one per frame.
 *   From a flow key row at `b`:
 *     src: macHi = keys[b+K.EthDstLoSrcHi] & 0xffff, macLo = keys[b+K.EthSrcLo] | 0
 *     dst: macHi = keys[b+K.EthDstHi] >>> 16,
 *          macLo = (keys[b+K.EthDstHi] << 16) | (keys[b+K.EthDstLoSrcHi] >>> 16)
 *
 * Design
 *   Open addressing with linear probing over `capacity` slots (a power of two
 *   >= 2 * maxEntries, so the load factor never exceeds 1/2). A slot holds
 *     keyHi = vlan << 16 | MAC bytes 0..1     (EMPTY_KEY when the slot is free)
 *     keyLo = MAC bytes 2..5 (as int32)
 *     port (as int32), seenMs (last recorded learn/refresh), lruPrev / lruNext.
 *   Everything but seenMs is int32 so V8 keeps it in Smis and registers.
 *   The hash mixes both key words with Math.imul and a per-table random seed
 *   (OVS's ml->secret), so crafted source MACs cannot be aimed at one bucket
 *   without knowing it. Deletion is backward-shift: the entries after the hole
 *   that may live there are moved back, so there are no tombstones and probe
 *   chains stay as short as insertion made them. A moved entry keeps its LRU
 *   position (its neighbours are re-pointed at its new slot).
 *
 *   The LRU list is intrusive (Int32Array prev/next by slot, head = oldest).
 *   An entry moves to the tail only when its recorded time advances by
 *   MAC_REFRESH_GRANULARITY_MS or more; a frame from a known MAC within that
 *   window writes nothing (not even the time). The price: an entry's age
 *   counts from its last *recorded* refresh, so it may age out up to 1 s
 *   earlier than the last frame seen would suggest (OVS keeps whole seconds).
 *
 * Invariants
 * - `count` slots are occupied and exactly those are on the LRU list.
 * - seenMs is non-decreasing from head to tail (new and refreshed entries get
 *   max(nowMs, seenMs[tail]); a clock that steps back cannot break it), so
 *   the oldest entry is the head, eviction is O(1) and `expire` stops at the
 *   first live entry.
 * - An occupied slot is reachable from its home slot without crossing an
 *   empty slot (linear-probing invariant, kept by backward-shift deletion).
 * - An entry with nowMs - seenMs >= agingSec * 1000 is dead: `lookup` never
 *   returns it, even before `expire` sweeps it; `learn` on it re-learns it as
 *   new. `size` counts dead entries until they are swept, evicted or reused.
 * - Multicast/broadcast source MACs (bit 0 of the first byte) are never stored.
 *
 * Concurrency: owned by the datapath on the event loop (or its one worker);
 * not shared between threads.
 */

export const LEARN_IGNORED = 0;
export const LEARN_REFRESHED = 1;
export const LEARN_NEW = 2;
export const LEARN_MOVED = 3;

export const DEFAULT_MAC_MAX_ENTRIES = 8192;
export const DEFAULT_MAC_AGING_SEC = 300;
/** Refreshes closer than this to an entry's recorded time are not written (no LRU move). */
export const MAC_REFRESH_GRANULARITY_MS = 1000;
/** Upper bound for maxEntries (capacity 2^21 slots, about 60 MB of arrays). */
export const MAC_MAX_ENTRIES_LIMIT = 1 << 20;

/** keyHi of a free slot; a real keyHi is in 0..2^28-1 (12-bit VID << 16 | 16 MAC bits). */
const EMPTY_KEY = -1;
const NIL = -1;
const TWO_POW_32 = 4294967296;
/** Bit 0 of the MAC's first byte, as seen in the high 16 MAC bits. */
const MAC_GROUP_BIT_IN_HI = 0x0100;
const MIN_CAPACITY = 16;

export interface MacLearningOptions {
  maxEntries?: number;
  agingSec?: number;
}

export interface MacLearningEntry {
  vlan: number;
  mac: number;
  port: number;
  ageSec: number;
}

export interface MacLearningStats {
  /** Entries created (LEARN_NEW), including dead entries learned again. */
  learned: number;
  /** Known live (vlan, mac) learned on another port. */
  moved: number;
  /** Live entries pushed out to make room when full. */
  evicted: number;
  /** Dead (aged) entries that left the table: swept by expire, evicted, or reused by learn. */
  expired: number;
}

/** Slot hash of key words (hi, lo): murmur-style mix of both words, then a 32-bit finaliser. */
function hashMacKey(hi: number, lo: number, seed: number): number {
  let h = Math.imul(lo ^ seed, 0xcc9e2d51);
  h = (h << 15) | (h >>> 17);
  h = Math.imul(h ^ hi, 0x1b873593);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

export class MacLearningTable {
  readonly maxEntries: number;
  readonly stats: MacLearningStats;
  /** Number of slots (power of two). */
  readonly capacity: number;

  private readonly mask: number;
  private readonly seed: number;
  private readonly keyHi: Int32Array;
  private readonly keyLo: Int32Array;
  /** OpenFlow port numbers as int32 (read back with >>> 0). */
  private readonly portOf: Int32Array;
  private readonly seenMs: Float64Array;
  private readonly lruPrev: Int32Array;
  private readonly lruNext: Int32Array;
  private lruHead: number;
  private lruTail: number;
  private count: number;
  private agingMs: number;

  constructor(opts: MacLearningOptions = {}) {
    const maxEntries = opts.maxEntries ?? DEFAULT_MAC_MAX_ENTRIES;
    if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > MAC_MAX_ENTRIES_LIMIT) {
      throw new RangeError(`MAC table maxEntries must be an integer in 1..${MAC_MAX_ENTRIES_LIMIT}, got ${maxEntries}`);
    }
    let capacity = MIN_CAPACITY;
    while (capacity < 2 * maxEntries) capacity *= 2;
    this.maxEntries = maxEntries;
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.seed = (Math.random() * TWO_POW_32) | 0;
    this.keyHi = new Int32Array(capacity).fill(EMPTY_KEY);
    this.keyLo = new Int32Array(capacity);
    this.portOf = new Int32Array(capacity);
    this.seenMs = new Float64Array(capacity);
    this.lruPrev = new Int32Array(capacity).fill(NIL);
    this.lruNext = new Int32Array(capacity).fill(NIL);
    this.lruHead = NIL;
    this.lruTail = NIL;
    this.count = 0;
    this.agingMs = 0;
    this.stats = { learned: 0, moved: 0, evicted: 0, expired: 0 };
    this.agingSec = opts.agingSec ?? DEFAULT_MAC_AGING_SEC;
  }

  /** Idle time after which an entry is dead; may be changed at run time (applies to existing entries). */
  get agingSec(): number {
    return this.agingMs / 1000;
  }

  set agingSec(sec: number) {
    if (!Number.isFinite(sec) || sec <= 0) throw new RangeError(`MAC aging time must be a positive number of seconds, got ${sec}`);
    this.agingMs = sec * 1000;
  }

  /** Stored entries, dead ones included until they are swept, evicted or reused. */
  get size(): number {
    return this.count;
  }

  /**
   * Learn or refresh: source 'mac' (48-bit number) seen on 'vlan' (VID, masked
   * to 12 bits) from 'port' at 'nowMs' (a monotonic clock in ms). Returns
   * LEARN_NEW, LEARN_MOVED, LEARN_REFRESHED, or LEARN_IGNORED for a
   * multicast/broadcast source. O(1) expected, no allocation.
   *
   * A thin wrapper meant to be inlined by the caller's JIT: a 48-bit MAC is a
   * double, and V8 boxes a double argument (one heap allocation) on every call
   * that is not inlined; the split words passed on to learnWords are Smis.
   */
  learn(vlan: number, mac: number, port: number, nowMs: number): number {
    return this.learnWords(vlan, (mac / TWO_POW_32) & 0xffff, mac | 0, port, nowMs);
  }

  /** Port for (vlan, mac), or -1 if unknown or aged out. O(1) expected, no allocation (see learn). */
  lookup(vlan: number, mac: number, nowMs: number): number {
    return this.lookupWords(vlan, (mac / TWO_POW_32) & 0xffff, mac | 0, nowMs);
  }

  /**
   * learn() on the MAC as two words, as the flow key stores it: 'macHi' =
   * bytes 0..1 (16 bits), 'macLo' = bytes 2..5 (int32 or uint32). The datapath
   * calls this with key words so no double is ever built. Pass 'nowMs' as one
   * value read once per batch.
   */
  learnWords(vlan: number, macHi: number, macLo: number, port: number, nowMs: number): number {
    if ((macHi & MAC_GROUP_BIT_IN_HI) !== 0) return LEARN_IGNORED;
    const hi = ((vlan & 0xfff) << 16) | (macHi & 0xffff);
    const lo = macLo | 0;
    const outPort = port | 0;
    const keyHi = this.keyHi;
    const mask = this.mask;
    let i = hashMacKey(hi, lo, this.seed) & mask;
    for (;;) {
      const kh = keyHi[i];
      if (kh === EMPTY_KEY) break;
      if (kh === hi && this.keyLo[i] === lo) return this.refreshSlot(i, outPort, nowMs);
      i = (i + 1) & mask;
    }
    if (this.count >= this.maxEntries) {
      this.evictOldest(nowMs);
      // Backward shift may have filled slot i; find the free slot again.
      i = hashMacKey(hi, lo, this.seed) & mask;
      while (keyHi[i] !== EMPTY_KEY) i = (i + 1) & mask;
    }
    keyHi[i] = hi;
    this.keyLo[i] = lo;
    this.portOf[i] = outPort;
    this.appendNewest(i, nowMs);
    this.count++;
    this.stats.learned++;
    return LEARN_NEW;
  }

  /** lookup() on the MAC as two words (see learnWords). */
  lookupWords(vlan: number, macHi: number, macLo: number, nowMs: number): number {
    const hi = ((vlan & 0xfff) << 16) | (macHi & 0xffff);
    const lo = macLo | 0;
    const keyHi = this.keyHi;
    const mask = this.mask;
    let i = hashMacKey(hi, lo, this.seed) & mask;
    for (;;) {
      const kh = keyHi[i];
      if (kh === EMPTY_KEY) return -1;
      if (kh === hi && this.keyLo[i] === lo) {
        return nowMs - this.seenMs[i] < this.agingMs ? this.portOf[i] >>> 0 : -1;
      }
      i = (i + 1) & mask;
    }
  }

  /** Remove dead entries, oldest first; returns how many. For a periodic tick, not per frame. */
  expire(nowMs: number): number {
    const agingMs = this.agingMs;
    let removed = 0;
    while (this.lruHead !== NIL && nowMs - this.seenMs[this.lruHead] >= agingMs) {
      this.deleteSlot(this.lruHead);
      removed++;
    }
    this.stats.expired += removed;
    return removed;
  }

  /** Remove every entry (live or dead) that points at 'port'; returns how many. O(capacity). */
  flushPort(port: number): number {
    const target = port | 0;
    const keyHi = this.keyHi;
    const mask = this.mask;
    // Scan from a free slot: deleting at slot i only moves entries from later
    // slots (in scan order) into slots >= i, so re-examining i after a delete
    // visits every entry exactly once. A free slot exists (load <= 1/2).
    let start = 0;
    while (keyHi[start] !== EMPTY_KEY) start++;
    let i = (start + 1) & mask;
    let removed = 0;
    for (let visited = 1; visited < this.capacity; ) {
      if (keyHi[i] !== EMPTY_KEY && this.portOf[i] === target) {
        this.deleteSlot(i);
        removed++;
        continue;
      }
      i = (i + 1) & mask;
      visited++;
    }
    return removed;
  }

  /** Remove every entry. O(capacity). */
  flushAll(): void {
    this.keyHi.fill(EMPTY_KEY);
    this.lruPrev.fill(NIL);
    this.lruNext.fill(NIL);
    this.lruHead = NIL;
    this.lruTail = NIL;
    this.count = 0;
  }

  /** Slow path: live entries, oldest first, for fdb dumps and tests. */
  entries(nowMs: number): MacLearningEntry[] {
    const out: MacLearningEntry[] = [];
    for (let i = this.lruHead; i !== NIL; i = this.lruNext[i]) {
      const ageMs = nowMs - this.seenMs[i];
      if (ageMs >= this.agingMs) continue;
      const hi = this.keyHi[i];
      out.push({
        vlan: hi >>> 16,
        mac: (hi & 0xffff) * TWO_POW_32 + (this.keyLo[i] >>> 0),
        port: this.portOf[i] >>> 0,
        ageSec: ageMs > 0 ? Math.floor(ageMs / 1000) : 0,
      });
    }
    return out;
  }

  /** A known key was seen again on 'port'. */
  private refreshSlot(i: number, port: number, nowMs: number): number {
    const ageMs = nowMs - this.seenMs[i];
    if (ageMs >= this.agingMs) {
      // Dead but not yet swept: reuse the slot as a fresh entry.
      this.portOf[i] = port;
      this.moveToNewest(i, nowMs);
      this.stats.expired++;
      this.stats.learned++;
      return LEARN_NEW;
    }
    let result = LEARN_REFRESHED;
    if (this.portOf[i] !== port) {
      this.portOf[i] = port;
      this.stats.moved++;
      result = LEARN_MOVED;
    }
    if (ageMs >= MAC_REFRESH_GRANULARITY_MS) this.moveToNewest(i, nowMs);
    return result;
  }

  private evictOldest(nowMs: number): void {
    const oldest = this.lruHead;
    if (nowMs - this.seenMs[oldest] >= this.agingMs) this.stats.expired++;
    else this.stats.evicted++;
    this.deleteSlot(oldest);
  }

  /** Link unlinked slot 'i' as the newest entry, stamped max(nowMs, newest stamp). */
  private appendNewest(i: number, nowMs: number): void {
    const tail = this.lruTail;
    if (tail === NIL) {
      this.lruHead = i;
      this.seenMs[i] = nowMs;
    } else {
      this.lruNext[tail] = i;
      const tailSeen = this.seenMs[tail];
      this.seenMs[i] = tailSeen > nowMs ? tailSeen : nowMs;
    }
    this.lruPrev[i] = tail;
    this.lruNext[i] = NIL;
    this.lruTail = i;
  }

  private moveToNewest(i: number, nowMs: number): void {
    if (i === this.lruTail) {
      if (nowMs > this.seenMs[i]) this.seenMs[i] = nowMs;
      return;
    }
    this.unlink(i);
    this.appendNewest(i, nowMs);
  }

  private unlink(i: number): void {
    const prev = this.lruPrev[i];
    const next = this.lruNext[i];
    if (prev !== NIL) this.lruNext[prev] = next;
    else this.lruHead = next;
    if (next !== NIL) this.lruPrev[next] = prev;
    else this.lruTail = prev;
  }

  /** Free occupied slot 'hole' by backward-shift deletion. */
  private deleteSlot(hole: number): void {
    this.unlink(hole);
    const keyHi = this.keyHi;
    const keyLo = this.keyLo;
    const mask = this.mask;
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const kh = keyHi[j];
      if (kh === EMPTY_KEY) break;
      const home = hashMacKey(kh, keyLo[j], this.seed) & mask;
      // The entry at j may fill the hole iff the hole lies on its probe path home..j.
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        this.moveSlot(j, hole);
        hole = j;
      }
    }
    keyHi[hole] = EMPTY_KEY;
    this.count--;
  }

  /** Move the linked entry in slot 'from' into free slot 'to', keeping its LRU position. */
  private moveSlot(from: number, to: number): void {
    this.keyHi[to] = this.keyHi[from];
    this.keyLo[to] = this.keyLo[from];
    this.portOf[to] = this.portOf[from];
    this.seenMs[to] = this.seenMs[from];
    const prev = this.lruPrev[from];
    const next = this.lruNext[from];
    this.lruPrev[to] = prev;
    this.lruNext[to] = next;
    if (prev !== NIL) this.lruNext[prev] = to;
    else this.lruHead = to;
    if (next !== NIL) this.lruPrev[next] = to;
    else this.lruTail = to;
  }
}
