// The Event Handler's state machine for ONE owned partition of cluster-events (docs/JOBS.md, "The
// worker's partition rules"; the rule numbers below are that section's). Pure: no sockets, timers,
// clock or randomness of its own. The shell feeds it records, local run transitions and
// acknowledgements with the current time, and carries out the actions it returns: publish records
// (events, delay, DLQ), enqueue or dequeue a local run, abort a running attempt.
//
// Per job it keeps the furthest (attempt, stage) seen in the partition, which is all rules 2-5
// need; a finished job shrinks to that and is forgotten oldest-first past `rememberedJobIdsMax`.
// Rule 7's anchors are "holds": a held offset keeps the commit below it until the publish that ends
// the job's stay here is acknowledged (`acked(token)`).

import {
  backoffDelayMs,
  type ErrorInfo,
  type FailReason,
  JOB_EVENT_SCHEMA_VERSION,
  type JobEvent,
  type JobSpec,
  jobKey,
} from '../jobs/events.js';
import { OwnerFence } from '../jobs/fence.js';
import {
  boundedError,
  boundedResult,
  clampPercent,
  type MalformedLetter,
  type OutRecord,
  progressMessageCharsMax,
  type RecordInput,
} from './records.js';

export type { OutRecord, RecordInput } from './records.js';

/** What the core wants a local run of (the pool orders these; the shell runs them). */
export interface RunRequest {
  jobId: string;
  spec: JobSpec;
  attempt: number;
  attemptLimit: number;
  redelivered: boolean;
  /** The record that started this attempt's stay (orders jobs of one ordering key). */
  anchorOffset: bigint;
}

export type CoreAction =
  /** Publish in order; when Kafka acknowledged all of them, call `acked(ackToken)`. */
  | { type: 'publish'; records: OutRecord[]; ackToken?: number }
  | { type: 'enqueue'; run: RunRequest }
  /** Drop a run that was enqueued and not started (cancelled while waiting). */
  | { type: 'dequeue'; jobId: string }
  /** Abort the running attempt's signal; the shell still reports `attemptEnded`. */
  | { type: 'abort'; jobId: string; reason: 'cancelled' };

export type AttemptOutcome =
  | { kind: 'completed'; result: unknown; durationMs: number }
  | { kind: 'failed'; error: ErrorInfo; reason: FailReason; unrecoverable: boolean };

export interface PartitionCoreOptions {
  partition: number;
  workerId: string;
  /** Where reading starts: the group's committed offset, else the log start. */
  startOffset: bigint;
  /** The partition's end when it was assigned: records below it are catch-up (rule 1). */
  catchUpEndOffset: bigint;
  /** Whether this worker has a handler for a job type (rule 4: unknown types go dead at once). */
  canRun: (type: string) => boolean;
  /** Uniform in [0, 1): the backoff's jitter. */
  random: () => number;
  /** Finished or away jobs remembered for dedup (rules 2, 3, 5). */
  rememberedJobIdsMax?: number;
  /** Serialized size above which a handler's result is replaced by a note saying so. */
  resultBytesMax?: number;
  /**
   * This owner's epoch: the offset of the owner marker it wrote here (fence.ts). Its facts carry
   * it; the catch-up ends just past it. Absent: facts carry no epoch (tests of other rules).
   */
  epoch?: bigint;
}

export const partitionCoreDefaults = { rememberedJobIdsMax: 100_000, resultBytesMax: 256 * 1024 };
type Defaulted = keyof typeof partitionCoreDefaults;

type Phase =
  | 'unknown' // only a command or fact without a spec was seen
  | 'requested' // requested, not yet created
  | 'created' // created; queued not seen
  | 'queued'
  | 'processing'
  | 'failed' // an attempt failed and its follow-up was not seen (catch-up only)
  | 'away' // retrying or delayed: parked on the delay topic
  | 'completed'
  | 'dead'
  | 'cancelled';

const TERMINAL: ReadonlySet<Phase> = new Set(['completed', 'dead', 'cancelled']);

