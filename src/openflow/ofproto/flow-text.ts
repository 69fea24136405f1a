/*
 * OpenFlow things as text, in the style of ovs-ofctl (dump-flows, ofproto/
 * trace), for the management CLI: a match, actions and instructions as the
 * controller sent them, a frame's flow key, and a datapath op.
 *
 * What
 *   matchText(match)            "tcp,in_port=1,nw_dst=10.0.0.0/8,tp_dst=80"
 *   instructionsText(list)      "meter:1,dec_ttl,write_actions(output:2),goto_table:3"
 *   actionsText(list)           "set_field:00:00:00:00:00:02->eth_dst,output:2" ("drop" when empty)
 *   keyText(key)                the fields a flow key carries, the same way
 *   megaflowText(key, mask)     the fields a megaflow cache entry's mask covers, the same way
 *   opText(op, args, group, meter)  one datapath op, named like the action it came from
 *   macText / ipv4Text / ipv6Text
 *
 * Design
 *   - Field names are ovs-ofctl's where it has one (dl_src, nw_dst, tp_dst,
 *     dl_vlan, nw_tos, icmp_type...), else the OXM name; eth_type and
 *     ip_proto matched exactly fold into a protocol word (ip, tcp, arp,
 *     ipv6, udp6...) printed first, as ovs-ofctl does.
 *   - A key is read through the field table (src/flow/fields.ts): each
 *     field whose prerequisites the key meets, with its value.
 *
 * Invariants
 * - Never throws on anything the codec can decode; slow path only.
 */

import type { Action } from '../codec/v13/actions.js';
import { OFPCML, OFPP } from '../codec/v13/enums.js';
import type { Instruction } from '../codec/v13/instructions.js';
import type { Match, Oxm } from '../codec/v13/oxm.js';
import { Fid, FIELD_ID, FIELDS, Place, prereqMet, type FieldName } from '../../flow/fields.js';
import { ETH_TYPE_ARP, ETH_TYPE_IPV4, ETH_TYPE_IPV6, ETH_TYPE_MPLS, ETH_TYPE_PBB, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, K, KEY_WORDS, VLAN_PRESENT } from '../../flow/key.js';
import { Op } from '../../datapath/rules/ops.js';
import { PUNT_WHOLE_FRAME } from '../../datapath/rules/punt.js';

/** ovs-ofctl's names for the OXM fields it names differently. */
const OVS_NAME: Partial<Record<FieldName, string>> = {
  eth_src: 'dl_src', eth_dst: 'dl_dst', eth_type: 'dl_type', vlan_pcp: 'dl_vlan_pcp', ip_proto: 'nw_proto', ip_ecn: 'nw_ecn',
  ipv4_src: 'nw_src', ipv4_dst: 'nw_dst', tcp_src: 'tp_src', tcp_dst: 'tp_dst', udp_src: 'tp_src', udp_dst: 'tp_dst', sctp_src: 'tp_src',
  sctp_dst: 'tp_dst', icmpv4_type: 'icmp_type', icmpv4_code: 'icmp_code', icmpv6_type: 'icmp_type', icmpv6_code: 'icmp_code',
  ipv6_flabel: 'ipv6_label', ipv6_nd_target: 'nd_target', ipv6_nd_sll: 'nd_sll', ipv6_nd_tll: 'nd_tll', tunnel_id: 'tun_id',
};

const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

export function macText(n: number): string {
  const out: string[] = [];
  for (let i = 5; i >= 0; i--) out.push((Math.floor(n / 2 ** (8 * i)) & 0xff).toString(16).padStart(2, '0'));
  return out.join(':');
}

export function ipv4Text(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join('.');
}

export function ipv6Text(v: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(16 * i)) & 0xffffn));
  // The longest run of two or more zero groups becomes "::".
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const part = (a: number[]) => a.map((g) => g.toString(16)).join(':');
  return best < 0 ? part(groups) : `${part(groups.slice(0, best))}::${part(groups.slice(best + bestLen))}`;
}

