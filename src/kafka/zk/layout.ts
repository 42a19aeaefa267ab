// Kafka's ZooKeeper-mode znode layout (apache/kafka core/.../zk/ZkData.scala): every path and the
// exact JSON each znode holds. Pure: encoders return Buffers, decoders validate and throw
// ZkDataError naming the path and the problem, so garbage written by someone else never turns
// into a half-parsed object.

export class ZkDataError extends Error {
  override name = 'ZkDataError';
  constructor(what: string, detail: string) {
    super(`invalid ${what}: ${detail}`);
  }
}

// ---- paths

export const Paths = {
  clusterId: '/cluster/id',
  controller: '/controller',
  controllerEpoch: '/controller_epoch',
  brokers: '/brokers',
  brokerIds: '/brokers/ids',
  brokerSeqId: '/brokers/seqid',
  topics: '/brokers/topics',
  config: '/config',
  configChanges: '/config/changes',
  admin: '/admin',
  deleteTopics: '/admin/delete_topics',
  reassignPartitions: '/admin/reassign_partitions',
  preferredReplicaElection: '/admin/preferred_replica_election',
  isrChangeNotification: '/isr_change_notification',
  logDirEventNotification: '/log_dir_event_notification',
  latestProducerIdBlock: '/latest_producer_id_block',
  consumers: '/consumers',
  feature: '/feature',
} as const;

/** Entity types with a /config/<type> node (ConfigType in ZK mode). */
export const CONFIG_TYPES = ['topics', 'clients', 'users', 'brokers', 'ips'] as const;
export type ConfigType = (typeof CONFIG_TYPES)[number];

/** Created (empty) at broker start, as ZkData.PersistentZkPaths. */
export const PERSISTENT_PATHS: readonly string[] = [
  Paths.consumers,
  Paths.brokerIds,
  Paths.topics,
  Paths.configChanges,
  Paths.deleteTopics,
  Paths.brokerSeqId,
  Paths.isrChangeNotification,
  Paths.latestProducerIdBlock,
  Paths.logDirEventNotification,
  ...CONFIG_TYPES.map((t) => `${Paths.config}/${t}`),
];

export const CONFIG_CHANGE_PREFIX = 'config_change_';
export const ISR_CHANGE_PREFIX = 'isr_change_';
export const LOG_DIR_EVENT_PREFIX = 'log_dir_event_';
/** reserved.broker.max.id default: generated ids start above it. */
export const RESERVED_BROKER_ID_MAX = 1000;
/** ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE. */
export const PRODUCER_ID_BLOCK_SIZE = 1000;

// ZooKeeper path segments cannot be '.'/'..' nor contain '/'; Kafka's own name rules are stricter
// (the admin path validates them), this only keeps paths well formed.
function segment(kind: string, name: string): string {
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new ZkDataError(kind, `bad name ${JSON.stringify(name)}`);
  }
  return name;
}

export const brokerIdPath = (id: number): string => `${Paths.brokerIds}/${id}`;
export const topicPath = (topic: string): string => `${Paths.topics}/${segment('topic', topic)}`;
export const topicPartitionsPath = (topic: string): string => `${topicPath(topic)}/partitions`;
export const topicPartitionPath = (topic: string, p: number): string => `${topicPartitionsPath(topic)}/${p}`;
export const partitionStatePath = (topic: string, p: number): string => `${topicPartitionPath(topic, p)}/state`;
export const configEntityTypePath = (type: string): string => `${Paths.config}/${segment('config type', type)}`;
export const configEntityPath = (type: string, name: string): string => `${configEntityTypePath(type)}/${segment('config entity', name)}`;
export const configChangeSequencePath = `${Paths.configChanges}/${CONFIG_CHANGE_PREFIX}`;
export const deleteTopicPath = (topic: string): string => `${Paths.deleteTopics}/${segment('topic', topic)}`;
export const isrChangeSequencePath = `${Paths.isrChangeNotification}/${ISR_CHANGE_PREFIX}`;

// ---- JSON helpers

type Json = Record<string, unknown>;

