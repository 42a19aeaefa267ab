// How every ClusterGenie service reaches Kafka: through @platformatic/kafka only (a maintained,
// pure-TypeScript public client), configured by bootstrap servers, so the services run unchanged
// against Apache Kafka. No in-process shortcut into our broker.
//
// The client sends one Produce request per send() call; services publish many small events, so
// Publisher gathers the events of one event-loop turn (or up to lingerMs) into one request per
// flush, with one request in flight (the idempotent producer keeps order), and resolves each
// caller when Kafka acknowledged its batch (acks=all); after a failed send its next sends go
// through a fresh idempotent producer (resilientProducer.ts), and the caller retries. Batches are
// lz4-compressed and header bytes are reused (see PublisherOptions.compression and HeaderBytes):
// bytes on the wire, written to three replicas and read by every consumer, were most of what the
// brokers spent per job.

import { Admin, Producer } from '@platformatic/kafka';
import type { Logger } from '../util/log.js';
import { type EncodedEvent, JOB_HEADERS } from './jobs/events.js';
import { ResilientProducer, type SendingProducer } from './resilientProducer.js';

export interface KafkaEndpoint {
  bootstrapBrokers: string[];
  clientId: string;
}

/** The --bootstrap-server flag of every service: comma-separated host:port entries, blanks dropped. */
export function bootstrapServers(text: string | undefined, dflt = '127.0.0.1:9092'): string[] {
  return (text ?? dflt)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Leaves the group and closes a consumer (force: fetches in flight are dropped). Never throws:
 * a service is stopping, and a failure here is only worth a debug line.
 */
export function closeConsumer(
  consumer: { close(force: boolean, callback: (error?: Error | null) => void): void } | undefined,
  log?: Logger,
): Promise<void> {
  if (!consumer) return Promise.resolve();
  return new Promise<void>((resolve) =>
    consumer.close(true, (e) => {
      if (e) log?.debug({ err: e }, 'consumer close');
      resolve();
    }),
  );
}

/** Client timeouts and retries the services use; short enough that a dead broker is noticed. */
export function clientBase(k: KafkaEndpoint) {
  return { clientId: k.clientId, bootstrapBrokers: k.bootstrapBrokers, retries: 30, retryDelay: 200, timeout: 15_000 };
}

export interface PublisherOptions {
  /** How long a flush waits for more events after the first one. */
  lingerMs: number;
  /** Events per Produce request. */
  batchEventsMax: number;
  /** Events accepted but not yet acknowledged; publish() waits (back-pressure) beyond it. */
  pendingEventsMax: number;
  /**
   * Batch compression. lz4 by default: events of one batch repeat most of their text (field
   * names, specs, headers), so a batch shrinks several times, and every byte is written to
   * three replicas and read by every consumer; lz4 costs less CPU than the bytes it saves.
   */
  compression: 'none' | 'lz4' | 'snappy' | 'gzip';
}

export const publisherDefaults: PublisherOptions = {
  lingerMs: 1,
  batchEventsMax: 2000,
  pendingEventsMax: 20_000,
  compression: 'lz4',
};

const textBytes = (s?: string): Buffer | undefined => (typeof s === 'string' ? Buffer.from(s) : undefined);

interface OutMessage {
  topic: string;
  key: string;
  value: string;
  headers: Map<Buffer, Buffer>;
}

/** Distinct header values kept as bytes (event types, producers, attempts); the cache is emptied when full. */
const headerBytesCacheMax = 4096;
/** Headers whose values repeat across events (not job ids or trace ids). */
const REPEATING_HEADERS: ReadonlySet<string> = new Set([
  JOB_HEADERS.eventType,
  JOB_HEADERS.producer,
  JOB_HEADERS.schemaVersion,
  JOB_HEADERS.attempt,
]);

/**
 * Event headers as bytes. The client would make a Buffer of every header name and value of every
 * event (ten or so per event); names and repeating values are made once here.
 */
class HeaderBytes {
  private readonly names = new Map<string, Buffer>();
  private readonly values = new Map<string, Buffer>();

  of(headers: ReadonlyMap<string, string>): Map<Buffer, Buffer> {
    const out = new Map<Buffer, Buffer>();
    for (const [name, value] of headers) {
      let nameBytes = this.names.get(name);
      if (nameBytes === undefined) {
        nameBytes = Buffer.from(name);
        if (this.names.size < headerBytesCacheMax) this.names.set(name, nameBytes);
      }
      out.set(nameBytes, REPEATING_HEADERS.has(name) ? this.repeating(value) : Buffer.from(value));
    }
    return out;
  }

  private repeating(value: string): Buffer {
    let bytes = this.values.get(value);
    if (bytes === undefined) {
      if (this.values.size >= headerBytesCacheMax) this.values.clear();
      bytes = Buffer.from(value);
      this.values.set(value, bytes);
    }
    return bytes;
  }
}

/** One publish() call: its events leave in order, possibly over several flushes. */
interface PendingCall {
  topic: string;
  events: readonly EncodedEvent[];
  /** Index of the first event not yet handed to a flush. */
  sentUpTo: number;
  /** Events handed to flushes and not yet acknowledged, plus those not handed yet. */
  unacked: number;
  resolve: () => void;
  reject: (e: Error) => void;
  failed: boolean;
}

/** Seams of a Publisher: tests pass fake producers; services log a renewal. */
export interface PublisherHooks {
  makeProducer?: () => SendingProducer<string, string, Buffer, Buffer>;
  /** A send failed and the next ones go through a fresh producer (see resilientProducer.ts). */
  onProducerRenewed?: (err: unknown) => void;
}

export class Publisher {
  private readonly producer: ResilientProducer<string, string, Buffer, Buffer>;
  private readonly opts: PublisherOptions;
  private readonly headerBytes = new HeaderBytes();
  /** Calls with events not yet handed to a flush, oldest first. */
  private queue: PendingCall[] = [];
  private queuedEvents = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private sending = false;
  private closed = false;
  private readonly spaceWaiters: (() => void)[] = [];

  constructor(kafka: KafkaEndpoint, opts: Partial<PublisherOptions> = {}, hooks: PublisherHooks = {}) {
    this.opts = { ...publisherDefaults, ...opts };
    const make =
      hooks.makeProducer ??
      (() =>
        new Producer<string, string, Buffer, Buffer>({
          ...clientBase(kafka),
          // Headers go out as bytes this class made (most of them cached); keys and values as text.
          serializers: { key: textBytes, value: textBytes },
          idempotent: true,
          acks: -1,
          autocreateTopics: false,
          compression: this.opts.compression,
        }));
    this.producer = new ResilientProducer(make, hooks.onProducerRenewed);
  }

  /** Fresh producers started after failed sends. */
  get producerRenewals(): number {
    return this.producer.renewals;
  }

  /** Events accepted and not yet acknowledged. */
  get pendingEvents(): number {
    return this.queuedEvents + this.inFlight;
  }

  /**
   * Resolves once Kafka acknowledged every event (acks=all); rejects with the send's error, and
   * then the call's events not sent yet are dropped (the caller retries the call as a whole).
   */
  async publish(topic: string, events: readonly EncodedEvent[]): Promise<void> {
    if (this.closed) throw new Error('publisher is closed');
    if (events.length === 0) return;
    while (this.pendingEvents + events.length > this.opts.pendingEventsMax && this.pendingEvents > 0) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
    // One promise per call, not per event: a worker publishes a few events per call, thousands of calls a second.
    await new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, events, sentUpTo: 0, unacked: events.length, resolve, reject, failed: false });
      this.queuedEvents += events.length;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.sending || this.timer !== undefined || this.queuedEvents === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.opts.lingerMs);
  }

  /** Takes up to batchEventsMax queued events, oldest call first, splitting a call if needed. */
  private takeBatch(): { messages: OutMessage[]; parts: [PendingCall, number][] } {
    const messages: OutMessage[] = [];
    const parts: [PendingCall, number][] = [];
    while (this.queue.length > 0 && messages.length < this.opts.batchEventsMax) {
      const call = this.queue[0]!;
      const n = Math.min(call.events.length - call.sentUpTo, this.opts.batchEventsMax - messages.length);
      for (let i = call.sentUpTo; i < call.sentUpTo + n; i++) {
        const e = call.events[i]!;
        messages.push({ topic: call.topic, key: e.key, value: e.value, headers: this.headerBytes.of(e.headers) });
      }
      call.sentUpTo += n;
      parts.push([call, n]);
      if (call.sentUpTo === call.events.length) this.queue.shift();
    }
    this.queuedEvents -= messages.length;
    return { messages, parts };
  }

  private async flush(): Promise<void> {
    if (this.sending || this.queuedEvents === 0) return;
    this.sending = true;
    const { messages, parts } = this.takeBatch();
    this.inFlight = messages.length;

    try {
      await this.producer.send({ messages });
      for (const [call, n] of parts) {
        call.unacked -= n;
        if (call.unacked === 0 && !call.failed) call.resolve();
      }
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      for (const [call] of parts) this.failCall(call, err);
    } finally {
      this.inFlight = 0;
      this.sending = false;
      for (const w of this.spaceWaiters.splice(0)) w();
      if (this.queuedEvents >= this.opts.batchEventsMax) void this.flush();
      else this.schedule();
    }
  }

  /** A failed call's later events must not land after its earlier ones failed: they are dropped. */
  private failCall(call: PendingCall, err: Error): void {
    if (call.failed) return;
    call.failed = true;
    const at = this.queue.indexOf(call);
    if (at >= 0) {
      this.queue.splice(at, 1);
      this.queuedEvents -= call.events.length - call.sentUpTo;
    }
    call.reject(err);
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.queuedEvents > 0 || this.sending) {
      if (!this.sending) await this.flush();
      else await new Promise((r) => setTimeout(r, 5));
    }
    await this.producer.close();
  }
}

