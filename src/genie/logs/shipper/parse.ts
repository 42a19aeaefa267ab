// Turning a line into the LogEvent that goes to `logs.dev` (pure): Vector's shape (message,
// timestamp, host, source_type, file) plus the fields of a JSON-object or logfmt line, and the
// Docker json-file envelope unwrapped. The line's own fields never replace the shipper's
// (RESERVED_LOG_FIELDS): the message stays the line as read, so nothing is lost by parsing.

import { type LogEvent, type LogSourceType, nsToRfc3339, RESERVED_LOG_FIELDS, rfc3339ToNs } from '../logEvent.js';
import { parseLogfmt } from '../store/logfmt.js';

/** Fields taken from one line at most; the rest stay in the message only. */
export const parsedFieldsMax = 256;

export interface LineContext {
  sourceType: LogSourceType;
  host: string;
  /** The tailed file (file and docker_logs sources). */
  file?: string;
  /** When the shipper read the line, RFC 3339 with nanoseconds (Vector's `timestamp`). */
  readAt: string;
  /** The line is a Docker json-file record. */
  docker?: boolean;
}

export interface LineInput {
  text: string;
  truncated: boolean;
}

/** Docker json-file log files are named `<container id>-json.log`. */
export function looksLikeDockerLog(path: string): boolean {
  return path.endsWith('-json.log');
}

/** Sets a field as an own property (a `__proto__` key from a line must not touch the prototype). */
function setField(event: LogEvent, key: string, value: unknown): void {
  // defineProperty turns the object into a slow dictionary: only where plain assignment would be wrong.
  if (key === '__proto__') Object.defineProperty(event, key, { value, enumerable: true, writable: true, configurable: true });
  else event[key] = value;
}

const logfmtKeyPattern = /^[A-Za-z_][A-Za-z0-9_.\-/]*$/;

/**
 * The fields of a JSON-object line or a logfmt line, or undefined for anything else. A logfmt line
 * must be all `key=value` pairs with identifier-like keys and at least one value, so that prose
 * ("user logged in") and paths are not mistaken for bare logfmt keys.
 */
export function parseFields(text: string): Record<string, unknown> | Map<string, string> | undefined {
  const first = text.charCodeAt(0);
  if (first === 0x7b /* { */) {
    try {
      const v: unknown = JSON.parse(text);
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // not JSON: maybe logfmt, else just a message
    }
  }
  if (!text.includes('=')) return undefined;
  const pairs = parseLogfmt(text);
  if (!pairs || pairs.size === 0) return undefined;
  let withValue = 0;
  for (const [k, v] of pairs) {
    if (!logfmtKeyPattern.test(k)) return undefined;
    if (v !== '') withValue++;
  }
  return withValue > 0 ? pairs : undefined;
}

export interface DockerRecord {
  log: string;
  stream?: string;
  time?: string;
  /** Joined from parts and cut to lineBytesMax (DockerJoiner). */
  truncated?: boolean;
}

/** A Docker json-file line's record, or undefined when the line is not one. */
export function parseDockerLine(text: string): DockerRecord | undefined {
  if (text.charCodeAt(0) !== 0x7b) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object') return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r.log !== 'string') return undefined;
  return {
    log: r.log,
    ...(typeof r.stream === 'string' ? { stream: r.stream } : {}),
    ...(typeof r.time === 'string' ? { time: r.time } : {}),
  };
}

/** Docker streams with a partial line pending at most (stdout and stderr in practice). */
const dockerStreamsMax = 8;

/**
 * Docker's json-file driver splits a line longer than 16 KiB into records whose `log` does not end
 * in a newline; this joins them back (per stream), keeping at most lineBytesMax bytes.
 */
export class DockerJoiner {
  private readonly partial = new Map<string, { first: DockerRecord; parts: string[]; bytes: number; cut: boolean }>();

  constructor(private readonly lineBytesMax: number) {}

  /** The whole record once its last part arrived; undefined while parts are held. */
  push(rec: DockerRecord): DockerRecord | undefined {
    const key = rec.stream ?? '';
    const p = this.partial.get(key);
    const last = rec.log.endsWith('\n');
    if (p === undefined && last) return rec;
    const held = p ?? { first: rec, parts: [], bytes: 0, cut: false };
    if (p === undefined) {
      if (this.partial.size >= dockerStreamsMax) this.partial.clear(); // odd stream names: forget rather than grow
      this.partial.set(key, held);
    }
    const room = this.lineBytesMax - held.bytes;
    const bytes = Buffer.byteLength(rec.log);
    if (bytes <= room) {
      held.parts.push(rec.log);
      held.bytes += bytes;
    } else {
      if (room > 0) held.parts.push(Buffer.from(rec.log).toString('utf8', 0, room));
      held.bytes = this.lineBytesMax;
      held.cut = true;
    }
    if (!last) return undefined;
    this.partial.delete(key);
    const joined: DockerRecord = { ...held.first, log: held.parts.join('') };
    if (held.cut) joined.truncated = true;
    return joined;
  }
}

/**
 * The LogEvent for one line (for Docker sources, pass the record when the caller parsed or
 * joined it already). Never throws: a line that parses as nothing is a message.
 */
