// AlterPartition (key 56) v3 from a partition leader to the controller (KIP-497): the request body
// for one ISR proposal, the answer for that partition, and the sender broker.ts injects into the
// replica manager. The sender dials the controller named by the metadata cache (controllerId + that
// broker's endpoint) over one BrokerClient, reconnecting when the controller moves; retrying is the
// caller's (the replica manager retries while its proposal is still the current one).

import type { Logger } from '../../util/log.js';
import type { BrokerEndpoint } from '../broker/metadataCache.js';
import { BrokerClient } from '../net/brokerClient.js';
import { ErrorCode } from '../protocol/errors.js';
import type { Msg } from '../protocol/schema.js';
import type { AlterPartitionResult, IsrProposal } from './leaderCore.js';

export const ALTER_PARTITION_API_KEY = 56;
/** Kafka 3.9's version (ISR members carry broker epochs; -1 in ZooKeeper mode). */
export const ALTER_PARTITION_VERSION = 3;
/** LeaderRecoveryState RECOVERED. */
const RECOVERED = 0;

/** One AlterPartition request for several partitions' proposals, grouped by topic id. */
export function alterPartitionRequest(
  brokerId: number,
  brokerEpoch: number,
  items: readonly { topicId: string; partition: number; proposal: IsrProposal }[],
): Msg {
  const byTopic = new Map<string, Msg[]>();
  for (const { topicId, partition, proposal } of items) {
    let partitions = byTopic.get(topicId);
    if (!partitions) {
      partitions = [];
      byTopic.set(topicId, partitions);
    }
    partitions.push({
      partitionIndex: partition,
      leaderEpoch: proposal.leaderEpoch,
      // ZooKeeper-mode Kafka sends -1 for every member's broker epoch (only KRaft checks them).
      newIsrWithEpochs: proposal.isr.map((id) => ({ brokerId: id, brokerEpoch: -1 })),
      leaderRecoveryState: RECOVERED,
      partitionEpoch: proposal.partitionEpoch,
    });
  }
  return { brokerId, brokerEpoch, topics: [...byTopic].map(([topicId, partitions]) => ({ topicId, partitions })) };
}

/** This partition's answer in an AlterPartition response; a top-level error applies to it too. */
export function alterPartitionResult(resp: Msg, topicId: string, partition: number): AlterPartitionResult & { isr: number[] } {
  const top = resp.errorCode as number;
  if (top !== ErrorCode.NONE) return { errorCode: top, leaderEpoch: -1, isr: [], partitionEpoch: -1 };
  for (const t of resp.topics as Msg[]) {
    if (t.topicId !== topicId) continue;
    for (const p of t.partitions as Msg[]) {
      if (p.partitionIndex !== partition) continue;
      return {
        errorCode: p.errorCode as number,
        leaderEpoch: p.leaderEpoch as number,
        isr: [...(p.isr as number[])],
        partitionEpoch: p.partitionEpoch as number,
      };
    }
  }
  // The controller answered without our partition: treat it as not attempted (try again later).
  return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, leaderEpoch: -1, isr: [], partitionEpoch: -1 };
}

export interface AlterPartitionSenderOptions {
  /** The controller's id and the live brokers' endpoints, as the metadata cache knows them now. */
  controller: () => { controllerId: number; brokers: ReadonlyMap<number, BrokerEndpoint> };
  clientId: string;
  requestTimeoutMs?: number;
  logger?: Logger;
  /** This broker's id and its in-process route: a controller on this broker is asked without a
   * socket (its advertised endpoint may not loop back), as the controller's channel and controlled
   * shutdown do. */
  self?: { brokerId: number; request: (body: Msg) => Promise<Msg> };
}

export interface AlterPartitionSender {
  (body: Msg): Promise<Msg>;
  close(): void;
}

/**
 * A function sending AlterPartition to the current controller. It rejects when no controller is
 * known or the connection fails (the caller retries later); a controller that moved answers
 * NOT_CONTROLLER, which the caller also retries.
 */
export function createAlterPartitionSender(opts: AlterPartitionSenderOptions): AlterPartitionSender {
  let client: BrokerClient | undefined;
  let clientFor = -1;
  let connecting: Promise<BrokerClient> | undefined;
  let closed = false;

  const connectTo = async (id: number, ep: BrokerEndpoint): Promise<BrokerClient> => {
    if (client && !client.closed && clientFor === id) return client;
    if (connecting && clientFor === id) return connecting;
    client?.close();
    client = undefined;
    clientFor = id;
    connecting = BrokerClient.connect({
      host: ep.host,
      port: ep.port,
      clientId: opts.clientId,
      requestTimeoutMs: opts.requestTimeoutMs ?? 30_000,
    });
    try {
      const c = await connecting;
      if (closed || clientFor !== id) {
        c.close();
        throw new Error('AlterPartition sender closed or controller moved while connecting');
      }
      client = c;
      return c;
    } finally {
      connecting = undefined;
    }
  };

  const send = (async (body: Msg): Promise<Msg> => {
    if (closed) throw new Error('AlterPartition sender is closed');
    const { controllerId, brokers } = opts.controller();
    const ep = brokers.get(controllerId);
    if (opts.self && controllerId === opts.self.brokerId) return opts.self.request(body);
    if (controllerId < 0 || !ep) throw new Error(`no controller endpoint known (controller ${controllerId})`);
    const c = await connectTo(controllerId, ep);
    return c.request(ALTER_PARTITION_API_KEY, ALTER_PARTITION_VERSION, body);
  }) as AlterPartitionSender;
  send.close = () => {
    closed = true;
    client?.close();
    client = undefined;
  };
  return send;
}
