// The same request sequences sent to Apache Kafka 3.9 and to our broker over raw sockets (encoded
// with our declarations; hand-written bytes for malformed requests), both answers decoded,
// normalized (harness.ts) and compared field by field. A difference fails the step unless it is
// listed as deliberate here and in docs/KAFKA-COMPATIBILITY.md.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ApiKey } from '../../../src/kafka/protocol/apis.js';
import { ErrorCode } from '../../../src/kafka/protocol/errors.js';
import type { Msg } from '../../../src/kafka/protocol/schema.js';
import { buildBatch } from '../../../src/kafka/protocol/recordsBuild.js';
import { waitFor } from '../../helpers/wait.js';
import {
  type Allowed,
  consumerAssignment,
  consumerSubscription,
  decodeBody,
  diff,
  differences,
  Normalizer,
  type Pair,
  RawKafka,
  rawRequest,
  type Side,
  COMMON_PROPS,
  startPair,
} from './harness.js';

interface Conn {
  side: Side;
  c: RawKafka;
  norm: Normalizer;
}

let pair: Pair;
let conns: [Conn, Conn];
const extra: RawKafka[] = [];
/** One record timestamp base for both brokers, so stored batches are byte-identical. */
const T0 = Date.now() - 60_000;

before(async () => {
  pair = await startPair();
  const mk = async (side: Side): Promise<Conn> => ({
    side,
    c: await RawKafka.connect(side.port, side.name),
    norm: new Normalizer(side.brokerId),
  });
  conns = [await mk(pair.apache), await mk(pair.ours)];
});

after(async () => {
  for (const c of conns ?? []) c.c.close();
  for (const c of extra) c.close();
  await pair?.close();
});

type Body = Msg | ((side: Side, i: number) => Msg);

/** Sends one request to both brokers; returns the raw answers (apache, ours). */
async function both(apiKey: number, version: number, body: Body, on: RawKafka[] = conns.map((x) => x.c)): Promise<[Msg, Msg]> {
  const bodyFor = (i: number): Msg => (typeof body === 'function' ? body(conns[i]!.side, i) : body);
  const [a, o] = await Promise.all([on[0]!.send(apiKey, version, bodyFor(0)), on[1]!.send(apiKey, version, bodyFor(1))]);
  return [a, o];
}

/**
 * Collects a test's differences so that one run shows all of them, not only the first; `done()`
 * fails the test with the whole list.
 */
class Checker {
  readonly found: string[] = [];
  constructor(private readonly t: { diagnostic(s: string): void }) {}
  note = (s: string): void => this.t.diagnostic(s);
  add(list: string[]): void {
    this.found.push(...list);
  }
  done(): void {
    assert.deepEqual(this.found, [], `apache and ours differ:\n  ${this.found.join('\n  ')}`);
  }
}

/** Sends to both, compares normalized answers (differences go to the checker), returns the raw answers. */
async function step(
  ck: Checker,
  name: string,
  apiKey: number,
  version: number,
  body: Body,
  allowed: Allowed[] = [],
  on?: RawKafka[],
): Promise<[Msg, Msg]> {
  const [a, o] = await both(apiKey, version, body, on);
  ck.add(differences(name, conns[0].norm.norm(a), conns[1].norm.norm(o), allowed, ck.note));
  return [a, o];
}

/** Waits until both brokers list every topic with a leader for each partition. */
async function topicsReady(names: string[]): Promise<void> {
  for (const { c, side } of conns) {
    await waitFor(
      async () => {
        const m = await c.send(ApiKey.Metadata, 12, { topics: names.map((name) => ({ name })), allowAutoTopicCreation: false });
        return m['topics'].every(
          (t: Msg) => t['errorCode'] === 0 && t['partitions'].length > 0 && t['partitions'].every((p: Msg) => p['leaderId'] >= 0),
        );
      },
      { timeoutMs: 30_000, what: `${side.name}: topics ${names.join(',')} ready` },
    );
  }
}