interface JobTrack {
  id: string;
  key: string;
  spec: JobSpec | undefined;
  phase: Phase;
  /** Furthest attempt queued or started here (0: none). */
  attempt: number;
  attemptLimit: number;
  /** Furthest attempt a job.processing was seen or emitted for. */
  started: number;
  /** Highest attempt any event named, a pending retry's included (job.retrying names the next one). */
  attemptNamedMax: number;
  /** Offset of the record that started the current stay (catch-up). */
  stayOffset: bigint | undefined;
  /** The hold keeping the commit at or below this job's anchor. */
  hold: number | undefined;
  cancel: { reason: string; offset: bigint } | undefined;
  failure: { error: ErrorInfo; reason: FailReason; willRetry: boolean } | undefined;
  local: 'waiting' | 'running' | undefined;
  redelivered: boolean;
}

export interface PartitionCoreStats {
  malformed: number;
  duplicates: number;
  staleQueued: number;
  /** Jobs found unfinished without a spec to run them with (their requested/queued is before the range). */
  unrunnable: number;
  /** Facts of a former owner that landed after a newer owner's marker (ignored). */
  fenced: number;
}

export class PartitionCore {
  readonly partition: number;
  readonly catchUpEndOffset: bigint;
  private readonly o: Required<Pick<PartitionCoreOptions, Defaulted>> & PartitionCoreOptions;
  private readonly producer: string;
  private readonly epoch: number | undefined;
  /** The partition's highest owner epoch seen (one partition of fence.ts's rule). */
  private readonly fence = new OwnerFence();
  /** Set when another worker's marker follows ours: it owns the partition now. */
  private supersededBy: string | undefined;
  private next: bigint;
  private catching = true;
  /** Insertion order = least recently touched first (for forgetting). */
  private readonly jobs = new Map<string, JobTrack>();
  /** Hold id → offset held. */
  private readonly holds = new Map<number, bigint>();
  private holdSeq = 0;
  readonly stats: PartitionCoreStats = { malformed: 0, duplicates: 0, staleQueued: 0, unrunnable: 0, fenced: 0 };

  constructor(o: PartitionCoreOptions) {
    this.o = { ...partitionCoreDefaults, ...o };
    this.partition = o.partition;
    this.producer = `worker/${o.workerId}`;
    this.next = o.startOffset;
    this.catchUpEndOffset = o.catchUpEndOffset;
    this.epoch = o.epoch === undefined ? undefined : Number(o.epoch);
  }

  /**
   * The worker whose owner marker came after this core's: this worker's facts no longer count
   * here, so the shell stops acting for the partition (and claims it again if the group still
   * assigns it). Undefined while this core is the partition's newest owner.
   */
  get superseded(): string | undefined {
    return this.supersededBy;
  }

  get catchingUp(): boolean {
    return this.catching;
  }

  /** The offset of the next record this core expects. */
  get nextOffset(): bigint {
    return this.next;
  }

  get trackedJobs(): number {
    return this.jobs.size;
  }

  /** Call once after construction: ends catch-up at once when there is nothing to catch up on. */
  begin(now: number): CoreAction[] {
    return this.catching && this.next >= this.catchUpEndOffset ? this.endCatchUp(now) : [];
  }

  /** Rule 7: the lowest held anchor, else the next offset; undefined while catching up. */
  commitOffset(): bigint | undefined {
    if (this.catching) return undefined;
    let low = this.next;
    for (const offset of this.holds.values()) if (offset < low) low = offset;
    return low;
  }

  /** One record of the partition, in offset order. */
  record(offset: bigint, input: RecordInput, now: number): CoreAction[] {
    // Below nextOffset: the stream re-delivers from the committed offset after a rejoin.
    if (offset < this.next) return [];
    this.next = offset + 1n;
    const out: CoreAction[] = [];
    if (input.kind === 'own') {
      // Only live records may be skipped undecoded: a catch-up must fold every fact.
      if (this.catching) throw new Error('an undecoded record during catch-up');
      return out;
    }
    if (input.kind === 'marker') this.ownerMarker(offset, input.worker);
    else if (input.kind === 'malformed') this.deadLetterMalformed(offset, input, now, out);
    else if (input.kind === 'event') {
      if (!this.fence.admits(this.partition, input.event)) this.stats.fenced++;
      else if (this.catching) this.fold(input.event, input.key, offset);
      else this.act(input.event, input.key, offset, now, out);
    }
    if (this.catching && this.next >= this.catchUpEndOffset) out.push(...this.endCatchUp(now));
    return out;
  }

