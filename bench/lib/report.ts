// Renders bench/results/zk-bench.md from the JSON result (bench/lib/results.ts), and writes any
// bench's report files (writeBenchReport).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  isSmallData,
  SMALL_DATA_WORKLOADS,
  TARGETS_NOTE,
  workloadTarget,
  type BenchResult,
  type ImplTopologyResult,
  type TopologyResult,
  type WorkloadStats,
} from './results.js';
import { label, type Impl } from './servers.js';
import { median, type Summary } from './stats.js';

const fmt = (x: number, d = 0): string =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a';
/** `median (min–max)`, or just the median for a single sample. */
const range = (s: Summary | undefined, d = 0): string =>
  !s || !Number.isFinite(s.median)
    ? 'n/a'
    : s.samples.length > 1
      ? `${fmt(s.median, d)} (${fmt(s.min, d)}–${fmt(s.max, d)})`
      : fmt(s.median, d);
const ratioText = (x: number | undefined): string => (x !== undefined && Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a');
const passText = (p: boolean | undefined): string => (p === undefined ? '—' : p ? 'PASS' : 'FAIL');

function latency(w: WorkloadStats | undefined): string {
  if (!w) return 'n/a';
  return `${fmt(w.p50Ms.median, 2)} / ${fmt(w.p99Ms.median, 2)} / ${fmt(w.p999Ms.median, 2)}`;
}

function flag(w: WorkloadStats | undefined): string {
  return w?.flagged ? ` ⚠ ${w.errors} errors` : '';
}

/** Median VmHWM of each member over the repetitions, e.g. `120 / 95 / 97`. */
function perMember(r: ImplTopologyResult | undefined): string {
  if (!r || r.rssPerRep.length === 0) return 'n/a';
  const n = r.rssPerRep[0]!.hwmMb.length;
  return Array.from({ length: n }, (_, i) => fmt(median(r.rssPerRep.map((x) => x.hwmMb[i] ?? NaN)))).join(' / ');
}

function znodesAtEnd(r: ImplTopologyResult | undefined): string {
  return r ? fmt(median(r.rssPerRep.map((x) => x.znodes))) : 'n/a';
}

/** Each member's median peak during one workload, e.g. `80 / 75 / 76`. */
function perMemberOf(w: WorkloadStats | undefined): string {
  return w?.peakRssPerMemberMb.length ? w.peakRssPerMemberMb.map((x) => fmt(x)).join(' / ') : 'n/a';
}

/** Peak RSS during each measured workload, per topology, in the order they ran; then the small-data figure. */
function rssByWorkload(res: BenchResult): string {
  const rows: string[][] = [
    [
      'topology',
      'workload (run order)',
      'ours, biggest member',
      'ours per member',
      'ours znodes at end',
      'Apache, biggest member',
      'Apache per member',
      'Apache znodes at end',
      'target',
    ],
  ];
  for (const t of res.topologies) {
    const o = t.impls.clustergenie;
    const a = t.impls.apache;
    for (const w of res.runOrder) {
      const ow = o?.workloads[w];
      const aw = a?.workloads[w];
      rows.push([
        t.topology,
        isSmallData(w) ? `${w} (small data)` : `${w} (builds a large tree)`,
        range(ow?.peakRssMb),
        perMemberOf(ow),
        fmt(ow?.znodesAtEnd.median ?? NaN),
        range(aw?.peakRssMb),
        perMemberOf(aw),
        fmt(aw?.znodesAtEnd.median ?? NaN),
        '',
      ]);
    }
    const small = (r: ImplTopologyResult | undefined): string =>
      r && Number.isFinite(r.smallDataPeakRssMb) ? `**${fmt(r.smallDataPeakRssMb)}** (${r.smallDataPeakWorkload})` : 'n/a';
    const oMb = o?.smallDataPeakRssMb ?? NaN;
    rows.push([
      t.topology,
      '**RSS at small data** (largest of the small-data rows)',
      small(o),
      '',
      '',
      small(a),
      '',
      '',
      t.topology === '3-node' ? `ours ≤100 MB: ${passText(Number.isFinite(oMb) ? oMb <= 100 : undefined)}` : '—',
    ]);
  }
  return table(rows);
}

function table(rows: string[][]): string {
  const [head, ...body] = rows;
  return [`| ${head!.join(' | ')} |`, `| ${head!.map(() => '---').join(' | ')} |`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function topologyTable(res: BenchResult, t: TopologyResult): string {
  const ours = t.impls.clustergenie;
  const apache = t.impls.apache;
  const withTargets = t.topology === '3-node';
  const head = [
    'workload',
    'ours ops/s (min–max)',
    'Apache ops/s (min–max)',
    'ratio',
    'ours p50 / p99 / p99.9 ms',
    'Apache p50 / p99 / p99.9 ms',
    'ours CPU µs/op',
    'Apache CPU µs/op',
    'CPU ratio',
    'loadgen CPU µs/op (ours / Apache)',
    ...(withTargets ? ['target'] : []),
  ];
  const rows = res.workloads.map((w) => {
    const o = ours?.workloads[w];
    const a = apache?.workloads[w];
    const r = t.ratios[w];
    return [
      w,
      range(o?.opsPerSec) + flag(o),
      range(a?.opsPerSec) + flag(a),
      ratioText(r?.opsPerSec),
      latency(o),
      latency(a),
      range(o?.serverCpuUsPerOp, 1),
      range(a?.serverCpuUsPerOp, 1),
      ratioText(r?.cpuPerOp),
      `${fmt(o?.loadgenCpuUsPerOp.median ?? NaN, 1)} / ${fmt(a?.loadgenCpuUsPerOp.median ?? NaN, 1)}`,
      ...(withTargets ? [workloadTarget(w, r).text || '—'] : []),
    ];
  });
  return table([head, ...rows]);
}

function errorsSection(res: BenchResult): string {
  const lines: string[] = [];
  for (const t of res.topologies) {
    for (const [impl, r] of Object.entries(t.impls) as [Impl, NonNullable<TopologyResult['impls'][Impl]>][]) {
      for (const [w, s] of Object.entries(r.workloads) as [string, WorkloadStats][]) {
        for (const x of s.samples) {
          if (x.errors > 0)
            lines.push(
              `- ${t.topology} ${label(impl)} ${w} rep ${x.rep}: ${x.errors} errors of ${x.ops + x.errors} (${JSON.stringify(x.errorCodes)})`,
            );
        }
      }
    }
  }
  for (const f of res.failures)
    lines.push(`- FAILED: ${f.section} ${label(f.impl)}${f.rep !== undefined ? ` rep ${f.rep}` : ''}: ${f.message.split('\n')[0]}`);
  if (res.memory) {
    for (const m of Object.values(res.memory.results)) {
      if (m && m.createErrors > 0)
        lines.push(`- memory ${label(m.impl)}: ${m.createErrors} create errors (${JSON.stringify(m.errorCodes)})`);
    }
  }
  return lines.length ? lines.join('\n') : 'None: no load generator errors and no failed runs.';
}

export function renderMarkdown(res: BenchResult): string {
  const m = res.machine;
  const l = res.load;
  const out: string[] = [];
  out.push(`# ZooKeeper benchmark: ClusterGenie vs Apache ZooKeeper 3.8`, '');
  out.push(
    `- Date: ${res.date} (run took ${fmt(res.durationSec / 60, 1)} min)${res.quick ? ' — **BENCH_QUICK smoke run, not a measurement**' : ''}`,
  );
  out.push(
    `- Machine: ${m.cores} cores (${m.cpuModel}), ${fmt(m.memGb, 0)} GB RAM, Linux ${m.kernel}, node ${m.node}, ${m.java}, CLK_TCK ${m.clockTicks}`,
  );
  const busy = Math.max(m.loadAvgStart[0] ?? 0, m.loadAvgEnd[0] ?? 0) > m.cores;
  out.push(
    `- Load average (1/5/15 min) at start ${m.loadAvgStart.map((x) => x.toFixed(1)).join('/')}, at end ${m.loadAvgEnd.map((x) => x.toFixed(1)).join('/')}` +
      (busy ? ' — **above the core count: other processes competed for the CPU, numbers are noisy**' : ''),
  );
  out.push(
    `- zoo.cfg (both): ${Object.entries(res.config.zooCfg)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}`,
  );
  const jvm =
    res.config.apacheJvm === 'stock'
      ? "stock, as Debian's zkServer.sh starts it (the JVM's default heap, GC and JIT)"
      : "the tests' quick-start flags";
  out.push(`- Apache JVM: ${jvm}, flags ${res.config.apacheJvmArgs.join(' ') || 'none'}; ${res.config.note}`);
  out.push(
    `- Load: ${l.sessions} sessions × ${l.depth} outstanding (watch: ${l.watchSessions} × ${l.watchDepth}), ${l.valueBytes}-byte values, ` +
      `${l.workers} loadgen workers, sessions spread over members (session i → member i mod n); pre-warm ${l.prewarmMs} ms per workload (discarded), ` +
      `then ${l.warmupMs} ms warm-up + ${l.durationMs} ms measured per run; delete: ${l.deleteOpsPerSession}`,
  );
  out.push(
    `- ${res.repeat} repetition(s), fresh ensembles each; order ours→Apache, swapped on even repetitions; medians with (min–max); ` +
      `workloads within a repetition: ${res.runOrder.join(', ')} (small-data ones first, see the RSS section)`,
  );
  out.push(
    `- CPU = utime+stime of every server process (/proc/<pid>/stat) over the measured interval, per op; loadgen CPU = the load generator's own`,
  );
  if (!res.apache.included) out.push(`- **Apache not measured: ${res.apache.note}**`);
  out.push('');
  for (const t of res.topologies) {
    out.push(`## ${t.topology === 'standalone' ? 'Standalone (1 server)' : '3-node ensemble'}`, '', topologyTable(res, t), '');
  }
  out.push('## Peak RSS per server by workload (MB)', '');
  out.push(
    `VmHWM of each server reset just before each measured run (/proc/<pid>/clear_refs) and read just after it (loadgen set-up, ` +
      `warm-up and measured window). Biggest member: median (min–max) over repetitions; per member: median of each member; ` +
      `znodes: mntr zk_znode_count of the first member after the run. Small data = ${SMALL_DATA_WORKLOADS.join(', ')} ` +
      `(a few znodes per session); on each fresh ensemble they are pre-warmed and measured before create and delete, so the ` +
      `trees those leave are not in memory yet. A reset sets VmHWM to the current RSS, so memory a server kept from ` +
      `earlier runs (a heap not given back to the OS) counts in later rows. The RSS target is the largest small-data ` +
      `figure of the 3-node ensemble.`,
    '',
  );
  if (!res.peakRssReset.works) out.push(`**Peak RSS could not be reset per workload:** ${res.peakRssReset.note ?? ''}`, '');
  out.push(rssByWorkload(res), '');
  out.push('## Peak RSS per server over the whole repetition, with the create/delete trees (MB)', '');
  out.push(
    'Not the RSS target figure. VmHWM from server start to the end of the last workload (the peaks between resets combined), ' +
      'biggest member: median (min–max) over repetitions; per member: median of each member. The tree grows during a ' +
      "repetition (the create workload and the delete workload's set-up leave their znodes): its size at the end is shown.",
    '',
  );
  out.push(
    table([
      [
        'topology',
        'ours, biggest member',
        'ours per member',
        'ours znodes at end',
        'Apache, biggest member',
        'Apache per member',
        'Apache znodes at end',
      ],
      ...res.topologies.map((t) => [
        t.topology,
        range(t.impls.clustergenie?.peakRssMb),
        perMember(t.impls.clustergenie),
        znodesAtEnd(t.impls.clustergenie),
        range(t.impls.apache?.peakRssMb),
        perMember(t.impls.apache),
        znodesAtEnd(t.impls.apache),
      ]),
    ]),
    '',
  );
  if (res.coldStart) {
    out.push(`## Cold start, 3 members (spawn to first successful getData('/'), ms; ${res.coldStart.repeat} repetition(s))`, '');
    out.push(
      table([
        ['implementation', 'ms (min–max)', 'target ≤500 ms'],
        ...(Object.entries(res.coldStart.results) as [Impl, { ms: Summary }][]).map(([impl, r]) => [
          label(impl),
          range(r.ms),
          impl === 'clustergenie' ? passText(r.ms.median <= 500) : '—',
        ]),
      ]),
      '',
    );
  }
  if (res.failover) {
    out.push(
      `## Leader failover, 3 members (tickTime ${res.failover.tickTimeMs}, ${res.failover.repeat} kill(s) each)`,
      '',
      res.failover.note,
      '',
    );
    out.push(
      table([
        ['implementation', 'kill → first write in new epoch, ms', 'kill → new leader in srvr, ms', 'write errors', 'target ≤250 ms'],
        ...(Object.entries(res.failover.results) as [Impl, NonNullable<BenchResult['failover']>['results']['apache']][]).map(
          ([impl, r]) => [
            label(impl),
            range(r!.failoverMs),
            range(r!.electionMs),
            String(r!.writeErrors),
            impl === 'clustergenie' ? passText(r!.failoverMs.median <= 250) : '—',
          ],
        ),
      ]),
      '',
    );
  }
  if (res.memory) {
    out.push(`## Memory with ${fmt(res.memory.znodes)} znodes of ${l.valueBytes} bytes (${res.memory.topology})`, '', res.memory.why, '');
    out.push(
      table([
        [
          'implementation',
          'znodes',
          'create s',
          'VmRSS MB per server',
          'VmHWM MB per server',
          'Java heap used after full GC, MB',
          'bytes per znode (ours: RSS, Apache: heap)',
        ],
        ...Object.values(res.memory.results).map((r) => [
          label(r!.impl),
          fmt(r!.znodes),
          fmt(r!.createSeconds, 1),
          r!.servers.map((s) => fmt(s.rssMb)).join(', '),
          r!.servers.map((s) => fmt(s.hwmMb)).join(', '),
          r!.impl === 'apache' ? r!.servers.map((s) => fmt(s.heapUsedMb ?? NaN)).join(', ') : '—',
          r!.servers.map((s) => fmt((((r!.impl === 'apache' ? s.heapUsedMb : s.rssMb) ?? NaN) * 2 ** 20) / r!.znodes)).join(', '),
        ]),
      ]),
      '',
    );
  }
  out.push('## Targets (issue 5)', '', TARGETS_NOTE, '');
  out.push(
    table([['what', 'target', 'measured (medians)', 'result'], ...res.targets.map((t) => [t.what, t.target, t.value, passText(t.pass)])]),
    '',
  );
  out.push('## Errors and failed runs', '', errorsSection(res), '');
  return out.join('\n');
}

/** Writes `<name>.json` and `<name>.md` into `outDir`, prints the Markdown, and says where they went. */
export function writeBenchReport(
  outDir: string,
  name: string,
  result: { durationSec: number },
  markdown: string,
  log: (s: string) => void,
): void {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(outDir, `${name}.md`), markdown);
  process.stdout.write(markdown);
  log(`wrote ${join(outDir, `${name}.json`)} and .md in ${Math.round(result.durationSec)} s`);
}

/** Runs a bench's main and exits with its exit code (children and sockets must not keep it alive). */
export function runBenchMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(process.exitCode ?? 0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
