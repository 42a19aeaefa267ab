// The BullMQ side of the jobs benchmark: a redis-server of our own on a free loopback port (AOF
// with fsync every second, no RDB saves: BullMQ's usual durability), the bench process as the
// producer (Queue.addBulk), and W worker processes, each a BullMQ Worker with concurrency C.
//
// A worker process is this same file run as `node jobsBullmq.js bullmq-worker <port> <queue> <C>`.
// It notes when the processor starts a job and, on the Worker's `completed` event (emitted after
// Redis recorded the completion), sends [run, submitAt, startAt, endAt] to the bench over the IPC
// channel in batches, so nothing extra is stored in Redis and the job's result stays empty.
//
// BullMQ 6 needs a Redis driver next to it (ioredis is a peer dependency): resolved from the
// project, or from the directory JOBS_BENCH_IOREDIS_FROM names (where `npm i ioredis` was run).

import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { trackChild } from '../../src/cluster/processCluster.js';
import { freePort } from '../../src/util/net.js';
import type { JobKind, JobsSide, JobTiming, ProcessRole } from './jobsReport.js';

const HOST = '127.0.0.1';
const REDIS_SERVER = process.env['JOBS_BENCH_REDIS_SERVER'] ?? '/usr/bin/redis-server';
const QUEUE = 'jobs-bench';
/** Timings a worker process holds before it sends them (4 numbers each). */
const timingsBufferMax = 2000;
const timingsFlushMs = 50;
const redisReadyTimeoutMs = 15_000;
const workerReadyTimeoutMs = 30_000;
const stopTimeoutMs = 10_000;
const logTailBytesMax = 4096;

/** What the bench stores in each job: submit time and run number (a few bytes, like a small real payload). */
interface BenchJobData {
  s: number;
  r: number;
}

type RedisCtor = new (opts: Record<string, unknown>) => { quit(): Promise<unknown>; disconnect(): void };

/** The ioredis constructor, from the project or from JOBS_BENCH_IOREDIS_FROM. */
export function loadIORedis(): RedisCtor {
  const from = process.env['JOBS_BENCH_IOREDIS_FROM'];
  const bases = [import.meta.url, ...(from ? [pathToFileURL(join(from, 'package.json')).href] : [])];
  const errors: string[] = [];
  for (const base of bases) {
    try {
      const mod = createRequire(base)('ioredis') as { default?: unknown; Redis?: unknown };
      return (mod.Redis ?? mod.default ?? mod) as RedisCtor;
    } catch (e) {
      errors.push((e as Error).message.split('\n')[0]!);
    }
  }
  throw new Error(
    `BullMQ needs the ioredis package (a peer dependency of bullmq 6) and it was not found: ${errors.join('; ')}. ` +
      'Add it to devDependencies, or run `npm i --prefix <dir> ioredis` and set JOBS_BENCH_IOREDIS_FROM=<dir>.',
  );
}

function tail(path: string): string {
  try {
    const b = readFileSync(path);
    return b.subarray(Math.max(0, b.length - logTailBytesMax)).toString('utf8');
  } catch {
    return '';
  }
}

