// The ZooKeeper-mode controller's shell: elected through /controller, it watches brokers, topics
// and deletion markers, feeds what it reads to ControllerCore (decisions.ts), makes the epoch-fenced
// writes the core asks for and sends the resulting LeaderAndIsr / UpdateMetadata / StopReplica
// requests to the brokers over the inter-broker listener (requestBatch.ts, channel.ts). It also
// answers the brokers' AlterPartition and ControlledShutdown and runs ElectLeaders and the auto
// leader rebalance. Like KafkaController, all events go through one serialized queue. A
// controller whose session expires or whose fenced write fails resigns and stops writing.

import { EventEmitter } from 'node:events';
import { Err, isZooKeeperError, waitConnected } from '../../zookeeper/client/index.js';
import type { Logger } from '../../util/log.js';
import { silentLogger } from '../../util/log.js';
import { ControllerMovedError, type ControllerLease, type KafkaZk, type WatchHandle } from '../zk/kafkaZk.js';
import { LEADER_RECOVERY_RECOVERING, Paths, decodeController, type PartitionState } from '../zk/layout.js';
import type { Msg } from '../protocol/schema.js';
import { ErrorCode } from '../protocol/errors.js';
import { BrokerRequestSender } from './sender.js';
import { type OngoingReassignment, Reassigner, type ReassignmentRequest, type ReassignmentResult } from './reassigner.js';
import {
  type AlterPartitionItem,
  type ElectionOutcome,
  type TopicPartition,
  ControllerCore,
  type ControllerNotification,
  type ControllerWrite,
  type Decision,
  type LeaderAndIsrState,
  type TopicSnapshot,
} from './decisions.js';

export type { LeaderAndIsrState } from './decisions.js';

export type LeaderAndIsrListener = (
  topic: string,
  topicId: string | undefined,
  partition: number,
  state: LeaderAndIsrState,
) => void | Promise<void>;
/** `replicas`: the brokers that must drop the partition. Deletion waits until every listener resolves. */
export type StopReplicaListener = (topic: string, partition: number, deletePartition: boolean, replicas: number[]) => void | Promise<void>;

export interface ControllerOptions {
  brokerId: number;
  /** delete.topic.enable (default true). */
  deleteTopicEnable?: boolean;
  /** unclean.leader.election.enable per topic (default false). */
  uncleanLeaderElection?: (topic: string) => boolean;
  logger?: Logger;
  /** Bound on distinct queued controller events (they coalesce by kind and topic). */
  eventQueueMax?: number;
  /** Bound on re-decisions after conflicting state writes within one event. */
  conflictRetriesMax?: number;
  /**
   * Send LeaderAndIsr/UpdateMetadata/StopReplica to the brokers over this listener (Kafka's
   * inter.broker.listener.name). Without it decisions only reach the listeners (tests of the core).
   */
  interBrokerListener?: string;
  /** controller.socket.timeout.ms */
  requestTimeoutMs?: number;
  /** The controller's own broker, reached in process rather than through its advertised endpoint. */
  localBroker?: (apiKey: number, version: number, body: Msg) => Promise<Msg>;
  /** auto.leader.rebalance.enable with leader.imbalance.check.interval.seconds / .per.broker.percentage. */
  autoLeaderRebalance?: { checkIntervalMs: number; imbalancePercentage: number };
  /** Metrics: a broker-change event handled while active, and how long it took (LeaderElectionRateAndTimeMs). */
  onBrokerChangeHandled?: (ms: number) => void;
  /** Metrics: a leader elected from outside the ISR was written (UncleanLeaderElectionsPerSec). */
  onUncleanLeaderElection?: () => void;
}

export interface ControlledShutdownResult {
  errorCode: number;
  remaining: TopicPartition[];
}

export interface AlterPartitionResult {
  errorCode: number;
  partitions: { topic: string; partition: number; errorCode: number; state?: LeaderAndIsrState }[];
}

export interface ControllerEvents {
  elected: [lease: ControllerLease];
  resigned: [];
  /** An event failed in a way that is neither fencing nor session loss. */
  error: [error: unknown];
}

