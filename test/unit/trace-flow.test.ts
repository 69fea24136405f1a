/*
 * The flow syntax of `linc-ts trace` (src/openflow/ofproto/trace-flow.ts):
 * each field lands where the switch's own parser finds it, checksums are
 * right, and every mistake is one sentence naming the field; and the
 * ovs-ofctl-style text of matches, instructions and keys (flow-text.ts).
 */

import { describe, expect, it } from 'vitest';
import { K } from '../../src/flow/key.js';
import { instructionsText, keyText, matchText, opText } from '../../src/openflow/ofproto/flow-text.js';
import { FlowSyntaxError, inPortOf, parseFrameHex, parseTraceFlow } from '../../src/openflow/ofproto/trace-flow.js';
import { Op } from '../../src/datapath/rules/ops.js';
import { badChecksums, layout } from '../helpers/of-harness.js';

const parsed = (flow: string) => {
  const { inPort, frame } = parseTraceFlow(flow);
  return { inPort, frame, ...layout(frame) };
};

describe('trace flow syntax -> frame', () => {
  it('builds TCP over IPv4 with the addresses, ports and TTL given, and right checksums', () => {
    const p = parsed('in_port=1,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=1234,tp_dst=80,nw_ttl=9,nw_tos=0x20,tcp_flags=0x12');
    expect(p.inPort).toBe('1');
    expect(p.flags).toBe(0);
    expect(p.frame.length).toBe(60);
    expect(badChecksums(p.frame)).toEqual([]);
    expect(keyText(p.keys)).toBe(
      'tcp,in_port=1,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,nw_tos=32,nw_ecn=0,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=1234,tp_dst=80,nw_ttl=9',
    );
    expect(p.keys[K.TcpFlags]).toBe(0x12);
  });

  it('builds UDP and ICMP over IPv4, a VLAN tag, IPv6 with TCP and ICMPv6, and ARP', () => {
    const udp = parsed('in_port=p1,udp,dl_vlan=10,dl_vlan_pcp=5,nw_dst=192.168.1.1,tp_dst=53');
    expect(udp.inPort).toBe('p1');
    expect(keyText(udp.keys)).toMatch(/^udp,in_port=1,.*dl_vlan=10,dl_vlan_pcp=5,.*nw_dst=192\.168\.1\.1,tp_src=0,tp_dst=53,nw_ttl=64$/);
    expect(badChecksums(udp.frame)).toEqual([]);
    const icmp = parsed('icmp,icmp_type=8,icmp_code=0,nw_src=1.2.3.4');
    expect(keyText(icmp.keys)).toMatch(/^icmp,.*nw_src=1\.2\.3\.4,nw_dst=0\.0\.0\.0,icmp_type=8,icmp_code=0/);
    expect(badChecksums(icmp.frame)).toEqual([]);
    const v6 = parsed('tcp6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8:0:0:1::2,tp_dst=443,ipv6_label=0x12345');
    expect(v6.flags).toBe(0);
    expect(keyText(v6.keys)).toMatch(/^tcp6,.*ipv6_src=2001:db8::1,ipv6_dst=2001:db8::1:0:0:2,ipv6_label=74565,tp_src=0,tp_dst=443/);
    expect(badChecksums(v6.frame)).toEqual([]);
    const nd = parsed('icmp6,icmp_type=128,ipv6_dst=::ffff:10.0.0.1');
    expect(keyText(nd.keys)).toMatch(/ipv6_dst=::ffff:a00:1,.*icmp_type=128/);
    expect(badChecksums(nd.frame)).toEqual([]);
    const arp = parsed('arp,dl_src=02:00:00:00:00:01,nw_src=10.0.0.1,arp_tpa=10.0.0.2');
    expect(keyText(arp.keys)).toBe('arp,in_port=1,dl_src=02:00:00:00:00:01,dl_dst=00:00:00:00:00:00,arp_op=1,arp_spa=10.0.0.1,arp_tpa=10.0.0.2,arp_sha=02:00:00:00:00:01,arp_tha=00:00:00:00:00:00');
  });

  it('takes OXM names, dl_type, and fields that imply their protocol', () => {
    expect(keyText(parsed('eth_type=0x0800,ip_proto=17,udp_dst=7').keys)).toMatch(/^udp,.*tp_dst=7/);
    expect(keyText(parsed('nw_dst=10.1.1.1').keys)).toMatch(/^ip,.*nw_dst=10\.1\.1\.1/);
    expect(keyText(parsed('ipv6_dst=fe80::1').keys)).toMatch(/^ipv6,.*nw_proto=59,/);
    expect(keyText(parsed('dl_type=0x88cc').keys)).toMatch(/dl_type=0x88cc/);
  });

  it('refuses mistakes with one sentence naming the field', () => {
    const bad: Array<[string, RegExp]> = [
      ['tcp,tp_dts=80', /^unknown field "tp_dts" \(did you mean tp_dst\?\)$/],
      ['tpc', /^"tpc" is not a protocol word or a field=value \(did you mean tcp\?\)$/],
      ['dl_src=02:00:00:00:00', /^dl_src: "02:00:00:00:00" is not a MAC address/],
      ['nw_dst=10.0.0.256', /^nw_dst: "10\.0\.0\.256" is not an IPv4 address$/],
      ['ipv6_dst=1::2::3', /^ipv6_dst: "1::2::3" is not an IPv6 address$/],
      ['udp,tp_dst=70000', /^tp_dst: "70000" is not a number in 0\.\.65535$/],
      ['ip,tp_dst=80', /^tp_dst needs tcp or udp$/],
      ['arp,tcp', /^tcp contradicts arp$/],
      ['ipv6,nw_src=10.0.0.1', /^nw_src needs dl_type=0x0800/],
      ['arp,nw_ttl=3', /^nw_ttl needs ip or ipv6$/],
      ['udp,icmp_type=3', /^icmp_type needs icmp$/],
      ['in_port=1,in_port=2', /^in_port is given twice$/],
      ['dl_vlan=4096', /^dl_vlan: "4096" is not a number in 0\.\.4095$/],
      ['in_port=', /^in_port has no value$/],
    ];
    for (const [flow, msg] of bad) expect(() => parseTraceFlow(flow), flow).toThrow(msg);
    expect(() => parseTraceFlow('tcp,tp_dts=80')).toThrow(FlowSyntaxError);
  });

  it('reads a frame as hex, and an in_port-only flow to go with it', () => {
    expect(Array.from(parseFrameHex('0x01 02:0a-ff'))).toEqual([1, 2, 10, 255]);
    expect(() => parseFrameHex('abc')).toThrow(/not an even number of hex digits/);
    expect(() => parseFrameHex('zz')).toThrow(FlowSyntaxError);
    expect(inPortOf('in_port=tap0')).toBe('tap0');
    expect(() => inPortOf('in_port=1,tcp')).toThrow(/only in_port/);
  });
});

