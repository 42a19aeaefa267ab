// Which waiting job starts next (docs/JOBS.md rule 6). Pure: the caller passes the time; the
// shell runs what `next()` hands out and reports back with `done()`.
//
// - Jobs with one ordering key run one at a time, in the order they were enqueued (offset order:
//   a key's jobs all come from one partition). Only a key's first waiting job is eligible; the
//   others wait behind it in `blocked`.
// - Among eligible jobs, higher priority first; a job counts one level higher per
//   `priorityAgingMs` it has waited, so low never starves. Within a priority the oldest has the
//   highest effective level, so only the three list heads are candidates: O(1) per pick.
// - `concurrency` may change at any time (the autoscaler); lowering it never stops a running job.

import type { JobPriority } from '../jobs/events.js';

export interface PoolItem {
  /** Unique among waiting and running items. */
  id: string;
  priority: JobPriority;
  orderingKey?: string | undefined;
}

export interface PoolOptions {
  concurrency: number;
  /** Waiting jobs at which the shell stops fetching (a soft bound: enqueue never refuses). */
  queuedJobsMax: number;
  priorityAgingMs: number;
}

export const poolDefaults = { queuedJobsMax: 1000, priorityAgingMs: 5000 };

const LEVEL: Readonly<Record<JobPriority, number>> = { low: 0, normal: 1, high: 2 };

interface Entry<T> {
  item: T;
  seq: number;
  enqueuedAt: number;
  /** In `eligible`, not behind another job of its key. */
  eligible: boolean;
}

/** Exists while a job of its key is running or eligible; the key's later jobs wait in `blocked`. */
interface KeySlot<T> {
  blocked: Entry<T>[];
}

export class JobPool<T extends PoolItem> {
  private concurrencyNow: number;
  readonly queuedJobsMax: number;
  readonly priorityAgingMs: number;
  /** Eligible entries by priority level, each sorted by seq. */
  private readonly eligible: Entry<T>[][] = [[], [], []];
  private readonly waiting = new Map<string, Entry<T>>();
  private readonly keys = new Map<string, KeySlot<T>>();
  private readonly runningItems = new Map<string, T>();
  private seq = 0;

  constructor(o: PoolOptions) {
    if (!(o.concurrency >= 1) || !(o.queuedJobsMax >= 1) || !(o.priorityAgingMs > 0)) throw new Error('invalid pool options');
    this.concurrencyNow = Math.floor(o.concurrency);
    this.queuedJobsMax = o.queuedJobsMax;
    this.priorityAgingMs = o.priorityAgingMs;
  }

  get concurrency(): number {
    return this.concurrencyNow;
  }

  get queued(): number {
    return this.waiting.size;
  }

  get running(): number {
    return this.runningItems.size;
  }

  /** At or past `queuedJobsMax`: the shell should stop pulling records. */
  get full(): boolean {
    return this.waiting.size >= this.queuedJobsMax;
  }

  setConcurrency(n: number): void {
    if (!(n >= 1)) throw new Error(`concurrency must be at least 1, not ${n}`);
    this.concurrencyNow = Math.floor(n);
  }

  enqueue(item: T, now: number): void {
    if (this.waiting.has(item.id) || this.runningItems.has(item.id)) throw new Error(`job ${item.id} is already in the pool`);
    const entry: Entry<T> = { item, seq: ++this.seq, enqueuedAt: now, eligible: false };
    this.waiting.set(item.id, entry);
    const key = item.orderingKey;
    if (key !== undefined) {
      const slot = this.keys.get(key);
      if (slot) {
        slot.blocked.push(entry);
        return;
      }
      this.keys.set(key, { blocked: [] });
    }
    this.makeEligible(entry);
  }

  /** The job to start now (it counts as running until `done`), or undefined. */
  next(now: number): T | undefined {
    if (this.runningItems.size >= this.concurrencyNow) return undefined;
    let best: Entry<T> | undefined;
    let bestLevel = -1;
    for (let level = 0; level < this.eligible.length; level++) {
      const head = this.eligible[level]![0];
      if (!head) continue;
      const effective = level + Math.floor(Math.max(0, now - head.enqueuedAt) / this.priorityAgingMs);
      if (effective > bestLevel || (effective === bestLevel && best !== undefined && head.seq < best.seq)) {
        best = head;
        bestLevel = effective;
      }
    }
    if (!best) return undefined;
    this.eligible[LEVEL[best.item.priority]]!.shift();
    best.eligible = false;
    this.waiting.delete(best.item.id);
    this.runningItems.set(best.item.id, best.item);
    return best.item;
  }

  /** A started job finished (any outcome): frees its slot and its ordering key. */
  done(id: string): void {
    const item = this.runningItems.get(id);
    if (!item) return;
    this.runningItems.delete(id);
    this.releaseKey(item.orderingKey);
  }

  /** Removes a waiting job (cancelled, or its partition was lost). */
  remove(id: string): boolean {
    const entry = this.waiting.get(id);
    if (!entry) return false;
    this.waiting.delete(id);
    const key = entry.item.orderingKey;
    if (entry.eligible) {
      const list = this.eligible[LEVEL[entry.item.priority]]!;
      list.splice(this.indexOf(list, entry.seq), 1);
      entry.eligible = false;
      this.releaseKey(key);
    } else if (key !== undefined) {
      const blocked = this.keys.get(key)?.blocked;
      if (blocked) blocked.splice(blocked.indexOf(entry), 1);
    }
    return true;
  }

  /** Removes every waiting job `pred` selects; returns them. */
  removeWhere(pred: (item: T) => boolean): T[] {
    const gone = [...this.waiting.values()].filter((e) => pred(e.item)).map((e) => e.item);
    // Blocked ones first, so removing an eligible one never promotes a job about to be removed.
    gone.sort((a, b) => Number(this.waiting.get(a.id)?.eligible) - Number(this.waiting.get(b.id)?.eligible));
    for (const item of gone) this.remove(item.id);
    return gone;
  }

  runningItem(id: string): T | undefined {
    return this.runningItems.get(id);
  }

  waitingItem(id: string): T | undefined {
    return this.waiting.get(id)?.item;
  }

  /** How long the longest-waiting eligible job has waited (0 when none). */
  oldestWaitMs(now: number): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const list of this.eligible) if (list[0] && list[0].enqueuedAt < oldest) oldest = list[0].enqueuedAt;
    return oldest === Number.POSITIVE_INFINITY ? 0 : Math.max(0, now - oldest);
  }

  private releaseKey(key: string | undefined): void {
    if (key === undefined) return;
    const slot = this.keys.get(key);
    if (!slot) return;
    const following = slot.blocked.shift();
    if (following) this.makeEligible(following);
    else this.keys.delete(key);
  }

  private makeEligible(entry: Entry<T>): void {
    entry.eligible = true;
    const list = this.eligible[LEVEL[entry.item.priority]]!;
    // A job promoted from behind its key keeps its place by age (seq), not the back of the line.
    const at = this.insertionPoint(list, entry.seq);
    list.splice(at, 0, entry);
  }

  private insertionPoint(list: Entry<T>[], seq: number): number {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]!.seq < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private indexOf(list: Entry<T>[], seq: number): number {
    const at = this.insertionPoint(list, seq);
    if (list[at]?.seq !== seq) throw new Error(`pool entry ${seq} is not in its list`);
    return at;
  }
}
