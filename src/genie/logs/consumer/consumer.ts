// The Log Consumer's shell: a @platformatic/kafka consumer-group member reading `logs.dev`, the
// LogBatcher core, one push to Loki at a time, and manual offset commits after Loki accepted
// (or for good rejected) a batch: at-least-once. While Loki is away the head batch is retried
// with backoff forever and fetching stops once batchesQueuedMax batches wait (bounded memory).
//
// Rebalances are eager (as in the worker): partitions lost at a join stop being committed by us;
// their entries already batched are still pushed (a duplicate, never a loss).

import { Consumer, type ConsumerGroupJoinPayload, type Message, type MessagesStream } from '@platformatic/kafka';
import { type Logger, silentLogger } from '../../../util/log.js';
import { GroupConsumer } from '../../groupConsumer.js';
import { clientBase, type KafkaEndpoint } from '../../kafka.js';
import { LOGS_TOPIC } from '../logEvent.js';
import type { PushEncoding } from '../lokiPush.js';
import { type Batch, type BatcherOptions, type Commit, LogBatcher } from './batcher.js';
import type { MetricsHttpServer } from '../../../util/metricsHttp.js';
import { type LogConsumerCounters, LogConsumerStats, serveMetrics } from './metrics.js';
import { type BackoffPolicy, backoffDefaults, backoffMs, type PushOutcome, pushOnce, type PushTarget } from './push.js';
import { WakeableSleep } from '../../../util/wakeableSleep.js';

export interface LogConsumerOptions {
  kafka: KafkaEndpoint;
  groupId?: string;
  topic?: string;
  lokiUrl?: string;
  pushFormat?: PushEncoding;
  tenant?: string;
  batch?: Partial<BatcherOptions>;
  backoff?: Partial<BackoffPolicy>;
  pushTimeoutMs?: number;
  /** How often batch age and commits are looked at. */
  tickMs?: number;
  /** close() keeps pushing what was read for this long before leaving (the rest is re-read later). */
  closeDrainMs?: number;
  group?: { sessionTimeoutMs?: number; heartbeatIntervalMs?: number; rebalanceTimeoutMs?: number };
  /** Serve /metrics on this port (0: any free one) on 127.0.0.1. */
  metricsPort?: number;
  logger?: Logger;
  /** Uniform in [0, 1) for backoff jitter; tests pass their own. */
  random?: () => number;
  /** The consumer failed in a way it cannot recover from; default: logged. */
  onError?: (e: Error) => void;
  /** The push function (tests may wrap it); default: HTTP POST with fetch. */
  push?: (target: PushTarget, streams: Batch['streams']) => Promise<PushOutcome>;
}

export const logConsumerDefaults = {
  groupId: 'clustergenie-log-consumer',
  lokiUrl: 'http://127.0.0.1:3100',
  pushFormat: 'protobuf' as PushEncoding,
  pushTimeoutMs: 10_000,
  tickMs: 100,
  closeDrainMs: 10_000,
  group: { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000, rebalanceTimeoutMs: 30_000 },
  fetchMaxWaitMs: 500,
};

type StreamMessage = Message<Buffer, Buffer, Buffer, Buffer>;

export class LogConsumer {
  readonly groupId: string;
  readonly topic: string;
  private readonly o: LogConsumerOptions;
  private readonly log: Logger;
  private readonly batcher: LogBatcher;
  private readonly stats: LogConsumerStats;
  private readonly target: PushTarget;
  private readonly backoff: BackoffPolicy;
  private readonly owned = new Set<number>();
  private group: GroupConsumer<Buffer, Buffer, Buffer, Buffer> | undefined;
  private consumer: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined;
  private stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  private metricsServer: MetricsHttpServer | undefined;
  private ticker: NodeJS.Timeout | undefined;
  /** Fires when the open batch is due (batcher.dueAtMs), so a lone line is not left to the next tick. */
  private cutTimer: NodeJS.Timeout | undefined;
  private cutTimerAtMs = Number.POSITIVE_INFINITY;
  private paused = false;
  private pumping: Promise<void> | undefined;
  private committing: Promise<void> | undefined;
  /** Set while the head batch waits to be retried. */
  private retrying = false;
  /** Wakes a backoff wait early (close). */
  private readonly backoffWait = new WakeableSleep();
  /** close(): no new records; pushes continue until drainDeadline. */
  private closing = false;
  private drainDeadline = Number.POSITIVE_INFINITY;
  private stopped = false;
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;

