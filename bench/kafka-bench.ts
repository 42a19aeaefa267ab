// Side-by-side benchmark of ClusterGenie's Kafka broker, Apache Kafka 3.9 (ZooKeeper mode, its stock
// JVM) and librdkafka's mock cluster (issue 13, "Performance"). One broker each, as processes, on
// one ZooKeeper (Apache ZooKeeper 3.8 from Debian; a chroot per broker), same topic configs, data in
// the OS temp dir. Per record size (100 B, 1 KB) and partition count (1, 6): produce at acks=1 and
// acks=all (kafkaload.c on librdkafka, and kafka-producer-perf-test at acks=1), consume from the
// start (kafkaload), end-to-end latency at half the acks=1 peak; broker CPU per MB (/proc/<pid>/stat
// over each run), the generator's CPU, broker peak RSS, start to first served Metadata; RSS with
// 1,000 idle partitions on a fresh broker; a --cpu-prof profile of ours under produce load.
// Writes <KAFKA_BENCH_OUT_DIR>/kafka-bench.json and kafka-bench.md (bench/lib/kafkaReport.ts).
//
//   npm run bench:kafka                 (builds first; or node dist/bench/kafka-bench.js); ~35–40 min
//                                       with the defaults on 2 cores, ~10 min with REPEAT=2 and 1M/200k records
//   KAFKA_BENCH_QUICK=1                 1 repetition, fewer records: a few minutes
//   KAFKA_BENCH_REPEAT=3                repetitions (fresh brokers each); order ours/Apache swaps each time
//   KAFKA_BENCH_RECORDS_100=2000000     records per produce run at 100 B (quick: 300000)
//   KAFKA_BENCH_RECORDS_1K=300000       records per produce run at 1 KB (quick: 50000)
//   KAFKA_BENCH_E2E_SEC=5               measured seconds of each latency run
//   KAFKA_BENCH_E2E_LIGHT_RATE=10000    records/s of the second, light latency run
//   KAFKA_BENCH_IMPLS=clustergenie,apache,mock
//   KAFKA_BENCH_JAVA=0                  skip kafka-producer-perf-test
//   KAFKA_BENCH_PROFILE=0               skip the profile of ours
//   KAFKA_BENCH_OUT_DIR=bench/results

import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApacheZooKeeper, type ServerHandle } from '../test/helpers/apacheZk.js';
import { ensureKafkaLoadgen, producerPerf, runKafkaload, type CResult } from './lib/kafkaLoad.js';
import { summarizeProfile } from './lib/kafkaProfile.js';
import { renderKafkaMarkdown, type CaseResult, type KafkaBenchResult, type Sample } from './lib/kafkaReport.js';
import {
  KAFKA_IMPLS,
  kafkaLabel,
  sharedProps,
  startApache,
  startMock,
  startOurs,
  versions,
  type BrokerHandle,
  type KafkaImpl,
} from './lib/kafkaServers.js';
import { CpuMeter, memory } from './lib/procstat.js';
import { summarize } from './lib/stats.js';

const QUICK = process.env['KAFKA_BENCH_QUICK'] === '1';
const num = (k: string, d: number): number => {
  const v = process.env[k];
  const n = v ? Number(v.replaceAll('_', '')) : d;
  if (!Number.isFinite(n) || n < 0) throw new Error(`${k} must be a non-negative number`);
  return n;
};
const REPEAT = Math.max(1, num('KAFKA_BENCH_REPEAT', QUICK ? 1 : 3));
/** Records per produce run: enough for several seconds at the mock's pace, fewer in quick mode. */
const RECORDS: Record<number, number> = {
  100: num('KAFKA_BENCH_RECORDS_100', QUICK ? 300_000 : 2_000_000),
  1024: num('KAFKA_BENCH_RECORDS_1K', QUICK ? 50_000 : 300_000),
};
const E2E_SEC = num('KAFKA_BENCH_E2E_SEC', QUICK ? 2 : 5);
const E2E_LIGHT_RATE = num('KAFKA_BENCH_E2E_LIGHT_RATE', 10_000);
const JAVA = process.env['KAFKA_BENCH_JAVA'] !== '0';
const PROFILE = process.env['KAFKA_BENCH_PROFILE'] !== '0';
const IDLE_PARTITIONS = 1000;
const OUT_DIR = process.env['KAFKA_BENCH_OUT_DIR'] ?? 'bench/results';
const IMPLS: KafkaImpl[] = (process.env['KAFKA_BENCH_IMPLS']?.split(',') as KafkaImpl[] | undefined) ?? [...KAFKA_IMPLS];
const CASES = [
  { recordBytes: 100, partitions: 1 },
  { recordBytes: 100, partitions: 6 },
  { recordBytes: 1024, partitions: 1 },
  { recordBytes: 1024, partitions: 6 },
];

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const MB = 1024 * 1024;

