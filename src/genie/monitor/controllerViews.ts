// Which broker each registered broker believes is the controller: its own Metadata answer's
// controllerId, asked of that broker directly (not through a bootstrap, which would ask one broker
// for everyone). /controller names one broker; a deposed controller that has not noticed yet still
// names itself, and a broker whose metadata is stale names the old one: either is the split brain
// the KafkaControllerSplitBrain rule (rules.ts) reports. Works the same against Apache Kafka.

import { Connection, metadataV9 } from '@platformatic/kafka';
import { brokerIdPath, decodeBrokerInfo } from '../../kafka/zk/layout.js';
import type { ZooKeeperClient } from '../../zookeeper/client/client.js';

/** Brokers asked per round; more are left out (the rule still compares the ones asked). */
export const controllerViewBrokersMax = 100;

export interface ControllerView {
  broker: number;
  controller: number;
}

/** One broker's answer, bounded by timeoutMs from connect to response. */
async function askBroker(host: string, port: number, timeoutMs: number): Promise<number> {
  const c = new Connection('clustergenie-monitor', { connectTimeout: timeoutMs, requestTimeout: timeoutMs });
  try {
    await c.connect(host, port);
    // Version 9 (flexible): served by every broker line the monitor supports (Kafka 2.4+ and ours).
    const md = await metadataV9.api.async(c, [], false, false);
    return md.controllerId;
  } finally {
    await c.close().catch(() => undefined);
  }
}

/**
 * The views of `brokers` (ids from /brokers/ids), each asked on its first PLAINTEXT endpoint from its
 * registration. A broker that cannot be asked is left out and named in `errors`.
 */
export async function collectControllerViews(
  zk: ZooKeeperClient,
  brokers: readonly number[],
  timeoutMs: number,
): Promise<{ views: ControllerView[]; errors: string[] }> {
  const errors: string[] = [];
  const asked = await Promise.all(
    brokers.slice(0, controllerViewBrokersMax).map(async (id): Promise<ControllerView | undefined> => {
      try {
        const info = decodeBrokerInfo(id, (await zk.getData(brokerIdPath(id))).data);
        const e = info.endpoints.find((x) => x.securityProtocol === 'PLAINTEXT');
        if (!e) throw new Error('no PLAINTEXT listener registered');
        return { broker: id, controller: await askBroker(e.host || '127.0.0.1', e.port, timeoutMs) };
      } catch (err) {
        errors.push(`broker ${id}: ${(err as Error).message}`);
        return undefined;
      }
    }),
  );
  return { views: asked.filter((v): v is ControllerView => v !== undefined), errors };
}
