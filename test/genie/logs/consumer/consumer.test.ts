// The Log Consumer on a one-broker cluster, pushing to a fake Loki (node:http) that decodes every
// push twice: with our decodePush and, for protobuf, with Loki's own published logproto.proto
// (shipped by winston-loki) loaded by protobufjs, so our bytes are proven to be Loki's format.
// The fake Loki fails (429/500) for a while, rejects one batch (400), and a consumer is stopped
// mid-way without draining (as a crash) and replaced: every sequence number arrives, none is lost,
// and offsets are committed only for what Loki took.

import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Admin, Producer, stringSerializers } from '@platformatic/kafka';
import protobuf from 'protobufjs';
import snappy from 'snappy';
import { KafkaTestingCluster } from '../../../../src/cluster/kafkaTestingCluster.js';
import { LogConsumer, type LogConsumerOptions } from '../../../../src/genie/logs/consumer/consumer.js';
import { ensureTopics, type KafkaEndpoint } from '../../../../src/genie/kafka.js';
import { LOGS_TOPIC } from '../../../../src/genie/logs/logEvent.js';
import { decodePush, formatLabels, type LokiStream } from '../../../../src/genie/logs/lokiPush.js';
import { killOnExit, waitExit } from '../../../helpers/children.js';
import { waitFor } from '../../../helpers/wait.js';

const PARTITIONS = 3;
const waitMs = 60_000;

interface Push {
  status: number;
  contentType: string;
  tenant: string | undefined;
  streams: LokiStream[];
}

/** A Loki push endpoint whose answers the test scripts. */
class FakeLoki {
  server: Server;
  pushes: Push[] = [];
  /** The status of the next answers: 'up' 204, 'down' alternating 429/500, 'reject-once' one 400 then up. */
  mode: 'up' | 'down' | 'reject-once' = 'up';
  /** Every protobuf push decoded with Loki's proto, for comparison. */
  lokiDecoded = 0;
  private downCount = 0;

  constructor(private readonly lokiPushRequest: protobuf.Type) {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        ([status, text]) => res.writeHead(status, { 'content-type': 'text/plain' }).end(text),
        (e: Error) => res.writeHead(599).end(e.message),
      );
    });
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async handle(req: IncomingMessage): Promise<[number, string]> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    if (req.method !== 'POST' || req.url !== '/loki/api/v1/push') return [404, 'not found'];
    const contentType = req.headers['content-type'] ?? '';
    const streams = decodePush(body, contentType, req.headers['content-encoding']);
    if (contentType === 'application/x-protobuf') this.checkWithLokiProto(body, streams);
    let status = 204;
    let text = '';
    if (this.mode === 'down') {
      status = this.downCount++ % 2 === 0 ? 429 : 500;
      text = status === 429 ? 'Ingestion rate limit exceeded' : 'internal error';
    } else if (this.mode === 'reject-once') {
      this.mode = 'up';
      status = 400;
      text = 'entry for stream has timestamp too old';
    }
    const tenant = req.headers['x-scope-orgid'];
    this.pushes.push({ status, contentType, tenant: typeof tenant === 'string' ? tenant : undefined, streams });
    return [status, text];
  }

  /** Loki's published definition reads the same labels, lines and timestamps as decodePush. */
  private checkWithLokiProto(body: Buffer, ours: LokiStream[]): void {
    const raw = snappy.uncompressSync(body, { asBuffer: true }) as Buffer;
    const msg = this.lokiPushRequest.toObject(this.lokiPushRequest.decode(raw), { longs: String }) as {
      streams: { labels: string; entries: { timestamp: { seconds: string; nanos?: number }; line: string }[] }[];
    };
    assert.equal(msg.streams.length, ours.length);
    msg.streams.forEach((s, i) => {
      assert.equal(s.labels, formatLabels(ours[i]!.labels));
      assert.deepEqual(
        s.entries.map((e) => [BigInt(e.timestamp.seconds) * 1_000_000_000n + BigInt(e.timestamp.nanos ?? 0), e.line]),
        ours[i]!.entries.map((e) => [e.tsNs, e.line]),
      );
    });
    this.lokiDecoded++;
  }

  /** Sequence numbers Loki accepted (2xx), with how often each came. */
  acceptedSeqs(): Map<number, number> {
    const out = new Map<number, number>();
    for (const p of this.pushes) {
      if (p.status >= 300) continue;
      for (const s of p.streams) for (const e of s.entries) out.set(seqOf(e.line), (out.get(seqOf(e.line)) ?? 0) + 1);
    }
    return out;
  }

  rejectedSeqs(): number[] {
    return this.pushes.filter((p) => p.status === 400).flatMap((p) => p.streams.flatMap((s) => s.entries.map((e) => seqOf(e.line))));
  }
}

