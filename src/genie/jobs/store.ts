// The Job Service's embedded store (better-sqlite3): job views with indexes for the list filters,
// an FTS5 index for text search, each job's event history (capped), and the next offset of each
// partition of `cluster-events`, written in the same transaction as the events it covers, so a
// restart resumes exactly where the last committed batch ended.
//
// Synchronous by design: better-sqlite3 runs each statement on the calling thread, so a batch is
// one short transaction and readers never see half of it.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { JOB_STATES, type JobEvent, type JobState, TERMINAL_STATES } from './events.js';
import { applyEvent, type EventPosition, type JobView, PROVISIONAL_POSITION } from './view.js';

export interface StoreOptions {
  /** Directory of the database file; omitted = in memory (tests). */
  dataDir?: string;
  /** Oldest history events of a job are dropped beyond this many. */
  eventsPerJobMax: number;
  /** Completed, dead and cancelled jobs finished longer ago than this are pruned. */
  terminalJobRetentionMs: number;
}

export const storeDefaults: StoreOptions = {
  eventsPerJobMax: 1000,
  terminalJobRetentionMs: 7 * 24 * 3600_000,
};

/** SQLite page cache of the store, KiB. */
const storePageCacheKib = 32 * 1024;

export const STORE_LIMITS = {
  /** Jobs per list page. */
  listLimitMax: 1000,
  listLimitDefault: 50,
  /** Characters of each searchable text (payload, result, error) put in the FTS index. */
  ftsFieldCharsMax: 16 * 1024,
  /** Job types named in stats (the most frequent ones). */
  statsTypesMax: 200,
  /** Search terms in one `q`. */
  searchTermsMax: 16,
} as const;

/** A record read from `cluster-events`: `event` null when it is not a job event (or malformed). */
export interface ConsumedRecord {
  pos: EventPosition;
  event: JobEvent | null;
  /** The record's value as read (the event's JSON), stored in the history as it is instead of serialized again. */
  json?: string;
}

/** An event of a known job after it was folded in (for live streams). */
export interface FoldedEvent {
  event: JobEvent;
  pos: EventPosition;
  /** The job's view after the event (changed or not). */
  view: JobView;
  changed: boolean;
}

export interface HistoryEvent {
  partition: number;
  offset: number;
  type: string;
  at: string;
  attempt: number | null;
  event: JobEvent;
}

export interface ListFilters {
  state?: JobState[];
  type?: string;
  /** ISO times bounding createdAt (since inclusive, until exclusive). */
  since?: string;
  until?: string;
  q?: string;
  orderingKey?: string;
  limit?: number;
  cursor?: string;
}

export interface JobStats {
  total: number;
  byState: Record<JobState, number>;
  byType: Record<string, number>;
}

/** A bad list filter (the HTTP layer answers 400 naming `field`). */
export class StoreQueryError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'StoreQueryError';
  }
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  state TEXT NOT NULL,
  ordering_key TEXT,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  finished_ms INTEGER,
  events_count INTEGER NOT NULL DEFAULT 0,
  -- Bumped on each change; a snapshot is due while version > snapshot_version.
  version INTEGER NOT NULL DEFAULT 1,
  snapshot_version INTEGER NOT NULL DEFAULT 0,
  view TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created_ms DESC, id DESC);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, created_ms DESC, id DESC);