/**
 * Every broker config, described by both: ours lists a subset of Apache's keys, each with Apache's
 * type and readOnly flag; where both take the value from the same place (both at Kafka's default,
 * or both from the settings the harness gives both) the value, source and synonyms agree too.
 */
async function compareBrokerConfigs(): Promise<string[]> {
  const [a, o] = await both(ApiKey.DescribeConfigs, 3, (side) => ({
    resources: [{ resourceType: 4, resourceName: String(side.brokerId), configurationKeys: null }],
    includeSynonyms: true,
    includeDocumentation: false,
  }));
  const byName = (m: Msg): Map<string, Msg> => new Map((m['results'][0]['configs'] as Msg[]).map((c) => [c['name'], c]));
  const apache = byName(a);
  const ours = byName(o);
  const out: string[] = [];
  const DEFAULT_CONFIG = 5;
  for (const [name, x] of ours) {
    const y = apache.get(name);
    if (y === undefined) {
      // Keys set only in our test cluster's file (none today) would be Apache-unknown originals.
      out.push(`DescribeConfigs v3 broker: ours lists ${name}, Apache does not`);
      continue;
    }
    const fields = ['configType', 'readOnly', 'isSensitive'];
    const sameSource = x['configSource'] === y['configSource'] && (x['configSource'] === DEFAULT_CONFIG || name in COMMON_PROPS);
    if (sameSource) fields.push('value', 'isDefault', 'synonyms');
    for (const f of fields) {
      for (const d of diff(y[f], x[f])) out.push(`DescribeConfigs v3 broker ${name}.${f}${d}`);
    }
  }
  if (ours.size < 50) out.push(`DescribeConfigs v3 broker: ours lists only ${ours.size} configs`);
  return out;
}

const batch = (n: number, extra: Partial<Parameters<typeof buildBatch>[0]> = {}, size = 8): Buffer =>
  buildBatch({
    records: Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(size), timestamp: T0 + i })),
    now: T0,
    ...extra,
  });

const produceBody = (topic: string, partition: number, records: Buffer, acks = 1): Msg => ({
  transactionalId: null,
  acks,
  timeoutMs: 10_000,
  topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
});

const fetchBody = (
  topic: string,
  partition: number,
  fetchOffset: number,
  o: { maxBytes?: number; partitionMaxBytes?: number } = {},
): Msg => ({
  replicaId: -1,
  maxWaitMs: 0,
  minBytes: 0,
  maxBytes: o.maxBytes ?? 1_048_576,
  isolationLevel: 0,
  sessionId: 0,
  sessionEpoch: -1,
  topics: [
    {
      topic,
      partitions: [
        { partition, currentLeaderEpoch: -1, fetchOffset, logStartOffset: -1, partitionMaxBytes: o.partitionMaxBytes ?? 1_048_576 },
      ],
    },
  ],
  forgottenTopicsData: [],
  rackId: '',
});

const listOffsetsBody = (topic: string, timestamp: number): Msg => ({
  replicaId: -1,
  isolationLevel: 0,
  topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }],
});

