// One ensemble member's consensus logic (ZooKeeper's QuorumPeer + Leader + Learner, "Zab 1.0"),
// as a pure state machine: `handle(input)` and `propose(txn)` return the outputs to carry out
// (messages, disk writes, commits). No sockets, timers, clock or randomness inside.
//
// Phases: LOOKING runs fast leader election (election.ts). The leader collects LEARNERINFO from
// a quorum, picks a new epoch above every accepted one (LEADERINFO), gets ACKEPOCH from a quorum
// (refusing to lead anyone ahead of it), syncs each learner (DIFF / TRUNC / SNAP from its recent
// history, then NEWLEADER), and once a quorum has acked NEWLEADER its whole history is committed
// and it sends UPTODATE. Broadcast: PROPOSAL -> quorum of durable ACKs -> COMMIT in zxid order
// (INFORM to observers). A leader that cannot hear a quorum within syncLimit steps down; a learner
// that cannot hear its leader goes back to LOOKING.
//
// Disk writes are outputs too: acks, ACKEPOCH and the NEWLEADER ack go out only after the host
// reports the corresponding `persisted` sequence number.

import { Membership, type QuorumSets } from './dualQuorum.js';
import { Election, type Decision } from './election.js';
import {
  epochOf,
  makeZxid,
  type ConfigNote,
  type CoreConfig,
  type DurableState,
  type Input,
  type Msg,
  type Output,
  type Persist,
  type PeerId,
  type PeerState,
  type QTxn,
  type QuorumMemberSpec,
  type Vote,
} from './types.js';
import { Fifo } from '../../util/fifo.js';

type LearnerPhase = 'info' | 'epochAcked' | 'syncing' | 'ready';

interface LearnerView {
  observer: boolean;
  phase: LearnerPhase;
  acceptedEpoch: number;
  lastZxid: number;
  /** Highest zxid it has acked (everything up to it is on its disk). */
  acked: number;
  /** Our log end when its NEWLEADER went out: its NEWLEADER ack covers everything up to it. */
  syncedUpTo: number;
  lastHeard: number;
}

type LearnerStage = 'info' | 'epoch' | 'sync' | 'synced' | 'ready';

interface PersistWaiter {
  seq: number;
  /** The role generation that asked; a later role ignores it. */
  gen: number;
  /** A proposal's zxid (then undefined), or -1. */
  zxid: number;
  onDurable: (() => void) | undefined;
}

/** How often a learner says hello again to a leader that has not answered yet. */
const LEARNERINFO_RESEND_MS = 50;

export class QuorumPeer {
  state: PeerState = 'looking';
  leader: PeerId | undefined;
  serving = false;
  acceptedEpoch: number;
  currentEpoch: number;
  /** Last txn handed to the disk (our log's end). */
  lastLogged: number;
  /** Last txn applied to the state machine. */
  lastCommitted: number;
  /** Recent txns up to lastLogged (committed window + uncommitted tail), for DIFF syncs. */
  private history: QTxn[];
  /** zxid just before history[0] (-1: unknown). */
  private historyBase: number;

  private readonly election: Election;
  /** The committed voters and observers, and (leader) a reconfig in flight (dualQuorum.ts). */
  private readonly members: Membership;
  private out: Output[] = [];
  private now = 0;
  private seq = 0;
  /** What waits for a persist to be durable, in seq order (the host reports seqs in order). */
  private readonly afterPersist = new Fifo<PersistWaiter>();
  /** Bumped on every role change: continuations of an old role are dropped. */
  private generation = 0;
  private deadline = 0;

  // learner
  private stage: LearnerStage = 'info';
  private lastHeardLeader = 0;
  private lastInfoAt = 0;
  private commitUpTo = 0;

