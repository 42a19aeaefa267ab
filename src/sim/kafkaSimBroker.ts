// One broker of the Kafka simulator: per partition a log of (leaderEpoch, recordId) entries with a
// flushed prefix, a leader epoch cache (the real LeaderEpochCache, in memory) and a high watermark;
// the real LeaderCore when leading (HW rule, ISR proposals, acks=all verdicts) and a follower that
// fetches and truncates with the real truncation rules. Request handling mirrors the broker's
// handlers (leaderAndIsr.ts, fetch.ts, offsetForLeaderEpoch.ts) and replicaManager.ts.

import { ErrorCode } from '../kafka/protocol/errors.js';
import type { LeaderAndIsrState } from '../kafka/controller/coreTypes.js';
import { HW_FROZEN, type IsrProposal, type LeaderCore } from '../kafka/replication/leaderCore.js';
import { outOfRangeDecision, truncationDecision } from '../kafka/replication/truncation.js';
import { LeaderEpochCache } from '../kafka/storage/leaderEpochCache.js';
import { type Entry, LIMITS, MIN_INSYNC, type SimMsg } from './kafkaSimTypes.js';

export const REPLICA_LAG_TIME_MAX_MS = 400;
const REQUEST_TIMEOUT_MS = 120;
const ALTER_RETRY_MS = 100;

export interface BrokerEnv {
  now(): number;
  send(from: number, to: number, msg: SimMsg): void;
  makeLeaderCore(brokerId: number, replicaLagTimeMaxMs: number): LeaderCore;
  /** A broker took leadership of (partition, leader epoch). */
  onLeader(partition: number, leaderEpoch: number, broker: number): void;
  /** acks=all answered NONE for a record. */
  onAck(partition: number, offset: number, id: string, broker: number): void;
  /** A replica's HW moved up: entries below it must agree with every other replica's. */
  onHighWatermark(partition: number, broker: number): void;
  trace(line: string): void;
}

interface Follow {
  leader: number;
  leaderEpoch: number;
  phase: 'truncating' | 'fetching';
  /** When the outstanding request went out (undefined: none). */
  sentAtMs: number | undefined;
  seq: number;
  nextAtMs: number;
}

export class Replica {
  log: Entry[] = [];
  /** log[0..flushed) is on disk; the rest is in the page cache (lost by a lossy crash). */
  flushed = 0;
  readonly epochs = new LeaderEpochCache(undefined);
  hw = 0;
  /** The replication-offset-checkpoint value. */
  hwCheckpoint = 0;
  state: LeaderAndIsrState | undefined;
  core: LeaderCore | undefined;
  follow: Follow | undefined;
  purgatory: { offset: number; id: string }[] = [];
  alter: { proposal: IsrProposal; sentAtMs: number | undefined } | undefined;
  /** log[0..verified) was checked against the agreed history (the simulator's invariant). */
  verified = 0;

  get leo(): number {
    return this.log.length;
  }

  truncateTo(offset: number): void {
    // As Kafka's UnifiedLog.truncateTo, the epoch cache is cut even when the log is not: a leader
    // that assigned an epoch at its log end and appended nothing would otherwise diverge forever.
    if (offset >= this.log.length) {
      this.epochs.truncateFromEnd(this.log.length);
      return;
    }
    this.log.length = offset;
    this.flushed = Math.min(this.flushed, offset);
    this.verified = Math.min(this.verified, offset);
    this.epochs.truncateFromEnd(offset);
    this.hw = Math.min(this.hw, offset);
  }
}

export class SimBroker {
  up = true;
  /** Incarnation: bumped by every crash, so messages to or from an older one are dropped. */
  boot = 1;
  session: number | undefined;
  brokerEpoch = -1;
  registered = false;
  controllerEpochSeen = -1;
  controllerId = -1;
  liveBrokers = new Set<number>();
  slowUntilMs = 0;
  /** Controlled shutdown in progress: attempts left, and when the last request went out. */
  shutdown: { attemptsLeft: number; sentAtMs: number } | undefined;
  readonly replicas: Replica[] = [];

  constructor(
    readonly id: number,
    partitions: number,
    private readonly env: BrokerEnv,
  ) {
    for (let p = 0; p < partitions; p++) this.replicas.push(new Replica());
  }

  /** The process dies: memory is gone; with `lossy` the page cache too (unflushed records). */
  crash(lossy: boolean): void {
    this.up = false;
    this.boot++;
    this.session = undefined;
    this.registered = false;
    this.brokerEpoch = -1;
    this.controllerEpochSeen = -1;
    this.controllerId = -1;
    this.liveBrokers = new Set();
    this.shutdown = undefined;
    for (const r of this.replicas) {
      if (lossy) r.log.length = r.flushed;
      r.flushed = r.log.length;
      r.verified = Math.min(r.verified, r.log.length);
      // Log recovery: the epoch cache may not point past the log, nor the HW.
      r.epochs.truncateFromEnd(r.log.length);
      r.hw = Math.min(r.hwCheckpoint, r.log.length);
      r.state = undefined;
      r.core = undefined;
      r.follow = undefined;
      r.purgatory = [];
      r.alter = undefined;
    }
  }

