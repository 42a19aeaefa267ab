// Start a real, standalone Apache ZooKeeper 3.8 (Debian package jars) as a child process for
// tests: a free loopback port, a fresh temp dir, zoo.cfg written there, readiness by `ruok`
// with a deadline, and stop() that kills exactly the PID it started and removes the temp dir.
//
// Environment overrides (all optional):
//   JAVA                  java binary (default: `java` on PATH)
//   APACHE_ZK_CLASSPATH   classpath (default: the Debian jars in /usr/share/java)
//   APACHE_ZK_LOG=1       copy the server's log output to this process's stderr
//   APACHE_ZK_LOG_LEVEL   slf4j-simple level (default: warn)

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { delay, killOnExit, waitExit } from './children.js';
import { fourLetter, freePort } from './net.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface StartServerOptions {
  /** Extra zoo.cfg lines (key=value); they override the defaults written by the helper. */
  extraConfig?: Record<string, string>;
  /** Extra JVM system properties (-Dkey=value). */
  sysProps?: Record<string, string>;
  /** Use this data directory (created if missing) and keep it on stop (restart and round-trip tests). */
  dataDir?: string;
}

export interface ServerHandle {
  host: string;
  port: number;
  /** `host:port`, ready to pass to a client. */
  connectString: string;
  dataDir: string;
  /** The server's process id (for kill -9 tests), when it runs as a child process. */
  pid?: number;
  /** The last part of the server's log output (Apache only). */
  logText?(): string;
  /** Kill the server (SIGTERM, then SIGKILL after a deadline) and remove its temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Signature shared by every server launcher the client and differential suites accept. */
export type StartServer = (opts?: StartServerOptions) => Promise<ServerHandle>;

const HOST = '127.0.0.1';
const START_DEADLINE_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const LOG_TAIL_BYTES = 16_384;

/**
 * Waits for EOF on stdin (our end closes when this process dies), then stops the server PID
 * ($1: SIGTERM, SIGKILL after 5 s) and removes its temp dir ($2).
 */
const WATCHDOG_SCRIPT = [
  'while read -r _; do :; done',
  'kill -TERM "$1" 2>/dev/null',
  'i=0; while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done',
  'kill -KILL "$1" 2>/dev/null',
  'sleep 0.2',
  'rm -rf "$2"',
].join('\n');

const DEFAULT_CLASSPATH = ['/usr/share/java/zookeeper.jar', '/usr/share/java/slf4j-simple.jar'].filter((p) => existsSync(p)).join(':');

/** The java binary and classpath every Apache ZooKeeper launch in the tests uses. */
export const APACHE_JAVA = process.env['JAVA'] ?? 'java';
/** Read at each launch: a test may set APACHE_ZK_CLASSPATH first (e.g. adding the admin server's jars). */
export function apacheClasspath(): string {
  // zookeeper.jar's manifest Class-Path names the other Debian jars it needs (jute, commons-cli, ...).
  return process.env['APACHE_ZK_CLASSPATH'] ?? DEFAULT_CLASSPATH;
}

/**
 * How the tests tune Apache's JVM: a small serial-GC heap and the C1 compiler only, which start
 * quickly and stay small. Benchmarks must not use it (it slows Apache's steady state): with
 * APACHE_ZK_JVM=stock, or `stock` passed here, the JVM gets what Debian's `zkServer.sh
 * start-foreground` gives it (the JVM's default heap, GC and JIT).
 */
export type ApacheJvmFlavor = 'test' | 'stock';

const TEST_JVM_FLAGS = ['-Xms32m', '-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'];
const STOCK_JVM_FLAGS = ['-XX:+HeapDumpOnOutOfMemoryError', '-XX:OnOutOfMemoryError=kill -9 %p'];

/** JVM arguments for an Apache ZooKeeper class: JVM flags (see ApacheJvmFlavor), -D properties, classpath (default apacheClasspath()). */
export function apacheJavaArgs(
  mainClass: string,
  args: string[],
  sysProps: Record<string, string> = {},
  jvm: ApacheJvmFlavor = process.env['APACHE_ZK_JVM'] === 'stock' ? 'stock' : 'test',
  classpath: string = apacheClasspath(),
): string[] {
  return [
    ...(jvm === 'stock' ? STOCK_JVM_FLAGS : TEST_JVM_FLAGS),
    '-Djava.net.preferIPv4Stack=true',
    ...Object.entries(sysProps).map(([k, v]) => `-D${k}=${v}`),
    '-cp',
    classpath,
    mainClass,
    ...args,
  ];
}

function formatConfig(cfg: Record<string, string>): string {
  return Object.entries(cfg)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
}

async function killChild(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  if (child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
    if (!(await waitExit(child, STOP_GRACE_MS))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await waitExit(child, STOP_GRACE_MS);
    }
  }
}

class StartError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
  }
}

