// A mixed cluster: two of our brokers (ids 1, 2; one of them the controller) and one Apache Kafka
// 3.9 broker (id 3) on one ZooKeeper. Partitions led on either side replicate to the other
// (Apache as a follower sends Fetch v17 / ListOffsets / OffsetForLeaderEpoch v4 to our leaders; our
// followers fetch from it), our controller reassigns a partition onto the Apache broker, the
// Apache broker is killed (-9) under acks=all load and comes back (truncating and catching up from
// our leaders) with no acknowledged message lost, and its clean shutdown goes through our
// controller's ControlledShutdown. The controller here is always ours; reassignMixedApacheController
// has the Apache broker as the controller of ours.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KafkaTestingCluster } from '../../../src/cluster/kafkaTestingCluster.js';
import type { Broker } from '../../../src/kafka/broker/broker.js';
import { BrokerClient } from '../../../src/kafka/net/brokerClient.js';
import { ErrorCode } from '../../../src/kafka/protocol/errors.js';
import { decodeBatches } from '../../../src/kafka/protocol/records.js';
import { buildBatch as buildRecords } from '../../../src/kafka/protocol/recordsBuild.js';
import type { Msg } from '../../../src/kafka/protocol/schema.js';
import { type ReadMessage, type SentMessage, checkHistory, historyHolds } from '../../helpers/ackedHistory.js';
import { type KafkaHandle, kafkaJarsPresent, startApacheKafka } from '../../helpers/apacheKafka.js';
import { waitFor } from '../../helpers/wait.js';
import { buildBatch } from '../storage/batches.js';

const RECORDS = 10;
const APACHE_ID = 3;
/** Cold JVM start plus replication catch-up on two shared cores. */
const SLOW_MS = 60_000;

let cluster: KafkaTestingCluster;
let apache: KafkaHandle | undefined;
/** The Apache broker's log.dirs, kept across its kill and restart. */
let apacheLogDir: string;
const APACHE_PROPS = {
  'replica.fetch.wait.max.ms': '100',
  'offsets.topic.replication.factor': '1',
  'auto.leader.rebalance.enable': 'false',
  // Its loss is noticed when its session expires.
  'zookeeper.session.timeout.ms': '6000',
};
const clients: BrokerClient[] = [];

before(async () => {
  assert.ok(kafkaJarsPresent('3.9'), 'Apache Kafka 3.9 jars are cached (scripts/fetch-kafka.sh)');
  cluster = await KafkaTestingCluster.start({ brokers: 2, brokerProps: { 'replica.fetch.wait.max.ms': '100' } });
  apacheLogDir = await mkdtemp(join(tmpdir(), 'cg-mixed-apache-'));
  apache = await startApacheKafka({ zkConnect: cluster.zkConnect, brokerId: APACHE_ID, logDir: apacheLogDir, extraProps: APACHE_PROPS });
});

after(async () => {
  for (const c of clients) c.close();
  await apache?.stop();
  await cluster?.close();
  if (apacheLogDir) await rm(apacheLogDir, { recursive: true, force: true });
});

function broker(id: number): Broker {
  const b = cluster.get(id).broker;
  assert.ok(b, `broker ${id} runs`);
  return b;
}

async function client(id: number): Promise<BrokerClient> {
  const port = id === APACHE_ID ? apache!.port : broker(id).port;
  const c = await BrokerClient.connect({ host: '127.0.0.1', port, clientId: 'mixed-cluster', requestTimeoutMs: 30_000 });
  clients.push(c);
  return c;
}

async function controllerId(): Promise<number> {
  return waitFor(() => [1, 2].find((id) => cluster.get(id).broker?.controller?.isActive), { what: 'one of our brokers as controller' });
}

async function state(topic: string, p: number): Promise<{ leader: number; leader_epoch: number; isr: number[] }> {
  return cluster.partitionState(topic, p);
}

async function createTopic(topic: string, assignment: number[][], configs: Record<string, string> = {}): Promise<void> {
  await waitFor(() => broker(1).metadata.brokers.has(APACHE_ID), { timeoutMs: SLOW_MS, what: 'the Apache broker to register' });
  const res = await (await client(await controllerId())).request(19, 5, {
    topics: [
      {
        name: topic,
        numPartitions: -1,
        replicationFactor: -1,
        assignments: assignment.map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds })),
        configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
      },
    ],
    timeoutMs: 30_000,
    validateOnly: false,
  });
  assert.equal(((res.topics as Msg[])[0] as Msg).errorCode, ErrorCode.NONE);
}

/** acks=all to the partition's current leader, retried while leadership settles. */
async function produce(topic: string, p: number): Promise<void> {
  await waitFor(
    async () => {
      const s = await state(topic, p);
      const res = await (await client(s.leader)).request(0, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 20_000,
        topicData: [{ name: topic, partitionData: [{ index: p, records: buildBatch({ count: RECORDS, valueBytes: 24 }) }] }],
      });
      return ((res.responses as Msg[])[0]!.partitionResponses as Msg[])[0]!.errorCode === ErrorCode.NONE;
    },
    { timeoutMs: SLOW_MS, intervalMs: 200, what: `an acks=all produce to ${topic}-${p}` },
  );
}

