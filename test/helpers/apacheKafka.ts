// Apache Kafka as the test oracle: a real Kafka 3.9 broker in ZooKeeper mode (Maven jars cached by
// scripts/fetch-kafka.sh) started as a child process, and Kafka's command-line tools (3.9 or 4.x) run
// by main class. Tests never download: without the cached jars they fail, naming the script to run.
//
//   const zk = await startApacheZooKeeper();
//   const kafka = await startApacheKafka({ zkConnect: zk.connectString });
//   await runKafkaTool('kafka-topics', ['--bootstrap-server', kafka.bootstrap, '--create', '--topic', 't']);
//   await kafka.stop();
//
// Environment overrides (all optional):
//   JAVA                  java binary (default: `java` on PATH)
//   KAFKA_ORACLE_HOME     the 3.9 cache (default ~/.cache/clustergenie/kafka-3.9: lib/*.jar, config/)
//   KAFKA_CLIENT4_HOME    the 4.x client/tools cache (default ~/.cache/clustergenie/kafka-4-client)
//   APACHE_KAFKA_LOG=1    copy the broker's log output to this process's stderr
//   APACHE_KAFKA_JVM=stock  the JVM flags of Kafka's own start script instead of the small test JVM

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { delay, killOnExit, waitExit } from './children.js';
import { freePort } from './net.js';

export type KafkaVersion = '3.9' | '4.x';

export interface StartKafkaOptions {
  /** ZooKeeper connect string, optionally with a chroot (`127.0.0.1:2181/kafka`). */
  zkConnect: string;
  /** broker.id (default 0). */
  brokerId?: number;
  /** Extra server.properties entries; they override the helper's defaults. */
  extraProps?: Record<string, string>;
  /** Use this directory for log.dirs (created if missing) and keep it on stop: restart tests. */
  logDir?: string;
  /** Keep the temp dir (properties, server.log, data) on stop, for post-mortems. */
  keepDir?: boolean;
  /** Readiness deadline (default 90 s: a cold JVM on two cores takes several seconds). */
  startTimeoutMs?: number;
}

export interface KafkaHandle {
  host: string;
  port: number;
  /** `host:port`, ready to pass to a client as its bootstrap server. */
  bootstrap: string;
  brokerId: number;
  pid: number;
  /** The broker's log.dirs (partition directories live here). */
  logDir: string;
  /** The temp dir holding server.properties and server.log. */
  dir: string;
  /** Milliseconds from spawn to the broker serving Metadata with itself in it. */
  startupMs: number;
  /** The last part of the broker's log output. */
  logText(): string;
  /** SIGTERM (controlled shutdown), SIGKILL after a deadline, then remove the temp dir. Idempotent. */
  stop(opts?: { keepDir?: boolean }): Promise<void>;
}

export interface KafkaToolResult {
  /** Exit code, or null when the tool was killed (timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface KafkaToolOptions {
  /** Written to the tool's stdin, which is then closed (console producer input). */
  input?: string | Buffer;
  /** Kill the tool after this long (default 60 s); the result then has timedOut set. */
  timeoutMs?: number;
  /** Which tool jars to run (default 3.9). */
  clientVersion?: KafkaVersion;
  /** Extra JVM system properties (-Dkey=value). */
  sysProps?: Record<string, string>;
}

export type KafkaToolName =
  | 'kafka-topics'
  | 'kafka-configs'
  | 'kafka-consumer-groups'
  | 'kafka-console-producer'
  | 'kafka-console-consumer'
  | 'kafka-delete-records'
  | 'kafka-dump-log'
  | 'kafka-producer-perf-test'
  | 'kafka-consumer-perf-test'
  | 'kafka-verifiable-producer'
  | 'kafka-verifiable-consumer';

