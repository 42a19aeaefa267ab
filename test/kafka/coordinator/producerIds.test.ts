import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProducerIdManager, type ProducerIdBlock } from '../../../src/kafka/coordinator/producerIds.js';

/** A claimBlock whose answers the test releases one by one. */
function manualBlocks(size: number) {
  let next = 0;
  const pending: { resolve: (b: ProducerIdBlock) => void; reject: (e: Error) => void }[] = [];
  return {
    calls: 0,
    pending,
    claim(): Promise<ProducerIdBlock> {
      this.calls++;
      return new Promise((resolve, reject) => pending.push({ resolve, reject }));
    },
    release(): void {
      const p = pending.shift()!;
      p.resolve({ start: next, end: next + size - 1 });
      next += size;
    },
  };
}

test('ids come from claimed blocks, in order, never twice; the next block is claimed at 90%', async () => {
  const blocks = manualBlocks(10);
  const m = new ProducerIdManager({ claimBlock: () => blocks.claim() });
  const first = m.nextId();
  assert.equal(blocks.calls, 1);
  blocks.release();
  assert.equal(await first, 0);
  const ids = [0];
  for (let i = 1; i < 9; i++) ids.push(await m.nextId());
  assert.equal(blocks.calls, 2); // the 9th id (90% of 10) started the prefetch
  blocks.release();
  for (let i = 0; i < 11; i++) ids.push(await m.nextId());
  assert.deepEqual(
    ids,
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.equal(new Set(ids).size, 20);
});

test('concurrent callers share one claim', async () => {
  const blocks = manualBlocks(3);
  const m = new ProducerIdManager({ claimBlock: () => blocks.claim() });
  const waiting = Array.from({ length: 5 }, () => m.nextId());
  await Promise.resolve();
  assert.equal(blocks.calls, 1);
  blocks.release();
  // The first block holds 3; the rest wait for the next claim.
  while (blocks.pending.length === 0) await new Promise((r) => setImmediate(r));
  blocks.release();
  const ids = await Promise.all(waiting);
  assert.deepEqual(
    [...ids].sort((a, b) => a - b),
    [0, 1, 2, 3, 4],
  );
});

test('a failed claim fails the waiters; the next call claims again', async () => {
  let n = 0;
  const m = new ProducerIdManager({
    claimBlock: async () => {
      n++;
      if (n === 1) throw new Error('zk down');
      return { start: 100, end: 199 };
    },
  });
  await assert.rejects(m.nextId(), /zk down/);
  assert.equal(await m.nextId(), 100);
});

test('a block overlapping ids already claimed is refused', async () => {
  const answers: ProducerIdBlock[] = [
    { start: 0, end: 0 },
    { start: 0, end: 5 },
    { start: 1, end: 1 },
  ];
  const m = new ProducerIdManager({ claimBlock: async () => answers.shift()!, prefetchRatio: 2 });
  assert.equal(await m.nextId(), 0);
  await assert.rejects(m.nextId(), /overlaps/);
  assert.equal(await m.nextId(), 1);
});

test('waiting callers are bounded', async () => {
  const blocks = manualBlocks(100);
  const m = new ProducerIdManager({ claimBlock: () => blocks.claim(), waitersMax: 2 });
  const a = m.nextId();
  const b = m.nextId();
  await assert.rejects(m.nextId(), /too many/);
  blocks.release();
  assert.deepEqual(await Promise.all([a, b]), [0, 1]);
});
