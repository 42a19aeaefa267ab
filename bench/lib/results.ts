// The shape of bench/results/zk-bench.json and the targets checked against it.

import type { ColdStartResult } from './coldstart.js';
import type { FailoverResult } from './failover.js';
import type { MemoryResult } from './memory.js';
import type { Impl } from './servers.js';
import { ratio, type Summary } from './stats.js';
import type { LoadResult, ZkWorkload } from './zkload.js';

export type Topology = 'standalone' | '3-node';

/** One measured run of one workload against one implementation. */
export interface WorkloadSample extends LoadResult {
  rep: number;
  /** utime + stime of every server process during the measurement, seconds. */
  serverCpuSec: number;
  serverCpuUsPerOp: number;
  loadgenCpuUsPerOp: number;
  /**
   * Peak RSS (VmHWM, MB) of every member during this run (loadgen set-up, warm-up and measured
   * window): reset just before the run (/proc/<pid>/clear_refs), read just after it.
   */
  peakRssMb: number[];
  /** false: clear_refs was not writable, so peakRssMb is the cumulative peak since each server started. */
  peakRssReset: boolean;
  /** mntr zk_znode_count of the first member just after the run. */
  znodesAtEnd: number;
}

export interface WorkloadStats {
  opsPerSec: Summary;
  p50Ms: Summary;
  p99Ms: Summary;
  p999Ms: Summary;
  serverCpuUsPerOp: Summary;
  loadgenCpuUsPerOp: Summary;
  /** Peak RSS during the run of the biggest member, MB, over the repetitions. */
  peakRssMb: Summary;
  /** Median over the repetitions of each member's peak RSS during the run, MB (member order). */
  peakRssPerMemberMb: number[];
  /** zk_znode_count just after the run, over the repetitions. */
  znodesAtEnd: Summary;
  /** Total errors over the repetitions; any error flags the row. */
  errors: number;
  errorCodes: Record<string, number>;
  flagged: boolean;
  samples: WorkloadSample[];
}

export interface ImplTopologyResult {
  workloads: Partial<Record<ZkWorkload, WorkloadStats>>;
  /**
   * Peak RSS over the whole repetition (server start to the end of the last workload, so with the
   * create and delete workloads' trees) of the biggest member, per repetition, MB.
   */
  peakRssMb: Summary;
  /** Per repetition: peak RSS over the repetition and VmRSS at its end of every member (MB), and the znodes in the tree then. */
  rssPerRep: { rep: number; hwmMb: number[]; rssMb: number[]; znodes: number }[];
  /**
   * RSS at small data: the largest per-workload peak (biggest member, median over repetitions) of
   * the SMALL_DATA_WORKLOADS measured, MB (NaN if none was measured), and which workload it was.
   */
  smallDataPeakRssMb: number;
  smallDataPeakWorkload?: ZkWorkload;
}

export interface Ratios {
  /** ours / Apache of the medians. */
  opsPerSec: number;
  cpuPerOp: number;
  p99: number;
}

export interface TopologyResult {
  topology: Topology;
  members: number;
  impls: Partial<Record<Impl, ImplTopologyResult>>;
  ratios: Partial<Record<ZkWorkload, Ratios>>;
}

export interface Failure {
  section: string;
  impl: Impl;
  rep?: number;
  message: string;
}

export interface TargetCheck {
  what: string;
  target: string;
  value: string;
  pass: boolean | undefined;
}

