// The LogQL subset without HTTP: the parser's AST, the pipeline on single lines, the metric
// evaluator over an in-memory LogSource, logfmt, and the query parameters.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSampleValue, processEntry, QueryLimitError, runLogQuery } from '../../../../src/genie/logs/store/evaluate.js';
import { runMetricQuery } from '../../../../src/genie/logs/store/aggregate.js';
import { ArraySource } from './arraySource.js';
import { parseLogfmt } from '../../../../src/genie/logs/store/logfmt.js';
import {
  LogQLError,
  type LogQuery,
  type MetricQuery,
  parseDurationNs,
  parseLogQL,
  unquote,
} from '../../../../src/genie/logs/store/logql.js';
import { matchesLabels } from '../../../../src/genie/logs/store/evaluate.js';
import { defaultStepNs, ParamError, parseRangeParams, parseStepNs, parseTime } from '../../../../src/genie/logs/store/params.js';

const log = (q: string): LogQuery => {
  const r = parseLogQL(q);
  assert.equal(r.kind, 'log', q);
  return r as LogQuery;
};

test('stream selectors, line filters, parsers and label filters become the AST', () => {
  const q = log(
    '{app="a", b!="c", d=~"x.*", e!~"y"} |= "foo" != `bar\\d` |~ "re" !~ "nre" or "other" | json | level="error" | n > 5 | logfmt',
  );
  assert.deepEqual(
    q.matchers.map((m) => [m.name, m.op, m.value]),
    [
      ['app', '=', 'a'],
      ['b', '!=', 'c'],
      ['d', '=~', 'x.*'],
      ['e', '!~', 'y'],
    ],
  );
  assert.deepEqual(
    q.stages.map((s) => (s.kind === 'line' ? `${s.op} ${s.values.join('|')}` : s.kind)),
    ['|= foo', '!= bar\\d', '|~ re', '!~ nre|other', 'json', 'labelFilter', 'labelFilter', 'logfmt'],
  );
  const n = q.stages[6]!;
  assert.deepEqual(n.kind === 'labelFilter' && n.filter, { kind: 'number', name: 'n', op: '>', value: 5, unit: 'number' });
  // Regex matchers are anchored, as Prometheus'.
  assert.equal(q.matchers[2]!.re!.test('xyz'), true);
  assert.equal(log('{a=~"b"}').matchers[0]!.re!.test('abc'), false);
});

test('metric queries: count_over_time, rate, sum by/without, offsets, arithmetic', () => {
  const m = parseLogQL('sum by (app, level) (count_over_time({app="a"} | json [5m] offset 1m))') as MetricQuery;
  assert.equal(m.kind, 'aggregate');
  if (m.kind !== 'aggregate') return;
  assert.equal(m.op, 'sum');
  assert.deepEqual(m.grouping, { without: false, labels: ['app', 'level'] });
  assert.equal(m.inner.kind, 'range');
  if (m.inner.kind === 'range') {
    assert.equal(m.inner.op, 'count_over_time');
    assert.equal(m.inner.rangeNs, 300_000_000_000n);
    assert.equal(m.inner.offsetNs, 60_000_000_000n);
  }
  const w = parseLogQL('sum(rate({a="b"}[30s])) without (x)') as MetricQuery;
  assert.deepEqual(w.kind === 'aggregate' && w.grouping, { without: true, labels: ['x'] });
  assert.equal((parseLogQL('vector(1)+vector(1)') as MetricQuery).kind, 'binary');
});

test('errors name the position or the unsupported construct', () => {
  const cases: [string, RegExp][] = [
    ['{a=}', /^parse error at line 1, col 4: syntax error/],
    ['{a="b"}\n|= ', /^parse error at line 2/],
    ['{a="b"} | line_format "{{ if .x }}y{{ end }}"', /template action 'if'/],
    ['{a="b"} | label_format x="{{ .y | nope }}"', /template function nope/],
    ['{a="b"} | decolorize', /decolorize/],
    ['{a="b"} | json x="y"', /json with label extraction/],
    ['{a="b"} | logfmt --strict', /logfmt flags/],
    ['{a="b"} | unpack', /unpack parser/],
    ['{a="b"} |= ip("1.2.3.4")', /ip\(\)/],
    ['count_over_time({a="b"}[1m]) by (x)', /grouping not allowed for count_over_time aggregation/],
    ['sum_over_time({a="b"}[1m])', /invalid aggregation sum_over_time without unwrap/],
    ['count_over_time({a="b"} | unwrap x [1m])', /invalid aggregation count_over_time with unwrap/],
    ['topk(0, count_over_time({a="b"}[1m]))', /k must be a positive integer/],
    ['count_over_time({a="b"}[1m]) > bool 3', /modifiers|binary/],
    ['{a="\\q"}', /invalid char escape/],
    ['{a!="b"}', /at least one regexp or equality matcher/],
    ['x'.repeat(70_000), /longer than/],
  ];
  for (const [q, re] of cases) {
    assert.throws(
      () => parseLogQL(q),
      (e: unknown) => e instanceof LogQLError && re.test(e.message),
      q.slice(0, 40),
    );
  }
});

