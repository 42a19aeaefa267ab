// The control plane across 3 in-process brokers: the controller's LeaderAndIsr, UpdateMetadata and
// StopReplica reach every broker over the inter-broker listener; brokers fence stale controllers;
// AlterPartition, controlled shutdown, ElectLeaders and topic deletion run end to end. Nothing here
// depends on records flowing between brokers (that is replication's business), only on
// leadership and metadata.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { KafkaTestingCluster } from '../../../src/cluster/kafkaTestingCluster.js';
import type { Broker } from '../../../src/kafka/broker/broker.js';
import { BrokerClient } from '../../../src/kafka/net/brokerClient.js';
import { ErrorCode } from '../../../src/kafka/protocol/errors.js';
import type { Msg } from '../../../src/kafka/protocol/schema.js';
import { KafkaZk } from '../../../src/kafka/zk/kafkaZk.js';
import { kafkaJarsPresent, runKafkaTool } from '../../helpers/apacheKafka.js';
import { waitFor } from '../../helpers/wait.js';

const { Kafka, logLevel } = kafkajs;
const TOPIC = 'eventos-paralelos';

let cluster: KafkaTestingCluster;
let zk: KafkaZk;
const clients: BrokerClient[] = [];

before(async () => {
  // Rebalancing is driven explicitly here (ElectLeaders), not by the timer.
  cluster = await KafkaTestingCluster.start({
    brokers: 3,
    brokerProps: { 'auto.leader.rebalance.enable': 'false', 'controlled.shutdown.retry.backoff.ms': '200' },
  });
  zk = await KafkaZk.connect({ connectString: cluster.zkConnect });
});
after(async () => {
  for (const c of clients) c.close();
  await zk?.close();
  await cluster?.close();
});

const running = (): Broker[] => cluster.brokers.flatMap((b) => (b.broker ? [b.broker] : []));
const brokerOf = (id: number): Broker => cluster.get(id).broker!;
const controllerBroker = (): Broker | undefined => running().find((b) => b.controller.isActive);

async function client(id: number): Promise<BrokerClient> {
  const c = await BrokerClient.connect({ host: '127.0.0.1', port: cluster.get(id).port, clientId: 'control-plane-test' });
  clients.push(c);
  return c;
}

/** State znodes of the topic's partitions 0..n-1, as ZooKeeper has them now. */
async function zkStates(topic: string, n: number) {
  const out = [];
  for (let p = 0; p < n; p++) out.push((await zk.getPartitionState(topic, p))!);
  return out;
}

/** True when every running broker's metadata cache agrees with the state znodes and assignment. */
async function cachesMatchZk(topic: string, n: number): Promise<boolean> {
  const a = await zk.getTopicAssignment(topic);
  const states = await zkStates(topic, n);
  if (!a || states.some((s) => !s)) return false;
  return running().every((b) =>
    states.every((s, p) => {
      const m = b.metadata.topics.get(topic)?.partitions.get(p);
      return (
        m !== undefined &&
        m.leader === s.state.leader &&
        m.leaderEpoch === s.state.leaderEpoch &&
        m.zkVersion === s.zkVersion &&
        JSON.stringify(m.isr) === JSON.stringify(s.state.isr) &&
        JSON.stringify(m.replicas) === JSON.stringify(a.partitions.get(p))
      );
    }),
  );
}