  flush(): void {
    for (const r of this.replicas) {
      r.flushed = r.log.length;
      r.hwCheckpoint = r.hw;
    }
  }

  // ---------------------------------------------------------------- controller requests

  /** controlRequestError: an older incarnation's or a deposed controller's request is refused. */
  private fenced(m: SimMsg & { controllerEpoch: number; brokerEpoch: number }): boolean {
    if (m.brokerEpoch >= 0 && m.brokerEpoch < this.brokerEpoch) return true;
    if (m.controllerEpoch < this.controllerEpochSeen) return true;
    this.controllerEpochSeen = m.controllerEpoch;
    return false;
  }

  onControl(from: number, m: SimMsg & { t: 'leaderAndIsr' | 'updateMetadata' | 'stopReplica' }): void {
    // Kafka serves requests only once registered: before that a restarted broker has no epoch to
    // fence a request meant for its previous incarnation with. Unanswered, the controller resends.
    if (!this.registered) return;
    if (!this.fenced(m)) {
      this.controllerId = m.controllerId;
      if (m.t === 'updateMetadata') this.liveBrokers = new Set(m.live);
      else if (m.t === 'stopReplica') this.stopReplica(m.partition);
      else this.leaderAndIsr(m.partition, m.state);
    }
    this.env.send(this.id, from, { t: 'controlAck', reqId: m.reqId });
  }

  private leaderAndIsr(p: number, state: LeaderAndIsrState): void {
    const r = this.replicas[p]!;
    if (r.state && state.leaderEpoch <= r.state.leaderEpoch) return;
    if (!state.replicas.includes(this.id)) return;
    this.env.trace(`b${this.id} LeaderAndIsr p${p} leader ${state.leader} epoch ${state.leaderEpoch} isr [${state.isr}]`);
    const prev = r.state;
    r.state = state;
    if (state.leader === this.id) this.makeLeader(p, r, prev);
    else this.makeFollower(r);
  }

  private makeLeader(p: number, r: Replica, prev: LeaderAndIsrState | undefined): void {
    const state = r.state!;
    r.follow = undefined;
    const latest = r.epochs.latestEpoch;
    if (latest < state.leaderEpoch) r.epochs.assign(state.leaderEpoch, r.leo);
    const isNewLeader = r.core === undefined;
    const core = r.core ?? this.env.makeLeaderCore(this.id, REPLICA_LAG_TIME_MAX_MS);
    r.core = core;
    const term = { leaderEpoch: state.leaderEpoch, partitionEpoch: state.zkVersion, isr: state.isr, replicas: state.replicas };
    if (!core.becomeLeader(term, r.leo, this.env.now(), isNewLeader) && prev) {
      r.state = prev;
      return;
    }
    r.alter = undefined;
    this.env.trace(`b${this.id} leads p${p} epoch ${state.leaderEpoch} isr [${state.isr}] leo ${r.leo} hw ${r.hw}`);
    this.env.onLeader(p, state.leaderEpoch, this.id);
    this.advanceHw(p, r);
    this.completeProduces(p, r);
  }

  private makeFollower(r: Replica): void {
    const state = r.state!;
    if (r.core) {
      r.core = undefined;
      r.alter = undefined;
      r.purgatory = []; // answered NOT_LEADER_OR_FOLLOWER: never acknowledged
    }
    r.follow = undefined;
    if (state.leader < 0) return;
    r.follow = { leader: state.leader, leaderEpoch: state.leaderEpoch, phase: 'truncating', sentAtMs: undefined, seq: 0, nextAtMs: 0 };
  }

  private stopReplica(p: number): void {
    const r = this.replicas[p]!;
    this.env.trace(`b${this.id} stops replica p${p}`);
    r.state = undefined;
    r.core = undefined;
    r.follow = undefined;
    r.purgatory = [];
    r.alter = undefined;
  }

  // ---------------------------------------------------------------- leader side

  private advanceHw(p: number, r: Replica): boolean {
    const core = r.core;
    if (!core) return false;
    const hw = core.highWatermarkCandidate(r.leo, this.env.now(), MIN_INSYNC, (id) => this.liveBrokers.has(id));
    if (hw === HW_FROZEN || hw <= r.hw) return false;
    r.hw = hw;
    this.env.onHighWatermark(p, this.id);
    return true;
  }

