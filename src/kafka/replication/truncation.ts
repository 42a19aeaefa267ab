// Follower truncation by leader epoch (KIP-101/279), as pure decisions: given the leader's answer
// for our latest epoch (OffsetForLeaderEpoch, or a Fetch response's DivergingEpoch) and our own
// leader epoch cache, where our log must end before fetching from the new leader. Same rules as
// Kafka 3.9's AbstractFetcherThread.getOffsetTruncationState.

const UNDEFINED = -1;

/** The leader's (epoch, end offset) for the epoch we asked about. */
export interface EpochEndOffset {
  readonly leaderEpoch: number;
  readonly endOffset: number;
}

/** Our leader epoch cache, as LeaderEpochCache.endOffsetFor answers. */
export interface LocalEpochs {
  endOffsetFor(epoch: number, logEndOffset: number): { epoch: number; endOffset: number };
}

export interface TruncationDecision {
  /** Truncate the log to end here (a no-op when it is not below the log end). */
  readonly offset: number;
  /** False: truncate, then ask the leader again for our (new) latest epoch. */
  readonly done: boolean;
}

/**
 * @param leader the leader's answer for our latest epoch
 * @param ours our epoch cache
 * @param logEndOffset our log end offset
 * @param highWatermark our high watermark: the fallback when the leader cannot place our epoch at all
 */
export function truncationDecision(
  leader: EpochEndOffset,
  ours: LocalEpochs,
  logEndOffset: number,
  highWatermark: number,
): TruncationDecision {
  // The leader knows nothing that old (or has no epochs): keep what is known committed.
  if (leader.endOffset === UNDEFINED) return { offset: Math.min(highWatermark, logEndOffset), done: true };
  if (leader.leaderEpoch === UNDEFINED) return { offset: Math.min(leader.endOffset, logEndOffset), done: true };
  const mine = ours.endOffsetFor(leader.leaderEpoch, logEndOffset);
  // The leader's epoch is newer than anything we hold: its end offset is all we can go by.
  if (mine.endOffset === UNDEFINED) return { offset: Math.min(leader.endOffset, logEndOffset), done: true };
  // The leader answered with an epoch we never had: cut back to the end of our largest smaller
  // epoch and ask again with the epoch we are left with.
  if (mine.epoch !== leader.leaderEpoch) return { offset: Math.min(mine.endOffset, logEndOffset), done: false };
  return { offset: Math.min(mine.endOffset, leader.endOffset, logEndOffset), done: true };
}

/**
 * Kafka's answer to an out-of-range fetch: behind the leader's log start, restart empty there;
 * ahead of the leader's end (an unclean election), cut back to it; otherwise keep our log.
 */
export function outOfRangeDecision(
  logEndOffset: number,
  leaderStartOffset: number,
  leaderEndOffset: number,
): { kind: 'truncate'; offset: number } | { kind: 'start-at'; offset: number } | { kind: 'keep' } {
  if (leaderEndOffset < logEndOffset) return { kind: 'truncate', offset: leaderEndOffset };
  if (leaderStartOffset > logEndOffset) return { kind: 'start-at', offset: leaderStartOffset };
  return { kind: 'keep' };
}
