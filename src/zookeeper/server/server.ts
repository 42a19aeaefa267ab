// One ZooKeeper server process: the client port listener, timers for session expiry and
// container reaping, four-letter words and the admin HTTP server around the pure core.

import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { silentLogger, type Logger } from '../../util/log.js';
import { ServerConnection } from './connection.js';
import { runFourLetterWord } from './commands.js';
import type { ServerOptions } from './options.js';
import type { SyncStage } from './pipeline.js';
import { ZooKeeperServer } from './zkserver.js';
import { startAdminServer, type AdminServer } from './admin.js';

export const ZK_VERSION = '3.8.4';
/** What `srvr`/`envi` print as the version, in Apache ZooKeeper's shape. */
export const ZK_FULL_VERSION = `${ZK_VERSION}-clustergenie, built on 2026-11-21 00:00 UTC`;

export interface StartOptions {
  logger?: Logger;
  syncStage?: SyncStage;
  now?: () => number;
}

export class ZooKeeperServerShell {
  readonly core: ZooKeeperServer;
  readonly log: Logger;
  private listener: Server | undefined;
  private admin: AdminServer | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private containerTimer: NodeJS.Timeout | undefined;
  private readonly perIpCount = new Map<string, number>();
  readonly connections = new Set<ServerConnection>();
  /** 'standalone' until the ensemble lands. */
  mode: 'standalone' | 'leader' | 'follower' | 'observer' | 'read-only' = 'standalone';
  port = 0;
  adminPort = 0;

  constructor(
    readonly opts: ServerOptions,
    start: StartOptions = {},
  ) {
    this.log = start.logger ?? silentLogger;
    this.core = new ZooKeeperServer(opts, start.now ?? Date.now, start.syncStage);
  }

  async start(): Promise<void> {
    const server = createServer({ noDelay: true }, (s) => this.accept(s));
    this.listener = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.clientPort, this.opts.clientPortAddress, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as AddressInfo).port;
    this.tickTimer = setInterval(() => this.core.tick(), this.opts.tickTimeMs);
    this.tickTimer.unref();
    const perCheck = Math.max(1, Math.floor((this.opts.containerMaxPerMinute * this.opts.containerCheckIntervalMs) / 60_000));
    this.containerTimer = setInterval(() => this.core.reapContainers(perCheck), this.opts.containerCheckIntervalMs);
    this.containerTimer.unref();
    if (this.opts.adminEnabled) {
      try {
        this.admin = await startAdminServer(this);
        this.adminPort = this.admin.port;
      } catch (e) {
        // As in ZooKeeper, a busy admin port does not stop the server.
        this.log.warn(
          { adminPort: this.opts.adminPort, error: (e as Error).message },
          'admin server failed to start; set admin.serverPort or admin.enableServer=false',
        );
      }
    }
    this.log.info({ port: this.port, address: this.opts.clientPortAddress }, 'ZooKeeper server listening');
  }

  private accept(socket: Socket): void {
    if (!this.core.serving) {
      socket.destroy();
      return;
    }
    const ip = socket.remoteAddress ?? '';
    const max = this.opts.maxClientCnxns;
    const count = this.perIpCount.get(ip) ?? 0;
    if (max > 0 && count >= max) {
      this.log.warn({ ip, maxClientCnxns: max }, 'too many connections from one address; refusing (raise maxClientCnxns)');
      socket.destroy();
      return;
    }
    this.perIpCount.set(ip, count + 1);
    const conn = new ServerConnection(socket, this.core, {
      fourLetterWord: (cmd, c, extra) => runFourLetterWord(this, cmd, c, extra),
      onClose: (c) => {
        this.connections.delete(c);
        const n = (this.perIpCount.get(ip) ?? 1) - 1;
        if (n <= 0) this.perIpCount.delete(ip);
        else this.perIpCount.set(ip, n);
      },
    }, this.log);
    this.connections.add(conn);
  }

  async stop(): Promise<void> {
    clearInterval(this.tickTimer);
    clearInterval(this.containerTimer);
    const listener = this.listener;
    this.listener = undefined;
    const closed = listener ? new Promise<void>((r) => listener.close(() => r())) : Promise.resolve();
    await this.core.close();
    for (const c of this.connections) c.socket.destroy();
    await closed;
    if (this.admin) await this.admin.close();
    this.log.info('ZooKeeper server stopped');
  }
}

export async function startZooKeeperServer(opts: ServerOptions, start: StartOptions = {}): Promise<ZooKeeperServerShell> {
  const s = new ZooKeeperServerShell(opts, start);
  await s.start();
  return s;
}