/** The Apache broker's log end for a partition it hosts (ListOffsets as the debugging replica, -2). */
async function apacheLogEnd(topic: string, p: number): Promise<number> {
  const res = await (await client(APACHE_ID)).request(2, 7, {
    replicaId: -2,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: p, currentLeaderEpoch: -1, timestamp: -1 }] }],
  });
  const part = ((res.topics as Msg[])[0]!.partitions as Msg[])[0]!;
  return part.errorCode === ErrorCode.NONE ? (part.offset as number) : -1;
}

test('an RF 3 topic led on both sides replicates to every broker with acks=all', async () => {
  const topic = 'mixed-rf3';
  await createTopic(topic, [
    [1, 2, 3],
    [3, 1, 2],
    [2, 3, 1],
  ]);
  for (const p of [0, 1, 2]) await produce(topic, p);
  assert.equal((await state(topic, 1)).leader, APACHE_ID, 'partition 1 is led by the Apache broker');
  for (const p of [0, 1, 2]) {
    await waitFor(async () => (await state(topic, p)).isr.length === 3, { timeoutMs: SLOW_MS, what: `${topic}-${p} ISR of 3` });
    await waitFor(() => [1, 2].every((id) => broker(id).replicas.get(topic, p)?.log.logEndOffset === RECORDS), {
      timeoutMs: SLOW_MS,
      what: `our replicas of ${topic}-${p}`,
    });
    await waitFor(async () => (await apacheLogEnd(topic, p)) === RECORDS, {
      timeoutMs: SLOW_MS,
      what: `the Apache replica of ${topic}-${p}`,
    });
  }
});

test('our controller reassigns a partition with data from [1,2] onto the Apache broker, [2,3]', async () => {
  const topic = 'mixed-move';
  await createTopic(topic, [[1, 2]]);
  await produce(topic, 0);
  const ctl = await controllerId();
  const res = await (await client(ctl)).request(45, 0, {
    timeoutMs: 30_000,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, replicas: [2, APACHE_ID] }] }],
  });
  assert.equal(((res.responses as Msg[])[0]!.partitions as Msg[])[0]!.errorCode, ErrorCode.NONE);
  await waitFor(
    async () => {
      const a = await broker(1).zk.getTopicAssignment(topic);
      return a?.partitions.get(0)?.join() === `2,${APACHE_ID}` && a.addingReplicas.size === 0;
    },
    { timeoutMs: SLOW_MS, what: 'the final assignment [2,3]' },
  );
  const s = await state(topic, 0);
  assert.deepEqual([...s.isr].sort(), [2, APACHE_ID]);
  assert.equal(s.leader, 2);
  assert.equal(await apacheLogEnd(topic, 0), RECORDS);
  await waitFor(() => broker(1).replicas.get(topic, 0) === undefined, { what: 'broker 1 to drop its replica' });
});

/** Connections by broker id and port (the Apache broker comes back on a new port). */
const leaderClients = new Map<string, BrokerClient>();

async function leaderClient(id: number): Promise<BrokerClient> {
  const port = id === APACHE_ID ? apache!.port : broker(id).port;
  const k = `${id}:${port}`;
  let c = leaderClients.get(k);
  if (!c) {
    c = await BrokerClient.connect({ host: '127.0.0.1', port, clientId: 'mixed-load', requestTimeoutMs: 10_000 });
    leaderClients.set(k, c);
    clients.push(c);
  }
  return c;
}

/** One message with a unique value, acks=all, to the leader ZooKeeper names; a failure is simply not acknowledged. */
async function sendOne(topic: string, partition: number, id: string): Promise<boolean> {
  let leader = -1;
  try {
    leader = (await state(topic, partition)).leader;
    if (leader < 0 || (leader === APACHE_ID && !apache)) return false;
    const res = await (await leaderClient(leader)).request(0, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5_000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records: buildRecords({ records: [{ key: null, value: id }] }) }] }],
    });
    return ((res.responses as Msg[])[0]!.partitionResponses as Msg[])[0]!.errorCode === ErrorCode.NONE;
  } catch {
    for (const [k, c] of leaderClients) {
      if (!k.startsWith(`${leader}:`)) continue;
      c.close();
      leaderClients.delete(k);
    }
    return false;
  }
}

