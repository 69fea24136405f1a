/*
 * What a dry-run trace (trace.ts) records: one event per step, indented
 * under the step that caused it, and the trace as a whole. The datapath's
 * own vocabulary (ops, FlowEntry, PuntReason); the control plane turns it
 * into its words (src/openflow/ofproto/trace-format.ts).
 */

import type { FlowEntry } from './flow-table.js';
import type { Op } from './ops.js';
import type { PuntReason } from './punt.js';
import type { MeterVerdict, NormalVerdict } from './trace-peek.js';
import type { CacheName } from './pipeline-caches.js';

/** Where an op ran: a rule's apply-actions, the action set at the end of the walk, or a group bucket. */
export type TraceStage = 'apply' | 'action-set' | 'bucket';

/** Why (part of) a frame went nowhere. */
export type TraceDropReason =
  | 'too-short' | 'rx-disabled' | 'no-pipeline' | 'fragment' | 'table-miss' | 'meter' | 'invalid-ttl' | 'no-such-port' | 'in-port'
  | 'port-down' | 'mtu' | 'no-local-port' | 'no-slot' | 'group-too-deep' | 'no-live-bucket' | 'dst-is-in-port' | 'vlan' | 'no-output';

/** One step of a trace. `indent` nests a step under the one that caused it (0: the walk itself). */
export type TraceEvent =
  | { kind: 'table'; indent: number; table: number; entry: FlowEntry | null }
  | { kind: 'meter'; indent: number; meterId: number; verdict: MeterVerdict }
  | { kind: 'op'; indent: number; stage: TraceStage; op: Op; args: number[]; groupId: number; meterId: number }
  | { kind: 'clear-actions'; indent: number }
  | { kind: 'write-metadata'; indent: number; value: bigint; mask: bigint; metadata: bigint }
  | { kind: 'goto'; indent: number; table: number }
  | { kind: 'action-set'; indent: number; size: number }
  | { kind: 'bucket'; indent: number; groupId: number; bucket: number; of: number }
  | { kind: 'normal'; indent: number; verdict: NormalVerdict }
  | { kind: 'note'; indent: number; text: string }
  | TraceOutput
  | TracePunt
  | TraceDrop;

export interface TraceOutput {
  kind: 'output';
  indent: number;
  port: number;
  name: string;
  /** The frame as it would leave, and its flow key (parsed as if received on `port`). */
  frame: Uint8Array;
  key: Uint32Array;
}

export interface TracePunt {
  kind: 'punt';
  indent: number;
  reason: PuntReason;
  table: number;
  cookie: bigint;
  /** Bytes of the frame the control plane would get. */
  bytes: number;
  /** Why the punt would be held back (no controller, no_packet_in, a punt meter), or null. */
  heldBack: string | null;
}

export interface TraceDrop {
  kind: 'drop';
  indent: number;
  reason: TraceDropReason;
  detail: string;
}

export interface DatapathTrace {
  /** Which pipeline decided: the rule tables, the learning switch, or none (frames dropped). */
  pipeline: 'rules' | 'normal' | 'none';
  inPort: number;
  /** The frame's flow key as parsed on arrival, and the parser's PARSE_* flags. */
  key: Uint32Array;
  parseFlags: number;
  frameLength: number;
  /** Rules only: which cache would serve this key now ('none': a miss, the tables walked) and its program (-1 on a miss); null: the caches are off. */
  cached: { cache: CacheName; program: number } | null;
  events: TraceEvent[];
  /** Where copies of the frame would go (ports and the control plane). */
  outputs: Array<TraceOutput | TracePunt>;
  drops: TraceDrop[];
}