function parseObject(what: string, data: Buffer | null): Json {
  if (data === null || data.length === 0) throw new ZkDataError(what, 'no data');
  let v: unknown;
  try {
    v = JSON.parse(data.toString('utf8'));
  } catch (e) {
    throw new ZkDataError(what, `not JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ZkDataError(what, 'not a JSON object');
  return v as Json;
}

const json = (o: Json): Buffer => Buffer.from(JSON.stringify(o), 'utf8');

function int(what: string, o: Json, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new ZkDataError(what, `"${key}" must be an integer`);
  return v;
}

function str(what: string, o: Json, key: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new ZkDataError(what, `"${key}" must be a string`);
  return v;
}

function intList(what: string, v: unknown, key: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isSafeInteger(x))) {
    throw new ZkDataError(what, `"${key}" must be an array of integers`);
  }
  return v as number[];
}

/** Kafka writes some numbers (timestamps, producer ids) as decimal strings. */
function decimalString(what: string, o: Json, key: string): number {
  const s = str(what, o, key);
  if (!/^-?\d+$/.test(s)) throw new ZkDataError(what, `"${key}" must be a decimal string`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new ZkDataError(what, `"${key}" is out of range`);
  return n;
}

function partitionMap(what: string, v: unknown, key: string): Map<number, number[]> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ZkDataError(what, `"${key}" must be an object`);
  const out = new Map<number, number[]>();
  for (const [p, replicas] of Object.entries(v)) {
    if (!/^\d+$/.test(p)) throw new ZkDataError(what, `"${key}" has a non-numeric partition ${JSON.stringify(p)}`);
    out.set(Number(p), intList(what, replicas, `${key}.${p}`));
  }
  return out;
}

function partitionObject(m: ReadonlyMap<number, readonly number[]>): Record<string, number[]> {
  const o: Record<string, number[]> = {};
  for (const p of [...m.keys()].sort((a, b) => a - b)) o[String(p)] = [...m.get(p)!];
  return o;
}

/** Kafka's Uuid.toString: 16 bytes as url-safe base64 without padding (22 characters). */
export function isKafkaUuid(s: string): boolean {
  return /^[A-Za-z0-9_-]{21}[AQgw]$/.test(s);
}

/**
 * A random id as Kafka's Uuid.randomUuid makes them (version-4 bits, never the zero id nor the
 * reserved metadata-topic id), in Kafka's url-safe base64: topic ids and the cluster id.
 */
export function randomKafkaUuid(): string {
  for (;;) {
    const b = Buffer.from(crypto.getRandomValues(new Uint8Array(16)));
    b[6] = ((b[6] as number) & 0x0f) | 0x40;
    b[8] = ((b[8] as number) & 0x3f) | 0x80;
    const id = b.toString('base64url');
    if (id !== 'AAAAAAAAAAAAAAAAAAAAAA' && id !== 'AAAAAAAAAAAAAAAAAAAAAQ') return id;
  }
}

export function uuidToString(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new ZkDataError('uuid', 'needs 16 bytes');
  return Buffer.from(bytes).toString('base64url');
}

// ---- /cluster/id

export function encodeClusterId(id: string): Buffer {
  return json({ version: '1', id });
}

export function decodeClusterId(data: Buffer | null): string {
  const o = parseObject(Paths.clusterId, data);
  return str(Paths.clusterId, o, 'id');
}

// ---- /controller_epoch: decimal text

export function encodeControllerEpoch(epoch: number): Buffer {
  return Buffer.from(String(epoch), 'utf8');
}

export function decodeControllerEpoch(data: Buffer | null): number {
  const s = data?.toString('utf8') ?? '';
  if (!/^\d+$/.test(s)) throw new ZkDataError(Paths.controllerEpoch, `not a decimal epoch: ${JSON.stringify(s.slice(0, 40))}`);
  return Number(s);
}

// ---- /controller

export interface ControllerRegistration {
  brokerId: number;
  timestampMs: number;
  /** -1 in ZooKeeper mode (v2); absent in v1. */
  kraftControllerEpoch: number;
}

export function encodeController(brokerId: number, timestampMs: number): Buffer {
  return json({ version: 2, brokerid: brokerId, timestamp: String(timestampMs), kraftControllerEpoch: -1 });
}

export function decodeController(data: Buffer | null): ControllerRegistration {
  const w = Paths.controller;
  const o = parseObject(w, data);
  const version = int(w, o, 'version');
  if (version !== 1 && version !== 2) throw new ZkDataError(w, `unknown version ${version}`);
  return {
    brokerId: int(w, o, 'brokerid'),
    timestampMs: o['timestamp'] === undefined ? 0 : decimalString(w, o, 'timestamp'),
    kraftControllerEpoch: version >= 2 && o['kraftControllerEpoch'] !== undefined ? int(w, o, 'kraftControllerEpoch') : -1,
  };
}

// ---- /brokers/ids/<id>

export interface BrokerEndpoint {
  listener: string;
  host: string;
  port: number;
  securityProtocol: string;
}

export interface BrokerInfo {
  id: number;
  endpoints: BrokerEndpoint[];
  rack?: string | undefined;
  jmxPort?: number | undefined;
  /** Supported feature ranges (v5). */
  features?: Record<string, { minVersion: number; maxVersion: number }> | undefined;
}

/** IPv6 hosts are bracketed in endpoint strings (Utils.formatAddress). */
const formatHost = (h: string): string => (h.includes(':') && !h.startsWith('[') ? `[${h}]` : h);

export function encodeBrokerInfo(info: BrokerInfo, timestampMs: number): Buffer {
  const plaintext = info.endpoints.find((e) => e.securityProtocol === 'PLAINTEXT');
  const protocolMap: Record<string, string> = {};
  for (const e of info.endpoints) protocolMap[e.listener] = e.securityProtocol;
  const features: Record<string, { min_version: number; max_version: number }> = {};
  for (const [k, v] of Object.entries(info.features ?? {})) features[k] = { min_version: v.minVersion, max_version: v.maxVersion };
  const o: Json = {
    version: 5,
    host: plaintext ? plaintext.host : null,
    port: plaintext ? plaintext.port : -1,
    jmx_port: info.jmxPort ?? -1,
    timestamp: String(timestampMs),
    endpoints: info.endpoints.map((e) => `${e.listener}://${formatHost(e.host)}:${e.port}`),
    listener_security_protocol_map: protocolMap,
    features,
  };
  if (info.rack !== undefined) o['rack'] = info.rack;
  return json(o);
}

const ENDPOINT_RE = /^([A-Za-z0-9_.-]+):\/\/(\[[^\]]*\]|[^:[\]]*):(-?\d+)$/;

