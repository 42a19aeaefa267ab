// The log store's HTTP surface: push forms, bad input, labels/series, tail, retention, dedupe,
// persistence, and the operational endpoints.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import snappy from 'snappy';
import WebSocket from 'ws';
import { encodePush, encodePushProtobuf, type LokiStream } from '../../../../src/genie/logs/lokiPush.js';
import { type LogStore, type LogStoreOptions, startLogStore } from '../../../../src/genie/logs/store/server.js';
import { silentLogger } from '../../../../src/util/log.js';
import { Inbox } from '../../../helpers/wait.js';

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

async function withStore(fn: (s: LogStore) => Promise<void>, opts: Partial<LogStoreOptions> = {}): Promise<void> {
  const store = await startLogStore({ port: 0, dataDir: ':memory:', logger: silentLogger, ...opts });
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

async function post(store: LogStore, body: Buffer | string, headers: Record<string, string>, path = '/loki/api/v1/push') {
  const res = await fetch(`${store.url}${path}`, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers });
  return { status: res.status, text: await res.text() };
}

async function push(store: LogStore, streams: LokiStream[], encoding: 'protobuf' | 'json' = 'protobuf') {
  const { body, contentType } = encodePush(streams, encoding);
  return post(store, body, { 'content-type': contentType });
}

async function getJson<T>(store: LogStore, path: string, params: Record<string, string | string[]> = {}): Promise<T> {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) qs.append(k, x);
  const res = await fetch(`${store.url}${path}?${qs}`);
  const text = await res.text();
  assert.equal(res.status, 200, `${path}: ${text}`);
  return JSON.parse(text) as T;
}

interface Streams {
  data: { result: { stream: Record<string, string>; values: [string, string][] }[] };
}

async function lines(store: LogStore, query: string, extra: Record<string, string> = {}): Promise<string[]> {
  const body = await getJson<Streams>(store, '/loki/api/v1/query_range', {
    query,
    start: (nowNs() - 3_600_000_000_000n * 24n).toString(),
    end: (nowNs() + 1_000_000_000n).toString(),
    limit: '5000',
    direction: 'forward',
    ...extra,
  });
  return body.data.result.flatMap((s) => s.values.map((v) => v[1]));
}

async function ready(store: LogStore): Promise<void> {
  const res = await fetch(`${store.url}/ready`);
  assert.equal(res.status, 200);
  assert.equal((await res.text()).trim(), 'ready');
}

test('push accepts snappy protobuf, JSON, gzip JSON, the legacy path and an unlabelled content type', async () => {
  await withStore(async (store) => {
    const t = nowNs();
    const s = (line: string, i: number): LokiStream[] => [
      { labels: { app: 'push', form: line }, entries: [{ tsNs: t + BigInt(i), line }] },
    ];
    assert.equal((await push(store, s('protobuf', 1))).status, 204);
    assert.equal((await push(store, s('json', 2), 'json')).status, 204);
    const json = encodePush(s('gzip', 3), 'json');
    assert.equal((await post(store, gzipSync(json.body), { 'content-type': 'application/json', 'content-encoding': 'gzip' })).status, 204);
    const legacy = encodePush(s('legacy', 4));
    assert.equal((await post(store, legacy.body, { 'content-type': legacy.contentType }, '/api/prom/push')).status, 204);
    const plain = encodePush(s('untyped', 5));
    assert.equal((await post(store, plain.body, { 'content-type': 'application/octet-stream' })).status, 204);
    assert.deepEqual(await lines(store, '{app="push"}'), ['protobuf', 'json', 'gzip', 'legacy', 'untyped']);
  });
});

