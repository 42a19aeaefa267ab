// The Job Service and its HTTP API on a one-broker cluster: submissions land on cluster-events
// with the right key and headers, a fake worker's events move the view, list/search/stats, the
// live stream, cancel/retry/redrive and their 404/409 cases, and bad input that must stay a 4xx.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { KafkaTestingCluster } from '../../../src/cluster/kafkaTestingCluster.js';
import { type JobsApiError, JobsClient } from '../../../src/genie/jobs/client.js';
import { JOB_HEADERS, JOB_LIMITS, type JobSpec, jobKey } from '../../../src/genie/jobs/events.js';
import { startJobsHttp } from '../../../src/genie/jobs/http.js';
import { jobsOpenApi } from '../../../src/genie/jobs/openapi.js';
import { JobService } from '../../../src/genie/jobs/service.js';
import type { HistoryEvent } from '../../../src/genie/jobs/store.js';
import { specOfView } from '../../../src/genie/jobs/view.js';
import { ensureTopics, jobTopics, type KafkaEndpoint } from '../../../src/genie/kafka.js';
import { waitFor } from '../../helpers/wait.js';
import { endpoint, eventOf, FakeWorker, header, readTopic } from './serviceHelpers.js';

let cluster: KafkaTestingCluster;
let kafka: KafkaEndpoint;
let service: JobService;
let app: FastifyInstance;
let url: string;
let client: JobsClient;
let worker: FakeWorker;

async function specOf(id: string): Promise<JobSpec> {
  return specOfView(await client.get(id));
}

async function waitState(id: string, state: string): Promise<void> {
  await waitFor(async () => (await client.get(id).catch(() => undefined))?.state === state, { timeoutMs: 15_000, what: `${id} ${state}` });
}

async function post(path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await fetch(url + path, { method: 'POST', headers, body });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string; field?: string } } };
}

before(async () => {
  cluster = await KafkaTestingCluster.start({ brokers: 1 });
  kafka = endpoint(cluster.bootstrap, 'jobs-test');
  await ensureTopics(kafka, jobTopics({ partitions: 3, replicationFactor: 1 }));
  service = new JobService({ kafka, zkConnect: cluster.zkConnect, instance: 'svc-a', snapshotIntervalMs: 200 });
  await service.start();
  ({ app, url } = await startJobsHttp(service, { port: 0, streamHeartbeatMs: 200 }));
  client = new JobsClient(url);
  worker = new FakeWorker(kafka);
});

after(async () => {
  await app?.close();
  await service?.close();
  await worker?.close();
  await cluster?.close();
});

