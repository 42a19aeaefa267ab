// GET /metrics for one broker on clustergenie.metrics.listener. A port that cannot be bound
// fails the broker's start with the key named, as a bad listeners value would.

import type { Logger } from '../../util/log.js';
import { type MetricsHttpServer, serveMetricsHttp } from '../../util/metricsHttp.js';
import { METRICS_LISTENER_KEY } from '../brokerConfigDefs.js';
import type { BrokerMetrics } from './metrics.js';

export type MetricsEndpoint = MetricsHttpServer;

export async function startMetricsServer(
  metrics: BrokerMetrics,
  listener: { host: string; port: number },
  logger: Logger,
): Promise<MetricsEndpoint> {
  let endpoint: MetricsEndpoint;
  try {
    endpoint = await serveMetricsHttp(metrics, {
      host: listener.host,
      port: listener.port,
      onError: (e) => logger.warn({ err: e.message }, 'metrics scrape failed'),
    });
  } catch (e) {
    throw new Error(`${METRICS_LISTENER_KEY}: cannot listen on ${listener.host}:${listener.port}: ${(e as Error).message}`);
  }
  logger.info({ host: listener.host, port: endpoint.port }, 'serving Prometheus metrics on /metrics');
  return endpoint;
}
