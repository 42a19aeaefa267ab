// Every broker config key this broker reads (config.ts), as DescribeConfigs on a BROKER resource
// reports it: Kafka's config type, its default rendered as Kafka renders it (null where Kafka has
// no default), whether Kafka can change it at run time (dynamic: not readOnly), and a short doc.
// Types, defaults and dynamic flags were checked against Apache Kafka 3.9's own answer
// (test/kafka/differential/protocol.test.ts compares them).

import type { BrokerConfig } from './config.js';

export type BrokerConfigType = 'boolean' | 'string' | 'int' | 'short' | 'long' | 'list';

export interface BrokerConfigDef {
  name: string;
  type: BrokerConfigType;
  /** Kafka's default as DescribeConfigs renders it; null when it has none (derived or unset). */
  default: string | null;
  /** Kafka can change it without a restart (DynamicBrokerConfig); DescribeConfigs says readOnly=false. */
  dynamic: boolean;
  doc: string;
}

export const BROKER_CONFIG_DEFS: readonly BrokerConfigDef[] = [
  {
    name: 'broker.id.generation.enable',
    type: 'boolean',
    default: 'true',
    dynamic: false,
    doc: 'Whether a broker without broker.id takes a generated id from ZooKeeper.',
  },
  {
    name: 'reserved.broker.max.id',
    type: 'int',
    default: '1000',
    dynamic: false,
    doc: 'Highest id a broker.id may use; generated ids start above it.',
  },
  {
    name: 'broker.id',
    type: 'int',
    default: '-1',
    dynamic: false,
    doc: "This broker's id; -1 means generate one (see broker.id.generation.enable).",
  },
  {
    name: 'listener.security.protocol.map',
    type: 'string',
    default: 'SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT',
    dynamic: true,
    doc: 'Security protocol of each listener name, as NAME:PROTOCOL pairs.',
  },
  {
    name: 'listeners',
    type: 'string',
    default: 'PLAINTEXT://:9092',
    dynamic: true,
    doc: 'Addresses the broker accepts connections on, as NAME://host:port items.',
  },
  {
    name: 'advertised.listeners',
    type: 'string',
    default: null,
    dynamic: true,
    doc: 'Addresses given to clients in metadata; listeners when unset.',
  },
  {
    name: 'inter.broker.listener.name',
    type: 'string',
    default: null,
    dynamic: false,
    doc: 'The listener brokers use to talk to each other.',
  },
  {
    name: 'security.inter.broker.protocol',
    type: 'string',
    default: 'PLAINTEXT',
    dynamic: false,
    doc: 'Security protocol between brokers when no inter-broker listener name is set.',
  },
  { name: 'log.dirs', type: 'string', default: null, dynamic: false, doc: 'Directories partition logs are kept in; log.dir when unset.' },
  { name: 'log.dir', type: 'string', default: '/tmp/kafka-logs', dynamic: false, doc: 'The log directory used when log.dirs is unset.' },
  {
    name: 'zookeeper.connect',
    type: 'string',
    default: null,
    dynamic: false,
    doc: 'ZooKeeper servers as host:port items, with an optional chroot path.',
  },
  { name: 'zookeeper.session.timeout.ms', type: 'int', default: '18000', dynamic: false, doc: 'ZooKeeper session timeout.' },
  {
    name: 'zookeeper.connection.timeout.ms',
    type: 'int',
    default: null,
    dynamic: false,
    doc: 'How long to wait for a ZooKeeper connection; the session timeout when unset.',
  },
  {
    name: 'log.retention.ms',
    type: 'long',
    default: null,
    dynamic: true,
    doc: 'How long log segments are kept before deletion; -1 keeps them forever. Wins over minutes and hours.',
  },
  {
    name: 'log.retention.minutes',
    type: 'int',
    default: null,
    dynamic: false,
    doc: 'Retention in minutes, used when log.retention.ms is unset.',
  },
  {
    name: 'log.retention.hours',
    type: 'int',
    default: '168',
    dynamic: false,
    doc: 'Retention in hours, used when neither log.retention.ms nor minutes is set.',
  },
  {
    name: 'log.roll.ms',
    type: 'long',
    default: null,
    dynamic: true,
    doc: 'Longest time before a new segment is rolled. Wins over log.roll.hours.',
  },
  { name: 'log.roll.hours', type: 'int', default: '168', dynamic: false, doc: 'Longest time before a new segment is rolled, in hours.' },
  {
    name: 'log.cleanup.policy',
    type: 'list',
    default: 'delete',
    dynamic: true,
    doc: 'Default cleanup policy of topics: delete, compact or both.',
  },
  {
    name: 'log.flush.interval.ms',
    type: 'long',
    default: null,
    dynamic: true,
    doc: 'Longest time a message waits in memory before a flush; log.flush.scheduler.interval.ms when unset.',
  },
  {
    name: 'log.flush.scheduler.interval.ms',
    type: 'long',
    default: '9223372036854775807',
    dynamic: false,
    doc: 'How often logs are checked for a due flush.',
  },
  {
    name: 'group.min.session.timeout.ms',
    type: 'int',
    default: '6000',
    dynamic: false,
    doc: 'Smallest session timeout a group member may ask for.',
  },
  {
    name: 'group.max.session.timeout.ms',
    type: 'int',
    default: '1800000',
    dynamic: false,
    doc: 'Largest session timeout a group member may ask for.',
  },
  { name: 'num.partitions', type: 'int', default: '1', dynamic: false, doc: 'Partitions of a topic created without a count.' },
  {
    name: 'default.replication.factor',
    type: 'int',
    default: '1',
    dynamic: false,
    doc: 'Replication factor of a topic created without one.',
  },
  {
    name: 'auto.create.topics.enable',
    type: 'boolean',
    default: 'true',
    dynamic: false,
    doc: 'Whether metadata requests for unknown topics create them.',
  },
  { name: 'delete.topic.enable', type: 'boolean', default: 'true', dynamic: false, doc: 'Whether topics can be deleted.' },
  {
    name: 'log.retention.bytes',
    type: 'long',
    default: '-1',
    dynamic: true,
    doc: 'Largest size a partition log keeps before old segments are deleted; -1 means no limit.',
  },
  { name: 'log.segment.bytes', type: 'int', default: '1073741824', dynamic: true, doc: 'Largest size of one log segment file.' },
  {
    name: 'log.retention.check.interval.ms',
    type: 'long',
    default: '300000',
    dynamic: false,
    doc: 'How often logs are checked for segments to delete.',
  },
  { name: 'log.cleaner.enable', type: 'boolean', default: 'true', dynamic: false, doc: 'Whether compacted topics are cleaned.' },
  {
    name: 'log.cleaner.backoff.ms',
    type: 'long',
    default: '15000',
    dynamic: true,
    doc: 'How long the cleaner sleeps when there is no log to clean.',
  },
  {
    name: 'log.flush.interval.messages',
    type: 'long',
    default: '9223372036854775807',
    dynamic: true,
    doc: 'Messages appended to a partition before it is flushed.',
  },
  { name: 'log.index.interval.bytes', type: 'int', default: '4096', dynamic: true, doc: 'Bytes appended between offset index entries.' },
  {
    name: 'log.segment.delete.delay.ms',
    type: 'long',
    default: '60000',
    dynamic: true,
    doc: 'How long a deleted segment stays on disk before its files are removed.',
  },
  { name: 'message.max.bytes', type: 'int', default: '1048588', dynamic: true, doc: 'Largest record batch the broker accepts.' },
  { name: 'min.insync.replicas', type: 'int', default: '1', dynamic: true, doc: 'Replicas that must acknowledge an acks=all write.' },
  {
    name: 'unclean.leader.election.enable',
    type: 'boolean',
    default: 'false',
    dynamic: true,
    doc: 'Whether a replica outside the ISR may become leader.',
  },
  { name: 'offsets.topic.num.partitions', type: 'int', default: '50', dynamic: false, doc: 'Partitions of the __consumer_offsets topic.' },
  {
    name: 'offsets.topic.replication.factor',
    type: 'short',
    default: '3',
    dynamic: false,
    doc: 'Replication factor of the __consumer_offsets topic.',
  },
  {
    name: 'offsets.topic.segment.bytes',
    type: 'int',
    default: '104857600',
    dynamic: false,
    doc: 'Segment size of the __consumer_offsets topic.',
  },
  {
    name: 'offsets.retention.minutes',
    type: 'int',
    default: '10080',
    dynamic: false,
    doc: 'How long committed offsets of an empty group are kept.',
  },
  {
    name: 'offsets.commit.timeout.ms',
    type: 'int',
    default: '5000',
    dynamic: false,
    doc: 'How long an offset commit waits for every in-sync replica of its __consumer_offsets partition.',
  },
  {
    name: 'offset.metadata.max.bytes',
    type: 'int',
    default: '4096',
    dynamic: false,
    doc: 'Largest metadata string an offset commit may carry.',
  },
  {
    name: 'group.initial.rebalance.delay.ms',
    type: 'int',
    default: '3000',
    dynamic: false,
    doc: 'How long the first rebalance of a new group waits for more members.',
  },
  { name: 'group.max.size', type: 'int', default: '2147483647', dynamic: false, doc: 'Most members one consumer group may have.' },
  {
    name: 'producer.id.expiration.ms',
    type: 'int',
    default: '86400000',
    dynamic: true,
    doc: "How long an idle producer id's state is kept.",
  },
  {
    name: 'transactional.id.expiration.ms',
    type: 'int',
    default: '604800000',
    dynamic: false,
    doc: 'How long an idle transactional id is kept.',
  },
  {
    name: 'transaction.max.timeout.ms',
    type: 'int',
    default: '900000',
    dynamic: false,
    doc: 'Largest transaction timeout a producer may ask for.',
  },
  {
    name: 'transaction.state.log.num.partitions',
    type: 'int',
    default: '50',
    dynamic: false,
    doc: 'Partitions of the __transaction_state topic.',
  },
  {
    name: 'transaction.state.log.replication.factor',
    type: 'short',
    default: '3',
    dynamic: false,
    doc: 'Replication factor of the __transaction_state topic.',
  },
  {
    name: 'transaction.state.log.min.isr',
    type: 'int',
    default: '2',
    dynamic: false,
    doc: 'min.insync.replicas of the __transaction_state topic.',
  },
  {
    name: 'transaction.state.log.segment.bytes',
    type: 'int',
    default: '104857600',
    dynamic: false,
    doc: 'Segment size of the __transaction_state topic.',
  },
  { name: 'broker.rack', type: 'string', default: null, dynamic: false, doc: 'The rack of this broker, for rack-aware replica placement.' },
  { name: 'socket.request.max.bytes', type: 'int', default: '104857600', dynamic: false, doc: 'Largest request the broker reads.' },
  {
    name: 'num.network.threads',
    type: 'int',
    default: '3',
    dynamic: true,
    doc: 'Network threads (no effect here: one event loop serves all connections).',
  },
  {
    name: 'num.io.threads',
    type: 'int',
    default: '8',
    dynamic: true,
    doc: 'Request threads (no effect here: one event loop serves all requests).',
  },
  {
    name: 'compression.type',
    type: 'string',
    default: 'producer',
    dynamic: true,
    doc: 'Compression of stored batches: producer keeps what the producer sent.',
  },
  {
    name: 'log.message.timestamp.type',
    type: 'string',
    default: 'CreateTime',
    dynamic: true,
    doc: "Whether stored timestamps are the producer's (CreateTime) or the broker's (LogAppendTime).",
  },
  {
    name: 'log.message.timestamp.difference.max.ms',
    type: 'long',
    default: '9223372036854775807',
    dynamic: true,
    doc: 'Largest allowed distance between a record timestamp and the broker clock.',
  },
  {
    name: 'replica.lag.time.max.ms',
    type: 'long',
    default: '30000',
    dynamic: false,
    doc: 'How long a follower may lag before it leaves the ISR.',
  },
  {
    name: 'replica.fetch.wait.max.ms',
    type: 'int',
    default: '500',
    dynamic: false,
    doc: 'How long a follower fetch waits at the leader for data.',
  },
  { name: 'replica.fetch.min.bytes', type: 'int', default: '1', dynamic: false, doc: 'Bytes a follower fetch waits for at the leader.' },
  { name: 'replica.fetch.max.bytes', type: 'int', default: '1048576', dynamic: false, doc: 'Bytes a follower fetches per partition.' },
  {
    name: 'replica.fetch.response.max.bytes',
    type: 'int',
    default: '10485760',
    dynamic: false,
    doc: 'Bytes a follower fetch response may hold in all.',
  },
  { name: 'replica.fetch.backoff.ms', type: 'int', default: '1000', dynamic: false, doc: 'Wait after a follower fetch error.' },
  { name: 'replica.socket.timeout.ms', type: 'int', default: '30000', dynamic: false, doc: 'Timeout of follower requests to the leader.' },
  {
    name: 'replica.high.watermark.checkpoint.interval.ms',
    type: 'long',
    default: '5000',
    dynamic: false,
    doc: 'How often high watermarks are written to replication-offset-checkpoint.',
  },
  {
    name: 'auto.leader.rebalance.enable',
    type: 'boolean',
    default: 'true',
    dynamic: false,
    doc: 'Whether leadership moves back to preferred replicas.',
  },
  {
    name: 'controlled.shutdown.enable',
    type: 'boolean',
    default: 'true',
    dynamic: false,
    doc: 'Whether a stopping broker hands its leaderships over first.',
  },
  {
    name: 'controlled.shutdown.max.retries',
    type: 'int',
    default: '3',
    dynamic: false,
    doc: 'ControlledShutdown attempts before the broker stops anyway.',
  },
  {
    name: 'controlled.shutdown.retry.backoff.ms',
    type: 'long',
    default: '5000',
    dynamic: false,
    doc: 'Wait between ControlledShutdown attempts.',
  },
  {
    name: 'leader.imbalance.per.broker.percentage',
    type: 'int',
    default: '10',
    dynamic: false,
    doc: 'Share of the partitions a broker is preferred for but does not lead that triggers a preferred election.',
  },
  {
    name: 'leader.imbalance.check.interval.seconds',
    type: 'long',
    default: '300',
    dynamic: false,
    doc: 'How often the controller checks the leader imbalance.',
  },
  {
    name: 'controller.socket.timeout.ms',
    type: 'int',
    default: '30000',
    dynamic: false,
    doc: 'Deadline of a controller request to a broker.',
  },
  { name: 'num.replica.fetchers', type: 'int', default: '1', dynamic: true, doc: 'Follower fetcher threads (no effect here).' },
  {
    name: 'num.recovery.threads.per.data.dir',
    type: 'int',
    default: '1',
    dynamic: true,
    doc: 'Log recovery threads per directory (no effect here).',
  },
  { name: 'background.threads', type: 'int', default: '10', dynamic: true, doc: 'Background task threads (no effect here).' },
  {
    name: 'socket.send.buffer.bytes',
    type: 'int',
    default: '102400',
    dynamic: false,
    doc: 'Socket send buffer size (no effect here: OS default).',
  },
  {
    name: 'socket.receive.buffer.bytes',
    type: 'int',
    default: '102400',
    dynamic: false,
    doc: 'Socket receive buffer size (no effect here: OS default).',
  },
  {
    name: 'queued.max.requests',
    type: 'int',
    default: '500',
    dynamic: false,
    doc: 'Requests queued before reading stops (no effect here: bounded per connection).',
  },
  { name: 'log.cleaner.threads', type: 'int', default: '1', dynamic: true, doc: 'Log cleaner threads (no effect here).' },
  {
    name: 'log.preallocate',
    type: 'boolean',
    default: 'false',
    dynamic: true,
    doc: 'Whether segment files are preallocated (no effect here).',
  },
  {
    name: 'zookeeper.set.acl',
    type: 'boolean',
    default: 'false',
    dynamic: false,
    doc: 'Whether znodes get secure ACLs (no effect here: open ACLs).',
  },
  {
    name: 'zookeeper.max.in.flight.requests',
    type: 'int',
    default: '10',
    dynamic: false,
    doc: 'Unacknowledged ZooKeeper requests allowed (no effect here).',
  },
  {
    name: 'inter.broker.protocol.version',
    type: 'string',
    default: '3.9-IV0',
    dynamic: false,
    doc: 'Protocol version between brokers (no effect here).',
  },
  {
    name: 'log.message.format.version',
    type: 'string',
    default: '3.0-IV1',
    dynamic: false,
    doc: 'Stored message format version (no effect here: always v2 batches).',
  },
  {
    name: 'group.coordinator.rebalance.protocols',
    type: 'list',
    default: 'classic',
    dynamic: false,
    doc: 'Group protocols served (no effect here: classic only).',
  },
];

