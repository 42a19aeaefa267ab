// The LogQL evaluator: pure functions over entries that a LogSource hands out in time order. No
// HTTP, no SQL, no clock: the shell passes start/end/step, the storage implements LogSource, and
// tests can drive it with arrays.

import { formatLabels } from '../lokiPush.js';
import { parseLogfmt } from './logfmt.js';
import {
  type BinaryOp,
  type LabelFilterExpr,
  type LabelMatcher,
  LogQLError,
  type LogQuery,
  type MetricQuery,
  parseBytes,
  parseDurationNs,
  type Stage,
} from './logql.js';

export type Labels = Record<string, string>;
export type Direction = 'forward' | 'backward';

export interface StreamRef {
  id: number;
  labels: Labels;
}

export interface StoredEntry {
  streamId: number;
  tsNs: bigint;
  line: string;
}

/** What the evaluator reads; the sqlite storage implements it, tests may use arrays. */
export interface LogSource {
  /** Streams whose labels satisfy every matcher. */
  streams(matchers: readonly LabelMatcher[]): StreamRef[];
  /** Entries of those streams with from <= ts < to, ordered by (ts, stream id, arrival) in `direction`. */
  entries(streamIds: readonly number[], fromNs: bigint, toNs: bigint, direction: Direction): Iterable<StoredEntry>;
}

/** A query that would go past one of the store's bounds; 400 with the message, as Loki's limits. */
export class QueryLimitError extends Error {}

export interface EvalLimits {
  /** Entries read from storage per query, before the pipeline. */
  scanEntriesMax: number;
  /** Result series of a metric query (Loki's max_query_series). */
  seriesMax: number;
}

export const defaultEvalLimits: EvalLimits = { scanEntriesMax: 2_000_000, seriesMax: 500 };

// ---------------------------------------------------------------------------------------------
// Selectors and pipelines

export function matchOne(m: LabelMatcher, value: string): boolean {
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return m.re!.test(value);
    case '!~':
      return !m.re!.test(value);
  }
}

/** A missing label matches as the empty string, as in Prometheus and Loki. */
export function matchesLabels(matchers: readonly LabelMatcher[], labels: Labels): boolean {
  return matchers.every((m) => matchOne(m, labels[m.name] ?? ''));
}

export const ERROR_LABEL = '__error__';

function sanitizeKey(key: string): string {
  const k = key.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(k) ? `_${k}` : k;
}

/** Adds an extracted label; a name the stream already has gets `_extracted`, as Loki does. */
function addExtracted(out: Labels, stream: Labels, key: string, value: string): void {
  const name = sanitizeKey(key);
  if (name === '') return;
  out[Object.hasOwn(stream, name) ? `${name}_extracted` : name] = value;
}

function flattenJson(out: Labels, stream: Labels, prefix: string, obj: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix === '' ? k : `${prefix}_${k}`;
    if (v === null) addExtracted(out, stream, key, '');
    else if (Array.isArray(v))
      continue; // Loki's json parser skips arrays
    else if (typeof v === 'object') flattenJson(out, stream, key, v as Record<string, unknown>);
    else addExtracted(out, stream, key, String(v));
  }
}

function numericValue(raw: string, unit: 'number' | 'duration' | 'bytes'): number | undefined {
  if (unit === 'duration') {
    const ns = parseDurationNs(raw);
    return ns === undefined ? undefined : Number(ns) / 1e9;
  }
  if (unit === 'bytes') return parseBytes(raw);
  if (raw.trim() === '') return undefined;
  const n = Number(raw);
  return Number.isNaN(n) ? undefined : n;
}

/** true/false, or the labels gain __error__ (a numeric filter on a value that is not a number). */
function labelFilterPasses(f: LabelFilterExpr, labels: Labels): boolean {
  switch (f.kind) {
    case 'and':
      return labelFilterPasses(f.left, labels) && labelFilterPasses(f.right, labels);
    case 'or':
      return labelFilterPasses(f.left, labels) || labelFilterPasses(f.right, labels);
    case 'match':
      return matchOne(f.matcher, labels[f.matcher.name] ?? '');
    case 'number': {
      if (labels[ERROR_LABEL] !== undefined) return true; // only string matchers filter errored lines
      const raw = labels[f.name];
      if (raw === undefined) return false;
      const v = numericValue(raw, f.unit);
      if (v === undefined) {
        labels[ERROR_LABEL] = 'LabelFilterErr';
        return true;
      }
      switch (f.op) {
        case '>':
          return v > f.value;
        case '>=':
          return v >= f.value;
        case '<':
          return v < f.value;
        case '<=':
          return v <= f.value;
        case '==':
          return v === f.value;
        case '!=':
          return v !== f.value;
      }
    }
  }
}

