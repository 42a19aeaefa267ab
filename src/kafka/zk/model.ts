// The values KafkaZk's operations take and answer, the Kafka-level refusals they raise, and the
// replica-assignment check shared by topic creation and partition addition.

import type { BrokerInfo, TopicAssignment } from './layout.js';

/** Kafka error codes these operations answer with. */
export const KafkaErrorCode = {
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICA_ASSIGNMENT: 39,
} as const;

/** A Kafka-level refusal (topic exists, unknown topic, bad assignment), with the code to answer. */
export class KafkaZkError extends Error {
  override name = 'KafkaZkError';
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** /controller_epoch moved: another controller was elected; the caller must resign. */
export class ControllerMovedError extends Error {
  override name = 'ControllerMovedError';
}

export interface RegisteredBroker {
  info: BrokerInfo & { timestampMs: number };
  /** czxid of the registration znode (KIP-380 broker epoch). */
  epoch: number;
}

export interface TopicAssignmentWithVersion extends TopicAssignment {
  zkVersion: number;
}

export interface ControllerLease {
  epoch: number;
  /** zkVersion of /controller_epoch: the fencing token of every controller write. */
  epochZkVersion: number;
}

export interface ConfigChangeNotice {
  sequence: number;
  entityType: string;
  entityName: string;
}

export type PartitionStateCreateResult = { topic: string; partition: number } & (
  | { ok: true; zkVersion: number }
  | { ok: false; code: number }
);

export const byNumber = (a: number, b: number): number => a - b;

/** Partition ids must continue from `firstId` without gaps; replica lists non-empty, same size, distinct. */
export function validateAssignment(topic: string, a: ReadonlyMap<number, readonly number[]>, firstId: number): void {
  const ids = [...a.keys()].sort(byNumber);
  if (ids.length === 0) throw new KafkaZkError(KafkaErrorCode.INVALID_PARTITIONS, `Topic '${topic}': no partitions given.`);
  ids.forEach((p, i) => {
    if (p !== firstId + i) {
      throw new KafkaZkError(
        KafkaErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Topic '${topic}': partitions must be consecutive from ${firstId}.`,
      );
    }
  });
  const rf = a.get(ids[0]!)!.length;
  for (const [p, r] of a) {
    if (r.length === 0 || r.length !== rf || new Set(r).size !== r.length) {
      throw new KafkaZkError(
        KafkaErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Topic '${topic}' partition ${p}: bad replica list [${r.join(',')}].`,
      );
    }
  }
}
