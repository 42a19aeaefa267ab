// The scheduler (docs/JOBS.md "Scheduler"): one elected instance at a time produces the
// `job.queued` of delayed and retried jobs when they fall due, and fires cron schedules.
//
// Election: LeaderElection under /clustergenie/scheduler/election. A leader TERM starts on
// 'leader' and ends, synchronously stopping every publish, when the candidacy ends (session
// expired, another candidate ahead, close()) or the ZooKeeper connection drops (we cannot know
// we still lead while cut off; on reconnect in the same session the term starts again). Within
// a term:
// - Delay loop: a @platformatic/kafka consumer in group `clustergenie-scheduler` reads
//   `cluster-events.delay` from the committed offsets into a DelayQueue (pure core). Due records
//   are produced to `cluster-events` through the Publisher (acks=all); the lowest offset not yet
//   produced is committed per partition. A new leader resumes at the commits, so a record may
//   be produced twice; rule 3 makes the second a no-op.
// - Cron loop: schedules under /clustergenie/schedules (children and data watched). For a due
//   tick the leader first claims it by writing lastFiredAt with a version check (two schedulers
//   briefly both leading cannot both claim it), then publishes job.requested with the tick's job
//   id, then records lastPublishedAt. A tick claimed but not recorded as published (the leader
//   died in between, or Kafka failed) is published again by whoever leads next: the same job id,
//   so workers drop the duplicate. Ticks are thus requested at least once and run once.

import { Consumer, type Message, type MessagesStream, stringDeserializers } from '@platformatic/kafka';
import type { ZooKeeperClient } from '../../zookeeper/client/client.js';
import { isZooKeeperError } from '../../zookeeper/client/errors.js';
import { LeaderElection, mkdirp, retryOnConnectionLoss, waitConnected } from '../../zookeeper/client/recipes.js';
import type { ConnectedInfo, Watcher } from '../../zookeeper/client/types.js';
import { Err } from '../../zookeeper/protocol/constants.js';
import { type Logger, silentLogger } from '../../util/log.js';
import { encodeJobEvent, JOB_EVENT_SCHEMA_VERSION, JOB_TOPICS, JOB_ZK_PATHS, type JobEvent, jobKey } from '../jobs/events.js';
import { GroupConsumer } from '../groupConsumer.js';
import { clientBase, type KafkaEndpoint, Publisher } from '../kafka.js';
import {
  nextTick,
  parseScheduleRecord,
  SCHEDULE_LIMITS,
  type ScheduleRecord,
  type ScheduleSpec,
  scheduleBaseMs,
  tickJobId,
  tickJobSpec,
  ticksDue,
  unpublishedTick,
} from './cron.js';
import { type DelayedEntry, DelayQueue, delayQueueDefaults, parseDelayedRecord } from './delayQueue.js';
import { schedulePath } from './schedules.js';

export interface SchedulerOptions {
  kafka: KafkaEndpoint;
  zk: ZooKeeperClient;
  /** This instance's name (election data, `scheduler/<id>` as event producer). */
  id: string;
  logger?: Logger;
  groupId?: string;
  delayedRecordsMax?: number;
  /** How long produced delay records wait before their offsets are committed (batched). */
  commitIntervalMs?: number;
  /** After a failed produce, how long before the record is tried again. */
  publishRetryDelayMs?: number;
  /** After a term failed (consumer error), how long before a still-elected scheduler starts a new one. */
  termRestartDelayMs?: number;
  /** Consumer group session timeout; a crashed leader's partitions move after it. */
  consumerSessionTimeoutMs?: number;
}

export const SCHEDULER_GROUP = 'clustergenie-scheduler';
/** Longest single timer: far ticks and due times are re-checked at least this often. */
const TIMER_MAX_MS = 60_000;
/** Bytes per fetch: bounds how far the delay queue can overshoot delayedRecordsMax. */
const FETCH_BYTES_MAX = 4 * 1024 * 1024;
/** Messages the consumer's stream buffers before it stops fetching (its highWaterMark). */
const STREAM_BUFFERED_MESSAGES_MAX = 1024;

export interface SchedulerStats {
  delayedHeld: number;
  delayedProduced: number;
  delayedMalformed: number;
  cronTicksClaimed: number;
  cronTicksPublished: number;
}

