// The metrics cores without Kafka: job events folded by the real view reducer into JobsMetrics,
// the worker's counting of core actions, the scheduler's read-at-scrape metrics, the bounded
// type labels, the /metrics server and the --metrics-port option. Every exposition is parsed.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JobEvent, JobSpec } from '../../../src/genie/jobs/events.js';
import { JobsMetrics, metricsPortOption, startMetricsServer, TypeLabels, typeLabelOther } from '../../../src/genie/jobs/metrics.js';
import type { FoldedEvent } from '../../../src/genie/jobs/store.js';
import { applyEvent, type JobView } from '../../../src/genie/jobs/view.js';
import { SchedulerMetrics } from '../../../src/genie/scheduler/metrics.js';
import type { SchedulerStats } from '../../../src/genie/scheduler/scheduler.js';
import { WorkerMetrics } from '../../../src/genie/workers/metrics.js';
import type { CoreAction } from '../../../src/genie/workers/partitionCore.js';
import { type Exposition, parseExposition, scrape, sum, value, valueOr0 } from './exposition.js';

const T0 = Date.parse('2026-12-07T12:00:00.000Z');
const iso = (ms: number): string => new Date(T0 + ms).toISOString();

function spec(id: string, type: string): JobSpec {
  return {
    id,
    type,
    payload: null,
    priority: 'normal',
    attemptsMax: 3,
    backoff: { type: 'fixed', delayMs: 10, delayMsMax: 10 },
    timeoutMs: 1000,
    createdAt: iso(0),
  };
}

/** Folds events (ms offsets from T0) through the real reducer, as the store does, one partition. */
class Folder {
  private readonly views = new Map<string, JobView>();
  private offset = 0;

  fold(events: JobEvent[]): FoldedEvent[] {
    const out: FoldedEvent[] = [];
    for (const event of events) {
      const pos = { partition: 0, offset: this.offset++ };
      const prev = this.views.get(event.jobId);
      const view = applyEvent(prev, event, pos);
      if (view === undefined) continue;
      this.views.set(event.jobId, view);
      out.push({ event, pos, view, changed: view !== prev });
    }
    return out;
  }
}

const base = (jobId: string, ms: number) => ({ v: 1, jobId, at: iso(ms), producer: 'test' });

/** requested@0, queued@10, processing@30, then completed@130 or failed@80 → retrying → queued@200 → processing@210 → completed@260. */
function lifecycle(id: string, type: string, flaky: boolean): JobEvent[] {
  const s = spec(id, type);
  const evs: JobEvent[] = [
    { ...base(id, 0), type: 'job.requested', spec: s, attempt: 1 },
    { ...base(id, 10), type: 'job.queued', spec: s, attempt: 1, attemptLimit: 3 },
    { ...base(id, 30), type: 'job.processing', attempt: 1, worker: 'w', redelivered: false },
  ];
  if (!flaky) return [...evs, { ...base(id, 130), type: 'job.completed', attempt: 1, result: null, durationMs: 100 }];
  return [
    ...evs,
    { ...base(id, 80), type: 'job.failed', attempt: 1, error: { name: 'E', message: 'no' }, reason: 'error', willRetry: true },
    { ...base(id, 81), type: 'job.retrying', attempt: 2, runAt: iso(200) },
    { ...base(id, 200), type: 'job.queued', spec: s, attempt: 2, attemptLimit: 3 },
    { ...base(id, 210), type: 'job.processing', attempt: 2, worker: 'w', redelivered: false },
    { ...base(id, 260), type: 'job.completed', attempt: 2, result: null, durationMs: 50 },
  ];
}

async function expose(registry: { metrics(): Promise<string> }): Promise<Exposition> {
  return parseExposition(await registry.metrics());
}

describe('TypeLabels', () => {
  test('the first max types keep their names, later ones share the other label, known ones stay', () => {
    const t = new TypeLabels(2);
    assert.equal(t.of('a'), 'a');
    assert.equal(t.of('b'), 'b');
    assert.equal(t.of('c'), typeLabelOther);
    assert.equal(t.of('a'), 'a');
    assert.equal(t.of('d'), typeLabelOther);
    assert.throws(() => new TypeLabels(-1), /typeLabelsMax/);
  });
});

