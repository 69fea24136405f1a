/*
 * NormalSwitch: the standalone L2 learning switch, which is also OpenFlow's
 * NORMAL action. Learns (VLAN, source MAC) -> in port on every frame, sends
 * known unicast to its port, floods broadcast, multicast and unknown unicast
 * to every other port of the frame's VLAN, and never sends a frame back out
 * of its in port.
 *
 * VLANs (vlan.ts, DpPort.vlan): a frame's VLAN is its in port's access VLAN,
 * or the VID of its outer tag (0 untagged). A frame the in port refuses is
 * dropped and counted (VlanDropped). It leaves only on ports of its VLAN, in
 * the form each wants: untagged on an access port, tagged on a trunk; a port
 * without VLAN configuration gets it as received (a frame from an access
 * port, tagged with its VLAN). Each output goes out either as the frame is
 * ("as is") or in the one other form (tag pushed or popped), so a flood makes
 * at most one copy: as-is outputs first, then the other form, edited in place
 * when nothing was queued yet and the slot is ours, else on a clone
 * (Datapath copy-on-write). Push and pop (rules/frame-tags.ts) move the vnet
 * header's csum_start with the bytes, so offload state stays right.
 *
 * Invariants
 * - The decision reads the parsed key row; frame bytes change only for a
 *   VLAN tag push, pop or priority-tag VID rewrite, and only in a slot the
 *   switch may edit: one it received itself (processBurst) that is not
 *   queued yet, or a clone. The NORMAL action (forward) never edits the
 *   caller's slot.
 * - A frame too short to have an Ethernet header is dropped (and was counted
 *   as malformed by the parser).
 * - No allocation per frame; ports without VLAN configuration take the same
 *   path as before VLANs (two null checks per frame).
 */

import type { Datapath, DpPort, Pipeline } from '../datapath.js';
import { ETH_TYPE_VLAN, K, keyVlanVid, KEY_WORDS, VLAN_PRESENT } from '../../flow/key.js';
import { MacLearningTable, type MacLearningOptions } from './mac-learning.js';
import { PARSE_TOO_SHORT, type ParsedBatch } from '../parse/parse.js';
import { PortStat } from '../port-counters.js';
import { popVlan, pushVlan, TAG_OK } from '../rules/frame-tags.js';
import { FrameCursor } from '../rules/frame-cursor.js';
import type { PacketPool } from '../../packet/pool.js';
import { rd16, wr16 } from '../../packet/frame-bytes.js';
import type { PortVlan } from './vlan.js';

/** The group (multicast) bit of eth_dst: the low bit of its first byte, in the key's EthDstHi word. */
const ETH_DST_GROUP_BIT = 0x01000000;

/** How a frame leaves on one port (egressForm). */
const SKIP = 0;
const AS_IS = 1;
const OTHER_FORM = 2;

/**
 * The frame form `p` takes for a frame of VLAN `vlan` that is `tagged` (has
 * an outer tag) now: SKIP (not a member), AS_IS, or OTHER_FORM (the tag
 * popped, or pushed).
 */
function egressForm(p: DpPort, vlan: number, tagged: boolean): number {
  const pv = p.vlan;
  if (pv === null) return vlan === 0 || tagged ? AS_IS : OTHER_FORM;
  if (pv.member[vlan] === 0) return SKIP;
  return pv.access < 0 === tagged ? AS_IS : OTHER_FORM;
}

/** A FrameCursor over a slot the switch may edit, for the tag helpers (no L3/L4 offsets to follow). */
class TagCursor extends FrameCursor {
  writable(): boolean {
    return true; // NormalSwitch hands it only slots it may edit
  }
}

export class NormalSwitch implements Pipeline {
  readonly macs: MacLearningTable;
  private cursor: TagCursor | null = null;

  constructor(opts: MacLearningOptions = {}) {
    this.macs = new MacLearningTable(opts);
  }

