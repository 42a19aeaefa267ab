import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  KafkaConfigError,
  envVarToKey,
  loadServerProperties,
  parseJavaProperties,
  parseServerProperties,
  parseZkConnect,
} from '../../src/kafka/config.js';
import { LONG_MAX } from '../../src/kafka/storage/logConfig.js';

const ZK = 'zookeeper.connect=localhost:2181\n';
const parse = (text: string, env: Record<string, string> = {}) => parseServerProperties(text, env);

test('Java properties syntax: separators, comments, continuations, escapes', () => {
  const text = [
    '# comment',
    '! also a comment',
    '  a=1',
    'b : two words  ',
    'c three',
    'd=first,\\',
    '   second',
    'e\\=x=tab\\there\\u0041',
    'f=ends with backslash\\\\',
    'g=',
    'h',
    '# comment ending in backslash \\',
    'i=after',
  ].join('\r\n');
  const props = parseJavaProperties(text);
  const get = (k: string) => props.find((p) => p.key === k);
  assert.equal(get('a')?.value, '1');
  assert.equal(get('b')?.value, 'two words');
  assert.equal(get('c')?.value, 'three');
  assert.equal(get('d')?.value, 'first,second');
  assert.equal(get('d')?.line, 6);
  assert.equal(get('e=x')?.value, 'tab\thereA');
  assert.equal(get('f')?.value, 'ends with backslash\\');
  assert.equal(get('g')?.value, '');
  assert.equal(get('h')?.value, '');
  assert.equal(get('i')?.value, 'after');
  assert.throws(() => parseJavaProperties('k=\\u12'), KafkaConfigError);
});

test('defaults match Kafka 3.9', () => {
  const c = parse(ZK);
  assert.equal(c.brokerId, -1);
  assert.equal(c.brokerIdGenerationEnable, true);
  assert.equal(c.reservedBrokerMaxId, 1000);
  assert.deepEqual(c.listeners, [{ name: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: '', port: 9092 }]);
  assert.deepEqual(c.advertisedListeners, c.listeners);
  assert.equal(c.listener.port, 9092);
  assert.equal(c.interBrokerListenerName, 'PLAINTEXT');
  assert.deepEqual(c.logDirs, ['/tmp/kafka-logs']);
  assert.equal(c.zookeeperSessionTimeoutMs, 18000);
  assert.equal(c.zookeeperConnectionTimeoutMs, 18000);
  assert.equal(c.numPartitions, 1);
  assert.equal(c.defaultReplicationFactor, 1);
  assert.equal(c.autoCreateTopicsEnable, true);
  assert.equal(c.deleteTopicEnable, true);
  assert.equal(c.logRetentionMs, 168 * 3600_000);
  assert.equal(c.logRetentionBytes, -1);
  assert.equal(c.logSegmentBytes, 1073741824);
  assert.equal(c.logRollMs, 168 * 3600_000);
  assert.deepEqual(c.logCleanupPolicy, ['delete']);
  assert.equal(c.logRetentionCheckIntervalMs, 300000);
  assert.equal(c.logFlushIntervalMessages, LONG_MAX);
  assert.equal(c.logFlushIntervalMs, LONG_MAX);
  assert.equal(c.logIndexIntervalBytes, 4096);
  assert.equal(c.logSegmentDeleteDelayMs, 60000);
  assert.equal(c.messageMaxBytes, 1048588);
  assert.equal(c.minInsyncReplicas, 1);
  assert.equal(c.uncleanLeaderElectionEnable, false);
  assert.equal(c.offsetsTopicNumPartitions, 50);
  assert.equal(c.offsetsTopicReplicationFactor, 3);
  assert.equal(c.offsetsTopicSegmentBytes, 104857600);
  assert.equal(c.offsetsRetentionMinutes, 10080);
  assert.equal(c.offsetsRetentionMs, 10080 * 60_000);
  assert.equal(c.offsetMetadataMaxBytes, 4096);
  assert.equal(c.groupInitialRebalanceDelayMs, 3000);
  assert.equal(c.groupMinSessionTimeoutMs, 6000);
  assert.equal(c.groupMaxSessionTimeoutMs, 1800000);
  assert.equal(c.groupMaxSize, 2147483647);
  assert.equal(c.producerIdExpirationMs, 86400000);
  assert.equal(c.transactionalIdExpirationMs, 604800000);
  assert.equal(c.brokerRack, undefined);
  assert.equal(c.socketRequestMaxBytes, 104857600);
  assert.equal(c.compressionType, 'producer');
  assert.equal(c.logMessageTimestampType, 'CreateTime');
  assert.equal(c.replicaLagTimeMaxMs, 30000);
  assert.equal(c.autoLeaderRebalanceEnable, true);
  assert.equal(c.controlledShutdownEnable, true);
  assert.deepEqual(c.unknownKeys, []);
  assert.equal(c.logDefaults.segmentBytes, 1073741824);
  assert.equal(c.logDefaults.maxMessageBytes, 1048588);
});

