// The job model and its events: the one definition every ClusterGenie service (Job Service,
// worker, scheduler, dashboard) encodes and decodes. docs/JOBS.md is the prose version; the JSON
// schema per event is generated from JOB_EVENT_FIELDS (docs/API.md).
//
// An event is one Kafka record on `cluster-events`, keyed by the job's ordering key or else its
// id, so a job's events share a partition and stay in order. Its value is a JSON envelope
// {v, type, jobId, at, ...}; its headers repeat what a consumer needs to route without parsing
// the value (event type, job id, attempt, traceparent, producer).

import { randomBytes } from 'node:crypto';

/** Version of the envelope and of every event's fields; bumped on an incompatible change. */
export const JOB_EVENT_SCHEMA_VERSION = 1;

export const JOB_TOPICS = {
  /** Every job event and command (the user's design). */
  events: 'cluster-events',
  /** Retries and delayed jobs waiting for their time; read by the elected scheduler only. */
  delay: 'cluster-events.delay',
  /** Dead jobs with reason, stack and attempts; the Job Service redrives from it. */
  dlq: 'cluster-events.dlq',
  /** Compacted: the latest view of each job (key = job id), for fast rebuilds of a Job Service. */
  jobs: 'clustergenie.jobs',
} as const;

/** ZooKeeper paths the services use (under an optional chroot of the connect string). */
export const JOB_ZK_PATHS = {
  root: '/clustergenie',
  /** Ephemeral, one per live worker process: JSON {host, pid, capacity, running, startedAt}. */
  workers: '/clustergenie/workers',
  /** Leader election of the scheduler (ephemeral sequential candidates). */
  schedulerElection: '/clustergenie/scheduler/election',
  /** Cron schedules, one persistent znode each: JSON ScheduleSpec. */
  schedules: '/clustergenie/schedules',
  /** Global concurrency caps per job type: `/clustergenie/limits/<type>` JSON {concurrency?, ratePerSecond?}. */
  limits: '/clustergenie/limits',
  /** Leases of the global concurrency semaphores: `/clustergenie/semaphores/<type>/lease-<seq>`. */
  semaphores: '/clustergenie/semaphores',
  /** Client idempotency keys: `/clustergenie/idempotency/<key>` holds the job id it created. */
  idempotency: '/clustergenie/idempotency',
} as const;

export const JOB_STATES = ['created', 'queued', 'processing', 'completed', 'failed', 'retrying', 'dead', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];
/** A job in one of these never changes again unless a user retries or redrives it. */
export const TERMINAL_STATES: ReadonlySet<JobState> = new Set(['completed', 'dead', 'cancelled']);

export const JOB_PRIORITIES = ['high', 'normal', 'low'] as const;
export type JobPriority = (typeof JOB_PRIORITIES)[number];

export interface BackoffSpec {
  type: 'exponential' | 'fixed';
  /** First retry's delay; exponential doubles it per attempt, with full jitter. */
  delayMs: number;
  /** Cap of one delay. */
  delayMsMax: number;
}

/** Everything a worker needs to run a job: carried whole by job.requested and job.queued. */
export interface JobSpec {
  id: string;
  type: string;
  payload: unknown;
  priority: JobPriority;
  /** Attempts of one run (a user's retry or redrive starts a new run with the same budget). */
  attemptsMax: number;
  backoff: BackoffSpec;
  /** One attempt's limit; the attempt fails with reason "timeout" past it. */
  timeoutMs: number;
  /** ISO time before which the job must not start (from `delayMs` or `runAt` at submission). */
  runAt?: string;
  /** Jobs with the same key run one at a time, in submission order. */
  orderingKey?: string;
  /** ISO time the Job Service accepted it. */
  createdAt: string;
  /** A cron schedule's name, when the scheduler created the job. */
  schedule?: string;
}

export interface ErrorInfo {
  name: string;
  message: string;
  stack?: string;
}

interface EnvelopeBase {
  v: number;
  jobId: string;
  /** ISO time the event was produced. */
  at: string;
  /** Who produced it: `jobs-service/<instance>`, `worker/<id>`, `scheduler/<id>`. */
  producer: string;
  /**
   * A worker's fact: the owner epoch of the partition it was published under (the offset of the
   * worker's owner marker there). Readers ignore facts below the partition's highest epoch
   * (fence.ts). Absent on commands.
   */
  epoch?: number;
}

