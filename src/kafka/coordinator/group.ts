// One consumer group's data, as Kafka's GroupMetadata/MemberMetadata keep it: members in join
// order (the first joiner leads), pending members (issued an id by MEMBER_ID_REQUIRED but not
// yet rejoined), static instance ids, committed offsets. Plain data plus small queries; the
// transitions and their timing live in core.ts.

import type { Token } from './errors.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface Protocol {
  name: string;
  metadata: Buffer;
}

export interface Member {
  readonly memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
  assignment: Buffer;
  /** A parked JoinGroup waiting for the rebalance to complete. */
  joinToken: Token | null;
  /** Whether the parked join's client understands JoinGroup v9's skipAssignment. */
  joinSupportsSkip: boolean;
  /** A parked SyncGroup (a follower waiting for the leader's assignment). */
  syncToken: Token | null;
  /** Joined but never completed a join: expires after newMemberJoinTimeoutMs, even while parked. */
  isNew: boolean;
  /** When the member expires unless it heartbeats; Infinity while it legitimately waits. */
  heartbeatDeadline: number;
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
  expireTimestamp: number; // -1: none (retention decides)
}

export const offsetKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class Group {
  state: GroupState = 'Empty';
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  /** When the group last changed state (Kafka's currentStateTimestamp; retention counts from Empty). */
  currentStateTimestamp: number | null;
  readonly members = new Map<string, Member>();
  /** memberId -> heartbeat deadline for ids handed out with MEMBER_ID_REQUIRED. */
  readonly pendingMembers = new Map<string, number>();
  readonly staticMembers = new Map<string, string>();
  readonly pendingSyncMembers = new Set<string>();
  /** How many members support each protocol name (for supportsProtocols). */
  readonly protocolCounts = new Map<string, number>();
  readonly offsets = new Map<string, CommittedOffset>();
  /** Commits appended but not yet durable: the group must not be expired meanwhile. */
  pendingOffsetCommits = 0;
  /** Topics the members subscribe to (consumer protocol), null when unknown. */
  subscribedTopics: Set<string> | null = null;
  /** PreparingRebalance: when the join phase completes at the latest. */
  joinDeadline: number | null = null;
  /** Non-null while the InitialDelayedJoin of a new group runs: the budget left to extend it. */
  initialDelayRemainingMs: number | null = null;
  newMemberAdded = false;
  /** CompletingRebalance/Stable: members that must SyncGroup before this time. */
  syncDeadline: number | null = null;

  constructor(
    readonly groupId: string,
    now: number,
  ) {
    this.currentStateTimestamp = now;
  }

  is(s: GroupState): boolean {
    return this.state === s;
  }

  transitionTo(s: GroupState, now: number): void {
    this.state = s;
    this.currentStateTimestamp = now;
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  add(m: Member): void {
    if (this.members.size === 0) this.protocolType = m.protocolType;
    this.members.set(m.memberId, m);
    for (const p of m.protocols) this.protocolCounts.set(p.name, (this.protocolCounts.get(p.name) ?? 0) + 1);
    if (m.groupInstanceId !== null) this.staticMembers.set(m.groupInstanceId, m.memberId);
    if (this.leaderId === null) this.leaderId = m.memberId;
    this.pendingMembers.delete(m.memberId);
  }

  remove(memberId: string): Member | undefined {
    const m = this.members.get(memberId);
    if (!m) return undefined;
    this.members.delete(memberId);
    this.dropProtocols(m.protocols);
    if (m.groupInstanceId !== null && this.staticMembers.get(m.groupInstanceId) === memberId) {
      this.staticMembers.delete(m.groupInstanceId);
    }
    this.pendingSyncMembers.delete(memberId);
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null;
    return m;
  }

  updateProtocols(m: Member, protocols: Protocol[]): void {
    this.dropProtocols(m.protocols);
    m.protocols = protocols;
    for (const p of protocols) this.protocolCounts.set(p.name, (this.protocolCounts.get(p.name) ?? 0) + 1);
  }

  private dropProtocols(protocols: Protocol[]): void {
    for (const p of protocols) {
      const n = (this.protocolCounts.get(p.name) ?? 0) - 1;
      if (n <= 0) this.protocolCounts.delete(p.name);
      else this.protocolCounts.set(p.name, n);
    }
  }

  /** A static member rejoined with a new member id: re-key it, keeping its place and leadership. */
  replaceStaticMember(instanceId: string, oldId: string, newId: string): Member {
    const old = this.members.get(oldId);
    if (!old) throw new Error(`no member ${oldId}`);
    const m: Member = { ...old, memberId: newId, joinToken: null, syncToken: null };
    const entries = [...this.members.entries()];
    this.members.clear();
    for (const [id, x] of entries) this.members.set(id === oldId ? newId : id, id === oldId ? m : x);
    this.staticMembers.set(instanceId, newId);
    if (this.leaderId === oldId) this.leaderId = newId;
    if (this.pendingSyncMembers.delete(oldId)) this.pendingSyncMembers.add(newId);
    return m;
  }

  /** Fenced: the instance id is known and now belongs to a different member id. */
  isStaticMemberFenced(instanceId: string | null, memberId: string): boolean {
    if (instanceId === null) return false;
    const current = this.staticMembers.get(instanceId);
    return current !== undefined && current !== memberId;
  }

  supportsProtocols(protocolType: string, protocols: Protocol[]): boolean {
    if (this.is('Empty')) return protocolType.length > 0 && protocols.length > 0;
    const n = this.members.size;
    return this.protocolType === protocolType && protocols.some((p) => this.protocolCounts.get(p.name) === n);
  }

  /** Kafka's selectProtocol: among protocols all members support, each member votes its first; most votes wins. */
  selectProtocol(): string {
    const n = this.members.size;
    const candidates: string[] = [];
    for (const [name, count] of this.protocolCounts) if (count === n) candidates.push(name);
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const vote = m.protocols.find((p) => candidates.includes(p.name));
      if (vote) votes.set(vote.name, (votes.get(vote.name) ?? 0) + 1);
    }
    let best: string | null = null;
    let bestVotes = -1;
    // Ties go to the candidate first seen, which is deterministic (member join order).
    for (const [name, v] of votes) {
      if (v > bestVotes) {
        best = name;
        bestVotes = v;
      }
    }
    if (best === null) throw new Error(`group ${this.groupId} has no common protocol`);
    return best;
  }

  metadataFor(m: Member, protocol: string | null): Buffer {
    return m.protocols.find((p) => p.name === protocol)?.metadata ?? EMPTY;
  }

  rebalanceTimeoutMs(): number {
    let t = 0;
    for (const m of this.members.values()) t = Math.max(t, m.rebalanceTimeoutMs);
    return t;
  }

  numAwaitingJoin(): number {
    let n = 0;
    for (const m of this.members.values()) if (m.joinToken !== null) n++;
    return n;
  }

  hasAllMembersJoined(): boolean {
    return this.members.size === this.numAwaitingJoin() && this.pendingMembers.size === 0;
  }

  isSubscribedToTopic(topic: string): boolean {
    return this.subscribedTopics === null || this.subscribedTopics.has(topic);
  }

  /** Subscribed topics from each member's ConsumerProtocolSubscription (its v0 prefix is common to all versions). */
  computeSubscribedTopics(): Set<string> | null {
    if (this.protocolType !== 'consumer' || this.members.size === 0 || this.protocolName === null) return null;
    const topics = new Set<string>();
    try {
      for (const m of this.members.values()) {
        for (const t of parseSubscriptionTopics(this.metadataFor(m, this.protocolName))) topics.add(t);
      }
    } catch {
      return null; // unparseable subscription: treat every topic as possibly subscribed
    }
    return topics;
  }
}

const EMPTY = Buffer.alloc(0);

function parseSubscriptionTopics(b: Buffer): string[] {
  let pos = 2; // int16 version
  const need = (n: number): void => {
    if (pos + n > b.length) throw new Error('truncated subscription');
  };
  need(4);
  const n = b.readInt32BE(pos);
  pos += 4;
  if (n < 0 || n > b.length) throw new Error('bad topic count');
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    need(2);
    const len = b.readInt16BE(pos);
    pos += 2;
    if (len < 0) throw new Error('null topic');
    need(len);
    out.push(b.toString('utf8', pos, pos + len));
    pos += len;
  }
  return out;
}