interface TermContext {
  readonly opts: Required<Omit<SchedulerOptions, 'logger'>>;
  readonly log: Logger;
  readonly publisher: Publisher;
  readonly stats: SchedulerStats;
  readonly producer: string;
}

type StringMessage = Message<string, string, string, string>;

const clampTimer = (ms: number): number => Math.min(TIMER_MAX_MS, Math.max(0, ms));

/** The delay topic → cluster-events, for one term. */
class DelayLoop {
  private group: GroupConsumer<string, string, string, string> | undefined;
  private consumer: Consumer<string, string, string, string> | undefined;
  private stream: MessagesStream<string, string, string, string> | undefined;
  private readonly queue: DelayQueue;
  private timer: NodeJS.Timeout | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private readonly committed = new Map<number, bigint>();
  private assigned: Set<number> | undefined;
  private paused = false;

  constructor(
    private readonly ctx: TermContext,
    private readonly signal: AbortSignal,
    private readonly onFatal: (e: unknown) => void,
  ) {
    this.queue = new DelayQueue({ delayedRecordsMax: ctx.opts.delayedRecordsMax });
  }

  get held(): number {
    return this.queue.size;
  }

  async start(): Promise<void> {
    const { opts } = this.ctx;
    this.group = new GroupConsumer<string, string, string, string>({
      name: 'scheduler',
      log: this.ctx.log,
      create: () =>
        new Consumer<string, string, string, string>({
          ...clientBase(opts.kafka),
          groupId: opts.groupId,
          deserializers: stringDeserializers,
          autocommit: false,
          sessionTimeout: opts.consumerSessionTimeoutMs,
          rebalanceTimeout: opts.consumerSessionTimeoutMs + 5000,
          heartbeatInterval: Math.max(100, Math.floor(opts.consumerSessionTimeoutMs / 10)),
          maxWaitTime: 500,
          maxBytes: FETCH_BYTES_MAX,
        }),
      consume: {
        topics: [JOB_TOPICS.delay],
        mode: 'committed',
        fallbackMode: 'earliest',
        autocommit: false,
        highWaterMark: STREAM_BUFFERED_MESSAGES_MAX,
      },
      hooks: {
        onConsumer: (consumer) => {
          this.consumer = consumer;
          consumer.on('consumer:group:join', (p) =>
            this.assign(p.assignments?.find((a) => a.topic === JOB_TOPICS.delay)?.partitions ?? []),
          );
        },
        onStream: (stream) => {
          this.stream = stream;
          this.paused = false;
          stream.on('data', (m: StringMessage) => this.onMessage(m));
        },
        // A new member (the coordinator was lost): what it is assigned is read again from the commits.
        onReplaced: () => {
          this.assign([]);
          this.consumer = undefined;
          this.stream = undefined;
        },
        onError: (e) => this.onFatal(e),
      },
    });
    await this.group.start();
  }

  private assign(mine: number[]): void {
    this.assigned = new Set(mine);
    this.queue.retainPartitions(mine);
    for (const part of [...this.committed.keys()]) if (!this.assigned.has(part)) this.committed.delete(part);
    this.ctx.log.info({ partitions: mine }, 'delay partitions assigned');
  }

  private onMessage(m: StringMessage): void {
    if (this.signal.aborted || m.topic !== JOB_TOPICS.delay) return;
    // A fetch from before the last rebalance may still bring a partition we lost.
    if (this.assigned !== undefined && !this.assigned.has(m.partition)) return;
    let record = null;
    try {
      record = parseDelayedRecord(m.value);
    } catch (e) {
      this.ctx.stats.delayedMalformed++;
      this.ctx.log.warn(
        { partition: m.partition, offset: String(m.offset), reason: (e as Error).message },
        'malformed delay record skipped',
      );
    }
    const added = this.queue.add(m.partition, m.offset, record);
    if (added === 'skipped') this.scheduleCommit();
    if (this.queue.isFull() && !this.paused) {
      this.paused = true;
      this.stream?.pause();
      this.ctx.log.warn({ held: this.queue.size }, 'delay queue full; fetching paused');
    }
    if (added === 'added') this.pump();
  }

