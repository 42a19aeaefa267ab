// `clustergenie ship-logs <file>... | -`: follows files (and/or stdin) and produces their lines to
// `logs.dev` as Vector-shaped log events. With files it runs until SIGINT/SIGTERM, then waits for
// Kafka to acknowledge what was read and saves the checkpoint; with `-` alone it exits once stdin
// ended and every line was acknowledged.

import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Admin } from '@platformatic/kafka';
import { createLogger, type Logger } from '../../../util/log.js';
import { bootstrapServers, clientBase, ensureTopics, type KafkaEndpoint } from '../../kafka.js';
import { exitOnEscapedError } from '../../serviceStartup.js';
import { LOGS_TOPIC } from '../logEvent.js';
import { LogShipper, type LogShipperOptions, logShipperDefaults } from './shipper.js';

const USAGE = `usage: clustergenie ship-logs [options] <file>... | -
  -                          read stdin (exits when it ends and every line is acknowledged)
  --bootstrap-server <h:p,...>   Kafka (default 127.0.0.1:9092)
  --topic <name>             default ${LOGS_TOPIC} (created with 3 partitions when missing)
  --checkpoint <path>        default <data-dir>/ship-logs.checkpoint.json
  --data-dir <dir>           default ./data
  --from-beginning           read files never seen before from their start (default: from their end)
  --docker                   lines are Docker json-file records (default: for names ending in -json.log)
  --line-bytes-max <n>       longer lines are cut and marked truncated (default ${logShipperDefaults.lineBytesMax})
  --buffered-lines-max <n>   lines read and not yet acknowledged at most (default ${logShipperDefaults.bufferedLinesMax})
  --buffered-bytes-max <n>   their bytes at most (default ${logShipperDefaults.bufferedBytesMax})
  --poll-interval-ms <n>     how often files are looked at without a change notification (default ${logShipperDefaults.pollIntervalMs})
  --no-watch                 poll only: no directory watches (files are read at the poll interval)
  --produce-bytes-max <n>    uncompressed bytes of events in one partition's record batch at most (default ${logShipperDefaults.produceBytesMax})
  --compression <codec>      lz4 (default), snappy, gzip or none
  --host <name>              the events' host field (default this machine's name)
  --log-level <level>
`;

class UsageError extends Error {}

