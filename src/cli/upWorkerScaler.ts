// `clustergenie up --workers-min <n> --workers-max <m>`: the shell of the worker-process
// autoscaler (decisions in src/genie/workers/processAutoscale.ts). Every intervalMs it samples the
// workers' group (lag on cluster-events through the Admin API, the partitions from metadata, the
// jobs queued in the workers' ZooKeeper registrations), asks decideProcesses, starts worker
// slots or stops the newest one with SIGTERM (a graceful stop: the worker finishes or hands back
// its jobs, docs/JOBS.md), and publishes each change as `worker.scaled` with scope "processes".
// It reaches Kafka and ZooKeeper by address only, like the services, so it works against Apache
// Kafka too. One change at a time: a stop is awaited before the next sample.

import { Admin } from '@platformatic/kafka';
import type { ServiceProcess } from '../cluster/serviceProcess.js';
import { JOB_EVENT_SCHEMA_VERSION, JOB_TOPICS, JOB_ZK_PATHS, type WorkerScaledEvent } from '../genie/jobs/events.js';
import { clientBase, Publisher } from '../genie/kafka.js';
import {
  checkProcessBounds,
  decideProcesses,
  isIdle,
  type ProcessScalePolicy,
  type ProcessScaleSample,
  processScaleDefaults,
} from '../genie/workers/processAutoscale.js';
import { encodeWorkerScaled } from '../genie/workers/records.js';
import { workerDefaults } from '../genie/workers/worker.js';
import { ZooKeeperClient } from '../zookeeper/client/client.js';
import { isZooKeeperError } from '../zookeeper/client/errors.js';
import { Err } from '../zookeeper/protocol/constants.js';

/** Worker registrations read per sample (more are not summed: the signal is then the lag alone). */
export const registrationsReadMax = 256;
/** Changes kept in `changes` (the newest). */
export const scaleChangesKeptMax = 100;

export interface WorkerScalerOptions {
  /** Worker processes 1..max, in the order they are started; the first `initial` already run. */
  slots: readonly ServiceProcess[];
  initial: number;
  min: number;
  max: number;
  bootstrap: string;
  /** ZooKeeper, for the jobs queued in the workers' pools; without it the signal is the lag alone. */
  zkConnect?: string;
  groupId?: string;
  policy?: Partial<ProcessScalePolicy>;
  /** Time between samples. Default 5000. */
  intervalMs?: number;
  /** How long a stopped worker may take to finish its jobs before SIGKILL. */
  stopTimeoutMs: number;
  /** One line per change or problem (up's output). */
  say(line: string): void;
}

/** What one change did (also published as worker.scaled). */
export interface ScaleChange {
  from: number;
  to: number;
  reason: string;
  backlog: number;
  at: number;
}

export class WorkerProcessScaler {
  private active: number;
  private readonly policy: ProcessScalePolicy;
  private readonly id = `up-${process.pid}`;
  private admin: Admin | undefined;
  private publisher: Publisher | undefined;
  private zk: ZooKeeperClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private lastChangeAt = Number.NEGATIVE_INFINITY;
  private idleSince: number | undefined;
  private lastProblem = '';
  /** The newest changes (at most scaleChangesKeptMax), oldest first. */
  readonly changes: ScaleChange[] = [];

  constructor(private readonly o: WorkerScalerOptions) {
    checkProcessBounds(o.min, o.max);
    if (o.slots.length < o.max) throw new Error(`${o.slots.length} worker slots for at most ${o.max} worker processes`);
    this.active = o.initial;
    this.policy = { ...processScaleDefaults, ...o.policy };
  }

  /** Worker processes running now (started and not stopped by the scaler). */
  get processes(): number {
    return this.active;
  }

  start(): void {
    const kafka = { bootstrapBrokers: this.o.bootstrap.split(','), clientId: `clustergenie-${this.id}` };
    this.admin = new Admin(clientBase(kafka));
    this.publisher = new Publisher(kafka);
    if (this.o.zkConnect !== undefined) {
      const zk = new ZooKeeperClient({ connectString: this.o.zkConnect, sessionTimeoutMs: 10_000 });
      zk.on('expired', () => void zk.connect().catch(() => undefined));
      // Not awaited: until it connects the signal is the lag alone.
      zk.connect({ timeoutMs: 30_000 }).catch((e: unknown) => this.problem(`cannot reach ZooKeeper: ${(e as Error).message}`));
      this.zk = zk;
    }
    this.schedule();
  }

