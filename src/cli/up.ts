// `clustergenie up`: the whole local system as a supervisor of one process per ZooKeeper member
// and per Kafka broker (`clustergenie zookeeper|kafka --config <file>`), so any one of them can
// be killed, paused or stopped by its PID, as the failure drills do.
//
// Nothing is written before the locks are checked: `up` holds `<data-dir>/.clustergenie.lock`
// for its lifetime, and every member's data directory must be free (its own server takes that
// lock). Config files are written only when missing, so edits survive restarts. A child that
// dies is reported and the rest keep running (restarted only with --restart). SIGINT/SIGTERM
// stop the brokers first (controlled shutdown needs the ensemble), then the members; a second
// signal kills everything at once.
//
// Every port is checked before anything is written or started, and a busy one names the flag (or
// the existing config file) to change; exit codes follow exitCodes.ts (busy 7, usage 2). Once all
// runs, up prints a table of what runs where (also kept in <data-dir>/up.json) and its PID is in
// <data-dir>/up.pid, for `clustergenie down`; --detach runs all this in the background (upDetach.ts).

import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type ClusterNode, type ExitInfo, ProcessCluster } from '../cluster/processCluster.js';
import { brokerDir, plannedPaths, zkMemberDir } from '../cluster/processClusterLayout.js';
import { loadServerProperties } from '../kafka/config.js';
import { loadZooCfg } from '../zookeeper/config.js';
import { DataDirLockedError, lockDataDir } from '../zookeeper/persistence/files.js';
import { PROMETHEUS_PROVIDER, prometheusEnabled } from '../zookeeper/server/metricsOptions.js';
import { ExitCode } from './exitCodes.js';
import { type ScrapeTarget, writePrometheusTargets } from './prometheusTargets.js';
import { readUpPid, removeUpPid, startDetached, upPidPath } from './upDetach.js';
import { ensureTopics, type TopicSpec } from './upTopics.js';
import { servicesMetricsPorts, startServices, type UpServices, upSummary, writeUpJson } from './upServices.js';
import { parseWorkerFlags, type WorkerCount, workerSlots } from './upWorkerScaler.js';

const rf3 = { partitions: 3, replicationFactor: 3 };
const TOPICS: readonly TopicSpec[] = [
  ...['cluster-events', 'logs.dev', 'cluster-events.delay', 'cluster-events.dlq', 'monitoring.alerts', 'monitoring.metrics'].map(
    (name) => ({
      name,
      ...rf3,
      configs: { 'min.insync.replicas': '2' },
    }),
  ),
  // The Job Service's compacted view snapshots (docs/JOBS.md).
  { name: 'clustergenie.jobs', ...rf3, configs: { 'min.insync.replicas': '2', 'cleanup.policy': 'compact' } },
];

/** Restarts of one node (with --restart) within restartWindowMs before up gives up on it. */
const restartsPerWindowMax = 5;
const restartWindowMs = 60_000;
const restartDelayMs = 1000;
/** How long stopping waits for brokers (controlled shutdown) and then members before SIGKILL. */
const brokerStopTimeoutMs = 30_000;
const zkStopTimeoutMs = 10_000;
/** Workers get this long to finish running jobs before they are killed (unfinished ones are re-delivered). */
const serviceStopTimeoutMs = 15_000;
const startTimeoutMs = 120_000;
/**
 * A repeat of the stop signal within this window is the same request: Ctrl-C under `npm start`
 * reaches up twice (from the terminal and forwarded by npm). A later one kills everything.
 */
const signalRepeatGraceMs = 2000;

/** A start-up failure with the exit code it ends with (exitCodes.ts). */
class UpError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.failure,
  ) {
    super(message);
  }
}