/** The server.properties key of the broker's Prometheus endpoint (host:port; unset = none). */
export const METRICS_LISTENER_KEY = 'clustergenie.metrics.listener';

/**
 * ClusterGenie's own broker keys, namespaced so they never collide with Kafka's. They are kept out
 * of BROKER_CONFIG_DEFS so DescribeConfigs answers exactly what Kafka would (a key that is set is
 * still listed, as every original is); the parser knows them, so they are not "unknown".
 */
export const CLUSTERGENIE_CONFIG_DEFS: readonly BrokerConfigDef[] = [
  {
    name: METRICS_LISTENER_KEY,
    type: 'string',
    default: null,
    dynamic: false,
    doc: 'host:port of the Prometheus /metrics endpoint with the JMX-exporter names (e.g. 127.0.0.1:7071; port 0 = any free port); unset = no endpoint.',
  },
];

/** Kafka's ConfigType codes (DescribeConfigs v3+). */
const CONFIG_TYPE_CODE: Record<BrokerConfigType, number> = { boolean: 1, string: 2, int: 3, short: 4, long: 5, list: 7 };

/**
 * Keys whose value falls back to other keys (Kafka's brokerSynonyms), most specific first. A
 * synonym list starts at the key described, so log.retention.hours never lists log.retention.ms.
 */
