/*
 * PBB (IEEE 802.1ah) in OpenFlow 1.3: the I-TAG parsed into the key
 * (pbb_isid matches), push_pbb / pop_pbb byte results, set-field pbb_isid,
 * later tables after push and pop, the trace, the text forms and the wire
 * encodings. PBB frames are composed here from captured fixtures: backbone
 * MACs, an optional B-TAG, TPID 0x88E7, the TCI, then the whole customer
 * frame (its MACs are the I-TAG's C-DA/C-SA).
 */

import { describe, expect, it } from 'vitest';
import { decodeActions, encodeActions, type Action } from '../../src/openflow/codec/v13/actions.js';
import { decodeMatch, encodeMatch, matchSize, type Oxm } from '../../src/openflow/codec/v13/oxm.js';
import { K } from '../../src/flow/key.js';
import { Op } from '../../src/datapath/rules/ops.js';
import { PARSE_MALFORMED } from '../../src/datapath/parse/parse.js';
import { PipelineStat } from '../../src/datapath/rules/actions-exec.js';
import { OFPP } from '../../src/openflow/codec/v13/enums.js';
import { VNET_F_NEEDS_CSUM } from '../../src/packet/vnet.js';
import { traceFrame } from '../../src/datapath/rules/trace.js';
import { actionsText, keyText, matchText, opText } from '../../src/openflow/ofproto/flow-text.js';
import { formatTrace, traceReport } from '../../src/openflow/ofproto/trace-format.js';
import { FlowSyntaxError, parseTraceFlow } from '../../src/openflow/ofproto/trace-flow.js';
import { apply, badChecksums, gotoTable, inPort, layout, loadFrame, macNum, out, setField, setup } from '../helpers/of-harness.js';

const B_DA = [0x02, 0xbb, 0, 0, 0, 0x02];
const B_SA = [0x02, 0xbb, 0, 0, 0, 0x01];
const PBB: Oxm = { field: 'eth_type', value: 0x88e7 };
const isid = (v: number, mask?: number): Oxm => (mask === undefined ? { field: 'pbb_isid', value: v } : { field: 'pbb_isid', value: v, mask });
const be32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

/** `customer` inside a PBB header: B-DA, B-SA, [B-TAG 0x88a8 with `bvid`], 0x88E7, TCI. */
function pbbFrame(customer: Uint8Array, tci: number, bvid = -1): Uint8Array {
  const btag = bvid < 0 ? [] : [0x88, 0xa8, (bvid >> 8) & 0x0f, bvid & 0xff];
  const tag = [0x88, 0xe7, tci >>> 24, (tci >>> 16) & 0xff, (tci >>> 8) & 0xff, tci & 0xff];
  return Uint8Array.from([...B_DA, ...B_SA, ...btag, ...tag, ...customer]);
}

/** What push_pbb makes of `f` (outer MACs copied from the customer ones) with I-TAG TCI `tci`. */
function pushedOf(f: Uint8Array, tci: number): Uint8Array {
  return Uint8Array.from([...f.subarray(0, 12), 0x88, 0xe7, tci >>> 24, (tci >>> 16) & 0xff, (tci >>> 8) & 0xff, tci & 0xff, ...f]);
}

describe('parse', () => {
  it('reads the outer I-TAG TCI into the key, not the customer frame', () => {
    const udp = loadFrame('udp4');
    const tci = (3 << 29) | (1 << 27) | 0x0abcde; // PCP 3, UCA 1
    const f = pbbFrame(udp, tci);
    const p = layout(f);
    expect(p.flags).toBe(0);
    expect(p.ethType).toBe(0x88e7);
    expect(p.keys[K.MplsLse] >>> 0).toBe(tci >>> 0);
    expect(p.keys[K.EthDstHi] >>> 0).toBe(0x02bb0000);
    expect(p.l3).toBe(14);
    expect(p.l4).toBe(0);
    expect([p.keys[K.IpProtoTosTtlFrag], p.keys[K.IpSrc0], p.keys[K.IpDst0], p.keys[K.TpSrcDst]]).toEqual([0, 0, 0, 0]);
  });

  it('reads a B-TAG before the I-TAG as the outer VLAN', () => {
    const f = pbbFrame(loadFrame('udp4'), 0x000123, 100);
    const p = layout(f);
    expect(p.flags).toBe(0);
    expect(p.ethType).toBe(0x88e7);
    expect(p.keys[K.EthTypeVlan] & 0x1fff).toBe(0x1000 | 100);
    expect(p.keys[K.MplsLse]).toBe(0x123);
    expect(p.l3).toBe(18);
  });

  it('a cut I-TAG (no whole C-DA/C-SA) contributes nothing and is malformed', () => {
    const f = pbbFrame(loadFrame('udp4'), 0x000123).subarray(0, 14 + 4 + 10);
    const p = layout(f);
    expect(p.flags).toBe(PARSE_MALFORMED);
    expect(p.ethType).toBe(0x88e7);
    expect(p.keys[K.MplsLse]).toBe(0);
  });
});

