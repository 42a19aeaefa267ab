// Hostile input never crashes the broker. Against one in-process broker (so a crash or an
// uncaught exception shows here), thousands of damaged requests built from valid ones for every
// advertised API and version: structure-aware damage (null where not nullable, counts of 2^31-1,
// over-long varints, lying string lengths), byte-level damage (truncate, extend, flip), unknown
// API keys and versions, frames of the wrong size or beyond socket.request.max.bytes, and record
// sets with bad CRCs, magic, counts, lengths and compressed payloads. Each must be answered with a
// well-formed response carrying Kafka error codes, or the connection closed, as Apache Kafka does;
// meanwhile a kafkajs producer and consumer keep working, the heap stays bounded, and nothing
// damaged reaches a partition log. SEED=<n> replays a run; the seed is in every failure message.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import kafkajs from 'kafkajs';
import { KafkaTestingCluster } from '../../src/cluster/kafkaTestingCluster.js';
import type { Broker } from '../../src/kafka/broker/broker.js';
import { ADVERTISED } from '../../src/kafka/broker/versions.js';
import { apiDef } from '../../src/kafka/protocol/apis.js';
import { KafkaReader } from '../../src/kafka/protocol/buffers.js';
import { ErrorCode } from '../../src/kafka/protocol/errors.js';
import { decodeBatches } from '../../src/kafka/protocol/records.js';
import type { Msg } from '../../src/kafka/protocol/schema.js';
import { createLogger } from '../../src/util/log.js';
import { waitFor } from '../helpers/wait.js';
import { encodeHostile, encodeValid, mutateBytes, Random, runSeed } from './fuzzInputs.js';
import { checkResponse, damagedRecords, frame, type Names, plausible, probeFrame, RawConn, requestBytes } from './fuzzWire.js';

const { Kafka, logLevel } = kafkajs;

const seed = runSeed();
const replay = `SEED=${seed} replays this run`;
const casesTotal = Number(process.env['FUZZ_CASES'] ?? 6000);
const workers = 4;
/** A case that is neither answered nor refused within this is a hang (unless it may park). */
const caseWaitMs = 3000;
/** Heap growth allowed over the run, after GC: groups and topics the fuzz creates stay small. */
const heapGrowthBytesMax = 96 * 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const uncaught: unknown[] = [];
const onUncaught = (err: unknown): void => {
  uncaught.push(err);
};

let cluster: KafkaTestingCluster;
let broker: Broker;
let port: number;
let kafka: InstanceType<typeof Kafka>;

before(async () => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  // Every refused request is logged at warn; thousands of them would bury a failure's output.
  const logger = createLogger('fuzz', process.env['CLUSTERGENIE_LOG_LEVEL'] ?? 'error');
  cluster = await KafkaTestingCluster.start({ brokers: 1, logger });
  broker = cluster.get(1).broker as Broker;
  port = cluster.get(1).port;
  kafka = new Kafka({
    clientId: 'fuzz-steady',
    brokers: [cluster.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 50, maxRetryTime: 1000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: 'fuzz-t', numPartitions: 2 },
      { topic: 'fuzz-records', numPartitions: 1 },
      { topic: 'steady', numPartitions: 1 },
    ],
    waitForLeaders: true,
  });
  await admin.disconnect();
});

after(async () => {
  await cluster?.close();
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
});

// ---- cases ------------------------------------------------------------------------------------

interface Case {
  what: string;
  /** Everything written to the socket (size prefixes included). */
  bytes: Buffer;
  /** The request as the broker will read its header (from the damaged bytes). */
  apiKey: number;
  version: number;
  correlationId: number;
  /** The broker may legitimately hold it (a parked Fetch, a JoinGroup waiting for members). */
  mayPark: boolean;
  /** Responses with other correlation ids may come (the frame boundaries were damaged). */
  framingDamaged: boolean;
  /** A well-formed answer is required (not a close). */
  mustAnswer?: boolean;
  /** Checks the answer's error codes; returns a complaint or null. */
  check?: (codes: number[]) => string | null;
  /** Records appended to fuzz-records when the answer is NONE. */
  appends?: number;
}

