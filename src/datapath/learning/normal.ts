/*
 * NormalSwitch: the standalone L2 learning switch, which is also OpenFlow's
 * NORMAL action. Learns (VLAN, source MAC) -> in port on every frame, sends
 * known unicast to its port, floods broadcast, multicast and unknown unicast
 * to every other port, and never sends a frame back out of its in port.
 *
 * Invariants
 * - The forwarding decision reads only the parsed key row; frames are not
 *   touched.
 * - A frame too short to have an Ethernet header is dropped (and was counted
 *   as malformed by the parser).
 */

import type { Datapath, DpPort, Pipeline } from '../datapath.js';
import { K, keyVlanVid, KEY_WORDS } from '../../flow/key.js';
import { MacLearningTable, type MacLearningOptions } from './mac-learning.js';
import { PARSE_TOO_SHORT, type ParsedBatch } from '../parse/parse.js';
import { PortStat } from '../port-counters.js';

/** The group (multicast) bit of eth_dst: the low bit of its first byte, in the key's EthDstHi word. */
const ETH_DST_GROUP_BIT = 0x01000000;

export class NormalSwitch implements Pipeline {
  readonly macs: MacLearningTable;

  constructor(opts: MacLearningOptions = {}) {
    this.macs = new MacLearningTable(opts);
  }

  processBurst(dp: Datapath, inPort: DpPort, slots: Int32Array, parsed: ParsedBatch, n: number, nowMs: number): void {
    const keys = parsed.keys;
    const flags = parsed.flags;
    for (let i = 0; i < n; i++) {
      if ((flags[i] & PARSE_TOO_SHORT) !== 0) {
        inPort.counters.c[PortStat.FwdDropped] += 1;
        continue;
      }
      this.forward(dp, inPort, slots[i], keys, i * KEY_WORDS, nowMs);
    }
  }

  /** The NORMAL decision for one frame whose key row starts at `base`. */
  forward(dp: Datapath, inPort: DpPort, slot: number, keys: Uint32Array, base: number, nowMs: number): void {
    const vlan = keyVlanVid(keys, base);
    const macs = this.macs;
    const dstHi = keys[base + K.EthDstHi];
    const dstLoSrcHi = keys[base + K.EthDstLoSrcHi];
    // MACs as the two words the key holds (bytes 0..1, bytes 2..5): no 48-bit doubles per frame.
    macs.learnWords(vlan, dstLoSrcHi & 0xffff, keys[base + K.EthSrcLo] | 0, inPort.ofPort, nowMs);
    if ((dstHi & ETH_DST_GROUP_BIT) !== 0) {
      dp.flood(slot, inPort);
      return;
    }
    const to = macs.lookupWords(vlan, dstHi >>> 16, (dstHi << 16) | (dstLoSrcHi >>> 16), nowMs);
    if (to < 0) {
      dp.flood(slot, inPort);
    } else if (to === inPort.ofPort) {
      inPort.counters.c[PortStat.FwdDropped] += 1;
    } else {
      const out = dp.port(to);
      if (out === undefined) dp.flood(slot, inPort);
      else dp.output(slot, out);
    }
  }

  tick(nowMs: number): void {
    this.macs.expire(nowMs);
  }

  portRemoved(ofPort: number): void {
    this.macs.flushPort(ofPort);
  }
}
