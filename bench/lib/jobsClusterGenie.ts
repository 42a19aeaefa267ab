// The ClusterGenie side of the jobs benchmark: one ZooKeeper member and three brokers as processes
// (ProcessCluster), the job topics at RF 3, and the services as processes of this build's CLI, as
// test/helpers/jobsSystem.ts runs them: the Job Service, the scheduler and W workers with a fixed
// pool (--concurrency C, min and max C too). The bench submits through POST /api/jobs/batch.
//
// Start and completion times come from the events themselves: a consumer in the bench reads
// cluster-events (its own group, from the start of this side's fresh topics) and takes the `at` of
// each job's first job.processing and first job.completed; the submit time is the bench clock when
// the POST was sent (same machine, same clock).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Consumer, stringDeserializers } from '@platformatic/kafka';
import { ProcessCluster } from '../../src/cluster/processCluster.js';
import {
  type JobServicesSetup,
  jobsServiceProcess,
  schedulerProcess,
  type ServiceProcess,
  workerProcess,
} from '../../src/cluster/serviceProcess.js';
import { JOB_TOPICS } from '../../src/genie/jobs/events.js';
import { clientBase, ensureTopics, jobTopics } from '../../src/genie/kafka.js';
import { freePort } from '../../src/util/net.js';
import type { JobKind, JobsSide, JobTiming, ProcessRole } from './jobsReport.js';

const serviceReadyTimeoutMs = 90_000;
const clusterStartTimeoutMs = 120_000;
/** Events of jobs whose POST has not answered yet (the worker can be that quick); older ones are dropped. */
const earlyJobsMax = 100_000;
/** Longest a submission POST may take (the Job Service answers once Kafka acknowledged the batch). */
const submitTimeoutMs = 60_000;

const SUBMISSION: Record<JobKind, { type: string; payload?: unknown }> = {
  noop: { type: 'echo' },
  sleep10: { type: 'sleep', payload: { ms: 10 } },
};

interface TrackedJob {
  submitAt: number;
  startAt: number;
}

interface EarlyJob {
  startAt: number;
  endAt: number;
}

export interface ClusterGenieSideOptions {
  partitions: number;
  /** Extra flags for every worker (after the --concurrency flags). */
  workerArgs?: string[];
}

export class ClusterGenieSide implements JobsSide {
  readonly name = 'clustergenie' as const;
  private dir = '';
  private cluster: ProcessCluster | undefined;
  private jobsService: ServiceProcess | undefined;
  private scheduler: ServiceProcess | undefined;
  private workers: ServiceProcess[] = [];
  private workerSeq = 0;
  private api = '';
  private reader: Consumer<string, string, string, string> | undefined;
  private readerStream: { close(): Promise<void> } | undefined;
  private readerError: Error | undefined;
  private readonly tracked = new Map<string, TrackedJob>();
  private readonly early = new Map<string, EarlyJob>();
  private onCompleted: ((t: JobTiming) => void) | undefined;

  constructor(private readonly opts: ClusterGenieSideOptions) {}

  /** The services' addresses; a crash in a benchmark run is reported, not hidden by a restart. */
  private get setup(): JobServicesSetup {
    return { dir: this.dir, bootstrap: this.cluster!.bootstrap, zkConnect: this.cluster!.zkConnect, restartOnCrash: false };
  }

