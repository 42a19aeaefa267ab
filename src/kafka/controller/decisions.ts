// The ZooKeeper-mode controller's decisions, pure (KafkaController / PartitionStateMachine /
// TopicDeletionManager rules): inputs are ZooKeeper snapshots and events, outputs are the ZooKeeper
// writes to make and the notifications for brokers (LeaderAndIsr, StopReplica, metadata change).
// The shell (controller.ts) performs the writes and feeds their results back, so the same core
// can drive real LeaderAndIsr requests or a simulator.

import { NO_LEADER, LEADER_RECOVERY_RECOVERED, LEADER_RECOVERY_RECOVERING, type PartitionState } from '../zk/layout.js';

export interface LeaderAndIsrState extends PartitionState {
  replicas: number[];
  /** zkVersion of the state znode (the partition epoch). */
  zkVersion: number;
}

export type ControllerWrite =
  | { kind: 'createState'; topic: string; partition: number; state: PartitionState }
  | { kind: 'updateState'; topic: string; partition: number; state: PartitionState; expectedZkVersion: number }
  | { kind: 'deleteTopic'; topic: string }
  | { kind: 'removeDeletionMarker'; topic: string };

export type ControllerNotification =
  | { kind: 'leaderAndIsr'; topic: string; topicId: string | undefined; partition: number; state: LeaderAndIsrState }
  | { kind: 'stopReplica'; topic: string; partition: number; deletePartition: boolean; replicas: number[] }
  | { kind: 'metadataChange' };

/** Notifications are delivered first (and awaited), then the writes are made in order. */
export interface Decision {
  notifications: ControllerNotification[];
  writes: ControllerWrite[];
  /** A state znode carries a newer controller epoch: another controller exists; resign. */
  controllerMoved?: boolean;
}

export interface TopicSnapshot {
  topicId: string | undefined;
  partitions: ReadonlyMap<number, readonly number[]>;
  /** Existing state znodes (partitions without one are new). */
  states: ReadonlyMap<number, { state: PartitionState; zkVersion: number }>;
}

export interface ControllerCoreOptions {
  controllerEpoch: number;
  /** unclean.leader.election.enable for a topic (default false, KIP-106). */
  uncleanLeaderElection?: (topic: string) => boolean;
}

interface TopicEntry {
  topicId: string | undefined;
  replicas: Map<number, number[]>;
  states: Map<number, { state: PartitionState; zkVersion: number }>;
}

const empty = (): Decision => ({ notifications: [], writes: [] });

export class ControllerCore {
  readonly controllerEpoch: number;
  private readonly unclean: (topic: string) => boolean;
  /** broker id -> broker epoch */
  private live = new Map<number, number>();
  private readonly topics = new Map<string, TopicEntry>();
  /** Topics queued for deletion that could not proceed yet (a replica's broker is down). */
  private readonly deletionQueue = new Set<string>();
  /** Topics whose znodes are being deleted (no more elections for them). */
  private readonly deleting = new Set<string>();

  constructor(opts: ControllerCoreOptions) {
    this.controllerEpoch = opts.controllerEpoch;
    this.unclean = opts.uncleanLeaderElection ?? (() => false);
  }

  get liveBrokers(): ReadonlyMap<number, number> {
    return this.live;
  }

  topicNames(): string[] {
    return [...this.topics.keys()];
  }

  hasTopic(topic: string): boolean {
    return this.topics.has(topic);
  }

  /** The cached leader/ISR of a partition, if it has a state. */
  partitionState(topic: string, partition: number): LeaderAndIsrState | undefined {
    const t = this.topics.get(topic);
    const s = t?.states.get(partition);
    if (!t || !s) return undefined;
    return { ...s.state, isr: [...s.state.isr], replicas: [...(t.replicas.get(partition) ?? [])], zkVersion: s.zkVersion };
  }

  /** Failover: the whole picture at once; elects leaders for new and offline partitions. */
  initialize(liveBrokers: ReadonlyMap<number, number>, topics: ReadonlyMap<string, TopicSnapshot>): Decision {
    this.live = new Map(liveBrokers);
    const d = empty();
    for (const [name, snap] of topics) this.merge(d, this.addTopic(name, snap));
    // Tell every live broker the current leadership, as the failover's LeaderAndIsr does.
    for (const [name, t] of this.topics) {
      for (const p of t.states.keys()) d.notifications.push(this.leaderAndIsr(name, p));
    }
    this.merge(d, this.electOffline());
    if (d.notifications.length === 0) d.notifications.push({ kind: 'metadataChange' });
    return d;
  }

