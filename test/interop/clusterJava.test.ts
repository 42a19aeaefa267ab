// Apache Kafka 3.9's Java client, unchanged, through Kafka's own tools, against three in-process
// brokers: kafka-topics creates an RF 3 topic and --describe shows the Leader/Replicas/Isr the
// state znodes hold; the console producer writes with acks=all; a console consumer in a group
// reads and commits while the group's coordinator broker (also a partition leader) stops, and a
// second producer run finds the new leaders; kafka-consumer-groups --describe then shows every
// partition committed to its log end through the new coordinator. One JVM per tool run, so the
// failover is tested once, with the 3.9 client the issue names.
// Jars come from scripts/fetch-kafka.sh; without them the test fails naming the script.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { KafkaTestingCluster } from '../../src/cluster/kafkaTestingCluster.js';
import { kafkaHome, kafkaJarsPresent } from '../helpers/apacheKafka.js';
import { describeRows, nonEmptyLines as lines, runTool } from './helpers/kafkaTools.js';
import { assertCommitsKept, logEnds, startRf3Cluster, stopCoordinator, waitCommittedAtLeast, waitFullIsr } from './helpers/rf3Cluster.js';

const topic = 'java-rf3';
const group = 'java-rf3-group';
const PARTITIONS = 3;
const ROUND = 30;

let cluster: KafkaTestingCluster;

before(async () => {
  if (!kafkaJarsPresent('3.9')) throw new Error(`Apache Kafka 3.9 jars missing in ${kafkaHome('3.9')}/lib: run scripts/fetch-kafka.sh`);
  cluster = await startRf3Cluster();
});

after(async () => {
  await cluster?.close();
});

function tool(name: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  return runTool(cluster.bootstrap, name, '3.9', args, opts);
}

/** The console producer with acks=all, keyed lines spread over the partitions; every line it took is acknowledged when it exits cleanly. */
async function produce(ids: readonly string[]): Promise<void> {
  const input = ids.map((id, i) => `k${i}\t${id}`).join('\n');
  const out = await tool(
    'kafka-console-producer',
    ['--topic', topic, '--property', 'parse.key=true', '--producer-property', 'acks=all', '--producer-property', 'enable.idempotence=true'],
    { input: `${input}\n`, timeoutMs: 120_000 },
  );
  assert.doesNotMatch(out, /Error when sending/);
}

async function zkJson(path: string): Promise<Record<string, unknown>> {
  const broker = cluster.brokers.find((b) => b.broker)?.broker;
  assert.ok(broker, 'a broker is running');
  return JSON.parse((await broker.zkClient.getData(path)).data?.toString() ?? 'null') as Record<string, unknown>;
}

test('kafka-topics --create RF 3, then --describe matches the assignment and state znodes', async () => {
  const created = await tool('kafka-topics', [
    '--create',
    '--topic',
    topic,
    '--partitions',
    String(PARTITIONS),
    '--replication-factor',
    '3',
  ]);
  assert.match(created, new RegExp(`Created topic ${topic}\\.`));
  await waitFullIsr(cluster, topic, PARTITIONS);
  const desc = lines(await tool('kafka-topics', ['--describe', '--topic', topic]));
  const head = desc.find((l) => l.startsWith(`Topic: ${topic}\tTopicId:`));
  assert.ok(head, desc.join('\n'));
  assert.match(head, new RegExp(`PartitionCount: ${PARTITIONS}\\tReplicationFactor: 3\\t`));
  const assignment = (await zkJson(`/brokers/topics/${topic}`))['partitions'] as Record<string, number[]>;
  const rows = desc.map((l) => /Partition: (\d+)\tLeader: (\d+)\tReplicas: (\S+)\tIsr: (\S+)/.exec(l)).filter((m) => m !== null);
  assert.equal(rows.length, PARTITIONS, desc.join('\n'));
  for (const m of rows) {
    const p = Number(m[1]);
    const state = await zkJson(`/brokers/topics/${topic}/partitions/${p}/state`);
    assert.equal(Number(m[2]), state['leader'], `partition ${p} leader`);
    assert.deepEqual(m[3]?.split(',').map(Number), assignment[String(p)], `partition ${p} replicas, in assignment order`);
    assert.deepEqual(m[4]?.split(',').map(Number).sort(), [...(state['isr'] as number[])].sort(), `partition ${p} ISR`);
    assert.equal((state['isr'] as number[]).length, 3);
  }
  assert.deepEqual(rows.map((m) => Number(m[2])).sort(), [1, 2, 3], 'leaders are spread over the brokers');
});

test('console producer (acks=all) and a console consumer group carry on when the coordinator broker stops', async () => {
  const first = Array.from({ length: ROUND }, (_, i) => `a-${i}`);
  const second = Array.from({ length: ROUND }, (_, i) => `b-${i}`);
  await produce(first);
  const consumer = tool(
    'kafka-console-consumer',
    [
      '--topic',
      topic,
      '--group',
      group,
      '--from-beginning',
      '--max-messages',
      String(2 * ROUND),
      '--timeout-ms',
      '60000',
      '--consumer-property',
      'auto.commit.interval.ms=100',
      '--property',
      'print.partition=true',
      '--property',
      'print.offset=true',
    ],
    { timeoutMs: 150_000 },
  );
  // A failing consumer must not leave an unhandled rejection while the failover runs.
  consumer.catch(() => undefined);
  // The group has read and committed the first round before its coordinator goes.
  const before = await waitCommittedAtLeast(cluster, group, topic, await logEnds(cluster, topic));
  await stopCoordinator(cluster, group, topic, PARTITIONS);
  await assertCommitsKept(cluster, group, topic, before);

  await produce(second);
  const out = await consumer;
  const read = lines(out).map((l) => {
    const m = /^Partition:(\d+)\tOffset:(\d+)\t(.*)$/.exec(l);
    assert.ok(m, `unexpected consumer line: ${l}`);
    return { partition: Number(m[1]), offset: Number(m[2]), id: m[3]! };
  });
  assert.deepEqual(read.map((r) => r.id).sort(), [...first, ...second].sort(), 'every acknowledged line, once');

  const ends = await logEnds(cluster, topic);
  const described = describeRows(await tool('kafka-consumer-groups', ['--describe', '--group', group]), group, topic);
  assert.equal(described.size, PARTITIONS);
  for (const [p, row] of described) {
    assert.equal(row.end, ends.get(p), `partition ${p} log end`);
    assert.equal(row.current, row.end, `partition ${p} committed to its end`);
    assert.equal(row.lag, 0);
  }
  assert.equal(
    [...ends.values()].reduce((a, b) => a + b, 0),
    2 * ROUND,
  );
});
