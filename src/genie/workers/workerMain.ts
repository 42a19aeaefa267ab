// `clustergenie worker`: one Event Handler process. Joins the worker group, runs the built-in job
// types (and whatever the embedding code registers), and closes gracefully on SIGINT/SIGTERM:
// running jobs get closeGraceMs to finish, the rest are re-delivered to another worker.

import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { createLogger } from '../../util/log.js';
import type { ZooKeeperClient } from '../../zookeeper/client/index.js';
import { connectServiceZooKeeper, exitOnEscapedError } from '../serviceStartup.js';
import { ZkTypeLimits } from '../coord/typeLimits.js';
import { WorkerRegistration } from '../coord/workerRegistry.js';
import { builtinHandlers } from './builtins.js';
import { Worker, workerDefaults } from './worker.js';
import { type MetricsServer, metricsPortOption, startMetricsServer } from '../jobs/metrics.js';
import { WorkerMetrics } from './metrics.js';
import { bootstrapServers } from '../kafka.js';

const USAGE = `usage: clustergenie worker [--bootstrap-server <host:port>[,...]] [--zookeeper <connect>] [--group <id>] [--id <worker id>]
                           [--concurrency <n>] [--concurrency-min <n>] [--concurrency-max <n>] [--log-level <level>]
                           [--metrics-port <port>] [--metrics-host <addr>]
  --zookeeper: register under /clustergenie/workers and honour the per-type caps in /clustergenie/limits
  --metrics-port: serve Prometheus metrics at http://<metrics-host>:<port>/metrics (0 = any free port;
                  default: none); --metrics-host defaults to 127.0.0.1
`;

function count(flag: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new Error(`--${flag} must be an integer from 1 to 10000, not ${v}`);
  return n;
}

export async function runWorker(args: string[]): Promise<void> {
  let values: Record<string, string | boolean | undefined>;
  let concurrency: { min: number; max: number; initial: number };
  let metricsPort: number | undefined;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        'bootstrap-server': { type: 'string' },
        zookeeper: { type: 'string' },
        group: { type: 'string' },
        id: { type: 'string' },
        concurrency: { type: 'string' },
        'concurrency-min': { type: 'string' },
        'concurrency-max': { type: 'string' },
        'log-level': { type: 'string' },
        'metrics-port': { type: 'string' },
        'metrics-host': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    }));
    const min = count('concurrency-min', values['concurrency-min'] as string | undefined, workerDefaults.concurrency.min);
    const max = count('concurrency-max', values['concurrency-max'] as string | undefined, workerDefaults.concurrency.max);
    const initial = count(
      'concurrency',
      values.concurrency as string | undefined,
      Math.min(max, Math.max(min, workerDefaults.concurrency.initial)),
    );
    if (max < min || initial < min || initial > max)
      throw new Error(`need concurrency-min <= concurrency <= concurrency-max (${min}, ${initial}, ${max})`);
    concurrency = { min, max, initial };
    metricsPort = metricsPortOption(values['metrics-port'] as string | undefined);
  } catch (e) {
    process.stderr.write(`clustergenie worker: ${(e as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const id = (values.id as string | undefined) ?? `${hostname()}-${process.pid}`;
  const bootstrap = bootstrapServers(values['bootstrap-server'] as string | undefined);
  const log = createLogger('worker', values['log-level'] as string | undefined);
  exitOnEscapedError('worker', log);
  // ZooKeeper (optional): liveness in /clustergenie/workers and the global per-type caps.
  let zk: ZooKeeperClient | undefined;
  let registration: WorkerRegistration | undefined;
  let limits: ZkTypeLimits | undefined;
  const zkConnect = values.zookeeper as string | undefined;
  if (zkConnect !== undefined) {
    zk = await connectServiceZooKeeper('worker', zkConnect, log);
    if (!zk) return;
    const client = zk;
    registration = new WorkerRegistration(client, { id, capacity: concurrency.initial, logger: log });
    limits = new ZkTypeLimits(client, { leaseData: id, logger: log });
  }
  const metrics = metricsPort === undefined ? undefined : new WorkerMetrics();
  const worker = new Worker({
    kafka: { bootstrapBrokers: bootstrap, clientId: `clustergenie-worker-${id}` },
    groupId: (values.group as string | undefined) ?? workerDefaults.groupId,
    workerId: id,
    concurrency,
    handlers: builtinHandlers,
    logger: log,
    ...(metrics ? { metrics } : {}),
    ...(limits ? { gate: limits } : {}),
    ...(registration ? { onActivity: (a: { running: number; capacity: number; queued: number }) => registration.update(a) } : {}),
    onError: (e) => {
      log.error({ err: e }, 'worker failed; stopping');
      void worker.close().finally(() => process.exit(1));
    },
  });
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'stopping');
      worker.close().then(resolve, (e) => {
        log.error({ err: e }, 'close failed');
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  let metricsServer: MetricsServer | undefined;
  try {
    if (metrics)
      metricsServer = await startMetricsServer(metrics.registry, {
        host: (values['metrics-host'] as string | undefined) ?? '127.0.0.1',
        port: metricsPort!,
      });
  } catch (e) {
    process.stderr.write(`clustergenie worker: cannot serve metrics: ${(e as Error).message}\n`);
    await worker.close().catch(() => undefined);
    process.exit(1);
  }
  if (metricsServer) process.stdout.write(`worker ${id} metrics on ${metricsServer.url}\n`);
  try {
    await worker.start();
  } catch (e) {
    process.stderr.write(`clustergenie worker: cannot join the group: ${(e as Error).message}\n`);
    await worker.close().catch(() => undefined);
    process.exit(1);
  }
  await registration?.start();
  process.stdout.write(`worker ${id} ready\n`);
  await stopped;
  await metricsServer?.close();
  await registration?.close().catch(() => undefined);
  limits?.close();
  await zk?.close().catch(() => undefined);
}
