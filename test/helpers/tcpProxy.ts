// A loopback TCP proxy for fault tests: listens on 127.0.0.1:<free port> and forwards each
// connection to a target. cut() drops every current connection; block() refuses new ones
// (accept-and-close) until unblock(); blackhole(true) keeps connections open but silently
// discards bytes in both directions (a partition the peers can only notice by timeouts).

import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  host: string;
  port: number;
  /** `host:port` of the proxy. */
  connectString: string;
  /** Connections currently open through the proxy. */
  readonly connectionCount: number;
  /** Connections accepted (and forwarded) since start. */
  readonly acceptedCount: number;
  /** Destroy every current connection (both sides). */
  cut(): void;
  /** Refuse new connections (they are accepted and closed at once) until unblock(). */
  block(): void;
  unblock(): void;
  /** While on, bytes in both directions are dropped on the floor; connections stay open. */
  blackhole(on: boolean): void;
  /** Stop listening and drop all connections. */
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let blocked = false;
  let holed = false;
  let accepted = 0;

  const drop = (p: Pair): void => {
    if (!pairs.delete(p)) return;
    p.client.destroy();
    p.upstream.destroy();
  };

  const server: Server = createServer((client) => {
    client.on('error', () => {});
    if (blocked) {
      client.destroy();
      return;
    }
    accepted++;
    client.setNoDelay(true);
    const upstream = connect({ host: targetHost, port: targetPort });
    upstream.setNoDelay(true);
    upstream.on('error', () => {});
    const pair: Pair = { client, upstream };
    pairs.add(pair);
    client.on('data', (c: Buffer) => {
      if (!holed) upstream.write(c);
    });
    upstream.on('data', (c: Buffer) => {
      if (!holed) client.write(c);
    });
    client.on('close', () => drop(pair));
    upstream.on('close', () => drop(pair));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('proxy: no port');
  const port = addr.port;

  return {
    host: '127.0.0.1',
    port,
    connectString: `127.0.0.1:${port}`,
    get connectionCount() {
      return pairs.size;
    },
    get acceptedCount() {
      return accepted;
    },
    cut() {
      for (const p of [...pairs]) drop(p);
    },
    block() {
      blocked = true;
    },
    unblock() {
      blocked = false;
    },
    blackhole(on: boolean) {
      holed = on;
    },
    async close() {
      for (const p of [...pairs]) drop(p);
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
