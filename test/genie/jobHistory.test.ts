// The jobs checker (test/helpers/jobHistory.ts) must find what it exists to find: a lost job, a
// duplicated completion, a finished job run again, events out of order, a job split over
// partitions; and pass a clean history with retries and a re-delivered attempt.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobEvent, JobSpec } from '../../src/genie/jobs/events.js';
import { checkJobHistory, describeProblems, type ReadEvent } from '../helpers/jobHistory.js';

const at = '2026-12-07T00:00:00.000Z';
const base = { v: 1, at, producer: 'test' };
function spec(id: string): JobSpec {
  return {
    id,
    type: 'echo',
    payload: null,
    priority: 'normal',
    attemptsMax: 3,
    backoff: { type: 'fixed', delayMs: 1, delayMsMax: 1 },
    timeoutMs: 1000,
    createdAt: at,
  };
}

/** Events of one job at consecutive offsets of one partition. */
function history(id: string, kinds: string[], partition = 0, startOffset = 0): ReadEvent[] {
  return kinds.map((k, i) => {
    const [type, attemptText] = k.split('@') as [string, string | undefined];
    const attempt = Number(attemptText ?? 1);
    let event: JobEvent;
    switch (type) {
      case 'requested':
        event = { ...base, type: 'job.requested', jobId: id, spec: spec(id), attempt: 1 };
        break;
      case 'created':
        event = { ...base, type: 'job.created', jobId: id, spec: spec(id) };
        break;
      case 'queued':
        event = { ...base, type: 'job.queued', jobId: id, spec: spec(id), attempt, attemptLimit: 3 };
        break;
      case 'processing':
        event = { ...base, type: 'job.processing', jobId: id, attempt, worker: 'w', redelivered: false };
        break;
      case 'completed':
        event = { ...base, type: 'job.completed', jobId: id, attempt, result: null, durationMs: 1 };
        break;
      case 'failed':
        event = { ...base, type: 'job.failed', jobId: id, attempt, error: { name: 'E', message: 'x' }, reason: 'error', willRetry: true };
        break;
      case 'retrying':
        event = { ...base, type: 'job.retrying', jobId: id, attempt, runAt: at };
        break;
      case 'dead':
        event = { ...base, type: 'job.dead', jobId: id, attempt, reason: 'x' };
        break;
      default:
        throw new Error(type);
    }
    return { partition, offset: startOffset + i, event };
  });
}

const clean = [
  ...history('a', ['requested', 'created', 'queued', 'processing', 'completed']),
  // Two failed attempts, then success on the third.
  ...history(
    'b',
    [
      'requested',
      'created',
      'queued',
      'processing',
      'failed',
      'retrying@2',
      'queued@2',
      'processing@2',
      'failed@2',
      'retrying@3',
      'queued@3',
      'processing@3',
      'completed@3',
    ],
    1,
  ),
  // A worker died mid-attempt: the same attempt is processed again, then completes.
  ...history('c', ['requested', 'created', 'queued', 'processing', 'processing', 'completed'], 2),
  ...history('d', ['requested', 'created', 'queued', 'processing', 'failed', 'dead'], 0, 100),
];

test('a clean history with retries and a re-delivered attempt passes, with each job terminal state and attempts', () => {
  const r = checkJobHistory(['a', 'b', 'c', 'd'], clean);
  assert.equal(describeProblems(r), '');
  assert.deepEqual(Object.fromEntries(r.terminal), { a: 'completed', b: 'completed', c: 'completed', d: 'dead' });
  assert.equal(r.attempts.get('b'), 3);
});

test('an accepted job with no terminal event is lost', () => {
  const r = checkJobHistory(
    ['a', 'lost-one'],
    [...clean, ...history('lost-one', ['requested', 'created', 'queued', 'processing'], 0, 200)],
  );
  assert.deepEqual(r.lost, ['lost-one']);
  assert.match(describeProblems(r), /1 lost/);
});

test('a job completed twice is a duplicate, and a processing after its completion is a re-run', () => {
  const events = history('x', ['requested', 'created', 'queued', 'processing', 'completed', 'processing', 'completed']);
  // The second run's completion is its own event (another time), not the first one written again.
  const last = events.at(-1)!;
  last.event = { ...last.event, at: '2026-12-07T00:00:09.000Z' };
  const r = checkJobHistory(['x'], events);
  assert.deepEqual(r.duplicated, ['x']);
  assert.deepEqual(r.rerunAfterFinish, ['x']);
});

