/*
 * Datapath: owns the packet pool, the ports' tx queues and the path of one
 * batch (DESIGN.md):
 *
 *   wakeup -> rxBurst -> parseBurst -> pipeline.processBurst -> flush -> free
 *
 * A pipeline (the standalone learning switch, or the rule pipeline a control
 * plane programs) decides per frame and calls output()/flood(); frames are
 * never copied, only their slot index is queued on each egress port.
 *
 * Ownership: the burst owns its slots from allocBurst until the end of the
 * wakeup round; tx queues only borrow them for that round (flush() runs
 * before the slots go back to the pool), so one slot may sit on several
 * queues (flooding) without reference counts.
 *
 * Copy-on-write (the rule pipeline edits frames between outputs): once a
 * slot is queued for tx, `frozen[slot]` is set and its bytes must not change
 * again this round; a pipeline that wants to edit it takes a copy with
 * cloneSlot() and goes on with the copy. Clones belong to the round too and
 * go back to the pool after the flush (finishRound()).
 *
 * Invariants
 * - A port's tx queue holds at most `burst` entries; a frame queued on a full
 *   queue first sends what the queue holds (an early kick), so frames output
 *   several times per round are never lost to queue space.
 * - Every frame received is, by the end of its round, either sent or counted
 *   in exactly one drop counter (per egress port) or FwdDropped.
 * - frozen[s] is meaningful only for slots of the current round: it is
 *   cleared when a slot enters a round (rx, clone, pipeline injection).
 * - Nothing in onReadable .. flush allocates.
 *
 * The ports themselves (by number, in a dense list), the listeners told when
 * they come and go, and their link state are the port table's (port-table.ts,
 * the base class).
 */

import { ERRNO_EAGAIN, ERRNO_ENOBUFS } from '../ports/native-layout.js';
import { MAX_BURST, type LinkInfo, type Port } from '../ports/port.js';
import { PortCounters, PortStat, histBucket } from './port-counters.js';
import { completeChecksum, needsSctpChecksum } from '../packet/checksum.js';
import { ParsedBatch, parseBurst } from './parse/parse.js';
import { PacketPool } from '../packet/pool.js';
import type { PortVlan } from './learning/vlan.js';
import { VNET_F_NEEDS_CSUM, VNET_GSO_NONE, VNET_GSO_TYPE, VNET_HDR_LEN } from '../packet/vnet.js';
import { RxModeration, type RxModerationOptions } from './rx-moderation.js';
import { PortTable, readLink } from './port-table.js';

export const DEFAULT_BURST = 32;
/**
 * rxBurst rounds per wakeup before yielding to the event loop (other ports,
 * timers, controllers): a port's budget is roundsPerWakeup x burst frames
 * (128 by default) per wakeup. Fair service under overload rests on it:
 * every port has its own fd and readiness handle, and one event-loop turn
 * runs the wakeup of every ready port, so a port that never runs dry costs
 * each other port at most one budget of work per turn; what it cannot be
 * served stays in, or is dropped (and counted, RxDropKernel) by, its own
 * kernel queue, never another port's.
 */
export const DEFAULT_ROUNDS_PER_WAKEUP = 4;
/** Busy-poll: passes over every port per event-loop turn before yielding (controllers, scrapes, timers). */
export const BUSY_POLL_PASSES = 16;

/** What decides where frames go: the standalone learning switch, or the rule pipeline. */
export interface Pipeline {
  /** Rows 0..n of `parsed` describe slots[0..n) received on `inPort`. Call dp.output / dp.flood for each frame to forward. */
  processBurst(dp: Datapath, inPort: DpPort, slots: Int32Array, parsed: ParsedBatch, n: number, nowMs: number): void;
  /** Periodic housekeeping (aging); called about once a second. */
  tick(nowMs: number): void;
  /** A port left the datapath. */
  portRemoved(ofPort: number): void;
}

/** A port as the datapath holds it: the driver, its counters and its tx queue for the current round. */
export class DpPort {
  readonly port: Port;
  readonly ofPort: number;
  readonly counters = new PortCounters();
  readonly txq: Int32Array;
  txn = 0;
  /** Position in Datapath.portList (dense, changes when ports are removed). */
  index = -1;
  /** Forwarding allowed (port-mod and link state may clear it). */
  forwarding = true;
  /** Frames received on this port go to the pipeline (OpenFlow OFPPC_NO_RECV clears it). */
  rxEnabled = true;
  /** Frames may be sent on this port (OpenFlow OFPPC_NO_FWD clears it). */
  txEnabled = true;
  /** On the datapath's dirty list this round (its queue may have been kicked early). */
  dirty = false;
  /** VLAN membership in the learning switch (NORMAL; set with NormalSwitch.setPortVlan); null: every VLAN, frames keep their tags. */
  vlan: PortVlan | null = null;
  /** The link state as last read (added, or the last tick that saw it change). */
  link: LinkInfo;