/** Prefix length of a contiguous mask of `bits` bits, or -1. */
function prefixOf(mask: bigint, bits: number): number {
  for (let p = 0; p <= bits; p++) if (mask === ((1n << BigInt(bits)) - 1n) - ((1n << BigInt(bits - p)) - 1n)) return p;
  return -1;
}

/** A field value (and mask) in the field's usual notation. */
function valueText(field: FieldName, value: number | bigint, mask?: number | bigint): string {
  const def = FIELDS[FIELD_ID[field]];
  const one = (v: number | bigint): string => {
    if (def.bytes === 6) return macText(Number(v));
    if (field === 'ipv4_src' || field === 'ipv4_dst' || field === 'arp_spa' || field === 'arp_tpa') return ipv4Text(Number(v));
    if (def.bytes === 16) return ipv6Text(BigInt(v));
    if (def.bytes === 8 || field === 'eth_type' || field === 'ipv6_exthdr' || field === 'pbb_isid') return hex(v);
    return String(v);
  };
  if (mask === undefined) return one(value);
  if (def.bytes === 4 && (field.startsWith('ipv4') || field.startsWith('arp_'))) {
    const p = prefixOf(BigInt(mask), 32);
    if (p >= 0) return `${one(value)}/${p}`;
  }
  if (def.bytes === 16) {
    const p = prefixOf(BigInt(mask), 128);
    if (p >= 0) return `${one(value)}/${p}`;
  }
  return `${one(value)}/${def.bytes === 6 ? macText(Number(mask)) : def.bytes === 4 && field !== 'ipv6_flabel' ? ipv4Text(Number(mask)) : hex(mask)}`;
}

const PROTO_WORDS: Record<number, Record<number, string>> = {
  [ETH_TYPE_IPV4]: { [IPPROTO_TCP]: 'tcp', [IPPROTO_UDP]: 'udp', [IPPROTO_SCTP]: 'sctp', [IPPROTO_ICMP]: 'icmp' },
  [ETH_TYPE_IPV6]: { [IPPROTO_TCP]: 'tcp6', [IPPROTO_UDP]: 'udp6', [IPPROTO_SCTP]: 'sctp6', [IPPROTO_ICMPV6]: 'icmp6' },
};
const TYPE_WORDS: Record<number, string> = { [ETH_TYPE_IPV4]: 'ip', [ETH_TYPE_IPV6]: 'ipv6', [ETH_TYPE_ARP]: 'arp', [ETH_TYPE_MPLS]: 'mpls' };

/** One field of a match or key as `name=value` (vlan_vid and ip_dscp in ovs-ofctl's forms). */
function fieldText(x: Oxm): string {
  if (x.field === 'vlan_vid') {
    const v = Number(x.value), m = x.mask === undefined ? undefined : Number(x.mask);
    if (m === undefined && (v & VLAN_PRESENT) !== 0) return `dl_vlan=${v & 0xfff}`;
    return `vlan_tci=0x${v.toString(16).padStart(4, '0')}/${m === undefined ? '0x1fff' : hex(m)}`;
  }
  if (x.field === 'ip_dscp') return `nw_tos=${Number(x.value) << 2}`;
  return `${OVS_NAME[x.field] ?? x.field}=${valueText(x.field, x.value, x.mask)}`;
}

/** A match in ovs-ofctl's notation, fields in the canonical order (KEY_ORDER); empty for match-all. */
export function matchText(given: Match): string {
  const match = [...given].sort((a, b) => KEY_RANK[FIELD_ID[a.field]] - KEY_RANK[FIELD_ID[b.field]]);
  const type = match.find((x) => x.field === 'eth_type' && x.mask === undefined);
  const proto = match.find((x) => x.field === 'ip_proto' && x.mask === undefined);
  const parts: string[] = [];
  let skip = new Set<Oxm>();
  if (type !== undefined) {
    const word = proto !== undefined ? PROTO_WORDS[Number(type.value)]?.[Number(proto.value)] : undefined;
    if (word !== undefined) {
      parts.push(word);
      skip = new Set([type, proto!]);
    } else if (TYPE_WORDS[Number(type.value)] !== undefined) {
      parts.push(TYPE_WORDS[Number(type.value)]);
      skip = new Set([type]);
    }
  }
  for (const x of match) if (!skip.has(x)) parts.push(fieldText(x));
  return parts.join(',');
}