const SYNONYM_CHAINS: readonly (readonly string[])[] = [
  ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'],
  ['log.roll.ms', 'log.roll.hours'],
  ['log.flush.interval.ms', 'log.flush.scheduler.interval.ms'],
];

const STATIC_BROKER_CONFIG = 4;
const DEFAULT_CONFIG = 5;

export interface BrokerConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  configSource: number;
  synonyms: { name: string; value: string | null; source: number }[];
  configType: number;
  documentation: string | null;
}

/** A value from server.properties as Kafka renders the parsed value (numbers normalised, lists re-joined). */
function render(def: BrokerConfigDef, raw: string): string {
  switch (def.type) {
    case 'int':
    case 'short':
    case 'long':
      return /^[+-]?\d+$/.test(raw) ? BigInt(raw).toString() : raw;
    case 'boolean':
      return raw.toLowerCase();
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
        .join(',');
    default:
      return raw;
  }
}

const DEFS_BY_NAME = new Map(BROKER_CONFIG_DEFS.map((d) => [d.name, d]));

/**
 * Every known broker config with its value and source: STATIC_BROKER_CONFIG when server.properties
 * (or a KAFKA_ variable) set it, else DEFAULT_CONFIG with Kafka's default. Synonyms list the static
 * then the default settings of the key and of the keys it falls back to.
 */
