/*
 * OFPT_FLOW_MOD (A.3.4.1): add, modify, modify-strict, delete,
 * delete-strict flow entries.
 *
 * Decode order (the first failure wins): message length (OFPBRC_BAD_LEN),
 * command (OFPFMFC_BAD_COMMAND), match (OFPET_BAD_MATCH), instructions
 * (OFPET_BAD_INSTRUCTION / OFPET_BAD_ACTION). Semantic checks (table ids,
 * timeouts, flags, match prerequisites via validateMatch) are the pipeline's.
 *
 * Hot-ish path: decodeFlowMod allocates the message, its match and
 * instruction lists and nothing else (no closures, no intermediate arrays).
 */

import { u16, u32, u64, w16, w32, w64 } from '../../bytes.js';
import { FLOW_MOD, MATCH } from '../consts.js';
import { DecodeError, expectMinLen } from '../../decode-error.js';
import { OFPET, OFPFC, OFPFMFC, OFPT } from '../enums.js';
import { headerXid, writeHeader } from '../../header.js';
import { type Instruction, decodeInstructions, encodeInstructions, instructionsSize } from '../instructions.js';
import type { MessageCodec } from '../message-codec.js';
import { type Match, decodeMatch, encodeMatch, matchSize, matchWireSize } from '../oxm.js';

export interface FlowMod {
  type: 'flow_mod';
  xid: number;
  cookie: bigint;
  cookieMask: bigint;
  tableId: number;
  /** OFPFC_* */
  command: number;
  idleTimeout: number;
  hardTimeout: number;
  priority: number;
  bufferId: number;
  outPort: number;
  outGroup: number;
  /** OFPFF_* */
  flags: number;
  match: Match;
  instructions: Instruction[];
}

export function sizeFlowMod(m: FlowMod): number {
  return FLOW_MOD.SIZE + matchSize(m.match) + instructionsSize(m.instructions);
}

export function encodeFlowMod(m: FlowMod, b: Buffer, off: number): number {
  const len = sizeFlowMod(m);
  writeHeader(b, off, OFPT.FLOW_MOD, len, m.xid);
  w64(b, off + FLOW_MOD.cookie, m.cookie);
  w64(b, off + FLOW_MOD.cookieMask, m.cookieMask);
  b[off + FLOW_MOD.tableId] = m.tableId;
  b[off + FLOW_MOD.command] = m.command;
  w16(b, off + FLOW_MOD.idleTimeout, m.idleTimeout);
  w16(b, off + FLOW_MOD.hardTimeout, m.hardTimeout);
  w16(b, off + FLOW_MOD.priority, m.priority);
  w32(b, off + FLOW_MOD.bufferId, m.bufferId);
  w32(b, off + FLOW_MOD.outPort, m.outPort);
  w32(b, off + FLOW_MOD.outGroup, m.outGroup);
  w16(b, off + FLOW_MOD.flags, m.flags);
  w16(b, off + FLOW_MOD.pad, 0);
  const o = encodeMatch(m.match, b, off + FLOW_MOD.SIZE);
  encodeInstructions(m.instructions, b, o);
  return off + len;
}

export function decodeFlowMod(b: Buffer, off: number, len: number): FlowMod | DecodeError {
  const short = expectMinLen(off, len, FLOW_MOD.SIZE + MATCH.SIZE, 'flow_mod');
  if (short) return short;
  const command = b[off + FLOW_MOD.command];
  if (command > OFPFC.DELETE_STRICT) {
    return new DecodeError(OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_COMMAND, off + FLOW_MOD.command, `flow_mod command ${command}`);
  }
  const end = off + len;
  const mo = off + FLOW_MOD.SIZE;
  const match = decodeMatch(b, mo, end);
  if (match instanceof DecodeError) return match;
  const instructions = decodeInstructions(b, mo + matchWireSize(b, mo), end);
  if (instructions instanceof DecodeError) return instructions;
  return {
    type: 'flow_mod',
    xid: headerXid(b, off),
    cookie: u64(b, off + FLOW_MOD.cookie),
    cookieMask: u64(b, off + FLOW_MOD.cookieMask),
    tableId: b[off + FLOW_MOD.tableId],
    command,
    idleTimeout: u16(b, off + FLOW_MOD.idleTimeout),
    hardTimeout: u16(b, off + FLOW_MOD.hardTimeout),
    priority: u16(b, off + FLOW_MOD.priority),
    bufferId: u32(b, off + FLOW_MOD.bufferId),
    outPort: u32(b, off + FLOW_MOD.outPort),
    outGroup: u32(b, off + FLOW_MOD.outGroup),
    flags: u16(b, off + FLOW_MOD.flags),
    match,
    instructions,
  };
}

export const flowModCodec: MessageCodec<FlowMod> = {
  name: 'flow_mod',
  wireType: OFPT.FLOW_MOD,
  size: sizeFlowMod,
  encode: encodeFlowMod,
  decode: decodeFlowMod,
};
