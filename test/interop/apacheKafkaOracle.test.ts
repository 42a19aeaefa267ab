// Smoke test of the Apache Kafka oracle harness: Apache ZooKeeper 3.8 + Apache Kafka 3.9 (ZooKeeper
// mode) start; Kafka's own tools and kafkajs talk to the broker; our ZooKeeper client reads the
// znodes Kafka wrote and checks their JSON shapes against /work/shared/reference/kafka.md §1.
//
// What Apache Kafka 3.9.1 actually wrote, compared with the reference (§1.1), seen in this test:
// - /brokers/ids/<id> is version 5 with `features: {}` (empty: a ZK-mode broker advertises no
//   supported features there), `jmx_port: -1`, `timestamp` a string, `host`/`port` the PLAINTEXT
//   endpoint, and no `rack` key when broker.rack is unset: as documented.
// - /brokers/topics/<t> is version 3 with `partitions`, `adding_replicas: {}`,
//   `removing_replicas: {}` and a 22-char `topic_id`: as documented.
// - .../partitions/<p>/state is `{"controller_epoch":N,"leader":0,"version":1,"leader_epoch":0,
//   "isr":[0]}`: as documented (no leader_recovery_state while RECOVERED).
// - /controller is `{"version":2,"brokerid":0,"timestamp":"...","kraftControllerEpoch":-1}` and
//   /cluster/id is `{"version":"1","id":"<22 chars>"}`: as documented.
// - /brokers/ids/<id> has zkVersion 1 (the multi create-with-null + setData of §1.2), which a
//   reimplementation must reproduce. /controller_epoch reads `1` at zkVersion 1.
// - Not spelled out in §1.1: /feature in ZK mode is `{"features":{},"version":2,"status":1}` (enabled,
//   nothing finalized), and /config/topics/<t> exists for every topic, `{"version":1,"config":{}}`
//   when it was created without overrides.
// (Any mismatch makes the assertions below fail; update this comment with what changed.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { ZooKeeperClient } from '../../src/zookeeper/client/index.js';
import { startApacheZooKeeper, type ServerHandle } from '../helpers/apacheZk.js';
import { kafkaHome, kafkaJarsPresent, runKafkaTool, startApacheKafka, type KafkaHandle } from '../helpers/apacheKafka.js';
import { waitFor } from '../helpers/wait.js';

const { Kafka, logLevel } = kafkajs;

const TOPIC = 'oracle-smoke';
const MESSAGES = 10;
const UUID_B64 = /^[A-Za-z0-9_-]{22}$/;

function json(data: Buffer | null): Record<string, unknown> {
  assert.ok(data, 'znode has data');
  return JSON.parse(data.toString('utf8')) as Record<string, unknown>;
}

