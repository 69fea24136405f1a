/*
 * OpenFlow 1.3 instructions (A.2.4): goto-table, write-metadata,
 * write-actions, apply-actions, clear-actions, meter, experimenter.
 *
 * Errors (OFPET_BAD_INSTRUCTION unless an action inside is wrong):
 * - OFPBIC_BAD_LEN: len < 8, not a multiple of 8, past the list end, or not
 *   the fixed size of a fixed-size instruction;
 * - OFPBIC_UNKNOWN_INST: a type OF 1.3 does not define;
 * - actions inside write/apply-actions fail with their own OFPET_BAD_ACTION.
 * Whether an instruction is supported, duplicated or points at a valid
 * table/meter is the pipeline's call (OFPBIC_UNSUP_INST, BAD_TABLE_ID, ...).
 */

import { type Action, actionsSize, decodeActions, encodeActions } from './actions.js';
import { pad8, u16, u32, u64, w16, w32, w64 } from '../bytes.js';
import {
  INSTRUCTION_ACTIONS, INSTRUCTION_EXPERIMENTER, INSTRUCTION_GOTO_TABLE, INSTRUCTION_HEADER, INSTRUCTION_METER,
  INSTRUCTION_WRITE_METADATA,
} from './consts.js';
import { DecodeError } from '../decode-error.js';
import { OFPBIC, OFPET, OFPIT } from './enums.js';

export interface InstructionGotoTable { type: 'goto_table'; tableId: number }
export interface InstructionWriteMetadata { type: 'write_metadata'; metadata: bigint; metadataMask: bigint }
export interface InstructionWriteActions { type: 'write_actions'; actions: Action[] }
export interface InstructionApplyActions { type: 'apply_actions'; actions: Action[] }
export interface InstructionClearActions { type: 'clear_actions' }
export interface InstructionMeter { type: 'meter'; meterId: number }
/** `data` is everything after the experimenter id, padding included. */
export interface InstructionExperimenter { type: 'experimenter'; experimenter: number; data: Buffer }

export type Instruction =
  | InstructionGotoTable | InstructionWriteMetadata | InstructionWriteActions | InstructionApplyActions
  | InstructionClearActions | InstructionMeter | InstructionExperimenter;

export type InstructionType = Instruction['type'];

export const INSTRUCTION_TYPE: Readonly<Record<InstructionType, number>> = {
  goto_table: OFPIT.GOTO_TABLE,
  write_metadata: OFPIT.WRITE_METADATA,
  write_actions: OFPIT.WRITE_ACTIONS,
  apply_actions: OFPIT.APPLY_ACTIONS,
  clear_actions: OFPIT.CLEAR_ACTIONS,
  meter: OFPIT.METER,
  experimenter: OFPIT.EXPERIMENTER,
};

function instructionError(code: number, offset: number, message: string): DecodeError {
  return new DecodeError(OFPET.BAD_INSTRUCTION, code, offset, message);
}

export function instructionSize(i: Instruction): number {
  switch (i.type) {
    case 'goto_table': return INSTRUCTION_GOTO_TABLE.SIZE;
    case 'write_metadata': return INSTRUCTION_WRITE_METADATA.SIZE;
    case 'write_actions': case 'apply_actions': return INSTRUCTION_ACTIONS.SIZE + actionsSize(i.actions);
    case 'clear_actions': return INSTRUCTION_ACTIONS.SIZE;
    case 'meter': return INSTRUCTION_METER.SIZE;
    case 'experimenter': return pad8(INSTRUCTION_EXPERIMENTER.SIZE + i.data.length);
  }
}

export function instructionsSize(list: readonly Instruction[]): number {
  let n = 0;
  for (let k = 0; k < list.length; k++) n += instructionSize(list[k]);
  return n;
}

