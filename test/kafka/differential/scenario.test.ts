// One kafkajs scenario (topics with configs, an idempotent producer, a consumer group that commits,
// config changes, record and topic deletion) run against Apache Kafka 3.9 and against our broker,
// both on one Apache ZooKeeper 3.8: the observable results must match. Then the znodes each broker
// wrote under its chroot are compared path by path and JSON key by key.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import type { ZooKeeperClient } from '../../../src/zookeeper/client/index.js';
import { waitFor } from '../../helpers/wait.js';
import { type Allowed, assertSame, Normalizer, type Pair, type Side, startPair } from './harness.js';

const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;
type KafkaClient = InstanceType<typeof Kafka>;

let pair: Pair;

before(async () => {
  pair = await startPair();
});

after(async () => {
  await pair?.close();
});

function client(side: Side): KafkaClient {
  return new Kafka({
    clientId: 'differential',
    brokers: [side.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 50, maxRetryTime: 1000 },
  });
}

const GROUP = 'sc-group';
const MESSAGES = 12;

/** Apache Kafka lists partitions in a hash-map order: compare them by index. */
const byPartition = <T extends { partition: number }>(list: T[]): T[] => [...list].sort((a, b) => a.partition - b.partition);

/** Everything the scenario observes through kafkajs on one broker. */
async function scenario(side: Side): Promise<Record<string, unknown>> {
  const kafka = client(side);
  const out: Record<string, unknown> = {};
  const admin = kafka.admin();
  await admin.connect();
  try {
    out['created'] = await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: 'sc-events', numPartitions: 3 },
        { topic: 'sc-compact', numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
        { topic: 'sc-logs', numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '3600000' }] },
      ],
    });
    out['createdAgain'] = await admin.createTopics({ topics: [{ topic: 'sc-events', numPartitions: 3 }] });

    const producer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
    await producer.connect();
    const sends: unknown[] = [];
    for (let i = 0; i < MESSAGES; i++) {
      const r = await producer.send({
        topic: 'sc-events',
        messages: [{ key: `key-${i % 5}`, value: `value-${i}`, headers: { n: String(i) } }],
      });
      sends.push(r.map((x) => ({ topic: x.topicName, partition: x.partition, errorCode: x.errorCode, baseOffset: x.baseOffset })));
    }
    await producer.send({
      topic: 'sc-compact',
      messages: [
        { key: 'a', value: '1' },
        { key: 'a', value: null },
      ],
    });
    await producer.disconnect();
    out['sends'] = sends;

    const consumer = kafka.consumer({ groupId: GROUP, sessionTimeout: 10_000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topics: ['sc-events'], fromBeginning: true });
    const seen: { partition: number; offset: string; key: string; value: string; n: string }[] = [];
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.push({
          partition,
          offset: message.offset,
          key: String(message.key),
          value: String(message.value),
          n: String(message.headers?.['n']),
        });
      },
    });
    await waitFor(() => seen.length >= MESSAGES, { timeoutMs: 60_000, what: `${side.name}: ${MESSAGES} messages consumed` });
    await consumer.commitOffsets([]); // autocommit covers the rest; this flushes what is pending
    await waitFor(
      async () => {
        const offs = await admin.fetchOffsets({ groupId: GROUP, topics: ['sc-events'] });
        const sum = offs[0]!.partitions.reduce((s, p) => s + Number(p.offset), 0);
        return sum === MESSAGES;
      },
      { timeoutMs: 30_000, what: `${side.name}: committed offsets cover all messages` },
    );
    const described = await admin.describeGroups([GROUP]);
    out['groupWhileRunning'] = described.groups.map((g) => ({
      state: g.state,
      protocolType: g.protocolType,
      protocol: g.protocol,
      members: g.members.length,
    }));
    await consumer.disconnect();
    out['consumed'] = seen.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));

    const offsets = await admin.fetchOffsets({ groupId: GROUP, topics: ['sc-events'] });
    out['committed'] = offsets.map((t) => ({ topic: t.topic, partitions: [...t.partitions].sort((a, b) => a.partition - b.partition) }));
    const groups = await admin.describeGroups([GROUP]);
    out['groupAfter'] = groups.groups.map((g) => ({ state: g.state, members: g.members.length }));
    out['listGroups'] = (await admin.listGroups()).groups.map((g) => g.groupId).sort();
    out['topicOffsets'] = byPartition(await admin.fetchTopicOffsets('sc-events'));

    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: 'sc-logs', configEntries: [{ name: 'retention.ms', value: '7200000' }] }],
    });
    await waitFor(
      async () => {
        const c = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: ConfigResourceTypes.TOPIC, name: 'sc-logs', configNames: ['retention.ms'] }],
        });
        return c.resources[0]?.configEntries[0]?.configValue === '7200000';
      },
      { timeoutMs: 30_000, what: `${side.name}: retention.ms altered` },
    );
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: 'sc-compact', configNames: ['cleanup.policy', 'retention.ms', 'segment.bytes'] },
        { type: ConfigResourceTypes.TOPIC, name: 'sc-logs', configNames: ['cleanup.policy', 'retention.ms'] },
      ],
    });
    out['configs'] = configs.resources.map((r) => ({
      name: r.resourceName,
      errorCode: r.errorCode,
      entries: [...r.configEntries]
        .sort((a, b) => (a.configName < b.configName ? -1 : 1))
        .map((e) => ({
          name: e.configName,
          value: e.configValue,
          readOnly: e.readOnly,
          isDefault: e.isDefault,
          isSensitive: e.isSensitive,
        })),
    }));

    await admin.deleteTopicRecords({ topic: 'sc-events', partitions: [{ partition: 0, offset: '1' }] });
    out['afterDeleteRecords'] = byPartition(await admin.fetchTopicOffsets('sc-events'));
    await admin.deleteTopics({ topics: ['sc-logs'] });
    await waitFor(async () => !(await admin.listTopics()).includes('sc-logs'), {
      timeoutMs: 30_000,
      what: `${side.name}: sc-logs deleted`,
    });
    out['topics'] = (await admin.listTopics()).filter((t) => !t.startsWith('__')).sort();
    const md = await admin.fetchTopicMetadata({ topics: ['sc-events', 'sc-compact'] });
    // Apache Kafka lists topics in a hash-map order: compare them by name.
    const mdTopics = [...md.topics].sort((a, b) => (a.name < b.name ? -1 : 1));
    out['metadata'] = mdTopics.map((t) => ({
      name: t.name,
      partitions: t.partitions
        .map((p) => ({ partitionId: p.partitionId, errorCode: p.partitionErrorCode, leader: p.leader === side.brokerId ? 'B' : p.leader }))
        .sort((a, b) => a.partitionId - b.partitionId),
    }));
  } finally {
    await admin.disconnect();
  }
  return out;
}

