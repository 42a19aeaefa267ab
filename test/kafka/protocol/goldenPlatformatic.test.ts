// Golden bytes from @platformatic/kafka 1.35 (flexible encodings): requests built by its
// createRequest functions decode with our declarations and re-encode to the same bytes; responses
// we encode parse with its parseResponse functions to the values we wrote.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiKey, apiDef } from '../../../src/kafka/protocol/apis.js';
import type { Msg } from '../../../src/kafka/protocol/schema.js';
import { decode, encode, reencode } from './declHelpers.js';

// biome-ignore lint/suspicious/noExplicitAny: the client is loaded without its types
type Any = any;
const pkgName = '@platformatic/kafka';
const pk: Any = await import(pkgName);

const TOPIC_ID = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
const TOPIC_ID_B64 = TOPIC_ID.toString('base64url');
const TOPIC_ID_STR = '01234567-89ab-cdef-0123-456789abcdef';

/** Decodes the client's request bytes with our declaration; they must re-encode identically. */
function ourRequest(key: number, version: number, writer: Any): Msg {
  const bytes = Buffer.from(writer.buffer);
  const def = apiDef(key);
  assert.ok(def);
  assert.ok(def.request.isFlexible(version), `${def.name} v${version} is flexible`);
  const v = decode(def.request, version, bytes);
  assert.deepEqual(reencode(def.request, version, v), bytes, `${def.name} v${version} re-encodes identically`);
  return v;
}

/** Encodes a response with our declaration and parses it with the client's parser. */
function clientParses(mod: Any, key: number, version: number, value: Msg): Any {
  const def = apiDef(key);
  assert.ok(def);
  const bytes = encode(def.response, version, value);
  return mod.parseResponse(1, key, version, pk.Reader.from(bytes));
}

// ---- requests -------------------------------------------------------------------------------

test('platformatic ApiVersions v3 and Metadata v9, v10, v12 requests', () => {
  const av = ourRequest(ApiKey.ApiVersions, 3, pk.apiVersionsV3.createRequest('platformatic-kafka', '1.35.0'));
  assert.deepEqual(av, { clientSoftwareName: 'platformatic-kafka', clientSoftwareVersion: '1.35.0' });
  // platformatic 1.35 writes IncludeClusterAuthorizedOperations in Metadata v11 too, though Kafka
  // dropped it after v10 (versions 8-10): Kafka's own parser rejects those bytes, and so do we.
  const meta = apiDef(ApiKey.Metadata);
  assert.ok(meta);
  const v11 = Buffer.from(pk.metadataV11.createRequest(['orders'], true, true).buffer);
  assert.throws(() => decode(meta.request, 11, v11));
  for (const v of [9, 10, 12]) {
    const got = ourRequest(ApiKey.Metadata, v, pk[`metadataV${v}`].createRequest(['orders', 'logs.dev'], true, true));
    assert.deepEqual(
      got.topics.map((t: Msg) => t.name),
      ['orders', 'logs.dev'],
    );
    if (v >= 10) assert.equal(got.topics[0].topicId, 'AAAAAAAAAAAAAAAAAAAAAA');
    assert.equal(got.allowAutoTopicCreation, true);
    assert.equal(got.includeTopicAuthorizedOperations, true);
  }
});

test('platformatic Produce v9-11 requests', () => {
  for (const v of [9, 10, 11]) {
    const w = pk[`produceV${v}`].createRequest(
      -1,
      30000,
      [
        { topic: 'cluster-events', partition: 1, key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 1n },
        { topic: 'cluster-events', partition: 4, key: Buffer.from('k2'), value: Buffer.from('v2'), timestamp: 2n },
      ],
      { transactionalId: 'tx-9' },
    );
    const got = ourRequest(ApiKey.Produce, v, w);
    assert.equal(got.transactionalId, 'tx-9');
    assert.equal(got.acks, -1);
    assert.equal(got.timeoutMs, 30000);
    assert.equal(got.topicData[0].name, 'cluster-events');
    const parts = got.topicData[0].partitionData;
    assert.deepEqual(
      parts.map((p: Msg) => p.index),
      [1, 4],
    );
    for (const p of parts) assert.equal(p.records[16], 2, 'record batch magic v2');
  }
});

