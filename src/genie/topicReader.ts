// Reading partitions of a topic from offsets the caller keeps, with no consumer group: the one
// reader of the Job Service, the CLI's `consume` and the dashboard's pages and tails.
//
// @platformatic/kafka's consume() always joins a group, and a group would split the partitions
// among instances, while every Job Service must see all of them (and a dashboard page or a CLI
// read must not disturb anyone's group). Its Consumer also exposes the raw Fetch (consumer.fetch:
// one request to one broker, records decoded and decompressed), which needs no group: this reader
// sends it per partition leader, from the caller's offsets, so the caller's store (for the Job
// Service, written in one transaction with the folded events) is the only place offsets live.

import type { ClusterPartitionMetadata, Consumer, fetchV17 } from '@platformatic/kafka';
import { IS_CONTROL, ListOffsetTimestamps } from '@platformatic/kafka';

type FetchResponse = fetchV17.FetchResponse;

/** One record as read (value and headers raw; the caller decodes). */
export interface ReadRecord {
  partition: number;
  offset: bigint;
  /** The record's timestamp (ms since the epoch; CreateTime or LogAppendTime as the topic sets). */
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: [Buffer | null, Buffer | null][];
}

export interface ReadResult {
  records: ReadRecord[];
  /** The next offset of each partition that answered (advanced past control batches too). */
  next: Map<number, bigint>;
  /** High watermark of each partition that answered. */
  highWatermarks: Map<number, bigint>;
  /** Partitions whose offset is out of the log's range (retention or a recreated topic). */
  outOfRange: number[];
  /** Something else failed (leader moved, broker down): metadata is refreshed before the next read. */
  failed: boolean;
  /** Why requests failed (for the caller's message once failures outlast its patience). */
  errors: unknown[];
}

/** The topic is not in the cluster's metadata. */
export class TopicMissingError extends Error {}

export interface TopicReaderOptions {
  /** Longest a fetch waits on the broker for new records. */
  maxWaitMs: number;
  /** Bytes a fetch waits for (up to maxWaitMs) before it answers. */
  minBytes: number;
  /** Bytes per partition per fetch. */
  partitionBytesMax: number;
  /** Bytes per fetch response. */
  fetchBytesMax: number;
}

export const topicReaderDefaults: TopicReaderOptions = {
  maxWaitMs: 500,
  // Answer as soon as there is anything: readers (and tests) expect the view to follow the topic closely.
  minBytes: 1,
  partitionBytesMax: 1024 * 1024,
  fetchBytesMax: 8 * 1024 * 1024,
};

const OFFSET_OUT_OF_RANGE = 1;

/** The FetchResponse a failed fetch still carries (partitions without errors keep their records). */
function responseOf(e: unknown, depth = 0): FetchResponse | undefined {
  if (typeof e !== 'object' || e === null || depth > 4) return undefined;
  const r = (e as { response?: unknown }).response;
  if (typeof r === 'object' && r !== null && Array.isArray((r as FetchResponse).responses)) return r as FetchResponse;
  for (const inner of (e as { errors?: unknown[] }).errors ?? []) {
    const found = responseOf(inner, depth + 1);
    if (found) return found;
  }
  return undefined;
}

export class TopicReader {
  private readonly opts: TopicReaderOptions;
  private topicId = '';
  private parts: ClusterPartitionMetadata[] = [];
  private stale = true;

  constructor(
    private readonly consumer: Consumer<Buffer, Buffer, Buffer, Buffer>,
    readonly topic: string,
    opts: Partial<TopicReaderOptions> = {},
  ) {
    this.opts = { ...topicReaderDefaults, ...opts };
  }

  /** Partition count as last seen (after refresh()). */
  get partitionCount(): number {
    return this.parts.length;
  }

  /** Reloads leaders and partition count; throws when the topic does not exist. */
  async refresh(): Promise<number> {
    const md = await this.consumer.metadata({ topics: [this.topic], forceUpdate: true });
    const t = md.topics.get(this.topic);
    if (!t) throw new TopicMissingError(`topic ${this.topic} does not exist`);
    this.topicId = t.id;
    this.parts = t.partitions;
    this.stale = false;
    return t.partitionsCount;
  }

  /** Partition count, from fresh metadata when the last read asked for it. */
  async partitions(): Promise<number> {
    if (this.stale) await this.refresh();
    return this.parts.length;
  }

  /** Asks for fresh metadata before the next read (a partition count may have grown). */
  markStale(): void {
    this.stale = true;
  }