type QueuedEvent = { key: string; run: () => Promise<void>; cancel?: () => void };

/** Runs of one event when its connection drops midway. */
const EVENT_ATTEMPTS_MAX = 3;
/** Partition state writes in flight at once on the controller's session. */
export const stateWritesInFlightMax = 500;

/**
 * A decision's writes cut into runs that may be written concurrently: consecutive state writes
 * (create or update) of distinct partitions, at most stateWritesInFlightMax each; any other write
 * (topic deletion and its marker, whose order matters) is a run of its own.
 */
export function pipelinedRuns(writes: readonly ControllerWrite[]): ControllerWrite[][] {
  const runs: ControllerWrite[][] = [];
  let run: ControllerWrite[] = [];
  let keys = new Set<string>();
  const close = (): void => {
    if (run.length > 0) runs.push(run);
    run = [];
    keys = new Set();
  };
  for (const w of writes) {
    if (w.kind !== 'createState' && w.kind !== 'updateState') {
      close();
      runs.push([w]);
      continue;
    }
    const key = `${w.topic}\0${w.partition}`;
    if (keys.has(key) || run.length >= stateWritesInFlightMax) close();
    run.push(w);
    keys.add(key);
  }
  close();
  return runs;
}

export class Controller extends EventEmitter<ControllerEvents> {
  readonly brokerId: number;
  private readonly zk: KafkaZk;
  private readonly deleteTopicEnable: boolean;
  private readonly uncleanLeaderElection: ((topic: string) => boolean) | undefined;
  private readonly log: Logger;
  private readonly eventQueueMax: number;
  private readonly conflictRetriesMax: number;
  private readonly leaderAndIsrListeners: LeaderAndIsrListener[] = [];
  private readonly stopReplicaListeners: StopReplicaListener[] = [];
  private readonly metadataListeners: (() => void)[] = [];
  private readonly queue: QueuedEvent[] = [];
  private readonly queuedKeys = new Set<string>();
  private draining: Promise<void> | undefined;
  private controllerWatch: WatchHandle | undefined;
  /** /controller as the watch last read it (null: vacant). */
  private controllerData: Buffer | null = null;
  /** Watches held only while active. */
  private activeWatches: WatchHandle[] = [];
  private readonly topicWatches = new Map<string, WatchHandle>();
  private lease: ControllerLease | undefined;
  private core: ControllerCore | undefined;
  private stopped = false;
  /** This term's requests to the brokers (absent without an inter-broker listener). */
  private sender: BrokerRequestSender | undefined;
  private rebalanceTimer: NodeJS.Timeout | undefined;
  private nextRequestKey = 0;

  constructor(zk: KafkaZk, opts: ControllerOptions) {
    super();
    this.zk = zk;
    this.brokerId = opts.brokerId;
    this.deleteTopicEnable = opts.deleteTopicEnable ?? true;
    this.uncleanLeaderElection = opts.uncleanLeaderElection;
    this.log = opts.logger ?? silentLogger;
    this.eventQueueMax = opts.eventQueueMax ?? 100_000;
    this.conflictRetriesMax = opts.conflictRetriesMax ?? 20;
    this.opts = opts;
    this.reassigner = new Reassigner({
      zk,
      log: this.log,
      epochZkVersion: () => this.lease?.epochZkVersion,
      execute: (d) => this.execute(d),
      deliver: (n) => this.deliver(n),
    });
    zk.on('expired', this.onSessionExpired);
  }

  private readonly reassigner: Reassigner;

  private readonly opts: ControllerOptions;

  get isActive(): boolean {
    return this.lease !== undefined;
  }

  get epoch(): number | undefined {
    return this.lease?.epoch;
  }

  /** The active term's decision core, for read-only use (the metrics scrape); undefined when not active. */
  get activeCore(): ControllerCore | undefined {
    return this.isActive ? this.core : undefined;
  }

