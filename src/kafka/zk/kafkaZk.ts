// KafkaZk: Kafka's ZooKeeper operations (KafkaZkClient / AdminZkClient in ZooKeeper-mode Kafka)
// over our ZooKeeper client: broker registration with the checked-ephemeral multi, controller
// election with the /controller_epoch fencing token, topic and partition-state znodes, entity
// configs with change notifications, producer-id blocks, and self re-arming watches. A session
// expiry is handled by SessionRecovery (watches.ts): a new session is started, the broker
// re-registered and every watch re-armed, so the callers only see 'expired' and then 'reestablished'.

import { EventEmitter } from 'node:events';
import {
  CreateMode,
  Err,
  isZooKeeperError,
  mkdirp,
  MultiError,
  Op,
  parseConnectString,
  ZooKeeperClient,
  ZooKeeperError,
  type OpResult,
  type Stat,
} from '../../zookeeper/client/index.js';
import {
  CONFIG_CHANGE_PREFIX,
  PERSISTENT_PATHS,
  PRODUCER_ID_BLOCK_SIZE,
  Paths,
  RESERVED_BROKER_ID_MAX,
  brokerIdPath,
  configChangeSequencePath,
  configEntityPath,
  decodeBrokerInfo,
  decodeClusterId,
  decodeConfigChange,
  decodeController,
  decodeControllerEpoch,
  decodeEntityConfig,
  decodePartitionState,
  decodeProducerIdBlock,
  decodeTopicAssignment,
  deleteTopicPath,
  encodeBrokerInfo,
  encodeClusterId,
  encodeConfigChange,
  encodeController,
  encodeControllerEpoch,
  encodeEntityConfig,
  encodePartitionState,
  encodeProducerIdBlock,
  encodeTopicAssignment,
  partitionStatePath,
  sequenceOf,
  topicPartitionPath,
  topicPartitionsPath,
  topicPath,
  type BrokerInfo,
  type PartitionState,
} from './layout.js';
import {
  byNumber,
  ControllerMovedError,
  KafkaErrorCode,
  KafkaZkError,
  validateAssignment,
  type ConfigChangeNotice,
  type ControllerLease,
  type PartitionStateCreateResult,
  type RegisteredBroker,
  type TopicAssignmentWithVersion,
} from './model.js';
import { SessionRecovery, ZkWatches, type WatchHandle } from './watches.js';

export {
  ControllerMovedError,
  KafkaErrorCode,
  KafkaZkError,
  type ConfigChangeNotice,
  type ControllerLease,
  type PartitionStateCreateResult,
  type RegisteredBroker,
  type TopicAssignmentWithVersion,
} from './model.js';
export type { WatchHandle } from './watches.js';

export interface KafkaZkEvents {
  /** The session expired: ephemerals and watches are gone until 'reestablished'. */
  expired: [];
  /** A new session is up, the broker (if registered) re-registered, watches re-armed. */
  reestablished: [brokerEpoch: number | undefined];
  /** Re-establishing failed; the instance retries on the next expiry only. */
  sessionError: [error: unknown];
}

export interface KafkaZkOptions {
  /** Clock for the timestamps Kafka writes into znodes. */
  now?: () => number;
  /** Close the ZooKeeper client on close(). */
  ownsClient?: boolean;
}

/** Bound on optimistic-concurrency retries (producer-id blocks, partition additions). */
const CONDITIONAL_RETRIES_MAX = 100;
/** Ops per fenced multi when deleting a tree (keeps frames well under jute.maxbuffer). */
const DELETE_OPS_PER_MULTI = 500;

export class KafkaZk extends EventEmitter<KafkaZkEvents> {
  readonly client: ZooKeeperClient;
  private readonly now: () => number;
  private readonly ownsClient: boolean;
  private readonly watches: ZkWatches;
  private readonly session: SessionRecovery;
  private registration: BrokerInfo | undefined;

  constructor(client: ZooKeeperClient, opts: KafkaZkOptions = {}) {
    super();
    this.client = client;
    this.now = opts.now ?? Date.now;
    this.ownsClient = opts.ownsClient ?? false;
    this.watches = new ZkWatches(client);
    this.session = new SessionRecovery(client, this.watches, {
      expired: () => this.emit('expired'),
      reregister: async () => (this.registration ? await this.registerBroker(this.registration) : undefined),
      reestablished: (epoch) => this.emit('reestablished', epoch),
      failed: (e) => this.emit('sessionError', e),
    });
  }

