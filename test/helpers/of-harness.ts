/*
 * Test harness for the OpenFlow pipeline and switch: an OfSwitch over a
 * Datapath with MemoryPorts, an event sink that records everything, flow-mod
 * and action builders, captured frame fixtures, and independent checksum
 * verifiers (plain reference sums, a bitwise CRC32c) for frames the pipeline
 * edited, and the heap-growth measure of the allocation tests.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Datapath } from '../../src/datapath/datapath.js';
import { K } from '../../src/flow/key.js';
import { NormalSwitch } from '../../src/datapath/learning/normal.js';
import { ParsedBatch, parseFrame } from '../../src/datapath/parse/parse.js';
import { PacketPool } from '../../src/packet/pool.js';
import type { Action } from '../../src/openflow/codec/v13/actions.js';
import { OFP_NO_BUFFER, OFPCML, OFPFC, OFPG, OFPP } from '../../src/openflow/codec/v13/enums.js';
import type { Instruction } from '../../src/openflow/codec/v13/instructions.js';
import type { FlowMod } from '../../src/openflow/codec/v13/msg/flow-mod.js';
import type { FlowRemoved } from '../../src/openflow/codec/v13/msg/flow-removed.js';
import type { PacketIn } from '../../src/openflow/codec/v13/msg/packet-in.js';
import type { PortStatus } from '../../src/openflow/codec/v13/msg/port-status.js';
import { OfSwitch, type OfSwitchOptions } from '../../src/openflow/ofproto/of-switch.js';
import type { Oxm } from '../../src/openflow/codec/v13/oxm.js';
import type { FailMode } from '../../src/openflow/ofproto/switch-api.js';
import { MemoryPort } from '../../src/ports/memory-port.js';
import { obtainGc } from './gc.js';

const FRAMES_DIR = fileURLToPath(new URL('../fixtures/frames/', import.meta.url));

/** A captured frame from test/fixtures/frames (complete checksums: captured with offloads off). */
export function loadFrame(name: string): Uint8Array {
  const text = readFileSync(join(FRAMES_DIR, `${name}.hex`), 'utf8');
  const hex = text.split('\n').filter((l) => !l.startsWith('#')).join('').replace(/\s+/g, '');
  return Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
}

type Body<M> = Omit<M, 'type' | 'xid'>;

export interface Events {
  packetIns: Body<PacketIn>[];
  flowRemoved: Body<FlowRemoved>[];
  portStatus: Body<PortStatus>[];
}

export interface Harness {
  dp: Datapath;
  sw: OfSwitch;
  normal: NormalSwitch;
  ports: MemoryPort[];
  events: Events;
  clock: { now: number };
  /** Injects frames on port index i (OpenFlow port i + 1) and wakes it. */
  send(i: number, ...frames: Uint8Array[]): void;
  /** What each port sent since the last call. */
  taken(): Uint8Array[][];
  /** Installs a flow; throws on an OfError. */
  flow(spec: Partial<FlowMod>): void;
  /** One housekeeping tick as the running switch does it: the datapath (aging, the link poll), then the OpenFlow switch (timeouts, ports). */
  tick(): void;
}

/**
 * Harness options. `megaflow: false` puts the pipeline on the exact-match cache alone: tests that
 * assert the EMC path's walk, EMC and classifier counts set it, because with the megaflow cache (the
 * default) one walk covers every microflow of a megaflow, so those counts differ by design (outputs,
 * packet-ins and flow/table/port counters do not: test/unit/megaflow.test.ts).
 */
interface SetupOptions {
  failMode?: FailMode;
  emc?: number;
  megaflow?: boolean;
  slots?: number;
  vnet?: boolean[];
  sw?: Partial<OfSwitchOptions>;
}