  /**
   * Rule 1, second half: act on what the catch-up found, in offset order. The shell calls it
   * itself only when the stream is known to be past the end without a record there (markers).
   */
  endCatchUp(now: number): CoreAction[] {
    if (!this.catching) return [];
    this.catching = false;
    const out: CoreAction[] = [];
    const todo = [...this.jobs.values()].filter((t) => t.cancel !== undefined || (t.stayOffset !== undefined && !TERMINAL.has(t.phase)));
    const firstOffset = (t: JobTrack): bigint => t.stayOffset ?? t.cancel?.offset ?? 0n;
    todo.sort((a, b) => (firstOffset(a) < firstOffset(b) ? -1 : firstOffset(a) > firstOffset(b) ? 1 : 0));
    for (const t of todo) {
      if (t.cancel && !TERMINAL.has(t.phase)) {
        this.cancelNow(t, t.stayOffset !== undefined && t.stayOffset < t.cancel.offset ? t.stayOffset : t.cancel.offset, now, out);
        continue;
      }
      if (TERMINAL.has(t.phase)) continue;
      const anchor = t.stayOffset as bigint;
      if (t.spec === undefined) {
        if (t.phase !== 'away' && t.phase !== 'unknown') this.stats.unrunnable++;
        continue;
      }
      switch (t.phase) {
        case 'requested':
          this.accept(t, anchor, now, out);
          break;
        case 'created':
          // A delayed job's delay record went out with its job.created (one produce request).
          if (isDue(t.spec, now)) this.queueLocally(t, 1, t.spec.attemptsMax, anchor, false, now, out, true);
          else t.phase = 'away';
          break;
        case 'queued':
        case 'processing':
          this.queueLocally(t, t.attempt, t.attemptLimit, anchor, true, now, out, false);
          break;
        case 'failed': {
          const f = t.failure as NonNullable<JobTrack['failure']>;
          t.hold = this.hold(anchor);
          // Not retrying with attempts left means the handler said it was unrecoverable.
          const unrecoverable = !f.willRetry && t.attempt < t.attemptLimit;
          this.finishFailure(t, t.attempt, f.error, f.willRetry, f.reason, now, out, false, unrecoverable);
          break;
        }
      }
    }
    this.forgetExcess();
    return out;
  }

  /** The pool started a run this core enqueued (after any global gate): job.processing. */
  attemptStarted(jobId: string, attempt: number, now: number): CoreAction[] {
    const t = this.jobs.get(jobId);
    if (t?.local !== 'waiting' || t.attempt !== attempt) return [];
    t.local = 'running';
    t.started = attempt;
    t.phase = 'processing';
    const redelivered = t.redelivered;
    return [this.emit(t, { ...this.envelope(t.id, now), type: 'job.processing', attempt, worker: this.o.workerId, redelivered })];
  }

  progress(jobId: string, attempt: number, percent: number, message: string | undefined, now: number): CoreAction[] {
    const t = this.jobs.get(jobId);
    if (t?.local !== 'running' || t.attempt !== attempt) return [];
    const ev: Extract<JobEvent, { type: 'job.progress' }> = {
      ...this.envelope(t.id, now),
      type: 'job.progress',
      attempt,
      percent: clampPercent(percent),
    };
    if (message !== undefined) ev.message = message.slice(0, progressMessageCharsMax);
    return [this.emit(t, ev)];
  }

  /** Rules 4 and 5: the handler settled (or was given up on after an abort). */
  attemptEnded(jobId: string, attempt: number, outcome: AttemptOutcome, now: number): CoreAction[] {
    const t = this.jobs.get(jobId);
    if (t?.local !== 'running' || t.attempt !== attempt) return [];
    t.local = undefined;
    const out: CoreAction[] = [];
    if (t.cancel) {
      this.cancelNow(t, undefined, now, out);
      return out;
    }
    if (outcome.kind === 'completed') {
      t.phase = 'completed';
      const result = boundedResult(outcome.result, this.o.resultBytesMax);
      const durationMs = Math.max(0, Math.round(outcome.durationMs));
      out.push(this.emit(t, { ...this.envelope(t.id, now), type: 'job.completed', attempt, result, durationMs }, t.hold));
      return out;
    }
    const willRetry = !outcome.unrecoverable && attempt < t.attemptLimit;
    this.finishFailure(t, attempt, boundedError(outcome.error), willRetry, outcome.reason, now, out, true, outcome.unrecoverable);
    return out;
  }