  constructor(options: LogConsumerOptions) {
    this.o = options;
    this.groupId = options.groupId ?? logConsumerDefaults.groupId;
    this.topic = options.topic ?? LOGS_TOPIC;
    this.log = (options.logger ?? silentLogger).child({ component: 'log-consumer' });
    this.batcher = new LogBatcher(options.batch);
    this.backoff = { ...backoffDefaults, ...options.backoff };
    if (!(this.backoff.backoffMsMin > 0) || this.backoff.backoffMsMax < this.backoff.backoffMsMin) {
      throw new Error(`need 0 < backoffMsMin <= backoffMsMax (${this.backoff.backoffMsMin}, ${this.backoff.backoffMsMax})`);
    }
    const lokiUrl = options.lokiUrl ?? logConsumerDefaults.lokiUrl;
    if (!/^https?:\/\//.test(lokiUrl)) throw new Error(`the Loki URL must start with http:// or https://, not ${lokiUrl}`);
    this.target = {
      lokiUrl,
      encoding: options.pushFormat ?? logConsumerDefaults.pushFormat,
      timeoutMs: options.pushTimeoutMs ?? logConsumerDefaults.pushTimeoutMs,
      ...(options.tenant ? { tenant: options.tenant } : {}),
    };
    this.stats = new LogConsumerStats(
      () => this.batcher.bufferedEntries,
      () => (this.retrying ? 1 : 0),
    );
  }

  get counters(): LogConsumerCounters {
    return this.stats.counters;
  }
  get registry() {
    return this.stats.registry;
  }
  /** Entries read and not yet settled with Loki. */
  get bufferedEntries(): number {
    return this.batcher.bufferedEntries;
  }
  get assignedPartitions(): number[] {
    return [...this.owned].sort((a, b) => a - b);
  }
  /** The /metrics server, when metricsPort was given. */
  get metrics(): MetricsHttpServer | undefined {
    return this.metricsServer;
  }

  /** Joins the group and starts forwarding; resolves after the first assignment. */
  start(): Promise<void> {
    this.startPromise ??= this.doStart();
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    if (this.o.metricsPort !== undefined) this.metricsServer = await serveMetrics(this.stats.registry, this.o.metricsPort);
    const g = { ...logConsumerDefaults.group, ...this.o.group };
    this.group = new GroupConsumer<Buffer, Buffer, Buffer, Buffer>({
      name: 'log-consumer',
      log: this.log,
      create: () =>
        new Consumer<Buffer, Buffer, Buffer, Buffer>({
          ...clientBase(this.o.kafka),
          groupId: this.groupId,
          sessionTimeout: g.sessionTimeoutMs,
          heartbeatInterval: g.heartbeatIntervalMs,
          rebalanceTimeout: g.rebalanceTimeoutMs,
          maxWaitTime: logConsumerDefaults.fetchMaxWaitMs,
          autocommit: false,
        }),
      consume: { topics: [this.topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false },
      hooks: {
        onConsumer: (consumer) => {
          this.consumer = consumer;
          // Registered before consume(): the first join happens inside it.
          consumer.on('consumer:group:join', (p: ConsumerGroupJoinPayload) => this.onJoin(p));
        },
        onStream: (stream) => {
          this.stream = stream;
          this.paused = false;
          this.applyPause();
          stream.on('data', (m: StreamMessage) => this.onMessage(m));
        },
        // A new member of the group: nothing owned is committed through it until assigned again.
        onReplaced: () => {
          this.batcher.losePartitions([...this.owned]);
          this.owned.clear();
          this.consumer = undefined;
          this.stream = undefined;
        },
        onError: (e) => this.fail(e),
      },
    });
    await this.group.start();
    this.ticker = setInterval(() => this.tick(), this.o.tickMs ?? logConsumerDefaults.tickMs);
    this.log.info(
      { group: this.groupId, topic: this.topic, loki: this.target.lokiUrl, partitions: this.assignedPartitions },
      'log consumer started',
    );
  }

  private fail(e: Error): void {
    if (this.stopped) return;
    if (this.o.onError) this.o.onError(e);
    else this.log.error({ err: e }, 'log consumer failed');
  }

  private onJoin(p: ConsumerGroupJoinPayload): void {
    const assigned = new Set<number>();
    for (const a of p.assignments ?? []) if (a.topic === this.topic) for (const x of a.partitions) assigned.add(x);
    const lost = [...this.owned].filter((x) => !assigned.has(x));
    this.batcher.losePartitions(lost);
    this.owned.clear();
    for (const x of assigned) this.owned.add(x);
    this.log.info({ generation: p.generationId, assigned: [...assigned], lost }, 'partitions assigned');
  }

  private onMessage(m: StreamMessage): void {
    if (this.closing || m.topic !== this.topic || !this.owned.has(m.partition)) return; // lost since the fetch: the new owner reads it
    this.stats.onReceived();
    const r = this.batcher.add({ partition: m.partition, offset: m.offset, value: m.value, timestampMs: m.timestamp }, Date.now());
    if (r.kind === 'dropped') {
      this.stats.onDropped(r.reason);
      this.log.debug({ partition: m.partition, offset: m.offset, reason: r.reason }, 'record dropped');
    }
    this.applyPause();
    if (this.batcher.head) this.kick();
    this.armCut();
  }

  private tick(): void {
    if (this.stopped) return;
    if (this.batcher.tick(Date.now())) this.applyPause();
    if (this.batcher.head) this.kick();
    this.armCut();
    void this.commit();
  }

  /** (Re)arms the cut timer for when the open batch falls due; one timer, not one per record. */
  private armCut(): void {
    const due = this.batcher.dueAtMs();
    if (due === undefined || this.stopped || this.closing || due >= this.cutTimerAtMs) return;
    clearTimeout(this.cutTimer);
    this.cutTimerAtMs = due;
    this.cutTimer = setTimeout(
      () => {
        this.cutTimer = undefined;
        this.cutTimerAtMs = Number.POSITIVE_INFINITY;
        this.tick();
      },
      Math.max(0, due - Date.now()),
    );
  }

  private applyPause(): void {
    const stream = this.stream;
    if (!stream) return;
    const want = this.closing || this.batcher.full;
    if (want && !this.paused) stream.pause();
    else if (!want && this.paused) stream.resume();
    this.paused = want;
  }

  /** Starts the push loop unless it runs. */
  private kick(): void {
    if (this.pumping || this.stopped) return;
    this.pumping = this.pump()
      .catch((e: Error) => this.fail(e)) // a bug here must surface, not become an unhandled rejection
      .finally(() => {
        this.pumping = undefined;
      });
  }

  private async pump(): Promise<void> {
    for (let batch = this.batcher.head; batch && !this.stopped; batch = this.batcher.head) {
      const outcome = await this.pushUntilSettled(batch);
      if (!outcome) return; // closing and out of time: not committed, re-read by the next owner
      if (outcome.kind === 'accepted') this.stats.onPushed(batch.entries);
      else {
        this.stats.onDropped('rejected', batch.entries);
        this.log.warn({ status: outcome.status, reason: outcome.reason, entries: batch.entries }, 'Loki rejected a batch; dropped');
      }
      this.batcher.settle(batch.id);
      // With nothing queued the open batch may be due at once (it filled while this push ran).
      this.batcher.tick(Date.now());
      this.applyPause();
      this.armCut();
      void this.commit();
    }
  }

  /** Pushes until Loki accepts or rejects the batch; undefined if closing ran out of time first. */
  private async pushUntilSettled(batch: Batch): Promise<PushOutcome | undefined> {
    const push = this.o.push ?? pushOnce;
    for (let attempt = 1; ; attempt++) {
      const outcome = await push(this.target, batch.streams);
      if (outcome.kind !== 'retry') {
        if (attempt > 1) this.log.warn({ status: outcome.status, attempts: attempt }, 'Loki push went through again after retries');
        this.retrying = false;
        return outcome;
      }
      this.stats.onRetry();
      this.retrying = true;
      const waitMs = backoffMs(attempt, this.backoff, (this.o.random ?? Math.random)());
      // Quiet while it lasts: one warn on the first failure, then every tenth.
      if (attempt === 1 || attempt % 10 === 0) {
        this.log.warn({ status: outcome.status, reason: outcome.reason, attempt, waitMs }, 'Loki push failed; retrying');
      }
      if (this.stopped || Date.now() + waitMs > this.drainDeadline) return undefined;
      await this.backoffWait.sleep(waitMs);
      if (this.stopped || Date.now() >= this.drainDeadline) return undefined;
    }
  }

  private commit(): Promise<void> {
    this.committing ??= this.doCommit().finally(() => {
      this.committing = undefined;
    });
    return this.committing;
  }

  private async doCommit(): Promise<void> {
    const consumer = this.consumer;
    if (!consumer || this.stopped) return;
    const owned = (p: number): boolean => this.owned.has(p);
    const commits: Commit[] = this.batcher.takeCommits().filter((c) => owned(c.partition));
    if (commits.length === 0) return;
    try {
      await consumer.commit({
        offsets: commits.map((c) => ({ topic: this.topic, partition: c.partition, offset: c.offset, leaderEpoch: -1 })),
      });
      this.batcher.confirmCommits(commits, owned);
    } catch (e) {
      this.batcher.returnCommits(commits, owned);
      this.log.debug({ err: e }, 'commit failed; retrying on the next tick');
    }
  }

  /**
   * Stops fetching, pushes what was read for up to closeDrainMs (`drain: false`: not at all, as a
   * crash would), commits what Loki took and leaves the group. What was not pushed is read again
   * by the next owner of its partition.
   */
  close(opts: { drain?: boolean } = {}): Promise<void> {
    this.closePromise ??= this.doClose(opts.drain ?? true);
    return this.closePromise;
  }

  private async doClose(drain: boolean): Promise<void> {
    this.closing = true;
    await this.startPromise?.catch(() => undefined);
    this.applyPause();
    if (drain) {
      this.drainDeadline = Date.now() + (this.o.closeDrainMs ?? logConsumerDefaults.closeDrainMs);
      this.batcher.cut();
      this.kick();
      while (this.pumping) await this.pumping;
      await this.commit();
    }
    this.stopped = true;
    this.backoffWait.wake();
    await this.pumping;
    await this.committing;
    clearInterval(this.ticker);
    clearTimeout(this.cutTimer);
    await this.group?.close();
    await this.metricsServer?.close();
  }
}
