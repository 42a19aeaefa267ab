// AlterPartitionReassignments (key 45): as a ZooKeeper-mode Kafka 3.9 broker does
// (KafkaApis.handleAlterPartitionReassignmentsRequest -> the local KafkaController), the active
// controller starts or cancels the moves (controller/reassigner.ts) and answers per partition once
// they are started, not finished; any other broker answers NOT_CONTROLLER for the whole request,
// and admin clients refresh their metadata and retry at the controller.

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { ReassignmentRequest } from '../../controller/reassigner.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';

export const NOT_CONTROLLER_MESSAGE = 'This is not the correct controller for this cluster.';

export function alterPartitionReassignmentsHandler(b: Broker): Handler {
  return async (req: Msg) => {
    const requests: ReassignmentRequest[] = (req.topics as Msg[]).flatMap((t) =>
      (t.partitions as Msg[]).map((p) => ({
        topic: t.name as string,
        partition: p.partitionIndex as number,
        replicas: p.replicas as number[] | null,
      })),
    );
    const results = b.controller?.isActive ? await b.controller.alterPartitionReassignments(requests) : null;
    if (results === null) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.NOT_CONTROLLER, errorMessage: NOT_CONTROLLER_MESSAGE, responses: [] };
    }
    const byTopic = new Map<string, Msg[]>();
    for (const r of results) {
      const list = byTopic.get(r.topic) ?? [];
      list.push({ partitionIndex: r.partition, errorCode: r.errorCode, errorMessage: r.errorMessage });
      byTopic.set(r.topic, list);
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      responses: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    };
  };
}
