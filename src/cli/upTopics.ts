// The topics `clustergenie up` makes sure exist, created through the controller with
// CreateTopics as any admin client would (Metadata names the controller). An existing topic is
// left as it is: its partitions, replicas and configs may have been changed on purpose.

import type { ProcessCluster } from '../cluster/processCluster.js';
import { BrokerClient } from '../kafka/net/brokerClient.js';
import type { Msg } from '../kafka/protocol/schema.js';

export interface TopicSpec {
  name: string;
  partitions: number;
  replicationFactor: number;
  configs: Record<string, string>;
}

export interface TopicOutcome {
  name: string;
  created: boolean;
}

const TOPIC_ALREADY_EXISTS = 36;
/** Errors after which asking again (the controller may have moved, or not yet see every broker) can succeed. */
const RETRIABLE = new Set([
  7, // REQUEST_TIMED_OUT: creation may still complete; the retry then sees TOPIC_ALREADY_EXISTS
  38, // INVALID_REPLICATION_FACTOR: not every broker registered yet
  41, // NOT_CONTROLLER
  5, // LEADER_NOT_AVAILABLE
  15, // COORDINATOR_NOT_AVAILABLE
]);
const retryBackoffMs = 200;

/** Creates the topics that are missing; throws naming the topic and error when the deadline passes. */
export async function ensureTopics(cluster: ProcessCluster, topics: readonly TopicSpec[], timeoutMs = 60_000): Promise<TopicOutcome[]> {
  const deadline = Date.now() + timeoutMs;
  const done = new Map<string, TopicOutcome>();
  let lastProblem = '';
  while (done.size < topics.length) {
    if (Date.now() > deadline) throw new Error(`creating topics timed out after ${timeoutMs} ms: ${lastProblem}`);
    const pending = topics.filter((t) => !done.has(t.name));
    let client: BrokerClient | undefined;
    try {
      client = await controllerClient(cluster);
      const r = await client.request(19, 7, {
        topics: pending.map((t) => ({
          name: t.name,
          numPartitions: t.partitions,
          replicationFactor: t.replicationFactor,
          assignments: [],
          configs: Object.entries(t.configs).map(([name, value]) => ({ name, value })),
        })),
        timeoutMs: 30_000,
        validateOnly: false,
      });
      for (const t of r.topics as Msg[]) {
        const name = t.name as string;
        const code = t.errorCode as number;
        if (code === 0 || code === TOPIC_ALREADY_EXISTS) done.set(name, { name, created: code === 0 });
        else if (RETRIABLE.has(code)) lastProblem = `${name}: error ${code} ${String(t.errorMessage ?? '')}`;
        else throw new Error(`cannot create topic ${name}: error ${code} ${String(t.errorMessage ?? '')}`);
      }
    } catch (e) {
      if ((e as Error).message.startsWith('cannot create topic')) throw e;
      lastProblem = (e as Error).message;
    } finally {
      client?.close();
    }
    if (done.size < topics.length) await new Promise((r) => setTimeout(r, retryBackoffMs));
  }
  return topics.map((t) => done.get(t.name)!);
}

/** A connection to the controller Metadata names (to any live broker while it names none). */
async function controllerClient(cluster: ProcessCluster): Promise<BrokerClient> {
  const live = cluster.brokers.filter((b) => b.alive);
  const first = live[0];
  if (!first) throw new Error('no broker is running');
  const c = await BrokerClient.connect({ host: first.host, port: first.port, clientId: 'clustergenie-up', requestTimeoutMs: 40_000 });
  let controllerId = -1;
  let endpoint: { host: string; port: number } | undefined;
  try {
    const m = await c.request(3, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    controllerId = m.controllerId as number;
    const b = (m.brokers as Msg[]).find((x) => x.nodeId === controllerId);
    if (b) endpoint = { host: b.host as string, port: b.port as number };
  } catch (e) {
    c.close();
    throw e;
  }
  if (controllerId === first.id || controllerId < 0) return c;
  c.close();
  // The broker's metadata may not list the controller yet: our own layout knows its port.
  endpoint ??= cluster.brokers.find((b) => b.id === controllerId);
  if (!endpoint) throw new Error(`controller ${controllerId} is not a broker of this cluster`);
  return BrokerClient.connect({ host: endpoint.host, port: endpoint.port, clientId: 'clustergenie-up', requestTimeoutMs: 40_000 });
}