/**
 * Field rows in the order a key is printed, as ovs-ofctl does: L2 (eth_src
 * first), then L3, then L4. Every field still comes after its prerequisites.
 */
const KEY_ORDER = [
  Fid.InPort, Fid.InPhyPort, Fid.Metadata, Fid.TunnelId, Fid.EthSrc, Fid.EthDst, Fid.EthType, Fid.VlanVid, Fid.VlanPcp, Fid.MplsLabel, Fid.MplsTc,
  Fid.MplsBos, Fid.PbbIsid, Fid.IpDscp, Fid.IpEcn, Fid.IpProto, Fid.Ipv4Src, Fid.Ipv4Dst, Fid.ArpOp, Fid.ArpSpa, Fid.ArpTpa, Fid.ArpSha, Fid.ArpTha,
  Fid.Ipv6Src, Fid.Ipv6Dst, Fid.Ipv6Flabel, Fid.Ipv6Exthdr, Fid.TcpSrc, Fid.TcpDst, Fid.UdpSrc, Fid.UdpDst, Fid.SctpSrc, Fid.SctpDst,
  Fid.Icmpv4Type, Fid.Icmpv4Code, Fid.Icmpv6Type, Fid.Icmpv6Code, Fid.Ipv6NdTarget, Fid.Ipv6NdSll, Fid.Ipv6NdTll,
].map((id) => FIELDS[id]);
if (KEY_ORDER.length !== FIELDS.length) throw new Error('openflow/flow-text: KEY_ORDER does not list every field of src/flow/fields.ts');
/** Position of each field id in KEY_ORDER. */
const KEY_RANK = Int32Array.from(FIELDS, (f) => KEY_ORDER.indexOf(f));

/** The value field `def` has in row[base..] (a key or a mask row); undefined for a field the key does not carry. */
function placeValue(def: (typeof FIELDS)[number], row: Uint32Array, base: number): number | bigint | undefined {
  const k = def.key;
  switch (k.kind) {
    case Place.Bits: return ((row[base + k.word] >>> k.shift) & k.bits) >>> 0;
    case Place.MacA: return (row[base + k.word] >>> 0) * 0x10000 + (row[base + k.word + 1] >>> 16);
    case Place.MacB: return (row[base + k.word] & 0xffff) * 0x100000000 + (row[base + k.word + 1] >>> 0);
    case Place.U64: return (BigInt(row[base + k.word] >>> 0) << 32n) | BigInt(row[base + k.word + 1] >>> 0);
    case Place.U128: {
      let b = 0n;
      for (let i = 0; i < 4; i++) b = (b << 32n) | BigInt(row[base + k.word + i] >>> 0);
      return b;
    }
    default: return undefined;
  }
}

/** Each KEY_ORDER field's whole mask (megaflowText), as placeValue reads it from an all-ones row. */
const WHOLE_MASK = ((ones) => KEY_ORDER.map((def) => placeValue(def, ones, 0)))(new Uint32Array(KEY_WORDS).fill(0xffffffff));

/** The fields key row key[base..] carries (those whose prerequisites it meets), as a match; metadata and tunnel_id only when not 0. */
export function keyFields(key: Uint32Array, base = 0): Match {
  const out: Match = [];
  const values = new Map<number, number>();
  for (const def of KEY_ORDER) {
    const v = placeValue(def, key, base);
    if (v === undefined) continue;
    if (!def.prereq.every((p) => values.has(p.field) && prereqMet(p, values.get(p.field)!, undefined))) continue;
    if ((def.id === Fid.Metadata || def.id === Fid.TunnelId || def.id === Fid.Ipv6Exthdr) && (v === 0n || v === 0)) continue;
    if (def.id === Fid.VlanVid && ((v as number) & VLAN_PRESENT) === 0) {
      values.set(def.id, 0);
      continue;
    }
    if (typeof v === 'number') values.set(def.id, v);
    out.push({ field: def.name, value: v } as Oxm);
  }
  return out;
}

