// zoo.cfg settings of the metrics provider and the slow-fsync warning, as Apache ZooKeeper 3.8
// reads them (QuorumPeerConfig hands `metricsProvider.*` to the provider; FileTxnLog reads
// zookeeper.fsync.warningthresholdms). They travel on the parsed ServerOptions object as extra
// fields (see observabilityOf) until ServerOptions declares them itself.

import type { ServerOptions } from './options.js';

export const PROMETHEUS_PROVIDER = 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider';
/** Apache's default provider: metrics kept for mntr, nothing served over HTTP. */
export const DEFAULT_PROVIDER = 'org.apache.zookeeper.metrics.impl.DefaultMetricsProvider';
export const NULL_PROVIDER = 'org.apache.zookeeper.metrics.impl.NullMetricsProvider';
export const METRICS_PROVIDERS = [PROMETHEUS_PROVIDER, DEFAULT_PROVIDER, NULL_PROVIDER] as const;

/** PrometheusMetricsProvider's defaults (httpPort 7000 on every interface, JVM metrics on). */
export const METRICS_HTTP_PORT_DEFAULT = 7000;
export const METRICS_HTTP_HOST_DEFAULT = '0.0.0.0';
/** FileTxnLog's fsyncWarningThresholdMS default. */
export const FSYNC_WARNING_THRESHOLD_MS_DEFAULT = 1000;

export interface MetricsProviderOptions {
  className: (typeof METRICS_PROVIDERS)[number];
  httpHost: string;
  httpPort: number;
  /** Apache exports JVM metrics; here the Node.js process metrics of prom-client stand in. */
  exportJvmInfo: boolean;
}

export interface ObservabilityOptions {
  /** Set when zoo.cfg names a metrics provider (or any metricsProvider.* key). */
  metricsProvider?: MetricsProviderOptions;
  /** An fsync of the transaction log slower than this is logged at warn. */
  fsyncWarningThresholdMs?: number;
}

/** The observability settings carried by a parsed ServerOptions (absent fields: defaults). */
export function observabilityOf(o: ServerOptions): Required<Pick<ObservabilityOptions, 'fsyncWarningThresholdMs'>> & ObservabilityOptions {
  const x = o as ServerOptions & ObservabilityOptions;
  return {
    ...(x.metricsProvider ? { metricsProvider: x.metricsProvider } : {}),
    fsyncWarningThresholdMs: x.fsyncWarningThresholdMs ?? FSYNC_WARNING_THRESHOLD_MS_DEFAULT,
  };
}

/** Whether these options ask for the Prometheus HTTP endpoint. */
export function prometheusEnabled(o: ServerOptions): MetricsProviderOptions | undefined {
  const m = observabilityOf(o).metricsProvider;
  return m && m.className === PROMETHEUS_PROVIDER ? m : undefined;
}
