// Three brokers with /metrics: exactly one reports the active controller; an RF 3 partition is
// under-replicated on its leader while a follower is down and whole again once it returns (the
// leader's own ISR expansion counted); replication bytes show on the followers only.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { KafkaTestingCluster } from '../../src/cluster/kafkaTestingCluster.js';
import type { Broker } from '../../src/kafka/broker/broker.js';
import { waitFor } from '../helpers/wait.js';
import { scrape } from './metricsScrape.js';

const { Kafka, logLevel } = kafkajs;

let cluster: KafkaTestingCluster;

before(async () => {
  cluster = await KafkaTestingCluster.start({
    brokers: 3,
    brokerProps: { 'clustergenie.metrics.listener': '127.0.0.1:0', 'replica.fetch.wait.max.ms': '100', 'replica.fetch.backoff.ms': '100' },
  });
});

after(async () => {
  await cluster?.close();
});

function running(id: number): Broker {
  const b = cluster.get(id).broker;
  assert.ok(b, `broker ${id} runs`);
  return b;
}

const urlOf = (id: number): string => running(id).metricsEndpoint!.url;

test('one active controller; under-replicated while a follower is down, whole again after', async () => {
  const topic = 'metrics-rf3';
  const controllers = await waitFor(
    async () => {
      const counts = await Promise.all(
        [1, 2, 3].map(async (id) => (await scrape(urlOf(id))).get('kafka_controller_kafkacontroller_activecontrollercount')),
      );
      return counts.every((c) => c === 0 || c === 1) ? counts : undefined;
    },
    { what: 'every broker reports activecontrollercount' },
  );
  assert.equal(controllers.filter((c) => c === 1).length, 1, `exactly one active controller: ${controllers.join(',')}`);
  const controllerId = controllers.indexOf(1) + 1;
  assert.equal(running(controllerId).controller.isActive, true);

  const kafka = new Kafka({ clientId: 'metrics-cluster', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  try {
    await admin.connect();
    // Broker 1 is the preferred (first) replica, so it leads.
    await admin.createTopics({ topics: [{ topic, replicaAssignment: [{ partition: 0, replicas: [1, 2, 3] }] }], waitForLeaders: true });
    const leader = 1;
    const follower = [2, 3].find((id) => id !== controllerId)!;
    const labels = { topic, partition: '0' };
    await waitFor(
      async () => {
        const m = await scrape(urlOf(leader));
        return (
          m.get('kafka_cluster_partition_insyncreplicascount', labels) === 3 &&
          m.get('kafka_server_replicamanager_underreplicatedpartitions') === 0
        );
      },
      { timeoutMs: 20_000, what: 'a full ISR on the leader' },
    );
    const onController = await scrape(urlOf(controllerId));
    assert.equal(onController.get('kafka_controller_kafkacontroller_globaltopiccount'), 1);
    assert.equal(onController.get('kafka_controller_kafkacontroller_preferredreplicaimbalancecount'), 0);

    await producer.connect();
    const messages = 5;
    await producer.send({ topic, acks: -1, messages: Array.from({ length: messages }, (_v, i) => ({ partition: 0, value: `m${i}` })) });
    const onLeader = await scrape(urlOf(leader));
    assert.equal(onLeader.get('kafka_server_brokertopicmetrics_messagesin_total', { topic }), messages);
    assert.equal(onLeader.get('kafka_server_replicamanager_leadercount'), 1);
    for (const id of [2, 3]) {
      const m = await waitFor(
        async () => {
          const s = await scrape(urlOf(id));
          return s.get('kafka_log_log_logendoffset', labels) === messages ? s : undefined;
        },
        { what: `broker ${id} replicated the messages` },
      );
      assert.equal(m.num('kafka_server_brokertopicmetrics_messagesin_total', { topic }), 0, 'a follower counts no produced messages');
      assert.ok(m.num('kafka_server_brokertopicmetrics_replicationbytesin_total') > 0, 'replication bytes in');
      assert.equal(m.get('kafka_server_replicamanager_partitioncount'), 1);
      assert.equal(m.get('kafka_server_replicamanager_leadercount'), 0);
      assert.equal(m.get('kafka_cluster_partition_underreplicated', labels), 0, 'only the leader reports the partition');
    }
    assert.ok((await scrape(urlOf(leader))).num('kafka_server_brokertopicmetrics_replicationbytesout_total') > 0);
    const electionsBefore = (await scrape(urlOf(controllerId))).num('kafka_controller_controllerstats_leaderelectionrateandtimems_count');
    const expandsBefore = (await scrape(urlOf(leader))).num('kafka_server_replicamanager_isrexpands_total');

    const stoppedUrl = urlOf(follower);
    await cluster.stopBroker(follower);
    await assert.rejects(fetch(stoppedUrl), 'a stopped broker closes its metrics endpoint');
    await waitFor(
      async () => {
        const m = await scrape(urlOf(leader));
        return (
          m.get('kafka_server_replicamanager_underreplicatedpartitions') === 1 &&
          m.get('kafka_cluster_partition_underreplicated', labels) === 1
        );
      },
      { timeoutMs: 20_000, what: 'the leader reports the partition under-replicated' },
    );
    await waitFor(
      async () =>
        (await scrape(urlOf(controllerId))).num('kafka_controller_controllerstats_leaderelectionrateandtimems_count') > electionsBefore,
      { what: 'the controller timed the broker change' },
    );
    assert.equal(
      (await scrape(urlOf(controllerId))).get('kafka_controller_kafkacontroller_offlinepartitionscount'),
      0,
      'the leader still runs',
    );

    await cluster.startBroker(follower);
    await waitFor(
      async () => {
        const m = await scrape(urlOf(leader));
        return (
          m.get('kafka_server_replicamanager_underreplicatedpartitions') === 0 &&
          m.get('kafka_cluster_partition_insyncreplicascount', labels) === 3
        );
      },
      { timeoutMs: 30_000, what: 'the returned follower back in the ISR' },
    );
    assert.ok(
      (await scrape(urlOf(leader))).num('kafka_server_replicamanager_isrexpands_total') > expandsBefore,
      'the leader counted its ISR expansion',
    );
    const controllerCounts = await Promise.all(
      [1, 2, 3].map(async (id) => (await scrape(urlOf(id))).get('kafka_controller_kafkacontroller_activecontrollercount')),
    );
    assert.equal(controllerCounts.filter((c) => c === 1).length, 1, `still exactly one active controller: ${controllerCounts.join(',')}`);
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
});
