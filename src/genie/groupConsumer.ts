// One consumer-group member of a service that survives the loss of its group coordinator.
//
// @platformatic/kafka 1.35 (its latest 1.x) looks the group coordinator up once and keeps its
// broker id for the life of the Consumer (there is no way to forget it). When that broker dies:
//  - heartbeats to it fail (connection refused, or NOT_COORDINATOR from a broker that came back
//    without the group), the client emits `consumer:heartbeat:error` and never heartbeats again;
//  - once the broker is gone from the cluster metadata, every group operation (commit, heartbeat,
//    listCommittedOffsets, leaveGroup) asks its connection pool for `metadata.brokers.get(id)`,
//    which is undefined, and the pool reads `broker.host` of it: a TypeError thrown from inside a
//    metadata or socket callback, uncaught, which ended the process (exit 70).
// A partition leader's death has a similar end: fetches to it fail until the client's retries run
// out, and the client destroys the stream with that error (the service then stopped, exit 1).
// So the member is replaced in-process instead: the pool of each Consumer is guarded so that a
// lookup of a missing broker answers an error (CoordinatorLostError) rather than throwing, and a
// heartbeat failure, that error or a stream ended by unreachable brokers (isBrokerLoss) closes the
// Consumer and creates a new one from the same options.
// The new one looks the coordinator up afresh and joins as a new member; the service is told first
// (onReplaced) so that it drops what it owned, exactly as on losing every partition at a rebalance,
// and claims again what the new member is assigned (at-least-once, fencing as for any new member).

import type { Broker, ConsumeOptions, Consumer, MessagesStream } from '@platformatic/kafka';
import type { Logger } from '../util/log.js';
import { backoffMs } from '../util/backoff.js';
import { WakeableSleep } from '../util/wakeableSleep.js';

/** A group operation needed a broker the cluster metadata no longer has: the cached coordinator. */
export class CoordinatorLostError extends Error {
  /** Read by @platformatic/kafka's retry loop: retrying with the same cached id cannot help. */
  readonly canRetry = false;
  /**
   * Set once the member is being given up: its LeaveGroup then counts as done (the group forgets
   * the member at its session timeout), so that Consumer.close() goes on to close the sockets.
   */
  readonly unknownMemberId: boolean;

  constructor(
    readonly coordinatorId: number | null,
    retired: boolean,
  ) {
    super(
      `group coordinator broker ${coordinatorId ?? '(unknown)'} is no longer in the cluster metadata; the group consumer is being replaced`,
    );
    this.name = 'CoordinatorLostError';
    this.unknownMemberId = retired;
  }

  /** The lookup @platformatic/kafka's errors offer (GenericError.findBy). */
  findBy(property: string, value: unknown): this | null {
    return (this as unknown as Record<string, unknown>)[property] === value ? this : null;
  }
}

