// The partitions this broker hosts: their logs, leadership, producer state and high watermark,
// and the produce and fetch paths over them (Kafka's ReplicaManager + Partition). Leadership
// arrives from the controller (applyLeaderAndIsr). A partition led here keeps a LeaderCore
// (replication/leaderCore.ts: follower positions, HW rule, ISR proposals); one followed here is
// fetched by the replica fetcher (replication/replicaFetcher.ts). acks=all produces park in the
// produce purgatory until the HW covers them. With one replica the HW follows the log end at
// once and nothing parks.

import { baseOffsetOf, lastOffsetOf, maxTimestampOf } from '../protocol/batchHeader.js';
import { ErrorCode } from '../protocol/errors.js';
import { RecordError, type BatchInfo, convertLegacyToV2, isLegacy, validateRecordSet } from '../protocol/records.js';
import type { LogConfig } from '../storage/logConfig.js';
import type { LogManager } from '../storage/logManager.js';
import { OffsetOutOfRangeError, type PartitionLog } from '../storage/partitionLog.js';
import { ProducerStateManager } from '../storage/producerState.js';
import type { Logger } from '../../util/log.js';
import type { Msg } from '../protocol/schema.js';
import { alterPartitionRequest, alterPartitionResult } from '../replication/alterPartitionSender.js';
import { recordFollowerBatches, verifyFollowerBatches } from '../replication/followerAppend.js';
import { HW_FROZEN, type IsrProposal, LeaderCore } from '../replication/leaderCore.js';
import { ProducePurgatory } from '../replication/producePurgatory.js';
import { type FetchClient, type ReplicaFetcherConfig, ReplicaFetcherManager } from '../replication/replicaFetcher.js';
import { FetchPurgatory } from './fetchPurgatory.js';
import { BrokerTopicStats, TopicCounters, countProduceAppend } from './metricsStats.js';

export interface LeaderState {
  leader: number;
  leaderEpoch: number;
  isr: number[];
  replicas: number[];
  zkVersion: number;
  controllerEpoch: number;
}

export class HostedPartition {
  constructor(
    readonly topic: string,
    readonly partition: number,
    public topicId: string,
    readonly log: PartitionLog,
    readonly producers: ProducerStateManager,
    public state: LeaderState,
    /** This broker's id: the partition is led here when the state names it. */
    readonly brokerId: number,
    /** Its topic's metric counters, held here so the produce and fetch paths never look them up. */
    readonly topicStats: TopicCounters = new TopicCounters(),
  ) {
    this.key = FetchPurgatory.key(topic, partition);
  }

  /** Present while the partition is led here: what the leader knows of its followers and the ISR. */
  leaderCore: LeaderCore | undefined;
  /** FetchPurgatory.key of this partition, computed once. */
  readonly key: string;

  get isLeader(): boolean {
    return this.state.leader === this.brokerId;
  }

  /** Last stable offset: with no transactions, the high watermark. */
  get lastStableOffset(): number {
    return this.log.highWatermark;
  }
}

export interface ProduceResult {
  errorCode: number;
  errorMessage?: string | null;
  baseOffset: number;
  /** The last offset written (or found, for a duplicate); -1 on error. acks=all waits for the HW past it. */
  lastOffset?: number;
  /** The partition appended to (set on success): acks=all checks and parks on it. */
  hosted?: HostedPartition;
  logAppendTimeMs: number;
  logStartOffset: number;
}

export interface ProduceOptions {
  acks: number;
  allowZstd: boolean;
  timestampDifferenceMaxMs?: number;
}

const NO_OFFSET: Omit<ProduceResult, 'errorCode'> = { baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };

/** Bytes read per step while replaying the log into the producer state. */
export const producerReplayReadBytes = 4 * 1024 * 1024;

/**
 * Producer state as of the log end: the latest snapshot, then every idempotent batch after it
 * (Kafka's ProducerStateManager load). After a crash the snapshot is older than the log, and
 * without the replay a retried batch written before the crash would be appended twice.
 */