test('literals: Go string escapes and durations', () => {
  assert.equal(unquote('"a\\"b\\\\c\\n\\x41\\u00e9"'), 'a"b\\c\nAé');
  assert.equal(unquote('`raw\\d`'), 'raw\\d');
  assert.equal(parseDurationNs('1h30m'), 5_400_000_000_000n);
  assert.equal(parseDurationNs('1.5s'), 1_500_000_000n);
  assert.equal(parseDurationNs('100ms'), 100_000_000n);
  assert.equal(parseDurationNs('1d'), 86_400_000_000_000n);
  assert.equal(parseDurationNs('5'), undefined);
});

test('the pipeline: json flattening, _extracted on conflicts, errors, numeric and unit filters', () => {
  const stream = { app: 'a', level: 'x' };
  const j = log('{app="a"} | json');
  assert.deepEqual(processEntry(j.stages, '{"level":"error","n":3,"o":{"p":"q","r":[1]},"bad-key":true,"nul":null}', stream), {
    app: 'a',
    level: 'x',
    level_extracted: 'error',
    n: '3',
    o_p: 'q',
    bad_key: 'true',
    nul: '',
  });
  assert.deepEqual(processEntry(j.stages, 'not json', stream), { ...stream, __error__: 'JSONParserErr' });
  assert.deepEqual(processEntry(log('{app="a"} | logfmt').stages, 'a=1 b="two words" flag', { app: 'a' }), {
    app: 'a',
    a: '1',
    b: 'two words',
    flag: '',
  });
  // Only string matchers drop an errored line; the error label can be matched.
  assert.equal(processEntry(log('{app="a"} | json | n > 1').stages, 'oops', stream)?.__error__, 'JSONParserErr');
  assert.equal(processEntry(log('{app="a"} | json | __error__=""').stages, 'oops', stream), undefined);
  // A numeric filter on a value that is not a number keeps the line with LabelFilterErr.
  assert.equal(processEntry(log('{app="a"} | logfmt | n > 1').stages, 'n=abc', { app: 'a' })?.__error__, 'LabelFilterErr');
  const dur = log('{app="a"} | logfmt | took > 1.5s');
  assert.ok(processEntry(dur.stages, 'took=2s', { app: 'a' }));
  assert.equal(processEntry(dur.stages, 'took=900ms', { app: 'a' }), undefined);
  const bytes = log('{app="a"} | logfmt | size >= 1KB');
  assert.ok(processEntry(bytes.stages, 'size=2KB', { app: 'a' }));
  assert.equal(processEntry(bytes.stages, 'size=10B', { app: 'a' }), undefined);
  const orAnd = log('{app="a"} | logfmt | (x="1" or y="2") and z!="3"');
  assert.ok(processEntry(orAnd.stages, 'x=1 z=4', { app: 'a' }));
  assert.equal(processEntry(orAnd.stages, 'x=1 z=3', { app: 'a' }), undefined);
  assert.ok(processEntry(orAnd.stages, 'y=2', { app: 'a' }));
  // drop and keep, by name or by name and value; dropping __error__ is how Grafana's volume query skips errors.
  assert.deepEqual(processEntry(log('{app="a"} | logfmt | drop x, y="2", __error__').stages, 'x=1 y=2 z=3', { app: 'a' }), {
    app: 'a',
    z: '3',
  });
  assert.deepEqual(processEntry(log('{app="a"} | logfmt | drop y="9"').stages, 'y=2', { app: 'a' }), { app: 'a', y: '2' });
  assert.deepEqual(processEntry(log('{app="a"} | logfmt | keep x, z=~"[0-9]"').stages, 'x=1 y=2 z=3', { app: 'a' }), { x: '1', z: '3' });
  assert.deepEqual(processEntry(log('{app="a"} | json | drop __error__').stages, 'oops', { app: 'a' }), { app: 'a' });
  // Missing labels match as "".
  assert.equal(matchesLabels(log('{app="a", x=""}').matchers, { app: 'a' }), true);
});

test('logfmt reads quoted values and refuses broken lines', () => {
  assert.deepEqual(
    [...parseLogfmt('level=info msg="a \\"quoted\\" word" n=3')!],
    [
      ['level', 'info'],
      ['msg', 'a "quoted" word'],
      ['n', '3'],
    ],
  );
  assert.equal(parseLogfmt('msg="unterminated'), undefined);
  assert.equal(parseLogfmt('=value'), undefined);
  assert.deepEqual([...parseLogfmt('')!], []);
});

const s = 1_000_000_000n;

