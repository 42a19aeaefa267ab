// The worker's outbox publishes a send's cluster-events records first and its delay or
// dead-letter records only once those are acknowledged: the scheduler turns a delay record into
// a job.queued on cluster-events, which must never land before the job.retrying that explains it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobEvent, JobSpec } from '../../../src/genie/jobs/events.js';
import type { Publisher } from '../../../src/genie/kafka.js';
import { silentLogger } from '../../../src/util/log.js';
import { Outbox } from '../../../src/genie/workers/outbox.js';
import type { OutRecord } from '../../../src/genie/workers/records.js';

const at = '2026-12-07T00:00:00.000Z';
const spec: JobSpec = {
  id: 'j',
  type: 'fail',
  payload: null,
  priority: 'normal',
  attemptsMax: 3,
  backoff: { type: 'fixed', delayMs: 10, delayMsMax: 10 },
  timeoutMs: 1000,
  createdAt: at,
};
const env = { v: 1, jobId: 'j', at, producer: 'worker/w' };

/** A Publisher stand-in that records each publish and lets the test acknowledge or fail it. */
function fakePublisher() {
  const calls: { topic: string; settle: (e?: Error) => void }[] = [];
  const publisher = {
    pendingEvents: 0,
    publish(topic: string) {
      return new Promise<void>((resolve, reject) => calls.push({ topic, settle: (e) => (e ? reject(e) : resolve()) }));
    },
  };
  return { calls, publisher: publisher as unknown as Publisher };
}

const retrying: OutRecord[] = [
  {
    topic: 'events',
    key: 'j',
    value: { ...env, type: 'job.failed', attempt: 1, error: { name: 'E', message: 'x' }, reason: 'error', willRetry: true } as JobEvent,
  },
  { topic: 'events', key: 'j', value: { ...env, type: 'job.retrying', attempt: 2, runAt: at } as JobEvent },
  {
    topic: 'delay',
    key: 'j',
    value: { v: 1, type: 'job.delayed', jobId: 'j', dueAt: at, next: { ...env, type: 'job.queued', spec, attempt: 2, attemptLimit: 3 } },
  },
];

const tick = () => new Promise((r) => setImmediate(r));

test('the delay record is published only after the cluster-events records are acknowledged', async () => {
  const { calls, publisher } = fakePublisher();
  const outbox = new Outbox(publisher, silentLogger);
  const done = outbox.send(retrying, true, () => true);
  await tick();
  assert.deepEqual(
    calls.map((c) => c.topic),
    ['cluster-events'],
    'only cluster-events is in flight',
  );
  calls[0]!.settle();
  await tick();
  assert.deepEqual(
    calls.map((c) => c.topic),
    ['cluster-events', 'cluster-events.delay'],
  );
  calls[1]!.settle();
  assert.equal(await done, true);
});

test('a failed delay publish is retried without sending the acknowledged cluster-events records again', async () => {
  const { calls, publisher } = fakePublisher();
  const outbox = new Outbox(publisher, silentLogger);
  const done = outbox.send(retrying, true, () => true);
  await tick();
  calls[0]!.settle();
  await tick();
  calls[1]!.settle(new Error('broker gone'));
  // The retry backs off (100 ms), then sends the delay record alone.
  while (calls.length < 3) await new Promise((r) => setTimeout(r, 20));
  assert.equal(calls[2]!.topic, 'cluster-events.delay');
  calls[2]!.settle();
  assert.equal(await done, true);
  assert.equal(calls.filter((c) => c.topic === 'cluster-events').length, 1);
});
