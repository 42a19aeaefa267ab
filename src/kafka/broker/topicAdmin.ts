// Topic administration on the broker side: creating topics (assignment, then the znodes
// AdminZkClient writes), deleting them (the /admin/delete_topics marker the controller acts on),
// adding partitions, topic configs (/config/topics and the change notifications every broker
// follows), and applying the controller's leader/ISR decisions to the metadata cache and the
// replica manager.

import { assignReplicas } from '../controller/assignment.js';
import { ErrorCode } from '../protocol/errors.js';
import { ZERO_UUID } from '../protocol/schema.js';
import { randomKafkaUuid } from '../zk/layout.js';
import { logConfigFromProps } from '../storage/logConfig.js';
import type { Broker } from './broker.js';
import { INTERNAL_TOPICS } from './metadataCache.js';
import { OFFSETS_TOPIC } from './offsetsTopic.js';
import { isTopicConfigKey } from './topicConfigs.js';
import type { LeaderState } from './replicaManager.js';

export interface CreateTopicSpec {
  name: string;
  numPartitions: number; // -1: the broker default
  replicationFactor: number; // -1: the broker default
  assignments: { partitionIndex: number; brokerIds: number[] }[];
  configs: Record<string, string>;
}

export interface CreateTopicResult {
  errorCode: number;
  errorMessage: string | null;
  topicId: string;
  numPartitions: number;
  replicationFactor: number;
}

const TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;
export const topicNameLengthMax = 249;
/**
 * Partitions one topic may have. Kafka in ZooKeeper mode sets no such bound and fails only when
 * the assignment znode outgrows jute.maxbuffer (1 MiB: about 80,000 partitions at one replica),
 * after building the whole assignment in memory; a request for 2^31-1 partitions would stall this
 * process for minutes, so it is refused up front with INVALID_PARTITIONS.
 */
export const topicPartitionsMax = 50_000;

export function validateTopicName(name: string): string | null {
  if (name.length === 0) return "Topic name is illegal, it can't be empty";
  if (name === '.' || name === '..') return 'Topic name cannot be "." or ".."';
  if (name.length > topicNameLengthMax) return `Topic name is illegal, it can't be longer than ${topicNameLengthMax} characters`;
  if (!TOPIC_NAME.test(name))
    return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  return null;
}

export class TopicAdmin {
  private readonly creating = new Set<string>();

  constructor(private readonly b: Broker) {}

  async start(): Promise<void> {
    // Every change notification from here on (the broker read the configs as they were at start).
    this.b.zk.watchConfigChanges((changes) => {
      for (const c of changes) void this.reloadConfig(c.entityType, c.entityName);
    });
  }

  private async reloadConfig(entityType: string, entityName: string): Promise<void> {
    if (entityType !== 'topics') return;
    try {
      const props = await this.b.zk.getEntityConfig('topics', entityName);
      this.b.topicConfigs.set(entityName, props);
      this.b.replicas.updateConfig(entityName, this.b.logConfigFor(entityName));
      this.b.logger.info({ topic: entityName }, 'topic config updated');
    } catch (err) {
      this.b.logger.warn({ err: String(err), topic: entityName }, 'could not apply a topic config change');
    }
  }

  onLeaderAndIsr(topic: string, topicId: string, partition: number, s: LeaderState): void {
    this.b.metadata.upsertPartition(topic, topicId, { partition, ...s });
    if (!s.replicas.includes(this.b.brokerId)) return;
    const wasLeader = this.b.replicas.get(topic, partition)?.isLeader ?? false;
    const p = this.b.replicas.applyLeaderAndIsr(topic, topicId, partition, s, this.b.logConfigFor(topic));
    if (topic === OFFSETS_TOPIC) {
      if (p.isLeader && !wasLeader) this.b.offsets.becameLeader(partition);
      else if (!p.isLeader && wasLeader) this.b.groups.unloadPartition(partition);
    }
  }

  onStopReplica(topic: string, partition: number, deletePartition: boolean): void {
    if (topic === OFFSETS_TOPIC) this.b.groups.unloadPartition(partition);
    this.b.replicas.stopReplica(topic, partition, deletePartition);
    if (deletePartition) {
      const t = this.b.metadata.topics.get(topic);
      t?.partitions.delete(partition);
      if (t && t.partitions.size === 0) {
        this.b.metadata.removeTopic(topic);
        this.b.topicConfigs.delete(topic);
      }
    }
  }

  /** Creates a topic with the broker defaults for a Metadata/FindCoordinator request. */
  async autoCreate(name: string): Promise<number> {
    if (validateTopicName(name) !== null) return ErrorCode.INVALID_TOPIC_EXCEPTION;
    if (this.creating.has(name)) return ErrorCode.LEADER_NOT_AVAILABLE;
    this.creating.add(name);
    try {
      const internal = name === OFFSETS_TOPIC;
      const r = await this.create(
        {
          name,
          numPartitions: internal ? this.b.config.offsetsTopicNumPartitions : -1,
          replicationFactor: internal ? this.b.config.offsetsTopicReplicationFactor : -1,
          assignments: [],
          configs: internal ? this.b.offsets.topicConfigs() : {},
        },
        false,
        0,
      );
      if (r.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS || r.errorCode === ErrorCode.NONE) return ErrorCode.LEADER_NOT_AVAILABLE;
      return r.errorCode === ErrorCode.INVALID_REPLICATION_FACTOR && internal ? ErrorCode.COORDINATOR_NOT_AVAILABLE : r.errorCode;
    } finally {
      this.creating.delete(name);
    }
  }

