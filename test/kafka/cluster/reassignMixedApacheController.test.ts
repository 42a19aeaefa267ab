// A mixed cluster with the Apache Kafka 3.9 broker (id 3) as the controller of two of ours (ids 1,
// 2): it starts first on the ZooKeeper and wins the election. Our brokers take its UpdateMetadata
// v8 / LeaderAndIsr v7 / StopReplica v4, refuse admin requests meant for the controller with
// NOT_CONTROLLER as Kafka does, replicate with it in both directions, follow its reassignment of
// a partition onto them, and shut down cleanly through its ControlledShutdown.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { KafkaTestingCluster } from '../../../src/cluster/kafkaTestingCluster.js';
import type { Broker } from '../../../src/kafka/broker/broker.js';
import { ADVERTISED } from '../../../src/kafka/broker/versions.js';
import { BrokerClient } from '../../../src/kafka/net/brokerClient.js';
import { ErrorCode } from '../../../src/kafka/protocol/errors.js';
import type { Msg } from '../../../src/kafka/protocol/schema.js';
import { type KafkaHandle, kafkaJarsPresent, startApacheKafka } from '../../helpers/apacheKafka.js';
import { type StartedZk, startOurZooKeeper } from '../../helpers/ourZk.js';
import { waitFor } from '../../helpers/wait.js';
import { buildBatch } from '../storage/batches.js';

const APACHE_ID = 3;
const RECORDS = 10;
const SLOW_MS = 60_000;

let zk: StartedZk;
let apache: KafkaHandle | undefined;
let cluster: KafkaTestingCluster | undefined;
const clients: BrokerClient[] = [];

before(async () => {
  assert.ok(kafkaJarsPresent('3.9'), 'Apache Kafka 3.9 jars are cached (scripts/fetch-kafka.sh)');
  zk = await startOurZooKeeper();
  apache = await startApacheKafka({
    zkConnect: zk.connectString,
    brokerId: APACHE_ID,
    extraProps: { 'replica.fetch.wait.max.ms': '100', 'offsets.topic.replication.factor': '1', 'auto.leader.rebalance.enable': 'false' },
  });
  cluster = await KafkaTestingCluster.start({
    brokers: 2,
    zkConnect: zk.connectString,
    brokerProps: { 'replica.fetch.wait.max.ms': '100' },
  });
});

after(async () => {
  for (const c of clients) c.close();
  await cluster?.close();
  await apache?.stop();
  await zk?.stop();
});

function broker(id: number): Broker {
  const b = cluster!.get(id).broker;
  assert.ok(b, `broker ${id} runs`);
  return b;
}

async function client(id: number): Promise<BrokerClient> {
  const port = id === APACHE_ID ? apache!.port : broker(id).port;
  const c = await BrokerClient.connect({ host: '127.0.0.1', port, clientId: 'apache-controller', requestTimeoutMs: 30_000 });
  clients.push(c);
  return c;
}

const state = (topic: string, p: number) => cluster!.partitionState(topic, p);

async function produce(topic: string, p: number): Promise<void> {
  const s = await state(topic, p);
  const res = await (await client(s.leader)).request(0, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 20_000,
    topicData: [{ name: topic, partitionData: [{ index: p, records: buildBatch({ count: RECORDS, valueBytes: 24 }) }] }],
  });
  assert.equal(((res.responses as Msg[])[0]!.partitionResponses as Msg[])[0]!.errorCode, ErrorCode.NONE, `${topic}-${p} at ${s.leader}`);
}

const create = (topic: string, assignment: number[][]) => ({
  topics: [
    {
      name: topic,
      numPartitions: -1,
      replicationFactor: -1,
      assignments: assignment.map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds })),
      configs: [],
    },
  ],
  timeoutMs: 30_000,
  validateOnly: false,
});

