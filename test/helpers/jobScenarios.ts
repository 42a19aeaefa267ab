// The jobs scenarios every Kafka the services may point at must pass: ours (test/genie/e2e/
// jobsSystem.test.ts) and Apache Kafka 3.9 on Apache ZooKeeper 3.8 (test/interop/jobsOnApache.test.ts).
// Each registers node:test tests against the JobsSystem the caller started.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ZkTypeLimits } from '../../src/genie/coord/typeLimits.js';
import type { JobEvent } from '../../src/genie/jobs/events.js';
import { ZooKeeperClient } from '../../src/zookeeper/client/index.js';
import { checkJobHistory, describeProblems, firstProblemHistory, type ReadEvent } from './jobHistory.js';
import type { JobsSystem } from './jobsSystem.js';
import { waitFor } from './wait.js';

let current: (() => JobsSystem) | undefined;
function S(): JobsSystem {
  if (!current) throw new Error('no jobs system: call coreJobScenarios first');
  return current();
}

interface Accepted {
  id: string;
  state: string;
}

/**
 * Submits `bodies` in batches of 1000; returns the accepted ids. With `retryUnavailable` (bodies
 * carrying their own ids, so a repeat is the same job) a batch the service could not publish
 * (5xx: Kafka unavailable) is sent again, as a client would.
 */
