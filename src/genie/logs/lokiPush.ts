// Loki's push API bodies, both ways: the snappy-compressed protobuf `logproto.PushRequest` that
// Loki, Promtail and Vector send by default, and the JSON form (`{"streams":[{"stream":{..},
// "values":[["<ns>","line"]]}]}`, optionally gzip'd). The Log Consumer encodes, the embedded log
// store decodes. The protobuf layout is declared once below (field numbers as in Loki's
// pkg/push/push.proto); protobufjs makes the codec from it.

import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import snappy from 'snappy';

export interface LokiEntry {
  /** Nanoseconds since the epoch. */
  tsNs: bigint;
  line: string;
  /** Loki 2.9+ structured metadata (the third value of a JSON entry); kept, not indexed. */
  metadata?: Record<string, string>;
}

export interface LokiStream {
  labels: Record<string, string>;
  entries: LokiEntry[];
}

/** A push body that cannot be read; the store answers 400 with its message, as Loki does. */
export class PushBodyError extends Error {}

/** A push body larger than decodedBytesMax once gzip or snappy is undone (a 413). */
export class PushBodyTooLargeError extends PushBodyError {}

/** The uncompressed length a snappy block declares in its first bytes (a varint). */
function snappyDeclaredLength(body: Buffer): number | undefined {
  let n = 0;
  for (let i = 0, shift = 0; i < Math.min(body.length, 5); i++, shift += 7) {
    n += (body[i]! & 0x7f) * 2 ** shift;
    if ((body[i]! & 0x80) === 0) return n;
  }
  return undefined;
}

const pushSchema = protobuf.Root.fromJSON({
  nested: {
    logproto: {
      nested: {
        PushRequest: { fields: { streams: { rule: 'repeated', type: 'StreamAdapter', id: 1 } } },
        StreamAdapter: {
          fields: {
            labels: { type: 'string', id: 1 },
            entries: { rule: 'repeated', type: 'EntryAdapter', id: 2 },
            hash: { type: 'uint64', id: 3 },
          },
        },
        EntryAdapter: {
          fields: {
            timestamp: { type: 'Timestamp', id: 1 },
            line: { type: 'string', id: 2 },
            structuredMetadata: { rule: 'repeated', type: 'LabelPairAdapter', id: 3 },
          },
        },
        LabelPairAdapter: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        // google.protobuf.Timestamp's layout, declared here so no well-known-type file is needed.
        Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
      },
    },
  },
});
const PushRequest = pushSchema.lookupType('logproto.PushRequest');

interface WireEntry {
  timestamp?: { seconds?: number | string | { toString(): string }; nanos?: number };
  line?: string;
  structuredMetadata?: { name?: string; value?: string }[];
}
interface WireStream {
  labels?: string;
  entries?: WireEntry[];
}

// ---------------------------------------------------------------------------------------------
// Label sets as Prometheus selector text: {a="b", c="d"}

const escapeLabelValue = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** `{a="b", c="d"}` with names sorted, as Loki prints a stream's labels. */
export function formatLabels(labels: Record<string, string>): string {
  const names = Object.keys(labels).sort();
  return `{${names.map((n) => `${n}="${escapeLabelValue(labels[n]!)}"`).join(', ')}}`;
}

/** Reads `{a="b", c="d"}` (equality matchers only, as a push stream's labels are). */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  const fail = (why: string): never => {
    throw new PushBodyError(`invalid stream labels ${JSON.stringify(text.slice(0, 200))}: ${why}`);
  };
  const skipSpace = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  skipSpace();
  if (text[i] !== '{') fail('expected {');
  i++;
  skipSpace();
  while (text[i] !== '}') {
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(i))?.[0];
    if (!name) fail(`expected a label name at ${i}`);
    i += name!.length;
    skipSpace();
    if (text[i] !== '=') fail(`expected = after ${name}`);
    i++;
    skipSpace();
    if (text[i] !== '"') fail(`expected " after ${name}=`);
    i++;
    let value = '';
    for (;;) {
      if (i >= text.length) fail('unterminated value');
      const c = text[i++]!;
      if (c === '"') break;
      if (c === '\\') {
        const e = text[i++];
        value += e === 'n' ? '\n' : e === 't' ? '\t' : (e ?? '');
      } else value += c;
    }
    out[name!] = value;
    skipSpace();
    if (text[i] === ',') {
      i++;
      skipSpace();
    } else if (text[i] !== '}') fail(`expected , or } at ${i}`);
  }
  i++;
  skipSpace();
  if (i !== text.length) fail('text after }');
  if (Object.keys(out).length === 0) fail('a stream needs at least one label');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoding (the Log Consumer)

export type PushEncoding = 'protobuf' | 'json';

export interface EncodedPush {
  body: Buffer;
  contentType: string;
}

const nsPerSecond = 1_000_000_000n;

/** The protobuf PushRequest, uncompressed. */
export function encodePushProtobuf(streams: readonly LokiStream[]): Buffer {
  const message = PushRequest.fromObject({
    streams: streams.map((s) => ({
      labels: formatLabels(s.labels),
      entries: s.entries.map((e) => ({
        timestamp: { seconds: (e.tsNs / nsPerSecond).toString(), nanos: Number(e.tsNs % nsPerSecond) },
        line: e.line,
        structuredMetadata: e.metadata ? Object.entries(e.metadata).map(([name, value]) => ({ name, value })) : [],
      })),
    })),
  });
  return Buffer.from(PushRequest.encode(message).finish());
}

