// The dashboard server against real processes (1 ZooKeeper member + 3 brokers, one cluster for the
// file): the fanned-out view over SSE follows a broker's kill -9 and restart; its cost does not grow
// with the number of open streams; znode, topic, message, tail and group endpoints checked against
// zkCli.sh, kafkajs and kcat; hostile values stay JSON text; writes need the CSRF header, a
// same-origin Origin and (when configured) the token; registered workers and worker.scaled records
// show in the view.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { ProcessCluster } from '../../src/cluster/processCluster.js';
import { jobsServiceProcess, logStoreProcess } from '../../src/cluster/serviceProcess.js';
import { WorkerRegistration } from '../../src/genie/coord/workerRegistry.js';
import { JOB_EVENT_SCHEMA_VERSION, type WorkerScaledEvent } from '../../src/genie/jobs/events.js';
import { ensureTopics, jobTopics } from '../../src/genie/kafka.js';
import { encodeWorkerScaled } from '../../src/genie/workers/records.js';
import { ZooKeeperClient } from '../../src/zookeeper/client/client.js';
import type { DashboardView, GroupDetail, MessagePage, TopicDetail, Znode, ZnodeChange, ZnodeTree } from '../../src/dashboard/api.js';
import { type RunningDashboard, startDashboard } from '../../src/dashboard/server/dashboard.js';
import { waitForControllerKnown } from '../helpers/clusterClients.js';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';
import { zkCliScript } from '../interop/helpers/zkcli.js';
import { SseClient } from './helpers/sse.js';

const { Kafka, logLevel } = kafkajs;
const refreshMs = 300;
const recoveryTimeoutMs = 60_000;
const W = { 'x-clustergenie-csrf': '1', 'content-type': 'application/json' };

let dir: string;
let cluster: ProcessCluster;
let dash: RunningDashboard;
let kafka: InstanceType<typeof Kafka>;
const opened: SseClient[] = [];

async function sse(path: string): Promise<SseClient> {
  const c = await SseClient.open(`${dash.url}${path}`);
  opened.push(c);
  return c;
}

/** Creates a topic through the dashboard; a failure shows the answer. */
async function createTopic(t: { name: string; partitions: number; replicationFactor: number }): Promise<void> {
  const r = await api('POST', '/api/topics', t);
  assert.equal(r.status, 200, `create ${t.name}: ${JSON.stringify(r.body)}`);
}

async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = W,
): Promise<{ status: number; body: T; type: string }> {
  const res = await fetch(`${dash.url}${path}`, {
    method,
    headers: method === 'GET' ? {} : headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T, type: res.headers.get('content-type') ?? '' };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cg-dash-server-'));
  cluster = await ProcessCluster.start({
    dir,
    zookeepers: 1,
    brokers: 3,
    brokerConfig: () => ({
      'zookeeper.session.timeout.ms': '4000',
      'offsets.topic.replication.factor': '3',
      'offsets.topic.num.partitions': '3',
      'replica.lag.time.max.ms': '5000',
    }),
  });
  await waitForControllerKnown(cluster);
  kafka = new Kafka({ clientId: 'dash-test', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 20 } });
  dash = await startDashboard({ zookeeper: cluster.zkConnect, bootstrapServers: cluster.bootstrap, port: 0, refreshMs });
});