  /** Produce what is due; wake again at the next due time. */
  private pump(): void {
    if (this.signal.aborted) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const e of this.queue.due(Date.now())) void this.produce(e);
    const next = this.queue.nextDueAt();
    if (next !== undefined) this.timer = setTimeout(() => this.pump(), clampTimer(next - Date.now()));
  }

  private async produce(e: DelayedEntry): Promise<void> {
    // The event as the scheduler emits it now; everything else is the worker's.
    const next: JobEvent = { ...e.record.next, at: new Date().toISOString(), producer: this.ctx.producer };
    try {
      await this.ctx.publisher.publish(JOB_TOPICS.events, [encodeJobEvent(next, jobKey(e.record.next.spec))]);
    } catch (err) {
      if (this.signal.aborted) return;
      this.ctx.log.warn({ err, jobId: e.record.jobId }, 'producing a due job failed; retrying');
      this.queue.retry(e.partition, e.offset, Date.now() + this.ctx.opts.publishRetryDelayMs);
      this.pump();
      return;
    }
    if (this.signal.aborted) return;
    this.queue.produced(e.partition, e.offset);
    this.ctx.stats.delayedProduced++;
    this.scheduleCommit();
    if (this.paused && !this.queue.isFull()) {
      this.paused = false;
      this.stream?.resume();
    }
  }

  private scheduleCommit(): void {
    if (this.commitTimer !== undefined || this.signal.aborted) return;
    this.commitTimer = setTimeout(() => {
      this.commitTimer = undefined;
      void this.commit();
    }, this.ctx.opts.commitIntervalMs);
  }

  private async commit(): Promise<void> {
    const consumer = this.consumer;
    if (consumer === undefined || this.assigned === undefined) return;
    const offsets = [];
    for (const partition of this.assigned) {
      const offset = this.queue.commitOffset(partition);
      if (offset !== undefined && offset !== this.committed.get(partition)) {
        offsets.push({ topic: JOB_TOPICS.delay, partition, offset, leaderEpoch: -1 });
      }
    }
    if (offsets.length === 0) return;
    try {
      await consumer.commit({ offsets });
      for (const o of offsets) this.committed.set(o.partition, o.offset);
    } catch (e) {
      // A rebalance in progress or a coordinator move: the next commit carries the same offsets.
      this.ctx.log.debug({ err: e }, 'committing delay offsets failed');
      this.scheduleCommit();
    }
  }

  /** Timers off at once (the signal is already aborted); then commit if asked and leave the group. */
  async stop(finalCommit: boolean): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    if (this.commitTimer) clearTimeout(this.commitTimer);
    this.timer = this.commitTimer = undefined;
    if (finalCommit) await this.commit().catch(() => undefined);
    await this.group?.close();
  }
}

interface CachedSchedule {
  /** null: the znode holds no valid schedule (logged, ignored). */
  record: ScheduleRecord | null;
  version: number;
  /** Orders reads and our own writes, so a slow read never replaces what we wrote after it. */
  mzxid: number;
}

/** Cron schedules → job.requested, for one term. */
class CronLoop {
  private readonly cache = new Map<string, CachedSchedule>();
  private readonly publishing = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private childrenStale = true;
  private readonly staleNames = new Set<string>();
  private refreshing: Promise<void> | undefined;
  private firing = false;
  private fireAgain = false;
  private readonly childWatcher: Watcher = () => this.requestRefresh();
  private readonly dataWatcher: Watcher = (ev) => this.requestRefresh(ev.path.slice(ev.path.lastIndexOf('/') + 1));

  constructor(
    private readonly ctx: TermContext,
    private readonly signal: AbortSignal,
  ) {}

  /** Schedules known (metrics). */
  get scheduleCount(): number {
    return this.cache.size;
  }

  async start(): Promise<void> {
    await mkdirp(this.ctx.opts.zk, JOB_ZK_PATHS.schedules);
    this.requestRefresh();
    await this.refreshing;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.timer = this.retryTimer = undefined;
  }

  private requestRefresh(name?: string): void {
    if (this.signal.aborted) return;
    if (name === undefined) this.childrenStale = true;
    else this.staleNames.add(name);
    this.refreshing ??= this.refresh().finally(() => {
      this.refreshing = undefined;
    });
  }

