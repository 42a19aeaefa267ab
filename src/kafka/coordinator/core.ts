// The full pure group coordinator: membership (membership.ts) plus committed offsets, the admin
// APIs (DescribeGroups, ListGroups, DeleteGroups, OffsetDelete), loading a __consumer_offsets
// partition and offset retention. Same contract: inputs with `now`, outputs via takeOutput().

import type { Msg } from '../protocol/schema.js';
import { ErrorCode as E, type Token } from './errors.js';
import { type CommittedOffset, Group, type GroupState, offsetKey } from './group.js';
import { MembershipCore, type OffsetsRecord } from './membership.js';
import {
  decodeGroupMetadataValue,
  decodeOffsetCommitValue,
  decodeOffsetsKey,
  encodeGroupMetadataKey,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  type GroupMetadataValue,
} from './offsetsRecords.js';

export interface CommitInput {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** OffsetCommit v2-4: -1 = broker default retention. */
  retentionTimeMs: number;
  topics: {
    name: string;
    partitions: {
      partitionIndex: number;
      committedOffset: number;
      committedLeaderEpoch: number;
      commitTimestamp: number; // v1 only; -1 = now
      committedMetadata: string | null;
    }[];
  }[];
}

export interface FetchGroupInput {
  groupId: string;
  /** null: every committed offset of the group. */
  topics: { name: string; partitionIndexes: number[] }[] | null;
}

export interface FetchedPartition {
  partitionIndex: number;
  committedOffset: number;
  committedLeaderEpoch: number;
  metadata: string;
  errorCode: number;
}

export interface FetchGroupResult {
  groupId: string;
  topics: { name: string; partitions: FetchedPartition[] }[];
  errorCode: number;
}

/** DescribeGroups authorizedOperations with no authorizer: READ, DELETE, DESCRIBE (AclOperation codes 3, 6, 8). */
const groupOperationsBits = (1 << 3) | (1 << 6) | (1 << 8);

export class GroupCoordinatorCore extends MembershipCore {
  // ---- OffsetCommit -----------------------------------------------------------------------

