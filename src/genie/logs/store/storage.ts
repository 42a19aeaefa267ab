// The log store's storage: one better-sqlite3 database (WAL). `streams` holds each label set once
// (canonical text and JSON); `entries` holds (stream, ts ns, line) with an index on (stream, ts)
// for queries and on ts for retention. The stream table is small (bounded by streamsMax) and kept
// in memory too, which serves as the label index for selectors, /labels, /label/x/values and
// /series. Exact duplicates (same stream, ts and line) are stored once, as Loki's chunks do, so an
// at-least-once redelivery is idempotent.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { formatLabels } from '../lokiPush.js';
import type { Direction, Labels, LogSource, StoredEntry, StreamRef } from './evaluate.js';
import { matchesLabels } from './evaluate.js';
import type { LabelMatcher } from './logql.js';

export interface StorageOptions {
  /** A directory for logs.db, or ':memory:'. */
  dataDir: string;
  /** Distinct label sets kept; a push that would add more is refused (Loki's stream limit). */
  streamsMax?: number;
}

export const defaultStreamsMax = 10_000;

/** A push refused because a bound would be passed (answered 429, as Loki's stream limit). */
export class StreamLimitError extends Error {}

interface StreamRow extends StreamRef {
  key: string;
  firstNs: bigint;
  lastNs: bigint;
}

export interface AppendResult {
  inserted: { labels: Labels; tsNs: bigint; line: string }[];
  duplicates: number;
  bytes: number;
}

export interface SweepResult {
  deletedByAge: number;
  deletedBySize: number;
  removedStreams: number;
}

const lineBytesSql = 'length(CAST(line AS BLOB))';
const int64Max = 9223372036854775807n;
/** Rows read per stream per page when merging streams for a query. */
const pageRows = 256;

interface PageRow {
  r: bigint;
  ts: bigint;
  line: string;
}

interface Cursor {
  streamId: number;
  rows: PageRow[];
  at: number;
  lastTs: bigint;
  lastRowid: bigint;
  done: boolean;
}

/** A binary heap ordered by `before` (the k-way merge of stream cursors). */
class MinHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(x: T): void {
    const a = this.items;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      this.down();
    }
    return top;
  }

  /** The top's key changed: restore the order. */
  replaceTop(x: T): void {
    this.items[0] = x;
    this.down();
  }

  private down(): void {
    const a = this.items;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && this.before(a[l]!, a[m]!)) m = l;
      if (r < a.length && this.before(a[r]!, a[m]!)) m = r;
      if (m === i) return;
      [a[i], a[m]] = [a[m]!, a[i]!];
      i = m;
    }
  }
}

export class LogStorage implements LogSource {
  private readonly db: Database.Database;
  private readonly streamsByKey = new Map<string, StreamRow>();
  private readonly streamsById = new Map<number, StreamRow>();
  private readonly streamsMax: number;
  /** Sum of the stored lines' UTF-8 bytes: what retentionBytesMax bounds. */
  private storedBytes = 0;
  private storedEntries = 0;
  private readonly stmts;