/** Parses versions 1 to 5 (v1-v2 have no endpoints map; host/port then give a PLAINTEXT endpoint). */
export function decodeBrokerInfo(id: number, data: Buffer | null): BrokerInfo & { timestampMs: number } {
  const w = brokerIdPath(id);
  const o = parseObject(w, data);
  const version = int(w, o, 'version');
  if (version < 1 || version > 5) throw new ZkDataError(w, `unknown version ${version}`);
  const protoMapRaw = o['listener_security_protocol_map'];
  const protoMap: Record<string, string> = {};
  if (protoMapRaw !== undefined && protoMapRaw !== null) {
    if (typeof protoMapRaw !== 'object' || Array.isArray(protoMapRaw)) throw new ZkDataError(w, 'bad listener_security_protocol_map');
    for (const [k, v] of Object.entries(protoMapRaw)) {
      if (typeof v !== 'string') throw new ZkDataError(w, 'bad listener_security_protocol_map');
      protoMap[k] = v;
    }
  }
  const endpoints: BrokerEndpoint[] = [];
  if (version >= 2 && o['endpoints'] !== undefined) {
    const list = o['endpoints'];
    if (!Array.isArray(list)) throw new ZkDataError(w, '"endpoints" must be an array');
    for (const s of list) {
      const m = typeof s === 'string' ? ENDPOINT_RE.exec(s) : null;
      if (!m) throw new ZkDataError(w, `bad endpoint ${JSON.stringify(s)}`);
      const listener = m[1]!;
      const host = m[2]!.startsWith('[') ? m[2]!.slice(1, -1) : m[2]!;
      endpoints.push({ listener, host, port: Number(m[3]), securityProtocol: protoMap[listener] ?? listener });
    }
  } else if (typeof o['host'] === 'string') {
    endpoints.push({ listener: 'PLAINTEXT', host: o['host'], port: int(w, o, 'port'), securityProtocol: 'PLAINTEXT' });
  }
  const info: BrokerInfo & { timestampMs: number } = {
    id,
    endpoints,
    jmxPort: o['jmx_port'] === undefined ? -1 : int(w, o, 'jmx_port'),
    timestampMs: typeof o['timestamp'] === 'string' ? decimalString(w, o, 'timestamp') : 0,
  };
  if (o['rack'] !== undefined && o['rack'] !== null) info.rack = str(w, o, 'rack');
  const f = o['features'];
  if (f !== undefined && f !== null) {
    if (typeof f !== 'object' || Array.isArray(f)) throw new ZkDataError(w, '"features" must be an object');
    info.features = {};
    for (const [k, v] of Object.entries(f)) {
      if (typeof v !== 'object' || v === null) throw new ZkDataError(w, `bad feature ${k}`);
      info.features[k] = { minVersion: int(w, v as Json, 'min_version'), maxVersion: int(w, v as Json, 'max_version') };
    }
  }
  return info;
}

// ---- /brokers/topics/<t>