export function rebuildProducerState(log: PartitionLog, producers: ProducerStateManager): void {
  const end = log.logEndOffset;
  let offset = Math.max(producers.loadLatestSnapshot(end) ?? 0, log.logStartOffset);
  while (offset < end) {
    const r = log.read(offset, producerReplayReadBytes, end, true);
    if (r.records.length === 0) break;
    for (const chunk of r.records) offset = Math.max(offset, recordFollowerBatches(chunk, producers, offset));
  }
}

/** Replication settings and the shells the replica manager drives (broker.ts wires them). */
export interface ReplicationOptions {
  /** replica.lag.time.max.ms */
  replicaLagTimeMaxMs?: number;
  /** Sends AlterPartition v3 to the current controller and resolves with its response body. */
  sendAlterPartition?: (body: Msg) => Promise<Msg>;
  /** This broker's epoch (czxid of its registration), sent with AlterPartition. */
  brokerEpoch?: () => number;
  /** Whether a broker is alive (ZooKeeper mode: only live brokers may join the ISR). */
  isBrokerAlive?: (brokerId: number) => boolean;
  /** Wait before sending an ISR change again after a retriable failure. */
  alterPartitionRetryMs?: number;
  /** Follower fetching; without it this broker does not fetch (a single-broker setup). */
  fetcher?: { config: ReplicaFetcherConfig; connect: (brokerId: number) => Promise<FetchClient | undefined> };
  logger?: Logger;
}

export class ReplicaManager {
  readonly partitions = new Map<string, HostedPartition>();
  readonly purgatory = new FetchPurgatory();
  readonly producePurgatory = new ProducePurgatory((key, requiredOffset) => this.produceVerdict(key, requiredOffset));
  /** DeleteRecords waiting for the followers' log start offsets (Kafka's DelayedDeleteRecords). */
  readonly deleteRecordsPurgatory = new ProducePurgatory((key, requiredOffset) => this.lowWatermarkVerdict(key, requiredOffset));
  readonly fetchers: ReplicaFetcherManager | undefined;
  /** BrokerTopicMetrics counters (metrics.ts renders them). */
  readonly stats = new BrokerTopicStats();
  /** ISR changes this broker proposed as leader and the controller accepted (IsrShrinksPerSec / IsrExpandsPerSec). */
  isrShrinks = 0;
  isrExpands = 0;
  private readonly replicaLagTimeMaxMs: number;
  private readonly alterPartitionRetryMs: number;
  private readonly logger: Logger | undefined;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  /** ISR proposals for the next AlterPartition request: at most one per partition led here. */
  private readonly alterQueue = new Map<string, { p: HostedPartition; proposal: IsrProposal }>();
  private alterInFlight = false;
  private alterFlushScheduled = false;
  private closed = false;

  constructor(
    readonly brokerId: number,
    readonly logs: LogManager,
    private readonly now: () => number,
    private readonly producerIdExpirationMs: number,
    private readonly repl: ReplicationOptions = {},
  ) {
    this.replicaLagTimeMaxMs = repl.replicaLagTimeMaxMs ?? 30_000;
    this.alterPartitionRetryMs = repl.alterPartitionRetryMs ?? 500;
    this.logger = repl.logger;
    this.fetchers = repl.fetcher
      ? new ReplicaFetcherManager(
          repl.fetcher.config,
          {
            hosted: (topic, partition) => this.get(topic, partition),
            appendAsFollower: (p, records) => this.appendAsFollower(p, records),
            truncateFollower: (p, offset) => this.truncateFollower(p, offset),
            restartFollowerAt: (p, offset) => this.restartFollowerAt(p, offset),
            followerFetched: (p, hw, logStart) => this.followerFetched(p, hw, logStart),
          },
          repl.fetcher.connect,
          repl.logger,
        )
      : undefined;
  }

  get(topic: string, partition: number): HostedPartition | undefined {
    return this.partitions.get(FetchPurgatory.key(topic, partition));
  }

  /** Replaces the AlterPartition sender (tests put a fake controller here). */
  setAlterPartitionSender(send: (body: Msg) => Promise<Msg>): void {
    this.repl.sendAlterPartition = send;
  }

