// The Job Service's view of one job: a pure fold of the job's events (docs/JOBS.md "Job Service
// view"). Every instance folds the same partitions with the same reducer, so instances agree, and
// an event at or below the job's last applied (partition, offset) is ignored, so a replay after a
// crash or a rebuild from a snapshot is harmless.
//
// Rules beyond the state table of docs/JOBS.md:
// - A `job.queued` marked `parked` (the scheduler's, from a delay record) queues only the attempt
//   the view is waiting for (created, or retrying to it); fencing may have dropped the job.retrying
//   that parked another (docs/JOBS.md "Partition ownership and fencing").
// - Terminal states (completed, dead, cancelled) change only on a `job.queued` with a higher
//   attempt (a user's retry or redrive). Facts of older attempts are ignored (a `job.completed`
//   of attempt 1 arriving after `job.retrying` to attempt 2 does not end the job).
// - A fact about a job the view does not know (anything but requested/created/queued, which carry
//   the spec) is skipped: every job's first event carries its spec, so an unknown job means its
//   view was pruned by retention (a late fact must not resurrect it half-empty) or the topic's
//   retention dropped its beginning. applyEvent returns undefined for it.
// - A position with partition < 0 is provisional: the Job Service applies its own job.requested
//   right after Kafka acknowledged it (before the consumer reads it back, so GET after POST finds
//   the job) without knowing its offset. It creates a job only; it never changes a known one. The
//   same event read back from the topic then applies normally and fixes the position.
// - Offsets compare within one partition. An event from another partition than the view's
//   applies: a job's partition changes only when the topic gained partitions (its key hashes
//   elsewhere), and from then on its events arrive there.

import type { BackoffSpec, ErrorInfo, JobEvent, JobPriority, JobSpec, JobState } from './events.js';
import { TERMINAL_STATES } from './events.js';

/** Where an event sits in `cluster-events`. Offsets fit a double (2^53) for any real topic. */
export interface EventPosition {
  partition: number;
  offset: number;
}

/** A provisional position (see the header). */
export const PROVISIONAL_POSITION: EventPosition = { partition: -1, offset: -1 };

export interface JobProgress {
  percent: number;
  message: string | null;
}

export interface JobLastError extends ErrorInfo {
  /** FailReason of a failed attempt, or the reason a job died. */
  reason: string;
}

export interface JobView {
  id: string;
  type: string;
  state: JobState;
  priority: JobPriority;
  payload: unknown;
  orderingKey: string | null;
  schedule: string | null;
  backoff: BackoffSpec;
  timeoutMs: number;
  /** The attempt running, or next to run (job.retrying names the next one); 1 before the first. */
  attempt: number;
  /** The last attempt of the current run (attemptsMax for the first run; more after a retry). */
  attemptLimit: number;
  attemptsMax: number;
  createdAt: string;
  /** Time of the last event that changed the view. */
  updatedAt: string;
  queuedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** When the job (or its next attempt) is due, if it is waiting for a time. */
  runAt: string | null;
  progress: JobProgress | null;
  result: unknown;
  durationMs: number | null;
  lastError: JobLastError | null;
  /** Worker of the current or last attempt. */
  worker: string | null;
  cancelRequested: boolean;
  cancelReason: string | null;
  /** Partition and offset of the last event applied (-1 for a provisional view). */
  partition: number;
  lastOffset: number;
}

export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATES.has(state);
}

/** The spec a retry or redrive re-queues: the job as submitted, due now. */
export function specOfView(v: JobView): JobSpec {
  const spec: JobSpec = {
    id: v.id,
    type: v.type,
    payload: v.payload,
    priority: v.priority,
    attemptsMax: v.attemptsMax,
    backoff: v.backoff,
    timeoutMs: v.timeoutMs,
    createdAt: v.createdAt,
  };
  if (v.orderingKey !== null) spec.orderingKey = v.orderingKey;
  if (v.schedule !== null) spec.schedule = v.schedule;
  return spec;
}

function viewFromSpec(spec: JobSpec, state: JobState, at: string, pos: EventPosition): JobView {
  return {
    id: spec.id,
    type: spec.type,
    state,
    priority: spec.priority,
    payload: spec.payload,
    orderingKey: spec.orderingKey ?? null,
    schedule: spec.schedule ?? null,
    backoff: spec.backoff,
    timeoutMs: spec.timeoutMs,
    attempt: 1,
    attemptLimit: spec.attemptsMax,
    attemptsMax: spec.attemptsMax,
    createdAt: spec.createdAt,
    updatedAt: at,
    queuedAt: null,
    startedAt: null,
    finishedAt: null,
    runAt: spec.runAt ?? null,
    progress: null,
    result: null,
    durationMs: null,
    lastError: null,
    worker: null,
    cancelRequested: false,
    cancelReason: null,
    partition: pos.partition,
    lastOffset: pos.offset,
  };
}

/** The spec's fields on an existing view (a queued event may carry an updated spec). */
function withSpec(v: JobView, spec: JobSpec): JobView {
  return {
    ...v,
    type: spec.type,
    priority: spec.priority,
    payload: spec.payload,
    orderingKey: spec.orderingKey ?? null,
    schedule: spec.schedule ?? null,
    backoff: spec.backoff,
    timeoutMs: spec.timeoutMs,
    attemptsMax: spec.attemptsMax,
    createdAt: spec.createdAt,
  };
}

