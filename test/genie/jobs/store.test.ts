// The Job Service store: filters, full-text search, stable pagination, history cap, offsets that
// survive a restart with the events they cover, retention, and the snapshot bookkeeping.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { JOB_DEFAULTS, type JobEvent, type JobSpec } from '../../../src/genie/jobs/events.js';
import { type ConsumedRecord, ftsQuery, JobStore, type StoreQueryError } from '../../../src/genie/jobs/store.js';

const t0 = Date.parse('2024-03-01T00:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();

function spec(id: string, type: string, createdMs: number, extra: Partial<JobSpec> = {}): JobSpec {
  return {
    id,
    type,
    payload: { n: id },
    priority: 'normal',
    attemptsMax: 3,
    backoff: JOB_DEFAULTS.backoff,
    timeoutMs: 1000,
    createdAt: iso(createdMs),
    ...extra,
  };
}

function requested(s: JobSpec): JobEvent {
  return { v: 1, type: 'job.requested', jobId: s.id, at: s.createdAt, producer: 't', spec: s, attempt: 1 };
}

/** Records at consecutive offsets of one partition, and the offset after them. */
function recordsAt(partition: number, from: number, events: (JobEvent | null)[]): [ConsumedRecord[], Map<number, number>] {
  const records = events.map((event, i) => ({ pos: { partition, offset: from + i }, event }));
  return [records, new Map([[partition, from + events.length]])];
}

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('job store', () => {
  test('list filters by state, type, time and ordering key, newest first', () => {
    const store = new JobStore();
    const a = spec('a', 'email', t0, { orderingKey: 'tenant-1' });
    const b = spec('b', 'email', t0 + 1000);
    const c = spec('c', 'resize', t0 + 2000, { orderingKey: 'tenant-1' });
    store.applyBatch(
      ...recordsAt(0, 0, [
        requested(a),
        requested(b),
        requested(c),
        { v: 1, type: 'job.queued', jobId: 'b', at: iso(t0 + 3000), producer: 't', spec: b, attempt: 1, attemptLimit: 3 },
      ]),
    );
    const ids = (f: Parameters<JobStore['list']>[0]) => store.list(f).jobs.map((j) => j.id);
    assert.deepEqual(ids({}), ['c', 'b', 'a']);
    assert.deepEqual(ids({ state: ['created'] }), ['c', 'a']);
    assert.deepEqual(ids({ state: ['queued', 'created'] }), ['c', 'b', 'a']);
    assert.deepEqual(ids({ type: 'email' }), ['b', 'a']);
    assert.deepEqual(ids({ since: iso(t0 + 1000) }), ['c', 'b']);
    assert.deepEqual(ids({ until: iso(t0 + 1000) }), ['a']);
    assert.deepEqual(ids({ orderingKey: 'tenant-1' }), ['c', 'a']);
    assert.throws(
      () => store.list({ limit: 1001 }),
      (e: StoreQueryError) => e.field === 'limit',
    );
    assert.throws(
      () => store.list({ since: 'yesterday' }),
      (e: StoreQueryError) => e.field === 'since',
    );
    assert.throws(
      () => store.list({ state: ['running' as never] }),
      (e: StoreQueryError) => e.field === 'state',
    );
    assert.deepEqual(store.stats().byState.created, 2);
    assert.deepEqual(store.stats().byType, { email: 2, resize: 1 });
    assert.equal(store.stats().total, 3);
    store.close();
  });

  test('full-text search over id, type, payload, error and result; quotes in the query are safe', () => {
    const store = new JobStore();
    const s1 = spec('invoice-2024-0001', 'billing.render', t0, { payload: { customer: 'Zanzibar Trading', amount: 12 } });
    const s2 = spec('img-77', 'image.resize', t0 + 1, { payload: { url: 'https://example.com/cat.png' } });
    store.applyBatch(
      ...recordsAt(0, 0, [
        requested(s1),
        requested(s2),
        { v: 1, type: 'job.queued', jobId: 'img-77', at: iso(t0 + 2), producer: 't', spec: s2, attempt: 1, attemptLimit: 3 },
        { v: 1, type: 'job.processing', jobId: 'img-77', at: iso(t0 + 3), producer: 't', attempt: 1, worker: 'w', redelivered: false },
        {
          v: 1,
          type: 'job.failed',
          jobId: 'img-77',
          at: iso(t0 + 4),
          producer: 't',
          attempt: 1,
          error: { name: 'TimeoutError', message: 'upstream gateway exploded' },
          reason: 'timeout',
          willRetry: false,
        },
      ]),
    );
    const q = (text: string) => store.list({ q: text }).jobs.map((j) => j.id);
    assert.deepEqual(q('zanzibar'), ['invoice-2024-0001']);
    assert.deepEqual(q('Zanz'), ['invoice-2024-0001'], 'terms are prefixes');
    assert.deepEqual(q('invoice-2024-0001'), ['invoice-2024-0001'], 'a whole id');
    assert.deepEqual(q('gateway exploded'), ['img-77'], 'the last error');
    assert.deepEqual(q('image.resize'), ['img-77']);
    assert.deepEqual(q('cat.png'), ['img-77']);
    assert.deepEqual(q('zanzibar exploded'), [], 'all terms must match');
    assert.deepEqual(q('"unbalanced'), []);
    assert.equal(ftsQuery('a "b'), '"a"* """b"*');
    store.close();
  });

  test('cursor pagination is stable (createdAt desc, id) and ends with nextCursor null', () => {
    const store = new JobStore();
    // Equal creation times for some, so the id breaks ties.
    const specs = Array.from({ length: 25 }, (_, i) => spec(`job-${String(i).padStart(2, '0')}`, 't', t0 + Math.floor(i / 3) * 1000));
    store.applyBatch(...recordsAt(0, 0, specs.map(requested)));
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const r = store.list({ limit: 7, ...(cursor ? { cursor } : {}) });
      seen.push(...r.jobs.map((j) => j.id));
      if (r.nextCursor === null) break;
      cursor = r.nextCursor;
    }
    const expected = [...specs].sort((x, y) => y.createdAt.localeCompare(x.createdAt) || y.id.localeCompare(x.id)).map((s) => s.id);
    assert.deepEqual(seen, expected);
    assert.throws(
      () => store.list({ cursor: 'not-a-cursor' }),
      (e: StoreQueryError) => e.field === 'cursor',
    );
    store.close();
  });

  test('history keeps the newest eventsPerJobMax events of a job', () => {
    const store = new JobStore({ eventsPerJobMax: 5 });
    const s = spec('p', 't', t0);
    const events: JobEvent[] = [
      requested(s),
      { v: 1, type: 'job.queued', jobId: 'p', at: iso(t0 + 1), producer: 't', spec: s, attempt: 1, attemptLimit: 3 },
      { v: 1, type: 'job.processing', jobId: 'p', at: iso(t0 + 2), producer: 't', attempt: 1, worker: 'w', redelivered: false },
    ];
    for (let i = 0; i < 10; i++) {
      events.push({ v: 1, type: 'job.progress', jobId: 'p', at: iso(t0 + 3 + i), producer: 't', attempt: 1, percent: i * 10 });
    }
    store.applyBatch(...recordsAt(4, 100, events));
    const h = store.history('p');
    assert.equal(h.length, 5);
    assert.deepEqual(
      h.map((e) => e.offset),
      [108, 109, 110, 111, 112],
    );
    assert.equal(h[4]?.type, 'job.progress');
    assert.equal(h[4]?.partition, 4);
    assert.equal(store.getJob('p')?.progress?.percent, 90);
    store.close();
  });

  test('a restart resumes at the stored offsets, and replaying an already folded batch changes nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cg-jobstore-'));
    dirs.push(dir);
    const s = spec('r', 't', t0);
    let store = new JobStore({ dataDir: dir });
    // Non-job records (null) still advance the offsets.
    store.applyBatch(...recordsAt(0, 0, [requested(s), null]));
    store.applyBatch(...recordsAt(1, 7, [null, null]));
    store.close();

    store = new JobStore({ dataDir: dir });
    assert.deepEqual([...store.nextOffsets()].sort(), [
      [0, 2],
      [1, 9],
    ]);
    assert.equal(store.getJob('r')?.state, 'created');
    assert.equal(store.isEmpty(), false);
    const again = store.applyBatch(...recordsAt(0, 0, [requested(s)]));
    assert.equal(again[0]?.changed, false, 'a replayed event is not applied twice');
    assert.equal(store.history('r').length, 1, 'nor recorded twice');
    store.close();
  });

  test('retention prunes terminal jobs finished long ago, keeps the others, and leaves tombstones for snapshots', () => {
    const store = new JobStore({ terminalJobRetentionMs: 3600_000 });
    const old = spec('old', 't', t0);
    const fresh = spec('fresh', 't', t0);
    const running = spec('running', 't', t0);
    const done = (id: string, atMs: number): JobEvent => ({
      v: 1,
      type: 'job.cancelled',
      jobId: id,
      at: iso(atMs),
      producer: 't',
      reason: 'x',
    });
    store.applyBatch(
      ...recordsAt(0, 0, [requested(old), requested(fresh), requested(running), done('old', t0 + 1000), done('fresh', t0 + 3 * 3600_000)]),
    );
    const pruned = store.pruneTerminal(t0 + 3.5 * 3600_000, 100);
    assert.deepEqual(pruned, ['old']);
    assert.equal(store.getJob('old'), undefined);
    assert.equal(store.history('old').length, 0);
    assert.equal(store.list({ q: 'old' }).jobs.length, 0, 'gone from the search index too');
    assert.equal(store.getJob('fresh')?.state, 'cancelled');
    assert.equal(store.getJob('running')?.state, 'created');
    const snap = store.snapshotBatch(100);
    assert.deepEqual(snap.tombstones, ['old']);
    assert.equal(snap.complete, true);
    store.markSnapshotted(snap.jobs, snap.tombstones);
    const next = store.snapshotBatch(100);
    assert.equal(next.jobs.length, 0);
    assert.equal(next.tombstones.length, 0);
    store.close();
  });

  test('snapshot batches: only changed jobs, complete only when every change fits, loadable into an empty store', () => {
    const store = new JobStore();
    const specs = ['s1', 's2', 's3'].map((id) => spec(id, 't', t0));
    store.applyBatch(...recordsAt(2, 40, specs.map(requested)));
    const partial = store.snapshotBatch(2);
    assert.equal(partial.jobs.length, 2);
    assert.equal(partial.complete, false);
    store.markSnapshotted(partial.jobs, []);
    const rest = store.snapshotBatch(2);
    assert.equal(rest.jobs.length, 1);
    assert.equal(rest.complete, true);
    assert.deepEqual([...rest.offsets], [[2, 43]]);
    store.markSnapshotted(rest.jobs, []);
    // A change after the snapshot makes the job due again.
    store.applyBatch(...recordsAt(2, 43, [{ v: 1, type: 'job.cancelled', jobId: 's2', at: iso(t0 + 5), producer: 't', reason: 'x' }]));
    assert.deepEqual(
      store.snapshotBatch(10).jobs.map((j) => j.id),
      ['s2'],
    );

    const empty = new JobStore();
    assert.equal(empty.isEmpty(), true);
    const views = new Map(specs.map((s) => [s.id, store.getJob(s.id)!] as const));
    empty.loadSnapshots(new Map([...views, ['s3', null]]), new Map([[2, 44]]));
    assert.equal(empty.getJob('s2')?.state, 'cancelled');
    assert.equal(empty.getJob('s3'), undefined, 'a tombstone removes the job');
    assert.deepEqual([...empty.nextOffsets()], [[2, 44]]);
    assert.equal(empty.snapshotBatch(10).jobs.length, 0, 'loaded views are not snapshotted again');
    assert.equal(empty.list({ q: 's1' }).jobs.length, 1, 'loaded views are searchable');
    store.close();
    empty.close();
  });

  test('applyProvisional creates an unknown job once and never overwrites a folded one', () => {
    const store = new JobStore();
    const s = spec('pv', 't', t0);
    assert.equal(store.applyProvisional(requested(s))?.partition, -1);
    store.applyBatch(...recordsAt(0, 0, [requested(s)]));
    assert.equal(store.getJob('pv')?.partition, 0, 'the read-back event placed it');
    assert.equal(store.applyProvisional(requested(s))?.partition, 0);
    store.close();
  });
});
