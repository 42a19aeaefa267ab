// Partition reassignment on three in-process brokers: AlterPartitionReassignments and
// ListPartitionReassignments over the wire (answered by the controller, NOT_CONTROLLER elsewhere),
// the topic znode's adding/removing replicas while a move is under way, cancellation, and the
// legacy /admin/reassign_partitions znode. A stalled move uses a broker that is registered in
// ZooKeeper but never fetches (id 4, a bare registration), so "in progress" is a state, not a race.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { KafkaTestingCluster } from '../../../src/cluster/kafkaTestingCluster.js';
import type { Broker } from '../../../src/kafka/broker/broker.js';
import { BrokerClient } from '../../../src/kafka/net/brokerClient.js';
import { ErrorCode } from '../../../src/kafka/protocol/errors.js';
import { type Msg, ZERO_UUID } from '../../../src/kafka/protocol/schema.js';
import { KafkaZk } from '../../../src/kafka/zk/kafkaZk.js';
import { Paths, encodeReassignPartitions, topicPath } from '../../../src/kafka/zk/layout.js';
import { buildBatch } from '../storage/batches.js';
import { freePort } from '../../helpers/net.js';
import { waitFor } from '../../helpers/wait.js';

let cluster: KafkaTestingCluster;
const clients = new Map<number, BrokerClient>();

before(async () => {
  cluster = await KafkaTestingCluster.start({
    brokers: 3,
    brokerProps: {
      'replica.fetch.wait.max.ms': '100',
      // A StopReplica(delete) to the never-fetching broker waits this long at most.
      'controller.socket.timeout.ms': '2000',
    },
  });
});

after(async () => {
  for (const c of clients.values()) c.close();
  await cluster?.close();
});

function broker(id: number): Broker {
  const b = cluster.get(id).broker;
  assert.ok(b, `broker ${id} runs`);
  return b;
}

async function controllerId(): Promise<number> {
  return waitFor(() => [1, 2, 3].find((id) => cluster.get(id).broker?.controller?.isActive), { what: 'an active controller' });
}

async function client(id: number): Promise<BrokerClient> {
  let c = clients.get(id);
  if (!c) {
    c = await BrokerClient.connect({ host: '127.0.0.1', port: broker(id).port, clientId: 'reassign-test', requestTimeoutMs: 20_000 });
    clients.set(id, c);
  }
  return c;
}

async function createTopic(name: string, replicas: number[]): Promise<void> {
  const c = await client(await controllerId());
  const res = await c.request(19, 5, {
    topics: [{ name, numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: replicas }], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  assert.equal(((res.topics as Msg[])[0] as Msg).errorCode, ErrorCode.NONE);
}

async function alter(id: number, topic: string, replicas: number[] | null, partition = 0): Promise<Msg> {
  return (await client(id)).request(45, 0, {
    timeoutMs: 10_000,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, replicas }] }],
  });
}

async function list(id: number, topics: Msg[] | null = null): Promise<Msg> {
  return (await client(id)).request(46, 0, { timeoutMs: 10_000, topics });
}

const partitionResult = (res: Msg): Msg => ((res.responses as Msg[])[0]!.partitions as Msg[])[0]!;

async function topicZnode(topic: string): Promise<Record<string, unknown>> {
  const { data } = await broker(1).zkClient.getData(topicPath(topic));
  return JSON.parse(data!.toString()) as Record<string, unknown>;
}

