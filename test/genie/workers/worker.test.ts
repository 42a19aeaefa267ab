// The worker on a one-broker cluster: job.requested records produced here (no Job Service), real
// Workers in-process, and cluster-events, .delay and .dlq read back with a platformatic consumer.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { Consumer, type Message } from '@platformatic/kafka';
import { KafkaTestingCluster } from '../../../src/cluster/kafkaTestingCluster.js';
import {
  type DelayedRecord,
  type EncodedEvent,
  encodeJobEvent,
  JOB_TOPICS,
  type JobEvent,
  type JobSpec,
  jobKey,
} from '../../../src/genie/jobs/events.js';
import { ensureTopics, jobTopics, type KafkaEndpoint, Publisher } from '../../../src/genie/kafka.js';
import { builtinHandlers, type JobHandler } from '../../../src/genie/workers/builtins.js';
import type { DeadLetter, MalformedLetter } from '../../../src/genie/workers/records.js';
import { Worker, type WorkerOptions } from '../../../src/genie/workers/worker.js';
import { killOnExit } from '../../helpers/children.js';
import { waitFor } from '../../helpers/wait.js';

interface Seen {
  topic: string;
  partition: number;
  offset: bigint;
  key: string;
  value: Record<string, unknown>;
}

let cluster: KafkaTestingCluster;
let kafka: KafkaEndpoint;
let producer: Publisher;
let reader: Consumer<string, string, string, string>;
const seen: Seen[] = [];
const workers: Worker[] = [];

/** Handler invocations: job id → [worker, attempt, redelivered, abort reason?][]. */
const runs = new Map<string, { worker: string; attempt: number; redelivered: boolean; aborted?: string }[]>();
/** `hold` jobs finish when their id is released here (or abort with their signal). */
const released = new Set<string>();

function tracked(workerId: string, inner: (job: Parameters<JobHandler>[0], signal: AbortSignal) => Promise<unknown>): JobHandler {
  return async (job, ctx) => {
    const entry: { worker: string; attempt: number; redelivered: boolean; aborted?: string } = {
      worker: workerId,
      attempt: job.attempt,
      redelivered: job.redelivered,
    };
    runs.set(job.id, [...(runs.get(job.id) ?? []), entry]);
    ctx.signal.addEventListener('abort', () => {
      entry.aborted = (ctx.signal.reason as { reason?: string }).reason ?? 'unknown';
    });
    return inner(job, ctx.signal);
  };
}

const hold = (job: { id: string }, signal: AbortSignal): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (released.has(job.id)) {
        clearInterval(timer);
        resolve('released');
      }
    }, 10);
    signal.addEventListener('abort', () => {
      clearInterval(timer);
      reject(signal.reason);
    });
  });

async function startWorker(workerId: string, extra: Partial<WorkerOptions> = {}): Promise<Worker> {
  const w = new Worker({
    kafka: { bootstrapBrokers: [cluster.bootstrap], clientId: `test-${workerId}` },
    workerId,
    concurrency: { min: 1, max: 16, initial: 8 },
    handlers: {
      ...builtinHandlers,
      track: tracked(workerId, async () => 'done'),
      hold: tracked(workerId, hold),
    },
    autoscale: false,
    commitIntervalMs: 100,
    group: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 300, rebalanceTimeoutMs: 10_000 },
    closeGraceMs: 2000,
    abortGraceMs: 1000,
    random: () => 0.5,
    ...extra,
  });
  workers.push(w);
  await w.start();
  return w;
}

async function closeAll(): Promise<void> {
  await Promise.all(workers.splice(0).map((w) => w.close()));
}

function spec(id: string, type: string, payload: unknown, extra: Partial<JobSpec> = {}): JobSpec {
  return {
    id,
    type,
    payload,
    priority: 'normal',
    attemptsMax: 3,
    backoff: { type: 'fixed', delayMs: 100, delayMsMax: 100 },
    timeoutMs: 30_000,
    createdAt: new Date().toISOString(),
    ...extra,
  };
}

