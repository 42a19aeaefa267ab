// The __consumer_offsets record formats, byte-for-byte as Apache Kafka writes them, so that an
// Apache broker could load our log and we could load its. Every key and value starts with an
// int16 schema version; the key version says which record it is (0/1 offset commit, 2 group
// metadata; higher versions belong to the KIP-848 coordinator and are skipped here).
// A null value is a tombstone: the offset or the group is deleted.

import { KafkaReader, KafkaWriter, ProtocolError } from '../protocol/buffers.js';
import { arrayOf, Message, type MessageDecl, type Msg, struct } from '../protocol/schema.js';

const OffsetCommitKeyDecl: MessageDecl = {
  name: 'OffsetCommitKey',
  apiKey: -1,
  type: 'request',
  validVersions: '0-1',
  flexibleVersions: 'none',
  fields: [
    { name: 'group', type: 'string' },
    { name: 'topic', type: 'string' },
    { name: 'partition', type: 'int32' },
  ],
};

const GroupMetadataKeyDecl: MessageDecl = {
  name: 'GroupMetadataKey',
  apiKey: -1,
  type: 'request',
  validVersions: '2',
  flexibleVersions: 'none',
  fields: [{ name: 'group', type: 'string' }],
};

const OffsetCommitValueDecl: MessageDecl = {
  name: 'OffsetCommitValue',
  apiKey: -1,
  type: 'request',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    { name: 'offset', type: 'int64' },
    { name: 'leaderEpoch', type: 'int32', versions: '3+', default: -1 },
    { name: 'metadata', type: 'string' },
    { name: 'commitTimestamp', type: 'int64' },
    { name: 'expireTimestamp', type: 'int64', versions: '1', default: -1 },
  ],
};

const GroupMetadataValueDecl: MessageDecl = {
  name: 'GroupMetadataValue',
  apiKey: -1,
  type: 'request',
  validVersions: '0-3',
  flexibleVersions: 'none',
  fields: [
    { name: 'protocolType', type: 'string' },
    { name: 'generation', type: 'int32' },
    { name: 'protocol', type: 'string', nullable: '0+' },
    { name: 'leader', type: 'string', nullable: '0+' },
    { name: 'currentStateTimestamp', type: 'int64', versions: '2+', default: -1 },
    {
      name: 'members',
      type: arrayOf(
        struct([
          { name: 'memberId', type: 'string' },
          { name: 'groupInstanceId', type: 'string', versions: '3+', nullable: '3+', default: null },
          { name: 'clientId', type: 'string' },
          { name: 'clientHost', type: 'string' },
          { name: 'rebalanceTimeout', type: 'int32', versions: '1+' },
          { name: 'sessionTimeout', type: 'int32' },
          { name: 'subscription', type: 'bytes' },
          { name: 'assignment', type: 'bytes' },
        ]),
      ),
    },
  ],
};

const offsetCommitKey = new Message(OffsetCommitKeyDecl);
const groupMetadataKey = new Message(GroupMetadataKeyDecl);
const offsetCommitValue = new Message(OffsetCommitValueDecl);
const groupMetadataValue = new Message(GroupMetadataValueDecl);

/** The versions Kafka 2.3+ (ZooKeeper mode, IBP >= 2.3) writes. */
export const OFFSET_COMMIT_KEY_VERSION = 1;
export const GROUP_METADATA_KEY_VERSION = 2;
export const OFFSET_COMMIT_VALUE_VERSION = 3;
export const GROUP_METADATA_VALUE_VERSION = 3;

export interface OffsetCommitValue {
  offset: number;
  leaderEpoch: number; // -1 when unknown
  metadata: string;
  commitTimestamp: number;
  expireTimestamp: number; // -1 unless written by a v1 record (pre-KIP-211 clients)
}

export interface GroupMemberRecord {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeout: number;
  sessionTimeout: number;
  subscription: Buffer;
  assignment: Buffer;
}

export interface GroupMetadataValue {
  protocolType: string;
  generation: number;
  protocol: string | null;
  leader: string | null;
  currentStateTimestamp: number; // -1 when absent
  members: GroupMemberRecord[];
}

