/*
 * Read-only looks at the datapath's stateful parts, for traces (trace.ts):
 * what a table lookup, a meter and the learning switch would decide for a
 * frame now, leaving every counter, token bucket and MAC entry as it was.
 *
 * What
 *   quietLookup(table, key)        FlowTable.lookup with its counters put back
 *   meterVerdict(meter, bytes, now)  MeterTable.run on a copy of the tokens
 *   normalVerdict(normal, inPort, key, base, now)
 *                                  (VLAN rules from NormalSwitch.ingressVlan)
 *                                  NormalSwitch.forward's decision: learn the
 *                                  source (as it would: new, refresh, move),
 *                                  flood, the learned port, or drop
 *
 * Invariants
 * - Each mirrors the function it names; a change there is mirrored here
 *   (test/unit/trace.test.ts compares them on the same frames).
 * - Nothing is written outside locals. Slow path.
 */

import { TableCounter, type FlowEntry, type FlowTable } from './flow-table.js';
import { K, keyVlanVid } from '../../flow/key.js';
import { MeterBandKind, type Meter } from './meters.js';
import type { DpPort } from '../datapath.js';
import type { NormalSwitch } from '../learning/normal.js';

/** The lookup a frame with key row `key` would make in `table`; the table and classifier counters are left as they were. */
export function quietLookup(table: FlowTable, key: Uint32Array): FlowEntry | null {
  const counters = table.counters, cls = table.classifier.stats;
  const lookups = counters[TableCounter.Lookups], matched = counters[TableCounter.Matched];
  const clsSaved = cls.slice();
  try {
    return table.lookup(key, 0);
  } finally {
    counters[TableCounter.Lookups] = lookups;
    counters[TableCounter.Matched] = matched;
    cls.set(clsSaved);
  }
}

/** What a meter would do with a frame now. */
export type MeterVerdict = { kind: 'pass' } | { kind: 'drop'; band: number } | { kind: 'remark'; band: number; precLevel: number };

/** MeterTable.run's decision for a frame of `bytes` at `nowMs`, from a copy of the meter's token state. */
export function meterVerdict(m: Meter, bytes: number, nowMs: number): MeterVerdict {
  const n = m.kind.length;
  const elapsed = nowMs - m.last[0];
  const cost = m.pktps ? 1000 : bytes * 8;
  let band = -1;
  let bandRate = -1;
  for (let i = 0; i < n; i++) {
    let t = m.tokens[i];
    if (elapsed > 0) t = Math.min(m.depth[i], t + elapsed * m.ratePerMs[i]);
    if (t < cost && m.ratePerMs[i] > bandRate) {
      band = i;
      bandRate = m.ratePerMs[i];
    }
  }
  if (band < 0) return { kind: 'pass' };
  return m.kind[band] === MeterBandKind.Drop ? { kind: 'drop', band } : { kind: 'remark', band, precLevel: m.prec[band] };
}

/** The learning switch's decision for one frame. */
export interface NormalVerdict {
  /** The outer VLAN VID the MAC table is keyed by (0: untagged). */
  vlan: number;
  /** What learning the source MAC would do: a new entry, a refresh, a move from another port, or nothing (a group address). */
  learn: 'new' | 'refresh' | 'move' | 'ignored';
  /** The port the source MAC is known on now, -1 when unknown. */
  srcPort: number;
  decision: 'flood' | 'port' | 'drop';
  /** Why: the in port refuses the frame's VLAN, or the destination is a group address, unknown, or learned (on `port`). */
  why: 'vlan-refused' | 'group-destination' | 'unknown-destination' | 'learned';
  /** The destination's learned port, -1 when unknown. */
  port: number;
}

/** The group (multicast) bit of the MAC's first byte, in the high 16 bits of a MAC. */
const MAC_GROUP_BIT_IN_HI = 0x0100;

/** NormalSwitch.forward's decision for the frame whose key row starts at `base`, received on `inPort`. */
export function normalVerdict(normal: NormalSwitch, inDp: DpPort, keys: Uint32Array, base: number, nowMs: number): NormalVerdict {
  const macs = normal.macs;
  const inPort = inDp.ofPort;
  const vlan = normal.ingressVlan(inDp, keys, base);
  if (vlan < 0) return { vlan: keyVlanVid(keys, base), learn: 'ignored', srcPort: -1, decision: 'drop', why: 'vlan-refused', port: -1 };
  const dstHi = keys[base + K.EthDstHi];
  const dstLoSrcHi = keys[base + K.EthDstLoSrcHi];
  const srcHi = dstLoSrcHi & 0xffff, srcLo = keys[base + K.EthSrcLo] | 0;
  const dHi = dstHi >>> 16, dLo = (dstHi << 16) | (dstLoSrcHi >>> 16);
  const srcGroup = (srcHi & MAC_GROUP_BIT_IN_HI) !== 0;
  const srcPort = macs.lookupWords(vlan, srcHi, srcLo, nowMs);
  const learn = srcGroup ? 'ignored' : srcPort < 0 ? 'new' : srcPort === inPort ? 'refresh' : 'move';
  if ((dHi & MAC_GROUP_BIT_IN_HI) !== 0) return { vlan, learn, srcPort, decision: 'flood', why: 'group-destination', port: -1 };
  // Learning runs first: a destination equal to the source is then known on the in port.
  const to = !srcGroup && dHi === srcHi && dLo === srcLo ? inPort : macs.lookupWords(vlan, dHi, dLo, nowMs);
  if (to < 0) return { vlan, learn, srcPort, decision: 'flood', why: 'unknown-destination', port: -1 };
  return { vlan, learn, srcPort, decision: to === inPort ? 'drop' : 'port', why: 'learned', port: to };
}