  /** Stops sampling (the workers keep running; up stops them itself). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.loop;
    await Promise.allSettled([this.publisher?.close(), this.admin?.close(), this.zk?.close()]);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.loop = this.tick()
        .catch((e: unknown) => this.problem(`scaling failed: ${(e as Error).message.split('\n')[0]}`))
        .finally(() => this.schedule());
    }, this.o.intervalMs ?? 5000);
  }

  private problem(what: string): void {
    if (what === this.lastProblem) return;
    this.lastProblem = what;
    this.o.say(`clustergenie up: worker autoscaler: ${what}; trying again`);
  }

  private async tick(): Promise<void> {
    let sample: ProcessScaleSample;
    try {
      sample = await this.sample();
    } catch (e) {
      this.problem(`cannot read the workers' backlog: ${(e as Error).message.split('\n')[0]}`);
      return;
    }
    if (this.stopped) return;
    this.lastProblem = '';
    const now = Date.now();
    if (!isIdle(sample, this.policy)) this.idleSince = undefined;
    else this.idleSince ??= now;
    const d = decideProcesses(
      {
        ...sample,
        processes: this.active,
        min: this.o.min,
        max: this.o.max,
        now,
        lastChangeAt: this.lastChangeAt,
        idleSince: this.idleSince,
      },
      this.policy,
    );
    if (!d || d.processes === this.active) return;
    const from = this.active;
    const backlog = Math.max(0, sample.lag) + Math.max(0, sample.queued);
    this.lastChangeAt = now;
    // An idle spell starts again after a change: the next stop waits a whole idleShrinkMs.
    this.idleSince = undefined;
    this.changes.push({ from, to: d.processes, reason: d.reason, backlog, at: now });
    if (this.changes.length > scaleChangesKeptMax) this.changes.splice(0, this.changes.length - scaleChangesKeptMax);
    this.o.say(`clustergenie up: worker processes ${from} -> ${d.processes} (${d.reason})`);
    await this.publish(from, d.processes, d.reason, backlog, now);
    if (d.processes > from) {
      for (let i = from; i < d.processes; i++) this.startSlot(this.o.slots[i]!);
      this.active = d.processes;
    } else {
      // Newest first; one at a time, each waited for, so the group rebalances once per stop.
      for (let i = from - 1; i >= d.processes && !this.stopped; i--) {
        await this.o.slots[i]!.stop(this.o.stopTimeoutMs);
        this.active = i;
      }
    }
  }

  private startSlot(s: ServiceProcess): void {
    if (s.alive) return;
    s.start();
    s.waitReady(60_000).catch((e: unknown) => this.problem(`${s.name} did not start: ${(e as Error).message.split('\n')[0]}`));
  }

  private async publish(from: number, to: number, reason: string, backlog: number, now: number): Promise<void> {
    const ev: WorkerScaledEvent = {
      v: JOB_EVENT_SCHEMA_VERSION,
      type: 'worker.scaled',
      scope: 'processes',
      worker: this.id,
      at: new Date(now).toISOString(),
      from,
      to,
      reason,
      backlog,
    };
    try {
      await this.publisher?.publish(JOB_TOPICS.events, [encodeWorkerScaled(ev)]);
    } catch (e) {
      // The change happens anyway: the event reports it, it does not gate it.
      this.problem(`cannot publish worker.scaled: ${(e as Error).message.split('\n')[0]}`);
    }
  }

  /** Lag of the workers' group on cluster-events, its partitions, and the workers' queued jobs. */
  private async sample(): Promise<ProcessScaleSample> {
    const admin = this.admin!;
    const topic = JOB_TOPICS.events;
    const md = await admin.metadata({ topics: [topic], forceUpdate: true });
    const t = md.topics.get(topic);
    if (!t) throw new Error(`topic ${topic} is not in the brokers' metadata`);
    // Only partitions with a leader: @platformatic/kafka 1.35 throws from a callback otherwise (monitor/collect.ts).
    const led = t.partitions.map((p, i) => ({ p, i })).filter(({ p }) => p && p.leader >= 0);
    const groupId = this.o.groupId ?? workerDefaults.groupId;
    const [ends, committed, queued] = await Promise.all([
      led.length === 0
        ? Promise.resolve([])
        : admin.listOffsets({ topics: [{ name: topic, partitions: led.map(({ i }) => ({ partitionIndex: i, timestamp: -1n })) }] }),
      admin.listConsumerGroupOffsets({ groups: [groupId] }),
      this.queuedJobs(),
    ]);
    const commit = new Map<number, bigint>();
    for (const g of committed)
      for (const ct of g.topics) if (ct.name === topic) for (const p of ct.partitions) commit.set(p.partitionIndex, p.committedOffset);
    let lag = 0n;
    for (const et of ends) {
      for (const p of et.partitions) {
        const c = commit.get(p.partitionIndex) ?? -1n;
        // No commit yet: the group starts at the earliest offset, so the whole partition is backlog.
        const behind = p.offset - (c < 0n ? 0n : c);
        if (behind > 0n) lag += behind;
      }
    }
    return { lag: Number(lag), queued, partitions: t.partitionsCount };
  }

