// Fetch (key 1): consumers read up to the high watermark (the last stable offset under
// read_committed, equal to it while there are no transactions), followers up to the log end.
// A follower's fetch offset is its log end: the leader records it (HW, ISR expansion) and, when
// the follower names its last fetched epoch, answers a divergence instead of records (KIP-595's
// truncate-on-fetch, as Kafka 3.9 leaders do). Consumers are served by leaders only (no
// rack-aware follower fetching, KIP-392).
// A fetch that finds fewer than min_bytes parks until an append or max_wait_ms. Whole batches
// are returned straight from the segment files; the first one even past max_bytes (KIP-74).
// Fetch sessions (KIP-227) are not kept: every response says session 0, which clients treat as
// "send full fetches", as they do against a broker with no session slots.

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import { releaseReadBuffer } from '../../storage/readBuffers.js';
import type { HostedPartition } from '../replicaManager.js';
import type { Handler } from '../requests.js';

/** Caps what one Fetch may return, whatever the client asks (fetch.max.bytes default). */
export const fetchResponseBytesMax = 55 * 1024 * 1024;
/** Caps how long a fetch may park, whatever the client asks. */
export const fetchMaxWaitMsMax = 30_000;
/** An empty record set, shared: it is only ever written, never changed. */
const NO_RECORDS = Buffer.alloc(0);

export function fetchHandler(b: Broker): Handler {
  return async (req: Msg, ctx) => {
    const replicaId =
      ctx.version >= 15 ? (((req.replicaState as Msg | undefined)?.replicaId as number | undefined) ?? -1) : (req.replicaId as number);
    const maxWaitMs = Math.min(Math.max(0, req.maxWaitMs as number), fetchMaxWaitMsMax);
    const minBytes = Math.max(0, req.minBytes as number);
    const maxBytes = ctx.version >= 3 ? Math.min(req.maxBytes as number, fetchResponseBytesMax) : fetchResponseBytesMax;
    const readCommitted = ctx.version >= 4 && req.isolationLevel === 1;
    const deadline = Date.now() + maxWaitMs;
    for (;;) {
      const { responses, bytes, errors, keys } = readAll(b, req, ctx.version, replicaId, maxBytes, readCommitted);
      const remaining = deadline - Date.now();
      if (bytes >= minBytes || errors || remaining <= 0 || b.closing) {
        return { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses };
      }
      // Too little to answer yet: what was read is dropped, so its pooled buffers can go back now.
      releaseRecords(responses);
      // A full purgatory answers now: looping on a refused park would spin without yielding.
      if (!(await b.replicas.purgatory.park(keys, remaining))) {
        return {
          throttleTimeMs: 0,
          errorCode: 0,
          sessionId: 0,
          responses: readAll(b, req, ctx.version, replicaId, maxBytes, readCommitted).responses,
        };
      }
    }
  };
}

/**
 * Where a follower's log diverges from ours, given its last fetched epoch (Kafka's
 * Partition.readRecords): undefined when it does not, the (epoch, end offset) it must truncate to
 * when it does, or OFFSET_OUT_OF_RANGE when its epoch cannot be placed or it is below our log start.
 */
function divergence(
  p: HostedPartition,
  fetchOffset: number,
  lastFetchedEpoch: number,
): { epoch: number; endOffset: number } | number | undefined {
  const e = p.log.epochs.endOffsetFor(lastFetchedEpoch, p.log.logEndOffset);
  if (e.epoch < 0 || e.endOffset < 0 || fetchOffset < p.log.logStartOffset) return ErrorCode.OFFSET_OUT_OF_RANGE;
  if (e.epoch < lastFetchedEpoch || e.endOffset < fetchOffset) return { epoch: e.epoch, endOffset: e.endOffset };
  return undefined;
}

function releaseRecords(responses: Msg[]): void {
  for (const t of responses) {
    for (const p of t.partitions as Msg[]) {
      if (Array.isArray(p.records)) for (const c of p.records as Buffer[]) releaseReadBuffer(c);
    }
  }
}