  /** Kafka acknowledged the publish that carried `token`: its anchor no longer holds the commit. */
  acked(token: number): void {
    this.holds.delete(token);
  }

  /** A worker took the partition at `offset` (fence.ts); a marker after our own means we lost it. */
  private ownerMarker(offset: bigint, worker: string): void {
    this.fence.marker(this.partition, Number(offset));
    if (this.epoch !== undefined && Number(offset) > this.epoch) this.supersededBy = worker;
  }

  // --- catch-up: build state only (rule 1) ---

  private fold(e: JobEvent, recordKey: string | null, offset: bigint): void {
    let t = this.jobs.get(e.jobId);
    if (e.type === 'job.requested') {
      if (t) {
        this.stats.duplicates++;
        return;
      }
      t = this.track(e.jobId, jobKey(e.spec), e.spec);
      t.phase = 'requested';
      t.stayOffset = offset;
      t.attemptNamedMax = 1; // its first attempt, perhaps parked on the delay topic
      return;
    }
    if (!t) {
      // First seen mid-stay: its anchor is at least here (conservative).
      t = this.track(e.jobId, keyOf(e, recordKey), undefined);
      t.stayOffset = offset;
    }
    if (e.type === 'job.queued') {
      if (this.queuedIsStale(t, e.attempt) || this.orphanParked(t, e)) return;
      const inStay = t.phase === 'requested' || t.phase === 'created';
      this.adoptQueued(t, e);
      if (!inStay || t.stayOffset === undefined) t.stayOffset = offset;
      return;
    }
    if (e.type === 'job.cancel-requested') {
      if (!TERMINAL.has(t.phase)) t.cancel ??= { reason: e.reason, offset };
      return;
    }
    this.applyFact(t, e);
  }

  /** A fact (another worker's, or any during catch-up) moves the job's furthest stage. */
  private applyFact(t: JobTrack, e: JobEvent): void {
    if (e.type === 'job.cancelled') {
      t.phase = 'cancelled';
      t.cancel = undefined;
      return;
    }
    if (e.type === 'job.created') {
      t.spec ??= e.spec;
      if (t.phase === 'requested' || t.phase === 'unknown') t.phase = 'created';
      return;
    }
    if (!('attempt' in e) || typeof e.attempt !== 'number' || e.type === 'job.progress') return;
    t.attemptNamedMax = Math.max(t.attemptNamedMax, e.attempt);
    // Stale (an earlier attempt), or a terminal job's own attempt seen again.
    if (e.attempt < t.attempt || (TERMINAL.has(t.phase) && e.attempt <= t.attempt) || t.phase === 'cancelled') return;
    if (e.type === 'job.retrying') {
      // Its attempt is the next one: the job left for the delay topic and that attempt may still be queued.
      t.attempt = Math.max(t.attempt, e.attempt - 1);
      t.phase = 'away';
      t.failure = undefined;
      return;
    }
    t.attempt = e.attempt;
    switch (e.type) {
      case 'job.processing':
        t.started = Math.max(t.started, e.attempt);
        t.phase = 'processing';
        t.failure = undefined;
        break;
      case 'job.completed':
        t.phase = 'completed';
        break;
      case 'job.failed':
        t.phase = 'failed';
        t.failure = { error: e.error, reason: e.reason, willRetry: e.willRetry };
        break;
      case 'job.dead':
        t.phase = 'dead';
        break;
    }
  }

  // --- live: act on each record (rules 2-5, 8) ---

  private act(e: JobEvent, recordKey: string | null, offset: bigint, now: number, out: CoreAction[]): void {
    const t = this.jobs.get(e.jobId);
    switch (e.type) {
      case 'job.requested': {
        if (t) {
          this.stats.duplicates++;
          return;
        }
        const nt = this.track(e.jobId, jobKey(e.spec), e.spec);
        nt.attemptNamedMax = 1;
        this.accept(nt, offset, now, out);
        this.forgetExcess();
        return;
      }
      case 'job.queued': {
        if (t !== undefined && this.orphanParked(t, e)) return;
        const qt = t ?? this.track(e.jobId, jobKey(e.spec), e.spec);
        if (this.queuedIsStale(qt, e.attempt) || qt.local !== undefined) {
          this.stats.staleQueued++;
          return;
        }
        this.adoptQueued(qt, e);
        this.queueLocally(qt, e.attempt, e.attemptLimit, offset, false, now, out, false);
        this.forgetExcess();
        return;
      }
      case 'job.cancel-requested':
        this.actOnCancel(t ?? this.track(e.jobId, keyOf(e, recordKey), undefined), e.reason, offset, now, out);
        this.forgetExcess();
        return;
      default:
        // Our own facts were applied when we emitted them.
        if (e.producer === this.producer) return;
        this.actOnForeignFact(t ?? this.track(e.jobId, keyOf(e, recordKey), undefined), e, out);
    }
  }

