// A ClusterGenie service (jobs-service, worker, scheduler) as a child process of this build's
// `main.js <service> ...`, as `clustergenie up` and the jobs fault tests run them. Like the
// ZooKeeper members and brokers (processCluster.ts) it runs in its own process group, writes
// stdout and stderr to a log file, and is reached by PID; it is ready once its log shows the
// line the service prints when it serves.

import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { defaultMainJs, type ExitInfo, trackChild } from './processCluster.js';

/** Bound of the log read when looking for the ready line or quoting the tail in an error. */
const logReadBytesMax = 64 * 1024;
const pollIntervalMs = 100;

export interface ServiceProcessOptions {
  /** "jobs-service", "worker 1", ... */
  name: string;
  /** Arguments after main.js: the subcommand and its flags. */
  args: string[];
  logPath: string;
  /** The service's stdout line that means it serves. */
  readyLine: RegExp;
  env?: NodeJS.ProcessEnv;
  mainJs?: string;
  /**
   * Start it again when it dies on its own (a crash, not a stop or kill from here), after
   * restartDelayMs, at most restartsPerWindowMax times within restartWindowMs. The services are
   * crash-only: a worker's unfinished jobs are re-delivered, and a Kafka client that gets into a
   * state it cannot leave (see docs/JOBS.md) is replaced by a fresh process.
   */
  restartOnCrash?: boolean;
}

export const serviceRestartPolicy = { restartDelayMs: 1000, restartsPerWindowMax: 10, restartWindowMs: 60_000 };

export class ServiceProcess extends EventEmitter<{ exit: [info: ExitInfo]; restarted: [pid: number]; restartsExhausted: [] }> {
  private restarts: number[] = [];
  private restartTimer: NodeJS.Timeout | undefined;
  /** Processes started for this service so far. */
  starts = 0;
  private child: ChildProcess | undefined;
  private exited: Promise<ExitInfo> | undefined;
  private expectExit = false;
  /** Log size when the current process started: the ready line must come after it. */
  private logStart = 0;
  lastExit: ExitInfo | undefined;

  constructor(readonly options: ServiceProcessOptions) {
    super();
  }

  get name(): string {
    return this.options.name;
  }
  get pid(): number | undefined {
    return this.alive ? this.child?.pid : undefined;
  }
  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.alive) throw new Error(`${this.name} is already running (pid ${this.child!.pid})`);
    const o = this.options;
    const args = [o.mainJs ?? defaultMainJs(), ...o.args];
    const fd = openSync(o.logPath, 'a');
    let child: ChildProcess;
    try {
      writeSync(fd, `--- ${new Date().toISOString()} starting: ${process.execPath} ${args.join(' ')}\n`);
      this.logStart = statSync(o.logPath).size;
      child = spawn(process.execPath, args, { stdio: ['ignore', fd, fd], detached: true, env: o.env ?? process.env });
    } finally {
      closeSync(fd);
    }
    trackChild(child);
    this.child = child;
    this.starts++;
    this.expectExit = false;
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once('error', () => undefined);
      child.once('exit', (code, signal) => {
        const info: ExitInfo = { code, signal, expected: this.expectExit };
        if (this.child === child) this.lastExit = info;
        resolve(info);
        this.emit('exit', info);
        if (!info.expected && this.options.restartOnCrash) this.scheduleRestart();
      });
    });
  }

  private scheduleRestart(): void {
    const now = Date.now();
    const p = serviceRestartPolicy;
    this.restarts = this.restarts.filter((t) => now - t < p.restartWindowMs);
    if (this.restarts.length >= p.restartsPerWindowMax) {
      this.emit('restartsExhausted');
      return;
    }
    this.restarts.push(now);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.alive || this.expectExit) return;
      this.start();
      if (this.pid !== undefined) this.emit('restarted', this.pid);
    }, p.restartDelayMs);
  }

  private logSinceStart(): string {
    try {
      const buf = readFileSync(this.options.logPath);
      const from = Math.max(this.logStart, buf.length - logReadBytesMax);
      return buf.subarray(from).toString('utf8');
    } catch {
      return '';
    }
  }

  logTail(): string {
    return this.logSinceStart().slice(-4096);
  }

  /**
   * The end of the whole log, earlier runs included: after a crash and restart, why the last run
   * ended is there and not in logTail().
   */
  logFileTail(bytes = 8192): string {
    try {
      const buf = readFileSync(this.options.logPath);
      return buf.subarray(Math.max(0, buf.length - bytes)).toString('utf8');
    } catch {
      return '';
    }
  }

  /** Resolves once the ready line is in the log; throws if the process exits first or the deadline passes. */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.options.readyLine.test(this.logSinceStart())) return;
      if (!this.alive) {
        const e = this.lastExit;
        throw new Error(
          `${this.name} exited before it was ready (${e?.signal ? `signal ${e.signal}` : `exit code ${e?.code}`}); log ${this.options.logPath}:\n${this.logTail()}`,
        );
      }
      if (Date.now() > deadline)
        throw new Error(`${this.name} (pid ${this.pid}) not ready after ${timeoutMs} ms; log ${this.options.logPath}:\n${this.logTail()}`);
      await new Promise((r) => setTimeout(r, pollIntervalMs));
    }
  }

  private signal(sig: NodeJS.Signals): void {
    try {
      if (this.child?.pid !== undefined) process.kill(this.child.pid, sig);
    } catch {
      // already gone
    }
  }

  /** SIGKILL (a crash, for fault tests; not restarted); resolves when the process is gone. */
  async kill(): Promise<ExitInfo | undefined> {
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    if (!this.alive) return this.lastExit;
    this.expectExit = true;
    this.signal('SIGKILL');
    return this.exited;
  }

  /** SIGTERM (the service closes cleanly), SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 30_000): Promise<ExitInfo | undefined> {
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    if (!this.alive) return this.lastExit;
    this.expectExit = true;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Where the job services find Kafka and ZooKeeper, and where their logs go. */
