// `clustergenie kafka --config <server.properties>`: one Kafka broker in the foreground, like
// kafka-server-start.sh. KAFKA_* environment variables override the file (container form).
// A bad value exits 2 naming the key and line; SIGTERM/SIGINT stop the broker cleanly.

import { parseArgs } from 'node:util';
import { Broker } from '../kafka/broker/broker.js';
import { KafkaConfigError, loadServerProperties } from '../kafka/config.js';
import { createLogger } from '../util/log.js';
import { ExitCode } from './exitCodes.js';

export async function runKafka(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      'log-level': { type: 'string' },
    },
    // kafka-server-start.sh takes the file as its first argument: accept that form too.
    allowPositionals: true,
  });
  const path = values.config ?? positionals[0];
  if (!path) {
    process.stderr.write('clustergenie kafka: --config <server.properties> is required\n');
    process.exitCode = ExitCode.usage;
    return;
  }
  const log = createLogger('kafka', values['log-level']);
  let config: ReturnType<typeof loadServerProperties>;
  try {
    config = loadServerProperties(path, process.env);
  } catch (e) {
    if (e instanceof KafkaConfigError) {
      process.stderr.write(`clustergenie: invalid config ${path}: ${e.message}\n`);
      process.exit(ExitCode.usage);
    }
    throw e;
  }
  for (const k of config.unknownKeys) log.warn({ key: k, config: path }, 'unknown or unsupported config key ignored');
  const broker = new Broker(config, { logger: log });
  try {
    await broker.start();
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { port?: number };
    await broker.stop().catch(() => undefined);
    if (err.code === 'EADDRINUSE') {
      // The port another process holds comes from `listeners` (or KAFKA_LISTENERS).
      process.stderr.write(
        `clustergenie: cannot start the Kafka broker: port ${err.port ?? '?'} is in use by another process; ` +
          `change listeners in ${path} (or KAFKA_LISTENERS), or stop that process\n`,
      );
      process.exit(ExitCode.busy);
    }
    process.stderr.write(`clustergenie: cannot start the Kafka broker: ${err.message}\n`);
    process.exit(ExitCode.failure);
  }
  process.stdout.write(`Kafka broker ${broker.brokerId} listening on ${broker.host}:${broker.port}\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'stopping');
      broker.stop().then(resolve, resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