const seqOf = (line: string): number => Number(/seq=(\d+)/.exec(line)?.[1] ?? -1);

let cluster: KafkaTestingCluster;
let kafka: KafkaEndpoint;
let producer: Producer<string, string, string, string>;
let admin: Admin;
let loki: FakeLoki;
let stubDir: string;
const consumers: LogConsumer[] = [];

async function loadLokiProto(): Promise<protobuf.Type> {
  // Loki's proto imports gogoproto for Go code generation options only; a stub package satisfies it.
  stubDir = await mkdtemp(join(tmpdir(), 'cg-logconsumer-proto-'));
  const stub = join(stubDir, 'gogo.proto');
  await writeFile(stub, 'syntax = "proto3";\npackage gogoproto;\n');
  const root = new protobuf.Root();
  const resolve = root.resolvePath.bind(root);
  root.resolvePath = (origin, target) => (target.endsWith('gogoproto/gogo.proto') ? stub : resolve(origin, target));
  // google/protobuf/timestamp.proto resolves to protobufjs's bundled well-known types.
  await root.load(join(process.cwd(), 'node_modules/winston-loki/src/proto/logproto.proto'), { keepCase: true });
  return root.lookupType('logproto.PushRequest');
}

before(async () => {
  cluster = await KafkaTestingCluster.start({ brokers: 1 });
  kafka = { bootstrapBrokers: [cluster.bootstrap], clientId: 'log-consumer-test' };
  await ensureTopics(kafka, [{ name: LOGS_TOPIC, partitions: PARTITIONS, replicationFactor: 1 }]);
  producer = new Producer({
    clientId: 'log-consumer-test-producer',
    bootstrapBrokers: [cluster.bootstrap],
    serializers: stringSerializers,
    autocreateTopics: false,
  });
  admin = new Admin({ clientId: 'log-consumer-test-admin', bootstrapBrokers: [cluster.bootstrap] });
  loki = new FakeLoki(await loadLokiProto());
  await new Promise<void>((resolve) => loki.server.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  for (const c of consumers) await c.close({ drain: false }).catch(() => undefined);
  await producer?.close().catch(() => undefined);
  await admin?.close().catch(() => undefined);
  await new Promise<void>((resolve) => (loki ? loki.server.close(() => resolve()) : resolve()));
  await cluster?.close();
  if (stubDir) await rm(stubDir, { recursive: true, force: true });
});

const services = ['api', 'worker', 'scheduler'];
const levels = ['info', 'warn', 'error'];

/** Produces events seq from..to-1 (keyed by source so every partition gets some). */
async function produceEvents(from: number, to: number, topic = LOGS_TOPIC): Promise<void> {
  const messages = [];
  for (let seq = from; seq < to; seq++) {
    const ev = {
      message: `request done seq=${seq}`,
      timestamp: new Date(Date.UTC(2026, 11, 7, 11, 0, 0) + seq).toISOString().replace('Z', '123456Z'),
      host: 'node-a',
      source_type: 'file',
      file: `/var/log/${services[seq % 3]}.log`,
      level: levels[seq % 3],
      seq,
      request_id: `r-${seq}`,
    };
    messages.push({ topic, key: `/var/log/${services[seq % 3]}.log#${seq % 7}`, value: JSON.stringify(ev) });
  }
  await producer.send({ messages });
}

/** Sum of the group's committed offsets on the logs topic (the topic started empty: = records covered). */
async function committedTotal(groupId: string, topic = LOGS_TOPIC, partitions = PARTITIONS): Promise<number> {
  const partitionIndexes = Array.from({ length: partitions }, (_, i) => i);
  const groups = await admin.listConsumerGroupOffsets({ groups: [{ groupId, topics: [{ name: topic, partitionIndexes }] }] });
  let sum = 0;
  for (const t of groups[0]?.topics ?? []) for (const p of t.partitions) if (p.committedOffset > 0n) sum += Number(p.committedOffset);
  return sum;
}

const state = (c: LogConsumer): string =>
  JSON.stringify({ ...c.counters, buffered: c.bufferedEntries, partitions: c.assignedPartitions, pushes: loki.pushes.length });

async function startConsumer(groupId: string, extra: Partial<LogConsumerOptions> = {}): Promise<LogConsumer> {
  const c = new LogConsumer({
    kafka: { bootstrapBrokers: [cluster.bootstrap], clientId: `log-consumer-${consumers.length}` },
    groupId,
    lokiUrl: loki.url,
    batch: { batchWaitMs: 100, batchEntriesMax: 25, env: 'test' },
    backoff: { backoffMsMin: 20, backoffMsMax: 200 },
    group: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 6000 },
    tickMs: 20,
    ...extra,
  });
  consumers.push(c);
  await c.start();
  return c;
}

