// kafkajs 2.2.4, unchanged, against our broker (on our ZooKeeper): topics, produce with keys and
// headers at every acks level, gzip, idempotence, consumer groups that rebalance, committed
// offsets that survive a broker restart, offsets by time, admin configs/partitions/records/
// groups/topic deletion. kafkajs never uses flexible versions, so this covers the classic
// encodings of every API it calls.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { KafkaTestingCluster } from '../../src/cluster/kafkaTestingCluster.js';
import { waitFor } from '../helpers/wait.js';

const { Kafka, logLevel, CompressionTypes, ConfigResourceTypes } = kafkajs;

let cluster: KafkaTestingCluster;
let kafka: InstanceType<typeof Kafka>;

before(async () => {
  cluster = await KafkaTestingCluster.start({ brokers: 1 });
  kafka = new Kafka({
    clientId: 'kafkajs-interop',
    brokers: [cluster.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 50, maxRetryTime: 1000 },
  });
});

after(async () => {
  await cluster?.close();
});

test('admin creates topics, lists them, and reports them in metadata', async () => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({
      topics: [{ topic: 'jobs', numPartitions: 3, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    assert.equal(created, true);
    const again = await admin.createTopics({ topics: [{ topic: 'jobs', numPartitions: 3 }] });
    assert.equal(again, false, 'creating an existing topic reports false');
    const topics = await admin.listTopics();
    assert.ok(topics.includes('jobs'));
    const md = await admin.fetchTopicMetadata({ topics: ['jobs'] });
    assert.equal(md.topics[0]?.partitions.length, 3);
    for (const p of md.topics[0]?.partitions ?? []) {
      assert.equal(p.leader, 1);
      assert.deepEqual(p.replicas, [1]);
      assert.deepEqual(p.isr, [1]);
    }
    const cluster1 = await admin.describeCluster();
    assert.equal(cluster1.brokers.length, 1);
    assert.equal(cluster1.controller, 1);
    assert.match(cluster1.clusterId, /^[A-Za-z0-9_-]{22}$/);
  } finally {
    await admin.disconnect();
  }
});

test('produce with keys and headers at acks 0, 1 and all, then read everything back in order', async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'acks', numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const sent: string[] = [];
  for (const acks of [1, -1, 0]) {
    const messages = Array.from({ length: 20 }, (_, i) => ({
      key: `k${i % 4}`,
      value: `acks${acks}-${i}`,
      headers: { 'trace-id': `t-${acks}-${i}`, empty: '' },
    }));
    sent.push(...messages.map((m) => m.value));
    const res = await producer.send({ topic: 'acks', acks, messages });
    if (acks !== 0) assert.equal(res[0]?.errorCode, 0);
  }
  await producer.send({ topic: 'acks', compression: CompressionTypes.GZIP, messages: [{ key: 'z', value: 'gzipped' }] });
  sent.push('gzipped');
  await producer.disconnect();

  const got: { value: string; key: string; headers: Record<string, string> }[] = [];
  const consumer = kafka.consumer({ groupId: 'acks-reader', maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'acks', fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      got.push({ value: String(message.value), key: String(message.key), headers });
    },
  });
  try {
    await waitFor(() => got.length >= sent.length, { timeoutMs: 30_000, what: () => `${sent.length} messages, have ${got.length}` });
  } finally {
    await consumer.disconnect();
  }
  assert.deepEqual(
    got.map((m) => m.value),
    sent,
  );
  assert.equal(got[0]?.key, 'k0');
  assert.equal(got[0]?.headers['trace-id'], 't-1-0');
  assert.equal(got[0]?.headers.empty, '');
});

test('an idempotent producer writes each message once, and offsets by time find them', async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'idem', numPartitions: 2 }], waitForLeaders: true });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const before = Date.now();
  for (let i = 0; i < 10; i++) {
    await producer.send({
      topic: 'idem',
      messages: [
        { key: `k${i}`, value: `v${i}` },
        { key: `k${i}`, value: `w${i}` },
      ],
    });
  }
  await producer.disconnect();
  const offsets = await admin.fetchTopicOffsets('idem');
  const total = offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  assert.equal(total, 20);
  const byTime = await admin.fetchTopicOffsetsByTimestamp('idem', before - 1000);
  for (const p of byTime) assert.equal(p.offset, '0');
  const future = await admin.fetchTopicOffsetsByTimestamp('idem', Date.now() + 3_600_000);
  for (const p of future) {
    const high = offsets.find((o) => o.partition === p.partition)?.high;
    assert.equal(p.offset, high, 'a timestamp past every record resolves to the log end');
  }
  await admin.disconnect();
});

