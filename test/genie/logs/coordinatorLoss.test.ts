// Issues 15/16 "nothing is lost when a broker dies", for a service's consumer group: the Log
// Consumer runs as a process of this build's CLI on 3 broker processes; the broker that is its
// group coordinator (and holds no replica of its topic) is killed -9. The process must carry on
// in-process (same PID: its group consumer finds the new coordinator, src/genie/groupConsumer.ts)
// and lines written after the kill must reach the store.

import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Admin, Consumer } from '@platformatic/kafka';
import { ProcessCluster } from '../../../src/cluster/processCluster.js';
import { clientBase, toController } from '../../../src/genie/kafka.js';
import { LogPipeline } from '../../helpers/logPipeline.js';
import { waitFor } from '../../helpers/wait.js';

const topic = 'logs.coordloss';
const env = 'coordloss';
/** LogPipeline's group name for `env`. */
const group = `pipeline-${env}`;
const marker = 'coordinator-loss-marker';

let cluster: ProcessCluster;
let dir: string;
let coordinator: number;
let pipeline: LogPipeline | undefined;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cg-coordloss-'));
  cluster = await ProcessCluster.start({
    dir: join(dir, 'cluster'),
    zookeepers: 1,
    brokers: 3,
    tickTimeMs: 500,
    initLimit: 10,
    syncLimit: 5,
    brokerConfig: () => ({
      // A dead broker leaves the metadata within seconds (its ZooKeeper session ends).
      'zookeeper.session.timeout.ms': '6000',
      'offsets.topic.replication.factor': '3',
      'group.initial.rebalance.delay.ms': '0',
    }),
  });
  const kafka = { bootstrapBrokers: cluster.bootstrap.split(','), clientId: 'coordloss-setup' };
  // The group's coordinator first (asking for it creates __consumer_offsets), then the topic on the
  // two other brokers only: killing the coordinator's broker then takes no partition leader, so
  // what the consumer meets is the coordinator's loss alone (a leader's is met by the jobs e2e).
  coordinator = await waitFor(
    async () => {
      const c = new Consumer({ ...clientBase(kafka), groupId: group });
      try {
        return await c.findGroupCoordinator();
      } finally {
        await c.close(true);
      }
    },
    { timeoutMs: 30_000, intervalMs: 200, what: `the coordinator of ${group}` },
  );
  const [a, b] = [1, 2, 3].filter((id) => id !== coordinator) as [number, number];
  const admin = new Admin(clientBase(kafka));
  try {
    await toController(admin, () =>
      admin.createTopics({
        topics: [topic],
        assignments: [
          { partition: 0, brokers: [a, b] },
          { partition: 1, brokers: [b, a] },
          { partition: 2, brokers: [a, b] },
        ],
      }),
    );
  } finally {
    await admin.close();
  }
});

after(async () => {
  await pipeline?.close();
  await cluster?.close(10_000);
  await rm(dir, { recursive: true, force: true });
});

test('kill -9 of the Log Consumer group coordinator broker: the same process carries on and later lines reach the store', {
  timeout: 110_000,
}, async (t) => {
  const file = join(dir, 'app.log');
  let next = 0;
  const write = async (n: number): Promise<void> => {
    let s = '';
    for (let i = next; i < next + n; i++) s += `${JSON.stringify({ level: 'info', msg: 'coordinator loss line', marker, seq: i })}\n`;
    await appendFile(file, s);
    next += n;
  };
  await write(200);
  const startNs = BigInt(Date.now() - 60_000) * 1_000_000n;
  pipeline = await LogPipeline.start({
    bootstrap: cluster.bootstrap,
    dir,
    topic,
    env,
    files: [file],
    shipperArgs: ['--poll-interval-ms', '20'],
    consumerArgs: ['--batch-wait-ms', '50'],
    logLevel: 'info',
  });
  const p = pipeline;
  const storedSeqs = async (): Promise<Set<number>> =>
    new Set((await p.queryAll(`{env="${env}"} |= "${marker}"`, startNs)).map((e) => Number(JSON.parse(e.line).seq)));
  const allStored = async (): Promise<boolean> => {
    const got = await storedSeqs();
    for (let i = 0; i < next; i++) if (!got.has(i)) return false;
    return true;
  };
  await waitFor(allStored, { timeoutMs: 30_000, intervalMs: 200, what: 'the first 200 lines in the store' });

  const pid = p.consumer.pid;
  assert.ok(pid, 'the log consumer runs');
  t.diagnostic(`killing broker ${coordinator}, the coordinator of ${group} (no replica of ${topic} there)`);
  await cluster.broker(coordinator).kill();

  // Lines written after the kill: the shipper's producer finds the new leaders; the consumer must
  // find its new coordinator and keep committing, with no restart of its process.
  await write(200);
  await waitFor(async () => (await p.positionOf(file)) === (await stat(file)).size, {
    timeoutMs: 45_000,
    intervalMs: 200,
    what: 'the shipper acknowledged every line',
  });
  const log = (): Promise<string> => readFile(join(dir, 'log-consumer.log'), 'utf8');
  // The consumer noticed the loss (it may have read some lines before it did), then took new ones.
  await waitFor(async () => /replacing it with a new member/.test(await log()), {
    timeoutMs: 45_000,
    intervalMs: 200,
    what: () => `the log consumer noticing the lost coordinator\n${p.consumer.logTail()}`,
  });
  await write(100);
  await waitFor(allStored, {
    timeoutMs: 60_000,
    intervalMs: 250,
    what: () => `every line written after the kill in the store\n${p.consumer.logTail()}`,
  });
  assert.equal(p.consumer.pid, pid, `the log consumer process was not restarted:\n${p.consumer.logTail()}`);
  assert.equal(p.consumer.starts, 1);
  const text = await log();
  const replacing = text.split('\n').filter((l) => /replacing it with a new member/.test(l));
  for (const line of replacing) t.diagnostic(line.slice(0, 400));
  // What the client met: heartbeats that failed, or the coordinator missing from the metadata.
  assert.match(replacing[0] ?? '', /heartbeats to the group coordinator failed|no longer in the cluster metadata/);
  assert.doesNotMatch(text, /uncaught error/);
  // A new member of the group took over in-process, with its commits working again.
  assert.match(text, /group consumer replaced; rejoined the group/);
});
