// kafkajs 2.2.4, unchanged, against three in-process brokers with RF 3 topics and an RF 3
// __consumer_offsets: an idempotent acks=all producer and a consumer group that commits run while
// the group's coordinator broker (also a partition leader) stops. kafkajs follows NOT_COORDINATOR
// and NOT_LEADER_OR_FOLLOWER, the new coordinator serves the commits made before the stop, the
// stopped broker returns to every ISR, and every acknowledged message is read.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import type { KafkaTestingCluster } from '../../src/cluster/kafkaTestingCluster.js';
import type { ReadMessage, SentMessage } from '../helpers/ackedHistory.js';
import { waitFor } from '../helpers/wait.js';
import {
  assertCommitsKept,
  assertNothingLost,
  committedOffsets,
  createRf3Topic,
  logEnds,
  startRf3Cluster,
  stopCoordinator,
  waitCommittedAtLeast,
  waitFullIsr,
} from './helpers/rf3Cluster.js';

const { Kafka, logLevel } = kafkajs;

const topic = 'kjs-rf3';
const group = 'kjs-rf3-group';
const PARTITIONS = 3;

let cluster: KafkaTestingCluster;

before(async () => {
  cluster = await startRf3Cluster();
});

after(async () => {
  await cluster?.close();
});

test('kafkajs: acks=all producer and a committing group carry on when the coordinator broker stops', async () => {
  await createRf3Topic(cluster, topic, PARTITIONS);
  const kafka = new Kafka({
    clientId: 'kjs-cluster',
    brokers: cluster.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 100 });
  const sent: SentMessage[] = [];
  const read: ReadMessage[] = [];
  const next = new Map<number, number>();
  let producing = true;
  let producerLoop: Promise<void> | undefined;
  try {
    await producer.connect();
    producerLoop = (async () => {
      for (let n = 0; producing; n++) {
        const partition = n % PARTITIONS;
        let acked = false;
        try {
          await producer.send({ topic, acks: -1, timeout: 30_000, messages: [{ partition, value: `m-${n}` }] });
          acked = true;
        } catch {
          // Not acknowledged: the checker allows it to be missing or present.
        }
        sent.push({ id: `m-${n}`, producer: 'p', seq: n, partition, acked });
      }
    })();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommitInterval: 100,
      eachMessage: async ({ partition, message }) => {
        read.push({ id: String(message.value), partition, offset: Number(message.offset) });
        next.set(partition, Number(message.offset) + 1);
      },
    });
    const acked = (): number => sent.filter((s) => s.acked).length;
    await waitFor(() => acked() >= 30 && read.length >= 15, {
      timeoutMs: 60_000,
      what: () => `traffic (${acked()} acked, ${read.length} read)`,
    });
    const floor = new Map(Array.from({ length: PARTITIONS }, (_, p) => [p, 1]));
    const before = await waitCommittedAtLeast(cluster, group, topic, floor);

    const stopped = await stopCoordinator(cluster, group, topic, PARTITIONS);
    // The new coordinator loaded the group's offsets: nothing committed before the stop is gone.
    await assertCommitsKept(cluster, group, topic, before);
    const ackedAtStop = acked();
    const readAtStop = read.length;
    await waitFor(() => acked() >= ackedAtStop + 30 && read.length >= readAtStop + 30, {
      timeoutMs: 60_000,
      what: () => `kafkajs to carry on (${acked() - ackedAtStop} acked, ${read.length - readAtStop} read since the stop)`,
    });
    // Commits keep advancing through the new coordinator.
    await waitCommittedAtLeast(cluster, group, topic, new Map([...before].map(([p, o]) => [p, o + 1])));

    await cluster.startBroker(stopped);
    await waitFullIsr(cluster, topic, PARTITIONS);

    producing = false;
    await producerLoop;
    const ends = await logEnds(cluster, topic);
    await waitFor(() => [...ends].every(([p, end]) => (next.get(p) ?? 0) >= end), {
      timeoutMs: 60_000,
      what: () => `the group to read to ${JSON.stringify([...ends])}: ${JSON.stringify([...next])}`,
    });
    await consumer.disconnect(); // commits on the way out
    const committed = await committedOffsets(cluster, group, topic);
    assert.deepEqual([...committed].sort(), [...ends].sort(), 'the final commits are the log ends');
    assertNothingLost(sent, read, 60);
  } finally {
    producing = false;
    await producerLoop;
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
  }
});
