import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LOG_CONFIG, TOPIC_CONFIG_KEYS, logConfigFromProps } from '../../../src/kafka/storage/logConfig.js';

test("defaults are Kafka's", () => {
  assert.equal(DEFAULT_LOG_CONFIG.segmentBytes, 1073741824);
  assert.equal(DEFAULT_LOG_CONFIG.retentionMs, 604800000);
  assert.equal(DEFAULT_LOG_CONFIG.retentionBytes, -1);
  assert.equal(DEFAULT_LOG_CONFIG.maxMessageBytes, 1048588);
  assert.equal(DEFAULT_LOG_CONFIG.indexIntervalBytes, 4096);
  assert.equal(DEFAULT_LOG_CONFIG.segmentIndexBytes, 10485760);
  assert.deepEqual(DEFAULT_LOG_CONFIG.cleanupPolicy, ['delete']);
  const byName = new Map(TOPIC_CONFIG_KEYS.map((k) => [k.name, k]));
  assert.equal(byName.get('segment.bytes')?.serverDefaultKey, 'log.segment.bytes');
  assert.equal(byName.get('flush.messages')?.default, '9223372036854775807');
  assert.equal(byName.get('retention.ms')?.type, 'long');
});

test('topic-level keys override the base', () => {
  const c = logConfigFromProps(
    {
      'segment.bytes': '1048576',
      'retention.ms': '-1',
      'cleanup.policy': 'compact, delete',
      'message.timestamp.type': 'LogAppendTime',
      'unclean.leader.election.enable': 'TRUE',
      'compression.type': 'zstd',
      'min.insync.replicas': '2',
      'some.unknown.key': 'x',
    },
    DEFAULT_LOG_CONFIG,
  );
  assert.equal(c.segmentBytes, 1048576);
  assert.equal(c.retentionMs, -1);
  assert.deepEqual(c.cleanupPolicy, ['compact', 'delete']);
  assert.equal(c.messageTimestampType, 'LogAppendTime');
  assert.equal(c.uncleanLeaderElectionEnable, true);
  assert.equal(c.compressionType, 'zstd');
  assert.equal(c.minInsyncReplicas, 2);
  assert.deepEqual(DEFAULT_LOG_CONFIG.cleanupPolicy, ['delete'], 'base untouched');
});

test('bad values throw naming the key and value', () => {
  assert.throws(() => logConfigFromProps({ 'segment.bytes': 'abc' }, DEFAULT_LOG_CONFIG), /segment\.bytes.*abc|abc.*segment\.bytes/);
  assert.throws(() => logConfigFromProps({ 'segment.bytes': '10' }, DEFAULT_LOG_CONFIG), /segment\.bytes/);
  assert.throws(() => logConfigFromProps({ 'cleanup.policy': 'shred' }, DEFAULT_LOG_CONFIG), /cleanup\.policy/);
  assert.throws(() => logConfigFromProps({ 'min.insync.replicas': '0' }, DEFAULT_LOG_CONFIG), /min\.insync\.replicas/);
  assert.throws(() => logConfigFromProps({ preallocate: 'yes' }, DEFAULT_LOG_CONFIG), /preallocate/);
  assert.throws(() => logConfigFromProps({ 'compression.zstd.level': 'high' }, DEFAULT_LOG_CONFIG), /compression\.zstd\.level/);
});