  async create(spec: CreateTopicSpec, validateOnly: boolean, timeoutMs: number): Promise<CreateTopicResult> {
    const fail = (errorCode: number, errorMessage: string): CreateTopicResult => ({
      errorCode,
      errorMessage,
      topicId: ZERO_UUID,
      numPartitions: -1,
      replicationFactor: -1,
    });
    const bad = validateTopicName(spec.name);
    if (bad) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, bad);
    if (this.b.metadata.topics.has(spec.name)) return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${spec.name}' already exists.`);
    const cfg = this.b.config;
    // Kafka refuses a key it does not know rather than storing it (found by the differential test).
    const unknownKey = Object.keys(spec.configs).find((k) => !isTopicConfigKey(k));
    if (unknownKey !== undefined) return fail(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${unknownKey}`);
    try {
      logConfigFromProps(spec.configs, cfg.logDefaults);
    } catch (err) {
      return fail(ErrorCode.INVALID_CONFIG, (err as Error).message);
    }
    const brokers = [...this.b.metadata.brokers.values()];
    let assignment: Map<number, number[]>;
    if (spec.assignments.length > 0) {
      if (spec.numPartitions !== -1 || spec.replicationFactor !== -1) {
        return fail(
          ErrorCode.INVALID_REQUEST,
          'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.',
        );
      }
      if (spec.assignments.length > topicPartitionsMax) {
        return fail(
          ErrorCode.INVALID_PARTITIONS,
          `Number of partitions ${spec.assignments.length} exceeds the limit of ${topicPartitionsMax}.`,
        );
      }
      assignment = new Map();
      for (const a of spec.assignments) {
        if (a.brokerIds.some((id) => !this.b.metadata.brokers.has(id))) {
          return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Unknown broker in the assignment of partition ${a.partitionIndex}`);
        }
        if (new Set(a.brokerIds).size !== a.brokerIds.length) {
          return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Duplicate brokers in the assignment of partition ${a.partitionIndex}`);
        }
        assignment.set(a.partitionIndex, a.brokerIds);
      }
      for (let p = 0; p < assignment.size; p++) {
        if (!assignment.has(p)) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Partitions must be numbered 0..n-1');
      }
    } else {
      const partitions = spec.numPartitions === -1 ? cfg.numPartitions : spec.numPartitions;
      const rf = spec.replicationFactor === -1 ? cfg.defaultReplicationFactor : spec.replicationFactor;
      if (partitions <= 0) return fail(ErrorCode.INVALID_PARTITIONS, 'Number of partitions must be larger than 0.');
      if (partitions > topicPartitionsMax) {
        return fail(ErrorCode.INVALID_PARTITIONS, `Number of partitions ${partitions} exceeds the limit of ${topicPartitionsMax}.`);
      }
      if (rf <= 0) return fail(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0.');
      if (rf > brokers.length) {
        return fail(ErrorCode.INVALID_REPLICATION_FACTOR, `Replication factor: ${rf} larger than available brokers: ${brokers.length}.`);
      }
      assignment = assignReplicas(
        brokers.map((x) => ({ id: x.id, rack: x.rack ?? undefined })),
        partitions,
        rf,
        { randomInt: (n) => Math.floor(Math.random() * n) },
      );
    }
    const numPartitions = assignment.size;
    const replicationFactor = assignment.get(0)?.length ?? 0;
    if (validateOnly) return { errorCode: 0, errorMessage: null, topicId: ZERO_UUID, numPartitions, replicationFactor };
    const topicId = randomKafkaUuid();
    try {
      await this.b.zk.createTopic(spec.name, assignment, spec.configs, topicId);
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code === ErrorCode.TOPIC_ALREADY_EXISTS || /exists/i.test(String(err))) {
        return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${spec.name}' already exists.`);
      }
      throw err;
    }
    this.b.topicConfigs.set(spec.name, spec.configs);
    if (timeoutMs > 0) {
      const ok = await this.b.metadata.waitUntil(() => this.b.metadata.hasLeaders(spec.name, numPartitions), timeoutMs);
      if (!ok) {
        return { ...fail(ErrorCode.REQUEST_TIMED_OUT, "Timed out waiting for the topic's leaders"), topicId };
      }
    }
    return { errorCode: 0, errorMessage: null, topicId, numPartitions, replicationFactor };
  }

  async delete(name: string, timeoutMs: number): Promise<{ errorCode: number; errorMessage: string | null }> {
    if (!this.b.metadata.topics.has(name)) {
      return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'This server does not host this topic-partition.' };
    }
    if (INTERNAL_TOPICS.has(name)) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Topic ${name} is internal` };
    if (!this.b.config.deleteTopicEnable) {
      return { errorCode: ErrorCode.TOPIC_DELETION_DISABLED, errorMessage: 'Topic deletion is disabled.' };
    }
    await this.b.zk.markTopicForDeletion(name);
    if (timeoutMs > 0) {
      const ok = await this.b.metadata.waitUntil(() => !this.b.metadata.topics.has(name), timeoutMs);
      if (!ok) return { errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: 'Timed out waiting for the deletion' };
    }
    return { errorCode: 0, errorMessage: null };
  }
}
