// The dashboard server's pure parts (view building, write guard, value encoding, alert book,
// error mapping, page shell) and the server/CLI shell without a cluster (every source down: each
// section reports its own error; the page shell, vendor modules and headers still serve).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { type DashboardView, scalingEventsMax, workersMax } from '../../src/dashboard/api.js';
import { SharedReads } from '../../src/dashboard/server/sharedReads.js';
import { AlertBook, alertHistoryMax, parseSrvrZxid } from '../../src/dashboard/server/collectors.js';
import { startDashboard } from '../../src/dashboard/server/dashboard.js';
import { toApiError } from '../../src/dashboard/server/errors.js';
import { encodeBytes, recordMatches, toMessage } from '../../src/dashboard/server/messages.js';
import type { ReadRecord } from '../../src/genie/topicReader.js';
import { importMap, importMapSha256, indexHtml } from '../../src/dashboard/server/page.js';
import { bufferedBytesMax, SseStream } from '../../src/dashboard/server/sse.js';
import { tailLines } from '../../src/dashboard/server/proxy.js';
import { checkListenOptions, isLoopbackHost, writeRefusal } from '../../src/dashboard/server/security.js';
import { buildView, emptyMemory, parseWorker, type Round, seriesPointsMax, viewChanged } from '../../src/dashboard/server/view.js';
import { ScalingBook } from '../../src/dashboard/server/workers.js';
import { ZooKeeperError } from '../../src/zookeeper/client/errors.js';
import { Err } from '../../src/zookeeper/protocol/constants.js';
import { killOnExit } from '../helpers/children.js';
import { waitFor } from '../helpers/wait.js';
import { SseClient } from './helpers/sse.js';

function round(o: Partial<Round> & { atMs: number }): Round {
  return {
    tookMs: 5,
    zk: [{ member: '127.0.0.1:2181', up: true, mode: 'standalone', avgLatencyMs: 2 }],
    kafka: {
      ok: true,
      value: {
        brokers: [1, 2, 3].map((id) => ({ id, host: '127.0.0.1', port: 9091 + id })),
        controller: 1,
        partitions: [0, 1].map((partition) => ({ topic: 't', partition, replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1 + partition })),
      },
    },
    offsets: { ok: true, value: [{ topic: 't', partition: 0, oldest: 0, current: 10 }] },
    groups: {
      ok: true,
      value: [{ group: 'g', state: 'Stable', members: 1, offsets: [{ topic: 't', partition: 0, committed: 4, lag: 6 }] }],
    },
    alerts: { firing: [], history: [] },
    ...o,
  };
}

test('buildView: brokers, leaders, topics and lag; a broker gone from /brokers/ids stays listed as down', () => {
  const a = buildView(round({ atMs: 1000 }), emptyMemory());
  assert.equal(a.view.kafka.brokers.length, 3);
  assert.equal(a.view.kafka.controller, 1);
  assert.deepEqual(
    a.view.kafka.brokers.map((b) => [b.id, b.leaders, b.replicas]),
    [
      [1, 1, 2],
      [2, 1, 2],
      [3, 0, 2],
    ],
  );
  assert.equal(a.view.kafka.topics[0]!.messages, 10);
  assert.equal(a.view.groups[0]!.lag, 6);
  assert.equal(a.view.kafka.healthy, true);
  assert.equal(a.view.zookeeper.healthy, true);

  const r2 = round({ atMs: 2000, offsets: { ok: true, value: [{ topic: 't', partition: 0, oldest: 0, current: 30 }] } });
  if (r2.kafka.ok) {
    r2.kafka.value.brokers = r2.kafka.value.brokers.filter((b) => b.id !== 2);
    r2.kafka.value.partitions[1]!.isr = [1, 3];
  }
  const b = buildView(r2, a.memory);
  const two = b.view.kafka.brokers.find((x) => x.id === 2)!;
  assert.equal(two.up, false);
  assert.equal(two.port, 9093, 'its address is remembered');
  assert.equal(b.view.kafka.underReplicatedPartitions, 1);
  assert.equal(b.view.kafka.offlinePartitions, 1, 'partition 1 was led by broker 2');
  assert.equal(b.view.kafka.healthy, false);
  assert.equal(b.view.series.at(-1)!.messagesInPerSec, 20);
  assert.equal(viewChanged(a.view, b.view), true);
  assert.equal(viewChanged(b.view, { ...b.view, atMs: 99, refreshMs: 1 }), false);
});

