// The controller's partition reassignment, sequenced as Kafka 3.9's KafkaController does in
// ZooKeeper mode (onPartitionReassignment, KIP-455), with the rules of reassignment.ts:
//   A: write RS = ORS + TRS (with AR/RR) to /brokers/topics/<t>, bump the leader epoch and send
//      LeaderAndIsr to every replica in RS (the added ones start fetching);
//   B: once the leader's AlterPartition puts every TRS replica in the ISR: RS = TRS, a leader in TRS,
//      RR out of the ISR (one state write), StopReplica(delete) to RR, the final assignment written,
//      the entry dropped from /admin/reassign_partitions, UpdateMetadata to every broker.
// Requests come from AlterPartitionReassignments (API) and the legacy znode (created by a tool);
// both run inside the controller's event queue, so the core is never changed concurrently.

import type { Logger } from '../../util/log.js';
import { ErrorCode } from '../protocol/errors.js';
import type { KafkaZk, WatchHandle } from '../zk/kafkaZk.js';
import { Paths, type PartitionState } from '../zk/layout.js';
import { getPartitionReassignment, removeFromPartitionReassignment, setPartitionAssignment } from '../zk/reassignZk.js';
import type { ControllerCore, ControllerNotification, Decision, TopicPartition } from './decisions.js';
import {
  type ReplicaAssignment,
  buildReassignment,
  completedState,
  isBeingReassigned,
  isReassignmentComplete,
  sameAssignment,
  settled,
  targetReplicas,
  unneededReplicas,
  validateTarget,
  withoutReplicasInIsr,
} from './reassignment.js';

/** Attempts at a phase-B state write that a concurrent change keeps beating. */
const STATE_WRITE_ATTEMPTS_MAX = 3;

export interface ReassignerHost {
  readonly zk: KafkaZk;
  readonly log: Logger;
  /** The fencing token of the current term (undefined once resigned). */
  epochZkVersion(): number | undefined;
  execute(d: Decision): Promise<void>;
  deliver(n: readonly ControllerNotification[]): Promise<void>;
}

export interface ReassignmentRequest {
  topic: string;
  partition: number;
  /** null cancels the partition's reassignment. */
  replicas: number[] | null;
}

export interface ReassignmentResult {
  topic: string;
  partition: number;
  errorCode: number;
  errorMessage: string | null;
}

export interface OngoingReassignment {
  topic: string;
  partition: number;
  replicas: number[];
  addingReplicas: number[];
  removingReplicas: number[];
}