test('retries while Loki fails, drops a 400 batch, survives a crash: every record arrives, offsets follow Loki', async () => {
  const group = 'lc-main';
  let produced = 0;
  const malformed = 4;

  // Phase 1: Loki refuses (429, 500). Records are read, retried, not committed.
  loki.mode = 'down';
  const c1 = await startConsumer(group);
  await produceEvents(0, 60);
  produced += 60;
  // Bounded: it stops fetching once batchesQueuedMax batches wait, so not all 60 are read yet.
  await waitFor(() => c1.counters.received >= 25 && c1.counters.retries >= 4, {
    timeoutMs: waitMs,
    what: () => `retries while Loki is down ${state(c1)}`,
  });
  assert.equal(c1.counters.pushed, 0);
  assert.ok(c1.bufferedEntries <= 25 * 3, `buffer bounded: ${c1.bufferedEntries}`);
  assert.equal(await committedTotal(group), 0, 'nothing committed while Loki refuses');
  assert.ok(loki.pushes.some((p) => p.status === 429) && loki.pushes.some((p) => p.status === 500), 'both 429 and 500 were answered');

  // Phase 2: Loki comes back; everything arrives and is committed.
  loki.mode = 'up';
  await waitFor(() => c1.counters.pushed === 60, { timeoutMs: waitMs, what: () => `60 pushed ${state(c1)}` });
  await waitFor(async () => (await committedTotal(group)) === 60, { timeoutMs: waitMs, what: 'offsets committed after Loki accepted' });

  // Phase 3: one batch rejected (400): counted, logged, committed past. Malformed records too.
  loki.mode = 'reject-once';
  await produceEvents(60, 70);
  await producer.send({
    messages: [
      { topic: LOGS_TOPIC, key: 'm', value: '{not json' },
      { topic: LOGS_TOPIC, key: 'm', value: '[1, 2, 3]' },
      { topic: LOGS_TOPIC, key: 'm', value: '"a string"' },
      { topic: LOGS_TOPIC, key: 'm', value: '' },
    ],
  });
  produced += 10 + malformed;
  await waitFor(async () => (await committedTotal(group)) === produced, { timeoutMs: waitMs, what: 'offsets past the rejected batch' });
  const rejected = loki.rejectedSeqs();
  assert.ok(rejected.length > 0, 'one batch was rejected');
  assert.equal(c1.counters.dropped.rejected, rejected.length);
  assert.equal(c1.counters.dropped.not_json, 1);
  assert.equal(c1.counters.dropped.not_object, 2);
  assert.equal(c1.counters.dropped.empty, 1);

  // Phase 4: Loki down again, more records read, then the consumer dies without draining; a new
  // instance in the same group takes over when Loki is back.
  loki.mode = 'down';
  const committedBefore = await committedTotal(group);
  await produceEvents(70, 120);
  produced += 50;
  const retriesBefore = c1.counters.retries;
  const receivedBefore = c1.counters.received;
  await waitFor(() => c1.counters.received >= receivedBefore + 25 && c1.counters.retries >= retriesBefore + 4, {
    timeoutMs: waitMs,
    what: () => `the second outage reached ${state(c1)}`,
  });
  assert.equal(await committedTotal(group), committedBefore, 'nothing committed during the second outage');
  await c1.close({ drain: false });
  loki.mode = 'up';
  const c2 = await startConsumer(group);
  await waitFor(async () => (await committedTotal(group)) === produced, { timeoutMs: waitMs, what: 'the new instance committed all' });

  const accepted = loki.acceptedSeqs();
  const rejectedSet = new Set(rejected);
  const missing: number[] = [];
  for (let seq = 0; seq < 120; seq++) if (!accepted.has(seq) && !rejectedSet.has(seq)) missing.push(seq);
  assert.deepEqual(missing, [], 'no record lost');
  assert.equal(c2.counters.pushed, 50, 'the new instance pushed what the crashed one had not (none of it was committed)');
  assert.ok(loki.lokiDecoded > 0);
  // Labels: service, level, host, env only (no request ids).
  for (const p of loki.pushes) {
    for (const s of p.streams) {
      assert.deepEqual(Object.keys(s.labels).sort(), ['env', 'host', 'level', 'service']);
      assert.equal(s.labels['env'], 'test');
      assert.ok(services.includes(s.labels['service']!));
      for (const e of s.entries) assert.equal(levels[seqOf(e.line) % 3], s.labels['level']);
    }
  }
  assert.ok(loki.pushes.every((p) => p.contentType === 'application/x-protobuf' && p.tenant === undefined));
  await c2.close();
});

