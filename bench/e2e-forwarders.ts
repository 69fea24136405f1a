/*
 * The forwarders the end-to-end benchmark (bench/e2e.ts) measures: one row
 * each, saying its name, how it is started and on which links it runs. A new
 * forwarder (another `if:` or `tap:` port option, another C mode) is one line
 * here; e2e.ts builds the topology, starts the row's forwarder on it and
 * measures every row the same way, interleaved round by round.
 *
 *   linc   linc-ts (`linc-ts run`), its ports `tap:` or `if:` plus `options`
 *          (",mode=xdp"), extra CLI `flags`, and, with `flows`, OpenFlow:
 *          the switch in fail-mode secure with a passive listener on a Unix
 *          socket, its flow table filled with `ovs-ofctl -O OpenFlow13
 *          add-flows` as a user would (openflowFlows below)
 *   c      bench/baseline/fwd in the given mode per link
 *   ovs    a private Open vSwitch, datapath_type=netdev (bench/ovs.ts)
 *   bridge a Linux bridge (veth only)
 *
 * Invariant: every row's name is unique; `links` lists only links its
 * starter supports (a C mode per link it lists).
 */

import type { OvsFlows } from './ovs.js';

export type Link = 'tap' | 'veth';

/** A linc-ts row: CLI flags, port options, an OpenFlow table of `flows` flows, and `cli`: another tree's dist/src/cli.js (A/B), else this one's. */
export interface LincStart {
  readonly flags?: readonly string[];
  readonly options?: string;
  readonly flows?: number;
  readonly cli?: string;
}

export type Starter =
  | { readonly linc: LincStart }
  | { readonly c: Partial<Record<Link, string>> }
  | { readonly ovs: OvsFlows }
  | { readonly bridge: true };

export interface ForwarderRow {
  readonly name: string;
  readonly links: readonly Link[];
  readonly start: Starter;
  /** Links on which TCP is not measured: 64 KiB GSO frames fit neither the C ring forwarder's tx frames nor (without userspace TSO) Open vSwitch's AF_PACKET ports, and TCP stalls there. */
  readonly noTcp?: readonly Link[];
}

const both: readonly Link[] = ['tap', 'veth'];

/** Every forwarder, in the order each round runs them (per link). */
export const FORWARDERS: readonly ForwarderRow[] = [
  { name: 'linc-ts', links: both, start: { linc: {} } },
  { name: 'linc-ts busy-poll', links: both, start: { linc: { flags: ['--busy-poll'] } } },
  { name: 'linc-ts OpenFlow 2 flows', links: both, start: { linc: { flows: 2 } } },
  { name: 'linc-ts OpenFlow 1000 flows', links: both, start: { linc: { flows: 1000 } } },
  // `if:` ports default to mode=ring (TPACKET_V2 rings); the other two modes:
  { name: 'linc-ts mode=mmsg', links: ['veth'], start: { linc: { options: 'mode=mmsg' } } },
  { name: 'linc-ts mode=xdp', links: ['veth'], start: { linc: { options: 'mode=xdp' } } },
  { name: 'c-fwd', links: both, start: { c: { tap: 'tap', veth: 'packet' } } },
  { name: 'c-uring', links: ['tap'], start: { c: { tap: 'tap-uring' } } },
  { name: 'c-ring', links: ['veth'], start: { c: { veth: 'packet-ring' } }, noTcp: ['veth'] },
  { name: 'ovs in_port', links: both, start: { ovs: 'in_port' }, noTcp: ['veth'] },
  { name: 'ovs NORMAL', links: both, start: { ovs: 'NORMAL' }, noTcp: ['veth'] },
  { name: 'bridge', links: ['veth'], start: { bridge: true } },
];

/**
 * The flow table of a linc-ts OpenFlow row with `count` flows (2 or more), as
 * `ovs-ofctl add-flows` lines: in_port=1 -> 2 and in_port=2 -> 1 (priority
 * 100), and count - 2 flows the benchmark's traffic (10.77.0.0/24 between two
 * kernel-random MACs) never matches, at a higher priority so that every frame
 * is checked against them: distinct nw_dst /32s in 10.200.0.0/16 and distinct
 * eth_dst 0e:00:00:00:xx:xx, half each; with more than 2 flows also the
 * table-miss flow (priority 0, drop).
 */
export function openflowFlows(count: number): string[] {
  const lines = ['priority=100,in_port=1,actions=output:2', 'priority=100,in_port=2,actions=output:1'];
  for (let i = 0; i < count - 2; i++) {
    const hi = (i >> 8) & 0xff;
    const lo = i & 0xff;
    lines.push(i % 2 === 0
      ? `priority=200,ip,nw_dst=10.200.${hi}.${lo},actions=output:2`
      : `priority=200,eth_dst=0e:00:00:00:${hi.toString(16).padStart(2, '0')}:${lo.toString(16).padStart(2, '0')},actions=output:1`);
  }
  if (count > 2) lines.push('priority=0,actions=drop');
  return lines;
}

/** A benchmark row that --forwarder names and --base-tree may twin: a name, and a start that is linc-ts's when it has `linc`. */
export interface NamedRow {
  readonly name: string;
  readonly start: object;
}

/**
 * The rows of `rows` a run measures: those named in `names` (all when
 * undefined), each linc-ts one followed, with `baseCli` (another tree's
 * dist/src/cli.js), by its twin from that tree, named "NAME (base)": an A/B
 * in the same rounds. Shared by every benchmark that takes --forwarder.
 */
export function selectRows<R extends NamedRow>(rows: readonly R[], names: readonly string[] | undefined, baseCli: string | undefined): R[] {
  const unknown = (names ?? []).filter((n) => !rows.some((f) => f.name === n));
  if (unknown.length > 0) throw new Error(`no forwarder named ${unknown.map((n) => `"${n}"`).join(', ')}; the forwarders are ${rows.map((f) => `"${f.name}"`).join(', ')}`);
  return rows.filter((f) => !names || names.includes(f.name)).flatMap((f) => {
    if (baseCli === undefined || !('linc' in f.start)) return [f];
    // The twin differs only in its name and its CLI: same shape as R.
    const twin: R = { ...f, name: `${f.name} (base)`, start: { linc: { ...(f.start.linc as LincStart), cli: baseCli } } };
    return [f, twin];
  });
}

/** The end-to-end rows a run measures (selectRows over FORWARDERS). */
export function selectForwarders(names: readonly string[] | undefined, baseCli: string | undefined): ForwarderRow[] {
  return selectRows(FORWARDERS, names, baseCli);
}
