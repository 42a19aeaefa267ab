// Real-client roles shared by the process-cluster fault tests: an acks=all idempotent kafkajs
// producer that records every message and whether it was acknowledged (the input of
// checkHistory), a fresh consumer group that reads every partition to its end (the other input),
// and the partition state znodes as the controller wrote them.

import { readFileSync, writeFileSync } from 'node:fs';
import type kafkajs from 'kafkajs';
import type { ProcessCluster } from '../../src/cluster/processCluster.js';
import { BrokerClient } from '../../src/kafka/net/brokerClient.js';
import type { ReadMessage, SentMessage } from './ackedHistory.js';
import { startTcpProxy, type TcpProxy } from './tcpProxy.js';
import { waitFor } from './wait.js';

type Kafka = InstanceType<typeof kafkajs.Kafka>;

/** Bound of the messages one recorder sends (a runaway loop must stop, not fill the heap). */
const recordedMessagesMax = 1_000_000;
/** Bound of the non-retriable error texts kept for the report. */
const errorTextsMax = 50;

export interface AckedProducer {
  readonly name: string;
  /** Every message handed to send(), acknowledged or not, in sending order. */
  readonly sent: SentMessage[];
  ackedCount(): number;
  /** Sends that failed; `nonRetriable` keeps the texts of failures whose cause was not retriable. */
  readonly failures: { retriable: number; nonRetriable: string[] };
  /** Stops sending, waits for the send in flight, disconnects. */
  stop(): Promise<void>;
}

/** The innermost cause of a kafkajs error (retries exhausted wrap the last attempt's error). */
function rootCause(e: unknown): { retriable: boolean; text: string } {
  let cur = e as { originalError?: unknown; retriable?: boolean; name?: string; message?: string; type?: string };
  for (let depth = 0; depth < 10 && cur?.originalError; depth++) cur = cur.originalError as typeof cur;
  return { retriable: cur?.retriable === true, text: `${cur?.name ?? 'Error'}: ${cur?.type ?? cur?.message ?? String(cur)}` };
}

/**
 * One message per send, acks=all, idempotent, one request in flight (so the log order of a
 * partition is the sending order), partition = seq mod `partitions`. Ids are `<name>-<seq>`.
 */
export async function startAckedProducer(
  kafka: Kafka,
  o: { topic: string; partitions: number; name: string; sendTimeoutMs?: number },
): Promise<AckedProducer> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const sent: SentMessage[] = [];
  const failures = { retriable: 0, nonRetriable: [] as string[] };
  let acked = 0;
  let running = true;
  const loop = (async () => {
    for (let seq = 0; running && seq < recordedMessagesMax; seq++) {
      const id = `${o.name}-${seq}`;
      const partition = seq % o.partitions;
      let ok = false;
      try {
        await producer.send({ topic: o.topic, acks: -1, timeout: o.sendTimeoutMs ?? 30_000, messages: [{ partition, value: id }] });
        ok = true;
        acked++;
      } catch (e) {
        // Not acknowledged: it may or may not be in the log; the checker allows both.
        const cause = rootCause(e);
        if (cause.retriable) failures.retriable++;
        else if (failures.nonRetriable.length < errorTextsMax) failures.nonRetriable.push(cause.text);
      }
      sent.push({ id, producer: o.name, seq, partition, acked: ok });
    }
  })();
  return {
    name: o.name,
    sent,
    failures,
    ackedCount: () => acked,
    async stop() {
      running = false;
      await loop;
      await producer.disconnect().catch(() => undefined);
    },
  };
}

/**
 * Each partition's end offset (high watermark), asked again on errors until `timeoutMs`: a leader
 * just written to ZooKeeper answers NOT_LEADER_OR_FOLLOWER until the controller's LeaderAndIsr
 * reaches it, and kafkajs's admin does not retry that itself.
 */
export async function endOffsets(admin: ReturnType<Kafka['admin']>, topic: string, timeoutMs = 60_000): Promise<Map<number, number>> {
  return waitFor(async () => new Map((await admin.fetchTopicOffsets(topic)).map((e) => [e.partition, Number(e.high)])), {
    timeoutMs,
    intervalMs: 200,
    what: `${topic}'s end offsets`,
  });
}

/** A fresh consumer group reads every partition of `topic` from the start to its current end. */
export async function readEverything(kafka: Kafka, topic: string, groupId: string, timeoutMs = 90_000): Promise<ReadMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  let want: Map<number, number>;
  try {
    want = await endOffsets(admin, topic, timeoutMs);
  } finally {
    await admin.disconnect();
  }
  const read: ReadMessage[] = [];
  const done = new Map<number, number>();
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        read.push({ id: message.value?.toString() ?? '', partition, offset: Number(message.offset) });
        done.set(partition, Number(message.offset) + 1);
      },
    });
    await waitFor(() => [...want].every(([p, end]) => (done.get(p) ?? 0) >= end), {
      timeoutMs,
      intervalMs: 100,
      what: () => `the checker to read to the end (${JSON.stringify([...done])} of ${JSON.stringify([...want])})`,
    });
  } finally {
    await consumer.disconnect();
  }
  return read;
}

