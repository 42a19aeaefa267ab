// DeleteRecords (key 21): moves a partition's log start offset forward (whole segments below it
// are deleted). -1 means "up to the high watermark"; past it is OFFSET_OUT_OF_RANGE. With
// followers the answer waits (up to timeoutMs, then REQUEST_TIMED_OUT) until every live replica
// has moved its log start too, and carries that low watermark, as Kafka's DelayedDeleteRecords.

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { ParkedPartition } from '../../replication/producePurgatory.js';
import type { Broker } from '../broker.js';
import type { HostedPartition } from '../replicaManager.js';
import type { Handler } from '../requests.js';

export function deleteRecordsHandler(b: Broker): Handler {
  return (req: Msg) => {
    const topics: Msg[] = [];
    const parked: ParkedPartition[] = [];
    const parkedOut: { out: Msg; p: HostedPartition }[] = [];
    for (const t of req.topics as Msg[]) {
      const partitions: Msg[] = [];
      for (const rp of t.partitions as Msg[]) {
        const out: Msg = { partitionIndex: rp.partitionIndex, lowWatermark: -1, errorCode: 0 };
        partitions.push(out);
        const p = b.replicas.get(t.name, rp.partitionIndex);
        if (!p?.isLeader) {
          out.errorCode = b.metadata.notHostedError(t.name, rp.partitionIndex);
          continue;
        }
        const hw = p.log.highWatermark;
        const target = rp.offset === -1 ? hw : (rp.offset as number);
        if (target < 0 || target > hw) {
          out.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
          continue;
        }
        const start = p.log.deleteRecordsBefore(target);
        p.producers.truncateHead?.(start);
        // Alone, the low watermark is our new log start; a follower behind it (or not heard from
        // yet in this leader epoch: -1) makes the answer wait for its next fetches.
        const low = b.replicas.lowWatermark(p);
        out.lowWatermark = low < 0 ? start : low;
        if (low < target) {
          parked.push({ key: p.key, requiredOffset: target, errorCode: undefined });
          parkedOut.push({ out, p });
        }
      }
      topics.push({ name: t.name, partitions });
    }
    if (parked.length === 0) return { throttleTimeMs: 0, topics };
    return b.replicas.deleteRecordsPurgatory.park(parked, req.timeoutMs as number).then((done) => {
      done.forEach((w, i) => {
        const { out, p } = parkedOut[i] as { out: Msg; p: HostedPartition };
        out.errorCode = w.errorCode ?? ErrorCode.REQUEST_TIMED_OUT;
        out.lowWatermark = out.errorCode === ErrorCode.NONE ? b.replicas.lowWatermark(p) : -1;
      });
      return { throttleTimeMs: 0, topics };
    });
  };
}