export type JobEvent =
  | (EnvelopeBase & { type: 'job.requested'; spec: JobSpec; attempt: 1 })
  | (EnvelopeBase & { type: 'job.created'; spec: JobSpec })
  /**
   * The command to run `attempt` (self-sufficient: it carries the spec). A worker emits it for a
   * job due now; the scheduler emits it when a retry or delayed job falls due; the Job Service
   * emits it for a user's retry or redrive (a new run: attemptLimit = attempt - 1 + attemptsMax).
   */
  | (EnvelopeBase & {
      type: 'job.queued';
      spec: JobSpec;
      attempt: number;
      attemptLimit: number;
      /**
       * true on the command a worker parked on the delay topic (a retry, a delayed job) and the
       * scheduler published when due: it runs only an attempt the job's counted history named
       * (its job.retrying, or the delayed job's request), never one whose parking fact was fenced.
       */
      parked?: true;
    })
  | (EnvelopeBase & { type: 'job.processing'; attempt: number; worker: string; redelivered: boolean })
  | (EnvelopeBase & { type: 'job.progress'; attempt: number; percent: number; message?: string })
  | (EnvelopeBase & { type: 'job.completed'; attempt: number; result: unknown; durationMs: number })
  | (EnvelopeBase & { type: 'job.failed'; attempt: number; error: ErrorInfo; reason: FailReason; willRetry: boolean })
  | (EnvelopeBase & { type: 'job.retrying'; attempt: number; runAt: string })
  | (EnvelopeBase & { type: 'job.dead'; attempt: number; reason: string; error?: ErrorInfo })
  /** A user asked to cancel (command; the partition's owner acts on it). */
  | (EnvelopeBase & { type: 'job.cancel-requested'; reason: string })
  | (EnvelopeBase & { type: 'job.cancelled'; reason: string; attempt?: number });

export type JobEventType = JobEvent['type'];
export type FailReason = 'error' | 'timeout' | 'unknown-type' | 'invalid-payload' | 'worker-lost';

/**
 * Non-job events on the same topic (keyed by worker id); job consumers skip them. `scope` says
 * what was scaled: one worker's pool concurrency (absent or "concurrency"; `worker` is that
 * worker), or the number of worker processes `up` runs ("processes"; `worker` is the scaler's id,
 * `up-<pid>`, and from/to count processes).
 */
export interface WorkerScaledEvent {
  v: number;
  type: 'worker.scaled';
  worker: string;
  at: string;
  from: number;
  to: number;
  reason: string;
  backlog: number;
  scope?: 'concurrency' | 'processes';
}

/** A retry or delayed job parked on the delay topic until `dueAt`; the scheduler emits `next`. */
export interface DelayedRecord {
  v: number;
  type: 'job.delayed';
  jobId: string;
  dueAt: string;
  next: Extract<JobEvent, { type: 'job.queued' }>;
}

export const JOB_EVENT_TYPES: readonly JobEventType[] = [
  'job.requested',
  'job.created',
  'job.queued',
  'job.processing',
  'job.progress',
  'job.completed',
  'job.failed',
  'job.retrying',
  'job.dead',
  'job.cancel-requested',
  'job.cancelled',
];

/** Kafka header names on every event. */
export const JOB_HEADERS = {
  eventType: 'clustergenie-event-type',
  jobId: 'clustergenie-job-id',
  attempt: 'clustergenie-attempt',
  producer: 'clustergenie-producer',
  schemaVersion: 'clustergenie-schema-version',
  /** A worker fact's owner epoch (fence.ts), decimal. */
  ownerEpoch: 'clustergenie-owner-epoch',
  traceparent: 'traceparent',
} as const;

export const JOB_LIMITS = {
  idLengthMax: 200,
  typeLengthMax: 128,
  orderingKeyLengthMax: 200,
  /** Serialized payload; Kafka's default message.max.bytes is 1 MiB and an event carries more than the payload. */
  payloadBytesMax: 512 * 1024,
  attemptsMaxMax: 100,
  timeoutMsMax: 24 * 3600_000,
  delayMsMax: 366 * 24 * 3600_000,
  backoffDelayMsMax: 24 * 3600_000,
  batchJobsMax: 1000,
} as const;

export const JOB_DEFAULTS = {
  priority: 'normal' as JobPriority,
  attemptsMax: 3,
  backoff: { type: 'exponential', delayMs: 1000, delayMsMax: 300_000 } as BackoffSpec,
  timeoutMs: 30 * 60_000,
} as const;

/** Job ids and types: printable, URL-safe, no separators that would need escaping in znodes or URLs. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.:@-]*$/;

export class JobValidationError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'JobValidationError';
  }
}

/** The body of a submission (POST /api/jobs), before defaults. */
export interface JobSubmission {
  type: string;
  payload?: unknown;
  id?: string;
  priority?: JobPriority;
  attempts?: number;
  backoff?: Partial<BackoffSpec>;
  timeoutMs?: number;
  delayMs?: number;
  runAt?: string;
  orderingKey?: string;
}