test('Apache Kafka 3.9 oracle: start, tools, kafkajs round trip, znode shapes', { timeout: 300_000 }, async (t) => {
  assert.ok(kafkaJarsPresent('3.9'), `no Kafka 3.9 jars in ${kafkaHome('3.9')}/lib: run scripts/fetch-kafka.sh`);

  let zk: ServerHandle | undefined;
  let kafka: KafkaHandle | undefined;
  let zkc: ZooKeeperClient | undefined;
  t.after(async () => {
    await zkc?.close();
    await kafka?.stop();
    await zk?.stop();
  });

  zk = await startApacheZooKeeper();
  kafka = await startApacheKafka({ zkConnect: zk.connectString, brokerId: 0 });
  t.diagnostic(`Apache Kafka 3.9 start-up: ${kafka.startupMs} ms (spawn to Metadata listing itself)`);
  assert.equal(kafka.bootstrap, `127.0.0.1:${kafka.port}`);
  assert.ok(kafka.pid > 0);

  // kafka-topics creates the topic.
  const created = await runKafkaTool('kafka-topics', [
    '--bootstrap-server',
    kafka.bootstrap,
    '--create',
    '--topic',
    TOPIC,
    '--partitions',
    '1',
    '--replication-factor',
    '1',
  ]);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, new RegExp(`Created topic ${TOPIC}\\.`));
  const described = await runKafkaTool('kafka-topics', ['--bootstrap-server', kafka.bootstrap, '--describe', '--topic', TOPIC]);
  assert.equal(described.code, 0, described.stderr);
  assert.match(described.stdout, /Partition: 0\s+Leader: 0\s+Replicas: 0\s+Isr: 0/);

  // kafkajs produces 10 messages and a consumer reads them back in order.
  const client = new Kafka({ clientId: 'oracle-smoke', brokers: [kafka.bootstrap], logLevel: logLevel.NOTHING });
  const producer = client.producer();
  await producer.connect();
  const sent = Array.from({ length: MESSAGES }, (_, i) => ({ key: `k${i}`, value: `message-${i}` }));
  const acks = await producer.send({ topic: TOPIC, messages: sent });
  await producer.disconnect();
  assert.equal(acks.length, 1);
  assert.equal(acks[0]!.errorCode, 0);

  const consumer = client.consumer({ groupId: 'oracle-smoke-group' });
  const received: { key: string; value: string; offset: string }[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (received.length < MESSAGES) {
          received.push({ key: String(message.key), value: String(message.value), offset: message.offset });
        }
      },
    });
    await waitFor(() => received.length >= MESSAGES, { timeoutMs: 60_000, what: () => `${MESSAGES} messages (got ${received.length})` });
  } finally {
    await consumer.disconnect();
  }
  assert.deepEqual(
    received,
    sent.map((m, i) => ({ ...m, offset: String(i) })),
  );

  // kafka-dump-log decodes the segment the broker wrote.
  const segment = `${kafka.logDir}/${TOPIC}-0/00000000000000000000.log`;
  const dumped = await runKafkaTool('kafka-dump-log', ['--files', segment, '--print-data-log']);
  assert.equal(dumped.code, 0, dumped.stderr);
  for (let i = 0; i < MESSAGES; i++) assert.match(dumped.stdout, new RegExp(`key: k${i} payload: message-${i}\\b`));
  assert.match(dumped.stdout, /baseOffset: 0 lastOffset: 9 count: 10/);

  // A current (4.x) Java client reads the same records back through the 3.9 broker.
  const consumed = await runKafkaTool(
    'kafka-console-consumer',
    [
      '--bootstrap-server',
      kafka.bootstrap,
      '--topic',
      TOPIC,
      '--from-beginning',
      '--max-messages',
      String(MESSAGES),
      '--property',
      'print.key=true',
      '--property',
      'key.separator==',
    ],
    { clientVersion: '4.x' },
  );
  assert.equal(consumed.code, 0, consumed.stderr);
  assert.deepEqual(
    consumed.stdout.trim().split('\n'),
    sent.map((m) => `${m.key}=${m.value}`),
  );

  // The znodes, read with our own ZooKeeper client.
  zkc = new ZooKeeperClient({ connectString: zk.connectString, sessionTimeoutMs: 10_000 });
  await zkc.connect();

  const broker = await zkc.getData('/brokers/ids/0');
  assert.notEqual(BigInt(broker.stat.ephemeralOwner), 0n, '/brokers/ids/0 is ephemeral');
  const b = json(broker.data);
  assert.equal(b['version'], 5);
  assert.equal(b['host'], '127.0.0.1');
  assert.equal(b['port'], kafka.port);
  assert.equal(b['jmx_port'], -1);
  assert.equal(typeof b['timestamp'], 'string');
  assert.match(b['timestamp'] as string, /^\d+$/);
  assert.deepEqual(b['endpoints'], [`PLAINTEXT://127.0.0.1:${kafka.port}`]);
  assert.deepEqual(b['listener_security_protocol_map'], { PLAINTEXT: 'PLAINTEXT' });
  assert.deepEqual(b['features'], {});
  assert.equal('rack' in b, false);

  const topic = json((await zkc.getData(`/brokers/topics/${TOPIC}`)).data);
  assert.equal(topic['version'], 3);
  assert.deepEqual(topic['partitions'], { '0': [0] });
  assert.deepEqual(topic['adding_replicas'], {});
  assert.deepEqual(topic['removing_replicas'], {});
  assert.match(topic['topic_id'] as string, UUID_B64);

  const state = json((await zkc.getData(`/brokers/topics/${TOPIC}/partitions/0/state`)).data);
  assert.deepEqual(Object.keys(state).sort(), ['controller_epoch', 'isr', 'leader', 'leader_epoch', 'version']);
  assert.equal(state['version'], 1);
  assert.equal(state['leader'], 0);
  assert.equal(state['leader_epoch'], 0);
  assert.deepEqual(state['isr'], [0]);
  assert.equal(typeof state['controller_epoch'], 'number');

  const controller = json((await zkc.getData('/controller')).data);
  assert.deepEqual(Object.keys(controller).sort(), ['brokerid', 'kraftControllerEpoch', 'timestamp', 'version']);
  assert.equal(controller['version'], 2);
  assert.equal(controller['brokerid'], 0);
  assert.equal(controller['kraftControllerEpoch'], -1);
  const epochText = (await zkc.getData('/controller_epoch')).data?.toString('utf8');
  assert.match(epochText ?? '', /^\d+$/);
  assert.equal(Number(epochText), state['controller_epoch']);

  assert.equal(broker.stat.version, 1, '/brokers/ids/0 written as create(null) + setData in one multi');
  assert.deepEqual(json((await zkc.getData(`/config/topics/${TOPIC}`)).data), { version: 1, config: {} });
  assert.deepEqual(json((await zkc.getData('/feature')).data), { version: 2, status: 1, features: {} });

  const clusterId = json((await zkc.getData('/cluster/id')).data);
  assert.equal(clusterId['version'], '1');
  assert.match(clusterId['id'] as string, UUID_B64);

  // The consumer group's offsets went to __consumer_offsets, which the broker auto-created.
  assert.ok((await zkc.getChildren('/brokers/topics')).includes('__consumer_offsets'));
});
