// The Log Consumer's pure core: labels and lines, batch limits, and which offsets may be committed.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type InRecord, LogBatcher, parseEvent, streamLabels } from '../../../../src/genie/logs/consumer/batcher.js';
import { backoffMs, classifyStatus, pushUrl } from '../../../../src/genie/logs/consumer/push.js';
import type { LogEvent } from '../../../../src/genie/logs/logEvent.js';

const event = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  message: 'hello',
  timestamp: '2026-12-07T11:00:00.123456789Z',
  host: 'h1',
  source_type: 'file',
  file: '/var/log/app/api.log',
  ...over,
});
const rec = (partition: number, offset: number, value: unknown, timestampMs = 1_700_000_000_000n): InRecord => ({
  partition,
  offset: BigInt(offset),
  value: value === undefined ? undefined : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  timestampMs,
});

test('labels are service, level, host and env only; lines and timestamps come from the event', () => {
  const b = new LogBatcher({ env: 'prod', batchWaitMs: 0 });
  b.add(rec(0, 0, event({ level: 'warn', job_id: 'j-123', service: 'api' })), 0);
  b.add(rec(0, 1, event({ level: 50, timestamp: 'not a time' }), 1_700_000_000_456n), 0);
  b.cut();
  const batch = b.head!;
  assert.equal(batch.entries, 2);
  assert.deepEqual(
    batch.streams.map((s) => s.labels),
    [
      { service: 'api', level: 'warn', host: 'h1', env: 'prod' },
      { service: 'api', level: 'error', host: 'h1', env: 'prod' }, // service from the file's base name
    ],
  );
  assert.deepEqual(batch.streams[0]!.entries, [{ tsNs: 1796641200123456789n, line: 'hello' }]);
  // No usable timestamp in the event: the record's own (ms) is used.
  assert.deepEqual(batch.streams[1]!.entries, [{ tsNs: 1_700_000_000_456_000_000n, line: 'hello' }]);
});

test('line format json sends the whole event; an event without a message is sent whole too', () => {
  const b = new LogBatcher({ lineFormat: 'json' });
  const raw = JSON.stringify(event());
  b.add({ partition: 0, offset: 0n, value: Buffer.from(raw), timestampMs: 0n }, 0);
  const m = new LogBatcher();
  const noMessage = { timestamp: '2026-12-07T11:00:00Z', host: 7, source_type: 42 };
  m.add(rec(0, 0, noMessage), 0);
  b.cut();
  m.cut();
  assert.equal(b.head!.streams[0]!.entries[0]!.line, raw);
  assert.equal(m.head!.streams[0]!.entries[0]!.line, JSON.stringify(noMessage));
  // Wrong types never reach a label as non-strings.
  assert.deepEqual(m.head!.streams[0]!.labels, { service: 'unknown', level: 'unknown', host: 'unknown', env: 'dev' });
});

test('malformed records are classified and advance offsets without entries', () => {
  assert.equal(parseEvent(undefined), 'empty');
  assert.equal(parseEvent(Buffer.from('{oops')), 'not_json');
  assert.equal(parseEvent(Buffer.from('[1,2]')), 'not_object');
  assert.equal(parseEvent(Buffer.from('"text"')), 'not_object');
  assert.equal(parseEvent(Buffer.from('null')), 'not_object');
  assert.deepEqual(streamLabels(event() as LogEvent, 'dev'), { service: 'api', level: 'unknown', host: 'h1', env: 'dev' });

  const b = new LogBatcher({ batchWaitMs: 100, batchLingerMs: 100 });
  assert.deepEqual(b.add(rec(0, 0, '{oops'), 0), { kind: 'dropped', reason: 'not_json' });
  assert.deepEqual(b.add(rec(1, 5, undefined), 0), { kind: 'dropped', reason: 'empty' });
  assert.equal(b.tick(99), false);
  assert.equal(b.tick(100), true);
  // Nothing to push and nothing before it pending: the offsets are due at once.
  assert.equal(b.head, undefined);
  assert.deepEqual(b.takeCommits(), [
    { partition: 0, offset: 1n },
    { partition: 1, offset: 6n },
  ]);
});

