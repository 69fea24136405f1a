/*
 * What an installed flow keeps, made small: flows share what they have in
 * common instead of each holding its own copy.
 *
 * What
 *   FlowStore.mask(row)      the shared, interned copy of a mask row (flows
 *                            of one subtable have the same mask)
 *   FlowStore.key(row)       a copy of a key row in a shared chunk (row-slab.ts)
 *   FlowStore.actions(rule)  the compiled program, its references and the
 *                            instruction list, shared by every rule with the
 *                            same instructions and compile inputs (table,
 *                            cookie, table-miss-ness, the slots of the groups
 *                            and meters it names)
 *
 * Invariants
 * - Everything handed out is treated as immutable by every reader (rows,
 *   RuleProgram, RuleRefs, the instruction list reported in stats); sharing
 *   is only a saving, never a change in meaning.
 * - A cached program is only reused while the groups and meters it names
 *   sit in the same slots (the slots are part of the cache key).
 * - The caches are bounded (cleared when full): a controller sending many
 *   distinct masks or instruction lists costs no more than without them.
 *
 * Slow path only (flow-mods).
 */

import { KEY_WORDS } from '../../flow/key.js';
import type { RuleProgram } from '../../datapath/rules/ops.js';
import type { RuleRefs } from '../../datapath/rules/rule.js';
import { Uint32Rows } from '../../datapath/rules/row-slab.js';
import type { Instruction } from '../codec/v13/instructions.js';
import { compileRule, ruleRefs, type CompilableRule, type CompileContext } from './compile.js';

/** Entries each cache holds before it starts over. */
const CACHE_LIMIT = 4096;

export interface SharedActions {
  readonly program: RuleProgram;
  readonly refs: RuleRefs;
  readonly instructions: Instruction[];
}

function jsonValue(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}n` : v;
}

export class FlowStore {
  private readonly masks = new Map<string, Uint32Array>();
  private readonly programs = new Map<string, SharedActions>();
  private readonly keys = new Uint32Rows(KEY_WORDS);

  constructor(private readonly ctx: CompileContext) {}

  mask(row: Uint32Array): Uint32Array {
    const k = row.join(',');
    let m = this.masks.get(k);
    if (m === undefined) {
      if (this.masks.size >= CACHE_LIMIT) this.masks.clear();
      m = row;
      this.masks.set(k, m);
    }
    return m;
  }

  key(row: Uint32Array): Uint32Array {
    return this.keys.copyOf(row);
  }

  actions(rule: CompilableRule & { readonly instructions: Instruction[] }): SharedActions {
    const refs = ruleRefs(rule.instructions);
    const slots = `${refs.groups.map((g) => this.ctx.groupSlot(g)).join(',')}|${refs.meters.map((m) => this.ctx.meterSlot(m)).join(',')}`;
    const k = `${rule.tableId}|${rule.cookie}|${rule.isTableMiss ? 1 : 0}|${slots}|${JSON.stringify(rule.instructions, jsonValue)}`;
    let a = this.programs.get(k);
    if (a === undefined) {
      if (this.programs.size >= CACHE_LIMIT) this.programs.clear();
      a = { program: compileRule(rule, this.ctx), refs, instructions: rule.instructions };
      this.programs.set(k, a);
    }
    return a;
  }
}
