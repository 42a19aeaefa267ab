// Runs one step of test/interop/python/kazoo_tls.py (kazoo over TLS) and returns its JSON line.
// Missing python3 or kazoo is a failure naming what to install.

import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Identity } from '../../helpers/tlsCerts.js';

const run = promisify(execFile);
const PYTHON = process.env['KAZOO_PYTHON'] ?? '/usr/bin/python3';

function repoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'clustergenie') return dir;
    if (dirname(dir) === dir) throw new Error('cannot find the clustergenie repository root');
  }
}
const SCRIPT = join(repoRoot(), 'test', 'interop', 'python', 'kazoo_tls.py');

export interface KazooTlsResult {
  step: string;
  connected: boolean;
  data?: string;
  acl?: [number, string, string][];
  children?: string[];
  error?: string;
  logged?: string[];
}

/** One step of kazoo_tls.py against `hosts` with this client identity (or none). */
export async function kazooTls(step: string, hosts: string, ca: string, id: Identity | undefined, arg?: string): Promise<KazooTlsResult> {
  const args = [SCRIPT, step, hosts, ca, id?.certPem ?? '-', id?.keyPem ?? '-', ...(arg !== undefined ? [arg] : [])];
  let stdout: string;
  try {
    ({ stdout } = await run(PYTHON, args, { timeout: 60_000 }));
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new Error(`${PYTHON} not found: install python3 and python3-kazoo (Debian) or set KAZOO_PYTHON`);
    if (/No module named 'kazoo'/.test(err.stderr ?? '')) throw new Error(`kazoo is missing for ${PYTHON}: install python3-kazoo`);
    throw new Error(`kazoo_tls.py ${step} failed: ${err.message}\n${err.stderr ?? ''}`);
  }
  return JSON.parse(stdout.trim().split('\n').pop()!) as KazooTlsResult;
}
