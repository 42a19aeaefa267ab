// LeaderAndIsr (key 4, v7), controller to broker: become leader or follower of these partitions.
// As Kafka's KafkaApis/ReplicaManager.becomeLeaderOrFollower: a request from an older controller
// epoch is refused whole (STALE_CONTROLLER_EPOCH), one meant for an earlier incarnation of this
// broker too (STALE_BROKER_EPOCH); a partition whose leader epoch is not newer than the one hosted
// here is left alone (STALE_CONTROLLER_EPOCH for it), one that does not list this broker as a
// replica is UNKNOWN_TOPIC_OR_PARTITION. The rest go to TopicAdmin.onLeaderAndIsr.

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';
import { controlRequestError } from './controlEpochs.js';

export function leaderAndIsrHandler(b: Broker): Handler {
  return async (req: Msg) => {
    const topicStates = req.topicStates as Msg[];
    const answer = (errorCode: number, perPartition: (topic: string, p: Msg) => number): Msg => ({
      errorCode,
      topics: topicStates.map((t) => ({
        topicId: t.topicId,
        partitionErrors: (t.partitionStates as Msg[]).map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: perPartition(t.topicName, p),
        })),
      })),
    });
    const refused = controlRequestError(b, req.controllerEpoch, req.brokerEpoch);
    if (refused !== ErrorCode.NONE) {
      b.logger.warn({ controller: req.controllerId, controllerEpoch: req.controllerEpoch, errorCode: refused }, 'LeaderAndIsr refused');
      return answer(refused, () => refused);
    }
    b.controllerEpochSeen = req.controllerEpoch;
    for (const l of req.liveLeaders as Msg[]) b.metadata.liveLeaders.set(l.brokerId, { host: l.hostName, port: l.port });
    const errors = new Map<string, number>();
    for (const t of topicStates) {
      const topic: string = t.topicName;
      // A topic first seen here: its overrides before its log is created (Kafka's LogManager reads them too).
      if (!b.topicConfigs.has(topic) && (t.partitionStates as Msg[]).some((p) => (p.replicas as number[]).includes(b.brokerId))) {
        b.topicConfigs.set(topic, await b.zk.getEntityConfig('topics', topic).catch(() => ({})));
      }
      for (const p of t.partitionStates as Msg[]) {
        const key = `${topic}\u0000${p.partitionIndex}`;
        const hosted = b.replicas.get(topic, p.partitionIndex);
        if (hosted && p.leaderEpoch <= hosted.state.leaderEpoch) {
          b.logger.debug(
            { topic, partition: p.partitionIndex, leaderEpoch: p.leaderEpoch },
            'LeaderAndIsr ignored: leader epoch not newer',
          );
          errors.set(key, ErrorCode.STALE_CONTROLLER_EPOCH);
          continue;
        }
        if (!(p.replicas as number[]).includes(b.brokerId)) {
          errors.set(key, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          continue;
        }
        try {
          b.admin.onLeaderAndIsr(topic, t.topicId, p.partitionIndex, {
            leader: p.leader,
            leaderEpoch: p.leaderEpoch,
            isr: p.isr,
            replicas: p.replicas,
            zkVersion: p.partitionEpoch,
            controllerEpoch: p.controllerEpoch,
          });
          errors.set(key, ErrorCode.NONE);
        } catch (err) {
          b.logger.error(
            { err: String(err), topic, partition: p.partitionIndex },
            'could not apply LeaderAndIsr; the partition stays as it was',
          );
          errors.set(key, ErrorCode.KAFKA_STORAGE_ERROR);
        }
      }
    }
    return answer(ErrorCode.NONE, (topic, p) => errors.get(`${topic}\u0000${p.partitionIndex}`) ?? ErrorCode.NONE);
  };
}
