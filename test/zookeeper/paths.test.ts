import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathError, parentOf, sequenceSuffix } from '../../src/zookeeper/protocol/paths.js';

test('valid paths', () => {
  for (const p of ['/', '/a', '/a/b', '/a.b', '/..a', '/a/...', '/zookeeper', '/ü']) assert.equal(pathError(p), undefined, p);
});

test('invalid paths as PathUtils rejects them', () => {
  for (const p of [
    '',
    'a',
    '/a/',
    '//a',
    '/a//b',
    '/.',
    '/..',
    '/a/./b',
    '/a/../b',
    '/a/.',
    '/a/..',
    '/a\u0000b',
    '/a\u0001',
    '/\u007f',
    '/\ud800',
    '/\ufff0',
  ]) {
    assert.notEqual(pathError(p), undefined, JSON.stringify(p));
  }
});

test('parents and sequence suffixes', () => {
  assert.equal(parentOf('/a'), '/');
  assert.equal(parentOf('/a/b/c'), '/a/b');
  assert.equal(sequenceSuffix(0), '0000000000');
  assert.equal(sequenceSuffix(42), '0000000042');
  assert.equal(sequenceSuffix(-2147483648), '-2147483648');
});