  /** A topic appeared (or failover read it): new partitions get a first leader. */
  addTopic(name: string, snap: TopicSnapshot): Decision {
    const t: TopicEntry = {
      topicId: snap.topicId,
      replicas: new Map([...snap.partitions].map(([p, r]) => [p, [...r]])),
      states: new Map([...snap.states].map(([p, s]) => [p, { state: { ...s.state, isr: [...s.state.isr] }, zkVersion: s.zkVersion }])),
    };
    this.topics.set(name, t);
    return this.newPartitions(
      name,
      [...t.replicas.keys()].filter((p) => !t.states.has(p)),
    );
  }

  /** The topic znode changed: partitions were added (Kafka ignores other changes here). */
  topicAssignmentChanged(name: string, partitions: ReadonlyMap<number, readonly number[]>): Decision {
    const t = this.topics.get(name);
    if (!t || this.deleting.has(name) || this.deletionQueue.has(name)) return empty();
    const added: number[] = [];
    for (const [p, r] of partitions) {
      if (!t.replicas.has(p)) {
        t.replicas.set(p, [...r]);
        added.push(p);
      }
    }
    return this.newPartitions(name, added);
  }

  /** The topic znode is gone. */
  topicRemoved(name: string): Decision {
    this.topics.delete(name);
    this.deletionQueue.delete(name);
    this.deleting.delete(name);
    return { notifications: [{ kind: 'metadataChange' }], writes: [] };
  }

  /**
   * The set of registered brokers changed. Gone brokers (or bounced ones: same id, new epoch)
   * lose leadership and ISR membership; returning ones get LeaderAndIsr for their replicas and
   * offline partitions are elected again.
   */
  brokersChanged(liveBrokers: ReadonlyMap<number, number>): Decision {
    const dead = new Set<number>();
    const started = new Set<number>();
    for (const [id, epoch] of this.live) if (liveBrokers.get(id) !== epoch) dead.add(id);
    for (const [id, epoch] of liveBrokers) if (this.live.get(id) !== epoch) started.add(id);
    const d = empty();
    if (dead.size === 0 && started.size === 0) return d;
    this.live = new Map(liveBrokers);
    if (dead.size > 0) this.merge(d, this.onBrokersFailed(dead));
    if (started.size > 0) {
      for (const [name, t] of this.topics) {
        if (this.deleting.has(name)) continue;
        for (const [p, replicas] of t.replicas) {
          if (t.states.has(p) && replicas.some((r) => started.has(r))) d.notifications.push(this.leaderAndIsr(name, p));
        }
      }
      this.merge(d, this.electOffline());
      this.merge(d, this.resumeDeletions());
    }
    d.notifications.push({ kind: 'metadataChange' });
    return d;
  }

  /** A state write succeeded: record it and announce the new leadership. */
  stateWritten(topic: string, partition: number, state: PartitionState, zkVersion: number): ControllerNotification[] {
    const t = this.topics.get(topic);
    if (!t) return [];
    t.states.set(partition, { state: { ...state, isr: [...state.isr] }, zkVersion });
    return [this.leaderAndIsr(topic, partition), { kind: 'metadataChange' }];
  }

  /**
   * A conditional state write lost (BADVERSION) or found the znode present: adopt what ZooKeeper
   * has and decide again.
   */
  stateRefreshed(topic: string, partition: number, current: { state: PartitionState; zkVersion: number } | null): Decision {
    const t = this.topics.get(topic);
    if (!t?.replicas.has(partition)) return empty();
    if (current === null) {
      t.states.delete(partition);
      return this.newPartitions(topic, [partition]);
    }
    if (current.state.controllerEpoch > this.controllerEpoch) return { ...empty(), controllerMoved: true };
    t.states.set(partition, { state: { ...current.state, isr: [...current.state.isr] }, zkVersion: current.zkVersion });
    const dead = new Set(t.replicas.get(partition)!.filter((r) => !this.live.has(r)));
    const d = this.repairPartition(topic, partition, dead);
    if (d.writes.length === 0) d.notifications.push(this.leaderAndIsr(topic, partition));
    return d;
  }

  /**
   * Topics marked under /admin/delete_topics. With deletion disabled the markers are removed;
   * unknown topics' markers too. A topic with a replica on a dead broker waits (ineligible).
   */
  deletionsRequested(markers: readonly string[], deleteTopicEnable: boolean): Decision {
    const d = empty();
    for (const name of markers) {
      if (!deleteTopicEnable || !this.topics.has(name)) {
        d.writes.push({ kind: 'removeDeletionMarker', topic: name });
      } else if (!this.deleting.has(name)) {
        this.deletionQueue.add(name);
      }
    }
    this.merge(d, this.resumeDeletions());
    return d;
  }

  /** The topic's znodes are gone. */
  topicDeleted(name: string): ControllerNotification[] {
    return this.topicRemoved(name).notifications;
  }

  // ---- internals