test('buildView: each section fails on its own, the jobs rate comes from deltas, the series is bounded', () => {
  let mem = emptyMemory();
  let v: DashboardView | undefined;
  for (let i = 0; i < seriesPointsMax + 10; i++) {
    const r = round({
      atMs: i * 1000,
      kafka: { ok: false, error: 'ZooKeeper down' },
      jobs: { ok: true, value: { total: 5, byState: { completed: i * 3, queued: 1 } } },
    });
    const out = buildView(r, mem);
    mem = out.memory;
    v = out.view;
  }
  assert.equal(v!.series.length, seriesPointsMax);
  assert.equal(v!.kafka.error, 'ZooKeeper down');
  assert.equal(v!.groups.length, 1, 'groups still read');
  assert.equal(v!.jobs.completedPerSec, 3);
  assert.deepEqual(v!.jobs.byState, { completed: (seriesPointsMax + 9) * 3, queued: 1 });
  const noJobs = buildView(round({ atMs: 1, jobs: { ok: false, error: 'HTTP 503' } }), emptyMemory());
  assert.equal(noJobs.view.jobs.up, false);
  assert.equal(noJobs.view.jobs.error, 'HTTP 503');
});

test('buildView with 1,000 topics of 3 partitions stays well under the refresh budget', () => {
  const partitions = [];
  const offsets = [];
  for (let t = 0; t < 1000; t++) {
    for (let p = 0; p < 3; p++) {
      partitions.push({ topic: `topic-${t}`, partition: p, replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1 + p });
      offsets.push({ topic: `topic-${t}`, partition: p, oldest: 0, current: t });
    }
  }
  const r = round({
    atMs: 1,
    kafka: { ok: true, value: { brokers: [1, 2, 3].map((id) => ({ id, host: 'h', port: id })), controller: 1, partitions } },
  });
  r.offsets = { ok: true, value: offsets };
  const t0 = performance.now();
  const { view } = buildView(r, emptyMemory());
  viewChanged(undefined, view);
  viewChanged(view, view);
  const ms = performance.now() - t0;
  assert.equal(view.kafka.topics.length, 1000);
  assert.ok(ms < 300, `took ${ms} ms`);
});

test('writes: the CSRF header, a same-origin Origin and (with a token) the bearer token are required', () => {
  const h = { host: '127.0.0.1:3000', 'x-clustergenie-csrf': '1' };
  assert.equal(writeRefusal(h, undefined), undefined);
  assert.equal(writeRefusal({ host: '127.0.0.1:3000' }, undefined)?.code, 'FORBIDDEN');
  assert.equal(writeRefusal({ ...h, origin: 'http://127.0.0.1:3000' }, undefined), undefined);
  assert.equal(writeRefusal({ ...h, origin: 'http://evil.example' }, undefined)?.code, 'FORBIDDEN');
  assert.equal(writeRefusal({ ...h, origin: 'null' }, undefined)?.code, 'FORBIDDEN');
  assert.equal(writeRefusal(h, 'tok')?.code, 'FORBIDDEN');
  assert.equal(writeRefusal({ ...h, authorization: 'Bearer nope' }, 'tok')?.code, 'FORBIDDEN');
  assert.equal(writeRefusal({ ...h, authorization: 'Bearer tok' }, 'tok'), undefined);
});

test('listening: loopback without a token is fine, any other address needs one', () => {
  for (const host of ['127.0.0.1', 'localhost', '::1', '[::1]', '127.1.2.3']) assert.equal(isLoopbackHost(host), true, host);
  for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com']) assert.equal(isLoopbackHost(host), false, host);
  assert.doesNotThrow(() => checkListenOptions({ host: '127.0.0.1' }));
  assert.throws(() => checkListenOptions({ host: '0.0.0.0' }), /--token/);
  assert.throws(() => checkListenOptions({ host: '0.0.0.0', token: '' }), /--token/);
  assert.doesNotThrow(() => checkListenOptions({ host: '0.0.0.0', token: 't' }));
});