describe('match pbb_isid', () => {
  it('exact and masked matches hit the right I-SIDs only', () => {
    const h = setup(3);
    h.flow({ priority: 20, match: [PBB, isid(0x0abcde)], instructions: [apply(out(2))] });
    h.flow({ priority: 10, match: [PBB, isid(0x000100, 0x000f00)], instructions: [apply(out(3))] });
    const udp = loadFrame('udp4');
    const a = pbbFrame(udp, 0x0abcde), b = pbbFrame(udp, 0x7f0123), c = pbbFrame(udp, 0x000456);
    h.send(0, a, b, c, udp, a);
    const [, p2, p3] = h.taken();
    expect(p2).toEqual([a, a]);
    expect(p3).toEqual([b]);
  });
});

describe('push_pbb / pop_pbb', () => {
  it('push puts 0x88E7, the TCI and the customer MACs after the MACs; pop gives the frame back', () => {
    const h = setup(3);
    h.flow({
      match: [inPort(1)],
      instructions: [apply({ type: 'push_pbb', ethertype: 0x88e7 }, setField(isid(0x010203)), setField({ field: 'eth_dst', value: macNum('02:bb:00:00:00:02') }),
        setField({ field: 'eth_src', value: macNum('02:bb:00:00:00:01') }), out(2))],
    });
    h.flow({ match: [inPort(2), PBB, isid(0x010203)], instructions: [apply({ type: 'pop_pbb' }, out(3))] });
    const f = loadFrame('udp4');
    h.send(0, f, f);
    const pushed = h.taken()[1];
    expect(pushed).toHaveLength(2);
    expect(pushed[0]).toEqual(pbbFrame(f, 0x010203));
    expect(pushed[1]).toEqual(pushed[0]);
    h.send(1, pushed[0], pushed[1]);
    expect(h.taken()[2]).toEqual([f, f]);
  });

  it('push with no set-field: outer MACs are copies of the customer ones, I-SID 0', () => {
    const h = setup(2);
    h.flow({ match: [inPort(1)], instructions: [apply({ type: 'push_pbb', ethertype: 0x88e7 }, out(2))] });
    const f = loadFrame('tcp6-data');
    h.send(0, f);
    const m = h.taken()[1][0];
    expect(m).toEqual(pushedOf(f, 0));
  });

  it('push over a VLAN tag copies its PCP to the I-PCP; the tag goes inside with the customer frame', () => {
    const h = setup(2);
    h.flow({ match: [inPort(1)], instructions: [apply({ type: 'push_pbb', ethertype: 0x88e7 }, out(2))] });
    const f = loadFrame('vlan-icmp4');
    const pcp = f[14] >>> 5;
    h.send(0, f);
    const m = h.taken()[1][0];
    expect(pcp).toBeGreaterThan(0); // the fixture's tag has a PCP, so the copy is visible
    expect(m).toEqual(pushedOf(f, (pcp << 29) >>> 0));
  });

  it('push over a PBB frame copies its I-SID; pop removes a B-TAG with the backbone header', () => {
    const h = setup(3);
    h.flow({ match: [inPort(1)], instructions: [apply({ type: 'push_pbb', ethertype: 0x88e7 }, out(2))] });
    h.flow({ match: [inPort(2)], instructions: [apply({ type: 'pop_pbb' }, out(3))] });
    const inner = pbbFrame(loadFrame('udp4'), 0x00beef);
    h.send(0, inner);
    const m = h.taken()[1][0];
    expect(m).toEqual(pushedOf(inner, 0x00beef));
    const customer = loadFrame('arp-request');
    h.send(1, pbbFrame(customer, 0x000042, 7));
    expect(h.taken()[2]).toEqual([customer]);
  });

  it('actions after pop_pbb in the same list see the customer frame (dec_nw_ttl decrements its IPv4 TTL)', () => {
    const h = setup(2);
    h.flow({ match: [inPort(1), PBB], instructions: [apply({ type: 'pop_pbb' }, { type: 'dec_nw_ttl' }, out(2))] });
    const f = loadFrame('udp4');
    h.send(0, pbbFrame(f, 0x000005));
    const m = h.taken()[1][0];
    const { l3 } = layout(f);
    expect(m[l3 + 8]).toBe(f[l3 + 8] - 1);
    expect(badChecksums(m)).toEqual([]);
  });

  it('keeps the vnet header in step: csum_start follows the L4 header through push (+18) and pop (back)', () => {
    const h = setup(3, { vnet: [true, true, true] });
    h.flow({ match: [inPort(1)], instructions: [apply({ type: 'push_pbb', ethertype: 0x88e7 }, out(2))] });
    h.flow({ match: [inPort(2)], instructions: [apply({ type: 'pop_pbb' }, out(3))] });
    const frame = loadFrame('udp4');
    const { l4 } = layout(frame);
    const vnet = new Uint8Array(10);
    vnet[0] = VNET_F_NEEDS_CSUM;
    vnet[6] = l4;
    vnet[8] = 6;
    h.ports[0].inject(frame, vnet);
    h.ports[0].wake();
    const pushed = h.ports[1].sent[0];
    expect(pushed.vnet[0] & VNET_F_NEEDS_CSUM).toBe(VNET_F_NEEDS_CSUM);
    expect(pushed.vnet[6]).toBe(l4 + 18);
    h.ports[1].inject(pushed.frame, pushed.vnet);
    h.ports[1].wake();
    const popped = h.ports[2].sent[0];
    expect(popped.frame).toEqual(frame);
    expect(popped.vnet[6]).toBe(l4);
  });

  it('pop on a frame that is not PBB changes nothing', () => {
    const h = setup(2);
    h.flow({ match: [inPort(1)], instructions: [apply({ type: 'pop_pbb' }, out(2))] });
    const f = loadFrame('udp4');
    h.send(0, f);
    expect(h.taken()[1]).toEqual([f]);
  });

  it('set-field pbb_isid rewrites the 24 I-SID bits only, and only on PBB frames', () => {
    const h = setup(2);
    h.flow({ match: [inPort(1), PBB], instructions: [apply(setField(isid(0xfedcba)), out(2))] });
    const tci = (5 << 29) | (1 << 27) | 0x000001;
    const f = pbbFrame(loadFrame('udp4'), tci);
    h.send(0, f);
    const m = h.taken()[1][0];
    expect(be32(m, 14)).toBe(((5 << 29) | (1 << 27) | 0xfedcba) >>> 0);
    expect(m.subarray(18)).toEqual(f.subarray(18));
  });

  it('later tables see the pushed key (cached path) and, after pop, the customer frame (re-parsed)', () => {
    const h = setup(3);
    h.flow({ tableId: 0, match: [inPort(1)], instructions: [apply({ type: 'push_pbb', ethertype: 0x88e7 }, setField(isid(0x000777))), gotoTable(1)] });
    h.flow({ tableId: 1, match: [PBB, isid(0x000777)], instructions: [apply(out(2))] });
    h.flow({ tableId: 0, match: [inPort(2), PBB], instructions: [apply({ type: 'pop_pbb' }), gotoTable(2)] });
    h.flow({ tableId: 2, match: [{ field: 'eth_type', value: 0x0800 }, { field: 'ip_proto', value: 17 }], instructions: [apply(out(3))] });
    const f = loadFrame('udp4');
    h.send(0, f, f);
    const pushed = h.taken()[1];
    expect(pushed).toEqual([pushedOf(f, 0x000777), pushedOf(f, 0x000777)]);
    const before = h.sw.pipeline.stats[PipelineStat.Uncacheable];
    h.send(1, pushed[0]);
    expect(h.taken()[2]).toEqual([f]);
    expect(h.sw.pipeline.stats[PipelineStat.Uncacheable]).toBe(before + 1); // pop_pbb then a lookup: re-parsed
  });

  it('conformance-suite shape: table 0 pops any frame\'s PBB header, table 1 matches the customer headers and punts them', () => {
    const h = setup(2);
    h.flow({ tableId: 0, match: [], instructions: [apply({ type: 'pop_pbb' }), gotoTable(1)] });
    h.flow({ tableId: 1, match: [{ field: 'eth_type', value: 0x0800 }, { field: 'ipv4_src', value: 0xc0000201 }], instructions: [apply(out(OFPP.CONTROLLER))] });
    h.flow({ tableId: 1, priority: 1, match: [], instructions: [apply(out(2))] });
    const udp = loadFrame('udp4'); // 192.0.2.1 -> 192.0.2.2
    h.send(0, pbbFrame(udp, 0x000064, 10));
    expect(h.events.packetIns.map((p) => Uint8Array.from(p.data))).toEqual([udp]);
    expect(h.taken()[1]).toEqual([]);
    const tcp6 = loadFrame('tcp6-data');
    h.send(0, pbbFrame(tcp6, 0x000064));
    expect(h.taken()[1]).toEqual([tcp6]); // not IPv4: table 1's lower rule
  });

  it('matches pbb_isid behind a B-TAG, masked, and punts the frame as it came', () => {
    const h = setup(2);
    h.flow({ match: [PBB, isid(96, 0xf0)], instructions: [apply(out(OFPP.CONTROLLER))] });
    const f = pbbFrame(loadFrame('arp-request'), 100, 10);
    h.send(0, f, pbbFrame(loadFrame('arp-request'), 0x10, 10));
    expect(h.events.packetIns.map((p) => Uint8Array.from(p.data))).toEqual([f]);
  });

  it('the trace shows the same bytes the port really sends', () => {
    const h = setup(2);
    h.flow({ match: [inPort(1)], instructions: [apply({ type: 'push_pbb', ethertype: 0x88e7 }, setField(isid(0x00abcd)), out(2))] });
    const f = loadFrame('udp4');
    const tr = traceFrame(h.dp, h.sw.pipeline, 1, f, h.clock.now);
    h.send(0, f);
    const real = h.taken()[1];
    const traced = tr.outputs.flatMap((o) => (o.kind === 'output' ? [Array.from(o.frame)] : []));
    expect(traced).toEqual(real.map((x) => Array.from(x)));
    expect(real).toEqual([pushedOf(f, 0x00abcd)]);
    const text = formatTrace(traceReport(tr, { why: 'test', portName: (p) => `m${p}` }));
    expect(text).toContain('push_pbb:0x88e7\n');
    expect(text).toContain('set_field:0xabcd->pbb_isid\n');
    // in_port leads a key with no protocol word: the output's flow starts at dl_src, not with a comma.
    expect(text).toMatch(/-> port 2 \(m2\): dl_src=[0-9a-f:]+,dl_dst=[0-9a-f:]+,dl_type=0x88e7,pbb_isid=0xabcd\n/);
  });

  it('write-actions: push_pbb runs after pop and push MPLS, before the set-fields', () => {
    const h = setup(2);
    h.flow({ match: [inPort(1)], instructions: [{ type: 'write_actions', actions: [setField(isid(0x000999)), out(2), { type: 'push_pbb', ethertype: 0x88e7 }] }] });
    const f = loadFrame('udp4');
    h.send(0, f);
    expect(h.taken()[1]).toEqual([pushedOf(f, 0x000999)]);
  });
});

