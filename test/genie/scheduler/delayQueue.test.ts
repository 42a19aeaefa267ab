import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DelayedRecord, JobSpec } from '../../../src/genie/jobs/events.js';
import { DelayQueue, parseDelayedRecord } from '../../../src/genie/scheduler/delayQueue.js';

const spec = (id: string): JobSpec => ({
  id,
  type: 'echo',
  payload: null,
  priority: 'normal',
  attemptsMax: 3,
  backoff: { type: 'fixed', delayMs: 10, delayMsMax: 10 },
  timeoutMs: 1000,
  createdAt: new Date(0).toISOString(),
});

function delayed(id: string, dueAtMs: number): DelayedRecord {
  return {
    v: 1,
    type: 'job.delayed',
    jobId: id,
    dueAt: new Date(dueAtMs).toISOString(),
    next: {
      v: 1,
      type: 'job.queued',
      jobId: id,
      at: new Date(0).toISOString(),
      producer: 'worker/w',
      spec: spec(id),
      attempt: 2,
      attemptLimit: 3,
    },
  };
}

describe('DelayQueue', () => {
  test('releases records at their due time, earliest first, across partitions', () => {
    const q = new DelayQueue();
    q.add(0, 10n, delayed('a', 3000));
    q.add(1, 5n, delayed('b', 1000));
    q.add(0, 11n, delayed('c', 2000));
    assert.equal(q.nextDueAt(), 1000);
    assert.deepEqual(q.due(999), []);
    assert.deepEqual(
      q.due(2000).map((e) => e.record.jobId),
      ['b', 'c'],
    );
    assert.equal(q.nextDueAt(), 3000);
    assert.deepEqual(
      q.due(10_000).map((e) => e.record.jobId),
      ['a'],
    );
    assert.equal(q.nextDueAt(), undefined);
    assert.equal(q.size, 3, 'being produced still counts until acknowledged');
  });

  test('commitOffset is the lowest offset not yet produced, else the next to read', () => {
    const q = new DelayQueue();
    assert.equal(q.commitOffset(0), undefined);
    q.add(0, 0n, delayed('far', 1_000_000));
    q.add(0, 1n, delayed('near', 10));
    q.add(0, 2n, delayed('mid', 20));
    assert.equal(q.commitOffset(0), 0n);
    const due = q.due(100);
    assert.deepEqual(
      due.map((e) => e.offset),
      [1n, 2n],
    );
    for (const e of due) q.produced(e.partition, e.offset);
    assert.equal(q.commitOffset(0), 0n, 'the far record holds the commit');
    const [far] = q.due(1_000_000);
    q.produced(0, far!.offset);
    assert.equal(q.commitOffset(0), 3n);
    assert.equal(q.size, 0);
  });

  test('a produced-but-unacknowledged record holds the commit; a failed one waits again', () => {
    const q = new DelayQueue();
    q.add(2, 7n, delayed('x', 0));
    const [e] = q.due(0);
    assert.equal(q.commitOffset(2), 7n);
    assert.deepEqual(q.due(0), [], 'not handed out twice');
    q.retry(2, 7n, 500);
    assert.equal(q.nextDueAt(), 500);
    assert.deepEqual(q.due(499), []);
    assert.equal(q.due(500)[0], e);
    q.produced(2, 7n);
    assert.equal(q.commitOffset(2), 8n);
  });

  test('re-delivered offsets are duplicates; malformed ones are consumed without being held', () => {
    const q = new DelayQueue();
    assert.equal(q.add(0, 4n, delayed('a', 0)), 'added');
    assert.equal(q.add(0, 5n, null), 'skipped');
    assert.equal(q.add(0, 4n, delayed('a', 0)), 'duplicate');
    assert.equal(q.add(0, 5n, null), 'duplicate');
    assert.equal(q.size, 1);
    const [e] = q.due(0);
    q.produced(0, e!.offset);
    assert.equal(q.commitOffset(0), 6n);
  });

  test('isFull at delayedRecordsMax; produced records make room', () => {
    const q = new DelayQueue({ delayedRecordsMax: 3 });
    for (let i = 0; i < 3; i++) q.add(0, BigInt(i), delayed(`j${i}`, i));
    assert.equal(q.isFull(), true);
    const [first] = q.due(0);
    assert.equal(q.isFull(), true, 'still held while being produced');
    q.produced(0, first!.offset);
    assert.equal(q.isFull(), false);
  });

  test('retainPartitions forgets lost partitions and their records', () => {
    const q = new DelayQueue();
    q.add(0, 0n, delayed('keep', 100));
    q.add(1, 0n, delayed('lose', 50));
    q.retainPartitions([0]);
    assert.equal(q.size, 1);
    assert.deepEqual(q.partitions(), [0]);
    assert.equal(q.commitOffset(1), undefined);
    assert.deepEqual(
      q.due(1000).map((e) => e.record.jobId),
      ['keep'],
    );
    // Reassigned later: read again from the committed offset.
    assert.equal(q.add(1, 0n, delayed('lose', 50)), 'added');
  });

  test('memory of produced offsets stays proportional to what is held', () => {
    const q = new DelayQueue();
    q.add(0, 0n, delayed('forever', Date.parse('2100-01-01T00:00:00Z')));
    for (let i = 1; i <= 50_000; i++) {
      q.add(0, BigInt(i), delayed(`j${i}`, i));
      for (const e of q.due(i)) q.produced(e.partition, e.offset);
      if (i % 1000 === 0) assert.equal(q.commitOffset(0), 0n);
    }
    assert.equal(q.size, 1);
    // The private arrival list is compacted: peek at it to prove the bound.
    const order = (q as unknown as { parts: Map<number, { order: bigint[] }> }).parts.get(0)!.order;
    assert.ok(order.length < 5000, `arrival list has ${order.length} entries`);
  });

  test('parseDelayedRecord accepts what workers write and names what is wrong otherwise', () => {
    const good = delayed('a', 1000);
    assert.deepEqual(parseDelayedRecord(JSON.stringify(good)), good);
    assert.throws(() => parseDelayedRecord(null), /no value/);
    assert.throws(() => parseDelayedRecord('{'), /not JSON/);
    assert.throws(() => parseDelayedRecord(JSON.stringify({ ...good, type: 'job.queued' })), /not job.delayed/);
    assert.throws(() => parseDelayedRecord(JSON.stringify({ ...good, dueAt: 'soon' })), /dueAt/);
    assert.throws(() => parseDelayedRecord(JSON.stringify({ ...good, next: { ...good.next, type: 'job.failed' } })), /job.queued|attempt/);
    assert.throws(() => parseDelayedRecord(JSON.stringify({ ...good, jobId: 'b' })), /next is for job a/);
  });
});