  constructor(port: Port, burst: number) {
    this.port = port;
    this.ofPort = port.ofPort;
    this.txq = new Int32Array(burst);
    this.link = readLink(port);
  }

  /**
   * Add what the port counts outside the datapath since the last read: the frames the kernel
   * dropped for it to RxDropKernel, its tx ring's timer kicks to TxKickRetries (slow path: ticks, llstat, scrapes).
   */
  syncPortCounts(): void {
    const n = this.port.readKernelDrops?.() ?? 0;
    if (n > 0) this.counters.c[PortStat.RxDropKernel] += n;
    const k = this.port.readTxKickRetries?.() ?? 0;
    if (k > 0) this.counters.c[PortStat.TxKickRetries] += k;
  }
}

export interface DatapathOptions {
  pool?: PacketPool;
  burst?: number;
  roundsPerWakeup?: number;
  /**
   * Never sleep: poll every port's rxBurst in a loop that yields to the event
   * loop every BUSY_POLL_PASSES passes (a DPDK-style PMD on the main thread).
   * Costs a core; saves the wakeup latency of a sleeping process.
   */
  busyPoll?: boolean;
  /**
   * Receive moderation (rx-moderation.ts): after a wakeup that found frames,
   * keep polling every port for a fixed (rxUsecs) or adaptive window before
   * sleeping again. Ignored with busyPoll.
   */
  rxModeration?: RxModerationOptions;
  /** The moderation window's clock, ms (tests); performance.now by default. */
  clock?: () => number;
}

export class Datapath extends PortTable<DpPort> {
  readonly pool: PacketPool;
  readonly burst: number;
  readonly roundsPerWakeup: number;
  readonly busyPoll: boolean;
  private spinning: ReturnType<typeof setImmediate> | null = null;
  /** Receive moderation, or null (busy-poll, or no window asked for). */
  readonly rxModeration: RxModeration | null;
  private windowPass: ReturnType<typeof setImmediate> | null = null;
  pipeline: Pipeline | null = null;
  private readonly rxSlots: Int32Array;
  private readonly parsed: ParsedBatch;
  private readonly dirty: DpPort[] = [];
  private nDirty = 0;
  /** Per slot: queued for tx this round, bytes must not change (see copy-on-write above). */
  readonly frozen: Uint8Array;
  /** Slots cloned this round, given back by finishRound(). */
  private readonly clones: Int32Array;
  private nClones = 0;

  constructor(opts: DatapathOptions = {}) {
    super();
    const burst = opts.burst ?? DEFAULT_BURST;
    if (!Number.isInteger(burst) || burst < 1 || burst > MAX_BURST) throw new RangeError(`burst must be an integer in 1..${MAX_BURST}, got ${burst}`);
    this.burst = burst;
    this.roundsPerWakeup = opts.roundsPerWakeup ?? DEFAULT_ROUNDS_PER_WAKEUP;
    this.busyPoll = opts.busyPoll ?? false;
    const moderation = new RxModeration(opts.rxModeration ?? {}, opts.clock);
    this.rxModeration = !this.busyPoll && moderation.enabled ? moderation : null;
    this.pool = opts.pool ?? new PacketPool();
    if (this.pool.slots < burst * 2) throw new RangeError(`pool of ${this.pool.slots} slots is too small for burst ${burst}`);
    this.rxSlots = new Int32Array(burst);
    this.parsed = new ParsedBatch(burst);
    this.frozen = new Uint8Array(this.pool.slots);
    this.clones = new Int32Array(this.pool.slots);
  }

  /** Add a port and start polling it. Its OpenFlow number must be unique. */
  addPort(port: Port): DpPort {
    if (this.byNo.has(port.ofPort)) throw new Error(`port number ${port.ofPort} is already used by ${this.byNo.get(port.ofPort)!.port.name}`);
    const dp = new DpPort(port, this.burst);
    dp.index = this.portList.length;
    this.portList.push(dp);
    this.byNo.set(port.ofPort, dp);
    this.dirty.push(dp); // grow the dirty list's backing store once per port, never in the hot path
    this.dirty.length = this.portList.length;
    if (this.busyPoll) this.startSpinning();
    else port.start(() => this.pollPort(dp));
    for (const fn of this.addedListeners) fn(dp);
    return dp;
  }

