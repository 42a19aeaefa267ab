// Per-topic log settings: the typed form the storage layer uses, Kafka's defaults, and the parser
// for topic-level keys as stored in /config/topics/<topic> (strings in, validated numbers out).

export type CleanupPolicy = 'delete' | 'compact';
export type TimestampType = 'CreateTime' | 'LogAppendTime';

export interface LogConfig {
  segmentBytes: number;
  segmentMs: number;
  segmentJitterMs: number;
  retentionMs: number; // -1 = unlimited
  retentionBytes: number; // -1 = unlimited, per partition
  cleanupPolicy: CleanupPolicy[];
  deleteRetentionMs: number;
  minCompactionLagMs: number;
  maxCompactionLagMs: number;
  minCleanableDirtyRatio: number;
  maxMessageBytes: number;
  indexIntervalBytes: number;
  segmentIndexBytes: number;
  flushMessages: number; // LONG_MAX = never (Kafka's default: replication gives durability)
  flushMs: number;
  fileDeleteDelayMs: number;
  messageTimestampType: TimestampType;
  messageTimestampDifferenceMaxMs: number;
  messageTimestampBeforeMaxMs: number;
  messageTimestampAfterMaxMs: number;
  minInsyncReplicas: number;
  uncleanLeaderElectionEnable: boolean;
  compressionType: string;
  preallocate: boolean;
}

/** Java's Long.MAX_VALUE as a JS number (rounds to 2^63); any value this large means "never". */
export const LONG_MAX = 2 ** 63; // the nearest double to Long.MAX_VALUE
const INT_MAX = 2147483647;

export const DEFAULT_LOG_CONFIG: LogConfig = Object.freeze({
  segmentBytes: 1073741824,
  segmentMs: 604800000,
  segmentJitterMs: 0,
  retentionMs: 604800000,
  retentionBytes: -1,
  cleanupPolicy: ['delete'] as CleanupPolicy[],
  deleteRetentionMs: 86400000,
  minCompactionLagMs: 0,
  maxCompactionLagMs: LONG_MAX,
  minCleanableDirtyRatio: 0.5,
  maxMessageBytes: 1048588,
  indexIntervalBytes: 4096,
  segmentIndexBytes: 10485760,
  flushMessages: LONG_MAX,
  flushMs: LONG_MAX,
  fileDeleteDelayMs: 60000,
  messageTimestampType: 'CreateTime',
  messageTimestampDifferenceMaxMs: LONG_MAX,
  messageTimestampBeforeMaxMs: LONG_MAX,
  messageTimestampAfterMaxMs: LONG_MAX,
  minInsyncReplicas: 1,
  uncleanLeaderElectionEnable: false,
  compressionType: 'producer',
  preallocate: false,
}) as LogConfig;

export type ConfigType = 'long' | 'int' | 'string' | 'list' | 'boolean' | 'double';

export interface TopicConfigKey {
  name: string;
  type: ConfigType;
  default: string;
  doc: string;
  serverDefaultKey?: string;
}

const L = '9223372036854775807'; // Long.MAX_VALUE exactly, as DescribeConfigs shows it