const advertised = [...ADVERTISED.entries()].map(([key, [min, max]]) => ({ key, min, max }));
const parkingApis = new Set([1, 11, 14]);
let nextCorrelationId = 1;

function namesFor(n: number, apiKey: number): Names {
  // A group per case: a JoinGroup would otherwise wait for the previous case's member to rejoin.
  // DeleteTopics v6 names its topics in a struct field called `name`, like everyone else.
  return { topic: apiKey === 20 ? 'fuzz-gone' : 'fuzz-t', group: `fuzz-g${n}`, deletedTopic: 'fuzz-gone' };
}

function headerOf(payload: Buffer): { apiKey: number; version: number; correlationId: number } {
  if (payload.length < 8) return { apiKey: -1, version: -1, correlationId: -1 };
  return { apiKey: payload.readInt16BE(0), version: payload.readInt16BE(2), correlationId: payload.readInt32BE(4) };
}

function caseFromPayload(what: string, payload: Buffer, extra: Partial<Case> = {}): Case {
  const h = headerOf(payload);
  return {
    what,
    bytes: frame(payload),
    ...h,
    mayPark: parkingApis.has(h.apiKey),
    framingDamaged: false,
    ...extra,
  };
}

function plausibleBody(apiKey: number, version: number, n: number): Buffer {
  const def = apiDef(apiKey);
  if (!def) throw new Error(`no declaration for ${apiKey}`);
  const v = plausible(def.request.decl.fields, version, def.request.isFlexible(version), namesFor(n, apiKey));
  return encodeValid(def.request, version, v);
}

/** Damage inside the body of a valid request; the header is intact, so an answer is due or a close. */
function bodyCase(rnd: Random, structural: boolean): Case {
  const api = rnd.pick(advertised);
  const version = rnd.int(api.min, api.max);
  const def = apiDef(api.key);
  if (!def) throw new Error(`no declaration for ${api.key}`);
  const id = nextCorrelationId++;
  const base = plausible(def.request.decl.fields, version, def.request.isFlexible(version), namesFor(id, api.key));
  const body = structural ? encodeHostile(def.request, version, base, rnd) : mutateBytes(encodeValid(def.request, version, base), rnd);
  return caseFromPayload(`${def.name} v${version} body: ${body.what}`, requestBytes(api.key, version, id, body.bytes));
}

/** Damage anywhere in the frame, header included. */
function wholeFrameCase(rnd: Random): Case {
  const api = rnd.pick(advertised);
  const version = rnd.int(api.min, api.max);
  const id = nextCorrelationId++;
  const m = mutateBytes(requestBytes(api.key, version, id, plausibleBody(api.key, version, id)), rnd);
  return caseFromPayload(`API ${api.key} v${version} frame: ${m.what}`, m.bytes);
}