test('platformatic Fetch v12-17 requests', () => {
  for (const v of [12, 13, 14, 15, 16, 17]) {
    const topic = v >= 13 ? TOPIC_ID_STR : 'logs.dev';
    const w = pk[`fetchV${v}`].createRequest(
      500,
      1,
      52428800,
      1,
      123,
      4,
      [
        {
          topicId: topic,
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: 3,
              fetchOffset: 9876543210n,
              lastFetchedEpoch: 2,
              partitionMaxBytes: 1048576,
            },
          ],
        },
      ],
      v >= 13 ? [{ topic: TOPIC_ID_STR, partitions: [5, 6] }] : [],
      'rack-b',
    );
    const got = ourRequest(ApiKey.Fetch, v, w);
    assert.equal(got.replicaId, -1); // v15+ moved it into the (absent) ReplicaState tag; the default stays -1
    assert.equal(got.maxWaitMs, 500);
    assert.equal(got.minBytes, 1);
    assert.equal(got.maxBytes, 52428800);
    assert.equal(got.isolationLevel, 1);
    assert.equal(got.sessionId, 123);
    assert.equal(got.sessionEpoch, 4);
    const t = got.topics[0];
    if (v >= 13) assert.equal(t.topicId, TOPIC_ID_B64);
    else assert.equal(t.topic, 'logs.dev');
    const p = t.partitions[0];
    assert.deepEqual(
      [p.partition, p.currentLeaderEpoch, p.fetchOffset, p.lastFetchedEpoch, p.logStartOffset, p.partitionMaxBytes],
      [0, 3, 9876543210, 2, -1, 1048576],
    );
    if (v >= 13) assert.deepEqual(got.forgottenTopicsData, [{ topic: '', topicId: TOPIC_ID_B64, partitions: [5, 6] }]);
    assert.equal(got.rackId, 'rack-b');
  }
});

test('platformatic ListOffsets v6-9 and FindCoordinator v4-6 requests', () => {
  for (const v of [6, 7, 8, 9]) {
    const w = pk[`listOffsetsV${v}`].createRequest(-1, 1, [
      { name: 'orders', partitions: [{ partitionIndex: 2, currentLeaderEpoch: 5, timestamp: -1n }] },
    ]);
    const got = ourRequest(ApiKey.ListOffsets, v, w);
    assert.equal(got.replicaId, -1);
    assert.equal(got.isolationLevel, 1);
    assert.deepEqual(got.topics, [
      { name: 'orders', partitions: [{ partitionIndex: 2, currentLeaderEpoch: 5, timestamp: -1, maxNumOffsets: 1 }] },
    ]);
  }
  for (const v of [4, 5, 6]) {
    const got = ourRequest(ApiKey.FindCoordinator, v, pk[`findCoordinatorV${v}`].createRequest(0, ['g1', 'g2']));
    assert.equal(got.keyType, 0);
    assert.deepEqual(got.coordinatorKeys, ['g1', 'g2']);
    assert.equal(got.key, '');
  }
});

test('platformatic JoinGroup v6-9, SyncGroup v4-5, Heartbeat v4, LeaveGroup v4-5 requests', () => {
  const meta = Buffer.from('subscription');
  for (const v of [6, 7, 8, 9]) {
    const w = pk[`joinGroupV${v}`].createRequest(
      'workers',
      45000,
      300000,
      'm-1',
      'pod-2',
      'consumer',
      [{ name: 'roundrobin', metadata: meta }],
      'rejoin',
    );
    const got = ourRequest(ApiKey.JoinGroup, v, w);
    assert.deepEqual(
      [got.groupId, got.sessionTimeoutMs, got.rebalanceTimeoutMs, got.memberId, got.groupInstanceId, got.protocolType],
      ['workers', 45000, 300000, 'm-1', 'pod-2', 'consumer'],
    );
    assert.equal(got.protocols[0].name, 'roundrobin');
    assert.deepEqual(got.protocols[0].metadata, meta);
    if (v >= 8) assert.equal(got.reason, 'rejoin');
  }
  for (const v of [4, 5]) {
    const w = pk[`syncGroupV${v}`].createRequest('workers', 7, 'm-1', null, 'consumer', 'roundrobin', [
      { memberId: 'm-1', assignment: Buffer.from('x') },
    ]);
    const got = ourRequest(ApiKey.SyncGroup, v, w);
    assert.deepEqual([got.groupId, got.generationId, got.memberId, got.groupInstanceId], ['workers', 7, 'm-1', null]);
    assert.equal(got.protocolType, v >= 5 ? 'consumer' : null);
    assert.equal(got.protocolName, v >= 5 ? 'roundrobin' : null);
    assert.equal(got.assignments[0].assignment.toString(), 'x');
  }
  const hb = ourRequest(ApiKey.Heartbeat, 4, pk.heartbeatV4.createRequest('workers', 7, 'm-1', 'pod-2'));
  assert.deepEqual(hb, { groupId: 'workers', generationId: 7, memberId: 'm-1', groupInstanceId: 'pod-2' });
  for (const v of [4, 5]) {
    const w = pk[`leaveGroupV${v}`].createRequest('workers', [{ memberId: 'm-1', groupInstanceId: null, reason: 'bye' }]);
    const got = ourRequest(ApiKey.LeaveGroup, v, w);
    assert.deepEqual(got.members, [{ memberId: 'm-1', groupInstanceId: null, reason: v >= 5 ? 'bye' : null }]);
  }
});