/**
 * Several Publishers, each with its own producer id, used as one: publish() goes to the one with
 * the fewest events waiting. Each keeps one request in flight (the client's idempotent sequences
 * allow no more), so with one a publish arriving meanwhile waits a whole acks=all round trip for
 * its turn. Order holds per call, not across calls: only for callers whose calls are independent
 * (the Job Service: a job's later commands are accepted only after its earlier events were
 * acknowledged).
 */
export class PublisherPool {
  private readonly members: Publisher[];

  constructor(kafka: KafkaEndpoint, size: number, opts: Partial<PublisherOptions> = {}, hooks: PublisherHooks = {}) {
    this.members = Array.from({ length: Math.max(1, size) }, () => new Publisher(kafka, opts, hooks));
  }

  get pendingEvents(): number {
    return this.members.reduce((sum, p) => sum + p.pendingEvents, 0);
  }

  publish(topic: string, events: readonly EncodedEvent[]): Promise<void> {
    let idlest = this.members[0]!;
    for (const p of this.members) if (p.pendingEvents < idlest.pendingEvents) idlest = p;
    return idlest.publish(topic, events);
  }

  async close(): Promise<void> {
    await Promise.all(this.members.map((p) => p.close()));
  }
}

export interface TopicToEnsure {
  name: string;
  partitions: number;
  replicationFactor: number;
  configs?: Record<string, string>;
}

