// ElectLeaders (key 43): preferred (type 0) or unclean (type 1) election, run by the controller.
// As a ZooKeeper-mode Kafka 3.9 broker does (KafkaApis.handleElectLeaders -> the local
// KafkaController), a broker that is not the active controller answers NOT_CONTROLLER for every
// partition; admin clients send this request to the controller. A null topic list means every
// partition the metadata cache knows.

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { TopicPartition } from '../../controller/decisions.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';

const MESSAGES: Partial<Record<number, string>> = {
  [ErrorCode.ELECTION_NOT_NEEDED]: 'Leader election not needed for topic partition.',
  [ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE]: 'The preferred leader was not available.',
  [ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE]: 'Eligible topic partition leaders are not available.',
  [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]: 'The partition does not exist.',
  [ErrorCode.NOT_CONTROLLER]: 'This is not the correct controller for this cluster.',
  [ErrorCode.INVALID_UPDATE_VERSION]: 'The partition state changed during the election; try again.',
};

export function electLeadersHandler(b: Broker): Handler {
  return async (req: Msg) => {
    const asked = req.topicPartitions as { topic: string; partitions: number[] }[] | null;
    const requested: TopicPartition[] | null = asked
      ? asked.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })))
      : null;
    const outcomes = b.controller?.isActive ? await b.controller.electLeaders(req.electionType ?? 0, requested) : null;
    const results: { topic: string; partition: number; errorCode: number }[] =
      outcomes ??
      (
        requested ??
        [...b.metadata.topics.values()].flatMap((t) => [...t.partitions.keys()].map((partition) => ({ topic: t.name, partition })))
      ).map((tp) => ({ ...tp, errorCode: ErrorCode.NOT_CONTROLLER }));
    const byTopic = new Map<string, Msg[]>();
    for (const r of results) {
      const entry = {
        partitionId: r.partition,
        errorCode: r.errorCode,
        errorMessage: r.errorCode === 0 ? null : (MESSAGES[r.errorCode] ?? null),
      };
      const list = byTopic.get(r.topic);
      if (list) list.push(entry);
      else byTopic.set(r.topic, [entry]);
    }
    const replicaElectionResults = [...byTopic].map(([topic, partitionResult]) => ({ topic, partitionResult }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, replicaElectionResults };
  };
}
