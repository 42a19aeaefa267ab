// The group coordinator's membership protocol as a pure state machine (Kafka's GroupCoordinator,
// classic protocol): JoinGroup, SyncGroup, Heartbeat, LeaveGroup and their deadlines. Inputs are
// requests tagged with a token, deadlines fired by `now`, and `appendDone`; outputs (drained with
// takeOutput) are responses by token and record appends to make durable. No timers, clocks or
// randomness inside: the shell supplies `now` and a member-id generator. Offsets, the admin APIs
// and loading live in core.ts, which extends this class.

import type { Msg } from '../protocol/schema.js';
import { ErrorCode as E, type Token } from './errors.js';
import { Group, type Member } from './group.js';
import {
  EMPTY,
  groupRecord,
  joinError,
  joinResult,
  matches,
  newMemberJoinTimeoutMs,
  pendingMembersPerGroupMax,
  sameOrUnset,
  syncResult,
  type CoreOutput,
  type GroupCoordinatorConfig,
  type JoinInput,
  type MemberRef,
  type OffsetsRecord,
  type SyncInput,
} from './membershipInputs.js';
import { partitionFor } from './partitionFor.js';

export {
  joinError,
  newMemberJoinTimeoutMs,
  pendingMembersPerGroupMax,
  syncResult,
  type AppendRequest,
  type CoreOutput,
  type GroupCoordinatorConfig,
  type JoinInput,
  type MemberRef,
  type OffsetsRecord,
  type SyncInput,
} from './membershipInputs.js';

export class MembershipCore {
  readonly groups = new Map<string, Group>();
  readonly loadedPartitions = new Set<number>();
  private out: CoreOutput = { responses: [], appends: [] };
  private nextAppendId = 1;
  private readonly appendCallbacks = new Map<number, (ok: boolean, now: number) => void>();
  nextRetentionCheck: number | null = null;
  readonly retentionCheckIntervalMs: number;

  constructor(
    readonly config: GroupCoordinatorConfig,
    private readonly newMemberId: (prefix: string) => string,
  ) {
    this.retentionCheckIntervalMs = config.offsetsRetentionCheckIntervalMs ?? 600_000;
  }

  // ---- plumbing -------------------------------------------------------------------------

  takeOutput(): CoreOutput {
    const o = this.out;
    this.out = { responses: [], appends: [] };
    return o;
  }

  respond(token: Token, body: Msg): void {
    this.out.responses.push({ token, body });
  }

  /** Queues records for the group's partition; `then` runs when the shell reports the outcome. */
  append(groupId: string, records: OffsetsRecord[], then: (ok: boolean, now: number) => void): void {
    const id = this.nextAppendId++;
    this.appendCallbacks.set(id, then);
    this.out.appends.push({ id, partition: this.partitionOf(groupId), records });
  }

  appendDone(id: number, ok: boolean, now: number): void {
    const cb = this.appendCallbacks.get(id);
    if (!cb) return;
    this.appendCallbacks.delete(id);
    cb(ok, now);
  }

  partitionOf(groupId: string): number {
    return partitionFor(groupId, this.config.offsetsTopicPartitions);
  }

  owns(groupId: string): boolean {
    return this.loadedPartitions.has(this.partitionOf(groupId));
  }

  /** Removes a group that never mattered (created by a failed join, nothing persisted). */
  dropIfUnused(g: Group): void {
    const unused = g.generationId === 0 && g.members.size === 0 && g.pendingMembers.size === 0;
    if (unused && g.is('Empty') && g.offsets.size === 0 && g.pendingOffsetCommits === 0) {
      this.groups.delete(g.groupId);
    }
  }

  // ---- JoinGroup ------------------------------------------------------------------------

  join(token: Token, now: number, j: JoinInput): void {
    const fail = (errorCode: number, memberId = j.memberId): void => this.respond(token, joinError(memberId, errorCode));
    if (j.groupId === '') {
      fail(E.INVALID_GROUP_ID);
      return;
    }
    if (!this.owns(j.groupId)) {
      fail(E.NOT_COORDINATOR);
      return;
    }
    const { groupMinSessionTimeoutMs: lo, groupMaxSessionTimeoutMs: hi } = this.config;
    if (j.sessionTimeoutMs < lo || j.sessionTimeoutMs > hi) {
      fail(E.INVALID_SESSION_TIMEOUT);
      return;
    }
    const isUnknown = j.memberId === '';
    let g = this.groups.get(j.groupId);
    if (!g) {
      if (!isUnknown) {
        fail(E.UNKNOWN_MEMBER_ID);
        return;
      }
      g = new Group(j.groupId, now);
      this.groups.set(j.groupId, g);
    }
    if (!this.acceptJoiningMember(g, j.memberId)) {
      if (g.has(j.memberId)) this.removeMemberAndUpdateGroup(g, j.memberId, now);
      fail(E.GROUP_MAX_SIZE_REACHED, '');
    } else if (isUnknown) this.newMemberJoin(g, token, now, j);
    else this.currentMemberJoin(g, token, now, j);
    if (g.is('PreparingRebalance')) this.tryCompleteJoin(g, now);
    this.dropIfUnused(g);
  }