test('JSON pushes with a tenant, whole-event lines, and /metrics', async () => {
  const before = loki.pushes.length;
  loki.mode = 'up';
  const c = await startConsumer('lc-json', {
    pushFormat: 'json',
    tenant: 'team-a',
    metricsPort: 0,
    batch: { lineFormat: 'json', env: 'qa' },
  });
  // The group is new: it reads the topic from the start (124 records: 120 events and 4 malformed).
  await waitFor(() => c.counters.received === 124, { timeoutMs: waitMs, what: () => `all records read ${state(c)}` });
  await waitFor(() => c.counters.pushed === 120, { timeoutMs: waitMs, what: 'all events pushed' });
  const mine = loki.pushes.slice(before);
  assert.ok(mine.every((p) => p.contentType === 'application/json' && p.tenant === 'team-a' && p.status === 204));
  const lines = mine.flatMap((p) =>
    p.streams.flatMap((s) => s.entries.map((e) => JSON.parse(e.line) as { seq: number; request_id: string })),
  );
  assert.deepEqual(
    [...new Set(lines.map((l) => l.seq))].sort((a, b) => a - b),
    Array.from({ length: 120 }, (_, i) => i),
  );
  assert.ok(
    lines.every((l) => l.request_id === `r-${l.seq}`),
    'the whole event is the line',
  );
  assert.ok(mine.every((p) => p.streams.every((s) => s.labels['env'] === 'qa')));

  const res = await fetch(c.metrics!.url);
  const text = await res.text();
  assert.equal(res.status, 200);
  assert.match(text, /^clustergenie_logconsumer_records_received_total 124$/m);
  assert.match(text, /^clustergenie_logconsumer_entries_pushed_total 120$/m);
  assert.match(text, /^clustergenie_logconsumer_records_dropped_total\{reason="not_object"\} 2$/m);
  assert.match(text, /^clustergenie_logconsumer_buffered_entries 0$/m);
  await c.close();
});