test('values: text when valid UTF-8, base64 otherwise, cut with truncated; search looks at key, value and headers', () => {
  assert.deepEqual(encodeBytes(Buffer.from('<script>alert(1)</script>')), {
    text: '<script>alert(1)</script>',
    encoding: 'utf8',
    truncated: false,
  });
  assert.deepEqual(encodeBytes(Buffer.from([0xff, 0x00])), { text: '/wA=', encoding: 'base64', truncated: false });
  const cut = encodeBytes(Buffer.alloc(100, 'a'), 10);
  assert.equal(cut.text, 'a'.repeat(10));
  assert.equal(cut.truncated, true);
  const rec: ReadRecord = {
    partition: 0,
    offset: 7n,
    timestamp: 5n,
    key: null,
    value: Buffer.alloc(200_000, 'v'),
    headers: [[Buffer.from('trace'), Buffer.from('Needle')]],
  };
  const m = toMessage(rec);
  assert.equal(m.key, null);
  assert.equal(m.offset, '7');
  assert.equal(m.truncated, true);
  assert.equal(m.valueBytes, 200_000);
  assert.equal(recordMatches(rec, 'needle'), true);
  assert.equal(recordMatches(rec, 'absent'), false);
});

test('log tail messages become LogLines, cut at the value limit', () => {
  const lines = tailLines({
    streams: [{ stream: { app: 'a' }, values: [['1', 'short'], ['2', 'x'.repeat(70_000)], ['bad']] }],
  });
  assert.equal(lines.length, 2);
  assert.deepEqual(lines[0], { ts: '1', labels: { app: 'a' }, line: 'short', truncated: false });
  assert.equal(lines[1]!.truncated, true);
  assert.deepEqual(tailLines({ nope: 1 }), []);
});

test('alerts: firing is the latest record per fingerprint, history newest first and bounded', () => {
  const book = new AlertBook();
  const rec = (fingerprint: string, status: 'firing' | 'resolved') => ({
    fingerprint,
    status,
    labels: { alertname: fingerprint },
    annotations: { summary: `s ${fingerprint}` },
    startsAt: '2026-01-01T00:00:00Z',
    endsAt: '2026-01-01T00:01:00Z',
  });
  book.add(rec('a', 'firing'));
  book.add(rec('b', 'firing'));
  book.add(rec('a', 'resolved'));
  book.add({ nonsense: true } as never);
  const v = book.view();
  assert.deepEqual(
    v.firing.map((a) => a.fingerprint),
    ['b'],
  );
  assert.deepEqual(
    v.history.map((a) => [a.fingerprint, a.status]),
    [
      ['a', 'resolved'],
      ['b', 'firing'],
      ['a', 'firing'],
    ],
  );
  assert.equal(v.history[0]!.endsAt, '2026-01-01T00:01:00Z');
  for (let i = 0; i < alertHistoryMax * 3; i++) book.add(rec(`x${i}`, 'firing'));
  assert.equal(book.view().history.length, alertHistoryMax);
});

test('srvr zxid, and ZooKeeper errors mapped to statuses and codes', () => {
  assert.equal(parseSrvrZxid('Zookeeper version: 3.8\nLatency min/avg/max: 0/0/0\nZxid: 0x1a2b\nMode: standalone\n'), '0x1a2b');
  assert.equal(parseSrvrZxid('nothing'), undefined);
  const cases: [number, number, string][] = [
    [Err.NONODE, 404, 'NONODE'],
    [Err.NODEEXISTS, 409, 'NODEEXISTS'],
    [Err.BADVERSION, 409, 'BADVERSION'],
    [Err.NOTEMPTY, 409, 'NOTEMPTY'],
    [Err.NOAUTH, 403, 'NOAUTH'],
    [Err.CONNECTIONLOSS, 503, 'CONNECTIONLOSS'],
  ];
  for (const [code, status, name] of cases) {
    const r = toApiError(new ZooKeeperError(code, '/x'));
    assert.equal(r.status, status, name);
    assert.equal(r.body.code, name);
  }
  assert.equal(toApiError(new Error('connect ECONNREFUSED 127.0.0.1:1')).status, 503);
});

