// server.properties parsing with Apache Kafka 3.9's keys, defaults and checks (ZooKeeper mode),
// plus the container form: KAFKA_<KEY> environment variables applied over the file. Bad values
// fail fast naming the key, where it was set and what is expected; unknown keys are collected so
// the caller can warn once each.

import { readFileSync } from 'node:fs';
import {
  csv,
  envVarToKey,
  fail,
  INT32_MAX,
  KafkaConfigError,
  parseJavaProperties,
  parseListeners,
  parseProtocolMap,
  parseZkConnect,
  Values,
  type Entry,
} from './configParse.js';
import { METRICS_LISTENER_KEY } from './brokerConfigDefs.js';
import { DEFAULT_LOG_CONFIG, LONG_MAX, type CleanupPolicy, type LogConfig, type TimestampType } from './storage/logConfig.js';

export { envVarToKey, KafkaConfigError, parseJavaProperties, parseZkConnect } from './configParse.js';

export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';

export interface ListenerConfig {
  /** Upper-cased, as Kafka normalises listener names. */
  name: string;
  /** Only PLAINTEXT is served so far; the others are refused while parsing. */
  securityProtocol: 'PLAINTEXT';
  /** As written; '' means all interfaces (bind) or this machine's host name (advertise). */
  host: string;
  /** 0 = any free port (bind); advertise the bound port then. */
  port: number;
}

export interface ZkServerAddress {
  host: string;
  port: number;
}

export interface ZkConnectConfig {
  /** The zookeeper.connect value as written. */
  connectString: string;
  servers: ZkServerAddress[];
  /** '' or a path such as '/kafka' under which all Kafka znodes live. */
  chroot: string;
}

