// The jobs benchmark's shared pieces (bench/jobs-bench.ts): what a side (BullMQ on Redis,
// ClusterGenie on Kafka + ZooKeeper) offers the load driver, the pure statistics of one run, the
// result file's shape, the issue's targets checked against it, and the Markdown report.

import { median, ratio } from './stats.js';

export type SideName = 'bullmq' | 'clustergenie';
/** `noop`: BullMQ returns at once, ClusterGenie runs the builtin `echo`; `sleep10`: a 10 ms timer on both. */
export type JobKind = 'noop' | 'sleep10';
export const JOB_KINDS: readonly JobKind[] = ['noop', 'sleep10'];
export const KIND_LABEL: Record<JobKind, string> = { noop: 'no-op', sleep10: '10 ms' };
export const SIDE_LABEL: Record<SideName, string> = { bullmq: 'BullMQ on Redis', clustergenie: 'ClusterGenie' };

/** Which process a side runs, for CPU and memory per role. */
export type ProcessRole = 'redis' | 'worker' | 'zookeeper' | 'broker' | 'jobs-service' | 'scheduler';

/** One job's times, epoch ms of this machine's clock. */
export interface JobTiming {
  /** When the bench sent the submission (the addBulk call or the POST). */
  submitAt: number;
  /** When a worker started running it (BullMQ: the processor's first line; ClusterGenie: job.processing's `at`). */
  startAt: number;
  /** When it was completed (BullMQ: the worker's `completed` event, after Redis recorded it; ClusterGenie: job.completed's `at`). */
  endAt: number;
}

/** What the load driver needs from a side. */
export interface JobsSide {
  readonly name: SideName;
  /** Starts the servers (Redis; or ZooKeeper, brokers, topics, Job Service, scheduler). */
  start(): Promise<void>;
  /** Replaces the worker processes with `count` new ones, each running `concurrency` jobs at once; resolves when they serve. */
  startWorkers(count: number, concurrency: number): Promise<void>;
  stopWorkers(): Promise<void>;
  /**
   * Begins a run: only jobs submitted from now on are reported, each once, to `onCompleted`
   * (completions of earlier runs, or a second run of a job, are dropped).
   */
  beginRun(onCompleted: (t: JobTiming) => void): void;
  /** Submits `count` jobs (≤ one batch) stamped `submitAt`; resolves when the side accepted them durably. */
  submit(kind: JobKind, count: number, submitAt: number): Promise<void>;
  /** The server-side processes now (not the bench process): CPU and memory are read from /proc by PID. */
  processes(): { role: ProcessRole; pid: number }[];
  /** Versions and settings worth recording. */
  describe(): Record<string, unknown>;
  close(): Promise<void>;
}

/** Nearest-rank percentile of an ascending array (NaN when empty). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

export interface LatencySummary {
  jobs: number;
  /** Completed jobs per second over first submit → last completion. */
  completedPerSec: number;
  startP50Ms: number;
  startP99Ms: number;
  completeP50Ms: number;
  completeP99Ms: number;
  firstSubmitAt: number;
  lastEndAt: number;
}

/** Throughput and latency percentiles of one run's timings (pure). */
export function summarizeTimings(timings: readonly JobTiming[]): LatencySummary {
  const starts = timings.map((t) => t.startAt - t.submitAt).sort((a, b) => a - b);
  const ends = timings.map((t) => t.endAt - t.submitAt).sort((a, b) => a - b);
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const t of timings) {
    if (t.submitAt < first) first = t.submitAt;
    if (t.endAt > last) last = t.endAt;
  }
  const spanSec = (last - first) / 1000;
  return {
    jobs: timings.length,
    completedPerSec: timings.length > 0 && spanSec > 0 ? timings.length / spanSec : NaN,
    startP50Ms: percentile(starts, 0.5),
    startP99Ms: percentile(starts, 0.99),
    completeP50Ms: percentile(ends, 0.5),
    completeP99Ms: percentile(ends, 0.99),
    firstSubmitAt: first,
    lastEndAt: last,
  };
}

/** Every figure of a side by metric name, one value per repetition. */
export type Metrics = Record<string, number[]>;

export function push(m: Metrics, key: string, value: number): void {
  const xs = m[key] ?? [];
  xs.push(value);
  m[key] = xs;
}

