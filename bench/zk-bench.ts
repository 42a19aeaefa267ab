// Side-by-side benchmark of ClusterGenie and Apache ZooKeeper 3.8 (Debian jars, java 17) on this
// machine (issue 5): standalone and 3-node ensembles, forceSync=yes, data dirs in the OS temp dir,
// both driven by the same load generator (bench/lib/zkload.ts). Per topology and workload: ops/s,
// p50/p99/p99.9 latency, server CPU per op (/proc), peak RSS per server during the run and the
// znodes after it, the loadgen's own CPU, and the ratios ours/Apache; the peak RSS over each whole
// repetition; then 3-node cold start, leader failover and memory with many znodes.
// Writes <BENCH_OUT_DIR>/zk-bench.json and zk-bench.md (bench/lib/report.ts renders the tables).
//
//   npm run bench:zk                    (builds first; or node dist/bench/zk-bench.js)
//   BENCH_REPEAT=3                      repetitions (fresh ensembles each), medians with min–max
//   BENCH_DURATION_MS=5000              measured part of each run
//   BENCH_WARMUP_MS=1000                loadgen warm-up inside each measured run (not counted)
//   BENCH_PREWARM_MS=<BENCH_WARMUP_MS>  a discarded run of each workload on a fresh ensemble first
//   BENCH_SESSIONS=8 BENCH_DEPTH=32     sessions × outstanding requests; BENCH_WORKERS=2 loadgen processes
//   BENCH_WATCH_SESSIONS=64 BENCH_WATCH_DEPTH=4   the same for the watch workload
//   BENCH_VALUE_BYTES=100
//   BENCH_DELETE_OPS                    znodes each session deletes in the delete workload (default:
//                                       as many as the create rate of the same run allows in the duration)
//   BENCH_WORKLOADS=create,setData,getData,delete,mixed,multi,watch
//   BENCH_TOPOLOGIES=standalone,3-node  (none: only cold start, failover and memory)
//   BENCH_COLDSTART_REPEAT=<BENCH_REPEAT>  0 skips the cold start
//   BENCH_FAILOVER_REPEAT=3             leader kills per implementation; 0 skips failover
//   BENCH_MEMORY_ZNODES=1000000         0 skips the memory test; BENCH_MEMORY_TOPOLOGY=standalone|3-node
//   BENCH_APACHE=0                      ours only; BENCH_APACHE_JVM=stock|test (bench/lib/servers.ts)
//   BENCH_TICK_MS=2000                  tickTime (initLimit 10, syncLimit 5)
//   BENCH_QUICK=1                       smoke run: 1 repetition, 1 s runs, 20k-znode memory test, 1 failover
//   BENCH_OUT_DIR=bench/results
//
// Fairness: every server is spawned the same way from this process (ProcessEnsemble), with the
// same zoo.cfg keys; every implementation is pre-warmed on each fresh ensemble; within a
// repetition ours runs first and Apache second, swapped on even repetitions. The exit code is 1
// if a run failed (the reports are written anyway); load generator errors flag their rows.
//
// Order and RSS: on each fresh ensemble the small-data workloads (SMALL_DATA_WORKLOADS in
// bench/lib/results.ts: getData, setData, mixed, multi, watch; they work on a few znodes per
// session) are pre-warmed and measured first, then create and delete (pre-warm, measure), in
// BENCH_WORKLOADS order within each group (runOrder). create leaves its ~100k znodes and delete
// pre-creates as many, so running them first would put those trees in memory during getData & co.
// (deleting them afterwards would not help: the heap the tree took stays mapped). Before each
// measured run the servers' VmHWM is reset (write "5" to /proc/<pid>/clear_refs, works for node
// and the JVM alike) and read after it: peak RSS per member per workload, plus mntr
// zk_znode_count. The RSS target "≤ 100 MB at small data" is the largest small-data figure
// (biggest member, median over repetitions) on the 3-node ensemble. If clear_refs is not
// writable the figures are cumulative since server start and the report says so; the order still
// keeps the create/delete trees out of the small-data figure. The peak over the whole repetition
// (with those trees) is kept as its own table.