describe('text and wire forms', () => {
  it('the trace flow syntax builds a PBB frame from pbb_isid (dl_type implied)', () => {
    const { frame } = parseTraceFlow('in_port=3,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,pbb_isid=0xabcdef');
    const p = layout(frame);
    expect(p.flags).toBe(0);
    expect(p.ethType).toBe(0x88e7);
    expect(p.keys[K.MplsLse]).toBe(0xabcdef);
    expect(() => parseTraceFlow('ip,pbb_isid=1')).toThrow(FlowSyntaxError);
    expect(() => parseTraceFlow('pbb_isid=0x1000000')).toThrow(FlowSyntaxError);
  });

  it('names the actions and the field', () => {
    expect(actionsText([{ type: 'push_pbb', ethertype: 0x88e7 }, { type: 'pop_pbb' }, setField(isid(0xabc))])).toBe('push_pbb:0x88e7,pop_pbb,set_field:0xabc->pbb_isid');
    expect(opText(Op.PushPbb, [])).toBe('push_pbb:0x88e7');
    expect(opText(Op.PopPbb, [])).toBe('pop_pbb');
    expect(matchText([PBB, isid(0x100, 0xf00)])).toBe('dl_type=0x88e7,pbb_isid=0x100/0xf00');
    expect(keyText(layout(pbbFrame(loadFrame('udp4'), 0x0abcde)).keys)).toContain('pbb_isid=0xabcde');
  });

  it('encodes push_pbb (type 26) and pop_pbb (type 27) as 8-byte actions and decodes them back', () => {
    const list: Action[] = [{ type: 'push_pbb', ethertype: 0x88e7 }, { type: 'pop_pbb' }];
    const b = Buffer.alloc(16);
    expect(encodeActions(list, b, 0)).toBe(16);
    expect([...b]).toEqual([0, 26, 0, 8, 0x88, 0xe7, 0, 0, 0, 27, 0, 8, 0, 0, 0, 0]);
    expect(decodeActions(b, 0, 16)).toEqual(list);
  });

  it('encodes pbb_isid as OXM field 37, 3 bytes, masked or not', () => {
    const m: Oxm[] = [PBB, isid(0x123456, 0xfff000)];
    const b = Buffer.alloc(matchSize(m));
    encodeMatch(m, b, 0);
    expect([...b.subarray(4 + 6, 4 + 6 + 10)]).toEqual([0x80, 0x00, 37 << 1 | 1, 6, 0x12, 0x34, 0x56, 0xff, 0xf0, 0x00]);
    expect(decodeMatch(b, 0, b.length)).toEqual(m);
  });
});
