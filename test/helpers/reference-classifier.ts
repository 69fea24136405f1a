/*
 * The obviously-correct classifier that differential tests compare the real
 * one against (after OVS tests/test-classifier.c's `tcls`): a list in
 * insertion order, scanned linearly. Highest priority wins; among equal
 * priorities the rule inserted first wins (the Classifier's documented rule).
 */

import { KEY_WORDS } from '../../src/flow/key.js';

interface RefRule {
  id: number;
  key: Uint32Array;
  mask: Uint32Array;
  priority: number;
}

export class ReferenceClassifier {
  private rules: RefRule[] = [];

  insert(id: number, key: Uint32Array, mask: Uint32Array, priority: number): void {
    const k = new Uint32Array(KEY_WORDS);
    for (let w = 0; w < KEY_WORDS; w++) k[w] = key[w] & mask[w];
    this.rules.push({ id, key: k, mask: mask.slice(), priority });
  }

  remove(id: number): void {
    this.rules = this.rules.filter((r) => r.id !== id);
  }

  /** The id of the best rule for keys[base..], or -1. */
  lookup(keys: Uint32Array, base: number): number {
    let best: RefRule | null = null;
    for (const r of this.rules) {
      let hit = true;
      for (let w = 0; w < KEY_WORDS && hit; w++) hit = ((keys[base + w] & r.mask[w]) >>> 0) === r.key[w];
      if (hit && (best === null || r.priority > best.priority)) best = r;
    }
    return best === null ? -1 : best.id;
  }
}
