// The controller's connections to the live brokers (Kafka's ControllerChannelManager): one
// BrokerClient per broker, one request in flight per broker, in the order they were queued. A
// request that fails on the connection is sent again once reconnected (with backoff), as Kafka's
// RequestSendThread does, for as long as the broker stays in the set; removing a broker (or
// closing the channel) rejects what was queued for it.

import type { Logger } from '../../util/log.js';
import { silentLogger } from '../../util/log.js';
import { BrokerClient, BrokerClientError } from '../net/brokerClient.js';
import type { Msg } from '../protocol/schema.js';

/** Requests queued per broker before send() refuses (Kafka's controller queue is unbounded; ours is not). */
export const controllerRequestsQueuedMax = 10_000;
/** Backoff between reconnection attempts to a live broker. */
export const controllerReconnectBackoffMs = 100;
export const controllerReconnectBackoffMsMax = 2_000;

export interface ChannelBroker {
  id: number;
  host: string;
  port: number;
  /** A new epoch (a bounced broker) means a new connection and a fresh queue. */
  epoch: number;
}

export interface ControllerChannelOptions {
  controllerId: number;
  /** controller.socket.timeout.ms: per-request deadline. */
  requestTimeoutMs?: number;
  queuedMax?: number;
  logger?: Logger;
  /**
   * The controller's own broker, served in process (same order and codec, no socket): its
   * registered endpoint may be an advertised address only clients can reach.
   */
  local?: { brokerId: number; send: (apiKey: number, version: number, body: Msg) => Promise<Msg> };
  /** For tests: how to connect (defaults to BrokerClient.connect). */
  connect?: (b: ChannelBroker, clientId: string, requestTimeoutMs: number) => Promise<Pick<BrokerClient, 'request' | 'close' | 'closed'>>;
}

interface Queued {
  apiKey: number;
  version: number;
  body: Msg;
  resolve: (m: Msg) => void;
  reject: (e: Error) => void;
}

class BrokerQueue {
  readonly items: Queued[] = [];
  client: Pick<BrokerClient, 'request' | 'close' | 'closed'> | undefined;
  running = false;
  removed = false;
  /** The reconnection backoff in progress, cut short when the broker is removed. */
  backoff: { timer: NodeJS.Timeout; done: () => void } | undefined;
  constructor(readonly broker: ChannelBroker) {}
}

export class ControllerChannelClosedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControllerChannelClosedError';
  }
}

export class ControllerChannel {
  private readonly queues = new Map<number, BrokerQueue>();
  private readonly requestTimeoutMs: number;
  private readonly queuedMax: number;
  private readonly log: Logger;
  private readonly connectFn: NonNullable<ControllerChannelOptions['connect']>;
  private closed = false;

  constructor(private readonly opts: ControllerChannelOptions) {
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.queuedMax = opts.queuedMax ?? controllerRequestsQueuedMax;
    this.log = opts.logger ?? silentLogger;
    this.connectFn =
      opts.connect ?? ((b, clientId, requestTimeoutMs) => BrokerClient.connect({ host: b.host, port: b.port, clientId, requestTimeoutMs }));
  }

  get brokerIds(): number[] {
    return [...this.queues.keys()];
  }

  /** Makes the set of brokers exactly `brokers`: new ones added, gone or changed ones dropped. */
  setBrokers(brokers: readonly ChannelBroker[]): void {
    if (this.closed) return;
    const want = new Map(brokers.map((b) => [b.id, b]));
    for (const [id, q] of this.queues) {
      const b = want.get(id);
      if (!b || b.epoch !== q.broker.epoch || b.host !== q.broker.host || b.port !== q.broker.port) this.remove(id);
    }
    for (const b of brokers) if (!this.queues.has(b.id)) this.queues.set(b.id, new BrokerQueue({ ...b }));
  }

  /** Queues a request for a broker; resolves with its response body. */
  send(brokerId: number, apiKey: number, version: number, body: Msg): Promise<Msg> {
    if (this.closed) return Promise.reject(new ControllerChannelClosedError('the controller channel is closed'));
    const q = this.queues.get(brokerId);
    if (!q) return Promise.reject(new ControllerChannelClosedError(`broker ${brokerId} is not live`));
    if (q.items.length >= this.queuedMax) {
      return Promise.reject(
        new Error(`${q.items.length} controller requests already queued for broker ${brokerId} (controllerRequestsQueuedMax)`),
      );
    }
    return new Promise((resolve, reject) => {
      q.items.push({ apiKey, version, body, resolve, reject });
      if (!q.running) void this.run(q);
    });
  }

  close(): void {
    if (this.closed) return;
    for (const id of [...this.queues.keys()]) this.remove(id);
    this.closed = true;
  }

  private remove(id: number): void {
    const q = this.queues.get(id);
    if (!q) return;
    this.queues.delete(id);
    q.removed = true;
    q.client?.close();
    if (q.backoff) {
      clearTimeout(q.backoff.timer);
      q.backoff.done();
    }
    for (const it of q.items.splice(0)) it.reject(new ControllerChannelClosedError(`broker ${id} left the cluster`));
  }

  private async run(q: BrokerQueue): Promise<void> {
    q.running = true;
    let backoffMs = controllerReconnectBackoffMs;
    while (!q.removed && q.items.length > 0) {
      const it = q.items[0]!;
      const local = this.opts.local;
      if (local && local.brokerId === q.broker.id) {
        q.items.shift();
        await local.send(it.apiKey, it.version, it.body).then(it.resolve, it.reject);
        continue;
      }
      try {
        if (!q.client || q.client.closed) {
          q.client = await this.connectFn(q.broker, `controller-${this.opts.controllerId}`, this.requestTimeoutMs);
          if (q.removed) {
            q.client.close();
            break;
          }
        }
        const res = await q.client.request(it.apiKey, it.version, it.body);
        q.items.shift();
        backoffMs = controllerReconnectBackoffMs;
        it.resolve(res);
      } catch (err) {
        if (q.removed) break;
        if (!(err instanceof BrokerClientError)) {
          // Not a connection problem (e.g. the body does not encode): this request cannot succeed.
          q.items.shift();
          it.reject(err as Error);
          continue;
        }
        this.log.debug({ broker: q.broker.id, err: err.message }, 'controller request failed; reconnecting');
        q.client?.close();
        q.client = undefined;
        await new Promise<void>((done) => {
          q.backoff = { timer: setTimeout(done, backoffMs), done };
        });
        q.backoff = undefined;
        backoffMs = Math.min(backoffMs * 2, controllerReconnectBackoffMsMax);
      }
    }
    q.running = false;
  }
}