/** Broker-side answers that mean "ask another broker": a coordinator or a leader moved. */
const movedErrorIds = new Set(['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'NOT_LEADER_OR_FOLLOWER', 'LEADER_NOT_AVAILABLE']);

/**
 * Whether `e` says only that a broker went away: every error it wraps (as @platformatic/kafka's
 * MultipleErrors do, one per retry) is a failed or timed-out connection, a moved coordinator or leader, a
 * leader's broker missing from the metadata, or a CoordinatorLostError. The client gives up on those after its retries and destroys the stream or
 * stops heartbeating; a new member recovers. Anything else (a bug, bad data) is not this.
 */
export function isBrokerLoss(e: unknown, depth = 0): boolean {
  if (e instanceof CoordinatorLostError) return true;
  if (depth > 8 || typeof e !== 'object' || e === null) return false;
  const { errors, code, apiId } = e as { errors?: unknown; code?: unknown; apiId?: unknown };
  if (Array.isArray(errors) && errors.length > 0) return errors.every((x) => isBrokerLoss(x, depth + 1));
  if (code === 'PLT_KFK_NETWORK' || code === 'PLT_KFK_TIMEOUT') return true;
  // A fetch to a partition leader whose broker has left the metadata (the stream still names the
  // dead leader): @platformatic/kafka 1.35 says so only in this UserError's text, and never retries it.
  if (code === 'PLT_KFK_USER') return missingBrokerMessage.test(String((e as { message?: unknown }).message));
  return code === 'PLT_KFK_PROTOCOL' && typeof apiId === 'string' && movedErrorIds.has(apiId);
}

const missingBrokerMessage = /^Cannot find broker with node id -?\d+$/;

type PoolGet = (broker: Broker, callback?: (error: Error | null, connection?: unknown) => void) => unknown;

/**
 * Makes the consumer's connection pool answer a lookup of a missing broker (undefined: the cached
 * coordinator id is not in the metadata) with a CoordinatorLostError through the callback, where
 * the client's retry loop and callers see it, instead of the TypeError it throws today; then
 * tells `onMissing` (on a later turn, outside the client's call stack).
 */
export function guardMissingBrokers(
  consumer: { readonly coordinatorId: number | null; readonly connections: object },
  retired: () => boolean,
  onMissing: (e: CoordinatorLostError) => void,
): void {
  const pool = consumer.connections as { get: PoolGet };
  const get = pool.get.bind(pool) as PoolGet;
  pool.get = ((broker: Broker | undefined, callback?: (error: Error | null, connection?: unknown) => void) => {
    if (broker) return get(broker, callback);
    const error = new CoordinatorLostError(consumer.coordinatorId, retired());
    setImmediate(() => onMissing(error));
    if (!callback) return Promise.reject(error);
    callback(error);
    return undefined;
  }) as PoolGet;
}

export interface GroupConsumerHooks<K, V, HK, HV> {
  /** Each new Consumer, before it joins: register its listeners (group join, rebalance). */
  onConsumer(consumer: Consumer<K, V, HK, HV>): void;
  /** Each new stream, before records flow: register 'data' and friends. */
  onStream(stream: MessagesStream<K, V, HK, HV>): void;
  /**
   * The member is about to be replaced: drop every partition (stop committing them, forget work
   * not finished), as when a rebalance takes them all. The new member's join assigns anew.
   */
  onReplaced(reason: string): void;
  /** An error of the current Consumer or stream that is not a broker loss (see isBrokerLoss). */
  onError(e: Error): void;
}

export interface GroupConsumerOptions<K, V, HK, HV> {
  /** For logs: which service's member this is. */
  name: string;
  log: Logger;
  /** Makes a Consumer (the same options each time). */
  create: () => Consumer<K, V, HK, HV>;
  consume: ConsumeOptions<K, V, HK, HV>;
  hooks: GroupConsumerHooks<K, V, HK, HV>;
  /** Closing a given-up member waits this long at most, then its sockets are closed directly. */
  retireTimeoutMs?: number;
  /** Backoff between attempts to create and join the replacement, while they fail. */
  rejoinBackoffMsMin?: number;
  rejoinBackoffMsMax?: number;
}

export const groupConsumerDefaults = { retireTimeoutMs: 5000, rejoinBackoffMsMin: 500, rejoinBackoffMsMax: 10_000 };

export class GroupConsumer<K, V, HK, HV> {
  private current: Consumer<K, V, HK, HV> | undefined;
  private currentStream: MessagesStream<K, V, HK, HV> | undefined;
  private readonly retired = new WeakSet<object>();
  private replacing: Promise<void> | undefined;
  private closed = false;
  /** A loss of the replacement reported while it was still joining: handled once that is done. */
  private lostAgain: string | undefined;
  private readonly backoffWait = new WakeableSleep();
  /** Members replaced after a coordinator loss so far. */
  replacements = 0;

  constructor(private readonly o: GroupConsumerOptions<K, V, HK, HV>) {}

  get consumer(): Consumer<K, V, HK, HV> | undefined {
    return this.current;
  }
  get stream(): MessagesStream<K, V, HK, HV> | undefined {
    return this.currentStream;
  }

  /** Creates the first member and starts consuming; rejects as consume() does. */
  async start(): Promise<void> {
    await this.open();
  }

  private async open(): Promise<void> {
    const consumer = this.o.create();
    this.current = consumer;
    guardMissingBrokers(
      consumer,
      () => this.retired.has(consumer),
      (e) => this.lost(consumer, e.message),
    );
    // Heartbeats stop for good after a failed one (the client cancels them and schedules none).
    consumer.on('consumer:heartbeat:error', (p: { error?: Error }) =>
      this.lost(consumer, `heartbeats to the group coordinator failed: ${p?.error?.message ?? 'unknown error'}`),
    );
    consumer.on('error', (e: Error) => this.onError(consumer, e));
    this.o.hooks.onConsumer(consumer);
    let stream: MessagesStream<K, V, HK, HV>;
    try {
      stream = await consumer.consume(this.o.consume);
    } catch (e) {
      this.retired.add(consumer);
      await this.retire(consumer, undefined);
      throw e;
    }
    if (this.current !== consumer || this.closed) {
      await stream.close().catch(() => undefined);
      return;
    }
    this.currentStream = stream;
    stream.on('error', (e: Error) => this.onError(consumer, e));
    this.o.hooks.onStream(stream);
  }

  private onError(consumer: Consumer<K, V, HK, HV>, e: Error): void {
    if (this.retired.has(consumer) || this.closed) return; // a given-up member's last words
    if (isBrokerLoss(e)) this.lost(consumer, e.message);
    else this.o.hooks.onError(e);
  }

  private lost(consumer: Consumer<K, V, HK, HV>, reason: string): void {
    if (this.closed || this.retired.has(consumer)) return;
    if (this.replacing) {
      if (consumer === this.current) this.lostAgain = reason;
      return;
    }
    if (consumer !== this.current) return;
    this.replacing = this.replace(consumer, reason).finally(() => {
      this.replacing = undefined;
      const again = this.lostAgain;
      this.lostAgain = undefined;
      if (again !== undefined && this.current) this.lost(this.current, again);
    });
  }

  private async replace(old: Consumer<K, V, HK, HV>, reason: string): Promise<void> {
    this.o.log.warn(
      { group: old.groupId, coordinator: old.coordinatorId, reason },
      'group consumer lost its coordinator or a partition leader; replacing it with a new member',
    );
    this.retired.add(old);
    const oldStream = this.currentStream;
    this.current = undefined;
    this.currentStream = undefined;
    this.o.hooks.onReplaced(reason);
    await this.retire(old, oldStream);
    const min = this.o.rejoinBackoffMsMin ?? groupConsumerDefaults.rejoinBackoffMsMin;
    const max = this.o.rejoinBackoffMsMax ?? groupConsumerDefaults.rejoinBackoffMsMax;
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        await this.open();
        this.replacements++;
        this.o.log.warn({ group: old.groupId, replacements: this.replacements }, 'group consumer replaced; rejoined the group');
        return;
      } catch (e) {
        const waitMs = backoffMs(attempt + 1, { backoffMsMin: min, backoffMsMax: max }, Math.random());
        this.o.log.warn({ err: e, attempt: attempt + 1, waitMs }, 'the replacement group consumer could not join; trying again');
        await this.backoffWait.sleep(waitMs);
      }
    }
  }

  /** Closes a given-up member: its stream, then the client; its sockets directly if that hangs or fails. */
  private async retire(consumer: Consumer<K, V, HK, HV>, stream: MessagesStream<K, V, HK, HV> | undefined): Promise<void> {
    const timeoutMs = this.o.retireTimeoutMs ?? groupConsumerDefaults.retireTimeoutMs;
    // Records the old stream still brings must not reach the service (its partitions are gone).
    stream?.pause();
    stream?.removeAllListeners('data');
    let timer: NodeJS.Timeout | undefined;
    const closing = (async () => {
      await stream?.close().catch((e: unknown) => this.o.log.debug({ err: e }, 'retired stream close'));
      await new Promise<void>((resolve, reject) => consumer.close(true, (e?: Error | null) => (e ? reject(e) : resolve())));
    })();
    const outcome = await Promise.race([
      closing.then(
        () => 'closed' as const,
        (e: unknown) => e,
      ),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === 'closed') return;
    this.o.log.debug({ outcome }, 'the given-up group consumer did not close; closing its connections');
    await new Promise<void>((resolve) => consumer.connections.close(() => resolve()));
  }

  /** Stops for good: the current member leaves (the caller closes its own work first). */
  async close(): Promise<void> {
    this.closed = true;
    this.backoffWait.wake();
    await this.replacing;
    const consumer = this.current;
    const stream = this.currentStream;
    this.current = undefined;
    this.currentStream = undefined;
    await stream?.close().catch((e: unknown) => this.o.log.debug({ err: e }, 'stream close'));
    if (consumer)
      await new Promise<void>((resolve) =>
        consumer.close(true, (e?: Error | null) => {
          if (e) this.o.log.debug({ err: e }, 'consumer close');
          resolve();
        }),
      );
  }
}
