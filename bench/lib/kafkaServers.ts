// How the Kafka benchmark starts brokers: ours as a process through the CLI (`node
// bin/clustergenie.js kafka --config server.properties`), Apache Kafka 3.9 through the oracle helper
// with kafka-server-start.sh's JVM flags (APACHE_KAFKA_JVM=stock), and librdkafka's mock cluster
// (bench/loadgen/kafkaload.c `mock`) as a process too, so every broker's CPU and RSS come from /proc
// alike. Ours and Apache get the same server.properties keys (the helper's copy of Kafka's shipped
// file), one ZooKeeper for the whole run (a chroot per broker), data dirs in the OS temp dir.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeMetadataBrokers, startApacheKafka } from '../../test/helpers/apacheKafka.js';
import { killOnExit } from '../../test/helpers/children.js';
import { freePort } from '../../test/helpers/net.js';

export type KafkaImpl = 'clustergenie' | 'apache' | 'mock';
export const KAFKA_IMPLS: readonly KafkaImpl[] = ['clustergenie', 'apache', 'mock'];
export const HOST = '127.0.0.1';
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function kafkaLabel(impl: KafkaImpl): string {
  return impl === 'clustergenie' ? 'ClusterGenie' : impl === 'apache' ? 'Apache Kafka 3.9' : 'librdkafka mock';
}

export interface BrokerHandle {
  impl: KafkaImpl;
  bootstrap: string;
  pid: number;
  /** Spawn to the first Metadata answer listing the broker (ours/mock: probed every 5 ms; Apache: 100 ms). */
  startupMs: number;
  /** Data directory (partition dirs), if the broker has one. */
  logDir?: string;
  /** Creates a topic the broker's own way (mock: its control channel; others: CreateTopics from kafkaload). */
  createTopic(name: string, partitions: number): Promise<void>;
  stop(): Promise<void>;
}

/** The properties both ZooKeeper-mode brokers share (those of the oracle helper's server.properties). */
export function sharedProps(): Record<string, string> {
  return {
    'num.partitions': '1',
    'offsets.topic.replication.factor': '1',
    'group.initial.rebalance.delay.ms': '0',
    'log.retention.hours': '168',
    'log.segment.bytes': '1073741824',
  };
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function waitExit(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      resolve();
    }, ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Polls Metadata until it lists broker `id`; returns the time from t0. */
async function waitServing(
  port: number,
  id: number,
  t0: number,
  child: ChildProcess,
  log: () => string,
  intervalMs: number,
): Promise<number> {
  const deadline = t0 + 120_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`broker exited (${child.exitCode ?? child.signalCode}):\n${log()}`);
    const ok = await probeMetadataBrokers(HOST, port, 2000).then(
      (ids) => ids.includes(id),
      () => false,
    );
    if (ok) return Date.now() - t0;
    if (Date.now() > deadline) throw new Error(`broker did not serve Metadata within 120 s:\n${log()}`);
    await delay(intervalMs);
  }
}

export interface OurStartOptions {
  zkConnect: string;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeArgs?: string[];
}

export async function startOurs(
  opts: OurStartOptions,
  createTopic: (bs: string, name: string, parts: number) => Promise<void>,
): Promise<BrokerHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'cg-kbench-'));
  const port = await freePort();
  const logDir = join(dir, 'data');
  const props: Record<string, string> = {
    'broker.id': '0',
    listeners: `PLAINTEXT://${HOST}:${port}`,
    'advertised.listeners': `PLAINTEXT://${HOST}:${port}`,
    'log.dirs': logDir,
    'zookeeper.connect': opts.zkConnect,
    ...sharedProps(),
  };
  const cfg = join(dir, 'server.properties');
  await writeFile(
    cfg,
    `${Object.entries(props)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  );
  const t0 = Date.now();
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), join(repoRoot, 'bin', 'clustergenie.js'), 'kafka', '--config', cfg], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  killOnExit(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-16_384);
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await waitExit(child, 15_000);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const startupMs = await waitServing(port, 0, t0, child, () => err, 5);
    const bootstrap = `${HOST}:${port}`;
    return {
      impl: 'clustergenie',
      bootstrap,
      pid: child.pid!,
      startupMs,
      logDir,
      createTopic: (n, p) =>
        createTopic(bootstrap, n, p).catch((e: unknown) => {
          throw new Error(`${(e as Error).message}\nbroker stderr:\n${err.slice(-4000)}`);
        }),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

export async function startApache(
  zkConnect: string,
  createTopic: (bs: string, name: string, parts: number) => Promise<void>,
): Promise<BrokerHandle> {
  // The helper reads the flavor from the environment: kafka-server-start.sh's heap and G1 flags.
  process.env['APACHE_KAFKA_JVM'] = 'stock';
  const h = await startApacheKafka({ zkConnect, extraProps: sharedProps(), startTimeoutMs: 180_000 });
  return {
    impl: 'apache',
    bootstrap: h.bootstrap,
    pid: h.pid,
    startupMs: h.startupMs,
    logDir: h.logDir,
    createTopic: (n, p) => createTopic(h.bootstrap, n, p),
    stop: () => h.stop(),
  };
}

/** librdkafka's mock cluster in its own process (kafkaload mock); topics through its stdin. */
export async function startMock(loadgen: string): Promise<BrokerHandle> {
  const t0 = Date.now();
  const child = spawn(loadgen, ['mock'], { stdio: ['pipe', 'pipe', 'pipe'] });
  killOnExit(child);
  let out = '';
  const waiters: (() => void)[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.on('data', () => {});
  const next = async (pred: () => boolean, what: string): Promise<void> => {
    const deadline = Date.now() + 30_000;
    while (!pred()) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`mock: no ${what}: ${out}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  await next(() => /BOOTSTRAP (\S+)/.test(out), 'bootstrap line');
  const bootstrap = /BOOTSTRAP (\S+)/.exec(out)![1]!;
  const port = Number(bootstrap.split(':').pop());
  // The mock's broker id is 1.
  const startupMs = await waitServing(port, 1, t0, child, () => out, 5);
  let answers = 0;
  return {
    impl: 'mock',
    bootstrap,
    pid: child.pid!,
    startupMs,
    createTopic: async (name, parts) => {
      const want = ++answers;
      child.stdin!.write(`topic ${name} ${parts}\n`);
      await next(() => (out.match(/^(OK|[A-Z_]+)$/gm)?.length ?? 0) >= want, `answer to topic ${name}`);
    },
    stop: async () => {
      child.stdin!.end();
      await waitExit(child, 5_000);
    },
  };
}

/** node and java versions, for the report header. */
export function versions(): { node: string; java: string } {
  const r = spawnSync(process.env['JAVA'] ?? 'java', ['-version'], { encoding: 'utf8' });
  return { node: process.version, java: (r.stderr || '').split('\n')[0]?.trim() ?? '?' };
}
