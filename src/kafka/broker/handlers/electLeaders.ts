// ElectLeaders (key 43): preferred (type 0) or unclean (type 1) election. With one broker
// holding every replica, the preferred replica already leads: the answer is
// ELECTION_NOT_NEEDED, as Apache Kafka gives for a partition led by its preferred replica.
// The multi-broker election lives in the controller (cluster issue).

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';

export function electLeadersHandler(b: Broker): Handler {
  return (req: Msg) => {
    const asked = req.topicPartitions as Msg[] | null;
    const list: { topic: string; partitions: number[] }[] =
      (asked as { topic: string; partitions: number[] }[] | null) ??
      [...b.metadata.topics.values()].map((t) => ({ topic: t.name, partitions: [...t.partitions.keys()] }));
    const replicaElectionResults = list.map((t) => ({
      topic: t.topic,
      partitionResult: t.partitions.map((p) => {
        const m = b.metadata.topics.get(t.topic)?.partitions.get(p);
        if (!m) return { partitionId: p, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'The partition does not exist.' };
        if (m.leader === m.replicas[0])
          return {
            partitionId: p,
            errorCode: ErrorCode.ELECTION_NOT_NEEDED,
            errorMessage: 'Leader election not needed for topic partition.',
          };
        return {
          partitionId: p,
          errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
          errorMessage: 'The preferred leader was not available.',
        };
      }),
    }));
    return { throttleTimeMs: 0, errorCode: 0, replicaElectionResults };
  };
}