/**
 * Runs a line through the pipeline: the labels it ends with (the stream's plus extracted ones),
 * or undefined when a filter drops it. `stream` is never modified.
 */
export function processEntry(stages: readonly Stage[], line: string, stream: Labels): Labels | undefined {
  let labels = stream;
  let copied = false;
  const own = (): Labels => {
    if (!copied) {
      // A for-in copy, not a spread: a spread object that then grows is several times slower in V8.
      labels = {};
      for (const k in stream) labels[k] = stream[k]!;
      copied = true;
    }
    return labels;
  };
  for (const s of stages) {
    switch (s.kind) {
      case 'line': {
        const hit = s.res ? s.res.some((re) => re.test(line)) : s.values.some((v) => line.includes(v));
        if ((s.op === '|=' || s.op === '|~') !== hit) return undefined;
        break;
      }
      case 'json': {
        let doc: unknown;
        try {
          doc = JSON.parse(line);
        } catch {
          doc = undefined;
        }
        if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) own()[ERROR_LABEL] = 'JSONParserErr';
        else flattenJson(own(), stream, '', doc as Record<string, unknown>);
        break;
      }
      case 'logfmt': {
        const pairs = parseLogfmt(line);
        if (!pairs) own()[ERROR_LABEL] = 'LogfmtParserErr';
        else for (const [k, v] of pairs) addExtracted(own(), stream, k, v);
        break;
      }
      case 'labelFilter':
        if (!labelFilterPasses(s.filter, own())) return undefined;
        break;
      case 'drop':
      case 'keep': {
        const l = own();
        for (const [name, value] of Object.entries(l)) {
          const named = s.names.includes(name) || s.matchers.some((m) => m.name === name && matchOne(m, value));
          if (named === (s.kind === 'drop')) delete l[name];
        }
        break;
      }
    }
  }
  return labels;
}

// ---------------------------------------------------------------------------------------------
// Log queries

export interface StreamResult {
  labels: Labels;
  /** [ns, line] in the query's direction. */
  values: [string, string][];
}

export interface LogQueryResult {
  streams: StreamResult[];
  scannedEntries: number;
  scannedBytes: number;
}

export function runLogQuery(
  q: LogQuery,
  src: LogSource,
  opts: { startNs: bigint; endNs: bigint; limit: number; direction: Direction },
  limits: EvalLimits = defaultEvalLimits,
): LogQueryResult {
  const streams = src.streams(q.matchers);
  const byId = new Map(streams.map((s) => [s.id, s.labels]));
  const groups = new Map<string, StreamResult>();
  let taken = 0;
  let scannedEntries = 0;
  let scannedBytes = 0;
  if (streams.length > 0 && opts.limit > 0) {
    for (const e of src.entries([...byId.keys()], opts.startNs, opts.endNs, opts.direction)) {
      if (++scannedEntries > limits.scanEntriesMax) {
        throw new QueryLimitError(`the query would read more than ${limits.scanEntriesMax} entries; narrow the time range or the selector`);
      }
      scannedBytes += Buffer.byteLength(e.line);
      const labels = processEntry(q.stages, e.line, byId.get(e.streamId)!);
      if (!labels) continue;
      const key = formatLabels(labels);
      let g = groups.get(key);
      if (!g) {
        g = { labels, values: [] };
        groups.set(key, g);
      }
      g.values.push([e.tsNs.toString(), e.line]);
      if (++taken >= opts.limit) break;
    }
  }
  return { streams: [...groups.values()], scannedEntries, scannedBytes };
}

// ---------------------------------------------------------------------------------------------
// Metric queries: every series is one Float64Array over the steps, NaN where there is no point.

export interface Series {
  labels: Labels;
  values: Float64Array;
}

export type MetricValue = { kind: 'vector'; series: Series[] } | { kind: 'scalar'; value: number };

