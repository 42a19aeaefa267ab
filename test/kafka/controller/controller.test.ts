import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOurZooKeeper, type StartedZk } from '../../helpers/ourZk.js';
import { Inbox, nextEvent, waitFor } from '../../helpers/wait.js';
import type { ZooKeeperServerShell } from '../../../src/zookeeper/server/server.js';
import { KafkaZk } from '../../../src/kafka/zk/kafkaZk.js';
import { uuidToString, type BrokerInfo } from '../../../src/kafka/zk/layout.js';
import { Controller, type LeaderAndIsrState } from '../../../src/kafka/controller/controller.js';

let zk: StartedZk & { shell: ZooKeeperServerShell };
let chrootN = 0;
const cleanups: (() => Promise<void>)[] = [];

before(async () => {
  zk = await startOurZooKeeper();
});
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await zk.stop();
});

const TOPIC_ID = uuidToString(Buffer.alloc(16, 9));
const broker = (id: number): BrokerInfo => ({
  id,
  endpoints: [{ listener: 'PLAINTEXT', host: '127.0.0.1', port: 9090 + id, securityProtocol: 'PLAINTEXT' }],
});
const json = (b: Buffer | null): Record<string, unknown> => JSON.parse(b!.toString('utf8'));

interface Rig {
  admin: KafkaZk;
  brokers: Map<number, KafkaZk>;
  connect(): Promise<KafkaZk>;
}

/** Brokers 1..n registered in a fresh chroot, plus an admin connection. */
async function rig(n: number): Promise<Rig> {
  const chroot = `/ctl${chrootN++}`;
  const connect = async (): Promise<KafkaZk> => {
    const k = await KafkaZk.connect({ connectString: `${zk.connectString}${chroot}`, sessionTimeoutMs: 10_000 });
    cleanups.push(() => k.close());
    return k;
  };
  const admin = await connect();
  await admin.ensurePersistentPaths();
  const brokers = new Map<number, KafkaZk>();
  for (let id = 1; id <= n; id++) {
    const k = await connect();
    await k.registerBroker(broker(id));
    brokers.set(id, k);
  }
  return { admin, brokers, connect };
}

type LiEvent = { topic: string; topicId: string | undefined; partition: number; state: LeaderAndIsrState };

function startController(k: KafkaZk, brokerId: number, opts: { deleteTopicEnable?: boolean } = {}) {
  const c = new Controller(k, { brokerId, ...opts });
  cleanups.push(() => c.stop());
  const li = new Inbox<LiEvent>();
  c.onLeaderAndIsr((topic, topicId, partition, state) => li.push({ topic, topicId, partition, state }));
  return { c, li };
}

/** Next LeaderAndIsr notice for topic/partition that satisfies `pred`. */
async function nextState(
  li: Inbox<LiEvent>,
  topic: string,
  partition: number,
  pred: (s: LeaderAndIsrState) => boolean,
): Promise<LeaderAndIsrState> {
  for (;;) {
    const e = await li.next(10_000, `${topic}-${partition} state`);
    if (e.topic === topic && e.partition === partition && pred(e.state)) return e.state;
  }
}

test('controller writes partition states for a new topic, moves leadership on broker loss, adds partitions', async () => {
  const r = await rig(3);
  const { c, li } = startController(r.brokers.get(1)!, 1);
  const elected = nextEvent<[{ epoch: number }]>(c, 'elected');
  c.start();
  const [lease] = await elected;
  assert.equal(lease.epoch, 1);
  assert.equal(c.isActive, true);

  await r.admin.createTopic(
    'orders',
    new Map([
      [0, [2, 3, 1]],
      [1, [3, 1, 2]],
    ]),
    {},
    TOPIC_ID,
  );
  const s0 = await nextState(li, 'orders', 0, () => true);
  const s1 = await nextState(li, 'orders', 1, () => true);
  assert.deepEqual(
    { leader: s0.leader, isr: s0.isr, leaderEpoch: s0.leaderEpoch, replicas: s0.replicas },
    { leader: 2, isr: [2, 3, 1], leaderEpoch: 0, replicas: [2, 3, 1] },
  );
  assert.equal(s1.leader, 3);
  const { data, stat } = await r.admin.client.getData('/brokers/topics/orders/partitions/0/state');
  assert.deepEqual(json(data), { version: 1, leader: 2, leader_epoch: 0, controller_epoch: 1, isr: [2, 3, 1] });
  assert.equal(stat.ephemeralOwner, 0n);
  assert.equal(s0.zkVersion, stat.version);

  // broker 2 dies: partition 0 moves to 3 (next live replica in the ISR), broker 2 leaves both ISRs
  await r.brokers.get(2)!.close();
  const moved = await nextState(li, 'orders', 0, (s) => s.leader !== 2);
  assert.deepEqual({ leader: moved.leader, isr: moved.isr, leaderEpoch: moved.leaderEpoch }, { leader: 3, isr: [3, 1], leaderEpoch: 1 });
  const p1 = await nextState(li, 'orders', 1, (s) => !s.isr.includes(2));
  assert.deepEqual({ leader: p1.leader, isr: p1.isr, leaderEpoch: p1.leaderEpoch }, { leader: 3, isr: [3, 1], leaderEpoch: 1 });
  const after = (await r.admin.getPartitionState('orders', 0))!;
  assert.deepEqual(after.state, { leader: 3, leaderEpoch: 1, isr: [3, 1], controllerEpoch: 1, leaderRecoveryState: 0 });
  assert.equal(after.zkVersion, 1);

  // a new partition gets leader = first live replica, ISR = live replicas
  await r.admin.addPartitions('orders', new Map([[2, [2, 1, 3]]]));
  const s2 = await nextState(li, 'orders', 2, () => true);
  assert.deepEqual({ leader: s2.leader, isr: s2.isr, leaderEpoch: s2.leaderEpoch }, { leader: 1, isr: [1, 3], leaderEpoch: 0 });
});

