// The two sides of the cluster benchmark, behind one shape: three of our brokers as processes
// (ProcessCluster) and three Apache Kafka 3.9 brokers (the oracle helper, kafka-server-start.sh's
// JVM flags), both on one 3-member ZooKeeper ensemble of ours (Apache in a chroot), data dirs in
// the OS temp dir, the same server.properties keys. Each broker can be killed, stopped and
// started again on its data; partition state znodes and /controller are read from ZooKeeper.

import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProcessCluster } from '../../src/cluster/processCluster.js';
import { BrokerClient } from '../../src/kafka/net/brokerClient.js';
import type { ZooKeeperClient } from '../../src/zookeeper/client/index.js';
import { type KafkaHandle, probeMetadataBrokers, startApacheKafka } from '../../test/helpers/apacheKafka.js';
import { killOnExit } from '../../test/helpers/children.js';
import { freePort } from '../../test/helpers/net.js';

export type ClusterImpl = 'clustergenie' | 'apache';
export const HOST = '127.0.0.1';
export const BROKER_IDS = [1, 2, 3] as const;
/** How often state znodes and /controller are polled during failovers. */
export const POLL_MS = 20;

export function clusterLabel(impl: ClusterImpl): string {
  return impl === 'clustergenie' ? 'ClusterGenie' : 'Apache Kafka 3.9';
}

/** The server.properties keys both sides get (beyond id, listener, log dir and ZooKeeper). */
export function clusterProps(sessionTimeoutMs: number): Record<string, string> {
  return {
    'zookeeper.session.timeout.ms': String(sessionTimeoutMs),
    'num.partitions': '1',
    'default.replication.factor': '3',
    'min.insync.replicas': '2',
    'offsets.topic.replication.factor': '3',
    'transaction.state.log.replication.factor': '3',
    'transaction.state.log.min.isr': '2',
    'replica.lag.time.max.ms': '10000',
    'group.initial.rebalance.delay.ms': '0',
    // Failover timings must not be mixed with a background preferred-leader election.
    'auto.leader.rebalance.enable': 'false',
    'log.retention.hours': '168',
    'log.segment.bytes': '1073741824',
  };
}

export interface PartitionState {
  leader: number;
  leader_epoch: number;
  isr: number[];
}

