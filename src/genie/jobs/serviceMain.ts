// `clustergenie jobs-service`: one Job Service instance (HTTP API + job view) until SIGINT/SIGTERM.

import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { createLogger } from '../../util/log.js';
import { startJobsHttp } from './http.js';
import { JobService } from './service.js';
import { bootstrapServers } from '../kafka.js';

const USAGE = `usage: clustergenie jobs-service [options]
  --bootstrap-server <host:port,...>  Kafka brokers (default 127.0.0.1:9092)
  --zookeeper <connect>               ZooKeeper for idempotent client ids (optional)
  --host <addr>                       HTTP listen address (default 127.0.0.1)
  --port <n>                          HTTP port (default 8081; 0 = any free port)
  --data-dir <dir>                    store directory (default ./data/jobs-service)
  --instance <name>                   instance name (default <hostname>-<pid>)
  --partitions <n>                    create missing job topics with n partitions (default: they must exist)
  --replication-factor <n>            with --partitions (default 1)
  --log-level <level>                 trace|debug|info|warn|error (default warn)`;

function intOption(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, not ${v}`);
  return n;
}

export async function runJobsService(args: string[]): Promise<void> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args,
      options: {
        'bootstrap-server': { type: 'string', default: '127.0.0.1:9092' },
        zookeeper: { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '8081' },
        'data-dir': { type: 'string', default: './data/jobs-service' },
        instance: { type: 'string' },
        partitions: { type: 'string' },
        'replication-factor': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const str = (k: string): string | undefined => values[k] as string | undefined;
  let port: number;
  let partitions: number | undefined;
  let replicationFactor: number | undefined;
  try {
    port = intOption('port', str('port'), 0) ?? 8081;
    partitions = intOption('partitions', str('partitions'), 1);
    replicationFactor = intOption('replication-factor', str('replication-factor'), 1);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const logger = createLogger('jobs-service', str('log-level'));
  const instance = str('instance') ?? `${hostname()}-${process.pid}`;
  const service = new JobService({
    kafka: { bootstrapBrokers: bootstrapServers(str('bootstrap-server'), ''), clientId: `jobs-service-${instance}` },
    instance,
    logger,
    ...(str('zookeeper') !== undefined ? { zkConnect: str('zookeeper')! } : {}),
    ...(str('data-dir') !== undefined ? { dataDir: str('data-dir')! } : {}),
    ...(partitions !== undefined ? { partitions } : {}),
    ...(replicationFactor !== undefined ? { replicationFactor } : {}),
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await http?.app.close().catch(() => undefined);
      await service.close();
    })();
    return stopping;
  };
  let http: Awaited<ReturnType<typeof startJobsHttp>> | undefined;
  const signalled = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  try {
    await service.start();
    http = await startJobsHttp(service, { host: str('host') ?? '127.0.0.1', port, logger });
  } catch (e) {
    process.stderr.write(`jobs-service: ${(e as Error).message}\n`);
    await stop();
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`jobs-service listening on ${http.url}\n`);
  const sig = await signalled;
  logger.info({ signal: sig }, 'stopping');
  await stop();
}
