// One Kafka broker: its listener, its ZooKeeper session (registration, controller candidacy,
// config notifications), its partition logs, the group coordinator and the request handlers.
// This file is the wiring; each API's behaviour lives in handlers/<api>.ts, the rules in
// replicaManager.ts, coordinator/, controller/ and storage/.

import { join } from 'node:path';
import { type Server, type Socket, createServer } from 'node:net';
import { type Logger, createLogger } from '../../util/log.js';
import type { ZooKeeperClient } from '../../zookeeper/client/index.js';
import type { BrokerConfig } from '../config.js';
import { Controller } from '../controller/controller.js';
import { controlledShutdown } from '../controller/shutdownClient.js';
import { GroupCoordinator } from '../coordinator/groupCoordinator.js';
import { ProducerIdManager } from '../coordinator/producerIds.js';
import { ErrorCode } from '../protocol/errors.js';
import { type LogConfig, logConfigFromProps } from '../storage/logConfig.js';
import { readProperties } from '../storage/checkpoint.js';
import { LogManager } from '../storage/logManager.js';
import { KafkaZk } from '../zk/kafkaZk.js';
import { randomKafkaUuid } from '../zk/layout.js';
import { Connection } from './connection.js';
import { registerHandlers } from './handlers/index.js';
import { MetadataCache } from './metadataCache.js';
import type { MetricsEndpoint } from './metricsServer.js';
import { BrokerState, ControllerStats, RequestStats } from './metricsStats.js';
import { OffsetsTopic, OFFSETS_TOPIC } from './offsetsTopic.js';
import { ReplicaManager } from './replicaManager.js';
import { BrokerClient } from '../net/brokerClient.js';
import {
  ALTER_PARTITION_API_KEY,
  ALTER_PARTITION_VERSION,
  type AlterPartitionSender,
  createAlterPartitionSender,
} from '../replication/alterPartitionSender.js';
import { RequestRouter } from './requests.js';
import { TopicAdmin } from './topicAdmin.js';
import { type ConfigEntry, topicConfigEntries } from './topicConfigs.js';

/** broker.id as a previous run stored it in meta.properties (for broker.id generation). */
function storedBrokerId(logDirs: readonly string[]): number | undefined {
  for (const dir of logDirs) {
    const meta = readProperties(join(dir, 'meta.properties'));
    const id = meta?.['broker.id'];
    if (id !== undefined && /^\d+$/.test(id)) return Number(id);
  }
  return undefined;
}

/** Frames read ahead per connection before the socket is paused. */
export const connectionQueuedFramesMax = 64;
/** Connections served at once; past it new ones are closed (Kafka's max.connections). */
export const connectionsMax = 10_000;

export interface BrokerOptions {
  logger?: Logger;
  now?: () => number;
}

export class Broker {
  readonly logger: Logger;
  readonly now: () => number;
  readonly metadata = new MetadataCache();
  readonly router = new RequestRouter();
  readonly connections = new Set<Connection>();
  brokerId: number;
  zkClient!: ZooKeeperClient;
  zk!: KafkaZk;
  logs!: LogManager;
  replicas!: ReplicaManager;
  controller!: Controller;
  groups!: GroupCoordinator;
  offsets!: OffsetsTopic;
  admin!: TopicAdmin;
  producerIds!: ProducerIdManager;
  /** Topic-level config overrides as stored in /config/topics/<t>. */
  readonly topicConfigs = new Map<string, Record<string, string>>();
  closing = false;
  /** Broker epoch: czxid of this broker's registration (KIP-380); -1 before registering. */
  brokerEpoch = -1;
  /** Resolves once registered (brokerEpoch set) or stopping: control requests wait for it. */
  readonly registered: Promise<void>;
  private markRegistered!: () => void;
  /** The highest controller epoch a controller request carried (older ones are refused). */
  controllerEpochSeen = 0;
  /** Kafka's BrokerState value (metrics.ts BrokerState). */
  state: number = BrokerState.NOT_RUNNING;
  readonly controllerStats = new ControllerStats();
  /** The /metrics endpoint, when clustergenie.metrics.listener is set. */
  metricsEndpoint: MetricsEndpoint | undefined;
  private stopping = false;
  private server: Server | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  /** The ISR-expiry check, every replica.lag.time.max.ms / 2 (Kafka's isr-expiration task). */
  private isrExpiryTimer: NodeJS.Timeout | undefined;
  private alterPartitionSender: AlterPartitionSender | undefined;
  private boundPort = -1;

