// `clustergenie scheduler`: one scheduler candidate in the foreground. Start several for
// fail-over; the elected one works, the others wait. Runs until SIGINT/SIGTERM.

import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { connectServiceZooKeeper, exitOnEscapedError } from '../serviceStartup.js';
import { createLogger } from '../../util/log.js';
import { Scheduler } from './scheduler.js';
import { type MetricsServer, metricsPortOption, startMetricsServer } from '../jobs/metrics.js';
import { SchedulerMetrics } from './metrics.js';
import { bootstrapServers } from '../kafka.js';

const USAGE = `usage: clustergenie scheduler [--bootstrap-server <host:port,...>] [--zookeeper <host:port,...[/chroot]>]
                              [--id <name>] [--log-level <level>] [--metrics-port <port>] [--metrics-host <addr>]
  defaults: --bootstrap-server 127.0.0.1:9092, --zookeeper 127.0.0.1:2181, --id <hostname>-<pid>
  --metrics-port: serve Prometheus metrics at http://<metrics-host>:<port>/metrics (0 = any free port;
                  default: none); --metrics-host defaults to 127.0.0.1
`;

export async function runScheduler(args: string[]): Promise<void> {
  let values: {
    'bootstrap-server'?: string;
    zookeeper?: string;
    id?: string;
    'log-level'?: string;
    'metrics-port'?: string;
    'metrics-host'?: string;
    help?: boolean;
  };
  let metricsPort: number | undefined;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        'bootstrap-server': { type: 'string' },
        zookeeper: { type: 'string' },
        id: { type: 'string' },
        'log-level': { type: 'string' },
        'metrics-port': { type: 'string' },
        'metrics-host': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    }));
    metricsPort = metricsPortOption(values['metrics-port']);
  } catch (e) {
    process.stderr.write(`clustergenie scheduler: ${(e as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const id = values.id ?? `${hostname()}-${process.pid}`;
  const bootstrapBrokers = bootstrapServers(values['bootstrap-server']);
  const log = createLogger('scheduler', values['log-level']);
  exitOnEscapedError('scheduler', log);
  // A fresh session after expiry: the election and its term follow it.
  const zk = await connectServiceZooKeeper('scheduler', values.zookeeper ?? '127.0.0.1:2181', log);
  if (!zk) return;
  const scheduler = new Scheduler({ kafka: { bootstrapBrokers, clientId: `clustergenie-scheduler-${id}` }, zk, id, logger: log });
  let metricsServer: MetricsServer | undefined;
  if (metricsPort !== undefined) {
    const metrics = new SchedulerMetrics(id, scheduler);
    try {
      metricsServer = await startMetricsServer(metrics.registry, { host: values['metrics-host'] ?? '127.0.0.1', port: metricsPort });
    } catch (e) {
      process.stderr.write(`clustergenie scheduler: cannot serve metrics: ${(e as Error).message}\n`);
      await zk.close().catch(() => undefined);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`scheduler ${id} metrics on ${metricsServer.url}\n`);
  }
  await scheduler.start();
  process.stdout.write(`scheduler ${id} ready\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await metricsServer?.close();
  await scheduler.close().catch((e: unknown) => log.warn({ err: e }, 'closing the scheduler failed'));
  await zk.close().catch(() => undefined);
}