  private async refresh(): Promise<void> {
    const zk = this.ctx.opts.zk;
    while (!this.signal.aborted && (this.childrenStale || this.staleNames.size > 0)) {
      try {
        if (this.childrenStale) {
          this.childrenStale = false;
          const names = new Set(await zk.getChildren(JOB_ZK_PATHS.schedules, this.childWatcher));
          for (const n of this.cache.keys()) if (!names.has(n)) this.cache.delete(n);
          for (const n of names) {
            if (this.cache.has(n)) continue;
            if (this.cache.size + this.staleNames.size >= SCHEDULE_LIMITS.schedulesMax) {
              this.ctx.log.warn({ schedulesMax: SCHEDULE_LIMITS.schedulesMax }, 'too many schedules; some are ignored');
              break;
            }
            this.staleNames.add(n);
          }
        }
        for (const name of [...this.staleNames]) {
          this.staleNames.delete(name);
          await this.load(name);
        }
      } catch (e) {
        if (isZooKeeperError(e, Err.CONNECTIONLOSS)) {
          this.childrenStale = true;
          if (
            !(await waitConnected(zk).then(
              () => true,
              () => false,
            ))
          )
            return;
          continue;
        }
        if (isZooKeeperError(e, Err.SESSIONEXPIRED)) return; // the term is ending
        this.ctx.log.warn({ err: e }, 'reading schedules failed');
        return;
      }
    }
    this.plan();
  }

  private async load(name: string): Promise<void> {
    try {
      const { data, stat } = await this.ctx.opts.zk.getData(schedulePath(name), this.dataWatcher);
      let record: ScheduleRecord | null = null;
      try {
        record = parseScheduleRecord(data);
      } catch (e) {
        this.ctx.log.warn({ schedule: name, reason: (e as Error).message }, 'invalid schedule ignored');
      }
      this.remember(name, { record, version: stat.version, mzxid: stat.mzxid });
    } catch (e) {
      if (!isZooKeeperError(e, Err.NONODE)) throw e;
      this.cache.delete(name);
    }
  }

  private remember(name: string, entry: CachedSchedule): void {
    const cur = this.cache.get(name);
    if (cur === undefined || cur.mzxid <= entry.mzxid) this.cache.set(name, entry);
  }

  /** Re-publish ticks left unpublished; arm the timer for the soonest next tick. */
  private plan(): void {
    if (this.signal.aborted) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    let soonest = Number.POSITIVE_INFINITY;
    for (const [name, { record }] of this.cache) {
      if (record === null) continue;
      const pending = unpublishedTick(record);
      if (pending !== undefined) void this.publishTick(name, record.spec, pending);
      const t = nextTick(record.spec, scheduleBaseMs(record));
      if (t !== null) soonest = Math.min(soonest, t);
    }
    if (soonest !== Number.POSITIVE_INFINITY) this.timer = setTimeout(() => void this.fireDue(), clampTimer(soonest - Date.now()));
  }

  private async fireDue(): Promise<void> {
    if (this.firing) {
      this.fireAgain = true;
      return;
    }
    this.firing = true;
    try {
      do {
        this.fireAgain = false;
        const now = Date.now();
        for (const [name, entry] of [...this.cache]) {
          if (this.signal.aborted) return;
          if (entry.record === null) continue;
          for (const tick of ticksDue(entry.record.spec, scheduleBaseMs(entry.record), now)) await this.claim(name, entry, tick);
        }
      } while (this.fireAgain && !this.signal.aborted);
    } finally {
      this.firing = false;
    }
    this.plan();
  }

  /** Write lastFiredAt with the version we read: only one scheduler can claim a tick. */
  private async claim(name: string, entry: CachedSchedule, tick: number): Promise<void> {
    const record: ScheduleRecord = { ...entry.record!, lastFiredAt: new Date(tick).toISOString() };
    try {
      const stat = await this.ctx.opts.zk.setData(schedulePath(name), JSON.stringify(record), entry.version);
      this.remember(name, { record, version: stat.version, mzxid: stat.mzxid });
      this.ctx.stats.cronTicksClaimed++;
      void this.publishTick(name, record.spec, tick);
    } catch (e) {
      if (isZooKeeperError(e, Err.NONODE)) this.cache.delete(name);
      // BADVERSION: changed by someone else (an edit, another scheduler): read it again and decide
      // again. CONNECTIONLOSS: the write may have happened; the re-read shows it, and an applied
      // claim is then published as an unpublished tick.
      else if (isZooKeeperError(e, Err.BADVERSION) || isZooKeeperError(e, Err.CONNECTIONLOSS)) this.requestRefresh(name);
      else if (!isZooKeeperError(e, Err.SESSIONEXPIRED)) this.ctx.log.warn({ err: e, schedule: name }, 'claiming a cron tick failed');
    }
  }