/**
 * Each tool's main class as its bin/*.sh script names it. Checked against the jars: 3.9 still has
 * ConfigCommand, ConsoleProducer and DumpLogSegments in core (kafka.*); 4.x moved ConsoleProducer to
 * kafka-tools, while ConfigCommand and DumpLogSegments remain in core.
 */
export const KAFKA_TOOL_CLASSES: Record<KafkaToolName, Record<KafkaVersion, string>> = {
  'kafka-topics': both('org.apache.kafka.tools.TopicCommand'),
  'kafka-configs': both('kafka.admin.ConfigCommand'),
  'kafka-consumer-groups': both('org.apache.kafka.tools.consumer.group.ConsumerGroupCommand'),
  'kafka-console-producer': { '3.9': 'kafka.tools.ConsoleProducer', '4.x': 'org.apache.kafka.tools.ConsoleProducer' },
  'kafka-console-consumer': both('org.apache.kafka.tools.consumer.ConsoleConsumer'),
  'kafka-delete-records': both('org.apache.kafka.tools.DeleteRecordsCommand'),
  'kafka-dump-log': both('kafka.tools.DumpLogSegments'),
  'kafka-producer-perf-test': both('org.apache.kafka.tools.ProducerPerformance'),
  'kafka-consumer-perf-test': both('org.apache.kafka.tools.ConsumerPerformance'),
  'kafka-verifiable-producer': both('org.apache.kafka.tools.VerifiableProducer'),
  'kafka-verifiable-consumer': both('org.apache.kafka.tools.VerifiableConsumer'),
};

function both(cls: string): Record<KafkaVersion, string> {
  return { '3.9': cls, '4.x': cls };
}

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 15_000;
const TOOL_TIMEOUT_MS = 60_000;
const TOOL_KILL_GRACE_MS = 3_000;
const LOG_TAIL_BYTES = 32_768;
/** Tool output beyond this is dropped (the result notes it): a runaway consumer cannot fill memory. */
const TOOL_OUTPUT_BYTES_MAX = 32 * 1024 * 1024;
/** Largest Metadata response the readiness probe accepts. */
const PROBE_FRAME_BYTES_MAX = 1024 * 1024;
const PROBE_TIMEOUT_MS = 2_000;

const JAVA = process.env['JAVA'] ?? 'java';

/** The cache directory of one jar set (see scripts/fetch-kafka.sh, which uses the same defaults). */
export function kafkaHome(version: KafkaVersion = '3.9'): string {
  const cache = join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'clustergenie');
  return version === '3.9'
    ? (process.env['KAFKA_ORACLE_HOME'] ?? join(cache, 'kafka-3.9'))
    : (process.env['KAFKA_CLIENT4_HOME'] ?? join(cache, 'kafka-4-client'));
}

/** True when the jars of `version` are cached (tests may skip on false; the oracle suite fails instead). */
export function kafkaJarsPresent(version: KafkaVersion = '3.9'): boolean {
  const lib = join(kafkaHome(version), 'lib');
  return existsSync(lib) && readdirSync(lib).some((f) => f.endsWith('.jar'));
}

function requireJars(version: KafkaVersion): string {
  const home = kafkaHome(version);
  if (!kafkaJarsPresent(version)) {
    throw new Error(`Apache Kafka ${version} jars not found in ${home}/lib: run scripts/fetch-kafka.sh first`);
  }
  return home;
}

/** Classpath and logging flags for one jar set (logging: warnings only, to stderr). */
function jvmBase(version: KafkaVersion): string[] {
  const home = requireJars(version);
  const logging =
    version === '3.9'
      ? `-Dlog4j.configuration=file:${join(home, 'config', 'log4j.properties')}`
      : `-Dlog4j2.configurationFile=${join(home, 'config', 'log4j2.properties')}`;
  return ['-Djava.net.preferIPv4Stack=true', '-Djava.awt.headless=true', logging, '-cp', join(home, 'lib', '*')];
}

