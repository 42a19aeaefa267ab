// A long-lived idempotent producer that outlives its own spoiled sequence state.
//
// @platformatic/kafka keeps one producer id and per-partition sequence numbers for the life of a
// Producer, and advances a partition's sequence only when a send to it succeeds. After a failed
// send (its broker died with the batch in flight, its retries ran out) the next records reuse the
// failed batch's sequence, but the partition's (new) leader may already hold that batch. Then
// either every later batch is answered OUT_OF_ORDER_SEQUENCE_NUMBER, which the client never
// retries (the producer is stuck for good), or, when the count matches, the new records are taken
// for a duplicate of the old batch and acknowledged without being written (Kafka's duplicate check
// compares first and last sequence only). So after any failed send, the next send goes through a
// fresh Producer (a new producer id, sequences from 0). The caller retries the failed records on it,
// as it would after any failure: at-least-once, a record may land twice, and every reader of job
// events takes them as idempotent by job id and attempt.

import type { ProduceResult, SendOptions } from '@platformatic/kafka';

/** What this module needs of a @platformatic/kafka Producer (tests pass fakes). */
export interface SendingProducer<K, V, HK, HV> {
  send(options: SendOptions<K, V, HK, HV>): Promise<ProduceResult>;
  close(force?: boolean): Promise<void>;
}

interface Generation<K, V, HK, HV> {
  producer: SendingProducer<K, V, HK, HV>;
  /** Sends not yet settled; a retired generation is closed when this reaches 0. */
  inflight: number;
  retired: boolean;
}

export class ResilientProducer<K, V, HK, HV> {
  private current: Generation<K, V, HK, HV>;
  /** Closes of retired producers still running (awaited by close()). */
  private readonly closing = new Set<Promise<void>>();
  private closed = false;
  /** Fresh producers started after a failed send. */
  renewals = 0;

  /**
   * @param make creates an idempotent producer (each call a new one, with its own producer id)
   * @param onRenew told the error that retired a producer (for a log line or a metric)
   */
  constructor(
    private readonly make: () => SendingProducer<K, V, HK, HV>,
    private readonly onRenew?: (err: unknown) => void,
  ) {
    this.current = { producer: make(), inflight: 0, retired: false };
  }

  async send(options: SendOptions<K, V, HK, HV>): Promise<ProduceResult> {
    if (this.closed) throw new Error('producer is closed');
    const gen = this.current;
    gen.inflight++;
    try {
      return await gen.producer.send(options);
    } catch (e) {
      // Only the first failure of a generation renews: sends still in flight on it fail alike.
      if (gen === this.current && !this.closed) this.renew(e);
      throw e;
    } finally {
      gen.inflight--;
      if (gen.retired && gen.inflight === 0) this.closeRetired(gen);
    }
  }

  private renew(err: unknown): void {
    this.current.retired = true;
    this.current = { producer: this.make(), inflight: 0, retired: false };
    this.renewals++;
    this.onRenew?.(err);
  }

  private closeRetired(gen: Generation<K, V, HK, HV>): void {
    const p = gen.producer.close(true).catch(() => undefined);
    this.closing.add(p);
    void p.finally(() => this.closing.delete(p));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([this.current.producer.close(), ...this.closing]);
  }
}
