// Server metrics as Apache ZooKeeper 3.8 names them (ServerMetrics.java, ZooKeeperServer /
// QuorumZooKeeperServer / LeaderZooKeeperServer.registerMetrics), exposed the way its
// PrometheusMetricsProvider does: bare names without a prefix, summaries with quantile labels
// (0.5 at the BASIC level; 0.5/0.9/0.99 at ADVANCED) plus _sum/_count, counters without _total,
// gauges read at scrape time. Only what this server measures is exported: a metric Apache has
// and we do not measure is left out rather than shown as a zero.

import { Counter, Gauge, Registry, Summary, collectDefaultMetrics } from 'prom-client';
import type { ZooKeeperServerShell } from './server.js';
import { monitorValues } from './commands.js';
import { JDouble } from './javaText.js';
import { quotaGauges, type QuotaGauges } from './quota.js';
import { COUNTER_NAMES, ENSEMBLE_ONLY, SUMMARY_LEVELS, type CounterName, type MetricsSink, type SummaryName } from './metricsSink.js';

/**
 * mntr keys that are Apache gauges and that we measure. Left out: mntr-only keys (version,
 * server_state, peer_state, followers, storage_error) and gauges we only print as constants
 * (auth_failed_count, TLS and mTLS counts, connection_drop_probability,
 * synced_non_voting_followers).
 */
export const GAUGE_NAMES = [
  'ephemerals_count',
  'num_alive_connections',
  'avg_latency',
  'outstanding_requests',
  'znode_count',
  'global_sessions',
  'local_sessions',
  'last_client_response_size',
  'packets_sent',
  'packets_received',
  'max_client_response_size',
  'watch_count',
  'min_latency',
  'max_file_descriptor_count',
  'approximate_data_size',
  'open_file_descriptor_count',
  'uptime',
  'max_latency',
  'min_client_response_size',
  // QuorumZooKeeperServer
  'quorum_size',
  // LeaderZooKeeperServer (registered while leading)
  'learners',
  'synced_followers',
  'synced_observers',
  'pending_syncs',
  'leader_uptime',
] as const;
const GAUGES = new Set<string>(GAUGE_NAMES);

/** ZooKeeperServer's GaugeSets: one value per top namespace, labelled `key` as Apache's provider labels them. */
export const GAUGE_SET_NAMES = [
  'quota_count_limit_per_namespace',
  'quota_bytes_limit_per_namespace',
  'quota_count_usage_per_namespace',
  'quota_bytes_usage_per_namespace',
] as const satisfies readonly (keyof QuotaGauges)[];

/** Apache's simpleclient prints NaN quantiles for an empty summary; prom-client would print 0. */
class ZkSummary extends Summary {
  override async get(): ReturnType<Summary['get']> {
    const m = await super.get();
    const count = m.values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_count'))?.value ?? 0;
    if (count === 0) for (const v of m.values) if (v.labels['quantile'] !== undefined) v.value = Number.NaN;
    return m;
  }
}

/** A MetricsSink backed by prom-client, and the text Apache's /metrics endpoint serves. */
export class PrometheusMetrics implements MetricsSink {
  /** Summaries, counters and (with exportJvmInfo) the process metrics. */
  readonly registry = new Registry();
  private readonly summaries = new Map<SummaryName, Summary>();
  private readonly counters = new Map<CounterName, Counter>();
  private readonly gauges = new Map<string, Gauge>();
  private readonly gaugeSets = new Map<keyof QuotaGauges, Gauge>();
  private readonly quotaExceededCounter: Counter;

  constructor(
    private readonly shell: ZooKeeperServerShell,
    opts: { exportJvmInfo: boolean },
  ) {
    const ensemble = shell.opts.ensemble !== undefined;
    for (const [name, level] of Object.entries(SUMMARY_LEVELS) as [SummaryName, 'basic' | 'advanced'][]) {
      if (!ensemble && ENSEMBLE_ONLY.has(name)) continue;
      const percentiles = level === 'basic' ? [0.5] : [0.5, 0.9, 0.99];
      // simpleclient's default window: 10 minutes in 5 buckets.
      const s = new ZkSummary({ name, help: name, percentiles, maxAgeSeconds: 600, ageBuckets: 5, registers: [this.registry] });
      this.summaries.set(name, s);
    }
    for (const name of COUNTER_NAMES) {
      if (!ensemble && ENSEMBLE_ONLY.has(name)) continue;
      this.counters.set(name, new Counter({ name, help: name, registers: [this.registry] }));
    }
    for (const name of GAUGE_NAMES) this.gauges.set(name, new Gauge({ name, help: name, registers: [] }));
    for (const name of GAUGE_SET_NAMES) this.gaugeSets.set(name, new Gauge({ name, help: name, labelNames: ['key'], registers: [] }));
    this.quotaExceededCounter = new Counter({
      name: 'quota_exceeded_error_per_namespace',
      help: 'quota_exceeded_error_per_namespace',
      labelNames: ['key'],
      registers: [this.registry],
    });
    if (opts.exportJvmInfo) collectDefaultMetrics({ register: this.registry });
  }

  observe(name: SummaryName, value: number): void {
    this.summaries.get(name)?.observe(value);
  }

  inc(name: CounterName, by = 1): void {
    this.counters.get(name)?.inc(by);
  }

  quotaExceeded(namespace: string): void {
    this.quotaExceededCounter.inc({ key: namespace });
  }

  /** The exposition text (format 0.0.4): gauges as registered right now, then the rest. */
  async text(): Promise<string> {
    // Apache registers the quorum and leader gauges only while in that role: a fresh registry per
    // scrape holds exactly the gauges the server has now.
    const now = new Registry();
    for (const [k, v] of gaugeValues(this.shell)) {
      const g = this.gauges.get(k)!;
      g.set(v);
      now.registerMetric(g);
    }
    // Read from the tree at scrape time; a namespace whose quota is gone is gone here too.
    const quotas = quotaGauges(this.shell.core.tree);
    for (const [name, g] of this.gaugeSets) {
      g.reset();
      for (const [key, v] of quotas[name]) g.set({ key }, v);
      now.registerMetric(g);
    }
    const [a, b] = await Promise.all([now.metrics(), this.registry.metrics()]);
    return `${a}\n${b}`;
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** The gauges and their current values, from the same numbers mntr prints. */
export function gaugeValues(shell: ZooKeeperServerShell): [string, number][] {
  const out: [string, number][] = [];
  for (const [k, v] of monitorValues(shell)) {
    if (!GAUGES.has(k)) continue;
    const n = v instanceof JDouble ? v.value : typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : Number.NaN;
    if (!Number.isNaN(n)) out.push([k, n]);
  }
  return out;
}