export type { CleanupPolicy, TimestampType };
export type BrokerCompressionType = 'producer' | 'uncompressed' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export interface BrokerConfig {
  /** -1: generate one through ZooKeeper (/brokers/seqid) when brokerIdGenerationEnable. */
  brokerId: number;
  brokerIdGenerationEnable: boolean;
  reservedBrokerMaxId: number;
  listeners: ListenerConfig[];
  /** advertised.listeners, or the listeners when unset. */
  advertisedListeners: ListenerConfig[];
  /** The listener to serve: the inter-broker one (one listener is served so far). */
  listener: ListenerConfig;
  /** Its advertised form (host '' = this machine's name, port 0 = the bound port). */
  advertisedListener: ListenerConfig;
  listenerSecurityProtocolMap: Map<string, SecurityProtocol>;
  interBrokerListenerName: string;
  logDirs: string[];
  zookeeper: ZkConnectConfig;
  /** zookeeper.connect as written, chroot included. */
  zookeeperConnect: string;
  zookeeperSessionTimeoutMs: number;
  zookeeperConnectionTimeoutMs: number;
  numPartitions: number;
  defaultReplicationFactor: number;
  autoCreateTopicsEnable: boolean;
  deleteTopicEnable: boolean;
  /** -1 = unlimited. From log.retention.ms, else .minutes, else .hours. */
  logRetentionMs: number;
  /** -1 = unlimited (per partition). */
  logRetentionBytes: number;
  logSegmentBytes: number;
  /** From log.roll.ms, else log.roll.hours. */
  logRollMs: number;
  logCleanupPolicy: CleanupPolicy[];
  logRetentionCheckIntervalMs: number;
  /** log.cleaner.enable: compaction of cleanup.policy=compact topics. */
  logCleanerEnable: boolean;
  /** log.cleaner.backoff.ms: how often an idle cleaner looks for a log to compact. */
  logCleanerBackoffMs: number;
  /** LONG_MAX (Java's Long.MAX_VALUE, rounded to a double) = never. */
  logFlushIntervalMessages: number;
  /** log.flush.interval.ms, else log.flush.scheduler.interval.ms. */
  logFlushIntervalMs: number;
  logIndexIntervalBytes: number;
  logSegmentDeleteDelayMs: number;
  messageMaxBytes: number;
  minInsyncReplicas: number;
  uncleanLeaderElectionEnable: boolean;
  offsetsTopicNumPartitions: number;
  offsetsTopicReplicationFactor: number;
  offsetsTopicSegmentBytes: number;
  offsetsRetentionMinutes: number;
  /** offsetsRetentionMinutes in ms. */
  offsetsRetentionMs: number;
  /** offsets.commit.timeout.ms: how long a commit waits for every in-sync replica of its offsets partition. */
  offsetCommitTimeoutMs: number;
  offsetMetadataMaxBytes: number;
  groupInitialRebalanceDelayMs: number;
  groupMinSessionTimeoutMs: number;
  groupMaxSessionTimeoutMs: number;
  groupMaxSize: number;
  producerIdExpirationMs: number;
  transactionalIdExpirationMs: number;
  transactionMaxTimeoutMs: number;
  transactionStateLogNumPartitions: number;
  transactionStateLogReplicationFactor: number;
  transactionStateLogMinIsr: number;
  transactionStateLogSegmentBytes: number;
  brokerRack: string | undefined;
  socketRequestMaxBytes: number;
  /** Accepted for compatibility; Node serves every connection on one thread, so no effect. */
  numNetworkThreads: number;
  /** Accepted for compatibility; no effect (see numNetworkThreads). */
  numIoThreads: number;
  compressionType: BrokerCompressionType;
  logMessageTimestampType: TimestampType;
  logMessageTimestampDifferenceMaxMs: number;
  replicaLagTimeMaxMs: number;
  /** replica.fetch.* / replica.socket.timeout.ms: the follower's fetch loop (replication/replicaFetcher.ts). */
  replicaFetchWaitMaxMs: number;
  replicaFetchMinBytes: number;
  replicaFetchMaxBytes: number;
  replicaFetchResponseMaxBytes: number;
  replicaFetchBackoffMs: number;
  replicaSocketTimeoutMs: number;
  replicaHighWatermarkCheckpointIntervalMs: number;
  autoLeaderRebalanceEnable: boolean;
  controlledShutdownEnable: boolean;
  controlledShutdownMaxRetries: number;
  controlledShutdownRetryBackoffMs: number;
  leaderImbalancePerBrokerPercentage: number;
  leaderImbalanceCheckIntervalSeconds: number;
  controllerSocketTimeoutMs: number;
  /** clustergenie.metrics.listener: where GET /metrics is served; undefined = not served. */
  metricsListener: { host: string; port: number } | undefined;
  /** The broker-wide log settings (log.* and friends) as the storage layer's LogConfig. */
  logDefaults: LogConfig;
  /** Every key as finally set (file, then environment), for DescribeConfigs and logging. */
  originals: Map<string, string>;
  /** Keys Kafka does not know; the caller warns once each. */
  unknownKeys: string[];
  /** Keys Kafka knows that have no effect here, with why. */
  warnings: string[];
}

// ------------------------------------------------------------------ known keys without effect

/** Kafka keys (many in the stock server.properties) that are accepted but do nothing here. */
const NO_EFFECT: Record<string, string> = {
  'num.network.threads': 'Node serves all connections on one event loop',
  'num.io.threads': 'Node serves all requests on one event loop',
  'num.replica.fetchers': 'followers fetch each leader over one connection',
  'num.recovery.threads.per.data.dir': 'log recovery runs on the event loop',
  'background.threads': 'background tasks run on the event loop',
  'socket.send.buffer.bytes': 'the OS default socket buffers are used',
  'socket.receive.buffer.bytes': 'the OS default socket buffers are used',
  'queued.max.requests': 'requests are bounded per connection instead',
  'log.cleaner.threads': 'not used yet',
  'log.preallocate': 'segments are not preallocated',
  'zookeeper.set.acl': 'znodes are created with open ACLs',
  'zookeeper.max.in.flight.requests': 'not used',
  'security.inter.broker.protocol': 'only PLAINTEXT is supported',
  'inter.broker.protocol.version': 'the wire versions are fixed (3.9)',
  'log.message.format.version': 'record batches are always v2',
  'confluent.support.metrics.enable': 'Confluent-only',
  'group.coordinator.rebalance.protocols': 'only the classic group protocol is served',
};

// ------------------------------------------------------------------ the broker config

