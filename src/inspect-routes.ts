/*
 * The switch's inspection answers on the admin socket (what `linc-ts status`,
 * `fdb show`, `trace` and `dump-cache` read; src/inspect-cli.ts is the
 * client):
 *
 *   GET  /v1/status       built in (src/stats/admin.ts); its body is inspectStatus()
 *   GET  /v1/fdb          {agingSec, maxEntries, size, stats, entries: [{port, name, vlan, mac, ageSec}]}
 *   POST /v1/trace        body {flow?: "in_port=1,tcp,...", frame?: HEX, inPort?: PORT} -> TraceReport
 *   GET  /v1/cache[?limit=N]  -> CacheReport (N entries at most, default 1000)
 *
 * Invariants
 * - Read-only: nothing here changes forwarding state, counters, the MAC table
 *   or the cache (a trace is a dry run, src/datapath/rules/trace.ts).
 * - Bad input is a 400 with one sentence; a port that does not exist is a 404.
 */

import type { Datapath } from './datapath/datapath.js';
import type { NormalSwitch } from './datapath/learning/normal.js';
import { PortStat } from './datapath/port-counters.js';
import { dumpCache } from './datapath/rules/cache-dump.js';
import { traceFrame, TraceError } from './datapath/rules/trace.js';
import { OFPPC, OFPR } from './openflow/codec/v13/enums.js';
import { macText } from './openflow/ofproto/flow-text.js';
import type { OfSwitch } from './openflow/ofproto/of-switch.js';
import { cacheReport, traceReport } from './openflow/ofproto/trace-format.js';
import { FlowSyntaxError, inPortOf, parseFrameHex, parseTraceFlow } from './openflow/ofproto/trace-flow.js';
import type { ControllerManager } from './openflow/transport/controller-manager.js';
import { addressText } from './openflow/transport/streams.js';
import type { AdminAnswer, AdminPortStatus, AdminRoute, AdminSwitchStatus } from './stats/admin.js';

export interface InspectTarget {
  datapath: Datapath;
  normal: NormalSwitch;
  ofSwitch: OfSwitch;
  datapathId: bigint;
  version?: string;
  /** The OpenFlow connections, when the switch has any configured. */
  openflow(): ControllerManager | null;
}

/** One row of GET /v1/fdb. */
export interface FdbEntry {
  port: number;
  name: string;
  vlan: number;
  mac: string;
  ageSec: number;
}

export interface FdbAnswer {
  agingSec: number;
  maxEntries: number;
  size: number;
  stats: { learned: number; moved: number; evicted: number; expired: number };
  entries: FdbEntry[];
}

const CONFIG_NAMES: Array<[number, string]> = [
  [OFPPC.PORT_DOWN, 'port_down'], [OFPPC.NO_RECV, 'no_recv'], [OFPPC.NO_FWD, 'no_fwd'], [OFPPC.NO_PACKET_IN, 'no_packet_in'],
];

/** Which pipeline forwards now, and why. */
function modeOf(t: InspectTarget): { forwarding: 'standalone' | 'openflow'; failMode: string; why: string } {
  const sw = t.ofSwitch;
  const n = sw.controllers;
  const forwarding = t.datapath.pipeline === sw.pipeline ? 'openflow' : 'standalone';
  const why = n > 0 ? `${n} controller${n === 1 ? '' : 's'} connected` : `fail mode ${sw.failMode}, no controller connected`;
  return { forwarding, failMode: sw.failMode, why };
}

/** GET /v1/status: the switch, its forwarding mode, controllers, listeners and ports with link state and counters. */
export function inspectStatus(t: InspectTarget, startedMs: number): AdminSwitchStatus {
  const now = performance.now();
  const sw = t.ofSwitch;
  const om = t.openflow();
  const ports: AdminPortStatus[] = t.datapath.portList.map((dp) => {
    const c = dp.counters.c, l = dp.link, config = sw.portConfig(dp.ofPort);
    return {
      port: dp.ofPort,
      name: dp.port.name,
      kind: dp.port.kind,
      ...(dp.port.ioMode !== undefined ? { io: dp.port.ioMode } : {}),
      link: { up: l.adminUp && l.carrier && (config & OFPPC.PORT_DOWN) === 0, adminUp: l.adminUp, carrier: l.carrier, mtu: l.mtu, mac: macText(l.mac) },
      config: CONFIG_NAMES.filter(([bit]) => (config & bit) !== 0).map(([, name]) => name),
      rx: { frames: c[PortStat.RxFrames], bytes: c[PortStat.RxBytes], dropped: c[PortStat.RxDropNoSlot] + c[PortStat.RxDropKernel], errors: c[PortStat.RxErrors], malformed: c[PortStat.RxMalformed] },
      tx: {
        frames: c[PortStat.TxFrames], bytes: c[PortStat.TxBytes], dropped: c[PortStat.TxDropQueueFull] + c[PortStat.TxDropMtu] + c[PortStat.TxDropGso],
        errors: c[PortStat.TxErrors],
      },
      forwarding: { dropped: c[PortStat.FwdDropped], flooded: c[PortStat.FwdFlooded] },
    };
  });
  return {
    datapathId: '0x' + t.datapathId.toString(16).padStart(16, '0'),
    version: t.version,
    uptimeSec: Math.floor((now - startedMs) / 1000),
    mode: modeOf(t),
    controllers: (om?.controllerStates() ?? []).map((c) => ({
      target: c.target, state: c.state, role: c.role, attempts: c.attempts, forSec: Math.floor((now - c.sinceMs) / 1000), lastError: c.lastError,
    })),
    listeners: (om?.listenerStatus() ?? []).map((l) => ({
      spec: l.spec,
      address: l.address === null ? null : addressText(l.address),
    })),
    connections: om?.serviceConnections() ?? [],
    tables: { flows: sw.tables.flowCount, groups: sw.groups.size, meters: sw.meters.size, macs: t.normal.macs.size },
    ports,
  };
}