export interface JobServicesSetup {
  /** Directory of the log files (and the Job Service's store, unless given). */
  dir: string;
  bootstrap: string;
  zkConnect: string;
  logLevel?: string;
  /** Start a service again when it dies on its own (default true; a benchmark wants to see the crash). */
  restartOnCrash?: boolean;
}

function commonArgs(s: JobServicesSetup): string[] {
  return ['--bootstrap-server', s.bootstrap, '--zookeeper', s.zkConnect, ...(s.logLevel ? ['--log-level', s.logLevel] : [])];
}

/** `clustergenie jobs-service` on host:port (crash-only: restarted when it dies on its own). */
export function jobsServiceProcess(s: JobServicesSetup, o: { host: string; port: number; dataDir?: string }): ServiceProcess {
  return new ServiceProcess({
    name: 'jobs-service',
    args: [
      'jobs-service',
      ...commonArgs(s),
      '--host',
      o.host,
      '--port',
      String(o.port),
      '--data-dir',
      o.dataDir ?? join(s.dir, 'jobs-service'),
    ],
    logPath: join(s.dir, 'jobs-service.log'),
    readyLine: /jobs-service listening on http/,
    restartOnCrash: s.restartOnCrash ?? true,
  });
}

const metricsArgs = (port: number | undefined): string[] =>
  port === undefined ? [] : ['--metrics-host', '127.0.0.1', '--metrics-port', String(port)];

/** `clustergenie scheduler` (one of possibly several candidates; ZooKeeper elects the active one). */
export function schedulerProcess(s: JobServicesSetup, id = 'scheduler-1', metricsPort?: number): ServiceProcess {
  return new ServiceProcess({
    name: 'scheduler',
    args: ['scheduler', ...commonArgs(s), '--id', id, ...metricsArgs(metricsPort)],
    logPath: join(s.dir, id === 'scheduler-1' ? 'scheduler.log' : `${id}.log`),
    readyLine: /scheduler \S+ ready/,
    restartOnCrash: s.restartOnCrash ?? true,
  });
}

/** `clustergenie worker --id worker-<n>` with extra flags (concurrency, ...). */
export function workerProcess(s: JobServicesSetup, n: number, extraArgs: readonly string[] = [], metricsPort?: number): ServiceProcess {
  return new ServiceProcess({
    name: `worker ${n}`,
    args: ['worker', ...commonArgs(s), ...extraArgs, '--id', `worker-${n}`, ...metricsArgs(metricsPort)],
    logPath: join(s.dir, `worker-${n}.log`),
    readyLine: /worker \S+ ready/,
    restartOnCrash: s.restartOnCrash ?? true,
  });
}

