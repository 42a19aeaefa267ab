// `clustergenie monitor`: one monitor candidate in the foreground, with its /metrics endpoint.
// Start several for fail-over; the one elected through ZooKeeper evaluates the rules and
// publishes, the others stand by. Runs until SIGINT/SIGTERM.

import { type MetricsHttpServer, registrySource, serveMetricsHttp } from '../../util/metricsHttp.js';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { createLogger } from '../../util/log.js';
import { connectServiceZooKeeper, exitOnEscapedError } from '../serviceStartup.js';
import { parseMembers } from './collect.js';
import type { MonitorMetrics } from './metrics.js';
import { Monitor } from './monitor.js';
import { ALERT_NAMES, type RuleConfig } from './rules.js';
import { bootstrapServers } from '../kafka.js';

const USAGE = `usage: clustergenie monitor [--zookeeper <host:port,...[/chroot]>] [--bootstrap-server <host:port,...>]
                            [--zk-members <host:port,...>] [--watch-dir <dir>]... [--zk-data-dir <dir>]...
                            [--interval-ms <ms>]
                            [--metrics-host <host>] [--metrics-port <port>] [--jobs-url <url>]
                            [--id <name>] [--log-level <level>]
                            [--for-ms <ms>] [--zk-avg-latency-ms-max <ms>] [--consumer-lag-min <messages>]
                            [--disk-free-percent-min <percent>] [--disk-free-bytes-min <bytes>]
                            [--zk-txnlog-bytes-min <bytes>] [--zk-txnlog-window-ms <ms>]
  --zk-data-dir: a ZooKeeper dataLogDir (or dataDir) whose version-2/log.* files are watched (ZkTxnLogGrowing).
  defaults: --zookeeper 127.0.0.1:2181, --bootstrap-server 127.0.0.1:9092, --zk-members: the --zookeeper hosts,
            --interval-ms 5000, --metrics-host 127.0.0.1, --metrics-port 9308 (kafka_exporter's; 0 = any free port),
            --id <hostname>-<pid>. --jobs-url is the Job Service's /metrics URL (job failure rate; optional).
  rule settings (docs/MONITORING.md): --for-ms replaces every rule's \`for\` duration; thresholds default to
            --zk-avg-latency-ms-max 100, --consumer-lag-min 1000, --disk-free-percent-min 10,
            --disk-free-bytes-min 536870912, --zk-txnlog-bytes-min 1073741824, --zk-txnlog-window-ms 3600000.
`;

/** Serves GET /metrics on host:port (0: any free port). */
export function serveMetrics(metrics: MonitorMetrics, host: string, port: number): Promise<MetricsHttpServer> {
  return serveMetricsHttp(registrySource(metrics), { host, port });
}

