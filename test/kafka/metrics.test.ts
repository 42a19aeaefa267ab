// A broker's /metrics (clustergenie.metrics.listener) under the JMX exporter's Kafka names: the
// setting's parsing, then one broker driven by kafkajs, whose counters must move by exactly what
// was produced and fetched (checked against the partition files on disk, not against the broker).

import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { KafkaTestingCluster } from '../../src/cluster/kafkaTestingCluster.js';
import { Broker } from '../../src/kafka/broker/broker.js';
import { KafkaConfigError, parseServerProperties } from '../../src/kafka/config.js';
import { waitFor } from '../helpers/wait.js';
import { type Scrape, scrape } from './metricsScrape.js';

const { Kafka, logLevel } = kafkajs;
const ZK = 'zookeeper.connect=127.0.0.1:2181\n';

test('clustergenie.metrics.listener: host:port, the KAFKA_ form, and bad values named', () => {
  assert.equal(parseServerProperties(ZK, {}).metricsListener, undefined);
  const c = parseServerProperties(`${ZK}clustergenie.metrics.listener=127.0.0.1:7071\n`, {});
  assert.deepEqual(c.metricsListener, { host: '127.0.0.1', port: 7071 });
  assert.deepEqual(c.unknownKeys, [], 'the key is known to the parser');
  assert.deepEqual(parseServerProperties(`${ZK}clustergenie.metrics.listener=[::1]:0\n`, {}).metricsListener, { host: '::1', port: 0 });
  const env = parseServerProperties(ZK, { KAFKA_CLUSTERGENIE_METRICS_LISTENER: 'localhost:9404' });
  assert.deepEqual(env.metricsListener, { host: 'localhost', port: 9404 });
  for (const bad of ['7071', '127.0.0.1', ':7071', '127.0.0.1:70000', '127.0.0.1:x', 'http://127.0.0.1:7071']) {
    assert.throws(
      () => parseServerProperties(`${ZK}clustergenie.metrics.listener=${bad}\n`, {}),
      (e: unknown) =>
        e instanceof KafkaConfigError && e.message.includes('clustergenie.metrics.listener') && e.message.includes('host:port'),
      bad,
    );
  }
  assert.throws(
    () => parseServerProperties(ZK, { KAFKA_CLUSTERGENIE_METRICS_LISTENER: 'nope' }),
    /clustergenie\.metrics\.listener \(environment variable KAFKA_CLUSTERGENIE_METRICS_LISTENER\)/,
  );
});

let cluster: KafkaTestingCluster;
let broker: Broker;
let url: string;

before(async () => {
  cluster = await KafkaTestingCluster.start({ brokers: 1, brokerProps: { 'clustergenie.metrics.listener': '127.0.0.1:0' } });
  broker = cluster.get(1).broker!;
  assert.ok(broker.metricsEndpoint, 'the metrics endpoint runs');
  url = broker.metricsEndpoint.url;
});

after(async () => {
  await cluster?.close();
});

/** Bytes of a partition's segment files, straight from the disk. */
function logFileBytes(topic: string, partition: number): number {
  const dir = join(cluster.get(1).logDir, `${topic}-${partition}`);
  let n = 0;
  for (const f of readdirSync(dir)) if (f.endsWith('.log')) n += statSync(join(dir, f)).size;
  return n;
}

test('an idle broker: state, controller, partition counts and the process metrics', async () => {
  const m = await scrape(url);
  assert.equal(m.get('kafka_server_kafkaserver_brokerstate'), 3, 'RUNNING');
  assert.equal(m.get('kafka_controller_kafkacontroller_activecontrollercount'), 1);
  assert.equal(m.get('kafka_controller_kafkacontroller_offlinepartitionscount'), 0);
  assert.equal(m.get('kafka_server_replicamanager_underreplicatedpartitions'), 0);
  const idle = m.get('kafka_server_kafkarequesthandlerpool_requesthandleravgidle_percent');
  assert.ok(idle !== undefined && idle >= 0 && idle <= 1, `idle ratio ${idle}`);
  assert.ok(m.has('process_cpu_user_seconds_total'), 'process metrics');
  assert.ok(m.has('nodejs_eventloop_lag_seconds'), 'nodejs metrics');
  const other = await fetch(url.replace('/metrics', '/nope'));
  assert.equal(other.status, 404);
  await other.text();
});

