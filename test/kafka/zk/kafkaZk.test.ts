import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOurZooKeeper, type StartedZk } from '../../helpers/ourZk.js';
import { Inbox } from '../../helpers/wait.js';
import { ZooKeeperClient, isZooKeeperError, Err } from '../../../src/zookeeper/client/index.js';
import type { ZooKeeperServerShell } from '../../../src/zookeeper/server/server.js';
import { ControllerMovedError, KafkaZk, KafkaZkError, type ConfigChangeNotice } from '../../../src/kafka/zk/kafkaZk.js';
import { PERSISTENT_PATHS, uuidToString, type BrokerInfo } from '../../../src/kafka/zk/layout.js';

let zk: StartedZk & { shell: ZooKeeperServerShell };
let chrootN = 0;
const open: KafkaZk[] = [];

before(async () => {
  zk = await startOurZooKeeper();
});
after(async () => {
  for (const k of open) await k.close();
  await zk.stop();
});

/** A KafkaZk in a fresh chroot, so tests do not see each other's znodes. */
async function kzk(chroot: string): Promise<KafkaZk> {
  const k = await KafkaZk.connect({ connectString: `${zk.connectString}${chroot}`, sessionTimeoutMs: 10_000, now: () => 1700000000000 });
  open.push(k);
  return k;
}
async function fresh(n = 1): Promise<KafkaZk[]> {
  const chroot = `/kzk${chrootN++}`;
  const out: KafkaZk[] = [];
  for (let i = 0; i < n; i++) out.push(await kzk(chroot));
  await out[0]!.ensurePersistentPaths();
  return out;
}
const json = (b: Buffer | null): Record<string, unknown> => JSON.parse(b!.toString('utf8'));
const broker = (id: number, port = 9092): BrokerInfo => ({
  id,
  endpoints: [{ listener: 'PLAINTEXT', host: '127.0.0.1', port, securityProtocol: 'PLAINTEXT' }],
});
const TOPIC_ID = uuidToString(Buffer.alloc(16, 7));

test('persistent paths, chroot creation and the cluster id', async () => {
  const [k] = await fresh();
  for (const p of PERSISTENT_PATHS) {
    const { data, stat } = await k!.client.getData(p);
    assert.equal(data, null, p);
    assert.equal(stat.ephemeralOwner, 0n, p);
  }
  assert.equal(await k!.getOrCreateClusterId('first'), 'first');
  assert.equal(await k!.getOrCreateClusterId('second'), 'first');
  assert.deepEqual(json((await k!.client.getData('/cluster/id')).data), { version: '1', id: 'first' });
  // the chroot is real: the root client sees it
  const root = new ZooKeeperClient({ connectString: zk.connectString });
  await root.connect();
  try {
    assert.notEqual(await root.exists(`${k!.client.chrootPath}/brokers/ids`), null);
  } finally {
    await root.close();
  }
});

test('broker registration: ephemeral v5 znode, epoch = czxid, re-registered after session expiry', async () => {
  const [k] = await fresh();
  const epoch = await k!.registerBroker(broker(1));
  const { data, stat } = await k!.client.getData('/brokers/ids/1');
  assert.equal(stat.ephemeralOwner, k!.client.sessionId);
  assert.equal(stat.czxid, epoch);
  assert.equal(stat.version, 1); // created empty, then setData at version 0
  assert.deepEqual(json(data), {
    version: 5,
    host: '127.0.0.1',
    port: 9092,
    jmx_port: -1,
    timestamp: '1700000000000',
    endpoints: ['PLAINTEXT://127.0.0.1:9092'],
    listener_security_protocol_map: { PLAINTEXT: 'PLAINTEXT' },
    features: {},
  });
  // the same session registering again is accepted (the KAFKA-7165 case)
  assert.equal(await k!.registerBroker(broker(1)), epoch);
  const brokers = await k!.getBrokers();
  assert.deepEqual(
    brokers.map((b) => [b.info.id, b.epoch]),
    [[1, epoch]],
  );

  const events = new Inbox<string>();
  k!.on('expired', () => events.push('expired'));
  const reest = new Inbox<number | undefined>();
  k!.on('reestablished', reest.push);
  const oldSession = k!.client.sessionId;
  assert.equal(zk.shell.core.expireSession(oldSession), true);
  assert.equal(await events.next(), 'expired');
  const newEpoch = await reest.next();
  assert.notEqual(k!.client.sessionId, oldSession);
  assert.ok(newEpoch !== undefined && newEpoch > epoch);
  const after = await k!.client.getData('/brokers/ids/1');
  assert.equal(after.stat.ephemeralOwner, k!.client.sessionId);
  assert.equal(after.stat.czxid, newEpoch);
});

