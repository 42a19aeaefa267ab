// The pure parts of `produce` and `consume`: input lines to messages (kcat's -K key delimiter, or
// JSON lines), the -o offset spec, and records to text (kcat's -f format) or JSON lines.

import { CliError, ExitCode } from './exitCodes.js';
import { safeText } from './output.js';

/** One message to produce, as text (the CLI is a text tool; values are UTF-8). */
export interface MessageIn {
  key?: string;
  /** null: a tombstone (no value). */
  value: string | null;
  headers: [string, string][];
  partition?: number;
}

export interface LineOptions {
  format: 'line' | 'json';
  /** -K: split each line at the first occurrence into key and value. */
  keyDelimiter?: string;
  /** -k: the key of every message (a JSON line's own key wins). */
  key?: string;
  /** -H: headers of every message (a JSON line's own headers are added after them). */
  headers: [string, string][];
  /** -p: the partition of every message (a JSON line's own partition wins). */
  partition?: number;
}

/** A message from one input line; undefined for a blank line (skipped, like kcat). */
export function parseInputLine(line: string, o: LineOptions, lineNo: number): MessageIn | undefined {
  if (line.trim() === '') return undefined;
  const base = { headers: [...o.headers], ...(o.partition !== undefined ? { partition: o.partition } : {}) };
  if (o.format === 'line') {
    if (o.keyDelimiter !== undefined) {
      const at = line.indexOf(o.keyDelimiter);
      if (at >= 0) return { ...base, key: line.slice(0, at), value: line.slice(at + o.keyDelimiter.length) };
    }
    return { ...base, ...(o.key !== undefined ? { key: o.key } : {}), value: line };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch (e) {
    throw new CliError(
      `stdin line ${lineNo}: not JSON (${(e as Error).message}); --format json takes one {"key","value","headers","partition"} object per line`,
      ExitCode.usage,
    );
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new CliError(
      `stdin line ${lineNo}: expected a JSON object with "value" (and optional "key", "headers", "partition")`,
      ExitCode.usage,
    );
  const d = doc as Record<string, unknown>;
  const out: MessageIn = { ...base, value: textOf(d['value'] ?? null, lineNo, 'value') };
  const key = d['key'] === undefined || d['key'] === null ? o.key : textOf(d['key'], lineNo, 'key');
  if (key !== undefined && key !== null) out.key = key;
  if (d['headers'] !== undefined && d['headers'] !== null) out.headers.push(...headersOf(d['headers'], lineNo));
  if (d['partition'] !== undefined && d['partition'] !== null) {
    const p = d['partition'];
    if (typeof p !== 'number' || !Number.isSafeInteger(p) || p < 0)
      throw new CliError(`stdin line ${lineNo}: "partition" must be a non-negative integer`, ExitCode.usage);
    out.partition = p;
  }
  return out;
}

/** Strings as they are; other JSON values as their JSON text (an object value is sent as JSON). */
function textOf(v: unknown, lineNo: number, field: string): string | null {
  if (v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'object') return JSON.stringify(v);
  throw new CliError(`stdin line ${lineNo}: "${field}" must be a string or JSON value`, ExitCode.usage);
}

/** Headers as {"k": "v"} or [["k", "v"], ...] (the latter keeps repeated names). */
function headersOf(h: unknown, lineNo: number): [string, string][] {
  const bad = (): CliError =>
    new CliError(
      `stdin line ${lineNo}: "headers" must be {"name": "value"} or [["name", "value"], ...] with string values`,
      ExitCode.usage,
    );
  if (Array.isArray(h)) {
    return h.map((pair) => {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') throw bad();
      return [pair[0], pair[1]];
    });
  }
  if (typeof h !== 'object' || h === null) throw bad();
  return Object.entries(h as Record<string, unknown>).map(([k, v]) => {
    if (typeof v !== 'string') throw bad();
    return [k, v];
  });
}

export type OffsetSpec =
  | { kind: 'beginning' }
  | { kind: 'end' }
  | { kind: 'offset'; offset: bigint }
  | { kind: 'fromEnd'; count: bigint }
  | { kind: 'timestamp'; ms: bigint };

/** -o: beginning | end | <offset> | -<n> | @<ms since epoch> | @<ISO date>. */
export function parseOffsetSpec(s: string): OffsetSpec {
  const t = s.trim();
  if (t === 'beginning' || t === 'earliest') return { kind: 'beginning' };
  if (t === 'end' || t === 'latest') return { kind: 'end' };
  if (/^\d+$/.test(t)) return { kind: 'offset', offset: BigInt(t) };
  if (/^-\d+$/.test(t)) return { kind: 'fromEnd', count: BigInt(t.slice(1)) };
  if (t.startsWith('@')) {
    const rest = t.slice(1);
    const ms = /^\d+$/.test(rest) ? Number(rest) : Date.parse(rest);
    if (Number.isFinite(ms) && ms >= 0) return { kind: 'timestamp', ms: BigInt(ms) };
  }
  throw new CliError(
    `-o ${JSON.stringify(s)}: expected beginning, end, an offset, -<n> (the last n), @<ms since epoch> or @<ISO date>`,
    ExitCode.usage,
  );
}

/** Where a partition starts, from its earliest and latest offsets and (for @ts) the offset listed at the timestamp. */
export function startOffset(spec: OffsetSpec, earliest: bigint, latest: bigint, atTimestamp?: bigint): bigint {
  const clamp = (n: bigint): bigint => (n < earliest ? earliest : n > latest ? latest : n);
  switch (spec.kind) {
    case 'beginning':
      return earliest;
    case 'end':
      return latest;
    case 'offset':
      return clamp(spec.offset);
    case 'fromEnd':
      return clamp(latest - spec.count);
    case 'timestamp':
      // -1: no message at or after the timestamp, so start at the end.
      return atTimestamp === undefined || atTimestamp < 0n ? latest : clamp(atTimestamp);
  }
}

/** One record as read, text-decoded. */
export interface RecordOut {
  topic: string;
  partition: number;
  offset: bigint;
  timestamp: bigint;
  key: string | null;
  value: string | null;
  headers: [string, string][];
}

/** A record as one JSON line (headers as an object; a repeated name keeps its last value). */
export function recordJson(r: RecordOut): string {
  return JSON.stringify({
    topic: r.topic,
    partition: r.partition,
    offset: Number(r.offset),
    timestamp: Number(r.timestamp),
    key: r.key,
    value: r.value,
    headers: Object.fromEntries(r.headers),
  });
}

/**
 * kcat's -f format: %t topic, %p partition, %o offset, %T timestamp (ms), %k key, %s value,
 * %K key length, %S value length, %h headers (k=v,k2=v2), %% a percent sign; \n \t \r \\ escapes.
 * With `safe` (a terminal), control characters of keys, values and headers are shown escaped.
 */
export function formatRecord(fmt: string, r: RecordOut, safe: boolean): string {
  const text = (s: string | null): string => (s === null ? '' : safe ? safeText(s) : s);
  let out = '';
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i]!;
    const next = fmt[i + 1];
    if (c === '\\' && next !== undefined) {
      const esc: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\' };
      if (esc[next] !== undefined) {
        out += esc[next];
        i++;
        continue;
      }
    }
    if (c === '%' && next !== undefined) {
      const fields: Record<string, () => string> = {
        t: () => text(r.topic),
        p: () => String(r.partition),
        o: () => String(r.offset),
        T: () => String(r.timestamp),
        k: () => text(r.key),
        s: () => text(r.value),
        K: () => (r.key === null ? '-1' : String(Buffer.byteLength(r.key))),
        S: () => (r.value === null ? '-1' : String(Buffer.byteLength(r.value))),
        h: () => r.headers.map(([k, v]) => `${text(k)}=${text(v)}`).join(','),
        '%': () => '%',
      };
      const f = fields[next];
      if (f) {
        out += f();
        i++;
        continue;
      }
    }
    out += c;
  }
  return out;
}