  /** The controller's cached leader/ISR of a partition (undefined when not active or unknown). */
  partitionState(topic: string, partition: number): LeaderAndIsrState | undefined {
    return this.core?.partitionState(topic, partition);
  }

  /** The topic with this id, as the active controller knows it. */
  topicByTopicId(topicId: string): string | undefined {
    return this.core?.topicByTopicId(topicId);
  }

  topicIdOf(topic: string): string | undefined {
    return this.core?.topicId(topic);
  }

  onLeaderAndIsr(cb: LeaderAndIsrListener): void {
    this.leaderAndIsrListeners.push(cb);
  }

  onStopReplica(cb: StopReplicaListener): void {
    this.stopReplicaListeners.push(cb);
  }

  onMetadataChange(cb: () => void): void {
    this.metadataListeners.push(cb);
  }

  /** Watch /controller and run for election whenever it is vacant. */
  start(): void {
    if (this.controllerWatch || this.stopped) return;
    this.controllerWatch = this.zk.watchData(Paths.controller, (data) => {
      // A 'controller' event already queued absorbs this one (enqueue coalesces by key), so the
      // event reads the newest content when it runs: with the content it was queued with, a
      // vacancy seen while it waited would be lost and this broker would never run for the seat.
      this.controllerData = data;
      this.enqueue('controller', () => this.onControllerChange(this.controllerData));
    });
  }