describe('JobsMetrics', () => {
  test('counts each lifecycle step once per type, and the histograms see every attempt', async () => {
    const states: Record<string, number> = { completed: 3, dead: 1 };
    const m = new JobsMetrics({ byState: () => states, malformedRecords: () => 7 }, { sinceMs: T0, defaultMetrics: false });
    const f = new Folder();
    m.observe(f.fold([...lifecycle('e1', 'echo', false), ...lifecycle('e2', 'echo', false), ...lifecycle('f1', 'flaky', true)]), true);
    const e = await expose(m.registry);
    assert.equal(value(e, 'clustergenie_jobs_submitted_total', { type: 'echo' }), 2);
    assert.equal(value(e, 'clustergenie_jobs_submitted_total', { type: 'flaky' }), 1);
    assert.equal(value(e, 'clustergenie_jobs_completed_total', { type: 'echo' }), 2);
    assert.equal(value(e, 'clustergenie_jobs_completed_total', { type: 'flaky' }), 1);
    assert.equal(value(e, 'clustergenie_jobs_failed_total', { type: 'flaky' }), 1);
    assert.equal(valueOr0(e, 'clustergenie_jobs_failed_total', { type: 'echo' }), 0);
    assert.equal(value(e, 'clustergenie_jobs_retried_total', { type: 'flaky' }), 1);
    // Queue waits: 20 ms per echo; 20 ms and 10 ms for the flaky job's two attempts.
    assert.equal(value(e, 'clustergenie_jobs_queue_wait_seconds_count', { type: 'echo' }), 2);
    assert.ok(Math.abs(value(e, 'clustergenie_jobs_queue_wait_seconds_sum', { type: 'echo' }) - 0.04) < 1e-9);
    assert.equal(value(e, 'clustergenie_jobs_queue_wait_seconds_count', { type: 'flaky' }), 2);
    assert.ok(Math.abs(value(e, 'clustergenie_jobs_queue_wait_seconds_sum', { type: 'flaky' }) - 0.03) < 1e-9);
    // Run times: 100 ms per echo; the flaky job's failed attempt (50 ms) and completed one (50 ms).
    assert.equal(value(e, 'clustergenie_jobs_run_seconds_count', { type: 'echo' }), 2);
    assert.ok(Math.abs(value(e, 'clustergenie_jobs_run_seconds_sum', { type: 'echo' }) - 0.2) < 1e-9);
    assert.equal(value(e, 'clustergenie_jobs_run_seconds_count', { type: 'flaky' }), 2);
    assert.equal(value(e, 'clustergenie_jobs_run_seconds_bucket', { type: 'echo', le: '0.1' }), 2);
    assert.equal(value(e, 'clustergenie_jobs_run_seconds_bucket', { type: 'echo', le: '0.05' }), 0);
    assert.equal(value(e, 'clustergenie_jobs', { state: 'completed' }), 3);
    assert.equal(value(e, 'clustergenie_jobs', { state: 'dead' }), 1);
    assert.equal(value(e, 'clustergenie_jobs', { state: 'queued' }), 0, 'every state is exposed');
    assert.equal(value(e, 'clustergenie_jobs_malformed_records_total'), 7);
    assert.equal(e.types.get('clustergenie_jobs_submitted_total'), 'counter');
    assert.equal(e.types.get('clustergenie_jobs'), 'gauge');
    assert.equal(e.types.get('clustergenie_jobs_run_seconds'), 'histogram');
    assert.equal(e.types.get('process_cpu_user_seconds_total'), undefined, 'default metrics were turned off');
  });

  test('replays, duplicates and redeliveries do not count twice; dead and cancelled do', async () => {
    const m = new JobsMetrics({ byState: () => undefined, malformedRecords: () => 0 }, { sinceMs: T0, defaultMetrics: false });
    const f = new Folder();
    const s = spec('d1', 'mail');
    const events: JobEvent[] = [
      { ...base('d1', 0), type: 'job.requested', spec: s, attempt: 1 },
      { ...base('d1', 1), type: 'job.requested', spec: s, attempt: 1 }, // a second submission of the same id
      { ...base('d1', 10), type: 'job.queued', spec: s, attempt: 1, attemptLimit: 1 },
      { ...base('d1', 20), type: 'job.processing', attempt: 1, worker: 'w', redelivered: false },
      { ...base('d1', 5000), type: 'job.processing', attempt: 1, worker: 'w2', redelivered: true },
      { ...base('d1', 5010), type: 'job.failed', attempt: 1, error: { name: 'E', message: 'x' }, reason: 'error', willRetry: false },
      { ...base('d1', 5011), type: 'job.dead', attempt: 1, reason: 'attempts exhausted' },
      { ...base('d1', 5012), type: 'job.dead', attempt: 1, reason: 'attempts exhausted' }, // echo of a terminal fact
      { ...base('c1', 0), type: 'job.requested', spec: spec('c1', 'mail'), attempt: 1 },
      { ...base('c1', 30), type: 'job.cancelled', reason: 'user' },
    ];
    m.observe(f.fold(events), true);
    const e = await expose(m.registry);
    assert.equal(value(e, 'clustergenie_jobs_submitted_total', { type: 'mail' }), 2);
    assert.equal(value(e, 'clustergenie_jobs_queue_wait_seconds_count', { type: 'mail' }), 1, 'the redelivery is not a queue wait');
    assert.equal(value(e, 'clustergenie_jobs_failed_total', { type: 'mail' }), 1);
    assert.equal(value(e, 'clustergenie_jobs_dead_total', { type: 'mail' }), 1);
    assert.equal(value(e, 'clustergenie_jobs_cancelled_total', { type: 'mail' }), 1);
    assert.equal(e.samples.filter((x) => x.name === 'clustergenie_jobs').length, 0, 'no store, no state gauge');
  });

  test('before catching up, only events from after the start count; afterwards all do', async () => {
    const m = new JobsMetrics({ byState: () => undefined, malformedRecords: () => 0 }, { sinceMs: T0 + 1000, defaultMetrics: false });
    const f = new Folder();
    m.observe(f.fold(lifecycle('old', 'echo', false)), false); // history replayed at start
    m.observe(f.fold([{ ...base('new', 1500), type: 'job.requested', spec: spec('new', 'echo'), attempt: 1 }]), false);
    m.observe(f.fold([{ ...base('late', 10), type: 'job.requested', spec: spec('late', 'echo'), attempt: 1 }]), true);
    const e = await expose(m.registry);
    assert.equal(value(e, 'clustergenie_jobs_submitted_total', { type: 'echo' }), 2);
    assert.equal(valueOr0(e, 'clustergenie_jobs_completed_total', { type: 'echo' }), 0);
  });

  test('job types past typeLabelsMax are counted under the other label', async () => {
    const m = new JobsMetrics(
      { byState: () => undefined, malformedRecords: () => 0 },
      { sinceMs: T0, typeLabelsMax: 2, defaultMetrics: false },
    );
    const f = new Folder();
    const evs = ['t1', 't2', 't3', 't4', 't1'].map(
      (type, i): JobEvent => ({ ...base(`j${i}`, i), type: 'job.requested', spec: spec(`j${i}`, type), attempt: 1 }),
    );
    m.observe(f.fold(evs), true);
    const e = await expose(m.registry);
    assert.equal(value(e, 'clustergenie_jobs_submitted_total', { type: 't1' }), 2);
    assert.equal(value(e, 'clustergenie_jobs_submitted_total', { type: 't2' }), 1);
    assert.equal(value(e, 'clustergenie_jobs_submitted_total', { type: typeLabelOther }), 2);
    assert.equal(e.samples.filter((s) => s.name === 'clustergenie_jobs_submitted_total').length, 3);
  });
});

