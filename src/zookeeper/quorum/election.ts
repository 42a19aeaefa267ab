// Fast leader election (ZooKeeper's FastLeaderElection) as a pure component of the peer core:
// votes ordered by epoch, zxid, id; a higher round resets; a vote held by a quorum is decided
// after finalizeWait without a better one; a peer that finds a quorum already following a
// leader (which says it is leading) joins it.
//
// A member that is no voter in its own configuration (a reconfig removed it, or it has not
// applied the one that added it) still takes part, as in Apache's FastLeaderElection: it starts
// with no candidate and follows the best vote, and a non-voter of our configuration is no
// candidate (totalOrderPredicate gives a weight-0 server no chance) unless its history is ahead of
// ours: it may have a configuration we missed. Without this, a voter that missed the reconfig
// making it one would sit out, or vote apart, and leave the new voters without a quorum.
// Notifications carry the sender's committed configuration (as Apache's do); a looking peer that
// sees a newer one adopts it and starts a new round (peer.ts, Membership.adoptIfNewer).

import { voteBeats, type ConfigNote, type Msg, type PeerId, type PeerState, type Vote } from './types.js';

export interface ElectionHost {
  readonly id: PeerId;
  readonly participants: ReadonlySet<PeerId>;
  readonly everyone: readonly PeerId[];
  /** An observer of the configuration: never votes, only learns the leader. */
  readonly isObserver: boolean;
  isQuorum(ids: Iterable<PeerId>): boolean;
  send(to: PeerId, msg: Msg): void;
  /** Our own vote: last logged zxid and currentEpoch. */
  selfVote(): Vote;
  /** Our committed configuration, sent with every notification (undefined: none to send). */
  config(): ConfigNote | undefined;
}

export interface Decision {
  leader: PeerId;
  epoch: number;
  round: number;
}

function sameVote(a: Vote, b: Vote): boolean {
  return a.leader === b.leader && a.epoch === b.epoch && a.zxid === b.zxid;
}

export class Election {
  round = 0;
  vote: Vote;
  private readonly recv = new Map<PeerId, Vote>();
  /** Votes of peers that are already following/leading, by round. */
  private readonly settled = new Map<PeerId, { vote: Vote; state: PeerState; round: number }>();
  private decideAt: number | undefined;
  private lastSentAt = -Infinity;

  constructor(
    private readonly h: ElectionHost,
    private readonly finalizeWaitMs: number,
    private readonly resendMs: number,
  ) {
    this.vote = h.selfVote();
  }

  /** Our own candidacy: ourselves if we vote, else nobody (observers and non-voters). */
  private initialVote(): Vote {
    return this.h.participants.has(this.h.id) ? this.h.selfVote() : { leader: -1, zxid: -1, epoch: -1 };
  }

  /** A voter of our configuration, or one whose history is ahead of ours, can be our candidate. */
  private eligible(v: Vote): boolean {
    if (v.leader < 0) return false;
    if (this.h.participants.has(v.leader)) return true;
    const mine = this.h.selfVote();
    return v.epoch > mine.epoch || (v.epoch === mine.epoch && v.zxid > mine.zxid);
  }

  /** Starts a new round (entering LOOKING). */
  start(now: number): void {
    this.round++;
    this.recv.clear();
    this.settled.clear();
    this.decideAt = undefined;
    // Observers never propose themselves: they vote for nobody and wait to learn the leader.
    this.vote = this.initialVote();
    if (!this.h.isObserver) this.recv.set(this.h.id, this.vote);
    this.broadcast(now);
  }

  /** Our notification: `state` (default: looking, or observing for an observer), vote, round and configuration. */
  notification(state: PeerState = this.h.isObserver ? 'observing' : 'looking'): Extract<Msg, { t: 'vote' }> {
    const config = this.h.config();
    return config
      ? { t: 'vote', state, vote: this.vote, round: this.round, config }
      : { t: 'vote', state, vote: this.vote, round: this.round };
  }

  private broadcast(now: number): void {
    this.lastSentAt = now;
    const msg = this.notification();
    for (const p of this.h.everyone) if (p !== this.h.id) this.h.send(p, msg);
  }

  /** Sends our current vote to one peer (its link just came up). */
  resendTo(peer: PeerId): void {
    // Round 0: not started yet; start() sends to everyone.
    if (this.round === 0 || peer === this.h.id || !this.h.everyone.includes(peer)) return;
    this.h.send(peer, this.notification());
  }

