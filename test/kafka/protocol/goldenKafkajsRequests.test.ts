// Golden bytes from kafkajs 2.2.4 (classic encodings), requests: bodies encoded by kafkajs's own
// request builders decode with our declarations to the values kafkajs was given and re-encode to
// the same bytes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiKey } from '../../../src/kafka/protocol/apis.js';
import type { Msg } from '../../../src/kafka/protocol/schema.js';
import { ourRequest, range } from './kafkajsHelpers.js';

// ---- requests -------------------------------------------------------------------------------

test('kafkajs ApiVersions requests v0-2', async () => {
  for (const v of range(0, 2)) {
    const got = await ourRequest('apiVersions', ApiKey.ApiVersions, v, {});
    assert.equal(got.clientSoftwareName, '');
  }
});

test('kafkajs Metadata requests v0-6', async () => {
  for (const v of range(0, 6)) {
    const got = await ourRequest('metadata', ApiKey.Metadata, v, {
      topics: ['orders', 'logs.dev'],
      allowAutoTopicCreation: false,
    });
    assert.deepEqual(
      got.topics.map((t: Msg) => t.name),
      ['orders', 'logs.dev'],
    );
    assert.equal(got.allowAutoTopicCreation, v < 4); // true (the default) until v4 carries it
  }
});

test('kafkajs Produce requests v0-7 carry the record set as an opaque slice', async () => {
  for (const v of range(0, 7)) {
    const got = await ourRequest('produce', ApiKey.Produce, v, {
      acks: -1,
      timeout: 30000,
      transactionalId: v >= 3 ? 'tx-1' : undefined,
      topicData: [
        {
          topic: 'cluster-events',
          partitions: [
            { partition: 0, messages: [{ key: 'k1', value: 'v1' }] },
            { partition: 3, messages: [{ key: null, value: 'hello' }] },
          ],
        },
      ],
    });
    assert.equal(got.acks, -1);
    assert.equal(got.timeoutMs, 30000);
    assert.equal(got.transactionalId, v >= 3 ? 'tx-1' : null);
    assert.equal(got.topicData.length, 1);
    assert.equal(got.topicData[0].name, 'cluster-events');
    const parts = got.topicData[0].partitionData;
    assert.deepEqual(
      parts.map((p: Msg) => p.index),
      [0, 3],
    );
    for (const p of parts) {
      assert.ok(Buffer.isBuffer(p.records));
      // Magic byte: offset 16 in a v2 batch, offset 16 in a v0/v1 message (after offset, size, crc).
      const magic = p.records[16];
      assert.equal(magic, v >= 3 ? 2 : v === 2 ? 1 : 0, `produce v${v} record format`);
    }
  }
});

test('kafkajs Fetch requests v0-11', async () => {
  for (const v of range(0, 11)) {
    const got = await ourRequest('fetch', ApiKey.Fetch, v, {
      replicaId: -1,
      maxWaitTime: 5000,
      minBytes: 1,
      maxBytes: 10485760,
      isolationLevel: 1,
      sessionId: 0,
      sessionEpoch: -1,
      rackId: 'rack-a',
      topics: [
        {
          topic: 'logs.dev',
          partitions: [
            { partition: 0, fetchOffset: '12345678901', maxBytes: 1048576 },
            { partition: 1, fetchOffset: 0, maxBytes: 524288, currentLeaderEpoch: 7 },
          ],
        },
      ],
    });
    assert.equal(got.replicaId, -1);
    assert.equal(got.maxWaitMs, 5000);
    assert.equal(got.minBytes, 1);
    assert.equal(got.maxBytes, v >= 3 ? 10485760 : 0x7fffffff);
    assert.equal(got.isolationLevel, v >= 4 ? 1 : 0);
    assert.equal(got.sessionEpoch, -1);
    assert.equal(got.topics[0].topic, 'logs.dev');
    const [p0, p1] = got.topics[0].partitions;
    assert.equal(p0.partition, 0);
    assert.equal(p0.fetchOffset, 12345678901);
    assert.equal(p0.partitionMaxBytes, 1048576);
    assert.equal(p1.partitionMaxBytes, 524288);
    assert.equal(p1.currentLeaderEpoch, v >= 9 ? 7 : -1);
    assert.equal(got.rackId, v >= 11 ? 'rack-a' : '');
  }
});

test('kafkajs ListOffsets requests v0-3', async () => {
  for (const v of range(0, 3)) {
    const got = await ourRequest('listOffsets', ApiKey.ListOffsets, v, {
      replicaId: -1,
      isolationLevel: 1,
      topics: [{ topic: 'orders', partitions: [{ partition: 2, timestamp: -2 }] }],
    });
    assert.equal(got.replicaId, -1);
    assert.equal(got.isolationLevel, v >= 2 ? 1 : 0);
    assert.equal(got.topics[0].name, 'orders');
    const p = got.topics[0].partitions[0];
    assert.equal(p.partitionIndex, 2);
    assert.equal(p.timestamp, -2);
    assert.equal(p.maxNumOffsets, 1);
  }
});