export interface TopicAssignment {
  /** Absent only for topics written before 2.8. */
  topicId: string | undefined;
  /** partition -> replicas in preferred order. */
  partitions: Map<number, number[]>;
  addingReplicas: Map<number, number[]>;
  removingReplicas: Map<number, number[]>;
}

export function encodeTopicAssignment(a: {
  /** Undefined only when rewriting a pre-2.8 topic: then version 2 without topic_id. */
  topicId: string | undefined;
  partitions: ReadonlyMap<number, readonly number[]>;
  addingReplicas?: ReadonlyMap<number, readonly number[]>;
  removingReplicas?: ReadonlyMap<number, readonly number[]>;
}): Buffer {
  const o: Json = {
    version: a.topicId === undefined ? 2 : 3,
    partitions: partitionObject(a.partitions),
    adding_replicas: partitionObject(a.addingReplicas ?? new Map()),
    removing_replicas: partitionObject(a.removingReplicas ?? new Map()),
  };
  if (a.topicId !== undefined) o['topic_id'] = a.topicId;
  return json(o);
}

export function decodeTopicAssignment(topic: string, data: Buffer | null): TopicAssignment {
  const w = topicPath(topic);
  const o = parseObject(w, data);
  const version = int(w, o, 'version');
  if (version < 1 || version > 3) throw new ZkDataError(w, `unknown version ${version}`);
  const topicId = o['topic_id'] === undefined ? undefined : str(w, o, 'topic_id');
  if (topicId !== undefined && !isKafkaUuid(topicId)) throw new ZkDataError(w, `bad topic_id ${JSON.stringify(topicId)}`);
  return {
    topicId,
    partitions: partitionMap(w, o['partitions'], 'partitions'),
    addingReplicas: o['adding_replicas'] === undefined ? new Map() : partitionMap(w, o['adding_replicas'], 'adding_replicas'),
    removingReplicas: o['removing_replicas'] === undefined ? new Map() : partitionMap(w, o['removing_replicas'], 'removing_replicas'),
  };
}

// ---- /admin/reassign_partitions (ZkData.ReassignPartitionsZNode)

/** One entry of the legacy reassignment znode: move `topic`-`partition` to `replicas`. */
export interface ReassignmentEntry {
  topic: string;
  partition: number;
  replicas: number[];
}

/** `{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2]}]}`, as Kafka writes it. */
export function encodeReassignPartitions(entries: readonly ReassignmentEntry[]): Buffer {
  return json({
    version: 1,
    partitions: entries.map((e) => ({ topic: e.topic, partition: e.partition, replicas: [...e.replicas] })),
  });
}

/** Unknown keys (the old tool's "log_dirs") are ignored, as Kafka's reader does. */
export function decodeReassignPartitions(data: Buffer | null): ReassignmentEntry[] {
  const w = Paths.reassignPartitions;
  const o = parseObject(w, data);
  if (int(w, o, 'version') !== 1) throw new ZkDataError(w, `unknown version ${String(o['version'])}`);
  const list = o['partitions'];
  if (!Array.isArray(list)) throw new ZkDataError(w, '"partitions" must be an array');
  return list.map((e) => {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new ZkDataError(w, 'a partition entry must be an object');
    const entry = e as Json;
    return { topic: str(w, entry, 'topic'), partition: int(w, entry, 'partition'), replicas: intList(w, entry['replicas'], 'replicas') };
  });
}

// ---- /brokers/topics/<t>/partitions/<p>/state

export const LEADER_RECOVERY_RECOVERED = 0;
export const LEADER_RECOVERY_RECOVERING = 1;
/** Leader value meaning "no leader" (LeaderAndIsr.NoLeader). */
export const NO_LEADER = -1;

export interface PartitionState {
  leader: number;
  leaderEpoch: number;
  isr: number[];
  controllerEpoch: number;
  /** 0 recovered (omitted from the JSON), 1 recovering (KIP-704). */
  leaderRecoveryState: number;
}

export function encodePartitionState(s: PartitionState): Buffer {
  const o: Json = {
    version: 1,
    leader: s.leader,
    leader_epoch: s.leaderEpoch,
    controller_epoch: s.controllerEpoch,
    isr: [...s.isr],
  };
  if (s.leaderRecoveryState === LEADER_RECOVERY_RECOVERING) o['leader_recovery_state'] = LEADER_RECOVERY_RECOVERING;
  return json(o);
}

