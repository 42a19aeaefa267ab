// The scheduler's Prometheus metrics (docs/JOBS.md "Metrics"), served by `clustergenie scheduler
// --metrics-port`. Everything is read from the Scheduler at scrape time: its stats are already
// counters for the life of the process, and the gauges describe the current term.

import { Counter, Gauge, type Registry } from 'prom-client';
import { newRegistry } from '../jobs/metrics.js';
import type { SchedulerStats } from './scheduler.js';

/** What the metrics read (the Scheduler has all of it). */
export interface SchedulerMetricsSource {
  readonly isLeader: boolean;
  readonly metrics: Readonly<SchedulerStats>;
  readonly schedules: number;
}

export class SchedulerMetrics {
  readonly registry: Registry;

  constructor(id: string, source: SchedulerMetricsSource, opts: { defaultMetrics?: boolean } = {}) {
    this.registry = newRegistry(opts.defaultMetrics ?? true);
    const registers = [this.registry];
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    new Gauge({
      name: 'clustergenie_scheduler_info',
      help: 'One per scheduler process: its id.',
      labelNames: ['scheduler'],
      registers,
    }).set({ scheduler: id }, 1);
    gauge('clustergenie_scheduler_leader', '1 while this scheduler is the elected one and runs a term.', () => (source.isLeader ? 1 : 0));
    gauge('clustergenie_scheduler_schedules', 'Cron schedules the leading scheduler knows (0 on a follower).', () => source.schedules);
    gauge(
      'clustergenie_scheduler_delayed_jobs',
      'Delayed jobs and retries held until they are due (0 on a follower).',
      () => source.metrics.delayedHeld,
    );
    new Counter({
      name: 'clustergenie_scheduler_jobs_fired_total',
      help: 'Jobs this scheduler published when due: source="delay" (delayed jobs and retries, job.queued), "cron" (ticks, job.requested).',
      labelNames: ['source'],
      registers,
      collect() {
        const s = source.metrics;
        this.reset();
        this.inc({ source: 'delay' }, s.delayedProduced);
        this.inc({ source: 'cron' }, s.cronTicksPublished);
      },
    });
    new Counter({
      name: 'clustergenie_scheduler_delayed_malformed_total',
      help: 'Records of cluster-events.delay that were not valid delayed jobs (skipped).',
      registers,
      collect() {
        this.reset();
        this.inc(source.metrics.delayedMalformed);
      },
    });
  }
}