  // leader
  private epoch = 0;
  private counter = 0;
  private epochChosen = false;
  private epochSent = false;
  private readonly learners = new Map<PeerId, LearnerView>();
  /** Learner: the highest proposal made durable since the last ACK (sent once, by flush). */
  private ackDue = -1;
  /** learnerinfo received while still looking (see onMessage). */
  private readonly earlyInfos = new Map<PeerId, Extract<Msg, { t: 'learnerinfo' }>>();
  private readonly epochAckers = new Set<PeerId>();
  private readonly newLeaderAckers = new Set<PeerId>();
  private established = false;
  private proposals: QTxn[] = [];
  /** The voter sets each outstanding proposal must win (parallel to proposals). */
  private proposalQuorums: QuorumSets[] = [];
  /** A committed reconfig removed the voter we lead or follow: elect again once its COMMIT is out. */
  private reelect = false;
  private selfDurable = 0;
  private lastPingAt = 0;
  private readonly syncWaiters: { from: PeerId; id: number; upTo: number }[] = [];

  constructor(
    readonly id: PeerId,
    readonly cfg: CoreConfig,
    durable: DurableState,
    now: number,
  ) {
    this.members = new Membership(cfg.members, id, cfg.config);
    const members = this.members;
    this.acceptedEpoch = durable.acceptedEpoch;
    this.currentEpoch = durable.currentEpoch;
    this.history = durable.log.slice(-cfg.committedLogMax);
    const dropped = durable.log.length - this.history.length;
    this.historyBase = dropped === 0 ? durable.snapshotZxid : durable.log[dropped - 1]!.zxid;
    this.lastLogged = durable.log.length > 0 ? durable.log[durable.log.length - 1]!.zxid : durable.snapshotZxid;
    // The host rebuilt its state from everything on disk (as ZooKeeper loads its whole log).
    this.lastCommitted = this.lastLogged;
    this.now = now;
    this.election = new Election(
      {
        id,
        participants: members.voters,
        everyone: members.everyone,
        get isObserver() {
          return members.observers.has(id);
        },
        isQuorum: (ids) => this.isQuorum(ids),
        send: (to, msg) => this.send(to, msg),
        selfVote: (): Vote => ({ leader: id, zxid: this.lastLogged, epoch: this.currentEpoch }),
        config: () => members.note,
      },
      cfg.finalizeWaitMs,
      cfg.voteResendMs,
    );
  }

  /** Begins: look for a leader. */
  start(now: number): Output[] {
    this.now = now;
    this.goLooking();
    return this.flush();
  }

  /** A quorum of the committed voters and, while a reconfig is pending, of its voters too. */
  isQuorum(ids: Iterable<PeerId>): boolean {
    return this.members.isQuorum(ids);
  }

  /**
   * The host rebuilt its state from a leader's snapshot or a truncated log: the configuration
   * committed in it (a reconfig txn the core did not see applied) is the one now.
   */
  adoptConfiguration(members: readonly QuorumMemberSpec[], note?: ConfigNote): void {
    // One adopted from an election may be newer than the state's: committed configurations only move forward.
    if (note && this.members.note && note.version < this.members.note.version) return;
    this.members.set(members, note);
  }

  /** An observer of the committed configuration. */
  get isObserver(): boolean {
    return this.members.observers.has(this.id);
  }

  /** Leader: a reconfig is proposed and not yet committed. */
  get reconfigPending(): boolean {
    return this.members.pending !== undefined;
  }

  /** The committed voters (a reconfig's commit changes them). */
  get voters(): ReadonlySet<PeerId> {
    return this.members.voters;
  }

  private flush(): Output[] {
    if (this.ackDue >= 0) {
      if (this.leader !== undefined && (this.stage === 'synced' || this.stage === 'ready'))
        this.send(this.leader, { t: 'ack', zxid: this.ackDue });
      this.ackDue = -1;
    }
    const o = this.out;
    this.out = [];
    return o;
  }

  private send(to: PeerId, msg: Msg): void {
    this.out.push({ kind: 'send', to, msg });
  }

  private persist(p: Omit<Persist, 'seq'>, then?: () => void): void {
    const seq = ++this.seq;
    this.out.push({ kind: 'persist', p: { seq, ...p } });
    if (then) this.afterPersist.push({ seq, gen: this.generation, zxid: -1, onDurable: then });
  }

  /** A proposal to log: once durable the leader counts its own ack, a follower acks it (txnDurable). */
  private persistProposal(txn: QTxn): void {
    const seq = ++this.seq;
    this.out.push({ kind: 'persist', p: { seq, txns: [txn] } });
    this.afterPersist.push({ seq, gen: this.generation, zxid: txn.zxid, onDurable: undefined });
  }