export function toLogEvent(line: LineInput, ctx: LineContext, docker?: DockerRecord): LogEvent {
  let message = line.text;
  let timestamp = ctx.readAt;
  let stream: string | undefined;
  let truncated = line.truncated;
  if (ctx.docker && !line.truncated) {
    const rec = docker ?? parseDockerLine(line.text);
    if (rec) {
      if (rec.truncated) truncated = true;
      message = rec.log.endsWith('\n') ? rec.log.slice(0, rec.log.endsWith('\r\n') ? -2 : -1) : rec.log;
      stream = rec.stream;
      const ns = rec.time === undefined ? undefined : rfc3339ToNs(rec.time);
      if (ns !== undefined) timestamp = nsToRfc3339(ns);
    }
  }
  const event: LogEvent = { message, timestamp, host: ctx.host, source_type: ctx.sourceType };
  if (ctx.file !== undefined) event.file = ctx.file;
  if (stream !== undefined) event.stream = stream;
  if (truncated) {
    event.truncated = true;
    return event; // a cut line is not valid JSON or logfmt any more: its fields would be wrong
  }
  const fields = parseFields(message);
  if (fields !== undefined) {
    let n = 0;
    const entries = fields instanceof Map ? fields.entries() : Object.entries(fields);
    for (const [k, v] of entries) {
      if (RESERVED_LOG_FIELDS.has(k) || (stream !== undefined && k === 'stream')) continue;
      if (++n > parsedFieldsMax) break;
      setField(event, k, v);
    }
  }
  return event;
}

/**
 * The part of an event's JSON after `timestamp` that every line of one source shares (host,
 * source_type, file), encoded once per source rather than once per line.
 */
export function sourceJsonSuffix(ctx: Pick<LineContext, 'host' | 'sourceType' | 'file'>): string {
  let s = `,"host":${JSON.stringify(ctx.host)},"source_type":${JSON.stringify(ctx.sourceType)}`;
  if (ctx.file !== undefined) s += `,"file":${JSON.stringify(ctx.file)}`;
  return s;
}

/**
 * A JSON-object line's member count, or -1 when it is not one (JSON.parse checks it: a scan in JS
 * that builds nothing was measured slower than V8's parser, whose garbage dies young), or -2 when
 * a member is one the shipper sets itself.
 */
function jsonMembers(text: string): number {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return -1;
  }
  // Starting with "{" and parsed, it is an object.
  const o = v as object;
  if ('message' in o || 'timestamp' in o || 'host' in o || 'source_type' in o || 'file' in o) return -2;
  let members = 0;
  for (const _ in o) if (++members > parsedFieldsMax) break;
  return members;
}

/**
 * The event JSON of a whole (not truncated) line from a file or stream source, without building
 * the event object: for a JSON-object line the line's own members are spliced after the
 * shipper's, as they are (no re-encoding; JSON-equal to what toLogEvent + encodeLogEvent give,
 * member order aside), for a line that is neither JSON nor possibly logfmt the event is the
 * message alone. Undefined where the general path must decide: lines that may be logfmt, JSON
 * objects with reserved members or more than parsedFieldsMax of them. `suffix` is
 * sourceJsonSuffix(ctx). The caller still bounds the size (recordBytesMax).
 */
export function encodeLineFast(text: string, readAt: string, suffix: string): string | undefined {
  if (text.charCodeAt(0) === 0x7b /* { */) {
    const members = jsonMembers(text);
    if (members === -2 || members > parsedFieldsMax) return undefined;
    if (members >= 0) {
      const head = `{"message":${JSON.stringify(text)},"timestamp":"${readAt}"${suffix}`;
      return members === 0 ? `${head}}` : `${head},${text.slice(1)}`;
    }
    // not JSON: maybe logfmt, else just a message
  }
  if (text.includes('=')) return undefined;
  return `{"message":${JSON.stringify(text)},"timestamp":"${readAt}"${suffix}}`;
}

export interface EncodedLogEvent {
  value: string;
  /** UTF-8 bytes of value. */
  bytes: number;
  /** The message was cut further to fit recordBytesMax (and the parsed fields left out). */
  shortened: boolean;
}

/**
 * The event as JSON within recordBytesMax bytes: a record above the broker's message.max.bytes
 * would fail its whole batch, so a too-big event keeps a shorter message (marked truncated) and
 * loses its parsed fields; undefined only if even that cannot fit (recordBytesMax absurdly small).
 */
export function encodeLogEvent(event: LogEvent, recordBytesMax: number): EncodedLogEvent | undefined {
  let value = JSON.stringify(event);
  let bytes = Buffer.byteLength(value);
  if (bytes <= recordBytesMax) return { value, bytes, shortened: false };
  const bare: LogEvent = { message: '', timestamp: event.timestamp, host: event.host, source_type: event.source_type, truncated: true };
  if (event.file !== undefined) bare.file = event.file;
  if (event.stream !== undefined) bare.stream = event.stream;
  const overhead = Buffer.byteLength(JSON.stringify(bare));
  let message = event.message;
  // Escaping makes the JSON of a message up to 6x its length (\u0000); shrink until it fits.
  for (let attempt = 0; attempt < 8; attempt++) {
    const messageJsonBytes = bytes - overhead;
    const ratio = (recordBytesMax - overhead) / Math.max(1, messageJsonBytes);
    if (ratio <= 0) return undefined;
    message = message.slice(0, Math.floor(message.length * ratio * 0.98));
    // Do not leave half of a surrogate pair at the cut.
    const last = message.charCodeAt(message.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) message = message.slice(0, -1);
    bare.message = message;
    value = JSON.stringify(bare);
    bytes = Buffer.byteLength(value);
    if (bytes <= recordBytesMax) return { value, bytes, shortened: true };
  }
  return undefined;
}
