// The group coordinator's storage: the compacted `__consumer_offsets` topic. Commits and group
// metadata are appended as record batches in Kafka's own key/value formats (coordinator/
// offsetsRecords.ts), and replayed into the coordinator when this broker becomes the leader of
// a partition, so groups and offsets survive restarts.

import type { OffsetsStore } from '../coordinator/groupCoordinator.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { buildBatch, decodeBatches } from '../protocol/records.js';
import type { LogConfig } from '../storage/logConfig.js';
import type { Broker } from './broker.js';

export const OFFSETS_TOPIC = '__consumer_offsets';
/** Bytes read per step while replaying a partition into the coordinator. */
export const offsetsLoadReadBytes = 4 * 1024 * 1024;

export class OffsetsTopic implements OffsetsStore {
  constructor(private readonly b: Broker) {}

  /** The configs __consumer_offsets is created with (Kafka's GroupMetadataManager.offsetsTopicConfigs). */
  topicConfigs(): Record<string, string> {
    return {
      'cleanup.policy': 'compact',
      'compression.type': 'producer',
      'segment.bytes': String(this.b.config.offsetsTopicSegmentBytes),
    };
  }

  baseLogConfig(): LogConfig {
    return {
      ...this.b.config.logDefaults,
      cleanupPolicy: ['compact'],
      segmentBytes: this.b.config.offsetsTopicSegmentBytes,
    };
  }

  /**
   * Appends and resolves once every in-sync replica has the records (the high watermark passed
   * them), as Kafka's group coordinator commits with acks=all: a commit answered before its
   * replication could vanish in a failover.
   */
  async append(partition: number, records: { key: Buffer; value: Buffer | null }[]): Promise<void> {
    const batch = buildBatch({ records: records.map((r) => ({ key: r.key, value: r.value })) });
    const r = this.b.replicas.appendToLeader(OFFSETS_TOPIC, partition, batch, { acks: -1, allowZstd: false });
    if (r.errorCode !== ErrorCode.NONE) {
      throw new KafkaError(r.errorCode, `could not write to ${OFFSETS_TOPIC}-${partition}`);
    }
    if (r.hosted === undefined || r.lastOffset === undefined) return;
    const requiredOffset = r.lastOffset + 1;
    let code = this.b.replicas.produceVerdictNow(r.hosted, requiredOffset);
    if (code === undefined) {
      const [done] = await this.b.replicas.producePurgatory.park(
        [{ key: r.hosted.key, requiredOffset, errorCode: undefined }],
        this.b.config.offsetCommitTimeoutMs,
      );
      code = done?.errorCode ?? ErrorCode.REQUEST_TIMED_OUT;
    }
    if (code !== ErrorCode.NONE) throw new KafkaError(code, `${OFFSETS_TOPIC}-${partition} did not replicate the write`);
  }

  /** Replays the partition's log into the coordinator. */
  becameLeader(partition: number): void {
    const p = this.b.replicas.get(OFFSETS_TOPIC, partition);
    if (!p) return;
    const records: { key: Buffer; value: Buffer | null }[] = [];
    let offset = p.log.logStartOffset;
    const end = p.log.logEndOffset;
    while (offset < end) {
      const r = p.log.read(offset, offsetsLoadReadBytes, end, true);
      if (r.records.length === 0) break;
      for (const chunk of r.records) {
        for (const batch of decodeBatches(chunk)) {
          if (batch.control) continue;
          for (const rec of batch.records) {
            if (rec.offset < offset || rec.key === null) continue;
            records.push({ key: rec.key, value: rec.value });
          }
          offset = Math.max(offset, batch.baseOffset + batch.lastOffsetDelta + 1);
        }
      }
    }
    this.b.groups.loadPartition(partition, records);
  }
}
