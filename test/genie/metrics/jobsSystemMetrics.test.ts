// The jobs system's /metrics end to end on a one-broker KafkaTestingCluster: a Job Service, a
// worker and the scheduler (for retries) in-process, each with its own registry; jobs of three
// types submitted over HTTP, some failing, some retried, one cancelled while it runs; every
// exposition parsed and the counts checked exactly per type. Then the `clustergenie worker` and
// `clustergenie scheduler` commands with --metrics-port 0 are scraped as a Prometheus would.

import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { KafkaTestingCluster } from '../../../src/cluster/kafkaTestingCluster.js';
import { JobsClient } from '../../../src/genie/jobs/client.js';
import { JOB_STATES } from '../../../src/genie/jobs/events.js';
import { startJobsHttp } from '../../../src/genie/jobs/http.js';
import { type MetricsServer, startMetricsServer } from '../../../src/genie/jobs/metrics.js';
import { JobService } from '../../../src/genie/jobs/service.js';
import { ensureTopics, jobTopics, type KafkaEndpoint } from '../../../src/genie/kafka.js';
import { SchedulerMetrics } from '../../../src/genie/scheduler/metrics.js';
import { Scheduler } from '../../../src/genie/scheduler/scheduler.js';
import { builtinHandlers } from '../../../src/genie/workers/builtins.js';
import { WorkerMetrics } from '../../../src/genie/workers/metrics.js';
import { Worker } from '../../../src/genie/workers/worker.js';
import { ZooKeeperClient } from '../../../src/zookeeper/client/client.js';
import { killOnExit } from '../../helpers/children.js';
import { waitFor } from '../../helpers/wait.js';
import { type Exposition, scrape, sum, value, valueOr0 } from './exposition.js';

let cluster: KafkaTestingCluster;
let kafka: KafkaEndpoint;
let service: JobService;
let app: FastifyInstance;
let serviceUrl: string;
let worker: Worker;
let workerServer: MetricsServer;
let zk: ZooKeeperClient;
let scheduler: Scheduler;
let schedulerServer: MetricsServer;

const bounds = { min: 1, max: 4 };

before(async () => {
  cluster = await KafkaTestingCluster.start({ brokers: 1 });
  kafka = { bootstrapBrokers: [cluster.bootstrap], clientId: 'metrics-test' };
  await ensureTopics(kafka, jobTopics({ partitions: 3, replicationFactor: 1 }));
  service = new JobService({ kafka: { ...kafka, clientId: 'metrics-svc' }, instance: 'svc-m', snapshots: false });
  await service.start();
  ({ app, url: serviceUrl } = await startJobsHttp(service, { port: 0 }));
  const workerMetrics = new WorkerMetrics();
  worker = new Worker({
    kafka: { ...kafka, clientId: 'metrics-worker' },
    workerId: 'w-metrics',
    concurrency: { ...bounds, initial: 2 },
    handlers: builtinHandlers,
    metrics: workerMetrics,
    autoscale: { backlogPerSlotHigh: 1, cooldownMs: 200, queueWaitHighMs: 100, idleShrinkMs: 600_000 },
    autoscaleIntervalMs: 100,
    commitIntervalMs: 100,
    group: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 300, rebalanceTimeoutMs: 10_000 },
    closeGraceMs: 2000,
    abortGraceMs: 1000,
  });
  workerServer = await startMetricsServer(workerMetrics.registry, { port: 0 });
  await worker.start();
  zk = new ZooKeeperClient({ connectString: cluster.zkConnect, sessionTimeoutMs: 6000 });
  await zk.connect();
  scheduler = new Scheduler({ kafka: { ...kafka, clientId: 'metrics-scheduler' }, zk, id: 'sched-m', commitIntervalMs: 50 });
  schedulerServer = await startMetricsServer(new SchedulerMetrics('sched-m', scheduler).registry, { port: 0 });
  await scheduler.start();
  await waitFor(() => scheduler.isLeader, { timeoutMs: 15_000, what: 'the scheduler to lead' });
});

after(async () => {
  await app?.close();
  await workerServer?.close();
  await schedulerServer?.close();
  await worker?.close();
  await scheduler?.close();
  await zk?.close().catch(() => undefined);
  await service?.close();
  await cluster?.close();
});

const backoff = { type: 'fixed', delayMs: 50, delayMsMax: 50 } as const;