  private async publishTick(name: string, spec: ScheduleSpec, tick: number): Promise<void> {
    const id = tickJobId(name, tick);
    if (this.publishing.has(id) || this.signal.aborted) return;
    this.publishing.add(id);
    try {
      const now = Date.now();
      const job = tickJobSpec(spec, tick, now);
      const event: JobEvent = {
        v: JOB_EVENT_SCHEMA_VERSION,
        type: 'job.requested',
        jobId: id,
        at: new Date(now).toISOString(),
        producer: this.ctx.producer,
        spec: job,
        attempt: 1,
      };
      await this.ctx.publisher.publish(JOB_TOPICS.events, [encodeJobEvent(event, jobKey(job))]);
      this.ctx.stats.cronTicksPublished++;
      await this.markPublished(name, tick);
    } catch (e) {
      if (this.signal.aborted) return;
      this.ctx.log.warn({ err: e, schedule: name, tick: new Date(tick).toISOString() }, 'publishing a cron tick failed; retrying');
      this.retryTimer ??= setTimeout(() => {
        this.retryTimer = undefined;
        this.plan();
      }, this.ctx.opts.publishRetryDelayMs);
    } finally {
      this.publishing.delete(id);
    }
  }

  private async markPublished(name: string, tick: number): Promise<void> {
    const zk = this.ctx.opts.zk;
    const at = new Date(tick).toISOString();
    for (;;) {
      try {
        const { data, stat } = await retryOnConnectionLoss(zk, () => zk.getData(schedulePath(name)));
        const r = parseScheduleRecord(data);
        if (r.lastPublishedAt !== undefined && Date.parse(r.lastPublishedAt) >= tick) return;
        const record: ScheduleRecord = { ...r, lastPublishedAt: at };
        const written = await zk.setData(schedulePath(name), JSON.stringify(record), stat.version);
        // Before plan() can run on an older read and publish this tick again.
        this.remember(name, { record, version: written.version, mzxid: written.mzxid });
        return;
      } catch (e) {
        if (isZooKeeperError(e, Err.BADVERSION) || isZooKeeperError(e, Err.CONNECTIONLOSS)) continue;
        if (isZooKeeperError(e, Err.NONODE)) return;
        throw e;
      }
    }
  }
}

/** Everything one leadership does; abort() stops publishing at once, stop() cleans up. */
class LeaderTerm {
  private readonly controller = new AbortController();
  private readonly delay: DelayLoop;
  private readonly cron: CronLoop;

  constructor(ctx: TermContext, onFatal: (e: unknown) => void) {
    this.delay = new DelayLoop(ctx, this.controller.signal, onFatal);
    this.cron = new CronLoop(ctx, this.controller.signal);
  }

  get aborted(): boolean {
    return this.controller.signal.aborted;
  }

  get delayedHeld(): number {
    return this.delay.held;
  }

  get schedules(): number {
    return this.cron.scheduleCount;
  }

  async start(): Promise<void> {
    await Promise.all([this.delay.start(), this.cron.start()]);
  }

  abort(reason: string): void {
    this.controller.abort(new Error(reason));
    this.cron.stop();
  }

  async stop(finalCommit: boolean): Promise<void> {
    await this.delay.stop(finalCommit);
  }
}

export class Scheduler {
  private readonly opts: Required<Omit<SchedulerOptions, 'logger'>>;
  private readonly log: Logger;
  private readonly election: LeaderElection;
  private readonly publisher: Publisher;
  private readonly stats: SchedulerStats = {
    delayedHeld: 0,
    delayedProduced: 0,
    delayedMalformed: 0,
    cronTicksClaimed: 0,
    cronTicksPublished: 0,
  };
  private term: LeaderTerm | undefined;
  /** Term starts and stops, one at a time. */
  private transitions: Promise<void> = Promise.resolve();
  private restartTimer: NodeJS.Timeout | undefined;
  private started = false;
  private closed = false;
  private readonly onDisconnected = (): void => this.endTerm('ZooKeeper connection lost');
  private readonly onConnected = (info: ConnectedInfo): void => {
    // Same session: our candidacy stands, so we lead again if we did. (A new session reruns the election.)
    if (!info.newSession && this.election.isLeader) this.beginTerm();
  };

