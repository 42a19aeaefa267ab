// The processes of the logs benchmark (bench/logs-bench.ts): one ZooKeeper member and one broker as
// processes (ProcessCluster), the log pipeline as processes of this build's CLI (`main.js ship-logs`,
// `log-consumer`, `log-store`, as `clustergenie up` runs them), and the peer: a plain
// `tail -F <file> | kcat -P -b <bootstrap> -t <topic>` pipeline (two processes joined by one pipe,
// each with its own PID so /proc gives each one's CPU). Also the two probes the bench measures
// with: the sum of a topic's end offsets (ListOffsets, latest) and the log store's entry count
// (its /metrics gauge of stored entries).

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Admin } from '@platformatic/kafka';
import { ProcessCluster } from '../../src/cluster/processCluster.js';
import { ServiceProcess } from '../../src/cluster/serviceProcess.js';
import { clientBase, ensureTopics, type KafkaEndpoint } from '../../src/genie/kafka.js';
import { freePort } from '../../src/util/net.js';
import { killOnExit, waitExit } from '../../test/helpers/children.js';

const clusterStartTimeoutMs = 120_000;
const serviceReadyTimeoutMs = 90_000;
const stopTimeoutMs = 30_000;
const topicReadyTimeoutMs = 30_000;

export interface BenchProcess {
  role: string;
  pid: number;
}

/** One ZooKeeper member, one broker (processes), a temp dir for files and logs; close() removes it. */
export class LogsBenchCluster {
  readonly dir: string;
  private admin: Admin | undefined;

  private constructor(
    private readonly cluster: ProcessCluster,
    dir: string,
  ) {
    this.dir = dir;
  }