let chrootSeq = 0;
async function startBroker(impl: KafkaImpl, zk: ServerHandle, loadgen: string, nodeArgs?: string[]): Promise<BrokerHandle> {
  const create = async (bs: string, name: string, parts: number): Promise<void> => {
    await runKafkaload(['create', bs, name, String(parts)], 60_000);
  };
  const chroot = `${zk.connectString}/kbench-${impl}-${process.pid}-${++chrootSeq}`;
  if (impl === 'clustergenie') return startOurs({ zkConnect: chroot, ...(nodeArgs ? { nodeArgs } : {}) }, create);
  if (impl === 'apache') return startApache(chroot, create);
  return startMock(loadgen);
}

/** Runs `fn` with the broker's CPU measured around it. */
async function metered<T>(b: BrokerHandle, fn: () => Promise<T>): Promise<{ r: T; cpuSec: number }> {
  const m = new CpuMeter([b.pid]);
  m.start();
  const r = await fn();
  m.end();
  return { r, cpuSec: m.seconds };
}

function sampleOf(
  records: number,
  bytes: number,
  seconds: number,
  brokerCpuSec: number,
  loadgenCpuSec: number,
  extra: Partial<Sample> = {},
): Sample {
  return {
    records,
    recordsPerSec: records / seconds,
    mbPerSec: bytes / MB / seconds,
    brokerCpuMsPerMb: (brokerCpuSec * 1000) / (bytes / MB),
    loadgenCpuMsPerMb: (loadgenCpuSec * 1000) / (bytes / MB),
    ...extra,
  };
}

const n = (r: CResult, k: string): number => Number(r[k]);