  constructor(
    readonly config: BrokerConfig,
    opts: BrokerOptions = {},
  ) {
    this.logger = (opts.logger ?? createLogger('kafka')).child({ component: 'kafka', broker: config.brokerId });
    this.now = opts.now ?? Date.now;
    this.brokerId = config.brokerId;
    this.registered = new Promise((resolve) => {
      this.markRegistered = resolve;
    });
  }

  /** The port the listener is bound to (useful when the config asked for port 0). */
  get port(): number {
    return this.boundPort;
  }

  get host(): string {
    return this.config.advertisedListener.host;
  }

  async start(): Promise<void> {
    const cfg = this.config;
    this.state = BrokerState.STARTING;
    // Served from the start, so a scrape sees a broker that is starting (or stuck starting).
    if (cfg.metricsListener) {
      // Loaded only here: a broker without the endpoint never loads prom-client.
      const [{ BrokerMetrics }, { startMetricsServer }] = await Promise.all([import('./metrics.js'), import('./metricsServer.js')]);
      this.metricsEndpoint = await startMetricsServer(new BrokerMetrics(this), cfg.metricsListener, this.logger);
    }
    this.zk = await KafkaZk.connect({
      connectString: cfg.zookeeperConnect,
      sessionTimeoutMs: cfg.zookeeperSessionTimeoutMs,
      now: this.now,
    });
    this.zkClient = this.zk.client;
    this.zk.on('sessionError', (err) => this.logger.error({ err: String(err) }, 'ZooKeeper session re-establishment failed'));
    await this.zk.ensurePersistentPaths();
    const clusterId = await this.zk.getOrCreateClusterId(randomKafkaUuid());
    this.metadata.clusterId = clusterId;
    if (this.brokerId < 0) this.brokerId = storedBrokerId(cfg.logDirs) ?? (await this.zk.generateBrokerId(cfg.reservedBrokerMaxId));
    // Topic configs before the logs open: logs found on disk take their topic's settings.
    const topics = await this.zk.getAllTopics();
    const configs = await Promise.all(topics.map((t) => this.zk.getEntityConfig('topics', t)));
    topics.forEach((t, i) => {
      this.topicConfigs.set(t, configs[i] ?? {});
    });

    this.offsets = new OffsetsTopic(this);
    this.logs = LogManager.open({
      logDirs: cfg.logDirs,
      brokerId: this.brokerId,
      clusterId,
      defaults: cfg.logDefaults,
      configFor: (topic) => this.logConfigFor(topic),
      now: this.now,
      logger: this.logger,
      retentionCheckIntervalMs: cfg.logRetentionCheckIntervalMs,
      highWatermarkCheckpointIntervalMs: cfg.replicaHighWatermarkCheckpointIntervalMs,
      cleanerEnable: cfg.logCleanerEnable,
      cleanerBackoffMs: cfg.logCleanerBackoffMs,
      // Compaction keeps each live producer's newest batch so its sequence state survives (Kafka does the same).
      producerLastOffsets: (log) => {
        const p = this.replicas?.get(log.topic, log.partition);
        if (p === undefined) return undefined;
        const out = new Map<number, number>();
        for (const e of p.producers.activeProducers()) {
          const last = e.batches[e.batches.length - 1];
          if (last !== undefined) out.set(e.producerId, last.lastOffset);
        }
        return out;
      },
    });
    this.alterPartitionSender = createAlterPartitionSender({
      controller: () => ({ controllerId: this.metadata.controllerId, brokers: this.metadata.brokers }),
      clientId: `broker-${this.brokerId}-alter-partition`,
      self: {
        brokerId: this.brokerId,
        request: (body) => this.router.local(ALTER_PARTITION_API_KEY, ALTER_PARTITION_VERSION, body, `broker-${this.brokerId}`),
      },
      requestTimeoutMs: cfg.controllerSocketTimeoutMs,
      logger: this.logger,
    });
    this.replicas = new ReplicaManager(this.brokerId, this.logs, this.now, cfg.producerIdExpirationMs, {
      replicaLagTimeMaxMs: cfg.replicaLagTimeMaxMs,
      sendAlterPartition: this.alterPartitionSender,
      brokerEpoch: () => this.brokerEpoch,
      isBrokerAlive: (id) => this.metadata.brokers.has(id),
      fetcher: {
        config: {
          brokerId: this.brokerId,
          fetchWaitMaxMs: cfg.replicaFetchWaitMaxMs,
          fetchMinBytes: cfg.replicaFetchMinBytes,
          fetchMaxBytes: cfg.replicaFetchMaxBytes,
          fetchResponseMaxBytes: cfg.replicaFetchResponseMaxBytes,
          fetchBackoffMs: cfg.replicaFetchBackoffMs,
          socketTimeoutMs: cfg.replicaSocketTimeoutMs,
        },
        // The leader's endpoint comes from the metadata cache; unknown yet = the fetcher retries later.
        connect: async (id) => {
          const ep = this.metadata.brokers.get(id);
          if (!ep || this.closing) return undefined;
          return BrokerClient.connect({
            host: ep.host,
            port: ep.port,
            clientId: `broker-${this.brokerId}-fetcher-${id}`,
            requestTimeoutMs: cfg.replicaSocketTimeoutMs,
          });
        },
      },
      logger: this.logger,
    });
    // Request timing only when someone can read it (a clock read per request otherwise saved).
    if (cfg.metricsListener) this.router.stats = new RequestStats(this.replicas.stats);
    this.groups = new GroupCoordinator({
      config: {
        groupMinSessionTimeoutMs: cfg.groupMinSessionTimeoutMs,
        groupMaxSessionTimeoutMs: cfg.groupMaxSessionTimeoutMs,
        groupInitialRebalanceDelayMs: cfg.groupInitialRebalanceDelayMs,
        groupMaxSize: cfg.groupMaxSize,
        offsetsRetentionMs: cfg.offsetsRetentionMs,
        offsetsTopicPartitions: cfg.offsetsTopicNumPartitions,
        offsetMetadataMaxBytes: cfg.offsetMetadataMaxBytes,
      },
      store: this.offsets,
      now: this.now,
      logger: this.logger,
    });
    this.producerIds = new ProducerIdManager({ claimBlock: () => this.zk.claimProducerIdBlock(this.brokerId) });
    this.admin = new TopicAdmin(this);
    registerHandlers(this);
    this.router.onHandlerError = (err, api) => this.logger.error({ err: String(err), api }, 'request handler failed');

    await this.listen();
    const listener = this.config.advertisedListener;
    this.zk.on('reestablished', (epoch) => {
      if (epoch !== undefined) this.brokerEpoch = epoch;
    });
    this.brokerEpoch = await this.zk.registerBroker({
      id: this.brokerId,
      // An advertised port other than 0 is what clients must dial (NAT, proxies); 0 means the bound one.
      endpoints: [{ listener: listener.name, host: listener.host, port: listener.port || this.boundPort, securityProtocol: 'PLAINTEXT' }],
      rack: cfg.brokerRack ?? undefined,
    });
    this.markRegistered();
    await this.admin.start();

    this.controller = new Controller(this.zk, {
      brokerId: this.brokerId,
      deleteTopicEnable: cfg.deleteTopicEnable,
      uncleanLeaderElection: (topic) => this.logConfigFor(topic).uncleanLeaderElectionEnable,
      logger: this.logger,
      // Decisions reach every broker (this one included) as LeaderAndIsr/UpdateMetadata/StopReplica.
      interBrokerListener: cfg.interBrokerListenerName,
      requestTimeoutMs: cfg.controllerSocketTimeoutMs,
      localBroker: (apiKey, version, body) => this.router.local(apiKey, version, body, `controller-${this.brokerId}`),
      onBrokerChangeHandled: (ms) => this.controllerStats.leaderElectionMs.record(ms),
      onUncleanLeaderElection: () => {
        this.controllerStats.uncleanLeaderElections++;
      },
      ...(cfg.autoLeaderRebalanceEnable
        ? {
            autoLeaderRebalance: {
              checkIntervalMs: cfg.leaderImbalanceCheckIntervalSeconds * 1000,
              imbalancePercentage: cfg.leaderImbalancePerBrokerPercentage,
            },
          }
        : {}),
    });
    this.controller.start();
    // Serve once the cluster view is whole (the controller's UpdateMetadata names the controller
    // and this broker): clients ask for both right away (kafkajs' admin fails fast without them).
    const ready = await this.metadata.waitUntil(
      () => this.metadata.controllerId >= 0 && this.metadata.brokers.has(this.brokerId),
      this.config.zookeeperSessionTimeoutMs,
    );
    if (!ready) this.logger.warn({}, 'no controller known yet; serving anyway');

    this.tickTimer = setInterval(() => this.tick(), 1000);
    this.tickTimer.unref();
    this.isrExpiryTimer = setInterval(() => this.replicas.maybeShrinkIsr(), Math.max(1, Math.floor(cfg.replicaLagTimeMaxMs / 2)));
    this.isrExpiryTimer.unref();
    this.state = BrokerState.RUNNING;
    this.logger.info({ port: this.boundPort, clusterId }, 'kafka broker started');
  }

