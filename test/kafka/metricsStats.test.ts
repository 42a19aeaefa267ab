// The plain counters behind the broker's metrics: the latency ring's quantiles (Yammer's snapshot
// rule), its bound, and how a Fetch is split between consumers and followers.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BrokerTopicStats,
  countProduceAppend,
  LatencyReservoir,
  RequestStats,
  snapshotValue,
  topicStatsMax,
} from '../../src/kafka/broker/metricsStats.js';
import { ErrorCode } from '../../src/kafka/protocol/errors.js';

test("quantiles follow Yammer's snapshot: interpolation at q * (n + 1), clamped to the ends", () => {
  const sorted = Float64Array.from([10, 20, 30, 40]);
  assert.equal(snapshotValue(sorted, 0.5), 25); // pos 2.5: between the 2nd and 3rd values
  assert.equal(snapshotValue(sorted, 0.1), 10); // pos 0.5: below the first
  assert.equal(snapshotValue(sorted, 0.99), 40); // pos 4.95: past the last
  assert.equal(snapshotValue(new Float64Array(0), 0.5), 0);
  const r = new LatencyReservoir(4);
  assert.deepEqual(r.quantiles([0.5, 0.99]), [0, 0], 'empty: zeros, as an unused Yammer histogram reports');
  for (const v of [40, 10, 30, 20]) r.record(v);
  assert.deepEqual(r.quantiles([0.5]), [25]);
});

test('the reservoir keeps only the newest samples but counts them all', () => {
  const r = new LatencyReservoir(3);
  for (let i = 1; i <= 10; i++) r.record(i * 100);
  assert.equal(r.count, 10);
  assert.deepEqual(r.quantiles([0, 0.999]), [800, 1000], 'samples 800, 900, 1000 remain');
  assert.throws(() => new LatencyReservoir(0), /size must be >= 1/);
});

test('topic counters are bounded: past topicStatsMax a topic counts in the all-topics series only', () => {
  const s = new BrokerTopicStats();
  for (let i = 0; i < topicStatsMax; i++) s.topic(`t${i}`);
  const extra = s.topic('one-too-many');
  extra.messagesIn += 5;
  assert.equal(s.byTopic.size, topicStatsMax);
  assert.equal(s.byTopic.has('one-too-many'), false);
  assert.equal(s.topic('t0'), s.topic('t0'), 'one instance per topic');
  s.removeTopic('t0');
  assert.equal(s.byTopic.has('t0'), false);
});

test('a Fetch counts as Fetch and as FetchConsumer or FetchFollower; only consumer bytes are bytes out', () => {
  const topics = new BrokerTopicStats();
  topics.topic('a');
  const stats = new RequestStats(topics);
  const res = (n: number) => ({
    responses: [
      { topic: 'a', partitions: [{ records: [Buffer.alloc(n), Buffer.alloc(1)] }, { records: Buffer.alloc(0) }, { records: null }] },
    ],
  });
  stats.completed(1, 'Fetch', 13, { replicaId: -1 }, res(9), 2);
  stats.completed(1, 'Fetch', 15, { replicaState: { replicaId: 2 } }, res(99), 3);
  stats.completed(1, 'Fetch', 11, { replicaId: 3 }, res(49), 4);
  stats.completed(0, 'Produce', 9, {}, null, 1);
  const byName = new Map(stats.types().map((t) => [t.name, t]));
  assert.deepEqual([...byName.keys()].sort(), ['Fetch', 'FetchConsumer', 'FetchFollower', 'Produce']);
  assert.equal(byName.get('Fetch')!.totalTimeMs.count, 3);
  assert.equal(byName.get('FetchConsumer')!.byVersion[13], 1);
  assert.equal(byName.get('FetchFollower')!.totalTimeMs.count, 2);
  assert.equal(topics.all.bytesOut, 10);
  assert.equal(topics.byTopic.get('a')!.bytesOut, 10);
  assert.equal(topics.replicationBytesOut, 150);
});

test("failed produce appends: Kafka's unexpected errors count, routing and size errors do not", () => {
  const s = new BrokerTopicStats();
  const t = s.topic('t');
  countProduceAppend(s.all, t, ErrorCode.NONE, 120, 3);
  countProduceAppend(s.all, t, ErrorCode.NOT_LEADER_OR_FOLLOWER, 50, 0);
  countProduceAppend(s.all, t, ErrorCode.MESSAGE_TOO_LARGE, 50, 0);
  countProduceAppend(s.all, t, ErrorCode.NOT_ENOUGH_REPLICAS, 50, 0);
  countProduceAppend(s.all, t, ErrorCode.INVALID_TIMESTAMP, 50, 0);
  assert.deepEqual([t.bytesIn, t.messagesIn, t.failedProduceRequests], [120, 3, 2]);
  assert.deepEqual([s.all.bytesIn, s.all.messagesIn, s.all.failedProduceRequests], [120, 3, 2]);
});
