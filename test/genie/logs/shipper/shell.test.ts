// The shipper's shell against a fake Publisher (so Kafka can be made slow or absent at will):
// following appends, rotation, truncation, files that appear later, the checkpoint moving only
// with acknowledgements, back-pressure on files and streams, and drops counted with a reason.

import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';
import { murmur2 } from '@platformatic/kafka';
import { parseCheckpoint } from '../../../../src/genie/logs/shipper/checkpoint.js';
import { type LogPublisher, type LogRecord, LogShipper, type LogShipperOptions } from '../../../../src/genie/logs/shipper/shipper.js';
import { waitFor } from '../../../helpers/wait.js';

/** A Publisher that acknowledges at once, holds every call, or fails every call, as the test says. */
class FakePublisher implements LogPublisher {
  mode: 'ack' | 'hold' | 'fail' = 'ack';
  /** A call holding an event longer than this fails as Kafka's MESSAGE_TOO_LARGE, nested as @platformatic/kafka nests it. */
  valueBytesMax = Number.POSITIVE_INFINITY;
  readonly acked: LogRecord[] = [];
  held: { events: readonly LogRecord[]; resolve: () => void }[] = [];
  calls = 0;

  publish(events: readonly LogRecord[]): Promise<void> {
    this.calls++;
    if (this.mode === 'fail') return Promise.reject(new Error('broker away'));
    if (events.some((e) => e.value.length > this.valueBytesMax)) {
      return Promise.reject(Object.assign(new Error('Received response with error'), { errors: [{ apiId: 'MESSAGE_TOO_LARGE' }] }));
    }
    if (this.mode === 'hold') return new Promise((resolve) => this.held.push({ events, resolve }));
    this.acked.push(...events);
    return Promise.resolve();
  }

  release(): void {
    for (const h of this.held.splice(0)) {
      this.acked.push(...h.events);
      h.resolve();
    }
  }

  messages(): string[] {
    return this.acked.map((e) => JSON.parse(e.value.toString()).message as string);
  }

  async close(): Promise<void> {}
}

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function setup(extra: Partial<LogShipperOptions> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'cg-shipper-'));
  dirs.push(dir);
  const publisher = new FakePublisher();
  const checkpointPath = join(dir, 'cp.json');
  const make = (p = publisher) =>
    new LogShipper({ publisher: p, checkpointPath, pollIntervalMs: 10, checkpointIntervalMs: 10, host: 'test', ...extra });
  return { dir, publisher, checkpointPath, make };
}

const lines = (from: number, to: number, prefix = 'line'): string => {
  let s = '';
  for (let i = from; i < to; i++) s += `${prefix} ${i}\n`;
  return s;
};

async function checkpointOf(path: string, file: string) {
  return parseCheckpoint(await readFile(path, 'utf8')).get(file);
}

