// The `clustergenie` command. Its subcommands and flags are a contract: keep them stable.
//
// What only one subcommand needs is imported when it runs (the tools, the `up` supervisor,
// the quorum code for an ensemble member): module loading is most of a server's start-up CPU,
// and a 3-member cold start runs three of them at once on a small machine.

import { mkdirSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadZooCfg } from '../zookeeper/config.js';
import { splitDefines, systemPropertiesFrom } from '../zookeeper/jvmFlags.js';
import type { ParsedConfig } from '../zookeeper/config.js';
import { startZooKeeperServer } from '../zookeeper/server/server.js';
import { createLogger, type Logger } from '../util/log.js';
import type { ServerOptions } from '../zookeeper/server/options.js';
import { StorageCorruptError } from '../zookeeper/persistence/store.js';
import { DataDirLockedError } from '../zookeeper/persistence/files.js';
import { capYoungGeneration, youngGenCapFromEnv } from '../util/youngGen.js';
import { heapGrowthFromEnv, limitOldGenerationGrowth } from '../util/oldGen.js';
import { CliError, ExitCode } from './exitCodes.js';

/** Each command's lines of the usage text (`clustergenie <cmd> --help` prints its own section). */
const SECTIONS: Record<string, string> = {
  zookeeper: `  clustergenie zookeeper --config <zoo.cfg> [--log-level <level>] [--super-digest <user:base64>] [-D<property>=<value> ...]
      one ZooKeeper server in the foreground (alias: zk --config), like zkServer.sh start-foreground; also reads
      system properties from SERVER_JVMFLAGS and JVMFLAGS as zkServer.sh passes them (docs/COMPATIBILITY.md)
`,
  kafka: `  clustergenie kafka --config <server.properties> [--log-level <level>]
      one Kafka broker in the foreground, like kafka-server-start.sh (KAFKA_* variables override the file)
`,
  up: `  clustergenie up [--data-dir <dir>] [--zk-port <port>] [--zk-quorum-port <port>] [--zk-election-port <port>] [--admin-port <port>]
                  [--kafka-port <port>] [--brokers <n>] [--zk-members <n>] [--tick-time <ms>] [--init-limit <ticks>]
                  [--sync-limit <ticks>] [--restart] [--log-level <level>] [--jobs-port <port>] [--workers <n>]
                  [--logs-port <port>] [--dashboard-port <port>] [--metrics-port <port>] [--no-services] [--detach]
      the whole local system, one process per node: 3 ZooKeeper members (ports zk-port.. (2181), quorum 2888..,
      election 3888..; tickTime 2000, initLimit 5, syncLimit 2) and 3 Kafka brokers (kafka-port.. (9092)), topics
      cluster-events, cluster-events.delay, cluster-events.dlq, clustergenie.jobs, logs.dev, monitoring.alerts and
      monitoring.metrics, then the Job Service (http://127.0.0.1:8081), the scheduler, 2 workers, the log store
      (Loki API on http://127.0.0.1:3100), the Log Consumer, a shipper of every process's log, the monitor and the
      dashboard (http://127.0.0.1:3000);
      /metrics of members, brokers and services on metrics-port.. (7000), listed in <data-dir>/prometheus/targets.json;
      configs under --data-dir (./data) are written only when missing
`,
  'jobs-service': `  clustergenie jobs-service [--bootstrap-server <host:port,...>] [--zookeeper <connect>] [--host <addr>] [--port <port>]
                            [--data-dir <dir>] [--instance <name>] [--log-level <level>]
      the Job Service: HTTP API (docs/API.md) and job view over cluster-events
`,
  worker: `  clustergenie worker [--bootstrap-server <host:port,...>] [--zookeeper <connect>] [--group <id>] [--id <name>]
                      [--concurrency <n>] [--concurrency-min <n>] [--concurrency-max <n>] [--log-level <level>]
      an Event Handler group member running jobs in an auto-scaling pool
`,
  scheduler: `  clustergenie scheduler [--bootstrap-server <host:port,...>] [--zookeeper <connect>] [--id <name>] [--log-level <level>]
      retries, delayed and cron jobs (one active scheduler, elected through ZooKeeper)
`,
  'ship-logs': `  clustergenie ship-logs [--bootstrap-server <host:port,...>] [--topic logs.dev] [--checkpoint <path>] [--from-beginning]
                         [--docker] <file>... | -
      follow files (rotation and truncation handled) or stdin into logs.dev as Vector-shaped events (see --help)
`,
  'log-consumer': `  clustergenie log-consumer [--bootstrap-server <host:port,...>] [--group <id>] [--loki-url <url>] [--push-format protobuf|json]
                            [--tenant <id>] [--env <name>] [--metrics-port <port>]
      a consumer group member forwarding logs.dev to a Loki push endpoint (LOKI_URL), committing after Loki accepts
`,
  'log-store': `  clustergenie log-store [--host <addr>] [--port <port>] [--data-dir <dir>] [--retention-hours <h>] [--retention-bytes <n>]
      the embedded Loki-compatible log store (push, query_range, LogQL subset, tail) on http://127.0.0.1:3100
`,
  monitor: `  clustergenie monitor [--zookeeper <connect>] [--bootstrap-server <host:port,...>] [--watch-dir <dir>] [--metrics-port <port>]
      alert rules over ZooKeeper, Kafka, disks and jobs (one active monitor, elected through ZooKeeper): alert events
      to monitoring.alerts, snapshots to monitoring.metrics, kafka_exporter's metrics on /metrics
`,
  dashboard: `  clustergenie dashboard [--zookeeper <connect>] [--bootstrap-server <host:port,...>] [--jobs-url <url>] [--logs-url <url>]
                         [--host <addr>] [--port <port>] [--token <token>] [--refresh-ms <ms>] [--log-level <level>]
      the web dashboard on http://127.0.0.1:3000 (part of \`up\`)
`,
  'zookeeper-tools': `  clustergenie zookeeper-tools <tool> ...
      log-dump, snapshot-dump, log-truncate, purge
`,
  clients: `  clustergenie status | zk | topics | produce | consume | groups | jobs | logs | alerts | down  [--help]
      client commands over the system's public protocols and HTTP API (docs/CLI.md; each answers --help)
`,
};