  private onPersisted(seq: number): void {
    const q = this.afterPersist;
    // Proposals made durable together are counted once, with their highest zxid: one quorum
    // check per group commit instead of one per txn.
    let durable = -1;
    while (q.length > 0 && q.peek()!.seq <= seq) {
      const w = q.shift()!;
      if (w.gen !== this.generation) continue; // a continuation of a role we no longer have
      if (w.onDurable) {
        if (durable >= 0) this.txnsDurable(durable);
        durable = -1;
        w.onDurable();
      } else if (w.zxid > durable) {
        durable = w.zxid;
      }
    }
    if (durable >= 0) this.txnsDurable(durable);
  }

  /** Our own log holds every proposal up to `zxid`. */
  private txnsDurable(zxid: number): void {
    if (this.state === 'leading') {
      if (zxid > this.selfDurable) this.selfDurable = zxid;
      this.tryCommit();
    } else if (this.stage === 'synced' || this.stage === 'ready') {
      // One ACK per group of txns made durable together (see flush): ACKs are cumulative.
      if (zxid > this.ackDue) this.ackDue = zxid;
    }
  }

  private setRole(state: PeerState, leader: PeerId | undefined, serving: boolean): void {
    this.state = state;
    this.leader = leader;
    this.serving = serving;
    this.out.push({ kind: 'role', state, leader, epoch: this.currentEpoch, serving });
  }

  private record(txn: QTxn): void {
    this.history.push(txn);
    this.lastLogged = txn.zxid;
  }

  private trimHistory(): void {
    while (this.history.length > this.cfg.committedLogMax && this.history[0]!.zxid <= this.lastCommitted) {
      this.historyBase = this.history.shift()!.zxid;
    }
  }

  private applyUpTo(zxid: number): void {
    const h = this.history;
    // The history is in zxid order: start at the first uncommitted txn, not at the oldest.
    for (let i = this.firstAfter(this.lastCommitted); i < h.length; i++) {
      const t = h[i]!;
      if (t.zxid > zxid) break;
      this.out.push({ kind: 'commit', txn: t });
      this.lastCommitted = t.zxid;
      const next = this.cfg.reconfigOf?.(t);
      if (next) this.reconfigCommitted(t, next);
    }
    this.trimHistory();
  }

  /**
   * A reconfig committed here: its voters are the voters from now on (every member switches as it
   * applies the txn). A leader left out of them, or a learner whose leader was, elects again once
   * the COMMIT is out (`reelect`), as does a learner whose role it switched (participant <->
   * observer). A member left out of the configuration stays on as a
   * non-voting follower that still serves clients (as Apache 3.8's does), so a later reconfig can
   * add it back.
   */
  private reconfigCommitted(txn: QTxn, next: QuorumMemberSpec[]): void {
    this.members.commitReconfig(txn, next);
    if (this.state === 'leading') {
      if (!this.members.isVoter) this.reelect = true;
    } else if (this.state === 'following' || this.state === 'observing') {
      if (this.leader !== undefined && !this.members.voters.has(this.leader)) this.reelect = true;
      // Switched between participant and observer: join again in the new role (Apache's learner restarts).
      if ((this.state === 'observing') !== this.isObserver) this.reelect = true;
    }
  }

