/*
 * An independent decoder checks our encoder: every fixture message is
 * encoded by linc-ts and given to `ovs-ofctl ofp-print` (Open vSwitch's
 * OpenFlow printer). The output must carry no decode error, and for the
 * hand-made fixtures (messages the switch sends, which no independent
 * encoder produced for us) it must show every field value we put in.
 *
 * Needs /usr/bin/ovs-ofctl (Debian package openvswitch-common); skipped
 * with a warning without it, a failure under CI=true (test/helpers/requirements.ts).
 */

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../../../src/openflow/codec/codec.js';
import type { OfpMessage } from '../../../src/openflow/codec/v13/message.js';
import { fixtureNames, readJsonFixture } from './fixtures.js';
import { missing, tool } from '../../helpers/requirements.js';

const OVS_OFCTL = '/usr/bin/ovs-ofctl';

/** ofp-print output with runs of whitespace collapsed, so multi-line output can be matched as one line. */
function ofpPrint(bytes: Buffer): string {
  const out = execFileSync(OVS_OFCTL, ['ofp-print', bytes.toString('hex')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return out.replace(/\s+/g, ' ').trim();
}

/** ofp-print notes ("***...***") that are expected: truncation the spec allows, error data cut to 64 bytes. */
const ALLOWED_NOTES: Record<string, RegExp> = {
  packet_in: /\(\*\*\*total_len != data_len\*\*\*\)/g,
  error_bad_action: /\(\*\*\*truncated to 64 bytes from 88\*\*\*\)/g,
  error_experimenter: /\(\*\*\*truncated to 8 bytes from 16\*\*\*\)/g,
};

/** What ofp-print must show for each hand-made fixture (whitespace collapsed). */
const EXPECT: Record<string, string[]> = {
  features_reply: ['OFPT_FEATURES_REPLY (OF1.3) (xid=0x2): dpid:0000aabbccddeeff n_tables:64, n_buffers:0 capabilities: FLOW_STATS TABLE_STATS PORT_STATS GROUP_STATS QUEUE_STATS'],
  get_config_reply: ['OFPT_GET_CONFIG_REPLY (OF1.3) (xid=0x3): frags=reassemble miss_send_len=1500'],
  port_status: [
    'OFPT_PORT_STATUS (OF1.3) (xid=0x0): MOD: 7(veth-h1): addr:0a:1b:2c:3d:4e:5f config: PORT_DOWN NO_PACKET_IN state: LIVE',
    'current: 10GB-FD FIBER advertised: 1GB-FD AUTO_NEG supported: 1GB-FD 10GB-FD AUTO_NEG peer: 1GB-FD speed: 10000 Mbps now, 40000 Mbps max',
  ],
  packet_in: [
    'OFPT_PACKET_IN (OF1.3) (xid=0x0): table_id=3 cookie=0x123456789abcdef total_len=60 in_port=5 (via action) data_len=42 (unbuffered)',
    'arp,vlan_tci=0x0000,dl_src=0a:1b:2c:3d:4e:5f,dl_dst=ff:ff:ff:ff:ff:ff,arp_spa=10.0.0.1,arp_tpa=10.0.0.2,arp_op=1',
  ],
  packet_in_no_match: ['total_len=42 tun_id=0x77,metadata=0xa5a5000000000001,in_port=6 (via no_match) data_len=42 (unbuffered)'],
  flow_removed: ['priority=1000,udp,nw_dst=10.0.0.0/8,tp_dst=4789 reason=hard table_id=2 cookie:0xfeedface duration123.000456s idle10 hard20 pkts1234567 bytes987654321'],
  error_bad_action: ['OFPT_ERROR (OF1.3) (xid=0x11): OFPBAC_BAD_TYPE OFPT_FLOW_MOD (OF1.3) (xid=0x11)'],
  error_hello_failed: ['OFPT_ERROR (OF1.3) (xid=0x0): OFPHFC_INCOMPATIBLE linc-ts speaks OpenFlow 1.3 (0x04) only'],
  error_experimenter: ['OFPT_ERROR (OF1.3) (xid=0x12)', '04 04 00 10 00 00 00 12'],
  echo_reply: ['OFPT_ECHO_REPLY (OF1.3) (xid=0x21): 12 bytes of payload', '01 23 45 67 89 ab cd ef-fe dc ba 98'],
  barrier_reply: ['OFPT_BARRIER_REPLY (OF1.3) (xid=0x22):'],
  role_request: ['OFPT_ROLE_REQUEST (OF1.3) (xid=0x23): role=primary generation_id=1234605616436508552'],
  role_reply: ['OFPT_ROLE_REPLY (OF1.3) (xid=0x24): role=secondary generation_id=5'],
  get_async_request: ['OFPT_GET_ASYNC_REQUEST (OF1.3) (xid=0x25):'],
  get_async_reply: [
    'primary: PACKET_IN: no_match action PORT_STATUS: add delete modify FLOW_REMOVED: idle hard delete group_delete',
    'secondary: PACKET_IN: no_match PORT_STATUS: modify FLOW_REMOVED: hard',
  ],
  set_async: [
    'primary: PACKET_IN: no_match PORT_STATUS: add modify FLOW_REMOVED: hard delete',
    'secondary: PACKET_IN: (off) PORT_STATUS: add delete FLOW_REMOVED: group_delete',
  ],
  experimenter: ['NXT_SET_CONTROLLER_ID (OF1.3) (xid=0x28): id=515'],
  table_mod: ['OFPT_TABLE_MOD (OF1.3) (xid=0x29): table_id=4'],
  queue_get_config_reply: ['(xid=0x2a): port=3 queue 1: min_rate:10.0% max_rate:90.0% queue 2: max_rate:50.0%'],
  mp_desc_reply: ['Manufacturer: linc-ts project Hardware: userspace datapath Software: linc-ts 0.1.0 Serial Num: SN-0042 DP Description: br0 under test'],
  mp_flow_reply: [
    'cookie=0x1122334455667788, duration=61.500s, table=1, n_packets=42, n_bytes=4200, idle_timeout=30, hard_timeout=60, send_flow_rem priority=100,in_port=3,dl_vlan=101,dl_dst=01:00:5e:00:00:00/ff:ff:ff:80:00:00 actions=meter:2,pop_vlan,output:4,write_metadata:0xabcd/0xffff,goto_table:2',
    'cookie=0x0, duration=5.000000007s, table=0, n_packets=9, n_bytes=540, priority=0 actions=CONTROLLER:65535',
  ],
  mp_aggregate_reply: ['OFPST_AGGREGATE reply (OF1.3) (xid=0x32): packet_count=100 byte_count=64000 flow_count=7'],
  mp_table_reply: ['table 0: active=4, lookup=1000, matched=990 table 1: active=2, lookup=300, matched=120'],
  mp_port_stats_reply: ['port 2: rx pkts=11, bytes=1300, drop=15, errs=17, frame=19, over=20, crc=21 tx pkts=12, bytes=1400, drop=16, errs=18, coll=22 duration=3600.00000025s'],
  mp_queue_reply: ['port 3 queue 1: bytes=8800, pkts=88, errors=1, duration=77.000000066s'],
  mp_group_reply: ['group_id=5,duration=90.00000001s,ref_count=2,packet_count=300,byte_count=45000,bucket0:packet_count=100,byte_count=15000,bucket1:packet_count=200,byte_count=30000'],
  mp_group_desc_reply: [
    'group_id=2,type=select,bucket=weight:10,actions=output:1,bucket=weight:20,actions=set_field:02:00:00:00:00:09->eth_src,output:2',
    'group_id=4,type=ff,bucket=watch_port:1,actions=output:1,bucket=watch_group:2,actions=group:2',
  ],
  mp_group_features_reply: [
    'Types: 0xf Capabilities: 0x5 all group: max_groups=0x3e8 actions: output select group: max_groups=0x1f4 actions: output group',
    'indirect group: max_groups=0xfa actions: output dec_mpls_ttl fast failover group: max_groups=0x7d actions: output',
  ],
  mp_meter_reply: ['meter:3 flow_count:4 packet_in_count:5000 byte_in_count:640000 duration:33.000000044s bands: 0: packet_count:12 byte_count:1536 1: packet_count:34 byte_count:4352'],
  mp_meter_config_reply: [
    'meter=3 pktps burst bands= type=drop rate=900 burst_size=30 type=dscp_remark rate=300 burst_size=10 prec_level=2',
    'meter=controller kbps bands= type=drop rate=100',
  ],
  mp_meter_features_reply: ['max_meter:1024 max_bands:2 max_color:0 band_types: drop dscp_remark capabilities: kbps pktps burst stats'],
  mp_table_features_reply: [
    'table 0 ("classifier"): metadata: match=0xffffffffffffffff write=0xffffffff00000000 max_entries=65536',
    'instructions (other than table miss): next tables: 1-3 instructions: meter apply_actions clear_actions write_actions write_metadata goto_table',
    'Write-Actions features: actions: output group set_field supported on Set-Field: eth_dst',
    'Apply-Actions features: actions: output set_field strip_vlan push_vlan push_mpls pop_mpls supported on Set-Field: eth_src vlan_vid',
    'instructions (table miss): next tables: 1 instructions: apply_actions goto_table Write-Actions features: actions: output Apply-Actions features: actions: output supported on Set-Field: vlan_vid',
    'matching: arbitrary mask: eth_dst ip_src must exact match: in_port_oxm eth_type',
  ],
  mp_port_desc_reply: [
    'OFPST_PORT_DESC reply (OF1.3) (xid=0x3d): flags=[more]',
    '1(tap0): addr:02:00:00:00:00:01 config: 0 state: LIVE current: 1GB-FD COPPER AUTO_NEG speed: 1000 Mbps now, 1000 Mbps max',
    'LOCAL(br0): addr:02:00:00:00:0a:bc config: PORT_DOWN state: LINK_DOWN speed: 0 Mbps now, 0 Mbps max',
  ],
  mp_experimenter_request: ['NXST_IPFIX_BRIDGE request (OF1.3) (xid=0x3e):'],
  mp_experimenter_reply: ['bridge ipfix: flows=11, current flows=22, sampled pkts=33, ipv4 ok=44, ipv6 ok=55, tx pkts=99 pkts errs=66, ipv4 errs=77, ipv6 errs=88, tx errs=110'],
};

describe.skipIf(missing(tool(OVS_OFCTL)))('ovs-ofctl ofp-print reads what linc-ts encodes', () => {
  const names = fixtureNames();

  it('covers every hand-made fixture', () => {
    for (const n of Object.keys(EXPECT)) expect(names).toContain(n);
  });

  it.each(names)('%s', (name) => {
    const text = ofpPrint(encodeMessage(readJsonFixture(name) as OfpMessage));
    const rest = ALLOWED_NOTES[name] ? text.replace(ALLOWED_NOTES[name], '') : text;
    expect(rest).not.toMatch(/decode error|\*\*\*/);
    for (const want of EXPECT[name] ?? []) expect(text).toContain(want);
  });
});