function intOption(name: string, text: string | undefined, dflt: number, min: number): number {
  if (text === undefined) return dflt;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${JSON.stringify(text)}`);
  return n;
}

export async function runMonitor(args: string[]): Promise<void> {
  let values: {
    zookeeper?: string;
    'bootstrap-server'?: string;
    'zk-members'?: string;
    'watch-dir'?: string[];
    'zk-data-dir'?: string[];
    'interval-ms'?: string;
    'metrics-host'?: string;
    'metrics-port'?: string;
    'jobs-url'?: string;
    'for-ms'?: string;
    'zk-avg-latency-ms-max'?: string;
    'consumer-lag-min'?: string;
    'disk-free-percent-min'?: string;
    'disk-free-bytes-min'?: string;
    'zk-txnlog-bytes-min'?: string;
    'zk-txnlog-window-ms'?: string;
    id?: string;
    'log-level'?: string;
    help?: boolean;
  };
  let intervalMs: number;
  let metricsPort: number;
  let members: ReturnType<typeof parseMembers>;
  const rules: Partial<RuleConfig> = {};
  try {
    ({ values } = parseArgs({
      args,
      options: {
        zookeeper: { type: 'string' },
        'bootstrap-server': { type: 'string' },
        'zk-members': { type: 'string' },
        'watch-dir': { type: 'string', multiple: true },
        'zk-data-dir': { type: 'string', multiple: true },
        'interval-ms': { type: 'string' },
        'metrics-host': { type: 'string' },
        'metrics-port': { type: 'string' },
        'jobs-url': { type: 'string' },
        'for-ms': { type: 'string' },
        'zk-avg-latency-ms-max': { type: 'string' },
        'consumer-lag-min': { type: 'string' },
        'disk-free-percent-min': { type: 'string' },
        'disk-free-bytes-min': { type: 'string' },
        'zk-txnlog-bytes-min': { type: 'string' },
        'zk-txnlog-window-ms': { type: 'string' },
        id: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    }));
    intervalMs = intOption('interval-ms', values['interval-ms'], 5000, 100);
    metricsPort = intOption('metrics-port', values['metrics-port'], 9308, 0);
    members = parseMembers(values['zk-members'] ?? values.zookeeper ?? '127.0.0.1:2181');
    if (values['jobs-url'] !== undefined) new URL(values['jobs-url']);
    if (values['for-ms'] !== undefined) {
      const forMs = intOption('for-ms', values['for-ms'], 0, 0);
      rules.forMs = Object.fromEntries(ALERT_NAMES.map((n) => [n, forMs]));
    }
    const threshold = (
      flag: string,
      key: 'zkAvgLatencyMsMax' | 'consumerLagMin' | 'diskFreePercentMin' | 'diskFreeBytesMin' | 'zkTxnLogBytesMin',
    ): void => {
      const text = (values as Record<string, string | undefined>)[flag];
      if (text === undefined) return;
      const n = Number(text);
      if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag} must be a number >= 0, got ${JSON.stringify(text)}`);
      rules[key] = n;
    };
    threshold('zk-avg-latency-ms-max', 'zkAvgLatencyMsMax');
    threshold('consumer-lag-min', 'consumerLagMin');
    threshold('disk-free-percent-min', 'diskFreePercentMin');
    threshold('disk-free-bytes-min', 'diskFreeBytesMin');
    threshold('zk-txnlog-bytes-min', 'zkTxnLogBytesMin');
    if (values['zk-txnlog-window-ms'] !== undefined) {
      rules.zkTxnLogWindowMs = intOption('zk-txnlog-window-ms', values['zk-txnlog-window-ms'], 0, 1000);
    }
  } catch (e) {
    process.stderr.write(`clustergenie monitor: ${(e as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const id = values.id ?? `${hostname()}-${process.pid}`;
  const bootstrapBrokers = bootstrapServers(values['bootstrap-server']);
  const log = createLogger('monitor', values['log-level']);
  exitOnEscapedError('monitor', log);
  const zk = await connectServiceZooKeeper('monitor', values.zookeeper ?? '127.0.0.1:2181', log);
  if (!zk) return;
  const monitor = new Monitor({
    id,
    zk,
    kafka: { bootstrapBrokers, clientId: `monitor-${id}` },
    zkMembers: members,
    watchDirs: values['watch-dir'] ?? [],
    zkDataDirs: values['zk-data-dir'] ?? [],
    intervalMs,
    ...(values['jobs-url'] !== undefined ? { jobsMetricsUrl: values['jobs-url'] } : {}),
    rules,
    logger: log,
  });
  let http: MetricsHttpServer;
  try {
    http = await serveMetrics(monitor.metrics, values['metrics-host'] ?? '127.0.0.1', metricsPort);
  } catch (e) {
    process.stderr.write(`clustergenie monitor: cannot listen for /metrics: ${(e as Error).message}\n`);
    await zk.close().catch(() => undefined);
    process.exitCode = 1;
    return;
  }
  await monitor.start();
  process.stdout.write(`monitor ${id} ready, metrics on http://${values['metrics-host'] ?? '127.0.0.1'}:${http.port}/metrics\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await monitor.close().catch((e: unknown) => log.warn({ err: e }, 'closing the monitor failed'));
  await http.close();
  await zk.close().catch(() => undefined);
}