  /** Rule 2: a new job. Created, then queued and enqueued at once, or parked until its runAt. */
  private accept(t: JobTrack, anchor: bigint, now: number, out: CoreAction[]): void {
    const spec = t.spec as JobSpec;
    const created: JobEvent = { ...this.envelope(t.id, now), type: 'job.created', spec };
    t.attemptLimit = spec.attemptsMax;
    if (!isDue(spec, now) && this.o.canRun(spec.type)) {
      t.phase = 'away';
      t.stayOffset = undefined;
      const hold = this.hold(anchor);
      t.hold = hold;
      const delayed = this.delayRecord(t, spec, 1, spec.attemptsMax, spec.runAt as string, now);
      out.push({ type: 'publish', records: [{ topic: 'events', key: t.key, value: created }, delayed], ackToken: hold });
      return;
    }
    // One publish for both: they share a produce request, and a promise fewer per job.
    this.queueLocally(t, 1, spec.attemptsMax, anchor, false, now, out, true, [{ topic: 'events', key: t.key, value: created }]);
  }

  /**
   * Rule 3 (and 1): run attempt `attempt` here. `emitQueued` when this worker itself queues it
   * (the echo is then stale by rule 3). Rule 4: a type without a handler goes dead at once.
   */
  private queueLocally(
    t: JobTrack,
    attempt: number,
    attemptLimit: number,
    anchor: bigint,
    redelivered: boolean,
    now: number,
    out: CoreAction[],
    emitQueued: boolean,
    /** Records published in the same action, before the job.queued (the job.created of rule 2). */
    before: OutRecord[] = [],
  ): void {
    const spec = t.spec as JobSpec;
    t.attempt = attempt;
    t.attemptLimit = attemptLimit;
    t.stayOffset = anchor;
    t.hold = this.hold(anchor);
    const records = before;
    if (emitQueued) {
      const queued: JobEvent = { ...this.envelope(t.id, now), type: 'job.queued', spec, attempt, attemptLimit };
      records.push({ topic: 'events', key: t.key, value: queued });
    }
    if (records.length > 0) out.push({ type: 'publish', records });
    if (!this.o.canRun(spec.type)) {
      const message = `no handler for job type ${spec.type} on worker ${this.o.workerId}`;
      const error: ErrorInfo = { name: 'UnknownJobTypeError', message };
      this.finishFailure(t, attempt, error, false, 'unknown-type', now, out, true, true);
      return;
    }
    t.phase = 'queued';
    t.local = 'waiting';
    t.redelivered = redelivered;
    out.push({ type: 'enqueue', run: { jobId: t.id, spec, attempt, attemptLimit, redelivered, anchorOffset: anchor } });
  }

  /** Rule 4's failure path: failed, then retrying + delay record, or dead + DLQ record. */
  private finishFailure(
    t: JobTrack,
    attempt: number,
    error: ErrorInfo,
    willRetry: boolean,
    reason: FailReason,
    now: number,
    out: CoreAction[],
    emitFailed: boolean,
    unrecoverable = false,
  ): void {
    const spec = t.spec as JobSpec;
    const records: OutRecord[] = [];
    if (emitFailed) {
      const failed: JobEvent = { ...this.envelope(t.id, now), type: 'job.failed', attempt, error, reason, willRetry };
      records.push({ topic: 'events', key: t.key, value: failed });
    }
    t.failure = undefined;
    if (willRetry) {
      const nextAttempt = attempt + 1;
      const runAt = new Date(now + backoffDelayMs(spec.backoff, nextAttempt, this.o.random())).toISOString();
      const retrying: JobEvent = { ...this.envelope(t.id, now), type: 'job.retrying', attempt: nextAttempt, runAt };
      t.attemptNamedMax = Math.max(t.attemptNamedMax, nextAttempt);
      records.push({ topic: 'events', key: t.key, value: retrying });
      records.push(this.delayRecord(t, spec, nextAttempt, t.attemptLimit, runAt, now));
      t.phase = 'away';
    } else {
      const deadReason = reason === 'unknown-type' ? 'unknown-type' : unrecoverable ? error.message : 'attempts-exhausted';
      const dead = { ...this.envelope(t.id, now), type: 'job.dead' as const, attempt, reason: deadReason, error };
      records.push({ topic: 'events', key: t.key, value: dead });
      // The letter repeats the fact's epoch: a fenced owner's letter is told apart where it is read (fence.ts deadLetterCounts).
      records.push({ topic: 'dlq', key: t.key, value: { ...dead, spec, partition: this.partition } });
      t.phase = 'dead';
    }
    t.stayOffset = undefined;
    out.push({ type: 'publish', records, ackToken: t.hold });
  }

