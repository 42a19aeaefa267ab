// Crash safety of the broker as a real process (`clustergenie kafka --config`, flush on every message):
//  - SIGKILL it several times while a producer (acks=all) is mid-stream, restarting it each time; every
//    acknowledged offset must then hold exactly the acknowledged bytes, and committed group offsets survive;
//  - damage its log dir by hand (a torn batch at a segment's tail, a garbage .index) and start it again:
//    the tail is truncated, the index rebuilt (Kafka's own kafka-dump-log checks it), nothing else lost.
// Needs dist/ compiled (`npx tsc -p tsconfig.json`), like every process-based test.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { runKafkaTool } from '../helpers/apacheKafka.js';
import { killOnExit } from '../helpers/children.js';
import { freePort } from '../helpers/net.js';
import { startOurZooKeeper } from '../helpers/ourZk.js';
import { waitFor } from '../helpers/wait.js';

const { Kafka, logLevel } = kafkajs;

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = join(repoRoot, 'bin', 'clustergenie.js');
const TOPIC = 'crash';
const GROUP = 'crash-group';
const KILLS = 4;
const ACKS_PER_ROUND = 120;

let zk: Awaited<ReturnType<typeof startOurZooKeeper>>;
let root: string;
let logDir: string;
let propsPath: string;
let port: number;
let broker: BrokerProcess | undefined;

/** One `clustergenie kafka` process; ready once it prints its listening line. */
class BrokerProcess {
  private out = '';
  private err = '';
  readonly child: ChildProcess;
  readonly exited: Promise<number | string | null>;

  constructor() {
    this.child = spawn(process.execPath, [CLI, 'kafka', '--config', propsPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    killOnExit(this.child);
    this.child.stdout!.on('data', (d) => {
      this.out = (this.out + d).slice(-16_384);
    });
    this.child.stderr!.on('data', (d) => {
      this.err = (this.err + d).slice(-16_384);
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, sig) => resolve(code ?? sig)));
  }

  get output(): string {
    return `${this.out}\n${this.err}`;
  }

  /** True once listening; false if the process ended first. */
  async ready(): Promise<boolean> {
    let ended = false;
    void this.exited.then(() => {
      ended = true;
    });
    await waitFor(() => ended || /listening on/.test(this.out), { timeoutMs: 60_000, what: () => `broker start:\n${this.output}` });
    return !ended && /listening on/.test(this.out);
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) process.kill(this.child.pid!, signal);
    await this.exited;
  }
}

/**
 * Starts the broker, retrying while it refuses to: after a SIGKILL its old ZooKeeper session still owns
 * /brokers/ids/<id> until the session times out, and Kafka (like us) will not register over it.
 */
async function startBroker(): Promise<BrokerProcess> {
  let last = '';
  const b = await waitFor(
    async () => {
      const p = new BrokerProcess();
      if (await p.ready()) return p;
      last = p.output;
      return undefined;
    },
    { timeoutMs: 90_000, intervalMs: 200, what: () => `the broker to start; last attempt:\n${last}` },
  );
  broker = b;
  return b;
}

