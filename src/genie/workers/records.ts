// The records a worker reads and writes. In: a record of cluster-events as the partition core's
// input (a checked event, a non-job event, or malformed). Out: delay records for the scheduler,
// DLQ letters (a dead job with its spec, or a malformed record copied whole), `worker.scaled`, and
// how each is encoded; plus the bounds that keep a published event producible.

import {
  decodeJobEvent,
  type DelayedRecord,
  type ErrorInfo,
  type EncodedEvent,
  encodeJobEvent,
  JOB_EVENT_SCHEMA_VERSION,
  JOB_HEADERS,
  JOB_LIMITS,
  JOB_PRIORITIES,
  JOB_TOPICS,
  type JobEvent,
  type JobSpec,
  type WorkerScaledEvent,
} from '../jobs/events.js';
import { isOwnerMarker, mayBeOwnerMarker, type OwnerMarker } from '../jobs/fence.js';

/**
 * A dead job's letter on the DLQ: its `job.dead` (with that fact's owner `epoch`, so readers can
 * tell a fenced owner's letter, fence.ts deadLetterCounts) plus the spec to redrive it and the
 * partition of cluster-events the job.dead went to.
 */
export type DeadLetter = Extract<JobEvent, { type: 'job.dead' }> & { spec: JobSpec; partition?: number };

/** A record of cluster-events that is not a valid event, copied to the DLQ (rule 8). */
export interface MalformedLetter {
  v: number;
  type: 'record.malformed';
  reason: string;
  partition: number;
  /** Decimal string: offsets are 64-bit. */
  offset: string;
  key: string | null;
  /** The raw value, base64; null when the record had none. */
  valueBase64: string | null;
  at: string;
  producer: string;
}

/** A record of cluster-events as the core takes it. */
export type RecordInput =
  | { kind: 'event'; event: JobEvent; key: string | null }
  /** A valid record that is not a job event (worker.scaled). */
  | { kind: 'other' }
  /**
   * A live fact this worker produced (its headers say so), not decoded: the worker never acts on
   * its own facts (rules 2-4), and most records of a busy partition are these.
   */
  | { kind: 'own' }
  /** An owner marker (fence.ts): its offset is the epoch of the worker that took the partition. */
  | { kind: 'marker'; worker: string }
  | { kind: 'malformed'; reason: string; key: string | null; value: Buffer | null };

export type OutRecord =
  | { topic: 'events'; key: string; value: JobEvent }
  | { topic: 'delay'; key: string; value: DelayedRecord }
  | { topic: 'dlq'; key: string; value: DeadLetter | MalformedLetter };

export function topicName(r: OutRecord): string {
  return JOB_TOPICS[r.topic];
}

/** The Kafka record for an OutRecord (headers as on every event; docs/JOBS.md "Events"). */
export function encodeOutRecord(r: OutRecord): EncodedEvent {
  if (r.topic === 'events') return encodeJobEvent(r.value, r.key);
  if (r.topic === 'dlq' && r.value.type === 'job.dead') return encodeJobEvent(r.value, r.key);
  const producer = r.topic === 'delay' ? r.value.next.producer : r.value.producer;
  const headers = new Map<string, string>([
    [JOB_HEADERS.eventType, r.value.type],
    [JOB_HEADERS.producer, producer],
    [JOB_HEADERS.schemaVersion, String(JOB_EVENT_SCHEMA_VERSION)],
  ]);
  if (r.topic === 'delay') {
    headers.set(JOB_HEADERS.jobId, r.value.jobId);
    headers.set(JOB_HEADERS.attempt, String(r.value.next.attempt));
  }
  return { key: r.key, value: JSON.stringify(r.value), headers };
}

/** The owner marker a worker writes into a partition it takes (fence.ts). */
export function encodeOwnerMarker(m: OwnerMarker): EncodedEvent {
  const headers = new Map<string, string>([
    [JOB_HEADERS.eventType, m.type],
    [JOB_HEADERS.producer, `worker/${m.worker}`],
    [JOB_HEADERS.schemaVersion, String(JOB_EVENT_SCHEMA_VERSION)],
  ]);
  return { key: `owner-${m.partition}`, value: JSON.stringify(m), headers };
}

/** A non-job record's value as a marker input, when it is one. */
function markerInput(value: Buffer | null): RecordInput | undefined {
  if (value === null) return undefined;
  const text = value.toString('utf8');
  if (!mayBeOwnerMarker(text)) return undefined;
  const parsed = JSON.parse(text) as { worker?: unknown };
  return isOwnerMarker(parsed) ? { kind: 'marker', worker: String(parsed.worker) } : undefined;
}

