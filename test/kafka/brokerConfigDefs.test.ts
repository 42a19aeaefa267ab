import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BROKER_CONFIG_DEFS, brokerConfigEntries } from '../../src/kafka/brokerConfigDefs.js';
import { parseServerProperties } from '../../src/kafka/config.js';

const ZK = 'zookeeper.connect=localhost:2181\n';
const STATIC = 4;
const DEFAULT = 5;
const entriesFor = (text: string) => {
  const entries = brokerConfigEntries(parseServerProperties(ZK + text, {}));
  return new Map(entries.map((e) => [e.name, e]));
};

test('every listed broker config is a key the config parser knows, listed once', () => {
  const names = BROKER_CONFIG_DEFS.map((d) => d.name);
  assert.equal(new Set(names).size, names.length, 'a key is listed twice');
  // Setting each key to its default must neither fail nor be reported as unknown.
  const text = BROKER_CONFIG_DEFS.filter((d) => d.default !== null && d.name !== 'log.dir')
    .map((d) => `${d.name}=${d.default}`)
    .join('\n');
  const config = parseServerProperties(`${ZK}${text}\n`, {});
  assert.deepEqual(config.unknownKeys, []);
});

test('unset keys report Kafka defaults; set keys the file value as Kafka renders it', () => {
  const e = entriesFor('num.partitions=+03\nauto.create.topics.enable=FALSE\nlog.cleanup.policy= compact , delete\n');
  assert.deepEqual(
    [e.get('num.partitions')?.value, e.get('num.partitions')?.configSource, e.get('num.partitions')?.readOnly],
    ['3', STATIC, true],
  );
  assert.equal(e.get('auto.create.topics.enable')?.value, 'false');
  assert.equal(e.get('log.cleanup.policy')?.value, 'compact,delete');
  assert.equal(e.get('log.cleanup.policy')?.readOnly, false, 'log.cleanup.policy is dynamic in Kafka');
  assert.deepEqual(e.get('num.partitions')?.synonyms, [
    { name: 'num.partitions', value: '+03', source: STATIC },
    { name: 'num.partitions', value: '1', source: DEFAULT },
  ]);
  const seg = e.get('log.segment.bytes')!;
  assert.deepEqual([seg.value, seg.configSource, seg.configType], ['1073741824', DEFAULT, 3]);
  assert.equal(e.get('broker.rack')?.value, null);
  assert.ok(e.get('message.max.bytes')?.documentation);
});

test('synonym chains: log.retention.ms falls back to minutes and hours', () => {
  const hoursOnly = entriesFor('log.retention.hours=24\n');
  // As Kafka: the chain of log.retention.ms does not start with itself, so it lists nothing.
  assert.deepEqual([hoursOnly.get('log.retention.ms')?.value, hoursOnly.get('log.retention.ms')?.synonyms], [null, []]);
  assert.deepEqual(hoursOnly.get('log.retention.hours')?.synonyms, [
    { name: 'log.retention.hours', value: '24', source: STATIC },
    { name: 'log.retention.hours', value: '168', source: DEFAULT },
  ]);
  const both = entriesFor('log.retention.ms=1000\nlog.retention.hours=24\n');
  assert.deepEqual(both.get('log.retention.ms')?.synonyms, [
    { name: 'log.retention.ms', value: '1000', source: STATIC },
    { name: 'log.retention.hours', value: '24', source: STATIC },
    { name: 'log.retention.hours', value: '168', source: DEFAULT },
  ]);
});
