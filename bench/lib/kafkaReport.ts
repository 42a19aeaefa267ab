// The Kafka benchmark's result shape and its Markdown report: per case (record size × partitions)
// a table of medians (min–max over repetitions) per broker and the ratios ours/Apache and ours/mock.

import type { ProfileRow } from './kafkaProfile.js';
import type { KafkaImpl } from './kafkaServers.js';
import { median, ratio, type Summary } from './stats.js';

export interface Sample {
  records: number;
  recordsPerSec: number;
  mbPerSec: number;
  brokerCpuMsPerMb: number;
  loadgenCpuMsPerMb: number;
  /** kafka-producer-perf-test's own ack latency p99 (at full speed, not an end-to-end figure). */
  ackP99Ms?: number;
}

export interface E2eSample {
  rate: number;
  measured: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  brokerCpuSec: number;
}

export interface ImplCase {
  produceAcks1: Sample[];
  produceAcksAll: Sample[];
  producePerfTest: Sample[];
  consume: Sample[];
  e2e: E2eSample[];
  /** The same at a fixed light rate (KAFKA_BENCH_E2E_LIGHT_RATE). */
  e2eLight: E2eSample[];
}

export interface CaseResult {
  recordBytes: number;
  partitions: number;
  impls: Partial<Record<KafkaImpl, ImplCase>>;
}

export interface KafkaBenchResult {
  date: string;
  durationSec: number;
  quick: boolean;
  repeat: number;
  machine: Record<string, unknown> & { loadAvgStart: number[]; loadAvgEnd: number[] };
  config: Record<string, unknown>;
  impls: KafkaImpl[];
  startupMs: Partial<Record<KafkaImpl, number[]>>;
  startupSummary?: Record<string, Summary>;
  peakRssMb: Partial<Record<KafkaImpl, number[]>>;
  cases: Record<string, CaseResult>;
  idle: Partial<Record<KafkaImpl, { startMb: number; idleMb: number; startupMs: number }>>;
  profile?: { workload: string; samples: number; rows: ProfileRow[] };
  failures: { section: string; impl: KafkaImpl; rep?: number; message: string }[];
}

const fmt = (x: number, d = 0): string =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a';

function cell(xs: readonly number[], d = 0): string {
  const s = xs.filter(Number.isFinite);
  if (!s.length) return 'n/a';
  const m = median(s);
  return s.length > 1 ? `${fmt(m, d)} (${fmt(Math.min(...s), d)}–${fmt(Math.max(...s), d)})` : fmt(m, d);
}

const rt = (a: number, b: number): string => {
  const r = ratio(a, b);
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a';
};

type Row = [label: string, pick: (c: ImplCase) => number[], digits: number];

const ROWS: Row[] = [
  ['produce acks=1, records/s', (c) => c.produceAcks1.map((s) => s.recordsPerSec), 0],
  ['produce acks=1, MB/s', (c) => c.produceAcks1.map((s) => s.mbPerSec), 1],
  ['produce acks=1, broker CPU ms/MB', (c) => c.produceAcks1.map((s) => s.brokerCpuMsPerMb), 1],
  ['produce acks=all, records/s', (c) => c.produceAcksAll.map((s) => s.recordsPerSec), 0],
  ['produce acks=all, MB/s', (c) => c.produceAcksAll.map((s) => s.mbPerSec), 1],
  ['produce acks=all, broker CPU ms/MB', (c) => c.produceAcksAll.map((s) => s.brokerCpuMsPerMb), 1],
  ['kafka-producer-perf-test acks=1, records/s', (c) => c.producePerfTest.map((s) => s.recordsPerSec), 0],
  ['kafka-producer-perf-test acks=1, MB/s', (c) => c.producePerfTest.map((s) => s.mbPerSec), 1],
  ['kafka-producer-perf-test, broker CPU ms/MB', (c) => c.producePerfTest.map((s) => s.brokerCpuMsPerMb), 1],
  ['consume, records/s', (c) => c.consume.map((s) => s.recordsPerSec), 0],
  ['consume, MB/s', (c) => c.consume.map((s) => s.mbPerSec), 1],
  ['consume, broker CPU ms/MB', (c) => c.consume.map((s) => s.brokerCpuMsPerMb), 1],
  ['e2e rate (½ produce peak), records/s', (c) => c.e2e.map((s) => s.rate), 0],
  ['e2e p50 ms', (c) => c.e2e.map((s) => s.p50Ms), 2],
  ['e2e p99 ms', (c) => c.e2e.map((s) => s.p99Ms), 2],
  ['e2e p99.9 ms', (c) => c.e2e.map((s) => s.p999Ms), 2],
  ['e2e light rate, records/s', (c) => c.e2eLight.map((s) => s.rate), 0],
  ['e2e light p50 ms', (c) => c.e2eLight.map((s) => s.p50Ms), 2],
  ['e2e light p99 ms', (c) => c.e2eLight.map((s) => s.p99Ms), 2],
  ['e2e light p99.9 ms', (c) => c.e2eLight.map((s) => s.p999Ms), 2],
  ['loadgen CPU ms/MB (kafkaload produce acks=1)', (c) => c.produceAcks1.map((s) => s.loadgenCpuMsPerMb), 1],
  ['loadgen CPU ms/MB (perf-test JVM, start-up included)', (c) => c.producePerfTest.map((s) => s.loadgenCpuMsPerMb), 1],
];

