// The HTTP side of PrometheusMetricsProvider: GET /metrics on metricsProvider.httpHost:httpPort.
// Started with the server when zoo.cfg names the Prometheus provider; a port that cannot be bound
// fails the start, as Apache's provider does (MetricsProviderLifeCycleException).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Storage } from '../persistence/store.js';
import { PrometheusMetrics } from './metrics.js';
import { prometheusEnabled, type MetricsProviderOptions } from './metricsOptions.js';
import type { ZooKeeperServerShell } from './server.js';
import type { ZooKeeperServer } from './zkserver.js';

export interface MetricsProviderHandle {
  readonly port: number;
  readonly metrics: PrometheusMetrics;
  close(): Promise<void>;
}

/** Routes the transaction log's fsync times into the core's current metrics sink. */
export function bindStorageMetrics(storage: Storage, core: ZooKeeperServer): void {
  storage.fsyncObserver = (ms) => core.metrics.observe('fsynctime', ms);
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
  const server = createServer((req, res) => void handle(metrics, req, res, shell));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    throw new Error(
      `metrics provider cannot listen on ${host}:${port}: ${(e as Error).message} (set metricsProvider.httpPort / metricsProvider.httpHost)`,
    );
  }
  shell.core.metrics = metrics;
  if (shell.storage) bindStorageMetrics(shell.storage, shell.core);
  shell.log.info({ host, port: (server.address() as AddressInfo).port }, 'Prometheus metrics provider listening on /metrics');
  return {
    port: (server.address() as AddressInfo).port,
    metrics,
    close: () => closeServer(server),
  };
}

async function handle(metrics: PrometheusMetrics, req: IncomingMessage, res: ServerResponse, shell: ZooKeeperServerShell): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics') {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not Found: metrics are at /metrics\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('Method Not Allowed\n');
    return;
  }
  try {
    const body = await metrics.text();
    res.writeHead(200, { 'content-type': metrics.contentType });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch (e) {
    shell.log.warn({ error: (e as Error).message }, 'metrics scrape failed');
    res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics collection failed\n');
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
