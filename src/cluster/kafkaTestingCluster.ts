// An in-process Kafka cluster on loopback for tests and embedding: M brokers on an N-member
// ZooKeeper ensemble of ours (or on any ZooKeeper given by connect string, e.g. Apache's).
// Each broker is configured through real server.properties text, as `clustergenie kafka
// --config` reads it, with its own log dir; a restarted broker keeps its port and data.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker } from '../kafka/broker/broker.js';
import { parseServerProperties } from '../kafka/config.js';
import { partitionFor } from '../kafka/coordinator/partitionFor.js';
import type { Logger } from '../util/log.js';
import { freePort } from '../util/net.js';
import { parseZooCfg } from '../zookeeper/config.js';
import { type ZooKeeperServerShell, startZooKeeperServer } from '../zookeeper/server/server.js';
import { ZooKeeperTestingCluster } from './zkTestingCluster.js';

/** The ZooKeeper a testing cluster started: one standalone server or an ensemble. */
interface OwnZooKeeper {
  readonly connectString: string;
  expireSession(sessionId: bigint): void;
  close(): Promise<void>;
}

async function startOwnZooKeeper(dir: string, members: number, logger: Logger | undefined): Promise<OwnZooKeeper> {
  if (members > 1) {
    const zk = await ZooKeeperTestingCluster.start({ size: members, ...(logger ? { logger } : {}) });
    return { connectString: zk.connectString, expireSession: (id) => zk.expireSession(id), close: () => zk.close() };
  }
  const port = await freePort();
  const dataDir = join(dir, 'zookeeper');
  const cfg = `tickTime=2000\ndataDir=${dataDir}\nclientPort=${port}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\nmaxClientCnxns=0\n`;
  const shell: ZooKeeperServerShell = await startZooKeeperServer(parseZooCfg(cfg, dir).options, logger ? { logger } : {});
  return {
    connectString: `127.0.0.1:${shell.port}`,
    expireSession: (id) => {
      if (!shell.core.expireSession(id)) throw new Error(`session 0x${id.toString(16)} is not live`);
    },
    close: () => shell.stop(),
  };
}

/** How long start() waits for every broker to know every other one. */
const clusterViewWaitMs = 30_000;

export interface KafkaTestingClusterOptions {
  /** Brokers to start (ids 1..n). Default 1. */
  brokers?: number;
  /** ZooKeeper members of our own to start when `zkConnect` is not given. Default 1. */
  zkMembers?: number;
  /** Use this ZooKeeper instead of starting one (host:port[,...][/chroot]). */
  zkConnect?: string;
  /** Extra server.properties settings for every broker. */
  brokerProps?: Record<string, string>;
  logger?: Logger;
}

export interface TestingBroker {
  readonly id: number;
  readonly logDir: string;
  port: number;
  broker: Broker | undefined;
}

export class KafkaTestingCluster {
  private constructor(
    readonly dir: string,
    readonly zk: OwnZooKeeper | undefined,
    readonly zkConnect: string,
    readonly brokers: TestingBroker[],
    private readonly props: Record<string, string>,
    private readonly logger: Logger | undefined,
  ) {}