  private completeProduces(p: number, r: Replica): void {
    const core = r.core;
    if (!core) return;
    r.purgatory = r.purgatory.filter((w) => {
      const verdict = core.checkEnoughReplicasReachOffset(w.offset + 1, r.hw, MIN_INSYNC);
      if (verdict === undefined) return true;
      if (verdict === ErrorCode.NONE) this.env.onAck(p, w.offset, w.id, this.id);
      return false;
    });
  }

  onProduce(p: number, id: string): void {
    const r = this.replicas[p]!;
    const core = r.core;
    if (!core || !r.state) return;
    if (core.isUnderMinIsr(MIN_INSYNC) || r.purgatory.length >= LIMITS.purgatoryMax) return;
    r.log.push({ epoch: r.state.leaderEpoch, id });
    r.purgatory.push({ offset: r.leo - 1, id });
    this.advanceHw(p, r);
    this.completeProduces(p, r);
  }

  onFetch(from: number, m: SimMsg & { t: 'fetch' }): void {
    const p = m.partition;
    const r = this.replicas[p]!;
    const reply = (fields: Partial<SimMsg & { t: 'fetchResp' }>) =>
      this.env.send(this.id, from, {
        t: 'fetchResp',
        partition: p,
        seq: m.seq,
        errorCode: ErrorCode.NONE,
        fetchOffset: m.fetchOffset,
        entries: [],
        highWatermark: r.hw,
        leaderEndOffset: r.leo,
        ...fields,
      });
    const err = this.leaderEpochError(r, m.currentLeaderEpoch);
    if (err !== ErrorCode.NONE) {
      reply({ errorCode: err });
      return;
    }
    if (m.lastFetchedEpoch >= 0) {
      // fetch.ts divergence(): the follower's last epoch ends earlier here, or is unknown.
      const e = r.epochs.endOffsetFor(m.lastFetchedEpoch, r.leo);
      if (e.epoch < 0 || e.endOffset < 0) {
        reply({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE });
        return;
      }
      if (e.epoch < m.lastFetchedEpoch || e.endOffset < m.fetchOffset) {
        reply({ diverging: { epoch: e.epoch, endOffset: e.endOffset } });
        return;
      }
    }
    if (m.fetchOffset > r.leo) {
      reply({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE });
      return;
    }
    const core = r.core!;
    const now = this.env.now();
    const moved = core.updateFollowerFetchState(from, m.fetchOffset, 0, r.leo, now);
    if (moved === undefined) {
      reply({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });
      return;
    }
    const proposal = core.maybeProposeExpand(from, r.hw, (id) => this.liveBrokers.has(id));
    if (proposal) this.sendAlter(p, r, proposal);
    if (moved && this.advanceHw(p, r)) this.completeProduces(p, r);
    const entries = r.log.slice(m.fetchOffset, m.fetchOffset + LIMITS.fetchRecordsMax);
    reply({ entries, highWatermark: r.hw, leaderEndOffset: r.leo });
  }

  onOffsetForEpoch(from: number, m: SimMsg & { t: 'offsetForEpoch' }): void {
    const r = this.replicas[m.partition]!;
    const err = this.leaderEpochError(r, m.currentLeaderEpoch);
    const e = err === ErrorCode.NONE ? r.epochs.endOffsetFor(m.leaderEpoch, r.leo) : { epoch: -1, endOffset: -1 };
    this.env.send(this.id, from, {
      t: 'offsetForEpochResp',
      partition: m.partition,
      errorCode: err,
      leaderEpoch: e.epoch,
      endOffset: e.endOffset,
      seq: m.seq,
    });
  }

