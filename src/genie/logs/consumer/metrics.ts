// The Log Consumer's counters, kept on the object (tests, the dashboard) and exported as
// Prometheus metrics (prom-client, one registry per consumer so two in a process do not clash).

import { type MetricsHttpServer, registrySource, serveMetricsHttp } from '../../../util/metricsHttp.js';
import { Counter, Gauge, Registry } from 'prom-client';
import type { DropReason } from './batcher.js';

export interface LogConsumerCounters {
  /** Records read from the topic. */
  received: number;
  /** Entries Loki accepted. */
  pushed: number;
  /** Batches Loki accepted. */
  batches: number;
  /** Push attempts that will be retried (429, 5xx, network). */
  retries: number;
  /** Records not forwarded, by reason (malformed, or rejected by Loki with 400). */
  dropped: Record<DropReason, number>;
}

export class LogConsumerStats {
  readonly counters: LogConsumerCounters = {
    received: 0,
    pushed: 0,
    batches: 0,
    retries: 0,
    dropped: { empty: 0, not_json: 0, not_object: 0, rejected: 0 },
  };
  readonly registry = new Registry();
  private readonly received: Counter;
  private readonly pushed: Counter;
  private readonly batches: Counter;
  private readonly retries: Counter;
  private readonly dropped: Counter<'reason'>;

  constructor(buffered: () => number, behind: () => number) {
    const registers = [this.registry];
    this.received = new Counter({
      name: 'clustergenie_logconsumer_records_received_total',
      help: 'Records read from the logs topic.',
      registers,
    });
    this.pushed = new Counter({ name: 'clustergenie_logconsumer_entries_pushed_total', help: 'Log entries Loki accepted.', registers });
    this.batches = new Counter({ name: 'clustergenie_logconsumer_batches_pushed_total', help: 'Push requests Loki accepted.', registers });
    this.retries = new Counter({
      name: 'clustergenie_logconsumer_push_retries_total',
      help: 'Push attempts that failed and are retried (429, 5xx, network errors).',
      registers,
    });
    this.dropped = new Counter({
      name: 'clustergenie_logconsumer_records_dropped_total',
      help: 'Records not forwarded: malformed (empty, not_json, not_object) or rejected by Loki (400).',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of Object.keys(this.counters.dropped)) this.dropped.inc({ reason }, 0);
    new Gauge({
      name: 'clustergenie_logconsumer_buffered_entries',
      help: 'Entries read and not yet accepted by Loki.',
      registers,
      collect() {
        this.set(buffered());
      },
    });
    new Gauge({
      name: 'clustergenie_logconsumer_retrying',
      help: '1 while the batch at the head is being retried (Loki unreachable or refusing), else 0.',
      registers,
      collect() {
        this.set(behind());
      },
    });
  }

  onReceived(): void {
    this.counters.received++;
    this.received.inc();
  }
  onPushed(entries: number): void {
    this.counters.pushed += entries;
    this.counters.batches++;
    this.pushed.inc(entries);
    this.batches.inc();
  }
  onRetry(): void {
    this.counters.retries++;
    this.retries.inc();
  }
  onDropped(reason: DropReason, n = 1): void {
    this.counters.dropped[reason] += n;
    this.dropped.inc({ reason }, n);
  }
}

/** GET /metrics on host:port (port 0: any free one). */
export function serveMetrics(registry: Registry, port: number, host = '127.0.0.1'): Promise<MetricsHttpServer> {
  return serveMetricsHttp(registrySource(registry), { host, port });
}