test('a typical server.properties', () => {
  const c = parse(
    [
      'broker.id=3',
      'listeners=PLAINTEXT://127.0.0.1:0',
      'advertised.listeners=PLAINTEXT://localhost:0',
      'log.dirs=/data/a, /data/b',
      'zookeeper.connect=zk1:2181,zk2,[::1]:2182/kafka/prod',
      'zookeeper.connection.timeout.ms=6000',
      'num.network.threads=3',
      'num.io.threads=8',
      'broker.rack=rack-1',
      'log.cleanup.policy=compact,delete',
      'log.message.timestamp.type=LogAppendTime',
      'compression.type=zstd',
      'log.flush.interval.messages=9223372036854775807',
      'cluster.id=abc',
      'some.unknown.key=1',
    ].join('\n'),
  );
  assert.equal(c.brokerId, 3);
  assert.deepEqual(c.listener, { name: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: '127.0.0.1', port: 0 });
  assert.equal(c.advertisedListener.host, 'localhost');
  assert.deepEqual(c.logDirs, ['/data/a', '/data/b']);
  assert.deepEqual(c.zookeeper.servers, [
    { host: 'zk1', port: 2181 },
    { host: 'zk2', port: 2181 },
    { host: '::1', port: 2182 },
  ]);
  assert.equal(c.zookeeper.chroot, '/kafka/prod');
  assert.equal(c.zookeeperConnect, 'zk1:2181,zk2,[::1]:2182/kafka/prod');
  assert.equal(c.zookeeperConnectionTimeoutMs, 6000);
  assert.equal(c.brokerRack, 'rack-1');
  assert.deepEqual(c.logCleanupPolicy, ['compact', 'delete']);
  assert.equal(c.logDefaults.messageTimestampType, 'LogAppendTime');
  assert.equal(c.compressionType, 'zstd');
  assert.equal(c.logFlushIntervalMessages, LONG_MAX);
  assert.deepEqual(c.unknownKeys, ['some.unknown.key']);
  assert.ok(c.warnings.some((w) => w.startsWith('num.network.threads has no effect')));
  assert.ok(c.warnings.some((w) => w.startsWith('num.io.threads has no effect')));
  assert.ok(c.warnings.some((w) => w.startsWith('cluster.id is not a broker setting')));
});

test('retention: ms wins over minutes over hours; negative is unlimited; 0 is refused', () => {
  assert.equal(parse(`${ZK}log.retention.hours=1\nlog.retention.minutes=5\nlog.retention.ms=777`).logRetentionMs, 777);
  assert.equal(parse(`${ZK}log.retention.hours=1\nlog.retention.minutes=5`).logRetentionMs, 300_000);
  assert.equal(parse(`${ZK}log.retention.hours=2`).logRetentionMs, 7_200_000);
  assert.equal(parse(`${ZK}log.retention.ms=-5`).logRetentionMs, -1);
  assert.throws(() => parse(`${ZK}log.retention.ms=0`), /log\.retention\.ms.*line 2/);
  assert.equal(parse(`${ZK}log.roll.hours=2\nlog.roll.ms=10`).logRollMs, 10);
  assert.equal(parse(`${ZK}log.roll.hours=2`).logRollMs, 7_200_000);
  assert.equal(parse(`${ZK}log.flush.interval.ms=5`).logFlushIntervalMs, 5);
});

test('environment variables override the file', () => {
  assert.equal(envVarToKey('KAFKA_LOG_DIRS'), 'log.dirs');
  assert.equal(envVarToKey('KAFKA_ABC__DEF'), 'abc_def');
  assert.equal(envVarToKey('KAFKA_ABC___DEF'), 'abc-def');
  assert.equal(envVarToKey('KAFKA_CFG_BROKER_ID'), 'broker.id');
  assert.equal(envVarToKey('KAFKA_HEAP_OPTS'), undefined);
  assert.equal(envVarToKey('PATH'), undefined);
  const c = parse(`${ZK}broker.id=1\nnum.partitions=2\n`, {
    KAFKA_BROKER_ID: '7',
    KAFKA_LOG_DIRS: '/env/logs',
    KAFKA_OPTS: '-Xmx1g',
    HOME: '/root',
  });
  assert.equal(c.brokerId, 7);
  assert.equal(c.numPartitions, 2);
  assert.deepEqual(c.logDirs, ['/env/logs']);
  assert.deepEqual(c.unknownKeys, []);
  assert.throws(
    () => parse(ZK, { KAFKA_NUM_PARTITIONS: 'many' }),
    (e: Error) => e instanceof KafkaConfigError && /num\.partitions/.test(e.message) && /KAFKA_NUM_PARTITIONS/.test(e.message),
  );
});

