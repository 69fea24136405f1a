/*
 * The frame fuzzer: structured random frames (test/helpers/frame-arbitraries.ts:
 * Ethernet/VLAN/MPLS/PBB/IPv4/IPv6/ARP/TCP/UDP/ICMP/SCTP/ICMPv6 with random
 * fields, lengths, truncation and garbage), FRAME_CASES of them per run, each
 * through
 *   1. the parser alone,
 *   2. an OpenFlow pipeline with a few flows (set-field, TTL, VLAN and MPLS
 *      edits, flood, a group, goto-table, NORMAL, IN_PORT, punts), and
 *   3. the learning switch,
 * one frame per round on a random in port. Invariants: nothing throws; the
 * parser's offsets stay inside the frame; every frame received is sent,
 * punted, or counted in a drop counter (datapath.ts's invariant); every pool
 * slot is back after each round.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PortStat } from '../../src/datapath/port-counters.js';
import { ParsedBatch, parseFrame } from '../../src/datapath/parse/parse.js';
import { OFPCML, OFPG, OFPGT, OFPP } from '../../src/openflow/codec/v13/enums.js';
import { frame } from '../helpers/frame-arbitraries.js';
import { apply, gotoTable, inPort, out, setField, setup, write, type Harness } from '../helpers/of-harness.js';

/** Frames per run (the 10^5). */
const FRAME_CASES = 100_000;
const FRAMES_PER_CASE = 100;

/** Received, sent (or lost on egress, each counted), dropped by the forwarding decision: over every port. */
function tally(h: Harness): { rx: number; sent: number; dropped: number } {
  let rx = 0, sent = 0, dropped = 0;
  for (const p of h.dp.portList) {
    const c = p.counters.c;
    rx += c[PortStat.RxFrames];
    sent += c[PortStat.TxFrames] + c[PortStat.TxDropQueueFull] + c[PortStat.TxErrors] + c[PortStat.TxDropMtu] + c[PortStat.TxDropGso];
    dropped += c[PortStat.FwdDropped] + c[PortStat.VlanDropped];
  }
  return { rx, sent: sent + h.events.packetIns.length, dropped };
}

function openflowRig(): Harness {
  const h = setup(4, { failMode: 'secure', slots: 256 });
  const ok = h.sw.groupMod({
    type: 'group_mod', xid: 0, command: 0, groupType: OFPGT.ALL, groupId: 1,
    buckets: [
      { weight: 0, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [setField({ field: 'eth_dst', value: 0x020000000004 }), out(4)] },
      { weight: 0, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [{ type: 'dec_nw_ttl' }, out(3)] },
    ],
  });
  if (ok !== null) throw new Error(ok.reason);
  const IPV4 = { field: 'eth_type', value: 0x0800 } as const;
  h.flow({ priority: 300, match: [IPV4, { field: 'ip_proto', value: 6 }, { field: 'tcp_dst', value: 80 }], instructions: [apply(setField({ field: 'ipv4_dst', value: 0x0a000009 }), { type: 'dec_nw_ttl' }, out(2))] });
  h.flow({ priority: 290, match: [IPV4, { field: 'ip_proto', value: 17 }], instructions: [apply({ type: 'push_vlan', ethertype: 0x8100 }, setField({ field: 'vlan_vid', value: 0x1005 }), out(4)), write({ type: 'group', groupId: 1 })] });
  h.flow({ priority: 280, match: [IPV4, { field: 'ip_proto', value: 1 }], instructions: [apply(setField({ field: 'ip_dscp', value: 10 }), out(OFPP.IN_PORT))] });
  h.flow({ priority: 270, match: [{ field: 'eth_type', value: 0x86dd }], instructions: [gotoTable(1)] });
  h.flow({ priority: 260, match: [{ field: 'eth_type', value: 0x0806 }], instructions: [apply(out(OFPP.FLOOD))] });
  h.flow({ priority: 250, match: [{ field: 'eth_type', value: 0x8847 }], instructions: [apply({ type: 'pop_mpls', ethertype: 0x0800 }, { type: 'dec_nw_ttl' }, out(3))] });
  h.flow({ priority: 240, match: [{ field: 'vlan_vid', value: 0x1000, mask: 0x1000 }], instructions: [apply({ type: 'pop_vlan' }, out(2)), write(out(3))] });
  h.flow({ priority: 230, match: [inPort(2)], instructions: [apply({ type: 'push_mpls', ethertype: 0x8847 }, { type: 'set_mpls_ttl', mplsTtl: 9 }, out(1))] });
  h.flow({ priority: 0, instructions: [apply(out(OFPP.CONTROLLER, 128))] });
  h.flow({ tableId: 1, priority: 10, match: [{ field: 'eth_type', value: 0x86dd }, { field: 'ip_proto', value: 58 }], instructions: [apply(out(OFPP.IN_PORT, OFPCML.NO_BUFFER))] });
  h.flow({ tableId: 1, priority: 0, instructions: [apply(out(OFPP.NORMAL))] });
  return h;
}

/** A failed invariant, with the frame that broke it (plain checks: 10^5 frames cannot afford expect() each). */
function check(ok: boolean, what: string, f: Uint8Array): void {
  if (!ok) throw new Error(`${what}: frame ${Buffer.from(f).toString('hex')}`);
}

/** One frame in on port index `port`: it must be received, then sent, punted or counted dropped, and the pool whole again. */
function drive(h: Harness, name: string, f: Uint8Array, port: number): void {
  const before = tally(h);
  h.send(port, f);
  const after = tally(h);
  check(after.rx - before.rx === 1, `${name}: received ${after.rx - before.rx} frames for one`, f);
  check(after.sent - before.sent + after.dropped - before.dropped >= 1, `${name}: a frame neither sent, punted nor counted dropped`, f);
  check(after.dropped - before.dropped <= 1, `${name}: one frame counted dropped ${after.dropped - before.dropped} times`, f);
  check(h.dp.pool.inUse === 0, `${name}: ${h.dp.pool.inUse} pool slots not returned`, f);
}

describe('frame fuzzer', () => {
  it(`parses and forwards ${FRAME_CASES} structured random frames through the parser, an OpenFlow pipeline and the learning switch`, () => {
    const parsed = new ParsedBatch(1);
    const of = openflowRig();
    const normal = setup(4, { failMode: 'standalone' });
    let frames = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(frame, fc.integer({ min: 0, max: 3 })), { minLength: FRAMES_PER_CASE, maxLength: FRAMES_PER_CASE }), (batch) => {
        for (const [f, port] of batch) {
          parseFrame(f, 0, f.length, port + 1, parsed, 0);
          check(parsed.l3[0] <= f.length && parsed.l4[0] <= f.length, `parser offsets l3 ${parsed.l3[0]} l4 ${parsed.l4[0]} beyond the frame`, f);
          drive(of, 'openflow pipeline', f, port);
          drive(normal, 'learning switch', f, port);
          frames++;
        }
        // What the ports sent and the controller got is not kept between cases.
        of.taken();
        normal.taken();
        of.events.packetIns.length = 0;
      }),
      { numRuns: FRAME_CASES / FRAMES_PER_CASE },
    );
    expect(frames).toBeGreaterThanOrEqual(FRAME_CASES);
    // The pipeline saw every kind of outcome, so the run exercised it.
    const t = tally(of);
    expect(t.sent).toBeGreaterThan(0);
    expect(t.dropped).toBeGreaterThan(0);
  });
});