describe('WorkerMetrics', () => {
  const publish = (...types: string[]): CoreAction => ({
    type: 'publish',
    records: types.map((t) => ({ topic: 'events', key: 'k', value: { ...base('j', 0), type: t } as unknown as JobEvent })),
  });

  test('counts the published job events of attempts by type, scaling by direction, and reads the pool at scrape time', async () => {
    const m = new WorkerMetrics({ defaultMetrics: false });
    const source = { id: 'w-1', groupId: 'g', capacity: 4, running: 3, queued: 9, lag: 17, assignedPartitions: [0, 2] };
    m.bind(source, { min: 1, max: 8 });
    assert.throws(() => m.bind(source, { min: 1, max: 8 }), /already/);
    m.count('echo', [publish('job.processing')]);
    m.count('echo', [publish('job.completed'), { type: 'enqueue' } as unknown as CoreAction]);
    m.count('fail', [publish('job.processing')]);
    m.count('fail', [publish('job.failed', 'job.retrying'), publish('job.dead')]);
    m.count('sleep', [publish('job.processing')]);
    m.count('sleep', [publish('job.cancelled')]);
    m.count('fail', []); // a stale attempt: the core answered nothing
    m.scaled(4, 6);
    m.scaled(6, 3);
    m.scaled(3, 3);
    let e = await expose(m.registry);
    assert.equal(value(e, 'clustergenie_worker_jobs_started_total', { type: 'echo' }), 1);
    assert.equal(value(e, 'clustergenie_worker_jobs_started_total', { type: 'fail' }), 1);
    assert.equal(value(e, 'clustergenie_worker_jobs_completed_total', { type: 'echo' }), 1);
    assert.equal(value(e, 'clustergenie_worker_jobs_failed_total', { type: 'fail' }), 1);
    assert.equal(value(e, 'clustergenie_worker_jobs_cancelled_total', { type: 'sleep' }), 1);
    assert.equal(sum(e, 'clustergenie_worker_jobs_completed_total'), 1);
    assert.equal(value(e, 'clustergenie_worker_scaling_events_total', { direction: 'up' }), 1);
    assert.equal(value(e, 'clustergenie_worker_scaling_events_total', { direction: 'down' }), 1);
    assert.equal(value(e, 'clustergenie_worker_info', { worker: 'w-1', group: 'g' }), 1);
    assert.equal(value(e, 'clustergenie_worker_pool_size', { worker: 'w-1' }), 4);
    assert.equal(value(e, 'clustergenie_worker_pool_size_min', { worker: 'w-1' }), 1);
    assert.equal(value(e, 'clustergenie_worker_pool_size_max', { worker: 'w-1' }), 8);
    assert.equal(value(e, 'clustergenie_worker_pool_busy', { worker: 'w-1' }), 3);
    assert.equal(value(e, 'clustergenie_worker_pool_queued', { worker: 'w-1' }), 9);
    assert.equal(value(e, 'clustergenie_worker_backlog', { worker: 'w-1' }), 17);
    assert.equal(value(e, 'clustergenie_worker_partitions', { worker: 'w-1' }), 2);
    source.capacity = 6;
    source.lag = 0;
    e = await expose(m.registry);
    assert.equal(value(e, 'clustergenie_worker_pool_size', { worker: 'w-1' }), 6);
    assert.equal(value(e, 'clustergenie_worker_backlog', { worker: 'w-1' }), 0);
  });
});

