// Wire helpers for the broker fuzzer: a raw Kafka connection that records every response frame
// and notices a close, frames built from the API declarations, plausible request values (so a
// mutation lands in a request that would otherwise reach deep into a handler), and a check that a
// response is well formed for the version it answers.

import { connect, type Socket } from 'node:net';
import { ADVERTISED } from '../../src/kafka/broker/versions.js';
import { apiDef } from '../../src/kafka/protocol/apis.js';
import { KafkaReader, KafkaWriter } from '../../src/kafka/protocol/buffers.js';
import { ErrorCode } from '../../src/kafka/protocol/errors.js';
import { skipTagBuffer } from '../../src/kafka/protocol/header.js';
import { BATCH } from '../../src/kafka/protocol/batchHeader.js';
import { buildBatch, crc32c } from '../../src/kafka/protocol/records.js';
import type { ArrayOf, FieldDecl, Msg, Primitive, StructDecl } from '../../src/kafka/protocol/schema.js';
import { ZERO_UUID } from '../../src/kafka/protocol/schema.js';
import type { Random } from './fuzzInputs.js';
import { fieldPresent } from './protocol/declHelpers.js';

/** Response frames the broker may send are far below this; a larger size means a framing bug. */
const responseBytesMax = 64 * 1024 * 1024;

export type Outcome = 'answered' | 'closed' | 'timeout';

/** One client connection that sends raw bytes and collects whole response frames. */
export class RawConn {
  readonly frames: Buffer[] = [];
  closed = false;
  framingError = '';
  private pending: Buffer = Buffer.alloc(0);
  private wake: (() => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d) => this.onData(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
  }

  static open(port: number): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new RawConn(s));
      });
      s.once('error', reject);
    });
  }

  private onData(d: Buffer): void {
    this.pending = this.pending.length === 0 ? d : Buffer.concat([this.pending, d]);
    while (this.pending.length >= 4) {
      const n = this.pending.readInt32BE(0);
      if (n < 0 || n > responseBytesMax) {
        this.framingError = `response frame of ${n} bytes`;
        this.destroy();
        return;
      }
      if (this.pending.length < 4 + n) break;
      this.frames.push(this.pending.subarray(4, 4 + n));
      this.pending = this.pending.subarray(4 + n);
    }
    this.wake?.();
  }

  send(b: Buffer): void {
    if (!this.closed) this.socket.write(b);
  }

  /** Waits until `done()` holds (answered), the connection closes, or `timeoutMs` passes. */
  wait(done: () => boolean, timeoutMs: number): Promise<Outcome> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        if (done()) finish('answered');
        else if (this.closed) finish('closed');
        else return false;
        return true;
      };
      const finish = (o: Outcome): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve(o);
      };
      const timer = setTimeout(() => finish(done() ? 'answered' : this.closed ? 'closed' : 'timeout'), timeoutMs);
      if (check()) return;
      this.wake = () => void check();
    });
  }

  destroy(): void {
    this.socket.destroy();
    this.closed = true;
  }
}

/** Request header (v1, or v2 when flexible) followed by the body, without the size prefix. */
export function requestBytes(
  apiKey: number,
  version: number,
  correlationId: number,
  body: Buffer,
  clientId: string | null = 'fuzz',
): Buffer {
  const def = apiDef(apiKey);
  const w = new KafkaWriter(64);
  w.int16(apiKey);
  w.int16(version);
  w.int32(correlationId);
  w.string(clientId);
  if (def?.request.isFlexible(version)) w.uvarint(0);
  return Buffer.concat([w.toBuffer(), body]);
}

/** Prefixes `payload` with its size (or with `size` when a test lies about it). */
export function frame(payload: Buffer, size = payload.length): Buffer {
  const p = Buffer.allocUnsafe(4);
  p.writeInt32BE(size, 0);
  return Buffer.concat([p, payload]);
}

/** An ApiVersions v0 request frame: the probe that shows a connection still serves requests. */
export function probeFrame(correlationId: number): Buffer {
  return frame(requestBytes(18, 0, correlationId, Buffer.alloc(0)));
}

// ---- plausible request values ----------------------------------------------------------------

export interface Names {
  topic: string;
  group: string;
  /** What DeleteTopics names: deleting the topic every other case uses would starve them. */
  deletedTopic: string;
}

/** A small valid batch for the topics the fuzzer produces to. */
export function validBatch(n = 2): Buffer {
  return buildBatch({
    records: Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `fuzz-${i}`, headers: [{ key: 'h', value: 'v' }] })),
  });
}

