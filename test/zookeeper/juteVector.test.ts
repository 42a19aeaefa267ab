// Jute edge cases. Longs from bigints survive JuteWriter's split cache. Vector counts below -1
// decode as empty vectors, as Apache ZooKeeper 3.8's BinaryInputArchive
// reads them (found by the fuzz replay against Apache: a createContainer with an ACL count of -5
// and bad flags gets BADARGUMENTS there, not a marshalling error).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JuteReader, JuteWriter } from '../../src/zookeeper/protocol/jute.js';
import { CreateRequest } from '../../src/zookeeper/protocol/records.js';

function createRequestWithAclCount(count: number): Buffer {
  const w = new JuteWriter(64);
  w.ustring('/a');
  w.buffer(Buffer.from('x'));
  w.int(count);
  w.int(0x02000000); // flags
  return w.toBuffer();
}

test('a vector count below -1 reads as an empty vector; the fields after it still decode', () => {
  for (const count of [-2, -5, -0x80000000]) {
    const r = new JuteReader(createRequestWithAclCount(count));
    const req = CreateRequest.decode(r);
    assert.deepEqual(req.acl, [], `count ${count}`);
    assert.equal(req.flags, 0x02000000);
    assert.equal(r.remaining, 0);
  }
});

test('a vector count beyond the remaining bytes is still refused', () => {
  assert.throws(() => CreateRequest.decode(new JuteReader(createRequestWithAclCount(1000))), /vector length 1000/);
});

test('longs written from bigints read back exactly, past the split cache and at the extremes', () => {
  const w = new JuteWriter(16);
  const values: bigint[] = [1n, -1n, 0n, 2n ** 63n - 1n, -(2n ** 63n), 0x1234_5678_9abc_def0n, -0x0fed_cba9_8765_4321n];
  for (let k = 0n; k < 3000n; k++) values.push((k << 40n) | (k * 7919n)); // more distinct values than the cache holds
  for (let round = 0; round < 2; round++) {
    w.reset();
    for (const v of values) w.long(v);
    const r = new JuteReader(w.toBuffer());
    for (const v of values) assert.equal(r.long(), v);
  }
});