describe('job service over HTTP', () => {
  test('submit answers 202 after the ack; the record is on cluster-events with key and headers; GET finds it at once', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const r = await client.submit({ type: 'email.send', payload: { to: 'a@example.com' }, orderingKey: 'tenant-7' }, { traceparent });
    assert.equal(r.state, 'created');
    assert.equal(r.duplicate, false);
    const view = await client.get(r.id);
    assert.equal(view.type, 'email.send');
    assert.deepEqual(view.payload, { to: 'a@example.com' });

    const records = (await readTopic(kafka, 'cluster-events')).filter((x) => header(x, JOB_HEADERS.jobId) === r.id);
    assert.equal(records.length, 1);
    const rec = records[0]!;
    assert.equal(rec.key?.toString(), 'tenant-7', 'keyed by the ordering key');
    assert.equal(header(rec, JOB_HEADERS.eventType), 'job.requested');
    assert.equal(header(rec, JOB_HEADERS.attempt), '1');
    assert.equal(header(rec, JOB_HEADERS.producer), 'jobs-service/svc-a');
    assert.equal(header(rec, JOB_HEADERS.traceparent), traceparent);
    const event = eventOf(rec);
    assert.equal(event.type, 'job.requested');
    assert.equal(event.type === 'job.requested' && event.spec.orderingKey, 'tenant-7');
    // The consumer reads it back and places the view at its partition and offset.
    await waitFor(async () => (await client.get(r.id)).partition === rec.partition, { what: 'the view placed at its partition' });
    assert.equal((await client.get(r.id)).lastOffset, Number(rec.offset));
  });

  test("a worker's events move the view to completed; history and the live stream show them", async () => {
    const { id } = await client.submit({ type: 'email.send', payload: { to: 'stream@example.com' } });
    await waitFor(async () => (await client.events(id)).length === 1, { what: 'the requested event in the history' });
    const streamed: HistoryEvent[] = [];
    const streaming = (async () => {
      for await (const e of client.stream(id)) streamed.push(e);
    })();
    await waitFor(() => streamed.length === 1, { what: 'the history on the stream' });
    await worker.complete(await specOf(id));
    await waitState(id, 'completed');
    await streaming; // ends by itself after the terminal event
    assert.deepEqual(
      streamed.map((e) => e.type),
      ['job.requested', 'job.created', 'job.queued', 'job.processing', 'job.progress', 'job.completed'],
    );
    const job = await client.get(id);
    assert.deepEqual(job.result, { sent: true });
    assert.equal(job.worker, 'w1');
    assert.equal(job.progress?.percent, 50);
    const history = await client.events(id);
    assert.deepEqual(
      history.map((e) => e.offset),
      streamed.map((e) => e.offset),
    );
    // A stream of a finished job sends its history and ends.
    const replay: string[] = [];
    for await (const e of client.stream(id)) replay.push(e.type);
    assert.equal(replay.length, 6);
    // Resuming after the fourth event sends only the rest.
    const resumed: string[] = [];
    for await (const e of client.stream(id, { lastEventId: `${streamed[3]!.partition}-${streamed[3]!.offset}` })) resumed.push(e.type);
    assert.deepEqual(resumed, ['job.progress', 'job.completed']);
  });

  test('list with filters, full-text search, pagination, stats', async () => {
    const tag = `t${Date.now().toString(36)}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await client.submit({ type: `report.${tag}`, payload: { customer: i === 3 ? 'Quixotic Widgets' : 'Plain Co' } })).id);
    }
    const all = await client.list({ type: `report.${tag}` });
    assert.deepEqual(all.jobs.map((j) => j.id).sort(), [...ids].sort());
    const found = await client.list({ q: 'quixotic' });
    assert.deepEqual(
      found.jobs.map((j) => j.id),
      [ids[3]],
    );
    const page1 = await client.list({ type: `report.${tag}`, limit: 2 });
    assert.equal(page1.jobs.length, 2);
    assert.ok(page1.nextCursor);
    const page2 = await client.list({ type: `report.${tag}`, limit: 10, cursor: page1.nextCursor });
    assert.equal(page2.jobs.length, 3);
    assert.equal(page2.nextCursor, null);
    const stats = await client.stats();
    assert.equal(stats.byType[`report.${tag}`], 5);
    assert.ok(stats.byState.created >= 5);
    await assert.rejects(client.list({ limit: 5000 }), (e: JobsApiError) => e.status === 400 && e.field === 'limit');
    await assert.rejects(client.list({ state: 'running' as never }), (e: JobsApiError) => e.status === 400 && e.field === 'state');
    await assert.rejects(client.list({ since: 'last tuesday' }), (e: JobsApiError) => e.status === 400 && e.field === 'since');
  });

  test('cancel publishes job.cancel-requested; 404 for unknown jobs, 409 for finished ones', async () => {
    const { id } = await client.submit({ type: 'slow.thing' });
    // An empty JSON body is no body.
    const unknown = await post('/api/jobs/no-such-job/cancel', '');
    assert.equal(unknown.status, 404);
    const c = await client.cancel(id, 'changed my mind');
    assert.equal(c.cancelRequested, true);
    await waitFor(async () => (await client.get(id)).cancelRequested, { what: 'cancelRequested in the view' });
    const onTopic = (await readTopic(kafka, 'cluster-events')).filter((x) => header(x, JOB_HEADERS.jobId) === id).map(eventOf);
    assert.deepEqual(
      onTopic.map((e) => e.type),
      ['job.requested', 'job.cancel-requested'],
    );
    assert.equal(onTopic[1]?.type === 'job.cancel-requested' && onTopic[1].reason, 'changed my mind');

    await assert.rejects(client.cancel('no-such-job'), (e: JobsApiError) => e.status === 404 && e.code === 'not_found');
    await assert.rejects(client.get('no-such-job'), (e: JobsApiError) => e.status === 404);
    await assert.rejects(client.events('no-such-job'), (e: JobsApiError) => e.status === 404);
    await assert.rejects(
      (async () => {
        for await (const _ of client.stream('no-such-job')) break;
      })(),
      (e: JobsApiError) => e.status === 404,
    );
    const { id: done } = await client.submit({ type: 'quick.thing' });
    await worker.complete(await specOf(done));
    await waitState(done, 'completed');
    await assert.rejects(client.cancel(done), (e: JobsApiError) => e.status === 409 && e.code === 'conflict');
    await assert.rejects(client.retry(done), (e: JobsApiError) => e.status === 409, 'completed jobs are not retried');
  });

  test('retry and redrive re-queue dead jobs as a new run with the full attempt budget', async () => {
    const { id } = await client.submit({ type: 'flaky.thing', attempts: 1 });
    const spec = await specOf(id);
    await worker.kill(spec);
    await waitState(id, 'dead');
    const dlq = await client.dlq({ type: 'flaky.thing' });
    assert.ok(dlq.jobs.some((j) => j.id === id));
    assert.equal((await client.get(id)).lastError?.message, 'mailbox unavailable');

    const r = await client.retry(id);
    assert.equal(r.attempt, 2);
    await waitState(id, 'queued');
    const queued = (await readTopic(kafka, 'cluster-events'))
      .filter((x) => header(x, JOB_HEADERS.jobId) === id)
      .map(eventOf)
      .at(-1)!;
    assert.equal(queued.type, 'job.queued');
    assert.equal(queued.type === 'job.queued' && queued.attempt, 2);
    assert.equal(queued.type === 'job.queued' && queued.attemptLimit, 2, 'attemptLimit = attempt - 1 + attemptsMax');
    assert.equal(queued.type === 'job.queued' && queued.spec.type, 'flaky.thing');

    const { id: other } = await client.submit({ type: 'flaky.other', attempts: 1 });
    await worker.kill(await specOf(other));
    await waitState(other, 'dead');
    const redriven = await client.redrive({ type: 'flaky.other' });
    assert.deepEqual(redriven.redriven, [{ id: other, attempt: 2 }]);
    const byIds = await client.redrive({ ids: [id, 'ghost'] });
    assert.deepEqual(byIds.redriven, []);
    assert.deepEqual(
      byIds.skipped.map((s) => s.id),
      [id, 'ghost'],
      'a queued job and an unknown one are skipped',
    );
    await waitState(other, 'queued');
  });

  test('bad input is a 4xx with a clear error, and the server keeps serving', async () => {
    const badJson = await post('/api/jobs', '{"type": "x",');
    assert.equal(badJson.status, 400);
    assert.equal(badJson.body.error?.code, 'bad_json');
    const unknownField = await post('/api/jobs', JSON.stringify({ type: 'x', colour: 'red' }));
    assert.equal(unknownField.status, 400);
    assert.equal(unknownField.body.error?.field, 'colour');
    const badType = await post('/api/jobs', JSON.stringify({ type: '../etc' }));
    assert.equal(badType.body.error?.field, 'type');
    const notObject = await post('/api/jobs', '[1,2]');
    assert.equal(notObject.status, 400);
    const empty = await post('/api/jobs', '');
    assert.equal(empty.status, 400);
    assert.equal(empty.body.error?.field, 'body');
    const big = await post('/api/jobs', JSON.stringify({ type: 'x', payload: 'y'.repeat(JOB_LIMITS.payloadBytesMax + 100 * 1024) }));
    assert.equal(big.status, 413);
    assert.match(big.body.error?.message ?? '', /payload may be at most/);
    const justOver = await post('/api/jobs', JSON.stringify({ type: 'x', payload: 'y'.repeat(JOB_LIMITS.payloadBytesMax) }));
    assert.equal(justOver.status, 400, 'a body under the route limit with a payload over the job limit');
    assert.equal(justOver.body.error?.field, 'payload');
    const wrongType = await post('/api/jobs', 'type=x', { 'content-type': 'text/plain' });
    assert.equal(wrongType.status, 415);
    const clash = await post('/api/jobs', JSON.stringify({ type: 'x', id: 'a1' }), {
      'content-type': 'application/json',
      'idempotency-key': 'b2',
    });
    assert.equal(clash.status, 400);
    assert.equal(clash.body.error?.field, 'id');
    const proto = await post('/api/jobs', '{"type":"x","__proto__":{"polluted":true}}');
    assert.equal(proto.status, 400);
    const missing = await fetch(`${url}/api/nothing-here`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found');
    // A batch is all or nothing: one invalid item is a 400 naming it, and nothing is published.
    const batch = await post(
      '/api/jobs/batch',
      JSON.stringify({ jobs: [{ type: 'ok.one', id: 'batch-ok-1' }, { type: 'bad', priority: 'urgent' }, { type: 'ok.two' }] }),
    );
    assert.equal(batch.status, 400);
    assert.equal(batch.body.error?.field, 'jobs.1.priority');
    await assert.rejects(client.get('batch-ok-1'), (e: JobsApiError) => e.status === 404, 'no item of a refused batch was published');
    const farAway = await post('/api/jobs/batch', JSON.stringify({ jobs: [{ type: 'x' }, { type: 'x', runAt: '2999-01-01T00:00:00Z' }] }));
    assert.equal(farAway.body.error?.field, 'jobs.1.runAt');
    const notBatch = await post('/api/jobs/batch', JSON.stringify({ jobs: 'nope' }));
    assert.equal(notBatch.status, 400);
    const tooMany = await post(
      '/api/jobs/batch',
      JSON.stringify({ jobs: Array.from({ length: JOB_LIMITS.batchJobsMax + 1 }, () => ({ type: 'x' })) }),
    );
    assert.equal(tooMany.status, 400);
    // A method the path does not serve is 405 naming the ones it does.
    const del = await fetch(`${url}/api/jobs/some-id/events`, { method: 'DELETE' });
    assert.equal(del.status, 405);
    assert.equal(del.headers.get('allow'), 'GET, HEAD');
    const put = await fetch(`${url}/api/jobs`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get('allow'), 'POST, GET, HEAD');
    // Ids up to the limit reach the service (404), longer ones are a 400 naming the id.
    assert.equal((await fetch(`${url}/api/jobs/${'a'.repeat(JOB_LIMITS.idLengthMax)}`)).status, 404);
    const longId = await fetch(`${url}/api/jobs/${'a'.repeat(JOB_LIMITS.idLengthMax + 1)}/cancel`, { method: 'POST' });
    assert.equal(longId.status, 400);
    assert.equal(((await longId.json()) as { error: { field: string } }).error.field, 'id');
    // Cancel takes no body or {"reason": string}; anything else is refused.
    const { id: victim } = await client.submit({ type: 'cancel.me' });
    assert.equal((await post(`/api/jobs/${victim}/cancel`, '529')).body.error?.field, 'body');
    assert.equal((await post(`/api/jobs/${victim}/cancel`, JSON.stringify({ reason: 7 }))).body.error?.field, 'reason');
    assert.equal((await post(`/api/jobs/${victim}/cancel`, JSON.stringify({ reason: 'r'.repeat(1001) }))).status, 400);
    assert.equal((await post(`/api/jobs/${victim}/cancel`, JSON.stringify({ why: 'x' }))).body.error?.field, 'why');
    // Redrive without a body is redrive of {}; list filters are never empty strings.
    assert.equal((await fetch(`${url}/api/dlq/redrive`, { method: 'POST' })).status, 202);
    assert.equal((await fetch(`${url}/api/jobs?since=`)).status, 400);
    assert.equal((await fetch(`${url}/api/dlq?cursor=`)).status, 400);
    assert.equal((await fetch(`${url}/api/jobs?cursor=99999999999999.zzz`)).status, 200, 'any <ms>.<id> is a position');
    // runAt is RFC 3339 (lower-case t and z included), not whatever Date.parse reads.
    assert.equal((await post('/api/jobs', JSON.stringify({ type: 'x', runAt: 'Dec 25 2026' }))).body.error?.field, 'runAt');
    assert.equal((await post('/api/jobs', JSON.stringify({ type: 'x', runAt: '2026-01-01t00:00:00z' }))).status, 202);
    // Still serving.
    const ok = await client.submit({ type: 'after.errors' });
    assert.equal(ok.state, 'created');
    const health = (await (await fetch(`${url}/healthz`)).json()) as { ok: boolean; zookeeper: string };
    assert.equal(health.ok, true);
    assert.equal(health.zookeeper, 'connected');
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as typeof jobsOpenApi;
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/api/jobs'].post);
  });

  test('idempotent ids: the body id and the Idempotency-Key header, repeated, answer 200 with the same job', async () => {
    const first = await client.submit({ type: 'pay', id: 'payment-42' });
    assert.equal(first.duplicate, false);
    const again = await client.submit({ type: 'pay', id: 'payment-42' });
    assert.equal(again.duplicate, true);
    assert.equal(again.id, 'payment-42');
    const h1 = await client.submit({ type: 'pay' }, { idempotencyKey: 'payment-43' });
    assert.equal(h1.id, 'payment-43');
    const h2 = await client.submit({ type: 'pay' }, { idempotencyKey: 'payment-43' });
    assert.equal(h2.duplicate, true);
    const batch = await client.submitBatch([
      { type: 'pay', id: 'payment-42' },
      { type: 'pay', id: 'payment-44' },
      { type: 'pay', id: 'payment-44' },
    ]);
    assert.deepEqual(
      batch.map((b) => ('id' in b ? [b.id, b.duplicate] : b)),
      [
        ['payment-42', true],
        ['payment-44', false],
        ['payment-44', true],
      ],
    );
    const records = (await readTopic(kafka, 'cluster-events')).filter((x) => /^payment-4[234]$/.test(header(x, JOB_HEADERS.jobId) ?? ''));
    assert.equal(records.length, 3, 'one job.requested per id');
  });

  test('cron schedules over HTTP: put, read, list, a bad pattern named, delete', async () => {
    const put = async (name: string, body: unknown) =>
      fetch(`${url}/api/schedules/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const stored = await put('every-minute', {
      cron: '0 * * * * *',
      timezone: 'Europe/Stockholm',
      job: { type: 'echo', payload: { n: 1 } },
    });
    assert.equal(stored.status, 200);
    const record = (await stored.json()) as { spec: { name: string; cron: string; job: { type: string } }; createdAt: string };
    assert.equal(record.spec.name, 'every-minute');
    assert.equal(record.spec.job.type, 'echo');
    const one = await fetch(`${url}/api/schedules/every-minute`);
    assert.equal(one.status, 200);
    assert.equal(((await one.json()) as { spec: { cron: string } }).spec.cron, '0 * * * * *');
    const list = (await (await fetch(`${url}/api/schedules`)).json()) as { schedules: { spec: { name: string } }[] };
    assert.ok(list.schedules.some((r) => r.spec.name === 'every-minute'));
    const bad = await put('broken', { cron: 'not a pattern', job: { type: 'echo' } });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { field: string } }).error.field, 'cron');
    const badJob = await put('broken', { cron: '* * * * *', job: { type: 'echo', attempts: 0 } });
    assert.equal(((await badJob.json()) as { error: { field: string } }).error.field, 'job.attempts');
    const mismatch = await put('a-name', { name: 'a-name', cron: '* * * * *', job: { type: 'echo' } });
    assert.equal(mismatch.status, 400);
    assert.equal((await fetch(`${url}/api/schedules/every-minute`, { method: 'DELETE' })).status, 204);
    assert.equal((await fetch(`${url}/api/schedules/every-minute`, { method: 'DELETE' })).status, 404);
    assert.equal((await fetch(`${url}/api/schedules/every-minute`)).status, 404);
  });

  test('docs/API.md carries the served OpenAPI document, and every documented route exists', async () => {
    const md = await readFile(new URL('../../../../docs/API.md', import.meta.url), 'utf8');
    const block = /## OpenAPI document[\s\S]*?```json\n([\s\S]*?)\n```/.exec(md);
    assert.ok(block, 'docs/API.md has the JSON block');
    const served = await (await fetch(`${url}/openapi.json`)).json();
    assert.deepEqual(JSON.parse(block[1]!), served, 'docs/API.md is regenerated from openapi.ts');
    for (const [path, ops] of Object.entries(jobsOpenApi.paths)) {
      for (const method of Object.keys(ops)) {
        const route = { method: method.toUpperCase() as 'GET' | 'POST', url: path.replace(/\{(\w+)\}/g, ':$1') };
        assert.ok(app.hasRoute(route), `${route.method} ${route.url} is served`);
      }
    }
  });

  test('a submission Kafka did not accept answers 503 and frees its id, so the retry is accepted', async () => {
    // Kafka refusing is simulated at the publisher: a broker outage takes the client's full retry budget.
    const internals = service as unknown as { publisher: { publish: (...a: unknown[]) => Promise<void> } };
    const real = internals.publisher.publish;
    internals.publisher.publish = async () => {
      throw new Error('broker unavailable');
    };
    try {
      await assert.rejects(
        client.submit({ type: 'pay', id: 'refund-7' }),
        (e: JobsApiError) => e.status === 503 && e.code === 'unavailable',
      );
      await assert.rejects(client.get('refund-7'), (e: JobsApiError) => e.status === 404, 'nothing was recorded');
    } finally {
      internals.publisher.publish = real;
    }
    const retried = await client.submit({ type: 'pay', id: 'refund-7' });
    assert.equal(retried.duplicate, false, 'the id was released');
    assert.equal((await client.get('refund-7')).state, 'created');
  });
});

