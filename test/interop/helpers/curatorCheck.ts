// Runs the Curator interop program (test/interop/curator/src/*.java) against one ensemble: the jars
// come from scripts/fetch-curator.sh's cache, the program is compiled with javac once per content
// of its sources (cached beside the jars), and its one-line-per-scenario output is parsed here.
// Without the jars or a JDK it fails naming what to run or install.
//
// Environment (optional):
//   CURATOR_HOME        the cache (default ~/.cache/clustergenie/curator: lib/*.jar, classes-<hash>/)
//   JAVA, JAVAC         the java and javac binaries (default: on PATH)
//   CURATOR_CHECK_LOG=1 copy the program's stderr (Curator's warnings) to this process's stderr

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { killOnExit } from '../../helpers/children.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const SRC_DIR = join(repoRoot, 'test', 'interop', 'curator', 'src');
const STDERR_TAIL_BYTES = 32 * 1024;

export const curatorHome =
  process.env['CURATOR_HOME'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'clustergenie', 'curator');
export const curatorLib = join(curatorHome, 'lib');
const JAVA = process.env['JAVA'] ?? 'java';
const JAVAC = process.env['JAVAC'] ?? 'javac';

/** The jars' classpath (a Java wildcard); throws naming the fetch script when the cache is missing. */
export function curatorClasspath(): string {
  const jars = existsSync(curatorLib) ? readdirSync(curatorLib) : [];
  const need = ['curator-recipes-5.', 'curator-framework-5.', 'zookeeper-3.9.'];
  const missing = need.filter((prefix) => !jars.some((j) => j.startsWith(prefix)));
  if (missing.length > 0) {
    throw new Error(`jars missing in ${curatorLib} (${missing.map((m) => `${m}*.jar`).join(', ')}): run scripts/fetch-curator.sh`);
  }
  return `${curatorLib}/*`;
}

/** Compiles the program (once per content of its sources) and returns its classes directory. */
export async function compileCuratorCheck(): Promise<string> {
  const classpath = curatorClasspath();
  const sources = readdirSync(SRC_DIR)
    .filter((f) => f.endsWith('.java'))
    .sort();
  const hash = createHash('sha256');
  for (const f of sources)
    hash
      .update(f)
      .update('\0')
      .update(readFileSync(join(SRC_DIR, f)))
      .update('\0');
  for (const j of readdirSync(curatorLib).sort()) hash.update(j).update('\0');
  const classes = join(curatorHome, `classes-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(join(classes, 'CuratorCheck.class'))) return classes;
  const tmp = await mkdtemp(join(curatorHome, '.javac-'));
  try {
    const r = spawnSync(JAVAC, ['-nowarn', '-encoding', 'UTF-8', '-d', tmp, '-cp', classpath, ...sources.map((f) => join(SRC_DIR, f))], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (r.error) throw new Error(`${JAVAC} could not run (${r.error.message}): install a JDK 17 (Debian: openjdk-17-jdk-headless)`);
    if (r.status !== 0) throw new Error(`javac failed on ${SRC_DIR}:\n${r.stdout}${r.stderr}`);
    // Another run may have compiled the same sources meanwhile: either copy is good.
    if (!existsSync(join(classes, 'CuratorCheck.class'))) {
      await rm(classes, { recursive: true, force: true });
      await rename(tmp, classes);
    }
    // Builds of older sources are never used again.
    for (const d of readdirSync(curatorHome)) {
      if (d.startsWith('classes-') && join(curatorHome, d) !== classes) await rm(join(curatorHome, d), { recursive: true, force: true });
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return classes;
}

export interface ScenarioResult {
  pass: boolean;
  detail: string;
}

export interface CheckRun {
  results: Map<string, ScenarioResult>;
  /** The `DONE` line was printed (the program ran to its end). */
  done: boolean;
  exitCode: number | null;
  stdout: string;
  stderrTail: string;
}

export interface CheckOptions {
  /** The server has TTL nodes on (extendedTypesEnabled) and reaps them quickly: run the TTL scenarios. */
  ttl?: boolean;
  /** Called when the failover scenario is ready: kill the leader, resolve with a word for the log. */
  failover?: () => Promise<string>;
  /** Only these scenarios. */
  only?: readonly string[];
  /** Deadline for the whole run (default 170 s); past it the JVM is killed and the run reported. */
  timeoutMs?: number;
}

/** Runs the compiled program against `connectString` and collects its results. */
export async function runCuratorCheck(classes: string, connectString: string, opts: CheckOptions = {}): Promise<CheckRun> {
  const args = [
    '-Xmx256m',
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-Djava.net.preferIPv4Stack=true',
    '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
    '-Dorg.slf4j.simpleLogger.logFile=System.err',
    '-cp',
    `${classes}:${curatorClasspath()}`,
    'CuratorCheck',
    connectString,
    ...(opts.ttl ? ['--ttl'] : []),
    ...(opts.failover ? ['--failover'] : []),
    ...(opts.only ? ['--only', opts.only.join(',')] : []),
  ];
  const child = spawn(JAVA, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  killOnExit(child);
  const results = new Map<string, ScenarioResult>();
  let stdout = '';
  let stderrTail = '';
  let done = false;
  child.stderr!.on('data', (d: Buffer) => {
    stderrTail = (stderrTail + d.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    if (process.env['CURATOR_CHECK_LOG'] === '1') process.stderr.write(d);
  });
  child.stdin!.on('error', () => {});
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (e) => {
      stderrTail += `\nspawn error: ${e.message} (install a JDK 17: Debian openjdk-17-jdk-headless)`;
      resolve(null);
    });
    child.once('exit', (code) => resolve(code));
  });
  const timer = setTimeout(() => {
    stderrTail += `\n[curator check killed after ${opts.timeoutMs ?? 170_000} ms]`;
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  }, opts.timeoutMs ?? 170_000);
  const lines = createInterface({ input: child.stdout! });
  const linesClosed = new Promise<void>((r) => lines.once('close', () => r()));
  lines.on('line', (line) => {
    stdout += `${line}\n`;
    const m = /^RESULT (\S+) (PASS|FAIL) ?(.*)$/.exec(line);
    if (m) results.set(m[1]!, { pass: m[2] === 'PASS', detail: m[3] ?? '' });
    else if (line.startsWith('DONE ')) done = true;
    else if (line === 'FAILOVER READY') {
      const reply = opts.failover ? opts.failover().then((w) => `GO ${w}`) : Promise.resolve('NO failover hook');
      reply.catch((e: Error) => `ERROR ${e.message.replace(/\s+/g, ' ')}`).then((r) => child.stdin!.write(`${r}\n`));
    }
  });
  const exitCode = await exited;
  clearTimeout(timer);
  // The stdout reader may still hold the last lines.
  await linesClosed;
  return { results, done, exitCode, stdout, stderrTail };
}