const env = (jobId: string) => ({ v: 1, jobId, at: new Date().toISOString(), producer: 'test/producer' });

async function request(...specs: JobSpec[]): Promise<void> {
  await producer.publish(
    JOB_TOPICS.events,
    specs.map((s) => encodeJobEvent({ ...env(s.id), type: 'job.requested', spec: s, attempt: 1 }, jobKey(s))),
  );
}

async function produce(events: { event: JobEvent; key: string }[]): Promise<void> {
  await producer.publish(
    JOB_TOPICS.events,
    events.map((e) => encodeJobEvent(e.event, e.key)),
  );
}

const eventsOf = (jobId: string): JobEvent[] =>
  seen.filter((s) => s.topic === JOB_TOPICS.events && s.value.jobId === jobId).map((s) => s.value as unknown as JobEvent);
const typesOf = (jobId: string): string[] => eventsOf(jobId).map((e) => e.type);
const has = (jobId: string, type: string): boolean => eventsOf(jobId).some((e) => e.type === type);
const onTopic = (topic: string, jobId: string): Seen[] => seen.filter((s) => s.topic === topic && s.value.jobId === jobId);

before(async () => {
  cluster = await KafkaTestingCluster.start({ brokers: 1 });
  kafka = { bootstrapBrokers: [cluster.bootstrap], clientId: 'worker-test' };
  await ensureTopics(kafka, jobTopics({ partitions: 3, replicationFactor: 1 }));
  producer = new Publisher(kafka);
  reader = new Consumer({
    clientId: 'worker-test-reader',
    bootstrapBrokers: [cluster.bootstrap],
    groupId: 'worker-test-reader',
    deserializers: {
      key: (b?: Buffer) => b?.toString() ?? '',
      value: (b?: Buffer) => b?.toString() ?? '',
      headerKey: (b?: Buffer) => b?.toString() ?? '',
      headerValue: (b?: Buffer) => b?.toString() ?? '',
    },
    maxWaitTime: 100,
    heartbeatInterval: 300,
    sessionTimeout: 6000,
    rebalanceTimeout: 10_000,
  });
  const stream = await reader.consume({
    topics: [JOB_TOPICS.events, JOB_TOPICS.delay, JOB_TOPICS.dlq],
    mode: 'earliest',
    autocommit: false,
  });
  stream.on('data', (m: Message<string, string, string, string>) => {
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(m.value) as Record<string, unknown>;
    } catch {
      value = { raw: m.value };
    }
    seen.push({ topic: m.topic, partition: m.partition, offset: m.offset, key: m.key, value });
  });
});

after(async () => {
  await closeAll();
  await producer?.close();
  await new Promise<void>((resolve) => (reader ? reader.close(true, () => resolve()) : resolve()));
  await cluster?.close();
});