/** Metric names, shared by the driver and the target checks. */
export const metric = {
  peakCompleted: (k: JobKind) => `${KIND_LABEL[k]} peak: completed jobs/s (first submit → last completion)`,
  peakSubmitted: (k: JobKind) => `${KIND_LABEL[k]} peak: submitted jobs/s (submit phase)`,
  peakServerCpu: (k: JobKind) => `${KIND_LABEL[k]} peak: server CPU ms/job (all server processes)`,
  peakRoleCpu: (k: JobKind, role: ProcessRole) => `${KIND_LABEL[k]} peak: CPU ms/job, ${role}`,
  peakProducerCpu: (k: JobKind) => `${KIND_LABEL[k]} peak: bench process CPU ms/job (producer + timing reader)`,
  halfRate: (k: JobKind) => `${KIND_LABEL[k]} at half peak: offered jobs/s`,
  halfStartP50: (k: JobKind) => `${KIND_LABEL[k]} at half peak: submit→start p50 ms`,
  halfStartP99: (k: JobKind) => `${KIND_LABEL[k]} at half peak: submit→start p99 ms`,
  halfCompleteP50: (k: JobKind) => `${KIND_LABEL[k]} at half peak: submit→complete p50 ms`,
  halfCompleteP99: (k: JobKind) => `${KIND_LABEL[k]} at half peak: submit→complete p99 ms`,
  halfServerCpu: (k: JobKind) => `${KIND_LABEL[k]} at half peak: server CPU ms/job`,
  rssTotal: () => 'memory at end: RSS MB, all server processes',
  rssRole: (role: ProcessRole) => `memory at end: RSS MB, ${role} (sum)`,
  scaling: (workers: number) => `scaling, no-op peak with ${workers} worker process${workers === 1 ? '' : 'es'}: completed jobs/s`,
} as const;

export interface TargetCheck {
  what: string;
  target: string;
  value: string;
  pass: boolean | undefined;
}

export interface JobsBenchResult {
  date: string;
  durationSec: number;
  quick: boolean;
  repeat: number;
  machine: Record<string, unknown> & { cores: number; loadAvgStart: number[]; loadAvgEnd: number[] };
  config: {
    jobs: number;
    steadySec: number;
    workers: number;
    concurrency: number;
    partitions: number;
    batchJobs: number;
    submitBatchesInFlightMax: number;
    scalingWorkers: number[];
    steadyRateOverride?: number;
    sides: Partial<Record<SideName, Record<string, unknown>>>;
  };
  sides: SideName[];
  metrics: Partial<Record<SideName, Metrics>>;
  failures: { section: string; side: SideName; rep: number; message: string }[];
  targets: TargetCheck[];
}

const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const med = (m: Metrics | undefined, key: string): number => median(m?.[key] ?? []);

/** The issue's targets, on the medians over the repetitions. */
export function evaluateTargets(res: JobsBenchResult): TargetCheck[] {
  const cg = res.metrics.clustergenie;
  const bull = res.metrics.bullmq;
  const out: TargetCheck[] = [];
  for (const k of JOB_KINDS) {
    const r = ratio(med(cg, metric.peakCompleted(k)), med(bull, metric.peakCompleted(k)));
    out.push({
      what: `${KIND_LABEL[k]} completed jobs/s, ClusterGenie (Kafka acks=all) / BullMQ`,
      target: '≥ 1.0×',
      value: `${f(r)}×`,
      pass: Number.isFinite(r) ? r >= 1 : undefined,
    });
  }
  for (const k of JOB_KINDS) {
    const p99 = med(cg, metric.halfStartP99(k));
    out.push({
      what: `${KIND_LABEL[k]} at half peak: ClusterGenie submit→start p99`,
      target: '≤ 50 ms',
      value: `${f(p99, 1)} ms`,
      pass: Number.isFinite(p99) ? p99 <= 50 : undefined,
    });
  }
  // Growth is required only while each added worker process still gets a partition and a core.
  const limit = Math.min(res.config.partitions, res.machine.cores);
  const ws = [...res.config.scalingWorkers].sort((a, b) => a - b);
  const checked = ws.filter((w) => w <= limit);
  if (checked.length >= 2) {
    const values = checked.map((w) => med(cg, metric.scaling(w)));
    const grows = values.every((v, i) => i === 0 || v > values[i - 1]!);
    out.push({
      what: `ClusterGenie no-op jobs/s grows with worker processes up to min(partitions ${res.config.partitions}, cores ${res.machine.cores})`,
      target: `rises from W=${checked[0]} to W=${checked[checked.length - 1]}`,
      value: checked.map((w, i) => `W=${w}: ${f(values[i]!, 0)}`).join(', '),
      pass: values.every(Number.isFinite) ? grows : undefined,
    });
  }
  return out;
}

