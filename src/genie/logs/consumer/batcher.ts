// The Log Consumer's pure core: Kafka records in, Loki push batches out, and which offsets are
// safe to commit. No sockets, timers or clocks: the shell passes `nowMs` and does the I/O.
//
// At-least-once rule: a partition's offset may be committed only when every record below it was
// accepted by Loki (or rejected with 400, or was malformed). Batches are pushed one at a time in
// the order they were cut, and a partition's records enter batches in offset order, so when a
// batch settles, the offsets it carries ("through": last offset + 1 per partition) are safe.
// Malformed records ride along in the open batch as offsets without entries, so their offsets are
// committed no earlier than the valid records before them.

import { type LogEvent, labelsOf, rfc3339ToNs } from '../logEvent.js';
import { formatLabels, type LokiEntry, type LokiStream } from '../lokiPush.js';

export type LineFormat = 'message' | 'json';

/** Why a record was not forwarded (the `reason` label of the dropped counter). */
export type DropReason = 'empty' | 'not_json' | 'not_object' | 'rejected';

export interface BatcherOptions {
  /** The `env` label of every stream. */
  env: string;
  /** The entry line: the event's `message`, or the whole event as JSON. */
  lineFormat: LineFormat;
  /** Entries per push (Promtail's batchsize counts bytes; Loki limits both). */
  batchEntriesMax: number;
  /** Approximate bytes of lines and labels per push (Promtail's batchsize, 1 MiB). */
  batchBytesMax: number;
  /** How long the first entry of a batch waits for more at most (Promtail's batchwait). */
  batchWaitMs: number;
  /**
   * How long the first entry waits when no push is under way: light load is pushed within this,
   * while under load batches keep filling during each push (up to the limits) and are cut as it
   * ends. At most batchWaitMs counts.
   */
  batchLingerMs: number;
  /** Cut batches waiting for their push; above it the shell stops fetching (bounded memory). */
  batchesQueuedMax: number;
}

export const batcherDefaults: BatcherOptions = {
  env: 'dev',
  lineFormat: 'message',
  batchEntriesMax: 1000,
  batchBytesMax: 1024 * 1024,
  batchWaitMs: 1000,
  batchLingerMs: 50,
  batchesQueuedMax: 2,
};

export interface InRecord {
  partition: number;
  offset: bigint;
  /** The record's value; undefined for a null value. */
  value: Buffer | undefined;
  /** The record's own timestamp (ms since the epoch): used when the event has none. */
  timestampMs: bigint;
}

export interface Batch {
  readonly id: number;
  readonly streams: LokiStream[];
  readonly entries: number;
  readonly bytes: number;
  /** Per partition: the offset to commit once this batch settled (last offset + 1). */
  readonly through: Map<number, bigint>;
}

export interface Commit {
  partition: number;
  /** The next offset to read (Kafka's meaning of a committed offset). */
  offset: bigint;
}

interface OpenBatch {
  streams: Map<string, LokiStream>;
  entries: number;
  bytes: number;
  through: Map<number, bigint>;
  openedAtMs: number | undefined;
}

/** Bytes an entry costs beyond its line: the timestamp and framing, roughly as protobuf spends them. */
const entryOverheadBytes = 16;

export type AddResult = { kind: 'added' } | { kind: 'dropped'; reason: DropReason };

