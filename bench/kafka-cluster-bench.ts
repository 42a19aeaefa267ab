// Cluster benchmark (issue 14, "Performance"): three ClusterGenie brokers (processes, ProcessCluster)
// vs three Apache Kafka 3.9 brokers (ZooKeeper mode, kafka-server-start.sh's JVM flags), both on one
// 3-member ZooKeeper ensemble of ours started for the repetition (Apache in a chroot), data in the
// OS temp dir, the same server.properties keys (bench/lib/kafkaClusterSides.ts), topics of RF 3 with
// min.insync.replicas 2. The sides alternate which goes first in each repetition. Per side:
//   - produce at acks=all, 100 B and 1 KB records (bench/loadgen/kafkaload.c), records/s, MB/s and
//     the CPU of the three broker processes per MB (/proc/<pid>/stat over the run);
//   - end-to-end p50/p99 at half of that acks=all peak (kafkaload e2e: its producer uses acks=1,
//     but the consumer only sees records below the high watermark, so replication is included);
//   - failovers (bench/lib/kafkaClusterFailover.ts): controlled shutdown, kill -9 of a leader, the
//     return of that broker to every ISR, kill -9 of the controller.
// Ours also runs one single broker at acks=1 (same run, same ensemble, a chroot): the figure the
// replicated acks=all path is compared with. Writes kafka-cluster-bench.json and .md.
//
//   npm run bench:kafka-cluster          (builds first; or node dist/bench/kafka-cluster-bench.js)
//   KAFKA_CLUSTER_BENCH_QUICK=1           1 repetition, short runs: a few minutes
//   KAFKA_CLUSTER_BENCH_REPEAT=3          repetitions (default 3; quick 1)
//   KAFKA_CLUSTER_BENCH_RECORDS_100=1000000  records per produce run at 100 B (quick: 150000)
//   KAFKA_CLUSTER_BENCH_RECORDS_1K=200000    records per produce run at 1 KB (quick: 30000)
//   KAFKA_CLUSTER_BENCH_PARTITIONS=6      partitions of the throughput topics
//   KAFKA_CLUSTER_BENCH_E2E_SEC=5         measured seconds of each latency run (quick: 2)
//   KAFKA_CLUSTER_BENCH_SESSION_MS=6000   zookeeper.session.timeout.ms of every broker (both sides)
//   KAFKA_CLUSTER_BENCH_IMPLS=clustergenie,apache
//   KAFKA_CLUSTER_BENCH_FAILOVER=0        skip the failovers
//   KAFKA_CLUSTER_BENCH_OUT_DIR=bench/results

import { runBenchMain, writeBenchReport } from './lib/report.js';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { ProcessCluster } from '../src/cluster/processCluster.js';
import type { ZooKeeperClient } from '../src/zookeeper/client/index.js';
import { runFailovers } from './lib/kafkaClusterFailover.js';
import {
  BROKER_IDS,
  type ClusterImpl,
  type ClusterSide,
  apacheSide,
  clusterLabel,
  clusterProps,
  createTopic,
  oursSide,
  startSingleOurs,
} from './lib/kafkaClusterSides.js';
import { ensureKafkaLoadgen, runKafkaload, type CResult } from './lib/kafkaLoad.js';
import { versions } from './lib/kafkaServers.js';
import { CpuMeter } from './lib/procstat.js';
import { median, ratio } from './lib/stats.js';

const P = 'KAFKA_CLUSTER_BENCH_';
const QUICK = process.env[`${P}QUICK`] === '1';
const num = (k: string, d: number): number => {
  const v = process.env[P + k];
  const n = v ? Number(v.replaceAll('_', '')) : d;
  if (!Number.isFinite(n) || n < 0) throw new Error(`${P}${k} must be a non-negative number`);
  return n;
};
const REPEAT = Math.max(1, num('REPEAT', QUICK ? 1 : 3));
const RECORDS: Record<number, number> = {
  100: num('RECORDS_100', QUICK ? 150_000 : 1_000_000),
  1024: num('RECORDS_1K', QUICK ? 30_000 : 200_000),
};
const PARTITIONS = num('PARTITIONS', 6);
const E2E_SEC = num('E2E_SEC', QUICK ? 2 : 5);
const SESSION_MS = num('SESSION_MS', 6000);
const FAILOVER = process.env[`${P}FAILOVER`] !== '0';
const OUT_DIR = process.env[`${P}OUT_DIR`] ?? 'bench/results';
const IMPLS = (process.env[`${P}IMPLS`]?.split(',') as ClusterImpl[] | undefined) ?? (['clustergenie', 'apache'] as ClusterImpl[]);
const SIZES = [100, 1024];
const MB = 1024 * 1024;

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const n = (r: CResult, k: string): number => Number(r[k]);