  constructor(options: SchedulerOptions) {
    this.opts = {
      groupId: SCHEDULER_GROUP,
      delayedRecordsMax: delayQueueDefaults.delayedRecordsMax,
      commitIntervalMs: 200,
      publishRetryDelayMs: 1000,
      termRestartDelayMs: 1000,
      consumerSessionTimeoutMs: 10_000,
      ...options,
    } as Required<Omit<SchedulerOptions, 'logger'>>;
    this.log = (options.logger ?? silentLogger).child({ scheduler: options.id });
    this.publisher = new Publisher(
      options.kafka,
      {},
      {
        onProducerRenewed: (err) => this.log.warn({ err }, 'a publish failed; the next ones go through a new producer'),
      },
    );
    this.election = new LeaderElection(options.zk, JOB_ZK_PATHS.schedulerElection, { data: options.id });
    this.election.on('leader', () => this.beginTerm());
    this.election.on('follower', () => this.endTerm('another candidate leads'));
    this.election.on('lost', () => this.endTerm('ZooKeeper session expired'));
    this.election.on('error', (e) => this.log.warn({ err: e }, 'scheduler election failed'));
  }

  /** Leading and running a term (it may still be joining the consumer group). */
  get isLeader(): boolean {
    return this.term !== undefined && !this.term.aborted;
  }

  get metrics(): Readonly<SchedulerStats> {
    return { ...this.stats, delayedHeld: this.term?.delayedHeld ?? 0 };
  }

  /** Cron schedules the leading term knows (0 when not leading). */
  get schedules(): number {
    return this.isLeader ? this.term!.schedules : 0;
  }

  /** Join the election; resolves once this instance knows whether it leads. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.opts.zk.on('disconnected', this.onDisconnected);
    this.opts.zk.on('connected', this.onConnected);
    await this.election.start();
  }

  /** Leave the election and stop leading (committing what was produced). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.opts.zk.off('disconnected', this.onDisconnected);
    this.opts.zk.off('connected', this.onConnected);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.endTerm('closing', true);
    await this.transitions;
    await this.election.stop().catch(() => undefined);
    await this.publisher.close().catch(() => undefined);
  }

  private beginTerm(): void {
    this.transitions = this.transitions.then(async () => {
      if (this.closed || !this.election.isLeader || !this.opts.zk.isConnected) return;
      if (this.term !== undefined) {
        if (!this.term.aborted) return;
        await this.term.stop(false);
        this.term = undefined;
      }
      const ctx: TermContext = {
        opts: this.opts,
        log: this.log,
        publisher: this.publisher,
        stats: this.stats,
        producer: `scheduler/${this.opts.id}`,
      };
      const term = new LeaderTerm(ctx, (e) => this.failTerm(term, e));
      this.term = term;
      this.log.info('leading: delay and cron loops start');
      try {
        await term.start();
      } catch (e) {
        this.failTerm(term, e);
      }
    });
  }

  /** Publishing stops now; the consumer leaves the group in turn. */
  private endTerm(reason: string, finalCommit = false): void {
    const term = this.term;
    if (term !== undefined && !term.aborted) {
      term.abort(reason);
      this.log.info({ reason }, 'no longer leading');
    }
    this.transitions = this.transitions.then(async () => {
      if (this.term === undefined || !this.term.aborted) return;
      await this.term.stop(finalCommit);
      this.term = undefined;
    });
  }

  private failTerm(term: LeaderTerm, e: unknown): void {
    if (this.term !== term || term.aborted) return;
    this.log.warn({ err: e }, 'leader term failed; starting again');
    this.endTerm('term failed');
    this.restartTimer ??= setTimeout(() => {
      this.restartTimer = undefined;
      this.beginTerm();
    }, this.opts.termRestartDelayMs);
  }
}
