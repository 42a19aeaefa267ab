// FindCoordinator (key 10): a group's coordinator is the leader of its __consumer_offsets
// partition. The topic is created on first use (as Kafka does); until its leaders are known
// the answer is COORDINATOR_NOT_AVAILABLE, which clients retry. v4 answers a batch of keys.
// Transaction coordinators (key type 1) are a later issue.

import { partitionFor } from '../../coordinator/groupCoordinator.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import { OFFSETS_TOPIC } from '../offsetsTopic.js';
import type { Handler } from '../requests.js';

const GROUP_KEY_TYPE = 0;

export function findCoordinatorHandler(b: Broker): Handler {
  return async (req: Msg, ctx) => {
    const keyType = ctx.version >= 1 ? (req.keyType as number) : GROUP_KEY_TYPE;
    const keys: string[] = ctx.version >= 4 ? (req.coordinatorKeys as string[]) : [req.key as string];
    const coordinators: Msg[] = [];
    for (const key of keys) coordinators.push({ key, ...(await locate(b, keyType, key)) });
    if (ctx.version >= 4) return { throttleTimeMs: 0, coordinators };
    const c = coordinators[0] as Msg;
    return { throttleTimeMs: 0, errorCode: c.errorCode, errorMessage: c.errorMessage, nodeId: c.nodeId, host: c.host, port: c.port };
  };
}

async function locate(b: Broker, keyType: number, key: string): Promise<Msg> {
  const none = { nodeId: -1, host: '', port: -1 };
  if (keyType !== GROUP_KEY_TYPE) {
    return { ...none, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Transaction coordinators are not supported yet' };
  }
  const t = b.metadata.topics.get(OFFSETS_TOPIC);
  if (!t) {
    await b.autoCreateTopic(OFFSETS_TOPIC);
    return { ...none, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: 'The coordinator is not available.' };
  }
  const p = t.partitions.get(partitionFor(key, t.partitions.size));
  const leader = p ? b.metadata.brokers.get(p.leader) : undefined;
  // Leading the partition in metadata comes before the coordinator has loaded it: until then the
  // client is told to wait, not sent here to get NOT_COORDINATOR (the differential test saw that).
  if (!leader || (leader.id === b.brokerId && !b.groups.ownsGroup(key))) {
    return { ...none, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: 'The coordinator is not available.' };
  }
  return { nodeId: leader.id, host: leader.host, port: leader.port, errorCode: 0, errorMessage: null };
}
