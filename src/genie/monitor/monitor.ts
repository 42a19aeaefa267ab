// The monitor service: candidates elect one instance through ZooKeeper
// (/clustergenie/monitor/election); the elected one runs rounds every intervalMs: collect a
// Snapshot (collect.ts), evaluate the rules (rules.ts, pure), publish alert.firing/alert.resolved
// to `monitoring.alerts` and a snapshot to `monitoring.metrics`, and refresh /metrics. Others
// stand by with empty metrics. A new leader starts with no alert state, so alerts still true are
// raised again under the same fingerprint (consumers treat firing as idempotent per fingerprint).

import { EventEmitter } from 'node:events';
import { Admin } from '@platformatic/kafka';
import type { ZooKeeperClient } from '../../zookeeper/client/client.js';
import { LeaderElection } from '../../zookeeper/client/recipes.js';
import { type Logger, silentLogger } from '../../util/log.js';
import type { EncodedEvent } from '../jobs/events.js';
import { clientBase, ensureTopics, type KafkaEndpoint, Publisher } from '../kafka.js';
import { collectControllerViews } from './controllerViews.js';
import {
  collectDisks,
  collectGroups,
  collectJobs,
  collectKafka,
  collectOffsets,
  collectZk,
  collectZkTxnLogs,
  type HostPort,
} from './collect.js';
import { encodeAlertEvent, encodeSnapshot, MONITOR_TOPICS, monitorTopics } from './events.js';
import { MonitorMetrics } from './metrics.js';
import { type AlertEvent, emptyState, evaluate, firingAlerts, type MonitorState, type RuleConfig } from './rules.js';
import type { Snapshot } from './snapshot.js';

export const MONITOR_ELECTION_PATH = '/clustergenie/monitor/election';

/** Alert records waiting for Kafka (it may be the thing that is down); the oldest are dropped beyond it. */
export const unsentAlertsMax = 10_000;
/** How long close() waits for Kafka to take the last records. */
export const closeDrainMs = 5000;

export interface MonitorOptions {
  id: string;
  /** Connected session: the election, and Kafka's znodes (read-only). */
  zk: ZooKeeperClient;
  kafka: KafkaEndpoint;
  /** Members whose mntr is read each round. */
  zkMembers: HostPort[];
  watchDirs?: string[];
  /** ZooKeeper dataLogDirs (or dataDirs) whose version-2/log.* files are watched (ZkTxnLogGrowing). */
  zkDataDirs?: string[];
  intervalMs?: number;
  /** Per-section collection deadline; a section slower than this counts as unread this round. */
  collectTimeoutMs?: number;
  mntrTimeoutMs?: number;
  /** The Job Service's /metrics URL (job failure rate); optional. */
  jobsMetricsUrl?: string;
  rules?: Partial<RuleConfig>;
  /** Partitions and replication of monitoring.* when the monitor creates them. */
  topicPartitions?: number;
  topicReplicationFactorMax?: number;
  logger?: Logger;
}

export interface MonitorEvents {
  /** After each round of the elected instance. */
  round: [snapshot: Snapshot, events: AlertEvent[], errors: ReadonlyMap<string, string>];
  leader: [];
  standby: [];
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

interface Term {
  stopped: boolean;
  admin: Admin;
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
  topicsReady: boolean;
}

export class Monitor extends EventEmitter<MonitorEvents> {
  readonly metrics = new MonitorMetrics();
  private readonly opts: Required<Omit<MonitorOptions, 'jobsMetricsUrl' | 'rules' | 'logger'>> &
    Pick<MonitorOptions, 'jobsMetricsUrl' | 'rules'>;
  private readonly log: Logger;
  private readonly election: LeaderElection;
  private readonly publisher: Publisher;
  private term: Term | undefined;
  private _state: MonitorState = emptyState;
  private unsent: EncodedEvent[] = [];
  private draining = false;
  /** Records at the head of `unsent` handed to the publisher and not yet acknowledged. */
  private inFlight = 0;
  private snapshotInFlight = false;
  private closed = false;
  /** Alert records dropped because unsentAlertsMax was reached. */
  droppedAlerts = 0;

  constructor(options: MonitorOptions) {
    super();
    this.opts = {
      watchDirs: [],
      zkDataDirs: [],
      intervalMs: 5000,
      collectTimeoutMs: 10_000,
      mntrTimeoutMs: 3000,
      topicPartitions: 3,
      topicReplicationFactorMax: 3,
      ...options,
    };
    this.log = (options.logger ?? silentLogger).child({ monitor: options.id });
    this.publisher = new Publisher(options.kafka, { lingerMs: 5 });
    this.election = new LeaderElection(options.zk, MONITOR_ELECTION_PATH, { data: options.id });
    this.election.on('leader', () => this.beginTerm());
    this.election.on('follower', () => void this.endTerm('another candidate leads'));
    this.election.on('lost', () => void this.endTerm('ZooKeeper session expired'));
    this.election.on('error', (e) => this.log.warn({ err: e }, 'monitor election failed'));
    this.metrics.setLeader(false);
  }

