// The LogQL evaluator: pure functions over entries that a LogSource hands out in time order. No
// HTTP, no SQL, no clock: the shell passes start/end/step, the storage implements LogSource, and
// tests can drive it with arrays.

import { formatLabels } from '../lokiPush.js';
import type { LabelMatcher, LogQuery } from './logql.js';
import { type Labels, runPipeline } from './pipeline.js';

export { ERROR_LABEL, type Labels, matchesLabels, matchOne, processEntry, runPipeline } from './pipeline.js';
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
  /** Samples visited across all windows of a metric query (overlapping windows revisit them); default windowSampleVisitsMax. */
  windowSampleVisitsMax?: number;
}

export const defaultEvalLimits: EvalLimits = { scanEntriesMax: 2_000_000, seriesMax: 500 };

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
      const out = runPipeline(q.stages, e.line, byId.get(e.streamId)!);
      if (!out) continue;
      const labels = out.labels;
      const key = formatLabels(labels);
      let g = groups.get(key);
      if (!g) {
        g = { labels, values: [] };
        groups.set(key, g);
      }
      g.values.push([e.tsNs.toString(), out.line]);
      if (++taken >= opts.limit) break;
    }
  }
  return { streams: [...groups.values()], scannedEntries, scannedBytes };
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
