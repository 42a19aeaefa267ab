// Prometheus metrics of the jobs services (issue 16, docs/JOBS.md "Metrics"): the pieces every
// jobs process shares (a per-process Registry, job-type labels with a bounded cardinality, a
// small /metrics HTTP server for processes without one) and the Job Service's own metrics.
//
// One Registry per service object, never prom-client's global one: tests and `clustergenie up`
// run several services in one process, and each must expose only its own series.
//
// The Job Service counts what it folds from `cluster-events`, so every instance reports the whole
// system's jobs (aggregate instances with max, not sum). Events older than the instance's start
// are not counted until the view has caught up once: a new instance replaying the topic's history
// would otherwise report all of it as a burst of new work.

import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type MetricsHttpServer, registrySource, serveMetricsHttp } from '../../util/metricsHttp.js';
import { JOB_STATES } from './events.js';
import type { FoldedEvent } from './store.js';

/** Distinct job types given their own label value; the rest share typeLabelOther. */
export const typeLabelsMax = 200;
/** The label value of types past typeLabelsMax (a real type cannot start with `_`: events.ts NAME rules). */
export const typeLabelOther = '_other';

/**
 * Job type → label value, keeping the number of distinct values bounded: the first `max` types
 * seen keep their name, later ones become typeLabelOther (a series per type lives forever).
 */
export class TypeLabels {
  private readonly known = new Set<string>();

  constructor(readonly max: number = typeLabelsMax) {
    if (!(max >= 0)) throw new Error(`typeLabelsMax must be >= 0, not ${max}`);
  }

  of(type: string): string {
    if (this.known.has(type)) return type;
    if (this.known.size >= this.max) return typeLabelOther;
    this.known.add(type);
    return type;
  }
}

/** A Registry of its own, with the process/nodejs default metrics unless told not to. */
export function newRegistry(defaultMetrics = true): Registry {
  const registry = new Registry();
  if (defaultMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}

/** Seconds buckets for job queue waits and run times: sub-second echo jobs up to hour-long ones. */
export const jobSecondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** `--metrics-port`: undefined when not given, else a port number (0 = any free port); throws on anything else. */
export function metricsPortOption(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65_535)
    throw new Error(`--metrics-port must be a port from 0 to 65535, not ${v}`);
  return n;
}

export type MetricsServer = MetricsHttpServer;

/** GET /metrics from `registry` on a node:http server of its own (worker, scheduler). Port 0 picks a free port. */
export function startMetricsServer(registry: Registry, opts: { host?: string; port: number }): Promise<MetricsServer> {
  return serveMetricsHttp(registrySource(registry), { host: opts.host ?? '127.0.0.1', port: opts.port });
}

/** What the Job Service's gauges read at scrape time. */
export interface JobsMetricsSource {
  /** Jobs in the view by state; undefined before the store is open. */
  byState(): Readonly<Record<string, number>> | undefined;
  /** Records of cluster-events that were not valid job events. */
  malformedRecords(): number;
}

export interface JobsMetricsOptions {
  typeLabelsMax?: number;
  defaultMetrics?: boolean;
  /** Events at or after this time (ms) count even before the view caught up; default: now. */
  sinceMs?: number;
}

export class JobsMetrics {
  readonly registry: Registry;
  private readonly types: TypeLabels;
  private readonly sinceMs: number;
  private readonly m;

