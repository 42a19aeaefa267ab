// The seed's scenario end to end, with real clients on real processes: three ZooKeeper members and
// three brokers, each its own process. kafkajs creates `eventos-paralelos` (3 partitions, RF 3);
// zkCli.sh reads the leaders (one per broker) and ISR [1,2,3]. Broker 2 is killed with SIGKILL
// while a kafkajs producer (acks=all, idempotent) and a kcat balanced consumer group run: its
// session expires, the controller moves its leaderships and drops it from every ISR, and both
// clients carry on. Broker 2 comes back, catches up and rejoins every ISR. A retention change made
// through AlterConfigs, then one written with zkCli.sh as the ZooKeeper-based kafka-configs tool
// did (/config/topics + a change notification), reaches every broker. Finally a fresh consumer
// reads every acknowledged message exactly once, in order.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { ProcessCluster } from '../../../src/cluster/processCluster.js';
import { BrokerClient } from '../../../src/kafka/net/brokerClient.js';
import { checkHistory, historyHolds } from '../../helpers/ackedHistory.js';
import { killOnExit } from '../../helpers/children.js';
import { type AckedProducer, readEverything, startAckedProducer, waitForControllerKnown } from '../../helpers/clusterClients.js';
import { waitFor } from '../../helpers/wait.js';
import { zkCliScript } from '../../interop/helpers/zkcli.js';

const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;

const topic = 'eventos-paralelos';
const sessionTimeoutMs = 6000;
let dir: string;
let cluster: ProcessCluster;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cg-seed-'));
  cluster = await ProcessCluster.start({
    dir,
    zookeepers: 3,
    brokers: 3,
    tickTimeMs: 500,
    initLimit: 10,
    syncLimit: 5,
    brokerConfig: () => ({
      'zookeeper.session.timeout.ms': String(sessionTimeoutMs),
      'group.initial.rebalance.delay.ms': '0',
      'offsets.topic.replication.factor': '3',
      'default.replication.factor': '3',
      'min.insync.replicas': '2',
      'replica.lag.time.max.ms': '10000',
    }),
  });
  // Serving brokers may not have heard from the controller yet; kafkajs' admin fails fast on -1.
  await waitForControllerKnown(cluster);
});

