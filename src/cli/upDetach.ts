// `clustergenie up --detach` and `clustergenie down`: up in the background. --detach re-executes
// `up` as a detached process (its own session, stdio appended to <data-dir>/up.log), waits until
// that up prints its ready line, shows its table and exits 0, leaving it running. The running up
// keeps its PID in <data-dir>/up.pid; `down` checks that this PID really is a `clustergenie up`
// on that data dir (/proc/<pid>/cmdline and cwd), sends SIGTERM and waits for it to exit.

import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The line up prints last, once everything runs: the detached parent waits for it. */
export const UP_READY_LINE = 'clustergenie up: ready';
/** The first line of up's table (what the detached parent prints from up.log). */
export const UP_SUMMARY_FIRST = /^clustergenie up: \d+ ZooKeeper members? .* running/m;
/** Set in the detached up's environment: its table then says how to stop it with `down`. */
export const DETACHED_ENV = 'CLUSTERGENIE_UP_DETACHED';

/** Longest the detached parent waits for the ready line (members, brokers, topics and services). */
const detachReadyTimeoutMs = 300_000;
const pollIntervalMs = 200;
/** Bytes of up.log read while waiting, from where this start began (the table is a few KiB). */
const logReadBytesMax = 256 * 1024;

export const upPidPath = (dataDir: string): string => join(dataDir, 'up.pid');
export const upLogPath = (dataDir: string): string => join(dataDir, 'up.log');

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The PID in <data-dir>/up.pid, or undefined when there is none (or it is garbage). */
export function readUpPid(dataDir: string): number | undefined {
  try {
    const n = Number(readFileSync(upPidPath(dataDir), 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

const sameDir = (a: string, b: string): boolean => {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return resolve(a) === resolve(b);
  }
};

/**
 * True when `argv` (a process's command line) runs `clustergenie up` on `dataDir`, its relative
 * --data-dir resolved against `cwd` (up's default is <cwd>/data). Pure but for realpath.
 */
export function isUpOn(argv: readonly string[], cwd: string, dataDir: string): boolean {
  const at = argv.findIndex((a, i) => a === 'up' && i > 0 && /(clustergenie|clustergenie\.js|main\.js)$/.test(argv[i - 1]!));
  if (at < 0) return false;
  let given: string | undefined;
  for (let i = at + 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--data-dir' && i + 1 < argv.length) given = argv[++i];
    else if (a.startsWith('--data-dir=')) given = a.slice('--data-dir='.length);
  }
  return sameDir(resolve(cwd, given ?? 'data'), dataDir);
}

/** What /proc says about `pid`: its argv and cwd (undefined when it is gone or unreadable). */
export function processInfo(pid: number): { argv: string[]; cwd: string } | undefined {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((a) => a !== '');
    return { argv, cwd: readlinkSync(`/proc/${pid}/cwd`) };
  } catch {
    return undefined;
  }
}

/** main.js of this build: the detached up runs the same code as this one. */
const mainJs = (): string => fileURLToPath(new URL('./main.js', import.meta.url));

export interface DetachOptions {
  /** up's arguments, --detach removed. */
  args: string[];
  dataDir: string;
  say(line: string): void;
}

/**
 * Starts up in the background and waits for it to be ready. Returns the exit code for this
 * process: 0 once the detached up is ready (it keeps running), the detached up's own code when
 * it failed to start, 1 when it is still not ready after the deadline (it keeps trying).
 */
export async function startDetached(o: DetachOptions): Promise<number> {
  const logPath = upLogPath(o.dataDir);
  const fd = openSync(logPath, 'a');
  let from: number;
  let child: ReturnType<typeof spawn>;
  try {
    writeSync(fd, `--- ${new Date().toISOString()} clustergenie up --detach\n`);
    from = statSync(logPath).size;
    // The absolute data dir last: it wins over a relative one, whatever the child's cwd.
    child = spawn(process.execPath, [mainJs(), 'up', ...o.args, '--data-dir', resolve(o.dataDir)], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, [DETACHED_ENV]: '1' },
    });
  } finally {
    closeSync(fd);
  }
  child.unref();
  let exitCode: number | undefined;
  child.once('exit', (code, signal) => {
    exitCode = code ?? (signal ? 1 : 0);
  });
  child.once('error', () => {
    exitCode = 1;
  });
  o.say(`clustergenie up: starting in the background (pid ${child.pid}, output in ${logPath})`);
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    if (child.pid !== undefined && pidAlive(child.pid)) process.kill(child.pid, 'SIGTERM');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const deadline = Date.now() + detachReadyTimeoutMs;
  try {
    for (;;) {
      const text = readFrom(logPath, from);
      const ready = text.indexOf(`\n${UP_READY_LINE}`);
      if (ready >= 0 && exitCode === undefined) {
        const first = UP_SUMMARY_FIRST.exec(text);
        const lineEnd = text.indexOf('\n', ready + 1);
        if (lineEnd < 0) {
          await new Promise((r) => setTimeout(r, pollIntervalMs)); // the ready line is still being written
          continue;
        }
        process.stdout.write(text.slice(first?.index ?? 0, lineEnd + 1));
        return 0;
      }
      if (exitCode !== undefined) {
        process.stderr.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
        o.say(
          interrupted
            ? 'clustergenie up: interrupted; the background up was stopped'
            : `clustergenie up: the background up failed to start (exit code ${exitCode}; log ${logPath})`,
        );
        return exitCode === 0 ? 1 : exitCode;
      }
      if (Date.now() > deadline) {
        o.say(
          `clustergenie up: the background up (pid ${child.pid}) is not ready after ${detachReadyTimeoutMs / 1000} s; it keeps ` +
            `starting: follow ${logPath}, or stop it with \`clustergenie down --data-dir ${o.dataDir}\``,
        );
        return 1;
      }
      await new Promise((r) => setTimeout(r, pollIntervalMs));
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function readFrom(path: string, from: number): string {
  try {
    const buf = readFileSync(path);
    return buf.subarray(from, from + logReadBytesMax).toString('utf8');
  } catch {
    return '';
  }
}

/** Removes up.pid if it still names `pid` (a newer up's file is left alone). */
export function removeUpPid(dataDir: string, pid: number): void {
  if (readUpPid(dataDir) === pid) rmSync(upPidPath(dataDir), { force: true });
}
