// The .timeindex file: 12-byte entries (timestamp int64, relative offset int32) with strictly rising
// timestamps, as Kafka's TimeIndex. One slot is held back so the final entry fits when the segment rolls.

import { readInt64, writeInt64 } from '../protocol/batchHeader.js';
import { CorruptIndexError, IndexFile } from './indexFile.js';

export const TIME_INDEX_ENTRY_BYTES = 12;
/** Kafka's RecordBatch.NO_TIMESTAMP. */
export const NO_TIMESTAMP = -1;

export interface TimestampOffset {
  timestamp: number;
  offset: number;
}

const tsAt = (mem: Buffer, slot: number) => readInt64(mem, slot * TIME_INDEX_ENTRY_BYTES);

export class TimeIndex extends IndexFile {
  private readonly scratch = Buffer.alloc(TIME_INDEX_ENTRY_BYTES);
  private last: TimestampOffset;

  constructor(file: string, baseOffset: number, maxIndexBytes: number) {
    super(file, baseOffset, TIME_INDEX_ENTRY_BYTES, maxIndexBytes);
    this.last = this.readLast();
  }

  private readLast(): TimestampOffset {
    if (this.entries === 0) return { timestamp: NO_TIMESTAMP, offset: this.baseOffset };
    const e = this.readEntry(this.entries - 1);
    return { timestamp: readInt64(e, 0), offset: this.baseOffset + e.readInt32BE(8) };
  }

  get lastEntry(): TimestampOffset {
    return this.last;
  }

  override isFull(): boolean {
    return this.entries >= this.maxEntries - 1;
  }

  /** Appends when `timestamp` is above the last entry's; `skipFullCheck` uses the reserved slot (on roll). */
  maybeAppend(timestamp: number, offset: number, skipFullCheck = false): void {
    if (!skipFullCheck && this.isFull()) return;
    if (this.entries >= this.maxEntries) return;
    if (this.entries !== 0 && offset < this.last.offset) {
      throw new Error(`${this.file}: offset ${offset} is below the last indexed offset ${this.last.offset}`);
    }
    if (this.entries !== 0 && timestamp < this.last.timestamp) {
      throw new Error(`${this.file}: timestamp ${timestamp} is below the last indexed timestamp ${this.last.timestamp}`);
    }
    if (timestamp > this.last.timestamp) {
      writeInt64(this.scratch, 0, timestamp);
      this.scratch.writeInt32BE(offset - this.baseOffset, 8);
      this.appendEntry(this.scratch);
      this.last = { timestamp, offset };
    }
  }

  /** The entry with the largest timestamp <= target, or (NO_TIMESTAMP, baseOffset). */
  lookup(target: number): TimestampOffset {
    const slot = this.largestLowerBound(target, tsAt);
    if (slot < 0) return { timestamp: NO_TIMESTAMP, offset: this.baseOffset };
    const mem = this.entryBuffer();
    return { timestamp: tsAt(mem, slot), offset: this.baseOffset + mem.readInt32BE(slot * 12 + 8) };
  }

  /** Removes entries whose offset is >= `offset` (offsets never decrease along the index). */
  truncateTo(offset: number): void {
    let keep = this.entries;
    if (keep > 0) {
      const mem = this.entryBuffer();
      while (keep > 0 && this.baseOffset + mem.readInt32BE((keep - 1) * 12 + 8) >= offset) keep--;
    }
    this.truncateToEntries(keep);
    this.last = this.readLast();
  }

  override reset(maxIndexBytes: number): void {
    super.reset(maxIndexBytes);
    this.last = this.readLast();
  }

  sanityCheck(): void {
    this.checkShape(this.last.offset);
    if (this.entries !== 0 && this.last.timestamp < readInt64(this.readEntry(0), 0)) {
      throw new CorruptIndexError(`${this.file}: last timestamp ${this.last.timestamp} is below the first`);
    }
  }
}
