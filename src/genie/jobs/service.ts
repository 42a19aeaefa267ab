// The Job Service: accepts submissions and user commands (cancel, retry, redrive) and publishes
// them to `cluster-events`, and keeps a queryable view of every job by folding all partitions of
// that topic into its store (docs/JOBS.md "Job Service view"). Any number of instances may run:
// each folds every event, client-supplied ids are made idempotent through ZooKeeper.
//
// The pure parts live elsewhere (view.ts reducer, events.ts validation); this class is the shell
// that owns the sockets, timers and clock.

import { isOwnerMarker, mayBeOwnerMarker, OwnerFence } from './fence.js';
import { Consumer, Producer, stringSerializers } from '@platformatic/kafka';
import { createLogger, type Logger } from '../../util/log.js';
import { ZooKeeperClient } from '../../zookeeper/client/client.js';
import type { LeaderElection } from '../../zookeeper/client/recipes.js';
import { clientBase, closeConsumer, ensureTopics, jobTopics, type KafkaEndpoint, PublisherPool, publisherDefaults } from '../kafka.js';
import { ResilientProducer } from '../resilientProducer.js';
import {
  decodeJobEvent,
  encodeJobEvent,
  JOB_EVENT_SCHEMA_VERSION,
  JOB_LIMITS,
  JOB_TOPICS,
  type JobEvent,
  type JobSpec,
  type JobState,
  JobValidationError,
  jobKey,
  MalformedEventError,
  newJobId,
  specFromSubmission,
} from './events.js';
import { type IdempotencyOptions, IdempotencyRegistry } from './idempotency.js';
import { JobsMetrics, type JobsMetricsOptions } from './metrics.js';
import { electSnapshotWriter, rebuildFromSnapshots, type SnapshotProducer, SnapshotWriter } from './snapshots.js';
import {
  type ConsumedRecord,
  type FoldedEvent,
  type HistoryEvent,
  type JobStats,
  JobStore,
  type ListFilters,
  type StoreOptions,
} from './store.js';
import { type ReadRecord, TopicReader, type TopicReaderOptions } from '../topicReader.js';
import { isTerminal, type JobView, specOfView } from './view.js';

export interface JobServiceOptions {
  kafka: KafkaEndpoint;
  /** ZooKeeper for idempotent client ids; without it a repeated id is caught only by this instance's view and the workers. */
  zkConnect?: string;
  /** Store directory; omitted = in memory (nothing survives a restart). */
  dataDir?: string;
  /** This instance's name (producer field `jobs-service/<instance>`, checkpoint key). */
  instance: string;
  /** When given, missing job topics are created with this many partitions (else they must exist). */
  partitions?: number;
  replicationFactor?: number;
  logger?: Logger;
  now?: () => number;
  /** Snapshots to `clustergenie.jobs` (and rebuilds from it). Default true. */
  snapshots?: boolean;
  snapshotIntervalMs?: number;
  /** How often terminal jobs past retention and old idempotency keys are pruned. */
  pruneIntervalMs?: number;
  /** Jobs pruned per sweep. */
  pruneBatchMax?: number;
  /** How long start() waits for `cluster-events` to exist. */
  topicWaitMs?: number;
  /** Open live streams per job and in all. */
  streamsPerJobMax?: number;
  streamsMax?: number;
  store?: Partial<Omit<StoreOptions, 'dataDir'>>;
  /** Producers for submissions and commands, each with one request in flight. */
  publishers?: number;
  /** Records folded per store transaction; the event loop serves requests between them. */
  foldRecordsMax?: number;
  idempotency?: Partial<IdempotencyOptions>;
  reader?: Partial<TopicReaderOptions>;
  metrics?: JobsMetricsOptions;
}

/** A client error or an unavailable dependency, with its HTTP status. */
export class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

export interface SubmitOutcome {
  /** 202 accepted (published), 200 an earlier submission of the same id. */
  status: 200 | 202;
  id: string;
  state: JobState;
  duplicate: boolean;
}

export type BatchItemOutcome = SubmitOutcome | { error: { code: string; message: string; field?: string } };

export interface RedriveRequest {
  ids?: string[];
  type?: string;
  limit?: number;
}

