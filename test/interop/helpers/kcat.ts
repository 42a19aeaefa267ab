// Running kcat (Debian's, librdkafka 2.0.2) against a bootstrap list: one-shot runs that resolve
// with the exit code and output, and a long-running balanced consumer whose lines are collected.

import { type ChildProcess, spawn } from 'node:child_process';
import { killOnExit } from '../../helpers/children.js';

export interface KcatRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `kcat -b <bootstrap> ...args` with `input` on stdin; rejects when it outlives `timeoutMs`. */
export function runKcat(bootstrap: string, args: readonly string[], input?: string, timeoutMs = 30_000): Promise<KcatRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', ['-b', bootstrap, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    killOnExit(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kcat ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`kcat could not be started (install the Debian package kcat): ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

/** A kcat that runs until stopped, its stdout split into lines as they come. */
export interface KcatStream {
  readonly child: ChildProcess;
  readonly lines: string[];
  stderr(): string;
  /** Stops it (SIGTERM: kcat leaves its group and commits) and resolves its exit code. */
  stop(): Promise<number | null>;
}

/** Bounds the stderr kept for failure messages. */
const stderrKeptBytesMax = 64 * 1024;

export function spawnKcat(bootstrap: string, args: readonly string[]): KcatStream {
  const child = spawn('kcat', ['-b', bootstrap, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child);
  const lines: string[] = [];
  let partial = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts.filter((l) => l.length > 0));
  });
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-stderrKeptBytesMax);
  });
  child.on('error', (e) => {
    err += `\n${String(e)}`;
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    child,
    lines,
    stderr: () => err,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
