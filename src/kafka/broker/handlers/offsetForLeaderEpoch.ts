// OffsetForLeaderEpoch (key 23): for each partition, the end offset of the largest leader epoch
// not above the one asked (KIP-101 truncation; consumers use it to detect log truncation after
// a leader change, KIP-320).

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';

export function offsetForLeaderEpochHandler(b: Broker): Handler {
  return (req: Msg, ctx) => {
    const topics: Msg[] = [];
    for (const t of req.topics as Msg[]) {
      const partitions: Msg[] = [];
      for (const rp of t.partitions as Msg[]) {
        const out: Msg = { errorCode: 0, partition: rp.partition, leaderEpoch: -1, endOffset: -1 };
        partitions.push(out);
        const p = b.replicas.get(t.topic, rp.partition);
        if (!p) {
          out.errorCode = b.metadata.topics.has(t.topic) ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          continue;
        }
        if (!p.isLeader) {
          out.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
          continue;
        }
        const cle = ctx.version >= 2 ? (rp.currentLeaderEpoch as number) : -1;
        if (cle >= 0 && cle !== p.state.leaderEpoch) {
          out.errorCode = cle < p.state.leaderEpoch ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH;
          continue;
        }
        const r = p.log.epochs.endOffsetFor(rp.leaderEpoch, p.log.logEndOffset);
        out.leaderEpoch = r.epoch;
        out.endOffset = r.endOffset;
      }
      topics.push({ topic: t.topic, partitions });
    }
    return { throttleTimeMs: 0, topics };
  };
}
