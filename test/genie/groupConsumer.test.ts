// The pieces of src/genie/groupConsumer.ts that need no cluster: the guard on a real
// @platformatic/kafka Consumer's connection pool, and which errors count as a lost broker (built
// from the library's own error classes). The process test test/genie/logs/coordinatorLoss.test.ts
// kills a real coordinator broker.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Consumer, MultipleErrors, NetworkError, ProtocolError, TimeoutError, UserError } from '@platformatic/kafka';
import { KafkaTestingCluster } from '../../src/cluster/kafkaTestingCluster.js';
import { CoordinatorLostError, guardMissingBrokers, isBrokerLoss } from '../../src/genie/groupConsumer.js';

test('unguarded, @platformatic/kafka 1.35 throws from a lookup of a missing broker (what ended the services)', async () => {
  const consumer = new Consumer({ clientId: 'guard-test', bootstrapBrokers: ['127.0.0.1:1'], groupId: 'g' });
  try {
    assert.throws(
      () => (consumer.connections.get as (b: unknown, cb: () => void) => void)(undefined, () => undefined),
      (e: unknown) => e instanceof TypeError && /reading 'host'/.test(e.message),
    );
  } finally {
    await consumer.close(true);
  }
});

test('a lookup of a broker missing from the metadata calls back with CoordinatorLostError instead of throwing', async () => {
  const consumer = new Consumer({ clientId: 'guard-test', bootstrapBrokers: ['127.0.0.1:1'], groupId: 'g' });
  try {
    let retired = false;
    const missing: CoordinatorLostError[] = [];
    guardMissingBrokers(
      consumer,
      () => retired,
      (e) => missing.push(e),
    );
    // Unguarded, the pool reads `host` of undefined (the uncaught TypeError of issue 15/16).
    const viaCallback = await new Promise<Error | null>((resolve) =>
      (consumer.connections.get as (b: unknown, cb: (e: Error | null) => void) => void)(undefined, (e) => resolve(e)),
    );
    assert.ok(viaCallback instanceof CoordinatorLostError);
    assert.equal(viaCallback.canRetry, false, 'the client does not retry it with the same cached id');
    assert.equal(viaCallback.findBy('canRetry', false), viaCallback);
    assert.equal(viaCallback.unknownMemberId, false);
    assert.match(viaCallback.message, /no longer in the cluster metadata/);
    retired = true;
    await assert.rejects(
      (consumer.connections.get as (b: unknown) => Promise<unknown>)(undefined),
      (e: unknown) => e instanceof CoordinatorLostError && e.unknownMemberId,
    );
    await new Promise((r) => setImmediate(r));
    assert.equal(missing.length, 2, 'each lookup is reported (outside the client call stack)');
  } finally {
    await consumer.close(true);
  }
});

test('isBrokerLoss: connection failures, moved coordinators or leaders, and CoordinatorLostError only', () => {
  const refused = new NetworkError('Connection to 127.0.0.1:1 failed.');
  assert.equal(isBrokerLoss(refused), true);
  assert.equal(isBrokerLoss(new MultipleErrors('fetch failed 31 times.', [refused, refused])), true);
  assert.equal(isBrokerLoss(new MultipleErrors('x', [refused, new CoordinatorLostError(2, false)])), true);
  assert.equal(isBrokerLoss(new TimeoutError('Request timed out.')), true);
  assert.equal(isBrokerLoss(new ProtocolError('NOT_COORDINATOR')), true);
  assert.equal(isBrokerLoss(new ProtocolError('NOT_LEADER_OR_FOLLOWER')), true);
  // Anything else stays the service's error (it stops, as before).
  assert.equal(isBrokerLoss(new ProtocolError('GROUP_AUTHORIZATION_FAILED')), false);
  assert.equal(isBrokerLoss(new UserError('Failed to deserialize a message.')), false);
  assert.equal(
    isBrokerLoss(new MultipleErrors('fetch failed 26 times.', [refused, new UserError('Cannot find broker with node id 2')])),
    true,
  );
  assert.equal(isBrokerLoss(new MultipleErrors('x', [refused, new TypeError('bug')])), false);
  assert.equal(isBrokerLoss(new MultipleErrors('x', [])), false);
  assert.equal(isBrokerLoss(new TypeError("Cannot read properties of undefined (reading 'host')")), false);
  assert.equal(isBrokerLoss(undefined), false);
});

test('a fetch from a leader whose broker left the metadata fails with an error isBrokerLoss takes (it ended a worker)', async () => {
  // The real client against a real broker: node 7 is in no Metadata answer, as a dead leader's
  // broker is not once the controller has removed it while a stream still fetches from it.
  const cluster = await KafkaTestingCluster.start({ brokers: 1 });
  const consumer = new Consumer({ clientId: 'missing-leader', bootstrapBrokers: cluster.bootstrap.split(','), groupId: 'g', retries: 0 });
  try {
    const err = await consumer.fetch({ node: 7, topics: [] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof Error, 'the fetch fails');
    assert.match(String((err as { message?: unknown }).message) + JSON.stringify(err), /Cannot find broker with node id 7/);
    assert.equal(isBrokerLoss(err), true);
  } finally {
    await consumer.close(true);
    await cluster.close();
  }
});