export function setup(nPorts = 3, opts: SetupOptions = {}): Harness {
  const clock = { now: 1000 };
  const dp = new Datapath({ pool: new PacketPool({ slots: opts.slots ?? 512 }), burst: 32 });
  const normal = new NormalSwitch();
  const ports: MemoryPort[] = [];
  for (let i = 0; i < nPorts; i++) {
    const p = new MemoryPort({ name: `m${i + 1}`, ofPort: i + 1, vnetHdr: opts.vnet?.[i] ?? true });
    dp.addPort(p);
    ports.push(p);
  }
  const sw = new OfSwitch({
    datapath: dp, normal, datapathId: 0xabcn, failMode: opts.failMode ?? 'secure', clock: () => clock.now,
    emcInsertInvProb: opts.emc ?? 1, megaflow: opts.megaflow, ...opts.sw,
  });
  const events: Events = { packetIns: [], flowRemoved: [], portStatus: [] };
  sw.setEventSink({
    packetIn: (pi) => events.packetIns.push(pi),
    flowRemoved: (fr) => events.flowRemoved.push(fr),
    portStatus: (ps) => events.portStatus.push(ps),
  });
  const send = (i: number, ...frames: Uint8Array[]) => {
    for (const f of frames) ports[i].inject(f);
    while (ports[i].rxPending > 0) ports[i].wake(); // one wakeup drains at most roundsPerWakeup bursts
  };
  const taken = () => ports.map((p) => p.sent.splice(0).map((s) => s.frame));
  const flow = (spec: Partial<FlowMod>) => {
    const e = sw.flowMod(fm(spec));
    if (e) throw new Error(`flow-mod refused: type ${e.type} code ${e.code}: ${e.reason}`);
  };
  const tick = () => {
    dp.tick(clock.now);
    sw.tick(clock.now);
  };
  return { dp, sw, normal, ports, events, clock, send, taken, flow, tick };
}

/** A flow-mod with every field defaulted (add to table 0, priority 0x8000, no buffer). */
export function fm(spec: Partial<FlowMod>): FlowMod {
  return {
    type: 'flow_mod', xid: 0, cookie: 0n, cookieMask: 0n, tableId: 0, command: OFPFC.ADD, idleTimeout: 0, hardTimeout: 0,
    priority: 0x8000, bufferId: OFP_NO_BUFFER, outPort: OFPP.ANY, outGroup: OFPG.ANY, flags: 0, match: [], instructions: [],
    ...spec,
  };
}

export const out = (port: number, maxLen: number = OFPCML.NO_BUFFER): Action => ({ type: 'output', port, maxLen });
export const apply = (...actions: Action[]): Instruction => ({ type: 'apply_actions', actions });
export const write = (...actions: Action[]): Instruction => ({ type: 'write_actions', actions });
export const gotoTable = (tableId: number): Instruction => ({ type: 'goto_table', tableId });
export const setField = (field: Oxm): Action => ({ type: 'set_field', field });
export const inPort = (port: number): Oxm => ({ field: 'in_port', value: port });

/** L3/L4 offsets and protocol of a frame, from the parser. */
export function layout(frame: Uint8Array): { l3: number; l4: number; ethType: number; proto: number; flags: number; keys: Uint32Array } {
  const p = new ParsedBatch(1);
  const flags = parseFrame(frame, 0, frame.length, 1, p, 0);
  return { l3: p.l3[0], l4: p.l4[0], ethType: p.keys[K.EthTypeVlan] >>> 16, proto: p.keys[K.IpProtoTosTtlFrag] >>> 24, flags, keys: p.keys.slice() };
}

/** Reference ones' complement sum (16-bit words, carry folded every add). */
export function refSum(b: ArrayLike<number>, off: number, len: number, initial = 0): number {
  let sum = initial;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  for (let i = 0; i < len; i += 2) {
    sum += (b[off + i] << 8) | (i + 1 < len ? b[off + i + 1] : 0);
    if (sum > 0xffff) sum -= 0xffff;
  }
  return sum;
}

const be16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];