const USAGE = `usage:\n${Object.values(SECTIONS).join('')}  clustergenie --version\n`;

/** Servers whose own module prints their --help (with every flag they take); main.ts answers for the others. */
const OWN_HELP = new Set([
  'up',
  'jobs-service',
  'worker',
  'scheduler',
  'ship-logs',
  'log-consumer',
  'log-store',
  'monitor',
  'dashboard',
  'zookeeper-tools',
]);
const SERVERS = new Set([...Object.keys(SECTIONS)].filter((k) => k !== 'clients'));

/** A `--help`/`-h` or `--version`/`-V` among a server's flags (before a `--`). */
function flagAsked(args: readonly string[], long: string, short: string): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === long || a === short) return true;
  }
  return false;
}

/** `zk` is the server when its arguments name a config file; otherwise the ZooKeeper client. */
export function zkIsServer(args: readonly string[]): boolean {
  return args.some((a) => a === '--config' || a === '-c' || a.startsWith('--config='));
}

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  // Every server answers --version, and --help unless its module prints its own (with all its flags).
  const server = cmd === 'zk' ? (zkIsServer(rest) ? 'zookeeper' : undefined) : cmd;
  if (server !== undefined && SERVERS.has(server)) {
    if (flagAsked(rest, '--version', '-V')) {
      await printVersion();
      return;
    }
    if (!OWN_HELP.has(server) && flagAsked(rest, '--help', '-h')) {
      process.stdout.write(`usage:\n${SECTIONS[server]}`);
      return;
    }
  }
  try {
    await dispatch(cmd, rest);
  } catch (e) {
    // Flag mistakes of the servers that leave them to parseArgs (ERR_PARSE_ARGS_*): usage, exit 2.
    if (String((e as NodeJS.ErrnoException).code ?? '').startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`clustergenie ${cmd}: ${(e as Error).message}\nusage:\n${SECTIONS[server ?? ''] ?? USAGE}`);
      process.exitCode = ExitCode.usage;
      return;
    }
    if (e instanceof CliError) {
      process.stderr.write(`clustergenie ${cmd}: ${e.message}\n`);
      // A server that failed half-way may hold timers or sockets: end the process, not just the call.
      process.exit(e.exitCode);
    }
    throw e;
  }
}

/** The package version (program.ts loads commander: only when asked, to keep servers' start-up light). */
async function printVersion(): Promise<void> {
  const { cliVersion } = await import('./program.js');
  process.stdout.write(`${cliVersion()}\n`);
}

