// Failover timings of one side of the cluster benchmark, on a topic of RF 3 whose state znodes are
// polled every POLL_MS: controlled shutdown (SIGTERM) of a broker until none of its leaderships
// is left; kill -9 of a partition leader until the first write acknowledged (acks=all) by the new
// leader, also counted from the session expiry (its /brokers/ids node vanishing); the killed
// broker, started again, until it is back in every ISR; kill -9 of the controller until a new
// controller has created a topic (CreateTopics answered and the topic's state znode written).

import kafkajs from 'kafkajs';
import type { ZooKeeperClient } from '../../src/zookeeper/client/index.js';
import {
  BROKER_IDS,
  type ClusterSide,
  controllerOf,
  createTopic,
  createTopicOnce,
  partitionStates,
  registered,
  until,
} from './kafkaClusterSides.js';

const { Kafka, logLevel } = kafkajs;

/** Bound of every wait of a failover (a session expiry plus a JVM start fit in it). */
const FAILOVER_WAIT_MS = 180_000;
/** Pause between the probe's sends while all is well (keeps its load negligible). */
const PROBE_GAP_MS = 10;

export interface FailoverResult {
  controlledShutdown?: { broker: number; leadersMovedMs: number; processExitMs: number; leaderships: number };
  killLeader?: {
    broker: number;
    partition: number;
    sessionExpiryMs: number;
    leaderMovedMs: number;
    firstAckMs: number;
    firstAckAfterExpiryMs: number;
  };
  rejoin?: { broker: number; servingMs: number; backInIsrMs: number };
  killController?: { broker: number; newControllerMs: number; servingMs: number; servingAfterExpiryMs: number };
}

/** One record per send to one partition, acks=all; records when each send is acknowledged. */
class Probe {
  private running = true;
  private paused = false;
  private inFlight: Promise<void> = Promise.resolve();
  private resumeWaiter: (() => void) | undefined;
  readonly acks: number[] = [];
  private loop: Promise<void> | undefined;

  constructor(
    private readonly producer: ReturnType<InstanceType<typeof Kafka>['producer']>,
    private readonly topic: string,
    private readonly partition: number,
  ) {}

  start(): void {
    this.loop = (async () => {
      for (let seq = 0; this.running; seq++) {
        if (this.paused) await new Promise<void>((r) => (this.resumeWaiter = r));
        if (!this.running) break;
        this.inFlight = this.producer
          .send({ topic: this.topic, acks: -1, timeout: 5000, messages: [{ partition: this.partition, value: `probe-${seq}` }] })
          .then(
            () => void this.acks.push(Date.now()),
            () => undefined, // retried sends that gave up: the next one tries again
          );
        await this.inFlight;
        await new Promise((r) => setTimeout(r, PROBE_GAP_MS));
      }
    })();
  }

  /** Stops sending after the send in flight: a kill then happens with no write outstanding. */
  async pause(): Promise<void> {
    this.paused = true;
    await this.inFlight;
  }

  resume(): void {
    this.paused = false;
    this.resumeWaiter?.();
    this.resumeWaiter = undefined;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.resume();
    await this.loop;
  }
}

