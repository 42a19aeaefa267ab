// The Debian Python clients the interop suites drive (confluent-kafka 1.7 on librdkafka 2.0.2 and
// kafka-python 2.0.2) and the scripts in test/interop/python/, which stay in the source tree
// when the tests are compiled elsewhere.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killOnExit } from '../../helpers/children.js';

/** The repository root: this file runs from <outDir>/test/interop/helpers. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const pythonScripts = join(repoRoot, 'test', 'interop', 'python');
export const debianPython = '/usr/bin/python3';
const DEBIAN_PACKAGES = 'python3-confluent-kafka python3-kafka python3-lz4 python3-snappy python3-zstandard';

/** Fails (never skips) when Debian's Python or its Kafka clients are missing, naming the packages. */
export function requireDebianPythonClients(): void {
  if (!existsSync(debianPython)) throw new Error(`${debianPython} is missing: apt-get install ${DEBIAN_PACKAGES}`);
  try {
    execFileSync(debianPython, ['-c', 'import confluent_kafka, kafka, lz4, snappy, zstandard'], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(`Debian's Python clients are missing (apt-get install ${DEBIAN_PACKAGES}): ${(e as { stderr?: Buffer }).stderr}`);
  }
}

/** Bounds the output kept from one scenario run (its JSON lines and traceback). */
const scenarioOutputBytesMax = 8 * 1024 * 1024;

/**
 * Runs a two-phase scenario: the script prints a `{"phase":"ready",...}` line and waits for a line
 * on stdin; `onReady` runs in between (the fault), then the script goes on and prints
 * `{"phase":"done",...}`. Resolves both objects; rejects with the script's stderr on failure.
 */
export function runTwoPhaseScenario<R, D>(
  python: string,
  script: string,
  args: readonly string[],
  onReady: (ready: R) => Promise<void>,
  timeoutMs = 150_000,
): Promise<{ ready: R; done: D }> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [join(pythonScripts, script), ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
    });
    killOnExit(child);
    let stdout = '';
    let stderr = '';
    let ready: R | undefined;
    let failed: unknown;
    const fail = (e: unknown): void => {
      failed ??= e;
      child.kill('SIGKILL');
    };
    child.stdout.on('data', (d: Buffer) => {
      stdout = (stdout + d.toString()).slice(-scenarioOutputBytesMax);
      if (ready !== undefined) return;
      const line = stdout.split('\n').find((l) => l.startsWith('{"phase": "ready"'));
      if (!line) return;
      ready = JSON.parse(line) as R;
      onReady(ready).then(() => child.stdin.end('go\n'), fail);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-scenarioOutputBytesMax);
    });
    child.stdin.on('error', () => undefined); // a script that died before reading
    const timer = setTimeout(() => fail(new Error(`${script} ${args.join(' ')} timed out; stderr:\n${stderr}`)), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('{"phase": "done"'));
      if (failed !== undefined) reject(failed);
      else if (code !== 0 || !line || ready === undefined)
        reject(new Error(`${script} ${args.join(' ')} exited ${code}; stderr:\n${stderr}`));
      else resolve({ ready, done: JSON.parse(line) as D });
    });
  });
}