test('job counters, histograms and gauges of the Job Service, the worker and the scheduler agree with the jobs run', async () => {
  const client = new JobsClient(serviceUrl);
  // 12 echo jobs one request each; 8 fail jobs in one batch: 4 pass on their second attempt, 4 die.
  for (let i = 0; i < 12; i++) await client.submit({ type: 'echo', payload: { i } });
  const failJobs = await client.submitBatch([
    ...Array.from({ length: 4 }, () => ({ type: 'fail', payload: { untilAttempt: 2 }, attempts: 2, backoff })),
    ...Array.from({ length: 4 }, () => ({ type: 'fail', payload: { message: 'always' }, attempts: 2, backoff })),
  ]);
  assert.ok(failJobs.every((j) => 'id' in j));
  // One long sleep, cancelled while it runs.
  const sleeper = await client.submit({ type: 'sleep', payload: { ms: 60_000 } });
  await waitFor(async () => (await client.get(sleeper.id)).state === 'processing', { timeoutMs: 30_000, what: 'the sleep job to run' });
  await client.cancel(sleeper.id);

  const want = { completed: 16, dead: 4, cancelled: 1 };
  await waitFor(
    async () => {
      const s = await (await fetch(`${serviceUrl}/api/stats`)).json();
      const by = (s as { byState: Record<string, number> }).byState;
      return by.completed === want.completed && by.dead === want.dead && by.cancelled === want.cancelled;
    },
    { timeoutMs: 60_000, what: 'every job to finish in the view' },
  );

  const svc = await scrape(`${serviceUrl}/metrics`);
  const byType = (name: string, type: string): number => valueOr0(svc, name, { type });
  assert.deepEqual(
    ['echo', 'fail', 'sleep'].map((t) => byType('clustergenie_jobs_submitted_total', t)),
    [12, 8, 1],
  );
  assert.deepEqual(
    ['echo', 'fail', 'sleep'].map((t) => byType('clustergenie_jobs_completed_total', t)),
    [12, 4, 0],
  );
  assert.equal(byType('clustergenie_jobs_failed_total', 'fail'), 12, 'failed attempts: 4 x 1 + 4 x 2');
  assert.equal(byType('clustergenie_jobs_failed_total', 'echo'), 0);
  assert.equal(byType('clustergenie_jobs_retried_total', 'fail'), 8);
  assert.equal(byType('clustergenie_jobs_dead_total', 'fail'), 4);
  assert.equal(byType('clustergenie_jobs_cancelled_total', 'sleep'), 1);
  // Run time: one sample per attempt that ended completed or failed.
  assert.equal(byType('clustergenie_jobs_run_seconds_count', 'echo'), 12, 'equal to the completed echo jobs');
  assert.equal(byType('clustergenie_jobs_run_seconds_count', 'fail'), 4 + 12, 'completed plus failed attempts');
  assert.equal(byType('clustergenie_jobs_run_seconds_count', 'sleep'), 0, 'a cancelled run has no end');
  assert.equal(value(svc, 'clustergenie_jobs_run_seconds_bucket', { type: 'echo', le: '+Inf' }), 12);
  // Queue wait: one sample per started attempt.
  assert.deepEqual(
    ['echo', 'fail', 'sleep'].map((t) => byType('clustergenie_jobs_queue_wait_seconds_count', t)),
    [12, 16, 1],
  );
  for (const state of JOB_STATES) {
    assert.equal(value(svc, 'clustergenie_jobs', { state }), (want as Record<string, number>)[state] ?? 0, `jobs ${state}`);
  }
  assert.equal(value(svc, 'http_request_duration_seconds_count', { method: 'POST', route: '/api/jobs', status_code: '202' }), 13);
  assert.equal(value(svc, 'http_request_duration_seconds_count', { method: 'POST', route: '/api/jobs/batch', status_code: '202' }), 1);
  assert.ok(value(svc, 'http_request_duration_seconds_count', { method: 'GET', route: '/api/jobs/:id', status_code: '200' }) >= 1);
  assert.equal(svc.types.get('process_resident_memory_bytes'), 'gauge');

  // The worker: what it published, per type; its pool.
  await waitFor(() => worker.running === 0, { timeoutMs: 10_000, what: 'the pool to drain' });
  const w = await scrape(workerServer.url);
  const wt = (name: string, type: string): number => valueOr0(w, name, { type });
  assert.deepEqual(
    ['echo', 'fail', 'sleep'].map((t) => wt('clustergenie_worker_jobs_started_total', t)),
    [12, 16, 1],
  );
  assert.deepEqual(
    ['echo', 'fail', 'sleep'].map((t) => wt('clustergenie_worker_jobs_completed_total', t)),
    [12, 4, 0],
  );
  assert.equal(wt('clustergenie_worker_jobs_failed_total', 'fail'), 12);
  assert.equal(sum(w, 'clustergenie_worker_jobs_failed_total'), 12);
  assert.equal(wt('clustergenie_worker_jobs_cancelled_total', 'sleep'), 1);
  assert.equal(value(w, 'clustergenie_worker_info', { worker: 'w-metrics', group: worker.groupId }), 1);
  const size = value(w, 'clustergenie_worker_pool_size', { worker: 'w-metrics' });
  assert.ok(size >= bounds.min && size <= bounds.max, `pool size ${size} within [${bounds.min}, ${bounds.max}]`);
  assert.equal(size, worker.capacity);
  assert.equal(value(w, 'clustergenie_worker_pool_size_max', { worker: 'w-metrics' }), bounds.max);
  assert.equal(value(w, 'clustergenie_worker_pool_busy', { worker: 'w-metrics' }), 0);
  assert.equal(value(w, 'clustergenie_worker_pool_queued', { worker: 'w-metrics' }), 0);
  assert.ok(value(w, 'clustergenie_worker_backlog', { worker: 'w-metrics' }) >= 0);
  assert.equal(value(w, 'clustergenie_worker_partitions', { worker: 'w-metrics' }), 3);
  assert.equal(sum(w, 'clustergenie_worker_scaling_events_total'), worker.counters.scaled, 'one per worker.scaled');

  // The scheduler produced each retry once.
  const s = await scrape(schedulerServer.url);
  assert.equal(value(s, 'clustergenie_scheduler_leader'), 1);
  assert.equal(value(s, 'clustergenie_scheduler_jobs_fired_total', { source: 'delay' }), 8);
  assert.equal(value(s, 'clustergenie_scheduler_jobs_fired_total', { source: 'cron' }), 0);
  assert.equal(value(s, 'clustergenie_scheduler_delayed_jobs'), 0);
  assert.equal(value(s, 'clustergenie_scheduler_schedules'), 0);
});

