// @platformatic/kafka 1.35, unchanged, against three in-process brokers with RF 3 topics and an
// RF 3 __consumer_offsets: an idempotent acks=all producer runs throughout while a group member
// reads and auto-commits, leaves, and the group's coordinator broker (also a partition leader)
// stops. The producer follows the leadership move; a new member of the group finds the new
// coordinator and resumes exactly at the offsets committed before the stop; every acknowledged
// message is read.
// Why the member is not kept across the stop: 1.35 caches the coordinator's node id for the life
// of a consumer (it never forgets it on NOT_COORDINATOR) and fetches from the node ids it first
// resolved, so a running member whose coordinator or leader broker leaves the cluster fails with
// "Cannot find broker with node id N" (or a TypeError in its group operations) against any broker.
// That is the client's limit, not the cluster's; the other cluster suites keep members running.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  Consumer,
  type Message,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka';
import type { KafkaTestingCluster } from '../../src/cluster/kafkaTestingCluster.js';
import type { ReadMessage, SentMessage } from '../helpers/ackedHistory.js';
import { waitFor } from '../helpers/wait.js';
import {
  assertNothingLost,
  committedOffsets,
  createRf3Topic,
  logEnds,
  startRf3Cluster,
  stopCoordinator,
  waitCommittedAtLeast,
} from './helpers/rf3Cluster.js';

const topic = 'plt-rf3';
const group = 'plt-rf3-group';
const PARTITIONS = 3;

let cluster: KafkaTestingCluster;

before(async () => {
  cluster = await startRf3Cluster();
});

after(async () => {
  await cluster?.close();
});

function base(clientId: string) {
  return { clientId, bootstrapBrokers: cluster.bootstrap.split(','), retries: 30, retryDelay: 100, timeout: 10_000 };
}

/** A group member reading into `read` with auto-commit; `stop` closes its stream and leaves the group. */
async function member(clientId: string, read: ReadMessage[]) {
  const consumer = new Consumer({
    ...base(clientId),
    groupId: group,
    deserializers: stringDeserializers,
    maxWaitTime: 200,
    sessionTimeout: 6000,
    rebalanceTimeout: 10_000,
    heartbeatInterval: 300,
  });
  const errors: Error[] = [];
  const stream = await consumer.consume({
    topics: [topic],
    mode: MessagesStreamModes.COMMITTED,
    fallbackMode: MessagesStreamFallbackModes.EARLIEST,
    autocommit: 100,
  });
  stream.on('error', (e: Error) => errors.push(e));
  stream.on('data', (m: Message<string, string, string, string>) => {
    read.push({ id: m.value, partition: m.partition, offset: Number(m.offset) });
  });
  return {
    errors,
    stop: async () => {
      await stream.close();
      await new Promise<void>((resolve) => consumer.close(true, () => resolve()));
    },
  };
}

test('@platformatic/kafka: acks=all producer carries on across the coordinator broker stopping; the group resumes at its commits', async () => {
  await createRf3Topic(cluster, topic, PARTITIONS);
  const producer = new Producer({ ...base('plt-cluster-producer'), serializers: stringSerializers, idempotent: true });
  const sent: SentMessage[] = [];
  const firstRead: ReadMessage[] = [];
  const secondRead: ReadMessage[] = [];
  let producing = true;
  let producerLoop: Promise<void> | undefined;
  try {
    producerLoop = (async () => {
      for (let n = 0; producing; n++) {
        const partition = n % PARTITIONS;
        let acked = false;
        try {
          await producer.send({ acks: ProduceAcks.ALL, messages: [{ topic, partition, value: `m-${n}` }] });
          acked = true;
        } catch {
          // Not acknowledged: the checker allows it to be missing or present.
        }
        sent.push({ id: `m-${n}`, producer: 'p', seq: n, partition, acked });
      }
    })();
    const acked = (): number => sent.filter((s) => s.acked).length;
    const first = await member('plt-first', firstRead);
    await waitFor(() => acked() >= 30 && firstRead.length >= 15, {
      timeoutMs: 60_000,
      what: () => `traffic (${acked()} acked, ${firstRead.length} read; ${first.errors.map(String)})`,
    });
    await waitCommittedAtLeast(cluster, group, topic, new Map(Array.from({ length: PARTITIONS }, (_, p) => [p, 1])));
    await first.stop();
    assert.deepEqual(first.errors, []);
    const before = await committedOffsets(cluster, group, topic);

    const ackedAtStop = acked();
    await stopCoordinator(cluster, group, topic, PARTITIONS);
    const reloaded = await committedOffsets(cluster, group, topic);
    assert.deepEqual([...reloaded].sort(), [...before].sort(), 'the new coordinator serves the commits made before the stop');
    await waitFor(() => acked() >= ackedAtStop + 30, {
      timeoutMs: 60_000,
      what: () => `the producer to carry on (${acked() - ackedAtStop} acked)`,
    });

    const second = await member('plt-second', secondRead);
    producing = false;
    await producerLoop;
    const ends = await logEnds(cluster, topic);
    await waitCommittedAtLeast(cluster, group, topic, ends);
    await second.stop();
    assert.deepEqual(second.errors, []);
    for (const [p, o] of before) {
      const firstOffset = Math.min(...secondRead.filter((r) => r.partition === p).map((r) => r.offset));
      assert.equal(firstOffset, o, `partition ${p}: the new member starts at the committed offset`);
    }
    assertNothingLost(sent, [...firstRead, ...secondRead], 60);
  } finally {
    producing = false;
    await producerLoop;
    await producer.close().catch(() => undefined);
  }
});