export interface ClusterSide {
  impl: ClusterImpl;
  /** host:port of the live brokers. */
  bootstrap(): string;
  /** PID of a live broker (undefined while it is down). */
  pid(id: number): number | undefined;
  address(id: number): { host: string; port: number } | undefined;
  kill(id: number): Promise<void>;
  /** SIGTERM and wait for the exit (controlled shutdown). */
  stop(id: number): Promise<void>;
  /** Starts broker `id` again on its data and waits until it serves. */
  start(id: number): Promise<void>;
  /** Path prefix of this side in ZooKeeper ('' or '/chroot'). */
  zkRoot: string;
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function zkJson<T>(zk: ZooKeeperClient, path: string): Promise<T | undefined> {
  const data = await zk
    .getData(path)
    .then((r) => r.data)
    .catch(() => undefined);
  return data ? (JSON.parse(data.toString()) as T) : undefined;
}

export async function partitionStates(
  zk: ZooKeeperClient,
  side: ClusterSide,
  topic: string,
  parts: number,
): Promise<(PartitionState | undefined)[]> {
  return Promise.all(
    Array.from({ length: parts }, (_, p) => zkJson<PartitionState>(zk, `${side.zkRoot}/brokers/topics/${topic}/partitions/${p}/state`)),
  );
}

export async function controllerOf(zk: ZooKeeperClient, side: ClusterSide): Promise<number | undefined> {
  return (await zkJson<{ brokerid: number }>(zk, `${side.zkRoot}/controller`))?.brokerid;
}

export async function registered(zk: ZooKeeperClient, side: ClusterSide, id: number): Promise<boolean> {
  return (await zk.exists(`${side.zkRoot}/brokers/ids/${id}`).catch(() => undefined)) != null;
}

/** Polls `cond` every POLL_MS until it holds; resolves Date.now() at that moment. */
export async function until(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond().catch(() => false)) return Date.now();
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

/**
 * CreateTopics (v5) sent to the broker /controller names; resolves true on success (or an
 * existing topic), false on a failure worth retrying (no controller, NOT_CONTROLLER, a dead one).
 */
export async function createTopicOnce(
  zk: ZooKeeperClient,
  side: ClusterSide,
  name: string,
  parts: number,
  rf: number,
  timeoutMs = 2000,
): Promise<boolean> {
  const c = await controllerOf(zk, side);
  const addr = c === undefined ? undefined : side.address(c);
  if (!addr) return false;
  let client: BrokerClient | undefined;
  try {
    client = await BrokerClient.connect({ ...addr, clientId: 'cluster-bench', connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs });
    const r = await client.request(19, 5, {
      topics: [
        { name, numPartitions: parts, replicationFactor: rf, assignments: [], configs: [{ name: 'min.insync.replicas', value: '2' }] },
      ],
      timeoutMs,
      validateOnly: false,
    });
    const code = (r.topics as { errorCode: number }[])[0]?.errorCode;
    return code === 0 || code === 36; // 36: TOPIC_ALREADY_EXISTS (a retry of a create that went through)
  } catch {
    return false;
  } finally {
    client?.close();
  }
}

/** Creates the topic and waits until every partition has a leader and a full ISR. */
export async function createTopic(zk: ZooKeeperClient, side: ClusterSide, name: string, parts: number, rf = 3): Promise<void> {
  await until(() => createTopicOnce(zk, side, name, parts, rf, 10_000), 60_000, `topic ${name} created`);
  await until(
    async () => (await partitionStates(zk, side, name, parts)).every((s) => s !== undefined && s.leader >= 0 && s.isr.length === rf),
    60_000,
    `${name}: leaders and full ISRs`,
  );
  // Brokers learn the leaders from the controller's UpdateMetadata, a moment after the znodes.
  for (const id of BROKER_IDS) {
    const a = side.address(id);
    if (!a) continue;
    await until(async () => (await probeMetadataBrokers(a.host, a.port)).length >= rf, 30_000, `broker ${id} metadata`);
  }
  await sleep(200);
}

/** Ours: the brokers of a ProcessCluster whose ZooKeeper members are already serving. */
export function oursSide(cluster: ProcessCluster): ClusterSide {
  return {
    impl: 'clustergenie',
    zkRoot: '',
    bootstrap: () =>
      cluster.brokers
        .filter((b) => b.alive)
        .map((b) => `${b.host}:${b.port}`)
        .join(','),
    pid: (id) => cluster.broker(id).pid,
    address: (id) => {
      const b = cluster.broker(id);
      return b.alive ? { host: b.host, port: b.port } : undefined;
    },
    kill: async (id) => void (await cluster.broker(id).kill()),
    stop: async (id) => void (await cluster.broker(id).stop()),
    start: async (id) => {
      await cluster.broker(id).start();
      await cluster.broker(id).waitServing(120_000);
    },
    close: async () => {
      await Promise.all(cluster.brokers.map((b) => b.stop(30_000)));
    },
  };
}

/** Apache: three brokers (ids 1..3) on `zkConnect` + `chroot`, log dirs under `dataRoot`. */
export async function apacheSide(zkConnect: string, chroot: string, dataRoot: string, props: Record<string, string>): Promise<ClusterSide> {
  process.env['APACHE_KAFKA_JVM'] = 'stock';
  const handles = new Map<number, KafkaHandle>();
  const dead = new Set<number>();
  const startOne = async (id: number): Promise<void> => {
    const h = await startApacheKafka({
      zkConnect: `${zkConnect}${chroot}`,
      brokerId: id,
      logDir: join(dataRoot, `apache${id}`),
      extraProps: props,
      startTimeoutMs: 180_000,
    });
    handles.set(id, h);
    dead.delete(id);
  };
  const side: ClusterSide = {
    impl: 'apache',
    zkRoot: chroot,
    bootstrap: () =>
      [...handles.entries()]
        .filter(([id]) => !dead.has(id))
        .map(([, h]) => h.bootstrap)
        .join(','),
    pid: (id) => (dead.has(id) ? undefined : handles.get(id)?.pid),
    address: (id) => {
      const h = handles.get(id);
      return h && !dead.has(id) ? { host: h.host, port: h.port } : undefined;
    },
    kill: async (id) => {
      const h = handles.get(id)!;
      process.kill(h.pid, 'SIGKILL');
      dead.add(id);
      await until(async () => !pidAlive(h.pid), 10_000, `apache ${id} gone`);
      await h.stop({ keepDir: false }); // reaps the helper's watchdog; the log dir is ours and stays
    },
    stop: async (id) => {
      const h = handles.get(id)!;
      await h.stop();
      dead.add(id);
    },
    start: startOne,
    close: async () => {
      await Promise.all([...handles.values()].map((h) => h.stop()));
    },
  };
  // One at a time: three JVMs starting at once on two cores each time out on their own.
  for (const id of BROKER_IDS) await startOne(id);
  return side;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface SingleBroker {
  bootstrap: string;
  pid: number;
  stop(): Promise<void>;
}

/** One broker of ours (the build this file belongs to) on `zkConnect`: the single-broker acks=1 reference. */
export async function startSingleOurs(zkConnect: string, dir: string): Promise<SingleBroker> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const props = {
    'broker.id': '0',
    listeners: `PLAINTEXT://${HOST}:${port}`,
    'log.dirs': join(dir, 'data'),
    'zookeeper.connect': zkConnect,
    'num.partitions': '1',
    'offsets.topic.replication.factor': '1',
    'group.initial.rebalance.delay.ms': '0',
    'log.segment.bytes': '1073741824',
  };
  const cfg = join(dir, 'server.properties');
  writeFileSync(
    cfg,
    `${Object.entries(props)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  );
  const mainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const child = spawn(process.execPath, [mainJs, 'kafka', '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  killOnExit(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-8192);
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await until(
      async () => child.exitCode === null && (await probeMetadataBrokers(HOST, port)).includes(0),
      60_000,
      'single broker serving',
    );
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n${err}`);
  }
  return { bootstrap: `${HOST}:${port}`, pid: child.pid!, stop };
}
