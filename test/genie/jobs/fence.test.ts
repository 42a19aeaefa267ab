// The fencing rule (src/genie/jobs/fence.ts) every reader of cluster-events applies: a former
// owner's facts after its successor's marker do not count; an in-order history is unchanged;
// commands are never fenced.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobEvent } from '../../../src/genie/jobs/events.js';
import { applyEvent, type JobView } from '../../../src/genie/jobs/view.js';
import {
  deadLetterCounts,
  epochOf,
  isOwnerMarker,
  mayBeOwnerMarker,
  OWNER_MARKER_TYPE,
  OwnerFence,
} from '../../../src/genie/jobs/fence.js';

const at = '2026-12-07T00:00:00.000Z';
const fact = (epoch: number | undefined, type: 'job.created' | 'job.completed' = 'job.completed'): JobEvent => {
  const base = { v: 1, jobId: 'j', at, producer: 'worker/w' };
  const withEpoch = epoch === undefined ? base : { ...base, epoch };
  return type === 'job.completed'
    ? { ...withEpoch, type, attempt: 1, result: null, durationMs: 1 }
    : {
        ...withEpoch,
        type,
        spec: {
          id: 'j',
          type: 'echo',
          payload: null,
          priority: 'normal',
          attemptsMax: 1,
          backoff: { type: 'fixed', delayMs: 1, delayMsMax: 1 },
          timeoutMs: 1,
          createdAt: at,
        },
      };
};
const command: JobEvent = { v: 1, jobId: 'j', at, producer: 'jobs-service/a', type: 'job.cancel-requested', reason: 'x' };

test("a stale owner's facts after a newer owner's marker are ignored, per partition", () => {
  const f = new OwnerFence();
  f.marker(0, 10); // the first owner
  assert.equal(f.admits(0, fact(10)), true);
  f.marker(0, 20); // its successor
  assert.equal(f.admits(0, fact(10)), false, 'the former owner, writing late');
  assert.equal(f.admits(0, fact(10, 'job.created')), false);
  assert.equal(f.admits(0, fact(20)), true, "the successor's facts count");
  assert.equal(f.admits(1, fact(10)), true, 'another partition has its own epochs');
  assert.equal(f.fenced, 2);
  assert.equal(f.epoch(0), 20);
});

test('an in-order history is unchanged: every fact at or above the epoch counts; commands and unstamped events always', () => {
  const f = new OwnerFence();
  f.marker(3, 5);
  for (const e of [fact(5), fact(5, 'job.created'), command, fact(undefined)]) assert.equal(f.admits(3, e), true);
  f.marker(3, 9);
  assert.equal(f.admits(3, command), true, 'a command is never fenced');
  assert.equal(f.admits(3, fact(undefined)), true, 'an event from before fencing existed counts');
  assert.equal(f.fenced, 0);
});

test("a fact's epoch raises the partition's (a reader starting past the marker learns it)", () => {
  const f = new OwnerFence();
  assert.equal(f.admits(0, fact(30)), true);
  assert.equal(f.admits(0, fact(12)), false);
  const g = new OwnerFence();
  g.load(f.entries());
  assert.equal(g.epoch(0), 30, 'persisted epochs load back');
  assert.equal(g.admits(0, fact(12)), false);
});

test('epochs that are not offsets are treated as absent; markers are recognized', () => {
  assert.equal(epochOf({ ...fact(undefined), epoch: -1 } as JobEvent), undefined);
  assert.equal(epochOf({ ...fact(undefined), epoch: 1.5 } as JobEvent), undefined);
  assert.equal(epochOf(fact(7)), 7);
  const text = JSON.stringify({ v: 1, type: OWNER_MARKER_TYPE, worker: 'w', partition: 0, at });
  assert.equal(mayBeOwnerMarker(text), true);
  assert.equal(isOwnerMarker(JSON.parse(text)), true);
  assert.equal(isOwnerMarker({ type: 'worker.scaled' }), false);
});

