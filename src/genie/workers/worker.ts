// `clustergenie worker`'s engine: a member of the Event Handler consumer group that runs a local
// pool of job handlers. The I/O shell around the pure parts: a PartitionCore per owned partition
// (docs/JOBS.md rules 1-8), the JobPool (rule 6) and the autoscaler. It reaches Kafka only through
// @platformatic/kafka (Consumer) and the Publisher, so it runs against Apache Kafka unchanged.
//
// Rebalances are eager: on every join the partitions it lost are dropped (their jobs aborted with
// reason `rebalance`, no events: the new owner runs them again) and each new one is claimed with an
// owner marker (ownership.ts; docs/JOBS.md "Partition ownership and fencing") and gets a core that
// first catches up to that marker. Offsets are committed by hand: the lowest anchor a core still
// holds (rule 7).

import { Consumer, type ConsumerGroupJoinPayload, ListOffsetTimestamps, type Message, type MessagesStream } from '@platformatic/kafka';
import { hostname } from 'node:os';
import { GroupConsumer } from '../groupConsumer.js';
import { clientBase, type KafkaEndpoint, Publisher } from '../kafka.js';
import { JOB_EVENT_SCHEMA_VERSION, JOB_HEADERS, JOB_TOPICS, type WorkerScaledEvent } from '../jobs/events.js';
import { type Logger, silentLogger } from '../../util/log.js';
import { type AutoscalePolicy, autoscaleDefaults, decideConcurrency } from './autoscale.js';
import { Attempt } from './attempt.js';
import type { JobHandler } from './builtins.js';
import { openGate, type TypeGate } from './gate.js';
import { Outbox } from './outbox.js';
import { OwnerClaims } from './ownership.js';
import { countRecord, encodeWorkerScaled, type OutRecord, type RecordInput, toRecordInput, type WorkerCounters } from './records.js';
import { type CoreAction, PartitionCore, type RunRequest } from './partitionCore.js';
import { JobPool, type PoolItem, poolDefaults } from './pool.js';
import { observeAttempt, type WorkerMetrics } from './metrics.js';

export { type JobContext, type JobHandler, type JobInfo, UnrecoverableError } from './builtins.js';
export type { WorkerCounters } from './records.js';

export interface WorkerActivity {
  running: number;
  capacity: number;
  queued: number;
}

export interface WorkerOptions {
  kafka: KafkaEndpoint;
  groupId?: string;
  /** Unique per process; names it in events (`worker/<id>`) and in ZooKeeper. */
  workerId?: string;
  concurrency?: { min?: number; max?: number; initial?: number };
  handlers?: ReadonlyMap<string, JobHandler> | Readonly<Record<string, JobHandler>>;
  /** A global cap per job type (ZooKeeper semaphore); default: none. */
  gate?: TypeGate;
  /** Called (at most every commitIntervalMs) when running, capacity or queued changed. */
  onActivity?: (info: WorkerActivity) => void;
  /** The consumer failed in a way the worker cannot recover from; default: logged. */
  onError?: (error: Error) => void;
  logger?: Logger;
  queuedJobsMax?: number;
  priorityAgingMs?: number;
  rememberedJobIdsMax?: number;
  commitIntervalMs?: number;
  /** close() lets running jobs finish this long before aborting them (they are re-delivered). */
  closeGraceMs?: number;
  /** After an abort, how long a handler may take to settle before the worker moves on without it. */
  abortGraceMs?: number;
  /** false: fixed concurrency (initial). */
  autoscale?: Partial<AutoscalePolicy> | false;
  autoscaleIntervalMs?: number;
  lagIntervalMs?: number;
  group?: { sessionTimeoutMs?: number; heartbeatIntervalMs?: number; rebalanceTimeoutMs?: number };
  /** Uniform in [0, 1) (backoff jitter); tests pass their own. */
  random?: () => number;
  /** Prometheus metrics to keep (metrics.ts); one WorkerMetrics per worker. */
  metrics?: WorkerMetrics;
}

