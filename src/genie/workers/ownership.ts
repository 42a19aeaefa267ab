// The shell that claims partitions for a worker (docs/JOBS.md "Partition ownership and fencing"):
// writes an owner marker into each newly assigned partition of cluster-events and returns the
// offset Kafka gave it, the worker's owner epoch there (src/genie/jobs/fence.ts). Its own
// idempotent acks=all producer (a fresh one after a failed claim, see resilientProducer.ts): the
// Publisher batches by topic and does not report offsets.

import { Producer } from '@platformatic/kafka';
import { JOB_EVENT_SCHEMA_VERSION, JOB_TOPICS } from '../jobs/events.js';
import { OWNER_MARKER_TYPE } from '../jobs/fence.js';
import { clientBase, type KafkaEndpoint } from '../kafka.js';
import { ResilientProducer } from '../resilientProducer.js';
import { encodeOwnerMarker } from './records.js';

export class OwnerClaims {
  private readonly producer: ResilientProducer<string, string, string, string>;

  constructor(
    kafka: KafkaEndpoint,
    private readonly workerId: string,
    onProducerRenewed?: (err: unknown) => void,
  ) {
    const make = () =>
      new Producer<string, string, string, string>({
        ...clientBase(kafka),
        clientId: `${kafka.clientId}-claims`,
        serializers: { key: textBytes, value: textBytes, headerKey: textBytes, headerValue: textBytes },
        idempotent: true,
        acks: -1,
        autocreateTopics: false,
      });
    this.producer = new ResilientProducer(make, onProducerRenewed);
  }

  /**
   * Writes one marker per partition and resolves with each one's offset (its epoch) once Kafka
   * acknowledged them all; rejects when any is not acknowledged (the caller retries the claim).
   */
  async claim(partitions: readonly number[], now: number): Promise<Map<number, bigint>> {
    const at = new Date(now).toISOString();
    const messages = partitions.map((partition) => {
      const e = encodeOwnerMarker({ v: JOB_EVENT_SCHEMA_VERSION, type: OWNER_MARKER_TYPE, worker: this.workerId, partition, at });
      return { topic: JOB_TOPICS.events, partition, key: e.key, value: e.value, headers: e.headers };
    });
    const result = await this.producer.send({ messages });
    const epochs = new Map<number, bigint>();
    for (const o of result.offsets ?? []) if (o.topic === JOB_TOPICS.events) epochs.set(o.partition, BigInt(o.offset));
    const missing = partitions.filter((p) => !epochs.has(p));
    if (missing.length > 0) throw new Error(`owner markers of partitions ${missing.join(', ')} were not acknowledged with an offset`);
    return epochs;
  }

  async close(): Promise<void> {
    await this.producer.close();
  }
}

function textBytes(s?: string): Buffer | undefined {
  return s === undefined ? undefined : Buffer.from(s);
}