test('another session cannot take a registered broker id', async () => {
  const [a, b] = await fresh(2);
  await a!.registerBroker(broker(5));
  await assert.rejects(b!.registerBroker(broker(5)), (e) => isZooKeeperError(e, Err.NODEEXISTS));
});

test('generated broker ids come from /brokers/seqid above 1000', async () => {
  const [k] = await fresh();
  assert.equal(await k!.generateBrokerId(), 1001);
  assert.equal(await k!.generateBrokerId(), 1002);
});

test('two instances race for controller: exactly one wins with epoch + 1', async () => {
  const [a, b] = await fresh(2);
  const [ra, rb] = await Promise.all([a!.tryElectController(1), b!.tryElectController(2)]);
  const winners = [ra, rb].filter((r) => r !== null);
  assert.equal(winners.length, 1);
  assert.equal(winners[0]!.epoch, 1);
  const winnerId = ra ? 1 : 2;
  const { data, stat } = await a!.client.getData('/controller');
  assert.deepEqual(json(data), { version: 2, brokerid: winnerId, timestamp: '1700000000000', kraftControllerEpoch: -1 });
  assert.equal(stat.ephemeralOwner, (ra ? a! : b!).client.sessionId);
  const ep = await a!.client.getData('/controller_epoch');
  assert.equal(ep.data!.toString(), '1');
  assert.equal(ep.stat.version, winners[0]!.epochZkVersion);
  assert.equal(ep.stat.ephemeralOwner, 0n);
});

test('running again for a /controller this session already holds (the multi answered on a lost connection) wins the same term', async () => {
  const [a, b] = await fresh(2);
  const lease = (await a!.tryElectController(1))!;
  assert.deepEqual(await a!.tryElectController(1), lease, 'the seat and the epoch this session took');
  // The same broker id from another session (a restarted process while the old session lives) and
  // another broker do not get it.
  assert.equal(await b!.tryElectController(1), null);
  assert.equal(await b!.tryElectController(2), null);
  assert.equal((await a!.getControllerEpoch())!.epoch, 1, 'no second bump');
});

test('a deposed controller cannot write: fenced writes fail with ControllerMovedError', async () => {
  const [a, b] = await fresh(2);
  const leaseA = (await a!.tryElectController(1))!;
  await a!.createTopic('t', new Map([[0, [1]]]), {}, TOPIC_ID);
  const [created] = await a!.createPartitionStates(leaseA.epochZkVersion, [
    { topic: 't', partition: 0, state: { leader: 1, leaderEpoch: 0, isr: [1], controllerEpoch: 1, leaderRecoveryState: 0 } },
  ]);
  assert.deepEqual(created, { topic: 't', partition: 0, ok: true, zkVersion: 0 });
  // /controller goes away (as when A's session ends); B takes over with epoch 2
  const ctrlOwner = (await b!.client.getData('/controller')).stat.ephemeralOwner;
  assert.equal(ctrlOwner, a!.client.sessionId);
  await b!.client.delete('/controller');
  const leaseB = (await b!.tryElectController(2))!;
  assert.equal(leaseB.epoch, 2);
  const s = { leader: 1, leaderEpoch: 1, isr: [1], controllerEpoch: 1, leaderRecoveryState: 0 };
  await assert.rejects(a!.updatePartitionState(leaseA.epochZkVersion, 't', 0, s, 0), ControllerMovedError);
  assert.equal((await a!.getPartitionState('t', 0))!.state.leaderEpoch, 0);
  // B's write goes through, and a stale partition zkVersion is BADVERSION
  assert.equal(await b!.updatePartitionState(leaseB.epochZkVersion, 't', 0, { ...s, controllerEpoch: 2 }, 0), 1);
  await assert.rejects(b!.updatePartitionState(leaseB.epochZkVersion, 't', 0, s, 0), (e) => isZooKeeperError(e, Err.BADVERSION));
});

