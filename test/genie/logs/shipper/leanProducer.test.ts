// The shipper's own producer (leanProducer.ts, recordBatch.ts): its record batches decode with the
// broker's own decoder (CRC, producer stamp, UTF-8 values); against two real brokers every record
// of concurrent calls arrives once and in order per partition, also while a partition's leader
// moves (NOT_LEADER_OR_FOLLOWER → metadata refresh → resend); a record the topic refuses as too
// large fails its call as "too large" and the partition's next batch is still accepted.

import assert from 'node:assert/strict';
import { type AddressInfo, createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Consumer, type Message, MessagesStreamModes, stringDeserializers } from '@platformatic/kafka';
import { KafkaTestingCluster } from '../../../../src/cluster/kafkaTestingCluster.js';
import { ensureTopics } from '../../../../src/genie/kafka.js';
import { LogProducer } from '../../../../src/genie/logs/shipper/leanProducer.js';
import { isTooLarge, type LogRecord, partitionOf } from '../../../../src/genie/logs/shipper/producer.js';
import { encodeRecordBatch } from '../../../../src/genie/logs/shipper/recordBatch.js';
import { decodeBatches } from '../../../../src/kafka/protocol/records.js';
import { waitFor } from '../../../helpers/wait.js';

function record(topic: string, key: string, value: string): LogRecord {
  const k = Buffer.from(key);
  return { topic, key: k, value, valueBytes: Buffer.byteLength(value), partition: partitionOf(k) };
}

describe('record batches', () => {
  for (const [name, codec] of [
    ['none', 0],
    ['lz4', 3],
    ['gzip', 1],
  ] as const) {
    test(`decode with the broker's decoder (${name})`, () => {
      const values = ['plain', 'ünïcødé ✓ 𝄞', 'x'.repeat(300), '', '{"a":1}'];
      const records = values.map((v, i) => record('t', `key-${i % 2}`, v));
      const buf = encodeRecordBatch(records, 1, records.length, codec, 1_700_000_000_123, {
        producerId: 42,
        producerEpoch: 3,
        baseSequence: 17,
      });
      const [batch, ...rest] = decodeBatches(buf);
      assert.equal(rest.length, 0);
      assert.ok(batch);
      assert.equal(batch.compression, codec);
      assert.equal(batch.producerId, 42);
      assert.equal(batch.producerEpoch, 3);
      assert.equal(batch.baseSequence, 17);
      assert.equal(batch.recordsCount, values.length - 1);
      assert.equal(batch.lastOffsetDelta, values.length - 2);
      assert.equal(batch.maxTimestamp, 1_700_000_000_123);
      assert.deepEqual(
        batch.records.map((r) => [r.offset, r.timestamp, r.key?.toString(), r.value?.toString(), r.headers.length]),
        values.slice(1).map((v, i) => [i, 1_700_000_000_123, `key-${(i + 1) % 2}`, v, 0]),
      );
    });
  }

  test('a batch needs a record', () => {
    assert.throws(() => encodeRecordBatch([], 0, 0, 0, 0, { producerId: 1, producerEpoch: 0, baseSequence: 0 }), RangeError);
  });
});

