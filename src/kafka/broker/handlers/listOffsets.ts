// ListOffsets (key 2): earliest (-2), latest (-1: the high watermark, or the last stable
// offset under read_committed), max timestamp (-3, v7) or the first offset whose batch has a
// timestamp at or after the one asked. v0 answers with an array of offsets instead.

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';

const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;

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
          out.errorCode = b.metadata.topics.has(t.name) ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          continue;
        }
        if (!p.isLeader && (req.replicaId as number) < 0) {
          out.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
          continue;
        }
        const cle = ctx.version >= 4 ? (rp.currentLeaderEpoch as number) : -1;
        if (cle >= 0 && cle !== p.state.leaderEpoch) {
          out.errorCode = cle < p.state.leaderEpoch ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH;
          continue;
        }
        const ts = rp.timestamp as number;
        const upTo = req.isolationLevel === 1 ? p.lastStableOffset : p.log.highWatermark;
        let offset = -1;
        let timestamp = -1;
        if (ts === LATEST) offset = upTo;
        else if (ts === EARLIEST) offset = p.log.logStartOffset;
        else if (ts === MAX_TIMESTAMP) {
          const m = p.log.maxTimestampAndOffset();
          offset = m.offset;
          timestamp = m.timestamp;
        } else {
          const found = p.log.offsetForTimestamp(ts);
          if (found && found.offset < upTo) {
            offset = Math.max(found.offset, p.log.logStartOffset);
            timestamp = found.timestamp;
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