test('createTopic writes the config first, then the v3 topic znode; duplicates are TOPIC_ALREADY_EXISTS', async () => {
  const [k] = await fresh();
  const assignment = new Map([
    [0, [1, 2]],
    [1, [2, 1]],
  ]);
  await k!.createTopic('orders', assignment, { 'retention.ms': '1000' }, TOPIC_ID);
  assert.deepEqual(json((await k!.client.getData('/config/topics/orders')).data), { version: 1, config: { 'retention.ms': '1000' } });
  const { data, stat } = await k!.client.getData('/brokers/topics/orders');
  assert.deepEqual(json(data), {
    version: 3,
    partitions: { '0': [1, 2], '1': [2, 1] },
    adding_replicas: {},
    removing_replicas: {},
    topic_id: TOPIC_ID,
  });
  assert.equal(stat.ephemeralOwner, 0n);
  await assert.rejects(k!.createTopic('orders', assignment, {}, TOPIC_ID), (e) => e instanceof KafkaZkError && e.errorCode === 36);
  await assert.rejects(k!.createTopic('bad', new Map([[1, [1]]]), {}, TOPIC_ID), (e) => e instanceof KafkaZkError && e.errorCode === 39);
  assert.deepEqual(await k!.getAllTopics(), ['orders']);

  const full = await k!.addPartitions('orders', new Map([[2, [1, 2]]]));
  assert.deepEqual([...full.keys()], [0, 1, 2]);
  const a = (await k!.getTopicAssignment('orders'))!;
  assert.deepEqual(a.partitions.get(2), [1, 2]);
  assert.equal(a.topicId, TOPIC_ID);

  assert.equal(await k!.markTopicForDeletion('orders'), true);
  assert.equal(await k!.markTopicForDeletion('orders'), false);
  const marker = await k!.client.getData('/admin/delete_topics/orders');
  assert.equal(marker.data, null);
  await assert.rejects(k!.markTopicForDeletion('nope'), (e) => e instanceof KafkaZkError && e.errorCode === 3);
});

test('producer id blocks are unique across two claimants', async () => {
  const [a, b] = await fresh(2);
  const claims = await Promise.all([
    ...Array.from({ length: 8 }, () => a!.claimProducerIdBlock(1)),
    ...Array.from({ length: 8 }, () => b!.claimProducerIdBlock(2)),
  ]);
  const starts = claims.map((c) => c.start).sort((x, y) => x - y);
  assert.deepEqual(
    starts,
    Array.from({ length: 16 }, (_, i) => i * 1000),
  );
  for (const c of claims) assert.equal(c.end, c.start + 999);
  const last = json((await a!.client.getData('/latest_producer_id_block')).data);
  assert.deepEqual(Object.keys(last).sort(), ['block_end', 'block_start', 'broker', 'version']);
  assert.equal(last['block_end'], '15999');
});

test('entity config changes reach a watcher through sequential notifications', async () => {
  const [admin, watcherSide] = await fresh(2);
  const inbox = new Inbox<ConfigChangeNotice[]>();
  const h = watcherSide!.watchConfigChanges(inbox.push);
  try {
    await admin!.setEntityConfig('topics', 'orders', { 'cleanup.policy': 'compact' });
    let got = await inbox.next();
    // first delivery may be the (empty-filtered) initial read; wait for the notice
    while (got.length === 0) got = await inbox.next();
    assert.equal(got.length, 1);
    assert.equal(got[0]!.entityType, 'topics');
    assert.equal(got[0]!.entityName, 'orders');
    const children = await admin!.client.getChildren('/config/changes');
    assert.equal(children.length, 1);
    assert.match(children[0]!, /^config_change_\d{10}$/);
    assert.deepEqual(json((await admin!.client.getData(`/config/changes/${children[0]}`)).data), {
      version: 2,
      entity_path: 'topics/orders',
    });
    assert.deepEqual(await watcherSide!.getEntityConfig('topics', 'orders'), { 'cleanup.policy': 'compact' });
    await admin!.setEntityConfig('brokers', '<default>', { 'log.retention.ms': '5' });
    const second = await inbox.next();
    assert.deepEqual(
      second.map((c) => [c.entityType, c.entityName]),
      [['brokers', '<default>']],
    );
  } finally {
    h.close();
  }
});

test('children and data watches re-arm themselves', async () => {
  const [k, other] = await fresh(2);
  const kids = new Inbox<string[] | null>();
  const data = new Inbox<string | null>();
  const h1 = k!.watchChildren('/brokers/ids', kids.push);
  const h2 = k!.watchData('/controller', (d) => data.push(d === null ? null : d.toString()));
  try {
    assert.deepEqual(await kids.next(), []);
    assert.equal(await data.next(), null);
    await other!.registerBroker(broker(1));
    assert.deepEqual(await kids.next(), ['1']);
    await other!.registerBroker(broker(2, 9093));
    assert.deepEqual(await kids.next(), ['1', '2']);
    await other!.tryElectController(2);
    assert.match((await data.next())!, /"brokerid":2/);
    await other!.client.delete('/controller');
    assert.equal(await data.next(), null);
  } finally {
    h1.close();
    h2.close();
  }
});
