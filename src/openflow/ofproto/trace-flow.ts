/*
 * The flow a `linc-ts trace` is asked about, in a subset of ovs-ofctl's flow
 * syntax, turned into the frame it describes (what OVS's ofproto/trace
 * takes as a flow), or a frame given as hex.
 *
 *   in_port=1,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_dst=80
 *
 * Fields: in_port (a number or a port name), dl_src, dl_dst, dl_vlan,
 * dl_vlan_pcp, dl_type; ip, ipv6, arp, tcp, udp, icmp, tcp6, udp6, icmp6
 * (protocol words); nw_src, nw_dst (IPv4, or the ARP addresses with arp),
 * ipv6_src, ipv6_dst, ipv6_label, nw_proto, nw_tos, nw_ecn, nw_ttl, tp_src,
 * tp_dst, tcp_flags, icmp_type, icmp_code, arp_op, arp_spa, arp_tpa,
 * arp_sha, arp_tha, pbb_isid (a PBB I-TAG whose customer MACs are dl_dst
 * and dl_src) (and the OXM names eth_src, ipv4_dst, tcp_dst... for the
 * same fields). What is not given is 0, as in OVS, except nw_ttl (64),
 * arp_op (1, a request) and an IPv6 header's next header with no protocol
 * given (59, none).
 *
 * Invariants
 * - Every refusal is a FlowSyntaxError with one sentence naming the field
 *   (and the closest known name for an unknown one); nothing else throws.
 * - Built frames have correct IPv4 header and TCP/UDP/ICMP checksums and
 *   are padded to the 60-byte Ethernet minimum.
 */

