// Apache Kafka's Java producer and consumer, unchanged, against our broker, through Kafka's own
// tools: the console producer (keys, headers, acks, compression) and console consumer (from the
// beginning, in a group, printing keys, headers, timestamps), kafka-consumer-groups (list,
// describe, reset to earliest, delete), and VerifiableProducer + VerifiableConsumer with the Java
// defaults (idempotence on, acks=all): every acked message is consumed exactly once, also when the
// broker restarts mid-stream. Each scenario runs with the 3.9 and the 4.x client jars; the request
// versions the broker answered are recorded, since the Java consumer's position checks
// (OffsetForLeaderEpoch, ListOffsets v7) and the idempotent producer's InitProducerId are the point.
// The restart scenario runs with 4.x only: the 3.9 client takes the same paths, and each JVM costs
// seconds on a busy machine.
// Jars come from scripts/fetch-kafka.sh; without them every test fails naming the script.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KafkaTestingCluster } from '../../src/cluster/kafkaTestingCluster.js';
import type { Broker } from '../../src/kafka/broker/broker.js';
import type { KafkaToolName, KafkaVersion } from '../helpers/apacheKafka.js';
import { waitFor } from '../helpers/wait.js';
import {
  describeRows,
  KAFKA_VERSIONS,
  maxVersionSeen,
  nonEmptyLines as lines,
  recordRequests,
  requireKafkaJars,
  runTool,
  versionTag as tag,
} from './helpers/kafkaTools.js';

const PARTITIONS = 3;

let cluster: KafkaTestingCluster;
let dir: string;
/** Java's defaults spelled out: VerifiableProducer forces retries=0, which would turn idempotence off. */
let producerConfig: string;
/** `apiKey/version` of every request the broker answered. */
const seen = new Set<string>();