export const workerDefaults = {
  groupId: 'clustergenie-workers',
  concurrency: { min: 1, max: 16, initial: 4 },
  commitIntervalMs: 200,
  closeGraceMs: 10_000,
  abortGraceMs: 5000,
  autoscaleIntervalMs: 1000,
  lagIntervalMs: 1000,
  group: { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000, rebalanceTimeoutMs: 30_000 },
  /** Events accepted by the Publisher and not acknowledged, above which fetching pauses. */
  publishPendingHigh: 10_000,
  /** close() waits this long for the last events to be acknowledged. */
  publishDrainMs: 10_000,
  fetchMaxWaitMs: 500,
};

interface PoolJob extends PoolItem {
  partition: number;
  core: PartitionCore;
  run: RunRequest;
}

interface LocalRun {
  job: PoolJob;
  attempt: Attempt;
}

type StreamMessage = Message<string, Buffer, Buffer, Buffer>;

const TOPIC = JOB_TOPICS.events;
const PRODUCER_HEADER = Buffer.from(JOB_HEADERS.producer);
const EVENT_TYPE_HEADER = Buffer.from(JOB_HEADERS.eventType);
/** Facts a worker publishes about the jobs it runs (not job.queued: see ownFact). */
const OWN_FACT_TYPES = (
  ['job.created', 'job.processing', 'job.progress', 'job.completed', 'job.failed', 'job.retrying', 'job.dead', 'job.cancelled'] as const
).map((t) => Buffer.from(t));
const OWN_RECORD: RecordInput = { kind: 'own' };
const runKey = (partition: number, jobId: string): string => `${partition}/${jobId}`;

export class Worker {
  readonly id: string;
  readonly groupId: string;
  readonly counters: WorkerCounters = {
    completed: 0,
    failed: 0,
    retried: 0,
    dead: 0,
    cancelled: 0,
    malformed: 0,
    redelivered: 0,
    scaled: 0,
  };
  private readonly o: WorkerOptions;
  /** `worker/<id>` as the producer header carries it. */
  private readonly producerBytes: Buffer;
  private readonly log: Logger;
  private readonly handlers = new Map<string, JobHandler>();
  private readonly gate: TypeGate;
  private readonly pool: JobPool<PoolJob>;
  private readonly bounds: { min: number; max: number };
  private readonly policy: AutoscalePolicy | undefined;
  private readonly cores = new Map<number, PartitionCore>();
  private readonly lastCommitted = new Map<number, bigint>();
  private readonly runs = new Map<string, LocalRun>();
  private readonly pauseReasons = new Set<'setup' | 'full' | 'closing'>();
  private group: GroupConsumer<string, Buffer, Buffer, Buffer> | undefined;
  private consumer: Consumer<string, Buffer, Buffer, Buffer> | undefined;
  private stream: MessagesStream<string, Buffer, Buffer, Buffer> | undefined;
  private publisher: Publisher | undefined;
  private outbox: Outbox | undefined;
  private claims: OwnerClaims | undefined;
  /** Partitions another worker's marker took from this one (fencing), since when. */
  private readonly superseded = new Map<number, number>();
  private ticker: NodeJS.Timeout | undefined;
  private streamPaused = false;
  private generation = 0;
  /** Since the coordinator said a rebalance is under way (until the next join). */
  private rebalancingSince: number | undefined;
  /** 'offsets' events of the stream (a refresh after a join finished). */
  private offsetsEpoch = 0;
  private joinOffsetsEpoch = 0;
  private committing = false;
  private lagRecords = 0;
  private lagAt = 0;
  private lagRefreshing = false;
  private autoscaledAt = 0;
  private lastScaleAt = Number.NEGATIVE_INFINITY;
  private lastBusyAt = Date.now();
  private lastActivity = '';
  private closing = false;
  private stopped = false;
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private readyResolve: (() => void) | undefined;

