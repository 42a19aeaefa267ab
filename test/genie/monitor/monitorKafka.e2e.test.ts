// `clustergenie monitor` end to end against 3 brokers: two candidates, one elected; /metrics
// with the kafka_exporter names; a broker stop raising and then resolving KafkaBrokerDown and
// KafkaUnderReplicatedPartitions on `monitoring.alerts` (read back with a real consumer); the
// standby taking over when the elected one stops.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Admin, Producer, stringSerializers } from '@platformatic/kafka';
import { KafkaTestingCluster } from '../../../src/cluster/kafkaTestingCluster.js';
import { ensureTopics, type KafkaEndpoint } from '../../../src/genie/kafka.js';
import { collectControllerViews } from '../../../src/genie/monitor/controllerViews.js';
import { waitFor } from '../../helpers/wait.js';
import { AlertReader, MonitorProcess } from './harness.js';

let kc: KafkaTestingCluster;
let kafka: KafkaEndpoint;
let reader: AlertReader;
const monitors: MonitorProcess[] = [];

before(async () => {
  // Group coordinators must survive a broker stop: the readers' groups live in __consumer_offsets.
  kc = await KafkaTestingCluster.start({ brokers: 3, brokerProps: { 'offsets.topic.replication.factor': '3' } });
  kafka = { bootstrapBrokers: kc.bootstrap.split(','), clientId: 'monitor-e2e' };
  reader = new AlertReader(kafka);
  await ensureTopics(kafka, [{ name: 'orders', partitions: 3, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }]);
  const producer = new Producer({ ...kafka, serializers: stringSerializers, acks: -1 });
  await producer.send({ messages: Array.from({ length: 5 }, (_, i) => ({ topic: 'orders', key: `k${i}`, value: `v${i}` })) });
  await producer.close();
  // A group that committed offset 0 everywhere and has no members: its lag is the whole topic.
  const admin = new Admin(kafka);
  await admin.alterConsumerGroupOffsets({
    groupId: 'lagging',
    topics: [{ name: 'orders', partitionOffsets: [0, 1, 2].map((partition) => ({ partition, offset: 0n })) }],
  });
  await admin.close();
  const args = [
    '--zookeeper',
    kc.zkConnect,
    '--bootstrap-server',
    kc.bootstrap,
    // The testing cluster's lone ZooKeeper does not allow mntr: no members to ask (the ZooKeeper
    // rules are monitorZk.e2e.test.ts's subject).
    '--zk-members',
    '',
    '--watch-dir',
    kc.dir,
    '--interval-ms',
    '300',
    '--for-ms',
    '0',
    '--disk-free-percent-min',
    '0',
    '--disk-free-bytes-min',
    '0',
    // The `lagging` group starts 5 behind: steady lag above this must not fire, growing lag must.
    '--consumer-lag-min',
    '3',
  ];
  monitors.push(new MonitorProcess('m1', args), new MonitorProcess('m2', args));
  await monitors[0]!.start();
  await waitFor(() => monitors[0]!.isLeader(), { timeoutMs: 20_000, what: 'm1 elected' });
  await monitors[1]!.start();
});

after(async () => {
  for (const m of monitors) await m.stop();
  await kc?.close();
});

/** The candidate elected now (a crash-only restart may have moved the election). */
async function elected(): Promise<MonitorProcess> {
  return waitFor(
    async () => {
      for (const m of monitors) if (await m.isLeader()) return m;
      return null;
    },
    { timeoutMs: 20_000, what: 'an elected monitor' },
  );
}

const byPartition = (text: string, re: RegExp): Map<string, number> => new Map([...text.matchAll(re)].map((m) => [m[1]!, Number(m[2])]));

