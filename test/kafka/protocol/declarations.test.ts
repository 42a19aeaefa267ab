// Every API declaration compiles for every version it declares and round-trips sample values;
// the registry and the error table hold together.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiKey, allApis, apiDef } from '../../../src/kafka/protocol/apis.js';
import { KafkaReader, KafkaWriter } from '../../../src/kafka/protocol/buffers.js';
import { ErrorCode, errorName, isRetriable, KafkaError } from '../../../src/kafka/protocol/errors.js';
import type { FieldDecl, Message } from '../../../src/kafka/protocol/schema.js';
import { assertFields, decode, encode, reencode, Seq, sample, taggedStructDefaultBug, versionsOf } from './declHelpers.js';
test('KafkaWriter keeps the bytes it wrote when its scratch buffer grows', () => {
  const w = new KafkaWriter(1);
  w.int8(1);
  w.int16(0x0203);
  w.compactString('abcdef');
  w.uuid('AQIDBAUGBwgJCgsMDQ4PEA');
  assert.deepEqual(
    w.toBuffer(),
    Buffer.concat([Buffer.from([1, 2, 3, 7]), Buffer.from('abcdef'), Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex')]),
  );
});

test('the registry holds every API the broker declares, keyed as Kafka keys them', () => {
  const expected: Record<string, number> = {
    Produce: 0,
    Fetch: 1,
    ListOffsets: 2,
    Metadata: 3,
    LeaderAndIsr: 4,
    StopReplica: 5,
    UpdateMetadata: 6,
    ControlledShutdown: 7,
    OffsetCommit: 8,
    OffsetFetch: 9,
    FindCoordinator: 10,
    JoinGroup: 11,
    Heartbeat: 12,
    LeaveGroup: 13,
    SyncGroup: 14,
    DescribeGroups: 15,
    ListGroups: 16,
    SaslHandshake: 17,
    ApiVersions: 18,
    CreateTopics: 19,
    DeleteTopics: 20,
    DeleteRecords: 21,
    InitProducerId: 22,
    OffsetForLeaderEpoch: 23,
    DescribeConfigs: 32,
    AlterConfigs: 33,
    DescribeLogDirs: 35,
    SaslAuthenticate: 36,
    CreatePartitions: 37,
    DeleteGroups: 42,
    ElectLeaders: 43,
    IncrementalAlterConfigs: 44,
    AlterPartitionReassignments: 45,
    ListPartitionReassignments: 46,
    OffsetDelete: 47,
    AlterPartition: 56,
    DescribeCluster: 60,
    DescribeProducers: 61,
  };
  assert.deepEqual({ ...ApiKey }, expected);
  for (const [name, key] of Object.entries(expected)) {
    const d = apiDef(key);
    assert.ok(d, `apiDef(${key})`);
    assert.equal(d.name, name);
    assert.equal(d.key, key);
    assert.equal(d.request.decl.apiKey, key);
    assert.equal(d.response.decl.apiKey, key);
    assert.equal(d.request.decl.type, 'request');
    assert.equal(d.response.decl.type, 'response');
    assert.equal(d.request.decl.flexibleVersions, d.response.decl.flexibleVersions, `${name} flexible versions`);
    assert.equal(apiDef(key), d, 'built once');
  }
  assert.equal(allApis().length, Object.keys(expected).length);
  assert.equal(apiDef(9999), undefined);
  assert.equal(apiDef(24), undefined); // AddPartitionsToTxn: not declared
});

test('version ranges match Apache Kafka 3.9', () => {
  const ranges: Record<string, [number, number, number | null]> = {
    // name: [min, max, first flexible version or null]
    Produce: [0, 11, 9],
    Fetch: [0, 17, 12],
    ListOffsets: [0, 9, 6],
    Metadata: [0, 12, 9],
    LeaderAndIsr: [0, 7, 4],
    StopReplica: [0, 4, 2],
    UpdateMetadata: [0, 8, 6],
    ControlledShutdown: [0, 3, 3],
    OffsetCommit: [0, 9, 8],
    OffsetFetch: [0, 9, 6],
    FindCoordinator: [0, 6, 3],
    JoinGroup: [0, 9, 6],
    Heartbeat: [0, 4, 4],
    LeaveGroup: [0, 5, 4],
    SyncGroup: [0, 5, 4],
    DescribeGroups: [0, 5, 5],
    ListGroups: [0, 5, 3],
    SaslHandshake: [0, 1, null],
    ApiVersions: [0, 4, 3],
    CreateTopics: [0, 7, 5],
    DeleteTopics: [0, 6, 4],
    DeleteRecords: [0, 2, 2],
    InitProducerId: [0, 5, 2],
    OffsetForLeaderEpoch: [0, 4, 4],
    DescribeConfigs: [0, 4, 4],
    AlterConfigs: [0, 2, 2],
    DescribeLogDirs: [0, 4, 2],
    SaslAuthenticate: [0, 2, 2],
    CreatePartitions: [0, 3, 2],
    DeleteGroups: [0, 2, 2],
    ElectLeaders: [0, 2, 2],
    IncrementalAlterConfigs: [0, 1, 1],
    AlterPartitionReassignments: [0, 0, 0],
    ListPartitionReassignments: [0, 0, 0],
    OffsetDelete: [0, 0, null],
    AlterPartition: [0, 3, 0],
    DescribeCluster: [0, 1, 0],
    DescribeProducers: [0, 0, 0],
  };
  for (const d of allApis()) {
    const r = ranges[d.name];
    assert.ok(r, d.name);
    assert.equal(d.request.valid.min, r[0], `${d.name} min`);
    assert.equal(d.request.valid.max, r[1], `${d.name} max`);
    assert.equal(d.response.valid.max, r[1], `${d.name} response max`);
    if (r[2] === null) assert.equal(d.request.isFlexible(r[1]), false, `${d.name} never flexible`);
    else {
      assert.equal(d.request.isFlexible(r[2]), true, `${d.name} flexible from ${r[2]}`);
      if (r[2] > 0) assert.equal(d.request.isFlexible(r[2] - 1), false, `${d.name} classic below ${r[2]}`);
    }
  }
});

function roundTrip(m: Message, version: number, sparse: boolean): void {
  const flexible = m.isFlexible(version);
  const value = sample(m.decl.fields, version, flexible, new Seq(), sparse);
  const label = `${m.decl.name} v${version}${sparse ? ' (sparse)' : ''}`;
  const bytes = encode(m, version, value);
  const back = decode(m, version, bytes);
  assertFields(m.decl.fields, version, flexible, value, back, label);
  // Decoding and encoding again gives the very same bytes.
  assert.deepEqual(encode(m, version, back), bytes, `${label} re-encodes identically`);
}

for (const d of allApis()) {
  test(`${d.name}: every version round-trips full and sparse samples`, () => {
    for (const m of [d.request, d.response]) {
      const versions = versionsOf(m);
      assert.ok(versions.length > 0);
      for (const v of versions) {
        roundTrip(m, v, false);
        roundTrip(m, v, true);
      }
    }
  });
}

test('an empty value encodes as the defaults and decodes back to them', () => {
  for (const d of allApis()) {
    for (const m of [d.request, d.response]) {
      for (const v of versionsOf(m)) {
        const back = decode(m, v, encode(m, v, {}));
        assert.deepEqual(reencode(m, v, back), encode(m, v, {}), `${m.decl.name} v${v}`);
      }
    }
  }
});

test('a decoded tagged struct equal to its default is not written again (Kafka omits it)', () => {
  const fetch = apiDef(ApiKey.Fetch);
  assert.ok(fetch);
  assert.equal(taggedStructDefaultBug(fetch.request, 15), false);
});

test('declared defaults are the ones Kafka declares', () => {
  const meta = apiDef(ApiKey.Metadata);
  assert.ok(meta);
  assert.equal(decode(meta.request, 3, encode(meta.request, 3, { topics: [] })).allowAutoTopicCreation, true);
  const fetch = apiDef(ApiKey.Fetch);
  assert.ok(fetch);
  const f0 = decode(fetch.request, 0, encode(fetch.request, 0, { replicaId: -1, topics: [] }));
  assert.equal(f0.maxBytes, 0x7fffffff);
  assert.equal(f0.sessionEpoch, -1);
  assert.equal(f0.isolationLevel, 0);
  const join = apiDef(ApiKey.JoinGroup);
  assert.ok(join);
  const j0 = decode(join.request, 0, encode(join.request, 0, { groupId: 'g', memberId: '', protocolType: 'consumer' }));
  assert.equal(j0.groupInstanceId, null);
  assert.equal(j0.rebalanceTimeoutMs, -1);
  const lo = apiDef(ApiKey.ListOffsets);
  assert.ok(lo);
  const res = decode(lo.response, 0, encode(lo.response, 0, { topics: [{ name: 't', partitions: [{}] }] }));
  assert.equal(res.topics[0].partitions[0].offset, -1);
  assert.equal(res.topics[0].partitions[0].timestamp, -1);
});

test('flexible messages skip tagged fields they do not know', () => {
  const meta = apiDef(ApiKey.Metadata);
  assert.ok(meta);
  const body = encode(meta.request, 12, { topics: null, allowAutoTopicCreation: false });
  // Replace the empty top-level tag buffer (last byte 0) with one unknown tag 9 of 3 bytes.
  assert.equal(body[body.length - 1], 0);
  const withTag = Buffer.concat([body.subarray(0, body.length - 1), Buffer.from([1, 9, 3, 0xaa, 0xbb, 0xcc])]);
  const v = decode(meta.request, 12, withTag);
  assert.equal(v.topics, null);
  assert.equal(v.allowAutoTopicCreation, false);
});

test('a known tagged field is written only when it differs from its default', () => {
  const fetch = apiDef(ApiKey.Fetch);
  assert.ok(fetch);
  const base = { replicaId: -1, topics: [], forgottenTopicsData: [], rackId: '' };
  const plain = encode(fetch.request, 12, base);
  const tagged = encode(fetch.request, 12, { ...base, clusterId: 'abc' });
  // tag 0, length 4 (compact string: length+1, then 'abc')
  assert.deepEqual(tagged.subarray(tagged.length - 7), Buffer.from([1, 0, 4, 4, 0x61, 0x62, 0x63]));
  assert.equal(plain[plain.length - 1], 0);
  assert.equal(decode(fetch.request, 12, tagged).clusterId, 'abc');
  assert.equal(decode(fetch.request, 12, plain).clusterId, null);
});

test('every declared field name starts lowercase and is unique within its struct', () => {
  const check = (fields: readonly FieldDecl[], where: string): void => {
    const seen = new Set<string>();
    const tags = new Set<number>();
    for (const f of fields) {
      assert.match(f.name, /^[a-z][A-Za-z0-9]*$/, `${where}.${f.name}`);
      assert.ok(!seen.has(f.name), `${where}.${f.name} duplicated`);
      seen.add(f.name);
      if (f.tag !== undefined) {
        assert.ok(!tags.has(f.tag), `${where} tag ${f.tag} duplicated`);
        tags.add(f.tag);
      }
      const t = f.type;
      if (typeof t === 'object') {
        const s = 'array' in t ? t.array : t;
        if (typeof s === 'object') check(s.struct, `${where}.${f.name}`);
      }
    }
  };
  for (const d of allApis()) {
    check(d.request.decl.fields, d.request.decl.name);
    check(d.response.decl.fields, d.response.decl.name);
  }
});

test('error codes: names, retriability and KafkaError', () => {
  assert.equal(ErrorCode.NONE, 0);
  assert.equal(ErrorCode.UNKNOWN_SERVER_ERROR, -1);
  assert.equal(ErrorCode.OFFSET_OUT_OF_RANGE, 1);
  assert.equal(ErrorCode.NOT_LEADER_OR_FOLLOWER, 6);
  assert.equal(ErrorCode.NOT_COORDINATOR, 16);
  assert.equal(ErrorCode.REBALANCE_IN_PROGRESS, 27);
  assert.equal(ErrorCode.UNSUPPORTED_VERSION, 35);
  assert.equal(ErrorCode.TOPIC_ALREADY_EXISTS, 36);
  assert.equal(ErrorCode.MEMBER_ID_REQUIRED, 79);
  assert.equal(ErrorCode.UNKNOWN_TOPIC_ID, 100);
  assert.equal(ErrorCode.TRANSACTION_ABORTABLE, 120);
  // Codes are dense from -1 to the last one, with no duplicates.
  const codes = Object.values(ErrorCode).sort((a, b) => a - b);
  assert.deepEqual(
    codes,
    codes.map((_, i) => i - 1),
  );
  assert.equal(errorName(3), 'UNKNOWN_TOPIC_OR_PARTITION');
  assert.equal(errorName(-1), 'UNKNOWN_SERVER_ERROR');
  assert.equal(errorName(5000), 'UNKNOWN_ERROR_CODE_5000');
  for (const c of [2, 3, 5, 6, 7, 13, 14, 15, 16, 19, 20, 41, 51, 56, 74, 75, 78, 100]) {
    assert.equal(isRetriable(c), true, `${errorName(c)} retriable`);
  }
  for (const c of [-1, 0, 1, 10, 22, 25, 27, 35, 36, 47, 79, 82, 90]) {
    assert.equal(isRetriable(c), false, `${errorName(c)} not retriable`);
  }
  const e = new KafkaError(ErrorCode.NOT_COORDINATOR);
  assert.ok(e instanceof Error);
  assert.equal(e.code, 16);
  assert.equal(e.message, 'NOT_COORDINATOR');
  assert.equal(e.retriable, true);
  assert.equal(new KafkaError(ErrorCode.INVALID_REQUEST, 'bad').message, 'bad');
});

test('a truncated body is a protocol error, not a partial value', () => {
  const meta = apiDef(ApiKey.Metadata);
  assert.ok(meta);
  const bytes = encode(meta.request, 1, { topics: ['alpha', 'beta'] });
  assert.throws(() => meta.request.decode(new KafkaReader(bytes.subarray(0, bytes.length - 2)), 1), /truncated/);
  const w = new KafkaWriter();
  w.int32(1000000); // an array count no body could hold
  assert.throws(() => meta.request.decode(new KafkaReader(w.toBuffer()), 1), /exceeds/);
});