test('200 mixed jobs: every job has its lifecycle in order, one partition each, and the pool scales up', async () => {
  const w = await startWorker('w-mixed', {
    concurrency: { min: 1, max: 6, initial: 2 },
    autoscale: { backlogPerSlotHigh: 2, cooldownMs: 300, queueWaitHighMs: 60_000, idleShrinkMs: 600_000 },
    autoscaleIntervalMs: 100,
  });
  const specs: JobSpec[] = [];
  for (let i = 0; i < 200; i++) {
    const id = `mixed-${i}`;
    const extra: Partial<JobSpec> = { priority: (['high', 'normal', 'low'] as const)[i % 3]! };
    if (i % 10 === 0) extra.orderingKey = `order-${i % 4}`;
    if (i % 3 === 0) specs.push(spec(id, 'echo', { i }, extra));
    else if (i % 3 === 1) specs.push(spec(id, 'sleep', { ms: 5 + (i % 4) * 5 }, extra));
    else specs.push(spec(id, 'fail', { message: `no ${i}` }, { ...extra, attemptsMax: 1 }));
  }
  await request(...specs);
  // A dead job's DLQ letter is on another topic: the reader may see it after job.dead.
  const finished = (s: JobSpec): boolean =>
    has(s.id, 'job.completed') || (has(s.id, 'job.dead') && onTopic(JOB_TOPICS.dlq, s.id).length > 0);
  await waitFor(() => specs.every(finished), {
    timeoutMs: 40_000,
    what: () => `all 200 jobs finished, ${specs.filter(finished).length} are`,
  });
  for (const s of specs) {
    const expected =
      s.type === 'fail'
        ? ['job.requested', 'job.created', 'job.queued', 'job.processing', 'job.failed', 'job.dead']
        : ['job.requested', 'job.created', 'job.queued', 'job.processing', 'job.completed'];
    assert.deepEqual(typesOf(s.id), expected, s.id);
    const records = seen.filter((x) => x.topic === JOB_TOPICS.events && x.value.jobId === s.id);
    assert.equal(new Set(records.map((r) => r.partition)).size, 1, `${s.id} lives in one partition`);
    assert.ok(
      records.every((r) => r.key === jobKey(s)),
      `${s.id} keyed by ${jobKey(s)}`,
    );
    if (s.type === 'echo') assert.deepEqual((eventsOf(s.id).at(-1) as { result: unknown }).result, s.payload);
    if (s.type === 'fail') assert.equal(onTopic(JOB_TOPICS.dlq, s.id).length, 1, `${s.id} has one DLQ letter`);
  }
  assert.equal(w.counters.completed, 134);
  assert.equal(w.counters.dead, 66);
  const scaled = seen.filter((x) => x.value.type === 'worker.scaled' && x.value.worker === 'w-mixed');
  assert.ok(scaled.length >= 1, 'the pool grew under the backlog and said so');
  assert.equal(scaled[0]?.value.from, 2);
  assert.equal(scaled[0]?.value.to, 3);
  assert.match(String(scaled[0]?.value.reason), /backlog/);
  assert.ok(w.capacity > 2);
  await closeAll();
});

test('idle: the pool shrinks back toward its minimum and says so with worker.scaled', async () => {
  const w = await startWorker('w-idle', {
    concurrency: { min: 1, max: 8, initial: 8 },
    autoscale: { backlogPerSlotHigh: 1000, cooldownMs: 100, queueWaitHighMs: 600_000, idleShrinkMs: 200 },
    autoscaleIntervalMs: 50,
  });
  const shrinks = () => seen.filter((x) => x.value.type === 'worker.scaled' && x.value.worker === 'w-idle');
  await waitFor(() => w.capacity === 1 && shrinks().length >= 3, {
    timeoutMs: 20_000,
    what: () => `capacity 1 after shrinking, at ${w.capacity} with ${shrinks().length} worker.scaled events`,
  });
  const steps = shrinks().map((x) => [x.value.from, x.value.to]);
  assert.deepEqual(steps.slice(0, 3), [
    [8, 4],
    [4, 2],
    [2, 1],
  ]);
  for (const x of shrinks()) assert.match(String(x.value.reason), /^idle \d+ ms$/);
  await closeAll();
});