/** Topic-level keys of Kafka 3.9 (names, types, defaults, broker-level synonyms); docs are our own summaries. */
export const TOPIC_CONFIG_KEYS: readonly TopicConfigKey[] = Object.freeze([
  {
    name: 'cleanup.policy',
    type: 'list',
    default: 'delete',
    serverDefaultKey: 'log.cleanup.policy',
    doc: 'How old segments are discarded: "delete" (by retention) and/or "compact" (keep the latest value per key).',
  },
  {
    name: 'compression.type',
    type: 'string',
    default: 'producer',
    serverDefaultKey: 'compression.type',
    doc: "Codec batches are stored with: uncompressed, gzip, snappy, lz4, zstd, or producer (keep the producer's).",
  },
  {
    name: 'compression.gzip.level',
    type: 'int',
    default: '-1',
    serverDefaultKey: 'compression.gzip.level',
    doc: 'Level used when the broker compresses with gzip.',
  },
  {
    name: 'compression.lz4.level',
    type: 'int',
    default: '9',
    serverDefaultKey: 'compression.lz4.level',
    doc: 'Level used when the broker compresses with lz4.',
  },
  {
    name: 'compression.zstd.level',
    type: 'int',
    default: '3',
    serverDefaultKey: 'compression.zstd.level',
    doc: 'Level used when the broker compresses with zstd.',
  },
  {
    name: 'delete.retention.ms',
    type: 'long',
    default: '86400000',
    serverDefaultKey: 'log.cleaner.delete.retention.ms',
    doc: 'How long tombstones stay readable on a compacted topic after cleaning.',
  },
  {
    name: 'file.delete.delay.ms',
    type: 'long',
    default: '60000',
    serverDefaultKey: 'log.segment.delete.delay.ms',
    doc: 'Delay between a segment being retired (renamed .deleted) and its files being removed.',
  },
  {
    name: 'flush.messages',
    type: 'long',
    default: L,
    serverDefaultKey: 'log.flush.interval.messages',
    doc: 'Force an fsync after this many messages; by default never (replication provides durability).',
  },
  {
    name: 'flush.ms',
    type: 'long',
    default: L,
    serverDefaultKey: 'log.flush.interval.ms',
    doc: 'Force an fsync when this much time passed since the last one; by default never.',
  },
  {
    name: 'follower.replication.throttled.replicas',
    type: 'list',
    default: '',
    serverDefaultKey: 'follower.replication.throttled.replicas',
    doc: 'Replicas whose follower-side replication is throttled (partition:broker pairs or *).',
  },
  {
    name: 'index.interval.bytes',
    type: 'int',
    default: '4096',
    serverDefaultKey: 'log.index.interval.bytes',
    doc: 'Bytes of log between two offset index entries.',
  },
  {
    name: 'leader.replication.throttled.replicas',
    type: 'list',
    default: '',
    serverDefaultKey: 'leader.replication.throttled.replicas',
    doc: 'Replicas whose leader-side replication is throttled (partition:broker pairs or *).',
  },
  {
    name: 'local.retention.bytes',
    type: 'long',
    default: '-2',
    serverDefaultKey: 'log.local.retention.bytes',
    doc: 'Local retention by size with tiered storage; -2 means use retention.bytes.',
  },
  {
    name: 'local.retention.ms',
    type: 'long',
    default: '-2',
    serverDefaultKey: 'log.local.retention.ms',
    doc: 'Local retention by time with tiered storage; -2 means use retention.ms.',
  },
  {
    name: 'max.compaction.lag.ms',
    type: 'long',
    default: L,
    serverDefaultKey: 'log.cleaner.max.compaction.lag.ms',
    doc: 'Longest time a record may stay uncompacted.',
  },
  {
    name: 'max.message.bytes',
    type: 'int',
    default: '1048588',
    serverDefaultKey: 'message.max.bytes',
    doc: 'Largest record batch the topic accepts.',
  },
  {
    name: 'message.downconversion.enable',
    type: 'boolean',
    default: 'true',
    serverDefaultKey: 'log.message.downconversion.enable',
    doc: 'Whether fetches from old clients may be served by down-converting batches.',
  },
  {
    name: 'message.format.version',
    type: 'string',
    default: '3.0-IV1',
    serverDefaultKey: 'log.message.format.version',
    doc: 'Deprecated; ignored since inter-broker protocol 3.0.',
  },
  {
    name: 'message.timestamp.after.max.ms',
    type: 'long',
    default: L,
    serverDefaultKey: 'log.message.timestamp.after.max.ms',
    doc: 'How far in the future a CreateTime timestamp may be compared to the broker clock.',
  },
  {
    name: 'message.timestamp.before.max.ms',
    type: 'long',
    default: L,
    serverDefaultKey: 'log.message.timestamp.before.max.ms',
    doc: 'How far in the past a CreateTime timestamp may be compared to the broker clock.',
  },
  {
    name: 'message.timestamp.difference.max.ms',
    type: 'long',
    default: L,
    serverDefaultKey: 'log.message.timestamp.difference.max.ms',
    doc: 'Deprecated: largest allowed distance between a CreateTime timestamp and the broker clock.',
  },
  {
    name: 'message.timestamp.type',
    type: 'string',
    default: 'CreateTime',
    serverDefaultKey: 'log.message.timestamp.type',
    doc: "CreateTime keeps the producer's timestamps; LogAppendTime stamps batches with the broker clock.",
  },
  {
    name: 'min.cleanable.dirty.ratio',
    type: 'double',
    default: '0.5',
    serverDefaultKey: 'log.cleaner.min.cleanable.ratio',
    doc: 'Share of uncompacted bytes above which the log is eligible for compaction.',
  },
  {
    name: 'min.compaction.lag.ms',
    type: 'long',
    default: '0',
    serverDefaultKey: 'log.cleaner.min.compaction.lag.ms',
    doc: 'Shortest time a record stays uncompacted.',
  },
  {
    name: 'min.insync.replicas',
    type: 'int',
    default: '1',
    serverDefaultKey: 'min.insync.replicas',
    doc: 'In-sync replicas needed for an acks=all produce to succeed.',
  },
  {
    name: 'preallocate',
    type: 'boolean',
    default: 'false',
    serverDefaultKey: 'log.preallocate',
    doc: 'Whether new segment files are preallocated on disk.',
  },
  {
    name: 'remote.log.copy.disable',
    type: 'boolean',
    default: 'false',
    doc: 'Tiered storage: stop copying segments to remote storage (not supported here).',
  },
  {
    name: 'remote.log.delete.on.disable',
    type: 'boolean',
    default: 'false',
    doc: 'Tiered storage: delete remote data when it is disabled (not supported here).',
  },
  { name: 'remote.storage.enable', type: 'boolean', default: 'false', doc: 'Whether the topic uses tiered storage (not supported here).' },
  {
    name: 'retention.bytes',
    type: 'long',
    default: '-1',
    serverDefaultKey: 'log.retention.bytes',
    doc: 'Largest size a partition may grow to before old segments are deleted; -1 = no limit.',
  },
  {
    name: 'retention.ms',
    type: 'long',
    default: '604800000',
    serverDefaultKey: 'log.retention.ms',
    doc: 'How long segments are kept (by their newest timestamp) before deletion; -1 = no limit.',
  },
  {
    name: 'segment.bytes',
    type: 'int',
    default: '1073741824',
    serverDefaultKey: 'log.segment.bytes',
    doc: 'Size at which the active segment rolls.',
  },
  {
    name: 'segment.index.bytes',
    type: 'int',
    default: '10485760',
    serverDefaultKey: 'log.index.size.max.bytes',
    doc: 'Size each offset/time index is preallocated to; a full index rolls the segment.',
  },
  {
    name: 'segment.jitter.ms',
    type: 'long',
    default: '0',
    serverDefaultKey: 'log.roll.jitter.ms',
    doc: 'Random amount subtracted from segment.ms so segments do not all roll at once.',
  },
  {
    name: 'segment.ms',
    type: 'long',
    default: '604800000',
    serverDefaultKey: 'log.roll.ms',
    doc: 'Age at which the active segment rolls even if not full.',
  },
  {
    name: 'unclean.leader.election.enable',
    type: 'boolean',
    default: 'false',
    serverDefaultKey: 'unclean.leader.election.enable',
    doc: 'Whether an out-of-sync replica may become leader when no in-sync one is left (data loss).',
  },
] as TopicConfigKey[]);

