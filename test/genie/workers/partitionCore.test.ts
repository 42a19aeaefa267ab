// The partition rules of docs/JOBS.md, one by one, on the pure core: records in, actions out.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { JOB_DEFAULTS, type JobEvent, type JobSpec } from '../../../src/genie/jobs/events.js';
import type { DeadLetter, MalformedLetter } from '../../../src/genie/workers/records.js';
import { type CoreAction, type OutRecord, PartitionCore, type RunRequest } from '../../../src/genie/workers/partitionCore.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const OTHER = 'jobs-service/a';

function spec(id: string, extra: Partial<JobSpec> = {}): JobSpec {
  return {
    id,
    type: 'echo',
    payload: { id },
    priority: 'normal',
    attemptsMax: 3,
    backoff: { ...JOB_DEFAULTS.backoff },
    timeoutMs: 60_000,
    createdAt: new Date(T0).toISOString(),
    ...extra,
  };
}

const env = (jobId: string, producer = OTHER) => ({ v: 1, jobId, at: new Date(T0).toISOString(), producer });
const requested = (s: JobSpec): JobEvent => ({ ...env(s.id), type: 'job.requested', spec: s, attempt: 1 });
const created = (s: JobSpec, producer = 'worker/old'): JobEvent => ({ ...env(s.id, producer), type: 'job.created', spec: s });
const queued = (s: JobSpec, attempt: number, attemptLimit = s.attemptsMax, producer = 'worker/old'): JobEvent => ({
  ...env(s.id, producer),
  type: 'job.queued',
  spec: s,
  attempt,
  attemptLimit,
});
const processing = (id: string, attempt: number): JobEvent => ({
  ...env(id, 'worker/old'),
  type: 'job.processing',
  attempt,
  worker: 'old',
  redelivered: false,
});
const completed = (id: string, attempt: number): JobEvent => ({
  ...env(id, 'worker/old'),
  type: 'job.completed',
  attempt,
  result: null,
  durationMs: 1,
});
const failed = (id: string, attempt: number, willRetry: boolean): JobEvent => ({
  ...env(id, 'worker/old'),
  type: 'job.failed',
  attempt,
  error: { name: 'Error', message: 'boom' },
  reason: 'error',
  willRetry,
});
const retrying = (id: string, attempt: number): JobEvent => ({
  ...env(id, 'worker/old'),
  type: 'job.retrying',
  attempt,
  runAt: new Date(T0).toISOString(),
});
const cancelRequested = (id: string): JobEvent => ({ ...env(id), type: 'job.cancel-requested', reason: 'user asked' });
const cancelled = (id: string): JobEvent => ({ ...env(id, 'worker/old'), type: 'job.cancelled', reason: 'user asked' });

/** A core plus a cursor that feeds records at consecutive offsets. */
function harness(o: { start?: bigint; end?: bigint; known?: string[]; random?: number; remembered?: number } = {}) {
  const known = new Set(o.known ?? ['echo', 'sleep']);
  const core = new PartitionCore({
    partition: 2,
    workerId: 'w1',
    startOffset: o.start ?? 0n,
    catchUpEndOffset: o.end ?? 0n,
    canRun: (t) => known.has(t),
    random: () => o.random ?? 0.5,
    ...(o.remembered !== undefined ? { rememberedJobIdsMax: o.remembered } : {}),
  });
  let offset = o.start ?? 0n;
  const begun = core.begin(T0);
  return {
    core,
    begun,
    get offset() {
      return offset;
    },
    feed(e: JobEvent, now = T0): CoreAction[] {
      return core.record(offset++, { kind: 'event', event: e, key: null }, now);
    },
  };
}

const published = (actions: CoreAction[]): OutRecord[] => actions.flatMap((a) => (a.type === 'publish' ? a.records : []));
const types = (actions: CoreAction[]): string[] => published(actions).map((r) => `${r.topic}:${r.value.type}`);
const enqueued = (actions: CoreAction[]): RunRequest[] => actions.flatMap((a) => (a.type === 'enqueue' ? [a.run] : []));
function valueAt<T>(actions: CoreAction[], i: number): T {
  const r = published(actions)[i];
  assert.ok(r, `record ${i} published`);
  return r.value as T;
}
const tokens = (actions: CoreAction[]): number[] =>
  actions.flatMap((a) => (a.type === 'publish' && a.ackToken !== undefined ? [a.ackToken] : []));
