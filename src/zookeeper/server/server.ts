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
import { quotaWarner } from './quota.js';
import type { AdminServer } from './admin.js';
import { prometheusEnabled } from './metricsOptions.js';
import type { MetricsProviderHandle } from './metricsServer.js';
import { Storage, storageOptionsFor } from '../persistence/store.js';
import type { StorageIo } from '../persistence/io.js';
import type { IdT } from '../protocol/records.js';
import { addAuthId } from './acl.js';
import type { SecureClientListener } from './tls/listener.js';

export const ZK_VERSION = '3.8.4';
/** What `srvr`/`envi` print as the version, in Apache ZooKeeper's shape. */
export const ZK_FULL_VERSION = `${ZK_VERSION}-clustergenie, built on 2026-11-21 00:00 UTC`;

export interface QuorumMonitor {
  /** `leading - broadcast`, `following - synchronization`, ... */
  peerState(): string;
  quorumSize(): number;
  /** Leader only. */
  leaderStats(): { learners: number; syncedFollowers: number; syncedObservers: number; pendingSyncs: number; uptimeMs: number } | undefined;
}

export interface StartOptions {
  logger?: Logger;
  /** Replaces the data directory's durable log (then nothing is persisted by this shell). */
  syncStage?: SyncStage;
  now?: () => number;
  /** File operations of the transaction log (tests inject disk faults here). */
  storageIo?: StorageIo;
}

export class ZooKeeperServerShell {
  readonly core: ZooKeeperServer;
  readonly log: Logger;
  private listener: Server | undefined;
  private secureListener: SecureClientListener | undefined;
  private admin: AdminServer | undefined;
  private metricsProvider: MetricsProviderHandle | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private containerTimer: NodeJS.Timeout | undefined;
  private purgeTimer: NodeJS.Timeout | undefined;
  /** The data directory, when this server persists (dataDir set). */
  storage: Storage | undefined;
  private readonly perIpCount = new Map<string, number>();
  readonly connections = new Set<ServerConnection>();
  /** 'standalone' until the ensemble lands. */
  mode: 'standalone' | 'leader' | 'follower' | 'observer' | 'read-only' | 'looking' = 'standalone';
  port = 0;
  /** The TLS client port (secureClientPort), when configured. */
  securePort = 0;
  adminPort = 0;
  /** The Prometheus /metrics port (metricsProvider.httpPort), when the provider runs. */
  get metricsPort(): number | undefined {
    return this.metricsProvider?.port;
  }
  private stopping = false;
  /** Set by an ensemble member: what mntr reports about the quorum. */
  quorum: QuorumMonitor | undefined;

  constructor(
    readonly opts: ServerOptions,
    private readonly startOpts: StartOptions = {},
  ) {
    this.log = startOpts.logger ?? silentLogger;
    this.core = new ZooKeeperServer(opts, startOpts.now ?? Date.now, startOpts.syncStage);
    this.core.onQuotaExceeded = quotaWarner(this.log);
    this.core.saslAuth.log = this.log;
  }

  /** Recovers the data directory into the core and switches it to the durable log. */
  private async openStorage(): Promise<void> {
    const o = this.opts;
    const storage = await Storage.open({
      ...storageOptionsFor(o, this.log),
      ...(this.startOpts.storageIo ? { io: this.startOpts.storageIo } : {}),
    });
    try {
      const core = this.core;
      // Every fsync's time goes to the core's sink (mntr's recorder, and a metrics provider if one is set).
      storage.fsyncObserver = (ms) => core.metrics.observe('fsynctime', ms);
      const rec = await storage.recover(core.tree);
      core.restored(rec.sessions);
      this.log.info(
        { snapshotZxid: rec.snapshotZxid, replayed: rec.replayed, lastZxid: rec.lastZxid, sessions: rec.sessions.size },
        'data directory recovered',
      );
      core.sync = storage.createSyncStage(
        () => void storage.snapshot(core.tree, core.durableSessions),
        (reason) =>
          this.log.error({ reason }, 'storage failed: writes are refused from now on, reads go on; fix the disk and restart the server'),
      );
      // As ZooKeeperServer.loadData: a clean snapshot of what was recovered.
      if (rec.replayed > 0 || rec.snapshotZxid < 0) await storage.snapshot(core.tree, core.durableSessions);
    } catch (e) {
      await storage.close();
      throw e;
    }
    this.storage = storage;
    if (o.purgeIntervalHours > 0) {
      const purge = (): void => {
        storage.purge(o.snapRetainCount).catch((e: Error) => this.log.warn({ error: e.message }, 'purge failed'));
      };
      purge();
      this.purgeTimer = setInterval(purge, o.purgeIntervalHours * 3_600_000);
      this.purgeTimer.unref();
    }
  }

