// AdminServer: HTTP /commands/<name> with the four-letter words' data as JSON.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ZooKeeperServerShell } from './server.js';

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

export async function startAdminServer(shell: ZooKeeperServerShell): Promise<AdminServer> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const m = /^\/commands\/([a-z_]+)$/.exec(url.pathname);
    if (!m) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'unknown path; try /commands/<name>' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ command: m[1], error: null, zxid: shell.core.lastZxid }, null, 2));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(shell.opts.adminPort, shell.opts.adminAddress, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