test('a topic created with kafkajs reaches every broker: caches match the state znodes and each broker hosts its replicas', async () => {
  const kafka = new Kafka({ clientId: 'control-plane', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    assert.equal(
      await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true }),
      true,
    );
  } finally {
    await admin.disconnect();
  }
  await waitFor(() => cachesMatchZk(TOPIC, 3), { what: 'every cache to match the state znodes' });
  const states = await zkStates(TOPIC, 3);
  // leaders are spread (round-robin assignment, first replica leads) and the ISR is everyone
  assert.deepEqual(new Set(states.map((s) => s.state.leader)), new Set([1, 2, 3]));
  for (const s of states) assert.deepEqual([...s.state.isr].sort(), [1, 2, 3]);
  for (const b of running()) {
    assert.equal(b.metadata.controllerId, controllerBroker()!.brokerId);
    assert.deepEqual([...b.metadata.brokers.keys()].sort(), [1, 2, 3]);
    for (let p = 0; p < 3; p++) {
      const hosted = b.replicas.get(TOPIC, p);
      assert.ok(hosted, `broker ${b.brokerId} hosts ${TOPIC}-${p}`);
      assert.equal(hosted.isLeader, states[p]!.state.leader === b.brokerId);
      assert.equal(hosted.state.leaderEpoch, states[p]!.state.leaderEpoch);
    }
  }
});

test('LeaderAndIsr from a stale controller epoch or for an earlier broker epoch is refused and changes nothing', async () => {
  const target = brokerOf(2);
  const before = target.replicas.get(TOPIC, 0)!.state;
  const c = await client(2);
  const body = (controllerEpoch: number, brokerEpoch: number): Msg => ({
    controllerId: 3,
    isKRaftController: false,
    controllerEpoch,
    brokerEpoch,
    type: 0,
    topicStates: [
      {
        topicName: TOPIC,
        topicId: target.metadata.topics.get(TOPIC)!.topicId,
        partitionStates: [
          {
            partitionIndex: 0,
            controllerEpoch,
            leader: 2,
            leaderEpoch: before.leaderEpoch + 10,
            isr: [2],
            partitionEpoch: 99,
            replicas: [2, 1, 3],
            addingReplicas: [],
            removingReplicas: [],
            isNew: false,
            leaderRecoveryState: 0,
          },
        ],
      },
    ],
    liveLeaders: [],
  });
  const epoch = controllerBroker()!.controller.epoch!;
  const stale = await c.request(4, 7, body(epoch - 1, target.brokerEpoch));
  assert.equal(stale.errorCode, ErrorCode.STALE_CONTROLLER_EPOCH);
  assert.equal(stale.topics[0].partitionErrors[0].errorCode, ErrorCode.STALE_CONTROLLER_EPOCH);
  const oldBroker = await c.request(4, 7, body(epoch, target.brokerEpoch - 1));
  assert.equal(oldBroker.errorCode, ErrorCode.STALE_BROKER_EPOCH);
  const um = await c.request(6, 8, {
    controllerId: 3,
    isKRaftController: false,
    controllerEpoch: epoch - 1,
    brokerEpoch: -1,
    topicStates: [],
    liveBrokers: [],
  });
  assert.equal(um.errorCode, ErrorCode.STALE_CONTROLLER_EPOCH);
  assert.deepEqual(target.replicas.get(TOPIC, 0)!.state, before);
  assert.deepEqual([...target.metadata.brokers.keys()].sort(), [1, 2, 3]);
  assert.equal(await cachesMatchZk(TOPIC, 3), true);
});