export interface BenchResult {
  date: string;
  durationSec: number;
  machine: {
    cores: number;
    cpuModel: string;
    kernel: string;
    node: string;
    java: string;
    clockTicks: number;
    memGb: number;
    loadAvgStart: number[];
    loadAvgEnd: number[];
  };
  config: { zooCfg: Record<string, string>; apacheJvm: string; apacheJvmArgs: string[]; note: string };
  load: {
    sessions: number;
    depth: number;
    workers: number;
    valueBytes: number;
    watchSessions: number;
    watchDepth: number;
    durationMs: number;
    warmupMs: number;
    prewarmMs: number;
    deleteOpsPerSession: string;
  };
  repeat: number;
  quick: boolean;
  apache: { included: boolean; note?: string };
  workloads: ZkWorkload[];
  /** The order the workloads run in within a repetition (pre-warm and measurement), see runOrder(). */
  runOrder: ZkWorkload[];
  /** Whether the per-workload peak RSS could be reset (clear_refs); if not, why and what the figures mean then. */
  peakRssReset: { works: boolean; note?: string };
  topologies: TopologyResult[];
  coldStart?: { repeat: number; results: Partial<Record<Impl, { ms: Summary; runs: ColdStartResult[] }>> };
  failover?: { repeat: number; tickTimeMs: number; note: string; results: Partial<Record<Impl, FailoverResult>> };
  memory?: { topology: Topology; why: string; znodes: number; results: Partial<Record<Impl, MemoryResult>> };
  failures: Failure[];
  targets: TargetCheck[];
}

/**
 * The small-data workloads: they do not grow the tree. Each session works on a handful of its own
 * znodes (n0..n4 under the run's root; watch: the writer's five), so the tree stays at a few
 * hundred znodes however long they run. Not in the set: create (leaves every znode it makes,
 * ~100k in a 5 s run) and delete (pre-creates the whole set it then deletes). The RSS target
 * "≤ 100 MB at small data" is the peak RSS over these (smallDataPeak), and runOrder() runs them
 * before create and delete in every repetition so that those trees are not in memory yet.
 */
export const SMALL_DATA_WORKLOADS: readonly ZkWorkload[] = ['getData', 'setData', 'mixed', 'multi', 'watch'];

export function isSmallData(w: ZkWorkload): boolean {
  return SMALL_DATA_WORKLOADS.includes(w);
}

/**
 * The order within a repetition, on a fresh ensemble: the small-data workloads first (pre-warm
 * each, then measure each), then the tree-growing ones (pre-warm, then measure), each group in
 * the order given. Both implementations get the same order.
 */
export function runOrder(workloads: readonly ZkWorkload[]): ZkWorkload[][] {
  return [workloads.filter(isSmallData), workloads.filter((w) => !isSmallData(w))].filter((g) => g.length > 0);
}

/** The largest median peak RSS (biggest member) over the small-data workloads measured. */
export function smallDataPeak(workloads: ImplTopologyResult['workloads']): { mb: number; workload?: ZkWorkload } {
  let best: { mb: number; workload?: ZkWorkload } = { mb: NaN };
  for (const w of SMALL_DATA_WORKLOADS) {
    const mb = workloads[w]?.peakRssMb.median ?? NaN;
    if (Number.isFinite(mb) && !(mb <= best.mb)) best = { mb, workload: w };
  }
  return best;
}

const THROUGHPUT_TARGETS: Partial<Record<ZkWorkload, number>> = { create: 1.5, setData: 1.5, delete: 1.5, getData: 1.2, mixed: 1.2 };

export const TARGETS_NOTE =
  '3-node: create/setData/delete ≥1.5× Apache ops/s and ≤0.5× CPU/op; getData/mixed ≥1.2× and ≤0.5×; p99 ≤ Apache; ' +
  `peak RSS ≤100 MB per server at small data (the largest of ${SMALL_DATA_WORKLOADS.join('/')}, biggest member); cold start ≤0.5 s; failover ≤250 ms; memory at 1M znodes: our RSS ≤ Apache heap used after GC`;

