// The logs benchmark's result shape, the issue's targets checked against it, and the Markdown
// report (pure: bench/logs-bench.ts measures, this file only summarizes and renders).

import { median, ratio, type Summary, summarize } from './stats.js';

/** One run of a producer side (the shipper, or tail | kcat) writing N lines into a fresh topic. */
export interface IntoTopicRun {
  /** N / (first append → the topic's end offsets cover all N lines). */
  linesPerSec: number;
  /** CPU of the side's own processes (shipper; or tail + kcat) over that interval, ms per 1,000 lines. */
  cpuMsPer1k: number;
  /** The same per process ("ship-logs", "tail", "kcat"). */
  cpuMsPer1kByProcess: Record<string, number>;
  /** The broker's CPU over the interval, ms per 1,000 lines (context: what the side costs the broker). */
  brokerCpuMsPer1k: number;
  /** RSS of the side's processes at the end of the run, MB. */
  rssMb: number;
}

/** N lines appended at once and followed through shipper → logs.dev → Log Consumer → log store. */
export interface PipelinePeakRun {
  /** N / (first append → the store's entry count covers all N). */
  linesPerSec: number;
  /** CPU per process role over that interval, ms per 1,000 lines. */
  cpuMsPer1kByRole: Record<string, number>;
  /** Shipper + Log Consumer + log store, ms per 1,000 lines. */
  pipelineCpuMsPer1k: number;
}

/** Lines appended at a steady rate; delays from each line's write time to its arrival on a store tail. */
export interface PipelineSteadyRun {
  rate: number;
  seconds: number;
  expected: number;
  received: number;
  dropped: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  pipelineCpuMsPer1k: number;
  /** CPU ms per 1,000 lines by process (absent in reports written before it was recorded). */
  cpuMsPer1kByRole?: Record<string, number>;
}

export interface LogsBenchResult {
  date: string;
  durationSec: number;
  quick: boolean;
  machine: { cores: number; cpuModel: string; memGb: number; kernel: string; node: string; loadAvgStart: number[]; loadAvgEnd: number[] };
  config: {
    repeat: number;
    lines: number;
    warmupLines: number;
    partitions: number;
    lineBytes: number;
    steadySec: number;
    steadyRate: number;
    kcat: string;
    kcatArgs: string[];
  };
  intoTopic: { shipper: IntoTopicRun[]; kcat: IntoTopicRun[] };
  pipeline: { peak: PipelinePeakRun[]; steady: PipelineSteadyRun[]; rssMbByRole: Record<string, number> };
  targets: { what: string; target: string; value: string; pass: boolean | undefined }[];
  failures: { section: string; message: string }[];
}

/** p-th percentile (nearest rank) of the values; NaN for none. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

export function evaluateTargets(res: LogsBenchResult): LogsBenchResult['targets'] {
  const ship = res.intoTopic.shipper;
  const kcat = res.intoTopic.kcat;
  const rate = ratio(median(ship.map((r) => r.linesPerSec)), median(kcat.map((r) => r.linesPerSec)));
  const cpu = ratio(median(ship.map((r) => r.cpuMsPer1k)), median(kcat.map((r) => r.cpuMsPer1k)));
  const known = (x: number): boolean | undefined => (Number.isFinite(x) ? true : undefined);
  return [
    {
      what: "shipper's lines/s into the topic vs tail -F | kcat -P",
      target: '>= 1.0x',
      value: Number.isFinite(rate) ? `${rate.toFixed(2)}x` : 'not measured',
      pass: known(rate) && rate >= 1.0,
    },
    {
      what: "shipper's CPU per line vs tail + kcat",
      target: '<= 1.0x',
      value: Number.isFinite(cpu) ? `${cpu.toFixed(2)}x` : 'not measured',
      pass: known(cpu) && cpu <= 1.0,
    },
  ];
}

const fmt = (x: number, digits = 0): string =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—';

function range(s: Summary, digits = 0): string {
  if (!Number.isFinite(s.median)) return '—';
  return s.samples.length > 1 ? `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})` : fmt(s.median, digits);
}

function table(rows: string[][]): string {
  // A '|' inside a cell (the peer's pipeline) would end the cell.
  const cells = rows.map((r) => r.map((x) => x.replaceAll('|', '\\|')));
  const [head, ...body] = cells;
  return [`| ${head!.join(' | ')} |`, `|${head!.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const passText = (p: boolean | undefined): string => (p === undefined ? 'not measured' : p ? 'PASS' : 'FAIL');

/** Median over runs of each key of per-run records. */
function byKey(runs: readonly Record<string, number>[]): Map<string, Summary> {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r)))];
  return new Map(keys.map((k) => [k, summarize(runs.map((r) => r[k] ?? Number.NaN))]));
}