  static async start(opts: KafkaTestingClusterOptions = {}): Promise<KafkaTestingCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'cg-kafka-cluster-'));
    let zk: OwnZooKeeper | undefined;
    try {
      if (!opts.zkConnect) zk = await startOwnZooKeeper(dir, opts.zkMembers ?? 1, opts.logger);
      const zkConnect = opts.zkConnect ?? (zk as OwnZooKeeper).connectString;
      const brokers: TestingBroker[] = [];
      for (let id = 1; id <= (opts.brokers ?? 1); id++) brokers.push({ id, logDir: join(dir, `broker-${id}`), port: 0, broker: undefined });
      const cluster = new KafkaTestingCluster(dir, zk, zkConnect, brokers, opts.brokerProps ?? {}, opts.logger);
      for (const b of brokers) await cluster.startBroker(b.id);
      // Each broker serves once it knows itself and the controller; the controller's UpdateMetadata
      // naming the brokers that started after it may still be in flight. Callers get a whole view.
      const ids = brokers.map((b) => b.id);
      for (const b of brokers) {
        const m = b.broker!.metadata;
        if (!(await m.waitUntil(() => ids.every((id) => m.brokers.has(id)), clusterViewWaitMs))) {
          throw new Error(`broker ${b.id} did not learn brokers ${ids.join(', ')} within ${clusterViewWaitMs} ms`);
        }
      }
      return cluster;
    } catch (e) {
      await zk?.close();
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** `host:port,...` of every running broker, for a client's bootstrap list. */
  get bootstrap(): string {
    return this.brokers
      .filter((b) => b.broker)
      .map((b) => `127.0.0.1:${b.port}`)
      .join(',');
  }

  get(id: number): TestingBroker {
    const b = this.brokers.find((x) => x.id === id);
    if (!b) throw new Error(`no broker ${id}`);
    return b;
  }

  /** The server.properties text a broker runs with. */
  propertiesText(id: number): string {
    const b = this.get(id);
    const props: Record<string, string> = {
      'broker.id': String(id),
      listeners: `PLAINTEXT://127.0.0.1:${b.port}`,
      'log.dirs': b.logDir,
      'zookeeper.connect': this.zkConnect,
      'zookeeper.session.timeout.ms': '6000',
      'offsets.topic.replication.factor': '1',
      'offsets.topic.num.partitions': '4',
      'group.initial.rebalance.delay.ms': '0',
      'num.partitions': '1',
      'default.replication.factor': '1',
      ...this.props,
    };
    return `${Object.entries(props)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`;
  }

  async startBroker(id: number): Promise<Broker> {
    const b = this.get(id);
    if (b.broker) return b.broker;
    const config = parseServerProperties(this.propertiesText(id), {});
    const broker = new Broker(config, this.logger ? { logger: this.logger } : {});
    try {
      await broker.start();
    } catch (e) {
      await broker.stop().catch(() => undefined);
      throw e;
    }
    b.port = broker.port;
    b.broker = broker;
    return broker;
  }

  /** A clean stop (controlled shutdown, logs flushed, clean-shutdown marker written). */
  async stopBroker(id: number): Promise<void> {
    const b = this.get(id);
    const broker = b.broker;
    b.broker = undefined;
    await broker?.stop();
  }

  async restartBroker(id: number): Promise<Broker> {
    await this.stopBroker(id);
    return this.startBroker(id);
  }

  /** A partition's state znode (leader, epoch, ISR) as the controller last wrote it. */
  async partitionState(topic: string, partition: number): Promise<{ leader: number; leader_epoch: number; isr: number[] }> {
    const live = this.brokers.find((b) => b.broker)?.broker;
    if (!live) throw new Error('no broker is running');
    const { data } = await live.zkClient.getData(`/brokers/topics/${topic}/partitions/${partition}/state`);
    return JSON.parse(data?.toString() ?? 'null') as { leader: number; leader_epoch: number; isr: number[] };
  }

  /** The broker coordinating `groupId`: the leader of its __consumer_offsets partition (per ZooKeeper). */
  async coordinatorOf(groupId: string): Promise<number> {
    const live = this.brokers.find((b) => b.broker)?.broker;
    if (!live) throw new Error('no broker is running');
    return (await this.partitionState('__consumer_offsets', partitionFor(groupId, live.config.offsetsTopicNumPartitions))).leader;
  }

  /** Expires a broker's ZooKeeper session as if its timeout had passed (our ensemble only). */
  expireBrokerSession(id: number): void {
    const broker = this.get(id).broker;
    if (!broker) throw new Error(`broker ${id} is not running`);
    if (!this.zk) throw new Error("session expiry needs the testing cluster's own ZooKeeper");
    this.zk.expireSession(broker.zkClient.sessionId);
  }

  async close(): Promise<void> {
    for (const b of this.brokers) await this.stopBroker(b.id).catch(() => undefined);
    await this.zk?.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}