before(async () => {
  zk = await startOurZooKeeper();
  root = await mkdtemp(join(tmpdir(), 'cg-kafka-crash-'));
  logDir = join(root, 'logs');
  port = await freePort();
  propsPath = join(root, 'server.properties');
  const props: Record<string, string> = {
    'broker.id': '1',
    listeners: `PLAINTEXT://127.0.0.1:${port}`,
    'log.dirs': logDir,
    'zookeeper.connect': `${zk.connectString}/crash`,
    // The shortest session ZooKeeper grants (2 ticks): a killed broker's registration goes soon.
    'zookeeper.session.timeout.ms': '4000',
    'log.flush.interval.messages': '1',
    // Several segments, so the index damage below hits a closed segment, not only the active one.
    'log.segment.bytes': '16384',
    'log.index.interval.bytes': '512',
    'num.partitions': '1',
    'offsets.topic.num.partitions': '1',
    'offsets.topic.replication.factor': '1',
    'group.initial.rebalance.delay.ms': '0',
    'auto.create.topics.enable': 'false',
  };
  await writeFile(
    propsPath,
    `${Object.entries(props)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  );
  if (!existsSync(CLI)) throw new Error(`${CLI} not found: compile first (npx tsc -p tsconfig.json)`);
  await startBroker();
});

after(async () => {
  await broker?.kill('SIGKILL');
  await zk?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

function client(): InstanceType<typeof Kafka> {
  return new Kafka({
    clientId: 'crash-test',
    brokers: [`127.0.0.1:${port}`],
    logLevel: logLevel.NOTHING,
    // Retries span a restart (session timeout plus start-up), so the stream resumes on its own.
    retry: { retries: 60, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/** Every record of partition 0 as (offset, value bytes), read through the broker with kafkajs. */
async function readAll(): Promise<Map<number, Buffer>> {
  const kafka = client();
  const admin = kafka.admin();
  await admin.connect();
  let end: number;
  try {
    const offsets = await admin.fetchTopicOffsets(TOPIC);
    end = Number(offsets.find((o) => o.partition === 0)!.high);
  } finally {
    await admin.disconnect();
  }
  const got = new Map<number, Buffer>();
  if (end === 0) return got;
  const consumer = kafka.consumer({ groupId: `reader-${Date.now()}-${Math.random()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        got.set(Number(message.offset), Buffer.from(message.value ?? Buffer.alloc(0)));
      },
    });
    await waitFor(() => got.has(end - 1), { timeoutMs: 60_000, what: () => `offset ${end - 1} (have ${got.size})` });
  } finally {
    await consumer.disconnect();
  }
  return got;
}

async function committedOffset(): Promise<number> {
  const admin = client().admin();
  await admin.connect();
  try {
    const r = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    return Number(r[0]!.partitions.find((p) => p.partition === 0)!.offset);
  } finally {
    await admin.disconnect();
  }
}

async function commitOffset(offset: number): Promise<void> {
  const admin = client().admin();
  await admin.connect();
  try {
    await admin.setOffsets({ groupId: GROUP, topic: TOPIC, partitions: [{ partition: 0, offset: String(offset) }] });
  } finally {
    await admin.disconnect();
  }
}

/** offset → the exact value bytes the broker acknowledged at that offset. */
const acked = new Map<number, Buffer>();

test('SIGKILL mid-stream: every acknowledged offset keeps its bytes, committed group offsets survive', async () => {
  const kafka = client();
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();

  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const conflicts: string[] = [];
  let seq = 0;
  let stop = false;
  // Two send loops keep requests in flight when the kill lands.
  const loop = async (lane: number): Promise<void> => {
    while (!stop) {
      const n = seq++;
      // Varied lengths and every byte value, so "identical bytes" means more than equal lengths.
      const value = Buffer.alloc(20 + ((n * 37) % 200), n & 0xff);
      value.write(`lane${lane}-msg${n}-`);
      try {
        const [r] = await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: `k${n % 7}`, value }] });
        const offset = Number(r!.baseOffset);
        const prev = acked.get(offset);
        if (prev !== undefined && !prev.equals(value)) conflicts.push(`offset ${offset} acknowledged twice`);
        acked.set(offset, value);
      } catch {
        // Not acknowledged (the broker died under it): it may or may not be in the log.
      }
    }
  };
  const loops = [loop(0), loop(1)];

  let committed = -1;
  try {
    for (let k = 1; k <= KILLS; k++) {
      await waitFor(() => acked.size >= k * ACKS_PER_ROUND, {
        timeoutMs: 120_000,
        what: () => `${k * ACKS_PER_ROUND} acks (have ${acked.size})`,
      });
      committed = acked.size + k;
      await commitOffset(committed);
      assert.equal(await committedOffset(), committed);
      await broker!.kill('SIGKILL');
      await startBroker();
      assert.equal(await committedOffset(), committed, `the committed offset survives kill ${k}`);
    }
    await waitFor(() => acked.size >= (KILLS + 1) * ACKS_PER_ROUND, {
      timeoutMs: 120_000,
      what: () => `acks after the last restart (${acked.size})`,
    });
  } finally {
    stop = true;
    await Promise.all(loops);
    await producer.disconnect();
  }
  assert.deepEqual(conflicts, []);

  const log = await readAll();
  const missing: number[] = [];
  const differing: number[] = [];
  for (const [offset, value] of acked) {
    const got = log.get(offset);
    if (got === undefined) missing.push(offset);
    else if (!got.equals(value)) differing.push(offset);
  }
  assert.deepEqual(missing, [], 'acknowledged offsets missing after the crashes');
  assert.deepEqual(differing, [], 'acknowledged offsets holding other bytes after the crashes');
  assert.equal(await committedOffset(), committed);
});