test('platformatic OffsetCommit v8-9 and OffsetFetch v8-9 requests', () => {
  for (const v of [8, 9]) {
    const w = pk[`offsetCommitV${v}`].createRequest('workers', 11, 'm-1', null, [
      {
        name: 'orders',
        partitions: [{ partitionIndex: 1, committedOffset: 500n, committedLeaderEpoch: 3, committedMetadata: null }],
      },
    ]);
    const got = ourRequest(ApiKey.OffsetCommit, v, w);
    assert.deepEqual([got.groupId, got.generationIdOrMemberEpoch, got.memberId, got.groupInstanceId], ['workers', 11, 'm-1', null]);
    assert.deepEqual(got.topics[0].partitions[0], {
      partitionIndex: 1,
      committedOffset: 500,
      committedLeaderEpoch: 3,
      commitTimestamp: -1,
      committedMetadata: null,
    });
  }
  for (const v of [8, 9]) {
    const w = pk[`offsetFetchV${v}`].createRequest(
      [{ groupId: 'workers', memberId: 'm-1', memberEpoch: 4, topics: [{ name: 'orders', partitionIndexes: [0, 2] }] }],
      true,
    );
    const got = ourRequest(ApiKey.OffsetFetch, v, w);
    assert.equal(got.requireStable, true);
    const g = got.groups[0];
    assert.equal(g.groupId, 'workers');
    assert.equal(g.memberId, v >= 9 ? 'm-1' : null);
    assert.equal(g.memberEpoch, v >= 9 ? 4 : -1);
    assert.deepEqual(g.topics, [{ name: 'orders', partitionIndexes: [0, 2] }]);
  }
});

test('platformatic CreateTopics v7, DeleteTopics v6, InitProducerId v3-5, DescribeConfigs v4 requests', () => {
  const ct = ourRequest(
    ApiKey.CreateTopics,
    7,
    pk.createTopicsV7.createRequest(
      [
        { name: 'a', numPartitions: 3, replicationFactor: 2, assignments: [], configs: [{ name: 'k', value: null }] },
        {
          name: 'b',
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [{ partitionIndex: 0, brokerIds: [1, 3] }],
          configs: [],
        },
      ],
      20000,
      false,
    ),
  );
  assert.equal(ct.timeoutMs, 20000);
  assert.equal(ct.validateOnly, false);
  assert.deepEqual(ct.topics[0], {
    name: 'a',
    numPartitions: 3,
    replicationFactor: 2,
    assignments: [],
    configs: [{ name: 'k', value: null }],
  });
  assert.deepEqual(ct.topics[1].assignments, [{ partitionIndex: 0, brokerIds: [1, 3] }]);
  const dt = ourRequest(ApiKey.DeleteTopics, 6, pk.deleteTopicsV6.createRequest([{ name: 'a', topicId: TOPIC_ID_STR }], 9000));
  assert.deepEqual(dt.topics, [{ name: 'a', topicId: TOPIC_ID_B64 }]);
  assert.equal(dt.timeoutMs, 9000);
  for (const v of [3, 4, 5]) {
    const got = ourRequest(ApiKey.InitProducerId, v, pk[`initProducerIdV${v}`].createRequest(null, 60000, 77n, 3));
    assert.deepEqual(got, { transactionalId: null, transactionTimeoutMs: 60000, producerId: 77, producerEpoch: 3 });
  }
  const dc = ourRequest(
    ApiKey.DescribeConfigs,
    4,
    pk.describeConfigsV4.createRequest([{ resourceType: 2, resourceName: 'orders', configurationKeys: ['a', 'b'] }], true, true),
  );
  assert.deepEqual(dc, {
    resources: [{ resourceType: 2, resourceName: 'orders', configurationKeys: ['a', 'b'] }],
    includeSynonyms: true,
    includeDocumentation: true,
  });
});