/** Unknown API keys, unadvertised versions, bad client ids and header tag buffers. */
function headerCase(rnd: Random): Case {
  const id = nextCorrelationId++;
  const api = rnd.pick(advertised);
  switch (rnd.int(0, 4)) {
    case 0: {
      const key = rnd.pick([-1, 4, 5, 6, 7, 17, 24, 36, 56, 67, 99, 1000, 0x7fff]);
      return caseFromPayload(`unknown API key ${key}`, requestBytes(key, 0, id, Buffer.alloc(8)));
    }
    case 1: {
      const version = rnd.pick([api.max + 1, api.min - 1, -1, 0x7fff]);
      const body = plausibleBody(api.key, api.max, id);
      // ApiVersions answers any version above its range (KIP-511); below it, Kafka closes.
      const mustAnswer = api.key === 18 && version > api.max;
      return caseFromPayload(`API ${api.key} unadvertised v${version}`, requestBytes(api.key, version, id, body), {
        mustAnswer,
        check: mustAnswer ? (codes) => (codes.includes(ErrorCode.UNSUPPORTED_VERSION) ? null : 'no UNSUPPORTED_VERSION') : undefined,
      });
    }
    case 2: {
      const version = rnd.int(api.min, api.max);
      const p = requestBytes(api.key, version, id, plausibleBody(api.key, version, id));
      p.writeInt16BE(rnd.pick([-2, 0x7fff, 200, -32768]), 8); // the client id length
      return caseFromPayload(`API ${api.key} v${version} bad client id length`, p);
    }
    case 3: {
      // A flexible request whose header tag buffer lies.
      const def = apiDef(api.key);
      const version = def && def.request.flexible.min <= api.max ? api.max : api.max;
      const p = requestBytes(api.key, version, id, plausibleBody(api.key, version, id), 'f');
      if (def?.request.isFlexible(version)) p[11] = rnd.pick([0x05, 0xff, 0x80]);
      return caseFromPayload(`API ${api.key} v${version} header tag buffer 0x${(p[11] ?? 0).toString(16)}`, p);
    }
    default: {
      const p = requestBytes(api.key, api.min, id, Buffer.alloc(0));
      return caseFromPayload(`API ${api.key} v${api.min} with no body`, p);
    }
  }
}

/** Frames whose size prefix lies (shorter than the request, zero, negative, past the limit). */
function framingCase(rnd: Random): Case {
  const api = rnd.pick(advertised);
  const id = nextCorrelationId++;
  const payload = requestBytes(api.key, api.max, id, plausibleBody(api.key, api.max, id));
  const h = headerOf(payload);
  const base = { ...h, mayPark: true, framingDamaged: true };
  switch (rnd.int(0, 3)) {
    case 0: {
      const size = rnd.int(0, payload.length - 1);
      return { what: `size ${size} for a ${payload.length}-byte request`, bytes: frame(payload, size), ...base };
    }
    case 1:
      return { what: 'size 0', bytes: frame(payload, 0), ...base };
    case 2: {
      const size = rnd.pick([-1, -0x80000000]);
      return { what: `size ${size}`, bytes: frame(payload, size), ...base };
    }
    default: {
      const size = broker.config.socketRequestMaxBytes + rnd.int(1, 1000);
      return { what: `size ${size} past socket.request.max.bytes`, bytes: frame(payload, size), ...base };
    }
  }
}

// ---- record sets ------------------------------------------------------------------------------

const damagedRecordErrors = new Set<number>([
  ErrorCode.CORRUPT_MESSAGE,
  ErrorCode.INVALID_RECORD,
  ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
  ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
  ErrorCode.MESSAGE_TOO_LARGE,
  ErrorCode.RECORD_LIST_TOO_LARGE,
  ErrorCode.INVALID_TIMESTAMP,
  ErrorCode.INVALID_REQUEST,
]);

function recordsCase(rnd: Random): Case {
  const version = rnd.int(3, ADVERTISED.get(0)?.[1] ?? 9);
  const def = apiDef(0);
  if (!def) throw new Error('no Produce declaration');
  const d = damagedRecords(rnd);
  const id = nextCorrelationId++;
  const body = encodeValid(def.request, version, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 1000,
    topicData: [{ name: 'fuzz-records', partitionData: [{ index: 0, records: d.records }] }],
  });
  return caseFromPayload(`Produce v${version} records: ${d.what}`, requestBytes(0, version, id, body), {
    mustAnswer: true,
    appends: d.count,
    check: (codes) => {
      const code = codes[0];
      if (code === undefined) return 'no partition error code';
      if (code === ErrorCode.NONE) return d.mayPass ? null : 'damaged records were accepted';
      return damagedRecordErrors.has(code) ? null : `error ${code} is not one Kafka gives for a damaged record set`;
    },
  });
}

function nextCase(rnd: Random): Case {
  const x = rnd.next();
  if (x < 0.35) return bodyCase(rnd, true);
  if (x < 0.6) return bodyCase(rnd, false);
  if (x < 0.7) return wholeFrameCase(rnd);
  if (x < 0.8) return headerCase(rnd);
  if (x < 0.85) return framingCase(rnd);
  return recordsCase(rnd);
}

