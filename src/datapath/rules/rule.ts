/*
 * The datapath's own vocabulary for what a control plane installs: rules,
 * their selectors, the reasons a rule leaves, the faults a change can hit,
 * and the reserved port numbers. No wire format is named here; the OpenFlow
 * translation (src/openflow/ofproto/) maps its messages onto these and the
 * faults back onto OFPT_ERROR codes.
 *
 * What
 *   RuleSpec        one rule: key and mask rows (flow-key layout), priority,
 *                   cookie, timeouts, RuleFlag bits, its compiled program
 *                   (RuleProgram), what it references (ports it outputs to,
 *                   groups, meters) and `origin`, the control plane's own form
 *                   of it, kept and handed back verbatim (stats, removals)
 *   RuleSelector    which rules an operation or a stats request applies to
 *   RemovedReason   why a rule left (timeouts, delete, its group or meter gone)
 *   DpFault/DpError a change the datapath refuses, and why
 *
 * Invariants
 * - key = key & mask in every word of a RuleSpec (the translation normalises).
 * - A RuleProgram names groups and meters by slot; the slot stays valid while
 *   the rule exists (deleting a group or meter deletes the rules using it).
 */

import type { RuleProgram } from './ops.js';

/** Port number wildcard: "no port" in selectors and watches. */
export const PORT_ANY = 0xffffffff;
/** The highest number a real (physical) port can have. */
export const PORT_MAX = 0xffffff00;
/**
 * The number of the switch's own port (--local-port, OVS's bridge-local
 * port): above PORT_MAX and equal to OpenFlow's OFPP_LOCAL, so a key's
 * in_port word and a match on in_port carry it as is; the OpenFlow layer maps
 * it explicitly where it names ports (port-desc, port stats, port-mod).
 */
export const PORT_LOCAL = 0xfffffffe;
/** Group id wildcard: "no group" in selectors and watches. */
export const GROUP_ANY = 0xffffffff;

/** Rule flags. */
export const enum RuleFlag {
  /** Report the rule's removal (timeouts, deletes) to the control plane. */
  SendRemoved = 1 << 0,
  /** An add that overlaps a rule of the same priority is refused. */
  CheckOverlap = 1 << 1,
  /** An add that replaces a rule, or a modify, restarts its counters. */
  ResetCounts = 1 << 2,
  /** Kept and reported; counting stays on (allowed: "does not need to keep track"). */
  NoPacketCounts = 1 << 3,
  NoByteCounts = 1 << 4,
}

/** Why a rule left its table. */
export const enum RemovedReason {
  IdleTimeout = 0,
  HardTimeout = 1,
  Delete = 2,
  GroupDelete = 3,
  MeterDelete = 4,
}

/** What a rule's program refers to, for selection and for cascading deletes. */
export interface RuleRefs {
  /** Port numbers its output ops name (reserved numbers included). */
  readonly outPorts: readonly number[];
  /** Group ids its group ops name. */
  readonly groups: readonly number[];
  /** Meter ids its meter instruction names. */
  readonly meters: readonly number[];
}

/** One rule to install. */
export interface RuleSpec {
  readonly key: Uint32Array;
  readonly mask: Uint32Array;
  readonly priority: number;
  readonly cookie: bigint;
  /** Seconds; 0 = none. */
  readonly idleTimeout: number;
  readonly hardTimeout: number;
  /** RuleFlag bits. */
  readonly flags: number;
  readonly program: RuleProgram;
  readonly refs: RuleRefs;
  /** The control plane's own form of the rule; the datapath never reads it. */
  readonly origin: unknown;
}

/** A rule's new actions (modify): program, references and the owner's form. */
export interface RuleActions {
  readonly program: RuleProgram;
  readonly refs: RuleRefs;
  readonly origin: unknown;
}

/** Which rules an operation or a stats request applies to. */
export interface RuleSelector {
  readonly key: Uint32Array;
  readonly mask: Uint32Array;
  /** Strict: the rule with exactly these rows and this priority; else every rule at least as specific. */
  readonly strict: boolean;
  readonly priority: number;
  readonly cookie: bigint;
  readonly cookieMask: bigint;
  /** PORT_ANY: no filter. */
  readonly outPort: number;
  /** GROUP_ANY: no filter. */
  readonly outGroup: number;
}

/** Changes the datapath refuses. */
export const enum DpFault {
  /** The table holds as many rules as it may. */
  TableFull = 1,
  /** CheckOverlap: a rule of the same priority overlaps. */
  Overlap,
  GroupExists,
  UnknownGroup,
  OutOfGroups,
  /** A group would (through its buckets or watches) reach itself. */
  GroupLoop,
  /** Another group sends to the group being deleted. */
  GroupChained,
  /** A bucket watches a group that does not exist. */
  UnknownWatchGroup,
  MeterExists,
  UnknownMeter,
  OutOfMeters,
}

/** A refused change: the fault and a sentence for logs. */
export class DpError {
  constructor(
    readonly fault: DpFault,
    readonly message: string,
  ) {}
}
