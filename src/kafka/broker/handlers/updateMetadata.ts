// UpdateMetadata (key 6, v8), controller to broker: the live brokers, the controller and partition
// states this broker serves Metadata from. Epoch-fenced like every controller request; then the
// cache is updated as Kafka's ZkMetadataCache does (partitions with leader -2 are dropped, with
// their topic once empty) and CreateTopics/DeleteTopics waiters are woken.

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import type { BrokerEndpoint, UpdateMetadataPartition } from '../metadataCache.js';
import type { Handler } from '../requests.js';
import { controlRequestError } from './controlEpochs.js';

export function updateMetadataHandler(b: Broker): Handler {
  return (req: Msg) => {
    const refused = controlRequestError(b, req.controllerEpoch, req.brokerEpoch);
    if (refused !== ErrorCode.NONE) {
      b.logger.warn({ controller: req.controllerId, controllerEpoch: req.controllerEpoch, errorCode: refused }, 'UpdateMetadata refused');
      return { errorCode: refused };
    }
    if (req.controllerId !== b.metadata.controllerId || req.controllerEpoch !== b.controllerEpochSeen) {
      b.logger.debug(
        {
          controller: req.controllerId,
          controllerEpoch: req.controllerEpoch,
          was: b.metadata.controllerId,
          wasEpoch: b.controllerEpochSeen,
        },
        'UpdateMetadata names a new controller',
      );
    }
    b.controllerEpochSeen = req.controllerEpoch;
    // Clients are given the endpoint of the listener they came in on; there is one listener.
    const listener = b.config.advertisedListener.name;
    const brokers: BrokerEndpoint[] = [];
    for (const lb of req.liveBrokers as Msg[]) {
      const eps = lb.endpoints as Msg[];
      const e = eps.find((x) => x.listener === listener) ?? eps[0];
      brokers.push({ id: lb.id, host: e?.host ?? '', port: e?.port ?? -1, rack: lb.rack ?? null });
    }
    const partitions: UpdateMetadataPartition[] = [];
    for (const t of req.topicStates as Msg[]) {
      for (const p of t.partitionStates as Msg[]) {
        partitions.push({
          topic: t.topicName,
          topicId: t.topicId,
          partition: p.partitionIndex,
          controllerEpoch: p.controllerEpoch,
          leader: p.leader,
          leaderEpoch: p.leaderEpoch,
          isr: p.isr,
          zkVersion: p.zkVersion,
          replicas: p.replicas,
        });
      }
    }
    for (const topic of b.metadata.applyUpdateMetadata(req.controllerId, brokers, partitions)) b.topicConfigs.delete(topic);
    // Every broker keeps every topic's overrides, not only those of topics it hosts or created:
    // should it become controller, its elections read unclean.leader.election.enable from here.
    for (const topic of new Set(partitions.map((p) => p.topic))) {
      if (b.topicConfigs.has(topic) || !b.metadata.topics.has(topic)) continue;
      void b.zk
        .getEntityConfig('topics', topic)
        .then((props) => {
          if (!b.topicConfigs.has(topic) && b.metadata.topics.has(topic)) b.topicConfigs.set(topic, props);
        })
        .catch(() => undefined); // absent until the next UpdateMetadata naming it
    }
    return { errorCode: ErrorCode.NONE };
  };
}