test('retry: job.retrying plus a delay record; when re-queued past its attempts: dead plus a DLQ letter', async () => {
  await startWorker('w-retry');
  const s = spec('retry-1', 'fail', { message: 'flaky' }, { attemptsMax: 2, orderingKey: 'retry-key' });
  await request(s);
  await waitFor(() => onTopic(JOB_TOPICS.delay, s.id).length === 1, { timeoutMs: 15_000, what: 'a delay record' });
  assert.deepEqual(typesOf(s.id), ['job.requested', 'job.created', 'job.queued', 'job.processing', 'job.failed', 'job.retrying']);
  const failed = eventsOf(s.id)[4] as Extract<JobEvent, { type: 'job.failed' }>;
  assert.equal(failed.willRetry, true);
  assert.equal(failed.error.message, 'flaky');
  const retrying = eventsOf(s.id)[5] as Extract<JobEvent, { type: 'job.retrying' }>;
  assert.equal(retrying.attempt, 2);
  const delay = onTopic(JOB_TOPICS.delay, s.id)[0]!;
  assert.equal(delay.key, 'retry-key');
  const delayed = delay.value as unknown as DelayedRecord;
  assert.equal(delayed.dueAt, retrying.runAt);
  assert.equal(Date.parse(delayed.dueAt) - Date.parse(failed.at), 100, 'fixed backoff of 100 ms');
  // Play the scheduler: the delay record's job.queued, when due.
  await produce([{ event: delayed.next, key: delay.key }]);
  await waitFor(() => has(s.id, 'job.dead'), { timeoutMs: 15_000, what: 'job.dead' });
  assert.deepEqual(typesOf(s.id).slice(6), ['job.queued', 'job.processing', 'job.failed', 'job.dead']);
  const dead = eventsOf(s.id).at(-1) as Extract<JobEvent, { type: 'job.dead' }>;
  assert.equal(dead.attempt, 2);
  assert.equal(dead.reason, 'attempts-exhausted');
  await waitFor(() => onTopic(JOB_TOPICS.dlq, s.id).length === 1, { what: 'the DLQ letter' });
  const letter = onTopic(JOB_TOPICS.dlq, s.id)[0]!.value as unknown as DeadLetter;
  assert.equal(letter.type, 'job.dead');
  assert.deepEqual(letter.spec, s);
  await produce([{ event: delayed.next, key: delay.key }]);
  await request(s);
  const doneJob = spec('retry-after', 'echo', 1, { orderingKey: 'retry-key' });
  await request(doneJob);
  await waitFor(() => has(doneJob.id, 'job.completed'), { what: 'a later job on the same key' });
  assert.equal(eventsOf(s.id).filter((e) => e.type === 'job.processing').length, 2, 'the stale queued and duplicate requested ran nothing');
  await closeAll();
});

test('cancel-requested of a running job aborts its signal and ends in job.cancelled; a timeout fails it with reason timeout', async () => {
  await startWorker('w-cancel');
  const long = spec('cancel-1', 'sleep', { ms: 60_000 });
  const slow = spec('timeout-1', 'hold', null, { timeoutMs: 300, attemptsMax: 1 });
  await request(long, slow);
  await waitFor(() => has(long.id, 'job.processing'), { what: 'the job to run' });
  const cancelAt = Date.now();
  await produce([{ event: { ...env(long.id), type: 'job.cancel-requested', reason: 'changed my mind' }, key: long.id }]);
  await waitFor(() => has(long.id, 'job.cancelled'), { timeoutMs: 10_000, what: 'job.cancelled' });
  assert.ok(Date.now() - cancelAt < 5000, 'the 60 s sleep stopped when its signal aborted');
  const c = eventsOf(long.id).at(-1) as Extract<JobEvent, { type: 'job.cancelled' }>;
  assert.equal(c.reason, 'changed my mind');
  assert.equal(c.attempt, 1);
  assert.ok(!has(long.id, 'job.completed') && !has(long.id, 'job.failed'));

  await waitFor(() => has(slow.id, 'job.dead'), { timeoutMs: 10_000, what: 'the timed-out job to die' });
  const f = eventsOf(slow.id).find((e) => e.type === 'job.failed') as Extract<JobEvent, { type: 'job.failed' }>;
  assert.equal(f.reason, 'timeout');
  assert.equal(f.willRetry, false);
  assert.equal(runs.get(slow.id)?.[0]?.aborted, 'timeout');
  await closeAll();
});

