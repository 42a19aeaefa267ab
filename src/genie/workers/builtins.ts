// The handler contract and the demo job types every worker can run: sleep, echo, fail, http, cpu.
// A handler gets the job and a context with the attempt's AbortSignal (cancel, timeout, rebalance,
// shutdown), a progress reporter and a logger; what it returns is the job's result, what it throws
// fails the attempt (retried with backoff unless it is an UnrecoverableError).

import { setTimeout as sleepFor } from 'node:timers/promises';
import type { JobSpec } from '../jobs/events.js';
import type { Logger } from '../../util/log.js';

export interface JobInfo {
  id: string;
  type: string;
  payload: unknown;
  attempt: number;
  attemptLimit: number;
  /** This attempt may have run before (a crash or rebalance re-delivered it). */
  redelivered: boolean;
  spec: JobSpec;
}

export interface JobContext {
  signal: AbortSignal;
  /** Reports 0-100 progress; cheap to call often (the worker sends the latest). */
  progress(percent: number, message?: string): void;
  log: Logger;
}

export type JobHandler = (job: JobInfo, ctx: JobContext) => Promise<unknown>;

/** Thrown by a handler: the job goes dead at once, its reason the message. */
export class UnrecoverableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnrecoverableError';
  }
}

/** The payload cannot be run, ever (failure reason `invalid-payload`). */
export class InvalidPayloadError extends UnrecoverableError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidPayloadError';
  }
}

/** An attempt's signal reason: why the worker aborted it. */
export class JobAbortedError extends Error {
  constructor(readonly reason: 'cancelled' | 'timeout' | 'rebalance' | 'shutdown') {
    super(`job ${reason === 'timeout' ? 'timed out' : `aborted (${reason})`}`);
    this.name = 'JobAbortedError';
  }
}

export const builtinLimits = {
  /** Longest `sleep` and `cpu` job; a job's own timeoutMs is bounded separately. */
  durationMsMax: 24 * 3600_000,
  /** Response body kept in an `http` job's result. */
  httpBodyCharsMax: 64 * 1024,
  httpTimeoutMsDefault: 30_000,
  /** A busy loop yields this often so heartbeats and other jobs keep going. */
  cpuSliceMs: 10,
};

function record(payload: unknown): Record<string, unknown> {
  if (payload === null || payload === undefined) return {};
  if (typeof payload !== 'object' || Array.isArray(payload)) throw new InvalidPayloadError('payload must be a JSON object');
  return payload as Record<string, unknown>;
}

function durationMs(payload: unknown, field: string): number {
  const v = record(payload)[field];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > builtinLimits.durationMsMax) {
    throw new InvalidPayloadError(`payload.${field} must be a number of milliseconds from 0 to ${builtinLimits.durationMsMax}`);
  }
  return v;
}

/** `{ms}`: waits, reporting progress; an abort ends it at once. */
const sleep: JobHandler = async (job, ctx) => {
  const ms = durationMs(job.payload, 'ms');
  const steps = ms >= 1000 ? 4 : 1;
  for (let i = 1; i <= steps; i++) {
    try {
      await sleepFor(ms / steps, undefined, { signal: ctx.signal });
    } catch (e) {
      throw ctx.signal.aborted ? ctx.signal.reason : e; // the abort's own reason, not a generic AbortError
    }
    if (steps > 1) ctx.progress((100 * i) / steps);
  }
  return { sleptMs: ms };
};

/** Returns its payload. */
const echo: JobHandler = async (job) => job.payload;

/**
 * `{message?, unrecoverable?, untilAttempt?}`: throws; with `untilAttempt`, only on attempts before
 * it (a flaky job that a retry or a redrive gets through), returning `{attempt}` from then on.
 */
const fail: JobHandler = async (job) => {
  const p = record(job.payload);
  if (typeof p.untilAttempt === 'number' && job.attempt >= p.untilAttempt) return { attempt: job.attempt };
  const message = typeof p.message === 'string' ? p.message : 'fail job failed as asked';
  if (p.unrecoverable === true) throw new UnrecoverableError(message);
  throw new Error(message);
};

/** `{url, method?, body?, timeoutMs?, headers?}`: an HTTP(S) request; a non-2xx status throws. */
const http: JobHandler = async (job, ctx) => {
  const p = record(job.payload);
  if (typeof p.url !== 'string') throw new InvalidPayloadError('payload.url must be a string');
  let url: URL;
  try {
    url = new URL(p.url);
  } catch {
    throw new InvalidPayloadError(`payload.url is not a URL: ${p.url}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidPayloadError('payload.url must be http or https');
  const method = typeof p.method === 'string' ? p.method.toUpperCase() : 'GET';
  const timeoutMs = p.timeoutMs === undefined ? builtinLimits.httpTimeoutMsDefault : durationMs(p, 'timeoutMs');
  const headers: Record<string, string> = {};
  if (p.headers !== undefined) {
    for (const [k, v] of Object.entries(record(p.headers))) headers[k] = String(v);
  }
  let body: string | undefined;
  if (p.body !== undefined) {
    body = typeof p.body === 'string' ? p.body : JSON.stringify(p.body);
    if (typeof p.body !== 'string') headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, { method, headers, body, signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]) });
  const text = await res.text();
  const kept = text.length > builtinLimits.httpBodyCharsMax ? text.slice(0, builtinLimits.httpBodyCharsMax) : text;
  if (!res.ok) throw new Error(`${method} ${url.href} answered ${res.status} ${res.statusText}: ${kept.slice(0, 500)}`);
  return { status: res.status, body: kept, truncated: kept.length < text.length };
};

/** `{ms}`: keeps a core busy for ms (benchmarks), in slices so the event loop still turns. */
const cpu: JobHandler = async (job, ctx) => {
  const ms = durationMs(job.payload, 'ms');
  const end = performance.now() + ms;
  let spins = 0;
  while (performance.now() < end) {
    ctx.signal.throwIfAborted();
    const sliceEnd = Math.min(end, performance.now() + builtinLimits.cpuSliceMs);
    while (performance.now() < sliceEnd) spins++;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { busyMs: ms, spins };
};

export const builtinHandlers: Readonly<Record<string, JobHandler>> = { sleep, echo, fail, http, cpu };