/** A record's value as a LogEvent, or why it is not one. */
export function parseEvent(value: Buffer | undefined): LogEvent | DropReason {
  if (value === undefined || value.length === 0) return 'empty';
  let doc: unknown;
  try {
    doc = JSON.parse(value.toString('utf8'));
  } catch {
    return 'not_json';
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'not_object';
  return doc as LogEvent;
}

/** The labels of an event's stream; a field of the wrong type becomes `unknown`, never a crash. */
export function streamLabels(event: LogEvent, env: string): Record<string, string> {
  const l = labelsOf(event, env);
  const text = (v: unknown): string => (typeof v === 'string' && v.length > 0 ? v : 'unknown');
  return { service: text(l.service), level: text(l.level), host: text(l.host), env };
}

/** The Loki entry of an event: its time (the event's, else the record's) and its line. */
export function entryOf(event: LogEvent, record: InRecord, lineFormat: LineFormat, rawJson: string): LokiEntry {
  const ts = typeof event.timestamp === 'string' ? rfc3339ToNs(event.timestamp) : undefined;
  const tsNs = ts ?? (record.timestampMs > 0n ? record.timestampMs * 1_000_000n : 0n);
  let line: string;
  if (lineFormat === 'json') line = rawJson;
  else if (typeof event.message === 'string') line = event.message;
  else line = rawJson; // no message to show: the whole event says more than nothing
  return { tsNs, line };
}

export class LogBatcher {
  readonly opts: BatcherOptions;
  private open: OpenBatch = LogBatcher.empty();
  /** Cut and not settled, oldest first; the first one is the one being pushed. */
  private readonly queue: Batch[] = [];
  private nextId = 1;
  /** Offsets of settled batches not yet committed (taken by takeCommits). */
  private readonly commitsDue = new Map<number, bigint>();
  /** The highest offset committed per owned partition: a rewound stream must not move it back. */
  private readonly committed = new Map<number, bigint>();

  constructor(opts: Partial<BatcherOptions> = {}) {
    this.opts = { ...batcherDefaults, ...opts };
    const o = this.opts;
    for (const [name, v] of [
      ['batchEntriesMax', o.batchEntriesMax],
      ['batchBytesMax', o.batchBytesMax],
      ['batchesQueuedMax', o.batchesQueuedMax],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, not ${v}`);
    }
    if (!(o.batchWaitMs >= 0)) throw new Error(`batchWaitMs must be >= 0, not ${o.batchWaitMs}`);
    if (!(o.batchLingerMs >= 0)) throw new Error(`batchLingerMs must be >= 0, not ${o.batchLingerMs}`);
  }

  private static empty(): OpenBatch {
    return { streams: new Map(), entries: 0, bytes: 0, through: new Map(), openedAtMs: undefined };
  }

  /** Entries held (open batch and queued batches): what memory the consumer holds. */
  get bufferedEntries(): number {
    return this.open.entries + this.queue.reduce((n, b) => n + b.entries, 0);
  }

  get queuedBatches(): number {
    return this.queue.length;
  }

  /** Whether the shell should stop fetching until a push settles. */
  get full(): boolean {
    return this.queue.length >= this.opts.batchesQueuedMax;
  }

  /** The batch to push now (the oldest cut one), if any. */
  get head(): Batch | undefined {
    return this.queue[0];
  }

  /**
   * Takes one record. A valid event becomes an entry of the open batch (which is cut first if the
   * entry would not fit, and after if it is full); a malformed one only advances the offsets.
   */
  add(record: InRecord, nowMs: number): AddResult {
    const parsed = parseEvent(record.value);
    if (typeof parsed === 'string') {
      this.open.through.set(record.partition, record.offset + 1n);
      this.open.openedAtMs ??= nowMs;
      return { kind: 'dropped', reason: parsed };
    }
    const labels = streamLabels(parsed, this.opts.env);
    const entry = entryOf(parsed, record, this.opts.lineFormat, (record.value as Buffer).toString('utf8'));
    const key = formatLabels(labels);
    const bytes = Buffer.byteLength(entry.line) + entryOverheadBytes;
    const streamBytes = this.open.streams.has(key) ? 0 : Buffer.byteLength(key);
    if (this.open.entries > 0 && this.open.bytes + bytes + streamBytes > this.opts.batchBytesMax) this.cut();
    let stream = this.open.streams.get(key);
    if (!stream) {
      stream = { labels, entries: [] };
      this.open.streams.set(key, stream);
      this.open.bytes += Buffer.byteLength(key);
    }
    stream.entries.push(entry);
    this.open.entries++;
    this.open.bytes += bytes;
    this.open.through.set(record.partition, record.offset + 1n);
    this.open.openedAtMs ??= nowMs;
    if (this.open.entries >= this.opts.batchEntriesMax || this.open.bytes >= this.opts.batchBytesMax) this.cut();
    return { kind: 'added' };
  }

  /**
   * When the open batch is due to be cut (on the caller's clock): batchWaitMs after its first
   * record, or batchLingerMs after it while no batch is queued or being pushed. Undefined when empty.
   */
  dueAtMs(): number | undefined {
    const at = this.open.openedAtMs;
    if (at === undefined) return undefined;
    const wait = Math.min(this.opts.batchWaitMs, this.queue.length === 0 ? this.opts.batchLingerMs : Number.POSITIVE_INFINITY);
    return at + wait;
  }

  /** Cuts the open batch when it is due (dueAtMs); returns whether it did. */
  tick(nowMs: number): boolean {
    const due = this.dueAtMs();
    if (due === undefined || nowMs < due) return false;
    this.cut();
    return true;
  }

  /** Cuts the open batch now (at close); a batch of only malformed records settles at once. */
  cut(): void {
    const o = this.open;
    if (o.openedAtMs === undefined) return;
    this.open = LogBatcher.empty();
    const batch: Batch = { id: this.nextId++, streams: [...o.streams.values()], entries: o.entries, bytes: o.bytes, through: o.through };
    if (batch.entries === 0 && this.queue.length === 0) {
      this.markDue(batch); // nothing to push, nothing before it unsettled
      return;
    }
    this.queue.push(batch);
  }

  /**
   * The head batch was accepted by Loki or rejected for good: its offsets become due, and any
   * entry-less batches behind it settle too.
   */
  settle(batchId: number): void {
    const head = this.queue[0];
    if (!head || head.id !== batchId) throw new Error(`batch ${batchId} is not the one being pushed (${head?.id ?? 'none'})`);
    this.queue.shift();
    this.markDue(head);
    while (this.queue.length > 0 && this.queue[0]!.entries === 0) this.markDue(this.queue.shift()!);
  }

  private markDue(batch: Batch): void {
    for (const [partition, offset] of batch.through) this.due(partition, offset);
  }

  private due(partition: number, offset: bigint): void {
    const floor = this.committed.get(partition);
    if (floor !== undefined && offset <= floor) return;
    const prev = this.commitsDue.get(partition);
    if (prev === undefined || offset > prev) this.commitsDue.set(partition, offset);
  }

  /** The offsets to commit now; the caller gives them back with `returnCommits` if the commit fails. */
  takeCommits(): Commit[] {
    const out = [...this.commitsDue].map(([partition, offset]) => ({ partition, offset }));
    this.commitsDue.clear();
    return out;
  }

  /** A commit that failed: its offsets are due again (unless something newer is due already). */
  returnCommits(commits: readonly Commit[], owned: (partition: number) => boolean): void {
    for (const c of commits) if (owned(c.partition)) this.due(c.partition, c.offset);
  }

  /** A commit Kafka acknowledged. */
  confirmCommits(commits: readonly Commit[], owned: (partition: number) => boolean): void {
    for (const c of commits) {
      if (!owned(c.partition)) continue;
      const prev = this.committed.get(c.partition);
      if (prev === undefined || c.offset > prev) this.committed.set(c.partition, c.offset);
    }
  }

  /**
   * Partitions handed to another member: their entries are still pushed (a duplicate is allowed,
   * a loss is not), but their offsets are no longer ours to commit; the new owner starts from the
   * last committed offset.
   */
  losePartitions(partitions: Iterable<number>): void {
    for (const p of partitions) {
      this.open.through.delete(p);
      for (const b of this.queue) b.through.delete(p);
      this.commitsDue.delete(p);
      this.committed.delete(p);
    }
  }
}
