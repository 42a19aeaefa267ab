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
  commit_propagation_latency: 'advanced',
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
  'commit_propagation_latency',
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
  /** A write refused by a hard quota under /<namespace> (quota_exceeded_error_per_namespace). */
  quotaExceeded?(namespace: string): void;
}

export const NULL_METRICS: MetricsSink = {
  observe() {},
  inc() {},
};

/** Count, sum, min and max of one summary since start (Apache's AvgMinMaxCounter, as mntr prints it). */
interface AvgMinMax {
  cnt: number;
  sum: number;
  min: number;
  max: number;
}

/**
 * The summaries mntr prints (zk_avg_/min_/max_/cnt_/sum_<name>), in the order Apache ZooKeeper
 * 3.8 prints them; commit_count comes first there.
 */
const MNTR_SUMMARIES: readonly SummaryName[] = [
  'follower_sync_time',
  'fsynctime',
  'election_time',
  'updatelatency',
  'readlatency',
  'quorum_ack_latency',
  'commit_propagation_latency',
];

/**
 * Always on, whatever the metrics provider: keeps what mntr prints of the summaries (fsync,
 * commit and quorum ack latencies among them, which operators' scripts read) and forwards every
 * event to the provider's sink. Costs a few additions per event.
 */
export class MntrRecorder implements MetricsSink {
  /** The metrics provider's sink (NULL_METRICS when none is configured). */
  forward: MetricsSink = NULL_METRICS;
  private readonly summaries = new Map<SummaryName, AvgMinMax>(MNTR_SUMMARIES.map((n) => [n, { cnt: 0, sum: 0, min: 0, max: 0 }]));
  private commitCount = 0;

  observe(name: SummaryName, value: number): void {
    const s = this.summaries.get(name);
    if (s) {
      const v = Math.max(0, Math.round(value));
      if (s.cnt === 0 || v < s.min) s.min = v;
      if (v > s.max) s.max = v;
      s.cnt++;
      s.sum += v;
    }
    this.forward.observe(name, value);
  }

  inc(name: CounterName, by = 1): void {
    if (name === 'commit_count') this.commitCount += by;
    this.forward.inc(name, by);
  }

  quotaExceeded(namespace: string): void {
    this.forward.quotaExceeded?.(namespace);
  }

  /** mntr's lines for these metrics, Apache's names and order; `avg` is a double. */
  mntrValues(): { key: string; value: number; double?: true }[] {
    const out: { key: string; value: number; double?: true }[] = [{ key: 'commit_count', value: this.commitCount }];
    for (const name of MNTR_SUMMARIES) {
      const s = this.summaries.get(name)!;
      out.push(
        { key: `avg_${name}`, value: s.cnt === 0 ? 0 : s.sum / s.cnt, double: true },
        { key: `min_${name}`, value: s.min },
        { key: `max_${name}`, value: s.max },
        { key: `cnt_${name}`, value: s.cnt },
        { key: `sum_${name}`, value: s.sum },
      );
    }
    return out;
  }
}
