// Where a worker's records leave: grouped by topic onto the Publisher (one batching, idempotent,
// acks=all producer, so a job's events keep their order), with the publishes that release an
// anchor retried until they land, the worker stops, or the partition is gone. Tracks what is in
// flight so close() can wait for the last acknowledgements.

import { type EncodedEvent, JOB_TOPICS } from '../jobs/events.js';
import type { Publisher } from '../kafka.js';
import type { Logger } from '../../util/log.js';
import { encodeOutRecord, type OutRecord, topicName } from './records.js';

export const outboxDefaults = { retryDelayMsMin: 100, retryDelayMsMax: 5000 };

export class Outbox {
  private readonly inflight = new Set<Promise<boolean>>();
  private stopped = false;

  constructor(
    private readonly publisher: Publisher,
    private readonly log: Logger,
  ) {}

  /** Publishes not yet acknowledged (or given up). */
  get inFlight(): number {
    return this.inflight.size;
  }

  /** Events the Publisher holds unacknowledged (its own back-pressure measure). */
  get pendingEvents(): number {
    return this.publisher.pendingEvents;
  }

  /**
   * Publishes `records` in order and resolves true once Kafka acknowledged them all. With
   * `mustLand` a failure is retried (backing off) while `owned()` holds and the outbox is open.
   */
  send(records: readonly OutRecord[], mustLand: boolean, owned: () => boolean): Promise<boolean> {
    // Most sends are one job's events, all for cluster-events: no grouping needed.
    const first = topicName(records[0]!);
    let byTopic: Map<string, EncodedEvent[]>;
    if (records.every((r) => topicName(r) === first)) byTopic = new Map([[first, records.map(encodeOutRecord)]]);
    else {
      byTopic = new Map();
      for (const r of records) {
        const list = byTopic.get(topicName(r)) ?? [];
        list.push(encodeOutRecord(r));
        byTopic.set(topicName(r), list);
      }
    }
    const p = this.sendRetrying(byTopic, mustLand, owned);
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
    return p;
  }

  /** One record that needs no acknowledgement handling (worker.scaled). */
  sendRaw(topic: string, event: EncodedEvent): void {
    void this.publisher.publish(topic, [event]).catch((e) => this.log.warn({ err: e, topic }, 'record not published'));
  }

  /** Stops retrying; pending publishes give up at their next failure. */
  stop(): void {
    this.stopped = true;
  }

  private async sendRetrying(byTopic: Map<string, EncodedEvent[]>, mustLand: boolean, owned: () => boolean): Promise<boolean> {
    // cluster-events first, the delay and dead-letter topics only once those are acknowledged: a
    // delay record turns into the scheduler's job.queued on cluster-events, which must never land
    // before the job.failed/job.retrying that explain it (a retried produce could otherwise let
    // the other topic's record overtake them). A topic already acknowledged is not sent again.
    const order = [...byTopic.keys()].sort((a, b) => Number(a !== JOB_TOPICS.events) - Number(b !== JOB_TOPICS.events));
    const acked = new Set<string>();
    for (let attempt = 0; ; attempt++) {
      try {
        for (const topic of order) {
          if (acked.has(topic)) continue;
          await this.publisher.publish(topic, byTopic.get(topic)!);
          acked.add(topic);
        }
        return true;
      } catch (e) {
        if (!mustLand || this.stopped || !owned()) {
          this.log.warn({ err: e }, 'events not published');
          return false;
        }
        this.log.warn({ err: e, attempt }, 'cannot publish events; retrying');
        const delayMs = Math.min(outboxDefaults.retryDelayMsMax, outboxDefaults.retryDelayMsMin * 2 ** attempt);
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  }
}