test('a move from [1,2] to [2,3] completes with its data; other brokers answer NOT_CONTROLLER', async () => {
  const topic = 'move-data';
  await createTopic(topic, [1, 2]);
  await waitFor(() => broker(1).replicas.get(topic, 0)?.isLeader, { what: 'broker 1 to lead' });
  const produced = await (await client(1)).request(0, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: buildBatch({ count: 10, valueBytes: 16 }) }] }],
  });
  assert.equal(((produced.responses as Msg[])[0]!.partitionResponses as Msg[])[0]!.errorCode, ErrorCode.NONE);

  const ctl = await controllerId();
  const other = [1, 2, 3].find((id) => id !== ctl)!;
  const refused = await alter(other, topic, [2, 3]);
  assert.equal(refused.errorCode, ErrorCode.NOT_CONTROLLER);
  assert.equal(refused.errorMessage, 'This is not the correct controller for this cluster.');
  assert.deepEqual(refused.responses, []);
  assert.equal((await list(other)).errorCode, ErrorCode.NOT_CONTROLLER);

  const res = await alter(ctl, topic, [2, 3]);
  assert.equal(res.errorCode, ErrorCode.NONE);
  assert.equal(partitionResult(res).errorCode, ErrorCode.NONE);
  assert.equal(partitionResult(res).errorMessage, null);

  await waitFor(
    async () => {
      const z = await topicZnode(topic);
      return JSON.stringify(z['partitions']) === '{"0":[2,3]}' && JSON.stringify(z['adding_replicas']) === '{}';
    },
    { timeoutMs: 20_000, what: 'the final assignment in the topic znode' },
  );
  assert.deepEqual((await list(ctl)).topics, []);
  const z = await topicZnode(topic);
  assert.deepEqual(z['removing_replicas'], {});
  const state = await cluster.partitionState(topic, 0);
  assert.ok([2, 3].includes(state.leader), `leader ${state.leader} is a target replica`);
  assert.deepEqual([...state.isr].sort(), [2, 3]);
  // Broker 1 was told to delete its replica; brokers 2 and 3 hold the same records.
  await waitFor(() => broker(1).replicas.get(topic, 0) === undefined, { what: 'broker 1 to drop its replica' });
  const bytes = (id: number): Buffer => {
    const p = broker(id).replicas.get(topic, 0)!;
    return Buffer.concat(p.log.read(0, 1 << 20, p.log.logEndOffset, true).records);
  };
  await waitFor(() => broker(3).replicas.get(topic, 0)?.log.logEndOffset === 10, { what: 'broker 3 to hold the records' });
  assert.ok(bytes(3).equals(bytes(2)));
  // Every broker's metadata shows the new replicas.
  await waitFor(() => [1, 2, 3].every((id) => broker(id).metadata.topics.get(topic)?.partitions.get(0)?.replicas.join() === '2,3'), {
    what: 'metadata with replicas [2,3]',
  });
});