/**
 * A megaflow: the fields of key row key[base..] that `mask` (a row of the
 * same shape) covers, each with its mask when the mask does not cover the
 * whole field, as a match in ovs-ofctl's notation ("" when the mask covers
 * no field; a field whose prerequisites the masked key does not meet is left
 * out, as keyText does).
 */
export function megaflowText(key: Uint32Array, mask: Uint32Array, base = 0): string {
  const out: Match = [];
  const values = new Map<number, number>();
  for (const [i, def] of KEY_ORDER.entries()) {
    const v = placeValue(def, key, base), m = placeValue(def, mask, 0);
    if (v === undefined || m === undefined || m === 0 || m === 0n) continue;
    if (!def.prereq.every((p) => values.has(p.field) && prereqMet(p, values.get(p.field)!, undefined))) continue;
    const whole = m === WHOLE_MASK[i];
    if (typeof v === 'number' && whole) values.set(def.id, v);
    out.push((whole ? { field: def.name, value: v } : { field: def.name, value: v, mask: m }) as Oxm);
  }
  return matchText(out);
}

/** A frame's flow key in ovs-ofctl's notation (plus nw_ttl for IP). */
export function keyText(key: Uint32Array, base = 0): string {
  const text = matchText(keyFields(key, base));
  const type = key[base + K.EthTypeVlan] >>> 16;
  if (type !== ETH_TYPE_IPV4 && type !== ETH_TYPE_IPV6) return text;
  return `${text},nw_ttl=${(key[base + K.IpProtoTosTtlFrag] >>> 8) & 0xff}`;
}

const RESERVED_PORTS: Record<number, string> = {
  [OFPP.IN_PORT]: 'IN_PORT', [OFPP.TABLE]: 'TABLE', [OFPP.NORMAL]: 'NORMAL', [OFPP.FLOOD]: 'FLOOD', [OFPP.ALL]: 'ALL',
  [OFPP.CONTROLLER]: 'CONTROLLER', [OFPP.LOCAL]: 'LOCAL', [OFPP.ANY]: 'ANY',
};

function setFieldText(x: Oxm): string {
  return `set_field:${valueText(x.field, x.value)}->${x.field}`;
}

export function actionText(a: Action): string {
  switch (a.type) {
    case 'output':
      if (a.port >>> 0 === OFPP.CONTROLLER) return `CONTROLLER:${a.maxLen === OFPCML.NO_BUFFER ? 65535 : a.maxLen}`;
      return RESERVED_PORTS[a.port >>> 0] ?? `output:${a.port >>> 0}`;
    case 'group': return `group:${a.groupId >>> 0}`;
    case 'set_queue': return `set_queue:${a.queueId >>> 0}`;
    case 'push_vlan': case 'push_mpls': case 'push_pbb': case 'pop_mpls': return `${a.type}:${hex(a.ethertype)}`;
    case 'set_mpls_ttl': return `set_mpls_ttl:${a.mplsTtl}`;
    case 'set_nw_ttl': return `set_nw_ttl:${a.nwTtl}`;
    case 'dec_nw_ttl': return 'dec_ttl';
    case 'set_field': return setFieldText(a.field);
    case 'experimenter': return `experimenter:${hex(a.experimenter)}`;
    default: return a.type;
  }
}

export function actionsText(list: readonly Action[]): string {
  return list.length === 0 ? 'drop' : list.map(actionText).join(',');
}

