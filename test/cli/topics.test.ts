// `clustergenie topics` as a process against one cluster (1 ZooKeeper member, 3 brokers), each
// result checked with another client: kcat -L for partitions and replicas, kafkajs for configs and
// topic names. Error paths end with the exit codes of src/cli/exitCodes.ts. The last test runs
// `topics list` and `consume` against Apache Kafka 3.9 (the cluster is stopped first: 2 cores).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { ProcessCluster } from '../../src/cluster/processCluster.js';
import { startApacheKafka, type KafkaHandle } from '../helpers/apacheKafka.js';
import { startApacheZooKeeper, type ServerHandle } from '../helpers/apacheZk.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';

const { Kafka, logLevel } = kafkajs;

const cli = (args: string[], input = ''): Promise<CliResult> => runCli(args, input);

function kcatMetadata(
  bootstrap: string,
  topic: string,
): { partitions: { partition: number; leader: number; replicas: { id: number }[] }[] } {
  const out = execFileSync('kcat', ['-L', '-b', bootstrap, '-t', topic, '-J'], { encoding: 'utf8', timeout: 30_000 });
  const md = JSON.parse(out) as {
    topics: { topic: string; partitions: { partition: number; leader: number; replicas: { id: number }[] }[] }[];
  };
  const t = md.topics.find((x) => x.topic === topic);
  assert.ok(t, `kcat -L shows ${topic}`);
  return t;
}

let dir: string;
let cluster: ProcessCluster | undefined;
let bootstrap: string;
let kafka: InstanceType<typeof Kafka>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cg-cli-topics-'));
  cluster = await ProcessCluster.start({
    dir,
    zookeepers: 1,
    brokers: 3,
    brokerConfig: () => ({ 'offsets.topic.replication.factor': '3' }),
  });
  bootstrap = cluster.bootstrap;
  kafka = new Kafka({ clientId: 'cli-topics-test', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING });
});

after(async () => {
  await cluster?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function describeConfig(topic: string): Promise<Map<string, { value: string; isDefault: boolean }>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const r = await admin.describeConfigs({
      resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic }],
      includeSynonyms: false,
    });
    return new Map(r.resources[0]!.configEntries.map((e) => [e.configName, { value: e.configValue, isDefault: e.isDefault }]));
  } finally {
    await admin.disconnect();
  }
}

test('create: kcat -L sees the partitions and replicas asked for', async () => {
  const r = await cli(['topics', 'create', 'cli-a', '-p', '3', '-r', '2', '--config', 'retention.ms=3600000', '-b', bootstrap, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { ...JSON.parse(r.stdout), name: 'cli-a', partitions: 3, replicationFactor: 2 });
  const md = kcatMetadata(bootstrap, 'cli-a');
  assert.equal(md.partitions.length, 3);
  for (const p of md.partitions) {
    assert.equal(p.replicas.length, 2, `partition ${p.partition} replicas`);
    assert.ok(
      p.replicas.some((x) => x.id === p.leader),
      `partition ${p.partition} leader is a replica`,
    );
  }
  // Without -p/-r the brokers' num.partitions and default.replication.factor apply, and the output says what they were.
  const d = await cli(['topics', 'create', 'cli-defaults', '-b', bootstrap, '--json']);
  assert.equal(d.code, 0, d.stderr);
  const created = JSON.parse(d.stdout) as { partitions: number; replicationFactor: number };
  const dm = kcatMetadata(bootstrap, 'cli-defaults');
  assert.equal(created.partitions, dm.partitions.length);
  assert.equal(created.replicationFactor, dm.partitions[0]!.replicas.length);
});

test('list and describe print JSON that matches the cluster', async () => {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'cli-a', messages: [0, 1, 2, 3, 4].map((i) => ({ value: `m${i}`, partition: i % 3 })) });
  await producer.disconnect();

  const list = await cli(['topics', 'list', '-b', bootstrap, '--json']);
  assert.equal(list.code, 0, list.stderr);
  const row = (JSON.parse(list.stdout) as { name: string }[]).find((t) => t.name === 'cli-a');
  assert.deepEqual(row, { name: 'cli-a', partitions: 3, replicationFactor: 2, underReplicated: 0, internal: false });

  const d = await cli(['topics', 'describe', 'cli-a', '-b', bootstrap, '--json']);
  assert.equal(d.code, 0, d.stderr);
  const doc = JSON.parse(d.stdout) as {
    partitions: { partition: number; leader: number; replicas: number[]; isr: number[]; logStartOffset: number; logEndOffset: number }[];
    configs: { name: string; value: string; source: string }[];
  };
  const md = kcatMetadata(bootstrap, 'cli-a');
  for (const p of doc.partitions) {
    const k = md.partitions.find((x) => x.partition === p.partition)!;
    assert.equal(p.leader, k.leader);
    assert.deepEqual([...p.replicas].sort(), k.replicas.map((x) => x.id).sort());
    assert.equal(p.isr.length, 2);
    assert.equal(p.logStartOffset, 0);
  }
  assert.deepEqual(
    doc.partitions.map((p) => p.logEndOffset),
    [2, 2, 1],
  );
  assert.deepEqual(doc.configs, [{ name: 'retention.ms', value: '3600000', source: 'TOPIC_CONFIG', readOnly: false, sensitive: false }]);

  const all = await cli(['topics', 'describe', 'cli-a', '-b', bootstrap, '--json', '--all-configs']);
  const names = (JSON.parse(all.stdout) as { configs: { name: string }[] }).configs.map((c) => c.name);
  assert.ok(names.includes('cleanup.policy') && names.includes('retention.ms'), names.join(','));

  const text = await cli(['topics', 'describe', 'cli-a', '-b', bootstrap]);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /PartitionCount: 3 {2}ReplicationFactor: 2/);
});

