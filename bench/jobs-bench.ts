// Jobs benchmark (issue 15, "Performance"): ClusterGenie jobs (Job Service, workers, scheduler on
// three brokers and one ZooKeeper, every event written with acks=all) against what users would pick
// instead, BullMQ on Redis (redis-server with the AOF fsynced every second). Both sides run the same
// no-op and 10 ms jobs with the same worker processes (W) and concurrency per process (C); they
// alternate which goes first in each repetition, and each gets fresh servers. Per side:
//   - peak: N jobs submitted as fast as possible (batches of ≤ 1000, a few in flight); completed
//     jobs/s from the first submit to the last completion; CPU per job of every server process
//     (/proc/<pid>/stat over the run), per role (brokers, Redis, workers, ...), and of the bench
//     process itself (the producer, and on ClusterGenie the reader of the timing events);
//   - at half of that side's peak: jobs offered at a steady rate for S seconds; p50/p99 from
//     submit to start and to completion (bench/lib/jobsReport.ts says where each time comes from);
//   - memory: RSS of the server processes at the end of those runs;
//   - scaling: no-op peak with 1, 2, 4 worker processes (new processes and a warm-up for each count).
// Every run starts once the server processes are idle, so none pays for the previous one's tail.
// Sides: bench/lib/jobsBullmq.ts and bench/lib/jobsClusterGenie.ts. Writes jobs-bench.json and .md.
//
//   npm run bench:jobs              (builds first; or node dist/bench/jobs-bench.js)
//   JOBS_BENCH_QUICK=1              N 5000, S 3 s, 1 repetition: a few minutes
//   JOBS_BENCH_REPEAT=3             repetitions (default 3; quick 1)
//   JOBS_BENCH_JOBS=50000           N, jobs per peak run (quick: 5000)
//   JOBS_BENCH_STEADY_SEC=10        S, seconds of each half-peak run (quick: 3)
//   JOBS_BENCH_WORKERS=2            W, worker processes on both sides
//   JOBS_BENCH_CONCURRENCY=50       C, jobs at once per worker process on both sides
//   JOBS_BENCH_PARTITIONS=6         partitions of the ClusterGenie job topics
//   JOBS_BENCH_BATCH=1000           jobs per submission (addBulk / POST /api/jobs/batch; ≤ 1000)
//   JOBS_BENCH_IN_FLIGHT=4          submissions in flight during a peak run
//   JOBS_BENCH_SCALING=1,2,4        worker process counts of the scaling runs ("" skips them)
//   JOBS_BENCH_STEADY_RATE=         jobs/s of the latency runs on both sides (default: half of each side's own peak)
//   JOBS_BENCH_WARMUP=1000          no-op jobs run (not measured) after each start of the workers (quick: 500)
//   JOBS_BENCH_SIDES=bullmq,clustergenie
//   JOBS_BENCH_IOREDIS_FROM=<dir>   where to find ioredis if the project has none (BullMQ 6's Redis driver)
//   JOBS_BENCH_CG_WORKER_ARGS=      extra flags for ClusterGenie workers, space-separated
//   JOBS_BENCH_OUT_DIR=bench/results

import { runBenchMain, writeBenchReport } from './lib/report.js';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { BullmqSide } from './lib/jobsBullmq.js';
import { ClusterGenieSide } from './lib/jobsClusterGenie.js';
import {
  evaluateTargets,
  JOB_KINDS,
  type JobKind,
  type JobsBenchResult,
  type JobsSide,
  type JobTiming,
  KIND_LABEL,
  type Metrics,
  metric,
  type ProcessRole,
  push,
  renderReport,
  SIDE_LABEL,
  type SideName,
  summarizeTimings,
} from './lib/jobsReport.js';
import { cpuSeconds, memory } from './lib/procstat.js';

const P = 'JOBS_BENCH_';
const QUICK = process.env[`${P}QUICK`] === '1';
const num = (k: string, d: number): number => {
  const v = process.env[P + k];
  const n = v ? Number(v.replaceAll('_', '')) : d;
  if (!Number.isFinite(n) || n < 0) throw new Error(`${P}${k} must be a non-negative number`);
  return n;
};
const REPEAT = Math.max(1, num('REPEAT', QUICK ? 1 : 3));
const JOBS = Math.max(1, num('JOBS', QUICK ? 5000 : 50_000));
const STEADY_SEC = num('STEADY_SEC', QUICK ? 3 : 10);
const WORKERS = Math.max(1, num('WORKERS', 2));
const CONCURRENCY = Math.max(1, num('CONCURRENCY', 50));
const PARTITIONS = Math.max(1, num('PARTITIONS', 6));
const BATCH = Math.min(1000, Math.max(1, num('BATCH', 1000)));
const IN_FLIGHT = Math.max(1, num('IN_FLIGHT', 4));
const WARMUP = num('WARMUP', QUICK ? 500 : 1000);
const STEADY_RATE = num('STEADY_RATE', 0);
const SCALING = (process.env[`${P}SCALING`] ?? '1,2,4')
  .split(',')
  .filter((s) => s.trim() !== '')
  .map((s) => Math.max(1, Number(s)));
