// The .index file: sparse map from offset to byte position in the segment's .log, 8-byte entries
// (relative offset int32, position int32), as Kafka's OffsetIndex.

import { CorruptIndexError, IndexFile } from './indexFile.js';

export const OFFSET_INDEX_ENTRY_BYTES = 8;
const INT32_MAX = 2147483647;

export interface OffsetPosition {
  offset: number;
  position: number;
}

const relAt = (mem: Buffer, slot: number) => mem.readInt32BE(slot * OFFSET_INDEX_ENTRY_BYTES);

export class OffsetIndex extends IndexFile {
  private readonly scratch = Buffer.alloc(OFFSET_INDEX_ENTRY_BYTES);
  private last: OffsetPosition;

  constructor(file: string, baseOffset: number, maxIndexBytes: number) {
    super(file, baseOffset, OFFSET_INDEX_ENTRY_BYTES, maxIndexBytes);
    this.last = this.readLast();
  }

  private readLast(): OffsetPosition {
    if (this.entries === 0) return { offset: this.baseOffset, position: 0 };
    const e = this.readEntry(this.entries - 1);
    return { offset: this.baseOffset + e.readInt32BE(0), position: e.readInt32BE(4) };
  }

  get lastOffset(): number {
    return this.last.offset;
  }

  get lastEntry(): OffsetPosition {
    return this.last;
  }

  canAppendOffset(offset: number): boolean {
    const rel = offset - this.baseOffset;
    return rel >= 0 && rel <= INT32_MAX;
  }

  /** Adds an entry; returns false (entry skipped, index stays valid) when the index is full. */
  append(offset: number, position: number): boolean {
    if (this.entries !== 0 && offset <= this.last.offset) {
      throw new Error(`${this.file}: offset ${offset} is not after the last indexed offset ${this.last.offset}`);
    }
    if (!this.canAppendOffset(offset)) throw new Error(`${this.file}: offset ${offset} overflows base ${this.baseOffset}`);
    if (this.isFull()) return false;
    this.scratch.writeInt32BE(offset - this.baseOffset, 0);
    this.scratch.writeInt32BE(position, 4);
    this.appendEntry(this.scratch);
    this.last = { offset, position };
    return true;
  }

  /** The entry with the largest offset <= target, or (baseOffset, 0). */
  lookup(target: number): OffsetPosition {
    const slot = this.largestLowerBound(target - this.baseOffset, relAt);
    if (slot < 0) return { offset: this.baseOffset, position: 0 };
    const mem = this.entryBuffer();
    return { offset: this.baseOffset + relAt(mem, slot), position: mem.readInt32BE(slot * 8 + 4) };
  }

  /** Removes entries whose offset is >= `offset`. */
  truncateTo(offset: number): void {
    const slot = this.largestLowerBound(offset - this.baseOffset, relAt);
    let keep: number;
    if (slot < 0) keep = 0;
    else keep = relAt(this.entryBuffer(), slot) === offset - this.baseOffset ? slot : slot + 1;
    this.truncateToEntries(keep);
    this.last = this.readLast();
  }

  override reset(maxIndexBytes: number): void {
    super.reset(maxIndexBytes);
    this.last = this.readLast();
  }

  /** Kafka's checks plus one of ours: the last position must lie inside the log. */
  sanityCheck(logBytes: number): void {
    this.checkShape(this.last.offset);
    if (this.entries !== 0 && (this.last.position < 0 || this.last.position >= logBytes)) {
      throw new CorruptIndexError(`${this.file}: last position ${this.last.position} is outside the log (${logBytes} bytes)`);
    }
  }
}
