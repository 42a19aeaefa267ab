// The partition core's side of fencing (docs/JOBS.md "Partition ownership and fencing"): its
// catch-up ends at its own owner marker, its facts carry its epoch, a former owner's facts after
// a newer marker are ignored (in the catch-up and live), and a newer marker than its own means
// it lost the partition.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JOB_DEFAULTS, JOB_HEADERS, type JobEvent, type JobSpec } from '../../../src/genie/jobs/events.js';
import { deadLetterCounts } from '../../../src/genie/jobs/fence.js';
import { type CoreAction, type OutRecord, PartitionCore } from '../../../src/genie/workers/partitionCore.js';
import { encodeOutRecord, type RecordInput } from '../../../src/genie/workers/records.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const at = new Date(T0).toISOString();

function spec(id: string, extra: Partial<JobSpec> = {}): JobSpec {
  return {
    id,
    type: 'echo',
    payload: null,
    priority: 'normal',
    attemptsMax: 3,
    backoff: { ...JOB_DEFAULTS.backoff },
    timeoutMs: 60_000,
    createdAt: at,
    ...extra,
  };
}
const env = (id: string, producer: string, epoch?: number) => ({
  v: 1,
  jobId: id,
  at,
  producer,
  ...(epoch === undefined ? {} : { epoch }),
});
const requested = (s: JobSpec): JobEvent => ({ ...env(s.id, 'jobs-service/a'), type: 'job.requested', spec: s, attempt: 1 });
const created = (s: JobSpec, epoch: number): JobEvent => ({ ...env(s.id, 'worker/old', epoch), type: 'job.created', spec: s });
const queued = (s: JobSpec, epoch: number | undefined, producer = 'worker/old'): JobEvent => ({
  ...env(s.id, producer, epoch),
  type: 'job.queued',
  spec: s,
  attempt: 1,
  attemptLimit: 3,
});
const processing = (id: string, epoch: number): JobEvent => ({
  ...env(id, 'worker/old', epoch),
  type: 'job.processing',
  attempt: 1,
  worker: 'old',
  redelivered: false,
});
const completed = (id: string, epoch: number | undefined): JobEvent => ({
  ...env(id, 'worker/old', epoch),
  type: 'job.completed',
  attempt: 1,
  result: null,
  durationMs: 1,
});

const ev = (event: JobEvent): RecordInput => ({ kind: 'event', event, key: null });
const marker = (worker: string): RecordInput => ({ kind: 'marker', worker });
const published = (actions: CoreAction[]): OutRecord[] => actions.flatMap((a) => (a.type === 'publish' ? a.records : []));

/** A core that claimed partition 0 with its marker at `epoch`, fed `range` from offset 0. */
function claimed(epoch: number, range: RecordInput[]) {
  assert.equal(range.length, epoch, 'the range ends just before our marker');
  const core = new PartitionCore({
    partition: 0,
    workerId: 'w1',
    startOffset: 0n,
    catchUpEndOffset: BigInt(epoch) + 1n,
    epoch: BigInt(epoch),
    canRun: () => true,
    random: () => 0.5,
  });
  assert.deepEqual(core.begin(T0), []);
  let offset = 0n;
  for (const r of range) assert.deepEqual(core.record(offset++, r, T0), []);
  assert.equal(core.catchingUp, true, 'the catch-up runs until our own marker');
  const ended = core.record(offset++, marker('w1'), T0);
  assert.equal(core.catchingUp, false);
  return { core, ended, feed: (r: RecordInput) => core.record(offset++, r, T0) };
}

test("live: a former owner's facts after our marker are ignored; the job runs here and our facts carry our epoch", () => {
  const a = spec('a');
  const { core, ended, feed } = claimed(4, [marker('old'), ev(requested(a)), ev(created(a, 0)), ev(queued(a, 0))]);
  const run = ended.find((x) => x.type === 'enqueue');
  assert.ok(run && run.type === 'enqueue' && run.run.redelivered, 'queued without a terminal fact: runs again here');
  // The former owner (paused, or draining its producer) writes on.
  assert.deepEqual(feed(ev(processing('a', 0))), []);
  assert.deepEqual(feed(ev(completed('a', 0))), [], 'its completion does not end the job here');
  assert.equal(core.stats.fenced, 2);
  const started = published(core.attemptStarted('a', 1, T0));
  assert.equal(started[0]?.value.type, 'job.processing');
  assert.equal((started[0]?.value as { epoch?: number } | undefined)?.epoch, 4);
  const done = published(core.attemptEnded('a', 1, { kind: 'completed', result: 1, durationMs: 1 }, T0));
  assert.equal(done[0]?.value.type, 'job.completed');
  assert.equal((done[0]?.value as { epoch?: number } | undefined)?.epoch, 4);
  assert.equal(core.superseded, undefined);
});