test('a malformed record goes to the DLQ with its reason; the records around it are processed', async () => {
  const gated: string[] = [];
  let releases = 0;
  await startWorker('w-malformed', {
    gate: {
      acquire: async (type) => {
        gated.push(type);
        return () => {
          releases++;
        };
      },
    },
  });
  const a = spec('malformed-a', 'echo', 'a', { orderingKey: 'bad-neighbourhood' });
  const b = spec('malformed-b', 'echo', 'b', { orderingKey: 'bad-neighbourhood' });
  const junk: EncodedEvent = { key: 'bad-neighbourhood', value: '{"v":1,"type":"job.requested"', headers: new Map() };
  const wrongVersion: EncodedEvent = {
    key: 'bad-neighbourhood',
    value: JSON.stringify({ v: 9, type: 'job.requested', jobId: 'x' }),
    headers: new Map(),
  };
  await producer.publish(JOB_TOPICS.events, [
    encodeJobEvent({ ...env(a.id), type: 'job.requested', spec: a, attempt: 1 }, jobKey(a)),
    junk,
    wrongVersion,
    encodeJobEvent({ ...env(b.id), type: 'job.requested', spec: b, attempt: 1 }, jobKey(b)),
  ]);
  await waitFor(() => has(a.id, 'job.completed') && has(b.id, 'job.completed'), { what: 'both good jobs' });
  const letters = () =>
    seen.filter((s) => s.topic === JOB_TOPICS.dlq && s.value.type === 'record.malformed').map((s) => s.value as unknown as MalformedLetter);
  await waitFor(() => letters().length === 2, { what: 'two malformed letters' });
  const [first, second] = letters();
  assert.equal(first?.reason, 'value is not JSON');
  assert.equal(Buffer.from(first?.valueBase64 ?? '', 'base64').toString(), junk.value);
  assert.equal(first?.key, 'bad-neighbourhood');
  assert.match(second?.reason ?? '', /schema version 9/);
  assert.equal(BigInt(second?.offset ?? -1) - BigInt(first?.offset ?? 0), 1n);
  assert.deepEqual(gated, ['echo', 'echo'], 'each attempt passed the type gate');
  await waitFor(() => releases === 2, { what: 'both gate leases released' });
  await closeAll();
});

test('a full local queue pauses fetching: records wait in Kafka (lag) until the pool drains', async () => {
  const w = await startWorker('w-backpressure', { concurrency: { min: 1, max: 1, initial: 1 }, queuedJobsMax: 5, lagIntervalMs: 100 });
  const jobs = Array.from({ length: 30 }, (_, i) => spec(`bp-${i}`, 'hold', null));
  await request(...jobs);
  await waitFor(() => w.running === 1 && w.queued === 5 && w.lag >= 20, {
    timeoutMs: 15_000,
    what: () => `1 running, 5 queued and the rest unread: ${w.running}/${w.queued}/${w.lag}`,
  });
  assert.ok(jobs.filter((s) => has(s.id, 'job.created')).length <= 6, 'only the jobs taken in were created');
  for (const s of jobs) released.add(s.id);
  await waitFor(() => jobs.every((s) => has(s.id, 'job.completed')), { timeoutMs: 20_000, what: 'all 30 jobs completed' });
  assert.ok(w.queued === 0 && w.running === 0);
  await closeAll();
});