// A small serial-GC heap and C1 only start fast and stay small; `stock` is kafka-server-start.sh's.
const TEST_BROKER_JVM = ['-Xms64m', '-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'];
const STOCK_BROKER_JVM = [
  '-Xms1G',
  '-Xmx1G',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-XX:MaxInlineLevel=15',
];
const TOOL_JVM = ['-Xms32m', '-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'];

/**
 * The shipped config/server.properties of Kafka 3.9 (single-node replication factors, no initial
 * rebalance delay) plus our listener, log dir and ZooKeeper.
 */
function brokerProps(o: { brokerId: number; port: number; logDir: string; zkConnect: string }): Record<string, string> {
  return {
    'broker.id': String(o.brokerId),
    listeners: `PLAINTEXT://${HOST}:${o.port}`,
    'advertised.listeners': `PLAINTEXT://${HOST}:${o.port}`,
    'log.dirs': o.logDir,
    'zookeeper.connect': o.zkConnect,
    'zookeeper.connection.timeout.ms': '18000',
    'num.network.threads': '3',
    'num.io.threads': '8',
    'num.partitions': '1',
    'num.recovery.threads.per.data.dir': '1',
    'offsets.topic.replication.factor': '1',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'group.initial.rebalance.delay.ms': '0',
    'log.retention.hours': '168',
  };
}

function formatProps(p: Record<string, string>): string {
  return Object.entries(p)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** SIGTERM, then SIGKILL after `graceMs`: only this child's own PID. */
async function killChild(child: ChildProcess, graceMs: number): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  signal(pid, 'SIGTERM');
  if (!(await waitExit(child, graceMs))) {
    signal(pid, 'SIGKILL');
    await waitExit(child, graceMs);
  }
}

/**
 * Waits for EOF on stdin (our end closes when this process dies), then stops the broker PID ($1:
 * SIGTERM, SIGKILL after 10 s) and removes its temp dir ($2, empty when it is to be kept).
 */
const WATCHDOG_SCRIPT = [
  'while read -r _; do :; done',
  'kill -TERM "$1" 2>/dev/null',
  'i=0; while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done',
  'kill -KILL "$1" 2>/dev/null',
  'sleep 0.2',
  '[ -n "$2" ] && rm -rf "$2"',
].join('\n');

function startWatchdog(pid: number, dir: string): ChildProcess {
  const w = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, 'apache-kafka-watchdog', String(pid), dir], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  w.on('error', () => {});
  w.stdin!.on('error', () => {});
  w.unref();
  (w.stdin as unknown as { unref?: () => void }).unref?.();
  return w;
}

/**
 * One Metadata v0 round trip; resolves the broker ids it lists. Hand-encoded on purpose: the oracle's
 * readiness must not depend on the project's own protocol code, which it exists to check.
 */
export function probeMetadataBrokers(host: string, port: number, timeoutMs = PROBE_TIMEOUT_MS): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const clientId = Buffer.from('oracle-probe');
    const req = Buffer.alloc(4 + 2 + 2 + 4 + 2 + clientId.length + 4);
    let o = req.writeInt32BE(req.length - 4, 0);
    o = req.writeInt16BE(3, o); // Metadata
    o = req.writeInt16BE(0, o); // v0: an empty topic list means all topics
    o = req.writeInt32BE(1, o); // correlation id
    o = req.writeInt16BE(clientId.length, o);
    o += clientId.copy(req, o);
    req.writeInt32BE(0, o);
    const sock = createConnection({ host, port });
    const chunks: Buffer[] = [];
    let got = 0;
    const done = (err: Error | null, ids?: number[]): void => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(ids!);
    };
    const timer = setTimeout(() => done(new Error('metadata probe timed out')), timeoutMs);
    sock.on('connect', () => sock.write(req));
    sock.on('error', (e) => done(e));
    sock.on('close', () => done(new Error('connection closed before a metadata response')));
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      const buf = Buffer.concat(chunks);
      if (buf.length < 4) return;
      const size = buf.readInt32BE(0);
      if (size < 8 || size > PROBE_FRAME_BYTES_MAX) return done(new Error(`bad metadata frame size ${size}`));
      if (got < 4 + size) return;
      try {
        let p = 4;
        if (buf.readInt32BE(p) !== 1) throw new Error('correlation id mismatch');
        p += 4;
        const n = buf.readInt32BE(p);
        p += 4;
        const ids: number[] = [];
        for (let i = 0; i < n; i++) {
          ids.push(buf.readInt32BE(p));
          p += 4;
          p += 2 + buf.readInt16BE(p); // host
          p += 4; // port
        }
        done(null, ids);
      } catch (e) {
        done(e as Error);
      }
    });
  });
}

