// CreateTopics (key 19). In ZooKeeper mode the controller creates partition state; this broker
// writes the topic znodes (AdminZkClient's order) and, with timeoutMs > 0, waits until the
// leaders are known before answering (Kafka's DelayedCreatePartitions). As in Kafka 3.9's
// ZooKeeper mode (KafkaApis.handleCreateTopicsRequest), only the active controller creates topics:
// another broker answers NOT_CONTROLLER for each, and admin clients retry at the controller.

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';

export function createTopicsHandler(b: Broker): Handler {
  return async (req: Msg, ctx) => {
    if (!b.controller?.isActive) {
      b.logger.debug(
        { api: 'CreateTopics', client: ctx.clientId, controllerId: b.metadata.controllerId, controllerEpochSeen: b.controllerEpochSeen },
        'not the active controller: answering NOT_CONTROLLER',
      );
      const topics = (req.topics as Msg[]).map((t) => ({
        name: t.name,
        errorCode: ErrorCode.NOT_CONTROLLER,
        errorMessage: null,
        numPartitions: -1,
        replicationFactor: -1,
        configs: [],
      }));
      return { throttleTimeMs: 0, topics };
    }
    const seen = new Map<string, number>();
    for (const t of req.topics as Msg[]) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
    const topics = await Promise.all(
      (req.topics as Msg[]).map(async (t) => {
        if ((seen.get(t.name) ?? 0) > 1) {
          return {
            name: t.name,
            errorCode: ErrorCode.INVALID_REQUEST,
            errorMessage: `Create topics request from client \`${ctx.clientId}\` contains multiple entries for the following topics: ${t.name}`,
            numPartitions: -1,
            replicationFactor: -1,
            configs: [],
          };
        }
        const configs: Record<string, string> = {};
        for (const c of t.configs as Msg[]) if (c.value !== null) configs[c.name] = c.value;
        const r = await b.admin.create(
          {
            name: t.name,
            numPartitions: t.numPartitions,
            replicationFactor: t.replicationFactor,
            assignments: t.assignments,
            configs,
          },
          req.validateOnly === true,
          req.timeoutMs,
        );
        return {
          name: t.name,
          topicId: r.topicId,
          errorCode: r.errorCode,
          errorMessage: r.errorMessage,
          numPartitions: r.numPartitions,
          replicationFactor: r.replicationFactor,
          // A failed topic gets an empty list, as Kafka sends it (not null).
          configs: r.errorCode === 0 ? describeTopicConfigs(b, t.name, configs) : [],
        };
      }),
    );
    return { throttleTimeMs: 0, topics };
  };
}

function describeTopicConfigs(b: Broker, _topic: string, overrides: Record<string, string>): Msg[] {
  // CreateTopics v5+ returns the topic's resulting configs: its overrides and the defaults.
  return b.describeTopicConfigEntries(overrides).map((e) => ({
    name: e.name,
    value: e.value,
    readOnly: e.readOnly,
    configSource: e.configSource,
    isSensitive: false,
  }));
}
