// The AlterPartition sender against fake controllers speaking the Kafka framing: it goes to the
// controller the metadata names, encodes v3 with the proposal, decodes the answer, follows the
// controller when it moves, and refuses (for the caller to retry) while no controller is known.

import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, test } from 'node:test';
import type { BrokerEndpoint } from '../../../src/kafka/broker/metadataCache.js';
import { apiDef } from '../../../src/kafka/protocol/apis.js';
import { KafkaReader, KafkaWriter } from '../../../src/kafka/protocol/buffers.js';
import { readHeaderPrefix, readHeaderRest, writeResponseHeader } from '../../../src/kafka/protocol/header.js';
import type { Msg } from '../../../src/kafka/protocol/schema.js';
import {
  ALTER_PARTITION_VERSION,
  alterPartitionRequest,
  alterPartitionResult,
  createAlterPartitionSender,
} from '../../../src/kafka/replication/alterPartitionSender.js';
import { randomKafkaUuid } from '../../../src/kafka/zk/layout.js';

/** A listener that answers every AlterPartition with the ISR it was sent, one partition epoch later. */
async function fakeController(): Promise<{ port: number; received: Msg[]; close: () => void }> {
  const received: Msg[] = [];
  const sockets: Socket[] = [];
  const def = apiDef(56)!;
  const server: Server = createServer((s) => {
    sockets.push(s);
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const frame = buf.subarray(4, 4 + buf.readInt32BE(0));
        buf = buf.subarray(4 + frame.length);
        const r = new KafkaReader(frame);
        const h = readHeaderPrefix(r);
        readHeaderRest(r, h, true);
        const body = def.request.decode(r, h.apiVersion);
        received.push({ version: h.apiVersion, ...body });
        const topics = (body.topics as Msg[]).map((t) => ({
          topicId: t.topicId,
          partitions: (t.partitions as Msg[]).map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: 0,
            leaderId: body.brokerId,
            leaderEpoch: p.leaderEpoch,
            isr: (p.newIsrWithEpochs as Msg[]).map((m) => m.brokerId),
            leaderRecoveryState: 0,
            partitionEpoch: (p.partitionEpoch as number) + 1,
          })),
        }));
        const w = new KafkaWriter(256);
        w.int32(0);
        writeResponseHeader(w, h.correlationId, true);
        def.response.encode(w, h.apiVersion, { throttleTimeMs: 0, errorCode: 0, topics });
        const out = w.toBuffer();
        out.writeInt32BE(out.length - 4, 0);
        s.write(out);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    received,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

const closers: (() => void)[] = [];
after(() => {
  for (const c of closers) c();
});

test('AlterPartition goes to the current controller as v3 and follows it when it moves', async () => {
  const a = await fakeController();
  const b = await fakeController();
  closers.push(a.close, b.close);
  const brokers = new Map<number, BrokerEndpoint>([
    [1, { id: 1, host: '127.0.0.1', port: a.port, rack: null }],
    [2, { id: 2, host: '127.0.0.1', port: b.port, rack: null }],
  ]);
  let controllerId = -1;
  const send = createAlterPartitionSender({ controller: () => ({ controllerId, brokers }), clientId: 'repl-test' });
  closers.push(() => send.close());
  const topicId = randomKafkaUuid();
  const proposal = { kind: 'shrink' as const, isr: [3, 1], leaderEpoch: 4, partitionEpoch: 9 };
  const body = alterPartitionRequest(3, 77, [{ topicId, partition: 2, proposal }]);

  await assert.rejects(send(body), /no controller/, 'no controller known: the caller retries later');

  controllerId = 1;
  const resp = await send(body);
  assert.equal(a.received.length, 1);
  const got = a.received[0] as Msg;
  assert.equal(got.version, ALTER_PARTITION_VERSION);
  assert.equal(got.brokerId, 3);
  assert.equal(got.brokerEpoch, 77);
  const topic = (got.topics as Msg[])[0] as Msg;
  assert.equal(topic.topicId, topicId);
  const rp = (topic.partitions as Msg[])[0] as Msg;
  assert.equal(rp.partitionIndex, 2);
  assert.equal(rp.leaderEpoch, 4);
  assert.equal(rp.partitionEpoch, 9);
  assert.deepEqual(rp.newIsrWithEpochs, [
    { brokerId: 3, brokerEpoch: -1 },
    { brokerId: 1, brokerEpoch: -1 },
  ]);
  assert.deepEqual(alterPartitionResult(resp, topicId, 2), { errorCode: 0, leaderEpoch: 4, isr: [3, 1], partitionEpoch: 10 });
  // A partition the answer does not name is not taken as success.
  assert.notEqual(alterPartitionResult(resp, topicId, 5).errorCode, 0);

  controllerId = 2;
  await send(body);
  assert.equal(b.received.length, 1, 'the moved controller got the next request');
  assert.equal(a.received.length, 1);
});
