import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PERSISTENT_PATHS,
  ZkDataError,
  decodeBrokerInfo,
  decodeClusterId,
  decodeConfigChange,
  decodeController,
  decodeControllerEpoch,
  decodeEntityConfig,
  decodePartitionState,
  decodeProducerIdBlock,
  decodeTopicAssignment,
  encodeBrokerInfo,
  encodeClusterId,
  encodeConfigChange,
  encodeController,
  encodeControllerEpoch,
  encodeEntityConfig,
  encodePartitionState,
  encodeProducerIdBlock,
  encodeTopicAssignment,
  isKafkaUuid,
  partitionStatePath,
  randomKafkaUuid,
  sequenceOf,
  uuidToString,
} from '../../../src/kafka/zk/layout.js';

const parse = (b: Buffer): Record<string, unknown> => JSON.parse(b.toString('utf8'));
const keys = (o: object): string[] => Object.keys(o).sort();
const TOPIC_ID = uuidToString(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));

test('cluster id and controller epoch formats', () => {
  assert.deepEqual(parse(encodeClusterId('abc')), { version: '1', id: 'abc' });
  assert.equal(decodeClusterId(Buffer.from('{"version":"1","id":"xyz"}')), 'xyz');
  assert.equal(encodeControllerEpoch(5).toString(), '5');
  assert.equal(decodeControllerEpoch(Buffer.from('12')), 12);
  assert.throws(() => decodeControllerEpoch(Buffer.from('{"epoch":1}')), ZkDataError);
});

test('controller znode is v2 with string timestamp; v1 is still read', () => {
  const o = parse(encodeController(3, 1700000000000));
  assert.deepEqual(o, { version: 2, brokerid: 3, timestamp: '1700000000000', kraftControllerEpoch: -1 });
  assert.deepEqual(decodeController(Buffer.from('{"version":1,"brokerid":7,"timestamp":"5"}')), {
    brokerId: 7,
    timestampMs: 5,
    kraftControllerEpoch: -1,
  });
});

test('broker registration is v5 JSON with the first PLAINTEXT endpoint as host/port', () => {
  const b = encodeBrokerInfo(
    {
      id: 1,
      endpoints: [
        { listener: 'INTERNAL', host: '::1', port: 9093, securityProtocol: 'SSL' },
        { listener: 'PLAINTEXT', host: 'h', port: 9092, securityProtocol: 'PLAINTEXT' },
      ],
      rack: 'r1',
    },
    42,
  );
  const o = parse(b);
  assert.deepEqual(keys(o), [
    'endpoints',
    'features',
    'host',
    'jmx_port',
    'listener_security_protocol_map',
    'port',
    'rack',
    'timestamp',
    'version',
  ]);
  assert.equal(o['version'], 5);
  assert.equal(o['host'], 'h');
  assert.equal(o['port'], 9092);
  assert.equal(o['jmx_port'], -1);
  assert.equal(o['timestamp'], '42');
  assert.deepEqual(o['endpoints'], ['INTERNAL://[::1]:9093', 'PLAINTEXT://h:9092']);
  assert.deepEqual(o['listener_security_protocol_map'], { INTERNAL: 'SSL', PLAINTEXT: 'PLAINTEXT' });
  const back = decodeBrokerInfo(1, b);
  assert.deepEqual(back.endpoints[0], { listener: 'INTERNAL', host: '::1', port: 9093, securityProtocol: 'SSL' });
  assert.equal(back.rack, 'r1');
  assert.equal(back.timestampMs, 42);
  // no PLAINTEXT listener: host null, port -1, no rack key
  const o2 = parse(encodeBrokerInfo({ id: 2, endpoints: [{ listener: 'SSL', host: 'x', port: 1, securityProtocol: 'SSL' }] }, 1));
  assert.equal(o2['host'], null);
  assert.equal(o2['port'], -1);
  assert.equal('rack' in o2, false);
  assert.throws(() => decodeBrokerInfo(1, Buffer.from('{"version":5,"endpoints":["nonsense"]}')), ZkDataError);
});

