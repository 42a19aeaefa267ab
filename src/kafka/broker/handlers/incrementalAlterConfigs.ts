// IncrementalAlterConfigs (key 44): SET, DELETE, APPEND and SUBTRACT on a topic's overrides,
// validated, written to /config/topics/<t> with a change notification.

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import { logConfigFromProps } from '../../storage/logConfig.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';
import { isTopicConfigKey } from '../topicConfigs.js';
import { ResourceType } from './describeConfigs.js';

const OP_SET = 0;
const OP_DELETE = 1;
const OP_APPEND = 2;
const OP_SUBTRACT = 3;

/**
 * The per-broker dynamic configs accepted on a BROKER resource: the replication throttles that
 * kafka-reassign-partitions sets with --throttle and clears on --verify. They are stored in
 * /config/brokers/<id> as Kafka stores them, but not enforced (no replication quotas here).
 */
const BROKER_DYNAMIC_KEYS: ReadonlySet<string> = new Set([
  'leader.replication.throttled.rate',
  'follower.replication.throttled.rate',
  'replica.alter.log.dirs.io.max.bytes.per.second',
]);

export function incrementalAlterConfigsHandler(b: Broker): Handler {
  return async (req: Msg) => {
    const responses: Msg[] = [];
    for (const r of req.resources as Msg[]) {
      const base = { resourceType: r.resourceType, resourceName: r.resourceName };
      if (r.resourceType === ResourceType.BROKER) {
        responses.push({ ...base, ...(await alterBrokerConfig(b, r, req.validateOnly === true)) });
        continue;
      }
      if (r.resourceType !== ResourceType.TOPIC) {
        responses.push({ ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Only topic configs can be altered on this broker' });
        continue;
      }
      const props = { ...(b.topicConfigs.get(r.resourceName) ?? {}) };
      let error: Msg | null = null;
      for (const c of r.configs as Msg[]) {
        const list = (props[c.name] ?? '').split(',').filter((x) => x !== '');
        const items = (c.value ?? '').split(',').filter((x: string) => x !== '');
        switch (c.configOperation) {
          case OP_SET:
            if (c.value === null) error = { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `Null value not supported for ${c.name}` };
            else props[c.name] = c.value;
            break;
          case OP_DELETE:
            delete props[c.name];
            break;
          case OP_APPEND:
            props[c.name] = [...list, ...items.filter((x: string) => !list.includes(x))].join(',');
            break;
          case OP_SUBTRACT:
            props[c.name] = list.filter((x) => !items.includes(x)).join(',');
            break;
          default:
            error = { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unknown config operation ${c.configOperation}` };
        }
      }
      responses.push({ ...base, ...(error ?? (await writeTopicConfig(b, r.resourceName, props, req.validateOnly === true))) });
    }
    return { throttleTimeMs: 0, responses };
  };
}

/**
 * A BROKER resource, as ZkAdminManager.alterBrokerConfigs: its name is this broker's id (or empty
 * for the cluster default), and only BROKER_DYNAMIC_KEYS may be named.
 */
async function alterBrokerConfig(b: Broker, r: Msg, validateOnly: boolean): Promise<{ errorCode: number; errorMessage: string | null }> {
  const name = r.resourceName as string;
  if (name !== '' && name !== String(b.brokerId)) {
    return {
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: `Unexpected broker id, expected ${b.brokerId} or empty string, but received ${name}`,
    };
  }
  const entity = name === '' ? '<default>' : name;
  const props = await b.zk.getEntityConfig('brokers', entity);
  for (const c of r.configs as Msg[]) {
    if (!BROKER_DYNAMIC_KEYS.has(c.name)) {
      return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `Cannot update these configs dynamically: ${c.name}` };
    }
    if (c.configOperation === OP_SET && c.value !== null) props[c.name] = c.value;
    else if (c.configOperation === OP_DELETE) delete props[c.name];
    else return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `Unsupported operation ${c.configOperation} for ${c.name}` };
  }
  if (!validateOnly) await b.zk.setEntityConfig('brokers', entity, props);
  return { errorCode: ErrorCode.NONE, errorMessage: null };
}

/** Validates and stores a topic's full override set; shared by both alter APIs. */
export async function writeTopicConfig(
  b: Broker,
  topic: string,
  props: Record<string, string>,
  validateOnly: boolean,
): Promise<{ errorCode: number; errorMessage: string | null }> {
  if (!b.metadata.topics.has(topic)) {
    return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `Topic ${topic} does not exist` };
  }
  for (const k of Object.keys(props)) {
    if (!isTopicConfigKey(k)) return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `Unknown topic config name: ${k}` };
  }
  try {
    logConfigFromProps(props, b.config.logDefaults);
  } catch (err) {
    return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: (err as Error).message };
  }
  if (!validateOnly) {
    await b.zk.setEntityConfig('topics', topic, props);
    b.topicConfigs.set(topic, props);
    b.replicas.updateConfig(topic, b.logConfigFor(topic));
  }
  return { errorCode: 0, errorMessage: null };
}