test('a dead letter repeats its job.dead: the owner epoch (value and header) and the partition, so a fenced letter is told apart', () => {
  const a = spec('a', { attemptsMax: 1 });
  const { core } = claimed(4, [marker('old'), ev(requested(a)), ev(created(a, 0)), ev({ ...queued(a, 0), attemptLimit: 1 } as JobEvent)]);
  core.attemptStarted('a', 1, T0);
  const out = published(
    core.attemptEnded('a', 1, { kind: 'failed', error: { name: 'E', message: 'x' }, reason: 'error', unrecoverable: false }, T0),
  );
  const dead = out.find((r) => r.topic === 'events' && r.value.type === 'job.dead');
  const letter = out.find((r) => r.topic === 'dlq');
  assert.ok(dead && letter && letter.value.type === 'job.dead');
  assert.equal((dead.value as JobEvent).epoch, 4);
  assert.equal(letter.value.epoch, 4);
  assert.equal(letter.value.partition, 0);
  assert.equal(encodeOutRecord(letter).headers.get(JOB_HEADERS.ownerEpoch), '4');
  assert.equal(deadLetterCounts(letter.value, [dead.value as JobEvent]), true);
  assert.equal(deadLetterCounts({ ...letter.value, epoch: 2 }, [dead.value as JobEvent]), false);
});

test('without an epoch (before fencing) the same late completion is a foreign fact that ends the local copy', () => {
  const a = spec('a');
  const { feed } = claimed(4, [marker('old'), ev(requested(a)), ev(created(a, 0)), ev(queued(a, 0))]);
  const acts = feed(ev(completed('a', undefined)));
  assert.deepEqual(
    acts.map((x) => x.type),
    ['dequeue'],
  );
});

test("catch-up: a former owner's facts after a newer marker are not folded; the job is accepted afresh", () => {
  const a = spec('a');
  const { core, ended } = claimed(5, [marker('old'), ev(requested(a)), marker('mid'), ev(created(a, 0)), ev(completed('a', 0))]);
  assert.equal(core.stats.fenced, 2);
  const out = published(ended).map((r) => r.value as JobEvent);
  assert.deepEqual(
    out.map((e) => e.type),
    ['job.created', 'job.queued'],
    'requested, and nothing that counts after it: created and queued here',
  );
  assert.ok(out.every((e) => e.epoch === 5));
});

test('an in-order history with epochs folds as before; commands (no epoch) always count; delay records carry none', () => {
  const a = spec('a');
  const b = spec('b', { runAt: new Date(T0 + 60_000).toISOString() });
  const { core, ended, feed } = claimed(5, [marker('old'), ev(requested(a)), ev(created(a, 0)), ev(queued(a, 0)), ev(completed('a', 0))]);
  assert.deepEqual(ended, [], 'a completed job is left alone');
  assert.equal(core.stats.fenced, 0);
  const acts = feed(ev(requested(b)));
  const delay = published(acts).find((r) => r.topic === 'delay');
  assert.ok(delay && delay.topic === 'delay');
  assert.equal(delay.value.next.epoch, undefined, "the scheduler's job.queued is a command, whoever owns the partition when it falls due");
  const run = feed(ev(queued(b, undefined, 'scheduler/s')));
  assert.equal(run.filter((x) => x.type === 'enqueue').length, 1, "the scheduler's queued runs");
});

test('a newer marker than ours: the partition is lost (superseded)', () => {
  const { core, feed } = claimed(1, [marker('old')]);
  assert.equal(core.superseded, undefined);
  feed(marker('w2'));
  assert.equal(core.superseded, 'w2');
});

test('a parked retry whose job.retrying was fenced is not run; one whose job.retrying counted is', () => {
  const a = spec('a');
  const b = spec('b');
  const failed = (id: string, epoch: number): JobEvent => ({
    ...env(id, 'worker/old', epoch),
    type: 'job.failed',
    attempt: 1,
    error: { name: 'E', message: 'x' },
    reason: 'error',
    willRetry: true,
  });
  const retrying = (id: string, epoch: number): JobEvent => ({
    ...env(id, 'worker/old', epoch),
    type: 'job.retrying',
    attempt: 2,
    runAt: at,
  });
  const parkedQueued = (s: JobSpec): JobEvent => ({
    ...env(s.id, 'scheduler/s'),
    type: 'job.queued',
    spec: s,
    attempt: 2,
    attemptLimit: 3,
    parked: true,
  });
  // b failed and was parked before our claim (counted); a's failure landed after it (fenced).
  const { core, ended, feed } = claimed(7, [
    marker('old'),
    ev(requested(a)),
    ev(queued(a, 0)),
    ev(requested(b)),
    ev(queued(b, 0)),
    ev(failed('b', 0)),
    ev(retrying('b', 0)),
  ]);
  assert.deepEqual(
    ended.flatMap((x) => (x.type === 'enqueue' ? [x.run.jobId] : [])),
    ['a'],
    'a runs again here; b waits for its retry',
  );
  assert.deepEqual(feed(ev(failed('a', 0))), []);
  assert.deepEqual(feed(ev(retrying('a', 0))), []);
  assert.equal(core.stats.fenced, 2);
  assert.deepEqual(feed(ev(parkedQueued(a))), [], "the fenced owner's parked retry of a does not run");
  assert.equal(core.stats.fenced, 3);
  const runB = feed(ev(parkedQueued(b)));
  assert.deepEqual(
    runB.flatMap((x) => (x.type === 'enqueue' ? [`${x.run.jobId}@${x.run.attempt}`] : [])),
    ['b@2'],
  );
});