test('a consumer group shares partitions and rebalances as members join and leave', async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'grouped', numPartitions: 4 }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: 'grouped',
    messages: Array.from({ length: 40 }, (_, i) => ({ key: `key-${i}`, value: `m${i}` })),
  });

  const seen = new Map<string, Set<number>>();
  const mk = (name: string) => {
    const c = kafka.consumer({ groupId: 'workers', sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 100 });
    seen.set(name, new Set());
    return {
      c,
      async start() {
        await c.connect();
        await c.subscribe({ topic: 'grouped', fromBeginning: true });
        await c.run({
          eachMessage: async ({ partition }) => {
            seen.get(name)?.add(partition);
          },
        });
      },
    };
  };
  const a = mk('a');
  await a.start();
  await waitFor(() => (seen.get('a')?.size ?? 0) === 4, { timeoutMs: 30_000, what: 'one member reading all 4 partitions' });
  const b = mk('b');
  const joined = new Promise<void>((resolve) => {
    b.c.on(b.c.events.GROUP_JOIN, () => resolve());
  });
  await b.start();
  await joined;
  await producer.send({
    topic: 'grouped',
    messages: Array.from({ length: 40 }, (_, i) => ({ key: `again-${i}`, value: `n${i}` })),
  });
  await waitFor(() => (seen.get('b')?.size ?? 0) > 0, { timeoutMs: 30_000, what: 'the second member to get partitions' });
  const described = await admin.describeGroups(['workers']);
  assert.equal(described.groups[0]?.state, 'Stable');
  assert.equal(described.groups[0]?.members.length, 2);
  assert.equal(described.groups[0]?.protocol, 'RoundRobinAssigner');
  await b.c.disconnect();
  await a.c.disconnect();
  const listed = await admin.listGroups();
  assert.ok(listed.groups.some((g) => g.groupId === 'workers'));
  await producer.disconnect();
  await admin.disconnect();
});

test('committed offsets survive a broker restart and the group resumes after them', async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'resume', numPartitions: 1 }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'resume', messages: Array.from({ length: 10 }, (_, i) => ({ value: `first-${i}` })) });
  await producer.disconnect();
  const first: string[] = [];
  const c1 = kafka.consumer({ groupId: 'resumer', maxWaitTimeInMs: 100 });
  await c1.connect();
  await c1.subscribe({ topic: 'resume', fromBeginning: true });
  await c1.run({ eachMessage: async ({ message }) => void first.push(String(message.value)) });
  await waitFor(() => first.length === 10, { timeoutMs: 30_000, what: 'the first 10 messages' });
  await c1.disconnect(); // commits on the way out
  const committed = await admin.fetchOffsets({ groupId: 'resumer', topics: ['resume'] });
  assert.equal(committed[0]?.partitions[0]?.offset, '10');
  await admin.disconnect();

  await cluster.restartBroker(1);

  const p2 = kafka.producer();
  await p2.connect();
  await p2.send({ topic: 'resume', messages: Array.from({ length: 5 }, (_, i) => ({ value: `second-${i}` })) });
  await p2.disconnect();
  const second: string[] = [];
  const c2 = kafka.consumer({ groupId: 'resumer', maxWaitTimeInMs: 100 });
  await c2.connect();
  await c2.subscribe({ topic: 'resume', fromBeginning: true });
  await c2.run({ eachMessage: async ({ message }) => void second.push(String(message.value)) });
  try {
    await waitFor(() => second.length >= 5, { timeoutMs: 30_000, what: 'the 5 new messages' });
  } finally {
    await c2.disconnect();
  }
  assert.deepEqual(second, ['second-0', 'second-1', 'second-2', 'second-3', 'second-4']);
});

test('admin: describe and alter configs, create partitions, delete records, delete groups and topics', async () => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic: 'admin-t', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
      waitForLeaders: true,
    });
    const d1 = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'admin-t' }], includeSynonyms: false });
    const entries = d1.resources[0]?.configEntries ?? [];
    assert.equal(entries.find((e) => e.configName === 'retention.ms')?.configValue, '3600000');
    assert.equal(entries.find((e) => e.configName === 'cleanup.policy')?.configValue, 'delete');
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: 'admin-t', configEntries: [{ name: 'retention.ms', value: '7200000' }] }],
    });
    const d2 = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'admin-t' }], includeSynonyms: false });
    assert.equal(d2.resources[0]?.configEntries.find((e) => e.configName === 'retention.ms')?.configValue, '7200000');

    await admin.createPartitions({ topicPartitions: [{ topic: 'admin-t', count: 3 }] });
    await waitFor(async () => (await admin.fetchTopicMetadata({ topics: ['admin-t'] })).topics[0]?.partitions.length === 3, {
      what: '3 partitions',
    });

    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'admin-t', messages: Array.from({ length: 10 }, (_, i) => ({ value: `r${i}`, partition: 0 })) });
    await producer.disconnect();
    await admin.deleteTopicRecords({ topic: 'admin-t', partitions: [{ partition: 0, offset: '4' }] });
    const offs = await admin.fetchTopicOffsets('admin-t');
    assert.equal(offs.find((o) => o.partition === 0)?.low, '4');

    await admin.setOffsets({ groupId: 'to-delete', topic: 'admin-t', partitions: [{ partition: 0, offset: '5' }] });
    const fetched = await admin.fetchOffsets({ groupId: 'to-delete', topics: ['admin-t'] });
    assert.equal(fetched[0]?.partitions.find((p) => p.partition === 0)?.offset, '5');
    await admin.deleteGroups(['to-delete']);
    const after1 = await admin.listGroups();
    assert.ok(!after1.groups.some((g) => g.groupId === 'to-delete'));

    await admin.deleteTopics({ topics: ['admin-t'], timeout: 10_000 });
    await waitFor(async () => !(await admin.listTopics()).includes('admin-t'), { what: 'admin-t to disappear' });
  } finally {
    await admin.disconnect();
  }
});