test('a malformed record after a pending one is committed only with it', () => {
  const b = new LogBatcher({ batchWaitMs: 0 });
  b.add(rec(0, 10, event()), 0);
  b.cut(); // batch 1: offset 10, being pushed
  b.add(rec(0, 11, 'garbage'), 0);
  b.cut(); // batch 2: only offset 11 (no entries), behind batch 1
  assert.equal(b.queuedBatches, 2);
  assert.deepEqual(b.takeCommits(), []);
  b.settle(b.head!.id);
  assert.equal(b.queuedBatches, 0, 'the entry-less batch behind settles with it');
  assert.deepEqual(b.takeCommits(), [{ partition: 0, offset: 12n }]);
});

test('batches are cut by entries, by bytes and by age; a full queue asks for a pause', () => {
  const b = new LogBatcher({ batchEntriesMax: 3, batchBytesMax: 1000, batchWaitMs: 50, batchesQueuedMax: 2 });
  const queued = (): number => b.queuedBatches; // a call, so assert's narrowing does not stick
  for (let i = 0; i < 3; i++) b.add(rec(0, i, event({ message: `m${i}` })), 0);
  assert.equal(queued(), 1);
  assert.equal(b.head!.entries, 3);
  // Bytes: three 400-byte lines do not fit 1000 bytes; the third starts a new batch.
  for (let i = 3; i < 6; i++) b.add(rec(0, i, event({ message: 'x'.repeat(400) })), 10);
  assert.equal(queued(), 2);
  assert.equal(b.full, true);
  assert.equal(b.bufferedEntries, 6);
  // The third big line waits in the open batch until it is old enough.
  assert.equal(b.tick(59), false);
  assert.equal(b.tick(60), true);
  assert.equal(queued(), 3);
  const sizes: number[] = [];
  for (let h = b.head; h; h = b.head) {
    sizes.push(h.entries);
    assert.ok(h.bytes <= 1000 || h.entries === 1);
    b.settle(h.id);
  }
  assert.deepEqual(sizes, [3, 2, 1]);
  assert.deepEqual(b.takeCommits(), [{ partition: 0, offset: 6n }]);
  assert.throws(() => b.settle(99), /not the one being pushed/);
});

test('light load is cut after batchLingerMs; while a push is under way the batch keeps filling up to batchWaitMs', () => {
  const b = new LogBatcher({ batchEntriesMax: 100, batchWaitMs: 1000, batchLingerMs: 20 });
  assert.equal(b.dueAtMs(), undefined);
  b.add(rec(0, 0, event({ message: 'lone' })), 0);
  assert.equal(b.dueAtMs(), 20);
  assert.equal(b.tick(19), false);
  assert.equal(b.tick(20), true);
  const first = b.head!;
  assert.equal(first.entries, 1);
  // A push is under way: what comes meanwhile waits for it (or for batchWaitMs), not for the linger.
  for (let i = 1; i <= 5; i++) b.add(rec(0, i, event({ message: `m${i}` })), 30 + i);
  assert.equal(b.dueAtMs(), 1031);
  assert.equal(b.tick(500), false);
  b.settle(first.id);
  // Settled: the open batch is past its linger, so it is due at once, with everything that came.
  assert.equal(b.dueAtMs(), 51);
  assert.equal(b.tick(60), true);
  assert.equal(b.head!.entries, 5);
  b.settle(b.head!.id);
  assert.deepEqual(b.takeCommits(), [{ partition: 0, offset: 6n }]);
  // batchWaitMs below the linger wins; the entries limit still cuts at once.
  const c = new LogBatcher({ batchEntriesMax: 2, batchWaitMs: 5, batchLingerMs: 20 });
  c.add(rec(0, 0, event()), 100);
  assert.equal(c.dueAtMs(), 105);
  c.add(rec(0, 1, event()), 101);
  assert.equal(c.queuedBatches, 1);
  assert.equal(c.dueAtMs(), undefined);
});