describe('against two brokers', () => {
  let cluster: KafkaTestingCluster;
  let kafka: { bootstrapBrokers: string[]; clientId: string };
  const consumers: Consumer<string, string, string, string>[] = [];

  before(async () => {
    cluster = await KafkaTestingCluster.start({ brokers: 2 });
    kafka = { bootstrapBrokers: cluster.bootstrap.split(','), clientId: 'lean-producer-test' };
    await ensureTopics(kafka, [
      { name: 'lean.many', partitions: 3, replicationFactor: 2 },
      { name: 'lean.moves', partitions: 2, replicationFactor: 2 },
      { name: 'lean.small', partitions: 1, replicationFactor: 2, configs: { 'max.message.bytes': '2000' } },
    ]);
  });

  after(async () => {
    for (const c of consumers) await new Promise<void>((resolve) => c.close(true, () => resolve()));
    await cluster?.close();
  });

  /** Every message of `topic` (from the start), once `count` arrived. */
  async function readAll(topic: string, count: number): Promise<Message<string, string, string, string>[]> {
    const consumer = new Consumer({
      clientId: `lean-reader-${topic}`,
      groupId: `lean-${topic}-${Date.now()}`,
      bootstrapBrokers: cluster.bootstrap.split(','),
      deserializers: stringDeserializers,
      maxWaitTime: 100,
      retries: 20,
      retryDelay: 100,
      timeout: 10_000,
    });
    consumers.push(consumer);
    const got: Message<string, string, string, string>[] = [];
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false });
    stream.on('data', (m: Message<string, string, string, string>) => got.push(m));
    await waitFor(() => got.length >= count, { timeoutMs: 30_000, what: () => `${count} messages on ${topic}, have ${got.length}` });
    await stream.close().catch(() => undefined);
    return got;
  }

  /** Values by key in arrival order. */
  function byKey(got: Message<string, string, string, string>[]): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const m of got) out.set(m.key, [...(out.get(m.key) ?? []), m.value]);
    return out;
  }

  test('concurrent calls over three partitions: every record once, in order per key', async () => {
    const producer = new LogProducer(kafka);
    const keys = ['a.log', 'b.log', 'c.log', 'd.log', 'e.log'];
    const calls: Promise<void>[] = [];
    const sent = new Map<string, string[]>(keys.map((k) => [k, []]));
    for (let call = 0; call < 40; call++) {
      const recs: LogRecord[] = [];
      for (let i = 0; i < 50; i++) {
        const key = keys[(call + i) % keys.length]!;
        const value = JSON.stringify({ message: `line ${call}-${i} ✓`, n: call * 50 + i });
        sent.get(key)!.push(value);
        recs.push(record('lean.many', key, value));
      }
      calls.push(producer.publish(recs));
    }
    await Promise.all(calls);
    await producer.close();
    const got = await readAll('lean.many', 2000);
    assert.equal(got.length, 2000);
    assert.deepEqual(byKey(got), sent);
  });

  test("a partition's leader moves while producing: nothing lost, order per key kept", async () => {
    const producer = new LogProducer(kafka, { retryDelayMs: 100 });
    const keys = ['x.log', 'y.log', 'z.log'];
    const sent = new Map<string, string[]>(keys.map((k) => [k, []]));
    const calls: Promise<void>[] = [];
    const publishRound = (round: number): void => {
      const recs: LogRecord[] = [];
      for (let i = 0; i < 20; i++) {
        const key = keys[i % keys.length]!;
        const value = `r${round}-${i}`;
        sent.get(key)!.push(value);
        recs.push(record('lean.moves', key, value));
      }
      calls.push(producer.publish(recs));
    };
    for (let round = 0; round < 5; round++) publishRound(round);
    await Promise.all(calls);
    const leader = (await cluster.partitionState('lean.moves', 0)).leader;
    const stopping = cluster.stopBroker(leader);
    for (let round = 5; round < 30; round++) {
      publishRound(round);
      await new Promise((r) => setImmediate(r));
    }
    await stopping;
    for (let round = 30; round < 35; round++) publishRound(round);
    await Promise.all(calls);
    await producer.close();
    // Back to two brokers: the group coordinator reading the topic may live on the stopped one.
    await cluster.startBroker(leader);
    const total = 35 * 20;
    const got = await readAll('lean.moves', total);
    // Retried batches are recognised by sequence; duplicates would be a broker bug, losses ours.
    const seen = byKey(got);
    for (const [key, values] of sent) {
      const firsts = [...new Set(seen.get(key) ?? [])];
      assert.deepEqual(firsts, values, `key ${key}`);
    }
  });

  test('a record too large for the topic fails its call as too large; the next batch is accepted', async () => {
    const producer = new LogProducer(kafka, { compression: 'none' });
    await producer.publish([record('lean.small', 'k', 'before')]);
    const big = producer.publish([record('lean.small', 'k', 'y'.repeat(5000))]);
    await assert.rejects(big, (e) => isTooLarge(e));
    await producer.publish([record('lean.small', 'k', 'after')]);
    await producer.close();
    const got = await readAll('lean.small', 2);
    assert.deepEqual(
      got.map((m) => m.value),
      ['before', 'after'],
    );
  });

  test('Kafka away: calls fail after the retries, not hang', async () => {
    // A port that was free a moment ago: nothing listens there.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const producer = new LogProducer(
      { bootstrapBrokers: [`127.0.0.1:${port}`], clientId: 'lean-away' },
      { retriesMax: 2, retryDelayMs: 10 },
    );
    await assert.rejects(producer.publish([record('lean.many', 'k', 'v')]));
    await producer.close();
    await assert.rejects(producer.publish([record('lean.many', 'k', 'v')]), /closed/);
  });
});
