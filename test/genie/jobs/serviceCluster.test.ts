// Job Service instances together and over time: one id submitted to two instances at once is
// published once (ZooKeeper guard), a restarted instance resumes from its store, a new instance
// with an empty store rebuilds from the compacted snapshots, and the idempotency keys' release,
// orphan take-over and sweep.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { KafkaTestingCluster } from '../../../src/cluster/kafkaTestingCluster.js';
import { JobsClient } from '../../../src/genie/jobs/client.js';
import { JOB_HEADERS, JOB_ZK_PATHS } from '../../../src/genie/jobs/events.js';
import { startJobsHttp } from '../../../src/genie/jobs/http.js';
import { IdempotencyRegistry } from '../../../src/genie/jobs/idempotency.js';
import { JobService, type JobServiceOptions } from '../../../src/genie/jobs/service.js';
import { ensureTopics, jobTopics, type KafkaEndpoint } from '../../../src/genie/kafka.js';
import { specOfView } from '../../../src/genie/jobs/view.js';
import { ZooKeeperClient } from '../../../src/zookeeper/client/client.js';
import { killOnExit, waitExit } from '../../helpers/children.js';
import { waitFor } from '../../helpers/wait.js';
import { endpoint, eventOf, FakeWorker, header, readTopic } from './serviceHelpers.js';

let cluster: KafkaTestingCluster;
let kafka: KafkaEndpoint;
let worker: FakeWorker;
let tmp: string;
const closers: (() => Promise<unknown>)[] = [];

async function startService(
  o: Partial<JobServiceOptions> & { instance: string },
): Promise<{ service: JobService; client: JobsClient; app: FastifyInstance }> {
  const service = new JobService({ kafka, snapshotIntervalMs: 100, ...o });
  await service.start();
  const { app, url } = await startJobsHttp(service, { port: 0 });
  const stop = async () => {
    await app.close();
    await service.close();
  };
  closers.push(stop);
  return { service, client: new JobsClient(url), app };
}

async function stopService(s: { service: JobService; app: FastifyInstance }): Promise<void> {
  await s.app.close();
  await s.service.close();
}

before(async () => {
  cluster = await KafkaTestingCluster.start({ brokers: 1 });
  kafka = endpoint(cluster.bootstrap, 'jobs-cluster-test');
  await ensureTopics(kafka, jobTopics({ partitions: 3, replicationFactor: 1 }));
  worker = new FakeWorker(kafka);
  tmp = await mkdtemp(join(tmpdir(), 'cg-jobs-service-'));
});

