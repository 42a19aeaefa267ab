// Metric LogQL beyond count and rate, without HTTP: unwrapped range aggregations (with duration()
// and bytes()), bytes_over_time/bytes_rate/absent_over_time, range grouping, and the vector
// aggregations avg/min/max/count/stddev/topk/bottomk, over an in-memory LogSource.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runMetricQuery } from '../../../../src/genie/logs/store/aggregate.js';
import { QueryLimitError } from '../../../../src/genie/logs/store/evaluate.js';
import { type MetricQuery, parseLogQL } from '../../../../src/genie/logs/store/logql.js';
import { quantile } from '../../../../src/genie/logs/store/rangeFunctions.js';
import { ArraySource } from './arraySource.js';

const s = 1_000_000_000n;
const src = new ArraySource(
  [
    { id: 1, labels: { app: 'a', env: 'dev' } },
    { id: 2, labels: { app: 'b', env: 'dev' } },
    { id: 3, labels: { app: 't', env: 'prod' } },
  ],
  [
    { streamId: 1, tsNs: 10n * s, line: 'ms=10' },
    { streamId: 1, tsNs: 20n * s, line: 'ms=30' },
    { streamId: 2, tsNs: 20n * s, line: 'ms=20' },
    { streamId: 2, tsNs: 29n * s, line: 'ms=abc' },
    { streamId: 3, tsNs: 20n * s, line: 'took=1.5s size=2KB' },
  ],
);

/** Series as [labels, values] over the steps 10 s, 20 s, 30 s. */
const run = (q: string): [string, number[]][] => {
  const r = runMetricQuery(parseLogQL(q) as MetricQuery, src, { startNs: 10n * s, endNs: 30n * s, stepNs: 10n * s });
  assert.equal(r.value.kind, 'vector', q);
  if (r.value.kind !== 'vector') return [];
  return r.value.series.map((x) => [JSON.stringify(x.labels), [...x.values].map((v) => Math.round(v * 1000) / 1000)]);
};
const NaN_ = Number.NaN;

test('unwrap: label values become samples; the unwrapped label leaves the series; bad values carry __error__', () => {
  const base = '{env="dev"} | logfmt | unwrap ms | __error__=""';
  assert.deepEqual(run(`sum_over_time(${base} [10s])`), [
    ['{"app":"a","env":"dev"}', [10, 30, NaN_]],
    ['{"app":"b","env":"dev"}', [NaN_, 20, NaN_]],
  ]);
  // Without the filter, the sample that does not convert fails the query with Loki's advice.
  assert.throws(
    () => run('sum_over_time({env="dev"} | logfmt | unwrap ms [10s])'),
    /pipeline error: 'SampleExtractionErr'.*__error__!="SampleExtractionErr"/,
  );
  // Filters after unwrap still see the label.
  assert.deepEqual(run(`sum_over_time(${base} | ms > 15 [10s])`), [
    ['{"app":"a","env":"dev"}', [NaN_, 30, NaN_]],
    ['{"app":"b","env":"dev"}', [NaN_, 20, NaN_]],
  ]);
  assert.deepEqual(run(`avg_over_time(${base} [20s])`), [
    ['{"app":"a","env":"dev"}', [10, 20, 30]],
    ['{"app":"b","env":"dev"}', [NaN_, 20, 20]],
  ]);
  assert.deepEqual(run(`max_over_time(${base} [20s]) by (env)`), [['{"env":"dev"}', [10, 30, 30]]]);
  assert.deepEqual(run(`min_over_time(${base} [20s]) without (app)`), [['{"env":"dev"}', [10, 10, 20]]]);
  assert.deepEqual(run(`quantile_over_time(0.5, ${base} [20s]) by (env)`), [['{"env":"dev"}', [10, 20, 25]]]);
  assert.deepEqual(run(`stddev_over_time(${base} [20s]) by (env)`), [['{"env":"dev"}', [0, 8.165, 5]]]);
  assert.deepEqual(run(`stdvar_over_time(${base} [20s]) by (env)`), [['{"env":"dev"}', [0, 66.667, 25]]]);
  assert.deepEqual(run(`first_over_time(${base} [20s]) by (env)`), [['{"env":"dev"}', [10, 10, 30]]]);
  assert.deepEqual(run(`last_over_time(${base} [20s]) by (env)`), [['{"env":"dev"}', [10, 20, 20]]]);
  assert.deepEqual(run(`rate(${base} [10s])`), [
    ['{"app":"a","env":"dev"}', [1, 3, NaN_]],
    ['{"app":"b","env":"dev"}', [NaN_, 2, NaN_]],
  ]);
  // duration() gives seconds, bytes() humanized sizes.
  assert.deepEqual(run('sum_over_time({env="prod"} | logfmt | unwrap duration(took) [10s])'), [
    ['{"app":"t","env":"prod","size":"2KB"}', [NaN_, 1.5, NaN_]],
  ]);
  assert.deepEqual(run('sum_over_time({env="prod"} | logfmt | unwrap bytes(size) [10s])'), [
    ['{"app":"t","env":"prod","took":"1.5s"}', [NaN_, 2000, NaN_]],
  ]);
  assert.equal(quantile(0.9, [1, 2, 3, 4]), 3.7);
  assert.equal(quantile(2, [1]), Number.POSITIVE_INFINITY);
});