test('alter: configs set and removed are read back by kafkajs; partitions are added', async () => {
  let r = await cli([
    'topics',
    'alter',
    'cli-a',
    '--config',
    'retention.ms=7200000',
    '--config',
    'cleanup.policy=compact',
    '-b',
    bootstrap,
  ]);
  assert.equal(r.code, 0, r.stderr);
  let cfg = await describeConfig('cli-a');
  assert.equal(cfg.get('retention.ms')?.value, '7200000');
  assert.equal(cfg.get('cleanup.policy')?.value, 'compact');

  r = await cli(['topics', 'alter', 'cli-a', '--delete-config', 'cleanup.policy', '-b', bootstrap]);
  assert.equal(r.code, 0, r.stderr);
  cfg = await describeConfig('cli-a');
  assert.equal(cfg.get('cleanup.policy')?.value, 'delete');
  assert.equal(cfg.get('cleanup.policy')?.isDefault, true);
  assert.equal(cfg.get('retention.ms')?.value, '7200000');

  r = await cli(['topics', 'alter', 'cli-a', '--partitions', '5', '-b', bootstrap]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(kcatMetadata(bootstrap, 'cli-a').partitions.length, 5);

  r = await cli(['topics', 'alter', 'cli-a', '--partitions', '2', '-b', bootstrap]);
  assert.equal(r.code, 2, 'fewer partitions is a bad argument');
  assert.match(r.stderr, /can only be added/);
  r = await cli(['topics', 'alter', 'cli-a', '--config', 'no.such.config=1', '-b', bootstrap]);
  assert.equal(r.code, 2, r.stderr);
  r = await cli(['topics', 'alter', 'cli-a', '-b', bootstrap]);
  assert.equal(r.code, 2, 'nothing to alter');
});

test('delete: refused without --yes off a terminal, done with it', async () => {
  let r = await cli(['topics', 'create', 'cli-del', '-p', '1', '-r', '3', '-b', bootstrap]);
  assert.equal(r.code, 0, r.stderr);
  r = await cli(['topics', 'delete', 'cli-del', '-b', bootstrap]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--yes/);
  const admin = kafka.admin();
  await admin.connect();
  try {
    assert.ok((await admin.listTopics()).includes('cli-del'), 'still there after the refusal');
    r = await cli(['topics', 'delete', 'cli-del', '--yes', '-b', bootstrap]);
    assert.equal(r.code, 0, r.stderr);
    await waitFor(async () => !(await admin.listTopics()).includes('cli-del'), { timeoutMs: 20_000, what: 'cli-del gone' });
  } finally {
    await admin.disconnect();
  }
  r = await cli(['topics', 'delete', 'cli-del', '--yes', '-b', bootstrap]);
  assert.equal(r.code, 4);
});

test('errors: missing topic 4, existing 5, bad argument 2, unreachable broker 6', async () => {
  const missing = await cli(['topics', 'describe', 'no-such-topic', '-b', bootstrap]);
  assert.equal(missing.code, 4);
  assert.match(missing.stderr, /no-such-topic.*does not exist/);
  const exists = await cli(['topics', 'create', 'cli-a', '-b', bootstrap]);
  assert.equal(exists.code, 5);
  assert.match(exists.stderr, /TOPIC_ALREADY_EXISTS/);
  for (const p of ['0', 'abc', '-1']) {
    const bad = await cli(['topics', 'create', 'cli-bad', '-p', p, '-b', bootstrap]);
    assert.equal(bad.code, 2, `-p ${p}: ${bad.stderr}`);
  }
  const unknownFlag = await cli(['topics', 'list', '--nope', '-b', bootstrap]);
  assert.equal(unknownFlag.code, 2);
  const port = await freePort();
  const down = await cli(['topics', 'list', '-b', `127.0.0.1:${port}`, '--timeout-ms', '5000']);
  assert.equal(down.code, 6, down.stderr);
  assert.match(down.stderr, /--bootstrap-server/);
});

test('against Apache Kafka 3.9: topics list and consume', async (t) => {
  await cluster?.close();
  cluster = undefined;
  let zk: ServerHandle | undefined;
  let ak: KafkaHandle | undefined;
  try {
    zk = await startApacheZooKeeper();
    ak = await startApacheKafka({ zkConnect: zk.connectString });
    t.diagnostic(`Apache Kafka started in ${ak.startupMs} ms`);
    const apache = new Kafka({ clientId: 'cli-apache', brokers: [ak.bootstrap], logLevel: logLevel.NOTHING });
    const admin = apache.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'cli-apache', numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = apache.producer();
    await producer.connect();
    await producer.send({ topic: 'cli-apache', messages: [{ key: 'k', value: 'hello apache', headers: { h: 'v' }, partition: 1 }] });
    await producer.disconnect();

    const list = await cli(['topics', 'list', '-b', ak.bootstrap, '--json']);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(
      (JSON.parse(list.stdout) as { name: string }[]).find((x) => x.name === 'cli-apache'),
      { name: 'cli-apache', partitions: 2, replicationFactor: 1, underReplicated: 0, internal: false },
    );
    const c = await cli(['consume', 'cli-apache', '-e', '--format', 'json', '-b', ak.bootstrap]);
    assert.equal(c.code, 0, c.stderr);
    const lines = c.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 1);
    assert.deepEqual(
      { ...lines[0], timestamp: 0 },
      { topic: 'cli-apache', partition: 1, offset: 0, timestamp: 0, key: 'k', value: 'hello apache', headers: { h: 'v' } },
    );
  } finally {
    await ak?.stop();
    await zk?.stop();
  }
});
