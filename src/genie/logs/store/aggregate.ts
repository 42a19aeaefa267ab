// Metric queries: range aggregations over log ranges and the vector operations above them. Every
// series is one Float64Array over the steps, NaN where there is no point. Pure: the entries come
// from a LogSource.

import { formatLabels } from '../lokiPush.js';
import { defaultEvalLimits, type EvalLimits, type LogSource, QueryLimitError } from './evaluate.js';
import { type BinaryOp, type Grouping, LogQLError, type LogQuery, type MetricQuery } from './logql.js';
import { ERROR_DETAILS_LABEL, ERROR_LABEL, type Labels, labelFilterPasses, numericValue, runPipeline } from './pipeline.js';
import { additiveRangeOps, rangeValue, vectorValue } from './rangeFunctions.js';

type RangeQuery = Extract<MetricQuery, { kind: 'range' }>;

/** Ops whose window value costs O(1) (no pass over the window's samples); so is rate without unwrap. */
const cheapRangeOps = new Set(['count_over_time', 'absent_over_time', 'first_over_time', 'last_over_time']);

/** Samples visited across all windows of one query (range > step makes windows overlap). */
export const windowSampleVisitsMax = 50_000_000;

/** absent_over_time's labels: the selector's equality matchers, unless a name repeats. */
function absentLabels(q: LogQuery): Labels {
  const out: Labels = {};
  const seen = new Set<string>();
  for (const m of q.matchers) {
    if (seen.has(m.name)) delete out[m.name];
    else if (m.op === '=') out[m.name] = m.value;
    seen.add(m.name);
  }
  return out;
}

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