/** Every figure of a side, by metric name, one value per repetition. */
type Metrics = Record<string, number[]>;

interface ClusterBenchResult {
  date: string;
  durationSec: number;
  quick: boolean;
  repeat: number;
  machine: Record<string, unknown> & { loadAvgStart: number[]; loadAvgEnd: number[] };
  config: Record<string, unknown>;
  impls: ClusterImpl[];
  metrics: Partial<Record<ClusterImpl, Metrics>>;
  /** Ours, one broker, acks=1, same record counts: records/s and MB/s per size. */
  single: Metrics;
  failures: { section: string; impl: ClusterImpl | 'single'; rep: number; message: string }[];
}

function push(m: Metrics, k: string, v: number): void {
  const xs = m[k] ?? [];
  xs.push(v);
  m[k] = xs;
}

/** Produce (acks=all) and e2e at half that peak for each record size, on the live side. */
async function throughput(zk: ZooKeeperClient, side: ClusterSide, m: Metrics, tag: string): Promise<void> {
  for (const size of SIZES) {
    const key = size === 100 ? '100B' : '1KB';
    const topic = `tp-${key}`;
    await createTopic(zk, side, topic, PARTITIONS);
    const pids = BROKER_IDS.map((id) => side.pid(id)!);
    const meter = new CpuMeter(pids);
    meter.start();
    const r = await runKafkaload(['produce', side.bootstrap(), topic, String(size), String(RECORDS[size]), 'all']);
    meter.end();
    if (n(r, 'errors') > 0) throw new Error(`${key} acks=all: ${n(r, 'errors')} delivery errors (${r['firstError']})`);
    const rps = n(r, 'records') / n(r, 'seconds');
    const mbps = n(r, 'bytes') / MB / n(r, 'seconds');
    const cpu = (meter.seconds * 1000) / (n(r, 'bytes') / MB);
    push(m, `produce acks=all ${key}: records/s`, rps);
    push(m, `produce acks=all ${key}: MB/s`, mbps);
    push(m, `produce acks=all ${key}: broker CPU ms/MB (sum of 3)`, cpu);
    log(`${tag} ${key} acks=all: ${Math.round(rps)} rec/s, ${mbps.toFixed(1)} MB/s, ${cpu.toFixed(1)} ms CPU/MB`);
    const etopic = `e2e-${key}`;
    await createTopic(zk, side, etopic, PARTITIONS);
    const rate = Math.max(100, Math.round(rps / 2));
    const e = await runKafkaload(['e2e', side.bootstrap(), etopic, String(PARTITIONS), String(size), String(rate), String(E2E_SEC)]);
    push(m, `e2e ${key} at half peak: rate records/s`, rate);
    push(m, `e2e ${key} at half peak: p50 ms`, n(e, 'p50Us') / 1000);
    push(m, `e2e ${key} at half peak: p99 ms`, n(e, 'p99Us') / 1000);
    log(`${tag} ${key} e2e at ${rate}/s: p50 ${(n(e, 'p50Us') / 1000).toFixed(2)} p99 ${(n(e, 'p99Us') / 1000).toFixed(2)} ms`);
  }
}

/** Ours, one broker on a chroot of the same ensemble, acks=1: the unreplicated reference. */
async function singleAcks1(cluster: ProcessCluster, rep: number, res: ClusterBenchResult): Promise<void> {
  const b = await startSingleOurs(`${cluster.zkConnect}/single-${rep}`, mkdtempSync(join(tmpdir(), 'cg-kcb-single-')));
  try {
    for (const size of SIZES) {
      const key = size === 100 ? '100B' : '1KB';
      await runKafkaload(['create', b.bootstrap, `s-${key}`, String(PARTITIONS)], 60_000);
      const r = await runKafkaload(['produce', b.bootstrap, `s-${key}`, String(size), String(RECORDS[size]), '1']);
      const rps = n(r, 'records') / n(r, 'seconds');
      push(res.single, `single broker acks=1 ${key}: records/s`, rps);
      push(res.single, `single broker acks=1 ${key}: MB/s`, n(r, 'bytes') / MB / n(r, 'seconds'));
      log(`[rep ${rep}] ours single broker ${key} acks=1: ${Math.round(rps)} rec/s`);
    }
  } finally {
    await b.stop();
  }
}