export interface RedriveOutcome {
  redriven: { id: string; attempt: number }[];
  skipped: { id: string; reason: string }[];
}

export type StreamListener = (folded: FoldedEvent) => void;

const REDRIVE_LIMIT_MAX = 1000;
/** Records folded per store transaction (see foldInChunks). */
const foldRecordsMaxDefault = 1000;
/**
 * Snapshots of changed jobs are published this often. Most jobs finish within seconds: a longer
 * interval snapshots each once instead of at every stage (2.1 -> 1.4 snapshot records per job in
 * the quick bench), and a new instance replays at most this much more of cluster-events.
 */
const snapshotIntervalMsDefault = 5000;
/** Producers a Job Service publishes through (see PublisherPool). */
const publishersDefault = 2;

function itemError(e: ServiceError): BatchItemOutcome {
  return { error: { code: e.code, message: e.message, ...(e.field !== undefined ? { field: e.field } : {}) } };
}
const TRACEPARENT_RE = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

export class JobService {
  readonly instance: string;
  private readonly log: Logger;
  private readonly now: () => number;
  private store: JobStore | undefined;
  private zk: ZooKeeperClient | undefined;
  private idem: IdempotencyRegistry | undefined;
  private publisher: PublisherPool | undefined;
  private consumer: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined;
  private snapshotProducer: SnapshotProducer | undefined;
  private snapshotWriter: SnapshotWriter | undefined;
  private election: LeaderElection | undefined;
  private reader: TopicReader | undefined;
  private readonly abort = new AbortController();
  private foldLoopDone: Promise<void> | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly positions = new Map<number, bigint>();
  private readonly listeners = new Map<string, Set<StreamListener>>();
  private listenerCount = 0;
  private snapshotting: Promise<unknown> | undefined;
  private pruning: Promise<unknown> | undefined;
  /** Records on the topic that are not valid job events (they are skipped). */
  malformedRecords = 0;
  /** Owner epochs per partition: which workers' facts count (fence.ts); `fence.fenced` counts the rest. */
  readonly fence = new OwnerFence();
  /** True once every partition was read up to its high watermark at least once. */
  caughtUp = false;
  private started = false;
  /** Prometheus metrics, served at GET /metrics (metrics.ts). */
  readonly metrics: JobsMetrics;

  constructor(private readonly opts: JobServiceOptions) {
    this.instance = opts.instance;
    this.log = (opts.logger ?? createLogger('jobs-service')).child({ instance: opts.instance });
    this.now = opts.now ?? Date.now;
    const byState = () => (this.abort.signal.aborted ? undefined : this.store?.stats().byState);
    this.metrics = new JobsMetrics({ byState, malformedRecords: () => this.malformedRecords }, { sinceMs: this.now(), ...opts.metrics });
  }

  private get producerName(): string {
    return `jobs-service/${this.instance}`;
  }

