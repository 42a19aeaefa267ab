// Apache Kafka's own command-line admin tools, unchanged, against our broker: kafka-topics,
// kafka-configs and kafka-delete-records, each with both the 3.9 and the 4.x tool jars (4.x dropped
// the old protocol versions, so it holds the broker to the flexible ones; the versions each client
// sent are recorded and checked). The console clients, consumer groups and the Verifiable
// producer/consumer are in kafkaJavaClients.test.ts. Jars come from scripts/fetch-kafka.sh (cached
// under ~/.cache/clustergenie); without them every test fails naming the script.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KafkaTestingCluster } from '../../src/cluster/kafkaTestingCluster.js';
import type { Broker } from '../../src/kafka/broker/broker.js';
import { apiDef } from '../../src/kafka/protocol/apis.js';
import type { KafkaToolName, KafkaVersion } from '../helpers/apacheKafka.js';
import { waitFor } from '../helpers/wait.js';
import {
  KAFKA_VERSIONS,
  maxVersionSeen,
  nonEmptyLines as lines,
  recordRequests,
  requireKafkaJars,
  runTool,
  versionTag as tag,
} from './helpers/kafkaTools.js';

let cluster: KafkaTestingCluster;
let dir: string;
/** `apiKey/version` of every request the broker answered. */
const seen = new Set<string>();

before(async () => {
  requireKafkaJars();
  dir = await mkdtemp(join(tmpdir(), 'cg-kafka-tools-'));
  cluster = await KafkaTestingCluster.start({ brokers: 1, brokerProps: { 'num.partitions': '3' } });
  recordRequests(cluster.get(1).broker!, seen);
});