  /**
   * Applies a leader/ISR decision for a partition this broker is a replica of: Kafka's makeLeader
   * (a new leader epoch starts at our log end; followers' positions are reset) or makeFollower (stop
   * leading, fail parked acks=all produces, fetch from the new leader after truncating).
   */
  applyLeaderAndIsr(topic: string, topicId: string, partition: number, state: LeaderState, config: LogConfig): HostedPartition {
    const key = FetchPurgatory.key(topic, partition);
    let p = this.partitions.get(key);
    const prev = p?.state;
    if (!p) {
      const log = this.logs.getOrCreateLog(topic, partition, topicId, config);
      const producers = new ProducerStateManager({
        dir: log.dir,
        producerIdExpirationMs: this.producerIdExpirationMs,
      });
      rebuildProducerState(log, producers);
      p = new HostedPartition(topic, partition, topicId, log, producers, state, this.brokerId, this.stats.topic(topic));
      this.partitions.set(key, p);
    } else {
      p.state = state;
      p.topicId = topicId;
      p.log.updateConfig(config);
    }
    if (state.leader === this.brokerId) this.makeLeader(p, prev);
    else this.makeFollower(p, prev);
    this.purgatory.appended(topic, partition);
    return p;
  }

  private makeLeader(p: HostedPartition, prev: LeaderState | undefined): void {
    const state = p.state;
    this.fetchers?.removePartition(p.topic, p.partition);
    // A new leader term starts at our log end (leader epoch cache, KIP-101).
    const latest = p.log.epochs.latestEpoch;
    if (latest === undefined || latest < state.leaderEpoch) p.log.epochs.assign(state.leaderEpoch, p.log.logEndOffset);
    const isNewLeader = p.leaderCore === undefined;
    const core = p.leaderCore ?? new LeaderCore(this.brokerId, this.replicaLagTimeMaxMs);
    p.leaderCore = core;
    const term = { leaderEpoch: state.leaderEpoch, partitionEpoch: state.zkVersion, isr: state.isr, replicas: state.replicas };
    if (!core.becomeLeader(term, p.log.logEndOffset, this.now(), isNewLeader) && prev) {
      // Older than what we hold (a lower partition epoch): keep the state we had.
      p.state = prev;
      return;
    }
    if (isNewLeader) {
      this.logger?.info({ topic: p.topic, partition: p.partition, leaderEpoch: state.leaderEpoch, isr: state.isr }, 'leading partition');
    }
    this.maybeAdvanceHighWatermark(p, this.now());
    this.producePurgatory.tryComplete(p.key);
  }

  private makeFollower(p: HostedPartition, prev: LeaderState | undefined): void {
    const state = p.state;
    const wasLeader = p.leaderCore !== undefined;
    if (wasLeader) {
      p.leaderCore = undefined;
      // Parked acks=all produces and DeleteRecords of this partition can no longer be confirmed here.
      this.producePurgatory.tryComplete(p.key);
      this.deleteRecordsPurgatory.tryComplete(p.key);
    }
    // The same leader epoch we already follow: nothing to do (Kafka's makeFollower returns false).
    const following = this.fetchers?.fetchingFrom(p.topic, p.partition);
    if (!wasLeader && prev && prev.leaderEpoch >= state.leaderEpoch && following === state.leader) return;
    this.fetchers?.removePartition(p.topic, p.partition);
    if (state.leader < 0 || !state.replicas.includes(state.leader)) return;
    this.fetchers?.addPartition(state.leader, p.topic, p.partition, state.leaderEpoch);
  }

  /** Stops hosting a partition; deletes its files when the topic is being deleted. */
  stopReplica(topic: string, partition: number, deletePartition: boolean): void {
    const key = FetchPurgatory.key(topic, partition);
    const p = this.partitions.get(key);
    this.fetchers?.removePartition(topic, partition);
    this.partitions.delete(key);
    if (deletePartition) this.logs.deleteLog(topic, partition);
    // The topic's series go when its last partition here does (Kafka's removeMetrics on topic deletion).
    if (p !== undefined && deletePartition && !this.hostsTopic(topic)) this.stats.removeTopic(topic);
    else p?.log.flush();
    this.purgatory.appended(topic, partition);
    this.producePurgatory.tryComplete(key);
    this.deleteRecordsPurgatory.tryComplete(key);
  }

