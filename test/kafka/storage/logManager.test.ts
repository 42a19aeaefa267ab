import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LogManager } from '../../../src/kafka/storage/logManager.js';
import { writeOffsetCheckpoint, readOffsetCheckpoint } from '../../../src/kafka/storage/checkpoint.js';
import { FakeClock, buildBatch, config, tmpDir } from './batches.js';

function open(dirs: string[], clock: FakeClock, brokerId = 1): LogManager {
  return LogManager.open({ logDirs: dirs, brokerId, clusterId: 'clusterAbc', defaults: config(), now: clock.now });
}

test("checkpoint files are Kafka's text format, byte for byte", () => {
  const root = tmpDir();
  try {
    const f = path.join(root, 'cp');
    writeOffsetCheckpoint(f, [
      { topic: 'a', partition: 0, offset: 5 },
      { topic: 'b.c-d', partition: 12, offset: 0 },
    ]);
    assert.equal(fs.readFileSync(f, 'utf8'), '0\n2\na 0 5\nb.c-d 12 0\n');
    assert.deepEqual(
      [...readOffsetCheckpoint(f)],
      [
        ['a-0', 5],
        ['b.c-d-12', 0],
      ],
    );
    writeOffsetCheckpoint(f, []);
    assert.equal(fs.readFileSync(f, 'utf8'), '0\n0\n');
    fs.writeFileSync(f, '0\n3\na 0 5\n');
    assert.throws(() => readOffsetCheckpoint(f), /expected 3 entries/);
    assert.ok(!fs.existsSync(`${f}.tmp`));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('log manager lays out dirs, spreads logs, checkpoints, marks a clean shutdown and reloads', () => {
  const root = tmpDir();
  try {
    const d1 = path.join(root, 'd1');
    const d2 = path.join(root, 'd2');
    const clock = new FakeClock();
    const m = open([d1, d2], clock);
    const meta = fs.readFileSync(path.join(d1, 'meta.properties'), 'utf8');
    assert.match(meta, /^version=0$/m);
    assert.match(meta, /^broker\.id=1$/m);
    assert.match(meta, /^cluster\.id=clusterAbc$/m);
    const a0 = m.getOrCreateLog('a', 0, 'TOPICIDAAAAAAAAAAAAAAA', config());
    const a1 = m.getOrCreateLog('a', 1, 'TOPICIDAAAAAAAAAAAAAAA', config());
    assert.notEqual(path.dirname(a0.dir), path.dirname(a1.dir), 'spread over the dirs');
    assert.equal(m.getOrCreateLog('a', 0, undefined, config()), a0);
    for (let i = 0; i < 5; i++) a0.append(buildBatch({ count: 2 }), 3);
    a0.highWatermark = 6;
    a0.deleteRecordsBefore(4);
    m.checkpoint();
    const dirOf = path.dirname(a0.dir);
    assert.equal(fs.readFileSync(path.join(dirOf, 'replication-offset-checkpoint'), 'utf8'), '0\n1\na 0 6\n');
    assert.equal(fs.readFileSync(path.join(dirOf, 'log-start-offset-checkpoint'), 'utf8'), '0\n1\na 0 4\n');
    assert.equal(fs.readFileSync(path.join(dirOf, 'recovery-point-offset-checkpoint'), 'utf8'), '0\n1\na 0 0\n');
    m.close();
    assert.equal(fs.readFileSync(path.join(d1, '.kafka_cleanshutdown'), 'utf8'), '{"version":0,"brokerEpoch":-1}');
    assert.equal(fs.readFileSync(path.join(dirOf, 'recovery-point-offset-checkpoint'), 'utf8'), '0\n1\na 0 10\n');

    const m2 = open([d1, d2], clock);
    assert.ok(!fs.existsSync(path.join(d1, '.kafka_cleanshutdown')), 'the marker is consumed at load');
    const again = m2.getLog('a', 0)!;
    assert.equal(again.logEndOffset, 10);
    assert.equal(again.logStartOffset, 4);
    assert.equal(again.highWatermark, 6);
    assert.equal(again.recoveryPoint, 10);
    assert.equal(again.topicId, 'TOPICIDAAAAAAAAAAAAAAA');
    assert.equal([...m2.logs()].length, 2);
    m2.close();
    assert.throws(() => open([d1, d2], clock, 2), /broker\.id/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('deleteLog renames to <topic>-<p>.<uuid>-delete and removes it after file.delete.delay.ms; tick runs retention', () => {
  const root = tmpDir();
  try {
    const clock = new FakeClock();
    const m = LogManager.open({
      logDirs: [root],
      brokerId: 1,
      clusterId: 'c',
      defaults: config(),
      now: clock.now,
      retentionCheckIntervalMs: 1000,
    });
    const log = m.getOrCreateLog('gone', 3, undefined, config({ fileDeleteDelayMs: 500 }));
    log.append(buildBatch(), 0);
    m.deleteLog('gone', 3);
    assert.equal(m.getLog('gone', 3), undefined);
    const names = fs.readdirSync(root).filter((n) => n.startsWith('gone-3'));
    assert.equal(names.length, 1);
    assert.match(names[0], /^gone-3\.[0-9a-f]{32}-delete$/);
    clock.t += 500;
    m.tick(clock.t);
    assert.equal(fs.readdirSync(root).filter((n) => n.startsWith('gone-3')).length, 0);

    const kept = m.getOrCreateLog('r', 0, undefined, config({ retentionMs: 10, segmentBytes: 100 }));
    for (let i = 0; i < 3; i++) kept.append(buildBatch({ timestamp: 5, valueBytes: 40 }), 0);
    kept.highWatermark = kept.logEndOffset;
    assert.equal(kept.segmentBaseOffsets().length, 3);
    clock.t += 1000;
    m.tick(clock.t);
    assert.equal(kept.logStartOffset, 3);
    m.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('an unclean shutdown (no marker) recovers from the recovery point checkpoint', () => {
  const root = tmpDir();
  try {
    const clock = new FakeClock();
    const m = open([root], clock);
    const log = m.getOrCreateLog('u', 0, undefined, config());
    for (let i = 0; i < 4; i++) log.append(buildBatch({ count: 2 }), 1);
    m.checkpoint();
    // "Crash": tear the tail without closing.
    const logFile = path.join(log.dir, '00000000000000000000.log');
    fs.truncateSync(logFile, fs.statSync(logFile).size - 3);
    const m2 = open([root], clock);
    assert.equal(m2.getLog('u', 0)!.logEndOffset, 6);
    m2.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