const SIDES = (process.env[`${P}SIDES`]?.split(',') as SideName[] | undefined) ?? (['bullmq', 'clustergenie'] as SideName[]);
const CG_WORKER_ARGS = (process.env[`${P}CG_WORKER_ARGS`] ?? '').split(' ').filter(Boolean);
const OUT_DIR = process.env[`${P}OUT_DIR`] ?? 'bench/results';

/** Submissions in flight during a half-peak run; past it the schedule waits (and catches up). */
const steadyRequestsInFlightMax = 64;
/** How often the half-peak schedule submits what has fallen due. */
const steadyTickMs = 10;
/** How long a run may take to complete after its last submission, beyond a floor per job. */
const completionGraceMs = 120_000;
const completionMsPerJob = 2;
/** Before each run the server processes must be this idle (cores busy, summed), e.g. the Job Service done folding the last run's events. */
const settleCoresMax = 0.15;
const settleWindowMs = 500;
const settleTimeoutMs = 30_000;

const log = (line: string): void => void process.stderr.write(`${line}\n`);

for (const s of SIDES) if (s !== 'bullmq' && s !== 'clustergenie') throw new Error(`${P}SIDES: unknown side ${s}`);

function makeSide(name: SideName): JobsSide {
  return name === 'bullmq' ? new BullmqSide() : new ClusterGenieSide({ partitions: PARTITIONS, workerArgs: CG_WORKER_ARGS });
}

/** CPU seconds of each server process now (throws if one is gone: the figure would be wrong). */
function cpuSnapshot(procs: readonly { role: ProcessRole; pid: number }[]): number[] {
  return procs.map((p) => {
    const s = cpuSeconds(p.pid);
    if (s === undefined) throw new Error(`${p.role} process ${p.pid} is gone`);
    return s;
  });
}

/** Waits until the side's server processes are nearly idle, so a run does not pay for the previous one's tail. */
async function settle(side: JobsSide): Promise<void> {
  const deadline = Date.now() + settleTimeoutMs;
  let busy = Number.NaN;
  while (Date.now() < deadline) {
    const procs = side.processes();
    const before = cpuSnapshot(procs);
    await sleepFor(settleWindowMs);
    const after = cpuSnapshot(procs);
    busy = after.reduce((sum, x, i) => sum + x - before[i]!, 0) / (settleWindowMs / 1000);
    if (busy <= settleCoresMax) return;
  }
  log(`${SIDE_LABEL[side.name]}: servers still use ${busy.toFixed(2)} cores after ${settleTimeoutMs} ms; measuring anyway`);
}

interface RunMeasure {
  timings: JobTiming[];
  submitSec: number;
  /** CPU seconds per role over the run. */
  roleCpuSec: Partial<Record<ProcessRole, number>>;
  serverCpuSec: number;
  benchCpuSec: number;
}

/**
 * Runs `submitAll` (which returns how many jobs it submitted) and waits until the side reported
 * every one of them completed, measuring CPU from the first submission to the last completion seen.
 * Starts once the servers are idle (settle).
 */
async function measured(side: JobsSide, submitAll: () => Promise<number>): Promise<RunMeasure> {
  await settle(side);
  const timings: JobTiming[] = [];
  let expected = Number.POSITIVE_INFINITY;
  let allDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    allDone = resolve;
  });
  side.beginRun((t) => {
    timings.push(t);
    if (timings.length >= expected) allDone();
  });
  const procs = side.processes();
  const cpu0 = cpuSnapshot(procs);
  const self0 = process.cpuUsage();
  const t0 = Date.now();
  expected = await submitAll();
  const submitSec = (Date.now() - t0) / 1000;
  if (timings.length >= expected) allDone();
  const deadlineMs = completionGraceMs + expected * completionMsPerJob;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`only ${timings.length} of ${expected} jobs completed ${deadlineMs} ms after the last submission`)),
      deadlineMs,
    );
  });
  try {
    await Promise.race([done, timeout]);
  } finally {
    clearTimeout(timer);
  }
  const cpu1 = cpuSnapshot(procs);
  const self = process.cpuUsage(self0);
  const roleCpuSec: Partial<Record<ProcessRole, number>> = {};
  procs.forEach((p, i) => {
    roleCpuSec[p.role] = (roleCpuSec[p.role] ?? 0) + (cpu1[i]! - cpu0[i]!);
  });
  return {
    timings,
    submitSec,
    roleCpuSec,
    serverCpuSec: Object.values(roleCpuSec).reduce((a, b) => a + b, 0),
    benchCpuSec: (self.user + self.system) / 1e6,
  };
}