  private hostsTopic(topic: string): boolean {
    for (const p of this.partitions.values()) if (p.topic === topic) return true;
    return false;
  }

  updateConfig(topic: string, config: LogConfig): void {
    for (const p of this.partitions.values()) {
      if (p.topic !== topic) continue;
      p.log.updateConfig(config);
      // min.insync.replicas may have changed: the HW and parked produces may move.
      if (p.leaderCore && this.maybeAdvanceHighWatermark(p, this.now())) this.highWatermarkMoved(p);
      this.producePurgatory.tryComplete(p.key);
    }
  }

  /**
   * Moves the HW up to what the leader core allows (Kafka's maybeIncrementLeaderHW); true when it
   * moved. With no followers this is the log end, with no allocation (the produce path).
   */
  private maybeAdvanceHighWatermark(p: HostedPartition, nowMs: number): boolean {
    const core = p.leaderCore;
    if (core === undefined) return false;
    const hw = core.highWatermarkCandidate(p.log.logEndOffset, nowMs, p.log.config.minInsyncReplicas, this.repl.isBrokerAlive);
    if (hw === HW_FROZEN || hw <= p.log.highWatermark) return false;
    p.log.highWatermark = hw;
    return true;
  }

  /** A moved HW: consumers parked on the partition may read more, parked produces may be done. */
  private highWatermarkMoved(p: HostedPartition): void {
    this.purgatory.wakeKey(p.key);
    this.producePurgatory.tryComplete(p.key);
  }

  /** acks=all verdict for one partition of a parked produce (undefined: keep waiting). */
  private produceVerdict(key: string, requiredOffset: number): number | undefined {
    const p = this.partitions.get(key);
    if (p?.leaderCore === undefined) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    return p.leaderCore.checkEnoughReplicasReachOffset(requiredOffset, p.log.highWatermark, p.log.config.minInsyncReplicas);
  }

  /** The low watermark of a partition led here (DeleteRecords answers with it); -1 when not the leader. */
  lowWatermark(p: HostedPartition): number {
    return p.leaderCore?.lowWatermark(p.log.logStartOffset, this.repl.isBrokerAlive) ?? -1;
  }

  private lowWatermarkVerdict(key: string, requiredOffset: number): number | undefined {
    const p = this.partitions.get(key);
    if (p?.leaderCore === undefined) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    return this.lowWatermark(p) >= requiredOffset ? ErrorCode.NONE : undefined;
  }

  /** acks=all: the verdict now for a partition just appended to (undefined: must park). */
  produceVerdictNow(p: HostedPartition, requiredOffset: number): number | undefined {
    return this.produceVerdict(p.key, requiredOffset);
  }

  /**
   * Leader side of a follower's Fetch (Kafka's updateFollowerFetchState): records its position,
   * may propose adding it to the ISR, and moves the HW. Returns NONE, or the error to answer for
   * a broker that is not an assigned replica (Kafka: UNKNOWN_LEADER_EPOCH when the fetch names an
   * epoch, else NOT_LEADER_OR_FOLLOWER).
   */
  updateFollowerFetchState(
    p: HostedPartition,
    replicaId: number,
    fetchOffset: number,
    followerLogStartOffset: number,
    leaderEndOffset: number,
    namedEpoch: boolean,
  ): number {
    const core = p.leaderCore;
    if (core === undefined) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    const nowMs = this.now();
    const startBefore = core.remotes.get(replicaId)?.logStartOffset;
    const moved = core.updateFollowerFetchState(replicaId, fetchOffset, followerLogStartOffset, leaderEndOffset, nowMs);
    if (moved === undefined) return namedEpoch ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.NOT_LEADER_OR_FOLLOWER;
    if (startBefore !== followerLogStartOffset && this.deleteRecordsPurgatory.size > 0) this.deleteRecordsPurgatory.tryComplete(p.key);
    const proposal = core.maybeProposeExpand(replicaId, p.log.highWatermark, this.repl.isBrokerAlive);
    if (proposal) this.submitAlterPartition(p, proposal);
    if (moved && this.maybeAdvanceHighWatermark(p, nowMs)) this.highWatermarkMoved(p);
    return ErrorCode.NONE;
  }

