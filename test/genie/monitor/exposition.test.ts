// The pure edges of the monitor's shell: member lists, the Job Service's counters, alert and
// snapshot records, and /metrics replacing every series each round.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseJobsMetrics, parseMembers } from '../../../src/genie/monitor/collect.js';
import {
  alertRecord,
  encodeAlertEvent,
  MONITOR_TOPICS,
  monitorTopics,
  snapshotRecord,
  ZERO_TIME,
} from '../../../src/genie/monitor/events.js';
import { MonitorMetrics } from '../../../src/genie/monitor/metrics.js';
import { ALERT_NAMES, emptyState, evaluate } from '../../../src/genie/monitor/rules.js';
import type { Snapshot } from '../../../src/genie/monitor/snapshot.js';

test('parseMembers: hosts of a connect string, chroot ignored, default port, bad ports refused', () => {
  assert.deepEqual(parseMembers('a:2181,b:2182/kafka'), [
    { host: 'a', port: 2181 },
    { host: 'b', port: 2182 },
  ]);
  assert.deepEqual(parseMembers('zk'), [{ host: 'zk', port: 2181 }]);
  assert.deepEqual(parseMembers(''), []);
  assert.throws(() => parseMembers('a:99999'), /bad ZooKeeper member address "a:99999"/);
});

test('parseJobsMetrics sums the job counters over types and ignores the rest', () => {
  const text = [
    '# HELP clustergenie_jobs_submitted_total Jobs submitted',
    '# TYPE clustergenie_jobs_submitted_total counter',
    'clustergenie_jobs_submitted_total{type="email"} 10',
    'clustergenie_jobs_submitted_total{type="resize"} 5',
    'clustergenie_jobs_failed_total{type="email"} 2',
    'clustergenie_jobs_dead_total 1',
    'clustergenie_jobs_submitted_total_created 123',
    'garbage line',
    'clustergenie_jobs_failed_total{type="x"} NaN',
  ].join('\n');
  assert.deepEqual(parseJobsMetrics(text), { submittedTotal: 15, failedTotal: 2, deadTotal: 1 });
});

const broken: Snapshot = {
  atMs: Date.parse('2026-12-07T12:00:00Z'),
  kafka: {
    brokers: [1, 2],
    controller: 1,
    partitions: [
      { topic: 'orders', partition: 0, replicas: [1, 2, 3], isr: [1, 2], leader: 1 },
      { topic: 'orders', partition: 1, replicas: [3, 1, 2], isr: [1, 2], leader: 1 },
    ],
  },
  offsets: {
    partitions: [
      { topic: 'orders', partition: 0, oldest: 0, current: 7 },
      { topic: 'orders', partition: 1, oldest: 2, current: 4 },
    ],
  },
  groups: [{ group: 'g', state: 'Stable', members: 2, offsets: [{ topic: 'orders', partition: 0, committed: 5, lag: 2 }] }],
  disks: [{ path: '/data', freeBytes: 10, sizeBytes: 100 }],
};
const noFor = { forMs: Object.fromEntries(ALERT_NAMES.map((n) => [n, 0])) };

test('alert records: Alertmanager field names, firing then resolved under one fingerprint', () => {
  const { state, events } = evaluate(broken, emptyState, broken.atMs, noFor);
  const down = events.find((e) => e.alert.name === 'KafkaBrokerDown')!;
  const rec = alertRecord(down, 'm1', broken.atMs);
  assert.equal(rec.status, 'firing');
  assert.equal(rec.startsAt, '2026-12-07T12:00:00.000Z');
  assert.equal(rec.endsAt, ZERO_TIME);
  assert.deepEqual(rec.labels, { alertname: 'KafkaBrokerDown', severity: 'critical', broker: '3' });
  const encoded = encodeAlertEvent(down, 'm1', broken.atMs);
  assert.equal(encoded.key, rec.fingerprint);
  assert.equal(encoded.headers.get('event-type'), 'alert.firing');
  assert.deepEqual(JSON.parse(encoded.value), rec);

  const healed: Snapshot = { atMs: broken.atMs + 5000, kafka: { ...broken.kafka!, brokers: [1, 2, 3] } };
  const after = evaluate(healed, state, healed.atMs, noFor);
  const resolved = after.events.find((e) => e.alert.name === 'KafkaBrokerDown')!;
  const r = alertRecord(resolved, 'm1', healed.atMs);
  assert.equal(r.status, 'resolved');
  assert.equal(r.fingerprint, rec.fingerprint);
  assert.equal(r.startsAt, rec.startsAt);
  assert.equal(r.endsAt, '2026-12-07T12:00:05.000Z');
});

