// Per-partition rules behind the controller's request-driven changes, pure functions of one
// partition's state: validating a leader's AlterPartition (KafkaController.processAlterPartition)
// and the preferred and unclean elections ElectLeaders asks for (PartitionLeaderElectionAlgorithms).
// `next` is the proposed state before the core bumps epochs where Kafka does.

import { ErrorCode } from '../protocol/errors.js';
import { LEADER_RECOVERY_RECOVERED, LEADER_RECOVERY_RECOVERING, NO_LEADER, type PartitionState } from '../zk/layout.js';

export interface IsrChange {
  leaderEpoch: number;
  newIsr: readonly number[];
  /** v3: the broker epoch each ISR member had when the leader saw it (-1 unknown). */
  newIsrEpochs?: readonly number[] | undefined;
  leaderRecoveryState: number;
  partitionEpoch: number;
}

export interface RuleResult {
  errorCode: number;
  next?: PartitionState;
}

/**
 * An ISR proposal from `brokerId`: the sender must lead at that leader epoch; a proposal equal to
 * the current state is a retry (answered with the state, whatever its partition epoch); otherwise
 * the partition epoch must match, the recovery state may only go RECOVERING -> RECOVERED, and
 * every member must be an assigned replica that is live, not shutting down, at the epoch named.
 */
export function checkIsrChange(
  state: PartitionState,
  zkVersion: number,
  assignment: readonly number[],
  brokerId: number,
  it: IsrChange,
  eligible: (r: number) => boolean,
  brokerEpochOf: (r: number) => number | undefined,
): RuleResult {
  if (state.leader !== brokerId) return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
  if (it.leaderEpoch !== state.leaderEpoch) return { errorCode: ErrorCode.FENCED_LEADER_EPOCH };
  const sameIsr = it.newIsr.length === state.isr.length && it.newIsr.every((r, i) => state.isr[i] === r);
  if (sameIsr && it.leaderRecoveryState === state.leaderRecoveryState) return { errorCode: ErrorCode.NONE };
  if (it.partitionEpoch !== zkVersion) return { errorCode: ErrorCode.INVALID_UPDATE_VERSION };
  if (it.leaderRecoveryState === LEADER_RECOVERY_RECOVERING && it.newIsr.length > 1) return { errorCode: ErrorCode.INVALID_REQUEST };
  if (state.leaderRecoveryState === LEADER_RECOVERY_RECOVERED && it.leaderRecoveryState === LEADER_RECOVERY_RECOVERING) {
    return { errorCode: ErrorCode.INVALID_REQUEST };
  }
  if (!it.newIsr.includes(state.leader) || new Set(it.newIsr).size !== it.newIsr.length) return { errorCode: ErrorCode.INVALID_REQUEST };
  const ineligible = it.newIsr.some((r, i) => {
    const epoch = it.newIsrEpochs?.[i] ?? -1;
    return !assignment.includes(r) || !eligible(r) || (epoch >= 0 && brokerEpochOf(r) !== epoch);
  });
  if (ineligible) return { errorCode: ErrorCode.INELIGIBLE_REPLICA };
  return { errorCode: ErrorCode.NONE, next: { ...state, isr: [...it.newIsr], leaderRecoveryState: it.leaderRecoveryState } };
}

/** Preferred election: the first assigned replica leads again if it may and is in the ISR. */
export function preferredElection(state: PartitionState, assignment: readonly number[], eligible: (r: number) => boolean): RuleResult {
  const preferred = assignment[0]!;
  if (state.leader === preferred) return { errorCode: ErrorCode.ELECTION_NOT_NEEDED };
  if (!eligible(preferred) || !state.isr.includes(preferred)) return { errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE };
  return { errorCode: ErrorCode.NONE, next: { ...state, leader: preferred, isr: state.isr.filter(eligible) } };
}

/**
 * Unclean election on request: only a partition without a live leader; a live ISR member is still
 * preferred, else any live replica leads alone, RECOVERING (KIP-704).
 */
export function uncleanElection(
  state: PartitionState,
  assignment: readonly number[],
  eligible: (r: number) => boolean,
  isLive: (r: number) => boolean,
): RuleResult {
  if (state.leader !== NO_LEADER && isLive(state.leader)) return { errorCode: ErrorCode.ELECTION_NOT_NEEDED };
  const clean = assignment.find((r) => eligible(r) && state.isr.includes(r));
  if (clean !== undefined) return { errorCode: ErrorCode.NONE, next: { ...state, leader: clean, isr: state.isr.filter(eligible) } };
  const leader = assignment.find(eligible);
  if (leader === undefined) return { errorCode: ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE };
  return { errorCode: ErrorCode.NONE, next: { ...state, leader, isr: [leader], leaderRecoveryState: LEADER_RECOVERY_RECOVERING } };
}
