// The `clustergenie` command. Its subcommands and flags are a contract: keep them stable.
//
// What only one subcommand needs is imported when it runs (the tools, the `up` layout writer,
// the quorum code for an ensemble member): module loading is most of a server's start-up CPU,
// and a 3-member cold start runs three of them at once on a small machine.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
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
  clustergenie up [--data-dir <dir>] [--zk-port <port>] [--kafka-port <port>]
      the whole local system: 3 ZooKeeper members (ports zk-port..+2, quorum 2888.., election 3888..)
      and a Kafka broker on kafka-port (9092)
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
    case 'up':
      return runUp(rest);
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

async function runUp(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'data-dir': { type: 'string' },
      'zk-port': { type: 'string' },
      'zk-quorum-port': { type: 'string' },
      'zk-election-port': { type: 'string' },
      'admin-port': { type: 'string' },
      'kafka-port': { type: 'string' },
      'log-level': { type: 'string' },
    },
  });
  const dataDir = values['data-dir'] ?? join(process.cwd(), 'data');
  const port = (name: 'zk-port' | 'zk-quorum-port' | 'zk-election-port' | 'admin-port' | 'kafka-port', dflt: number): number => {
    const v = values[name];
    const n = v === undefined ? dflt : Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 65533) throw new Error(`--${name} must be a port number, got "${v}"`);
    return n;
  };
  const clientPort = port('zk-port', 2181);
  const quorumPort = port('zk-quorum-port', 2888);
  const electionPort = port('zk-election-port', 3888);
  const adminPort = port('admin-port', 8080);
  const kafkaPort = port('kafka-port', 9092);
  const log = createLogger('clustergenie', values['log-level']);
  tuneHeapFromEnv();
  const { writeEnsembleLayout } = await import('../cluster/ensembleLayout.js');
  const layout = await writeEnsembleLayout(join(dataDir, 'zookeeper'), {
    size: 3,
    tickTimeMs: 2000,
    portBases: { client: clientPort, quorum: quorumPort, election: electionPort },
    header: 'Written by `clustergenie up`; run one member by hand with `clustergenie zookeeper --config <this file>`.',
    extraConfig: (id) => ({
      maxClientCnxns: '60',
      // One admin server (the first member's) is enough on one machine.
      'admin.enableServer': String(id === 1),
      'admin.serverAddress': '127.0.0.1',
      'admin.serverPort': String(adminPort),
    }),
  });
  const servers: Running[] = [];
  for (const m of layout) {
    const parsed = loadZooCfg(m.configPath);
    for (const w of parsed.warnings) log.warn(w);
    servers.push(await startServer(parsed.options, log));
  }
  const zkConnect = `127.0.0.1:${clientPort},127.0.0.1:${clientPort + 1},127.0.0.1:${clientPort + 2}`;
  process.stdout.write(`ZooKeeper ensemble of 3 serving on ${zkConnect}\n`);
  const { startUpBroker } = await import('./upKafka.js');
  const broker = await startUpBroker(join(dataDir, 'kafka'), { zkConnect, port: kafkaPort, log });
  process.stdout.write(`Kafka broker ${broker.brokerId} serving on 127.0.0.1:${broker.port} (config ${broker.configPath})\n`);
  // The broker goes first: it leaves ZooKeeper while the ensemble is still there.
  await untilSignal(
    [
      {
        stop: async () => {
          await broker.stop();
          await Promise.all(servers.map((s) => s.stop()));
        },
      },
    ],
    log,
  );
}
