// Failover paths on real processes (three ZooKeeper members, three brokers, one cluster for the
// file): a SIGTERM moves every leadership off a broker before it exits while a producer sees only
// retriable errors; a consumer group whose coordinator is killed -9 carries on and loses no
// committed offset; with the only in-sync replica down, a partition stays offline unless its topic
// enables unclean leader election, in which case the stale replica is elected (and marked so).
// KEEP_DIR=1 keeps the cluster's directory (every node's log) for a post-mortem.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { ProcessCluster } from '../../../src/cluster/processCluster.js';
import { BrokerClient } from '../../../src/kafka/net/brokerClient.js';
import { checkHistory, historyHolds } from '../../helpers/ackedHistory.js';
import {
  controllerId,
  endOffsets,
  partitionStates,
  readEverything,
  startAckedProducer,
  waitForControllerKnown,
} from '../../helpers/clusterClients.js';
import { waitFor } from '../../helpers/wait.js';

const { Kafka, logLevel } = kafkajs;

const sessionTimeoutMs = 3000;
/** Bound of one recovery (a restart, an election, an ISR refill) on a loaded 2-core machine. */
const recoveryTimeoutMs = 60_000;
const LEADER_NOT_AVAILABLE = 5;

let dir: string;
let cluster: ProcessCluster;
let kafka: InstanceType<typeof Kafka>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cg-failover-'));
  cluster = await ProcessCluster.start({
    dir,
    zookeepers: 3,
    brokers: 3,
    tickTimeMs: 500,
    initLimit: 10,
    syncLimit: 5,
    // info: the controlled-shutdown outcome is read from the broker's log.
    logLevel: 'info',
    brokerConfig: () => ({
      'zookeeper.session.timeout.ms': String(sessionTimeoutMs),
      'offsets.topic.replication.factor': '3',
      'min.insync.replicas': '2',
      'replica.lag.time.max.ms': '10000',
      'controlled.shutdown.enable': 'true',
      'auto.leader.rebalance.enable': 'false',
    }),
  });
  await waitForControllerKnown(cluster);
  kafka = new Kafka({
    clientId: 'failover',
    brokers: cluster.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 2000 },
  });
});

after(async () => {
  await cluster?.close();
  if (dir && !process.env['KEEP_DIR']) rmSync(dir, { recursive: true, force: true });
});