test('Kafka failures map by the protocol error names the client nests, ahead of their text', () => {
  // The shape @platformatic/kafka throws: a response error wrapping one error per failed item.
  const kafkaError = (apiId: string, message: string) =>
    Object.assign(new Error('Received response with error while executing API'), {
      errors: [Object.assign(new Error(message), { apiId })],
    });
  const cases: [string, string, number, string][] = [
    ['TOPIC_ALREADY_EXISTS', 'Topic with this name already exists.', 409, 'EXISTS'],
    ['UNKNOWN_TOPIC_OR_PARTITION', 'This server does not host this topic-partition.', 404, 'NOT_FOUND'],
    ['NON_EMPTY_GROUP', 'The group is not empty.', 409, 'GROUP_NOT_EMPTY'],
    ['INVALID_PARTITIONS', 'Number of partitions is below 1.', 400, 'BAD_REQUEST'],
    // The name decides even where the text would say otherwise ("invalid" in an unknown-topic message).
    ['UNKNOWN_TOPIC_ID', 'invalid: no topic with this id', 404, 'NOT_FOUND'],
  ];
  for (const [apiId, message, status, code] of cases) {
    const r = toApiError(kafkaError(apiId, message));
    assert.equal(r.status, status, apiId);
    assert.equal(r.body.code, code, apiId);
    assert.ok(r.body.error.includes(message), r.body.error);
  }
});

test('the page shell: the import map allowed by its hash, no data in it', () => {
  assert.ok(indexHtml.includes(`<script type="importmap">${importMap}</script>`));
  assert.equal(importMapSha256, createHash('sha256').update(importMap).digest('base64'));
  assert.ok(indexHtml.includes('<div id="app"></div>'));
  assert.ok(indexHtml.includes('<script type="module" src="/ui/main.js"></script>'));
});

