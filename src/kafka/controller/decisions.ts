// The ZooKeeper-mode controller's decisions, pure (KafkaController / PartitionStateMachine /
// TopicDeletionManager rules): inputs are ZooKeeper snapshots and events, outputs are the ZooKeeper
// writes to make and the notifications for brokers (LeaderAndIsr, StopReplica, metadata change).
// The shell (controller.ts) performs the writes and feeds their results back, so the same core
// can drive real LeaderAndIsr requests or a simulator.

import { ErrorCode } from '../protocol/errors.js';
import { NO_LEADER, LEADER_RECOVERY_RECOVERED, LEADER_RECOVERY_RECOVERING, type PartitionState } from '../zk/layout.js';
import { type RuleResult, checkIsrChange, preferredElection, uncleanElection } from './partitionRules.js';
import type { ReplicaAssignment } from './reassignment.js';
import {
  type AlterPartitionItem,
  type AlterPartitionOutcome,
  type ControllerNotification,
  type ControllerWrite,
  type Decision,
  type ElectionOutcome,
  type LeaderAndIsrState,
  type TopicPartition,
  type TopicSnapshot,
  EPOCH_DURING_DELETE,
} from './coreTypes.js';

export * from './coreTypes.js';

export interface ControllerCoreOptions {
  controllerEpoch: number;
  /** unclean.leader.election.enable for a topic (default false, KIP-106). */
  uncleanLeaderElection?: (topic: string) => boolean;
}

interface TopicEntry {
  topicId: string | undefined;
  replicas: Map<number, number[]>;
  states: Map<number, { state: PartitionState; zkVersion: number }>;
  /** Partitions being reassigned: their adding (AR) and removing (RR) replicas. */
  adding: Map<number, number[]>;
  removing: Map<number, number[]>;
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
  /** Brokers in controlled shutdown: live, but never chosen as leader or ISR member. */
  private readonly shuttingDown = new Set<number>();

  constructor(opts: ControllerCoreOptions) {
    this.controllerEpoch = opts.controllerEpoch;
    this.unclean = opts.uncleanLeaderElection ?? (() => false);
  }

  get liveBrokers(): ReadonlyMap<number, number> {
    return this.live;
  }

  get shuttingDownBrokers(): ReadonlySet<number> {
    return this.shuttingDown;
  }

  topicId(topic: string): string | undefined {
    return this.topics.get(topic)?.topicId;
  }

  topicByTopicId(topicId: string): string | undefined {
    for (const [name, t] of this.topics) if (t.topicId === topicId) return name;
    return undefined;
  }

  /** Every partition with a state, by topic then partition. */
  allPartitions(): TopicPartition[] {
    const out: TopicPartition[] = [];
    for (const [topic, t] of this.topics) {
      if (this.deleting.has(topic)) continue;
      for (const partition of [...t.states.keys()].sort((a, b) => a - b)) out.push({ topic, partition });
    }
    return out;
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
    const moving = t.adding.has(partition) || t.removing.has(partition);
    return {
      ...s.state,
      isr: [...s.state.isr],
      replicas: [...(t.replicas.get(partition) ?? [])],
      zkVersion: s.zkVersion,
      ...(moving ? { addingReplicas: [...(t.adding.get(partition) ?? [])], removingReplicas: [...(t.removing.get(partition) ?? [])] } : {}),
    };
  }

  // ---- reassignment (the phases are sequenced by reassigner.ts with the rules of reassignment.ts)

  assignmentOf(topic: string, partition: number): ReplicaAssignment | undefined {
    const t = this.topics.get(topic);
    const replicas = t?.replicas.get(partition);
    if (!t || !replicas) return undefined;
    return { replicas: [...replicas], adding: [...(t.adding.get(partition) ?? [])], removing: [...(t.removing.get(partition) ?? [])] };
  }

  setAssignment(topic: string, partition: number, a: ReplicaAssignment): void {
    const t = this.topics.get(topic);
    if (!t) return;
    t.replicas.set(partition, [...a.replicas]);
    if (a.adding.length > 0) t.adding.set(partition, [...a.adding]);
    else t.adding.delete(partition);
    if (a.removing.length > 0) t.removing.set(partition, [...a.removing]);
    else t.removing.delete(partition);
  }