// ---- running ----------------------------------------------------------------------------------

interface Tally {
  answered: number;
  closed: number;
  parked: number;
  unknownServerErrors: string[];
  failures: string[];
  /** Records the broker accepted into fuzz-records. */
  appended: number;
}

const newTally = (): Tally => ({ answered: 0, closed: 0, parked: 0, unknownServerErrors: [], failures: [], appended: 0 });
// Probe ids have many bits set: a few bit flips of a small correlation id cannot reach them.
const probeBase = 0x5a5a0000;
let nextProbe = probeBase;

class Worker {
  private conn: RawConn | undefined;

  async run(c: Case, t: Tally): Promise<void> {
    if (!this.conn || this.conn.closed) this.conn = await RawConn.open(port);
    const conn = this.conn;
    const from = conn.frames.length;
    const probe = nextProbe++;
    conn.send(Buffer.concat([c.bytes, probeFrame(probe)]));
    const probed = (): boolean => conn.frames.slice(from).some((f) => f.length >= 4 && f.readInt32BE(0) === probe);
    const outcome = await conn.wait(probed, caseWaitMs);
    const fail = (why: string): void => {
      const hex = c.bytes.subarray(0, 160).toString('hex');
      t.failures.push(`${c.what}: ${why} [${hex}${c.bytes.length > 160 ? '...' : ''}]`);
    };
    if (conn.framingError) fail(conn.framingError);
    let answered = false;
    for (const f of conn.frames.slice(from)) {
      const cid = f.length >= 4 ? f.readInt32BE(0) : Number.NaN;
      if (cid === probe) {
        checkOrFail(() => checkResponse(f, 18, 0), fail);
        continue;
      }
      if (cid !== c.correlationId || answered) {
        if (!c.framingDamaged) fail(`a response with correlation id ${cid}`);
        continue;
      }
      answered = true;
      const codes = checkOrFail(() => checkResponse(f, c.apiKey, c.version), fail);
      if (codes === undefined) continue;
      if (codes.includes(ErrorCode.UNKNOWN_SERVER_ERROR)) t.unknownServerErrors.push(c.what);
      const complaint = c.check?.(codes);
      if (complaint) fail(complaint);
      else if (c.appends !== undefined && codes[0] === ErrorCode.NONE) t.appended += c.appends;
    }
    if (c.mustAnswer && !answered) fail(`no answer (${outcome})`);
    if (outcome === 'answered' && !answered && c.apiKey !== 0 && !c.framingDamaged)
      fail('no answer, yet the next request on the connection was answered');
    if (outcome === 'timeout') {
      if (!c.mayPark) fail(`neither answered nor closed within ${caseWaitMs} ms`);
      t.parked++;
      conn.destroy();
    } else if (outcome === 'closed') t.closed++;
    else t.answered++;
  }

  close(): void {
    this.conn?.destroy();
  }
}

function checkOrFail<T>(f: () => T, fail: (why: string) => void): T | undefined {
  try {
    return f();
  } catch (err) {
    fail(`malformed response: ${(err as Error).message}`);
    return undefined;
  }
}