  private tick(): void {
    try {
      this.logs.tick(this.now());
    } catch (err) {
      this.logger.error({ err }, 'log maintenance failed');
    }
  }

  private listen(): Promise<void> {
    const l = this.config.listener;
    // Paused until the Connection has set up how it reads (connection.ts, socketReads.ts).
    this.server = createServer({ pauseOnConnect: true }, (s) => this.accept(s));
    return new Promise((resolve, reject) => {
      const server = this.server as Server;
      server.once('error', reject);
      server.listen(l.port, l.host || undefined, () => {
        server.off('error', reject);
        const addr = server.address();
        this.boundPort = typeof addr === 'object' && addr ? addr.port : l.port;
        resolve();
      });
    });
  }

  private accept(socket: Socket): void {
    if (this.closing || this.connections.size >= connectionsMax) {
      socket.destroy();
      return;
    }
    const conn = new Connection(
      socket,
      { requestBytesMax: this.config.socketRequestMaxBytes, queuedFramesMax: connectionQueuedFramesMax },
      (frame, c) => this.router.handle(frame, c),
      (err, c) => this.logger.warn({ err: String(err), client: c.clientHost }, 'closing connection after a bad request'),
    );
    this.connections.add(conn);
    socket.on('close', () => this.connections.delete(conn));
  }