  async start(): Promise<void> {
    if (this.opts.dataDir && !this.startOpts.syncStage) await this.openStorage();
    if (prometheusEnabled(this.opts)) {
      // As ZooKeeperServerMain: the metrics provider starts first, and a port it cannot bind stops the start.
      try {
        const { startMetricsProvider } = await import('./metricsServer.js');
        this.metricsProvider = await startMetricsProvider(this);
      } catch (e) {
        await this.core.close();
        await this.storage?.close();
        throw e;
      }
    }
    try {
      if (this.opts.secureClient) {
        // First, so a bad key or trust store stops the start (naming the ssl.* key and the file)
        // before any port answers.
        const { startSecureClientListener } = await import('./tls/listener.js');
        this.secureListener = await startSecureClientListener(this.opts.secureClient, this.log, (s, ids) => this.accept(s, ids));
        this.securePort = this.secureListener.port;
      }
      if (this.opts.clientPortEnabled !== false) {
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
      }
    } catch (e) {
      await this.secureListener?.close();
      this.secureListener = undefined;
      await this.metricsProvider?.close();
      await this.core.close();
      await this.storage?.close();
      throw e;
    }
    this.tickTimer = setInterval(() => this.core.tick(), this.opts.tickTimeMs);
    this.tickTimer.unref();
    const perCheck = Math.max(1, Math.floor((this.opts.containerMaxPerMinute * this.opts.containerCheckIntervalMs) / 60_000));
    this.containerTimer = setInterval(() => this.core.reapContainers(perCheck), this.opts.containerCheckIntervalMs);
    this.containerTimer.unref();
    if (this.opts.adminEnabled) {
      try {
        // Loaded only when enabled (node:http and the handlers are start-up time otherwise).
        const { startAdminServer } = await import('./admin.js');
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
    if (this.listener) this.log.info({ port: this.port, address: this.opts.clientPortAddress }, 'ZooKeeper server listening');
  }

  /** `ids`: what the secure port authenticated (x509 client certificates). */
  private accept(socket: Socket, ids: readonly IdT[] = []): void {
    // While not serving (stopping, or an ensemble member without a quorum) the port still answers
    // four-letter words, as Apache's does; the session handshake is refused (ZooKeeperServer.connect).
    if (this.stopping) {
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
    const conn = new ServerConnection(
      socket,
      this.core,
      {
        fourLetterWord: (cmd, c, extra) => runFourLetterWord(this, cmd, c, extra),
        onClose: (c) => {
          this.connections.delete(c);
          const n = (this.perIpCount.get(ip) ?? 1) - 1;
          if (n <= 0) this.perIpCount.delete(ip);
          else this.perIpCount.set(ip, n);
        },
      },
      this.log,
    );
    for (const id of ids) addAuthId(conn.authIds, id);
    this.connections.add(conn);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.tickTimer);
    clearInterval(this.containerTimer);
    clearInterval(this.purgeTimer);
    const listener = this.listener;
    this.listener = undefined;
    const closed = listener ? new Promise<void>((r) => listener.close(() => r())) : Promise.resolve();
    const secureClosed = this.secureListener?.close();
    this.secureListener = undefined;
    await this.core.close();
    await this.storage?.close();
    for (const c of this.connections) c.socket.destroy();
    await closed;
    await secureClosed;
    if (this.admin) await this.admin.close();
    if (this.metricsProvider) await this.metricsProvider.close();
    this.log.info('ZooKeeper server stopped');
  }
}

export async function startZooKeeperServer(opts: ServerOptions, start: StartOptions = {}): Promise<ZooKeeperServerShell> {
  const s = new ZooKeeperServerShell(opts, start);
  await s.start();
  return s;
}
