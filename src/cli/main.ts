// The `clustergenie` command. Its subcommands and flags are a contract: keep them stable.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadZooCfg } from '../zookeeper/config.js';
import { startZooKeeperServer } from '../zookeeper/server/server.js';
import { createLogger } from '../util/log.js';
import { StorageCorruptError } from '../zookeeper/persistence/store.js';
import { DataDirLockedError } from '../zookeeper/persistence/files.js';
import { runZkTools } from './zkTools.js';

const USAGE = `usage:
  clustergenie zookeeper --config <zoo.cfg> [--log-level <level>]   one ZooKeeper server, foreground (alias: zk)
  clustergenie up [--data-dir <dir>] [--zk-port <port>]            the whole local system
  clustergenie zookeeper-tools <tool> ...                          log-dump, snapshot-dump, log-truncate, purge
`;

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'zookeeper':
    case 'zk':
      return runZooKeeper(rest);
    case 'up':
      return runUp(rest);
    case 'zookeeper-tools':
      process.exitCode = await runZkTools(rest);
      return;
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
  let parsed;
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
  await serveUntilSignal(parsed.options, log);
}

async function serveUntilSignal(options: Parameters<typeof startZooKeeperServer>[0], log: ReturnType<typeof createLogger>): Promise<void> {
  let server;
  try {
    server = await startZooKeeperServer(options, { logger: log });
  } catch (e) {
    if (e instanceof StorageCorruptError || e instanceof DataDirLockedError) {
      log.fatal({ error: e.message }, 'cannot start: data directory problem');
      process.stderr.write(`clustergenie: cannot start ZooKeeper: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  process.stdout.write(`ZooKeeper server listening on ${options.clientPortAddress}:${server.port}\n`);
  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      log.info({ signal: sig }, 'stopping');
      server.stop().then(resolve, resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

async function runUp(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'data-dir': { type: 'string' },
      'zk-port': { type: 'string' },
      'log-level': { type: 'string' },
    },
  });
  const dataDir = values['data-dir'] ?? join(process.cwd(), 'data');
  const zkDir = join(dataDir, 'zookeeper');
  mkdirSync(zkDir, { recursive: true });
  const cfgPath = join(zkDir, 'zoo.cfg');
  writeFileSync(
    cfgPath,
    [
      '# Written by `clustergenie up`; edit freely and run `clustergenie zookeeper --config` with it.',
      'tickTime=2000',
      `dataDir=${zkDir}`,
      `clientPort=${values['zk-port'] ?? '2181'}`,
      'clientPortAddress=127.0.0.1',
      '4lw.commands.whitelist=*',
      'admin.enableServer=true',
      'admin.serverAddress=127.0.0.1',
      'admin.serverPort=8080',
      'extendedTypesEnabled=true',
      '',
    ].join('\n'),
  );
  const log = createLogger('clustergenie', values['log-level']);
  const parsed = loadZooCfg(cfgPath);
  for (const w of parsed.warnings) log.warn(w);
  await serveUntilSignal(parsed.options, log);
}
