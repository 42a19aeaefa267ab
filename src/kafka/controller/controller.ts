// The ZooKeeper-mode controller's shell: elected through /controller, it watches brokers, topics
// and deletion markers, feeds what it reads to ControllerCore (decisions.ts), makes the epoch-fenced
// writes the core asks for and passes the resulting notifications to subscribers (the local
// broker today; LeaderAndIsr/StopReplica requests in the cluster issue). Like KafkaController, all
// ZooKeeper events go through one serialized queue. A controller whose session expires or whose
// fenced write fails resigns and stops writing.

import { EventEmitter } from 'node:events';
import { Err, isZooKeeperError, waitConnected } from '../../zookeeper/client/index.js';
import type { Logger } from '../../util/log.js';
import { silentLogger } from '../../util/log.js';
import { ControllerMovedError, type ControllerLease, type KafkaZk, type WatchHandle } from '../zk/kafkaZk.js';
import { Paths, decodeController, type PartitionState } from '../zk/layout.js';
import {
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
}

export interface ControllerEvents {
  elected: [lease: ControllerLease];
  resigned: [];
  /** An event failed in a way that is neither fencing nor session loss. */
  error: [error: unknown];
}

type QueuedEvent = { key: string; run: () => Promise<void> };

/** Runs of one event when its connection drops midway. */
const EVENT_ATTEMPTS_MAX = 3;

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
  /** Watches held only while active. */
  private activeWatches: WatchHandle[] = [];
  private readonly topicWatches = new Map<string, WatchHandle>();
  private lease: ControllerLease | undefined;
  private core: ControllerCore | undefined;
  private stopped = false;

  constructor(zk: KafkaZk, opts: ControllerOptions) {
    super();
    this.zk = zk;
    this.brokerId = opts.brokerId;
    this.deleteTopicEnable = opts.deleteTopicEnable ?? true;
    this.uncleanLeaderElection = opts.uncleanLeaderElection;
    this.log = opts.logger ?? silentLogger;
    this.eventQueueMax = opts.eventQueueMax ?? 100_000;
    this.conflictRetriesMax = opts.conflictRetriesMax ?? 20;
    zk.on('expired', this.onSessionExpired);
  }

  get isActive(): boolean {
    return this.lease !== undefined;
  }

  get epoch(): number | undefined {
    return this.lease?.epoch;
  }

  /** The controller's cached leader/ISR of a partition (undefined when not active or unknown). */
  partitionState(topic: string, partition: number): LeaderAndIsrState | undefined {
    return this.core?.partitionState(topic, partition);
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
    this.controllerWatch = this.zk.watchData(Paths.controller, (data) => this.enqueue('controller', () => this.onControllerChange(data)));
  }

  /** Stop: resign (deleting /controller if we hold it) and drop every watch. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.controllerWatch?.close();
    this.controllerWatch = undefined;
    this.zk.off('expired', this.onSessionExpired);
    this.queue.length = 0;
    this.queuedKeys.clear();
    await this.draining;
    const lease = this.lease;
    this.resign();
    if (lease) await this.zk.deleteController(lease.epochZkVersion).catch(() => undefined);
  }

  // ---- event queue

  private enqueue(key: string, run: () => Promise<void>): void {
    if (this.stopped) return;
    // Events re-read ZooKeeper when they run, so a queued one already covers a newer trigger.
    if (this.queuedKeys.has(key)) return;
    if (this.queue.length >= this.eventQueueMax) {
      this.emit('error', new Error(`controller event queue full (${this.eventQueueMax})`));
      return;
    }
    this.queuedKeys.add(key);
    this.queue.push({ key, run });
    if (!this.draining) this.draining = this.drain();
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
      const lease = await this.zk.tryElectController(this.brokerId);
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
      return;
    }
    let holder: number | undefined;
    try {
      holder = decodeController(data).brokerId;
    } catch {
      holder = undefined;
    }
    if (this.isActive && holder !== this.brokerId) this.resign();
  }

  private resign(): void {
    if (!this.lease) return;
    this.lease = undefined;
    this.core = undefined;
    for (const w of this.activeWatches) w.close();
    this.activeWatches = [];
    for (const w of this.topicWatches.values()) w.close();
    this.topicWatches.clear();
    // Events queued for the old term are meaningless now.
    for (const ev of this.queue.splice(0)) if (ev.key === 'controller') this.queue.push(ev);
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
    const decision = core.initialize(new Map(brokers.map((b) => [b.info.id, b.epoch])), snapshots);
    this.emit('elected', lease);
    await this.execute(decision);
  }

  // ---- event handlers (run only while active)

  private async onBrokerChange(): Promise<void> {
    if (!this.core) return;
    const brokers = await this.zk.getBrokers();
    if (!this.core) return;
    await this.execute(this.core.brokersChanged(new Map(brokers.map((b) => [b.info.id, b.epoch]))));
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
    return { topicId: a.topicId, partitions: a.partitions, states };
  }

  // ---- carrying out decisions

  private async execute(decision: Decision, depth = 0): Promise<void> {
    const lease = this.lease;
    const core = this.core;
    if (!lease || !core) return;
    if (decision.controllerMoved) throw new ControllerMovedError('a partition state carries a newer controller epoch');
    await this.deliver(decision.notifications);
    for (const w of decision.writes) {
      if (this.lease !== lease) return;
      const follow = await this.write(lease, core, w);
      if (follow) {
        if (depth >= this.conflictRetriesMax) throw new Error(`partition state kept changing under the controller (${w.kind})`);
        await this.execute(follow, depth + 1);
      }
    }
  }

  /** One write; returns a follow-up decision after a conflict. */
  private async write(lease: ControllerLease, core: ControllerCore, w: ControllerWrite): Promise<Decision | undefined> {
    switch (w.kind) {
      case 'createState': {
        const [r] = await this.zk.createPartitionStates(lease.epochZkVersion, [w]);
        if (r!.ok) {
          await this.deliver(core.stateWritten(w.topic, w.partition, w.state, r!.zkVersion));
          return undefined;
        }
        if (r!.code !== Err.NODEEXISTS) throw new Error(`creating state of ${w.topic}-${w.partition} failed (${r!.code})`);
        return core.stateRefreshed(w.topic, w.partition, await this.zk.getPartitionState(w.topic, w.partition));
      }
      case 'updateState': {
        try {
          const v = await this.zk.updatePartitionState(lease.epochZkVersion, w.topic, w.partition, w.state, w.expectedZkVersion);
          await this.deliver(core.stateWritten(w.topic, w.partition, w.state, v));
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
        await this.deliver(core.topicDeleted(w.topic));
        return undefined;
      }
      case 'removeDeletionMarker':
        await this.zk.removeDeletionMarker(lease.epochZkVersion, w.topic);
        return undefined;
    }
  }

  private async deliver(notifications: readonly ControllerNotification[]): Promise<void> {
    let metadata = false;
    for (const n of notifications) {
      switch (n.kind) {
        case 'leaderAndIsr':
          for (const cb of this.leaderAndIsrListeners) await this.call(() => cb(n.topic, n.topicId, n.partition, n.state));
          break;
        case 'stopReplica':
          await Promise.all(
            this.stopReplicaListeners.map((cb) => this.call(() => cb(n.topic, n.partition, n.deletePartition, n.replicas))),
          );
          break;
        case 'metadataChange':
          metadata = true;
          break;
      }
    }
    // Coalesced: one metadata notice per batch is enough for a cache refresh.
    if (metadata) for (const cb of this.metadataListeners) await this.call(cb);
  }

  private async call(f: () => void | Promise<void>): Promise<void> {
    try {
      await f();
    } catch (e) {
      this.log.warn({ err: e }, 'controller listener failed');
    }
  }
}
