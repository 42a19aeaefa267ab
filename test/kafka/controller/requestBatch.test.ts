import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiDef } from '../../../src/kafka/protocol/apis.js';
import { KafkaReader, KafkaWriter } from '../../../src/kafka/protocol/buffers.js';
import type { Msg } from '../../../src/kafka/protocol/schema.js';
import type { ControllerNotification, LeaderAndIsrState } from '../../../src/kafka/controller/decisions.js';
import { type BatchContext, type LiveBrokerInfo, buildRequests } from '../../../src/kafka/controller/requestBatch.js';
import { uuidToString } from '../../../src/kafka/zk/layout.js';

const TOPIC_ID = uuidToString(Buffer.alloc(16, 7));
const broker = (id: number, rack: string | null = null): LiveBrokerInfo => ({
  id,
  epoch: 1000 + id,
  endpoints: [{ listener: 'PLAINTEXT', host: `h${id}`, port: 9090 + id, securityProtocol: 'PLAINTEXT' }],
  rack,
});
const st = (leader: number, isr: number[], replicas: number[], leaderEpoch = 0, zkVersion = 0): LeaderAndIsrState => ({
  leader,
  leaderEpoch,
  isr,
  replicas,
  zkVersion,
  controllerEpoch: 3,
  leaderRecoveryState: 0,
});

/** A 3-broker cluster (broker 3 dead) with topic t: p0 on [1,2,3] led by 1, p1 on [2,3] led by 2. */
function ctx(): BatchContext {
  const states = new Map([
    ['t\u00000', st(1, [1, 2], [1, 2, 3], 4, 7)],
    ['t\u00001', st(2, [2], [2, 3], 1, 2)],
  ]);
  return {
    controllerId: 1,
    controllerEpoch: 3,
    brokers: new Map([
      [1, broker(1, 'a')],
      [2, broker(2)],
    ]),
    interBrokerListener: 'PLAINTEXT',
    state: (t, p) => states.get(`${t}\u0000${p}`),
    topicId: (t) => (t === 't' ? TOPIC_ID : undefined),
    allPartitions: () => [
      { topic: 't', partition: 0 },
      { topic: 't', partition: 1 },
    ],
  };
}

/**
 * Encodes a request body at `version`, decodes it, and encodes that again to the same bytes: the
 * body fits the schema at that version. Returns the body (fields of other versions aside).
 */
function roundTrip(apiKey: number, version: number, body: Msg): Msg {
  const def = apiDef(apiKey)!;
  const w = new KafkaWriter(256);
  def.request.encode(w, version, body);
  const bytes = w.toBuffer();
  const decoded = def.request.decode(new KafkaReader(bytes), version);
  const again = new KafkaWriter(256);
  def.request.encode(again, version, decoded);
  assert.deepEqual(again.toBuffer(), bytes);
  return body;
}

test('a leadership change: LeaderAndIsr v7 to the live replicas, then UpdateMetadata v8 to every live broker', () => {
  const c = ctx();
  const n: ControllerNotification = {
    kind: 'leaderAndIsr',
    topic: 't',
    topicId: TOPIC_ID,
    partition: 0,
    state: c.state('t', 0)!,
    isNew: true,
  };
  const out = buildRequests(c, [n]);
  assert.deepEqual(
    out.map((r) => [r.brokerId, r.apiKey, r.version]),
    [
      [1, 4, 7],
      [1, 6, 8],
      [2, 4, 7],
      [2, 6, 8],
    ],
  );
  const li = roundTrip(4, 7, out[2]!.body);
  assert.deepEqual(li, {
    controllerId: 1,
    isKRaftController: false,
    controllerEpoch: 3,
    brokerEpoch: 1002,
    type: 0,
    topicStates: [
      {
        topicName: 't',
        topicId: TOPIC_ID,
        partitionStates: [
          {
            partitionIndex: 0,
            controllerEpoch: 3,
            leader: 1,
            leaderEpoch: 4,
            isr: [1, 2],
            partitionEpoch: 7,
            replicas: [1, 2, 3],
            addingReplicas: [],
            removingReplicas: [],
            isNew: true,
            leaderRecoveryState: 0,
          },
        ],
      },
    ],
    liveLeaders: [{ brokerId: 1, hostName: 'h1', port: 9091 }],
  });
  const um = roundTrip(6, 8, out[1]!.body);
  assert.deepEqual(um, {
    controllerId: 1,
    isKRaftController: false,
    controllerEpoch: 3,
    brokerEpoch: 1001,
    topicStates: [
      {
        topicName: 't',
        topicId: TOPIC_ID,
        partitionStates: [
          {
            partitionIndex: 0,
            controllerEpoch: 3,
            leader: 1,
            leaderEpoch: 4,
            isr: [1, 2],
            zkVersion: 7,
            replicas: [1, 2, 3],
            offlineReplicas: [3],
          },
        ],
      },
    ],
    liveBrokers: [
      { id: 1, endpoints: [{ port: 9091, host: 'h1', listener: 'PLAINTEXT', securityProtocol: 0 }], rack: 'a' },
      { id: 2, endpoints: [{ port: 9092, host: 'h2', listener: 'PLAINTEXT', securityProtocol: 0 }], rack: null },
    ],
  });
});

