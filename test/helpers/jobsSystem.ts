// The jobs system as the end-to-end and fault tests run it: ZooKeeper members and Kafka brokers as
// processes (ProcessCluster), the job topics, and the services as processes of this build's CLI
// (jobs-service, scheduler, workers), so kill -9 acts on real processes. Also reads every event
// back from cluster-events for the checker (jobHistory.ts).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Consumer, stringDeserializers } from '@platformatic/kafka';
import { ProcessCluster, type ProcessClusterOptions } from '../../src/cluster/processCluster.js';
import { jobsServiceProcess, schedulerProcess, type ServiceProcess, workerProcess } from '../../src/cluster/serviceProcess.js';
import { decodeJobEvent, JOB_TOPICS, type WorkerScaledEvent } from '../../src/genie/jobs/events.js';
import { isOwnerMarker, mayBeOwnerMarker } from '../../src/genie/jobs/fence.js';
import { clientBase, ensureTopics, jobTopics } from '../../src/genie/kafka.js';
import { freePort } from '../../src/util/net.js';
import type { ReadEvent, ReadMarker } from './jobHistory.js';
import { waitFor } from './wait.js';

export interface JobsSystemOptions {
  zookeepers?: number;
  brokers?: number;
  workers?: number;
  partitions?: number;
  /** Extra flags for every worker (e.g. --concurrency). */
  workerArgs?: string[];
  brokerConfig?: ProcessClusterOptions['brokerConfig'];
  /** Run the services against this Kafka and ZooKeeper (e.g. Apache's) instead of starting ours. */
  external?: { bootstrap: string; zkConnect: string; replicationFactor: number };
}

export class JobsSystem {
  readonly workers: ServiceProcess[] = [];

  private constructor(
    readonly dir: string,
    private readonly ours: ProcessCluster | undefined,
    readonly bootstrap: string,
    readonly zkConnect: string,
    readonly jobsService: ServiceProcess,
    readonly scheduler: ServiceProcess,
    readonly api: string,
    private readonly workerArgs: string[],
  ) {}

  /** Our process cluster (not there when the services run against an external Kafka). */
  get cluster(): ProcessCluster {
    if (!this.ours) throw new Error('the services run against an external Kafka and ZooKeeper');
    return this.ours;
  }

  static async start(o: JobsSystemOptions = {}): Promise<JobsSystem> {
    const dir = mkdtempSync(join(tmpdir(), 'cg-jobs-'));
    const brokers = o.brokers ?? 3;
    const cluster = o.external
      ? undefined
      : await ProcessCluster.start({
          dir,
          zookeepers: o.zookeepers ?? 1,
          brokers,
          tickTimeMs: 500,
          initLimit: 10,
          syncLimit: 5,
          brokerConfig: (id) => ({
            'zookeeper.session.timeout.ms': '6000',
            'offsets.topic.replication.factor': String(Math.min(3, brokers)),
            'group.initial.rebalance.delay.ms': '0',
            ...(o.brokerConfig?.(id) ?? {}),
          }),
        });
    const bootstrap = o.external?.bootstrap ?? cluster!.bootstrap;
    const zkConnect = o.external?.zkConnect ?? cluster!.zkConnect;
    try {
      const kafka = { bootstrapBrokers: bootstrap.split(','), clientId: 'jobs-test-setup' };
      const replicationFactor = o.external?.replicationFactor ?? Math.min(3, brokers);
      await ensureTopics(kafka, jobTopics({ partitions: o.partitions ?? 3, replicationFactor }));
      const setup = { dir, bootstrap, zkConnect };
      const port = await freePort();
      const jobsService = jobsServiceProcess(setup, { host: '127.0.0.1', port });
      const scheduler = schedulerProcess(setup);
      const system = new JobsSystem(
        dir,
        cluster,
        bootstrap,
        zkConnect,
        jobsService,
        scheduler,
        `http://127.0.0.1:${port}`,
        o.workerArgs ?? [],
      );
      jobsService.start();
      scheduler.start();
      for (let i = 0; i < (o.workers ?? 2); i++) system.addWorker();
      await Promise.all([jobsService, scheduler, ...system.workers].map((s) => s.waitReady(60_000)));
      return system;
    } catch (e) {
      await cluster?.close(5000);
      throw e;
    }
  }

