// StopReplica (key 5, v4), controller to broker: stop (and with deletePartition, delete) replicas.
// Epoch-fenced like every controller request. Per partition, as ReplicaManager.stopReplicas: a
// leader epoch of -2 (deletion) or -1 (none), or one at least ours, stops it; an older one is
// FENCED_LEADER_EPOCH. A partition not hosted here is stopped all the same (its
// files may exist). The replica goes through TopicAdmin.onStopReplica (groups unloaded first).

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';
import { controlRequestError } from './controlEpochs.js';

const EPOCH_DURING_DELETE = -2;
const NO_EPOCH = -1;

export function stopReplicaHandler(b: Broker): Handler {
  return (req: Msg) => {
    const topicStates = req.topicStates as Msg[];
    const refused = controlRequestError(b, req.controllerEpoch, req.brokerEpoch);
    if (refused !== ErrorCode.NONE) {
      b.logger.warn({ controller: req.controllerId, controllerEpoch: req.controllerEpoch, errorCode: refused }, 'StopReplica refused');
      return { errorCode: refused, partitionErrors: [] };
    }
    b.controllerEpochSeen = req.controllerEpoch;
    const partitionErrors: Msg[] = [];
    for (const t of topicStates) {
      for (const p of t.partitionStates as Msg[]) {
        const hosted = b.replicas.get(t.topicName, p.partitionIndex);
        const epoch: number = p.leaderEpoch;
        let errorCode: number = ErrorCode.NONE;
        if (hosted && epoch !== EPOCH_DURING_DELETE && epoch !== NO_EPOCH && epoch < hosted.state.leaderEpoch) {
          // A newer leadership already arrived here: this stop is from before it.
          errorCode = ErrorCode.FENCED_LEADER_EPOCH;
        } else {
          try {
            b.admin.onStopReplica(t.topicName, p.partitionIndex, p.deletePartition === true);
          } catch (err) {
            b.logger.error({ err: String(err), topic: t.topicName, partition: p.partitionIndex }, 'could not stop a replica');
            errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
          }
        }
        partitionErrors.push({ topicName: t.topicName, partitionIndex: p.partitionIndex, errorCode });
      }
    }
    return { errorCode: ErrorCode.NONE, partitionErrors };
  };
}