class StartError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
  }
}

async function startOnce(opts: StartKafkaOptions): Promise<KafkaHandle> {
  const base = jvmBase('3.9');
  const brokerId = opts.brokerId ?? 0;
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'clustergenie-apache-kafka-'));
  const logDir = opts.logDir ?? join(dir, 'data');
  await mkdir(logDir, { recursive: true });
  const props = { ...brokerProps({ brokerId, port, logDir, zkConnect: opts.zkConnect }), ...opts.extraProps };
  const propsPath = join(dir, 'server.properties');
  await writeFile(propsPath, `${formatProps(props)}\n`);

  const jvm = process.env['APACHE_KAFKA_JVM'] === 'stock' ? STOCK_BROKER_JVM : TEST_BROKER_JVM;
  const args = [...jvm, `-Dkafka.logs.dir=${dir}`, ...base, 'kafka.Kafka', propsPath];
  const t0 = Date.now();
  const child = spawn(JAVA, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child);
  let keepDir = opts.keepDir ?? false;
  // If this process dies without its exit hook running, the watchdog's stdin closes and it stops the broker.
  const watchdog = child.pid === undefined ? undefined : startWatchdog(child.pid, keepDir ? '' : dir);
  const logFile = createWriteStream(join(dir, 'server.log'));
  let tail = '';
  const onOutput = (c: Buffer): void => {
    tail = (tail + c.toString('utf8')).slice(-LOG_TAIL_BYTES);
    logFile.write(c);
    if (process.env['APACHE_KAFKA_LOG'] === '1') process.stderr.write(c);
  };
  child.stdout!.on('data', onOutput);
  child.stderr!.on('data', onOutput);
  // A test that forgets stop() can still exit; the exit hook and the watchdog take the broker down.
  child.unref();
  (child.stdout as unknown as { unref?: () => void }).unref?.();
  (child.stderr as unknown as { unref?: () => void }).unref?.();
  let spawnError: Error | undefined;
  child.once('error', (e) => {
    spawnError = e;
  });

  let stopped = false;
  const cleanup = async (): Promise<void> => {
    if (watchdog?.pid !== undefined && watchdog.exitCode === null && watchdog.signalCode === null) {
      signal(watchdog.pid, 'SIGKILL');
    }
    await killChild(child, STOP_GRACE_MS);
    await new Promise<void>((r) => logFile.end(() => r()));
    if (!keepDir) await rm(dir, { recursive: true, force: true });
  };
  const stop = async (o?: { keepDir?: boolean }): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (o?.keepDir !== undefined) keepDir = o.keepDir;
    await cleanup();
  };

  const timeoutMs = opts.startTimeoutMs ?? START_TIMEOUT_MS;
  const deadline = t0 + timeoutMs;
  for (;;) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) {
      const why = spawnError ? spawnError.message : `exited with ${child.exitCode ?? child.signalCode}`;
      await waitExit(child, 1_000); // let the pipes drain the last lines
      await cleanup();
      throw new StartError(`Apache Kafka failed to start (${why}):\n${tail}`, /Address already in use|BindException/.test(tail));
    }
    try {
      // Metadata lists a broker only once the controller has sent it UpdateMetadata: the broker is
      // then registered in ZooKeeper, serving requests, and knows itself.
      if ((await probeMetadataBrokers(HOST, port)).includes(brokerId)) break;
    } catch {
      // not listening or not serving yet
    }
    if (Date.now() > deadline) {
      await cleanup();
      throw new StartError(`Apache Kafka did not serve Metadata within ${timeoutMs} ms:\n${tail}`, false);
    }
    await delay(100);
  }
  return {
    host: HOST,
    port,
    bootstrap: `${HOST}:${port}`,
    brokerId,
    pid: child.pid!,
    logDir,
    dir,
    startupMs: Date.now() - t0,
    logText: () => tail,
    stop,
  };
}