/** Submits `n` jobs as fast as the side takes them: batches of BATCH, IN_FLIGHT at once. */
async function submitFlat(side: JobsSide, kind: JobKind, n: number): Promise<number> {
  let next = 0;
  let submitted = 0;
  const lane = async (): Promise<void> => {
    while (next < n) {
      const count = Math.min(BATCH, n - next);
      next += count;
      await side.submit(kind, count, Date.now());
      submitted += count;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return submitted;
}

/** Offers `rate` jobs/s for `seconds`, submitting what fell due every tick; returns the jobs submitted. */
async function submitSteady(side: JobsSide, kind: JobKind, rate: number, seconds: number): Promise<number> {
  const t0 = Date.now();
  const inFlight = new Set<Promise<void>>();
  let submitted = 0;
  let failure: Error | undefined;
  for (;;) {
    const now = Date.now();
    if (now - t0 >= seconds * 1000 || failure) break;
    let due = Math.floor((rate * (now - t0)) / 1000) - submitted;
    while (due > 0 && inFlight.size < steadyRequestsInFlightMax) {
      const count = Math.min(BATCH, due);
      due -= count;
      submitted += count;
      const p: Promise<void> = side.submit(kind, count, now).then(
        () => void inFlight.delete(p),
        (e: unknown) => {
          inFlight.delete(p);
          failure ??= e as Error;
        },
      );
      inFlight.add(p);
    }
    await sleepFor(steadyTickMs);
  }
  await Promise.all(inFlight);
  if (failure) throw failure;
  return submitted;
}

async function warmup(side: JobsSide): Promise<void> {
  if (WARMUP > 0) await measured(side, () => submitFlat(side, 'noop', WARMUP));
}

/** Peak run of one kind; pushes its metrics and returns its completed jobs/s. */
async function peak(side: JobsSide, kind: JobKind, m: Metrics, tag: string, record = true): Promise<number> {
  const r = await measured(side, () => submitFlat(side, kind, JOBS));
  const s = summarizeTimings(r.timings);
  if (record) {
    push(m, metric.peakCompleted(kind), s.completedPerSec);
    push(m, metric.peakSubmitted(kind), JOBS / r.submitSec);
    push(m, metric.peakServerCpu(kind), (r.serverCpuSec * 1000) / JOBS);
    for (const [role, sec] of Object.entries(r.roleCpuSec)) push(m, metric.peakRoleCpu(kind, role as ProcessRole), (sec * 1000) / JOBS);
    push(m, metric.peakProducerCpu(kind), (r.benchCpuSec * 1000) / JOBS);
  }
  log(
    `${tag} ${KIND_LABEL[kind]} peak: ${Math.round(s.completedPerSec)} jobs/s completed, submitted in ${r.submitSec.toFixed(1)} s, ` +
      `server CPU ${((r.serverCpuSec * 1000) / JOBS).toFixed(3)} ms/job (${Object.entries(r.roleCpuSec)
        .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
        .join(', ')}), bench ${r.benchCpuSec.toFixed(1)} s`,
  );
  return s.completedPerSec;
}

async function halfPeak(side: JobsSide, kind: JobKind, peakPerSec: number, m: Metrics, tag: string): Promise<void> {
  const rate = STEADY_RATE > 0 ? STEADY_RATE : Math.max(10, Math.round(peakPerSec / 2));
  let submitted = 0;
  const r = await measured(side, async () => {
    submitted = await submitSteady(side, kind, rate, STEADY_SEC);
    return submitted;
  }).catch((e: unknown) => {
    throw new Error(`at ${rate} jobs/s (submitted ${submitted}): ${(e as Error).message}`);
  });
  const s = summarizeTimings(r.timings);
  push(m, metric.halfRate(kind), rate);
  push(m, metric.halfStartP50(kind), s.startP50Ms);
  push(m, metric.halfStartP99(kind), s.startP99Ms);
  push(m, metric.halfCompleteP50(kind), s.completeP50Ms);
  push(m, metric.halfCompleteP99(kind), s.completeP99Ms);
  push(m, metric.halfServerCpu(kind), (r.serverCpuSec * 1000) / s.jobs);
  log(
    `${tag} ${KIND_LABEL[kind]} at ${rate} jobs/s: submit→start p50 ${s.startP50Ms.toFixed(1)} p99 ${s.startP99Ms.toFixed(1)} ms, ` +
      `submit→complete p50 ${s.completeP50Ms.toFixed(1)} p99 ${s.completeP99Ms.toFixed(1)} ms`,
  );
}

function recordMemory(side: JobsSide, m: Metrics, tag: string): void {
  const byRole: Partial<Record<ProcessRole, number>> = {};
  for (const p of side.processes()) byRole[p.role] = (byRole[p.role] ?? 0) + (memory(p.pid)?.rssMb ?? Number.NaN);
  let total = 0;
  for (const [role, mb] of Object.entries(byRole)) {
    push(m, metric.rssRole(role as ProcessRole), mb);
    total += mb;
  }
  push(m, metric.rssTotal(), total);
  log(
    `${tag} RSS at end: ${Math.round(total)} MB (${Object.entries(byRole)
      .map(([k, v]) => `${k} ${Math.round(v)}`)
      .join(', ')})`,
  );
}

async function runSide(name: SideName, rep: number, res: JobsBenchResult): Promise<void> {
  const tag = `[rep ${rep}] ${SIDE_LABEL[name]}`;
  const m: Metrics = res.metrics[name] ?? {};
  res.metrics[name] = m;
  const side = makeSide(name);
  const fail = (section: string, e: unknown): void => {
    const logs = side instanceof ClusterGenieSide ? `\n${side.logs()}` : '';
    log(`${tag} ${section} FAILED: ${(e as Error).message}${logs}`);
    res.failures.push({ section, side: name, rep, message: (e as Error).message.slice(0, 4000) });
  };
  try {
    const t0 = Date.now();
    await side.start();
    res.config.sides[name] ??= side.describe();
    await side.startWorkers(WORKERS, CONCURRENCY);
    log(`${tag}: servers and ${WORKERS} workers ready after ${Date.now() - t0} ms`);
    await warmup(side);
    const peaks: Partial<Record<JobKind, number>> = {};
    for (const kind of JOB_KINDS) {
      try {
        peaks[kind] = await peak(side, kind, m, tag);
      } catch (e) {
        fail(`${KIND_LABEL[kind]} peak`, e);
      }
    }
    for (const kind of JOB_KINDS) {
      const p = peaks[kind];
      if (p === undefined && STEADY_RATE === 0) continue;
      try {
        await halfPeak(side, kind, p ?? STEADY_RATE * 2, m, tag);
      } catch (e) {
        fail(`${KIND_LABEL[kind]} at half peak`, e);
      }
    }
    recordMemory(side, m, tag);
    for (const w of SCALING) {
      try {
        // Every count gets new worker processes and a warm-up, so the series is measured alike.
        await side.startWorkers(w, CONCURRENCY);
        await warmup(side);
        push(m, metric.scaling(w), await peak(side, 'noop', m, `${tag} W=${w}`, false));
      } catch (e) {
        fail(`scaling W=${w}`, e);
      }
    }
  } catch (e) {
    fail('side', e);
  } finally {
    await side.close().catch((e: unknown) => log(`${tag} close: ${(e as Error).message}`));
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const res: JobsBenchResult = {
    date: new Date().toISOString(),
    durationSec: 0,
    quick: QUICK,
    repeat: REPEAT,
    machine: {
      cores: cpus().length,
      cpuModel: cpus()[0]?.model ?? '?',
      kernel: release(),
      node: process.version,
      memGb: totalmem() / 2 ** 30,
      loadAvgStart: loadavg(),
      loadAvgEnd: [],
    },
    config: {
      jobs: JOBS,
      steadySec: STEADY_SEC,
      workers: WORKERS,
      concurrency: CONCURRENCY,
      partitions: PARTITIONS,
      batchJobs: BATCH,
      submitBatchesInFlightMax: IN_FLIGHT,
      scalingWorkers: SCALING,
      ...(STEADY_RATE > 0 ? { steadyRateOverride: STEADY_RATE } : {}),
      sides: {},
    },
    sides: SIDES,
    metrics: {},
    failures: [],
    targets: [],
  };
  for (let rep = 1; rep <= REPEAT; rep++) {
    const order = rep % 2 === 1 ? SIDES : [...SIDES].reverse();
    for (const name of order) await runSide(name, rep, res);
  }
  res.durationSec = (Date.now() - started) / 1000;
  res.machine.loadAvgEnd = loadavg();
  res.targets = evaluateTargets(res);
  writeBenchReport(OUT_DIR, 'jobs-bench', res, renderReport(res), log);
  if (res.failures.length) process.exitCode = 1;
}

runBenchMain(main);
