// Common machinery of Kafka's fixed-entry index files (.index, .timeindex). Kafka mmaps them; we keep
// the valid entries in memory (loaded on first use, so old segments cost nothing until looked up)
// and write each new entry with one pwrite. The file length follows Kafka's rules: preallocated to
// segment.index.bytes (rounded down to whole entries) while active, trimmed to the entries on roll/close;
// an existing file is assumed to be all entries, which is why unclean shutdowns rebuild the tail.

import * as fs from 'node:fs';

export class CorruptIndexError extends Error {
  override name = 'CorruptIndexError';
}

function fileExists(file: string): boolean {
  try {
    fs.statSync(file);
    return true;
  } catch {
    return false;
  }
}

export abstract class IndexFile {
  /** Number of valid entries. */
  entries = 0;
  /** Capacity in entries (file length / entry size). */
  maxEntries: number;
  readonly newlyCreated: boolean;
  private fd: number;
  private mem: Buffer | null = null;
  private fileBytes: number;

  protected constructor(
    public file: string,
    readonly baseOffset: number,
    readonly entryBytes: number,
    maxIndexBytes: number,
  ) {
    this.newlyCreated = !fileExists(file);
    this.fd = fs.openSync(file, this.newlyCreated ? 'w+' : 'r+');
    if (this.newlyCreated) {
      this.fileBytes = this.roundDown(maxIndexBytes);
      fs.ftruncateSync(this.fd, this.fileBytes);
      this.maxEntries = this.fileBytes / entryBytes;
    } else {
      this.fileBytes = fs.fstatSync(this.fd).size;
      this.entries = Math.floor(this.fileBytes / entryBytes);
      this.maxEntries = this.entries;
    }
  }

  private roundDown(bytes: number): number {
    return bytes - (bytes % this.entryBytes);
  }

  get fileLength(): number {
    return this.fileBytes;
  }

  /** True when the index can take no more entries; the segment must roll. */
  isFull(): boolean {
    return this.entries >= this.maxEntries;
  }

  protected entryBuffer(): Buffer {
    if (this.mem === null) {
      const bytes = this.entries * this.entryBytes;
      const b = Buffer.allocUnsafe(Math.max(bytes, 64 * this.entryBytes));
      let done = 0;
      while (done < bytes) {
        const n = fs.readSync(this.fd, b, done, bytes - done, done);
        if (n === 0) throw new CorruptIndexError(`${this.file}: short read`);
        done += n;
      }
      this.mem = b;
    }
    return this.mem;
  }

  /** Reads one entry without loading the whole index (used for sanity checks at open). */
  protected readEntry(slot: number): Buffer {
    if (this.mem !== null) return this.mem.subarray(slot * this.entryBytes, (slot + 1) * this.entryBytes);
    const b = Buffer.alloc(this.entryBytes);
    fs.readSync(this.fd, b, 0, this.entryBytes, slot * this.entryBytes);
    return b;
  }

  protected appendEntry(entry: Buffer): void {
    const at = this.entries * this.entryBytes;
    let mem = this.entryBuffer();
    if (mem.length < at + this.entryBytes) {
      const grown = Buffer.allocUnsafe(Math.min(Math.max(mem.length * 2, at + this.entryBytes), this.maxEntries * this.entryBytes));
      mem.copy(grown, 0, 0, at);
      this.mem = mem = grown;
    }
    entry.copy(mem, at);
    fs.writeSync(this.fd, entry, 0, this.entryBytes, at);
    this.entries++;
    if (at + this.entryBytes > this.fileBytes) this.fileBytes = at + this.entryBytes;
  }

  /** Largest slot whose key is <= target (keys strictly increase), or -1. */
  protected largestLowerBound(target: number, keyAt: (mem: Buffer, slot: number) => number): number {
    if (this.entries === 0) return -1;
    const mem = this.entryBuffer();
    if (keyAt(mem, 0) > target) return -1;
    let lo = 0;
    let hi = this.entries - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (keyAt(mem, mid) <= target) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  protected truncateToEntries(n: number): void {
    this.entries = Math.min(this.entries, n);
  }

  /** Drops every entry (recovery rebuilds them) and restores the preallocated length. */
  reset(maxIndexBytes: number): void {
    this.entries = 0;
    this.mem = null;
    fs.ftruncateSync(this.fd, 0);
    this.fileBytes = 0;
    this.resize(maxIndexBytes);
  }

  /** Sets the file length to `bytes` rounded down to whole entries, never below the valid entries. */
  resize(bytes: number): void {
    const len = Math.max(this.roundDown(bytes), this.entries * this.entryBytes);
    if (len !== this.fileBytes) fs.ftruncateSync(this.fd, len);
    this.fileBytes = len;
    this.maxEntries = len / this.entryBytes;
  }

  trimToValidSize(): void {
    this.resize(this.entries * this.entryBytes);
  }

  flush(): void {
    fs.fsyncSync(this.fd);
  }

  /** Frees the in-memory copy; the next lookup reads the file again. */
  release(): void {
    this.mem = null;
  }

  renameTo(file: string): void {
    fs.renameSync(this.file, file);
    this.file = file;
  }

  close(): void {
    fs.closeSync(this.fd);
    this.mem = null;
  }

  /** Shared checks: whole entries only, last offset not below the base offset. */
  protected checkShape(lastOffset: number): void {
    if (this.fileBytes % this.entryBytes !== 0) {
      throw new CorruptIndexError(`${this.file}: length ${this.fileBytes} is not a multiple of ${this.entryBytes}`);
    }
    if (this.entries !== 0 && lastOffset < this.baseOffset) {
      throw new CorruptIndexError(`${this.file}: last offset ${lastOffset} is below base offset ${this.baseOffset}`);
    }
  }
}
