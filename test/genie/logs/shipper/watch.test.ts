// The shipper reads a file as soon as it changes (its directory's fs.watch), not at the next poll:
// with pollIntervalMs at 60 s, lines appended to a followed file, written to a file that appears
// later, and written around a rename-rotation and a copytruncate reach a real broker's topic within
// a deadline far below the poll interval. Read back with @platformatic/kafka.

import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Consumer, type Message, type MessagesStream, MessagesStreamModes, stringDeserializers } from '@platformatic/kafka';
import { KafkaTestingCluster } from '../../../../src/cluster/kafkaTestingCluster.js';
import { ensureTopics } from '../../../../src/genie/kafka.js';
import { concernsFollowed } from '../../../../src/genie/logs/shipper/fileWatch.js';
import { LogShipper } from '../../../../src/genie/logs/shipper/shipper.js';
import { waitFor } from '../../../helpers/wait.js';

const topic = 'logs.watch';
const pollIntervalMs = 60_000;
/** Far below the poll interval, with room for a loaded 2-core machine. */
const arrivalMs = 5_000;

type Msg = Message<string, string, string, string>;

let cluster: KafkaTestingCluster;
let dir: string;
let shipper: LogShipper | undefined;
let consumer: Consumer<string, string, string, string>;
let stream: MessagesStream<string, string, string, string>;
const got: Msg[] = [];

before(async () => {
  cluster = await KafkaTestingCluster.start({ brokers: 1 });
  dir = await mkdtemp(join(tmpdir(), 'cg-ship-watch-'));
  const kafka = { bootstrapBrokers: [cluster.bootstrap], clientId: 'ship-watch-test' };
  await ensureTopics(kafka, [{ name: topic, partitions: 1, replicationFactor: 1 }]);
  consumer = new Consumer({
    clientId: 'ship-watch-reader',
    groupId: `ship-watch-${Date.now()}`,
    bootstrapBrokers: [cluster.bootstrap],
    deserializers: stringDeserializers,
    maxWaitTime: 100,
    retries: 20,
    retryDelay: 100,
    timeout: 10_000,
  });
  stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false });
  stream.on('data', (m: Msg) => got.push(m));
});

after(async () => {
  await shipper?.close();
  await stream?.close().catch(() => undefined);
  if (consumer) await new Promise<void>((resolve) => consumer.close(true, () => resolve()));
  await cluster?.close();
  await rm(dir, { recursive: true, force: true });
});

const messages = (): string[] => got.map((m) => JSON.parse(m.value).message as string);

/** Waits until `line` is on the topic; returns how long that took from `t0`. */
async function arrival(line: string, t0: number): Promise<number> {
  await waitFor(() => messages().includes(line), {
    timeoutMs: arrivalMs,
    intervalMs: 5,
    what: () =>
      `"${line}" on the topic within ${arrivalMs} ms (poll interval ${pollIntervalMs} ms); have ${JSON.stringify(messages().slice(-5))}`,
  });
  return Date.now() - t0;
}

test('lines reach the topic without waiting for the poll: appends, a late file, rotation, truncation', async () => {
  const file = join(dir, 'app.log');
  const late = join(dir, 'late.log');
  await writeFile(file, 'before start\n');
  shipper = new LogShipper({
    kafka: { bootstrapBrokers: [cluster.bootstrap], clientId: 'ship-watch' },
    topic,
    host: 'test',
    pollIntervalMs,
    start: 'beginning',
    checkpointPath: join(dir, 'cp.json'),
  });
  await shipper.start();
  shipper.addFile(file);
  shipper.addFile(late);
  // The first pass (at start, not a poll) reads what is there.
  await arrival('before start', Date.now());

  const delays: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = Date.now();
    await appendFile(file, `append ${i}\n`);
    delays.push(await arrival(`append ${i}`, t0));
  }

  // A file that did not exist when it was added.
  let t0 = Date.now();
  await writeFile(late, 'late 0\n');
  delays.push(await arrival('late 0', t0));

  // Rotation by rename: the writer still appends to the renamed file for a moment, then writes the new one.
  t0 = Date.now();
  await rename(file, `${file}.1`);
  await appendFile(`${file}.1`, 'rotated tail\n');
  await writeFile(file, 'new file 0\n');
  delays.push(await arrival('new file 0', t0));
  await arrival('rotated tail', t0);
  const order = messages();
  assert.ok(order.indexOf('rotated tail') < order.indexOf('new file 0'), `the old file is finished first: ${JSON.stringify(order)}`);

  // copytruncate: the file is emptied and written again from its start.
  await appendFile(file, 'new file 1\n');
  await arrival('new file 1', Date.now());
  t0 = Date.now();
  await truncate(file, 0);
  await appendFile(file, 'after truncate\n');
  delays.push(await arrival('after truncate', t0));

  // A burst of writes (many watch events) is read in a few passes: every line once, in order.
  const burst: string[] = [];
  for (let i = 0; i < 2000; i++) burst.push(`burst ${i}`);
  t0 = Date.now();
  for (let i = 0; i < burst.length; i += 100) await appendFile(file, `${burst.slice(i, i + 100).join('\n')}\n`);
  await arrival('burst 1999', t0);
  const shipped = messages().filter((m) => m.startsWith('burst '));
  assert.deepEqual(shipped, burst, 'every burst line exactly once, in order');
  assert.equal(new Set(messages()).size, messages().length, 'no line shipped twice');
  process.stderr.write(`watch arrival delays (ms): ${delays.join(', ')}\n`);
});

test('directory events wake the loop for followed files and their rotated siblings only', () => {
  const names = new Set(['app.log']);
  const stems = new Set(['app']);
  for (const n of ['app.log', 'app.log.1', 'app-2026-12-07.log', null]) assert.equal(concernsFollowed(n, names, stems), true, String(n));
  for (const n of ['other.log', 'cp.json', '.app.log.swp']) assert.equal(concernsFollowed(n, names, stems), false, n);
});
