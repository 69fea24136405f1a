/*
 * Random flow tables and traffic for the property tests that run rule
 * pipelines side by side (miss-batch.test.ts, megaflow.test.ts): random rules
 * over four tables (priorities, overlapping exact and masked matches on
 * in_port, eth_src, ipv4_src/dst, udp_src/dst and metadata; outputs, punts,
 * set-field before goto, write_actions, write_metadata, forward gotos), bursts
 * over 32 microflows, and what both tests compare after a run. Every harness gets
 * the same rules and frames, so any difference is the pipeline's.
 */

import fc from 'fast-check';
import { OFPP } from '../../src/openflow/codec/v13/enums.js';
import type { Action } from '../../src/openflow/codec/v13/actions.js';
import type { Instruction } from '../../src/openflow/codec/v13/instructions.js';
import type { Oxm } from '../../src/openflow/codec/v13/oxm.js';
import { ethFrame, ipv4Udp } from './frames.js';
import { apply, gotoTable, inPort, out, setField, write, type Harness } from './of-harness.js';

export const ip4 = { field: 'eth_type', value: 0x0800 } as const;
export const udp = { field: 'ip_proto', value: 17 } as const;

/**
 * A UDP frame of microflow `flow` (0..31: eth_src, ipv4_src/dst and both UDP
 * ports vary with it) carrying `seq` in its first two payload bytes (frame
 * bytes 42 and 43).
 */
export function microflowFrame(flow: number, seq: number): Uint8Array {
  const data = new Uint8Array(22);
  data[0] = seq >> 8;
  data[1] = seq & 0xff;
  return ethFrame('02:00:00:00:00:0b', `02:00:00:00:00:0${(flow >> 4) & 1 ? 'a' : 'c'}`, 0x0800, ipv4Udp(`10.0.0.${1 + (flow & 3)}`, `10.0.1.${(flow >> 2) & 7}`, 4000 + (flow & 1), 5000 + (flow % 3), data));
}

/** One to four bursts: [port index 0 or 1, microflows of microflowFrame]. */
export const burstsArb = fc.array(fc.tuple(fc.nat(1), fc.array(fc.nat(31), { minLength: 1, maxLength: 48 })), { minLength: 1, maxLength: 4 });

/** One random rule: table, priority, a match, instructions (forward gotos only). */
export const ruleArb = fc.record({
  table: fc.nat(3),
  priority: fc.nat(3),
  match: fc.subarray(['in_port', 'eth_src', 'ipv4_src', 'ipv4_dst', 'ipv4_dst/24', 'udp_dst', 'udp_src', 'metadata'] as const),
  values: fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3), fc.nat(2), fc.nat(2)),
  // set_dst2 rewrites ipv4_dst to one a later table's exact rules may match, set_dst99 to one only a /24 matches.
  actions: fc.array(fc.constantFrom('out2', 'out3', 'out4', 'controller', 'set_dst2', 'set_dst99', 'write_out3', 'meta', 'meta'), { maxLength: 3 }),
  goto: fc.nat(3),
});

type Rule = typeof ruleArb extends fc.Arbitrary<infer R> ? R : never;

/** Does the rule match an IPv4 field (and so need the eth_type prerequisite)? */
function matchesIp(r: Rule): boolean {
  return r.match.some((m) => m !== 'in_port' && m !== 'metadata' && m !== 'eth_src');
}

/**
 * Installs the rules after a table-0 catch-all that writes metadata 1 and goes
 * to table 1 (so later tables see traffic). A rule the switch refuses
 * (duplicate write_actions or the like) is skipped, on every harness alike.
 */
export function installRules(h: Harness, rules: Rule[]): void {
  h.flow({ tableId: 0, priority: 1, match: [], instructions: [{ type: 'write_metadata', metadata: 1n, metadataMask: 0xffn }, gotoTable(1)] });
  for (const r of rules) {
    const match: Oxm[] = [];
    const [a, b, c, d, e] = r.values;
    if (r.match.includes('in_port')) match.push(inPort(1 + (a % 2)));
    if (r.match.includes('eth_src')) match.push({ field: 'eth_src', value: a % 2 === 0 ? 0x02000000000a : 0x02000000000c });
    if (matchesIp(r)) match.push(ip4);
    if (r.match.includes('ipv4_src')) match.push({ field: 'ipv4_src', value: (0x0a000001 + b) >>> 0 });
    if (r.match.includes('ipv4_dst')) match.push({ field: 'ipv4_dst', value: (0x0a000100 + c) >>> 0 });
    else if (r.match.includes('ipv4_dst/24')) match.push({ field: 'ipv4_dst', value: 0x0a000100, mask: 0xffffff00 });
    if (r.match.includes('udp_dst') || r.match.includes('udp_src')) match.push(udp);
    if (r.match.includes('udp_dst')) match.push({ field: 'udp_dst', value: 5000 + d });
    if (r.match.includes('udp_src')) match.push({ field: 'udp_src', value: 4000 + (d % 2) });
    if (r.match.includes('metadata')) match.push({ field: 'metadata', value: BigInt(e) });
    const applied: Action[] = [];
    const instructions: Instruction[] = [];
    for (const act of r.actions) {
      if (act === 'out2') applied.push(out(2));
      else if (act === 'out3') applied.push(out(3));
      else if (act === 'out4') applied.push(out(4));
      else if (act === 'controller') applied.push(out(OFPP.CONTROLLER, 64));
      else if (act === 'set_dst2' && matchesIp(r)) applied.push(setField({ field: 'ipv4_dst', value: 0x0a000102 }));
      else if (act === 'set_dst99' && matchesIp(r)) applied.push(setField({ field: 'ipv4_dst', value: 0x0a000163 }));
      else if (act === 'write_out3') instructions.push(write(out(3)));
      else if (act === 'meta') instructions.push({ type: 'write_metadata', metadata: BigInt(e), metadataMask: 0xffn });
    }
    if (applied.length > 0) instructions.unshift(apply(...applied));
    if (r.table + 1 + r.goto <= 3 && r.goto < 2) instructions.push(gotoTable(r.table + 1 + r.goto));
    try {
      h.flow({ tableId: r.table, priority: 10 + r.priority, match, instructions });
    } catch {
      // refused: skipped on every side alike
    }
  }
}

/**
 * What every side must agree on after a run: the frames each port sent (in
 * order), the packet-ins (taken), every flow's packet and byte counts, the
 * ports' counters and the packet pool's slots in use. Each test adds the
 * counters it compares on top of these.
 */
export function forwardingState(h: Harness) {
  return {
    taken: h.taken(),
    packetIns: h.events.packetIns.splice(0),
    flows: h.sw.tables.tables.slice(0, 4).map((t) => t.list().map((e) => [e.cookie, e.packetCount, e.byteCount])),
    ports: h.dp.portList.map((d) => [...d.counters.c]),
    inUse: h.dp.pool.inUse,
  };
}
