// `clustergenie groups` as a process against one cluster (1 ZooKeeper member, 3 brokers), with
// kafkajs consumer groups as the other side: describe shows the lag a group left behind and the
// members of a running one; reset-offsets is a dry run unless --execute (read back with kafkajs
// fetchOffsets), and refuses a group with members (exit 5).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { resetTarget } from '../../src/cli/groups.js';
import { ProcessCluster } from '../../src/cluster/processCluster.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const { Kafka, logLevel } = kafkajs;
const TOPIC = 'gr';

const cli = (args: string[], input = ''): Promise<CliResult> => runCli(args, input);

let dir: string;
let cluster: ProcessCluster;
let bootstrap: string;
let kafka: InstanceType<typeof Kafka>;
let admin: kafkajs.Admin;

async function produce(n: number, from: number): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: TOPIC,
    messages: Array.from({ length: n }, (_, i) => ({ value: `m${from + i}`, partition: (from + i) % 3 })),
  });
  await producer.disconnect();
}

/** Committed offsets of `group` on the topic, by partition (-1: none). */
async function committed(group: string): Promise<number[]> {
  const [t] = await admin.fetchOffsets({ groupId: group, topics: [TOPIC] });
  return t!.partitions.sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
}

/** A kafkajs group member that has read `count` messages; it stays in the group until disconnected. */
async function groupMember(groupId: string, count: number): Promise<kafkajs.Consumer> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  let seen = 0;
  await consumer.run({
    eachMessage: async () => {
      seen++;
    },
  });
  await waitFor(() => seen >= count, { timeoutMs: 60_000, what: `${groupId} reads ${count} messages` });
  return consumer;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cg-cli-groups-'));
  cluster = await ProcessCluster.start({
    dir,
    zookeepers: 1,
    brokers: 3,
    brokerConfig: () => ({ 'offsets.topic.replication.factor': '3' }),
  });
  bootstrap = cluster.bootstrap;
  kafka = new Kafka({ clientId: 'cli-groups-test', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true });
  await produce(30, 0);
  // A group reads everything, commits and leaves; then 6 more messages make a lag of 2 per partition.
  const member = await groupMember('kg', 30);
  await waitFor(async () => (await committed('kg')).every((o) => o === 10), { timeoutMs: 30_000, what: 'kg commits' });
  await member.disconnect();
  await produce(6, 30);
});

after(async () => {
  await admin?.disconnect();
  await cluster?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('list and describe: the group, its committed offsets, end offsets and lag', async () => {
  const list = await cli(['groups', 'list', '--json', '-b', bootstrap]);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(
    (JSON.parse(list.stdout) as { group: string }[]).find((g) => g.group === 'kg'),
    { group: 'kg', state: 'Empty', protocolType: 'consumer' },
  );
  const d = await cli(['groups', 'describe', 'kg', '--json', '-b', bootstrap]);
  assert.equal(d.code, 0, d.stderr);
  const doc = JSON.parse(d.stdout) as {
    state: string;
    members: unknown[];
    offsets: { topic: string; partition: number; committed: number; end: number; lag: number }[];
  };
  assert.equal(doc.state, 'Empty');
  assert.deepEqual(doc.members, []);
  assert.deepEqual(
    doc.offsets.map((o) => [o.topic, o.partition, o.committed, o.end, o.lag]),
    [
      [TOPIC, 0, 10, 12, 2],
      [TOPIC, 1, 10, 12, 2],
      [TOPIC, 2, 10, 12, 2],
    ],
  );
  const text = await cli(['groups', 'describe', 'kg', '-b', bootstrap]);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /State: Empty .*Total lag: 6/);
  assert.match(text.stdout, /^gr +0 +10 +12 +2 /m);
});

test('reset-offsets: a dry run changes nothing; --execute moves the commits', async () => {
  const dry = await cli(['groups', 'reset-offsets', 'kg', '--topic', TOPIC, '--to-earliest', '--json', '-b', bootstrap]);
  assert.equal(dry.code, 0, dry.stderr);
  const plan = JSON.parse(dry.stdout) as { executed: boolean; offsets: { partition: number; currentOffset: number; newOffset: number }[] };
  assert.equal(plan.executed, false);
  assert.deepEqual(
    plan.offsets.map((o) => [o.partition, o.currentOffset, o.newOffset]),
    [
      [0, 10, 0],
      [1, 10, 0],
      [2, 10, 0],
    ],
  );
  assert.deepEqual(await committed('kg'), [10, 10, 10], 'dry run leaves the commits');

  const shift = await cli([
    'groups',
    'reset-offsets',
    'kg',
    '--topic',
    TOPIC,
    '--partitions',
    '1',
    '--shift-by',
    '-3',
    '--execute',
    '-b',
    bootstrap,
  ]);
  assert.equal(shift.code, 0, shift.stderr);
  assert.deepEqual(await committed('kg'), [10, 7, 10]);

  const run = await cli(['groups', 'reset-offsets', 'kg', '--topic', TOPIC, '--to-earliest', '--execute', '-b', bootstrap]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /Offsets reset/);
  assert.deepEqual(await committed('kg'), [0, 0, 0]);

  const latest = await cli(['groups', 'reset-offsets', 'kg', '--topic', TOPIC, '--to-offset', '999', '--execute', '-b', bootstrap]);
  assert.equal(latest.code, 0, latest.stderr);
  assert.deepEqual(await committed('kg'), [12, 12, 12], '--to-offset is clamped to the log end');
});

test('a running group: describe shows its members; reset-offsets refuses with exit 5', async () => {
  const member = await groupMember('kg-live', 36);
  try {
    const d = await cli(['groups', 'describe', 'kg-live', '--json', '-b', bootstrap]);
    assert.equal(d.code, 0, d.stderr);
    const doc = JSON.parse(d.stdout) as {
      state: string;
      members: { clientId: string; host: string; assignments: { topic: string; partitions: number[] }[] }[];
      offsets: { memberId: string | null }[];
    };
    assert.equal(doc.state, 'Stable');
    assert.equal(doc.members.length, 1);
    assert.equal(doc.members[0]!.clientId, 'cli-groups-test');
    assert.match(doc.members[0]!.host, /127\.0\.0\.1/);
    assert.deepEqual(doc.members[0]!.assignments, [{ topic: TOPIC, partitions: [0, 1, 2] }]);
    assert.ok(
      doc.offsets.every((o) => o.memberId !== null),
      'every partition has its owner',
    );

    const before = await committed('kg-live');
    const r = await cli(['groups', 'reset-offsets', 'kg-live', '--topic', TOPIC, '--to-earliest', '--execute', '-b', bootstrap]);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /Stable.*stop its consumers/);
    assert.deepEqual(await committed('kg-live'), before, 'nothing was reset');
  } finally {
    await member.disconnect();
  }
});