test('malformed pushes are 400 with a clear message, and the store keeps serving', async () => {
  await withStore(
    async (store) => {
      const t = nowNs();
      const cases: [string, Buffer | string, Record<string, string>, RegExp][] = [
        ['garbage snappy', Buffer.from('this is not snappy at all'), { 'content-type': 'application/x-protobuf' }, /snappy/],
        [
          'garbage protobuf',
          snappy.compressSync(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2])),
          { 'content-type': 'application/x-protobuf' },
          /PushRequest/,
        ],
        ['invalid JSON', '{"streams": [', { 'content-type': 'application/json' }, /not JSON/],
        ['JSON without streams', '{"foo": 1}', { 'content-type': 'application/json' }, /streams/],
        ['bad JSON value', '{"streams":[{"stream":{"a":"b"},"values":[[1,"x"]]}]}', { 'content-type': 'application/json' }, /values\[0\]/],
        ['not gzip', 'plain', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, /gzip/],
        [
          'bad label name (JSON)',
          JSON.stringify({ streams: [{ stream: { 'bad-name': 'x' }, values: [[t.toString(), 'l']] }] }),
          { 'content-type': 'application/json' },
          /invalid label name "bad-name"/,
        ],
        [
          'bad labels (protobuf)',
          // Same length, so the protobuf stays well formed; only the label name turns invalid.
          snappy.compressSync(
            Buffer.from(
              encodePushProtobuf([{ labels: { ok: 'x' }, entries: [{ tsNs: t, line: 'l' }] }])
                .toString('latin1')
                .replace('ok=', '0k='),
              'latin1',
            ),
          ),
          { 'content-type': 'application/x-protobuf' },
          /labels/,
        ],
      ];
      for (const [what, body, headers, message] of cases) {
        const r = await post(store, body, headers);
        assert.equal(r.status, 400, `${what}: ${r.text}`);
        assert.match(r.text, message, what);
        await ready(store);
      }
      // Too large a body: 413.
      const big = await post(store, Buffer.alloc(70 * 1024), { 'content-type': 'application/x-protobuf' });
      assert.equal(big.status, 413, big.text);
      await ready(store);
      assert.deepEqual(await lines(store, '{ok=~".+"}'), []);
    },
    { pushBytesMax: 64 * 1024 },
  );
});

test('a line over lineBytesMax is refused naming its stream; the rest of the push is stored', async () => {
  await withStore(
    async (store) => {
      const t = nowNs();
      const r = await push(store, [
        { labels: { app: 'big' }, entries: [{ tsNs: t, line: 'x'.repeat(2000) }] },
        { labels: { app: 'small' }, entries: [{ tsNs: t, line: 'fits' }] },
      ]);
      assert.equal(r.status, 400);
      assert.match(
        r.text,
        /Max entry size '1024' bytes exceeded for stream '\{app="big"\}' while adding an entry with length '2000' bytes/,
      );
      assert.deepEqual(await lines(store, '{app=~"big|small"}'), ['fits']);
      const metrics = await (await fetch(`${store.url}/metrics`)).text();
      assert.match(metrics, /loki_discarded_samples_total\{reason="line_too_long"\} 1/);
    },
    { lineBytesMax: 1024 },
  );
});

test('malformed and unsupported LogQL is 400 with Loki-style text, and the store keeps serving', async () => {
  await withStore(async (store) => {
    const cases: [string, RegExp][] = [
      ['{app=}', /parse error at line 1, col 6/],
      ['{app="a"', /parse error/],
      ['sum by (a) (rate({a="b"}[1m])) by (b)', /parse error/],
      ['{app=~".*"}', /at least one regexp or equality matcher/],
      ['{app="a"} | line_format "{{.msg | title}}"', /template function title/],
      ['{app="a"} | regexp "(.*)"', /at least one named capture/],
      ['avg_over_time({app="a"}[1m])', /invalid aggregation avg_over_time without unwrap/],
      ['count_over_time({app="a"}[1m]) by (x)', /grouping not allowed for count_over_time/],
      ['{app="a"} | decolorize', /decolorize .* not supported/],
      ['{app=~"("}', /invalid regular expression/],
      ['', /query parameter is required/],
    ];
    for (const [query, message] of cases) {
      const res = await fetch(`${store.url}/loki/api/v1/query_range?${new URLSearchParams({ query })}`);
      const text = await res.text();
      assert.equal(res.status, 400, `${query}: ${text}`);
      assert.match(text, message, query);
      await ready(store);
    }
    const bad: [Record<string, string>, RegExp][] = [
      [{ query: '{a="b"}', start: 'yesterday' }, /invalid start/],
      [{ query: '{a="b"}', limit: '-1' }, /invalid limit/],
      [{ query: '{a="b"}', limit: '999999' }, /max entries limit/],
      [{ query: '{a="b"}', direction: 'sideways' }, /invalid direction/],
      [{ query: 'count_over_time({a="b"}[1m])', step: '0' }, /zero or negative/],
      [{ query: 'count_over_time({a="b"}[1m])', start: '1', end: '100000', step: '1' }, /11,000 points/],
    ];
    for (const [params, message] of bad) {
      const res = await fetch(`${store.url}/loki/api/v1/query_range?${new URLSearchParams(params)}`);
      const text = await res.text();
      assert.equal(res.status, 400, `${JSON.stringify(params)}: ${text}`);
      assert.match(text, message);
    }
    const instant = await fetch(`${store.url}/loki/api/v1/query?${new URLSearchParams({ query: '{a="b"}' })}`);
    assert.equal(instant.status, 400);
    assert.match(await instant.text(), /instant query/);
    await ready(store);
  });
});