  /** Rule 5. */
  private actOnCancel(t: JobTrack, reason: string, offset: bigint, now: number, out: CoreAction[]): void {
    if (TERMINAL.has(t.phase)) return;
    if (t.local === 'running') {
      t.cancel ??= { reason, offset };
      out.push({ type: 'abort', jobId: t.id, reason: 'cancelled' });
      return;
    }
    t.cancel = { reason, offset };
    if (t.local === 'waiting') {
      t.local = undefined;
      out.push({ type: 'dequeue', jobId: t.id });
      this.cancelNow(t, undefined, now, out);
      return;
    }
    this.cancelNow(t, offset, now, out);
  }

  /** Emits job.cancelled; holds `anchor` (or the job's own hold) until it is acknowledged. */
  private cancelNow(t: JobTrack, anchor: bigint | undefined, now: number, out: CoreAction[]): void {
    const reason = t.cancel?.reason ?? 'cancelled';
    const ev: Extract<JobEvent, { type: 'job.cancelled' }> = { ...this.envelope(t.id, now), type: 'job.cancelled', reason };
    if (t.started > 0) ev.attempt = t.started;
    if (anchor !== undefined) t.hold = this.hold(anchor);
    t.phase = 'cancelled';
    t.cancel = undefined;
    t.stayOffset = undefined;
    out.push(this.emit(t, ev, t.hold));
  }

  /**
   * Another worker's fact (a previous owner's late event): fold it unless this worker runs the
   * job; a terminal fact for a job still waiting here drops the local copy.
   */
  private actOnForeignFact(t: JobTrack, e: JobEvent, out: CoreAction[]): void {
    if (t.local === 'running') return;
    if (t.local === 'waiting') {
      const ends = e.type === 'job.completed' || e.type === 'job.dead' || e.type === 'job.cancelled';
      if (!ends || ('attempt' in e && e.attempt !== undefined && e.attempt < t.attempt)) return;
      t.local = undefined;
      out.push({ type: 'dequeue', jobId: t.id });
      if (t.hold !== undefined) this.holds.delete(t.hold);
    }
    this.applyFact(t, e);
  }

  private deadLetterMalformed(offset: bigint, input: Extract<RecordInput, { kind: 'malformed' }>, now: number, out: CoreAction[]): void {
    this.stats.malformed++;
    const letter: MalformedLetter = {
      v: JOB_EVENT_SCHEMA_VERSION,
      type: 'record.malformed',
      reason: input.reason,
      partition: this.partition,
      offset: offset.toString(),
      key: input.key,
      valueBase64: input.value === null ? null : input.value.toString('base64'),
      at: new Date(now).toISOString(),
      producer: this.producer,
    };
    out.push({
      type: 'publish',
      records: [{ topic: 'dlq', key: input.key ?? `partition-${this.partition}`, value: letter }],
      ackToken: this.hold(offset),
    });
  }

  // --- helpers ---

  private queuedIsStale(t: JobTrack, attempt: number): boolean {
    // Rule 5: a cancelled job's pending run falling due (an attempt some event already named) is
    // dropped while remembered; a higher attempt is a user's retry or redrive, a new run.
    return (t.phase === 'cancelled' && attempt <= t.attemptNamedMax) || attempt <= t.attempt || attempt <= t.started;
  }