function stringFor(name: string, names: Names, nullable: boolean): string | null {
  if (/transactional|instance|rack/i.test(name) && nullable) return null;
  if (/^(groupId|groupsNames|groups|key|coordinatorKeys)$/.test(name)) return names.group;
  if (name === 'topicNames') return names.deletedTopic;
  if (/^(name|topic|topicName|resourceName)$/.test(name)) return names.topic;
  if (name === 'memberId') return '';
  if (name === 'protocolType') return 'consumer';
  if (name === 'protocolName') return 'range';
  if (name === 'value') return '86400000';
  return nullable ? null : 'x';
}

function int32For(name: string): number {
  switch (name) {
    case 'timeoutMs':
      return 1000;
    case 'maxWaitMs':
      return 0;
    case 'minBytes':
    case 'numPartitions':
    case 'replicationFactor':
      return 1;
    case 'maxBytes':
    case 'partitionMaxBytes':
      return 1 << 20;
    case 'sessionTimeoutMs':
    case 'rebalanceTimeoutMs':
      return 6000;
    case 'count':
      return 2;
    case 'transactionTimeoutMs':
      return 60000;
    case 'leaderEpoch':
    case 'currentLeaderEpoch':
    case 'generationId':
    case 'replicaId':
    case 'sessionEpoch':
    case 'lastFetchedEpoch':
    case 'brokerId':
    case 'producerEpoch':
    case 'committedLeaderEpoch':
      return -1;
    default:
      return 0;
  }
}

function primitiveFor(t: Primitive, name: string, names: Names, nullable: boolean): unknown {
  switch (t) {
    case 'bool':
      return name === 'validateOnly';
    case 'int8':
      return name === 'resourceType' ? 2 : 0;
    case 'int16':
      return name === 'acks' ? 1 : int32For(name);
    case 'int32':
    case 'uint16':
    case 'uint32':
      return int32For(name);
    case 'int64':
      return /timestamp|producerId|logStartOffset/i.test(name) ? -1 : 0;
    case 'float64':
      return 0;
    case 'uuid':
      return ZERO_UUID;
    case 'string':
      return stringFor(name, names, nullable);
    case 'bytes':
      return Buffer.from([0, 1, 0, 0, 0, 0]);
    case 'records':
      return validBatch();
  }
}

function valueFor(
  t: Primitive | ArrayOf | StructDecl,
  name: string,
  version: number,
  flexible: boolean,
  names: Names,
  nullable: boolean,
): unknown {
  if (typeof t === 'string') return primitiveFor(t, name, names, nullable);
  if ('array' in t) {
    if (name === 'assignments') return [];
    return [valueFor(t.array, name, version, flexible, names, false)];
  }
  return plausible(t.struct, version, flexible, names);
}

/** A plausible value for every field on the wire in this version (arrays of one). */
export function plausible(fields: readonly FieldDecl[], version: number, flexible: boolean, names: Names): Msg {
  const o: Msg = {};
  for (const f of fields) {
    if (!fieldPresent(f, version, flexible) || f.tag !== undefined) continue;
    const nullable = f.nullable !== undefined && f.nullable !== 'none';
    o[f.name] = valueFor(f.type, f.name, version, flexible, names, nullable);
  }
  return o;
}

// ---- response checks --------------------------------------------------------------------------

const knownCodes = new Set<number>(Object.values(ErrorCode));

function collectErrorCodes(v: unknown, out: number[]): void {
  if (Array.isArray(v)) {
    for (const x of v) collectErrorCodes(x, out);
    return;
  }
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return;
  for (const [k, x] of Object.entries(v)) {
    if (/errorCode$/i.test(k) && typeof x === 'number') out.push(x);
    else collectErrorCodes(x, out);
  }
}

/**
 * Decodes a response frame as the answer to (apiKey, version): header v0/v1 as the broker must
 * choose it, the body with the response declaration, every byte consumed. Returns the error codes
 * it carries, or throws with what is wrong.
 */
export function checkResponse(f: Buffer, apiKey: number, version: number): number[] {
  const def = apiDef(apiKey);
  if (!def) throw new Error(`a response to unknown API key ${apiKey}`);
  const r = new KafkaReader(f);
  r.int32();
  // ApiVersions answers a version above its advertised range in v0, and always with header v0.
  const v = apiKey === 18 && version > (ADVERTISED.get(18)?.[1] ?? 0) ? 0 : version;
  if (apiKey !== 18 && def.response.isFlexible(v)) skipTagBuffer(r);
  const body = def.response.decode(r, v);
  if (r.remaining() !== 0) throw new Error(`${r.remaining()} bytes left after the ${def.name} v${v} response`);
  const codes: number[] = [];
  collectErrorCodes(body, codes);
  for (const c of codes) if (!knownCodes.has(c)) throw new Error(`unknown error code ${c} in the ${def.name} v${v} response`);
  return codes;
}

