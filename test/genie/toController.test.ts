// toController (genie/kafka.ts): a controller-only request is tried again while brokers answer
// NOT_CONTROLLER, and each retry first drops the client's metadata cache and fetches it again,
// because @platformatic/kafka looks the controller up in that cache, whose controller id is the
// one of its first Metadata answer until the cache is dropped (toControllerMoved.test.ts shows it
// with the real client).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Admin } from '@platformatic/kafka';
import { toController } from '../../src/genie/kafka.js';

/** The shape @platformatic/kafka throws: a response error wrapping one error per failed item. */
const kafkaError = (apiId: string): Error =>
  Object.assign(new Error('Received response with error while executing API CreateTopics(v7)'), {
    errors: [Object.assign(new Error(apiId), { apiId })],
  });

/** Records the cache drops ('clear') and the metadata requests, in order. */
function fakeAdmin(): { admin: Admin; refreshes: unknown[] } {
  const refreshes: unknown[] = [];
  const admin = {
    clearMetadata: () => void refreshes.push('clear'),
    metadata: async (o: unknown) => void refreshes.push(o),
  } as unknown as Admin;
  return { admin, refreshes };
}

test('NOT_CONTROLLER is tried again after the metadata cache is dropped and fetched again, until the request succeeds', async () => {
  const { admin, refreshes } = fakeAdmin();
  let tries = 0;
  const r = await toController(admin, async () => {
    tries++;
    if (tries <= 3) throw kafkaError('NOT_CONTROLLER');
    return 'created';
  });
  assert.equal(r, 'created');
  assert.equal(tries, 4);
  assert.deepEqual(
    refreshes,
    [1, 2, 3].flatMap(() => ['clear', { topics: [], forceUpdate: true }]),
  );
});

test('other errors are not retried; past the deadline NOT_CONTROLLER is thrown', async () => {
  const { admin, refreshes } = fakeAdmin();
  await assert.rejects(
    toController(admin, async () => {
      throw kafkaError('TOPIC_ALREADY_EXISTS');
    }),
    /CreateTopics/,
  );
  assert.equal(refreshes.length, 0);
  let tries = 0;
  await assert.rejects(
    toController(
      admin,
      async () => {
        tries++;
        throw kafkaError('NOT_CONTROLLER');
      },
      0,
    ),
    (e: Error) => (e as { errors?: { apiId: string }[] }).errors?.[0]?.apiId === 'NOT_CONTROLLER',
  );
  assert.equal(tries, 1, 'a deadline already passed: one try');
});
