// Logs benchmark (issue 16, "Performance"): lines from a file through the ClusterGenie log pipeline
// — `ship-logs` → `logs.dev` → `log-consumer` → `log-store`, each a process of this build's CLI — on
// one broker process and one ZooKeeper member, and the shipper's own cost against what users would
// run instead: `tail -F <file> | kcat -P -b <bootstrap> -t <topic>`, measured in the same run.
//   - into the topic (shipper vs kcat, alternating which goes first): each side starts on an empty
//     file and a fresh topic, is warmed up, then N lines are appended at once; lines/s until the
//     topic's end offsets cover them, CPU of the side's processes (/proc/<pid>/stat) per 1,000 lines;
//   - end to end, peak: N lines appended at once; lines/s until the store's entry count covers
//     them, CPU of every process per 1,000 lines;
//   - end to end, delay: lines at a steady rate (default half the end-to-end peak) for S seconds,
//     each carrying its write time; p50/p99 of (arrival on the store's tail WebSocket − write time);
//   - memory: RSS of every process at the end.
// No timed assertions: the report states the numbers and the issue's targets (ratios to kcat).
//
//   npm run bench:logs              (builds first; or node dist/bench/logs-bench.js)
//   LOGS_BENCH_QUICK=1              N 20,000, S 3 s, 1 repetition: a smoke run (under a minute)
//   LOGS_BENCH_REPEAT=3             repetitions (quick 1)
//   LOGS_BENCH_LINES=100000         N, lines per peak run (quick 20,000)
//   LOGS_BENCH_WARMUP=2000          lines shipped (not measured) after each start
//   LOGS_BENCH_PARTITIONS=3         partitions of every topic (logs.dev is created with 3)
//   LOGS_BENCH_STEADY_SEC=10        S, seconds of the delay run (quick 3)
//   LOGS_BENCH_STEADY_RATE=         lines/s of the one delay run (default: two runs, half of the end-to-end peak and 500)
//   LOGS_BENCH_KCAT_ARGS=           extra kcat flags, space-separated (e.g. "-z lz4")
//   LOGS_BENCH_OUT_DIR=bench/results

import { writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { ServiceProcess } from '../src/cluster/serviceProcess.js';
import { appendChunks, appendLines, buildChunks, logLine, TailDelays } from './lib/logsLoad.js';
import {
  evaluateTargets,
  type IntoTopicRun,
  type LogsBenchResult,
  type PipelinePeakRun,
  type PipelineSteadyRun,
  percentile,
  renderReport,
} from './lib/logsReport.js';
import {
  type BenchProcess,
  KcatPipeline,
  kcatVersion,
  LogsBenchCluster,
  startLogConsumer,
  startLogStore,
  startShipper,
  stopService,
  storeEntries,
} from './lib/logsSystem.js';
import { cpuSeconds, memory } from './lib/procstat.js';
import { runBenchMain, writeBenchReport } from './lib/report.js';
import { median } from './lib/stats.js';

const P = 'LOGS_BENCH_';
const QUICK = process.env[`${P}QUICK`] === '1';
const num = (k: string, d: number): number => {
  const v = process.env[P + k];
  const n = v ? Number(v.replaceAll('_', '')) : d;
  if (!Number.isFinite(n) || n < 0) throw new Error(`${P}${k} must be a non-negative number`);
  return n;
};
const REPEAT = Math.max(1, num('REPEAT', QUICK ? 1 : 3));
const LINES = Math.max(1, num('LINES', QUICK ? 20_000 : 100_000));
const WARMUP = Math.max(1, num('WARMUP', 2000));
const PARTITIONS = Math.max(1, num('PARTITIONS', 3));
const STEADY_SEC = num('STEADY_SEC', QUICK ? 3 : 10);
const STEADY_RATE = num('STEADY_RATE', 0);
const KCAT_ARGS = (process.env[`${P}KCAT_ARGS`] ?? '').split(' ').filter(Boolean);
const OUT_DIR = process.env[`${P}OUT_DIR`] ?? 'bench/results';

/** How often the topic's end offsets / the store's entry count are read while waiting (ms). */
const offsetPollMs = 20;
const storePollMs = 50;
/** How long a run may take after its last append, beyond a floor per line. */
const completionGraceMs = 60_000;
const completionMsPerLine = 1;
/** Before a measured run the side's processes must be this idle (cores busy, summed). */
const settleCoresMax = 0.1;
const settleWindowMs = 300;
const settleTimeoutMs = 15_000;
/** Lines tail | kcat may hold back at the end of its input (see intoTopic). */
const kcatHeldLinesMax = 16;
/** Lines/s of the second delay run (the first is at half the peak). */
const lightRate = 500;
/** How often the delay run appends what fell due. */
const steadyTickMs = 10;

const log = (line: string): void => void process.stderr.write(`${line}\n`);

type Side = 'shipper' | 'kcat';

function cpuOf(procs: readonly BenchProcess[]): number[] {
  return procs.map((p) => {
    const s = cpuSeconds(p.pid);
    if (s === undefined) throw new Error(`${p.role} process ${p.pid} is gone`);
    return s;
  });
}

/** CPU seconds per role between two snapshots of the same processes. */
function cpuByRole(procs: readonly BenchProcess[], before: number[], after: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  procs.forEach((p, i) => {
    out[p.role] = (out[p.role] ?? 0) + after[i]! - before[i]!;
  });
  return out;
}

const per1k = (sec: number, lines: number): number => (sec * 1e6) / lines;

async function settle(procs: readonly BenchProcess[]): Promise<void> {
  const deadline = Date.now() + settleTimeoutMs;
  while (Date.now() < deadline) {
    const a = cpuOf(procs);
    await sleepFor(settleWindowMs);
    const b = cpuOf(procs);
    if (b.reduce((s, x, i) => s + x - a[i]!, 0) / (settleWindowMs / 1000) <= settleCoresMax) return;
  }
}

/** Polls `count` until it reaches `target`; throws past the deadline or when `alive` says a process died. */
async function waitCount(what: string, count: () => Promise<number>, target: number, pollMs: number, alive: () => string | undefined) {
  const deadline = Date.now() + completionGraceMs + (target * completionMsPerLine) / 2;
  let n = 0;
  for (;;) {
    n = await count();
    if (n >= target) return;
    const dead = alive();
    if (dead) throw new Error(`${dead} (${what}: ${n} of ${target})`);
    if (Date.now() > deadline) throw new Error(`${what}: only ${n} of ${target} after the deadline`);
    await sleepFor(pollMs);
  }
}

async function intoTopic(c: LogsBenchCluster, side: Side, rep: number): Promise<IntoTopicRun> {
  const topic = `bench.${side}.${rep}`;
  await c.createTopic(topic, PARTITIONS);
  const file = join(c.dir, `${side}-${rep}.log`);
  writeFileSync(file, '');
  let shipper: ServiceProcess | undefined;
  let kcat: KcatPipeline | undefined;
  let procs: BenchProcess[];
  let alive: () => string | undefined;
  // tail | kcat -P holds the newest line or two back until more input arrives (or the input ends):
  // seen as 499 of 500 and 1997 of 1999 lines. So its targets are up to kcatHeldLinesMax short;
  // against the N lines of a run that is noise (< 0.02 % at N = 100,000).
  const held = side === 'kcat' ? kcatHeldLinesMax : 0;
  if (side === 'shipper') {
    shipper = await startShipper(c, { file, topic, tag: `${side}-${rep}` });
    procs = [{ role: 'ship-logs', pid: shipper.pid! }];
    alive = () => (shipper!.alive ? undefined : `ship-logs exited:\n${shipper!.logTail()}`);
  } else {
    kcat = new KcatPipeline(c.bootstrap, topic, file, KCAT_ARGS);
    procs = kcat.processes();
    alive = () => (kcat!.alive ? undefined : `tail | kcat exited: ${kcat!.stderr}`);
  }
  try {
    const offsets = () => c.endOffsetSum(topic, PARTITIONS);
    appendLines(file, 0, WARMUP, Date.now());
    await waitCount('warm-up', offsets, WARMUP - held, offsetPollMs, alive);
    await settle(procs);
    const broker = c.processes().filter((p) => p.role === 'broker');
    const all = [...procs, ...broker];
    const chunks = buildChunks(WARMUP, LINES, Date.now());
    const cpu0 = cpuOf(all);
    const t0 = performance.now();
    appendChunks(file, chunks);
    await waitCount('lines into the topic', offsets, WARMUP + LINES - held, offsetPollMs, alive);
    const sec = (performance.now() - t0) / 1000;
    const byRole = cpuByRole(all, cpu0, cpuOf(all));
    const { broker: brokerSec = 0, ...own } = byRole;
    const ownSec = Object.values(own).reduce((a, b) => a + b, 0);
    const rssMb = procs.reduce((s, p) => s + (memory(p.pid)?.rssMb ?? Number.NaN), 0);
    const run: IntoTopicRun = {
      linesPerSec: LINES / sec,
      cpuMsPer1k: per1k(ownSec, LINES),
      cpuMsPer1kByProcess: Object.fromEntries(Object.entries(own).map(([k, v]) => [k, per1k(v, LINES)])),
      brokerCpuMsPer1k: per1k(brokerSec, LINES),
      rssMb,
    };
    log(
      `[rep ${rep}] ${side}: ${Math.round(run.linesPerSec)} lines/s into ${topic}, CPU ${run.cpuMsPer1k.toFixed(1)} ms/1000 lines ` +
        `(${Object.entries(run.cpuMsPer1kByProcess)
          .map(([k, v]) => `${k} ${v.toFixed(1)}`)
          .join(', ')}), broker ${run.brokerCpuMsPer1k.toFixed(1)}, RSS ${Math.round(rssMb)} MB`,
    );
    return run;
  } finally {
    if (shipper) await stopService(shipper);
    if (kcat) await kcat.stop();
  }
}

interface PipelineResult {
  peak: PipelinePeakRun[];
  steady: PipelineSteadyRun[];
  rssMbByRole: Record<string, number>;
}

const PIPELINE_ROLES = ['ship-logs', 'log-consumer', 'log-store'];

async function pipeline(c: LogsBenchCluster, failures: LogsBenchResult['failures']): Promise<PipelineResult> {
  const topic = 'logs.dev';
  await c.createTopic(topic, PARTITIONS);
  const services: ServiceProcess[] = [];
  const res: PipelineResult = { peak: [], steady: [], rssMbByRole: {} };
  try {
    const store = await startLogStore(c);
    services.push(store.process);
    const consumer = await startLogConsumer(c, { topic, lokiUrl: store.url });
    services.push(consumer);
    const file = join(c.dir, 'pipeline.log');
    writeFileSync(file, '');
    const shipper = await startShipper(c, { file, topic, tag: 'pipeline' });
    services.push(shipper);
    const roles: [string, ServiceProcess][] = [
      ['ship-logs', shipper],
      ['log-consumer', consumer],
      ['log-store', store.process],
    ];
    const procs: BenchProcess[] = [...roles.map(([role, s]) => ({ role, pid: s.pid! })), ...c.processes()];
    const alive = (): string | undefined => {
      const dead = roles.find(([, s]) => !s.alive);
      return dead ? `${dead[0]} exited:\n${dead[1].logTail()}` : undefined;
    };
    const entries = () => storeEntries(store.url);
    let seq = 0;
    appendLines(file, seq, WARMUP, Date.now());
    seq += WARMUP;
    await waitCount('warm-up into the store', entries, seq, storePollMs, alive);

    for (let rep = 1; rep <= REPEAT; rep++) {
      try {
        await settle(procs.filter((p) => PIPELINE_ROLES.includes(p.role)));
        const base = await entries();
        const chunks = buildChunks(seq, LINES, Date.now());
        seq += LINES;
        const cpu0 = cpuOf(procs);
        const t0 = performance.now();
        appendChunks(file, chunks);
        await waitCount('lines into the store', entries, base + LINES, storePollMs, alive);
        const sec = (performance.now() - t0) / 1000;
        const byRole = cpuByRole(procs, cpu0, cpuOf(procs));
        const run: PipelinePeakRun = {
          linesPerSec: LINES / sec,
          cpuMsPer1kByRole: Object.fromEntries(Object.entries(byRole).map(([k, v]) => [k, per1k(v, LINES)])),
          pipelineCpuMsPer1k: per1k(
            PIPELINE_ROLES.reduce((s, r) => s + (byRole[r] ?? 0), 0),
            LINES,
          ),
        };
        res.peak.push(run);
        log(
          `[rep ${rep}] end to end: ${Math.round(run.linesPerSec)} lines/s, CPU ms/1000 lines: ${Object.entries(run.cpuMsPer1kByRole)
            .map(([k, v]) => `${k} ${v.toFixed(1)}`)
            .join(', ')}`,
        );
      } catch (e) {
        failures.push({ section: `end-to-end peak rep ${rep}`, message: (e as Error).message.slice(0, 4000) });
        log(`end-to-end peak rep ${rep} FAILED: ${(e as Error).message}`);
      }
    }

    if (STEADY_SEC > 0) {
      const peakRate = median(res.peak.map((r) => r.linesPerSec));
      const half = Number.isFinite(peakRate) ? Math.max(100, Math.round(peakRate / 2)) : 1000;
      // Half the peak, and a light load where batches fill slowly (batch waits show there).
      const rates = STEADY_RATE > 0 ? [STEADY_RATE] : [half, lightRate];
      for (const rate of rates) {
        try {
          await settle(procs.filter((p) => PIPELINE_ROLES.includes(p.role)));
          res.steady.push(await steady(file, seq, rate, store.url, procs, alive));
          seq += rate * STEADY_SEC + rate;
        } catch (e) {
          failures.push({ section: `end-to-end delay at ${rate} lines/s`, message: (e as Error).message.slice(0, 4000) });
          log(`end-to-end delay FAILED: ${(e as Error).message}`);
        }
      }
    }
    for (const p of procs) res.rssMbByRole[p.role] = (res.rssMbByRole[p.role] ?? 0) + (memory(p.pid)?.rssMb ?? Number.NaN);
    log(
      `end-to-end RSS: ${Object.entries(res.rssMbByRole)
        .map(([k, v]) => `${k} ${Math.round(v)} MB`)
        .join(', ')}`,
    );
    return res;
  } finally {
    for (const s of services.reverse()) await stopService(s);
  }
}

async function steady(
  file: string,
  firstSeq: number,
  rate: number,
  storeUrl: string,
  procs: readonly BenchProcess[],
  alive: () => string | undefined,
): Promise<PipelineSteadyRun> {
  const tail = await TailDelays.open(storeUrl);
  try {
    const cpu0 = cpuOf(procs);
    const t0 = Date.now();
    let written = 0;
    for (;;) {
      const now = Date.now();
      if (now - t0 >= STEADY_SEC * 1000) break;
      const due = Math.floor((rate * (now - t0)) / 1000) - written;
      if (due > 0) {
        appendLines(file, firstSeq + written, due, now);
        written += due;
      }
      await sleepFor(steadyTickMs);
    }
    const deadline = Date.now() + completionGraceMs;
    while (tail.delaysMs.length + tail.dropped < written && Date.now() < deadline && !alive() && !tail.failure) await sleepFor(storePollMs);
    const byRole = cpuByRole(procs, cpu0, cpuOf(procs));
    const d = tail.delaysMs;
    const run: PipelineSteadyRun = {
      rate,
      seconds: STEADY_SEC,
      expected: written,
      received: d.length,
      dropped: tail.dropped,
      p50Ms: percentile(d, 50),
      p99Ms: percentile(d, 99),
      // A loop, not Math.max(...d): spreading 130,000 delays overflows the call stack.
      maxMs: d.length ? d.reduce((m, x) => Math.max(m, x), d[0]!) : Number.NaN,
      pipelineCpuMsPer1k: per1k(
        PIPELINE_ROLES.reduce((s, r) => s + (byRole[r] ?? 0), 0),
        Math.max(1, written),
      ),
      cpuMsPer1kByRole: Object.fromEntries(Object.entries(byRole).map(([k, v]) => [k, per1k(v, Math.max(1, written))])),
    };
    log(
      `end to end at ${rate} lines/s for ${STEADY_SEC} s: received ${d.length} of ${written} (dropped ${tail.dropped}), ` +
        `delay p50 ${run.p50Ms.toFixed(1)} p99 ${run.p99Ms.toFixed(1)} max ${run.maxMs.toFixed(0)} ms, CPU ms/1000 lines: ` +
        Object.entries(run.cpuMsPer1kByRole ?? {})
          .map(([k, v]) => `${k} ${v.toFixed(1)}`)
          .join(', ') +
        (tail.failure ? `; tail error ${tail.failure.message}` : ''),
    );
    const dead = alive();
    if (dead) throw new Error(dead);
    return run;
  } finally {
    tail.close();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const res: LogsBenchResult = {
    date: new Date().toISOString(),
    durationSec: 0,
    quick: QUICK,
    machine: {
      cores: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memGb: totalmem() / 2 ** 30,
      kernel: release(),
      node: process.version,
      loadAvgStart: loadavg(),
      loadAvgEnd: [],
    },
    config: {
      repeat: REPEAT,
      lines: LINES,
      warmupLines: WARMUP,
      partitions: PARTITIONS,
      lineBytes: Buffer.byteLength(logLine(LINES, Date.now())),
      steadySec: STEADY_SEC,
      steadyRate: STEADY_RATE,
      kcat: kcatVersion(),
      kcatArgs: KCAT_ARGS,
    },
    intoTopic: { shipper: [], kcat: [] },
    pipeline: { peak: [], steady: [], rssMbByRole: {} },
    targets: [],
    failures: [],
  };
  const cluster = await LogsBenchCluster.start();
  log(`broker at ${cluster.bootstrap}; files in ${cluster.dir}`);
  try {
    for (let rep = 1; rep <= REPEAT; rep++) {
      const order: Side[] = rep % 2 === 1 ? ['shipper', 'kcat'] : ['kcat', 'shipper'];
      for (const side of order) {
        try {
          res.intoTopic[side].push(await intoTopic(cluster, side, rep));
        } catch (e) {
          res.failures.push({ section: `into the topic: ${side} rep ${rep}`, message: (e as Error).message.slice(0, 4000) });
          log(`[rep ${rep}] ${side} FAILED: ${(e as Error).message}`);
        }
      }
    }
    try {
      res.pipeline = await pipeline(cluster, res.failures);
    } catch (e) {
      res.failures.push({ section: 'end to end', message: (e as Error).message.slice(0, 4000) });
      log(`end to end FAILED: ${(e as Error).message}`);
    }
  } finally {
    await cluster.close();
  }
  res.machine.loadAvgEnd = loadavg();
  res.targets = evaluateTargets(res);
  res.durationSec = (Date.now() - started) / 1000;
  writeBenchReport(OUT_DIR, 'logs-bench', res, renderReport(res), log);
  if (res.failures.length > 0) process.exitCode = 1;
}

runBenchMain(main);
