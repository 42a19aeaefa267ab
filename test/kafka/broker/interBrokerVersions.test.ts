// The request versions an Apache Kafka 3.9 broker sends as a follower (Fetch v17 with the replica
// identity in the tagged ReplicaState, ListOffsets v9, OffsetForLeaderEpoch v4), encoded with our
// declarations and sent over the listener of an in-process leader. Broker 2 exists only as the
// follower these requests speak for: its state is applied directly on broker 1.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { KafkaTestingCluster } from '../../../src/cluster/kafkaTestingCluster.js';
import type { Broker } from '../../../src/kafka/broker/broker.js';
import type { LeaderState } from '../../../src/kafka/broker/replicaManager.js';
import { ADVERTISED, acceptedRange } from '../../../src/kafka/broker/versions.js';
import { BrokerClient } from '../../../src/kafka/net/brokerClient.js';
import { ErrorCode } from '../../../src/kafka/protocol/errors.js';
import type { Msg } from '../../../src/kafka/protocol/schema.js';
import { randomKafkaUuid } from '../../../src/kafka/zk/layout.js';
import { buildBatch } from '../storage/batches.js';

const TOPIC = 'wire-gaps';
const TOPIC_ID = randomKafkaUuid();
const FOLLOWER = 2;
const FOLLOWER_EPOCH = 4242;

let cluster: KafkaTestingCluster;
let client: BrokerClient;
let leader: Broker;

before(async () => {
  cluster = await KafkaTestingCluster.start({ brokers: 1 });
  leader = cluster.get(1).broker!;
  const state: LeaderState = { leader: 1, leaderEpoch: 3, isr: [1, FOLLOWER], replicas: [1, FOLLOWER], zkVersion: 0, controllerEpoch: 1 };
  // The follower is a live broker in the leader's eyes (the HW rule counts only live ISR members).
  leader.metadata.brokers.set(FOLLOWER, { id: FOLLOWER, host: '127.0.0.1', port: 1, rack: null });
  leader.metadata.upsertPartition(TOPIC, TOPIC_ID, { partition: 0, ...state });
  leader.replicas.applyLeaderAndIsr(TOPIC, TOPIC_ID, 0, state, leader.logConfigFor(TOPIC));
  client = await BrokerClient.connect({ host: '127.0.0.1', port: leader.port, clientId: 'apache-follower', requestTimeoutMs: 20_000 });
  const resp = await client.request(0, 9, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 5_000,
    topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: buildBatch({ count: 5, valueBytes: 10 }) }] }],
  });
  const pr = ((resp.responses as Msg[])[0]!.partitionResponses as Msg[])[0]!;
  assert.equal(pr.errorCode, ErrorCode.NONE);
});

after(async () => {
  client?.close();
  await cluster?.close();
});

function fetchV17(fetchOffset: number): Promise<Msg> {
  return client.request(1, 17, {
    clusterId: null,
    replicaState: { replicaId: FOLLOWER, replicaEpoch: FOLLOWER_EPOCH },
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: 0,
    topics: [
      {
        topicId: TOPIC_ID,
        partitions: [
          {
            partition: 0,
            currentLeaderEpoch: 3,
            fetchOffset,
            lastFetchedEpoch: fetchOffset === 0 ? -1 : 3,
            logStartOffset: 0,
            partitionMaxBytes: 1 << 20,
            replicaDirectoryId: randomKafkaUuid(),
          },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  });
}

test('the listener accepts the replica versions without advertising them to clients', () => {
  assert.deepEqual(acceptedRange(1), [ADVERTISED.get(1)![0], 17]);
  assert.deepEqual(acceptedRange(2), [0, 9]);
  assert.ok(ADVERTISED.get(1)![1] < 17, 'clients keep the advertised Fetch range');
});

test('a follower fetch at v17 reads past the HW and moves the leader view of that follower', async () => {
  const p = leader.replicas.get(TOPIC, 0)!;
  assert.equal(p.log.highWatermark, 0, 'the follower has not fetched: the HW waits for it');
  const first = await fetchV17(0);
  const part = ((first.responses as Msg[])[0]!.partitions as Msg[])[0]!;
  assert.equal(part.errorCode, ErrorCode.NONE);
  assert.ok((part.records as Buffer).length > 0, 'a replica reads records above the HW');
  assert.equal(p.leaderCore!.remotes.get(FOLLOWER)!.logEndOffset, 0);

  const second = await fetchV17(5);
  const part2 = ((second.responses as Msg[])[0]!.partitions as Msg[])[0]!;
  assert.equal(part2.errorCode, ErrorCode.NONE);
  assert.equal(p.leaderCore!.remotes.get(FOLLOWER)!.logEndOffset, 5, 'the ReplicaState replica id was used');
  assert.equal(p.log.highWatermark, 5, 'the HW moved with the follower');
  assert.equal(part2.highWatermark, 5);
});

test('ListOffsets v9 from a replica: latest is the log end; earliest-local and latest-tiered answer as Kafka without tiering', async () => {
  // A fresh produce leaves the log end above the HW until the follower fetches again.
  await client.request(0, 9, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 5_000,
    topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: buildBatch({ count: 2, valueBytes: 10 }) }] }],
  });
  const ask = async (replicaId: number, timestamp: number, version = 9): Promise<Msg> => {
    const resp = await client.request(2, version, {
      replicaId,
      isolationLevel: 0,
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: 3, timestamp }] }],
    });
    return ((resp.topics as Msg[])[0]!.partitions as Msg[])[0]!;
  };
  const replicaLatest = await ask(FOLLOWER, -1);
  assert.equal(replicaLatest.errorCode, ErrorCode.NONE);
  assert.equal(replicaLatest.offset, 7, 'a replica is answered with the log end');
  assert.equal(replicaLatest.leaderEpoch, 3);
  assert.equal((await ask(-1, -1)).offset, 5, 'a consumer is answered with the HW');
  const earliestLocal = await ask(FOLLOWER, -4, 8);
  assert.equal(earliestLocal.offset, 0);
  assert.equal(earliestLocal.leaderEpoch, 3);
  const latestTiered = await ask(FOLLOWER, -5);
  assert.equal(latestTiered.offset, -1);
  assert.equal(latestTiered.leaderEpoch, -1);
});

test('OffsetForLeaderEpoch v4 from a replica gives the end of the asked epoch', async () => {
  const resp = await client.request(23, 4, {
    replicaId: FOLLOWER,
    topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: 3, leaderEpoch: 3 }] }],
  });
  const part = ((resp.topics as Msg[])[0]!.partitions as Msg[])[0]!;
  assert.equal(part.errorCode, ErrorCode.NONE);
  assert.equal(part.leaderEpoch, 3);
  assert.equal(part.endOffset, 7);
});
