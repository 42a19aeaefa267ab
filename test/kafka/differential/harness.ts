// Differential harness: Apache Kafka 3.9 (the oracle) and our broker side by side on one Apache
// ZooKeeper 3.8, under the chroots /apache and /ours, so every run also proves that our broker works
// against a real ZooKeeper. A raw client encodes requests with our protocol declarations and decodes
// both answers with them; a normalizer hides what legitimately differs between two brokers (broker
// and cluster ids, topic and member ids, ports, throttle and append times); a differ lists the
// remaining differences path by path so a test can tell an expected (documented) one from a bug.

import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { KafkaTestingCluster } from '../../../src/cluster/kafkaTestingCluster.js';
import { apiDef } from '../../../src/kafka/protocol/apis.js';
import { KafkaReader, KafkaWriter } from '../../../src/kafka/protocol/buffers.js';
import { writeRequestHeader } from '../../../src/kafka/protocol/header.js';
import { type Msg, ZERO_UUID } from '../../../src/kafka/protocol/schema.js';
import { ZooKeeperClient } from '../../../src/zookeeper/client/index.js';
import { kafkaHome, kafkaJarsPresent, type KafkaHandle, startApacheKafka } from '../../helpers/apacheKafka.js';
import { startApacheZooKeeper, type ServerHandle } from '../../helpers/apacheZk.js';

const HOST = '127.0.0.1';
const FRAME_BYTES_MAX = 64 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 30_000;

/** Settings both brokers run with, so that their defaults cannot be the source of a difference. */
export const COMMON_PROPS: Record<string, string> = {
  'auto.create.topics.enable': 'false',
  'num.partitions': '1',
  'default.replication.factor': '1',
  'offsets.topic.replication.factor': '1',
  'offsets.topic.num.partitions': '4',
  'group.initial.rebalance.delay.ms': '0',
  'delete.topic.enable': 'true',
};

// ---- raw client -----------------------------------------------------------------------------

interface Pending {
  apiKey: number;
  version: number;
  resolve: (body: Buffer) => void;
  reject: (e: Error) => void;
}

/** One connection to a broker; requests are pipelined and matched by correlation id. */
export class RawKafka {
  private buf: Buffer = Buffer.alloc(0);
  private nextCorrelationId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedWith: Error | undefined;

  private constructor(
    private readonly sock: Socket,
    readonly label: string,
  ) {
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('error', () => {});
    sock.on('close', () => this.fail(new ConnectionClosed()));
  }

