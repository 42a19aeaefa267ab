// `clustergenie status` against a real system: a ProcessCluster of 3 ZooKeeper members and 3
// brokers with a replicated topic. Healthy: exit 0 and --json shows 3 members and 3 brokers. A
// service asked for by flag must answer. A broker stopped: exit 3 naming it and its partitions
// under-replicated. A member killed with SIGKILL: exit 3 naming the member. Everything down: exit 6.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { ExitCode } from '../../src/cli/exitCodes.js';
import type { StatusReport } from '../../src/cli/status.js';
import { ProcessCluster } from '../../src/cluster/processCluster.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';

const topic = 'status-test';

let dir: string;
let cluster: ProcessCluster;
let jobs: Server;
let jobsUrl: string;
let last: CliResult | undefined;
const status = (args: string[]): Promise<CliResult> => runCli(['status', ...args]);
const base = (): string[] => ['--zookeeper', cluster.zkConnect, '--timeout-ms', '2000'];
/** Runs status until `ok(result)`: the cluster settles (ISR, registrations) on its own schedule. */
async function statusUntil(args: string[], ok: (r: CliResult) => boolean, what: string): Promise<CliResult> {
  return waitFor(
    async () => {
      last = await status(args);
      return ok(last) ? last : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200, what: () => `${what}; last: exit ${last?.code}\n${last?.stdout}\n${last?.stderr}` },
  );
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cg-cli-status-'));
  cluster = await ProcessCluster.start({
    dir,
    zookeepers: 3,
    brokers: 3,
    brokerConfig: () => ({ 'offsets.topic.replication.factor': '3', 'controlled.shutdown.enable': 'true' }),
  });
  const kafka = new kafkajs.Kafka({
    clientId: 'status-test',
    brokers: cluster.bootstrap.split(','),
    logLevel: kafkajs.logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 2000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  // A stand-in Job Service: /healthz and /api/stats as docs/API.md describes them.
  jobs = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/healthz') res.end(JSON.stringify({ ok: true, instance: 'test', caughtUp: true }));
    else if (req.url === '/api/stats') res.end(JSON.stringify({ total: 5, byState: { completed: 5 }, byType: {}, malformedRecords: 0 }));
    else res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => jobs.listen(0, '127.0.0.1', r));
  jobsUrl = `http://127.0.0.1:${(jobs.address() as { port: number }).port}`;
});

after(async () => {
  await new Promise((r) => (jobs ? jobs.close(r) : r(undefined)));
  await cluster?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a healthy system: exit 0; --json shows 3 members with a leader, 3 brokers with a controller, the topic, the service', async () => {
  const r = await statusUntil(
    [...base(), '--bootstrap-server', cluster.bootstrap, '--jobs-url', jobsUrl, '--json'],
    (x) => x.code === 0,
    'healthy',
  );
  const doc = JSON.parse(r.stdout) as StatusReport;
  assert.equal(doc.healthy, true);
  assert.deepEqual(doc.problems, []);
  assert.equal(doc.zookeeper.members.length, 3);
  assert.ok(doc.zookeeper.members.every((m) => m.up && /^0x[0-9a-f]+$/.test(m.zxid ?? '')));
  assert.deepEqual(doc.zookeeper.members.map((m) => m.mode).sort(), ['follower', 'follower', 'leader']);
  assert.equal(doc.zookeeper.quorum, true);
  const kafka = doc.kafka as Exclude<StatusReport['kafka'], null | { error: string }>;
  assert.deepEqual(
    kafka.brokers.map((b) => b.id),
    [1, 2, 3],
  );
  assert.ok(kafka.controller !== null && [1, 2, 3].includes(kafka.controller));
  assert.deepEqual(
    kafka.brokers.map((b) => `${b.host}:${b.port}`),
    cluster.bootstrap.split(','),
  );
  assert.ok(kafka.partitions >= 3 && kafka.underReplicatedCount === 0 && kafka.offlineCount === 0);
  assert.equal(doc.services.jobs.state, 'up');
  assert.deepEqual((doc.services.jobs.stats as { total: number }).total, 5);
  // Text for people: the same at a glance.
  const text = await status([...base(), '--jobs-url', jobsUrl]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^HEALTHY/);
  assert.match(text.stdout, /3 broker\(s\) registered/);
  assert.match(text.stdout, /5 job\(s\)/);
});

test('a service asked for by flag that does not answer makes it unhealthy (3)', async () => {
  const r = await status([...base(), '--logs-url', `http://127.0.0.1:${await freePort()}`]);
  assert.equal(r.code, ExitCode.unhealthy, r.stdout);
  assert.match(r.stdout, /log store at http:\/\/127\.0\.0\.1:\d+ is down/);
});

test('a stopped broker: exit 3 naming it, its partitions under-replicated', async () => {
  await cluster.broker(3).stop();
  const r = await statusUntil(
    [...base(), '--bootstrap-server', cluster.bootstrap, '--json'],
    (x) => x.code === ExitCode.unhealthy && (JSON.parse(x.stdout) as StatusReport).problems.some((p) => /under-replicated/.test(p)),
    'broker 3 missing and partitions under-replicated',
  );
  const doc = JSON.parse(r.stdout) as StatusReport;
  const kafka = doc.kafka as Exclude<StatusReport['kafka'], null | { error: string }>;
  assert.deepEqual(kafka.missingBrokers, [3]);
  assert.ok(doc.problems.includes('broker 3 is not registered (its partitions name it)'), doc.problems.join('\n'));
  assert.ok(doc.problems.some((p) => p.startsWith('no broker registered at ')));
  assert.ok(kafka.underReplicated.every((p) => !p.isr.includes(3)));
  assert.ok(kafka.underReplicated.some((p) => p.topic === topic));
});

test('a member killed with SIGKILL: exit 3 naming it', async () => {
  const victim = cluster.zookeeper(2);
  await victim.kill();
  const member = `${victim.host}:${victim.port}`;
  const r = await statusUntil(
    base(),
    (x) => x.code === ExitCode.unhealthy && x.stdout.includes(`ZooKeeper member ${member} is down`),
    'member down',
  );
  assert.match(r.stdout, new RegExp(`${member.replace(/\./g, '\\.')}\\s+DOWN`));
  assert.match(r.stdout, /: quorum/);
  // A second one: the last member runs but cannot serve; still an answer (3), not "unreachable" (6).
  const second = cluster.zookeeper(3);
  await second.kill();
  const noQuorum = await statusUntil(base(), (x) => x.code === ExitCode.unhealthy && /NO QUORUM/.test(x.stdout), 'no quorum');
  assert.match(
    noQuorum.stdout,
    new RegExp(`ZooKeeper member ${cluster.zookeeper(1).host}:${cluster.zookeeper(1).port} is running but not serving`),
  );
});

test('everything down: exit 6 naming --zookeeper', async () => {
  await cluster.killAll();
  const r = await status(base());
  assert.equal(r.code, ExitCode.unavailable, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, /--zookeeper/);
});