/** One fresh broker: every case, then its peak RSS. */
async function runImpl(impl: KafkaImpl, rep: number, zk: ServerHandle, loadgen: string, res: KafkaBenchResult): Promise<void> {
  const b = await startBroker(impl, zk, loadgen);
  const tag = `[rep ${rep}] ${kafkaLabel(impl)}`;
  try {
    res.startupMs[impl] ??= [];
    res.startupMs[impl]!.push(b.startupMs);
    log(`${tag}: serving after ${b.startupMs} ms, RSS ${Math.round(memory(b.pid)?.rssMb ?? NaN)} MB`);
    for (const c of CASES) {
      const key = `${c.recordBytes}B-p${c.partitions}`;
      res.cases[key] ??= { ...c, impls: {} };
      const cr: CaseResult = res.cases[key];
      cr.impls[impl] ??= { produceAcks1: [], produceAcksAll: [], producePerfTest: [], consume: [], e2e: [], e2eLight: [] };
      const ir = cr.impls[impl];
      const topic = `bench-${c.recordBytes}-p${c.partitions}`;
      const count = RECORDS[c.recordBytes]!;
      await b.createTopic(topic, c.partitions);
      let stored = 0;
      for (const acks of ['1', 'all'] as const) {
        const { r, cpuSec } = await metered(b, () =>
          runKafkaload(['produce', b.bootstrap, topic, String(c.recordBytes), String(count), acks]),
        );
        if (n(r, 'errors') > 0) throw new Error(`${key} acks=${acks}: ${n(r, 'errors')} delivery errors (${r['firstError']})`);
        stored += n(r, 'records');
        const s = sampleOf(n(r, 'records'), n(r, 'bytes'), n(r, 'seconds'), cpuSec, n(r, 'cpuSec'));
        (acks === '1' ? ir.produceAcks1 : ir.produceAcksAll).push(s);
        log(
          `${tag} ${key} produce acks=${acks}: ${Math.round(s.recordsPerSec)} rec/s, ${s.mbPerSec.toFixed(1)} MB/s, broker ${s.brokerCpuMsPerMb.toFixed(1)} ms CPU/MB`,
        );
      }
      // The Java producer never sees a topic in the mock's Metadata (it times out after 60 s), so the
      // JVM generator runs against the two ZooKeeper-mode brokers only.
      if (JAVA && impl !== 'mock') {
        const { r, cpuSec } = await metered(b, () => producerPerf(b.bootstrap, topic, c.recordBytes, count, '1'));
        stored += r.records;
        const bytes = r.records * c.recordBytes;
        const s = sampleOf(r.records, bytes, r.records / r.recordsPerSec, cpuSec, r.loadgenCpuSec, { ackP99Ms: r.p99Ms });
        ir.producePerfTest.push(s);
        log(`${tag} ${key} kafka-producer-perf-test acks=1: ${Math.round(s.recordsPerSec)} rec/s, ${s.mbPerSec.toFixed(1)} MB/s`);
      }
      {
        const { r, cpuSec } = await metered(b, () => runKafkaload(['consume', b.bootstrap, topic, String(c.partitions), String(stored)]));
        const s = sampleOf(n(r, 'records'), n(r, 'bytes'), n(r, 'seconds'), cpuSec, n(r, 'cpuSec'));
        ir.consume.push(s);
        log(`${tag} ${key} consume: ${Math.round(s.recordsPerSec)} rec/s, ${s.mbPerSec.toFixed(1)} MB/s`);
      }
      {
        // Peak: the faster of this repetition's two kafkaload produce runs (the first run of a case
        // also pays for connections and, on the JVM, for warm-up).
        const peak = Math.max(ir.produceAcks1.at(-1)!.recordsPerSec, ir.produceAcksAll.at(-1)!.recordsPerSec);
        const etopic = `e2e-${c.recordBytes}-p${c.partitions}`;
        await b.createTopic(etopic, c.partitions);
        // Half of the produce-only peak (the point), then a fixed light load that every
        // broker sustains, so latency is also compared where none of them is saturated.
        for (const [i, rate] of [Math.max(100, Math.round(peak / 2)), E2E_LIGHT_RATE].entries()) {
          const { r, cpuSec } = await metered(b, () =>
            runKafkaload(['e2e', b.bootstrap, etopic, String(c.partitions), String(c.recordBytes), String(rate), String(E2E_SEC)]),
          );
          const measured = n(r, 'measured');
          (i === 1 ? ir.e2eLight : ir.e2e).push({
            rate,
            measured,
            p50Ms: n(r, 'p50Us') / 1000,
            p99Ms: n(r, 'p99Us') / 1000,
            p999Ms: n(r, 'p999Us') / 1000,
            brokerCpuSec: cpuSec,
          });
          log(
            `${tag} ${key} e2e at ${rate} rec/s: p50 ${(n(r, 'p50Us') / 1000).toFixed(2)} p99 ${(n(r, 'p99Us') / 1000).toFixed(2)} p99.9 ${(n(r, 'p999Us') / 1000).toFixed(2)} ms (${measured} measured)`,
          );
        }
      }
    }
    const mem = memory(b.pid);
    res.peakRssMb[impl] ??= [];
    res.peakRssMb[impl].push(mem?.hwmMb ?? NaN);
  } finally {
    await b.stop();
  }
}

