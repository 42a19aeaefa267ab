// The job view reducer: lifecycle, replays, retries of dead jobs, and events that must not move a
// job (stale attempts, cancel after completion, duplicates).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { JOB_DEFAULTS, type JobEvent, type JobSpec } from '../../../src/genie/jobs/events.js';
import { applyEvent, type EventPosition, type JobView, PROVISIONAL_POSITION, specOfView } from '../../../src/genie/jobs/view.js';

const spec: JobSpec = {
  id: 'job-1',
  type: 'email.send',
  payload: { to: 'a@example.com' },
  priority: 'normal',
  attemptsMax: 3,
  backoff: JOB_DEFAULTS.backoff,
  timeoutMs: 60_000,
  createdAt: '2024-01-01T00:00:00.000Z',
};

let clock = 0;
const at = (): string => new Date(Date.parse('2024-01-01T00:00:00.000Z') + ++clock * 1000).toISOString();
const base = () => ({ v: 1, jobId: spec.id, at: at(), producer: 'test' });

const ev = {
  requested: (): JobEvent => ({ ...base(), type: 'job.requested', spec, attempt: 1 }),
  created: (): JobEvent => ({ ...base(), type: 'job.created', spec }),
  queued: (attempt: number, attemptLimit = 3): JobEvent => ({ ...base(), type: 'job.queued', spec, attempt, attemptLimit }),
  processing: (attempt: number): JobEvent => ({ ...base(), type: 'job.processing', attempt, worker: 'w1', redelivered: false }),
  progress: (attempt: number, percent: number): JobEvent => ({ ...base(), type: 'job.progress', attempt, percent, message: `${percent}%` }),
  completed: (attempt: number): JobEvent => ({ ...base(), type: 'job.completed', attempt, result: { ok: true }, durationMs: 12 }),
  failed: (attempt: number): JobEvent => ({
    ...base(),
    type: 'job.failed',
    attempt,
    error: { name: 'Error', message: 'smtp down' },
    reason: 'error',
    willRetry: true,
  }),
  retrying: (attempt: number): JobEvent => ({ ...base(), type: 'job.retrying', attempt, runAt: '2024-01-01T01:00:00.000Z' }),
  dead: (attempt: number): JobEvent => ({
    ...base(),
    type: 'job.dead',
    attempt,
    reason: 'attempts exhausted',
    error: { name: 'Error', message: 'smtp down' },
  }),
  cancelRequested: (): JobEvent => ({ ...base(), type: 'job.cancel-requested', reason: 'user' }),
  cancelled: (): JobEvent => ({ ...base(), type: 'job.cancelled', reason: 'user' }),
};

/** Folds events at consecutive offsets of partition 0 from `from`. */
function fold(events: JobEvent[], from = 0, start?: JobView): JobView | undefined {
  let v = start;
  events.forEach((e, i) => {
    v = applyEvent(v, e, { partition: 0, offset: from + i });
  });
  return v;
}