test('AlterPartition: the controller validates, writes the ISR with the same leader epoch and updates every cache', async () => {
  const topic = 'isr-changes';
  const states0 = await createWithAdmin(topic, 1);
  const s = states0[0]!;
  const leader = s.state.leader;
  const controller = controllerBroker()!;
  const others = [1, 2, 3].filter((id) => id !== controller.brokerId);
  const topicId = controller.metadata.topics.get(topic)!.topicId;
  const keep = s.state.isr.filter((r) => r !== leader)[0]!;
  const req = (partitionEpoch: number, brokerEpoch = brokerOf(leader).brokerEpoch): Msg => ({
    brokerId: leader,
    brokerEpoch,
    topics: [
      {
        topicId,
        partitions: [
          {
            partitionIndex: 0,
            leaderEpoch: s.state.leaderEpoch,
            newIsrWithEpochs: [leader, keep].map((id) => ({ brokerId: id, brokerEpoch: brokerOf(id).brokerEpoch })),
            leaderRecoveryState: 0,
            partitionEpoch,
          },
        ],
      },
    ],
  });
  // only the controller answers
  const notController = await (await client(others[0]!)).request(56, 3, req(s.zkVersion));
  assert.equal(notController.errorCode, ErrorCode.NOT_CONTROLLER);
  const c = await client(controller.brokerId);
  assert.equal((await c.request(56, 3, req(s.zkVersion, 1))).errorCode, ErrorCode.STALE_BROKER_EPOCH);
  assert.equal((await c.request(56, 3, req(s.zkVersion + 5))).topics[0].partitions[0].errorCode, ErrorCode.INVALID_UPDATE_VERSION);
  const ok = await c.request(56, 3, req(s.zkVersion));
  assert.equal(ok.errorCode, ErrorCode.NONE);
  assert.deepEqual(ok.topics[0].partitions[0], {
    partitionIndex: 0,
    errorCode: ErrorCode.NONE,
    leaderId: leader,
    leaderEpoch: s.state.leaderEpoch,
    isr: [leader, keep],
    leaderRecoveryState: 0,
    partitionEpoch: s.zkVersion + 1,
  });
  const after = (await zk.getPartitionState(topic, 0))!;
  assert.deepEqual(
    [after.state.leader, after.state.leaderEpoch, after.state.isr, after.zkVersion],
    [leader, s.state.leaderEpoch, [leader, keep], s.zkVersion + 1],
  );
  await waitFor(() => cachesMatchZk(topic, 1), { what: 'caches to show the new ISR' });
});

test('ElectLeaders: non-controllers answer NOT_CONTROLLER; the controller finds no election needed where the preferred replica leads', async () => {
  const topic = 'preferred';
  const [s] = await createWithAdmin(topic, 1);
  const preferred = (await zk.getTopicAssignment(topic))!.partitions.get(0)![0]!;
  assert.equal(s!.state.leader, preferred);
  const controller = controllerBroker()!;
  const other = [1, 2, 3].find((id) => id !== controller.brokerId)!;
  const ask = { electionType: 0, topicPartitions: [{ topic, partitions: [0] }], timeoutMs: 10_000 };
  const refused = await (await client(other)).request(43, 2, ask);
  assert.equal(refused.replicaElectionResults[0].partitionResult[0].errorCode, ErrorCode.NOT_CONTROLLER);
  const c = await client(controller.brokerId);
  const notNeeded = await c.request(43, 2, ask);
  assert.equal(notNeeded.replicaElectionResults[0].partitionResult[0].errorCode, ErrorCode.ELECTION_NOT_NEEDED);
  const unclean = await c.request(43, 2, { ...ask, electionType: 1 });
  assert.equal(unclean.replicaElectionResults[0].partitionResult[0].errorCode, ErrorCode.ELECTION_NOT_NEEDED);
});

test('stopping the controller broker moves its leaderships first (controlled shutdown); a restarted broker is told everything', async () => {
  const controller = controllerBroker()!;
  const id = controller.brokerId;
  const ledBefore = (await zkStates(TOPIC, 3)).filter((s) => s.state.leader === id).length;
  assert.ok(ledBefore > 0, 'the controller leads a partition of the topic');
  // What ZooKeeper shows at the moment the broker's session is about to close: leadership has moved.
  let atSessionClose: Awaited<ReturnType<typeof zkStates>> | undefined;
  const close = controller.zk.close.bind(controller.zk);
  controller.zk.close = async () => {
    atSessionClose = await zkStates(TOPIC, 3);
    return close();
  };
  await cluster.stopBroker(id);
  assert.ok(atSessionClose);
  for (const s of atSessionClose) {
    assert.notEqual(s.state.leader, id, 'no partition is led by the stopping broker');
    assert.equal(s.state.isr.includes(id), false, 'the stopping broker left every ISR');
  }
  // a new controller takes over; the remaining brokers agree with ZooKeeper
  await waitFor(() => controllerBroker(), { what: 'a new controller' });
  await waitFor(() => cachesMatchZk(TOPIC, 3), { what: 'caches after the controlled shutdown' });
  // Partition states settled during the shutdown, so the caches above may match before the new
  // controller's UpdateMetadata (without the stopped broker) has reached every broker.
  await waitFor(() => running().every((b) => !b.metadata.brokers.has(id)), { what: 'every broker to drop the stopped one' });

  // back: it hosts its replicas again (full LeaderAndIsr) and its cache is whole (full UpdateMetadata)
  const back = await cluster.startBroker(id);
  await waitFor(() => [0, 1, 2].every((p) => back.replicas.get(TOPIC, p)), { what: 'the restarted broker to host its replicas' });
  await waitFor(() => cachesMatchZk(TOPIC, 3), { what: 'caches after the restart' });
  assert.deepEqual([...back.metadata.brokers.keys()].sort(), [1, 2, 3]);
  restartedId = id;
});

