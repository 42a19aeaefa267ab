// DeleteTopics (key 20): writes /admin/delete_topics/<t>; the controller removes the topic and
// every replica drops its log. With timeoutMs > 0 the answer waits until the topic is gone.
// Only the active controller does this (Kafka 3.9 ZooKeeper mode): others answer NOT_CONTROLLER.

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import { ZERO_UUID } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';

export function deleteTopicsHandler(b: Broker): Handler {
  return async (req: Msg, ctx) => {
    const wanted: { name: string | null; topicId: string }[] =
      ctx.version >= 6
        ? (req.topics as Msg[]).map((t) => ({ name: t.name, topicId: t.topicId }))
        : (req.topicNames as string[]).map((name) => ({ name, topicId: ZERO_UUID }));
    if (!b.controller?.isActive) {
      b.logger.debug(
        { api: 'DeleteTopics', client: ctx.clientId, controllerId: b.metadata.controllerId, controllerEpochSeen: b.controllerEpochSeen },
        'not the active controller: answering NOT_CONTROLLER',
      );
      const responses = wanted.map((w) => ({ name: w.name, topicId: w.topicId, errorCode: ErrorCode.NOT_CONTROLLER, errorMessage: null }));
      return { throttleTimeMs: 0, responses };
    }
    const responses = await Promise.all(
      wanted.map(async (w) => {
        const name = w.name ?? (w.topicId !== ZERO_UUID ? (b.metadata.topicById(w.topicId)?.name ?? null) : null);
        if (name === null) {
          return { name: null, topicId: w.topicId, errorCode: ErrorCode.UNKNOWN_TOPIC_ID, errorMessage: null };
        }
        const topicId = b.metadata.topics.get(name)?.topicId ?? ZERO_UUID;
        const r = await b.admin.delete(name, req.timeoutMs);
        return { name, topicId, errorCode: r.errorCode, errorMessage: r.errorMessage };
      }),
    );
    return { throttleTimeMs: 0, responses };
  };
}