export async function runFailovers(
  zk: ZooKeeperClient,
  side: ClusterSide,
  log: (s: string) => void,
): Promise<{ result: FailoverResult; failures: string[] }> {
  const result: FailoverResult = {};
  const failures: string[] = [];
  const topic = 'failover';
  const parts = 6;
  await createTopic(zk, side, topic, parts);
  const states = async (): Promise<{ leader: number; isr: number[] }[]> =>
    (await partitionStates(zk, side, topic, parts)).map((s) => s ?? { leader: -1, isr: [] });
  const allUp = async (): Promise<void> => {
    for (const id of BROKER_IDS) if (side.pid(id) === undefined) await side.start(id);
    await until(async () => (await states()).every((s) => s.isr.length === 3), FAILOVER_WAIT_MS, 'full ISRs');
  };
  /** A live non-controller broker leading at least one partition, and one partition it leads. */
  const victim = async (): Promise<{ broker: number; partition: number; leaderships: number }> => {
    const ctl = await controllerOf(zk, side);
    const st = await states();
    for (const id of BROKER_IDS) {
      if (id === ctl) continue;
      const led = st.map((s, p) => (s.leader === id ? p : -1)).filter((p) => p >= 0);
      if (led.length > 0) return { broker: id, partition: led[0]!, leaderships: led.length };
    }
    throw new Error(`no non-controller broker leads a partition (controller ${ctl}): ${JSON.stringify(st)}`);
  };

  // 1. Controlled shutdown.
  try {
    const v = await victim();
    const t0 = Date.now();
    let exitAt = 0;
    const stopped = side.stop(v.broker).then(() => {
      exitAt = Date.now();
    });
    const moved = await until(async () => (await states()).every((s) => s.leader !== v.broker), FAILOVER_WAIT_MS, 'leaders moved');
    await stopped;
    result.controlledShutdown = { broker: v.broker, leadersMovedMs: moved - t0, processExitMs: exitAt - t0, leaderships: v.leaderships };
    log(`  controlled shutdown of ${v.broker}: ${v.leaderships} leaders moved in ${moved - t0} ms, exit after ${exitAt - t0} ms`);
    await allUp();
  } catch (e) {
    failures.push(`controlled shutdown: ${(e as Error).message}`);
    await allUp().catch(() => undefined);
  }

  // 2. kill -9 of a partition leader, with a probe writing to that partition; then its return.
  const kafka = new Kafka({
    clientId: 'cluster-bench-probe',
    brokers: side.bootstrap().split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 5000,
    retry: { initialRetryTime: 20, maxRetryTime: 200, retries: 300 },
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: 1 });
  try {
    await producer.connect();
    const v = await victim();
    const probe = new Probe(producer, topic, v.partition);
    probe.start();
    try {
      await until(async () => probe.acks.length >= 20, 30_000, 'probe warm');
      await probe.pause();
      await side.kill(v.broker);
      const t0 = Date.now();
      probe.resume();
      const [expiry, moved] = await Promise.all([
        until(async () => !(await registered(zk, side, v.broker)), FAILOVER_WAIT_MS, 'session expiry'),
        until(async () => (await states())[v.partition]!.leader !== v.broker, FAILOVER_WAIT_MS, 'new leader'),
        until(async () => probe.acks.some((t) => t > t0), FAILOVER_WAIT_MS, 'first ack on the new leader'),
      ]);
      const firstAck = probe.acks.find((t) => t > t0)!;
      result.killLeader = {
        broker: v.broker,
        partition: v.partition,
        sessionExpiryMs: expiry - t0,
        leaderMovedMs: moved - t0,
        firstAckMs: firstAck - t0,
        firstAckAfterExpiryMs: firstAck - expiry,
      };
      log(
        `  kill -9 of leader ${v.broker} (p${v.partition}): expiry ${expiry - t0} ms, new leader ${moved - t0} ms, first ack ${firstAck - t0} ms`,
      );
    } finally {
      await probe.stop();
    }
    const t1 = Date.now();
    await side.start(v.broker);
    const serving = Date.now();
    const back = await until(async () => (await states()).every((s) => s.isr.includes(v.broker)), FAILOVER_WAIT_MS, 'back in every ISR');
    result.rejoin = { broker: v.broker, servingMs: serving - t1, backInIsrMs: back - t1 };
    log(`  broker ${v.broker} restarted: serving after ${serving - t1} ms, in every ISR after ${back - t1} ms`);
  } catch (e) {
    failures.push(`kill -9 leader / rejoin: ${(e as Error).message}`);
  } finally {
    await producer.disconnect().catch(() => undefined);
    await allUp().catch(() => undefined);
  }

  // 3. kill -9 of the controller until a new one serves CreateTopics.
  try {
    const ctl = await controllerOf(zk, side);
    if (ctl === undefined) throw new Error('no controller');
    await side.kill(ctl);
    const t0 = Date.now();
    const expiry = await until(async () => !(await registered(zk, side, ctl)), FAILOVER_WAIT_MS, 'controller session expiry');
    const elected = await until(async () => ((await controllerOf(zk, side)) ?? ctl) !== ctl, FAILOVER_WAIT_MS, 'new controller');
    const name = `after-controller-${t0}`;
    await until(() => createTopicOnce(zk, side, name, 1, 2), FAILOVER_WAIT_MS, 'CreateTopics by the new controller');
    const serving = await until(
      async () => ((await partitionStates(zk, side, name, 1))[0]?.leader ?? -1) >= 0,
      FAILOVER_WAIT_MS,
      'new topic led',
    );
    result.killController = { broker: ctl, newControllerMs: elected - t0, servingMs: serving - t0, servingAfterExpiryMs: serving - expiry };
    log(
      `  kill -9 of controller ${ctl}: new controller ${elected - t0} ms, serving ${serving - t0} ms (${serving - expiry} ms after expiry)`,
    );
  } catch (e) {
    failures.push(`kill -9 controller: ${(e as Error).message}`);
  }
  return { result, failures };
}