  /** The earliest (-2) or next (-1) offset of each partition. */
  async offsets(which: 'earliest' | 'latest'): Promise<Map<number, bigint>> {
    const timestamp = which === 'earliest' ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST;
    const listed = await this.consumer.listOffsets({ topics: [this.topic], timestamp });
    const offsets = listed.get(this.topic) ?? [];
    return new Map(offsets.map((o, p) => [p, o]));
  }

  /**
   * Fits `positions` to the partitions as last seen: new ones start at their earliest offset,
   * vanished ones are dropped.
   */
  async trackPartitions(positions: Map<number, bigint>): Promise<void> {
    for (const p of positions.keys()) if (p >= this.parts.length) positions.delete(p);
    if (positions.size === this.parts.length) return;
    const earliest = await this.offsets('earliest');
    for (let p = 0; p < this.parts.length; p++) if (!positions.has(p)) positions.set(p, earliest.get(p) ?? 0n);
  }

  /** Moves partitions whose offset fell out of the log (retention, a recreated topic) to their earliest. */
  async resetOutOfRange(positions: Map<number, bigint>, partitions: readonly number[]): Promise<void> {
    if (partitions.length === 0) return;
    const earliest = await this.offsets('earliest');
    for (const p of partitions) positions.set(p, earliest.get(p) ?? 0n);
  }

  /**
   * One fetch per partition leader, in parallel, from `positions`; partitions absent there are not
   * read. `maxWaitMs` overrides the reader's wait for this read (a page read waits less than a tail).
   */
  async read(positions: ReadonlyMap<number, bigint>, maxWaitMs = this.opts.maxWaitMs): Promise<ReadResult> {
    if (this.stale) await this.refresh();
    const result: ReadResult = { records: [], next: new Map(), highWatermarks: new Map(), outOfRange: [], failed: false, errors: [] };
    const byLeader = new Map<number, { partition: number; fetchOffset: bigint; currentLeaderEpoch: number }[]>();
    for (const [partition, fetchOffset] of positions) {
      const meta = this.parts[partition];
      if (!meta || meta.leader < 0) {
        result.failed = true;
        continue;
      }
      const list = byLeader.get(meta.leader) ?? [];
      list.push({ partition, fetchOffset, currentLeaderEpoch: meta.leaderEpoch });
      byLeader.set(meta.leader, list);
    }
    const settled = await Promise.allSettled(
      [...byLeader].map(([node, parts]) =>
        this.consumer.fetch({
          node,
          maxWaitTime: maxWaitMs,
          minBytes: this.opts.minBytes,
          maxBytes: this.opts.fetchBytesMax,
          topics: [
            {
              topicId: this.topicId,
              partitions: parts.map((p) => ({
                partition: p.partition,
                fetchOffset: p.fetchOffset,
                currentLeaderEpoch: p.currentLeaderEpoch,
                lastFetchedEpoch: -1,
                partitionMaxBytes: this.opts.partitionBytesMax,
              })),
            },
          ],
        }),
      ),
    );
    for (const s of settled) {
      if (s.status === 'rejected') {
        result.failed = true;
        result.errors.push(s.reason);
      }
      // A partial failure still carries the partitions that answered.
      const response = s.status === 'fulfilled' ? s.value : responseOf(s.reason);
      if (response) this.collect(response, positions, result);
    }
    if (result.failed) this.stale = true;
    return result;
  }

  private collect(response: FetchResponse, positions: ReadonlyMap<number, bigint>, out: ReadResult): void {
    for (const topic of response.responses) {
      for (const p of topic.partitions) {
        if (p.errorCode === OFFSET_OUT_OF_RANGE) {
          out.outOfRange.push(p.partitionIndex);
          continue;
        }
        if (p.errorCode !== 0) {
          // Leader moved, not ready yet, ...: fresh metadata before the next read.
          out.failed = true;
          continue;
        }
        const from = positions.get(p.partitionIndex);
        if (from === undefined) continue;
        out.highWatermarks.set(p.partitionIndex, p.highWatermark);
        let next = from;
        for (const batch of p.records ?? []) {
          const batchEnd = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
          if (batchEnd > next) next = batchEnd;
          if (batch.attributes & IS_CONTROL) continue;
          for (const r of batch.records) {
            const offset = batch.firstOffset + BigInt(r.offsetDelta);
            // A fetch returns whole batches: records before the asked offset were read already.
            if (offset < from) continue;
            out.records.push({
              partition: p.partitionIndex,
              offset,
              timestamp: batch.firstTimestamp + r.timestampDelta,
              key: r.key,
              value: r.value,
              headers: r.headers,
            });
          }
        }
        out.next.set(p.partitionIndex, next);
      }
    }
  }
}