async function runSide(impl: ClusterImpl, cluster: ProcessCluster, rep: number, dataRoot: string, res: ClusterBenchResult): Promise<void> {
  const tag = `[rep ${rep}] ${clusterLabel(impl)}`;
  const zk = await cluster.zkClient();
  const m: Metrics = res.metrics[impl] ?? {};
  res.metrics[impl] = m;
  const t0 = Date.now();
  let side: ClusterSide | undefined;
  try {
    if (impl === 'clustergenie') {
      await cluster.startGroup(cluster.brokers, 120_000);
      side = oursSide(cluster);
    } else {
      side = await apacheSide(cluster.zkConnect, `/apache-${rep}`, dataRoot, clusterProps(SESSION_MS));
    }
    push(m, 'start of 3 brokers, ms', Date.now() - t0);
    log(`${tag}: 3 brokers serving after ${Date.now() - t0} ms`);
    try {
      await throughput(zk, side, m, tag);
    } catch (e) {
      log(`${tag} throughput FAILED: ${(e as Error).message}`);
      res.failures.push({ section: 'throughput', impl, rep, message: (e as Error).message.slice(0, 4000) });
    }
    if (FAILOVER) {
      const { result, failures } = await runFailovers(zk, side, log);
      for (const f of failures) res.failures.push({ section: 'failover', impl, rep, message: f.slice(0, 4000) });
      const cs = result.controlledShutdown;
      if (cs) {
        push(m, 'controlled shutdown: all leaders moved, ms', cs.leadersMovedMs);
        push(m, 'controlled shutdown: process exit, ms', cs.processExitMs);
      }
      const kl = result.killLeader;
      if (kl) {
        push(m, 'kill -9 leader: session expiry, ms', kl.sessionExpiryMs);
        push(m, 'kill -9 leader: new leader in state znode, ms', kl.leaderMovedMs);
        push(m, 'kill -9 leader: first acks=all write on new leader, ms', kl.firstAckMs);
        push(m, 'kill -9 leader: expiry → first acked write, ms', kl.firstAckAfterExpiryMs);
      }
      if (result.rejoin) {
        push(m, 'restarted broker: serving, ms', result.rejoin.servingMs);
        push(m, 'restarted broker: back in every ISR, ms', result.rejoin.backInIsrMs);
      }
      const kc = result.killController;
      if (kc) {
        push(m, 'kill -9 controller: new /controller, ms', kc.newControllerMs);
        push(m, 'kill -9 controller: new controller serving CreateTopics, ms', kc.servingMs);
        push(m, 'kill -9 controller: expiry → serving, ms', kc.servingAfterExpiryMs);
      }
    }
  } catch (e) {
    log(`${tag} FAILED: ${(e as Error).message}`);
    res.failures.push({ section: 'side', impl, rep, message: (e as Error).message.slice(0, 4000) });
  } finally {
    await side?.close().catch(() => undefined);
    if (impl === 'clustergenie') await Promise.all(cluster.brokers.map((b) => b.stop(30_000)));
  }
}

const fmt = (x: number, d: number): string =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a';
function cell(xs: readonly number[] | undefined, d = 0): string {
  const s = (xs ?? []).filter(Number.isFinite);
  if (!s.length) return 'n/a';
  return s.length > 1 ? `${fmt(median(s), d)} (${fmt(Math.min(...s), d)}–${fmt(Math.max(...s), d)})` : fmt(median(s), d);
}

