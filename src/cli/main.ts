// The `clustergenie` command. Its subcommands and flags are a contract: keep them stable.
//
// What only one subcommand needs is imported when it runs (the tools, the `up` supervisor,
// the quorum code for an ensemble member): module loading is most of a server's start-up CPU,
// and a 3-member cold start runs three of them at once on a small machine.

import { mkdirSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadZooCfg } from '../zookeeper/config.js';
import type { ParsedConfig } from '../zookeeper/config.js';
import { startZooKeeperServer } from '../zookeeper/server/server.js';
import { createLogger, type Logger } from '../util/log.js';
import type { ServerOptions } from '../zookeeper/server/options.js';
import { StorageCorruptError } from '../zookeeper/persistence/store.js';
import { DataDirLockedError } from '../zookeeper/persistence/files.js';
import { capYoungGeneration, youngGenCapFromEnv } from '../util/youngGen.js';
import { heapGrowthFromEnv, limitOldGenerationGrowth } from '../util/oldGen.js';

const USAGE = `usage:
  clustergenie zookeeper --config <zoo.cfg> [--log-level <level>]
      one ZooKeeper server in the foreground (alias: zk), like zkServer.sh start-foreground
  clustergenie kafka --config <server.properties> [--log-level <level>]
      one Kafka broker in the foreground, like kafka-server-start.sh (KAFKA_* variables override the file)
  clustergenie up [--data-dir <dir>] [--zk-port <port>] [--kafka-port <port>] [--brokers <n>] [--zk-members <n>]
                  [--tick-time <ms>] [--init-limit <ticks>] [--sync-limit <ticks>] [--restart] [--log-level <level>]
                  [--jobs-port <port>] [--workers <n>] [--logs-port <port>] [--metrics-port <port>] [--no-services]
      the whole local system, one process per node: 3 ZooKeeper members (ports zk-port.. (2181), quorum 2888..,
      election 3888..; tickTime 2000, initLimit 5, syncLimit 2) and 3 Kafka brokers (kafka-port.. (9092)), topics
      cluster-events, cluster-events.delay, cluster-events.dlq, clustergenie.jobs, logs.dev, monitoring.alerts and
      monitoring.metrics, then the Job Service (http://127.0.0.1:8081), the scheduler, 2 workers, the log store
      (Loki API on http://127.0.0.1:3100), the Log Consumer, a shipper of every process's log and the monitor;
      /metrics of members, brokers and services on metrics-port.. (7000), listed in <data-dir>/prometheus/targets.json;
      configs under --data-dir (./data) are written only when missing
  clustergenie jobs-service [--bootstrap-server <host:port,...>] [--zookeeper <connect>] [--host <addr>] [--port <port>]
                            [--data-dir <dir>] [--instance <name>] [--log-level <level>]
      the Job Service: HTTP API (docs/API.md) and job view over cluster-events
  clustergenie worker [--bootstrap-server <host:port,...>] [--zookeeper <connect>] [--group <id>] [--id <name>]
                      [--concurrency <n>] [--concurrency-min <n>] [--concurrency-max <n>] [--log-level <level>]
      an Event Handler group member running jobs in an auto-scaling pool
  clustergenie scheduler [--bootstrap-server <host:port,...>] [--zookeeper <connect>] [--id <name>] [--log-level <level>]
      retries, delayed and cron jobs (one active scheduler, elected through ZooKeeper)
  clustergenie ship-logs [--bootstrap-server <host:port,...>] [--topic logs.dev] [--checkpoint <path>] [--from-beginning]
                         [--docker] <file>... | -
      follow files (rotation and truncation handled) or stdin into logs.dev as Vector-shaped events (see --help)
  clustergenie log-consumer [--bootstrap-server <host:port,...>] [--group <id>] [--loki-url <url>] [--push-format protobuf|json]
                            [--tenant <id>] [--env <name>] [--metrics-port <port>]
      a consumer group member forwarding logs.dev to a Loki push endpoint (LOKI_URL), committing after Loki accepts
  clustergenie log-store [--host <addr>] [--port <port>] [--data-dir <dir>] [--retention-hours <h>] [--retention-bytes <n>]
      the embedded Loki-compatible log store (push, query_range, LogQL subset, tail) on http://127.0.0.1:3100
  clustergenie monitor [--zookeeper <connect>] [--bootstrap-server <host:port,...>] [--watch-dir <dir>] [--metrics-port <port>]
      alert rules over ZooKeeper, Kafka, disks and jobs (one active monitor, elected through ZooKeeper): alert events
      to monitoring.alerts, snapshots to monitoring.metrics, kafka_exporter's metrics on /metrics
  clustergenie zookeeper-tools <tool> ...
      log-dump, snapshot-dump, log-truncate, purge
`;

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'zookeeper':
    case 'zk':
      return runZooKeeper(rest);
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
    default:
      process.stderr.write(`clustergenie: unknown command "${cmd}"\n${USAGE}`);
      process.exitCode = 2;
  }
}

/** A long-running server's V8 heap limits (util/youngGen.ts, util/oldGen.ts), from the environment. */
function tuneHeapFromEnv(): void {
  capYoungGeneration(youngGenCapFromEnv());
  limitOldGenerationGrowth(heapGrowthFromEnv());
}

async function runZooKeeper(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      'log-level': { type: 'string' },
      'super-digest': { type: 'string' },
    },
    allowPositionals: false,
  });
  if (!values.config) throw new Error(`--config <zoo.cfg> is required\n${USAGE}`);
  const log = createLogger('zookeeper', values['log-level']);
  const sysProps: Record<string, string> = {};
  if (values['super-digest']) sysProps['zookeeper.DigestAuthenticationProvider.superDigest'] = values['super-digest'];
  let parsed: ParsedConfig;
  try {
    parsed = loadZooCfg(values.config, sysProps);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`clustergenie: invalid config ${values.config}: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  for (const w of parsed.warnings) log.warn({ config: values.config }, w);
  mkdirSync(parsed.options.dataDir, { recursive: true });
  tuneHeapFromEnv();
  await serveUntilSignal(parsed.options, log);
}

interface Running {
  stop(): Promise<void>;
}

/** Starts one server (standalone, or an ensemble member when zoo.cfg lists several). */
async function startServer(options: ServerOptions, log: Logger): Promise<Running & { port: number }> {
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
    if (e instanceof StorageCorruptError || e instanceof DataDirLockedError) {
      log.fatal({ error: e.message }, 'cannot start: data directory problem');
      process.stderr.write(`clustergenie: cannot start ZooKeeper: ${e.message}\n`);
      process.exit(1);
    }
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

async function serveUntilSignal(options: ServerOptions, log: Logger): Promise<void> {
  const server = await startServer(options, log);
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
