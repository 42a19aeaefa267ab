// The request router's error paths, without a broker: a handler that throws (or rejects, or
// returns something its response cannot encode) answers UNKNOWN_SERVER_ERROR against every topic
// and partition the request named, as Kafka's handleError does; Produce with acks=0 has no
// response, so the connection closes (the router rethrows); a request that does not parse or an
// API this broker does not serve closes the connection (ProtocolError).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Connection } from '../../../src/kafka/broker/connection.js';
import { RequestRouter } from '../../../src/kafka/broker/requests.js';
import { apiDef } from '../../../src/kafka/protocol/apis.js';
import { KafkaReader, ProtocolError } from '../../../src/kafka/protocol/buffers.js';
import { ErrorCode } from '../../../src/kafka/protocol/errors.js';
import type { Msg } from '../../../src/kafka/protocol/schema.js';
import { encodeValid } from '../fuzzInputs.js';
import { requestBytes, validBatch } from '../fuzzWire.js';

const conn = { clientHost: 'test' } as unknown as Connection;

function request(apiKey: number, version: number, body: Msg): Buffer {
  const def = apiDef(apiKey);
  if (!def) throw new Error(`no API ${apiKey}`);
  return requestBytes(apiKey, version, 7, encodeValid(def.request, version, body));
}

function decodeResponse(apiKey: number, version: number, chunks: Buffer[] | null): Msg {
  assert.ok(chunks, 'a response');
  const def = apiDef(apiKey);
  if (!def) throw new Error(`no API ${apiKey}`);
  const r = new KafkaReader(Buffer.concat(chunks));
  assert.equal(r.int32(), 7, 'correlation id');
  if (def.response.isFlexible(version)) r.uvarint();
  const body = def.response.decode(r, version);
  assert.equal(r.remaining(), 0);
  return body;
}

const produce = (acks: number): Msg => ({
  transactionalId: null,
  acks,
  timeoutMs: 1000,
  topicData: [
    {
      name: 'a',
      partitionData: [
        { index: 0, records: validBatch() },
        { index: 3, records: validBatch() },
      ],
    },
    { name: 'b', partitionData: [{ index: 1, records: validBatch() }] },
  ],
});

test('a handler that throws answers UNKNOWN_SERVER_ERROR for every partition the request named', async () => {
  const router = new RequestRouter();
  const seen: string[] = [];
  router.onHandlerError = (err, api) => seen.push(`${api}: ${(err as Error).message}`);
  router.register(0, () => {
    throw new Error('boom');
  });
  for (const version of [3, 9]) {
    const res = decodeResponse(0, version, await router.handle(request(0, version, produce(1)), conn));
    assert.deepEqual(
      res.responses.map((t: Msg) => [t.name, t.partitionResponses.map((p: Msg) => [p.index, p.errorCode])]),
      [
        [
          'a',
          [
            [0, ErrorCode.UNKNOWN_SERVER_ERROR],
            [3, ErrorCode.UNKNOWN_SERVER_ERROR],
          ],
        ],
        ['b', [[1, ErrorCode.UNKNOWN_SERVER_ERROR]]],
      ],
    );
  }
  assert.deepEqual(seen, ['Produce: boom', 'Produce: boom']);
});

test('a rejected promise and an unencodable result are answered the same way', async () => {
  const router = new RequestRouter();
  router.register(3, async () => {
    throw new Error('async boom');
  });
  router.register(9, () => ({ topics: [{ name: 12345, partitions: [] }] }));
  const md = decodeResponse(
    3,
    12,
    await router.handle(request(3, 12, { topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 't1' }] }), conn),
  );
  assert.deepEqual(
    md.topics.map((t: Msg) => [t.name, t.errorCode]),
    [['t1', ErrorCode.UNKNOWN_SERVER_ERROR]],
  );
  const body = { groupId: 'g', topics: [{ name: 't', partitionIndexes: [0, 2] }] };
  const of = decodeResponse(9, 1, await router.handle(request(9, 1, body), conn));
  assert.deepEqual(
    of.topics.map((t: Msg) => [t.name, t.partitions.map((p: Msg) => [p.partitionIndex, p.errorCode])]),
    [
      [
        't',
        [
          [0, ErrorCode.UNKNOWN_SERVER_ERROR],
          [2, ErrorCode.UNKNOWN_SERVER_ERROR],
        ],
      ],
    ],
  );
});

test('Produce with acks=0 that fails has no response: the router rethrows so the connection closes', async () => {
  const router = new RequestRouter();
  router.register(0, () => {
    throw new Error('boom');
  });
  assert.throws(() => router.handle(request(0, 5, produce(0)), conn), /boom/);
  router.register(0, async () => {
    throw new Error('later');
  });
  await assert.rejects(async () => router.handle(request(0, 5, produce(0)), conn), /later/);
});

test('a body that does not parse, or an API that is not served, is a ProtocolError (the connection closes)', () => {
  const router = new RequestRouter();
  let called = false;
  router.register(3, () => {
    called = true;
    return {};
  });
  const whole = request(3, 4, { topics: [{ name: 't1' }], allowAutoTopicCreation: true });
  assert.throws(() => router.handle(whole.subarray(0, whole.length - 3), conn), ProtocolError);
  assert.throws(() => router.handle(requestBytes(3, 99, 7, Buffer.alloc(4)), conn), ProtocolError);
  assert.throws(() => router.handle(requestBytes(4, 0, 7, Buffer.alloc(0)), conn), ProtocolError);
  assert.equal(called, false, 'the handler never saw a broken request');
});
