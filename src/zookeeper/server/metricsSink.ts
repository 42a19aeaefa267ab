// What the server records for its metrics, without the exporter: the core and the ensemble shell
// call a MetricsSink; NULL_METRICS (Apache's NullMetricsProvider) costs one call per event when no
// provider is configured, and keeps prom-client out of servers that do not export metrics.
// Names and detail levels are Apache ZooKeeper 3.8's (ServerMetrics.java).

/** Apache's DetailLevel per summary: BASIC exports the median, ADVANCED also 0.9 and 0.99. */
export const SUMMARY_LEVELS = {
  fsynctime: 'basic',
  readlatency: 'advanced',
  updatelatency: 'advanced',
  election_time: 'basic',
  follower_sync_time: 'basic',
  quorum_ack_latency: 'advanced',
} as const;
export type SummaryName = keyof typeof SUMMARY_LEVELS;

export const COUNTER_NAMES = [
  'looking_count',
  'diff_count',
  'snap_count',
  'commit_count',
  'proposal_count',
  'unrecoverable_error_count',
] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];

/** Metrics only an ensemble member measures (a standalone server has no election, no Zab). */
export const ENSEMBLE_ONLY = new Set<string>([
  'election_time',
  'follower_sync_time',
  'quorum_ack_latency',
  'looking_count',
  'diff_count',
  'snap_count',
  'commit_count',
  'proposal_count',
  'unrecoverable_error_count',
]);

/** Where the server records what it measures. */
export interface MetricsSink {
  observe(name: SummaryName, value: number): void;
  inc(name: CounterName, by?: number): void;
}

export const NULL_METRICS: MetricsSink = {
  observe() {},
  inc() {},
};