/** A new random job id: time-ordered prefix (sorts by creation) plus 80 random bits. */
export function newJobId(nowMs: number): string {
  return `${nowMs.toString(36).padStart(9, '0')}-${randomBytes(10).toString('hex')}`;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function intIn(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new JobValidationError(field, `must be an integer from ${min} to ${max}`);
  }
  return v;
}

function name(field: string, v: unknown, lengthMax: number): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > lengthMax || !NAME_RE.test(v)) {
    throw new JobValidationError(field, `must be 1-${lengthMax} characters of A-Z a-z 0-9 _ . : @ - (not starting with a symbol)`);
  }
  return v;
}

/**
 * A submission checked and completed with defaults. Throws JobValidationError naming the first
 * bad field. `nowMs` and `id` come from the caller so this stays pure.
 */
export function specFromSubmission(body: unknown, nowMs: number, generatedId: string): JobSpec {
  if (!isRecord(body)) throw new JobValidationError('body', 'must be a JSON object');
  const known = new Set(['type', 'payload', 'id', 'priority', 'attempts', 'backoff', 'timeoutMs', 'delayMs', 'runAt', 'orderingKey']);
  for (const k of Object.keys(body)) if (!known.has(k)) throw new JobValidationError(k, 'is not a job option');
  const type = name('type', body.type, JOB_LIMITS.typeLengthMax);
  const id = body.id === undefined ? generatedId : name('id', body.id, JOB_LIMITS.idLengthMax);
  const payload = body.payload === undefined ? null : body.payload;
  const payloadBytes = Buffer.byteLength(JSON.stringify(payload));
  if (payloadBytes > JOB_LIMITS.payloadBytesMax) {
    throw new JobValidationError('payload', `is ${payloadBytes} bytes serialized; the limit is ${JOB_LIMITS.payloadBytesMax}`);
  }
  let priority: JobPriority = JOB_DEFAULTS.priority;
  if (body.priority !== undefined) {
    if (!JOB_PRIORITIES.includes(body.priority as JobPriority))
      throw new JobValidationError('priority', `must be one of ${JOB_PRIORITIES.join(', ')}`);
    priority = body.priority as JobPriority;
  }
  const attemptsMax =
    body.attempts === undefined ? JOB_DEFAULTS.attemptsMax : intIn('attempts', body.attempts, 1, JOB_LIMITS.attemptsMaxMax);
  const backoff: BackoffSpec = { ...JOB_DEFAULTS.backoff };
  if (body.backoff !== undefined) {
    if (!isRecord(body.backoff)) throw new JobValidationError('backoff', 'must be an object {type, delayMs, delayMsMax}');
    const b = body.backoff;
    for (const k of Object.keys(b))
      if (!['type', 'delayMs', 'delayMsMax'].includes(k)) throw new JobValidationError(`backoff.${k}`, 'is not a backoff option');
    if (b.type !== undefined) {
      if (b.type !== 'exponential' && b.type !== 'fixed') throw new JobValidationError('backoff.type', 'must be exponential or fixed');
      backoff.type = b.type;
    }
    if (b.delayMs !== undefined) backoff.delayMs = intIn('backoff.delayMs', b.delayMs, 0, JOB_LIMITS.backoffDelayMsMax);
    if (b.delayMsMax !== undefined) backoff.delayMsMax = intIn('backoff.delayMsMax', b.delayMsMax, 0, JOB_LIMITS.backoffDelayMsMax);
  }
  const timeoutMs = body.timeoutMs === undefined ? JOB_DEFAULTS.timeoutMs : intIn('timeoutMs', body.timeoutMs, 1, JOB_LIMITS.timeoutMsMax);
  if (body.delayMs !== undefined && body.runAt !== undefined) throw new JobValidationError('delayMs', 'give delayMs or runAt, not both');
  let runAt: string | undefined;
  if (body.delayMs !== undefined) {
    const delayMs = intIn('delayMs', body.delayMs, 0, JOB_LIMITS.delayMsMax);
    if (delayMs > 0) runAt = new Date(nowMs + delayMs).toISOString();
  } else if (body.runAt !== undefined) {
    const t = typeof body.runAt === 'string' ? Date.parse(body.runAt) : Number.NaN;
    if (!Number.isFinite(t)) throw new JobValidationError('runAt', 'must be an ISO 8601 time');
    if (t - nowMs > JOB_LIMITS.delayMsMax) throw new JobValidationError('runAt', 'is more than a year away');
    if (t > nowMs) runAt = new Date(t).toISOString();
  }
  let orderingKey: string | undefined;
  if (body.orderingKey !== undefined) {
    if (
      typeof body.orderingKey !== 'string' ||
      body.orderingKey.length === 0 ||
      body.orderingKey.length > JOB_LIMITS.orderingKeyLengthMax
    ) {
      throw new JobValidationError('orderingKey', `must be a string of 1-${JOB_LIMITS.orderingKeyLengthMax} characters`);
    }
    orderingKey = body.orderingKey;
  }
  const spec: JobSpec = { id, type, payload, priority, attemptsMax, backoff, timeoutMs, createdAt: new Date(nowMs).toISOString() };
  if (runAt !== undefined) spec.runAt = runAt;
  if (orderingKey !== undefined) spec.orderingKey = orderingKey;
  return spec;
}