  constructor(source: JobsMetricsSource, opts: JobsMetricsOptions = {}) {
    this.registry = newRegistry(opts.defaultMetrics ?? true);
    this.types = new TypeLabels(opts.typeLabelsMax);
    this.sinceMs = opts.sinceMs ?? Date.now();
    const registers = [this.registry];
    const counter = (name: string, help: string) => new Counter({ name, help, labelNames: ['type'], registers });
    const seconds = (name: string, help: string) =>
      new Histogram({ name, help, labelNames: ['type'], buckets: jobSecondsBuckets, registers });
    this.m = {
      submitted: counter('clustergenie_jobs_submitted_total', 'Jobs requested (job.requested of a new job id).'),
      completed: counter('clustergenie_jobs_completed_total', 'Jobs completed (job.completed).'),
      failed: counter('clustergenie_jobs_failed_total', 'Failed attempts (job.failed; a retried job can fail more than once).'),
      retried: counter('clustergenie_jobs_retried_total', 'Attempts scheduled again after a failure (job.retrying).'),
      dead: counter('clustergenie_jobs_dead_total', 'Jobs that went to the dead-letter queue (job.dead).'),
      cancelled: counter('clustergenie_jobs_cancelled_total', 'Jobs cancelled (job.cancelled).'),
      queueWait: seconds('clustergenie_jobs_queue_wait_seconds', 'Time from job.queued to job.processing of an attempt.'),
      run: seconds('clustergenie_jobs_run_seconds', 'Time from job.processing to job.completed or job.failed of an attempt.'),
      http: new Histogram({
        name: 'http_request_duration_seconds',
        help: 'Job Service HTTP requests by method, route pattern and status code.',
        labelNames: ['method', 'route', 'status_code'],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers,
      }),
    };
    new Gauge({
      name: 'clustergenie_jobs',
      help: 'Jobs in the Job Service view by state.',
      labelNames: ['state'],
      registers,
      collect() {
        const byState = source.byState();
        if (byState === undefined) return;
        for (const state of JOB_STATES) this.set({ state }, byState[state] ?? 0);
      },
    });
    new Counter({
      name: 'clustergenie_jobs_malformed_records_total',
      help: 'Records of cluster-events that are not valid job events (skipped by the view).',
      registers,
      collect() {
        this.reset();
        this.inc(source.malformedRecords());
      },
    });
  }

  /**
   * Counts a folded batch: only events that changed a job's view (a replayed or duplicate event
   * changes nothing), and, until `caughtUp`, only events from after this instance started.
   */
  observe(folded: readonly FoldedEvent[], caughtUp: boolean): void {
    for (const f of folded) {
      if (!f.changed) continue;
      const e = f.event;
      const atMs = Date.parse(e.at);
      if (!caughtUp && !(atMs >= this.sinceMs)) continue;
      const v = f.view;
      switch (e.type) {
        case 'job.requested':
          this.m.submitted.inc({ type: this.types.of(v.type) });
          break;
        case 'job.processing':
          // A redelivered attempt waited since its first start, not since it was queued.
          if (!e.redelivered) observeSpan(this.m.queueWait, this.types.of(v.type), v.queuedAt, atMs);
          break;
        case 'job.completed':
          this.m.completed.inc({ type: this.types.of(v.type) });
          observeSpan(this.m.run, this.types.of(v.type), v.startedAt, atMs);
          break;
        case 'job.failed':
          this.m.failed.inc({ type: this.types.of(v.type) });
          observeSpan(this.m.run, this.types.of(v.type), v.startedAt, atMs);
          break;
        case 'job.retrying':
          this.m.retried.inc({ type: this.types.of(v.type) });
          break;
        case 'job.dead':
          this.m.dead.inc({ type: this.types.of(v.type) });
          break;
        case 'job.cancelled':
          this.m.cancelled.inc({ type: this.types.of(v.type) });
          break;
      }
    }
  }

  /** GET /metrics on the Job Service's fastify app, and a duration histogram of its requests. */
  instrument(app: FastifyInstance): void {
    app.addHook('onResponse', async (req, reply) => {
      // The route's pattern (`/api/jobs/:id`), never the raw URL: ids would explode the series.
      const route = req.routeOptions.url ?? 'unmatched';
      this.m.http.observe({ method: req.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
    });
    app.get('/metrics', async (_req, reply) => reply.type(this.registry.contentType).send(await this.registry.metrics()));
  }
}

/** Observes `toMs - from` in seconds when `from` is a time at or before `toMs`. */
function observeSpan(h: Histogram<'type'>, type: string, from: string | null, toMs: number): void {
  if (from === null) return;
  const s = (toMs - Date.parse(from)) / 1000;
  if (s >= 0) h.observe({ type }, s);
}
