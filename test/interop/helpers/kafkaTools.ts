// Shared by the tests that run Apache Kafka's own tools and Java clients against our brokers
// (kafkaTools.test.ts, kafkaJavaClients.test.ts, clusterJava.test.ts): one call runs a tool and demands success, and a
// recorder notes which API versions the clients really sent.

import assert from 'node:assert/strict';
import type { Broker } from '../../../src/kafka/broker/broker.js';
import type { Handler } from '../../../src/kafka/broker/requests.js';
import { type KafkaToolName, type KafkaVersion, kafkaHome, kafkaJarsPresent, runKafkaTool } from '../../helpers/apacheKafka.js';

export const KAFKA_VERSIONS: readonly KafkaVersion[] = ['3.9', '4.x'];

/** Fails (never skips) when a jar set is missing, naming the script that caches it. */
export function requireKafkaJars(): void {
  for (const v of KAFKA_VERSIONS) {
    if (!kafkaJarsPresent(v)) throw new Error(`Apache Kafka ${v} jars missing in ${kafkaHome(v)}/lib: run scripts/fetch-kafka.sh`);
  }
}

/** A short name for topic and group names. */
export function versionTag(v: KafkaVersion): string {
  return v === '3.9' ? 'v3' : 'v4';
}

export function nonEmptyLines(s: string): string[] {
  return s.split('\n').filter((l) => l.trim() !== '');
}

/** Runs a tool against `bootstrap()` and requires exit code 0; resolves its stdout. */
export async function runTool(
  bootstrap: string,
  name: KafkaToolName | string,
  v: KafkaVersion,
  args: readonly string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<string> {
  const r = await runKafkaTool(name, ['--bootstrap-server', bootstrap, ...args], { clientVersion: v, ...opts });
  const what = `${name} (${v}) ${args.join(' ')}`;
  assert.equal(r.timedOut, false, `${what} timed out:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.code, 0, `${what} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The `GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG` rows of a group description. */
export function describeRows(out: string, group: string, topic: string): Map<number, { current: number; end: number; lag: number }> {
  const rows = new Map<number, { current: number; end: number; lag: number }>();
  const re = new RegExp(`^${group}\\s+${topic}\\s+(\\d+)\\s+(\\d+|-)\\s+(\\d+)\\s+(\\d+|-)`, 'gm');
  for (const m of out.matchAll(re)) {
    rows.set(Number(m[1]), { current: Number(m[2]), end: Number(m[3]), lag: Number(m[4]) });
  }
  return rows;
}

/**
 * Wraps every handler of `broker` so that `seen` collects `apiKey/version` of each request it
 * answers. The router keeps its handlers private; reaching in is a test-only shortcut that spares
 * the product a metrics hook nothing else needs yet.
 */
export function recordRequests(broker: Broker, seen: Set<string>): void {
  const handlers = (broker.router as unknown as { handlers: Map<number, Handler> }).handlers;
  assert.ok(handlers instanceof Map && handlers.size > 0, 'the request router keeps its handlers in a Map');
  for (const [apiKey, h] of handlers) {
    handlers.set(apiKey, (req, ctx) => {
      seen.add(`${apiKey}/${ctx.version}`);
      return h(req, ctx);
    });
  }
}

/** The highest version of `apiKey` in `seen`, or -1. */
export function maxVersionSeen(seen: ReadonlySet<string>, apiKey: number): number {
  let max = -1;
  for (const s of seen) {
    const [k, ver] = s.split('/').map(Number);
    if (k === apiKey && ver! > max) max = ver!;
  }
  return max;
}