  static async start(): Promise<LogsBenchCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'cg-logs-bench-'));
    try {
      const cluster = await ProcessCluster.start({
        dir,
        zookeepers: 1,
        brokers: 1,
        tickTimeMs: 500,
        initLimit: 10,
        syncLimit: 5,
        startTimeoutMs: clusterStartTimeoutMs,
        brokerConfig: () => ({ 'offsets.topic.replication.factor': '1', 'group.initial.rebalance.delay.ms': '0' }),
      });
      return new LogsBenchCluster(cluster, dir);
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  get bootstrap(): string {
    return this.cluster.bootstrap;
  }

  get kafka(): KafkaEndpoint {
    return { bootstrapBrokers: this.bootstrap.split(','), clientId: 'logs-bench' };
  }

  /** The broker and ZooKeeper processes. */
  processes(): BenchProcess[] {
    const out: BenchProcess[] = [];
    for (const b of this.cluster.brokers) if (b.pid !== undefined) out.push({ role: 'broker', pid: b.pid });
    for (const z of this.cluster.zookeepers) if (z.pid !== undefined) out.push({ role: 'zookeeper', pid: z.pid });
    return out;
  }

  /** Creates the topic and waits until this client's metadata shows a leader for every partition. */
  async createTopic(name: string, partitions: number): Promise<void> {
    const deadline = Date.now() + topicReadyTimeoutMs;
    // Right after the cluster started, the broker may not be registered yet ("larger than available brokers: 0").
    for (;;) {
      try {
        await ensureTopics(this.kafka, [{ name, partitions, replicationFactor: 1 }]);
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    this.admin ??= new Admin(clientBase(this.kafka));
    for (;;) {
      // @platformatic/kafka's listOffsets throws uncatchably on a topic missing from its metadata.
      const md = await this.admin.metadata({ topics: [name], forceUpdate: true }).catch(() => undefined);
      const ps = md?.topics.get(name)?.partitions ?? [];
      if (ps.length === partitions && ps.every((p) => p !== undefined && p.leader >= 0)) return;
      if (Date.now() > deadline) throw new Error(`topic ${name} has no leader for every partition after ${topicReadyTimeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Sum of the topic's end offsets (records in it, as nothing is deleted during a run). */
  async endOffsetSum(topic: string, partitions: number): Promise<number> {
    this.admin ??= new Admin(clientBase(this.kafka));
    const listed = await this.admin.listOffsets({
      topics: [
        { name: topic, partitions: Array.from({ length: partitions }, (_, partitionIndex) => ({ partitionIndex, timestamp: -1n })) },
      ],
    });
    let sum = 0;
    for (const t of listed) for (const p of t.partitions) sum += Number(p.offset);
    return sum;
  }

  async close(): Promise<void> {
    await this.admin?.close().catch(() => undefined);
    await this.cluster.close(10_000).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A CLI service of this build (ship-logs, log-consumer, log-store) that must not restart on its own. */
export async function startService(
  name: string,
  args: string[],
  logPath: string,
  readyLine: RegExp,
  env?: NodeJS.ProcessEnv,
  mainJs?: string,
): Promise<ServiceProcess> {
  const p = new ServiceProcess({
    name,
    args,
    logPath,
    readyLine,
    restartOnCrash: false,
    ...(env ? { env } : {}),
    ...(mainJs ? { mainJs } : {}),
  });
  p.start();
  try {
    await p.waitReady(serviceReadyTimeoutMs);
  } catch (e) {
    await p.stop(5000);
    throw e;
  }
  return p;
}

export const stopService = (p: ServiceProcess): Promise<unknown> => p.stop(stopTimeoutMs);

/** `ship-logs --from-beginning <file>` into `topic`. */
export function startShipper(c: LogsBenchCluster, o: { file: string; topic: string; tag: string }): Promise<ServiceProcess> {
  return startService(
    `ship-logs ${o.tag}`,
    [
      'ship-logs',
      '--bootstrap-server',
      c.bootstrap,
      '--topic',
      o.topic,
      '--checkpoint',
      join(c.dir, `${o.tag}.checkpoint.json`),
      '--from-beginning',
      o.file,
    ],
    join(c.dir, `ship-logs-${o.tag}.log`),
    /ship-logs ready/,
  );
}

/** The embedded log store on a free port, its data in the bench's temp dir; returns it and its URL. */
export async function startLogStore(c: LogsBenchCluster): Promise<{ process: ServiceProcess; url: string }> {
  const port = await freePort();
  const p = await startService(
    'log-store',
    ['log-store', '--host', '127.0.0.1', '--port', String(port), '--data-dir', join(c.dir, 'log-store')],
    join(c.dir, 'log-store.log'),
    /log-store listening on http/,
  );
  return { process: p, url: `http://127.0.0.1:${port}` };
}

export function startLogConsumer(c: LogsBenchCluster, o: { topic: string; lokiUrl: string }): Promise<ServiceProcess> {
  return startService(
    'log-consumer',
    ['log-consumer', '--bootstrap-server', c.bootstrap, '--topic', o.topic, '--loki-url', o.lokiUrl, '--group', `logs-bench-${Date.now()}`],
    join(c.dir, 'log-consumer.log'),
    /log-consumer ready/,
  );
}

/**
 * Entries the log store holds: its `clustergenie_logstore_stored_entries` gauge (an in-memory
 * count, refreshed on each scrape), so polling it costs the store little (a count query would not).
 */
export async function storeEntries(url: string): Promise<number> {
  const r = await fetch(`${url}/metrics`);
  if (!r.ok) throw new Error(`/metrics answered ${r.status}`);
  const m = /^clustergenie_logstore_stored_entries(?:\{[^}]*\})? (\S+)$/m.exec(await r.text());
  if (!m) throw new Error("the log store's /metrics has no clustergenie_logstore_stored_entries");
  return Number(m[1]);
}

/** kcat's version line (for the report), or why it is missing. */
export function kcatVersion(): string {
  const r = spawnSync('kcat', ['-V'], { encoding: 'utf8' });
  if (r.error) return `kcat not runnable: ${r.error.message}`;
  return (
    (r.stdout + r.stderr)
      .split('\n')
      .find((l) => /version/i.test(l))
      ?.trim() ?? 'kcat (version unknown)'
  );
}

/** `tail -F -n +1 <file> | kcat -P -b <bootstrap> -t <topic> [extra]`: two processes, one pipe. */
export class KcatPipeline {
  private readonly tail: ChildProcess;
  private readonly kcat: ChildProcess;
  private kcatErr = '';

  constructor(bootstrap: string, topic: string, file: string, extraArgs: readonly string[]) {
    this.tail = spawn('tail', ['-F', '-n', '+1', file], { stdio: ['ignore', 'pipe', 'ignore'] });
    killOnExit(this.tail);
    // tail's stdout is handed to kcat as its stdin fd: the bytes never pass through this process.
    this.kcat = spawn('kcat', ['-P', '-b', bootstrap, '-t', topic, ...extraArgs], { stdio: [this.tail.stdout!, 'ignore', 'pipe'] });
    killOnExit(this.kcat);
    this.kcat.stderr!.on('data', (d: Buffer) => {
      if (this.kcatErr.length < 8192) this.kcatErr += d.toString('utf8');
    });
  }

  processes(): BenchProcess[] {
    return [
      { role: 'tail', pid: this.tail.pid! },
      { role: 'kcat', pid: this.kcat.pid! },
    ];
  }

  get stderr(): string {
    return this.kcatErr;
  }

  get alive(): boolean {
    return this.kcat.exitCode === null && this.kcat.signalCode === null && this.tail.exitCode === null;
  }

  /** Stops tail; kcat then sees the end of its input, flushes and exits (killed if it does not). */
  async stop(): Promise<void> {
    this.tail.kill('SIGTERM');
    await waitExit(this.tail, 5000);
    if (!(await waitExit(this.kcat, 10_000))) this.kcat.kill('SIGKILL');
    await waitExit(this.kcat, 5000);
  }
}