interface Matrix {
  data: { resultType: string; result: { metric: Record<string, string>; values: [number, string][] }[] };
}

test('query_range answers regexp/pattern, line_format/label_format, unwrap and topk queries', async () => {
  await withStore(async (store) => {
    const t0 = nowNs() - 30_000_000_000n;
    const t = (i: number): bigint => t0 + BigInt(i) * 1_000_000_000n;
    const at = (i: number): string => t(i).toString();
    assert.equal(
      (
        await push(store, [
          {
            labels: { app: 'web' },
            entries: [
              { tsNs: t(0), line: 'GET /a 200 2s' },
              { tsNs: t(1), line: 'GET /b 500 3s' },
              { tsNs: t(2), line: 'POST /a 200 5s' },
            ],
          },
          { labels: { app: 'api' }, entries: [{ tsNs: t(1), line: 'GET /c 200 7s' }] },
        ])
      ).status,
      204,
    );
    // 1. Extracting parsers give labels that filter and that streams are keyed by.
    const byRegexp = await getJson<Streams>(store, '/loki/api/v1/query_range', {
      query: '{app="web"} | regexp `^(?P<method>\\S+) (?P<path>\\S+)` | method="GET"',
      start: at(-1),
      end: at(10),
      direction: 'forward',
    });
    assert.deepEqual(
      byRegexp.data.result.map((r) => [r.stream.path, r.values.map((v) => v[1])]),
      [
        ['/a', ['GET /a 200 2s']],
        ['/b', ['GET /b 500 3s']],
      ],
    );
    // 2. line_format rewrites the returned line; label_format the labels.
    const formatted = await getJson<Streams>(store, '/loki/api/v1/query_range', {
      query:
        '{app="web"} | pattern "<method> <path> <code> <_>" | label_format status=code | line_format "{{.method | ToLower}} {{.path}} -> {{.status}}"',
      start: at(-1),
      end: at(10),
      direction: 'forward',
    });
    assert.deepEqual(formatted.data.result.flatMap((r) => r.values.map((v) => v[1])).sort(), [
      'get /a -> 200',
      'get /b -> 500',
      'post /a -> 200',
    ]);
    assert.ok(formatted.data.result.every((r) => r.stream.status !== undefined && r.stream.code === undefined));
    // 3. unwrap with duration(): a matrix of seconds.
    const unwrapped = await getJson<Matrix>(store, '/loki/api/v1/query_range', {
      query: 'sum by (app) (sum_over_time({app=~".+"} | pattern "<_> <_> <_> <took>" | unwrap duration(took) [1m]))',
      start: at(5),
      end: at(5),
      step: '1',
    });
    assert.equal(unwrapped.data.resultType, 'matrix');
    assert.deepEqual(
      unwrapped.data.result.map((r) => [r.metric, r.values.map((v) => v[1])]),
      [
        [{ app: 'api' }, ['7']],
        [{ app: 'web' }, ['10']],
      ],
    );
    // 4. topk keeps the largest series with their own labels.
    const top = await getJson<Matrix>(store, '/loki/api/v1/query_range', {
      query: 'topk(1, count_over_time({app=~".+"}[1m]))',
      start: at(5),
      end: at(5),
      step: '1',
    });
    assert.deepEqual(
      top.data.result.map((r) => [r.metric, r.values.map((v) => v[1])]),
      [[{ app: 'web' }, ['3']]],
    );
  });
});