/** The job topics with the partitions, replication and configs a fresh cluster gets. */
export function jobTopics(o: { partitions: number; replicationFactor: number }): TopicToEnsure[] {
  const minIsr = String(Math.min(2, o.replicationFactor));
  return [
    {
      name: 'cluster-events',
      partitions: o.partitions,
      replicationFactor: o.replicationFactor,
      configs: { 'min.insync.replicas': minIsr },
    },
    {
      name: 'cluster-events.delay',
      partitions: o.partitions,
      replicationFactor: o.replicationFactor,
      configs: { 'min.insync.replicas': minIsr },
    },
    {
      name: 'cluster-events.dlq',
      partitions: o.partitions,
      replicationFactor: o.replicationFactor,
      configs: { 'min.insync.replicas': minIsr },
    },
    {
      name: 'clustergenie.jobs',
      partitions: o.partitions,
      replicationFactor: o.replicationFactor,
      configs: { 'min.insync.replicas': minIsr, 'cleanup.policy': 'compact' },
    },
  ];
}

/** Creates the topics that do not exist yet (an existing topic is left as it is). */
export async function ensureTopics(kafka: KafkaEndpoint, topics: readonly TopicToEnsure[]): Promise<void> {
  const admin = new Admin(clientBase(kafka));
  try {
    const existing = new Set(await admin.listTopics());
    for (const t of topics) {
      if (existing.has(t.name)) continue;
      try {
        await toController(admin, () =>
          admin.createTopics({
            topics: [t.name],
            partitions: t.partitions,
            replicas: t.replicationFactor,
            configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
          }),
        );
      } catch (e) {
        // Another service may have created it between the listing and now.
        if (!/already exists/i.test(String((e as Error).message) + JSON.stringify((e as { errors?: unknown }).errors ?? ''))) throw e;
      }
    }
  } finally {
    await admin.close();
  }
}

/**
 * How long a controller request keeps trying while brokers answer NOT_CONTROLLER, and the pause
 * between tries: a fresh cluster's brokers name no controller until the controller's first
 * UpdateMetadata reaches them, and an election under load can take seconds.
 */
export const controllerRetryDeadlineMs = 20_000;
const controllerRetryMs = 300;

/**
 * A request only the controller answers (CreateTopics, DeleteTopics), tried again while it gets
 * NOT_CONTROLLER. @platformatic/kafka 1.35 looks the controller up again in its *cached* metadata
 * after NOT_CONTROLLER, and that cache keeps the controller id of its very first Metadata answer
 * for good (a refresh, even forced, updates brokers and topics only): after -1 on a fresh cluster,
 * or once the controller moves, every retry goes to the wrong broker. So each try here first
 * drops the cache and fetches it again, which re-reads the controller id.
 */
export async function toController<T>(admin: Admin, request: () => Promise<T>, deadlineMs = controllerRetryDeadlineMs): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await request();
    } catch (e) {
      if (Date.now() >= deadline || !kafkaErrorIds(e).has('NOT_CONTROLLER')) throw e;
      await new Promise((r) => setTimeout(r, controllerRetryMs));
      admin.clearMetadata();
      await admin.metadata({ topics: [], forceUpdate: true }).catch(() => undefined);
    }
  }
}

/** Every error in a client error's tree (MultipleErrors.errors, causes), bounded. */
export function errorTree(e: unknown): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const stack: unknown[] = [e];
  while (stack.length > 0 && out.length < 64) {
    const x = stack.pop();
    if (typeof x !== 'object' || x === null) continue;
    const r = x as Record<string, unknown>;
    out.push(r);
    if (Array.isArray(r['errors'])) stack.push(...(r['errors'] as unknown[]));
    if (r['cause'] !== undefined) stack.push(r['cause']);
  }
  return out;
}

/** Kafka error names (apiId) found anywhere in a client error. */
export function kafkaErrorIds(e: unknown): Set<string> {
  const ids = new Set<string>();
  for (const r of errorTree(e)) if (typeof r['apiId'] === 'string') ids.add(r['apiId']);
  return ids;
}