export interface PartitionStateZnode {
  leader: number;
  leader_epoch: number;
  isr: number[];
  leader_recovery_state?: number;
}

/** Each partition's state znode (partitions 0..n-1), read with the cluster's ZooKeeper client. */
export async function partitionStates(cluster: ProcessCluster, topic: string, partitions: number): Promise<PartitionStateZnode[]> {
  const zk = await cluster.zkClient();
  return Promise.all(
    Array.from({ length: partitions }, async (_, p) => {
      const data = (await zk.getData(`/brokers/topics/${topic}/partitions/${p}/state`)).data;
      if (!data) throw new Error(`no state znode for ${topic}-${p}`);
      return JSON.parse(data.toString()) as PartitionStateZnode;
    }),
  );
}

/** The broker id in /controller, or undefined while there is none. */
export async function controllerId(cluster: ProcessCluster): Promise<number | undefined> {
  const zk = await cluster.zkClient();
  const data = await zk
    .getData('/controller')
    .then((r) => r.data)
    .catch(() => undefined);
  if (!data) return undefined;
  return (JSON.parse(data.toString()) as { brokerid: number }).brokerid;
}

/** One broker's own road to every ZooKeeper member: a proxy per member, so it alone can be cut off. */
export interface BrokerZkLink {
  readonly proxies: TcpProxy[];
  /** On: bytes to and from ZooKeeper vanish (the session times out); off: the held connections are cut, new ones work. */
  isolate(on: boolean): void;
  /** Drops the current connections (the client reconnects within its session). */
  cut(): void;
}

/**
 * Points each broker's zookeeper.connect at proxies of its own (one per member) by rewriting its
 * server.properties; call after ProcessCluster.create() and before the brokers start.
 */
export async function routeBrokersToZkThroughProxies(cluster: ProcessCluster): Promise<Map<number, BrokerZkLink>> {
  const links = new Map<number, BrokerZkLink>();
  for (const b of cluster.brokers) {
    const proxies = await Promise.all(cluster.zookeepers.map((z) => startTcpProxy(z.host, z.port)));
    const text = readFileSync(b.configPath, 'utf8');
    const line = `zookeeper.connect=${proxies.map((p) => p.connectString).join(',')}`;
    if (!/^zookeeper\.connect=.*$/m.test(text)) throw new Error(`no zookeeper.connect in ${b.configPath}`);
    writeFileSync(b.configPath, text.replace(/^zookeeper\.connect=.*$/m, line));
    links.set(b.id, {
      proxies,
      isolate(on) {
        for (const p of proxies) p.blackhole(on);
        // Bytes dropped mid-frame would desynchronise a connection that outlives the blackhole.
        if (!on) for (const p of proxies) p.cut();
      },
      cut() {
        for (const p of proxies) p.cut();
      },
    });
  }
  return links;
}

/**
 * Advertises each broker at a proxy in front of its listener (rewriting advertised.listeners), so
 * every connection made from metadata (clients', followers' fetches, the controller's requests)
 * reaches it through that proxy and can be blackholed; call after create() and before the start.
 */
export async function advertiseBrokersThroughProxies(cluster: ProcessCluster): Promise<Map<number, TcpProxy>> {
  const proxies = new Map<number, TcpProxy>();
  for (const b of cluster.brokers) {
    const proxy = await startTcpProxy(b.host, b.port);
    const line = `advertised.listeners=PLAINTEXT://${proxy.connectString}`;
    const text = readFileSync(b.configPath, 'utf8');
    const re = /^advertised\.listeners=.*$/m;
    writeFileSync(b.configPath, re.test(text) ? text.replace(re, line) : `${text.replace(/\n?$/, '\n')}${line}\n`);
    proxies.set(b.id, proxy);
  }
  return proxies;
}

/** The controller id in one broker's own Metadata v8 answer (-1: it knows none yet), asked over the wire. */
export async function metadataControllerId(host: string, port: number): Promise<number> {
  const c = await BrokerClient.connect({ host, port, clientId: 'cluster-clients', requestTimeoutMs: 5000 });
  try {
    const r = await c.request(3, 8, {
      topics: [],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    return r.controllerId as number;
  } finally {
    c.close();
  }
}

/**
 * Resolves once every running broker names a controller in its Metadata answers: registration
 * (what ProcessCluster waits for) comes before the controller's first UpdateMetadata, and
 * kafkajs's admin fails at once on controller -1.
 */
export async function waitForControllerKnown(cluster: ProcessCluster, timeoutMs = 60_000): Promise<void> {
  for (const b of cluster.brokers.filter((x) => x.alive)) {
    await waitFor(async () => (await metadataControllerId(b.host, b.port)) >= 0, {
      timeoutMs,
      intervalMs: 100,
      what: `broker ${b.id} to know the controller`,
    });
  }
}
