// Golden bytes from kafkajs 2.2.4 (classic encodings), responses: bodies encoded with our
// declarations decode with kafkajs's own response decoders to the values we wrote.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiKey } from '../../../src/kafka/protocol/apis.js';
import { type Any, kafkajsDecodes, range } from './kafkajsHelpers.js';

// ---- responses ------------------------------------------------------------------------------

test('kafkajs decodes our ApiVersions responses v0-2', async () => {
  for (const v of range(0, 2)) {
    const got = await kafkajsDecodes(
      'apiVersions',
      ApiKey.ApiVersions,
      v,
      {},
      {
        errorCode: 0,
        apiKeys: [
          { apiKey: 0, minVersion: 0, maxVersion: 9 },
          { apiKey: 3, minVersion: 0, maxVersion: 12 },
        ],
        throttleTimeMs: 0,
      },
    );
    assert.equal(got.errorCode, 0);
    assert.deepEqual(got.apiVersions, [
      { apiKey: 0, minVersion: 0, maxVersion: 9 },
      { apiKey: 3, minVersion: 0, maxVersion: 12 },
    ]);
  }
});

test('kafkajs decodes our Metadata responses v0-6', async () => {
  for (const v of range(0, 6)) {
    const got = await kafkajsDecodes(
      'metadata',
      ApiKey.Metadata,
      v,
      { topics: [] },
      {
        throttleTimeMs: 0,
        brokers: [
          { nodeId: 1, host: 'b1.local', port: 9092, rack: 'r1' },
          { nodeId: 2, host: 'b2.local', port: 9093, rack: null },
        ],
        clusterId: 'cg-cluster',
        controllerId: 2,
        topics: [
          {
            errorCode: 0,
            name: 'orders',
            isInternal: false,
            partitions: [
              {
                errorCode: 0,
                partitionIndex: 0,
                leaderId: 1,
                replicaNodes: [1, 2],
                isrNodes: [1],
                offlineReplicas: [2],
              },
            ],
          },
        ],
      },
    );
    assert.deepEqual(
      got.brokers.map((b: Any) => [b.nodeId, b.host, b.port]),
      [
        [1, 'b1.local', 9092],
        [2, 'b2.local', 9093],
      ],
    );
    if (v >= 1) {
      assert.equal(got.brokers[0].rack, 'r1');
      assert.equal(got.brokers[1].rack, null);
      assert.equal(got.controllerId, 2);
    }
    if (v >= 2) assert.equal(got.clusterId, 'cg-cluster');
    const t = got.topicMetadata[0];
    assert.equal(t.topic, 'orders');
    assert.equal(t.topicErrorCode, 0);
    const p = t.partitionMetadata[0];
    assert.deepEqual([p.partitionId, p.leader, p.replicas, p.isr], [0, 1, [1, 2], [1]]);
    if (v >= 5) assert.deepEqual(p.offlineReplicas, [2]);
  }
});

test('kafkajs decodes our Produce responses v0-7', async () => {
  for (const v of range(0, 7)) {
    const got = await kafkajsDecodes(
      'produce',
      ApiKey.Produce,
      v,
      { acks: -1, timeout: 1000, topicData: [] },
      {
        responses: [
          {
            name: 'cluster-events',
            partitionResponses: [{ index: 2, errorCode: 0, baseOffset: 1234567890123, logAppendTimeMs: 1700000000001, logStartOffset: 5 }],
          },
        ],
        throttleTimeMs: 0,
      },
    );
    const p = got.topics[0].partitions[0];
    assert.equal(got.topics[0].topicName, 'cluster-events');
    assert.equal(p.partition, 2);
    assert.equal(p.errorCode, 0);
    // kafkajs names the fields offset/timestamp before v5
    assert.equal(String(p.baseOffset ?? p.offset), '1234567890123');
    if (v >= 2) assert.equal(String(p.logAppendTime ?? p.timestamp), '1700000000001');
    if (v >= 5) assert.equal(String(p.logStartOffset), '5');
  }
});

