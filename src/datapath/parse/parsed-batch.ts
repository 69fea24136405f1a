/*
 * ParsedBatch: the parser's output for one burst, one row per frame
 * (flow key words, L3/L4 offsets, PARSE_* flags). Allocated once per
 * datapath; the parser stages (parse.ts, parse-l3.ts, parse-l4.ts) fill it.
 */

import { KEY_WORDS } from '../../flow/key.js';

/** Per-burst parser output, indexed by position in the burst; allocated once per datapath. */
export class ParsedBatch {
  readonly capacity: number;
  /** capacity * KEY_WORDS words; row i starts at i * KEY_WORDS. */
  readonly keys: Uint32Array;
  /** Offset of the L3 header from the frame start, 0 if none (see the module comment). */
  readonly l3: Uint16Array;
  /** Offset of the L4 header from the frame start, 0 if none. */
  readonly l4: Uint16Array;
  /** PARSE_* bits per row. */
  readonly flags: Uint8Array;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`parsed batch capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.keys = new Uint32Array(capacity * KEY_WORDS);
    this.l3 = new Uint16Array(capacity);
    this.l4 = new Uint16Array(capacity);
    this.flags = new Uint8Array(capacity);
  }
}