  constructor(options: WorkerOptions) {
    this.o = options;
    this.id = options.workerId ?? `${hostname()}-${process.pid}`;
    this.groupId = options.groupId ?? workerDefaults.groupId;
    this.producerBytes = Buffer.from(`worker/${this.id}`);
    this.log = (options.logger ?? silentLogger).child({ worker: this.id });
    this.gate = options.gate ?? openGate;
    const c = { ...workerDefaults.concurrency, ...options.concurrency };
    if (!(c.min >= 1) || c.max < c.min || c.initial < c.min || c.initial > c.max) {
      throw new Error(`invalid concurrency: min ${c.min}, max ${c.max}, initial ${c.initial}`);
    }
    this.bounds = { min: c.min, max: c.max };
    this.policy = options.autoscale === false ? undefined : { ...autoscaleDefaults, ...options.autoscale };
    this.pool = new JobPool<PoolJob>({
      concurrency: c.initial,
      queuedJobsMax: options.queuedJobsMax ?? poolDefaults.queuedJobsMax,
      priorityAgingMs: options.priorityAgingMs ?? poolDefaults.priorityAgingMs,
    });
    const hs = options.handlers;
    if (hs) for (const [type, fn] of hs instanceof Map ? hs : Object.entries(hs)) this.handlers.set(type, fn);
    options.metrics?.bind(this, this.bounds);
  }

  /** Registers (or replaces) the handler of a job type. */
  handle(type: string, fn: JobHandler): this {
    this.handlers.set(type, fn);
    return this;
  }

  // --- metrics ---

  /** Jobs started (or waiting for the type gate) and not finished. */
  get running(): number {
    return this.pool.running;
  }
  get queued(): number {
    return this.pool.queued;
  }
  get capacity(): number {
    return this.pool.concurrency;
  }
  /** Records on owned partitions not read yet (refreshed every lagIntervalMs). */
  get lag(): number {
    return this.lagRecords;
  }
  get assignedPartitions(): number[] {
    return [...this.cores.keys()].sort((a, b) => a - b);
  }
  /** Whether every owned partition finished its catch-up. */
  get caughtUp(): boolean {
    return [...this.cores.values()].every((c) => !c.catchingUp);
  }

  /** Joins the group; resolves once the first assignment's partitions are set up. */
  start(): Promise<void> {
    this.startPromise ??= this.doStart();
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    const g = { ...workerDefaults.group, ...this.o.group };
    const ready = new Promise<void>((resolve) => {
      this.readyResolve = resolve;
    });
    const renewed = (what: string) => (err: unknown) => this.log.warn({ err }, `${what} failed; the next sends go through a new producer`);
    this.publisher = new Publisher(this.o.kafka, {}, { onProducerRenewed: renewed('a publish') });
    this.outbox = new Outbox(this.publisher, this.log);
    this.claims = new OwnerClaims(this.o.kafka, this.id, renewed('an owner-marker send'));
    this.group = new GroupConsumer<string, Buffer, Buffer, Buffer>({
      name: 'worker',
      log: this.log,
      create: () =>
        new Consumer<string, Buffer, Buffer, Buffer>({
          ...clientBase(this.o.kafka),
          groupId: this.groupId,
          deserializers: { key: (b?: Buffer) => b?.toString('utf8') },
          sessionTimeout: g.sessionTimeoutMs,
          heartbeatInterval: g.heartbeatIntervalMs,
          rebalanceTimeout: g.rebalanceTimeoutMs,
          maxWaitTime: workerDefaults.fetchMaxWaitMs,
          autocommit: false,
        }),
      consume: { topics: [TOPIC], mode: 'committed', fallbackMode: 'earliest', autocommit: false },
      hooks: {
        onConsumer: (consumer) => {
          this.consumer = consumer;
          // Registered before consume(): the first join happens inside it, before the stream exists.
          consumer.on('consumer:group:join', (p) => this.onJoin(p));
          // Eager rebalance: a partition may be handed over at the next join; start nothing new until then.
          consumer.on('consumer:group:rebalance', () => {
            this.rebalancingSince ??= Date.now();
          });
        },
        onStream: (stream) => {
          this.stream = stream;
          this.streamPaused = false;
          stream.on('offsets', () => this.offsetsEpoch++);
          this.applyPause(); // before 'data' starts the flow
          stream.on('data', (m: StreamMessage) => this.onMessage(m));
        },
        onReplaced: () => this.loseMembership(),
        onError: (e) => this.fail(e),
      },
    });
    await this.group.start();
    this.ticker = setInterval(() => this.tick(), this.o.commitIntervalMs ?? workerDefaults.commitIntervalMs);
    await ready;
    this.log.info({ partitions: this.assignedPartitions }, 'worker joined the group');
  }

  private fail(e: Error): void {
    if (this.stopped) return;
    if (this.o.onError) this.o.onError(e);
    else this.log.error({ err: e }, 'worker consumer failed');
  }

