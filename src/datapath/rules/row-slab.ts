/*
 * Fixed-width typed-array rows carved out of shared chunks: a flow's key row
 * or counters as a view (subarray) of a chunk of `rowsPerChunk` rows, instead
 * of a typed array of its own. A typed array of its own costs an ArrayBuffer
 * object and a separate backing store (about 200 bytes beyond its data); a
 * view costs only the view object.
 *
 * Rows are never handed out twice; a chunk is freed by the garbage collector
 * once no view of it is alive (a removed rule's rows stay valid for whoever
 * still holds the rule). Small chunks bound what a few long-lived rows can
 * pin: at most one chunk per live row.
 *
 * Slow path only (rule installation).
 */

export class Uint32Rows {
  private chunk = new Uint32Array(0);
  private used = 0;

  constructor(
    readonly width: number,
    readonly rowsPerChunk = 64,
  ) {}

  /** A fresh zeroed row. */
  take(): Uint32Array {
    if (this.used === this.chunk.length) {
      this.chunk = new Uint32Array(this.width * this.rowsPerChunk);
      this.used = 0;
    }
    const row = this.chunk.subarray(this.used, this.used + this.width);
    this.used += this.width;
    return row;
  }

  /** A row holding a copy of `src`. */
  copyOf(src: Uint32Array): Uint32Array {
    const row = this.take();
    row.set(src.subarray(0, this.width));
    return row;
  }
}

export class Float64Rows {
  private chunk = new Float64Array(0);
  private used = 0;

  constructor(
    readonly width: number,
    readonly rowsPerChunk = 64,
  ) {}

  /** A fresh zeroed row. */
  take(): Float64Array {
    if (this.used === this.chunk.length) {
      this.chunk = new Float64Array(this.width * this.rowsPerChunk);
      this.used = 0;
    }
    const row = this.chunk.subarray(this.used, this.used + this.width);
    this.used += this.width;
    return row;
  }
}
