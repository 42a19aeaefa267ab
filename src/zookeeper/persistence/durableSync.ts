// The durable sync stage (ZooKeeper's SyncRequestProcessor): txns are appended to the log and
// fsynced in group commits — everything that queued up while the previous fsync ran goes out in
// the next write+fsync — and only then released, in order, to be applied and answered. After
// snapCount/2 + random(snapCount/2) txns the log rolls and a snapshot is requested.
//
// A failed write or fsync is final: nothing queued is acknowledged, later submissions fail at
// once, and unavailableReason says why until the server is restarted (the disk may hold any
// prefix of the failed batch; recovery cuts a torn tail).

import type { SyncStage } from '../server/pipeline.js';
import type { Txn } from '../server/txn.js';
import { encodeTxn } from './txnCodec.js';
import { ENTRY_OVERHEAD_BYTES, frameEntry, type TxnLogWriter } from './txnLog.js';

interface Item {
  zxid: number;
  /** The encoded txn, or undefined for a barrier. */
  payload: Buffer | undefined;
  done: (err?: Error) => void;
}

export interface DurableSyncOptions {
  snapCount: number;
  /** Bytes one group commit writes at most (a single larger txn still goes alone). */
  batchBytesMax: number;
  /** Uniform in [0, 1): spreads log rolls as ZooKeeper's randRoll does. */
  random: () => number;
  /** The log just rolled: time for a snapshot. */
  onRoll: () => void;
  /** Writes are refused from now on; `reason` names the file and the error. */
  onFailure: (reason: string, error: Error) => void;
}

export class DurableSyncStage implements SyncStage {
  private queue: Item[] = [];
  private head = 0;
  private flushing = false;
  private scheduled = false;
  private failure: Error | undefined;
  private txnsSinceRoll = 0;
  private rollAfter: number;
  private idle: (() => void)[] = [];
  /** Counters for mntr/benchmarks. */
  readonly stats = { batches: 0, txns: 0, bytes: 0 };

  constructor(
    private readonly writer: TxnLogWriter,
    private readonly opts: DurableSyncOptions,
  ) {
    this.rollAfter = this.nextRollPoint();
  }

  get unavailableReason(): string | undefined {
    return this.failure?.message;
  }

  private nextRollPoint(): number {
    const half = Math.max(1, Math.floor(this.opts.snapCount / 2));
    return half + Math.floor(this.opts.random() * half);
  }

  submit(txn: Txn | null, done: (err?: Error) => void): void {
    const failure = this.failure;
    if (failure) {
      queueMicrotask(() => done(failure));
      return;
    }
    this.queue.push({ zxid: txn ? txn.header.zxid : 0, payload: txn ? encodeTxn(txn) : undefined, done });
    if (!this.flushing && !this.scheduled) {
      // Let the rest of this event-loop turn (other sockets' requests) join the batch.
      this.scheduled = true;
      setImmediate(this.run);
    }
  }

  /** The next group commit: bounded in bytes, and ending where the log is due to roll. */
  private takeBatch(): Item[] {
    const q = this.queue;
    let end = this.head;
    let bytes = 0;
    let txns = 0;
    const txnsMax = Math.max(1, this.rollAfter - this.txnsSinceRoll);
    while (end < q.length) {
      const p = q[end]!.payload;
      const size = p ? p.length + ENTRY_OVERHEAD_BYTES : 0;
      if (end > this.head && (bytes + size > this.opts.batchBytesMax || (p && txns >= txnsMax))) break;
      bytes += size;
      if (p) txns++;
      end++;
    }
    const batch = q.slice(this.head, end);
    this.head = end;
    if (this.head === q.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 4096) {
      this.queue = q.slice(this.head);
      this.head = 0;
    }
    return batch;
  }

  private run = async (): Promise<void> => {
    this.scheduled = false;
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.head < this.queue.length && !this.failure) {
        const batch = this.takeBatch();
        let bytes = 0;
        let firstZxid = -1;
        let txns = 0;
        for (const it of batch) {
          if (!it.payload) continue;
          bytes += it.payload.length + ENTRY_OVERHEAD_BYTES;
          if (firstZxid < 0) firstZxid = it.zxid;
          txns++;
        }
        if (txns > 0) {
          try {
            const out = Buffer.allocUnsafe(bytes);
            let at = 0;
            for (const it of batch) if (it.payload) at = frameEntry(out, at, it.payload);
            await this.writer.append(firstZxid, out);
          } catch (e) {
            this.fail(e as Error, batch);
            break;
          }
          this.stats.batches++;
          this.stats.txns += txns;
          this.stats.bytes += bytes;
        }
        for (const it of batch) it.done();
        this.txnsSinceRoll += txns;
        if (this.txnsSinceRoll >= this.rollAfter) {
          this.txnsSinceRoll = 0;
          this.rollAfter = this.nextRollPoint();
          this.writer.roll();
          this.opts.onRoll();
        }
      }
    } finally {
      this.flushing = false;
      if (this.head >= this.queue.length || this.failure) {
        const waiters = this.idle;
        this.idle = [];
        for (const w of waiters) w();
      } else {
        this.run();
      }
    }
  };

  private fail(error: Error, inFlight: Item[]): void {
    const reason = `cannot write the transaction log ${this.writer.currentFile || ''}: ${error.message}`;
    this.failure = new Error(reason);
    const rest = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    for (const it of [...inFlight, ...rest]) it.done(this.failure);
    this.opts.onFailure(reason, error);
  }

  /** Resolves once everything submitted so far is written (or failed). */
  private drained(): Promise<void> {
    if (!this.flushing && !this.scheduled && this.head >= this.queue.length) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  async close(): Promise<void> {
    await this.drained();
    await this.writer.close();
  }
}
