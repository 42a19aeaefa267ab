// The fault tests' checker must catch what it is there to catch: a lost, a duplicated, a
// reordered, a misplaced and an unknown message, each in an otherwise good history.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkHistory, historyHolds, type ReadMessage, type SentMessage } from '../../helpers/ackedHistory.js';

function goodHistory(): { sent: SentMessage[]; read: ReadMessage[] } {
  const sent: SentMessage[] = [];
  const read: ReadMessage[] = [];
  const next = [0, 0, 0];
  for (let i = 0; i < 30; i++) {
    const partition = i % 3;
    const producer = i % 2 === 0 ? 'a' : 'b';
    const acked = i % 7 !== 3;
    const id = `${producer}-${i}`;
    sent.push({ id, producer, seq: i, partition, acked });
    // An unacknowledged message may or may not have been written.
    if (acked || i % 2 === 0) read.push({ id, partition, offset: next[partition]!++ });
  }
  return { sent, read };
}

test('a good history holds, including unacknowledged messages that were or were not written', () => {
  const { sent, read } = goodHistory();
  const v = checkHistory(sent, read);
  assert.ok(historyHolds(v), JSON.stringify(v));
  assert.equal(v.acked, sent.filter((s) => s.acked).length);
});

test('a lost acknowledged message is caught', () => {
  const { sent, read } = goodHistory();
  const victim = read.find((r) => sent.find((s) => s.id === r.id)?.acked)!;
  const v = checkHistory(
    sent,
    read.filter((r) => r !== victim),
  );
  assert.deepEqual(v.lost, [victim.id]);
  assert.equal(historyHolds(v), false);
});

test('a duplicated message is caught, acknowledged or not', () => {
  const { sent, read } = goodHistory();
  const twice = read[4]!;
  const v = checkHistory(sent, [...read, { id: twice.id, partition: twice.partition, offset: 1000 }]);
  assert.deepEqual(v.duplicated, [twice.id]);
  assert.equal(historyHolds(v), false);
});

test('a reordered pair of one producer on one partition is caught', () => {
  const { sent, read } = goodHistory();
  // Two messages of producer a on partition 0: swap their offsets.
  const onP0 = read.filter((r) => r.partition === 0 && r.id.startsWith('a-'));
  const [x, y] = [onP0[0]!, onP0[1]!];
  const swapped = read.map((r) => (r === x ? { ...r, offset: y.offset } : r === y ? { ...r, offset: x.offset } : r));
  const v = checkHistory(sent, swapped);
  assert.equal(v.reordered.length, 1, JSON.stringify(v));
  assert.match(v.reordered[0]!, new RegExp(`^${x.id} `));
  assert.equal(historyHolds(v), false);
});

test('a message read from the wrong partition, and one nobody sent, are caught', () => {
  const { sent, read } = goodHistory();
  const moved = read[2]!;
  const v = checkHistory(sent, [
    ...read.filter((r) => r !== moved),
    { id: moved.id, partition: (moved.partition + 1) % 3, offset: 500 },
    { id: 'ghost', partition: 0, offset: 501 },
  ]);
  assert.equal(v.misplaced.length, 1);
  assert.deepEqual(v.unknown, ['ghost']);
  assert.equal(historyHolds(v), false);
});
