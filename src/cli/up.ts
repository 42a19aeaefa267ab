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

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type ClusterNode, type ExitInfo, ProcessCluster } from '../cluster/processCluster.js';
import { plannedPaths } from '../cluster/processClusterLayout.js';
import { loadServerProperties } from '../kafka/config.js';
import { loadZooCfg } from '../zookeeper/config.js';
import { DataDirLockedError, lockDataDir } from '../zookeeper/persistence/files.js';
import { PROMETHEUS_PROVIDER, prometheusEnabled } from '../zookeeper/server/metricsOptions.js';
import { type ScrapeTarget, writePrometheusTargets } from './prometheusTargets.js';
import { ensureTopics, type TopicSpec } from './upTopics.js';
import { servicesMetricsPorts, startServices, type UpServices } from './upServices.js';

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

class UpError extends Error {}

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
  services: boolean;
  logsPort: number;
  /** First /metrics port: ZooKeeper members, then brokers, then the services (metricsPortsOf). */
  metricsPort: number;
  /** Timing flags given on the command line (they do not change existing zoo.cfg files). */
  timingGiven: string[];
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
      workers: { type: 'string' },
      'no-services': { type: 'boolean' },
      'logs-port': { type: 'string' },
      'metrics-port': { type: 'string' },
    },
  });
  const int = (name: keyof typeof values, dflt: number, min: number, max: number): number => {
    const v = values[name];
    const n = v === undefined ? dflt : Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new UpError(`--${name} must be an integer from ${min} to ${max}, got "${String(v)}"`);
    return n;
  };
  const brokers = int('brokers', 3, 1, 100);
  const zkMembers = int('zk-members', 3, 1, 15);
  const port = (name: keyof typeof values, dflt: number, count: number): number => int(name, dflt, 1, 65536 - count);
  return {
    dataDir: values['data-dir'] ?? join(process.cwd(), 'data'),
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
    workers: int('workers', 2, 0, 64),
    services: values['no-services'] !== true,
    logsPort: port('logs-port', 3100, 1),
    metricsPort: port('metrics-port', 7000, zkMembers + brokers + servicesMetricsPorts(int('workers', 2, 0, 64))),
    timingGiven: (['tick-time', 'init-limit', 'sync-limit'] as const).filter((k) => values[k] !== undefined).map((k) => `--${k}`),
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
  mkdirSync(f.dataDir, { recursive: true });
  let unlock: () => void;
  try {
    unlock = lockDataDir(f.dataDir);
  } catch (e) {
    if (!(e instanceof DataDirLockedError)) throw e;
    const pid = lockHolder(f.dataDir);
    throw new UpError(
      `another \`clustergenie up\` (pid ${pid}) is running from ${f.dataDir}; stop it first (Ctrl-C in its terminal, or kill ${pid}), ` +
        'or give this one another --data-dir. Nothing was changed.',
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
        );
      }
    }
  } catch (e) {
    unlock();
    throw e;
  }
  return unlock;
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

function summary(
  c: ProcessCluster,
  f: UpFlags,
  topics: string,
  services: UpServices | undefined,
  servicesNote: string,
  targetsFile: string,
): string {
  const row = (n: ClusterNode): string =>
    `  ${n.name.padEnd(19)} ${`${n.host}:${n.port}`.padEnd(16)} pid ${String(n.pid).padEnd(8)} dir ${n.dir}\n` +
    `  ${''.padEnd(19)} config ${n.configPath}\n  ${''.padEnd(19)} log ${n.logPath}`;
  return [
    `clustergenie up: ${c.zookeepers.length} ZooKeeper members and ${c.brokers.length} Kafka brokers running (data dir ${f.dataDir})`,
    ...c.zookeepers.map(row),
    ...c.brokers.map(row),
    `ZooKeeper connect: ${c.zkConnect}`,
    `Kafka bootstrap:   ${c.bootstrap}`,
    topics,
    ...(services
      ? [
          'Services:',
          ...services.summaryLines(),
          `Jobs API: ${services.jobsUrl}/api/jobs (docs/API.md)`,
          `Logs API: ${services.logsUrl}/loki/api/v1/query_range (Loki's API; a Grafana Loki data source works)`,
        ]
      : [servicesNote]),
    `Prometheus targets: ${targetsFile} (file_sd_configs; docs/MONITORING.md)`,
    `Stop: Ctrl-C, or kill ${process.pid} (brokers stop first, then ZooKeeper). Killing one member or broker by its pid`,
    `is reported here and leaves the rest running${f.restart ? '; --restart starts it again' : ''}.`,
    '',
  ].join('\n');
}

