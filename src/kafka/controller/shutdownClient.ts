// The stopping broker's side of controlled shutdown (KafkaServer.controlledShutdown): ask the
// controller named in the metadata cache to move this broker's leaderships away, and retry until
// it answers with nothing left, up to controlled.shutdown.max.retries attempts spaced by
// controlled.shutdown.retry.backoff.ms. Each attempt is bounded by controller.socket.timeout.ms,
// so the whole is bounded; the broker stops either way.

import type { Logger } from '../../util/log.js';
import { BrokerClient } from '../net/brokerClient.js';
import { ErrorCode } from '../protocol/errors.js';
import type { Msg } from '../protocol/schema.js';

export const CONTROLLED_SHUTDOWN_VERSION = 3;

export interface ControlledShutdownOptions {
  brokerId: number;
  brokerEpoch: () => number;
  /** The controller's endpoint as the metadata cache knows it now. */
  controller: () => { id: number; host: string; port: number } | undefined;
  maxRetries: number;
  backoffMs: number;
  requestTimeoutMs: number;
  logger: Logger;
  /** When this broker is the controller: ask it in process (its advertised endpoint may not loop back). */
  localRequest?: (body: Msg) => Promise<Msg>;
}

/** True when the controller confirmed that this broker leads nothing any more. */
export async function controlledShutdown(o: ControlledShutdownOptions): Promise<boolean> {
  for (let attempt = 1; attempt <= o.maxRetries; attempt++) {
    const c = o.controller();
    let why: string;
    if (!c) {
      why = 'no controller known';
    } else {
      let client: BrokerClient | undefined;
      try {
        const body = { brokerId: o.brokerId, brokerEpoch: o.brokerEpoch() };
        let res: Msg;
        if (c.id === o.brokerId && o.localRequest) {
          res = await o.localRequest(body);
        } else {
          client = await BrokerClient.connect({
            host: c.host,
            port: c.port,
            clientId: `broker-${o.brokerId}-controlled-shutdown`,
            connectTimeoutMs: o.requestTimeoutMs,
            requestTimeoutMs: o.requestTimeoutMs,
          });
          res = await client.request(7, CONTROLLED_SHUTDOWN_VERSION, body);
        }
        const remaining = res.remainingPartitions as Msg[];
        if (res.errorCode === ErrorCode.NONE && remaining.length === 0) {
          o.logger.info({ controller: c.id, attempt }, 'controlled shutdown succeeded');
          return true;
        }
        why =
          res.errorCode !== ErrorCode.NONE
            ? `controller ${c.id} answered error ${res.errorCode}`
            : `still leading ${remaining.map((p) => `${p.topicName}-${p.partitionIndex}`).join(', ')}`;
      } catch (err) {
        why = `controller ${c.id} unreachable: ${(err as Error).message}`;
      } finally {
        client?.close();
      }
    }
    o.logger.warn({ attempt, of: o.maxRetries, why }, 'controlled shutdown attempt failed');
    if (attempt < o.maxRetries) await new Promise((r) => setTimeout(r, o.backoffMs));
  }
  o.logger.warn({}, 'controlled shutdown did not complete; stopping anyway (partitions this broker leads go offline until re-elected)');
  return false;
}
