// The ClusterGenie services `clustergenie up` runs beside ZooKeeper and Kafka, each its own
// process (never inside another service): the Job Service (HTTP API on --jobs-port), the
// scheduler, and --workers worker processes. They reach Kafka and ZooKeeper by address only,
// exactly as they would reach Apache Kafka and ZooKeeper. They are crash-only: one that dies on
// its own is started again (ServiceProcess restartOnCrash), whatever --restart says.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessCluster } from '../cluster/processCluster.js';
import { jobsServiceProcess, schedulerProcess, type ServiceProcess, workerProcess } from '../cluster/serviceProcess.js';

export interface UpServicesOptions {
  dataDir: string;
  jobsPort: number;
  workers: number;
  logLevel: string | undefined;
}

export interface UpServices {
  readonly all: readonly ServiceProcess[];
  readonly jobsUrl: string;
  /** Workers first (they finish or hand back their jobs), then the scheduler and the Job Service. */
  stop(timeoutMs: number): Promise<void>;
  killAll(): Promise<void>;
  summaryLines(): string[];
}

const readyTimeoutMs = 60_000;

export async function startServices(c: ProcessCluster, o: UpServicesOptions): Promise<UpServices> {
  const dir = join(o.dataDir, 'services');
  mkdirSync(dir, { recursive: true });
  const setup = { dir, bootstrap: c.bootstrap, zkConnect: c.zkConnect, ...(o.logLevel ? { logLevel: o.logLevel } : {}) };
  const jobs = jobsServiceProcess(setup, { host: '127.0.0.1', port: o.jobsPort });
  const scheduler = schedulerProcess(setup);
  const workers = Array.from({ length: o.workers }, (_, i) => workerProcess(setup, i + 1));
  const all = [jobs, scheduler, ...workers];
  for (const s of all) s.start();
  await Promise.all(all.map((s) => s.waitReady(readyTimeoutMs)));
  const jobsUrl = `http://127.0.0.1:${o.jobsPort}`;
  return {
    all,
    jobsUrl,
    async stop(timeoutMs) {
      await Promise.all(workers.map((w) => w.stop(timeoutMs)));
      await Promise.all([scheduler.stop(timeoutMs), jobs.stop(timeoutMs)]);
    },
    async killAll() {
      await Promise.all(all.map((s) => s.kill()));
    },
    summaryLines() {
      return all.map(
        (s) => `  ${s.name.padEnd(19)} ${(s === jobs ? jobsUrl : '').padEnd(24)} pid ${String(s.pid).padEnd(8)} log ${s.options.logPath}`,
      );
    },
  };
}