after(async () => {
  for (const c of opened) c.close();
  await dash?.close();
  await cluster?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the view: member, brokers, controller and a topic created through the API; a kill -9 and a restart show on the stream', async () => {
  const s = await sse('/api/view/stream');
  assert.equal(s.status, 200);
  assert.match(s.contentType, /text\/event-stream/);
  const healthy = await s.next<DashboardView>(
    'view',
    (v) =>
      v.zookeeper.members.length === 1 &&
      v.zookeeper.members[0]!.up &&
      v.kafka.brokers.filter((b) => b.up).length === 3 &&
      v.kafka.controller !== null,
    { timeoutMs: 30_000, what: '1 member and 3 brokers up' },
  );
  const m = healthy.zookeeper.members[0]!;
  assert.equal(m.mode, 'standalone');
  assert.match(m.zxid ?? '', /^0x[0-9a-f]+$/);
  assert.ok((m.connections ?? 0) >= 1);
  assert.ok(healthy.kafka.brokers.every((b) => b.port > 0 && b.host !== ''));

  const created = await api('POST', '/api/topics', { name: 'dash-view', partitions: 3, replicationFactor: 3 });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  await s.next<DashboardView>(
    'view',
    (v) => v.kafka.topics.some((t) => t.name === 'dash-view' && t.partitions === 3 && t.replicationFactor === 3),
    {
      timeoutMs: 20_000,
      what: 'dash-view in the view',
    },
  );
  await s.next<DashboardView>('view', (v) => v.kafka.underReplicatedPartitions === 0, { timeoutMs: 30_000, what: 'all replicas in sync' });

  const victim = cluster.broker(3);
  const from = s.events.length;
  await victim.kill();
  const down = await s.next<DashboardView>(
    'view',
    (v) => v.kafka.brokers.some((b) => b.id === 3 && !b.up) && v.kafka.topics.some((t) => t.name === 'dash-view' && t.underReplicated > 0),
    { timeoutMs: recoveryTimeoutMs, from, what: 'broker 3 down and dash-view under-replicated' },
  );
  assert.ok(down.kafka.underReplicatedPartitions > 0);
  assert.equal(down.kafka.healthy, false);

  await victim.start();
  await victim.waitServing(recoveryTimeoutMs);
  const from2 = s.events.length;
  await s.next<DashboardView>(
    'view',
    (v) => v.kafka.brokers.filter((b) => b.up).length === 3 && v.kafka.topics.find((t) => t.name === 'dash-view')?.underReplicated === 0,
    { timeoutMs: recoveryTimeoutMs, from: from2, what: 'broker 3 back and dash-view in sync' },
  );
  s.close();
});

test('fan-out: the refresh rounds and their requests are the same with 1 and with 10 open streams', async () => {
  const one = await sse('/api/view/stream');
  await one.next('view', () => true);
  const measure = async (rounds: number) => {
    const a = dash.stats();
    await waitFor(() => dash.stats().rounds >= a.rounds + rounds, { timeoutMs: 30_000, what: `${rounds} rounds` });
    const b = dash.stats();
    const n = b.rounds - a.rounds;
    return { zk: (b.zkRequests - a.zkRequests) / n, admin: (b.adminRequests - a.adminRequests) / n, n, ms: 0 };
  };
  await measure(2); // settle
  const t1 = Date.now();
  const with1 = await measure(6);
  const ms1 = Date.now() - t1;
  const more = await Promise.all(Array.from({ length: 9 }, () => sse('/api/view/stream')));
  await Promise.all(more.map((c) => c.next('view', () => true)));
  assert.equal(dash.stats().streams >= 10, true);
  const t10 = Date.now();
  const with10 = await measure(6);
  const ms10 = Date.now() - t10;
  assert.ok(with1.zk > 0 && with1.admin > 0, JSON.stringify(with1));
  assert.equal(with10.zk, with1.zk, `ZooKeeper requests per round: 1 stream ${with1.zk}, 10 streams ${with10.zk}`);
  assert.equal(with10.admin, with1.admin, `Admin requests per round: 1 stream ${with1.admin}, 10 streams ${with10.admin}`);
  // Rounds follow the clock, not the number of streams.
  assert.ok(ms10 > ms1 / 3, `6 rounds took ${ms1} ms with 1 stream and ${ms10} ms with 10`);
  for (const c of [one, ...more]) c.close();
});

