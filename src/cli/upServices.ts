// The ClusterGenie services `clustergenie up` runs beside ZooKeeper and Kafka, each its own
// process (never inside another service): the Job Service (HTTP API on --jobs-port), the
// scheduler, --workers worker processes, the log store (Loki API on --logs-port), the Log
// Consumer, a shipper of every process's own log file into logs.dev, and the monitor. They reach
// Kafka and ZooKeeper by address only, exactly as they would reach Apache Kafka and ZooKeeper.
// They are crash-only: one that dies on its own is started again (ServiceProcess restartOnCrash),
// whatever --restart says.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessCluster } from '../cluster/processCluster.js';
import {
  jobsServiceProcess,
  logConsumerProcess,
  logStoreProcess,
  monitorProcess,
  schedulerProcess,
  type ServiceProcess,
  shipLogsProcess,
  workerProcess,
} from '../cluster/serviceProcess.js';
import type { ScrapeTarget } from './prometheusTargets.js';

export interface UpServicesOptions {
  dataDir: string;
  jobsPort: number;
  workers: number;
  logLevel: string | undefined;
  /** The log store's port (Loki's 3100 by default). */
  logsPort: number;
  /** The first of the services' /metrics ports (scheduler, workers, Log Consumer, monitor in that order). */
  metricsPortFirst: number;
}

export interface UpServices {
  readonly all: readonly ServiceProcess[];
  readonly jobsUrl: string;
  readonly logsUrl: string;
  /** The services' /metrics addresses for Prometheus. */
  readonly scrapeTargets: readonly ScrapeTarget[];
  /** Workers first (they finish or hand back their jobs), then the rest; the shipper last, so it ships their last lines. */
  stop(timeoutMs: number): Promise<void>;
  killAll(): Promise<void>;
  summaryLines(): string[];
}

/** How many /metrics ports from metricsPortFirst the services take. */
export function servicesMetricsPorts(workers: number): number {
  return workers + 3;
}

const readyTimeoutMs = 60_000;

export async function startServices(c: ProcessCluster, o: UpServicesOptions): Promise<UpServices> {
  const dir = join(o.dataDir, 'services');
  mkdirSync(dir, { recursive: true });
  const setup = { dir, bootstrap: c.bootstrap, zkConnect: c.zkConnect, ...(o.logLevel ? { logLevel: o.logLevel } : {}) };
  const jobsUrl = `http://127.0.0.1:${o.jobsPort}`;
  const logsUrl = `http://127.0.0.1:${o.logsPort}`;
  let nextMetricsPort = o.metricsPortFirst;
  const scrapeTargets: ScrapeTarget[] = [{ job: 'jobs-service', address: `127.0.0.1:${o.jobsPort}` }];
  const metricsPort = (job: string, labels?: Record<string, string>): number => {
    const port = nextMetricsPort++;
    scrapeTargets.push({ job, address: `127.0.0.1:${port}`, ...(labels ? { labels } : {}) });
    return port;
  };

  const jobs = jobsServiceProcess(setup, { host: '127.0.0.1', port: o.jobsPort });
  const scheduler = schedulerProcess(setup, 'scheduler-1', metricsPort('scheduler'));
  const workers = Array.from({ length: o.workers }, (_, i) =>
    workerProcess(setup, i + 1, [], metricsPort('worker', { worker: `worker-${i + 1}` })),
  );
  const logStore = logStoreProcess(setup, { host: '127.0.0.1', port: o.logsPort, dataDir: join(o.dataDir, 'log-store') });
  scrapeTargets.push({ job: 'log-store', address: `127.0.0.1:${o.logsPort}` });
  const logConsumer = logConsumerProcess(setup, { lokiUrl: logsUrl, metricsPort: metricsPort('log-consumer') });
  const monitor = monitorProcess(setup, {
    metricsPort: metricsPort('monitor'),
    watchDirs: [o.dataDir],
    jobsMetricsUrl: `${jobsUrl}/metrics`,
  });
  const others = [jobs, scheduler, ...workers, logStore, logConsumer, monitor];
  // Every process's own log file, ZooKeeper members and brokers included, goes to logs.dev.
  const shipper = shipLogsProcess(setup, {
    files: [...c.nodes.map((n) => n.logPath), ...others.map((s) => s.options.logPath)],
    checkpointPath: join(dir, 'ship-logs.checkpoint.json'),
  });
  const all = [...others, shipper];
  for (const s of all) s.start();
  await Promise.all(all.map((s) => s.waitReady(readyTimeoutMs)));
  const urls = new Map<ServiceProcess, string>([
    [jobs, jobsUrl],
    [logStore, logsUrl],
  ]);
  return {
    all,
    jobsUrl,
    logsUrl,
    scrapeTargets,
    async stop(timeoutMs) {
      await Promise.all(workers.map((w) => w.stop(timeoutMs)));
      await Promise.all([scheduler, jobs, monitor, logConsumer, logStore].map((s) => s.stop(timeoutMs)));
      await shipper.stop(timeoutMs);
    },
    async killAll() {
      await Promise.all(all.map((s) => s.kill()));
    },
    summaryLines() {
      return all.map(
        (s) => `  ${s.name.padEnd(19)} ${(urls.get(s) ?? '').padEnd(24)} pid ${String(s.pid).padEnd(8)} log ${s.options.logPath}`,
      );
    },
  };
}