function render(res: ClusterBenchResult): string {
  const ours = res.metrics.clustergenie ?? {};
  const ap = res.metrics.apache ?? {};
  const keys = [...new Set([...Object.keys(ours), ...Object.keys(ap)])];
  const digits = (k: string): number => (k.includes('MB/s') || k.includes('CPU') || k.includes('p50') || k.includes('p99') ? 1 : 0);
  const lines = [
    `# Kafka cluster benchmark: 3 ClusterGenie brokers vs 3 Apache Kafka 3.9 brokers`,
    '',
    `${res.date}, ${res.quick ? 'QUICK mode (indicative only)' : 'full mode'}, ${res.repeat} repetition(s), ${Math.round(res.durationSec)} s.`,
    `Machine: ${String(res.machine['cores'])} cores (${String(res.machine['cpuModel'])}), load average at start ${res.machine.loadAvgStart
      .map((x) => x.toFixed(2))
      .join(' / ')}, at end ${res.machine.loadAvgEnd.map((x) => x.toFixed(2)).join(' / ')}.`,
    `Records per produce run: ${RECORDS[100]} × 100 B, ${RECORDS[1024]} × 1 KB; ${PARTITIONS} partitions, RF 3, min.insync.replicas 2;`,
    `zookeeper.session.timeout.ms ${SESSION_MS}; ZooKeeper: our 3-member ensemble (Apache in a chroot). Medians (min–max).`,
    '',
    '| metric | ClusterGenie | Apache Kafka 3.9 | ours / Apache |',
    '|---|---:|---:|---:|',
  ];
  for (const k of keys) {
    const r = ratio(median(ours[k] ?? []), median(ap[k] ?? []));
    lines.push(`| ${k} | ${cell(ours[k], digits(k))} | ${cell(ap[k], digits(k))} | ${Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a'} |`);
  }
  lines.push('', '| ours: replicated acks=all (3 brokers) vs one broker at acks=1 | records/s | ratio |', '|---|---:|---:|');
  for (const key of ['100B', '1KB']) {
    const rep = ours[`produce acks=all ${key}: records/s`];
    const one = res.single[`single broker acks=1 ${key}: records/s`];
    const r = ratio(median(rep ?? []), median(one ?? []));
    lines.push(`| ${key}: 3 brokers acks=all | ${cell(rep)} | ${Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a'} |`);
    lines.push(`| ${key}: 1 broker acks=1 | ${cell(one)} | 1.00× |`);
  }
  if (res.failures.length) {
    lines.push('', '## Failures', '');
    for (const f of res.failures) lines.push(`- rep ${f.rep}, ${f.impl}, ${f.section}: ${f.message.split('\n')[0]}`);
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const started = Date.now();
  ensureKafkaLoadgen();
  const res: ClusterBenchResult = {
    date: new Date().toISOString(),
    durationSec: 0,
    quick: QUICK,
    repeat: REPEAT,
    machine: {
      cores: cpus().length,
      cpuModel: cpus()[0]?.model ?? '?',
      kernel: release(),
      memGb: totalmem() / 2 ** 30,
      ...versions(),
      loadAvgStart: loadavg(),
      loadAvgEnd: [],
    },
    config: {
      props: clusterProps(SESSION_MS),
      records: RECORDS,
      partitions: PARTITIONS,
      e2eSec: E2E_SEC,
      zookeeper: 'ClusterGenie 3-member ensemble',
    },
    impls: IMPLS,
    metrics: {},
    single: {},
    failures: [],
  };
  for (let rep = 1; rep <= REPEAT; rep++) {
    const dir = mkdtempSync(join(tmpdir(), 'cg-kcb-'));
    const cluster = await ProcessCluster.create({
      dir,
      zookeepers: 3,
      brokers: 3,
      tickTimeMs: 500,
      initLimit: 10,
      syncLimit: 5,
      brokerConfig: () => clusterProps(SESSION_MS),
    });
    try {
      await cluster.startGroup(cluster.zookeepers, 60_000);
      const order = rep % 2 === 1 ? IMPLS : [...IMPLS].reverse();
      for (const impl of order) await runSide(impl, cluster, rep, dir, res);
      if (IMPLS.includes('clustergenie')) {
        await singleAcks1(cluster, rep, res).catch((e: unknown) => {
          res.failures.push({ section: 'single broker', impl: 'single', rep, message: (e as Error).message.slice(0, 4000) });
        });
      }
    } finally {
      await cluster.close(10_000);
      await rm(dir, { recursive: true, force: true });
    }
  }
  res.durationSec = (Date.now() - started) / 1000;
  res.machine.loadAvgEnd = loadavg();
  writeBenchReport(OUT_DIR, 'kafka-cluster-bench', res, render(res), log);
  if (res.failures.length) process.exitCode = 1;
}

runBenchMain(main);