  /**
   * A parked run falling due for an attempt no counted fact named: the job.retrying that parked
   * it was a fenced owner's (docs/JOBS.md "Partition ownership and fencing"). Not run.
   */
  private orphanParked(t: JobTrack, e: Extract<JobEvent, { type: 'job.queued' }>): boolean {
    if (e.parked !== true || e.attempt <= t.attemptNamedMax) return false;
    this.stats.fenced++;
    return true;
  }

  private adoptQueued(t: JobTrack, e: Extract<JobEvent, { type: 'job.queued' }>): void {
    t.spec = e.spec;
    t.key = jobKey(e.spec);
    t.attempt = e.attempt;
    t.attemptNamedMax = Math.max(t.attemptNamedMax, e.attempt);
    t.attemptLimit = e.attemptLimit;
    t.phase = 'queued';
    t.failure = undefined;
  }

  private track(id: string, key: string, spec: JobSpec | undefined): JobTrack {
    const none = { stayOffset: undefined, hold: undefined, cancel: undefined, failure: undefined, local: undefined };
    const t: JobTrack = {
      id,
      key,
      spec,
      phase: 'unknown',
      attempt: 0,
      attemptLimit: spec?.attemptsMax ?? 0,
      started: 0,
      attemptNamedMax: 0,
      redelivered: false,
      ...none,
    };
    this.jobs.set(id, t);
    return t;
  }

  private hold(offset: bigint): number {
    const id = ++this.holdSeq;
    this.holds.set(id, offset);
    return id;
  }

  /** Forget the least recently seen jobs past the bound; never one this worker still acts for. */
  private forgetExcess(): void {
    let budget = this.jobs.size; // each entry is looked at once at most
    while (this.jobs.size > this.o.rememberedJobIdsMax && budget-- > 0) {
      const [id, t] = this.jobs.entries().next().value as [string, JobTrack];
      this.jobs.delete(id);
      if (t.local !== undefined || (t.hold !== undefined && this.holds.has(t.hold))) this.jobs.set(id, t); // active: to the back
    }
  }

  /** Publishes one event of the job's (acknowledged to `ackToken` when given). */
  private emit(t: JobTrack, value: JobEvent, ackToken?: number): CoreAction {
    const records: OutRecord[] = [{ topic: 'events', key: t.key, value }];
    return ackToken === undefined ? { type: 'publish', records } : { type: 'publish', records, ackToken };
  }

  /** A fact's envelope: stamped with this owner's epoch (fence.ts). */
  private envelope(jobId: string, now: number): { v: number; jobId: string; at: string; producer: string; epoch?: number } {
    const base = { v: JOB_EVENT_SCHEMA_VERSION, jobId, at: isoAt(now), producer: this.producer };
    return this.epoch === undefined ? base : { ...base, epoch: this.epoch };
  }

  private delayRecord(t: JobTrack, spec: JobSpec, attempt: number, attemptLimit: number, dueAt: string, now: number): OutRecord {
    // A command the scheduler publishes when due, maybe under a later owner: no epoch, never fenced;
    // `parked`: it runs only if the fact that parked it counted (orphanParked).
    const next = {
      v: JOB_EVENT_SCHEMA_VERSION,
      jobId: t.id,
      at: isoAt(now),
      producer: this.producer,
      type: 'job.queued' as const,
      spec,
      attempt,
      attemptLimit,
      parked: true as const,
    };
    t.attemptNamedMax = Math.max(t.attemptNamedMax, attempt);
    return { topic: 'delay', key: t.key, value: { v: JOB_EVENT_SCHEMA_VERSION, type: 'job.delayed', jobId: t.id, dueAt, next } };
  }
}

let isoCache = { ms: Number.NaN, iso: '' };
/** ISO text of a time; the last one is kept, since a burst of events shares the shell's `now`. */
function isoAt(ms: number): string {
  if (ms !== isoCache.ms) isoCache = { ms, iso: new Date(ms).toISOString() };
  return isoCache.iso;
}

function isDue(spec: JobSpec, now: number): boolean {
  if (spec.runAt === undefined) return true;
  const t = Date.parse(spec.runAt);
  return !Number.isFinite(t) || t <= now;
}

function keyOf(e: JobEvent, recordKey: string | null): string {
  if ('spec' in e) return jobKey(e.spec);
  return recordKey ?? e.jobId;
}