test("the view: a parked run queues only the attempt the view waits for; a fenced owner's parked retry changes nothing", () => {
  const spec = {
    id: 'j',
    type: 'echo',
    payload: null,
    priority: 'normal' as const,
    attemptsMax: 3,
    backoff: { type: 'fixed' as const, delayMs: 1, delayMsMax: 1 },
    timeoutMs: 1,
    createdAt: at,
  };
  const base = { v: 1, jobId: 'j', at, producer: 'worker/w', epoch: 4 };
  let v: JobView | undefined;
  let offset = 0;
  const apply = (e: JobEvent): JobView | undefined => {
    v = applyEvent(v, e, { partition: 0, offset: offset++ });
    return v;
  };
  const parked = (attempt: number): JobEvent => ({
    v: 1,
    jobId: 'j',
    at,
    producer: 'scheduler/s',
    type: 'job.queued',
    spec,
    attempt,
    attemptLimit: 3,
    parked: true,
  });
  apply({ ...base, type: 'job.requested', spec, attempt: 1 });
  apply({ ...base, type: 'job.queued', spec, attempt: 1, attemptLimit: 3 });
  apply({ ...base, type: 'job.processing', attempt: 1, worker: 'w', redelivered: true });
  assert.equal(apply(parked(2))?.state, 'processing', 'attempt 2 was never named by a counted fact');
  apply({ ...base, type: 'job.completed', attempt: 1, result: 1, durationMs: 1 });
  assert.equal(apply(parked(2))?.state, 'completed', 'nor does it restart the finished job');
  // A counted retry: the parked run of the attempt it names queues as before.
  apply({ v: 1, jobId: 'j', at, producer: 'jobs-service/a', type: 'job.queued', spec, attempt: 2, attemptLimit: 4 });
  apply({ ...base, type: 'job.processing', attempt: 2, worker: 'w', redelivered: false });
  apply({ ...base, type: 'job.failed', attempt: 2, error: { name: 'E', message: 'x' }, reason: 'error', willRetry: true });
  apply({ ...base, type: 'job.retrying', attempt: 3, runAt: at });
  const q = apply(parked(3));
  assert.equal(q?.state, 'queued');
  assert.equal(q?.attempt, 3);
});

test("a fenced owner's job.dead does not count: the view never goes dead, so the DLQ list and redrive (both from the view) ignore it; its letter is told apart", () => {
  const spec = {
    id: 'j',
    type: 'echo',
    payload: null,
    priority: 'normal' as const,
    attemptsMax: 1,
    backoff: { type: 'fixed' as const, delayMs: 1, delayMsMax: 1 },
    timeoutMs: 1,
    createdAt: at,
  };
  const old = { v: 1, jobId: 'j', at, producer: 'worker/old', epoch: 3 };
  const now = { v: 1, jobId: 'j', at, producer: 'worker/new', epoch: 9 };
  const fence = new OwnerFence();
  const counted: JobEvent[] = [];
  let v: JobView | undefined;
  let offset = 0;
  /** The Job Service's fold: the fence first, then the view (service.ts). */
  const fold = (e: JobEvent | 'marker'): void => {
    const pos = { partition: 0, offset: offset++ };
    if (e === 'marker') {
      fence.marker(pos.partition, pos.offset);
      return;
    }
    if (!fence.admits(pos.partition, e)) return;
    counted.push(e);
    v = applyEvent(v, e, pos);
  };
  const failed: JobEvent = {
    ...old,
    type: 'job.failed',
    attempt: 1,
    error: { name: 'E', message: 'x' },
    reason: 'error',
    willRetry: false,
  };
  const dead = (o: typeof old): Extract<JobEvent, { type: 'job.dead' }> => ({
    ...o,
    type: 'job.dead',
    attempt: 1,
    reason: 'attempts-exhausted',
  });
  fold({ v: 1, jobId: 'j', at, producer: 'jobs-service/a', type: 'job.requested', spec, attempt: 1 });
  offset = 3;
  fold('marker'); // the old owner's claim: epoch 3
  fold({ ...old, type: 'job.created', spec });
  fold({ ...old, type: 'job.queued', spec, attempt: 1, attemptLimit: 1 });
  fold({ ...old, type: 'job.processing', attempt: 1, worker: 'old', redelivered: false });
  offset = 9;
  fold('marker'); // the successor's claim: epoch 9
  fold({ ...now, type: 'job.processing', attempt: 1, worker: 'new', redelivered: true });
  // The old owner, thawed, fails and kills the attempt it no longer owns.
  fold(failed);
  fold(dead(old));
  assert.equal(v?.state, 'processing', 'the fenced job.dead leaves the job to its new owner: not in /api/dlq, not redrivable');
  const oldLetter = { ...dead(old), spec, partition: 0 };
  assert.equal(deadLetterCounts(oldLetter, counted), false, "the fenced owner's letter does not count");
  // The successor's run fails too: a death that counts, and its letter does.
  fold({ ...now, type: 'job.failed', attempt: 1, error: { name: 'E', message: 'y' }, reason: 'error', willRetry: false });
  fold(dead(now));
  assert.equal(v?.state, 'dead');
  const newLetter = { ...dead(now), spec, partition: 0 };
  assert.equal(deadLetterCounts(newLetter, counted), true);
  assert.equal(deadLetterCounts(oldLetter, counted), false, 'same job and attempt, but the fenced epoch');
  const unstamped = { v: 1, jobId: 'j', at, producer: 'worker/x', type: 'job.dead' as const, attempt: 1, reason: 'r' };
  assert.equal(deadLetterCounts(unstamped, []), true, 'a letter from before fencing always counts');
});