after(async () => {
  await cluster?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface StateJson {
  leader: number;
  leader_epoch: number;
  isr: number[];
}

/** Each partition's state znode, read with our client (cheap enough to poll). */
async function states(): Promise<StateJson[]> {
  const zk = await cluster.zkClient();
  return Promise.all(
    [0, 1, 2].map(
      async (p) => JSON.parse((await zk.getData(`/brokers/topics/${topic}/partitions/${p}/state`)).data?.toString() ?? 'null') as StateJson,
    ),
  );
}

/** Each partition's state znode as zkCli.sh prints it. */
async function statesByZkCli(): Promise<StateJson[]> {
  const t = await zkCliScript(
    `${cluster.zookeeper(1).host}:${cluster.zookeeper(1).port}`,
    [0, 1, 2].map((p) => `get /brokers/topics/${topic}/partitions/${p}/state`),
  );
  return t.outputs.map((lines, p) => {
    const json = lines.find((l) => l.startsWith('{'));
    assert.ok(json, `zkCli printed no state for partition ${p}: ${t.raw}`);
    return JSON.parse(json) as StateJson;
  });
}

/** The value of a topic config as one broker itself reports it (DescribeConfigs sent to it alone). */
async function topicConfigAt(brokerIndex: number, key: string): Promise<string | null | undefined> {
  const b = cluster.broker(brokerIndex);
  const c = await BrokerClient.connect({ host: b.host, port: b.port, clientId: 'seed-test', requestTimeoutMs: 10_000 });
  try {
    const res = await c.request(32, 1, {
      resources: [{ resourceType: 2, resourceName: topic, configurationKeys: [key] }],
      includeSynonyms: false,
    });
    const r = (res.results as { errorCode: number; configs: { name: string; value: string | null }[] }[])[0];
    if (r?.errorCode !== 0) return undefined;
    return r.configs.find((e) => e.name === key)?.value;
  } finally {
    c.close();
  }
}

test('the seed scenario: kill -9 a broker under load, bring it back, change a config two ways, lose nothing', async () => {
  const kafka = new Kafka({
    clientId: 'seed',
    brokers: cluster.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 2000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  let producer: AckedProducer | undefined;
  let kcat: ChildProcess | undefined;
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true });

    // Leaders spread over brokers 1, 2, 3; ISR [1,2,3] everywhere (read with zkCli.sh).
    await waitFor(async () => (await states()).every((s) => s.isr.length === 3), {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'every ISR to hold three brokers',
    });
    const initial = await statesByZkCli();
    assert.deepEqual(initial.map((s) => s.leader).sort(), [1, 2, 3], JSON.stringify(initial));
    for (const s of initial) assert.deepEqual([...s.isr].sort(), [1, 2, 3]);

    // The clients: an acks=all idempotent producer naming each message's partition, and kcat -G.
    producer = await startAckedProducer(kafka, { topic, partitions: 3, name: 'm' });
    const p = producer;
    const kcatRead: string[] = [];
    kcat = spawn(
      'kcat',
      [
        '-b',
        cluster.bootstrap,
        '-G',
        'seed-group',
        topic,
        '-o',
        'beginning',
        '-u',
        '-f',
        '%s\\n',
        '-X',
        'session.timeout.ms=6000',
        '-X',
        'topic.metadata.refresh.interval.ms=1000',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    killOnExit(kcat);
    let kcatOut = '';
    kcat.stdout?.on('data', (d: Buffer) => {
      kcatOut += d.toString();
      const lines = kcatOut.split('\n');
      kcatOut = lines.pop() ?? '';
      kcatRead.push(...lines.filter((l) => l.length > 0));
    });
    const ackedCount = (): number => p.ackedCount();
    await waitFor(() => ackedCount() >= 30 && kcatRead.length >= 10, {
      timeoutMs: 60_000,
      what: () => `traffic (${ackedCount()} acked, kcat ${kcatRead.length})`,
    });

    // kill -9 broker 2: its session expires, leaders move, 2 leaves every ISR.
    await cluster.broker(2).kill();
    await waitFor(async () => (await states()).every((s) => s.leader !== 2 && !s.isr.includes(2)), {
      timeoutMs: sessionTimeoutMs + 30_000,
      intervalMs: 200,
      what: 'broker 2 to leave every leadership and ISR',
    });
    const afterKill = await statesByZkCli();
    for (const s of afterKill) assert.deepEqual([...s.isr].sort(), [1, 3]);
    // Both clients carry on.
    const ackedAtKill = ackedCount();
    const readAtKill = kcatRead.length;
    await waitFor(() => ackedCount() >= ackedAtKill + 30 && kcatRead.length >= readAtKill + 30, {
      timeoutMs: 60_000,
      what: () => `clients to carry on (${ackedCount() - ackedAtKill} acked, ${kcatRead.length - readAtKill} read since the kill)`,
    });

    // Broker 2 returns, catches up and rejoins every ISR (read back with zkCli.sh).
    await cluster.broker(2).start();
    await waitFor(async () => (await states()).every((s) => s.isr.includes(2)), {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: 'broker 2 to rejoin every ISR',
    });

    for (const s of await statesByZkCli()) assert.deepEqual([...s.isr].sort(), [1, 2, 3]);

    // A retention change through AlterConfigs reaches every broker ...
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
    });
    for (const i of [1, 2, 3]) {
      await waitFor(async () => (await topicConfigAt(i, 'retention.ms')) === '3600000', {
        timeoutMs: 30_000,
        intervalMs: 100,
        what: `broker ${i} to apply retention.ms=3600000`,
      });
    }
    // ... and so does one written with zkCli.sh plus a change notification.
    const zk = `${cluster.zookeeper(2).host}:${cluster.zookeeper(2).port}`;
    await zkCliScript(zk, [
      `set /config/topics/${topic} {"version":1,"config":{"retention.ms":"7200000"}}`,
      `create -s /config/changes/config_change_ {"version":2,"entity_path":"topics/${topic}"}`,
    ]);
    for (const i of [1, 2, 3]) {
      await waitFor(async () => (await topicConfigAt(i, 'retention.ms')) === '7200000', {
        timeoutMs: 30_000,
        intervalMs: 100,
        what: `broker ${i} to apply retention.ms=7200000 from ZooKeeper`,
      });
    }
  } finally {
    kcat?.kill('SIGKILL');
    await producer?.stop();
  }
  await admin.disconnect();

  // A fresh consumer group reads every partition up to its end.
  const read = await readEverything(kafka, topic, 'seed-checker');
  assert.ok(producer);
  const verdict = checkHistory(producer.sent, read);
  assert.ok(historyHolds(verdict), JSON.stringify({ ...verdict, lost: verdict.lost.slice(0, 20) }));
  assert.ok(verdict.acked >= 90, `only ${verdict.acked} messages were acknowledged`);
});