  commit(token: Token, now: number, c: CommitInput): void {
    const errs = new Map<string, number>();
    const reply = (fallback: number): void => {
      this.respond(token, {
        topics: c.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: errs.get(offsetKey(t.name, p.partitionIndex)) ?? fallback,
          })),
        })),
      });
    };
    if (c.groupId === '') {
      reply(E.INVALID_GROUP_ID);
      return;
    }
    if (!this.owns(c.groupId)) {
      reply(E.NOT_COORDINATOR);
      return;
    }
    let g = this.groups.get(c.groupId);
    if (!g) {
      // No group: only a "simple" (non-group-managed) commit may create one.
      if (c.generationId >= 0) {
        reply(E.ILLEGAL_GENERATION);
        return;
      }
      g = new Group(c.groupId, now);
      this.groups.set(c.groupId, g);
    }
    const err = this.validateCommit(g, c);
    if (err !== E.NONE) {
      this.dropIfUnused(g);
      reply(err);
      return;
    }
    const member = g.members.get(c.memberId);
    if (member) member.heartbeatDeadline = now + member.sessionTimeoutMs; // a commit is a sign of life
    const accepted: CommittedOffset[] = [];
    for (const t of c.topics) {
      for (const p of t.partitions) {
        const metadata = p.committedMetadata ?? '';
        if (Buffer.byteLength(metadata) > this.config.offsetMetadataMaxBytes) {
          errs.set(offsetKey(t.name, p.partitionIndex), E.OFFSET_METADATA_TOO_LARGE);
          continue;
        }
        const commitTimestamp = p.commitTimestamp >= 0 ? p.commitTimestamp : now;
        accepted.push({
          topic: t.name,
          partition: p.partitionIndex,
          offset: p.committedOffset,
          leaderEpoch: p.committedLeaderEpoch,
          metadata,
          commitTimestamp,
          expireTimestamp: c.retentionTimeMs >= 0 ? commitTimestamp + c.retentionTimeMs : -1,
        });
      }
    }
    if (accepted.length === 0) {
      reply(E.NONE);
      return;
    }
    const records: OffsetsRecord[] = accepted.map((o) => ({
      key: encodeOffsetCommitKey(c.groupId, o.topic, o.partition),
      value: encodeOffsetCommitValue({
        offset: o.offset,
        leaderEpoch: o.leaderEpoch,
        metadata: o.metadata,
        commitTimestamp: o.commitTimestamp,
        expireTimestamp: o.expireTimestamp,
      }),
    }));
    const group = g;
    group.pendingOffsetCommits++;
    this.append(c.groupId, records, (ok) => {
      group.pendingOffsetCommits--;
      if (ok && !group.is('Dead')) for (const o of accepted) group.offsets.set(offsetKey(o.topic, o.partition), o);
      if (!ok) for (const o of accepted) errs.set(offsetKey(o.topic, o.partition), E.COORDINATOR_NOT_AVAILABLE);
      reply(E.NONE);
    });
  }

  private validateCommit(g: Group, c: CommitInput): number {
    if (g.is('Dead')) return E.COORDINATOR_NOT_AVAILABLE;
    if (c.generationId >= 0 || c.memberId !== '' || c.groupInstanceId !== null) {
      const err = this.validateCurrentMember(g, c.memberId, c.groupInstanceId);
      if (err !== E.NONE) return err;
      if (c.generationId !== g.generationId) return E.ILLEGAL_GENERATION;
    } else if (!g.is('Empty')) {
      return E.UNKNOWN_MEMBER_ID; // only members may commit into a live group
    }
    // The member has its JoinGroup answer but not its assignment yet.
    if (g.is('CompletingRebalance')) return E.REBALANCE_IN_PROGRESS;
    return E.NONE;
  }

  // ---- OffsetFetch ------------------------------------------------------------------------

  fetch(f: FetchGroupInput): FetchGroupResult {
    if (!this.owns(f.groupId)) return { groupId: f.groupId, topics: [], errorCode: E.NOT_COORDINATOR };
    const g = this.groups.get(f.groupId);
    const lookup = (topic: string, partition: number): FetchedPartition => {
      const o = g?.offsets.get(offsetKey(topic, partition));
      return o
        ? { partitionIndex: partition, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch, metadata: o.metadata, errorCode: 0 }
        : { partitionIndex: partition, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: 0 };
    };
    if (f.topics !== null) {
      const topics = f.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => lookup(t.name, p)) }));
      return { groupId: f.groupId, topics, errorCode: E.NONE };
    }
    const byTopic = new Map<string, FetchedPartition[]>();
    for (const o of g?.offsets.values() ?? []) {
      let list = byTopic.get(o.topic);
      if (!list) {
        list = [];
        byTopic.set(o.topic, list);
      }
      list.push(lookup(o.topic, o.partition));
    }
    return { groupId: f.groupId, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })), errorCode: E.NONE };
  }

  // ---- DescribeGroups / ListGroups ----------------------------------------------------------

  describe(groupId: string, includeAuthorizedOperations: boolean): Msg {
    const ops = includeAuthorizedOperations ? groupOperationsBits : -2147483648;
    if (!this.owns(groupId)) {
      return {
        errorCode: E.NOT_COORDINATOR,
        groupId,
        groupState: '',
        protocolType: '',
        protocolData: '',
        members: [],
        authorizedOperations: ops,
      };
    }
    const g = this.groups.get(groupId);
    if (!g || g.is('Dead')) {
      return { errorCode: E.NONE, groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [], authorizedOperations: ops };
    }
    const stable = g.is('Stable');
    return {
      errorCode: E.NONE,
      groupId,
      groupState: g.state,
      protocolType: g.protocolType ?? '',
      // Kafka reports the protocol (and member metadata) only once the group is Stable.
      protocolData: stable ? (g.protocolName ?? '') : '',
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: stable ? g.metadataFor(m, g.protocolName) : Buffer.alloc(0),
        memberAssignment: stable ? m.assignment : Buffer.alloc(0),
      })),
      authorizedOperations: ops,
    };
  }

  list(statesFilter: string[]): Msg[] {
    const wanted = new Set(statesFilter.map((s) => s.toLowerCase()));
    const out: Msg[] = [];
    for (const g of this.groups.values()) {
      if (g.is('Dead')) continue;
      if (wanted.size > 0 && !wanted.has(g.state.toLowerCase())) continue;
      out.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', groupState: g.state, groupType: 'classic' });
    }
    return out;
  }

  // ---- DeleteGroups / OffsetDelete ----------------------------------------------------------

  deleteGroups(token: Token, now: number, groupIds: string[]): void {
    const results = groupIds.map((groupId) => ({ groupId, errorCode: E.NONE as number }));
    let outstanding = 1;
    const done = (): void => {
      if (--outstanding === 0) this.respond(token, { results });
    };
    for (const r of results) {
      const g = this.groups.get(r.groupId);
      if (r.groupId === '') r.errorCode = E.INVALID_GROUP_ID;
      else if (!this.owns(r.groupId)) r.errorCode = E.NOT_COORDINATOR;
      else if (!g || g.is('Dead')) r.errorCode = E.GROUP_ID_NOT_FOUND;
      else if (!g.is('Empty')) r.errorCode = E.NON_EMPTY_GROUP;
      else {
        const records = this.killGroup(g, now);
        outstanding++;
        this.append(r.groupId, records, (ok) => {
          if (!ok) r.errorCode = E.COORDINATOR_NOT_AVAILABLE;
          done();
        });
      }
    }
    done();
  }

  /** Marks the group Dead, forgets it and returns the tombstones for its offsets and metadata. */
  private killGroup(g: Group, now: number): OffsetsRecord[] {
    const records: OffsetsRecord[] = [];
    for (const o of g.offsets.values()) records.push({ key: encodeOffsetCommitKey(g.groupId, o.topic, o.partition), value: null });
    records.push({ key: encodeGroupMetadataKey(g.groupId), value: null });
    g.offsets.clear();
    g.transitionTo('Dead', now);
    this.groups.delete(g.groupId);
    return records;
  }

  offsetDelete(token: Token, now: number, groupId: string, topics: { name: string; partitions: { partitionIndex: number }[] }[]): void {
    const errs = new Map<string, number>();
    const reply = (errorCode: number): void => {
      const shaped =
        errorCode !== E.NONE
          ? []
          : topics.map((t) => ({
              name: t.name,
              partitions: t.partitions.map((p) => ({
                partitionIndex: p.partitionIndex,
                errorCode: errs.get(offsetKey(t.name, p.partitionIndex)) ?? E.NONE,
              })),
            }));
      this.respond(token, { errorCode, topics: shaped });
    };
    if (groupId === '') {
      reply(E.INVALID_GROUP_ID);
      return;
    }
    if (!this.owns(groupId)) {
      reply(E.NOT_COORDINATOR);
      return;
    }
    const g = this.groups.get(groupId);
    if (!g || g.is('Dead')) {
      reply(E.GROUP_ID_NOT_FOUND);
      return;
    }
    const consumerLive = !g.is('Empty') && g.protocolType === 'consumer';
    if (!g.is('Empty') && !consumerLive) {
      reply(E.NON_EMPTY_GROUP);
      return;
    }
    const records: OffsetsRecord[] = [];
    for (const t of topics) {
      const subscribed = consumerLive && g.isSubscribedToTopic(t.name);
      for (const p of t.partitions) {
        const k = offsetKey(t.name, p.partitionIndex);
        if (subscribed) {
          errs.set(k, E.GROUP_SUBSCRIBED_TO_TOPIC);
          continue;
        }
        if (g.offsets.delete(k)) records.push({ key: encodeOffsetCommitKey(groupId, t.name, p.partitionIndex), value: null });
      }
    }
    if (records.length === 0) {
      reply(E.NONE);
      return;
    }
    this.append(groupId, records, (ok) => reply(ok ? E.NONE : E.COORDINATOR_NOT_AVAILABLE));
    void now;
  }

  // ---- time and retention -------------------------------------------------------------------

  tick(now: number): void {
    this.tickMembership(now);
    if (this.nextRetentionCheck !== null && this.nextRetentionCheck <= now) {
      this.expireOffsets(now);
      this.nextRetentionCheck = now + this.retentionCheckIntervalMs;
    }
  }

  /** Kafka's cleanupGroupMetadata: drop expired offsets; an Empty group left with none dies. */
  expireOffsets(now: number): void {
    const retentionMs = this.config.offsetsRetentionMs;
    for (const g of [...this.groups.values()]) {
      if (g.pendingOffsetCommits > 0) continue;
      let base: ((o: CommittedOffset) => number | null) | null = null;
      if (g.protocolType !== null && g.is('Empty')) {
        // Nobody consumes: retention counts from when the group became Empty (KIP-211).
        base = (o) => g.currentStateTimestamp ?? o.commitTimestamp;
      } else if (g.protocolType === 'consumer' && g.subscribedTopics !== null && g.is('Stable')) {
        const subscribed = g.subscribedTopics;
        base = (o) => (subscribed.has(o.topic) ? null : o.commitTimestamp);
      } else if (g.protocolType === null) {
        base = (o) => o.commitTimestamp; // simple (standalone) consumers
      }
      const records: OffsetsRecord[] = [];
      if (base !== null) {
        for (const [k, o] of g.offsets) {
          const from = base(o);
          if (from === null) continue;
          const expired = o.expireTimestamp >= 0 ? now >= o.expireTimestamp : now - from >= retentionMs;
          if (!expired) continue;
          g.offsets.delete(k);
          records.push({ key: encodeOffsetCommitKey(g.groupId, o.topic, o.partition), value: null });
        }
      }
      if (g.is('Empty') && g.offsets.size === 0) records.push(...this.killGroup(g, now));
      if (records.length > 0) this.append(g.groupId, records, () => {});
    }
  }

  // ---- loading ------------------------------------------------------------------------------

  /** Rebuilds the groups of one __consumer_offsets partition from its records, in offset order. */
  loadPartition(partition: number, records: Iterable<OffsetsRecord>, now: number): void {
    const offsets = new Map<string, Map<string, CommittedOffset>>();
    const metadata = new Map<string, GroupMetadataValue | null>();
    for (const r of records) {
      const k = decodeOffsetsKey(r.key);
      if (k.kind === 'offset') {
        let m = offsets.get(k.group);
        if (!m) {
          m = new Map();
          offsets.set(k.group, m);
        }
        const ok = offsetKey(k.topic, k.partition);
        if (r.value === null) m.delete(ok);
        else m.set(ok, { topic: k.topic, partition: k.partition, ...decodeOffsetCommitValue(r.value) });
      } else if (k.kind === 'group') {
        metadata.set(k.group, r.value === null ? null : decodeGroupMetadataValue(r.value));
      }
    }
    this.loadedPartitions.add(partition);
    for (const groupId of new Set([...offsets.keys(), ...metadata.keys()])) {
      if (this.partitionOf(groupId) !== partition) continue;
      const v = metadata.get(groupId) ?? null;
      const o = offsets.get(groupId);
      if (v === null && (!o || o.size === 0)) continue;
      const g = v ? this.groupFromRecord(groupId, v, now) : new Group(groupId, now);
      for (const [k, x] of o ?? []) g.offsets.set(k, x);
      this.groups.set(groupId, g);
    }
    if (this.nextRetentionCheck === null) this.nextRetentionCheck = now + this.retentionCheckIntervalMs;
  }

  private groupFromRecord(groupId: string, v: GroupMetadataValue, now: number): Group {
    const g = new Group(groupId, now);
    g.generationId = v.generation;
    g.protocolType = v.protocolType === '' ? null : v.protocolType;
    g.protocolName = v.protocol;
    g.currentStateTimestamp = v.currentStateTimestamp >= 0 ? v.currentStateTimestamp : null;
    for (const m of v.members) {
      g.add({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeout,
        sessionTimeoutMs: m.sessionTimeout,
        protocolType: v.protocolType,
        protocols: [{ name: v.protocol ?? '', metadata: m.subscription }],
        assignment: m.assignment,
        joinToken: null,
        joinSupportsSkip: false,
        syncToken: null,
        isNew: false,
        heartbeatDeadline: now + m.sessionTimeout,
      });
    }
    g.protocolType = v.protocolType === '' ? null : v.protocolType;
    g.leaderId = v.leader;
    const state: GroupState = g.members.size === 0 ? 'Empty' : 'Stable';
    g.state = state;
    g.subscribedTopics = g.computeSubscribedTopics();
    return g;
  }

  /** This broker lost the partition: parked requests learn NOT_COORDINATOR and the groups go. */
  unloadPartition(partition: number): void {
    this.loadedPartitions.delete(partition);
    for (const g of [...this.groups.values()]) {
      if (this.partitionOf(g.groupId) !== partition) continue;
      this.failParked(g, E.NOT_COORDINATOR);
      g.state = 'Dead';
      this.groups.delete(g.groupId);
    }
  }

  /** Answers every parked join/sync (shutdown or resignation). */
  failAllParked(errorCode: number): void {
    for (const g of this.groups.values()) this.failParked(g, errorCode);
  }

  private failParked(g: Group, errorCode: number): void {
    for (const m of g.members.values()) {
      if (m.joinToken !== null) this.respond(m.joinToken, { ...joinErr(m.memberId, errorCode) });
      if (m.syncToken !== null)
        this.respond(m.syncToken, { errorCode, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) });
      m.joinToken = null;
      m.syncToken = null;
    }
  }
}

function joinErr(memberId: string, errorCode: number): Msg {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, memberId, members: [] };
}
