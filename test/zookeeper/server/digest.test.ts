// The node digest must not depend on how an empty value is held in memory (Apache's CRC32 over
// an empty byte[] leaves the CRC as it is), nor may the tree keep views of the frames values
// arrived in.

import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import assert from 'node:assert/strict';
import { hashStoredNode, nodeDigest } from '../../../src/zookeeper/server/digest.js';
import { NO_SLOT, NodeTable } from '../../../src/zookeeper/server/nodeTable.js';
import { DataTree } from '../../../src/zookeeper/server/datatree.js';
import { OPEN_ACL_UNSAFE } from '../../../src/zookeeper/protocol/acls.js';

const stat = { czxid: 7, mzxid: 7, pzxid: 7, ctime: 1000, mtime: 1000, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n };

test('an empty value hashes the same however it is held', () => {
  const expected = nodeDigest('/a', null, stat);
  const frame = Buffer.alloc(64, 9);
  // Buffer.from(new ArrayBuffer(0)) has no backing store (a null data pointer), which zlib's
  // crc32 mistakes for a request for its initial value.
  for (const empty of [Buffer.alloc(0), Buffer.from(new ArrayBuffer(0)), frame.subarray(10, 10), Buffer.from([])]) {
    assert.equal(nodeDigest('/a', empty, stat), expected);
  }
  // A non-empty value does change it.
  assert.notEqual(nodeDigest('/a', Buffer.from([1]), stat), expected);
});

test('stored values are their own bytes, not views of the frame they came in', () => {
  const tree = new DataTree();
  const frame = Buffer.alloc(64 * 1024, 3);
  const value = frame.subarray(100, 200);
  tree.createNode('/x', value, OPEN_ACL_UNSAFE, 0n, -1, 1, 1);
  const stored = tree.get('/x')!.data!;
  assert.deepEqual(stored, value);
  assert.notEqual(stored.buffer, frame.buffer, 'the stored value is a view of the frame');
  frame.fill(0); // the connection reuses its read buffer: the stored value must not change
  assert.equal(stored[0], 3);
});

test('a node hashes the same however its value is held and whatever its size', () => {
  // The reference: CRC32 chained over the path bytes, the value and the 60 persisted stat bytes.
  const statBytes = Buffer.alloc(60);
  statBytes.writeBigInt64BE(7n, 0);
  statBytes.writeBigInt64BE(7n, 8);
  statBytes.writeBigInt64BE(7n, 16);
  statBytes.writeBigInt64BE(1000n, 24);
  statBytes.writeBigInt64BE(1000n, 32);
  for (const size of [1, 100, 3900, 4030, 4040, 10_000]) {
    const value = Buffer.alloc(size);
    for (let i = 0; i < size; i++) value[i] = (i * 31 + 7) & 0xff; // bytes above 0x7f too
    const path = `/ü/${'p'.repeat(size % 13)}`;
    const reference = crc32(statBytes, crc32(value, crc32(Buffer.from(path, 'utf8'))));
    assert.equal(nodeDigest(path, value, stat), reference, `bytes, size ${size}`);
    const table = new NodeTable();
    const slot = table.add(path, NO_SLOT, { ...stat, data: value, aclId: 0 });
    assert.equal(hashStoredNode(path, table, slot, statBytes), reference, `from the node table, size ${size}`);
  }
});