/** True once `PING` gets `+PONG` from the server on `port`. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: HOST, port });
    let got = '';
    const timer = setTimeout(() => sock.destroy(), 1000);
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) sock.end();
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(got.startsWith('+PONG'));
    });
  });
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export function redisVersion(): string {
  try {
    return execFileSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' }).trim();
  } catch (e) {
    return `unknown (${(e as Error).message})`;
  }
}

export class BullmqSide implements JobsSide {
  readonly name = 'bullmq' as const;
  private dir = '';
  private port = 0;
  private redis: ChildProcess | undefined;
  private connection: InstanceType<RedisCtor> | undefined;
  private queue: Queue | undefined;
  private workers: ChildProcess[] = [];
  private run = 0;
  private onCompleted: ((t: JobTiming) => void) | undefined;

  async start(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'cg-jobs-bullmq-'));
    this.port = await freePort();
    const log = join(this.dir, 'redis.log');
    const fd = openSync(log, 'a');
    try {
      // Durability as BullMQ users run it: the AOF, fsynced once a second; no RDB snapshots to compete for the disk.
      const args = ['--port', String(this.port), '--bind', HOST, '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec'];
      this.redis = spawn(REDIS_SERVER, [...args, '--dir', this.dir], { stdio: ['ignore', fd, fd], detached: true });
    } finally {
      closeSync(fd);
    }
    trackChild(this.redis);
    const deadline = Date.now() + redisReadyTimeoutMs;
    while (!(await ping(this.port))) {
      if (this.redis.exitCode !== null || Date.now() > deadline) {
        throw new Error(`redis-server on port ${this.port} did not answer PING; log ${log}:\n${tail(log)}`);
      }
      await sleepFor(50);
    }
    const Redis = loadIORedis();
    this.connection = new Redis({ host: HOST, port: this.port, maxRetriesPerRequest: null });
    this.queue = new Queue(QUEUE, { connection: this.connection as never });
    await this.queue.waitUntilReady();
  }

  async startWorkers(count: number, concurrency: number): Promise<void> {
    await this.stopWorkers();
    const script = fileURLToPath(import.meta.url);
    const ready: Promise<void>[] = [];
    for (let i = 1; i <= count; i++) {
      const log = join(this.dir, `worker-${i}.log`);
      const fd = openSync(log, 'a');
      let child: ChildProcess;
      try {
        child = fork(script, ['bullmq-worker', String(this.port), QUEUE, String(concurrency)], {
          stdio: ['ignore', fd, fd, 'ipc'],
          detached: true,
        });
      } finally {
        closeSync(fd);
      }
      trackChild(child);
      this.workers.push(child);
      ready.push(
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`BullMQ worker ${i} not ready after ${workerReadyTimeoutMs} ms:\n${tail(log)}`)),
            workerReadyTimeoutMs,
          );
          child.once('exit', (code, signal) => {
            clearTimeout(timer);
            reject(new Error(`BullMQ worker ${i} exited (${signal ?? code}):\n${tail(log)}`));
          });
          child.on('message', (m: { type: string; data?: number[] }) => {
            if (m.type === 'ready') {
              clearTimeout(timer);
              resolve();
            } else if (m.type === 'timings' && m.data) this.deliver(m.data);
          });
        }),
      );
    }
    await Promise.all(ready);
  }

  private deliver(flat: number[]): void {
    for (let i = 0; i + 3 < flat.length; i += 4) {
      if (flat[i] !== this.run) continue;
      this.onCompleted?.({ submitAt: flat[i + 1]!, startAt: flat[i + 2]!, endAt: flat[i + 3]! });
    }
  }

  async stopWorkers(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(
      ws.map((w) => {
        if (w.connected) w.send({ type: 'stop' });
        return waitExit(w, stopTimeoutMs);
      }),
    );
  }

  beginRun(onCompleted: (t: JobTiming) => void): void {
    this.run++;
    this.onCompleted = onCompleted;
  }

  async submit(kind: JobKind, count: number, submitAt: number): Promise<void> {
    const data: BenchJobData = { s: submitAt, r: this.run };
    await this.queue!.addBulk(Array.from({ length: count }, () => ({ name: kind, data })));
  }

  processes(): { role: ProcessRole; pid: number }[] {
    const out: { role: ProcessRole; pid: number }[] = [];
    if (this.redis?.pid !== undefined) out.push({ role: 'redis', pid: this.redis.pid });
    for (const w of this.workers) if (w.pid !== undefined) out.push({ role: 'worker', pid: w.pid });
    return out;
  }

  describe(): Record<string, unknown> {
    const bullmq = createRequire(import.meta.url)('bullmq/package.json') as { version: string };
    return {
      redis: redisVersion(),
      redisArgs: '--save "" --appendonly yes --appendfsync everysec',
      bullmq: bullmq.version,
      queueDefaults: 'BullMQ defaults: attempts 1, completed jobs kept',
    };
  }

  async close(): Promise<void> {
    await this.stopWorkers();
    await this.queue?.close().catch(() => undefined);
    await this.connection?.quit().catch(() => undefined);
    if (this.redis) {
      try {
        if (this.redis.pid !== undefined) process.kill(this.redis.pid, 'SIGTERM');
      } catch {
        // gone
      }
      await waitExit(this.redis, stopTimeoutMs);
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The worker process: a BullMQ Worker reporting each completed job's times to the bench. */
async function workerMain(port: number, queueName: string, concurrency: number): Promise<void> {
  const Redis = loadIORedis();
  const connection = new Redis({ host: HOST, port, maxRetriesPerRequest: null });
  const startedAt = new Map<string, number>();
  let buffer: number[] = [];
  const flush = (): void => {
    if (buffer.length === 0 || !process.connected) return;
    process.send?.({ type: 'timings', data: buffer });
    buffer = [];
  };
  const worker = new Worker<BenchJobData>(
    queueName,
    async (job) => {
      startedAt.set(job.id!, Date.now());
      if (job.name === 'sleep10') await sleepFor(10);
    },
    { connection: connection as never, concurrency },
  );
  worker.on('completed', (job) => {
    const end = Date.now();
    const start = startedAt.get(job.id!) ?? Number.NaN;
    startedAt.delete(job.id!);
    buffer.push(job.data.r, job.data.s, start, end);
    if (buffer.length >= timingsBufferMax * 4) flush();
  });
  worker.on('failed', (job, err) => process.stderr.write(`job ${job?.id} failed: ${err.message}\n`));
  worker.on('error', (err) => process.stderr.write(`worker error: ${err.message}\n`));
  const timer = setInterval(flush, timingsFlushMs);
  await worker.waitUntilReady();
  process.send?.({ type: 'ready' });
  process.on('message', (m: { type: string }) => {
    if (m.type !== 'stop') return;
    void (async () => {
      clearInterval(timer);
      await worker.close();
      flush();
      await connection.quit().catch(() => undefined);
      process.exit(0);
    })();
  });
  // The bench went away (crash): do not linger.
  process.on('disconnect', () => process.exit(0));
}

if (process.argv[2] === 'bullmq-worker' && process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  workerMain(Number(process.argv[3]), process.argv[4]!, Number(process.argv[5])).catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