/** `p`, or a failure naming what hung after `ms` (a hang must fail the test, not stall it). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what} (${replay})`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

// ---- tests ------------------------------------------------------------------------------------

test('a plausible request of every advertised API and version is answered well formed', async () => {
  const t = newTally();
  const w = new Worker();
  for (const api of advertised) {
    for (let version = api.min; version <= api.max; version++) {
      const id = nextCorrelationId++;
      const c = caseFromPayload(
        `API ${api.key} v${version} (valid)`,
        requestBytes(api.key, version, id, plausibleBody(api.key, version, id)),
        {
          mustAnswer: true,
        },
      );
      await w.run(c, t);
    }
  }
  w.close();
  assert.deepEqual(t.failures, [], replay);
  assert.deepEqual(t.unknownServerErrors, [], 'valid requests got UNKNOWN_SERVER_ERROR');
});

test('frames announcing more than socket.request.max.bytes are refused before they are buffered', async () => {
  for (const size of [broker.config.socketRequestMaxBytes + 1, 0x7fffffff, -1]) {
    const conn = await RawConn.open(port);
    const head = Buffer.alloc(4);
    head.writeInt32BE(size, 0);
    // Only the size goes out: a broker that waited for the body would never close.
    conn.send(head);
    const outcome = await conn.wait(() => false, 10_000);
    assert.equal(outcome, 'closed', `a frame of ${size} bytes was not refused`);
  }
});

// Found by SEED=1311898184: a Fetch naming no partition it could read parked on no partition,
// the park returned at once, and the handler looped on microtasks until max_wait_ms, starving
// every timer and socket of the process. Kafka waits such a fetch out; so must we, idly.
test('a Fetch naming no partition waits out max_wait_ms without starving the event loop', async () => {
  const def = apiDef(1);
  if (!def) throw new Error('no Fetch declaration');
  const conn = await RawConn.open(port);
  try {
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const id = nextCorrelationId++;
    const body = encodeValid(def.request, 4, {
      replicaId: -1,
      maxWaitMs: 1500,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      topics: [],
    });
    conn.send(frame(requestBytes(1, 4, id, body)));
    const outcome = await conn.wait(() => conn.frames.length > 0, 20_000);
    clearInterval(ticker);
    assert.equal(outcome, 'answered');
    assert.equal((conn.frames[0] as Buffer).readInt32BE(0), id);
    // An idle wait lets a 10 ms interval fire ~150 times; a spinning one lets it fire none.
    assert.ok(ticks >= 5, `the event loop was starved while the fetch waited (${ticks} ticks)`);
  } finally {
    conn.destroy();
  }
});

test('thousands of hostile requests: answered or refused, a steady client unharmed, memory bounded', async (tt) => {
  const rnd = new Random(seed);
  const t = newTally();

  // The steady client: a kafkajs producer and a group consumer on their own topic.
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true });
  const consumer = kafka.consumer({ groupId: 'steady-group' });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: 'steady', fromBeginning: true });
  const got: string[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      got.push(message.value?.toString() ?? '');
    },
  });
  const sent: string[] = [];
  let producing = true;
  // A failed assertion must not leave kafkajs retrying in the background: the file would never exit.
  let disconnected = false;
  const disconnect = async (): Promise<void> => {
    if (disconnected) return;
    disconnected = true;
    await within(consumer.disconnect(), 30_000, 'the steady consumer to disconnect');
    await within(producer.disconnect(), 30_000, 'the steady producer to disconnect');
  };
  const producerLoop = (async () => {
    for (let i = 0; producing; i++) {
      const value = `steady-${i}`;
      await producer.send({ topic: 'steady', acks: -1, messages: [{ key: String(i % 7), value }] });
      sent.push(value);
      // Pace the steady client so the fuzz cases keep most of the two cores.
      await new Promise((r) => setTimeout(r, 5));
    }
  })();

  const pool = Array.from({ length: workers }, () => new Worker());
  let done = 0;
  let heapBase = 0;
  const warmup = Math.min(400, Math.floor(casesTotal / 10));
  const runOne = async (w: Worker): Promise<void> => {
    while (done < casesTotal) {
      const c = nextCase(rnd);
      done++;
      await w.run(c, t);
      if (done === warmup) heapBase = heapAfterGc();
    }
  };
  try {
    await Promise.all(pool.map((w) => runOne(w)));
  } finally {
    for (const w of pool) w.close();
    producing = false;
  }
  try {
    await within(producerLoop, 60_000, 'the steady producer to finish its last send');
  } catch (err) {
    await disconnect();
    throw err;
  }
  const heapEnd = heapAfterGc();

  try {
    tt.diagnostic(
      `seed ${seed}: ${casesTotal} cases, ${t.answered} answered, ${t.closed} closed, ${t.parked} parked; ` +
        `${t.unknownServerErrors.length} UNKNOWN_SERVER_ERROR; heap ${(heapBase / 2 ** 20).toFixed(1)} -> ${(heapEnd / 2 ** 20).toFixed(1)} MiB; ` +
        `steady client sent ${sent.length}`,
    );
    for (const u of t.unknownServerErrors.slice(0, 10)) tt.diagnostic(`UNKNOWN_SERVER_ERROR: ${u}`);

    assert.deepEqual(uncaught.map(String), [], `uncaught exceptions in the broker's process (${replay})`);
    assert.deepEqual(t.failures.slice(0, 15), [], `${t.failures.length} failures (${replay})`);
    // The router turns a handler's exception into UNKNOWN_SERVER_ERROR so the client is not cut off,
    // but a handler throwing on input it should have checked is still a bug to find here.
    assert.deepEqual(t.unknownServerErrors.slice(0, 15), [], `handlers failed on hostile input (${replay})`);
    assert.ok(t.answered > casesTotal / 10, `only ${t.answered} cases were answered: the fuzz mostly missed the handlers`);
    assert.ok(heapEnd - heapBase < heapGrowthBytesMax, `heap grew from ${heapBase} to ${heapEnd} bytes (${replay})`);
    assert.equal(cluster.get(1).broker, broker, 'the broker was replaced');

    // The steady client saw every message it produced, in order.
    assert.ok(sent.length > 10, `the steady producer only sent ${sent.length} messages`);
    await waitFor(() => got.length >= sent.length, {
      timeoutMs: 30_000,
      what: () => `the consumer to catch up (${got.length}/${sent.length})`,
    });
    assert.deepEqual(got, sent);
  } finally {
    await disconnect();
  }

  // Connections of the fuzz are gone from the broker once their sockets closed.
  await waitFor(() => broker.connections.size <= 4, { timeoutMs: 10_000, what: () => `connections to drain (${broker.connections.size})` });

  // No topic with an illegal name was created by a damaged Metadata or CreateTopics request.
  for (const name of broker.metadata.topics.keys()) assert.match(name, /^[a-zA-Z0-9._-]{1,249}$/, `topic '${name}' (${replay})`);

  // Nothing damaged reached the log: fuzz-records holds exactly the accepted records, all valid.
  const stored = await readAllRecords('fuzz-records');
  assert.equal(stored, t.appended, `fuzz-records holds ${stored} records, ${t.appended} were accepted (${replay})`);
});

/** Fetches a whole single-partition topic over the raw protocol and decodes every batch with CRCs checked. */
async function readAllRecords(topic: string): Promise<number> {
  const conn = await RawConn.open(port);
  try {
    const def = apiDef(1);
    if (!def) throw new Error('no Fetch declaration');
    let offset = 0;
    let records = 0;
    for (;;) {
      const id = nextCorrelationId++;
      const body = encodeValid(def.request, 4, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 8 << 20,
        isolationLevel: 0,
        topics: [{ topic, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 8 << 20 }] }],
      });
      conn.send(frame(requestBytes(1, 4, id, body)));
      const from = conn.frames.length;
      assert.equal(await conn.wait(() => conn.frames.length > from, 10_000), 'answered');
      const r = new KafkaReader(conn.frames[from] as Buffer);
      r.int32();
      const res: Msg = def.response.decode(r, 4);
      const p: Msg = res.responses[0].partitions[0];
      assert.equal(p.errorCode, ErrorCode.NONE);
      const batches = decodeBatches(p.records as Buffer, { allowPartialTail: true });
      if (batches.length === 0) {
        assert.equal(offset, p.highWatermark, 'fetch stopped before the high watermark');
        return records;
      }
      for (const b of batches) {
        records += b.records.length;
        offset = b.baseOffset + b.lastOffsetDelta + 1;
      }
    }
  } finally {
    conn.destroy();
  }
}
