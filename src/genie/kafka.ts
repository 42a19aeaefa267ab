// How every ClusterGenie service reaches Kafka: through @platformatic/kafka only (a maintained,
// pure-TypeScript public client), configured by bootstrap servers, so the services run unchanged
// against Apache Kafka. No in-process shortcut into our broker.
//
// The client sends one Produce request per send() call; services publish many small events, so
// Publisher gathers the events of one event-loop turn (or up to lingerMs) into one request per
// flush, with one request in flight (the idempotent producer keeps order), and resolves each
// caller when Kafka acknowledged its batch (acks=all).

import { Admin, Producer, stringSerializers } from '@platformatic/kafka';
import type { EncodedEvent } from './jobs/events.js';

export interface KafkaEndpoint {
  bootstrapBrokers: string[];
  clientId: string;
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
}

export const publisherDefaults: PublisherOptions = { lingerMs: 1, batchEventsMax: 2000, pendingEventsMax: 20_000 };

interface Pending {
  topic: string;
  event: EncodedEvent;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class Publisher {
  private readonly producer: Producer<string, string, string, string>;
  private readonly opts: PublisherOptions;
  private queue: Pending[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private sending = false;
  private closed = false;
  private readonly spaceWaiters: (() => void)[] = [];

  constructor(kafka: KafkaEndpoint, opts: Partial<PublisherOptions> = {}) {
    this.opts = { ...publisherDefaults, ...opts };
    this.producer = new Producer({
      ...clientBase(kafka),
      serializers: stringSerializers,
      idempotent: true,
      acks: -1,
      autocreateTopics: false,
    });
  }

  /** Events accepted and not yet acknowledged. */
  get pendingEvents(): number {
    return this.queue.length + this.inFlight;
  }

  /** Resolves once Kafka acknowledged every event (acks=all); rejects with the send's error. */
  async publish(topic: string, events: readonly EncodedEvent[]): Promise<void> {
    if (this.closed) throw new Error('publisher is closed');
    while (this.pendingEvents + events.length > this.opts.pendingEventsMax && this.pendingEvents > 0) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
    const acks = events.map(
      (event) =>
        new Promise<void>((resolve, reject) => {
          this.queue.push({ topic, event, resolve, reject });
        }),
    );
    this.schedule();
    await Promise.all(acks);
  }

  private schedule(): void {
    if (this.sending || this.timer !== undefined || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.opts.lingerMs);
  }

  private async flush(): Promise<void> {
    if (this.sending || this.queue.length === 0) return;
    this.sending = true;
    const batch = this.queue.splice(0, this.opts.batchEventsMax);
    this.inFlight = batch.length;
    try {
      await this.producer.send({
        messages: batch.map((p) => ({ topic: p.topic, key: p.event.key, value: p.event.value, headers: p.event.headers })),
      });
      for (const p of batch) p.resolve();
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      for (const p of batch) p.reject(err);
    } finally {
      this.inFlight = 0;
      this.sending = false;
      for (const w of this.spaceWaiters.splice(0)) w();
      if (this.queue.length >= this.opts.batchEventsMax) void this.flush();
      else this.schedule();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.queue.length > 0 || this.sending) {
      if (!this.sending) await this.flush();
      else await new Promise((r) => setTimeout(r, 5));
    }
    await this.producer.close();
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
        await admin.createTopics({
          topics: [t.name],
          partitions: t.partitions,
          replicas: t.replicationFactor,
          configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
        });
      } catch (e) {
        // Another service may have created it between the listing and now.
        if (!/already exists/i.test(String((e as Error).message) + JSON.stringify((e as { errors?: unknown }).errors ?? ''))) throw e;
      }
    }
  } finally {
    await admin.close();
  }
}
