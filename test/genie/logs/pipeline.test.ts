// The whole log pipeline under faults, as processes of this build's CLI on our own broker
// (KafkaTestingCluster): ship-logs → logs topic → log-consumer → log-store, read back only through
// the store's Loki API. A writer appends numbered JSON lines; the file is rotated and truncated
// under the shipper; the shipper and then the consumer are killed -9 and started again. Every seq
// arrives; the consumer's re-pushes vanish in the store's dedupe (same stream, timestamp, line);
// the only duplicates are the shipper's re-reads after its kill, and only of lines between its
// last checkpoint and the end of the file at the kill. Then bad input end to end.

import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KafkaTestingCluster } from '../../../src/cluster/kafkaTestingCluster.js';
import { LogPipeline, metricSum } from '../../helpers/logPipeline.js';
import { waitFor } from '../../helpers/wait.js';

let cluster: KafkaTestingCluster;
let dir: string;
const pipelines: LogPipeline[] = [];

before(async () => {
  cluster = await KafkaTestingCluster.start({ brokers: 1 });
  dir = await mkdtemp(join(tmpdir(), 'cg-log-pipeline-'));
});

after(async () => {
  for (const p of pipelines) await p.close();
  await cluster?.close();
  await rm(dir, { recursive: true, force: true });
});

const bufferedLinesMax = 500;
const marker = 'pipeline-crash-marker';

const seqLines = (from: number, to: number): string => {
  let s = '';
  for (let i = from; i < to; i++) s += `${JSON.stringify({ level: 'info', msg: 'pipeline line', marker, seq: i })}\n`;
  return s;
};

/** seq → how many entries the store holds for it. */
function seqCounts(lines: readonly string[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const l of lines) {
    const seq = Number(JSON.parse(l).seq);
    counts.set(seq, (counts.get(seq) ?? 0) + 1);
  }
  return counts;
}

