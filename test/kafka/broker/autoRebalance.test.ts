// auto.leader.rebalance.enable: the controller's timer gives leadership back to the preferred
// replica once it is in the ISR again, with no request from anyone.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { KafkaTestingCluster } from '../../../src/cluster/kafkaTestingCluster.js';
import type { Broker } from '../../../src/kafka/broker/broker.js';
import { BrokerClient } from '../../../src/kafka/net/brokerClient.js';
import { KafkaZk } from '../../../src/kafka/zk/kafkaZk.js';
import { waitFor } from '../../helpers/wait.js';

let cluster: KafkaTestingCluster;
let zk: KafkaZk;

before(async () => {
  cluster = await KafkaTestingCluster.start({
    brokers: 2,
    brokerProps: { 'leader.imbalance.check.interval.seconds': '1', 'controlled.shutdown.retry.backoff.ms': '200' },
  });
  zk = await KafkaZk.connect({ connectString: cluster.zkConnect });
});
after(async () => {
  await zk?.close();
  await cluster?.close();
});

const controllerBroker = (): Broker | undefined =>
  cluster.brokers.flatMap((b) => (b.broker ? [b.broker] : [])).find((b) => b.controller.isActive);

test('the auto rebalance moves leadership back to a returning preferred replica that is in the ISR', async () => {
  const b1 = cluster.get(1).broker!;
  const r = await b1.admin.create(
    { name: 'rebalanced', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [2, 1] }], configs: {} },
    false,
    10_000,
  );
  assert.equal(r.errorCode, 0);
  await waitFor(async () => (await zk.getPartitionState('rebalanced', 0))?.state.leader === 2, { what: 'broker 2 leads' });

  // broker 2 goes (controlled shutdown moves leadership to 1) and comes back as a follower
  await cluster.stopBroker(2);
  assert.equal((await zk.getPartitionState('rebalanced', 0))!.state.leader, 1);
  const b2 = await cluster.startBroker(2);
  await waitFor(() => b2.replicas.get('rebalanced', 0), { what: 'broker 2 hosts its replica again' });

  // broker 2 rejoins the ISR (sent on the leader's behalf: this test is not about replication)
  const controller = await waitFor(() => controllerBroker(), { what: 'a controller' });
  const c = await BrokerClient.connect({ host: '127.0.0.1', port: cluster.get(controller.brokerId).port, clientId: 'rebalance-test' });
  try {
    await waitFor(
      async () => {
        const s = (await zk.getPartitionState('rebalanced', 0))!;
        if (s.state.isr.includes(2)) return true;
        await c.request(56, 3, {
          brokerId: 1,
          brokerEpoch: cluster.get(1).broker!.brokerEpoch,
          topics: [
            {
              topicId: controller.metadata.topics.get('rebalanced')!.topicId,
              partitions: [
                {
                  partitionIndex: 0,
                  leaderEpoch: s.state.leaderEpoch,
                  newIsrWithEpochs: [...s.state.isr, 2].map((id) => ({ brokerId: id, brokerEpoch: cluster.get(id).broker!.brokerEpoch })),
                  leaderRecoveryState: 0,
                  partitionEpoch: s.zkVersion,
                },
              ],
            },
          ],
        });
        return false;
      },
      { what: 'broker 2 back in the ISR' },
    );
  } finally {
    c.close();
  }
  // nobody asks: the controller's imbalance check (every second here) elects the preferred replica
  await waitFor(async () => (await zk.getPartitionState('rebalanced', 0))!.state.leader === 2, { what: 'leadership back on broker 2' });
  await waitFor(() => b2.replicas.get('rebalanced', 0)?.isLeader, { what: 'broker 2 to act as leader' });
});
