// Framing of a client connection over a real loopback socket: frames split anywhere (inside the
// size prefix, across many reads, several in one write) reach the handler whole and in order;
// a frame announcing more than socket.request.max.bytes closes the connection; and the buffer
// a large Produce frame was joined into is reused for the next one, which must not disturb the
// bytes of frames of other APIs that a handler may still hold views of. Each test runs twice: on a
// socket accepted with pauseOnConnect, which reads into the buffer shared by all connections
// (socketReads.ts, as the broker does), and on one read through 'data' events.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { Connection } from '../../../src/kafka/broker/connection.js';
import { waitFor } from '../../helpers/wait.js';

interface Harness {
  server: Server;
  client: Socket;
  /** Views of the frames exactly as handed to the handler (not copies). */
  frames: Buffer[];
  /** Copies taken when each frame was handled. */
  copies: Buffer[];
  errors: unknown[];
  conn: () => Connection | undefined;
}

async function start(shared: boolean, requestBytesMax = 16 * 1024 * 1024): Promise<Harness> {
  const frames: Buffer[] = [];
  const copies: Buffer[] = [];
  const errors: unknown[] = [];
  let conn: Connection | undefined;
  const server = createServer({ pauseOnConnect: shared }, (s) => {
    conn = new Connection(
      s,
      { requestBytesMax, queuedFramesMax: 4 },
      (frame) => {
        frames.push(frame);
        copies.push(Buffer.from(frame));
        return [Buffer.from([1])];
      },
      (err) => errors.push(err),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const client = createConnection({ port, host: '127.0.0.1' });
  await once(client, 'connect');
  client.on('data', () => {}); // drain the one-byte answers
  await waitFor(() => conn !== undefined, { timeoutMs: 10_000, what: 'connection accepted' });
  assert.equal(conn?.readsShared, shared, 'read mode of the accepted socket');
  return { server, client, frames, copies, errors, conn: () => conn };
}

async function stop(h: Harness): Promise<void> {
  h.client.destroy();
  h.conn()?.close();
  h.server.close();
  await once(h.server, 'close');
}

/** A size-prefixed frame of `size` bytes whose first two bytes are `apiKey`, filled from `seed`. */
function frameOf(apiKey: number, size: number, seed: number): Buffer {
  const out = Buffer.alloc(4 + size);
  out.writeInt32BE(size, 0);
  for (let i = 4; i < out.length; i++) out[i] = (i * 31 + seed) & 0xff;
  out.writeInt16BE(apiKey, 4);
  return out;
}

async function writeAll(s: Socket, parts: Buffer[]): Promise<void> {
  for (const p of parts) if (!s.write(p)) await once(s, 'drain');
}

for (const shared of [true, false]) {
  const mode = shared ? 'shared read buffer' : "'data' reads";

  test(`frames split at every kind of boundary arrive whole and in order (${mode})`, async () => {
    const h = await start(shared);
    try {
      const sent = [frameOf(3, 10, 1), frameOf(18, 2, 2), frameOf(0, 300_000, 3), frameOf(1, 7, 4), frameOf(0, 70_000, 5)];
      const wire = Buffer.concat(sent);
      // Byte by byte through the first two frames (size prefix split), then uneven slices.
      const parts: Buffer[] = [];
      let p = 0;
      for (; p < 4 + 10 + 4 + 2 + 3; p++) parts.push(wire.subarray(p, p + 1));
      for (const n of [5, 1000, 65_537, 3, 250_000]) {
        parts.push(wire.subarray(p, Math.min(p + n, wire.length)));
        p = Math.min(p + n, wire.length);
      }
      parts.push(wire.subarray(p));
      for (const part of parts) {
        await writeAll(h.client, [part]);
        // Give the server a turn between writes, so small pieces tend to arrive as separate reads.
        await new Promise<void>((r) => setImmediate(r));
      }
      await waitFor(() => h.copies.length === sent.length, { timeoutMs: 20_000, what: 'all frames handled' });
      assert.deepEqual(
        h.copies.map((c) => c.length),
        sent.map((s) => s.length - 4),
      );
      for (const [i, s] of sent.entries()) assert.ok(h.copies[i]?.equals(s.subarray(4)), `frame ${i} bytes`);
      // Frames of APIs other than Produce keep their bytes after later reads (with a shared read
      // buffer: they were copied out of it).
      for (const i of [0, 1, 3]) assert.ok(h.frames[i]?.equals(sent[i]!.subarray(4)), `frame ${i} intact after later reads`);
      assert.deepEqual(h.errors, []);
    } finally {
      await stop(h);
    }
  });

  test(`a large Produce frame reuses the previous one’s buffer; other frames are left intact (${mode})`, async () => {
    const h = await start(shared);
    try {
      // Frames far larger than one socket read (64 KiB) are joined; a Metadata-like frame in
      // between must neither take the spare buffer nor be reused (its handler may keep views).
      const sent = [frameOf(0, 400_000, 7), frameOf(3, 200_000, 8), frameOf(0, 300_000, 9), frameOf(0, 350_000, 10)];
      for (const s of sent) {
        await writeAll(h.client, [s]);
        await waitFor(() => h.copies.length > sent.indexOf(s), { timeoutMs: 20_000, what: 'frame handled' });
      }
      for (const [i, s] of sent.entries()) {
        assert.ok(h.copies[i]?.equals(s.subarray(4)), `frame ${i} as handled`);
      }
      // The non-Produce frame's view still holds its bytes after later frames arrived.
      assert.ok(h.frames[1]?.equals(sent[1]!.subarray(4)), 'non-Produce frame untouched');
      // The later Produce frames were gathered into the first one's buffer.
      assert.equal(h.frames[2]?.buffer, h.frames[0]?.buffer, 'second Produce frame reused the first one’s buffer');
      assert.equal(h.frames[3]?.buffer, h.frames[0]?.buffer, 'third Produce frame reused it too');
      assert.deepEqual(h.errors, []);
    } finally {
      await stop(h);
    }
  });

  test(`a frame announcing more than socket.request.max.bytes closes the connection unbuffered (${mode})`, async () => {
    const h = await start(shared, 1000);
    try {
      const head = Buffer.alloc(4);
      head.writeInt32BE(1001, 0);
      const closed = once(h.client, 'close');
      await writeAll(h.client, [head]);
      await closed;
      assert.equal(h.copies.length, 0);
      assert.equal(h.errors.length, 1);
      assert.match(String(h.errors[0]), /exceeds socket\.request\.max\.bytes 1000/);
    } finally {
      await stop(h);
    }
  });
}