after(async () => {
  await cluster?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function broker(): Broker {
  const b = cluster.get(1).broker;
  assert.ok(b, 'broker 1 is running');
  return b;
}

/** Creates a topic in-process (no JVM to start) for the tests whose subject is another tool. */
async function createTopic(name: string, partitions: number): Promise<void> {
  const r = await broker().admin.create(
    { name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: {} },
    false,
    10_000,
  );
  assert.equal(r.errorCode, 0, r.errorMessage ?? `creating ${name}`);
  await waitFor(() => broker().metadata.hasLeaders(name, partitions), { timeoutMs: 10_000, what: `leaders for ${name}` });
}

function tool(name: KafkaToolName | string, v: KafkaVersion, args: readonly string[], opts: { input?: string } = {}): Promise<string> {
  return runTool(cluster.bootstrap, name, v, args, opts);
}

for (const v of KAFKA_VERSIONS) {
  test(`kafka-topics ${v}: create with configs, alter partitions, describe, delete, list`, async () => {
    const t = `tools-topics-${tag(v)}`;
    await createTopic(`${t}-kept`, 1);
    const created = await tool('kafka-topics', v, [
      '--create',
      '--topic',
      t,
      '--partitions',
      '2',
      '--replication-factor',
      '1',
      '--config',
      'retention.ms=3600000',
      '--config',
      'cleanup.policy=compact',
    ]);
    assert.match(created, new RegExp(`Created topic ${t}\\.`));
    await tool('kafka-topics', v, ['--alter', '--topic', t, '--partitions', '4']);

    const desc = lines(await tool('kafka-topics', v, ['--describe', '--topic', t]));
    const head = desc.find((l) => l.startsWith(`Topic: ${t}\tTopicId:`));
    assert.ok(head, desc.join('\n'));
    assert.match(head, /PartitionCount: 4\tReplicationFactor: 1\t/);
    assert.match(head, /Configs: .*cleanup\.policy=compact/);
    assert.match(head, /Configs: .*retention\.ms=3600000/);
    const parts = desc.filter((l) => l.trim().startsWith(`Topic: ${t}\tPartition:`)).map((l) => l.trim());
    assert.deepEqual(
      parts.map((l) => /Partition: (\d+)\tLeader: (\d+)\tReplicas: (\S+)\tIsr: (\S+)/.exec(l)?.slice(1)),
      [0, 1, 2, 3].map((p) => [String(p), '1', '1', '1']),
    );

    await tool('kafka-topics', v, ['--delete', '--topic', t]);
    await waitFor(() => !broker().metadata.topics.has(t), { timeoutMs: 20_000, what: `${t} gone from the metadata cache` });
    const listed = lines(await tool('kafka-topics', v, ['--list']));
    assert.ok(listed.includes(`${t}-kept`), `--list lists the other topic: ${listed.join(',')}`);
    assert.ok(!listed.includes(t), 'the deleted topic is not listed');
  });

  test(`kafka-configs ${v}: topic configs describe/alter/delete, broker configs describe`, async () => {
    const t = `tools-configs-${tag(v)}`;
    await createTopic(t, 1);
    const entity = ['--entity-type', 'topics', '--entity-name', t];
    const altered = await tool('kafka-configs', v, [...entity, '--alter', '--add-config', 'retention.ms=5000,max.message.bytes=20000']);
    assert.match(altered, new RegExp(`Completed updating config for topic ${t}`));
    const d1 = await tool('kafka-configs', v, [...entity, '--describe']);
    assert.match(
      d1,
      /retention\.ms=5000 sensitive=false synonyms=\{DYNAMIC_TOPIC_CONFIG:retention\.ms=5000, DEFAULT_CONFIG:log\.retention\.ms=\d+\}/,
    );
    assert.match(
      d1,
      /max\.message\.bytes=20000 sensitive=false synonyms=\{DYNAMIC_TOPIC_CONFIG:max\.message\.bytes=20000, DEFAULT_CONFIG:message\.max\.bytes=\d+\}/,
    );

    await tool('kafka-configs', v, [...entity, '--alter', '--delete-config', 'retention.ms']);
    const d2 = await tool('kafka-configs', v, [...entity, '--describe']);
    assert.doesNotMatch(d2, /retention\.ms=/);
    assert.match(d2, /max\.message\.bytes=20000/);
    // The override reached the partition's log config, not only ZooKeeper.
    assert.equal(broker().logConfigFor(t).maxMessageBytes, 20000);

    const b = await tool('kafka-configs', v, ['--entity-type', 'brokers', '--entity-name', '1', '--describe', '--all']);
    assert.match(b, /All configs for broker 1 are:/);
    // As Apache Kafka lists it: the file's value, then Kafka's default as a synonym.
    assert.match(b, /broker\.id=1 sensitive=false synonyms=\{STATIC_BROKER_CONFIG:broker\.id=1, DEFAULT_CONFIG:broker\.id=-1\}/);
    // Keys the file does not set are listed at Kafka's default too.
    assert.match(b, /log\.segment\.bytes=1073741824 sensitive=false synonyms=\{DEFAULT_CONFIG:log\.segment\.bytes=1073741824\}/);
    assert.match(b, /num\.partitions=3 /);
  });

  test(`kafka-delete-records ${v}: an offset JSON file moves log start offsets; ListOffsets earliest follows`, async () => {
    const t = `tools-delete-records-${tag(v)}`;
    await createTopic(t, 3);
    const input = `${Array.from({ length: 30 }, (_, i) => `k${i % 6}\tv${i}`).join('\n')}\n`;
    await tool('kafka-console-producer', v, ['--topic', t, '--property', 'parse.key=true'], { input });
    const hw = [0, 1, 2].map((p) => broker().replicas.get(t, p)!.log.highWatermark);
    assert.equal(
      hw.reduce((a, b) => a + b, 0),
      30,
    );
    const p0 = hw.findIndex((n) => n >= 2);
    assert.ok(p0 >= 0, `some partition holds two records: ${hw.join(',')}`);
    const p1 = (p0 + 1) % 3;
    const file = join(dir, `${t}.json`);
    // offset -1 means "up to the high watermark", as kafka-delete-records documents.
    const json = {
      version: 1,
      partitions: [
        { topic: t, partition: p0, offset: 2 },
        { topic: t, partition: p1, offset: -1 },
      ],
    };
    await writeFile(file, JSON.stringify(json));
    const out = await tool('kafka-delete-records', v, ['--offset-json-file', file]);
    assert.match(out, new RegExp(`partition: ${t}-${p0}\tlow_watermark: 2`));
    assert.match(out, new RegExp(`partition: ${t}-${p1}\tlow_watermark: ${hw[p1]}`));
    assert.equal(broker().replicas.get(t, p0)!.log.logStartOffset, 2);
    assert.equal(broker().replicas.get(t, p1)!.log.logStartOffset, hw[p1]);

    const earliest = lines(await tool('org.apache.kafka.tools.GetOffsetShell', v, ['--topic', t, '--time', '-2'])).sort();
    const expected = [0, 1, 2].map((p) => `${t}:${p}:${p === p0 ? 2 : p === p1 ? hw[p1] : 0}`);
    assert.deepEqual(earliest, expected);
  });

  test(`the ${v} tools sent only flexible request versions`, () => {
    // Every admin call above used the newest version both sides know, and for these APIs that is
    // a flexible (compact, tagged) one; the 4.x client cannot fall back to anything older.
    const old = [...seen].filter((s) => {
      const [k, ver] = s.split('/').map(Number);
      return !apiDef(k!)!.request.isFlexible(ver!);
    });
    assert.deepEqual(old, [], `non-flexible requests from the ${v} tools: ${old.join(' ')}`);
    for (const [apiKey, name] of [
      [19, 'CreateTopics'],
      [20, 'DeleteTopics'],
      [37, 'CreatePartitions'],
      [32, 'DescribeConfigs'],
      [21, 'DeleteRecords'],
      [2, 'ListOffsets'],
      [3, 'Metadata'],
    ] as const) {
      assert.ok(maxVersionSeen(seen, apiKey) >= 0, `the ${v} tools sent ${name}`);
    }
    seen.clear();
  });
}