test('bytes_over_time, bytes_rate and absent_over_time over log ranges', () => {
  assert.deepEqual(run('bytes_over_time({app="a"}[10s])'), [['{"app":"a","env":"dev"}', [5, 5, NaN_]]]);
  assert.deepEqual(run('bytes_rate({app="a"}[10s])'), [['{"app":"a","env":"dev"}', [0.5, 0.5, NaN_]]]);
  // line_format's line is the one measured.
  assert.deepEqual(run('bytes_over_time({app="a"} | line_format "x" [10s])'), [['{"app":"a","env":"dev"}', [1, 1, NaN_]]]);
  assert.deepEqual(run('absent_over_time({app="a"}[10s])'), [['{"app":"a"}', [NaN_, NaN_, 1]]]);
  assert.deepEqual(run('absent_over_time({app="zzz", env=~"d.*"}[10s])'), [['{"app":"zzz"}', [1, 1, 1]]]);
  assert.deepEqual(run('absent_over_time({env="dev"}[30s])'), []);
});

test('vector aggregations: avg, min, max, count, stddev, stdvar with by/without; topk and bottomk per step', () => {
  const inner = 'count_over_time({env="dev"}[10s])'; // a: 1 1 -, b: - 1 1
  assert.deepEqual(run(`avg(${inner})`), [['{}', [1, 1, 1]]]);
  assert.deepEqual(run(`count by (env) (${inner})`), [['{"env":"dev"}', [1, 2, 1]]]);
  assert.deepEqual(run(`max without (app) (count_over_time({env="dev"}[20s]))`), [['{"env":"dev"}', [1, 2, 2]]]);
  assert.deepEqual(run(`min(count_over_time({env="dev"}[20s]))`), [['{}', [1, 1, 1]]]);
  assert.deepEqual(run(`stddev(count_over_time({env="dev"}[20s]))`), [['{}', [0, 0.5, 0.5]]]);
  assert.deepEqual(run(`stdvar(count_over_time({env="dev"}[20s]))`), [['{}', [0, 0.25, 0.25]]]);
  assert.deepEqual(run(`sum by (app) (${inner})`), [
    ['{"app":"a"}', [1, 1, NaN_]],
    ['{"app":"b"}', [NaN_, 1, 1]],
  ]);
  // a: 1 2 1, b: - 1 2 over 20 s windows.
  assert.deepEqual(run('topk(1, count_over_time({env="dev"}[20s]))'), [
    ['{"app":"a","env":"dev"}', [1, 2, NaN_]],
    ['{"app":"b","env":"dev"}', [NaN_, NaN_, 2]],
  ]);
  assert.deepEqual(run('bottomk(1, count_over_time({env="dev"}[20s]))'), [
    ['{"app":"a","env":"dev"}', [1, NaN_, 1]],
    ['{"app":"b","env":"dev"}', [NaN_, 1, NaN_]],
  ]);
  assert.deepEqual(run('topk by (app) (1, count_over_time({env=~".+"}[20s]))').length, 3);
  assert.throws(() => run('avg(1)'), /avg needs a vector/);
  // Overlapping windows are bounded: a 1 h range at a 60 ms step revisits each sample 60000 times.
  assert.throws(
    () =>
      runMetricQuery(
        parseLogQL('max_over_time({env="dev"} | logfmt | unwrap ms | __error__="" [1h])') as MetricQuery,
        src,
        {
          startNs: 0n,
          endNs: 3600n * s,
          stepNs: 60_000_000n,
        },
        { scanEntriesMax: 1000, seriesMax: 10, windowSampleVisitsMax: 100_000 },
      ),
    QueryLimitError,
  );
});