const NO_PARTITION = 'The partition does not exist.';
const NO_REASSIGNMENT = 'No partition reassignment is in progress.';

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class Reassigner {
  constructor(private readonly host: ReassignerHost) {}

  /** AlterPartitionReassignments (processApiPartitionReassignment). */
  async alter(core: ControllerCore, requests: readonly ReassignmentRequest[]): Promise<ReassignmentResult[]> {
    const results = new Map<string, ReassignmentResult>();
    const toStart = new Map<string, { tp: TopicPartition; next: ReplicaAssignment }>();
    const fail = (r: ReassignmentRequest, errorCode: number, errorMessage: string): void => {
      results.set(key(r.topic, r.partition), { topic: r.topic, partition: r.partition, errorCode, errorMessage });
    };
    // A partition named twice takes its last request, as Kafka's map does.
    const unique = new Map(requests.map((r) => [key(r.topic, r.partition), r]));
    for (const r of unique.values()) {
      const current = core.assignmentOf(r.topic, r.partition) ?? settled([]);
      const invalid = r.replicas === null ? undefined : validateTarget(current, r.replicas, (id) => core.liveBrokers.has(id));
      if (invalid) {
        fail(r, invalid.errorCode, invalid.message);
        continue;
      }
      const next = buildReassignment(current, r.replicas);
      if (!next) fail(r, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, NO_REASSIGNMENT);
      else toStart.set(key(r.topic, r.partition), { tp: { topic: r.topic, partition: r.partition }, next });
    }
    // The latest request wins over one made through the znode.
    const epoch = this.host.epochZkVersion();
    if (epoch !== undefined && toStart.size > 0) {
      await removeFromPartitionReassignment(this.host.zk, epoch, (e) => toStart.has(key(e.topic, e.partition)));
    }
    for (const [k, { tp, next }] of toStart) {
      const errorCode = await this.trigger(core, tp, next);
      results.set(k, {
        topic: tp.topic,
        partition: tp.partition,
        errorCode,
        errorMessage: errorCode === ErrorCode.NONE ? null : NO_PARTITION,
      });
    }
    return [...unique.keys()].map((k) => results.get(k)!);
  }

  /** ListPartitionReassignments: the moving partitions among `asked` (null: all). */
  list(core: ControllerCore, asked: readonly TopicPartition[] | null): OngoingReassignment[] {
    const wanted = asked ? new Set(asked.map((tp) => key(tp.topic, tp.partition))) : undefined;
    const out: OngoingReassignment[] = [];
    for (const tp of core.reassigningPartitions()) {
      if (wanted && !wanted.has(key(tp.topic, tp.partition))) continue;
      const a = core.assignmentOf(tp.topic, tp.partition)!;
      out.push({ ...tp, replicas: a.replicas, addingReplicas: a.adding, removingReplicas: a.removing });
    }
    return out;
  }

  /**
   * The legacy znode (at failover, or when created): each entry starts; the ones that cannot
   * are dropped from it. Returns the partitions started.
   */
  async fromZnode(core: ControllerCore): Promise<Set<string>> {
    const started = new Set<string>();
    const epoch = this.host.epochZkVersion();
    const entries = await getPartitionReassignment(this.host.zk);
    if (epoch === undefined || entries === null) return started;
    const failed = new Set<string>();
    for (const e of entries) {
      const next = buildReassignment(core.assignmentOf(e.topic, e.partition) ?? settled([]), e.replicas)!;
      const errorCode = await this.trigger(core, { topic: e.topic, partition: e.partition }, next);
      if (errorCode === ErrorCode.NONE) started.add(key(e.topic, e.partition));
      else failed.add(key(e.topic, e.partition));
    }
    if (failed.size > 0) {
      this.host.log.warn({ partitions: [...failed].map((k) => k.replace('\u0000', '-')) }, 'reassignment through ZooKeeper failed');
      await removeFromPartitionReassignment(this.host.zk, epoch, (e) => failed.has(key(e.topic, e.partition)));
    }
    return started;
  }

  /**
   * Kafka acts on the creation of /admin/reassign_partitions only (rewrites as entries complete
   * are not requests). The first delivery is the failover's own read (resumeAll), so it is skipped.
   */
  watchZnode(enqueue: (run: (core: ControllerCore) => Promise<unknown>) => void): WatchHandle {
    let present: boolean | undefined;
    return this.host.zk.watchData(Paths.reassignPartitions, (data) => {
      const was = present;
      present = data !== null;
      if (was === false && present) enqueue((core) => this.fromZnode(core));
    });
  }

  /** Failover: the znode's requests, then every API reassignment found in the topic znodes. */
  async resumeAll(core: ControllerCore): Promise<void> {
    const fromZk = await this.fromZnode(core);
    for (const tp of core.reassigningPartitions()) {
      if (!fromZk.has(key(tp.topic, tp.partition))) await this.start(core, tp, core.assignmentOf(tp.topic, tp.partition)!);
    }
  }

  /** Brokers came back: the moves that target them go on (onBrokerStartup). */
  async brokersStarted(core: ControllerCore, started: ReadonlySet<number>): Promise<void> {
    for (const tp of core.reassigningPartitions()) {
      const a = core.assignmentOf(tp.topic, tp.partition)!;
      if (targetReplicas(a).some((r) => started.has(r))) await this.start(core, tp, a);
    }
  }

  /** After ISR changes (AlterPartition): moves whose targets are all in sync complete. */
  async isrChanged(core: ControllerCore, partitions: readonly TopicPartition[]): Promise<void> {
    for (const tp of partitions) {
      const a = core.assignmentOf(tp.topic, tp.partition);
      const state = core.partitionState(tp.topic, tp.partition);
      if (a && state && isBeingReassigned(a) && isReassignmentComplete(a, state.isr)) await this.complete(core, tp);
    }
  }

  // ---- phases

  /** maybeTriggerPartitionReassignment */
  private async trigger(core: ControllerCore, tp: TopicPartition, next: ReplicaAssignment): Promise<number> {
    if (core.isTopicDeleting(tp.topic) || !core.assignmentOf(tp.topic, tp.partition)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    await this.start(core, tp, next);
    return ErrorCode.NONE;
  }

  /** onPartitionReassignment */
  private async start(core: ControllerCore, tp: TopicPartition, next: ReplicaAssignment): Promise<void> {
    const epoch = this.host.epochZkVersion();
    const current = core.assignmentOf(tp.topic, tp.partition);
    if (epoch === undefined || !current) return;
    if (!sameAssignment(current, next)) {
      await setPartitionAssignment(this.host.zk, epoch, tp.topic, tp.partition, next);
      core.setAssignment(tp.topic, tp.partition, next);
      this.host.log.info({ topic: tp.topic, partition: tp.partition, ...next }, 'reassigning partition');
      // A changed move may drop replicas the previous one was adding.
      const unneeded = unneededReplicas(current, next);
      if (unneeded.length > 0) await this.stopReplicas(core, tp, unneeded);
    }
    const state = core.partitionState(tp.topic, tp.partition);
    if (!state) return; // not started yet (no live replica): the move goes on when it is
    if (isReassignmentComplete(next, state.isr)) {
      await this.complete(core, tp);
      return;
    }
    // A1/A2: a new leader epoch carries RS, AR and RR to every replica; the added ones start fetching.
    const w = core.bumpState(tp.topic, tp.partition, partitionState(state));
    if (w) await this.host.execute({ notifications: [], writes: [w] });
  }

  /** Phase B. */
  private async complete(core: ControllerCore, tp: TopicPartition): Promise<void> {
    const epoch = this.host.epochZkVersion();
    const a = core.assignmentOf(tp.topic, tp.partition);
    if (epoch === undefined || !a) return;
    const done = settled(targetReplicas(a));
    for (let attempt = 1; ; attempt++) {
      const cur = core.partitionState(tp.topic, tp.partition);
      if (!cur) return;
      const next = completedState(partitionState(cur), a, (r) => core.mayLead(r));
      if (!next) {
        this.host.log.warn({ topic: tp.topic, partition: tp.partition }, 'reassignment waits: no target replica can lead');
        return;
      }
      // B2 then B3/B4: memory first, so the LeaderAndIsr goes to TRS with RS = TRS.
      core.setAssignment(tp.topic, tp.partition, done);
      await this.host.execute({ notifications: [], writes: [core.bumpState(tp.topic, tp.partition, next)!] });
      const after = core.partitionState(tp.topic, tp.partition);
      if (!after || after.isr.every((r) => !a.removing.includes(r)) || attempt >= STATE_WRITE_ATTEMPTS_MAX) break;
      core.setAssignment(tp.topic, tp.partition, a);
    }
    const leaderEpoch = core.partitionState(tp.topic, tp.partition)?.leaderEpoch ?? -1;
    // B5: the removed replicas stop and delete their logs.
    if (a.removing.length > 0) {
      await this.host.deliver([
        { kind: 'stopReplica', topic: tp.topic, partition: tp.partition, deletePartition: true, replicas: [...a.removing], leaderEpoch },
      ]);
    }
    // B6, B7, B8.
    await setPartitionAssignment(this.host.zk, epoch, tp.topic, tp.partition, done);
    await removeFromPartitionReassignment(
      this.host.zk,
      epoch,
      (e) => e.topic === tp.topic && e.partition === tp.partition && sameAssignment(settled(e.replicas), done),
    );
    await this.host.deliver([{ kind: 'metadataChange', partitions: [tp] }]);
    this.host.log.info({ topic: tp.topic, partition: tp.partition, replicas: done.replicas }, 'partition reassignment completed');
  }

  /** stopRemovedReplicasOfReassignedPartition: out of the ISR, then StopReplica(delete). */
  private async stopReplicas(core: ControllerCore, tp: TopicPartition, replicas: number[]): Promise<void> {
    const cur = core.partitionState(tp.topic, tp.partition);
    const next = cur && withoutReplicasInIsr(partitionState(cur), replicas);
    const w = next && core.bumpState(tp.topic, tp.partition, next);
    if (w) await this.host.execute({ notifications: [], writes: [w] });
    const leaderEpoch = core.partitionState(tp.topic, tp.partition)?.leaderEpoch ?? -1;
    await this.host.deliver([
      { kind: 'stopReplica', topic: tp.topic, partition: tp.partition, deletePartition: true, replicas, leaderEpoch },
    ]);
  }
}

/** The znode fields of a cached state (without replicas and zkVersion). */
function partitionState(s: PartitionState): PartitionState {
  return {
    leader: s.leader,
    leaderEpoch: s.leaderEpoch,
    isr: [...s.isr],
    controllerEpoch: s.controllerEpoch,
    leaderRecoveryState: s.leaderRecoveryState,
  };
}