/** Pass/fail of one workload row against the targets (undefined: no target or no data). */
export function workloadTarget(w: ZkWorkload, r: Ratios | undefined): { pass: boolean | undefined; text: string } {
  if (!r) return { pass: undefined, text: '' };
  const parts: string[] = [];
  let pass = true;
  const min = THROUGHPUT_TARGETS[w];
  if (min !== undefined) {
    const okOps = r.opsPerSec >= min;
    const okCpu = r.cpuPerOp <= 0.5;
    parts.push(`ops ≥${min}× ${okOps ? '✓' : '✗'}`, `CPU ≤0.5× ${okCpu ? '✓' : '✗'}`);
    pass &&= okOps && okCpu;
  }
  const okP99 = r.p99 <= 1;
  parts.push(`p99 ≤1× ${okP99 ? '✓' : '✗'}`);
  pass &&= okP99;
  if (![r.opsPerSec, r.cpuPerOp, r.p99].every(Number.isFinite)) return { pass: undefined, text: 'no data' };
  return { pass, text: `${pass ? 'PASS' : 'FAIL'} (${parts.join(', ')})` };
}

/** Every target of the issue, evaluated on the medians. */
export function evaluateTargets(res: BenchResult): TargetCheck[] {
  const out: TargetCheck[] = [];
  const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
  const three = res.topologies.find((t) => t.topology === '3-node');
  if (three) {
    for (const w of res.workloads) {
      const r = three.ratios[w];
      const t = workloadTarget(w, r);
      const min = THROUGHPUT_TARGETS[w];
      out.push({
        what: `3-node ${w}`,
        target: min !== undefined ? `ops/s ≥${min}×, CPU/op ≤0.5×, p99 ≤1×` : 'p99 ≤1×',
        value: r ? `ops ${f(r.opsPerSec)}×, CPU ${f(r.cpuPerOp)}×, p99 ${f(r.p99)}×` : 'n/a',
        pass: t.pass,
      });
    }
    const ours = three.impls.clustergenie;
    const rss = ours?.smallDataPeakRssMb ?? NaN;
    const where = ours?.smallDataPeakWorkload
      ? `, in ${ours.smallDataPeakWorkload} (${f(ours.workloads[ours.smallDataPeakWorkload]?.znodesAtEnd.median ?? NaN, 0)} znodes)`
      : '';
    out.push({
      what: '3-node RSS at small data, biggest member (ours)',
      target: `≤100 MB (peak over ${SMALL_DATA_WORKLOADS.filter((w) => res.workloads.includes(w)).join('/') || 'no small-data workload run'})`,
      value: `${f(rss, 0)} MB${where}${res.peakRssReset.works ? '' : ' (cumulative: clear_refs not writable)'}`,
      pass: Number.isFinite(rss) ? rss <= 100 : undefined,
    });
  }
  const cs = res.coldStart?.results.clustergenie?.ms.median ?? NaN;
  if (res.coldStart)
    out.push({
      what: '3-node cold start (ours)',
      target: '≤500 ms',
      value: `${f(cs, 0)} ms`,
      pass: Number.isFinite(cs) ? cs <= 500 : undefined,
    });
  const fo = res.failover?.results.clustergenie?.failoverMs.median ?? NaN;
  if (res.failover)
    out.push({
      what: 'leader failover (ours)',
      target: '≤250 ms',
      value: `${f(fo, 0)} ms`,
      pass: Number.isFinite(fo) ? fo <= 250 : undefined,
    });
  if (res.memory) {
    const ours = Math.max(...(res.memory.results.clustergenie?.servers.map((s) => s.rssMb) ?? [NaN]));
    const heap = Math.max(...(res.memory.results.apache?.servers.map((s) => s.heapUsedMb ?? NaN) ?? [NaN]));
    const ok = Number.isFinite(ours) && Number.isFinite(heap) ? ours <= heap : undefined;
    out.push({
      what: `memory at ${res.memory.znodes} znodes`,
      target: 'our RSS ≤ Apache heap used',
      value: `${f(ours, 0)} MB vs ${f(heap, 0)} MB (${f(ratio(ours, heap))}×)`,
      pass: ok,
    });
  }
  return out;
}