  // --- group membership ---

  private onJoin(p: ConsumerGroupJoinPayload): void {
    const gen = ++this.generation;
    this.rebalancingSince = undefined;
    this.joinOffsetsEpoch = this.offsetsEpoch;
    const assigned = new Set<number>();
    for (const a of p.assignments ?? []) if (a.topic === TOPIC) for (const x of a.partitions) assigned.add(x);
    for (const partition of [...this.cores.keys()]) if (!assigned.has(partition)) this.losePartition(partition);
    this.superseded.clear(); // the group spoke again: any partition still ours is claimed anew below
    const fresh = [...assigned].filter((x) => !this.cores.has(x));
    this.log.info({ generation: p.generationId, assigned: [...assigned], fresh }, 'partitions assigned');
    if (fresh.length === 0) {
      this.setupDone();
      return;
    }
    // No record of a new partition may be handled before its core knows where catch-up ends.
    this.pauseReasons.add('setup');
    this.applyPause();
    void this.setupCores(gen, fresh);
  }

  /**
   * The group consumer is replaced by a new member (its coordinator was lost): everything owned is
   * lost as at a rebalance that takes every partition; the new member's join claims them afresh.
   */
  private loseMembership(): void {
    this.generation++; // a setup of the old member's partitions stops
    for (const partition of [...this.cores.keys()]) this.losePartition(partition);
    this.superseded.clear();
    this.rebalancingSince = undefined;
    this.consumer = undefined;
    this.stream = undefined;
    this.streamPaused = false;
  }

  private losePartition(partition: number): void {
    this.cores.delete(partition);
    this.lastCommitted.delete(partition);
    this.pool.removeWhere((j) => j.partition === partition);
    for (const run of this.runs.values()) if (run.job.partition === partition) run.attempt.abort('rebalance');
  }

  /**
   * Another worker's owner marker followed ours: our facts no longer count there, so stop acting
   * for the partition now. The group normally says the same at its next join; if it keeps the
   * partition with us past the session timeout, tick() fails the worker (crash-only: its
   * replacement joins and claims afresh).
   */
  private stepDown(partition: number, by: string): void {
    this.log.warn({ partition, by }, 'another worker claimed this partition; stopping work on it until the group assigns it again');
    this.losePartition(partition);
    this.superseded.set(partition, Date.now());
  }