const fmt = (x: number, d: number): string =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a';

function cell(xs: readonly number[] | undefined, d: number): string {
  const s = (xs ?? []).filter(Number.isFinite);
  if (!s.length) return 'n/a';
  return s.length > 1 ? `${fmt(median(s), d)} (${fmt(Math.min(...s), d)}–${fmt(Math.max(...s), d)})` : fmt(median(s), d);
}

/** Decimals by the metric's unit (the end of its name). */
function digits(key: string): number {
  if (key.includes('CPU ms/job')) return 3;
  if (/ ms$/.test(key) || key.includes('MB')) return 1;
  return 0;
}

export function renderReport(res: JobsBenchResult): string {
  const cg = res.metrics.clustergenie ?? {};
  const bull = res.metrics.bullmq ?? {};
  // Rows of one section (the text before ':') together, sections in the order they were measured.
  const seen = [...new Set([...Object.keys(bull), ...Object.keys(cg)])];
  const sections = [...new Set(seen.map((k) => k.split(':')[0]!))];
  const keys = sections.flatMap((sec) => seen.filter((k) => k.split(':')[0] === sec));
  const c = res.config;
  const lines = [
    '# Jobs benchmark: ClusterGenie jobs vs BullMQ on Redis',
    '',
    `${res.date}, ${res.quick ? 'QUICK mode (indicative only)' : 'full mode'}, ${res.repeat} repetition(s), ${Math.round(res.durationSec)} s.`,
    `Machine: ${res.machine.cores} cores (${String(res.machine['cpuModel'])}), load average at start ${res.machine.loadAvgStart
      .map((x) => x.toFixed(2))
      .join(' / ')}, at end ${res.machine.loadAvgEnd.map((x) => x.toFixed(2)).join(' / ')}.`,
    `Both sides: ${c.workers} worker processes × concurrency ${c.concurrency}; peak runs submit ${c.jobs} jobs in batches of ${c.batchJobs}`,
    `(≤ ${c.submitBatchesInFlightMax} batches in flight); half-peak runs offer half of that side's own peak${c.steadyRateOverride ? ` (overridden: ${c.steadyRateOverride} jobs/s)` : ''} for ${c.steadySec} s.`,
    `ClusterGenie: 1 ZooKeeper, 3 brokers, topics of ${c.partitions} partitions, RF 3, min.insync.replicas 2, producers acks=all; Job Service, scheduler and workers as processes.`,
    `BullMQ: redis-server with appendonly yes, appendfsync everysec, no RDB saves; BullMQ defaults (completed jobs kept).`,
    'Submit time: the bench clock when the batch was sent. Start/complete: BullMQ processor entry / worker `completed` event;',
    'ClusterGenie `at` of job.processing / job.completed. CPU from /proc over the run; each run starts once the server',
    'processes are idle; scaling runs start new worker processes per count. Medians (min–max) over repetitions.',
    '',
    '| metric | ClusterGenie | BullMQ | ClusterGenie / BullMQ |',
    '|---|---:|---:|---:|',
  ];
  for (const k of keys) {
    const r = ratio(median(cg[k] ?? []), median(bull[k] ?? []));
    lines.push(`| ${k} | ${cell(cg[k], digits(k))} | ${cell(bull[k], digits(k))} | ${Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a'} |`);
  }
  if (res.targets.length) {
    lines.push('', '## Targets (issue 15)', '', '| what | target | value | result |', '|---|---|---|---|');
    for (const t of res.targets)
      lines.push(`| ${t.what} | ${t.target} | ${t.value} | ${t.pass === undefined ? '—' : t.pass ? 'PASS' : 'FAIL'} |`);
  }
  if (res.failures.length) {
    lines.push('', '## Failures', '');
    for (const x of res.failures) lines.push(`- rep ${x.rep}, ${SIDE_LABEL[x.side]}, ${x.section}: ${x.message.split('\n')[0]}`);
  }
  return `${lines.join('\n')}\n`;
}