/** A push body as Loki's clients send it: snappy-compressed protobuf, or JSON. */
export function encodePush(streams: readonly LokiStream[], encoding: PushEncoding = 'protobuf'): EncodedPush {
  if (encoding === 'protobuf') {
    return { body: snappy.compressSync(encodePushProtobuf(streams)), contentType: 'application/x-protobuf' };
  }
  const json = {
    streams: streams.map((s) => ({
      stream: s.labels,
      values: s.entries.map((e) => (e.metadata ? [e.tsNs.toString(), e.line, e.metadata] : [e.tsNs.toString(), e.line])),
    })),
  };
  return { body: Buffer.from(JSON.stringify(json)), contentType: 'application/json' };
}

// ---------------------------------------------------------------------------------------------
// Decoding (the embedded log store)

function decodeProtobuf(body: Buffer, decodedBytesMax: number): LokiStream[] {
  const declared = snappyDeclaredLength(body);
  if (declared !== undefined && declared > decodedBytesMax) {
    throw new PushBodyTooLargeError(`push body declares ${declared} bytes after snappy; limit ${decodedBytesMax}`);
  }
  let raw: Buffer;
  try {
    raw = snappy.uncompressSync(body, { asBuffer: true }) as Buffer;
  } catch (e) {
    throw new PushBodyError(`protobuf push body is not snappy-compressed: ${(e as Error).message}`);
  }
  let decoded: { streams?: WireStream[] };
  try {
    decoded = PushRequest.toObject(PushRequest.decode(raw), { longs: String, defaults: false }) as { streams?: WireStream[] };
  } catch (e) {
    throw new PushBodyError(`push body is not a logproto.PushRequest: ${(e as Error).message}`);
  }
  return (decoded.streams ?? []).map((s) => ({
    labels: parseLabels(s.labels ?? ''),
    entries: (s.entries ?? []).map((e) => {
      const seconds = BigInt(String(e.timestamp?.seconds ?? 0));
      const entry: LokiEntry = { tsNs: seconds * nsPerSecond + BigInt(e.timestamp?.nanos ?? 0), line: e.line ?? '' };
      if (e.structuredMetadata && e.structuredMetadata.length > 0) {
        entry.metadata = Object.fromEntries(e.structuredMetadata.map((p) => [p.name ?? '', p.value ?? '']));
      }
      return entry;
    }),
  }));
}

const isStringRecord = (v: unknown): v is Record<string, string> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');

function decodeJson(body: Buffer): LokiStream[] {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new PushBodyError(`push body is not JSON: ${(e as Error).message}`);
  }
  const streams = (doc as { streams?: unknown }).streams;
  if (!Array.isArray(streams)) throw new PushBodyError('push body needs a "streams" array');
  return streams.map((s: unknown, si) => {
    const stream = (s as { stream?: unknown }).stream;
    const values = (s as { values?: unknown }).values;
    if (!isStringRecord(stream) || Object.keys(stream).length === 0) {
      throw new PushBodyError(`streams[${si}].stream must be an object of string labels`);
    }
    if (!Array.isArray(values)) throw new PushBodyError(`streams[${si}].values must be an array`);
    return {
      labels: stream,
      entries: values.map((v: unknown, vi) => {
        if (!Array.isArray(v) || typeof v[0] !== 'string' || !/^\d{1,20}$/.test(v[0]) || typeof v[1] !== 'string') {
          throw new PushBodyError(`streams[${si}].values[${vi}] must be ["<unix ns>", "<line>"]`);
        }
        const entry: LokiEntry = { tsNs: BigInt(v[0]), line: v[1] };
        if (v[2] !== undefined) {
          if (!isStringRecord(v[2])) throw new PushBodyError(`streams[${si}].values[${vi}][2] must be an object of strings`);
          entry.metadata = v[2];
        }
        return entry;
      }),
    };
  });
}

/** Bytes a push body may have once decompressed, unless the caller says otherwise (against compression bombs). */
export const decodedPushBytesMaxDefault = 64 * 1024 * 1024;

/**
 * The streams of a push request. Content-Type decides the form as Loki's does: JSON when it says
 * application/json, protobuf (snappy) otherwise; Content-Encoding gzip is undone first. Nothing is
 * decompressed past decodedBytesMax (PushBodyTooLargeError).
 */
export function decodePush(
  body: Buffer,
  contentType: string | undefined,
  contentEncoding?: string,
  decodedBytesMax = decodedPushBytesMaxDefault,
): LokiStream[] {
  let bytes = body;
  if (contentEncoding && /gzip/i.test(contentEncoding)) {
    try {
      bytes = gunzipSync(body, { maxOutputLength: decodedBytesMax });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new PushBodyTooLargeError(`push body is larger than ${decodedBytesMax} bytes after gzip`);
      }
      throw new PushBodyError(`Content-Encoding gzip but the body is not gzip: ${(e as Error).message}`);
    }
  }
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' ? decodeJson(bytes) : decodeProtobuf(bytes, decodedBytesMax);
}