/** A fresh broker, a topic of 1,000 partitions, RSS once every partition exists (and settles). */
async function idleRss(
  impl: KafkaImpl,
  zk: ServerHandle,
  loadgen: string,
): Promise<{ startMb: number; idleMb: number; startupMs: number }> {
  const b = await startBroker(impl, zk, loadgen);
  try {
    const startMb = memory(b.pid)?.rssMb ?? NaN;
    await b.createTopic('idle', IDLE_PARTITIONS);
    if (b.logDir) {
      const dir = b.logDir;
      const deadline = Date.now() + 120_000;
      for (;;) {
        const have = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.startsWith('idle-')).length;
        if (have >= IDLE_PARTITIONS) break;
        if (Date.now() > deadline) throw new Error(`${impl}: only ${have} of ${IDLE_PARTITIONS} partition dirs after 120 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    // Let the creation's garbage settle into the steady idle footprint: RSS after 3 quiet seconds.
    await new Promise((r) => setTimeout(r, 3000));
    return { startMb, idleMb: memory(b.pid)?.rssMb ?? NaN, startupMs: b.startupMs };
  } finally {
    await b.stop();
  }
}

/** Ours under --cpu-prof while kafkaload produces 100 B records to 6 partitions at acks=1 and all. */
async function profileOurs(zk: ServerHandle, loadgen: string): Promise<KafkaBenchResult['profile']> {
  const dir = await mkdtemp(join(tmpdir(), 'cg-kprof-'));
  try {
    const b = await startBroker('clustergenie', zk, loadgen, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
    try {
      await b.createTopic('prof', 6);
      for (const acks of ['1', 'all']) await runKafkaload(['produce', b.bootstrap, 'prof', '100', String(RECORDS[100]), acks]);
    } finally {
      await b.stop();
    }
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('no .cpuprofile written (did the broker exit cleanly on SIGTERM?)');
    return {
      workload: `100 B × ${RECORDS[100]} records, 6 partitions, acks=1 then acks=all (kafkaload)`,
      ...summarizeProfile(join(dir, file)),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadgen = ensureKafkaLoadgen();
  const zk = await startApacheZooKeeper();
  const v = versions();
  const res: KafkaBenchResult = {
    date: new Date().toISOString(),
    durationSec: 0,
    quick: QUICK,
    repeat: REPEAT,
    machine: {
      cores: cpus().length,
      cpuModel: cpus()[0]?.model ?? '?',
      kernel: release(),
      memGb: totalmem() / 2 ** 30,
      ...v,
      loadAvgStart: loadavg(),
      loadAvgEnd: [],
    },
    config: {
      sharedProps: sharedProps(),
      records: RECORDS,
      e2eSec: E2E_SEC,
      zookeeper: 'Apache ZooKeeper 3.8 (Debian), one for the run, a chroot per broker',
    },
    impls: IMPLS,
    startupMs: {},
    peakRssMb: {},
    cases: {},
    idle: {},
    failures: [],
  };
  try {
    for (let rep = 1; rep <= REPEAT; rep++) {
      // ours/Apache alternate which goes first; the mock (a reference, not a contender) runs last.
      const zkImpls = IMPLS.filter((i) => i !== 'mock');
      const order = [...(rep % 2 === 1 ? zkImpls : [...zkImpls].reverse()), ...IMPLS.filter((i) => i === 'mock')];
      for (const impl of order) {
        try {
          await runImpl(impl, rep, zk, loadgen, res);
        } catch (e) {
          log(`[rep ${rep}] ${kafkaLabel(impl)} FAILED: ${(e as Error).message}`);
          res.failures.push({ section: 'throughput', impl, rep, message: (e as Error).message.slice(0, 4000) });
        }
      }
    }
    for (const impl of IMPLS) {
      try {
        const r = await idleRss(impl, zk, loadgen);
        res.idle[impl] = r;
        log(
          `[idle] ${kafkaLabel(impl)}: RSS ${Math.round(r.startMb)} MB at start, ${Math.round(r.idleMb)} MB with ${IDLE_PARTITIONS} partitions`,
        );
      } catch (e) {
        res.failures.push({ section: 'idle partitions', impl, message: (e as Error).message.slice(0, 4000) });
      }
    }
    if (PROFILE && IMPLS.includes('clustergenie')) {
      try {
        res.profile = await profileOurs(zk, loadgen);
      } catch (e) {
        res.failures.push({ section: 'profile', impl: 'clustergenie', message: (e as Error).message.slice(0, 4000) });
      }
    }
  } finally {
    await zk.stop();
  }
  res.durationSec = (Date.now() - started) / 1000;
  res.machine.loadAvgEnd = loadavg();
  res.startupSummary = Object.fromEntries(Object.entries(res.startupMs).map(([k, xs]) => [k, summarize(xs)]));
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(join(OUT_DIR, 'kafka-bench.json'), `${JSON.stringify(res, null, 2)}\n`);
  const md = renderKafkaMarkdown(res);
  writeFileSync(join(OUT_DIR, 'kafka-bench.md'), md);
  process.stdout.write(md);
  log(`wrote ${join(OUT_DIR, 'kafka-bench.json')} and kafka-bench.md in ${Math.round(res.durationSec)} s`);
  if (res.failures.length) process.exitCode = 1;
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