  /** Starts one more worker process (worker-<n>); call waitReady on it. */
  addWorker(): ServiceProcess {
    const w = workerProcess(
      { dir: this.dir, bootstrap: this.bootstrap, zkConnect: this.zkConnect },
      this.workers.length + 1,
      this.workerArgs,
    );
    this.workers.push(w);
    w.start();
    return w;
  }

  async close(): Promise<void> {
    await Promise.all([...this.workers, this.scheduler, this.jobsService].map((s) => s.kill()));
    await this.ours?.close(10_000);
    // CG_KEEP_TEST_DIRS=1 keeps every process's log and data for a post-mortem.
    if (process.env.CG_KEEP_TEST_DIRS === '1') console.error(`kept ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * What every process of the system was doing, for a failed test: each broker and ZooKeeper node
   * (alive or not, and the end of its log), then each service.
   */
  diagnose(): string {
    const nodes = (this.ours?.nodes ?? []).map((n) => `--- ${n.name} (${n.alive ? `pid ${n.pid}` : 'not running'})\n${n.logTail()}`);
    // Services restarted after a crash: the end of their whole log shows why the earlier run ended.
    const services = [this.jobsService, this.scheduler, ...this.workers].map(
      (s) =>
        `--- ${s.name} (starts ${s.starts}, ${s.alive ? `pid ${s.pid}` : 'not running'})\n${s.starts > 1 ? s.logFileTail() : s.logTail()}`,
    );
    return [...nodes, ...services].join('\n');
  }

  /** Logs of every service, for a failure message. */
  logs(): string {
    return [this.jobsService, this.scheduler, ...this.workers].map((s) => `--- ${s.name}\n${s.logTail()}`).join('\n');
  }

  async post<T>(path: string, body: unknown): Promise<{ status: number; body: T }> {
    const r = await fetch(`${this.api}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as T };
  }

  async get<T>(path: string): Promise<{ status: number; body: T }> {
    const r = await fetch(`${this.api}${path}`);
    return { status: r.status, body: (await r.json()) as T };
  }

  /** Every job event on cluster-events up to the partitions' current ends (a fresh group reading from the start). */
  async readAllEvents(timeoutMs = 60_000): Promise<ReadEvent[]> {
    return (await this.readAllRecords(timeoutMs)).events;
  }

  /** readAllEvents, the partitions' owner markers (for the checker's fence) and the `worker.scaled` events. */
  async readAllRecords(timeoutMs = 60_000): Promise<{ events: ReadEvent[]; markers: ReadMarker[]; scaled: WorkerScaledEvent[] }> {
    const consumer = new Consumer({
      ...clientBase({ bootstrapBrokers: this.bootstrap.split(','), clientId: 'jobs-test-reader' }),
      groupId: `jobs-test-reader-${Date.now()}-${Math.random().toString(36).slice(2)}`,
      deserializers: stringDeserializers,
      maxWaitTime: 200,
    });
    try {
      const ends = await consumer.listOffsets({ topics: [JOB_TOPICS.events] });
      const endOf = ends.get(JOB_TOPICS.events) ?? [];
      const out: ReadEvent[] = [];
      const markers: ReadMarker[] = [];
      const scaled: WorkerScaledEvent[] = [];
      const seen = endOf.map(() => -1n);
      const stream = await consumer.consume({ topics: [JOB_TOPICS.events], mode: 'earliest', autocommit: false });
      stream.on('data', (m) => {
        seen[m.partition] = m.offset;
        const event = decodeJobEvent(m.value);
        if (event) out.push({ partition: m.partition, offset: Number(m.offset), event });
        else if (m.value && mayBeOwnerMarker(m.value)) {
          const parsed = JSON.parse(m.value) as { worker?: unknown };
          if (isOwnerMarker(parsed)) markers.push({ partition: m.partition, offset: Number(m.offset), worker: String(parsed.worker) });
        } else if (m.value?.includes('"worker.scaled"')) {
          const parsed = JSON.parse(m.value) as WorkerScaledEvent;
          if (parsed.type === 'worker.scaled') scaled.push(parsed);
        }
      });
      try {
        await waitFor(() => endOf.every((end, p) => end === 0n || seen[p]! >= end - 1n), {
          timeoutMs,
          what: () => `cluster-events read to its ends ${endOf.join(',')}, at ${seen.join(',')}`,
        });
      } finally {
        await stream.close();
      }
      return { events: out, markers, scaled };
    } finally {
      await consumer.close(true);
    }
  }
}
