import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupCoordinatorCore } from '../../../src/kafka/coordinator/core.js';
import type { JoinInput } from '../../../src/kafka/coordinator/membership.js';
import type { OffsetsRecord } from '../../../src/kafka/coordinator/membership.js';
import type { Msg } from '../../../src/kafka/protocol/schema.js';

const config = {
  groupMinSessionTimeoutMs: 6000,
  groupMaxSessionTimeoutMs: 1_800_000,
  groupInitialRebalanceDelayMs: 3000,
  groupMaxSize: 3,
  offsetsRetentionMs: 7 * 24 * 3600_000,
  offsetsTopicPartitions: 4,
  offsetMetadataMaxBytes: 4096,
};

/** A core with every partition loaded, a fake clock, a log of appended records and auto-acked appends. */
function harness(over: Partial<typeof config> = {}) {
  let n = 0;
  const core = new GroupCoordinatorCore({ ...config, ...over }, (prefix) => `${prefix}-${++n}`);
  const h = {
    core,
    now: 1_000_000,
    log: [] as { partition: number; rec: OffsetsRecord }[],
    responses: new Map<number, Msg>(),
    token: 0,
    autoAck: true,
    held: [] as number[],
    pump(): void {
      for (;;) {
        const out = core.takeOutput();
        for (const r of out.responses) {
          assert.ok(!h.responses.has(r.token), `token ${r.token} answered twice`);
          h.responses.set(r.token, r.body);
        }
        if (out.appends.length === 0) return;
        for (const a of out.appends) {
          for (const rec of a.records) h.log.push({ partition: a.partition, rec });
          if (h.autoAck) core.appendDone(a.id, true, h.now);
          else h.held.push(a.id);
        }
      }
    },
    join(j: Partial<JoinInput> & { memberId?: string }): number {
      const t = ++h.token;
      core.join(t, h.now, {
        groupId: 'g',
        memberId: '',
        groupInstanceId: null,
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 30_000,
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: subscription(['t']) }],
        clientId: 'c',
        clientHost: '/127.0.0.1',
        requireKnownMemberId: true,
        supportSkipAssignment: false,
        ...j,
      });
      h.pump();
      return t;
    },
    sync(memberId: string, generationId: number, assignments: { memberId: string; assignment: Buffer }[] = []): number {
      const t = ++h.token;
      core.sync(t, h.now, {
        groupId: 'g',
        generationId,
        memberId,
        groupInstanceId: null,
        protocolType: null,
        protocolName: null,
        assignments,
      });
      h.pump();
      return t;
    },
    advance(ms: number): void {
      h.now += ms;
      core.tick(h.now);
      h.pump();
    },
    res(t: number): Msg {
      const r = h.responses.get(t);
      assert.ok(r, `no response for token ${t}`);
      return r;
    },
  };
  for (let p = 0; p < config.offsetsTopicPartitions; p++) core.loadPartition(p, [], h.now);
  return h;
}

/** A ConsumerProtocolSubscription v0: version, topics, user data. */
function subscription(topics: string[]): Buffer {
  const parts = [Buffer.from([0, 0]), int32(topics.length)];
  for (const t of topics) parts.push(int16(Buffer.byteLength(t)), Buffer.from(t));
  parts.push(int32(-1));
  return Buffer.concat(parts);
}
const int32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};
const int16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(v);
  return b;
};

/** Runs the MEMBER_ID_REQUIRED handshake and returns the parked join's token and the member id. */
function joinNew(h: ReturnType<typeof harness>, extra: Partial<JoinInput> = {}): { token: number; memberId: string } {
  const first = h.res(h.join(extra));
  assert.equal(first.errorCode, 79);
  assert.notEqual(first.memberId, '');
  return { token: h.join({ ...extra, memberId: first.memberId }), memberId: first.memberId };
}