test('kafkajs FindCoordinator requests v0-2', async () => {
  for (const v of range(0, 2)) {
    const got = await ourRequest('findCoordinator', ApiKey.FindCoordinator, v, {
      groupId: 'workers',
      coordinatorType: 1,
    });
    assert.equal(got.key, 'workers');
    assert.equal(got.keyType, v >= 1 ? 1 : 0);
  }
});

test('kafkajs JoinGroup requests v0-5', async () => {
  const metadata = Buffer.from([0, 1, 0, 0, 0, 1, 0, 6, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x73]);
  for (const v of range(0, 5)) {
    const got = await ourRequest('joinGroup', ApiKey.JoinGroup, v, {
      groupId: 'workers',
      sessionTimeout: 30000,
      rebalanceTimeout: 60000,
      memberId: '',
      groupInstanceId: v >= 5 ? 'pod-1' : undefined,
      protocolType: 'consumer',
      groupProtocols: [
        { name: 'RoundRobinAssigner', metadata },
        { name: 'range', metadata: Buffer.alloc(0) },
      ],
    });
    assert.equal(got.groupId, 'workers');
    assert.equal(got.sessionTimeoutMs, 30000);
    assert.equal(got.rebalanceTimeoutMs, v >= 1 ? 60000 : -1);
    assert.equal(got.memberId, '');
    assert.equal(got.groupInstanceId, v >= 5 ? 'pod-1' : null);
    assert.equal(got.protocolType, 'consumer');
    assert.deepEqual(
      got.protocols.map((p: Msg) => p.name),
      ['RoundRobinAssigner', 'range'],
    );
    assert.deepEqual(got.protocols[0].metadata, metadata);
    assert.equal(got.protocols[1].metadata.length, 0);
  }
});

test('kafkajs SyncGroup requests v0-3', async () => {
  for (const v of range(0, 3)) {
    const got = await ourRequest('syncGroup', ApiKey.SyncGroup, v, {
      groupId: 'workers',
      generationId: 4,
      memberId: 'm-1',
      groupInstanceId: v >= 3 ? 'pod-1' : undefined,
      groupAssignment: [
        { memberId: 'm-1', memberAssignment: Buffer.from('a1') },
        { memberId: 'm-2', memberAssignment: Buffer.from('b22') },
      ],
    });
    assert.equal(got.groupId, 'workers');
    assert.equal(got.generationId, 4);
    assert.equal(got.memberId, 'm-1');
    assert.equal(got.groupInstanceId, v >= 3 ? 'pod-1' : null);
    assert.equal(got.protocolType, null);
    assert.deepEqual(
      got.assignments.map((a: Msg) => [a.memberId, a.assignment.toString()]),
      [
        ['m-1', 'a1'],
        ['m-2', 'b22'],
      ],
    );
  }
});

test('kafkajs Heartbeat requests v0-3', async () => {
  for (const v of range(0, 3)) {
    const got = await ourRequest('heartbeat', ApiKey.Heartbeat, v, {
      groupId: 'workers',
      groupGenerationId: 9,
      memberId: 'm-1',
      groupInstanceId: v >= 3 ? 'pod-1' : undefined,
    });
    assert.deepEqual([got.groupId, got.generationId, got.memberId, got.groupInstanceId], ['workers', 9, 'm-1', v >= 3 ? 'pod-1' : null]);
  }
});

test('kafkajs LeaveGroup requests v0-3', async () => {
  for (const v of range(0, 3)) {
    const got = await ourRequest('leaveGroup', ApiKey.LeaveGroup, v, {
      groupId: 'workers',
      memberId: 'm-1',
      groupInstanceId: 'pod-1',
    });
    assert.equal(got.groupId, 'workers');
    if (v < 3) assert.equal(got.memberId, 'm-1');
    else {
      assert.equal(got.memberId, '');
      assert.deepEqual(got.members, [{ memberId: 'm-1', groupInstanceId: 'pod-1', reason: null }]);
    }
  }
});

test('kafkajs OffsetCommit requests v0-5', async () => {
  for (const v of range(0, 5)) {
    const got = await ourRequest('offsetCommit', ApiKey.OffsetCommit, v, {
      groupId: 'workers',
      groupGenerationId: 3,
      memberId: 'm-1',
      retentionTime: 86400000,
      topics: [
        {
          topic: 'cluster-events',
          partitions: [
            { partition: 0, offset: '42', timestamp: 1700000000000 },
            { partition: 1, offset: '9007199254740991', metadata: 'md' },
          ],
        },
      ],
    });
    assert.equal(got.groupId, 'workers');
    assert.equal(got.generationIdOrMemberEpoch, v >= 1 ? 3 : -1);
    assert.equal(got.memberId, v >= 1 ? 'm-1' : '');
    assert.equal(got.retentionTimeMs, v >= 2 && v <= 4 ? 86400000 : -1);
    const [p0, p1] = got.topics[0].partitions;
    assert.equal(got.topics[0].name, 'cluster-events');
    assert.equal(p0.partitionIndex, 0);
    assert.equal(p0.committedOffset, 42);
    assert.equal(p0.commitTimestamp, v === 1 ? 1700000000000 : -1);
    assert.equal(p0.committedMetadata, null);
    assert.equal(p1.committedOffset, Number.MAX_SAFE_INTEGER);
    assert.equal(p1.committedMetadata, 'md');
  }
});

