// The Kafka broker of `clustergenie up`: one broker on the local ensemble. Its server.properties
// is written under the data dir only when none exists, so a user's edits survive restarts; it
// is the same file `clustergenie kafka --config` reads. The cluster issue grows this to three.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Broker } from '../kafka/broker/broker.js';
import { loadServerProperties } from '../kafka/config.js';
import type { Logger } from '../util/log.js';

export interface UpBroker {
  readonly brokerId: number;
  readonly port: number;
  readonly configPath: string;
  stop(): Promise<void>;
}

export async function startUpBroker(dir: string, o: { zkConnect: string; port: number; log: Logger }): Promise<UpBroker> {
  mkdirSync(dir, { recursive: true });
  const configPath = join(dir, 'server.properties');
  if (!existsSync(configPath)) {
    writeFileSync(
      configPath,
      [
        '# Written by `clustergenie up` (only when missing: edit freely). Run this broker by hand with',
        '# `clustergenie kafka --config <this file>`.',
        'broker.id=1',
        `listeners=PLAINTEXT://127.0.0.1:${o.port}`,
        `log.dirs=${join(dir, 'logs')}`,
        `zookeeper.connect=${o.zkConnect}`,
        'zookeeper.session.timeout.ms=18000',
        'num.partitions=3',
        'default.replication.factor=1',
        '# One broker: the internal topics cannot have more replicas than that.',
        'offsets.topic.replication.factor=1',
        'transaction.state.log.replication.factor=1',
        'group.initial.rebalance.delay.ms=0',
        '',
      ].join('\n'),
    );
  }
  const config = loadServerProperties(configPath, process.env);
  for (const k of config.unknownKeys) o.log.warn({ key: k, config: configPath }, 'unknown or unsupported config key ignored');
  const broker = new Broker(config, { logger: o.log });
  try {
    await broker.start();
  } catch (e) {
    await broker.stop().catch(() => undefined);
    throw e;
  }
  return { brokerId: broker.brokerId, port: broker.port, configPath, stop: () => broker.stop() };
}