test('ApiVersions: advertised ranges lie inside Apache Kafka 3.9 ones; an unknown version gets a v0 UNSUPPORTED_VERSION', async (t) => {
  const [a, o] = await both(ApiKey.ApiVersions, 3, { clientSoftwareName: 'differential', clientSoftwareVersion: '1' });
  assert.equal(a['errorCode'], 0);
  assert.equal(o['errorCode'], 0);
  const apache = new Map<number, Msg>(a['apiKeys'].map((k: Msg) => [k['apiKey'], k]));
  for (const k of o['apiKeys'] as Msg[]) {
    const ak = apache.get(k['apiKey']);
    assert.ok(ak, `we advertise api ${k['apiKey']}, Apache Kafka 3.9 does not`);
    assert.ok(
      k['minVersion'] >= ak['minVersion'] && k['maxVersion'] <= ak['maxVersion'],
      `api ${k['apiKey']}: ours ${k['minVersion']}-${k['maxVersion']} vs ${ak['minVersion']}-${ak['maxVersion']}`,
    );
    if (k['maxVersion'] !== ak['maxVersion']) t.diagnostic(`api ${k['apiKey']}: ours max v${k['maxVersion']}, Apache v${ak['maxVersion']}`);
  }
  const ours = new Set(o['apiKeys'].map((k: Msg) => k['apiKey']));
  t.diagnostic(`not advertised by us: ${[...apache.keys()].filter((k) => !ours.has(k)).join(',')}`);

  // Version 99: request header v2 (ApiVersions is flexible from v3), a v3-shaped body.
  const body = Buffer.from([0x02, 0x61, 0x02, 0x31, 0x00]);
  const answers = await Promise.all(
    conns.map(({ c }) => c.sendRaw(rawRequest(ApiKey.ApiVersions, 99, 7, Buffer.concat([Buffer.from([0]), body]), true))),
  );
  const [ra, ro] = answers.map((x) => {
    assert.notEqual(x, 'closed');
    return decodeBody(ApiKey.ApiVersions, 0, x as Buffer);
  }) as [Msg, Msg];
  assert.equal(ra['errorCode'], ErrorCode.UNSUPPORTED_VERSION);
  assert.equal(ro['errorCode'], ErrorCode.UNSUPPORTED_VERSION);
  const own = (m: Msg): Msg => m['apiKeys'].find((k: Msg) => k['apiKey'] === ApiKey.ApiVersions);
  assert.ok(own(ro), 'the v0 answer lists ApiVersions itself');
  assert.equal(own(ro)['minVersion'], own(ra)['minVersion']);
});

test('Metadata: no topics, unknown topics with auto-create off', async (t) => {
  const ck = new Checker(t);
  await step(ck, 'Metadata v12 all', ApiKey.Metadata, 12, {
    topics: null,
    allowAutoTopicCreation: true,
    includeTopicAuthorizedOperations: false,
  });
  await step(ck, 'Metadata v12 unknown', ApiKey.Metadata, 12, { topics: [{ name: 'dt-nope' }], allowAutoTopicCreation: true });
  await step(ck, 'Metadata v1 unknown', ApiKey.Metadata, 1, { topics: [{ name: 'dt-nope' }] });
  await step(ck, 'Metadata v9 unknown', ApiKey.Metadata, 9, { topics: [{ name: 'dt-nope' }], allowAutoTopicCreation: false });
  ck.done();
});

test('CreateTopics: ok, exists, bad name, bad replication factor, validate only, bad config', async (t) => {
  const ck = new Checker(t);
  const topic = (name: string, numPartitions = 1, replicationFactor = 1, configs: Msg[] = []): Msg => ({
    name,
    numPartitions,
    replicationFactor,
    assignments: [],
    configs,
  });
  const create = (v: number, topics: Msg[], validateOnly = false) =>
    step(
      ck,
      `CreateTopics v${v} ${topics.map((x) => x['name']).join(',')}${validateOnly ? ' (validate only)' : ''}`,
      ApiKey.CreateTopics,
      v,
      {
        topics,
        timeoutMs: 10_000,
        validateOnly,
      },
    );
  await create(7, [topic('dt-a', 3), topic('dt-small', 1, 1, [{ name: 'max.message.bytes', value: '300' }])]);
  await create(4, [topic('dt-b')]);
  await create(7, [topic('dt-a', 3)]);
  await create(4, [topic('dt-b')]);
  await create(7, [topic('bad name!')]);
  await create(7, [topic('dt-rf', 1, 3)]);
  await create(7, [topic('dt-v', 2)], true);
  await create(7, [topic('dt-cfg', 1, 1, [{ name: 'cleanup.policy', value: 'nonsense' }])]);
  await create(7, [topic('dt-cfg2', 1, 1, [{ name: 'no.such.config', value: '1' }])]);
  await create(7, [topic('dt-parts', 0)]);
  await topicsReady(['dt-a', 'dt-b', 'dt-small']);
  await step(ck, 'Metadata after creates', ApiKey.Metadata, 12, {
    topics: ['dt-a', 'dt-b', 'dt-small', 'dt-v'].map((name) => ({ name })),
    allowAutoTopicCreation: false,
  });
  ck.done();
});