test('our brokers learn the Apache controller and answer its admin requests NOT_CONTROLLER', async () => {
  for (const id of [1, 2]) {
    // The controller's UpdateMetadata naming the broker that started last may still be on its way.
    await waitFor(() => [...broker(id).metadata.brokers.keys()].sort().join() === '1,2,3', {
      timeoutMs: SLOW_MS,
      what: () => `broker ${id} to learn brokers 1, 2, 3 (has ${[...broker(id).metadata.brokers.keys()]})`,
    });
    assert.equal(broker(id).metadata.controllerId, APACHE_ID);
    assert.equal(broker(id).controller.isActive, false);
  }
  const refused = await (await client(1)).request(19, 5, create('apache-ctl-refused', [[1]]));
  assert.equal((refused.topics as Msg[])[0]!.errorCode, ErrorCode.NOT_CONTROLLER);
  const moves = await (await client(2)).request(46, 0, { timeoutMs: 5_000, topics: null });
  assert.equal(moves.errorCode, ErrorCode.NOT_CONTROLLER);
  // We advertise the reassignment APIs at the versions an Apache 3.9 ZooKeeper-mode broker does.
  const versions = await (await client(APACHE_ID)).request(18, 3, { clientSoftwareName: 'cg', clientSoftwareVersion: '1' });
  for (const key of [45, 46]) {
    const k = (versions.apiKeys as Msg[]).find((a) => a.apiKey === key)!;
    assert.deepEqual([k.minVersion, k.maxVersion], ADVERTISED.get(key), `API ${key}`);
  }
});

test('a topic created by the Apache controller replicates in both directions', async () => {
  const topic = 'apache-ctl-rf3';
  const res = await (await client(APACHE_ID)).request(
    19,
    5,
    create(topic, [
      [1, 2, 3],
      [3, 1, 2],
    ]),
  );
  assert.equal((res.topics as Msg[])[0]!.errorCode, ErrorCode.NONE);
  for (const p of [0, 1]) {
    await waitFor(async () => (await state(topic, p)).isr.length === 3, { timeoutMs: SLOW_MS, what: `ISR of ${topic}-${p}` });
    await waitFor(() => broker(1).replicas.get(topic, p) !== undefined && broker(2).replicas.get(topic, p) !== undefined, {
      what: 'our replicas',
    });
    await produce(topic, p);
    await waitFor(() => [1, 2].every((id) => broker(id).replicas.get(topic, p)?.log.logEndOffset === RECORDS), {
      timeoutMs: SLOW_MS,
      what: `our replicas of ${topic}-${p} hold the records`,
    });
  }
  assert.equal((await state(topic, 1)).leader, APACHE_ID);
});

test("the Apache controller's reassignment moves a partition from [3,1] to [1,2], data included", async () => {
  const topic = 'apache-ctl-move';
  const ctl = await client(APACHE_ID);
  assert.equal(((await ctl.request(19, 5, create(topic, [[3, 1]]))).topics as Msg[])[0]!.errorCode, ErrorCode.NONE);
  await waitFor(async () => (await state(topic, 0)).isr.length === 2, { timeoutMs: SLOW_MS, what: 'ISR of 2' });
  await produce(topic, 0);
  const res = await ctl.request(45, 0, {
    timeoutMs: 30_000,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, replicas: [1, 2] }] }],
  });
  assert.equal(res.errorCode, ErrorCode.NONE);
  assert.equal(((res.responses as Msg[])[0]!.partitions as Msg[])[0]!.errorCode, ErrorCode.NONE);
  await waitFor(
    async () => {
      const a = await broker(1).zk.getTopicAssignment(topic);
      return a?.partitions.get(0)?.join() === '1,2' && a.addingReplicas.size === 0;
    },
    { timeoutMs: SLOW_MS, what: 'the Apache controller to finish the move' },
  );
  const s = await state(topic, 0);
  assert.equal(s.leader, 1);
  assert.deepEqual([...s.isr].sort(), [1, 2]);
  await waitFor(() => broker(2).replicas.get(topic, 0)?.log.logEndOffset === RECORDS, { timeoutMs: SLOW_MS, what: 'broker 2 caught up' });
});

test('our broker shuts down cleanly through the Apache controller', async () => {
  const topic = 'apache-ctl-rf3';
  await cluster!.stopBroker(2);
  for (const p of [0, 1]) {
    const s = await state(topic, p);
    assert.notEqual(s.leader, 2);
    assert.ok(!s.isr.includes(2), `ISR ${s.isr} without broker 2`);
    await produce(topic, p);
  }
});