import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { APACHE_JAVA } from '../test/helpers/apacheZk.js';
import { measureColdStart, type ColdStartResult } from './lib/coldstart.js';
import { FAILOVER_NOTE, measureFailover } from './lib/failover.js';
import { measureMemory, znodeCount } from './lib/memory.js';
import { clockTicks, CpuMeter, memory, PeakRss } from './lib/procstat.js';
import { renderMarkdown } from './lib/report.js';
import {
  evaluateTargets,
  runOrder,
  smallDataPeak,
  type BenchResult,
  type ImplTopologyResult,
  type Topology,
  type TopologyResult,
  type WorkloadSample,
  type WorkloadStats,
} from './lib/results.js';
import {
  APACHE_JAR,
  IMPLS,
  apacheInstalled,
  apacheJvmFlags,
  apacheJvmMode,
  clusterConfig,
  configKeys,
  label,
  serverPids,
  startServers,
  type Impl,
} from './lib/servers.js';
import { addCounts, median, ratio, summarize } from './lib/stats.js';
import { ensureLoadgen, runLoad, WORKLOADS as ALL_WORKLOADS, type LoadOptions, type ZkWorkload } from './lib/zkload.js';
const QUICK = process.env['BENCH_QUICK'] === '1';

function num(key: string, dflt: number): number {
  const v = process.env[key];
  if (v === undefined || v === '') return dflt;
  const n = Number(v.replaceAll('_', ''));
  if (!Number.isFinite(n) || n < 0) throw new Error(`${key} must be a non-negative number, got "${v}"`);
  return n;
}

function list<T extends string>(key: string, all: readonly T[], alias: Record<string, T> = {}): T[] {
  const v = process.env[key];
  if (!v) return [...all];
  if (v === 'none') return [];
  return v.split(',').map((s) => {
    const x = (alias[s.trim()] ?? s.trim()) as T;
    if (!all.includes(x)) throw new Error(`${key}: unknown "${s}" (one of ${all.join(', ')})`);
    return x;
  });
}

const TOPO_ALIAS: Record<string, Topology> = { '1': 'standalone', '3': '3-node', ensemble: '3-node' };
const REPEAT = Math.max(1, num('BENCH_REPEAT', QUICK ? 1 : 3));
const DURATION_MS = num('BENCH_DURATION_MS', QUICK ? 1000 : 5000);
const WARMUP_MS = num('BENCH_WARMUP_MS', QUICK ? 300 : 1000);
const PREWARM_MS = num('BENCH_PREWARM_MS', WARMUP_MS);
const SESSIONS = num('BENCH_SESSIONS', 8);
const DEPTH = num('BENCH_DEPTH', 32);
const WORKERS = num('BENCH_WORKERS', 2);
const WATCH_SESSIONS = num('BENCH_WATCH_SESSIONS', 64);
const WATCH_DEPTH = num('BENCH_WATCH_DEPTH', 4);
const VALUE_BYTES = num('BENCH_VALUE_BYTES', 100);
const DELETE_OPS = process.env['BENCH_DELETE_OPS'] ? num('BENCH_DELETE_OPS', 0) : undefined;
const WORKLOADS = list('BENCH_WORKLOADS', ALL_WORKLOADS);
if (WORKLOADS.length === 0) throw new Error('BENCH_WORKLOADS is empty');
const TOPOLOGIES = list<Topology>('BENCH_TOPOLOGIES', ['standalone', '3-node'], TOPO_ALIAS);
const COLDSTART_REPEAT = num('BENCH_COLDSTART_REPEAT', REPEAT);
const FAILOVER_REPEAT = num('BENCH_FAILOVER_REPEAT', QUICK ? 1 : 3);
const MEMORY_ZNODES = num('BENCH_MEMORY_ZNODES', QUICK ? 20_000 : 1_000_000);
const MEMORY_TOPOLOGY = list<Topology>('BENCH_MEMORY_TOPOLOGY', ['standalone', '3-node'], TOPO_ALIAS)[0] ?? 'standalone';
const OUT_DIR = process.env['BENCH_OUT_DIR'] ?? 'bench/results';
const MEMBERS: Record<Topology, number> = { standalone: 1, '3-node': 3 };

const log = (line: string): void => void process.stderr.write(`${line}\n`);

