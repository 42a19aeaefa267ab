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
import { GroupCoordinator } from '../coordinator/groupCoordinator.js';
import { ProducerIdManager } from '../coordinator/producerIds.js';
import { ErrorCode } from '../protocol/errors.js';
import { ZERO_UUID } from '../protocol/schema.js';
import { type LogConfig, logConfigFromProps } from '../storage/logConfig.js';
import { readProperties } from '../storage/checkpoint.js';
import { LogManager } from '../storage/logManager.js';
import { KafkaZk } from '../zk/kafkaZk.js';
import { randomKafkaUuid } from '../zk/layout.js';
import { Connection } from './connection.js';
import { registerHandlers } from './handlers/index.js';
import { MetadataCache } from './metadataCache.js';
import { OffsetsTopic, OFFSETS_TOPIC } from './offsetsTopic.js';
import { ReplicaManager } from './replicaManager.js';
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
  private server: Server | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private boundPort = -1;

  constructor(
    readonly config: BrokerConfig,
    opts: BrokerOptions = {},
  ) {
    this.logger = (opts.logger ?? createLogger('kafka')).child({ component: 'kafka', broker: config.brokerId });
    this.now = opts.now ?? Date.now;
    this.brokerId = config.brokerId;
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
    this.replicas = new ReplicaManager(this.brokerId, this.logs, this.now, cfg.producerIdExpirationMs);
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
    await this.zk.registerBroker({
      id: this.brokerId,
      // An advertised port other than 0 is what clients must dial (NAT, proxies); 0 means the bound one.
      endpoints: [{ listener: listener.name, host: listener.host, port: listener.port || this.boundPort, securityProtocol: 'PLAINTEXT' }],
      rack: cfg.brokerRack ?? undefined,
    });
    this.watchCluster();
    await this.admin.start();

    this.controller = new Controller(this.zk, {
      brokerId: this.brokerId,
      deleteTopicEnable: cfg.deleteTopicEnable,
      uncleanLeaderElection: (topic) => this.logConfigFor(topic).uncleanLeaderElectionEnable,
      logger: this.logger,
    });
    this.controller.onLeaderAndIsr((topic, topicId, partition, state) =>
      this.admin.onLeaderAndIsr(topic, topicId ?? ZERO_UUID, partition, state),
    );
    this.controller.onStopReplica((topic, partition, deletePartition) => this.admin.onStopReplica(topic, partition, deletePartition));
    this.controller.start();
    // Serve once the cluster view is whole: clients ask for the controller and this broker
    // right away (kafkajs' admin fails fast on an unknown controller).
    const ready = await this.metadata.waitUntil(
      () => this.metadata.controllerId >= 0 && this.metadata.brokers.has(this.brokerId),
      this.config.zookeeperSessionTimeoutMs,
    );
    if (!ready) this.logger.warn({}, 'no controller known yet; serving anyway');

    this.tickTimer = setInterval(() => this.tick(), 1000);
    this.tickTimer.unref();
    this.logger.info({ port: this.boundPort, clusterId }, 'kafka broker started');
  }

  /**
   * Live brokers and the controller id, from ZooKeeper watches. Kafka brokers learn these from
   * the controller's UpdateMetadata; until brokers talk to each other (the cluster issue) each
   * broker follows /brokers/ids and /controller itself.
   */
  private watchCluster(): void {
    const refreshBrokers = async (): Promise<void> => {
      try {
        const list = await this.zk.getBrokers();
        this.metadata.setBrokers(
          list.map((r) => {
            const e = r.info.endpoints.find((x) => x.listener === this.config.advertisedListener.name) ?? r.info.endpoints[0];
            return { id: r.info.id, host: e?.host ?? '', port: e?.port ?? -1, rack: r.info.rack ?? null };
          }),
        );
      } catch (err) {
        if (!this.closing) this.logger.warn({ err: String(err) }, 'could not read the live brokers');
      }
    };
    this.zk.watchChildren('/brokers/ids', () => void refreshBrokers());
    this.zk.watchData('/controller', (data) => {
      let id = -1;
      try {
        if (data) id = (JSON.parse(data.toString('utf8')) as { brokerid?: number }).brokerid ?? -1;
      } catch {
        id = -1;
      }
      this.metadata.controllerId = id;
      this.metadata.notify();
    });
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
    this.server = createServer((s) => this.accept(s));
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

  autoCreateTopic(name: string): Promise<number> {
    return this.admin.autoCreate(name);
  }

  /** Stops serving: no new requests, parked fetches answered, logs flushed, session closed. */
  async stop(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.server?.close();
    for (const c of this.connections) c.close();
    this.metadata.close();
    await this.controller?.stop().catch(() => undefined);
    this.groups?.close();
    this.replicas?.close();
    this.logs?.close();
    await this.zk?.close();
  }
}

export { ErrorCode };