test('topic deletion stops replicas, then removes the topic, its config and the marker', async () => {
  const r = await rig(2);
  const { c, li } = startController(r.brokers.get(1)!, 1);
  const stops: { topic: string; partition: number; del: boolean; replicas: number[]; topicStillThere: boolean }[] = [];
  c.onStopReplica(async (topic, partition, del, replicas) => {
    stops.push({ topic, partition, del, replicas, topicStillThere: await r.admin.topicExists(topic) });
  });
  c.start();
  await r.admin.createTopic(
    'gone',
    new Map([
      [0, [1, 2]],
      [1, [2, 1]],
    ]),
    { 'retention.ms': '5' },
    TOPIC_ID,
  );
  await nextState(li, 'gone', 1, () => true);
  assert.equal(await r.admin.markTopicForDeletion('gone'), true);
  await waitFor(async () => !(await r.admin.topicExists('gone')) && (await r.admin.getTopicsMarkedForDeletion()).length === 0, {
    what: 'topic deletion',
  });
  assert.equal(await r.admin.client.exists('/config/topics/gone'), null);
  assert.deepEqual(
    stops.map((s) => [s.topic, s.partition, s.del, s.replicas, s.topicStillThere]),
    [
      ['gone', 0, true, [1, 2], true],
      ['gone', 1, true, [2, 1], true],
    ],
  );
  // the name can be used again
  await r.admin.createTopic('gone', new Map([[0, [2]]]), {}, TOPIC_ID);
  const again = await nextState(li, 'gone', 0, () => true);
  assert.equal(again.leader, 2);
});

test('with delete.topic.enable=false the controller only removes the marker', async () => {
  const r = await rig(1);
  const { c, li } = startController(r.brokers.get(1)!, 1, { deleteTopicEnable: false });
  c.start();
  await r.admin.createTopic('kept', new Map([[0, [1]]]), {}, TOPIC_ID);
  await nextState(li, 'kept', 0, () => true);
  await r.admin.markTopicForDeletion('kept');
  await waitFor(async () => (await r.admin.getTopicsMarkedForDeletion()).length === 0, { what: 'marker removal' });
  assert.equal(await r.admin.topicExists('kept'), true);
});

test('failover: the standby takes over with epoch + 1 and keeps the partition states', async () => {
  const r = await rig(2);
  const a = startController(r.brokers.get(1)!, 1);
  const b = startController(r.brokers.get(2)!, 2);
  const first = new Inbox<number>();
  a.c.on('elected', () => first.push(1));
  b.c.on('elected', () => first.push(2));
  a.c.start();
  b.c.start();
  const winner = await first.next();
  const w = winner === 1 ? a : b;
  const standby = winner === 1 ? b : a;
  assert.equal(w.c.epoch, 1);
  await r.admin.createTopic('t', new Map([[0, [1, 2]]]), {}, TOPIC_ID);
  await nextState(w.li, 't', 0, () => true);

  // the controller's broker session expires: it resigns; the other one is elected with epoch 2
  const resigned = nextEvent(w.c, 'resigned');
  const elected = nextEvent(standby.c, 'elected');
  assert.equal(zk.shell.core.expireSession(r.brokers.get(winner)!.client.sessionId), true);
  await resigned;
  await elected;
  assert.equal(w.c.isActive, false);
  assert.equal(standby.c.epoch, 2);
  assert.equal((await r.admin.getControllerEpoch())!.epoch, 2);
  assert.equal(await r.admin.getControllerId(), winner === 1 ? 2 : 1);
  // the new controller read the existing state (and re-announced it)
  const s = standby.c.partitionState('t', 0)!;
  assert.deepEqual(s.replicas, [1, 2]);
});

test('a controller that finds /controller_epoch moved resigns and stops writing', async () => {
  const r = await rig(1);
  const { c, li } = startController(r.brokers.get(1)!, 1);
  const elected = nextEvent(c, 'elected');
  c.start();
  await elected;
  // someone else bumps the epoch (as a newer controller would)
  const cur = (await r.admin.getControllerEpoch())!;
  await r.admin.client.setData('/controller_epoch', String(cur.epoch + 1), cur.epochZkVersion);
  const resigned = nextEvent(c, 'resigned');
  await r.admin.createTopic('late', new Map([[0, [1]]]), {}, TOPIC_ID);
  await resigned;
  assert.equal(c.isActive, false);
  assert.equal(
    li.all.some((e) => e.topic === 'late'),
    false,
  );
  assert.equal(await r.admin.getPartitionState('late', 0), null);
});
