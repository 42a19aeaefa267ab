// Leader epoch -> first offset written in that epoch (KIP-101/279), persisted to leader-epoch-checkpoint.
// Rules follow Kafka's LeaderEpochFileCache: entries rise in both epoch and start offset; a new entry
// removes any later-or-equal entries that would break that; endOffsetFor answers OffsetsForLeaderEpoch.

import type { EpochEntry } from './checkpoint.js';
import { readLeaderEpochCheckpoint, writeLeaderEpochCheckpoint, writeLeaderEpochCheckpointAsync } from './checkpoint.js';

export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;

export class LeaderEpochCache {
  private entries: EpochEntry[];
  /** An assign not written yet; `generation` counts every change so an older background write is dropped. */
  private unwritten = false;
  private writing = false;
  private generation = 0;
  private closed = false;
  private background: Promise<void> = Promise.resolve();

  /** `file` undefined keeps the cache in memory only (tests, scratch copies). */
  constructor(
    private readonly file: string | undefined,
    entries?: EpochEntry[],
  ) {
    this.entries = entries ?? (file !== undefined ? readLeaderEpochCheckpoint(file) : []);
    for (let i = 1; i < this.entries.length; i++) {
      const a = this.entries[i - 1];
      const b = this.entries[i];
      if (b.epoch <= a.epoch || b.startOffset < a.startOffset) {
        throw new Error(`${file}: epochs out of order at ${a.epoch} ${a.startOffset} / ${b.epoch} ${b.startOffset}`);
      }
    }
  }

  get all(): readonly EpochEntry[] {
    return this.entries;
  }

  get latestEpoch(): number {
    return this.entries.length > 0 ? this.entries[this.entries.length - 1].epoch : UNDEFINED_EPOCH;
  }

  get latestEntry(): EpochEntry | undefined {
    return this.entries[this.entries.length - 1];
  }

  get earliestEntry(): EpochEntry | undefined {
    return this.entries[0];
  }

  /**
   * Records that `epoch` starts at `startOffset`. Written in the background (as Kafka 3.7+ does,
   * KAFKA-15046): a leader change assigns an epoch in every partition it touches, and one fsync
   * after another on the event loop held the new leaders for hundreds of ms on a busy disk. What
   * a crash may lose is rebuilt from the batches by recovery, and the log writes the file
   * synchronously (flush) before its recovery point passes data of the epoch.
   */
  assign(epoch: number, startOffset: number): void {
    if (epoch < 0 || startOffset < 0) throw new Error(`invalid epoch entry ${epoch} ${startOffset}`);
    const last = this.latestEntry;
    if (last !== undefined && last.epoch === epoch && last.startOffset <= startOffset) return;
    while (this.entries.length > 0) {
      const e = this.entries[this.entries.length - 1];
      if (e.epoch >= epoch || e.startOffset >= startOffset) this.entries.pop();
      else break;
    }
    this.entries.push({ epoch, startOffset });
    this.persistInBackground();
  }

  /** Writes an assign still pending, synchronously (before the recovery point moves, and at close). */
  flush(): void {
    if (this.unwritten) this.persist();
  }

  /** No more writes (the directory is being deleted or renamed). */
  close(): void {
    this.closed = true;
    this.unwritten = false;
  }

  /**
   * OffsetsForLeaderEpoch: the largest epoch <= requested and the start offset of the next larger epoch,
   * or the log end offset when the requested epoch is the latest. An epoch below every cached one
   * answers (requested, first start offset); one above every cached one answers undefined (-1, -1).
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): { epoch: number; endOffset: number } {
    if (requestedEpoch === UNDEFINED_EPOCH) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (this.entries.length > 0 && this.latestEpoch === requestedEpoch) return { epoch: requestedEpoch, endOffset: logEndOffset };
    const higher = this.entries.findIndex((e) => e.epoch > requestedEpoch);
    if (higher < 0) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (higher === 0) return { epoch: requestedEpoch, endOffset: this.entries[0].startOffset };
    return { epoch: this.entries[higher - 1].epoch, endOffset: this.entries[higher].startOffset };
  }

  /** The epoch the given offset was written in, if known. */
  epochForOffset(offset: number): number | undefined {
    let prev: number | undefined;
    for (const e of this.entries) {
      if (e.startOffset === offset) return e.epoch;
      if (e.startOffset > offset) return prev;
      prev = e.epoch;
    }
    return prev;
  }

  /** Removes entries whose start offset is >= endOffset (after a log truncation). */
  truncateFromEnd(endOffset: number): void {
    const last = this.latestEntry;
    if (endOffset < 0 || last === undefined || last.startOffset < endOffset) return;
    while (this.entries.length > 0 && this.entries[this.entries.length - 1].startOffset >= endOffset) this.entries.pop();
    this.persist();
  }

  /** Drops entries wholly below startOffset; the newest of them is kept, moved to start at startOffset. */
  truncateFromStart(startOffset: number): void {
    let n = 0;
    while (n < this.entries.length && this.entries[n].startOffset <= startOffset) n++;
    if (n === 0) return;
    const kept = { epoch: this.entries[n - 1].epoch, startOffset };
    if (n === 1 && this.entries[0].startOffset === startOffset) return;
    this.entries.splice(0, n, kept);
    this.persist();
  }

  clear(): void {
    if (this.entries.length === 0) return;
    this.entries = [];
    this.persist();
  }

  private persist(): void {
    this.generation++;
    this.unwritten = false;
    if (this.file !== undefined && !this.closed) writeLeaderEpochCheckpoint(this.file, this.entries);
  }

  private persistInBackground(): void {
    if (this.file === undefined || this.closed) return;
    this.generation++;
    this.unwritten = true;
    if (!this.writing) this.background = this.writeInBackground(this.file);
  }

  /** Settles when the background write running now (if any) has ended (tests). */
  whenWritten(): Promise<void> {
    return this.background;
  }

  /** One background write at a time; changes made meanwhile are written by the next round. */
  private async writeInBackground(file: string): Promise<void> {
    this.writing = true;
    try {
      while (this.unwritten && !this.closed) {
        const gen = this.generation;
        const written = await writeLeaderEpochCheckpointAsync(file, this.entries, () => !this.closed && gen === this.generation);
        // Nothing changed since it started: it is on disk. Otherwise the loop writes the newer entries.
        if (written && gen === this.generation) this.unwritten = false;
      }
    } catch {
      // Left unwritten: the next flush (or a truncation) writes it synchronously.
    } finally {
      this.writing = false;
    }
  }
}
