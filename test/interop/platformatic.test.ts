// @platformatic/kafka 1.35, unchanged, against our broker (on our ZooKeeper). It speaks the flexible
// (compact, tagged) encodings almost everywhere (ApiVersions 3+, Metadata 9+, Fetch 12+, CreateTopics
// 7, DeleteTopics 6, FindCoordinator 4, OffsetFetch 8, JoinGroup 6+ ...), so this file is the proof of
// the flexible half of every API it calls: topics, produce with keys and headers at every acks level
// and with every codec it has, idempotence, groups that rebalance as members join, leave and crash,
// committed offsets that survive a broker restart, offsets by time, and the admin surface.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { tracingChannel } from 'node:diagnostics_channel';
import { after, before, describe, test } from 'node:test';
import {
  Admin,
  type CompressionAlgorithmValue,
  CompressionAlgorithms,
  ConfigResourceTypes,
  Consumer,
  type ConsumeOptions,
  compressionsAlgorithms,
  IncrementalAlterConfigOperationTypes,
  ListOffsetTimestamps,
  type Message,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka';
import { KafkaTestingCluster } from '../../src/cluster/kafkaTestingCluster.js';
import { apiDef } from '../../src/kafka/protocol/apis.js';
import { startApacheZooKeeper, type ServerHandle } from '../helpers/apacheZk.js';
import { killOnExit } from '../helpers/children.js';
import { waitFor } from '../helpers/wait.js';

type StringMessage = Message<string, string, string, string>;

let cluster: KafkaTestingCluster;
let admin: Admin;
const closers: (() => Promise<unknown>)[] = [];

// Every (API, version) the client sent during this file, from its own diagnostics channel.
const sentVersions = new Map<number, Set<number>>();
const onApiStart = (ctx: unknown): void => {
  const { apiKey, apiVersion } = ctx as { apiKey: number; apiVersion: number };
  const set = sentVersions.get(apiKey) ?? new Set<number>();
  sentVersions.set(apiKey, set.add(apiVersion));
};
const apiChannel = tracingChannel('plt:kafka:connections:api');

// Short waits and quick retries keep a test that is going wrong from hanging until node:test's
// own timeout; the deadlines below only bound failures.
function base(clientId: string) {
  return { clientId, bootstrapBrokers: [cluster.bootstrap], retries: 20, retryDelay: 100, timeout: 10_000 };
}

function producer(clientId: string, extra: { idempotent?: boolean } = {}): Producer<string, string, string, string> {
  const p = new Producer({ ...base(clientId), serializers: stringSerializers, ...extra });
  closers.push(() => p.close());
  return p;
}

function consumer(groupId: string, clientId = groupId): Consumer<string, string, string, string> {
  const c = new Consumer({
    ...base(clientId),
    groupId,
    deserializers: stringDeserializers,
    maxWaitTime: 200,
    sessionTimeout: 6000,
    rebalanceTimeout: 10_000,
    heartbeatInterval: 300,
  });
  closers.push(() => new Promise<void>((resolve) => c.close(true, () => resolve())));
  return c;
}

/** Reads `count` messages from `topics` through a group stream, then closes the stream. */
async function readMessages(
  c: Consumer<string, string, string, string>,
  count: number,
  opts: Partial<ConsumeOptions<string, string, string, string>> = {},
): Promise<StringMessage[]> {
  const got: StringMessage[] = [];
  const stream = await c.consume({ topics: [], mode: MessagesStreamModes.EARLIEST, autocommit: false, ...opts });
  stream.on('data', (m: StringMessage) => got.push(m));
  try {
    await waitFor(() => got.length >= count, { timeoutMs: 30_000, what: () => `${count} messages, have ${got.length}` });
  } finally {
    await stream.close();
  }
  return got;
}

async function createTopic(name: string, partitions: number, configs: { name: string; value: string }[] = []): Promise<void> {
  const created = await admin.createTopics({ topics: [name], partitions, replicas: 1, configs });
  assert.equal(created[0]?.name, name);
  await waitFor(
    async () => (await admin.metadata({ topics: [name], forceUpdate: true })).topics.get(name)?.partitionsCount === partitions,
    {
      what: `${name} with ${partitions} partitions in metadata`,
    },
  );
}

/** A group member in its own process, so that killing it is a real crash. */
function spawnMember(groupId: string, topic: string) {
  const script = `
    import { Consumer } from ${JSON.stringify(import.meta.resolve('@platformatic/kafka'))};
    const c = new Consumer({ clientId: 'crasher', bootstrapBrokers: [${JSON.stringify(cluster.bootstrap)}], groupId: ${JSON.stringify(groupId)},
      sessionTimeout: 6000, rebalanceTimeout: 10000, heartbeatInterval: 300, maxWaitTime: 200 });
    const s = await c.consume({ topics: [${JSON.stringify(topic)}], mode: 'earliest' });
    s.on('data', () => {});
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  killOnExit(child);
  closers.push(async () => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.once('exit', (code, signal) => {
    if (signal !== 'SIGKILL') console.error(`crashing member exited early (${code}): ${stderr}`);
  });
  return child;
}

before(() => {
  apiChannel.start.subscribe(onApiStart);
});

after(() => {
  apiChannel.start.unsubscribe(onApiStart);
});

// The same scenarios with the broker on our ZooKeeper and on Apache ZooKeeper 3.8: running on a
// real ZooKeeper is part of the product.
for (const zkKind of ['ours', 'apache'] as const) {
  describe(`on ${zkKind === 'ours' ? 'our' : 'Apache'} ZooKeeper`, () => {
    let apacheZk: ServerHandle | undefined;

    before(async () => {
      if (zkKind === 'apache') apacheZk = await startApacheZooKeeper();
      cluster = await KafkaTestingCluster.start({ brokers: 1, ...(apacheZk ? { zkConnect: apacheZk.connectString } : {}) });
      admin = new Admin(base('platformatic-admin'));
    });

    after(async () => {
      for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
      await admin?.close().catch(() => undefined);
      await cluster?.close();
      await apacheZk?.stop();
    });

    test('admin creates topics with ids, lists them, refuses duplicates, and metadata shows the leader', async () => {
      const created = await admin.createTopics({ topics: ['jobs'], partitions: 3, replicas: 1 });
      assert.equal(created.length, 1);
      assert.equal(created[0]?.partitions, 3);
      assert.equal(created[0]?.replicas, 1);
      assert.match(created[0]?.id ?? '', /^[0-9a-f-]{36}$/);
      assert.notEqual(created[0]?.id, '00000000-0000-0000-0000-000000000000');
      await assert.rejects(admin.createTopics({ topics: ['jobs'], partitions: 3, replicas: 1 }), (e: AggregateError) => {
        assert.equal(e.errors[0]?.apiId, 'TOPIC_ALREADY_EXISTS');
        return true;
      });
      const topics = await admin.listTopics();
      assert.ok(topics.includes('jobs'));
      assert.ok(!topics.includes('__consumer_offsets'), 'internal topics are hidden unless asked for');
      const md = await admin.metadata({ topics: ['jobs'], forceUpdate: true });
      const t = md.topics.get('jobs');
      assert.equal(t?.partitionsCount, 3);
      assert.equal(t?.id, created[0]?.id);
      for (const p of t?.partitions ?? []) {
        assert.equal(p.leader, 1);
        assert.deepEqual(p.replicas, [1]);
        assert.deepEqual(p.isr, [1]);
      }
      assert.deepEqual([...md.brokers.keys()], [1]);
      assert.equal(md.brokers.get(1)?.port, cluster.get(1).port);
      assert.equal(md.controllerId, 1);
    });

    test('produce with keys and headers at acks 0, 1 and all with every codec, and read it all back in order', async () => {
      await createTopic('acks', 1);
      const p = producer('acks-producer');
      // zstd rides on node:zlib, which has it only from Node 22.15; on Node 20 the client says so.
      const codecs = (Object.values(CompressionAlgorithms) as CompressionAlgorithmValue[]).filter(
        (c) => compressionsAlgorithms[c].available,
      );
      assert.ok(codecs.includes('gzip') && codecs.includes('snappy') && codecs.includes('lz4'), `codecs: ${codecs}`);
      const sent: { key: string; value: string; trace: string }[] = [];
      for (const acks of [ProduceAcks.LEADER, ProduceAcks.ALL, ProduceAcks.NO_RESPONSE]) {
        for (const compression of codecs) {
          const messages = Array.from({ length: 5 }, (_, i) => ({
            topic: 'acks',
            key: `k${i % 3}`,
            value: `${acks}/${compression}/${i}`,
            headers: { 'trace-id': `t-${acks}-${compression}-${i}`, empty: '' },
          }));
          const res = await p.send({ messages, acks, compression });
          if (acks !== ProduceAcks.NO_RESPONSE) {
            assert.equal(res.offsets?.[0]?.offset, BigInt(sent.length), `${acks}/${compression} starts at the log end`);
          }
          for (const m of messages) sent.push({ key: m.key, value: m.value, trace: m.headers['trace-id'] });
        }
      }
      const got = await readMessages(consumer('acks-reader'), sent.length, { topics: ['acks'] });
      assert.deepEqual(
        got.map((m) => m.value),
        sent.map((m) => m.value),
      );
      assert.deepEqual(
        got.map((m) => m.key),
        sent.map((m) => m.key),
      );
      assert.deepEqual(
        got.map((m) => m.headers.get('trace-id')),
        sent.map((m) => m.trace),
      );
      assert.equal(got[0]?.headers.get('empty'), '');
      assert.deepEqual(
        got.map((m) => m.offset),
        sent.map((_, i) => BigInt(i)),
      );
      assert.ok(got.every((m) => m.partition === 0 && m.topic === 'acks'));
    });

    test('an idempotent producer writes each message once, and offsets by time find them', async () => {
      await createTopic('idem', 2);
      const p = producer('idem-producer', { idempotent: true });
      const t0 = BigInt(Date.now());
      for (let i = 0; i < 10; i++) {
        await p.send({
          messages: [
            { topic: 'idem', key: `k${i}`, value: `v${i}`, partition: i % 2 },
            { topic: 'idem', key: `k${i}`, value: `w${i}`, partition: i % 2 },
          ],
        });
      }
      assert.ok(p.producerId !== undefined && p.producerId >= 0n, 'InitProducerId gave the producer an id');
      assert.equal(p.producerEpoch, 0);
      // The client asks with id 0 and epoch 0 rather than -1/-1; each producer still gets its own id.
      const p2 = producer('idem-producer-2', { idempotent: true });
      await p2.send({ messages: [{ topic: 'idem', key: 'k', value: 'again', partition: 0 }] });
      assert.notEqual(p2.producerId, p.producerId);
      assert.equal(p2.producerEpoch, 0);
      const listed = await admin.listOffsets({
        topics: [
          {
            name: 'idem',
            partitions: [
              { partitionIndex: 0, timestamp: ListOffsetTimestamps.LATEST },
              { partitionIndex: 1, timestamp: ListOffsetTimestamps.LATEST },
            ],
          },
        ],
      });
      const ends = listed[0]?.partitions.map((x) => x.offset).sort();
      assert.deepEqual(ends, [10n, 11n]);

      const c = consumer('idem-offsets');
      const earliest = await c.listOffsets({ topics: ['idem'], timestamp: ListOffsetTimestamps.EARLIEST });
      assert.deepEqual(earliest.get('idem'), [0n, 0n]);
      const byOldTime = await c.listOffsets({ topics: ['idem'], timestamp: t0 - 1000n });
      assert.deepEqual(byOldTime.get('idem'), [0n, 0n], 'a time before every record finds the first');
      const future = await c.listOffsets({ topics: ['idem'], timestamp: BigInt(Date.now()) + 3_600_000n });
      assert.deepEqual(future.get('idem'), [-1n, -1n], 'a time past every record finds none, as Kafka answers');
      const withTs = await c.listOffsetsWithTimestamps({ topics: ['idem'], timestamp: t0 - 1000n });
      const ts = withTs.get('idem')?.get(0)?.timestamp ?? -1n;
      assert.ok(ts >= t0 - 1000n, `the first record's timestamp comes back (${ts})`);
    });

    test('a group of several members rebalances as members join, leave and crash', async () => {
      await createTopic('grouped', 6);
      const p = producer('grouped-producer');
      const owned = (c: Consumer<string, string, string, string>): number[] =>
        (c.assignments ?? [])
          .filter((a) => a.topic === 'grouped')
          .flatMap((a) => a.partitions)
          .sort();
      const seen = new Map<string, Set<number>>();
      const join = async (name: string) => {
        const c = consumer('workers', name);
        seen.set(name, new Set());
        const stream = await c.consume({ topics: ['grouped'], mode: MessagesStreamModes.EARLIEST, autocommit: 100 });
        stream.on('data', (m: StringMessage) => seen.get(name)?.add(m.partition));
        return { name, c, stream };
      };
      const covered = (members: Consumer<string, string, string, string>[]): boolean => {
        const all = members.flatMap(owned).sort((x, y) => x - y);
        return all.length === 6 && all.every((x, i) => x === i) && members.every((m) => owned(m).length > 0);
      };

      const a = await join('a');
      await waitFor(() => owned(a.c).length === 6, { timeoutMs: 30_000, what: 'the first member to own all 6 partitions' });
      const b = await join('b');
      const c = await join('c');
      await waitFor(() => covered([a.c, b.c, c.c]), {
        timeoutMs: 30_000,
        what: () => `3 members to share 6 partitions: ${[a.c, b.c, c.c].map((m) => owned(m).join(','))}`,
      });
      await p.send({
        messages: Array.from({ length: 60 }, (_, i) => ({ topic: 'grouped', key: `key-${i}`, value: `m${i}`, partition: i % 6 })),
      });
      // A fetch the client sent before the last rebalance may still bring a partition it has since
      // handed over (at-least-once), so each member must have read at least what it owns now.
      const seenText = () => [...seen].map(([name, s]) => `${name}: ${[...s].sort()}`).join('; ');
      const readOwn = () => [a, b, c].every((m) => owned(m.c).every((x) => seen.get(m.name)?.has(x)));
      await waitFor(readOwn, { timeoutMs: 30_000, what: () => `each member to read the partitions it owns: ${seenText()}` });

      const described = await admin.describeGroups({ groups: ['workers'] });
      const g = described.get('workers');
      assert.equal(g?.state, 'STABLE');
      assert.equal(g?.protocol, 'roundrobin');
      assert.equal(g?.protocolType, 'consumer');
      assert.equal(g?.members.size, 3);
      for (const m of g?.members.values() ?? []) {
        assert.ok(['a', 'b', 'c'].includes(m.clientId), `member client id ${m.clientId}`);
        const parts = [...(m.assignments?.values() ?? [])].flatMap((x) => x.partitions);
        assert.equal(parts.length, 2, 'the assignment decodes from DescribeGroups');
      }

      // A member that leaves (LeaveGroup) hands its partitions over at once.
      await c.stream.close();
      await c.c.close();
      await waitFor(() => covered([a.c, b.c]), { timeoutMs: 30_000, what: 'the two remaining members to own all 6 partitions' });

      // A member that crashes (a process killed: sockets closed, no LeaveGroup) is evicted when its
      // session times out, and the survivors take its partitions back.
      const crasher = spawnMember('workers', 'grouped');
      await waitFor(() => covered([a.c, b.c]) === false, { timeoutMs: 30_000, what: 'the crashing member to join and take partitions' });
      await waitFor(async () => (await admin.describeGroups({ groups: ['workers'] })).get('workers')?.members.size === 3, {
        timeoutMs: 30_000,
        what: 'three members in the group',
      });
      crasher.kill('SIGKILL');
      await waitFor(() => covered([a.c, b.c]), { timeoutMs: 45_000, what: 'the survivors to own all 6 partitions after the crash' });
      const after1 = (await admin.describeGroups({ groups: ['workers'] })).get('workers');
      assert.equal(after1?.members.size, 2);
      assert.equal(after1?.state, 'STABLE');
      await a.stream.close();
      await b.stream.close();
    });

    test('committed offsets survive a broker restart and the group resumes after them', async () => {
      await createTopic('resume', 1);
      const p = producer('resume-producer');
      await p.send({ messages: Array.from({ length: 10 }, (_, i) => ({ topic: 'resume', value: `first-${i}` })) });
      const c1 = consumer('resumer');
      const first = await readMessages(c1, 10, { topics: ['resume'] });
      await first[9]?.commit();
      const committed = await c1.listCommittedOffsets({ topics: [{ topic: 'resume', partitions: [0] }] });
      assert.deepEqual(committed.get('resume'), [10n], 'committing a message commits the offset after it');
      assert.deepEqual(
        first.map((m) => m.value),
        Array.from({ length: 10 }, (_, i) => `first-${i}`),
      );
      await c1.close();

      await cluster.restartBroker(1);

      const listed = await admin.listConsumerGroupOffsets({ groups: ['resumer'] });
      assert.equal(listed[0]?.topics.find((t) => t.name === 'resume')?.partitions[0]?.committedOffset, 10n);
      await p.send({ messages: Array.from({ length: 5 }, (_, i) => ({ topic: 'resume', value: `second-${i}` })) });
      const second = await readMessages(consumer('resumer', 'resumer-2'), 5, { topics: ['resume'], mode: MessagesStreamModes.COMMITTED });
      assert.deepEqual(
        second.map((m) => m.value),
        ['second-0', 'second-1', 'second-2', 'second-3', 'second-4'],
      );
      assert.equal(second[0]?.offset, 10n);
    });

    test('admin: describe and alter configs, create partitions, delete records, groups and topics', async () => {
      await createTopic('admin-t', 1, [{ name: 'retention.ms', value: '3600000' }]);
      const describe = async () => {
        const d = await admin.describeConfigs({
          resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: 'admin-t' }],
          includeSynonyms: true,
        });
        return new Map(d[0]?.configs.map((x) => [x.name, x]));
      };
      const d1 = await describe();
      assert.equal(d1.get('retention.ms')?.value, '3600000');
      assert.equal(d1.get('cleanup.policy')?.value, 'delete');
      assert.equal(d1.get('retention.ms')?.synonyms[0]?.value, '3600000', 'synonyms start with the topic override');

      await admin.alterConfigs({
        resources: [
          { resourceType: ConfigResourceTypes.TOPIC, resourceName: 'admin-t', configs: [{ name: 'retention.ms', value: '7200000' }] },
        ],
      });
      await waitFor(async () => (await describe()).get('retention.ms')?.value === '7200000', { what: 'retention.ms altered' });
      await admin.incrementalAlterConfigs({
        resources: [
          {
            resourceType: ConfigResourceTypes.TOPIC,
            resourceName: 'admin-t',
            configs: [{ name: 'max.message.bytes', configOperation: IncrementalAlterConfigOperationTypes.SET, value: '200000' }],
          },
        ],
      });
      await waitFor(async () => (await describe()).get('max.message.bytes')?.value === '200000', { what: 'max.message.bytes set' });
      assert.equal((await describe()).get('retention.ms')?.value, '7200000', 'an incremental change keeps the other overrides');
      const brokerCfg = await admin.describeConfigs({ resources: [{ resourceType: ConfigResourceTypes.BROKER, resourceName: '1' }] });
      assert.ok((brokerCfg[0]?.configs.length ?? 0) > 0, 'the broker describes its own configs');

      await admin.createPartitions({ topics: [{ name: 'admin-t', count: 3 }] });
      await waitFor(
        async () => (await admin.metadata({ topics: ['admin-t'], forceUpdate: true })).topics.get('admin-t')?.partitionsCount === 3,
        {
          what: '3 partitions',
        },
      );

      const p = producer('admin-producer');
      await p.send({ messages: Array.from({ length: 10 }, (_, i) => ({ topic: 'admin-t', value: `r${i}`, partition: 0 })) });
      const deleted = await admin.deleteRecords({ topics: [{ name: 'admin-t', partitions: [{ partition: 0, offset: 4n }] }] });
      assert.equal(deleted[0]?.partitions[0]?.lowWatermark, 4n);
      const c = consumer('admin-reader');
      const earliest = await c.listOffsets({ topics: ['admin-t'], timestamp: ListOffsetTimestamps.EARLIEST });
      assert.equal(earliest.get('admin-t')?.[0], 4n, 'the log start moved');
      const rest = await readMessages(c, 6, { topics: ['admin-t'] });
      assert.deepEqual(
        rest.map((m) => m.value),
        ['r4', 'r5', 'r6', 'r7', 'r8', 'r9'],
      );

      await admin.alterConsumerGroupOffsets({
        groupId: 'to-delete',
        topics: [{ name: 'admin-t', partitionOffsets: [{ partition: 0, offset: 5n }] }],
      });
      const fetched = await admin.listConsumerGroupOffsets({ groups: ['to-delete'] });
      assert.equal(fetched[0]?.topics[0]?.partitions.find((x) => x.partitionIndex === 0)?.committedOffset, 5n);
      const groups = await admin.listGroups();
      assert.equal(groups.get('to-delete')?.state, 'EMPTY');
      assert.ok(groups.has('admin-reader'));
      const stable = await admin.listGroups({ states: ['STABLE'] });
      assert.ok(!stable.has('to-delete'), 'the state filter applies');
      await admin.deleteGroups({ groups: ['to-delete'] });
      assert.ok(!(await admin.listGroups()).has('to-delete'));
      const gone = await admin.describeGroups({ groups: ['to-delete'] });
      assert.equal(gone.get('to-delete')?.state, 'DEAD');

      await admin.deleteTopics({ topics: ['admin-t'] });
      await waitFor(async () => !(await admin.listTopics()).includes('admin-t'), { what: 'admin-t to disappear' });
    });
  });
}