after(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
  await worker?.close();
  await cluster?.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('job service instances', () => {
  test('the same id sent to two instances at once is published exactly once', async () => {
    const a = await startService({ instance: 'idem-a', zkConnect: cluster.zkConnect });
    const b = await startService({ instance: 'idem-b', zkConnect: cluster.zkConnect });
    for (let round = 0; round < 3; round++) {
      const id = `order-${round}`;
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a.client : b.client).submit({ type: 'order.place', id, payload: { i } })),
      );
      assert.equal(answers.filter((r) => !r.duplicate).length, 1, `one submission of ${id} is accepted`);
      assert.ok(answers.every((r) => r.id === id));
      const requested = (await readTopic(kafka, 'cluster-events')).filter(
        (x) => header(x, JOB_HEADERS.jobId) === id && header(x, JOB_HEADERS.eventType) === 'job.requested',
      );
      assert.equal(requested.length, 1, `exactly one job.requested for ${id}`);
      // Both instances fold it.
      await waitFor(async () => (await a.client.get(id)).partition >= 0 && (await b.client.get(id)).partition >= 0, {
        what: `${id} on both`,
      });
    }
    await stopService(b);
    await stopService(a);
  });

  test('a restarted instance resumes from its store instead of re-reading the topic', async () => {
    const dataDir = join(tmp, 'restart');
    // A record that is not an event: counted each time it is read.
    await worker.sendRaw('garbage', 'not json at all');
    let s = await startService({ instance: 'restart', dataDir, snapshots: false });
    const { id } = await s.client.submit({ type: 'resume.me' });
    await waitFor(() => s.service.caughtUp && s.service.malformedRecords === 1, { what: 'the first catch-up' });
    await waitFor(async () => (await s.client.get(id)).partition >= 0, { what: 'the job folded' });
    const spec = specOfView(await s.client.get(id));
    await stopService(s);

    // While it is down, the job completes.
    await worker.complete(spec);
    s = await startService({ instance: 'restart', dataDir, snapshots: false });
    await waitFor(async () => (await s.client.get(id)).state === 'completed', { what: 'the events produced while down' });
    await waitFor(() => s.service.caughtUp, { what: 'catch-up after restart' });
    assert.equal(s.service.malformedRecords, 0, 'records before the stored offsets were not read again');
    assert.equal((await s.client.events(id)).length, 6, 'no event recorded twice');
    await stopService(s);
  });

  test('an empty instance rebuilds from the snapshots and resumes at the checkpoint; one elected writer, taken over on exit', async () => {
    const zkConnect = cluster.zkConnect;
    const writer = await startService({ instance: 'snap-writer', dataDir: join(tmp, 'snap-writer'), zkConnect });
    assert.equal(writer.service.isSnapshotWriter, true, 'the only candidate writes');
    const { id } = await writer.client.submit({ type: 'snap.job', payload: { keep: 'me' } });
    await worker.complete(specOfView(await writer.client.get(id)));
    await waitFor(async () => (await writer.client.get(id)).state === 'completed', { what: 'completed on the writer' });
    await worker.sendRaw('garbage', 'still not json');
    await waitFor(() => writer.service.malformedRecords >= 1, { what: 'the writer past the garbage' });
    await writer.service.flushSnapshotsNow();
    await writer.service.flushSnapshotsNow();

    const fresh = await startService({ instance: 'snap-reader', zkConnect });
    assert.equal(fresh.service.isSnapshotWriter, false, 'a second instance follows');
    // Served at once from the snapshots.
    const job = await fresh.client.get(id);
    assert.equal(job.state, 'completed');
    assert.deepEqual(job.payload, { keep: 'me' });
    await waitFor(() => fresh.service.caughtUp, { what: 'the rebuilt instance caught up' });
    assert.equal(fresh.service.malformedRecords, 0, 'it resumed at the checkpoint, after the garbage');
    const checkpointOf = (recs: Awaited<ReturnType<typeof readTopic>>) =>
      JSON.parse(
        recs
          .filter((r) => r.key?.toString() === '__checkpoint__')
          .at(-1)!
          .value!.toString(),
      ) as { instance: string };
    let snapshots = await readTopic(kafka, 'clustergenie.jobs');
    const recordsOfJob = snapshots.filter((r) => r.key?.toString() === id);
    assert.equal(JSON.parse(recordsOfJob.at(-1)!.value!.toString()).view.state, 'completed');
    assert.equal(checkpointOf(snapshots).instance, 'snap-writer');
    // It keeps folding new events.
    const { id: later } = await writer.client.submit({ type: 'snap.later' });
    await waitFor(async () => ((await fresh.client.get(later).catch(() => undefined))?.partition ?? -1) >= 0, {
      what: 'a new job on the rebuilt instance',
    });
    // The writer leaves: the follower takes over and republishes every job before its checkpoint.
    await stopService(writer);
    await waitFor(() => fresh.service.isSnapshotWriter, { what: 'the follower elected' });
    await fresh.service.flushSnapshotsNow();
    await fresh.service.flushSnapshotsNow();
    snapshots = await readTopic(kafka, 'clustergenie.jobs');
    assert.equal(checkpointOf(snapshots).instance, 'snap-reader');
    assert.ok(snapshots.filter((r) => r.key?.toString() === id).length > recordsOfJob.length, 'the job was republished');
    await stopService(fresh);
  });

  test('retention prunes old terminal jobs and tombstones them on the compacted topic', async () => {
    const s = await startService({ instance: 'pruner', store: { terminalJobRetentionMs: 1 } });
    const { id } = await s.client.submit({ type: 'prune.me' });
    await worker.complete(specOfView(await s.client.get(id)));
    await waitFor(async () => (await s.client.get(id)).state === 'completed', { what: 'completed' });
    await waitFor(
      async () => {
        await s.service.pruneNow();
        return (await s.client.get(id).catch(() => undefined)) === undefined;
      },
      { what: 'pruned' },
    );
    await s.service.flushSnapshotsNow();
    const last = (await readTopic(kafka, 'clustergenie.jobs')).filter((r) => r.key?.toString() === id).at(-1);
    assert.equal(last?.value, null, 'the last record of the job is a tombstone');
    await stopService(s);
  });

  test('idempotency keys: release after a failed publish, take-over of an orphan, sweep of old keys', async () => {
    const zk = new ZooKeeperClient({ connectString: cluster.zkConnect, sessionTimeoutMs: 10_000 });
    await zk.connect();
    closers.push(() => zk.close());
    let now = 1_000_000;
    const reg = new IdempotencyRegistry(zk, 'unit', { orphanClaimAfterMs: 0, idempotencyKeyRetentionMs: 0, sweepBatchMax: 2 });
    assert.deepEqual(await reg.claim('k-1', now), { claimed: true });
    const dup = await reg.claim('k-1', now);
    assert.equal(dup.claimed, false);
    assert.equal(!dup.claimed && dup.record.instance, 'unit');
    await reg.release('k-1');
    assert.deepEqual(await reg.claim('k-1', now), { claimed: true }, 'a released key can be claimed again');
    // Orphan take-over: one of two concurrent takers wins.
    const other = new IdempotencyRegistry(zk, 'other', { orphanClaimAfterMs: 0 });
    now = Date.now() + 60_000;
    const takers = await Promise.all([reg.takeOver('k-1', now), other.takeOver('k-1', now)]);
    assert.equal(takers.filter(Boolean).length, 1);
    // Sweep: bounded batches (2 keys here) that together cover every key, the other tests' too.
    await reg.claim('k-2', now);
    await reg.claim('k-3', now);
    const keys = async () => (await zk.getChildren(JOB_ZK_PATHS.idempotency)).length;
    const before = await keys();
    assert.ok(before >= 3);
    for (let i = 0; i < before; i++) assert.ok((await reg.sweep(now)) <= 2, 'one sweep deletes at most sweepBatchMax keys');
    assert.equal(await keys(), 0);
  });

  test('events produced by the service carry the instance and land where workers expect them', async () => {
    const s = await startService({ instance: 'keys', snapshots: false });
    const { id } = await s.client.submit({ type: 'route.me', orderingKey: 'customer-9' });
    const { id: id2 } = await s.client.submit({ type: 'route.me', orderingKey: 'customer-9' });
    const recs = (await readTopic(kafka, 'cluster-events')).filter((r) => [id, id2].includes(header(r, JOB_HEADERS.jobId) ?? ''));
    assert.equal(recs.length, 2);
    assert.equal(recs[0]!.partition, recs[1]!.partition, 'one ordering key, one partition');
    assert.ok(Number(recs[0]!.offset) < Number(recs[1]!.offset), 'in submission order');
    assert.equal(eventOf(recs[0]!).producer, 'jobs-service/keys');
    await stopService(s);
  });

  test('live streams are bounded per job, a client leaving frees its slot, closing the server ends the rest', async () => {
    const s = await startService({ instance: 'streams', snapshots: false, streamsPerJobMax: 1 });
    const { id } = await s.client.submit({ type: 'watch.me' });
    const open = (signal?: AbortSignal) => {
      const got: string[] = [];
      const done = (async () => {
        for await (const e of s.client.stream(id, signal ? { signal } : {})) got.push(e.type);
      })();
      return { got, done };
    };
    const leaving = new AbortController();
    const first = open(leaving.signal);
    await waitFor(() => first.got.length === 1, { what: 'the first stream open' });
    await assert.rejects(open().done, (e: { status?: number }) => e.status === 503);
    leaving.abort();
    await first.done.catch(() => undefined);
    const second = await waitFor(
      async () => {
        const o = open();
        const ok = await Promise.race([
          o.done.then(
            () => false,
            () => false,
          ),
          waitFor(() => o.got.length === 1, { timeoutMs: 2000 }).then(() => true),
        ]).catch(() => false);
        return ok ? o : undefined;
      },
      { what: 'a stream slot freed by the client that left' },
    );
    await stopService(s);
    await second.done; // ended by the server's close, not left hanging
    assert.deepEqual(second.got, ['job.requested']);
  });

  test('runJobsService prints its URL when ready, serves, and exits cleanly on SIGTERM', async () => {
    const main = new URL('../../../src/genie/jobs/serviceMain.js', import.meta.url).href;
    const args = [
      '--bootstrap-server',
      cluster.bootstrap,
      '--zookeeper',
      cluster.zkConnect,
      '--port',
      '0',
      '--data-dir',
      join(tmp, 'main'),
      '--instance',
      'main-1',
    ];
    const script = `const { runJobsService } = await import(${JSON.stringify(main)}); await runJobsService(${JSON.stringify(args)});`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    killOnExit(child);
    closers.push(async () => child.kill('SIGKILL'));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const line = await waitFor(() => /^jobs-service listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout), {
      timeoutMs: 30_000,
      what: () => `the ready line (stderr: ${stderr})`,
    });
    const client = new JobsClient(line[1]!);
    const { id } = await client.submit({ type: 'from.main' });
    assert.equal((await client.get(id)).type, 'from.main');
    child.kill('SIGTERM');
    assert.equal(await waitExit(child, 15_000), true, 'exits after SIGTERM');
    assert.equal(child.exitCode, 0, stderr);
    assert.equal(stdout.trim().split('\n').length, 1, 'one line on stdout');
  });
});
