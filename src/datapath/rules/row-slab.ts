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

/** What a row type offers the slab: views of itself and copying in. */
interface RowArray<T> {
  readonly length: number;
  subarray(begin: number, end: number): T;
  set(src: ArrayLike<number>): void;
}

class Rows<T extends RowArray<T>> {
  private chunk: T;
  private used = 0;

  constructor(
    private readonly alloc: (length: number) => T,
    readonly width: number,
    readonly rowsPerChunk: number,
  ) {
    this.chunk = alloc(0);
  }

  /** A fresh zeroed row. */
  take(): T {
    if (this.used === this.chunk.length) {
      this.chunk = this.alloc(this.width * this.rowsPerChunk);
      this.used = 0;
    }
    const row = this.chunk.subarray(this.used, this.used + this.width);
    this.used += this.width;
    return row;
  }
}

export class Uint32Rows extends Rows<Uint32Array> {
  constructor(width: number, rowsPerChunk = 64) {
    super((n) => new Uint32Array(n), width, rowsPerChunk);
  }

  /** A row holding a copy of `src`. */
  copyOf(src: Uint32Array): Uint32Array {
    const row = this.take();
    row.set(src.subarray(0, this.width));
    return row;
  }
}

export class Float64Rows extends Rows<Float64Array> {
  constructor(width: number, rowsPerChunk = 64) {
    super((n) => new Float64Array(n), width, rowsPerChunk);
  }
}
