// The HTTP side of PrometheusMetricsProvider: GET /metrics on metricsProvider.httpHost:httpPort.
// Started with the server when zoo.cfg names the Prometheus provider; a port that cannot be bound
// fails the start, as Apache's provider does (MetricsProviderLifeCycleException).

import { type MetricsHttpServer, serveMetricsHttp } from '../../util/metricsHttp.js';
import { PrometheusMetrics } from './metrics.js';
import { prometheusEnabled, type MetricsProviderOptions } from './metricsOptions.js';
import type { ZooKeeperServerShell } from './server.js';

export interface MetricsProviderHandle {
  readonly port: number;
  readonly metrics: PrometheusMetrics;
  close(): Promise<void>;
}

/**
 * Starts the provider if the options ask for it (metricsProvider.className is the Prometheus
 * provider); returns undefined otherwise. `override` replaces the configured host/port (tests).
 */
export async function startMetricsProvider(
  shell: ZooKeeperServerShell,
  override: Partial<Pick<MetricsProviderOptions, 'httpHost' | 'httpPort'>> = {},
): Promise<MetricsProviderHandle | undefined> {
  const cfg = prometheusEnabled(shell.opts);
  if (!cfg) return undefined;
  const host = override.httpHost ?? cfg.httpHost;
  const port = override.httpPort ?? cfg.httpPort;
  const metrics = new PrometheusMetrics(shell, { exportJvmInfo: cfg.exportJvmInfo });
  let endpoint: MetricsHttpServer;
  try {
    endpoint = await serveMetricsHttp(metrics, {
      host,
      port,
      onError: (e) => shell.log.warn({ error: e.message }, 'metrics scrape failed'),
    });
  } catch (e) {
    throw new Error(
      `metrics provider cannot listen on ${host}:${port}: ${(e as Error).message} (set metricsProvider.httpPort / metricsProvider.httpHost)`,
    );
  }
  shell.core.metrics = metrics;
  shell.log.info({ host, port: endpoint.port }, 'Prometheus metrics provider listening on /metrics');
  return { port: endpoint.port, metrics, close: () => endpoint.close() };
}
