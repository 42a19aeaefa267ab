// kcat (librdkafka 2.0.2), unchanged, against three in-process brokers with RF 3 topics: -L shows
// three replicas in sync for every partition, acks=all idempotent producers write, and a balanced
// consumer group (-G) keeps reading and committing while the group's coordinator broker (also a
// partition leader) stops; producers started after the stop find the new leaders. Nothing
// committed before the stop is lost and every acknowledged line is read.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { KafkaTestingCluster } from '../../src/cluster/kafkaTestingCluster.js';
import type { ReadMessage, SentMessage } from '../helpers/ackedHistory.js';
import { waitFor } from '../helpers/wait.js';
import { runKcat, spawnKcat } from './helpers/kcat.js';
import {
  assertCommitsKept,
  assertNothingLost,
  createRf3Topic,
  leaders,
  logEnds,
  startRf3Cluster,
  stopCoordinator,
  waitCommittedAtLeast,
} from './helpers/rf3Cluster.js';

const topic = 'kcat-rf3';
const group = 'kcat-rf3-group';
const PARTITIONS = 3;

let cluster: KafkaTestingCluster;

before(async () => {
  cluster = await startRf3Cluster();
});

after(async () => {
  await cluster?.close();
});

const sent: SentMessage[] = [];

/** Writes `count` lines to each partition with one acks=all kcat per partition; acked when kcat exits 0. */
async function produceRound(round: string, count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: PARTITIONS }, async (_, partition) => {
      const ids = Array.from({ length: count }, (_, i) => `${round}-${partition}-${i}`);
      const r = await runKcat(
        cluster.bootstrap,
        ['-P', '-t', topic, '-p', String(partition), '-X', 'acks=all', '-X', 'enable.idempotence=true'],
        `${ids.join('\n')}\n`,
        60_000,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /Delivery failed/);
      for (const id of ids) sent.push({ id, producer: `p${partition}`, seq: sent.length, partition, acked: true });
    }),
  );
}

test('kcat -L: an RF 3 topic has three replicas, all in sync, leaders spread', async () => {
  await createRf3Topic(cluster, topic, PARTITIONS);
  const r = await runKcat(cluster.bootstrap, ['-L', '-J', '-t', topic]);
  assert.equal(r.code, 0, r.stderr);
  const md = JSON.parse(r.stdout) as {
    brokers: { id: number }[];
    topics: { topic: string; partitions: { partition: number; leader: number; replicas: { id: number }[]; isrs: { id: number }[] }[] }[];
  };
  assert.deepEqual(md.brokers.map((b) => b.id).sort(), [1, 2, 3]);
  const parts = md.topics.find((t) => t.topic === topic)?.partitions ?? [];
  assert.equal(parts.length, PARTITIONS);
  const zkLeaders = await leaders(cluster, topic, PARTITIONS);
  for (const p of parts) {
    assert.deepEqual(p.replicas.map((x) => x.id).sort(), [1, 2, 3]);
    assert.deepEqual(p.isrs.map((x) => x.id).sort(), [1, 2, 3]);
    assert.equal(p.leader, zkLeaders[p.partition], 'kcat sees the leader the state znode names');
  }
  assert.deepEqual([...zkLeaders].sort(), [1, 2, 3]);
});

test('kcat -G keeps reading and committing when the coordinator broker stops', async () => {
  const consumer = spawnKcat(cluster.bootstrap, [
    '-G',
    group,
    topic,
    '-o',
    'beginning',
    '-u',
    '-f',
    '%p %o %s\\n',
    '-X',
    'session.timeout.ms=6000',
    '-X',
    'auto.commit.interval.ms=100',
    '-X',
    'topic.metadata.refresh.interval.ms=1000',
  ]);
  const read = (): ReadMessage[] =>
    consumer.lines.map((l) => {
      const [p, o, id] = l.split(' ');
      return { partition: Number(p), offset: Number(o), id: id ?? '' };
    });
  const readAll = async (what: string): Promise<void> => {
    const ends = await logEnds(cluster, topic);
    await waitFor(() => [...ends].every(([p, end]) => read().some((r) => r.partition === p && r.offset === end - 1)), {
      timeoutMs: 60_000,
      what: () => `kcat -G to read ${what} (${consumer.lines.length} lines; stderr ${consumer.stderr()})`,
    });
  };
  try {
    await produceRound('a', 20);
    await readAll('round a');
    const floor = new Map(Array.from({ length: PARTITIONS }, (_, p) => [p, 20]));
    const before = await waitCommittedAtLeast(cluster, group, topic, floor);

    await stopCoordinator(cluster, group, topic, PARTITIONS);
    await assertCommitsKept(cluster, group, topic, before);

    await produceRound('b', 20);
    await readAll('round b, after the stop');
    await waitCommittedAtLeast(cluster, group, topic, await logEnds(cluster, topic));
  } finally {
    await consumer.stop();
  }
  assertNothingLost(sent, read(), 120);
});
