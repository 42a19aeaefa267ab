import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupCoordinator, type OffsetsStore, partitionFor } from '../../../src/kafka/coordinator/groupCoordinator.js';
import { javaStringHashCode } from '../../../src/kafka/coordinator/partitionFor.js';
import {
  decodeOffsetCommitValue,
  decodeOffsetsKey,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
} from '../../../src/kafka/coordinator/offsetsRecords.js';

class MemoryStore implements OffsetsStore {
  readonly logs = new Map<number, { key: Buffer; value: Buffer | null }[]>();
  async append(partition: number, records: { key: Buffer; value: Buffer | null }[]): Promise<void> {
    const l = this.logs.get(partition) ?? [];
    l.push(...records);
    this.logs.set(partition, l);
  }
}

const config = {
  groupMinSessionTimeoutMs: 6000,
  groupMaxSessionTimeoutMs: 1_800_000,
  groupInitialRebalanceDelayMs: 0,
  groupMaxSize: 100,
  offsetsRetentionMs: 86_400_000,
  offsetsTopicPartitions: 50,
  offsetMetadataMaxBytes: 4096,
};

test('partitionFor matches Java String.hashCode', () => {
  // "hello".hashCode() == 99162322 in Java.
  assert.equal(javaStringHashCode('hello'), 99162322);
  assert.equal(partitionFor('hello', 50), 22);
  assert.equal(partitionFor('', 50), 0);
  // "polygenelubricants".hashCode() == Integer.MIN_VALUE: Utils.abs maps it to 0.
  assert.equal(partitionFor('polygenelubricants', 50), 0);
});

test('offset commit values round-trip in v1 and v3 as Kafka writes them', () => {
  const v3 = encodeOffsetCommitValue({ offset: 2 ** 40, leaderEpoch: 7, metadata: 'm', commitTimestamp: 123, expireTimestamp: -1 });
  assert.equal(v3.readInt16BE(0), 3);
  assert.deepEqual(decodeOffsetCommitValue(v3), {
    offset: 2 ** 40,
    leaderEpoch: 7,
    metadata: 'm',
    commitTimestamp: 123,
    expireTimestamp: -1,
  });
  const v1 = encodeOffsetCommitValue({ offset: 1, leaderEpoch: -1, metadata: '', commitTimestamp: 5, expireTimestamp: 9 });
  assert.equal(v1.readInt16BE(0), 1);
  assert.equal(decodeOffsetCommitValue(v1).expireTimestamp, 9);
  const k = encodeOffsetCommitKey('g', 't', 3);
  assert.deepEqual(k, Buffer.from([0, 1, 0, 1, 0x67, 0, 1, 0x74, 0, 0, 0, 3]));
  assert.deepEqual(decodeOffsetsKey(k), { kind: 'offset', group: 'g', topic: 't', partition: 3 });
});

test('shell: join v4 dance, sync, commit, fetch v8, NOT_COORDINATOR, reload from the store', async () => {
  const store = new MemoryStore();
  let now = 1000;
  const gc = new GroupCoordinator({ config, store, now: () => now, newMemberId: (p) => `${p}-id` });
  const client = { clientId: 'kafkajs', clientHost: '/127.0.0.1' };
  const join = {
    groupId: 'grp',
    sessionTimeoutMs: 30000,
    rebalanceTimeoutMs: 60000,
    memberId: '',
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'RoundRobinAssigner', metadata: Buffer.from([0, 0, 0, 0, 0, 0]) }],
  };
  assert.equal((await gc.joinGroup(join, 5, client)).errorCode, 16, 'not loaded yet');
  const p = partitionFor('grp', 50);
  gc.loadPartition(p, []);
  assert.equal(gc.ownsGroup('grp'), true);
  const first = await gc.joinGroup(join, 5, client);
  assert.equal(first.errorCode, 79);
  assert.equal(first.memberId, 'kafkajs-id');
  const r = await gc.joinGroup({ ...join, memberId: first.memberId }, 5, client);
  assert.equal(r.errorCode, 0);
  assert.equal(r.protocolName, 'RoundRobinAssigner');
  const s = await gc.syncGroup(
    {
      groupId: 'grp',
      generationId: r.generationId,
      memberId: r.memberId,
      assignments: [{ memberId: r.memberId, assignment: Buffer.from('A') }],
    },
    3,
  );
  assert.deepEqual(s.assignment, Buffer.from('A'));
  assert.equal((await gc.heartbeat({ groupId: 'grp', generationId: r.generationId, memberId: r.memberId }, 3)).errorCode, 0);
  const c = await gc.offsetCommit(
    {
      groupId: 'grp',
      generationIdOrMemberEpoch: r.generationId,
      memberId: r.memberId,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 99, committedLeaderEpoch: 0, committedMetadata: null }] }],
    },
    8,
  );
  assert.equal(c.topics[0].partitions[0].errorCode, 0);
  now += 5;
  const f = await gc.offsetFetch({ groups: [{ groupId: 'grp', topics: null }] }, 8);
  assert.equal(f.groups[0].topics[0].partitions[0].committedOffset, 99);
  const f1 = await gc.offsetFetch({ groupId: 'grp', topics: [{ name: 't', partitionIndexes: [0, 1] }] }, 1);
  assert.deepEqual(
    f1.topics[0].partitions.map((x: { committedOffset: number }) => x.committedOffset),
    [99, -1],
  );
  const lg = gc.listGroups({ statesFilter: ['Stable'] }, 4);
  assert.deepEqual(
    lg.groups.map((g: { groupId: string }) => g.groupId),
    ['grp'],
  );
  gc.close();

  const again = new GroupCoordinator({ config, store, now: () => now });
  again.loadPartition(p, store.logs.get(p) ?? []);
  const d = again.describeGroups({ groups: ['grp'] }, 5);
  assert.equal(d.groups[0].groupState, 'Stable');
  assert.equal(d.groups[0].members[0].clientId, 'kafkajs');
  const f2 = await again.offsetFetch({ groupId: 'grp', topics: [{ name: 't', partitionIndexes: [0] }] }, 7);
  assert.equal(f2.topics[0].partitions[0].committedOffset, 99);
  const leave = await again.leaveGroup({ groupId: 'grp', memberId: r.memberId }, 1);
  assert.equal(leave.errorCode, 0);
  const del = await again.deleteGroups({ groupsNames: ['grp'] }, 2);
  assert.equal(del.results[0].errorCode, 0);
  again.close();
});