  constructor(opts: StorageOptions) {
    this.streamsMax = opts.streamsMax ?? defaultStreamsMax;
    let file = ':memory:';
    if (opts.dataDir !== ':memory:') {
      mkdirSync(opts.dataDir, { recursive: true });
      file = join(opts.dataDir, 'logs.db');
    }
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL under WAL: a crash can lose the last commits, never corrupt; Loki's own ingesters
    // likewise keep recent data in memory (the WAL there is optional).
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS streams (
        id INTEGER PRIMARY KEY, labels TEXT NOT NULL UNIQUE, labels_json TEXT NOT NULL,
        first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS entries (stream_id INTEGER NOT NULL, ts INTEGER NOT NULL, line TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS entries_stream_ts ON entries (stream_id, ts);
      CREATE INDEX IF NOT EXISTS entries_ts ON entries (ts);
    `);
    this.stmts = {
      insertStream: this.db.prepare('INSERT INTO streams (labels, labels_json, first_ns, last_ns) VALUES (?, ?, ?, ?)'),
      updateStream: this.db.prepare('UPDATE streams SET first_ns = ?, last_ns = ? WHERE id = ?'),
      exists: this.db.prepare('SELECT 1 FROM entries WHERE stream_id = ? AND ts = ? AND line = ? LIMIT 1').pluck(),
      insert: this.db.prepare('INSERT INTO entries (stream_id, ts, line) VALUES (?, ?, ?)'),
      // One page of one stream, after a (ts, rowid) cursor: served from the (stream_id, ts) index in
      // order, so a query with a small limit reads a few pages instead of sorting the range.
      pageForward: this.db
        .prepare(
          'SELECT rowid AS r, ts, line FROM entries WHERE stream_id = ? AND ts >= ? AND ts < ? AND (ts, rowid) > (?, ?) ORDER BY ts, rowid LIMIT ?',
        )
        .safeIntegers(true),
      pageBackward: this.db
        .prepare(
          'SELECT rowid AS r, ts, line FROM entries WHERE stream_id = ? AND ts >= ? AND ts < ? AND (ts, rowid) < (?, ?) ORDER BY ts DESC, rowid DESC LIMIT ?',
        )
        .safeIntegers(true),
      spanStats: this.db.prepare(
        `SELECT count(*) AS n, total(${lineBytesSql}) AS bytes FROM entries WHERE stream_id = ? AND ts >= ? AND ts <= ?`,
      ),
      oldBytes: this.db.prepare(`SELECT count(*) AS n, total(${lineBytesSql}) AS bytes FROM entries WHERE ts < ?`),
      deleteOlder: this.db.prepare('DELETE FROM entries WHERE ts < ?'),
      oldest: this.db.prepare(`SELECT ts, ${lineBytesSql} AS bytes FROM entries ORDER BY ts`).safeIntegers(true),
      bounds: this.db.prepare('SELECT min(ts) AS first, max(ts) AS last FROM entries WHERE stream_id = ?').safeIntegers(true),
      deleteStream: this.db.prepare('DELETE FROM streams WHERE id = ?'),
    };
    for (const row of this.db.prepare('SELECT id, labels, labels_json, first_ns, last_ns FROM streams').safeIntegers(true).all() as {
      id: bigint;
      labels: string;
      labels_json: string;
      first_ns: bigint;
      last_ns: bigint;
    }[]) {
      const s: StreamRow = {
        id: Number(row.id),
        key: row.labels,
        labels: JSON.parse(row.labels_json) as Labels,
        firstNs: row.first_ns,
        lastNs: row.last_ns,
      };
      this.streamsByKey.set(s.key, s);
      this.streamsById.set(s.id, s);
    }
    const totals = this.db.prepare(`SELECT count(*) AS n, total(${lineBytesSql}) AS bytes FROM entries`).get() as {
      n: number;
      bytes: number;
    };
    this.storedEntries = totals.n;
    this.storedBytes = totals.bytes;
  }

  get bytes(): number {
    return this.storedBytes;
  }

  get entryCount(): number {
    return this.storedEntries;
  }

  get streamCount(): number {
    return this.streamsByKey.size;
  }

  /** Stores the entries of several streams in one transaction; duplicates are skipped. */
  append(streams: readonly { labels: Labels; entries: readonly { tsNs: bigint; line: string }[] }[]): AppendResult {
    const newStreams = new Set<string>();
    for (const s of streams) {
      const key = formatLabels(s.labels);
      if (!this.streamsByKey.has(key)) newStreams.add(key);
    }
    if (newStreams.size > 0 && this.streamsByKey.size + newStreams.size > this.streamsMax) {
      throw new StreamLimitError(
        `Maximum active stream limit exceeded, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: 'fake' (limit ${this.streamsMax})`,
      );
    }
    const result: AppendResult = { inserted: [], duplicates: 0, bytes: 0 };
    const tx = this.db.transaction(() => {
      for (const s of streams) {
        if (s.entries.length === 0) continue;
        const row = this.streamRow(s.labels);
        let { firstNs, lastNs } = row;
        for (const e of s.entries) {
          if (this.stmts.exists.get(row.id, e.tsNs, e.line) !== undefined) {
            result.duplicates++;
            continue;
          }
          this.stmts.insert.run(row.id, e.tsNs, e.line);
          const bytes = Buffer.byteLength(e.line);
          result.bytes += bytes;
          result.inserted.push({ labels: row.labels, tsNs: e.tsNs, line: e.line });
          if (e.tsNs < firstNs) firstNs = e.tsNs;
          if (e.tsNs > lastNs) lastNs = e.tsNs;
        }
        if (firstNs !== row.firstNs || lastNs !== row.lastNs) this.stmts.updateStream.run(firstNs, lastNs, row.id);
        row.firstNs = firstNs;
        row.lastNs = lastNs;
      }
    });
    try {
      tx();
    } catch (e) {
      // The transaction rolled back: forget streams made in it.
      for (const [key, row] of this.streamsByKey) {
        if (newStreams.has(key) && this.db.prepare('SELECT 1 FROM streams WHERE id = ?').get(row.id) === undefined) {
          this.streamsByKey.delete(key);
          this.streamsById.delete(row.id);
        }
      }
      throw e;
    }
    this.storedBytes += result.bytes;
    this.storedEntries += result.inserted.length;
    return result;
  }

  private streamRow(labels: Labels): StreamRow {
    const key = formatLabels(labels);
    let row = this.streamsByKey.get(key);
    if (!row) {
      // first/last start inverted so the first entry sets both.
      const info = this.stmts.insertStream.run(key, JSON.stringify(labels), 0n, 0n);
      row = { id: Number(info.lastInsertRowid), key, labels: { ...labels }, firstNs: int64Max, lastNs: -1n };
      this.streamsByKey.set(key, row);
      this.streamsById.set(row.id, row);
    }
    return row;
  }

  // --- LogSource ---------------------------------------------------------------------------

  streams(matchers: readonly LabelMatcher[]): StreamRef[] {
    const out: StreamRef[] = [];
    for (const s of this.streamsByKey.values()) if (matchesLabels(matchers, s.labels)) out.push({ id: s.id, labels: s.labels });
    return out;
  }

  *entries(streamIds: readonly number[], fromNs: bigint, toNs: bigint, direction: Direction): Iterable<StoredEntry> {
    if (streamIds.length === 0 || fromNs >= toNs) return;
    const forward = direction === 'forward';
    const stmt = forward ? this.stmts.pageForward : this.stmts.pageBackward;
    // Streams whose stored span misses the range need no page query at all.
    const live = streamIds.filter((id) => {
      const row = this.streamsById.get(id);
      return row !== undefined && row.lastNs >= fromNs && row.firstNs < toNs;
    });
    const cursors: Cursor[] = live.map((id) => ({
      streamId: id,
      rows: [],
      at: 0,
      lastTs: forward ? fromNs - 1n : toNs,
      lastRowid: forward ? int64Max : 0n,
      done: false,
    }));
    const refill = (c: Cursor): boolean => {
      if (c.at < c.rows.length) return true;
      if (c.done) return false;
      c.rows = stmt.all(c.streamId, fromNs, toNs, c.lastTs, c.lastRowid, pageRows) as PageRow[];
      c.at = 0;
      if (c.rows.length < pageRows) c.done = true;
      if (c.rows.length === 0) return false;
      const last = c.rows[c.rows.length - 1]!;
      c.lastTs = last.ts;
      c.lastRowid = last.r;
      return true;
    };
    // Merge the streams' ordered pages by (ts, stream id).
    const before = (a: Cursor, b: Cursor): boolean => {
      const x = a.rows[a.at]!.ts;
      const y = b.rows[b.at]!.ts;
      if (x !== y) return forward ? x < y : x > y;
      return forward ? a.streamId < b.streamId : a.streamId > b.streamId;
    };
    const heap = new MinHeap<Cursor>(before);
    for (const c of cursors) if (refill(c)) heap.push(c);
    while (heap.size > 0) {
      const c = heap.peek()!;
      const row = c.rows[c.at++]!;
      yield { streamId: c.streamId, tsNs: row.ts, line: row.line };
      if (refill(c)) heap.replaceTop(c);
      else heap.pop();
    }
  }

  // --- Label index ---------------------------------------------------------------------------

  /** Streams with entries overlapping [from, to] (all when no range), optionally filtered by matcher sets (OR of ANDs). */
  seriesIn(fromNs: bigint | undefined, toNs: bigint | undefined, matcherSets?: readonly (readonly LabelMatcher[])[]): Labels[] {
    const out: Labels[] = [];
    for (const s of this.streamsByKey.values()) {
      if (s.lastNs < 0n) continue;
      if (fromNs !== undefined && s.lastNs < fromNs) continue;
      if (toNs !== undefined && s.firstNs > toNs) continue;
      if (matcherSets && matcherSets.length > 0 && !matcherSets.some((ms) => matchesLabels(ms, s.labels))) continue;
      out.push(s.labels);
    }
    return out;
  }

  labelNames(fromNs?: bigint, toNs?: bigint, matchers?: readonly LabelMatcher[]): string[] {
    const names = new Set<string>();
    for (const l of this.seriesIn(fromNs, toNs, matchers ? [matchers] : undefined)) for (const n of Object.keys(l)) names.add(n);
    return [...names].sort();
  }

  labelValues(name: string, fromNs?: bigint, toNs?: bigint, matchers?: readonly LabelMatcher[]): string[] {
    const values = new Set<string>();
    for (const l of this.seriesIn(fromNs, toNs, matchers ? [matchers] : undefined)) if (l[name] !== undefined) values.add(l[name]!);
    return [...values].sort();
  }

  /** Loki's /index/stats: streams with entries in [from, to], their entries and line bytes. */
  stats(matchers: readonly LabelMatcher[], fromNs: bigint, toNs: bigint): { streams: number; entries: number; bytes: number } {
    const out = { streams: 0, entries: 0, bytes: 0 };
    for (const s of this.streamsByKey.values()) {
      if (s.lastNs < fromNs || s.firstNs > toNs || !matchesLabels(matchers, s.labels)) continue;
      const r = this.stmts.spanStats.get(s.id, fromNs, toNs) as { n: number; bytes: number };
      if (r.n === 0) continue;
      out.streams++;
      out.entries += r.n;
      out.bytes += r.bytes;
    }
    return out;
  }

  // --- Retention -----------------------------------------------------------------------------

  /**
   * Deletes entries older than `cutoffNs` (age), then the oldest entries until the stored line
   * bytes are at most `bytesMax` (size); streams left empty go too.
   */
  sweep(cutoffNs: bigint | undefined, bytesMax: number | undefined): SweepResult {
    const result: SweepResult = { deletedByAge: 0, deletedBySize: 0, removedStreams: 0 };
    const tx = this.db.transaction(() => {
      if (cutoffNs !== undefined) {
        const old = this.stmts.oldBytes.get(cutoffNs) as { n: number; bytes: number };
        if (old.n > 0) {
          this.stmts.deleteOlder.run(cutoffNs);
          result.deletedByAge = old.n;
          this.storedBytes -= old.bytes;
          this.storedEntries -= old.n;
        }
      }
      if (bytesMax !== undefined && this.storedBytes > bytesMax) {
        // Whole timestamps go at once, so the cut is "everything before ts", never half a tie.
        const excess = this.storedBytes - bytesMax;
        let acc = 0;
        let cut: bigint | undefined;
        for (const row of this.stmts.oldest.iterate() as IterableIterator<{ ts: bigint; bytes: bigint }>) {
          if (acc >= excess && cut !== undefined && row.ts !== cut) break;
          acc += Number(row.bytes);
          cut = row.ts;
        }
        if (cut !== undefined) {
          const old = this.stmts.oldBytes.get(cut + 1n) as { n: number; bytes: number };
          this.stmts.deleteOlder.run(cut + 1n);
          result.deletedBySize = old.n;
          this.storedBytes -= old.bytes;
          this.storedEntries -= old.n;
        }
      }
      if (result.deletedByAge + result.deletedBySize > 0) {
        for (const s of [...this.streamsById.values()]) {
          const b = this.stmts.bounds.get(s.id) as { first: bigint | null; last: bigint | null };
          if (b.first === null || b.last === null) {
            this.stmts.deleteStream.run(s.id);
            this.streamsById.delete(s.id);
            this.streamsByKey.delete(s.key);
            result.removedStreams++;
          } else if (b.first !== s.firstNs) {
            s.firstNs = b.first;
            this.stmts.updateStream.run(s.firstNs, s.lastNs, s.id);
          }
        }
      }
    });
    tx();
    return result;
  }

  close(): void {
    this.db.close();
  }
}