// ---- damaged record sets ----------------------------------------------------------------------

function fixCrc(b: Buffer, at = 0): Buffer {
  b.writeUInt32BE(crc32c(b, at + BATCH.attributes, b.length), at + BATCH.crc);
  return b;
}

/** A record set damaged in one of the ways a broken or hostile producer sends. */
export function damagedRecords(rnd: Random): { records: Buffer | null; what: string; mayPass: boolean; count: number } {
  const count = rnd.int(1, 5);
  const b = Buffer.from(validBatch(count));
  switch (rnd.int(0, 10)) {
    case 0: {
      const p = rnd.int(BATCH.attributes, b.length - 1);
      b[p] ^= 1 << rnd.int(0, 7);
      return { records: b, what: `bit flip at ${p} (CRC now wrong)`, mayPass: false, count };
    }
    case 1: {
      const magic = rnd.pick([0, 1, 3, 127, -1]);
      b.writeInt8(magic, BATCH.magic);
      return { records: b, what: `magic ${magic}`, mayPass: false, count };
    }
    case 2: {
      const n = rnd.pick([0x7fffffff, 1_000_000, 0, -1, count + 1]);
      b.writeInt32BE(n, BATCH.recordsCount);
      return { records: fixCrc(b), what: `record count ${n} for ${count} records`, mayPass: false, count };
    }
    case 3: {
      const n = rnd.pick([-1, 0, 10, b.length, 0x7fffffff]);
      b.writeInt32BE(n, BATCH.batchLength);
      return { records: b, what: `batch length ${n}`, mayPass: false, count };
    }
    case 4: {
      const p = rnd.int(BATCH.records, b.length - 1);
      b[p] = rnd.pick([0x00, 0x7f, 0x80, 0xff, rnd.int(0, 255)]);
      return { records: fixCrc(b), what: `record byte ${p} = ${b[p]} (CRC fixed)`, mayPass: true, count };
    }
    case 5: {
      const codec = rnd.int(1, 7);
      const garbage = Buffer.alloc(rnd.int(0, 200));
      for (let i = 0; i < garbage.length; i++) garbage[i] = rnd.int(0, 255);
      const out = Buffer.concat([b.subarray(0, BATCH.records), garbage]);
      out.writeInt32BE(out.length - 12, BATCH.batchLength);
      out.writeInt16BE(codec, BATCH.attributes);
      return { records: fixCrc(out), what: `codec ${codec} with ${garbage.length} garbage bytes`, mayPass: false, count };
    }
    case 6: {
      const codec = rnd.int(1, 4) as 1 | 2 | 3 | 4;
      const whole = buildBatch({ records: [{ key: 'k', value: 'x'.repeat(500) }], compression: codec });
      const cut = rnd.int(BATCH.records, whole.length - 1);
      const out = Buffer.from(whole.subarray(0, cut));
      out.writeInt32BE(out.length - 12, BATCH.batchLength);
      return { records: fixCrc(out), what: `codec ${codec} payload cut at ${cut} (CRC fixed)`, mayPass: false, count: 1 };
    }
    case 7: {
      const second = Buffer.from(validBatch(1));
      second[second.length - 1] ^= 0xff;
      return { records: Buffer.concat([b, second]), what: 'a good batch then one with a bad CRC', mayPass: false, count };
    }
    case 8: {
      const junk = Buffer.alloc(rnd.int(1, 80));
      for (let i = 0; i < junk.length; i++) junk[i] = rnd.int(0, 255);
      return { records: junk, what: `${junk.length} random bytes`, mayPass: false, count };
    }
    case 9: {
      const delta = rnd.pick([count + 5, -1, 0x7fffffff]);
      b.writeInt32BE(delta, BATCH.lastOffsetDelta);
      return { records: fixCrc(b), what: `last offset delta ${delta} for ${count} records`, mayPass: false, count };
    }
    default:
      return {
        records: rnd.chance(0.5) ? Buffer.alloc(0) : Buffer.from(b.subarray(0, rnd.int(1, b.length - 1))),
        what: 'empty or cut set',
        mayPass: false,
        count,
      };
  }
}
