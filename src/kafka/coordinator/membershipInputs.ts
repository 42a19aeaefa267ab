// What MembershipCore takes and answers: the coordinator's configuration, the JoinGroup and
// SyncGroup inputs, the output it drains to its shell, and the pure helpers that build responses
// and group metadata records from a Group.

import type { Msg } from '../protocol/schema.js';
import { ErrorCode as E, type Token } from './errors.js';
import type { Group, Protocol } from './group.js';
import { encodeGroupMetadataKey, encodeGroupMetadataValue } from './offsetsRecords.js';

export interface GroupCoordinatorConfig {
  groupMinSessionTimeoutMs: number;
  groupMaxSessionTimeoutMs: number;
  groupInitialRebalanceDelayMs: number;
  groupMaxSize: number;
  offsetsRetentionMs: number;
  offsetsTopicPartitions: number;
  offsetMetadataMaxBytes: number;
  /** How often expired offsets are purged (offsets.retention.check.interval.ms, default 600000). */
  offsetsRetentionCheckIntervalMs?: number;
}

/** Kafka's GroupCoordinator.NewMemberJoinTimeoutMs: a new member that never completes a join is dropped. */
export const newMemberJoinTimeoutMs = 5 * 60 * 1000;
/** Ids handed out by MEMBER_ID_REQUIRED and not yet used, per group (Kafka has no bound; we do). */
export const pendingMembersPerGroupMax = 10_000;

export interface OffsetsRecord {
  key: Buffer;
  value: Buffer | null;
}

export interface AppendRequest {
  id: number;
  partition: number;
  records: OffsetsRecord[];
}

export interface CoreOutput {
  responses: { token: Token; body: Msg }[];
  appends: AppendRequest[];
}

export interface JoinInput {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
  clientId: string;
  clientHost: string;
  /** JoinGroup v4+: a join without a member id first gets one with MEMBER_ID_REQUIRED. */
  requireKnownMemberId: boolean;
  /** JoinGroup v9+: a rejoining static leader of a Stable group is told to skip assignment. */
  supportSkipAssignment: boolean;
}

export interface SyncInput {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string | null;
  protocolName: string | null;
  assignments: { memberId: string; assignment: Buffer }[];
}

export interface MemberRef {
  memberId: string;
  groupInstanceId: string | null;
}

export const EMPTY = Buffer.alloc(0);

export function joinError(memberId: string, errorCode: number): Msg {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    skipAssignment: false,
    memberId,
    members: [],
  };
}

export function syncResult(g: Group, errorCode: number, assignment: Buffer): Msg {
  return { errorCode, protocolType: g.protocolType, protocolName: g.protocolName, assignment };
}

export function sameOrUnset(given: string | null, actual: string | null): boolean {
  return given === null || given === actual;
}

export function matches(a: Protocol[], b: Protocol[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Protocol;
    const y = b[i] as Protocol;
    if (x.name !== y.name || !x.metadata.equals(y.metadata)) return false;
  }
  return true;
}

/** A successful JoinGroup response for `memberId`; the leader also gets the members. */
export function joinResult(g: Group, memberId: string, withMembers: boolean, skipAssignment: boolean): Msg {
  return {
    errorCode: E.NONE,
    generationId: g.generationId,
    protocolType: g.protocolType,
    protocolName: g.protocolName,
    leader: g.leaderId ?? '',
    skipAssignment,
    memberId,
    members: withMembers
      ? [...g.members.values()].map((x) => ({
          memberId: x.memberId,
          groupInstanceId: x.groupInstanceId,
          metadata: g.metadataFor(x, g.protocolName),
        }))
      : [],
  };
}

/** The group's metadata record for __consumer_offsets. */
export function groupRecord(g: Group, now: number, assignments?: Map<string, Buffer>): { key: Buffer; value: Buffer } {
  return {
    key: encodeGroupMetadataKey(g.groupId),
    value: encodeGroupMetadataValue({
      protocolType: g.protocolType ?? '',
      generation: g.generationId,
      protocol: g.protocolName,
      leader: g.members.size > 0 ? g.leaderId : null,
      currentStateTimestamp: g.currentStateTimestamp ?? now,
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeout: m.rebalanceTimeoutMs,
        sessionTimeout: m.sessionTimeoutMs,
        subscription: g.metadataFor(m, g.protocolName),
        assignment: assignments?.get(m.memberId) ?? m.assignment,
      })),
    }),
  };
}
