// The range aggregations over one series' samples inside one window, and the vector
// aggregations over the series at one step. Pure arithmetic, as Prometheus defines it
// (population standard deviation, quantiles by linear interpolation).

import type { RangeOp, VectorOp } from './logql.js';

/** φ-quantile of sorted values, as Prometheus' quantile: rank φ(n-1), interpolated. */
export function quantile(phi: number, sorted: readonly number[]): number {
  if (sorted.length === 0) return Number.NaN;
  if (phi < 0) return Number.NEGATIVE_INFINITY;
  if (phi > 1) return Number.POSITIVE_INFINITY;
  const rank = phi * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const w = rank - lo;
  return sorted[lo]! * (1 - w) + sorted[hi]! * w;
}

function variance(values: ArrayLike<number>, from: number, to: number): number {
  // Welford's method, as Prometheus' stdvar_over_time.
  let count = 0;
  let mean = 0;
  let m2 = 0;
  for (let i = from; i < to; i++) {
    count++;
    const delta = values[i]! - mean;
    mean += delta / count;
    m2 += delta * (values[i]! - mean);
  }
  return m2 / count;
}

/**
 * One window's value: `ts` are the samples' times (only their count matters to count and rate),
 * `vals` their values (line bytes, or the unwrapped label), samples [from, to) in time order.
 */
export function rangeValue(
  op: RangeOp,
  vals: readonly number[],
  from: number,
  to: number,
  rangeSeconds: number,
  unwrapped: boolean,
  param: number,
): number {
  const n = to - from;
  let sum = 0;
  switch (op) {
    case 'count_over_time':
      return n;
    case 'absent_over_time':
      return 1; // only asked for windows with samples; the caller inverts
    case 'first_over_time':
      return vals[from]!;
    case 'last_over_time':
      return vals[to - 1]!;
    case 'min_over_time': {
      let m = vals[from]!;
      for (let i = from + 1; i < to; i++) if (vals[i]! < m || Number.isNaN(m)) m = vals[i]!;
      return m;
    }
    case 'max_over_time': {
      let m = vals[from]!;
      for (let i = from + 1; i < to; i++) if (vals[i]! > m || Number.isNaN(m)) m = vals[i]!;
      return m;
    }
    case 'stdvar_over_time':
      return variance(vals, from, to);
    case 'stddev_over_time':
      return Math.sqrt(variance(vals, from, to));
    case 'quantile_over_time':
      return quantile(
        param,
        vals.slice(from, to).sort((a, b) => a - b),
      );
    default:
      break;
  }
  if (op === 'rate' && !unwrapped) return n / rangeSeconds;
  for (let i = from; i < to; i++) sum += vals[i]!;
  switch (op) {
    case 'avg_over_time':
      return sum / n;
    case 'rate':
    case 'bytes_rate':
      return sum / rangeSeconds;
    default:
      return sum; // sum_over_time, bytes_over_time
  }
}

/** Whether summing a range aggregation's series is the same as aggregating the summed samples. */
export const additiveRangeOps: ReadonlySet<RangeOp> = new Set([
  'count_over_time',
  'rate',
  'bytes_over_time',
  'bytes_rate',
  'sum_over_time',
]);

/** sum/avg/min/max/count/stddev/stdvar of the values one group has at one step. */
export function vectorValue(op: Exclude<VectorOp, 'topk' | 'bottomk'>, values: readonly number[]): number {
  switch (op) {
    case 'count':
      return values.length;
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'avg':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'min':
      return values.reduce((a, b) => (b < a || Number.isNaN(a) ? b : a));
    case 'max':
      return values.reduce((a, b) => (b > a || Number.isNaN(a) ? b : a));
    case 'stdvar':
      return variance(values, 0, values.length);
    case 'stddev':
      return Math.sqrt(variance(values, 0, values.length));
  }
}