/** `clustergenie log-store`: the embedded Loki-compatible store on host:port. */
export function logStoreProcess(s: JobServicesSetup, o: { host: string; port: number; dataDir: string }): ServiceProcess {
  return new ServiceProcess({
    name: 'log-store',
    args: [
      'log-store',
      '--host',
      o.host,
      '--port',
      String(o.port),
      '--data-dir',
      o.dataDir,
      ...(s.logLevel ? ['--log-level', s.logLevel] : []),
    ],
    logPath: join(s.dir, 'log-store.log'),
    readyLine: /log-store listening on http/,
    restartOnCrash: s.restartOnCrash ?? true,
  });
}

/** `clustergenie dashboard`: the web dashboard over ZooKeeper, Kafka, the Job Service and the log store. */
export function dashboardProcess(s: JobServicesSetup, o: { port: number; jobsUrl: string; logsUrl: string }): ServiceProcess {
  return new ServiceProcess({
    name: 'dashboard',
    args: [
      'dashboard',
      '--zookeeper',
      s.zkConnect,
      '--bootstrap-server',
      s.bootstrap,
      '--jobs-url',
      o.jobsUrl,
      '--logs-url',
      o.logsUrl,
      '--host',
      '127.0.0.1',
      '--port',
      String(o.port),
      ...(s.logLevel ? ['--log-level', s.logLevel] : []),
    ],
    logPath: join(s.dir, 'dashboard.log'),
    readyLine: /Dashboard on http/,
    restartOnCrash: s.restartOnCrash ?? true,
  });
}

/** `clustergenie log-consumer`: logs.dev to the Loki push endpoint at lokiUrl. */
export function logConsumerProcess(s: JobServicesSetup, o: { lokiUrl: string; metricsPort?: number }): ServiceProcess {
  return new ServiceProcess({
    name: 'log-consumer',
    args: [
      'log-consumer',
      '--bootstrap-server',
      s.bootstrap,
      '--loki-url',
      o.lokiUrl,
      ...(o.metricsPort === undefined ? [] : ['--metrics-port', String(o.metricsPort)]),
      ...(s.logLevel ? ['--log-level', s.logLevel] : []),
    ],
    logPath: join(s.dir, 'log-consumer.log'),
    readyLine: /log-consumer ready/,
    restartOnCrash: s.restartOnCrash ?? true,
  });
}

/** `clustergenie ship-logs <files>`: the given log files into logs.dev, position kept in checkpointPath. */
export function shipLogsProcess(s: JobServicesSetup, o: { files: readonly string[]; checkpointPath: string }): ServiceProcess {
  return new ServiceProcess({
    name: 'ship-logs',
    args: [
      'ship-logs',
      '--bootstrap-server',
      s.bootstrap,
      '--checkpoint',
      o.checkpointPath,
      '--from-beginning',
      ...(s.logLevel ? ['--log-level', s.logLevel] : []),
      ...o.files,
    ],
    logPath: join(s.dir, 'ship-logs.log'),
    readyLine: /ship-logs ready/,
    restartOnCrash: s.restartOnCrash ?? true,
  });
}

/** `clustergenie monitor`: alert rules over the ensemble, the brokers and the watched dirs. */
export function monitorProcess(
  s: JobServicesSetup,
  o: {
    metricsPort: number;
    watchDirs: readonly string[];
    jobsMetricsUrl?: string;
    id?: string;
    /** ZooKeeper data dirs whose transaction logs the ZkTxnLogGrowing rule watches. */
    zkDataDirs?: readonly string[];
  },
): ServiceProcess {
  return new ServiceProcess({
    name: 'monitor',
    args: [
      'monitor',
      ...commonArgs(s),
      '--id',
      o.id ?? 'monitor-1',
      ...metricsArgs(o.metricsPort),
      ...o.watchDirs.flatMap((d) => ['--watch-dir', d]),
      ...(o.zkDataDirs ?? []).flatMap((d) => ['--zk-data-dir', d]),
      ...(o.jobsMetricsUrl ? ['--jobs-url', o.jobsMetricsUrl] : []),
    ],
    logPath: join(s.dir, 'monitor.log'),
    readyLine: /monitor \S+ ready/,
    restartOnCrash: s.restartOnCrash ?? true,
  });
}
