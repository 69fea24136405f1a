/*
 * PathCache: the resolved programs of the current generation, by path.
 *
 * A path is what a walk through the rule tables met, one int per table
 * visited: the EntryProgram id of the entry hit, or -(tableId + 1) for a
 * table miss. Every frame whose walk meets the same path runs the same
 * resolved program, so an exact-match-cache miss on a known path (a new
 * microflow over existing flows) costs a table walk but builds nothing.
 *
 * Design: open addressing (linear probing, load <= 1/2) over the murmur hash
 * of the path words; paths are stored end to end in one Int32Array. Cleared
 * as a whole when the generation changes (programs then name stale entries).
 *
 * Invariants
 * - lookup() allocates nothing; insert() allocates only when the tables grow.
 * - Every stored path maps to an index into the owner's program list.
 */

import { hashFinish, hashMix } from './classifier.js';

const EMPTY = -1;
const INITIAL_SLOTS = 64;

export class PathCache {
  private slotAt = new Int32Array(INITIAL_SLOTS).fill(EMPTY);
  private slotHash = new Int32Array(INITIAL_SLOTS);
  private slotProg = new Int32Array(INITIAL_SLOTS);
  /** Stored paths: [length, words...] each. */
  private words = new Int32Array(256);
  private top = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  private hash(path: Int32Array, n: number): number {
    let h = 0x3c6ef372;
    for (let i = 0; i < n; i++) h = hashMix(h, path[i]);
    return hashFinish(h, n);
  }

  /** The program index stored for path[0..n), or -1. */
  lookup(path: Int32Array, n: number): number {
    const h = this.hash(path, n);
    const mask = this.slotAt.length - 1;
    const words = this.words;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const at = this.slotAt[s];
      if (at === EMPTY) return -1;
      if (this.slotHash[s] === h && words[at] === n) {
        let i = 0;
        while (i < n && words[at + 1 + i] === path[i]) i++;
        if (i === n) return this.slotProg[s];
      }
    }
  }

  /** Stores path[0..n) -> program index (the path must not be stored yet). */
  insert(path: Int32Array, n: number, prog: number): void {
    if ((this.count + 1) * 2 > this.slotAt.length) this.grow();
    if (this.top + n + 1 > this.words.length) {
      const w = new Int32Array(Math.max(this.words.length * 2, this.top + n + 1));
      w.set(this.words);
      this.words = w;
    }
    const at = this.top;
    this.words[at] = n;
    for (let i = 0; i < n; i++) this.words[at + 1 + i] = path[i];
    this.top += n + 1;
    this.place(at, this.hash(path, n), prog);
    this.count++;
  }

  clear(): void {
    this.slotAt.fill(EMPTY);
    this.top = 0;
    this.count = 0;
  }

  private place(at: number, h: number, prog: number): void {
    const mask = this.slotAt.length - 1;
    let s = h & mask;
    while (this.slotAt[s] !== EMPTY) s = (s + 1) & mask;
    this.slotAt[s] = at;
    this.slotHash[s] = h;
    this.slotProg[s] = prog;
  }

  private grow(): void {
    const oldAt = this.slotAt, oldHash = this.slotHash, oldProg = this.slotProg;
    const n = oldAt.length * 2;
    this.slotAt = new Int32Array(n).fill(EMPTY);
    this.slotHash = new Int32Array(n);
    this.slotProg = new Int32Array(n);
    for (let s = 0; s < oldAt.length; s++) if (oldAt[s] !== EMPTY) this.place(oldAt[s], oldHash[s], oldProg[s]);
  }
}