function positive(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${flag} must be a positive integer, not ${v}`);
  return n;
}

interface Parsed {
  files: string[];
  stdin: boolean;
  bootstrap: string[];
  docker: boolean;
  dataDir: string;
  checkpoint: string;
  logLevel: string | undefined;
  options: Partial<LogShipperOptions>;
}

function parse(argv: string[]): Parsed | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      'bootstrap-server': { type: 'string' },
      topic: { type: 'string' },
      checkpoint: { type: 'string' },
      'data-dir': { type: 'string' },
      'from-beginning': { type: 'boolean' },
      docker: { type: 'boolean' },
      'line-bytes-max': { type: 'string' },
      'buffered-lines-max': { type: 'string' },
      'buffered-bytes-max': { type: 'string' },
      'poll-interval-ms': { type: 'string' },
      'no-watch': { type: 'boolean' },
      'produce-bytes-max': { type: 'string' },
      compression: { type: 'string' },
      host: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) return 'help';
  if (positionals.length === 0) throw new UsageError('name at least one file, or - for stdin');
  const compression = values.compression ?? 'lz4';
  if (!['lz4', 'snappy', 'gzip', 'none'].includes(compression))
    throw new UsageError(`--compression must be lz4, snappy, gzip or none, not ${compression}`);
  const options: Partial<LogShipperOptions> = { compression: compression as LogShipperOptions['compression'] };
  if (values.topic !== undefined) options.topic = values.topic;
  if (values.host !== undefined) options.host = values.host;
  if (values['from-beginning']) options.start = 'beginning';
  if (values['no-watch']) options.watchFiles = false;
  const numeric = [
    ['line-bytes-max', 'lineBytesMax'],
    ['buffered-lines-max', 'bufferedLinesMax'],
    ['buffered-bytes-max', 'bufferedBytesMax'],
    ['poll-interval-ms', 'pollIntervalMs'],
    ['produce-bytes-max', 'produceBytesMax'],
  ] as const;
  for (const [flag, key] of numeric) {
    const n = positive(flag, values[flag]);
    if (n !== undefined) options[key] = n;
  }
  const dataDir = resolve(values['data-dir'] ?? 'data');
  return {
    files: [...new Set(positionals.filter((p) => p !== '-').map((p) => resolve(p)))],
    stdin: positionals.includes('-'),
    bootstrap: bootstrapServers(values['bootstrap-server']),
    docker: values.docker ?? false,
    dataDir,
    checkpoint: resolve(values.checkpoint ?? join(dataDir, 'ship-logs.checkpoint.json')),
    logLevel: values['log-level'],
    options,
  };
}

/** Creates the topic when missing: 3 partitions, replicated as widely as the cluster allows (up to 3). */
async function ensureLogTopic(kafka: KafkaEndpoint, topic: string): Promise<void> {
  const admin = new Admin(clientBase(kafka));
  let brokers: number;
  try {
    if ((await admin.listTopics()).includes(topic)) return;
    brokers = (await admin.metadata({ topics: [] })).brokers.size;
  } finally {
    await admin.close();
  }
  const replicationFactor = Math.max(1, Math.min(3, brokers));
  await ensureTopics(kafka, [
    { name: topic, partitions: 3, replicationFactor, configs: { 'min.insync.replicas': String(Math.min(2, replicationFactor)) } },
  ]);
}

function statsLine(shipper: LogShipper): Record<string, unknown> {
  return { ...shipper.snapshot() };
}

export async function runShipLogs(argv: string[]): Promise<void> {
  let p: Parsed | 'help';
  try {
    p = parse(argv);
  } catch (e) {
    process.stderr.write(`clustergenie ship-logs: ${(e as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (p === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const log: Logger = createLogger('ship-logs', p.logLevel);
  exitOnEscapedError('ship-logs', log);
  const kafka: KafkaEndpoint = { bootstrapBrokers: p.bootstrap, clientId: `clustergenie-ship-logs-${process.pid}` };
  const topic = p.options.topic ?? LOGS_TOPIC;
  try {
    await ensureLogTopic(kafka, topic);
  } catch (e) {
    process.stderr.write(
      `clustergenie ship-logs: cannot reach Kafka at ${p.bootstrap.join(',')} or create ${topic}: ${(e as Error).message}\n`,
    );
    process.exitCode = 1;
    return;
  }
  const withFiles = p.files.length > 0;
  if (withFiles) await mkdir(dirname(p.checkpoint), { recursive: true });
  const shipper = new LogShipper({ ...p.options, kafka, logger: log, ...(withFiles ? { checkpointPath: p.checkpoint } : {}) });
  try {
    await shipper.start();
  } catch (e) {
    process.stderr.write(`clustergenie ship-logs: ${(e as Error).message}\n`);
    process.exitCode = 1;
    await shipper.close().catch(() => undefined);
    return;
  }
  for (const f of p.files) shipper.addFile(f, p.docker ? { docker: true } : {});

  const stopped = new Promise<string>((resolveStop) => {
    process.once('SIGTERM', () => resolveStop('SIGTERM'));
    process.once('SIGINT', () => resolveStop('SIGINT'));
  });
  const stdinDone = p.stdin ? shipper.addStream(process.stdin, 'stdin', { sourceType: 'stdin' }) : undefined;
  if (withFiles) process.stdout.write('ship-logs ready\n');
  const reason = await (withFiles || !stdinDone ? stopped : Promise.race([stopped, stdinDone.then(() => 'end of stdin')]));
  log.info({ reason, stats: statsLine(shipper) }, 'stopping');
  await shipper.close();
  const s = shipper.snapshot();
  if (s.bufferedLines > 0) {
    process.stderr.write(`clustergenie ship-logs: ${s.bufferedLines} lines were not acknowledged by Kafka before exit\n`);
    process.exitCode = 1;
  }
  log.info({ stats: statsLine(shipper) }, 'stopped');
  // The stdin stream (and a producer left retrying) would keep the process alive.
  process.exit();
}
