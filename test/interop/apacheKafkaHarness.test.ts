// Fast checks of the Apache Kafka harness itself (no broker): tool names map to main classes that
// exist in the cached jars, a missing cache fails with the fix in the message, and runKafkaTool
// reports exit codes, stdin input and time-outs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  KAFKA_TOOL_CLASSES,
  kafkaHome,
  kafkaJarsPresent,
  kafkaToolClass,
  runKafkaTool,
  startApacheKafka,
  type KafkaVersion,
} from '../helpers/apacheKafka.js';

const VERSIONS: KafkaVersion[] = ['3.9', '4.x'];

test('every tool main class is in the cached jars of its version', (t) => {
  for (const v of VERSIONS) {
    assert.ok(kafkaJarsPresent(v), `no Kafka ${v} jars in ${kafkaHome(v)}/lib: run scripts/fetch-kafka.sh`);
    const lib = join(kafkaHome(v), 'lib');
    const jars = readdirSync(lib).filter((f) => /^kafka(-tools|_2\.13)-\d/.test(f));
    const classes = new Set<string>();
    for (const jar of jars) {
      // `jar tf` lists entries without unpacking; only the two jars that hold the tools are read.
      for (const e of execFileSync('jar', ['tf', join(lib, jar)], { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n')) {
        if (e.endsWith('.class')) classes.add(e.slice(0, -'.class'.length).replaceAll('/', '.'));
      }
    }
    for (const tool of Object.keys(KAFKA_TOOL_CLASSES)) {
      const cls = kafkaToolClass(tool, v);
      assert.ok(classes.has(cls), `${tool} (${v}): ${cls} not in ${jars.join(', ')}`);
    }
    t.diagnostic(`${v}: ${jars.join(', ')}`);
  }
  assert.equal(kafkaToolClass('kafka.Kafka'), 'kafka.Kafka');
  assert.throws(() => kafkaToolClass('kafka-nonesuch'), /unknown Kafka tool/);
});

test('a missing jar cache fails with the script to run', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'clustergenie-no-kafka-'));
  const saved = process.env['KAFKA_ORACLE_HOME'];
  process.env['KAFKA_ORACLE_HOME'] = empty;
  try {
    assert.equal(kafkaJarsPresent('3.9'), false);
    await assert.rejects(startApacheKafka({ zkConnect: '127.0.0.1:1' }), /run scripts\/fetch-kafka\.sh/);
    await assert.rejects(runKafkaTool('kafka-topics', ['--version']), /run scripts\/fetch-kafka\.sh/);
  } finally {
    if (saved === undefined) delete process.env['KAFKA_ORACLE_HOME'];
    else process.env['KAFKA_ORACLE_HOME'] = saved;
    await rm(empty, { recursive: true, force: true });
  }
});

test('runKafkaTool: exit code and output, per client version', async () => {
  const v39 = await runKafkaTool('kafka-topics', ['--version']);
  assert.equal(v39.code, 0, v39.stderr);
  assert.match(v39.stdout, /^3\.9\.\d+/);
  const v4 = await runKafkaTool('kafka-topics', ['--version'], { clientVersion: '4.x' });
  assert.equal(v4.code, 0, v4.stderr);
  assert.match(v4.stdout, /^4\.\d+\.\d+/);
  const bad = await runKafkaTool('kafka-topics', ['--no-such-option']);
  assert.notEqual(bad.code, 0);
  assert.equal(bad.timedOut, false);
});

test('runKafkaTool: stdin input reaches the tool, and a hung tool is killed at its deadline', async () => {
  // A console consumer with nothing to connect to blocks until killed.
  const hung = await runKafkaTool('kafka-console-consumer', ['--bootstrap-server', '127.0.0.1:1', '--topic', 't'], { timeoutMs: 3_000 });
  assert.equal(hung.timedOut, true);
  assert.equal(hung.code, null);
  // The console producer sends each stdin line: with a line and no broker, the send fails and it logs
  // the TimeoutException (its exit code stays 0); with empty input it logs no such error.
  const prod = await runKafkaTool(
    'kafka-console-producer',
    ['--bootstrap-server', '127.0.0.1:1', '--topic', 't', '--producer-property', 'max.block.ms=500'],
    { input: 'x\n', timeoutMs: 30_000 },
  );
  assert.equal(prod.timedOut, false);
  assert.match(prod.stderr, /TimeoutException/);
});