test('topic assignment is v3 with topic_id and adding/removing replicas', () => {
  assert.equal(isKafkaUuid(TOPIC_ID), true);
  const b = encodeTopicAssignment({
    topicId: TOPIC_ID,
    partitions: new Map([
      [1, [2, 3]],
      [0, [1, 2]],
    ]),
  });
  assert.deepEqual(parse(b), {
    version: 3,
    partitions: { '0': [1, 2], '1': [2, 3] },
    adding_replicas: {},
    removing_replicas: {},
    topic_id: TOPIC_ID,
  });
  const a = decodeTopicAssignment('t', b);
  assert.equal(a.topicId, TOPIC_ID);
  assert.deepEqual(
    [...a.partitions],
    [
      [0, [1, 2]],
      [1, [2, 3]],
    ],
  );
  // pre-2.8 (v1) topics have no topic id
  assert.equal(decodeTopicAssignment('t', Buffer.from('{"version":1,"partitions":{"0":[1]}}')).topicId, undefined);
  assert.throws(() => decodeTopicAssignment('t', Buffer.from('{"version":3,"partitions":{"x":[1]}}')), /non-numeric/);
  assert.throws(() => decodeTopicAssignment('t', Buffer.from('{"version":3,"partitions":{"0":["1"]}}')), ZkDataError);
  assert.throws(() => decodeTopicAssignment('t', Buffer.from('not json')), /invalid \/brokers\/topics\/t: not JSON/);
});

test('partition state carries leader_recovery_state only while recovering', () => {
  const s = { leader: 1, leaderEpoch: 4, isr: [1, 2, 3], controllerEpoch: 2, leaderRecoveryState: 0 };
  assert.deepEqual(parse(encodePartitionState(s)), { version: 1, leader: 1, leader_epoch: 4, controller_epoch: 2, isr: [1, 2, 3] });
  const r = parse(encodePartitionState({ ...s, leaderRecoveryState: 1 }));
  assert.equal(r['leader_recovery_state'], 1);
  assert.deepEqual(decodePartitionState('t', 0, encodePartitionState(s)), s);
  assert.equal(partitionStatePath('t', 3), '/brokers/topics/t/partitions/3/state');
  assert.throws(() => decodePartitionState('t', 0, Buffer.from('{"version":1,"leader":1}')), /leader_epoch/);
});

test('entity config, change notifications (v2 written, v1 read), producer id block', () => {
  assert.deepEqual(parse(encodeEntityConfig({ 'retention.ms': '1000' })), { version: 1, config: { 'retention.ms': '1000' } });
  assert.deepEqual(decodeEntityConfig('/config/topics/t', null), {});
  assert.throws(() => decodeEntityConfig('/config/topics/t', Buffer.from('{"version":1,"config":{"a":1}}')), ZkDataError);
  assert.deepEqual(parse(encodeConfigChange('topics', 'foo')), { version: 2, entity_path: 'topics/foo' });
  assert.deepEqual(decodeConfigChange(encodeConfigChange('users', 'u/clients/c')), { entityType: 'users', entityName: 'u/clients/c' });
  assert.deepEqual(decodeConfigChange(Buffer.from('{"version":1,"entity_type":"topics","entity_name":"x"}')), {
    entityType: 'topics',
    entityName: 'x',
  });
  assert.equal(sequenceOf('config_change_0000000012', 'config_change_'), 12);
  assert.equal(sequenceOf('other', 'config_change_'), -1);
  const pb = encodeProducerIdBlock({ brokerId: 0, start: 0, end: 999 });
  assert.deepEqual(parse(pb), { version: 1, broker: 0, block_start: '0', block_end: '999' });
  assert.deepEqual(decodeProducerIdBlock(pb), { brokerId: 0, start: 0, end: 999 });
});

test('persistent paths are the ones Kafka creates at start', () => {
  assert.deepEqual([...PERSISTENT_PATHS].sort(), [
    '/admin/delete_topics',
    '/brokers/ids',
    '/brokers/seqid',
    '/brokers/topics',
    '/config/brokers',
    '/config/changes',
    '/config/clients',
    '/config/ips',
    '/config/topics',
    '/config/users',
    '/consumers',
    '/isr_change_notification',
    '/latest_producer_id_block',
    '/log_dir_event_notification',
  ]);
});

test('randomKafkaUuid makes version-4 ids in Kafka form, never the reserved ones', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const id = randomKafkaUuid();
    assert.ok(isKafkaUuid(id), id);
    const b = Buffer.from(id, 'base64url');
    assert.equal((b[6] as number) >> 4, 4);
    assert.equal((b[8] as number) >> 6, 2);
    seen.add(id);
  }
  assert.equal(seen.size, 200);
});
