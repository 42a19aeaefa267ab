// The leader side of one partition as a pure state machine (Kafka 3.9's Partition + Replica, ZooKeeper
// mode with AlterPartition): what the leader knows of each follower, the high watermark rule, ISR
// shrink/expand proposals with at most one in flight, and the acks=all completion check. Inputs are
// fetch positions, the clock value and the controller's answers; outputs are numbers and proposals the
// shell acts on (set the HW, send AlterPartition, complete parked produces). No I/O, no timers.

import { ErrorCode } from '../protocol/errors.js';

/** An offset the leader has not learned yet (Kafka's UnknownOffset). */
export const UNKNOWN_OFFSET = -1;

/** What the leader knows of one follower (Kafka's ReplicaState). */
export interface RemoteReplicaState {
  readonly brokerId: number;
  logEndOffset: number;
  logStartOffset: number;
  /** The leader's log end offset when this follower last fetched. */
  lastFetchLeaderLogEndOffset: number;
  lastFetchTimeMs: number;
  /** The last time the follower had everything the leader had (drives ISR shrink). */
  lastCaughtUpTimeMs: number;
}

/** A proposed ISR, sent to the controller as AlterPartition; the leader's view until answered. */
export interface IsrProposal {
  readonly kind: 'expand' | 'shrink';
  readonly isr: readonly number[];
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
}

/** The leadership the controller assigned (a LeaderAndIsr partition state). */
export interface LeaderTerm {
  readonly leaderEpoch: number;
  /** ZooKeeper version of the partition state znode. */
  readonly partitionEpoch: number;
  readonly isr: readonly number[];
  readonly replicas: readonly number[];
}

/** The controller's answer for one partition of an AlterPartition request. */
export interface AlterPartitionResult {
  readonly errorCode: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
  readonly partitionEpoch: number;
}

/**
 * What to do after an AlterPartition answer: `adopted` (new ISR in force: recompute the HW),
 * `retry` (send the same proposal again later), `reset` (proposal dropped, back to the committed
 * ISR), `await-leader-and-isr` (stays pending until the controller's next LeaderAndIsr),
 * `ignored` (the answer is for a proposal no longer current).
 */
export type AlterPartitionOutcome = 'adopted' | 'retry' | 'reset' | 'await-leader-and-isr' | 'ignored';

/** Sentinel of highWatermarkCandidate: the HW must not move (ISR below min.insync.replicas). */
export const HW_FROZEN = -2;

export class LeaderCore {
  readonly remotes = new Map<number, RemoteReplicaState>();
  leaderEpoch = -1;
  partitionEpoch = -1;
  /** The committed ISR: the last the controller confirmed. */
  isr: readonly number[] = [];
  pending: IsrProposal | undefined;
  /** The leader's log end offset when this leader epoch began (followers must reach it to join the ISR). */
  epochStartOffset = 0;

  constructor(
    readonly localId: number,
    /** replica.lag.time.max.ms */
    public replicaLagTimeMaxMs: number,
  ) {}

  /**
   * Kafka's makeLeader for a partition led here. `isNewLeader` says this broker was not leading
   * it before (all follower knowledge is then reset). Returns false when the state is older than
   * the one held (a lower partition epoch) and was ignored.
   */
  becomeLeader(term: LeaderTerm, leaderEndOffset: number, nowMs: number, isNewLeader: boolean): boolean {
    if (term.partitionEpoch < this.partitionEpoch) return false;
    const isNewLeaderEpoch = term.leaderEpoch > this.leaderEpoch;
    for (const id of [...this.remotes.keys()]) if (!term.replicas.includes(id) || id === this.localId) this.remotes.delete(id);
    for (const id of term.replicas) {
      if (id !== this.localId && !this.remotes.has(id)) this.remotes.set(id, emptyReplica(id));
    }
    this.isr = [...term.isr];
    this.pending = undefined;
    if (isNewLeaderEpoch) {
      for (const r of this.remotes.values()) resetReplica(r, nowMs, leaderEndOffset, isNewLeader, term.isr.includes(r.brokerId));
      this.leaderEpoch = term.leaderEpoch;
      this.epochStartOffset = leaderEndOffset;
    }
    this.partitionEpoch = term.partitionEpoch;
    return true;
  }

  /** The ISR the HW must respect: the committed ISR plus a replica being added (KIP-497's maximal ISR). */
  get maximalIsr(): readonly number[] {
    return this.pending?.kind === 'expand' ? this.pending.isr : this.isr;
  }