test('metric evaluation: windows are (t-range, t], rate divides by the range, vectors combine', () => {
  const src = new ArraySource(
    [
      { id: 1, labels: { app: 'a', env: 'dev' } },
      { id: 2, labels: { app: 'b', env: 'dev' } },
    ],
    [
      { streamId: 1, tsNs: 10n * s, line: 'x' },
      { streamId: 1, tsNs: 20n * s, line: 'x' },
      { streamId: 2, tsNs: 20n * s, line: 'y' },
      { streamId: 2, tsNs: 29n * s, line: 'y' },
    ],
  );
  const run = (q: string) => runMetricQuery(parseLogQL(q) as MetricQuery, src, { startNs: 10n * s, endNs: 30n * s, stepNs: 10n * s });
  const c = run('count_over_time({env="dev"}[10s])');
  assert.deepEqual(c.stepsNs, [10n * s, 20n * s, 30n * s]);
  assert.equal(c.value.kind, 'vector');
  if (c.value.kind !== 'vector') return;
  assert.deepEqual(
    c.value.series.map((x) => [x.labels.app, [...x.values]]),
    [
      ['a', [1, 1, Number.NaN]],
      ['b', [Number.NaN, 1, 1]],
    ],
  );
  const r = run('sum by (env) (rate({env="dev"}[20s]))');
  assert.ok(r.value.kind === 'vector' && r.value.series.length === 1);
  assert.deepEqual(r.value.series[0]!.labels, { env: 'dev' });
  // Over 20 s windows: t=10 holds a@10; t=20 a@10, a@20, b@20; t=30 a@20, b@20, b@29 (10 is out).
  const rates = (r.value as { series: { values: Float64Array }[] }).series[0]!.values;
  for (const [i, v] of [0.05, 0.15, 0.15].entries()) assert.ok(Math.abs(rates[i]! - v) < 1e-12, `step ${i}`);
  const b = run('sum(count_over_time({app="a"}[1m])) * 2 + vector(1)');
  assert.deepEqual(b.value.kind === 'vector' && [...b.value.series[0]!.values], [3, 5, 5]);
  // PromQL precedence, whatever nesting the grammar's tree has.
  assert.deepEqual(run('1 + 2 * 3').value, { kind: 'scalar', value: 7 });
  assert.deepEqual(run('2 * 3 + 1').value, { kind: 'scalar', value: 7 });
  assert.deepEqual(run('10 - 2 - 3').value, { kind: 'scalar', value: 5 });
  assert.deepEqual(run('2 ^ 3 ^ 2').value, { kind: 'scalar', value: 512 });
  assert.deepEqual(run('(1 + 2) * 3').value, { kind: 'scalar', value: 9 });
  assert.deepEqual(run('2 * (3 + 1)').value, { kind: 'scalar', value: 8 });
  // Limits are clear errors.
  assert.throws(
    () =>
      runMetricQuery(
        parseLogQL('count_over_time({env="dev"}[1m])') as MetricQuery,
        src,
        { startNs: 0n, endNs: 30n * s, stepNs: s },
        { scanEntriesMax: 1000, seriesMax: 1 },
      ),
    QueryLimitError,
  );
  assert.throws(
    () =>
      runLogQuery(
        log('{env="dev"}'),
        src,
        { startNs: 0n, endNs: 100n * s, limit: 10, direction: 'forward' },
        { scanEntriesMax: 2, seriesMax: 10 },
      ),
    QueryLimitError,
  );
  // A parser error in a metric query fails it with Loki's advice.
  assert.throws(() => run('count_over_time({env="dev"} | json [1m])'), /pipeline error: 'JSONParserErr'.*__error__/);
});

test('sample values print as Go prints them', () => {
  assert.equal(formatSampleValue(2), '2');
  assert.equal(formatSampleValue(0.1), '0.1');
  assert.equal(formatSampleValue(1e21), '1000000000000000000000');
  assert.equal(formatSampleValue(1 / 0), '+Inf');
  assert.equal(formatSampleValue(Number.NaN), 'NaN');
});

test('query parameters: times in ns, seconds or RFC3339; steps; limits', () => {
  assert.equal(parseTime('1700000000', 0n, 't'), 1_700_000_000_000_000_000n);
  assert.equal(parseTime('1700000000.5', 0n, 't'), 1_700_000_000_500_000_000n);
  assert.equal(parseTime('1700000000123456789', 0n, 't'), 1_700_000_000_123_456_789n);
  assert.equal(parseTime('2023-11-14T22:13:20.25Z', 0n, 't'), 1_700_000_000_250_000_000n);
  assert.equal(parseTime(undefined, 42n, 't'), 42n);
  assert.throws(() => parseTime('soon', 0n, 'start'), ParamError);
  assert.equal(parseStepNs('15s'), 15n * s);
  assert.equal(parseStepNs('0.5'), s / 2n);
  assert.equal(defaultStepNs(0n, 1000n * s), 4n * s);
  const p = parseRangeParams({ query: 'x', start: '100', end: '200' }, 0n, 5000);
  assert.deepEqual(p, { startNs: 100n * s, endNs: 200n * s, stepNs: s, limit: 100, direction: 'backward' });
  assert.throws(() => parseRangeParams({ start: '200', end: '100' }, 0n, 5000), /end timestamp/);
});
