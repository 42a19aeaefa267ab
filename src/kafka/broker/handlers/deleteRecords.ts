// DeleteRecords (key 21): moves a partition's log start offset forward (whole segments below it
// are deleted). -1 means "up to the high watermark"; past it is OFFSET_OUT_OF_RANGE.

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';

export function deleteRecordsHandler(b: Broker): Handler {
  return (req: Msg) => {
    const topics: Msg[] = [];
    for (const t of req.topics as Msg[]) {
      const partitions: Msg[] = [];
      for (const rp of t.partitions as Msg[]) {
        const out: Msg = { partitionIndex: rp.partitionIndex, lowWatermark: -1, errorCode: 0 };
        partitions.push(out);
        const p = b.replicas.get(t.name, rp.partitionIndex);
        if (!p?.isLeader) {
          // A partition the topic does not have is unknown, as in Kafka; one hosted elsewhere is not led here.
          const known = b.metadata.topics.get(t.name)?.partitions.has(rp.partitionIndex);
          out.errorCode = known ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          continue;
        }
        const hw = p.log.highWatermark;
        const target = rp.offset === -1 ? hw : (rp.offset as number);
        if (target < 0 || target > hw) {
          out.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
          continue;
        }
        out.lowWatermark = p.log.deleteRecordsBefore(target);
        p.producers.truncateHead?.(out.lowWatermark);
      }
      topics.push({ name: t.name, partitions });
    }
    return { throttleTimeMs: 0, topics };
  };
}