export type OffsetsKey =
  | { kind: 'offset'; group: string; topic: string; partition: number }
  | { kind: 'group'; group: string }
  | { kind: 'other'; version: number };

/**
 * Encodes with the version prefix. The writer is sized up front so it never grows: KafkaWriter
 * (buffers.ts) corrupts a value written at the moment its scratch buffer is replaced.
 */
function prefixed(m: Message, version: number, v: Msg, sizeBound: number): Buffer {
  const w = new KafkaWriter(sizeBound);
  w.int16(version);
  m.encode(w, version, v);
  return w.toBuffer();
}

export function encodeOffsetCommitKey(group: string, topic: string, partition: number): Buffer {
  return prefixed(offsetCommitKey, OFFSET_COMMIT_KEY_VERSION, { group, topic, partition }, 16 + utf8(group) + utf8(topic));
}

export function encodeGroupMetadataKey(group: string): Buffer {
  return prefixed(groupMetadataKey, GROUP_METADATA_KEY_VERSION, { group }, 8 + utf8(group));
}

/** Kafka writes v1 only when an explicit expire timestamp exists (OffsetCommit v2-4 retentionTimeMs), else v3. */
export function encodeOffsetCommitValue(v: OffsetCommitValue): Buffer {
  return prefixed(offsetCommitValue, v.expireTimestamp >= 0 ? 1 : OFFSET_COMMIT_VALUE_VERSION, v, 48 + utf8(v.metadata));
}

export function encodeGroupMetadataValue(v: GroupMetadataValue): Buffer {
  let bound = 64 + utf8(v.protocolType) + utf8(v.protocol ?? '') + utf8(v.leader ?? '');
  for (const m of v.members) {
    bound += 48 + utf8(m.memberId) + utf8(m.groupInstanceId ?? '') + utf8(m.clientId) + utf8(m.clientHost);
    bound += m.subscription.length + m.assignment.length;
  }
  return prefixed(groupMetadataValue, GROUP_METADATA_VALUE_VERSION, v, bound);
}

const utf8 = (s: string): number => Buffer.byteLength(s);

export function decodeOffsetsKey(buf: Buffer): OffsetsKey {
  const r = new KafkaReader(buf);
  const version = r.int16();
  if (version === 0 || version === 1) {
    const k = offsetCommitKey.decode(r, version);
    return { kind: 'offset', group: k.group, topic: k.topic, partition: k.partition };
  }
  if (version === 2) return { kind: 'group', group: groupMetadataKey.decode(r, version).group };
  return { kind: 'other', version };
}

export function decodeOffsetCommitValue(buf: Buffer): OffsetCommitValue {
  const r = new KafkaReader(buf);
  const version = r.int16();
  if (version < 0 || version > 4) throw new ProtocolError(`unknown OffsetCommitValue version ${version}`);
  const v = offsetCommitValue.decode(r, version);
  return {
    offset: v.offset,
    leaderEpoch: v.leaderEpoch,
    metadata: v.metadata ?? '',
    commitTimestamp: v.commitTimestamp,
    expireTimestamp: v.expireTimestamp,
  };
}

export function decodeGroupMetadataValue(buf: Buffer): GroupMetadataValue {
  const r = new KafkaReader(buf);
  const version = r.int16();
  if (version < 0 || version > 3) throw new ProtocolError(`unknown GroupMetadataValue version ${version}`);
  const v = groupMetadataValue.decode(r, version);
  return {
    protocolType: v.protocolType,
    generation: v.generation,
    protocol: v.protocol,
    leader: v.leader,
    currentStateTimestamp: v.currentStateTimestamp,
    members: (v.members as Msg[]).map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId ?? null,
      clientId: m.clientId,
      clientHost: m.clientHost,
      // v0 records lack it; Kafka then uses the session timeout.
      rebalanceTimeout: version >= 1 ? m.rebalanceTimeout : m.sessionTimeout,
      sessionTimeout: m.sessionTimeout,
      // Copy: the source buffer may be a reused segment read.
      subscription: Buffer.from(m.subscription),
      assignment: Buffer.from(m.assignment),
    })),
  };
}
