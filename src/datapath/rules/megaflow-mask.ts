/*
 * Megaflow masks: which key bits a walk's result depended on, for the
 * megaflow cache (megaflow.ts), which stores the walk's program under them.
 *
 * Design
 *   - Conservative: in_port, and the union of every subtable mask of every
 *     table the walk looked up. A path that patched the key before a later
 *     lookup (set-field then goto) gets the whole key: the later lookups saw
 *     edited words.
 *   - Per table the union of its classifier's subtable masks is kept for one
 *     generation of the tables and rebuilt when the generation moves.
 *
 * Invariants
 * - build() returns the same scratch array each call (valid until the next
 *   call); it allocates only when the tables' generation moved.
 */
import { K, KEY_WORDS } from '../../flow/key.js';
import type { EntryProgram } from './ops.js';
import type { PipelineTables } from './pipeline-tables.js';

export class MegaflowMasks {
  /** Per table: the union of its classifier's subtable masks, for generation tableMasksGen. */
  private tableMasks: Uint32Array[] = [];
  private tableMasksGen = -1;
  private readonly mask = new Uint32Array(KEY_WORDS);

  constructor(private readonly tables: PipelineTables) {}

  /**
   * The key bits the walk in path[0..n) / pathFrags depended on (path: entry
   * program id, or -(table + 1) for a miss; pathFrags: the entry programs).
   */
  build(path: Int32Array, pathFrags: readonly (EntryProgram | null)[], n: number): Uint32Array {
    const m = this.mask, tables = this.tables.tables, gen = this.tables.generation;
    if (this.tableMasksGen !== gen) {
      this.tableMasks = tables.map((t) => {
        const u = new Uint32Array(KEY_WORDS);
        for (const st of t.classifier.subtables()) for (let w = 0; w < KEY_WORDS; w++) u[w] |= st.mask[w];
        return u;
      });
      this.tableMasksGen = gen;
    }
    m.fill(0);
    m[K.InPort] = 0xffffffff;
    for (let i = 0; i < n; i++) {
      const f = pathFrags[i];
      if (f !== null && f.applyEdits && f.gotoTable >= 0) {
        m.fill(0xffffffff);
        return m;
      }
      const u = this.tableMasks[f !== null ? f.tableId : -(path[i] + 1)];
      for (let w = 0; w < KEY_WORDS; w++) m[w] |= u[w];
    }
    return m;
  }
}
