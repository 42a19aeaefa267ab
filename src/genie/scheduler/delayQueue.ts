// The scheduler's pure core for `cluster-events.delay`: the delayed records it has read, per
// partition with their offsets, in a min-heap by due time. The shell feeds records in offset
// order, asks what is due, publishes it, reports acks, and commits commitOffset(partition):
// the lowest offset not yet produced, so a new scheduler resumes at the first record whose
// `job.queued` may be missing (docs/JOBS.md "Scheduler"; a re-produced one is dropped by rule 3).
//
// No clock, no I/O: times are inputs.

import { type DelayedRecord, decodeJobEvent, MalformedEventError } from '../jobs/events.js';

export const delayQueueDefaults = {
  /** Records held (waiting or being produced) beyond which the shell pauses fetching. */
  delayedRecordsMax: 100_000,
} as const;

export interface DelayedEntry {
  readonly partition: number;
  readonly offset: bigint;
  /** When `record.next` may be produced (ms since the epoch). */
  dueAtMs: number;
  readonly record: DelayedRecord;
  state: 'waiting' | 'producing' | 'done';
}

export type AddResult = 'added' | 'skipped' | 'duplicate';

/** A record's value as a DelayedRecord, or MalformedEventError saying what is wrong. */
export function parseDelayedRecord(value: Buffer | string | null | undefined): DelayedRecord {
  if (value === null || value === undefined) throw new MalformedEventError('record has no value');
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch {
    throw new MalformedEventError('value is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new MalformedEventError('value is not a JSON object');
  const r = parsed as Record<string, unknown>;
  if (r.type !== 'job.delayed') throw new MalformedEventError(`type ${String(r.type)} is not job.delayed`);
  if (typeof r.jobId !== 'string' || r.jobId.length === 0) throw new MalformedEventError('jobId is missing');
  if (typeof r.dueAt !== 'string' || !Number.isFinite(Date.parse(r.dueAt))) throw new MalformedEventError('dueAt is not an ISO time');
  const next = decodeJobEvent(JSON.stringify(r.next ?? null));
  if (next === null || next.type !== 'job.queued') throw new MalformedEventError('next is not a job.queued event');
  if (next.jobId !== r.jobId) throw new MalformedEventError(`next is for job ${next.jobId}, not ${r.jobId}`);
  return parsed as DelayedRecord;
}

/** Offsets of one partition that are held, in arrival (= offset) order. */
class PartitionState {
  /** The offset after the last one seen; records below it are re-deliveries. */
  nextOffset: bigint | undefined;
  readonly held = new Map<bigint, DelayedEntry>();
  /** Offsets in arrival order; entries before `head` or no longer held are stale (compacted lazily). */
  private order: bigint[] = [];
  private head = 0;

  hold(e: DelayedEntry): void {
    this.held.set(e.offset, e);
    this.order.push(e.offset);
  }

  lowestHeld(): bigint | undefined {
    while (this.head < this.order.length && !this.held.has(this.order[this.head]!)) this.head++;
    // Keep the array within a constant factor of what is held: a long-held record at the front
    // must not make every later, already produced offset stay in memory.
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    } else if (this.order.length - this.head > 2 * this.held.size + 1024) {
      this.order = this.order.slice(this.head).filter((o) => this.held.has(o));
      this.head = 0;
    }
    return this.head < this.order.length ? this.order[this.head] : undefined;
  }
}

const before = (a: DelayedEntry, b: DelayedEntry): boolean =>
  a.dueAtMs !== b.dueAtMs ? a.dueAtMs < b.dueAtMs : a.partition !== b.partition ? a.partition < b.partition : a.offset < b.offset;

export class DelayQueue {
  readonly delayedRecordsMax: number;
  private readonly parts = new Map<number, PartitionState>();
  /** Min-heap of waiting entries by dueAtMs (entries no longer waiting are dropped when they surface). */
  private heap: DelayedEntry[] = [];
  private heldCount = 0;

  constructor(opts: { delayedRecordsMax?: number } = {}) {
    this.delayedRecordsMax = opts.delayedRecordsMax ?? delayQueueDefaults.delayedRecordsMax;
  }

  /** Records held: waiting for their time or being produced. */
  get size(): number {
    return this.heldCount;
  }

  /**
   * True at or above delayedRecordsMax: the shell pauses fetching. Records already fetched are
   * still accepted, so the overshoot is bounded by one fetch (the consumer's maxBytes).
   */
  isFull(): boolean {
    return this.heldCount >= this.delayedRecordsMax;
  }

  /**
   * The record at (partition, offset), read in offset order. `record` null means there is
   * nothing to produce (a malformed record the shell logged): the offset is simply consumed.
   * A re-delivered offset (below the next expected one) is a duplicate and changes nothing.
   */
  add(partition: number, offset: bigint, record: DelayedRecord | null): AddResult {
    const p = this.partition(partition);
    if (p.nextOffset !== undefined && offset < p.nextOffset) return 'duplicate';
    p.nextOffset = offset + 1n;
    if (record === null) return 'skipped';
    const dueAtMs = Date.parse(record.dueAt);
    // An unparseable time (not from parseDelayedRecord) is produced at once rather than never.
    const entry: DelayedEntry = { partition, offset, dueAtMs: Number.isFinite(dueAtMs) ? dueAtMs : 0, record, state: 'waiting' };
    p.hold(entry);
    this.heldCount++;
    this.push(entry);
    return 'added';
  }

  /** Due time of the earliest waiting record, if any. */
  nextDueAt(): number | undefined {
    this.dropStaleTop();
    return this.heap[0]?.dueAtMs;
  }

  /** Up to `max` records due at `nowMs`, earliest first; they are now being produced. */
  due(nowMs: number, max = Number.POSITIVE_INFINITY): DelayedEntry[] {
    const out: DelayedEntry[] = [];
    while (out.length < max) {
      this.dropStaleTop();
      const top = this.heap[0];
      if (top === undefined || top.dueAtMs > nowMs) break;
      this.pop();
      top.state = 'producing';
      out.push(top);
    }
    return out;
  }

  /** Kafka acknowledged the `job.queued` of (partition, offset). */
  produced(partition: number, offset: bigint): void {
    const p = this.parts.get(partition);
    const e = p?.held.get(offset);
    if (p === undefined || e === undefined) return;
    p.held.delete(offset);
    e.state = 'done';
    this.heldCount--;
  }

  /** Producing failed: wait again until `dueAtMs` (the shell's retry delay). */
  retry(partition: number, offset: bigint, dueAtMs: number): void {
    const e = this.parts.get(partition)?.held.get(offset);
    if (e === undefined || e.state !== 'producing') return;
    e.state = 'waiting';
    e.dueAtMs = dueAtMs;
    this.push(e);
  }

  /** The offset to commit: the lowest not yet produced, else the next to read; undefined if never read. */
  commitOffset(partition: number): bigint | undefined {
    const p = this.parts.get(partition);
    if (p === undefined) return undefined;
    return p.lowestHeld() ?? p.nextOffset;
  }

  /** Partitions with state (read since assigned). */
  partitions(): number[] {
    return [...this.parts.keys()];
  }

  /** Forget partitions other than `assigned` (lost in a rebalance: their new owner reads them again). */
  retainPartitions(assigned: Iterable<number>): void {
    const keep = new Set(assigned);
    let dropped = false;
    for (const [n, p] of this.parts) {
      if (keep.has(n)) continue;
      for (const e of p.held.values()) e.state = 'done';
      this.heldCount -= p.held.size;
      this.parts.delete(n);
      dropped = true;
    }
    if (!dropped) return;
    const waiting = this.heap.filter((e) => e.state === 'waiting');
    this.heap = [];
    for (const e of waiting) this.push(e);
  }

  private partition(n: number): PartitionState {
    let p = this.parts.get(n);
    if (p === undefined) {
      p = new PartitionState();
      this.parts.set(n, p);
    }
    return p;
  }

  private dropStaleTop(): void {
    while (this.heap.length > 0 && this.heap[0]!.state !== 'waiting') this.pop();
  }

  private push(e: DelayedEntry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): DelayedEntry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