async function createTopic(
  topic: string,
  o: { partitions?: number; replicas?: number[]; configs?: Record<string, string> } = {},
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const configEntries = Object.entries(o.configs ?? {}).map(([name, value]) => ({ name, value }));
    await admin.createTopics({
      topics: [
        o.replicas
          ? { topic, replicaAssignment: [{ partition: 0, replicas: o.replicas }], configEntries }
          : { topic, numPartitions: o.partitions ?? 3, replicationFactor: 3, configEntries },
      ],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

async function fullIsr(topic: string, partitions: number, replicas = 3): Promise<boolean> {
  return (await partitionStates(cluster, topic, partitions)).every((s) => s.leader > 0 && s.isr.length === replicas);
}

/** One broker's own answer to Metadata v8 for `topic` partition 0. */
async function metadataAt(brokerId: number, topic: string): Promise<{ brokers: number[]; errorCode: number; leaderId: number }> {
  const b = cluster.broker(brokerId);
  const c = await BrokerClient.connect({ host: b.host, port: b.port, clientId: 'failover-test', requestTimeoutMs: 10_000 });
  try {
    const r = await c.request(3, 8, {
      topics: [{ name: topic }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    const brokers = (r.brokers as { nodeId: number }[]).map((x) => x.nodeId).sort();
    const t = (r.topics as { partitions: { partitionIndex: number; errorCode: number; leaderId: number }[] }[])[0];
    const p = t?.partitions.find((x) => x.partitionIndex === 0);
    return { brokers, errorCode: p?.errorCode ?? -1, leaderId: p?.leaderId ?? -2 };
  } finally {
    c.close();
  }
}

/** CreateTopics v3 sent to the controller: one partition on `replicas`. */
async function createTopicRaw(topic: string, replicas: number[]): Promise<void> {
  const ctl = await waitFor(() => controllerId(cluster), { timeoutMs: recoveryTimeoutMs, what: 'a controller' });
  const b = cluster.broker(ctl);
  const c = await BrokerClient.connect({ host: b.host, port: b.port, clientId: 'failover-test', requestTimeoutMs: 30_000 });
  try {
    const r = await c.request(19, 3, {
      topics: [
        { name: topic, numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: replicas }], configs: [] },
      ],
      timeoutMs: 20_000,
      validateOnly: false,
    });
    const t = (r.topics as { errorCode: number }[])[0];
    assert.equal(t?.errorCode, 0, `CreateTopics ${topic}: ${JSON.stringify(r)}`);
  } finally {
    c.close();
  }
}

/** The group coordinator's id, as FindCoordinator v1 answers it. */
async function coordinatorOf(group: string): Promise<number> {
  for (const b of cluster.brokers.filter((x) => x.alive)) {
    const c = await BrokerClient.connect({ host: b.host, port: b.port, clientId: 'failover-test', requestTimeoutMs: 10_000 }).catch(
      () => undefined,
    );
    if (!c) continue;
    try {
      const r = await c.request(10, 1, { key: group, keyType: 0 });
      if (r.errorCode === 0) return r.nodeId as number;
    } finally {
      c.close();
    }
  }
  throw new Error(`no coordinator for ${group} yet`);
}

test('SIGTERM moves every leadership off the broker before it exits; the producer sees only retriable errors', async () => {
  const topic = 'controlled';
  await createTopic(topic, { partitions: 3, configs: { 'min.insync.replicas': '2' } });
  await waitFor(() => fullIsr(topic, 3), { timeoutMs: recoveryTimeoutMs, intervalMs: 200, what: 'full ISRs' });
  const producer = await startAckedProducer(kafka, { topic, partitions: 3, name: 'cs' });
  try {
    await waitFor(() => producer.ackedCount() >= 20, { timeoutMs: recoveryTimeoutMs, what: 'first acknowledgements' });
    // A broker that leads something, preferably not the controller (whose own stop the fault schedule covers).
    const ctl = await controllerId(cluster);
    const leaders = (await partitionStates(cluster, topic, 3)).map((s) => s.leader);
    const victim = cluster.broker(leaders.find((l) => l !== ctl) ?? leaders[0]!);
    const logStart = readFileSync(victim.logPath).length;

    // Watch the state znodes while the process is alive: leaderships must leave before it does.
    let movedWhileAlive = false;
    let watching = true;
    const watcher = (async () => {
      while (watching && victim.alive) {
        const s = await partitionStates(cluster, topic, 3).catch(() => undefined);
        if (s?.every((x) => x.leader !== victim.id && x.leader > 0) && victim.alive) movedWhileAlive = true;
        await new Promise((r) => setTimeout(r, 20)); // polling pace
      }
    })();
    const ackedAtStop = producer.ackedCount();
    const exit = await victim.stop();
    watching = false;
    await watcher;
    assert.equal(exit?.code, 0, `broker ${victim.id} did not exit cleanly: ${JSON.stringify(exit)}`);

    const log = readFileSync(victim.logPath).subarray(logStart).toString('utf8');
    const done = log.indexOf('controlled shutdown succeeded');
    assert.ok(done >= 0, `broker ${victim.id}'s log shows no completed controlled shutdown:\n${log.slice(-3000)}`);
    assert.ok(!log.includes('controlled shutdown did not complete'), log.slice(-3000));
    const after = await partitionStates(cluster, topic, 3);
    for (const s of after) {
      assert.notEqual(s.leader, victim.id, JSON.stringify(after));
      assert.ok(s.leader > 0 && !s.isr.includes(victim.id), JSON.stringify(after));
    }
    // The producer carries on without the broker.
    await waitFor(() => producer.ackedCount() >= ackedAtStop + 20, {
      timeoutMs: recoveryTimeoutMs,
      what: 'acknowledgements after the stop',
    });
    console.log(`# controlled shutdown of broker ${victim.id}: leaderships seen moved while its process lived: ${movedWhileAlive}`);

    await victim.start();
    await victim.waitServing(recoveryTimeoutMs);
    await waitFor(() => fullIsr(topic, 3), { timeoutMs: recoveryTimeoutMs, intervalMs: 200, what: 'the broker to rejoin every ISR' });
  } finally {
    await producer.stop();
  }
  assert.deepEqual(producer.failures.nonRetriable, [], 'non-retriable producer errors');
  const verdict = checkHistory(producer.sent, await readEverything(kafka, topic, 'controlled-checker'));
  assert.ok(historyHolds(verdict), JSON.stringify({ ...verdict, lost: verdict.lost.slice(0, 20) }));
});

test('a consumer group carries on when its coordinator is killed -9, and no committed offset is lost', async () => {
  const topic = 'coordinated';
  const group = 'survivors';
  await createTopic(topic, { partitions: 3 });
  const producer = await startAckedProducer(kafka, { topic, partitions: 3, name: 'co' });
  const admin = kafka.admin();
  await admin.connect();
  const committed = async (): Promise<Map<number, number>> =>
    new Map(
      (await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0]!.partitions.map((p) => [p.partition, Number(p.offset)] as const),
    );
  const consumed: { partition: number; offset: number }[] = [];
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 500 });
  let victimId: number | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommitInterval: 200,
      eachMessage: async ({ partition, message }) => {
        consumed.push({ partition, offset: Number(message.offset) });
      },
    });
    await waitFor(async () => consumed.length >= 30 && [...(await committed()).values()].every((o) => o > 0), {
      timeoutMs: recoveryTimeoutMs,
      intervalMs: 200,
      what: () => `consumption and commits (${consumed.length} read)`,
    });
    victimId = await coordinatorOf(group);
    const atKill = await committed();
    const readAtKill = consumed.length;
    await cluster.broker(victimId).kill();

    // The group finds the new coordinator: it consumes and commits past what it had.
    await waitFor(
      async () => {
        if (consumed.length < readAtKill + 30) return false;
        const now = await committed();
        return [...atKill].every(([p, o]) => (now.get(p) ?? -1) > o);
      },
      { timeoutMs: recoveryTimeoutMs, intervalMs: 200, what: () => `the group to resume after its coordinator ${victimId} died` },
    );
    const newCoordinator = await coordinatorOf(group);
    assert.notEqual(newCoordinator, victimId);

    // Everything produced gets read and committed; the consumer then stops.
    await producer.stop();
    const ends = await endOffsets(admin, topic, recoveryTimeoutMs);
    await waitFor(
      async () => {
        const now = await committed();
        return [...ends].every(([p, end]) => now.get(p) === end);
      },
      { timeoutMs: recoveryTimeoutMs, intervalMs: 200, what: 'commits to reach the end of every partition' },
    );
  } finally {
    await producer.stop();
    await consumer.disconnect();
  }

  // The killed coordinator returns; a restarted member re-reads nothing that was committed.
  assert.ok(victimId !== undefined);
  await cluster.broker(victimId).start();
  await cluster.broker(victimId).waitServing(recoveryTimeoutMs);
  const final = await committed();
  const tail = await startAckedProducer(kafka, { topic, partitions: 3, name: 'tail' });
  await waitFor(() => tail.ackedCount() >= 15, { timeoutMs: recoveryTimeoutMs, what: 'tail messages' });
  await tail.stop();
  const reread: { partition: number; offset: number; value: string }[] = [];
  const again = kafka.consumer({ groupId: group });
  try {
    await again.connect();
    await again.subscribe({ topic, fromBeginning: true });
    await again.run({
      eachMessage: async ({ partition, message }) => {
        reread.push({ partition, offset: Number(message.offset), value: message.value?.toString() ?? '' });
      },
    });
    await waitFor(() => reread.length >= tail.ackedCount(), {
      timeoutMs: recoveryTimeoutMs,
      what: () => `the restarted member to read the tail (${reread.length} of ${tail.ackedCount()})`,
    });
  } finally {
    await again.disconnect();
    await admin.disconnect();
  }
  for (const r of reread) {
    assert.ok(
      r.offset >= final.get(r.partition)!,
      `re-read committed offset ${r.partition}@${r.offset} (committed ${final.get(r.partition)})`,
    );
    assert.ok(r.value.startsWith('tail-'), `re-read ${r.value}`);
  }
  assert.equal(reread.length, tail.ackedCount());
});