const ackAll = (core: PartitionCore, actions: CoreAction[]): void => {
  for (const t of tokens(actions)) core.acked(t);
};

describe('live records (rules 2-5)', () => {
  test('requested: created, queued and enqueued at once; the whole run; the anchor holds the commit until acked', () => {
    const h = harness();
    assert.deepEqual(h.begun, []);
    assert.equal(h.core.catchingUp, false);
    const a = spec('a');
    const acts = h.feed(requested(a));
    assert.deepEqual(types(acts), ['events:job.created', 'events:job.queued']);
    const [run] = enqueued(acts);
    assert.deepEqual(run, { jobId: 'a', spec: a, attempt: 1, attemptLimit: 3, redelivered: false, anchorOffset: 0n });
    assert.equal(h.core.commitOffset(), 0n, 'the requested record is held');
    assert.deepEqual(h.feed(queued(a, 1, 3, 'worker/w1')), [], 'the echo of our own queued is stale (rule 3)');
    const started = h.core.attemptStarted('a', 1, T0 + 5);
    const proc = valueAt<Extract<JobEvent, { type: 'job.processing' }>>(started, 0);
    assert.equal(proc.type, 'job.processing');
    assert.equal(proc.worker, 'w1');
    assert.equal(proc.producer, 'worker/w1');
    assert.equal(proc.redelivered, false);
    assert.equal(types(h.core.progress('a', 1, 150, 'half', T0)).join(), 'events:job.progress');
    assert.equal(valueAt<{ percent: number }>(h.core.progress('a', 1, 150, undefined, T0), 0).percent, 100);
    const ended = h.core.attemptEnded('a', 1, { kind: 'completed', result: { ok: 1 }, durationMs: 12.4 }, T0 + 20);
    assert.deepEqual(types(ended), ['events:job.completed']);
    assert.deepEqual(valueAt<{ result: unknown }>(ended, 0).result, { ok: 1 });
    assert.equal(h.core.commitOffset(), 0n, 'still held until Kafka acknowledges the terminal fact');
    ackAll(h.core, ended);
    assert.equal(h.core.commitOffset(), 2n, 'nothing held: the next offset');
    assert.deepEqual(h.core.attemptEnded('a', 1, { kind: 'completed', result: 1, durationMs: 1 }, T0), [], 'a second end is ignored');
  });

  test('a duplicate requested is ignored; so is a queued for an attempt already started', () => {
    const h = harness();
    const a = spec('a');
    h.feed(requested(a));
    assert.deepEqual(h.feed(requested(a)), []);
    h.core.attemptStarted('a', 1, T0);
    const ended = h.core.attemptEnded(
      'a',
      1,
      { kind: 'failed', error: { name: 'E', message: 'x' }, reason: 'error', unrecoverable: false },
      T0,
    );
    ackAll(h.core, ended);
    assert.equal(enqueued(h.feed(queued(a, 2, 3, 'scheduler/s'))).length, 1, 'the retry runs');
    assert.deepEqual(h.feed(queued(a, 2, 3, 'scheduler/s')), [], 'the scheduler produced it twice: dropped');
    assert.deepEqual(h.feed(queued(a, 1, 3, 'scheduler/s')), [], 'an older attempt: dropped');
    assert.equal(h.core.stats.duplicates, 1);
    assert.equal(h.core.stats.staleQueued, 2);
  });

  test('a delayed job: created plus a delay record keyed like the job, held until acknowledged', () => {
    const h = harness();
    const runAt = new Date(T0 + 60_000).toISOString();
    const d = spec('d', { runAt, orderingKey: 'k1' });
    const acts = h.feed(requested(d));
    assert.deepEqual(types(acts), ['events:job.created', 'delay:job.delayed']);
    assert.deepEqual(enqueued(acts), []);
    const delay = published(acts)[1]!;
    assert.equal(delay.key, 'k1');
    assert.equal(delay.topic, 'delay');
    if (delay.topic === 'delay') {
      assert.equal(delay.value.dueAt, runAt);
      assert.equal(delay.value.next.type, 'job.queued');
      assert.equal(delay.value.next.attempt, 1);
      assert.equal(delay.value.next.attemptLimit, 3);
    }
    assert.equal(h.core.commitOffset(), 0n);
    ackAll(h.core, acts);
    assert.equal(h.core.commitOffset(), 1n);
    assert.equal(enqueued(h.feed(queued(d, 1, 3, 'scheduler/s'))).length, 1, 'runs when the scheduler queues it');
  });

  test('retry: failed, retrying and a delay record with the backoff (jitter from the input)', () => {
    const h = harness({ random: 0.5 });
    const a = spec('a', { backoff: { type: 'exponential', delayMs: 1000, delayMsMax: 60_000 } });
    h.feed(requested(a));
    h.core.attemptStarted('a', 1, T0);
    const ended = h.core.attemptEnded(
      'a',
      1,
      { kind: 'failed', error: { name: 'E', message: 'x', stack: 's' }, reason: 'error', unrecoverable: false },
      T0,
    );
    assert.deepEqual(types(ended), ['events:job.failed', 'events:job.retrying', 'delay:job.delayed']);
    const [f, r, d] = published(ended).map((x) => x.value) as [
      Extract<JobEvent, { type: 'job.failed' }>,
      Extract<JobEvent, { type: 'job.retrying' }>,
      { dueAt: string; next: Extract<JobEvent, { type: 'job.queued' }> },
    ];
    assert.equal(f.willRetry, true);
    assert.equal(f.attempt, 1);
    assert.equal(r.attempt, 2);
    // attempt 2: ceiling 1000 ms; equal jitter at 0.5 = 500 + 250.
    assert.equal(r.runAt, new Date(T0 + 750).toISOString());
    assert.equal(d.dueAt, r.runAt);
    assert.equal(d.next.attempt, 2);
    assert.equal(d.next.attemptLimit, 3);
    assert.equal(tokens(ended).length, 1);
  });

  test('attempts exhausted: failed, dead, and a DLQ letter with the spec', () => {
    const h = harness();
    const a = spec('a', { attemptsMax: 1 });
    h.feed(requested(a));
    h.core.attemptStarted('a', 1, T0);
    const ended = h.core.attemptEnded(
      'a',
      1,
      { kind: 'failed', error: { name: 'E', message: 'x' }, reason: 'timeout', unrecoverable: false },
      T0,
    );
    assert.deepEqual(types(ended), ['events:job.failed', 'events:job.dead', 'dlq:job.dead']);
    const letter = valueAt<DeadLetter>(ended, 2);
    assert.equal(letter.reason, 'attempts-exhausted');
    assert.deepEqual(letter.spec, a);
    assert.equal(valueAt<{ reason: string }>(ended, 0).reason, 'timeout');
  });

  test('an UnrecoverableError is dead at once with its message as the reason', () => {
    const h = harness();
    h.feed(requested(spec('a', { attemptsMax: 5 })));
    h.core.attemptStarted('a', 1, T0);
    const ended = h.core.attemptEnded(
      'a',
      1,
      { kind: 'failed', error: { name: 'UnrecoverableError', message: 'bad input' }, reason: 'error', unrecoverable: true },
      T0,
    );
    assert.deepEqual(types(ended), ['events:job.failed', 'events:job.dead', 'dlq:job.dead']);
    assert.equal(valueAt<{ reason: string }>(ended, 1).reason, 'bad input');
  });

  test('an unknown type is dead at once and never enqueued', () => {
    const h = harness({ known: ['echo'] });
    const acts = h.feed(requested(spec('u', { type: 'nobody-runs-this' })));
    assert.deepEqual(enqueued(acts), []);
    assert.deepEqual(types(acts), ['events:job.created', 'events:job.queued', 'events:job.failed', 'events:job.dead', 'dlq:job.dead']);
    assert.equal(valueAt<{ reason: string }>(acts, 2).reason, 'unknown-type');
    ackAll(h.core, acts);
    assert.equal(h.core.commitOffset(), 1n);
  });

  test('a malformed record goes to the DLQ with its reason and raw value; the partition goes on', () => {
    const h = harness();
    const acts = h.core.record(0n, { kind: 'malformed', reason: 'value is not JSON', key: 'k', value: Buffer.from('{nope') }, T0);
    assert.deepEqual(types(acts), ['dlq:record.malformed']);
    const letter = valueAt<MalformedLetter>(acts, 0);
    assert.equal(letter.reason, 'value is not JSON');
    assert.equal(Buffer.from(letter.valueBase64 ?? '', 'base64').toString(), '{nope');
    assert.equal(letter.partition, 2);
    assert.equal(letter.offset, '0');
    assert.equal(h.core.commitOffset(), 0n, 'held until the DLQ has it');
    ackAll(h.core, acts);
    assert.equal(h.core.commitOffset(), 1n);
    assert.equal(h.core.stats.malformed, 1);
    h.feed(requested(spec('after'))); // offset 0 again from the cursor: skipped
    assert.equal(enqueued(h.core.record(1n, { kind: 'event', event: requested(spec('b')), key: null }, T0)).length, 1);
  });

  test('records below the next offset are skipped (re-delivery after a rejoin)', () => {
    const h = harness();
    h.feed(requested(spec('a')));
    h.feed(requested(spec('b')));
    assert.deepEqual(h.core.record(0n, { kind: 'event', event: requested(spec('c')), key: null }, T0), []);
    assert.equal(h.core.nextOffset, 2n);
  });

  test('the commit offset is the lowest held anchor', () => {
    const h = harness();
    h.feed(requested(spec('a')));
    h.feed(requested(spec('b')));
    h.feed(requested(spec('c')));
    h.core.attemptStarted('b', 1, T0);
    ackAll(h.core, h.core.attemptEnded('b', 1, { kind: 'completed', result: 1, durationMs: 1 }, T0));
    assert.equal(h.core.commitOffset(), 0n, 'a (offset 0) still holds');
    h.core.attemptStarted('a', 1, T0);
    ackAll(h.core, h.core.attemptEnded('a', 1, { kind: 'completed', result: 1, durationMs: 1 }, T0));
    assert.equal(h.core.commitOffset(), 2n, 'now c (offset 2)');
  });

  test('a result too big to publish is replaced by a note', () => {
    const h = harness();
    h.feed(requested(spec('a')));
    h.core.attemptStarted('a', 1, T0);
    const ended = h.core.attemptEnded('a', 1, { kind: 'completed', result: 'x'.repeat(300_000), durationMs: 1 }, T0);
    assert.deepEqual(valueAt<{ result: unknown }>(ended, 0).result, { truncated: true, bytes: 300_002, limit: 256 * 1024 });
  });
});

