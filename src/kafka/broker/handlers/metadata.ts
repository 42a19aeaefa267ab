// Metadata (key 3): brokers, controller, cluster id and topics from the metadata cache. A topic
// that does not exist is created when the request allows it (v4+ flag; always for v0-3) and the
// broker's auto.create.topics.enable is on; until its leaders are known it answers
// LEADER_NOT_AVAILABLE, which tells clients to ask again (Apache Kafka's behaviour).

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import { INTERNAL_TOPICS, type TopicMeta } from '../metadataCache.js';
import type { Handler } from '../requests.js';

export function metadataHandler(b: Broker): Handler {
  return async (req: Msg, ctx) => {
    const v = ctx.version;
    const requested = req.topics as Msg[] | null;
    // v0 used an empty list to mean "all topics"; v1+ use null.
    const all = requested === null || (v === 0 && requested.length === 0);
    const topics: Msg[] = [];
    if (all) {
      for (const t of b.metadata.topics.values()) topics.push(topicEntry(b, t));
    } else {
      const autoCreate = (v < 4 || req.allowAutoTopicCreation === true) && b.config.autoCreateTopicsEnable;
      for (const rt of requested) {
        const name: string | null = rt.name ?? (rt.topicId ? (b.metadata.topicById(rt.topicId)?.name ?? null) : null);
        const t = name === null ? undefined : b.metadata.topics.get(name);
        if (t) {
          topics.push(topicEntry(b, t));
          continue;
        }
        let errorCode: number = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        if (name !== null && autoCreate) {
          errorCode = await b.autoCreateTopic(name);
        }
        topics.push({
          errorCode,
          name,
          topicId: rt.topicId ?? undefined,
          isInternal: false,
          partitions: [],
          topicAuthorizedOperations: -2147483648,
        });
      }
    }
    return {
      throttleTimeMs: 0,
      brokers: [...b.metadata.brokers.values()].map((x) => ({ nodeId: x.id, host: x.host, port: x.port, rack: x.rack })),
      clusterId: b.metadata.clusterId,
      controllerId: b.metadata.controllerId,
      topics,
      clusterAuthorizedOperations: -2147483648,
    };
  };
}

function topicEntry(b: Broker, t: TopicMeta): Msg {
  const partitions: Msg[] = [];
  for (const p of [...t.partitions.values()].sort((x, y) => x.partition - y.partition)) {
    const offline = p.replicas.filter((r) => !b.metadata.brokers.has(r));
    const leaderAvailable = p.leader >= 0 && b.metadata.brokers.has(p.leader);
    partitions.push({
      errorCode: leaderAvailable ? ErrorCode.NONE : ErrorCode.LEADER_NOT_AVAILABLE,
      partitionIndex: p.partition,
      // As Apache's metadata cache: no leader id when the leader is not a live broker (clients
      // such as @platformatic/kafka look the id up in the broker list without checking).
      leaderId: leaderAvailable ? p.leader : -1,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: p.replicas,
      isrNodes: p.isr,
      offlineReplicas: offline,
    });
  }
  return {
    errorCode: ErrorCode.NONE,
    name: t.name,
    topicId: t.topicId,
    isInternal: INTERNAL_TOPICS.has(t.name),
    partitions,
    topicAuthorizedOperations: -2147483648,
  };
}