test('a line bigger than batchBytesMax goes alone', () => {
  const b = new LogBatcher({ batchBytesMax: 100 });
  b.add(rec(0, 0, event({ message: 'a' })), 0);
  b.add(rec(0, 1, event({ message: 'y'.repeat(500) })), 0);
  assert.equal(b.queuedBatches, 2);
  assert.equal(b.head!.entries, 1);
  b.settle(b.head!.id);
  assert.equal(b.head!.entries, 1);
  assert.equal(b.head!.streams[0]!.entries[0]!.line.length, 500);
});

test('commits never go back; lost partitions are not committed; failed commits come back', () => {
  const owned = new Set([0, 1]);
  const isOwned = (p: number): boolean => owned.has(p);
  const b = new LogBatcher();
  b.add(rec(0, 20, event()), 0);
  b.add(rec(1, 7, event()), 0);
  b.cut();
  b.settle(b.head!.id);
  const c1 = b.takeCommits();
  assert.deepEqual(c1, [
    { partition: 0, offset: 21n },
    { partition: 1, offset: 8n },
  ]);
  b.returnCommits(c1, isOwned); // the commit failed
  const c2 = b.takeCommits();
  assert.deepEqual(c2, c1);
  b.confirmCommits(c2, isOwned);
  // A rewound stream (after a rejoin) re-reads 15..: pushed again, but the commit stays at 21.
  b.add(rec(0, 15, event()), 0);
  b.cut();
  b.settle(b.head!.id);
  assert.deepEqual(b.takeCommits(), []);
  // Partition 1 is lost while its records are batched: still pushed, no longer committed.
  b.add(rec(1, 8, event()), 0);
  b.add(rec(0, 21, event()), 0);
  b.cut();
  owned.delete(1);
  b.losePartitions([1]);
  assert.equal(b.head!.entries, 2);
  b.settle(b.head!.id);
  assert.deepEqual(b.takeCommits(), [{ partition: 0, offset: 22n }]);
});

test('limits are checked', () => {
  assert.throws(() => new LogBatcher({ batchEntriesMax: 0 }), /batchEntriesMax/);
  assert.throws(() => new LogBatcher({ batchBytesMax: 1.5 }), /batchBytesMax/);
  assert.throws(() => new LogBatcher({ batchWaitMs: -1 }), /batchWaitMs/);
  assert.throws(() => new LogBatcher({ batchLingerMs: -1 }), /batchLingerMs/);
});

test('push outcomes and backoff', () => {
  assert.equal(classifyStatus(204, '').kind, 'accepted');
  assert.deepEqual(classifyStatus(400, 'entry too far behind\n'), { kind: 'rejected', status: 400, reason: 'entry too far behind' });
  assert.equal(classifyStatus(413, '').kind, 'rejected');
  for (const s of [429, 500, 502, 503, 401, 404]) assert.equal(classifyStatus(s, '').kind, 'retry', String(s));
  const policy = { backoffMsMin: 100, backoffMsMax: 1000 };
  assert.equal(backoffMs(1, policy, 0), 50);
  assert.equal(backoffMs(1, policy, 1), 100);
  assert.equal(backoffMs(3, policy, 1), 400);
  assert.equal(backoffMs(50, policy, 0.999_999), 1000);
  assert.equal(backoffMs(50, policy, 0), 500);
  assert.equal(pushUrl('http://127.0.0.1:3100/'), 'http://127.0.0.1:3100/loki/api/v1/push');
  assert.equal(pushUrl('http://l:3100/loki/api/v1/push'), 'http://l:3100/loki/api/v1/push');
});