describe('LogShipper on files', () => {
  test('starts at the end of an existing file, follows appends, rotation and truncation', async () => {
    const { dir, publisher, make } = await setup();
    const file = join(dir, 'app.log');
    await writeFile(file, 'old 1\nold 2\n');
    const s = make();
    await s.start();
    s.addFile(file);
    // The start position is recorded before anything is read.
    await waitFor(async () => (await checkpointOf(join(dir, 'cp.json'), file).catch(() => undefined))?.position === 12);
    await appendFile(file, lines(0, 3));
    await waitFor(() => publisher.acked.length === 3, { what: 'three lines' });
    // Rotation: the rest of the old file, then the new file from its start.
    await appendFile(file, 'before rename\n');
    await rename(file, `${file}.1`);
    await appendFile(`${file}.1`, 'written to the old inode after the rename\n');
    await writeFile(file, 'new file 1\n');
    await waitFor(() => publisher.acked.length === 6, { what: () => `six lines, have ${publisher.messages()}` });
    // Truncation (copytruncate): reading starts over.
    await appendFile(file, 'new file 2\n');
    await waitFor(() => publisher.acked.length === 7);
    await truncate(file, 0);
    await waitFor(async () => (await checkpointOf(join(dir, 'cp.json'), file))?.position === 0, { what: 'position 0 after truncation' });
    await appendFile(file, 'after truncation\n');
    await waitFor(() => publisher.acked.length === 8);
    await s.close();
    assert.deepEqual(publisher.messages(), [
      'line 0',
      'line 1',
      'line 2',
      'before rename',
      'written to the old inode after the rename',
      'new file 1',
      'new file 2',
      'after truncation',
    ]);
    const e = JSON.parse(publisher.acked[0]!.value.toString());
    assert.equal(e.file, file);
    assert.equal(e.source_type, 'file');
    assert.equal(e.host, 'test');
    assert.equal(publisher.acked[0]!.key.toString(), file);
    // The partition is the client's default (murmur2 of the key), computed once for the file.
    for (const r of publisher.acked) assert.equal(r.partition, murmur2(Buffer.from(file)) >>> 0);
    // Every line gets a later timestamp than the one before, even within one read.
    const stamps = publisher.acked.map((r) => JSON.parse(r.value.toString()).timestamp as string);
    for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i]! > stamps[i - 1]!, `${stamps[i]} after ${stamps[i - 1]}`);
    assert.deepEqual(await checkpointOf(join(dir, 'cp.json'), file).then((c) => c?.position), Buffer.byteLength('after truncation\n'));
    assert.equal(s.stats.linesShipped, 8);
  });

  test('a file that appears later is read from its start; --from-beginning reads existing files whole', async () => {
    const { dir, publisher, make } = await setup({ start: 'beginning' });
    const existing = join(dir, 'a.log');
    const later = join(dir, 'b.log');
    await writeFile(existing, 'a1\na2\n');
    const s = make();
    await s.start();
    s.addFile(existing);
    s.addFile(later);
    await waitFor(() => publisher.acked.length === 2);
    await writeFile(later, 'b1\n');
    await waitFor(() => publisher.acked.length === 3);
    await s.close();
    assert.deepEqual(publisher.messages().sort(), ['a1', 'a2', 'b1']);
  });

  test('the checkpoint moves only with acknowledgements, and a restart resumes there', async () => {
    const { dir, publisher, checkpointPath, make } = await setup({ start: 'beginning' });
    const file = join(dir, 'c.log');
    await writeFile(file, lines(0, 10));
    publisher.mode = 'hold';
    const s1 = make();
    await s1.start();
    s1.addFile(file);
    await waitFor(() => s1.stats.linesRead === 10);
    await waitFor(async () => (await checkpointOf(checkpointPath, file).catch(() => undefined)) !== undefined);
    assert.equal((await checkpointOf(checkpointPath, file))?.position, 0, 'nothing acknowledged, nothing checkpointed');
    // Abandon s1 without closing (as a crash would): its lines were never acknowledged.
    // biome-ignore lint/suspicious/noExplicitAny: stopping the abandoned shipper's loop without a graceful close
    (s1 as any).stopping = true;
    const p2 = new FakePublisher();
    const s2 = make(p2);
    await s2.start();
    s2.addFile(file);
    await waitFor(() => p2.acked.length === 10);
    await waitFor(async () => (await checkpointOf(checkpointPath, file))?.position === Buffer.byteLength(lines(0, 10)));
    await s2.close();
    assert.deepEqual(p2.messages(), lines(0, 10).trim().split('\n'));
    publisher.release();
  });

  test('a rotation while the shipper was down: the old inode is finished from the checkpoint first', async () => {
    const { dir, publisher, checkpointPath, make } = await setup({ start: 'beginning' });
    const file = join(dir, 'r.log');
    await writeFile(file, lines(0, 3));
    const s1 = make();
    await s1.start();
    s1.addFile(file);
    await waitFor(() => publisher.acked.length === 3);
    await s1.close();
    await appendFile(file, lines(3, 5));
    await rename(file, join(dir, 'r.log.1'));
    await writeFile(file, lines(5, 7));
    const p2 = new FakePublisher();
    const s2 = make(p2);
    await s2.start();
    s2.addFile(file);
    await waitFor(() => p2.acked.length === 4, { what: () => `4 lines, have ${p2.messages()}` });
    await waitFor(async () => (await checkpointOf(checkpointPath, file))?.position === Buffer.byteLength(lines(5, 7)));
    await s2.close();
    assert.deepEqual(p2.messages(), ['line 3', 'line 4', 'line 5', 'line 6']);
  });

  test('Kafka away: reading stops at bufferedLinesMax, nothing is dropped, all arrive once it is back', async () => {
    const { dir, publisher, make } = await setup({ start: 'beginning', bufferedLinesMax: 50, retryDelayMsMax: 20, readChunkBytes: 256 });
    const file = join(dir, 'big.log');
    await writeFile(file, lines(0, 1000));
    publisher.mode = 'fail';
    const s = make();
    await s.start();
    s.addFile(file);
    await waitFor(() => s.stats.publishFailures >= 3);
    // Files stop exactly at the bound (the rest of a chunk is read again later).
    assert.equal(s.stats.linesRead, 50);
    assert.equal(s.stats.bufferedLines, 50);
    publisher.mode = 'ack';
    await waitFor(() => publisher.acked.length === 1000, { what: () => `1000 lines, have ${publisher.acked.length}` });
    await s.close();
    assert.deepEqual(publisher.messages(), lines(0, 1000).trim().split('\n'));
    assert.deepEqual(s.stats.dropped, {});
  });

  test('a 10 MB line of binary garbage is cut to lineBytesMax and the next line still arrives', async () => {
    const { dir, publisher, make } = await setup({ start: 'beginning', lineBytesMax: 64 * 1024 });
    const file = join(dir, 'garbage.log');
    const garbage = Buffer.alloc(10 * 1024 * 1024);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 131 + 7) & 0xff || 1;
    for (let i = 0; i < garbage.length; i++) if (garbage[i] === 0x0a) garbage[i] = 0x0b;
    await writeFile(file, Buffer.concat([garbage, Buffer.from('\nnormal line\n')]));
    const s = make();
    await s.start();
    s.addFile(file);
    await waitFor(() => publisher.acked.length === 2, { timeoutMs: 30_000 });
    await s.close();
    const first = JSON.parse(publisher.acked[0]!.value.toString());
    assert.equal(first.truncated, true);
    assert.ok(Buffer.byteLength(first.message) <= 64 * 1024 * 3); // replacement characters are 3 bytes each
    assert.equal(publisher.messages()[1], 'normal line');
    assert.equal(s.stats.linesTruncated, 1);
  });
});

