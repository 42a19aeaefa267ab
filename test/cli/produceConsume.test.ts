// `clustergenie produce` and `consume` as processes against one cluster (1 ZooKeeper member, 3
// brokers), checked with other clients: what produce writes, kcat reads back exactly (keys, values,
// headers, the partitions and offsets produce printed); what kcat writes, consume prints as JSON;
// consume starts at a timestamp or the last n; a group consume commits what it printed (read back
// with kafkajs). Bad arguments end with exit 2, missing topics with 4.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { formatRecord, parseInputLine, parseOffsetSpec, type RecordOut, recordJson, startOffset } from '../../src/cli/kafkaCliMessages.js';
import { ProcessCluster } from '../../src/cluster/processCluster.js';
import { killOnExit, waitExit } from '../helpers/children.js';
import { type CliResult, cliMainJs as mainJs, runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const { Kafka, logLevel } = kafkajs;

const cli = (args: string[], input = ''): Promise<CliResult> => runCli(args, input);

let dir: string;
let cluster: ProcessCluster;
let bootstrap: string;
let kafka: InstanceType<typeof Kafka>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cg-cli-pc-'));
  cluster = await ProcessCluster.start({
    dir,
    zookeepers: 1,
    brokers: 3,
    brokerConfig: () => ({ 'offsets.topic.replication.factor': '3' }),
  });
  bootstrap = cluster.bootstrap;
  kafka = new Kafka({ clientId: 'cli-pc-test', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: ['pc-in', 'pc-kcat', 'pc-time', 'pc-group', 'pc-live'].map((topic) => ({
      topic,
      numPartitions: topic === 'pc-time' ? 1 : 3,
      replicationFactor: 3,
    })),
    waitForLeaders: true,
  });
  await admin.disconnect();
});

after(async () => {
  await cluster?.close();
  rmSync(dir, { recursive: true, force: true });
});

function kcat(args: string[], input?: string): string {
  return execFileSync('kcat', ['-b', bootstrap, ...args], { encoding: 'utf8', timeout: 30_000, ...(input !== undefined ? { input } : {}) });
}

test('produce from stdin: kcat reads exactly the keys, values and headers, at the printed partitions and offsets', async () => {
  const lines = ['alpha:first value', 'beta:second: with colon', '', 'gamma:third', 'delta:', 'epsilon:fünf ✓'];
  const r = await cli(
    ['produce', 'pc-in', '-K', ':', '-H', 'source=cli', '-H', 'run=1', '--json', '-b', bootstrap],
    `${lines.join('\n')}\n`,
  );
  assert.equal(r.code, 0, r.stderr);
  const printed = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { topic: string; partition: number; offset: number });
  assert.equal(printed.length, 5, 'the blank line is skipped');

  const read = kcat(['-C', '-t', 'pc-in', '-e', '-q', '-f', '%k|%s|%h\n']).trim().split('\n').sort();
  assert.deepEqual(read, [
    'alpha|first value|source=cli,run=1',
    'beta|second: with colon|source=cli,run=1',
    'delta||source=cli,run=1',
    'epsilon|fünf ✓|source=cli,run=1',
    'gamma|third|source=cli,run=1',
  ]);
  const where = new Map(
    kcat(['-C', '-t', 'pc-in', '-e', '-q', '-f', '%k %p %o\n'])
      .trim()
      .split('\n')
      .map((l) => {
        const [k, p, o] = l.split(' ');
        return [k!, { partition: Number(p), offset: Number(o) }] as const;
      }),
  );
  const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
  for (const [i, p] of printed.entries()) assert.deepEqual({ partition: p.partition, offset: p.offset }, where.get(keys[i]!), keys[i]);

  // A key lands where Java's partitioner (kafkajs's default) puts it.
  const producer = kafka.producer();
  await producer.connect();
  const [sent] = await producer.send({ topic: 'pc-in', messages: [{ key: 'alpha', value: 'again' }] });
  await producer.disconnect();
  assert.equal(sent!.partition, where.get('alpha')!.partition);

  // One value argument, JSON lines with headers and a partition.
  const one = await cli(['produce', 'pc-in', 'solo', '-k', 'k1', '-p', '2', '--json', '-b', bootstrap]);
  assert.equal(one.code, 0, one.stderr);
  assert.equal((JSON.parse(one.stdout) as { partition: number }).partition, 2);
  const json = await cli(
    ['produce', 'pc-in', '--format', 'json', '-b', bootstrap],
    '{"key":"j1","value":{"a":1},"headers":{"x":"y"},"partition":0}\n{"value":"tomb?","headers":[["d","1"],["d","2"]]}\n',
  );
  assert.equal(json.code, 0, json.stderr);
  const all = kcat(['-C', '-t', 'pc-in', '-e', '-q', '-f', '%p|%k|%s|%h\n']);
  assert.match(all, /^2\|k1\|solo\|$/m);
  assert.match(all, /^0\|j1\|\{"a":1\}\|x=y$/m);
  assert.match(all, /^\d\|\|tomb\?\|d=1,d=2$/m);
});