  get isLeader(): boolean {
    return this.term !== undefined && !this.term.stopped;
  }

  /** The rules' state after the last round (alerts pending and firing). */
  get state(): MonitorState {
    return this._state;
  }

  /** Alert records not yet acknowledged by Kafka. */
  get unsentAlerts(): number {
    return this.unsent.length;
  }

  async start(): Promise<void> {
    await this.election.start();
  }

  /** Gives up on unsent alert records after closeDrainMs (Kafka may be the thing that is down). */
  async close(): Promise<void> {
    this.closed = true;
    await this.election.stop().catch(() => undefined);
    await this.endTerm('closing');
    await withTimeout(this.drain(), closeDrainMs, 'publishing the last alerts').catch((e: unknown) =>
      this.log.warn({ err: e }, 'alerts left unsent'),
    );
    await withTimeout(this.publisher.close(), closeDrainMs, 'closing the producer').catch(() => undefined);
  }

  private beginTerm(): void {
    if (this.term || this.closed) return;
    const k = this.opts.kafka;
    // Few retries: a round must finish even while brokers are away; the next round asks again.
    const admin = new Admin({ ...clientBase(k), clientId: `${k.clientId}-admin`, retries: 2, timeout: this.opts.collectTimeoutMs });
    const term: Term = { stopped: false, admin, timer: undefined, running: undefined, topicsReady: false };
    this.term = term;
    this._state = emptyState;
    this.metrics.setLeader(true);
    this.log.info('elected: evaluating alert rules');
    this.emit('leader');
    this.schedule(term, 0);
  }

  private async endTerm(reason: string): Promise<void> {
    const term = this.term;
    if (!term) return;
    this.term = undefined;
    term.stopped = true;
    clearTimeout(term.timer);
    this.log.info({ reason }, 'no longer the elected monitor');
    await term.running?.catch(() => undefined);
    await term.admin.close().catch(() => undefined);
    this.metrics.setLeader(false);
    this.metrics.clear();
    this.emit('standby');
  }

  private schedule(term: Term, delayMs: number): void {
    term.timer = setTimeout(() => {
      term.running = this.round(term)
        .catch((e: unknown) => this.log.warn({ err: e }, 'monitor round failed'))
        .finally(() => {
          term.running = undefined;
          if (!term.stopped) this.schedule(term, this.opts.intervalMs);
        });
    }, delayMs);
  }

  private async section<T>(errors: Map<string, string>, name: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await withTimeout(fn(), this.opts.collectTimeoutMs, `collecting ${name}`);
    } catch (e) {
      errors.set(name, (e as Error).message);
      return undefined;
    }
  }

  /** Reads everything a round needs; unreadable sections stay undefined. */
  async collect(admin: Admin): Promise<{ snapshot: Snapshot; errors: Map<string, string>; brokerAddresses: Map<number, string> }> {
    const errors = new Map<string, string>();
    const [zkSnap, kafka, disks, zkLogs, jobs] = await Promise.all([
      this.section(errors, 'zookeeper', () => collectZk(this.opts.zkMembers, this.opts.mntrTimeoutMs)),
      this.section(errors, 'kafka', () => collectKafka(this.opts.zk)),
      this.section(errors, 'disks', async () => {
        const r = await collectDisks(this.opts.watchDirs);
        if (r.errors.length > 0) errors.set('disks', r.errors.join('; '));
        return r.disks;
      }),
      this.opts.zkDataDirs.length === 0
        ? Promise.resolve(undefined)
        : this.section(errors, 'zkLogs', async () => {
            const r = await collectZkTxnLogs(this.opts.zkDataDirs);
            if (r.errors.length > 0) errors.set('zkLogs', r.errors.join('; '));
            return r.logs;
          }),
      this.opts.jobsMetricsUrl === undefined
        ? Promise.resolve(undefined)
        : this.section(errors, 'jobs', () => collectJobs(this.opts.jobsMetricsUrl!, this.opts.collectTimeoutMs)),
    ]);
    // Only partitions with a live leader: one offline partition must not fail the whole ListOffsets.
    const live = new Set(kafka?.brokers ?? []);
    const led = (kafka?.partitions ?? []).filter((p) => live.has(p.leader));
    const read = kafka ? await this.section(errors, 'offsets', () => collectOffsets(admin, led)) : undefined;
    const offsets = read?.offsets;
    const groups = kafka ? await this.section(errors, 'groups', () => collectGroups(admin, offsets)) : undefined;
    if (kafka && kafka.brokers.length > 0) {
      const asked = await this.section(errors, 'controllerViews', () =>
        collectControllerViews(this.opts.zk, kafka.brokers, this.opts.mntrTimeoutMs),
      );
      if (asked && asked.errors.length > 0) errors.set('controllerViews', asked.errors.join('; '));
      if (asked) kafka.controllerViews = asked.views;
    }
    const snapshot: Snapshot = { atMs: Date.now() };
    if (zkSnap) snapshot.zk = zkSnap;
    if (kafka) snapshot.kafka = kafka;
    if (offsets) snapshot.offsets = offsets;
    // Lag needs end offsets; without them the groups section would read as "no lag".
    if (groups && offsets) snapshot.groups = groups;
    if (disks) snapshot.disks = disks;
    if (zkLogs) snapshot.zkLogs = zkLogs;
    if (jobs) snapshot.jobs = jobs;
    return { snapshot, errors, brokerAddresses: read?.brokerAddresses ?? new Map() };
  }

