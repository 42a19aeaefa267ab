// The log event that travels on `logs.dev`: Vector's log event JSON shape (message, timestamp,
// host, source_type, file, plus the fields parsed from the line), so a Vector kafka source or sink
// on the other side of the topic reads and writes the same records. The shipper makes them, the
// Log Consumer turns them into Loki streams with a small, low-cardinality label set.

export const LOGS_TOPIC = 'logs.dev';

/** Where a line came from, as Vector's `source_type` names its sources. */
export type LogSourceType = 'file' | 'stdin' | 'docker_logs' | 'internal';

/** Keys the shipper sets itself; a parsed field never overwrites them. */
export const RESERVED_LOG_FIELDS: ReadonlySet<string> = new Set(['message', 'timestamp', 'host', 'source_type', 'file']);

export interface LogEvent {
  /** The line as read (for Docker json-file logs: the `log` field without its newline). */
  message: string;
  /** RFC 3339 with nanoseconds where known: when the shipper read the line (Vector's meaning). */
  timestamp: string;
  host: string;
  source_type: LogSourceType;
  /** The tailed file's path (file and docker_logs sources). */
  file?: string;
  /** Fields parsed from a JSON or logfmt line, and `stream` for Docker logs. */
  [field: string]: unknown;
}

/** Loki's label names: Prometheus' rule. */
export const lokiLabelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The labels the Log Consumer gives a stream: never ids, so Loki's stream count stays small. */
export interface LogLabels {
  service: string;
  level: string;
  host: string;
  env: string;
}

/** pino's numeric levels and the common spellings, mapped to the names Grafana colours. */
const LEVEL_NAMES: Record<string, string> = {
  '10': 'trace',
  '20': 'debug',
  '30': 'info',
  '40': 'warn',
  '50': 'error',
  '60': 'fatal',
  trace: 'trace',
  debug: 'debug',
  dbg: 'debug',
  info: 'info',
  information: 'info',
  notice: 'info',
  warn: 'warn',
  warning: 'warn',
  err: 'error',
  error: 'error',
  crit: 'critical',
  critical: 'critical',
  fatal: 'fatal',
  panic: 'fatal',
};

/** The level a line declares (`level`, `lvl`, `severity`), normalised; `unknown` when none or odd. */
export function levelOf(event: LogEvent): string {
  const raw = event.level ?? event.lvl ?? event.severity;
  if (typeof raw !== 'string' && typeof raw !== 'number') return 'unknown';
  return LEVEL_NAMES[String(raw).toLowerCase()] ?? 'unknown';
}

const labelValueLengthMax = 128;

const labelValue = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length > 0 ? v.slice(0, labelValueLengthMax) : undefined;

/**
 * The service a line belongs to: what it says (`service`, `app`, pino's `name`, Docker's
 * `container_name`), else the file's base name without extension, else the source type.
 */
export function serviceOf(event: LogEvent): string {
  const declared = labelValue(event.service) ?? labelValue(event.app) ?? labelValue(event.name) ?? labelValue(event.container_name);
  if (declared) return declared;
  if (typeof event.file === 'string' && event.file.length > 0) {
    const base = event.file.split(/[\\/]/).pop() ?? event.file;
    return (base.replace(/(\.\d+)?\.(log|txt|json)$/i, '') || base).slice(0, labelValueLengthMax);
  }
  return event.source_type;
}

export function labelsOf(event: LogEvent, env: string): LogLabels {
  return { service: serviceOf(event), level: levelOf(event), host: labelValue(event.host) ?? 'unknown', env };
}

/** Nanoseconds since the epoch of an RFC 3339 timestamp (fraction up to 9 digits); undefined if not one. */
export function rfc3339ToNs(text: string): bigint | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  const fraction = (m[2] ?? '').padEnd(9, '0');
  return BigInt(ms) * 1_000_000n + BigInt(fraction);
}

/** RFC 3339 in UTC with nine fraction digits, as Vector writes timestamps. */
export function nsToRfc3339(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // 2026-12-07T11:00:00.123Z
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${fraction}Z`;
}