/** Instructions as ovs-ofctl prints a flow's actions ("drop" when there are none). */
export function instructionsText(list: readonly Instruction[]): string {
  const parts: string[] = [];
  for (const i of list) {
    switch (i.type) {
      case 'apply_actions': if (i.actions.length > 0) parts.push(actionsText(i.actions)); break;
      case 'write_actions': parts.push(`write_actions(${i.actions.map(actionText).join(',')})`); break;
      case 'clear_actions': parts.push('clear_actions'); break;
      case 'write_metadata': parts.push(`write_metadata:${hex(i.metadata)}${i.metadataMask === 0xffffffffffffffffn ? '' : `/${hex(i.metadataMask)}`}`); break;
      case 'goto_table': parts.push(`goto_table:${i.tableId}`); break;
      case 'meter': parts.push(`meter:${i.meterId >>> 0}`); break;
      default: parts.push(`experimenter:${hex(i.experimenter)}`);
    }
  }
  return parts.length === 0 ? 'drop' : parts.join(',');
}

/** The value of a set-field op's words (the layout src/datapath/rules/ops.ts documents) as the field's value. */
function opFieldValue(fid: number, w: number[]): number | bigint {
  const u = (x: number) => BigInt(x >>> 0);
  switch (FIELDS[fid].bytes) {
    case 16: return (u(w[0]) << 96n) | (u(w[1]) << 64n) | (u(w[2]) << 32n) | u(w[3]);
    case 8: return (u(w[0]) << 32n) | u(w[1]);
    case 6: return (w[0] & 0xffff) * 0x100000000 + (w[1] >>> 0);
    default: return w[0] >>> 0;
  }
}

/** One datapath op, named like the OpenFlow action it was compiled from. */
export function opText(op: Op, args: readonly number[], groupId = -1, meterId = -1): string {
  switch (op) {
    case Op.End: return 'end';
    case Op.Output: return `output:${args[0] >>> 0}`;
    case Op.InPort: return 'IN_PORT';
    case Op.All: return 'ALL';
    case Op.Flood: return 'FLOOD';
    case Op.Normal: return 'NORMAL';
    case Op.Local: return 'LOCAL';
    case Op.Table: return 'TABLE';
    case Op.Controller: return args[0] === PUNT_WHOLE_FRAME ? 'CONTROLLER' : `CONTROLLER:${args[0]}`;
    case Op.Group: return `group:${groupId >>> 0}`;
    case Op.SetField: {
      const def = FIELDS[args[0]];
      if (def === undefined) return `set_field:?->field${args[0]}`;
      return `set_field:${valueText(def.name, opFieldValue(args[0], args.slice(1)))}->${def.name}`;
    }
    case Op.PushVlan: return `push_vlan:${hex(args[0])}`;
    case Op.PopVlan: return 'pop_vlan';
    case Op.PushMpls: return `push_mpls:${hex(args[0])}`;
    case Op.PopMpls: return `pop_mpls:${hex(args[0])}`;
    case Op.SetNwTtl: return `set_nw_ttl:${args[0]}`;
    case Op.DecNwTtl: return 'dec_ttl';
    case Op.SetMplsTtl: return `set_mpls_ttl:${args[0]}`;
    case Op.DecMplsTtl: return 'dec_mpls_ttl';
    case Op.CopyTtlOut: return 'copy_ttl_out';
    case Op.CopyTtlIn: return 'copy_ttl_in';
    case Op.SetQueue: return `set_queue:${args[0] >>> 0}`;
    case Op.WriteMetadata: {
      const v = (BigInt(args[0] >>> 0) << 32n) | BigInt(args[1] >>> 0);
      const m = (BigInt(args[2] >>> 0) << 32n) | BigInt(args[3] >>> 0);
      return `write_metadata:${hex(v)}${m === 0xffffffffffffffffn ? '' : `/${hex(m)}`}`;
    }
    case Op.Meter: return `meter:${meterId >>> 0}`;
    case Op.CountTable: return `count_table:${args[0]}`;
    case Op.CountFlow: return `count_flow:${args[0]}`;
    case Op.MissDrop: return `miss_drop:${args[0]}`;
    case Op.PushPbb: return `push_pbb:${hex(ETH_TYPE_PBB)}`;
    case Op.PopPbb: return 'pop_pbb';
    default: return `op${op as number}`;
  }
}
