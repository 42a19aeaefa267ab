// kcat (Debian, librdkafka 2.0.2), unchanged, against our broker: metadata (-L), produce and
// consume with keys in every codec, and a balanced consumer group (-G). librdkafka before 2.11
// turns its group consumer off unless the group APIs advertise version 0: -G proves they do.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { KafkaTestingCluster } from '../../src/cluster/kafkaTestingCluster.js';
import { type KcatRun, runKcat } from './helpers/kcat.js';

let cluster: KafkaTestingCluster;

before(async () => {
  cluster = await KafkaTestingCluster.start({ brokers: 1, brokerProps: { 'num.partitions': '3' } });
});

after(async () => {
  await cluster?.close();
});

function kcat(args: string[], input?: string, timeoutMs = 30_000): Promise<KcatRun> {
  return runKcat(cluster.bootstrap, args, input, timeoutMs);
}

test('kcat -L lists the broker and auto-created topics', async () => {
  const p = await kcat(['-P', '-t', 'kcat-meta'], 'hello\n');
  assert.equal(p.code, 0, p.stderr);
  const r = await kcat(['-L', '-J', '-t', 'kcat-meta']);
  assert.equal(r.code, 0, r.stderr);
  const md = JSON.parse(r.stdout) as {
    brokers: { id: number; name: string }[];
    topics: { topic: string; partitions: { partition: number; leader: number; replicas: { id: number }[]; isrs: { id: number }[] }[] }[];
  };
  assert.equal(md.brokers.length, 1);
  assert.equal(md.brokers[0]?.id, 1);
  assert.equal(md.brokers[0]?.name, `127.0.0.1:${cluster.get(1).port}`);
  const t = md.topics.find((x) => x.topic === 'kcat-meta');
  assert.ok(t, 'the auto-created topic is listed');
  assert.equal(t.partitions.length, 3, 'num.partitions applies to auto-created topics');
  for (const part of t.partitions) {
    assert.equal(part.leader, 1);
    assert.deepEqual(
      part.isrs.map((x) => x.id),
      [1],
    );
  }
});

for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
  test(`kcat produces and consumes keyed messages with compression ${codec}`, async () => {
    const topic = `kcat-${codec}`;
    const lines = Array.from({ length: 200 }, (_, i) => `key${i % 7}:value-${codec}-${i}-${'x'.repeat(i % 50)}`);
    const p = await kcat(['-P', '-t', topic, '-p', '0', '-K', ':', '-z', codec, '-X', 'linger.ms=5'], `${lines.join('\n')}\n`);
    assert.equal(p.code, 0, p.stderr);
    const c = await kcat(['-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-f', '%k:%s\\n']);
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(c.stdout.trimEnd().split('\n'), lines);
  });
}

test('kcat balanced consumer group (-G) reads every partition and commits', async () => {
  const topic = 'kcat-group';
  const lines = Array.from({ length: 60 }, (_, i) => `k${i}:g${i}`);
  const p = await kcat(['-P', '-t', topic, '-K', ':'], `${lines.join('\n')}\n`);
  assert.equal(p.code, 0, p.stderr);
  const c = await kcat(
    [
      '-G',
      'kcat-group-1',
      topic,
      '-o',
      'beginning',
      '-e',
      '-f',
      '%s\\n',
      '-X',
      'session.timeout.ms=6000',
      '-X',
      'auto.commit.interval.ms=100',
    ],
    undefined,
    60_000,
  );
  assert.equal(c.code, 0, c.stderr);
  const got = c.stdout.trimEnd().split('\n').sort();
  assert.deepEqual(got, lines.map((l) => l.split(':')[1] as string).sort());
  // The group's committed offsets are visible to a second run: it reads nothing new.
  const again = await kcat(['-G', 'kcat-group-1', topic, '-e', '-f', '%s\\n', '-X', 'session.timeout.ms=6000'], undefined, 60_000);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.trim(), '');
});