test('Produce: acks 1 and -1, unknown topic, wrong partition, corrupt CRC, too large', async (t) => {
  const ck = new Checker(t);
  await step(ck, 'Produce v9 acks=1', ApiKey.Produce, 9, produceBody('dt-a', 0, batch(3)));
  await step(ck, 'Produce v7 acks=-1', ApiKey.Produce, 7, produceBody('dt-a', 0, batch(2), -1));
  await step(ck, 'Produce v9 unknown topic', ApiKey.Produce, 9, produceBody('dt-none', 0, batch(1)));
  await step(ck, 'Produce v9 wrong partition', ApiKey.Produce, 9, produceBody('dt-a', 99, batch(1)));
  const corrupt = Buffer.from(batch(2));
  corrupt[corrupt.length - 1]! ^= 0xff;
  await step(ck, 'Produce v9 corrupt CRC', ApiKey.Produce, 9, produceBody('dt-a', 1, corrupt));
  await step(ck, 'Produce v9 too large', ApiKey.Produce, 9, produceBody('dt-small', 0, batch(1, {}, 1000)));
  await step(ck, 'Produce v3 acks=1 partition 1', ApiKey.Produce, 3, produceBody('dt-a', 1, batch(1)));
  ck.done();
});

test('Fetch: in range, out of range, at and beyond the log end, max bytes', async (t) => {
  const ck = new Checker(t);
  await step(ck, 'Fetch v11 from 0', ApiKey.Fetch, 11, fetchBody('dt-a', 0, 0));
  await step(ck, 'Fetch v11 from 3 (second batch)', ApiKey.Fetch, 11, fetchBody('dt-a', 0, 3));
  await step(ck, 'Fetch v11 from 1 (inside the first batch)', ApiKey.Fetch, 11, fetchBody('dt-a', 0, 1));
  await step(ck, 'Fetch v11 at the log end', ApiKey.Fetch, 11, fetchBody('dt-a', 0, 5));
  await step(ck, 'Fetch v11 beyond the log end', ApiKey.Fetch, 11, fetchBody('dt-a', 0, 6));
  await step(ck, 'Fetch v11 far out of range', ApiKey.Fetch, 11, fetchBody('dt-a', 0, 1000));
  await step(ck, 'Fetch v11 maxBytes=1', ApiKey.Fetch, 11, fetchBody('dt-a', 0, 0, { maxBytes: 1 }));
  await step(ck, 'Fetch v11 partitionMaxBytes=1', ApiKey.Fetch, 11, fetchBody('dt-a', 0, 0, { partitionMaxBytes: 1 }));
  await step(ck, 'Fetch v4 from 0', ApiKey.Fetch, 4, fetchBody('dt-a', 0, 0));
  await step(ck, 'Fetch v11 unknown topic', ApiKey.Fetch, 11, fetchBody('dt-none', 0, 0));
  ck.done();
});

test('ListOffsets: earliest, latest, by time, max timestamp', async (t) => {
  const ck = new Checker(t);
  for (const [what, ts] of [
    ['earliest', -2],
    ['latest', -1],
    ['by time T0+1', T0 + 1],
    ['by time T0', T0],
    ['by time after all', T0 + 1_000_000],
    ['max timestamp', -3],
  ] as const) {
    await step(ck, `ListOffsets v7 ${what}`, ApiKey.ListOffsets, 7, listOffsetsBody('dt-a', ts));
  }
  await step(ck, 'ListOffsets v1 latest', ApiKey.ListOffsets, 1, listOffsetsBody('dt-a', -1));
  await step(ck, 'ListOffsets v7 unknown topic', ApiKey.ListOffsets, 7, listOffsetsBody('dt-none', -1));
  ck.done();
});