async function startOnce(opts: StartServerOptions): Promise<ServerHandle> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'clustergenie-apache-zk-'));
  const dataDir = opts.dataDir ?? join(dir, 'data');
  await mkdir(dataDir, { recursive: true });
  const cfg: Record<string, string> = {
    tickTime: '2000',
    dataDir,
    clientPort: String(port),
    clientPortAddress: HOST,
    maxClientCnxns: '0',
    '4lw.commands.whitelist': '*',
    'admin.enableServer': 'false',
    ...opts.extraConfig,
  };
  const cfgPath = join(dir, 'zoo.cfg');
  await writeFile(cfgPath, `${formatConfig(cfg)}\n`);

  const sysProps: Record<string, string> = {
    'zookeeper.extendedTypesEnabled': 'true',
    'zookeeper.admin.enableServer': 'false',
    'zookeeper.4lw.commands.whitelist': '*',
    'zookeeper.log.dir': dir,
    'org.slf4j.simpleLogger.defaultLogLevel': process.env['APACHE_ZK_LOG_LEVEL'] ?? 'warn',
    'org.slf4j.simpleLogger.logFile': 'System.err',
    ...opts.sysProps,
  };
  const args = apacheJavaArgs('org.apache.zookeeper.server.ZooKeeperServerMain', [cfgPath], sysProps);

  const child = spawn(APACHE_JAVA, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child);
  // If this process dies without running its exit hook (SIGKILL, a signal, a crash), the pipe
  // to the watchdog closes and it takes the server down: no orphaned JVMs.
  const watchdog =
    child.pid === undefined
      ? undefined
      : spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, 'apache-zk-watchdog', String(child.pid), dir], {
          stdio: ['pipe', 'ignore', 'ignore'],
        });
  if (watchdog) {
    watchdog.on('error', () => {});
    watchdog.stdin!.on('error', () => {});
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void }).unref?.();
  }
  const logFile = createWriteStream(join(dir, 'server.log'));
  let tail = '';
  const onOutput = (c: Buffer): void => {
    tail = (tail + c.toString('utf8')).slice(-LOG_TAIL_BYTES);
    logFile.write(c);
    if (process.env['APACHE_ZK_LOG'] === '1') process.stderr.write(c);
  };
  child.stdout!.on('data', onOutput);
  child.stderr!.on('data', onOutput);
  // A test file that forgets stop() must still be able to exit (the exit hook and the watchdog
  // then take the server down), so the server does not hold this process's event loop open.
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
      try {
        process.kill(watchdog.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await killChild(child);
    await new Promise<void>((r) => logFile.end(() => r()));
    await rm(dir, { recursive: true, force: true });
  };
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await cleanup();
  };

  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) {
      const why = spawnError ? spawnError.message : `exited with ${child.exitCode ?? child.signalCode}`;
      // Give the output pipes a moment to drain the last lines.
      await waitExit(child, 1_000);
      await cleanup();
      throw new StartError(`Apache ZooKeeper failed to start (${why}):\n${tail}`, /Address already in use|BindException/.test(tail));
    }
    try {
      // `ruok` answers imok as soon as the port is open, before the database is loaded; `srvr`
      // says "not currently serving requests" until then. Require both.
      if ((await fourLetter(HOST, port, 'ruok', 1_000)) === 'imok' && /\bMode: /.test(await fourLetter(HOST, port, 'srvr', 1_000))) {
        break;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await cleanup();
      throw new StartError(`Apache ZooKeeper did not answer ruok within ${START_DEADLINE_MS} ms:\n${tail}`, false);
    }
    await delay(50);
  }
  return { host: HOST, port, connectString: `${HOST}:${port}`, dataDir, pid: child.pid, logText: () => tail, stop };
}

/** Start a standalone Apache ZooKeeper 3.8 on a free loopback port. */
export async function startApacheZooKeeper(opts: StartServerOptions = {}): Promise<ServerHandle> {
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