test('kafkajs decodes our Fetch responses v0-11 (empty record sets)', async () => {
  for (const v of range(0, 11)) {
    const got = await kafkajsDecodes(
      'fetch',
      ApiKey.Fetch,
      v,
      { maxWaitTime: 1, minBytes: 1, maxBytes: 1, topics: [] },
      {
        throttleTimeMs: 0,
        errorCode: 0,
        sessionId: 77,
        responses: [
          {
            topic: 'logs.dev',
            partitions: [
              {
                partitionIndex: 1,
                errorCode: 0,
                highWatermark: 99,
                lastStableOffset: 98,
                logStartOffset: 3,
                abortedTransactions: [{ producerId: 12, firstOffset: 40 }],
                preferredReadReplica: 2,
                records: Buffer.alloc(0),
              },
            ],
          },
        ],
      },
    );
    const t = got.responses[0];
    assert.equal(t.topicName, 'logs.dev');
    const p = t.partitions[0];
    assert.equal(p.partition, 1);
    assert.equal(p.errorCode, 0);
    assert.equal(String(p.highWatermark), '99');
    if (v >= 4) {
      assert.equal(String(p.lastStableOffset), '98');
      assert.deepEqual(
        p.abortedTransactions.map((a: Any) => [String(a.producerId), String(a.firstOffset)]),
        [['12', '40']],
      );
    }
    if (v >= 5) assert.equal(String(p.lastStartOffset ?? p.logStartOffset), '3');
    if (v >= 7) assert.equal(got.sessionId, 77);
    if (v >= 11) assert.equal(p.preferredReadReplica, 2);
    assert.deepEqual(p.messages, []);
  }
});

test('kafkajs decodes our ListOffsets responses v0-3', async () => {
  for (const v of range(0, 3)) {
    const got = await kafkajsDecodes(
      'listOffsets',
      ApiKey.ListOffsets,
      v,
      { topics: [] },
      {
        throttleTimeMs: 0,
        topics: [
          {
            name: 'orders',
            partitions: [{ partitionIndex: 2, errorCode: 0, oldStyleOffsets: [555], timestamp: 17, offset: 555 }],
          },
        ],
      },
    );
    const p = got.responses[0].partitions[0];
    assert.equal(got.responses[0].topic, 'orders');
    assert.equal(p.partition, 2);
    if (v === 0) assert.deepEqual(p.offsets.map(String), ['555']);
    else assert.equal(String(p.offset), '555');
  }
});

test('kafkajs decodes our FindCoordinator responses v0-2', async () => {
  for (const v of range(0, 2)) {
    const got = await kafkajsDecodes(
      'findCoordinator',
      ApiKey.FindCoordinator,
      v,
      { groupId: 'g' },
      {
        throttleTimeMs: 0,
        errorCode: 0,
        errorMessage: null,
        nodeId: 3,
        host: 'b3.local',
        port: 9094,
      },
    );
    assert.equal(got.errorCode, 0);
    assert.deepEqual(got.coordinator, { nodeId: 3, host: 'b3.local', port: 9094 });
  }
});

test('kafkajs decodes our JoinGroup and SyncGroup responses', async () => {
  for (const v of range(0, 5)) {
    const got = await kafkajsDecodes(
      'joinGroup',
      ApiKey.JoinGroup,
      v,
      { groupProtocols: [] },
      {
        throttleTimeMs: 0,
        errorCode: 0,
        generationId: 6,
        protocolName: 'RoundRobinAssigner',
        leader: 'm-1',
        memberId: 'm-2',
        members: [
          { memberId: 'm-1', groupInstanceId: v >= 5 ? 'pod-1' : null, metadata: Buffer.from('meta1') },
          { memberId: 'm-2', groupInstanceId: null, metadata: Buffer.from('meta2') },
        ],
      },
    );
    assert.equal(got.generationId, 6);
    assert.equal(got.groupProtocol, 'RoundRobinAssigner');
    assert.equal(got.leaderId, 'm-1');
    assert.equal(got.memberId, 'm-2');
    assert.deepEqual(
      got.members.map((m: Any) => [m.memberId, m.memberMetadata.toString()]),
      [
        ['m-1', 'meta1'],
        ['m-2', 'meta2'],
      ],
    );
    if (v >= 5) assert.equal(got.members[0].groupInstanceId, 'pod-1');
  }
  for (const v of range(0, 3)) {
    const got = await kafkajsDecodes(
      'syncGroup',
      ApiKey.SyncGroup,
      v,
      { groupAssignment: [] },
      {
        throttleTimeMs: 0,
        errorCode: 0,
        assignment: Buffer.from('assigned'),
      },
    );
    assert.equal(got.errorCode, 0);
    assert.equal(got.memberAssignment.toString(), 'assigned');
  }
});