describe('log pipeline on our Kafka', () => {
  test('rotation, copytruncate, kill -9 of the shipper and of the consumer: no seq lost, duplicates only from the shipper crash', {
    timeout: 100_000,
  }, async () => {
    const sub = join(dir, 'crash');
    const file = join(sub, 'app.log');
    await mkdir(sub);
    const startNs = BigInt(Date.now() - 60_000) * 1_000_000n;
    let next = 0;
    const write = async (n: number): Promise<void> => {
      await appendFile(file, seqLines(next, next + n));
      next += n;
    };
    await write(100);
    const p = await LogPipeline.start({
      bootstrap: cluster.bootstrap,
      dir: sub,
      topic: 'logs.pipeline.crash',
      env: 'crash',
      files: [file],
      shipperArgs: ['--poll-interval-ms', '20', '--buffered-lines-max', String(bufferedLinesMax)],
      consumerArgs: ['--batch-wait-ms', '50'],
    });
    pipelines.push(p);
    const query = `{env="crash"} |= "${marker}"`;
    const stored = async (): Promise<Map<number, number>> => seqCounts((await p.queryAll(query, startNs)).map((e) => e.line));
    const caughtUp = async (): Promise<void> => {
      await waitFor(async () => (await p.positionOf(file)) === (await stat(file)).size, {
        timeoutMs: 30_000,
        what: 'checkpoint at the end of the file',
      });
    };

    await write(400);
    await caughtUp();

    // Rotation: rename, a last line into the old inode, then a new file at the path.
    await rename(file, `${file}.1`);
    await appendFile(`${file}.1`, seqLines(next, next + 1));
    next++;
    await write(200);
    await caughtUp();

    // copytruncate: everything was read, then the file is emptied and written again.
    await truncate(file, 0);
    await waitFor(async () => (await p.positionOf(file)) === 0, { timeoutMs: 30_000, what: 'position 0 after truncation' });
    await write(300);

    // kill -9 of the shipper while lines are written and shipped; the writer goes on meanwhile.
    const beforeCrash = next;
    let bursts = 0;
    const writing = (async () => {
      for (; bursts < 20; bursts++) {
        await write(100);
        await new Promise((r) => setTimeout(r, 10)); // pacing, so that the kill lands mid-stream
      }
    })();
    await waitFor(async () => bursts >= 10 && ((await p.positionOf(file)) ?? 0) > 0, { timeoutMs: 30_000, what: 'shipping mid-stream' });
    await p.shipper.kill();
    const sizeAtKill = (await stat(file)).size;
    await writing;
    const crashCheckpoint = (await p.positionOf(file))!;
    const fileBytes = await readFile(file);
    const seqsIn = (from: number, to: number): number[] =>
      [
        ...fileBytes
          .subarray(from, to)
          .toString()
          .matchAll(/"seq":(\d+)/g),
      ].map((m) => Number(m[1]));
    // Only these lines may have reached Kafka from the dead shipper and be read again by the next.
    const repeatable = new Set(seqsIn(crashCheckpoint, sizeAtKill));
    assert.ok(Math.min(...seqsIn(crashCheckpoint, fileBytes.length)) >= beforeCrash - 300, 'the checkpoint was in the crash phase');
    await p.startShipper();

    // kill -9 of the consumer in its worst window: a push the store has taken but whose answer the
    // consumer has not seen (held back by the proxy), so its offsets are not committed.
    p.holdPushResponses(true);
    let consumerBursts = 0;
    const writing2 = (async () => {
      for (; consumerBursts < 10; consumerBursts++) {
        await write(100);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    // The held push may carry older lines still on their way (the restarted shipper's backlog).
    await waitFor(() => p.heldPushes > 0, { timeoutMs: 60_000, intervalMs: 50, what: 'a push held back from the consumer' });
    await p.consumer.kill();
    p.holdPushResponses(false);
    await writing2;
    await write(200); // written while the consumer is down
    await p.startConsumer();
    const total = next;

    let counts = new Map<number, number>();
    await waitFor(
      async () => {
        counts = await stored();
        return counts.size >= total;
      },
      { timeoutMs: 90_000, intervalMs: 250, what: () => `${total} distinct seqs in the store; have ${counts.size}` },
    );
    await caughtUp();
    for (const proc of p.processes) assert.ok(proc.alive, `${proc.name} is running`);

    const missing = Array.from({ length: total }, (_, i) => i).filter((i) => !counts.has(i));
    assert.deepEqual(missing, [], 'no seq lost');
    assert.ok(Math.max(...counts.keys()) < total, 'no seq that was never written');
    const repeated = [...counts].filter(([, n]) => n > 1);
    for (const [seq, n] of repeated) {
      assert.equal(n, 2, `seq ${seq} stored ${n} times`);
      assert.ok(repeatable.has(seq), `seq ${seq} repeated but was not between the crash checkpoint and the end of the file at the kill`);
    }
    const metrics = await p.storeMetrics();
    const storeDupes = metricSum(metrics, 'clustergenie_logstore_duplicate_entries_total');
    assert.ok(storeDupes > 0, 'the restarted consumer pushed again what the store had taken (and it kept one copy)');
    process.stderr.write(
      `# ${total} seqs; ${repeated.length} stored twice from the shipper crash (${repeatable.size} lines between its checkpoint and the kill, buffered-lines-max ${bufferedLinesMax}); ${storeDupes} re-pushed entries deduped by the store (${p.heldPushes} pushes held at the consumer kill)\n`,
    );
    await p.close();
    for (const proc of [p.shipper, p.consumer]) assert.equal(proc.lastExit?.code, 0, `${proc.name} exit: ${proc.logTail()}`);
  });

  test('bad input through the whole pipeline: binary garbage, invalid UTF-8, a 10 MB line; later lines arrive, nothing crashes', {
    timeout: 60_000,
  }, async () => {
    const sub = join(dir, 'garbage');
    await mkdir(sub);
    const file = join(sub, 'garbage.log');
    await writeFile(file, '');
    const startNs = BigInt(Date.now() - 60_000) * 1_000_000n;
    // --line-bytes-max under the store's 256 KiB entry bound, so the cut head is stored and seen; with
    // the defaults (1 MiB) the store refuses it as Loki would ("Max entry size") and counts it.
    // --line-format json: the stored line is the whole event, so the `truncated` mark is visible.
    const lineBytesMax = 128 * 1024;
    const p = await LogPipeline.start({
      bootstrap: cluster.bootstrap,
      dir: sub,
      topic: 'logs.pipeline.garbage',
      env: 'garbage',
      files: [file],
      shipperArgs: ['--poll-interval-ms', '20', '--line-bytes-max', String(lineBytesMax)],
      consumerArgs: ['--batch-wait-ms', '50', '--line-format', 'json'],
    });
    pipelines.push(p);

    const garbage = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < garbage.length; i++) garbage[i] = ((i * 2654435761) >>> 13) & 0xff;
    const invalidUtf8 = Buffer.from([0x62, 0x61, 0x64, 0x20, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x90, 0x28, 0xbc, 0xff, 0x0a]);
    const huge = Buffer.alloc(10 * 1024 * 1024, 0x41);
    await appendFile(
      file,
      Buffer.concat([
        Buffer.from('{"level":"info","msg":"before the garbage"}\n'),
        garbage,
        Buffer.from('\n'),
        invalidUtf8,
        huge,
        Buffer.from('\n{"level":"warn","msg":"after the big ones"}\n'),
      ]),
    );
    type Event = { message: string; truncated?: boolean; msg?: string };
    let events: { bytes: number; e: Event }[] = [];
    await waitFor(
      async () => {
        const lines = (await p.queryAll('{env="garbage"}', startNs)).map((x) => x.line);
        events = lines.map((l) => ({ bytes: Buffer.byteLength(l), e: JSON.parse(l) as Event }));
        return events.some(({ e }) => e.msg === 'after the big ones');
      },
      { timeoutMs: 60_000, intervalMs: 250, what: () => `the line after the garbage; have ${events.length} lines` },
    );
    assert.ok(
      events.some(({ e }) => e.msg === 'before the garbage'),
      'the line before arrived',
    );
    const badUtf8 = events.find(({ e }) => e.message.startsWith('bad '));
    assert.ok(badUtf8?.e.message.includes('\uFFFD'), 'invalid UTF-8 arrives with replacement characters');
    for (const { bytes } of events) assert.ok(bytes <= 256 * 1024, `a stored line of ${bytes} bytes`);
    // The 10 MB line (after "bad ..." on its own line): its head, cut and marked, nothing more of it.
    const big = events.filter(({ e }) => e.message.startsWith('AAAA'));
    assert.equal(big.length, 1, 'the 10 MB line is one entry');
    assert.equal(big[0]!.e.truncated, true);
    assert.ok(Buffer.byteLength(big[0]!.e.message) <= lineBytesMax, `the head is ${Buffer.byteLength(big[0]!.e.message)} bytes`);
    const metrics = await p.storeMetrics();
    const refused = metricSum(metrics, 'loki_discarded_samples_total');
    assert.equal(refused, 0, 'nothing refused by the store');
    for (const proc of p.processes) assert.ok(proc.alive, `${proc.name} still running: ${proc.logTail()}`);
    process.stderr.write(
      `# garbage: ${events.length} lines stored, the 10 MB line stored as a ${Buffer.byteLength(big[0]!.e.message)} byte head marked truncated\n`,
    );
    await p.close();
    for (const proc of [p.shipper, p.consumer, p.store]) assert.equal(proc.lastExit?.code, 0, `${proc.name} exit: ${proc.logTail()}`);
  });

  // Loki (and the store) keeps one of several identical entries of a stream with the same
  // timestamp, so the shipper must stamp identical lines read together with distinct timestamps.
  test('identical lines written together are each stored', {
    timeout: 60_000,
  }, async () => {
    const sub = join(dir, 'same');
    await mkdir(sub);
    const file = join(sub, 'same.log');
    await writeFile(file, '');
    const startNs = BigInt(Date.now() - 60_000) * 1_000_000n;
    const p = await LogPipeline.start({
      bootstrap: cluster.bootstrap,
      dir: sub,
      topic: 'logs.pipeline.same',
      env: 'same',
      files: [file],
      shipperArgs: ['--poll-interval-ms', '20'],
      consumerArgs: ['--batch-wait-ms', '50'],
    });
    pipelines.push(p);
    const n = 1000;
    await appendFile(file, `${'{"level":"info","msg":"the same line"}\n'.repeat(n)}{"level":"info","msg":"the end"}\n`);
    let lines: string[] = [];
    await waitFor(
      async () => {
        lines = (await p.queryAll('{env="same"}', startNs)).map((e) => e.line);
        return lines.some((l) => l.includes('the end'));
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'the last line in the store' },
    );
    const same = lines.filter((l) => l.includes('the same line')).length;
    process.stderr.write(`# ${n} identical lines written together, ${same} stored\n`);
    await p.close();
    assert.equal(same, n);
  });
});
