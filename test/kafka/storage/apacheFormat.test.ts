// The on-disk format, both ways, with Apache Kafka 3.9 as the judge:
//  - Kafka's own kafka-dump-log reads the segments, offset and time indexes and producer snapshots our
//    broker wrote for real clients (kafkajs with gzip and an idempotent producer, kcat with snappy, lz4
//    and zstd), deep iteration, index sanity check and index verification included;
//  - a log dir Apache Kafka wrote is served by our broker (same ZooKeeper chroot, broker.id and
//    log.dirs) with identical records and offsets, and a log dir ours wrote is served by Apache Kafka.
// Everything runs on one Apache ZooKeeper 3.8, one chroot per scenario.

import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { Broker } from '../../../src/kafka/broker/broker.js';
import { parseServerProperties } from '../../../src/kafka/config.js';
import { startApacheKafka, runKafkaTool } from '../../helpers/apacheKafka.js';
import { type ServerHandle, startApacheZooKeeper } from '../../helpers/apacheZk.js';
import { runKcat, type KcatRun } from '../../interop/helpers/kcat.js';
import { waitFor } from '../../helpers/wait.js';

const { Kafka, logLevel, CompressionTypes } = kafkajs;

let zk: ServerHandle;
let root: string;

before(async () => {
  zk = await startApacheZooKeeper();
  root = await mkdtemp(join(tmpdir(), 'cg-apache-format-'));
});