/** Forms a Stable group of n members; returns the member ids (leader first) and the generation. */
function stableGroup(h: ReturnType<typeof harness>, n: number): { ids: string[]; generation: number } {
  const joins = [];
  for (let i = 0; i < n; i++) joins.push(joinNew(h, { clientId: `c${i}` }));
  // The initial delay (3 s) is extended once when others join after the first.
  for (let i = 0; i < 3 && !h.responses.has(joins[0]?.token as number); i++) h.advance(3000);
  const results = joins.map((j) => h.res(j.token));
  const generation = results[0]?.generationId;
  for (const r of results) assert.equal(r.errorCode, 0);
  const leader = results.find((r) => r.leader === r.memberId);
  assert.ok(leader);
  assert.equal(leader.members.length, n);
  const followers = results.filter((r) => r !== leader).map((r) => h.sync(r.memberId, generation));
  for (const t of followers) assert.equal(h.responses.has(t), false, 'follower sync parks until the leader syncs');
  const lt = h.sync(
    leader.memberId,
    generation,
    results.map((r) => ({ memberId: r.memberId, assignment: Buffer.from(`a-${r.memberId}`) })),
  );
  assert.equal(h.res(lt).errorCode, 0);
  for (const t of followers) assert.equal(h.res(t).errorCode, 0);
  assert.equal(h.core.groups.get('g')?.state, 'Stable');
  return { ids: [leader.memberId, ...results.filter((r) => r !== leader).map((r) => r.memberId)], generation };
}

test('one member: MEMBER_ID_REQUIRED, initial delay, leader with itself, sync gets its assignment', () => {
  const h = harness();
  const { token, memberId } = joinNew(h);
  assert.equal(h.responses.has(token), false, 'join parks during the initial rebalance delay');
  assert.equal(h.core.nextDeadline(), h.now + 3000);
  h.advance(3000);
  const r = h.res(token);
  assert.equal(r.errorCode, 0);
  assert.equal(r.generationId, 1);
  assert.equal(r.leader, memberId);
  assert.equal(r.protocolName, 'range');
  assert.deepEqual(
    r.members.map((m: Msg) => m.memberId),
    [memberId],
  );
  const s = h.sync(memberId, 1, [{ memberId, assignment: Buffer.from('A') }]);
  assert.deepEqual(h.res(s).assignment, Buffer.from('A'));
  assert.ok(h.log.length >= 1, 'the sync wrote group metadata');
});

test('two and three members join during the delay and share a generation', () => {
  for (const n of [2, 3]) {
    const h = harness();
    const { ids, generation } = stableGroup(h, n);
    assert.equal(ids.length, n);
    assert.equal(generation, 1);
  }
});

test('the initial delay is extended by new joins, bounded by the rebalance timeout', () => {
  const h = harness();
  const a = joinNew(h, { rebalanceTimeoutMs: 7000 });
  h.advance(2000);
  const b = joinNew(h, { clientId: 'b' });
  h.advance(1000); // first delay ends; b joined meanwhile -> wait min(3000, 4000) more
  assert.equal(h.responses.has(a.token), false);
  h.advance(3000);
  assert.equal(h.res(a.token).generationId, 1);
  assert.equal(h.res(b.token).generationId, 1);
});

test('a member joining a Stable group triggers a rebalance; everyone gets the new generation', () => {
  const h = harness();
  const { ids, generation } = stableGroup(h, 2);
  const c = joinNew(h, { clientId: 'new' });
  assert.equal(h.core.groups.get('g')?.state, 'PreparingRebalance');
  for (const id of ids) assert.equal(h.core.heartbeat(h.now, 'g', id, null, generation), 27);
  const rejoins = ids.map((id) => h.join({ memberId: id }));
  const all = [...rejoins, c.token].map((t) => h.res(t));
  for (const r of all) assert.equal(r.generationId, generation + 1);
  assert.equal(all.filter((r) => r.members.length === 3).length, 1, 'only the leader sees the members');
});

test('session expiry removes a member and rebalances the rest', () => {
  const h = harness();
  const { ids, generation } = stableGroup(h, 2);
  const [keep, lose] = ids as [string, string];
  for (let i = 0; i < 2; i++) {
    h.advance(4000);
    assert.equal(h.core.heartbeat(h.now, 'g', keep, null, generation), 0);
  }
  h.advance(4000); // `lose` last heard from 12 s ago, its session is 10 s
  assert.equal(h.core.heartbeat(h.now, 'g', keep, null, generation), 27);
  const g = h.core.groups.get('g');
  assert.equal(g?.has(lose), false);
  assert.equal(g?.state, 'PreparingRebalance');
  assert.equal(h.core.heartbeat(h.now, 'g', lose, null, generation), 25);
  const r = h.res(h.join({ memberId: keep }));
  assert.equal(r.generationId, generation + 1);
  assert.deepEqual(
    r.members.map((m: Msg) => m.memberId),
    [keep],
  );
});

