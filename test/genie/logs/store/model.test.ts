// Random streams and lines pushed to the store over HTTP (snappy protobuf), then LogQL queries
// through query_range/query compared with a plain in-test model of the same data.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encodePush, formatLabels, type LokiStream } from '../../../../src/genie/logs/lokiPush.js';
import { type LogStore, startLogStore } from '../../../../src/genie/logs/store/server.js';
import { silentLogger } from '../../../../src/util/log.js';
import { Random } from '../../../../src/sim/random.js';

type Labels = Record<string, string>;
interface Entry {
  labels: Labels;
  tsNs: bigint;
  line: string;
}

const rnd = new Random(1616);
const apps = ['a', 'b', 'c'];
const envs = ['dev', 'prod'];
const levels = ['info', 'warn', 'error'];
const words = ['foo', 'bar', 'baz', 'timeout', 'ok'];

const baseNs = (BigInt(Date.now()) - 40n * 60_000n) * 1_000_000n;
const entryCount = 1500;
const entries: Entry[] = [];
for (let i = 0; i < entryCount; i++) {
  const app = rnd.pick(apps);
  const labels = { app, env: rnd.pick(envs) };
  const level = rnd.pick(levels);
  const n = rnd.int(0, 9);
  const msg = `${rnd.pick(words)} ${rnd.pick(words)}`;
  // a and b log JSON, c logs logfmt.
  const line = app === 'c' ? `level=${level} n=${n} msg="${msg}"` : JSON.stringify({ level, n, msg, nested: { k: rnd.pick(words) } });
  // Unique timestamps, ~1.6 s apart: 1500 entries span 40 minutes.
  entries.push({ labels, tsNs: baseNs + BigInt(i) * 1_600_000_000n + BigInt(rnd.int(0, 999)), line });
}

/** What the model knows of a line: the fields a parser extracts. */
function fields(line: string): Labels {
  if (line.startsWith('{')) {
    const o = JSON.parse(line) as { level: string; n: number; msg: string; nested: { k: string } };
    return { level: o.level, n: String(o.n), msg: o.msg, nested_k: o.nested.k };
  }
  const m = /^level=(\w+) n=(\d+) msg="([^"]*)"$/.exec(line)!;
  return { level: m[1]!, n: m[2]!, msg: m[3]! };
}

interface LogCase {
  q: string;
  /** The labels the entry ends with, or undefined when the query drops it. */
  model: (e: Entry) => Labels | undefined;
}

const withFields = (e: Entry): Labels => ({ ...e.labels, ...fields(e.line) });

const logCases: LogCase[] = [
  { q: '{app="a"}', model: (e) => (e.labels.app === 'a' ? e.labels : undefined) },
  { q: '{app=~"a|b", env!="prod"}', model: (e) => (['a', 'b'].includes(e.labels.app!) && e.labels.env !== 'prod' ? e.labels : undefined) },
  { q: '{env="dev"} |= "foo"', model: (e) => (e.labels.env === 'dev' && e.line.includes('foo') ? e.labels : undefined) },
  {
    q: '{app=~".+"} != "foo" |~ "n.?.?=?[0-3]"',
    model: (e) => (!e.line.includes('foo') && /n.?.?=?[0-3]/.test(e.line) ? e.labels : undefined),
  },
  { q: '{app!~"c", app=~".+"} !~ "bar|baz"', model: (e) => (e.labels.app !== 'c' && !/bar|baz/.test(e.line) ? e.labels : undefined) },
  {
    q: '{app=~"a|b"} | json | level="error"',
    model: (e) => (e.labels.app !== 'c' && fields(e.line).level === 'error' ? withFields(e) : undefined),
  },
  { q: '{app=~"a|b"} | json | n > 5', model: (e) => (e.labels.app !== 'c' && Number(fields(e.line).n) > 5 ? withFields(e) : undefined) },
  {
    q: '{app="c"} | logfmt | n >= 3 and level!="info"',
    model: (e) => (e.labels.app === 'c' && Number(fields(e.line).n) >= 3 && fields(e.line).level !== 'info' ? withFields(e) : undefined),
  },
  {
    q: '{app="b"} |= "o" | json | level=~"warn|error", msg!~".*ok.*"',
    model: (e) => {
      if (e.labels.app !== 'b' || !e.line.includes('o')) return undefined;
      const f = fields(e.line);
      return /^(warn|error)$/.test(f.level!) && !f.msg!.includes('ok') ? withFields(e) : undefined;
    },
  },
];

