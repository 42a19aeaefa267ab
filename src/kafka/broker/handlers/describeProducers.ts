// DescribeProducers (key 61): the idempotent producers a partition leader knows (kafka-transactions
// describe-producers).

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';

export function describeProducersHandler(b: Broker): Handler {
  return (req: Msg) => ({
    throttleTimeMs: 0,
    topics: (req.topics as Msg[]).map((t) => ({
      name: t.name,
      partitions: (t.partitionIndexes as number[]).map((partitionIndex) => {
        const p = b.replicas.get(t.name, partitionIndex);
        if (!p?.isLeader) {
          return {
            partitionIndex,
            errorCode: p ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            errorMessage: null,
            activeProducers: [],
          };
        }
        return {
          partitionIndex,
          errorCode: 0,
          errorMessage: null,
          activeProducers: [...p.producers.activeProducers()].map((s) => ({
            producerId: s.producerId,
            producerEpoch: s.producerEpoch,
            lastSequence: s.batches.at(-1)?.lastSeq ?? -1,
            lastTimestamp: s.lastTimestamp,
            coordinatorEpoch: s.coordinatorEpoch,
            currentTxnStartOffset: s.currentTxnFirstOffset,
          })),
        };
      }),
    })),
  });
}