async function dispatch(cmd: string | undefined, rest: string[]): Promise<void> {
  switch (cmd) {
    case 'zookeeper':
      return runZooKeeper(rest);
    case 'zk': {
      // `zk --config <zoo.cfg>` is the server (an alias kept for compatibility); anything else is the client.
      if (zkIsServer(rest)) return runZooKeeper(rest);
      const { runZkClient } = await import('./zkClient.js');
      process.exitCode = await runZkClient(rest);
      return;
    }
    case 'kafka': {
      const { runKafka } = await import('./kafka.js');
      return runKafka(rest);
    }
    case 'up': {
      const { runUp } = await import('./up.js');
      return runUp(rest);
    }
    case 'jobs-service': {
      const { runJobsService } = await import('../genie/jobs/serviceMain.js');
      return runJobsService(rest);
    }
    case 'worker': {
      const { runWorker } = await import('../genie/workers/workerMain.js');
      return runWorker(rest);
    }
    case 'scheduler': {
      const { runScheduler } = await import('../genie/scheduler/schedulerMain.js');
      return runScheduler(rest);
    }
    case 'ship-logs': {
      const { runShipLogs } = await import('../genie/logs/shipper/main.js');
      return runShipLogs(rest);
    }
    case 'log-consumer': {
      const { runLogConsumer } = await import('../genie/logs/consumer/main.js');
      return runLogConsumer(rest);
    }
    case 'log-store': {
      const { runLogStore } = await import('../genie/logs/store/main.js');
      return runLogStore(rest);
    }
    case 'monitor': {
      const { runMonitor } = await import('../genie/monitor/monitorMain.js');
      return runMonitor(rest);
    }
    case 'dashboard': {
      const { runDashboard } = await import('../dashboard/main.js');
      return runDashboard(rest);
    }
    case 'status':
    case 'topics':
    case 'produce':
    case 'consume':
    case 'groups':
    case 'jobs':
    case 'logs':
    case 'alerts':
    case 'down':
      process.exitCode = await runClientCommand(cmd, rest);
      return;
    case 'zookeeper-tools': {
      const { runZkTools } = await import('./zkTools.js');
      process.exitCode = await runZkTools(rest);
      return;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return;
    case 'version':
    case '--version':
    case '-V':
      return printVersion();
    default:
      process.stderr.write(`clustergenie: unknown command "${cmd}"\n${USAGE}`);
      process.exitCode = ExitCode.usage;
  }
}

/** The client commands (one module each, loaded only when used); the result is the exit code (exitCodes.ts). */
async function runClientCommand(cmd: string, args: string[]): Promise<number> {
  switch (cmd) {
    case 'status':
      return (await import('./status.js')).runStatus(args);
    case 'topics':
      return (await import('./topics.js')).runTopics(args);
    case 'produce':
      return (await import('./produce.js')).runProduce(args);
    case 'consume':
      return (await import('./consume.js')).runConsume(args);
    case 'groups':
      return (await import('./groups.js')).runGroups(args);
    case 'jobs':
      return (await import('./jobsCli.js')).runJobsCli(args);
    case 'logs':
      return (await import('./logsCli.js')).runLogsCli(args);
    case 'alerts':
      return (await import('./alertsCli.js')).runAlertsCli(args);
    default:
      return (await import('./down.js')).runDown(args);
  }
}

/** A long-running server's V8 heap limits (util/youngGen.ts, util/oldGen.ts), from the environment. */
function tuneHeapFromEnv(): void {
  capYoungGeneration(youngGenCapFromEnv());
  limitOldGenerationGrowth(heapGrowthFromEnv());
}

async function runZooKeeper(argv: string[]): Promise<void> {
  // `-Dname=value` arguments, as zkServer.sh passes system properties (zookeeper/jvmFlags.ts).
  const { defines, rest: args } = splitDefines(argv);
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      'log-level': { type: 'string' },
      'super-digest': { type: 'string' },
    },
    allowPositionals: false,
  });
  if (!values.config) throw new CliError(`--config <zoo.cfg> is required\nusage:\n${SECTIONS.zookeeper}`, ExitCode.usage);
  const log = createLogger('zookeeper', values['log-level']);
  const jvm = systemPropertiesFrom(process.env, defines);
  for (const w of jvm.warnings) log.warn({ from: 'JVMFLAGS' }, w);
  const sysProps: Record<string, string> = { ...jvm.properties };
  if (values['super-digest']) sysProps['zookeeper.DigestAuthenticationProvider.superDigest'] = values['super-digest'];
  let parsed: ParsedConfig;
  try {
    parsed = loadZooCfg(values.config, sysProps);
  } catch (e) {
    // A missing or unreadable file is a ConfigError too ("cannot read config file <path>: ...").
    if (e instanceof ConfigError) throw new CliError(`invalid config ${values.config}: ${e.message}`, ExitCode.usage);
    throw e;
  }
  for (const w of parsed.warnings) log.warn({ config: values.config }, w);
  makeDataDir(parsed.options.dataDir, 'dataDir', values.config);
  if (parsed.options.dataLogDir && parsed.options.dataLogDir !== parsed.options.dataDir)
    makeDataDir(parsed.options.dataLogDir, 'dataLogDir', values.config);
  tuneHeapFromEnv();
  await serveUntilSignal(parsed.options, log, values.config);
}

