// toController (genie/kafka.ts) with the real @platformatic/kafka 1.35 admin after the controller
// moves. That client keeps the controller id of its first Metadata answer in its cache for good
// (a forced refresh updates only brokers and topics) and sends every NOT_CONTROLLER retry to that
// broker: the flake where the dashboard's "create a topic" kept getting NOT_CONTROLLER for 20 s
// after a broker kill and restart. Here the controller broker is restarted (so it is alive and
// answers NOT_CONTROLLER), every broker's own Metadata answer is checked to name the new
// /controller holder, and CreateTopics/DeleteTopics through toController must then succeed.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { KafkaTestingCluster } from '../../src/cluster/kafkaTestingCluster.js';
import { toController } from '../../src/genie/kafka.js';
import { decodeController, Paths } from '../../src/kafka/zk/layout.js';
import { metadataControllerId } from '../helpers/clusterClients.js';
import { waitFor } from '../helpers/wait.js';

/** Well under toController's own 20 s: the client must find the controller, not outwait a flake. */
const requestDeadlineMs = 10_000;

let cluster: KafkaTestingCluster;

before(async () => {
  cluster = await KafkaTestingCluster.start({ brokers: 3 });
});

after(async () => {
  await cluster?.close();
});

/** The broker id in /controller (undefined while vacant). */
async function controllerHolder(): Promise<number | undefined> {
  const live = cluster.brokers.find((b) => b.broker)?.broker;
  if (!live) throw new Error('no broker is running');
  const data = await live.zkClient
    .getData(Paths.controller)
    .then((r) => r.data)
    .catch(() => null);
  return data ? decodeController(data).brokerId : undefined;
}

test('after the controller broker restarts, CreateTopics and DeleteTopics reach the new controller', async () => {
  const admin = new Admin({
    clientId: 'to-controller-moved',
    bootstrapBrokers: cluster.bootstrap.split(','),
    retries: 2,
    retryDelay: 200,
  });
  try {
    const first = await controllerHolder();
    assert.ok(first !== undefined, 'a controller is elected');
    assert.equal((await admin.metadata({ topics: [] })).controllerId, first, "the client's first Metadata names the controller");

    // A clean stop resigns (deletes /controller) and another broker takes the seat before the
    // restarted one runs for it again.
    await cluster.restartBroker(first);
    const next = await waitFor(
      async () => {
        const holder = await controllerHolder();
        if (holder === undefined || holder === first) return undefined;
        const answers = await Promise.all(cluster.brokers.map((b) => metadataControllerId('127.0.0.1', b.port)));
        return answers.every((id) => id === holder) ? holder : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: `every broker's Metadata to name the new /controller holder (was ${first})` },
    );
    assert.ok(cluster.get(next).broker?.controller.isActive, `broker ${next} holds /controller and is the active controller`);
    assert.equal(cluster.get(first).broker?.controller.isActive, false, `the restarted broker ${first} is not the controller`);

    const created = await toController(
      admin,
      () => admin.createTopics({ topics: ['moved-controller'], partitions: 2, replicas: 3 }),
      requestDeadlineMs,
    );
    assert.deepEqual(
      created.map((t) => [t.name, t.partitions, t.replicas]),
      [['moved-controller', 2, 3]],
    );
    await toController(admin, () => admin.deleteTopics({ topics: ['moved-controller'] }), requestDeadlineMs);
    await waitFor(async () => !(await admin.listTopics()).includes('moved-controller'), {
      timeoutMs: 30_000,
      what: 'moved-controller deleted',
    });
  } finally {
    await admin.close();
  }
});