test('labels, label values and series (match[]) over the stored streams', async () => {
  await withStore(async (store) => {
    const t = nowNs();
    await push(store, [
      { labels: { app: 'api', env: 'dev' }, entries: [{ tsNs: t, line: 'a' }] },
      { labels: { app: 'web', env: 'prod', level: 'error' }, entries: [{ tsNs: t, line: 'b' }] },
      { labels: { app: 'web', env: 'dev' }, entries: [{ tsNs: t, line: 'c' }] },
    ]);
    assert.deepEqual((await getJson<{ status: string; data: string[] }>(store, '/loki/api/v1/labels')).data, ['app', 'env', 'level']);
    assert.deepEqual((await getJson<{ data: string[] }>(store, '/loki/api/v1/label/app/values')).data, ['api', 'web']);
    assert.deepEqual((await getJson<{ data: string[] }>(store, '/loki/api/v1/label/env/values', { query: '{app="web"}' })).data, [
      'dev',
      'prod',
    ]);
    assert.deepEqual((await getJson<{ data: string[] }>(store, '/loki/api/v1/label/nope/values')).data, []);
    const series = await getJson<{ status: string; data: Record<string, string>[] }>(store, '/loki/api/v1/series', {
      'match[]': ['{app="web"}', '{env="dev", app="api"}'],
    });
    assert.equal(series.status, 'success');
    assert.deepEqual(
      series.data.map((l) => JSON.stringify(Object.entries(l).sort())).sort(),
      [
        { app: 'api', env: 'dev' },
        { app: 'web', env: 'dev' },
        { app: 'web', env: 'prod', level: 'error' },
      ]
        .map((l) => JSON.stringify(Object.entries(l).sort()))
        .sort(),
    );
    const stats = await getJson<{ streams: number; chunks: number; entries: number; bytes: number }>(store, '/loki/api/v1/index/stats', {
      query: '{app="web"}',
    });
    assert.deepEqual(stats, { streams: 2, chunks: 2, entries: 2, bytes: 2 });
    // Outside the time range: nothing.
    const old = await getJson<{ data: string[] }>(store, '/loki/api/v1/labels', { start: '1000', end: '2000' });
    assert.deepEqual(old.data, []);
  });
});

test('tail over WebSocket sends the backlog, then pushed lines that match the query', async () => {
  await withStore(async (store) => {
    const t = nowNs();
    await push(store, [{ labels: { app: 'tail' }, entries: [{ tsNs: t - 1000n, line: 'before error' }] }]);
    const ws = new WebSocket(
      `${store.url.replace('http', 'ws')}/loki/api/v1/tail?${new URLSearchParams({ query: '{app="tail"} |= "error"' })}`,
    );
    const frames = new Inbox<{ streams: { stream: Record<string, string>; values: [string, string][] }[]; dropped_entries: unknown }>();
    ws.on('message', (data) => frames.push(JSON.parse(String(data))));
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const first = await frames.next(10_000, 'backlog frame');
      assert.deepEqual(first.streams, [{ stream: { app: 'tail' }, values: [[(t - 1000n).toString(), 'before error']] }]);
      assert.equal(first.dropped_entries, null);
      await push(store, [
        {
          labels: { app: 'tail' },
          entries: [
            { tsNs: t + 1n, line: 'ok line' },
            { tsNs: t + 2n, line: 'an error line' },
          ],
        },
        { labels: { app: 'other' }, entries: [{ tsNs: t + 3n, line: 'other error' }] },
      ]);
      const live = await frames.next(10_000, 'live frame');
      assert.deepEqual(live.streams, [{ stream: { app: 'tail' }, values: [[(t + 2n).toString(), 'an error line']] }]);
    } finally {
      ws.close();
    }
    // A bad tail query closes the socket with the reason.
    const bad = new WebSocket(`${store.url.replace('http', 'ws')}/loki/api/v1/tail?${new URLSearchParams({ query: '{app=' })}`);
    const [code, reason] = await new Promise<[number, string]>((resolve) => bad.once('close', (c, r) => resolve([c, String(r)])));
    assert.equal(code, 1008);
    assert.match(reason, /parse error/);
    await ready(store);
  });
});

test('queries also come as urlencoded POST bodies; a push past streamsMax is 429', async () => {
  await withStore(
    async (store) => {
      const t = nowNs();
      assert.equal((await push(store, [{ labels: { app: 'p1' }, entries: [{ tsNs: t, line: 'posted' }] }])).status, 204);
      const res = await fetch(`${store.url}/loki/api/v1/query_range`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ query: '{app="p1"}', start: (t - 1000n).toString(), end: (t + 1000n).toString() }).toString(),
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as Streams;
      assert.deepEqual(body.data.result, [{ stream: { app: 'p1' }, values: [[t.toString(), 'posted']] }]);
      assert.equal((await push(store, [{ labels: { app: 'p2' }, entries: [{ tsNs: t, line: 'x' }] }])).status, 204);
      const over = await push(store, [{ labels: { app: 'p3' }, entries: [{ tsNs: t, line: 'x' }] }]);
      assert.equal(over.status, 429);
      assert.match(over.text, /stream limit/);
      // Known streams still take entries.
      assert.equal((await push(store, [{ labels: { app: 'p2' }, entries: [{ tsNs: t + 1n, line: 'y' }] }])).status, 204);
    },
    { streamsMax: 2 },
  );
});

