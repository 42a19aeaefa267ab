// The messages and effects of the consensus core (quorum/peer.ts). The core is a pure state
// machine: it consumes Inputs and returns Outputs; a shell binds it to TCP and files, the
// simulator (src/sim) to a seeded fake network, clock and disk.
//
// Channels between two peers are FIFO while connected (as TCP is); a broken connection loses
// what was in flight and is reported to both sides as `disconnected`. A link coming up is reported
// as `connected`, so what was sent while it was down (and lost) can be sent again at once.

export type PeerId = number;

/** A transaction as consensus sees it: a zxid and opaque bytes (the jute txn for ZooKeeper). */
export interface QTxn {
  zxid: number;
  data: Uint8Array;
}

export type PeerState = 'looking' | 'following' | 'leading' | 'observing';

/** Fast leader election vote: ordered by epoch, then zxid, then leader id. */
export interface Vote {
  leader: PeerId;
  zxid: number;
  /** The proposer's currentEpoch (peerEpoch in ZooKeeper). */
  epoch: number;
}

/**
 * A committed configuration as election notifications carry it (Apache's carry the version and
 * the QuorumVerifier's text): its version (the reconfig's zxid) and bytes the core hands to
 * CoreConfig.reconfigOf as if they were that reconfig txn (the host's own encoding of it).
 */
export interface ConfigNote {
  version: number;
  data: Uint8Array;
}

export type Msg =
  /** Election notification; `round` is the sender's logical clock (electionEpoch); `config` its committed configuration. */
  | { t: 'vote'; state: PeerState; vote: Vote; round: number; config?: ConfigNote }
  /** Learner -> leader: who I am and the last epoch I accepted (FOLLOWERINFO/OBSERVERINFO). */
  | { t: 'learnerinfo'; acceptedEpoch: number; observer: boolean }
  | { t: 'leaderinfo'; epoch: number }
  | { t: 'ackepoch'; currentEpoch: number; lastZxid: number }
  /** Sync mode: DIFF (proposals follow), TRUNC (drop txns after zxid), SNAP (state at zxid in data). */
  | { t: 'diff'; zxid: number }
  | { t: 'trunc'; zxid: number }
  | { t: 'snap'; zxid: number; data?: Uint8Array }
  | { t: 'proposal'; txn: QTxn }
  | { t: 'commit'; zxid: number }
  /** Leader -> observer: a committed txn. */
  | { t: 'inform'; txn: QTxn }
  /** `config`: the leader's committed configuration, which the learner takes (Apache's NEWLEADER carries it). */
  | { t: 'newleader'; zxid: number; config?: ConfigNote }
  /** Cumulative: the sender has everything up to zxid on disk. */
  | { t: 'ack'; zxid: number }
  | { t: 'uptodate'; zxid: number }
  | { t: 'ping' }
  /** Learner -> leader: a client write to prep and propose. */
  | { t: 'request'; data: Uint8Array }
  /** sync: the leader answers once everything proposed before it is committed. */
  | { t: 'sync'; id: number }
  /** Between hosts, opaque to consensus (session touches, revalidation). */
  | { t: 'host'; data: Uint8Array };

export type Input =
  | { kind: 'tick'; now: number }
  | { kind: 'message'; from: PeerId; msg: Msg; now: number }
  | { kind: 'disconnected'; peer: PeerId; now: number }
  /** A link to `peer` came up; messages sent to it before were dropped. */
  | { kind: 'connected'; peer: PeerId; now: number }
  /** The persist output with this sequence number (and every earlier one) is durable. */
  | { kind: 'persisted'; seq: number; now: number };

export interface Persist {
  seq: number;
  txns?: QTxn[];
  acceptedEpoch?: number;
  currentEpoch?: number;
}

export type Output =
  | { kind: 'send'; to: PeerId; msg: Msg }
  /** Write to disk in order; report `persisted` with `seq` once durable. */
  | { kind: 'persist'; p: Persist }
  /** Apply to the state machine, in zxid order. */
  | { kind: 'commit'; txn: QTxn }
  /** Drop logged txns after `zxid` and rebuild the state from what remains. */
  | { kind: 'truncate'; zxid: number }
  /** Replace state and log with the leader's snapshot at `zxid`. */
  | { kind: 'installSnapshot'; zxid: number; data: Uint8Array | undefined }
  /** Role or serving status changed (serving: may answer clients). */
  | { kind: 'role'; state: PeerState; leader: PeerId | undefined; epoch: number; serving: boolean }
  /** Leader: a learner forwarded a client write; prep it and call propose(). */
  | { kind: 'forwarded'; from: PeerId; data: Uint8Array }
  /** Learner: the sync with this id is complete (everything before it is applied). */
  | { kind: 'syncDone'; id: number }
  /** A host-to-host message from a peer (see Msg 'host'). */
  | { kind: 'hostMessage'; from: PeerId; data: Uint8Array }
  /** A newer committed configuration learnt from an election notification is ours now. */
  | { kind: 'configAdopted'; config: ConfigNote };

export interface QuorumMemberSpec {
  id: PeerId;
  observer: boolean;
}

export interface CoreConfig {
  members: QuorumMemberSpec[];
  tickMs: number;
  /** Ticks a learner may take to connect and sync. */
  initLimit: number;
  /** Ticks a learner may fall behind (or stay silent) before it is dropped. */
  syncLimit: number;
  /**
   * Wait after reaching a quorum for a better vote. ZooKeeper waits 200 ms (finalizeWait); ours
   * is shorter because a peer answers a worse vote at once (election.ts), so votes converge in a
   * round trip, and the wait only covers a slower peer's better vote. Safety never rests on it:
   * discovery refuses a leader whose history is behind a follower's.
   */
  finalizeWaitMs: number;
  /** Re-send our vote this often while looking. */
  voteResendMs: number;
  /** Committed txns the leader keeps for DIFF syncs (ZooKeeper: 500). */
  committedLogMax: number;
  /**
   * The configuration a txn switches to if it is a reconfig, else undefined (the host decodes its
   * own txns; called once per proposed and per applied txn, so it must be cheap for the rest).
   */
  reconfigOf?: (txn: QTxn) => QuorumMemberSpec[] | undefined;
  /**
   * The configuration `members` come from, as notifications carry it (its data decodes through
   * reconfigOf). Without it notifications carry no configuration and none is adopted from them.
   */
  config?: ConfigNote;
}

export const DEFAULT_CORE_CONFIG: Omit<CoreConfig, 'members' | 'tickMs' | 'initLimit' | 'syncLimit'> = {
  finalizeWaitMs: 50,
  voteResendMs: 400,
  committedLogMax: 500,
};

/** What a peer recovered from its disk. */
export interface DurableState {
  acceptedEpoch: number;
  currentEpoch: number;
  /** Logged txns (all of them, or at least the recent tail), in zxid order. */
  log: QTxn[];
  /** zxid of the snapshot the state starts from (txns at or before it need not be in `log`). */
  snapshotZxid: number;
}

export function epochOf(zxid: number): number {
  return Math.floor(zxid / 0x1_0000_0000);
}

export function makeZxid(epoch: number, counter: number): number {
  return epoch * 0x1_0000_0000 + counter;
}

/** Vote order (FastLeaderElection.totalOrderPredicate). */
export function voteBeats(a: Vote, b: Vote): boolean {
  if (a.epoch !== b.epoch) return a.epoch > b.epoch;
  if (a.zxid !== b.zxid) return a.zxid > b.zxid;
  return a.leader > b.leader;
}