test('produce and fetch with kafkajs: counters move by exactly what was produced and read', async () => {
  const topic = 'metrics-topic';
  const kafka = new Kafka({ clientId: 'metrics-test', brokers: [cluster.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId: 'metrics-group', maxWaitTimeInMs: 100 });
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
    const before = await waitFor(
      async () => {
        const m = await scrape(url);
        return m.get('kafka_server_replicamanager_partitioncount') === 3 ? m : undefined;
      },
      { what: '3 partitions hosted' },
    );
    assert.equal(before.get('kafka_server_replicamanager_leadercount'), 3);
    assert.equal(before.get('kafka_controller_kafkacontroller_globalpartitioncount'), 3);
    for (let p = 0; p < 3; p++) assert.equal(before.get('kafka_log_log_logendoffset', { topic, partition: String(p) }), 0);
    const produceBefore = before.sum('kafka_network_requestmetrics_requests_total', { request: 'Produce' });

    await producer.connect();
    let sends = 0;
    let messages = 0;
    for (let i = 0; i < 12; i++) {
      const batch = Array.from({ length: 1 + (i % 4) }, (_v, k) => ({ partition: i % 3, value: `value-${i}-${k}-${'x'.repeat(i * 7)}` }));
      await producer.send({ topic, acks: 1, messages: batch });
      sends++;
      messages += batch.length;
    }
    const m = await scrape(url);
    const diskBytes = [0, 1, 2].reduce((n, p) => n + logFileBytes(topic, p), 0);
    assert.equal(m.get('kafka_server_brokertopicmetrics_messagesin_total', { topic }), messages);
    assert.equal(m.get('kafka_server_brokertopicmetrics_bytesin_total', { topic }), diskBytes, 'bytes in = record batches on disk');
    assert.equal(m.get('kafka_server_brokertopicmetrics_totalproducerequests_total', { topic }), sends);
    assert.equal(m.num('kafka_server_brokertopicmetrics_failedproducerequests_total', { topic }), 0);
    assert.equal(m.sum('kafka_log_log_logendoffset', { topic }), messages);
    assert.equal(m.sum('kafka_log_log_size', { topic }), diskBytes);
    assert.ok(m.num('kafka_server_brokertopicmetrics_messagesin_total') >= messages, 'the all-topics series (no topic label)');
    assert.equal(m.sum('kafka_network_requestmetrics_requests_total', { request: 'Produce' }) - produceBefore, sends);
    // Produce versions kafkajs 2.2.4 speaks: v3+ (record batches).
    assert.ok(
      m.samples.some(
        (s) =>
          s.name === 'kafka_network_requestmetrics_requests_total' && s.labels['request'] === 'Produce' && Number(s.labels['version']) >= 3,
      ),
    );
    assertTimeQuantiles(m, 'Produce');
    assert.equal(
      m.get('kafka_network_requestmetrics_totaltimems_count', { request: 'Produce' }),
      m.sum('kafka_network_requestmetrics_requests_total', { request: 'Produce' }),
    );

    const seen = new Set<string>();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.add(`${partition}:${message.offset}`);
      },
    });
    await waitFor(() => seen.size === messages, { timeoutMs: 30_000, what: `${messages} messages read` });
    const r = await scrape(url);
    assert.equal(r.get('kafka_server_brokertopicmetrics_bytesout_total', { topic }), diskBytes, 'every batch sent once to the consumer');
    assert.ok(r.num('kafka_server_brokertopicmetrics_totalfetchrequests_total', { topic }) >= 3, 'one read per partition at least');
    assert.equal(r.num('kafka_server_brokertopicmetrics_failedfetchrequests_total', { topic }), 0);
    assert.ok(r.sum('kafka_network_requestmetrics_requests_total', { request: 'FetchConsumer' }) >= 1);
    assert.equal(
      r.sum('kafka_network_requestmetrics_requests_total', { request: 'FetchConsumer' }),
      r.sum('kafka_network_requestmetrics_requests_total', { request: 'Fetch' }),
      'no followers: every Fetch is a consumer fetch',
    );
    assertTimeQuantiles(r, 'FetchConsumer');
    assert.equal(r.num('kafka_server_brokertopicmetrics_replicationbytesout_total'), 0);
    // The group's offsets topic came with the consumer: 3 + 4 partitions, all led here.
    assert.equal(r.get('kafka_server_replicamanager_partitioncount'), 7);
    assert.equal(r.get('kafka_server_replicamanager_leadercount'), 7);
    assert.ok(r.has('kafka_server_brokertopicmetrics_messagesin_total'));
    assert.equal(r.get('kafka_cluster_partition_underminisr', { topic, partition: '0' }), 0);
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
});

test('a metrics port that cannot be bound fails the start, naming the key', async () => {
  const taken = broker.metricsEndpoint!.port;
  const config = parseServerProperties(
    `${ZK}broker.id=9\nlisteners=PLAINTEXT://127.0.0.1:0\nclustergenie.metrics.listener=127.0.0.1:${taken}\n`,
    {},
  );
  const other = new Broker(config);
  try {
    await assert.rejects(
      other.start(),
      (e: Error) => e.message.includes('clustergenie.metrics.listener') && e.message.includes(`${taken}`),
    );
  } finally {
    await other.stop();
  }
  assert.equal((await scrape(url)).get('kafka_server_kafkaserver_brokerstate'), 3, 'the running broker still serves its metrics');
});

function assertTimeQuantiles(m: Scrape, request: string): void {
  let last = -1;
  for (const q of ['0.50', '0.75', '0.95', '0.98', '0.99', '0.999']) {
    const v = m.get('kafka_network_requestmetrics_totaltimems', { request, quantile: q });
    assert.ok(v !== undefined && v >= 0, `${request} quantile ${q}: ${v}`);
    assert.ok(v >= last, `${request} quantiles never decrease (${q}: ${v} < ${last})`);
    last = v;
  }
}