/** Starts a CLI command; resolves with the URL its `metrics on` line names. */
async function startCli(
  args: string[],
  readyLine: string,
): Promise<{ child: ChildProcessWithoutNullStreams; url: string; exit: Promise<number | null> }> {
  const main = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
  const child = spawn(process.execPath, [main, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  killOnExit(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitFor(() => stdout.includes(readyLine), {
    timeoutMs: 30_000,
    what: () => `"${readyLine}" (stdout: ${stdout}, stderr: ${stderr})`,
  });
  const url = / metrics on (http:\/\/\S+)\n/.exec(stdout)?.[1];
  assert.ok(url, `a metrics line in: ${stdout}`);
  return { child, url, exit };
}

async function stop(c: { child: ChildProcessWithoutNullStreams; exit: Promise<number | null> }): Promise<number | null | string> {
  c.child.kill('SIGTERM');
  return Promise.race([c.exit, new Promise<string>((r) => setTimeout(() => r('still running'), 20_000).unref())]);
}

test('clustergenie worker and scheduler --metrics-port 0 serve their metrics until they stop', async () => {
  // Another group: this worker catches up without running anything (and takes nothing from w-metrics).
  const w = await startCli(
    ['worker', '--bootstrap-server', cluster.bootstrap, '--group', 'cli-metrics', '--id', 'w-cli', '--metrics-port', '0'],
    'worker w-cli ready\n',
  );
  const s = await startCli(
    ['scheduler', '--bootstrap-server', cluster.bootstrap, '--zookeeper', cluster.zkConnect, '--id', 's-cli', '--metrics-port', '0'],
    'scheduler s-cli ready\n',
  );
  try {
    const we: Exposition = await scrape(w.url);
    assert.equal(value(we, 'clustergenie_worker_info', { worker: 'w-cli', group: 'cli-metrics' }), 1);
    assert.equal(value(we, 'clustergenie_worker_pool_busy', { worker: 'w-cli' }), 0);
    assert.equal(we.types.get('process_cpu_user_seconds_total'), 'counter');
    const se = await scrape(s.url);
    assert.equal(value(se, 'clustergenie_scheduler_info', { scheduler: 's-cli' }), 1);
    assert.equal(value(se, 'clustergenie_scheduler_leader'), 0, 'the in-process scheduler still leads');
  } finally {
    assert.equal(await stop(w), 0);
    assert.equal(await stop(s), 0);
  }
  await assert.rejects(fetch(w.url), 'the worker closed its metrics server');
});
