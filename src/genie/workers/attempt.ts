// One local run of a job attempt, from the pool's pick to the handler's outcome: wait for the type
// gate, report the start, arm the timeout, call the handler with an AbortSignal, coalesce its
// progress reports, and turn how it settled into an AttemptOutcome for the partition core.
//
// An aborted attempt (cancel, timeout, rebalance, shutdown) is given `abortGraceMs` to settle; a
// handler that ignores its signal is then abandoned so its slot is freed (it may still run on).

import type { ErrorInfo } from '../jobs/events.js';
import type { Logger } from '../../util/log.js';
import { InvalidPayloadError, JobAbortedError, type JobHandler, type JobInfo, UnrecoverableError } from './builtins.js';
import type { TypeGate } from './gate.js';
import type { AttemptOutcome, CoreAction, RunRequest } from './partitionCore.js';

export type AbortReason = JobAbortedError['reason'];

export interface AttemptHost {
  gate: TypeGate;
  handler(type: string): JobHandler | undefined;
  log: Logger;
  abortGraceMs: number;
  /** Whether the partition this run belongs to is still owned by the same core. */
  owned(): boolean;
  /** Carries out core actions; `started`/`ended`/`progress` give the core's answer to each step. */
  started(now: number): CoreAction[];
  ended(outcome: AttemptOutcome, now: number): CoreAction[];
  progress(percent: number, message: string | undefined, now: number): CoreAction[];
  apply(actions: CoreAction[]): Promise<void>;
}

/** How long a gate failure (not an abort) waits before asking again. */
const gateRetryMs = 1000;

export class Attempt {
  readonly controller = new AbortController();
  abortReason: AbortReason | undefined;
  /** The gate admitted it and the core was told (job.processing went out). */
  started = false;
  ended = false;
  private giveUp: (() => void) | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private pendingProgress: { percent: number; message: string | undefined } | undefined;
  private progressSending = false;

  constructor(
    readonly run: RunRequest,
    private readonly host: AttemptHost,
  ) {}

  /** Aborts the attempt's signal (the first reason wins). */
  abort(reason: AbortReason): void {
    if (this.abortReason !== undefined || this.ended) return;
    this.abortReason = reason;
    this.controller.abort(new JobAbortedError(reason));
    if (this.started) this.graceTimer = setTimeout(() => this.giveUp?.(), this.host.abortGraceMs);
  }

  /** Runs to the end; never rejects for the handler's sake. */
  async execute(): Promise<void> {
    try {
      await this.executeInner();
    } finally {
      this.ended = true;
      clearTimeout(this.graceTimer);
    }
  }

  private async executeInner(): Promise<void> {
    const { run, host } = this;
    const signal = this.controller.signal;
    let release: () => void;
    for (;;) {
      try {
        release = await host.gate.acquire(run.spec.type, signal);
        break;
      } catch (e) {
        if (signal.aborted) return; // cancelled, lost or shutting down while waiting: nothing to report
        host.log.warn({ err: e, type: run.spec.type }, 'type gate failed; asking again');
        await new Promise((r) => setTimeout(r, gateRetryMs));
        if (signal.aborted) return;
      }
    }
    try {
      if (signal.aborted || !host.owned()) return;
      this.started = true;
      void host.apply(host.started(Date.now()));
      const timer = setTimeout(() => this.abort('timeout'), run.spec.timeoutMs);
      let outcome: AttemptOutcome;
      try {
        outcome = await this.invoke();
      } finally {
        clearTimeout(timer);
        this.ended = true;
      }
      // A lost partition's or a shutdown's job is left unfinished: its held anchor brings it back.
      if (this.abortReason === 'rebalance' || this.abortReason === 'shutdown' || !host.owned()) return;
      void host.apply(host.ended(outcome, Date.now()));
    } finally {
      release();
    }
  }

  private async invoke(): Promise<AttemptOutcome> {
    const { run, host } = this;
    const handler = host.handler(run.spec.type);
    const info: JobInfo = {
      id: run.jobId,
      type: run.spec.type,
      payload: run.spec.payload,
      attempt: run.attempt,
      attemptLimit: run.attemptLimit,
      redelivered: run.redelivered,
      spec: run.spec,
    };
    const ctx = {
      signal: this.controller.signal,
      progress: (percent: number, message?: string) => this.reportProgress(percent, message),
      log: host.log.child({ job: run.jobId, attempt: run.attempt }),
    };
    const t0 = performance.now();
    const settled = (async () => {
      if (!handler) throw new UnrecoverableError(`no handler for job type ${run.spec.type}`);
      return handler(info, ctx);
    })().then(
      (result): AttemptOutcome => ({ kind: 'completed', result, durationMs: performance.now() - t0 }),
      (e): AttemptOutcome => ({
        kind: 'failed',
        error: errorInfo(e),
        reason: e instanceof InvalidPayloadError ? 'invalid-payload' : 'error',
        unrecoverable: e instanceof UnrecoverableError,
      }),
    );
    const abandoned = new Promise<AttemptOutcome>((resolve) => {
      this.giveUp = () =>
        resolve({
          kind: 'failed',
          error: { name: 'AbandonedError', message: 'the handler did not settle after its attempt was aborted' },
          reason: 'error',
          unrecoverable: false,
        });
    });
    const outcome = await Promise.race([settled, abandoned]);
    if (this.abortReason === 'timeout') {
      const error = { name: 'TimeoutError', message: `attempt ${run.attempt} timed out after ${run.spec.timeoutMs} ms` };
      return { kind: 'failed', error, reason: 'timeout', unrecoverable: false };
    }
    return outcome;
  }

  /** One progress event in flight per attempt; reports made meanwhile collapse into the latest. */
  private reportProgress(percent: number, message: string | undefined): void {
    if (this.ended || !this.started) return;
    this.pendingProgress = { percent, message };
    if (!this.progressSending) this.flushProgress();
  }

  private flushProgress(): void {
    const p = this.pendingProgress;
    this.pendingProgress = undefined;
    if (!p || this.ended || !this.host.owned()) {
      this.progressSending = false;
      return;
    }
    this.progressSending = true;
    void this.host.apply(this.host.progress(p.percent, p.message, Date.now())).finally(() => this.flushProgress());
  }
}

export function errorInfo(e: unknown): ErrorInfo {
  if (e instanceof Error) {
    const info: ErrorInfo = { name: e.name, message: e.message };
    if (e.stack !== undefined) info.stack = e.stack;
    return info;
  }
  return { name: 'Error', message: String(e) };
}