before(async () => {
  requireKafkaJars();
  dir = await mkdtemp(join(tmpdir(), 'cg-kafka-java-'));
  producerConfig = join(dir, 'producer.properties');
  await writeFile(producerConfig, 'enable.idempotence=true\nacks=all\nretries=2147483647\nmax.in.flight.requests.per.connection=5\n');
  cluster = await KafkaTestingCluster.start({ brokers: 1, brokerProps: { 'num.partitions': String(PARTITIONS) } });
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

function tool(
  name: KafkaToolName | string,
  v: KafkaVersion,
  args: readonly string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<string> {
  return runTool(cluster.bootstrap, name, v, args, opts);
}

function highWatermarks(topic: string): number[] {
  return Array.from({ length: PARTITIONS }, (_, p) => broker().replicas.get(topic, p)?.log.highWatermark ?? 0);
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** JSON event lines of the Verifiable tools (their stdout also carries log lines). */
function events(out: string): Record<string, unknown>[] {
  return lines(out)
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

interface Acked {
  values: string[];
  perPartition: number[];
}

/** Runs VerifiableProducer idempotently; returns the acked values and how many landed where. */
async function verifiableProduce(v: KafkaVersion, topic: string, count: number, extra: string[] = []): Promise<Acked> {
  const out = await tool(
    'kafka-verifiable-producer',
    v,
    [
      '--topic',
      topic,
      '--max-messages',
      String(count),
      '--acks',
      '-1',
      '--repeating-keys',
      '40',
      '--producer.config',
      producerConfig,
      ...extra,
    ],
    { timeoutMs: 150_000 },
  );
  const ev = events(out);
  const failed = ev.filter((e) => e['name'] === 'producer_send_error');
  assert.deepEqual(failed, [], 'no send failed');
  const ok = ev.filter((e) => e['name'] === 'producer_send_success');
  const perPartition = new Array<number>(PARTITIONS).fill(0);
  for (const e of ok) perPartition[e['partition'] as number]!++;
  const data = ev.find((e) => e['name'] === 'tool_data');
  assert.equal(data?.['acked'], count, `every message was acked: ${JSON.stringify(data)}`);
  return { values: ok.map((e) => e['value'] as string), perPartition };
}

/** Runs VerifiableConsumer until `count` records; returns the values in consumption order. */
async function verifiableConsume(v: KafkaVersion, topic: string, group: string, count: number): Promise<string[]> {
  const out = await tool(
    'kafka-verifiable-consumer',
    v,
    ['--topic', topic, '--group-id', group, '--max-messages', String(count), '--reset-policy', 'earliest', '--verbose'],
    { timeoutMs: 150_000 },
  );
  const ev = events(out);
  const committed = ev.filter((e) => e['name'] === 'offsets_committed');
  assert.ok(committed.length > 0, 'the consumer committed offsets');
  assert.ok(
    committed.every((e) => e['success'] === true),
    `every commit succeeded: ${JSON.stringify(committed.filter((e) => e['success'] !== true))}`,
  );
  return ev.filter((e) => e['name'] === 'record_data').map((e) => e['value'] as string);
}

for (const v of KAFKA_VERSIONS) {
  test(`console producer/consumer and kafka-consumer-groups ${v}`, async (t) => {
    const topic = `java-console-${tag(v)}`;
    const group = `java-console-group-${tag(v)}`;
    const [codec, acks] = v === '3.9' ? ['lz4', 'all'] : ['zstd', '1'];
    const n = 60;
    const input = Array.from({ length: n }, (_, i) => `src:test,seq:${i}\tkey${i % 5}\tvalue-${i}`);

    await t.test(`kafka-console-producer: keys, headers, acks=${acks}, ${codec}`, async () => {
      await tool(
        'kafka-console-producer',
        v,
        [
          '--topic',
          topic,
          '--property',
          'parse.key=true',
          '--property',
          'parse.headers=true',
          '--producer-property',
          `acks=${acks}`,
          '--compression-codec',
          codec,
        ],
        { input: `${input.join('\n')}\n` },
      );
      assert.equal(sum(highWatermarks(topic)), n, 'every line became a record');
    });

    await t.test('kafka-console-consumer: from beginning, in a group, keys/headers/timestamps printed', async () => {
      const out = await tool(
        'kafka-console-consumer',
        v,
        [
          '--topic',
          topic,
          '--group',
          group,
          '--from-beginning',
          '--max-messages',
          String(n),
          '--timeout-ms',
          '60000',
          ...['print.key', 'print.headers', 'print.timestamp', 'print.partition', 'print.offset'].flatMap((p) => [
            '--property',
            `${p}=true`,
          ]),
        ],
        { timeoutMs: 90_000 },
      );
      const rows = lines(out).map((l) => {
        const m = /^CreateTime:(\d+)\tPartition:(\d+)\tOffset:(\d+)\t([^\t]*)\t([^\t]*)\t(.*)$/.exec(l);
        assert.ok(m, `unexpected consumer line: ${l}`);
        return { ts: Number(m[1]), partition: Number(m[2]), offset: Number(m[3]), line: `${m[4]}\t${m[5]}\t${m[6]}`, key: m[5]! };
      });
      assert.deepEqual(rows.map((r) => r.line).sort(), [...input].sort(), 'every record, with its key and headers, exactly once');
      for (const r of rows) assert.ok(r.ts > 1_600_000_000_000, `a producer CreateTime: ${r.ts}`);
      const partitionOfKey = new Map<string, number>();
      for (const r of rows) {
        assert.equal(partitionOfKey.get(r.key) ?? r.partition, r.partition, `one key, one partition (${r.key})`);
        partitionOfKey.set(r.key, r.partition);
      }
      // Within a partition, offsets are dense from 0 and follow the input order.
      for (let p = 0; p < PARTITIONS; p++) {
        const inP = rows.filter((r) => r.partition === p).sort((a, b) => a.offset - b.offset);
        assert.deepEqual(
          inP.map((r) => r.offset),
          inP.map((_, i) => i),
        );
        const seqs = inP.map((r) => Number(/seq:(\d+)/.exec(r.line)![1]));
        assert.deepEqual(
          seqs,
          [...seqs].sort((a, b) => a - b),
        );
      }
    });

    await t.test('a second console consumer resumes from the committed offsets, validated by OffsetForLeaderEpoch', async () => {
      // The console consumer auto-commits with the leader epoch of its position, so the next member
      // of the group checks that position against the log (OffsetForLeaderEpoch) before fetching.
      const more = Array.from({ length: 5 }, (_, i) => `src:test,seq:${n + i}\tkey${i}\tvalue-${n + i}`);
      await tool('kafka-console-producer', v, ['--topic', topic, '--property', 'parse.key=true', '--property', 'parse.headers=true'], {
        input: `${more.join('\n')}\n`,
      });
      seen.clear();
      const args = ['--topic', topic, '--group', group, '--max-messages', String(more.length), '--timeout-ms', '60000'];
      const out = await tool('kafka-console-consumer', v, [...args, '--property', 'print.key=true'], { timeoutMs: 90_000 });
      assert.deepEqual(
        lines(out).sort(),
        more.map((l) => l.split('\t').slice(1).join('\t')).sort(),
        'only the records after the committed offsets',
      );
      assert.equal(maxVersionSeen(seen, 23), 4, 'OffsetForLeaderEpoch v4 checked the committed positions');
    });

    await t.test('kafka-consumer-groups: list, describe, reset to earliest, delete', async () => {
      assert.ok(lines(await tool('kafka-consumer-groups', v, ['--list'])).includes(group), 'the group is listed');
      const hw = highWatermarks(topic);
      const d1 = describeRows(await tool('kafka-consumer-groups', v, ['--describe', '--group', group]), group, topic);
      assert.deepEqual(
        [...d1.entries()].sort((a, b) => a[0] - b[0]),
        hw.map((end, p) => [p, { current: end, end, lag: 0 }]),
        'the console consumer committed the end of every partition',
      );

      const reset = await tool('kafka-consumer-groups', v, [
        '--reset-offsets',
        '--to-earliest',
        '--execute',
        '--group',
        group,
        '--topic',
        topic,
      ]);
      const newOffsets = [...reset.matchAll(new RegExp(`${group}\\s+${topic}\\s+(\\d+)\\s+(\\d+)`, 'g'))].map((m) => [
        Number(m[1]),
        Number(m[2]),
      ]);
      assert.deepEqual(
        newOffsets.sort((a, b) => a[0]! - b[0]!),
        hw.map((_, p) => [p, 0]),
      );
      const d2 = describeRows(await tool('kafka-consumer-groups', v, ['--describe', '--group', group]), group, topic);
      assert.deepEqual(
        [...d2.entries()].sort((a, b) => a[0] - b[0]),
        hw.map((end, p) => [p, { current: 0, end, lag: end }]),
        'the reset offsets are committed',
      );

      const del = await tool('kafka-consumer-groups', v, ['--delete', '--group', group]);
      assert.match(del, new RegExp(`Deletion of requested consumer groups \\('${group}'\\) was successful`));
      assert.ok(!lines(await tool('kafka-consumer-groups', v, ['--list'])).includes(group), 'the deleted group is gone');
    });
  });

  test(`VerifiableProducer (idempotent, acks=all) and VerifiableConsumer ${v}: every acked message consumed once`, async () => {
    seen.clear();
    const topic = `java-verifiable-${tag(v)}`;
    const n = 3000;
    const acked = await verifiableProduce(v, topic, n, ['--throughput', '-1']);
    assert.deepEqual(highWatermarks(topic), acked.perPartition, 'the log holds exactly the acked records');
    const consumed = await verifiableConsume(v, topic, `java-verifiable-group-${tag(v)}`, n);
    assert.equal(consumed.length, n);
    assert.deepEqual([...consumed].sort(), [...acked.values].sort(), 'every acked message consumed, none twice');

    // The producer really was idempotent: the broker tracks its sequence per partition.
    const described = await tool('org.apache.kafka.tools.TransactionsCommand', v, [
      'describe-producers',
      '--topic',
      topic,
      '--partition',
      '0',
    ]);
    const row = lines(described).find((l) => /^\d+\s/.test(l));
    assert.ok(row, described);
    const [producerId, epoch, , lastSequence] = row.trim().split(/\s+/).map(Number);
    assert.ok(producerId! >= 0, `a producer id was allocated: ${row}`);
    assert.equal(epoch, 0);
    assert.equal(lastSequence, acked.perPartition[0]! - 1, 'sequences count every record in partition 0');
    assert.ok(maxVersionSeen(seen, 22) >= 0, 'InitProducerId was used');
    assert.equal(maxVersionSeen(seen, 2), 7, 'the Java consumer sends ListOffsets v7');
  });
}

test('an idempotent producer and a consumer ride out a broker restart (4.x): nothing lost, nothing doubled', async () => {
  const v: KafkaVersion = '4.x';
  const topic = 'java-restart';
  const n = 4000;
  // Rate-limited so the restart lands mid-stream; the restart waits for real progress, not time.
  const producing = verifiableProduce(v, topic, n, ['--throughput', '500']);
  const consuming = verifiableConsume(v, topic, 'java-restart-group', n);
  // Awaited below; these handlers only keep an early failure from surfacing as an unhandled rejection.
  producing.catch(() => {});
  consuming.catch(() => {});
  await waitFor(() => sum(highWatermarks(topic)) >= 800, { timeoutMs: 60_000, what: 'the first 800 records' });
  await cluster.restartBroker(1);
  const [acked, consumed] = await Promise.all([producing, consuming]);
  assert.equal(sum(highWatermarks(topic)), n, 'the log holds each record once: retried batches were recognised as duplicates');
  assert.equal(new Set(consumed).size, consumed.length, 'no record consumed twice');
  assert.deepEqual([...consumed].sort(), [...acked.values].sort(), 'every acked message consumed');
});
