// ListPartitionReassignments (key 46): the active controller lists the partitions being moved
// (all, or those asked that are moving); other brokers answer NOT_CONTROLLER, as Kafka 3.9 does
// in ZooKeeper mode.

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { TopicPartition } from '../../controller/decisions.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';
import { NOT_CONTROLLER_MESSAGE } from './alterPartitionReassignments.js';

export function listPartitionReassignmentsHandler(b: Broker): Handler {
  return async (req: Msg) => {
    const asked = req.topics as Msg[] | null;
    const partitions: TopicPartition[] | null = asked
      ? asked.flatMap((t) => (t.partitionIndexes as number[]).map((partition) => ({ topic: t.name as string, partition })))
      : null;
    const ongoing = b.controller?.isActive ? await b.controller.listPartitionReassignments(partitions) : null;
    if (ongoing === null)
      return { throttleTimeMs: 0, errorCode: ErrorCode.NOT_CONTROLLER, errorMessage: NOT_CONTROLLER_MESSAGE, topics: [] };
    const byTopic = new Map<string, Msg[]>();
    for (const o of ongoing) {
      const list = byTopic.get(o.topic) ?? [];
      list.push({
        partitionIndex: o.partition,
        replicas: o.replicas,
        addingReplicas: o.addingReplicas,
        removingReplicas: o.removingReplicas,
      });
      byTopic.set(o.topic, list);
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      topics: [...byTopic].map(([name, list]) => ({ name, partitions: list })),
    };
  };
}
