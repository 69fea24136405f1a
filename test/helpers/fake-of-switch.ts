/*
 * Test doubles for the OpenFlow control channel:
 * - FakeOfSwitch: an OpenFlowSwitch (switch-api.ts) that records every call,
 *   answers from plain fields, and returns a scripted OfError when asked to;
 * - duplexPair(): two connected in-memory Duplex streams (what a net.Socket
 *   pair looks like to the channel): writes on one are data on the other,
 *   end() ends the other's readable side, destroy() closes both;
 * - PeerController: the far end of a connection, speaking the codec (the
 *   controller or ovs-ofctl side), usable over a Duplex or a real socket;
 * - helloChannel(): a channel of a ControllerManager over a duplexPair,
 *   after the peer's hello (asserted up);
 * - captureLogger(): a debug pino logger whose records land in an array;
 * - listenTarget(): a --listen spec parsed, throwing if it does not parse.
 */

import { Duplex } from 'node:stream';
import { pino, type Logger } from 'pino';
import { expect } from 'vitest';
import { decodeMessage, encodeMessage, isDecodeError, makeHello, MessageFramer, OFPC, type OfpMessage } from '../../src/openflow/codec/wire.js';
import type { FlowMod } from '../../src/openflow/codec/v13/msg/flow-mod.js';
import type { GroupMod } from '../../src/openflow/codec/v13/msg/group-mod.js';
import type { MeterMod } from '../../src/openflow/codec/v13/msg/meter-mod.js';
import type { MultipartReplyBody, MultipartRequestBody } from '../../src/openflow/codec/v13/msg/multipart.js';
import type { PacketOut } from '../../src/openflow/codec/v13/msg/packet-out.js';
import type { PortMod } from '../../src/openflow/codec/v13/msg/port-mod.js';
import type { QueueGetConfigReply } from '../../src/openflow/codec/v13/msg/queue-config.js';
import type { TableMod } from '../../src/openflow/codec/v13/msg/table-mod.js';
import type { OfError, OpenFlowSwitch, SwitchEventSink } from '../../src/openflow/ofproto/switch-api.js';
import type { ChannelKind, OfChannel } from '../../src/openflow/transport/channel.js';
import { parseListenTarget, type ListenTarget } from '../../src/openflow/transport/connections.js';
import type { ControllerManager } from '../../src/openflow/transport/controller-manager.js';

export type FakeCall =
  | { kind: 'flowMod'; msg: FlowMod }
  | { kind: 'groupMod'; msg: GroupMod }
  | { kind: 'meterMod'; msg: MeterMod }
  | { kind: 'portMod'; msg: PortMod }
  | { kind: 'tableMod'; msg: TableMod }
  | { kind: 'packetOut'; msg: PacketOut }
  | { kind: 'setConfig'; msg: { flags: number; missSendLen: number } }
  | { kind: 'multipart'; msg: MultipartRequestBody }
  | { kind: 'queueGetConfig'; msg: { port: number } };

export class FakeOfSwitch implements OpenFlowSwitch {
  datapathId = 0x00000000_0000abcdn;
  nTables = 64;
  capabilities = OFPC.FLOW_STATS | OFPC.TABLE_STATS | OFPC.PORT_STATS | OFPC.GROUP_STATS;
  sink: SwitchEventSink | null = null;
  /** Every controllersConnected(n) call, in order. */
  readonly connectedCalls: number[] = [];
  readonly calls: FakeCall[] = [];
  config = { flags: 0, missSendLen: 128 };
  /** The error the next call of that kind returns (then cleared). */
  readonly nextError = new Map<FakeCall['kind'], OfError>();
  /** How multipart requests are answered (default: a desc reply for desc, else an empty port-stats list). */
  multipartAnswer: (req: MultipartRequestBody) => MultipartReplyBody[] | OfError = (req) =>
    req.type === 'desc'
      ? [{ type: 'desc', mfrDesc: 'test', hwDesc: 'fake', swDesc: 'fake', serialNum: '1', dpDesc: 'fake switch' }]
      : [{ type: 'port_stats', entries: [] }];

  setEventSink(sink: SwitchEventSink | null): void {
    this.sink = sink;
  }
  controllersConnected(n: number): void {
    this.connectedCalls.push(n);
  }
  private record(call: FakeCall): OfError | null {
    this.calls.push(call);
    const e = this.nextError.get(call.kind) ?? null;
    this.nextError.delete(call.kind);
    return e;
  }
  flowMod(msg: FlowMod): OfError | null {
    return this.record({ kind: 'flowMod', msg });
  }
  groupMod(msg: GroupMod): OfError | null {
    return this.record({ kind: 'groupMod', msg });
  }
  meterMod(msg: MeterMod): OfError | null {
    return this.record({ kind: 'meterMod', msg });
  }
  portMod(msg: PortMod): OfError | null {
    return this.record({ kind: 'portMod', msg });
  }
  tableMod(msg: TableMod): OfError | null {
    return this.record({ kind: 'tableMod', msg });
  }
  packetOut(msg: PacketOut): OfError | null {
    return this.record({ kind: 'packetOut', msg });
  }
  getConfig(): { flags: number; missSendLen: number } {
    return { ...this.config };
  }
  setConfig(flags: number, missSendLen: number): OfError | null {
    const e = this.record({ kind: 'setConfig', msg: { flags, missSendLen } });
    if (e === null) this.config = { flags, missSendLen };
    return e;
  }
  multipart(req: MultipartRequestBody): MultipartReplyBody[] | OfError {
    const e = this.record({ kind: 'multipart', msg: req });
    return e ?? this.multipartAnswer(req);
  }
  queueGetConfig(port: number): Omit<QueueGetConfigReply, 'type' | 'xid'> | OfError {
    const e = this.record({ kind: 'queueGetConfig', msg: { port } });
    return e ?? { port, queues: [] };
  }
}