/** True when `pos` is at or below what the view already applied. */
function alreadyApplied(v: JobView, pos: EventPosition): boolean {
  return v.partition === pos.partition && pos.offset <= v.lastOffset;
}

/**
 * The view after `event` at `pos`. Returns `view` itself (same object) when the event changes
 * nothing (already applied, stale, or not allowed in the current state), and undefined for a fact
 * about an unknown job. Pure: time comes from the event.
 */
export function applyEvent(view: JobView | undefined, event: JobEvent, pos: EventPosition): JobView | undefined {
  const provisional = pos.partition < 0;
  if (view !== undefined && (provisional || alreadyApplied(view, pos))) return view;
  const next = fold(view, event, pos);
  if (next === undefined || next === view) return next;
  return { ...next, updatedAt: event.at, partition: pos.partition, lastOffset: pos.offset };
}

function fold(v: JobView | undefined, e: JobEvent, pos: EventPosition): JobView | undefined {
  switch (e.type) {
    case 'job.requested':
      if (v === undefined) return viewFromSpec(e.spec, 'created', e.at, pos);
      // Read back after a provisional apply: the same event, now with its position. Otherwise a
      // second request for a known id is a duplicate submission; the workers drop it too.
      return v.partition < 0 ? { ...v } : v;
    case 'job.created':
      if (v === undefined) return viewFromSpec(e.spec, 'created', e.at, pos);
      return v.state === 'created' ? withSpec(v, e.spec) : v;
    case 'job.queued': {
      const queued = (base: JobView): JobView => ({
        ...withSpec(base, e.spec),
        state: 'queued',
        attempt: e.attempt,
        attemptLimit: e.attemptLimit,
        queuedAt: e.at,
        runAt: null,
      });
      if (v === undefined) return queued(viewFromSpec(e.spec, 'queued', e.at, pos));
      // A parked run (retry, delayed job) due: only the attempt its counted job.retrying (or the
      // delayed job's request) named; one a fenced owner parked never restarts or advances a job.
      if (e.parked === true) return e.attempt === v.attempt && (v.state === 'created' || v.state === 'retrying') ? queued(v) : v;
      if (isTerminal(v.state)) {
        // A user's retry or redrive starts a new run: the old run's end no longer describes the job.
        if (e.attempt <= v.attempt) return v;
        return {
          ...queued(v),
          startedAt: null,
          finishedAt: null,
          result: null,
          durationMs: null,
          progress: null,
          cancelRequested: false,
          cancelReason: null,
        };
      }
      // Only a newer attempt, or the first queueing of the current one (after created/retrying);
      // an echo or a scheduler's second copy of an attempt already queued or started changes nothing.
      if (e.attempt > v.attempt || (e.attempt === v.attempt && (v.state === 'created' || v.state === 'retrying'))) return queued(v);
      return v;
    }
    case 'job.processing':
      if (v === undefined) return undefined;
      if (isTerminal(v.state) || e.attempt < v.attempt) return v;
      return { ...v, state: 'processing', attempt: e.attempt, startedAt: e.at, worker: e.worker, progress: null, runAt: null };
    case 'job.progress':
      if (v === undefined) return undefined;
      if (v.state !== 'processing' || e.attempt !== v.attempt) return v;
      return { ...v, progress: { percent: e.percent, message: e.message ?? null } };
    case 'job.completed':
      if (v === undefined) return undefined;
      if (isTerminal(v.state) || e.attempt < v.attempt) return v;
      return { ...v, state: 'completed', attempt: e.attempt, result: e.result, durationMs: e.durationMs, finishedAt: e.at };
    case 'job.failed':
      if (v === undefined) return undefined;
      if (isTerminal(v.state) || e.attempt < v.attempt) return v;
      return { ...v, state: 'failed', attempt: e.attempt, lastError: { ...e.error, reason: e.reason } };
    case 'job.retrying':
      if (v === undefined) return undefined;
      if (isTerminal(v.state) || e.attempt < v.attempt) return v;
      return { ...v, state: 'retrying', attempt: e.attempt, runAt: e.runAt, progress: null };
    case 'job.dead': {
      if (v === undefined) return undefined;
      if (isTerminal(v.state) || e.attempt < v.attempt) return v;
      const lastError: JobLastError = e.error
        ? { ...e.error, reason: e.reason }
        : { ...(v.lastError ?? { name: 'JobDead', message: e.reason }), reason: e.reason };
      return { ...v, state: 'dead', attempt: e.attempt, lastError, finishedAt: e.at, runAt: null };
    }
    case 'job.cancel-requested':
      if (v === undefined) return undefined;
      if (isTerminal(v.state) || v.cancelRequested) return v;
      return { ...v, cancelRequested: true, cancelReason: e.reason };
    case 'job.cancelled':
      if (v === undefined) return undefined;
      if (isTerminal(v.state)) return v;
      return { ...v, state: 'cancelled', cancelReason: e.reason, finishedAt: e.at, runAt: null };
  }
}