test('two workers share the partitions; each job completes exactly once; closing one mid-job re-runs exactly its unfinished jobs', async () => {
  // Room for every long job on one worker, so quick jobs always find a slot.
  const w1 = await startWorker('w-one', { concurrency: { min: 1, max: 16, initial: 16 } });
  const w2 = await startWorker('w-two', { concurrency: { min: 1, max: 16, initial: 16 } });
  await waitFor(
    () =>
      w1.assignedPartitions.length > 0 &&
      w2.assignedPartitions.length > 0 &&
      w1.assignedPartitions.length + w2.assignedPartitions.length === 3,
    {
      timeoutMs: 20_000,
      what: () => `the two workers to share 3 partitions: ${w1.assignedPartitions} / ${w2.assignedPartitions}`,
    },
  );
  await waitFor(() => w1.caughtUp && w2.caughtUp, { what: 'both caught up' });
  const quick = Array.from({ length: 60 }, (_, i) => spec(`share-q${i}`, 'track', null));
  const long = Array.from({ length: 12 }, (_, i) => spec(`share-L${i}`, 'hold', null));
  // Long jobs first: their anchors sit below the quick ones' records in every partition.
  await request(...long);
  await request(...quick);
  await waitFor(() => quick.every((s) => has(s.id, 'job.completed')) && long.every((s) => has(s.id, 'job.processing')), {
    timeoutMs: 20_000,
    what: 'quick jobs completed and long ones running',
  });
  for (const s of quick) {
    assert.equal(eventsOf(s.id).filter((e) => e.type === 'job.completed').length, 1, `${s.id} completed once`);
    assert.equal(runs.get(s.id)?.length, 1, `${s.id} ran once`);
  }
  const ranOn = (s: JobSpec) => runs.get(s.id)?.[0]?.worker;
  assert.ok(quick.some((s) => ranOn(s) === 'w-one') && quick.some((s) => ranOn(s) === 'w-two'), 'both workers ran jobs');
  const onW1 = long.filter((s) => ranOn(s) === 'w-one');
  const onW2 = long.filter((s) => ranOn(s) === 'w-two');
  assert.ok(onW1.length > 0 && onW2.length > 0, `long jobs on both workers: ${onW1.length} / ${onW2.length}`);

  const w1Index = workers.indexOf(w1);
  workers.splice(w1Index, 1);
  await w1.close(); // closeGraceMs 2 s: its long jobs are aborted (shutdown) and left unfinished
  for (const s of onW1) assert.equal(runs.get(s.id)?.[0]?.aborted, 'shutdown');
  await waitFor(() => onW1.every((s) => (runs.get(s.id)?.length ?? 0) === 2), {
    timeoutMs: 30_000,
    what: () => `w-two to re-run w-one's ${onW1.length} unfinished jobs: ${onW1.map((s) => runs.get(s.id)?.length)}`,
  });
  for (const s of long) released.add(s.id);
  await waitFor(() => long.every((s) => has(s.id, 'job.completed')), { timeoutMs: 15_000, what: 'every long job completed' });
  for (const s of onW1) {
    const r = runs.get(s.id) ?? [];
    assert.deepEqual(
      r.map((x) => [x.worker, x.redelivered]),
      [
        ['w-one', false],
        ['w-two', true],
      ],
      s.id,
    );
  }
  for (const s of [...onW2, ...quick]) assert.equal(runs.get(s.id)?.length, 1, `${s.id} was not re-run`);
  for (const s of [...long, ...quick]) {
    assert.equal(eventsOf(s.id).filter((e) => e.type === 'job.completed').length, 1, `${s.id} completed exactly once`);
  }
  assert.deepEqual(w2.assignedPartitions, [0, 1, 2]);
  await closeAll();
});

test('clustergenie worker: prints its ready line, runs jobs, and exits cleanly on SIGTERM', async () => {
  const main = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
  const child = spawn(process.execPath, [main, 'worker', '--bootstrap-server', cluster.bootstrap, '--id', 'w-cli', '--concurrency', '2'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await waitFor(() => stdout.includes('worker w-cli ready\n'), { timeoutMs: 20_000, what: () => `the ready line (stderr: ${stderr})` });
    const s = spec('cli-echo', 'echo', { from: 'cli' });
    await request(s);
    await waitFor(() => has(s.id, 'job.completed'), { timeoutMs: 15_000, what: 'the CLI worker to complete a job' });
    assert.equal((eventsOf(s.id).find((e) => e.type === 'job.processing') as { worker: string }).worker, 'w-cli');
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 15_000).unref())]);
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'worker w-cli ready\n');
  } finally {
    child.kill('SIGKILL');
  }
});