test('Groups: member id required, generations, unknown member, rebalance, offsets, describe/list/delete', async (t) => {
  const ck = new Checker(t);
  const group = 'dt-group';
  for (const { c, side } of conns) {
    await waitFor(async () => (await c.send(ApiKey.FindCoordinator, 3, { key: group, keyType: 0 }))['errorCode'] === 0, {
      timeoutMs: 30_000,
      what: `${side.name}: group coordinator`,
    });
  }
  await step(ck, 'FindCoordinator v3', ApiKey.FindCoordinator, 3, { key: group, keyType: 0 });
  const protocols = [{ name: 'range', metadata: consumerSubscription(['dt-a']) }];
  const join =
    (memberId: (i: number) => string, meta = protocols): Body =>
    (_s, i) => ({
      groupId: group,
      sessionTimeoutMs: 30_000,
      rebalanceTimeoutMs: 30_000,
      memberId: memberId(i),
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: meta,
    });
  const [ja, jo] = await step(
    ck,
    'JoinGroup v5 without member id',
    ApiKey.JoinGroup,
    5,
    join(() => ''),
  );
  assert.equal(ja['errorCode'], ErrorCode.MEMBER_ID_REQUIRED);
  const m1 = [ja['memberId'] as string, jo['memberId'] as string];
  await step(
    ck,
    'JoinGroup v5 with member id',
    ApiKey.JoinGroup,
    5,
    join((i) => m1[i]!),
  );
  const sync = (memberId: string[], generationId: number, assignments: (i: number) => Msg[], on?: RawKafka[]) =>
    step(
      ck,
      `SyncGroup v3 generation ${generationId}`,
      ApiKey.SyncGroup,
      3,
      (_s, i) => ({ groupId: group, generationId, memberId: memberId[i]!, groupInstanceId: null, assignments: assignments(i) }),
      [],
      on,
    );
  await sync(m1, 1, (i) => [{ memberId: m1[i]!, assignment: consumerAssignment({ 'dt-a': [0, 1, 2] }) }]);
  const hb = (name: string, generationId: number, memberId: (i: number) => string) =>
    step(ck, `Heartbeat v3 ${name}`, ApiKey.Heartbeat, 3, (_s, i) => ({
      groupId: group,
      generationId,
      memberId: memberId(i),
      groupInstanceId: null,
    }));
  await hb('ok', 1, (i) => m1[i]!);
  await hb('wrong generation', 7, (i) => m1[i]!);
  await hb('unknown member', 1, () => 'no-such-member');
  await step(ck, 'OffsetCommit v7', ApiKey.OffsetCommit, 7, (_s, i) => ({
    groupId: group,
    generationIdOrMemberEpoch: 1,
    memberId: m1[i]!,
    groupInstanceId: null,
    topics: [{ name: 'dt-a', partitions: [{ partitionIndex: 0, committedOffset: 4, committedLeaderEpoch: -1, committedMetadata: 'md' }] }],
  }));
  await step(ck, 'OffsetCommit v7 wrong generation', ApiKey.OffsetCommit, 7, (_s, i) => ({
    groupId: group,
    generationIdOrMemberEpoch: 9,
    memberId: m1[i]!,
    groupInstanceId: null,
    topics: [{ name: 'dt-a', partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: null }] }],
  }));
  await step(ck, 'OffsetFetch v7', ApiKey.OffsetFetch, 7, {
    groupId: group,
    topics: [{ name: 'dt-a', partitionIndexes: [0, 1] }],
    requireStable: false,
  });
  await step(ck, 'OffsetFetch v7 all topics', ApiKey.OffsetFetch, 7, { groupId: group, topics: null, requireStable: false });
  await step(ck, 'DescribeGroups v4 stable', ApiKey.DescribeGroups, 4, {
    groups: [group, 'dt-nogroup'],
    includeAuthorizedOperations: false,
  });

  // A second member on its own connections: its JoinGroup parks until member 1 rejoins.
  const second = await Promise.all(conns.map(({ side }) => RawKafka.connect(side.port, `${side.name} (second member)`)));
  extra.push(...second);
  const [j2a, j2o] = await step(
    ck,
    'JoinGroup v5 second member without id',
    ApiKey.JoinGroup,
    5,
    join(() => ''),
    [],
    second,
  );
  const m2 = [j2a['memberId'] as string, j2o['memberId'] as string];
  const parked = both(
    ApiKey.JoinGroup,
    5,
    join((i) => m2[i]!),
    second,
  );
  // The join above starts a rebalance; member 1 learns of it from its heartbeat.
  for (const [i, { c, side }] of conns.entries()) {
    const seen: number[] = [];
    await waitFor(
      async () => {
        const e = (await c.send(ApiKey.Heartbeat, 3, { groupId: group, generationId: 1, memberId: m1[i]!, groupInstanceId: null }))[
          'errorCode'
        ];
        if (seen.at(-1) !== e) seen.push(e);
        return e === ErrorCode.REBALANCE_IN_PROGRESS;
      },
      {
        timeoutMs: 10_000,
        what: () => `${side.name}: heartbeat REBALANCE_IN_PROGRESS (codes seen: ${seen.join(' -> ')}; earlier: ${ck.found.join('; ')})`,
      },
    );
  }
  const [r1, [r2a, r2o]] = await Promise.all([
    step(
      ck,
      'JoinGroup v5 member 1 rejoins',
      ApiKey.JoinGroup,
      5,
      join((i) => m1[i]!),
    ),
    parked,
  ]);
  ck.add(differences('JoinGroup v5 member 2 (parked)', conns[0].norm.norm(r2a), conns[1].norm.norm(r2o), [], ck.note));
  assert.equal(r1[0]['generationId'], 2);
  const both2 = (i: number) => [
    { memberId: m1[i]!, assignment: consumerAssignment({ 'dt-a': [0, 1] }) },
    { memberId: m2[i]!, assignment: consumerAssignment({ 'dt-a': [2] }) },
  ];
  await Promise.all([sync(m1, 2, both2), sync(m2, 2, () => [], second)]);
  await step(ck, 'DescribeGroups v4 two members', ApiKey.DescribeGroups, 4, { groups: [group], includeAuthorizedOperations: false }, [
    // Member order inside a group is a hash-map order in Apache Kafka; ids normalize by first appearance.
    { path: /^groups\[0\]\.members\[\d\]\.memberId$/, why: 'member order' },
  ]);
  await step(ck, 'ListGroups v4', ApiKey.ListGroups, 4, { statesFilter: [] });
  await step(ck, 'ListGroups v4 Stable', ApiKey.ListGroups, 4, { statesFilter: ['Stable'] });
  await step(ck, 'ListGroups v4 Empty', ApiKey.ListGroups, 4, { statesFilter: ['Empty'] });
  await step(ck, 'DeleteGroups v2 non-empty', ApiKey.DeleteGroups, 2, { groupsNames: [group] });
  await step(ck, 'LeaveGroup v3 both members', ApiKey.LeaveGroup, 3, (_s, i) => ({
    groupId: group,
    members: [
      { memberId: m1[i]!, groupInstanceId: null },
      { memberId: m2[i]!, groupInstanceId: null },
    ],
  }));
  await step(ck, 'DescribeGroups v4 empty', ApiKey.DescribeGroups, 4, { groups: [group], includeAuthorizedOperations: false });
  await step(ck, 'OffsetCommit v2 standalone', ApiKey.OffsetCommit, 2, {
    groupId: 'dt-simple',
    generationIdOrMemberEpoch: -1,
    memberId: '',
    retentionTimeMs: -1,
    topics: [{ name: 'dt-b', partitions: [{ partitionIndex: 0, committedOffset: 0, committedMetadata: '' }] }],
  });
  // An unknown topic, and an unknown partition of a known one, next to a known partition: only
  // the known partition is committed.
  const mixed = (committedOffset: number): Msg => ({
    groupId: 'dt-mixed',
    generationIdOrMemberEpoch: -1,
    memberId: '',
    retentionTimeMs: -1,
    groupInstanceId: null,
    topics: [
      { name: 'dt-none', partitions: [{ partitionIndex: 0, committedOffset, committedLeaderEpoch: -1, committedMetadata: '' }] },
      {
        name: 'dt-b',
        partitions: [
          { partitionIndex: 99, committedOffset, committedLeaderEpoch: -1, committedMetadata: '' },
          { partitionIndex: 0, committedOffset, committedLeaderEpoch: -1, committedMetadata: '' },
        ],
      },
    ],
  });
  await step(ck, 'OffsetCommit v2 unknown and known topic', ApiKey.OffsetCommit, 2, mixed(1));
  await step(ck, 'OffsetCommit v8 unknown and known topic', ApiKey.OffsetCommit, 8, mixed(2));
  await step(ck, 'OffsetFetch v7 after the mixed commits', ApiKey.OffsetFetch, 7, {
    groupId: 'dt-mixed',
    topics: null,
    requireStable: false,
  });
  await step(ck, 'DeleteGroups v2', ApiKey.DeleteGroups, 2, { groupsNames: [group, 'dt-simple', 'dt-never'] });
  await step(ck, 'DeleteGroups v2 the mixed group', ApiKey.DeleteGroups, 2, { groupsNames: ['dt-mixed'] });
  await step(ck, 'OffsetFetch v7 deleted group', ApiKey.OffsetFetch, 7, { groupId: group, topics: null, requireStable: false });
  ck.done();
});