test('znodes: create, get, set with a version check, delete; read back with zkCli.sh; a watch sees a zkCli.sh change; export/import', async () => {
  const server = cluster.zkConnect;
  const c = await api<Znode>('POST', '/api/zk/node', { path: '/dash-z', data: '{"a":1}' });
  assert.equal(c.status, 200, JSON.stringify(c.body));
  assert.deepEqual(c.body.json, { a: 1 });
  assert.equal(c.body.stat.version, 0);
  const dup = await api<{ code: string }>('POST', '/api/zk/node', { path: '/dash-z', data: 'x' });
  assert.equal(dup.status, 409);
  assert.equal(dup.body.code, 'NODEEXISTS');

  const set = await api<Znode>('PUT', '/api/zk/node', { path: '/dash-z', data: 'v1', version: 0 });
  assert.equal(set.status, 200);
  assert.equal(set.body.stat.version, 1);
  const stale = await api<{ code: string }>('PUT', '/api/zk/node', { path: '/dash-z', data: 'v2', version: 0 });
  assert.equal(stale.status, 409);
  assert.equal(stale.body.code, 'BADVERSION');
  const missing = await api<{ code: string }>('GET', '/api/zk/node?path=/dash-none');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.code, 'NONODE');

  const w = await sse('/api/zk/watch?path=/dash-z');
  const w2 = await sse('/api/zk/watch?path=/dash-z');
  await waitFor(() => dash.stats().watchedPaths >= 1 && dash.stats().streams >= 2, { what: 'watches armed' });
  assert.equal(dash.stats().watchedPaths, 1, 'one ZooKeeper watch per path, whatever the subscribers');
  const t = await zkCliScript(server, ['get /dash-z', 'set /dash-z fromcli', 'create /dash-z/kid k']);
  assert.ok(t.outputs[0]!.includes('v1'), t.raw);
  const dataChange = await w.next<ZnodeChange>('znode', (ch) => ch.type === 'data', { what: 'data change from zkCli.sh' });
  assert.equal(dataChange.path, '/dash-z');
  await w.next<ZnodeChange>('znode', (ch) => ch.type === 'children' && (ch.node?.children.includes('kid') ?? false), {
    what: 'child from zkCli.sh',
  });
  await w2.next<ZnodeChange>('znode', (ch) => ch.type === 'children', { what: 'the second subscriber sees the child too' });
  w2.close();
  const got = await api<Znode>('GET', '/api/zk/node?path=/dash-z');
  assert.equal(got.body.data, 'fromcli');

  const exp = await api<ZnodeTree>('GET', '/api/zk/export?path=/dash-z');
  assert.equal(exp.status, 200);
  assert.equal(exp.body.children[0]!.path, '/dash-z/kid');
  const imp = await api<{ created: number }>('POST', '/api/zk/import', { path: '/dash-copy', tree: exp.body });
  assert.equal(imp.status, 200, JSON.stringify(imp.body));
  assert.equal(imp.body.created, 2);
  const back = await zkCliScript(server, ['get /dash-copy', 'get /dash-copy/kid']);
  assert.ok(back.outputs[0]!.includes('fromcli'), back.raw);
  assert.ok(back.outputs[1]!.includes('k'), back.raw);

  const notEmpty = await api<{ code: string }>('DELETE', '/api/zk/node?path=/dash-copy');
  assert.equal(notEmpty.status, 409);
  assert.equal(notEmpty.body.code, 'NOTEMPTY');
  assert.equal((await api('DELETE', '/api/zk/node?path=/dash-copy&recursive=1')).status, 200);
  assert.equal((await api('DELETE', '/api/zk/node?path=/dash-z/kid&version=0')).status, 200);
  const del = await zkCliScript(server, ['ls /']);
  assert.ok(!del.outputs[0]!.join(' ').includes('dash-copy'), del.raw);
  w.close();
});