  private resumeDeletions(): Decision {
    const d = empty();
    for (const name of [...this.deletionQueue]) {
      const t = this.topics.get(name)!;
      const replicas = new Set([...t.replicas.values()].flat());
      if ([...replicas].some((r) => !this.live.has(r))) continue;
      this.deletionQueue.delete(name);
      this.deleting.add(name);
      d.notifications.push({ kind: 'metadataChange' });
      for (const [p, r] of [...t.replicas].sort((a, b) => a[0] - b[0])) {
        d.notifications.push({ kind: 'stopReplica', topic: name, partition: p, deletePartition: true, replicas: [...r] });
      }
      d.writes.push({ kind: 'deleteTopic', topic: name });
    }
    return d;
  }

  /** New partitions: leader = first live replica, ISR = live replicas, epoch 0. No live replica: wait. */
  private newPartitions(topic: string, partitions: readonly number[]): Decision {
    const t = this.topics.get(topic)!;
    const d = empty();
    for (const p of [...partitions].sort((a, b) => a - b)) {
      const liveReplicas = t.replicas.get(p)!.filter((r) => this.live.has(r));
      if (liveReplicas.length === 0) continue; // stays new; retried when a replica's broker starts
      d.writes.push({
        kind: 'createState',
        topic,
        partition: p,
        state: {
          leader: liveReplicas[0]!,
          leaderEpoch: 0,
          isr: liveReplicas,
          controllerEpoch: this.controllerEpoch,
          leaderRecoveryState: LEADER_RECOVERY_RECOVERED,
        },
      });
    }
    return d;
  }

  private onBrokersFailed(dead: ReadonlySet<number>): Decision {
    const d = empty();
    for (const [name, t] of this.topics) {
      if (this.deleting.has(name)) continue;
      for (const p of t.states.keys()) this.merge(d, this.repairPartition(name, p, dead));
    }
    return d;
  }

  /** Elect for partitions without a leader or with a new partition never started (all replicas were down). */
  private electOffline(): Decision {
    const d = empty();
    for (const [name, t] of this.topics) {
      if (this.deleting.has(name)) continue;
      const fresh = [...t.replicas.keys()].filter((p) => !t.states.has(p));
      this.merge(d, this.newPartitions(name, fresh));
      for (const [p, s] of t.states) {
        if (s.state.leader === NO_LEADER || !this.live.has(s.state.leader)) {
          const dead = new Set(t.replicas.get(p)!.filter((r) => !this.live.has(r)));
          this.merge(d, this.repairPartition(name, p, dead));
        }
      }
    }
    return d;
  }

  /**
   * One partition after `dead` brokers went away: re-elect with the offline rule if its leader is
   * gone (or it has none), else drop the dead from the ISR. Every change bumps leader_epoch.
   */
  private repairPartition(topic: string, partition: number, dead: ReadonlySet<number>): Decision {
    const t = this.topics.get(topic)!;
    const cur = t.states.get(partition)!;
    const { state } = cur;
    const assignment = t.replicas.get(partition)!;
    const isLive = (r: number): boolean => this.live.has(r) && !dead.has(r);
    let next: PartitionState | undefined;
    if (state.leader === NO_LEADER || !isLive(state.leader)) {
      const clean = assignment.find((r) => isLive(r) && state.isr.includes(r));
      if (clean !== undefined) {
        next = { ...state, leader: clean, isr: state.isr.filter(isLive), leaderRecoveryState: state.leaderRecoveryState };
      } else if (this.unclean(topic) && assignment.some(isLive)) {
        const leader = assignment.find(isLive)!;
        next = { ...state, leader, isr: [leader], leaderRecoveryState: LEADER_RECOVERY_RECOVERING };
      } else if (state.leader !== NO_LEADER) {
        // No eligible leader: keep the last ISR member so it can lead again when it returns.
        const kept = state.isr.filter(isLive);
        next = {
          ...state,
          leader: NO_LEADER,
          isr: kept.length > 0 ? kept : state.isr.includes(state.leader) ? [state.leader] : state.isr.slice(0, 1),
        };
      }
    } else if (state.isr.some((r) => !isLive(r))) {
      next = { ...state, isr: state.isr.filter(isLive) };
    }
    if (!next) return empty();
    next.leaderEpoch = state.leaderEpoch + 1;
    next.controllerEpoch = this.controllerEpoch;
    return { notifications: [], writes: [{ kind: 'updateState', topic, partition, state: next, expectedZkVersion: cur.zkVersion }] };
  }

  private leaderAndIsr(topic: string, partition: number): ControllerNotification {
    const t = this.topics.get(topic)!;
    return { kind: 'leaderAndIsr', topic, topicId: t.topicId, partition, state: this.partitionState(topic, partition)! };
  }

  private merge(into: Decision, from: Decision): void {
    into.notifications.push(...from.notifications);
    into.writes.push(...from.writes);
    if (from.controllerMoved) into.controllerMoved = true;
  }
}