interface MetricCase {
  q: string;
  rangeNs: bigint;
  rate: boolean;
  keep: (e: Entry) => Labels | undefined;
  /** The series labels a kept entry's labels are summed into; undefined = no sum. */
  group?: (l: Labels) => Labels;
}

const minute = 60_000_000_000n;
const metricCases: MetricCase[] = [
  { q: 'count_over_time({app="a"}[5m])', rangeNs: 5n * minute, rate: false, keep: logCases[0]!.model },
  {
    q: 'sum by (env) (rate({app=~".+"} |= "foo" [1m]))',
    rangeNs: minute,
    rate: true,
    keep: (e) => (e.line.includes('foo') ? e.labels : undefined),
    group: (l) => ({ env: l.env! }),
  },
  {
    q: 'sum(count_over_time({app=~"a|b"} | json | level="error" [10m]))',
    rangeNs: 10n * minute,
    rate: false,
    keep: logCases[5]!.model,
    group: () => ({}),
  },
  {
    q: 'sum without (level, msg, n) (count_over_time({app="c"} | logfmt [2m]))',
    rangeNs: 2n * minute,
    rate: false,
    keep: (e) => (e.labels.app === 'c' ? withFields(e) : undefined),
    group: (l) => {
      const { level: _l, msg: _m, n: _n, ...rest } = l;
      return rest;
    },
  },
  {
    q: 'sum(count_over_time({app="c"} | logfmt | n < 4 [3m])) by (env)',
    rangeNs: 3n * minute,
    rate: false,
    keep: (e) => (e.labels.app === 'c' && Number(fields(e.line).n) < 4 ? withFields(e) : undefined),
    group: (l) => ({ env: l.env! }),
  },
  {
    // The shape of Grafana's log volume query.
    q: 'sum by (level, detected_level) (count_over_time({app="c"} | logfmt | drop __error__, msg [1m]))',
    rangeNs: minute,
    rate: false,
    keep: (e) => (e.labels.app === 'c' ? withFields(e) : undefined),
    group: (l) => ({ level: l.level! }),
  },
];

/** Model of a metric query at step times: series key -> (step index -> value). */
function modelMetric(c: MetricCase, steps: bigint[]): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>();
  steps.forEach((t, i) => {
    const counts = new Map<string, number>();
    for (const e of entries) {
      if (!(e.tsNs > t - c.rangeNs && e.tsNs <= t)) continue;
      const l = c.keep(e);
      if (!l) continue;
      const key = formatLabels(c.group ? c.group(l) : l);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    for (const [key, n] of counts) {
      if (!out.has(key)) out.set(key, new Map());
      out.get(key)!.set(i, c.rate ? n / (Number(c.rangeNs) / 1e9) : n);
    }
  });
  return out;
}

let store: LogStore;

before(async () => {
  store = await startLogStore({ port: 0, dataDir: ':memory:', logger: silentLogger });
  // Pushed in several requests, streams interleaved, as a batching client would.
  for (let i = 0; i < entries.length; i += 200) {
    const byStream = new Map<string, LokiStream>();
    for (const e of entries.slice(i, i + 200)) {
      const key = formatLabels(e.labels);
      if (!byStream.has(key)) byStream.set(key, { labels: e.labels, entries: [] });
      byStream.get(key)!.entries.push({ tsNs: e.tsNs, line: e.line });
    }
    const { body, contentType } = encodePush([...byStream.values()]);
    const res = await fetch(`${store.url}/loki/api/v1/push`, {
      method: 'POST',
      body: new Uint8Array(body),
      headers: { 'content-type': contentType },
    });
    assert.equal(res.status, 204, await res.text());
  }
});

after(async () => {
  await store.close();
});

async function get(path: string, params: Record<string, string>): Promise<{ status: number; body: unknown; text: string }> {
  const res = await fetch(`${store.url}${path}?${new URLSearchParams(params)}`);
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text };
}

interface StreamsBody {
  status: string;
  data: { resultType: string; result: { stream: Labels; values: [string, string][] }[] };
}
interface MatrixBody {
  status: string;
  data: { resultType: string; result: { metric: Labels; values: [number, string][] }[] };
}