test('with every source down the server still serves the page, vendor modules and a view whose sections carry errors', async () => {
  const d = await startDashboard({
    zookeeper: '127.0.0.1:1',
    bootstrapServers: '127.0.0.1:1',
    port: 0,
    refreshMs: 200,
    jobsUrl: 'http://127.0.0.1:1',
    streamsMax: 2,
  });
  try {
    const page = await fetch(`${d.url}/zookeeper?path=/a`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.ok(csp.includes(`'sha256-${importMapSha256}'`), csp);
    assert.ok(csp.includes("frame-ancestors 'none'"));
    for (const f of ['preact.mjs', 'preact-hooks.mjs', 'preact-jsx-runtime.mjs', 'uplot.mjs', 'uplot.css']) {
      const r = await fetch(`${d.url}/vendor/${f}`);
      assert.equal(r.status, 200, f);
      assert.ok((await r.text()).length > 100, f);
    }
    const ui = await fetch(`${d.url}/ui/main.js`);
    assert.equal(ui.status, 200, 'the compiled page is served from ../ui');
    assert.match(ui.headers.get('content-type') ?? '', /javascript/);
    const missing = await fetch(`${d.url}/api/nothing`);
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type') ?? '', /application\/json/);
    const view = await waitFor(
      async () => {
        const r = await fetch(`${d.url}/api/view`);
        return r.status === 200 ? ((await r.json()) as DashboardView) : undefined;
      },
      { timeoutMs: 30_000, what: 'a first view' },
    );
    assert.equal(view.zookeeper.members[0]!.up, false);
    assert.equal(view.zookeeper.healthy, false);
    assert.ok(view.kafka.error, 'Kafka section has its error');
    assert.equal(view.jobs.up, false);
    assert.ok(view.jobs.error);
    assert.match(view.workers.error ?? '', /worker registrations.*not connected/, 'the workers section has its error');
    assert.deepEqual(view.workers.list, []);
    const info = (await (await fetch(`${d.url}/api/info`)).json()) as { tokenRequired: boolean; version: string };
    assert.equal(info.tokenRequired, false);
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(info.version, pkg.version);
    const huge = await fetch(`${d.url}/api/zk/node`, {
      method: 'POST',
      headers: { 'x-clustergenie-csrf': '1', 'content-type': 'application/json' },
      body: JSON.stringify({ path: '/big', data: 'x'.repeat(3 * 1024 * 1024) }),
    });
    assert.equal(huge.status, 413, 'JSON bodies are bounded');
    assert.equal(((await huge.json()) as { code: string }).code, 'TOO_LARGE');
    const a = await SseClient.open(`${d.url}/api/view/stream`);
    const b = await SseClient.open(`${d.url}/api/view/stream`);
    const third = await fetch(`${d.url}/api/view/stream`);
    assert.equal(third.status, 503, 'streams are bounded');
    assert.equal(((await third.json()) as { code: string }).code, 'UNAVAILABLE');
    a.close();
    await waitFor(async () => {
      const r = await fetch(`${d.url}/api/info`);
      return ((await r.json()) as { streams: number }).streams === 1;
    });
    b.close();
  } finally {
    await d.close();
  }
});

test('clustergenie dashboard: --help, refuses 0.0.0.0 without a token, prints its URL and stops on SIGTERM', async () => {
  const mainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const run = (args: string[]) => {
    const child = spawn(process.execPath, [mainJs, 'dashboard', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    killOnExit(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    return { child, out: () => out, err: () => err };
  };
  const help = run(['--help']);
  const [helpCode] = (await once(help.child, 'exit')) as [number];
  assert.equal(helpCode, 0);
  assert.match(help.out(), /--bootstrap-server/);
  assert.match(help.out(), /--token/);

  const open = run(['--host', '0.0.0.0', '--port', '0', '--zookeeper', '127.0.0.1:1']);
  const [openCode] = (await once(open.child, 'exit')) as [number];
  assert.equal(openCode, 2, 'a usage error');
  assert.match(open.err(), /--token/);

  const ok = run(['--port', '0', '--zookeeper', '127.0.0.1:1', '--bootstrap-server', '127.0.0.1:1']);
  const line = await waitFor(() => /Dashboard on (http:\/\/127\.0\.0\.1:\d+)/.exec(ok.out())?.[1], {
    timeoutMs: 20_000,
    what: 'the URL line',
  });
  assert.equal((await fetch(`${line}/api/info`)).status, 200);
  ok.child.kill('SIGTERM');
  const [code] = (await once(ok.child, 'exit')) as [number];
  assert.equal(code, 0);
});

test('a stream whose client does not read is dropped, not buffered without bound', () => {
  let written = 0;
  let ended = false;
  let gone = false;
  const raw = {
    writableLength: 0,
    write(chunk: string) {
      written += chunk.length;
      raw.writableLength += chunk.length; // nothing drains: the client reads nothing
      return false;
    },
    end() {
      ended = true;
    },
  };
  const s = new SseStream({ raw } as never, () => {
    gone = true;
  });
  const chunk = { blob: 'x'.repeat(1024 * 1024) };
  let sent = 0;
  while (s.send('view', chunk) && sent < 100) sent++;
  assert.ok(sent < 100, 'sending stopped');
  assert.ok(written <= bufferedBytesMax + 2 * 1024 * 1024, `buffered ${written} bytes`);
  assert.equal(s.closed, true);
  assert.equal(ended, true);
  assert.equal(gone, true);
});

test('detail reads are shared by all tabs for one refresh period; failures and dropped keys are read again', async () => {
  let nowMs = 0;
  const shared = new SharedReads(1000, () => nowMs);
  let reads = 0;
  const read = async (): Promise<number> => ++reads;
  const answers = await Promise.all(Array.from({ length: 10 }, () => shared.get('group:g', read)));
  assert.deepEqual(answers, Array(10).fill(1));
  assert.equal(reads, 1, 'ten tabs, one read');
  nowMs = 999;
  assert.equal(await shared.get('group:g', read), 1);
  nowMs = 1000;
  assert.equal(await shared.get('group:g', read), 2, 'stale after the refresh period');
  shared.drop('group:g');
  assert.equal(await shared.get('group:g', read), 3, 'a write drops the key');
  await assert.rejects(shared.get('topic:t', () => Promise.reject(new Error('broker down'))));
  assert.equal(await shared.get('topic:t', read), 4, 'a failure is not kept');
});

test('buildView: workers from their registrations (malformed ones skipped, more than workersMax counted); no read, no workers', () => {
  const info = (id: string, capacity: number) =>
    JSON.stringify({ id, host: 'h', pid: 7, capacity, running: 1, queued: 2, startedAt: 'a', updatedAt: 'b' });
  const nodes = [
    { id: 'w1', data: info('w1', 4) },
    { id: 'w2', data: info('other', 4) }, // id does not match its node
    { id: 'w3', data: '{not json' },
    { id: 'w4', data: null },
    { id: 'w5', data: JSON.stringify({ id: 'w5', capacity: -1, running: 0, queued: 0 }) },
  ];
  const v = buildView(round({ atMs: 1000, workers: { ok: true, value: { total: workersMax + 3, nodes } } }), emptyMemory()).view;
  assert.deepEqual(v.workers.list, [{ id: 'w1', host: 'h', pid: 7, capacity: 4, running: 1, queued: 2, startedAt: 'a', updatedAt: 'b' }]);
  assert.equal(v.workers.omitted, 3);
  assert.equal(parseWorker('x', 'x'.repeat(70_000)), undefined);
  const failed = buildView(round({ atMs: 1000, workers: { ok: false, error: 'reading worker registrations: boom' } }), emptyMemory()).view;
  assert.deepEqual(failed.workers, { list: [], error: 'reading worker registrations: boom' });
  const none = buildView(round({ atMs: 1000 }), emptyMemory()).view;
  assert.deepEqual([none.workers, none.scaling], [{ list: [] }, []]);
  const withScaling = buildView(
    round({ atMs: 1000, scaling: [{ worker: 'w1', at: 't', from: 1, to: 2, reason: 'r' }], scalingError: 'reading cluster-events: x' }),
    emptyMemory(),
  ).view;
  assert.equal(withScaling.scaling.length, 1);
  assert.equal(withScaling.scalingError, 'reading cluster-events: x');
});

test('ScalingBook: keeps worker.scaled records only, newest first, bounded by scalingEventsMax', () => {
  const b = new ScalingBook();
  assert.equal(b.add({ v: 1, type: 'job.completed', jobId: 'j' }), false);
  assert.equal(b.add({ type: 'worker.scaled', worker: 'w', from: 'x', to: 2 }), false);
  assert.equal(b.add(null), false);
  for (let i = 0; i < scalingEventsMax * 2 + 5; i++) {
    assert.equal(b.add({ v: 1, type: 'worker.scaled', worker: 'w', at: `t${i}`, from: i, to: i + 1, reason: 'backlog', backlog: i }), true);
  }
  const v = b.view();
  assert.equal(v.length, scalingEventsMax);
  assert.deepEqual(v[0], {
    worker: 'w',
    at: `t${scalingEventsMax * 2 + 4}`,
    from: scalingEventsMax * 2 + 4,
    to: scalingEventsMax * 2 + 5,
    reason: 'backlog',
    backlog: scalingEventsMax * 2 + 4,
  });
  assert.ok(
    v.every((e, i) => i === 0 || e.from < v[i - 1]!.from),
    'newest first',
  );
  // up's worker-process changes keep their scope; a pool's carry none.
  assert.equal(
    b.add({ v: 1, type: 'worker.scaled', scope: 'processes', worker: 'up-1', at: 't', from: 1, to: 3, reason: 'backlog' }),
    true,
  );
  assert.equal(b.view()[0]?.scope, 'processes');
  assert.equal(b.view()[1]?.scope, undefined);
});
