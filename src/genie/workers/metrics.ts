// A worker's Prometheus metrics (docs/JOBS.md "Metrics"), served by `clustergenie worker
// --metrics-port`. Gauges read the worker at scrape time; the job counters count the events the
// worker's partition cores publish for the attempts it runs (job.processing, job.completed,
// job.failed, job.cancelled), so they agree with what the Job Service folds from cluster-events.

import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import { newRegistry, TypeLabels } from '../jobs/metrics.js';
import type { AttemptHost } from './attempt.js';
import type { CoreAction } from './partitionCore.js';

/** What the gauges read (the Worker has all of it). */
export interface WorkerMetricsSource {
  readonly id: string;
  readonly groupId: string;
  /** Concurrency now (the pool's size). */
  readonly capacity: number;
  /** Jobs started and not finished. */
  readonly running: number;
  /** Jobs waiting in the local pool. */
  readonly queued: number;
  /** Records on the owned partitions not read yet. */
  readonly lag: number;
  readonly assignedPartitions: readonly number[];
}

export interface WorkerMetricsOptions {
  typeLabelsMax?: number;
  defaultMetrics?: boolean;
}

export class WorkerMetrics {
  readonly registry: Registry;
  private readonly types: TypeLabels;
  private readonly c;
  private bound = false;

  constructor(opts: WorkerMetricsOptions = {}) {
    this.registry = newRegistry(opts.defaultMetrics ?? true);
    this.types = new TypeLabels(opts.typeLabelsMax);
    const registers = [this.registry];
    const byType = (name: string, help: string) => new Counter({ name, help, labelNames: ['type'], registers });
    this.c = {
      started: byType('clustergenie_worker_jobs_started_total', 'Attempts this worker started (job.processing published).'),
      completed: byType('clustergenie_worker_jobs_completed_total', 'Attempts this worker completed (job.completed published).'),
      failed: byType('clustergenie_worker_jobs_failed_total', 'Attempts that failed on this worker (job.failed published).'),
      cancelled: byType('clustergenie_worker_jobs_cancelled_total', 'Running attempts cancelled on this worker (job.cancelled published).'),
      scaled: new Counter({
        name: 'clustergenie_worker_scaling_events_total',
        help: 'Concurrency changes by the autoscaler (worker.scaled), by direction.',
        labelNames: ['direction'],
        registers,
      }),
    };
    // Both directions exist from the start, so rate() and absent-series alerts see zeros.
    this.c.scaled.inc({ direction: 'up' }, 0);
    this.c.scaled.inc({ direction: 'down' }, 0);
  }

  /** Binds the gauges to a worker; `bounds` are its concurrency limits. Once per WorkerMetrics. */
  bind(worker: WorkerMetricsSource, bounds: { min: number; max: number }): void {
    if (this.bound) throw new Error('these WorkerMetrics already belong to a worker');
    this.bound = true;
    const registers = [this.registry];
    const labels = { worker: worker.id };
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['worker'],
        registers,
        collect() {
          this.set(labels, read());
        },
      });
    new Gauge({
      name: 'clustergenie_worker_info',
      help: 'One per worker process: its id and consumer group.',
      labelNames: ['worker', 'group'],
      registers,
    }).set({ worker: worker.id, group: worker.groupId }, 1);
    gauge('clustergenie_worker_pool_size', "The pool's concurrency now (slots).", () => worker.capacity);
    gauge('clustergenie_worker_pool_size_min', 'The lowest concurrency the autoscaler may choose.', () => bounds.min);
    gauge('clustergenie_worker_pool_size_max', 'The highest concurrency the autoscaler may choose.', () => bounds.max);
    gauge('clustergenie_worker_pool_busy', 'Slots running a job (or waiting for its type gate).', () => worker.running);
    gauge('clustergenie_worker_pool_queued', 'Jobs waiting in the local pool for a slot.', () => worker.queued);
    gauge('clustergenie_worker_backlog', 'Records of cluster-events on the partitions this worker owns not read yet.', () => worker.lag);
    gauge(
      'clustergenie_worker_partitions',
      'Partitions of cluster-events assigned to this worker.',
      () => worker.assignedPartitions.length,
    );
  }

  /** A scaling decision was applied. */
  scaled(from: number, to: number): void {
    if (to !== from) this.c.scaled.inc({ direction: to > from ? 'up' : 'down' });
  }

  /** Counts the job events among a core's actions for one attempt of a job of `type`. */
  count(type: string, actions: readonly CoreAction[]): void {
    for (const a of actions) {
      if (a.type !== 'publish') continue;
      for (const r of a.records) {
        if (r.topic !== 'events') continue;
        const counter =
          r.value.type === 'job.processing'
            ? this.c.started
            : r.value.type === 'job.completed'
              ? this.c.completed
              : r.value.type === 'job.failed'
                ? this.c.failed
                : r.value.type === 'job.cancelled'
                  ? this.c.cancelled
                  : undefined;
        counter?.inc({ type: this.types.of(type) });
      }
    }
  }
}

/** `host` with its started/ended answers counted in `metrics` (or `host` itself without metrics). */
export function observeAttempt(metrics: WorkerMetrics | undefined, type: string, host: AttemptHost): AttemptHost {
  if (!metrics) return host;
  return {
    ...host,
    started: (now) => {
      const actions = host.started(now);
      metrics.count(type, actions);
      return actions;
    },
    ended: (outcome, now) => {
      const actions = host.ended(outcome, now);
      metrics.count(type, actions);
      return actions;
    },
  };
}
