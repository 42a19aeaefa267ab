// AlterPartitionReassignments (45) and ListPartitionReassignments (46) v0 against bytes written out
// by hand from Kafka 3.9's message JSON (flexible from v0: compact strings and arrays, a null
// replica list as length 0, an empty tag buffer after every struct). The Java client's own bytes
// go through these declarations in test/kafka/cluster/reassignTool.test.ts.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiKey, apiDef } from '../../../src/kafka/protocol/apis.js';
import { decode, encode } from './declHelpers.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const int32 = (n: number): string => n.toString(16).padStart(8, '0');

function api(key: number) {
  const d = apiDef(key);
  assert.ok(d);
  return d;
}

test('AlterPartitionReassignments v0 request: a move and a cancellation (null replicas)', () => {
  const { request } = api(ApiKey.AlterPartitionReassignments);
  const value = {
    timeoutMs: 30000,
    topics: [
      {
        name: 't',
        partitions: [
          { partitionIndex: 0, replicas: [2, 3] },
          { partitionIndex: 1, replicas: null },
        ],
      },
    ],
  };
  const bytes = hex(`${int32(30000)} 02 0274 03 ${int32(0)} 03 ${int32(2)} ${int32(3)} 00 ${int32(1)} 00 00 00 00`);
  assert.deepEqual(encode(request, 0, value), bytes);
  assert.deepEqual(decode(request, 0, bytes), value);
});

test('AlterPartitionReassignments v0 response: NOT_CONTROLLER with its message, and per-partition errors', () => {
  const { response } = api(ApiKey.AlterPartitionReassignments);
  const message = 'This is not the correct controller for this cluster.';
  const refused = { throttleTimeMs: 0, errorCode: 41, errorMessage: message, responses: [] };
  const refusedBytes = Buffer.concat([hex(`${int32(0)} 0029`), Buffer.from([message.length + 1]), Buffer.from(message), hex('01 00')]);
  assert.deepEqual(encode(response, 0, refused), refusedBytes);
  assert.deepEqual(decode(response, 0, refusedBytes), refused);
  const answered = {
    throttleTimeMs: 0,
    errorCode: 0,
    errorMessage: null,
    responses: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: 85, errorMessage: null }] }],
  };
  const answeredBytes = hex(`${int32(0)} 0000 00 02 0274 02 ${int32(0)} 0055 00 00 00 00`);
  assert.deepEqual(encode(response, 0, answered), answeredBytes);
  assert.deepEqual(decode(response, 0, answeredBytes), answered);
});

test('ListPartitionReassignments v0: a null topic list asks for all; the answer lists RS, AR and RR', () => {
  const { request, response } = api(ApiKey.ListPartitionReassignments);
  const all = { timeoutMs: 60000, topics: null };
  const allBytes = hex(`${int32(60000)} 00 00`);
  assert.deepEqual(encode(request, 0, all), allBytes);
  assert.deepEqual(decode(request, 0, allBytes), all);
  const some = { timeoutMs: 60000, topics: [{ name: 't', partitionIndexes: [0, 2] }] };
  const someBytes = hex(`${int32(60000)} 02 0274 03 ${int32(0)} ${int32(2)} 00 00`);
  assert.deepEqual(encode(request, 0, some), someBytes);
  assert.deepEqual(decode(request, 0, someBytes), some);

  const listed = {
    throttleTimeMs: 0,
    errorCode: 0,
    errorMessage: null,
    topics: [{ name: 't', partitions: [{ partitionIndex: 0, replicas: [2, 3, 1], addingReplicas: [3], removingReplicas: [1] }] }],
  };
  const listedBytes = hex(
    `${int32(0)} 0000 00 02 0274 02 ${int32(0)} 04 ${int32(2)} ${int32(3)} ${int32(1)} 02 ${int32(3)} 02 ${int32(1)} 00 00 00`,
  );
  assert.deepEqual(encode(response, 0, listed), listedBytes);
  assert.deepEqual(decode(response, 0, listedBytes), listed);
});