export async function runUp(args: string[]): Promise<void> {
  let flags: UpFlags;
  try {
    flags = parseFlags(args);
  } catch (e) {
    process.stderr.write(`clustergenie up: ${(e as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const f = flags;
  let cluster: ProcessCluster | undefined;
  let services: UpServices | undefined;
  let unlock: (() => void) | undefined;
  let stopping: Promise<void> | undefined;
  let firstSignalAt = 0;
  const say = (s: string): void => void process.stdout.write(`${s}\n`);

  const stopEverything = (why: string, code: number): Promise<void> => {
    stopping ??= (async () => {
      say(`clustergenie up: ${why}; stopping services, then brokers, then ZooKeeper members`);
      await services?.stop(serviceStopTimeoutMs);
      await cluster?.stopAll({ brokerTimeoutMs: brokerStopTimeoutMs, zkTimeoutMs: zkStopTimeoutMs });
      unlock?.();
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
        unlock?.();
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
    for (const n of c.nodes) {
      if (!(await portFree(n.host, n.port))) {
        throw new UpError(`${n.name}'s port ${n.host}:${n.port} (${n.configPath}) is already in use; stop whatever listens there first`);
      }
    }
    const nodeTargets = nodeScrapeTargets(c);
    for (const t of nodeTargets) {
      const [host, port] = [t.address.slice(0, t.address.lastIndexOf(':')), Number(t.address.slice(t.address.lastIndexOf(':') + 1))];
      if (!(await portFree(host, port))) {
        throw new UpError(
          `the /metrics port ${t.address} of ${t.job} ${Object.values(t.labels ?? {}).join('')} is already in use; give --metrics-port or edit its config`,
        );
      }
    }
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
        if (!(await portFree('127.0.0.1', f.jobsPort))) {
          throw new UpError(
            `the Job Service's port 127.0.0.1:${f.jobsPort} is already in use; stop whatever listens there or give --jobs-port`,
          );
        }
        if (!(await portFree('127.0.0.1', f.logsPort))) {
          throw new UpError(
            `the log store's port 127.0.0.1:${f.logsPort} is already in use; stop whatever listens there or give --logs-port`,
          );
        }
        const metricsPortFirst = metricsPortsOf(f).servicesFirst;
        for (let p = metricsPortFirst; p < metricsPortFirst + servicesMetricsPorts(f.workers); p++) {
          if (!(await portFree('127.0.0.1', p))) {
            throw new UpError(`the services' /metrics port 127.0.0.1:${p} is already in use; give --metrics-port`);
          }
        }
        say(
          `clustergenie up: starting the Job Service, the scheduler, ${f.workers} workers, the log store, the Log Consumer, the log shipper and the monitor`,
        );
        services = await startServices(c, { ...f, metricsPortFirst });
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
    process.stdout.write(summary(c, f, topics, services, servicesNote, targetsFile));
  } catch (e) {
    if (stopping) return; // a signal ended the start-up: its stop reports
    const msg = e instanceof UpError ? e.message : `cannot start: ${(e as Error).message}`;
    process.stderr.write(`clustergenie up: ${msg}\n`);
    if (!cluster?.nodes.some((n) => n.alive)) {
      unlock?.();
      process.exit(1);
    }
    await stopEverything('start-up failed', 1);
  }
}