export interface MetricResult {
  value: MetricValue;
  /** The step times, ns. */
  stepsNs: bigint[];
  scannedEntries: number;
  scannedBytes: number;
}

export function stepTimes(startNs: bigint, endNs: bigint, stepNs: bigint): bigint[] {
  const out: bigint[] = [];
  if (stepNs <= 0n) return [endNs];
  for (let t = startNs; t <= endNs; t += stepNs) out.push(t);
  return out;
}

function groupKey(labels: Labels, grouping: { without: boolean; labels: string[] } | undefined): Labels {
  if (!grouping) return {};
  const out: Labels = {};
  if (grouping.without) {
    for (const [k, v] of Object.entries(labels)) if (!grouping.labels.includes(k) && k !== '__name__') out[k] = v;
  } else {
    for (const k of grouping.labels) if (labels[k] !== undefined) out[k] = labels[k]!;
  }
  return out;
}

function arith(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return a % b;
    case '^':
      return a ** b;
  }
}

class MetricEvaluator {
  scannedEntries = 0;
  scannedBytes = 0;

  constructor(
    private readonly src: LogSource,
    private readonly steps: bigint[],
    private readonly limits: EvalLimits,
  ) {}

  private checkSeries(n: number): void {
    if (n > this.limits.seriesMax) throw new QueryLimitError(`maximum of series (${this.limits.seriesMax}) reached for a single query`);
  }

  eval(e: MetricQuery): MetricValue {
    switch (e.kind) {
      case 'number':
        return { kind: 'scalar', value: e.value };
      case 'vector':
        return { kind: 'vector', series: [{ labels: {}, values: new Float64Array(this.steps.length).fill(e.value) }] };
      case 'range':
        return { kind: 'vector', series: this.range(e) };
      case 'sum':
        return { kind: 'vector', series: this.sum(e) };
      case 'binary':
        return this.binary(e.op, this.eval(e.left), this.eval(e.right));
    }
  }

  /** `regroup`: sum's grouping applied per entry, so a high-cardinality inner series set never materialises. */
  private range(e: Extract<MetricQuery, { kind: 'range' }>, regroup?: (l: Labels) => Labels): Series[] {
    const steps = this.steps;
    const first = steps[0]!;
    const last = steps[steps.length - 1]!;
    // Each step t counts entries in (t - offset - range, t - offset].
    const fromNs = first - e.offsetNs - e.rangeNs + 1n;
    const toNs = last - e.offsetNs + 1n;
    const streams = this.src.streams(e.query.matchers);
    const byId = new Map(streams.map((s) => [s.id, s.labels]));
    const perSeries = new Map<string, { labels: Labels; ts: number[] }>();
    if (streams.length > 0) {
      for (const entry of this.src.entries([...byId.keys()], fromNs, toNs, 'forward')) {
        if (++this.scannedEntries > this.limits.scanEntriesMax) {
          throw new QueryLimitError(
            `the query would read more than ${this.limits.scanEntriesMax} entries; narrow the time range or the selector`,
          );
        }
        this.scannedBytes += Buffer.byteLength(entry.line);
        const labels = processEntry(e.query.stages, entry.line, byId.get(entry.streamId)!);
        if (!labels) continue;
        const err = labels[ERROR_LABEL];
        if (err !== undefined) {
          throw new LogQLError(
            `pipeline error: '${err}' for series: '${formatLabels(labels)}'. Use a label filter to intentionally skip this error. (e.g | __error__!="${err}"). To skip all potential errors you can match empty errors.(e.g __error__="")`,
          );
        }
        const seriesLabels = regroup ? regroup(labels) : labels;
        const key = formatLabels(seriesLabels);
        let s = perSeries.get(key);
        if (!s) {
          s = { labels: seriesLabels, ts: [] };
          perSeries.set(key, s);
          this.checkSeries(perSeries.size);
        }
        s.ts.push(Number(entry.tsNs - fromNs)); // relative, so a double holds it exactly
      }
    }
    const rangeSeconds = Number(e.rangeNs) / 1e9;
    const out: Series[] = [];
    for (const s of perSeries.values()) {
      const values = new Float64Array(steps.length).fill(Number.NaN);
      let lo = 0;
      let hi = 0;
      for (let i = 0; i < steps.length; i++) {
        const end = Number(steps[i]! - e.offsetNs - fromNs); // inclusive
        const start = end - Number(e.rangeNs); // exclusive
        while (hi < s.ts.length && s.ts[hi]! <= end) hi++;
        while (lo < hi && s.ts[lo]! <= start) lo++;
        const count = hi - lo;
        if (count > 0) values[i] = e.op === 'rate' ? count / rangeSeconds : count;
      }
      out.push({ labels: s.labels, values });
    }
    return out;
  }

