// The Fetch read-buffer pool: buffers come back only when released, views release their buffer,
// foreign and repeated releases are ignored, and the idle bytes stay under the cap.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  acquireReadBuffer,
  readBufferPoolBytesMax,
  readBufferPoolIdleBytes,
  releaseReadBuffer,
} from '../../../src/kafka/storage/readBuffers.js';

test('a released buffer (or a view of it) is handed out again; an unreleased one never is', () => {
  const a = acquireReadBuffer(1024 * 1024);
  assert.equal(a.length, 1024 * 1024);
  const b = acquireReadBuffer(1024 * 1024);
  assert.notEqual(a.buffer, b.buffer, 'two live reads share memory');
  releaseReadBuffer(a.subarray(0, 100));
  const c = acquireReadBuffer(900 * 1024);
  assert.equal(c.buffer, a.buffer, 'the released buffer was not reused');
  assert.equal(c.length, 900 * 1024);
  const d = acquireReadBuffer(1024 * 1024);
  assert.notEqual(d.buffer, b.buffer, 'a buffer still in use was handed out');
  assert.notEqual(d.buffer, c.buffer);
  for (const x of [b, c, d]) releaseReadBuffer(x);
});

test('foreign buffers and double releases are ignored; idle bytes stay bounded', () => {
  const before = readBufferPoolIdleBytes();
  releaseReadBuffer(Buffer.alloc(256 * 1024));
  releaseReadBuffer(Buffer.alloc(10));
  assert.equal(readBufferPoolIdleBytes(), before, 'a buffer the pool did not make was taken in');
  const a = acquireReadBuffer(128 * 1024);
  const idle = readBufferPoolIdleBytes();
  releaseReadBuffer(a);
  releaseReadBuffer(a);
  assert.equal(readBufferPoolIdleBytes(), idle + 128 * 1024, 'a double release counted twice');
  const x = acquireReadBuffer(128 * 1024);
  const y = acquireReadBuffer(128 * 1024);
  assert.notEqual(x.buffer, y.buffer, 'a double release handed one buffer to two reads');
  const many = Array.from({ length: 40 }, () => acquireReadBuffer(1024 * 1024));
  for (const m of many) releaseReadBuffer(m);
  assert.ok(readBufferPoolIdleBytes() <= readBufferPoolBytesMax, 'idle bytes over the cap');
  const small = acquireReadBuffer(100);
  assert.equal(small.length, 100);
});