/** Two connected in-memory streams, like the two ends of a TCP connection. */
export function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const ended = [false, false];
  const pushTo = (i: number, chunk: Buffer | null) => {
    const other = ends[i];
    if (other.destroyed || ended[i]) return;
    if (chunk === null) ended[i] = true;
    other.push(chunk);
  };
  for (let i = 0; i < 2; i++) {
    const peer = 1 - i;
    ends.push(
      new Duplex({
        read() {},
        write(chunk: Buffer, _enc, cb) {
          pushTo(peer, Buffer.from(chunk));
          cb();
        },
        final(cb) {
          pushTo(peer, null);
          cb();
        },
        destroy(err, cb) {
          pushTo(peer, null);
          pushTo(i, null);
          cb(err);
        },
      }),
    );
  }
  return [ends[0], ends[1]];
}

/** Lets queued stream events run (works with fake timers: uses process.nextTick and microtasks only). */
export async function flush(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => process.nextTick(r));
}

/** The far end of an OpenFlow connection: sends typed messages or raw bytes, collects what arrives. */
export class PeerController {
  readonly received: OfpMessage[] = [];
  readonly rawReceived: Buffer[] = [];
  ended = false;
  private readonly framer = new MessageFramer();

  constructor(readonly socket: Duplex) {
    socket.on('data', (chunk: Buffer) => {
      this.framer.push(chunk, (m) => {
        const copy = Buffer.from(m);
        this.rawReceived.push(copy);
        const r = decodeMessage(copy);
        if (isDecodeError(r)) throw new Error(`the switch sent a message that does not decode: ${r.toString()}`);
        this.received.push(r.ok);
      });
    });
    socket.on('end', () => (this.ended = true));
    socket.on('close', () => (this.ended = true));
    socket.on('error', () => (this.ended = true));
  }

  send(m: OfpMessage): void {
    this.socket.write(encodeMessage(m));
  }

  sendRaw(b: Uint8Array): void {
    this.socket.write(b);
  }

  /** Messages of one type received so far. */
  ofType<T extends OfpMessage['type']>(type: T): Extract<OfpMessage, { type: T }>[] {
    return this.received.filter((m): m is Extract<OfpMessage, { type: T }> => m.type === type);
  }

  /** Takes (and removes) everything received so far. */
  drain(): OfpMessage[] {
    return this.received.splice(0);
  }

  /** Polls (with real timers) until a message matching `pred` arrived. */
  async waitFor<T extends OfpMessage>(pred: (m: OfpMessage) => m is T, timeoutMs?: number): Promise<T>;
  async waitFor(pred: (m: OfpMessage) => boolean, timeoutMs?: number): Promise<OfpMessage>;
  async waitFor(pred: (m: OfpMessage) => boolean, timeoutMs = 5000): Promise<OfpMessage> {
    const t0 = Date.now();
    for (;;) {
      const hit = this.received.find(pred);
      if (hit) return hit;
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for a message; got ${this.received.map((m) => m.type).join(', ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Attaches one end of a duplexPair to `mgr` (as `target`, of `kind`), the
 * other to a PeerController that sends its hello; resolves once the channel
 * is up (asserted). The switch's hello is left in peer.received.
 */
export async function helloChannel(
  mgr: ControllerManager,
  target = 'tcp:127.0.0.1:6653',
  kind: ChannelKind = 'controller',
): Promise<{ ch: OfChannel; peer: PeerController }> {
  const [a, b] = duplexPair();
  const ch = mgr.attach(a, kind, target);
  const peer = new PeerController(b);
  peer.send(makeHello(1));
  await flush();
  expect(ch.state).toBe('up');
  return { ch, peer };
}

/** One record of captureLogger(): pino's level and msg, and the fields logged. */
export interface LogRecord {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** A debug-level logger whose records are parsed into `lines`. */
export function captureLogger(): { log: Logger; lines: LogRecord[] } {
  const lines: LogRecord[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as LogRecord) });
  return { log, lines };
}

/** The ListenTarget of a --listen spec; throws the parser's sentence if it does not parse. */
export function listenTarget(s: string): ListenTarget {
  const t = parseListenTarget(s);
  if (typeof t === 'string') throw new Error(t);
  return t;
}
