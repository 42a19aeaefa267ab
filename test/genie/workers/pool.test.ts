// Rule 6 on the pure pool: ordering keys one at a time in order, priority with aging, no
// starvation, runtime concurrency changes, removal.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobPriority } from '../../../src/genie/jobs/events.js';
import { JobPool, type PoolItem } from '../../../src/genie/workers/pool.js';

const item = (id: string, priority: JobPriority = 'normal', orderingKey?: string): PoolItem =>
  orderingKey === undefined ? { id, priority } : { id, priority, orderingKey };

function drain(pool: JobPool<PoolItem>, now: number): string[] {
  const out: string[] = [];
  for (let it = pool.next(now); it; it = pool.next(now)) out.push(it.id);
  return out;
}

test('jobs of one ordering key run one at a time, in the order they came', () => {
  const pool = new JobPool<PoolItem>({ concurrency: 10, queuedJobsMax: 100, priorityAgingMs: 5000 });
  pool.enqueue(item('k1', 'normal', 'K'), 0);
  pool.enqueue(item('k2', 'high', 'K'), 0);
  pool.enqueue(item('x', 'low'), 0);
  pool.enqueue(item('k3', 'high', 'K'), 0);
  assert.deepEqual(drain(pool, 0), ['k1', 'x'], 'only the key head and the free job start');
  assert.equal(pool.running, 2);
  assert.equal(pool.queued, 2);
  pool.done('k1');
  assert.deepEqual(drain(pool, 0), ['k2']);
  pool.done('x');
  assert.deepEqual(drain(pool, 0), [], 'k3 still waits for k2');
  pool.done('k2');
  assert.deepEqual(drain(pool, 0), ['k3']);
  pool.done('k3');
  pool.enqueue(item('k4', 'normal', 'K'), 0);
  assert.deepEqual(drain(pool, 0), ['k4'], 'the key is free again');
});

test('higher priority first; within a priority, oldest first', () => {
  const pool = new JobPool<PoolItem>({ concurrency: 1, queuedJobsMax: 100, priorityAgingMs: 5000 });
  for (const [id, p] of [
    ['l1', 'low'],
    ['n1', 'normal'],
    ['h1', 'high'],
    ['n2', 'normal'],
    ['h2', 'high'],
  ] as const)
    pool.enqueue(item(id, p), 0);
  const order: string[] = [];
  for (let it = pool.next(1); it; it = pool.next(1)) {
    order.push(it.id);
    pool.done(it.id);
  }
  assert.deepEqual(order, ['h1', 'h2', 'n1', 'n2', 'l1']);
});

test('aging: a low job waiting past two aging periods beats fresh high jobs (no starvation)', () => {
  const pool = new JobPool<PoolItem>({ concurrency: 1, queuedJobsMax: 1000, priorityAgingMs: 100 });
  pool.enqueue(item('old-low', 'low'), 0);
  let now = 0;
  const started: string[] = [];
  // A steady stream of high jobs, one new per step, each step running one job.
  for (let step = 0; step < 10 && !started.includes('old-low'); step++) {
    now += 50;
    pool.enqueue(item(`h${step}`, 'high'), now);
    const it = pool.next(now);
    if (it) {
      started.push(it.id);
      pool.done(it.id);
    }
  }
  assert.ok(started.includes('old-low'), `low job started: ${started}`);
  // At 200 ms it counts low + 2 = high's level, and it is older than any high job.
  assert.ok(started.indexOf('old-low') <= 4, `started by ~200 ms: ${started}`);
  assert.equal(pool.oldestWaitMs(now) < 100, true);
});

test('concurrency changes at runtime; lowering it never stops running jobs', () => {
  const pool = new JobPool<PoolItem>({ concurrency: 2, queuedJobsMax: 100, priorityAgingMs: 5000 });
  for (let i = 0; i < 6; i++) pool.enqueue(item(`j${i}`), 0);
  assert.deepEqual(drain(pool, 0), ['j0', 'j1']);
  pool.setConcurrency(4);
  assert.deepEqual(drain(pool, 0), ['j2', 'j3']);
  pool.setConcurrency(1);
  assert.equal(pool.running, 4);
  pool.done('j0');
  pool.done('j1');
  pool.done('j2');
  assert.deepEqual(drain(pool, 0), [], 'still 1 running (j3) at concurrency 1');
  pool.done('j3');
  assert.deepEqual(drain(pool, 0), ['j4']);
  assert.throws(() => pool.setConcurrency(0));
});

test('full at queuedJobsMax; removal of waiting jobs keeps key order and frees the key', () => {
  const pool = new JobPool<PoolItem>({ concurrency: 1, queuedJobsMax: 3, priorityAgingMs: 5000 });
  pool.enqueue(item('a', 'normal', 'K'), 0);
  pool.enqueue(item('b', 'normal', 'K'), 1);
  assert.equal(pool.full, false);
  pool.enqueue(item('c', 'normal', 'K'), 2);
  assert.equal(pool.full, true);
  assert.throws(() => pool.enqueue(item('a'), 3), /already/);
  assert.equal(pool.remove('a'), true, 'the eligible head');
  assert.equal(pool.remove('nope'), false);
  assert.equal(pool.full, false);
  assert.deepEqual(drain(pool, 10), ['b'], 'b was promoted in its place');
  assert.deepEqual(
    pool.removeWhere(() => true).map((x) => x.id),
    ['c'],
  );
  pool.done('b');
  assert.equal(pool.queued, 0);
  pool.enqueue(item('d', 'normal', 'K'), 11);
  assert.deepEqual(drain(pool, 11), ['d']);
});

test('removeWhere takes a whole key (partition lost) without starting any of it', () => {
  const pool = new JobPool<PoolItem>({ concurrency: 5, queuedJobsMax: 100, priorityAgingMs: 5000 });
  pool.enqueue(item('p0-a', 'normal', 'K'), 0);
  pool.enqueue(item('p0-b', 'normal', 'K'), 0);
  pool.enqueue(item('p0-c', 'normal', 'K'), 0);
  pool.enqueue(item('p1-a', 'normal'), 0);
  assert.equal(pool.removeWhere((x) => x.id.startsWith('p0')).length, 3);
  assert.deepEqual(drain(pool, 0), ['p1-a']);
  pool.enqueue(item('p0-d', 'normal', 'K'), 0);
  assert.deepEqual(drain(pool, 0), ['p0-d'], 'the key is not left busy');
});