  /**
   * A frame whose L2 words (addresses, outer VLAN tag and type) are those of the
   * frame before it in the burst, when that one went as it was to one known
   * port, goes there too without a second decision: the same in port, MACs
   * and clock give the same learning (a refresh that changes nothing) and
   * the same lookup, so a burst of one flow costs one decision.
   */
  processBurst(dp: Datapath, inPort: DpPort, slots: Int32Array, parsed: ParsedBatch, n: number, nowMs: number): void {
    const keys = parsed.keys;
    const flags = parsed.flags;
    let lastOut: DpPort | null = null;
    let last = 0;
    for (let i = 0; i < n; i++) {
      if ((flags[i] & PARSE_TOO_SHORT) !== 0) {
        inPort.counters.c[PortStat.FwdDropped] += 1;
        continue;
      }
      const base = i * KEY_WORDS;
      if (
        lastOut !== null &&
        keys[base + K.EthDstHi] === keys[last + K.EthDstHi] &&
        keys[base + K.EthDstLoSrcHi] === keys[last + K.EthDstLoSrcHi] &&
        keys[base + K.EthSrcLo] === keys[last + K.EthSrcLo] &&
        keys[base + K.EthTypeVlan] === keys[last + K.EthTypeVlan]
      ) {
        dp.output(slots[i], lastOut);
        continue;
      }
      lastOut = this.decide(dp, inPort, slots[i], keys, base, nowMs, true);
      last = base;
    }
  }

  /** The NORMAL decision for one frame whose key row starts at `base`; `slot` is left as it is (edits go to a copy). */
  forward(dp: Datapath, inPort: DpPort, slot: number, keys: Uint32Array, base: number, nowMs: number): void {
    this.decide(dp, inPort, slot, keys, base, nowMs, false);
  }

  /**
   * The VLAN a frame with key row `keys[base..]` belongs to on `inPort`, or
   * -1 when the port refuses it (decide()'s ingress rule; trace, slow path).
   */
  ingressVlan(inPort: DpPort, keys: Uint32Array, base: number): number {
    const vlan = keyVlanVid(keys, base);
    const inVlan = inPort.vlan;
    if (inVlan === null) return vlan;
    if (inVlan.access < 0 ? inVlan.member[vlan] === 0 : vlan !== 0) return -1;
    return inVlan.access >= 0 ? inVlan.access : vlan;
  }

  /**
   * How a frame of VLAN `vlan`, `tagged` as it arrived, leaves on `out`
   * (decide()'s egress rule; trace, slow path): not at all, as it is, with
   * its tag popped, or with a tag of `vlan` pushed.
   */
  egressOf(out: DpPort, vlan: number, tagged: boolean): 'skip' | 'as-is' | 'pop' | 'push' {
    const form = egressForm(out, vlan, tagged);
    return form === SKIP ? 'skip' : form === AS_IS ? 'as-is' : tagged ? 'pop' : 'push';
  }

  /**
   * `owned`: the slot is the switch's own to edit (received by processBurst) while it is not queued.
   * Returns the port the frame went to as it was when that was the whole decision (known unicast,
   * no VLAN configuration on either port), else null.
   */
  private decide(dp: Datapath, inPort: DpPort, slot: number, keys: Uint32Array, base: number, nowMs: number, owned: boolean): DpPort | null {
    const tagged = (keys[base + K.EthTypeVlan] & VLAN_PRESENT) !== 0;
    let vlan = keyVlanVid(keys, base);
    const inVlan = inPort.vlan;
    if (inVlan !== null) {
      if (inVlan.access < 0 ? inVlan.member[vlan] === 0 : vlan !== 0) {
        inPort.counters.c[PortStat.VlanDropped] += 1;
        return null;
      }
      if (inVlan.access >= 0) {
        vlan = inVlan.access;
        if (tagged) {
          // Priority-tagged (VID 0): the tag now names the access VLAN, its PCP kept.
          slot = this.editableSlot(dp, slot, owned);
          if (slot < 0) {
            inPort.counters.c[PortStat.FwdDropped] += 1;
            return null;
          }
          owned = true;
          this.setOuterVid(dp.pool, slot, vlan);
        }
      }
    }
    const macs = this.macs;
    const dstHi = keys[base + K.EthDstHi];
    const dstLoSrcHi = keys[base + K.EthDstLoSrcHi];
    // MACs as the two words the key holds (bytes 0..1, bytes 2..5): no 48-bit doubles per frame.
    macs.learnWords(vlan, dstLoSrcHi & 0xffff, keys[base + K.EthSrcLo] | 0, inPort.ofPort, nowMs);
    if ((dstHi & ETH_DST_GROUP_BIT) !== 0) {
      this.flood(dp, inPort, slot, vlan, tagged, owned);
      return null;
    }
    const to = macs.lookupWords(vlan, dstHi >>> 16, (dstHi << 16) | (dstLoSrcHi >>> 16), nowMs);
    if (to === inPort.ofPort) {
      inPort.counters.c[PortStat.FwdDropped] += 1;
      return null;
    }
    const out = to < 0 ? undefined : dp.port(to);
    if (out === undefined) {
      this.flood(dp, inPort, slot, vlan, tagged, owned);
    } else if (inVlan === null && out.vlan === null) {
      dp.output(slot, out);
      return out;
    } else {
      const form = egressForm(out, vlan, tagged);
      if (form === AS_IS) {
        dp.output(slot, out);
      } else if (form === SKIP) {
        this.flood(dp, inPort, slot, vlan, tagged, owned); // learned there before a VLAN change
      } else {
        const other = this.otherForm(dp, slot, vlan, tagged, owned);
        if (other < 0) inPort.counters.c[PortStat.FwdDropped] += 1;
        else dp.output(other, out);
      }
    }
    return null;
  }