/** Start an Apache Kafka 3.9 broker (ZooKeeper mode) on a free loopback port. */
export async function startApacheKafka(opts: StartKafkaOptions): Promise<KafkaHandle> {
  // A free port can be taken between probing and the JVM's bind: retry with a new one.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (e) {
      if (e instanceof StartError && e.portInUse && attempt < 5) continue;
      throw e;
    }
  }
}

/** The main class of a tool name (a name with a dot is taken as a main class as is). */
export function kafkaToolClass(tool: KafkaToolName | string, version: KafkaVersion = '3.9'): string {
  const known = (KAFKA_TOOL_CLASSES as Record<string, Record<KafkaVersion, string>>)[tool];
  if (known) return known[version];
  if (tool.includes('.')) return tool;
  throw new Error(`unknown Kafka tool ${tool}`);
}

/**
 * Run a Kafka command-line tool (or any main class in the jars) to completion. Output is captured
 * (bounded); a tool still running after timeoutMs is killed and reported with timedOut.
 */
export async function runKafkaTool(
  tool: KafkaToolName | string,
  args: readonly string[],
  opts: KafkaToolOptions = {},
): Promise<KafkaToolResult> {
  const version = opts.clientVersion ?? '3.9';
  const mainClass = kafkaToolClass(tool, version);
  const sys = Object.entries(opts.sysProps ?? {}).map(([k, v]) => `-D${k}=${v}`);
  const javaArgs = [...TOOL_JVM, ...sys, ...jvmBase(version), mainClass, ...args];
  const child = spawn(JAVA, javaArgs, { stdio: ['pipe', 'pipe', 'pipe'] });
  killOnExit(child);
  const out = new BoundedText();
  const err = new BoundedText();
  child.stdout!.on('data', (c: Buffer) => out.push(c));
  child.stderr!.on('data', (c: Buffer) => err.push(c));
  child.stdin!.on('error', () => {}); // a tool that exits before reading its input
  child.stdin!.end(opts.input ?? '');

  let timedOut = false;
  const timeoutMs = opts.timeoutMs ?? TOOL_TIMEOUT_MS;
  const timer = setTimeout(() => {
    timedOut = true;
    void killChild(child, TOOL_KILL_GRACE_MS);
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    // 'close' (not 'exit'): every output byte has been read by then.
    child.once('close', (c) => resolve(c));
  }).finally(() => clearTimeout(timer));
  return { code: timedOut ? null : code, stdout: out.text(), stderr: err.text(), timedOut };
}

/** Collects a child's output up to TOOL_OUTPUT_BYTES_MAX, noting what it dropped. */
class BoundedText {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  private dropped = 0;

  push(c: Buffer): void {
    const room = TOOL_OUTPUT_BYTES_MAX - this.bytes;
    if (room <= 0) {
      this.dropped += c.length;
      return;
    }
    const take = c.length <= room ? c : c.subarray(0, room);
    this.chunks.push(take);
    this.bytes += take.length;
    this.dropped += c.length - take.length;
  }

  text(): string {
    const s = Buffer.concat(this.chunks).toString('utf8');
    return this.dropped > 0 ? `${s}\n[... ${this.dropped} bytes dropped]` : s;
  }
}
