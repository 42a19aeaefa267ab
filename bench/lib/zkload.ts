// Drives the neutral C load generator (bench/loadgen/zkload.c) for ZooKeeper-protocol servers:
// compiles it once per source version into a cache directory, runs several worker processes
// against a set of hosts, synchronises their phases (every worker `ready` -> `go`; every worker
// `measure-start` -> onMeasureStart; last `result` -> onMeasureEnd), and merges their results.
//
// Worker protocol (see the header of zkload.c): stdout carries JSON lines only:
//   {"event":"ready"} | {"event":"measure-start"} | {"event":"result", ...}
// and the worker starts its load when it reads a line on stdin. Exit code 0 = done, 1 = bad
// arguments, 2 = connection/handshake/protocol failure (message on stderr naming session and host).
//
// Latency: each worker prints a sparse log-linear histogram as [[midpointUs, count], ...] (bucket
// midpoints, ~1.6% wide above 128 us, 1 us wide below). Workers share the scheme, so merging adds
// counts per key; percentiles are the midpoint of the bucket holding the rank, clamped to the
// exact maximum. max and mean are exact.
//
// Counting: ops = successful replies read inside the measurement window (watch: notifications
// read by watchers; delete: the window runs from go until every node is deleted); errors = error
// replies from go to the window's end (warmup included), per code in errorCodes. Nodes live under
// `<root>/w<worker>/s<local session index>` (c<k>, d<k>, n0..n4; watch: the writer's s0/n0..n4).

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants, existsSync } from 'node:fs';
import { access, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { killOnExit } from '../../test/helpers/children.js';
import { addCounts } from './stats.js';

export type ZkWorkload = 'create' | 'setData' | 'getData' | 'delete' | 'mixed' | 'multi' | 'watch';
export interface LoadOptions {
  hosts: string[]; // 'host:port'
  workload: ZkWorkload;
  sessions: number; // total sessions, spread over workers (session i → hosts[i % hosts.length])
  depth: number; // outstanding requests per session
  workers?: number; // processes (default 2)
  valueBytes?: number; // default 100
  warmupMs?: number; // default 1000
  durationMs?: number; // default 5000
  deleteOpsPerSession?: number; // delete only; default 2000
  root?: string; // default `/bench-${workload}-${Date.now()}-${random}`
  timeoutMs?: number; // overall deadline for the whole run (default warmup+duration+120 s); kill workers and reject after it
  onMeasureStart?: () => void; // called once, when every worker has printed measure-start (the orchestrator samples server CPU here)
  onMeasureEnd?: () => void; // called once, when the last result line arrived
}
export interface LatencySummaryUs {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}
export interface LoadResult {
  workload: ZkWorkload;
  ops: number;
  errors: number;
  errorCodes: Record<string, number>;
  seconds: number; // measurement window (max over workers)
  opsPerSec: number; // sum over workers of ops / their own window
  latencyUs: LatencySummaryUs;
  loadgenCpuSec: number; // sum over workers of user+sys during the window
  writes?: number; // watch only
}

export const WORKLOADS: readonly ZkWorkload[] = ['create', 'setData', 'getData', 'delete', 'mixed', 'multi', 'watch'];
const CFLAGS = ['-std=c11', '-O2', '-Wall', '-Wextra'];
const STDERR_KEEP = 16 * 1024;

/** The repository root: the nearest ancestor of this file that holds bench/loadgen/zkload.c. */
function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'bench', 'loadgen', 'zkload.c'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`zkload: cannot find bench/loadgen/zkload.c above ${fileURLToPath(import.meta.url)}`);
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const add = (d: Buffer): void => {
      if (output.length < 64 * 1024) output += d.toString();
    };
    child.stdout!.on('data', add);
    child.stderr!.on('data', add);
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

let building: Promise<string> | undefined;