  /**
   * Connect to `connectString` (`host:port,...[/chroot]`), creating the chroot node first as a
   * Kafka broker does, and return a KafkaZk that owns the client.
   */
  static async connect(opts: { connectString: string; sessionTimeoutMs?: number; now?: () => number }): Promise<KafkaZk> {
    const { chroot } = parseConnectString(opts.connectString);
    const sessionTimeoutMs = opts.sessionTimeoutMs ?? 18_000;
    if (chroot !== '') {
      const root = new ZooKeeperClient({ connectString: opts.connectString.slice(0, opts.connectString.indexOf('/')), sessionTimeoutMs });
      try {
        await root.connect();
        await mkdirp(root, chroot);
      } finally {
        await root.close();
      }
    }
    const client = new ZooKeeperClient({ connectString: opts.connectString, sessionTimeoutMs });
    await client.connect();
    return new KafkaZk(client, { ownsClient: true, ...(opts.now ? { now: opts.now } : {}) });
  }

  async close(): Promise<void> {
    this.session.close();
    this.watches.close();
    if (this.ownsClient) await this.client.close();
  }

  // ---- start-up paths and cluster id

  async ensurePersistentPaths(): Promise<void> {
    // Pipelined: one round trip's wait for all of them (shared parents end in NODEEXISTS, ignored).
    await Promise.all(PERSISTENT_PATHS.map((p) => mkdirp(this.client, p)));
    // ZooKeeper-mode Kafka (2.7+) enables feature versioning with nothing finalized; Apache Kafka
    // 3.9 writes exactly this (seen by the differential znode test), so tools reading it agree.
    try {
      await this.client.create(Paths.feature, Buffer.from('{"features":{},"version":2,"status":1}'));
    } catch (e) {
      if (!isZooKeeperError(e, Err.NODEEXISTS)) throw e;
    }
  }

  /** The cluster id, creating /cluster/id with `proposedId` if there is none. */
  async getOrCreateClusterId(proposedId: string): Promise<string> {
    const existing = await this.getClusterId();
    if (existing !== null) return existing;
    await mkdirp(this.client, '/cluster');
    try {
      await this.client.create(Paths.clusterId, encodeClusterId(proposedId));
      return proposedId;
    } catch (e) {
      if (!isZooKeeperError(e, Err.NODEEXISTS)) throw e;
      return (await this.getClusterId())!;
    }
  }

  async getClusterId(): Promise<string | null> {
    const r = await this.getDataOrNull(Paths.clusterId);
    return r === null ? null : decodeClusterId(r.data);
  }

  // ---- brokers

  /**
   * Register this broker with the checked-ephemeral multi (create, then setData at version 0).
   * Returns the broker epoch (czxid). Re-registered automatically after a session expiry.
   */
  async registerBroker(info: BrokerInfo): Promise<number> {
    const path = brokerIdPath(info.id);
    const data = encodeBrokerInfo(info, this.now());
    let epoch: number;
    try {
      const res = await this.client.multi([Op.create(path, null, { mode: CreateMode.EPHEMERAL }), Op.setData(path, data, 0)]);
      epoch = (res[1] as Extract<OpResult, { type: 'setData' }>).stat.czxid;
    } catch (e) {
      if (!(e instanceof MultiError) || e.code !== Err.NODEEXISTS) throw e;
      // The create may have succeeded on a connection we lost (KAFKA-7165): ours if our session owns it.
      const { stat } = await this.client.getData(path);
      if (stat.ephemeralOwner !== this.client.sessionId) {
        throw new ZooKeeperError(Err.NODEEXISTS, path, `broker id ${info.id} is registered by another session`);
      }
      epoch = stat.czxid;
    }
    this.registration = info;
    return epoch;
  }