test('errors: missing group 4, missing topic 4, bad arguments 2', async () => {
  const cases: [string[], number, RegExp][] = [
    [['groups', 'describe', 'no-such-group'], 4, /does not exist/],
    [['groups', 'reset-offsets', 'kg', '--topic', 'no-such-topic', '--to-earliest'], 4, /does not exist/],
    [['groups', 'reset-offsets', 'kg', '--topic', TOPIC], 2, /exactly one/],
    [['groups', 'reset-offsets', 'kg', '--topic', TOPIC, '--to-earliest', '--to-latest'], 2, /exactly one/],
    [['groups', 'reset-offsets', 'kg', '--topic', TOPIC, '--to-earliest', '--partitions', '0,7'], 2, /partitions 0\.\.2/],
    [['groups', 'reset-offsets', 'kg', '--topic', TOPIC, '--to-datetime', 'yesterday'], 2, /--to-datetime/],
    [['groups', 'reset-offsets', 'kg', '--to-earliest'], 2, /--topic/],
  ];
  for (const [args, code, message] of cases) {
    const r = await cli([...args, '-b', bootstrap]);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }
});

test('pure: reset targets are clamped into the log like kafka-consumer-groups', () => {
  assert.equal(resetTarget({ kind: 'earliest' }, 5n, 20n, 9n, undefined), 5n);
  assert.equal(resetTarget({ kind: 'latest' }, 5n, 20n, 9n, undefined), 20n);
  assert.equal(resetTarget({ kind: 'offset', offset: 2n }, 5n, 20n, 9n, undefined), 5n);
  assert.equal(resetTarget({ kind: 'offset', offset: 12n }, 5n, 20n, 9n, undefined), 12n);
  assert.equal(resetTarget({ kind: 'shift', by: -100n }, 5n, 20n, 9n, undefined), 5n);
  assert.equal(resetTarget({ kind: 'shift', by: 3n }, 5n, 20n, 9n, undefined), 12n);
  assert.equal(resetTarget({ kind: 'shift', by: 3n }, 5n, 20n, undefined, undefined), 8n, 'no commit: shift from the log start');
  assert.equal(resetTarget({ kind: 'datetime', ms: 1n }, 5n, 20n, 9n, -1n), 20n, 'nothing at or after the time: the end');
  assert.equal(resetTarget({ kind: 'datetime', ms: 1n }, 5n, 20n, 9n, 7n), 7n);
});
