// `clustergenie log-consumer`: reads `logs.dev` in a consumer group and forwards to Loki's push
// API; closes gracefully on SIGINT/SIGTERM (what was read is pushed for a while, then committed).

import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { createLogger } from '../../../util/log.js';
import { exitOnEscapedError } from '../../serviceStartup.js';
import type { PushEncoding } from '../lokiPush.js';
import { batcherDefaults, type LineFormat } from './batcher.js';
import { LogConsumer, logConsumerDefaults } from './consumer.js';
import { bootstrapServers } from '../../kafka.js';

const USAGE = `usage: clustergenie log-consumer [--bootstrap-server <host:port>[,...]] [--group <id>] [--topic <name>]
                                 [--loki-url <url>] [--push-format protobuf|json] [--tenant <org id>]
                                 [--env <label>] [--line-format message|json] [--metrics-port <port>]
                                 [--batch-entries-max <n>] [--batch-bytes-max <bytes>] [--batch-wait-ms <ms>]
                                 [--batch-linger-ms <ms>] [--backoff-ms-max <ms>] [--log-level <level>]
  --loki-url         Loki base URL (default $LOKI_URL or ${logConsumerDefaults.lokiUrl}); /loki/api/v1/push is appended
  --push-format      protobuf (snappy, Loki's default) or json
  --tenant           sent as X-Scope-OrgID
  --env              the env label of every stream (default dev)
  --line-format      message: the event's message is the line; json: the whole event
  --metrics-port     serve Prometheus /metrics on 127.0.0.1:<port> (0: any free port)
  --batch-wait-ms    how long a batch's first entry waits for more at most (default ${batcherDefaults.batchWaitMs})
  --batch-linger-ms  how long it waits when no push is under way (default ${batcherDefaults.batchLingerMs})
`;

function integer(flag: string, v: string | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${flag} must be an integer from ${min} to ${max}, not ${v}`);
  return n;
}

function oneOf<T extends string>(flag: string, v: string | undefined, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (!(allowed as readonly string[]).includes(v)) throw new Error(`--${flag} must be one of ${allowed.join(', ')}, not ${v}`);
  return v as T;
}

export async function runLogConsumer(args: string[]): Promise<void> {
  let values: Record<string, string | boolean | undefined>;
  let settings: {
    pushFormat: PushEncoding;
    lineFormat: LineFormat;
    metricsPort: number | undefined;
    batchEntriesMax: number;
    batchBytesMax: number;
    batchWaitMs: number;
    batchLingerMs: number;
    backoffMsMax: number;
  };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        'bootstrap-server': { type: 'string' },
        group: { type: 'string' },
        topic: { type: 'string' },
        'loki-url': { type: 'string' },
        'push-format': { type: 'string' },
        tenant: { type: 'string' },
        env: { type: 'string' },
        'line-format': { type: 'string' },
        'metrics-port': { type: 'string' },
        'batch-entries-max': { type: 'string' },
        'batch-bytes-max': { type: 'string' },
        'batch-wait-ms': { type: 'string' },
        'batch-linger-ms': { type: 'string' },
        'backoff-ms-max': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    }));
    const s = (k: string): string | undefined => values[k] as string | undefined;
    const metrics = s('metrics-port');
    settings = {
      pushFormat: oneOf('push-format', s('push-format'), ['protobuf', 'json'] as const, 'protobuf'),
      lineFormat: oneOf('line-format', s('line-format'), ['message', 'json'] as const, 'message'),
      metricsPort: metrics === undefined ? undefined : integer('metrics-port', metrics, 0, 0, 65_535),
      batchEntriesMax: integer('batch-entries-max', s('batch-entries-max'), batcherDefaults.batchEntriesMax, 1, 1_000_000),
      batchBytesMax: integer('batch-bytes-max', s('batch-bytes-max'), batcherDefaults.batchBytesMax, 1024, 256 * 1024 * 1024),
      batchWaitMs: integer('batch-wait-ms', s('batch-wait-ms'), batcherDefaults.batchWaitMs, 0, 600_000),
      batchLingerMs: integer('batch-linger-ms', s('batch-linger-ms'), batcherDefaults.batchLingerMs, 0, 600_000),
      backoffMsMax: integer('backoff-ms-max', s('backoff-ms-max'), 5 * 60_000, 1000, 3_600_000),
    };
    const env = s('env');
    if (env !== undefined && env.length === 0) throw new Error('--env must not be empty');
  } catch (e) {
    process.stderr.write(`clustergenie log-consumer: ${(e as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const log = createLogger('log-consumer', values['log-level'] as string | undefined);
  exitOnEscapedError('log-consumer', log);
  const bootstrap = bootstrapServers(values['bootstrap-server'] as string | undefined);
  let consumer: LogConsumer;
  try {
    consumer = new LogConsumer({
      kafka: { bootstrapBrokers: bootstrap, clientId: `clustergenie-log-consumer-${hostname()}-${process.pid}` },
      groupId: (values.group as string | undefined) ?? logConsumerDefaults.groupId,
      ...(values.topic ? { topic: values.topic as string } : {}),
      lokiUrl: (values['loki-url'] as string | undefined) ?? process.env['LOKI_URL'] ?? logConsumerDefaults.lokiUrl,
      pushFormat: settings.pushFormat,
      ...(values.tenant ? { tenant: values.tenant as string } : {}),
      batch: {
        env: (values.env as string | undefined) ?? batcherDefaults.env,
        lineFormat: settings.lineFormat,
        batchEntriesMax: settings.batchEntriesMax,
        batchBytesMax: settings.batchBytesMax,
        batchWaitMs: settings.batchWaitMs,
        batchLingerMs: settings.batchLingerMs,
      },
      backoff: { backoffMsMax: settings.backoffMsMax },
      ...(settings.metricsPort !== undefined ? { metricsPort: settings.metricsPort } : {}),
      logger: log,
      onError: (e) => {
        log.error({ err: e }, 'log consumer failed; stopping');
        void consumer.close({ drain: false }).finally(() => process.exit(1));
      },
    });
  } catch (e) {
    process.stderr.write(`clustergenie log-consumer: ${(e as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'stopping');
      consumer.close().then(resolve, (e) => {
        log.error({ err: e }, 'close failed');
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  try {
    await consumer.start();
  } catch (e) {
    process.stderr.write(`clustergenie log-consumer: cannot start: ${(e as Error).message}\n`);
    await consumer.close({ drain: false }).catch(() => undefined);
    process.exit(1);
  }
  const metrics = consumer.metrics ? ` metrics ${consumer.metrics.url}` : '';
  process.stdout.write(`log-consumer ready: group ${consumer.groupId} topic ${consumer.topic}${metrics}\n`);
  await stopped;
}