function groupKey(labels: Labels, grouping: Grouping | undefined): Labels {
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
  private windowVisits = 0;

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
        return { kind: 'vector', series: this.range(e, e.grouping ? (l) => groupKey(l, e.grouping) : undefined) };
      case 'aggregate':
        return { kind: 'vector', series: this.aggregate(e) };
      case 'binary':
        return this.binary(e.op, this.eval(e.left), this.eval(e.right));
    }
  }

  /** The sample an entry gives: its line's bytes, the unwrapped label, or 1 to count it. */
  private sample(e: RangeQuery, line: string, labels: Labels): number {
    if (e.op === 'bytes_over_time' || e.op === 'bytes_rate') return Buffer.byteLength(line);
    const u = e.unwrap;
    if (!u) return 1;
    const raw = labels[u.label];
    let v = Number.NaN;
    if (labels[ERROR_LABEL] === undefined) {
      const n = raw === undefined || raw === '' ? undefined : numericValue(raw, u.unit);
      if (n === undefined) {
        labels[ERROR_LABEL] = 'SampleExtractionErr';
        if (raw) labels[ERROR_DETAILS_LABEL] = `cannot convert ${JSON.stringify(raw)} to a ${u.unit === 'number' ? 'float' : u.unit}`;
      } else v = n;
    }
    return v;
  }

  /** `regroup`: a grouping applied per entry, so a high-cardinality inner series set never materialises. */
  private range(e: RangeQuery, regroup?: (l: Labels) => Labels): Series[] {
    const steps = this.steps;
    const first = steps[0]!;
    const last = steps[steps.length - 1]!;
    // Each step t takes entries in (t - offset - range, t - offset].
    const fromNs = first - e.offsetNs - e.rangeNs + 1n;
    const toNs = last - e.offsetNs + 1n;
    const streams = this.src.streams(e.query.matchers);
    const byId = new Map(streams.map((s) => [s.id, s.labels]));
    const perSeries = new Map<string, { labels: Labels; ts: number[]; vals: number[] }>();
    if (streams.length > 0) {
      for (const entry of this.src.entries([...byId.keys()], fromNs, toNs, 'forward')) {
        if (++this.scannedEntries > this.limits.scanEntriesMax) {
          throw new QueryLimitError(
            `the query would read more than ${this.limits.scanEntriesMax} entries; narrow the time range or the selector`,
          );
        }
        this.scannedBytes += Buffer.byteLength(entry.line);
        const out = runPipeline(e.query.stages, entry.line, byId.get(entry.streamId)!);
        if (!out) continue;
        // The unwrap stage edits the labels; the stream's own object must stay untouched.
        const labels = e.unwrap ? { ...out.labels } : out.labels;
        const value = this.sample(e, out.line, labels);
        if (e.unwrap) {
          // Post filters still see the unwrapped label; the series do not (Loki's order).
          if (!e.unwrap.post.every((f) => labelFilterPasses(f, labels))) continue;
          delete labels[e.unwrap.label];
        }
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
          s = { labels: seriesLabels, ts: [], vals: [] };
          perSeries.set(key, s);
          this.checkSeries(perSeries.size);
        }
        s.ts.push(Number(entry.tsNs - fromNs)); // relative, so a double holds it exactly
        s.vals.push(value);
      }
    }
    const rangeSeconds = Number(e.rangeNs) / 1e9;
    const out: Series[] = [];
    const present = new Uint8Array(steps.length);
    for (const s of perSeries.values()) {
      const values = new Float64Array(steps.length).fill(Number.NaN);
      let lo = 0;
      let hi = 0;
      for (let i = 0; i < steps.length; i++) {
        const end = Number(steps[i]! - e.offsetNs - fromNs); // inclusive
        const start = end - Number(e.rangeNs); // exclusive
        while (hi < s.ts.length && s.ts[hi]! <= end) hi++;
        while (lo < hi && s.ts[lo]! <= start) lo++;
        if (hi === lo) continue;
        if (!cheapRangeOps.has(e.op) && !(e.op === 'rate' && !e.unwrap)) {
          this.windowVisits += hi - lo;
          const max = this.limits.windowSampleVisitsMax ?? windowSampleVisitsMax;
          if (this.windowVisits > max) {
            throw new QueryLimitError(
              `the query would visit more than ${max} samples across its windows; use a larger step or a shorter range`,
            );
          }
        }
        present[i] = 1;
        values[i] = rangeValue(e.op, s.vals, lo, hi, rangeSeconds, e.unwrap !== undefined, e.param ?? 0);
      }
      out.push({ labels: s.labels, values });
    }
    if (e.op !== 'absent_over_time') return out;
    // absent_over_time: 1 where nothing was there, labelled by the selector's equality matchers.
    const values = new Float64Array(steps.length).fill(Number.NaN);
    for (let i = 0; i < steps.length; i++) if (!present[i]) values[i] = 1;
    return values.some((v) => !Number.isNaN(v)) ? [{ labels: absentLabels(e.query), values }] : [];
  }

  private aggregate(e: Extract<MetricQuery, { kind: 'aggregate' }>): Series[] {
    // For additive range aggregations, summing is aggregating into the groups directly.
    if (e.op === 'sum' && e.inner.kind === 'range' && !e.inner.grouping && additiveRangeOps.has(e.inner.op)) {
      return this.range(e.inner, (l) => groupKey(l, e.grouping));
    }
    const inner = this.eval(e.inner);
    if (inner.kind === 'scalar') throw new LogQLError(`parse error : ${e.op} needs a vector, not a scalar`);
    const groups = new Map<string, { labels: Labels; members: Series[] }>();
    for (const s of inner.series) {
      const labels = groupKey(s.labels, e.grouping);
      const key = formatLabels(labels);
      let g = groups.get(key);
      if (!g) {
        g = { labels, members: [] };
        groups.set(key, g);
      }
      g.members.push(s);
    }
    if (e.op === 'topk' || e.op === 'bottomk') return this.topk(e.op === 'topk', e.param!, groups);
    const op = e.op;
    const out: Series[] = [];
    for (const g of groups.values()) {
      const values = new Float64Array(this.steps.length).fill(Number.NaN);
      const at: number[] = [];
      for (let i = 0; i < values.length; i++) {
        at.length = 0;
        for (const m of g.members) if (!Number.isNaN(m.values[i]!)) at.push(m.values[i]!);
        if (at.length > 0) values[i] = vectorValue(op, at);
      }
      out.push({ labels: g.labels, values });
    }
    this.checkSeries(out.length);
    return out;
  }

  /** topk/bottomk: per group and step, the k largest (smallest) keep their points; series keep their labels. */
  private topk(top: boolean, k: number, groups: Map<string, { members: Series[] }>): Series[] {
    const kept = new Map<Series, Float64Array>();
    const better = (a: number, b: number): boolean => (top ? a > b : a < b);
    for (const g of groups.values()) {
      for (let i = 0; i < this.steps.length; i++) {
        const best: Series[] = []; // at most k, best first
        for (const m of g.members) {
          const v = m.values[i]!;
          if (Number.isNaN(v)) continue;
          if (best.length === k && !better(v, best[k - 1]!.values[i]!)) continue;
          let j = best.length === k ? k - 1 : best.length;
          while (j > 0 && better(v, best[j - 1]!.values[i]!)) {
            best[j] = best[j - 1]!;
            j--;
          }
          best[j] = m;
        }
        for (const m of best) {
          let values = kept.get(m);
          if (!values) {
            values = new Float64Array(this.steps.length).fill(Number.NaN);
            kept.set(m, values);
          }
          values[i] = m.values[i]!;
        }
      }
    }
    return [...kept].map(([s, values]) => ({ labels: s.labels, values }));
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