  /** Stop polling and forget a port (the caller closes it). */
  removePort(ofPort: number): DpPort | undefined {
    const dp = this.byNo.get(ofPort);
    if (!dp) return undefined;
    dp.syncPortCounts();
    dp.port.stop();
    this.byNo.delete(ofPort);
    this.portList.splice(dp.index, 1);
    for (let i = 0; i < this.portList.length; i++) this.portList[i].index = i;
    this.dirty.length = this.portList.length;
    this.pipeline?.portRemoved(ofPort);
    for (const fn of this.removedListeners) fn(dp);
    return dp;
  }

  private startSpinning(): void {
    if (this.spinning !== null) return;
    const spin = () => {
      const list = this.portList;
      for (let pass = 0; pass < BUSY_POLL_PASSES; pass++) {
        for (let i = 0; i < list.length; i++) this.pollPort(list[i], true);
      }
      this.spinning = setImmediate(spin);
    };
    this.spinning = setImmediate(spin);
  }

  /**
   * A moderation window: one pass over every port (the same budget each, as
   * a wakeup) per event-loop turn, so the OpenFlow channel, timers and the
   * ports' own wakeups are served in between, until the window closes.
   */
  private startWindow(): void {
    const moderation = this.rxModeration!;
    const pass = () => {
      const list = this.portList;
      let found = 0;
      for (let i = 0; i < list.length; i++) found += this.pollPort(list[i], true);
      this.windowPass = moderation.polled(found) ? setImmediate(pass) : null;
    };
    this.windowPass = setImmediate(pass);
  }

  /**
   * One wakeup of a port: drain up to roundsPerWakeup bursts. Exposed so that
   * tests and benchmarks can drive the datapath synchronously. A busy-poll
   * or moderation pass that finds nothing is not counted as a wakeup but as
   * an empty poll.
   */
  pollPort(dp: DpPort, polled = false): number {
    const c = dp.counters.c;
    const pool = this.pool;
    const slots = this.rxSlots;
    const burst = this.burst;
    const now = performance.now();
    let total = 0;
    if (!polled) c[PortStat.RxWakeups] += 1;
    for (let round = 0; round < this.roundsPerWakeup; round++) {
      const n = pool.allocBurst(slots, burst);
      if (n === 0) {
        c[PortStat.RxDropNoSlot] += 1;
        break;
      }
      const got = dp.port.rxBurst(pool, slots, n);
      if (got <= 0) {
        pool.releaseBurst(slots, 0, n);
        if (got < 0) c[PortStat.RxErrors] += 1;
        break;
      }
      if (got < n) pool.releaseBurst(slots, got, n);
      this.processRound(dp, got, now);
      total += got;
      if (got < n) break;
    }
    if (total > 0) {
      if (polled) c[PortStat.RxWakeups] += 1;
      if (total < c[PortStat.RxWakeupFramesMin]) c[PortStat.RxWakeupFramesMin] = total;
      if (total > c[PortStat.RxWakeupFramesMax]) c[PortStat.RxWakeupFramesMax] = total;
      dp.counters.rxWakeupHist[histBucket(total)] += 1;
      if (!polled && this.rxModeration !== null && this.rxModeration.wakeupFound()) this.startWindow();
    } else if (polled) {
      c[PortStat.RxEmptyPolls] += 1;
    }
    return total;
  }