test('identical entries are stored once (at-least-once redelivery is idempotent)', async () => {
  await withStore(async (store) => {
    const t = nowNs();
    const batch: LokiStream[] = [
      {
        labels: { app: 'dup' },
        entries: [
          { tsNs: t, line: 'one' },
          { tsNs: t, line: 'one' },
          { tsNs: t, line: 'same ts, other line' },
        ],
      },
    ];
    assert.equal((await push(store, batch)).status, 204);
    assert.equal((await push(store, batch, 'json')).status, 204);
    assert.deepEqual((await lines(store, '{app="dup"}')).sort(), ['one', 'same ts, other line']);
    const metrics = await (await fetch(`${store.url}/metrics`)).text();
    assert.match(metrics, /clustergenie_logstore_duplicate_entries_total 4/);
    assert.match(metrics, /loki_distributor_lines_received_total 6/);
  });
});

test('retention removes entries by age and, oldest first, by size', async () => {
  await withStore(
    async (store) => {
      const t = nowNs();
      const hour = 3_600_000_000_000n;
      await push(store, [
        { labels: { app: 'old' }, entries: [{ tsNs: t - 3n * hour, line: 'ancient' }] },
        { labels: { app: 'new' }, entries: [{ tsNs: t - 30n * 60_000_000_000n, line: 'recent-1' }] },
      ]);
      const r = store.sweep();
      assert.equal(r.deletedByAge, 1);
      assert.equal(r.removedStreams, 1);
      assert.deepEqual(await lines(store, '{app=~"old|new"}'), ['recent-1']);
      assert.deepEqual(
        (await getJson<{ data: string[] }>(store, '/loki/api/v1/label/app/values', { start: (t - 5n * hour).toString() })).data,
        ['new'],
      );
      // Size: 10 bytes per line, 100 bytes allowed; 15 lines -> the 5 oldest (plus recent-1) go.
      const entries = Array.from({ length: 15 }, (_, i) => ({ tsNs: t - 1000n + BigInt(i), line: `line-${String(i).padStart(5, '0')}` }));
      await push(store, [{ labels: { app: 'new' }, entries }]);
      const s = store.sweep();
      assert.equal(s.deletedBySize, 6);
      assert.deepEqual(
        await lines(store, '{app="new"}'),
        entries.slice(5).map((e) => e.line),
      );
    },
    { retentionMs: 3_600_000, retentionBytesMax: 100 },
  );
});

test('entries survive a restart on the same data directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'logstore-'));
  try {
    const t = nowNs();
    await withStore(
      async (store) => {
        assert.equal((await push(store, [{ labels: { app: 'disk' }, entries: [{ tsNs: t, line: 'kept' }] }])).status, 204);
      },
      { dataDir: dir },
    );
    await withStore(
      async (store) => {
        assert.deepEqual(await lines(store, '{app="disk"}'), ['kept']);
        // The stream is known again: a duplicate is still a duplicate.
        await push(store, [{ labels: { app: 'disk' }, entries: [{ tsNs: t, line: 'kept' }] }]);
        assert.deepEqual(await lines(store, '{app="disk"}'), ['kept']);
      },
      { dataDir: dir },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('ready, buildinfo and metrics answer as Loki does', async () => {
  await withStore(async (store) => {
    await ready(store);
    const info = await getJson<{ version: string; revision: string; branch: string; goVersion: string }>(
      store,
      '/loki/api/v1/status/buildinfo',
    );
    assert.match(info.version, /^2\.9\.\d+$/);
    assert.equal(typeof info.revision, 'string');
    assert.equal(typeof info.goVersion, 'string');
    await push(store, [{ labels: { app: 'm' }, entries: [{ tsNs: nowNs(), line: 'hello' }] }]);
    await lines(store, '{app="m"}');
    const res = await fetch(`${store.url}/metrics`);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    assert.match(text, /loki_distributor_bytes_received_total 5/);
    assert.match(text, /loki_ingester_memory_streams 1/);
    assert.match(text, /clustergenie_logstore_queries_total\{endpoint="query_range",status="200"\} 1/);
  });
});