test('the CLI process killed -9 while Loki is down: a new member of its group delivers everything', async () => {
  const topic = 'logs.cli-test';
  const group = 'lc-cli';
  await ensureTopics(kafka, [{ name: topic, partitions: 2, replicationFactor: 1 }]);
  loki.mode = 'down';
  const before = loki.pushes.length;
  const main = fileURLToPath(new URL('../../../../src/genie/logs/consumer/main.js', import.meta.url));
  const script = `import(${JSON.stringify(main)}).then((m) => m.runLogConsumer(process.argv.slice(1)))`;
  const args = ['--bootstrap-server', cluster.bootstrap, '--group', group, '--topic', topic, '--loki-url', loki.url];
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, '--', ...args, '--env', 'cli', '--batch-wait-ms', '50'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  await waitFor(() => stdout.includes('log-consumer ready'), { timeoutMs: waitMs, what: () => `the CLI ready (stderr: ${stderr})` });
  await produceEvents(1000, 1040, topic);
  const cliPushes = (): Push[] => loki.pushes.slice(before).filter((p) => p.streams.some((s) => s.labels['env'] === 'cli'));
  await waitFor(() => cliPushes().length >= 2, { timeoutMs: waitMs, what: 'the CLI pushing into the outage' });
  assert.ok(cliPushes().every((p) => p.status === 429 || p.status === 500));
  child.kill('SIGKILL');
  assert.ok(await waitExit(child, 10_000));
  assert.equal(await committedTotal(group, topic, 2), 0, 'nothing committed: Loki took nothing');

  loki.mode = 'up';
  const c = await startConsumer(group, { topic, batch: { env: 'after' } });
  await waitFor(async () => (await committedTotal(group, topic, 2)) === 40, { timeoutMs: waitMs, what: () => `all committed ${state(c)}` });
  const got = new Set(
    loki.pushes
      .slice(before)
      .filter((p) => p.status === 204)
      .flatMap((p) => p.streams.flatMap((s) => s.entries.map((e) => seqOf(e.line)))),
  );
  assert.deepEqual(
    Array.from({ length: 40 }, (_, i) => 1000 + i).filter((seq) => !got.has(seq)),
    [],
    'every record of the killed member arrived',
  );
  await c.close();
});

test('a lone record is pushed within batchLingerMs, not after batchWaitMs', async () => {
  const topic = 'logs.linger-test';
  await ensureTopics(kafka, [{ name: topic, partitions: 1, replicationFactor: 1 }]);
  loki.mode = 'up';
  // batchWaitMs and the tick far beyond the deadline below: only the linger can push this soon.
  const c = await startConsumer('lc-linger', { topic, tickMs: 60_000, batch: { batchWaitMs: 60_000, batchLingerMs: 20, env: 'linger' } });
  const delays: number[] = [];
  for (let i = 0; i < 3; i++) {
    const pushed = c.counters.pushed;
    const t0 = Date.now();
    await produceEvents(1000 + i, 1001 + i, topic);
    await waitFor(() => c.counters.pushed === pushed + 1, {
      timeoutMs: 5000,
      intervalMs: 5,
      what: () => `record ${i} pushed well before batchWaitMs (60 s) ${state(c)}`,
    });
    delays.push(Date.now() - t0);
  }
  const lingered = loki.pushes.filter((p) => p.streams.some((s) => s.labels['env'] === 'linger'));
  assert.deepEqual(
    lingered.map((p) => p.streams.flatMap((s) => s.entries.map((e) => seqOf(e.line)))),
    [[1000], [1001], [1002]],
    'one push per lone record',
  );
  await waitFor(async () => (await committedTotal('lc-linger', topic, 1)) === 3, {
    timeoutMs: waitMs,
    what: 'offsets committed after the pushes',
  });
  process.stderr.write(`lone record push delays (ms): ${delays.join(', ')}\n`);
  await c.close();
});
