// GET /metrics over node:http, the one Prometheus endpoint every component serves (ZooKeeper
// members, brokers, the job services, the Log Consumer, the monitor). Other paths are 404, other
// methods 405; a failed collection is a 500 and reported to onError.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a scrape reads: prom-client's Registry has this shape (see registrySource). */
export interface MetricsSource {
  text(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsHttpServer {
  readonly host: string;
  readonly port: number;
  /** `http://host:port/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

/** A prom-client Registry as a MetricsSource. */
export function registrySource(registry: { metrics(): Promise<string>; readonly contentType: string }): MetricsSource {
  return {
    text: () => registry.metrics(),
    get contentType() {
      return registry.contentType;
    },
  };
}

const textPlain = { 'content-type': 'text/plain; charset=utf-8' };

async function handle(source: MetricsSource, req: IncomingMessage, res: ServerResponse, onError?: (e: Error) => void): Promise<void> {
  if ((req.url ?? '/').split('?')[0] !== '/metrics') {
    res.writeHead(404, textPlain).end('Not Found: metrics are at /metrics\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', ...textPlain }).end('Method Not Allowed: use GET\n');
    return;
  }
  try {
    const body = await source.text();
    res.writeHead(200, { 'content-type': source.contentType }).end(req.method === 'HEAD' ? undefined : body);
  } catch (e) {
    onError?.(e as Error);
    res.writeHead(500, textPlain).end(`collecting metrics failed: ${(e as Error).message}\n`);
  }
}

/** Listens on host:port (0: any free port); rejects with the listen error (EADDRINUSE, ...). */
export async function serveMetricsHttp(
  source: MetricsSource,
  o: { host: string; port: number; onError?: (e: Error) => void },
): Promise<MetricsHttpServer> {
  const server = createServer((req, res) => void handle(source, req, res, o.onError));
  // Scrapers keep connections alive; a stopping component must not wait for them.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    host: o.host,
    port,
    url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