describe('SchedulerMetrics', () => {
  test('mirrors the scheduler: leadership, schedules, held delayed jobs and fired counts', async () => {
    const stats: SchedulerStats = { delayedHeld: 5, delayedProduced: 12, delayedMalformed: 1, cronTicksClaimed: 4, cronTicksPublished: 3 };
    const source = { isLeader: true, metrics: stats, schedules: 2 };
    const m = new SchedulerMetrics('s-1', source, { defaultMetrics: false });
    let e = await expose(m.registry);
    assert.equal(value(e, 'clustergenie_scheduler_info', { scheduler: 's-1' }), 1);
    assert.equal(value(e, 'clustergenie_scheduler_leader'), 1);
    assert.equal(value(e, 'clustergenie_scheduler_schedules'), 2);
    assert.equal(value(e, 'clustergenie_scheduler_delayed_jobs'), 5);
    assert.equal(value(e, 'clustergenie_scheduler_jobs_fired_total', { source: 'delay' }), 12);
    assert.equal(value(e, 'clustergenie_scheduler_jobs_fired_total', { source: 'cron' }), 3);
    assert.equal(value(e, 'clustergenie_scheduler_delayed_malformed_total'), 1);
    stats.delayedProduced = 20;
    source.isLeader = false;
    e = await expose(m.registry);
    assert.equal(value(e, 'clustergenie_scheduler_jobs_fired_total', { source: 'delay' }), 20);
    assert.equal(value(e, 'clustergenie_scheduler_leader'), 0);
  });
});

describe('the /metrics server', () => {
  test('serves the registry with default metrics at /metrics only, GET and HEAD only', async () => {
    const m = new WorkerMetrics();
    m.bind({ id: 'w-srv', groupId: 'g', capacity: 2, running: 0, queued: 0, lag: 0, assignedPartitions: [] }, { min: 1, max: 2 });
    const server = await startMetricsServer(m.registry, { port: 0 });
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const e = await scrape(server.url);
      assert.equal(value(e, 'clustergenie_worker_pool_size', { worker: 'w-srv' }), 2);
      assert.equal(e.types.get('process_cpu_user_seconds_total'), 'counter', 'process metrics are there');
      assert.equal(e.types.get('nodejs_eventloop_lag_seconds'), 'gauge');
      const base = server.url.replace(/\/metrics$/, '');
      assert.equal((await fetch(`${base}/`)).status, 404);
      const post = await fetch(server.url, { method: 'POST' });
      assert.equal(post.status, 405);
      assert.equal(post.headers.get('allow'), 'GET, HEAD');
      const head = await fetch(server.url, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(await head.text(), '');
    } finally {
      await server.close();
    }
  });

  test('--metrics-port accepts 0-65535 and refuses anything else clearly', () => {
    assert.equal(metricsPortOption(undefined), undefined);
    assert.equal(metricsPortOption('0'), 0);
    assert.equal(metricsPortOption('9400'), 9400);
    for (const bad of ['', ' ', '-1', '65536', '1.5', 'http']) assert.throws(() => metricsPortOption(bad), /--metrics-port must be a port/);
  });
});
