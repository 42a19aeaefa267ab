// GET /metrics for one broker on clustergenie.metrics.listener (node:http). A port that cannot
// be bound fails the broker's start with the key named, as a bad listeners value would.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../util/log.js';
import { METRICS_LISTENER_KEY } from '../brokerConfigDefs.js';
import type { BrokerMetrics } from './metrics.js';

export interface MetricsEndpoint {
  readonly host: string;
  readonly port: number;
  /** `http://host:port/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(
  metrics: BrokerMetrics,
  listener: { host: string; port: number },
  logger: Logger,
): Promise<MetricsEndpoint> {
  const server = createServer((req, res) => void serve(metrics, req, res, logger));
  // Scrapers keep connections alive; a stopping broker must not wait for them.
  server.keepAliveTimeout = 5_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listener.port, listener.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    throw new Error(`${METRICS_LISTENER_KEY}: cannot listen on ${listener.host}:${listener.port}: ${(e as Error).message}`);
  }
  const port = (server.address() as AddressInfo).port;
  const host = listener.host.includes(':') ? `[${listener.host}]` : listener.host;
  logger.info({ host: listener.host, port }, 'serving Prometheus metrics on /metrics');
  return { host: listener.host, port, url: `http://${host}:${port}/metrics`, close: () => closeServer(server) };
}

async function serve(metrics: BrokerMetrics, req: IncomingMessage, res: ServerResponse, logger: Logger): Promise<void> {
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
    logger.warn({ err: (e as Error).message }, 'metrics scrape failed');
    res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics collection failed\n');
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