test('kafkajs scenario: the same observable results on Apache Kafka 3.9 and on our broker', { timeout: 240_000 }, async (t) => {
  // One after the other: the two JVM-free halves would otherwise compete with the JVM for two cores.
  const apache = await scenario(pair.apache);
  const ours = await scenario(pair.ours);
  assertSame('kafkajs scenario', apache, ours, [], (s) => t.diagnostic(s));
});

// ---- znodes -------------------------------------------------------------------------------------

interface Znode {
  data: string | null;
  ephemeral: boolean;
}

/** Every znode under `root`, keyed by its chroot-relative path. */
async function tree(zkc: ZooKeeperClient, root: string): Promise<Map<string, Znode>> {
  const out = new Map<string, Znode>();
  const walk = async (path: string): Promise<void> => {
    const { data, stat } = await zkc.getData(path);
    out.set(path.slice(root.length) || '/', { data: data === null ? null : data.toString('utf8'), ephemeral: stat.ephemeralOwner !== 0n });
    for (const child of (await zkc.getChildren(path)).sort()) await walk(`${path}/${child}`);
  };
  await walk(root);
  return out;
}

/** Broker ids in paths and JSON values become 'B'; values a broker picks itself are normalized. */
function normalizeZnode(path: string, z: Znode, brokerId: number, norm: Normalizer): { path: string; value: unknown } {
  const p = path.replace(new RegExp(`^(/brokers/ids|/config/brokers)/${brokerId}$`), '$1/B');
  let value: unknown = z.data;
  if (z.data !== null && /^[[{]/.test(z.data)) {
    const j = JSON.parse(z.data) as Record<string, unknown>;
    for (const k of ['timestamp', 'port', 'host']) if (k in j) j[k] = k.toUpperCase();
    if (Array.isArray(j['endpoints'])) j['endpoints'] = j['endpoints'].map(() => 'ENDPOINT');
    if ('brokerid' in j) j['brokerid'] = j['brokerid'] === brokerId ? 'B' : j['brokerid'];
    if ('broker' in j && j['broker'] === brokerId) j['broker'] = 'B';
    if ('leader' in j && j['leader'] === brokerId) j['leader'] = 'B';
    if (Array.isArray(j['isr'])) j['isr'] = j['isr'].map((x) => (x === brokerId ? 'B' : x));
    if ('id' in j && p === '/cluster/id') j['id'] = 'CLUSTER';
    if (typeof j['topic_id'] === 'string') j['topic_id'] = norm.norm(j['topic_id'], 'topicId');
    if (j['partitions'] && typeof j['partitions'] === 'object' && !Array.isArray(j['partitions'])) {
      const parts = j['partitions'] as Record<string, unknown>;
      for (const [k, v] of Object.entries(parts)) parts[k] = Array.isArray(v) ? v.map((x) => (x === brokerId ? 'B' : x)) : v;
    }
    value = j;
  }
  return { path: p, value: { ephemeral: z.ephemeral, data: value } };
}

/** Paths where the two brokers may differ, and why (each also in docs/KAFKA-COMPATIBILITY.md). */
const ZNODE_ALLOWED: Allowed[] = [];

test('znodes: the same paths and the same JSON under /apache and /ours', { timeout: 60_000 }, async (t) => {
  // Transient nodes (topic deletion markers, change notifications) settle first: wait for both.
  for (const root of ['/apache', '/ours']) {
    await waitFor(async () => (await pair.zkc.getChildren(`${root}/admin/delete_topics`)).length === 0, {
      timeoutMs: 30_000,
      what: `${root}/admin/delete_topics drained`,
    });
  }
  const [a, o] = await Promise.all([tree(pair.zkc, '/apache'), tree(pair.zkc, '/ours')]);
  const na = new Normalizer(pair.apache.brokerId);
  const no = new Normalizer(pair.ours.brokerId);
  const toObj = (m: Map<string, Znode>, id: number, n: Normalizer): Record<string, unknown> => {
    const obj: Record<string, unknown> = {};
    for (const [path, z] of m) {
      const { path: p, value } = normalizeZnode(path, z, id, n);
      obj[p] = value;
    }
    return obj;
  };
  const apache = toObj(a, pair.apache.brokerId, na);
  const ours = toObj(o, pair.ours.brokerId, no);
  t.diagnostic(`apache: ${a.size} znodes, ours: ${o.size}`);
  assert.ok(a.has('/brokers/ids/0') && o.has('/brokers/ids/1'), 'both brokers registered under their chroots');
  // A path one broker lacks shows as `<path>: apache {...} ours undefined`.
  assertSame('znodes', apache, ours, ZNODE_ALLOWED, (s) => t.diagnostic(s));
});