test('kafkajs OffsetFetch requests v1-4', async () => {
  for (const v of range(1, 4)) {
    const got = await ourRequest('offsetFetch', ApiKey.OffsetFetch, v, {
      groupId: 'workers',
      topics: [{ topic: 'cluster-events', partitions: [{ partition: 0 }, { partition: 5 }] }],
    });
    assert.equal(got.groupId, 'workers');
    assert.equal(got.topics[0].name, 'cluster-events');
    assert.deepEqual(got.topics[0].partitionIndexes, [0, 5]);
    assert.equal(got.requireStable, false);
  }
});

test('kafkajs CreateTopics requests v0-3', async () => {
  for (const v of range(0, 3)) {
    const got = await ourRequest('createTopics', ApiKey.CreateTopics, v, {
      timeout: 15000,
      validateOnly: true,
      topics: [
        {
          topic: 'a',
          numPartitions: 3,
          replicationFactor: 2,
          configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
        },
        { topic: 'b', replicaAssignment: [{ partition: 0, replicas: [1, 2] }] },
      ],
    });
    assert.equal(got.timeoutMs, 15000);
    assert.equal(got.validateOnly, v >= 1);
    const [a, b] = got.topics;
    assert.deepEqual([a.name, a.numPartitions, a.replicationFactor], ['a', 3, 2]);
    assert.deepEqual(a.configs, [{ name: 'cleanup.policy', value: 'compact' }]);
    assert.deepEqual([b.name, b.numPartitions, b.replicationFactor], ['b', -1, -1]);
    assert.deepEqual(b.assignments, [{ partitionIndex: 0, brokerIds: [1, 2] }]);
  }
});

test('kafkajs DeleteTopics requests v0-1', async () => {
  for (const v of range(0, 1)) {
    const got = await ourRequest('deleteTopics', ApiKey.DeleteTopics, v, { topics: ['a', 'b'], timeout: 5000 });
    assert.deepEqual(got.topicNames, ['a', 'b']);
    assert.equal(got.timeoutMs, 5000);
  }
});

test('kafkajs InitProducerId requests v0-1', async () => {
  for (const v of range(0, 1)) {
    const got = await ourRequest('initProducerId', ApiKey.InitProducerId, v, {
      transactionalId: 'tx-1',
      transactionTimeout: 60000,
    });
    assert.equal(got.transactionalId, 'tx-1');
    assert.equal(got.transactionTimeoutMs, 60000);
    assert.equal(got.producerId, -1);
    assert.equal(got.producerEpoch, -1);
  }
});

test('kafkajs DescribeConfigs requests v0-2', async () => {
  for (const v of range(0, 2)) {
    const got = await ourRequest('describeConfigs', ApiKey.DescribeConfigs, v, {
      includeSynonyms: true,
      resources: [
        { type: 2, name: 'orders', configNames: ['retention.ms'] },
        { type: 4, name: '1', configNames: [] }, // kafkajs cannot encode a null list
      ],
    });
    assert.equal(got.includeSynonyms, v >= 1);
    assert.deepEqual(got.resources, [
      { resourceType: 2, resourceName: 'orders', configurationKeys: ['retention.ms'] },
      // kafkajs sends an empty list as null (all configs)
      { resourceType: 4, resourceName: '1', configurationKeys: null },
    ]);
  }
});

test('kafkajs DeleteRecords, DeleteGroups, DescribeGroups, ListGroups, SaslHandshake requests', async () => {
  for (const v of range(0, 1)) {
    const dr = await ourRequest('deleteRecords', ApiKey.DeleteRecords, v, {
      topics: [{ topic: 'a', partitions: [{ partition: 1, offset: '77' }] }],
      timeout: 5000,
    });
    assert.deepEqual(dr.topics, [{ name: 'a', partitions: [{ partitionIndex: 1, offset: 77 }] }]);
    assert.equal(dr.timeoutMs, 5000);
    const dg = await ourRequest('deleteGroups', ApiKey.DeleteGroups, v, ['g1', 'g2']);
    assert.deepEqual(dg.groupsNames, ['g1', 'g2']);
    const sh = await ourRequest('saslHandshake', ApiKey.SaslHandshake, v, { mechanism: 'PLAIN' });
    assert.equal(sh.mechanism, 'PLAIN');
  }
  for (const v of range(0, 2)) {
    const dg = await ourRequest('describeGroups', ApiKey.DescribeGroups, v, { groupIds: ['g1'] });
    assert.deepEqual(dg.groups, ['g1']);
    assert.equal(dg.includeAuthorizedOperations, false);
    await ourRequest('listGroups', ApiKey.ListGroups, v, {});
  }
});