function readAll(
  b: Broker,
  req: Msg,
  version: number,
  replicaId: number,
  maxBytes: number,
  readCommitted: boolean,
): { responses: Msg[]; bytes: number; errors: boolean; keys: string[] } {
  let bytes = 0;
  let errors = false;
  const keys: string[] = [];
  const responses: Msg[] = [];
  const isFollower = replicaId >= 0;
  for (const t of req.topics as Msg[]) {
    const topicName: string = version >= 13 ? (b.metadata.topicById(t.topicId)?.name ?? '') : t.topic;
    const partitions: Msg[] = [];
    for (const fp of t.partitions as Msg[]) {
      const out: Msg = {
        partitionIndex: fp.partition,
        errorCode: 0,
        highWatermark: -1,
        lastStableOffset: -1,
        logStartOffset: -1,
        abortedTransactions: readCommitted ? [] : null,
        preferredReadReplica: -1,
        records: null,
      };
      partitions.push(out);
      const p = b.replicas.get(topicName, fp.partition);
      if (!p) {
        out.errorCode = b.metadata.notHostedError(
          topicName,
          fp.partition,
          version >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        );
        // Kafka answers a partition it has no metadata for with an empty record set and abort list.
        out.abortedTransactions = [];
        out.records = NO_RECORDS;
        errors = true;
        continue;
      }
      if (!p.isLeader) {
        out.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
        errors = true;
        continue;
      }
      const cle = version >= 9 ? (fp.currentLeaderEpoch as number) : -1;
      if (cle >= 0 && cle !== p.state.leaderEpoch) {
        out.errorCode = cle < p.state.leaderEpoch ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH;
        errors = true;
        continue;
      }
      const lastFetchedEpoch = version >= 12 ? (fp.lastFetchedEpoch as number) : -1;
      if (lastFetchedEpoch >= 0) {
        const diverged = divergence(p, fp.fetchOffset as number, lastFetchedEpoch);
        if (diverged !== undefined) {
          if (typeof diverged === 'number') out.errorCode = diverged;
          else {
            out.divergingEpoch = diverged;
            out.highWatermark = p.log.highWatermark;
            out.lastStableOffset = p.lastStableOffset;
            out.logStartOffset = p.log.logStartOffset;
            out.records = NO_RECORDS;
          }
          // Nothing to wait for: the follower must truncate (or reset) first.
          errors = true;
          continue;
        }
      }
      const leaderEndOffset = p.log.logEndOffset;
      if (isFollower && !p.leaderCore?.remotes.has(replicaId)) {
        out.errorCode = cle >= 0 ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.NOT_LEADER_OR_FOLLOWER;
        errors = true;
        continue;
      }
      keys.push(p.key);
      const budget = Math.min(fp.partitionMaxBytes as number, Math.max(0, maxBytes - bytes));
      const r = b.replicas.read(p, fp.fetchOffset, budget, bytes === 0, isFollower);
      // The follower's fetch offset is its log end: record it (may move the HW and grow the ISR).
      if (isFollower && r.errorCode === 0) {
        b.replicas.updateFollowerFetchState(p, replicaId, fp.fetchOffset as number, fp.logStartOffset as number, leaderEndOffset, cle >= 0);
      }
      out.errorCode = r.errorCode;
      // Kafka answers an out-of-range fetch with unknown (-1) offsets, as it does every partition error.
      if (r.errorCode === 0) {
        out.highWatermark = p.log.highWatermark;
        out.lastStableOffset = p.lastStableOffset;
        out.logStartOffset = p.log.logStartOffset;
      } else errors = true;
      out.records = r.records.length === 0 ? NO_RECORDS : r.records;
      bytes += r.bytes;
    }
    responses.push({ topic: topicName, topicId: t.topicId, partitions });
  }
  return { responses, bytes, errors, keys };
}