test('Idempotent produce: duplicate batch, out-of-order sequence, stale epoch', async (t) => {
  const ck = new Checker(t);
  // Apache Kafka answers COORDINATOR_LOAD_IN_PROGRESS until its first producer id block is fetched from ZooKeeper.
  for (const { c, side } of conns) {
    await waitFor(
      async () => (await c.send(ApiKey.InitProducerId, 2, { transactionalId: null, transactionTimeoutMs: 60_000 }))['errorCode'] === 0,
      {
        timeoutMs: 30_000,
        what: `${side.name}: InitProducerId`,
      },
    );
  }
  const [pa, po] = await step(ck, 'InitProducerId v2', ApiKey.InitProducerId, 2, { transactionalId: null, transactionTimeoutMs: 60_000 });
  const pid = [pa['producerId'] as number, po['producerId'] as number];
  const idem =
    (producerEpoch: number, baseSequence: number, n = 2): Body =>
    (_s, i) =>
      produceBody('dt-b', 0, batch(n, { producerId: pid[i]!, producerEpoch, baseSequence }), -1);
  await step(ck, 'Produce v9 seq 0', ApiKey.Produce, 9, idem(0, 0));
  await step(ck, 'Produce v9 seq 2', ApiKey.Produce, 9, idem(0, 2));
  await step(ck, 'Produce v9 duplicate of seq 2', ApiKey.Produce, 9, idem(0, 2));
  await step(ck, 'Produce v9 out of order (seq 9)', ApiKey.Produce, 9, idem(0, 9));
  await step(ck, 'Produce v9 epoch 1 seq 0', ApiKey.Produce, 9, idem(1, 0));
  await step(ck, 'Produce v9 stale epoch 0', ApiKey.Produce, 9, idem(0, 4));
  await step(ck, 'Fetch v11 dt-b', ApiKey.Fetch, 11, fetchBody('dt-b', 0, 0));
  ck.done();
});

