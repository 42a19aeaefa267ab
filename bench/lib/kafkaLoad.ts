// Load generators for the Kafka benchmark: bench/loadgen/kafkaload.c on librdkafka (compiled on first
// use; the headers come from Debian's librdkafka-dev, installed or, without root, fetched with
// `apt-get download` into ~/.cache/clustergenie/librdkafka-dev) and Kafka's own
// kafka-producer-perf-test (ProducerPerformance from the cached 3.9 jars, with the JVM flags of
// kafka-producer-perf-test.sh). Each run reports the generator's own CPU: kafkaload measures itself
// (getrusage); for the JVM tool it is the growth of this process's reaped-children CPU
// (/proc/self/stat cutime + cstime) over the run, which counts only that child because runs are
// sequential and brokers do not exit meanwhile.

import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kafkaHome, kafkaToolClass } from '../../test/helpers/apacheKafka.js';
import { killOnExit } from '../../test/helpers/children.js';
import { clockTicks } from './procstat.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const cacheRoot = join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'clustergenie');

/** Header directory with librdkafka/rdkafka.h: the system's, else a cached unpacked librdkafka-dev. */
function rdkafkaInclude(): string {
  if (existsSync('/usr/include/librdkafka/rdkafka.h')) return '/usr/include';
  const dir = join(cacheRoot, 'librdkafka-dev');
  const inc = join(dir, 'root', 'usr', 'include');
  if (existsSync(join(inc, 'librdkafka', 'rdkafka_mock.h'))) return inc;
  mkdirSync(dir, { recursive: true });
  try {
    // Same version as the installed librdkafka1 (apt picks the candidate that matches the archive).
    execFileSync('apt-get', ['download', 'librdkafka-dev'], { cwd: dir, stdio: 'ignore' });
    const deb = readdirSync(dir).find((f) => f.startsWith('librdkafka-dev') && f.endsWith('.deb'));
    if (!deb) throw new Error('no .deb downloaded');
    execFileSync('dpkg', ['-x', join(dir, deb), join(dir, 'root')]);
  } catch (e) {
    throw new Error(`kafkaload needs librdkafka's headers: apt-get install librdkafka-dev (${(e as Error).message})`);
  }
  return inc;
}

let built: string | undefined;

/** Compiles kafkaload.c once per source version into node_modules/.cache/clustergenie. */
export function ensureKafkaLoadgen(): string {
  // An already built kafkaload (e.g. outside a read-only or shared node_modules).
  const given = process.env['KAFKALOAD'];
  if (given) return given;
  if (built && existsSync(built)) return built;
  const src = join(repoRoot, 'bench', 'loadgen', 'kafkaload.c');
  const sha = createHash('sha1').update(readFileSync(src)).digest('hex').slice(0, 12);
  const dir = join(repoRoot, 'node_modules', '.cache', 'clustergenie');
  const bin = join(dir, `kafkaload-${sha}`);
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    const inc = rdkafkaInclude();
    // The runtime library is librdkafka1 (a dependency of kcat); link its soname directly so the
    // unversioned .so symlink of the -dev package is not needed.
    execFileSync('gcc', ['-O2', '-Wall', `-I${inc}`, '-o', bin, src, '-lpthread', '-l:librdkafka.so.1'], { stdio: 'inherit' });
  }
  built = bin;
  return bin;
}

export interface CResult {
  [key: string]: number | string | boolean;
}

/** Runs kafkaload with args; resolves its JSON line (throws on a non-zero exit or a timeout). */
export function runKafkaload(args: string[], timeoutMs = 300_000): Promise<CResult> {
  const bin = ensureKafkaLoadgen();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    killOnExit(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4096);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code, sig) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      let json: CResult | undefined;
      try {
        json = JSON.parse(line) as CResult;
      } catch {
        // reported below
      }
      if (code !== 0 || !json) reject(new Error(`kafkaload ${args.join(' ')}: exit ${code ?? sig}\n${out}\n${err}`));
      else resolve(json);
    });
  });
}

/** CPU seconds of this process's reaped children (cutime + cstime, /proc/self/stat fields 16 and 17). */
function childrenCpuSec(): number {
  const text = readFileSync('/proc/self/stat', 'utf8');
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[16 - 3]) + Number(rest[17 - 3])) / clockTicks();
}

// kafka-run-class.sh's KAFKA_JVM_PERFORMANCE_OPTS and kafka-producer-perf-test.sh's heap.
const PERF_JVM = [
  '-Xmx512M',
  '-server',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-XX:MaxInlineLevel=15',
  '-Djava.awt.headless=true',
];

export interface PerfResult {
  records: number;
  recordsPerSec: number;
  mbPerSec: number;
  avgMs: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  /** CPU of the tool's JVM over its whole life (start-up and JIT included). */
  loadgenCpuSec: number;
}

/** kafka-producer-perf-test at full speed (throughput -1). */
export async function producerPerf(
  bootstrap: string,
  topic: string,
  recordBytes: number,
  records: number,
  acks: string,
): Promise<PerfResult> {
  const home = kafkaHome('3.9');
  const args = [
    ...PERF_JVM,
    `-Dlog4j.configuration=file:${join(home, 'config', 'log4j.properties')}`,
    '-cp',
    join(home, 'lib', '*'),
    kafkaToolClass('kafka-producer-perf-test'),
    '--topic',
    topic,
    '--num-records',
    String(records),
    '--record-size',
    String(recordBytes),
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${bootstrap}`,
    `acks=${acks}`,
    'linger.ms=5',
    'batch.size=262144',
    'enable.idempotence=false',
  ];
  const cpu0 = childrenCpuSec();
  const child = spawn(process.env['JAVA'] ?? 'java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-16_384);
  });
  child.stderr!.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-16_384);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
  const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  clearTimeout(timer);
  const loadgenCpuSec = childrenCpuSec() - cpu0;
  const m =
    /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, [\d.]+ ms max latency, (\d+) ms 50th, \d+ ms 95th, (\d+) ms 99th, (\d+) ms 99.9th/.exec(
      out,
    );
  if (code !== 0 || !m) throw new Error(`kafka-producer-perf-test exited ${code}:\n${out.slice(-3000)}`);
  return {
    records: Number(m[1]),
    recordsPerSec: Number(m[2]),
    mbPerSec: Number(m[3]),
    avgMs: Number(m[4]),
    p50Ms: Number(m[5]),
    p99Ms: Number(m[6]),
    p999Ms: Number(m[7]),
    loadgenCpuSec,
  };
}