  /** The ISR-expiry tick (every replica.lag.time.max.ms / 2): proposes dropping followers that fell behind. */
  maybeShrinkIsr(): void {
    const nowMs = this.now();
    for (const p of this.partitions.values()) {
      const core = p.leaderCore;
      if (core === undefined || core.remotes.size === 0) continue;
      const proposal = core.maybeProposeShrink(p.log.logEndOffset, nowMs);
      if (!proposal) continue;
      this.logger?.info(
        { topic: p.topic, partition: p.partition, isr: core.isr, proposed: proposal.isr, leaderEndOffset: p.log.logEndOffset },
        'shrinking ISR',
      );
      this.submitAlterPartition(p, proposal);
    }
  }

  /** Sends an ISR proposal to the controller and applies the answer; retries while it stays current. */
  private submitAlterPartition(p: HostedPartition, proposal: IsrProposal): void {
    if (!this.repl.sendAlterPartition) return; // no controller link (tests of the pure paths): the proposal stays pending
    // Proposals made in the same turn go out together; one request in flight, as Kafka's AlterPartitionManager.
    this.alterQueue.set(p.key, { p, proposal });
    if (!this.alterFlushScheduled && !this.alterInFlight) {
      this.alterFlushScheduled = true;
      setImmediate(() => this.flushAlterPartition());
    }
  }

  private flushAlterPartition(): void {
    this.alterFlushScheduled = false;
    const send = this.repl.sendAlterPartition;
    if (!send || this.closed || this.alterInFlight || this.alterQueue.size === 0) return;
    const items = [...this.alterQueue.values()].filter(
      (i) => this.partitions.get(i.p.key) === i.p && i.p.leaderCore?.pending === i.proposal,
    );
    this.alterQueue.clear();
    if (items.length === 0) return;
    const body = alterPartitionRequest(
      this.brokerId,
      this.repl.brokerEpoch?.() ?? -1,
      items.map((i) => ({ topicId: i.p.topicId, partition: i.p.partition, proposal: i.proposal })),
    );
    this.alterInFlight = true;
    send(body)
      .then(
        (resp) => {
          for (const i of items) this.onAlterPartitionResponse(i.p, i.proposal, alterPartitionResult(resp, i.p.topicId, i.p.partition));
        },
        (err: unknown) => {
          this.logger?.debug({ err: String(err), partitions: items.length }, 'AlterPartition failed; retrying');
          for (const i of items) this.retryAlterPartition(i.p, i.proposal);
        },
      )
      .finally(() => {
        this.alterInFlight = false;
        this.flushAlterPartition();
      });
  }

  private onAlterPartitionResponse(
    p: HostedPartition,
    proposal: IsrProposal,
    result: { errorCode: number; leaderEpoch: number; isr: number[]; partitionEpoch: number },
  ): void {
    const core = p.leaderCore;
    if (core === undefined || this.partitions.get(p.key) !== p) return;
    const isrBefore = core.isr.length;
    const outcome = core.onAlterPartitionResult(proposal, result);
    if (outcome === 'retry') {
      this.retryAlterPartition(p, proposal);
      return;
    }
    if (outcome === 'adopted') {
      if (core.isr.length < isrBefore) this.isrShrinks++;
      else if (core.isr.length > isrBefore) this.isrExpands++;
      p.state = { ...p.state, isr: [...core.isr], zkVersion: core.partitionEpoch };
      this.logger?.info({ topic: p.topic, partition: p.partition, isr: core.isr, partitionEpoch: core.partitionEpoch }, 'ISR updated');
      if (this.maybeAdvanceHighWatermark(p, this.now())) this.highWatermarkMoved(p);
      // A shrink below min.insync.replicas turns parked produces into NOT_ENOUGH_REPLICAS_AFTER_APPEND.
      this.producePurgatory.tryComplete(p.key);
    } else if (outcome !== 'ignored') {
      this.logger?.info({ topic: p.topic, partition: p.partition, errorCode: result.errorCode, outcome }, 'ISR change refused');
    }
  }

