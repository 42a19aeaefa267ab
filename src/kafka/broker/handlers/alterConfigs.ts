// AlterConfigs (key 33): replaces a topic's whole override set in /config/topics/<t> and writes
// a change notification; every broker applies it from there. Broker configs are static
// (server.properties) here: dynamic broker configs are a later issue.

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';
import { ResourceType } from './describeConfigs.js';
import { writeTopicConfig } from './incrementalAlterConfigs.js';

export function alterConfigsHandler(b: Broker): Handler {
  return async (req: Msg) => {
    const responses: Msg[] = [];
    for (const r of req.resources as Msg[]) {
      const base = { resourceType: r.resourceType, resourceName: r.resourceName };
      if (r.resourceType !== ResourceType.TOPIC) {
        responses.push({ ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Only topic configs can be altered on this broker' });
        continue;
      }
      const props: Record<string, string> = {};
      for (const c of r.configs as Msg[]) if (c.value !== null) props[c.name] = c.value;
      responses.push({ ...base, ...(await writeTopicConfig(b, r.resourceName, props, req.validateOnly === true)) });
    }
    return { throttleTimeMs: 0, responses };
  };
}