  /** Partitions whose assignment has adding or removing replicas. */
  reassigningPartitions(): TopicPartition[] {
    const out: TopicPartition[] = [];
    for (const [topic, t] of this.topics) {
      for (const partition of new Set([...t.adding.keys(), ...t.removing.keys()])) out.push({ topic, partition });
    }
    return out.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  }

  /** Queued for deletion or being deleted (TopicDeletionManager.isTopicQueuedUpForDeletion). */
  isTopicDeleting(topic: string): boolean {
    return this.deleting.has(topic) || this.deletionQueue.has(topic);
  }

  /** Live and not shutting down. */
  mayLead(broker: number): boolean {
    return this.eligible(broker);
  }

  /** A leader-epoch-bumping write of `next` against the cached zkVersion (undefined without a state). */
  bumpState(topic: string, partition: number, next: PartitionState): (ControllerWrite & { kind: 'updateState' }) | undefined {
    const cur = this.topics.get(topic)?.states.get(partition);
    return cur ? this.bump(topic, partition, next, cur.zkVersion) : undefined;
  }

  /** Failover: the whole picture at once; elects leaders for new and offline partitions. */
  initialize(liveBrokers: ReadonlyMap<number, number>, topics: ReadonlyMap<string, TopicSnapshot>): Decision {
    this.live = new Map(liveBrokers);
    const d = empty();
    for (const [name, snap] of topics) this.merge(d, this.addTopic(name, snap));
    // As onControllerFailover: every broker first learns the cluster, then the current
    // leadership (a full LeaderAndIsr), then offline partitions are elected.
    d.notifications.unshift({ kind: 'metadataChange', partitions: 'all' });
    for (const [name, t] of this.topics) {
      for (const p of t.states.keys()) d.notifications.push({ ...this.leaderAndIsr(name, p), full: true });
    }
    this.merge(d, this.electOffline());
    // As the replica state machine's startup: replicas on unregistered brokers leave the ISRs of
    // partitions whose leader lives (the previous controller may have died with them, unhandled).
    for (const [name, t] of this.topics) {
      if (this.deleting.has(name)) continue;
      for (const [p, s] of t.states) {
        const { leader, isr } = s.state;
        if (leader === NO_LEADER || !this.live.has(leader) || isr.every((r) => this.live.has(r))) continue;
        this.merge(d, this.repairPartition(name, p, new Set(isr.filter((r) => !this.live.has(r)))));
      }
    }
    return d;
  }