test('kafkajs decodes our Heartbeat, LeaveGroup and InitProducerId responses', async () => {
  for (const v of range(0, 3)) {
    const hb = await kafkajsDecodes('heartbeat', ApiKey.Heartbeat, v, {}, { throttleTimeMs: 0, errorCode: 0 });
    assert.equal(hb.errorCode, 0);
    const lg = await kafkajsDecodes(
      'leaveGroup',
      ApiKey.LeaveGroup,
      v,
      {},
      {
        throttleTimeMs: 0,
        errorCode: 0,
        members: [{ memberId: 'm-1', groupInstanceId: 'pod-1', errorCode: 0 }],
      },
    );
    assert.equal(lg.errorCode, 0);
    if (v >= 3) assert.deepEqual(lg.members, [{ memberId: 'm-1', groupInstanceId: 'pod-1', errorCode: 0 }]);
  }
  for (const v of range(0, 1)) {
    const ip = await kafkajsDecodes(
      'initProducerId',
      ApiKey.InitProducerId,
      v,
      {},
      {
        throttleTimeMs: 0,
        errorCode: 0,
        producerId: 4000000001,
        producerEpoch: 2,
      },
    );
    assert.equal(String(ip.producerId), '4000000001');
    assert.equal(ip.producerEpoch, 2);
  }
});

test('kafkajs decodes our OffsetCommit and OffsetFetch responses', async () => {
  for (const v of range(0, 5)) {
    const got = await kafkajsDecodes(
      'offsetCommit',
      ApiKey.OffsetCommit,
      v,
      { topics: [] },
      {
        throttleTimeMs: 0,
        topics: [{ name: 'cluster-events', partitions: [{ partitionIndex: 4, errorCode: 0 }] }],
      },
    );
    assert.deepEqual(got.responses, [{ topic: 'cluster-events', partitions: [{ partition: 4, errorCode: 0 }] }]);
  }
  for (const v of range(1, 4)) {
    const got = await kafkajsDecodes(
      'offsetFetch',
      ApiKey.OffsetFetch,
      v,
      { topics: [] },
      {
        throttleTimeMs: 0,
        topics: [
          {
            name: 'cluster-events',
            partitions: [{ partitionIndex: 4, committedOffset: 8888, metadata: 'm', errorCode: 0 }],
          },
        ],
        errorCode: 0,
      },
    );
    const p = got.responses[0].partitions[0];
    assert.equal(got.responses[0].topic, 'cluster-events');
    assert.deepEqual([p.partition, String(p.offset), p.metadata, p.errorCode], [4, '8888', 'm', 0]);
  }
});

test('kafkajs decodes our CreateTopics, DeleteTopics and DescribeConfigs responses', async () => {
  for (const v of range(0, 3)) {
    const got = await kafkajsDecodes(
      'createTopics',
      ApiKey.CreateTopics,
      v,
      { topics: [] },
      {
        throttleTimeMs: 0,
        topics: [{ name: 'a', errorCode: 0, errorMessage: null }],
      },
    );
    assert.equal(got.topicErrors[0].topic, 'a');
    assert.equal(got.topicErrors[0].errorCode, 0);
  }
  for (const v of range(0, 1)) {
    const got = await kafkajsDecodes(
      'deleteTopics',
      ApiKey.DeleteTopics,
      v,
      { topics: [] },
      {
        throttleTimeMs: 0,
        responses: [{ name: 'a', errorCode: 0 }],
      },
    );
    assert.deepEqual(got.topicErrors, [{ topic: 'a', errorCode: 0 }]);
  }
  for (const v of range(0, 2)) {
    const got = await kafkajsDecodes(
      'describeConfigs',
      ApiKey.DescribeConfigs,
      v,
      { resources: [] },
      {
        throttleTimeMs: 0,
        results: [
          {
            errorCode: 0,
            errorMessage: null,
            resourceType: 2,
            resourceName: 'orders',
            configs: [
              {
                name: 'retention.ms',
                value: '604800000',
                readOnly: false,
                isDefault: true,
                configSource: 5,
                isSensitive: false,
                synonyms: [{ name: 'log.retention.ms', value: '604800000', source: 5 }],
              },
            ],
          },
        ],
      },
    );
    const r = got.resources[0];
    assert.deepEqual([r.resourceType, r.resourceName, r.errorCode], [2, 'orders', 0]);
    const c = r.configEntries[0];
    assert.deepEqual([c.configName, c.configValue, c.readOnly, c.isSensitive], ['retention.ms', '604800000', false, false]);
    if (v >= 1) assert.equal(c.configSynonyms[0].configName, 'log.retention.ms');
  }
});
