// `clustergenie down`: stops the `clustergenie up` running from a data dir (started with
// --detach, or in another terminal) by SIGTERM to the PID in <data-dir>/up.pid, after checking
// that this PID really is a `clustergenie up` on that dir (a stale file's PID may belong to
// anything by now). up then stops its services, brokers and members in order; down waits for it.
// Nothing running is success ("not running"); still alive after --timeout-ms is exit 1.

import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CliError, ExitCode } from './exitCodes.js';
import { printJson } from './output.js';
import { clientProgram, intOption, runProgram } from './program.js';
import { isUpOn, pidAlive, processInfo, readUpPid, upPidPath } from './upDetach.js';

/** up's own stop takes up to services 15 s + brokers 30 s + members 10 s; then some slack. */
const defaultTimeoutMs = 90_000;
const pollIntervalMs = 200;

export async function runDown(args: string[]): Promise<number> {
  const program = clientProgram('down', 'stop the `clustergenie up` running from a data dir (SIGTERM, then wait)');
  program
    .option('--data-dir <dir>', "up's data dir", join(process.cwd(), 'data'))
    .option('--timeout-ms <ms>', 'how long to wait for up to stop', intOption('--timeout-ms'), defaultTimeoutMs)
    .option('--json', 'one JSON document on stdout: {state, pid}')
    .action(async (o: { dataDir: string; timeoutMs: number; json?: boolean }) => {
      const dataDir = resolve(o.dataDir);
      const report = (state: 'not-running' | 'stopped', pid: number | null, line: string): void => {
        if (o.json) printJson({ state, pid, dataDir });
        else process.stdout.write(`${line}\n`);
      };
      const pid = readUpPid(dataDir);
      if (pid === undefined) return report('not-running', null, `clustergenie up is not running from ${dataDir} (no up.pid)`);
      if (!pidAlive(pid)) {
        rmSync(upPidPath(dataDir), { force: true });
        return report('not-running', null, `clustergenie up is not running from ${dataDir} (stale up.pid of pid ${pid} removed)`);
      }
      const info = processInfo(pid);
      if (info === undefined)
        throw new CliError(
          `cannot read /proc/${pid} to check that pid ${pid} (from ${upPidPath(dataDir)}) is a clustergenie up; stop it yourself (kill ${pid})`,
          ExitCode.failure,
        );
      if (!isUpOn(info.argv, info.cwd, dataDir)) {
        // The PID was reused by another program: up is not running, and that program is not ours to stop.
        rmSync(upPidPath(dataDir), { force: true });
        return report(
          'not-running',
          null,
          `clustergenie up is not running from ${dataDir} (up.pid named pid ${pid}, which is now another program; the file was removed)`,
        );
      }
      process.kill(pid, 'SIGTERM');
      if (!o.json) process.stderr.write(`clustergenie down: stopping clustergenie up (pid ${pid}) from ${dataDir}...\n`);
      const deadline = Date.now() + o.timeoutMs;
      while (pidAlive(pid) && processInfo(pid) !== undefined) {
        if (Date.now() > deadline) {
          throw new CliError(
            `clustergenie up (pid ${pid}) is still running ${o.timeoutMs} ms after SIGTERM (see ${join(dataDir, 'up.log')}); ` +
              `force it with kill -9 ${pid} (its members and brokers are listed in ${join(dataDir, 'up.json')})`,
            ExitCode.failure,
          );
        }
        await new Promise((r) => setTimeout(r, pollIntervalMs));
      }
      rmSync(upPidPath(dataDir), { force: true });
      report('stopped', pid, `clustergenie up (pid ${pid}) stopped`);
    });
  return runProgram(program, args);
}