import { internetChecksum, onesComplementSum } from '../../packet/checksum.js';
import { ETH_TYPE_ARP, ETH_TYPE_IPV4, ETH_TYPE_IPV6, ETH_TYPE_PBB, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from '../../flow/key.js';

export class FlowSyntaxError extends Error {
  readonly code = 'LINC_ERR_FLOW_SYNTAX';
}

/** A flow to trace: the in port as given (number or name; null when not given) and the frame. */
export interface TraceFlow {
  inPort: string | null;
  frame: Uint8Array;
}

type Kind = 'mac' | 'ipv4' | 'ipv6' | 'port' | 'u8' | 'u16' | 'u32' | 'vid' | 'pcp' | 'u20' | 'u12' | 'u24';

/** Field names and aliases -> the canonical name and value kind. */
const FIELD_SYNTAX: Record<string, [string, Kind]> = {
  in_port: ['in_port', 'port'],
  dl_src: ['dl_src', 'mac'], eth_src: ['dl_src', 'mac'],
  dl_dst: ['dl_dst', 'mac'], eth_dst: ['dl_dst', 'mac'],
  dl_vlan: ['dl_vlan', 'vid'], vlan_vid: ['dl_vlan', 'vid'],
  dl_vlan_pcp: ['dl_vlan_pcp', 'pcp'], vlan_pcp: ['dl_vlan_pcp', 'pcp'],
  dl_type: ['dl_type', 'u16'], eth_type: ['dl_type', 'u16'],
  nw_src: ['nw_src', 'ipv4'], ipv4_src: ['nw_src', 'ipv4'],
  nw_dst: ['nw_dst', 'ipv4'], ipv4_dst: ['nw_dst', 'ipv4'],
  ipv6_src: ['ipv6_src', 'ipv6'], ipv6_dst: ['ipv6_dst', 'ipv6'], ipv6_label: ['ipv6_label', 'u20'],
  nw_proto: ['nw_proto', 'u8'], ip_proto: ['nw_proto', 'u8'],
  nw_tos: ['nw_tos', 'u8'], nw_ecn: ['nw_ecn', 'u8'], ip_ecn: ['nw_ecn', 'u8'], nw_ttl: ['nw_ttl', 'u8'],
  tp_src: ['tp_src', 'u16'], tcp_src: ['tp_src', 'u16'], udp_src: ['tp_src', 'u16'],
  tp_dst: ['tp_dst', 'u16'], tcp_dst: ['tp_dst', 'u16'], udp_dst: ['tp_dst', 'u16'],
  tcp_flags: ['tcp_flags', 'u12'],
  icmp_type: ['icmp_type', 'u8'], icmpv4_type: ['icmp_type', 'u8'], icmpv6_type: ['icmp_type', 'u8'],
  icmp_code: ['icmp_code', 'u8'], icmpv4_code: ['icmp_code', 'u8'], icmpv6_code: ['icmp_code', 'u8'],
  pbb_isid: ['pbb_isid', 'u24'],
  arp_op: ['arp_op', 'u16'], arp_spa: ['arp_spa', 'ipv4'], arp_tpa: ['arp_tpa', 'ipv4'], arp_sha: ['arp_sha', 'mac'], arp_tha: ['arp_tha', 'mac'],
};

/** Protocol words: [eth_type, ip_proto or -1]. */
const PROTOCOLS: Record<string, [number, number]> = {
  ip: [ETH_TYPE_IPV4, -1], ipv4: [ETH_TYPE_IPV4, -1], ipv6: [ETH_TYPE_IPV6, -1], arp: [ETH_TYPE_ARP, -1],
  tcp: [ETH_TYPE_IPV4, IPPROTO_TCP], udp: [ETH_TYPE_IPV4, IPPROTO_UDP], icmp: [ETH_TYPE_IPV4, IPPROTO_ICMP],
  tcp6: [ETH_TYPE_IPV6, IPPROTO_TCP], udp6: [ETH_TYPE_IPV6, IPPROTO_UDP], icmp6: [ETH_TYPE_IPV6, IPPROTO_ICMPV6],
};

/** Edit distance with adjacent transpositions counting one (optimal string alignment). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** " (did you mean X?)" for the known name closest to `name`, if one is close. */
function suggestion(name: string): string {
  let best = '', bestD = Infinity;
  for (const known of [...Object.keys(FIELD_SYNTAX), ...Object.keys(PROTOCOLS)]) {
    const d = distance(name, known);
    if (d < bestD) [best, bestD] = [known, d];
  }
  return bestD <= Math.max(1, Math.floor(name.length / 3)) ? ` (did you mean ${best}?)` : '';
}

function parseMac(name: string, s: string): number {
  if (!/^[0-9a-f]{1,2}(:[0-9a-f]{1,2}){5}$/i.test(s)) throw new FlowSyntaxError(`${name}: "${s}" is not a MAC address (xx:xx:xx:xx:xx:xx)`);
  return s.split(':').reduce((a, h) => a * 256 + parseInt(h, 16), 0);
}

function parseIpv4(name: string, s: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (m === null || m.slice(1).some((x) => Number(x) > 255)) throw new FlowSyntaxError(`${name}: "${s}" is not an IPv4 address`);
  return m.slice(1).reduce((a, x) => a * 256 + Number(x), 0);
}

function parseIpv6(name: string, s: string): bigint {
  const bad = () => new FlowSyntaxError(`${name}: "${s}" is not an IPv6 address`);
  let text = s;
  const v4 = /^(.*:)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(s);
  if (v4 !== null) {
    const n = parseIpv4(name, v4[2]);
    text = `${v4[1]}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) throw bad();
  const part = (h: string) => (h === '' ? [] : h.split(':'));
  const head = part(halves[0]), tail = halves.length === 2 ? part(halves[1]) : [];
  const fill = 8 - head.length - tail.length;
  if ((halves.length === 2 ? fill < 1 : fill !== 0)) throw bad();
  const groups = [...head, ...new Array<string>(halves.length === 2 ? fill : 0).fill('0'), ...tail];
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) throw bad();
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
}

function parseInteger(name: string, s: string, max: number): number {
  const n = /^0x[0-9a-f]+$/i.test(s) ? parseInt(s, 16) : /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isInteger(n) || n > max) throw new FlowSyntaxError(`${name}: "${s}" is not a number in 0..${max}`);
  return n;
}

const IPV6_NO_NEXT_HEADER = 59;

const MAX: Record<string, number> = { u8: 0xff, u12: 0xfff, u16: 0xffff, u20: 0xfffff, u24: 0xffffff, u32: 0xffffffff, vid: 0xfff, pcp: 7 };

/** Parses `text` (a flow in the syntax above) into the frame it describes. */
export function parseTraceFlow(text: string): TraceFlow {
  const values = new Map<string, number | bigint | string>();
  let ethType = -1, proto = -1, protoWord = '';
  for (const raw of text.split(/[,\s]+/)) {
    const item = raw.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    const name = (eq < 0 ? item : item.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      const p = PROTOCOLS[name];
      if (p === undefined) throw new FlowSyntaxError(`"${name}" is not a protocol word or a field=value${suggestion(name)}`);
      if (protoWord !== '' && (ethType !== p[0] || (proto >= 0 && p[1] >= 0 && proto !== p[1]))) {
        throw new FlowSyntaxError(`${name} contradicts ${protoWord}`);
      }
      protoWord = protoWord === '' || p[1] >= 0 ? name : protoWord;
      ethType = p[0];
      if (p[1] >= 0) proto = p[1];
      continue;
    }
    const f = FIELD_SYNTAX[name];
    if (f === undefined) throw new FlowSyntaxError(`unknown field "${name}"${suggestion(name)}`);
    const [canon, kind] = f;
    const value = item.slice(eq + 1);
    if (values.has(canon)) throw new FlowSyntaxError(`${canon} is given twice`);
    if (value === '') throw new FlowSyntaxError(`${name} has no value`);
    values.set(
      canon,
      kind === 'mac' ? parseMac(name, value) : kind === 'ipv4' ? parseIpv4(name, value) : kind === 'ipv6' ? parseIpv6(name, value)
      : kind === 'port' ? value : parseInteger(name, value, MAX[kind]),
    );
  }
  const num = (k: string, dflt = 0) => (values.get(k) as number | undefined) ?? dflt;
  // eth_type: a protocol word, dl_type, or what the fields given imply.
  const given = values.get('dl_type') as number | undefined;
  if (given !== undefined && ethType >= 0 && given !== ethType) throw new FlowSyntaxError(`dl_type=0x${given.toString(16)} contradicts ${protoWord}`);
  if (ethType < 0) ethType = given ?? -1;
  const has = (...ks: string[]) => ks.filter((k) => values.has(k));
  const implied = (type: number, fields: string[]) => {
    const named = has(...fields);
    if (named.length === 0) return;
    if (ethType < 0) ethType = type;
    else if (ethType !== type) throw new FlowSyntaxError(`${named[0]} needs dl_type=0x${type.toString(16).padStart(4, '0')} (it is 0x${ethType.toString(16).padStart(4, '0')})`);
  };
  implied(ETH_TYPE_PBB, ['pbb_isid']);
  implied(ETH_TYPE_ARP, ['arp_op', 'arp_spa', 'arp_tpa', 'arp_sha', 'arp_tha']);
  implied(ETH_TYPE_IPV6, ['ipv6_src', 'ipv6_dst', 'ipv6_label']);
  if (ethType !== ETH_TYPE_ARP) implied(ETH_TYPE_IPV4, ['nw_src', 'nw_dst']);
  const isIp = ethType === ETH_TYPE_IPV4 || ethType === ETH_TYPE_IPV6;
  const ipOnly = has('nw_proto', 'nw_tos', 'nw_ecn', 'nw_ttl', 'tp_src', 'tp_dst', 'tcp_flags', 'icmp_type', 'icmp_code');
  if (!isIp && ipOnly.length > 0) throw new FlowSyntaxError(`${ipOnly[0]} needs ip or ipv6`);
  if (values.has('nw_proto')) {
    if (proto >= 0 && proto !== num('nw_proto')) throw new FlowSyntaxError(`nw_proto=${num('nw_proto')} contradicts ${protoWord}`);
    proto = num('nw_proto');
  }
  const ports = has('tp_src', 'tp_dst');
  if (ports.length > 0 && proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) throw new FlowSyntaxError(`${ports[0]} needs tcp or udp`);
  if (values.has('tcp_flags') && proto !== IPPROTO_TCP) throw new FlowSyntaxError('tcp_flags needs tcp');
  const icmp = has('icmp_type', 'icmp_code');
  const icmpProto = ethType === ETH_TYPE_IPV6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
  if (icmp.length > 0 && proto !== icmpProto) throw new FlowSyntaxError(`${icmp[0]} needs ${ethType === ETH_TYPE_IPV6 ? 'icmp6' : 'icmp'}`);
  if (ethType === ETH_TYPE_ARP) {
    for (const [from, to] of [['nw_src', 'arp_spa'], ['nw_dst', 'arp_tpa']] as const) {
      if (values.has(from)) {
        if (values.has(to)) throw new FlowSyntaxError(`${from} and ${to} name the same field`);
        values.set(to, values.get(from)!);
      }
    }
  }
  const inPort = (values.get('in_port') as string | undefined) ?? null;
  // IPv6 with no protocol: next header 59, "no next header" (0 would be a hop-by-hop options header).
  const noProto = ethType === ETH_TYPE_IPV6 ? IPV6_NO_NEXT_HEADER : 0;
  return { inPort, frame: buildFrame(values, ethType < 0 ? 0 : ethType, proto < 0 ? noProto : proto) };
}

/** The Ethernet frame for the parsed fields (see the module comment). */
function buildFrame(v: Map<string, number | bigint | string>, ethType: number, proto: number): Uint8Array {
  const num = (k: string, dflt = 0) => (v.get(k) as number | undefined) ?? dflt;
  const big = (k: string) => (v.get(k) as bigint | undefined) ?? 0n;
  const tagged = v.has('dl_vlan') || v.has('dl_vlan_pcp');
  const l2 = tagged ? 18 : 14;
  const l4len = proto === IPPROTO_TCP ? 20 : proto === IPPROTO_UDP || proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6 ? 8 : 0;
  const l3len = ethType === ETH_TYPE_IPV4 ? 20 + l4len : ethType === ETH_TYPE_IPV6 ? 40 + l4len : ethType === ETH_TYPE_ARP ? 28
    : ethType === ETH_TYPE_PBB ? 18 : 0;
  const f = new Uint8Array(Math.max(60, l2 + l3len));
  const w16 = (o: number, x: number) => f.set([(x >>> 8) & 0xff, x & 0xff], o);
  const w32 = (o: number, x: number) => f.set([(x >>> 24) & 0xff, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff], o);
  const mac = (o: number, x: number) => {
    w16(o, Math.floor(x / 0x100000000));
    w32(o + 2, x % 0x100000000);
  };
  mac(0, num('dl_dst'));
  mac(6, num('dl_src'));
  if (tagged) {
    w16(12, 0x8100);
    w16(14, (num('dl_vlan_pcp') << 13) | num('dl_vlan'));
  }
  w16(l2 - 2, ethType);
  const l3 = l2;
  let l4 = 0;
  let pseudo = 0;
  if (ethType === ETH_TYPE_IPV4) {
    f[l3] = 0x45;
    f[l3 + 1] = (num('nw_tos') & 0xfc) | (num('nw_ecn') & 3);
    w16(l3 + 2, l3len);
    f[l3 + 8] = num('nw_ttl', 64);
    f[l3 + 9] = proto;
    w32(l3 + 12, num('nw_src'));
    w32(l3 + 16, num('nw_dst'));
    w16(l3 + 10, internetChecksum(f, l3, 20));
    l4 = l3 + 20;
    pseudo = onesComplementSum(f, l3 + 12, 8, proto + l4len);
  } else if (ethType === ETH_TYPE_IPV6) {
    const tc = (num('nw_tos') & 0xfc) | (num('nw_ecn') & 3);
    w32(l3, (6 << 28) | (tc << 20) | num('ipv6_label'));
    w16(l3 + 4, l4len);
    f[l3 + 6] = proto;
    f[l3 + 7] = num('nw_ttl', 64);
    for (const [k, o] of [['ipv6_src', 8], ['ipv6_dst', 24]] as const) {
      const a = big(k);
      for (let i = 0; i < 16; i++) f[l3 + o + i] = Number((a >> BigInt(8 * (15 - i))) & 0xffn);
    }
    l4 = l3 + 40;
    pseudo = onesComplementSum(f, l3 + 8, 32, proto + l4len);
  } else if (ethType === ETH_TYPE_ARP) {
    w16(l3, 1);
    w16(l3 + 2, ETH_TYPE_IPV4);
    f[l3 + 4] = 6;
    f[l3 + 5] = 4;
    w16(l3 + 6, num('arp_op', 1));
    mac(l3 + 8, num('arp_sha', num('dl_src')));
    w32(l3 + 14, num('arp_spa'));
    mac(l3 + 18, num('arp_tha'));
    w32(l3 + 24, num('arp_tpa'));
  } else if (ethType === ETH_TYPE_PBB) {
    // I-TAG TCI with the I-SID; the customer MACs are the outer ones (as push_pbb makes them), customer type 0.
    w32(l3, num('pbb_isid'));
    mac(l3 + 4, num('dl_dst'));
    mac(l3 + 10, num('dl_src'));
  }
  if (l4 > 0 && l4len > 0) {
    if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
      w16(l4, num('tp_src'));
      w16(l4 + 2, num('tp_dst'));
    }
    let csumAt: number;
    if (proto === IPPROTO_TCP) {
      w16(l4 + 12, (5 << 12) | num('tcp_flags'));
      csumAt = l4 + 16;
    } else if (proto === IPPROTO_UDP) {
      w16(l4 + 4, 8);
      csumAt = l4 + 6;
    } else {
      f[l4] = num('icmp_type');
      f[l4 + 1] = num('icmp_code');
      csumAt = l4 + 2;
    }
    const c = internetChecksum(f, l4, l4len, proto === IPPROTO_ICMP ? 0 : pseudo);
    w16(csumAt, c === 0 && proto === IPPROTO_UDP ? 0xffff : c);
  }
  return f;
}

/** A frame given as hex digits (spaces, colons and a 0x prefix allowed). */
export function parseFrameHex(text: string): Uint8Array {
  const hex = text.replace(/^0x/i, '').replace(/[\s:.-]/g, '');
  if (!/^([0-9a-f]{2})+$/i.test(hex)) throw new FlowSyntaxError('--frame: not an even number of hex digits');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The in port of a flow that may give nothing else ("in_port=1": what goes with a hex frame). */
export function inPortOf(text: string): string {
  const m = /^\s*in_port=([^,\s]+)\s*$/.exec(text);
  if (m === null) throw new FlowSyntaxError('with a frame, the flow gives only in_port=PORT');
  return m[1];
}