test('kcat produces, consume -e --format json prints every message', async () => {
  kcat(['-P', '-t', 'pc-kcat', '-K', '=', '-H', 'via=kcat', '-p', '1'], 'k1=v1\nk2=v2\nk3=v3\n');
  const r = await cli(['consume', 'pc-kcat', '-e', '--format', 'json', '-b', bootstrap]);
  assert.equal(r.code, 0, r.stderr);
  const got = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    got.map(({ timestamp, ...rest }) => {
      assert.equal(typeof timestamp, 'number');
      return rest;
    }),
    [1, 2, 3].map((i) => ({ topic: 'pc-kcat', partition: 1, offset: i - 1, key: `k${i}`, value: `v${i}`, headers: { via: 'kcat' } })),
  );
  // kcat's format string.
  const f = await cli(['consume', 'pc-kcat', '-e', '-f', '%t/%p/%o %k=%s %h\\n', '-b', bootstrap]);
  assert.equal(f.code, 0, f.stderr);
  assert.equal(f.stdout, 'pc-kcat/1/0 k1=v1 via=kcat\npc-kcat/1/1 k2=v2 via=kcat\npc-kcat/1/2 k3=v3 via=kcat\n');
  // -c stops after n; -p limits to one partition (partition 0 is empty).
  const c = await cli(['consume', 'pc-kcat', '-c', '2', '-b', bootstrap]);
  assert.equal(c.stdout, 'v1\nv2\n');
  const p0 = await cli(['consume', 'pc-kcat', '-e', '-p', '0', '-b', bootstrap]);
  assert.equal(p0.code, 0, p0.stderr);
  assert.equal(p0.stdout, '');
});

test('consume -o @timestamp and -o -n start where asked', async () => {
  const base = Date.now() - 600_000;
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: 'pc-time',
    messages: [0, 1, 2, 3, 4, 5].map((i) => ({ value: `t${i}`, timestamp: String(base + i * 10_000) })),
  });
  await producer.disconnect();
  const values = (r: CliResult): string[] => r.stdout.trim().split('\n');
  const atMs = await cli(['consume', 'pc-time', '-e', '-o', `@${base + 25_000}`, '-b', bootstrap]);
  assert.equal(atMs.code, 0, atMs.stderr);
  assert.deepEqual(values(atMs), ['t3', 't4', 't5']);
  const atIso = await cli(['consume', 'pc-time', '-e', '-o', `@${new Date(base + 40_000).toISOString()}`, '-b', bootstrap]);
  assert.deepEqual(values(atIso), ['t4', 't5']);
  const lastTwo = await cli(['consume', 'pc-time', '-e', '-o', '-2', '-b', bootstrap]);
  assert.deepEqual(values(lastTwo), ['t4', 't5']);
  const fromOffset = await cli(['consume', 'pc-time', '-e', '-o', '1', '-c', '2', '-b', bootstrap]);
  assert.deepEqual(values(fromOffset), ['t1', 't2']);
  const future = await cli(['consume', 'pc-time', '-e', '-o', `@${Date.now() + 3_600_000}`, '-b', bootstrap]);
  assert.equal(future.code, 0, future.stderr);
  assert.equal(future.stdout, '');
});