  private retryAlterPartition(p: HostedPartition, proposal: IsrProposal): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (this.closed || this.partitions.get(p.key) !== p || p.leaderCore?.pending !== proposal) return;
      this.submitAlterPartition(p, proposal);
    }, this.alterPartitionRetryMs);
    timer.unref();
    this.retryTimers.add(timer);
  }

  // ---------------------------------------------------------------- follower side (called by the fetcher)

  /** Appends fetched batches as the leader wrote them; producer state follows so a failover still deduplicates. */
  private appendAsFollower(p: HostedPartition, records: Buffer): void {
    const whole = verifyFollowerBatches(records);
    if (whole.length === 0) return;
    // An empty log restarted at the leader's log start may get a batch straddling it (DeleteRecords
    // cut the leader's log inside a batch): start the log at the batch instead, as Kafka does.
    const end = p.log.logEndOffset;
    if (end === p.log.logStartOffset && baseOffsetOf(whole) < end && lastOffsetOf(whole) >= end) {
      this.restartFollowerAt(p, baseOffsetOf(whole));
    }
    p.log.appendAsFollower(whole);
    this.stats.replicationBytesIn += whole.length;
    recordFollowerBatches(whole, p.producers);
    this.purgatory.wakeKey(p.key);
  }

  private truncateFollower(p: HostedPartition, offset: number): void {
    // Even at or past our log end the log trims epochs that start there (see PartitionLog.truncateTo).
    const truncatesData = offset < p.log.logEndOffset;
    p.log.truncateTo(offset);
    if (!truncatesData) return;
    p.producers.truncateTo(p.log.logEndOffset);
  }

  private restartFollowerAt(p: HostedPartition, offset: number): void {
    p.log.truncateFullyAndStartAt(offset);
    p.producers.truncateFullyAndStartAt(offset);
  }

  /** Follower HW = min(leader HW, our log end); the leader's log start moves ours (DeleteRecords, retention). */
  private followerFetched(p: HostedPartition, leaderHighWatermark: number, leaderLogStartOffset: number): void {
    // Set, not raised: Kafka's follower takes the leader's value as it is (bounded by its own log).
    p.log.highWatermark = Math.min(leaderHighWatermark, p.log.logEndOffset);
    const start = Math.min(leaderLogStartOffset, p.log.highWatermark);
    if (start > p.log.logStartOffset) {
      p.log.deleteRecordsBefore(start);
      p.producers.truncateHead(p.log.logStartOffset);
    }
  }

  appendToLeader(topic: string, partition: number, recordsIn: Buffer | null, opts: ProduceOptions): ProduceResult {
    const p = this.get(topic, partition);
    const all = this.stats.all;
    all.totalProduceRequests++;
    if (!p) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ...NO_OFFSET };
    const s = p.topicStats;
    s.totalProduceRequests++;
    const r = this.appendToHostedLeader(p, recordsIn, opts);
    // A deduplicated retry counts as appended, as in Kafka (its offsets are the original ones).
    const messages = r.errorCode === ErrorCode.NONE ? (r.lastOffset ?? r.baseOffset) - r.baseOffset + 1 : 0;
    countProduceAppend(all, s, r.errorCode, recordsIn?.length ?? 0, messages);
    return r;
  }

  private appendToHostedLeader(p: HostedPartition, recordsIn: Buffer | null, opts: ProduceOptions): ProduceResult {
    const core = p.leaderCore;
    if (core === undefined) return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, ...NO_OFFSET };
    const cfg = p.log.config;
    if (opts.acks === -1 && core.isUnderMinIsr(cfg.minInsyncReplicas)) {
      return { errorCode: ErrorCode.NOT_ENOUGH_REPLICAS, ...NO_OFFSET };
    }
    if (recordsIn === null || recordsIn.length === 0) {
      return { errorCode: ErrorCode.CORRUPT_MESSAGE, errorMessage: 'empty record set', ...NO_OFFSET };
    }
    let records = recordsIn;
    let batches: BatchInfo[];
    const now = this.now();
    try {
      // A v2 set is validated, stamped and written where it lies, as Kafka assigns offsets in
      // place: it is a view of this request's frame, which is ours, and no copy is made. The
      // connection may reuse a Produce frame's buffer once the request is answered, so nothing
      // here may keep a reference to `records` past the (synchronous) log write.
      if (isLegacy(records)) records = convertLegacyToV2(records);
      batches = validateRecordSet(records, {
        maxMessageBytes: cfg.maxMessageBytes,
        allowZstd: opts.allowZstd,
        compacted: cfg.cleanupPolicy.includes('compact'),
        timestampType: cfg.messageTimestampType,
        now,
        timestampDifferenceMaxMs: opts.timestampDifferenceMaxMs ?? cfg.messageTimestampDifferenceMaxMs,
      }).batches;
    } catch (err) {
      if (err instanceof RecordError) return { errorCode: err.code, errorMessage: err.message, ...NO_OFFSET };
      throw err;
    }

    // Idempotent producers: a batch already written is acknowledged with its original offsets.
    for (const b of batches) {
      if (b.producerId < 0) continue;
      const verdict = p.producers.checkBatch(b, now);
      if (verdict.kind === 'duplicate') {
        return {
          errorCode: ErrorCode.NONE,
          baseOffset: verdict.firstOffset,
          lastOffset: verdict.lastOffset,
          hosted: p,
          // Kafka answers a duplicate with the batch's timestamp here, even under CreateTime.
          logAppendTimeMs: b.maxTimestamp,
          logStartOffset: p.log.logStartOffset,
        };
      }
      // Sequence and epoch errors come from the log itself in Kafka, so they carry its start offset.
      if (verdict.kind === 'error') return { errorCode: verdict.code, ...NO_OFFSET, logStartOffset: p.log.logStartOffset };
    }

    // The log stamps LogAppendTime batches itself (maxTimestamp and CRC, in place).
    const logAppendTime = cfg.messageTimestampType === 'LogAppendTime';
    const appended = p.log.append(records, p.state.leaderEpoch);
    let offset = appended.firstOffset;
    for (const b of batches) {
      const last = offset + b.lastOffsetDelta;
      if (b.producerId >= 0) p.producers.recordAppend(b, offset, last);
      offset = last + 1;
    }
    this.maybeAdvanceHighWatermark(p, now);
    this.purgatory.wakeKey(p.key);
    return {
      errorCode: ErrorCode.NONE,
      baseOffset: appended.firstOffset,
      lastOffset: appended.lastOffset,
      hosted: p,
      logAppendTimeMs: logAppendTime ? maxTimestampOf(records) : -1,
      logStartOffset: p.log.logStartOffset,
    };
  }

  /**
   * Reads for a consumer (up to the high watermark) or, with `toLogEnd`, for a follower.
   * Returns the error code and the records found (possibly none).
   */
  read(
    p: HostedPartition,
    fetchOffset: number,
    maxBytes: number,
    minOneBatch: boolean,
    toLogEnd: boolean,
  ): { errorCode: number; records: Buffer[]; bytes: number } {
    const limit = toLogEnd ? p.log.logEndOffset : p.log.highWatermark;
    // Every read counts, a parked fetch's re-read too, as Kafka's readFromLocalLog counts them.
    this.stats.all.totalFetchRequests++;
    p.topicStats.totalFetchRequests++;
    try {
      if (fetchOffset >= limit && fetchOffset <= p.log.logEndOffset) return { errorCode: 0, records: [], bytes: 0 };
      const r = p.log.read(fetchOffset, maxBytes, limit, minOneBatch);
      return { errorCode: ErrorCode.NONE, records: r.records, bytes: r.bytes };
    } catch (err) {
      if (err instanceof OffsetOutOfRangeError) return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, records: [], bytes: 0 };
      this.stats.all.failedFetchRequests++;
      p.topicStats.failedFetchRequests++;
      throw err;
    }
  }

  close(): void {
    this.closed = true;
    this.fetchers?.close();
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    this.producePurgatory.completeAll();
    this.deleteRecordsPurgatory.completeAll();
    this.purgatory.wakeAll();
    for (const p of this.partitions.values()) {
      try {
        p.producers.takeSnapshot(p.log.logEndOffset);
      } catch {
        // a missing snapshot only costs a rebuild from the log at the next start
      }
    }
  }
}
