import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Consumer, type Message, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { KafkaTestingCluster } from '../../../src/cluster/kafkaTestingCluster.js';
import { type DelayedRecord, JOB_TOPICS, type JobEvent, type JobSpec, jobKey } from '../../../src/genie/jobs/events.js';
import { ensureTopics, jobTopics, type KafkaEndpoint } from '../../../src/genie/kafka.js';
import { Scheduler } from '../../../src/genie/scheduler/scheduler.js';
import { deleteSchedule, listSchedules, putSchedule } from '../../../src/genie/scheduler/schedules.js';
import { ZooKeeperClient } from '../../../src/zookeeper/client/client.js';
import { mkdirp } from '../../../src/zookeeper/client/recipes.js';
import { waitFor } from '../../helpers/wait.js';

type StringMessage = Message<string, string, string, string>;

let cluster: KafkaTestingCluster;
let kafka: KafkaEndpoint;
let producer: Producer<string, string, string, string>;
let reader: Consumer<string, string, string, string>;
/** Every record on cluster-events, as read by the test. */
const seen: { event: JobEvent; key: string; receivedAt: number }[] = [];
const closers: (() => Promise<unknown>)[] = [];

/** A ZooKeeper client under its own chroot, so each test has its own election and schedules. */
async function zkIn(chroot: string): Promise<ZooKeeperClient> {
  const root = new ZooKeeperClient({ connectString: cluster.zkConnect, sessionTimeoutMs: 6000 });
  await root.connect();
  await mkdirp(root, chroot);
  await root.close();
  const zk = new ZooKeeperClient({ connectString: `${cluster.zkConnect}${chroot}`, sessionTimeoutMs: 6000 });
  await zk.connect();
  closers.push(() => zk.close());
  return zk;
}

function scheduler(zk: ZooKeeperClient, id: string, groupId: string): Scheduler {
  const s = new Scheduler({ kafka: { ...kafka, clientId: `test-${id}` }, zk, id, groupId, commitIntervalMs: 50 });
  closers.push(() => s.close());
  return s;
}

const spec = (id: string): JobSpec => ({
  id,
  type: 'echo',
  payload: { id },
  priority: 'normal',
  attemptsMax: 3,
  backoff: { type: 'fixed', delayMs: 100, delayMsMax: 100 },
  timeoutMs: 1000,
  createdAt: new Date().toISOString(),
});

async function produceDelayed(ids: string[], dueAtMs: number): Promise<void> {
  const records: DelayedRecord[] = ids.map((id) => ({
    v: 1,
    type: 'job.delayed',
    jobId: id,
    dueAt: new Date(dueAtMs).toISOString(),
    next: {
      v: 1,
      type: 'job.queued',
      jobId: id,
      at: new Date().toISOString(),
      producer: 'worker/test',
      spec: spec(id),
      attempt: 2,
      attemptLimit: 3,
    },
  }));
  await producer.send({
    messages: records.map((r) => ({ topic: JOB_TOPICS.delay, key: jobKey(r.next.spec), value: JSON.stringify(r) })),
  });
}

const queuedOf = (jobId: string) => seen.filter((s) => s.event.jobId === jobId && s.event.type === 'job.queued');

before(async () => {
  cluster = await KafkaTestingCluster.start({ brokers: 1 });
  kafka = { bootstrapBrokers: [cluster.bootstrap], clientId: 'scheduler-test' };
  await ensureTopics(kafka, jobTopics({ partitions: 2, replicationFactor: 1 }));
  producer = new Producer({ clientId: 'delay-writer', bootstrapBrokers: [cluster.bootstrap], serializers: stringSerializers });
  reader = new Consumer({
    clientId: 'events-reader',
    bootstrapBrokers: [cluster.bootstrap],
    groupId: 'scheduler-test-reader',
    deserializers: stringDeserializers,
    maxWaitTime: 100,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
  });
  const stream = await reader.consume({ topics: [JOB_TOPICS.events], mode: 'earliest', autocommit: false });
  stream.on('data', (m: StringMessage) => {
    seen.push({ event: JSON.parse(m.value) as JobEvent, key: m.key, receivedAt: Date.now() });
  });
});

after(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await producer?.close().catch(() => undefined);
  await new Promise<void>((resolve) => (reader ? reader.close(true, () => resolve()) : resolve()));
  await cluster?.close();
});