test('messages: by offset, by timestamp, a search in headers; the tail gets what kcat produces', async () => {
  await createTopic({ name: 'dash-msgs', partitions: 1, replicationFactor: 3 });
  const producer = kafka.producer();
  await producer.connect();
  const t0 = Date.now();
  await producer.send({ topic: 'dash-msgs', messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `value ${i}` })) });
  await new Promise((r) => setTimeout(r, 20)); // distinct timestamps for the second batch
  const t1 = Date.now();
  await producer.send({ topic: 'dash-msgs', messages: [{ key: 'h', value: 'plain', headers: { trace: 'the-needle-42' } }] });
  await producer.disconnect();

  const byOffset = await api<MessagePage>('GET', '/api/topics/dash-msgs/messages?partition=0&offset=5&limit=3');
  assert.equal(byOffset.status, 200, JSON.stringify(byOffset.body));
  assert.deepEqual(
    byOffset.body.messages.map((m) => [m.offset, m.value]),
    [
      ['5', 'value 5'],
      ['6', 'value 6'],
      ['7', 'value 7'],
    ],
  );
  assert.equal(byOffset.body.next['0'], '8');
  const byTime = await api<MessagePage>(`GET`, `/api/topics/dash-msgs/messages?timestamp=${t1}&limit=10`);
  assert.deepEqual(
    byTime.body.messages.map((m) => m.key),
    ['h'],
  );
  assert.ok(byTime.body.messages[0]!.timestamp >= t0);
  const found = await api<MessagePage>('GET', '/api/topics/dash-msgs/messages?offset=0&search=needle-42&limit=10');
  assert.deepEqual(
    found.body.messages.map((m) => m.offset),
    ['20'],
  );
  assert.equal(found.body.messages[0]!.headers[0]!.value, 'the-needle-42');
  assert.equal(found.body.scanned, 21);

  const tail = await sse('/api/topics/dash-msgs/tail');
  await waitFor(() => dash.stats().tailLoops === 1, { what: 'tail loop' });
  const tail2 = await sse('/api/topics/dash-msgs/tail');
  await waitFor(() => dash.stats().streams >= 2, { what: 'second tail' });
  assert.equal(dash.stats().tailLoops, 1, 'one fetch loop per topic');
  await new Promise((r) => setTimeout(r, 1500)); // the loop starts at the end offset it read
  const kcat = spawn('/usr/bin/kcat', ['-P', '-b', cluster.bootstrap, '-t', 'dash-msgs'], { stdio: ['pipe', 'ignore', 'pipe'] });
  kcat.stdin.end('from-kcat\n');
  await new Promise((r) => kcat.once('exit', r));
  const m = await tail.next<{ value: string }>('message', (x) => x.value === 'from-kcat', { timeoutMs: 20_000 });
  assert.equal(m.value, 'from-kcat');
  await tail2.next<{ value: string }>('message', (x) => x.value === 'from-kcat');
  tail.close();
  tail2.close();
  await waitFor(() => dash.stats().tailLoops === 0, { what: 'tail loop stopped after the last subscriber' });
});

test('groups: lag from committed offsets, 409 while members are in, reset to earliest read back with the Admin', async () => {
  await createTopic({ name: 'dash-group', partitions: 2, replicationFactor: 3 });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'dash-group', messages: Array.from({ length: 10 }, (_, i) => ({ value: `m${i}`, partition: i % 2 })) });
  const consumer = kafka.consumer({ groupId: 'dash-g1' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'dash-group', fromBeginning: true });
  let seen = 0;
  await consumer.run({
    eachMessage: async () => {
      seen++;
    },
  });
  await waitFor(() => seen >= 10, { timeoutMs: 30_000, what: 'consumer read 10' });
  const busy = await api<{ code: string }>('POST', '/api/groups/dash-g1/reset-offsets', { topic: 'dash-group', to: 'earliest' });
  assert.equal(busy.status, 409, JSON.stringify(busy.body));
  await consumer.stop();
  await consumer.disconnect();
  await producer.send({ topic: 'dash-group', messages: [{ value: 'late', partition: 0 }] });
  await producer.disconnect();

  const detail = await waitFor(
    async () => {
      const d = await api<GroupDetail>('GET', '/api/groups/dash-g1');
      return d.body.offsets?.length === 2 &&
        d.body.offsets.every((o) => o.lag !== undefined) &&
        d.body.offsets.reduce((n, o) => n + (o.lag ?? 0), 0) === 1
        ? d.body
        : undefined;
    },
    { timeoutMs: 20_000, what: 'lag 1 on dash-g1' },
  );
  assert.deepEqual(
    detail.offsets.map((o) => o.committed),
    [5, 5],
  );

  const reset = await api<{ offsets: { committed: number }[] }>('POST', '/api/groups/dash-g1/reset-offsets', {
    topic: 'dash-group',
    to: 'earliest',
  });
  assert.equal(reset.status, 200, JSON.stringify(reset.body));
  const admin = kafka.admin();
  await admin.connect();
  const committed = await admin.fetchOffsets({ groupId: 'dash-g1', topics: ['dash-group'] });
  await admin.disconnect();
  assert.deepEqual(committed[0]!.partitions.map((p) => p.offset).sort(), ['0', '0']);
  const topic = await api<TopicDetail>('GET', '/api/topics/dash-group');
  assert.equal(topic.body.partitions.length, 2);
  assert.equal(topic.body.partitions[0]!.logEndOffset, 6);
  assert.ok(topic.body.configs.some((c) => c.name === 'cleanup.policy'));
});

