// `clustergenie ship-logs` as a child process against a real broker of ours (KafkaTestingCluster,
// one broker), read back with @platformatic/kafka: lines appended, the file rotated and truncated
// under the shipper, the shipper killed -9 and restarted — every line arrives, and duplicates
// come only from the crash's tail (the lines after the last checkpoint). Also stdin mode, and a
// 10 MB line of binary garbage cut with bounded memory.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Consumer, type Message, MessagesStreamModes, stringDeserializers } from '@platformatic/kafka';
import { KafkaTestingCluster } from '../../../../src/cluster/kafkaTestingCluster.js';
import { parseCheckpoint } from '../../../../src/genie/logs/shipper/checkpoint.js';
import { killOnExit, waitExit } from '../../../helpers/children.js';
import { waitFor } from '../../../helpers/wait.js';

const mainUrl = new URL('../../../../src/genie/logs/shipper/main.js', import.meta.url).href;
const launcher = `const m = await import(${JSON.stringify(mainUrl)}); await m.runShipLogs(JSON.parse(process.env.SHIP_ARGS));`;

let cluster: KafkaTestingCluster;
let dir: string;

before(async () => {
  cluster = await KafkaTestingCluster.start({ brokers: 1 });
  dir = await mkdtemp(join(tmpdir(), 'cg-ship-logs-'));
});

after(async () => {
  await cluster?.close();
  await rm(dir, { recursive: true, force: true });
});

interface Shipper {
  child: ChildProcess;
  stderr: () => string;
  ready: Promise<void>;
}

function startShipper(args: string[], stdin: 'pipe' | 'ignore' = 'ignore'): Shipper {
  const child = spawn(process.execPath, ['--input-type=module', '-e', launcher], {
    stdio: [stdin, 'pipe', 'pipe'],
    env: { ...process.env, SHIP_ARGS: JSON.stringify(['--bootstrap-server', cluster.bootstrap, ...args]) },
  });
  killOnExit(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ship-logs ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`ship-logs exited (${code}) before ready: ${err}`)));
  });
  ready.catch(() => undefined);
  return { child, stderr: () => err, ready };
}

async function stopShipper(s: Shipper, signal: NodeJS.Signals): Promise<void> {
  s.child.kill(signal);
  assert.ok(await waitExit(s.child, 30_000), `ship-logs did not exit after ${signal}`);
}

type Msg = Message<string, string, string, string>;

/** Everything on `topic` from the start, once `enough(messages)` holds. */
async function readTopic(topic: string, enough: (got: Msg[]) => boolean, what: string): Promise<Msg[]> {
  const c = new Consumer({
    clientId: 'ship-logs-test',
    groupId: `read-${topic}-${Date.now()}`,
    bootstrapBrokers: [cluster.bootstrap],
    deserializers: stringDeserializers,
    maxWaitTime: 200,
    retries: 20,
    retryDelay: 100,
    timeout: 10_000,
  });
  const got: Msg[] = [];
  try {
    const stream = await c.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false });
    stream.on('data', (m: Msg) => got.push(m));
    try {
      await waitFor(() => enough(got), { timeoutMs: 60_000, what: () => `${what}; have ${got.length} messages` });
    } finally {
      await stream.close();
    }
  } finally {
    await new Promise<void>((resolve) => c.close(true, () => resolve()));
  }
  return got;
}

const seqLines = (from: number, to: number): string => {
  let s = '';
  for (let i = from; i < to; i++) s += `level=info msg="line" seq=${i}\n`;
  return s;
};

const seqOf = (m: Msg): number => Number(JSON.parse(m.value).seq);

async function positionOf(checkpoint: string, file: string): Promise<number | undefined> {
  try {
    return parseCheckpoint(await readFile(checkpoint, 'utf8')).get(file)?.position;
  } catch {
    return undefined;
  }
}