  /** A new broker id from /brokers/seqid's version, above reserved.broker.max.id. */
  async generateBrokerId(reservedBrokerIdMax = RESERVED_BROKER_ID_MAX): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      try {
        const stat = await this.client.setData(Paths.brokerSeqId, Buffer.alloc(0), -1);
        return stat.version + reservedBrokerIdMax;
      } catch (e) {
        if (!isZooKeeperError(e, Err.NONODE) || attempt > 0) throw e;
        await mkdirp(this.client, Paths.brokerSeqId);
      }
    }
  }

  async getBrokerIds(): Promise<number[]> {
    const children = await this.client.getChildren(Paths.brokerIds);
    return children
      .filter((c) => /^\d+$/.test(c))
      .map(Number)
      .sort(byNumber);
  }

  async getBroker(id: number): Promise<RegisteredBroker | null> {
    const r = await this.getDataOrNull(brokerIdPath(id));
    return r === null ? null : { info: decodeBrokerInfo(id, r.data), epoch: r.stat.czxid };
  }

  /** Live brokers with their epochs, sorted by id. */
  async getBrokers(): Promise<RegisteredBroker[]> {
    const ids = await this.getBrokerIds();
    const all = await Promise.all(ids.map((id) => this.getBroker(id)));
    return all.filter((b): b is RegisteredBroker => b !== null);
  }

  // ---- topics

  async getAllTopics(): Promise<string[]> {
    return (await this.client.getChildren(Paths.topics)).sort();
  }

  async topicExists(topic: string): Promise<boolean> {
    return (await this.client.exists(topicPath(topic))) !== null;
  }

  async getTopicAssignment(topic: string): Promise<TopicAssignmentWithVersion | null> {
    const r = await this.getDataOrNull(topicPath(topic));
    return r === null ? null : { ...decodeTopicAssignment(topic, r.data), zkVersion: r.stat.version };
  }

  async getTopicAssignments(topics: readonly string[]): Promise<Map<string, TopicAssignmentWithVersion>> {
    const all = await Promise.all(topics.map((t) => this.getTopicAssignment(t)));
    const out = new Map<string, TopicAssignmentWithVersion>();
    topics.forEach((t, i) => {
      if (all[i]) out.set(t, all[i]);
    });
    return out;
  }

  /**
   * Create a topic as AdminZkClient does: the config znode first (not atomically), then the
   * assignment znode; the controller creates the partition states. TOPIC_ALREADY_EXISTS if the
   * topic exists or is still being deleted.
   */
  async createTopic(
    topic: string,
    assignment: ReadonlyMap<number, readonly number[]>,
    configs: Readonly<Record<string, string>>,
    topicId: string,
  ): Promise<void> {
    validateAssignment(topic, assignment, 0);
    if (await this.topicExists(topic)) {
      throw new KafkaZkError(KafkaErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${topic}' already exists.`);
    }
    if ((await this.client.exists(deleteTopicPath(topic))) !== null) {
      throw new KafkaZkError(KafkaErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${topic}' is marked for deletion.`);
    }
    await this.writeEntityConfig('topics', topic, configs);
    try {
      await this.client.create(topicPath(topic), encodeTopicAssignment({ topicId, partitions: assignment }));
    } catch (e) {
      if (isZooKeeperError(e, Err.NODEEXISTS)) {
        throw new KafkaZkError(KafkaErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${topic}' already exists.`);
      }
      throw e;
    }
  }

  /** Add partitions (ids continuing the existing ones); conditional on the topic znode's version. */
  async addPartitions(topic: string, added: ReadonlyMap<number, readonly number[]>): Promise<Map<number, number[]>> {
    for (let attempt = 0; attempt < CONDITIONAL_RETRIES_MAX; attempt++) {
      const cur = await this.getTopicAssignment(topic);
      if (cur === null) throw new KafkaZkError(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${topic}' does not exist.`);
      if ((await this.client.exists(deleteTopicPath(topic))) !== null) {
        throw new KafkaZkError(KafkaErrorCode.INVALID_PARTITIONS, `Topic '${topic}' is queued for deletion.`);
      }
      validateAssignment(topic, added, cur.partitions.size);
      const partitions = new Map(cur.partitions);
      for (const [p, r] of added) partitions.set(p, [...r]);
      const data = encodeTopicAssignment({
        topicId: cur.topicId,
        partitions,
        addingReplicas: cur.addingReplicas,
        removingReplicas: cur.removingReplicas,
      });
      try {
        await this.client.setData(topicPath(topic), data, cur.zkVersion);
        return partitions;
      } catch (e) {
        if (!isZooKeeperError(e, Err.BADVERSION)) throw e;
      }
    }
    throw new Error(`addPartitions(${topic}): too much contention`);
  }

  /** Create /admin/delete_topics/<t>. False if it was already marked. */
  async markTopicForDeletion(topic: string): Promise<boolean> {
    if (!(await this.topicExists(topic))) {
      throw new KafkaZkError(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${topic}' does not exist.`);
    }
    try {
      await this.client.create(deleteTopicPath(topic), null);
      return true;
    } catch (e) {
      if (isZooKeeperError(e, Err.NODEEXISTS)) return false;
      throw e;
    }
  }

  async getTopicsMarkedForDeletion(): Promise<string[]> {
    return (await this.client.getChildren(Paths.deleteTopics)).sort();
  }

  // ---- partition states

  async getPartitionState(topic: string, partition: number): Promise<{ state: PartitionState; zkVersion: number } | null> {
    const r = await this.getDataOrNull(partitionStatePath(topic, partition));
    return r === null ? null : { state: decodePartitionState(topic, partition, r.data), zkVersion: r.stat.version };
  }

  /** Controller: create state znodes (and their parents), each fenced by the controller epoch. */
  async createPartitionStates(
    epochZkVersion: number,
    entries: readonly { topic: string; partition: number; state: PartitionState }[],
  ): Promise<PartitionStateCreateResult[]> {
    const parentsDone = new Set<string>();
    const out: PartitionStateCreateResult[] = [];
    for (const { topic, partition, state } of entries) {
      if (!parentsDone.has(topic)) {
        await this.fencedIgnoring(epochZkVersion, [Op.create(topicPartitionsPath(topic), null)], Err.NODEEXISTS);
        parentsDone.add(topic);
      }
      await this.fencedIgnoring(epochZkVersion, [Op.create(topicPartitionPath(topic, partition), null)], Err.NODEEXISTS);
      try {
        await this.fencedMulti(epochZkVersion, [Op.create(partitionStatePath(topic, partition), encodePartitionState(state))]);
        out.push({ topic, partition, ok: true, zkVersion: 0 });
      } catch (e) {
        if (!isZooKeeperError(e) || e instanceof ControllerMovedError) throw e;
        out.push({ topic, partition, ok: false, code: e.code });
      }
    }
    return out;
  }

  /**
   * Controller: conditional update of a state znode. Resolves with the new zkVersion; rejects
   * with ZooKeeperError BADVERSION when someone else wrote it, ControllerMovedError when fenced.
   */
  async updatePartitionState(
    epochZkVersion: number,
    topic: string,
    partition: number,
    state: PartitionState,
    expectedZkVersion: number,
  ): Promise<number> {
    const res = await this.fencedMulti(epochZkVersion, [
      Op.setData(partitionStatePath(topic, partition), encodePartitionState(state), expectedZkVersion),
    ]);
    return (res[0] as Extract<OpResult, { type: 'setData' }>).stat.version;
  }

  /** Controller: delete /brokers/topics/<t> recursively, /config/topics/<t>, then the deletion marker. */
  async deleteTopicZnodes(epochZkVersion: number, topic: string): Promise<void> {
    for (let attempt = 0; attempt < CONDITIONAL_RETRIES_MAX; attempt++) {
      const tree = await this.listTreeBottomUp(topicPath(topic));
      try {
        for (let i = 0; i < tree.length; i += DELETE_OPS_PER_MULTI) {
          await this.fencedMulti(
            epochZkVersion,
            tree.slice(i, i + DELETE_OPS_PER_MULTI).map((p) => Op.delete(p)),
          );
        }
        break;
      } catch (e) {
        // A node appeared or vanished meanwhile: list again.
        if (!isZooKeeperError(e, Err.NOTEMPTY) && !isZooKeeperError(e, Err.NONODE)) throw e;
      }
    }
    await this.fencedIgnoring(epochZkVersion, [Op.delete(configEntityPath('topics', topic))], Err.NONODE);
    await this.removeDeletionMarker(epochZkVersion, topic);
  }

  /** Controller: drop /admin/delete_topics/<t> (after deletion, or when deletion is disabled). */
  async removeDeletionMarker(epochZkVersion: number, topic: string): Promise<void> {
    await this.fencedIgnoring(epochZkVersion, [Op.delete(deleteTopicPath(topic))], Err.NONODE);
  }

  // ---- entity configs

  async getEntityConfig(type: string, name: string): Promise<Record<string, string>> {
    const path = configEntityPath(type, name);
    const r = await this.getDataOrNull(path);
    return r === null ? {} : decodeEntityConfig(path, r.data);
  }

  /** Replace an entity's config, then announce it with a sequential config_change_ node. */
  async setEntityConfig(type: string, name: string, props: Readonly<Record<string, string>>): Promise<void> {
    await this.writeEntityConfig(type, name, props);
    await this.client.create(configChangeSequencePath, encodeConfigChange(type, name), { mode: CreateMode.PERSISTENT_SEQUENTIAL });
  }

  /** Pending change notifications, oldest first. */
  async getConfigChanges(): Promise<ConfigChangeNotice[]> {
    const children = await this.client.getChildren(Paths.configChanges);
    const seqs = children.map((c) => ({ c, seq: sequenceOf(c, CONFIG_CHANGE_PREFIX) })).filter((x) => x.seq >= 0);
    seqs.sort((a, b) => a.seq - b.seq);
    const out: ConfigChangeNotice[] = [];
    for (const { c, seq } of seqs) {
      const r = await this.getDataOrNull(`${Paths.configChanges}/${c}`);
      if (r === null) continue; // purged meanwhile
      out.push({ sequence: seq, ...decodeConfigChange(r.data) });
    }
    return out;
  }

  /**
   * Deliver each config change notification newer than `afterSequence` once, as brokers'
   * ZkConfigManager does (a child watch on /config/changes; no polling).
   */
  watchConfigChanges(cb: (changes: ConfigChangeNotice[]) => void, afterSequence = -1): WatchHandle {
    let last = afterSequence;
    let chain = Promise.resolve();
    return this.watchChildren(Paths.configChanges, () => {
      // Serialized so two quick notifications cannot deliver the same change twice.
      chain = chain
        .then(async () => {
          const fresh = (await this.getConfigChanges()).filter((c) => c.sequence > last);
          if (fresh.length === 0) return;
          last = fresh[fresh.length - 1]!.sequence;
          cb(fresh);
        })
        .catch(() => undefined);
    });
  }

  private async writeEntityConfig(type: string, name: string, props: Readonly<Record<string, string>>): Promise<void> {
    const path = configEntityPath(type, name);
    const data = encodeEntityConfig(props);
    try {
      await this.client.setData(path, data, -1);
    } catch (e) {
      if (!isZooKeeperError(e, Err.NONODE)) throw e;
      await mkdirp(this.client, path, { data });
      // mkdirp leaves an existing node alone: make sure our data is the one written.
      await this.client.setData(path, data, -1);
    }
  }

  // ---- producer ids

  /** Claim the next block of PRODUCER_ID_BLOCK_SIZE ids (conditional set on /latest_producer_id_block). */
  async claimProducerIdBlock(brokerId: number): Promise<{ start: number; end: number }> {
    for (let attempt = 0; attempt < CONDITIONAL_RETRIES_MAX; attempt++) {
      const r = await this.getDataOrNull(Paths.latestProducerIdBlock);
      if (r === null) {
        await mkdirp(this.client, Paths.latestProducerIdBlock);
        continue;
      }
      const prevEnd = r.data === null || r.data.length === 0 ? -1 : decodeProducerIdBlock(r.data).end;
      const start = prevEnd + 1;
      const end = start + PRODUCER_ID_BLOCK_SIZE - 1;
      if (!Number.isSafeInteger(end)) throw new Error('producer ids exhausted');
      try {
        await this.client.setData(Paths.latestProducerIdBlock, encodeProducerIdBlock({ brokerId, start, end }), r.stat.version);
        return { start, end };
      } catch (e) {
        if (!isZooKeeperError(e, Err.BADVERSION)) throw e;
      }
    }
    throw new Error('claimProducerIdBlock: too much contention');
  }

  // ---- controller election and fencing

  async getControllerId(): Promise<number | null> {
    const r = await this.getDataOrNull(Paths.controller);
    return r === null ? null : decodeController(r.data).brokerId;
  }

  async getControllerEpoch(): Promise<ControllerLease | null> {
    const r = await this.getDataOrNull(Paths.controllerEpoch);
    return r === null ? null : { epoch: decodeControllerEpoch(r.data), epochZkVersion: r.stat.version };
  }

  /**
   * Try to become controller (KafkaController.elect): one multi creating the ephemeral /controller
   * and bumping /controller_epoch conditionally. Null when another broker is or became controller.
   */
  async tryElectController(brokerId: number): Promise<ControllerLease | null> {
    const held = await this.getDataOrNull(Paths.controller);
    if (held !== null) {
      // This session's own /controller naming this broker: an earlier try's multi went through but
      // its answer was lost with the connection, and the caller runs the election again. Answering
      // null would leave the seat held by a broker that never becomes the active controller (every
      // controller request NOT_CONTROLLER until the session ends). The epoch was bumped by that
      // same multi and only the holder of /controller can bump it, so it is this term's.
      const ours = held.stat.ephemeralOwner === this.client.sessionId && decodeController(held.data).brokerId === brokerId;
      return ours ? this.getControllerEpoch() : null;
    }
    let cur = await this.getControllerEpoch();
    if (cur === null) {
      try {
        await this.client.create(Paths.controllerEpoch, encodeControllerEpoch(0));
        cur = { epoch: 0, epochZkVersion: 0 };
      } catch (e) {
        if (!isZooKeeperError(e, Err.NODEEXISTS)) throw e;
        cur = (await this.getControllerEpoch())!;
      }
    }
    const next = cur.epoch + 1;
    try {
      const res = await this.client.multi([
        Op.create(Paths.controller, encodeController(brokerId, this.now()), { mode: CreateMode.EPHEMERAL }),
        Op.setData(Paths.controllerEpoch, encodeControllerEpoch(next), cur.epochZkVersion),
      ]);
      return { epoch: next, epochZkVersion: (res[1] as Extract<OpResult, { type: 'setData' }>).stat.version };
    } catch (e) {
      if (!(e instanceof MultiError) || (e.code !== Err.NODEEXISTS && e.code !== Err.BADVERSION)) throw e;
      // The multi may have been applied on a connection we lost: it is ours only if both parts say so.
      const [id, now] = await Promise.all([this.getControllerId(), this.getControllerEpoch()]);
      if (id === brokerId && now !== null && now.epoch === next) return now;
      return null;
    }
  }

  /** Resign: delete /controller, fenced so that only the current controller can. */
  async deleteController(epochZkVersion: number): Promise<void> {
    await this.fencedIgnoring(epochZkVersion, [Op.delete(Paths.controller)], Err.NONODE);
  }

  /**
   * multi([check(/controller_epoch, epochZkVersion), ...ops]); results of `ops` only. A failed
   * check becomes ControllerMovedError; a failed op rejects with its ZooKeeperError.
   */
  async fencedMulti(epochZkVersion: number, ops: readonly Op[]): Promise<OpResult[]> {
    try {
      return (await this.client.multi([Op.check(Paths.controllerEpoch, epochZkVersion), ...ops])).slice(1);
    } catch (e) {
      if (!(e instanceof MultiError)) throw e;
      if (e.index === 0) throw new ControllerMovedError(`controller epoch zkVersion ${epochZkVersion} is stale (${e.codeName})`);
      throw new ZooKeeperError(e.code, e.path, `fenced op #${e.index - 1} failed`);
    }
  }

  private async fencedIgnoring(epochZkVersion: number, ops: readonly Op[], ignore: number): Promise<void> {
    try {
      await this.fencedMulti(epochZkVersion, ops);
    } catch (e) {
      if (!isZooKeeperError(e, ignore)) throw e;
    }
  }

  // ---- watches that re-arm themselves (watches.ts)

  /** Call `cb` with the children of `path` now and after every change (null while absent). */
  watchChildren(path: string, cb: (children: string[] | null) => void): WatchHandle {
    return this.watches.children(path, cb);
  }

  /** Call `cb` with the data and stat of `path` now and after every change (nulls while absent). */
  watchData(path: string, cb: (data: Buffer | null, stat: Stat | null) => void): WatchHandle {
    return this.watches.data(path, cb);
  }

  // ---- helpers

  private async getDataOrNull(path: string): Promise<{ data: Buffer | null; stat: Stat } | null> {
    try {
      return await this.client.getData(path);
    } catch (e) {
      if (isZooKeeperError(e, Err.NONODE)) return null;
      throw e;
    }
  }

  /** `path` and its descendants, children before parents. */
  private async listTreeBottomUp(path: string): Promise<string[]> {
    let children: string[];
    try {
      children = await this.client.getChildren(path);
    } catch (e) {
      if (isZooKeeperError(e, Err.NONODE)) return [];
      throw e;
    }
    const out: string[] = [];
    for (const c of children) out.push(...(await this.listTreeBottomUp(`${path}/${c}`)));
    out.push(path);
    return out;
  }
}