  private requireStore(): JobStore {
    if (!this.store) throw new ServiceError(503, 'unavailable', 'the job service is not started');
    return this.store;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const o = this.opts;
    if (o.partitions !== undefined) {
      await ensureTopics(o.kafka, jobTopics({ partitions: o.partitions, replicationFactor: o.replicationFactor ?? 1 }));
    }
    this.store = new JobStore({ ...o.store, ...(o.dataDir !== undefined ? { dataDir: o.dataDir } : {}) });
    if (o.zkConnect !== undefined) {
      const zk = new ZooKeeperClient({ connectString: o.zkConnect, sessionTimeoutMs: 15_000 });
      // Persistent znodes only: a new session after expiry loses nothing.
      zk.on('expired', () => void zk.connect().catch((e: unknown) => this.log.warn({ err: e }, 'zookeeper reconnect failed')));
      await zk.connect({ timeoutMs: 30_000 });
      this.zk = zk;
      this.idem = new IdempotencyRegistry(zk, this.instance, o.idempotency);
    }
    const renewed = (err: unknown) => this.log.warn({ err }, 'a send failed; the next ones go through a new producer');
    this.publisher = new PublisherPool(o.kafka, o.publishers ?? publishersDefault, {}, { onProducerRenewed: renewed });
    // No group is ever joined (see topicReader.ts); the id only satisfies the client's options.
    this.consumer = new Consumer({
      ...clientBase(o.kafka),
      groupId: `clustergenie-jobs-service-${this.instance}`,
      retries: 1,
      retryDelay: 100,
    });
    this.reader = new TopicReader(this.consumer, JOB_TOPICS.events, o.reader);
    await this.waitForTopic();
    if (o.snapshots !== false) {
      const make = () =>
        new Producer({
          ...clientBase(o.kafka),
          serializers: { ...stringSerializers, value: (v?: string | null) => (typeof v === 'string' ? Buffer.from(v) : undefined) },
          idempotent: true,
          acks: -1,
          autocreateTopics: false,
          // Snapshots are the largest records the service writes, and alike (see Publisher's compression).
          compression: publisherDefaults.compression,
        });
      this.snapshotProducer = new ResilientProducer(make, renewed);
      this.snapshotWriter = new SnapshotWriter(this.store, this.snapshotProducer, this.instance);
      if (this.store.isEmpty()) {
        // Without snapshots the view is rebuilt from cluster-events alone: slower, same result.
        await rebuildFromSnapshots(this.consumer, this.store, this.log, this.abort.signal).catch((e: unknown) =>
          this.log.warn({ err: e }, 'rebuilding from clustergenie.jobs failed; replaying cluster-events from the start'),
        );
      }
      // With ZooKeeper one instance writes at a time (see snapshots.ts).
      if (this.zk) this.election = await electSnapshotWriter(this.zk, this.snapshotWriter, this.instance, this.log);
      this.every(o.snapshotIntervalMs ?? snapshotIntervalMsDefault, () => this.flushSnapshots());
    }
    for (const [p, next] of this.store.nextOffsets()) this.positions.set(p, BigInt(next));
    this.fence.load(this.store.ownerEpochs());
    this.foldLoopDone = this.foldLoop();
    this.every(o.pruneIntervalMs ?? 60_000, () => this.prune());
    // New partitions are noticed at the next metadata refresh.
    this.every(30_000, () => this.reader?.markStale());
  }