  /**
   * Stop: resign and drop every watch. `keepSeat` leaves /controller to the session's close, as
   * Apache's broker does: the closeSession then removes /controller and /brokers/ids/<id> in one
   * transaction. Deleting the seat first would let a new controller, not knowing this broker is
   * shutting down, accept a leader's ISR expansion that re-adds it.
   */
  async stop(o: { keepSeat?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.controllerWatch?.close();
    this.controllerWatch = undefined;
    this.zk.off('expired', this.onSessionExpired);
    for (const ev of this.queue.splice(0)) ev.cancel?.();
    this.queuedKeys.clear();
    await this.draining;
    const lease = this.lease;
    this.resign();
    if (lease && !o.keepSeat) await this.zk.deleteController(lease.epochZkVersion).catch(() => undefined);
  }

  // ---- event queue

  /** False when the event was not queued (stopped, or the queue is full). */
  private enqueue(key: string, run: () => Promise<void>, cancel?: () => void): boolean {
    if (this.stopped) return false;
    // Events re-read ZooKeeper when they run, so a queued one already covers a newer trigger.
    if (this.queuedKeys.has(key)) return true;
    if (this.queue.length >= this.eventQueueMax) {
      this.emit('error', new Error(`controller event queue full (${this.eventQueueMax})`));
      return false;
    }
    this.queuedKeys.add(key);
    this.queue.push(cancel ? { key, run, cancel } : { key, run });
    if (!this.draining) this.draining = this.drain();
    return true;
  }

  private async drain(): Promise<void> {
    for (let ev = this.queue.shift(); ev !== undefined; ev = this.queue.shift()) {
      this.queuedKeys.delete(ev.key);
      for (let attempt = 1; ; attempt++) {
        try {
          await ev.run();
        } catch (e) {
          // A lost connection (not session) leaves the event half done: run it again once
          // reconnected; handlers re-read ZooKeeper and conditional writes make that safe.
          if (isZooKeeperError(e, Err.CONNECTIONLOSS) && attempt < EVENT_ATTEMPTS_MAX && !this.stopped) {
            const ok = await waitConnected(this.zk.client).then(
              () => true,
              () => false,
            );
            if (ok) continue;
          }
          this.handleFailure(e);
        }
        break;
      }
    }
    this.draining = undefined;
  }

  private handleFailure(e: unknown): void {
    if (e instanceof ControllerMovedError) {
      this.log.info({ brokerId: this.brokerId }, 'controller moved; resigning');
      this.resign();
    } else if (isZooKeeperError(e, Err.SESSIONEXPIRED) || isZooKeeperError(e, Err.CONNECTIONLOSS)) {
      // Session loss resigns through onSessionExpired; a lost connection is retried on the next event.
      if (isZooKeeperError(e, Err.SESSIONEXPIRED)) this.resign();
    } else {
      this.log.error({ err: e }, 'controller event failed');
      if (this.listenerCount('error') > 0) this.emit('error', e);
    }
  }

  private readonly onSessionExpired = (): void => {
    // The ephemeral /controller is gone with the session: stop writing at once.
    this.resign();
  };

  // ---- election

  private async onControllerChange(data: Buffer | null): Promise<void> {
    if (data === null) {
      if (this.isActive) this.resign();
      await this.runForSeat();
      return;
    }
    let holder: number | undefined;
    try {
      holder = decodeController(data).brokerId;
    } catch {
      holder = undefined;
    }
    this.log.debug({ brokerId: this.brokerId, holder, active: this.isActive }, '/controller held');
    if (this.isActive && holder !== this.brokerId) this.resign();
    // Named while not active: this session's seat from an election whose answer was lost, or one
    // a failed failover could not give up. Held idle, it would get every controller request
    // answered NOT_CONTROLLER until the session ends; tryElectController gives this session's own
    // seat back as its lease (another session's, e.g. a previous process of this id, as null).
    else if (!this.isActive && holder === this.brokerId) await this.runForSeat();
  }

  /** KafkaController.elect: the seat if it is vacant (or already this session's), then the failover. */
  private async runForSeat(): Promise<void> {
    const lease = await this.zk.tryElectController(this.brokerId);
    this.log.debug({ brokerId: this.brokerId, won: lease !== null }, 'ran for controller');
    if (!lease) return;
    try {
      await this.onControllerFailover(lease);
    } catch (e) {
      if (e instanceof ControllerMovedError) throw e;
      // As KafkaController's triggerControllerMove: give the seat up so that an election
      // (maybe ours again, through the /controller watch) starts from scratch.
      this.log.warn({ err: e }, 'controller failover failed; moving the controller');
      this.resign();
      await this.zk.deleteController(lease.epochZkVersion).catch(() => undefined);
      if (!isZooKeeperError(e)) throw e;
    }
  }

  private resign(): void {
    if (!this.lease) return;
    this.lease = undefined;
    this.core = undefined;
    this.sender?.close();
    this.sender = undefined;
    if (this.rebalanceTimer) clearInterval(this.rebalanceTimer);
    this.rebalanceTimer = undefined;
    for (const w of this.activeWatches) w.close();
    this.activeWatches = [];
    for (const w of this.topicWatches.values()) w.close();
    this.topicWatches.clear();
    // Events queued for the old term are meaningless now (requests from brokers are answered NOT_CONTROLLER).
    for (const ev of this.queue.splice(0)) {
      if (ev.key === 'controller') this.queue.push(ev);
      else ev.cancel?.();
    }
    this.queuedKeys.clear();
    for (const ev of this.queue) this.queuedKeys.add(ev.key);
    this.emit('resigned');
  }

  private async onControllerFailover(lease: ControllerLease): Promise<void> {
    this.lease = lease;
    const core = new ControllerCore({
      controllerEpoch: lease.epoch,
      ...(this.uncleanLeaderElection ? { uncleanLeaderElection: this.uncleanLeaderElection } : {}),
    });
    this.log.info({ brokerId: this.brokerId, epoch: lease.epoch }, 'elected controller');
    // Watches first (their first deliveries queue behind this event and find nothing new).
    this.activeWatches.push(
      this.zk.watchChildren(Paths.brokerIds, () => this.enqueue('brokers', () => this.onBrokerChange())),
      this.zk.watchChildren(Paths.topics, () => this.enqueue('topics', () => this.onTopicChange())),
      this.zk.watchChildren(Paths.deleteTopics, () => this.enqueue('deletions', () => this.onDeletionRequest())),
      this.reassigner.watchZnode((run) => this.enqueue('reassignZnode', async () => void (this.core && (await run(this.core))))),
    );
    const brokers = await this.zk.getBrokers();
    const topicNames = await this.zk.getAllTopics();
    const snapshots = new Map<string, TopicSnapshot>();
    for (const name of topicNames) {
      const snap = await this.readTopic(name);
      if (snap) snapshots.set(name, snap);
      this.watchTopic(name);
    }
    if (this.lease !== lease) return;
    this.core = core;
    if (this.opts.interBrokerListener !== undefined) {
      this.sender = new BrokerRequestSender({
        controllerId: this.brokerId,
        controllerEpoch: lease.epoch,
        interBrokerListener: this.opts.interBrokerListener,
        requestTimeoutMs: this.opts.requestTimeoutMs ?? 30_000,
        localBroker: this.opts.localBroker,
        logger: this.log,
      });
      this.sender.setBrokers(brokers);
    }
    const decision = core.initialize(new Map(brokers.map((b) => [b.info.id, b.epoch])), snapshots);
    this.emit('elected', lease);
    const auto = this.opts.autoLeaderRebalance;
    if (auto) {
      this.rebalanceTimer = setInterval(
        () => this.enqueue('rebalance', () => this.autoRebalance(auto.imbalancePercentage)),
        auto.checkIntervalMs,
      );
      this.rebalanceTimer.unref();
    }
    await this.execute(decision);
    if (this.core === core) await this.reassigner.resumeAll(core);
  }

  // ---- event handlers (run only while active)

  private async onBrokerChange(): Promise<void> {
    if (!this.core) return;
    const startMs = performance.now();
    try {
      await this.handleBrokerChange();
    } finally {
      if (this.core) this.opts.onBrokerChangeHandled?.(performance.now() - startMs);
    }
  }

  private async handleBrokerChange(): Promise<void> {
    if (!this.core) return;
    const brokers = await this.zk.getBrokers();
    if (!this.core) return;
    this.sender?.setBrokers(brokers);
    const core = this.core;
    const started = new Set(brokers.filter((b) => core.liveBrokers.get(b.info.id) !== b.epoch).map((b) => b.info.id));
    await this.execute(core.brokersChanged(new Map(brokers.map((b) => [b.info.id, b.epoch]))));
    if (started.size > 0 && this.core === core) await this.reassigner.brokersStarted(core, started);
  }

  private async onTopicChange(): Promise<void> {
    if (!this.core) return;
    const names = new Set(await this.zk.getAllTopics());
    for (const name of this.core.topicNames()) {
      if (!names.has(name)) {
        this.topicWatches.get(name)?.close();
        this.topicWatches.delete(name);
        await this.execute(this.core.topicRemoved(name));
      }
    }
    for (const name of names) {
      if (!this.core || this.core.hasTopic(name)) continue;
      const snap = await this.readTopic(name);
      if (!snap || !this.core) continue;
      this.watchTopic(name);
      await this.execute(this.core.addTopic(name, snap));
    }
  }

  private async onTopicDataChange(name: string): Promise<void> {
    if (!this.core?.hasTopic(name)) return;
    const a = await this.zk.getTopicAssignment(name);
    if (!a || !this.core) return;
    await this.execute(this.core.topicAssignmentChanged(name, a.partitions));
  }

  private async onDeletionRequest(): Promise<void> {
    if (!this.core) return;
    const markers = await this.zk.getTopicsMarkedForDeletion();
    if (!this.core) return;
    await this.execute(this.core.deletionsRequested(markers, this.deleteTopicEnable));
  }

  private watchTopic(name: string): void {
    if (this.topicWatches.has(name)) return;
    this.topicWatches.set(
      name,
      this.zk.watchData(`${Paths.topics}/${name}`, (data) => {
        if (data !== null) this.enqueue(`topic:${name}`, () => this.onTopicDataChange(name));
      }),
    );
  }

  private async readTopic(name: string): Promise<TopicSnapshot | null> {
    const a = await this.zk.getTopicAssignment(name);
    if (!a) return null;
    const states = new Map<number, { state: PartitionState; zkVersion: number }>();
    for (const p of a.partitions.keys()) {
      const s = await this.zk.getPartitionState(name, p);
      if (s) states.set(p, s);
    }
    return { topicId: a.topicId, partitions: a.partitions, states, adding: a.addingReplicas, removing: a.removingReplicas };
  }

  // ---- requests from brokers and admin clients (run in the event queue, answered when done)

  /** Runs `fn` in the event queue; NOT_CONTROLLER (as `notController()`) when not active then. */
  private submit<T>(fn: (core: ControllerCore) => Promise<T>, notController: () => T): Promise<T> {
    if (!this.core || this.stopped) return Promise.resolve(notController());
    return new Promise<T>((resolve, reject) => {
      const queued = this.enqueue(
        `request:${this.nextRequestKey++}`,
        async () => {
          if (!this.core) return resolve(notController());
          try {
            resolve(await fn(this.core));
          } catch (e) {
            // Fenced mid-way: the asker should find the new controller, not see a server error.
            if (e instanceof ControllerMovedError) resolve(notController());
            else reject(e);
            throw e;
          }
        },
        () => resolve(notController()),
      );
      if (!queued) resolve(notController());
    });
  }

  /** AlterPartition from a partition leader (KIP-497): validated by the core, written fenced and conditionally. */
  alterPartition(brokerId: number, brokerEpoch: number, items: readonly AlterPartitionItem[]): Promise<AlterPartitionResult> {
    const notController = (): AlterPartitionResult => ({ errorCode: ErrorCode.NOT_CONTROLLER, partitions: [] });
    return this.submit(async (core) => {
      const { errorCode, outcomes } = core.alterPartition(brokerId, brokerEpoch, items);
      const partitions: AlterPartitionResult['partitions'] = [];
      const announce: ControllerNotification[] = [];
      for (const o of outcomes) {
        if (!o.write || o.errorCode !== ErrorCode.NONE) {
          partitions.push({ topic: o.topic, partition: o.partition, errorCode: o.errorCode, ...(o.state ? { state: o.state } : {}) });
          continue;
        }
        const zkVersion = await this.tryUpdate(o.write, announce);
        if (zkVersion === undefined)
          partitions.push({ topic: o.topic, partition: o.partition, errorCode: ErrorCode.INVALID_UPDATE_VERSION });
        else partitions.push({ topic: o.topic, partition: o.partition, errorCode: ErrorCode.NONE, state: { ...o.state!, zkVersion } });
      }
      await this.deliver(announce);
      // An ISR that now holds every target replica completes a reassignment.
      const changed = partitions.filter((p) => p.errorCode === ErrorCode.NONE);
      if (this.core === core) await this.reassigner.isrChanged(core, changed);
      return { errorCode, partitions };
    }, notController);
  }

  /** AlterPartitionReassignments; null when this broker is not the active controller. */
  alterPartitionReassignments(requests: readonly ReassignmentRequest[]): Promise<ReassignmentResult[] | null> {
    return this.submit(
      (core) => this.reassigner.alter(core, requests),
      () => null,
    );
  }

  /** ListPartitionReassignments (`partitions` null = all); null when not the active controller. */
  listPartitionReassignments(partitions: readonly TopicPartition[] | null): Promise<OngoingReassignment[] | null> {
    return this.submit(
      async (core) => this.reassigner.list(core, partitions),
      () => null,
    );
  }

  /** ControlledShutdown: moves the broker's leaderships away; answers what it still leads. */
  controlledShutdown(brokerId: number, brokerEpoch: number): Promise<ControlledShutdownResult> {
    const notController = (): ControlledShutdownResult => ({ errorCode: ErrorCode.NOT_CONTROLLER, remaining: [] });
    return this.submit(async (core) => {
      const { errorCode, decision } = core.controlledShutdown(brokerId, brokerEpoch);
      if (errorCode !== ErrorCode.NONE) return { errorCode, remaining: [] };
      this.log.info({ broker: brokerId }, 'controlled shutdown requested');
      await this.execute(decision);
      return { errorCode, remaining: this.core?.leadershipsOf(brokerId) ?? [] };
    }, notController);
  }

  /** ElectLeaders: preferred (0) or unclean (1); `partitions` null = all. */
  electLeaders(electionType: number, partitions: readonly TopicPartition[] | null): Promise<ElectionOutcome[] | null> {
    return this.submit(
      async (core) => {
        const outcomes = electionType === 1 ? core.electUnclean(partitions ?? undefined) : core.electPreferred(partitions ?? undefined);
        await this.runElections(outcomes);
        return outcomes;
      },
      () => null,
    );
  }

  private async autoRebalance(imbalancePercentage: number): Promise<void> {
    const core = this.core;
    if (!core) return;
    const candidates = core.imbalancedPartitions(imbalancePercentage);
    if (candidates.length === 0) return;
    this.log.info({ partitions: candidates.length }, 'auto leader rebalance: electing preferred leaders');
    await this.runElections(core.electPreferred(candidates));
  }

  /** Writes each election; a lost conditional write turns its outcome into an error. */
  private async runElections(outcomes: ElectionOutcome[]): Promise<void> {
    const announce: ControllerNotification[] = [];
    for (const o of outcomes) {
      if (!o.write) continue;
      if ((await this.tryUpdate(o.write, announce)) === undefined) o.errorCode = ErrorCode.INVALID_UPDATE_VERSION;
    }
    await this.deliver(announce);
  }

  /**
   * One conditional state write outside the core's own decisions: the new zkVersion, or undefined
   * when it lost to a concurrent change (the state is then re-read and re-decided).
   */
  private async tryUpdate(w: ControllerWrite & { kind: 'updateState' }, announce: ControllerNotification[]): Promise<number | undefined> {
    const lease = this.lease;
    const core = this.core;
    if (!lease || !core) return undefined;
    try {
      const v = await this.zk.updatePartitionState(lease.epochZkVersion, w.topic, w.partition, w.state, w.expectedZkVersion);
      announce.push(...core.stateWritten(w.topic, w.partition, w.state, v, this.how(w)));
      if (w.state.leaderRecoveryState === LEADER_RECOVERY_RECOVERING) this.opts.onUncleanLeaderElection?.();
      return v;
    } catch (e) {
      if (!isZooKeeperError(e, Err.BADVERSION) && !isZooKeeperError(e, Err.NONODE)) throw e;
      await this.execute(core.stateRefreshed(w.topic, w.partition, await this.zk.getPartitionState(w.topic, w.partition)));
      return undefined;
    }
  }

  // ---- carrying out decisions

  private async execute(decision: Decision, depth = 0, pending?: ControllerNotification[]): Promise<void> {
    const lease = this.lease;
    const core = this.core;
    if (!lease || !core) return;
    if (decision.controllerMoved) throw new ControllerMovedError('a partition state carries a newer controller epoch');
    await this.deliver(decision.notifications);
    // What the writes announce goes out as one batch at the end (ControllerBrokerRequestBatch).
    const out = pending ?? [];
    for (const run of pipelinedRuns(decision.writes)) {
      if (this.lease !== lease) return;
      for (const follow of await this.writeRun(lease, core, run, out)) {
        if (depth >= this.conflictRetriesMax) throw new Error('partition state kept changing under the controller');
        await this.execute(follow, depth + 1, out);
      }
    }
    if (!pending) await this.deliver(out);
  }

  /**
   * Writes of distinct partitions go out together, pipelined on the one session (as Kafka's
   * ZooKeeperClient does): a broker loss rewrites every partition it replicates, and one round
   * trip after another put the new leaders' LeaderAndIsr behind all of them. Every write settles
   * before the first error is thrown, so no write is left running into the next event.
   */
  private async writeRun(
    lease: ControllerLease,
    core: ControllerCore,
    run: ControllerWrite[],
    out: ControllerNotification[],
  ): Promise<Decision[]> {
    if (run.length === 1) {
      const follow = await this.write(lease, core, run[0]!, out);
      return follow ? [follow] : [];
    }
    const settled = await Promise.allSettled(run.map((w) => this.write(lease, core, w, out)));
    const follows: Decision[] = [];
    for (const s of settled) {
      if (s.status === 'rejected') throw s.reason;
      if (s.value) follows.push(s.value);
    }
    return follows;
  }

  private how(w: ControllerWrite): { isNew?: boolean; metadataOnly?: boolean; skipBrokers?: number[] } {
    if (w.kind === 'createState') return { isNew: true };
    if (w.kind !== 'updateState') return {};
    return { ...(w.metadataOnly ? { metadataOnly: true } : {}), ...(w.skipBrokers ? { skipBrokers: w.skipBrokers } : {}) };
  }

  /** One write; returns a follow-up decision after a conflict. */
  private async write(
    lease: ControllerLease,
    core: ControllerCore,
    w: ControllerWrite,
    out: ControllerNotification[],
  ): Promise<Decision | undefined> {
    switch (w.kind) {
      case 'createState': {
        const [r] = await this.zk.createPartitionStates(lease.epochZkVersion, [w]);
        if (r!.ok) {
          out.push(...core.stateWritten(w.topic, w.partition, w.state, r!.zkVersion, this.how(w)));
          return undefined;
        }
        if (r!.code !== Err.NODEEXISTS) throw new Error(`creating state of ${w.topic}-${w.partition} failed (${r!.code})`);
        return core.stateRefreshed(w.topic, w.partition, await this.zk.getPartitionState(w.topic, w.partition));
      }
      case 'updateState': {
        try {
          const v = await this.zk.updatePartitionState(lease.epochZkVersion, w.topic, w.partition, w.state, w.expectedZkVersion);
          out.push(...core.stateWritten(w.topic, w.partition, w.state, v, this.how(w)));
          if (w.state.leaderRecoveryState === LEADER_RECOVERY_RECOVERING) {
            // Only an unclean election writes this state: say so, it may have dropped acknowledged writes.
            const { leader, leaderEpoch } = w.state;
            this.opts.onUncleanLeaderElection?.();
            this.log.warn(
              { topic: w.topic, partition: w.partition, leader, leaderEpoch },
              'unclean leader election: leader chosen outside the ISR',
            );
          }
          return undefined;
        } catch (e) {
          if (!isZooKeeperError(e, Err.BADVERSION) && !isZooKeeperError(e, Err.NONODE)) throw e;
          return core.stateRefreshed(w.topic, w.partition, await this.zk.getPartitionState(w.topic, w.partition));
        }
      }
      case 'deleteTopic': {
        this.topicWatches.get(w.topic)?.close();
        this.topicWatches.delete(w.topic);
        await this.zk.deleteTopicZnodes(lease.epochZkVersion, w.topic);
        out.push(...core.topicDeleted(w.topic));
        return undefined;
      }
      case 'removeDeletionMarker':
        await this.zk.removeDeletionMarker(lease.epochZkVersion, w.topic);
        return undefined;
    }
  }

  private async deliver(notifications: readonly ControllerNotification[]): Promise<void> {
    if (notifications.length === 0) return;
    for (const n of notifications) {
      if (n.kind === 'leaderAndIsr') {
        for (const cb of this.leaderAndIsrListeners) await this.call(() => cb(n.topic, n.topicId, n.partition, n.state));
      }
    }
    // Topic deletion waits for the replicas to be stopped before the znodes go.
    const stops = notifications.filter((n) => n.kind === 'stopReplica');
    const waits: Promise<unknown>[] = stops.map((n) =>
      Promise.all(this.stopReplicaListeners.map((cb) => this.call(() => cb(n.topic, n.partition, n.deletePartition, n.replicas)))),
    );
    if (notifications.some((n) => n.kind === 'metadataChange' || n.kind === 'leaderAndIsr')) {
      for (const cb of this.metadataListeners) await this.call(cb);
    }
    const core = this.core;
    if (this.sender && core) waits.push(this.sender.send(notifications, core));
    await Promise.all(waits);
  }

  private async call(f: () => void | Promise<void>): Promise<void> {
    try {
      await f();
    } catch (e) {
      this.log.warn({ err: e }, 'controller listener failed');
    }
  }
}