  /** min.insync.replicas as Kafka applies it: never more than the replication factor. */
  effectiveMinIsr(minInsyncReplicas: number): number {
    return Math.min(minInsyncReplicas, this.remotes.size + 1);
  }

  isUnderMinIsr(minInsyncReplicas: number): boolean {
    return this.isr.length < this.effectiveMinIsr(minInsyncReplicas);
  }

  /**
   * Records a follower's fetch at `fetchOffset` (Kafka's Replica.updateFetchStateOrThrow). Returns
   * undefined when `replicaId` is not an assigned follower, else whether its log end offset moved.
   */
  updateFollowerFetchState(
    replicaId: number,
    fetchOffset: number,
    followerStartOffset: number,
    leaderEndOffset: number,
    nowMs: number,
  ): boolean | undefined {
    const r = this.remotes.get(replicaId);
    if (r === undefined) return undefined;
    const moved = r.logEndOffset !== fetchOffset;
    if (fetchOffset >= leaderEndOffset) r.lastCaughtUpTimeMs = Math.max(r.lastCaughtUpTimeMs, nowMs);
    else if (fetchOffset >= r.lastFetchLeaderLogEndOffset) r.lastCaughtUpTimeMs = Math.max(r.lastCaughtUpTimeMs, r.lastFetchTimeMs);
    r.logStartOffset = followerStartOffset;
    r.logEndOffset = fetchOffset;
    r.lastFetchLeaderLogEndOffset = Math.max(leaderEndOffset, r.lastFetchLeaderLogEndOffset);
    r.lastFetchTimeMs = nowMs;
    return moved;
  }

  private isCaughtUp(r: RemoteReplicaState, leaderEndOffset: number, nowMs: number): boolean {
    return r.logEndOffset === leaderEndOffset || nowMs - r.lastCaughtUpTimeMs <= this.replicaLagTimeMaxMs;
  }

  /**
   * The high watermark the replicas allow now: the lowest log end offset among the maximal ISR and
   * any caught-up follower about to join it, capped by the leader's own. HW_FROZEN while the ISR is
   * below min.insync.replicas (Kafka 3.9 stops the HW there). The caller only ever moves the HW up.
   * `eligible` says whether a follower may join the ISR (in ZooKeeper mode: it is a live broker).
   */
  highWatermarkCandidate(leaderEndOffset: number, nowMs: number, minInsyncReplicas: number, eligible?: (id: number) => boolean): number {
    if (this.isUnderMinIsr(minInsyncReplicas)) return HW_FROZEN;
    let hw = leaderEndOffset;
    if (this.remotes.size === 0) return hw;
    const maximal = this.maximalIsr;
    for (const r of this.remotes.values()) {
      if (r.logEndOffset >= hw) continue;
      if (maximal.includes(r.brokerId) || (this.isCaughtUp(r, leaderEndOffset, nowMs) && (eligible?.(r.brokerId) ?? true))) {
        hw = r.logEndOffset;
      }
    }
    return hw;
  }

  /**
   * DeleteRecords' low watermark: the lowest log start offset among the leader and its live
   * followers (unknown = -1 holds it back until the follower has fetched).
   */
  lowWatermark(leaderLogStartOffset: number, alive?: (id: number) => boolean): number {
    let low = leaderLogStartOffset;
    for (const r of this.remotes.values()) {
      if (r.logStartOffset < low && (alive?.(r.brokerId) ?? true)) low = r.logStartOffset;
    }
    return low;
  }

  /** ISR members (not the leader) that are out of sync; none while a proposal is in flight. */
  outOfSyncReplicas(leaderEndOffset: number, nowMs: number): number[] {
    if (this.pending !== undefined) return [];
    const out: number[] = [];
    for (const id of this.isr) {
      if (id === this.localId) continue;
      const r = this.remotes.get(id);
      if (r === undefined || !this.isCaughtUp(r, leaderEndOffset, nowMs)) out.push(id);
    }
    return out;
  }

  /** Proposes an ISR without the out-of-sync followers, if any (it becomes the one in flight). */
  maybeProposeShrink(leaderEndOffset: number, nowMs: number): IsrProposal | undefined {
    const out = this.outOfSyncReplicas(leaderEndOffset, nowMs);
    if (out.length === 0) return undefined;
    this.pending = {
      kind: 'shrink',
      isr: this.isr.filter((id) => !out.includes(id)),
      leaderEpoch: this.leaderEpoch,
      partitionEpoch: this.partitionEpoch,
    };
    return this.pending;
  }