describe('Scheduler', () => {
  test('a delayed record is published as job.queued to cluster-events at its due time, not before', async () => {
    const zk = await zkIn('/t-delay');
    const s = scheduler(zk, 'solo', 'sched-delay');
    await s.start();
    assert.equal(s.isLeader, true);
    const dueAt = Date.now() + 300;
    await produceDelayed(['delayed-1'], dueAt);
    const [got] = await waitFor(() => (queuedOf('delayed-1').length > 0 ? queuedOf('delayed-1') : null), {
      timeoutMs: 20_000,
      what: 'job.queued of delayed-1',
    });
    assert.ok(Date.parse(got!.event.at) >= dueAt, `produced at ${got!.event.at}, due ${new Date(dueAt).toISOString()}`);
    assert.ok(got!.receivedAt >= dueAt);
    assert.equal(got!.key, 'delayed-1');
    assert.equal(got!.event.producer, 'scheduler/solo');
    assert.equal(got!.event.type === 'job.queued' && got!.event.attempt, 2);
    await waitFor(() => s.metrics.delayedProduced === 1 && s.metrics.delayedHeld === 0, { what: 'produced and released' });
    await s.close();
    assert.equal(s.isLeader, false);
  });

  test('two schedulers: only the leader publishes; when it closes the other publishes the rest', async () => {
    const [zkA, zkB] = [await zkIn('/t-failover'), await zkIn('/t-failover')];
    const a = scheduler(zkA, 'A', 'sched-failover');
    const b = scheduler(zkB, 'B', 'sched-failover');
    await a.start();
    await b.start();
    assert.equal(a.isLeader, true);
    assert.equal(b.isLeader, false);
    const now = Date.now();
    await produceDelayed(['fo-early'], now + 200);
    const later = ['fo-1', 'fo-2', 'fo-3', 'fo-4'];
    await produceDelayed(later, now + 4000);
    await waitFor(() => queuedOf('fo-early').length > 0, { timeoutMs: 20_000, what: 'fo-early published' });
    assert.equal(queuedOf('fo-early')[0]!.event.producer, 'scheduler/A');
    await waitFor(() => a.metrics.delayedHeld === 4, { what: 'A holds the later records' });
    assert.equal(b.metrics.delayedHeld, 0, 'the follower reads nothing');
    await a.close();
    await waitFor(() => b.isLeader, { what: 'B takes over' });
    await waitFor(() => later.every((id) => queuedOf(id).length > 0), { timeoutMs: 30_000, what: 'the later records published' });
    for (const id of later) {
      assert.deepEqual(
        queuedOf(id).map((s) => s.event.producer),
        ['scheduler/B'],
        id,
      );
      assert.ok(Date.parse(queuedOf(id)[0]!.event.at) >= now + 4000);
    }
    // A committed what it produced before leaving: B did not produce fo-early again.
    assert.equal(queuedOf('fo-early').length, 1);
    // The topics are shared between tests: a scheduler left running would publish later tests' records.
    await b.close();
  });

  test("the leader's session expiring ends its term at once; the other candidate takes over", async () => {
    const [zkA, zkB] = [await zkIn('/t-expiry'), await zkIn('/t-expiry')];
    const a = scheduler(zkA, 'expA', 'sched-expiry');
    const b = scheduler(zkB, 'expB', 'sched-expiry');
    await a.start();
    await b.start();
    assert.equal(a.isLeader, true);
    const sessionA = zkA.sessionId;
    cluster.zk!.expireSession(sessionA);
    await waitFor(() => !a.isLeader, { what: 'A no longer leads' });
    await waitFor(() => b.isLeader, { what: 'B leads' });
    // A rejoins in a new session, as a follower.
    await waitFor(() => zkA.isConnected && zkA.sessionId !== sessionA, { what: 'A has a new session' });
    assert.equal(a.isLeader, false);
    const dueAt = Date.now() + 300;
    await produceDelayed(['exp-1'], dueAt);
    await waitFor(() => queuedOf('exp-1').length > 0, { timeoutMs: 20_000, what: 'exp-1 published' });
    assert.deepEqual(
      queuedOf('exp-1').map((s) => s.event.producer),
      ['scheduler/expB'],
    );
    await Promise.all([a.close(), b.close()]);
  });

  test('a per-second cron schedule with two candidates fires each tick exactly once', async () => {
    const [zkA, zkB] = [await zkIn('/t-cron'), await zkIn('/t-cron')];
    const stored = await putSchedule(zkA, { name: 'beat', cron: '* * * * * *', job: { type: 'echo', payload: { n: 1 } } });
    assert.equal(stored.spec.name, 'beat');
    const a = scheduler(zkA, 'cronA', 'sched-cron');
    const b = scheduler(zkB, 'cronB', 'sched-cron');
    await Promise.all([a.start(), b.start()]);
    assert.equal([a.isLeader, b.isLeader].filter(Boolean).length, 1);
    const beats = () => seen.filter((s) => s.event.type === 'job.requested' && s.event.spec.schedule === 'beat');
    await waitFor(() => beats().length >= 4, { timeoutMs: 20_000, what: '4 ticks' });
    const ids = beats().map((s) => s.event.jobId);
    assert.equal(new Set(ids).size, ids.length, `duplicate ticks: ${ids.join(', ')}`);
    const ticks = ids.map((id) => Date.parse(id.slice('beat@'.length))).sort((x, y) => x - y);
    for (const t of ticks) assert.equal(t % 1000, 0, 'ticks on whole seconds');
    for (let i = 1; i < ticks.length; i++) assert.equal(ticks[i]! - ticks[i - 1]!, 1000, 'no tick skipped');
    for (const s of beats()) {
      assert.equal(s.key, s.event.jobId);
      assert.ok(s.event.type === 'job.requested' && s.event.spec.type === 'echo' && s.event.attempt === 1);
    }
    // The znode records the claimed and the published tick.
    await waitFor(async () => {
      const [r] = await listSchedules(zkA);
      return r?.lastFiredAt !== undefined && r.lastPublishedAt === r.lastFiredAt;
    });
    assert.equal(await deleteSchedule(zkA, 'beat'), true);
    assert.equal(await deleteSchedule(zkA, 'beat'), false);
    const count = beats().length;
    // A deleted schedule stops firing: wait past the next two whole seconds.
    const until = Date.now() + 2100;
    await waitFor(() => Date.now() > until, { timeoutMs: 5000 });
    assert.ok(beats().length <= count + 1, 'at most a tick already in flight');
    await Promise.all([a.close(), b.close()]);
  });
});