test('illegal generation and unknown member on heartbeat, sync and commit', () => {
  const h = harness();
  const { ids, generation } = stableGroup(h, 1);
  const id = ids[0] as string;
  assert.equal(h.core.heartbeat(h.now, 'g', id, null, generation + 5), 22);
  assert.equal(h.core.heartbeat(h.now, 'g', 'nobody', null, generation), 25);
  assert.equal(h.res(h.sync(id, generation - 1)).errorCode, 22);
  const t = ++h.token;
  h.core.commit(t, h.now, {
    groupId: 'g',
    generationId: generation + 1,
    memberId: id,
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [
      {
        name: 't',
        partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }],
      },
    ],
  });
  h.pump();
  assert.equal(h.res(t).topics[0].partitions[0].errorCode, 22);
  assert.equal(h.res(h.join({ memberId: 'ghost' })).errorCode, 25);
});

test('leave: the group rebalances without the leaver, and the last leave empties it', () => {
  const h = harness();
  const { ids, generation } = stableGroup(h, 2);
  const [a, b] = ids as [string, string];
  const r = h.core.leave(h.now, 'g', [{ memberId: b, groupInstanceId: null }]);
  h.pump();
  assert.deepEqual(
    r.members.map((m) => m.errorCode),
    [0],
  );
  assert.equal(h.core.groups.get('g')?.state, 'PreparingRebalance');
  assert.equal(h.res(h.join({ memberId: a })).generationId, generation + 1);
  h.core.leave(h.now, 'g', [{ memberId: a, groupInstanceId: null }]);
  h.pump();
  const g = h.core.groups.get('g');
  assert.equal(g?.state, 'Empty');
  assert.equal(g?.generationId, generation + 2);
  assert.equal(h.core.leave(h.now, 'g', [{ memberId: a, groupInstanceId: null }]).members[0]?.errorCode, 25);
});

test('static member rejoin with unchanged metadata: no rebalance, old id fenced', () => {
  const h = harness();
  const j = h.join({ groupInstanceId: 'i1' });
  assert.equal(h.responses.has(j), false, 'static members skip MEMBER_ID_REQUIRED');
  const j2 = h.join({ groupInstanceId: 'i2', clientId: 'x' });
  h.advance(3000);
  h.advance(3000); // extended once: i2 joined during the initial delay
  const r1 = h.res(j);
  const r2 = h.res(j2);
  const leaderId = r1.leader;
  h.sync(r2.memberId, r2.generationId);
  h.sync(r1.memberId, r1.generationId, [
    { memberId: r1.memberId, assignment: Buffer.from('x1') },
    { memberId: r2.memberId, assignment: Buffer.from('x2') },
  ]);
  assert.equal(h.core.groups.get('g')?.state, 'Stable');
  // The follower restarts: joins with an empty member id and the same instance id.
  const follower = r1.memberId === leaderId ? r2 : r1;
  const instance = follower === r1 ? 'i1' : 'i2';
  const again = h.res(h.join({ groupInstanceId: instance }));
  assert.equal(again.errorCode, 0);
  assert.equal(again.generationId, r1.generationId, 'same generation: no rebalance');
  assert.notEqual(again.memberId, follower.memberId);
  assert.equal(h.core.groups.get('g')?.state, 'Stable');
  assert.equal(h.core.heartbeat(h.now, 'g', follower.memberId, instance, r1.generationId), 82);
  const s = h.sync(again.memberId, again.generationId);
  assert.deepEqual(h.res(s).assignment, Buffer.from(follower === r1 ? 'x1' : 'x2'), 'assignment carried over');
});

