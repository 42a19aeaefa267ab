import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AssignmentError,
  INVALID_REPLICATION_FACTOR,
  assignAddedPartitions,
  assignReplicas,
  rackAlternatedBrokers,
  rackUnaware,
} from '../../../src/kafka/controller/assignment.js';

const obj = (m: Map<number, number[]>): Record<number, number[]> => Object.fromEntries(m);

test('rack-unaware assignment matches Kafka (5 brokers, 10 partitions, RF 3, fixed start 0)', () => {
  const brokers = [4, 2, 0, 3, 1].map((id) => ({ id })); // sorted by id before use
  const a = assignReplicas(brokers, 10, 3, { fixedStartIndex: 0 });
  assert.deepEqual(obj(a), {
    0: [0, 1, 2],
    1: [1, 2, 3],
    2: [2, 3, 4],
    3: [3, 4, 0],
    4: [4, 0, 1],
    5: [0, 2, 3],
    6: [1, 3, 4],
    7: [2, 4, 0],
    8: [3, 0, 1],
    9: [4, 1, 2],
  });
});

test('rack-unaware: random start index and shift are drawn once each, in that order', () => {
  const draws = [2, 1];
  const bounds: number[] = [];
  const a = rackUnaware([10, 11, 12], 4, 2, {
    randomInt: (n) => {
      bounds.push(n);
      return draws.shift()!;
    },
  });
  // n=3, start 2, shift 1: p0 first=2 -> [12, idx (2+1+1%2)%3=1 -> 11]; p1 first=0 -> [10, (0+1+1)%3=2 -> 12];
  // p2 first=1 -> [11, (1+2)%3=0 -> 10]; p3: 3%3==0 so shift 2; first=(3+2)%3=2 -> [12, (2+1+0)%3=0 -> 10]
  assert.deepEqual(obj(a), { 0: [12, 11], 1: [10, 12], 2: [11, 10], 3: [12, 10] });
  assert.deepEqual(bounds, [3, 3]);
});

test('replication factor above the broker count is INVALID_REPLICATION_FACTOR', () => {
  assert.throws(
    () => assignReplicas([{ id: 1 }, { id: 2 }], 1, 3, { fixedStartIndex: 0 }),
    (e: unknown) =>
      e instanceof AssignmentError && e.errorCode === INVALID_REPLICATION_FACTOR && /larger than available brokers: 2/.test(e.message),
  );
});

test('rack-alternated broker list and rack-aware assignment match Kafka', () => {
  const racks: Record<number, string> = { 0: 'rack1', 1: 'rack3', 2: 'rack3', 3: 'rack2', 4: 'rack2', 5: 'rack1' };
  const brokers = Object.entries(racks).map(([id, rack]) => ({ id: Number(id), rack }));
  assert.deepEqual(rackAlternatedBrokers(brokers), [0, 3, 1, 5, 4, 2]);
  assert.deepEqual(rackAlternatedBrokers(brokers.filter((b) => b.id !== 5)), [0, 3, 1, 4, 2]);
  const a = assignReplicas(brokers, 7, 3, { fixedStartIndex: 0 });
  assert.deepEqual(obj(a), {
    0: [0, 3, 1],
    1: [3, 1, 5],
    2: [1, 5, 4],
    3: [5, 4, 2],
    4: [4, 2, 0],
    5: [2, 0, 3],
    6: [0, 4, 2],
  });
  // every partition spreads over all three racks
  for (const r of a.values()) assert.equal(new Set(r.map((id) => racks[id])).size, 3);
});

test('a mix of brokers with and without racks is refused', () => {
  assert.throws(() => assignReplicas([{ id: 1, rack: 'a' }, { id: 2 }], 1, 1, { fixedStartIndex: 0 }), AssignmentError);
});

test('added partitions continue from the existing count with a start fixed by partition 0', () => {
  const brokers = [{ id: 3 }, { id: 1 }, { id: 2 }];
  const existing = new Map([
    [0, [2, 3]],
    [1, [3, 1]],
  ]);
  // start index = index of first id >= 2 in [1,2,3] = 1 (also the shift), ids 2..3, RF 2
  assert.deepEqual(obj(assignAddedPartitions(brokers, existing, 4)), { 2: [1, 3], 3: [2, 3] });
  assert.throws(() => assignAddedPartitions(brokers, existing, 2), AssignmentError);
});