// ---- responses ------------------------------------------------------------------------------

test('platformatic parses our ApiVersions v3 and Metadata v9-12 responses', () => {
  const av = clientParses(pk.apiVersionsV3, ApiKey.ApiVersions, 3, {
    errorCode: 0,
    apiKeys: [{ apiKey: 3, minVersion: 0, maxVersion: 12 }],
    throttleTimeMs: 0,
  });
  assert.equal(av.errorCode, 0);
  assert.deepEqual(
    av.apiKeys.map((k: Any) => [k.apiKey, k.minVersion, k.maxVersion]),
    [[3, 0, 12]],
  );
  for (const v of [9, 10, 11, 12]) {
    const got = clientParses(pk[`metadataV${v}`], ApiKey.Metadata, v, {
      throttleTimeMs: 0,
      brokers: [{ nodeId: 1, host: 'b1', port: 9092, rack: null }],
      clusterId: 'cid',
      controllerId: 1,
      topics: [
        {
          errorCode: 0,
          name: 'orders',
          topicId: TOPIC_ID_B64,
          isInternal: false,
          partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 5, replicaNodes: [1], isrNodes: [1] }],
          topicAuthorizedOperations: -2147483648,
        },
      ],
    });
    assert.deepEqual(
      got.brokers.map((b: Any) => [b.nodeId, b.host, b.port, b.rack]),
      [[1, 'b1', 9092, null]],
    );
    assert.equal(got.clusterId, 'cid');
    assert.equal(got.controllerId, 1);
    const t = got.topics[0];
    assert.equal(t.name, 'orders');
    if (v >= 10) assert.equal(t.topicId, TOPIC_ID_STR);
    assert.deepEqual(
      [t.partitions[0].leaderId, t.partitions[0].leaderEpoch, t.partitions[0].replicaNodes, t.partitions[0].isrNodes],
      [1, 5, [1], [1]],
    );
    assert.equal(t.topicAuthorizedOperations, -2147483648);
  }
});

test('platformatic parses our Produce, FindCoordinator, JoinGroup, SyncGroup, Heartbeat responses', () => {
  for (const v of [9, 10, 11]) {
    const got = clientParses(pk[`produceV${v}`], ApiKey.Produce, v, {
      responses: [{ name: 'orders', partitionResponses: [{ index: 3, errorCode: 0, baseOffset: 41, logStartOffset: 0 }] }],
      throttleTimeMs: 0,
    });
    const p = got.responses[0].partitionResponses[0];
    assert.equal(got.responses[0].name, 'orders');
    assert.deepEqual([p.index, p.errorCode, p.baseOffset, p.logAppendTimeMs], [3, 0, 41n, -1n]);
  }
  for (const v of [4, 5, 6]) {
    const got = clientParses(pk[`findCoordinatorV${v}`], ApiKey.FindCoordinator, v, {
      throttleTimeMs: 0,
      coordinators: [{ key: 'workers', nodeId: 2, host: 'b2', port: 9093, errorCode: 0, errorMessage: null }],
    });
    assert.deepEqual(
      got.coordinators.map((c: Any) => [c.key, c.nodeId, c.host, c.port]),
      [['workers', 2, 'b2', 9093]],
    );
  }
  for (const v of [6, 7, 8, 9]) {
    const got = clientParses(pk[`joinGroupV${v}`], ApiKey.JoinGroup, v, {
      throttleTimeMs: 0,
      errorCode: 0,
      generationId: 3,
      protocolType: 'consumer',
      protocolName: 'roundrobin',
      leader: 'm-1',
      skipAssignment: false,
      memberId: 'm-1',
      members: [{ memberId: 'm-1', groupInstanceId: null, metadata: Buffer.from('md') }],
    });
    assert.deepEqual([got.generationId, got.protocolName, got.leader, got.memberId], [3, 'roundrobin', 'm-1', 'm-1']);
    if (v >= 7) assert.equal(got.protocolType, 'consumer');
    assert.equal(Buffer.from(got.members[0].metadata).toString(), 'md');
  }
  for (const v of [4, 5]) {
    const got = clientParses(pk[`syncGroupV${v}`], ApiKey.SyncGroup, v, {
      throttleTimeMs: 0,
      errorCode: 0,
      protocolType: 'consumer',
      protocolName: 'roundrobin',
      assignment: Buffer.from('asg'),
    });
    assert.equal(Buffer.from(got.assignment).toString(), 'asg');
    if (v >= 5) assert.equal(got.protocolName, 'roundrobin');
  }
  const hb = clientParses(pk.heartbeatV4, ApiKey.Heartbeat, 4, { throttleTimeMs: 5, errorCode: 0 });
  assert.equal(hb.throttleTimeMs, 5);
});

