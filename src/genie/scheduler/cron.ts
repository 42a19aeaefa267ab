// Cron schedules, pure: validation, the next tick, which tick is due, and the job a tick requests.
// Patterns are croner's (5 fields, or 6 with seconds first), evaluated in `timezone` (an IANA
// name; default UTC so every scheduler instance computes the same ticks whatever its host's zone).
//
// Misfire policy: when the scheduler was down (or no leader was elected) across several ticks,
// only the LATEST missed tick fires, once; the earlier ones are skipped. A backlog of identical
// cron jobs after an outage is rarely what anyone wants, and one catch-up run keeps "it ran after
// the last tick" true.
//
// A tick's job id is `<name>@<tick ISO time>`: a tick requested twice (a new leader re-publishing
// a tick whose publication it cannot confirm) is the same job, and workers drop the duplicate.

import { Cron } from 'croner';
import { type JobSpec, JobValidationError, specFromSubmission } from '../jobs/events.js';

export const SCHEDULE_LIMITS = {
  /** A tick's job id `<name>@<24-char ISO time>` must stay within JOB_LIMITS.idLengthMax (200). */
  nameLengthMax: 128,
  cronLengthMax: 256,
  /** Schedules the scheduler keeps track of; putSchedule refuses more. */
  schedulesMax: 10_000,
} as const;

/** What a tick submits: a job submission without id (the tick's) or runAt (meaningless per tick). */
export interface ScheduleJob {
  type: string;
  payload?: unknown;
  priority?: 'high' | 'normal' | 'low';
  attempts?: number;
  backoff?: { type?: 'exponential' | 'fixed'; delayMs?: number; delayMsMax?: number };
  timeoutMs?: number;
  delayMs?: number;
  orderingKey?: string;
}

export interface ScheduleSpec {
  name: string;
  /** croner pattern: `m h dom mon dow` or `s m h dom mon dow`. */
  cron: string;
  /** IANA time zone the pattern is read in; default UTC. */
  timezone?: string;
  job: ScheduleJob;
}

/** The znode of a schedule: its spec and when it last fired. Times are ISO strings. */
export interface ScheduleRecord {
  spec: ScheduleSpec;
  createdAt: string;
  /** Last putSchedule; ticks before it are not "missed" (a changed pattern does not fire its past). */
  updatedAt: string;
  /** The last tick claimed (written with a version check before its job is requested). */
  lastFiredAt?: string;
  /** The last tick whose job.requested Kafka acknowledged; behind lastFiredAt means "re-publish it". */
  lastPublishedAt?: string;
}

const SCHEDULE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function cronOf(spec: Pick<ScheduleSpec, 'cron' | 'timezone'>): Cron {
  // No callback: croner only parses and computes, it starts no timer.
  return new Cron(spec.cron, { paused: true, timezone: spec.timezone ?? 'UTC' });
}

/** The spec checked (throws JobValidationError naming the field) and copied without unknown keys. */
export function validateSchedule(body: unknown): ScheduleSpec {
  if (!isRecord(body)) throw new JobValidationError('body', 'must be a JSON object');
  for (const k of Object.keys(body)) {
    if (!['name', 'cron', 'timezone', 'job'].includes(k)) throw new JobValidationError(k, 'is not a schedule option');
  }
  const { name, cron, timezone, job } = body;
  if (typeof name !== 'string' || name.length > SCHEDULE_LIMITS.nameLengthMax || !SCHEDULE_NAME_RE.test(name)) {
    throw new JobValidationError(
      'name',
      `must be 1-${SCHEDULE_LIMITS.nameLengthMax} characters of A-Z a-z 0-9 _ . : - (not starting with a symbol)`,
    );
  }
  if (typeof cron !== 'string' || cron.length === 0 || cron.length > SCHEDULE_LIMITS.cronLengthMax) {
    throw new JobValidationError('cron', `must be a cron pattern of at most ${SCHEDULE_LIMITS.cronLengthMax} characters`);
  }
  if (timezone !== undefined && (typeof timezone !== 'string' || timezone.length === 0)) {
    throw new JobValidationError('timezone', 'must be an IANA time zone name such as Europe/Stockholm');
  }
  const spec: ScheduleSpec = { name, cron, job: undefined as unknown as ScheduleJob };
  if (timezone !== undefined) spec.timezone = timezone;
  try {
    // Parsing checks the pattern; one computation checks the time zone.
    cronOf(spec).nextRun(new Date(0));
  } catch (e) {
    const field = /time ?zone/i.test((e as Error).message) ? 'timezone' : 'cron';
    throw new JobValidationError(field, (e as Error).message);
  }
  if (!isRecord(job)) throw new JobValidationError('job', 'must be a job submission {type, payload, ...}');
  if (job.id !== undefined) throw new JobValidationError('job.id', 'is set per tick (<name>@<tick>)');
  if (job.runAt !== undefined) throw new JobValidationError('job.runAt', 'is not allowed in a schedule (use delayMs)');
  try {
    specFromSubmission(job, 0, tickJobId(name, 0));
  } catch (e) {
    if (e instanceof JobValidationError) throw new JobValidationError(`job.${e.field}`, e.message.slice(e.field.length + 2));
    throw e;
  }
  spec.job = structuredClone(job) as unknown as ScheduleJob;
  return spec;
}