export function decodePartitionState(topic: string, partition: number, data: Buffer | null): PartitionState {
  const w = partitionStatePath(topic, partition);
  const o = parseObject(w, data);
  const version = int(w, o, 'version');
  if (version !== 1) throw new ZkDataError(w, `unknown version ${version}`);
  const lrs = o['leader_recovery_state'] === undefined ? LEADER_RECOVERY_RECOVERED : int(w, o, 'leader_recovery_state');
  if (lrs !== LEADER_RECOVERY_RECOVERED && lrs !== LEADER_RECOVERY_RECOVERING) {
    throw new ZkDataError(w, `unknown leader_recovery_state ${lrs}`);
  }
  return {
    leader: int(w, o, 'leader'),
    leaderEpoch: int(w, o, 'leader_epoch'),
    controllerEpoch: int(w, o, 'controller_epoch'),
    isr: intList(w, o['isr'], 'isr'),
    leaderRecoveryState: lrs,
  };
}

// ---- /config/<type>/<name>

export function encodeEntityConfig(props: Readonly<Record<string, string>>): Buffer {
  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(props)) {
    if (typeof v !== 'string') throw new ZkDataError('entity config', `value of ${k} must be a string`);
    config[k] = v;
  }
  return json({ version: 1, config });
}

export function decodeEntityConfig(path: string, data: Buffer | null): Record<string, string> {
  // Kafka treats a node without data as an empty config.
  if (data === null || data.length === 0) return {};
  const o = parseObject(path, data);
  const c = o['config'];
  if (c === undefined) return {};
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new ZkDataError(path, '"config" must be an object');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(c)) {
    if (typeof v !== 'string') throw new ZkDataError(path, `config value of ${k} must be a string`);
    out[k] = v;
  }
  return out;
}

// ---- /config/changes/config_change_NNNNNNNNNN

export interface ConfigChange {
  entityType: string;
  /** For users/clients this may be `<user>/clients/<client>` (v2 entity paths can nest). */
  entityName: string;
}

export function encodeConfigChange(entityType: string, entityName: string): Buffer {
  return json({ version: 2, entity_path: `${entityType}/${entityName}` });
}

export function decodeConfigChange(data: Buffer | null): ConfigChange {
  const w = 'config change notification';
  const o = parseObject(w, data);
  const version = int(w, o, 'version');
  if (version === 1) return { entityType: str(w, o, 'entity_type'), entityName: str(w, o, 'entity_name') };
  if (version !== 2) throw new ZkDataError(w, `unknown version ${version}`);
  const p = str(w, o, 'entity_path');
  const i = p.indexOf('/');
  if (i <= 0 || i === p.length - 1) throw new ZkDataError(w, `bad entity_path ${JSON.stringify(p)}`);
  return { entityType: p.slice(0, i), entityName: p.slice(i + 1) };
}

/** The sequence number of a config_change_/isr_change_ child name, or -1. */
export function sequenceOf(child: string, prefix: string): number {
  if (!child.startsWith(prefix)) return -1;
  const s = child.slice(prefix.length);
  return /^\d{10}$/.test(s) ? Number(s) : -1;
}

// ---- /latest_producer_id_block

export interface ProducerIdBlock {
  brokerId: number;
  /** First and last id of the block, inclusive. */
  start: number;
  end: number;
}

export function encodeProducerIdBlock(b: ProducerIdBlock): Buffer {
  return json({ version: 1, broker: b.brokerId, block_start: String(b.start), block_end: String(b.end) });
}

export function decodeProducerIdBlock(data: Buffer | null): ProducerIdBlock {
  const w = Paths.latestProducerIdBlock;
  const o = parseObject(w, data);
  const version = int(w, o, 'version');
  if (version !== 1) throw new ZkDataError(w, `unknown version ${version}`);
  return { brokerId: int(w, o, 'broker'), start: decimalString(w, o, 'block_start'), end: decimalString(w, o, 'block_end') };
}

// ---- /isr_change_notification/isr_change_N

export function encodeIsrChange(partitions: readonly { topic: string; partition: number }[]): Buffer {
  return json({ version: 1, partitions: partitions.map((p) => ({ topic: p.topic, partition: p.partition })) });
}

export function decodeIsrChange(data: Buffer | null): { topic: string; partition: number }[] {
  const w = Paths.isrChangeNotification;
  const o = parseObject(w, data);
  const list = o['partitions'];
  if (!Array.isArray(list)) throw new ZkDataError(w, '"partitions" must be an array');
  return list.map((e: unknown) => {
    if (typeof e !== 'object' || e === null) throw new ZkDataError(w, 'bad partition entry');
    return { topic: str(w, e as Json, 'topic'), partition: int(w, e as Json, 'partition') };
  });
}