const UP_HELP = `usage: clustergenie up [options]
  the whole local system, one process per node (README.md, docs/OPERATIONS.md)
  --data-dir <dir>          configs, data and logs (./data); configs are written only when missing
  --detach                  run in the background (output in <data-dir>/up.log); stop with \`clustergenie down\`
  --zk-members <n>          ZooKeeper members (3)          --brokers <n>        Kafka brokers (3)
  --zk-port <port>          first client port (2181)       --kafka-port <port>  first broker port (9092)
  --zk-quorum-port <port>   first quorum port (2888)       --zk-election-port <port>  first election port (3888)
  --admin-port <port>       member 1's admin server (8080) --metrics-port <port>      first /metrics port (7000)
  --jobs-port <port>        Job Service (8081)             --logs-port <port>   log store (3100)
  --dashboard-port <port>   dashboard (3000)
  --workers <n>             worker processes (2)           --no-services        only ZooKeeper and Kafka
  --workers-min <n>, --workers-max <n>   scale worker processes with the backlog between these (docs/JOBS.md);
                            tuned by --workers-backlog <records>, --workers-idle-ms <ms>, --workers-cooldown-ms <ms>
  --tick-time <ms>, --init-limit <ticks>, --sync-limit <ticks>   zoo.cfg timing (new configs only)
  --restart                 start a member or broker again when it dies
  --log-level <level>       children's log level
exit codes: 0 stopped cleanly, 1 failed, 2 bad flag, 7 a port or the data dir is taken (docs/CLI.md)
`;

interface UpFlags {
  dataDir: string;
  zkPort: number;
  quorumPort: number;
  electionPort: number;
  adminPort: number;
  kafkaPort: number;
  brokers: number;
  zkMembers: number;
  tickTimeMs: number;
  initLimit: number;
  syncLimit: number;
  restart: boolean;
  logLevel: string | undefined;
  jobsPort: number;
  workers: number;
  /** --workers-min/--workers-max: worker processes scale with the backlog (upWorkerScaler.ts). */
  workerScale: WorkerCount['scale'];
  services: boolean;
  logsPort: number;
  dashboardPort: number;
  /** First /metrics port: ZooKeeper members, then brokers, then the services (metricsPortsOf). */
  metricsPort: number;
  /** Timing flags given on the command line (they do not change existing zoo.cfg files). */
  timingGiven: string[];
  detach: boolean;
  help: boolean;
}