test('snapshot records summarise topics, groups and unread sections', () => {
  const rec = snapshotRecord(broken, 'm1', 3);
  assert.equal(rec.type, 'metrics.snapshot');
  assert.equal(rec.alertsFiring, 3);
  assert.deepEqual(rec.kafka!.topics, [{ topic: 'orders', partitions: 2, underReplicated: 2, offline: 0, endOffsetSum: 11 }]);
  assert.deepEqual(rec.consumerGroups, [{ group: 'g', state: 'Stable', members: 2, lag: 2 }]);
  assert.equal(rec.zookeeper, null, 'not read this round');
  assert.deepEqual(
    monitorTopics({ partitions: 3, replicationFactor: 1 }).map((t) => [t.name, t.configs!['min.insync.replicas']]),
    [
      [MONITOR_TOPICS.alerts, '1'],
      [MONITOR_TOPICS.metrics, '1'],
    ],
  );
});

test('/metrics: kafka_exporter series from a round, replaced (not accumulated) by the next', async () => {
  const m = new MonitorMetrics();
  const { state } = evaluate(broken, emptyState, broken.atMs, noFor);
  m.update(broken, [...state.alerts.values()], new Map([['groups', 'timeout']]), new Map([[1, '127.0.0.1:9092']]));
  m.setLeader(true);
  const text = await m.metrics();
  for (const line of [
    'kafka_brokers 2',
    'kafka_broker_info{id="1",address="127.0.0.1:9092"} 1',
    'kafka_topic_partitions{topic="orders"} 2',
    'kafka_topic_partition_current_offset{topic="orders",partition="1"} 4',
    'kafka_topic_partition_oldest_offset{topic="orders",partition="1"} 2',
    'kafka_topic_partition_in_sync_replica{topic="orders",partition="0"} 2',
    'kafka_topic_partition_leader{topic="orders",partition="1"} 1',
    'kafka_topic_partition_leader_is_preferred{topic="orders",partition="0"} 1',
    'kafka_topic_partition_leader_is_preferred{topic="orders",partition="1"} 0',
    'kafka_topic_partition_replicas{topic="orders",partition="0"} 3',
    'kafka_topic_partition_under_replicated_partition{topic="orders",partition="0"} 1',
    'kafka_consumergroup_current_offset{consumergroup="g",topic="orders",partition="0"} 5',
    'kafka_consumergroup_current_offset_sum{consumergroup="g",topic="orders"} 5',
    'kafka_consumergroup_lag{consumergroup="g",topic="orders",partition="0"} 2',
    'kafka_consumergroup_lag_sum{consumergroup="g",topic="orders"} 2',
    'kafka_consumergroup_members{consumergroup="g"} 2',
    'clustergenie_disk_free_bytes{path="/data"} 10',
    'clustergenie_disk_size_bytes{path="/data"} 100',
    'clustergenie_alerts_firing{alertname="KafkaUnderReplicatedPartitions",severity="warning"} 1',
    'clustergenie_alerts{alertstate="firing",alertname="KafkaBrokerDown",severity="critical",broker="3"} 1',
    'clustergenie_monitor_collect_errors{section="groups"} 1',
    'clustergenie_monitor_leader 1',
  ]) {
    assert.ok(text.split('\n').includes(line), `missing: ${line}`);
  }
  m.update({ atMs: broken.atMs + 1000, kafka: { brokers: [1], controller: 1, partitions: [] } }, [], new Map());
  const next = await m.metrics();
  assert.ok(next.includes('kafka_brokers 1'));
  assert.ok(!next.includes('topic="orders"'), 'series of a vanished topic are gone');
  assert.ok(!next.includes('clustergenie_alerts{'), 'no alerts left');
  assert.ok(next.includes('clustergenie_monitor_leader 1'), 'the role survives updates');
});
