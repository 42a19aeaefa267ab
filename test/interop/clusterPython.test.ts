// Python clients, unchanged, against three in-process brokers with RF 3 topics: confluent-kafka 1.7
// (librdkafka 2.0.2, idempotent acks=all) and kafka-python 2.0.2 (acks=all). Each writes a round to
// every partition, reads it in a group with auto-commit and commits; the test then stops the
// group's coordinator broker (also a partition leader) while the member keeps polling; a second
// round is written and read, and the last commit goes through the new coordinator. Nothing
// committed before the stop is lost and every delivered record is read.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KafkaTestingCluster } from '../../src/cluster/kafkaTestingCluster.js';
import type { SentMessage } from '../helpers/ackedHistory.js';
import { debianPython, requireDebianPythonClients, runTwoPhaseScenario } from './helpers/pythonClients.js';
import {
  assertCommitsKept,
  assertNothingLost,
  committedOffsets,
  createRf3Topic,
  logEnds,
  OFFSETS_PARTITIONS,
  startRf3Cluster,
  stopCoordinator,
  waitCommittedAtLeast,
  waitFullIsr,
} from './helpers/rf3Cluster.js';

const PARTITIONS = 3;
const PER_ROUND = 20 * PARTITIONS;

let cluster: KafkaTestingCluster;

before(async () => {
  requireDebianPythonClients();
  cluster = await startRf3Cluster();
});

after(async () => {
  await cluster?.close();
});

interface Delivered {
  id: string;
  partition: number;
  offset: number;
}

const clients = [
  { name: 'confluent-kafka 1.7 (Debian, librdkafka 2.0.2)', script: 'confluent_suite.py', tag: 'ck' },
  { name: 'kafka-python 2.0.2 (Debian)', script: 'kafka_python_suite.py', tag: 'kp' },
];

for (const client of clients) {
  describe(client.name, () => {
    test('acks=all writes to RF 3 partitions and a committing group survive the coordinator broker stopping', async () => {
      const topic = `py-${client.tag}-rf3`;
      const group = `${topic}-group`;
      await createRf3Topic(cluster, topic, PARTITIONS);
      let stopped = -1;
      const { ready, done } = await runTwoPhaseScenario<{ delivered: Delivered[] }, { delivered: Delivered[]; read: Delivered[] }>(
        debianPython,
        client.script,
        ['failover', cluster.bootstrap, topic],
        async () => {
          const before = await waitCommittedAtLeast(cluster, group, topic, await logEnds(cluster, topic));
          stopped = await stopCoordinator(cluster, group, topic, PARTITIONS);
          await assertCommitsKept(cluster, group, topic, before);
        },
      );
      assert.equal(ready.delivered.length, PER_ROUND);
      assert.equal(done.delivered.length, PER_ROUND);
      const sent: SentMessage[] = [...ready.delivered, ...done.delivered].map((d) => ({
        id: d.id,
        producer: `${d.id[0]}${d.partition}`,
        seq: Number(d.id.split('-')[2]),
        partition: d.partition,
        acked: true,
      }));
      assertNothingLost(sent, done.read, 2 * PER_ROUND);
      const ends = await logEnds(cluster, topic);
      assert.deepEqual(
        [...(await committedOffsets(cluster, group, topic))].sort(),
        [...ends].sort(),
        'the last commit covers every record',
      );

      // The stopped broker returns to every ISR before the next client's run.
      await cluster.startBroker(stopped);
      await waitFullIsr(cluster, topic, PARTITIONS);
      await waitFullIsr(cluster, '__consumer_offsets', OFFSETS_PARTITIONS);
    });
  });
}
