// Topic config entries as DescribeConfigs and CreateTopics report them: every topic-level key
// with its value and where it came from (Kafka's ConfigSource: 1 the topic's override, 4 a
// server.properties setting, 5 Kafka's default), plus synonyms in precedence order.

import { TOPIC_CONFIG_KEYS } from '../storage/logConfig.js';

export const ConfigSource = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

/** Kafka's ConfigType codes (DescribeConfigs v3+). */
const CONFIG_TYPE: Record<string, number> = { boolean: 1, string: 2, int: 3, short: 4, long: 5, double: 6, list: 7, class: 8, password: 9 };

export interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  configSource: number;
  synonyms: { name: string; value: string | null; source: number }[];
  configType: number;
  documentation: string | null;
}

/**
 * @param overrides the topic's /config/topics entries
 * @param staticProps the server.properties values (for broker-level synonyms like log.retention.ms)
 */
export function topicConfigEntries(overrides: Record<string, string>, staticProps: Record<string, string>): ConfigEntry[] {
  const out: ConfigEntry[] = [];
  for (const k of TOPIC_CONFIG_KEYS) {
    const synonyms: ConfigEntry['synonyms'] = [];
    if (k.name in overrides) synonyms.push({ name: k.name, value: overrides[k.name] ?? null, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
    if (k.serverDefaultKey && k.serverDefaultKey in staticProps) {
      synonyms.push({
        name: k.serverDefaultKey,
        value: staticProps[k.serverDefaultKey] ?? null,
        source: ConfigSource.STATIC_BROKER_CONFIG,
      });
    }
    if (k.serverDefaultKey) synonyms.push({ name: k.serverDefaultKey, value: k.default, source: ConfigSource.DEFAULT_CONFIG });
    const first = synonyms[0];
    out.push({
      name: k.name,
      value: first ? first.value : k.default,
      readOnly: false,
      configSource: first ? first.source : ConfigSource.DEFAULT_CONFIG,
      synonyms,
      configType: CONFIG_TYPE[k.type] ?? 0,
      documentation: k.doc,
    });
  }
  return out;
}

export function isTopicConfigKey(name: string): boolean {
  return TOPIC_CONFIG_KEYS.some((k) => k.name === name);
}
