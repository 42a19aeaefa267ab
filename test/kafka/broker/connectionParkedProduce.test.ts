// A connection with a Produce parked (acks=all waiting for replication): the Produce frames after
// it are handled meanwhile, up to parkedProducesPerConnectionMax, but every answer leaves in
// request order, whatever order the parked ones complete in; a frame of any other API waits
// until the parked produces are answered (a Fetch parked the same way still holds its connection).

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createConnection, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { Connection, parkedProducesPerConnectionMax } from '../../../src/kafka/broker/connection.js';
import { waitFor } from '../../helpers/wait.js';

const PRODUCE = 0;
const METADATA = 3;

/** A size-prefixed frame: api key, then a one-byte tag the test names it by. */
function frame(apiKey: number, tag: number): Buffer {
  const out = Buffer.alloc(4 + 3);
  out.writeInt32BE(3, 0);
  out.writeInt16BE(apiKey, 4);
  out[6] = tag;
  return out;
}

interface Harness {
  client: Socket;
  /** Tags in the order the handler saw them. */
  handled: number[];
  /** Tags in the order their answers arrived. */
  answers: number[];
  /** Completes the parked request with this tag. */
  complete: (tag: number) => void;
  stop: () => Promise<void>;
}

async function start(): Promise<Harness> {
  const handled: number[] = [];
  const answers: number[] = [];
  const parked = new Map<number, () => void>();
  let conn: Connection | undefined;
  const server = createServer((s) => {
    conn = new Connection(
      s,
      { requestBytesMax: 1024, queuedFramesMax: 64 },
      (f) => {
        const tag = f[2] as number;
        handled.push(tag);
        // Tags from 100 answer at once (acks=1); the others park until the test completes them.
        if (tag >= 100) return [Buffer.from([tag])];
        return new Promise<Buffer[]>((resolve) => parked.set(tag, () => resolve([Buffer.from([tag])])));
      },
      () => undefined,
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const client = createConnection({ port, host: '127.0.0.1' });
  await once(client, 'connect');
  let buf = Buffer.alloc(0);
  client.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 5) {
      answers.push(buf[4] as number);
      buf = buf.subarray(5);
    }
  });
  await waitFor(() => conn !== undefined, { timeoutMs: 10_000, what: 'connection accepted' });
  return {
    client,
    handled,
    answers,
    complete: (tag) => {
      const done = parked.get(tag);
      assert.ok(done, `request ${tag} is parked`);
      parked.delete(tag);
      done();
    },
    stop: async () => {
      client.destroy();
      conn?.close();
      server.close();
      await once(server, 'close');
    },
  };
}

test('produces after a parked produce are appended meanwhile and answered in request order; other APIs wait', async () => {
  const h = await start();
  try {
    h.client.write(Buffer.concat([frame(PRODUCE, 1), frame(PRODUCE, 2), frame(PRODUCE, 100), frame(METADATA, 101), frame(PRODUCE, 3)]));
    // 1 and 2 park, 100 answers at once, and all three were handled; the Metadata frame waits.
    await waitFor(() => h.handled.length === 3, { timeoutMs: 10_000, what: 'three produces handled' });
    assert.deepEqual(h.handled, [1, 2, 100]);
    // The second completes first: nothing may be answered before the first.
    h.complete(2);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(h.answers, []);
    h.complete(1);
    await waitFor(() => h.handled.length === 5, { timeoutMs: 10_000, what: 'the Metadata frame and the produce after it handled' });
    // The Metadata frame ran only once the parked produces were answered; the produce after it parks again.
    assert.deepEqual(h.handled, [1, 2, 100, 101, 3]);
    h.complete(3);
    await waitFor(() => h.answers.length === 5, { timeoutMs: 10_000, what: 'every answer' });
    assert.deepEqual(h.answers, [1, 2, 100, 101, 3]);
  } finally {
    await h.stop();
  }
});

test(`at most ${parkedProducesPerConnectionMax} produces are parked at once per connection`, async () => {
  const h = await start();
  try {
    const tags = Array.from({ length: parkedProducesPerConnectionMax + 2 }, (_, i) => i + 1);
    h.client.write(Buffer.concat(tags.map((t) => frame(PRODUCE, t))));
    await waitFor(() => h.handled.length === parkedProducesPerConnectionMax, { timeoutMs: 10_000, what: 'parked produces' });
    // The next one waits for a slot: give the connection turns to (wrongly) handle it.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    assert.equal(h.handled.length, parkedProducesPerConnectionMax);
    h.complete(1);
    await waitFor(() => h.handled.length === parkedProducesPerConnectionMax + 1, { timeoutMs: 10_000, what: 'a slot freed' });
    for (const t of tags.slice(1)) {
      await waitFor(() => h.handled.includes(t), { timeoutMs: 10_000, what: `produce ${t} handled` });
      h.complete(t);
    }
    await waitFor(() => h.answers.length === tags.length, { timeoutMs: 10_000, what: 'every answer' });
    assert.deepEqual(h.answers, tags);
  } finally {
    await h.stop();
  }
});
