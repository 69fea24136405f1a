/*
 * Punts: frames the datapath hands to the control plane (the OpenFlow side
 * turns one into a packet-in). A punt carries what the pipeline knew when it
 * punted: why, from which table and rule, the frame's in port and pipeline
 * metadata, and the frame bytes (a copy, cut to the requested length).
 *
 * Invariants
 * - Punting is the slow path: a Punt is a fresh object with its own bytes.
 * - PuntReason values are the datapath's; the control plane maps them.
 */

/** Why a frame was punted. */
export const enum PuntReason {
  /** A table-miss rule's controller output. */
  NoMatch = 0,
  /** A controller output of any other rule, a group bucket, a packet-out. */
  Action = 1,
  /** A TTL decrement reached zero (the "slow path"). */
  InvalidTtl = 2,
}

/** Controller-op byte count meaning "the whole frame". */
export const PUNT_WHOLE_FRAME = 0x7fffffff;

/** One punted frame. */
export interface Punt {
  readonly reason: PuntReason;
  readonly tableId: number;
  /** The cookie of the rule that punted (all ones when no rule did). */
  readonly cookie: bigint;
  /** The frame's in port (a port number, or the reserved number it was injected with). */
  readonly inPort: number;
  readonly metadata: bigint;
  readonly tunnelId: bigint;
  /** The frame's length before cutting. */
  readonly totalLen: number;
  /** The frame's bytes, cut to the requested length. */
  readonly data: Uint8Array;
}

/** Meters that limit punts (the control plane says which meter ids play those roles). */
export interface PuntMeters {
  /** Limits every punt; 0 = none. */
  all: number;
  /** Limits punts that are not controller outputs (InvalidTtl); 0 = none. */
  slowPath: number;
}