test('hostile values stay JSON text, 1 MB values are cut with truncated and /raw gives every byte', async () => {
  const evil = '<script>alert(1)</script>';
  // 1 MB: within ZooKeeper's default jute.maxbuffer (1 MiB less a byte, request framing included).
  const big = 'x'.repeat(1000 * 1000);
  assert.equal((await api('POST', '/api/zk/node', { path: '/dash-evil', data: evil })).status, 200);
  assert.equal((await api('POST', '/api/zk/node', { path: '/dash-big', data: big })).status, 200);
  const e = await api<Znode>('GET', '/api/zk/node?path=/dash-evil');
  assert.match(e.type, /^application\/json/);
  assert.equal(e.body.data, evil);
  const b = await api<Znode>('GET', '/api/zk/node?path=/dash-big');
  assert.equal(b.body.truncated, true);
  assert.equal(b.body.dataBytes, big.length);
  assert.equal(b.body.data.length, 64 * 1024);
  const raw = await fetch(`${dash.url}/api/zk/node/raw?path=/dash-big`);
  assert.equal(raw.headers.get('content-type'), 'application/octet-stream');
  assert.match(raw.headers.get('content-disposition') ?? '', /attachment/);
  assert.equal((await raw.arrayBuffer()).byteLength, big.length);

  await createTopic({ name: 'dash-evil', partitions: 1, replicationFactor: 1 });
  const p1 = await api<{ offset: string }>('POST', '/api/topics/dash-evil/produce', { key: evil, value: evil });
  assert.equal(p1.status, 200, JSON.stringify(p1.body));
  assert.equal((await api('POST', '/api/topics/dash-evil/produce', { value: 'y'.repeat(1000 * 1000) })).status, 200);
  const page = await api<MessagePage>('GET', '/api/topics/dash-evil/messages?offset=0');
  assert.match(page.type, /^application\/json/);
  assert.equal(page.body.messages[0]!.value, evil);
  assert.equal(page.body.messages[1]!.truncated, true);
  assert.equal(page.body.messages[1]!.valueBytes, 1000 * 1000);
  const html = await fetch(`${dash.url}/topics/${encodeURIComponent(evil)}`);
  const text = await html.text();
  assert.ok(!text.includes('alert(1)'), 'the page shell holds no data');
  assert.match(html.headers.get('content-security-policy') ?? '', /script-src 'self' 'sha256-/);
  assert.equal(html.headers.get('x-content-type-options'), 'nosniff');
});

test('writes need the CSRF header and a same-origin Origin; with a token, Authorization too', async () => {
  const noCsrf = await api<{ code: string }>(
    'POST',
    '/api/zk/node',
    { path: '/dash-safe', data: '' },
    { 'content-type': 'application/json' },
  );
  assert.equal(noCsrf.status, 403);
  assert.equal(noCsrf.body.code, 'FORBIDDEN');
  const foreign = await api('POST', '/api/zk/node', { path: '/dash-safe', data: '' }, { ...W, origin: 'http://evil.example' });
  assert.equal(foreign.status, 403);
  const same = await api('POST', '/api/zk/node', { path: '/dash-safe', data: '' }, { ...W, origin: dash.url });
  assert.equal(same.status, 200);
  const proxied = await api('POST', '/api/jobs', { type: 'x' }, { 'content-type': 'application/json' });
  assert.equal(proxied.status, 403, 'proxied writes are guarded too');

  const guarded = await startDashboard({
    zookeeper: cluster.zkConnect,
    bootstrapServers: cluster.bootstrap,
    port: 0,
    token: 's3cret',
    refreshMs: 5000,
  });
  try {
    const post = (headers: Record<string, string>) =>
      fetch(`${guarded.url}/api/zk/node`, { method: 'POST', headers, body: JSON.stringify({ path: '/dash-tok', data: '' }) });
    assert.equal((await post(W)).status, 403);
    assert.equal((await post({ ...W, authorization: 'Bearer wrong' })).status, 403);
    assert.equal((await post({ ...W, authorization: 'Bearer s3cret' })).status, 200);
    const read = await fetch(`${guarded.url}/api/zk/node?path=/dash-tok`);
    assert.equal(read.status, 200, 'reads stay open');
    const info = (await (await fetch(`${guarded.url}/api/info`)).json()) as { tokenRequired: boolean };
    assert.equal(info.tokenRequired, true);
  } finally {
    await guarded.close();
  }
});

test('alerts: records on monitoring.alerts show as firing, then resolved in the history', async () => {
  await createTopic({ name: 'monitoring.alerts', partitions: 1, replicationFactor: 3 });
  const producer = kafka.producer();
  await producer.connect();
  const rec = (status: 'firing' | 'resolved') => ({
    key: 'fp-1',
    value: JSON.stringify({
      schemaVersion: 1,
      type: `alert.${status}`,
      status,
      fingerprint: 'fp-1',
      labels: { alertname: 'BrokerDown', severity: 'critical' },
      annotations: { summary: '<b>broker 3</b> is down' },
      startsAt: new Date().toISOString(),
      endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z',
      value: null,
      monitor: 'test',
      emittedAt: new Date().toISOString(),
    }),
  });
  await producer.send({ topic: 'monitoring.alerts', messages: [rec('firing')] });
  const s = await sse('/api/view/stream');
  const firing = await s.next<DashboardView>('view', (v) => v.alerts.firing.some((a) => a.fingerprint === 'fp-1'), {
    timeoutMs: 30_000,
    what: 'fp-1 firing',
  });
  assert.equal(firing.alerts.firing[0]!.summary, '<b>broker 3</b> is down');
  assert.equal(firing.alerts.firing[0]!.labels['alertname'], 'BrokerDown');
  await producer.send({ topic: 'monitoring.alerts', messages: [rec('resolved')] });
  await producer.disconnect();
  const resolved = await s.next<DashboardView>('view', (v) => v.alerts.firing.length === 0 && v.alerts.history.length === 2, {
    what: 'fp-1 resolved',
  });
  assert.deepEqual(
    resolved.alerts.history.map((a) => a.status),
    ['resolved', 'firing'],
  );
  s.close();
});

test('jobs and logs pass through: /api/stats from the Job Service, labels, a query and a live tail from the log store', async () => {
  const setup = { dir, bootstrap: cluster.bootstrap, zkConnect: cluster.zkConnect, restartOnCrash: false };
  const [jobsPort, logsPort] = [await freePort(), await freePort()];
  const jobsSvc = jobsServiceProcess(setup, { host: '127.0.0.1', port: jobsPort });
  const logs = logStoreProcess(setup, { host: '127.0.0.1', port: logsPort, dataDir: join(dir, 'logs') });
  const jobsUrl = `http://127.0.0.1:${jobsPort}`;
  const logsUrl = `http://127.0.0.1:${logsPort}`;
  const d2 = await startDashboard({
    zookeeper: cluster.zkConnect,
    bootstrapServers: cluster.bootstrap,
    port: 0,
    refreshMs: 500,
    jobsUrl,
    logsUrl,
  });
  try {
    const down = await fetch(`${d2.url}/api/logs/labels`);
    assert.equal(down.status, 503, 'upstream down is 503');
    assert.equal(((await down.json()) as { code: string }).code, 'UNAVAILABLE');
    await ensureTopics(
      { clientId: 'dash-test', bootstrapBrokers: cluster.bootstrap.split(',') },
      jobTopics({ partitions: 1, replicationFactor: 3 }),
    );
    jobsSvc.start();
    logs.start();
    await Promise.all([jobsSvc.waitReady(90_000), logs.waitReady(30_000)]);

    const stats = await fetch(`${d2.url}/api/stats`);
    assert.equal(stats.status, 200);
    const direct = (await (await fetch(`${jobsUrl}/api/stats`)).json()) as Record<string, unknown>;
    const passed = (await stats.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(passed).sort(), Object.keys(direct).sort());
    assert.ok('byState' in passed);

    const tail = await SseClient.open(`${d2.url}/api/logs/tail?query=${encodeURIComponent('{app="dash"}')}`);
    opened.push(tail);
    await new Promise((r) => setTimeout(r, 500)); // the store's tail socket opens after the SSE answer
    const ns = `${BigInt(Date.now()) * 1_000_000n}`;
    const push = await fetch(`${logsUrl}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ streams: [{ stream: { app: 'dash' }, values: [[ns, '<img src=x onerror=alert(1)> hello']] }] }),
    });
    assert.equal(push.status, 204);
    const line = await tail.next<{ line: string; labels: Record<string, string> }>('log', (l) => l.line.includes('hello'), {
      timeoutMs: 20_000,
    });
    assert.equal(line.labels['app'], 'dash');
    tail.close();

    const labels = (await (await fetch(`${d2.url}/api/logs/labels`)).json()) as { data: string[] };
    assert.ok(labels.data.includes('app'));
    const q = await fetch(`${d2.url}/api/logs/query_range?query=${encodeURIComponent('{app="dash"}')}&limit=10`);
    const body = (await q.json()) as { data: { result: { values: [string, string][] }[] } };
    assert.equal(body.data.result[0]!.values[0]![1], '<img src=x onerror=alert(1)> hello');
    const view = await waitFor(async () => {
      const v = (await (await fetch(`${d2.url}/api/view`)).json()) as DashboardView;
      return v.jobs.up ? v : undefined;
    });
    assert.equal(typeof view.jobs.byState, 'object');
  } finally {
    await d2.close();
    await Promise.all([jobsSvc.stop(10_000), logs.stop(10_000)]);
  }
});

test('workers and scaling: a registered worker shows with its pool size and a resize; a worker.scaled record on cluster-events shows in scaling', async () => {
  const zk = new ZooKeeperClient({ connectString: cluster.zkConnect, sessionTimeoutMs: 10_000 });
  await zk.connect();
  const reg = new WorkerRegistration(zk, { id: 'dash-w1', capacity: 3, host: 'host-a', pid: 4242, updateIntervalMs: 50 });
  const producer = kafka.producer();
  try {
    await reg.start();
    const s = await sse('/api/view/stream');
    const seen = await s.next<DashboardView>('view', (v) => v.workers.list.some((w) => w.id === 'dash-w1'), {
      timeoutMs: 20_000,
      what: 'dash-w1 in the view',
    });
    const w = seen.workers.list.find((x) => x.id === 'dash-w1')!;
    assert.deepEqual([w.host, w.pid, w.capacity, w.running, w.queued], ['host-a', 4242, 3, 0, 0]);
    assert.equal(seen.workers.error, undefined);
    reg.update({ capacity: 5, running: 2 });
    await s.next<DashboardView>('view', (v) => v.workers.list.some((x) => x.id === 'dash-w1' && x.capacity === 5 && x.running === 2), {
      timeoutMs: 20_000,
      what: 'dash-w1 resized to 5',
    });

    // A job event and a scaling event, as the Job Service and a worker write them: only the latter is kept.
    await ensureTopics(
      { clientId: 'dash-test', bootstrapBrokers: cluster.bootstrap.split(',') },
      jobTopics({ partitions: 1, replicationFactor: 3 }),
    );
    await producer.connect();
    const ev: WorkerScaledEvent = {
      v: JOB_EVENT_SCHEMA_VERSION,
      type: 'worker.scaled',
      worker: 'dash-w1',
      at: new Date().toISOString(),
      from: 3,
      to: 5,
      reason: 'backlog <growing>',
      backlog: 17,
    };
    const enc = encodeWorkerScaled(ev);
    await producer.send({
      topic: 'cluster-events',
      messages: [
        { key: 'j-1', value: JSON.stringify({ v: 1, type: 'job.progress', jobId: 'j-1', worker: 'x', from: 1, to: 2 }) },
        { key: enc.key, value: enc.value, headers: Object.fromEntries(enc.headers) },
      ],
    });
    const scaled = await s.next<DashboardView>('view', (v) => v.scaling.length > 0, { timeoutMs: 30_000, what: 'a scaling event' });
    assert.deepEqual(scaled.scaling, [{ worker: 'dash-w1', at: ev.at, from: 3, to: 5, reason: 'backlog <growing>', backlog: 17 }]);

    await reg.close();
    await s.next<DashboardView>('view', (v) => !v.workers.list.some((x) => x.id === 'dash-w1'), {
      timeoutMs: 20_000,
      what: 'dash-w1 gone after deregistering',
    });
    s.close();
  } finally {
    await producer.disconnect();
    await reg.close();
    await zk.close();
  }
});