export function brokerConfigEntries(config: Pick<BrokerConfig, 'originals'>): BrokerConfigEntry[] {
  const originals = config.originals;
  return BROKER_CONFIG_DEFS.map((def) => {
    const chain = SYNONYM_CHAINS.find((c) => c.includes(def.name));
    const names = chain ? chain.slice(chain.indexOf(def.name)) : [def.name];
    const synonyms: BrokerConfigEntry['synonyms'] = [];
    for (const n of names) {
      const raw = originals.get(n);
      if (raw !== undefined) synonyms.push({ name: n, value: raw, source: STATIC_BROKER_CONFIG });
    }
    for (const n of names) {
      const d = DEFS_BY_NAME.get(n)?.default ?? null;
      if (d !== null) synonyms.push({ name: n, value: d, source: DEFAULT_CONFIG });
    }
    // As Kafka does, a list that does not start with the key itself is dropped (the value then
    // comes from a fallback key only when the broker resolves it, not in this entry).
    while (synonyms.length > 0 && synonyms[0]!.name !== def.name) synonyms.shift();
    const raw = originals.get(def.name);
    return {
      name: def.name,
      value: raw !== undefined ? render(def, raw) : def.default,
      readOnly: !def.dynamic,
      configSource: raw !== undefined ? STATIC_BROKER_CONFIG : DEFAULT_CONFIG,
      synonyms,
      configType: CONFIG_TYPE_CODE[def.type],
      documentation: def.doc,
    };
  });
}
