/*
 * The action set of a table walk (rule-pipeline.ts): per SetSlot, the entry
 * program and pc of the write-actions op that last filled it. Run in SetSlot
 * order at the end of the walk; a group takes precedence over the output.
 *
 * Design
 *   - Slots are stamped instead of cleared: a slot belongs to the current set
 *     when its stamp equals the walk's (a clear-actions takes a new stamp),
 *     so nothing is cleared per frame. Stamps wrap by clearing once.
 *
 * Invariants
 * - Allocates nothing after construction.
 */
import type { ActionExecutor } from './actions-exec.js';
import { type EntryProgram, OP_LEN, SetSlot } from './ops.js';

export class WalkActionSet {
  private readonly frag: (EntryProgram | null)[] = new Array<EntryProgram | null>(SetSlot.COUNT).fill(null);
  private readonly pc = new Int32Array(SetSlot.COUNT);
  private readonly stamps = new Int32Array(SetSlot.COUNT);
  private stamp = 1;

  /** A fresh stamp: an empty action set (walk start, clear-actions). */
  nextStamp(): number {
    if (++this.stamp === 0x7fffffff) {
      this.stamps.fill(0);
      this.stamp = 1;
    }
    return this.stamp;
  }

  /** The write-actions ops of `frag` into the set stamped `stamp`. */
  write(frag: EntryProgram, stamp: number): void {
    const ws = frag.writeSlots;
    for (let i = 0; i < ws.length; i++) {
      const s = ws[i];
      this.frag[s] = frag;
      this.pc[s] = frag.writePcs[i];
      this.stamps[s] = stamp;
    }
  }

  /** Runs the set stamped `stamp` on ex's frame: its slots in order; a group takes precedence over the output. */
  run(ex: ActionExecutor, stamp: number): void {
    const st = this.stamps, frag = this.frag, pcs = this.pc;
    const hasGroup = st[SetSlot.Group] === stamp;
    for (let s = 0; s < SetSlot.COUNT; s++) {
      if (st[s] !== stamp || (s === SetSlot.Output && hasGroup)) continue;
      const f = frag[s]!;
      const pc = pcs[s];
      if (!ex.run(f.code, pc, pc + OP_LEN[f.code[pc]])) return;
    }
  }
}