export function encodeWorkerScaled(e: WorkerScaledEvent): EncodedEvent {
  const headers = new Map<string, string>([
    [JOB_HEADERS.eventType, e.type],
    [JOB_HEADERS.producer, `worker/${e.worker}`],
    [JOB_HEADERS.schemaVersion, String(JOB_EVENT_SCHEMA_VERSION)],
  ]);
  return { key: e.worker, value: JSON.stringify(e), headers };
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const isCount = (v: unknown, min: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min;

/**
 * What is wrong with a spec the worker would run (decodeJobEvent checks only id, type and
 * attemptsMax), or undefined. A record failing this is malformed (rule 8), not a crash later.
 */
export function specProblem(spec: JobSpec): string | undefined {
  if (!isCount(spec.attemptsMax, 1)) return 'spec.attemptsMax must be a positive integer';
  if (!JOB_PRIORITIES.includes(spec.priority)) return `spec.priority must be one of ${JOB_PRIORITIES.join(', ')}`;
  if (!isCount(spec.timeoutMs, 1) || spec.timeoutMs > JOB_LIMITS.timeoutMsMax) {
    return `spec.timeoutMs must be an integer from 1 to ${JOB_LIMITS.timeoutMsMax}`;
  }
  const b: unknown = spec.backoff;
  if (!isRecord(b) || (b.type !== 'exponential' && b.type !== 'fixed') || !isCount(b.delayMs, 0) || !isCount(b.delayMsMax, 0)) {
    return 'spec.backoff must be {type: exponential|fixed, delayMs, delayMsMax}';
  }
  if (spec.orderingKey !== undefined && (typeof spec.orderingKey !== 'string' || spec.orderingKey.length === 0)) {
    return 'spec.orderingKey must be a non-empty string';
  }
  if (spec.runAt !== undefined && (typeof spec.runAt !== 'string' || !Number.isFinite(Date.parse(spec.runAt)))) {
    return 'spec.runAt must be an ISO time';
  }
  return undefined;
}

/** Attempt numbers a job.queued must carry to be runnable. */
export function queuedProblem(e: Extract<JobEvent, { type: 'job.queued' }>): string | undefined {
  if (!isCount(e.attemptLimit, 1) || e.attemptLimit < e.attempt) return 'job.queued attemptLimit must be at least its attempt';
  return undefined;
}

/** Characters of an error's stack kept in job.failed and job.dead. */
export const stackCharsMax = 8192;
/** Characters of a progress message kept in job.progress. */
export const progressMessageCharsMax = 1000;

/** A handler's result as published: JSON-safe and at most `bytesMax` serialized, else a note saying why not. */
export function boundedResult(result: unknown, bytesMax: number): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(result);
  } catch (e) {
    return { unserializable: String((e as Error).message ?? e) };
  }
  if (text === undefined) return null;
  const bytes = Buffer.byteLength(text);
  return bytes > bytesMax ? { truncated: true, bytes, limit: bytesMax } : result;
}

export function boundedError(e: ErrorInfo): ErrorInfo {
  const out: ErrorInfo = { name: String(e.name).slice(0, 200), message: String(e.message).slice(0, 4000) };
  if (e.stack !== undefined) out.stack = String(e.stack).slice(0, stackCharsMax);
  return out;
}

export function clampPercent(p: number): number {
  return Number.isFinite(p) ? Math.min(100, Math.max(0, p)) : 0;
}

/** A record as the core's input: a checked event, a non-job event, or malformed (rule 8). */
export function toRecordInput(m: { key?: string | undefined; value?: Buffer | undefined }): RecordInput {
  const key = m.key ?? null;
  const value = m.value ?? null;
  try {
    const event = decodeJobEvent(value);
    if (event === null) return markerInput(value) ?? { kind: 'other' };
    const problem =
      'spec' in event ? (specProblem(event.spec) ?? (event.type === 'job.queued' ? queuedProblem(event) : undefined)) : undefined;
    if (problem !== undefined) return { kind: 'malformed', reason: problem, key, value };
    return { kind: 'event', event, key };
  } catch (e) {
    return { kind: 'malformed', reason: (e as Error).message, key, value };
  }
}

export interface WorkerCounters {
  completed: number;
  /** Attempts failed (retried or not). */
  failed: number;
  retried: number;
  dead: number;
  cancelled: number;
  malformed: number;
  /** Attempts started again after a crash or rebalance. */
  redelivered: number;
  scaled: number;
}

/** Counts what a published record says happened. */
export function countRecord(c: WorkerCounters, r: OutRecord): void {
  if (r.topic === 'dlq' && r.value.type === 'record.malformed') c.malformed++;
  if (r.topic !== 'events') return;
  const t = r.value.type;
  if (t === 'job.completed') c.completed++;
  else if (t === 'job.failed') c.failed++;
  else if (t === 'job.retrying') c.retried++;
  else if (t === 'job.dead') c.dead++;
  else if (t === 'job.cancelled') c.cancelled++;
  else if (t === 'job.processing' && r.value.redelivered) c.redelivered++;
}