describe('cancel (rule 5)', () => {
  test('running: the signal is aborted and job.cancelled follows the handler', () => {
    const h = harness();
    h.feed(requested(spec('a')));
    h.core.attemptStarted('a', 1, T0);
    const acts = h.feed(cancelRequested('a'));
    assert.deepEqual(acts, [{ type: 'abort', jobId: 'a', reason: 'cancelled' }]);
    const ended = h.core.attemptEnded(
      'a',
      1,
      { kind: 'failed', error: { name: 'AbortError', message: 'aborted' }, reason: 'error', unrecoverable: false },
      T0,
    );
    assert.deepEqual(types(ended), ['events:job.cancelled']);
    const ev = valueAt<Extract<JobEvent, { type: 'job.cancelled' }>>(ended, 0);
    assert.equal(ev.reason, 'user asked');
    assert.equal(ev.attempt, 1);
    ackAll(h.core, ended);
    assert.equal(h.core.commitOffset(), 2n);
  });

  test('waiting locally: dequeued and cancelled', () => {
    const h = harness();
    h.feed(requested(spec('a')));
    const acts = h.feed(cancelRequested('a'));
    assert.deepEqual(acts[0], { type: 'dequeue', jobId: 'a' });
    assert.deepEqual(types(acts), ['events:job.cancelled']);
    assert.deepEqual(h.core.attemptStarted('a', 1, T0), [], 'a run the shell still starts is refused');
    ackAll(h.core, acts);
    assert.equal(h.core.commitOffset(), 2n);
  });

  test('away on the delay topic: cancelled at once, and its later queued is ignored', () => {
    const h = harness();
    const d = spec('d', { runAt: new Date(T0 + 60_000).toISOString() });
    ackAll(h.core, h.feed(requested(d)));
    const acts = h.feed(cancelRequested('d'));
    assert.deepEqual(types(acts), ['events:job.cancelled']);
    assert.equal(h.core.commitOffset(), 1n, 'the cancel record holds until acknowledged');
    ackAll(h.core, acts);
    assert.deepEqual(h.feed(queued(d, 1, 3, 'scheduler/s')), []);
    // A user's retry of the cancelled job queues a higher attempt: a new run.
    const retried = h.feed(queued(d, 2, 4, 'jobs-service/a'));
    assert.deepEqual(
      enqueued(retried).map((r) => r.attempt),
      [2],
    );
  });

  test('a cancelled job whose retry was pending: that retry is dropped, a user retry above it runs', () => {
    const h = harness({ end: 6n });
    const a = spec('a');
    const ended = [requested(a), queued(a, 1), processing('a', 1), failed('a', 1, true), retrying('a', 2), cancelRequested('a')]
      .map((e) => h.feed(e))
      .at(-1);
    assert.deepEqual(types(ended ?? []), ['events:job.cancelled'], 'catch-up ends by cancelling it');
    ackAll(h.core, ended ?? []);
    assert.deepEqual(h.feed(queued(a, 2, 3, 'scheduler/s')), [], 'the pending retry falling due is dropped');
    assert.deepEqual(
      enqueued(h.feed(queued(a, 3, 5, 'jobs-service/a'))).map((r) => r.attempt),
      [3],
    );
  });

  test('finished: ignored; unknown job: cancelled (it may be parked on the delay topic)', () => {
    const h = harness();
    h.feed(requested(spec('a')));
    h.core.attemptStarted('a', 1, T0);
    ackAll(h.core, h.core.attemptEnded('a', 1, { kind: 'completed', result: 1, durationMs: 1 }, T0));
    assert.deepEqual(h.feed(cancelRequested('a')), []);
    const acts = h.feed(cancelRequested('zz'));
    assert.deepEqual(types(acts), ['events:job.cancelled']);
    assert.equal(valueAt<JobEvent>(acts, 0).jobId, 'zz');
  });
});