  private async setupCores(gen: number, partitions: number[]): Promise<void> {
    const consumer = this.consumer as Consumer<string, Buffer, Buffer, Buffer>;
    for (let attempt = 0; ; attempt++) {
      try {
        const which = { [TOPIC]: partitions };
        // The owner markers (fencing): each one's offset is this worker's epoch there, and the
        // catch-up reads up to and including it, so it covers every fact that counts.
        const [committed, earliest, epochs] = await Promise.all([
          consumer.listCommittedOffsets({ topics: [{ topic: TOPIC, partitions }] }),
          consumer.listOffsets({ topics: [TOPIC], partitions: which, timestamp: ListOffsetTimestamps.EARLIEST }),
          this.claim(partitions),
        ]);
        if (gen !== this.generation || this.closing) return;
        const now = Date.now();
        for (const partition of partitions) {
          const c = committed.get(TOPIC)?.[partition] ?? -1n;
          const start = c >= 0n ? c : (earliest.get(TOPIC)?.[partition] ?? 0n);
          const epoch = epochs.get(partition) as bigint;
          const core = new PartitionCore({
            partition,
            workerId: this.id,
            startOffset: start,
            catchUpEndOffset: epoch + 1n,
            epoch,
            canRun: (type) => this.handlers.has(type),
            random: this.o.random ?? Math.random,
            ...(this.o.rememberedJobIdsMax !== undefined ? { rememberedJobIdsMax: this.o.rememberedJobIdsMax } : {}),
          });
          this.cores.set(partition, core);
          if (c >= 0n) this.lastCommitted.set(partition, c);
          this.log.debug({ partition, start, epoch }, 'partition catch-up');
          void this.apply(partition, core, core.begin(now));
        }
        this.setupDone();
        return;
      } catch (e) {
        if (gen !== this.generation || this.closing) return;
        this.log.warn({ err: e, partitions }, 'cannot read the offsets of new partitions; retrying');
        await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** attempt)));
        if (gen !== this.generation || this.closing) return;
      }
    }
  }

  /** Writes the owner markers (a failed claim is retried by setupCores, on a fresh producer). */
  private claim(partitions: number[]): Promise<Map<number, bigint>> {
    return (this.claims as OwnerClaims).claim(partitions, Date.now());
  }

  private setupDone(): void {
    this.pauseReasons.delete('setup');
    this.applyPause();
    this.readyResolve?.();
    this.pump();
  }

  // --- records in ---

  private onMessage(m: StreamMessage): void {
    const core = m.topic === TOPIC ? this.cores.get(m.partition) : undefined;
    if (!core) return; // a partition lost since the fetch
    try {
      const input = !core.catchingUp && this.ownFact(m) ? OWN_RECORD : toRecordInput(m);
      void this.apply(m.partition, core, core.record(m.offset, input, Date.now()));
      if (core.superseded !== undefined) this.stepDown(m.partition, core.superseded);
    } catch (e) {
      // A bug must not stop the partition (a restart would meet the same record again).
      this.log.error({ err: e, partition: m.partition, offset: m.offset }, 'record not handled');
    }
    this.pump();
    this.applyBackpressure();
  }

  /**
   * Whether the record is a fact this worker produced (its headers say so; checked on the raw
   * bytes, before any decoding). Rules 2-5 ignore a worker's own facts; a job.queued is decoded
   * whoever produced it, since a replayed delay record's command names its first producer.
   */
  private ownFact(m: StreamMessage): boolean {
    let mine = false;
    let fact = false;
    for (const [k, v] of m.headers) {
      if (!Buffer.isBuffer(k) || !Buffer.isBuffer(v)) continue;
      if (k.equals(PRODUCER_HEADER)) mine = v.equals(this.producerBytes);
      else if (k.equals(EVENT_TYPE_HEADER)) fact = OWN_FACT_TYPES.some((t) => v.equals(t));
    }
    return mine && fact;
  }

  /** Carries out a core's actions; resolves when its publishes are acknowledged (or given up). */
  private apply(partition: number, core: PartitionCore, actions: readonly CoreAction[]): Promise<void> {
    const sends: Promise<void>[] = [];
    for (const a of actions) {
      switch (a.type) {
        case 'publish':
          sends.push(this.publish(partition, core, a.records, a.ackToken));
          break;
        case 'enqueue': {
          const { spec } = a.run;
          const item: PoolJob = { id: runKey(partition, a.run.jobId), priority: spec.priority, partition, core, run: a.run };
          if (spec.orderingKey !== undefined) item.orderingKey = spec.orderingKey;
          this.pool.enqueue(item, Date.now());
          break;
        }
        case 'dequeue': {
          const id = runKey(partition, a.jobId);
          const run = this.runs.get(id);
          if (!this.pool.remove(id) && run && !run.attempt.started) run.attempt.abort('cancelled'); // waiting for the gate
          break;
        }
        case 'abort': {
          const run = this.runs.get(runKey(partition, a.jobId));
          run?.attempt.abort('cancelled');
          break;
        }
      }
    }
    if (sends.length <= 1) return sends[0] ?? Promise.resolve();
    return Promise.all(sends).then(() => undefined);
  }

  // --- records out ---

  private publish(partition: number, core: PartitionCore, records: OutRecord[], ackToken: number | undefined): Promise<void> {
    for (const r of records) countRecord(this.counters, r);
    const owned = (): boolean => this.cores.get(partition) === core;
    return (this.outbox as Outbox).send(records, ackToken !== undefined, owned).then((sent) => {
      if (sent && ackToken !== undefined && owned()) core.acked(ackToken);
    });
  }

  // --- running jobs ---

  private pump(): void {
    if (this.closing || this.rebalancingSince !== undefined) return;
    for (let job = this.pool.next(Date.now()); job; job = this.pool.next(Date.now())) this.startRun(job);
  }

  private startRun(job: PoolJob): void {
    const { partition, core, run } = job;
    const owned = (): boolean => this.cores.get(partition) === core;
    const attempt = new Attempt(
      run,
      observeAttempt(this.o.metrics, run.spec.type, {
        gate: this.gate,
        handler: (type) => this.handlers.get(type),
        log: this.log,
        abortGraceMs: this.o.abortGraceMs ?? workerDefaults.abortGraceMs,
        owned,
        started: (now) => core.attemptStarted(run.jobId, run.attempt, now),
        ended: (outcome, now) => core.attemptEnded(run.jobId, run.attempt, outcome, now),
        progress: (percent, message, now) => core.progress(run.jobId, run.attempt, percent, message, now),
        apply: (actions) => (owned() ? this.apply(partition, core, actions) : Promise.resolve()),
      }),
    );
    this.runs.set(job.id, { job, attempt });
    void attempt
      .execute()
      .catch((e) => this.log.error({ err: e, job: run.jobId }, 'job run failed in the worker'))
      .finally(() => {
        this.runs.delete(job.id);
        this.pool.done(job.id);
        this.pump();
        this.applyBackpressure();
      });
  }

  // --- periodic work ---

  private tick(): void {
    const now = Date.now();
    const rebalanceTimeoutMs = this.o.group?.rebalanceTimeoutMs ?? workerDefaults.group.rebalanceTimeoutMs;
    if (this.rebalancingSince !== undefined && now - this.rebalancingSince > rebalanceTimeoutMs) {
      this.rebalancingSince = undefined; // no join came: do not stall forever
      this.pump();
    }
    this.endStalledCatchUps(now);
    const sessionTimeoutMs = this.o.group?.sessionTimeoutMs ?? workerDefaults.group.sessionTimeoutMs;
    for (const [partition, since] of this.superseded) {
      if (now - since <= 2 * sessionTimeoutMs) continue;
      this.superseded.clear();
      this.fail(new Error(`partition ${partition} was claimed by another worker and the group has not reassigned it; restart this worker`));
      break;
    }
    void this.commit();
    if (now - this.lagAt >= (this.o.lagIntervalMs ?? workerDefaults.lagIntervalMs)) void this.refreshLag(now);
    if (this.pool.queued > 0 || this.pool.running >= this.pool.concurrency) this.lastBusyAt = now;
    if (now - this.autoscaledAt >= (this.o.autoscaleIntervalMs ?? workerDefaults.autoscaleIntervalMs)) this.autoscale(now);
    this.applyBackpressure();
    const activity = { running: this.pool.running, capacity: this.pool.concurrency, queued: this.pool.queued };
    const text = `${activity.running}/${activity.capacity}/${activity.queued}`;
    if (text !== this.lastActivity) {
      this.lastActivity = text;
      this.o.onActivity?.(activity);
    }
  }

  /**
   * A catch-up normally ends on the record just below its end offset; when the stream is past the
   * end without one (transaction markers), the stream's own position says the range is read.
   */
  private endStalledCatchUps(now: number): void {
    const stream = this.stream;
    if (!stream || this.streamPaused || stream.readableLength > 0 || this.offsetsEpoch <= this.joinOffsetsEpoch) return;
    for (const [partition, core] of this.cores) {
      if (!core.catchingUp) continue;
      const position = stream.offsetsToFetch.get(`${TOPIC}:${partition}`);
      if (position !== undefined && position >= core.catchUpEndOffset) void this.apply(partition, core, core.endCatchUp(now));
    }
  }

  private async commit(): Promise<void> {
    const consumer = this.consumer;
    if (this.committing || !consumer || this.stopped) return;
    const offsets: { topic: string; partition: number; offset: bigint; leaderEpoch: number }[] = [];
    for (const [partition, core] of this.cores) {
      const offset = core.commitOffset();
      if (offset !== undefined && offset !== this.lastCommitted.get(partition))
        offsets.push({ topic: TOPIC, partition, offset, leaderEpoch: -1 });
    }
    if (offsets.length === 0) return;
    this.committing = true;
    try {
      await consumer.commit({ offsets });
      for (const o of offsets) if (this.cores.has(o.partition)) this.lastCommitted.set(o.partition, o.offset);
    } catch (e) {
      this.log.debug({ err: e }, 'commit failed; retrying on the next tick');
    } finally {
      this.committing = false;
    }
  }

  private async refreshLag(now: number): Promise<void> {
    if (this.lagRefreshing || !this.consumer || this.cores.size === 0) return;
    this.lagRefreshing = true;
    this.lagAt = now;
    try {
      const ends = (await this.consumer.listOffsets({ topics: [TOPIC], timestamp: ListOffsetTimestamps.LATEST })).get(TOPIC) ?? [];
      let lag = 0n;
      for (const [partition, core] of this.cores) {
        const end = ends[partition];
        if (end !== undefined && end > core.nextOffset) lag += end - core.nextOffset;
      }
      this.lagRecords = Number(lag);
    } catch (e) {
      this.log.debug({ err: e }, 'cannot read end offsets for the lag');
    } finally {
      this.lagRefreshing = false;
    }
  }

  private autoscale(now: number): void {
    this.autoscaledAt = now;
    if (!this.policy || this.closing) return;
    const from = this.pool.concurrency;
    const backlog = this.pool.queued + this.lagRecords;
    const d = decideConcurrency(
      {
        concurrency: from,
        min: this.bounds.min,
        max: this.bounds.max,
        backlog,
        oldestWaitMs: this.pool.oldestWaitMs(now),
        running: this.pool.running,
        idleMs: now - this.lastBusyAt,
        now,
        lastChangeAt: this.lastScaleAt,
      },
      this.policy,
    );
    if (!d || d.concurrency === from) return;
    this.pool.setConcurrency(d.concurrency);
    this.lastScaleAt = now;
    this.counters.scaled++;
    this.o.metrics?.scaled(from, d.concurrency);
    this.log.info({ from, to: d.concurrency, reason: d.reason }, 'concurrency changed');
    const ev: WorkerScaledEvent = {
      v: JOB_EVENT_SCHEMA_VERSION,
      type: 'worker.scaled',
      worker: this.id,
      at: new Date(now).toISOString(),
      from,
      to: d.concurrency,
      reason: d.reason,
      backlog,
    };
    this.outbox?.sendRaw(TOPIC, encodeWorkerScaled(ev));
    this.pump();
  }

  private applyBackpressure(): void {
    const publishing = (this.outbox?.pendingEvents ?? 0) > workerDefaults.publishPendingHigh;
    if (this.pool.full || publishing) this.pauseReasons.add('full');
    else this.pauseReasons.delete('full');
    this.applyPause();
  }

  private applyPause(): void {
    const stream = this.stream;
    if (!stream) return;
    const want = this.pauseReasons.size > 0;
    if (want && !this.streamPaused) stream.pause();
    else if (!want && this.streamPaused) stream.resume();
    this.streamPaused = want;
  }

  // --- shutdown ---

  /**
   * Stops fetching, lets running jobs finish for closeGraceMs, aborts the rest (re-delivered to the
   * next owner), waits for the last events to be acknowledged, commits and leaves the group.
   */
  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doClose(): Promise<void> {
    this.closing = true;
    this.readyResolve?.();
    // A start still trying to reach Kafka must not hold the close forever.
    let started = false;
    const settle = (): void => {
      started = true;
    };
    this.startPromise?.then(settle, settle);
    await until(() => started || this.startPromise === undefined, workerDefaults.publishDrainMs);
    this.pauseReasons.add('closing');
    this.applyPause();
    // Waiting jobs are not started: they keep their anchors and come back to the next owner.
    this.pool.removeWhere(() => true);
    for (const run of this.runs.values()) if (!run.attempt.started) run.attempt.abort('shutdown');
    await until(() => this.runs.size === 0, this.o.closeGraceMs ?? workerDefaults.closeGraceMs);
    for (const run of this.runs.values()) run.attempt.abort('shutdown');
    await until(() => this.runs.size === 0, (this.o.abortGraceMs ?? workerDefaults.abortGraceMs) + 1000);
    await until(() => (this.outbox?.inFlight ?? 0) === 0, workerDefaults.publishDrainMs);
    await until(() => !this.committing, 5000);
    await this.commit();
    this.stopped = true;
    this.outbox?.stop();
    clearInterval(this.ticker);
    await this.group?.close();
    await this.publisher?.close().catch((e) => this.log.debug({ err: e }, 'publisher close'));
    await this.claims?.close().catch((e) => this.log.debug({ err: e }, 'owner claims close'));
  }
}

/** Polls `cond` every 10 ms until it holds or `timeoutMs` passes. */
async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}