  /** The log config for a topic: broker defaults overlaid with the topic's own settings. */
  logConfigFor(topic: string): LogConfig {
    const props = this.topicConfigs.get(topic);
    const base = topic === OFFSETS_TOPIC ? this.offsets.baseLogConfig() : this.config.logDefaults;
    return props ? logConfigFromProps(props, base) : base;
  }

  /** Every topic-level config of a topic with these overrides, as DescribeConfigs reports it. */
  describeTopicConfigEntries(overrides: Record<string, string>): ConfigEntry[] {
    return topicConfigEntries(overrides, Object.fromEntries(this.config.originals));
  }

  /**
   * Controlled shutdown before the listener closes (the controller may be this broker, answering
   * over its own listener): only when enabled, registered, and other brokers are live to lead.
   */
  private async moveLeadershipAway(): Promise<void> {
    const cfg = this.config;
    const others = [...this.metadata.brokers.keys()].some((id) => id !== this.brokerId);
    if (!cfg.controlledShutdownEnable || this.brokerEpoch < 0 || !others || !this.server) return;
    await controlledShutdown({
      brokerId: this.brokerId,
      brokerEpoch: () => this.brokerEpoch,
      controller: () => {
        const id = this.metadata.controllerId;
        const e = id >= 0 ? this.metadata.endpointOf(id) : undefined;
        return e ? { id, host: e.host, port: e.port } : undefined;
      },
      maxRetries: cfg.controlledShutdownMaxRetries,
      backoffMs: cfg.controlledShutdownRetryBackoffMs,
      requestTimeoutMs: cfg.controllerSocketTimeoutMs,
      logger: this.logger,
      localRequest: (body) => this.router.local(7, 3, body, `broker-${this.brokerId}`),
    }).catch((err) => this.logger.warn({ err: String(err) }, 'controlled shutdown failed'));
  }

  autoCreateTopic(name: string): Promise<number> {
    return this.admin.autoCreate(name);
  }

  /** Stops serving: no new requests, parked fetches answered, logs flushed, session closed. */
  async stop(): Promise<void> {
    if (this.closing || this.stopping) return;
    this.stopping = true;
    this.state = BrokerState.PENDING_CONTROLLED_SHUTDOWN;
    await this.moveLeadershipAway();
    this.state = BrokerState.SHUTTING_DOWN;
    this.closing = true;
    // Control requests held for a registration that will not come are let go (answered while closing).
    this.markRegistered();
    if (this.tickTimer) clearInterval(this.tickTimer);
    if (this.isrExpiryTimer) clearInterval(this.isrExpiryTimer);
    // Followers stop fetching first (Kafka's shutdown order: fetchers, then the replica manager).
    this.replicas?.fetchers?.close();
    this.alterPartitionSender?.close();
    this.server?.close();
    for (const c of this.connections) c.close();
    this.metadata.close();
    // The session's close below gives up /controller together with this broker's registration.
    await this.controller?.stop({ keepSeat: true }).catch(() => undefined);
    this.groups?.close();
    this.replicas?.close();
    this.logs?.close();
    await this.zk?.close();
    this.state = BrokerState.NOT_RUNNING;
    await this.metricsEndpoint?.close();
  }
}

export { ErrorCode };