  private processRound(dp: DpPort, n: number, now: number): void {
    const pool = this.pool;
    const slots = this.rxSlots;
    const c = dp.counters.c;
    const ofPort = dp.ofPort;
    let bytes = 0;
    const frozen = this.frozen;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      pool.inPort[s] = ofPort;
      frozen[s] = 0;
      bytes += pool.len[s];
    }
    c[PortStat.RxBursts] += 1;
    c[PortStat.RxFrames] += n;
    c[PortStat.RxBytes] += bytes;
    c[PortStat.RxMalformed] += parseBurst(pool, slots, n, this.parsed);
    if (dp.forwarding && dp.rxEnabled && this.pipeline !== null) {
      this.pipeline.processBurst(this, dp, slots, this.parsed, n, now);
    } else {
      c[PortStat.FwdDropped] += n;
    }
    this.finishRound();
    pool.releaseBurst(slots, 0, n);
    c[PortStat.SlotsFreed] += n;
  }

  /** Queue frame `slot` for transmission on `out` in this round. */
  output(slot: number, out: DpPort): void {
    const pool = this.pool;
    const port = out.port;
    if (!out.forwarding || !out.txEnabled) {
      out.counters.c[PortStat.FwdDropped] += 1;
      return;
    }
    if (!port.vnetHdr) {
      // The egress port cannot carry offload state: finish it here or drop.
      const v = pool.dataOff[slot] - VNET_HDR_LEN;
      if (pool.bytes[v + VNET_GSO_TYPE] !== VNET_GSO_NONE) {
        out.counters.c[PortStat.TxDropGso] += 1;
        return;
      }
      if ((pool.bytes[v] & VNET_F_NEEDS_CSUM) !== 0 && completeChecksum(pool, slot)) {
        out.counters.c[PortStat.TxCsumSoftware] += 1;
      }
      if (pool.len[slot] > port.maxFrame) {
        out.counters.c[PortStat.TxDropMtu] += 1;
        return;
      }
    } else if (pool.len[slot] > port.maxFrame && pool.bytes[pool.dataOff[slot] - VNET_HDR_LEN + VNET_GSO_TYPE] === VNET_GSO_NONE) {
      out.counters.c[PortStat.TxDropMtu] += 1;
      return;
    } else if (needsSctpChecksum(pool, slot) && completeChecksum(pool, slot)) {
      // The kernel would complete it as an Internet checksum (csum_not_inet is not in the vnet header).
      out.counters.c[PortStat.TxCsumSoftware] += 1;
    }
    if (!out.dirty) {
      out.dirty = true;
      this.dirty[this.nDirty++] = out;
    } else if (out.txn === out.txq.length) {
      this.kick(out);
    }
    out.txq[out.txn++] = slot;
    this.frozen[slot] = 1;
  }

  /**
   * A copy of frame `slot` (vnet header, bytes, length, in_port) in a fresh
   * slot owned by this round, for a pipeline that must edit a frame already
   * queued (copy-on-write). Returns -1 when the pool is empty. No allocation.
   */
  cloneSlot(slot: number): number {
    const pool = this.pool;
    const copy = pool.alloc();
    if (copy < 0) return -1;
    const from = pool.dataOff[slot];
    const len = pool.len[slot];
    pool.bytes.copyWithin(pool.dataOff[copy] - VNET_HDR_LEN, from - VNET_HDR_LEN, from + len);
    pool.len[copy] = len;
    pool.inPort[copy] = pool.inPort[slot];
    this.frozen[copy] = 0;
    this.clones[this.nClones++] = copy;
    return copy;
  }

  /** End of a round: send everything queued, then give this round's clones back. */
  finishRound(): void {
    this.flush();
    if (this.nClones > 0) {
      this.pool.releaseBurst(this.clones, 0, this.nClones);
      this.nClones = 0;
    }
  }

  /** Queue frame `slot` on every forwarding port but `inPort`. */
  flood(slot: number, inPort: DpPort): void {
    const list = this.portList;
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      if (p !== inPort) this.output(slot, p);
    }
    inPort.counters.c[PortStat.FwdFlooded] += 1;
  }

  /** Send every queued frame: one txBurst ("kick") per port with frames queued. */
  flush(): void {
    for (let d = 0; d < this.nDirty; d++) {
      const out = this.dirty[d];
      out.dirty = false;
      if (out.txn > 0) this.kick(out);
    }
    this.nDirty = 0;
  }

  /** One txBurst of everything on `out`'s queue, with its counters. */
  private kick(out: DpPort): void {
    const pool = this.pool;
    const n = out.txn;
    out.txn = 0;
    const c = out.counters.c;
    const sent = out.port.txBurst(pool, out.txq, n);
    c[PortStat.TxKicks] += 1;
    if (n < c[PortStat.TxKickFramesMin]) c[PortStat.TxKickFramesMin] = n;
    if (n > c[PortStat.TxKickFramesMax]) c[PortStat.TxKickFramesMax] = n;
    out.counters.txKickHist[histBucket(n)] += 1;
    const ok = sent > 0 ? sent : 0;
    let bytes = 0;
    for (let i = 0; i < ok; i++) bytes += pool.len[out.txq[i]];
    c[PortStat.TxFrames] += ok;
    c[PortStat.TxBytes] += bytes;
    if (ok < n) {
      const errno = out.port.lastErrno;
      if (errno === ERRNO_EAGAIN || errno === ERRNO_ENOBUFS) c[PortStat.TxDropQueueFull] += n - ok;
      else c[PortStat.TxErrors] += n - ok;
    }
  }

  /** Periodic work: aging in the pipeline, the counts the ports keep (kernel drops, tx ring re-kicks). */
  tick(nowMs = performance.now()): void {
    this.pipeline?.tick(nowMs);
    for (const dp of this.portList) dp.syncPortCounts();
    this.pollLinks();
  }

  /** Stop polling every port and stop listening to link notifications (the owner closes the ports). */
  stop(): void {
    if (this.spinning !== null) clearImmediate(this.spinning);
    this.spinning = null;
    if (this.windowPass !== null) clearImmediate(this.windowPass);
    this.windowPass = null;
    this.rxModeration?.close();
    this.linkWatch?.close();
    this.linkWatch = null;
    for (const p of this.portList) p.port.stop();
  }
}