function apacheStatus(): { included: boolean; note?: string } {
  if (process.env['BENCH_APACHE'] === '0') return { included: false, note: 'skipped (BENCH_APACHE=0)' };
  if (!apacheInstalled())
    return { included: false, note: `skipped: ${APACHE_JAR} is missing (install Debian's zookeeper package, as .ci/run does)` };
  return { included: true };
}

/** Ours first on odd repetitions, Apache first on even ones. */
function order(rep: number, impls: readonly Impl[]): Impl[] {
  return rep % 2 === 1 ? [...impls] : [...impls].reverse();
}

function shape(w: ZkWorkload): Pick<LoadOptions, 'sessions' | 'depth' | 'workers' | 'valueBytes'> {
  return w === 'watch'
    ? { sessions: WATCH_SESSIONS, depth: WATCH_DEPTH, workers: WORKERS, valueBytes: VALUE_BYTES }
    : { sessions: SESSIONS, depth: DEPTH, workers: WORKERS, valueBytes: VALUE_BYTES };
}

/**
 * Znodes per session for the delete workload (it has no warm-up: the loadgen measures from the
 * first delete to the last): as many as the create rate of the same run deletes in `ms`.
 */
function deleteOps(createRate: number | undefined, ms: number): number {
  if (DELETE_OPS !== undefined) return DELETE_OPS;
  const rate = createRate && createRate > 0 ? createRate : 5000;
  return Math.max(100, Math.ceil((rate * ms) / 1000 / SESSIONS));
}

let runSeq = 0;
/** The first clear_refs failure (then every per-workload peak is cumulative since server start). */
let peakResetError: string | undefined;

/** What a run needs from the ensemble it runs on. */
interface Target {
  hosts: string[];
  pids: number[];
  peak: PeakRss;
  /** Client port of the first member (mntr zk_znode_count). */
  port: number;
}

/**
 * One measured (or, with `prewarm`, discarded) run of a workload; server CPU read at the loadgen's
 * measurement edges; peak RSS reset just before a measured run and read just after it, then the
 * znode count.
 */
async function runWorkload(
  t: Target,
  w: ZkWorkload,
  rep: number,
  createRate: number | undefined,
  prewarm: boolean,
): Promise<WorkloadSample> {
  const meter = new CpuMeter(t.pids);
  if (!prewarm) {
    t.peak.reset();
    if (!t.peak.resetWorks && peakResetError === undefined) {
      peakResetError = t.peak.resetError;
      log(`NOTE: cannot reset peak RSS (${peakResetError}); per-workload RSS is the cumulative peak since server start`);
    }
  }
  const r = await runLoad({
    hosts: t.hosts,
    workload: w,
    ...shape(w),
    warmupMs: prewarm ? 0 : WARMUP_MS,
    durationMs: prewarm ? PREWARM_MS : DURATION_MS,
    ...(w === 'delete' ? { deleteOpsPerSession: deleteOps(createRate, prewarm ? PREWARM_MS : DURATION_MS) } : {}),
    root: `/bench-${prewarm ? 'warm' : 'run'}-${w}-${++runSeq}`,
    // A pre-warm run is discarded: no /proc reads for it.
    ...(prewarm ? {} : { onMeasureStart: () => meter.start(), onMeasureEnd: () => meter.end() }),
  });
  const peakRssMb = prewarm ? [] : t.peak.read();
  const znodesAtEnd = prewarm ? NaN : await znodeCount(t.port).catch(() => NaN);
  const cpu = meter.seconds;
  if (!prewarm && !Number.isFinite(cpu)) throw new Error(`the load generator did not call onMeasureStart/onMeasureEnd for ${w}`);
  return {
    ...r,
    rep,
    serverCpuSec: cpu,
    serverCpuUsPerOp: (cpu / r.ops) * 1e6,
    loadgenCpuUsPerOp: (r.loadgenCpuSec / r.ops) * 1e6,
    peakRssMb,
    peakRssReset: t.peak.resetWorks,
    znodesAtEnd,
  };
}

interface ImplRun {
  samples: Partial<Record<ZkWorkload, WorkloadSample>>;
  hwmMb: number[];
  rssMb: number[];
  znodes: number;
}