describe('ovs-ofctl-style text', () => {
  it('shows matches with protocol words and masks', () => {
    expect(matchText([{ field: 'in_port', value: 1 }, { field: 'eth_type', value: 0x0800 }, { field: 'ip_proto', value: 6 }, { field: 'tcp_dst', value: 80 }])).toBe('tcp,in_port=1,tp_dst=80');
    expect(matchText([{ field: 'eth_type', value: 0x0800 }, { field: 'ipv4_dst', value: 0x0a000000, mask: 0xff000000 }])).toBe('ip,nw_dst=10.0.0.0/8');
    expect(matchText([{ field: 'eth_dst', value: 0x010000000000, mask: 0x010000000000 }])).toBe('dl_dst=01:00:00:00:00:00/01:00:00:00:00:00');
    expect(matchText([{ field: 'vlan_vid', value: 0x1000 | 10 }, { field: 'metadata', value: 5n, mask: 0xffn }])).toBe('metadata=0x5/0xff,dl_vlan=10');
    expect(matchText([{ field: 'vlan_vid', value: 0 }])).toBe('vlan_tci=0x0000/0x1fff');
    expect(matchText([{ field: 'eth_type', value: 0x86dd }, { field: 'ipv6_src', value: 0x20010db8n << 96n, mask: ((1n << 32n) - 1n) << 96n }])).toBe('ipv6,ipv6_src=2001:db8::/32');
    expect(matchText([])).toBe('');
  });

  it('shows instructions and actions as ovs-ofctl prints a flow\'s actions', () => {
    expect(
      instructionsText([
        { type: 'meter', meterId: 3 },
        { type: 'apply_actions', actions: [{ type: 'dec_nw_ttl' }, { type: 'set_field', field: { field: 'eth_dst', value: 2 } }, { type: 'output', port: 0xfffffffd, maxLen: 0xffff }] },
        { type: 'write_actions', actions: [{ type: 'group', groupId: 4 }] },
        { type: 'write_metadata', metadata: 1n, metadataMask: 0xffffffffffffffffn },
        { type: 'goto_table', tableId: 2 },
      ]),
    ).toBe('meter:3,dec_ttl,set_field:00:00:00:00:00:02->eth_dst,CONTROLLER:65535,write_actions(group:4),write_metadata:0x1,goto_table:2');
    expect(instructionsText([])).toBe('drop');
  });

  it('names every datapath op', () => {
    for (let op = 0; op < Op.COUNT; op++) expect(opText(op as Op, [1, 2, 3, 4, 5], 7, 8), `op ${op}`).not.toMatch(/^op\d+$/);
    expect(opText(Op.SetField, [12, 0x0a000001, 0, 0, 0])).toBe('set_field:10.0.0.1->ipv4_dst');
    expect(opText(Op.Group, [0], 7)).toBe('group:7');
    expect(opText(Op.WriteMetadata, [0, 5, 0, 0xff])).toBe('write_metadata:0x5/0xff');
  });
});
