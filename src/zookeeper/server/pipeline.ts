// The sync stage between prep and final. Txns (and sync barriers) enter in zxid order and leave,
// once durable (or, in an ensemble, committed by a quorum), in the same order. The in-memory
// stage used until durable storage lands commits at the end of the current microtask batch so
// that many writes arriving in one socket read are handled together.

import type { Txn } from './txn.js';

export interface SyncStage {
  /**
   * Queues a txn, or a barrier (null) that completes after everything queued before it. `done`
   * gets an error if the txn could not be made durable: it must then never be acknowledged.
   */
  submit(txn: Txn | null, done: (err?: Error) => void): void;
  /** Why writes are refused (disk trouble, no quorum), or undefined when healthy. */
  readonly unavailableReason: string | undefined;
  close(): Promise<void>;
}

/** Keeps the data in memory only: a restart forgets everything (see README). */
export class InMemorySyncStage implements SyncStage {
  private queue: (() => void)[] = [];
  private scheduled = false;
  readonly unavailableReason = undefined;

  submit(_txn: Txn | null, done: () => void): void {
    this.queue.push(done);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flush);
    }
  }

  private flush = (): void => {
    this.scheduled = false;
    const q = this.queue;
    this.queue = [];
    for (const done of q) done();
  };

  async close(): Promise<void> {
    this.flush();
  }
}
