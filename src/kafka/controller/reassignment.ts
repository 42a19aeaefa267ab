// Partition reassignment rules (KIP-455, Kafka 3.9 ZooKeeper mode: KafkaController's
// onPartitionReassignment and its helpers, ReplicaAssignment.reassignTo), pure. While a partition
// moves its replica set RS is the origin set ORS plus the target set TRS; AR = TRS - ORS are being
// added, RR = ORS - TRS removed. Phase A puts RS in place and starts AR; phase B, once every
// target replica is in the ISR, makes TRS the assignment, moves leadership into it if needed and
// stops RR.

import { ErrorCode } from '../protocol/errors.js';
import type { PartitionState } from '../zk/layout.js';

export interface ReplicaAssignment {
  /** RS: every replica the partition has now (targets first while moving). */
  replicas: number[];
  /** AR */
  adding: number[];
  /** RR */
  removing: number[];
}

export const settled = (replicas: readonly number[]): ReplicaAssignment => ({ replicas: [...replicas], adding: [], removing: [] });

/** ORS = RS - AR. */
export const originReplicas = (a: ReplicaAssignment): number[] => a.replicas.filter((r) => !a.adding.includes(r));

/** TRS = RS - RR. */
export const targetReplicas = (a: ReplicaAssignment): number[] => a.replicas.filter((r) => !a.removing.includes(r));

export const isBeingReassigned = (a: ReplicaAssignment): boolean => a.adding.length > 0 || a.removing.length > 0;

export function sameAssignment(a: ReplicaAssignment, b: ReplicaAssignment): boolean {
  const eq = (x: readonly number[], y: readonly number[]): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  return eq(a.replicas, b.replicas) && eq(a.adding, b.adding) && eq(a.removing, b.removing);
}

/** ReplicaAssignment.reassignTo: RS = distinct(target ++ ORS), AR = RS - ORS, RR = RS - target. */
export function reassignTo(current: ReplicaAssignment, target: readonly number[]): ReplicaAssignment {
  const origin = originReplicas(current);
  const replicas = [...new Set([...target, ...origin])];
  return {
    replicas,
    adding: replicas.filter((r) => !origin.includes(r)),
    removing: replicas.filter((r) => !target.includes(r)),
  };
}

export interface RuleError {
  errorCode: number;
  message: string;
}

/** KafkaController.validateReplicas: a non-empty list of distinct ids whose added brokers are live. */
export function validateTarget(
  current: ReplicaAssignment,
  target: readonly number[],
  isLive: (id: number) => boolean,
): RuleError | undefined {
  const bad = (message: string): RuleError => ({ errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message });
  if (target.length === 0) return bad('Empty replica list specified in partition reassignment.');
  if (new Set(target).size !== target.length) return bad(`Duplicate replica ids in partition reassignment replica list: ${list(target)}`);
  if (target.some((r) => r < 0)) return bad(`Invalid broker id in replica list: ${list(target)}`);
  const adding = reassignTo(current, target).adding;
  if (!adding.every(isLive)) return bad(`Replica assignment has brokers that are not alive. Replica list: ${list(adding)}`);
  return undefined;
}

/**
 * maybeBuildReassignment: the assignment to move to, or undefined when there is nothing to do
 * (a cancellation, `target` null, of a partition that is not moving). Cancelling moves back to ORS.
 */
export function buildReassignment(current: ReplicaAssignment, target: readonly number[] | null): ReplicaAssignment | undefined {
  if (target === null) return isBeingReassigned(current) ? reassignTo(current, originReplicas(current)) : undefined;
  return reassignTo(current, target);
}

/** isReassignmentComplete: every target replica is in the ISR. */
export function isReassignmentComplete(a: ReplicaAssignment, isr: readonly number[]): boolean {
  return targetReplicas(a).every((r) => isr.includes(r));
}

/** Replicas of the old assignment the new one no longer has (a changed reassignment drops them at once). */
export function unneededReplicas(before: ReplicaAssignment, after: ReplicaAssignment): number[] {
  return before.replicas.filter((r) => !after.replicas.includes(r));
}

/**
 * Phase B's partition state (B3 + B4 in one write): the leader stays if it is in TRS and may lead,
 * else the first TRS replica that may lead and is in the ISR (Kafka's reassign election); the
 * removed replicas leave the ISR. Undefined when no target replica can lead: the move waits.
 */
export function completedState(state: PartitionState, a: ReplicaAssignment, eligible: (id: number) => boolean): PartitionState | undefined {
  const target = targetReplicas(a);
  const leader =
    target.includes(state.leader) && eligible(state.leader) ? state.leader : target.find((r) => eligible(r) && state.isr.includes(r));
  if (leader === undefined) return undefined;
  const isr = state.isr.filter((r) => !a.removing.includes(r));
  return { ...state, leader, isr: isr.includes(leader) ? isr : [leader, ...isr] };
}

/** The partition state with the replicas of `stop` out of its ISR (a leader among them is kept: it was moved first). */
export function withoutReplicasInIsr(state: PartitionState, stop: readonly number[]): PartitionState | undefined {
  const isr = state.isr.filter((r) => !stop.includes(r) || r === state.leader);
  return isr.length === state.isr.length ? undefined : { ...state, isr };
}

function list(ids: readonly number[]): string {
  return `[${ids.join(', ')}]`;
}