/** Bitwise CRC32c (independent of the table-driven one under test). */
export function crc32cRef(b: Uint8Array, from: number, to: number): number {
  let c = 0xffffffff;
  for (let i = from; i < to; i++) {
    c ^= b[i];
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** Where the IP packet at `l3` ends, and the folded-later sum of its pseudo-header for an L4 header at `l4`. */
export function ipSpan(frame: Uint8Array, l3: number, l4: number, proto: number, v6: boolean): { ipEnd: number; pseudo: number } {
  if (!v6) {
    const ipEnd = l3 + be16(frame, l3 + 2);
    return { ipEnd, pseudo: refSum(frame, l3 + 12, 8) + proto + (ipEnd - l4) };
  }
  const ipEnd = l3 + 40 + be16(frame, l3 + 4);
  return { ipEnd, pseudo: refSum(frame, l3 + 8, 32) + proto + (ipEnd - l4) };
}

/**
 * Checks every checksum the frame carries: the IPv4 header checksum, and the
 * TCP / UDP (unless 0) / ICMP / ICMPv6 checksum or SCTP CRC32c. Returns the
 * names of the wrong ones (empty = all good).
 */
export function badChecksums(frame: Uint8Array): string[] {
  const bad: string[] = [];
  const { l3, l4, ethType, proto } = layout(frame);
  if (ethType !== 0x0800 && ethType !== 0x86dd) return bad;
  const v6 = ethType === 0x86dd;
  if (!v6 && refSum(frame, l3, (frame[l3] & 0x0f) * 4) !== 0xffff) bad.push('ipv4');
  const { ipEnd, pseudo } = ipSpan(frame, l3, l4, proto, v6);
  if (l4 === 0) return bad;
  const len = ipEnd - l4;
  switch (proto) {
    case 6:
      if (refSum(frame, l4, len, pseudo) !== 0xffff) bad.push('tcp');
      break;
    case 17:
      if (be16(frame, l4 + 6) !== 0 && refSum(frame, l4, len, pseudo) !== 0xffff) bad.push('udp');
      break;
    case 1:
      if (!v6 && refSum(frame, l4, len) !== 0xffff) bad.push('icmp');
      break;
    case 58:
      if (v6 && refSum(frame, l4, len, pseudo) !== 0xffff) bad.push('icmpv6');
      break;
    case 132: {
      const copy = frame.slice(l4, ipEnd);
      const stored = copy[8] | (copy[9] << 8) | (copy[10] << 16) | (copy[11] << 24);
      copy.fill(0, 8, 12);
      if (crc32cRef(copy, 0, copy.length) !== stored >>> 0) bad.push('sctp');
      break;
    }
  }
  return bad;
}

export function macNum(s: string): number {
  return s.split(':').reduce((a, h) => a * 256 + parseInt(h, 16), 0);
}

export function ip4Num(s: string): number {
  return s.split('.').reduce((a, h) => a * 256 + Number(h), 0);
}

/**
 * The heap growth (bytes, between two forced collections) over `measured`
 * frames of port 1's generator (MemoryPort.setGenerator), offered and polled
 * in bursts of 32 with every port only counting what it sends, after `warm`
 * such frames built every path and cache. `afterWarm` runs between the two
 * runs (to read counters at the start of the measured one).
 */
export function heapGrowthForwarding(h: Harness, warm: number, measured: number, afterWarm?: () => void): number {
  const gc = obtainGc();
  for (const p of h.ports) (p as unknown as { capture: boolean }).capture = false;
  const src = h.ports[0], srcPort = h.dp.port(1)!;
  const run = (frames: number) => {
    for (let i = 0; i < frames; i += 32) {
      src.offer(32);
      h.dp.pollPort(srcPort);
    }
  };
  run(warm);
  gc();
  afterWarm?.();
  const before = process.memoryUsage().heapUsed;
  run(measured);
  gc();
  return process.memoryUsage().heapUsed - before;
}
