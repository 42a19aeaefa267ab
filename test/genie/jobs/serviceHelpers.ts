// Shared pieces of the Job Service tests: a fake worker that produces lifecycle events, and a
// reader of a whole topic (both through @platformatic/kafka, as the services do).

import { Consumer, Producer, stringSerializers } from '@platformatic/kafka';
import { clientBase, type KafkaEndpoint } from '../../../src/genie/kafka.js';
import { encodeJobEvent, type JobEvent, type JobSpec, jobKey } from '../../../src/genie/jobs/events.js';
import { type ReadRecord, TopicReader } from '../../../src/genie/topicReader.js';
import { waitFor } from '../../helpers/wait.js';

export function endpoint(bootstrap: string, clientId: string): KafkaEndpoint {
  return { bootstrapBrokers: bootstrap.split(','), clientId };
}

/** Produces events as a worker would (keyed by the job's key, with the standard headers). */
export class FakeWorker {
  private readonly producer: Producer<string, string, string, string>;
  private clock = Date.now();

  constructor(kafka: KafkaEndpoint) {
    this.producer = new Producer({
      ...clientBase(kafka),
      serializers: stringSerializers,
      idempotent: true,
      acks: -1,
      autocreateTopics: false,
    });
  }

  private at(): string {
    return new Date(++this.clock).toISOString();
  }

  async send(events: JobEvent[], key: string): Promise<void> {
    await this.producer.send({
      messages: events.map((e) => {
        const r = encodeJobEvent(e, key);
        return { topic: 'cluster-events', key: r.key, value: r.value, headers: r.headers };
      }),
    });
  }

  /** A raw record, e.g. one that is not a valid event. */
  async sendRaw(key: string, value: string): Promise<void> {
    await this.producer.send({ messages: [{ topic: 'cluster-events', key, value }] });
  }

  /** created, queued, processing, progress 50, completed. */
  async complete(spec: JobSpec, attempt = 1): Promise<void> {
    const base = { v: 1, jobId: spec.id, producer: 'worker/test' };
    await this.send(
      [
        ...(attempt === 1 ? [{ ...base, at: this.at(), type: 'job.created', spec } as JobEvent] : []),
        { ...base, at: this.at(), type: 'job.queued', spec, attempt, attemptLimit: attempt - 1 + spec.attemptsMax },
        { ...base, at: this.at(), type: 'job.processing', attempt, worker: 'w1', redelivered: false },
        { ...base, at: this.at(), type: 'job.progress', attempt, percent: 50, message: 'half' },
        { ...base, at: this.at(), type: 'job.completed', attempt, result: { sent: true }, durationMs: 5 },
      ],
      jobKey(spec),
    );
  }

  /** created, queued, processing, failed, dead (one attempt). */
  async kill(spec: JobSpec): Promise<void> {
    const base = { v: 1, jobId: spec.id, producer: 'worker/test' };
    await this.send(
      [
        { ...base, at: this.at(), type: 'job.created', spec },
        { ...base, at: this.at(), type: 'job.queued', spec, attempt: 1, attemptLimit: 1 },
        { ...base, at: this.at(), type: 'job.processing', attempt: 1, worker: 'w1', redelivered: false },
        {
          ...base,
          at: this.at(),
          type: 'job.failed',
          attempt: 1,
          error: { name: 'Error', message: 'mailbox unavailable' },
          reason: 'error',
          willRetry: false,
        },
        {
          ...base,
          at: this.at(),
          type: 'job.dead',
          attempt: 1,
          reason: 'attempts exhausted',
          error: { name: 'Error', message: 'mailbox unavailable' },
        },
      ],
      jobKey(spec),
    );
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}

/** Every record of `topic` up to its end now. */
export async function readTopic(kafka: KafkaEndpoint, topic: string): Promise<ReadRecord[]> {
  const consumer = new Consumer({ ...clientBase(kafka), groupId: 'test-reader-unused', retries: 1 });
  try {
    const reader = new TopicReader(consumer, topic, { maxWaitMs: 50 });
    await reader.refresh();
    const end = await reader.offsets('latest');
    const positions = await reader.offsets('earliest');
    const out: ReadRecord[] = [];
    await waitFor(
      async () => {
        const behind = new Map([...positions].filter(([p, o]) => o < (end.get(p) ?? 0n)));
        if (behind.size === 0) return true;
        const r = await reader.read(behind);
        out.push(...r.records);
        for (const [p, o] of r.next) positions.set(p, o);
        return false;
      },
      { timeoutMs: 20_000, what: `the end of ${topic}` },
    );
    return out;
  } finally {
    await new Promise<void>((resolve) => consumer.close(true, () => resolve()));
  }
}

export function header(r: ReadRecord, name: string): string | undefined {
  for (const [k, v] of r.headers) if (k?.toString() === name) return v?.toString();
  return undefined;
}

export function eventOf(r: ReadRecord): JobEvent {
  return JSON.parse(r.value?.toString() ?? 'null') as JobEvent;
}