  private leaderEpochError(r: Replica, currentLeaderEpoch: number): number {
    if (!r.core || !r.state) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    if (currentLeaderEpoch < r.state.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
    if (currentLeaderEpoch > r.state.leaderEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
    return ErrorCode.NONE;
  }

  private sendAlter(p: number, r: Replica, proposal: IsrProposal): void {
    r.alter = { proposal, sentAtMs: this.env.now() };
    if (this.controllerId < 0) return; // sent again on the next tick
    this.env.send(this.id, this.controllerId, {
      t: 'alterPartition',
      brokerId: this.id,
      brokerEpoch: this.brokerEpoch,
      partition: p,
      proposal,
      newIsrEpochs: proposal.isr.map(() => -1),
    });
  }

  onAlterResp(m: SimMsg & { t: 'alterPartitionResp' }): void {
    const p = m.partition;
    const r = this.replicas[p]!;
    const core = r.core;
    if (!core || r.alter?.proposal !== m.proposal) return;
    const outcome = core.onAlterPartitionResult(m.proposal, m.result);
    if (outcome === 'retry') return; // resent by the tick after ALTER_RETRY_MS
    r.alter = outcome === 'await-leader-and-isr' ? { proposal: m.proposal, sentAtMs: undefined } : undefined;
    if (outcome === 'adopted') {
      r.state = { ...r.state!, isr: [...core.isr], zkVersion: core.partitionEpoch };
      this.advanceHw(p, r);
      this.completeProduces(p, r);
    }
  }

  // ---------------------------------------------------------------- follower side

  onOffsetForEpochResp(m: SimMsg & { t: 'offsetForEpochResp' }): void {
    const r = this.replicas[m.partition]!;
    const f = r.follow;
    if (!f || f.seq !== m.seq || f.phase !== 'truncating') return;
    f.sentAtMs = undefined;
    if (m.errorCode !== ErrorCode.NONE) return;
    this.applyTruncation(m.partition, r, { leaderEpoch: m.leaderEpoch, endOffset: m.endOffset });
    this.followerRequest(m.partition, r);
  }

  private applyTruncation(p: number, r: Replica, leader: { leaderEpoch: number; endOffset: number }): void {
    const d = truncationDecision(leader, r.epochs, r.leo, r.hw);
    if (d.offset < r.leo) this.env.trace(`b${this.id} p${p} truncates ${r.leo} -> ${d.offset}`);
    r.truncateTo(d.offset);
    r.follow!.phase = d.done ? 'fetching' : 'truncating';
  }

  onFetchResp(m: SimMsg & { t: 'fetchResp' }): void {
    const p = m.partition;
    const r = this.replicas[p]!;
    const f = r.follow;
    if (!f || f.seq !== m.seq || f.phase !== 'fetching') return;
    f.sentAtMs = undefined;
    if (m.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
      const d = outOfRangeDecision(r.leo, 0, m.leaderEndOffset);
      if (d.kind === 'truncate') r.truncateTo(d.offset);
      else f.phase = 'truncating';
      return;
    }
    if (m.errorCode !== ErrorCode.NONE) return;
    if (m.diverging) {
      this.applyTruncation(p, r, { leaderEpoch: m.diverging.epoch, endOffset: m.diverging.endOffset });
      this.followerRequest(p, r);
      return;
    }
    if (m.fetchOffset !== r.leo) return;
    for (const e of m.entries) {
      if (e.epoch > r.epochs.latestEpoch) r.epochs.assign(e.epoch, r.leo);
      r.log.push(e);
    }
    const hw = Math.min(m.highWatermark, r.leo);
    const raised = hw > r.hw;
    r.hw = hw;
    if (raised) this.env.onHighWatermark(p, this.id);
    // Caught up with nothing new: wait for the next tick (Kafka long-polls); else fetch on.
    if (m.entries.length > 0 && this.env.now() >= this.slowUntilMs) this.followerRequest(p, r);
  }

  /** Sends the follower's next request (OffsetForLeaderEpoch while truncating, else Fetch). */
  private followerRequest(p: number, r: Replica): void {
    const f = r.follow;
    if (!f) return;
    const now = this.env.now();
    f.sentAtMs = now;
    f.seq++;
    if (f.phase === 'truncating') {
      this.env.send(this.id, f.leader, {
        t: 'offsetForEpoch',
        partition: p,
        currentLeaderEpoch: f.leaderEpoch,
        leaderEpoch: r.epochs.latestEpoch,
        seq: f.seq,
      });
    } else {
      this.env.send(this.id, f.leader, {
        t: 'fetch',
        partition: p,
        currentLeaderEpoch: f.leaderEpoch,
        fetchOffset: r.leo,
        lastFetchedEpoch: r.epochs.latestEpoch,
        seq: f.seq,
      });
    }
  }

  // ---------------------------------------------------------------- periodic work

  /** The replica fetchers' and the ISR-expiry threads' turn; `slowGapMs` spaces a slow follower's fetches. */
  tick(slowGapMs: number): void {
    const now = this.env.now();
    for (let p = 0; p < this.replicas.length; p++) {
      const r = this.replicas[p]!;
      const f = r.follow;
      if (f && (f.sentAtMs === undefined || now - f.sentAtMs > REQUEST_TIMEOUT_MS) && now >= f.nextAtMs) {
        if (now < this.slowUntilMs) f.nextAtMs = now + slowGapMs;
        this.followerRequest(p, r);
      }
      const core = r.core;
      if (!core) continue;
      if (!core.pending) {
        const proposal = core.maybeProposeShrink(r.leo, now);
        if (proposal) this.sendAlter(p, r, proposal);
      } else if (r.alter && r.alter.sentAtMs !== undefined && now - r.alter.sentAtMs > ALTER_RETRY_MS) {
        this.sendAlter(p, r, r.alter.proposal);
      }
    }
    if (this.shutdown && now - this.shutdown.sentAtMs > REQUEST_TIMEOUT_MS && this.controllerId >= 0) {
      this.shutdown.sentAtMs = now;
      this.env.send(this.id, this.controllerId, { t: 'controlledShutdown', brokerId: this.id, brokerEpoch: this.brokerEpoch });
    }
  }
}