/** Position and base offset of each batch in a .log file (8-byte offset, 4-byte length framing). */
function batchesIn(file: string): { position: number; baseOffset: number; size: number }[] {
  const buf = readFileSync(file);
  const out: { position: number; baseOffset: number; size: number }[] = [];
  let p = 0;
  while (p + 12 <= buf.length) {
    const size = 12 + buf.readInt32BE(p + 8);
    if (p + size > buf.length) break;
    out.push({ position: p, baseOffset: Number(buf.readBigInt64BE(p)), size });
    p += size;
  }
  return out;
}

test('a torn segment tail and a garbage .index are repaired at start', async () => {
  assert.ok(acked.size > 0, 'runs after the crash test, on its log');
  // Crash (no clean-shutdown marker: the start must recover), then damage the files as a bad disk would.
  await broker!.kill('SIGKILL');
  const dir = join(logDir, `${TOPIC}-0`);
  const segs = (await readdir(dir))
    .filter((f) => f.endsWith('.log'))
    .sort()
    .map((f) => join(dir, f));
  assert.ok(segs.length >= 3, `several segments expected: ${segs.join(' ')}`);
  const active = segs.at(-1)!;
  let tornFrom = Number.POSITIVE_INFINITY;
  const tail = batchesIn(active).at(-1);
  if (tail !== undefined) {
    tornFrom = tail.baseOffset;
    truncateSync(active, tail.position + Math.floor(tail.size / 2));
  }
  const damagedIndex = segs[1]!.replace(/\.log$/, '.index');
  const goodIndexBytes = statSync(damagedIndex).size;
  // Not a whole number of entries, and nonsense inside: Kafka's sanity check rejects it.
  writeFileSync(damagedIndex, Buffer.alloc(8 * 5 + 3, 0xff));

  await startBroker();
  const log = await readAll();
  const lost: number[] = [];
  for (const [offset, value] of acked) {
    if (offset >= tornFrom) continue; // the torn batch itself is gone, as intended
    const got = log.get(offset);
    if (got === undefined || !got.equals(value)) lost.push(offset);
  }
  assert.deepEqual(lost, [], 'offsets lost or changed beyond the torn batch');
  if (Number.isFinite(tornFrom)) {
    assert.ok(!log.has(tornFrom), 'the torn batch was truncated');
    // The log continues at the truncation point.
    const producer = client().producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const [r] = await producer.send({ topic: TOPIC, acks: -1, messages: [{ value: 'after-repair' }] });
      assert.equal(Number(r!.baseOffset), tornFrom);
    } finally {
      await producer.disconnect();
    }
  }

  // A clean stop, then Kafka's own tool checks the rebuilt index against its segment.
  await broker!.kill('SIGTERM');
  const rebuiltBytes = statSync(damagedIndex).size;
  assert.equal(rebuiltBytes % 8, 0, 'the rebuilt index holds whole entries');
  assert.equal(rebuiltBytes, goodIndexBytes, 'the rebuilt index has as many entries as the original');
  const r = await runKafkaTool('kafka-dump-log', ['--verify-index-only', '--files', damagedIndex], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(`${r.stdout}\n${r.stderr}`, /mismatch|Exception|corrupt/i, r.stdout);
  const sanity = await runKafkaTool('kafka-dump-log', ['--index-sanity-check', '--files', damagedIndex], { timeoutMs: 120_000 });
  assert.match(sanity.stdout, /passed sanity check/, `${sanity.stdout}\n${sanity.stderr}`);
  broker = undefined;
});
