// The partitions this broker hosts: their logs, leadership, producer state and high watermark,
// and the produce and fetch paths over them (Kafka's ReplicaManager + Partition). Leadership
// arrives from the controller; replication across brokers is the cluster issue's, so today the
// ISR is the leader alone and the high watermark follows the log end as soon as the append is
// in the page cache (acks=all is then satisfied by the only in-sync replica).

import {
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  BATCH,
  BATCH_HEADER_BYTES,
  baseOffsetOf,
  batchSize,
  lastOffsetOf,
  maxTimestampOf,
  readInt64,
  recordsCountOf,
} from '../protocol/batchHeader.js';
import { ErrorCode } from '../protocol/errors.js';
import { RecordError, type BatchInfo, convertLegacyToV2, isLegacy, validateRecordSet } from '../protocol/records.js';
import type { LogConfig } from '../storage/logConfig.js';
import type { LogManager } from '../storage/logManager.js';
import { OffsetOutOfRangeError, type PartitionLog } from '../storage/partitionLog.js';
import { ProducerStateManager } from '../storage/producerState.js';
import { FetchPurgatory } from './fetchPurgatory.js';

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
  ) {}

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
    for (const chunk of r.records) {
      for (let p = 0; p + BATCH_HEADER_BYTES <= chunk.length; p += batchSize(chunk, p)) {
        const last = lastOffsetOf(chunk, p);
        if (last >= offset) {
          const attributes = chunk.readInt16BE(p + BATCH.attributes);
          const producerId = readInt64(chunk, p + BATCH.producerId);
          if (producerId >= 0 && (attributes & ATTR_CONTROL) === 0) {
            producers.recordAppend(
              {
                producerId,
                producerEpoch: chunk.readInt16BE(p + BATCH.producerEpoch),
                baseSequence: chunk.readInt32BE(p + BATCH.baseSequence),
                lastOffsetDelta: chunk.readInt32BE(p + BATCH.lastOffsetDelta),
                recordsCount: recordsCountOf(chunk, p),
                maxTimestamp: maxTimestampOf(chunk, p),
                transactional: (attributes & ATTR_TRANSACTIONAL) !== 0,
              },
              baseOffsetOf(chunk, p),
              last,
            );
          }
        }
        offset = Math.max(offset, last + 1);
      }
    }
  }
}

export class ReplicaManager {
  readonly partitions = new Map<string, HostedPartition>();
  readonly purgatory = new FetchPurgatory();

  constructor(
    readonly brokerId: number,
    readonly logs: LogManager,
    private readonly now: () => number,
    private readonly producerIdExpirationMs: number,
  ) {}

  get(topic: string, partition: number): HostedPartition | undefined {
    return this.partitions.get(FetchPurgatory.key(topic, partition));
  }

  /** Applies a leader/ISR decision for a partition this broker is a replica of. */
  applyLeaderAndIsr(topic: string, topicId: string, partition: number, state: LeaderState, config: LogConfig): HostedPartition {
    const key = FetchPurgatory.key(topic, partition);
    let p = this.partitions.get(key);
    if (!p) {
      const log = this.logs.getOrCreateLog(topic, partition, topicId, config);
      const producers = new ProducerStateManager({
        dir: log.dir,
        producerIdExpirationMs: this.producerIdExpirationMs,
      });
      rebuildProducerState(log, producers);
      p = new HostedPartition(topic, partition, topicId, log, producers, state, this.brokerId);
      this.partitions.set(key, p);
    } else {
      p.state = state;
      p.topicId = topicId;
      p.log.updateConfig(config);
    }
    if (state.leader === this.brokerId) {
      // A new leader term starts at our log end (leader epoch cache, KIP-101).
      const latest = p.log.epochs.latestEpoch;
      if (latest === undefined || latest < state.leaderEpoch) p.log.epochs.assign(state.leaderEpoch, p.log.logEndOffset);
      this.maybeAdvanceHighWatermark(p);
    }
    this.purgatory.appended(topic, partition);
    return p;
  }

  /** Stops hosting a partition; deletes its files when the topic is being deleted. */
  stopReplica(topic: string, partition: number, deletePartition: boolean): void {
    const key = FetchPurgatory.key(topic, partition);
    const p = this.partitions.get(key);
    this.partitions.delete(key);
    if (deletePartition) this.logs.deleteLog(topic, partition);
    else p?.log.flush();
    this.purgatory.appended(topic, partition);
  }

  updateConfig(topic: string, config: LogConfig): void {
    for (const p of this.partitions.values()) if (p.topic === topic) p.log.updateConfig(config);
  }

  /** High watermark: the lowest log end among the ISR. With the leader alone, its own log end. */
  private maybeAdvanceHighWatermark(p: HostedPartition): void {
    if (p.state.isr.length <= 1 && p.log.highWatermark < p.log.logEndOffset) p.log.highWatermark = p.log.logEndOffset;
  }

  appendToLeader(topic: string, partition: number, recordsIn: Buffer | null, opts: ProduceOptions): ProduceResult {
    const p = this.get(topic, partition);
    if (!p) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ...NO_OFFSET };
    if (!p.isLeader) return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, ...NO_OFFSET };
    const cfg = p.log.config;
    if (opts.acks === -1 && p.state.isr.length < cfg.minInsyncReplicas) {
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
    this.maybeAdvanceHighWatermark(p);
    this.purgatory.appended(topic, partition);
    return {
      errorCode: ErrorCode.NONE,
      baseOffset: appended.firstOffset,
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
    try {
      if (fetchOffset >= limit && fetchOffset <= p.log.logEndOffset) return { errorCode: 0, records: [], bytes: 0 };
      const r = p.log.read(fetchOffset, maxBytes, limit, minOneBatch);
      return { errorCode: ErrorCode.NONE, records: r.records, bytes: r.bytes };
    } catch (err) {
      if (err instanceof OffsetOutOfRangeError) return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, records: [], bytes: 0 };
      throw err;
    }
  }

  close(): void {
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