  static connect(port: number, label = `port ${port}`): Promise<RawKafka> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: HOST, port });
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new RawKafka(s, label));
      });
      s.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  private fail(e: Error): void {
    if (!this.closedWith) this.closedWith = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    while (this.buf.length >= 4) {
      const size = this.buf.readInt32BE(0);
      if (size < 4 || size > FRAME_BYTES_MAX) {
        this.fail(new Error(`bad response frame size ${size}`));
        this.sock.destroy();
        return;
      }
      if (this.buf.length < 4 + size) return;
      const frame = this.buf.subarray(4, 4 + size);
      this.buf = this.buf.subarray(4 + size);
      const cid = frame.readInt32BE(0);
      const p = this.pending.get(cid);
      if (!p) {
        this.fail(new Error(`response with unknown correlation id ${cid}`));
        this.sock.destroy();
        return;
      }
      this.pending.delete(cid);
      p.resolve(frame);
    }
  }

  private await(cid: number, apiKey: number, version: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(cid);
        reject(new Error(`${this.label}: no response to api ${apiKey} v${version} within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      const done =
        <T>(f: (x: T) => void) =>
        (x: T) => {
          clearTimeout(timer);
          f(x);
        };
      this.pending.set(cid, { apiKey, version, resolve: done(resolve), reject: done(reject) });
    });
  }

  /** Encodes `body` with the declaration of (apiKey, version), sends it, decodes the answer. */
  async send(apiKey: number, version: number, body: Msg): Promise<Msg> {
    const def = apiDef(apiKey);
    if (!def) throw new Error(`no declaration for api ${apiKey}`);
    if (this.closedWith) throw this.closedWith;
    const flexible = def.request.isFlexible(version);
    const cid = this.nextCorrelationId++;
    const w = new KafkaWriter();
    w.int32(0);
    writeRequestHeader(w, { apiKey, apiVersion: version, correlationId: cid, clientId: 'differential' }, flexible);
    def.request.encode(w, version, body);
    const frame = w.toBuffer();
    frame.writeInt32BE(frame.length - 4, 0);
    const reply = this.await(cid, apiKey, version);
    this.sock.write(frame);
    const raw = await reply;
    const r = new KafkaReader(raw, 4);
    // ApiVersions always answers with response header v0 (no tag buffer).
    if (flexible && apiKey !== 18) r.uvarint();
    const msg = def.response.decode(r, version);
    assert.equal(r.remaining(), 0, `api ${apiKey} v${version}: ${r.remaining()} bytes left after the response body`);
    return msg;
  }

  /**
   * Sends hand-written bytes (a request without its length prefix; correlation id at offset 4) and
   * resolves the raw response body after the correlation id, or 'closed' when the broker hangs up.
   */
  async sendRaw(request: Buffer): Promise<Buffer | 'closed'> {
    if (this.closedWith) return 'closed';
    const cid = request.readInt32BE(4);
    const reply = this.await(cid, request.readInt16BE(0), request.readInt16BE(2));
    const len = Buffer.alloc(4);
    len.writeInt32BE(request.length);
    this.sock.write(Buffer.concat([len, request]));
    try {
      return (await reply).subarray(4);
    } catch (e) {
      if (e instanceof ConnectionClosed) return 'closed';
      throw e;
    }
  }

  close(): void {
    this.sock.destroy();
  }
}

class ConnectionClosed extends Error {
  constructor() {
    super('connection closed by the broker');
  }
}

// ---- the pair of brokers --------------------------------------------------------------------

export interface Side {
  readonly name: 'apache' | 'ours';
  readonly port: number;
  readonly brokerId: number;
  readonly bootstrap: string;
  /** The ZooKeeper chroot this broker keeps its metadata under. */
  readonly chroot: string;
}

export interface Pair {
  readonly zk: ServerHandle;
  readonly apache: Side;
  readonly ours: Side;
  readonly kafka: KafkaHandle;
  readonly cluster: KafkaTestingCluster;
  /** A client on the ZooKeeper root (paths below carry the chroot). */
  readonly zkc: ZooKeeperClient;
  close(): Promise<void>;
}

/** Starts Apache ZooKeeper, then Apache Kafka (chroot /apache) and our broker (chroot /ours) in parallel. */
export async function startPair(props: Record<string, string> = {}): Promise<Pair> {
  assert.ok(
    kafkaJarsPresent('3.9'),
    `no Apache Kafka 3.9 jars in ${kafkaHome('3.9')}/lib: run scripts/fetch-kafka.sh (needs Java 17 and Maven)`,
  );
  // The Apache children and our ZooKeeper client do not hold the event loop open: while the pair
  // runs, this timer does, so awaiting a ZooKeeper reply cannot end the test process early.
  const keepAlive = setInterval(() => {}, 60_000);
  const zk = await startApacheZooKeeper().catch((e: unknown) => {
    clearInterval(keepAlive);
    throw e;
  });
  const zkc = new ZooKeeperClient({ connectString: zk.connectString, sessionTimeoutMs: 10_000 });
  let kafka: KafkaHandle | undefined;
  let cluster: KafkaTestingCluster | undefined;
  const close = async (): Promise<void> => {
    await cluster?.close().catch(() => undefined);
    await kafka?.stop().catch(() => undefined);
    await zkc.close().catch(() => undefined);
    await zk.stop();
    clearInterval(keepAlive);
  };
  try {
    await zkc.connect();
    // Both chroots exist before either broker connects: neither broker's chroot handling is under test here.
    await zkc.create('/apache');
    await zkc.create('/ours');
    const all = { ...COMMON_PROPS, ...props };
    const [k, c] = await Promise.allSettled([
      startApacheKafka({ zkConnect: `${zk.connectString}/apache`, brokerId: 0, extraProps: all }),
      KafkaTestingCluster.start({ brokers: 1, zkConnect: `${zk.connectString}/ours`, brokerProps: all }),
    ]);
    if (k.status === 'fulfilled') kafka = k.value;
    if (c.status === 'fulfilled') cluster = c.value;
    if (k.status === 'rejected') throw k.reason;
    if (c.status === 'rejected') throw c.reason;
  } catch (e) {
    await close();
    throw e;
  }
  const ka = kafka as KafkaHandle;
  const cl = cluster as KafkaTestingCluster;
  const ob = cl.get(1);
  return {
    zk,
    kafka: ka,
    cluster: cl,
    zkc,
    apache: { name: 'apache', port: ka.port, brokerId: ka.brokerId, bootstrap: ka.bootstrap, chroot: '/apache' },
    ours: { name: 'ours', port: ob.port, brokerId: ob.id, bootstrap: cl.bootstrap, chroot: '/ours' },
    close,
  };
}

// ---- normalizing --------------------------------------------------------------------------------

const BROKER_ID_KEYS = new Set(['nodeId', 'brokerId', 'leaderId', 'controllerId', 'coordinatorId']);
const BROKER_ID_LIST_KEYS = new Set(['replicaNodes', 'isrNodes', 'offlineReplicas', 'replicas']);
/** Values one broker chooses freely (ids it hands out): compared by order of first appearance. */
const ORDINAL_KEYS = new Set(['memberId', 'topicId', 'producerId', 'leader', 'clusterId']);

/**
 * Rewrites a decoded response so that two brokers' answers can be compared: the broker's own id
 * becomes 'B', host and port 'H'/'P', throttle 0, append times 'T', error message text '<msg>', and
 * ids it assigns (members, topics, producers, cluster) become `<key>#n` in order of first
 * appearance, so "the same id twice" and "a different id" still show.
 */
export class Normalizer {
  private readonly ordinals = new Map<string, string>();
  constructor(readonly brokerId: number) {}

  private ordinal(key: string, v: unknown): unknown {
    if (v === null || v === '' || v === ZERO_UUID || v === -1) return v;
    if (key === 'leader' && typeof v !== 'string') return v === this.brokerId ? 'B' : v;
    // JoinGroup's leader is a member id: one namespace, so "the leader is member #1" shows.
    if (key === 'leader') key = 'memberId';
    const k = `${key}:${String(v)}`;
    let o = this.ordinals.get(k);
    if (!o) {
      o = `${key}#${[...this.ordinals.keys()].filter((x) => x.startsWith(`${key}:`)).length + 1}`;
      this.ordinals.set(k, o);
    }
    return o;
  }

  norm(v: unknown, key = ''): unknown {
    if (Buffer.isBuffer(v)) return v;
    if (Array.isArray(v)) {
      if (BROKER_ID_LIST_KEYS.has(key)) return v.map((x) => (x === this.brokerId ? 'B' : x));
      // Group members come in a hash-map order in Apache Kafka: sort them by their normalized id.
      if (key === 'members' && v.every((x) => x && typeof x === 'object' && typeof x.memberId === 'string')) {
        return v.map((x) => this.norm(x) as Msg).sort((a, b) => (String(a['memberId']) < String(b['memberId']) ? -1 : 1));
      }
      // Metadata lists topics in a hash-map order in Apache Kafka.
      if (key === 'topics' && v.every((x) => x && typeof x === 'object' && typeof x.name === 'string' && 'isInternal' in x)) {
        return [...v].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((x) => this.norm(x));
      }
      // Metadata lists a topic's partitions in a hash-map order in Apache Kafka.
      if (key === 'partitions' && v.every((x) => x && typeof x === 'object' && typeof x.partitionIndex === 'number' && 'leaderId' in x)) {
        return [...v].sort((a, b) => a.partitionIndex - b.partitionIndex).map((x) => this.norm(x));
      }
      // Config lists come in a hash-map order in Apache Kafka: key them by name instead.
      if ((key === 'configs' || key === 'synonyms') && v.every((x) => x && typeof x === 'object' && typeof x.name === 'string')) {
        const byName: Msg = {};
        for (const x of v) byName[x.name] = this.norm(x);
        return byName;
      }
      return v.map((x) => this.norm(x));
    }
    if (v !== null && typeof v === 'object') {
      const out: Msg = {};
      for (const [k, x] of Object.entries(v as Msg)) out[k] = this.norm(x, k);
      return out;
    }
    if (key === 'throttleTimeMs') return 0;
    if (key === 'host' || key === 'clientHost') return 'H';
    if (key === 'port') return 'P';
    if (key === 'errorMessage' || key === 'documentation') return typeof v === 'string' ? '<text>' : v;
    if (key === 'logAppendTimeMs' || key === 'logAppendTime') return v === -1 ? -1 : 'T';
    if (BROKER_ID_KEYS.has(key)) return v === this.brokerId ? 'B' : v;
    if (key === 'resourceName' && v === String(this.brokerId)) return 'B';
    if (ORDINAL_KEYS.has(key)) return this.ordinal(key, v);
    return v;
  }
}

// ---- differences ----------------------------------------------------------------------------------

const show = (v: unknown): string => (Buffer.isBuffer(v) ? `<${v.length} bytes ${v.subarray(0, 24).toString('hex')}>` : JSON.stringify(v));

/** Every path at which `a` and `b` differ, with both values. */
export function diff(a: unknown, b: unknown, path = '', out: string[] = []): string[] {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) {
    if (!a.equals(b)) out.push(`${path}: apache ${show(a)} ours ${show(b)}`);
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push(`${path}.length: apache ${a.length} ours ${b.length}`);
    for (let i = 0; i < Math.min(a.length, b.length); i++) diff(a[i], b[i], `${path}[${i}]`, out);
    return out;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) diff((a as Msg)[k], (b as Msg)[k], path ? `${path}.${k}` : k, out);
    return out;
  }
  if (!Object.is(a, b)) out.push(`${path}: apache ${show(a)} ours ${show(b)}`);
  return out;
}

/** A documented, deliberate difference: paths matching `path` are reported, not failed. */
export interface Allowed {
  path: RegExp;
  why: string;
}

/**
 * Compares two decoded (already normalized) answers; differences matching `allowed` go to `note`
 * (test diagnostics), any other fails the assertion with the full list.
 */
export function assertSame(step: string, apache: unknown, ours: unknown, allowed: Allowed[] = [], note?: (s: string) => void): void {
  const unexpected = differences(step, apache, ours, allowed, note);
  assert.deepEqual(unexpected, [], `${step}: apache and ours differ:\n  ${unexpected.join('\n  ')}`);
}

/** Allowed everywhere: error message text is informational (Apache even sends "NONE" on success in places). */
export const ALWAYS_ALLOWED: Allowed[] = [{ path: /(^|\.)errorMessage$/, why: 'error message text is informational' }];

/** The differences between two normalized answers that `allowed` does not cover (the others go to `note`). */
export function differences(step: string, apache: unknown, ours: unknown, allowed: Allowed[] = [], note?: (s: string) => void): string[] {
  const unexpected: string[] = [];
  for (const d of diff(apache, ours)) {
    const a = [...allowed, ...ALWAYS_ALLOWED].find((x) => x.path.test(d.slice(0, d.indexOf(':'))));
    if (a) note?.(`${step}: ${d} (allowed: ${a.why})`);
    else unexpected.push(`${step}: ${d}`);
  }
  return unexpected;
}

// ---- hand-written frames -------------------------------------------------------------------------

/** A request header v1 (api key, version, correlation id, client id) followed by `body`. */
export function rawRequest(apiKey: number, version: number, correlationId: number, body: Buffer, flexibleHeader = false): Buffer {
  const client = Buffer.from('differential');
  const h = Buffer.alloc(8 + 2 + client.length + (flexibleHeader ? 1 : 0));
  h.writeInt16BE(apiKey, 0);
  h.writeInt16BE(version, 2);
  h.writeInt32BE(correlationId, 4);
  h.writeInt16BE(client.length, 8);
  client.copy(h, 10);
  return Buffer.concat([h, body]);
}

/** Decodes a response body (after the correlation id) with a declaration. */
export function decodeBody(apiKey: number, version: number, body: Buffer): Msg {
  const def = apiDef(apiKey);
  if (!def) throw new Error(`no declaration for api ${apiKey}`);
  const r = new KafkaReader(body);
  const msg = def.response.decode(r, version);
  assert.equal(r.remaining(), 0, `api ${apiKey} v${version}: bytes left after the body`);
  return msg;
}

// ---- consumer protocol payloads ------------------------------------------------------------------

/**
 * A ConsumerProtocolSubscription v0 (version, topics, null user data). Apache Kafka 3.9 parses the
 * metadata of `consumer` groups; with arbitrary bytes there its JoinGroup never answers.
 */
export function consumerSubscription(topics: string[]): Buffer {
  const w = new KafkaWriter();
  w.int16(0);
  w.int32(topics.length);
  for (const t of topics) w.string(t);
  w.bytes(null);
  return w.toBuffer();
}

/** A ConsumerProtocolAssignment v0 (version, topic partitions, null user data). */
export function consumerAssignment(assigned: Record<string, number[]>): Buffer {
  const w = new KafkaWriter();
  w.int16(0);
  const entries = Object.entries(assigned);
  w.int32(entries.length);
  for (const [topic, partitions] of entries) {
    w.string(topic);
    w.int32(partitions.length);
    for (const p of partitions) w.int32(p);
  }
  w.bytes(null);
  return w.toBuffer();
}