  private acceptJoiningMember(g: Group, memberId: string): boolean {
    const max = this.config.groupMaxSize;
    switch (g.state) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance': {
        const m = g.members.get(memberId);
        return (m !== undefined && m.joinToken !== null) || g.numAwaitingJoin() < max;
      }
      default:
        return g.has(memberId) || g.members.size < max;
    }
  }

  private newMemberJoin(g: Group, token: Token, now: number, j: JoinInput): void {
    if (g.is('Dead')) {
      this.respond(token, joinError(j.memberId, E.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    if (!g.supportsProtocols(j.protocolType, j.protocols)) {
      this.respond(token, joinError(j.memberId, E.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    const newId = this.newMemberId(j.groupInstanceId ?? j.clientId);
    if (j.groupInstanceId !== null) {
      const oldId = g.staticMembers.get(j.groupInstanceId);
      if (oldId !== undefined && g.has(oldId)) {
        this.updateStaticMember(g, token, now, j, oldId, newId);
        return;
      }
      this.addMemberAndRebalance(g, token, now, j, newId);
      return;
    }
    if (j.requireKnownMemberId) {
      if (g.pendingMembers.size >= pendingMembersPerGroupMax) {
        this.respond(token, joinError('', E.GROUP_MAX_SIZE_REACHED));
        return;
      }
      // The id is reserved for one session timeout; the client rejoins with it at once.
      g.pendingMembers.set(newId, now + j.sessionTimeoutMs);
      this.respond(token, joinError(newId, E.MEMBER_ID_REQUIRED));
      return;
    }
    this.addMemberAndRebalance(g, token, now, j, newId);
  }

  private currentMemberJoin(g: Group, token: Token, now: number, j: JoinInput): void {
    if (g.is('Dead')) {
      this.respond(token, joinError(j.memberId, E.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    if (!g.supportsProtocols(j.protocolType, j.protocols)) {
      this.respond(token, joinError(j.memberId, E.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    if (g.pendingMembers.has(j.memberId)) {
      this.addMemberAndRebalance(g, token, now, j, j.memberId);
      return;
    }
    const err = this.validateCurrentMember(g, j.memberId, j.groupInstanceId);
    if (err !== E.NONE) {
      this.respond(token, joinError(j.memberId, err));
      return;
    }
    const m = g.members.get(j.memberId) as Member;
    switch (g.state) {
      case 'PreparingRebalance':
        this.updateMemberAndRebalance(g, m, token, now, j);
        return;
      case 'CompletingRebalance':
        if (matches(m.protocols, j.protocols)) {
          // A retry of a join whose answer was lost: answer again for the current generation.
          this.respond(token, joinResult(g, m.memberId, g.isLeader(m.memberId), false));
          return;
        }
        this.updateMemberAndRebalance(g, m, token, now, j);
        return;
      case 'Stable':
        // A leader's rejoin forces a rebalance: that is how it reacts to topic metadata changes.
        if (g.isLeader(m.memberId) || !matches(m.protocols, j.protocols)) {
          this.updateMemberAndRebalance(g, m, token, now, j);
          return;
        }
        this.respond(token, joinResult(g, m.memberId, false, false));
        return;
      default:
        this.respond(token, joinError(j.memberId, E.UNKNOWN_MEMBER_ID));
        return;
    }
  }

  /** UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID checks shared by join, sync, heartbeat and commit. */
  validateCurrentMember(g: Group, memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = g.staticMembers.get(groupInstanceId);
      if (current !== undefined && current !== memberId) return E.FENCED_INSTANCE_ID;
    }
    return g.has(memberId) ? E.NONE : E.UNKNOWN_MEMBER_ID;
  }

  private addMemberAndRebalance(g: Group, token: Token, now: number, j: JoinInput, memberId: string): void {
    const m: Member = {
      memberId,
      groupInstanceId: j.groupInstanceId,
      clientId: j.clientId,
      clientHost: j.clientHost,
      rebalanceTimeoutMs: j.rebalanceTimeoutMs,
      sessionTimeoutMs: j.sessionTimeoutMs,
      protocolType: j.protocolType,
      protocols: j.protocols,
      assignment: EMPTY,
      joinToken: token,
      joinSupportsSkip: j.supportSkipAssignment,
      syncToken: null,
      isNew: true,
      heartbeatDeadline: now + newMemberJoinTimeoutMs,
    };
    g.add(m);
    // A join during the initial delay of a new group may extend that delay (InitialDelayedJoin).
    if (g.is('PreparingRebalance') && g.generationId === 0) g.newMemberAdded = true;
    this.maybePrepareRebalance(g, now);
  }

  private updateMemberAndRebalance(g: Group, m: Member, token: Token, now: number, j: JoinInput): void {
    this.updateMember(g, m, token, j);
    this.maybePrepareRebalance(g, now);
  }

  private updateMember(g: Group, m: Member, token: Token, j: JoinInput): void {
    g.updateProtocols(m, j.protocols);
    m.rebalanceTimeoutMs = j.rebalanceTimeoutMs;
    m.sessionTimeoutMs = j.sessionTimeoutMs;
    // A second join from the same member supersedes the first, which is told to rejoin.
    if (m.joinToken !== null && m.joinToken !== token) this.respond(m.joinToken, joinError(m.memberId, E.UNKNOWN_MEMBER_ID));
    m.joinToken = token;
    m.joinSupportsSkip = j.supportSkipAssignment;
  }

  private updateStaticMember(g: Group, token: Token, now: number, j: JoinInput, oldId: string, newId: string): void {
    const instanceId = j.groupInstanceId as string;
    const currentLeader = g.leaderId;
    const old = g.members.get(oldId) as Member;
    // The old incarnation's parked requests are fenced.
    if (old.joinToken !== null) this.respond(old.joinToken, joinError(oldId, E.FENCED_INSTANCE_ID));
    if (old.syncToken !== null) this.respond(old.syncToken, syncResult(g, E.FENCED_INSTANCE_ID, EMPTY));
    const m = g.replaceStaticMember(instanceId, oldId, newId);
    m.heartbeatDeadline = now + m.sessionTimeoutMs;
    const saved = { protocols: m.protocols, rebalanceTimeoutMs: m.rebalanceTimeoutMs, sessionTimeoutMs: m.sessionTimeoutMs };
    this.updateMember(g, m, token, j);
    switch (g.state) {
      case 'Stable': {
        if (g.selectProtocol() !== g.protocolName) {
          this.maybePrepareRebalance(g, now);
          return;
        }
        // Same protocol: persist the new member id and hand back the current generation, no rebalance.
        this.append(g.groupId, [groupRecord(g, now)], (ok, t) => {
          if (m.joinToken !== token) return;
          m.joinToken = null;
          if (!ok) {
            g.updateProtocols(m, saved.protocols);
            m.rebalanceTimeoutMs = saved.rebalanceTimeoutMs;
            m.sessionTimeoutMs = saved.sessionTimeoutMs;
            const back = g.replaceStaticMember(instanceId, newId, oldId);
            back.heartbeatDeadline = t + back.sessionTimeoutMs;
            const r = joinError('', E.COORDINATOR_NOT_AVAILABLE);
            r.generationId = g.generationId;
            return this.respond(token, r);
          }
          m.heartbeatDeadline = t + m.sessionTimeoutMs;
          if (j.supportSkipAssignment) {
            const isLeader = g.isLeader(newId);
            return this.respond(token, joinResult(g, newId, isLeader, isLeader));
          }
          // Before v9 the old leader id is returned so that a rejoining leader does not run a
          // pointless assignment that a Stable group would ignore anyway.
          const r = joinResult(g, newId, false, false);
          r.leader = currentLeader ?? '';
          this.respond(token, r);
        });
        return;
      }
      case 'CompletingRebalance':
        // The leader may already be assigning to the old member id: start over.
        this.prepareRebalance(g, now);
        return;
      default:
        return; // PreparingRebalance: the member is simply awaiting the join like everyone else
    }
  }

  // ---- rebalance phases -----------------------------------------------------------------

  maybePrepareRebalance(g: Group, now: number): void {
    if (g.is('Stable') || g.is('CompletingRebalance') || g.is('Empty')) this.prepareRebalance(g, now);
  }

  prepareRebalance(g: Group, now: number): void {
    // Followers parked in SyncGroup must rejoin: their assignment will never come.
    if (g.is('CompletingRebalance')) this.resetAndPropagateAssignmentError(g, E.REBALANCE_IN_PROGRESS, now);
    g.pendingSyncMembers.clear();
    g.syncDeadline = null;
    const rebalanceTimeoutMs = g.rebalanceTimeoutMs();
    if (g.is('Empty')) {
      const delay = this.config.groupInitialRebalanceDelayMs;
      g.initialDelayRemainingMs = Math.max(rebalanceTimeoutMs - delay, 0);
      g.newMemberAdded = false;
      g.joinDeadline = now + delay;
    } else {
      g.initialDelayRemainingMs = null;
      g.joinDeadline = now + rebalanceTimeoutMs;
    }
    g.transitionTo('PreparingRebalance', now);
    // As Kafka's tryCompleteElseWatch: the join may already be complete (e.g. the last member left).
    this.tryCompleteJoin(g, now);
  }

  /** Completes the join phase early when every member (and no pending one) has rejoined. */
  tryCompleteJoin(g: Group, now: number): void {
    if (!g.is('PreparingRebalance') || g.initialDelayRemainingMs !== null) return;
    if (g.hasAllMembersJoined()) this.completeJoin(g, now);
  }

  private onJoinDeadline(g: Group, now: number): void {
    const remaining = g.initialDelayRemainingMs;
    if (remaining !== null && g.newMemberAdded && remaining > 0) {
      // New members arrived during the delay: wait once more, within the rebalance timeout.
      const delay = Math.min(this.config.groupInitialRebalanceDelayMs, remaining);
      g.initialDelayRemainingMs = Math.max(remaining - this.config.groupInitialRebalanceDelayMs, 0);
      g.newMemberAdded = false;
      g.joinDeadline = now + delay;
      return;
    }
    this.completeJoin(g, now);
  }

  private completeJoin(g: Group, now: number): void {
    g.joinDeadline = null;
    g.initialDelayRemainingMs = null;
    g.newMemberAdded = false;
    for (const m of [...g.members.values()]) {
      if (m.joinToken === null && m.groupInstanceId === null) g.remove(m.memberId);
    }
    if (g.is('Dead')) return;
    if (!this.maybeElectNewJoinedLeader(g) && g.members.size > 0) {
      // Only absent static members are left: keep waiting for them (or their session expiry).
      g.joinDeadline = now + g.rebalanceTimeoutMs();
      return;
    }
    g.generationId += 1;
    if (g.members.size === 0) {
      g.protocolName = null;
      g.subscribedTopics = null;
      g.transitionTo('Empty', now);
      this.append(g.groupId, [groupRecord(g, now)], () => {});
      return;
    }
    g.protocolName = g.selectProtocol();
    g.subscribedTopics = g.computeSubscribedTopics();
    g.transitionTo('CompletingRebalance', now);
    for (const m of g.members.values()) {
      const token = m.joinToken;
      if (token !== null) {
        const isLeader = g.isLeader(m.memberId);
        this.respond(token, joinResult(g, m.memberId, isLeader, false));
        m.joinToken = null;
      }
      m.heartbeatDeadline = now + m.sessionTimeoutMs;
      m.isNew = false;
      g.pendingSyncMembers.add(m.memberId);
    }
    g.syncDeadline = now + g.rebalanceTimeoutMs();
  }

  private maybeElectNewJoinedLeader(g: Group): boolean {
    if (g.leaderId === null) return false;
    const leader = g.members.get(g.leaderId);
    if (leader && leader.joinToken !== null) return true;
    for (const m of g.members.values()) {
      if (m.joinToken !== null) {
        g.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  private resetAndPropagateAssignmentError(g: Group, errorCode: number, now: number): void {
    for (const m of g.members.values()) {
      m.assignment = EMPTY;
      if (m.syncToken !== null) {
        this.respond(m.syncToken, syncResult(g, errorCode, EMPTY));
        m.syncToken = null;
        // Waiting in SyncGroup counted as liveness; the session clock restarts now.
        m.heartbeatDeadline = now + m.sessionTimeoutMs;
      }
    }
  }

  // ---- SyncGroup ------------------------------------------------------------------------

  sync(token: Token, now: number, s: SyncInput): void {
    const fail = (errorCode: number): void => this.respond(token, { errorCode, protocolType: null, protocolName: null, assignment: EMPTY });
    if (!this.owns(s.groupId)) {
      fail(E.NOT_COORDINATOR);
      return;
    }
    const g = this.groups.get(s.groupId);
    if (!g) {
      fail(E.UNKNOWN_MEMBER_ID);
      return;
    }
    if (g.is('Dead')) {
      fail(E.COORDINATOR_NOT_AVAILABLE);
      return;
    }
    let err = this.validateCurrentMember(g, s.memberId, s.groupInstanceId);
    if (err === E.NONE && s.generationId !== g.generationId) err = E.ILLEGAL_GENERATION;
    if (err === E.NONE && !sameOrUnset(s.protocolType, g.protocolType)) err = E.INCONSISTENT_GROUP_PROTOCOL;
    if (err === E.NONE && !sameOrUnset(s.protocolName, g.protocolName)) err = E.INCONSISTENT_GROUP_PROTOCOL;
    if (err !== E.NONE) {
      fail(err);
      return;
    }
    const m = g.members.get(s.memberId) as Member;
    switch (g.state) {
      case 'Empty':
        fail(E.UNKNOWN_MEMBER_ID);
        return;
      case 'PreparingRebalance':
        fail(E.REBALANCE_IN_PROGRESS);
        return;
      case 'CompletingRebalance': {
        if (m.syncToken !== null && m.syncToken !== token) this.respond(m.syncToken, syncResult(g, E.REBALANCE_IN_PROGRESS, EMPTY));
        m.syncToken = token;
        this.removePendingSync(g, s.memberId);
        if (!g.isLeader(s.memberId)) return;
        const assignments = new Map<string, Buffer>();
        for (const a of s.assignments) if (g.has(a.memberId)) assignments.set(a.memberId, a.assignment);
        const generation = g.generationId;
        this.append(g.groupId, [groupRecord(g, now, assignments)], (ok, t) => {
          if (!g.is('CompletingRebalance') || g.generationId !== generation) return;
          if (!ok) {
            this.resetAndPropagateAssignmentError(g, E.COORDINATOR_NOT_AVAILABLE, t);
            return this.maybePrepareRebalance(g, t);
          }
          for (const x of g.members.values()) {
            x.assignment = assignments.get(x.memberId) ?? EMPTY;
            if (x.syncToken !== null) {
              this.respond(x.syncToken, syncResult(g, E.NONE, x.assignment));
              x.syncToken = null;
              x.heartbeatDeadline = t + x.sessionTimeoutMs;
            }
          }
          g.transitionTo('Stable', t);
        });
        return;
      }
      case 'Stable':
        this.removePendingSync(g, s.memberId);
        m.heartbeatDeadline = now + m.sessionTimeoutMs;
        this.respond(token, syncResult(g, E.NONE, m.assignment));
        return;
    }
  }

  private removePendingSync(g: Group, memberId: string): void {
    g.pendingSyncMembers.delete(memberId);
    if (g.pendingSyncMembers.size === 0) g.syncDeadline = null;
  }

  private onSyncDeadline(g: Group, now: number): void {
    g.syncDeadline = null;
    if (!(g.is('CompletingRebalance') || g.is('Stable')) || g.pendingSyncMembers.size === 0) return;
    for (const id of [...g.pendingSyncMembers]) this.dropMember(g, id, E.UNKNOWN_MEMBER_ID);
    g.pendingSyncMembers.clear();
    this.prepareRebalance(g, now);
  }

  // ---- Heartbeat / LeaveGroup -----------------------------------------------------------

  heartbeat(now: number, groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (!this.owns(groupId)) return E.NOT_COORDINATOR;
    const g = this.groups.get(groupId);
    if (!g) return E.UNKNOWN_MEMBER_ID;
    if (g.is('Dead')) return E.COORDINATOR_NOT_AVAILABLE;
    const err = this.validateCurrentMember(g, memberId, groupInstanceId);
    if (err !== E.NONE) return err;
    if (generationId !== g.generationId) return E.ILLEGAL_GENERATION;
    const m = g.members.get(memberId) as Member;
    switch (g.state) {
      case 'Empty':
        return E.UNKNOWN_MEMBER_ID;
      case 'PreparingRebalance':
        m.heartbeatDeadline = now + m.sessionTimeoutMs;
        return E.REBALANCE_IN_PROGRESS;
      default:
        // CompletingRebalance too: clients heartbeat right after their JoinGroup response.
        m.heartbeatDeadline = now + m.sessionTimeoutMs;
        return E.NONE;
    }
  }

  /** Returns the top-level error and one error per leaving member (LeaveGroup v3+ batches). */
  leave(now: number, groupId: string, members: MemberRef[]): { errorCode: number; members: (MemberRef & { errorCode: number })[] } {
    if (!this.owns(groupId)) return { errorCode: E.NOT_COORDINATOR, members: [] };
    const g = this.groups.get(groupId);
    if (!g) return { errorCode: E.NONE, members: members.map((x) => ({ ...x, errorCode: E.UNKNOWN_MEMBER_ID })) };
    if (g.is('Dead')) return { errorCode: E.COORDINATOR_NOT_AVAILABLE, members: [] };
    const results = members.map((x) => ({ ...x, errorCode: this.leaveOne(g, x, now) }));
    return { errorCode: E.NONE, members: results };
  }

  private leaveOne(g: Group, x: MemberRef, now: number): number {
    if (x.memberId === '' && x.groupInstanceId !== null) {
      // An admin removing a static member by instance id alone.
      const id = g.staticMembers.get(x.groupInstanceId);
      if (id === undefined) return E.UNKNOWN_MEMBER_ID;
      this.removeMemberAndUpdateGroup(g, id, now);
      return E.NONE;
    }
    if (g.isStaticMemberFenced(x.groupInstanceId, x.memberId)) return E.FENCED_INSTANCE_ID;
    if (g.pendingMembers.delete(x.memberId)) {
      if (g.is('PreparingRebalance')) this.tryCompleteJoin(g, now);
      return E.NONE;
    }
    if (!g.has(x.memberId)) return E.UNKNOWN_MEMBER_ID;
    this.removeMemberAndUpdateGroup(g, x.memberId, now);
    return E.NONE;
  }

  /** Drops a member, answering its parked requests so no client waits forever. */
  private dropMember(g: Group, memberId: string, errorCode: number): void {
    const m = g.members.get(memberId);
    if (!m) return;
    if (m.joinToken !== null) this.respond(m.joinToken, joinError(memberId, errorCode));
    if (m.syncToken !== null) this.respond(m.syncToken, syncResult(g, errorCode, EMPTY));
    m.joinToken = null;
    m.syncToken = null;
    g.remove(memberId);
  }

  removeMemberAndUpdateGroup(g: Group, memberId: string, now: number): void {
    this.dropMember(g, memberId, E.UNKNOWN_MEMBER_ID);
    if (g.is('Stable') || g.is('CompletingRebalance')) this.maybePrepareRebalance(g, now);
    else if (g.is('PreparingRebalance')) this.tryCompleteJoin(g, now);
  }

  // ---- time -----------------------------------------------------------------------------

  /** Fires every deadline at or before now. Offset expiry is run by the caller (offsets.ts). */
  tickMembership(now: number): void {
    for (const g of [...this.groups.values()]) {
      for (const [id, deadline] of [...g.pendingMembers]) {
        if (deadline <= now) {
          g.pendingMembers.delete(id);
          if (g.is('PreparingRebalance')) this.tryCompleteJoin(g, now);
        }
      }
      for (const m of [...g.members.values()]) {
        if (m.heartbeatDeadline > now || !g.has(m.memberId)) continue;
        if (!m.isNew && (m.joinToken !== null || m.syncToken !== null)) {
          m.heartbeatDeadline = Number.POSITIVE_INFINITY; // waiting in a rebalance counts as alive
          continue;
        }
        this.removeMemberAndUpdateGroup(g, m.memberId, now);
      }
      if (g.joinDeadline !== null && g.joinDeadline <= now && g.is('PreparingRebalance')) this.onJoinDeadline(g, now);
      if (g.syncDeadline !== null && g.syncDeadline <= now) this.onSyncDeadline(g, now);
      this.dropIfUnused(g);
    }
  }

  nextDeadline(): number | null {
    let t = this.nextRetentionCheck ?? Number.POSITIVE_INFINITY;
    for (const g of this.groups.values()) {
      for (const d of g.pendingMembers.values()) t = Math.min(t, d);
      for (const m of g.members.values()) t = Math.min(t, m.heartbeatDeadline);
      if (g.joinDeadline !== null) t = Math.min(t, g.joinDeadline);
      if (g.syncDeadline !== null) t = Math.min(t, g.syncDeadline);
    }
    return Number.isFinite(t) ? t : null;
  }
}
