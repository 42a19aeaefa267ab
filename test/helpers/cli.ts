// Runs this build's `clustergenie` (src/cli/main.js of the build the test runs from) as a process,
// the way a user or a script does: arguments, optional stdin, exit code and both outputs.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { killOnExit } from './children.js';

export const cliMainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** One CLI run, start-up included (module loading alone takes seconds on a busy 2-core machine). */
export const cliTimeoutMs = 60_000;

export interface CliResult {
  code: number | null;
  stdout: string;
  /** stdout as bytes, for output that is not UTF-8 text (znode data). */
  stdoutBytes: Buffer;
  stderr: string;
}

/** Runs `clustergenie <args>` with `input` on stdin; killed after timeoutMs. */
export function runCli(args: string[], input = '', timeoutMs = cliTimeoutMs): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliMainJs, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    killOnExit(child);
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr });
    });
    child.stdin.end(input);
  });
}