  private async round(term: Term): Promise<void> {
    const { snapshot, errors, brokerAddresses } = await this.collect(term.admin);
    if (term.stopped) return;
    const { state, events } = evaluate(snapshot, this._state, snapshot.atMs, this.opts.rules);
    this._state = state;
    const firing = firingAlerts(state);
    this.metrics.update(snapshot, [...state.alerts.values()], errors, brokerAddresses);
    for (const e of events) {
      const logFields = { alert: e.alert.name, labels: e.alert.labels, summary: e.alert.summary };
      if (e.type === 'alert.firing') this.log.warn(logFields, 'alert firing');
      else this.log.info(logFields, 'alert resolved');
    }
    if (errors.size > 0) this.log.debug({ errors: Object.fromEntries(errors) }, 'sections not collected this round');
    if (!term.topicsReady && snapshot.kafka && snapshot.kafka.brokers.length > 0) {
      const replicationFactor = Math.min(this.opts.topicReplicationFactorMax, snapshot.kafka.brokers.length);
      try {
        await ensureTopics(this.opts.kafka, monitorTopics({ partitions: this.opts.topicPartitions, replicationFactor }));
        term.topicsReady = true;
      } catch (e) {
        this.log.warn({ err: e }, 'cannot create the monitoring topics yet');
      }
    }
    this.queueAlerts(events.map((e) => encodeAlertEvent(e, this.opts.id, snapshot.atMs)));
    this.emit('round', snapshot, events, errors);
    if (term.topicsReady) {
      void this.drain();
      this.publishSnapshot(snapshot, firing.length);
    }
  }

  private queueAlerts(records: EncodedEvent[]): void {
    this.unsent.push(...records);
    const over = this.unsent.length - unsentAlertsMax;
    if (over > 0) {
      // Never the records in flight: drain() removes those by count when Kafka acknowledges them.
      this.unsent.splice(this.inFlight, over);
      this.droppedAlerts += over;
      this.log.warn({ dropped: over, total: this.droppedAlerts }, 'alert records dropped: Kafka unreachable for too long');
    }
  }

  /** Publishes the waiting alert records in order; on failure they wait for the next round. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.unsent.length > 0) {
        const batch = this.unsent.slice(0, 500);
        this.inFlight = batch.length;
        try {
          await this.publisher.publish(MONITOR_TOPICS.alerts, batch);
        } catch (e) {
          this.log.warn({ err: e, waiting: this.unsent.length }, 'publishing alerts failed; retrying next round');
          return;
        } finally {
          this.inFlight = 0;
        }
        // Records queued meanwhile were appended after the batch.
        this.unsent.splice(0, batch.length);
      }
    } finally {
      this.draining = false;
    }
  }

  /** One snapshot in flight at most: a slow Kafka skips snapshots rather than queueing them. */
  private publishSnapshot(snapshot: Snapshot, firing: number): void {
    if (this.snapshotInFlight) return;
    this.snapshotInFlight = true;
    this.publisher
      .publish(MONITOR_TOPICS.metrics, [encodeSnapshot(snapshot, this.opts.id, firing)])
      .catch((e: unknown) => this.log.debug({ err: e }, 'publishing a metrics snapshot failed'))
      .finally(() => {
        this.snapshotInFlight = false;
      });
  }
}