  /** Every port of the frame's VLAN but the in port: as-is outputs first, then the other form (one copy at most). */
  private flood(dp: Datapath, inPort: DpPort, slot: number, vlan: number, tagged: boolean, owned: boolean): void {
    const list = dp.portList;
    let others = 0;
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      if (p === inPort) continue;
      const form = egressForm(p, vlan, tagged);
      if (form === AS_IS) dp.output(slot, p);
      else if (form === OTHER_FORM) others++;
    }
    inPort.counters.c[PortStat.FwdFlooded] += 1;
    if (others === 0) return;
    const other = this.otherForm(dp, slot, vlan, tagged, owned);
    if (other < 0) {
      inPort.counters.c[PortStat.FwdDropped] += 1;
      return;
    }
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      if (p !== inPort && egressForm(p, vlan, tagged) === OTHER_FORM) dp.output(other, p);
    }
  }

  /** The frame in its other form: tag popped (`tagged`) or pushed with VID `vlan`. -1 when no slot or room was left. */
  private otherForm(dp: Datapath, slot: number, vlan: number, tagged: boolean, owned: boolean): number {
    const s = this.editableSlot(dp, slot, owned);
    if (s < 0) return -1;
    const x = this.cursorFor(dp.pool, s);
    if (tagged) return popVlan(x) === TAG_OK ? x.cur : -1;
    if (pushVlan(x, ETH_TYPE_VLAN) !== TAG_OK) return -1; // no headroom left
    this.setOuterVid(dp.pool, x.cur, vlan); // pushVlan wrote TCI 0 over an untagged frame
    return x.cur;
  }

  /** `slot` itself when the switch may edit it (its own and not queued yet), else a clone (-1: pool empty). */
  private editableSlot(dp: Datapath, slot: number, owned: boolean): number {
    return owned && dp.frozen[slot] === 0 ? slot : dp.cloneSlot(slot);
  }

  private cursorFor(pool: PacketPool, slot: number): TagCursor {
    let x = this.cursor;
    if (x === null || x.pool !== pool) x = this.cursor = new TagCursor(pool);
    x.cur = slot;
    return x;
  }

  /** Writes `vid` into the outer tag of the frame in `slot`, keeping PCP and DEI. */
  private setOuterVid(pool: PacketPool, slot: number, vid: number): void {
    const at = pool.dataOff[slot] + 14;
    wr16(pool.bytes, at, (rd16(pool.bytes, at) & 0xf000) | vid);
  }

  /**
   * Gives `port` its VLAN membership (null: every VLAN, tags kept). When it
   * changes, the MACs learned on the port are forgotten: they were learned
   * in VLANs the port may no longer carry. Slow path (configuration).
   */
  setPortVlan(port: DpPort, vlan: PortVlan | null): void {
    if (String(port.vlan) === String(vlan)) return;
    port.vlan = vlan;
    this.macs.flushPort(port.ofPort);
  }

  tick(nowMs: number): void {
    this.macs.expire(nowMs);
  }

  portRemoved(ofPort: number): void {
    this.macs.flushPort(ofPort);
  }
}