test('unclean leader election: off keeps the partition offline, on elects the stale replica', async () => {
  // Both topics on brokers [2, 3], leader 2; min.insync.replicas=1 so the leader alone takes writes.
  const off = 'unclean-off';
  const on = 'unclean-on';
  await createTopic(off, { replicas: [2, 3], configs: { 'min.insync.replicas': '1' } });
  await createTopic(on, { replicas: [2, 3], configs: { 'min.insync.replicas': '1', 'unclean.leader.election.enable': 'true' } });
  for (const t of [off, on])
    await waitFor(() => fullIsr(t, 1, 2), { timeoutMs: recoveryTimeoutMs, intervalMs: 200, what: `${t} ISR [2,3]` });
  const producer = kafka.producer({ idempotent: false, allowAutoTopicCreation: false });
  await producer.connect();
  const send = async (tag: string): Promise<void> => {
    for (const topic of [off, on]) {
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 5 }, (_, i) => ({ partition: 0, value: `${tag}-${i}` })) });
    }
  };
  try {
    await send('both');
    // Follower 3 stops: the ISR shrinks to the leader, which takes more writes 3 never sees.
    await cluster.broker(3).kill();
    for (const t of [off, on]) {
      let last = '';
      await waitFor(
        async () => {
          const st = (await partitionStates(cluster, t, 1))[0]!;
          last = JSON.stringify(st);
          return st.isr.join() === '2';
        },
        {
          timeoutMs: recoveryTimeoutMs,
          intervalMs: 200,
          what: () => `${t} ISR to shrink to [2] (${last}; ${dir})`,
        },
      );
    }
    await send('leader-only');
  } finally {
    await producer.disconnect();
  }
  // The leader dies; the stale follower comes back.
  await cluster.broker(2).kill();
  for (const t of [off, on]) {
    await waitFor(async () => (await partitionStates(cluster, t, 1))[0]!.leader === -1, {
      timeoutMs: recoveryTimeoutMs,
      intervalMs: 200,
      what: `${t} to go offline`,
    });
  }
  await cluster.broker(3).start();
  await cluster.broker(3).waitServing(recoveryTimeoutMs);

  // on: broker 3 is elected although it is not in the ISR, marked as recovering from an unclean election.
  const onState = await waitFor(
    async () => {
      const s = (await partitionStates(cluster, on, 1))[0]!;
      return s.leader === 3 ? s : undefined;
    },
    { timeoutMs: recoveryTimeoutMs, intervalMs: 200, what: `${on} to elect broker 3` },
  );
  assert.deepEqual(onState.isr, [3]);
  // The controller says so in its log; it never did for `off`.
  const logs = cluster.brokers.map((b) => readFileSync(b.logPath, 'utf8')).join('\n');
  const uncleanLines = logs.split('\n').filter((l) => l.includes('unclean leader election'));
  assert.ok(
    uncleanLines.some((l) => l.includes(on)),
    `no unclean election logged for ${on}`,
  );
  // The controller handles events one at a time: a topic created after broker 3's return is led
  // only once that return was handled, elections included.
  // (kafkajs's admin refuses to work while any partition is offline, so CreateTopics goes by hand.)
  await createTopicRaw('unclean-fence', [3, 1]);
  await waitFor(async () => (await partitionStates(cluster, 'unclean-fence', 1))[0]!.leader > 0, {
    timeoutMs: recoveryTimeoutMs,
    intervalMs: 200,
    what: 'the fence topic to get a leader',
  });
  const offState = (await partitionStates(cluster, off, 1))[0]!;
  assert.equal(offState.leader, -1, `unclean election ran with it disabled: ${JSON.stringify(offState)}`);
  assert.deepEqual(offState.isr, [2], JSON.stringify(offState));
  assert.ok(!uncleanLines.some((l) => l.includes(`"${off}"`)), uncleanLines.join('\n'));
  const md = await metadataAt(3, off);
  assert.equal(md.leaderId, -1, JSON.stringify(md));
  assert.equal(md.errorCode, LEADER_NOT_AVAILABLE, JSON.stringify(md));
  console.log(`# unclean on: ${JSON.stringify(onState)}; off: ${JSON.stringify(offState)}, metadata ${JSON.stringify(md)}`);

  // The unclean leader serves what it had: the writes made while it was away are gone.
  const admin = kafka.admin();
  await admin.connect();
  try {
    const onEnd = await waitFor(async () => (await admin.fetchTopicOffsets(on))[0], {
      timeoutMs: recoveryTimeoutMs,
      what: `${on}'s end offset`,
    });
    assert.equal(Number(onEnd.high), 5, `${on} end offset after the unclean election`);
  } finally {
    await admin.disconnect();
  }

  // The old leader returns: `off` comes back with every acknowledged write; `on` follows broker 3.
  await cluster.broker(2).start();
  await cluster.broker(2).waitServing(recoveryTimeoutMs);
  await waitFor(async () => (await partitionStates(cluster, off, 1))[0]!.leader === 2, {
    timeoutMs: recoveryTimeoutMs,
    intervalMs: 200,
    what: `${off} to elect broker 2`,
  });
  const offRead = await readEverything(kafka, off, 'unclean-off-checker');
  assert.deepEqual(
    offRead.map((r) => r.id),
    [...Array.from({ length: 5 }, (_, i) => `both-${i}`), ...Array.from({ length: 5 }, (_, i) => `leader-only-${i}`)],
  );
  await waitFor(() => fullIsr(on, 1, 2), { timeoutMs: recoveryTimeoutMs, intervalMs: 200, what: `broker 2 to rejoin ${on}'s ISR` });
  const onRead = await readEverything(kafka, on, 'unclean-on-checker');
  assert.deepEqual(
    onRead.map((r) => r.id),
    Array.from({ length: 5 }, (_, i) => `both-${i}`),
  );
});