describe('LogShipper: Docker logs and records Kafka refuses', () => {
  test('a *-json.log file is read as Docker json-file records', async () => {
    const { dir, publisher, make } = await setup({ start: 'beginning' });
    const file = join(dir, 'abc123-json.log');
    const rec = (log: string, stream: string, time: string): string => `${JSON.stringify({ log, stream, time })}\n`;
    const big = 'p'.repeat(40_000); // Docker writes a line over 16 KiB as parts without the newline
    await writeFile(
      file,
      rec('hello\n', 'stdout', '2026-12-07T10:00:00.5Z') +
        rec('{"level":"error","msg":"bad"}\n', 'stderr', '2026-12-07T10:00:01.000000001Z') +
        rec(big.slice(0, 16384), 'stdout', '2026-12-07T10:00:02Z') +
        rec(big.slice(16384, 32768), 'stdout', '2026-12-07T10:00:02Z') +
        rec(`${big.slice(32768)}\n`, 'stdout', '2026-12-07T10:00:02Z'),
    );
    const s = make();
    await s.start();
    s.addFile(file);
    await waitFor(() => publisher.acked.length === 3);
    await s.close();
    const [a, b, c] = publisher.acked.map((e) => JSON.parse(e.value.toString()));
    assert.equal(c.message, big);
    assert.equal(s.stats.linesRead, 5);
    assert.deepEqual(
      { message: a.message, stream: a.stream, timestamp: a.timestamp, source_type: a.source_type },
      { message: 'hello', stream: 'stdout', timestamp: '2026-12-07T10:00:00.500000000Z', source_type: 'docker_logs' },
    );
    assert.equal(b.level, 'error');
    assert.equal(b.stream, 'stderr');
  });

  test('an event the topic refuses as too large is dropped with its reason; its neighbours arrive', async () => {
    const { dir, publisher, checkpointPath, make } = await setup({ start: 'beginning' });
    publisher.valueBytesMax = 2000;
    const file = join(dir, 'mixed.log');
    await writeFile(file, `${lines(0, 5)}${'w'.repeat(5000)}\n${lines(5, 10)}`);
    const s = make();
    await s.start();
    s.addFile(file);
    await waitFor(() => publisher.acked.length === 10, { what: () => `10 lines, have ${publisher.acked.length}` });
    await waitFor(async () => (await checkpointOf(checkpointPath, file))?.position === (await readFile(file)).length);
    await s.close();
    assert.deepEqual(publisher.messages(), [...lines(0, 10).trim().split('\n')]);
    assert.deepEqual(s.stats.dropped, { rejected_too_large: 1 });
  });
});

describe('LogShipper on streams and its own lines', () => {
  test('a stream is paused at the bound and resumed; the promise settles when all is acknowledged', async () => {
    const { publisher, make } = await setup({ bufferedLinesMax: 10 });
    publisher.mode = 'hold';
    const s = make();
    await s.start();
    const input = new PassThrough({ highWaterMark: 64 });
    const done = s.addStream(input, 'stdin');
    let settled = false;
    void done.then(() => {
      settled = true;
    });
    let written = 0;
    // Write until the pipe pushes back: the shipper stopped reading.
    while (input.write(`s ${written}\n`)) written++;
    written++;
    await waitFor(() => publisher.held.length > 0);
    assert.ok(s.stats.bufferedLines <= 10 + 64, `buffered ${s.stats.bufferedLines}`);
    assert.ok(input.isPaused());
    input.end();
    for (let i = 0; i < 200 && !settled; i++) {
      publisher.release();
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => {
      publisher.release();
      return settled;
    });
    assert.deepEqual(
      publisher.messages(),
      Array.from({ length: written }, (_, i) => `s ${i}`),
    );
    assert.equal(JSON.parse(publisher.acked[0]!.value.toString()).source_type, 'stdin');
    assert.equal(publisher.acked[0]!.key.toString(), 'stdin');
    await s.close();
  });

  test('shipLine never waits: beyond the bound it drops and counts', async () => {
    const { publisher, make } = await setup({ bufferedLinesMax: 5 });
    publisher.mode = 'hold';
    const s = make();
    await s.start();
    const results = Array.from({ length: 8 }, (_, i) => s.shipLine('broker-1', `{"level":40,"msg":"m${i}"}\n`, { service: 'broker' }));
    assert.deepEqual(results, [true, true, true, true, true, false, false, false]);
    assert.deepEqual(s.stats.dropped, { buffer_full: 3 });
    publisher.release();
    await s.drain();
    const e = JSON.parse(publisher.acked[0]!.value.toString());
    assert.equal(e.source_type, 'internal');
    assert.equal(e.service, 'broker');
    assert.equal(e.msg, 'm0');
    assert.equal(publisher.acked[0]!.key.toString(), 'broker-1');
    await s.close();
  });
});