/**
 * A fresh ensemble of one implementation. The workloads run in two groups (runOrder): first the
 * small-data ones (pre-warm each, then measure each), then create and delete (pre-warm, then
 * measure), so that no tree left by create (pre-warm or measured) is in memory while the
 * small-data workloads run.
 */
async function runImpl(topology: Topology, impl: Impl, rep: number): Promise<ImplRun> {
  const ens = await startServers(impl, MEMBERS[topology]);
  try {
    const pids = serverPids(ens);
    const t: Target = { hosts: ens.hosts(), pids, peak: new PeakRss(pids), port: ens.member(ens.ids[0]!).clientPort };
    let createRate: number | undefined;
    const samples: ImplRun['samples'] = {};
    for (const group of runOrder(WORKLOADS)) {
      for (const w of group) await runWorkload(t, w, rep, undefined, true);
      for (const w of group) {
        const s = await runWorkload(t, w, rep, createRate, false);
        if (w === 'create') createRate = s.opsPerSec;
        samples[w] = s;
        log(
          `[${topology} rep ${rep}] ${label(impl)} ${w}: ${Math.round(s.opsPerSec)} ops/s, p99 ${(s.latencyUs.p99 / 1000).toFixed(2)} ms, ` +
            `server CPU ${s.serverCpuUsPerOp.toFixed(1)} µs/op, loadgen ${s.loadgenCpuUsPerOp.toFixed(1)} µs/op, ` +
            `peak RSS ${s.peakRssMb.map((x) => Math.round(x)).join('/')} MB, ${s.znodesAtEnd} znodes${s.errors ? `, ${s.errors} ERRORS ${JSON.stringify(s.errorCodes)}` : ''}`,
        );
      }
    }
    t.peak.read();
    const mem = pids.map((p) => memory(p));
    if (ens.unexpectedExits.length) throw new Error(`members exited unexpectedly: ${JSON.stringify(ens.unexpectedExits)}`);
    const znodes = await znodeCount(t.port).catch(() => NaN);
    return { samples, hwmMb: t.peak.lifetimePeak(), rssMb: mem.map((m) => m?.rssMb ?? NaN), znodes };
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${ens.logs(3000)}`);
  } finally {
    await ens.close();
  }
}

function aggregate(samples: WorkloadSample[]): WorkloadStats {
  const errorCodes: Record<string, number> = {};
  for (const s of samples) addCounts(errorCodes, s.errorCodes);
  const errors = samples.reduce((a, s) => a + s.errors, 0);
  return {
    opsPerSec: summarize(samples.map((s) => s.opsPerSec)),
    p50Ms: summarize(samples.map((s) => s.latencyUs.p50 / 1000)),
    p99Ms: summarize(samples.map((s) => s.latencyUs.p99 / 1000)),
    p999Ms: summarize(samples.map((s) => s.latencyUs.p999 / 1000)),
    serverCpuUsPerOp: summarize(samples.map((s) => s.serverCpuUsPerOp)),
    loadgenCpuUsPerOp: summarize(samples.map((s) => s.loadgenCpuUsPerOp)),
    peakRssMb: summarize(samples.map((s) => Math.max(...s.peakRssMb))),
    peakRssPerMemberMb: (samples[0]?.peakRssMb ?? []).map((_, i) => median(samples.map((s) => s.peakRssMb[i] ?? NaN))),
    znodesAtEnd: summarize(samples.map((s) => s.znodesAtEnd)),
    errors,
    errorCodes,
    flagged: errors > 0,
    samples,
  };
}

async function throughput(topology: Topology, impls: readonly Impl[], res: BenchResult): Promise<TopologyResult> {
  const runs = new Map<Impl, { rep: number; run: ImplRun }[]>(impls.map((i) => [i, []]));
  for (let rep = 1; rep <= REPEAT; rep++) {
    for (const impl of order(rep, impls)) {
      try {
        runs.get(impl)!.push({ rep, run: await runImpl(topology, impl, rep) });
      } catch (e) {
        log(`[${topology} rep ${rep}] ${label(impl)} FAILED: ${(e as Error).message}`);
        res.failures.push({ section: `throughput ${topology}`, impl, rep, message: (e as Error).message });
      }
    }
  }
  const t: TopologyResult = { topology, members: MEMBERS[topology], impls: {}, ratios: {} };
  for (const impl of impls) {
    const rs = runs.get(impl)!;
    if (rs.length === 0) continue;
    const r: ImplTopologyResult = {
      workloads: {},
      peakRssMb: summarize(rs.map((x) => Math.max(...x.run.hwmMb))),
      rssPerRep: rs.map((x) => ({ rep: x.rep, hwmMb: x.run.hwmMb, rssMb: x.run.rssMb, znodes: x.run.znodes })),
      smallDataPeakRssMb: NaN,
    };
    for (const w of WORKLOADS) {
      const ss = rs.map((x) => x.run.samples[w]).filter((s): s is WorkloadSample => s !== undefined);
      if (ss.length) r.workloads[w] = aggregate(ss);
    }
    const small = smallDataPeak(r.workloads);
    r.smallDataPeakRssMb = small.mb;
    if (small.workload) r.smallDataPeakWorkload = small.workload;
    t.impls[impl] = r;
  }
  for (const w of WORKLOADS) {
    const o = t.impls.clustergenie?.workloads[w];
    const a = t.impls.apache?.workloads[w];
    if (o && a) {
      t.ratios[w] = {
        opsPerSec: ratio(o.opsPerSec.median, a.opsPerSec.median),
        cpuPerOp: ratio(o.serverCpuUsPerOp.median, a.serverCpuUsPerOp.median),
        p99: ratio(o.p99Ms.median, a.p99Ms.median),
      };
    }
  }
  return t;
}

async function coldStarts(impls: readonly Impl[], res: BenchResult): Promise<NonNullable<BenchResult['coldStart']>> {
  const runs = new Map<Impl, ColdStartResult[]>(impls.map((i) => [i, []]));
  for (let rep = 1; rep <= COLDSTART_REPEAT; rep++) {
    for (const impl of order(rep, impls)) {
      try {
        const r = await measureColdStart(impl);
        runs.get(impl)!.push(r);
        log(`[cold start rep ${rep}] ${label(impl)}: ${r.ms} ms (member ${r.member} first, ${r.attempts} probes)`);
      } catch (e) {
        res.failures.push({ section: 'cold start', impl, rep, message: (e as Error).message });
      }
    }
  }
  const results: NonNullable<BenchResult['coldStart']>['results'] = {};
  for (const [impl, rs] of runs) if (rs.length) results[impl] = { ms: summarize(rs.map((r) => r.ms)), runs: rs };
  return { repeat: COLDSTART_REPEAT, results };
}

async function failovers(impls: readonly Impl[], res: BenchResult): Promise<NonNullable<BenchResult['failover']>> {
  const tickTimeMs = clusterConfig().tickTimeMs;
  const out: NonNullable<BenchResult['failover']> = { repeat: FAILOVER_REPEAT, tickTimeMs, note: FAILOVER_NOTE, results: {} };
  for (const impl of impls) {
    try {
      out.results[impl] = await measureFailover(impl, { repeat: FAILOVER_REPEAT, log });
    } catch (e) {
      res.failures.push({ section: 'failover', impl, message: (e as Error).message });
    }
  }
  return out;
}

async function memoryTest(impls: readonly Impl[], res: BenchResult): Promise<NonNullable<BenchResult['memory']>> {
  const why =
    MEMORY_TOPOLOGY === 'standalone'
      ? 'Standalone: every member of an ensemble holds the whole tree, so one server shows the per-server cost; filling ' +
        'a 3-node ensemble takes longer (quorum round trips, three fsyncing logs) and puts three servers of the same ' +
        'kind on this machine at once. BENCH_MEMORY_TOPOLOGY=3-node runs it on an ensemble.'
      : '3-node ensemble (BENCH_MEMORY_TOPOLOGY=3-node): every member holds the whole tree; values per member.';
  const out: NonNullable<BenchResult['memory']> = { topology: MEMORY_TOPOLOGY, why, znodes: MEMORY_ZNODES, results: {} };
  for (const impl of impls) {
    try {
      const r = await measureMemory(impl, {
        znodes: MEMORY_ZNODES,
        size: MEMBERS[MEMORY_TOPOLOGY],
        sessions: SESSIONS,
        depth: DEPTH,
        workers: WORKERS,
        valueBytes: VALUE_BYTES,
        log,
      });
      out.results[impl] = r;
      log(`[memory] ${label(impl)}: ${JSON.stringify(r.servers)}`);
    } catch (e) {
      res.failures.push({ section: 'memory', impl, message: (e as Error).message });
    }
  }
  return out;
}

function javaVersion(): string {
  const r = spawnSync(APACHE_JAVA, ['-version'], { encoding: 'utf8' });
  return (r.stderr || r.stdout || '').split('\n')[0]?.trim() || 'java: not found';
}

async function main(): Promise<void> {
  const started = Date.now();
  const apache = apacheStatus();
  if (!apache.included) log(`NOTE: Apache ZooKeeper ${apache.note}; measuring ClusterGenie only`);
  const impls: Impl[] = IMPLS.filter((i) => i === 'clustergenie' || apache.included);
  await ensureLoadgen();
  const res: BenchResult = {
    date: new Date().toISOString(),
    durationSec: 0,
    machine: {
      cores: cpus().length,
      cpuModel: cpus()[0]?.model ?? '?',
      kernel: release(),
      node: process.version,
      java: javaVersion(),
      clockTicks: clockTicks(),
      memGb: totalmem() / 2 ** 30,
      loadAvgStart: loadavg(),
      loadAvgEnd: [],
    },
    config: {
      zooCfg: configKeys(),
      apacheJvm: apacheJvmMode(),
      apacheJvmArgs: apacheJvmFlags(),
      note: 'ours: node with default flags; ours also gets extendedTypesEnabled=true in zoo.cfg (Apache takes it as a -D flag and runs without it); 1 member = standalone for both',
    },
    load: {
      sessions: SESSIONS,
      depth: DEPTH,
      workers: WORKERS,
      valueBytes: VALUE_BYTES,
      watchSessions: WATCH_SESSIONS,
      watchDepth: WATCH_DEPTH,
      durationMs: DURATION_MS,
      warmupMs: WARMUP_MS,
      prewarmMs: PREWARM_MS,
      deleteOpsPerSession:
        DELETE_OPS !== undefined
          ? `${DELETE_OPS} per session`
          : 'per session: create rate of the same run × duration / sessions (the loadgen pre-creates them; no warm-up)',
    },
    repeat: REPEAT,
    quick: QUICK,
    apache,
    workloads: WORKLOADS,
    runOrder: runOrder(WORKLOADS).flat(),
    peakRssReset: { works: true },
    topologies: [],
    failures: [],
    targets: [],
  };
  for (const t of TOPOLOGIES) res.topologies.push(await throughput(t, impls, res));
  if (COLDSTART_REPEAT > 0) res.coldStart = await coldStarts(impls, res);
  if (FAILOVER_REPEAT > 0) res.failover = await failovers(impls, res);
  if (MEMORY_ZNODES > 0) res.memory = await memoryTest(impls, res);
  if (peakResetError !== undefined) {
    res.peakRssReset = {
      works: false,
      note:
        `cannot reset peak RSS (${peakResetError}): each per-workload figure is the cumulative peak since the server started. ` +
        'The small-data workloads run before create and delete, so the small-data figure still excludes their trees, but it ' +
        'includes start-up, the pre-warm runs and the small-data workloads run before it.',
    };
  }
  res.durationSec = (Date.now() - started) / 1000;
  res.machine.loadAvgEnd = loadavg();
  res.targets = evaluateTargets(res);
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(join(OUT_DIR, 'zk-bench.json'), `${JSON.stringify(res, null, 2)}\n`);
  const md = renderMarkdown(res);
  writeFileSync(join(OUT_DIR, 'zk-bench.md'), md);
  process.stdout.write(md);
  log(`wrote ${join(OUT_DIR, 'zk-bench.json')} and ${join(OUT_DIR, 'zk-bench.md')} in ${Math.round(res.durationSec)} s`);
  if (res.failures.length) {
    log(`${res.failures.length} run(s) failed: see the reports`);
    process.exitCode = 1;
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
