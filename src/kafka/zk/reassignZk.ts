// The controller's ZooKeeper writes for partition reassignment (KafkaZkClient.setTopicAssignment,
// getPartitionReassignment, setOrCreatePartitionReassignment, deletePartitionReassignment): the
// topic znode carries a partition's full replica set with its adding/removing replicas while it
// moves, and the legacy /admin/reassign_partitions znode loses entries as they complete. Every
// write is fenced by the controller epoch.

import { Err, isZooKeeperError, Op } from '../../zookeeper/client/index.js';
import type { KafkaZk } from './kafkaZk.js';
import {
  Paths,
  decodeReassignPartitions,
  encodeReassignPartitions,
  encodeTopicAssignment,
  topicPath,
  type ReassignmentEntry,
} from './layout.js';

/** Bound on re-reads when the topic znode changes under a conditional write. */
const ASSIGNMENT_WRITE_ATTEMPTS_MAX = 20;

export interface PartitionAssignment {
  replicas: readonly number[];
  adding: readonly number[];
  removing: readonly number[];
}

/**
 * Rewrites one partition's entry in /brokers/topics/<t> (replicas, adding_replicas,
 * removing_replicas; empty lists are left out as Kafka leaves them out), keeping the rest.
 */
export async function setPartitionAssignment(
  zk: KafkaZk,
  epochZkVersion: number,
  topic: string,
  partition: number,
  a: PartitionAssignment,
): Promise<void> {
  for (let attempt = 0; attempt < ASSIGNMENT_WRITE_ATTEMPTS_MAX; attempt++) {
    const cur = await zk.getTopicAssignment(topic);
    if (cur === null) return; // deleted meanwhile: nothing to record
    const partitions = new Map(cur.partitions);
    const adding = new Map(cur.addingReplicas);
    const removing = new Map(cur.removingReplicas);
    partitions.set(partition, [...a.replicas]);
    if (a.adding.length > 0) adding.set(partition, [...a.adding]);
    else adding.delete(partition);
    if (a.removing.length > 0) removing.set(partition, [...a.removing]);
    else removing.delete(partition);
    const data = encodeTopicAssignment({ topicId: cur.topicId, partitions, addingReplicas: adding, removingReplicas: removing });
    try {
      await zk.fencedMulti(epochZkVersion, [Op.setData(topicPath(topic), data, cur.zkVersion)]);
      return;
    } catch (e) {
      if (!isZooKeeperError(e, Err.BADVERSION)) throw e;
    }
  }
  throw new Error(`assignment of ${topic}-${partition}: the topic znode kept changing`);
}

/** The legacy reassignment request, or null when there is none. */
export async function getPartitionReassignment(zk: KafkaZk): Promise<ReassignmentEntry[] | null> {
  try {
    const { data } = await zk.client.getData(Paths.reassignPartitions);
    return decodeReassignPartitions(data);
  } catch (e) {
    if (isZooKeeperError(e, Err.NONODE)) return null;
    throw e;
  }
}

/**
 * Drops the entries `remove` selects from /admin/reassign_partitions; the znode goes when none
 * is left (Kafka's maybeRemoveFromZkReassignment). No-op without the znode.
 */
export async function removeFromPartitionReassignment(
  zk: KafkaZk,
  epochZkVersion: number,
  remove: (e: ReassignmentEntry) => boolean,
): Promise<void> {
  const cur = await getPartitionReassignment(zk);
  if (cur === null) return;
  const left = cur.filter((e) => !remove(e));
  if (left.length === cur.length) return;
  try {
    if (left.length === 0) await zk.fencedMulti(epochZkVersion, [Op.delete(Paths.reassignPartitions)]);
    else await zk.fencedMulti(epochZkVersion, [Op.setData(Paths.reassignPartitions, encodeReassignPartitions(left), -1)]);
  } catch (e) {
    if (!isZooKeeperError(e, Err.NONODE)) throw e;
  }
}