test('a stalled move is listed with its adding/removing replicas and in the topic znode; cancelling reverts it', async () => {
  const topic = 'move-stall';
  await createTopic(topic, [1, 2]);
  const ctl = await controllerId();
  // Broker 4: registered, so the controller counts it live, but nothing behind it fetches.
  const fake = await KafkaZk.connect({ connectString: cluster.zkConnect, sessionTimeoutMs: 6000 });
  try {
    await fake.registerBroker({
      id: 4,
      endpoints: [{ listener: 'PLAINTEXT', host: '127.0.0.1', port: await freePort(), securityProtocol: 'PLAINTEXT' }],
    });
    await waitFor(() => broker(ctl).controller?.isActive && broker(ctl).metadata.brokers.has(4), {
      what: 'the controller to see broker 4',
    });

    const invalid = partitionResult(await alter(ctl, topic, [1, 5]));
    assert.equal(invalid.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assert.match(invalid.errorMessage as string, /not alive/);
    assert.equal(partitionResult(await alter(ctl, 'no-such-topic', [1])).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(partitionResult(await alter(ctl, topic, null)).errorCode, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);

    assert.equal(partitionResult(await alter(ctl, topic, [1, 4])).errorCode, ErrorCode.NONE);
    const listed = await list(ctl);
    assert.equal(listed.errorCode, ErrorCode.NONE);
    assert.deepEqual(listed.topics, [
      { name: topic, partitions: [{ partitionIndex: 0, replicas: [1, 4, 2], addingReplicas: [4], removingReplicas: [2] }] },
    ]);
    // Asking for other partitions only: nothing; for this one: it.
    assert.deepEqual((await list(ctl, [{ name: topic, partitionIndexes: [1] }])).topics, []);
    assert.equal(((await list(ctl, [{ name: topic, partitionIndexes: [0] }])).topics as Msg[]).length, 1);
    const z = await topicZnode(topic);
    assert.deepEqual(z['partitions'], { 0: [1, 4, 2] });
    assert.deepEqual(z['adding_replicas'], { 0: [4] });
    assert.deepEqual(z['removing_replicas'], { 0: [2] });
    // The current replicas heard of the move with a new leader epoch.
    await waitFor(() => broker(1).replicas.get(topic, 0)?.state.replicas.join() === '1,4,2', { what: 'the leader to learn RS' });

    // A new controller term rebuilds the move from the topic znode alone.
    const epoch = broker(ctl).controller.epoch!;
    await broker(1).zkClient.delete(Paths.controller);
    const ctl2 = await waitFor(() => [1, 2, 3].find((id) => (broker(id).controller.epoch ?? -1) > epoch), {
      what: 'a new controller term',
    });
    assert.deepEqual((await waitFor(async () => ((await list(ctl2)).topics as Msg[])[0])).partitions, [
      { partitionIndex: 0, replicas: [1, 4, 2], addingReplicas: [4], removingReplicas: [2] },
    ]);

    assert.equal(partitionResult(await alter(ctl2, topic, null)).errorCode, ErrorCode.NONE);
    assert.deepEqual((await list(ctl2)).topics, []);
    const back = await topicZnode(topic);
    assert.deepEqual(back['partitions'], { 0: [1, 2] });
    assert.deepEqual(back['adding_replicas'], {});
    assert.deepEqual(back['removing_replicas'], {});
    assert.deepEqual((await cluster.partitionState(topic, 0)).isr, [1, 2]);
  } finally {
    await fake.close();
  }
});

test('the legacy /admin/reassign_partitions znode is carried out and emptied; bad entries are dropped', async () => {
  const topic = 'move-znode';
  await createTopic(topic, [1, 2]);
  await waitFor(() => broker(1).replicas.get(topic, 0)?.isLeader, { what: 'broker 1 to lead' });
  await broker(1).zkClient.create(
    Paths.reassignPartitions,
    encodeReassignPartitions([
      { topic, partition: 0, replicas: [3, 2] },
      { topic: 'no-such-topic', partition: 0, replicas: [1] },
    ]),
  );
  await waitFor(async () => (await broker(1).zkClient.exists(Paths.reassignPartitions)) === null, {
    timeoutMs: 20_000,
    what: 'the znode to be removed',
  });
  const z = await topicZnode(topic);
  assert.deepEqual(z['partitions'], { 0: [3, 2] });
  assert.deepEqual(z['adding_replicas'], {});
  const state = await cluster.partitionState(topic, 0);
  assert.deepEqual([...state.isr].sort(), [2, 3]);
  assert.ok([2, 3].includes(state.leader));
});

test('CreateTopics, DeleteTopics and CreatePartitions at a broker that is not the controller answer NOT_CONTROLLER', async () => {
  const ctl = await controllerId();
  const other = await client([1, 2, 3].find((id) => id !== ctl)!);
  const created = await other.request(19, 7, {
    topics: [{ name: 'not-here', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5_000,
    validateOnly: false,
  });
  assert.deepEqual(
    (created.topics as Msg[]).map((t) => [t.name, t.errorCode, t.errorMessage, t.numPartitions]),
    [['not-here', ErrorCode.NOT_CONTROLLER, null, -1]],
  );
  assert.equal(await broker(ctl).zk.topicExists('not-here'), false);
  const deleted = await other.request(20, 6, { topics: [{ name: 'move-data', topicId: ZERO_UUID }], timeoutMs: 5_000 });
  assert.equal((deleted.responses as Msg[])[0]!.errorCode, ErrorCode.NOT_CONTROLLER);
  const grown = await other.request(37, 3, {
    topics: [{ name: 'move-data', count: 2, assignments: null }],
    timeoutMs: 5_000,
    validateOnly: false,
  });
  assert.deepEqual(
    (grown.results as Msg[]).map((r) => [r.name, r.errorCode, r.errorMessage]),
    [['move-data', ErrorCode.NOT_CONTROLLER, null]],
  );
  assert.equal(await broker(ctl).zk.topicExists('move-data'), true);
});