describe('catch-up (rule 1)', () => {
  test('processing without a terminal fact runs again, same attempt, redelivered, after the range is read', () => {
    const h = harness({ end: 4n });
    const a = spec('a');
    assert.deepEqual(h.feed(requested(a)), []);
    assert.equal(h.core.commitOffset(), undefined, 'no commit while catching up');
    h.feed(created(a));
    h.feed(queued(a, 1));
    const acts = h.feed(processing('a', 1));
    assert.equal(h.core.catchingUp, false);
    assert.deepEqual(enqueued(acts), [{ jobId: 'a', spec: a, attempt: 1, attemptLimit: 3, redelivered: true, anchorOffset: 0n }]);
    assert.deepEqual(types(acts), [], 'no new events: created and queued are already there');
    assert.equal(h.core.commitOffset(), 0n);
    const proc = valueAt<{ redelivered: boolean }>(h.core.attemptStarted('a', 1, T0), 0);
    assert.equal(proc.redelivered, true);
  });

  test('a finished job after a held one is re-read but not run again', () => {
    const h = harness({ end: 9n });
    const [a, b] = [spec('a'), spec('b')];
    for (const e of [
      requested(a),
      created(a),
      queued(a, 1),
      processing('a', 1),
      requested(b),
      created(b),
      queued(b, 1),
      processing('b', 1),
    ])
      h.feed(e);
    const acts = h.feed(completed('b', 1));
    assert.deepEqual(
      enqueued(acts).map((r) => r.jobId),
      ['a'],
    );
    assert.deepEqual(h.feed(requested(b)), [], 'and it is remembered as a duplicate');
  });

  test('requested but not created: created, queued and run', () => {
    const h = harness({ end: 1n });
    const acts = h.feed(requested(spec('a')));
    assert.deepEqual(types(acts), ['events:job.created', 'events:job.queued']);
    assert.equal(enqueued(acts)[0]?.redelivered, false);
  });

  test('queued by the scheduler and not started: runs that attempt', () => {
    const h = harness({ end: 1n });
    const acts = h.feed(queued(spec('a'), 2, 3, 'scheduler/s'));
    assert.deepEqual(
      enqueued(acts).map((r) => [r.jobId, r.attempt, r.anchorOffset]),
      [['a', 2, 0n]],
    );
  });

  test('cancel-requested and not cancelled: cancelled, not run', () => {
    const h = harness({ end: 5n });
    const a = spec('a');
    for (const e of [requested(a), created(a), queued(a, 1), processing('a', 1)]) h.feed(e);
    const acts = h.feed(cancelRequested('a'));
    assert.deepEqual(enqueued(acts), []);
    assert.deepEqual(types(acts), ['events:job.cancelled']);
    assert.equal(h.core.commitOffset(), 0n, 'held from the job anchor until acknowledged');
    ackAll(h.core, acts);
    assert.equal(h.core.commitOffset(), 5n);
  });

  test('cancelled, completed, dead and retrying jobs are left alone', () => {
    const h = harness({ end: 14n });
    const [a, b, c, d] = [spec('a'), spec('b'), spec('c'), spec('d')];
    for (const e of [requested(a), cancelRequested('a'), cancelled('a')]) h.feed(e);
    for (const e of [queued(b, 1), processing('b', 1), completed('b', 1)]) h.feed(e);
    for (const e of [
      queued(c, 3),
      processing('c', 3),
      failed('c', 3, false),
      { ...env('c', 'worker/old'), type: 'job.dead', attempt: 3, reason: 'x' } as JobEvent,
    ]) {
      h.feed(e);
    }
    const last = [queued(d, 1), processing('d', 1), failed('d', 1, true), retrying('d', 2)].map((e) => h.feed(e)).at(-1) ?? [];
    assert.equal(h.offset, 14n);
    assert.deepEqual(last, []);
    assert.equal(h.core.commitOffset(), 14n);
    assert.equal(enqueued(h.feed(queued(d, 2, 3, 'scheduler/s'))).length, 1, 'the retry of d runs when it falls due');
    assert.deepEqual(h.feed(queued(a, 1, 3, 'scheduler/s')), [], 'a stays cancelled: its first attempt falling due is dropped');
    assert.equal(enqueued(h.feed(queued(a, 2, 4, 'jobs-service/a'))).length, 1, "a user's retry of a (a higher attempt) runs");
  });

  test('failed without its follow-up: the retry (or death) is finished', () => {
    const h = harness({ end: 3n, random: 0 });
    const a = spec('a');
    h.feed(queued(a, 1));
    h.feed(processing('a', 1));
    const acts = h.feed(failed('a', 1, true));
    assert.deepEqual(types(acts), ['events:job.retrying', 'delay:job.delayed']);
    assert.equal(h.core.commitOffset(), 0n);
    ackAll(h.core, acts);
    assert.equal(h.core.commitOffset(), 3n);
  });

  test('an empty range ends catch-up at once; a range of facts without specs runs nothing', () => {
    const h = harness({ start: 7n, end: 7n });
    assert.equal(h.core.catchingUp, false);
    assert.equal(h.core.commitOffset(), 7n);
    const g = harness({ start: 0n, end: 2n });
    g.feed(processing('x', 1));
    assert.deepEqual(g.feed(completed('y', 1)), []);
    assert.equal(g.core.commitOffset(), 2n);
    const u = harness({ end: 1n });
    assert.deepEqual(u.feed(processing('x', 1)), [], 'unfinished but its spec is before the range');
    assert.equal(u.core.stats.unrunnable, 1);
  });
});

describe('memory and foreign facts', () => {
  test('finished jobs are forgotten past rememberedJobIdsMax, active ones never', () => {
    const h = harness({ remembered: 2 });
    h.feed(requested(spec('active'))); // stays waiting
    for (const id of ['a', 'b', 'c']) {
      h.feed(requested(spec(id)));
      h.core.attemptStarted(id, 1, T0);
      ackAll(h.core, h.core.attemptEnded(id, 1, { kind: 'completed', result: 1, durationMs: 1 }, T0));
    }
    assert.ok(h.core.trackedJobs <= 2);
    assert.deepEqual(h.feed(requested(spec('active'))), [], 'the waiting job is still known');
    assert.equal(enqueued(h.feed(requested(spec('a')))).length, 1, 'the oldest finished one was forgotten');
  });

  test("another worker's terminal fact for a job waiting here drops the local copy", () => {
    const h = harness();
    const a = spec('a');
    h.feed(requested(a));
    const acts = h.feed(completed('a', 1));
    assert.deepEqual(acts, [{ type: 'dequeue', jobId: 'a' }]);
    assert.equal(h.core.commitOffset(), 2n, 'its anchor is released');
    assert.deepEqual(h.feed(queued(a, 1, 3, 'scheduler/s')), []);
  });
});
