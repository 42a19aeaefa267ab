// Log compaction (cleaner.ts, cleanerFilter.ts, cleanerSwap.ts) on a PartitionLog with an injected clock,
// checked against a model of the last value per key; then retention and __consumer_offsets compaction
// through a running broker with kafkajs.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import { KafkaTestingCluster } from '../../../src/cluster/kafkaTestingCluster.js';
import type { CompressionCodec } from '../../../src/kafka/protocol/compression.js';
import { buildBatch, type DecodedBatch, decodeBatches } from '../../../src/kafka/protocol/records.js';
import { LogCleaner } from '../../../src/kafka/storage/cleaner.js';
import type { LogConfig } from '../../../src/kafka/storage/logConfig.js';
import { PartitionLog } from '../../../src/kafka/storage/partitionLog.js';
import { prng } from '../../helpers/prng.js';
import { waitFor } from '../../helpers/wait.js';
import { config, FakeClock, tmpDir } from './batches.js';

const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;

interface Rec {
  offset: number;
  key: string;
  value: string | null;
}

function openCompacted(dir: string, clock: FakeClock, over: Partial<LogConfig> = {}): PartitionLog {
  return PartitionLog.open({
    dir,
    topic: 't',
    partition: 0,
    config: config({
      cleanupPolicy: ['compact'],
      minCleanableDirtyRatio: 0,
      segmentBytes: 4096,
      indexIntervalBytes: 256,
      deleteRetentionMs: 60_000,
      fileDeleteDelayMs: 0,
      ...over,
    }),
    now: clock.now,
  });
}

function readBatches(log: PartitionLog, from = log.logStartOffset): DecodedBatch[] {
  const out: DecodedBatch[] = [];
  let offset = from;
  while (offset < log.logEndOffset) {
    const r = log.read(offset, 64 * 1024, log.logEndOffset, true);
    if (r.records.length === 0) break;
    const batches = r.records.flatMap((b) => decodeBatches(b));
    out.push(...batches);
    const last = batches[batches.length - 1]!;
    offset = last.baseOffset + last.lastOffsetDelta + 1;
  }
  return out;
}

function readRecords(log: PartitionLog, from?: number): Rec[] {
  return readBatches(log, from).flatMap((b) =>
    b.records.map((r) => ({ offset: r.offset, key: r.key!.toString(), value: r.value === null ? null : r.value.toString() })),
  );
}

/** What a compacted log must hold once everything was cleaned: the last record of each key. */
function lastPerKey(all: Map<number, Rec>, keepTombstones: boolean): Rec[] {
  const last = new Map<string, Rec>();
  for (const r of all.values()) last.set(r.key, r);
  return [...last.values()].filter((r) => keepTombstones || r.value !== null).sort((a, b) => a.offset - b.offset);
}