  private sum(e: Extract<MetricQuery, { kind: 'sum' }>): Series[] {
    // count and rate add up, so summing them is counting into the groups directly.
    if (e.inner.kind === 'range') return this.range(e.inner, (l) => groupKey(l, e.grouping));
    const inner = this.eval(e.inner);
    if (inner.kind === 'scalar') throw new LogQLError('parse error : sum needs a vector, not a scalar');
    const groups = new Map<string, Series>();
    for (const s of inner.series) {
      const labels = groupKey(s.labels, e.grouping);
      const key = formatLabels(labels);
      let g = groups.get(key);
      if (!g) {
        g = { labels, values: new Float64Array(this.steps.length).fill(Number.NaN) };
        groups.set(key, g);
        this.checkSeries(groups.size);
      }
      for (let i = 0; i < s.values.length; i++) {
        const v = s.values[i]!;
        if (!Number.isNaN(v)) g.values[i] = Number.isNaN(g.values[i]!) ? v : g.values[i]! + v;
      }
    }
    return [...groups.values()];
  }

  private binary(op: BinaryOp, a: MetricValue, b: MetricValue): MetricValue {
    if (a.kind === 'scalar' && b.kind === 'scalar') return { kind: 'scalar', value: arith(op, a.value, b.value) };
    const map = (s: Series, f: (v: number) => number): Series => ({
      labels: s.labels,
      values: s.values.map((v) => (Number.isNaN(v) ? v : f(v))),
    });
    if (a.kind === 'vector' && b.kind === 'scalar')
      return { kind: 'vector', series: a.series.map((s) => map(s, (v) => arith(op, v, b.value))) };
    if (a.kind === 'scalar' && b.kind === 'vector')
      return { kind: 'vector', series: b.series.map((s) => map(s, (v) => arith(op, a.value, v))) };
    // One-to-one matching on identical label sets, as Prometheus without on/ignoring.
    const right = new Map((b as { series: Series[] }).series.map((s) => [formatLabels(s.labels), s]));
    const out: Series[] = [];
    for (const l of (a as { series: Series[] }).series) {
      const r = right.get(formatLabels(l.labels));
      if (!r) continue;
      const values = new Float64Array(this.steps.length).fill(Number.NaN);
      for (let i = 0; i < values.length; i++) {
        if (!Number.isNaN(l.values[i]!) && !Number.isNaN(r.values[i]!)) values[i] = arith(op, l.values[i]!, r.values[i]!);
      }
      out.push({ labels: l.labels, values });
    }
    return { kind: 'vector', series: out };
  }
}

/** Evaluates a metric query at every step from start to end (both included); step 0 = one instant at end. */
export function runMetricQuery(
  e: MetricQuery,
  src: LogSource,
  opts: { startNs: bigint; endNs: bigint; stepNs: bigint },
  limits: EvalLimits = defaultEvalLimits,
): MetricResult {
  const stepsNs = stepTimes(opts.startNs, opts.endNs, opts.stepNs);
  const ev = new MetricEvaluator(src, stepsNs, limits);
  const value = ev.eval(e);
  if (value.kind === 'vector') value.series.sort((x, y) => (formatLabels(x.labels) < formatLabels(y.labels) ? -1 : 1));
  return { value, stepsNs, scannedEntries: ev.scannedEntries, scannedBytes: ev.scannedBytes };
}

/** A sample value as Prometheus and Loki print it (Go's FormatFloat(v, 'f', -1, 64)). */
export function formatSampleValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  const s = String(v);
  if (!s.includes('e')) return s;
  return Math.abs(v) >= 1 ? BigInt(Math.round(v)).toString() : v.toFixed(20).replace(/0+$/, '');
}

/** Unix seconds with the fraction, as Loki's matrix values carry them. */
export const nsToSeconds = (ns: bigint): number => Number(ns / 1_000_000n) / 1000;
