// ListOffsets (key 2): earliest (-2), latest (-1: the high watermark, or the last stable
// offset under read_committed), max timestamp (-3, v7) or the first offset whose batch has a
// timestamp at or after the one asked. v0 answers with an array of offsets instead.
// A follower (replicaId >= 0) asks the leader and gets its log end as "latest"; only the debugging
// replica id (-2) may ask a replica that is not the leader (Kafka's fetchOnlyFromLeader).

import { ErrorCode } from '../../protocol/errors.js';
import { decodeBatches } from '../../protocol/records.js';
import type { Msg } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';

const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;
/** v8 (KIP-405): the first offset in local storage; without tiered storage, the log start. */
const EARLIEST_LOCAL = -4;
/** v9 (KIP-1005): the last offset in tiered storage; without it Kafka answers offset -1. */
const LATEST_TIERED = -5;
const CONSUMER_REPLICA_ID = -1;
const DEBUGGING_REPLICA_ID = -2;

/** The first record at or past `from` with a timestamp >= ts, read from the batch holding `from`. */
function firstRecordAtOrAfter(
  log: { read(start: number, maxBytes: number, maxOffset: number, minOneBatch: boolean): { records: Buffer[] } },
  from: number,
  ts: number,
): { offset: number; timestamp: number } | undefined {
  try {
    const { records } = log.read(from, 1, Number.MAX_SAFE_INTEGER, true);
    for (const batch of decodeBatches(Buffer.concat(records), { verifyCrc: false, allowPartialTail: true })) {
      // Under LogAppendTime every record carries the batch's timestamp, whatever its own field says.
      if (batch.timestampType === 'LogAppendTime') {
        if (batch.maxTimestamp >= ts) return { offset: Math.max(batch.baseOffset, from), timestamp: batch.maxTimestamp };
        continue;
      }
      for (const r of batch.records) if (r.offset >= from && r.timestamp >= ts) return { offset: r.offset, timestamp: r.timestamp };
    }
  } catch {
    // A batch that cannot be decoded here (e.g. a legacy message set): fall back to the batch answer.
  }
  return undefined;
}

export function listOffsetsHandler(b: Broker): Handler {
  return (req: Msg, ctx) => {
    const topics: Msg[] = [];
    for (const t of req.topics as Msg[]) {
      const partitions: Msg[] = [];
      for (const rp of t.partitions as Msg[]) {
        const out: Msg = {
          partitionIndex: rp.partitionIndex,
          errorCode: 0,
          oldStyleOffsets: [],
          timestamp: -1,
          offset: -1,
          leaderEpoch: -1,
        };
        partitions.push(out);
        const p = b.replicas.get(t.name, rp.partitionIndex);
        if (!p) {
          out.errorCode = b.metadata.notHostedError(t.name, rp.partitionIndex);
          continue;
        }
        const replicaId = req.replicaId as number;
        if (!p.isLeader && replicaId !== DEBUGGING_REPLICA_ID) {
          out.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
          continue;
        }
        const cle = ctx.version >= 4 ? (rp.currentLeaderEpoch as number) : -1;
        if (cle >= 0 && cle !== p.state.leaderEpoch) {
          out.errorCode = cle < p.state.leaderEpoch ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH;
          continue;
        }
        const ts = rp.timestamp as number;
        // Replicas read to the log end; consumers to the HW (or the last stable offset).
        const upTo =
          replicaId !== CONSUMER_REPLICA_ID ? p.log.logEndOffset : req.isolationLevel === 1 ? p.lastStableOffset : p.log.highWatermark;
        let offset = -1;
        let timestamp = -1;
        if (ts === LATEST) offset = upTo;
        else if (ts === EARLIEST || (ts === EARLIEST_LOCAL && ctx.version >= 8)) offset = p.log.logStartOffset;
        else if (ts === LATEST_TIERED && ctx.version >= 9) offset = -1;
        else if (ts === MAX_TIMESTAMP) {
          const m = p.log.maxTimestampAndOffset();
          offset = m.offset;
          timestamp = m.timestamp;
        } else {
          const found = p.log.offsetForTimestamp(ts);
          if (found && found.offset < upTo) {
            // The index finds the batch; Kafka answers with the first record in it at or after ts
            // (its own offset and timestamp), not the batch's base offset and max timestamp.
            const exact = firstRecordAtOrAfter(p.log, found.offset, ts);
            offset = exact?.offset ?? Math.max(found.offset, p.log.logStartOffset);
            timestamp = exact?.timestamp ?? found.timestamp;
            if (offset >= upTo) offset = timestamp = -1;
          }
        }
        out.offset = offset;
        out.timestamp = timestamp;
        out.leaderEpoch = offset >= 0 ? (p.log.epochs.epochForOffset?.(offset) ?? p.state.leaderEpoch) : -1;
        if (ctx.version === 0) {
          out.oldStyleOffsets =
            ts === LATEST ? [upTo, p.log.logStartOffset].slice(0, Math.max(1, rp.maxNumOffsets)) : offset >= 0 ? [offset] : [];
        }
      }
      topics.push({ name: t.name, partitions });
    }
    return { throttleTimeMs: 0, topics };
  };
}