describe('ship-logs against a broker', () => {
  test('appends, rotation, truncation and kill -9: no line lost, duplicates only from the crash', async () => {
    const topic = 'logs.ship.crash';
    const file = join(dir, 'app.log');
    const checkpoint = join(dir, 'crash.checkpoint.json');
    const args = [
      file,
      '--topic',
      topic,
      '--checkpoint',
      checkpoint,
      '--from-beginning',
      '--poll-interval-ms',
      '20',
      '--buffered-lines-max',
      '500',
    ];
    let next = 0;
    const write = async (n: number): Promise<void> => {
      await appendFile(file, seqLines(next, next + n));
      next += n;
    };
    /** Waits until the checkpoint covers the whole file (every line so far acknowledged). */
    const caughtUp = async (): Promise<void> => {
      await waitFor(async () => (await positionOf(checkpoint, file)) === (await stat(file)).size, {
        timeoutMs: 30_000,
        what: 'checkpoint at the end of the file',
      });
    };

    await write(100);
    let shipper = startShipper(args);
    await shipper.ready;
    await write(400);
    await caughtUp();

    // Rotation: rename, a last line into the old inode, then a new file at the path.
    await rename(file, `${file}.1`);
    await appendFile(`${file}.1`, seqLines(next, next + 1));
    next++;
    await write(200);
    await caughtUp();

    // copytruncate: the copy is taken after everything was read, then the file is emptied.
    await truncate(file, 0);
    await waitFor(async () => (await positionOf(checkpoint, file)) === 0, { timeoutMs: 30_000, what: 'position 0 after truncation' });
    await write(300);

    // kill -9 while lines are being written and shipped; the writer goes on while it is down.
    const beforeCrash = next;
    let bursts = 0;
    const writing = (async () => {
      for (; bursts < 20; bursts++) {
        await write(100);
        await new Promise((r) => setTimeout(r, 10)); // pacing, so that the kill lands mid-stream
      }
    })();
    await waitFor(async () => bursts >= 10 && ((await positionOf(checkpoint, file)) ?? 0) > 0);
    shipper.child.kill('SIGKILL');
    await waitExit(shipper.child, 30_000);
    const sizeAtKill = (await stat(file)).size;
    await writing;
    const crashCheckpoint = (await positionOf(checkpoint, file))!;
    // Only lines between the checkpoint and the end of the file at the kill may have reached Kafka
    // from the dead shipper and be shipped again by the next one.
    const fileBytes = await readFile(file);
    const seqsIn = (from: number, to: number): number[] =>
      [
        ...fileBytes
          .subarray(from, to)
          .toString()
          .matchAll(/seq=(\d+)/g),
      ].map((m) => Number(m[1]));
    const repeatable = new Set(seqsIn(crashCheckpoint, sizeAtKill));
    assert.ok(Math.min(...seqsIn(crashCheckpoint, fileBytes.length)) >= beforeCrash - 300, 'the checkpoint was in the crash phase');

    shipper = startShipper(args);
    await shipper.ready;
    await write(500);
    const total = next;
    const got = await readTopic(topic, (ms) => new Set(ms.map(seqOf)).size >= total, `${total} distinct lines`);
    await caughtUp();
    await stopShipper(shipper, 'SIGTERM');
    assert.equal(shipper.child.exitCode, 0, shipper.stderr());

    const counts = new Map<number, number>();
    for (const m of got) counts.set(seqOf(m), (counts.get(seqOf(m)) ?? 0) + 1);
    const missing = Array.from({ length: total }, (_, i) => i).filter((i) => !counts.has(i));
    assert.deepEqual(missing, [], 'no line lost');
    const repeated = [...counts].filter(([, n]) => n > 1);
    for (const [seq, n] of repeated) {
      assert.equal(n, 2, `seq ${seq} arrived ${n} times`);
      assert.ok(repeatable.has(seq), `seq ${seq} repeated but was not between the crash checkpoint and the end of the file at the kill`);
    }
    process.stderr.write(`# ${total} lines, ${repeated.length} duplicates from the crash (${repeatable.size} lines could repeat)\n`);
    // Order holds within the file's key apart from the repeat.
    const e = JSON.parse(got[0]!.value);
    assert.equal(e.file, file);
    assert.equal(e.source_type, 'file');
    assert.equal(e.msg, 'line');
    assert.equal(got[0]!.key, file);
  });

  test('stdin: lines to the end of input, exit 0 once acknowledged', async () => {
    const topic = 'logs.ship.stdin';
    const s = startShipper(['-', '--topic', topic], 'pipe');
    const exited = new Promise<number | null>((resolve) => s.child.once('exit', (code) => resolve(code)));
    s.child.stdin!.write('{"level":"warn","msg":"from stdin","n":1}\n');
    s.child.stdin!.end(`${seqLines(0, 999)}unterminated last line`);
    assert.equal(await exited, 0, s.stderr());
    const got = await readTopic(topic, (ms) => ms.length >= 1001, '1001 lines');
    assert.equal(got.length, 1001);
    const first = JSON.parse(got[0]!.value);
    assert.equal(first.source_type, 'stdin');
    assert.equal(first.level, 'warn');
    assert.equal(first.n, 1);
    assert.equal(got[0]!.key, 'stdin');
    assert.equal(JSON.parse(got[1000]!.value).message, 'unterminated last line');
  });

  test('binary garbage and a 10 MB line: cut and marked, memory bounded, the next line arrives', async () => {
    const topic = 'logs.ship.garbage';
    const file = join(dir, 'garbage.log');
    const checkpoint = join(dir, 'garbage.checkpoint.json');
    await writeFile(file, '');
    const s = startShipper([file, '--topic', topic, '--checkpoint', checkpoint, '--poll-interval-ms', '20']);
    await s.ready;
    const rssKiB = async (field: string): Promise<number> =>
      Number(new RegExp(`${field}:\\s+(\\d+)`).exec(await readFile(`/proc/${s.child.pid}/status`, 'utf8'))?.[1]);
    const idleRssKiB = await rssKiB('VmRSS');
    const garbage = Buffer.alloc(10 * 1024 * 1024);
    for (let i = 0; i < garbage.length; i++) garbage[i] = ((i * 2654435761) >>> 13) & 0xff;
    for (let i = 0; i < garbage.length; i += 4096) garbage[i] = 0x41; // never a newline at these
    const huge = Buffer.alloc(10 * 1024 * 1024, 0x41);
    await appendFile(file, Buffer.concat([garbage, Buffer.from('\n'), huge, Buffer.from('\nafter the big ones\n')]));
    const got = await readTopic(topic, (ms) => ms.some((m) => JSON.parse(m.value).message === 'after the big ones'), 'the line after');
    const peakRssKiB = await rssKiB('VmHWM');
    await stopShipper(s, 'SIGTERM');
    const events = got.map((m) => JSON.parse(m.value));
    const cut = events.filter((e) => e.truncated === true);
    assert.ok(cut.length >= 1, 'the 10 MB line was cut');
    for (const e of events) assert.ok(Buffer.byteLength(JSON.stringify(e)) <= 1_000_000);
    const bigA = events.find((e) => typeof e.message === 'string' && e.message.startsWith('AAAA'));
    assert.equal(bigA?.truncated, true);
    assert.ok(peakRssKiB < 300 * 1024, `peak RSS ${peakRssKiB} KiB`);
    process.stderr.write(
      `# garbage: ${events.length} lines, RSS idle ${Math.round(idleRssKiB / 1024)} MiB, peak ${Math.round(peakRssKiB / 1024)} MiB\n`,
    );
  });
});
