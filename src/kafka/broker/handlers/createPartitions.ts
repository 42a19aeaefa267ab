// CreatePartitions (key 37): grows a topic to `count` partitions. New replicas are assigned with
// Kafka's algorithm continued from the existing partitions (or taken from the request), written
// to /brokers/topics/<t>; the controller creates their state. Shrinking is INVALID_PARTITIONS.
// Only the active controller does this (Kafka 3.9 ZooKeeper mode): others answer NOT_CONTROLLER.

import { assignReplicas } from '../../controller/assignment.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import { topicPartitionsMax } from '../topicAdmin.js';
import type { Handler } from '../requests.js';

export function createPartitionsHandler(b: Broker): Handler {
  return async (req: Msg) => {
    const results: Msg[] = [];
    if (!b.controller?.isActive) {
      for (const t of req.topics as Msg[]) results.push({ name: t.name, errorCode: ErrorCode.NOT_CONTROLLER, errorMessage: null });
      return { throttleTimeMs: 0, results };
    }
    for (const t of req.topics as Msg[]) {
      results.push({ name: t.name, ...(await grow(b, t, req.validateOnly === true, req.timeoutMs as number)) });
    }
    return { throttleTimeMs: 0, results };
  };
}

async function grow(
  b: Broker,
  t: Msg,
  validateOnly: boolean,
  timeoutMs: number,
): Promise<{ errorCode: number; errorMessage: string | null }> {
  const meta = b.metadata.topics.get(t.name);
  if (!meta) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `The topic '${t.name}' does not exist.` };
  const current = meta.partitions.size;
  const count = t.count as number;
  if (count <= current) {
    return {
      errorCode: ErrorCode.INVALID_PARTITIONS,
      errorMessage:
        count === current
          ? `Topic already has ${current} partitions.`
          : `Topic currently has ${current} partitions, which is higher than the requested ${count}.`,
    };
  }
  if (count > topicPartitionsMax) {
    return {
      errorCode: ErrorCode.INVALID_PARTITIONS,
      errorMessage: `Number of partitions ${count} exceeds the limit of ${topicPartitionsMax}.`,
    };
  }
  const existing = new Map<number, number[]>();
  for (const [p, m] of meta.partitions) existing.set(p, m.replicas);
  const added = new Map<number, number[]>();
  const assignments = t.assignments as Msg[] | null;
  if (assignments) {
    if (assignments.length !== count - current) {
      return {
        errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        errorMessage: `Increasing the number of partitions by ${count - current} but ${assignments.length} assignments provided.`,
      };
    }
    assignments.forEach((a, i) => {
      added.set(current + i, a.brokerIds as number[]);
    });
    for (const ids of added.values()) {
      if (ids.some((id) => !b.metadata.brokers.has(id)))
        return { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: 'Unknown broker id in the assignment' };
    }
  } else {
    const first = existing.get(0) ?? [];
    const brokers = [...b.metadata.brokers.values()].map((x) => ({ id: x.id, rack: x.rack ?? undefined }));
    const sorted = brokers.map((x) => x.id).sort((x, y) => x - y);
    const startIndex = Math.max(
      0,
      sorted.findIndex((id) => id >= (first[0] ?? 0)),
    );
    if (first.length > brokers.length) {
      return {
        errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
        errorMessage: `Replication factor: ${first.length} larger than available brokers: ${brokers.length}.`,
      };
    }
    const more = assignReplicas(brokers, count - current, first.length, { startPartitionId: current, fixedStartIndex: startIndex });
    for (const [p, r] of more) added.set(p, r);
  }
  if (validateOnly) return { errorCode: 0, errorMessage: null };
  await b.zk.addPartitions(t.name, added);
  if (timeoutMs > 0) {
    const ok = await b.metadata.waitUntil(() => b.metadata.hasLeaders(t.name, count), timeoutMs);
    if (!ok) return { errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: 'Timed out waiting for the new partitions' };
  }
  return { errorCode: 0, errorMessage: null };
}