test('a group consume commits what it printed (kafkajs fetchOffsets)', async () => {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'pc-group', messages: Array.from({ length: 9 }, (_, i) => ({ value: `g${i}`, partition: i % 3 })) });
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  const committed = async (): Promise<number> => {
    const [t] = await admin.fetchOffsets({ groupId: 'cli-g', topics: ['pc-group'] });
    return t!.partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  };
  try {
    const first = await cli(['consume', 'pc-group', '-g', 'cli-g', '-c', '4', '-b', bootstrap]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout.trim().split('\n').length, 4);
    assert.equal(await committed(), 4, 'exactly the printed messages are committed');
    const rest = await cli(['consume', 'pc-group', '-g', 'cli-g', '-e', '-b', bootstrap]);
    assert.equal(rest.code, 0, rest.stderr);
    const seen = [...first.stdout.trim().split('\n'), ...rest.stdout.trim().split('\n')].sort();
    assert.deepEqual(seen, Array.from({ length: 9 }, (_, i) => `g${i}`).sort(), 'the second run starts at the commits');
    assert.equal(await committed(), 9);
    const [t] = await admin.fetchOffsets({ groupId: 'cli-g', topics: ['pc-group'] });
    assert.deepEqual(t!.partitions.map((p) => p.offset).sort(), ['3', '3', '3']);
  } finally {
    await admin.disconnect();
  }
});

test('a live group consume prints messages as they come and commits them when stopped by SIGINT', async () => {
  const child = spawn(process.execPath, [mainJs, 'consume', 'pc-live', '-g', 'cli-live', '-b', bootstrap], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const producer = kafka.producer();
  await producer.connect();
  let sent = 0;
  try {
    // Keep writing until the consumer (started with no commits: from the beginning) shows one; then one more.
    await waitFor(
      async () => {
        await producer.send({ topic: 'pc-live', messages: [{ value: `live-${sent}`, partition: sent % 3 }] });
        sent++;
        return stdout.includes('live-');
      },
      { timeoutMs: 60_000, intervalMs: 300, what: () => `consume prints a live message (stderr: ${stderr})` },
    );
    await producer.send({ topic: 'pc-live', messages: [{ value: `live-${sent}`, partition: sent % 3 }] });
    sent++;
    const all = Array.from({ length: sent }, (_, i) => `live-${i}`);
    await waitFor(() => all.every((v) => stdout.split('\n').includes(v)), {
      timeoutMs: 30_000,
      what: () => `all ${sent} printed, got ${stdout}`,
    });
  } finally {
    await producer.disconnect();
    child.kill('SIGINT');
  }
  assert.ok(await waitExit(child, 30_000), 'consume ends on SIGINT');
  assert.equal(child.exitCode, 0, stderr);
  assert.equal(stdout.trim().split('\n').length, sent, 'each message printed once');
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId: 'cli-live', topics: ['pc-live'] });
    assert.equal(
      t!.partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0),
      sent,
      'what was printed is committed',
    );
  } finally {
    await admin.disconnect();
  }
});

test('bad arguments exit 2, missing topics 4', async () => {
  const cases: [string[], number, string, RegExp][] = [
    [['consume', 'pc-time', '-o', 'sometime', '-e'], 2, '', /-o/],
    [['consume', 'pc-time', '-g', 'x', '-p', '0'], 2, '', /-g/],
    [['consume', 'pc-time', '-g', 'x', '-o', '5'], 2, '', /reset-offsets/],
    [['consume', 'pc-time', '-p', '7', '-e'], 2, '', /partitions 0\.\.0/],
    [['consume', 'no-such', '-e'], 4, '', /does not exist/],
    [['produce', 'no-such', 'v'], 4, '', /does not exist/],
    [['produce', 'pc-time', 'v', '--acks', '2'], 2, '', /--acks/],
    [['produce', 'pc-time', '--format', 'json'], 2, '{"value": broken\n', /line 1/],
    [['produce', 'pc-time', 'v', '-H', 'novalue'], 2, '', /key=value/],
  ];
  for (const [args, code, input, message] of cases) {
    const r = await cli([...args, '-b', bootstrap], input);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }
});