test('events out of lifecycle order and a job split over partitions are found', () => {
  const disordered = history('y', ['requested', 'created', 'processing', 'queued', 'completed']);
  const split = [...history('z', ['requested', 'created', 'queued'], 0, 50), ...history('z', ['processing', 'completed'], 1, 60)];
  const r = checkJobHistory(['y', 'z'], [...disordered, ...split]);
  assert.equal(r.disorder.length, 1);
  assert.match(r.disorder[0]!, /^y: job.queued/);
  assert.deepEqual(r.split, ['z']);
});

test('the same ending written twice (a publish repeated after a lost acknowledgement) is counted as republished, not as a second run', () => {
  const once = history('r', ['requested', 'created', 'queued', 'processing', 'completed']);
  const again = { ...once.at(-1)!, offset: 5 };
  const r = checkJobHistory(['r'], [...once, again]);
  assert.equal(describeProblems(r), '');
  assert.equal(r.republished, 1);
  // A second, different completion (another run's) is still a duplicate.
  const other = { ...again, offset: 6, event: { ...again.event, at: '2026-12-07T00:00:01.000Z' } };
  assert.deepEqual(checkJobHistory(['r'], [...once, other]).duplicated, ['r']);
});

test('a submission repeated with the same id (after the job ran) is counted, not called disorder; a second run still is a duplicate', () => {
  const once = history('s', ['requested', 'created', 'queued', 'processing', 'completed']);
  const repeat = { ...once[0]!, offset: 5 };
  const r = checkJobHistory(['s'], [...once, repeat]);
  assert.equal(describeProblems(r), '');
  assert.equal(r.repeatedRequests, 1);
});

/** `events` stamped with owner epoch `epoch` (a worker's facts; fence.ts). */
const stamped = (events: ReadEvent[], epoch: number): ReadEvent[] => events.map((e) => ({ ...e, event: { ...e.event, epoch } }));

test("a former owner's facts after its successor's marker are fenced: counted apart, not checked", () => {
  // p0: the old owner's marker at 0, requested at 1; the new owner's marker at 2 and its run;
  // then the old owner's late created/queued/processing/completed (a zombie), epoch 0.
  const requested = history('f', ['requested'], 0, 1);
  const newRun = stamped(history('f', ['created', 'queued', 'processing', 'completed'], 0, 3), 2);
  const zombie = stamped(history('f', ['created', 'queued', 'processing', 'completed'], 0, 7), 0);
  zombie.at(-1)!.event = { ...zombie.at(-1)!.event, at: '2026-12-07T00:00:05.000Z' };
  const markers = [
    { partition: 0, offset: 0, worker: 'old' },
    { partition: 0, offset: 2, worker: 'new' },
  ];
  const events = [...requested, ...newRun, ...zombie];
  const r = checkJobHistory(['f'], events, markers);
  assert.equal(describeProblems(r), '');
  assert.equal(r.fenced.size, 4);
  assert.equal(r.terminal.get('f'), 'completed');
  // Without the fence the same log reads completed -> created: the bug fencing answers.
  const unfenced = checkJobHistory(
    ['f'],
    events.map((e) => ({ ...e, event: { ...e.event, epoch: undefined } })),
  );
  assert.match(describeProblems(unfenced), /out of order/);
  assert.deepEqual(unfenced.duplicated, ['f']);
});

test('the fence hides nothing else: the same owner writing out of order, or a second run under the newest epoch, is still found', () => {
  const markers = [{ partition: 0, offset: 0, worker: 'w' }];
  const disordered = stamped(history('g', ['created', 'processing', 'queued', 'completed'], 0, 2), 0);
  const r = checkJobHistory(['g'], [...history('g', ['requested'], 0, 1), ...disordered], markers);
  assert.equal(r.fenced.size, 0);
  assert.equal(r.disorder.length, 1);
  const twice = stamped(history('h', ['created', 'queued', 'processing', 'completed', 'processing', 'completed'], 0, 2), 0);
  twice.at(-1)!.event = { ...twice.at(-1)!.event, at: '2026-12-07T00:00:09.000Z' };
  const r2 = checkJobHistory(['h'], [...history('h', ['requested'], 0, 1), ...twice], markers);
  assert.deepEqual(r2.duplicated, ['h']);
  assert.deepEqual(r2.rerunAfterFinish, ['h']);
});
