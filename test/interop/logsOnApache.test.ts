// The log pipeline (ship-logs → logs topic → log-consumer → log-store, processes of this build's
// CLI) on Apache Kafka 3.9 in ZooKeeper mode (Maven Central jars) on Apache ZooKeeper 3.8 (Debian)
// instead of our brokers: the shipper and the consumer run unchanged, knowing Kafka only by
// address. The consumer is killed -9 mid-stream and started again: every seq arrives, and its
// re-pushes vanish in the store's dedupe, so each seq is stored exactly once.

import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type KafkaHandle, kafkaHome, kafkaJarsPresent, startApacheKafka } from '../helpers/apacheKafka.js';
import { type ServerHandle, startApacheZooKeeper } from '../helpers/apacheZk.js';
import { LogPipeline, metricSum } from '../helpers/logPipeline.js';
import { waitFor } from '../helpers/wait.js';

let zk: ServerHandle | undefined;
let kafka: KafkaHandle | undefined;
let dir: string;
let pipeline: LogPipeline | undefined;

before(
  async () => {
    assert.ok(kafkaJarsPresent('3.9'), `no Kafka 3.9 jars in ${kafkaHome('3.9')}/lib: run scripts/fetch-kafka.sh`);
    dir = await mkdtemp(join(tmpdir(), 'cg-logs-apache-'));
    zk = await startApacheZooKeeper();
    kafka = await startApacheKafka({
      zkConnect: `${zk.connectString}/kafka`,
      brokerId: 0,
      extraProps: { 'group.initial.rebalance.delay.ms': '0', 'offsets.topic.replication.factor': '1' },
    });
  },
  { timeout: 180_000 },
);

after(async () => {
  await pipeline?.close();
  await kafka?.stop();
  await zk?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const marker = 'apache-pipeline-marker';
const seqLines = (from: number, to: number): string => {
  let s = '';
  for (let i = from; i < to; i++) s += `${JSON.stringify({ level: 'info', msg: 'apache line', marker, seq: i })}\n`;
  return s;
};

test('log pipeline on Apache Kafka 3.9: kill -9 of the consumer mid-stream, every seq stored once', { timeout: 110_000 }, async () => {
  const file = join(dir, 'app.log');
  const startNs = BigInt(Date.now() - 60_000) * 1_000_000n;
  let next = 0;
  const write = async (n: number): Promise<void> => {
    await appendFile(file, seqLines(next, next + n));
    next += n;
  };
  await write(200);
  pipeline = await LogPipeline.start({
    bootstrap: kafka!.bootstrap,
    dir,
    topic: 'logs.apache',
    env: 'apache',
    files: [file],
    shipperArgs: ['--poll-interval-ms', '20'],
    consumerArgs: ['--batch-wait-ms', '50'],
  });
  const p = pipeline;
  const query = `{env="apache"} |= "${marker}"`;
  const storedSeqs = async (): Promise<number[]> => (await p.queryAll(query, startNs)).map((e) => Number(JSON.parse(e.line).seq));

  let seqs: number[] = [];
  await waitFor(
    async () => {
      seqs = await storedSeqs();
      return seqs.length >= 200;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: () => `the first 200 seqs in the store; have ${seqs.length}` },
  );

  // Lines keep coming; the consumer is killed -9 in its worst window: a push the store has taken
  // but whose answer it has not seen (held back by the proxy), so its offsets are not committed.
  p.holdPushResponses(true);
  let bursts = 0;
  const writing = (async () => {
    for (; bursts < 10; bursts++) {
      await write(100);
      await new Promise((r) => setTimeout(r, 10)); // pacing, so that the kill lands mid-stream
    }
  })();
  await waitFor(() => p.heldPushes > 0, { timeoutMs: 30_000, intervalMs: 50, what: 'a push held back from the consumer' });
  await p.consumer.kill();
  p.holdPushResponses(false);
  await writing;
  await write(300); // while the consumer is down
  await p.startConsumer();
  const total = next;

  await waitFor(
    async () => {
      seqs = await storedSeqs();
      return new Set(seqs).size >= total;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: () => `${total} distinct seqs in the store; have ${new Set(seqs).size}` },
  );
  for (const proc of p.processes) assert.ok(proc.alive, `${proc.name} is running`);
  const counts = new Map<number, number>();
  for (const s of seqs) counts.set(s, (counts.get(s) ?? 0) + 1);
  const missing = Array.from({ length: total }, (_, i) => i).filter((i) => !counts.has(i));
  assert.deepEqual(missing, [], 'no seq lost');
  const twice = [...counts].filter(([, n]) => n > 1).map(([s]) => s);
  assert.deepEqual(twice, [], 'the shipper was not killed: no seq stored twice');
  const storeDupes = metricSum(await p.storeMetrics(), 'clustergenie_logstore_duplicate_entries_total');
  assert.ok(storeDupes > 0, 'the restarted consumer pushed again what the store had taken (and it kept one copy)');
  process.stderr.write(
    `# apache: ${total} seqs stored once each; ${storeDupes} re-pushed entries deduped by the store (${p.heldPushes} pushes held at the consumer kill)\n`,
  );
  await p.close();
  for (const proc of [p.shipper, p.consumer]) assert.equal(proc.lastExit?.code, 0, `${proc.name} exit: ${proc.logTail()}`);
});
