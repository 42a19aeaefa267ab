// `clustergenie monitor` against Apache ZooKeeper 3.8 (Debian) and two Apache Kafka 3.9 brokers in
// ZooKeeper mode (Maven Central jars) instead of our servers: the collectors read Kafka's own znode
// layout, mntr and the public Admin/Metadata APIs, so they must work there unchanged. Checked: a
// healthy system raises nothing and /metrics has the kafka_exporter figures; every broker, asked
// directly, names /controller's broker (the KafkaControllerSplitBrain rule's input); a broker's
// controlled shutdown raises KafkaBrokerDown and KafkaUnderReplicatedPartitions, and its return
// resolves both.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Producer, stringSerializers } from '@platformatic/kafka';
import { ensureTopics, type KafkaEndpoint } from '../../src/genie/kafka.js';
import { collectControllerViews } from '../../src/genie/monitor/controllerViews.js';
import { ZooKeeperClient } from '../../src/zookeeper/client/client.js';
import { type KafkaHandle, kafkaHome, kafkaJarsPresent, startApacheKafka } from '../helpers/apacheKafka.js';
import { type ServerHandle, startApacheZooKeeper } from '../helpers/apacheZk.js';
import { waitFor } from '../helpers/wait.js';
import { MonitorProcess } from '../genie/monitor/harness.js';

const chroot = '/kafka';
let zk: ServerHandle | undefined;
let zkc: ZooKeeperClient | undefined;
const brokers = new Map<number, KafkaHandle>();
const logDirs = new Map<number, string>();
let dir: string;
let monitor: MonitorProcess | undefined;

async function startBroker(id: number): Promise<KafkaHandle> {
  const handle = await startApacheKafka({
    zkConnect: `${zk!.connectString}${chroot}`,
    brokerId: id,
    logDir: logDirs.get(id)!,
    extraProps: {
      'group.initial.rebalance.delay.ms': '0',
      'offsets.topic.replication.factor': '2',
      'zookeeper.session.timeout.ms': '6000',
      'controlled.shutdown.enable': 'true',
    },
  });
  brokers.set(id, handle);
  return handle;
}

const bootstrap = (): string => [...brokers.values()].map((b) => b.bootstrap).join(',');

before(
  async () => {
    assert.ok(kafkaJarsPresent('3.9'), `no Kafka 3.9 jars in ${kafkaHome('3.9')}/lib: run scripts/fetch-kafka.sh`);
    dir = await mkdtemp(join(tmpdir(), 'cg-monitor-apache-'));
    for (const id of [1, 2]) logDirs.set(id, join(dir, `kafka-${id}`));
    zk = await startApacheZooKeeper();
    await Promise.all([startBroker(1), startBroker(2)]);
    const kafka: KafkaEndpoint = { bootstrapBrokers: bootstrap().split(','), clientId: 'monitor-apache' };
    await ensureTopics(kafka, [{ name: 'orders', partitions: 2, replicationFactor: 2, configs: { 'min.insync.replicas': '1' } }]);
    const producer = new Producer({ ...kafka, serializers: stringSerializers, acks: -1 });
    try {
      await producer.send({ messages: Array.from({ length: 4 }, (_, i) => ({ topic: 'orders', key: `k${i}`, value: `v${i}` })) });
    } finally {
      await producer.close();
    }
    zkc = new ZooKeeperClient({ connectString: `${zk.connectString}${chroot}`, sessionTimeoutMs: 10_000 });
    await zkc.connect();
    monitor = new MonitorProcess('apache', [
      '--zookeeper',
      `${zk.connectString}${chroot}`,
      '--bootstrap-server',
      bootstrap(),
      '--zk-members',
      zk.connectString,
      '--watch-dir',
      dir,
      '--interval-ms',
      '300',
      '--for-ms',
      '0',
      '--disk-free-percent-min',
      '0',
      '--disk-free-bytes-min',
      '0',
    ]);
    await monitor.start();
    await waitFor(() => monitor!.isLeader(), { timeoutMs: 30_000, what: 'the monitor elected' });
  },
  { timeout: 240_000 },
);