CREATE INDEX IF NOT EXISTS jobs_type ON jobs(type, created_ms DESC, id DESC);
CREATE INDEX IF NOT EXISTS jobs_ordering ON jobs(ordering_key, created_ms DESC, id DESC) WHERE ordering_key IS NOT NULL;
-- (jobs_updated, an index no query used, cost a B-tree write on every change.)
DROP INDEX IF EXISTS jobs_updated;
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs(finished_ms) WHERE finished_ms IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_dirty ON jobs(id) WHERE version > snapshot_version;
CREATE VIRTUAL TABLE IF NOT EXISTS jobs_fts USING fts5(id, type, payload, error, result, tokenize = 'unicode61');
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  job_id TEXT NOT NULL,
  partition INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  type TEXT NOT NULL,
  at TEXT NOT NULL,
  attempt INTEGER,
  json TEXT NOT NULL,
  UNIQUE (partition, offset)
);
CREATE INDEX IF NOT EXISTS events_job ON events(job_id, seq);
CREATE TABLE IF NOT EXISTS offsets (partition INTEGER PRIMARY KEY, next_offset INTEGER NOT NULL);
-- The highest owner epoch folded per partition (fence.ts), kept with the offsets it goes with.
CREATE TABLE IF NOT EXISTS owner_epochs (partition INTEGER PRIMARY KEY, epoch INTEGER NOT NULL);
-- Pruned jobs whose tombstone is not yet on the compacted topic.
CREATE TABLE IF NOT EXISTS tombstones (id TEXT PRIMARY KEY);
`;

type Row = Record<string, unknown>;

function msOf(iso: string | null): number | null {
  if (iso === null) return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : null;
}

function clip(s: string): string {
  return s.length > STORE_LIMITS.ftsFieldCharsMax ? s.slice(0, STORE_LIMITS.ftsFieldCharsMax) : s;
}

function textOf(x: unknown): string {
  if (x === null || x === undefined) return '';
  return clip(typeof x === 'string' ? x : JSON.stringify(x));
}

function errorText(v: JobView): string {
  return v.lastError ? clip(`${v.lastError.name} ${v.lastError.message} ${v.lastError.reason}`) : '';
}

/** Same text in every indexed column (the reducer often keeps a field's reference, else compare the text). */
function sameSearchText(a: JobView, b: JobView): boolean {
  const same = (x: unknown, y: unknown): boolean => x === y || textOf(x) === textOf(y);
  return a.id === b.id && a.type === b.type && same(a.payload, b.payload) && same(a.result, b.result) && errorText(a) === errorText(b);
}

interface StoredRow {
  rowid: number;
  view: JobView;
}

/** A job folded in the current batch: its row as stored before, and its view now. */
interface TouchedJob {
  stored: StoredRow | undefined;
  view: JobView | undefined;
  changed: boolean;
  /** History events inserted for it in this batch. */
  eventsAdded: number;
}

/** A user's search text as an FTS5 query: each whitespace-separated term a quoted prefix, all required. */
export function ftsQuery(q: string): string {
  const terms = q
    .split(/\s+/)
    .filter((t) => t !== '')
    .slice(0, STORE_LIMITS.searchTermsMax);
  return terms.map((t) => `"${t.replaceAll('"', '""')}"*`).join(' ');
}

function encodeCursor(createdMs: number, id: string): string {
  return Buffer.from(JSON.stringify([createdMs, id])).toString('base64url');
}

function decodeCursor(cursor: string): [number, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && Number.isInteger(v[0]) && typeof v[1] === 'string') return [v[0] as number, v[1]];
  } catch {
    // falls through to the error below
  }
  throw new StoreQueryError('cursor', 'is not a cursor this API returned');
}

function isoBound(field: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw new StoreQueryError(field, 'must be an ISO 8601 time');
  return t;
}