test('compaction keeps exactly the last value per key (seeded random workloads against a model)', () => {
  for (const seed of [1, 2, 3]) {
    const root = tmpDir();
    try {
      const rnd = prng(seed);
      const clock = new FakeClock();
      const dir = path.join(root, 't-0');
      let log = openCompacted(dir, clock);
      const cleaner = new LogCleaner({ now: clock.now, sliceBytes: 1500 });
      const all = new Map<number, Rec>();
      const codecs: CompressionCodec[] = [0, 1, 2, 3, 4];
      for (let round = 0; round < 6; round++) {
        for (let b = 0, n = 20 + Math.floor(rnd() * 40); b < n; b++) {
          const count = 1 + Math.floor(rnd() * 5);
          const recs = Array.from({ length: count }, () => {
            const key = `k${Math.floor(rnd() * 40)}`;
            return { key, value: rnd() < 0.1 ? null : `v${Math.floor(rnd() * 1e9)}` };
          });
          const codec = codecs[Math.floor(rnd() * codecs.length)]!;
          const r = log.append(buildBatch({ records: recs, compression: codec, now: clock.t }), 0);
          for (const [i, x] of recs.entries()) all.set(r.firstOffset + i, { offset: r.firstOffset + i, ...x });
          clock.t += 10;
        }
        log.highWatermark = log.logEndOffset;
        const res = cleaner.cleanNow([log], clock.t);
        assert.ok(res, `seed ${seed} round ${round}: the dirty log was cleaned`);
        const got = readRecords(log);
        // Offsets are preserved: every surviving record is the one appended at its offset.
        for (const r of got) assert.deepEqual(r, all.get(r.offset), `seed ${seed}: record at ${r.offset} unchanged`);
        for (let i = 1; i < got.length; i++) assert.ok(got[i]!.offset > got[i - 1]!.offset, 'offsets increase');
        // Below the cleaned end, no key appears twice; every key's newest record is still there.
        const seen = new Set<string>();
        for (const r of got.filter((x) => x.offset < res.endOffset)) {
          assert.ok(!seen.has(r.key), `seed ${seed}: key ${r.key} twice below ${res.endOffset}`);
          seen.add(r.key);
        }
        const gotOffsets = new Set(got.map((r) => r.offset));
        for (const r of lastPerKey(all, true)) assert.ok(gotOffsets.has(r.offset), `seed ${seed}: newest ${r.key} kept`);
        // Reads starting anywhere (across cleaned segments, at removed offsets) land on the next survivor.
        for (let k = 0; k < 20; k++) {
          const at = Math.floor(rnd() * log.logEndOffset);
          const first = readRecords(log, at).find((r) => r.offset >= at);
          assert.deepEqual(
            first,
            got.find((r) => r.offset >= at),
            `seed ${seed}: read from ${at}`,
          );
        }
      }
      // Everything inactive and cleaned: exactly the last value per key, tombstones still there.
      log.roll();
      log.highWatermark = log.logEndOffset;
      cleaner.cleanNow([log], clock.t);
      assert.deepEqual(readRecords(log), lastPerKey(all, true), `seed ${seed}: last value per key, with tombstones`);
      assert.ok(
        lastPerKey(all, true).some((r) => r.value === null),
        'the workload left tombstones',
      );
      // Not yet past delete.retention.ms: a new pass (nothing dirty) is not even started.
      assert.equal(cleaner.cleanNow([log], clock.t + 1000), undefined);
      // Past it: the tombstones go on the next pass.
      clock.t += 60_001;
      assert.ok(cleaner.cleanNow([log], clock.t), 'expired tombstones make the log cleanable');
      const final = lastPerKey(all, false);
      assert.deepEqual(readRecords(log), final, `seed ${seed}: tombstones removed after delete.retention.ms`);
      // The cleaned segments (indexes included) survive a restart, clean and unclean.
      log.close();
      log = openCompacted(dir, clock);
      assert.deepEqual(readRecords(log), final, 'same records after reopening');
      log.close();
      fs.rmSync(path.join(dir, 'leader-epoch-checkpoint'), { force: true });
      log = PartitionLog.open({ dir, topic: 't', partition: 0, config: log.config, now: clock.now, recoveryPoint: 0 });
      assert.deepEqual(readRecords(log), final, 'same records after recovering every segment');
      log.close();
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  }
});

test('an idempotent producer keeps its last batch (emptied) so its sequence state survives', () => {
  const root = tmpDir();
  try {
    const clock = new FakeClock();
    const log = openCompacted(path.join(root, 't-0'), clock);
    const pid = 4242;
    const a: { first: number; last: number }[] = [];
    for (let seq = 0; seq < 3; seq++) {
      const r = log.append(
        buildBatch({
          records: [
            { key: 'k', value: `a${seq}` },
            { key: 'k', value: `b${seq}` },
          ],
          producerId: pid,
          producerEpoch: 0,
          baseSequence: seq * 2,
          now: clock.t,
        }),
        0,
      );
      a.push({ first: r.firstOffset, last: r.lastOffset });
    }
    log.append(buildBatch({ records: [{ key: 'k', value: 'final' }], now: clock.t }), 0);
    log.roll();
    log.highWatermark = log.logEndOffset;
    // No producer state given: the cleaner finds each producer's newest batch itself.
    new LogCleaner({ now: clock.now }).cleanNow([log], clock.t);
    const batches = readBatches(log);
    const mine = batches.filter((b) => b.producerId === pid);
    assert.equal(mine.length, 1, 'only the producer’s last batch remains');
    const m = mine[0]!;
    assert.equal(m.recordsCount, 0, 'emptied: every record had a newer value');
    assert.equal(m.baseOffset, a[2]!.first);
    assert.equal(m.baseOffset + m.lastOffsetDelta, a[2]!.last, 'last offset (and so last sequence) kept');
    assert.equal(m.baseSequence, 4);
    assert.equal(m.producerEpoch, 0);
    assert.deepEqual(readRecords(log), [{ offset: 6, key: 'k', value: 'final' }]);
    // With producer state saying the producer is gone, the empty batch goes too.
    log.append(buildBatch({ records: [{ key: 'k', value: 'later' }], now: clock.t }), 0);
    log.roll();
    log.highWatermark = log.logEndOffset;
    new LogCleaner({ now: clock.now, producerLastOffsets: () => new Map() }).cleanNow([log], clock.t);
    assert.equal(readBatches(log).filter((b) => b.producerId === pid).length, 0);
    log.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

/** Writes `n` batches of keys k0..k9 (so most records are superseded) and rolls; returns the record model. */
function fill(log: PartitionLog, clock: FakeClock, n: number, codec: CompressionCodec = 0): Map<number, Rec> {
  const all = new Map<number, Rec>();
  for (let i = 0; i < n; i++) {
    const recs = [0, 1, 2].map((j) => ({ key: `k${(i * 3 + j) % 10}`, value: `v${i}-${j}` }));
    const r = log.append(buildBatch({ records: recs, compression: codec, now: clock.t }), 0);
    for (const [j, x] of recs.entries()) all.set(r.firstOffset + j, { offset: r.firstOffset + j, ...x });
  }
  log.roll();
  log.highWatermark = log.logEndOffset;
  return all;
}

test('a swap interrupted after its commit is completed at load; an uncommitted one is dropped', () => {
  const root = tmpDir();
  try {
    const clock = new FakeClock();
    const dirA = path.join(root, 'a', 't-0');
    const dirB = path.join(root, 'b', 't-0');
    let log = openCompacted(dirA, clock, { segmentBytes: 1024 });
    const all = fill(log, clock, 60, 1);
    const before = log.segmentBaseOffsets();
    assert.ok(before.length > 4, 'several segments');
    log.close();
    fs.cpSync(dirA, dirB, { recursive: true });

    log = openCompacted(dirA, clock, { segmentBytes: 1024 });
    log.highWatermark = log.logEndOffset;
    new LogCleaner({ now: clock.now }).cleanNow([log], clock.t);
    const cleanedFirst = readRecords(log).filter((r) => r.offset < before[1]!);
    log.close();

    // Crash after the commit point: B has the cleaned first segment as .log.swap (its indexes half renamed)
    // next to the old segments, plus an uncommitted .cleaned file of a later group.
    const name = (base: number, ext: string) => path.join(dirB, `${String(base).padStart(20, '0')}${ext}`);
    fs.copyFileSync(path.join(dirA, `${'0'.padStart(20, '0')}.log`), name(0, '.log.swap'));
    fs.writeFileSync(name(0, '.index.swap'), Buffer.alloc(16, 0xff));
    fs.writeFileSync(name(before[2]!, '.log.cleaned'), 'partial');
    log = openCompacted(dirB, clock, { segmentBytes: 1024 });
    log.highWatermark = log.logEndOffset;
    const left = fs.readdirSync(dirB);
    assert.ok(!left.some((f) => f.endsWith('.swap') || f.endsWith('.cleaned')), `no swap leftovers: ${left}`);
    const expected = [...cleanedFirst, ...[...all.values()].filter((r) => r.offset >= before[1]!)];
    assert.deepEqual(readRecords(log), expected, 'cleaned first segment swapped in, the rest as before');
    // The swapped-in segment's index was rebuilt: reads from inside it still find their batch.
    for (const r of cleanedFirst) assert.equal(readRecords(log, r.offset)[0]?.offset, r.offset);
    log.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('the background cleaner works in slices while appends go on, and checkpoints its progress', async () => {
  const root = tmpDir();
  try {
    const clock = new FakeClock();
    const log = openCompacted(path.join(root, 't-0'), clock, { segmentBytes: 2048 });
    const all = fill(log, clock, 200, 3);
    const cleaner = new LogCleaner({ now: clock.now, sliceBytes: 600 });
    const inactiveBefore = log.segmentList.length - 1;
    assert.equal(cleaner.maybeStart([log], clock.t), true);
    let turns = 0;
    while (cleaner.busy) {
      // Produce keeps working between slices.
      const r = log.append(buildBatch({ records: [{ key: 'late', value: `t${turns}` }], now: clock.t }), 0);
      all.set(r.firstOffset, { offset: r.firstOffset, key: 'late', value: `t${turns}` });
      turns++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(turns > 5, `the pass took ${turns} event-loop turns, not one`);
    assert.equal(cleaner.passes, 1);
    const res = cleaner.lastResult!;
    // The first pass rewrites each segment smaller; merging them is the next pass's work.
    assert.ok(res.stats.bytesWritten < res.stats.bytesRead / 2, `bytes ${res.stats.bytesRead} -> ${res.stats.bytesWritten}`);
    assert.ok(log.segmentBaseOffsets().filter((base) => base < res.endOffset).length <= inactiveBefore);
    assert.equal(cleaner.checkpointOf('t', 0), res.endOffset);
    const got = readRecords(log);
    for (const r of got) assert.deepEqual(r, all.get(r.offset));
    const below = got.filter((r) => r.offset < res.endOffset).map((r) => r.key);
    assert.equal(new Set(below).size, below.length, 'no duplicate keys in the cleaned part');
    assert.equal(below.length, 10, 'k0..k9 once each');
    // Deleting records under a running pass aborts it without damage.
    fill(log, clock, 50);
    assert.equal(cleaner.maybeStart([log], clock.t), true);
    log.deleteRecordsBefore(log.logEndOffset);
    await cleaner.whenIdle();
    assert.equal(fs.readdirSync(log.dir).filter((f) => f.includes('.cleaned')).length, 0, 'no cleaned leftovers');
    assert.equal(readRecords(log).length, 0);
    log.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

// ---- through the broker (its own describe, so the synchronous tests above never stall its sessions) ----

describe('with a broker', () => {
  let cluster: KafkaTestingCluster;
  let kafka: InstanceType<typeof Kafka>;

  before(async () => {
    cluster = await KafkaTestingCluster.start({
      brokers: 1,
      brokerProps: {
        'log.retention.check.interval.ms': '1',
        'log.cleaner.backoff.ms': '0',
        'log.segment.delete.delay.ms': '0',
        'offsets.topic.segment.bytes': '2048',
      },
    });
    kafka = new Kafka({
      clientId: 'cleaner-test',
      brokers: [cluster.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 50, maxRetryTime: 1000 },
    });
  });

  after(async () => {
    await cluster?.close();
  });

  const segmentFiles = (dir: string): string[] => fs.readdirSync(dir).filter((f) => f.endsWith('.log'));

  test('retention by time and by bytes deletes whole segments and moves the earliest offset', async () => {
    const admin = kafka.admin();
    const producer = kafka.producer();
    await admin.connect();
    await producer.connect();
    try {
      const topic = 'retained';
      await admin.createTopics({
        topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'segment.bytes', value: '1024' }] }],
        waitForLeaders: true,
      });
      for (let i = 0; i < 40; i++) {
        await producer.send({ topic, messages: [{ key: `k${i}`, value: 'x'.repeat(100) }] });
      }
      const dir = path.join(cluster.get(1).logDir, `${topic}-0`);
      const before = segmentFiles(dir).length;
      assert.ok(before >= 4, `${before} segments`);
      const earliest = async () => Number((await admin.fetchTopicOffsets(topic))[0]!.low);
      assert.equal(await earliest(), 0);

      // By bytes: keep about two segments' worth.
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.bytes', value: '2048' }] }],
      });
      await waitFor(async () => segmentFiles(dir).length < before && (await earliest()) > 0, { what: 'segments deleted by size' });
      const afterBytes = await earliest();
      const left = segmentFiles(dir).map((f) => Number(f.slice(0, 20)));
      assert.equal(afterBytes, Math.min(...left), 'the earliest offset is the first remaining segment base');

      // By time: everything but the active segment is older than 1 ms.
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '1' }] }],
      });
      await waitFor(async () => segmentFiles(dir).length === 1 && (await earliest()) > afterBytes, { what: 'segments deleted by time' });
      const high = Number((await admin.fetchTopicOffsets(topic))[0]!.high);
      assert.equal(high, 40, 'the log end offset is untouched');
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  });

  test('__consumer_offsets is compacted and committed group offsets survive it and a restart', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const topic = 'tracked';
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
      const groupId = 'compacting-group';
      // Many commits of the same keys by one group member: each overwrites the last, so the offsets
      // partition is mostly garbage for the cleaner.
      const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
      await consumer.connect();
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        let joined = false;
        consumer.on(consumer.events.GROUP_JOIN, () => {
          joined = true;
        });
        await consumer.run({ autoCommit: false, eachMessage: async () => {} });
        await waitFor(() => joined, { what: 'the consumer joined its group', timeoutMs: 30_000 });
        for (let i = 1; i <= 60; i++) {
          await consumer.commitOffsets([
            { topic, partition: 0, offset: String(i) },
            { topic, partition: 1, offset: String(i * 2) },
          ]);
        }
      } finally {
        await consumer.disconnect();
      }
      // kafkajs commits its own positions when it leaves; set the final offsets once the group is empty.
      await admin.setOffsets({
        groupId,
        topic,
        partitions: [
          { partition: 0, offset: '60' },
          { partition: 1, offset: '120' },
        ],
      });
      const broker = cluster.get(1).broker!;
      const cleaner = broker.logs.cleaner;
      const offsetsLog = [...broker.logs.logs()].find((l) => l.topic === '__consumer_offsets' && l.logEndOffset > 0)!;
      assert.ok(offsetsLog.segmentList.length > 3, `${offsetsLog.segmentList.length} segments of commits`);
      await waitFor(() => (cleaner.checkpointOf(offsetsLog.topic, offsetsLog.partition) ?? 0) > 0, {
        what: '__consumer_offsets cleaned',
        timeoutMs: 30_000,
      });
      await cleaner.whenIdle();
      const left = readBatches(offsetsLog).reduce((n, b) => n + b.records.length, 0);
      assert.ok(left < 60, `${left} records left of the 120+ commit records`);
      const ckpt = fs.readFileSync(path.join(cluster.get(1).logDir, 'cleaner-offset-checkpoint'), 'utf8');
      assert.match(ckpt, /^0\n\d+\n(.+\n)*__consumer_offsets \d+ \d+\n/m);
      await cleaner.whenIdle();
      await cluster.restartBroker(1);
      const fetched = await waitFor(async () => {
        const a = kafka.admin();
        await a.connect();
        try {
          return await a.fetchOffsets({ groupId, topics: [topic] });
        } finally {
          await a.disconnect();
        }
      });
      const parts = fetched[0]!.partitions.sort((x, y) => x.partition - y.partition);
      assert.deepEqual(
        parts.map((p) => [p.partition, p.offset]),
        [
          [0, '60'],
          [1, '120'],
        ],
      );
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  });
});