export function renderReport(res: LogsBenchResult): string {
  const m = res.machine;
  const c = res.config;
  const out: string[] = [];
  out.push('# Logs benchmark: shipper → logs.dev → Log Consumer → log store, and tail -F | kcat -P', '');
  out.push(
    `- Date: ${res.date} (run took ${fmt(res.durationSec / 60, 1)} min)${res.quick ? ' — **quick smoke run, not a measurement**' : ''}`,
  );
  out.push(`- Machine: ${m.cores} cores (${m.cpuModel}), ${fmt(m.memGb)} GB RAM, Linux ${m.kernel}, node ${m.node}`);
  const busy = Math.max(m.loadAvgStart[0] ?? 0, m.loadAvgEnd[0] ?? 0) > m.cores;
  out.push(
    `- Load average (1/5/15 min) at start ${m.loadAvgStart.map((x) => x.toFixed(1)).join('/')}, at end ${m.loadAvgEnd.map((x) => x.toFixed(1)).join('/')}` +
      (busy ? ' — **above the core count: other processes competed for the CPU, numbers are noisy**' : ''),
  );
  out.push(
    `- Kafka: one ClusterGenie broker process + one ZooKeeper member; topics with ${c.partitions} partitions, RF 1. ` +
      `Lines: ${fmt(c.lineBytes)}-byte pino-style JSON, ${fmt(c.lines)} per peak run after ${fmt(c.warmupLines)} warm-up lines; ` +
      `${c.repeat} repetition(s), shipper and kcat alternating which goes first; medians with (min–max).`,
  );
  out.push(
    `- Peer: \`tail -F -n +1 <file> | kcat -P -b <bootstrap> -t <topic>${c.kcatArgs.length ? ` ${c.kcatArgs.join(' ')}` : ''}\` (${c.kcat})`,
  );
  out.push(
    '- CPU = utime+stime from /proc/<pid>/stat over the measured interval; RSS = VmRSS at the end of the run. ' +
      'Each run: the processes start on an empty file and are warmed up, then N lines are appended in writes of 10,000 lines.',
    '',
  );

  out.push('## Into the topic: shipper vs tail -F | kcat -P', '');
  out.push(
    "Lines/s = N / (first append → the sum of the fresh topic's end offsets covers every line). CPU = the side's own " +
      "processes (ship-logs; or tail + kcat); the broker's CPU over the same interval is shown apart.",
    '',
  );
  const side = (label: string, runs: IntoTopicRun[]): string[] => {
    const per = byKey(runs.map((r) => r.cpuMsPer1kByProcess));
    return [
      label,
      range(summarize(runs.map((r) => r.linesPerSec))),
      range(summarize(runs.map((r) => r.cpuMsPer1k)), 1),
      [...per].map(([k, s]) => `${k} ${fmt(s.median, 1)}`).join(', '),
      range(summarize(runs.map((r) => r.brokerCpuMsPer1k)), 1),
      range(summarize(runs.map((r) => r.rssMb))),
    ];
  };
  out.push(
    table([
      ['side', 'lines/s', 'CPU ms / 1,000 lines', 'per process', 'broker CPU ms / 1,000 lines', 'RSS MB'],
      side('ClusterGenie ship-logs', res.intoTopic.shipper),
      side('tail -F | kcat -P', res.intoTopic.kcat),
    ]),
    '',
  );

  out.push('## End to end: file → ship-logs → logs.dev → log-consumer → log-store', '');
  out.push(
    "Peak: N lines appended at once; lines/s = N / (first append → the store's stored-entries gauge (/metrics, polled every 50 ms) covers them). " +
      'CPU per role over that interval.',
    '',
  );
  const peak = res.pipeline.peak;
  const roles = byKey(peak.map((r) => r.cpuMsPer1kByRole));
  out.push(
    table([
      ['lines/s', 'pipeline CPU ms / 1,000 lines (shipper + consumer + store)', ...[...roles.keys()].map((k) => `${k} ms / 1,000`)],
      [
        range(summarize(peak.map((r) => r.linesPerSec))),
        range(summarize(peak.map((r) => r.pipelineCpuMsPer1k)), 1),
        ...[...roles.values()].map((s) => range(s, 1)),
      ],
    ]),
    '',
  );
  out.push(
    'Delay: lines appended at a steady rate in 10 ms ticks, each carrying its write time (`"time":<ms>`); the bench ' +
      'follows the store\'s `/loki/api/v1/tail` (WebSocket, `{env="dev"}`), which sends each push as it is stored, and ' +
      "takes receive time − write time per line (one clock, one machine). It includes the shipper's file polling, " +
      "the producer's batching, the consumer's fetch and push batching, and the store's insert.",
    '',
  );
  out.push(
    table([
      ['rate lines/s', 'seconds', 'received / expected', 'dropped by tail', 'p50 ms', 'p99 ms', 'max ms', 'pipeline CPU ms / 1,000'],
      ...res.pipeline.steady.map((s) => [
        fmt(s.rate),
        fmt(s.seconds),
        `${fmt(s.received)} / ${fmt(s.expected)}`,
        fmt(s.dropped),
        fmt(s.p50Ms, 1),
        fmt(s.p99Ms, 1),
        fmt(s.maxMs),
        fmt(s.pipelineCpuMsPer1k, 1),
      ]),
    ]),
    '',
  );
  const rss = res.pipeline.rssMbByRole;
  out.push(
    `RSS at the end of the end-to-end runs: ${Object.entries(rss)
      .map(([k, v]) => `${k} ${fmt(v)} MB`)
      .join(', ')}; pipeline total ${fmt(sum(['ship-logs', 'log-consumer', 'log-store'].map((k) => rss[k] ?? Number.NaN)))} MB.`,
    '',
  );

  out.push('## Targets (issue 16)', '');
  out.push(
    table([['what', 'target', 'measured (medians)', 'result'], ...res.targets.map((t) => [t.what, t.target, t.value, passText(t.pass)])]),
    '',
  );
  out.push('## Failed runs', '');
  out.push(res.failures.length ? res.failures.map((f) => `- ${f.section}: ${f.message.split('\n')[0]}`).join('\n') : 'None.', '');
  return out.join('\n');
}
