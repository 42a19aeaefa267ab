// The ClusterGenie services `clustergenie up` runs beside ZooKeeper and Kafka, each its own
// process (never inside another service): the Job Service (HTTP API on --jobs-port), the
// scheduler, --workers worker processes, the log store (Loki API on --logs-port), the Log
// Consumer, a shipper of every process's own log file into logs.dev, and the monitor. They reach
// Kafka and ZooKeeper by address only, exactly as they would reach Apache Kafka and ZooKeeper.
// They are crash-only: one that dies on its own is started again (ServiceProcess restartOnCrash),
// whatever --restart says. Also up's table of what runs where (upSummary) and <data-dir>/up.json.

import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { ProcessCluster } from '../cluster/processCluster.js';
import {
  jobsServiceProcess,
  logConsumerProcess,
  logStoreProcess,
  dashboardProcess,
  monitorProcess,
  schedulerProcess,
  type ServiceProcess,
  shipLogsProcess,
  workerProcess,
} from '../cluster/serviceProcess.js';
import { formatTable } from './output.js';
import type { ScrapeTarget } from './prometheusTargets.js';
import { DETACHED_ENV, UP_READY_LINE } from './upDetach.js';
import { WorkerProcessScaler, type WorkerCount } from './upWorkerScaler.js';

export interface UpServicesOptions {
  dataDir: string;
  jobsPort: number;
  /** Worker processes to start with (all of them unless workerScale is set). */
  workers: number;
  /** Scale worker processes between min and max with the backlog (upWorkerScaler.ts). */
  workerScale?: WorkerCount['scale'];
  /** up's output, for the scaler's lines. */
  say?: (line: string) => void;
  logLevel: string | undefined;
  /** The log store's port (Loki's 3100 by default). */
  logsPort: number;
  /** The dashboard's HTTP port (http://127.0.0.1:<port>). */
  dashboardPort: number;
  /** The first of the services' /metrics ports (scheduler, workers, Log Consumer, monitor in that order). */
  metricsPortFirst: number;
}

/** One row of up's table: what runs where. */
export interface UpRow {
  name: string;
  /** URL of an HTTP service, host:port of a member, broker or /metrics endpoint; '-' when none. */
  address: string;
  pid: number | undefined;
  /** Its data directory ('-' when it keeps none). */
  dataDir: string;
  log: string;
}

export interface UpServices {
  readonly all: readonly ServiceProcess[];
  readonly jobsUrl: string;
  readonly logsUrl: string;
  /** The dashboard's URL once up runs it (http://127.0.0.1:3000 by default); undefined while it does not. */
  readonly dashboardUrl: string | undefined;
  /** The services' /metrics addresses for Prometheus. */
  readonly scrapeTargets: readonly ScrapeTarget[];
  /** Workers first (they finish or hand back their jobs), then the rest; the shipper last, so it ships their last lines. */
  stop(timeoutMs: number): Promise<void>;
  killAll(): Promise<void>;
  /** The services' rows of up's table (current PIDs). */
  rows(): UpRow[];
  /** The worker-process autoscaler, when --workers-max turned it on. */
  readonly workerScaler: WorkerProcessScaler | undefined;
}

/** How many /metrics ports from metricsPortFirst the services take. */
export function servicesMetricsPorts(workers: number): number {
  return workers + 3;
}