test('platformatic parses our OffsetCommit, OffsetFetch, ListOffsets, InitProducerId, CreateTopics responses', () => {
  for (const v of [8, 9]) {
    const got = clientParses(pk[`offsetCommitV${v}`], ApiKey.OffsetCommit, v, {
      throttleTimeMs: 0,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 1, errorCode: 0 }] }],
    });
    assert.deepEqual(got.topics[0].partitions[0].partitionIndex, 1);
    const of = clientParses(pk[`offsetFetchV${v}`], ApiKey.OffsetFetch, v, {
      throttleTimeMs: 0,
      groups: [
        {
          groupId: 'workers',
          topics: [
            {
              name: 'orders',
              partitions: [{ partitionIndex: 1, committedOffset: 500, committedLeaderEpoch: 2, metadata: null, errorCode: 0 }],
            },
          ],
          errorCode: 0,
        },
      ],
    });
    const p = of.groups[0].topics[0].partitions[0];
    assert.equal(of.groups[0].groupId, 'workers');
    assert.deepEqual([p.partitionIndex, p.committedOffset, p.committedLeaderEpoch], [1, 500n, 2]);
  }
  for (const v of [6, 7, 8, 9]) {
    const got = clientParses(pk[`listOffsetsV${v}`], ApiKey.ListOffsets, v, {
      throttleTimeMs: 0,
      topics: [
        {
          name: 'orders',
          partitions: [{ partitionIndex: 0, errorCode: 0, timestamp: -1, offset: 1234, leaderEpoch: 6 }],
        },
      ],
    });
    const p = got.topics[0].partitions[0];
    assert.deepEqual([p.partitionIndex, p.timestamp, p.offset, p.leaderEpoch], [0, -1n, 1234n, 6]);
  }
  for (const v of [3, 4, 5]) {
    const got = clientParses(pk[`initProducerIdV${v}`], ApiKey.InitProducerId, v, {
      throttleTimeMs: 0,
      errorCode: 0,
      producerId: 9001,
      producerEpoch: 0,
    });
    assert.deepEqual([got.producerId, got.producerEpoch], [9001n, 0]);
  }
  const ct = clientParses(pk.createTopicsV7, ApiKey.CreateTopics, 7, {
    throttleTimeMs: 0,
    topics: [
      {
        name: 'a',
        topicId: TOPIC_ID_B64,
        errorCode: 0,
        errorMessage: null,
        numPartitions: 3,
        replicationFactor: 2,
        configs: [{ name: 'cleanup.policy', value: 'delete', readOnly: false, configSource: 5, isSensitive: false }],
      },
    ],
  });
  const t = ct.topics[0];
  assert.deepEqual([t.name, t.topicId, t.numPartitions, t.replicationFactor], ['a', TOPIC_ID_STR, 3, 2]);
  assert.equal(t.configs[0].name, 'cleanup.policy');
});

test('platformatic parses our Fetch v12-17 responses, tagged fields included', () => {
  for (const v of [12, 13, 14, 15, 16, 17]) {
    const got = clientParses(pk[`fetchV${v}`], ApiKey.Fetch, v, {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 55,
      responses: [
        {
          topic: 'logs.dev',
          topicId: TOPIC_ID_B64,
          partitions: [
            {
              partitionIndex: 2,
              errorCode: 0,
              highWatermark: 100,
              lastStableOffset: 90,
              logStartOffset: 1,
              currentLeader: { leaderId: 3, leaderEpoch: 8 },
              abortedTransactions: null,
              preferredReadReplica: -1,
              records: null,
            },
          ],
        },
      ],
      nodeEndpoints: [{ nodeId: 3, host: 'b3', port: 9094, rack: null }],
    });
    assert.equal(got.sessionId, 55);
    const t = got.responses[0];
    if (v >= 13) assert.equal(t.topicId, TOPIC_ID_STR);
    const p = t.partitions[0];
    assert.deepEqual([p.partitionIndex, p.highWatermark, p.lastStableOffset, p.logStartOffset], [2, 100n, 90n, 1n]);
  }
});
