// The voters of the consensus core across a dynamic reconfiguration, as Apache 3.8's Leader
// counts acks (a proposal's QuorumVerifierAcksetPairs in tryToCommit): while a reconfig proposal is
// outstanding, it and every proposal made after it commit only with an ack quorum of the old
// voters AND one of the new voters. The reconfig's commit switches the voters on each member as
// it applies it. Pure: the host tells the core which txns are reconfigs (CoreConfig.reconfigOf).

import type { ConfigNote, PeerId, QTxn, QuorumMemberSpec } from './types.js';

/** A strict majority of `voters` among `ids` (QuorumMaj.containsQuorum). */
export function majorityOf(voters: ReadonlySet<PeerId>, ids: Iterable<PeerId>): boolean {
  let n = 0;
  for (const p of new Set(ids)) if (voters.has(p)) n++;
  return n * 2 > voters.size;
}

/** The voter sets a proposal must win, fixed when it is proposed. */
export type QuorumSets = readonly ReadonlySet<PeerId>[];

/**
 * The membership one core works with: the committed voters (mutated in place, so the election
 * that holds the same Set sees a switch), everyone it talks to, and a reconfig in flight.
 */
export class Membership {
  readonly voters = new Set<PeerId>();
  /** Every member of the committed configuration, observers included (whom the election notifies). */
  readonly everyone: PeerId[] = [];
  observers = new Set<PeerId>();
  /** The reconfig proposed and not yet committed (leader only): its zxid and new voters. */
  pending: { zxid: number; voters: ReadonlySet<PeerId> } | undefined;
  /** The committed configuration as notifications carry it (undefined: the host gave none). */
  note: ConfigNote | undefined;

  constructor(
    members: readonly QuorumMemberSpec[],
    private readonly self: PeerId,
    note?: ConfigNote,
  ) {
    this.set(members, note);
  }

  /** Takes the committed configuration `members` (at start, or when a reconfig commits). */
  set(members: readonly QuorumMemberSpec[], note?: ConfigNote): void {
    if (note) this.note = note;
    this.voters.clear();
    this.everyone.length = 0;
    this.observers = new Set();
    for (const m of members) {
      this.everyone.push(m.id);
      if (m.observer) this.observers.add(m.id);
      else this.voters.add(m.id);
    }
  }

  get isVoter(): boolean {
    return this.voters.has(this.self);
  }

  /** The sets a proposal made now must win: the committed voters, and the pending ones while a reconfig is in flight. */
  quorumsForProposal(): QuorumSets {
    return this.pending ? [new Set(this.voters), this.pending.voters] : [new Set(this.voters)];
  }

  /** Leader: a reconfig to `members` is proposed at `zxid`. */
  proposeReconfig(zxid: number, members: readonly QuorumMemberSpec[]): void {
    this.pending = { zxid, voters: new Set(members.filter((m) => !m.observer).map((m) => m.id)) };
  }

  /**
   * The reconfig `txn` committed: its configuration is the one now, unless a newer one was
   * adopted from an election already (as Apache's setQuorumVerifier ignores an older version).
   */
  commitReconfig(txn: QTxn, members: readonly QuorumMemberSpec[]): void {
    if (this.note === undefined || txn.zxid > this.note.version) this.set(members, this.note && { version: txn.zxid, data: txn.data });
    if (this.pending && this.pending.zxid <= txn.zxid) this.pending = undefined;
  }

  /**
   * The leader's committed configuration at a sync (NEWLEADER): taken unless ours is newer, or
   * the same. An equal version with other members is a static configuration (version 0) that
   * differs from the leader's: a server started to join the ensemble lists itself; Apache's
   * leader has bumped its version by then, so its joiner takes the leader's too.
   */
  adoptFromLeader(note: ConfigNote, decode: ((txn: QTxn) => QuorumMemberSpec[] | undefined) | undefined): boolean {
    if (this.note === undefined || decode === undefined || note.version < this.note.version) return false;
    if (note.version === this.note.version && Buffer.compare(note.data, this.note.data) === 0) return false;
    const members = decode({ zxid: note.version, data: note.data });
    if (!members) return false;
    this.set(members, { version: note.version, data: note.data.slice() });
    return true;
  }

  /**
   * A configuration from an election notification: taken if it is newer than ours (and decodes).
   * Only committed configurations travel in notifications, so this never undoes a commit.
   */
  adoptIfNewer(note: ConfigNote, decode: ((txn: QTxn) => QuorumMemberSpec[] | undefined) | undefined): boolean {
    if (this.note === undefined || decode === undefined || note.version <= this.note.version) return false;
    const members = decode({ zxid: note.version, data: note.data });
    if (!members) return false;
    this.set(members, { version: note.version, data: note.data.slice() });
    return true;
  }

  /** Whether `ids` hold a quorum of the committed voters and, while a reconfig is pending, of its voters too. */
  isQuorum(ids: Iterable<PeerId>): boolean {
    const list = [...ids];
    return majorityOf(this.voters, list) && (this.pending === undefined || majorityOf(this.pending.voters, list));
  }
}