  async start(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'cg-jobs-bench-'));
    this.cluster = await ProcessCluster.start({
      dir: this.dir,
      zookeepers: 1,
      brokers: 3,
      tickTimeMs: 500,
      initLimit: 10,
      syncLimit: 5,
      startTimeoutMs: clusterStartTimeoutMs,
      brokerConfig: () => ({
        'zookeeper.session.timeout.ms': '6000',
        'offsets.topic.replication.factor': '3',
        'group.initial.rebalance.delay.ms': '0',
      }),
    });
    const kafka = { bootstrapBrokers: this.cluster.bootstrap.split(','), clientId: 'jobs-bench-setup' };
    await ensureTopics(kafka, jobTopics({ partitions: this.opts.partitions, replicationFactor: 3 }));
    const port = await freePort();
    this.api = `http://127.0.0.1:${port}`;
    this.jobsService = jobsServiceProcess(this.setup, { host: '127.0.0.1', port });
    this.scheduler = schedulerProcess(this.setup);
    this.jobsService.start();
    this.scheduler.start();
    await Promise.all([this.jobsService.waitReady(serviceReadyTimeoutMs), this.scheduler.waitReady(serviceReadyTimeoutMs)]);
    await this.startReader();
  }

  /** The timing reader: every record of cluster-events from the start of this side's topics. */
  private async startReader(): Promise<void> {
    this.reader = new Consumer({
      ...clientBase({ bootstrapBrokers: this.cluster!.bootstrap.split(','), clientId: 'jobs-bench-reader' }),
      groupId: `jobs-bench-reader-${Date.now()}`,
      deserializers: stringDeserializers,
      // Timings come from the events' own times, so the reader may wait for fuller fetches: fewer
      // fetch responses for the brokers (whose CPU the bench counts) to serve.
      maxWaitTime: 200,
      minBytes: 64 * 1024,
    });
    const stream = await this.reader.consume({ topics: [JOB_TOPICS.events], mode: 'earliest', autocommit: false });
    stream.on('data', (m) => this.onRecord(m.value));
    stream.on('error', (e: Error) => {
      this.readerError ??= e;
    });
    this.readerStream = stream;
  }

  private onRecord(value: string | undefined): void {
    // Cheap filter first: only two of a job's five or so events matter here.
    if (!value || !(value.includes('"job.processing"') || value.includes('"job.completed"'))) return;
    let e: { type?: unknown; jobId?: unknown; at?: unknown };
    try {
      e = JSON.parse(value) as typeof e;
    } catch {
      return;
    }
    if (typeof e.jobId !== 'string' || typeof e.at !== 'string') return;
    const at = Date.parse(e.at);
    const job = this.tracked.get(e.jobId);
    if (e.type === 'job.processing') {
      if (job) {
        if (Number.isNaN(job.startAt)) job.startAt = at;
      } else this.noteEarly(e.jobId, { startAt: at, endAt: Number.NaN });
    } else if (e.type === 'job.completed') {
      if (job) {
        this.tracked.delete(e.jobId);
        this.onCompleted?.({ submitAt: job.submitAt, startAt: job.startAt, endAt: at });
      } else this.noteEarly(e.jobId, { startAt: Number.NaN, endAt: at });
    }
  }

  private noteEarly(id: string, times: EarlyJob): void {
    const known = this.early.get(id);
    if (known) {
      if (Number.isNaN(known.startAt)) known.startAt = times.startAt;
      if (Number.isNaN(known.endAt)) known.endAt = times.endAt;
      return;
    }
    if (this.early.size >= earlyJobsMax) this.early.delete(this.early.keys().next().value!);
    this.early.set(id, times);
  }

  async startWorkers(count: number, concurrency: number): Promise<void> {
    await this.stopWorkers();
    const started: ServiceProcess[] = [];
    for (let i = 0; i < count; i++) {
      // min = max: a fixed pool like BullMQ's, so the autoscaler does not shrink it between runs.
      const c = String(concurrency);
      const w = workerProcess(this.setup, ++this.workerSeq, [
        '--concurrency',
        c,
        '--concurrency-min',
        c,
        '--concurrency-max',
        c,
        ...(this.opts.workerArgs ?? []),
      ]);
      w.start();
      started.push(w);
    }
    this.workers = started;
    await Promise.all(started.map((w) => w.waitReady(serviceReadyTimeoutMs)));
  }

  async stopWorkers(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.stop(30_000)));
  }

  beginRun(onCompleted: (t: JobTiming) => void): void {
    if (this.readerError) throw new Error(`the timing reader failed: ${this.readerError.message}`);
    this.tracked.clear();
    this.early.clear();
    this.onCompleted = onCompleted;
  }

  async submit(kind: JobKind, count: number, submitAt: number): Promise<void> {
    const jobs = Array.from({ length: count }, () => SUBMISSION[kind]);
    const r = await fetch(`${this.api}/api/jobs/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jobs }),
      signal: AbortSignal.timeout(submitTimeoutMs),
    });
    const text = await r.text();
    if (r.status !== 202) throw new Error(`POST /api/jobs/batch answered ${r.status}: ${text.slice(0, 500)}`);
    const items = (JSON.parse(text) as { jobs: ({ id: string } | { error: { message: string } })[] }).jobs;
    for (const item of items) {
      if (!('id' in item)) throw new Error(`a job of the batch was refused: ${item.error.message}`);
      const early = this.early.get(item.id);
      if (early) this.early.delete(item.id);
      if (early && !Number.isNaN(early.endAt)) {
        this.onCompleted?.({ submitAt, startAt: early.startAt, endAt: early.endAt });
        continue;
      }
      this.tracked.set(item.id, { submitAt, startAt: early?.startAt ?? Number.NaN });
    }
  }

  processes(): { role: ProcessRole; pid: number }[] {
    const out: { role: ProcessRole; pid: number }[] = [];
    const add = (role: ProcessRole, pid: number | undefined): void => {
      if (pid !== undefined) out.push({ role, pid });
    };
    for (const z of this.cluster?.zookeepers ?? []) add('zookeeper', z.pid);
    for (const b of this.cluster?.brokers ?? []) add('broker', b.pid);
    add('jobs-service', this.jobsService?.pid);
    add('scheduler', this.scheduler?.pid);
    for (const w of this.workers) add('worker', w.pid);
    return out;
  }

  describe(): Record<string, unknown> {
    return {
      zookeepers: 1,
      brokers: 3,
      partitions: this.opts.partitions,
      replicationFactor: 3,
      minInsyncReplicas: 2,
      producers: 'acks=all, idempotent (src/genie/kafka.ts Publisher)',
      jobTypes: 'echo (no-op), sleep {ms: 10}',
      workerArgs: ['--concurrency C --concurrency-min C --concurrency-max C', ...(this.opts.workerArgs ?? [])].join(' '),
      timing: 'at of job.processing / job.completed, read back from cluster-events by the bench',
    };
  }

  /** Logs of every service, for a failure message. */
  logs(): string {
    return [this.jobsService, this.scheduler, ...this.workers]
      .filter((s): s is ServiceProcess => s !== undefined)
      .map((s) => `--- ${s.name}\n${s.logTail()}`)
      .join('\n');
  }

  async close(): Promise<void> {
    await this.readerStream?.close().catch(() => undefined);
    try {
      // close(true) resolves to a Promise at run time; its first overload is typed void.
      await this.reader?.close(true);
    } catch {
      // the reader's failure is not the bench's
    }
    await Promise.all([...this.workers, this.scheduler, this.jobsService].map((s) => s?.kill()));
    this.workers = [];
    await this.cluster?.close(10_000);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