/** The first tick strictly after `afterMs`, or null if the pattern has no more. */
export function nextTick(spec: Pick<ScheduleSpec, 'cron' | 'timezone'>, afterMs: number): number | null {
  return cronOf(spec).nextRun(new Date(afterMs))?.getTime() ?? null;
}

/**
 * The ticks to fire now: none, or the latest tick in (lastFiredMs, nowMs] (see the misfire policy
 * above). A binary search over "first tick after x" finds it in ~45 steps whatever the gap, so a
 * per-second schedule after a long outage costs no more than after a short one.
 */
export function ticksDue(spec: Pick<ScheduleSpec, 'cron' | 'timezone'>, lastFiredMs: number, nowMs: number): number[] {
  const cron = cronOf(spec);
  const after = (x: number): number => cron.nextRun(new Date(x))?.getTime() ?? Number.POSITIVE_INFINITY;
  if (after(lastFiredMs) > nowMs) return [];
  // Invariant: after(lo) <= nowMs < after(hi); after() is non-decreasing in its argument.
  let lo = lastFiredMs;
  let hi = nowMs;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (after(mid) <= nowMs) lo = mid;
    else hi = mid;
  }
  return [after(lo)];
}

/** The job id of a schedule's tick. */
export function tickJobId(name: string, tickMs: number): string {
  return `${name}@${new Date(tickMs).toISOString()}`;
}

/** The spec of the job a tick requests (spec.schedule names the schedule). */
export function tickJobSpec(spec: ScheduleSpec, tickMs: number, nowMs: number): JobSpec {
  const id = tickJobId(spec.name, tickMs);
  const job = specFromSubmission({ ...spec.job, id }, nowMs, id);
  job.schedule = spec.name;
  return job;
}

/** Where ticks are counted from: the later of the last fired tick and the last change of the schedule. */
export function scheduleBaseMs(r: ScheduleRecord): number {
  const fired = r.lastFiredAt === undefined ? Number.NEGATIVE_INFINITY : Date.parse(r.lastFiredAt);
  return Math.max(Date.parse(r.updatedAt), fired);
}

/** The tick claimed but not known to be published, if any (a new leader re-publishes it). */
export function unpublishedTick(r: ScheduleRecord): number | undefined {
  if (r.lastFiredAt === undefined) return undefined;
  const fired = Date.parse(r.lastFiredAt);
  const published = r.lastPublishedAt === undefined ? Number.NEGATIVE_INFINITY : Date.parse(r.lastPublishedAt);
  return fired > published ? fired : undefined;
}

/** A schedule znode's data as a ScheduleRecord; throws JobValidationError if it is not one. */
export function parseScheduleRecord(data: Buffer | string | null): ScheduleRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data === null ? 'null' : data.toString());
  } catch {
    throw new JobValidationError('schedule', 'znode data is not JSON');
  }
  if (!isRecord(parsed)) throw new JobValidationError('schedule', 'znode data is not a JSON object');
  const spec = validateSchedule(parsed.spec);
  const time = (field: string, v: unknown, required: boolean): string | undefined => {
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || !Number.isFinite(Date.parse(v))) throw new JobValidationError(field, 'must be an ISO time');
    return v;
  };
  const record: ScheduleRecord = {
    spec,
    createdAt: time('createdAt', parsed.createdAt, true)!,
    updatedAt: time('updatedAt', parsed.updatedAt, true)!,
  };
  const fired = time('lastFiredAt', parsed.lastFiredAt, false);
  const published = time('lastPublishedAt', parsed.lastPublishedAt, false);
  if (fired !== undefined) record.lastFiredAt = fired;
  if (published !== undefined) record.lastPublishedAt = published;
  return record;
}