/** Every record of a partition, read from its leader up to the high watermark. */
async function readAll(topic: string, partition: number): Promise<ReadMessage[]> {
  const out: ReadMessage[] = [];
  const c = await leaderClient((await state(topic, partition)).leader);
  for (let offset = 0; ; ) {
    const res = await c.request(1, 12, {
      clusterId: null,
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic,
          partitions: [
            {
              partition,
              currentLeaderEpoch: -1,
              fetchOffset: offset,
              lastFetchedEpoch: -1,
              logStartOffset: -1,
              partitionMaxBytes: 1 << 20,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    });
    const part = ((res.responses as Msg[])[0]!.partitions as Msg[])[0]!;
    assert.equal(part.errorCode, ErrorCode.NONE);
    const before = offset;
    for (const b of decodeBatches(part.records as Buffer)) {
      for (const r of b.records) {
        if (r.offset < offset) continue;
        out.push({ id: r.value!.toString(), partition, offset: r.offset });
        offset = r.offset + 1;
      }
    }
    if (offset >= (part.highWatermark as number) || offset === before) return out;
  }
}

test('kill -9 of the Apache broker under acks=all load loses no acknowledged message; it comes back and rejoins every ISR', async () => {
  const topic = 'mixed-kill';
  await createTopic(
    topic,
    [
      [1, 2, 3],
      [3, 1, 2],
      [2, 3, 1],
    ],
    { 'min.insync.replicas': '2' },
  );
  for (const p of [0, 1, 2]) await waitFor(async () => (await state(topic, p)).isr.length === 3, { timeoutMs: SLOW_MS, what: 'ISR of 3' });
  const sent: SentMessage[] = [];
  let stopLoad = false;
  let seq = 0;
  const acked = (): number => sent.filter((m) => m.acked).length;
  const load = (async () => {
    while (!stopLoad) {
      for (const partition of [0, 1, 2]) {
        const id = `m-${seq}`;
        sent.push({ id, producer: `p${partition}`, seq: seq++, partition, acked: await sendOne(topic, partition, id) });
      }
    }
  })();
  try {
    await waitFor(() => acked() >= 30, { timeoutMs: SLOW_MS, what: 'acks before the kill' });
    process.kill(apache!.pid, 'SIGKILL');
    const dead = apache!;
    apache = undefined;
    await dead.stop().catch(() => undefined);
    // Its session expires; our controller moves partition 1 (led there) and shrinks every ISR.
    await waitFor(async () => (await state(topic, 1)).leader !== APACHE_ID, {
      timeoutMs: SLOW_MS,
      what: 'a new leader for the partition the Apache broker led',
    });
    const afterKill = acked();
    await waitFor(() => acked() >= afterKill + 20, { timeoutMs: SLOW_MS, what: 'acks with the Apache broker gone' });
    apache = await startApacheKafka({ zkConnect: cluster.zkConnect, brokerId: APACHE_ID, logDir: apacheLogDir, extraProps: APACHE_PROPS });
    for (const p of [0, 1, 2]) {
      await waitFor(async () => (await state(topic, p)).isr.includes(APACHE_ID), {
        timeoutMs: SLOW_MS,
        what: `broker 3 back in the ISR of ${p}`,
      });
    }
    const back = acked();
    await waitFor(() => acked() >= back + 20, { timeoutMs: SLOW_MS, what: 'acks after the return' });
  } finally {
    stopLoad = true;
    await load;
  }
  const read: ReadMessage[] = [];
  for (const p of [0, 1, 2]) read.push(...(await readAll(topic, p)));
  const verdict = checkHistory(sent, read);
  assert.ok(historyHolds(verdict), JSON.stringify({ ...verdict, acked: verdict.acked, read: verdict.read }));
  assert.ok(verdict.acked >= 70);
  // The returned replica agrees with the leaders up to their log end.
  for (const p of [0, 1, 2]) {
    const leaderEnd = Math.max(...[1, 2].map((id) => broker(id).replicas.get(topic, p)?.log.logEndOffset ?? -1));
    await waitFor(async () => (await apacheLogEnd(topic, p)) === leaderEnd, {
      timeoutMs: SLOW_MS,
      what: `the Apache replica of ${p} caught up`,
    });
  }
});

test("the Apache broker's clean shutdown moves its leaderships through our controller", async () => {
  const topic = 'mixed-rf3';
  // Record the ControlledShutdown requests our controller answers (the Apache broker sends v3).
  const controller = broker(await controllerId()).controller;
  const asked: { brokerId: number; remaining: number }[] = [];
  const answer = controller.controlledShutdown.bind(controller);
  controller.controlledShutdown = async (brokerId, brokerEpoch) => {
    const r = await answer(brokerId, brokerEpoch);
    asked.push({ brokerId, remaining: r.remaining.length });
    return r;
  };
  await apache!.stop();
  apache = undefined;
  await waitFor(() => !broker(1).metadata.brokers.has(APACHE_ID), { timeoutMs: SLOW_MS, what: 'broker 3 to leave' });
  for (const p of [0, 1, 2]) {
    const s = await state(topic, p);
    assert.notEqual(s.leader, APACHE_ID);
    assert.ok(!s.isr.includes(APACHE_ID), `${topic}-${p} ISR ${s.isr} without broker 3`);
    await produce(topic, p);
  }
  assert.ok(asked.length > 0 && asked.every((x) => x.brokerId === APACHE_ID), JSON.stringify(asked));
  assert.equal(asked.at(-1)!.remaining, 0, 'the last answer let it stop with nothing led');
});