test('a full UpdateMetadata carries every partition; full LeaderAndIsr goes only to the named brokers with Type 1', () => {
  const c = ctx();
  const out = buildRequests(c, [
    { kind: 'metadataChange', partitions: 'all', brokers: [2] },
    { kind: 'leaderAndIsr', topic: 't', topicId: TOPIC_ID, partition: 1, state: c.state('t', 1)!, brokers: [2], full: true },
  ]);
  assert.deepEqual(
    out.map((r) => [r.brokerId, r.apiKey]),
    [
      [1, 6],
      [2, 4],
      [2, 6],
    ],
  );
  assert.equal(roundTrip(4, 7, out[1]!.body).type, 1);
  const full = roundTrip(6, 8, out[2]!.body);
  assert.deepEqual(
    full.topicStates[0].partitionStates.map((p: Msg) => [p.partitionIndex, p.leader, p.offlineReplicas]),
    [
      [0, 1, [3]],
      [1, 2, [3]],
    ],
  );
  // broker 1 hears of partition 1 only (the LeaderAndIsr's partition), not the whole cluster
  assert.deepEqual(
    roundTrip(6, 8, out[0]!.body).topicStates[0].partitionStates.map((p: Msg) => p.partitionIndex),
    [1],
  );
});

test('topic deletion: UpdateMetadata with leader -2, then StopReplica v4 with deletePartition and leader epoch -2', () => {
  const c = ctx();
  const out = buildRequests(c, [
    { kind: 'metadataChange', partitions: [{ topic: 't', partition: 1 }], deleting: true },
    { kind: 'stopReplica', topic: 't', partition: 1, deletePartition: true, replicas: [2, 3], leaderEpoch: -2 },
  ]);
  assert.deepEqual(
    out.map((r) => [r.brokerId, r.apiKey, r.version]),
    [
      [1, 6, 8],
      [2, 6, 8],
      [2, 5, 4],
    ],
  );
  const um = roundTrip(6, 8, out[1]!.body);
  assert.deepEqual(um.topicStates[0].partitionStates[0], {
    partitionIndex: 1,
    controllerEpoch: 3,
    leader: -2,
    leaderEpoch: 0,
    isr: [2],
    zkVersion: 0,
    replicas: [2, 3],
    offlineReplicas: [3],
  });
  assert.deepEqual(roundTrip(5, 4, out[2]!.body), {
    controllerId: 1,
    isKRaftController: false,
    controllerEpoch: 3,
    brokerEpoch: 1002,
    topicStates: [{ topicName: 't', partitionStates: [{ partitionIndex: 1, leaderEpoch: -2, deletePartition: true }] }],
  });
});

test('requests for brokers that are not live are dropped; an empty metadata change still tells everyone the brokers', () => {
  const c = ctx();
  const out = buildRequests(c, [
    { kind: 'stopReplica', topic: 't', partition: 0, deletePartition: false, replicas: [3], leaderEpoch: 4 },
    { kind: 'metadataChange' },
  ]);
  assert.deepEqual(
    out.map((r) => [r.brokerId, r.apiKey]),
    [
      [1, 6],
      [2, 6],
    ],
  );
  const um = roundTrip(6, 8, out[0]!.body);
  assert.deepEqual(um.topicStates, []);
  assert.deepEqual(
    um.liveBrokers.map((b: Msg) => b.id),
    [1, 2],
  );
});