  /** A topic appeared (or failover read it): new partitions get a first leader. */
  addTopic(name: string, snap: TopicSnapshot): Decision {
    const t: TopicEntry = {
      topicId: snap.topicId,
      replicas: new Map([...snap.partitions].map(([p, r]) => [p, [...r]])),
      states: new Map([...snap.states].map(([p, s]) => [p, { state: { ...s.state, isr: [...s.state.isr] }, zkVersion: s.zkVersion }])),
      adding: new Map([...(snap.adding ?? [])].map(([p, r]) => [p, [...r]])),
      removing: new Map([...(snap.removing ?? [])].map(([p, r]) => [p, [...r]])),
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
    const t = this.topics.get(name);
    this.topics.delete(name);
    this.deletionQueue.delete(name);
    this.deleting.delete(name);
    // Brokers drop it from their caches when they see its partitions with leader -2.
    const partitions = t ? [...t.replicas.keys()].map((partition) => ({ topic: name, partition })) : [];
    return { notifications: [{ kind: 'metadataChange', partitions, deleting: true }], writes: [] };
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
    const before = [...this.live.keys()].filter((id) => !dead.has(id));
    this.live = new Map(liveBrokers);
    for (const id of dead) this.shuttingDown.delete(id);
    // Everyone learns the new broker set (Kafka: empty UpdateMetadata to the others, a full one to new brokers).
    d.notifications.push({ kind: 'metadataChange', brokers: before });
    if (started.size > 0) d.notifications.push({ kind: 'metadataChange', partitions: 'all', brokers: [...started] });
    if (dead.size > 0) this.merge(d, this.onBrokersFailed(dead));
    if (started.size > 0) {
      // A partition the failure handling rewrites is announced to every live replica (the returning
      // ones too) once written; its cached state is the one from before a bounce, which would let a
      // bounced leader lead its old epoch again (with whatever its disk lost).
      const rewritten = new Set(d.writes.map((w) => (w.kind === 'updateState' ? `${w.topic}\0${w.partition}` : '')));
      for (const [name, t] of this.topics) {
        if (this.deleting.has(name)) continue;
        for (const [p, replicas] of t.replicas) {
          const mine = replicas.filter((r) => started.has(r));
          if (!t.states.has(p) || mine.length === 0 || rewritten.has(`${name}\0${p}`)) continue;
          d.notifications.push({ ...this.leaderAndIsr(name, p), brokers: mine, full: true });
        }
      }
      this.merge(d, this.electOffline());
      this.merge(d, this.resumeDeletions());
    }
    return d;
  }

  /**
   * A state write succeeded: record it and announce it (LeaderAndIsr to the replicas, which
   * carries UpdateMetadata to everyone; for an AlterPartition change UpdateMetadata alone).
   */
  stateWritten(
    topic: string,
    partition: number,
    state: PartitionState,
    zkVersion: number,
    how: { isNew?: boolean; metadataOnly?: boolean; skipBrokers?: number[] } = {},
  ): ControllerNotification[] {
    const t = this.topics.get(topic);
    if (!t) return [];
    t.states.set(partition, { state: { ...state, isr: [...state.isr] }, zkVersion });
    if (how.metadataOnly) return [{ kind: 'metadataChange', partitions: [{ topic, partition }] }];
    return [
      {
        ...this.leaderAndIsr(topic, partition),
        ...(how.isNew ? { isNew: true } : {}),
        ...(how.skipBrokers ? { skipBrokers: how.skipBrokers } : {}),
      },
    ];
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

  /**
   * AlterPartition from a leader (KafkaController.processAlterPartition): the sender must be a live
   * broker with that epoch (else STALE_BROKER_EPOCH for the whole request, returned as
   * `errorCode`); each partition is checked against the cached state and, when valid, becomes a
   * conditional write with the same leader epoch that brokers hear of by UpdateMetadata.
   */
  alterPartition(
    brokerId: number,
    brokerEpoch: number,
    items: readonly AlterPartitionItem[],
  ): { errorCode: number; outcomes: AlterPartitionOutcome[] } {
    if (this.live.get(brokerId) === undefined || this.live.get(brokerId) !== brokerEpoch) {
      return { errorCode: ErrorCode.STALE_BROKER_EPOCH, outcomes: [] };
    }
    return { errorCode: ErrorCode.NONE, outcomes: items.map((it) => this.alterOne(brokerId, it)) };
  }

  private alterOne(brokerId: number, it: AlterPartitionItem): AlterPartitionOutcome {
    const { topic, partition } = it;
    const t = this.topics.get(topic);
    const cur = t?.states.get(partition);
    if (!t || !cur || this.deleting.has(topic)) return { topic, partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
    const assignment = t.replicas.get(partition) ?? [];
    const r = checkIsrChange(
      cur.state,
      cur.zkVersion,
      assignment,
      brokerId,
      it,
      (x) => this.eligible(x),
      (x) => this.live.get(x),
    );
    if (r.errorCode !== ErrorCode.NONE) return { topic, partition, errorCode: r.errorCode };
    // No change: a retry of one already made, answered with the current state.
    if (!r.next) return { topic, partition, errorCode: ErrorCode.NONE, state: this.partitionState(topic, partition)! };
    const next = { ...r.next, controllerEpoch: this.controllerEpoch };
    return {
      topic,
      partition,
      errorCode: ErrorCode.NONE,
      state: { ...next, replicas: [...assignment], zkVersion: cur.zkVersion },
      write: { kind: 'updateState', topic, partition, state: next, expectedZkVersion: cur.zkVersion, metadataOnly: true },
    };
  }

  /**
   * ControlledShutdown (KafkaController.doControlledShutdown): the broker joins the shutting-down
   * set; partitions it leads (with other replicas) move to the first live, in-ISR replica not
   * shutting down; partitions it follows drop it from their ISR and it is told to stop them.
   */
  controlledShutdown(brokerId: number, brokerEpoch: number): { errorCode: number; decision: Decision } {
    const epoch = this.live.get(brokerId);
    if (epoch === undefined) return { errorCode: ErrorCode.BROKER_NOT_AVAILABLE, decision: empty() };
    if (brokerEpoch >= 0 && brokerEpoch < epoch) return { errorCode: ErrorCode.STALE_BROKER_EPOCH, decision: empty() };
    this.shuttingDown.add(brokerId);
    const d = empty();
    for (const [name, t] of this.topics) {
      if (this.deleting.has(name)) continue;
      for (const [p, cur] of t.states) {
        const assignment = t.replicas.get(p)!;
        if (!assignment.includes(brokerId) || assignment.length <= 1) continue;
        const { state } = cur;
        let next: PartitionState | undefined;
        if (state.leader === brokerId) {
          const leader = assignment.find((r) => this.eligible(r) && state.isr.includes(r));
          if (leader === undefined) continue; // stays; reported as remaining
          next = { ...state, leader, isr: state.isr.filter((r) => this.eligible(r)) };
          d.writes.push(this.bump(name, p, next, cur.zkVersion));
        } else {
          d.notifications.push({
            kind: 'stopReplica',
            topic: name,
            partition: p,
            deletePartition: false,
            replicas: [brokerId],
            leaderEpoch: state.leaderEpoch,
          });
          if (state.isr.includes(brokerId) && state.leader !== NO_LEADER) {
            next = { ...state, isr: state.isr.filter((r) => r !== brokerId) };
            d.writes.push({ ...this.bump(name, p, next, cur.zkVersion), skipBrokers: [brokerId] });
          }
        }
      }
    }
    return { errorCode: ErrorCode.NONE, decision: d };
  }

  /** Partitions (with more than one replica) a broker still leads: what ControlledShutdown reports. */
  leadershipsOf(brokerId: number): TopicPartition[] {
    const out: TopicPartition[] = [];
    for (const [topic, t] of this.topics) {
      if (this.deleting.has(topic)) continue;
      for (const [partition, s] of t.states) {
        if (s.state.leader === brokerId && (t.replicas.get(partition)?.length ?? 0) > 1) out.push({ topic, partition });
      }
    }
    return out;
  }

  /**
   * Preferred-replica election (ElectLeaders type 0, auto rebalance): the first assigned replica
   * leads again if it is live and in the ISR. `partitions` undefined = every partition.
   */
  electPreferred(partitions: readonly TopicPartition[] | undefined): ElectionOutcome[] {
    return this.elect(partitions, (state, assignment) => preferredElection(state, assignment, (r) => this.eligible(r)));
  }

  /** Unclean election (ElectLeaders type 1): partitions without a live leader only. */
  electUnclean(partitions: readonly TopicPartition[] | undefined): ElectionOutcome[] {
    return this.elect(partitions, (state, assignment) =>
      uncleanElection(
        state,
        assignment,
        (r) => this.eligible(r),
        (r) => this.live.has(r),
      ),
    );
  }

  private elect(
    partitions: readonly TopicPartition[] | undefined,
    rule: (state: PartitionState, assignment: readonly number[]) => RuleResult,
  ): ElectionOutcome[] {
    return (partitions ?? this.allPartitions()).map(({ topic, partition }) => {
      const t = this.topics.get(topic);
      const cur = t?.states.get(partition);
      if (!t || !cur || this.deleting.has(topic)) return { topic, partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
      const r = rule(cur.state, t.replicas.get(partition)!);
      if (!r.next) return { topic, partition, errorCode: r.errorCode };
      return { topic, partition, errorCode: r.errorCode, write: this.bump(topic, partition, r.next, cur.zkVersion) };
    });
  }

  /**
   * Auto leader rebalance (checkAndTriggerAutoLeaderRebalance): for each broker, the share of the
   * partitions it is preferred for but does not lead; past `imbalancePercentage` those partitions
   * are returned for a preferred election (only ones whose preferred replica can lead).
   */
  imbalancedPartitions(imbalancePercentage: number): TopicPartition[] {
    const byPreferred = new Map<number, { total: number; notLed: TopicPartition[] }>();
    for (const [topic, t] of this.topics) {
      if (this.deleting.has(topic) || this.deletionQueue.has(topic)) continue;
      for (const [partition, s] of t.states) {
        const preferred = t.replicas.get(partition)![0]!;
        const e = byPreferred.get(preferred) ?? { total: 0, notLed: [] };
        e.total++;
        if (s.state.leader !== preferred && s.state.leader !== NO_LEADER) e.notLed.push({ topic, partition });
        byPreferred.set(preferred, e);
      }
    }
    const out: TopicPartition[] = [];
    for (const [broker, e] of [...byPreferred].sort((a, b) => a[0] - b[0])) {
      if (!this.eligible(broker) || e.total === 0 || (e.notLed.length * 100) / e.total <= imbalancePercentage) continue;
      for (const tp of e.notLed) {
        const s = this.topics.get(tp.topic)!.states.get(tp.partition)!;
        if (s.state.isr.includes(broker)) out.push(tp);
      }
    }
    return out;
  }

  // ---- internals

  private bump(topic: string, partition: number, next: PartitionState, zkVersion: number): ControllerWrite & { kind: 'updateState' } {
    const state = { ...next, leaderEpoch: next.leaderEpoch + 1, controllerEpoch: this.controllerEpoch };
    return { kind: 'updateState', topic, partition, state, expectedZkVersion: zkVersion };
  }

  private resumeDeletions(): Decision {
    const d = empty();
    for (const name of [...this.deletionQueue]) {
      const t = this.topics.get(name)!;
      const replicas = new Set([...t.replicas.values()].flat());
      if ([...replicas].some((r) => !this.live.has(r))) continue;
      this.deletionQueue.delete(name);
      this.deleting.add(name);
      const parts = [...t.replicas].sort((a, b) => a[0] - b[0]);
      d.notifications.push({
        kind: 'metadataChange',
        partitions: parts.map(([partition]) => ({ topic: name, partition })),
        deleting: true,
      });
      for (const [p, r] of parts) {
        d.notifications.push({
          kind: 'stopReplica',
          topic: name,
          partition: p,
          deletePartition: true,
          replicas: [...r],
          leaderEpoch: EPOCH_DURING_DELETE,
        });
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
      const liveReplicas = t.replicas.get(p)!.filter((r) => this.eligible(r));
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
    const isLive = (r: number): boolean => this.eligible(r) && !dead.has(r);
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
        // A bounced broker (gone and back within one change) that is the last ISR member leads
        // again at once, as Kafka's onBrokerStartup elects it right after onBrokerFailure; else
        // the partition would stay offline until the next broker change.
        const isr = next.isr;
        const back = assignment.find((r) => this.eligible(r) && isr.includes(r));
        if (back !== undefined) next.leader = back;
      }
    } else if (state.isr.some((r) => !isLive(r))) {
      next = { ...state, isr: state.isr.filter(isLive) };
    }
    if (!next) return empty();
    next.leaderEpoch = state.leaderEpoch + 1;
    next.controllerEpoch = this.controllerEpoch;
    return { notifications: [], writes: [{ kind: 'updateState', topic, partition, state: next, expectedZkVersion: cur.zkVersion }] };
  }

  private leaderAndIsr(topic: string, partition: number): ControllerNotification & { kind: 'leaderAndIsr' } {
    const t = this.topics.get(topic)!;
    return { kind: 'leaderAndIsr', topic, topicId: t.topicId, partition, state: this.partitionState(topic, partition)! };
  }

  /** Live and not shutting down: may lead and be in an ISR. */
  private eligible(r: number): boolean {
    return this.live.has(r) && !this.shuttingDown.has(r);
  }

  private merge(into: Decision, from: Decision): void {
    into.notifications.push(...from.notifications);
    into.writes.push(...from.writes);
    if (from.controllerMoved) into.controllerMoved = true;
  }
}
