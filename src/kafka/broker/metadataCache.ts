// What this broker believes about the cluster: live brokers, the controller, topics, partition
// leaders and ISR. The controller keeps it current with UpdateMetadata (applyUpdateMetadata, as
// Kafka's ZkMetadataCache.updateMetadata); LeaderAndIsr refreshes the entries of the partitions
// it names. Metadata, FindCoordinator and the admin APIs answer from it; CreateTopics and
// DeleteTopics wait on it.

import { ErrorCode } from '../protocol/errors.js';

export interface BrokerEndpoint {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

export interface PartitionMeta {
  readonly partition: number;
  leader: number;
  leaderEpoch: number;
  isr: number[];
  replicas: number[];
  zkVersion: number;
  controllerEpoch: number;
}

export interface TopicMeta {
  readonly name: string;
  topicId: string;
  readonly partitions: Map<number, PartitionMeta>;
}

/** One partition as UpdateMetadata carries it. */
export interface UpdateMetadataPartition {
  topic: string;
  topicId: string;
  partition: number;
  controllerEpoch: number;
  leader: number;
  leaderEpoch: number;
  isr: number[];
  zkVersion: number;
  replicas: number[];
}

/** Kafka's LeaderDuringDelete: the partition's topic is being deleted. */
export const LEADER_DURING_DELETE = -2;

export const INTERNAL_TOPICS: ReadonlySet<string> = new Set(['__consumer_offsets', '__transaction_state']);

/** Bounds the waiters (CreateTopics/DeleteTopics in flight) so a flood of admin calls cannot grow memory. */
export const metadataWaitersMax = 10_000;

export class MetadataCache {
  readonly brokers = new Map<number, BrokerEndpoint>();
  readonly topics = new Map<string, TopicMeta>();
  /** Topics by id: Fetch v13+ names every topic by id, so this lookup is on the fetch path. */
  private readonly topicsById = new Map<string, TopicMeta>();
  controllerId = -1;
  clusterId: string | null = null;
  /** Leaders' inter-broker endpoints from LeaderAndIsr LiveLeaders (known before UpdateMetadata names them). */
  readonly liveLeaders = new Map<number, { host: string; port: number }>();
  private readonly waiters = new Set<{ check: () => boolean; done: (ok: boolean) => void }>();

  upsertPartition(topic: string, topicId: string, p: PartitionMeta): void {
    let t = this.topics.get(topic);
    if (!t) {
      t = { name: topic, topicId, partitions: new Map() };
      this.topics.set(topic, t);
    }
    if (t.topicId !== topicId) this.topicsById.delete(t.topicId);
    t.topicId = topicId;
    this.topicsById.set(topicId, t);
    t.partitions.set(p.partition, p);
    this.notify();
  }

  /**
   * UpdateMetadata: the live brokers and the controller are replaced; each partition state is
   * upserted, or removed when its leader is -2 (the topic is being deleted), and a topic left
   * without partitions goes. Returns the topics removed.
   */
  applyUpdateMetadata(controllerId: number, brokers: readonly BrokerEndpoint[], partitions: readonly UpdateMetadataPartition[]): string[] {
    this.controllerId = controllerId;
    this.brokers.clear();
    for (const b of brokers) this.brokers.set(b.id, b);
    const removed: string[] = [];
    for (const p of partitions) {
      if (p.leader === LEADER_DURING_DELETE) {
        const t = this.topics.get(p.topic);
        t?.partitions.delete(p.partition);
        if (t && t.partitions.size === 0) {
          this.topics.delete(p.topic);
          if (this.topicsById.get(t.topicId) === t) this.topicsById.delete(t.topicId);
          removed.push(p.topic);
        }
        continue;
      }
      let t = this.topics.get(p.topic);
      if (!t) {
        t = { name: p.topic, topicId: p.topicId, partitions: new Map() };
        this.topics.set(p.topic, t);
      }
      if (t.topicId !== p.topicId) this.topicsById.delete(t.topicId);
      t.topicId = p.topicId;
      this.topicsById.set(p.topicId, t);
      t.partitions.set(p.partition, {
        partition: p.partition,
        leader: p.leader,
        leaderEpoch: p.leaderEpoch,
        isr: p.isr,
        replicas: p.replicas,
        zkVersion: p.zkVersion,
        controllerEpoch: p.controllerEpoch,
      });
    }
    this.notify();
    return removed;
  }

  /** A broker's endpoint: from UpdateMetadata's live brokers, else from LeaderAndIsr's live leaders. */
  endpointOf(id: number): { host: string; port: number } | undefined {
    return this.brokers.get(id) ?? this.liveLeaders.get(id);
  }

  removeTopic(topic: string): void {
    const t = this.topics.get(topic);
    if (!t) return;
    this.topics.delete(topic);
    if (this.topicsById.get(t.topicId) === t) this.topicsById.delete(t.topicId);
    this.notify();
  }

  /**
   * The error for a partition this broker does not host (Kafka's getPartitionOrError): one the
   * cluster has is led elsewhere, or nowhere (NOT_LEADER_OR_FOLLOWER: the client refreshes its
   * metadata); one it does not have is unknown (`unknown`, by default UNKNOWN_TOPIC_OR_PARTITION).
   */
  notHostedError(topic: string, partition: number, unknown: number = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION): number {
    return this.topics.get(topic)?.partitions.has(partition) ? ErrorCode.NOT_LEADER_OR_FOLLOWER : unknown;
  }

  topicById(topicId: string): TopicMeta | undefined {
    return this.topicsById.get(topicId);
  }

  /** True when every partition in 0..count-1 of the topic has a leader. */
  hasLeaders(topic: string, count: number): boolean {
    const t = this.topics.get(topic);
    if (!t) return false;
    for (let p = 0; p < count; p++) {
      const m = t.partitions.get(p);
      if (!m || m.leader < 0) return false;
    }
    return true;
  }

  /** Resolves true once `check` holds, false after timeoutMs. */
  waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    if (timeoutMs <= 0 || this.waiters.size >= metadataWaitersMax) return Promise.resolve(false);
    return new Promise((resolve) => {
      const w = {
        check,
        done: (ok: boolean) => {
          clearTimeout(timer);
          this.waiters.delete(w);
          resolve(ok);
        },
      };
      const timer = setTimeout(() => w.done(false), timeoutMs);
      timer.unref();
      this.waiters.add(w);
    });
  }

  notify(): void {
    for (const w of [...this.waiters]) if (w.check()) w.done(true);
  }

  /** Answers every waiter with false (broker shutting down). */
  close(): void {
    for (const w of [...this.waiters]) w.done(false);
  }
}