test('pure: -o specs, start offsets, input lines, and terminal-safe formatting of hostile records', () => {
  assert.deepEqual(parseOffsetSpec('beginning'), { kind: 'beginning' });
  assert.deepEqual(parseOffsetSpec('-5'), { kind: 'fromEnd', count: 5n });
  assert.deepEqual(parseOffsetSpec('@1700000000000'), { kind: 'timestamp', ms: 1700000000000n });
  assert.deepEqual(parseOffsetSpec('@2024-01-02T03:04:05Z'), { kind: 'timestamp', ms: BigInt(Date.parse('2024-01-02T03:04:05Z')) });
  for (const bad of ['', 'soon', '@never', '1.5', '--2']) assert.throws(() => parseOffsetSpec(bad), /-o/, bad);
  // Clamped into [earliest, latest]; a timestamp past the last message starts at the end.
  assert.equal(startOffset({ kind: 'fromEnd', count: 100n }, 10n, 50n), 10n);
  assert.equal(startOffset({ kind: 'offset', offset: 99n }, 10n, 50n), 50n);
  assert.equal(startOffset({ kind: 'timestamp', ms: 5n }, 10n, 50n, -1n), 50n);
  assert.equal(startOffset({ kind: 'timestamp', ms: 5n }, 10n, 50n, 20n), 20n);

  const lo = { format: 'line' as const, headers: [['a', 'b']] as [string, string][], keyDelimiter: '\t' };
  assert.deepEqual(parseInputLine('k\tv\tw', lo, 1), { headers: [['a', 'b']], key: 'k', value: 'v\tw' });
  assert.deepEqual(parseInputLine('no delimiter', lo, 1), { headers: [['a', 'b']], value: 'no delimiter' });
  assert.equal(parseInputLine('   ', lo, 1), undefined);
  const jo = { format: 'json' as const, headers: [] as [string, string][] };
  assert.deepEqual(parseInputLine('{"key":"k","value":null,"headers":{"h":"1"},"partition":2}', jo, 3), {
    headers: [['h', '1']],
    key: 'k',
    value: null,
    partition: 2,
  });
  assert.throws(() => parseInputLine('[1]', jo, 7), /line 7/);
  assert.throws(() => parseInputLine('{"value":"v","headers":{"h":1}}', jo, 8), /headers/);
  assert.throws(() => parseInputLine('{"value":"v","partition":-1}', jo, 9), /partition/);

  const hostile: RecordOut = {
    topic: 't',
    partition: 0,
    offset: 7n,
    timestamp: 1n,
    key: '\u001b]0;owned\u0007',
    value: '<script>alert(1)</script>\u001b[2J\r',
    headers: [['x\u001b', 'y\u0007']],
  };
  const safe = formatRecord('%k|%s|%h|%o\\n', hostile, true);
  assert.ok(
    [...safe.slice(0, -1)].every((c) => c.charCodeAt(0) >= 0x20),
    'no control character reaches the terminal',
  );
  assert.equal(safe, '\\x1b]0;owned\\x07|<script>alert(1)</script>\\x1b[2J\\x0d|x\\x1b=y\\x07|7\n');
  assert.equal(formatRecord('%s', hostile, false), hostile.value, 'piped output keeps the bytes');
  assert.equal(formatRecord('%K %S %% %t', hostile, false), '10 30 % t');
  assert.deepEqual(JSON.parse(recordJson(hostile)), {
    topic: 't',
    partition: 0,
    offset: 7,
    timestamp: 1,
    key: hostile.key,
    value: hostile.value,
    headers: { 'x\u001b': 'y\u0007' },
  });
});