function prepareStatements(db: Database.Database) {
  return {
    getView: db.prepare('SELECT view FROM jobs WHERE id = ?').pluck(),
    getRow: db.prepare('SELECT rowid, view FROM jobs WHERE id = ?'),
    // Rebuilds only (loadSnapshots): a view may replace a row.
    upsert: db.prepare(
      `INSERT INTO jobs (id, type, state, ordering_key, created_ms, updated_ms, finished_ms, view)
       VALUES (@id, @type, @state, @orderingKey, @createdMs, @updatedMs, @finishedMs, @view)
       ON CONFLICT(id) DO UPDATE SET type = excluded.type, state = excluded.state, ordering_key = excluded.ordering_key,
         created_ms = excluded.created_ms, updated_ms = excluded.updated_ms, finished_ms = excluded.finished_ms,
         view = excluded.view, version = version + 1
       RETURNING rowid, events_count`,
    ),
    // A new job; RETURNING nothing when the id exists already.
    insertJob: db.prepare(
      `INSERT INTO jobs (id, type, state, ordering_key, created_ms, updated_ms, finished_ms, events_count, view)
       VALUES (@id, @type, @state, @orderingKey, @createdMs, @updatedMs, @finishedMs, @eventsAdded, @view)
       ON CONFLICT(id) DO NOTHING RETURNING rowid, events_count`,
    ),
    // SQLite rewrites every index that has a column in the SET list, changed or not: the common
    // update names only what events change (not type, ordering key or creation time).
    updateJob: db
      .prepare(
        `UPDATE jobs SET state = @state, updated_ms = @updatedMs, finished_ms = @finishedMs, view = @view,
         version = version + 1, events_count = events_count + @eventsAdded WHERE rowid = @rowid RETURNING events_count`,
      )
      .pluck(),
    updateJobSpec: db
      .prepare(
        `UPDATE jobs SET type = @type, state = @state, ordering_key = @orderingKey, created_ms = @createdMs,
         updated_ms = @updatedMs, finished_ms = @finishedMs, view = @view,
         version = version + 1, events_count = events_count + @eventsAdded WHERE rowid = @rowid RETURNING events_count`,
      )
      .pluck(),
    ftsDelete: db.prepare('DELETE FROM jobs_fts WHERE rowid = ?'),
    ftsInsert: db.prepare('INSERT INTO jobs_fts (rowid, id, type, payload, error, result) VALUES (?, ?, ?, ?, ?, ?)'),
    insertEvent: db.prepare(
      'INSERT OR IGNORE INTO events (job_id, partition, offset, type, at, attempt, json) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    bumpEvents: db.prepare('UPDATE jobs SET events_count = events_count + ? WHERE id = ? RETURNING events_count').pluck(),
    trimEvents: db.prepare('DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE job_id = ? ORDER BY seq LIMIT ?)'),
    setEventsCount: db.prepare('UPDATE jobs SET events_count = ? WHERE id = ?'),
    setOffset: db.prepare(
      'INSERT INTO offsets (partition, next_offset) VALUES (?, ?) ON CONFLICT(partition) DO UPDATE SET next_offset = excluded.next_offset',
    ),
    offsets: db.prepare('SELECT partition, next_offset FROM offsets'),
    setOwnerEpoch: db.prepare(
      'INSERT INTO owner_epochs (partition, epoch) VALUES (?, ?) ON CONFLICT(partition) DO UPDATE SET epoch = MAX(epoch, excluded.epoch)',
    ),
    ownerEpochs: db.prepare('SELECT partition, epoch FROM owner_epochs'),
    history: db.prepare('SELECT partition, offset, type, at, attempt, json FROM events WHERE job_id = ? ORDER BY seq LIMIT ?'),
    rowidOf: db.prepare('SELECT rowid FROM jobs WHERE id = ?').pluck(),
    deleteJob: db.prepare('DELETE FROM jobs WHERE id = ?'),
    deleteEvents: db.prepare('DELETE FROM events WHERE job_id = ?'),
    prunable: db
      .prepare(
        `SELECT id FROM jobs WHERE finished_ms IS NOT NULL AND finished_ms < ?
         AND state IN (${[...TERMINAL_STATES].map((s) => `'${s}'`).join(', ')}) ORDER BY finished_ms LIMIT ?`,
      )
      .pluck(),
    addTombstone: db.prepare('INSERT OR IGNORE INTO tombstones (id) VALUES (?)'),
    tombstones: db.prepare('SELECT id FROM tombstones LIMIT ?').pluck(),
    dropTombstone: db.prepare('DELETE FROM tombstones WHERE id = ?'),
    dirty: db.prepare('SELECT id, version, view FROM jobs WHERE version > snapshot_version LIMIT ?'),
    dirtyCount: db.prepare('SELECT COUNT(*) FROM jobs WHERE version > snapshot_version').pluck(),
    markSnapshot: db.prepare('UPDATE jobs SET snapshot_version = ? WHERE id = ? AND snapshot_version < ?'),
    markAllSnapshotted: db.prepare('UPDATE jobs SET snapshot_version = version'),
    markAllDirty: db.prepare('UPDATE jobs SET snapshot_version = 0'),
    countJobs: db.prepare('SELECT COUNT(*) FROM jobs').pluck(),
    countOffsets: db.prepare('SELECT COUNT(*) FROM offsets').pluck(),
    byState: db.prepare('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state'),
    byType: db.prepare('SELECT type, COUNT(*) AS n FROM jobs GROUP BY type ORDER BY n DESC LIMIT ?'),
  };
}

export class JobStore {
  private readonly db: Database.Database;
  readonly opts: StoreOptions;
  private readonly stmt: ReturnType<typeof prepareStatements>;

  constructor(opts: Partial<StoreOptions> = {}) {
    this.opts = { ...storeDefaults, ...opts };
    let file = ':memory:';
    if (this.opts.dataDir !== undefined) {
      mkdirSync(this.opts.dataDir, { recursive: true });
      file = join(this.opts.dataDir, 'jobs.sqlite');
    }
    this.db = new Database(file);
    // WAL with synchronous=NORMAL: a commit needs no fsync of its own. A process crash loses no
    // commit; a power loss may lose the last ones, offsets with them, so their events are re-read.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    // The default page cache (2 MB) is smaller than the rows and indexes a busy minute touches.
    this.db.pragma(`cache_size = -${storePageCacheKib}`);
    this.db.exec(SCHEMA);
    this.stmt = prepareStatements(this.db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  getJob(id: string): JobView | undefined {
    const json = this.stmt.getView.get(id) as string | undefined;
    return json === undefined ? undefined : (JSON.parse(json) as JobView);
  }

  /** True when the store has never folded anything (a rebuild from snapshots may start it). */
  isEmpty(): boolean {
    return (this.stmt.countJobs.get() as number) === 0 && (this.stmt.countOffsets.get() as number) === 0;
  }

  /** The next offset to read per partition (partitions never read are absent). */
  nextOffsets(): Map<number, number> {
    const rows = this.stmt.offsets.all() as { partition: number; next_offset: number }[];
    return new Map(rows.map((r) => [r.partition, r.next_offset]));
  }

  /** The owner epochs folded so far (fence.ts), per partition. */
  ownerEpochs(): [number, number][] {
    const rows = this.stmt.ownerEpochs.all() as { partition: number; epoch: number }[];
    return rows.map((r) => [r.partition, r.epoch]);
  }

  /** The stored view and its rowid. */
  private getRow(id: string): StoredRow | undefined {
    const row = this.stmt.getRow.get(id) as { rowid: number; view: string } | undefined;
    return row === undefined ? undefined : { rowid: row.rowid, view: JSON.parse(row.view) as JobView };
  }

  /**
   * Writes a job's row (and `eventsAdded` to its history count) and re-indexes its searchable
   * text when it differs from the stored row's. Returns the history count after the write, or
   * undefined when `stored` is undefined and the id exists after all.
   */
  private writeView(stored: StoredRow | undefined, view: JobView, eventsAdded: number): number | undefined {
    const columns = {
      state: view.state,
      updatedMs: msOf(view.updatedAt) ?? 0,
      finishedMs: TERMINAL_STATES.has(view.state) ? msOf(view.finishedAt) : null,
      view: JSON.stringify(view),
      eventsAdded,
    };
    if (stored === undefined) {
      const row = this.stmt.insertJob.get({
        ...columns,
        id: view.id,
        type: view.type,
        orderingKey: view.orderingKey,
        createdMs: msOf(view.createdAt) ?? 0,
      }) as { rowid: number; events_count: number } | undefined;
      if (row === undefined) return undefined;
      this.indexText(row.rowid, view, false);
      return row.events_count;
    }
    const old = stored.view;
    const specChanged = old.type !== view.type || old.orderingKey !== view.orderingKey || old.createdAt !== view.createdAt;
    const count = (
      specChanged
        ? this.stmt.updateJobSpec.get({
            ...columns,
            rowid: stored.rowid,
            type: view.type,
            orderingKey: view.orderingKey,
            createdMs: msOf(view.createdAt) ?? 0,
          })
        : this.stmt.updateJob.get({ ...columns, rowid: stored.rowid })
    ) as number;
    if (!sameSearchText(old, view)) this.indexText(stored.rowid, view, true);
    return count;
  }

  /** A view from a snapshot, replacing any row of the job. */
  private replaceView(view: JobView): void {
    const row = this.stmt.upsert.get({
      id: view.id,
      type: view.type,
      state: view.state,
      orderingKey: view.orderingKey,
      createdMs: msOf(view.createdAt) ?? 0,
      updatedMs: msOf(view.updatedAt) ?? 0,
      finishedMs: TERMINAL_STATES.has(view.state) ? msOf(view.finishedAt) : null,
      view: JSON.stringify(view),
    }) as { rowid: number };
    this.indexText(row.rowid, view, true);
  }

  private indexText(rowid: number, view: JobView, replace: boolean): void {
    if (replace) this.stmt.ftsDelete.run(rowid);
    this.stmt.ftsInsert.run(rowid, view.id, view.type, textOf(view.payload), errorText(view), textOf(view.result));
  }

  /** Drops a job's oldest history events past eventsPerJobMax (`count` = events it holds now). */
  private trimHistory(id: string, count: number): void {
    if (count <= this.opts.eventsPerJobMax) return;
    this.stmt.trimEvents.run(id, count - this.opts.eventsPerJobMax);
    this.stmt.setEventsCount.run(this.opts.eventsPerJobMax, id);
  }

  /**
   * Folds a batch read from the topic and stores the next offsets it reached, in one
   * transaction. Returns the events of known jobs (for live streams), in order.
   *
   * A job's row is written once per batch, however many of its events the batch holds: each
   * write rewrites the whole row and its index entries, and a job has five or so events.
   */
  applyBatch(
    records: readonly ConsumedRecord[],
    nextOffsets: ReadonlyMap<number, number>,
    ownerEpochs: Iterable<readonly [number, number]> = [],
  ): FoldedEvent[] {
    return this.db.transaction(() => {
      const folded: FoldedEvent[] = [];
      const touched = new Map<string, TouchedJob>();
      for (const r of records) {
        if (r.event === null) continue;
        const id = r.event.jobId;
        let job = touched.get(id);
        if (job === undefined) {
          const stored = this.getRow(id);
          job = { stored, view: stored?.view, changed: false, eventsAdded: 0 };
          touched.set(id, job);
        }
        const prev = job.view;
        const next = applyEvent(prev, r.event, r.pos);
        if (next === undefined) continue;
        const changed = next !== prev;
        job.view = next;
        if (changed) job.changed = true;
        const e = r.event;
        const attempt = 'attempt' in e && typeof e.attempt === 'number' ? e.attempt : null;
        const json = r.json ?? JSON.stringify(e);
        // OR IGNORE: a replayed record (same partition and offset) is in the history already.
        if (this.stmt.insertEvent.run(id, r.pos.partition, r.pos.offset, e.type, e.at, attempt, json).changes > 0) job.eventsAdded++;
        folded.push({ event: e, pos: r.pos, view: next, changed });
      }
      for (const [id, job] of touched) {
        if (job.view === undefined) continue;
        let count: number | undefined;
        if (job.changed) count = this.writeView(job.stored, job.view, job.eventsAdded);
        else if (job.eventsAdded > 0) count = this.stmt.bumpEvents.get(job.eventsAdded, id) as number | undefined;
        if (count !== undefined) this.trimHistory(id, count);
      }
      for (const [partition, next] of nextOffsets) this.stmt.setOffset.run(partition, next);
      for (const [partition, epoch] of ownerEpochs) this.stmt.setOwnerEpoch.run(partition, epoch);
      return folded;
    })();
  }

  /** The service's own job.requested, before it is read back (see view.ts): creates unknown jobs only. */
  applyProvisional(event: JobEvent): JobView | undefined {
    return this.db.transaction(() => {
      const prev = this.getJob(event.jobId);
      if (prev !== undefined) return prev;
      const next = applyEvent(undefined, event, PROVISIONAL_POSITION);
      if (next !== undefined) this.writeView(undefined, next, 0);
      return next;
    })();
  }

  /** applyProvisional for many events in one transaction (a batch submission); known ids are left alone. */
  applyProvisionalBatch(events: readonly JobEvent[]): void {
    this.db.transaction(() => {
      for (const event of events) {
        const next = applyEvent(undefined, event, PROVISIONAL_POSITION);
        if (next !== undefined) this.writeView(undefined, next, 0);
      }
    })();
  }

  history(id: string, limit = this.opts.eventsPerJobMax): HistoryEvent[] {
    const rows = this.stmt.history.all(id, limit) as Row[];
    return rows.map((r) => ({
      partition: r.partition as number,
      offset: r.offset as number,
      type: r.type as string,
      at: r.at as string,
      attempt: (r.attempt as number | null) ?? null,
      event: JSON.parse(r.json as string) as JobEvent,
    }));
  }

  list(f: ListFilters): { jobs: JobView[]; nextCursor: string | null } {
    const limit = f.limit ?? STORE_LIMITS.listLimitDefault;
    if (!Number.isInteger(limit) || limit < 1 || limit > STORE_LIMITS.listLimitMax) {
      throw new StoreQueryError('limit', `must be an integer from 1 to ${STORE_LIMITS.listLimitMax}`);
    }
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.state !== undefined && f.state.length > 0) {
      for (const s of f.state) if (!JOB_STATES.includes(s)) throw new StoreQueryError('state', `must be among ${JOB_STATES.join(', ')}`);
      where.push(`state IN (${f.state.map(() => '?').join(', ')})`);
      params.push(...f.state);
    }
    if (f.type !== undefined) {
      where.push('type = ?');
      params.push(f.type);
    }
    if (f.orderingKey !== undefined) {
      where.push('ordering_key = ?');
      params.push(f.orderingKey);
    }
    const since = isoBound('since', f.since);
    const until = isoBound('until', f.until);
    if (since !== undefined) {
      where.push('created_ms >= ?');
      params.push(since);
    }
    if (until !== undefined) {
      where.push('created_ms < ?');
      params.push(until);
    }
    if (f.q !== undefined && f.q.trim() !== '') {
      where.push('rowid IN (SELECT rowid FROM jobs_fts WHERE jobs_fts MATCH ?)');
      params.push(ftsQuery(f.q));
    }
    if (f.cursor !== undefined) {
      const [ms, id] = decodeCursor(f.cursor);
      where.push('(created_ms < ? OR (created_ms = ? AND id < ?))');
      params.push(ms, ms, id);
    }
    const sql = `SELECT id, created_ms, view FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_ms DESC, id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...params, limit + 1) as Row[];
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      jobs: page.map((r) => JSON.parse(r.view as string) as JobView),
      nextCursor: rows.length > limit && last ? encodeCursor(last.created_ms as number, last.id as string) : null,
    };
  }

  stats(): JobStats {
    const byState = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    let total = 0;
    for (const r of this.stmt.byState.all() as { state: JobState; n: number }[]) {
      byState[r.state] = r.n;
      total += r.n;
    }
    const byType: Record<string, number> = {};
    for (const r of this.stmt.byType.all(STORE_LIMITS.statsTypesMax) as { type: string; n: number }[]) byType[r.type] = r.n;
    return { total, byState, byType };
  }

  /** Deletes up to `batchMax` terminal jobs finished before the retention; returns their ids. */
  pruneTerminal(nowMs: number, batchMax: number): string[] {
    return this.db.transaction(() => {
      const ids = this.stmt.prunable.all(nowMs - this.opts.terminalJobRetentionMs, batchMax) as string[];
      for (const id of ids) this.removeJob(id, true);
      return ids;
    })();
  }

  private removeJob(id: string, tombstone: boolean): void {
    const rowid = this.stmt.rowidOf.get(id) as number | undefined;
    if (rowid === undefined) return;
    this.stmt.ftsDelete.run(rowid);
    this.stmt.deleteEvents.run(id);
    this.stmt.deleteJob.run(id);
    if (tombstone) this.stmt.addTombstone.run(id);
  }

  // ---- snapshots to the compacted topic

  /**
   * Up to `batchMax` changed jobs not yet snapshotted, with the offsets as they are now, and
   * whether these are all of them (only then may a checkpoint at these offsets be published).
   */
  snapshotBatch(batchMax: number): {
    jobs: { id: string; version: number; view: string }[];
    tombstones: string[];
    offsets: Map<number, number>;
    /** The owner epochs folded up to those offsets (fence.ts), for the checkpoint. */
    ownerEpochs: [number, number][];
    complete: boolean;
  } {
    return this.db.transaction(() => {
      const jobs = this.stmt.dirty.all(batchMax) as { id: string; version: number; view: string }[];
      const tombstones = this.stmt.tombstones.all(batchMax) as string[];
      const dirty = this.stmt.dirtyCount.get() as number;
      return { jobs, tombstones, offsets: this.nextOffsets(), ownerEpochs: this.ownerEpochs(), complete: dirty <= jobs.length };
    })();
  }

  /** The snapshots (at these versions) and tombstones are on the topic. */
  markSnapshotted(jobs: readonly { id: string; version: number }[], tombstones: readonly string[]): void {
    this.db.transaction(() => {
      for (const j of jobs) this.stmt.markSnapshot.run(j.version, j.id, j.version);
      for (const id of tombstones) this.stmt.dropTombstone.run(id);
    })();
  }

  /** Every job is due for a snapshot again (a new snapshot writer republishes all). */
  markAllForSnapshot(): void {
    this.stmt.markAllDirty.run();
  }

  /** Loads views read from the compacted topic into an empty store (a view null = tombstone). */
  loadSnapshots(
    views: ReadonlyMap<string, JobView | null>,
    offsets: ReadonlyMap<number, number>,
    ownerEpochs: Iterable<readonly [number, number]> = [],
  ): void {
    this.db.transaction(() => {
      for (const [id, view] of views) {
        if (view === null) this.removeJob(id, false);
        else this.replaceView(view);
      }
      // They are on the topic already; only later changes need snapshots.
      this.stmt.markAllSnapshotted.run();
      for (const [partition, next] of offsets) this.stmt.setOffset.run(partition, next);
      for (const [partition, epoch] of ownerEpochs) this.stmt.setOwnerEpoch.run(partition, epoch);
    })();
  }
}