test('the client spoke the flexible encoding of every API it used, beyond ApiVersions', (t) => {
  const used = [...sentVersions].map(([key, versions]) => `${apiDef(key)?.name ?? key} v${[...versions].sort().join(',')}`);
  t.diagnostic(`versions used: ${used.join('; ')}`);
  // What the scenarios above must have exercised, at least.
  for (const name of ['Metadata', 'Produce', 'Fetch', 'ListOffsets', 'CreateTopics', 'DeleteTopics', 'FindCoordinator', 'JoinGroup']) {
    assert.ok(
      used.some((u) => u.startsWith(`${name} v`)),
      `${name} was used: ${used.join('; ')}`,
    );
  }
  for (const name of ['SyncGroup', 'Heartbeat', 'LeaveGroup', 'OffsetCommit', 'OffsetFetch', 'InitProducerId', 'DescribeGroups']) {
    assert.ok(
      used.some((u) => u.startsWith(`${name} v`)),
      `${name} was used: ${used.join('; ')}`,
    );
  }
  for (const [key, versions] of sentVersions) {
    const def = apiDef(key);
    assert.ok(def, `the client used API ${key}, which the broker does not know`);
    for (const v of versions) {
      // ApiVersions v3+ is flexible too, but its response header stays v0.
      assert.ok(def.request.isFlexible(v), `${def.name} v${v} is a flexible version`);
    }
  }
  assert.ok(
    [...(sentVersions.get(1) ?? [])].every((v) => v >= 13),
    'Fetch addresses topics by id (v13+)',
  );
});