describe('clustergenie monitor against three brokers', { timeout: 110_000 }, () => {
  test('one candidate is elected; a healthy system raises nothing; /metrics has the kafka_exporter names', async () => {
    const [m1, m2] = monitors;
    assert.equal(await m2!.isLeader(), false);
    const text = await waitFor(
      async () => {
        const t = await m1!.metrics();
        return /^kafka_consumergroup_lag_sum\{consumergroup="lagging",topic="orders"\} 5$/m.test(t) &&
          t.includes('kafka_topic_partitions{topic="monitoring.alerts"} 3')
          ? t
          : null;
      },
      { timeoutMs: 30_000, what: 'the lagging group and monitoring.alerts in /metrics' },
    );
    assert.deepEqual(await m1!.firing(), [], 'nothing fires on a healthy system');
    // Each broker, asked directly, names /controller's broker (the split-brain rule's input).
    const zk = kc.get(1).broker!.zkClient;
    const controller = (JSON.parse(String((await zk.getData('/controller')).data)) as { brokerid: number }).brokerid;
    const asked = await waitFor(
      async () => {
        const r = await collectControllerViews(zk, [1, 2, 3], 5000);
        return r.views.length === 3 && r.views.every((v) => v.controller === controller) ? r : null;
      },
      { timeoutMs: 20_000, what: 'every broker naming the controller' },
    );
    assert.deepEqual(asked.errors, []);
    assert.deepEqual(asked.views.map((v) => v.broker).sort(), [1, 2, 3]);
    const absent = await collectControllerViews(zk, [1, 99], 5000);
    assert.deepEqual(
      absent.views.map((v) => v.broker),
      [1],
    );
    assert.match(absent.errors.join(), /broker 99: /, 'an unregistered broker is named in the errors');
    assert.match(text, /^kafka_brokers 3$/m);
    assert.match(text, new RegExp(`^kafka_broker_info\\{id="1",address="127\\.0\\.0\\.1:${kc.get(1).port}"\\} 1$`, 'm'));
    assert.match(text, /^kafka_topic_partitions\{topic="orders"\} 3$/m);
    const offsets = byPartition(text, /^kafka_topic_partition_current_offset\{topic="orders",partition="(\d+)"\} (\d+)$/gm);
    assert.equal(offsets.size, 3);
    assert.equal(
      [...offsets.values()].reduce((n, o) => n + o, 0),
      5,
    );
    const lags = byPartition(text, /^kafka_consumergroup_lag\{consumergroup="lagging",topic="orders",partition="(\d+)"\} (\d+)$/gm);
    assert.deepEqual(lags, offsets, 'lag = end offset - committed 0, per partition');
    assert.match(text, /^kafka_consumergroup_members\{consumergroup="lagging"\} 0$/m);
    assert.match(text, /^kafka_consumergroup_current_offset\{consumergroup="lagging",topic="orders",partition="0"\} 0$/m);
    assert.match(text, /^kafka_topic_partition_oldest_offset\{topic="orders",partition="0"\} 0$/m);
    assert.match(text, /^kafka_topic_partition_replicas\{topic="orders",partition="0"\} 3$/m);
    assert.match(text, /^kafka_topic_partition_in_sync_replica\{topic="orders",partition="0"\} 3$/m);
    assert.match(text, /^kafka_topic_partition_under_replicated_partition\{topic="orders",partition="0"\} 0$/m);
    assert.match(text, /^kafka_topic_partition_leader_is_preferred\{topic="orders",partition="0"\} 1$/m);
    assert.match(text, new RegExp(`^clustergenie_disk_free_bytes\\{path="${kc.dir}"\\} \\d+`, 'm'));
    assert.match(await m2!.metrics(), /^clustergenie_monitor_leader 0$/m);
    const standby = await m2!.metrics();
    assert.doesNotMatch(standby, /^kafka_brokers [1-9]/m, 'the standby exports no cluster figures');
    assert.doesNotMatch(standby, /^kafka_topic_partitions\{/m);
  });

  test('a broker stops: KafkaBrokerDown and KafkaUnderReplicatedPartitions fire; it returns: both resolve', async (t) => {
    t.after(() => {
      for (const m of monitors)
        if (m.unplannedExits.length > 0) t.diagnostic(`monitor ${m.id} restarted after exits ${m.unplannedExits.join(', ')}`);
    });
    await kc.stopBroker(3);
    await waitFor(async () => (await (await elected()).firing()).includes('KafkaBrokerDown'), {
      timeoutMs: 30_000,
      what: 'KafkaBrokerDown firing in /metrics',
    });
    await reader.until(
      () =>
        reader.got('alert.firing', 'KafkaBrokerDown', ['broker', '3']) &&
        reader.got('alert.firing', 'KafkaUnderReplicatedPartitions', ['topic', 'orders']),
      30_000,
      () => `firing events on monitoring.alerts: ${reader.summary()}`,
    );
    const down = reader.got('alert.firing', 'KafkaBrokerDown', ['broker', '3'])!;
    assert.equal(down.schemaVersion, 1);
    assert.equal(down.status, 'firing');
    assert.equal(down.labels['severity'], 'critical');
    assert.equal(down.endsAt, '0001-01-01T00:00:00Z');
    // m1 unless it crashed meanwhile (crash-only) and m2 took over.
    assert.ok(['m1', 'm2'].includes(down.monitor));
    assert.match(down.fingerprint, /^[0-9a-f]{16}$/);
    assert.match(down.annotations.summary, /broker 3/);

    await kc.startBroker(3);
    await waitFor(async () => (await (await elected()).firing()).length === 0, { timeoutMs: 40_000, what: 'alerts resolved' });
    await reader.until(
      () =>
        reader.got('alert.resolved', 'KafkaBrokerDown', ['broker', '3']) &&
        reader.got('alert.resolved', 'KafkaUnderReplicatedPartitions', ['topic', 'orders']),
      30_000,
      () => `resolved events on monitoring.alerts: ${reader.summary()}`,
    );
    // A restart of the monitor in between (crash-only) raises the alert again under the same fingerprint.
    const resolved = reader.received.filter((r) => r.type === 'alert.resolved' && r.fingerprint === down.fingerprint);
    assert.ok(resolved.length >= 1);
    assert.ok(Date.parse(resolved.at(-1)!.endsAt) >= Date.parse(resolved.at(-1)!.startsAt));
  });

  test('a stalled group falls further behind: KafkaConsumerLagGrowing fires; it catches up: resolved', async () => {
    const producer = new Producer({ ...kafka, serializers: stringSerializers, acks: -1 });
    await producer.send({ messages: Array.from({ length: 6 }, (_, i) => ({ topic: 'orders', key: `more${i}`, value: `m${i}` })) });
    await producer.close();
    await reader.until(
      () => reader.got('alert.firing', 'KafkaConsumerLagGrowing', ['group', 'lagging']),
      30_000,
      () => `KafkaConsumerLagGrowing firing: ${reader.summary()}`,
    );
    const lag = reader.got('alert.firing', 'KafkaConsumerLagGrowing', ['group', 'lagging'])!;
    assert.equal(lag.labels['topic'], 'orders');
    // 5 behind before, 11 once all six are in (a round may see part of the send).
    assert.ok(lag.value !== null && lag.value > 5 && lag.value <= 11, `lag ${lag.value}`);
    // The group catches up: its committed offsets move to the end.
    const text = await (await elected()).metrics();
    const ends = byPartition(text, /^kafka_topic_partition_current_offset\{topic="orders",partition="(\d+)"\} (\d+)$/gm);
    const admin = new Admin(kafka);
    await admin.alterConsumerGroupOffsets({
      groupId: 'lagging',
      topics: [
        {
          name: 'orders',
          partitionOffsets: [...ends].map(([partition, offset]) => ({ partition: Number(partition), offset: BigInt(offset) })),
        },
      ],
    });
    await admin.close();
    await reader.until(
      () => reader.got('alert.resolved', 'KafkaConsumerLagGrowing', ['group', 'lagging']),
      30_000,
      () => `KafkaConsumerLagGrowing resolved: ${reader.summary()}`,
    );
  });

  test('the elected monitor stops: the standby takes over', async () => {
    const leader = await elected();
    const standby = monitors.find((m) => m !== leader)!;
    assert.equal(await standby.isLeader(), false);
    await leader.stop();
    await waitFor(() => standby.isLeader(), { timeoutMs: 20_000, what: `${standby.id} elected` });
    await waitFor(async () => /^kafka_brokers 3$/m.test(await standby.metrics()), { timeoutMs: 20_000, what: `rounds of ${standby.id}` });
  });
});
