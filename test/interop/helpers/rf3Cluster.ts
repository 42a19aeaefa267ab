// Shared by the cluster interop suites (test/interop/cluster*.test.ts): an in-process 3-broker
// cluster whose topics and __consumer_offsets have RF 3, the waits on ISR state read from the
// state znodes, and the client-independent checks (committed offsets never go back, every
// acknowledged message is read by the group).

import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { KafkaTestingCluster } from '../../../src/cluster/kafkaTestingCluster.js';
import { checkHistory, historyHolds, type ReadMessage, type SentMessage } from '../../helpers/ackedHistory.js';
import { waitFor } from '../../helpers/wait.js';
import { endOffsets } from '../../helpers/clusterClients.js';

const { Kafka, logLevel } = kafkajs;

export const BROKERS = [1, 2, 3] as const;
export const OFFSETS_PARTITIONS = 4;

/** Three brokers, RF 3 everywhere, min.insync 2; fast controlled-shutdown retries keep stops and teardown short. */
export function startRf3Cluster(extra: Record<string, string> = {}): Promise<KafkaTestingCluster> {
  return KafkaTestingCluster.start({
    brokers: BROKERS.length,
    brokerProps: {
      'offsets.topic.replication.factor': '3',
      'offsets.topic.num.partitions': String(OFFSETS_PARTITIONS),
      'default.replication.factor': '3',
      'min.insync.replicas': '2',
      'num.partitions': '3',
      'controlled.shutdown.retry.backoff.ms': '200',
      ...extra,
    },
  });
}

function running(cluster: KafkaTestingCluster): number[] {
  return cluster.brokers.filter((b) => b.broker).map((b) => b.id);
}

/** Waits until every partition of `topic` has a leader and an ISR of every running broker. */
export async function waitFullIsr(cluster: KafkaTestingCluster, topic: string, partitions: number): Promise<void> {
  const want = running(cluster);
  const last: string[] = [];
  await waitFor(
    async () => {
      last.length = 0;
      for (let p = 0; p < partitions; p++) {
        const s = await cluster.partitionState(topic, p);
        last.push(JSON.stringify(s));
        if (s.leader < 0 || [...s.isr].sort().join() !== want.join()) return false;
      }
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: () => `full ISR ${want} on ${topic}: ${last.join(' ')}` },
  );
}

/** Creates an RF 3 topic in-process (the clients' own admin paths are covered elsewhere) and waits for full ISRs. */
export async function createRf3Topic(cluster: KafkaTestingCluster, topic: string, partitions: number): Promise<void> {
  const broker = cluster.brokers.find((b) => b.broker)?.broker;
  assert.ok(broker, 'a broker is running');
  const r = await broker.admin.create(
    { name: topic, numPartitions: partitions, replicationFactor: 3, assignments: [], configs: {} },
    false,
    10_000,
  );
  assert.equal(r.errorCode, 0, r.errorMessage ?? `creating ${topic}`);
  await waitFullIsr(cluster, topic, partitions);
}

/** Each partition's leader, from the state znodes. */
export async function leaders(cluster: KafkaTestingCluster, topic: string, partitions: number): Promise<number[]> {
  const out: number[] = [];
  for (let p = 0; p < partitions; p++) out.push((await cluster.partitionState(topic, p)).leader);
  return out;
}

/** A kafkajs admin for the checks (committed offsets, log ends), whatever client the suite tests. */
export function checkerAdmin(cluster: KafkaTestingCluster) {
  return new Kafka({
    clientId: 'cluster-checker',
    brokers: cluster.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 },
  }).admin();
}

/** The group's committed offset per partition (-1 where none). */
export async function committedOffsets(cluster: KafkaTestingCluster, group: string, topic: string): Promise<Map<number, number>> {
  const admin = checkerAdmin(cluster);
  await admin.connect();
  try {
    const r = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return new Map((r[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

/** Each partition's log end (the high watermark clients see). */
export async function logEnds(cluster: KafkaTestingCluster, topic: string): Promise<Map<number, number>> {
  const admin = checkerAdmin(cluster);
  await admin.connect();
  try {
    return await endOffsets(admin, topic);
  } finally {
    await admin.disconnect();
  }
}

/** No committed offset went back: the coordinator serving the group now has at least `before` on every partition. */
export async function assertCommitsKept(
  cluster: KafkaTestingCluster,
  group: string,
  topic: string,
  before: ReadonlyMap<number, number>,
): Promise<void> {
  const now = await committedOffsets(cluster, group, topic);
  for (const [p, o] of before) assert.ok((now.get(p) ?? -1) >= o, `partition ${p}: committed ${o} before the stop, ${now.get(p)} after`);
}

/** Waits until the group has committed at least `floor` on every partition in it (e.g. what it committed before a failover). */
export async function waitCommittedAtLeast(
  cluster: KafkaTestingCluster,
  group: string,
  topic: string,
  floor: ReadonlyMap<number, number>,
  timeoutMs = 60_000,
): Promise<Map<number, number>> {
  let last = new Map<number, number>();
  await waitFor(
    async () => {
      last = await committedOffsets(cluster, group, topic);
      return [...floor].every(([p, o]) => (last.get(p) ?? -1) >= o);
    },
    { timeoutMs, intervalMs: 200, what: () => `commits of ${group} to reach ${JSON.stringify([...floor])}: ${JSON.stringify([...last])}` },
  );
  return last;
}

/**
 * A group is at-least-once: after a coordinator moves, some records are delivered again at the same
 * offset. Those collapse here, so the checker still flags a record written twice (two offsets).
 */
export function uniqueByOffset(read: readonly ReadMessage[]): ReadMessage[] {
  const seen = new Set<string>();
  return read.filter((r) => {
    const k = `${r.partition}/${r.offset}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Every acknowledged message was read once, where it was sent, in order. */
export function assertNothingLost(sent: readonly SentMessage[], read: readonly ReadMessage[], minAcked: number): void {
  const verdict = checkHistory(sent, uniqueByOffset(read));
  assert.ok(historyHolds(verdict), JSON.stringify({ ...verdict, lost: verdict.lost.slice(0, 20) }));
  assert.ok(verdict.acked >= minAcked, `only ${verdict.acked} messages were acknowledged`);
}

/**
 * Stops the group's coordinator broker while the group runs and returns its id. That broker also
 * leads a partition of `topic` (leaders are spread), so producers follow NOT_LEADER_OR_FOLLOWER too.
 */
export async function stopCoordinator(cluster: KafkaTestingCluster, group: string, topic: string, partitions: number): Promise<number> {
  const offsetsPartitions = Array.from({ length: OFFSETS_PARTITIONS }, (_, p) => p);
  await waitFullIsr(cluster, '__consumer_offsets', offsetsPartitions.length);
  const coordinator = await cluster.coordinatorOf(group);
  assert.ok(coordinator > 0, `${group} has a coordinator: ${coordinator}`);
  const led = await leaders(cluster, topic, partitions);
  assert.ok(led.includes(coordinator), `the coordinator ${coordinator} leads a partition of ${topic} too: ${led}`);
  await cluster.stopBroker(coordinator);
  await waitFor(async () => (await cluster.coordinatorOf(group)) !== coordinator, { timeoutMs: 30_000, what: 'the coordinator to move' });
  const now = await leaders(cluster, topic, partitions);
  assert.ok(!now.includes(coordinator), `leaders after the stop: ${now} (before: ${led})`);
  return coordinator;
}