let restartedId = -1;

test('ElectLeaders (preferred) gives leadership back to the restarted broker once it is in the ISR again', async () => {
  const id = restartedId;
  assert.ok(id > 0);
  const assignment = (await zk.getTopicAssignment(TOPIC))!.partitions;
  const preferredHere = [0, 1, 2].filter((p) => assignment.get(p)![0] === id);
  assert.ok(preferredHere.length > 0);
  for (const p of preferredHere) assert.notEqual((await zk.getPartitionState(TOPIC, p))!.state.leader, id);
  await rejoinIsr(TOPIC, preferredHere, id);
  const c = await client(controllerBroker()!.brokerId);
  const res = await c.request(43, 2, {
    electionType: 0,
    topicPartitions: [{ topic: TOPIC, partitions: preferredHere }],
    timeoutMs: 10_000,
  });
  assert.deepEqual(
    res.replicaElectionResults[0].partitionResult.map((r: Msg) => r.errorCode),
    preferredHere.map(() => ErrorCode.NONE),
  );
  for (const p of preferredHere) assert.equal((await zk.getPartitionState(TOPIC, p))!.state.leader, id);
  await waitFor(() => cachesMatchZk(TOPIC, 3), { what: 'caches after the preferred election' });
  await waitFor(() => preferredHere.every((p) => brokerOf(id).replicas.get(TOPIC, p)?.isLeader), { what: 'the preferred replica to lead' });
});

test('a broker whose ZooKeeper session expires comes back with a new epoch; requests for the old one are refused', async () => {
  const id = [1, 2, 3].find((x) => x !== controllerBroker()!.brokerId)!;
  const b = brokerOf(id);
  const oldEpoch = b.brokerEpoch;
  cluster.expireBrokerSession(id);
  await waitFor(() => b.brokerEpoch > oldEpoch, { what: 'the re-registration' });
  assert.equal((await zk.getBroker(id))!.epoch, b.brokerEpoch);
  await waitFor(() => cachesMatchZk(TOPIC, 3), { what: 'caches after the bounce' });
  // it hosts its replicas at the leader epochs ZooKeeper has (the controller's full LeaderAndIsr)
  await waitFor(
    async () => {
      const states = await zkStates(TOPIC, 3);
      return states.every((s, p) => b.replicas.get(TOPIC, p)?.state.leaderEpoch === s.state.leaderEpoch);
    },
    { what: 'the bounced broker to follow the current leader epochs' },
  );
  const epoch = controllerBroker()!.controller.epoch!;
  const stale = await (await client(id)).request(6, 8, {
    controllerId: controllerBroker()!.brokerId,
    isKRaftController: false,
    controllerEpoch: epoch,
    brokerEpoch: oldEpoch,
    topicStates: [],
    liveBrokers: [],
  });
  assert.equal(stale.errorCode, ErrorCode.STALE_BROKER_EPOCH);
  assert.deepEqual([...b.metadata.brokers.keys()].sort(), [1, 2, 3]);
  bouncedId = id;
});

let bouncedId = -1;