test("a fenced owner's job.dead: the job is not in /api/dlq and redrive skips it; its successor's run counts", async () => {
  // docs/JOBS.md "Dead letters": a former owner, writing late, kills an attempt its successor owns.
  const { id } = await client.submit({ type: 'zombie.thing', attempts: 1 });
  const spec = await specOf(id);
  const key = jobKey(spec);
  const at = (): string => new Date().toISOString();
  /** An owner marker in the job's partition (same key); its offset is the epoch. */
  const claim = async (w: string): Promise<number> => {
    await worker.sendRaw(key, JSON.stringify({ v: 1, type: 'worker.owner', worker: w, partition: 0, at: at() }));
    const recs = await readTopic(kafka, 'cluster-events');
    const partition = recs.find((r) => header(r, JOB_HEADERS.jobId) === id)!.partition;
    const m = recs.filter((r) => r.partition === partition && r.value?.toString().includes(`"worker":"${w}"`)).at(-1)!;
    return Number(m.offset);
  };
  const old = { v: 1, jobId: id, producer: 'worker/old', epoch: await claim('zombie-old') };
  await worker.send(
    [
      { ...old, at: at(), type: 'job.created', spec },
      { ...old, at: at(), type: 'job.queued', spec, attempt: 1, attemptLimit: 1 },
      { ...old, at: at(), type: 'job.processing', attempt: 1, worker: 'old', redelivered: false },
    ],
    key,
  );
  await waitState(id, 'processing');
  const successor = { v: 1, jobId: id, producer: 'worker/new', epoch: await claim('zombie-new') };
  await worker.send([{ ...successor, at: at(), type: 'job.processing', attempt: 1, worker: 'new', redelivered: true }], key);
  const fencedBefore = service.fence.fenced;
  await worker.send(
    [
      { ...old, at: at(), type: 'job.failed', attempt: 1, error: { name: 'Error', message: 'late' }, reason: 'error', willRetry: false },
      { ...old, at: at(), type: 'job.dead', attempt: 1, reason: 'attempts-exhausted' },
    ],
    key,
  );
  await waitFor(() => service.fence.fenced >= fencedBefore + 2, { timeoutMs: 15_000, what: "the former owner's facts folded (fenced)" });
  assert.equal((await client.get(id)).state, 'processing');
  assert.ok(!(await client.dlq({ type: 'zombie.thing' })).jobs.some((j) => j.id === id), 'not in the dead-letter list');
  // What JobsDeadLetterGrowing counts (the monitor's rule and Prometheus'): deaths that count only.
  const deadTotal = (await service.metrics.registry.getSingleMetric('clustergenie_jobs_dead_total')!.get()).values;
  assert.ok(!deadTotal.some((v) => v.labels['type'] === 'zombie.thing' && v.value > 0), 'the fenced job.dead is not counted');
  const r = await client.redrive({ ids: [id] });
  assert.deepEqual(r.skipped, [{ id, reason: 'job is processing' }]);
  await worker.send([{ ...successor, at: at(), type: 'job.completed', attempt: 1, result: null, durationMs: 1 }], key);
  await waitState(id, 'completed');
});