after(async () => {
  await zk?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

/** Our broker in-process from server.properties text, as `clustergenie kafka` would read it. */
async function startOurs(o: { chroot: string; brokerId: number; logDir: string; extra?: Record<string, string> }): Promise<Broker> {
  const props: Record<string, string> = {
    'broker.id': String(o.brokerId),
    listeners: 'PLAINTEXT://127.0.0.1:0',
    'log.dirs': o.logDir,
    'zookeeper.connect': `${zk.connectString}${o.chroot}`,
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '1',
    'group.initial.rebalance.delay.ms': '0',
    'num.partitions': '1',
    ...o.extra,
  };
  const text = `${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
  const broker = new Broker(parseServerProperties(text, {}), {});
  try {
    await broker.start();
  } catch (e) {
    await broker.stop().catch(() => undefined);
    throw e;
  }
  return broker;
}

/** kcat with this file's default deadline (a cold librdkafka against a cold JVM broker is slow). */
const kcat = (bootstrap: string, args: string[], input?: string, timeoutMs = 60_000): Promise<KcatRun> =>
  runKcat(bootstrap, args, input, timeoutMs);

function client(bootstrap: string): InstanceType<typeof Kafka> {
  return new Kafka({
    clientId: 'apache-format',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 15, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/**
 * Writes a varied log into `topic` partition 0: plain and gzip batches with keys and headers, an
 * idempotent producer's batches (kafkajs), and snappy, lz4 and zstd batches (kcat). Returns the
 * values in the order they were acknowledged, which is offset order on one partition.
 */
async function produceMix(bootstrap: string, topic: string): Promise<string[]> {
  const kafka = client(bootstrap);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  const values: string[] = [];
  const batch = (tag: string, n: number) =>
    Array.from({ length: n }, (_, i) => {
      const value = `${tag}-${i}-${'v'.repeat(i % 40)}`;
      values.push(value);
      return { key: `k${i % 5}`, value, headers: { h: `${tag}${i}` }, partition: 0 };
    });
  const plain = kafka.producer({ allowAutoTopicCreation: false });
  await plain.connect();
  try {
    for (let r = 0; r < 6; r++) await plain.send({ topic, acks: -1, messages: batch(`plain${r}`, 20) });
    for (let r = 0; r < 6; r++) await plain.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages: batch(`gzip${r}`, 20) });
  } finally {
    await plain.disconnect();
  }
  const idem = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await idem.connect();
  try {
    for (let r = 0; r < 6; r++) await idem.send({ topic, acks: -1, messages: batch(`idem${r}`, 15) });
  } finally {
    await idem.disconnect();
  }
  for (const codec of ['snappy', 'lz4', 'zstd']) {
    const lines = Array.from({ length: 60 }, (_, i) => `${codec}-${i}-${'z'.repeat(100 + (i % 30))}`);
    const p = await kcat(
      bootstrap,
      ['-P', '-t', topic, '-p', '0', '-z', codec, '-X', 'linger.ms=20', '-X', 'batch.num.messages=20'],
      `${lines.join('\n')}\n`,
    );
    assert.equal(p.code, 0, p.stderr);
    values.push(...lines);
  }
  return values;
}

interface ConsumedRecord {
  offset: number;
  key: string;
  value: string;
  timestamp: number;
  headers: string;
}

/** Every record of partition 0 from the beginning, as kcat (no group, nothing committed) sees it. */
async function consumeAll(bootstrap: string, topic: string): Promise<ConsumedRecord[]> {
  // \x1f separates fields: none of the produced keys, values or headers contain it.
  const c = await kcat(bootstrap, ['-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o\x1f%k\x1f%s\x1f%T\x1f%h\n']);
  assert.equal(c.code, 0, c.stderr);
  return c.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [o, key, value, ts, headers] = l.split('\x1f');
      return { offset: Number(o), key: key!, value: value!, timestamp: Number(ts), headers: headers ?? '' };
    });
}

/** Waits until the broker's metadata names a leader for partition 0 of `topic` (a restarted broker learns it from its controller). */
async function waitForLeader(bootstrap: string, topic: string, logText: () => string): Promise<void> {
  await waitFor(
    async () => {
      const r = await kcat(bootstrap, ['-L', '-J', '-t', topic]);
      if (r.code !== 0) return false;
      const md = JSON.parse(r.stdout) as { topics: { topic: string; partitions?: { partition: number; leader: number }[] }[] };
      return md.topics.some((t) => t.topic === topic && t.partitions?.some((p) => p.partition === 0 && p.leader >= 0));
    },
    { timeoutMs: 60_000, intervalMs: 250, what: () => `a leader for ${topic}-0; broker log:\n${logText()}` },
  );
}

function assertContiguous(records: ConsumedRecord[]): void {
  for (const [i, r] of records.entries()) assert.equal(r.offset, i, `offset ${i} holds record ${r.offset}`);
}

async function dumpLog(args: string[]): Promise<string> {
  const r = await runKafkaTool('kafka-dump-log', args, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `kafka-dump-log ${args.join(' ')} failed:\n${r.stderr}\n${r.stdout.slice(-2000)}`);
  assert.doesNotMatch(r.stderr, /Exception|ERROR|Error/, `kafka-dump-log ${args.join(' ')} complained:\n${r.stderr}`);
  return r.stdout;
}

test('kafka-dump-log reads our segments, indexes, time indexes and producer snapshots', async () => {
  const logDir = join(root, 'dump-ours');
  const topic = 'dump-me';
  // Small segments and a short index interval: several segments, each with many index entries.
  const broker = await startOurs({
    chroot: '/dump',
    brokerId: 7,
    logDir,
    extra: { 'log.segment.bytes': '4096', 'log.index.interval.bytes': '256' },
  });
  let values: string[];
  try {
    values = await produceMix(`127.0.0.1:${broker.port}`, topic);
  } finally {
    // A clean stop trims the active segment's indexes and writes the producer snapshot.
    await broker.stop();
  }
  const dir = join(logDir, `${topic}-0`);
  const files = (await readdir(dir)).sort();
  const logs = files.filter((f) => f.endsWith('.log')).map((f) => join(dir, f));
  const indexes = files.filter((f) => f.endsWith('.index')).map((f) => join(dir, f));
  const timeIndexes = files.filter((f) => f.endsWith('.timeindex')).map((f) => join(dir, f));
  const snapshots = files.filter((f) => f.endsWith('.snapshot')).map((f) => join(dir, f));
  assert.ok(logs.length >= 3, `several segments expected, got ${files.join(' ')}`);
  assert.equal(indexes.length, logs.length, 'one .index per segment');
  assert.equal(timeIndexes.length, logs.length, 'one .timeindex per segment');
  assert.ok(snapshots.length >= 1, `a producer snapshot expected, got ${files.join(' ')}`);

  // Segments: every batch valid (CRC), every record decoded, in offset order, with our payloads.
  const out = await dumpLog(['--deep-iteration', '--print-data-log', '--files', logs.join(',')]);
  assert.doesNotMatch(out, /isvalid: false/i);
  const batchLines = out.split('\n').filter((l) => l.startsWith('baseOffset:'));
  const recordLines = out.split('\n').filter((l) => l.startsWith('| offset:'));
  assert.ok(batchLines.length > 0 && batchLines.every((l) => l.includes('isvalid: true')), 'every batch passes its CRC check');
  assert.equal(recordLines.length, values.length, 'every record is listed once');
  const offsets = recordLines.map((l) => Number(/\| offset: (\d+)/.exec(l)![1]));
  assert.deepEqual(
    offsets,
    values.map((_, i) => i),
  );
  const payloads = recordLines.map((l) => /payload: (.*)$/.exec(l)![1]);
  assert.deepEqual(payloads, values);
  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    assert.ok(
      batchLines.some((l) => l.includes(`compresscodec: ${codec}`)),
      `a ${codec} batch is in the log: ${[...new Set(batchLines.map((l) => /compresscodec: (\S+)/.exec(l)?.[1]))].join(' ')}`,
    );
  }
  const idem = batchLines.filter((l) => /producerId: (\d+) producerEpoch: 0/.test(l) && !l.includes('producerId: -1'));
  assert.ok(idem.length >= 6, 'the idempotent batches carry their producer id');
  const seqs = idem.map((l) => Number(/baseSequence: (\d+)/.exec(l)![1]));
  assert.deepEqual(
    seqs,
    seqs.map((_, i) => i * 15),
    'idempotent sequences run on from batch to batch',
  );

  // Offset and time indexes: Kafka's own start-up sanity check, then entry-by-entry verification.
  const sanity = await dumpLog(['--index-sanity-check', '--files', [...indexes, ...timeIndexes].join(',')]);
  for (const f of [...indexes, ...timeIndexes]) assert.ok(sanity.includes(`${f} passed sanity check.`), `${f}: ${sanity}`);
  const verify = await dumpLog(['--verify-index-only', '--files', [...indexes, ...timeIndexes].join(',')]);
  assert.doesNotMatch(verify, /mismatch|Non-consecutive|out of order|smaller than/i, verify);
  // The entries are really there (an empty index would verify trivially).
  const listed = await dumpLog(['--files', indexes.join(',')]);
  assert.ok((listed.match(/^offset: \d+ position: \d+$/gm) ?? []).length >= 2 * indexes.length, listed);
  const listedTime = await dumpLog(['--files', timeIndexes.join(',')]);
  assert.ok((listedTime.match(/^timestamp: \d+ offset: \d+$/gm) ?? []).length >= timeIndexes.length, listedTime);

  // Producer snapshots: the idempotent producer with its last sequence.
  const snap = await dumpLog(['--files', snapshots.join(',')]);
  const last =
    /producerId: (\d+) producerEpoch: 0 coordinatorEpoch: -?\d+ currentTxnFirstOffset: \S+ lastTimestamp: \d+ firstSequence: (\d+) lastSequence: (\d+) lastOffset: (\d+)/.exec(
      snap,
    );
  assert.ok(last, `the snapshot lists the idempotent producer:\n${snap}`);
  assert.equal(Number(last[3]), 6 * 15 - 1, 'last sequence of the idempotent producer');
  assert.equal(Number(last[1]), Number(/producerId: (\d+)/.exec(idem[0]!)![1]));
});

test('a log dir written by Apache Kafka 3.9 is served by our broker with identical records and offsets', async () => {
  const logDir = join(root, 'apache-written');
  const topic = 'from-apache';
  const apache = await startApacheKafka({
    zkConnect: `${zk.connectString}/apache-first`,
    brokerId: 3,
    logDir,
    extraProps: { 'log.segment.bytes': '4096', 'log.index.interval.bytes': '256' },
  });
  let before: ConsumedRecord[];
  let values: string[];
  try {
    values = await produceMix(apache.bootstrap, topic);
    before = await consumeAll(apache.bootstrap, topic);
  } finally {
    await apache.stop();
  }
  assert.deepEqual(
    before.map((r) => r.value),
    values,
  );
  assertContiguous(before);
  const segments = (await readdir(join(logDir, `${topic}-0`))).filter((f) => f.endsWith('.log'));
  assert.ok(segments.length >= 3, `Apache rolled several segments: ${segments.join(' ')}`);

  const ours = await startOurs({ chroot: '/apache-first', brokerId: 3, logDir });
  try {
    await waitForLeader(`127.0.0.1:${ours.port}`, topic, () => '');
    const after = await consumeAll(`127.0.0.1:${ours.port}`, topic);
    assert.deepEqual(after, before);
    // And it keeps appending where Apache stopped.
    const p = await kcat(`127.0.0.1:${ours.port}`, ['-P', '-t', topic, '-p', '0'], 'appended-by-ours\n');
    assert.equal(p.code, 0, p.stderr);
    const again = await consumeAll(`127.0.0.1:${ours.port}`, topic);
    assert.equal(again.length, before.length + 1);
    assert.deepEqual(again.at(-1)?.value, 'appended-by-ours');
    assertContiguous(again);
  } finally {
    await ours.stop();
  }
});

test('a log dir written by our broker is served by Apache Kafka 3.9 with identical records and offsets', async () => {
  const logDir = join(root, 'ours-written');
  const topic = 'from-ours';
  const ours = await startOurs({
    chroot: '/ours-first',
    brokerId: 4,
    logDir,
    extra: { 'log.segment.bytes': '4096', 'log.index.interval.bytes': '256' },
  });
  let before: ConsumedRecord[];
  let values: string[];
  try {
    values = await produceMix(`127.0.0.1:${ours.port}`, topic);
    before = await consumeAll(`127.0.0.1:${ours.port}`, topic);
  } finally {
    await ours.stop();
  }
  assert.deepEqual(
    before.map((r) => r.value),
    values,
  );
  assertContiguous(before);

  const apache = await startApacheKafka({ zkConnect: `${zk.connectString}/ours-first`, brokerId: 4, logDir });
  try {
    await waitForLeader(apache.bootstrap, topic, () => apache.logText());
    const after = await consumeAll(apache.bootstrap, topic);
    assert.deepEqual(after, before);
    const p = await kcat(apache.bootstrap, ['-P', '-t', topic, '-p', '0'], 'appended-by-apache\n');
    assert.equal(p.code, 0, p.stderr);
    const again = await consumeAll(apache.bootstrap, topic);
    assert.equal(again.length, before.length + 1);
    assert.deepEqual(again.at(-1)?.value, 'appended-by-apache');
    assertContiguous(again);
    // Apache found nothing to repair: no segment was truncated or index rebuilt at its start.
    assert.doesNotMatch(apache.logText(), /Found invalid|truncat|Rebuilding|Corrupt/i, apache.logText());
  } finally {
    await apache.stop();
  }
});