function parseFlags(args: string[]): UpFlags {
  const { values } = parseArgs({
    args,
    options: {
      'data-dir': { type: 'string' },
      'zk-port': { type: 'string' },
      'zk-quorum-port': { type: 'string' },
      'zk-election-port': { type: 'string' },
      'admin-port': { type: 'string' },
      'kafka-port': { type: 'string' },
      brokers: { type: 'string' },
      'zk-members': { type: 'string' },
      'tick-time': { type: 'string' },
      'init-limit': { type: 'string' },
      'sync-limit': { type: 'string' },
      restart: { type: 'boolean' },
      'log-level': { type: 'string' },
      'jobs-port': { type: 'string' },
      'dashboard-port': { type: 'string' },
      workers: { type: 'string' },
      'workers-min': { type: 'string' },
      'workers-max': { type: 'string' },
      'workers-backlog': { type: 'string' },
      'workers-idle-ms': { type: 'string' },
      'workers-cooldown-ms': { type: 'string' },
      'no-services': { type: 'boolean' },
      'logs-port': { type: 'string' },
      'metrics-port': { type: 'string' },
      detach: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const int = (name: keyof typeof values, dflt: number, min: number, max: number): number => {
    const v = values[name];
    const n = v === undefined ? dflt : Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new UpError(`--${name} must be an integer from ${min} to ${max}, got "${String(v)}"`, ExitCode.usage);
    return n;
  };
  const brokers = int('brokers', 3, 1, 100);
  let workerCount: WorkerCount;
  try {
    workerCount = parseWorkerFlags(values);
  } catch (e) {
    throw new UpError((e as Error).message, ExitCode.usage);
  }
  const zkMembers = int('zk-members', 3, 1, 15);
  const port = (name: keyof typeof values, dflt: number, count: number): number => int(name, dflt, 1, 65536 - count);
  return {
    dataDir: resolve(values['data-dir'] ?? join(process.cwd(), 'data')),
    zkPort: port('zk-port', 2181, zkMembers),
    quorumPort: port('zk-quorum-port', 2888, zkMembers),
    electionPort: port('zk-election-port', 3888, zkMembers),
    adminPort: port('admin-port', 8080, 1),
    kafkaPort: port('kafka-port', 9092, brokers),
    brokers,
    zkMembers,
    tickTimeMs: int('tick-time', 2000, 1, 3_600_000),
    initLimit: int('init-limit', 5, 1, 1000),
    syncLimit: int('sync-limit', 2, 1, 1000),
    restart: values.restart === true,
    logLevel: values['log-level'],
    jobsPort: port('jobs-port', 8081, 1),
    workers: workerCount.initial,
    workerScale: workerCount.scale,
    services: values['no-services'] !== true,
    logsPort: port('logs-port', 3100, 1),
    dashboardPort: port('dashboard-port', 3000, 1),
    metricsPort: port('metrics-port', 7000, zkMembers + brokers + servicesMetricsPorts(workerSlots(workerCount))),
    timingGiven: (['tick-time', 'init-limit', 'sync-limit'] as const).filter((k) => values[k] !== undefined).map((k) => `--${k}`),
    detach: values.detach === true,
    help: values.help === true,
  };
}

/** The /metrics ports up gives its nodes (written into new configs only) and services. */
function metricsPortsOf(f: UpFlags): { zk(id: number): number; broker(id: number): number; servicesFirst: number } {
  return {
    zk: (id) => f.metricsPort + id - 1,
    broker: (id) => f.metricsPort + f.zkMembers + id - 1,
    servicesFirst: f.metricsPort + f.zkMembers + f.brokers,
  };
}

/** Where the members and brokers serve /metrics, as their config files say (an edited file wins). */
function nodeScrapeTargets(c: ProcessCluster): ScrapeTarget[] {
  const targets: ScrapeTarget[] = [];
  for (const z of c.zookeepers) {
    const m = prometheusEnabled(loadZooCfg(z.configPath).options);
    if (m)
      targets.push({
        job: 'zookeeper',
        address: `${m.httpHost === '0.0.0.0' ? '127.0.0.1' : m.httpHost}:${m.httpPort}`,
        labels: { member: String(z.id) },
      });
  }
  for (const b of c.brokers) {
    const l = loadServerProperties(b.configPath, {}).metricsListener;
    if (l)
      targets.push({ job: 'kafka', address: `${l.host === '0.0.0.0' ? '127.0.0.1' : l.host}:${l.port}`, labels: { broker: String(b.id) } });
  }
  return targets;
}

function lockHolder(dir: string): string {
  try {
    return readFileSync(join(dir, '.clustergenie.lock'), 'utf8').split(/\s+/)[0] ?? '?';
  } catch {
    return '?';
  }
}

/**
 * Takes up's own lock on the data dir, then makes sure no member's data dir is held by a live
 * server (an ensemble from an older up, or started by hand). Writes nothing but the lock.
 */
function takeLocks(f: UpFlags): () => void {
  makeDataDir(f.dataDir);
  let unlock: () => void;
  try {
    unlock = lockDataDir(f.dataDir);
  } catch (e) {
    if (!(e instanceof DataDirLockedError)) throw e;
    const pid = lockHolder(f.dataDir);
    throw new UpError(
      `another \`clustergenie up\` (pid ${pid}) is running from ${f.dataDir}; stop it first (\`clustergenie down --data-dir ${f.dataDir}\`, ` +
        `Ctrl-C in its terminal, or kill ${pid}), or give this one another --data-dir. Nothing was changed.`,
      ExitCode.busy,
    );
  }
  try {
    for (const p of plannedPaths(f.dataDir, f.zkMembers, 0)) {
      if (!existsSync(p.dir)) continue;
      try {
        lockDataDir(p.dir)(); // free, or held by a process that is gone: released again at once
      } catch (e) {
        if (!(e instanceof DataDirLockedError)) throw e;
        const pid = lockHolder(p.dir);
        throw new UpError(
          `ZooKeeper member ${p.id}'s data directory ${p.dir} is in use by process ${pid} (a member left running by an earlier up, ` +
            `or started by hand); stop it first (kill ${pid}). Nothing was changed.`,
          ExitCode.busy,
        );
      }
    }
  } catch (e) {
    unlock();
    throw e;
  }
  return unlock;
}

/** Creates --data-dir, or says what is wrong with it (not a raw EEXIST or ENOTDIR). */
function makeDataDir(dir: string): void {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // missing: created below
  }
  if (!isDir && existsSync(dir)) {
    throw new UpError(`--data-dir ${dir} is a file, not a directory; give a directory (it is created when missing)`, ExitCode.usage);
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOTDIR' || err.code === 'EEXIST'
        ? 'a part of that path is a file'
        : err.code === 'EACCES'
          ? 'permission denied'
          : err.message;
    throw new UpError(`cannot create --data-dir ${dir}: ${why}; give another --data-dir`, ExitCode.usage);
  }
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

function describeExit(e: ExitInfo | undefined): string {
  if (!e) return 'exited';
  return e.signal ? `was ended by ${e.signal}` : `exited with code ${e.code}`;
}

/** One port up will listen on, and what to change when it is taken. */
interface PlannedPort {
  what: string;
  host: string;
  port: number;
  /** The flag that sets it (for a config up writes now), or the existing config file that does. */
  fix: { flag: string; count: number } | { config: string };
}

const loopback = (h: string): string => (h === '' || h === '0.0.0.0' ? '127.0.0.1' : h);

/**
 * Every port the members, brokers and services will take, from the flags where up writes the
 * config now and from the existing file otherwise (up never rewrites one). Reads, never writes.
 */
function plannedPorts(f: UpFlags): PlannedPort[] {
  const out: PlannedPort[] = [];
  const m = metricsPortsOf(f);
  const flag = (name: string, count: number) => ({ flag: name, count });
  for (let id = 1; id <= f.zkMembers; id++) {
    const what = `ZooKeeper member ${id}'s`;
    const config = join(zkMemberDir(f.dataDir, id), 'zoo.cfg');
    if (!existsSync(config)) {
      out.push({ what: `${what} client port`, host: '127.0.0.1', port: f.zkPort + id - 1, fix: flag('--zk-port', f.zkMembers) });
      if (f.zkMembers > 1) {
        out.push({
          what: `${what} quorum port`,
          host: '127.0.0.1',
          port: f.quorumPort + id - 1,
          fix: flag('--zk-quorum-port', f.zkMembers),
        });
        out.push({
          what: `${what} election port`,
          host: '127.0.0.1',
          port: f.electionPort + id - 1,
          fix: flag('--zk-election-port', f.zkMembers),
        });
      }
      if (id === 1) out.push({ what: `${what} admin server port`, host: '127.0.0.1', port: f.adminPort, fix: flag('--admin-port', 1) });
      out.push({ what: `${what} /metrics port`, host: '127.0.0.1', port: m.zk(id), fix: flag('--metrics-port', 1) });
      continue;
    }
    try {
      const o = loadZooCfg(config).options;
      const fix = { config };
      out.push({ what: `${what} client port`, host: loopback(o.clientPortAddress), port: o.clientPort, fix });
      const me = o.ensemble?.members.find((x) => x.id === o.ensemble?.myId);
      if (me) {
        out.push({ what: `${what} quorum port`, host: loopback(me.host), port: me.quorumPort, fix });
        out.push({ what: `${what} election port`, host: loopback(me.host), port: me.electionPort, fix });
      }
      if (o.adminEnabled) out.push({ what: `${what} admin server port`, host: loopback(o.adminAddress), port: o.adminPort, fix });
      const pm = prometheusEnabled(o);
      if (pm) out.push({ what: `${what} /metrics port`, host: loopback(pm.httpHost), port: pm.httpPort, fix });
    } catch {
      // A config the member cannot read: the member reports it when it starts.
    }
  }
  for (let id = 1; id <= f.brokers; id++) {
    const what = `Kafka broker ${id}'s`;
    const config = join(brokerDir(f.dataDir, id), 'server.properties');
    if (!existsSync(config)) {
      out.push({ what: `${what} port`, host: '127.0.0.1', port: f.kafkaPort + id - 1, fix: flag('--kafka-port', f.brokers) });
      out.push({ what: `${what} /metrics port`, host: '127.0.0.1', port: m.broker(id), fix: flag('--metrics-port', 1) });
      continue;
    }
    try {
      const c = loadServerProperties(config, {});
      for (const l of c.listeners) out.push({ what: `${what} port`, host: loopback(l.host), port: l.port, fix: { config } });
      if (c.metricsListener)
        out.push({ what: `${what} /metrics port`, host: loopback(c.metricsListener.host), port: c.metricsListener.port, fix: { config } });
    } catch {
      // reported by the broker when it starts
    }
  }
  if (f.services && f.brokers >= 3) {
    out.push({ what: "the Job Service's port", host: '127.0.0.1', port: f.jobsPort, fix: flag('--jobs-port', 1) });
    out.push({ what: "the log store's port", host: '127.0.0.1', port: f.logsPort, fix: flag('--logs-port', 1) });
    out.push({ what: "the dashboard's port", host: '127.0.0.1', port: f.dashboardPort, fix: flag('--dashboard-port', 1) });
    for (let i = 0; i < servicesMetricsPorts(workerSlots({ initial: f.workers, scale: f.workerScale })); i++)
      out.push({ what: "the services' /metrics port", host: '127.0.0.1', port: m.servicesFirst + i, fix: flag('--metrics-port', 1) });
  }
  return out;
}

/** Throws an UpError (busy) naming the first taken port and the flag or file that sets it. */
async function checkPorts(ports: readonly PlannedPort[]): Promise<void> {
  const seen = new Map<string, PlannedPort>();
  for (const p of ports) {
    const key = `${p.host}:${p.port}`;
    const twice = seen.get(key);
    if (twice) {
      throw new UpError(`${p.what} ${key} is also ${twice.what}; give port flags whose ranges do not overlap`, ExitCode.usage);
    }
    seen.set(key, p);
    if (await portFree(p.host, p.port)) continue;
    const fix =
      'flag' in p.fix
        ? `give another ${p.fix.flag}${p.fix.count > 1 ? ` (it is the first of ${p.fix.count} consecutive ports)` : ''}`
        : `it is set in ${p.fix.config} (an existing config is never rewritten, so flags do not change it): edit that file`;
    throw new UpError(`${p.what} ${key} is already in use; ${fix}, or stop what listens there. Nothing was started.`, ExitCode.busy);
  }
}

export async function runUp(args: string[]): Promise<void> {
  let flags: UpFlags;
  try {
    flags = parseFlags(args);
  } catch (e) {
    process.stderr.write(`clustergenie up: ${(e as Error).message} (clustergenie up --help lists the flags)\n`);
    process.exitCode = ExitCode.usage;
    return;
  }
  const f = flags;
  if (f.help) {
    process.stdout.write(UP_HELP);
    return;
  }
  if (f.detach) {
    process.exitCode = await detach(f, args);
    return;
  }
  let cluster: ProcessCluster | undefined;
  let services: UpServices | undefined;
  let unlock: (() => void) | undefined;
  let stopping: Promise<void> | undefined;
  let firstSignalAt = 0;
  const say = (s: string): void => void process.stdout.write(`${s}\n`);
  /** Drops the lock and the files naming this up (up.pid, up.json). */
  const release = (): void => {
    // Only the up holding the lock wrote them: a refused second up must not remove the first one's.
    if (unlock) {
      try {
        removeUpPid(f.dataDir, process.pid);
        rmSync(join(f.dataDir, 'up.json'), { force: true });
      } catch {
        // the data dir is gone: nothing of ours to remove
      }
    }
    unlock?.();
  };

  const stopEverything = (why: string, code: number): Promise<void> => {
    stopping ??= (async () => {
      say(`clustergenie up: ${why}; stopping services, then brokers, then ZooKeeper members`);
      await services?.stop(serviceStopTimeoutMs);
      await cluster?.stopAll({ brokerTimeoutMs: brokerStopTimeoutMs, zkTimeoutMs: zkStopTimeoutMs });
      release();
      say('clustergenie up: stopped');
      process.exit(code);
    })();
    return stopping;
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping && firstSignalAt > 0 && Date.now() - firstSignalAt < signalRepeatGraceMs) return;
    if (stopping) {
      say(`clustergenie up: ${sig} again; killing every child now`);
      void Promise.all([services?.killAll(), cluster?.killAll()]).then(() => {
        release();
        process.exit(1);
      });
      return;
    }
    firstSignalAt = Date.now();
    void stopEverything(`${sig} received`, 0);
  };
  // Before any child exists: a signal during start-up must stop what has started.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    unlock = takeLocks(f);
    await checkPorts(plannedPorts(f));
    writeFileSync(upPidPath(f.dataDir), `${process.pid}\n`);
    const oldBroker = join(f.dataDir, 'kafka', 'server.properties');
    if (existsSync(oldBroker)) {
      say(`clustergenie up: note: ${oldBroker} (the single broker of an older up) is no longer used; brokers live in kafka/kafka<N>`);
    }
    cluster = await ProcessCluster.create({
      dir: f.dataDir,
      zookeepers: f.zkMembers,
      brokers: f.brokers,
      ports: { zkClient: f.zkPort, zkQuorum: f.quorumPort, zkElection: f.electionPort, kafka: f.kafkaPort },
      tickTimeMs: f.tickTimeMs,
      initLimit: f.initLimit,
      syncLimit: f.syncLimit,
      header:
        'Written by `clustergenie up` only because it was missing: edit freely, up never rewrites it.\n' +
        'Run this node by hand with `clustergenie zookeeper|kafka --config <this file>`.',
      zkConfig: (id) => ({
        // One admin server (the first member's) is enough on one machine.
        'admin.enableServer': String(id === 1),
        'admin.serverAddress': '127.0.0.1',
        'admin.serverPort': String(f.adminPort),
        // Apache ZooKeeper's Prometheus provider keys: /metrics with Apache's names.
        'metricsProvider.className': PROMETHEUS_PROVIDER,
        'metricsProvider.httpHost': '127.0.0.1',
        'metricsProvider.httpPort': String(metricsPortsOf(f).zk(id)),
      }),
      brokerConfig: (id) => ({ 'clustergenie.metrics.listener': `127.0.0.1:${metricsPortsOf(f).broker(id)}` }),
      ...(f.logLevel ? { logLevel: f.logLevel } : {}),
    });
    const c = cluster;
    const kept = c.zookeepers.filter((z) => !z.layout.written);
    if (kept.length > 0 && f.timingGiven.length > 0) {
      say(
        `clustergenie up: ${f.timingGiven.join(', ')} not applied to existing ${kept.map((z) => z.configPath).join(', ')} (edit those files)`,
      );
    }
    const nodeTargets = nodeScrapeTargets(c);
    const restarts = new Map<ClusterNode, number[]>();
    c.on('exit', (node, info) => {
      if (stopping || info.expected) return;
      say(`clustergenie up: ${node.name} ${describeExit(info)}; the others keep running (log ${node.logPath})`);
      if (!f.restart) return;
      const now = Date.now();
      const recent = (restarts.get(node) ?? []).filter((t) => now - t < restartWindowMs);
      if (recent.length >= restartsPerWindowMax) {
        say(`clustergenie up: ${node.name} died ${recent.length} times within ${restartWindowMs / 1000} s; not restarting it again`);
        return;
      }
      restarts.set(node, [...recent, now]);
      setTimeout(() => {
        if (stopping || node.alive) return;
        node
          .start()
          .then(() => node.waitServing(startTimeoutMs))
          .then(
            () => say(`clustergenie up: ${node.name} restarted (pid ${node.pid})`),
            (e: unknown) => say(`clustergenie up: restarting ${node.name} failed: ${(e as Error).message.split('\n')[0]}`),
          );
      }, restartDelayMs);
    });
    say(
      `clustergenie up: starting ${c.zookeepers.length} ZooKeeper members and ${c.brokers.length} Kafka brokers (supervisor pid ${process.pid})`,
    );
    await c.startAll(startTimeoutMs);
    if (stopping) return;
    let topics: string;
    let servicesNote = 'Services: not started (--no-services)';
    if (c.brokers.length >= 3) {
      const outcome = await ensureTopics(c, TOPICS);
      topics = `Topics: ${outcome.map((t) => `${t.name} (${t.created ? 'created' : 'exists'})`).join(', ')}: 3 partitions, RF 3, min.insync.replicas 2`;
      if (f.services && !stopping) {
        // Their ports were checked with the others before anything started (plannedPorts).
        const metricsPortFirst = metricsPortsOf(f).servicesFirst;
        say(
          `clustergenie up: starting the Job Service, the scheduler, ${f.workers} workers${f.workerScale ? ` (scaling between ${f.workerScale.min} and ${f.workerScale.max})` : ''}, the log store, the Log Consumer, the log shipper and the monitor`,
        );
        services = await startServices(c, { ...f, metricsPortFirst, say });
        for (const s of services.all) {
          s.on('exit', (info) => {
            if (stopping || info.expected) return;
            say(`clustergenie up: ${s.name} ${describeExit(info)}; starting it again (log ${s.options.logPath})`);
          });
          s.on('restarted', (pid) => !stopping && say(`clustergenie up: ${s.name} restarted (pid ${pid})`));
          s.on('restartsExhausted', () =>
            say(`clustergenie up: ${s.name} keeps dying; not restarting it again (log ${s.options.logPath})`),
          );
        }
      }
    } else {
      topics = `Topics: none created (${TOPICS.map((t) => t.name).join(', ')} need 3 brokers for RF 3)`;
      servicesNote = 'Services: not started (they need the RF 3 topics, so 3 brokers)';
    }
    if (stopping) return;
    const targetsFile = writePrometheusTargets(f.dataDir, [...nodeTargets, ...(services?.scrapeTargets ?? [])]);
    const table = { dataDir: f.dataDir, restart: f.restart, topics, servicesNote, targetsFile };
    writeUpJson(c, services, table);
    process.stdout.write(upSummary(c, services, table));
  } catch (e) {
    if (stopping) return; // a signal ended the start-up: its stop reports
    const msg = e instanceof UpError ? e.message : `cannot start: ${(e as Error).message}`;
    const code = e instanceof UpError ? e.exitCode : ExitCode.failure;
    process.stderr.write(`clustergenie up: ${msg}\n`);
    if (!cluster?.nodes.some((n) => n.alive)) {
      release();
      process.exit(code);
    }
    await stopEverything('start-up failed', code);
  }
}

/**
 * `up --detach`: the same checks a foreground up makes first (data dir, a running up), then the
 * background up (upDetach.ts). Returns this process's exit code.
 */
async function detach(f: UpFlags, args: string[]): Promise<number> {
  const fail = (e: unknown): number => {
    process.stderr.write(`clustergenie up: ${(e as Error).message}\n`);
    return e instanceof UpError ? e.exitCode : ExitCode.failure;
  };
  try {
    // Taken and given back at once: the background up takes it for good; this only fails early.
    takeLocks(f)();
    await checkPorts(plannedPorts(f));
  } catch (e) {
    return fail(e);
  }
  const running = readUpPid(f.dataDir);
  if (running !== undefined && running !== process.pid) removeUpPid(f.dataDir, running); // stale: the lock was free
  return startDetached({
    args: args.filter((a) => a !== '--detach'),
    dataDir: f.dataDir,
    say: (line) => void process.stderr.write(`${line}\n`),
  });
}