const KEY_BY_NAME = new Map(TOPIC_CONFIG_KEYS.map((k) => [k.name, k]));
const COMPRESSION_TYPES = new Set(['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer']);

function bad(key: string, value: string, why: string): Error {
  return new Error(`Invalid value ${JSON.stringify(value)} for configuration ${key}: ${why}`);
}

function parseInteger(key: string, value: string, min: number, max: number): number {
  const t = value.trim();
  if (!/^[-+]?\d+$/.test(t)) throw bad(key, value, 'not a number');
  const n = Number(t);
  if (n < min) throw bad(key, value, `value must be at least ${min}`);
  if (n > max) throw bad(key, value, `value must be at most ${max}`);
  return n;
}

function parseBool(key: string, value: string): boolean {
  const t = value.trim().toLowerCase();
  if (t === 'true') return true;
  if (t === 'false') return false;
  throw bad(key, value, 'expected true or false');
}

/**
 * Applies topic-level overrides to `base`. Unknown keys are ignored (Kafka keeps them but they have no
 * effect on the log); a known key with a bad value throws an Error naming the key and value.
 */
export function logConfigFromProps(props: Record<string, string>, base: LogConfig): LogConfig {
  const c: LogConfig = { ...base, cleanupPolicy: [...base.cleanupPolicy] };
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    const long = (min: number) => parseInteger(key, value, min, LONG_MAX);
    const int = (min: number) => parseInteger(key, value, min, INT_MAX);
    switch (key) {
      case 'segment.bytes':
        c.segmentBytes = int(14);
        break;
      case 'segment.ms':
        c.segmentMs = long(1);
        break;
      case 'segment.jitter.ms':
        c.segmentJitterMs = long(0);
        break;
      case 'segment.index.bytes':
        c.segmentIndexBytes = int(4);
        break;
      case 'retention.ms':
        c.retentionMs = long(-1);
        break;
      case 'retention.bytes':
        c.retentionBytes = long(-LONG_MAX);
        break;
      case 'delete.retention.ms':
        c.deleteRetentionMs = long(0);
        break;
      case 'min.compaction.lag.ms':
        c.minCompactionLagMs = long(0);
        break;
      case 'max.compaction.lag.ms':
        c.maxCompactionLagMs = long(1);
        break;
      case 'max.message.bytes':
        c.maxMessageBytes = int(0);
        break;
      case 'index.interval.bytes':
        c.indexIntervalBytes = int(0);
        break;
      case 'flush.messages':
        c.flushMessages = long(1);
        break;
      case 'flush.ms':
        c.flushMs = long(0);
        break;
      case 'file.delete.delay.ms':
        c.fileDeleteDelayMs = long(0);
        break;
      case 'message.timestamp.difference.max.ms':
        c.messageTimestampDifferenceMaxMs = long(0);
        break;
      case 'message.timestamp.before.max.ms':
        c.messageTimestampBeforeMaxMs = long(0);
        break;
      case 'message.timestamp.after.max.ms':
        c.messageTimestampAfterMaxMs = long(0);
        break;
      case 'min.insync.replicas':
        c.minInsyncReplicas = int(1);
        break;
      case 'unclean.leader.election.enable':
        c.uncleanLeaderElectionEnable = parseBool(key, value);
        break;
      case 'preallocate':
        c.preallocate = parseBool(key, value);
        break;
      case 'message.timestamp.type': {
        const t = value.trim();
        if (t !== 'CreateTime' && t !== 'LogAppendTime') throw bad(key, value, 'expected CreateTime or LogAppendTime');
        c.messageTimestampType = t;
        break;
      }
      case 'compression.type': {
        const t = value.trim().toLowerCase();
        if (!COMPRESSION_TYPES.has(t)) throw bad(key, value, `expected one of ${[...COMPRESSION_TYPES].join(', ')}`);
        c.compressionType = t;
        break;
      }
      case 'cleanup.policy': {
        const items = value
          .split(',')
          .map((s) => s.trim().toLowerCase())
          .filter((s) => s.length > 0);
        for (const it of items) if (it !== 'delete' && it !== 'compact') throw bad(key, value, 'expected delete and/or compact');
        c.cleanupPolicy = [...new Set(items)] as CleanupPolicy[];
        break;
      }
      case 'min.cleanable.dirty.ratio': {
        const n = Number(value.trim());
        if (value.trim() === '' || !Number.isFinite(n)) throw bad(key, value, 'not a number');
        if (n < 0 || n > 1) throw bad(key, value, 'value must be between 0 and 1');
        c.minCleanableDirtyRatio = n;
        break;
      }
      default: {
        // Known keys with no effect on the local log still get type-checked, so a typo'd value fails loudly.
        const k = KEY_BY_NAME.get(key);
        if (k?.type === 'int') int(-INT_MAX - 1);
        else if (k?.type === 'long') long(-LONG_MAX);
        else if (k?.type === 'boolean') parseBool(key, value);
      }
    }
  }
  return c;
}