export async function submitAll(bodies: unknown[], retryUnavailable = false): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < bodies.length; i += 1000) {
    const batch = { jobs: bodies.slice(i, i + 1000) };
    let r = await S().post<{ jobs: (Accepted | { error: unknown })[] }>('/api/jobs/batch', batch);
    for (let tries = 0; retryUnavailable && r.status >= 500 && tries < 30; tries++) {
      await new Promise((res) => setTimeout(res, 1000));
      r = await S().post<{ jobs: (Accepted | { error: unknown })[] }>('/api/jobs/batch', batch);
    }
    assert.ok(r.status === 202 || r.status === 200, `batch accepted: ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
    for (const j of r.body.jobs) {
      assert.ok('id' in j, `every job in the batch is accepted: ${JSON.stringify(j)}`);
      ids.push(j.id);
    }
  }
  return ids;
}

export async function jobState(id: string): Promise<{ state: string; attempt?: number; worker?: string; lastError?: { reason?: string } }> {
  return (await S().get<{ state: string }>(`/api/jobs/${id}`)).body;
}

/** Waits until the view has every id in a terminal state. */
export async function waitAllTerminal(ids: string[], timeoutMs: number): Promise<void> {
  const pending = new Set(ids);
  await waitFor(
    async () => {
      for (const id of [...pending].slice(0, 200)) {
        const s = (await jobState(id)).state;
        if (s === 'completed' || s === 'dead' || s === 'cancelled') pending.delete(id);
      }
      return pending.size === 0;
    },
    {
      timeoutMs,
      intervalMs: 200,
      what: () => `${pending.size} of ${ids.length} jobs terminal (e.g. ${[...pending][0]}); logs:\n${S().logs()}`,
    },
  );
}

/** Each job's [first processing, completion] times, from its events. */
function runIntervals(events: readonly ReadEvent[], ids: readonly string[]): Map<string, { start: number; end: number }> {
  const out = new Map<string, { start: number; end: number }>();
  const wanted = new Set(ids);
  for (const { event } of events) {
    if (!wanted.has(event.jobId)) continue;
    const cur = out.get(event.jobId) ?? { start: Number.NaN, end: Number.NaN };
    if (event.type === 'job.processing' && Number.isNaN(cur.start)) cur.start = Date.parse(event.at);
    if (event.type === 'job.completed') cur.end = Date.parse(event.at);
    out.set(event.jobId, cur);
  }
  return out;
}

/** Most intervals open at once. */
function maxOverlap(intervals: Iterable<{ start: number; end: number }>): number {
  const edges: [number, number][] = [];
  for (const i of intervals) edges.push([i.start, 1], [i.end, -1]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, d] of edges) {
    open += d;
    most = Math.max(most, open);
  }
  return most;
}

export interface CoreScenarioOptions {
  /** Jobs of the mixed run. */
  mixedJobs: number;
}

/** Registers the core scenarios as tests on the system `sys()` returns (started in a before hook). */
export function coreJobScenarios(sys: () => JobsSystem, o: CoreScenarioOptions): void {
  current = sys;
  test(`${o.mixedJobs.toLocaleString('en-US')} mixed jobs over HTTP: each reaches exactly one terminal state, in order, nothing lost (checker on every event)`, {
    timeout: 600_000,
  }, async () => {
    const bodies: unknown[] = [];
    const expected = new Map<number, 'completed' | 'dead'>();
    for (let i = 0; i < o.mixedJobs; i++) {
      const r = i % 20;
      if (r < 12) bodies.push({ type: 'echo', payload: { i } });
      else if (r < 18) bodies.push({ type: 'sleep', payload: { ms: i % 7 } });
      // Fails twice (the retry goes through the delay topic and the scheduler), then dead.
      else if (r === 18)
        bodies.push({ type: 'fail', payload: { message: `boom ${i}` }, attempts: 2, backoff: { type: 'fixed', delayMs: 20 } });
      else bodies.push({ type: 'no-such-type', payload: { i } });
      expected.set(i, r < 18 ? 'completed' : 'dead');
    }
    const ids = await submitAll(bodies);
    assert.equal(new Set(ids).size, o.mixedJobs, 'distinct ids');
    await waitAllTerminal(ids, 400_000);
    const { events, markers } = await S().readAllRecords();
    const report = checkJobHistory(ids, events, markers);
    assert.equal(describeProblems(report), '', `the checker finds nothing wrong; ${firstProblemHistory(report, events)}`);
    ids.forEach((id, i) => {
      assert.equal(report.terminal.get(id), expected.get(i), `job ${i} (${id}) ends ${expected.get(i)}`);
    });
    // The fail jobs used both attempts; unknown types are dead at once.
    assert.equal(report.attempts.get(ids[18]!), 2);
    assert.ok((report.attempts.get(ids[19]!) ?? 0) <= 1);
    const view = await jobState(ids[18]!);
    assert.equal(view.state, 'dead');
  });

  test('kill -9 of a worker mid-job: its unfinished jobs are re-delivered and complete; no finished job runs again', {
    timeout: 300_000,
  }, async () => {
    const ids = await submitAll(Array.from({ length: 90 }, (_, i) => ({ type: 'sleep', payload: { ms: 1500 + (i % 5) * 100 } })));
    const victim = S().workers[0]!;
    const victimId = 'worker-1';
    await waitFor(
      async () => {
        for (const id of ids.slice(0, 90)) if ((await jobState(id)).worker === victimId) return true;
        return false;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: `a job processing on ${victimId}` },
    );
    await victim.kill();
    await waitAllTerminal(ids, 200_000);
    const { events, markers } = await S().readAllRecords();
    const report = checkJobHistory(ids, events, markers);
    assert.equal(describeProblems(report), '', firstProblemHistory(report, events));
    for (const id of ids) assert.equal(report.terminal.get(id), 'completed');
    // Bring the worker back for the tests after this one.
    S().workers[0] = victim;
    victim.start();
    await victim.waitReady(60_000);
  });

  test('retries then dead, redrive completes; a delayed job waits; ordering-key jobs never overlap; a global cap holds across 3 workers', {
    timeout: 300_000,
  }, async () => {
    const zk = new ZooKeeperClient({ connectString: S().zkConnect, sessionTimeoutMs: 10_000 });
    await zk.connect();
    try {
      // A global cap of 2 on cpu jobs (150 ms busy each), across the 3 worker processes (each may run
      // 32 at once). A type no worker has run yet, so each reads the cap at its first job of it
      // rather than learning of a change through a watch that may still be on its way.
      await ZkTypeLimits.setTypeLimit(zk, 'cpu', { concurrency: 2 });
      const capped = await submitAll(Array.from({ length: 12 }, () => ({ type: 'cpu', payload: { ms: 150 } })));
      // Flaky jobs: attempts 1 and 2 fail (backoff 50 ms, through the delay topic), so they die; a redrive runs attempt 3, which succeeds.
      const flaky = await submitAll(
        Array.from({ length: 5 }, (_, i) => ({
          type: 'fail',
          payload: { message: `flaky ${i}`, untilAttempt: 3 },
          attempts: 2,
          backoff: { type: 'fixed', delayMs: 50 },
        })),
      );
      const delayedAt = Date.now();
      const [delayed] = await submitAll([{ type: 'echo', payload: { late: true }, delayMs: 1500 }]);
      const ordered = await submitAll(Array.from({ length: 6 }, (_, i) => ({ type: 'echo', payload: { i }, orderingKey: 'account-42' })));
      await waitAllTerminal([...capped, ...flaky, delayed!, ...ordered], 120_000);
      for (const id of flaky) assert.equal((await jobState(id)).state, 'dead', `flaky job ${id} is dead after 2 attempts`);
      const redriven = await S().post<{ redriven: { id: string; attempt: number }[] }>('/api/dlq/redrive', { ids: flaky });
      assert.equal(redriven.status, 202, JSON.stringify(redriven.body));
      assert.deepEqual(
        redriven.body.redriven.map((r) => r.attempt),
        [3, 3, 3, 3, 3],
      );
      await waitFor(
        async () => {
          for (const id of flaky) if ((await jobState(id)).state !== 'completed') return false;
          return true;
        },
        { timeoutMs: 60_000, what: 'redriven jobs completed' },
      );
      const events = await S().readAllEvents();
      const intervals = runIntervals(events, capped);
      assert.equal(intervals.size, 12);
      assert.ok(maxOverlap(intervals.values()) <= 2, `at most 2 cpu jobs ran at once: ${maxOverlap(intervals.values())}`);
      // Same key: one at a time, in submission order.
      const orderedRuns = ordered.map((id) => runIntervals(events, [id]).get(id)!);
      for (let i = 1; i < orderedRuns.length; i++) {
        assert.ok(orderedRuns[i]!.start >= orderedRuns[i - 1]!.end, `ordering-key job ${i} started after job ${i - 1} ended`);
      }
      // The delayed job did not start before its runAt.
      const requested = events.find((e) => e.event.jobId === delayed && e.event.type === 'job.requested')?.event as Extract<
        JobEvent,
        { type: 'job.requested' }
      >;
      const runAt = Date.parse(requested.spec.runAt ?? '');
      assert.ok(runAt >= delayedAt + 1500 - 50, 'runAt is the submission time plus delayMs');
      assert.ok(runIntervals(events, [delayed!]).get(delayed!)!.start >= runAt, 'started no earlier than runAt');
      // The flaky jobs' history: two failed attempts, dead, then attempt 3 completed.
      for (const id of flaky) {
        const kinds = events
          .filter((e) => e.event.jobId === id && ['job.failed', 'job.dead', 'job.completed'].includes(e.event.type))
          .map((e) => e.event.type);
        assert.deepEqual(kinds, ['job.failed', 'job.failed', 'job.dead', 'job.completed'], id);
      }
    } finally {
      await ZkTypeLimits.clearTypeLimit(zk, 'cpu').catch(() => undefined);
      await zk.close();
    }
  });
}
