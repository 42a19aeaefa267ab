// `clustergenie kafka --config <server.properties>`: one Kafka broker in the foreground, like
// kafka-server-start.sh. KAFKA_* environment variables override the file (container form).
// A bad value exits 2 naming the key and line; SIGTERM/SIGINT stop the broker cleanly.

import { parseArgs } from 'node:util';
import { Broker } from '../kafka/broker/broker.js';
import { KafkaConfigError, loadServerProperties } from '../kafka/config.js';
import { createLogger } from '../util/log.js';

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
    process.exitCode = 2;
    return;
  }
  const log = createLogger('kafka', values['log-level']);
  let config: ReturnType<typeof loadServerProperties>;
  try {
    config = loadServerProperties(path, process.env);
  } catch (e) {
    if (e instanceof KafkaConfigError) {
      process.stderr.write(`clustergenie: invalid config ${path}: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  for (const k of config.unknownKeys) log.warn({ key: k, config: path }, 'unknown or unsupported config key ignored');
  const broker = new Broker(config, { logger: log });
  try {
    await broker.start();
  } catch (e) {
    process.stderr.write(`clustergenie: cannot start the Kafka broker: ${(e as Error).message}\n`);
    await broker.stop().catch(() => undefined);
    process.exit(1);
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