  /**
   * Proposes adding a follower that caught up: its log end offset is at least the HW and inside
   * this leader epoch (so it holds every committed record). Not while a proposal is in flight.
   */
  maybeProposeExpand(replicaId: number, highWatermark: number, eligible?: (id: number) => boolean): IsrProposal | undefined {
    if (this.pending !== undefined || this.isr.includes(replicaId)) return undefined;
    const r = this.remotes.get(replicaId);
    if (r === undefined || !(eligible?.(replicaId) ?? true)) return undefined;
    if (r.logEndOffset < highWatermark || r.logEndOffset < this.epochStartOffset) return undefined;
    this.pending = {
      kind: 'expand',
      isr: [...this.isr, replicaId],
      leaderEpoch: this.leaderEpoch,
      partitionEpoch: this.partitionEpoch,
    };
    return this.pending;
  }

  /** Applies the controller's answer to `proposal` (Kafka's handleAlterPartitionUpdate/Error). */
  onAlterPartitionResult(proposal: IsrProposal, result: AlterPartitionResult): AlterPartitionOutcome {
    if (this.pending !== proposal) return 'ignored';
    switch (result.errorCode) {
      case ErrorCode.NONE:
        // An answer from another leader epoch or an older partition epoch cannot be adopted; the
        // proposal stays pending until the controller's LeaderAndIsr replaces the state.
        if (result.leaderEpoch !== this.leaderEpoch || result.partitionEpoch < this.partitionEpoch) return 'await-leader-and-isr';
        this.isr = [...result.isr];
        this.partitionEpoch = result.partitionEpoch;
        this.pending = undefined;
        return 'adopted';
      case ErrorCode.OPERATION_NOT_ATTEMPTED:
      case ErrorCode.INELIGIBLE_REPLICA:
        this.pending = undefined;
        return 'reset';
      case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
      case ErrorCode.UNKNOWN_TOPIC_ID:
      case ErrorCode.FENCED_LEADER_EPOCH:
      case ErrorCode.INVALID_UPDATE_VERSION:
      case ErrorCode.INVALID_REQUEST:
      case ErrorCode.NEW_LEADER_ELECTED:
        return 'await-leader-and-isr';
      default:
        return 'retry';
    }
  }

  /**
   * acks=all: whether a produce needing `requiredOffset` (its last offset + 1) is done. undefined
   * = keep waiting; otherwise the error code to answer with (NONE, or NOT_ENOUGH_REPLICAS_AFTER_APPEND
   * when the ISR fell below min.insync.replicas after the append; the records stay written).
   */
  checkEnoughReplicasReachOffset(requiredOffset: number, highWatermark: number, minInsyncReplicas: number): number | undefined {
    if (highWatermark < requiredOffset) return undefined;
    return this.maximalIsr.length >= this.effectiveMinIsr(minInsyncReplicas) ? ErrorCode.NONE : ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND;
  }
}

function emptyReplica(brokerId: number): RemoteReplicaState {
  return {
    brokerId,
    logEndOffset: UNKNOWN_OFFSET,
    logStartOffset: UNKNOWN_OFFSET,
    lastFetchLeaderLogEndOffset: 0,
    lastFetchTimeMs: 0,
    lastCaughtUpTimeMs: 0,
  };
}

/** Kafka's Replica.resetReplicaState at the start of a leader epoch. */
function resetReplica(r: RemoteReplicaState, nowMs: number, leaderEndOffset: number, isNewLeader: boolean, inSync: boolean): void {
  // An ISR member counts as caught up now, so it is not dropped before it could fetch; others
  // count as never caught up, so they do not hold the HW back.
  r.lastCaughtUpTimeMs = inSync ? nowMs : 0;
  if (isNewLeader) {
    r.logStartOffset = UNKNOWN_OFFSET;
    r.logEndOffset = UNKNOWN_OFFSET;
    r.lastFetchLeaderLogEndOffset = UNKNOWN_OFFSET;
    r.lastFetchTimeMs = 0;
  } else {
    r.lastFetchLeaderLogEndOffset = leaderEndOffset;
    r.lastFetchTimeMs = inSync ? nowMs : 0;
  }
}