test('leader rejoin in Stable forces a rebalance; a follower parked in sync is told REBALANCE_IN_PROGRESS', () => {
  const h = harness();
  const a = joinNew(h);
  const b = joinNew(h, { clientId: 'b' });
  h.advance(3000);
  h.advance(3000);
  const ra = h.res(a.token);
  const rb = h.res(b.token);
  const [leader, follower] = ra.leader === ra.memberId ? [ra, rb] : [rb, ra];
  const parked = h.sync(follower.memberId, follower.generationId);
  h.res(h.sync(leader.memberId, leader.generationId, []));
  assert.equal(h.res(parked).errorCode, 0);
  const lj = h.join({ memberId: leader.memberId });
  assert.equal(h.core.groups.get('g')?.state, 'PreparingRebalance');
  const fj = h.join({ memberId: follower.memberId });
  assert.equal(h.res(lj).generationId, 2);
  assert.equal(h.res(fj).generationId, 2);
  const parked2 = h.sync(follower.memberId, 2);
  h.join({ memberId: leader.memberId, protocols: [{ name: 'range', metadata: subscription(['t', 'u']) }] });
  assert.equal(h.res(parked2).errorCode, 27);
});

test('inconsistent protocol, invalid session timeout and max group size', () => {
  const h = harness();
  const { ids } = stableGroup(h, 2);
  assert.equal(h.res(h.join({ protocols: [{ name: 'other', metadata: Buffer.alloc(0) }] })).errorCode, 23);
  assert.equal(h.res(h.join({ sessionTimeoutMs: 10 })).errorCode, 26);
  const third = joinNew(h); // the third of groupMaxSize 3 is welcome
  for (const id of ids) h.join({ memberId: id });
  assert.equal(h.res(third.token).errorCode, 0);
  assert.equal(h.res(h.join({})).errorCode, 81);
});

test('commits and fetches; simple commits on an absent group; unknown partitions fetch -1', () => {
  const h = harness();
  const commit = (generationId: number, memberId: string, offset: number, metadata: string | null = 'm'): Msg => {
    const t = ++h.token;
    h.core.commit(t, h.now, {
      groupId: 'g',
      generationId,
      memberId,
      groupInstanceId: null,
      retentionTimeMs: -1,
      topics: [
        {
          name: 't',
          partitions: [
            { partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: 3, commitTimestamp: -1, committedMetadata: metadata },
          ],
        },
      ],
    });
    h.pump();
    return h.res(t).topics[0].partitions[0];
  };
  assert.equal(commit(-1, '', 10).errorCode, 0, 'simple commit creates the group');
  let f = h.core.fetch({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0, 1] }] });
  assert.deepEqual(
    f.topics[0]?.partitions.map((p) => [p.committedOffset, p.committedLeaderEpoch, p.metadata]),
    [
      [10, 3, 'm'],
      [-1, -1, ''],
    ],
  );
  assert.equal(commit(-1, '', 11, 'x'.repeat(5000)).errorCode, 12);
  const { ids, generation } = stableGroup(h, 1);
  assert.equal(commit(-1, '', 12).errorCode, 25, 'no simple commits into a live group');
  assert.equal(commit(generation, ids[0] as string, 13).errorCode, 0);
  f = h.core.fetch({ groupId: 'g', topics: null });
  assert.equal(f.topics[0]?.partitions[0]?.committedOffset, 13);
  assert.deepEqual(h.core.fetch({ groupId: 'nope', topics: null }).topics, []);
});

test('a commit is applied only once durable', () => {
  const h = harness();
  h.autoAck = false;
  const t = ++h.token;
  h.core.commit(t, h.now, {
    groupId: 'g',
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [
      {
        name: 't',
        partitions: [{ partitionIndex: 0, committedOffset: 7, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }],
      },
    ],
  });
  h.pump();
  assert.equal(h.responses.has(t), false);
  assert.equal(
    h.core.fetch({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0] }] }).topics[0]?.partitions[0]?.committedOffset,
    -1,
  );
  h.core.appendDone(h.held[0] as number, true, h.now);
  h.pump();
  assert.equal(h.res(t).topics[0].partitions[0].errorCode, 0);
  assert.equal(h.core.fetch({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0] }] }).topics[0]?.partitions[0]?.committedOffset, 7);
});