after(async () => {
  await monitor?.stop();
  await zkc?.close();
  await Promise.all([...brokers.values()].map((b) => b.stop()));
  await zk?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('monitor on Apache ZooKeeper 3.8 and Kafka 3.9: healthy, then a broker leaves and returns', { timeout: 240_000 }, async () => {
  // Healthy: the figures come from Apache's znodes and Admin answers; nothing fires. A round may
  // miss a partition's offsets (ListOffsets just after the topic's leaders moved), so wait for one
  // that has both partitions and the four records sent.
  const endOffsetSum = (t: string): number =>
    [...t.matchAll(/^kafka_topic_partition_current_offset\{topic="orders",partition="\d+"\} (\d+)$/gm)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
  let lastText = '';
  const text = await waitFor(
    async () => {
      const t = await monitor!.metrics();
      lastText = t;
      return /^kafka_brokers 2$/m.test(t) &&
        /^kafka_topic_partition_in_sync_replica\{topic="orders",partition="1"\} 2$/m.test(t) &&
        endOffsetSum(t) === 4
        ? t
        : null;
    },
    {
      timeoutMs: 60_000,
      what: () =>
        `two brokers, orders' ISR and its 4 records in /metrics (${lastText
          .split('\n')
          .filter((l) => l.includes('orders') || l.startsWith('kafka_brokers'))
          .join('\n')}; ${monitor!.output.join('\n')})`,
    },
  );
  assert.deepEqual(await monitor!.firing(), [], 'nothing fires on a healthy system');
  assert.match(text, /^kafka_topic_partitions\{topic="orders"\} 2$/m);
  assert.match(text, new RegExp(`^kafka_broker_info\\{id="1",address="127\\.0\\.0\\.1:${brokers.get(1)!.port}"\\} 1$`, 'm'));
  assert.match(text, /^kafka_topic_partition_under_replicated_partition\{topic="orders",partition="0"\} 0$/m);

  // The split-brain rule's input: each Apache broker, asked directly, names /controller's broker.
  const controller = (JSON.parse(String((await zkc!.getData('/controller')).data)) as { brokerid: number }).brokerid;
  assert.ok([1, 2].includes(controller), `controller ${controller}`);
  const views = await waitFor(
    async () => {
      const r = await collectControllerViews(zkc!, [1, 2], 5000);
      return r.views.length === 2 && r.views.every((v) => v.controller === controller) ? r : null;
    },
    { timeoutMs: 30_000, what: 'both Apache brokers naming the controller' },
  );
  assert.deepEqual(views.errors, []);

  // Broker 2 shuts down (SIGTERM: Apache's controlled shutdown): its loss and the shrunk ISRs fire.
  await brokers.get(2)!.stop();
  brokers.delete(2);
  await waitFor(
    async () => {
      const firing = await monitor!.firing();
      return firing.includes('KafkaBrokerDown') && firing.includes('KafkaUnderReplicatedPartitions');
    },
    { timeoutMs: 60_000, what: 'KafkaBrokerDown and KafkaUnderReplicatedPartitions firing' },
  );
  await waitFor(async () => /^kafka_brokers 1$/m.test(await monitor!.metrics()), { timeoutMs: 30_000, what: 'kafka_brokers 1' });

  // It returns with its data: both alerts resolve once it is back in every ISR.
  await startBroker(2);
  await waitFor(async () => (await monitor!.firing()).length === 0, {
    timeoutMs: 90_000,
    what: () => `alerts resolved after broker 2's return (${monitor!.output.join('\n')})`,
  });
  // A round may fail to read Kafka while broker 2 settles back in (its section is then unknown and
  // the label-less kafka_brokers reads 0 for that round), so wait for a round that saw both.
  await waitFor(async () => /^kafka_brokers 2$/m.test(await monitor!.metrics()), {
    timeoutMs: 30_000,
    what: () => `kafka_brokers 2 after broker 2's return (${monitor!.output.join('\n')})`,
  });
});