export function renderKafkaMarkdown(res: KafkaBenchResult): string {
  const m = res.machine;
  const impls = res.impls;
  const label: Record<KafkaImpl, string> = { clustergenie: 'ours', apache: 'Apache 3.9', mock: 'librdkafka mock' };
  const out: string[] = [
    '# Kafka benchmark: ClusterGenie vs Apache Kafka 3.9 vs librdkafka mock',
    '',
    `- Date: ${res.date} (${fmt(res.durationSec / 60, 1)} min), ${res.repeat} repetition(s)${res.quick ? ' — **KAFKA_BENCH_QUICK smoke run, not a measurement**' : ''}`,
    `- Machine: ${m['cores']} cores (${m['cpuModel']}), ${fmt(Number(m['memGb']))} GB, Linux ${m['kernel']}, node ${m['node']}, ${m['java']}`,
    `- Load average at start ${m.loadAvgStart.map((x) => x.toFixed(2)).join(' ')}, at end ${m.loadAvgEnd.map((x) => x.toFixed(2)).join(' ')}`,
    `- ZooKeeper: ${res.config['zookeeper']}; shared broker props: ${JSON.stringify(res.config['sharedProps'])}`,
    `- Records per produce run: ${JSON.stringify(res.config['records'])} (by record bytes); e2e measured ${res.config['e2eSec']} s after 1 s warm-up`,
    '- Medians, (min–max) over repetitions. CPU per MB: utime+stime of the broker process over the run (/proc) per MiB of record values.',
    '- The mock runs inside a kafkaload process (librdkafka mock cluster, in memory, no fsync, no ZooKeeper).',
    '',
  ];
  for (const c of Object.values(res.cases)) {
    out.push(`## ${c.recordBytes} B records, ${c.partitions} partition(s)`, '');
    const cols = impls.filter((i) => c.impls[i]);
    out.push(`| metric | ${cols.map((i) => label[i]).join(' | ')} | ours/Apache | ours/mock |`);
    out.push(`| --- | ${cols.map(() => '---').join(' | ')} | --- | --- |`);
    for (const [name, pick, d] of ROWS) {
      const vals = cols.map((i) => pick(c.impls[i]!));
      if (vals.every((v) => v.length === 0)) continue;
      const med = (i: KafkaImpl): number => (c.impls[i] ? median(pick(c.impls[i]!)) : NaN);
      out.push(
        `| ${name} | ${vals.map((v) => cell(v, d)).join(' | ')} | ${rt(med('clustergenie'), med('apache'))} | ${rt(med('clustergenie'), med('mock'))} |`,
      );
    }
    out.push('');
  }
  out.push(
    '## Memory and start-up',
    '',
    `| | ${impls.map((i) => label[i]).join(' | ')} | ours/Apache |`,
    `| --- | ${impls.map(() => '---').join(' | ')} | --- |`,
  );
  const row = (name: string, f: (i: KafkaImpl) => number[], d = 0): void => {
    out.push(`| ${name} | ${impls.map((i) => cell(f(i), d)).join(' | ')} | ${rt(median(f('clustergenie')), median(f('apache')))} |`);
  };
  row('start to first served Metadata, ms', (i) => res.startupMs[i] ?? []);
  row('peak RSS over a repetition, MB', (i) => res.peakRssMb[i] ?? []);
  row('RSS of a fresh broker, MB', (i) => (res.idle[i] ? [res.idle[i]!.startMb] : []));
  row('RSS with 1,000 idle partitions, MB', (i) => (res.idle[i] ? [res.idle[i]!.idleMb] : []));
  out.push('');
  if (res.profile) {
    out.push(`## Where our broker's time goes (node --cpu-prof, ${res.profile.workload})`, '');
    out.push(`${fmt(res.profile.samples)} samples. Top functions by self time:`, '');
    out.push('| self % | total % | function | where |', '| ---: | ---: | --- | --- |');
    for (const r of res.profile.rows) out.push(`| ${r.selfPct.toFixed(1)} | ${r.totalPct.toFixed(1)} | \`${r.fn}\` | ${r.where} |`);
    out.push('');
  }
  if (res.failures.length) {
    out.push('## Failures', '');
    for (const f of res.failures) out.push(`- ${f.section} ${f.impl}${f.rep ? ` rep ${f.rep}` : ''}: ${f.message.split('\n')[0]}`);
    out.push('');
  }
  return `${out.join('\n')}\n`;
}