test('loading the records restores offsets and group metadata', () => {
  const h = harness();
  const { ids, generation } = stableGroup(h, 2);
  const t = ++h.token;
  h.core.commit(t, h.now, {
    groupId: 'g',
    generationId: generation,
    memberId: ids[0] as string,
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [
      {
        name: 't',
        partitions: [{ partitionIndex: 2, committedOffset: 42, committedLeaderEpoch: 1, commitTimestamp: -1, committedMetadata: 'meta' }],
      },
    ],
  });
  h.pump();
  const fresh = harness();
  const p = h.core.partitionOf('g');
  fresh.core.unloadPartition(p);
  assert.equal(fresh.core.owns('g'), false);
  fresh.core.loadPartition(
    p,
    h.log.filter((x) => x.partition === p).map((x) => x.rec),
    fresh.now,
  );
  const g = fresh.core.groups.get('g');
  assert.equal(g?.state, 'Stable');
  assert.equal(g?.generationId, generation);
  assert.equal(g?.protocolName, 'range');
  assert.deepEqual([...(g?.members.keys() ?? [])].sort(), [...ids].sort());
  assert.equal(g?.leaderId, ids[0]);
  assert.deepEqual(g?.members.get(ids[1] as string)?.assignment, Buffer.from(`a-${ids[1]}`));
  const f = fresh.core.fetch({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [2] }] });
  assert.deepEqual(f.topics[0]?.partitions[0], {
    partitionIndex: 2,
    committedOffset: 42,
    committedLeaderEpoch: 1,
    metadata: 'meta',
    errorCode: 0,
  });
  assert.equal(fresh.core.heartbeat(fresh.now, 'g', ids[0] as string, null, generation), 0);
});

test('offsets expire retention after the group became Empty, then the group dies', () => {
  const h = harness({ offsetsRetentionMs: 60_000, offsetsRetentionCheckIntervalMs: 10_000 } as Partial<typeof config>);
  const { ids, generation } = stableGroup(h, 1);
  const t = ++h.token;
  h.core.commit(t, h.now, {
    groupId: 'g',
    generationId: generation,
    memberId: ids[0] as string,
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [
      {
        name: 't',
        partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }],
      },
    ],
  });
  h.pump();
  h.core.leave(h.now, 'g', [{ memberId: ids[0] as string, groupInstanceId: null }]);
  h.pump();
  assert.equal(h.core.groups.get('g')?.state, 'Empty');
  h.advance(50_000);
  assert.equal(h.core.groups.get('g')?.offsets.size, 1, 'not yet expired');
  h.advance(20_000);
  assert.equal(h.core.groups.has('g'), false);
  const tombstones = h.log.filter((x) => x.rec.value === null);
  assert.equal(tombstones.length, 2, 'offset and group metadata tombstones');
});

test('describe, list with a state filter, delete and offset delete', () => {
  const h = harness();
  const { ids } = stableGroup(h, 1);
  const d = h.core.describe('g', true);
  assert.equal(d.groupState, 'Stable');
  assert.equal(d.protocolData, 'range');
  assert.equal(d.members[0].memberId, ids[0]);
  assert.equal(h.core.describe('nope', false).groupState, 'Dead');
  assert.deepEqual(
    h.core.list(['stable']).map((g) => g.groupId),
    ['g'],
  );
  assert.deepEqual(h.core.list(['Empty']), []);
  let t = ++h.token;
  h.core.offsetDelete(t, h.now, 'g', [{ name: 't', partitions: [{ partitionIndex: 0 }] }]);
  h.pump();
  assert.equal(h.res(t).topics[0].partitions[0].errorCode, 86);
  t = ++h.token;
  h.core.deleteGroups(t, h.now, ['g', 'nope']);
  h.pump();
  assert.deepEqual(
    h.res(t).results.map((r: Msg) => r.errorCode),
    [68, 69],
  );
  h.core.leave(h.now, 'g', [{ memberId: ids[0] as string, groupInstanceId: null }]);
  h.pump();
  t = ++h.token;
  h.core.deleteGroups(t, h.now, ['g']);
  h.pump();
  assert.deepEqual(
    h.res(t).results.map((r: Msg) => r.errorCode),
    [0],
  );
  assert.equal(h.core.groups.has('g'), false);
});