test("Apache Kafka's kafka-leader-election tool (3.9) moves leadership back to the preferred replicas", async () => {
  // A missing tool fails the test (never a skip): .ci/run caches the jars with scripts/fetch-kafka.sh.
  assert.ok(kafkaJarsPresent('3.9'), 'Apache Kafka 3.9 jars not cached: run scripts/fetch-kafka.sh');
  const id = bouncedId;
  assert.ok(id > 0);
  const assignment = (await zk.getTopicAssignment(TOPIC))!.partitions;
  const preferredHere = [0, 1, 2].filter((p) => assignment.get(p)![0] === id);
  assert.ok(preferredHere.length > 0);
  for (const p of preferredHere) assert.notEqual((await zk.getPartitionState(TOPIC, p))!.state.leader, id);
  await rejoinIsr(TOPIC, preferredHere, id);
  const dir = await mkdtemp(join(tmpdir(), 'cg-election-'));
  try {
    const file = join(dir, 'partitions.json');
    await writeFile(file, JSON.stringify({ partitions: preferredHere.map((partition) => ({ topic: TOPIC, partition })) }));
    const r = await runKafkaTool('org.apache.kafka.tools.LeaderElectionCommand', [
      '--bootstrap-server',
      cluster.bootstrap,
      '--election-type',
      'PREFERRED',
      '--path-to-json-file',
      file,
    ]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /Successfully completed leader election \(PREFERRED\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  for (const p of preferredHere) assert.equal((await zk.getPartitionState(TOPIC, p))!.state.leader, id);
  await waitFor(() => cachesMatchZk(TOPIC, 3), { what: 'caches after the tool' });
});

test('deleting the topic removes its partitions from every broker, then its znodes', async () => {
  const kafka = new Kafka({ clientId: 'control-plane', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [TOPIC], timeout: 20_000 });
  } finally {
    await admin.disconnect();
  }
  await waitFor(
    () => running().every((b) => !b.metadata.topics.has(TOPIC) && [0, 1, 2].every((p) => b.replicas.get(TOPIC, p) === undefined)),
    { what: 'every broker to drop the topic' },
  );
  await waitFor(async () => !(await zk.topicExists(TOPIC)), { what: 'the topic znodes to go' });
});

/**
 * Puts broker `id` back into the ISR of these partitions through AlterPartition sent on the
 * leader's behalf: the leader would do so once the follower caught up (replication's job), and
 * this file must not depend on data flowing. Retried until ZooKeeper shows it (a real leader may
 * race with its own proposals).
 */
async function rejoinIsr(topic: string, partitions: readonly number[], id: number): Promise<void> {
  for (const p of partitions) {
    await waitFor(
      async () => {
        const s = (await zk.getPartitionState(topic, p))!;
        if (s.state.isr.includes(id)) return true;
        const controller = controllerBroker();
        if (!controller) return false;
        const isr = [...s.state.isr, id];
        await (await client(controller.brokerId)).request(56, 3, {
          brokerId: s.state.leader,
          brokerEpoch: brokerOf(s.state.leader).brokerEpoch,
          topics: [
            {
              topicId: controller.metadata.topics.get(topic)!.topicId,
              partitions: [
                {
                  partitionIndex: p,
                  leaderEpoch: s.state.leaderEpoch,
                  newIsrWithEpochs: isr.map((r) => ({ brokerId: r, brokerEpoch: brokerOf(r).brokerEpoch })),
                  leaderRecoveryState: 0,
                  partitionEpoch: s.zkVersion,
                },
              ],
            },
          ],
        });
        return false;
      },
      { what: `broker ${id} back in the ISR of ${topic}-${p}` },
    );
  }
}

async function createWithAdmin(topic: string, partitions: number) {
  const kafka = new Kafka({ clientId: 'control-plane', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 3 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  await waitFor(() => cachesMatchZk(topic, partitions), { what: `caches for ${topic}` });
  return zkStates(topic, partitions);
}