/** The Kafka record key of every event of this job. */
export function jobKey(spec: Pick<JobSpec, 'id' | 'orderingKey'>): string {
  return spec.orderingKey ?? spec.id;
}

/** Delay before attempt `nextAttempt` (2 = first retry); `random01` in [0, 1) gives the jitter. */
export function backoffDelayMs(b: BackoffSpec, nextAttempt: number, random01: number): number {
  if (b.type === 'fixed') return Math.min(b.delayMs, b.delayMsMax);
  const ceiling = Math.min(b.delayMsMax, b.delayMs * 2 ** Math.max(0, nextAttempt - 2));
  // "Equal jitter": at least half the ceiling, so retries are never immediate, and spread over the rest.
  return Math.round(ceiling / 2 + (ceiling / 2) * random01);
}

export interface EncodedEvent {
  key: string;
  value: string;
  headers: Map<string, string>;
}

/** The record for `event`, keyed by `key` (jobKey(spec) of its job). */
export function encodeJobEvent(event: JobEvent, key: string, traceparent?: string): EncodedEvent {
  const headers = new Map<string, string>([
    [JOB_HEADERS.eventType, event.type],
    [JOB_HEADERS.jobId, event.jobId],
    [JOB_HEADERS.producer, event.producer],
    [JOB_HEADERS.schemaVersion, String(JOB_EVENT_SCHEMA_VERSION)],
  ]);
  if ('attempt' in event && event.attempt !== undefined) headers.set(JOB_HEADERS.attempt, String(event.attempt));
  if (event.epoch !== undefined) headers.set(JOB_HEADERS.ownerEpoch, String(event.epoch));
  if (traceparent !== undefined) headers.set(JOB_HEADERS.traceparent, traceparent);
  return { key, value: JSON.stringify(event), headers };
}

export class MalformedEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedEventError';
  }
}

/**
 * A record's value as a job event, or MalformedEventError saying what is wrong (a record written by
 * another producer must not crash a consumer). Non-job events (worker.scaled) return null.
 */
export function decodeJobEvent(value: Buffer | string | null | undefined): JobEvent | null {
  if (value === null || value === undefined) throw new MalformedEventError('record has no value');
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch {
    throw new MalformedEventError('value is not JSON');
  }
  if (!isRecord(parsed)) throw new MalformedEventError('value is not a JSON object');
  if (typeof parsed.type === 'string' && parsed.type.startsWith('worker.')) return null;
  if (parsed.v !== JOB_EVENT_SCHEMA_VERSION)
    throw new MalformedEventError(`schema version ${String(parsed.v)} is not ${JOB_EVENT_SCHEMA_VERSION}`);
  if (!JOB_EVENT_TYPES.includes(parsed.type as JobEventType)) throw new MalformedEventError(`unknown event type ${String(parsed.type)}`);
  if (typeof parsed.jobId !== 'string' || parsed.jobId.length === 0) throw new MalformedEventError('jobId is missing');
  if (typeof parsed.at !== 'string') throw new MalformedEventError('at is missing');
  const type = parsed.type as JobEventType;
  if (type === 'job.requested' || type === 'job.created' || type === 'job.queued') {
    const spec = parsed.spec;
    if (!isRecord(spec) || spec.id !== parsed.jobId || typeof spec.type !== 'string' || typeof spec.attemptsMax !== 'number') {
      throw new MalformedEventError(`${type} has no valid spec for job ${parsed.jobId}`);
    }
  }
  if (type !== 'job.requested' && type !== 'job.created' && type !== 'job.cancel-requested' && type !== 'job.cancelled') {
    if (typeof parsed.attempt !== 'number' || !Number.isInteger(parsed.attempt) || parsed.attempt < 1) {
      throw new MalformedEventError(`${type} has no valid attempt`);
    }
  }
  return parsed as unknown as JobEvent;
}
