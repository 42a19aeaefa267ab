// AlterPartition (key 56, v2-3), partition leader to controller: a proposed ISR (KIP-497). Only the
// active controller answers (else NOT_CONTROLLER); it validates and writes through
// Controller.alterPartition and answers each partition with its state after the change.

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { AlterPartitionItem } from '../../controller/decisions.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';

export function alterPartitionHandler(b: Broker): Handler {
  return async (req: Msg, ctx) => {
    const topics = req.topics as Msg[];
    const controller = b.controller;
    const fail = (errorCode: number): Msg => ({ throttleTimeMs: 0, errorCode, topics: [] });
    if (!controller?.isActive) return fail(ErrorCode.NOT_CONTROLLER);
    const items: AlterPartitionItem[] = [];
    const unknown = new Set<string>();
    for (const t of topics) {
      const topic = controller.topicByTopicId(t.topicId);
      if (topic === undefined) {
        unknown.add(t.topicId);
        continue;
      }
      for (const p of t.partitions as Msg[]) {
        const withEpochs = ctx.version >= 3 ? (p.newIsrWithEpochs as Msg[]) : undefined;
        items.push({
          topic,
          partition: p.partitionIndex,
          leaderEpoch: p.leaderEpoch,
          newIsr: withEpochs ? withEpochs.map((x) => x.brokerId) : (p.newIsr as number[]),
          ...(withEpochs ? { newIsrEpochs: withEpochs.map((x) => x.brokerEpoch) } : {}),
          leaderRecoveryState: p.leaderRecoveryState,
          partitionEpoch: p.partitionEpoch,
        });
      }
    }
    const res = await controller.alterPartition(req.brokerId, req.brokerEpoch, items);
    if (res.errorCode !== ErrorCode.NONE) return fail(res.errorCode);
    const byTopic = new Map<string, Msg[]>();
    for (const r of res.partitions) {
      const s = r.state;
      const entry: Msg = {
        partitionIndex: r.partition,
        errorCode: r.errorCode,
        leaderId: s?.leader ?? -1,
        leaderEpoch: s?.leaderEpoch ?? -1,
        isr: s?.isr ?? [],
        leaderRecoveryState: s?.leaderRecoveryState ?? 0,
        partitionEpoch: s?.zkVersion ?? -1,
      };
      const id = controller.topicIdOf(r.topic) ?? '';
      const list = byTopic.get(id);
      if (list) list.push(entry);
      else byTopic.set(id, [entry]);
    }
    const out: Msg[] = [...byTopic].map(([topicId, partitions]) => ({ topicId, partitions }));
    for (const t of topics) {
      if (!unknown.has(t.topicId)) continue;
      out.push({
        topicId: t.topicId,
        partitions: (t.partitions as Msg[]).map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: ErrorCode.UNKNOWN_TOPIC_ID,
          leaderId: -1,
          leaderEpoch: -1,
          isr: [],
          leaderRecoveryState: 0,
          partitionEpoch: -1,
        })),
      });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, topics: out };
  };
}