  /** A notification while we are looking; returns a decision when the election is over. */
  onVote(from: PeerId, m: { state: PeerState; vote: Vote; round: number }, now: number): Decision | undefined {
    // Observers' notifications only ask for the leader (the peer shell answers when settled).
    if (!this.h.participants.has(from)) return undefined;
    if (m.state === 'looking') {
      if (m.round > this.round) {
        this.round = m.round;
        this.recv.clear();
        this.decideAt = undefined;
        const mine = this.initialVote();
        if (this.h.isObserver) this.vote = m.vote;
        else this.vote = this.eligible(m.vote) && voteBeats(m.vote, mine) ? m.vote : mine;
        if (!this.h.isObserver) this.recv.set(this.h.id, this.vote);
        this.broadcast(now);
      } else if (m.round < this.round) {
        // It is behind: tell it where we are.
        this.h.send(from, this.notification());
        return undefined;
      } else if (!this.h.isObserver && this.eligible(m.vote) && voteBeats(m.vote, this.vote)) {
        this.vote = m.vote;
        this.recv.set(this.h.id, this.vote);
        this.decideAt = undefined;
        this.broadcast(now);
      } else if (!this.h.isObserver && !sameVote(m.vote, this.vote) && voteBeats(this.vote, m.vote)) {
        // Same round, a worse vote: it may have missed ours (sent while it still followed the
        // old leader). Tell it now instead of at the next resend, or the election stalls.
        this.h.send(from, this.notification('looking'));
      }
      this.recv.set(from, m.vote);
      return this.checkQuorum(now);
    }
    // The sender is following or leading: an election it took part in is over.
    this.settled.set(from, m);
    if (m.round === this.round) this.recv.set(from, m.vote);
    return this.checkJoin(m.vote, m.round);
  }

  private agreeing(vote: Vote, votes: Iterable<[PeerId, Vote]>): PeerId[] {
    const out: PeerId[] = [];
    for (const [p, v] of votes) if (sameVote(v, vote)) out.push(p);
    return out;
  }

  private checkQuorum(now: number): Decision | undefined {
    if (this.h.isObserver || this.vote.leader < 0) return undefined;
    const agree = this.agreeing(this.vote, this.recv);
    if (!this.h.isQuorum(agree)) {
      this.decideAt = undefined;
      return undefined;
    }
    // Every participant agrees: no better vote can come, so there is nothing to wait for.
    if (agree.length === this.h.participants.size) {
      this.decideAt = undefined;
      return { leader: this.vote.leader, epoch: this.vote.epoch, round: this.round };
    }
    this.decideAt ??= now + this.finalizeWaitMs;
    return undefined;
  }

  /** Joins a leader a quorum already follows (FastLeaderElection's outofelection check). */
  private checkJoin(vote: Vote, round: number): Decision | undefined {
    const backers: PeerId[] = [];
    let leaderSaysLeading = false;
    for (const [p, s] of this.settled) {
      if (s.vote.leader !== vote.leader || s.vote.epoch !== vote.epoch) continue;
      backers.push(p);
      if (p === vote.leader && s.state === 'leading') leaderSaysLeading = true;
    }
    if (vote.leader === this.h.id) return undefined; // we are not leading: it is stale
    // A non-voter of its own configuration (a stale one, maybe) cannot count a quorum right: it
    // joins a leader that says it leads, whose own quorum decides (it steps down without one).
    const nonVoter = !this.h.isObserver && !this.h.participants.has(this.h.id);
    if (leaderSaysLeading && (nonVoter || this.h.isQuorum(backers))) {
      this.round = Math.max(this.round, round);
      this.vote = vote;
      return { leader: vote.leader, epoch: vote.epoch, round: this.round };
    }
    return undefined;
  }

  /** Time passes: decide after finalizeWait, re-send our vote now and then. */
  onTick(now: number): Decision | undefined {
    if (this.decideAt !== undefined && now >= this.decideAt) {
      this.decideAt = undefined;
      if (this.h.isQuorum(this.agreeing(this.vote, this.recv)))
        return { leader: this.vote.leader, epoch: this.vote.epoch, round: this.round };
    }
    if (now - this.lastSentAt >= this.resendMs) this.broadcast(now);
    return undefined;
  }
}