/** Writes one instruction at `o`; returns the end offset. */
export function encodeInstruction(i: Instruction, b: Buffer, o: number): number {
  const len = instructionSize(i);
  const wireType = INSTRUCTION_TYPE[i.type];
  if (wireType === undefined) throw new TypeError(`openflow/instructions: unknown instruction ${String(i.type)}`);
  w16(b, o + INSTRUCTION_HEADER.type, wireType);
  w16(b, o + INSTRUCTION_HEADER.len, len);
  switch (i.type) {
    case 'goto_table':
      b[o + INSTRUCTION_GOTO_TABLE.tableId] = i.tableId;
      b.fill(0, o + INSTRUCTION_GOTO_TABLE.pad, o + len);
      break;
    case 'write_metadata':
      b.fill(0, o + INSTRUCTION_WRITE_METADATA.pad, o + INSTRUCTION_WRITE_METADATA.metadata);
      w64(b, o + INSTRUCTION_WRITE_METADATA.metadata, i.metadata);
      w64(b, o + INSTRUCTION_WRITE_METADATA.metadataMask, i.metadataMask);
      break;
    case 'write_actions': case 'apply_actions':
      b.fill(0, o + INSTRUCTION_ACTIONS.pad, o + INSTRUCTION_ACTIONS.SIZE);
      encodeActions(i.actions, b, o + INSTRUCTION_ACTIONS.SIZE);
      break;
    case 'clear_actions':
      b.fill(0, o + INSTRUCTION_ACTIONS.pad, o + len);
      break;
    case 'meter':
      w32(b, o + INSTRUCTION_METER.meterId, i.meterId);
      break;
    case 'experimenter':
      w32(b, o + INSTRUCTION_EXPERIMENTER.experimenter, i.experimenter);
      b.fill(0, o + INSTRUCTION_EXPERIMENTER.SIZE, o + len);
      b.set(i.data, o + INSTRUCTION_EXPERIMENTER.SIZE);
      break;
  }
  return o + len;
}

export function encodeInstructions(list: readonly Instruction[], b: Buffer, o: number): number {
  for (let k = 0; k < list.length; k++) o = encodeInstruction(list[k], b, o);
  return o;
}

function wrongLen(o: number, type: number, len: number, size: number): DecodeError | null {
  if (len === size) return null;
  return instructionError(OFPBIC.BAD_LEN, o + INSTRUCTION_HEADER.len, `instruction type ${type} must be ${size} bytes, not ${len}`);
}

function decodeOne(b: Buffer, o: number, type: number, len: number): Instruction | DecodeError {
  switch (type) {
    case OFPIT.GOTO_TABLE:
      return wrongLen(o, type, len, INSTRUCTION_GOTO_TABLE.SIZE) ?? { type: 'goto_table', tableId: b[o + INSTRUCTION_GOTO_TABLE.tableId] };
    case OFPIT.WRITE_METADATA:
      return wrongLen(o, type, len, INSTRUCTION_WRITE_METADATA.SIZE) ?? {
        type: 'write_metadata',
        metadata: u64(b, o + INSTRUCTION_WRITE_METADATA.metadata),
        metadataMask: u64(b, o + INSTRUCTION_WRITE_METADATA.metadataMask),
      };
    case OFPIT.WRITE_ACTIONS: case OFPIT.APPLY_ACTIONS: {
      const actions = decodeActions(b, o + INSTRUCTION_ACTIONS.SIZE, o + len);
      if (actions instanceof DecodeError) return actions;
      return type === OFPIT.WRITE_ACTIONS ? { type: 'write_actions', actions } : { type: 'apply_actions', actions };
    }
    case OFPIT.CLEAR_ACTIONS:
      return wrongLen(o, type, len, INSTRUCTION_ACTIONS.SIZE) ?? { type: 'clear_actions' };
    case OFPIT.METER:
      return wrongLen(o, type, len, INSTRUCTION_METER.SIZE) ?? { type: 'meter', meterId: u32(b, o + INSTRUCTION_METER.meterId) };
    case OFPIT.EXPERIMENTER:
      return {
        type: 'experimenter',
        experimenter: u32(b, o + INSTRUCTION_EXPERIMENTER.experimenter),
        data: b.subarray(o + INSTRUCTION_EXPERIMENTER.SIZE, o + len),
      };
    default:
      return instructionError(OFPBIC.UNKNOWN_INST, o + INSTRUCTION_HEADER.type, `unknown instruction type ${type}`);
  }
}

/** Decodes the instruction list in [off, end); experimenter data are views into `b`. */
export function decodeInstructions(b: Buffer, off: number, end: number): Instruction[] | DecodeError {
  const out: Instruction[] = [];
  for (let o = off; o < end; ) {
    if (o + 8 > end) return instructionError(OFPBIC.BAD_LEN, o, 'instruction truncated');
    const type = u16(b, o + INSTRUCTION_HEADER.type);
    const len = u16(b, o + INSTRUCTION_HEADER.len);
    if (len < 8 || len % 8 !== 0 || o + len > end) {
      return instructionError(OFPBIC.BAD_LEN, o + INSTRUCTION_HEADER.len, `instruction type ${type} has bad length ${len}`);
    }
    const i = decodeOne(b, o, type, len);
    if (i instanceof DecodeError) return i;
    out.push(i);
    o += len;
  }
  return out;
}