const readyTimeoutMs = 60_000;
/** A worker the autoscaler stops gets this long to finish its jobs (unfinished ones are re-delivered). */
const workerStopTimeoutMs = 15_000;

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
  /** What the table shows for each service: its URL, or its /metrics address; and its data dir. */
  const where = new Map<ServiceProcess, { address: string; dataDir?: string }>();
  const metricsOf = (s: ServiceProcess): ServiceProcess => {
    const t = scrapeTargets[scrapeTargets.length - 1]!;
    where.set(s, { address: t.address });
    return s;
  };

  const jobsDataDir = join(dir, 'jobs-service');
  const jobs = jobsServiceProcess(setup, { host: '127.0.0.1', port: o.jobsPort, dataDir: jobsDataDir });
  where.set(jobs, { address: jobsUrl, dataDir: jobsDataDir });
  const scheduler = metricsOf(schedulerProcess(setup, 'scheduler-1', metricsPort('scheduler')));
  // With scaling, every slot up to the max has its /metrics port (and scrape target) and log file
  // from the start, so ports are checked once and Prometheus and the log shipper know them all;
  // a slot not running is a target that is down.
  const slots = o.workerScale?.max ?? o.workers;
  const workers = Array.from({ length: slots }, (_, i) =>
    metricsOf(workerProcess(setup, i + 1, [], metricsPort('worker', { worker: `worker-${i + 1}` }))),
  );
  for (const w of workers.slice(o.workers)) closeSync(openSync(w.options.logPath, 'a'));
  const logStoreDataDir = join(o.dataDir, 'log-store');
  const logStore = logStoreProcess(setup, { host: '127.0.0.1', port: o.logsPort, dataDir: logStoreDataDir });
  where.set(logStore, { address: logsUrl, dataDir: logStoreDataDir });
  scrapeTargets.push({ job: 'log-store', address: `127.0.0.1:${o.logsPort}` });
  const logConsumer = metricsOf(logConsumerProcess(setup, { lokiUrl: logsUrl, metricsPort: metricsPort('log-consumer') }));
  const monitor = metricsOf(
    monitorProcess(setup, {
      metricsPort: metricsPort('monitor'),
      watchDirs: [o.dataDir],
      zkDataDirs: c.zookeepers.flatMap((z) => z.layout.dataDirs.slice(0, 1)),
      jobsMetricsUrl: `${jobsUrl}/metrics`,
    }),
  );
  const dashboardUrl = `http://127.0.0.1:${o.dashboardPort}`;
  const dashboard = dashboardProcess(setup, { port: o.dashboardPort, jobsUrl, logsUrl });
  where.set(dashboard, { address: dashboardUrl });
  const others = [jobs, scheduler, ...workers, logStore, logConsumer, monitor, dashboard];
  // Every process's own log file, ZooKeeper members and brokers included, goes to logs.dev.
  const shipper = shipLogsProcess(setup, {
    files: [...c.nodes.map((n) => n.logPath), ...others.map((s) => s.options.logPath)],
    checkpointPath: join(dir, 'ship-logs.checkpoint.json'),
  });
  const all = [...others, shipper];
  const idle = new Set(workers.slice(o.workers));
  const starting = all.filter((s) => !idle.has(s));
  for (const s of starting) s.start();
  await Promise.all(starting.map((s) => s.waitReady(readyTimeoutMs)));
  const scale = o.workerScale;
  const workerScaler = scale
    ? new WorkerProcessScaler({
        slots: workers,
        initial: o.workers,
        min: scale.min,
        max: scale.max,
        policy: scale.policy,
        bootstrap: c.bootstrap,
        zkConnect: c.zkConnect,
        stopTimeoutMs: workerStopTimeoutMs,
        say: o.say ?? (() => undefined),
      })
    : undefined;
  workerScaler?.start();
  return {
    workerScaler,
    all,
    jobsUrl,
    logsUrl,
    dashboardUrl,
    scrapeTargets,
    async stop(timeoutMs) {
      await workerScaler?.stop();
      await Promise.all(workers.map((w) => w.stop(timeoutMs)));
      await Promise.all([dashboard, scheduler, jobs, monitor, logConsumer, logStore].map((s) => s.stop(timeoutMs)));
      await shipper.stop(timeoutMs);
    },
    async killAll() {
      void workerScaler?.stop();
      await Promise.all(all.map((s) => s.kill()));
    },
    rows() {
      return all.map((s) => ({
        name: s.name,
        address: where.get(s)?.address ?? '-',
        pid: s.pid,
        dataDir: where.get(s)?.dataDir ?? '-',
        log: s.options.logPath,
      }));
    },
  };
}

/** What up's table needs besides the cluster and the services. */
export interface UpTableInfo {
  dataDir: string;
  restart: boolean;
  /** The topics line ("Topics: ..."). */
  topics: string;
  /** Said instead of the services' lines when they do not run. */
  servicesNote: string;
  targetsFile: string;
}