/** Creates a data directory, or says which zoo.cfg setting names a path that cannot be one. */
function makeDataDir(dir: string, key: string, cfgPath: string): void {
  if (!dir) return;
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      const what = code === 'EEXIST' ? 'is a file' : 'is below a file';
      throw new CliError(`${key} ${dir} (in ${cfgPath}) ${what}, not a directory: point ${key} at a directory`, ExitCode.usage);
    }
    throw new CliError(`cannot create ${key} ${dir} (in ${cfgPath}): ${(e as Error).message}`, ExitCode.failure);
  }
}

/** The zoo.cfg setting behind a port another process holds (pure). */
export function zkPortSetting(options: ServerOptions, port: number | undefined): string {
  if (port === options.clientPort) return 'clientPort';
  if (options.secureClient && port === options.secureClient.port) return 'secureClientPort';
  if (options.adminEnabled && port === options.adminPort) return 'admin.serverPort';
  const me = options.ensemble?.members.find((m) => m.id === options.ensemble?.myId);
  if (me && port === me.quorumPort) return `server.${me.id} (its quorum port, the first after the host)`;
  if (me && port === me.electionPort) return `server.${me.id} (its election port, the second after the host)`;
  if (me && port === me.clientPort) return `server.${me.id} (its client port, after the ';')`;
  return 'the ports (clientPort, server.N, admin.serverPort, metricsProvider.httpPort)';
}

interface Running {
  stop(): Promise<void>;
}

/** Starts one server (standalone, or an ensemble member when zoo.cfg lists several). */
async function startServer(options: ServerOptions, log: Logger, cfgPath: string): Promise<Running & { port: number }> {
  try {
    if (options.ensemble) {
      const { EnsembleMember } = await import('../zookeeper/quorum/ensemble.js');
      const member = new EnsembleMember(options, { logger: log });
      await member.start();
      // A member that stops by itself (its disk failed) ends the process, so a supervisor sees it.
      void member.stoppedPromise.then(() => {
        if (member.failure === undefined) return;
        process.stderr.write(`clustergenie: ZooKeeper member ${member.id} stopped: ${member.failure}\n`);
        process.exit(1);
      });
      return { port: member.shell.port, stop: () => member.stop() };
    }
    const server = await startZooKeeperServer(options, { logger: log });
    return { port: server.port, stop: () => server.stop() };
  } catch (e) {
    if (e instanceof DataDirLockedError) {
      log.fatal({ error: e.message }, 'cannot start: data directory problem');
      throw new CliError(`cannot start ZooKeeper: ${e.message} (dataDir in ${cfgPath})`, ExitCode.busy);
    }
    if (e instanceof StorageCorruptError) {
      log.fatal({ error: e.message }, 'cannot start: data directory problem');
      throw new CliError(`cannot start ZooKeeper: ${e.message}`, ExitCode.failure);
    }
    const err = e as NodeJS.ErrnoException & { port?: number; address?: string };
    if (err.code === 'EADDRINUSE') {
      const where = err.port === undefined ? '' : ` ${err.address ?? ''}:${err.port}`;
      throw new CliError(
        `cannot start ZooKeeper: address${where} is already in use by another process; change ${zkPortSetting(options, err.port)} in ${cfgPath} or stop that process`,
        ExitCode.busy,
      );
    }
    if (err.code === 'EEXIST' || err.code === 'ENOTDIR')
      throw new CliError(`cannot start ZooKeeper: ${err.message}: check dataDir and dataLogDir in ${cfgPath}`, ExitCode.usage);
    // A key or trust store that cannot be used (tls/context.ts names the ssl.* key and the file).
    if (err.name === 'TlsStoreError') throw new CliError(`cannot start ZooKeeper: ${err.message} (in ${cfgPath})`, ExitCode.usage);
    throw e;
  }
}

async function untilSignal(servers: Running[], log: Logger): Promise<void> {
  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      log.info({ signal: sig }, 'stopping');
      Promise.all(servers.map((s) => s.stop())).then(
        () => resolve(),
        () => resolve(),
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

async function serveUntilSignal(options: ServerOptions, log: Logger, cfgPath: string): Promise<void> {
  const server = await startServer(options, log, cfgPath);
  process.stdout.write(`ZooKeeper server listening on ${options.clientPortAddress}:${server.port}\n`);
  await untilSignal([server], log);
}

/** True when this file is the program (`node dist/src/cli/main.js ...`), not imported by bin/clustergenie.js. */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

// Run directly (how `up` starts its children, and `npm start`), the same as bin/clustergenie.js.
if (isEntryPoint()) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(`clustergenie: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
