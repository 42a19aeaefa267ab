// The inter-broker client against a real broker: requests encoded from the declarations are
// answered and decoded, pipelined requests are matched by correlation id, and a closed or
// silent connection rejects what is pending instead of hanging.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { KafkaTestingCluster } from '../../../src/cluster/kafkaTestingCluster.js';
import { BrokerClient, BrokerClientError } from '../../../src/kafka/net/brokerClient.js';
import { createLogger } from '../../../src/util/log.js';

let cluster: KafkaTestingCluster;

before(async () => {
  cluster = await KafkaTestingCluster.start({ brokers: 1, logger: createLogger('net', 'error') });
});

after(async () => {
  await cluster.close();
});

test('requests are encoded, answered and decoded; pipelined ones are matched by correlation id', async () => {
  const c = await BrokerClient.connect({ host: '127.0.0.1', port: cluster.get(1).port, clientId: 'net-test' });
  try {
    const [versions, meta9, meta12] = await Promise.all([
      c.request(18, 3, { clientSoftwareName: 'net-test', clientSoftwareVersion: '1' }),
      c.request(3, 9, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }),
      c.request(3, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }),
    ]);
    assert.equal(versions.errorCode, 0);
    assert.ok(
      (versions.apiKeys as { apiKey: number }[]).some((k) => k.apiKey === 1),
      'Fetch is advertised',
    );
    for (const m of [meta9, meta12]) {
      assert.deepEqual(
        (m.brokers as { nodeId: number; port: number }[]).map((b) => [b.nodeId, b.port]),
        [[1, cluster.get(1).port]],
      );
      assert.equal(m.controllerId, 1);
    }
    assert.equal(c.inFlight, 0);
  } finally {
    c.close();
  }
});

test('a connection that closes rejects pending requests; a silent one times out', async () => {
  let server: Server | undefined;
  const sockets: import('node:net').Socket[] = [];
  try {
    server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const c = await BrokerClient.connect({ host: '127.0.0.1', port, clientId: 'net-test', requestTimeoutMs: 200 });
    const timedOut = c.request(18, 0, {});
    await assert.rejects(timedOut, (e: unknown) => e instanceof BrokerClientError && e.maybeSent && /timed out/.test(e.message));
    const pending = c.request(18, 0, {});
    for (const s of sockets) s.destroy();
    await assert.rejects(pending, (e: unknown) => e instanceof BrokerClientError && /closed/.test(e.message));
    assert.equal(c.closed, true);
    await assert.rejects(c.request(18, 0, {}), /closed/);
  } finally {
    for (const s of sockets) s.destroy();
    server?.close();
  }
});

test('connecting to a port nobody listens on fails with a named error', async () => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  await assert.rejects(
    BrokerClient.connect({ host: '127.0.0.1', port, clientId: 'net-test' }),
    (e: unknown) => e instanceof BrokerClientError && e.message.includes(`127.0.0.1:${port}`),
  );
});

test('responses split into single bytes, and two responses in one chunk, are framed correctly', async () => {
  const sockets: import('node:net').Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    let got = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      // Answer once both requests are in: ApiVersions v0 bodies (error 0, one key) for each id.
      const ids: number[] = [];
      for (let at = 0; at + 4 <= got.length; ) {
        const size = got.readInt32BE(at);
        if (at + 4 + size > got.length) break;
        ids.push(got.readInt32BE(at + 8));
        at += 4 + size;
      }
      if (ids.length < 2) return;
      const frames = ids.map((id) => {
        const f = Buffer.alloc(4 + 16);
        f.writeInt32BE(16, 0);
        f.writeInt32BE(id, 4);
        f.writeInt16BE(0, 8);
        f.writeInt32BE(1, 10);
        f.writeInt16BE(18, 14);
        f.writeInt16BE(0, 16);
        f.writeInt16BE(3, 18);
        return f;
      });
      // The first response one byte at a time, then the second whole.
      const first = frames[0] as Buffer;
      let i = 0;
      const drip = (): void => {
        if (i < first.length) {
          s.write(first.subarray(i, i + 1));
          i++;
          setImmediate(drip);
        } else s.write(frames[1] as Buffer);
      };
      drip();
    });
  });
  try {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const c = await BrokerClient.connect({ host: '127.0.0.1', port, clientId: 'net-test' });
    const [a, b] = await Promise.all([c.request(18, 0, {}), c.request(18, 0, {})]);
    for (const r of [a, b]) assert.deepEqual(r.apiKeys, [{ apiKey: 18, minVersion: 0, maxVersion: 3 }]);
    c.close();
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
  }
});
