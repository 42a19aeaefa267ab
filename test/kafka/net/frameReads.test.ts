// The inter-broker client's frame reader without sockets: reads are simulated by filling the
// buffer `target()` names, as Node's onread does, so every split of a stream of frames (size
// prefix cut, several frames in one read, a large frame read in place) is checked byte for byte;
// plus one real socket carrying large and small frames through net.connect's onread.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { FrameReader } from '../../../src/kafka/net/frameReads.js';

function framed(bodies: Buffer[]): Buffer {
  return Buffer.concat(
    bodies.flatMap((b) => {
      const size = Buffer.alloc(4);
      size.writeInt32BE(b.length, 0);
      return [size, b];
    }),
  );
}

/** Feeds `stream` to a reader in reads of at most `readBytes`, each landing where target() says. */
function feed(stream: Buffer, readBytes: (i: number) => number, scratchBytes = 64 * 1024) {
  const frames: Buffer[] = [];
  const invalid: string[] = [];
  let inPlace = 0;
  const scratch = Buffer.alloc(scratchBytes);
  const reader = new FrameReader(
    { frameBytesMax: 8 * 1024 * 1024, onFrame: (f) => frames.push(f), onInvalid: (r) => invalid.push(r) },
    scratch,
  );
  let at = 0;
  for (let i = 0; at < stream.length && invalid.length === 0; i++) {
    const into = reader.target();
    if (into !== scratch) inPlace++;
    const n = Math.min(into.length, readBytes(i), stream.length - at);
    stream.copy(into, 0, at, at + n);
    // Scratch bytes past the read are stale: poison them so a reader that looks there fails.
    if (into === scratch) scratch.fill(0xee, n);
    at += n;
    reader.onRead(into, n);
  }
  return { frames, invalid, inPlace };
}

test('frames come out whole and equal whatever the read sizes, large ones read in place', () => {
  const bodies = [randomBytes(16), randomBytes(300_000), randomBytes(5), randomBytes(70_000), randomBytes(1_200_000), randomBytes(4)];
  const stream = framed(bodies);
  const splits: Array<[string, (i: number) => number]> = [
    ['single bytes', () => 1],
    ['3 bytes (size prefixes cut)', () => 3],
    ['4,093 bytes', () => 4093],
    ['whole scratch', () => 1 << 30],
    ['varying', (i) => 1 + ((i * 7919) % 100_000)],
  ];
  for (const [name, split] of splits) {
    const { frames, invalid, inPlace } = feed(stream, split);
    assert.deepEqual(invalid, [], name);
    assert.equal(frames.length, bodies.length, name);
    for (const [i, f] of frames.entries()) assert.ok(f.equals(bodies[i] as Buffer), `${name}: frame ${i}`);
    if (split(0) > 1000) assert.ok(inPlace > 0, `${name}: large frames are read in place`);
  }
});

test('a delivered frame is its own buffer: later reads do not change it', () => {
  const bodies = [Buffer.from('first frame'), Buffer.from('second frame')];
  const stream = framed(bodies);
  const scratch = Buffer.alloc(1024);
  const frames: Buffer[] = [];
  const reader = new FrameReader({ frameBytesMax: 1024, onFrame: (f) => frames.push(f), onInvalid: (r) => assert.fail(r) }, scratch);
  stream.copy(scratch);
  reader.onRead(scratch, stream.length);
  scratch.fill(0);
  assert.deepEqual(
    frames.map((f) => f.toString()),
    ['first frame', 'second frame'],
  );
});

test('a size over the limit or under 4 stops the reader: reported once, nothing delivered after', () => {
  for (const size of [-1, 3, 1025]) {
    const scratch = Buffer.alloc(64);
    const frames: Buffer[] = [];
    const invalid: string[] = [];
    const reader = new FrameReader({ frameBytesMax: 1024, onFrame: (f) => frames.push(f), onInvalid: (r) => invalid.push(r) }, scratch);
    const good = framed([Buffer.from('ok!!')]);
    good.copy(scratch);
    scratch.writeInt32BE(size, good.length);
    reader.onRead(scratch, good.length + 4);
    good.copy(scratch);
    reader.onRead(scratch, good.length);
    assert.equal(frames.length, 1, `size ${size}`);
    assert.equal(invalid.length, 1, `size ${size}`);
    assert.match(invalid[0] as string, new RegExp(`frame of ${size} bytes`));
  }
});

test('a read reported into a buffer the reader did not offer stops it instead of misplacing bytes', () => {
  const invalid: string[] = [];
  const reader = new FrameReader(
    { frameBytesMax: 1 << 20, onFrame: () => assert.fail('no frame is whole'), onInvalid: (r) => invalid.push(r) },
    Buffer.alloc(64),
  );
  const head = Buffer.alloc(4);
  head.writeInt32BE(100_000, 0);
  head.copy(reader.target());
  reader.onRead(reader.target(), 4);
  const elsewhere = Buffer.alloc(100_000);
  reader.onRead(elsewhere, 10);
  assert.deepEqual(invalid, ['socket read landed outside the frame being filled']);
});

test('over a real socket (net.connect onread): large and small frames arrive intact', async () => {
  const bodies = [randomBytes(2_000_000), randomBytes(10), randomBytes(100_000), randomBytes(4)];
  const sent: Socket[] = [];
  const server = createServer((s) => {
    sent.push(s);
    s.end(framed(bodies));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as { port: number }).port;
    const frames: Buffer[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const reader = new FrameReader({
        frameBytesMax: 4 * 1024 * 1024,
        onFrame: (f) => {
          frames.push(f);
          if (frames.length === bodies.length) resolve();
        },
        onInvalid: (r) => reject(new Error(r)),
      });
      const socket = connect({ host: '127.0.0.1', port, onread: reader.onreadOption() });
      socket.on('error', reject);
      socket.on('close', () => reject(new Error(`closed after ${frames.length} frames`)));
    });
    await done;
    for (const [i, f] of frames.entries()) assert.ok(f.equals(bodies[i] as Buffer), `frame ${i}`);
  } finally {
    for (const s of sent) s.destroy();
    server.close();
  }
});
