import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode } from '../../../src/kafka/protocol/errors.js';
import { type ParkedPartition, ProducePurgatory } from '../../../src/kafka/replication/producePurgatory.js';
import { waitFor } from '../../helpers/wait.js';

/** A purgatory over fake partitions: HW and an after-append error per key. */
function setup(): { purgatory: ProducePurgatory; hw: Map<string, number>; failed: Map<string, number> } {
  const hw = new Map<string, number>();
  const failed = new Map<string, number>();
  const purgatory = new ProducePurgatory((key, required) => {
    const f = failed.get(key);
    if (f !== undefined) return f;
    return (hw.get(key) ?? 0) >= required ? ErrorCode.NONE : undefined;
  });
  return { purgatory, hw, failed };
}

const part = (key: string, requiredOffset: number): ParkedPartition => ({ key, requiredOffset, errorCode: undefined });

test('a parked produce completes when the HW covers every partition', async () => {
  const { purgatory, hw } = setup();
  let done = false;
  const parked = purgatory.park([part('a', 10), part('b', 5)], 60_000).then((r) => {
    done = true;
    return r;
  });
  assert.equal(purgatory.size, 1);
  hw.set('a', 10);
  purgatory.tryComplete('a');
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false, 'partition b still waits');
  hw.set('b', 7);
  purgatory.tryComplete('b');
  const r = await parked;
  assert.deepEqual(
    r.map((p) => p.errorCode),
    [ErrorCode.NONE, ErrorCode.NONE],
  );
  assert.equal(purgatory.size, 0);
});

test('a produce already covered does not park', async () => {
  const { purgatory, hw } = setup();
  hw.set('a', 10);
  const r = await purgatory.park([part('a', 10)], 60_000);
  assert.equal(r[0]?.errorCode, ErrorCode.NONE);
  assert.equal(purgatory.size, 0);
});

test('a parked produce times out with REQUEST_TIMED_OUT for the partitions still waiting', async () => {
  const { purgatory, hw } = setup();
  hw.set('a', 10);
  const r = await purgatory.park([part('a', 10), part('b', 5)], 20);
  assert.deepEqual(
    r.map((p) => p.errorCode),
    [ErrorCode.NONE, ErrorCode.REQUEST_TIMED_OUT],
  );
  assert.equal(purgatory.size, 0);
});

test('NOT_ENOUGH_REPLICAS_AFTER_APPEND and NOT_LEADER_OR_FOLLOWER come from the check', async () => {
  const { purgatory, failed } = setup();
  const parked = purgatory.park([part('a', 10), part('b', 10)], 60_000);
  failed.set('a', ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
  failed.set('b', ErrorCode.NOT_LEADER_OR_FOLLOWER);
  purgatory.tryComplete('a');
  purgatory.tryComplete('b');
  const r = await parked;
  assert.deepEqual(
    r.map((p) => p.errorCode),
    [ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, ErrorCode.NOT_LEADER_OR_FOLLOWER],
  );
});

test('completeAll answers every parked produce (shutdown)', async () => {
  const { purgatory } = setup();
  const a = purgatory.park([part('a', 10)], 60_000);
  const b = purgatory.park([part('b', 10)], 60_000);
  await waitFor(() => purgatory.size === 2);
  purgatory.completeAll();
  assert.equal((await a)[0]?.errorCode, ErrorCode.REQUEST_TIMED_OUT);
  assert.equal((await b)[0]?.errorCode, ErrorCode.REQUEST_TIMED_OUT);
  assert.equal(purgatory.size, 0);
});