/** Compiles bench/loadgen/zkload.c once per source version; returns the binary's path. */
export async function ensureLoadgen(): Promise<string> {
  const bin = await buildOnce();
  if (existsSync(bin)) return bin;
  // The cache directory was cleaned meanwhile (npm ci, another checkout): build once more.
  building = undefined;
  const again = await buildOnce();
  if (!existsSync(again)) throw new Error(`zkload: ${again} vanished right after it was built`);
  return again;
}

function buildOnce(): Promise<string> {
  building ??= build().catch((e: unknown) => {
    building = undefined; // let a later call retry (e.g. after gcc was installed)
    throw e;
  });
  return building;
}

async function build(): Promise<string> {
  const root = findRepoRoot();
  const src = join(root, 'bench', 'loadgen', 'zkload.c');
  const text = await readFile(src);
  const sha = createHash('sha1').update(text).update(CFLAGS.join(' ')).digest('hex');
  const cacheDir = join(root, 'node_modules', '.cache', 'clustergenie');
  const bin = join(cacheDir, `zkload-${sha}`);
  try {
    await access(bin, fsConstants.X_OK);
    return bin;
  } catch {
    // not built yet
  }
  await mkdir(cacheDir, { recursive: true });
  // Build under a private name and rename: concurrent builders (parallel test files) never see
  // a half-written binary.
  const tmp = `${bin}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  let r: { code: number | null; output: string };
  try {
    r = await run('gcc', [...CFLAGS, '-o', tmp, src]);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new Error('zkload: gcc not found on PATH; install a C compiler (e.g. apt-get install gcc) to build bench/loadgen/zkload.c');
    throw new Error(`zkload: cannot run gcc: ${(e as Error).message}`);
  }
  if (r.code !== 0) {
    await rm(tmp, { force: true });
    throw new Error(`zkload: compiling ${src} failed (gcc exit ${r.code}):\n${r.output}`);
  }
  await rename(tmp, bin);
  return bin;
}

// ---- worker processes

interface WorkerHist {
  count: number;
  sumNs: number;
  minNs: number;
  maxNs: number;
  buckets: [number, number][];
}
interface WorkerResult {
  worker: number;
  ops: number;
  errors: number;
  errorCodes: Record<string, number>;
  elapsedNs: number;
  cpuUserUs: number;
  cpuSysUs: number;
  writes: number;
  hist: WorkerHist;
}

interface Worker {
  id: number;
  child: ChildProcess;
  stderr: string;
  ready: boolean;
  measuring: boolean;
  result: WorkerResult | undefined;
  closed: boolean;
}

function killChild(c: ChildProcess): void {
  if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function validate(o: LoadOptions): void {
  const bad = (msg: string): never => {
    throw new Error(`zkload: ${msg}`);
  };
  if (!WORKLOADS.includes(o.workload)) bad(`unknown workload '${String(o.workload)}'`);
  if (!Array.isArray(o.hosts) || o.hosts.length === 0) bad('hosts is empty');
  for (const h of o.hosts) if (!/^.+:\d+$/.test(h) || h.includes(',')) bad(`bad host '${h}' (want host:port)`);
  const int = (name: string, v: number | undefined, min: number): void => {
    if (v !== undefined && (!Number.isInteger(v) || v < min)) bad(`${name} must be an integer >= ${min}, got ${v}`);
  };
  int('sessions', o.sessions, 1);
  int('depth', o.depth, 1);
  int('workers', o.workers, 1);
  int('valueBytes', o.valueBytes, 0);
  int('warmupMs', o.warmupMs, 0);
  int('durationMs', o.durationMs, 1);
  int('deleteOpsPerSession', o.deleteOpsPerSession, 1);
  int('timeoutMs', o.timeoutMs, 1);
  if (o.workload === 'watch' && o.sessions < 2) bad('workload watch needs sessions >= 2 (one writer and at least one watcher per worker)');
  if (o.root !== undefined && (!o.root.startsWith('/') || o.root.length < 2 || o.root.endsWith('/')))
    bad(`root must be an absolute znode path below /, got '${o.root}'`);
}

function percentile(sorted: [number, number][], total: number, q: number): number {
  const rank = Math.max(1, Math.ceil(q * total));
  let cum = 0;
  for (const [v, c] of sorted) {
    cum += c;
    if (cum >= rank) return v;
  }
  return sorted.length ? sorted[sorted.length - 1]![0] : 0;
}

function merge(workload: ZkWorkload, results: WorkerResult[]): LoadResult {
  const buckets = new Map<number, number>();
  const errorCodes: Record<string, number> = {};
  let ops = 0,
    errors = 0,
    writes = 0,
    opsPerSec = 0,
    maxNs = 0,
    count = 0,
    sumNs = 0,
    cpuUs = 0,
    seconds = 0;
  for (const r of results) {
    ops += r.ops;
    errors += r.errors;
    writes += r.writes;
    addCounts(errorCodes, r.errorCodes);
    const sec = r.elapsedNs / 1e9;
    seconds = Math.max(seconds, sec);
    if (sec > 0) opsPerSec += r.ops / sec;
    cpuUs += r.cpuUserUs + r.cpuSysUs;
    count += r.hist.count;
    sumNs += r.hist.sumNs;
    maxNs = Math.max(maxNs, r.hist.maxNs);
    for (const [v, c] of r.hist.buckets) buckets.set(v, (buckets.get(v) ?? 0) + c);
  }
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  const max = maxNs / 1000;
  const pct = (q: number): number => (count === 0 ? 0 : Math.min(percentile(sorted, count, q), max));
  const out: LoadResult = {
    workload,
    ops,
    errors,
    errorCodes,
    seconds,
    opsPerSec,
    latencyUs: { p50: pct(0.5), p99: pct(0.99), p999: pct(0.999), max, mean: count === 0 ? 0 : sumNs / count / 1000 },
    loadgenCpuSec: cpuUs / 1e6,
  };
  if (workload === 'watch') out.writes = writes;
  return out;
}

function parseResult(line: string, obj: Record<string, unknown>): WorkerResult {
  const num = (k: string): number => {
    const v = obj[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`zkload: result line without numeric '${k}': ${line.slice(0, 300)}`);
    return v;
  };
  const hist = obj['hist'] as WorkerHist | undefined;
  if (!hist || !Array.isArray(hist.buckets)) throw new Error(`zkload: result line without a histogram: ${line.slice(0, 300)}`);
  return {
    worker: num('worker'),
    ops: num('ops'),
    errors: num('errors'),
    errorCodes: (obj['errorCodes'] as Record<string, number> | undefined) ?? {},
    elapsedNs: num('elapsedNs'),
    cpuUserUs: num('cpuUserUs'),
    cpuSysUs: num('cpuSysUs'),
    writes: num('writes'),
    hist,
  };
}

/** Runs one load against `hosts` with worker processes; resolves with the merged result. */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  validate(opts);
  const bin = await ensureLoadgen();
  const valueBytes = opts.valueBytes ?? 100;
  const warmupMs = opts.warmupMs ?? 1000;
  const durationMs = opts.durationMs ?? 5000;
  const deleteOps = opts.deleteOpsPerSession ?? 2000;
  const root = opts.root ?? `/bench-${opts.workload}-${Date.now()}-${randomBytes(4).toString('hex')}`;
  const timeoutMs = opts.timeoutMs ?? warmupMs + durationMs + 120_000;
  // Every worker needs a session (watch: a writer and a watcher), so fewer workers for few sessions.
  const perWorkerMin = opts.workload === 'watch' ? 2 : 1;
  const nWorkers = Math.max(1, Math.min(opts.workers ?? 2, Math.floor(opts.sessions / perWorkerMin)));

  const workers: Worker[] = [];
  let base = 0;
  for (let w = 0; w < nWorkers; w++) {
    const n = Math.floor(opts.sessions / nWorkers) + (w < opts.sessions % nWorkers ? 1 : 0);
    const args = [
      '--hosts',
      opts.hosts.join(','),
      '--workload',
      opts.workload,
      '--sessions',
      String(n),
      '--session-base',
      String(base),
      '--depth',
      String(opts.depth),
      '--value-bytes',
      String(valueBytes),
      '--root',
      root,
      '--worker',
      String(w),
      '--warmup-ms',
      String(warmupMs),
      '--duration-ms',
      String(durationMs),
    ];
    if (opts.workload === 'delete') args.push('--ops', String(deleteOps));
    base += n;
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    killOnExit(child); // by PID, if this process exits first
    workers.push({ id: w, child, stderr: '', ready: false, measuring: false, result: undefined, closed: false });
  }

  return new Promise<LoadResult>((resolve, reject) => {
    let settled = false;
    let stage = 'setup';
    let measureStartCalled = false;
    let measureEndCalled = false;
    const stderrText = (): string =>
      workers
        .filter((w) => w.stderr.trim())
        .map((w) => `[worker ${w.id}] ${w.stderr.trim()}`)
        .join('\n');
    const fail = (msg: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const w of workers) killChild(w.child);
      const err = stderrText();
      reject(new Error(err ? `${msg}\n${err}` : msg));
    };
    const timer = setTimeout(
      () => fail(`zkload: ${opts.workload} run against ${opts.hosts.join(',')} did not finish within ${timeoutMs} ms (stage: ${stage})`),
      timeoutMs,
    );

    const maybeFinish = (): void => {
      if (settled || !workers.every((w) => w.closed)) return;
      settled = true;
      clearTimeout(timer);
      resolve(
        merge(
          opts.workload,
          workers.map((w) => w.result!),
        ),
      );
    };

    const onLine = (w: Worker, line: string): void => {
      if (settled || !line.trim()) return;
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(line) as Record<string, unknown>;
      } catch {
        fail(`zkload: worker ${w.id} printed an unexpected line: ${line.slice(0, 300)}`);
        return;
      }
      try {
        switch (obj['event']) {
          case 'ready':
            w.ready = true;
            if (workers.every((x) => x.ready)) {
              stage = opts.workload === 'delete' ? 'measure' : 'warmup';
              for (const x of workers) x.child.stdin!.write('go\n');
            }
            break;
          case 'measure-start':
            w.measuring = true;
            if (!measureStartCalled && workers.every((x) => x.measuring)) {
              measureStartCalled = true;
              stage = 'measure';
              opts.onMeasureStart?.();
            }
            break;
          case 'result':
            w.result = parseResult(line, obj);
            if (!measureEndCalled && workers.every((x) => x.result)) {
              measureEndCalled = true;
              stage = 'close';
              opts.onMeasureEnd?.();
            }
            break;
          default:
            fail(`zkload: worker ${w.id} printed an unknown event: ${line.slice(0, 300)}`);
        }
      } catch (e) {
        fail(e instanceof Error ? e.message : String(e));
      }
    };

    for (const w of workers) {
      const c = w.child;
      c.stdin!.on('error', () => {
        // EPIPE when a worker already exited; its exit status reports why
      });
      c.stderr!.on('data', (d: Buffer) => {
        if (w.stderr.length < STDERR_KEEP) w.stderr += d.toString();
      });
      createInterface({ input: c.stdout! }).on('line', (line) => onLine(w, line));
      c.once('error', (e) => fail(`zkload: cannot start worker ${w.id} (${bin}): ${e.message}`));
      c.once('close', (code, signal) => {
        w.closed = true;
        if (code !== 0) {
          fail(
            `zkload: worker ${w.id} (${opts.workload} on ${opts.hosts.join(',')}) ${signal ? `was killed by ${signal}` : `exited with code ${code}`} during ${stage}`,
          );
        } else if (!w.result) {
          fail(`zkload: worker ${w.id} exited without a result line during ${stage}`);
        } else {
          maybeFinish();
        }
      });
    }
  });
}