test('bad values name the key, the line and what is expected', () => {
  const cases: [string, RegExp][] = [
    ['num.partitions=0', /num\.partitions.*line 2.*at least 1/],
    ['num.partitions=1.5', /num\.partitions.*line 2.*integer/],
    ['message.max.bytes=3000000000', /message\.max\.bytes.*line 2.*int32/],
    ['auto.create.topics.enable=yes', /auto\.create\.topics\.enable.*line 2.*true or false/],
    ['compression.type=brotli', /compression\.type.*line 2.*one of/],
    ['log.cleanup.policy=delete,forever', /log\.cleanup\.policy.*line 2/],
    ['broker.id=1001', /broker\.id.*reserved\.broker\.max\.id/],
    ['listeners=PLAINTEXT://:9092,PLAINTEXT://:9093', /different name/],
    ['listeners=A://:9092,B://:9092\nlistener.security.protocol.map=A:PLAINTEXT,B:PLAINTEXT', /different port/],
    ['listeners=PLAINTEXT:9092', /listeners.*NAME:\/\/host:port/],
    ['listeners=INTERNAL://:9092', /no security protocol defined for listener INTERNAL/],
    ['listeners=SSL://:9093', /SSL.*only PLAINTEXT is supported/],
    ['listeners=SASL_PLAINTEXT://:9093', /only PLAINTEXT is supported/],
    ['advertised.listeners=PLAINTEXT://0.0.0.0:9092', /0\.0\.0\.0/],
    ['listeners=PLAINTEXT://0.0.0.0:9092', /0\.0\.0\.0/],
    ['inter.broker.listener.name=OTHER', /inter\.broker\.listener\.name.*advertised\.listeners/],
    ['listener.security.protocol.map=PLAINTEXT:BOGUS', /invalid security protocol/],
  ];
  for (const [line, re] of cases) {
    assert.throws(
      () => parse(ZK + line),
      (e: Error) => e instanceof KafkaConfigError && re.test(e.message),
      line,
    );
  }
  assert.throws(() => parse('broker.id=1'), /zookeeper\.connect/);
  assert.throws(() => parse('zookeeper.connect=zk:abc'), /zookeeper\.connect.*line 1/);
  assert.throws(() => parse(`${ZK}broker.id.generation.enable=false`), /broker\.id/);
  // 0.0.0.0 to bind is fine once something routable is advertised.
  const c = parse(`${ZK}listeners=PLAINTEXT://0.0.0.0:9092\nadvertised.listeners=PLAINTEXT://h:9092`);
  assert.equal(c.listener.host, '0.0.0.0');
});

test('several listeners: the inter-broker one is served', () => {
  const c = parse(
    ZK +
      'listeners=INTERNAL://127.0.0.1:0,EXTERNAL://127.0.0.1:0\n' +
      'listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT\n' +
      'inter.broker.listener.name=internal\n',
  );
  assert.equal(c.interBrokerListenerName, 'INTERNAL');
  assert.equal(c.listener.name, 'INTERNAL');
  assert.equal(c.listeners.length, 2);
});

test('parseZkConnect', () => {
  assert.deepEqual(parseZkConnect('a:1/'), { connectString: 'a:1/', servers: [{ host: 'a', port: 1 }], chroot: '' });
  assert.throws(() => parseZkConnect('a:1/bad/'));
  assert.throws(() => parseZkConnect(''));
});

test('loadServerProperties names the file in errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kcfg-'));
  try {
    const file = join(dir, 'server.properties');
    writeFileSync(file, `${ZK}broker.id=2\n`);
    assert.equal(loadServerProperties(file, {}).brokerId, 2);
    writeFileSync(file, `${ZK}num.partitions=x\n`);
    assert.throws(
      () => loadServerProperties(file, {}),
      (e: Error) => e.message.includes(`line 2 of ${file}`),
    );
    assert.throws(() => loadServerProperties(join(dir, 'missing'), {}), KafkaConfigError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