  /** Whether this instance writes the snapshots now. */
  get isSnapshotWriter(): boolean {
    return this.snapshotWriter?.active ?? false;
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  private async waitForTopic(): Promise<void> {
    const deadline = this.now() + (this.opts.topicWaitMs ?? 30_000);
    for (;;) {
      try {
        await this.reader!.refresh();
        return;
      } catch (e) {
        if (this.now() > deadline) {
          throw new Error(`topic ${JOB_TOPICS.events} is not available (${(e as Error).message}); create the job topics first`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  // ---- folding cluster-events

  private async foldLoop(): Promise<void> {
    const reader = this.reader!;
    let backoffMs = 0;
    while (!this.abort.signal.aborted) {
      try {
        if (backoffMs > 0) await new Promise((r) => setTimeout(r, backoffMs));
        if (this.abort.signal.aborted) break;
        await reader.trackPartitions(this.positions);
        const r = await reader.read(this.positions);
        if (this.abort.signal.aborted) break;
        if (r.outOfRange.length > 0)
          this.log.warn({ partitions: r.outOfRange }, 'offsets out of range; reading those partitions from the earliest');
        await reader.resetOutOfRange(this.positions, r.outOfRange);
        await this.foldInChunks(r.records, r.next);
        if (!this.caughtUp && r.next.size === this.positions.size) {
          this.caughtUp = [...r.highWatermarks].every(([p, hw]) => (this.positions.get(p) ?? 0n) >= hw);
        }
        backoffMs = r.failed ? Math.min(2000, Math.max(100, backoffMs * 2)) : 0;
      } catch (e) {
        if (this.abort.signal.aborted) break;
        this.log.warn({ err: e }, 'reading cluster-events failed; retrying');
        reader.markStale();
        backoffMs = Math.min(2000, Math.max(100, backoffMs * 2));
      }
    }
  }

  /**
   * Folds a read in transactions of at most foldRecordsMax records, yielding to the event loop
   * between them: a transaction is synchronous, and a big read folded at once would hold HTTP
   * requests (submissions waiting for their 202) for as long as it takes.
   */
  private async foldInChunks(records: readonly ReadRecord[], next: ReadonlyMap<number, bigint>): Promise<void> {
    const chunkMax = this.opts.foldRecordsMax ?? foldRecordsMaxDefault;
    let from = 0;
    for (; records.length - from > chunkMax; from += chunkMax) {
      const chunk = records.slice(from, from + chunkMax);
      // Past each partition's last record in the chunk (a partition's records are in offset order).
      const reached = new Map<number, bigint>();
      for (const rec of chunk) reached.set(rec.partition, rec.offset + 1n);
      this.fold(chunk, reached);
      await new Promise((resolve) => setImmediate(resolve));
      if (this.abort.signal.aborted) return;
    }
    this.fold(from === 0 ? records : records.slice(from), next);
  }

  private fold(records: readonly { partition: number; offset: bigint; value: Buffer | null }[], next: ReadonlyMap<number, bigint>): void {
    const advanced = new Map<number, number>();
    for (const [p, o] of next) if (o !== this.positions.get(p)) advanced.set(p, Number(o));
    if (records.length === 0 && advanced.size === 0) return;
    const consumed: ConsumedRecord[] = records.map((rec) => {
      const pos = { partition: rec.partition, offset: Number(rec.offset) };
      // Decoded from text once; the same text goes into the history as the event's JSON.
      const json = rec.value === null ? null : rec.value.toString('utf8');
      try {
        const event = decodeJobEvent(json);
        if (event === null) {
          if (json !== null && mayBeOwnerMarker(json) && isOwnerMarker(JSON.parse(json))) this.fence.marker(pos.partition, pos.offset);
          return { pos, event };
        }
        // A former owner's fact after its successor's marker does not count (docs/JOBS.md).
        if (!this.fence.admits(pos.partition, event)) return { pos, event: null };
        return { pos, event, json: json as string };
      } catch (e) {
        if (!(e instanceof MalformedEventError)) throw e;
        this.malformedRecords++;
        return { pos, event: null };
      }
    });
    const folded = this.store!.applyBatch(consumed, advanced, this.fence.entries());
    for (const [p, o] of next) this.positions.set(p, o);
    this.metrics.observe(folded, this.caughtUp);
    for (const f of folded) this.emit(f);
  }

  // ---- live streams

  /** Listens to the folded events of one job; returns the unsubscribe. 503 past the limits. */
  subscribe(id: string, listener: StreamListener): () => void {
    const set = this.listeners.get(id) ?? new Set<StreamListener>();
    if (this.listenerCount >= (this.opts.streamsMax ?? 1000) || set.size >= (this.opts.streamsPerJobMax ?? 100)) {
      throw new ServiceError(503, 'too_many_streams', 'too many open streams; try again later');
    }
    set.add(listener);
    this.listeners.set(id, set);
    this.listenerCount++;
    return () => {
      if (!set.delete(listener)) return;
      this.listenerCount--;
      if (set.size === 0) this.listeners.delete(id);
    };
  }

  private emit(f: FoldedEvent): void {
    const set = this.listeners.get(f.event.jobId);
    if (!set) return;
    for (const l of [...set]) {
      try {
        l(f);
      } catch (e) {
        this.log.warn({ err: e }, 'stream listener failed');
      }
    }
  }

  // ---- submissions

  private async publish(events: { event: JobEvent; key: string }[], traceparent?: string): Promise<void> {
    const tp = traceparent !== undefined && TRACEPARENT_RE.test(traceparent) ? traceparent : undefined;
    try {
      await this.publisher!.publish(
        JOB_TOPICS.events,
        events.map((e) => encodeJobEvent(e.event, e.key, tp)),
      );
    } catch (e) {
      this.log.warn({ err: e }, 'publishing to cluster-events failed');
      throw new ServiceError(503, 'unavailable', `Kafka did not accept the events: ${(e as Error).message}`);
    }
  }

  private requestedEvent(spec: JobSpec, nowMs: number): Extract<JobEvent, { type: 'job.requested' }> {
    return {
      v: JOB_EVENT_SCHEMA_VERSION,
      type: 'job.requested',
      jobId: spec.id,
      at: new Date(nowMs).toISOString(),
      producer: this.producerName,
      spec,
      attempt: 1,
    };
  }

  /** Validates and completes a submission; throws ServiceError 400 naming the field. */
  private specOf(body: unknown, idempotencyKey: string | undefined, nowMs: number): { spec: JobSpec; clientId: boolean } {
    let submission = body;
    if (idempotencyKey !== undefined) {
      if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
        const given = (body as { id?: unknown }).id;
        if (given !== undefined && given !== idempotencyKey) {
          throw new ServiceError(400, 'invalid', 'id: differs from the Idempotency-Key header', 'id');
        }
        submission = { ...body, id: idempotencyKey };
      }
    }
    try {
      const spec = specFromSubmission(submission, nowMs, newJobId(nowMs));
      const clientId = typeof submission === 'object' && submission !== null && (submission as { id?: unknown }).id !== undefined;
      return { spec, clientId };
    } catch (e) {
      if (e instanceof JobValidationError) throw new ServiceError(400, 'invalid', e.message, e.field);
      throw e;
    }
  }

  /**
   * Decides whether a client id may be published: undefined = claimed (publish it), else the
   * answer for an earlier submission of the same id.
   */
  private async claim(id: string, nowMs: number): Promise<SubmitOutcome | undefined> {
    const store = this.requireStore();
    const known = store.getJob(id);
    if (known) return { status: 200, id, state: known.state, duplicate: true };
    if (!this.idem) return undefined;
    let r: Awaited<ReturnType<IdempotencyRegistry['claim']>>;
    try {
      r = await this.idem.claim(id, nowMs);
    } catch (e) {
      this.log.warn({ err: e }, 'idempotency claim failed');
      throw new ServiceError(503, 'unavailable', `ZooKeeper did not answer: ${(e as Error).message}`);
    }
    if (r.claimed) return undefined;
    const seen = store.getJob(id);
    if (seen) return { status: 200, id, state: seen.state, duplicate: true };
    // Claimed long ago and never seen: its publisher probably died before publishing.
    if (r.ageMs >= this.idem.orphanClaimAfterMs && (await this.idem.takeOver(id, nowMs))) return undefined;
    return { status: 200, id, state: 'created', duplicate: true };
  }

  private async release(id: string): Promise<void> {
    await this.idem?.release(id).catch((e: unknown) => this.log.warn({ err: e, id }, 'releasing an idempotency key failed'));
  }

  async submit(body: unknown, opts: { idempotencyKey?: string; traceparent?: string } = {}): Promise<SubmitOutcome> {
    const store = this.requireStore();
    const nowMs = this.now();
    const { spec, clientId } = this.specOf(body, opts.idempotencyKey, nowMs);
    if (clientId) {
      const earlier = await this.claim(spec.id, nowMs);
      if (earlier) return earlier;
    }
    const event = this.requestedEvent(spec, nowMs);
    try {
      await this.publish([{ event, key: jobKey(spec) }], opts.traceparent);
    } catch (e) {
      if (clientId) await this.release(spec.id);
      throw e;
    }
    store.applyProvisional(event);
    return { status: 202, id: spec.id, state: 'created', duplicate: false };
  }

  /** Up to JOB_LIMITS.batchJobsMax submissions published in one request; each item answered alone. */
  async submitBatch(bodies: unknown, opts: { traceparent?: string } = {}): Promise<BatchItemOutcome[]> {
    const store = this.requireStore();
    if (!Array.isArray(bodies)) throw new ServiceError(400, 'invalid', 'jobs: must be an array of job submissions', 'jobs');
    if (bodies.length === 0 || bodies.length > JOB_LIMITS.batchJobsMax) {
      throw new ServiceError(400, 'invalid', `jobs: must hold 1 to ${JOB_LIMITS.batchJobsMax} submissions`, 'jobs');
    }
    const nowMs = this.now();
    const outcomes: BatchItemOutcome[] = new Array(bodies.length);
    const toPublish: { index: number; spec: JobSpec; clientId: boolean }[] = [];
    const idsInBatch = new Set<string>();
    // Validation is synchronous; only client-supplied ids wait for ZooKeeper (generated ids are new).
    const claims: Promise<void>[] = [];
    for (const [index, body] of bodies.entries()) {
      try {
        const { spec, clientId } = this.specOf(body, undefined, nowMs);
        if (idsInBatch.has(spec.id)) {
          outcomes[index] = { status: 200, id: spec.id, state: 'created', duplicate: true };
          continue;
        }
        idsInBatch.add(spec.id);
        if (!clientId) {
          toPublish.push({ index, spec, clientId });
          continue;
        }
        claims.push(
          this.claim(spec.id, nowMs).then(
            (earlier) => {
              if (earlier) outcomes[index] = earlier;
              else toPublish.push({ index, spec, clientId });
            },
            (e: unknown) => {
              if (!(e instanceof ServiceError)) throw e;
              outcomes[index] = itemError(e);
            },
          ),
        );
      } catch (e) {
        if (!(e instanceof ServiceError)) throw e;
        outcomes[index] = itemError(e);
      }
    }
    if (claims.length > 0) await Promise.all(claims);
    toPublish.sort((a, b) => a.index - b.index);
    const events = toPublish.map((t) => ({ event: this.requestedEvent(t.spec, nowMs), key: jobKey(t.spec) }));
    if (events.length > 0) {
      try {
        await this.publish(events, opts.traceparent);
      } catch (e) {
        await Promise.all(toPublish.filter((t) => t.clientId).map((t) => this.release(t.spec.id)));
        throw e;
      }
    }
    store.applyProvisionalBatch(events.map((e) => e.event));
    for (const t of toPublish) outcomes[t.index] = { status: 202, id: t.spec.id, state: 'created', duplicate: false };
    return outcomes;
  }

  // ---- queries

  get(id: string): JobView {
    const job = this.requireStore().getJob(id);
    if (!job) throw new ServiceError(404, 'not_found', `no job ${id}`);
    return job;
  }

  list(filters: ListFilters): { jobs: JobView[]; nextCursor: string | null } {
    return this.requireStore().list(filters);
  }

  history(id: string): HistoryEvent[] {
    this.get(id);
    return this.requireStore().history(id);
  }

  stats(): JobStats & { malformedRecords: number } {
    return { ...this.requireStore().stats(), malformedRecords: this.malformedRecords };
  }

  /** The ZooKeeper session (schedules, idempotency keys), when the service was given one. */
  get zookeeper(): ZooKeeperClient | undefined {
    return this.zk;
  }

  health(): {
    ok: boolean;
    instance: string;
    caughtUp: boolean;
    zookeeper: string;
    snapshotWriter: boolean;
    offsets: Record<string, string>;
  } {
    const zookeeper = this.zk === undefined ? 'disabled' : this.zk.isConnected ? 'connected' : this.zk.state;
    return {
      ok: this.store !== undefined && !this.abort.signal.aborted,
      instance: this.instance,
      caughtUp: this.caughtUp,
      zookeeper,
      snapshotWriter: this.isSnapshotWriter,
      offsets: Object.fromEntries([...this.positions].map(([p, o]) => [String(p), String(o)])),
    };
  }

  // ---- commands

  async cancel(id: string, reason = 'cancelled by user'): Promise<{ id: string; state: JobState; cancelRequested: true }> {
    const job = this.get(id);
    if (isTerminal(job.state)) throw new ServiceError(409, 'conflict', `job ${id} is ${job.state}; only unfinished jobs can be cancelled`);
    const event: JobEvent = {
      v: JOB_EVENT_SCHEMA_VERSION,
      type: 'job.cancel-requested',
      jobId: id,
      at: new Date(this.now()).toISOString(),
      producer: this.producerName,
      reason,
    };
    await this.publish([{ event, key: jobKey({ id, orderingKey: job.orderingKey ?? undefined }) }]);
    return { id, state: job.state, cancelRequested: true };
  }

  /** job.queued for a new run of a dead or cancelled job (see docs/API.md for why not completed). */
  private requeueEvent(job: JobView, nowMs: number): { event: JobEvent; key: string; attempt: number } {
    const attempt = job.attempt + 1;
    const event: JobEvent = {
      v: JOB_EVENT_SCHEMA_VERSION,
      type: 'job.queued',
      jobId: job.id,
      at: new Date(nowMs).toISOString(),
      producer: this.producerName,
      spec: specOfView(job),
      attempt,
      attemptLimit: attempt - 1 + job.attemptsMax,
    };
    return { event, key: jobKey({ id: job.id, orderingKey: job.orderingKey ?? undefined }), attempt };
  }

  async retry(id: string): Promise<{ id: string; state: 'queued'; attempt: number }> {
    const job = this.get(id);
    if (job.state !== 'dead' && job.state !== 'cancelled') {
      throw new ServiceError(409, 'conflict', `job ${id} is ${job.state}; only dead or cancelled jobs can be retried`);
    }
    const q = this.requeueEvent(job, this.now());
    await this.publish([q]);
    return { id, state: 'queued', attempt: q.attempt };
  }

  /** Re-queues dead jobs (by ids, which may also be cancelled, or by type), up to `limit`. */
  async redrive(req: RedriveRequest): Promise<RedriveOutcome> {
    const store = this.requireStore();
    const limit = req.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > REDRIVE_LIMIT_MAX) {
      throw new ServiceError(400, 'invalid', `limit: must be an integer from 1 to ${REDRIVE_LIMIT_MAX}`, 'limit');
    }
    const out: RedriveOutcome = { redriven: [], skipped: [] };
    let jobs: JobView[];
    if (req.ids !== undefined) {
      if (req.ids.length > REDRIVE_LIMIT_MAX) throw new ServiceError(400, 'invalid', `ids: at most ${REDRIVE_LIMIT_MAX}`, 'ids');
      jobs = [];
      for (const id of req.ids.slice(0, limit)) {
        const job = store.getJob(id);
        if (!job) out.skipped.push({ id, reason: 'not found' });
        else if (job.state !== 'dead' && job.state !== 'cancelled') out.skipped.push({ id, reason: `job is ${job.state}` });
        else jobs.push(job);
      }
    } else {
      jobs = store.list({ state: ['dead'], ...(req.type !== undefined ? { type: req.type } : {}), limit }).jobs;
    }
    const nowMs = this.now();
    const events = jobs.map((j) => this.requeueEvent(j, nowMs));
    if (events.length > 0) await this.publish(events);
    for (const e of events) out.redriven.push({ id: e.event.jobId, attempt: e.attempt });
    return out;
  }

  // ---- maintenance

  private flushSnapshots(): void {
    if (this.snapshotting || !this.snapshotWriter) return;
    this.snapshotting = this.snapshotWriter
      .flush(this.now())
      .catch((e: unknown) => this.log.warn({ err: e }, 'writing snapshots failed; retrying at the next flush'))
      .finally(() => {
        this.snapshotting = undefined;
      });
  }

  private prune(): void {
    if (this.pruning) return;
    const nowMs = this.now();
    this.pruning = (async () => {
      const pruned = this.store?.pruneTerminal(nowMs, this.opts.pruneBatchMax ?? 1000) ?? [];
      if (pruned.length > 0) this.log.info({ jobs: pruned.length }, 'pruned terminal jobs past retention');
      await this.idem?.sweep(nowMs);
    })()
      .catch((e: unknown) => this.log.warn({ err: e }, 'pruning failed'))
      .finally(() => {
        this.pruning = undefined;
      });
  }

  /** Runs a prune pass now (tests, tools); resolves when it finished. */
  async pruneNow(): Promise<void> {
    this.prune();
    await this.pruning;
  }

  /** Publishes pending snapshots now (tests, shutdown). */
  async flushSnapshotsNow(): Promise<void> {
    await this.snapshotting;
    this.flushSnapshots();
    await this.snapshotting;
  }

  async close(): Promise<void> {
    if (this.abort.signal.aborted) return;
    this.abort.abort();
    for (const t of this.timers) clearInterval(t);
    await this.foldLoopDone;
    await this.snapshotting;
    await this.pruning;
    if (this.snapshotWriter)
      await this.snapshotWriter.flush(this.now()).catch((e: unknown) => this.log.warn({ err: e }, 'final snapshot failed'));
    await this.election?.stop().catch(() => undefined);
    await this.publisher?.close().catch(() => undefined);
    await this.snapshotProducer?.close().catch(() => undefined);
    await closeConsumer(this.consumer);
    await this.zk?.close().catch(() => undefined);
    this.store?.close();
    this.listeners.clear();
  }
}