test('DeleteRecords, DescribeConfigs, DeleteTopics', async (t) => {
  const ck = new Checker(t);
  const del = (offset: number, partitionIndex = 0): Msg => ({
    topics: [{ name: 'dt-a', partitions: [{ partitionIndex, offset }] }],
    timeoutMs: 10_000,
  });
  await step(ck, 'DeleteRecords v1 to 2', ApiKey.DeleteRecords, 1, del(2));
  await step(ck, 'DeleteRecords v1 beyond the high watermark', ApiKey.DeleteRecords, 1, del(50));
  await step(ck, 'DeleteRecords v1 wrong partition', ApiKey.DeleteRecords, 1, del(0, 99));
  await step(ck, 'ListOffsets v7 earliest after DeleteRecords', ApiKey.ListOffsets, 7, listOffsetsBody('dt-a', -2));
  await step(ck, 'Fetch v11 below the log start', ApiKey.Fetch, 11, fetchBody('dt-a', 0, 0));

  const topicKeys = ['cleanup.policy', 'retention.ms', 'segment.bytes', 'max.message.bytes', 'min.insync.replicas'];
  await step(
    ck,
    'DescribeConfigs v1 topic',
    ApiKey.DescribeConfigs,
    1,
    {
      resources: [{ resourceType: 2, resourceName: 'dt-small', configurationKeys: topicKeys }],
      includeSynonyms: true,
    },
    [{ path: /^results\[0\]\.configs\.retention\.ms\.synonyms\.log\.retention\.ms$/, why: 'we list a default synonym Kafka leaves out' }],
  );
  await step(ck, 'DescribeConfigs v3 topic', ApiKey.DescribeConfigs, 3, {
    resources: [{ resourceType: 2, resourceName: 'dt-a', configurationKeys: topicKeys }],
    includeSynonyms: false,
    includeDocumentation: true,
  });
  await step(ck, 'DescribeConfigs v1 unknown topic', ApiKey.DescribeConfigs, 1, {
    resources: [{ resourceType: 2, resourceName: 'dt-none', configurationKeys: null }],
    includeSynonyms: false,
  });
  // Keys both brokers have in server.properties, by name.
  await step(ck, 'DescribeConfigs v1 broker', ApiKey.DescribeConfigs, 1, (side) => ({
    resources: [{ resourceType: 4, resourceName: String(side.brokerId), configurationKeys: Object.keys(COMMON_PROPS) }],
    includeSynonyms: false,
  }));
  ck.add(await compareBrokerConfigs());

  await step(ck, 'DeleteTopics v5', ApiKey.DeleteTopics, 5, { topicNames: ['dt-a', 'dt-none'], timeoutMs: 10_000 });
  for (const { c, side } of conns) {
    await waitFor(async () => (await c.send(ApiKey.Metadata, 12, { topics: [{ name: 'dt-a' }] }))['topics'][0]['errorCode'] === 3, {
      timeoutMs: 30_000,
      what: `${side.name}: dt-a gone`,
    });
  }
  await step(ck, 'Metadata v12 after delete', ApiKey.Metadata, 12, {
    topics: [{ name: 'dt-a' }, { name: 'dt-b' }],
    allowAutoTopicCreation: false,
  });
  ck.done();
});

test('Malformed requests: unknown api key, truncated body', async () => {
  for (const [what, frame] of [
    ['unknown api key', rawRequest(999, 0, 5, Buffer.alloc(0))],
    ['truncated Metadata v1', rawRequest(ApiKey.Metadata, 1, 6, Buffer.from([0x00, 0x00, 0x00, 0x02, 0x00]))],
  ] as const) {
    const answers = await Promise.all(
      conns.map(async ({ side }) => {
        const c = await RawKafka.connect(side.port);
        extra.push(c);
        const r = await c.sendRaw(frame);
        return r === 'closed' ? 'closed' : `answered ${r.toString('hex')}`;
      }),
    );
    assert.deepEqual(answers, [answers[0], answers[0]], `${what}: apache ${answers[0]}, ours ${answers[1]}`);
  }
});
