// DescribeConfigs (key 32): topic configs with sources, synonyms (v1+), types and
// documentation (v3+); broker configs likewise, every key the broker knows (brokerConfigDefs.ts).

import { brokerConfigEntries, BROKER_CONFIG_DEFS } from '../../brokerConfigDefs.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';
import { ConfigSource, topicConfigEntries } from '../topicConfigs.js';

export const ResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;

export function describeConfigsHandler(b: Broker): Handler {
  return (req: Msg, ctx) => {
    const results: Msg[] = [];
    for (const r of req.resources as Msg[]) {
      const base = { resourceType: r.resourceType, resourceName: r.resourceName };
      let entries: Msg[];
      if (r.resourceType === ResourceType.TOPIC) {
        if (!b.metadata.topics.has(r.resourceName)) {
          results.push({
            ...base,
            errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            errorMessage: `Topic ${r.resourceName} does not exist`,
            configs: [],
          });
          continue;
        }
        entries = topicConfigEntries(b.topicConfigs.get(r.resourceName) ?? {}, Object.fromEntries(b.config.originals));
      } else if (r.resourceType === ResourceType.BROKER) {
        if (r.resourceName !== '' && r.resourceName !== String(b.brokerId)) {
          results.push({
            ...base,
            errorCode: ErrorCode.INVALID_REQUEST,
            errorMessage: `Unexpected broker id ${r.resourceName}`,
            configs: [],
          });
          continue;
        }
        entries = brokerConfigEntries(b.config);
        // Other keys set in the file are listed as Kafka lists any original: as written, type
        // UNKNOWN (0) since we do not model them.
        for (const [name, value] of b.config.originals) {
          if (BROKER_CONFIG_DEFS.some((d) => d.name === name)) continue;
          entries.push({
            name,
            value,
            readOnly: true,
            configSource: ConfigSource.STATIC_BROKER_CONFIG,
            synonyms: [{ name, value, source: ConfigSource.STATIC_BROKER_CONFIG }],
            configType: 0,
            documentation: null,
          });
        }
      } else {
        results.push({
          ...base,
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage: `Unsupported resource type ${r.resourceType}`,
          configs: [],
        });
        continue;
      }
      const keys = r.configurationKeys as string[] | null;
      if (keys) entries = entries.filter((e) => keys.includes(e.name));
      const includeSynonyms = ctx.version >= 1 && req.includeSynonyms === true;
      const includeDocs = ctx.version >= 3 && req.includeDocumentation === true;
      results.push({
        ...base,
        errorCode: 0,
        errorMessage: null,
        configs: entries.map((e) => ({
          name: e.name,
          value: e.value,
          readOnly: e.readOnly,
          isDefault: e.configSource === ConfigSource.DEFAULT_CONFIG,
          configSource: e.configSource,
          isSensitive: false,
          synonyms: includeSynonyms ? e.synonyms : [],
          configType: e.configType,
          documentation: includeDocs ? e.documentation : null,
        })),
      });
    }
    return { throttleTimeMs: 0, results };
  };
}