/** The members', brokers' and services' rows, in that order. */
export function upRows(c: ProcessCluster, services: UpServices | undefined): UpRow[] {
  return [
    ...c.nodes.map((n) => ({ name: n.name, address: `${n.host}:${n.port}`, pid: n.pid, dataDir: n.dir, log: n.logPath })),
    ...(services?.rows() ?? []),
  ];
}

/** up's table of what runs where, and the lines to reach and stop the system; ends with the ready line. */
export function upSummary(c: ProcessCluster, services: UpServices | undefined, t: UpTableInfo): string {
  const rel = (p: string): string => (p === '-' ? p : relative(t.dataDir, p) || '.');
  // Names and addresses first, then "pid N": scripts (and test/cli/up.test.ts) read the PIDs from these lines.
  const table = formatTable(
    ['NAME', 'ADDRESS', 'PID', 'DATA DIR', 'LOG'],
    upRows(c, services).map((r) => [r.name, r.address, `pid ${r.pid ?? '-'}`, rel(r.dataDir), rel(r.log)]),
  )
    .trimEnd()
    .split('\n')
    .map((l) => `  ${l}`);
  const detached = process.env[DETACHED_ENV] === '1';
  const n = (k: number, one: string, many: string): string => `${k} ${k === 1 ? one : many}`;
  return [
    `clustergenie up: ${n(c.zookeepers.length, 'ZooKeeper member', 'ZooKeeper members')} and ${n(c.brokers.length, 'Kafka broker', 'Kafka brokers')}` +
      `${services ? ` and ${services.all.filter((s) => s.alive).length} services` : ''} running (paths under ${t.dataDir})`,
    ...table,
    ...(services?.dashboardUrl ? [`Dashboard:          ${services.dashboardUrl}`] : []),
    `ZooKeeper connect:  ${c.zkConnect}`,
    `Kafka bootstrap:    ${c.bootstrap}`,
    ...(services
      ? [
          `Jobs API:           ${services.jobsUrl}/api/jobs (docs/API.md; clustergenie jobs)`,
          `Logs API:           ${services.logsUrl}/loki/api/v1/query_range (Loki's API; clustergenie logs)`,
        ]
      : [t.servicesNote]),
    t.topics,
    `Configs:            ${join(t.dataDir, 'zookeeper', 'zk<N>', 'zoo.cfg')}, ${join(t.dataDir, 'kafka', 'kafka<N>', 'server.properties')} (written only when missing)`,
    `Prometheus targets: ${t.targetsFile} (file_sd_configs; docs/MONITORING.md)`,
    detached
      ? `Stop: clustergenie down --data-dir ${t.dataDir} (or kill ${process.pid}); brokers stop first, then ZooKeeper.`
      : `Stop: Ctrl-C, or kill ${process.pid}, or clustergenie down --data-dir ${t.dataDir} (brokers stop first, then ZooKeeper).`,
    `Killing one member or broker by its pid is reported${detached ? ` in ${join(t.dataDir, 'up.log')}` : ' here'} and leaves the rest running${t.restart ? '; --restart starts it again' : ''}.`,
    `${UP_READY_LINE} (pid ${process.pid})`,
    '',
  ].join('\n');
}

/** <data-dir>/up.json: what runs where, for scripts and `status` (up removes it when it stops). */
export function writeUpJson(c: ProcessCluster, services: UpServices | undefined, t: UpTableInfo): void {
  const doc = {
    pid: process.pid,
    dataDir: t.dataDir,
    zkConnect: c.zkConnect,
    bootstrap: c.bootstrap,
    jobsUrl: services?.jobsUrl ?? null,
    logsUrl: services?.logsUrl ?? null,
    dashboardUrl: services?.dashboardUrl ?? null,
    prometheusTargets: t.targetsFile,
    processes: upRows(c, services),
  };
  writeFileSync(join(t.dataDir, 'up.json'), `${JSON.stringify(doc, null, 2)}\n`);
}