/**
 * Parses server.properties text, then applies `KAFKA_*` variables from `env` over it.
 * Throws KafkaConfigError for values Kafka 3.9 would refuse (the CLI exits 2).
 */
export function parseServerProperties(text: string, env: Record<string, string | undefined> = process.env): BrokerConfig {
  const entries = new Map<string, Entry>();
  for (const p of parseJavaProperties(text)) entries.set(p.key, { key: p.key, value: p.value, where: `line ${p.line}` });
  for (const name of Object.keys(env).sort()) {
    const value = env[name];
    const key = envVarToKey(name);
    if (key === undefined || value === undefined) continue;
    entries.set(key, { key, value: value.trim(), where: `environment variable ${name}` });
  }
  const v = new Values(entries);
  const warnings: string[] = [];

  // Identity.
  const brokerIdGenerationEnable = v.bool('broker.id.generation.enable', true);
  const reservedBrokerMaxId = v.int('reserved.broker.max.id', 1000, 0);
  const brokerId = v.int('broker.id', -1);
  const idEntry = v.entry('broker.id');
  if (brokerIdGenerationEnable) {
    if (brokerId < -1 || brokerId > reservedBrokerMaxId) {
      fail(idEntry!, `broker.id must be greater than or equal to -1 and not greater than reserved.broker.max.id (${reservedBrokerMaxId})`);
    }
  } else if (brokerId < 0) {
    if (idEntry) fail(idEntry, 'broker.id must be greater than or equal to 0 when broker.id.generation.enable=false');
    throw new KafkaConfigError('broker.id is not set and broker.id.generation.enable=false: set broker.id to 0 or more');
  }

  // Listeners.
  const mapEntry = v.entry('listener.security.protocol.map');
  const protocolMap = parseProtocolMap(
    mapEntry,
    mapEntry?.value ?? 'PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL',
  );
  const lEntry = v.entry('listeners');
  const listeners = parseListeners(lEntry, 'listeners', lEntry?.value ?? 'PLAINTEXT://:9092', protocolMap);
  if (listeners.length === 0) fail(lEntry!, 'at least one listener is needed');
  const ports = listeners.map((l) => l.port).filter((p) => p !== 0);
  if (new Set(ports).size !== ports.length) fail(lEntry!, 'each listener must have a different port');
  const aEntry = v.entry('advertised.listeners');
  const advertisedListeners = aEntry ? parseListeners(aEntry, 'advertised.listeners', aEntry.value, protocolMap) : listeners;
  if (aEntry) {
    for (const a of advertisedListeners) {
      if (!listeners.some((l) => l.name === a.name)) {
        fail(aEntry, `listener ${a.name} is not defined in listeners (${listeners.map((l) => l.name).join(',')})`);
      }
    }
  }
  for (const a of advertisedListeners) {
    if (a.host === '0.0.0.0') {
      const e = aEntry ?? lEntry;
      const msg = 'advertised.listeners cannot use the nonroutable meta-address 0.0.0.0; use a routable IP address';
      if (e) fail(e, aEntry ? msg : `${msg} (listeners is advertised because advertised.listeners is not set)`);
    }
  }
  const ibEntry = v.entry('inter.broker.listener.name');
  const sibEntry = v.entry('security.inter.broker.protocol');
  if (ibEntry && sibEntry) {
    fail(ibEntry, 'only one of inter.broker.listener.name and security.inter.broker.protocol should be set');
  }
  if (sibEntry && sibEntry.value.toUpperCase() !== 'PLAINTEXT') {
    fail(sibEntry, 'only PLAINTEXT is supported (SASL and TLS are not implemented yet)');
  }
  const interBrokerListenerName = (ibEntry?.value ?? 'PLAINTEXT').toUpperCase();
  if (!advertisedListeners.some((l) => l.name === interBrokerListenerName)) {
    const opts = advertisedListeners.map((l) => l.name).join(',');
    const msg = `inter.broker.listener.name must be a listener name defined in advertised.listeners; the valid options are ${opts}`;
    if (ibEntry) fail(ibEntry, msg);
    throw new KafkaConfigError(`${msg} (inter.broker.listener.name defaults to PLAINTEXT)`);
  }

  // Storage locations.
  const dirsEntry = v.entry('log.dirs');
  const logDirs = csv(dirsEntry?.value ?? v.str('log.dir') ?? '/tmp/kafka-logs');
  if (logDirs.length === 0) {
    fail(dirsEntry ?? v.entry('log.dir')!, 'at least one log directory must be defined via log.dirs or log.dir');
  }

  // ZooKeeper.
  const zkEntry = v.entry('zookeeper.connect');
  if (!zkEntry || zkEntry.value === '') {
    throw new KafkaConfigError(
      'Missing required configuration zookeeper.connect which has no default value (e.g. zookeeper.connect=localhost:2181/kafka)',
    );
  }
  let zookeeper: ZkConnectConfig;
  try {
    zookeeper = parseZkConnect(zkEntry.value);
  } catch (err) {
    fail(zkEntry, `expected host:port[,host:port...][/chroot]: ${(err as Error).message}`);
  }
  const zookeeperSessionTimeoutMs = v.int('zookeeper.session.timeout.ms', 18000, 1);
  const zookeeperConnectionTimeoutMs = v.optInt('zookeeper.connection.timeout.ms', 1) ?? zookeeperSessionTimeoutMs;

  // Log retention and rolling: ms wins over minutes over hours.
  const retMs = v.optLong('log.retention.ms');
  const retMin = v.optInt('log.retention.minutes');
  const retHours = v.int('log.retention.hours', 168);
  let logRetentionMs = retMs ?? (retMin !== undefined ? retMin * 60_000 : retHours * 3_600_000);
  if (logRetentionMs < 0) logRetentionMs = -1;
  if (logRetentionMs === 0) {
    const e = v.entry(retMs !== undefined ? 'log.retention.ms' : retMin !== undefined ? 'log.retention.minutes' : 'log.retention.hours')!;
    fail(e, 'log.retention.ms must be unlimited (-1) or greater than or equal to 1');
  }
  const rollMs = v.optLong('log.roll.ms');
  const logRollMs = rollMs ?? v.int('log.roll.hours', 168, 1) * 3_600_000;
  if (logRollMs < 1) fail(v.entry('log.roll.ms')!, 'log.roll.ms must be greater than or equal to 1');

  const policyEntry = v.entry('log.cleanup.policy');
  const logCleanupPolicy = csv(policyEntry?.value ?? 'delete') as CleanupPolicy[];
  for (const p of logCleanupPolicy) if (p !== 'delete' && p !== 'compact') fail(policyEntry!, 'expected a list of delete, compact');

  const flushMs = v.optLong('log.flush.interval.ms', 0);
  const logFlushIntervalMs = flushMs ?? v.long('log.flush.scheduler.interval.ms', LONG_MAX);

  const groupMinSessionTimeoutMs = v.int('group.min.session.timeout.ms', 6000);
  const groupMaxSessionTimeoutMs = v.int('group.max.session.timeout.ms', 1_800_000);

  // Keys accepted without effect, and the one people expect from KRaft.
  for (const [key, why] of Object.entries(NO_EFFECT)) {
    const e = v.entry(key);
    if (e) warnings.push(`${key} has no effect here: ${why} (${e.where})`);
  }
  const cid = v.entry('cluster.id');
  if (cid)
    warnings.push(
      `cluster.id is not a broker setting in ZooKeeper mode; the cluster id is read from (or created at) /cluster/id (${cid.where})`,
    );

  const listener = listeners.find((l) => l.name === interBrokerListenerName)!;
  const advertisedListener = advertisedListeners.find((l) => l.name === interBrokerListenerName)!;
  const config: BrokerConfig = {
    brokerId,
    brokerIdGenerationEnable,
    reservedBrokerMaxId,
    listeners,
    advertisedListeners,
    listener,
    advertisedListener,
    listenerSecurityProtocolMap: protocolMap,
    interBrokerListenerName,
    logDirs,
    zookeeper: zookeeper!,
    zookeeperConnect: zookeeper!.connectString,
    zookeeperSessionTimeoutMs,
    zookeeperConnectionTimeoutMs,
    numPartitions: v.int('num.partitions', 1, 1),
    defaultReplicationFactor: v.int('default.replication.factor', 1),
    autoCreateTopicsEnable: v.bool('auto.create.topics.enable', true),
    deleteTopicEnable: v.bool('delete.topic.enable', true),
    logRetentionMs,
    logRetentionBytes: v.long('log.retention.bytes', -1),
    logSegmentBytes: v.int('log.segment.bytes', 1024 * 1024 * 1024, 14),
    logRollMs,
    logCleanupPolicy,
    logRetentionCheckIntervalMs: v.long('log.retention.check.interval.ms', 300_000, 1),
    logCleanerEnable: v.bool('log.cleaner.enable', true),
    logCleanerBackoffMs: v.long('log.cleaner.backoff.ms', 15_000, 0),
    logFlushIntervalMessages: v.long('log.flush.interval.messages', LONG_MAX, 1),
    logFlushIntervalMs,
    logIndexIntervalBytes: v.int('log.index.interval.bytes', 4096, 0),
    logSegmentDeleteDelayMs: v.long('log.segment.delete.delay.ms', 60_000, 0),
    messageMaxBytes: v.int('message.max.bytes', 1024 * 1024 + 12, 0),
    minInsyncReplicas: v.int('min.insync.replicas', 1, 1),
    uncleanLeaderElectionEnable: v.bool('unclean.leader.election.enable', false),
    offsetsTopicNumPartitions: v.int('offsets.topic.num.partitions', 50, 1),
    offsetsTopicReplicationFactor: v.short('offsets.topic.replication.factor', 3, 1),
    offsetsTopicSegmentBytes: v.int('offsets.topic.segment.bytes', 100 * 1024 * 1024, 1),
    offsetsRetentionMinutes: v.int('offsets.retention.minutes', 7 * 24 * 60, 1),
    offsetsRetentionMs: 0,
    offsetCommitTimeoutMs: v.int('offsets.commit.timeout.ms', 5000, 1),
    offsetMetadataMaxBytes: v.int('offset.metadata.max.bytes', 4096),
    groupInitialRebalanceDelayMs: v.int('group.initial.rebalance.delay.ms', 3000),
    groupMinSessionTimeoutMs,
    groupMaxSessionTimeoutMs,
    groupMaxSize: v.int('group.max.size', INT32_MAX, 1),
    producerIdExpirationMs: v.int('producer.id.expiration.ms', 86_400_000, 1),
    transactionalIdExpirationMs: v.int('transactional.id.expiration.ms', 7 * 86_400_000, 1),
    transactionMaxTimeoutMs: v.int('transaction.max.timeout.ms', 900_000, 1),
    transactionStateLogNumPartitions: v.int('transaction.state.log.num.partitions', 50, 1),
    transactionStateLogReplicationFactor: v.short('transaction.state.log.replication.factor', 3, 1),
    transactionStateLogMinIsr: v.int('transaction.state.log.min.isr', 2, 1),
    transactionStateLogSegmentBytes: v.int('transaction.state.log.segment.bytes', 100 * 1024 * 1024, 1),
    brokerRack: v.str('broker.rack'),
    socketRequestMaxBytes: v.int('socket.request.max.bytes', 100 * 1024 * 1024, 1),
    numNetworkThreads: v.int('num.network.threads', 3, 1),
    numIoThreads: v.int('num.io.threads', 8, 1),
    compressionType: v.oneOf('compression.type', 'producer', ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd']),
    logMessageTimestampType: v.oneOf('log.message.timestamp.type', 'CreateTime', ['CreateTime', 'LogAppendTime']),
    logMessageTimestampDifferenceMaxMs: v.long('log.message.timestamp.difference.max.ms', LONG_MAX, 0),
    replicaLagTimeMaxMs: v.long('replica.lag.time.max.ms', 30_000),
    replicaFetchWaitMaxMs: v.int('replica.fetch.wait.max.ms', 500, 0),
    replicaFetchMinBytes: v.int('replica.fetch.min.bytes', 1, 0),
    replicaFetchMaxBytes: v.int('replica.fetch.max.bytes', 1_048_576, 0),
    replicaFetchResponseMaxBytes: v.int('replica.fetch.response.max.bytes', 10_485_760, 0),
    replicaFetchBackoffMs: v.int('replica.fetch.backoff.ms', 1000, 0),
    replicaSocketTimeoutMs: v.int('replica.socket.timeout.ms', 30_000, 1),
    replicaHighWatermarkCheckpointIntervalMs: v.long('replica.high.watermark.checkpoint.interval.ms', 5000, 1),
    autoLeaderRebalanceEnable: v.bool('auto.leader.rebalance.enable', true),
    controlledShutdownEnable: v.bool('controlled.shutdown.enable', true),
    controlledShutdownMaxRetries: v.int('controlled.shutdown.max.retries', 3, 0),
    controlledShutdownRetryBackoffMs: v.long('controlled.shutdown.retry.backoff.ms', 5000, 0),
    leaderImbalancePerBrokerPercentage: v.int('leader.imbalance.per.broker.percentage', 10, 0),
    leaderImbalanceCheckIntervalSeconds: v.long('leader.imbalance.check.interval.seconds', 300, 1),
    controllerSocketTimeoutMs: v.int('controller.socket.timeout.ms', 30_000, 1),
    metricsListener: parseMetricsListener(v.entry(METRICS_LISTENER_KEY)),
    logDefaults: DEFAULT_LOG_CONFIG,
    originals: new Map([...entries.values()].map((e) => [e.key, e.value])),
    unknownKeys: [],
    warnings,
  };
  config.offsetsRetentionMs = config.offsetsRetentionMinutes * 60_000;
  config.logDefaults = {
    ...DEFAULT_LOG_CONFIG,
    segmentBytes: config.logSegmentBytes,
    segmentMs: config.logRollMs,
    retentionMs: config.logRetentionMs,
    retentionBytes: config.logRetentionBytes,
    cleanupPolicy: config.logCleanupPolicy,
    maxMessageBytes: config.messageMaxBytes,
    indexIntervalBytes: config.logIndexIntervalBytes,
    flushMessages: config.logFlushIntervalMessages,
    flushMs: config.logFlushIntervalMs,
    fileDeleteDelayMs: config.logSegmentDeleteDelayMs,
    messageTimestampType: config.logMessageTimestampType,
    messageTimestampDifferenceMaxMs: config.logMessageTimestampDifferenceMaxMs,
    minInsyncReplicas: config.minInsyncReplicas,
    uncleanLeaderElectionEnable: config.uncleanLeaderElectionEnable,
    compressionType: config.compressionType,
  };
  // Keys read only to be checked or warned about count as known.
  for (const k of [
    'log.dir',
    'log.flush.scheduler.interval.ms',
    'log.retention.minutes',
    'log.retention.hours',
    'log.roll.hours',
    'cluster.id',
  ])
    v.used.add(k);
  config.unknownKeys = [...entries.keys()].filter((k) => !v.used.has(k));
  return config;
}

/** `host:port` (IPv6 in brackets; host may not be empty: the endpoint is bound where asked, never everywhere by default). */
export function parseMetricsListener(e: Entry | undefined): { host: string; port: number } | undefined {
  if (!e || e.value === '') return undefined;
  const m = /^(?:\[([0-9a-fA-F:.%a-zA-Z]+)\]|([0-9a-zA-Z\-._]+)):(\d{1,5})$/.exec(e.value);
  const port = m ? Number(m[3]) : -1;
  if (!m || port > 65535) fail(e, 'expected host:port with a port in [0, 65535], e.g. 127.0.0.1:7071 (port 0 = any free port)');
  return { host: (m[1] ?? m[2])!, port };
}

/** Reads and parses a server.properties file (UTF-8; Kafka reads ISO-8859-1, which agrees for ASCII). */
export function loadServerProperties(path: string, env: Record<string, string | undefined> = process.env): BrokerConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new KafkaConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  try {
    return parseServerProperties(text, env);
  } catch (e) {
    if (e instanceof KafkaConfigError && / \(line \d+\)/.test(e.message)) {
      throw new KafkaConfigError(e.message.replace(/ \(line (\d+)\)/, ` (line $1 of ${path})`));
    }
    throw e;
  }
}

/** Whether a listener host means "all interfaces" when binding. */
export function bindsAllInterfaces(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::';
}