  /** Sum of `queued` over the workers' registrations (0 without ZooKeeper). */
  private async queuedJobs(): Promise<number> {
    const zk = this.zk;
    if (!zk?.isConnected) return 0;
    let ids: string[];
    try {
      ids = await zk.getChildren(JOB_ZK_PATHS.workers);
    } catch (e) {
      if (isZooKeeperError(e, Err.NONODE)) return 0;
      throw e;
    }
    const counts = await Promise.all(
      ids.slice(0, registrationsReadMax).map(async (id) => {
        try {
          const { data } = await zk.getData(`${JOB_ZK_PATHS.workers}/${id}`);
          const q = (JSON.parse(data?.toString('utf8') ?? '{}') as { queued?: unknown }).queued;
          return typeof q === 'number' && Number.isFinite(q) && q > 0 ? q : 0;
        } catch {
          return 0; // gone meanwhile, or not a registration we can read
        }
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  }
}

/** up's worker flags: a fixed count, or scaling between min and max. */
export interface WorkerCount {
  /** Processes started with the services. */
  initial: number;
  /** Set when scaling is on. */
  scale?: { min: number; max: number; policy: Partial<ProcessScalePolicy> };
}

const workersFlagMax = 64;

/**
 * `--workers <n>` alone: a fixed count (default 2). `--workers-max <m>` (and `--workers-min <n>`,
 * default 1) turn scaling on; `--workers` then is the count to start with (default min).
 * `--workers-backlog <records>`, `--workers-idle-ms <ms>`, `--workers-cooldown-ms <ms>` tune it.
 * Throws a message naming the flag.
 */
export function parseWorkerFlags(v: {
  workers?: string | undefined;
  'workers-min'?: string | undefined;
  'workers-max'?: string | undefined;
  'workers-backlog'?: string | undefined;
  'workers-idle-ms'?: string | undefined;
  'workers-cooldown-ms'?: string | undefined;
}): WorkerCount {
  const int = (name: keyof typeof v, min: number, max: number): number | undefined => {
    const s = v[name];
    if (s === undefined) return undefined;
    const n = Number(s);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, got "${s}"`);
    return n;
  };
  const workers = int('workers', 0, workersFlagMax);
  const wmin = int('workers-min', 1, workersFlagMax);
  const wmax = int('workers-max', 1, workersFlagMax);
  const tuning = (['workers-backlog', 'workers-idle-ms', 'workers-cooldown-ms'] as const).filter((k) => v[k] !== undefined);
  if (wmax === undefined) {
    if (wmin !== undefined) throw new Error('--workers-min needs --workers-max (the most worker processes to scale to)');
    if (tuning.length > 0) throw new Error(`--${tuning[0]} needs --workers-max (it tunes the scaling of worker processes)`);
    return { initial: workers ?? 2 };
  }
  const min = wmin ?? 1;
  if (wmax < min) throw new Error(`--workers-max ${wmax} is below --workers-min ${min}`);
  if (workers !== undefined && (workers < min || workers > wmax))
    throw new Error(`--workers ${workers} (the count to start with) must be within --workers-min ${min} and --workers-max ${wmax}`);
  const policy: Partial<ProcessScalePolicy> = {};
  const backlog = int('workers-backlog', 1, 1_000_000_000);
  const idle = int('workers-idle-ms', 0, 24 * 3600_000);
  const cooldown = int('workers-cooldown-ms', 0, 24 * 3600_000);
  if (backlog !== undefined) policy.backlogPerProcessHigh = backlog;
  if (idle !== undefined) policy.idleShrinkMs = idle;
  if (cooldown !== undefined) policy.cooldownMs = cooldown;
  return { initial: workers ?? min, scale: { min, max: wmax, policy } };
}

/** Worker processes up reserves ports and log files for: the most it may run. */
export function workerSlots(w: WorkerCount): number {
  return w.scale?.max ?? w.initial;
}