test('log queries return what the model says, in both directions and with limits', async () => {
  const startNs = baseNs + 5n * minute;
  const endNs = baseNs + 35n * minute;
  for (const c of logCases) {
    for (const direction of ['forward', 'backward'] as const) {
      for (const limit of [7, 5000]) {
        const kept = entries
          .filter((e) => e.tsNs >= startNs && e.tsNs < endNs)
          .map((e) => ({ e, labels: c.model(e) }))
          .filter((x) => x.labels !== undefined)
          .sort((x, y) => (x.e.tsNs < y.e.tsNs ? -1 : 1));
        if (direction === 'backward') kept.reverse();
        const expected = kept.slice(0, limit).map((x) => `${formatLabels(x.labels!)} ${x.e.tsNs} ${x.e.line}`);
        const r = await get('/loki/api/v1/query_range', {
          query: c.q,
          start: startNs.toString(),
          end: endNs.toString(),
          limit: String(limit),
          direction,
        });
        assert.equal(r.status, 200, `${c.q}: ${r.text}`);
        const body = r.body as StreamsBody;
        assert.equal(body.status, 'success');
        assert.equal(body.data.resultType, 'streams');
        const got: string[] = [];
        for (const s of body.data.result) {
          const ts = s.values.map((v) => BigInt(v[0]));
          const sorted = [...ts].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
          if (direction === 'backward') sorted.reverse();
          assert.deepEqual(ts, sorted, `${c.q}: values in ${direction} order`);
          for (const [t, line] of s.values) got.push(`${formatLabels(s.stream)} ${t} ${line}`);
        }
        assert.ok(expected.length > 0, `${c.q}: the model keeps something (a test that can fail)`);
        assert.deepEqual(got.sort(), [...expected].sort(), `${c.q} ${direction} limit ${limit}`);
      }
    }
  }
});

test('metric queries (count_over_time, rate, sum by/without) match the model at every step', async () => {
  const startNs = baseNs + 3n * minute;
  const endNs = baseNs + 38n * minute;
  const stepNs = 90_000_000_000n; // 90 s
  const steps: bigint[] = [];
  for (let t = startNs; t <= endNs; t += stepNs) steps.push(t);
  for (const c of metricCases) {
    const r = await get('/loki/api/v1/query_range', { query: c.q, start: startNs.toString(), end: endNs.toString(), step: '90s' });
    assert.equal(r.status, 200, `${c.q}: ${r.text}`);
    const body = r.body as MatrixBody;
    assert.equal(body.data.resultType, 'matrix');
    const expected = modelMetric(c, steps);
    assert.ok(expected.size > 0, `${c.q}: the model has series`);
    const got = new Map<string, Map<number, number>>();
    for (const s of body.data.result) {
      const points = new Map<number, number>();
      for (const [t, v] of s.values) {
        const i = steps.findIndex((x) => Math.abs(Number(x / 1_000_000n) / 1000 - t) < 0.0005);
        assert.ok(i >= 0, `${c.q}: a point at a step time (${t})`);
        points.set(i, Number(v));
      }
      got.set(formatLabels(s.metric), points);
    }
    assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort(), `${c.q}: series`);
    for (const [key, points] of expected) {
      const g = got.get(key)!;
      assert.deepEqual([...g.keys()].sort(), [...points.keys()].sort(), `${c.q} ${key}: steps with points`);
      for (const [i, v] of points) assert.ok(Math.abs(g.get(i)! - v) < 1e-9, `${c.q} ${key} step ${i}: ${g.get(i)} vs ${v}`);
    }
  }
});

test('instant metric queries answer a vector at the given time', async () => {
  const t = baseNs + 30n * minute;
  const r = await get('/loki/api/v1/query', { query: 'sum by (app) (count_over_time({env="dev"}[10m]))', time: t.toString() });
  assert.equal(r.status, 200, r.text);
  const body = r.body as { data: { resultType: string; result: { metric: Labels; value: [number, string] }[] } };
  assert.equal(body.data.resultType, 'vector');
  const expected = new Map<string, number>();
  for (const e of entries) {
    if (e.labels.env === 'dev' && e.tsNs > t - 10n * minute && e.tsNs <= t)
      expected.set(e.labels.app!, (expected.get(e.labels.app!) ?? 0) + 1);
  }
  const got = new Map(body.data.result.map((s) => [s.metric.app!, Number(s.value[1])]));
  assert.deepEqual(got, expected);
  for (const s of body.data.result) assert.ok(Math.abs(s.value[0] - Number(t / 1_000_000n) / 1000) < 0.001);
});

test("Grafana's health check query vector(1)+vector(1) answers 2", async () => {
  const r = await get('/loki/api/v1/query', { query: 'vector(1)+vector(1)', time: '4' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual((r.body as { data: unknown }).data, {
    resultType: 'vector',
    result: [{ metric: {}, value: [4, '2'] }],
    stats: (r.body as { data: { stats: unknown } }).data.stats,
  });
});