describe('job view reducer', () => {
  test('a successful lifecycle: created, queued, processing with progress, completed', () => {
    const events = [ev.requested(), ev.created(), ev.queued(1), ev.processing(1), ev.progress(1, 40), ev.completed(1)];
    const states: string[] = [];
    let v: JobView | undefined;
    events.forEach((e, i) => {
      v = applyEvent(v, e, { partition: 2, offset: 10 + i });
      states.push(v!.state);
    });
    assert.deepEqual(states, ['created', 'created', 'queued', 'processing', 'processing', 'completed']);
    assert.equal(v!.result && (v!.result as { ok: boolean }).ok, true);
    assert.deepEqual(v!.progress, { percent: 40, message: '40%' });
    assert.equal(v!.worker, 'w1');
    assert.equal(v!.durationMs, 12);
    assert.equal(v!.finishedAt, events[5]!.at);
    assert.equal(v!.updatedAt, events[5]!.at);
    assert.equal(v!.partition, 2);
    assert.equal(v!.lastOffset, 15);
    assert.equal(v!.createdAt, spec.createdAt);
  });

  test('replaying the same events at the same offsets changes nothing (same object back)', () => {
    const events = [ev.requested(), ev.queued(1), ev.processing(1), ev.completed(1)];
    const v = fold(events)!;
    events.forEach((e, i) => {
      assert.equal(applyEvent(v, e, { partition: 0, offset: i }), v, `replay of ${e.type} at ${i}`);
    });
    // The same event type at a new offset is a real (newer) event, but a stale one here.
    assert.equal(applyEvent(v, ev.processing(1), { partition: 0, offset: 99 }), v, 'a terminal job ignores processing');
  });

  test('failed, retrying, then a later attempt completes; facts of the old attempt are ignored', () => {
    const v = fold([ev.requested(), ev.queued(1), ev.processing(1), ev.failed(1), ev.retrying(2)])!;
    assert.equal(v.state, 'retrying');
    assert.equal(v.attempt, 2);
    assert.equal(v.runAt, '2024-01-01T01:00:00.000Z');
    assert.equal(v.lastError?.message, 'smtp down');
    assert.equal(v.lastError?.reason, 'error');
    // A late completion of attempt 1 (a redelivered run) does not end the job.
    assert.equal(applyEvent(v, ev.completed(1), { partition: 0, offset: 50 }), v);
    const done = fold([ev.queued(2), ev.processing(2), ev.completed(2)], 51, v)!;
    assert.equal(done.state, 'completed');
    assert.equal(done.attempt, 2);
    assert.equal(done.runAt, null);
  });

  test('a dead job comes back only with a job.queued of a higher attempt (retry or redrive)', () => {
    const dead = fold([
      ev.requested(),
      ev.queued(1),
      ev.processing(1),
      ev.failed(1),
      ev.retrying(2),
      ev.queued(2),
      ev.processing(2),
      ev.dead(2),
    ])!;
    assert.equal(dead.state, 'dead');
    assert.equal(dead.lastError?.reason, 'attempts exhausted');
    assert.ok(dead.finishedAt);
    // A duplicate queued of an earlier attempt (the scheduler's second copy) is ignored.
    assert.equal(applyEvent(dead, ev.queued(2), { partition: 0, offset: 100 }), dead);
    const retried = applyEvent(dead, ev.queued(3, 5), { partition: 0, offset: 101 })!;
    assert.equal(retried.state, 'queued');
    assert.equal(retried.attempt, 3);
    assert.equal(retried.attemptLimit, 5);
    assert.equal(retried.finishedAt, null);
    assert.equal(retried.lastError?.reason, 'attempts exhausted', 'the previous run error stays visible');
    const finished = fold([ev.processing(3), ev.completed(3)], 102, retried)!;
    assert.equal(finished.state, 'completed');
  });

  test('cancel: requested marks the job, cancelled ends it; both are ignored after completion', () => {
    const running = fold([ev.requested(), ev.queued(1), ev.processing(1)])!;
    const asked = applyEvent(running, ev.cancelRequested(), { partition: 0, offset: 3 })!;
    assert.equal(asked.state, 'processing');
    assert.equal(asked.cancelRequested, true);
    const cancelled = applyEvent(asked, ev.cancelled(), { partition: 0, offset: 4 })!;
    assert.equal(cancelled.state, 'cancelled');
    assert.equal(cancelled.cancelReason, 'user');

    const completed = fold([ev.requested(), ev.queued(1), ev.processing(1), ev.completed(1)])!;
    assert.equal(applyEvent(completed, ev.cancelRequested(), { partition: 0, offset: 10 }), completed);
    assert.equal(applyEvent(completed, ev.cancelled(), { partition: 0, offset: 11 }), completed);
    // And a completion after a cancellation does not resurrect the job either.
    assert.equal(applyEvent(cancelled, ev.completed(1), { partition: 0, offset: 5 }), cancelled);
  });

  test('duplicates and out-of-order copies: echoes of queued, a second requested, progress of another attempt', () => {
    const queued = fold([ev.requested(), ev.created(), ev.queued(1)])!;
    assert.equal(applyEvent(queued, ev.queued(1), { partition: 0, offset: 3 }), queued, 'the echo of queued');
    assert.equal(applyEvent(queued, ev.requested(), { partition: 0, offset: 4 }), queued, 'a second requested');
    assert.equal(applyEvent(queued, ev.created(), { partition: 0, offset: 5 }), queued, 'created after queued');
    const processing = applyEvent(queued, ev.processing(1), { partition: 0, offset: 6 })!;
    assert.equal(applyEvent(processing, ev.progress(2, 10), { partition: 0, offset: 7 }), processing, 'progress of another attempt');
    // Lower offsets than the last applied one are replays, whatever they say.
    assert.equal(applyEvent(processing, ev.completed(1), { partition: 0, offset: 2 }), processing);
  });

  test('facts about an unknown job are skipped; events with a spec create it', () => {
    assert.equal(applyEvent(undefined, ev.processing(1), { partition: 0, offset: 0 }), undefined);
    assert.equal(applyEvent(undefined, ev.completed(1), { partition: 0, offset: 0 }), undefined);
    assert.equal(applyEvent(undefined, ev.cancelled(), { partition: 0, offset: 0 }), undefined);
    const fromQueued = applyEvent(undefined, ev.queued(2, 4), { partition: 1, offset: 7 })!;
    assert.equal(fromQueued.state, 'queued');
    assert.equal(fromQueued.attempt, 2);
    assert.equal(fromQueued.type, 'email.send');
    assert.equal(applyEvent(undefined, ev.created(), { partition: 1, offset: 8 })?.state, 'created');
  });

  test('a provisional requested creates an unknown job only; the event read back then applies', () => {
    const provisional = applyEvent(undefined, ev.requested(), PROVISIONAL_POSITION)!;
    assert.equal(provisional.state, 'created');
    assert.equal(provisional.partition, -1);
    const readBack = applyEvent(provisional, ev.requested(), { partition: 1, offset: 0 })!;
    assert.equal(readBack.state, 'created');
    assert.equal(readBack.partition, 1);
    assert.equal(readBack.lastOffset, 0);
    // Once placed, a second requested is a duplicate submission.
    assert.equal(applyEvent(readBack, ev.requested(), { partition: 1, offset: 5 }), readBack);
    const queued = applyEvent(readBack, ev.queued(1), { partition: 1, offset: 1 })!;
    assert.equal(queued.state, 'queued');
    assert.equal(queued.partition, 1);
    // The provisional path never changes a known job, even with a newer-looking event.
    assert.equal(applyEvent(queued, ev.requested(), PROVISIONAL_POSITION), queued);
  });

  test('events from another partition apply (the topic gained partitions), offsets compare within one', () => {
    const v = fold([ev.requested(), ev.queued(1)], 100)!;
    const moved = applyEvent(v, ev.processing(1), { partition: 3, offset: 0 } satisfies EventPosition)!;
    assert.equal(moved.state, 'processing');
    assert.equal(moved.partition, 3);
    assert.equal(moved.lastOffset, 0);
  });

  test('specOfView gives back the submitted spec for a retry', () => {
    const v = fold([ev.requested()])!;
    assert.deepEqual(specOfView(v), spec);
    const withKey = applyEvent(undefined, { ...ev.requested(), spec: { ...spec, orderingKey: 'k', schedule: 'nightly' } } as JobEvent, {
      partition: 0,
      offset: 0,
    })!;
    assert.equal(specOfView(withKey).orderingKey, 'k');
    assert.equal(specOfView(withKey).schedule, 'nightly');
  });
});
