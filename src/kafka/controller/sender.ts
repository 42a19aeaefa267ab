// The controller's outbound half: the live brokers' registrations, the request batch built from
// the core's notifications (requestBatch.ts) and the channel that carries it (channel.ts). One per
// controller term; closed on resignation.

import type { Logger } from '../../util/log.js';
import { ErrorCode } from '../protocol/errors.js';
import type { Msg } from '../protocol/schema.js';
import type { RegisteredBroker } from '../zk/model.js';
import { ControllerChannel } from './channel.js';
import type { ControllerNotification, LeaderAndIsrState, TopicPartition } from './coreTypes.js';
import { type LiveBrokerInfo, buildRequests, interBrokerEndpoint } from './requestBatch.js';

/** What the batch reads from the core. */
export interface CoreView {
  partitionState(topic: string, partition: number): LeaderAndIsrState | undefined;
  topicId(topic: string): string | undefined;
  allPartitions(): TopicPartition[];
}

export interface SenderOptions {
  controllerId: number;
  controllerEpoch: number;
  interBrokerListener: string;
  requestTimeoutMs: number;
  localBroker?: ((apiKey: number, version: number, body: Msg) => Promise<Msg>) | undefined;
  logger: Logger;
}

export class BrokerRequestSender {
  private brokers = new Map<number, LiveBrokerInfo>();
  private readonly channel: ControllerChannel;

  constructor(private readonly opts: SenderOptions) {
    this.channel = new ControllerChannel({
      controllerId: opts.controllerId,
      requestTimeoutMs: opts.requestTimeoutMs,
      ...(opts.localBroker ? { local: { brokerId: opts.controllerId, send: opts.localBroker } } : {}),
      logger: opts.logger,
    });
  }

  /** The live brokers as last read from /brokers/ids: connections follow. */
  setBrokers(registered: readonly RegisteredBroker[]): void {
    this.brokers = new Map(
      registered.map((b) => [b.info.id, { id: b.info.id, epoch: b.epoch, endpoints: b.info.endpoints, rack: b.info.rack ?? null }]),
    );
    const list = [];
    for (const b of this.brokers.values()) {
      const e = interBrokerEndpoint(b, this.opts.interBrokerListener);
      if (e) list.push({ id: b.id, host: e.host, port: e.port, epoch: b.epoch });
    }
    this.channel.setBrokers(list);
  }

  /**
   * Sends the requests for `notifications`; resolves once the StopReplica(delete) ones are
   * answered (topic deletion waits for them), bounded by the request timeout so that a paused
   * broker cannot hold the controller (Kafka answers deletions asynchronously).
   */
  async send(notifications: readonly ControllerNotification[], core: CoreView): Promise<void> {
    const waits: Promise<void>[] = [];
    const deleting = notifications.some((n) => n.kind === 'stopReplica' && n.deletePartition);
    const ctx = {
      controllerId: this.opts.controllerId,
      controllerEpoch: this.opts.controllerEpoch,
      brokers: this.brokers,
      interBrokerListener: this.opts.interBrokerListener,
      state: (t: string, p: number) => core.partitionState(t, p),
      topicId: (t: string) => core.topicId(t),
      allPartitions: () => core.allPartitions(),
    };
    // Metadata changes that lead a decision (failover, broker startup) are a batch of their own,
    // sent first, as Kafka's onControllerFailover/onBrokerStartup do: an Apache broker refuses to
    // follow a leader its metadata cache does not list yet ("cannot become follower since the new
    // leader is unavailable"), and a batch puts LeaderAndIsr before UpdateMetadata.
    const lead = notifications.findIndex((n) => n.kind !== 'metadataChange');
    const split = lead > 0 && notifications.slice(lead).some((n) => n.kind === 'leaderAndIsr');
    const requests = split
      ? [...buildRequests(ctx, notifications.slice(0, lead)), ...buildRequests(ctx, notifications.slice(lead))]
      : buildRequests(ctx, notifications);
    for (const r of requests) {
      const sent = this.channel.send(r.brokerId, r.apiKey, r.version, r.body).then(
        (res) => {
          if (res.errorCode !== ErrorCode.NONE) {
            this.opts.logger.warn(
              { broker: r.brokerId, apiKey: r.apiKey, errorCode: res.errorCode },
              'a broker refused a controller request',
            );
          }
        },
        (err) => this.opts.logger.debug({ broker: r.brokerId, apiKey: r.apiKey, err: String(err) }, 'controller request not delivered'),
      );
      if (r.apiKey === 5 && deleting) waits.push(sent);
    }
    if (waits.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => {
      timer = setTimeout(r, this.opts.requestTimeoutMs);
    });
    await Promise.race([Promise.all(waits), deadline]);
    clearTimeout(timer);
  }

  close(): void {
    this.channel.close();
  }
}