function bad(status: number, error: string): AdminAnswer {
  return { status, body: { error } };
}

/** A port by number or name, or the 404 answer. */
function portNumber(t: InspectTarget, which: string): number | AdminAnswer {
  const byNo = /^\d+$/.test(which) ? t.datapath.port(Number(which)) : undefined;
  const dp = byNo ?? t.datapath.portList.find((p) => p.port.name === which);
  return dp === undefined ? bad(404, `no port ${which}`) : dp.ofPort;
}

function fdb(t: InspectTarget): FdbAnswer {
  const macs = t.normal.macs;
  const entries = macs
    .entries(performance.now())
    .map((e) => ({ port: e.port, name: t.datapath.port(e.port)?.port.name ?? '', vlan: e.vlan, mac: macText(e.mac), ageSec: e.ageSec }))
    .sort((a, b) => a.port - b.port || a.vlan - b.vlan || a.mac.localeCompare(b.mac));
  return { agingSec: macs.agingSec, maxEntries: macs.maxEntries, size: macs.size, stats: { ...macs.stats }, entries };
}

function trace(t: InspectTarget, body: unknown): AdminAnswer {
  const b = (typeof body === 'object' && body !== null ? body : {}) as { flow?: unknown; frame?: unknown; inPort?: unknown };
  if (b.flow !== undefined && typeof b.flow !== 'string') return bad(400, 'trace: "flow" must be a string');
  if (b.frame !== undefined && typeof b.frame !== 'string') return bad(400, 'trace: "frame" must be a string of hex digits');
  if (b.inPort !== undefined && typeof b.inPort !== 'string' && typeof b.inPort !== 'number') return bad(400, 'trace: "inPort" must be a port number or name');
  let inPort: string | null;
  let frame: Uint8Array;
  try {
    if (b.frame !== undefined) {
      frame = parseFrameHex(b.frame);
      inPort = b.inPort !== undefined ? String(b.inPort) : b.flow !== undefined ? inPortOf(b.flow) : null;
    } else if (b.flow !== undefined) {
      ({ inPort, frame } = parseTraceFlow(b.flow));
      if (b.inPort !== undefined) inPort = String(b.inPort);
    } else return bad(400, 'trace needs a flow (in_port=1,dl_dst=...) or a frame');
  } catch (e) {
    if (e instanceof FlowSyntaxError) return bad(400, e.message);
    throw e;
  }
  if (inPort === null) return bad(400, 'trace needs in_port=PORT (a port number or name)');
  const no = portNumber(t, inPort);
  if (typeof no !== 'number') return no;
  try {
    const tr = traceFrame(t.datapath, t.ofSwitch.pipeline, no, frame, performance.now());
    const om = t.openflow();
    const puntHeldBack = (reason: 'no_match' | 'action' | 'invalid_ttl') =>
      om?.wantsPacketIn(reason === 'no_match' ? OFPR.NO_MATCH : reason === 'action' ? OFPR.ACTION : OFPR.INVALID_TTL) ? null : 'no OpenFlow connection wants it now';
    return { status: 200, body: traceReport(tr, { why: modeOf(t).why, portName: (p) => t.datapath.port(p)?.port.name ?? '', puntHeldBack }) };
  } catch (e) {
    if (e instanceof TraceError) return bad(400, e.message);
    throw e;
  }
}

/** The admin routes of the management CLI (see the module comment). */
export function inspectRoutes(t: InspectTarget): AdminRoute[] {
  return [
    { method: 'GET', path: '/v1/fdb', handle: () => ({ status: 200, body: fdb(t) }) },
    { method: 'POST', path: '/v1/trace', handle: (_q, body) => trace(t, body) },
    {
      method: 'GET',
      path: '/v1/cache',
      handle: (q) => {
        const raw = q.get('limit') ?? '1000';
        if (!/^\d+$/.test(raw)) return bad(400, `limit: "${raw}" is not a whole number`);
        return { status: 200, body: { forwarding: modeOf(t).forwarding, ...cacheReport(dumpCache(t.ofSwitch.pipeline, Number(raw))) } };
      },
    },
  ];
}