  /** Index of the first history txn with a zxid above `zxid` (history.length if none). */
  private firstAfter(zxid: number): number {
    const h = this.history;
    let lo = 0;
    let hi = h.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (h[mid]!.zxid <= zxid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  // ------------------------------------------------------------------ inputs

  handle(input: Input): Output[] {
    this.now = input.now;
    switch (input.kind) {
      case 'tick':
        this.onTick();
        break;
      case 'persisted':
        this.onPersisted(input.seq);
        break;
      case 'disconnected':
        if (this.state === 'leading') this.learners.delete(input.peer);
        else if ((this.state === 'following' || this.state === 'observing') && input.peer === this.leader) this.goLooking();
        break;
      case 'connected':
        this.onConnected(input.peer);
        break;
      case 'message':
        this.onMessage(input.from, input.msg);
        break;
    }
    return this.flush();
  }

  /** Leader: a prepped client write with the next zxid (makeZxid(epoch, counter + 1)). */
  propose(txn: QTxn, now: number): Output[] {
    this.now = now;
    if (this.state !== 'leading' || !this.established) throw new Error('not an established leader');
    if (txn.zxid !== makeZxid(this.epoch, this.counter + 1)) throw new Error(`zxid ${txn.zxid} out of sequence`);
    this.counter++;
    this.record(txn);
    const next = this.cfg.reconfigOf?.(txn);
    if (next) this.members.proposeReconfig(txn.zxid, next);
    this.proposals.push(txn);
    this.proposalQuorums.push(this.members.quorumsForProposal());
    this.persistProposal(txn);
    // forEach, not for-of: a Map iterator and an entry array per learner per txn are garbage.
    this.learners.forEach((l, p) => {
      if ((l.phase === 'syncing' || l.phase === 'ready') && !l.observer) this.send(p, { t: 'proposal', txn });
    });
    return this.flush();
  }

  /** Figures for mntr (QuorumPeer.getDetailedPeerState and the leader's gauges). */
  monitor(): {
    zabState: 'election' | 'discovery' | 'synchronization' | 'broadcast';
    learners: number;
    syncedFollowers: number;
    syncedObservers: number;
    pendingSyncs: number;
  } {
    let zabState: 'election' | 'discovery' | 'synchronization' | 'broadcast' = 'election';
    if (this.state === 'leading') zabState = this.established ? 'broadcast' : this.epochSent ? 'synchronization' : 'discovery';
    else if (this.state !== 'looking')
      zabState = this.stage === 'ready' ? 'broadcast' : this.stage === 'info' || this.stage === 'epoch' ? 'discovery' : 'synchronization';
    let syncedFollowers = 0;
    let syncedObservers = 0;
    for (const l of this.learners.values()) {
      if (l.phase !== 'ready') continue;
      if (l.observer) syncedObservers++;
      else syncedFollowers++;
    }
    return { zabState, learners: this.learners.size, syncedFollowers, syncedObservers, pendingSyncs: this.syncWaiters.length };
  }

  /** Leader: itself (if it votes) and the followers synced to it (Leader.isQuorumSynced's ids). */
  syncedVoters(): PeerId[] {
    if (this.state !== 'leading') return [];
    const ids = this.members.isVoter ? [this.id] : [];
    for (const [id, l] of this.learners) if (l.phase === 'ready' && !l.observer) ids.push(id);
    return ids;
  }

  /** The zxid the next proposal must carry (leader). */
  get nextZxid(): number {
    return makeZxid(this.epoch, this.counter + 1);
  }

  /** Learner: forward a client write to the leader. */
  forward(data: Uint8Array, now: number): Output[] {
    this.now = now;
    if (this.leader !== undefined && this.stage === 'ready') this.send(this.leader, { t: 'request', data });
    return this.flush();
  }

  /** Learner: ask the leader for a sync barrier. */
  sync(id: number, now: number): Output[] {
    this.now = now;
    if (this.leader !== undefined && this.stage === 'ready') this.send(this.leader, { t: 'sync', id });
    return this.flush();
  }

  /** A host-to-host message (session touches and the like); consensus does not look inside. */
  sendHost(to: PeerId, data: Uint8Array, now: number): Output[] {
    this.now = now;
    this.send(to, { t: 'host', data });
    return this.flush();
  }

  private onMessage(from: PeerId, msg: Msg): void {
    if (msg.t === 'host') {
      this.out.push({ kind: 'hostMessage', from, data: msg.data });
      return;
    }
    if (msg.t === 'vote') {
      this.onVote(from, msg);
      return;
    }
    if (this.state === 'leading') this.leaderOnMessage(from, msg);
    else if ((this.state === 'following' || this.state === 'observing') && from === this.leader) this.learnerOnMessage(msg);
    // A learner that decided before us says hello early: kept, so discovery need not wait for its resend.
    else if (this.state === 'looking' && msg.t === 'learnerinfo') this.earlyInfos.set(from, msg);
  }

  private onVote(from: PeerId, m: Extract<Msg, { t: 'vote' }>): void {
    if (this.state === 'looking') {
      // A newer configuration: ours now, and a new round with its voters (FastLeaderElection
      // restarts the election after processReconfig).
      if (m.config && this.members.adoptIfNewer(m.config, this.cfg.reconfigOf)) {
        this.out.push({ kind: 'configAdopted', config: this.members.note! });
        this.election.start(this.now);
        return;
      }
      const d = this.election.onVote(from, m, this.now);
      if (d) this.decide(d);
      return;
    }
    // Settled: tell a looking peer (or observer) who leads.
    if (m.state === 'looking' || m.state === 'observing') this.send(from, this.election.notification(this.state));
  }

  /**
   * A link came up: what we sent to that peer while it was down was dropped. Say it again now
   * rather than at the next resend (ZooKeeper's QuorumCnxManager re-sends its last message on a
   * new connection too): at a cold start every peer's first votes go out before its peers
   * listen, and waiting for the resend would stall the election by voteResendMs.
   */
  private onConnected(peer: PeerId): void {
    if (this.state === 'looking') this.election.resendTo(peer);
    else if ((this.state === 'following' || this.state === 'observing') && peer === this.leader && this.stage === 'info')
      this.sendLearnerInfo();
  }

  private onTick(): void {
    const now = this.now;
    if (this.state === 'looking') {
      const d = this.election.onTick(now);
      if (d) this.decide(d);
      return;
    }
    const tick = this.cfg.tickMs;
    if (this.state === 'leading') {
      if (!this.established) {
        if (now > this.deadline) this.goLooking();
        return;
      }
      if (now - this.lastPingAt >= tick / 2) {
        this.lastPingAt = now;
        for (const [p, l] of this.learners) if (l.phase === 'ready' || l.phase === 'syncing') this.send(p, { t: 'ping' });
      }
      const alive: PeerId[] = [this.id];
      for (const [p, l] of [...this.learners]) {
        const limit = (l.phase === 'ready' ? this.cfg.syncLimit : this.cfg.initLimit) * tick;
        if (now - l.lastHeard > limit) this.learners.delete(p);
        else if (l.phase === 'ready') alive.push(p);
      }
      if (!this.isQuorum(alive)) this.goLooking();
      return;
    }
    const limit = (this.stage === 'ready' ? this.cfg.syncLimit : this.cfg.initLimit) * tick;
    if (now - this.lastHeardLeader > limit) {
      this.goLooking();
      return;
    }
    // The leader may still be finishing its election (as a learner retries its connection to a
    // leader not yet listening): say hello again until it answers.
    if (this.stage === 'info' && now - this.lastInfoAt >= LEARNERINFO_RESEND_MS) this.sendLearnerInfo();
  }

  private sendLearnerInfo(): void {
    this.lastInfoAt = this.now;
    this.send(this.leader!, { t: 'learnerinfo', acceptedEpoch: this.acceptedEpoch, observer: this.isObserver });
  }

  // ------------------------------------------------------------------ roles

  private resetRoleState(): void {
    this.generation++;
    this.ackDue = -1;
    this.learners.clear();
    this.epochAckers.clear();
    this.newLeaderAckers.clear();
    this.established = false;
    this.epochChosen = false;
    this.epochSent = false;
    this.proposals = [];
    this.proposalQuorums = [];
    this.members.pending = undefined;
    this.reelect = false;
    this.syncWaiters.length = 0;
    this.stage = 'info';
    this.commitUpTo = this.lastCommitted;
  }

  private goLooking(): void {
    this.earlyInfos.clear();
    this.resetRoleState();
    this.setRole('looking', undefined, false);
    this.election.start(this.now);
  }

  private decide(d: Decision): void {
    this.resetRoleState();
    this.deadline = this.now + this.cfg.initLimit * this.cfg.tickMs;
    if (d.leader === this.id) {
      this.setRole('leading', this.id, false);
      this.epochAckers.add(this.id);
      this.selfDurable = this.lastLogged;
      this.maybeChooseEpoch();
      for (const [from, info] of this.earlyInfos) this.leaderOnMessage(from, info);
      this.earlyInfos.clear();
    } else {
      this.earlyInfos.clear();
      this.setRole(this.isObserver ? 'observing' : 'following', d.leader, false);
      this.lastHeardLeader = this.now;
      this.sendLearnerInfo();
    }
  }

  // ------------------------------------------------------------------ leader

  private maybeChooseEpoch(): void {
    if (this.epochChosen) return;
    const infos: PeerId[] = [this.id];
    let maxAccepted = this.acceptedEpoch;
    for (const [p, l] of this.learners) {
      if (l.observer) continue;
      infos.push(p);
      maxAccepted = Math.max(maxAccepted, l.acceptedEpoch);
    }
    if (!this.isQuorum(infos)) return;
    this.epochChosen = true;
    this.epoch = maxAccepted + 1;
    this.counter = 0;
    this.persist({ acceptedEpoch: this.epoch }, () => {
      this.acceptedEpoch = this.epoch;
      this.epochSent = true;
      for (const [p, l] of this.learners) if (l.phase === 'info') this.send(p, { t: 'leaderinfo', epoch: this.epoch });
    });
  }

  private leaderOnMessage(from: PeerId, msg: Msg): void {
    const l = this.learners.get(from);
    if (l) l.lastHeard = this.now;
    switch (msg.t) {
      case 'learnerinfo': {
        this.learners.set(from, {
          observer: msg.observer,
          phase: 'info',
          acceptedEpoch: msg.acceptedEpoch,
          lastZxid: -1,
          acked: -1,
          syncedUpTo: -1,
          lastHeard: this.now,
        });
        if (this.epochSent) this.send(from, { t: 'leaderinfo', epoch: this.epoch });
        else this.maybeChooseEpoch();
        return;
      }
      case 'ackepoch': {
        if (l?.phase !== 'info') return;
        // Leading a peer whose history is newer than ours would lose its txns.
        if (
          !l.observer &&
          (msg.currentEpoch > this.currentEpoch || (msg.currentEpoch === this.currentEpoch && msg.lastZxid > this.lastLogged))
        ) {
          this.goLooking();
          return;
        }
        l.phase = 'epochAcked';
        l.lastZxid = msg.lastZxid;
        if (!l.observer) this.epochAckers.add(from);
        if (this.isQuorum(this.epochAckers)) {
          for (const [p, v] of this.learners) if (v.phase === 'epochAcked') this.syncLearner(p, v);
          if (!this.newLeaderAckers.has(this.id) && !this.established) this.leaderAcceptsOwnEpoch();
        }
        return;
      }
      case 'ack': {
        if (!l) return;
        if (msg.zxid === makeZxid(this.epoch, 0) && l.phase === 'syncing') {
          if (!l.observer) this.newLeaderAckers.add(from);
          l.acked = Math.max(l.acked, l.syncedUpTo);
          if (this.established) {
            l.phase = 'ready';
            this.send(from, { t: 'uptodate', zxid: this.lastCommitted });
          } else {
            l.phase = 'ready';
            this.maybeEstablish();
          }
          this.tryCommit();
          return;
        }
        if (msg.zxid > l.acked) l.acked = msg.zxid;
        this.tryCommit();
        return;
      }
      case 'request':
        if (l?.phase === 'ready' && this.established) this.out.push({ kind: 'forwarded', from, data: msg.data });
        return;
      case 'sync': {
        if (!l) return;
        const upTo = this.lastLogged;
        if (this.lastCommitted >= upTo) this.send(from, { t: 'sync', id: msg.id });
        else this.syncWaiters.push({ from, id: msg.id, upTo });
        return;
      }
      default:
        return; // ping replies only refresh lastHeard
    }
  }

  private leaderAcceptsOwnEpoch(): void {
    this.persist({ currentEpoch: this.epoch }, () => {
      this.currentEpoch = this.epoch;
      this.newLeaderAckers.add(this.id);
      this.maybeEstablish();
    });
  }

  /** DIFF, TRUNC+DIFF or SNAP from our history, then NEWLEADER. */
  private syncLearner(p: PeerId, l: LearnerView): void {
    l.phase = 'syncing';
    const lz = l.lastZxid;
    const h = this.history;
    let from: number | undefined; // send history entries after this zxid
    if (lz === this.lastLogged) {
      this.send(p, { t: 'diff', zxid: this.lastLogged });
      from = this.lastLogged;
    } else if (lz > this.lastLogged) {
      this.send(p, { t: 'trunc', zxid: this.lastLogged });
      from = this.lastLogged;
    } else if (lz === this.historyBase || h.some((t) => t.zxid === lz)) {
      this.send(p, { t: 'diff', zxid: this.lastLogged });
      from = lz;
    } else if (this.historyBase >= 0 && lz > this.historyBase) {
      // It has a txn we never had (an old epoch's tail): cut it back to our last one before it.
      let prev = this.historyBase;
      for (const t of h) if (t.zxid < lz) prev = t.zxid;
      this.send(p, { t: 'trunc', zxid: prev });
      from = prev;
    }
    if (from === undefined) {
      // Too far behind the history we keep: the whole state (the host attaches it).
      this.send(p, { t: 'snap', zxid: this.lastCommitted });
      from = this.lastCommitted;
    }
    // Before establishment our whole history becomes committed with the new epoch.
    const committedUpTo = this.established ? this.lastCommitted : this.lastLogged;
    for (const t of h) {
      if (t.zxid <= from) continue;
      if (l.observer) {
        if (t.zxid <= committedUpTo) this.send(p, { t: 'inform', txn: t });
        continue;
      }
      this.send(p, { t: 'proposal', txn: t });
      if (t.zxid <= committedUpTo) this.send(p, { t: 'commit', zxid: t.zxid });
    }
    l.syncedUpTo = this.lastLogged;
    const config = this.members.note;
    this.send(p, config ? { t: 'newleader', zxid: makeZxid(this.epoch, 0), config } : { t: 'newleader', zxid: makeZxid(this.epoch, 0) });
  }

  private maybeEstablish(): void {
    if (this.established || !this.newLeaderAckers.has(this.id) || !this.isQuorum(this.newLeaderAckers)) return;
    this.established = true;
    this.applyUpTo(this.lastLogged);
    for (const [p, l] of this.learners) if (l.phase === 'ready') this.send(p, { t: 'uptodate', zxid: this.lastCommitted });
    this.lastPingAt = this.now;
    this.setRole('leading', this.id, true);
    if (this.reelect) this.goLooking();
  }

  /** Whether the voters that logged `zxid` (this one included) form a quorum of each set. */
  private ackedByQuorum(zxid: number, sets: QuorumSets): boolean {
    for (const voters of sets) {
      let n = this.selfDurable >= zxid && voters.has(this.id) ? 1 : 0;
      this.learners.forEach((l, id) => {
        if (!l.observer && l.acked >= zxid && voters.has(id)) n++;
      });
      if (n * 2 <= voters.size) return false;
    }
    return true;
  }

  private tryCommit(): void {
    // Acks are cumulative, so the committed proposals are a prefix of the queue.
    const proposals = this.proposals;
    let n = 0;
    while (n < proposals.length && this.ackedByQuorum(proposals[n]!.zxid, this.proposalQuorums[n]!)) n++;
    if (n === 0) return;
    const committed = proposals.splice(0, n);
    this.proposalQuorums.splice(0, n);
    this.applyUpTo(committed[n - 1]!.zxid);
    // Learners that joined as observers, not the configuration's: a reconfig may have just
    // promoted one, which must still hear of every commit until it joins again as a follower.
    let observing = false;
    this.learners.forEach((l) => {
      if (l.observer) observing = true;
    });
    if (observing) {
      for (const p of committed) {
        this.learners.forEach((l, id) => {
          if (l.observer && (l.phase === 'syncing' || l.phase === 'ready')) this.send(id, { t: 'inform', txn: p });
        });
      }
    }
    // One COMMIT for everything that became committed now: a learner commits up to its zxid
    // (commitOrBuffer), so per-txn COMMITs would only cost messages.
    this.learners.forEach((l, id) => {
      if (!l.observer && (l.phase === 'syncing' || l.phase === 'ready')) this.send(id, { t: 'commit', zxid: this.lastCommitted });
    });
    // After the COMMIT: a learner answers its client's sync once it has applied what came before.
    for (let i = 0; i < this.syncWaiters.length; ) {
      const w = this.syncWaiters[i]!;
      if (w.upTo <= this.lastCommitted) {
        this.send(w.from, { t: 'sync', id: w.id });
        this.syncWaiters.splice(i, 1);
      } else i++;
    }
    // A reconfig left this leader out: its COMMIT is on its way to the learners, now elect without us.
    if (this.reelect) this.goLooking();
  }

  // ------------------------------------------------------------------ learner

  private learnerOnMessage(msg: Msg): void {
    this.lastHeardLeader = this.now;
    // Txns before the LEADERINFO of this registration were sent to an earlier one (this learner
    // went looking and came back to the same leader, e.g. after a role switch): logging them
    // would leave a gap where it missed one. The sync that follows brings everything.
    if ((this.stage === 'info' || this.stage === 'epoch') && (msg.t === 'proposal' || msg.t === 'inform' || msg.t === 'commit')) return;
    switch (msg.t) {
      case 'leaderinfo':
        if (this.stage !== 'info') return;
        if (msg.epoch < this.acceptedEpoch) {
          this.goLooking();
          return;
        }
        this.stage = 'epoch';
        this.persist({ acceptedEpoch: msg.epoch }, () => {
          this.acceptedEpoch = msg.epoch;
          this.stage = 'sync';
          this.send(this.leader!, { t: 'ackepoch', currentEpoch: this.currentEpoch, lastZxid: this.lastLogged });
        });
        return;
      case 'diff':
        return;
      case 'trunc':
        this.out.push({ kind: 'truncate', zxid: msg.zxid });
        // The host rebuilds its state from the log that remains, as at a restart.
        this.history = this.history.filter((t) => t.zxid <= msg.zxid);
        this.lastLogged = this.lastCommitted = this.commitUpTo = msg.zxid;
        return;
      case 'snap':
        this.out.push({ kind: 'installSnapshot', zxid: msg.zxid, data: msg.data });
        this.history = [];
        this.historyBase = msg.zxid;
        this.lastLogged = this.lastCommitted = this.commitUpTo = msg.zxid;
        return;
      case 'proposal': {
        if (msg.txn.zxid <= this.lastLogged) return;
        // The history outlives the frame: keep the txn's own bytes, not a view of the whole read.
        const d = msg.txn.data;
        if (d.byteLength !== d.buffer.byteLength) msg.txn.data = d.slice();
        this.record(msg.txn);
        this.persistProposal(msg.txn);
        return;
      }
      case 'inform': {
        if (msg.txn.zxid > this.lastLogged) {
          this.record(msg.txn);
          this.persist({ txns: [msg.txn] });
        }
        this.commitOrBuffer(msg.txn.zxid);
        return;
      }
      case 'commit':
        this.commitOrBuffer(msg.zxid);
        return;
      case 'newleader': {
        if (msg.config && this.members.adoptFromLeader(msg.config, this.cfg.reconfigOf))
          this.out.push({ kind: 'configAdopted', config: this.members.note! });
        const e = epochOf(msg.zxid);
        this.persist({ currentEpoch: e }, () => {
          this.currentEpoch = e;
          this.stage = 'synced';
          this.send(this.leader!, { t: 'ack', zxid: msg.zxid });
        });
        return;
      }
      case 'uptodate':
        if (this.stage !== 'synced') return;
        this.stage = 'ready';
        // Everything the leader has committed is in our log now.
        this.commitUpTo = Math.max(this.commitUpTo, msg.zxid);
        this.applyUpTo(this.commitUpTo);
        if (this.reelect) this.goLooking();
        else this.setRole(this.state, this.leader, true);
        return;
      case 'ping':
        this.send(this.leader!, { t: 'ping' });
        return;
      case 'sync':
        this.out.push({ kind: 'syncDone', id: msg.id });
        return;
      default:
        return;
    }
  }

  private commitOrBuffer(zxid: number): void {
    if (zxid > this.commitUpTo) this.commitUpTo = zxid;
    if (this.stage === 'ready') this.applyUpTo(this.commitUpTo);
    if (this.reelect) this.goLooking();
  }
}
