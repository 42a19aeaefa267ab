// Znode values outside the V8 heap. A value of up to ARENA_VALUE_BYTES_MAX bytes lives in a cell
// of a 1 MiB arena chunk, cells sized in 8-byte units with a free list per size; a bigger value
// is a Buffer of its own. On the V8 heap each value was a string (16 bytes of header, 8 of
// pointer), promoted and marked by every GC and counted in the heap's growth headroom; here the
// GC never sees it. Freed cells are reused by values of the same size class; chunks are never
// given back (like the node table's columns after mass deletes).
// Pure: NodeTable keeps each node's (ref, length) in its columns.

/** Values up to this many bytes go in the arena; bigger ones get a Buffer each. */
export const ARENA_VALUE_BYTES_MAX = 4096;
const UNIT_BYTES = 8;
const CHUNK_BYTES = 1 << 20;
const UNITS_PER_CHUNK = CHUNK_BYTES / UNIT_BYTES;
const EMPTY = Buffer.alloc(0);
/**
 * copyOut copies values up to this many bytes 8 at a time between DataViews: below it that beats
 * TypedArray.set, which needs a view object of the source range per call (~60 ns, and garbage);
 * above it memcpy wins and the view objects cost little beside the copy.
 */
const COPY_BY_WORDS_MAX = 256;

/** A cell's byte offset in its chunk. */
function cellStart(ref: number): number {
  return (ref % UNITS_PER_CHUNK) * UNIT_BYTES;
}

function sizeClass(length: number): number {
  return (length + UNIT_BYTES - 1) >>> 3;
}

export class ValueStore {
  private chunks: Buffer[] = [];
  /** A DataView of each chunk, for copyOut. */
  private chunkViews: DataView[] = [];
  /** Next free byte of the last chunk. */
  private bumpAt = CHUNK_BYTES;
  /** Per size class (units), the refs of free cells. */
  private freeCells: number[][] = [];
  private large = new Map<number, Buffer>();
  private freeLargeRefs: number[] = [];
  private nextLargeRef = 0;

  clear(): void {
    this.chunks = [];
    this.chunkViews = [];
    this.bumpAt = CHUNK_BYTES;
    this.freeCells = [];
    this.large = new Map();
    this.freeLargeRefs = [];
    this.nextLargeRef = 0;
  }

  /** Arena bytes reserved (chunks) plus the bytes of large values. */
  get bytesReserved(): number {
    let n = this.chunks.length * CHUNK_BYTES;
    for (const b of this.large.values()) n += b.length;
    return n;
  }

  /** Copies `data` in; returns its ref (meaningless for an empty value, which takes no space). */
  store(data: Uint8Array): number {
    const length = data.length;
    if (length === 0) return 0;
    if (length > ARENA_VALUE_BYTES_MAX) {
      const ref = this.freeLargeRefs.pop() ?? this.nextLargeRef++;
      this.large.set(ref, Buffer.from(data));
      return ref;
    }
    const ref = this.allocateCell(sizeClass(length));
    this.cellChunk(ref).set(data, cellStart(ref));
    return ref;
  }

  /**
   * Replaces the value at (ref, oldLength) with `data`; returns the new ref. A value of the same
   * size class is overwritten in place.
   */
  replace(ref: number, oldLength: number, data: Uint8Array): number {
    const length = data.length;
    if (
      length > 0 &&
      length <= ARENA_VALUE_BYTES_MAX &&
      oldLength > 0 &&
      oldLength <= ARENA_VALUE_BYTES_MAX &&
      sizeClass(length) === sizeClass(oldLength)
    ) {
      this.cellChunk(ref).set(data, cellStart(ref));
      return ref;
    }
    this.release(ref, oldLength);
    return this.store(data);
  }

  /** Frees the value at (ref, length). */
  release(ref: number, length: number): void {
    if (length <= 0) return;
    if (length > ARENA_VALUE_BYTES_MAX) {
      this.large.delete(ref);
      this.freeLargeRefs.push(ref);
      return;
    }
    const cls = sizeClass(length);
    const cells = this.freeCells[cls];
    if (cells) cells.push(ref);
    else this.freeCells[cls] = [ref];
  }

  /**
   * Copies the value at (ref, length) into `target` at `at` (the caller makes room); returns
   * `length`. Allocates nothing for values up to COPY_BY_WORDS_MAX bytes.
   */
  copyOut(ref: number, length: number, target: DataView, at: number): number {
    if (length <= 0) return 0;
    if (at < 0 || at + length > target.byteLength)
      throw new RangeError(`${length} bytes at ${at} overrun a target of ${target.byteLength}`);
    if (length > COPY_BY_WORDS_MAX) {
      new Uint8Array(target.buffer, target.byteOffset + at, length).set(this.view(ref, length));
      return length;
    }
    const src = this.chunkViews[(ref / UNITS_PER_CHUNK) | 0]!;
    const from = cellStart(ref);
    // Both sides little-endian: the bytes land as they were.
    let i = 0;
    for (const end = length - 7; i < end; i += 8) {
      target.setInt32(at + i, src.getInt32(from + i, true), true);
      target.setInt32(at + i + 4, src.getInt32(from + i + 4, true), true);
    }
    for (; i < length; i++) target.setUint8(at + i, src.getUint8(from + i));
    return length;
  }

  /** A view of the stored bytes: valid only until the value is next replaced or released. */
  view(ref: number, length: number): Buffer {
    if (length <= 0) return EMPTY;
    if (length > ARENA_VALUE_BYTES_MAX) return this.large.get(ref)!;
    const start = cellStart(ref);
    return this.cellChunk(ref).subarray(start, start + length);
  }

  private cellChunk(ref: number): Buffer {
    return this.chunks[(ref / UNITS_PER_CHUNK) | 0]!;
  }

  private allocateCell(units: number): number {
    const reused = this.freeCells[units]?.pop();
    if (reused !== undefined) return reused;
    const bytes = units * UNIT_BYTES;
    if (this.bumpAt + bytes > CHUNK_BYTES) {
      // The unused tail of the old chunk (under ARENA_VALUE_BYTES_MAX) is left as it is.
      const chunk = Buffer.allocUnsafeSlow(CHUNK_BYTES);
      this.chunks.push(chunk);
      this.chunkViews.push(new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.bumpAt = 0;
    }
    const ref = (this.chunks.length - 1) * UNITS_PER_CHUNK + this.bumpAt / UNIT_BYTES;
    this.bumpAt += bytes;
    return ref;
  }
}
